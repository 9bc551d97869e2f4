"""The approval ledger: append-only approve / reject decisions bound to a plan's SHA-256.

Every decision is one new row of the workspace's ``approvals`` table (who decided, comment, UTC
time, and the plan's hash at that moment); rows are never updated or deleted. Who decided is
the identity running the command (:func:`commitopt.identity.current_identity`: the AWS caller
identity, else the OS user, with host and time): its short name is the row's ``approver``, the
whole identity its ``actor``. A plan's status is
derived from its decisions and its purchase events (:func:`plan_state`):

``proposed``
    no decision yet;
``approved``
    the latest decision approves the plan as it is now, and is younger than the maximum
    approval age;
``expired``
    the latest decision approves, but is older than the maximum age (approve it again);
``void``
    the latest decision approves, but the plan has changed since (its hash differs): the
    approval no longer counts (approve the plan as it is now, or store it again);
``rejected``
    the latest decision rejects it (final; a rejection also revokes an earlier approval);
``partially-executed`` / ``executed``
    some / all of its purchase lines were bought.

Approving needs a plan that exists, is intact (still hashes to what was stored, report
included) and has no valid approval, rejection or completed execution; rejecting needs a plan
not rejected or fully executed. Duties:

- when the configuration lists ``approvers``, only identities it names decide
  (:meth:`commitopt.identity.Identity.matches`); a list of ARNs only needs an AWS identity, so
  the OS fallback is refused with a message saying AWS credentials are needed;
- the identity that stored a plan may not approve it (the same principal:
  :meth:`commitopt.identity.Identity.same_principal`) unless ``self_approval`` names it;
  plans stored before identities were recorded have no creator to compare, and are approved
  without this check. Rejecting one's own plan (withdrawing it) is allowed.

Anything else is an :class:`ApprovalError` (CLI exit 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from commitopt.identity import Identity, current_identity, visible
from commitopt.plans import (
    IDENTITY_SCHEMA_VERSION,
    PlanError,
    PlanRecord,
    PurchaseEvent,
    latest_line_events,
    load_plan,
    purchase_events,
)
from commitopt.workspace import Workspace
from core.errors import CommitoptInputError, param
from core.times import utc_datetime

MAX_COMMENT_CHARS: Final = 2000
"""Longest comment a decision may carry [characters]."""

DEFAULT_MAX_APPROVAL_AGE: Final = timedelta(days=14)
"""Approvals older than this expire unless the caller says otherwise."""

APPROVE: Final = "approve"
REJECT: Final = "reject"


class PlanStatus(StrEnum):
    """The application layer's status vocabulary: where a stored plan stands (printed as the
    value)."""

    PROPOSED = "proposed"
    """Stored, no decision yet."""
    APPROVED = "approved"
    """Approved by enough approvers, not yet bought."""
    REJECTED = "rejected"
    """Rejected: nothing of it may be bought."""
    EXPIRED = "expired"
    """Its approvals are older than the maximum age: approve again."""
    VOID = "void"
    """Its inputs or prices changed after the decision (or it was superseded)."""
    PARTIALLY_EXECUTED = "partially-executed"
    """Some of its purchase lines are bought."""
    EXECUTED = "executed"
    """Every purchase line is bought."""


class ApprovalError(CommitoptInputError):
    """A decision that cannot be recorded, or a plan not approved for what was asked."""


@dataclass(frozen=True)
class Decision:
    """One row of the approval ledger.

    Attributes
    ----------
    approval_id
        Increasing id.
    plan_id
        The plan decided on.
    decision
        ``"approve"`` or ``"reject"``.
    approver, comment
        Who decided (the identity's short name, or the name typed before identities were
        recorded), and why (as given).
    plan_sha256
        The plan's hash when decided: what an approval binds to.
    decided_at
        When (UTC).
    actor
        The decider's whole identity; ``None`` for decisions recorded before identities were.
    report_sha256
        SHA-256 of the report the decider had (the plan's stored report); ``None`` for a plan
        without one, or a decision recorded before reports were bound.
    """

    approval_id: int
    plan_id: str
    decision: str
    approver: str
    comment: str
    plan_sha256: str
    decided_at: datetime
    actor: Identity | None = None
    report_sha256: str | None = None


@dataclass(frozen=True)
class PlanState:
    """A plan with its derived status.

    Attributes
    ----------
    plan
        The stored plan.
    status
        A :class:`PlanStatus`.
    current_sha256
        The plan's hash now.
    decisions
        Its decisions, oldest first.
    events
        Its purchase events, oldest first.
    valid_approval
        The approval that currently allows buying (unexpired, same hash), else ``None``.
    executed_lines
        Line numbers bought (latest event ``executed``).
    line_count
        Purchase lines in the plan.
    reason
        Why the status is what it is, for people.
    """

    plan: PlanRecord
    status: str
    current_sha256: str
    decisions: tuple[Decision, ...]
    events: tuple[PurchaseEvent, ...]
    valid_approval: Decision | None
    executed_lines: frozenset[int]
    line_count: int
    reason: str

    @property
    def latest_decision(self) -> Decision | None:
        """The latest decision, if any."""
        return self.decisions[-1] if self.decisions else None


def decisions(workspace: Workspace, plan_id: str) -> tuple[Decision, ...]:
    """The plan's decisions, oldest first."""
    if not workspace.has_table("approvals"):
        return ()
    actor = (
        "actor, report_sha256"
        if workspace.schema_version >= IDENTITY_SCHEMA_VERSION
        else "NULL, NULL"
    )
    rows = workspace.fetch_all(
        "SELECT approval_id, plan_id, decision, approver, comment, plan_sha256, decided_at, "
        f"{actor} FROM approvals WHERE plan_id = ? ORDER BY approval_id",
        [plan_id],
    )
    return tuple(
        Decision(
            int(r[0]),
            str(r[1]),
            str(r[2]),
            str(r[3]),
            str(r[4]),
            str(r[5]),
            utc_datetime(r[6]),
            Identity.from_mapping(r[7]),
            None if r[8] is None else str(r[8]),
        )
        for r in rows
    )


def _age_text(age: timedelta) -> str:
    days = age.total_seconds() / 86_400
    return f"{days:.1f} days" if days >= 1 else f"{age.total_seconds() / 3600:.1f} hours"


def plan_state(
    workspace: Workspace,
    plan: str | PlanRecord,
    *,
    now: datetime | None = None,
    max_approval_age: timedelta = DEFAULT_MAX_APPROVAL_AGE,
) -> PlanState:
    """Derive a plan's status from the ledger and its purchase events.

    Parameters
    ----------
    workspace
        An open workspace.
    plan
        A plan id or an already loaded plan.
    now
        The time to judge expiry at (default: now, UTC).
    max_approval_age
        Approvals older than this are expired.

    Raises
    ------
    PlanNotFoundError
        No such plan.
    """
    record = load_plan(workspace, plan) if isinstance(plan, str) else plan
    moment = utc_datetime(now or datetime.now(UTC))
    try:
        current = record.sha256
        line_count = len(record.document.get("purchases", []) or [])
    except PlanError:
        current, line_count = "unreadable", 0
    ledger = decisions(workspace, record.plan_id)
    events = purchase_events(workspace, record.plan_id)
    executed = frozenset(
        line for line, event in latest_line_events(events).items() if event.state == "executed"
    )
    latest = ledger[-1] if ledger else None
    valid: Decision | None = None
    if latest is not None and latest.decision == APPROVE:
        who = visible(latest.approver)
        age = moment - latest.decided_at
        when = f"{latest.decided_at:%Y-%m-%d %H:%M} UTC"
        if latest.plan_sha256 != current:
            status = PlanStatus.VOID
            reason = (
                f"approved by {who} on {when}, but the plan has changed since "
                f"(hash {current[:12]} is not the approved {latest.plan_sha256[:12]})"
            )
        elif (
            latest.report_sha256 is not None
            and record.report_intact  # a report changed behind its recorded hash: not intact
            and latest.report_sha256 != record.report_digest
        ):
            status = PlanStatus.VOID
            reason = (
                f"approved by {who} on {when}, but its report has changed since (report hash "
                f"{(record.report_digest or 'none')[:12]} is not the approved "
                f"{latest.report_sha256[:12]})"
            )
        elif age > max_approval_age:
            status = PlanStatus.EXPIRED
            reason = (
                f"approved by {who} {_age_text(age)} ago, longer than the maximum "
                f"approval age of {_age_text(max_approval_age)}"
            )
        else:
            valid = latest
            status, reason = PlanStatus.APPROVED, f"approved by {who} on {when}"
    elif latest is not None:
        when = f"{latest.decided_at:%Y-%m-%d %H:%M} UTC"
        status, reason = PlanStatus.REJECTED, f"rejected by {visible(latest.approver)} on {when}"
    else:
        status, reason = PlanStatus.PROPOSED, "no decision yet"
    if executed:
        bought = f"{len(executed)} of {line_count} lines bought"
        if len(executed) >= line_count:
            status, reason = PlanStatus.EXECUTED, f"{bought}; {reason}"
        else:
            status, reason = PlanStatus.PARTIALLY_EXECUTED, f"{bought}; {reason}"
    return PlanState(
        plan=record,
        status=status,
        current_sha256=current,
        decisions=ledger,
        events=events,
        valid_approval=valid,
        executed_lines=executed,
        line_count=line_count,
        reason=reason,
    )


def check_approver(
    identity: Identity, allowed_approvers: Sequence[str] | None, decision: str
) -> None:
    """Refuse an identity the configured ``approvers`` list does not name.

    Raises
    ------
    ApprovalError
        The identity is not listed; or the list names only ARNs and the identity is the OS
        fallback (the message says AWS credentials are needed, and why STS did not answer).
    """
    if allowed_approvers is None or not [a for a in allowed_approvers if a.strip()]:
        return
    if any(identity.matches(entry) for entry in allowed_approvers):
        return
    listed = ", ".join(visible(a.strip()) for a in allowed_approvers)
    arns = [a for a in allowed_approvers if a.strip().startswith("arn:")]
    if identity.kind != "aws" and arns:
        why = identity.aws_error or "no AWS credentials found"
        if len(arns) == len(allowed_approvers):
            raise ApprovalError(
                f"the approver list names only AWS principals ({listed}), and you are known as the "
                f"OS user {visible(identity.display_name)} ({visible(why)}); AWS credentials "
                f"are needed to {decision}: run with the approver's credentials (e.g. "
                f"AWS_PROFILE=finance commitopt {decision} PLAN) so STS can tell who you are"
            )
        raise ApprovalError(
            f"{visible(identity.display_name)} may not {decision} plans; the approver list "
            f"allows {listed} (its ARNs need AWS credentials: {visible(why)})"
        )
    raise ApprovalError(
        f"{visible(identity.display_name)} may not {decision} plans; the approver list allows "
        f"{listed} (configuration key approvers)"
    )


def _check_comment(comment: str, decision: str) -> None:
    if len(comment) > MAX_COMMENT_CHARS:
        raise ApprovalError(
            f"{decision}: {param('comment')} has {len(comment):,} characters, more than "
            f"{MAX_COMMENT_CHARS:,}; shorten it (link to a longer document instead)"
        )


def _check_self_approval(
    state: PlanState, identity: Identity, self_approval: Sequence[str]
) -> None:
    creator = state.plan.created_by
    if creator is None or not creator.same_principal(identity):
        return
    if any(identity.matches(entry) for entry in self_approval):
        return
    raise ApprovalError(
        f"{visible(identity.display_name)} stored plan {state.plan.plan_id} and may not "
        "approve it too (separation of duties): another approver must, or list this identity "
        "under self_approval in commitopt.toml"
    )


def _record(
    workspace: Workspace,
    plan_id: str,
    decision: str,
    identity: Identity | None,
    comment: str,
    *,
    allowed_approvers: Sequence[str] | None,
    self_approval: Sequence[str],
    now: datetime | None,
    max_approval_age: timedelta,
) -> Decision:
    workspace.require_writable(f"{decision} a plan")
    _check_comment(comment, decision)
    moment = utc_datetime(now or datetime.now(UTC))
    who = identity or current_identity(now=moment)
    check_approver(who, allowed_approvers, decision)
    name = who.display_name
    with workspace.transaction():
        state = plan_state(workspace, plan_id, now=moment, max_approval_age=max_approval_age)
        status = state.status
        if state.current_sha256 == "unreadable" or not state.plan.intact:
            raise ApprovalError(
                f"plan {plan_id} has changed since it was stored (hash "
                f"{state.current_sha256[:12]} vs stored {state.plan.stored_sha256[:12]}, or its "
                "report); it cannot be decided on: store the recommendation again"
            )
        if status == PlanStatus.EXECUTED:
            raise ApprovalError(f"plan {plan_id} is already decided: executed ({state.reason})")
        if status == PlanStatus.REJECTED or (
            state.latest_decision is not None and state.latest_decision.decision == REJECT
        ):
            raise ApprovalError(f"plan {plan_id} is already decided: {state.reason}")
        if decision == APPROVE and state.valid_approval is not None:
            raise ApprovalError(f"plan {plan_id} is already decided: {state.reason}")
        if decision == APPROVE:
            _check_self_approval(state, who, self_approval)
        recorded = Decision(
            workspace.next_id("approval_ids"), state.plan.plan_id, decision, name, comment,
            state.current_sha256, moment, who, state.plan.report_digest,
        )  # fmt: skip
        workspace.execute(
            "INSERT INTO approvals (approval_id, plan_id, decision, approver, comment, "
            "plan_sha256, decided_at, actor, report_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                recorded.approval_id, recorded.plan_id, recorded.decision, recorded.approver,
                recorded.comment, recorded.plan_sha256,
                moment.replace(tzinfo=None),
                who.to_json(),
                recorded.report_sha256,
            ],
        )  # fmt: skip
    return recorded


def approve(
    workspace: Workspace,
    plan_id: str,
    identity: Identity | None = None,
    *,
    comment: str = "",
    allowed_approvers: Sequence[str] | None = None,
    self_approval: Sequence[str] = (),
    now: datetime | None = None,
    max_approval_age: timedelta = DEFAULT_MAX_APPROVAL_AGE,
) -> Decision:
    """Append an approval of the plan as it is now (bound to its current SHA-256).

    Parameters
    ----------
    workspace
        An open, writable workspace.
    plan_id
        The plan.
    identity
        Who approves [default: :func:`commitopt.identity.current_identity`].
    comment
        Why, or conditions (at most :data:`MAX_COMMENT_CHARS` characters).
    allowed_approvers
        When given (the configuration's ``approvers``), only identities these entries match
        may decide.
    self_approval
        Entries naming identities that may approve plans they stored themselves.
    now
        Decision time (default now, UTC).
    max_approval_age
        Used to tell whether an earlier approval still stands.

    Raises
    ------
    PlanNotFoundError
        No such plan.
    ApprovalError
        An unlisted identity; the plan's creator without ``self_approval``; a comment too
        long; the plan is already approved (unexpired, unchanged), rejected or executed; the
        plan or its report changed since it was stored.
    """
    return _record(
        workspace,
        plan_id,
        APPROVE,
        identity,
        comment,
        allowed_approvers=allowed_approvers,
        self_approval=self_approval,
        now=now,
        max_approval_age=max_approval_age,
    )


def reject(
    workspace: Workspace,
    plan_id: str,
    identity: Identity | None = None,
    *,
    comment: str = "",
    allowed_approvers: Sequence[str] | None = None,
    now: datetime | None = None,
    max_approval_age: timedelta = DEFAULT_MAX_APPROVAL_AGE,
) -> Decision:
    """Append a rejection (final). Rejecting an approved plan revokes the approval.

    The parameters are those of :func:`approve`; a plan's creator may reject (withdraw) it.

    Raises
    ------
    PlanNotFoundError
        No such plan.
    ApprovalError
        An unlisted identity; a comment too long; the plan is already rejected or fully
        executed.
    """
    return _record(
        workspace,
        plan_id,
        REJECT,
        identity,
        comment,
        allowed_approvers=allowed_approvers,
        self_approval=(),
        now=now,
        max_approval_age=max_approval_age,
    )


def require_approved(
    workspace: Workspace,
    plan_id: str,
    *,
    now: datetime | None = None,
    max_approval_age: timedelta = DEFAULT_MAX_APPROVAL_AGE,
) -> PlanState:
    """The plan's state, when it may be bought: a valid (unexpired, unchanged) approval.

    Raises
    ------
    PlanNotFoundError
        No such plan.
    ApprovalError
        Proposed (never approved), rejected, expired, or changed since approval (void).
    """
    state = plan_state(workspace, plan_id, now=now, max_approval_age=max_approval_age)
    if state.valid_approval is not None:
        return state
    latest = state.latest_decision
    if latest is None:
        raise ApprovalError(
            f"plan {plan_id} is not approved; nothing bought (approve it first with "
            f"`commitopt approve {plan_id}`, as an approver other than its creator)"
        )
    if latest.decision == REJECT:
        raise ApprovalError(f"plan {plan_id} was {state.reason}; nothing bought")
    if latest.plan_sha256 != state.current_sha256:
        raise ApprovalError(
            f"plan {plan_id} changed after it was approved (hash {state.current_sha256[:12]} "
            f"is not the approved {latest.plan_sha256[:12]}); the approval is void, nothing "
            "bought"
        )
    if state.status == PlanStatus.VOID:
        raise ApprovalError(f"plan {plan_id}: {state.reason}; the approval is void, nothing bought")
    raise ApprovalError(
        f"plan {plan_id}'s approval has expired ({state.reason}); nothing bought (approve it again)"
    )


__all__ = [
    "DEFAULT_MAX_APPROVAL_AGE",
    "MAX_COMMENT_CHARS",
    "ApprovalError",
    "Decision",
    "PlanState",
    "PlanStatus",
    "approve",
    "check_approver",
    "decisions",
    "plan_state",
    "reject",
    "require_approved",
]
