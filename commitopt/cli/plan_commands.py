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
    PlanState,
    approve,
    plan_state,
    reject,
)
from commitopt.cli.output import emit_frame, emit_mapping, format_option, wide
from commitopt.cli.progress import quiet_option
from commitopt.cli.streams import echo_payload
from commitopt.cli.usage_commands import workspace_option
from commitopt.plans import PlanError, add_plan_file, list_plans
from commitopt.workspace import Workspace, workspace_path
from pricing.errors import CommitoptInputError
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


def allowed_approvers() -> tuple[str, ...] | None:
    """The configuration's ``approvers`` list (never a flag); ``None`` lets anyone decide."""
    context = click.get_current_context(silent=True)
    config = context.find_root().obj if context is not None else None
    approvers = getattr(config, "approvers", None)
    return tuple(approvers) if approvers else None


def _money(summary: Any, key: str) -> float | None:
    value = summary.get(key) if isinstance(summary, dict) else None
    return float(value) if isinstance(value, int | float) else None


def _history(state: PlanState) -> str:
    """Decisions and purchases in one line, oldest first."""
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
        with Workspace.open(workspace, read_only=True) as store:
            states = [plan_state(store, plan, max_approval_age=age) for plan in list_plans(store)]
    rows = pd.DataFrame([_row(state) for state in states])
    if rows.empty:
        if output_format == "table":
            echo_payload("No plans yet: store one with `commitopt plans add FILE.json`.")
            return
        rows = pd.DataFrame(columns=list(LIST_COLUMNS))
    if output_format == "table":
        rows["created_at"] = [str(v)[:16].replace("T", " ") for v in rows["created_at"]]
    emit_frame(rows, output_format, title="Plans", narrow=LIST_TABLE_COLUMNS)


SHOW_EPILOG = """
\b
Examples:
  commitopt plans show plan-20261123-1
  commitopt plans show plan-20261123-1 --format json
"""


@plans.command("show", epilog=SHOW_EPILOG)
@click.argument("plan_id", metavar="PLAN")
@workspace_option
@max_approval_age_option
@format_option
@quiet_option
def show_command(
    plan_id: str, workspace: Path | None, max_approval_age: float, output_format: str
) -> None:
    """Show one plan: status, hash, figures, purchase lines and the full history."""
    age = approval_age(max_approval_age)
    with Workspace.open(workspace, read_only=True) as store:
        state = plan_state(store, plan_id, max_approval_age=age)
    plan = state.plan
    document = plan.document
    bought = {e.line: e.aws_id for e in state.events if e.state == "executed"}
    lines = pd.DataFrame(
        [
            {
                "line": line.number,
                "id": line.commitment.id,
                "purchase": line.describe(),
                "upfront_usd": line.commitment.upfront_usd,
                "effective_usd_per_hour": line.commitment.effective_usd_per_hour,
                "aws_id": bought.get(line.number) or "",
            }
            for line in plan.lines
        ]
    )
    history = pd.DataFrame(
        [
            {"at": d.decided_at.isoformat(), "event": d.decision,
             "by": d.approver, "detail": d.comment, "sha256": d.plan_sha256}
            for d in state.decisions
        ]
        + [
            {"at": e.recorded_at.isoformat(), "event": f"line {e.line} {e.state}",
             "by": e.operation, "detail": e.aws_id or e.detail, "sha256": e.plan_sha256}
            for e in state.events
        ],
        columns=["at", "event", "by", "detail", "sha256"],
    ).sort_values("at", kind="stable")  # fmt: skip
    head = {
        "plan_id": plan.plan_id,
        "created_at": plan.created_at.isoformat(),
        "source": plan.source,
        "status": state.status,
        "reason": state.reason,
        "sha256": state.current_sha256,
        "is_intact": plan.intact,
        "line_count": state.line_count,
        "bought_count": len(state.executed_lines),
    }
    if output_format == "json":
        emit_mapping(
            {
                **head,
                "inputs": document.get("inputs", {}),
                "summary": plan.summary,
                "purchases": [
                    current_field_names(item) if isinstance(item, dict) else item
                    for item in document.get("purchases", [])
                ],
                "history": history.to_dict(orient="records"),
                "report_path": plan.report_path,
            },
            "json",
        )
        return
    if output_format == "csv":
        emit_frame(lines, "csv")
        return
    summary = {k: v for k, v in plan.summary.items() if not isinstance(v, dict)}
    emit_mapping({**head, **summary}, "table", title=f"Plan {plan.plan_id}")
    if not lines.empty:
        emit_frame(lines, "table", title="Purchase lines")
    if not history.empty:
        if not wide():
            history["at"] = [str(v)[:19].replace("T", " ") for v in history["at"]]
            history["sha256"] = [str(v)[:12] for v in history["sha256"]]
        emit_frame(history, "table", title="History")


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
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A report file to store with the plan (its hash becomes part of the plan).",
)
@workspace_option
@format_option
@quiet_option
def add_command(
    file: Path, report_path: Path | None, workspace: Path | None, output_format: str
) -> None:
    """Store a recommendation JSON (`recommend --format json`) as a proposed plan."""
    with Workspace.open(workspace) as store:
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
  commitopt approve plan-20261123-1 --approver "Ann Finance" --comment "within Q4 budget"
  commitopt reject plan-20261123-1 --approver "Ann Finance" --comment "wait for the migration"
\b
An approval binds to the plan's SHA-256: a plan changed afterwards is no longer approved.
Approvals expire after --max-approval-age days. Decisions are appended, never edited.
"""


def _decide(
    decision: str,
    plan_id: str,
    approver: str,
    comment: str,
    workspace: Path | None,
    max_approval_age: float,
    output_format: str,
) -> None:
    age = approval_age(max_approval_age)
    record = approve if decision == "approve" else reject
    with Workspace.open(workspace) as store:
        made = record(
            store,
            plan_id,
            approver,
            comment=comment,
            allowed_approvers=allowed_approvers(),
            max_approval_age=age,
        )
        state = plan_state(store, plan_id, max_approval_age=age)
    payload: dict[str, Any] = {
        "plan_id": made.plan_id,
        "decision": made.decision,
        "approver": made.approver,
        "comment": made.comment,
        "decided_at": made.decided_at.isoformat(),
        "sha256": made.plan_sha256,
        "status": state.status,
    }
    if decision == "approve":
        payload["valid_until"] = (made.decided_at + age).isoformat()
    emit_mapping(payload, output_format, title=f"Plan {made.plan_id} {state.status}")


def _decision_command(name: str, help_text: str) -> click.Command:
    @click.command(name, epilog=DECIDE_EPILOG, help=help_text)
    @click.argument("plan_id", metavar="PLAN")
    @click.option("--approver", required=True, help="Who decides (recorded in the ledger).")
    @click.option("--comment", default="", help="Why, or under which conditions.")
    @workspace_option
    @max_approval_age_option
    @format_option
    @quiet_option
    def command(
        plan_id: str,
        approver: str,
        comment: str,
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
