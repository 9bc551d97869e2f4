"""The scheduled purchase review: recommend the increment, weigh it over forecasts, store a plan.

What ``commitopt review`` runs, unattended (cron): the workspace's usage over the lookback, the
commitments owned (and those expiring soon), :func:`planning.recommend.recommend` for the
increment, the plan and the current portfolio billed with the billing simulator over the lookback
and over sampled future usage paths (:func:`scenarios.forecast.forecast_paths`,
:func:`scenarios.montecarlo.monte_carlo`), the finance report, and a dated plan with status
``proposed``, its full policy, its inputs' fingerprints and the report (whose header shows the
plan id and the SHA-256 approvals bind to), stored in one transaction with the identity that ran
it. Nothing to buy is a normal outcome: the run is recorded and no plan is stored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from commitopt.identity import Identity, current_identity
from commitopt.plans import PlanRecord, RenderReport, store_plan
from commitopt.report import build_report_data
from commitopt.report.commitments import item_hourly_cost_usd
from commitopt.report.data import ReportData
from commitopt.report.formats import render_report
from commitopt.report.inputs import Frontier, MonteCarloSavings
from commitopt.workspace import Workspace
from optimizer.policy import Policy
from planning.recommend import RecommendationRun, RecommendOptions, recommend
from pricing.catalog import PriceCatalog
from pricing.inventory import OwnedCommitment
from scenarios.forecast import forecast
from scenarios.frontier import frontier
from scenarios.montecarlo import MonteCarloResult, monte_carlo
from scenarios.paths import UsagePaths

Log = Callable[[str], None]

FRONTIER_LEVELS = np.linspace(0.0, 1.5, 16)
"""Shares of the purchases billed for the report's frontier (level 1 is the plan)."""

TREND_LEVELS = 9
"""Per-path trend errors sampled by the forecast (9 levels: its P5–P95 range held 86 % of actual
4-week totals in the rolling backtest, against 72 % without; see docs/benchmarks.md)."""


@dataclass(frozen=True)
class ReviewOptions:
    """How a review runs.

    Attributes
    ----------
    recommend
        Lookback, ladder, solver and other recommendation options.
    expiring_within_days
        Owned commitments ending this soon after the data's last hour are listed (and their
        room is what the increment may fill) [days].
    n_paths
        Sampled future usage paths for the savings range (0: none) [1].
    horizon_hours
        Length of each path, from the hour after the data [h].
    seed
        Seed of the paths.
    report_format
        Format of the stored report: ``html`` or ``md``.
    """

    recommend: RecommendOptions = dataclasses.field(default_factory=RecommendOptions)
    expiring_within_days: float = 30.0
    n_paths: int = 200
    horizon_hours: int = 8760
    seed: int = 0
    report_format: str = "html"


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
    """

    run: RecommendationRun
    plan: PlanRecord | None
    run_id: int
    expiring: tuple[OwnedCommitment, ...]
    current_paths: MonteCarloResult | None
    proposed_paths: MonteCarloResult | None
    report: str | None
    report_data: ReportData | None


def fingerprint(payload: bytes) -> str:
    """``sha256:<hex>`` of some bytes."""
    return "sha256:" + hashlib.sha256(payload).hexdigest()


def usage_fingerprint(usage: pd.DataFrame) -> str:
    """Fingerprint of a canonical usage table's content (order-independent)."""
    if usage.empty:
        return fingerprint(b"")
    hashed = pd.util.hash_pandas_object(usage, index=False).to_numpy()
    return fingerprint(np.sort(hashed).tobytes())


def expiring_commitments(
    owned: Sequence[OwnedCommitment], after: datetime, within_days: float
) -> tuple[OwnedCommitment, ...]:
    """The owned commitments ending in ``[after, after + within_days)``, soonest first."""
    limit = after + timedelta(days=within_days)
    return tuple(sorted((c for c in owned if after <= c.end < limit), key=lambda c: c.end))


def shift_purchases(
    purchases: Sequence[OwnedCommitment], delta: timedelta
) -> tuple[OwnedCommitment, ...]:
    """Purchases moved by ``delta`` (the plan applied to a later period, tranches kept apart)."""
    return tuple(
        dataclasses.replace(item, start=item.start + delta, end=item.end + delta)
        for item in purchases
    )


def forecast_savings(
    run: RecommendationRun,
    owned: Sequence[OwnedCommitment],
    catalog: PriceCatalog,
    options: ReviewOptions,
    log: Log,
) -> tuple[MonteCarloResult, MonteCarloResult, MonteCarloSavings, Frontier]:
    """Owned alone and owned + purchases over sampled paths of the next ``horizon_hours``, and
    the frontier of the purchases over the same paths."""
    lookback = run.usage
    first_hour = pd.Timestamp(lookback["hour"].min())
    future_start = pd.Timestamp(lookback["hour"].max()) + pd.Timedelta(hours=1)
    months = options.horizon_hours / (8760 / 12)
    log(
        f"forecasting {options.n_paths} usage paths of {options.horizon_hours:,} h from "
        f"{future_start:%Y-%m-%d}"
    )
    paths = forecast(
        lookback,
        horizon_hours=options.horizon_hours,
        n_paths=options.n_paths,
        seed=options.seed,
        start=future_start,
        trend_levels=TREND_LEVELS,
    ).paths
    proposed = shift_purchases(run.purchases, future_start - first_hour)
    log(f"billing the frontier over {options.n_paths} paths")
    curve = forecast_frontier(paths, proposed, owned, catalog, horizon=f"{months:.0f} months")
    log(f"billing the owned commitments and the plan over {options.n_paths} paths")
    current = monte_carlo(paths, tuple(owned), catalog)
    with_plan = monte_carlo(paths, (*owned, *proposed), catalog)
    savings = (
        current.paths["actual_cost_usd"].to_numpy() - with_plan.paths["actual_cost_usd"].to_numpy()
    )
    esr = with_plan.paths["savings_vs_on_demand_pct"].to_numpy(dtype=np.float64)
    summary = MonteCarloSavings(
        savings_vs_current_usd=savings,
        savings_vs_on_demand_pct=esr,
        horizon=f"the next {months:.0f} months",
        current_savings_vs_on_demand_pct=current.paths["savings_vs_on_demand_pct"].to_numpy(
            dtype=np.float64
        ),
        horizon_hours=float(options.horizon_hours),
        description=(
            f"{options.n_paths} usage paths forecast from the {len(lookback['hour'].unique()):,}-"
            "hour lookback (robust weekly trend with a per-path trend error, block bootstrap of "
            "whole weeks), each billed "
            "with the owned commitments alone and with the purchases"
        ),
    )
    return current, with_plan, summary, curve


def forecast_frontier(
    paths: UsagePaths,
    proposed: Sequence[OwnedCommitment],
    owned: Sequence[OwnedCommitment],
    catalog: PriceCatalog,
    *,
    horizon: str,
) -> Frontier:
    """The report's frontier: the purchases scaled 0–150 % and billed over every path.

    Levels are the scaled purchases' cost per hour [USD/h]; savings are those of the purchases
    on top of the owned commitments (the mean is exact; the P5 is shown only when nothing is
    owned, where it is the P5 of the purchases' own savings).
    """
    curve = frontier(paths, tuple(proposed), catalog, owned=tuple(owned), levels=FRONTIER_LEVELS)
    table = curve.table
    hourly = sum(item_hourly_cost_usd(item) for item in proposed)
    expected = table["mean_savings_vs_on_demand_usd"].to_numpy()
    p5 = table["p5_savings_vs_on_demand_usd"].to_numpy() if not owned else None
    return Frontier(
        levels_usd_per_hour=table["level"].to_numpy() * hourly,
        mean_savings_vs_current_usd=expected - expected[0],
        p5_savings_vs_current_usd=None if p5 is None else p5 - p5[0],
        knee_usd_per_hour=curve.knee_level * hourly,
        plan_usd_per_hour=hourly,
        horizon=f"the next {horizon}",
        source=(
            f"the purchases scaled 0–{FRONTIER_LEVELS[-1]:g}× (RIs as fractional capacity) and "
            f"billed over {paths.n_paths} forecast usage paths; knee: the last level at which "
            "each step still returns at least 0.10 USD per USD of commitment"
        ),
    )


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
    usage: pd.DataFrame,
    catalog: PriceCatalog,
    policy: Policy,
    *,
    owned: Sequence[OwnedCommitment] = (),
    options: ReviewOptions | None = None,
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
        The canonical usage table (the lookback is taken from its end).
    catalog
        Prices.
    policy
        What may be bought.
    owned
        Commitments already owned (their expirations open room).
    options
        See :class:`ReviewOptions`.
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
    say(f"recommending over a {options.recommend.lookback_days:g}-day lookback")
    run = recommend(
        usage, catalog, policy, owned=tuple(owned), options=options.recommend, progress=progress
    )
    data_end = pd.Timestamp(run.usage["hour"].max()).to_pydatetime() + timedelta(hours=1)
    expiring = expiring_commitments(owned, data_end, options.expiring_within_days)
    for item in expiring:
        say(f"expiring: {item.kind} {item.id} on {item.end:%Y-%m-%d}")
    current = proposed = None
    monte: MonteCarloSavings | None = None
    curve: Frontier | None = None
    if run.purchases and options.n_paths > 0:
        current, proposed, monte, curve = forecast_savings(run, owned, catalog, options, say)
    fingerprints = {
        "usage": usage_fingerprint(run.usage),
        "usage_hours": int(run.usage["hour"].nunique()),
        "catalog": catalog.metadata.source,
        "inventory": fingerprint(
            json.dumps(sorted(c.id for c in owned), separators=(",", ":")).encode()
        ),
        "owned_commitments": len(owned),
        **(inputs or {}),
    }
    outcome: dict[str, Any] = {
        "purchases": len(run.purchases),
        "expiring": [item.id for item in expiring],
        "savings_vs_current_usd": run.summary.get("savings_vs_current_usd"),
    }
    parameters = {
        "lookback_days": options.recommend.lookback_days,
        "expiring_within_days": options.expiring_within_days,
        "paths": options.n_paths,
        "horizon_hours": options.horizon_hours,
        "seed": options.seed,
        "policy": dataclasses.asdict(policy),
    }
    if not run.purchases:
        say("nothing to buy: the owned commitments already cover what pays off")
        run_id = workspace.record_run(
            "review", parameters=parameters, inputs=fingerprints, outcome=outcome,
            started_at=started, actor=who.as_mapping(),
        )  # fmt: skip
        return ReviewOutcome(run, None, run_id, expiring, None, None, None, None)
    say(f"{len(run.purchases)} purchases proposed; writing the report")
    data = build_report_data(
        run, monte_carlo=monte, frontier=curve, catalog=catalog, owned=tuple(owned),
        title=f"Purchase review of {started:%Y-%m-%d}", generated_at=started,
        purchase_date=started,
    )  # fmt: skip
    rendered = StoredReport()
    with workspace.transaction():
        run_id = workspace.record_run(
            "review", parameters=parameters, inputs=fingerprints, outcome=outcome,
            started_at=started, actor=who.as_mapping(),
        )  # fmt: skip
        plan = store_plan(
            workspace, run.portfolio, source="review", inputs=fingerprints,
            policy=dataclasses.asdict(policy), render_report=plan_report(
                data, options.report_format, rendered
            ), run_id=run_id, created_at=started, created_by=who,
        )  # fmt: skip
    say(f"stored plan {plan.plan_id} (status proposed, sha256 {plan.sha256[:12]}…)")
    return ReviewOutcome(
        run, plan, run_id, expiring, current, proposed, rendered.text, rendered.data or data
    )
