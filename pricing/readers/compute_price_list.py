"""On-demand rates of Fargate, Lambda and SageMaker from the AWS Price List (files, GetProducts).

The offers ``AmazonECS`` and ``AmazonEKS`` (Fargate is billed under both, with the same usage
types), ``AWSLambda`` and ``AmazonSageMaker`` have the EC2 offer's layout: CSV with five preamble
lines then ``SKU, OfferTermCode, RateCode, TermType, PriceDescription, EffectiveDate,
StartingRange, EndingRange, Unit, PricePerUnit, Currency, ..., usageType, operation, ...``; JSON
with ``products`` by SKU (``attributes.usagetype``, ``servicecode``, ``locationType``) and
``terms.OnDemand`` by SKU (``priceDimensions`` with ``beginRange``, ``unit``,
``pricePerUnit.USD``). None of these services sells reservations: only ``OnDemand`` terms are
read. Each product's key comes from its usage type (:mod:`pricing.readers.compute_rate_rows`),
its rate is converted to USD per key unit-hour (Lambda per GB-second × 3,600).

**Lambda's tiers.** Lambda duration is priced in tiers of monthly GB-seconds (the first
6 billion at 0.0000166667 USD, the next 9 billion lower, ...): the catalog keeps **the first
priced tier** (the lowest ``StartingRange`` / ``beginRange`` with a price above zero), the
rate a month's first GB-seconds pay, and notes how many keys had several tiers. An account past
the first tier pays less on demand than the catalog says.

Products that are not usage a Savings Plan covers (Lambda requests, Fargate Spot and ephemeral
storage, EKS cluster hours, SageMaker storage and serverless inference...) are counted by reason
in the notes. Another currency, a price that is not a number >= 0, or two SKUs giving one key
two first-tier rates is a :class:`~pricing.errors.PriceFileError` naming the SKU.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from pricing.catalog import KEY_COLUMNS, CatalogMetadata, PriceCatalog
from pricing.errors import PriceFileError
from pricing.readers.common import (
    ProgressCallback,
    SniffedFile,
    offer_publication_date,
    require_columns,
    sniff,
)
from pricing.readers.compute_rate_rows import count_notes, key_rates, tally
from pricing.readers.json_stream import open_json
from pricing.readers.price_list_rows import quote_identifier, read_offer_csv_rows

COMPUTE_OFFER_CODES: Final = ("AmazonECS", "AmazonEKS", "AWSLambda", "AmazonSageMaker")
"""The offers these readers accept (``OfferCode`` / ``offerCode``)."""

LONG_COLUMNS: Final = (
    "sku", "term_type", "unit", "price_text", "currency", "begin_range", "usage_type",
    "service_code", "location_type",
)  # fmt: skip
"""Text columns of the long rows (one per price dimension) every reader produces."""

_CSV_COLUMNS: Final[dict[str, str]] = {
    "sku": "SKU",
    "term_type": "TermType",
    "unit": "Unit",
    "price_text": "PricePerUnit",
    "currency": "Currency",
    "usage_type": "usageType",
}
_CSV_OPTIONAL: Final[dict[str, str]] = {
    "begin_range": "StartingRange",
    "service_code": "serviceCode",
    "location_type": "Location Type",
}
_FIX: Final = f"pass an unmodified AWS Price List offer file of {', '.join(COMPUTE_OFFER_CODES)}"
PREAMBLE_LINES: Final = 5


def compute_price_frames(
    rows: pd.DataFrame, *, origin: str, offer: str = ""
) -> tuple[pd.DataFrame, list[str]]:
    """Key, check and reduce long price rows to one on-demand rate per key.

    Parameters
    ----------
    rows
        :data:`LONG_COLUMNS` (text); ``service_code`` may be empty (then ``offer`` is used).
    origin
        The file or API named in errors.
    offer
        The offer code, the service of rows without their own.

    Returns
    -------
    on_demand : pandas.DataFrame
        The key and ``on_demand_usd_per_hour`` [USD per key unit-hour], sorted.
    notes : list of str
        Products left out by reason; keys priced in several tiers.

    Raises
    ------
    PriceFileError
        Another currency, a price that is not a finite number >= 0, or two first-tier prices
        for one key.
    """
    frame = rows.loc[:, list(LONG_COLUMNS)].astype("string").fillna("")
    frame = frame.loc[
        frame["term_type"].eq("OnDemand") & frame["location_type"].isin(["", "AWS Region"])
    ].reset_index(drop=True)
    frame["service_code"] = frame["service_code"].where(frame["service_code"] != "", offer)
    keys, reasons = key_rates(frame["usage_type"], frame["service_code"], frame["unit"])
    counts, examples = tally(reasons, frame["usage_type"])
    notes = count_notes(counts, "price rows", examples)
    keep = (reasons == "").to_numpy()
    frame, keys = frame.loc[keep].reset_index(drop=True), keys.loc[keep].reset_index(drop=True)
    wrong = frame["currency"].ne("USD").to_numpy()
    if wrong.any():
        row = frame.loc[wrong].iloc[0]
        raise PriceFileError(
            origin,
            f"SKU {row['sku']} is priced in {row['currency'] or 'no currency'!r}, not USD",
            "commitopt prices in USD only: use the USD AWS Price List",
        )
    prices = pd.to_numeric(frame["price_text"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(prices) & (prices >= 0))
    if bad.any():
        row = frame.loc[bad].iloc[0]
        raise PriceFileError(
            origin,
            f"SKU {row['sku']} has price {row['price_text']!r}, not a finite number >= 0 "
            "(PricePerUnit)",
            "download the price file again; prices are never negative, NaN or blank",
        )
    table = keys.assign(
        price=prices / keys["per_bill_unit"].to_numpy(dtype=np.float64),
        begin=pd.to_numeric(frame["begin_range"].replace("", "0"), errors="coerce").fillna(0.0),
        sku=frame["sku"],
    )
    table = table.loc[table["price"] > 0]
    key = list(KEY_COLUMNS)
    tiers = table.groupby(key, observed=True)["begin"].nunique()
    first = table.groupby(key, observed=True)["begin"].transform("min")
    first_tier = table.loc[table["begin"] == first]
    spread = first_tier.groupby(key, observed=True)["price"].agg(["min", "max"])
    conflict = spread.loc[spread["min"] != spread["max"]]
    if not conflict.empty:
        clash_key = conflict.index[0]
        clash = first_tier.set_index(key).loc[[clash_key]].sort_values("price")
        raise PriceFileError(
            origin,
            f"conflicting on-demand prices for {' '.join(map(str, clash_key))}: SKU "
            f"{clash.iloc[0]['sku']} says {clash.iloc[0]['price']:g}, SKU {clash.iloc[-1]['sku']} "
            f"says {clash.iloc[-1]['price']:g} USD per unit-hour",
            "pass an unmodified AWS Price List file (an edited or merged file repeats this key)",
        )
    several = tiers.loc[tiers > 1]
    if len(several):
        shown = ", ".join(" ".join(map(str, k)) for k in several.index[:3])
        notes.append(
            f"{len(several)} key(s) priced in tiers (Lambda duration): the first priced tier "
            f"is kept, e.g. {shown}"
        )
    on_demand = (
        spread["min"].rename("on_demand_usd_per_hour").reset_index().sort_values(key)
    ).reset_index(drop=True)
    return on_demand, notes


def read_compute_price_list_csv(
    path: str | Path, *, regions: Iterable[str] = (), progress: ProgressCallback | None = None
) -> PriceCatalog:
    """Read the on-demand rates of an AmazonECS, AmazonEKS, AWSLambda or AmazonSageMaker CSV.

    Parameters
    ----------
    path
        ``index.csv`` (or ``.csv.gz``) of the offer, global or one region.
    regions
        Keep only these region codes (all when empty).
    progress
        Called as ``progress(bytes_done, bytes_total)`` while the file is scanned.

    Raises
    ------
    PriceFileError
        Missing, empty, HTML or truncated file; another offer; missing columns; a row that does
        not fit the header; the checks of :func:`compute_price_frames`; no rate at all.
    """
    sniffed = sniff(path)
    file = sniffed.path
    preamble, header = _preamble_and_header(sniffed)
    offer = preamble.get("OfferCode", "")
    require_columns(file, header, _CSV_COLUMNS.values(), f"AWS Price List {offer} offer CSV")
    projection = [f"{quote_identifier(c)} AS {n}" for n, c in _CSV_COLUMNS.items()] + [
        f"{quote_identifier(c) if c in header else 'NULL::VARCHAR'} AS {n}"
        for n, c in _CSV_OPTIONAL.items()
    ]
    rows = read_offer_csv_rows(sniffed, header, projection, "TermType = 'OnDemand'", progress)
    as_of = offer_publication_date(
        file, preamble.get("Publication Date", ""), "line 3 'Publication Date'"
    )
    name = f"AWS Price List bulk CSV {offer} {preamble.get('Version', '')}".strip()
    return _catalog(rows, file, offer, name, as_of, regions)


def read_compute_price_list_json(path: str | Path, *, regions: Iterable[str] = ()) -> PriceCatalog:
    """Read the on-demand rates of an AmazonECS, AmazonEKS, AWSLambda or AmazonSageMaker JSON.

    The same rows and checks as :func:`read_compute_price_list_csv`; the file is streamed, one
    product or one SKU's terms decoded at a time.
    """
    sniffed = sniff(path)
    file = sniffed.path
    header: dict[str, Any] = {}
    products: dict[str, tuple[str, str, str]] = {}
    records: list[tuple[str, ...]] = []
    with open_json(sniffed, fix="download the price file again (it may be truncated)") as stream:
        for key in stream.members():
            if key == "products":
                for sku in stream.members():
                    product = stream.value()
                    if isinstance(product, Mapping):
                        products[sku] = _product_fields(product)
            elif key == "terms":
                for term_type in stream.members():
                    for sku in stream.members():
                        if term_type != "OnDemand" or sku not in products:
                            stream.skip()
                            continue
                        terms = stream.value()
                        if isinstance(terms, Mapping):
                            records.extend(_term_rows(sku, terms, products[sku]))
            else:
                header[key] = stream.value()
        stream.expect_end()
    offer = str(header.get("offerCode", ""))
    as_of = offer_publication_date(file, str(header.get("publicationDate", "")), "publicationDate")
    name = f"AWS Price List bulk JSON {offer} {header.get('version', '')}".strip()
    return _catalog(_long(records), file, offer, name, as_of, regions)


def compute_rows_from_items(items: Iterable[Mapping[str, Any]], *, origin: str) -> pd.DataFrame:
    """Long rows from ``GetProducts`` items (``{"product", "terms"}``).

    Raises
    ------
    PriceFileError
        An item without a ``product`` and ``terms`` object.
    """
    records: list[tuple[str, ...]] = []
    for number, item in enumerate(items, start=1):
        product, terms = item.get("product"), item.get("terms")
        if not isinstance(product, Mapping) or not isinstance(terms, Mapping):
            raise PriceFileError(
                origin,
                f"price list item {number} has no 'product' and 'terms' objects",
                "retry; if it persists, report the response",
            )
        on_demand = terms.get("OnDemand") or {}
        if isinstance(on_demand, Mapping):
            sku = str(product.get("sku", ""))
            records.extend(_term_rows(sku, on_demand, _product_fields(product)))
    return _long(records)


def _product_fields(product: Mapping[str, Any]) -> tuple[str, str, str]:
    attributes = product.get("attributes") or {}
    return (
        str(attributes.get("usagetype", "") or ""),
        str(attributes.get("servicecode", "") or ""),
        str(attributes.get("locationType", "") or ""),
    )


def _term_rows(
    sku: str, terms: Mapping[str, Any], product: tuple[str, str, str]
) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for term in terms.values():
        if not isinstance(term, Mapping):
            continue
        for dimension in (term.get("priceDimensions") or {}).values():
            per_unit = dimension.get("pricePerUnit") or {}
            currency = "USD" if "USD" in per_unit else next(iter(per_unit), "")
            rows.append(
                (
                    sku, "OnDemand", str(dimension.get("unit", "")),
                    str(per_unit.get(currency, "")), currency,
                    str(dimension.get("beginRange", "0")), *product,
                )
            )  # fmt: skip
    return rows


def _long(records: list[tuple[str, ...]]) -> pd.DataFrame:
    if not records:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in LONG_COLUMNS})
    return pd.DataFrame(records, columns=list(LONG_COLUMNS), dtype="string")


def _catalog(
    rows: pd.DataFrame, file: Path, offer: str, source: str, as_of: date, regions: Iterable[str]
) -> PriceCatalog:
    if offer not in COMPUTE_OFFER_CODES:
        raise PriceFileError(
            file, f"OfferCode is {offer!r}, not one of {', '.join(COMPUTE_OFFER_CODES)}", _FIX
        )
    for column in LONG_COLUMNS:
        if column not in rows:
            rows[column] = ""
    on_demand, notes = compute_price_frames(rows, origin=str(file), offer=offer)
    wanted = list(regions)
    if wanted:
        on_demand = on_demand.loc[on_demand["region"].isin(wanted)]
    if on_demand.empty:
        scope = f" in region(s) {', '.join(wanted)}" if wanted else ""
        raise PriceFileError(
            file,
            f"no on-demand rate of usage a Savings Plan covers{scope}"
            + (f" ({notes[0]})" if notes else ""),
            _FIX,
        )
    metadata = CatalogMetadata(source=source, as_of=as_of, notes=tuple(notes))
    return PriceCatalog.from_frames(metadata, on_demand=on_demand.reset_index(drop=True))


def _preamble_and_header(sniffed: SniffedFile) -> tuple[dict[str, str], list[str]]:
    import csv

    lines = sniffed.head_text.splitlines()
    parsed = list(csv.reader(lines[: PREAMBLE_LINES + 1]))
    if len(parsed) <= PREAMBLE_LINES or not parsed[0] or parsed[0][0] != "FormatVersion":
        raise PriceFileError(
            sniffed.path,
            "no Price List preamble (FormatVersion, Disclaimer, Publication Date, Version, "
            "OfferCode) before the header",
            _FIX,
        )
    preamble = {row[0]: row[1] for row in parsed[:PREAMBLE_LINES] if len(row) >= 2}
    return preamble, [cell.strip() for cell in parsed[PREAMBLE_LINES]]


__all__ = [
    "COMPUTE_OFFER_CODES",
    "LONG_COLUMNS",
    "compute_price_frames",
    "compute_rows_from_items",
    "read_compute_price_list_csv",
    "read_compute_price_list_json",
]
