"""Canonical usage files as DuckDB reads them, and the one scan that finds their distinct values.

:class:`CanonicalFile` says how a CSV or Parquet file of the canonical table is read (a CSV file
may first be copied once, in order, to Parquet) and how pandas would see its ``hour`` column;
:func:`scan_distinct_values` groups its rows by raw hour and by raw key in one scan, counting bad
quantities. Zoned hours travel as microseconds since the epoch (``epoch_us``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import duckdb
import pandas as pd

from pricing.readers.duckdb_progress import reporting_progress
from usage.demand_sql import sql_string
from usage.errors import UsageInputError
from usage.table import KEY_COLUMNS, USAGE_COLUMNS
from usage.text_files import duplicated_header_error, not_text_error

_NUMBER_TYPES: Final = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "BOOLEAN",
)  # fmt: skip


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
        raise (
            (None if is_parquet else not_text_error(path))
            or UsageInputError(
                str(path),
                f"cannot be read as {'Parquet' if is_parquet else 'CSV'} ({_first_line(error)})",
                "pass unmodified, complete files (re-download a truncated or corrupt one)",
            )
        ) from error
    types = {str(row[0]): str(row[1]).upper() for row in described}
    found = list(types)
    repeated = None if is_parquet else duplicated_header_error(path, found)
    if repeated is not None:
        raise repeated
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
        return "epoch_us(CAST(hour AS TIMESTAMPTZ))"
    return "CAST(hour AS VARCHAR)" if raw else "hour_us"


def raw_key_sql(file: CanonicalFile) -> str:
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
        FROM (SELECT {hour} AS raw_hour, {raw_key_sql(file)}, {quantity} AS quantity
              FROM {file.source})
        GROUP BY GROUPING SETS ((raw_hour), ({", ".join(raw_keys)}))
    """
    try:
        with reporting_progress(connection, progress, None):
            groups = connection.execute(sql).df()
    except duckdb.Error as error:
        raise (
            (not_text_error(file.path) if file.format == "CSV" else None)
            or UsageInputError(
                str(file.path),
                f"cannot be read as {file.format} ({_first_line(error)})",
                "pass unmodified, complete files (re-download a truncated or corrupt one)",
            )
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


__all__ = [
    "CanonicalFile",
    "DistinctValues",
    "describe_canonical_file",
    "hour_micros_sql",
    "quantity_sql",
    "raw_key_sql",
    "scan_distinct_values",
]
