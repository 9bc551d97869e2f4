"""The approval ledger: decisions bound to the plan hash, expiry, finality, append-only rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
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
from commitopt.plans import PlanNotFoundError, PlanRecord, store_plan
from commitopt.workspace import Workspace
from tests.commitopt.purchase_stubs import PORTFOLIO

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    with Workspace.open(tmp_path / "ws.duckdb") as opened:
        yield opened


@pytest.fixture
def plan(workspace: Workspace) -> PlanRecord:
    return store_plan(workspace, PORTFOLIO, source="test", created_at=T0)


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
    made = approve(workspace, plan.plan_id, " Ann Finance ", comment="Q4 budget", now=T0)
    assert (made.decision, made.approver, made.comment) == ("approve", "Ann Finance", "Q4 budget")
    assert made.plan_sha256 == plan.stored_sha256
    state = require_approved(workspace, plan.plan_id, now=T0 + timedelta(days=1))
    assert state.status == "approved" and state.valid_approval == made
    assert state.reason == "approved by Ann Finance on 2026-11-23 09:00 UTC"
    stored = _ledger(workspace)
    assert stored == [
        (1, plan.plan_id, "approve", "Ann Finance", "Q4 budget", plan.stored_sha256,
         datetime(2026, 11, 23, 9, 0))
    ]  # fmt: skip


def test_changing_the_plan_voids_the_approval(workspace: Workspace, plan: PlanRecord) -> None:
    approve(workspace, plan.plan_id, "ann", now=T0)
    tamper(workspace, plan.plan_id)
    state = plan_state(workspace, plan.plan_id, now=T0)
    assert state.status == "void" and state.valid_approval is None
    assert "the plan has changed since" in state.reason
    with pytest.raises(ApprovalError, match="changed after it was approved") as caught:
        require_approved(workspace, plan.plan_id, now=T0)
    assert "\n" not in str(caught.value)
    # nor can the altered plan be approved: it no longer hashes to what was stored
    with pytest.raises(ApprovalError, match="has changed since it was stored"):
        approve(workspace, plan.plan_id, "mallory", now=T0)
    assert len(_ledger(workspace)) == 1


def test_reformatting_the_stored_json_keeps_the_approval(
    workspace: Workspace, plan: PlanRecord
) -> None:
    approve(workspace, plan.plan_id, "ann", now=T0)
    pretty = json.dumps(json.loads(plan.plan_json), indent=3, sort_keys=False)
    workspace.execute("UPDATE plans SET plan_json = ? WHERE plan_id = ?", [pretty, plan.plan_id])
    assert require_approved(workspace, plan.plan_id, now=T0).status == "approved"


def test_a_tiny_number_change_voids_the_approval(workspace: Workspace, plan: PlanRecord) -> None:
    approve(workspace, plan.plan_id, "ann", now=T0)
    text = plan.plan_json.replace(
        '"commitment_usd_per_hour":1.5', '"commitment_usd_per_hour":1.5000001'
    )
    assert text != plan.plan_json
    workspace.execute("UPDATE plans SET plan_json = ? WHERE plan_id = ?", [text, plan.plan_id])
    assert plan_state(workspace, plan.plan_id, now=T0).status == "void"


def test_approvals_expire(workspace: Workspace, plan: PlanRecord) -> None:
    approve(workspace, plan.plan_id, "ann", now=T0)
    later = T0 + timedelta(days=14, minutes=1)
    state = plan_state(workspace, plan.plan_id, now=later)
    assert state.status == "expired"
    assert "14.0 days ago, longer than the maximum approval age of 14.0 days" in state.reason
    with pytest.raises(ApprovalError, match="approval has expired"):
        require_approved(workspace, plan.plan_id, now=later)
    longer = timedelta(days=30)
    assert require_approved(workspace, plan.plan_id, now=later, max_approval_age=longer)
    # an expired approval may be renewed
    renewed = approve(workspace, plan.plan_id, "ann", now=later)
    assert require_approved(workspace, plan.plan_id, now=later).valid_approval == renewed


def test_decided_plans_cannot_be_decided_again(workspace: Workspace, plan: PlanRecord) -> None:
    approve(workspace, plan.plan_id, "ann", now=T0)
    with pytest.raises(ApprovalError, match=r"already decided: approved by ann"):
        approve(workspace, plan.plan_id, "bob", now=T0)
    revoked = reject(workspace, plan.plan_id, "bob", comment="wait", now=T0 + timedelta(hours=1))
    assert revoked.decision == "reject"
    state = plan_state(workspace, plan.plan_id, now=T0)
    assert state.status == "rejected" and state.valid_approval is None
    for decide in (approve, reject):
        with pytest.raises(ApprovalError, match="already decided: rejected by bob"):
            decide(workspace, plan.plan_id, "ann", now=T0 + timedelta(hours=2))
    with pytest.raises(ApprovalError, match=r"was rejected by bob .*; nothing bought"):
        require_approved(workspace, plan.plan_id, now=T0)
    assert [d.decision for d in decisions(workspace, plan.plan_id)] == ["approve", "reject"]


def test_unapproved_and_missing_plans(workspace: Workspace, plan: PlanRecord) -> None:
    with pytest.raises(ApprovalError, match="is not approved; nothing bought"):
        require_approved(workspace, plan.plan_id)
    with pytest.raises(PlanNotFoundError, match="no plan 'plan-0'"):
        approve(workspace, "plan-0", "ann")
    with pytest.raises(ApprovalError, match="`approver` is empty"):
        approve(workspace, plan.plan_id, "  ")
    assert _ledger(workspace) == []


def test_approver_list(workspace: Workspace, plan: PlanRecord) -> None:
    with pytest.raises(ApprovalError, match=r"'eve' may not approve plans; .* allows Ann, Bob"):
        approve(workspace, plan.plan_id, "eve", allowed_approvers=["Ann", "Bob"])
    made = approve(workspace, plan.plan_id, "ann", allowed_approvers=["Ann", "Bob"])
    assert made.approver == "ann"


def test_the_ledger_only_grows(workspace: Workspace) -> None:
    plans = [store_plan(workspace, PORTFOLIO, source="t", created_at=T0) for _ in range(3)]
    seen: list[tuple[object, ...]] = []
    steps = [
        (approve, plans[0], T0),
        (reject, plans[1], T0),
        (approve, plans[2], T0),
        (approve, plans[2], T0 + timedelta(days=20)),  # renewal after expiry
        (reject, plans[0], T0 + timedelta(days=21)),  # revocation
    ]
    for decide, target, when in steps:
        decide(workspace, target.plan_id, "ann", now=when)
        rows = _ledger(workspace)
        assert rows[: len(seen)] == seen and len(rows) == len(seen) + 1
        seen = rows
    assert [plan_state(workspace, p, now=T0 + timedelta(days=21)).status for p in plans] == [
        "rejected",
        "rejected",
        "approved",
    ]
