"""The approval ledger: decisions bound to the plan hash, expiry, finality, append-only rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from commitopt.approvals import (
    ApprovalError,
    approve,
    decisions,
    plan_state,
    reject,
    require_approved,
)
from commitopt.identity import Identity
from commitopt.plans import PlanNotFoundError, PlanRecord, store_plan
from commitopt.workspace import Workspace
from tests.commitopt.identities import (
    ANN,
    ANN_SESSION,
    BOB,
    BOB_USER,
    EVE,
    FINANCE_ROLE,
    PLANNER,
    T0,
    aws_caller,
    person,
)
from tests.commitopt.purchase_stubs import PORTFOLIO

MALLORY = person("mallory")


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    with Workspace.open(tmp_path / "ws.duckdb") as opened:
        yield opened


@pytest.fixture
def plan(workspace: Workspace) -> PlanRecord:
    return store_plan(workspace, PORTFOLIO, source="test", created_at=T0, created_by=PLANNER)


def _ledger(workspace: Workspace) -> list[tuple[object, ...]]:
    return workspace.fetch_all(
        "SELECT approval_id, plan_id, decision, approver, comment, plan_sha256, decided_at "
        "FROM approvals ORDER BY approval_id"
    )


def tamper(workspace: Workspace, plan_id: str, count: int = 20) -> None:
    """Change one purchase's count in the stored plan, as someone editing the database would."""
    (text,) = workspace.fetch_all("SELECT plan_json FROM plans WHERE plan_id = ?", [plan_id])[0]
    document = json.loads(text)
    document["purchases"][0]["count"] = count
    workspace.execute(
        "UPDATE plans SET plan_json = ? WHERE plan_id = ?", [json.dumps(document), plan_id]
    )


def test_approval_binds_to_the_plan_hash(workspace: Workspace, plan: PlanRecord) -> None:
    made = approve(workspace, plan.plan_id, ANN, comment="Q4 budget", now=T0)
    assert (made.decision, made.approver, made.comment) == ("approve", "ann@desk-1", "Q4 budget")
    assert made.actor == ANN
    assert made.plan_sha256 == plan.stored_sha256
    state = require_approved(workspace, plan.plan_id, now=T0 + timedelta(days=1))
    assert state.status == "approved" and state.valid_approval == made
    assert state.reason == "approved by ann@desk-1 on 2026-11-23 09:00 UTC"
    stored = _ledger(workspace)
    assert stored == [
        (1, plan.plan_id, "approve", "ann@desk-1", "Q4 budget", plan.stored_sha256,
         datetime(2026, 11, 23, 9, 0))
    ]  # fmt: skip
    (actor,) = workspace.fetch_all("SELECT actor FROM approvals")[0]
    assert json.loads(actor) == ANN.as_mapping()


def test_changing_the_plan_voids_the_approval(workspace: Workspace, plan: PlanRecord) -> None:
    approve(workspace, plan.plan_id, ANN, now=T0)
    tamper(workspace, plan.plan_id)
    state = plan_state(workspace, plan.plan_id, now=T0)
    assert state.status == "void" and state.valid_approval is None
    assert "the plan has changed since" in state.reason
    with pytest.raises(ApprovalError, match="changed after it was approved") as caught:
        require_approved(workspace, plan.plan_id, now=T0)
    assert "\n" not in str(caught.value)
    # nor can the altered plan be approved: it no longer hashes to what was stored
    with pytest.raises(ApprovalError, match="has changed since it was stored"):
        approve(workspace, plan.plan_id, MALLORY, now=T0)
    assert len(_ledger(workspace)) == 1


def test_reformatting_the_stored_json_keeps_the_approval(
    workspace: Workspace, plan: PlanRecord
) -> None:
    approve(workspace, plan.plan_id, ANN, now=T0)
    pretty = json.dumps(json.loads(plan.plan_json), indent=3, sort_keys=False)
    workspace.execute("UPDATE plans SET plan_json = ? WHERE plan_id = ?", [pretty, plan.plan_id])
    assert require_approved(workspace, plan.plan_id, now=T0).status == "approved"


def test_a_tiny_number_change_voids_the_approval(workspace: Workspace, plan: PlanRecord) -> None:
    approve(workspace, plan.plan_id, ANN, now=T0)
    text = plan.plan_json.replace(
        '"commitment_usd_per_hour":1.5', '"commitment_usd_per_hour":1.5000001'
    )
    assert text != plan.plan_json
    workspace.execute("UPDATE plans SET plan_json = ? WHERE plan_id = ?", [text, plan.plan_id])
    assert plan_state(workspace, plan.plan_id, now=T0).status == "void"


def test_approvals_expire(workspace: Workspace, plan: PlanRecord) -> None:
    approve(workspace, plan.plan_id, ANN, now=T0)
    later = T0 + timedelta(days=14, minutes=1)
    state = plan_state(workspace, plan.plan_id, now=later)
    assert state.status == "expired"
    assert "14.0 days ago, longer than the maximum approval age of 14.0 days" in state.reason
    with pytest.raises(ApprovalError, match="approval has expired"):
        require_approved(workspace, plan.plan_id, now=later)
    longer = timedelta(days=30)
    assert require_approved(workspace, plan.plan_id, now=later, max_approval_age=longer)
    # an expired approval may be renewed
    renewed = approve(workspace, plan.plan_id, ANN, now=later)
    assert require_approved(workspace, plan.plan_id, now=later).valid_approval == renewed


def test_decided_plans_cannot_be_decided_again(workspace: Workspace, plan: PlanRecord) -> None:
    approve(workspace, plan.plan_id, ANN, now=T0)
    with pytest.raises(ApprovalError, match=r"already decided: approved by ann@desk-1"):
        approve(workspace, plan.plan_id, BOB, now=T0)
    revoked = reject(workspace, plan.plan_id, BOB, comment="wait", now=T0 + timedelta(hours=1))
    assert revoked.decision == "reject"
    state = plan_state(workspace, plan.plan_id, now=T0)
    assert state.status == "rejected" and state.valid_approval is None
    for decide in (approve, reject):
        with pytest.raises(ApprovalError, match="already decided: rejected by bob@desk-1"):
            decide(workspace, plan.plan_id, ANN, now=T0 + timedelta(hours=2))
    with pytest.raises(ApprovalError, match=r"was rejected by bob@desk-1 .*; nothing bought"):
        require_approved(workspace, plan.plan_id, now=T0)
    assert [d.decision for d in decisions(workspace, plan.plan_id)] == ["approve", "reject"]


def test_unapproved_and_missing_plans(workspace: Workspace, plan: PlanRecord) -> None:
    with pytest.raises(ApprovalError, match="is not approved; nothing bought"):
        require_approved(workspace, plan.plan_id)
    with pytest.raises(PlanNotFoundError, match="no plan 'plan-0'"):
        approve(workspace, "plan-0", ANN)
    with pytest.raises(ApprovalError, match="`comment` has 2,001 characters, more than 2,000"):
        approve(workspace, plan.plan_id, ANN, comment="x" * 2001)
    assert _ledger(workspace) == []


def test_approver_list(workspace: Workspace, plan: PlanRecord) -> None:
    with pytest.raises(ApprovalError, match=r"eve@desk-1 may not approve plans; .* Ann, Bob"):
        approve(workspace, plan.plan_id, EVE, allowed_approvers=["Ann", "Bob"])
    made = approve(workspace, plan.plan_id, ANN, allowed_approvers=["Ann", "Bob"])
    assert made.approver == "ann@desk-1"


def test_a_configured_role_admits_its_sessions(workspace: Workspace, plan: PlanRecord) -> None:
    listed = [FINANCE_ROLE, BOB_USER]
    made = approve(workspace, plan.plan_id, aws_caller(ANN_SESSION), allowed_approvers=listed)
    assert made.approver == "Finance/ann (aws 123456789012)"
    assert made.actor is not None and made.actor.principal == ANN_SESSION
    other = store_plan(workspace, PORTFOLIO, source="test", created_by=PLANNER)
    outsider = aws_caller("arn:aws:sts::123456789012:assumed-role/Dev/ann")
    with pytest.raises(ApprovalError, match=r"Dev/ann \(aws 123456789012\) may not reject"):
        reject(workspace, other.plan_id, outsider, allowed_approvers=listed)


def test_an_arn_only_list_needs_aws_credentials(workspace: Workspace, plan: PlanRecord) -> None:
    fallback = Identity(
        kind="os", principal="ann", os_user="ann", host="desk-1", at=T0,
        aws_error="sts:GetCallerIdentity refused: ExpiredToken: The token is expired",
    )  # fmt: skip
    with pytest.raises(ApprovalError) as caught:
        approve(workspace, plan.plan_id, fallback, allowed_approvers=[FINANCE_ROLE])
    message = str(caught.value)
    assert "names only AWS principals" in message and "AWS credentials are needed" in message
    assert "ExpiredToken" in message
    # a plain name in the list still admits the OS user
    made = approve(workspace, plan.plan_id, fallback, allowed_approvers=[FINANCE_ROLE, "ann"])
    assert made.actor == fallback
    assert _ledger(workspace)[0][3] == "ann@desk-1"


def test_the_creator_may_not_approve_unless_allowed(workspace: Workspace) -> None:
    own = store_plan(workspace, PORTFOLIO, source="test", created_by=ANN)
    same_person = person("ann")
    with pytest.raises(ApprovalError, match=r"ann@desk-1 stored plan .* may not approve it too"):
        approve(workspace, own.plan_id, same_person)
    with pytest.raises(ApprovalError, match="self_approval"):
        approve(workspace, own.plan_id, same_person, self_approval=["bob"])
    assert _ledger(workspace) == []
    # the same name on another host is another person; listing the creator allows it
    assert approve(workspace, own.plan_id, person("ann", "desk-2")).decision == "approve"
    mine = store_plan(workspace, PORTFOLIO, source="test", created_by=ANN)
    assert approve(workspace, mine.plan_id, ANN, self_approval=["ann"]).decision == "approve"
    # an AWS creator: the same ARN is the same principal; a creator may always withdraw
    session = aws_caller(ANN_SESSION, os_user="svc", host="cron")
    theirs = store_plan(workspace, PORTFOLIO, source="test", created_by=session)
    with pytest.raises(ApprovalError, match="may not approve it too"):
        approve(workspace, theirs.plan_id, aws_caller(ANN_SESSION), self_approval=[BOB_USER])
    assert (
        approve(
            workspace, theirs.plan_id, aws_caller(ANN_SESSION), self_approval=[FINANCE_ROLE]
        ).decision
        == "approve"
    )
    withdrawn = store_plan(workspace, PORTFOLIO, source="test", created_by=ANN)
    assert reject(workspace, withdrawn.plan_id, ANN).decision == "reject"


def test_plans_without_a_recorded_creator_skip_the_self_check(workspace: Workspace) -> None:
    old = store_plan(workspace, PORTFOLIO, source="test", created_by=ANN)
    workspace.execute("UPDATE plans SET created_by = NULL WHERE plan_id = ?", [old.plan_id])
    assert approve(workspace, old.plan_id, ANN).decision == "approve"


def test_a_changed_report_cannot_be_approved(workspace: Workspace) -> None:
    stored = store_plan(
        workspace, PORTFOLIO, source="test", created_by=PLANNER,
        render_report=lambda plan_id, digest: f"<p>{plan_id} {digest}</p>".encode(),
    )  # fmt: skip
    assert stored.intact and stored.report == f"<p>{stored.plan_id} {stored.sha256}</p>".encode()
    workspace.execute(
        "UPDATE plans SET report = ? WHERE plan_id = ?", [b"<p>better numbers</p>", stored.plan_id]
    )
    with pytest.raises(ApprovalError, match="has changed since it was stored"):
        approve(workspace, stored.plan_id, ANN)


def test_an_approval_binds_the_report_the_approver_read(workspace: Workspace) -> None:
    """Report and its recorded hash both changed after approval: the approval is void."""
    stored = store_plan(
        workspace, PORTFOLIO, source="test", created_by=PLANNER, created_at=T0,
        render_report=lambda plan_id, digest: f"<p>{plan_id} {digest}</p>".encode(),
    )  # fmt: skip
    decision = approve(workspace, stored.plan_id, ANN, now=T0)
    assert decision.report_sha256 == stored.report_digest is not None
    assert require_approved(workspace, stored.plan_id, now=T0).status == "approved"
    forged = b"<p>better numbers</p>"
    workspace.execute(
        "UPDATE plans SET report = ?, report_sha256 = ? WHERE plan_id = ?",
        [forged, hashlib.sha256(forged).hexdigest(), stored.plan_id],
    )
    state = plan_state(workspace, stored.plan_id, now=T0)
    assert state.status == "void" and "report has changed" in state.reason
    with pytest.raises(ApprovalError, match="report has changed"):
        require_approved(workspace, stored.plan_id, now=T0)


def test_the_ledger_only_grows(workspace: Workspace) -> None:
    plans = [
        store_plan(workspace, PORTFOLIO, source="t", created_at=T0, created_by=PLANNER)
        for _ in range(3)
    ]
    seen: list[tuple[object, ...]] = []
    steps = [
        (approve, plans[0], T0),
        (reject, plans[1], T0),
        (approve, plans[2], T0),
        (approve, plans[2], T0 + timedelta(days=20)),  # renewal after expiry
        (reject, plans[0], T0 + timedelta(days=21)),  # revocation
    ]
    for decide, target, when in steps:
        decide(workspace, target.plan_id, ANN, now=when)
        rows = _ledger(workspace)
        assert rows[: len(seen)] == seen and len(rows) == len(seen) + 1
        seen = rows
    assert [plan_state(workspace, p, now=T0 + timedelta(days=21)).status for p in plans] == [
        "rejected",
        "rejected",
        "approved",
    ]
