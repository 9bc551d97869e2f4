"""Canonical usage files checked where they lie, by DuckDB: the rules of ``validate_usage_table``.

:func:`validate_canonical_files` applies the rules of :func:`usage.table.validate_usage_table` to
canonical CSV and Parquet files without loading them into pandas, so that a year of usage for
thousands of keys is checked, and then stored (:class:`ValidatedUsage`), in bounded memory:

1. one scan per file groups its rows by raw hour and by raw key (a few thousand groups), counting
   rows and bad quantities;
2. only those distinct values travel to Python, where the vocabularies of :mod:`usage.table`
   (region codes, :func:`pricing.platforms.parse_platform`, the tenancy spellings,
   :func:`pricing.instance_types.parse_instance_type`, its hour rules) turn them into canonical
   values, or name them bad;
3. one scan of every file, joined to those small maps, counts each canonical key's rows and the
   distinct hours it has (a bitstring per key), which finds duplicated (hour, key) rows, files
   that are copies of an earlier one, and files that overlap.

The checks come in the order ``validate_usage_table`` makes them (missing columns; the hour;
region, instance type, platform and tenancy, each missing then unknown; quantities not finite
then negative; duplicates), file by file, and fail with its message: the file, the column, how
many rows, the first three (0-based row positions in the file, with their values) and the fix.
Only a failing check scans its file once more, in order, to find those rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from pricing.databases import DATABASE_PLATFORM_NAMES, DEPLOYMENTS
from pricing.services import SERVICE_MISMATCH_FIX
from usage.canonical_files import (
    CanonicalFile,
    DistinctValues,
    describe_canonical_file,
    hour_micros_sql,
    quantity_sql,
    scan_distinct_values,
)
from usage.canonical_maps import HourTexts, KeyMap, key_map, map_hour_texts
from usage.canonical_sql import (
    KEYS_TABLE,
    StagedCounts,
    ValidatedUsage,
    duplicated_cells,
    hours_table,
    register,
    staged_rows_sql,
    staged_statistics,
)
from usage.errors import UsageInputError
from usage.table import DUPLICATE_FIX, KEY_COLUMNS, OFF_HOUR_FIX, SERVICE_MISMATCH_WHAT

_SHOWN_ROWS: Final = 3
_US_PER_HOUR: Final = 3_600_000_000
_MAX_BITSTRING_BITS: Final = 2_000_000_000
"""Largest (keys × hours) the duplicate check keeps as bitstrings [bits]; beyond, it groups rows."""
_BATCH_ROWS: Final = 262_144
_TEXT_FIXES: Final[dict[str, str]] = {
    "region": "use AWS region codes such as us-east-1",
    "instance_type": "use EC2 instance type names of the form family.size, such as m5.large",
    "platform": (
        "use RI product descriptions ({platforms}, ...) or, for databases, reservation product "
        "descriptions ({database_platforms}, ...)"
    ),
    "tenancy": (
        "use {tenancies} (dedicated hosts are not commitment demand) or, for databases, a "
        "deployment ({deployments})"
    ),
}
_NAIVE_FIX: Final = (
    "give hours with a time zone (e.g. '2024-01-01T00:00:00Z'), or localize them first with "
    "Series.dt.tz_localize('UTC')"
)
_ISO_FIX: Final = "give ISO 8601 timestamps with a time zone, e.g. '2024-01-01T00:00:00Z'"


@dataclass(frozen=True)
class _Problem:
    """One failed check of one file: what to say, and which rows to show."""

    column: str
    what: str
    fix: str
    rows: int
    projection: str
    """SQL select list over the file: ``v`` (the value shown) and what ``flag`` needs."""
    flag: Callable[[pd.DataFrame], npt.NDArray[np.bool_]]


def validate_canonical_files(
    connection: duckdb.DuckDBPyConnection,
    files: Sequence[str | Path],
    *,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    staging: Path | None = None,
) -> ValidatedUsage:
    """Check canonical usage files in SQL and describe the rows an import would store.

    Parameters
    ----------
    connection
        A DuckDB connection in UTC; small temporary tables (the maps of distinct values) are
        left on it for :attr:`ValidatedUsage.select_sql`.
    files
        CSV or Parquet files of the canonical table (docs/usage-table.md), in order.
    start, end
        Keep hours in ``[start, end)`` (aware, UTC) for the rows to store; every row is checked.
    progress
        Called as ``progress(percent, 100)`` while the files are scanned.
    staging
        A folder where each CSV file is copied once, in order, as Parquet, so that the later
        scans (and the insert of :attr:`ValidatedUsage.select_sql`) do not parse the CSV again;
        it must outlive the use of ``select_sql``. ``None`` reads the CSV each time.

    Returns
    -------
    ValidatedUsage
        What the files hold, and the SQL that selects their canonical rows.

    Raises
    ------
    UsageInputError
        Files that cannot be read, and every error of
        :func:`usage.table.validate_usage_table`, with its message; overlapping files as
        :func:`usage.readers.read_canonical` names them.
    """
    steps = 2 * len(files) + 1  # staging (CSV only), the distinct values, the statistics
    described = [
        describe_canonical_file(
            connection, Path(f), i, staging=staging, progress=_share(progress, i, steps)
        )
        for i, f in enumerate(files)
    ]
    scans: list[DistinctValues] = []
    for file in described:
        share = _share(progress, len(described) + len(scans), steps)
        scans.append(scan_distinct_values(connection, file, share))
    hours = [map_hour_texts(scan.hours) if file.hour_kind == "text" else None
             for file, scan in zip(described, scans, strict=True)]  # fmt: skip
    keys = key_map(pd.concat([scan.keys for scan in scans], ignore_index=True))
    first_bad = next(
        (i for i, file in enumerate(described)
         if _first_problem(file, scans[i], hours[i], keys) is not None),
        len(described),
    )  # fmt: skip
    checked = described[:first_bad]
    statistics = None
    if checked:
        register(connection, KEYS_TABLE, keys.raw)
        for file in checked:
            texts = hours[file.index]
            if texts is not None:
                register(connection, hours_table(file), texts.valid)
        span = _hour_span(checked, scans, hours)
        statistics = staged_statistics(
            connection, checked, span, len(keys.valid), start=start, end=end,
            use_bitstrings=(span[1] - span[0] + 1) * max(len(keys.valid), 1)
            <= _MAX_BITSTRING_BITS,
            progress=_share(progress, steps - 1, steps),
        )  # fmt: skip
        for file in checked:
            if file.index in statistics.duplicated_files:
                raise _duplicate_error(connection, file, keys, hours[file.index])
    if first_bad < len(described):
        file = described[first_bad]
        problem = _first_problem(file, scans[first_bad], hours[first_bad], keys)
        assert problem is not None
        raise _problem_error(connection, file, problem)
    assert statistics is not None
    if statistics.overlap is not None:
        raise _overlap_error(statistics.overlap, statistics.kept_files, described)
    return ValidatedUsage(
        select_sql=staged_rows_sql(
            [f for f in described if f.index in statistics.kept_files], start=start, end=end
        ),
        files=tuple(str(f.path) for f in described if f.index in statistics.kept_files),
        superseded_files=tuple(
            str(f.path) for f in described if f.index not in statistics.kept_files
        ),
        **{field.name: getattr(statistics, field.name) for field in fields(StagedCounts)},
    )


def _share(
    progress: Callable[[int, int | None], None] | None, index: int, count: int
) -> Callable[[int, int | None], None] | None:
    """Map the percentage of step ``index`` (from 0) of ``count`` to a share of the whole."""
    if progress is None:
        return None
    report = progress

    def staged(done: int, total: int | None) -> None:
        report(int(100 * (index + (done / total if total else 0.0)) / count), 100)

    return staged


def _hour_span(
    files: Sequence[CanonicalFile],
    scans: Sequence[DistinctValues],
    hours: Sequence[HourTexts | None],
) -> tuple[int, int]:
    """First and last hour [hours since the epoch] over ``files``."""
    firsts: list[int] = []
    lasts: list[int] = []
    for file in files:
        scan = scans[file.index]
        texts = hours[file.index]
        micros = texts.valid["hour_us"] if texts is not None else scan.hours["raw_hour"].dropna()
        if len(micros):
            firsts.append(int(micros.min()) // _US_PER_HOUR)
            lasts.append(int(micros.max()) // _US_PER_HOUR)
    return (min(firsts), max(lasts)) if firsts else (0, 0)


# --------------------------------------------------------------------------------------------
# the checks of one file, in validate_usage_table's order


def _first_problem(
    file: CanonicalFile, scan: DistinctValues, hours: HourTexts | None, keys: KeyMap
) -> _Problem | None:
    """The first check ``file`` fails, from its distinct values, or None."""
    problem = _hour_problem(file, scan, hours)
    if problem is not None:
        return problem
    mine = keys.table[keys.table["file_index"] == file.index]
    for column in KEY_COLUMNS[1:]:
        for status, what in (("missing", "missing or empty value(s)"),
                             ("unknown", f"unknown {column}(s)")):  # fmt: skip
            bad = mine[mine[f"{column}_status"] == status]
            if len(bad):
                raw = set(bad[f"raw_{column}"].dropna())
                has_null = bool(bad[f"raw_{column}"].isna().any())
                fix = "fill them in" if status == "missing" else _TEXT_FIXES[column].format(
                    platforms=", ".join(_platform_names()[:4]),
                    tenancies=" or ".join(_tenancies()),
                    database_platforms=", ".join(DATABASE_PLATFORM_NAMES[:3]),
                    deployments=", ".join(DEPLOYMENTS),
                )  # fmt: skip
                return _Problem(
                    column, what, fix, int(bad["rows"].sum()),
                    f"CAST({_quoted(column)} AS VARCHAR) AS v",
                    _value_in(raw, has_null),
                )  # fmt: skip
    misfits = mine[mine["misfit"]]
    if len(misfits):
        misfit_keys = set(
            zip(misfits["raw_instance_type"], misfits["raw_platform"], misfits["raw_tenancy"],
                strict=True)
        )  # fmt: skip
        return _Problem(
            "platform", SERVICE_MISMATCH_WHAT, SERVICE_MISMATCH_FIX, int(misfits["rows"].sum()),
            f"CAST({_quoted('platform')} AS VARCHAR) AS v, "
            f"CAST({_quoted('instance_type')} AS VARCHAR) AS t, "
            f"CAST({_quoted('tenancy')} AS VARCHAR) AS d",
            _key_in(misfit_keys),
        )  # fmt: skip
    quantity = quantity_sql(file)
    if scan.bad_quantity_rows:
        return _Problem(
            "quantity", "missing, NaN, infinite or non-numeric value(s)",
            "give instance-hours as finite numbers", scan.bad_quantity_rows,
            f"quantity AS v, ({quantity}) IS NULL OR NOT isfinite({quantity}) AS flag",
            _flag_column,
        )  # fmt: skip
    if scan.negative_quantity_rows:
        return _Problem(
            "quantity", "negative value(s)",
            "usage is instance-hours >= 0; drop refunds and credits",
            scan.negative_quantity_rows, f"quantity AS v, ({quantity}) < 0 AS flag", _flag_column,
        )  # fmt: skip
    return None


def _hour_problem(
    file: CanonicalFile, scan: DistinctValues, hours: HourTexts | None
) -> _Problem | None:
    if file.hour_kind in ("naive", "number") and scan.rows:
        what, fix = (
            ("timezone-naive timestamp(s)", _NAIVE_FIX)
            if file.hour_kind == "naive"
            else ("numbers instead of timestamps", _ISO_FIX)
        )
        return _Problem("hour", what, fix, scan.rows, "hour AS v", _every_row)
    if file.hour_kind == "zoned":
        groups = scan.hours
        missing = int(groups.loc[groups["raw_hour"].isna(), "rows"].sum())
        if missing:
            return _Problem(
                "hour", "missing timestamp(s)", "fill or drop them", missing,
                "hour AS v, hour IS NULL AS flag", _flag_column,
            )  # fmt: skip
        micros = groups["raw_hour"].dropna().astype("int64")
        off = int(groups.loc[groups["raw_hour"].notna(), "rows"][micros % _US_PER_HOUR != 0].sum())
        if off:
            return _Problem(
                "hour", "timestamp(s) not on the hour", OFF_HOUR_FIX, off,
                f"hour AS v, epoch_us(CAST(hour AS TIMESTAMPTZ)) % {_US_PER_HOUR} <> 0 AS flag",
                _flag_column,
            )  # fmt: skip
        return None
    assert hours is not None
    table = hours.table
    for status, what, fix in (
        ("malformed", "missing or malformed timestamp(s)", _ISO_FIX),
        ("naive", "timezone-naive timestamp(s)", _NAIVE_FIX),
        ("off_hour", "timestamp(s) not on the hour", OFF_HOUR_FIX),
    ):
        bad = table[table["status"] == status]
        if len(bad):
            raw = set(bad["raw_hour"].dropna())
            has_null = bool(bad["raw_hour"].isna().any())
            return _Problem(
                "hour", what, fix, int(bad["rows"].sum()), "CAST(hour AS VARCHAR) AS v",
                _value_in(raw, has_null),
            )  # fmt: skip
    return None


def _platform_names() -> tuple[str, ...]:
    from pricing.platforms import PLATFORM_NAMES

    return PLATFORM_NAMES


def _tenancies() -> tuple[str, ...]:
    from pricing.offerings import TENANCIES

    return TENANCIES


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _every_row(rows: pd.DataFrame) -> npt.NDArray[np.bool_]:
    return np.ones(len(rows), dtype=bool)


def _flag_column(rows: pd.DataFrame) -> npt.NDArray[np.bool_]:
    return rows["flag"].fillna(False).to_numpy(dtype=bool)


def _key_in(keys: set[tuple[Any, Any, Any]]) -> Callable[[pd.DataFrame], npt.NDArray[np.bool_]]:
    """Rows whose (instance type, platform, tenancy) is one of ``keys`` (columns t, v, d)."""

    def flag(rows: pd.DataFrame) -> npt.NDArray[np.bool_]:
        shown = pd.MultiIndex.from_arrays([rows["t"], rows["v"], rows["d"]])
        return np.asarray(shown.isin(list(keys)), dtype=bool)

    return flag


def _value_in(values: set[str], has_null: bool) -> Callable[[pd.DataFrame], npt.NDArray[np.bool_]]:
    def flag(rows: pd.DataFrame) -> npt.NDArray[np.bool_]:
        shown = rows["v"]
        mask = shown.isin(values).to_numpy(dtype=bool)
        return (mask | shown.isna().to_numpy(dtype=bool)) if has_null else mask

    return flag


# --------------------------------------------------------------------------------------------
# the messages


def _shown(value: object, *, strip: bool = False) -> str:
    """A cell as ``validate_usage_table`` shows it: strings quoted, other values plain."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "nan"
    if value is pd.NaT:
        return "NaT"
    if isinstance(value, str):
        return repr(value.strip() if strip else value)
    if isinstance(value, pd.Timestamp | np.datetime64):
        return str(pd.Timestamp(value))
    return str(value)


def _rows_text(positions: Sequence[int], values: Sequence[str], count: int) -> str:
    """``"rows 4 ('x'), 9 ('y') and 3 more"``."""
    parts = [f"{p} ({v})" for p, v in zip(positions, values, strict=True)]
    word = "row" if count == 1 else "rows"
    extra = count - len(parts)
    return f"{word} {', '.join(parts)}" + (f" and {extra} more" if extra > 0 else "")


def _scan_in_order(
    connection: duckdb.DuckDBPyConnection,
    file: CanonicalFile,
    projection: str,
    flag: Callable[[pd.DataFrame], npt.NDArray[np.bool_]],
) -> tuple[list[int], pd.DataFrame]:
    """The first rows of ``file`` (0-based positions) for which ``flag`` holds, and their
    ``projection``; the file is read in order, in batches, and only until three are found."""
    previous = connection.execute("SELECT current_setting('preserve_insertion_order')").fetchall()
    connection.execute("SET preserve_insertion_order = true")
    positions: list[int] = []
    rows: list[pd.DataFrame] = []
    try:
        reader = connection.sql(f"SELECT {projection} FROM {file.source}").to_arrow_reader(
            _BATCH_ROWS
        )
        try:
            offset = 0
            for batch in reader:
                frame = batch.to_pandas()
                hits = np.flatnonzero(flag(frame))[: _SHOWN_ROWS - len(positions)]
                positions.extend(int(offset + h) for h in hits)
                rows.append(frame.iloc[hits])
                offset += batch.num_rows
                if len(positions) >= _SHOWN_ROWS:
                    break
        finally:
            reader.close()
    finally:
        connection.execute(f"SET preserve_insertion_order = {bool(previous[0][0])}")
    return positions, pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def _problem_error(
    connection: duckdb.DuckDBPyConnection, file: CanonicalFile, problem: _Problem
) -> UsageInputError:
    positions, rows = _scan_in_order(connection, file, problem.projection, problem.flag)
    strip = problem.what.startswith("unknown")
    values = [_shown(v, strip=strip) for v in rows["v"]] if len(rows) else []
    return UsageInputError(
        str(file.path),
        f"column {problem.column} has {problem.rows} {problem.what}: "
        f"{_rows_text(positions, values, problem.rows)}",
        problem.fix,
    )


def _duplicate_error(
    connection: duckdb.DuckDBPyConnection,
    file: CanonicalFile,
    keys: KeyMap,
    hours: HourTexts | None,
) -> UsageInputError:
    """``N rows share an hour and key (...): row p (values); ...``, as validate_usage_table."""
    cells, count = duplicated_cells(connection, file, len(keys.valid))
    projection = (
        f"{hour_micros_sql(file, raw=True)} AS raw_hour, "
        + ", ".join(
            f"CAST({_quoted(c)} AS VARCHAR) AS raw_{c}" if c in file.columns
            else f"NULL::VARCHAR AS raw_{c}"
            for c in KEY_COLUMNS
        )
        + f", {quantity_sql(file)} AS quantity"
    )  # fmt: skip
    valid = keys.valid
    raw_columns = [f"raw_{c}" for c in KEY_COLUMNS]
    lookup = keys.table.drop_duplicates(raw_columns).set_index(raw_columns)["key_id"]
    texts = hours.valid.set_index("raw_hour")["hour_us"] if hours is not None else None

    def canonical(rows: pd.DataFrame) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        index = pd.MultiIndex.from_frame(rows[raw_columns].astype(object))
        key_id = lookup.reindex(index).to_numpy(dtype="float64")
        micros = (
            rows["raw_hour"].map(texts).to_numpy(dtype="float64")
            if texts is not None
            else rows["raw_hour"].to_numpy(dtype="float64")
        )
        return micros.astype(np.int64), key_id.astype(np.int64)

    def flag(rows: pd.DataFrame) -> npt.NDArray[np.bool_]:
        micros, key_id = canonical(rows)
        return np.isin((micros // _US_PER_HOUR) * max(len(valid), 1) + key_id, cells)

    positions, rows = _scan_in_order(connection, file, projection, flag)
    micros, key_id = canonical(rows)
    described = []
    for position, hour_us, key, quantity in zip(
        positions, micros, key_id, rows["quantity"], strict=True
    ):
        hour = pd.Timestamp(int(hour_us), unit="us", tz="UTC")
        key_values = [str(valid.iloc[int(key)][c]) for c in KEY_COLUMNS]
        described.append(f"row {position} ({' '.join([str(hour), *key_values, str(quantity)])})")
    return UsageInputError(
        str(file.path),
        f"{count} rows share an hour and key (hour, {', '.join(KEY_COLUMNS)}): "
        f"{'; '.join(described)}",
        DUPLICATE_FIX,
    )


def first_row_where(
    files: Sequence[str | Path], condition: Callable[[CanonicalFile], str], value: str
) -> tuple[str, int, str] | None:
    """The first row of canonical usage files, in order, for which a SQL condition holds.

    What a check on the canonical rows (:mod:`usage.plausibility`) uses to name the file's row,
    as the messages of :func:`validate_canonical_files` name it.

    Parameters
    ----------
    files
        Canonical CSV or Parquet files, already validated.
    condition
        The condition over a file's columns (CSV columns are text), given how the file is read:
        e.g. ``lambda file: f"{quantity_sql(file)} > 1e6"``.
    value
        The SQL of the value to show (``"quantity"``).

    Returns
    -------
    tuple of (str, int, str) or None
        The file, the row (0-based data row) and its value as messages show it (strings quoted);
        ``None`` when no row qualifies.
    """
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        for index, path in enumerate(files):
            file = describe_canonical_file(connection, Path(path), index)
            positions, rows = _scan_in_order(
                connection, file, f"{value} AS v, ({condition(file)}) AS flag", _flag_column
            )
            if positions:
                return str(file.path), positions[0], _shown(rows["v"].iloc[0], strip=True)
    return None


def _overlap_error(
    overlap: tuple[int, int, str, str], kept: frozenset[int], files: Sequence[CanonicalFile]
) -> UsageInputError:
    from pricing.readers.cur_columns import describe_files

    _file_index, hour_us, instance_type, region = overlap
    hour = pd.Timestamp(hour_us, unit="us", tz="UTC")
    return UsageInputError(
        describe_files([f.path for f in files if f.index in kept]),
        f"overlapping files: hour {hour} of {instance_type} {region} appears in more than one file",
        "pass each period once (or concatenate only disjoint files)",
    )


__all__ = ["ValidatedUsage", "first_row_where", "validate_canonical_files"]
