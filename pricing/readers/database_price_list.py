"""Readers of the AWS Price List bulk offers of RDS, ElastiCache, OpenSearch, Redshift and MemoryDB.

The files have the EC2 offer's layout (:mod:`pricing.readers.price_list_csv`,
:mod:`pricing.readers.price_list_json`): ``offers/v1.0/aws/AmazonRDS/current/index.csv`` (five
preamble lines, then a header and one row per price dimension) and ``index.json`` (``products``
by SKU, ``terms.OnDemand`` / ``terms.Reserved`` by SKU). RDS instance products have
``productFamily`` ``Database Instance`` (CSV ``Product Family``) with ``instanceType`` (``Instance
Type``), ``databaseEngine`` (``Database Engine``), ``deploymentOption``, ``licenseModel`` and
``usagetype`` (``usageType``); ElastiCache node products ``Cache Instance`` with ``cacheEngine``
(``Cache Engine``); the OpenSearch (``AmazonES``), Redshift (``AmazonRedshift``) and MemoryDB
(``AmazonMemoryDB``) offers have the same layout with their own families
(:data:`pricing.readers.database_price_rows.PRODUCT_FAMILIES`). RDS Oracle and SQL Server products
also need ``databaseEdition`` (``Database Edition``) and ``licenseModel`` (``License Model``).
The CSV is streamed with DuckDB and only instance rows are kept in memory; the JSON is walked
with :mod:`pricing.readers.json_stream`. Keys, checks and the pivot are
:func:`pricing.readers.database_price_rows.database_price_frames`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Final

import pandas as pd

from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.databases import ELASTICACHE, MEMORYDB, OPENSEARCH, RDS, REDSHIFT
from pricing.errors import PriceFileError
from pricing.readers.common import (
    ProgressCallback,
    SniffedFile,
    offer_publication_date,
    require_columns,
    sniff,
)
from pricing.readers.database_price_rows import (
    DATABASE_LONG_COLUMNS,
    DATABASE_PRODUCT_FAMILIES,
    PRODUCT_FAMILIES,
    database_price_frames,
    long_rows,
)
from pricing.readers.json_stream import open_json
from pricing.readers.price_list_rows import quote_identifier, read_offer_csv_rows

DATABASE_OFFER_CODES: Final = (RDS, ELASTICACHE, OPENSEARCH, REDSHIFT, MEMORYDB)
"""The offers these readers accept (``OfferCode`` / ``offerCode``)."""

PREAMBLE_LINES: Final = 5

ENGINE_COLUMNS: Final[dict[str, tuple[str, str]]] = {
    RDS: ("Database Engine", "databaseEngine"),
    ELASTICACHE: ("Cache Engine", "cacheEngine"),
    MEMORYDB: ("Engine", "engine"),
}
"""The engine's CSV column and JSON attribute, per offer (OpenSearch and Redshift have one
platform each; MemoryDB's ``engine`` attribute name is not documented by AWS: when absent, the
node is read as Redis OSS)."""

EDITION_COLUMNS: Final[dict[str, tuple[str, str]]] = {
    "edition": ("Database Edition", "databaseEdition"),
    "license_model": ("License Model", "licenseModel"),
}
"""RDS edition and licence model: CSV column and JSON attribute (read when present)."""

CSV_COLUMNS: Final[dict[str, str]] = {
    "sku": "SKU",
    "term_type": "TermType",
    "term_code": "OfferTermCode",
    "unit": "Unit",
    "price_text": "PricePerUnit",
    "currency": "Currency",
    "product_family": "Product Family",
    "usage_type": "usageType",
    "instance_type": "Instance Type",
}
"""Canonical name -> CSV column, for the columns every database offer CSV must have."""

OPTIONAL_CSV_COLUMNS: Final[dict[str, str]] = {
    "lease": "LeaseContractLength",
    "purchase": "PurchaseOption",
    "offering_class": "OfferingClass",
    "location_type": "Location Type",
    "region_code": "Region Code",
    "location": "Location",
}
"""Columns read when present (the reserved-term columns are empty on on-demand rows)."""

_OFFER_NAMES: Final = ", ".join(DATABASE_OFFER_CODES)
_FIX: Final = f"pass an unmodified AWS Price List offer file of {_OFFER_NAMES}"


def read_database_price_list_csv(
    path: str | Path, *, regions: Sequence[str] = (), progress: ProgressCallback | None = None
) -> PriceCatalog:
    """Read on-demand rates and reserved offerings from a database offer CSV (RDS, ElastiCache,
    OpenSearch, Redshift, MemoryDB).

    Parameters
    ----------
    path
        ``index.csv`` (or ``.csv.gz``) of the offer, global or one region.
    regions
        Keep only these region codes (all when empty); each must have prices in the file.
    progress
        Called as ``progress(bytes_done, bytes_total)`` while the file is scanned.

    Returns
    -------
    PriceCatalog
        ``source`` names the offer and its version, ``as_of`` its publication date; the notes
        count the rows left out by reason.

    Raises
    ------
    PriceFileError
        Missing, empty, HTML or truncated file; no preamble; another offer; missing columns; a
        row that does not fit the header; non-USD or invalid prices; conflicting duplicates; no
        instance price at all.
    """
    sniffed = sniff(path)
    file = sniffed.path
    preamble, header = _preamble_and_header(sniffed)
    offer = preamble.get("OfferCode", "")
    needed = dict(CSV_COLUMNS)
    if offer in (RDS, ELASTICACHE):
        needed["engine"] = ENGINE_COLUMNS[offer][0]
    require_columns(file, header, needed.values(), f"AWS Price List {offer} offer CSV")
    optional = {
        **OPTIONAL_CSV_COLUMNS,
        **({} if offer in (RDS, ELASTICACHE) else {"engine": ENGINE_COLUMNS.get(offer, ("",))[0]}),
        **{name: csv_name for name, (csv_name, _) in EDITION_COLUMNS.items()},
    }
    projection = (
        [f"{quote_identifier(column)} AS {name}" for name, column in needed.items()]
        + [
            f"{quote_identifier(column) if column in header else 'NULL::VARCHAR'} AS {name}"
            for name, column in optional.items()
        ]
        + [f"'{offer}' AS service"]
    )
    family = PRODUCT_FAMILIES[offer]
    family_filter = "TRUE" if family is None else f"\"Product Family\" = '{family}'"
    rows = read_offer_csv_rows(
        sniffed,
        header,
        projection,
        f"{family_filter} AND TermType IN ('OnDemand', 'Reserved')",
        progress,
    )
    catalog = _catalog(
        rows[list(DATABASE_LONG_COLUMNS)],
        file,
        offer,
        f"AWS Price List bulk CSV {offer} {preamble.get('Version', '')}".strip(),
        offer_publication_date(
            file, preamble.get("Publication Date", ""), "line 3 'Publication Date'"
        ),
    )
    return _keep_regions(catalog, regions, file)


def read_database_price_list_json(path: str | Path, *, regions: Sequence[str] = ()) -> PriceCatalog:
    """Read on-demand rates and reserved offerings from a database offer JSON (RDS, ElastiCache,
    OpenSearch, Redshift, MemoryDB).

    The same rows and checks as :func:`read_database_price_list_csv`; the file is streamed, one
    product or one SKU's terms decoded at a time, keeping only database instance products.

    Raises
    ------
    PriceFileError
        Missing, empty, HTML, truncated or malformed file; another offer; the checks of
        :func:`pricing.readers.database_price_rows.database_price_frames`.
    """
    sniffed = sniff(path)
    file = sniffed.path
    header: dict[str, Any] = {}
    products: dict[str, tuple[str, ...]] = {}
    records: list[tuple[str, ...]] = []
    with open_json(sniffed, fix="download the price file again (it may be truncated)") as stream:
        for key in stream.members():
            if key == "products":
                for _sku in stream.members():
                    product = stream.value()
                    if isinstance(product, Mapping):
                        _add_product(products, product, str(header.get("offerCode", "")))
            elif key == "terms":
                for term_type in stream.members():
                    for sku in stream.members():
                        if sku not in products or term_type not in ("OnDemand", "Reserved"):
                            stream.skip()
                            continue
                        terms = stream.value()
                        if isinstance(terms, Mapping):
                            records.extend(_term_rows(term_type, sku, terms, products[sku]))
            else:
                header[key] = stream.value()
        stream.expect_end()
    offer = str(header.get("offerCode", ""))
    if offer not in DATABASE_OFFER_CODES:
        raise PriceFileError(file, f"offerCode is {offer!r}, not one of {_OFFER_NAMES}", _FIX)
    catalog = _catalog(
        long_rows(records),
        file,
        offer,
        f"AWS Price List bulk JSON {offer} {header.get('version', '')}".strip(),
        offer_publication_date(file, str(header.get("publicationDate", "")), "publicationDate"),
    )
    return _keep_regions(catalog, regions, file)


def database_rows_from_items(items: Iterable[Mapping[str, Any]], *, origin: str) -> pd.DataFrame:
    """Long database price rows from ``GetProducts``-style items (``{"product", "terms"}``).

    Products of other families are dropped; see :func:`read_database_price_list_json`.

    Raises
    ------
    PriceFileError
        An item without a ``product`` and ``terms`` object.
    """
    products: dict[str, tuple[str, ...]] = {}
    records: list[tuple[str, ...]] = []
    for number, item in enumerate(items, start=1):
        product, terms = item.get("product"), item.get("terms")
        if not isinstance(product, Mapping) or not isinstance(terms, Mapping):
            raise PriceFileError(
                origin,
                f"price list item {number} has no 'product' and 'terms' objects",
                "retry; if it persists, report the response",
            )
        _add_product(products, product)
        sku = str(product.get("sku", ""))
        if sku not in products:
            continue
        for term_type in ("OnDemand", "Reserved"):
            by_code = terms.get(term_type) or {}  # term code -> term (no SKU level here)
            if isinstance(by_code, Mapping):
                records.extend(_term_rows(term_type, sku, by_code, products[sku]))
    return long_rows(records)


def _keep_regions(catalog: PriceCatalog, regions: Sequence[str], file: Path) -> PriceCatalog:
    """The catalog's rates in ``regions`` (all when empty); each region must have some."""
    if not regions:
        return catalog
    found = set(catalog.on_demand["region"]) | set(catalog.reserved["region"])
    missing = [region for region in regions if region not in found]
    if missing:
        raise PriceFileError(
            file,
            f"no database instance prices for region(s) {', '.join(missing)}",
            "check the region codes (e.g. us-east-1) or use an offer file that covers them",
        )
    return catalog.filter(regions=regions)


def _add_product(
    products: dict[str, tuple[str, ...]], product: Mapping[str, Any], offer: str = ""
) -> None:
    """Keep the product fields of a database instance or node product.

    The service is the product's ``servicecode``, else the offer's code, else the one its family
    names (:data:`pricing.readers.database_price_rows.DATABASE_PRODUCT_FAMILIES`).
    """
    family = str(product.get("productFamily", ""))
    attributes = product.get("attributes") or {}
    service = str(
        attributes.get("servicecode") or offer or DATABASE_PRODUCT_FAMILIES.get(family, "")
    )
    if service not in PRODUCT_FAMILIES or PRODUCT_FAMILIES[service] not in (None, family):
        return
    engine = attributes.get(ENGINE_COLUMNS[service][1], "") if service in ENGINE_COLUMNS else ""
    products[str(product.get("sku", ""))] = tuple(
        str(value or "")
        for value in (
            service,
            family,
            attributes.get("locationType", ""),
            attributes.get("usagetype", ""),
            attributes.get("instanceType", ""),
            engine,
            attributes.get(EDITION_COLUMNS["edition"][1], ""),
            attributes.get(EDITION_COLUMNS["license_model"][1], ""),
            attributes.get("regionCode", ""),
            attributes.get("location", ""),
        )
    )


def _term_rows(
    term_type: str, sku: str, terms: Mapping[str, Any], product: tuple[str, ...]
) -> list[tuple[str, ...]]:
    """One long row per price dimension of one SKU's terms of one type."""
    rows = []
    for term_key, term in terms.items():
        if not isinstance(term, Mapping):
            continue
        code = str(term.get("offerTermCode") or str(term_key).rsplit(".", 1)[-1])
        attributes = term.get("termAttributes") or {}
        for dimension in (term.get("priceDimensions") or {}).values():
            per_unit = dimension.get("pricePerUnit") or {}
            currency = "USD" if "USD" in per_unit else next(iter(per_unit), "")
            rows.append(
                (
                    sku, term_type, code, str(dimension.get("unit", "")),
                    str(per_unit.get(currency, "")), currency,
                    str(attributes.get("LeaseContractLength", "")),
                    str(attributes.get("PurchaseOption", "")),
                    str(attributes.get("OfferingClass", "")),
                    *product,
                )
            )  # fmt: skip
    return rows


def _catalog(rows: pd.DataFrame, file: Path, offer: str, source: str, as_of: date) -> PriceCatalog:
    frames = database_price_frames(rows, origin=str(file))
    if frames.on_demand.empty and frames.reserved.empty:
        raise PriceFileError(
            file,
            f"no {offer} instance prices found ({PRODUCT_FAMILIES.get(offer) or 'node'} products "
            "of mapped engines in AWS Regions)" + (f"; {frames.notes[0]}" if frames.notes else ""),
            _FIX,
        )
    metadata = CatalogMetadata(source=source, as_of=as_of, notes=frames.notes)
    return PriceCatalog.from_frames(metadata, on_demand=frames.on_demand, reserved=frames.reserved)


def _preamble_and_header(sniffed: SniffedFile) -> tuple[dict[str, str], list[str]]:
    file = sniffed.path
    lines = sniffed.head_text.splitlines()[: PREAMBLE_LINES + 1]
    rows = list(csv.reader(lines))
    if not rows or not rows[0] or rows[0][0].strip() != "FormatVersion":
        raise PriceFileError(
            file,
            f"line 1 is {lines[0][:80] if lines else ''!r}, not the 'FormatVersion' preamble of "
            "an AWS Price List CSV",
            _FIX,
        )
    if len(rows) < PREAMBLE_LINES + 1:
        raise PriceFileError(
            file, f"the file ends after {len(rows)} line(s), before the header row", _FIX
        )
    preamble = {row[0].strip(): row[1].strip() for row in rows[:PREAMBLE_LINES] if len(row) >= 2}
    offer = preamble.get("OfferCode", "")
    if offer not in DATABASE_OFFER_CODES:
        raise PriceFileError(file, f"line 5 names offer {offer!r}, not one of {_OFFER_NAMES}", _FIX)
    return preamble, [column.strip() for column in rows[PREAMBLE_LINES]]
