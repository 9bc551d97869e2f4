"""``commitopt usage import`` of canonical CSV and Parquet files, streamed into the workspace.

The installed console script imports the files; the oracle is the pandas path (the file read by
:func:`usage.readers.read_canonical` and stored by :func:`commitopt.imports.import_usage` into a
second workspace), and the workspace is read back with plain DuckDB queries. Bad files must exit
2 with one line naming the file and the column, and leave the workspace as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import duckdb
import pandas as pd
import pytest

from tests.cli.conftest import ERROR_PREFIX, EXIT_BAD_INPUT, Sandbox, require_success

HEADER: Final = "hour,account_id,region,instance_type,platform,tenancy,quantity"
GOOD_ROWS: Final = (
    "2024-03-01T00:00:00Z,012345678901,us-east-1,m4.large,Linux/UNIX,Shared,12",
    "2024-03-01T00:00:00Z,012345678901,us-east-1,m4.xlarge,linux,shared,3.5",
    "2024-03-01T00:00:00Z,210987654321,eu-west-1,c4.xlarge,Windows,Shared,2",
    "2024-03-01 01:00:00 UTC,012345678901,us-east-1,m4.large,Linux/UNIX,Shared,10",
    "2024-03-01T03:00:00+02:00,012345678901, us-east-1 ,m4.xlarge,Linux/UNIX,default,4",
    "2024-03-01T01:00:00Z,210987654321,eu-west-1,c4.xlarge,Windows,Shared,2",
    "2024-03-01T02:00:00Z,012345678901,us-east-1,m4.large,Linux/UNIX,Shared,9",
    "2024-03-01T02:00:00Z,,us-west-2,r4.xlarge,suse,Shared,0.5",
)
TABLES: Final = ("usage_hourly", "usage_imports", "usage_import_footprints")


def _csv(folder: Path, name: str, rows: tuple[str, ...] | list[str], header: str = HEADER) -> Path:
    path = folder / name
    path.write_text(header + "\n" + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def _stored(workspace: Path) -> pd.DataFrame:
    """The rows that count, read with DuckDB directly, sorted."""
    with duckdb.connect(str(workspace), read_only=True) as connection:
        return connection.execute(
            "SELECT hour, account_id, region, instance_type, platform, tenancy, quantity "
            "FROM usage_hourly WHERE replaced_by IS NULL ORDER BY ALL"
        ).df()


def _snapshot(workspace: Path) -> dict[str, Any]:
    """Every row of the ledger's tables (without import times), to compare before and after."""
    with duckdb.connect(str(workspace), read_only=True) as connection:
        return {
            table: connection.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
            for table in TABLES
        }


def _pandas_path(file: Path, workspace: Path) -> pd.DataFrame:
    """What the pandas path stores for ``file`` (a fresh workspace), read back with DuckDB."""
    from commitopt.imports import import_usage
    from commitopt.workspace import UsageSource, Workspace
    from usage.readers import read_canonical

    frame, report = read_canonical([file])

    class Counts:
        rows_kept = report.kept_line_items
        rows_excluded = 0

    with Workspace.open(workspace) as store:
        import_usage(
            store, frame, period_start=frame["hour"].min(),
            period_end=frame["hour"].max() + pd.Timedelta(hours=1),
            source=UsageSource("canonical"), report=Counts(),
        )  # fmt: skip
    return _stored(workspace)


def _parquet(folder: Path, zone: str = "Europe/Paris", unit: str = "us") -> Path:
    frame = pd.DataFrame(
        {
            "hour": pd.date_range("2024-03-01", periods=48, freq="h", tz=zone, unit=unit),
            "account_id": "012345678901",
            "region": "us-east-1",
            "instance_type": "m4.large",
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "quantity": [float(i % 5) for i in range(48)],
        }
    )
    path = folder / "usage.parquet"
    frame.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("kind", ["csv", "parquet", "parquet-ns"])
def test_a_good_file_stores_what_the_pandas_path_stores(empty_sandbox: Sandbox, kind: str) -> None:
    folder = empty_sandbox.folder
    # nanosecond hours (the canonical dtype) are TIMESTAMPTZ_NS, which epoch_us does not take
    zone, unit = ("UTC", "ns") if kind == "parquet-ns" else ("Europe/Paris", "us")
    file = _csv(folder, "usage.csv", GOOD_ROWS) if kind == "csv" else _parquet(folder, zone, unit)
    run = require_success(empty_sandbox.run("usage", "import", str(file), "--format", "json"))
    payload = json.loads(run.stdout)  # progress and notes never reach stdout
    expected = _pandas_path(file, folder / "pandas.duckdb")
    pd.testing.assert_frame_equal(_stored(empty_sandbox.workspace), expected)
    assert payload["usage_row_count"] == payload["kept_line_item_count"] == len(expected)
    assert payload["kept_instance_hours"] == pytest.approx(expected["quantity"].sum())
    assert sum(a["usage_row_count"] for a in payload["added"]) == len(expected)
    assert payload["input_format"] == "canonical" and payload["superseded_files"] == []
    with duckdb.connect(str(empty_sandbox.workspace), read_only=True) as connection:
        recorded = connection.execute(
            "SELECT source_kind, usage_rows, rows_kept, granularity FROM usage_imports"
        ).fetchall()
    assert recorded == [("canonical", len(expected), len(expected), "hourly")]


def test_from_and_to_leave_rows_out_and_a_reimport_replaces(empty_sandbox: Sandbox) -> None:
    file = _csv(empty_sandbox.folder, "usage.csv", GOOD_ROWS)
    first = json.loads(require_success(empty_sandbox.run(
        "usage", "import", str(file), "--from", "2024-03-01T01:00:00", "--format", "json",
    )).stdout)  # fmt: skip
    assert first["kept_line_item_count"] == 8 and first["usage_row_count"] == 5
    assert first["period_start"] == "2024-03-01T01:00:00+00:00"
    again = json.loads(require_success(
        empty_sandbox.run("usage", "import", str(file), "--format", "json")
    ).stdout)  # fmt: skip
    assert again["replaced_row_count"] == 5 and len(_stored(empty_sandbox.workspace)) == 8


BAD: Final[dict[str, tuple[list[str] | tuple[str, ...], str, str]]] = {
    # case: (rows, header, words of the message)
    "missing column": (
        [r.rsplit(",", 1)[0] for r in GOOD_ROWS],
        HEADER.rsplit(",", 1)[0],
        "missing column(s) quantity",
    ),
    "naive hour": (
        [*GOOD_ROWS[:2], "2024-03-01T05:00:00,1,us-east-1,m4.large,linux,Shared,1"],
        HEADER,
        "column hour has 1 timezone-naive",
    ),
    "malformed hour": (
        [*GOOD_ROWS, "soon,1,us-east-1,m4.large,linux,Shared,1"],
        HEADER,
        "column hour has 1 missing or malformed",
    ),
    "off the hour": (
        [*GOOD_ROWS, "2024-03-01T05:30:00Z,1,us-east-1,m4.large,linux,Shared,1"],
        HEADER,
        "column hour has 1 timestamp(s) not on the hour: row 8",
    ),
    "unknown region": (
        [*GOOD_ROWS, "2024-03-01T05:00:00Z,1,moon-1,m4.large,linux,Shared,1"],
        HEADER,
        "column region has 1 unknown region(s): row 8 ('moon-1')",
    ),
    "bad instance type": (
        [*GOOD_ROWS, "2024-03-01T05:00:00Z,1,us-east-1,m4large,linux,Shared,1"],
        HEADER,
        "column instance_type has 1 unknown",
    ),
    "unknown platform": (
        [*GOOD_ROWS, "2024-03-01T05:00:00Z,1,us-east-1,m4.large,BeOS,Shared,1"],
        HEADER,
        "column platform has 1 unknown platform(s)",
    ),
    "dedicated host": (
        [*GOOD_ROWS, "2024-03-01T05:00:00Z,1,us-east-1,m4.large,linux,host,1"],
        HEADER,
        "column tenancy has 1 unknown tenancy(s)",
    ),
    "NaN quantity": (
        [*GOOD_ROWS, "2024-03-01T05:00:00Z,1,us-east-1,m4.large,linux,Shared,NaN"],
        HEADER,
        "column quantity has 1 missing, NaN, infinite",
    ),
    "negative quantity": (
        [*GOOD_ROWS, "2024-03-01T05:00:00Z,1,us-east-1,m4.large,linux,Shared,-2"],
        HEADER,
        "column quantity has 1 negative value(s): row 8 ('-2')",
    ),
    "duplicated rows": (
        [*GOOD_ROWS, GOOD_ROWS[0].replace(",12", ",1")],
        HEADER,
        "2 rows share an hour and key",
    ),
    "future hours": (
        [*GOOD_ROWS, "2999-03-01T05:00:00Z,1,us-east-1,m4.large,linux,Shared,1"],
        HEADER,
        "1 usage rows are after now",
    ),
    "unknown family": (
        [*GOOD_ROWS, "2024-03-01T05:00:00Z,1,us-east-1,z99.mega,linux,Shared,1"],
        HEADER,
        "column instance_type: unknown instance families z99 (z99.mega)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_file_exits_2_and_changes_nothing(empty_sandbox: Sandbox, case: str) -> None:
    good = _csv(empty_sandbox.folder, "good.csv", GOOD_ROWS)
    require_success(empty_sandbox.run("usage", "import", str(good), "--format", "json"))
    before = _snapshot(empty_sandbox.workspace)
    rows, header, words = BAD[case]
    bad = _csv(empty_sandbox.folder, "bad.csv", rows, header)
    run = empty_sandbox.run("usage", "import", str(bad), "--input-format", "csv",
                            "--format", "json")  # fmt: skip
    assert run.exit_code == EXIT_BAD_INPUT, str(run)
    assert run.stdout == "" and "Traceback" not in run.stderr, str(run)
    errors = [line for line in run.stderr.splitlines() if line.startswith(ERROR_PREFIX)]
    assert len(errors) == 1 and str(bad) in errors[0] and words in errors[0], str(run)
    assert _snapshot(empty_sandbox.workspace) == before


def test_a_failed_first_import_leaves_no_workspace_behind(empty_sandbox: Sandbox) -> None:
    assert not empty_sandbox.workspace.exists()
    rows, header, _ = BAD[sorted(BAD)[0]]
    bad = _csv(empty_sandbox.folder, "bad.csv", rows, header)
    run = empty_sandbox.run("usage", "import", str(bad), "--input-format", "csv")
    assert run.exit_code == EXIT_BAD_INPUT, str(run)
    leftovers = [
        p.name for p in empty_sandbox.workspace.parent.glob(empty_sandbox.workspace.name + "*")
    ]
    assert leftovers == [], leftovers
