"""A bill (CUR, CUR 2.0, FOCUS, Athena's result) staged in DuckDB as canonical hourly rows.

:func:`usage.readers.read_cur` brings the demand of a bill to pandas; at tens of millions of line
items that frame is the memory peak of an import. Here the demand stays in DuckDB: the line items
are classified on the workspace's own connection (:func:`usage.readers.classify_usage_files`), the
demand per hour and key goes into the temporary table :data:`STAGED_TABLE` (spread over 24 hours
for a daily bill), and :attr:`StagedBill.usage` describes it as a
:class:`usage.canonical_sql.ValidatedUsage`, which :func:`commitopt.imports.import_validated_usage`
inserts with one ``INSERT ... SELECT``. DuckDB spills beyond its memory limit, so memory stays
flat whatever the bill's size.

The rows are those :func:`usage.readers.read_cur` returns: the same SQL sums them, and the rules
of :func:`usage.table.validate_usage_table` are checked on the few distinct keys and in SQL
(finite quantities, account ids without surrounding blanks, midnight days of a daily bill). When a
check fails, the demand is built in pandas once to raise that function's exact message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import duckdb
import pandas as pd

from pricing.readers.common import ProgressCallback
from usage.canonical_sql import ValidatedUsage
from usage.errors import UsageInputError
from usage.readers import (
    CLASSIFIED_TABLE,
    DEMAND_SQL,
    ORDERED_DEMAND_SQL,
    ClassifiedUsage,
    ImportReport,
    PathsArg,
    canonical_demand_table,
    classify_usage_files,
)
from usage.table import KEY_COLUMNS, USAGE_COLUMNS, validate_usage_table

STAGED_TABLE: Final = "commitopt_staged_bill"
"""Temporary table of the staged canonical rows: ``hour`` (``TIMESTAMP``, UTC), the key columns,
``quantity`` [instance-hours]."""
_US_PER_HOUR: Final = 3_600_000_000
_US_PER_DAY: Final = 24 * _US_PER_HOUR


@dataclass(frozen=True)
class StagedBill:
    """A bill's demand staged in :data:`STAGED_TABLE`, and the reader's report.

    Attributes
    ----------
    usage
        The staged rows: counts, hours, accounts, instance types and ``select_sql`` (valid while
        the connection is open and until :func:`drop_staged`).
    report
        What the bill held: kept and excluded line items by reason, periods, deliveries.
    """

    usage: ValidatedUsage
    report: ImportReport


@contextmanager
def utc_session(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the body with the connection's ``TimeZone`` set to UTC (naive bill times are UTC);
    the previous zone comes back afterwards."""
    previous = connection.execute("SELECT current_setting('TimeZone')").fetchall()[0][0]
    connection.execute("SET TimeZone = 'UTC'")
    try:
        yield
    finally:
        connection.execute(f"SET TimeZone = '{previous}'")


def stage_bill_files(
    connection: duckdb.DuckDBPyConnection,
    paths: PathsArg,
    fmt: str,
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    progress: ProgressCallback | None = None,
) -> StagedBill:
    """Classify CUR, CUR 2.0 or FOCUS files on ``connection`` and stage their demand.

    Parameters
    ----------
    connection
        The DuckDB connection the rows are to be stored through (the workspace's); bound its
        memory first (:meth:`commitopt.workspace.Workspace.streaming`).
    paths
        Files, folders or globs.
    fmt
        ``"cur"``, ``"cur2"`` or ``"focus"``.
    start, end, progress
        As :func:`usage.readers.read_cur`.

    Returns
    -------
    StagedBill
        The rows :func:`usage.readers.read_usage` would return, in :data:`STAGED_TABLE`.

    Raises
    ------
    UsageInputError
        Every error of :func:`usage.readers.read_usage`, with its message.
    """
    with utc_session(connection):
        classified = classify_usage_files(
            connection, paths, fmt, start=start, end=end, progress=progress
        )
        return stage_classified(connection, classified)


def stage_classified(
    connection: duckdb.DuckDBPyConnection, classified: ClassifiedUsage
) -> StagedBill:
    """Stage the demand of :data:`usage.readers.CLASSIFIED_TABLE` (then dropped) in
    :data:`STAGED_TABLE`, checked by the rules of :func:`usage.table.validate_usage_table`.

    Raises
    ------
    UsageInputError
        The errors :func:`usage.readers.canonical_demand_table` raises on the same demand.
    """
    keys = ", ".join(KEY_COLUMNS[1:])
    with utc_session(connection):
        try:
            problems = _problem_count(connection, classified.daily)
            if problems:  # the exact message: build the (bad) table once, in pandas
                demand = connection.sql(ORDERED_DEMAND_SQL).to_arrow_table().to_pandas()
                canonical_demand_table(demand, classified.where, classified.daily)
            hour = "make_timestamp(epoch_us(hour))"
            if classified.daily:
                source = (
                    f"SELECT make_timestamp(epoch_us(hour) + spread.h * {_US_PER_HOUR}) AS hour, "
                    f"trim(account_id) AS account_id, {keys}, quantity / 24.0 AS quantity "
                    f"FROM ({DEMAND_SQL}) AS demand CROSS JOIN range(24) AS spread(h)"
                )
            else:
                source = (
                    f"SELECT {hour} AS hour, trim(account_id) AS account_id, {keys}, quantity "
                    f"FROM ({DEMAND_SQL}) AS demand"
                )
            connection.execute(f"CREATE OR REPLACE TEMP TABLE {STAGED_TABLE} AS {source}")
        finally:
            connection.execute(f"DROP TABLE IF EXISTS {CLASSIFIED_TABLE}")
        usage = _described(connection, classified)
    return StagedBill(usage=usage, report=classified.report)


def _problem_count(connection: duckdb.DuckDBPyConnection, daily: bool) -> int:
    """Demand rows the canonical rules would reject or change (see the module docstring)."""
    not_midnight = f"epoch_us(hour) % {_US_PER_DAY} <> 0" if daily else "FALSE"
    row = connection.execute(
        f"""SELECT count(*) FILTER (WHERE NOT isfinite(quantity) OR {not_midnight}
                OR account_id <> trim(account_id))
        FROM ({DEMAND_SQL}) AS demand"""
    ).fetchall()[0]
    keys = connection.execute(
        f"SELECT DISTINCT {', '.join(KEY_COLUMNS)} FROM {CLASSIFIED_TABLE} WHERE reason = ''"
    ).df()
    return int(row[0]) + _bad_keys(keys)


def _bad_keys(keys: pd.DataFrame) -> int:
    """Distinct keys :func:`usage.table.validate_usage_table` rejects or spells otherwise."""
    if keys.empty:
        return 0
    frame = keys.assign(hour=pd.Timestamp(0, tz="UTC"), quantity=0.0)[list(USAGE_COLUMNS)]
    try:
        canonical = validate_usage_table(frame, source="keys")
    except UsageInputError:
        return 1
    given = frame[list(KEY_COLUMNS)].astype(str)
    spelled = canonical[list(KEY_COLUMNS)].astype(str)
    order = list(KEY_COLUMNS)
    same = (
        given.sort_values(order)
        .reset_index(drop=True)
        .equals(spelled.sort_values(order).reset_index(drop=True))
    )
    return 0 if same else 1


def _described(
    connection: duckdb.DuckDBPyConnection, classified: ClassifiedUsage
) -> ValidatedUsage:
    """The :class:`ValidatedUsage` of :data:`STAGED_TABLE`."""
    rows, hours, first, last = connection.execute(
        f"SELECT count(*), coalesce(sum(quantity), 0), epoch_us(min(hour)), epoch_us(max(hour)) "
        f"FROM {STAGED_TABLE}"
    ).fetchall()[0]
    listed = connection.execute(
        f"SELECT DISTINCT account_id, instance_type FROM {STAGED_TABLE}"
    ).fetchall()
    report = classified.report
    return ValidatedUsage(
        select_sql=f"SELECT {', '.join(USAGE_COLUMNS)} FROM {STAGED_TABLE}",
        files=report.files,
        superseded_files=report.superseded_files,
        line_items=report.kept_line_items,
        line_item_instance_hours=report.kept_quantity,
        line_item_quantity_by_unit=report.kept_quantity_by_unit,
        row_count=int(rows),
        instance_hours=float(hours),
        first_hour=None if first is None else pd.Timestamp(int(first), unit="us", tz="UTC"),
        last_hour=None if last is None else pd.Timestamp(int(last), unit="us", tz="UTC"),
        accounts=tuple(sorted({str(a) for a, _ in listed})),
        instance_types=tuple(sorted({str(t) for _, t in listed})),
    )


def drop_staged(connection: duckdb.DuckDBPyConnection) -> None:
    """Drop :data:`STAGED_TABLE` (and a classified table left behind by a failure)."""
    connection.execute(f"DROP TABLE IF EXISTS {STAGED_TABLE}")
    connection.execute(f"DROP TABLE IF EXISTS {CLASSIFIED_TABLE}")


__all__ = [
    "STAGED_TABLE",
    "StagedBill",
    "drop_staged",
    "stage_bill_files",
    "stage_classified",
    "utc_session",
]
