"""The SQL checks of canonical usage files against the pandas ones, on the same files.

The oracle is the pandas path: :func:`usage.readers.read_canonical` reads each file with DuckDB
and checks it with :func:`usage.table.validate_usage_table`. Every bad file must be rejected by
both, with the same message (the file, the column, the count, the first rows and the fix); every
good file must give the same canonical rows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pytest

from usage.errors import UsageInputError
from usage.readers import read_canonical, usage_connection
from usage.table import USAGE_COLUMNS, USAGE_SCHEMA
from usage.validate_sql import validate_canonical_files

HEADER: Final = "hour,account_id,region,instance_type,platform,tenancy,quantity"
GOOD: Final = (
    "2024-03-01T00:00:00Z,111,us-east-1,m5.large,Linux/UNIX,Shared,2",
    "2024-03-01T00:00:00Z,111,us-east-1,m5.xlarge,Linux/UNIX,Shared,1.5",
    "2024-03-01T01:00:00Z,111,us-east-1,m5.large,Linux/UNIX,Shared,3",
    "2024-03-01T01:00:00Z,222,eu-west-1,c5.large,Windows,Dedicated,0",
)


def _csv(folder: Path, rows: tuple[str, ...] | list[str], header: str = HEADER) -> Path:
    path = folder / "usage.csv"
    path.write_text(header + "\n" + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def _with(row: int, column: str, value: str) -> list[str]:
    """:data:`GOOD` with one cell replaced."""
    rows = [line.split(",") for line in GOOD]
    rows[row][HEADER.split(",").index(column)] = value
    return [",".join(r) for r in rows]


def _parquet(folder: Path, **columns: object) -> Path:
    frame = pd.DataFrame(
        {
            "hour": pd.date_range("2024-03-01", periods=4, freq="h", tz="UTC"),
            "account_id": ["111"] * 4,
            "region": ["us-east-1"] * 4,
            "instance_type": ["m5.large", "m5.xlarge", "c5.large", "r5.large"],
            "platform": ["Linux/UNIX"] * 4,
            "tenancy": ["Shared"] * 4,
            "quantity": [1.0, 2.0, 3.0, 4.0],
        }
    )
    for name, values in columns.items():
        frame[name] = values
    path = folder / "usage.parquet"
    frame.to_parquet(path, index=False)
    return path


BAD_CSV: Final[dict[str, tuple[list[str] | tuple[str, ...], str, str]]] = {
    # case: (rows, header, column named)
    "missing column": (
        [r.rsplit(",", 2)[0] + "," + r.rsplit(",", 1)[1] for r in GOOD],
        "hour,account_id,region,instance_type,platform,quantity",
        "tenancy",
    ),
    "naive hour": (_with(1, "hour", "2024-03-01T00:00:00"), HEADER, "hour"),
    "malformed hour": (_with(2, "hour", "yesterday"), HEADER, "hour"),
    "empty hour": (_with(0, "hour", ""), HEADER, "hour"),
    "off the hour": (_with(3, "hour", "2024-03-01T01:30:00Z"), HEADER, "hour"),
    "off the hour in UTC": (_with(3, "hour", "2024-03-01T05:00:00+05:30"), HEADER, "hour"),
    "every hour naive": ([r.replace("Z,", ",", 1) for r in GOOD], HEADER, "hour"),
    "empty region": (_with(1, "region", ""), HEADER, "region"),
    "blank region": (_with(1, "region", "  "), HEADER, "region"),
    "unknown region": (_with(2, "region", " us-east-9 "), HEADER, "region"),
    "bad instance type": (_with(0, "instance_type", "m5large"), HEADER, "instance_type"),
    "unknown platform": (_with(3, "platform", "Amazon Linux 2"), HEADER, "platform"),
    "empty platform": (_with(3, "platform", ""), HEADER, "platform"),
    "dedicated host": (_with(2, "tenancy", "host"), HEADER, "tenancy"),
    "database engine on an EC2 type": (_with(1, "platform", "mariadb"), HEADER, "platform"),
    "empty quantity": (_with(1, "quantity", ""), HEADER, "quantity"),
    "text quantity": (_with(1, "quantity", "abc"), HEADER, "quantity"),
    "NaN quantity": (_with(2, "quantity", "nan"), HEADER, "quantity"),
    "infinite quantity": (_with(2, "quantity", "inf"), HEADER, "quantity"),
    "underscored quantity": (_with(2, "quantity", "1_000"), HEADER, "quantity"),
    "negative quantity": (_with(0, "quantity", "-1"), HEADER, "quantity"),
    "duplicated rows": ([*GOOD, GOOD[2]], HEADER, "share an hour and key"),
    "duplicated through an alias": (
        [*GOOD, GOOD[0].replace("Linux/UNIX", "linux").replace(",2", ",7")],
        HEADER,
        "share an hour and key",
    ),
    "duplicated through an offset": (
        [*GOOD, "2024-03-01T02:00:00+01:00,111,us-east-1,m5.large,Linux/UNIX,Shared,9"],
        HEADER,
        "share an hour and key",
    ),
    "region wins over quantity": (
        _with(0, "quantity", "-1")[:1] + _with(2, "region", "mars")[1:],
        HEADER,
        "region",
    ),
    "many bad rows": ([r.replace("Shared", "shared-ish") for r in GOOD] * 2, HEADER, "tenancy"),
}


def _both_reject(path: Path) -> tuple[str, str]:
    """The messages of the pandas path and of the SQL path (each must reject the file; the SQL
    path says the same whether it reads a CSV directly or its Parquet copy)."""
    with pytest.raises(UsageInputError) as pandas_error:
        read_canonical([path])
    messages = []
    for staging in (None, path.parent / "staging"):
        if staging is not None:
            staging.mkdir()
        with usage_connection() as connection, pytest.raises(UsageInputError) as sql_error:
            validate_canonical_files(connection, [path], staging=staging)
        messages.append(str(sql_error.value))
    assert messages[0] == messages[1]
    return str(pandas_error.value), messages[0]


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_bad_csv_is_rejected_with_the_pandas_message(case: str, tmp_path: Path) -> None:
    rows, header, named = BAD_CSV[case]
    pandas_message, sql_message = _both_reject(_csv(tmp_path, rows, header))
    assert named in pandas_message
    assert sql_message == pandas_message


BAD_PARQUET: Final[dict[str, tuple[Callable[[], dict[str, object]], str]]] = {
    "naive timestamps": (
        lambda: {"hour": pd.date_range("2024-03-01", periods=4, freq="h")},
        "timezone-naive",
    ),
    "numbers as hours": (lambda: {"hour": [1_709_251_200 + 3600 * i for i in range(4)]}, "numbers"),
    "a missing timestamp": (
        lambda: {
            "hour": pd.DatetimeIndex(["2024-03-01", None, "2024-03-01 02:00", None], tz="UTC")
        },
        "missing timestamp",
    ),
    "off the hour": (
        lambda: {"hour": pd.date_range("2024-03-01 00:15", periods=4, freq="h", tz="UTC")},
        "not on the hour",
    ),
    "NaN quantity": (lambda: {"quantity": [1.0, np.nan, np.inf, 2.0]}, "NaN"),
    "negative quantity": (lambda: {"quantity": [1.0, -0.5, 2.0, -3.0]}, "negative"),
    "integer region": (lambda: {"region": [1, 2, 3, 4]}, "unknown region"),
    "duplicates": (
        lambda: {
            "instance_type": ["m5.large", "m5.large", "c5.large", "c5.large"],
            "hour": pd.DatetimeIndex(["2024-03-01"] * 4, tz="UTC"),
        },
        "share an hour and key",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_PARQUET))
def test_bad_parquet_is_rejected_with_the_pandas_message(case: str, tmp_path: Path) -> None:
    columns, named = BAD_PARQUET[case]
    pandas_message, sql_message = _both_reject(_parquet(tmp_path, **columns()))
    assert named in pandas_message
    assert sql_message == pandas_message


def _sql_rows(path: list[Path], **bounds: pd.Timestamp) -> tuple[pd.DataFrame, object]:
    with usage_connection() as connection:
        usage = validate_canonical_files(connection, path, **bounds)
        frame = connection.execute(usage.select_sql).df()
    frame["hour"] = pd.to_datetime(frame["hour"]).dt.tz_localize("UTC")
    frame = frame.astype(USAGE_SCHEMA)[list(USAGE_COLUMNS)]
    ordered = frame.sort_values(["hour", *USAGE_COLUMNS[1:-1]]).reset_index(drop=True)
    return ordered, usage


def test_good_csv_gives_the_pandas_rows(tmp_path: Path) -> None:
    """Aliases, spaces, offsets, UTC words, an empty account and a missing one in one file."""
    rows = [
        "2024-03-01T00:00:00Z, 111 ,us-east-1,m5.large,linux,default,2",
        "2024-03-01 01:00:00 UTC,,us-east-1,m5.large,Linux/UNIX,shared,1.5",
        "2024-03-01T03:00:00+02:00,111,eu-west-1, c5.large ,mswin,DEDICATED,3",
        "20240301T020000Z,222,us-east-1,m7i-flex.2xlarge,rhel,Shared,0",
    ]
    path = _csv(tmp_path, rows)
    expected, report = read_canonical([path])
    got, usage = _sql_rows([path])
    pd.testing.assert_frame_equal(got, expected)
    assert usage.row_count == usage.line_items == report.kept_line_items == 4  # type: ignore[attr-defined]
    assert usage.instance_hours == pytest.approx(report.kept_quantity)  # type: ignore[attr-defined]
    assert usage.accounts == ("", "111", "222")  # type: ignore[attr-defined]


def test_period_bounds_leave_rows_out_but_check_them(tmp_path: Path) -> None:
    path = _csv(tmp_path, GOOD)
    got, usage = _sql_rows([path], start=pd.Timestamp("2024-03-01T01:00Z"))
    assert len(got) == 2 and usage.line_items == 4  # type: ignore[attr-defined]
    assert usage.first_hour == pd.Timestamp("2024-03-01T01:00Z")  # type: ignore[attr-defined]


def test_copies_are_read_once_and_overlaps_refused(tmp_path: Path) -> None:
    first = _csv(tmp_path, GOOD)
    copy = tmp_path / "copy.csv"
    copy.write_text(first.read_text(encoding="utf-8").replace(",2\n", ",2.0\n"), encoding="utf-8")
    expected, report = read_canonical([first, copy])
    got, usage = _sql_rows([first, copy])
    pd.testing.assert_frame_equal(got, expected)
    assert usage.superseded_files == report.superseded_files == (str(copy),)  # type: ignore[attr-defined]
    overlapping = tmp_path / "overlap.csv"
    overlapping.write_text(HEADER + "\n" + GOOD[1].replace(",1.5", ",9") + "\n", encoding="utf-8")
    pandas_message, sql_message = _both_reject_files([first, overlapping])
    assert "overlapping files" in pandas_message and sql_message == pandas_message


def _both_reject_files(paths: list[Path]) -> tuple[str, str]:
    with pytest.raises(UsageInputError) as pandas_error:
        read_canonical(paths)
    with usage_connection() as connection, pytest.raises(UsageInputError) as sql_error:
        validate_canonical_files(connection, paths)
    return str(pandas_error.value), str(sql_error.value)


def test_a_later_file_is_checked_after_the_earlier_ones(tmp_path: Path) -> None:
    """The first file's duplicates are named before the second file's bad region."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _csv(tmp_path / "a", [*GOOD, GOOD[0]])
    second = _csv(tmp_path / "b", _with(0, "region", "mars"))
    pandas_message, sql_message = _both_reject_files([first, second])
    assert "share an hour and key" in pandas_message and sql_message == pandas_message


def test_a_file_that_is_not_usage_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "usage.parquet"
    broken.write_bytes(b"PAR1 not really")
    with usage_connection() as connection, pytest.raises(UsageInputError, match=r"usage\.parquet"):
        validate_canonical_files(connection, [broken])


@pytest.mark.parametrize(
    "case", ["duplicated rows", "duplicated through an alias", "duplicated through an offset"]
)
def test_duplicates_are_found_without_bitstrings(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hours decades apart make per-key bitstrings too long: rows are grouped instead."""
    monkeypatch.setattr("usage.validate_sql._MAX_BITSTRING_BITS", 0)
    rows, header, _named = BAD_CSV[case]
    pandas_message, sql_message = _both_reject(_csv(tmp_path, rows, header))
    assert sql_message == pandas_message


def test_copies_and_overlaps_without_bitstrings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("usage.validate_sql._MAX_BITSTRING_BITS", 0)
    test_copies_are_read_once_and_overlaps_refused(tmp_path)
