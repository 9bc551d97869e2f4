"""``commitopt plans``, ``plans add``, ``plans show``, ``approve`` and ``reject`` from the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from commitopt.identity import host_name
from commitopt.workspace import SCHEMA_VERSION
from tests.commitopt.conftest import RunCli
from tests.commitopt.identities import FINANCE_ROLE, as_os_user, isolated_aws
from tests.commitopt.purchase_stubs import PORTFOLIO


@pytest.fixture(autouse=True)
def planner(isolated_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """No AWS credentials; plans are stored by the OS user ``planner`` unless a test switches."""
    as_os_user(monkeypatch, "planner")


HOST = host_name()

__all__ = ["isolated_aws"]


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


def test_add_list_show_approve(
    run_cli: RunCli, plan_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = run_cli("plans")
    assert empty.exit_code == 0 and "No plans yet" in empty.stdout
    assert json.loads(run_cli("plans", "--format", "json").stdout) == []
    plan_id = _add(run_cli, plan_file)
    listed = json.loads(run_cli("plans", "--format", "json").stdout)
    assert [(p["plan_id"], p["status"], p["line_count"]) for p in listed] == [
        (plan_id, "proposed", 4)
    ]
    assert listed[0]["upfront_usd"] == 8070.0 and listed[0]["history"] == ""
    as_os_user(monkeypatch, "ann")
    approved = run_cli("approve", plan_id, "--comment", "Q4", "--format", "json")
    assert approved.exit_code == 0, approved.stderr
    decision = json.loads(approved.stdout)
    assert decision["status"] == "approved" and decision["approver"] == f"ann@{HOST}"
    assert (decision["by_kind"], decision["by_principal"]) == ("os", "ann")
    listed = json.loads(run_cli("plans", "--format", "json").stdout)
    assert listed[0]["status"] == "approved"
    assert listed[0]["history"].startswith(f"approved by ann@{HOST} ")
    shown = json.loads(run_cli("plans", "show", plan_id, "--format", "json").stdout)
    assert shown["status"] == "approved" and shown["is_intact"] is True
    assert shown["sha256"] == decision["sha256"]
    assert [p["line"] for p in shown["purchases"]] == [1, 2, 3, 4]
    assert [(h["event"], h["by_principal"]) for h in shown["history"]] == [
        ("created", "planner"),
        ("approve", "ann"),
    ]
    assert shown["created_by"]["principal"] == "planner" and shown["created_by"]["kind"] == "os"
    assert shown["created_by"]["host"] == HOST and shown["notes"] == []
    table = run_cli("plans", "show", plan_id)
    assert table.exit_code == 0 and "Purchase lines" in table.stdout
    assert f"ann@{HOST}" in table.stdout and "planner" in table.stdout
    # an approval older than the given maximum age has expired
    listed = json.loads(run_cli("plans", "--max-approval-age", "1e-9", "--format", "json").stdout)
    assert listed[0]["status"] == "expired"


def test_decisions_on_missing_or_decided_plans_exit_2(
    run_cli: RunCli, plan_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_id = _add(run_cli, plan_file)
    as_os_user(monkeypatch, "ann")
    missing = run_cli("approve", "plan-19990101-9")
    assert missing.exit_code == 2
    assert missing.stderr.startswith("commitopt: error: ") and "no plan 'plan-19990101-9'" in (
        missing.stderr
    )
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
    assert run_cli("approve", plan_id).exit_code == 0
    as_os_user(monkeypatch, "bob")
    again = run_cli("approve", plan_id)
    assert again.exit_code == 2 and f"already decided: approved by ann@{HOST}" in again.stderr
    assert run_cli("reject", plan_id, "--comment", "wait").exit_code == 0
    as_os_user(monkeypatch, "ann")
    for command in ("approve", "reject"):
        result = run_cli(command, plan_id)
        assert result.exit_code == 2 and f"already decided: rejected by bob@{HOST}" in result.stderr
    assert _ledger_rows(tmp_path) == 2
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
        result = run_cli("approve", plan_id)
        assert result.exit_code == 3 and "workspace is busy" in result.stderr  # the environment
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert _ledger_rows(tmp_path) == 0


def test_configured_approvers_and_approval_age(
    run_cli: RunCli, plan_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "commitopt.toml").write_text(
        'approvers = ["Ann Finance", "bob"]\napproval_max_age_days = 1e-9\n'
    )
    plan_id = _add(run_cli, plan_file)
    as_os_user(monkeypatch, "eve")
    eve = run_cli("approve", plan_id)
    assert eve.exit_code == 2
    assert (
        f"eve@{HOST} may not approve plans; the approver list allows Ann Finance, bob" in eve.stderr
    )
    assert _ledger_rows(tmp_path) == 0
    as_os_user(monkeypatch, "BOB")  # names match the OS user whatever the case
    bob = run_cli("approve", plan_id, "--format", "json")
    assert bob.exit_code == 0, bob.stderr
    # the configured maximum age (a tiny one here) applies unless a flag overrides it
    shown = json.loads(run_cli("plans", "show", plan_id, "--format", "json").stdout)
    assert shown["status"] == "expired"
    shown = json.loads(
        run_cli("plans", "show", plan_id, "--max-approval-age", "14", "--format", "json").stdout
    )
    assert shown["status"] == "approved"


def test_the_creator_may_not_approve_own_plan_unless_configured(
    run_cli: RunCli, plan_file: Path, tmp_path: Path
) -> None:
    plan_id = _add(run_cli, plan_file)  # stored by planner
    own = run_cli("approve", plan_id)
    assert own.exit_code == 2 and own.stderr.count("\n") == 1
    assert f"planner@{HOST} stored plan {plan_id} and may not approve it too" in own.stderr
    assert "self_approval" in own.stderr and _ledger_rows(tmp_path) == 0
    (tmp_path / "commitopt.toml").write_text('self_approval = ["planner"]\n')
    assert run_cli("approve", plan_id).exit_code == 0


def test_an_arn_only_approver_list_needs_aws_credentials(
    run_cli: RunCli, plan_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "commitopt.toml").write_text(f'approvers = ["{FINANCE_ROLE}"]\n')
    plan_id = _add(run_cli, plan_file)
    as_os_user(monkeypatch, "ann")
    result = run_cli("approve", plan_id)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "names only AWS principals" in result.stderr
    assert "no AWS credentials found" in result.stderr
    assert "AWS credentials are needed to approve" in result.stderr
    assert _ledger_rows(tmp_path) == 0


def test_approver_flag_is_deprecated_and_must_name_the_caller(
    run_cli: RunCli, plan_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_id = _add(run_cli, plan_file)
    as_os_user(monkeypatch, "ann")
    typed = run_cli("approve", plan_id, "--approver", "Ann Finance")
    assert typed.exit_code == 2 and typed.stderr.count("\n") == 1
    assert "--approver 'Ann Finance' is not who runs this command" in typed.stderr
    assert f"ann@{HOST} (os)" in typed.stderr and _ledger_rows(tmp_path) == 0
    same = run_cli("approve", plan_id, "--approver", "ann", "--format", "json")
    assert same.exit_code == 0, same.stderr
    assert "--approver is deprecated" in same.stderr
    assert json.loads(same.stdout)["approver"] == f"ann@{HOST}"
    assert "--approver" not in run_cli("approve", "--help").stdout  # hidden


def test_long_comments_are_refused(
    run_cli: RunCli, plan_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_id = _add(run_cli, plan_file)
    as_os_user(monkeypatch, "ann")
    result = run_cli("reject", plan_id, "--comment", "x" * 2001)
    assert result.exit_code == 2 and "more than 2,000" in result.stderr
    assert _ledger_rows(tmp_path) == 0


def test_show_history_csv_is_the_chain_of_custody(
    run_cli: RunCli, plan_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_id = _add(run_cli, plan_file)
    as_os_user(monkeypatch, "ann")
    assert run_cli("reject", plan_id, "--comment", "line one\nline two").exit_code == 0
    purchase_lines = run_cli("plans", "show", plan_id, "--format", "csv")
    assert purchase_lines.stdout.splitlines()[0].startswith("line,id,purchase,"), purchase_lines
    shown = run_cli("plans", "show", plan_id, "--history", "--format", "csv")
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "at,event,by,by_kind,by_principal,by_host,detail,sha256"
    assert [line.split(",")[1:6] for line in lines[1:]] == [
        ["created", f"planner@{HOST}", "os", "planner", HOST],
        ["reject", f"ann@{HOST}", "os", "ann", HOST],
    ]
    assert "line one\\nline two" in lines[2]  # one row per event: newlines shown as \n


def test_show_says_when_the_creator_is_unknown(
    run_cli: RunCli, plan_file: Path, tmp_path: Path
) -> None:
    plan_id = _add(run_cli, plan_file)
    connection = duckdb.connect(str(tmp_path / "commitopt.duckdb"))
    connection.execute("UPDATE plans SET created_by = NULL")
    connection.close()
    shown = json.loads(run_cli("plans", "show", plan_id, "--format", "json").stdout)
    assert shown["created_by"] is None
    assert shown["notes"] == [
        "created by unknown: stored before commitopt recorded identities, so self-approval "
        "cannot be checked"
    ]
    assert shown["history"][0]["by_kind"] == "unknown"
    table = run_cli("plans", "show", plan_id, "--wide")
    assert "self-approval cannot be checked" in table.stdout
    # without a recorded creator the self-check is impossible, and approving is not refused
    assert run_cli("approve", plan_id).exit_code == 0
