"""Cost and Usage Report files opened in DuckDB, with AWS's column spellings made one.

Supported layouts (several files, folders and globs at once, mixed freely):

* legacy CUR CSV / CSV.gz with slash names (``lineItem/UsageType``, ``pricing/publicOnDemandRate``);
* legacy CUR Parquet or Athena tables with snake names (``line_item_usage_type``);
* CUR 2.0 Parquet / CSV (``line_item_*``, ``pricing_*``, ``reservation_*``, ``savings_plan_*``).

Column names are normalised (lower case, ``/`` -> ``_``, camelCase -> snake_case), so
``lineItem/UsageType`` and ``line_item_usage_type`` are the same column. :func:`cur_files` finds
and checks the files; :func:`cur_select_sql` gives one SELECT over all of them with the columns a
reader asks for, as VARCHAR (or, where the reader allows it, in their Parquet number or
timestamp type), under their normalised names.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import duckdb

from pricing.errors import PriceFileError
from pricing.readers.common import USAGE_FILE, check_complete, require_columns, sniff

CUR_WHAT: Final = "AWS Cost and Usage Report (legacy CUR or CUR 2.0; Parquet, CSV or CSV.gz)"

FILE_COLUMN: Final = "file"
"""Column of :func:`cur_select_sql` holding each row's file path."""

_DUCKDB_FILE_COLUMN: Final = "__commitopt_cur_file"
_NATIVE_TYPES: Final = frozenset(
    {"DOUBLE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_MS", "TIMESTAMP_S"}
)
"""Parquet column types a reader may receive as they are: each converts to text and back (and to
DOUBLE or TIMESTAMPTZ directly) without changing its value. FLOAT, DECIMAL and nanosecond
timestamps would not, so they stay VARCHAR."""


def normalise_column_name(name: str) -> str:
    """Return the snake_case name of a CUR column in any of AWS's spellings.

    ``lineItem/UsageType`` -> ``line_item_usage_type``; ``reservation/ReservationARN`` ->
    ``reservation_reservation_a_r_n`` (as AWS's Athena integration and CUR 2.0 spell it);
    ``line_item_usage_type`` is unchanged.
    """
    parts = [re.sub(r"(?<!^)(?=[A-Z])", "_", part.strip()) for part in name.strip().split("/")]
    return re.sub(r"_+", "_", "_".join(parts).lower()).strip("_")


def cur_files(paths: Sequence[str | Path] | str | Path) -> list[Path]:
    """The CUR files named by ``paths``, expanded and checked.

    Parameters
    ----------
    paths
        Files (Parquet, CSV, CSV.gz), folders (searched recursively for those suffixes) or glob
        patterns (``**`` allowed).

    Returns
    -------
    list of Path
        Sorted within each entry, de-duplicated, each one :func:`~pricing.readers.common.sniff`-ed
        (as a usage file) and checked whole (:func:`~pricing.readers.common.check_complete`).

    Raises
    ------
    PriceFileError
        No path given, a glob or folder that matches no file, or a file that is missing, empty,
        HTML, a truncated gzip, a Parquet file without its footer or a CSV cut in a row.
    """
    files = _expand(paths)
    for file in files:
        check_complete(sniff(file, kind=USAGE_FILE))
    return files


def describe_files(files: Sequence[Path]) -> str:
    """``files`` named for a message: the one file, or the first and how many more."""
    if len(files) == 1:
        return str(files[0])
    return f"{files[0]} (and {len(files) - 1} more file(s))"


def cur_select_sql(
    connection: duckdb.DuckDBPyConnection,
    files: Sequence[Path],
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    what: str = CUR_WHAT,
    native: Sequence[str] = (),
) -> str:
    """One SELECT over all ``files`` with the wanted columns, normalised, as VARCHAR.

    Parquet files and CSV files are read as two groups (``union_by_name``), combined with
    ``UNION ALL``. Where one normalised name has several spellings in a group, the first
    non-null of them is taken.

    The columns named in ``native`` keep their Parquet type when it is DOUBLE or a timestamp of
    microsecond precision or coarser (see ``_NATIVE_TYPES``) and they have one spelling: for a
    reader that casts them anyway this skips a text round trip per value, which costs
    far more than the scan once values are not dictionary-encoded (a real CUR's amounts and
    costs). Mixed with a CSV group, ``UNION ALL`` makes them VARCHAR again, as before.

    Parameters
    ----------
    connection
        DuckDB connection used to describe the files (nothing is created).
    files
        CUR files, e.g. from :func:`cur_files`.
    required
        Normalised column names each group must have.
    optional
        Normalised column names taken when present, NULL otherwise.
    what
        What the files are, for the missing-column message.
    native
        Normalised column names that may keep a DOUBLE or timestamp type (Parquet only).

    Returns
    -------
    str
        SQL with the columns :data:`FILE_COLUMN`, then ``required``, then ``optional``.

    Raises
    ------
    PriceFileError
        A group that DuckDB cannot read as Parquet / CSV, or that lacks a required column (the
        needed and the found columns are named).
    """
    parquet_files = [file for file in files if _is_parquet(file)]
    csv_files = [file for file in files if file not in parquet_files]
    selects = [
        _group_select(
            connection,
            group,
            parquet,
            [*required, *optional],
            required,
            what,
            native if parquet else (),
        )
        for group, parquet in ((parquet_files, True), (csv_files, False))
        if group
    ]
    return " UNION ALL ".join(selects)


SERVICE_RATE_COLUMNS: Final = (
    "line_item_line_item_type",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_usage_start_date",
)
"""Normalised names a CUR must have for the rates of a service other than EC2 (databases,
Fargate, Lambda, SageMaker)."""

ON_DEMAND_RATE_COLUMNS: Final = (
    "pricing_public_on_demand_rate",
    "line_item_unblended_rate",
    "pricing_term",
    "line_item_currency_code",
)
"""A CUR's on-demand rate columns, used when present (one of the two rates is needed)."""


def require_usd(currencies: Sequence[str], where: str) -> None:
    """Raise unless every currency a CUR's rates are in is USD (``line_item_currency_code``).

    Raises
    ------
    PriceFileError
        Naming the other currencies and the fix.
    """
    foreign = sorted({str(code) for code in currencies if code and code != "USD"})
    if foreign:
        raise PriceFileError(
            where,
            f"billed in {', '.join(foreign)} (line_item_currency_code), not USD",
            "commitopt prices in USD only; use a USD CUR or import AWS's USD price list",
        )


def not_a_cur(where: str, error: duckdb.Error) -> PriceFileError:
    """The error for a CUR that DuckDB cannot read as one (its first line kept)."""
    return PriceFileError(
        where,
        f"cannot be read as a CUR ({str(error).splitlines()[0]})",
        "pass unmodified CUR files",
    )


def cur_source(files: Sequence[Path]) -> str:
    """The catalog source of rates read from ``files``: ``CUR a.parquet … z.parquet (3 files)``."""
    names = [file.name for file in files]
    more = f" … {names[-1]} ({len(names)} files)" if len(names) > 1 else ""
    return f"CUR {names[0]}{more}"


def _expand(paths: Sequence[str | Path] | str | Path) -> list[Path]:
    """Expand globs and folders into a sorted, de-duplicated list of files."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if not paths:
        raise PriceFileError("CUR", "no file given", "pass one or more CUR files, folders or globs")
    files: list[Path] = []
    for entry in paths:
        text = str(entry)
        if any(character in text for character in "*?["):
            matches = sorted(Path(match) for match in glob.glob(text, recursive=True))
            matches = [match for match in matches if match.is_file()]
            if not matches:
                raise PriceFileError(text, "no file matches this pattern", "check the glob")
            files.extend(matches)
        elif Path(text).is_dir():
            found = sorted(
                file
                for file in Path(text).rglob("*")
                if file.is_file() and file.name.lower().endswith((".parquet", ".csv", ".csv.gz"))
            )
            if not found:
                raise PriceFileError(
                    text, "folder holds no .parquet, .csv or .csv.gz file", "pass the CUR files"
                )
            files.extend(found)
        else:
            files.append(Path(text))
    return list(dict.fromkeys(files))


def _is_parquet(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(4) == b"PAR1"


def _sql_list(files: Sequence[Path]) -> str:
    quoted = ", ".join("'" + str(file).replace("'", "''") + "'" for file in files)
    return f"[{quoted}]"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


_PRODUCT_PREFIX: Final = "product_"
"""Legacy CUR product columns (``product_database_engine``) are keys of CUR 2.0's ``product``
map (``product['database_engine']``): AWS Data Exports user guide, "CUR 2.0 table
dictionary"."""


def _product_map(originals: dict[str, list[str]], types: dict[str, str]) -> str | None:
    """How to read a key of CUR 2.0's ``product`` column, if the group has one: a MAP in
    Parquet, JSON text in CSV (``{key}`` to be filled in), else ``None``."""
    names = originals.get("product", [])
    if len(names) != 1:
        return None
    column = _quote(names[0])
    if types[names[0]].startswith("MAP("):
        return f"CAST(element_at({column}, '{{key}}')[1] AS VARCHAR)"
    return (
        f"CASE WHEN json_valid(CAST({column} AS VARCHAR)) "
        f"THEN json_extract_string(CAST({column} AS VARCHAR), '$.{{key}}') END"
    )


def _group_select(
    connection: duckdb.DuckDBPyConnection,
    files: list[Path],
    parquet: bool,
    columns: Sequence[str],
    required: Sequence[str],
    what: str,
    native: Sequence[str] = (),
) -> str:
    """SELECT of one group of files (all Parquet or all CSV) with normalised VARCHAR columns
    (those in ``native`` keep a type of ``_NATIVE_TYPES``)."""
    if parquet:
        source = (
            f"read_parquet({_sql_list(files)}, union_by_name=true, "
            f"filename='{_DUCKDB_FILE_COLUMN}')"
        )
    else:
        source = (
            f"read_csv({_sql_list(files)}, union_by_name=true, all_varchar=true, header=true, "
            f"filename='{_DUCKDB_FILE_COLUMN}')"
        )
    where = describe_files(files)
    try:
        described = connection.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()
    except duckdb.Error as error:
        raise PriceFileError(
            where,
            f"cannot be read as {'Parquet' if parquet else 'CSV'} ({str(error).splitlines()[0]})",
            "pass an unmodified CUR file",
        ) from error
    originals: dict[str, list[str]] = {}
    types: dict[str, str] = {}
    for column_name, column_type, *_ in described:
        if column_name == _DUCKDB_FILE_COLUMN:
            continue
        originals.setdefault(normalise_column_name(str(column_name)), []).append(str(column_name))
        types[str(column_name)] = str(column_type).upper()
    require_columns(where, list(originals), required, what)
    expressions = [f"{_quote(_DUCKDB_FILE_COLUMN)} AS {FILE_COLUMN}"]
    product_map = _product_map(originals, types)
    for column in columns:
        names = originals.get(column, [])
        if not names and product_map is not None and column.startswith(_PRODUCT_PREFIX):
            key = column.removeprefix(_PRODUCT_PREFIX)
            expressions.append(f"{product_map.format(key=key)} AS {column}")
        elif not names:
            expressions.append(f"CAST(NULL AS VARCHAR) AS {column}")
        elif column in native and len(names) == 1 and types[names[0]] in _NATIVE_TYPES:
            expressions.append(f"{_quote(names[0])} AS {column}")
        else:
            casts = ", ".join(f"CAST({_quote(name)} AS VARCHAR)" for name in names)
            expressions.append(
                f"COALESCE({casts}) AS {column}" if len(names) > 1 else f"{casts} AS {column}"
            )
    return f"SELECT {', '.join(expressions)} FROM {source}"


__all__ = [
    "CUR_WHAT",
    "FILE_COLUMN",
    "ON_DEMAND_RATE_COLUMNS",
    "SERVICE_RATE_COLUMNS",
    "cur_files",
    "cur_select_sql",
    "cur_source",
    "describe_files",
    "normalise_column_name",
    "not_a_cur",
    "require_usd",
]
