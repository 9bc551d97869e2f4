"""``commitopt usage import`` of CUR and FOCUS files, streamed into the workspace from DuckDB.

The installed console script imports the real fixtures of ``tests/data``; the oracle is the pandas
path, run in this process: :func:`usage.readers.read_usage` (the table it returns and its report)
and :func:`pricing.inventory.inventory_from_cur`. The workspace is read back with plain DuckDB
queries. Both must agree row for row, and the import report must say what the reader says.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any, Final

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.cli.conftest import ERROR_PREFIX, EXIT_BAD_INPUT, REPO, Sandbox, require_success

DATA: Final = REPO / "tests" / "data"
FIXTURES: Final = (
    DATA / "cur" / "wal_Oct2018-WorkshopCUR-ec2-trimmed.zstd.parquet",
    DATA / "cur" / "wal_Oct2018-WorkshopCUR-ribill-trimmed.zstd.parquet",
    DATA / "cur" / "wal_Oct2018-WorkshopCUR-usage-trimmed.zstd.parquet",
    DATA / "focus" / "focus1.0_sample_1000.csv",
)
USAGE_CUR: Final = FIXTURES[2]
KEYS: Final = ("account_id", "region", "instance_type", "platform", "tenancy")


def _stored(workspace: Path) -> pd.DataFrame:
    """The rows that count, read with DuckDB directly, sorted by hour and key."""
    with duckdb.connect(str(workspace), read_only=True) as connection:
        return connection.execute(
            f"SELECT hour, {', '.join(KEYS)}, quantity FROM usage_hourly "
            "WHERE replaced_by IS NULL ORDER BY ALL"
        ).df()


def _recorded(workspace: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(workspace), read_only=True) as connection:
        return connection.execute(
            "SELECT source_kind, granularity, rows_kept, rows_excluded, usage_rows, period_start, "
            "period_end FROM usage_imports"
        ).fetchall()


def _expected(paths: list[Path], **bounds: str) -> tuple[pd.DataFrame, Any]:
    """What the pandas reader returns, as the workspace would hold it (naive UTC hours)."""
    from usage.readers import read_usage

    frame, report = read_usage(paths, **bounds)  # type: ignore[arg-type]
    table = pd.DataFrame(
        {
            "hour": frame["hour"].dt.tz_localize(None).astype("datetime64[us]"),
            **{c: frame[c].astype(str) for c in KEYS},
            "quantity": frame["quantity"].to_numpy(dtype=float),
        }
    )
    return table.sort_values(["hour", *KEYS]).reset_index(drop=True), report


def _assert_same_rows(stored: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same hours and keys in the same order; quantities equal up to summation order."""
    assert len(stored) == len(expected)
    hours = stored["hour"].astype("datetime64[us]").reset_index(drop=True)
    pd.testing.assert_series_equal(hours, expected["hour"], check_names=False)
    for column in KEYS:
        assert stored[column].astype(str).tolist() == expected[column].tolist(), column
    np.testing.assert_allclose(stored["quantity"], expected["quantity"], rtol=1e-12, atol=1e-12)


def _assert_same_exclusions(
    got: list[dict[str, Any]], want: list[dict[str, Any]], rel: float = 1e-12
) -> None:
    """Same reasons and counts in the same order; sums equal up to DuckDB's summation order
    (``pytest.approx`` does not take a list of dicts)."""
    assert [(e["reason"], e["line_item_count"]) for e in got] == [
        (e["reason"], e["line_item_count"]) for e in want
    ]
    for name in ("usage_amount", "billed_cost"):
        assert [e[name] for e in got] == pytest.approx([e[name] for e in want], rel=rel), name


def _exclusions(report: Any) -> list[dict[str, Any]]:
    return [
        {"reason": e.reason, "line_item_count": e.line_items, "usage_amount": e.quantity,
         "billed_cost": e.cost}
        for e in report.exclusions
    ]  # fmt: skip


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name.split(".")[0])
def test_a_bill_stores_exactly_what_the_pandas_reader_returns(
    empty_sandbox: Sandbox, fixture: Path
) -> None:
    run = require_success(empty_sandbox.run("usage", "import", str(fixture), "--format", "json"))
    payload = json.loads(run.stdout)
    expected, report = _expected([fixture])
    stored = _stored(empty_sandbox.workspace)
    _assert_same_rows(stored, expected)
    assert payload["usage_row_count"] == len(expected)
    assert payload["input_format"] == report.format
    assert payload["kept_line_item_count"] == report.kept_line_items
    assert payload["kept_instance_hours"] == pytest.approx(report.kept_instance_hours, rel=1e-12)
    by_unit = dict(report.kept_quantity_by_unit)
    got = {item["unit"]: item["usage_amount"] for item in payload["kept_quantity_by_unit"]}
    assert got == pytest.approx(by_unit, rel=1e-12)
    assert sum(by_unit.values()) == pytest.approx(report.kept_quantity, rel=1e-12)
    assert payload["billing_periods"] == list(report.billing_periods)
    _assert_same_exclusions(payload["exclusions"], _exclusions(report), rel=1e-6)
    assert payload["currency"] == report.currency
    assert sum(a["usage_row_count"] for a in payload["added"]) == len(expected)
    # what it stored, one total per unit, as the reader's report counts them
    units = {"instance-hours": "instance_hours", "vCPU-hours": "vcpu_hours", "GB-hours": "gb_hours"}
    added = {unit: sum(a[column] for a in payload["added"]) for unit, column in units.items()}
    assert added == pytest.approx({unit: by_unit.get(unit, 0.0) for unit in units}, rel=1e-12)
    assert sum(added.values()) == pytest.approx(expected["quantity"].sum(), rel=1e-12)
    month = report.billing_periods[0]
    first = pd.Timestamp(f"{month}-01")
    assert payload["period_start"] == first.tz_localize("UTC").isoformat()
    assert _recorded(empty_sandbox.workspace) == [(
        report.format, "hourly", report.kept_line_items, report.excluded_line_items,
        len(expected), first.to_pydatetime(),
        (first + pd.offsets.MonthBegin(1)).to_pydatetime(),
    )]  # fmt: skip
    if report.format == "cur":
        from pricing.inventory import inventory_from_cur

        assert payload["bill_commitment_count"] == len(inventory_from_cur([fixture]))
    else:
        assert "bill_commitment_count" not in payload


def test_from_to_and_a_reimport_replace_as_the_pandas_path(empty_sandbox: Sandbox) -> None:
    bounds = {"start": "2018-10-02T00:00:00+00:00", "end": "2018-10-03T00:00:00+00:00"}
    first = json.loads(require_success(empty_sandbox.run(
        "usage", "import", str(USAGE_CUR), "--from", "2018-10-02", "--to", "2018-10-03",
        "--format", "json",
    )).stdout)  # fmt: skip
    expected, _report = _expected([USAGE_CUR], **bounds)
    _assert_same_rows(_stored(empty_sandbox.workspace), expected)
    assert first["period_start"] == bounds["start"] and first["period_end"] == bounds["end"]
    again = json.loads(require_success(
        empty_sandbox.run("usage", "import", str(USAGE_CUR), "--format", "json")
    ).stdout)  # fmt: skip
    assert again["replaced_row_count"] == len(expected)
    whole, _report = _expected([USAGE_CUR])
    _assert_same_rows(_stored(empty_sandbox.workspace), whole)


def _daily_cur(folder: Path) -> Path:
    """The usage fixture with every line item stretched over its UTC day (a daily CUR)."""
    target = folder / "daily.parquet"
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(
            f"""COPY (SELECT * REPLACE (
                    date_trunc('day', line_item_usage_start_date) AS line_item_usage_start_date,
                    date_trunc('day', line_item_usage_start_date) + INTERVAL 1 DAY
                        AS line_item_usage_end_date)
                FROM read_parquet('{USAGE_CUR}')) TO '{target}' (FORMAT parquet)"""
        )
    return target


def test_a_daily_bill_is_spread_over_its_hours_as_the_pandas_path(empty_sandbox: Sandbox) -> None:
    daily = _daily_cur(empty_sandbox.folder)
    payload = json.loads(require_success(
        empty_sandbox.run("usage", "import", str(daily), "--format", "json")
    ).stdout)  # fmt: skip
    expected, report = _expected([daily])
    assert report.daily and payload["is_daily"]
    assert len(expected) % 24 == 0
    _assert_same_rows(_stored(empty_sandbox.workspace), expected)
    assert _recorded(empty_sandbox.workspace)[0][:2] == ("cur", "daily")


def _bad_amount_cur(folder: Path) -> Path:
    """The usage fixture with one EC2 instance line item's usage amount made infinite."""
    target = folder / "bad.parquet"
    with duckdb.connect() as connection:
        connection.execute(
            f"""COPY (SELECT * REPLACE (CASE WHEN row_number() OVER () = (
                    SELECT min(r) FROM (SELECT row_number() OVER () AS r, line_item_usage_type AS t,
                        line_item_line_item_type AS k FROM read_parquet('{USAGE_CUR}'))
                    WHERE t LIKE '%BoxUsage:%' AND k = 'Usage')
                THEN 'infinity'::DOUBLE ELSE line_item_usage_amount END AS line_item_usage_amount)
                FROM read_parquet('{USAGE_CUR}')) TO '{target}' (FORMAT parquet)"""
        )
    return target


def _snapshot(workspace: Path) -> dict[str, Any]:
    """Every row of the ledger's tables, to compare before and after."""
    with duckdb.connect(str(workspace), read_only=True) as connection:
        return {
            table: connection.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
            for table in ("usage_hourly", "usage_imports", "usage_import_footprints")
        }


def test_a_bad_bill_fails_with_the_readers_message_and_changes_nothing(
    empty_sandbox: Sandbox,
) -> None:
    from usage.errors import UsageInputError
    from usage.readers import read_usage

    require_success(empty_sandbox.run("usage", "import", str(USAGE_CUR), "-q"))
    before = _snapshot(empty_sandbox.workspace)
    bad = _bad_amount_cur(empty_sandbox.folder)
    with pytest.raises(UsageInputError) as raised:
        read_usage([bad])
    run = empty_sandbox.run("usage", "import", str(bad))
    assert run.exit_code == EXIT_BAD_INPUT, str(run)
    assert "Traceback" not in run.stderr
    assert "column quantity has 1 missing, NaN, infinite" in str(raised.value)
    assert f"{ERROR_PREFIX} {raised.value}" in " ".join(run.stderr.split())
    assert _snapshot(empty_sandbox.workspace) == before


def _assert_same_report(got: Any, want: Any) -> None:
    """Equal reports; sums equal up to DuckDB's summation order (parallel, so it varies)."""
    sums = ("kept_quantity", "kept_cost")
    assert [getattr(got, f) for f in sums] == pytest.approx(
        [getattr(want, f) for f in sums], rel=1e-12
    )
    _assert_same_exclusions(_exclusions(got), _exclusions(want))
    assert dict(got.kept_quantity_by_unit) == pytest.approx(
        dict(want.kept_quantity_by_unit), rel=1e-12
    )
    by_unit = ("exclusions", "kept_quantity_by_unit")
    rest = [f.name for f in fields(want) if f.name not in (*sums, *by_unit)]
    assert [getattr(got, f) for f in rest] == [getattr(want, f) for f in rest]


def test_the_staged_rows_are_the_readers_without_a_pandas_table(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """In process: the good fixtures never build the demand in pandas (only a bad bill does)."""
    import usage.staged_bill as staged_bill

    def refuse(*_args: object) -> None:
        raise AssertionError("the demand was built in pandas")

    monkeypatch.setattr(staged_bill, "canonical_demand_table", refuse)
    for fixture in (*FIXTURES, _daily_cur(tmp_path)):
        expected, report = _expected([fixture])
        with duckdb.connect() as connection:
            staged = staged_bill.stage_bill_files(connection, [fixture], report.format)
            rows = connection.execute(f"{staged.usage.select_sql} ORDER BY ALL").df()
            staged_bill.drop_staged(connection)
        _assert_same_rows(rows, expected)
        _assert_same_report(staged.report, report)
        assert staged.usage.row_count == len(expected)
        assert staged.usage.first_hour == expected["hour"].min().tz_localize("UTC")
        assert staged.usage.last_hour == expected["hour"].max().tz_localize("UTC")
        assert staged.usage.accounts == tuple(sorted(set(expected["account_id"])))
        assert staged.usage.instance_types == tuple(sorted(set(expected["instance_type"])))
