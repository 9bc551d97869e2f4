"""Canonical usage files, checked, as SQL: their canonical rows and the statistics of one scan.

Once :mod:`usage.canonical_maps` has mapped the distinct values of every file, the maps are
temporary tables (:data:`KEYS_TABLE`, :func:`hours_table`) and each file's valid rows are a join
(:func:`keyed_rows_sql`). One scan of them (:func:`staged_statistics`) counts each key's rows and
distinct hours (a bitstring per key and file), which finds duplicated (hour, key) rows, copies of
an earlier file and overlapping files; :func:`staged_rows_sql` is what an import inserts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from pricing.compute_keys import quantity_by_unit
from pricing.readers.duckdb_progress import reporting_progress
from usage.canonical_files import CanonicalFile, quantity_sql, raw_key_sql
from usage.table import KEY_COLUMNS

_US_PER_HOUR: Final = 3_600_000_000
KEYS_TABLE: Final = "commitopt_usage_keys"
"""Temporary table: each valid raw key of the files, its ``key_id`` and canonical columns."""
STATS_TABLE: Final = "commitopt_usage_stats"
"""Temporary table: rows, hours and sums per file and key (:func:`staged_statistics`)."""


@dataclass(frozen=True)
class StagedCounts:
    """What the checked files hold.

    Attributes
    ----------
    line_items, line_item_instance_hours
        Rows of the files read, and their quantity summed as it is (instance-hours, and for
        Fargate and Lambda keys vCPU-hours or GB-hours), whatever their hour.
    row_count, instance_hours
        Rows to store, and their instance-hours.
    first_hour, last_hour
        First and last hour to store (UTC), ``None`` when there is none.
    accounts, instance_types
        The distinct accounts and instance types to store, sorted.
    line_item_quantity_by_unit
        ``line_item_instance_hours`` by unit (:func:`pricing.compute_keys.quantity_by_unit`).
    """

    line_items: int
    line_item_instance_hours: float
    row_count: int
    instance_hours: float
    first_hour: pd.Timestamp | None
    last_hour: pd.Timestamp | None
    accounts: tuple[str, ...]
    instance_types: tuple[str, ...]
    line_item_quantity_by_unit: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class ValidatedUsage(StagedCounts):
    """Canonical usage files checked in SQL (:func:`usage.validate_sql.validate_canonical_files`),
    with their :class:`StagedCounts`.

    Attributes
    ----------
    select_sql
        A query of the canonical rows to store (hours in the period asked for): ``hour``
        (``TIMESTAMP``, UTC), the key columns (canonical values) and ``quantity``; valid while the
        connection that validated the files is open.
    files, superseded_files
        Files read, and files left out as copies of an earlier one.
    """

    select_sql: str
    files: tuple[str, ...]
    superseded_files: tuple[str, ...]


def register(connection: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    """Store ``frame`` as the temporary table ``name`` (replacing one of that name)."""
    view = f"{name}_incoming"
    connection.register(view, frame)
    try:
        connection.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {view}")
    finally:
        connection.unregister(view)


# --------------------------------------------------------------------------------------------
# the rows, keyed


def hours_table(file: CanonicalFile) -> str:
    """Temporary table of the valid hour texts of a text-hour file."""
    return f"commitopt_usage_hours_{file.index}"


def keyed_rows_sql(file: CanonicalFile) -> str:
    """``file_index, hour_us, key_id, <canonical key columns>, quantity`` of every valid row."""
    if file.hour_kind == "zoned":
        hourly = f"SELECT epoch_us(CAST(hour AS TIMESTAMPTZ)) AS hour_us, {raw_key_sql(file)}, " \
                 f"{quantity_sql(file)} AS quantity FROM {file.source}"  # fmt: skip
    else:
        hourly = (
            f"SELECT h.hour_us, {raw_key_sql(file)}, {quantity_sql(file)} AS quantity "
            f"FROM {file.source} JOIN {hours_table(file)} AS h "
            "ON h.raw_hour = CAST(hour AS VARCHAR)"
        )
    matches = " AND ".join(
        f"f.raw_{c} IS NOT DISTINCT FROM k.raw_{c}"
        if c == "account_id"
        else f"f.raw_{c} = k.raw_{c}"
        for c in KEY_COLUMNS
    )
    canonical = ", ".join(f"k.{c}" for c in KEY_COLUMNS)
    return (
        f"SELECT {file.index} AS file_index, f.hour_us, k.key_id, {canonical}, f.quantity "
        f"FROM ({hourly}) AS f JOIN {KEYS_TABLE} AS k ON {matches}"
    )


def _period_sql(start: pd.Timestamp | None, end: pd.Timestamp | None) -> str:
    conditions = ["TRUE"]
    if start is not None:
        conditions.append(f"hour_us >= {_micros(start)}")
    if end is not None:
        conditions.append(f"hour_us < {_micros(end)}")
    return " AND ".join(conditions)


def _micros(moment: pd.Timestamp) -> int:
    return int(pd.Timestamp(moment).value) // 1000  # value: nanoseconds, whatever the unit


def staged_rows_sql(
    files: Sequence[CanonicalFile], *, start: pd.Timestamp | None, end: pd.Timestamp | None
) -> str:
    """The canonical rows of ``files`` in ``[start, end)``: ``hour`` (TIMESTAMP, UTC), the key
    columns and ``quantity``."""
    union = " UNION ALL ".join(keyed_rows_sql(f) for f in files)
    return (
        f"SELECT make_timestamp(hour_us) AS hour, {', '.join(KEY_COLUMNS)}, quantity "
        f"FROM ({union}) AS staged WHERE {_period_sql(start, end)}"
    )


@dataclass(frozen=True)
class Statistics(StagedCounts):
    """What :func:`staged_statistics` found: the counts, and which files are copies or
    overlap."""

    duplicated_files: frozenset[int]
    kept_files: frozenset[int]
    overlap: tuple[int, int, str, str] | None


def staged_statistics(
    connection: duckdb.DuckDBPyConnection,
    files: Sequence[CanonicalFile],
    span: tuple[int, int],
    key_count: int,
    *,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    use_bitstrings: bool,
    progress: Callable[[int, int | None], None] | None = None,
) -> Statistics:
    """One scan of ``files`` (valid rows only): per file and key, rows, distinct hours, sums.

    Duplicated (hour, key) rows in a file show as a key with fewer distinct hours than rows; a
    file whose rows equal an earlier file's (same count, quantity sum and row-hash sum) is a copy;
    kept files overlap when a key's hours, over the files, are fewer than their sum.
    """
    union = " UNION ALL ".join(keyed_rows_sql(f) for f in files)
    first, last = span
    hour_index = f"(hour_us // {_US_PER_HOUR})"
    distinct_hours = (
        f"bitstring_agg({hour_index}, {first}, {last})"
        if use_bitstrings
        else "NULL::BIT"  # counted exactly below, by grouping rows
    )
    in_period = _period_sql(start, end)
    with reporting_progress(connection, progress, None):
        connection.execute(
            f"""CREATE OR REPLACE TEMP TABLE {STATS_TABLE} AS
            SELECT file_index, key_id, count(*) AS rows, {distinct_hours} AS hours,
                sum(quantity) AS quantity,
                sum(hash({hour_index}, key_id, quantity + 0.0)) AS fingerprint,
                count(*) FILTER (WHERE {in_period}) AS period_rows,
                coalesce(sum(quantity) FILTER (WHERE {in_period}), 0) AS period_quantity,
                min(hour_us) FILTER (WHERE {in_period}) AS period_first,
                max(hour_us) FILTER (WHERE {in_period}) AS period_last
            FROM ({union}) AS staged GROUP BY file_index, key_id"""
        )
    if use_bitstrings:
        duplicated = {
            int(row[0])
            for row in connection.execute(
                f"SELECT DISTINCT file_index FROM {STATS_TABLE} WHERE rows <> bit_count(hours)"
            ).fetchall()
        }
    else:
        duplicated = {
            int(row[0])
            for row in connection.execute(
                f"SELECT DISTINCT file_index FROM ({union}) AS staged "
                f"GROUP BY file_index, {hour_index}, key_id HAVING count(*) > 1"
            ).fetchall()
        }
    per_file = connection.execute(
        f"SELECT file_index, sum(rows), sum(quantity), sum(fingerprint) FROM {STATS_TABLE} "
        "GROUP BY file_index ORDER BY file_index"
    ).fetchall()
    kept: list[int] = []
    seen: set[tuple[int, float, int]] = set()
    for index, rows, quantity, fingerprint in per_file:
        identity = (int(rows), float(quantity), int(fingerprint))
        if identity in seen:
            continue
        seen.add(identity)
        kept.append(int(index))
    kept_list = ", ".join(str(i) for i in kept) or "-1"
    overlap = None
    if len(kept) > 1:
        overlap = _first_overlap(connection, union, kept_list, hour_index, use_bitstrings)
    totals = connection.execute(
        f"""SELECT coalesce(sum(rows), 0), coalesce(sum(quantity), 0),
            coalesce(sum(period_rows), 0), coalesce(sum(period_quantity), 0),
            min(period_first), max(period_last)
        FROM {STATS_TABLE} WHERE file_index IN ({kept_list})"""
    ).fetchall()[0]
    listed = connection.execute(
        f"""SELECT DISTINCT k.account_id, k.instance_type FROM {STATS_TABLE} s
        JOIN (SELECT DISTINCT key_id, account_id, instance_type FROM {KEYS_TABLE}) k
          ON k.key_id = s.key_id
        WHERE s.file_index IN ({kept_list}) AND s.period_rows > 0"""
    ).fetchall()
    by_type = connection.execute(
        f"""SELECT k.instance_type, coalesce(sum(s.quantity), 0) FROM {STATS_TABLE} s
        JOIN (SELECT DISTINCT key_id, instance_type FROM {KEYS_TABLE}) k ON k.key_id = s.key_id
        WHERE s.file_index IN ({kept_list}) GROUP BY k.instance_type"""
    ).fetchall()
    types = pd.Series([str(t) for t, _ in by_type], dtype="object")
    return Statistics(
        line_item_quantity_by_unit=quantity_by_unit(types, pd.Series([q for _, q in by_type])),
        duplicated_files=frozenset(duplicated),
        kept_files=frozenset(kept),
        overlap=overlap,
        line_items=int(totals[0]),
        line_item_instance_hours=float(totals[1]),
        row_count=int(totals[2]),
        instance_hours=float(totals[3]),
        first_hour=None if totals[4] is None else pd.Timestamp(int(totals[4]), unit="us", tz="UTC"),
        last_hour=None if totals[5] is None else pd.Timestamp(int(totals[5]), unit="us", tz="UTC"),
        accounts=tuple(sorted({str(a) for a, _ in listed})),
        instance_types=tuple(sorted({str(t) for _, t in listed})),
    )


def _first_overlap(
    connection: duckdb.DuckDBPyConnection,
    union: str,
    kept_list: str,
    hour_index: str,
    use_bitstrings: bool,
) -> tuple[int, int, str, str] | None:
    """The first row (file order, then hour and key) whose hour and key another kept file has."""
    if use_bitstrings:
        keys = connection.execute(
            f"""SELECT key_id FROM {STATS_TABLE} WHERE file_index IN ({kept_list})
            GROUP BY key_id HAVING sum(bit_count(hours)) <> bit_count(bit_or(hours))"""
        ).fetchall()
        if not keys:
            return None
        only = f"AND key_id IN ({', '.join(str(int(k[0])) for k in keys)})"
    else:
        only = ""
    rows = connection.execute(
        f"""SELECT min(file_index) AS file_index, hour_us, key_id,
            any_value(instance_type), any_value(region)
        FROM ({union}) AS staged WHERE file_index IN ({kept_list}) {only}
        GROUP BY hour_us, key_id HAVING count(DISTINCT file_index) > 1
        ORDER BY file_index, {hour_index}, key_id LIMIT 1"""
    ).fetchall()
    if not rows:
        return None
    file_index, hour_us, _key, instance_type, region = rows[0]
    return int(file_index), int(hour_us), str(instance_type), str(region)


def duplicated_cells(
    connection: duckdb.DuckDBPyConnection, file: CanonicalFile, key_count: int
) -> tuple[npt.NDArray[np.int64], int]:
    """The (hour, key) cells of ``file`` held by several rows, as ``hour × key_count + key_id``
    [hours since the epoch], and how many rows they hold."""
    rows = connection.execute(
        f"""SELECT (hour_us // {_US_PER_HOUR}) * {max(key_count, 1)} + key_id AS cell,
            count(*) AS n
        FROM ({keyed_rows_sql(file)}) AS staged GROUP BY cell HAVING count(*) > 1"""
    ).fetchall()
    cells = np.array([int(r[0]) for r in rows], dtype=np.int64)
    return cells, int(sum(int(r[1]) for r in rows))


__all__ = [
    "KEYS_TABLE",
    "STATS_TABLE",
    "StagedCounts",
    "Statistics",
    "ValidatedUsage",
    "duplicated_cells",
    "hours_table",
    "keyed_rows_sql",
    "register",
    "staged_rows_sql",
    "staged_statistics",
]
