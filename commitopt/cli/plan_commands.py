"""``commitopt plans``, ``plans show``, ``plans add``, ``approve`` and ``reject``: the ledger."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
import pandas as pd

from commitopt.approvals import (
    DEFAULT_MAX_APPROVAL_AGE,
    Decision,
    PlanState,
    approve,
    plan_state,
    reject,
)
from commitopt.cli.inputs import open_workspace
from commitopt.cli.options import FILE, workspace_option
from commitopt.cli.output import emit_frame, emit_mapping, format_option, wide
from commitopt.cli.progress import quiet_option, reporter
from commitopt.cli.streams import echo_payload
from commitopt.identity import Identity, current_identity, visible
from commitopt.plans import PlanError, PlanRecord, PurchaseEvent, add_plan_file, list_plans
from commitopt.workspace import workspace_path
from core.errors import CommitoptInputError
from pricing.inventory.portfolio_json import current_field_names

F = TypeVar("F", bound=Callable[..., Any])


def max_approval_age_option(function: F) -> F:
    """``--max-approval-age DAYS``: approvals older than this have expired."""
    return click.option(
        "--max-approval-age",
        "max_approval_age",
        type=float,
        default=DEFAULT_MAX_APPROVAL_AGE.total_seconds() / 86_400,
        show_default=True,
        help="Approvals older than this many days have expired (configuration key "
        "approval_max_age_days).",
    )(function)


def approval_age(days: float) -> timedelta:
    """``--max-approval-age`` in days → a timedelta (must be > 0)."""
    if not days > 0:
        raise CommitoptInputError(f"--max-approval-age must be above 0 days, not {days}")
    return timedelta(days=days)


def _configured(key: str) -> tuple[str, ...] | None:
    context = click.get_current_context(silent=True)
    config = context.find_root().obj if context is not None else None
    values = getattr(config, key, None)
    return tuple(values) if values else None


def allowed_approvers() -> tuple[str, ...] | None:
    """The configuration's ``approvers`` list (never a flag); ``None`` lets anyone decide."""
    return _configured("approvers")


def self_approvers() -> tuple[str, ...]:
    """The configuration's ``self_approval`` list: who may approve their own plans."""
    return _configured("self_approval") or ()


TABLE_TEXT_CHARS = 120
"""Longest user text (comment, name, detail) a table cell shows without ``--wide`` [chars]."""


def inert(text: object, limit: int | None = None) -> str:
    """Text for a rich table: control characters shown as escapes (``\\x1b``), rich markup
    inert, and cut to ``limit`` characters (default :data:`TABLE_TEXT_CHARS`, none with
    ``--wide``) with an ellipsis."""
    from rich.markup import escape

    shown = visible(str(text))
    cut = limit if limit is not None else (None if wide() else TABLE_TEXT_CHARS)
    if cut is not None and len(shown) > cut:
        shown = shown[: cut - 1] + "…"
    return escape(shown)


def _inert_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text cell of a frame made :func:`inert` (numbers and times untouched)."""
    shown = frame.copy()
    for column in shown.columns:
        values = shown[column].tolist()
        if any(isinstance(v, str) for v in values):
            shown[column] = pd.Series(
                [inert(v) if isinstance(v, str) else v for v in values],
                index=shown.index,
                dtype=object,
            )
    return shown


def _money(summary: Any, key: str) -> float | None:
    value = summary.get(key) if isinstance(summary, dict) else None
    return float(value) if isinstance(value, int | float) else None


def _history(state: PlanState) -> str:
    """Decisions and purchases in one line, oldest first (names as stored)."""
    parts = [
        f"{d.decision}d by {d.approver} {d.decided_at:%Y-%m-%d %H:%M}" for d in state.decisions
    ]
    if state.executed_lines:
        last = max(e.recorded_at for e in state.events if e.state == "executed")
        parts.append(f"{len(state.executed_lines)} bought by {last:%Y-%m-%d %H:%M}")
    return "; ".join(parts)


LIST_COLUMNS = ("plan_id", "created_at", "status", "line_count", "bought_count", "upfront_usd",
                "savings_vs_current_usd", "savings_vs_current_pct", "sha256", "history",
                "source")  # fmt: skip
"""Every column of ``plans`` (json and csv)."""

LIST_TABLE_COLUMNS = ("plan_id", "created_at", "status", "line_count", "bought_count",
                      "upfront_usd", "savings_vs_current_usd", "source")  # fmt: skip
"""The columns a table shows without ``--wide``."""


def _row(state: PlanState) -> dict[str, Any]:
    plan = state.plan
    try:
        summary = plan.summary
    except PlanError:
        summary = {}
    return {
        "plan_id": plan.plan_id,
        "created_at": plan.created_at.isoformat(),
        "status": state.status,
        "line_count": state.line_count,
        "bought_count": len(state.executed_lines),
        "upfront_usd": _money(summary, "upfront_usd"),
        "savings_vs_current_usd": _money(summary, "savings_vs_current_usd"),
        "savings_vs_current_pct": _money(summary, "savings_vs_current_pct"),
        "sha256": state.current_sha256,
        "history": _history(state),
        "source": plan.source,
    }


LIST_EPILOG = """
\b
Examples:
  commitopt plans
  commitopt plans --format json
  commitopt plans show plan-20261123-1
  commitopt plans add plan.json
\b
Statuses: proposed, approved, expired (approval older than --max-approval-age), void (changed
after approval), rejected, partially-executed, executed.
"""


@click.group("plans", invoke_without_command=True, epilog=LIST_EPILOG)
@workspace_option
@max_approval_age_option
@format_option
@quiet_option
@click.pass_context
def plans(
    ctx: click.Context, workspace: Path | None, max_approval_age: float, output_format: str
) -> None:
    """List the stored plans, their status and history.

    List the workspace's plans with their status and history (or run a subcommand)."""
    if ctx.invoked_subcommand is not None:
        return
    age = approval_age(max_approval_age)
    states: list[PlanState] = []
    if workspace_path(workspace).is_file():
        with open_workspace(workspace, read_only=True) as store:
            states = [plan_state(store, plan, max_approval_age=age) for plan in list_plans(store)]
    rows = pd.DataFrame([_row(state) for state in states])
    if rows.empty:
        if output_format == "table":
            echo_payload("No plans yet: store one with `commitopt plans add FILE.json`.")
            return
        rows = pd.DataFrame(columns=list(LIST_COLUMNS))
    if output_format == "table":
        rows["created_at"] = [str(v)[:16].replace("T", " ") for v in rows["created_at"]]
        rows = _inert_frame(rows)
    emit_frame(rows, output_format, title="Plans", narrow=LIST_TABLE_COLUMNS)


SHOW_EPILOG = """
\b
Examples:
  commitopt plans show plan-20261123-1
  commitopt plans show plan-20261123-1 --format json
  commitopt plans show plan-20261123-1 --format csv     # the purchase lines
  commitopt plans show plan-20261123-1 --history --format csv   # one row per event
\b
The history is the plan's chain of custody: who stored it (AWS caller identity or OS user,
host, time) and from which run, each decision (who, identity kind, host, time, comment) and
each purchase event (who, when, state). json carries everything; csv carries the purchase
lines, or the history with --history.
Names and comments are printed as stored, with control characters shown as escapes.
"""

UNKNOWN_CREATOR = (
    "unknown: stored before commitopt recorded identities, so self-approval cannot be checked"
)
"""What ``plans show`` says of a plan stored without ``created_by``."""

HISTORY_COLUMNS = ("at", "event", "by", "by_kind", "by_principal", "by_host", "detail", "sha256")
"""Every column of the history (json and csv)."""

HISTORY_TABLE_COLUMNS = ("at", "event", "by", "by_kind", "detail")
"""The history columns a table shows without ``--wide``."""


def _who(actor: Identity | None, fallback: str, fallback_kind: str) -> dict[str, Any]:
    """The ``by`` fields of a history row."""
    if actor is None:
        return {"by": fallback, "by_kind": fallback_kind, "by_principal": None, "by_host": None}
    return {
        "by": actor.display_name,
        "by_kind": actor.kind,
        "by_principal": actor.principal,
        "by_host": actor.host,
    }


def _created_row(plan: PlanRecord) -> dict[str, Any]:
    run = f", run {plan.run_id}" if plan.run_id is not None else ""
    return {
        "at": plan.created_at.isoformat(),
        "event": "created",
        **_who(plan.created_by, "unknown", "unknown"),
        "detail": f"stored from {plan.source}{run}",
        "sha256": plan.stored_sha256,
    }


def _decision_row(decision: Decision) -> dict[str, Any]:
    return {
        "at": decision.decided_at.isoformat(),
        "event": decision.decision,
        **_who(decision.actor, decision.approver, "typed"),
        "detail": decision.comment,
        "sha256": decision.plan_sha256,
    }


def _event_row(event: PurchaseEvent) -> dict[str, Any]:
    outcome = event.aws_id or event.detail
    return {
        "at": event.recorded_at.isoformat(),
        "event": f"line {event.line} {event.state}",
        **_who(event.actor, "unknown", "unknown"),
        "detail": f"{event.operation}: {outcome}" if outcome else event.operation,
        "sha256": event.plan_sha256,
    }


def history_frame(state: PlanState) -> pd.DataFrame:
    """The plan's chain of custody, oldest first: stored, decisions, purchase events."""
    rows = [
        _created_row(state.plan),
        *(_decision_row(d) for d in state.decisions),
        *(_event_row(e) for e in state.events),
    ]
    frame = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    return frame.sort_values("at", kind="stable").reset_index(drop=True)


@plans.command("show", epilog=SHOW_EPILOG)
@click.argument("plan_id", metavar="PLAN")
@click.option(
    "--history", "history_only", is_flag=True,
    help="Show only the history: who stored, decided on and bought the plan, one row per event.",
)  # fmt: skip
@workspace_option
@max_approval_age_option
@format_option
@quiet_option
def show_command(
    plan_id: str,
    history_only: bool,
    workspace: Path | None,
    max_approval_age: float,
    output_format: str,
) -> None:
    """Show one plan: status, hash, figures, purchase lines and who did what.

    Show one plan: status, hash, figures, purchase lines and its full history (who stored,
    decided on and bought it)."""
    age = approval_age(max_approval_age)
    with open_workspace(workspace, read_only=True) as store:
        state = plan_state(store, plan_id, max_approval_age=age)
    lines = _purchase_lines(state)
    history = history_frame(state)
    head = _plan_head(state)
    if output_format == "json":
        emit_mapping(_plan_payload(state, head, history), "json")
    elif history_only and output_format == "csv":
        emit_frame(history.assign(detail=[visible(str(v)) for v in history["detail"]]), "csv")
    elif history_only and output_format == "table":
        _emit_history_table(history, title=f"History of {state.plan.plan_id}")
    elif output_format == "csv":
        emit_frame(lines, "csv")
    else:
        _emit_plan_tables(state.plan, head, lines, history)


def _purchase_lines(state: PlanState) -> pd.DataFrame:
    """One row per purchase line: what it buys, when it starts (a line's own ``start``, bought
    as a queued purchase while it is ahead: a review's renewals; empty: when bought), its
    upfront and cost per hour [USD, USD/h], and the AWS id of its purchase once executed (empty
    before)."""
    bought = {e.line: e.aws_id for e in state.events if e.state == "executed"}
    return pd.DataFrame(
        [
            {
                "line": line.number,
                "id": line.commitment.id,
                "purchase": line.describe(),
                "starts": (
                    f"{line.requested_start:%Y-%m-%d %H:%M}" if line.requested_start else ""
                ),
                "upfront_usd": line.commitment.upfront_usd,
                "effective_usd_per_hour": line.commitment.effective_usd_per_hour,
                "aws_id": bought.get(line.number) or "",
            }
            for line in state.plan.lines
        ]
    )


def _plan_head(state: PlanState) -> dict[str, Any]:
    """The plan's identity and state: id, creation, source, status and why, hashes, integrity,
    lines and lines bought."""
    plan = state.plan
    return {
        "plan_id": plan.plan_id,
        "created_at": plan.created_at.isoformat(),
        "source": plan.source,
        "run_id": plan.run_id,
        "status": state.status,
        "reason": state.reason,
        "sha256": state.current_sha256,
        "report_sha256": plan.recorded_report_sha256 or plan.document.get("report_sha256"),
        "is_intact": plan.intact,
        "line_count": state.line_count,
        "bought_count": len(state.executed_lines),
    }


def _plan_payload(state: PlanState, head: dict[str, Any], history: pd.DataFrame) -> dict[str, Any]:
    """The ``--format json`` payload: the head, the creator, the stored inputs, policy, summary
    and purchases (current field names), the history, the report's path and notes."""
    plan = state.plan
    document = plan.document
    creator = plan.created_by
    return {
        **head,
        "created_by": None if creator is None else creator.as_mapping(),
        "inputs": document.get("inputs", {}),
        "policy": document.get("policy"),
        "summary": plan.summary,
        "purchases": [
            current_field_names(item) if isinstance(item, dict) else item
            for item in document.get("purchases", [])
        ],
        "history": history.to_dict(orient="records"),
        "report_path": plan.report_path,
        "notes": [] if creator is not None else [f"created by {UNKNOWN_CREATOR}"],
    }


def _creator_fields(creator: Identity | None) -> dict[str, Any]:
    """Who stored the plan, as table fields (and the AWS error met identifying them, if any)."""
    if creator is None:
        return {"created_by": UNKNOWN_CREATOR}
    who: dict[str, Any] = {
        "created_by": creator.principal,
        "created_by_kind": creator.kind,
        "created_by_host": creator.host,
    }
    if creator.aws_error:
        who["created_by_aws_error"] = creator.aws_error
    return who


def _emit_plan_tables(
    plan: PlanRecord, head: dict[str, Any], lines: pd.DataFrame, history: pd.DataFrame
) -> None:
    """The table output: the plan's fields (head, creator, flat summary figures; user text
    inert), its purchase lines and its history."""
    summary = {k: v for k, v in plan.summary.items() if not isinstance(v, dict)}
    fields = {**head, **_creator_fields(plan.created_by), **summary}
    emit_mapping(
        {k: inert(v) if isinstance(v, str) else v for k, v in fields.items()},
        "table",
        title=f"Plan {plan.plan_id}",
    )
    if not lines.empty:
        emit_frame(lines, "table", title="Purchase lines")
    _emit_history_table(history, title="History")


def _emit_history_table(history: pd.DataFrame, *, title: str) -> None:
    """The history as a table: user text inert; times to the second, hashes short (unless
    ``--wide``)."""
    if not wide():
        history = history.assign(
            at=[str(v)[:19].replace("T", " ") for v in history["at"]],
            sha256=[str(v)[:12] for v in history["sha256"]],
        )
    emit_frame(_inert_frame(history), "table", title=title, narrow=HISTORY_TABLE_COLUMNS)


ADD_EPILOG = """
\b
Examples:
  commitopt recommend --demo --format json --out plan.json
  commitopt plans add plan.json
  commitopt plans add plan.json --report plan.html
\b
The plan is stored as canonical JSON with its SHA-256, status proposed.
"""


@plans.command("add", epilog=ADD_EPILOG)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--report",
    "report_path",
    type=FILE,
    help="A report file to store with the plan (its hash becomes part of the plan).",
)
@workspace_option
@format_option
@quiet_option
def add_command(
    file: Path, report_path: Path | None, workspace: Path | None, output_format: str
) -> None:
    """Store a recommendation JSON (`recommend --format json`) as a proposed plan."""
    with open_workspace(workspace) as store:
        plan = add_plan_file(store, file, report_path=report_path)
        state = plan_state(store, plan)
    emit_mapping(
        {
            "plan_id": plan.plan_id,
            "status": state.status,
            "line_count": state.line_count,
            "sha256": plan.stored_sha256,
            "workspace": str(store.path),
        },
        output_format,
        title="Plan stored",
    )


DECIDE_EPILOG = """
\b
Examples:
  commitopt approve plan-20261123-1 --comment "within Q4 budget"
  AWS_PROFILE=finance commitopt approve plan-20261123-1
  commitopt reject plan-20261123-1 --comment "wait for the migration"
\b
The decider is whoever runs the command: the AWS caller identity (sts:GetCallerIdentity) when
credentials are found, else the OS user; both are recorded with host and time. When
commitopt.toml lists approvers (ARNs or names), only they may decide; the identity that stored
a plan may not approve it unless self_approval lists it. An approval binds to the plan's SHA-256:
a plan changed afterwards is no longer approved. Approvals expire after --max-approval-age days.
Decisions are appended, never edited.
"""


def _check_deprecated_approver(approver: str | None, identity: Identity) -> None:
    """``--approver NAME`` (deprecated): accepted only when it names the current identity."""
    if approver is None:
        return
    if identity.matches(approver) or approver.strip().casefold() == (
        identity.display_name.casefold()
    ):
        reporter().warning(
            "--approver is deprecated and no longer needed: the decider is the identity running "
            f"the command ({visible(identity.display_name)})"
        )
        return
    unavailable = (
        f"; AWS identity unavailable: {visible(identity.aws_error)}" if identity.aws_error else ""
    )
    raise CommitoptInputError(
        f"--approver {visible(approver)!r} is not who runs this command: decisions are recorded "
        f"under the current identity, {visible(identity.display_name)} ({identity.kind}"
        f"{unavailable}); drop --approver, or run the command as that approver (e.g. with their "
        "AWS profile)"
    )


def _decide(
    decision: str,
    plan_id: str,
    approver: str | None,
    comment: str,
    workspace: Path | None,
    max_approval_age: float,
    output_format: str,
) -> None:
    age = approval_age(max_approval_age)
    identity = current_identity()
    _check_deprecated_approver(approver, identity)
    with open_workspace(workspace) as store:
        if decision == "approve":
            made = approve(
                store,
                plan_id,
                identity,
                comment=comment,
                allowed_approvers=allowed_approvers(),
                self_approval=self_approvers(),
                max_approval_age=age,
            )
        else:
            made = reject(
                store,
                plan_id,
                identity,
                comment=comment,
                allowed_approvers=allowed_approvers(),
                max_approval_age=age,
            )
        state = plan_state(store, plan_id, max_approval_age=age)
    payload: dict[str, Any] = {
        "plan_id": made.plan_id,
        "decision": made.decision,
        "approver": made.approver,
        **{k: v for k, v in _who(made.actor, made.approver, "typed").items() if k != "by"},
        "comment": made.comment,
        "decided_at": made.decided_at.isoformat(),
        "sha256": made.plan_sha256,
        "status": state.status,
    }
    if decision == "approve":
        payload["valid_until"] = (made.decided_at + age).isoformat()
    if output_format == "table":
        payload = {k: inert(v) if isinstance(v, str) else v for k, v in payload.items()}
    emit_mapping(payload, output_format, title=f"Plan {made.plan_id} {state.status}")


def _decision_command(name: str, help_text: str) -> click.Command:
    @click.command(name, epilog=DECIDE_EPILOG, help=help_text)
    @click.argument("plan_id", metavar="PLAN")
    @click.option("--comment", default="", help="Why, or under which conditions (≤ 2,000 chars).")
    @click.option(
        "--approver",
        default=None,
        hidden=True,
        help="Deprecated: the decider is the current identity; accepted only when it names it.",
    )
    @workspace_option
    @max_approval_age_option
    @format_option
    @quiet_option
    def command(
        plan_id: str,
        comment: str,
        approver: str | None,
        workspace: Path | None,
        max_approval_age: float,
        output_format: str,
    ) -> None:
        _decide(name, plan_id, approver, comment, workspace, max_approval_age, output_format)

    return command


approve_command = _decision_command("approve", "Approve a proposed plan (appends to the ledger).")
reject_command = _decision_command(
    "reject", "Reject a plan (final; revokes an unexecuted approval)."
)
