"""Canonical usage files as DuckDB relations: their columns, distinct values, maps and statistics.

The building blocks of :mod:`usage.validate_sql`: how a file is read (:class:`CanonicalFile`), the
one scan that collects its distinct hours and keys (:func:`scan_distinct_values`), the maps that
turn them into canonical values with the vocabularies of :mod:`usage.table`
(:func:`map_hour_texts`, :func:`key_map`), and the scan that counts each key's rows and hours
(:func:`staged_statistics`). Hours travel as microseconds since the epoch (UTC) until they are
stored (``make_timestamp``; casting a ``TIMESTAMPTZ`` row by row costs a second per 20 M rows).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from pricing.errors import UnknownInstanceTypeError, UnknownPlatformError
from pricing.instance_types import parse_instance_type
from pricing.platforms import parse_platform
from pricing.readers.duckdb_progress import reporting_progress
from pricing.regions import REGION_CODES
from usage.demand_sql import sql_string
from usage.errors import UsageInputError
from usage.table import _TENANCY_SPELLINGS, _ZONE_SUFFIX, KEY_COLUMNS, USAGE_COLUMNS

_US_PER_HOUR: Final = 3_600_000_000
_NUMBER_TYPES: Final = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "BOOLEAN",
)  # fmt: skip
KEYS_TABLE: Final = "commitopt_usage_keys"
"""Temporary table: each valid raw key of the files, its ``key_id`` and canonical columns."""
STATS_TABLE: Final = "commitopt_usage_stats"
"""Temporary table: rows, hours and sums per file and key (:func:`staged_statistics`)."""


@dataclass(frozen=True)
class CanonicalFile:
    """One canonical usage file and how DuckDB reads it.

    Attributes
    ----------
    index
        Its position among the files of an import.
    path
        The file.
    source
        The SQL table function that reads it (CSV: every column as text, as
        :func:`usage.readers.read_canonical` reads it).
    columns
        Its column names.
    hour_kind
        ``zoned`` (a timestamp with a time zone), ``naive`` (one without), ``number`` or ``text``.
    quantity_type
        DuckDB type of the ``quantity`` column.
    format
        ``Parquet`` or ``CSV``.
    """

    index: int
    path: Path
    source: str
    columns: tuple[str, ...]
    hour_kind: str
    quantity_type: str
    format: str


@dataclass(frozen=True)
class ValidatedUsage:
    """Canonical usage files checked in SQL (:func:`usage.validate_sql.validate_canonical_files`).

    Attributes
    ----------
    select_sql
        A query of the canonical rows to store (hours in the period asked for): ``hour``
        (``TIMESTAMP``, UTC), the key columns (canonical values) and ``quantity``; valid while the
        connection that validated the files is open.
    files, superseded_files
        Files read, and files left out as copies of an earlier one.
    line_items, line_item_instance_hours
        Rows of the files read, and their instance-hours, whatever their hour.
    row_count, instance_hours
        Rows to store, and their instance-hours.
    first_hour, last_hour
        First and last hour to store (UTC), ``None`` when there is none.
    accounts, instance_types
        The distinct accounts and instance types to store, sorted.
    """

    select_sql: str
    files: tuple[str, ...]
    superseded_files: tuple[str, ...]
    line_items: int
    line_item_instance_hours: float
    row_count: int
    instance_hours: float
    first_hour: pd.Timestamp | None
    last_hour: pd.Timestamp | None
    accounts: tuple[str, ...]
    instance_types: tuple[str, ...]


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def describe_canonical_file(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    index: int,
    *,
    staging: Path | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> CanonicalFile:
    """How to read ``path``: its table function, columns, and the kind of its hours.

    With ``staging``, a CSV file is first copied there as Parquet (every column as text, rows
    in the file's order, so row positions stay the CSV's), and read from that copy;
    ``progress(percent, 100)`` is called while it is copied.

    Raises
    ------
    UsageInputError
        A file that cannot be read, or lacks a needed column (the message of
        :func:`usage.table.validate_usage_table`).
    """
    with path.open("rb") as stream:
        is_parquet = stream.read(4) == b"PAR1"
    quoted = sql_string(str(path))
    source = (
        f"read_parquet({quoted})"
        if is_parquet
        else f"read_csv({quoted}, all_varchar=true, header=true)"
    )
    try:
        described = connection.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        if staging is not None and not is_parquet:
            source = _staged_copy(connection, source, staging / f"usage-{index}.parquet", progress)
    except duckdb.Error as error:
        raise UsageInputError(
            str(path),
            f"cannot be read as {'Parquet' if is_parquet else 'CSV'} ({_first_line(error)})",
            "pass unmodified, complete files (re-download a truncated or corrupt one)",
        ) from error
    types = {str(row[0]): str(row[1]).upper() for row in described}
    found = list(types)
    missing = [c for c in USAGE_COLUMNS if c != "account_id" and c not in types]
    if missing:
        shown = ", ".join(found[:12]) + (", ..." if len(found) > 12 else "")
        raise UsageInputError(
            str(path),
            f"missing column(s) {', '.join(missing)} (needed: {', '.join(USAGE_COLUMNS)}; "
            f"found: {shown or 'none'})",
            "rename or add the columns (account_id is optional)",
        )
    return CanonicalFile(
        index, path, source, tuple(found), _hour_kind(types["hour"]), types["quantity"],
        "Parquet" if is_parquet else "CSV",
    )  # fmt: skip


def _staged_copy(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    target: Path,
    progress: Callable[[int, int | None], None] | None,
) -> str:
    """Copy a CSV table function's rows, in order, to a Parquet file; its ``read_parquet``."""
    previous = connection.execute("SELECT current_setting('preserve_insertion_order')").fetchall()
    connection.execute("SET preserve_insertion_order = true")  # row positions are the CSV's
    try:
        with reporting_progress(connection, progress, None):
            connection.execute(
                f"COPY (SELECT * FROM {source}) TO {sql_string(str(target))} (FORMAT parquet)"
            )
    finally:
        connection.execute(f"SET preserve_insertion_order = {bool(previous[0][0])}")
    return f"read_parquet({sql_string(str(target))})"


def _hour_kind(duckdb_type: str) -> str:
    """How pandas would see an ``hour`` column of this DuckDB type (see ``_conform_hours``)."""
    if "WITH TIME ZONE" in duckdb_type or duckdb_type.startswith("TIMESTAMPTZ"):
        return "zoned"
    if duckdb_type.startswith("TIMESTAMP") or duckdb_type == "DATE":
        return "naive"
    if duckdb_type.startswith(_NUMBER_TYPES):
        return "number"
    return "text"


def quantity_sql(file: CanonicalFile) -> str:
    """``quantity`` as DOUBLE, NULL where ``pd.to_numeric(errors="coerce")`` gives NaN."""
    if file.quantity_type.startswith(_NUMBER_TYPES):
        return "CAST(quantity AS DOUBLE)"
    text = "CAST(quantity AS VARCHAR)"
    # DuckDB reads '1_000' as 1000; pandas does not
    return f"TRY_CAST(CASE WHEN contains({text}, '_') THEN NULL ELSE {text} END AS DOUBLE)"


def hour_micros_sql(file: CanonicalFile, *, raw: bool = False) -> str:
    """The hour as microseconds since the epoch (zoned hours), or as text (``raw``, text hours)."""
    if file.hour_kind == "zoned":
        return "epoch_us(hour)"
    return "CAST(hour AS VARCHAR)" if raw else "hour_us"


def _raw_key_sql(file: CanonicalFile) -> str:
    return ", ".join(
        f'CAST("{c}" AS VARCHAR) AS raw_{c}' if c in file.columns else f"NULL::VARCHAR AS raw_{c}"
        for c in KEY_COLUMNS
    )


# --------------------------------------------------------------------------------------------
# distinct values


@dataclass(frozen=True)
class DistinctValues:
    """What one scan of a file found: its distinct hours and keys, its bad quantities.

    Attributes
    ----------
    rows
        Rows of the file.
    hours
        ``raw_hour`` (text, or microseconds since the epoch for zoned hours), ``rows``.
    keys
        ``file_index``, ``raw_<key column>`` (text, NULL when missing), ``rows``.
    bad_quantity_rows, negative_quantity_rows
        Rows whose quantity is missing, NaN, infinite or not a number; rows where it is < 0.
    """

    rows: int
    hours: pd.DataFrame
    keys: pd.DataFrame
    bad_quantity_rows: int
    negative_quantity_rows: int


def scan_distinct_values(
    connection: duckdb.DuckDBPyConnection,
    file: CanonicalFile,
    progress: Callable[[int, int | None], None] | None = None,
) -> DistinctValues:
    """One scan of ``file``: rows by raw hour and by raw key, and its bad quantities."""
    hour = (
        hour_micros_sql(file, raw=True) if file.hour_kind in ("zoned", "text") else "NULL::VARCHAR"
    )
    quantity = quantity_sql(file)
    raw_keys = [f"raw_{c}" for c in KEY_COLUMNS]
    sql = f"""
        SELECT GROUPING(raw_hour) = 0 AS by_hour, raw_hour, {", ".join(raw_keys)},
            count(*) AS rows,
            count(*) FILTER (WHERE quantity IS NULL OR NOT isfinite(quantity)) AS bad_quantity,
            count(*) FILTER (WHERE quantity < 0) AS negative_quantity
        FROM (SELECT {hour} AS raw_hour, {_raw_key_sql(file)}, {quantity} AS quantity
              FROM {file.source})
        GROUP BY GROUPING SETS ((raw_hour), ({", ".join(raw_keys)}))
    """
    try:
        with reporting_progress(connection, progress, None):
            groups = connection.execute(sql).df()
    except duckdb.Error as error:
        raise UsageInputError(
            str(file.path),
            f"cannot be read as {file.format} ({_first_line(error)})",
            "pass unmodified, complete files (re-download a truncated or corrupt one)",
        ) from error
    by_hour = groups["by_hour"].to_numpy(dtype=bool)
    keys = groups.loc[~by_hour, [*raw_keys, "rows"]].reset_index(drop=True)
    keys.insert(0, "file_index", file.index)
    hours = groups.loc[by_hour, ["raw_hour", "rows"]].reset_index(drop=True)
    return DistinctValues(
        rows=int(keys["rows"].sum()),
        hours=hours,
        keys=keys.astype({"rows": "int64"}),
        bad_quantity_rows=int(groups.loc[~by_hour, "bad_quantity"].sum()),
        negative_quantity_rows=int(groups.loc[~by_hour, "negative_quantity"].sum()),
    )


# --------------------------------------------------------------------------------------------
# maps of distinct values to canonical ones


@dataclass(frozen=True)
class HourTexts:
    """Distinct hour texts of one file and what they mean.

    Attributes
    ----------
    table
        ``raw_hour``, ``rows``, ``status`` (``ok``, ``malformed``, ``naive``, ``off_hour``),
        ``hour_us`` (microseconds since the epoch, UTC; 0 unless ok).
    valid
        ``raw_hour``, ``hour_us`` of the ok ones (the join table).
    """

    table: pd.DataFrame
    valid: pd.DataFrame


def map_hour_texts(hours: pd.DataFrame) -> HourTexts:
    """Parse distinct hour texts with the rules of ``validate_usage_table`` (docs/usage-table.md).

    A zone is required (``Z``, an offset, ``UTC``/``GMT``); ISO 8601 first, other layouts with a
    zone as pandas guesses them; the result must be a whole UTC hour.
    """
    raw = hours["raw_hour"].astype(object)
    missing = raw.isna().to_numpy()
    texts = raw.where(~missing, "").astype(str).reset_index(drop=True)
    has_zone = texts.str.contains(_ZONE_SUFFIX, regex=True).to_numpy()
    stripped = texts.str.replace(r"\s*(?:UTC|GMT|utc|gmt)\s*$", "Z", regex=True)
    parsed = pd.to_datetime(stripped, utc=True, format="ISO8601", errors="coerce")
    retry = parsed.isna().to_numpy() & has_zone
    if retry.any():
        parsed[retry] = pd.to_datetime(stripped[retry], utc=True, format="mixed", errors="coerce")
    ok = parsed.notna().to_numpy() & ~missing
    micros = np.zeros(len(texts), dtype=np.int64)
    if ok.any():
        micros[ok] = pd.DatetimeIndex(parsed[ok]).as_unit("us").asi8
    status = np.where(~ok, "malformed", np.where(~has_zone, "naive", "ok")).astype(object)
    off_hour = (status == "ok") & (micros % _US_PER_HOUR != 0)
    status[off_hour] = "off_hour"
    table = pd.DataFrame(
        {
            "raw_hour": raw.reset_index(drop=True),
            "rows": hours["rows"].to_numpy(dtype=np.int64),
            "status": status,
            "hour_us": micros,
        }
    )
    good = table["status"] == "ok"
    valid = table.loc[good, ["raw_hour", "hour_us"]].astype({"raw_hour": str})
    return HourTexts(table, valid.reset_index(drop=True))


def _instance_type(name: str) -> str | None:
    try:
        parse_instance_type(name)
    except UnknownInstanceTypeError:
        return None
    return name


def _platform(text: str) -> str | None:
    try:
        return parse_platform(text)
    except UnknownPlatformError:
        return None


_REGIONS: Final = frozenset(REGION_CODES)
_CANONICAL: Final[dict[str, Callable[[str], str | None]]] = {
    "region": lambda text: text if text in _REGIONS else None,
    "instance_type": _instance_type,
    "platform": _platform,
    "tenancy": lambda text: _TENANCY_SPELLINGS.get(text.lower()),
}


@dataclass(frozen=True)
class KeyMap:
    """Distinct raw keys of every file and their canonical keys.

    Attributes
    ----------
    table
        ``file_index``, ``raw_<column>``, ``rows``, ``<column>_status`` (``ok``, ``missing``,
        ``unknown``) for region, instance type, platform and tenancy, ``key_id`` (-1 unless
        every column is ok).
    raw
        Each valid raw key (over all files) with its ``key_id`` and canonical columns: the join
        table (:data:`KEYS_TABLE`).
    valid
        The canonical keys: :data:`usage.table.KEY_COLUMNS`, sorted, ``key_id`` their position.
    """

    table: pd.DataFrame
    raw: pd.DataFrame
    valid: pd.DataFrame


def key_map(keys: pd.DataFrame) -> KeyMap:
    """Map raw keys to canonical ones (values trimmed; aliases resolved; the vocabularies of
    :func:`usage.table.validate_usage_table`)."""
    table = keys.reset_index(drop=True).copy()
    canonical = pd.DataFrame(index=table.index)
    account = table["raw_account_id"].astype("string").str.strip().fillna("")
    canonical["account_id"] = account.astype(object)
    valid = np.ones(len(table), dtype=bool)
    for column, rule in _CANONICAL.items():
        text = table[f"raw_{column}"].astype("string").str.strip()
        missing = (text.isna() | (text == "")).to_numpy(dtype=bool)
        names = pd.Series(pd.unique(text[~missing].astype(str)), dtype=object)
        known = {name: rule(name) for name in names}
        mapped = text.astype(object).map(known)
        unknown = ~missing & mapped.isna().to_numpy(dtype=bool)
        table[f"{column}_status"] = np.where(missing, "missing", np.where(unknown, "unknown", "ok"))
        canonical[column] = mapped
        valid &= ~missing & ~unknown
    keys_sorted = (
        canonical.loc[valid, list(KEY_COLUMNS)]
        .drop_duplicates()
        .sort_values(list(KEY_COLUMNS))
        .reset_index(drop=True)
    )
    keys_sorted["key_id"] = np.arange(len(keys_sorted), dtype=np.int64)
    merged = canonical.merge(keys_sorted, on=list(KEY_COLUMNS), how="left")
    table["key_id"] = merged["key_id"].fillna(-1).to_numpy(dtype=np.int64)
    raw_columns = [f"raw_{c}" for c in KEY_COLUMNS]
    raw = pd.concat(
        [table.loc[valid, [*raw_columns, "key_id"]].reset_index(drop=True),
         merged.loc[valid, list(KEY_COLUMNS)].reset_index(drop=True)],
        axis=1,
    ).drop_duplicates(raw_columns)  # fmt: skip
    return KeyMap(
        table,
        raw.astype({c: "string" for c in [*raw_columns, *KEY_COLUMNS]}).reset_index(drop=True),
        keys_sorted.astype({c: "string" for c in KEY_COLUMNS}),
    )


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
        hourly = f"SELECT epoch_us(hour) AS hour_us, {_raw_key_sql(file)}, " \
                 f"{quantity_sql(file)} AS quantity FROM {file.source}"  # fmt: skip
    else:
        hourly = (
            f"SELECT h.hour_us, {_raw_key_sql(file)}, {quantity_sql(file)} AS quantity "
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
class Statistics:
    """What :func:`staged_statistics` found."""

    duplicated_files: frozenset[int]
    kept_files: frozenset[int]
    overlap: tuple[int, int, str, str] | None
    line_items: int
    line_item_instance_hours: float
    row_count: int
    instance_hours: float
    first_hour: pd.Timestamp | None
    last_hour: pd.Timestamp | None
    accounts: tuple[str, ...]
    instance_types: tuple[str, ...]


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
    return Statistics(
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
    "CanonicalFile",
    "DistinctValues",
    "HourTexts",
    "KeyMap",
    "Statistics",
    "ValidatedUsage",
    "describe_canonical_file",
    "duplicated_cells",
    "hour_micros_sql",
    "key_map",
    "keyed_rows_sql",
    "map_hour_texts",
    "quantity_sql",
    "register",
    "scan_distinct_values",
    "staged_rows_sql",
    "staged_statistics",
]
