"""``commitopt plans``, ``plans add``, ``plans show``, ``approve`` and ``reject`` from the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from commitopt.workspace import SCHEMA_VERSION
from tests.commitopt.conftest import RunCli
from tests.commitopt.purchase_stubs import PORTFOLIO


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(PORTFOLIO))
    return path


def _add(run_cli: RunCli, plan_file: Path) -> str:
    result = run_cli("plans", "add", str(plan_file), "--format", "json")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["status"] == "proposed" and payload["line_count"] == 4
    return str(payload["plan_id"])


def _ledger_rows(tmp_path: Path) -> int:
    connection = duckdb.connect(str(tmp_path / "commitopt.duckdb"), read_only=True)
    try:
        row = connection.execute("SELECT count(*) FROM approvals").fetchone()
        return int(row[0]) if row else 0
    finally:
        connection.close()


def test_add_list_show_approve(run_cli: RunCli, plan_file: Path) -> None:
    empty = run_cli("plans")
    assert empty.exit_code == 0 and "No plans yet" in empty.stdout
    assert json.loads(run_cli("plans", "--format", "json").stdout) == []
    plan_id = _add(run_cli, plan_file)
    listed = json.loads(run_cli("plans", "--format", "json").stdout)
    assert [(p["plan_id"], p["status"], p["line_count"]) for p in listed] == [
        (plan_id, "proposed", 4)
    ]
    assert listed[0]["upfront_usd"] == 8070.0 and listed[0]["history"] == ""
    approved = run_cli(
        "approve", plan_id, "--approver", "Ann Finance", "--comment", "Q4", "--format", "json"
    )
    assert approved.exit_code == 0, approved.stderr
    decision = json.loads(approved.stdout)
    assert decision["status"] == "approved" and decision["approver"] == "Ann Finance"
    listed = json.loads(run_cli("plans", "--format", "json").stdout)
    assert listed[0]["status"] == "approved"
    assert listed[0]["history"].startswith("approved by Ann Finance ")
    shown = json.loads(run_cli("plans", "show", plan_id, "--format", "json").stdout)
    assert shown["status"] == "approved" and shown["is_intact"] is True
    assert shown["sha256"] == decision["sha256"]
    assert [p["line"] for p in shown["purchases"]] == [1, 2, 3, 4]
    assert [h["event"] for h in shown["history"]] == ["approve"]
    table = run_cli("plans", "show", plan_id)
    assert (
        table.exit_code == 0 and "Purchase lines" in table.stdout and "Ann Finance" in table.stdout
    )
    # an approval older than the given maximum age has expired
    listed = json.loads(run_cli("plans", "--max-approval-age", "1e-9", "--format", "json").stdout)
    assert listed[0]["status"] == "expired"


def test_decisions_on_missing_or_decided_plans_exit_2(
    run_cli: RunCli, plan_file: Path, tmp_path: Path
) -> None:
    plan_id = _add(run_cli, plan_file)
    missing = run_cli("approve", "plan-19990101-9", "--approver", "ann")
    assert missing.exit_code == 2
    assert missing.stderr.startswith("commitopt: error: ") and "no plan 'plan-19990101-9'" in (
        missing.stderr
    )
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
    assert run_cli("approve", plan_id, "--approver", "ann").exit_code == 0
    again = run_cli("approve", plan_id, "--approver", "bob")
    assert again.exit_code == 2 and "already decided: approved by ann" in again.stderr
    assert run_cli("reject", plan_id, "--approver", "bob", "--comment", "wait").exit_code == 0
    for command in ("approve", "reject"):
        result = run_cli(command, plan_id, "--approver", "ann")
        assert result.exit_code == 2 and "already decided: rejected by bob" in result.stderr
    assert _ledger_rows(tmp_path) == 2
    no_name = run_cli("approve", plan_id)
    assert no_name.exit_code == 2 and "--approver" in no_name.stderr
    bad_age = run_cli("plans", "--max-approval-age", "0")
    assert bad_age.exit_code == 2 and "--max-approval-age must be above 0" in bad_age.stderr


def test_bad_plan_file_exit_2_and_nothing_stored(run_cli: RunCli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"purchases": [{**PORTFOLIO["purchases"][0], "platform": "BeOS"}]}))
    result = run_cli("plans", "add", str(bad))
    assert result.exit_code == 2
    assert "bad.json" in result.stderr and "purchases[0].platform" in result.stderr
    assert result.stderr.count("\n") == 1
    assert json.loads(run_cli("plans", "--format", "json").stdout) == []


def test_newer_workspace_is_refused(run_cli: RunCli, plan_file: Path, tmp_path: Path) -> None:
    _add(run_cli, plan_file)
    connection = duckdb.connect(str(tmp_path / "commitopt.duckdb"))
    connection.execute("INSERT INTO schema_version VALUES (?, now())", [SCHEMA_VERSION + 1])
    connection.close()
    for args in (("plans",), ("plans", "add", str(plan_file))):
        result = run_cli(*args)
        assert result.exit_code == 2
        assert f"schema version {SCHEMA_VERSION + 1} is newer than this commitopt" in result.stderr


HOLDER = textwrap.dedent(
    """
    import sys, time
    from commitopt.workspace import Workspace
    with Workspace.open(sys.argv[1]):
        print("open", flush=True)
        time.sleep(30)
    """
)


def test_a_busy_workspace_is_reported(run_cli: RunCli, plan_file: Path, tmp_path: Path) -> None:
    plan_id = _add(run_cli, plan_file)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "commitopt.duckdb")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        result = run_cli("approve", plan_id, "--approver", "ann")
        assert result.exit_code == 3 and "workspace is busy" in result.stderr  # the environment
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert _ledger_rows(tmp_path) == 0


def test_configured_approvers_and_approval_age(
    run_cli: RunCli, plan_file: Path, tmp_path: Path
) -> None:
    (tmp_path / "commitopt.toml").write_text(
        'approvers = ["Ann Finance", "bob"]\napproval_max_age_days = 1e-9\n'
    )
    plan_id = _add(run_cli, plan_file)
    eve = run_cli("approve", plan_id, "--approver", "eve")
    assert eve.exit_code == 2
    assert "'eve' may not approve plans; the approver list allows Ann Finance, bob" in eve.stderr
    assert _ledger_rows(tmp_path) == 0
    ann = run_cli("approve", plan_id, "--approver", "ann finance", "--format", "json")
    assert ann.exit_code == 0, ann.stderr
    # the configured maximum age (a tiny one here) applies unless a flag overrides it
    shown = json.loads(run_cli("plans", "show", plan_id, "--format", "json").stdout)
    assert shown["status"] == "expired"
    shown = json.loads(
        run_cli("plans", "show", plan_id, "--max-approval-age", "14", "--format", "json").stdout
    )
    assert shown["status"] == "approved"
