"""Database instance-hours from a legacy CUR: the hourly database usage table, with DuckDB.

:func:`read_database_usage` reads RDS / Aurora instance-hours and ElastiCache node-hours from legacy
CUR files (Parquet, CSV, CSV.gz; slash names ``lineItem/UsageType`` or underscore names
``line_item_usage_type``, as :mod:`usage.readers` reads them) into one long table, one row per hour
and key:

``hour``
    start of the hour, ``datetime64[ns, UTC]``;
``account_id``, ``region``, ``service``, ``engine``, ``license_model``, ``deployment``,
``instance_class``
    the :class:`pricing.databases.DatabaseKey` (strings; ``license_model`` empty for ElastiCache);
``quantity``
    instance- or node-hours used in that hour [h];
``normalized_units``
    ``quantity`` times the class's normalized units, times 2 for Multi-AZ and 3 for a Multi-AZ DB
    cluster [normalized units] (:mod:`pricing.databases`).

Only instance usage is demand: line items of type ``Usage`` and ``DiscountedUsage`` (on-demand and
reservation-covered) whose usage type is ``InstanceUsage:db.…``, ``Multi-AZUsage:db.…``,
``Multi-AZClusterUsage:db.…`` (RDS) or ``NodeUsage:cache.…`` (ElastiCache). Every other row of a
database service (storage, I/O, backup, transfer, reservation fees, services not covered yet,
usage types or engines the vocabulary does not know, rows longer than an hour) is counted by reason
in the :class:`DatabaseUsageReport` returned beside the table, never dropped silently. Rows of
non-database services are not this reader's business and are not counted.

Not wired into the CLI, the optimizer or the billing kernel yet (issue 19).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import duckdb
import numpy as np
import pandas as pd

from pricing.databases import (
    DATABASE_SERVICES,
    ELASTICACHE,
    ELASTICACHE_ENGINES,
    RDS,
    RDS_ENGINES,
    parse_database_usage_types,
)
from pricing.errors import PriceFileError
from pricing.readers.cur_columns import cur_select_sql, describe_files
from usage.demand_sql import sql_string
from usage.errors import UsageInputError
from usage.readers import usage_connection, usage_files

DATABASE_USAGE_COLUMNS: Final = (
    "hour",
    "account_id",
    "region",
    "service",
    "engine",
    "license_model",
    "deployment",
    "instance_class",
    "quantity",
    "normalized_units",
)
"""Columns of the hourly database usage table, in order."""

DEMAND_LINE_ITEM_TYPES: Final = ("Usage", "DiscountedUsage")
"""Line item types that are usage (on-demand, or covered by a reservation)."""

SERVICES_NOT_COVERED_YET: Final[dict[str, str]] = {
    "AmazonES": "OpenSearch",
    "AmazonOpenSearchService": "OpenSearch",
    "AmazonRedshift": "Redshift",
    "AmazonMemoryDB": "MemoryDB",
    "AmazonDocDB": "DocumentDB",
    "AmazonNeptune": "Neptune",
}
"""Reservable database services whose rows are counted as not covered yet, by product code."""

_REQUIRED: Final = (
    "line_item_line_item_type",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_usage_start_date",
    "line_item_usage_amount",
)
_OPTIONAL: Final = (
    "line_item_usage_end_date",
    "line_item_usage_account_id",
    "product_database_engine",
    "product_license_model",
    "product_cache_engine",
)
_NATIVE: Final = (
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "line_item_usage_amount",
)
_WHAT: Final = "legacy Cost and Usage Report (Parquet, CSV or CSV.gz)"
_SLASH_NAMES: Final = {
    "line_item_line_item_type": "lineItem/LineItemType",
    "line_item_product_code": "lineItem/ProductCode",
    "line_item_usage_type": "lineItem/UsageType",
    "line_item_usage_start_date": "lineItem/UsageStartDate",
    "line_item_usage_amount": "lineItem/UsageAmount",
}
"""The slash spelling of each required column, for the missing-column message."""
_EXAMPLES: Final = 3


@dataclass(frozen=True, slots=True)
class DatabaseExclusion:
    """Database line items left out of the demand for one reason.

    Attributes
    ----------
    reason
        Why, e.g. ``"not database instance usage (storage, I/O, backup, transfer, ...)"``.
    line_items
        Rows excluded.
    quantity
        Their summed usage amount [the line items' own units: hours, GB-months, requests, ...].
    examples
        Up to three of their distinct usage types, most rows first.
    """

    reason: str
    line_items: int
    quantity: float
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DatabaseUsageReport:
    """What :func:`read_database_usage` read, kept and excluded.

    Attributes
    ----------
    files
        The files read.
    line_items
        Rows of the database services (:data:`pricing.databases.DATABASE_SERVICES` and
        :data:`SERVICES_NOT_COVERED_YET`) read.
    kept_line_items, kept_quantity
        Rows that became demand, and their instance-hours [h].
    exclusions
        The other rows by reason, most rows first.
    """

    files: tuple[str, ...]
    line_items: int
    kept_line_items: int
    kept_quantity: float
    exclusions: tuple[DatabaseExclusion, ...]

    def excluded(self, reason: str) -> DatabaseExclusion:
        """The exclusion for ``reason`` (zero rows when nothing was excluded for it)."""
        for exclusion in self.exclusions:
            if exclusion.reason == reason:
                return exclusion
        return DatabaseExclusion(reason, 0, 0.0, ())


def _grouped_sql(select: str) -> str:
    """Database rows of ``select`` grouped by everything the mapping needs (few rows per hour)."""
    codes = ", ".join(sql_string(code) for code in (*DATABASE_SERVICES, *SERVICES_NOT_COVERED_YET))
    return f"""
        WITH source AS ({select})
        SELECT
            line_item_line_item_type AS line_item_type,
            line_item_product_code AS product_code,
            line_item_usage_type AS usage_type,
            COALESCE(line_item_usage_account_id, '') AS account_id,
            date_trunc('hour', CAST(line_item_usage_start_date AS TIMESTAMPTZ)) AS hour,
            COALESCE(
                CAST(line_item_usage_end_date AS TIMESTAMPTZ)
                    - CAST(line_item_usage_start_date AS TIMESTAMPTZ) > INTERVAL 1 HOUR,
                false
            ) AS longer_than_an_hour,
            TRIM(COALESCE(product_database_engine, '')) AS database_engine,
            TRIM(COALESCE(product_license_model, '')) AS license_model,
            TRIM(COALESCE(product_cache_engine, '')) AS cache_engine,
            COUNT(*) AS line_items,
            SUM(CAST(line_item_usage_amount AS DOUBLE)) AS quantity
        FROM source
        WHERE line_item_product_code IN ({codes})
        GROUP BY ALL
    """


def _reasons(grouped: pd.DataFrame, parsed: pd.DataFrame, engine: pd.Series) -> pd.Series:
    """Why each grouped row is not demand (``<NA>`` where it is); the first reason that applies."""
    line_item_type = grouped["line_item_type"].astype("string").fillna("")
    product_code = grouped["product_code"].astype("string").fillna("")
    service_name = product_code.map(SERVICES_NOT_COVERED_YET).astype("string")
    candidates = [
        (
            ~line_item_type.isin(DEMAND_LINE_ITEM_TYPES),
            "line item type " + line_item_type + " (not usage: fees, credits, taxes, ...)",
        ),
        (service_name.notna(), service_name.fillna("") + " is not covered yet"),
        (parsed["reason"].notna(), parsed["reason"].fillna("")),
        (
            parsed["service"].fillna("") != product_code,
            parsed["usage_kind"].fillna("") + " usage of " + product_code + " is not covered yet",
        ),
        (
            engine.isna(),
            "unknown engine '"
            + grouped["engine_value"].astype("string").fillna("")
            + "' of "
            + product_code,
        ),
        (
            grouped["longer_than_an_hour"].astype(bool),
            pd.Series("not hourly (daily or monthly line items are not read yet)", grouped.index),
        ),
    ]
    reason = pd.Series(pd.NA, index=grouped.index, dtype="string")
    for applies, text in reversed(candidates):  # the first listed wins
        reason = reason.mask(applies.to_numpy(dtype=bool), text.astype("string"))
    return reason


def _engines(grouped: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The CUR engine value of each row (RDS or ElastiCache column) and its mapped name."""
    is_cache = grouped["product_code"].eq(ELASTICACHE).to_numpy()
    value = pd.Series(
        np.where(is_cache, grouped["cache_engine"], grouped["database_engine"]),
        index=grouped.index,
        dtype="string",
    )
    lowered = value.str.lower()
    mapped = pd.Series(
        np.where(is_cache, lowered.map(ELASTICACHE_ENGINES), lowered.map(RDS_ENGINES)),
        index=grouped.index,
    ).astype("string")
    return value, mapped


def _exclusions(grouped: pd.DataFrame, reason: pd.Series) -> tuple[DatabaseExclusion, ...]:
    """The excluded rows summed by reason, most rows first, with example usage types."""
    excluded = grouped.assign(reason=reason)[reason.notna().to_numpy()]
    if excluded.empty:
        return ()
    by_type = (
        excluded.groupby(["reason", "usage_type"], dropna=False)["line_items"]
        .sum()
        .reset_index()
        .sort_values(["reason", "line_items", "usage_type"], ascending=[True, False, True])
    )
    examples: dict[str, tuple[str, ...]] = {}
    for name, usage_type in zip(by_type["reason"], by_type["usage_type"], strict=True):
        known = examples.setdefault(str(name), ())
        if len(known) < _EXAMPLES:
            examples[str(name)] = (*known, str(usage_type))
    totals = excluded.groupby("reason").agg(
        line_items=("line_items", "sum"), quantity=("quantity", "sum")
    )
    totals = totals.sort_values("line_items", ascending=False, kind="stable")
    return tuple(
        DatabaseExclusion(str(name), int(row.line_items), float(row.quantity), examples[str(name)])
        for name, row in totals.iterrows()
    )


def database_usage_table(grouped: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Map grouped CUR rows (the columns of ``_grouped_sql``) to the hourly table.

    Returns
    -------
    (pandas.DataFrame, pandas.Series)
        The table (:data:`DATABASE_USAGE_COLUMNS`, sorted by hour and key) and each grouped row's
        exclusion reason (``<NA>`` for the rows kept).
    """
    parsed = parse_database_usage_types(grouped["usage_type"])
    engine_value, engine = _engines(grouped)
    reason = _reasons(grouped.assign(engine_value=engine_value), parsed, engine)
    kept = reason.isna().to_numpy()
    is_rds = grouped["product_code"].eq(RDS).to_numpy()
    rows = pd.DataFrame(
        {
            "hour": grouped["hour"],
            "account_id": grouped["account_id"].astype("string"),
            "region": parsed["region"],
            "service": parsed["service"],
            "engine": engine,
            "license_model": pd.Series(
                np.where(is_rds, grouped["license_model"], ""), index=grouped.index
            ).astype("string"),
            "deployment": parsed["deployment"],
            "instance_class": parsed["instance_class"],
            "quantity": grouped["quantity"].astype("float64"),
            "normalized_units": grouped["quantity"].astype("float64") * parsed["units_per_hour"],
        }
    )[kept]
    keys = [c for c in DATABASE_USAGE_COLUMNS if c not in ("quantity", "normalized_units")]
    table = rows.groupby(keys, sort=True, observed=True)[["quantity", "normalized_units"]].sum()
    table = table.reset_index()[list(DATABASE_USAGE_COLUMNS)]
    table["hour"] = pd.to_datetime(table["hour"], utc=True).astype("datetime64[ns, UTC]")
    return table, reason


def read_database_usage(
    paths: Sequence[str | Path] | str | Path,
) -> tuple[pd.DataFrame, DatabaseUsageReport]:
    """Read database instance- and node-hours from legacy CUR files.

    Parameters
    ----------
    paths
        CUR files (Parquet, CSV, CSV.gz), folders or globs, in either column spelling.

    Returns
    -------
    (pandas.DataFrame, DatabaseUsageReport)
        The hourly database usage table (module docstring) and what was read, kept and excluded.

    Raises
    ------
    UsageInputError
        A file that is missing or cannot be read, or that lacks a needed column (named, with its
        slash spelling).
    """
    files = usage_files(paths)
    with usage_connection() as connection:
        try:
            select = cur_select_sql(
                connection,
                files,
                required=_REQUIRED,
                optional=_OPTIONAL,
                native=_NATIVE,
                what=_WHAT,
            )
        except PriceFileError as error:
            slash = [
                s for u, s in _SLASH_NAMES.items() if f" {u}" in error.problem.split(" (found")[0]
            ]
            spelled = f" (slash spelling: {', '.join(slash)})" if slash else ""
            raise UsageInputError(error.path, error.problem + spelled, error.fix) from error
        try:
            grouped = connection.sql(_grouped_sql(select)).to_arrow_table().to_pandas()
        except duckdb.Error as error:  # a value that does not cast
            raise UsageInputError(
                describe_files(files),
                f"cannot be read as {_WHAT} ({str(error).strip().splitlines()[0]})",
                "pass unmodified CUR files",
            ) from error
    table, reason = database_usage_table(grouped)
    kept = reason.isna().to_numpy()
    report = DatabaseUsageReport(
        files=tuple(str(file) for file in files),
        line_items=int(grouped["line_items"].sum()),
        kept_line_items=int(grouped["line_items"][kept].sum()),
        kept_quantity=float(grouped["quantity"][kept].sum()),
        exclusions=_exclusions(grouped, reason),
    )
    return table, report
