"""Long AWS Price List rows of database instances and nodes -> on-demand and reserved tables.

The AmazonRDS, AmazonElastiCache, AmazonES (OpenSearch), AmazonRedshift and AmazonMemoryDB offers
(bulk CSV or JSON, or ``GetProducts``) flatten, like the EC2 offer
(:mod:`pricing.readers.price_list_rows`), to one row per price dimension. The text columns
(:data:`DATABASE_LONG_COLUMNS`) come from the term (``sku, term_type, term_code, unit,
price_text, currency, lease, purchase, offering_class``) and from the product (``service,
product_family, location_type, usage_type, instance_type, engine, edition, license_model,
region_code, location``). Products kept (:data:`PRODUCT_FAMILIES`): RDS ``Database Instance``
(``instanceType`` ``db.*``, ``databaseEngine``, ``databaseEdition``, ``licenseModel``), ElastiCache
``Cache Instance`` (``cache.*``, ``cacheEngine``), OpenSearch ``Amazon OpenSearch Service
Instance`` (``m5.xlarge.search``, usage type ``ESInstance:m5.xlarge``), Redshift ``Compute
Instance`` (``dc2.large``, usage type ``Node:dc2.large``) and every MemoryDB product whose usage
type is node usage (``NodeUsage:db.r6g.large``; the MemoryDB product family is not documented), in
AWS Regions.

The key of a product:

* ``instance_type``: the ``instanceType`` attribute, never the usage type (the RDS offer
  abbreviates sizes there: ``InstanceUsage:db.r5b.16xl``; OpenSearch drops ``.search``);
* ``tenancy``: the deployment, from the usage type's kind and class prefix
  (:func:`pricing.databases.usage_kind`: ``InstanceUsage`` Single-AZ, ``Multi-AZUsage`` Multi-AZ,
  ``Multi-AZClusterUsage`` Multi-AZ DB cluster, ``NodeUsage``, ``ESInstance`` and ``Node`` Node),
  the same rule as the CUR's;
* ``platform``: :func:`pricing.readers.database_platforms.price_platform` (engine, and for Oracle
  and SQL Server edition and licence model; one platform for OpenSearch and Redshift; Valkey
  MemoryDB nodes are not mapped);
* ``region``: ``regionCode``, else the ``location`` name, else the usage type's prefix.

A reserved term is an ``Hrs`` row (recurring USD/h) plus, for Partial and All Upfront, a
``Quantity`` row (the upfront fee); ``OfferingClass`` is ``standard`` when absent. Every row left
out (other kinds, unmapped engines, legacy ``Heavy Utilization`` terms, ...) is counted by reason
in the notes. Conflicting duplicates (one key and offering, two prices) are errors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from pricing.databases import (
    ELASTICACHE,
    EXACT_SIZE_SERVICES,
    KINDS_NOT_COVERED_YET,
    MEMORYDB,
    OPENSEARCH,
    RDS,
    REDSHIFT,
    usage_kind,
)
from pricing.errors import PriceFileError
from pricing.instance_types import has_normalized_units
from pricing.readers.database_platforms import price_platform
from pricing.regions import LOCATION_TO_REGION, PREFIX_TO_REGION

PRODUCT_FAMILIES: Final[dict[str, str | None]] = {
    RDS: "Database Instance",
    ELASTICACHE: "Cache Instance",
    OPENSEARCH: "Amazon OpenSearch Service Instance",
    REDSHIFT: "Compute Instance",
    MEMORYDB: None,
}
"""Service -> the Price List ``productFamily`` of its instances or nodes; ``None``: not documented,
every product is read and kept when its usage type is node usage (MemoryDB)."""

DATABASE_PRODUCT_FAMILIES: Final[dict[str, str]] = {
    family: service for service, family in PRODUCT_FAMILIES.items() if family is not None
}
"""``productFamily`` -> service, for products whose attributes do not name their service
(``Compute Instance`` is also EC2's: only a product of the Redshift offer is read as Redshift)."""

DATABASE_LONG_COLUMNS: Final = (
    "sku", "term_type", "term_code", "unit", "price_text", "currency", "lease", "purchase",
    "offering_class", "service", "product_family", "location_type", "usage_type", "instance_type",
    "engine", "edition", "license_model", "region_code", "location",
)  # fmt: skip
"""Text columns of the long rows every database reader produces."""

_USAGE_KIND: Final = (
    r"^(?:(?P<prefix>[A-Z]{2,4}\d?)-)?(?P<kind>[A-Za-z][A-Za-z\-]*):(?P<instance_class>.*)$"
)
_LEASES: Final = {"1yr": 1, "3yr": 3, "1 yr": 1, "3 yr": 3}
_PAYMENTS: Final = {
    "no upfront": "No Upfront",
    "partial upfront": "Partial Upfront",
    "all upfront": "All Upfront",
}
_KEY: Final = ["region", "instance_type", "platform", "tenancy"]
_OFFERING: Final = ["offering_class", "term_years", "payment_option"]

RowDescriber = Callable[[str, str], str]
"""Names a row in errors from its SKU and offer term code (the CSV reader adds line numbers)."""


@dataclass(frozen=True, slots=True)
class DatabasePriceFrames:
    """On-demand and reserved tables in the catalog's layout, and the notes on what was skipped.

    Attributes
    ----------
    on_demand
        ``region, instance_type, platform, tenancy, on_demand_usd_per_hour`` [USD/h].
    reserved
        The key, ``offering_class, term_years, payment_option, upfront_usd`` [USD],
        ``recurring_usd_per_hour`` [USD/h].
    notes
        ``skipped N price rows: reason (examples)``, largest count first.
    """

    on_demand: pd.DataFrame
    reserved: pd.DataFrame
    notes: tuple[str, ...]


def describe_plainly(sku: str, term_code: str) -> str:
    """``SKU X, offer term Y``: the default :data:`RowDescriber`."""
    return f"SKU {sku}, offer term {term_code}"


def database_price_frames(
    rows: pd.DataFrame, *, origin: str, describe: RowDescriber = describe_plainly
) -> DatabasePriceFrames:
    """Check, key and pivot long database price rows.

    Parameters
    ----------
    rows
        One row per price dimension with :data:`DATABASE_LONG_COLUMNS` (text; missing values
        allowed where an attribute is absent).
    origin
        The file or API named in errors.
    describe
        Names a row in errors.

    Raises
    ------
    PriceFileError
        A non-USD currency, a price that is not a finite number >= 0, or conflicting duplicates.
    """
    frame = rows.loc[:, list(DATABASE_LONG_COLUMNS)].astype("string").fillna("")
    frame = frame.loc[
        is_instance_product(frame["service"], frame["product_family"])
        & frame["location_type"].isin(["", "AWS Region"])
        & frame["term_type"].isin(["OnDemand", "Reserved"])
        & frame["unit"].isin(["Hrs", "Quantity"])
    ].reset_index(drop=True)
    _check_prices(frame, origin, describe)
    keyed, reasons = _keys(frame)
    notes = _notes(keyed.loc[reasons != ""], reasons.loc[reasons != ""])
    keyed = keyed.loc[reasons == ""]
    on_demand = _on_demand(keyed, origin, describe)
    reserved, reserved_notes = _reserved(keyed, origin, describe)
    return DatabasePriceFrames(on_demand, reserved, (*notes, *reserved_notes))


def _check_prices(frame: pd.DataFrame, origin: str, describe: RowDescriber) -> None:
    wrong_currency = frame["currency"] != "USD"
    if wrong_currency.any():
        row = frame.loc[wrong_currency].iloc[0]
        raise PriceFileError(
            origin,
            f"{describe(row['sku'], row['term_code'])} is priced in "
            f"{row['currency'] or 'no currency'!r}, not USD",
            "commitopt prices in USD only: use the USD AWS Price List",
        )
    prices = pd.to_numeric(frame["price_text"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(prices) & (prices >= 0))
    if bad.any():
        row = frame.loc[bad].iloc[0]
        raise PriceFileError(
            origin,
            f"{describe(row['sku'], row['term_code'])} has price {row['price_text']!r}, not a "
            "finite number >= 0 (PricePerUnit)",
            "download the price file again; prices are never negative, NaN or blank",
        )
    frame["price"] = prices


def is_instance_product(services: pd.Series, families: pd.Series) -> pd.Series:
    """Whether each (service, product family) is one of :data:`PRODUCT_FAMILIES`' instance or
    node products (any family for MemoryDB, whose usage type decides)."""
    expected = services.map(PRODUCT_FAMILIES)
    known = services.isin(list(PRODUCT_FAMILIES))
    return known & ((services == MEMORYDB) | (families == expected))


_PRODUCT_COLUMNS: Final = [
    "service", "product_family", "usage_type", "instance_type", "engine", "edition",
    "license_model", "region_code", "location",
]  # fmt: skip


def _keys(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Add the key columns; return the frame and, per row, why it is skipped ('' when kept)."""
    products = frame[_PRODUCT_COLUMNS].drop_duplicates()
    parts = products["usage_type"].str.extract(_USAGE_KIND)
    kind = parts["kind"].fillna("")
    kinds = [
        usage_kind(k, c) for k, c in zip(kind, parts["instance_class"].fillna(""), strict=True)
    ]  # one decision per distinct product
    deployment = pd.Series([k.deployment if k else pd.NA for k in kinds], index=products.index)
    kind_service = pd.Series([k.service if k else "" for k in kinds], index=products.index)
    decided = [
        price_platform(s, e, ed, lm)
        for s, e, ed, lm in zip(
            products["service"], products["engine"], products["edition"],
            products["license_model"], strict=True,
        )
    ]  # fmt: skip
    platform = pd.Series([p for p, _ in decided], index=products.index, dtype="string")
    platform_reason = pd.Series([r for _, r in decided], index=products.index, dtype="string")
    prefix = parts["prefix"].fillna("")
    prefix_region = prefix.map(PREFIX_TO_REGION).where(prefix != "", "us-east-1")
    region = (
        products["region_code"]
        .replace("", pd.NA)
        .fillna(products["location"].map(LOCATION_TO_REGION))
        .fillna(prefix_region)
    )
    exact = products["service"].isin(list(EXACT_SIZE_SERVICES))
    sizes = {t: has_normalized_units(t) for t in products["instance_type"].unique()}
    sized = exact | products["instance_type"].map(sizes).astype(bool)
    reason = np.select(
        [
            deployment.isna() & kind.isin(list(KINDS_NOT_COVERED_YET)),
            deployment.isna(),
            kind_service != products["service"],
            platform.isna(),
            products["instance_type"] == "",
            ~sized,
            region.isna(),
        ],
        [
            "Aurora I/O-Optimized instance usage (not covered yet)",
            "not instance usage (kind " + kind.where(kind != "", "none") + ")",
            "usage kind of another service",
            platform_reason,
            "no instanceType",
            "instance class without a normalized size",
            "unknown region",
        ],
        default="",
    )
    products = products.assign(
        region=region, platform=platform, tenancy=deployment, reason=reason
    ).astype("string")
    keyed = frame.merge(products, how="left", on=_PRODUCT_COLUMNS)
    return keyed, keyed["reason"].fillna("")


def _notes(skipped: pd.DataFrame, reasons: pd.Series) -> list[str]:
    notes = []
    for reason, group in skipped.groupby(reasons.to_numpy(), sort=False):
        examples = ", ".join(sorted(set(group["usage_type"]))[:3])
        notes.append((len(group), f"skipped {len(group)} price rows: {reason} ({examples})"))
    return [text for _, text in sorted(notes, key=lambda pair: -pair[0])]


def _on_demand(keyed: pd.DataFrame, origin: str, describe: RowDescriber) -> pd.DataFrame:
    rows = keyed.loc[(keyed["term_type"] == "OnDemand") & (keyed["unit"] == "Hrs")]
    spread = rows.groupby(_KEY, observed=True)["price"].agg(["min", "max"])
    conflict = spread.loc[spread["min"] != spread["max"]]
    if not conflict.empty:
        key = conflict.index[0]
        clash = rows.set_index(_KEY).loc[[key]].sort_values("price")
        low, high = clash.iloc[0], clash.iloc[-1]
        raise PriceFileError(
            origin,
            f"conflicting on-demand prices for {' '.join(map(str, key))}: "
            f"{describe(low['sku'], low['term_code'])} says {low['price']} USD/h, "
            f"{describe(high['sku'], high['term_code'])} says {high['price']} USD/h",
            "pass an unmodified AWS Price List file (an edited or merged file repeats this key)",
        )
    return (
        spread["min"]
        .rename("on_demand_usd_per_hour")
        .reset_index()
        .sort_values(_KEY)
        .reset_index(drop=True)
    )


def _reserved(
    keyed: pd.DataFrame, origin: str, describe: RowDescriber
) -> tuple[pd.DataFrame, list[str]]:
    rows = keyed.loc[keyed["term_type"] == "Reserved"].copy()
    rows["term_years"] = rows["lease"].str.lower().map(_LEASES)
    rows["payment_option"] = rows["purchase"].str.lower().map(_PAYMENTS)
    rows["offering_class"] = rows["offering_class"].str.lower().replace("", "standard")
    notes = []
    unknown = rows["term_years"].isna() | rows["payment_option"].isna()
    if unknown.any():
        shown = ", ".join(sorted(set(rows.loc[unknown, "purchase"]))[:3])
        notes.append(
            f"skipped {int(unknown.sum())} reserved price rows of another lease or purchase "
            f"option ({shown})"
        )
    rows = rows.loc[~unknown]
    term_columns = ["sku", "term_code", *_KEY, *_OFFERING]
    hourly = rows.loc[rows["unit"] == "Hrs"].groupby(term_columns, observed=True)["price"].max()
    fee = rows.loc[rows["unit"] == "Quantity"].groupby(term_columns, observed=True)["price"].max()
    terms = pd.concat([hourly.rename("hourly"), fee.rename("fee")], axis=1).reset_index()
    all_upfront = terms["payment_option"] == "All Upfront"
    no_upfront = terms["payment_option"] == "No Upfront"
    terms["upfront_usd"] = terms["fee"].where(~no_upfront, terms["fee"].fillna(0.0))
    terms["recurring_usd_per_hour"] = terms["hourly"].where(
        ~all_upfront, terms["hourly"].fillna(0.0)
    )
    incomplete = terms["upfront_usd"].isna() | terms["recurring_usd_per_hour"].isna()
    if incomplete.any():
        notes.append(
            f"skipped {int(incomplete.sum())} incomplete reserved terms (a Partial/All Upfront "
            "term without its Upfront Fee row, or a term without its hourly row)"
        )
    terms = terms.loc[~incomplete]
    offer = [*_KEY, *_OFFERING]
    spread = terms.groupby(offer, observed=True)[["upfront_usd", "recurring_usd_per_hour"]].agg(
        ["min", "max"]
    )
    differs = (spread[("upfront_usd", "min")] != spread[("upfront_usd", "max")]) | (
        spread[("recurring_usd_per_hour", "min")] != spread[("recurring_usd_per_hour", "max")]
    )
    if differs.any():
        key = differs[differs].index[0]
        clash = (
            terms.set_index(offer).loc[[key]].sort_values(["upfront_usd", "recurring_usd_per_hour"])
        )
        low, high = clash.iloc[0], clash.iloc[-1]
        raise PriceFileError(
            origin,
            f"conflicting reserved prices for {' '.join(map(str, key))}: "
            f"{describe(low['sku'], low['term_code'])} says {low['upfront_usd']} USD + "
            f"{low['recurring_usd_per_hour']} USD/h, {describe(high['sku'], high['term_code'])} "
            f"says {high['upfront_usd']} USD + {high['recurring_usd_per_hour']} USD/h",
            "pass an unmodified AWS Price List file (an edited or merged file repeats this key)",
        )
    reserved = (
        terms.drop_duplicates(offer)[[*offer, "upfront_usd", "recurring_usd_per_hour"]]
        .astype({"term_years": "int64"})
        .sort_values(offer)
        .reset_index(drop=True)
    )
    return reserved, notes


def empty_long_rows() -> pd.DataFrame:
    """A long-rows table with no row (the columns of :data:`DATABASE_LONG_COLUMNS`)."""
    return pd.DataFrame({column: pd.Series(dtype="string") for column in DATABASE_LONG_COLUMNS})


def long_rows(records: Sequence[Sequence[str]]) -> pd.DataFrame:
    """A long-rows table from tuples in the order of :data:`DATABASE_LONG_COLUMNS`."""
    if not records:
        return empty_long_rows()
    return pd.DataFrame(list(records), columns=list(DATABASE_LONG_COLUMNS), dtype="string")
