"""The scheduled purchase review, in the shell: store the plan, render the report, record the run.

What ``commitopt review`` runs, unattended (cron): :func:`planning.review.review_purchases` (the
increment recommended on the lookback, the commitments expiring soon and the purchases queued to
replace them at their end, the plan and the current portfolio billed over sampled future usage
paths, the frontier), then the finance report and a dated plan with status ``proposed`` (the
increment's lines, then the queued renewals' lines, each with its own ``start``), its full policy,
its inputs' fingerprints and the report (whose header shows the plan id and the SHA-256 approvals
bind to), stored in one transaction with the identity that ran it. Nothing to buy is a normal
outcome: the run is recorded and no plan is stored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from commitopt.identity import Identity, current_identity
from commitopt.plans import PlanRecord, RenderReport, store_plan
from commitopt.report import build_report_data
from commitopt.report.data import ReportData
from commitopt.report.formats import render_report
from commitopt.report.frontier import knee_rule_text, report_frontier
from commitopt.report.inputs import Frontier, MonteCarloSavings
from commitopt.workspace import Workspace
from optimizer.policy import Policy
from planning.recommend import RecommendationRun
from planning.renewals import can_queue
from planning.review import (
    FRONTIER_LEVELS,
    Log,
    PurchaseReview,
    ReviewForecast,
    ReviewOptions,
    forecast_review,
    review_purchases,
)
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment
from scenarios.montecarlo import MonteCarloResult
from usage.table import UsageMatrix


@dataclass(frozen=True)
class RenewalLine:
    """One purchase a review queues to replace expiring commitments.

    Attributes
    ----------
    commitment
        The purchase, with its real (queued) start and end.
    replaces
        The ids of the owned commitments it replaces.
    item
        Its portfolio item: the recommendation's, with ``start``, ``end`` and ``replaces``
        (without ``start`` and ``end`` when AWS cannot queue it, a database reservation: it is
        bought with the increment, :func:`planning.renewals.can_queue`).
    """

    commitment: Commitment
    replaces: tuple[str, ...]
    item: dict[str, Any]


RENEWAL_ID_PREFIX = "renewal"
"""Renewal purchases are named ``renewal-YYYYMMDDHH-N``: when they start, and their order."""


def renewal_lines(review: PurchaseReview) -> tuple[RenewalLine, ...]:
    """The review's queued renewals as plan lines, soonest first, each renamed after when it
    starts (:data:`RENEWAL_ID_PREFIX`) so that its id is unique in the plan."""
    lines = []
    for renewal in review.renewals:
        decided = {str(item.get("id")): item for item in renewal.run.portfolio.get("purchases", [])}
        replaced = tuple(c.id for c in renewal.renewal.replaced)
        stamp = f"{renewal.renewal.start:%Y%m%d%H}"
        for number, (chosen, bought) in enumerate(
            zip(renewal.run.purchases, renewal.purchases, strict=True), start=1
        ):
            named = dataclasses.replace(bought, id=f"{RENEWAL_ID_PREFIX}-{stamp}-{number}")
            item = {
                **{k: v for k, v in decided.get(chosen.id, {}).items() if k != "tranche"},
                **named.to_json_item(),
                "replaces": list(replaced),
            }
            if not can_queue(named):  # a database reservation: bought with the increment
                item.pop("start", None)
                item.pop("end", None)
            lines.append(RenewalLine(named, replaced, item))
    return tuple(lines)


def with_renewals(portfolio: Mapping[str, Any], renewals: Sequence[RenewalLine]) -> dict[str, Any]:
    """The plan's portfolio: the increment's purchases, then the queued renewals (each with its
    own ``start``: bought as an AWS queued purchase), and a ``queued_renewals`` count in the
    summary."""
    if not renewals:
        return dict(portfolio)
    summary = {**portfolio.get("summary", {}), "queued_renewals": len(renewals)}
    purchases = [*portfolio.get("purchases", []), *(line.item for line in renewals)]
    return {**portfolio, "purchases": purchases, "summary": summary}


@dataclass(frozen=True)
class ReviewOutcome:
    """What a review did.

    Attributes
    ----------
    run
        The recommendation.
    plan
        The stored plan, or ``None`` when there was nothing to buy.
    run_id
        The workspace's id of this review run.
    expiring
        Owned commitments ending within the review's window.
    current_paths, proposed_paths
        Monte Carlo of the owned commitments alone and with the purchases, or ``None``.
    report
        The rendered report, or ``None`` when no plan was stored.
    report_data
        What the report shows, or ``None``.
    renewals
        The purchases queued to replace expiring commitments at their end (in the plan after
        the increment's).
    """

    run: RecommendationRun
    plan: PlanRecord | None
    run_id: int
    expiring: tuple[Commitment, ...]
    current_paths: MonteCarloResult | None
    proposed_paths: MonteCarloResult | None
    report: str | None
    report_data: ReportData | None
    renewals: tuple[RenewalLine, ...] = ()


def fingerprint(payload: bytes) -> str:
    """``sha256:<hex>`` of some bytes."""
    return "sha256:" + hashlib.sha256(payload).hexdigest()


def usage_fingerprint(usage: pd.DataFrame | UsageMatrix) -> str:
    """Fingerprint of a canonical usage table's content (order-independent), or of a matrix's
    (its first hour, its keys in order and its quantities)."""
    if isinstance(usage, UsageMatrix):
        header = f"{usage.hours[0] if len(usage.hours) else ''}|{len(usage.hours)}|"
        keys = usage.keys.astype(str).to_csv(index=False)
        return fingerprint(header.encode() + keys.encode() + usage.quantity.tobytes())
    if usage.empty:
        return fingerprint(b"")
    hashed = pd.util.hash_pandas_object(usage, index=False).to_numpy()
    return fingerprint(np.sort(hashed).tobytes())


def input_fingerprints(
    run: RecommendationRun,
    catalog: PriceCatalog,
    owned: Sequence[Commitment],
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """What a stored plan records of its inputs: the lookback's content and hours, the prices'
    source, the owned commitments' ids, and ``extra`` (files, imports)."""
    return {
        "usage": usage_fingerprint(run.usage),
        "usage_hours": len(run.usage.hours),
        "catalog": catalog.metadata.source,
        "inventory": fingerprint(
            json.dumps(sorted(c.id for c in owned), separators=(",", ":")).encode()
        ),
        "owned_commitments": len(owned),
        **extra,
    }


def forecast_report_inputs(future: ReviewForecast) -> tuple[MonteCarloSavings, Frontier]:
    """A review's forecast in the report's terms: the savings range and the frontier.

    The frontier's levels are the scaled purchases' cost per hour [USD/h] and its savings those
    of the purchases on top of the owned commitments (the mean is exact; the P5 is shown only
    when nothing is owned, where it is the P5 of the purchases' own savings).
    """
    months = future.horizon_months
    curve = report_frontier(
        future.frontier,
        future.proposed,
        horizon=f"the next {months:.0f} months",
        with_p5=not future.owned,
        source=(
            f"the purchases scaled 0–{FRONTIER_LEVELS[-1]:g}× (RIs as fractional capacity) and "
            f"billed over {future.n_paths} forecast usage paths; "
            f"{knee_rule_text(future.frontier)}"
        ),
    )
    current = future.current.paths
    summary = MonteCarloSavings(
        savings_vs_current_usd=future.savings_vs_current_usd,
        savings_vs_on_demand_pct=future.with_plan.paths["savings_vs_on_demand_pct"].to_numpy(
            dtype=np.float64
        ),
        horizon=f"the next {months:.0f} months",
        current_savings_vs_on_demand_pct=current["savings_vs_on_demand_pct"].to_numpy(
            dtype=np.float64
        ),
        horizon_hours=float(future.horizon_hours),
        description=(
            f"{future.n_paths} usage paths forecast from the {future.lookback_hours:,}-"
            "hour lookback (robust weekly trend with a per-path trend error, block bootstrap of "
            "whole weeks), each billed "
            "with the owned commitments alone and with the purchases"
        ),
    )
    return summary, curve


def forecast_savings(
    run: RecommendationRun,
    owned: Sequence[Commitment],
    catalog: PriceCatalog,
    options: ReviewOptions,
    log: Log,
) -> tuple[MonteCarloResult, MonteCarloResult, MonteCarloSavings, Frontier]:
    """Owned alone and owned + purchases over sampled future paths, with the report's savings
    range and frontier (:func:`planning.review.forecast_review`, then
    :func:`forecast_report_inputs`)."""
    future = forecast_review(run, owned, catalog, options, log)
    summary, curve = forecast_report_inputs(future)
    return future.current, future.with_plan, summary, curve


@dataclass
class StoredReport:
    """What :func:`plan_report` rendered, once the plan was stored."""

    text: str | None = None
    data: ReportData | None = None


def plan_report(
    data: ReportData, report_format: str, rendered: StoredReport | None = None
) -> RenderReport:
    """A :data:`commitopt.plans.RenderReport` callback: the report with the stored plan's id and
    SHA-256 in its header (``sha256_of`` ``"plan"``), as UTF-8 bytes.

    Parameters
    ----------
    data
        The report of the recommendation (built before the plan id is known).
    report_format
        ``html`` or ``md``.
    rendered
        Receives the rendered text and the header-completed data, when given.
    """

    def render(plan_id: str, plan_sha256: str) -> bytes:
        header = dataclasses.replace(
            data.header, plan_id=plan_id, sha256=plan_sha256, sha256_of="plan"
        )
        completed = dataclasses.replace(data, header=header)
        text = render_report(completed, report_format)
        if rendered is not None:
            rendered.text, rendered.data = text, completed
        return text.encode("utf-8")

    return render


def run_review(
    workspace: Workspace,
    usage: pd.DataFrame | UsageMatrix,
    catalog: PriceCatalog,
    policy: Policy,
    *,
    owned: Sequence[Commitment] = (),
    options: ReviewOptions | None = None,
    report_format: str = "html",
    inputs: dict[str, Any] | None = None,
    log: Log | None = None,
    now: datetime | None = None,
    progress: Callable[[int, float, float], None] | None = None,
    actor: Identity | None = None,
) -> ReviewOutcome:
    """Run one purchase review and store its plan (see the module docstring).

    Parameters
    ----------
    workspace
        An open, writable workspace.
    usage
        The canonical usage table or its matrix (the lookback is taken from its end; the CLI
        reads only the lookback from the workspace).
    catalog
        Prices.
    policy
        What may be bought.
    owned
        Commitments already owned (their expirations open room).
    options
        See :class:`planning.review.ReviewOptions`.
    report_format
        Format of the stored report: ``html`` or ``md``.
    inputs
        Extra fingerprints of the inputs (files, imports), stored with the plan.
    log
        Receives a line as each step begins (stderr in the CLI).
    now
        The review's time [default: now, UTC].
    progress
        Called with (iteration, lower bound, upper bound) while the optimizer's cutting planes
        run.
    actor
        Who runs the review, recorded with the run and the plan [default:
        :func:`commitopt.identity.current_identity`].

    Returns
    -------
    ReviewOutcome

    Raises
    ------
    core.errors.CommitoptInputError
        For unusable usage, prices or policy (nothing is stored).
    """
    options = options or ReviewOptions()
    say = log or (lambda _line: None)
    started = (now or datetime.now(UTC)).replace(microsecond=0)
    workspace.require_writable("store a review")
    who = actor or current_identity()
    review = review_purchases(
        usage, catalog, policy, owned=owned, options=options, log=say, progress=progress
    )
    run, expiring, future = review.run, review.expiring, review.forecast
    monte: MonteCarloSavings | None = None
    curve: Frontier | None = None
    if future is not None:
        monte, curve = forecast_report_inputs(future)
        if not future.proposed:  # only renewals: no increment to scale
            curve = None
    fingerprints = input_fingerprints(run, catalog, owned, inputs or {})
    renewals = renewal_lines(review)
    outcome: dict[str, Any] = {
        "purchases": len(run.purchases),
        "expiring": [item.id for item in expiring],
        "savings_vs_current_usd": run.summary.get("savings_vs_current_usd"),
    }
    if renewals:
        outcome["queued_renewals"] = len(renewals)
    parameters = {
        "lookback_days": options.recommend.lookback_days,
        "expiring_within_days": options.expiring_within_days,
        "paths": options.n_paths,
        "horizon_hours": options.horizon_hours,
        "seed": options.seed,
        "queue_renewals": options.queue_renewals,
        "policy": dataclasses.asdict(policy),
    }
    if run.held_back is not None:
        outcome["held_back"] = run.held_back
    if not run.purchases and not renewals:
        say(
            "nothing to buy: the owned commitments already cover what pays off"
            if run.held_back is None
            else f"nothing to buy: {run.held_back[:1].lower()}{run.held_back[1:]}"
        )
        run_id = workspace.record_run(
            "review", parameters=parameters, inputs=fingerprints, outcome=outcome,
            started_at=started, actor=who.as_mapping(),
        )  # fmt: skip
        return ReviewOutcome(run, None, run_id, expiring, None, None, None, None)
    queued = f" and {len(renewals)} queued to replace expiring ones" if renewals else ""
    say(f"{len(run.purchases)} purchases proposed{queued}; writing the report")
    data = build_report_data(
        run, monte_carlo=monte, frontier=curve, catalog=catalog, owned=tuple(owned),
        title=f"Purchase review of {started:%Y-%m-%d}", generated_at=started,
        purchase_date=started, compute_frontier=bool(run.purchases),
        renewals=[(line.commitment, line.replaces) for line in renewals],
    )  # fmt: skip
    rendered = StoredReport()
    with workspace.transaction():
        run_id = workspace.record_run(
            "review", parameters=parameters, inputs=fingerprints, outcome=outcome,
            started_at=started, actor=who.as_mapping(),
        )  # fmt: skip
        plan = store_plan(
            workspace, with_renewals(run.portfolio, renewals), source="review",
            inputs=fingerprints,
            policy=dataclasses.asdict(policy), render_report=plan_report(
                data, report_format, rendered
            ), run_id=run_id, created_at=started, created_by=who,
        )  # fmt: skip
    say(f"stored plan {plan.plan_id} (status proposed, sha256 {plan.sha256[:12]}…)")
    current = future.current if future is not None else None
    proposed = future.with_plan if future is not None else None
    return ReviewOutcome(
        run, plan, run_id, expiring, current, proposed, rendered.text, rendered.data or data,
        renewals,
    )  # fmt: skip
