"""Imports that never silently delete, implausible usage refused, the bill's RIs, a busy workspace.

Every journey runs the installed console script on the trimmed October 2018 workshop CUR (two
accounts, nine RIs) and small canonical CSVs, and checks the workspace with an independent
DuckDB query (never through commitopt's own readers).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Final

import duckdb
import pytest

from tests.cli.conftest import (
    EXIT_BAD_INPUT,
    EXIT_ENVIRONMENT,
    REPO,
    Run,
    Sandbox,
    require_success,
)

RI_BILL: Final = REPO / "tests/data/cur/wal_Oct2018-WorkshopCUR-ribill-trimmed.zstd.parquet"
"""October 2018 CUR lines of both workshop accounts, with the RIFee lines of their nine RIs."""

FOCUS_2024: Final = REPO / "tests/data/focus/focus1.0_sample_1000.csv"
"""FOCUS 1.0 sample rows of September 2024."""

ACCOUNT_A: Final = "836060457634"
ACCOUNT_B: Final = "011254002932"
OTHER_ACCOUNT: Final = "999999999999"
HEADER: Final = "hour,account_id,region,instance_type,platform,tenancy,quantity\n"


def _json(run: Run) -> Any:
    return json.loads(require_success(run).stdout)


def _csv(folder: Path, name: str, rows: list[str]) -> Path:
    path = folder / name
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def _counts(workspace: Path) -> dict[tuple[str, str], int]:
    """Rows that count, by account and month, read with DuckDB directly."""
    with duckdb.connect(str(workspace), read_only=True) as connection:
        rows = connection.execute(
            "SELECT account_id, strftime(hour, '%Y-%m'), count(*) FROM usage_hourly "
            "WHERE replaced_by IS NULL GROUP BY ALL"
        ).fetchall()
    return {(str(a), str(m)): int(n) for a, m, n in rows}


def _cur_rows(account: str, start: str, end: str) -> int:
    """Hourly usage rows of ``account`` in ``[start, end)`` that the CUR import stores."""
    from usage.readers import read_usage

    frame, _report = read_usage([str(RI_BILL)], "cur")
    hours = frame["hour"]
    chosen = (frame["account_id"] == account) & (hours >= start) & (hours < end)
    return int(chosen.sum())


@pytest.fixture
def with_bill(empty_sandbox: Sandbox) -> Sandbox:
    """A workspace holding the October 2018 CUR of both accounts (import 1)."""
    payload = _json(empty_sandbox.run("usage", "import", str(RI_BILL), "--format", "json"))
    assert payload["import_id"] == 1 and payload["replaced_row_count"] == 0
    return empty_sandbox


def test_other_account_and_source_keep_both(with_bill: Sandbox) -> None:
    before = _counts(with_bill.workspace)
    assert set(before) == {(ACCOUNT_A, "2018-10"), (ACCOUNT_B, "2018-10")}
    extra = _csv(with_bill.folder, "other.csv", [
        f"2018-10-15T10:00:00Z,{OTHER_ACCOUNT},us-east-1,m5.large,Linux/UNIX,Shared,3",
    ])  # fmt: skip
    payload = _json(with_bill.run("usage", "import", str(extra), "--format", "json"))
    assert payload["replaced_row_count"] == 0 and payload["replaced"] == []
    assert payload["added"] == [{"account_id": OTHER_ACCOUNT, "month": "2018-10",
                                 "usage_row_count": 1, "instance_hours": 3.0,
                                 "vcpu_hours": 0.0, "gb_hours": 0.0}]  # fmt: skip
    assert _counts(with_bill.workspace) == {**before, (OTHER_ACCOUNT, "2018-10"): 1}


def test_same_account_other_source_is_refused_then_replaces_only_its_hour(
    with_bill: Sandbox,
) -> None:
    before = _counts(with_bill.workspace)
    one_row = _csv(with_bill.folder, "one.csv", [
        f"2018-10-15T10:00:00Z,{ACCOUNT_A},us-east-1,m5.large,Linux/UNIX,Shared,3",
    ])  # fmt: skip
    refused = with_bill.run("usage", "import", str(one_row))
    assert refused.exit_code == EXIT_BAD_INPUT, str(refused)
    assert "import 1 (cur)" in refused.stderr and ACCOUNT_A in refused.stderr
    assert "2018-10" in refused.stderr and "--replace" in refused.stderr, refused.stderr
    assert ACCOUNT_B not in refused.stderr
    assert _counts(with_bill.workspace) == before  # nothing written
    expected = _cur_rows(ACCOUNT_A, "2018-10-15T10:00Z", "2018-10-15T11:00Z")
    assert expected > 0
    payload = _json(with_bill.run("usage", "import", str(one_row), "--replace", "--format", "json"))
    assert payload["replaced_row_count"] == expected
    assert {(r["import_id"], r["account_id"]) for r in payload["replaced"]} == {(1, ACCOUNT_A)}
    after = _counts(with_bill.workspace)
    assert after[(ACCOUNT_B, "2018-10")] == before[(ACCOUNT_B, "2018-10")]
    assert after[(ACCOUNT_A, "2018-10")] == before[(ACCOUNT_A, "2018-10")] - expected + 1


def test_plus_five_hours_file_replaces_nothing_it_does_not_bring(with_bill: Sandbox) -> None:
    """Hours written at +05:00 reach 19:00–23:00 UTC of 31 October: only those hours count."""
    rows = [
        f"2018-11-01T0{h}:00:00+05:00,{OTHER_ACCOUNT},us-east-1,m5.large,Linux/UNIX,Shared,1"
        for h in range(5)
    ]
    first = _csv(with_bill.folder, "plus5.csv", rows)
    before = _counts(with_bill.workspace)
    payload = _json(with_bill.run("usage", "import", str(first), "--format", "json"))
    assert payload["period_start"] == "2018-10-31T19:00:00+00:00"
    assert payload["period_end"] == "2018-11-01T00:00:00+00:00"
    assert payload["replaced_row_count"] == 0
    assert _counts(with_bill.workspace) == {**before, (OTHER_ACCOUNT, "2018-10"): 5}
    # The same source again, two hours only: it replaces those two hours and nothing else.
    again = _csv(with_bill.folder, "plus5-again.csv", [r.replace(",1", ",4") for r in rows[:2]])
    payload = _json(with_bill.run("usage", "import", str(again), "--format", "json"))
    assert payload["replaced_row_count"] == 2
    assert _counts(with_bill.workspace) == {**before, (OTHER_ACCOUNT, "2018-10"): 5}


def test_imports_list_and_remove_restores_what_was_replaced(with_bill: Sandbox) -> None:
    before = _counts(with_bill.workspace)
    one_row = _csv(with_bill.folder, "one.csv", [
        f"2018-10-15T10:00:00Z,{ACCOUNT_A},us-east-1,m5.large,Linux/UNIX,Shared,3",
    ])  # fmt: skip
    require_success(with_bill.run("usage", "import", str(one_row), "--replace"))
    listed = _json(with_bill.run("usage", "imports", "--format", "json"))
    assert [(i["import_id"], i["source_kind"]) for i in listed] == [(1, "cur"), (2, "canonical")]
    assert listed[0]["replaced_row_count"] > 0 and listed[1]["usage_row_count"] == 1
    dry = _json(with_bill.run("usage", "remove", "2", "--dry-run", "--format", "json"))
    assert dry["is_dry_run"] and dry["restored_row_count"] == listed[0]["replaced_row_count"]
    assert _counts(with_bill.workspace) != before  # the dry run changed nothing
    removed = _json(with_bill.run("usage", "remove", "2", "--format", "json"))
    assert removed["removed_row_count"] == 1
    assert _counts(with_bill.workspace) == before
    again = with_bill.run("usage", "remove", "2")
    assert again.exit_code == EXIT_BAD_INPUT and "already removed" in again.stderr, str(again)


def test_usage_after_now_is_refused(empty_sandbox: Sandbox, tmp_path: Path) -> None:
    """The October 2018 CUR moved to October 2099."""
    moved = tmp_path / "cur-2099.parquet"
    shift = "INTERVAL 81 YEAR"
    columns = ("bill_billing_period_start_date", "bill_billing_period_end_date",
               "line_item_usage_start_date", "line_item_usage_end_date")  # fmt: skip
    with duckdb.connect() as connection:
        replaced = ", ".join(f"{c} + {shift} AS {c}" for c in columns)
        connection.execute(
            f"COPY (SELECT * REPLACE ({replaced}) FROM read_parquet('{RI_BILL}')) "
            f"TO '{moved}' (FORMAT parquet)"
        )
    run = empty_sandbox.run("usage", "import", str(moved))
    assert run.exit_code == EXIT_BAD_INPUT, str(run)
    assert "after now" in run.stderr and "2099-10-01" in run.stderr, run.stderr
    assert not empty_sandbox.workspace.exists() or _counts(empty_sandbox.workspace) == {}


def test_unknown_instance_family_refused_in_a_canonical_table(empty_sandbox: Sandbox) -> None:
    typo = _csv(empty_sandbox.folder, "typo.csv", [
        "2018-10-15T10:00:00Z,111122223333,us-east-1,m5.large,Linux/UNIX,Shared,1",
        "2018-10-15T10:00:00Z,111122223333,us-east-1,z99.mega,Linux/UNIX,Shared,1",
    ])  # fmt: skip
    run = empty_sandbox.run("usage", "import", str(typo))
    assert run.exit_code == EXIT_BAD_INPUT, str(run)
    assert "typo.csv" in run.stderr and "instance_type" in run.stderr
    assert "z99.mega" in run.stderr and "--allow-unknown-types" in run.stderr
    accepted = _json(
        empty_sandbox.run("usage", "import", str(typo), "--allow-unknown-types", "--format", "json")
    )
    assert accepted["usage_row_count"] == 2


def test_usage_years_apart_is_refused(with_bill: Sandbox) -> None:
    before = _counts(with_bill.workspace)
    run = with_bill.run("usage", "import", str(FOCUS_2024))
    assert run.exit_code == EXIT_BAD_INPUT, str(run)
    assert "2024-09-01" in run.stderr and "2018-10-01" in run.stderr
    assert "--allow-gap" in run.stderr and "--workspace" in run.stderr, run.stderr
    assert _counts(with_bill.workspace) == before
    payload = _json(with_bill.run("usage", "import", str(FOCUS_2024), "--allow-gap", "--format",
                                  "json"))  # fmt: skip
    assert payload["usage_row_count"] > 0


def test_inventory_show_lists_the_nine_ris_of_the_bill(with_bill: Sandbox) -> None:
    listed = _json(with_bill.run("inventory", "show", "--format", "json"))
    assert len(listed) == 9
    assert {item["kind"] for item in listed} == {"reserved_instance"}
    assert sum(item["count"] for item in listed) == 13
    assert {item["account_id"] for item in listed} == {ACCOUNT_A}
    assert all(item["id"].startswith("arn:aws:ec2:us-east-1:") for item in listed)
    # Removing the import takes the bill's commitments with it.
    require_success(with_bill.run("usage", "remove", "1"))
    gone = with_bill.run("inventory", "show", "--format", "json")
    assert json.loads(require_success(gone).stdout) == []


def test_recommend_builds_on_the_bills_commitments(with_bill: Sandbox) -> None:
    common = ("recommend", "--usage", str(RI_BILL), "--format", "json")
    owned = _json(with_bill.run(*common))
    assert "9 owned commitments from the bill" in with_bill.run(*common).stderr
    ignored = _json(with_bill.run(*common, "--no-bill-inventory"))
    # Without the owned RIs the current cost is all on-demand, so it is higher.
    assert ignored["summary"]["current_cost_usd"] > owned["summary"]["current_cost_usd"]


_HOLD_LOCK: Final = textwrap.dedent(
    """
    import sys, time, duckdb
    connection = duckdb.connect(sys.argv[1])
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    connection.close()
    """
)


def _hold(workspace: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(workspace), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_busy_workspace_is_checked_before_reading_and_waited_for(with_bill: Sandbox) -> None:
    holder = _hold(with_bill.workspace, 30)
    try:
        # A source that does not exist: busy is found first (exit 3), before any reading.
        run = with_bill.run("usage", "import", "no-such-file.parquet")
        assert run.exit_code == EXIT_ENVIRONMENT, str(run)
        assert "busy" in run.stderr and "--wait" in run.stderr, run.stderr
    finally:
        holder.kill()
        holder.wait()
    holder = _hold(with_bill.workspace, 6)  # past a loaded machine's start-up of the command
    try:
        started = time.monotonic()
        run = with_bill.run("usage", "imports", "--wait", "60", "--format", "json")
        assert json.loads(require_success(run).stdout)[0]["import_id"] == 1
        assert "waiting up to 60 s" in run.stderr
        assert time.monotonic() - started < 60
    finally:
        holder.wait()


def test_prune_deletes_replaced_rows_for_good(with_bill: Sandbox) -> None:
    before = _counts(with_bill.workspace)
    one_row = _csv(with_bill.folder, "one.csv", [
        f"2018-10-15T10:00:00Z,{ACCOUNT_A},us-east-1,m5.large,Linux/UNIX,Shared,3",
    ])  # fmt: skip
    replaced = _json(
        with_bill.run("usage", "import", str(one_row), "--replace", "--format", "json")
    )["replaced_row_count"]
    counting = _counts(with_bill.workspace)
    dry = _json(with_bill.run("usage", "prune", "--dry-run", "--format", "json"))
    assert dry["is_dry_run"] and dry["pruned_row_count"] == replaced > 0
    with duckdb.connect(str(with_bill.workspace), read_only=True) as connection:
        (stored,) = connection.execute("SELECT count(*) FROM usage_hourly").fetchone() or (0,)
    pruned = _json(with_bill.run("usage", "prune", "--format", "json"))
    assert pruned["pruned_row_count"] == replaced
    assert [(r["import_id"], r["account_id"]) for r in pruned["pruned"]] == [(1, ACCOUNT_A)]
    with duckdb.connect(str(with_bill.workspace), read_only=True) as connection:
        (left,) = connection.execute("SELECT count(*) FROM usage_hourly").fetchone() or (0,)
    assert left == stored - replaced
    assert _counts(with_bill.workspace) == counting  # what counts is unchanged
    removed = _json(with_bill.run("usage", "remove", "2", "--format", "json"))
    assert removed["restored_row_count"] == 0  # nothing left to bring back
    expected = dict(before)
    expected[(ACCOUNT_A, "2018-10")] -= replaced
    assert _counts(with_bill.workspace) == expected
