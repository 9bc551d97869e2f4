"""``commitopt purchase`` end to end: recommend → plans add → approve → dry run → execute."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from commitopt.cli import purchase_command
from commitopt.plans import PlanRecord, load_plan
from commitopt.workspace import Workspace
from tests.commitopt.conftest import CliResult, RunCli
from tests.commitopt.identities import ANN_SESSION, as_os_user, aws_caller, without_sts
from tests.commitopt.purchase_stubs import (
    DATABASE_PORTFOLIO,
    FAKE_ACCESS_KEY,
    FAKE_SECRET_KEY,
    PORTFOLIO,
    StubbedClients,
    expect_execution,
    expect_lookup,
    expect_purchase,
)

BUYER = aws_caller(ANN_SESSION)
"""Who the purchase command says buys (its STS call is the one thing replaced)."""


@pytest.fixture(autouse=True)
def no_aws_account(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS configuration at all, except a fake key pair whose secret must never be printed."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_KEY)
    without_sts(monkeypatch)  # the fake keys must not reach STS either
    as_os_user(monkeypatch, "planner")
    monkeypatch.setattr(purchase_command, "purchase_identity", lambda _profile: BUYER)


def _use(monkeypatch: pytest.MonkeyPatch, clients: StubbedClients | None) -> None:
    """Hand the purchase command these stubbed clients (``None``: making a client fails)."""

    def make(profile: str | None) -> Callable[[str, str], object]:
        if clients is None:
            raise AssertionError("a dry run must not create AWS clients")
        return clients

    monkeypatch.setattr(purchase_command, "make_clients", make)


def _plan(tmp_path: Path, plan_id: str) -> PlanRecord:
    with Workspace.open(tmp_path / "commitopt.duckdb", read_only=True) as workspace:
        return load_plan(workspace, plan_id)


def _clean(*results: CliResult) -> None:
    for result in results:
        assert FAKE_SECRET_KEY not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr


def test_recommend_approve_dry_run_execute_rerun(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = run_cli("recommend", "--demo", "--format", "json", "--out", "plan.json")
    assert made.exit_code == 0, made.stderr
    added = run_cli("plans", "add", "plan.json", "--format", "json")
    assert added.exit_code == 0, added.stderr
    plan_id = json.loads(added.stdout)["plan_id"]
    listed = run_cli("plans")
    assert plan_id in listed.stdout and "proposed" in listed.stdout
    as_os_user(monkeypatch, "ann")
    approved = run_cli("approve", plan_id)
    assert approved.exit_code == 0, approved.stderr

    _use(monkeypatch, None)
    dry = run_cli("purchase", plan_id)
    assert dry.exit_code == 0, dry.stderr
    plan = _plan(tmp_path, plan_id)
    lines = plan.lines
    assert len(lines) > 5
    assert dry.stdout.count("would call:") == len(lines)
    assert "ReservedInstancesOfferingId=<looked up at execution>" in dry.stdout
    assert f"clientToken='commitopt-{plan.stored_sha256[:40]}-L{lines[-1].number}'" in dry.stdout
    assert "dry run: nothing bought. Plan status: approved" in dry.stdout
    dry_json = json.loads(run_cli("purchase", plan_id, "--format", "json").stdout)
    assert [line["state"] for line in dry_json["lines"]] == ["planned"] * len(lines)
    first = next(line for line in lines if line.is_reserved_instance)
    assert dry_json["lines"][first.number - 1]["purchase"]["parameters"] == {
        "ReservedInstancesOfferingId": "<looked up at execution>",
        "InstanceCount": first.commitment.count,
    }

    clients = StubbedClients()
    expect_execution(clients, lines, plan.stored_sha256)
    _use(monkeypatch, clients)
    bought = run_cli("purchase", plan_id, "--execute")
    assert bought.exit_code == 0, bought.stderr
    clients.assert_done()  # every line bought once, with the expected parameters and tokens
    assert bought.stdout.count("  bought:") == len(lines)
    assert f"plan {plan_id}: executed ({len(lines)} of {len(lines)} lines bought" in bought.stdout

    _use(monkeypatch, StubbedClients())  # no responses: any AWS call would fail
    again = run_cli("purchase", plan_id, "--execute")
    assert again.exit_code == 0, again.stderr
    assert "every line was already bought; nothing to do" in again.stdout
    shown = json.loads(run_cli("plans", "show", plan_id, "--format", "json").stdout)
    assert shown["status"] == "executed" and shown["bought_count"] == len(lines)
    # the chain: stored by planner, approved by ann, every purchase event by the AWS caller
    chain = [(h["event"], h["by_principal"]) for h in shown["history"]]
    assert chain[:2] == [("created", "planner"), ("approve", "ann")]
    assert {who for _, who in chain[2:]} == {ANN_SESSION} and len(chain) == 2 + 2 * len(lines)
    _clean(made, added, listed, approved, dry, bought, again)


@pytest.fixture
def approved_plan(run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PlanRecord:
    (tmp_path / "small.json").write_text(json.dumps(PORTFOLIO))
    added = run_cli("plans", "add", "small.json", "--format", "json")
    plan_id = json.loads(added.stdout)["plan_id"]
    as_os_user(monkeypatch, "ann")
    assert run_cli("approve", plan_id).exit_code == 0
    as_os_user(monkeypatch, "planner")
    return _plan(tmp_path, plan_id)


def test_a_tampered_plan_is_refused(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, approved_plan: PlanRecord
) -> None:
    document = approved_plan.document
    document["purchases"][0]["count"] = 200
    connection = duckdb.connect(str(tmp_path / "commitopt.duckdb"))
    connection.execute(
        "UPDATE plans SET plan_json = ? WHERE plan_id = ?",
        [json.dumps(document), approved_plan.plan_id],
    )
    connection.close()
    clients = StubbedClients()
    _use(monkeypatch, clients)
    result = run_cli("purchase", approved_plan.plan_id, "--execute")
    assert result.exit_code == 2
    assert "changed after it was approved" in result.stderr and "nothing bought" in result.stderr
    assert result.stderr.count("\n") == 1 and clients.made == []
    listed = json.loads(run_cli("plans", "--format", "json").stdout)
    assert listed[0]["status"] == "void"
    _clean(result)


def test_a_crash_between_two_lines_resumes_without_a_duplicate(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, approved_plan: PlanRecord
) -> None:
    lines, digest = approved_plan.lines, approved_plan.stored_sha256
    clients = StubbedClients()
    for line in lines:
        expect_lookup(clients, line)
    expect_purchase(clients, lines[0], digest)
    expect_purchase(clients, lines[1], digest, error_code="ServiceUnavailable")
    _use(monkeypatch, clients)
    failed = run_cli("purchase", approved_plan.plan_id, "--execute")
    assert failed.exit_code == 3  # AWS unavailable: the environment, not the plan
    assert "line 1 (rec-1)" in failed.stdout and "  bought:" in failed.stdout
    assert "line 2: AWS could not take ec2:PurchaseReservedInstancesOffering now (" in (
        failed.stderr
    )
    assert "1 of 4 lines bought" in failed.stderr and failed.stderr.count("\n") == 1
    clients.assert_done()
    resumed = StubbedClients()
    expect_execution(resumed, lines, digest, buy=[2, 3, 4])
    _use(monkeypatch, resumed)
    result = run_cli("purchase", approved_plan.plan_id, "--execute", "--format", "json")
    assert result.exit_code == 0, result.stderr
    resumed.assert_done()  # line 1 not bought again
    payload = json.loads(result.stdout)
    assert [line["state"] for line in payload["lines"]] == [
        "already-executed", "executed", "executed", "executed"
    ]  # fmt: skip
    assert payload["status"] == "executed"
    _clean(failed, result)


def test_access_denied_is_one_line_exit_3(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, approved_plan: PlanRecord
) -> None:
    lines, digest = approved_plan.lines, approved_plan.stored_sha256
    clients = StubbedClients()
    for line in lines:
        expect_lookup(clients, line)
    expect_purchase(clients, lines[0], digest, error_code="UnauthorizedOperation")
    _use(monkeypatch, clients)
    result = run_cli("purchase", approved_plan.plan_id, "--execute")
    assert result.exit_code == 3  # denied: the environment (credentials, IAM), not the plan
    assert result.stderr.count("\n") == 1
    assert "'ec2:PurchaseReservedInstancesOffering' permission" in result.stderr
    assert "nothing more bought (0 of 4 lines bought)" in result.stderr
    clients.assert_done()
    _clean(result)


def test_unapproved_plan_and_price_moved(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, approved_plan: PlanRecord
) -> None:
    added = run_cli("plans", "add", "small.json", "--format", "json")
    proposed = json.loads(added.stdout)["plan_id"]
    clients = StubbedClients()
    _use(monkeypatch, clients)
    refused = run_cli("purchase", proposed, "--execute")
    assert refused.exit_code == 2 and "is not approved; nothing bought" in refused.stderr
    missing = run_cli("purchase", "plan-0", "--execute")
    assert missing.exit_code == 2 and "no plan 'plan-0'" in missing.stderr
    assert clients.made == []
    # a dry run with --lookup reports the moved price and exits 1; --execute refuses (2)
    lines = approved_plan.lines
    looked = StubbedClients()
    for line in lines:
        expect_lookup(looked, line, price_factor=1.2 if line.number == 1 else 1.0)
    _use(monkeypatch, looked)
    dry = run_cli("purchase", approved_plan.plan_id, "--lookup")
    assert dry.exit_code == 1
    assert "ReservedInstancesOfferingId='ri-offering-1'" in dry.stdout
    assert "PRICE MOVED" in dry.stdout and "--execute would refuse" in dry.stderr
    moved = StubbedClients()
    expect_lookup(moved, lines[0], price_factor=1.2)
    _use(monkeypatch, moved)
    result = run_cli("purchase", approved_plan.plan_id, "--execute")
    assert result.exit_code == 2 and "20.00 % apart" in result.stderr
    assert "nothing bought" in result.stderr
    connection = duckdb.connect(str(tmp_path / "commitopt.duckdb"), read_only=True)
    events = connection.execute("SELECT count(*) FROM purchase_events").fetchone()
    connection.close()
    assert events == (0,)
    _clean(refused, missing, dry, result)


def test_database_lines_are_bought_with_their_services(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "db.json").write_text(json.dumps(DATABASE_PORTFOLIO))
    added = run_cli("plans", "add", "db.json", "--format", "json")
    plan_id = json.loads(added.stdout)["plan_id"]
    as_os_user(monkeypatch, "ann")
    assert run_cli("approve", plan_id).exit_code == 0
    plan = _plan(tmp_path, plan_id)
    clients = StubbedClients()
    expect_execution(clients, plan.lines, plan.stored_sha256)
    _use(monkeypatch, clients)
    bought = run_cli("purchase", plan_id, "--execute")
    assert bought.exit_code == 0, bought.stderr
    clients.assert_done()
    assert bought.stdout.count("  bought:") == 3
    assert "rds[eu-west-1].purchase_reserved_db_instances_offering(" in bought.stdout
    assert "elasticache[us-east-1].purchase_reserved_cache_nodes_offering(" in bought.stdout
    assert f"id: commitopt-{plan.stored_sha256[:40]}-l3" in bought.stdout
    _use(monkeypatch, StubbedClients())
    again = run_cli("purchase", plan_id, "--execute")
    assert "every line was already bought; nothing to do" in again.stdout
    _clean(added, bought, again)
