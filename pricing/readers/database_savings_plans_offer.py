"""Database Savings Plans rates from their offer file (``AWSDatabaseSavingsPlans``).

The offer (``savingsPlan/v1.0/aws/AWSDatabaseSavingsPlans/current/region_index.json``, one file
per region) has the Compute Savings Plans offer's layout: per plan, the rate charged against the
commitment for one unit of each discounted usage type and operation
(``DiscountedServiceCode`` ``AmazonRDS``, ``DiscountedUsageType``
``USE1-InstanceUsage:db.r7g.large``, ``DiscountedOperation`` ``CreateDBInstance:0016``,
``DiscountedInstanceType``). Its rows become ``savings_plans`` rows with ``plan_type``
``database``, keyed like the usage and like :mod:`pricing.readers.database_savings_plans_api`:
the class from ``DiscountedInstanceType`` (else the usage type), the deployment from the usage
type's kind (:func:`pricing.databases.parse_database_usage_type`).

**The engine.** Unlike the API (whose rates carry a ``productDescription`` property), the offer
file names a rate's engine only by its operation code (``CreateDBInstance:0016``). AWS documents
no table of those codes, so commitopt does not guess: the codes are read from the products of an
AmazonRDS or AmazonElastiCache Price List offer (:func:`operation_platforms`, each product's
``operation`` with its ``databaseEngine`` / ``cacheEngine``, edition and licence mapped by
:func:`pricing.readers.database_platforms.price_platform`). ``pricing import`` passes the codes
of the database offer files imported in the same command; a rate whose code is not among them is
counted, with that remedy, never keyed by a guess.

Rates of services commitopt does not model (DynamoDB, DocumentDB, Neptune, Keyspaces,
Timestream, DMS, Aurora DSQL) and rates in other units than ``Hrs`` (serverless ``ACU-Hr``,
request units, ``ElastiCacheProcessingUnit``) are counted by reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import duckdb
import pandas as pd

from pricing.catalog import KEY_COLUMNS, SAVINGS_PLAN_COLUMNS
from pricing.databases import ELASTICACHE, RDS, DatabaseUsageType, parse_database_usage_type
from pricing.errors import PriceFileError
from pricing.offerings import parse_payment_option, parse_savings_plan_type, parse_term_years
from pricing.readers.common import sniff
from pricing.readers.compute_rate_rows import count_notes
from pricing.readers.database_platforms import price_platform
from pricing.readers.json_stream import open_json
from pricing.readers.price_list_rows import price_connection, quote_identifier
from pricing.readers.savings_plans_offer import (
    RateSource,
    map_distinct,
    parse_rates,
    require_equal,
    require_values,
)
from pricing.services import DATABASE_PLAN_TYPE

DATABASE_SERVICE_CODES: Final = (RDS, ELASTICACHE)
"""The ``DiscountedServiceCode`` values whose Database Savings Plans rates are keyed."""

OperationPlatforms = Mapping[tuple[str, str], str]
"""``(service code, operation)`` -> the key's platform (``("AmazonRDS",
"CreateDBInstance:0016")`` -> ``"aurora-mysql"``)."""

_ENGINE_FIELDS: Final[dict[str, tuple[str, str]]] = {
    RDS: ("Database Engine", "databaseEngine"),
    ELASTICACHE: ("Cache Engine", "cacheEngine"),
}
_EDITION_FIELDS: Final = (
    ("Database Edition", "databaseEdition"),
    ("License Model", "licenseModel"),
)


def database_offer_table(
    raw: pd.DataFrame, source: RateSource, platforms: OperationPlatforms
) -> tuple[pd.DataFrame, list[str]]:
    """Key, check and pivot the raw RDS and ElastiCache rates of a Database Savings Plans offer.

    Parameters
    ----------
    raw
        Text columns ``rate_code``, ``plan_family``, ``payment``, ``term``, ``usage_type``,
        ``operation``, ``service_code``, ``rate``, ``currency``, ``unit`` and
        ``instance_type_hint`` (may be empty).
    source
        Names the file in errors.
    platforms
        The engine of each operation code (:func:`operation_platforms`); may be empty.

    Returns
    -------
    table : pandas.DataFrame
        The key, ``plan_type`` ``database``, ``term_years``, ``payment_option``,
        ``sp_hourly_usd`` [USD per instance- or node-hour], sorted.
    notes : list of str
        The rates left out, by reason.

    Raises
    ------
    PriceFileError
        A missing value, unknown plan type, term or payment option, a rate that is not a number
        >= 0, another currency, or two rates for one key and plan.
    """
    raw = raw.reset_index(drop=True).astype("string")
    if "instance_type_hint" not in raw:
        raw["instance_type_hint"] = pd.NA
    raw = raw.fillna("")
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    rows: list[tuple[Any, ...]] = []
    kept: list[int] = []

    def skip(reason: str, example: str) -> None:
        counts[reason] += 1
        shown = examples.setdefault(reason, [])
        if len(shown) < 3 and example not in shown:
            shown.append(example)

    for position, row in enumerate(raw.itertuples(index=False)):
        usage_type = str(row.usage_type or "")
        service = str(row.service_code or "")
        if service not in DATABASE_SERVICE_CODES:
            skip(f"rates of {service or 'no service'} (not modelled yet)", usage_type)
            continue
        if str(row.unit or "") != "Hrs":
            skip(f"unit {row.unit} (not instance- or node-hours: not modelled yet)", usage_type)
            continue
        parsed = parse_database_usage_type(usage_type)
        if not isinstance(parsed, DatabaseUsageType):
            skip(f"usage type not read: {parsed.reason}", usage_type)
            continue
        if parsed.service != service:
            skip(f"{parsed.usage_kind} usage under {service}", usage_type)
            continue
        operation = str(row.operation or "")
        platform = platforms.get((service, operation))
        if platform is None:
            skip(
                "engine not named by the offer file: import the "
                f"{service} Price List offer in the same command to read operation codes",
                operation or "(no operation)",
            )
            continue
        hint = str(row.instance_type_hint or "").strip()
        rows.append((parsed.region, hint or parsed.instance_class, platform, parsed.deployment))
        kept.append(position)
    notes = count_notes(counts, "Database Savings Plans rate(s)", examples)
    raw = raw.iloc[kept].reset_index(drop=True)
    table = pd.DataFrame(rows, columns=list(KEY_COLUMNS))
    if table.empty:
        return _empty(), notes
    require_values(raw, source)
    require_equal(raw, "currency", "USD", source, "commitopt prices in USD only")
    plans = map_distinct(raw, "plan_family", parse_savings_plan_type, source)
    other_plan = plans.ne(DATABASE_PLAN_TYPE).to_numpy()
    if other_plan.any():
        raise source.error(
            raw.loc[other_plan].iloc[0], "plan_family", "not a Database Savings Plan rate"
        )
    table["plan_type"] = DATABASE_PLAN_TYPE
    table["term_years"] = map_distinct(raw, "term", parse_term_years, source).astype("int64")
    table["payment_option"] = map_distinct(raw, "payment", parse_payment_option, source)
    table["sp_hourly_usd"] = parse_rates(raw, source)
    plan_key = [*KEY_COLUMNS, *SAVINGS_PLAN_COLUMNS]
    table = table.drop_duplicates()
    clash = table.duplicated(plan_key, keep=False).to_numpy()
    if clash.any():
        first = table.loc[clash].iloc[0]
        raise PriceFileError(
            source.where,
            f"two different rates for {' '.join(str(first[c]) for c in plan_key)}",
            "import each offer file once, and do not mix files of different versions",
        )
    return table.sort_values(plan_key).reset_index(drop=True), notes


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=[*KEY_COLUMNS, *SAVINGS_PLAN_COLUMNS, "sp_hourly_usd"])


def operation_platforms(path: str | Path) -> tuple[dict[tuple[str, str], str], list[str]]:
    """The platform of each operation code, read from an RDS or ElastiCache Price List offer.

    Each instance or node product of the offer (CSV or JSON, gzip or not) names its
    ``operation`` (``CreateDBInstance:0016``), engine, edition and licence model; a code whose
    products map to one platform (:func:`pricing.readers.database_platforms.price_platform`) is
    kept, one whose products map to several is left out and noted.

    Returns
    -------
    platforms : dict
        ``(service code, operation)`` -> platform.
    notes : list of str
        Codes left out and why.

    Raises
    ------
    PriceFileError
        An unreadable file, or an offer that is not AmazonRDS or AmazonElastiCache.
    """
    sniffed = sniff(path)
    text = sniffed.head_text.lstrip()
    products = _json_products(sniffed) if text.startswith("{") else _csv_products(sniffed)
    found: dict[tuple[str, str], set[str]] = {}
    for service, operation, engine, edition, licence in products:
        if service not in DATABASE_SERVICE_CODES or not operation:
            continue
        platform, _ = price_platform(service, engine, edition, licence)
        if platform is not None:
            found.setdefault((service, operation), set()).add(platform)
    platforms = {key: next(iter(values)) for key, values in found.items() if len(values) == 1}
    ambiguous = sorted(f"{s} {o}" for (s, o), values in found.items() if len(values) > 1)
    notes = (
        [f"operation codes naming several engines, not used: {', '.join(ambiguous[:3])}"]
        if ambiguous
        else []
    )
    return platforms, notes


def _csv_products(sniffed: Any) -> list[tuple[str, str, str, str, str]]:
    lines = sniffed.head_text.splitlines()
    offer = next(
        (line.split(",", 1)[1].strip('" ') for line in lines[:6] if "OfferCode" in line), ""
    )
    if offer not in DATABASE_SERVICE_CODES:
        raise PriceFileError(
            sniffed.path,
            f"OfferCode {offer!r}: operation codes are read from AmazonRDS or AmazonElastiCache",
            "pass the AmazonRDS or AmazonElastiCache offer file",
        )
    header = (
        next((line for line in lines[:8] if line.startswith(('"SKU"', "SKU,"))), "")
        .replace('"', "")
        .split(",")
    )
    engine, _ = _ENGINE_FIELDS[offer]
    needed = ["operation", engine]
    if any(name not in header for name in needed):
        return []
    edition = [
        quote_identifier(c) if c in header else "''" for c, _ in _EDITION_FIELDS
    ]  # RDS Oracle / SQL Server only
    sql = f"""
        SELECT DISTINCT '{offer}', "operation", {quote_identifier(engine)}, {edition[0]},
               {edition[1]}
        FROM read_csv($path, skip = 5, header = true, all_varchar = true, auto_detect = false,
                      columns = $columns, compression = $compression)
    """
    parameters = {
        "path": str(sniffed.path),
        "columns": dict.fromkeys(header, "VARCHAR"),
        "compression": "gzip" if sniffed.compressed == "gzip" else "none",
    }
    with price_connection() as connection:
        try:
            rows = connection.execute(sql, parameters).fetchall()
        except duckdb.Error as error:
            raise PriceFileError(
                sniffed.path, f"cannot parse the CSV ({str(error).splitlines()[0]})"
            ) from error
    return [tuple(str(value or "") for value in row) for row in rows]  # type: ignore[misc]


def _json_products(sniffed: Any) -> list[tuple[str, str, str, str, str]]:
    rows: set[tuple[str, str, str, str, str]] = set()
    offer = ""
    with open_json(sniffed, fix="download the price file again") as stream:
        for key in stream.members():
            if key == "offerCode":
                offer = str(stream.value())
            elif key == "products" and offer in DATABASE_SERVICE_CODES:
                _, engine = _ENGINE_FIELDS[offer]
                for _sku in stream.members():
                    product = stream.value()
                    attributes = product.get("attributes") if isinstance(product, dict) else None
                    if not isinstance(attributes, dict):
                        continue
                    rows.add(
                        (
                            offer,
                            str(attributes.get("operation", "")),
                            str(attributes.get(engine, "")),
                            str(attributes.get(_EDITION_FIELDS[0][1], "")),
                            str(attributes.get(_EDITION_FIELDS[1][1], "")),
                        )
                    )
            else:
                stream.skip()
    if offer not in DATABASE_SERVICE_CODES:
        raise PriceFileError(
            sniffed.path,
            f"offerCode {offer!r}: operation codes are read from AmazonRDS or AmazonElastiCache "
            "(offerCode must come before products)",
            "pass the AmazonRDS or AmazonElastiCache offer file",
        )
    return sorted(rows)


__all__ = [
    "DATABASE_SERVICE_CODES",
    "OperationPlatforms",
    "database_offer_table",
    "operation_platforms",
]
