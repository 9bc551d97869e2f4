"""A Cost and Usage Report's own pricing columns, read as a price catalog.

A CUR bills every EC2 instance-hour with the public on-demand rate of its key
(``pricing_public_on_demand_rate``), every Reserved Instance with a monthly ``RIFee`` line
(upfront value, number of RIs, hourly fee, start and end) and every Savings Plans-covered hour with
the plan's rate for that key (``savings_plan_savings_plan_rate``). These are the prices the user
actually pays, so a catalog read from them ranks first when catalogs are merged.

Supported layouts, all through DuckDB SQL (several files and globs at once): legacy CUR CSV /
CSV.gz with slash names (``lineItem/UsageType``), legacy CUR Parquet or Athena tables with snake
names and CUR 2.0 Parquet / CSV. Files are found and their column names normalised by
:mod:`pricing.readers.cur_columns`, so ``lineItem/UsageType`` and ``line_item_usage_type`` are the
same column.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Final

import duckdb
import numpy as np
import pandas as pd

from core.errors import CommitoptInputError
from pricing.catalog import KEY_COLUMNS, CatalogMetadata, PriceCatalog
from pricing.errors import PriceFileError
from pricing.offerings import (
    parse_payment_option,
    parse_savings_plan_type,
    parse_term_years,
)
from pricing.readers.cur_columns import (
    CUR_WHAT,
    cur_files,
    cur_select_sql,
    cur_source,
    describe_files,
    normalise_column_name,
    not_a_cur,
    require_usd,
)
from pricing.usage_types import keys_from_usage_types

REQUIRED_COLUMNS: Final = (
    "line_item_line_item_type",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_usage_start_date",
    "pricing_public_on_demand_rate",
)
"""Normalised names a file must have to be read as a CUR."""

OPTIONAL_COLUMNS: Final = (
    "bill_billing_period_end_date",
    "line_item_usage_end_date",
    "line_item_currency_code",
    "line_item_unblended_rate",
    "pricing_purchase_option",
    "pricing_lease_contract_length",
    "pricing_offering_class",
    "reservation_reservation_a_r_n",
    "reservation_upfront_value",
    "reservation_number_of_reservations",
    "reservation_start_time",
    "reservation_end_time",
    "savings_plan_savings_plan_a_r_n",
    "savings_plan_savings_plan_rate",
    "savings_plan_offering_type",
    "savings_plan_purchase_term",
    "savings_plan_payment_option",
)
"""Columns used when present (RIs, Savings Plans, as-of date, currency)."""

RI_COLUMNS: Final = (
    "reservation_reservation_a_r_n",
    "reservation_upfront_value",
    "reservation_number_of_reservations",
    "reservation_start_time",
    "reservation_end_time",
    "line_item_unblended_rate",
)
SP_COLUMNS: Final = (
    "savings_plan_savings_plan_a_r_n",
    "savings_plan_savings_plan_rate",
    "savings_plan_offering_type",
    "savings_plan_purchase_term",
    "savings_plan_payment_option",
)

INSTANCE_USAGE_LINE_TYPES: Final = ("Usage", "DiscountedUsage", "SavingsPlanCoveredUsage")
"""Line item types whose rows are EC2 instance usage (billed on-demand, by an RI or by an SP)."""

_INSTANCE_USAGE_SQL: Final = (
    r"regexp_matches(usage_type, '^([A-Z]{2,4}[0-9]?-)?(BoxUsage|DedicatedUsage):')"
)
_RI_FEE_SQL: Final = (
    r"regexp_matches(usage_type, '^([A-Z]{2,4}[0-9]?-)?[A-Za-z]*HeavyUsage[A-Za-z]*:')"
)
_TERM_DAYS: Final = {1: 365.0, 3: 1095.0}
_TERM_DAYS_SLACK: Final = 2.0
_MAX_NOTED: Final = 3


# ---------------------------------------------------------------------------------- typed view


def _present_columns(connection: duckdb.DuckDBPyConnection) -> set[str]:
    """Optional columns holding at least one value."""
    counts = connection.execute(
        "SELECT "
        + ", ".join(f"count({column}) AS {column}" for column in OPTIONAL_COLUMNS)
        + " FROM raw"
    ).fetchall()[0]
    return {column for column, count in zip(OPTIONAL_COLUMNS, counts, strict=True) if count}


def _timestamp(column: str) -> str:
    return f"(try_cast({column} AS TIMESTAMPTZ) AT TIME ZONE 'UTC')"


_TYPED_VIEW: Final = f"""
CREATE TEMP VIEW cur AS SELECT
    file,
    trim(line_item_line_item_type) AS line_type,
    trim(line_item_product_code) AS product_code,
    trim(line_item_usage_type) AS usage_type,
    trim(line_item_operation) AS operation,
    upper(trim(line_item_currency_code)) AS currency,
    {_timestamp("line_item_usage_start_date")} AS usage_start,
    {_timestamp("line_item_usage_end_date")} AS usage_end,
    {_timestamp("bill_billing_period_end_date")} AS billing_end,
    try_cast(pricing_public_on_demand_rate AS DOUBLE) AS public_rate,
    try_cast(line_item_unblended_rate AS DOUBLE) AS unblended_rate,
    nullif(trim(pricing_purchase_option), '') AS purchase_option,
    nullif(trim(pricing_lease_contract_length), '') AS lease_length,
    nullif(lower(trim(pricing_offering_class)), '') AS offering_class,
    nullif(trim(reservation_reservation_a_r_n), '') AS ri_arn,
    try_cast(reservation_upfront_value AS DOUBLE) AS upfront_value,
    try_cast(reservation_number_of_reservations AS DOUBLE) AS reservations,
    {_timestamp("reservation_start_time")} AS ri_start,
    {_timestamp("reservation_end_time")} AS ri_end,
    nullif(trim(savings_plan_savings_plan_a_r_n), '') AS sp_arn,
    try_cast(savings_plan_savings_plan_rate AS DOUBLE) AS sp_rate,
    nullif(trim(savings_plan_offering_type), '') AS sp_offering_type,
    nullif(trim(savings_plan_purchase_term), '') AS sp_term,
    nullif(trim(savings_plan_payment_option), '') AS sp_payment
FROM raw
"""


# ---------------------------------------------------------------------------------- extraction


def _describe_keys(frame: pd.DataFrame, mask: pd.Series) -> str:
    rows = frame.loc[mask, list(KEY_COLUMNS)].drop_duplicates()
    text = "; ".join(
        " ".join(map(str, row)) for row in rows.head(_MAX_NOTED).itertuples(index=False)
    )
    more = len(rows) - _MAX_NOTED
    return text + (f" and {more} more" if more > 0 else "")


def _source(files: pd.Series) -> pd.Series:
    return "CUR " + files.astype("string").str.extract(r"([^/\\]+)$", expand=False)


def _on_demand(connection: duckdb.DuckDBPyConnection, notes: list[str]) -> pd.DataFrame:
    """Public on-demand rate per key: the most recent row's, noting keys whose rate varies."""
    grouped = connection.sql(
        f"""
        SELECT usage_type, operation,
               max(usage_start) AS latest_start,
               arg_max(public_rate, usage_start) AS rate,
               arg_max(file, usage_start) AS file,
               min(public_rate) AS low, max(public_rate) AS high
        FROM cur
        WHERE product_code = 'AmazonEC2' AND line_type IN {INSTANCE_USAGE_LINE_TYPES}
          AND {_INSTANCE_USAGE_SQL} AND public_rate > 0
        GROUP BY usage_type, operation
        ORDER BY usage_type, operation
        """
    ).df()
    keys = keys_from_usage_types(grouped["usage_type"], grouped["operation"])
    frame = pd.concat(
        [keys[list(KEY_COLUMNS)], grouped.drop(columns=["usage_type", "operation"])], axis=1
    )
    unmapped = frame["platform"].isna() | frame["region"].isna()
    if unmapped.any():
        pairs = grouped.loc[unmapped, ["usage_type", "operation"]].astype(str).agg(" ".join, axis=1)
        notes.append(
            f"on-demand: skipped {int(unmapped.sum())} usage type / operation pair(s) that map to "
            f"no known region or platform: {', '.join(pairs.head(_MAX_NOTED))}"
        )
    frame = frame.loc[~unmapped].sort_values("latest_start", kind="stable")
    spread = frame.groupby(list(KEY_COLUMNS), sort=False).agg(
        low=("low", "min"), high=("high", "max")
    )
    frame = frame.drop_duplicates(list(KEY_COLUMNS), keep="last").reset_index(drop=True)
    spread = spread.reindex(pd.MultiIndex.from_frame(frame[list(KEY_COLUMNS)]))
    varies = pd.Series(spread["high"].to_numpy() > spread["low"].to_numpy(), index=frame.index)
    if varies.any():
        example = frame.loc[varies].iloc[0]
        example_spread = spread.iloc[int(np.flatnonzero(varies.to_numpy())[0])]
        notes.append(
            f"on-demand: {int(varies.sum())} key(s) show several public rates in the CUR "
            f"({_describe_keys(frame, varies)}; e.g. {example_spread['low']:g}–"
            f"{example_spread['high']:g} USD/h); kept the most recent row's rate "
            f"({example['rate']:g} for the first)"
        )
    table = pd.DataFrame(
        {
            **{column: frame[column] for column in KEY_COLUMNS},
            "on_demand_usd_per_hour": frame["rate"].astype("float64"),
            "source": _source(frame["file"]),
        }
    )
    return table.sort_values(list(KEY_COLUMNS)).reset_index(drop=True)


def _keep_latest(
    frame: pd.DataFrame,
    key: list[str],
    order: str,
    *,
    several: pd.Series,
    note: str,
    notes: list[str],
) -> pd.DataFrame:
    """Keep the row of each ``key`` that is last in ``order``, noting keys with several values.

    Parameters
    ----------
    frame
        Rows, several per key possible.
    key
        Columns naming one price (key and offering or plan).
    order
        Column whose latest value wins (a start time).
    several
        Boolean, indexed by ``key`` values: the keys seen at several prices.
    note
        Appended to ``notes`` when ``several`` flags any key, with ``{count}`` (how many) and
        ``{keys}`` (the first few) filled in.
    notes
        Notes of the read, appended to.
    """
    if several.any():
        described = "; ".join(
            " ".join(map(str, value)) for value in several.index[several][:_MAX_NOTED]
        )
        notes.append(note.format(count=int(several.sum()), keys=described))
    return frame.sort_values(order, kind="stable").drop_duplicates(key, keep="last")


def parse_each(values: pd.Series, parser: object) -> pd.Series:
    """Apply a scalar parser to each distinct non-null value; unparseable values become <NA>."""
    assert callable(parser)
    mapping: dict[str, object] = {}
    for value in values.dropna().unique():
        try:
            mapping[value] = parser(value)
        except CommitoptInputError:
            mapping[value] = pd.NA
    return values.map(mapping)


def _reserved(connection: duckdb.DuckDBPyConnection, notes: list[str]) -> pd.DataFrame:
    """One row per RI offering and key from the RIFee lines (latest RI when prices differ)."""
    fees = connection.sql(
        f"""
        WITH fees AS (
            SELECT coalesce(ri_arn, usage_type || '|' || operation || '|'
                            || coalesce(CAST(ri_start AS VARCHAR), '')) AS ri_id,
                   ri_arn, usage_type, operation, file, upfront_value, reservations,
                   unblended_rate AS recurring, ri_start, ri_end
            FROM cur
            WHERE line_type = 'RIFee' AND product_code = 'AmazonEC2' AND {_RI_FEE_SQL}
            QUALIFY row_number() OVER (PARTITION BY ri_id ORDER BY usage_start DESC NULLS LAST) = 1
        ), applied AS (
            SELECT ri_arn,
                   max(purchase_option) AS purchase_option,
                   max(lease_length) AS lease_length,
                   max(offering_class) AS offering_class,
                   bool_or(regexp_matches(usage_type, 'DedicatedUsage:')) AS dedicated_usage
            FROM cur
            WHERE line_type = 'DiscountedUsage' AND ri_arn IS NOT NULL
            GROUP BY ri_arn
        )
        SELECT fees.*, applied.purchase_option, applied.lease_length, applied.offering_class,
               coalesce(applied.dedicated_usage, false) AS dedicated_usage
        FROM fees LEFT JOIN applied ON fees.ri_arn = applied.ri_arn
        ORDER BY ri_start, ri_id
        """
    ).df()
    if fees.empty:
        return pd.DataFrame()
    dedicated = fees["usage_type"].str.contains("Dedicated", case=False) | fees["dedicated_usage"]
    usage_kind = np.where(dedicated, "DedicatedUsage:", "BoxUsage:")
    as_usage = pd.Series(
        [
            re.sub(r"[A-Za-z]*HeavyUsage[A-Za-z]*:", kind, text)
            for text, kind in zip(fees["usage_type"], usage_kind, strict=True)
        ],
        dtype="string",
    )
    keys = keys_from_usage_types(as_usage, fees["operation"])

    reservations = fees["reservations"].where(fees["reservations"] > 0)
    if reservations.isna().any():
        notes.append(
            f"reserved: {int(reservations.isna().sum())} RI fee line(s) without "
            "reservation_number_of_reservations; counted as 1 RI each"
        )
        reservations = reservations.fillna(1.0)
    recurring = fees["recurring"].astype("float64")
    upfront = fees["upfront_value"].astype("float64") / reservations

    stated_payment = parse_each(fees["purchase_option"], parse_payment_option)
    derived_payment = pd.Series(
        np.select(
            [(upfront > 0) & (recurring > 0), (upfront > 0) & (recurring == 0)],
            ["Partial Upfront", "All Upfront"],
            "No Upfront",
        ),
        index=fees.index,
    )
    payment = stated_payment.fillna(derived_payment).astype("string")
    upfront = upfront.where(upfront.notna() | payment.ne("No Upfront"), 0.0)

    duration_days = (fees["ri_end"] - fees["ri_start"]).dt.total_seconds() / 86_400.0
    dated_term = pd.Series(np.where(duration_days > 400.0, 3, 1), index=fees.index).where(
        duration_days.notna()
    )
    stated_term = parse_each(fees["lease_length"], parse_term_years)
    term = stated_term.fillna(dated_term)
    odd = stated_term.isna() & duration_days.notna()
    odd &= ~(
        ((duration_days - _TERM_DAYS[1]).abs() <= _TERM_DAYS_SLACK)
        | ((duration_days - _TERM_DAYS[3]).abs() <= _TERM_DAYS_SLACK)
    )
    if odd.any():
        notes.append(
            f"reserved: {int(odd.sum())} RI(s) run neither 1 nor 3 years "
            f"({', '.join(fees.loc[odd, 'ri_id'].head(_MAX_NOTED))}: modified or exchanged?); "
            "term guessed from the duration"
        )
    offering_class = pd.Series(
        np.where(fees["offering_class"].eq("convertible").fillna(False), "convertible", "standard"),
        index=fees.index,
    )
    frame = pd.DataFrame(
        {
            **{column: keys[column] for column in KEY_COLUMNS},
            "offering_class": offering_class,
            "term_years": term,
            "payment_option": payment,
            "upfront_usd": upfront,
            "recurring_usd_per_hour": recurring,
            "ri_start": fees["ri_start"],
            "source": _source(fees["file"]),
        }
    )
    unusable = frame[["region", "platform", "term_years", "upfront_usd", "recurring_usd_per_hour"]]
    bad = unusable.isna().any(axis=1)
    if bad.any():
        notes.append(
            f"reserved: skipped {int(bad.sum())} RI(s) with an unknown key, term or price: "
            f"{', '.join(fees.loc[bad, 'ri_id'].head(_MAX_NOTED))}"
        )
        frame = frame.loc[~bad]
    frame = frame.astype({"term_years": "int64"})
    offering_key = [*KEY_COLUMNS, "offering_class", "term_years", "payment_option"]
    prices = frame.groupby(offering_key)[["upfront_usd", "recurring_usd_per_hour"]].nunique()
    frame = _keep_latest(
        frame,
        offering_key,
        "ri_start",
        several=prices.max(axis=1) > 1,
        note="reserved: {count} offering(s) owned at several prices (bought at different "
        "times: {keys}); kept the price of the latest-starting RI",
        notes=notes,
    )
    return frame.drop(columns="ri_start").sort_values(offering_key).reset_index(drop=True)


def _savings_plans(
    connection: duckdb.DuckDBPyConnection, present: set[str], notes: list[str]
) -> pd.DataFrame:
    """Savings Plans rate per key and plan from the SavingsPlanCoveredUsage lines."""
    if not {"savings_plan_savings_plan_a_r_n", "savings_plan_savings_plan_rate"} <= present:
        return pd.DataFrame()
    grouped = connection.sql(
        f"""
        WITH plans AS (
            SELECT sp_arn, max(sp_offering_type) AS offering_type, max(sp_term) AS term,
                   max(sp_payment) AS payment
            FROM cur WHERE sp_arn IS NOT NULL GROUP BY sp_arn
        )
        SELECT usage_type, operation, plans.offering_type, plans.term, plans.payment,
               max(usage_start) AS latest_start,
               arg_max(sp_rate, usage_start) AS rate,
               arg_max(file, usage_start) AS file,
               min(sp_rate) AS low, max(sp_rate) AS high
        FROM cur JOIN plans ON cur.sp_arn = plans.sp_arn
        WHERE line_type = 'SavingsPlanCoveredUsage' AND product_code = 'AmazonEC2'
          AND {_INSTANCE_USAGE_SQL} AND sp_rate > 0
        GROUP BY ALL
        ORDER BY 1, 2, 3, 4, 5
        """
    ).df()
    if grouped.empty:
        return pd.DataFrame()
    keys = keys_from_usage_types(grouped["usage_type"], grouped["operation"])
    frame = pd.concat(
        [
            keys[list(KEY_COLUMNS)],
            pd.DataFrame(
                {
                    "plan_type": parse_each(grouped["offering_type"], parse_savings_plan_type),
                    "term_years": parse_each(grouped["term"], parse_term_years),
                    "payment_option": parse_each(grouped["payment"], parse_payment_option),
                }
            ),
            grouped[["latest_start", "rate", "file", "low", "high"]],
        ],
        axis=1,
    )
    bad = frame[[*KEY_COLUMNS, "plan_type", "term_years", "payment_option"]].isna().any(axis=1)
    if bad.any():
        notes.append(
            f"savings plans: skipped {int(bad.sum())} usage type / plan group(s) without a known "
            "key, plan type (savings_plan_offering_type), term (savings_plan_purchase_term) or "
            "payment option (savings_plan_payment_option)"
        )
        frame = frame.loc[~bad]
    frame = frame.astype({"term_years": "int64"})
    plan_key = [*KEY_COLUMNS, "plan_type", "term_years", "payment_option"]
    spread = frame.groupby(plan_key)[["low", "high"]].agg({"low": "min", "high": "max"})
    frame = _keep_latest(
        frame,
        plan_key,
        "latest_start",
        several=spread["high"] > spread["low"],
        note="savings plans: {count} key(s) billed at several rates by one plan type ({keys}); "
        "kept the most recent row's rate",
        notes=notes,
    )
    table = pd.DataFrame(
        {
            **{column: frame[column] for column in plan_key},
            "sp_hourly_usd": frame["rate"].astype("float64"),
            "source": _source(frame["file"]),
        }
    )
    return table.sort_values(plan_key).reset_index(drop=True)


# ---------------------------------------------------------------------------------- entry point


def read_cur_rates(paths: Sequence[str | Path]) -> PriceCatalog:
    """Read the prices billed in one or more CUR files as a :class:`PriceCatalog`.

    Parameters
    ----------
    paths
        CUR files (Parquet, CSV, CSV.gz), folders of them, or glob patterns; legacy (slash or
        Athena column names) and CUR 2.0 layouts, mixed freely.

    Returns
    -------
    PriceCatalog
        ``on_demand``: the public on-demand rate [USD/h] of every EC2 instance key billed
        (BoxUsage / DedicatedUsage rows of type Usage, DiscountedUsage or
        SavingsPlanCoveredUsage), the most recent row's where a key shows several.

        ``reserved``: one row per key and offering from the RIFee lines. Upfront per RI [USD] =
        ``reservation_upfront_value`` ÷ ``reservation_number_of_reservations``; recurring
        [USD/h] = the fee's unblended rate; term, payment option and offering class from the
        RI's DiscountedUsage rows where present, else from its start / end and prices.

        ``savings_plans``: ``savings_plan_savings_plan_rate`` [USD/h] per key and plan, when
        the CUR has Savings Plans columns.

        Each row's ``source`` is ``"CUR <file>"``; ``metadata.as_of`` is the (latest) billing
        period end; ``metadata.notes`` lists what was skipped or chosen.

    Raises
    ------
    PriceFileError
        A file that is missing, empty, HTML, a truncated gzip, not a CUR (the needed and the found
        columns are named), billed in another currency than USD, or without EC2 instance rows.
    """
    files = cur_files(paths)
    where = describe_files(files)
    connection = duckdb.connect(":memory:")
    try:
        connection.execute("SET TimeZone = 'UTC'")
        select = cur_select_sql(
            connection,
            files,
            required=REQUIRED_COLUMNS,
            optional=OPTIONAL_COLUMNS,
            what=CUR_WHAT,
        )
        try:
            connection.execute("CREATE TEMP VIEW raw AS " + select)
            connection.execute(_TYPED_VIEW)
            return _catalog(connection, files, where)
        except duckdb.Error as error:
            raise not_a_cur(where, error) from error
    finally:
        connection.close()


def _catalog(connection: duckdb.DuckDBPyConnection, files: list[Path], where: str) -> PriceCatalog:
    currencies = [
        str(row[0])
        for row in connection.sql(
            "SELECT DISTINCT currency FROM cur WHERE currency IS NOT NULL AND currency <> '' "
            "ORDER BY 1"
        ).fetchall()
    ]
    require_usd(currencies, where)
    counts = connection.execute(
        f"""
        SELECT count(*) FILTER (WHERE line_type IN {INSTANCE_USAGE_LINE_TYPES}
                                AND {_INSTANCE_USAGE_SQL}),
               count(*) FILTER (WHERE line_type = 'RIFee' AND {_RI_FEE_SQL}),
               max(billing_end), max(usage_end), max(usage_start)
        FROM cur WHERE product_code = 'AmazonEC2'
        """
    ).fetchall()[0]
    instance_rows, fee_rows, billing_end, usage_end, usage_start = counts
    if not instance_rows and not fee_rows:
        raise PriceFileError(
            where,
            "no EC2 instance rows (AmazonEC2 BoxUsage / DedicatedUsage usage or RI fees)",
            "pass a CUR that bills EC2 instances, or get prices from the AWS Price List",
        )
    present = _present_columns(connection)
    notes: list[str] = []
    on_demand = _on_demand(connection, notes)
    if fee_rows and not {"reservation_upfront_value", "line_item_unblended_rate"} <= present:
        notes.append(
            "reserved: the CUR has RI fee lines but no reservation_upfront_value / "
            "line_item_unblended_rate column; RI prices skipped"
        )
        reserved = pd.DataFrame()
    else:
        reserved = _reserved(connection, notes) if fee_rows else pd.DataFrame()
    savings_plans = _savings_plans(connection, present, notes)
    end = billing_end or usage_end or usage_start
    as_of = pd.Timestamp(end).date() if end is not None else date.today()
    metadata = CatalogMetadata(source=cur_source(files), as_of=as_of, notes=tuple(notes))
    return PriceCatalog.from_frames(
        metadata,
        on_demand=on_demand,
        reserved=reserved if not reserved.empty else None,
        savings_plans=savings_plans if not savings_plans.empty else None,
    )


__all__ = ["REQUIRED_COLUMNS", "normalise_column_name", "read_cur_rates"]
