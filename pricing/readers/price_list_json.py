"""Readers for the AWS Price List EC2 offer in JSON: the bulk offer file and ``GetProducts`` items.

Bulk file (``offers/v1.0/aws/AmazonEC2/current/index.json``)::

    {"formatVersion": "v1.0", "offerCode": "AmazonEC2", "version": "...",
     "publicationDate": "2025-09-12T22:53:08Z",
     "products": {sku: {"sku", "productFamily", "attributes": {...}}},
     "terms": {"OnDemand": {sku: {"SKU.CODE": {"offerTermCode", "priceDimensions",
                                               "termAttributes", ...}}},
               "Reserved": {...}}}

``GetProducts`` item (one JSON string per ``PriceList`` entry)::

    {"product": {"sku", "productFamily", "attributes": {...}}, "terms": {"OnDemand": {...},
     "Reserved": {...}}, "version": "...", "publicationDate": "..."}

Both flatten to the long price rows of :mod:`pricing.readers.price_list_rows`. The bulk file is
streamed (:mod:`pricing.readers.json_stream`): the top-level objects are walked and one product or
one SKU's terms decoded at a time, keeping only EC2 instance products and their terms (in Arrow
batches), so memory grows with the kept price rows (a few hundred MB for the full global offer), not
with the file (several GB, which ``json.load`` would need about ten times over).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any, Final

import pandas as pd
import pyarrow as pa

from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.errors import PriceFileError
from pricing.readers.common import sniff
from pricing.readers.json_stream import open_json
from pricing.readers.price_list_rows import (
    COMPUTE_PRODUCT_FAMILIES,
    PRICE_FIELDS,
    PRODUCT_FIELDS,
    PriceRowFrames,
    frames_from_price_rows,
    load_price_rows_sql,
    price_connection,
)
from pricing.regions import LOCATION_TO_REGION

_TERM_TYPES: Final = ("OnDemand", "Reserved")
_BATCH_ROWS: Final = 100_000
_JSON_FIX: Final = "download the price file again (it may be truncated)"
_SYNTAX_MESSAGE: Final = "malformed JSON at character {offset}: {detail}"


class _PriceRowCollector:
    """Flattens products and terms into product rows and price rows, batched into Arrow."""

    def __init__(self) -> None:
        self._products: dict[str, list[str]] = {field: [] for field in PRODUCT_FIELDS}
        self._prices: dict[str, list[str]] = {field: [] for field in PRICE_FIELDS}
        self._product_tables: list[pa.Table] = []
        self._price_tables: list[pa.Table] = []
        self.kept_skus: set[str] = set()

    def add_product(self, product: Mapping[str, Any]) -> bool:
        """Keep an EC2 instance product; return whether it was kept."""
        if product.get("productFamily") not in COMPUTE_PRODUCT_FAMILIES:
            return False
        attributes = product.get("attributes") or {}
        region_code = attributes.get("regionCode") or LOCATION_TO_REGION.get(
            str(attributes.get("location", "")).strip(), ""
        )
        sku = str(product.get("sku", ""))
        values = (
            sku,
            str(product.get("productFamily", "")),
            attributes.get("locationType", ""),
            attributes.get("tenancy", ""),
            attributes.get("capacitystatus", ""),
            attributes.get("marketoption", ""),
            attributes.get("usagetype", ""),
            attributes.get("operation", ""),
            region_code,
        )
        for field, value in zip(PRODUCT_FIELDS, values, strict=True):
            self._products[field].append(str(value or ""))
        self.kept_skus.add(sku)
        if len(self._products["sku"]) >= _BATCH_ROWS:
            self._product_tables.append(_flush(self._products))
        return True

    def add_terms(self, term_type: str, sku: str, terms: Mapping[str, Any]) -> None:
        """Add every price dimension of one SKU's terms of one type (``OnDemand``/``Reserved``)."""
        if term_type not in _TERM_TYPES:
            return
        rows = self._prices
        for term_key, term in terms.items():
            term_code = str(term.get("offerTermCode") or str(term_key).rsplit(".", 1)[-1])
            attributes = term.get("termAttributes") or {}
            for dimension in (term.get("priceDimensions") or {}).values():
                price_per_unit = dimension.get("pricePerUnit") or {}
                currency = "USD" if "USD" in price_per_unit else next(iter(price_per_unit), "")
                rows["sku"].append(sku)
                rows["term_type"].append(term_type)
                rows["term_code"].append(term_code)
                rows["unit"].append(str(dimension.get("unit", "")))
                rows["price_text"].append(str(price_per_unit.get(currency, "")))
                rows["currency"].append(currency)
                rows["lease"].append(str(attributes.get("LeaseContractLength", "")))
                rows["purchase"].append(str(attributes.get("PurchaseOption", "")))
                rows["offering_class"].append(str(attributes.get("OfferingClass", "")))
        if len(rows["sku"]) >= _BATCH_ROWS:
            self._price_tables.append(_flush(rows))

    def add_item(self, item: Mapping[str, Any], number: int, origin: str) -> None:
        """Add one ``GetProducts`` item (``{"product": ..., "terms": ...}``)."""
        product, terms = item.get("product"), item.get("terms")
        if not isinstance(product, Mapping) or not isinstance(terms, Mapping):
            raise PriceFileError(
                origin,
                f"item {number} is not a GetProducts PriceList entry (it needs 'product' and "
                "'terms')",
                "pass the PriceList entries of pricing:GetProducts for ServiceCode AmazonEC2",
            )
        if self.add_product(product):
            sku = str(product.get("sku", ""))
            for term_type, by_code in terms.items():
                if isinstance(by_code, Mapping):
                    self.add_terms(str(term_type), sku, by_code)

    def tables(self) -> tuple[pa.Table, pa.Table]:
        """The product and price tables collected so far."""
        products = pa.concat_tables([*self._product_tables, _flush(self._products)])
        prices = pa.concat_tables([*self._price_tables, _flush(self._prices)])
        return products, prices


def _flush(columns: dict[str, list[str]]) -> pa.Table:
    table = pa.table(
        {field: pa.array(values, type=pa.string()) for field, values in columns.items()}
    )
    for values in columns.values():
        values.clear()
    return table


def _frames(
    collector: _PriceRowCollector, origin: str, regions: Iterable[str], require_rows: bool
) -> PriceRowFrames:
    products, prices = collector.tables()
    region_list = list(regions)
    with price_connection() as connection:
        connection.register("products", products)
        connection.register("prices", prices)
        connection.execute(
            load_price_rows_sql("(SELECT * FROM prices JOIN products USING (sku))", region_list)
        )
        return frames_from_price_rows(
            connection, origin=origin, regions=region_list, require_rows=require_rows
        )


def parse_price_list_items(
    items: Iterable[Mapping[str, Any]], *, source: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn ``GetProducts``-style items into on-demand and reserved tables.

    Parameters
    ----------
    items
        Decoded ``PriceList`` entries (``{"product": {...}, "terms": {...}}``); may be a generator
        (consumed once, holding only the flattened rows).
    source
        Written to the ``source`` column and named in errors.

    Returns
    -------
    tuple of pandas.DataFrame
        ``(on_demand, reserved)`` in the catalog's column layout (without
        ``effective_usd_per_hour``, which :meth:`PriceCatalog.from_frames` computes).

    Raises
    ------
    PriceFileError
        An item without ``product``/``terms``, non-USD prices, a price that is not a finite
        number >= 0, or conflicting duplicates.
    """
    collector = _PriceRowCollector()
    for number, item in enumerate(items, start=1):
        collector.add_item(item, number, source)
    frames = _frames(collector, source, (), require_rows=False)
    return frames.on_demand.assign(source=source), frames.reserved.assign(source=source)


def read_price_list_json(path: str | Path, *, regions: Iterable[str] = ()) -> PriceCatalog:
    """Read on-demand rates and RI offerings from the bulk AmazonEC2 offer JSON (or ``.json.gz``).

    The same rows as :func:`pricing.readers.price_list_csv.read_price_list_csv` are kept, with
    the same checks. The file is streamed (see the module docstring for the memory cost).

    Parameters
    ----------
    path
        ``index.json`` of the AmazonEC2 offer (global or one region), optionally gzipped.
    regions
        Keep only these region codes (all when empty); each must have prices in the file.

    Raises
    ------
    PriceFileError
        Missing, empty, HTML, truncated or malformed file; not the AmazonEC2 offer; the checks of
        :func:`pricing.readers.price_list_rows.frames_from_price_rows`.
    """
    sniffed = sniff(path)
    file = sniffed.path
    collector = _PriceRowCollector()
    header: dict[str, Any] = {}
    products_seen = False
    with open_json(sniffed, fix=_JSON_FIX, syntax_message=_SYNTAX_MESSAGE) as stream:
        for key in stream.members():
            if key == "products":
                products_seen = True
                for _sku in stream.members():
                    product = stream.value()
                    if isinstance(product, Mapping):
                        collector.add_product(product)
            elif key == "terms":
                for term_type in stream.members():
                    for sku in stream.members():
                        if products_seen and sku not in collector.kept_skus:
                            stream.skip()
                            continue
                        terms = stream.value()
                        if isinstance(terms, Mapping):
                            collector.add_terms(term_type, sku, terms)
            else:
                header[key] = stream.value()
        stream.expect_end()
    offer = header.get("offerCode")
    if not products_seen or offer != "AmazonEC2":
        raise PriceFileError(
            file,
            f"not the AmazonEC2 offer JSON (offerCode {offer!r}, 'products' "
            f"{'present' if products_seen else 'missing'})",
            "pass offers/v1.0/aws/AmazonEC2/current/index.json",
        )
    published = str(header.get("publicationDate", ""))
    try:
        as_of = date.fromisoformat(published[:10])
    except ValueError:
        raise PriceFileError(
            file,
            f"publicationDate is {published!r}, not an ISO date",
            "pass the unmodified AmazonEC2 offer JSON",
        ) from None
    frames = _frames(collector, str(file), regions, require_rows=True)
    metadata = CatalogMetadata(
        source=f"AWS Price List bulk JSON {offer} {header.get('version', '')}".strip(),
        as_of=as_of,
        notes=frames.notes,
    )
    return PriceCatalog.from_frames(metadata, on_demand=frames.on_demand, reserved=frames.reserved)
