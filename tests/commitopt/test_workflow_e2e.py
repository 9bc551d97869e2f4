"""The whole workflow from the CLI: usage import → review → report → approve → purchase.

One workspace goes through every step a team runs: the monthly review stores a proposed plan with
its report; the approver reads that report (checked in headless Chromium) and approves; the dry
run prints the calls; the stubbed execution buys each line once; a re-run buys nothing; a plan
changed after approval is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest

from commitopt.cli import purchase_command
from commitopt.plans import PlanRecord, load_plan
from commitopt.workspace import Workspace
from tests.commitopt.conftest import RunCli
from tests.commitopt.identities import as_os_user
from tests.commitopt.purchase_stubs import FAKE_SECRET_KEY, StubbedClients, expect_execution
from tests.commitopt.test_cli_purchase import no_aws_account  # noqa: F401 (autouse fixture)
from tests.commitopt.test_report_browser import _chromium, load_page
from usage.synthetic import steady_daily_cycle


def _use(monkeypatch: pytest.MonkeyPatch, clients: StubbedClients | None) -> None:
    def make(_profile: str | None) -> StubbedClients:
        if clients is None:
            raise AssertionError("a dry run must not create AWS clients")
        return clients

    monkeypatch.setattr(purchase_command, "make_clients", make)


def _plan(tmp_path: Path, plan_id: str) -> PlanRecord:
    with Workspace.open(tmp_path / "commitopt.duckdb", read_only=True) as workspace:
        return load_plan(workspace, plan_id)


def test_import_review_report_approve_purchase(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steady_daily_cycle(hours=24 * 35, base_instances=12.0).to_csv("usage.csv", index=False)
    imported = run_cli("usage", "import", "usage.csv", "--format", "json")
    assert imported.exit_code == 0, imported.stderr

    reviewed = run_cli("review", "--paths", "20", "--horizon", "90d", "--lookback", "28d",
                       "--format", "json")  # fmt: skip
    assert reviewed.exit_code == 0, reviewed.stderr
    plan_id = json.loads(reviewed.stdout)["plan_id"]
    plan = _plan(tmp_path, plan_id)
    assert plan.intact and plan.report is not None and len(plan.lines) >= 1

    report = run_cli("report", plan_id, "--out", "review.html")
    assert report.exit_code == 0, report.stderr
    assert Path("review.html").read_bytes() == plan.report  # what the approver reads is stored
    browser = _chromium()
    if browser is not None:
        page = load_page(browser, tmp_path / "review.html")
        assert page.problems == []
        assert page.probe["charts"] and all(c["paths"] > 0 for c in page.probe["charts"])
    elif os.environ.get("COMMITOPT_REQUIRE_BROWSER"):
        pytest.fail("COMMITOPT_REQUIRE_BROWSER is set but chromium is not installed")

    listed = json.loads(run_cli("plans", "--format", "json").stdout)
    assert [(p["plan_id"], p["status"]) for p in listed] == [(plan_id, "proposed")]
    # the report the approver reads names the plan and the hash the approval binds to
    assert f"{plan_id}".encode() in plan.report and listed[0]["sha256"].encode() in plan.report
    as_os_user(monkeypatch, "ann")  # the review ran as planner; another person approves
    approved = run_cli("approve", plan_id, "--comment", "ok")
    assert approved.exit_code == 0, approved.stderr

    _use(monkeypatch, None)
    dry = run_cli("purchase", plan_id)
    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout.count("would call:") == len(plan.lines)

    clients = StubbedClients()
    expect_execution(clients, plan.lines, plan.stored_sha256)
    _use(monkeypatch, clients)
    bought = run_cli("purchase", plan_id, "--execute")
    assert bought.exit_code == 0, bought.stderr
    clients.assert_done()

    _use(monkeypatch, StubbedClients())  # no responses: any AWS call would fail
    again = run_cli("purchase", plan_id, "--execute")
    assert again.exit_code == 0 and "nothing to do" in again.stdout
    for result in (imported, reviewed, report, approved, dry, bought, again):
        assert FAKE_SECRET_KEY not in result.stdout + result.stderr


def test_a_reviewed_plan_changed_after_approval_is_refused(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steady_daily_cycle(hours=24 * 35, base_instances=12.0).to_csv("usage.csv", index=False)
    reviewed = run_cli("review", "--usage", "usage.csv", "--paths", "0", "--lookback", "28d",
                       "--format", "json")  # fmt: skip
    assert reviewed.exit_code == 0, reviewed.stderr
    plan_id = json.loads(reviewed.stdout)["plan_id"]
    as_os_user(monkeypatch, "ann")
    assert run_cli("approve", plan_id).exit_code == 0
    document = _plan(tmp_path, plan_id).document
    document["purchases"][0]["upfront_usd"] = 1.0  # a small change after approval
    connection = duckdb.connect(str(tmp_path / "commitopt.duckdb"))
    connection.execute("UPDATE plans SET plan_json = ? WHERE plan_id = ?",
                       [json.dumps(document), plan_id])  # fmt: skip
    connection.close()
    clients = StubbedClients()
    _use(monkeypatch, clients)
    refused = run_cli("purchase", plan_id, "--execute")
    assert refused.exit_code == 2 and "changed after it was approved" in refused.stderr
    assert clients.made == []
