"""Usage files -> the canonical hourly usage table, with one engine: DuckDB SQL over the files.

Readers (each returns ``(table, report)``: the canonical table of :mod:`usage.table` and an
:class:`ImportReport`):

* :func:`read_cur` — legacy CUR (slash names ``lineItem/UsageType`` or Athena names
  ``line_item_usage_type``; Parquet, CSV, CSV.gz; files, folders, globs);
* :func:`read_cur2` — CUR 2.0 Data Exports (``line_item_*`` columns, ``product`` map);
* :func:`read_focus` — FOCUS 1.0 to 1.2 exports (AWS rows; see :func:`read_focus`);
* :func:`read_canonical` — the canonical table itself as CSV or Parquet;
* :func:`read_usage` — any of them, the format detected from the first file's columns.

The demand rule and the exclusion reasons are those of :mod:`usage.demand_sql`; the files are
scanned by DuckDB out of core (bounded memory, spilling to a private temporary directory).

Re-delivered CUR (and FOCUS) files
----------------------------------
AWS re-delivers a billing period in full each time it updates it: a new set of files, in a new
folder (assembly id) or over the old ones. A billing period is read from one delivery only:

1. the files of each billing period (``bill_billing_period_start_date``; the month of the usage
   start when the column is absent) are grouped by folder; each folder is one delivery;
2. when a period has several deliveries, the one whose newest file was modified last is kept
   (ties: the folder whose path sorts last) and the others are reported as superseded;
3. within the kept delivery, a file whose line items are identical to an earlier file's (same
   row count, usage and cost sums and first/last usage hour) is a copy and is dropped too.

So reading the same period twice, or an old and a new delivery together, never double-counts.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

import duckdb
import pandas as pd

from core.errors import CommitoptInputError, param
from core.times import to_utc_timestamp
from pricing.compute_keys import INSTANCE_HOURS, quantity_by_unit
from pricing.platforms import PLATFORMS
from pricing.readers.common import ProgressCallback, ragged_row, shorten, show_columns
from pricing.readers.cur_columns import (
    FILE_COLUMN,
    cur_files,
    cur_select_sql,
    describe_files,
    normalise_column_name,
)
from pricing.readers.duckdb_progress import reporting_progress
from pricing.regions import REGION_TO_PREFIX
from usage.demand_sql import (
    INVALID_REASONS,
    KEY_COLUMNS,
    REASONS,
    CurColumns,
    classified_sql,
    sql_string,
)
from usage.errors import UsageInputError
from usage.focus_compute import SKU_METER_USAGE_TYPE, compute_services_table, focus_compute_sql
from usage.focus_databases import FOCUS_DATABASE_HOUR, FOCUS_ENGINES, FOCUS_SERVICE_CODES
from usage.table import USAGE_COLUMNS, spread_daily, validate_usage_table
from usage.text_files import duplicated_header_error, not_text_error

UsageFormat = Literal["cur", "cur2", "focus", "csv", "canonical", "auto"]
PathsArg = Sequence[str | Path] | str | Path

_CUR_REQUIRED: Final = (
    "line_item_line_item_type",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_usage_start_date",
    "line_item_usage_amount",
)
_CUR_OPTIONAL: Final = (
    "line_item_unblended_cost",
    "line_item_usage_account_id",
    "line_item_currency_code",
    "line_item_usage_end_date",
    "bill_billing_period_start_date",
    "product_database_engine",
    "product_cache_engine",
    "product_database_edition",
    "product_license_model",
    "pricing_unit",
)
_CUR_NATIVE: Final = (
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "bill_billing_period_start_date",
    "line_item_usage_amount",
    "line_item_unblended_cost",
)
"""Columns the SQL only ever casts: read in their Parquet type (no text round trip)."""
_FOCUS_REQUIRED: Final = (
    "ChargeCategory",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ConsumedQuantity",
    "ServiceName",
    "ProviderName",
)
_FOCUS_OPTIONAL: Final = (
    "BilledCost",
    "BillingCurrency",
    "BillingPeriodStart",
    "SubAccountId",
    "RegionId",
    "PricingCategory",
    "CommitmentDiscountType",
    "ChargeDescription",
    "ResourceType",
    "x_UsageType",
    "SkuMeter",
    "x_Operation",
    "x_ServiceCode",
    "ConsumedUnit",
)
_CANONICAL_REQUIRED: Final = tuple(c for c in USAGE_COLUMNS if c != "account_id")
_RECOGNISED_FORMATS: Final = (
    f"pass a legacy CUR or CUR 2.0 export (columns {', '.join(_CUR_REQUIRED)}), a FOCUS 1.0-1.2 "
    f"export ({', '.join(_FOCUS_REQUIRED)}) or the canonical usage table "
    f"({', '.join(_CANONICAL_REQUIRED)}; see docs/usage-table.md)"
)
"""The fix of a file of no known format: each format and the columns it needs (naming a format
does not help: the columns decide how a file is read)."""
_CUR_SLASH_NAMES: Final = {
    "line_item_line_item_type": "lineItem/LineItemType",
    "line_item_product_code": "lineItem/ProductCode",
    "line_item_usage_type": "lineItem/UsageType",
    "line_item_operation": "lineItem/Operation",
    "line_item_usage_start_date": "lineItem/UsageStartDate",
    "line_item_usage_amount": "lineItem/UsageAmount",
}
"""The legacy CUR CSV spelling of each needed CUR column."""
_DAY_SECONDS: Final = 86_000


@dataclass(frozen=True, slots=True)
class Exclusion:
    """Line items left out of the demand for one reason (see :data:`usage.demand_sql.REASONS`).

    Attributes
    ----------
    reason
        Short reason, e.g. ``"RI fee"``.
    line_items
        Rows excluded.
    quantity
        Their summed usage amount [the line items' own units].
    cost
        Their summed unblended (or billed) cost [report currency].
    """

    reason: str
    line_items: int
    quantity: float
    cost: float


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import read, kept and excluded.

    Attributes
    ----------
    format
        ``"cur"``, ``"cur2"``, ``"focus"`` or ``"canonical"``.
    files
        Files read (after dropping superseded deliveries).
    superseded_files
        Files skipped as older deliveries or copies of a billing period (module docstring).
    billing_periods
        Billing periods read, ``YYYY-MM``.
    daily
        Whether the source was daily-granular (spread evenly over 24 hours).
    kept_line_items, kept_quantity, kept_cost
        Demand rows, their quantity summed as it is (instance-hours, and for Fargate and
        Lambda keys vCPU-hours or GB-hours) and cost [currency].
    kept_quantity_by_unit
        ``kept_quantity`` split by unit (:func:`pricing.compute_keys.quantity_by_unit`):
        ``(unit, quantity)`` pairs sorted by unit; empty when not known (then all of it counts
        as instance-hours).
    exclusions
        The excluded rows by reason.
    currency
        The source's currency (None when it names none).
    unmapped
        FOCUS only: rows that look like EC2 instance-hours but whose instance type or platform
        could not be determined (also counted in ``exclusions``), with up to 3 examples.
    """

    format: str
    files: tuple[str, ...]
    billing_periods: tuple[str, ...] = ()
    daily: bool = False
    kept_line_items: int = 0
    kept_quantity: float = 0.0
    kept_cost: float = 0.0
    exclusions: tuple[Exclusion, ...] = ()
    currency: str | None = None
    superseded_files: tuple[str, ...] = ()
    unmapped: int = 0
    unmapped_examples: tuple[str, ...] = field(default=())
    kept_quantity_by_unit: tuple[tuple[str, float], ...] = ()

    @property
    def kept_instance_hours(self) -> float:
        """The kept instance-hours alone (EC2, database and SageMaker instances and nodes) [h]."""
        if not self.kept_quantity_by_unit:
            return self.kept_quantity
        return dict(self.kept_quantity_by_unit).get(INSTANCE_HOURS, 0.0)

    def excluded(self, reason: str) -> Exclusion:
        """The exclusion for ``reason`` (zero rows when nothing was excluded for it)."""
        for exclusion in self.exclusions:
            if exclusion.reason == reason:
                return exclusion
        return Exclusion(reason, 0, 0.0, 0.0)

    @property
    def excluded_line_items(self) -> int:
        """Rows excluded for any reason."""
        return sum(e.line_items for e in self.exclusions)


# --------------------------------------------------------------------------------------------
# DuckDB plumbing


@contextmanager
def usage_connection(memory_limit: str = "1GB") -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection in UTC, spilling beyond ``memory_limit`` to a temp dir."""
    with tempfile.TemporaryDirectory(prefix="commitopt-usage-") as spill:
        connection = duckdb.connect()
        try:
            connection.execute("SET TimeZone = 'UTC'")
            connection.execute(f"SET memory_limit = '{memory_limit}'")
            connection.execute("SET preserve_insertion_order = false")
            connection.execute(f"SET temp_directory = '{spill}'")
            yield connection
        finally:
            connection.close()


@contextmanager
def insertion_order_kept(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Within the block, results come in the files' row order, however many threads read them.

    :func:`usage_connection` lets DuckDB return rows in any order (less memory); a reader that
    names rows by their position in a file needs that order back, or a large file, read in
    parallel chunks, names a different row on each run.
    """
    previous = connection.execute("SELECT current_setting('preserve_insertion_order')").fetchall()
    connection.execute("SET preserve_insertion_order = true")
    try:
        yield
    finally:
        connection.execute(f"SET preserve_insertion_order = {bool(previous[0][0])}")


def first_line(error: BaseException) -> str:
    """The first line of an error's message (its type when it has none)."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _run(
    connection: duckdb.DuckDBPyConnection,
    sql: str,
    where: str,
    what: str,
    progress: ProgressCallback | None = None,
    *,
    fetch: bool = True,
) -> pd.DataFrame:
    """Execute ``sql``; a DuckDB failure (corrupt file, bad CSV) becomes a UsageInputError.

    The result comes through Arrow (strings stay Arrow-backed: half the memory of ``.df()``);
    with ``fetch=False`` the statement only runs and an empty frame is returned.
    ``progress`` is called as ``progress(percent, 100)`` while the query runs.
    """
    try:
        with reporting_progress(connection, progress, None):
            if not fetch:
                connection.execute(sql)
                return pd.DataFrame()
            return connection.sql(sql).to_arrow_table().to_pandas()
    except duckdb.Error as error:
        not_text = not_text_error(Path(where)) if what == "CSV" and Path(where).is_file() else None
        raise (
            not_text
            or UsageInputError(
                where,
                f"cannot be read as {what} ({first_line(error)})",
                "pass unmodified, complete files (re-download a truncated or corrupt one)",
            )
        ) from error


def _stage(progress: ProgressCallback | None, index: int, count: int) -> ProgressCallback | None:
    """Map the percentage of query ``index`` (from 0) of ``count`` to a share of the whole read."""
    if progress is None:
        return None
    report = progress

    def staged(done: int, total: int | None) -> None:
        share = done / total if total else 0.0
        report(int(100 * (index + share) / count), 100)

    return staged


def is_parquet(path: Path) -> bool:
    """Whether ``path`` starts with Parquet's magic bytes."""
    with path.open("rb") as stream:
        return stream.read(4) == b"PAR1"


def file_group_source(group: Sequence[Path]) -> str:
    """DuckDB's reader of a group of files, all Parquet or all CSV (by the first), their columns
    united by name, CSV cells as text, each row with its file in :data:`FILE_COLUMN`."""
    listed = "[" + ", ".join(sql_string(str(f)) for f in group) + "]"
    if is_parquet(group[0]):
        return f"read_parquet({listed}, union_by_name=true, filename='{FILE_COLUMN}')"
    return (
        f"read_csv({listed}, union_by_name=true, all_varchar=true, header=true, "
        f"nullstr=['NULL', ''], filename='{FILE_COLUMN}')"
    )


def usage_files(paths: PathsArg) -> list[Path]:
    """The files ``paths`` name (files, folders, globs), sorted; a UsageInputError when none."""
    return _files(paths)


def _files(paths: PathsArg) -> list[Path]:
    try:
        return cur_files(paths)
    except CommitoptInputError as error:
        path = getattr(error, "path", None)  # a binary file "looks truncated" to the CSV check
        not_text = not_text_error(Path(path)) if path and Path(path).is_file() else None
        raise (not_text or UsageInputError(error.template)) from error


# --------------------------------------------------------------------------------------------
# deliveries


def keep_latest_deliveries(stats: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Apply the re-delivery rule of the module docstring to per-file stats.

    ``stats`` has ``file, period, line_items, quantity, cost, first, last``.
    Returns (kept files, superseded files). Also used by :mod:`usage.compute_usage`.
    """
    kept: list[str] = []
    superseded: list[str] = []
    stats = stats.assign(
        folder=[str(Path(f).parent) for f in stats["file"]],
        mtime=[os.path.getmtime(f) for f in stats["file"]],
    )
    for _, period in stats.groupby("period", sort=True, dropna=False):
        deliveries = period.groupby("folder")["mtime"].max().reset_index()
        latest = deliveries.sort_values(["mtime", "folder"]).iloc[-1]["folder"]
        chosen = period[period["folder"] == latest].sort_values("file")
        superseded.extend(period.loc[period["folder"] != latest, "file"])
        fingerprint = ["line_items", "quantity", "cost", "first", "last"]
        copies = chosen.duplicated(subset=fingerprint, keep="first")
        superseded.extend(chosen.loc[copies, "file"])
        kept.extend(chosen.loc[~copies, "file"])
    return sorted(kept), sorted(superseded)


@dataclass(frozen=True, slots=True)
class _Deliveries:
    """The files an import reads after the re-delivery rule, and what their stats say."""

    relation: str
    kept: list[str]
    superseded: list[str]
    periods: list[str]
    daily: bool


def _choose_deliveries(
    connection: duckdb.DuckDBPyConnection,
    relation: str,
    columns: CurColumns,
    where: str,
    what: str,
    progress: ProgressCallback | None,
) -> _Deliveries:
    """Apply the re-delivery rule to the files behind ``relation`` (module docstring)."""
    stats = _run(
        connection,
        _file_stats_sql(
            relation,
            columns,
            "bill_billing_period_start_date",
            "line_item_usage_end_date",
            "line_item_usage_type",
        ),
        where,
        what,
        progress,
    )
    kept, superseded = keep_latest_deliveries(stats)
    chosen = stats[stats["file"].isin(kept)]
    if superseded:
        relation = (
            f"(SELECT * FROM {relation} AS all_files WHERE {FILE_COLUMN} IN "
            f"({', '.join(sql_string(f) for f in kept)}))"
        )
    return _Deliveries(
        relation=relation,
        kept=kept,
        superseded=superseded,
        periods=sorted(set(chosen["period"]) - {""}),
        daily=bool((chosen["longest"].dropna() >= _DAY_SECONDS).any()),
    )


def _file_stats_sql(relation: str, c: CurColumns, period: str, end: str, usage_type: str) -> str:
    """Per file: billing period, rows, sums, first/last start, longest instance (or Fargate,
    Lambda, SageMaker) line item [s]."""
    started = f"TRY_CAST({c.usage_start} AS TIMESTAMPTZ)"
    ended = f"TRY_CAST({end} AS TIMESTAMPTZ)"
    return f"""
        SELECT {FILE_COLUMN} AS file,
            coalesce(strftime(min(TRY_CAST({period} AS TIMESTAMPTZ)), '%Y-%m'),
                     strftime(min({started}), '%Y-%m'), '') AS period,
            count(*) AS line_items,
            coalesce(sum(TRY_CAST({c.usage_amount} AS DOUBLE)), 0) AS quantity,
            coalesce(sum(TRY_CAST({c.cost} AS DOUBLE)), 0) AS cost,
            min({started}) AS first, max({started}) AS last,
            max(epoch({ended}) - epoch({started})) FILTER (
                WHERE {usage_type} LIKE '%BoxUsage:%' OR {usage_type} LIKE '%DedicatedUsage:%'
                    OR {usage_type} LIKE '%Fargate-%' OR {usage_type} LIKE '%Lambda-%'
                    OR {usage_type} LIKE '%:ml.%'
            ) AS longest
        FROM {relation} GROUP BY {FILE_COLUMN}
    """


# --------------------------------------------------------------------------------------------
# the shared aggregation


CLASSIFIED_TABLE: Final = "commitopt_classified_usage"
"""The temporary DuckDB table that holds the rows of :func:`classified_sql` during one read
(:func:`classify_usage_files`)."""
DEMAND_SQL: Final = (
    f"SELECT hour, {', '.join(KEY_COLUMNS)}, sum(quantity) AS quantity FROM {CLASSIFIED_TABLE} "
    f"WHERE reason = '' GROUP BY hour, {', '.join(KEY_COLUMNS)}"
)
"""The demand per hour and key of :data:`CLASSIFIED_TABLE` (``hour`` a UTC ``TIMESTAMPTZ``),
each (hour, key) once: what :func:`read_cur` turns into the canonical table."""

ORDERED_DEMAND_SQL: Final = f"{DEMAND_SQL} ORDER BY hour, {', '.join(KEY_COLUMNS)}"
""":data:`DEMAND_SQL` in a fixed order (hour, then key), for a table built in pandas: DuckDB's
parallel aggregation returns groups in any order, and an error naming a row must name the same
row every time (and in both the in-memory and the streamed import)."""


@dataclass(frozen=True, slots=True)
class ClassifiedUsage:
    """Usage files classified on a DuckDB connection (:func:`classify_usage_files`).

    The temporary table :data:`CLASSIFIED_TABLE` of that connection holds the rows of
    :func:`classified_sql` (rows, usage and cost per reason, and per hour and key for the
    demand); :data:`DEMAND_SQL` selects the demand from it. The totals are checked.

    Attributes
    ----------
    where
        The files, as messages name them.
    daily
        Whether the source is daily-granular (its days are to be spread over 24 hours).
    report
        What the files hold: kept and excluded line items, periods, deliveries, currency.
    """

    where: str
    daily: bool
    report: ImportReport


def _classify(
    connection: duckdb.DuckDBPyConnection,
    relation: str,
    columns: CurColumns,
    *,
    fmt: str,
    where: str,
    deliveries: _Deliveries,
    start: datetime | str | None,
    end: datetime | str | None,
    unmapped: tuple[int, tuple[str, ...]] = (0, ()),
    progress: ProgressCallback | None = None,
) -> ClassifiedUsage:
    """Run :func:`classified_sql` over ``relation`` into :data:`CLASSIFIED_TABLE`; check it.

    The classified rows stay in DuckDB: the totals per reason and currency are summed there and
    checked (:func:`_check_classified`); the demand is left for the caller to select.
    """
    sql = classified_sql(relation, columns, dialect="duckdb", start=start, end=end)
    _run(
        connection,
        f"CREATE OR REPLACE TEMPORARY TABLE {CLASSIFIED_TABLE} AS {sql}",
        where,
        fmt.upper(),
        progress,
        fetch=False,
    )
    return summarise_classified(
        connection,
        fmt=fmt,
        where=where,
        files=deliveries.kept,
        superseded=deliveries.superseded,
        periods=deliveries.periods,
        daily=deliveries.daily,
        unmapped=unmapped,
    )


def summarise_classified(
    connection: duckdb.DuckDBPyConnection,
    *,
    fmt: str,
    where: str,
    files: Sequence[str] = (),
    superseded: Sequence[str] = (),
    periods: Sequence[str] = (),
    daily: bool = False,
    unmapped: tuple[int, tuple[str, ...]] = (0, ()),
) -> ClassifiedUsage:
    """Check the rows of :data:`CLASSIFIED_TABLE` on ``connection`` and report on them.

    The totals per reason and currency are summed in DuckDB; the checks and the report are
    those of :func:`table_from_classified`. On an error the table is dropped.

    Raises
    ------
    UsageInputError
        Malformed timestamps or quantities, negative quantities, several currencies, or no EC2
        instance usage at all.
    """
    try:
        totals = _run(
            connection,
            f"SELECT reason, currency, instance_type, "
            f"CAST(sum(line_items) AS BIGINT) AS line_items, sum(quantity) AS quantity, "
            f"sum(cost) AS cost FROM {CLASSIFIED_TABLE} GROUP BY reason, currency, instance_type",
            where,
            fmt.upper(),
        )
        checked = _check_classified(totals, where)
    except UsageInputError:
        connection.execute(f"DROP TABLE IF EXISTS {CLASSIFIED_TABLE}")
        raise
    report = checked.report(
        fmt=fmt,
        files=files,
        superseded=superseded,
        periods=periods,
        daily=daily,
        unmapped=unmapped,
    )
    return ClassifiedUsage(where=where, daily=daily, report=report)


@dataclass(frozen=True, slots=True)
class _Checked:
    """What the totals of classified rows say: kept rows, exclusions, the currency."""

    kept_line_items: int
    kept_quantity: float
    kept_cost: float
    exclusions: tuple[Exclusion, ...]
    currency: str | None
    kept_quantity_by_unit: tuple[tuple[str, float], ...] = ()

    def report(
        self,
        *,
        fmt: str,
        files: Sequence[str],
        superseded: Sequence[str],
        periods: Sequence[str],
        daily: bool,
        unmapped: tuple[int, tuple[str, ...]],
    ) -> ImportReport:
        return ImportReport(
            format=fmt,
            files=tuple(files),
            billing_periods=tuple(periods),
            daily=daily,
            kept_line_items=self.kept_line_items,
            kept_quantity=self.kept_quantity,
            kept_cost=self.kept_cost,
            exclusions=self.exclusions,
            currency=self.currency,
            superseded_files=tuple(superseded),
            unmapped=unmapped[0],
            unmapped_examples=unmapped[1],
            kept_quantity_by_unit=self.kept_quantity_by_unit,
        )


def _check_classified(result: pd.DataFrame, where: str) -> _Checked:
    """Check rows with ``reason, currency, line_items, quantity, cost`` (any grouping finer
    than reason and currency); raise on invalid rows, mixed currencies or no demand."""
    result = result.astype({"reason": "str"})
    reasons = result["reason"].fillna("")
    for reason in INVALID_REASONS:
        bad = result[reasons == reason]
        if len(bad):
            count = int(bad["line_items"].sum())
            column = "usage amount" if "quantity" in reason else "usage start"
            raise UsageInputError(
                where,
                f"{count} EC2, database, Fargate, Lambda or SageMaker usage line item(s) with a "
                f"{reason} ({column} column)",
                "fix or re-export the file: usage starts must be ISO 8601 timestamps and "
                "usage amounts numbers >= 0",
            )
    currencies = sorted({str(c) for c in result["currency"].dropna().unique() if str(c)})
    if len(currencies) > 1:
        raise UsageInputError(
            where,
            f"mixed currencies {', '.join(currencies)} in one import",
            "import the files of each currency (billing entity) separately",
        )
    demand = result[reasons == ""]
    excluded = (
        result[reasons != ""]
        .groupby("reason", sort=True)[["line_items", "quantity", "cost"]]
        .sum()
        .reset_index()
    )
    exclusions = tuple(
        Exclusion(str(r), int(n), float(q), float(c))
        for r, n, q, c in excluded.itertuples(index=False)
    )
    if demand.empty:
        found = ", ".join(f"{e.reason} {e.line_items}" for e in exclusions) or "no rows"
        raise UsageInputError(
            where,
            f"no EC2 instance usage found: no Usage / DiscountedUsage / SavingsPlanCoveredUsage "
            f"line item of a BoxUsage or DedicatedUsage type, nor of a database instance or node "
            f"type, nor Fargate, Lambda or SageMaker usage a Savings Plan covers (rows by reason: "
            f"{found})",
            "pass a report that includes Amazon EC2 or the reserved database services (hourly "
            "granularity recommended)",
        )
    by_unit = (
        quantity_by_unit(demand["instance_type"], demand["quantity"])
        if "instance_type" in demand
        else ()
    )
    return _Checked(
        kept_line_items=int(demand["line_items"].sum()),
        kept_quantity=float(demand["quantity"].sum()),
        kept_cost=float(demand["cost"].sum()),
        exclusions=exclusions,
        currency=currencies[0] if currencies else None,
        kept_quantity_by_unit=by_unit,
    )


def canonical_demand_table(frame: pd.DataFrame, where: str, daily: bool) -> pd.DataFrame:
    """Demand per hour and key (each once) -> the validated canonical table (daily demand
    spread over 24 hours); the errors of :func:`usage.table.validate_usage_table`."""
    frame["hour"] = pd.to_datetime(frame["hour"], utc=True).astype("datetime64[ns, UTC]")
    if daily:
        return spread_daily(frame, source=where)
    return validate_usage_table(frame, source=where)


def table_from_classified(
    result: pd.DataFrame,
    *,
    fmt: str,
    where: str,
    files: Sequence[str] = (),
    superseded: Sequence[str] = (),
    periods: Sequence[str] = (),
    daily: bool = False,
    unmapped: tuple[int, tuple[str, ...]] = (0, ()),
) -> tuple[pd.DataFrame, ImportReport]:
    """The canonical table and the report from the rows of :func:`classified_sql`.

    Used by :mod:`usage.athena`; the file readers sum the same rows in DuckDB instead.

    Raises
    ------
    UsageInputError
        Malformed timestamps or quantities, negative quantities, several currencies, or no EC2
        instance usage at all.
    """
    checked = _check_classified(result, where)
    reasons = result["reason"].astype("str").fillna("")
    demand = result[reasons == ""]
    frame = demand.groupby(["hour", *KEY_COLUMNS], sort=False)["quantity"].sum().reset_index()
    report = checked.report(
        fmt=fmt,
        files=files,
        superseded=superseded,
        periods=periods,
        daily=daily,
        unmapped=unmapped,
    )
    return canonical_demand_table(frame, where, daily), report


# --------------------------------------------------------------------------------------------
# CUR and CUR 2.0


def _classify_cur(
    connection: duckdb.DuckDBPyConnection,
    files: Sequence[Path],
    fmt: str,
    *,
    start: datetime | str | None,
    end: datetime | str | None,
    progress: ProgressCallback | None,
) -> ClassifiedUsage:
    """:func:`classify_usage_files` of legacy CUR or CUR 2.0 files."""
    where = describe_files(files)
    try:
        select = cur_select_sql(
            connection,
            files,
            required=_CUR_REQUIRED,
            optional=_CUR_OPTIONAL,
            what="AWS Cost and Usage Report (line items of EC2 usage)",
            native=_CUR_NATIVE,
        )
    except CommitoptInputError as error:
        raise UsageInputError(error.template) from error
    columns = CurColumns(
        database_engine="product_database_engine",
        cache_engine="product_cache_engine",
        database_edition="product_database_edition",
        license_model="product_license_model",
        pricing_unit="pricing_unit",
    )
    deliveries = _choose_deliveries(
        connection, f"({select})", columns, where, fmt.upper(), _stage(progress, 0, 2)
    )
    return _classify(
        connection,
        deliveries.relation,
        columns,
        fmt=fmt,
        where=where,
        deliveries=deliveries,
        start=start,
        end=end,
        progress=_stage(progress, 1, 2),
    )


def classify_usage_files(
    connection: duckdb.DuckDBPyConnection,
    paths: PathsArg,
    fmt: str,
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    progress: ProgressCallback | None = None,
) -> ClassifiedUsage:
    """Classify the line items of CUR, CUR 2.0 or FOCUS files on ``connection``.

    The deliveries are chosen (module docstring), every line item is classified by
    :func:`usage.demand_sql.classified_sql` into the temporary table :data:`CLASSIFIED_TABLE`
    (bounded memory: DuckDB spills beyond the connection's ``memory_limit``), and the totals are
    checked. :func:`read_cur`, :func:`read_cur2` and :func:`read_focus` bring the demand to
    pandas; :func:`usage.staged_bill.stage_bill_files` keeps it in DuckDB.

    Parameters
    ----------
    connection
        A DuckDB connection whose ``TimeZone`` is UTC (naive CUR times are UTC).
    paths
        Files, folders or globs.
    fmt
        ``"cur"``, ``"cur2"`` or ``"focus"``.
    start, end, progress
        As :func:`read_cur` (``progress(percent, 100)`` over the whole classification).

    Raises
    ------
    UsageInputError
        As :func:`read_cur`.
    """
    files = _files(paths)
    if fmt in ("cur", "cur2"):
        return _classify_cur(connection, files, fmt, start=start, end=end, progress=progress)
    if fmt == "focus":
        return _classify_focus(connection, files, start=start, end=end, progress=progress)
    raise UsageInputError(
        f"usage format {fmt!r} has no line items to classify; pass cur, cur2 or focus"
    )


def _read_classified(
    paths: PathsArg,
    fmt: str,
    *,
    start: datetime | str | None,
    end: datetime | str | None,
    memory_limit: str,
    progress: ProgressCallback | None,
) -> tuple[pd.DataFrame, ImportReport]:
    """The canonical table and report of :func:`classify_usage_files` (demand via Arrow)."""
    files = _files(paths)
    with usage_connection(memory_limit) as connection:
        classified = classify_usage_files(
            connection, files, fmt, start=start, end=end, progress=progress
        )
        demand = _run(connection, ORDERED_DEMAND_SQL, classified.where, fmt.upper())
        connection.execute(f"DROP TABLE {CLASSIFIED_TABLE}")
    return canonical_demand_table(demand, classified.where, classified.daily), classified.report


def read_cur(
    paths: PathsArg,
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    memory_limit: str = "1GB",
    progress: ProgressCallback | None = None,
) -> tuple[pd.DataFrame, ImportReport]:
    """Read legacy Cost and Usage Report files into the canonical hourly usage table.

    Parameters
    ----------
    paths
        Files (Parquet, CSV, CSV.gz), folders or globs; slash (``lineItem/UsageType``) and
        Athena (``line_item_usage_type``) column names both work.
    start, end
        Keep usage starting in ``[start, end)`` (UTC).
    memory_limit
        DuckDB's memory limit; beyond it intermediate results spill to disk.
    progress
        Called as ``progress(percent, 100)`` [%] from a background thread while DuckDB scans
        the files (DuckDB's own estimate, polled every 0.5 s; never decreasing).

    Returns
    -------
    (pandas.DataFrame, ImportReport)
        The canonical table (daily reports spread over 24 hours) and what was kept / excluded.

    Raises
    ------
    UsageInputError
        Missing / empty / corrupt files, missing columns (needed and found named), no EC2
        instance usage, mixed currencies, malformed timestamps or quantities, negative quantities.
    """
    return _read_classified(
        paths, "cur", start=start, end=end, memory_limit=memory_limit, progress=progress
    )


def read_cur2(
    paths: PathsArg,
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    memory_limit: str = "1GB",
    progress: ProgressCallback | None = None,
) -> tuple[pd.DataFrame, ImportReport]:
    """Read CUR 2.0 Data Exports (``line_item_*`` columns, ``product`` map) like :func:`read_cur`.

    The key comes from ``line_item_usage_type`` and ``line_item_operation``, which CUR 2.0 keeps
    as plain columns, so the ``product`` map is not needed for the demand.
    """
    return _read_classified(
        paths, "cur2", start=start, end=end, memory_limit=memory_limit, progress=progress
    )


# --------------------------------------------------------------------------------------------
# FOCUS


def _focus_os_table() -> str:
    """``VALUES`` of operating-system words in AWS's charge descriptions -> operation."""
    spellings: dict[str, str] = {}
    for platform in PLATFORMS:
        for spelling in (platform.name, *platform.aliases):
            spellings[spelling.lower()] = platform.operation
    short = {
        "linux": "Linux/UNIX",
        "linux/unix (amazon vpc)": "Linux/UNIX",
        "windows (amazon vpc)": "Windows",
        "windows byol": "Windows BYOL",
        "suse linux enterprise server": "SUSE Linux",
        "windows with sql std": "Windows with SQL Server Standard",
        "windows with sql web": "Windows with SQL Server Web",
        "windows with sql ent": "Windows with SQL Server Enterprise",
        "linux with sql std": "Linux with SQL Server Standard",
        "linux with sql web": "Linux with SQL Server Web",
        "linux with sql ent": "Linux with SQL Server Enterprise",
        "rhel with sql std": "Red Hat Enterprise Linux with SQL Server Standard",
        "rhel with sql web": "Red Hat Enterprise Linux with SQL Server Web",
        "rhel with sql ent": "Red Hat Enterprise Linux with SQL Server Enterprise",
        "rhel with ha": "Red Hat Enterprise Linux with HA",
    }
    by_name = {p.name: p.operation for p in PLATFORMS}
    for spelling, name in short.items():
        spellings[spelling] = by_name[name]
    rows = ", ".join(f"({sql_string(k)}, {sql_string(v)})" for k, v in spellings.items())
    return f"(VALUES {rows}) AS focus_os(os, operation)"


def _region_prefix_table() -> str:
    rows = ", ".join(f"({sql_string(k)}, {sql_string(v)})" for k, v in REGION_TO_PREFIX.items())
    return f"(VALUES {rows}) AS focus_regions(region, prefix)"


_FOCUS_INSTANCE_HOUR: Final = (
    r"per (?:On Demand |Dedicated Usage |Dedicated )?(.+?) ([a-z][a-z0-9-]*\.[a-z0-9-]+)"
    r" (Dedicated )?(?:Spot )?Instance Hour"
)
_FOCUS_RI_APPLIED: Final = r"per (.+?), ([a-z][a-z0-9-]*\.[a-z0-9-]+) reserved instance applied"


def _focus_relation(source: str) -> str:
    """A SELECT turning FOCUS columns into the CUR columns of :class:`CurColumns`.

    For AWS rows the usage type and operation are AWS's own ``x_UsageType`` (FOCUS 1.0 with AWS
    columns; ``SkuMeter`` in FOCUS 1.2, which dropped ``x_UsageType``) and ``x_Operation`` when
    the export has them; otherwise they are rebuilt from
    ``RegionId`` and the charge description (``$0.34 per On Demand Linux c5.2xlarge Instance
    Hour``; ``... per Linux/UNIX (Amazon VPC), m5.large reserved instance applied``).
    """
    description = "coalesce(ChargeDescription, '')"
    hour_type = f"nullif(regexp_extract({description}, {sql_string(_FOCUS_INSTANCE_HOUR)}, 2), '')"
    ri_type = f"nullif(regexp_extract({description}, {sql_string(_FOCUS_RI_APPLIED)}, 2), '')"
    hour_os = f"nullif(regexp_extract({description}, {sql_string(_FOCUS_INSTANCE_HOUR)}, 1), '')"
    ri_os = f"nullif(regexp_extract({description}, {sql_string(_FOCUS_RI_APPLIED)}, 1), '')"
    dedicated = (
        f"(regexp_extract({description}, {sql_string(_FOCUS_INSTANCE_HOUR)}, 3) <> '' "
        f"OR {description} LIKE '%Dedicated Usage%')"
    )
    commitment = "lower(coalesce(CommitmentDiscountType, ''))"
    sku_meter = "CASE WHEN SkuMeter LIKE '%Usage:%' THEN SkuMeter END"
    db_hour = sql_string(FOCUS_DATABASE_HOUR)
    db_class = f"nullif(regexp_extract({description}, {db_hour}, 1), '')"
    db_kind = (
        f"CASE regexp_extract({description}, {db_hour}, 2) WHEN 'Multi-AZ' THEN 'Multi-AZUsage' "
        "ELSE 'InstanceUsage' END"
    )
    db_engine = f"lower(trim(regexp_extract({description}, {db_hour}, 3)))"
    services = ", ".join(
        f"({sql_string(name)}, {sql_string(code)})" for name, code in FOCUS_SERVICE_CODES.items()
    )
    compute_meter = (
        f"CASE WHEN regexp_matches(coalesce(SkuMeter, ''), {sql_string(SKU_METER_USAGE_TYPE)}) "
        "THEN SkuMeter END"
    )
    compute_type, compute_reason = focus_compute_sql(
        f"trim({description})", f"coalesce(x_UsageType, {compute_meter})"
    )
    engines = ", ".join(
        "(" + ", ".join(sql_string(v) for v in (text, *columns)) + ")"
        for text, columns in FOCUS_ENGINES.items()
    )
    return f"""(
        SELECT focus.{FILE_COLUMN},
            CASE ChargeCategory
                WHEN 'Usage' THEN CASE
                    WHEN {commitment} LIKE '%savings%' THEN 'SavingsPlanCoveredUsage'
                    WHEN {commitment} LIKE '%reserv%' THEN 'DiscountedUsage'
                    ELSE 'Usage' END
                WHEN 'Purchase' THEN CASE
                    WHEN {commitment} LIKE '%savings%' THEN 'SavingsPlanRecurringFee'
                    WHEN {commitment} LIKE '%reserv%' THEN 'RIFee'
                    ELSE 'Fee' END
                WHEN 'Tax' THEN 'Tax'
                WHEN 'Credit' THEN 'Credit'
                ELSE ChargeCategory END AS line_item_line_item_type,
            CASE WHEN ProviderName NOT IN ('AWS', 'Amazon Web Services') THEN ProviderName
                 WHEN ServiceName IN ('Amazon Elastic Compute Cloud', 'Amazon EC2')
                     THEN 'AmazonEC2'
                 ELSE coalesce(x_ServiceCode, focus_services.code, focus_compute.code,
                               ServiceName) END
                AS line_item_product_code,
            coalesce({compute_type}, x_UsageType,
                CASE WHEN SkuMeter LIKE '%Usage:%' THEN SkuMeter END,
                CASE WHEN coalesce({hour_type}, {ri_type}) IS NOT NULL THEN
                    coalesce(focus_regions.prefix, 'UNKNOWN') || '-' ||
                    CASE WHEN PricingCategory = 'Dynamic' OR {description} LIKE '%Spot%'
                             THEN 'SpotUsage'
                         WHEN {dedicated} THEN 'DedicatedUsage'
                         ELSE 'BoxUsage' END
                    || ':' || coalesce({hour_type}, {ri_type}) END,
                CASE WHEN {db_class} IS NOT NULL THEN
                    coalesce(focus_regions.prefix, 'UNKNOWN') || '-' || {db_kind} || ':'
                    || {db_class} END) AS line_item_usage_type,
            coalesce(x_Operation, focus_os.operation) AS line_item_operation,
            ChargePeriodStart AS line_item_usage_start_date,
            ChargePeriodEnd AS line_item_usage_end_date,
            ConsumedQuantity AS line_item_usage_amount,
            BilledCost AS line_item_unblended_cost,
            SubAccountId AS line_item_usage_account_id,
            BillingCurrency AS line_item_currency_code,
            BillingPeriodStart AS bill_billing_period_start_date,
            (ServiceName IN ('Amazon Elastic Compute Cloud', 'Amazon EC2')
                AND ChargeCategory = 'Usage'
                AND (ResourceType = 'instance' OR {description} LIKE '%Instance Hour%'
                     OR {description} LIKE '%reserved instance applied%')
                AND (coalesce(x_UsageType, {sku_meter}, {hour_type}, {ri_type}) IS NULL
                     OR coalesce(x_Operation, focus_os.operation) IS NULL
                     OR (coalesce(x_UsageType, {sku_meter}) IS NULL
                         AND focus_regions.prefix IS NULL)))
                AS unmapped,
            {description} AS description,
            ConsumedUnit AS pricing_unit,
            {compute_reason} AS compute_usage_type_reason,
            focus_engines.engine AS focus_database_engine,
            focus_engines.edition AS focus_database_edition,
            focus_engines.licence AS focus_license_model
        FROM {source} AS focus
        LEFT JOIN {_focus_os_table()}
            ON focus_os.os = lower(trim(coalesce({hour_os}, {ri_os}, '')))
        LEFT JOIN {_region_prefix_table()} ON focus_regions.region = focus.RegionId
        LEFT JOIN (VALUES {services}) AS focus_services(name, code)
            ON focus_services.name = focus.ServiceName
        LEFT JOIN (VALUES {engines}) AS focus_engines(text, engine, edition, licence)
            ON focus_engines.text = {db_engine}
        LEFT JOIN {compute_services_table()} ON focus_compute.name = focus.ServiceName
            AND focus.ProviderName IN ('AWS', 'Amazon Web Services')
    )"""


def _focus_source(connection: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> str:
    """One SELECT over FOCUS files with the FOCUS columns (absent optional ones NULL)."""
    parquet = [f for f in files if is_parquet(f)]
    csv = [f for f in files if f not in parquet]
    selects = []
    for group in (parquet, csv):
        if not group:
            continue
        source = file_group_source(group)
        where = describe_files(group)
        try:
            found = [
                str(r[0]) for r in connection.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()
            ]
        except duckdb.Error as error:
            raise UsageInputError(
                where,
                f"cannot be read as FOCUS ({first_line(error)})",
                "pass an unmodified export",
            ) from error
        missing = [c for c in _FOCUS_REQUIRED if c not in found]
        if missing:
            raise UsageInputError(
                where,
                f"missing FOCUS column(s) {', '.join(missing)} (found: {show_columns(found)})",
                "pass an unmodified FOCUS 1.0-1.2 export",
            )
        columns = [f'CAST("{c}" AS VARCHAR) AS {c}' for c in _FOCUS_REQUIRED]
        columns += [
            f'CAST("{c}" AS VARCHAR) AS {c}' if c in found else f"CAST(NULL AS VARCHAR) AS {c}"
            for c in _FOCUS_OPTIONAL
        ]
        selects.append(f"SELECT {FILE_COLUMN}, {', '.join(columns)} FROM {source}")
    return "(" + " UNION ALL ".join(selects) + ")"


def read_focus(
    paths: PathsArg,
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    memory_limit: str = "1GB",
    progress: ProgressCallback | None = None,
) -> tuple[pd.DataFrame, ImportReport]:
    """Read FOCUS 1.0-1.2 exports (CSV, CSV.gz, Parquet) into the canonical table.

    AWS rows (``ProviderName`` AWS) of ``ServiceName`` Amazon Elastic Compute Cloud are mapped
    to CUR line items: ``ChargeCategory`` Usage with ``CommitmentDiscountType`` Savings Plan /
    Reserved becomes SavingsPlanCoveredUsage / DiscountedUsage, otherwise Usage; Purchase, Tax and
    Credit become fees, tax and credits. The usage type and operation are AWS's ``x_UsageType``
    (``SkuMeter`` in FOCUS 1.2) and ``x_Operation`` columns when present, otherwise rebuilt
    from ``RegionId`` and ``ChargeDescription``. Quantities are ``ConsumedQuantity``, costs
    ``BilledCost``, the account ``SubAccountId``. Rows of other providers are excluded as
    ``non-EC2``. EC2 rows that look like instance-hours but cannot be mapped are counted in
    ``ImportReport.unmapped``.
    Re-deliveries follow the CUR rule (module docstring), by ``BillingPeriodStart``.
    Parameters (``progress`` included) are those of :func:`read_cur`.

    Raises
    ------
    UsageInputError
        As :func:`read_cur`.
    """
    return _read_classified(
        paths, "focus", start=start, end=end, memory_limit=memory_limit, progress=progress
    )


def _classify_focus(
    connection: duckdb.DuckDBPyConnection,
    files: Sequence[Path],
    *,
    start: datetime | str | None,
    end: datetime | str | None,
    progress: ProgressCallback | None,
) -> ClassifiedUsage:
    """:func:`classify_usage_files` of FOCUS files (see :func:`read_focus`)."""
    where = describe_files(files)
    columns = CurColumns(
        database_engine="focus_database_engine",
        database_edition="focus_database_edition",
        license_model="focus_license_model",
        pricing_unit="pricing_unit",
        usage_type_reason="compute_usage_type_reason",
    )
    deliveries = _choose_deliveries(
        connection,
        _focus_relation(_focus_source(connection, files)),
        columns,
        where,
        "FOCUS",
        _stage(progress, 0, 3),
    )
    relation = deliveries.relation
    unmapped_rows = _run(
        connection,
        f"SELECT count(*) AS n, coalesce(string_agg(DISTINCT description, '\x1f'), '') "
        f"AS examples FROM {relation} AS focus_rows WHERE unmapped",
        where,
        "FOCUS",
        _stage(progress, 1, 3),
    )
    examples = [e for e in str(unmapped_rows["examples"].iloc[0]).split("\x1f") if e]
    unmapped = (int(unmapped_rows["n"].iloc[0]), tuple(sorted(examples)[:3]))
    return _classify(
        connection,
        relation,
        columns,
        fmt="focus",
        where=where,
        deliveries=deliveries,
        start=start,
        end=end,
        unmapped=unmapped,
        progress=_stage(progress, 2, 3),
    )


# --------------------------------------------------------------------------------------------
# canonical table


def read_canonical(
    paths: PathsArg, *, progress: ProgressCallback | None = None
) -> tuple[pd.DataFrame, ImportReport]:
    """Read the canonical usage table from CSV (hours with a UTC offset) or Parquet files.

    Identical files are read once; files that share any (hour, key) otherwise are overlapping
    and rejected. ``progress`` is called as ``progress(percent, 100)`` [%] while files are read.

    Raises
    ------
    UsageInputError
        Missing / empty / corrupt files, missing columns, the errors of
        :func:`usage.table.validate_usage_table`, or overlapping files.
    """
    files = _files(paths)
    tables: list[pd.DataFrame] = []
    names: list[str] = []
    superseded: list[str] = []
    with usage_connection() as connection, insertion_order_kept(connection):
        for index, file in enumerate(files):  # rows in order: messages name the file's rows
            parquet_file = is_parquet(file)
            quoted = sql_string(str(file))
            source = (
                f"read_parquet({quoted})"
                if parquet_file
                else f"read_csv({quoted}, all_varchar=true, header=true)"
            )
            select = f"SELECT * FROM {source}"
            if parquet_file:
                described = _run(connection, f"DESCRIBE {select}", str(file), "Parquet")
                types = dict(zip(described["column_name"], described["column_type"], strict=True))
                if "TIMESTAMPTZ" in str(types.get("hour", "")).upper():
                    # DuckDB hands TIMESTAMPTZ_NS to pandas without its zone: keep it explicit.
                    select = f"SELECT * REPLACE (CAST(hour AS TIMESTAMPTZ) AS hour) FROM {source}"
            frame = _run(
                connection,
                select,
                str(file),
                "Parquet" if parquet_file else "CSV",
                _stage(progress, index, len(files)),
            )
            repeated = None if parquet_file else duplicated_header_error(file, list(frame.columns))
            if repeated is not None:
                raise repeated
            table = validate_usage_table(frame, source=str(file))
            if any(table.equals(previous) for previous in tables):
                superseded.append(str(file))
                continue
            tables.append(table)
            names.append(str(file))
    combined = pd.concat(tables, ignore_index=True)
    duplicated = combined.duplicated(subset=["hour", *KEY_COLUMNS], keep=False)
    if duplicated.any():
        first = combined[duplicated].iloc[0]
        raise UsageInputError(
            describe_files([Path(n) for n in names]),
            f"overlapping files: hour {first['hour']} of {first['instance_type']} "
            f"{first['region']} appears in more than one file",
            "pass each period once (or concatenate only disjoint files)",
        )
    table = validate_usage_table(combined[list(USAGE_COLUMNS)], source=names[0])
    report = ImportReport(  # no billing periods: a canonical table stands for its hours only
        format="canonical",
        files=tuple(names),
        kept_line_items=len(table),
        kept_quantity=float(table["quantity"].sum()),
        superseded_files=tuple(superseded),
        kept_quantity_by_unit=quantity_by_unit(table["instance_type"], table["quantity"]),
    )
    return table, report


# --------------------------------------------------------------------------------------------
# detection


@dataclass(frozen=True, slots=True)
class _Layout:
    """The columns a usage format must have, for :func:`detect_format`."""

    format: str
    label: str
    required: tuple[str, ...]
    known: frozenset[str]
    fix: str


def _layouts(found: Sequence[str]) -> tuple[tuple[_Layout, frozenset[str]], ...]:
    """Each usage layout with the column names of ``found`` it compares against."""
    names = frozenset(found)
    normalised = frozenset(normalise_column_name(c) for c in found)
    cur2 = "product" in names and not any("/" in c for c in found)
    cur = _Layout(
        "cur2" if cur2 else "cur",
        "a CUR 2.0 export" if cur2 else "a legacy CUR",
        _CUR_REQUIRED,
        frozenset((*_CUR_REQUIRED, *_CUR_OPTIONAL)),
        "pass an unmodified CUR export",
    )
    focus = _Layout(
        "focus",
        "a FOCUS export",
        _FOCUS_REQUIRED,
        frozenset((*_FOCUS_REQUIRED, *_FOCUS_OPTIONAL)),
        "pass an unmodified FOCUS 1.0-1.2 export",
    )
    canonical = _Layout(
        "canonical",
        "the canonical usage table",
        _CANONICAL_REQUIRED,
        frozenset(USAGE_COLUMNS),
        f"add or rename the columns (the table has {', '.join(USAGE_COLUMNS)}; account_id is "
        "optional)",
    )
    return ((focus, names), (canonical, names), (cur, normalised))


def _key(name: str) -> str:
    """``name`` without case and separators: ``lineItem/UsageType`` -> ``lineitemusagetype``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _missing_column_message(
    first: Path, layout: _Layout, present: frozenset[str], found: Sequence[str]
) -> UsageInputError:
    """``looks like a legacy CUR but has no column ...``, naming renamed look-alikes."""
    slash = any("/" in c for c in found)
    cur = layout.format in ("cur", "cur2")
    spare = [c for c in found if (normalise_column_name(c) if cur else c) not in layout.known]
    described: list[str] = []
    renames: list[str] = []
    for column in (c for c in layout.required if c not in present):
        spelling = _CUR_SLASH_NAMES.get(column, "") if layout.format == "cur" else ""
        alike = [c for c in spare if _key(c) == _key(column)] or difflib.get_close_matches(
            column, spare, n=1, cutoff=0.85
        )
        notes = [spelling] if spelling else []
        if alike:
            notes.append(f"{shorten(alike[0])} may be it, renamed")
            target = spelling if slash and spelling else column
            renames.append(f"{shorten(alike[0])} back to {target}")
        described.append(column + (f" ({'; '.join(notes)})" if notes else ""))
    plural = "s" if len(described) > 1 else ""
    fix = layout.fix + (f", or rename {', '.join(renames)}" if renames else "")
    return UsageInputError(
        str(first),
        f"looks like {layout.label} but has no column{plural} {', '.join(described)}",
        fix,
    )


def _columns(connection: duckdb.DuckDBPyConnection, file: Path) -> list[str]:
    """The column names of one usage file, as DuckDB reads them.

    Raises
    ------
    UsageInputError
        A file DuckDB cannot read; for a CSV, the first row that does not fit its header.
    """
    quoted = sql_string(str(file))
    parquet_file = is_parquet(file)
    source = f"read_parquet({quoted})" if parquet_file else f"read_csv({quoted}, all_varchar=true)"
    failure: duckdb.Error | None = None
    try:
        found = [
            str(row[0]) for row in connection.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()
        ]
    except duckdb.Error as error:
        found, failure = [], error
    if failure and not parquet_file:
        not_text = not_text_error(file)
        if not_text is not None:
            raise not_text from failure
    if not parquet_file and (failure or (len(found) == 1 and "," in found[0])):
        # DuckDB's sniffer gave up (or read a comma-separated header as one column): which row?
        problem = ragged_row(file)
        if problem:
            raise UsageInputError(
                str(file),
                f"cannot be read as CSV: {problem}",
                "pass an unmodified export (download it again if it was cut or edited)",
            ) from failure
    if failure:
        raise UsageInputError(
            str(file),
            f"cannot be read as {'Parquet' if parquet_file else 'CSV'} ({first_line(failure)})",
            "pass unmodified, complete files (re-download a truncated or corrupt one)",
        ) from failure
    return found


def detect_format(paths: PathsArg) -> str:
    """``"cur"``, ``"cur2"``, ``"focus"`` or ``"canonical"`` from the first file's columns.

    A file with every column one format needs is that format (FOCUS first, then the canonical
    table, then CUR). Otherwise the format of which it has the largest share (at least half) of
    the needed columns is the one it was meant to be, and the columns it lacks are named.

    Raises
    ------
    UsageInputError
        A file that is cut short, lacks some needed columns of the nearest format (those are
        named, with any renamed look-alike), or matches no format (a few of its columns named).
    """
    files = _files(paths)
    first = files[0]
    with usage_connection() as connection:
        found = _columns(connection, first)
    layouts = _layouts(found)
    for layout, present in layouts:
        if all(column in present for column in layout.required):
            return layout.format
    shares = [
        sum(column in present for column in layout.required) / len(layout.required)
        for layout, present in layouts
    ]
    nearest = max(range(len(layouts)), key=lambda index: shares[index])
    if shares[nearest] >= 0.5:
        layout, present = layouts[nearest]
        raise _missing_column_message(first, layout, present, found)
    raise UsageInputError(
        str(first),
        f"not a CUR, CUR 2.0, FOCUS or canonical usage file (found columns: {show_columns(found)})",
        _RECOGNISED_FORMATS,
    )


def read_usage(
    paths: PathsArg,
    format: UsageFormat = "auto",
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[pd.DataFrame, ImportReport]:
    """Read usage files of any supported format (``auto``: detected from the first file).

    ``"csv"`` and ``"canonical"`` both mean the canonical table. ``start`` / ``end`` filter
    CUR and FOCUS rows (and the canonical table's hours) to ``[start, end)``. ``progress`` is
    called as ``progress(percent, 100)`` [%] while the files are scanned (see :func:`read_cur`).
    """
    fmt = detect_format(paths) if format == "auto" else format
    if fmt in ("csv", "canonical"):
        table, report = read_canonical(paths, progress=progress)
        if start is not None:
            table = table[table["hour"] >= to_utc_timestamp(start, "start")]
        if end is not None:
            table = table[table["hour"] < to_utc_timestamp(end, "end")]
        return table.reset_index(drop=True), report
    if fmt == "cur":
        return read_cur(paths, start=start, end=end, progress=progress)
    if fmt == "cur2":
        return read_cur2(paths, start=start, end=end, progress=progress)
    if fmt == "focus":
        return read_focus(paths, start=start, end=end, progress=progress)
    raise UsageInputError(
        f"unknown usage format {fmt!r}; pass {param('usage_format')} as cur, cur2, focus, csv or "
        "auto"
    )


__all__ = [
    "CLASSIFIED_TABLE",
    "DEMAND_SQL",
    "ORDERED_DEMAND_SQL",
    "REASONS",
    "ClassifiedUsage",
    "Exclusion",
    "ImportReport",
    "canonical_demand_table",
    "classify_usage_files",
    "detect_format",
    "file_group_source",
    "first_line",
    "is_parquet",
    "keep_latest_deliveries",
    "read_canonical",
    "read_cur",
    "read_cur2",
    "read_focus",
    "read_usage",
    "summarise_classified",
    "table_from_classified",
    "usage_connection",
    "usage_files",
]
