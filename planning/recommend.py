"""The ``recommend`` job: usage → reduced problem → optimal plan → whole purchases → billed figures.

The optimizer proposes; the billing simulator disposes: every money figure of a recommendation
comes from billing the lookback's usage twice with :func:`billing.simulator.simulate`, once
with the owned commitments only (the baseline) and once with the purchases added.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC
from pathlib import Path
from typing import Any, Final, overload

import numpy as np
import pandas as pd

from billing.simulator import SimulationResult, simulate
from core.errors import CommitoptEnvironmentError, CommitoptInputError, param
from core.units import HOURS_PER_MONTH
from optimizer.build import build_problem
from optimizer.explain import explain
from optimizer.optimize import (
    DEFAULT_TOLERANCE,
    MAX_ITERATIONS,
    ProgressCallback,
    StagedProgress,
    optimize,
)
from optimizer.policy import Policy
from optimizer.problem import CommitmentProblem, FloatArray
from optimizer.purchases import purchases_from_units, purchases_to_portfolio_json
from optimizer.result import OptimizationResult, OptimizationStatus
from optimizer.rounding import RoundedPlan, round_plan
from planning.decision_notes import (
    annotate_futures_basis,
    growth_note,
    idle_futures_note,
    young_notices,
)
from planning.forecast_decision import IdleFuturesError, expected_outcome, forecast_problem, redate
from planning.future import MIN_WEEKS, FutureOptions, Futures, moved_keys, whole_weeks
from planning.hedging import annotate_hedges, hedge_sentences
from planning.holidays import holidays_note, without_year_end_holidays
from planning.increment import MIN_INCREMENT_PCT, below_min_increment
from planning.marginal import offer_marginal_savings, unmeasured_note
from planning.payment_options import payment_options
from planning.recency import (
    RECENCY_HALF_LIFE_DAYS,
    STOPPED_AFTER_DAYS,
    RecencyAdjustment,
    StoppedUsage,
    adjust_for_recency,
    annotate_explanations,
    drop_stopped_usage,
)
from planning.service_coverage import annotate_services, service_coverage_sentences
from planning.stress import (
    FamilyStress,
    family_stress,
    over_budget_note,
    purchase_family,
    stressed_count,
)
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment, Inventory
from usage.priced import without_unpriced_services
from usage.table import UsageMatrix, to_matrix

DEFAULT_LOOKBACK_DAYS: Final = 60
"""Cost Explorer's longest lookback, our default [days]."""

CONTINUOUS_SHARE: Final = 0.8
"""Share of the tolerance the fractional plan's solve is certified to; rounding to whole RIs and
AWS's Savings Plan steps may use the rest, so the billed plan meets the tolerance. The re-solve
around the whole RIs resumes the same cuts (:class:`optimizer.cutting_planes.CutState`), so what
the fractional solve leaves is finished there: at 1,000 keys × 8,760 h, 0.8 took 10 + 7
iterations where 0.5 took 20 + 1 (both billed within 0.08 %)."""

DECIDE_ON: Final = ("forecast", "lookback")
"""What the purchase decision is optimized on: the futures of :mod:`planning.future` over the
term (the default), or the lookback itself as if it repeated (Cost Explorer's way)."""


class RecommendationError(CommitoptInputError):
    """The optimizer found no plan for this input (an infeasible policy)."""


class EverythingStoppedError(CommitoptInputError):
    """Every key of the lookback stopped before its end (:mod:`planning.recency`): there is
    nothing to commit to."""


class SolverTimeLimitError(CommitoptEnvironmentError):
    """The solver stopped at its time limit without a usable plan (not the input's fault)."""


@dataclass(frozen=True)
class RecommendOptions:
    """How to solve.

    Attributes
    ----------
    exact, integer
        Solve the full LP / the mixed-integer model instead of certified cutting planes.
    tolerance
        Certified relative gap of the cutting planes [1].
    solver
        LP backend.
    time_limit_seconds
        Wall-time limit of each solve [s].
    export_path
        Write the full model there (``.lp`` / ``.mps``) for audit.
    ri_instance_type
        Buy RIs of this size instead of the family's smallest.
    lookback_days
        Days of usage, counted back from its last hour, that stand for the future [days].
    stopped_after_days
        Keys with no usage over this many days at the lookback's end have stopped, and nothing is
        bought for them (:mod:`planning.recency`); 0 counts their older usage [days].
    decide_on
        ``"forecast"``: choose the purchases that maximise the expected savings over the term on
        sampled futures (:mod:`planning.future`); ``"lookback"``: on the lookback as if it
        repeated. A policy with ladder tranches, a coverage ceiling or a minimum utilization,
        or a lookback shorter than two whole weeks, is decided on the lookback (with a note).
    future
        How the futures are drawn.
    recency_half_life_days
        Half-life of the weights that make recent weeks weigh more in the decision; fallen keys
        are counted at their recent level (:mod:`planning.recency`). 0 decides on the lookback as
        it ran (the old behaviour); infinity weighs every hour alike but still counts fallen keys
        at their recent level. The bill is always the real lookback's [days].
    min_increment_pct
        With commitments owned, purchases costing less per hour (effective, upfront spread over
        the term) than this share of what the owned commitments still active at the decision
        cost are not made (:data:`MIN_INCREMENT_PCT`); 0 buys any increment [%].
    stressed_families
        The families with the most family-specific cover bought whose move or retirement at the
        start of the term is billed (:mod:`planning.stress`); 0 bills none (a backtest's
        reviews, which read the purchases only); ``None``: three within
        :data:`planning.stress.STRESS_BUDGET_KEY_HOURS`, none above it (with a note).
    """

    exact: bool = False
    integer: bool = False
    tolerance: float = DEFAULT_TOLERANCE
    solver: str = "highs"
    time_limit_seconds: float | None = None
    export_path: Path | None = None
    ri_instance_type: str | None = None
    lookback_days: float = DEFAULT_LOOKBACK_DAYS
    stopped_after_days: float = STOPPED_AFTER_DAYS
    decide_on: str = "forecast"
    future: FutureOptions = field(default_factory=FutureOptions)
    recency_half_life_days: float = RECENCY_HALF_LIFE_DAYS
    min_increment_pct: float = MIN_INCREMENT_PCT
    stressed_families: int | None = None


@dataclass(frozen=True, eq=False)
class RecommendationRun:
    """Everything a recommendation produced.

    Attributes
    ----------
    policy, options
        What was asked.
    usage
        The lookback's usage (a matrix of hours × keys), as it ran and as it is billed.
    problem
        The reduced problem.
    result
        The optimizer's plan in model units, with its certificate.
    rounded
        The plan in whole RIs and AWS's SP steps (``None`` for ``--integer``, already whole).
    purchases
        The purchases to make.
    baseline, with_plan
        The lookback billed with the owned commitments only, and with the purchases too.
    explanations
        One row per purchase (same order): utilization, break-even, marginal saving, sentence.
    summary
        The money and Cost Explorer's figures, all from the simulator.
    portfolio
        The portfolio JSON payload.
    stopped
        The keys left out of the decision because their usage stopped (:mod:`planning.recency`).
    futures
        The futures the decision was taken on; ``None`` when it was taken on the lookback.
    notes
        What the reader should know about how the decision was taken.
    remarks
        What the explanations leave out (marginal savings the budget did not measure).
    held_back
        Why the increment found was not bought (below ``min_increment_pct``, or no key runs in
        any future: the note also in ``notes``), or ``None``.
    recency
        The usage the decision saw (recent weeks weighted more, fallen keys at their recent
        level) and each key's levels (:mod:`planning.recency`).
    young_levels
        The keys launched too recently to buy for
        (:attr:`planning.future.Futures.young_levels`), or ``None``.
    stress
        What the purchases would save if one of the families they hold the most
        family-specific cover for moved, or was retired, as they start
        (:func:`planning.stress.family_stress`).
    """

    policy: Policy
    options: RecommendOptions
    usage: UsageMatrix
    problem: CommitmentProblem
    result: OptimizationResult
    rounded: RoundedPlan | None
    purchases: tuple[Commitment, ...]
    baseline: SimulationResult
    with_plan: SimulationResult
    explanations: pd.DataFrame
    summary: dict[str, Any]
    portfolio: dict[str, Any]
    stopped: StoppedUsage
    recency: RecencyAdjustment
    futures: Futures | None = None
    notes: tuple[str, ...] = ()
    remarks: tuple[str, ...] = ()
    held_back: str | None = None
    young_levels: pd.DataFrame | None = None
    stress: tuple[FamilyStress, ...] = ()

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the user should read beside the plan: the stopped and fallen keys, the keys
        launched too recently to buy for, the model's and the bill's warnings, and what the
        explanations could not measure."""
        return (
            *self.stopped.notices(),
            *self.recency.notices(),
            *young_notices(self.young_levels),
            *self.problem.warnings,
            *self.with_plan.warnings,
            *self.remarks,
        )


def _span_text(hours: pd.DatetimeIndex) -> str:
    """``from 2024-01-01 00:00 to 2024-03-01 23:00 UTC`` (``in it`` for no hours)."""
    if not len(hours):
        return "in it"
    return f"from {hours[0]:%Y-%m-%d %H:%M} to {hours[-1]:%Y-%m-%d %H:%M} UTC"


@overload
def lookback_window(usage: pd.DataFrame, days: float) -> pd.DataFrame: ...
@overload
def lookback_window(usage: UsageMatrix, days: float) -> UsageMatrix: ...
def lookback_window(usage: pd.DataFrame | UsageMatrix, days: float) -> pd.DataFrame | UsageMatrix:
    """The last ``days`` of ``usage`` (whole hours, ending with its last hour).

    A matrix keeps the keys with usage in the window (a key used only before it has nothing to
    price or bill there).
    """
    if not np.isfinite(days) or days <= 0:
        raise CommitoptInputError(
            f"{param('lookback_days')} must be a positive number of days, not {days}"
        )
    if isinstance(usage, UsageMatrix):
        window = usage.last_hours(round(days * 24))
        return window.select_keys(np.asarray(window.quantity.any(axis=0), dtype=bool))
    if usage.empty:
        return usage
    last = pd.Timestamp(usage["hour"].max())
    first = last - pd.Timedelta(hours=round(days * 24) - 1)
    kept = usage.loc[usage["hour"] >= first].reset_index(drop=True)
    kept.attrs = dict(usage.attrs)
    return kept


def _owned_items(owned: Inventory | Sequence[Commitment]) -> tuple[Commitment, ...]:
    return owned.commitments if isinstance(owned, Inventory) else tuple(owned)


def _check_result(result: OptimizationResult) -> None:
    if result.status in (OptimizationStatus.OPTIMAL, OptimizationStatus.GAP_NOT_REACHED):
        return
    if result.status is OptimizationStatus.TIME_LIMIT:
        raise SolverTimeLimitError(result.message)
    raise RecommendationError(result.message)


def _decision_problem(
    usage: UsageMatrix,
    catalog: PriceCatalog,
    policy: Policy,
    owned: tuple[Commitment, ...],
    options: RecommendOptions,
    as_ran: UsageMatrix | None = None,
) -> tuple[CommitmentProblem, Futures | None, tuple[str, ...], Futures | None]:
    """The reduced problem the decision is taken on: over the futures, or over the lookback;
    its futures (``None`` on the lookback); notes; and, when no key runs in any future, those
    idle futures (nothing is bought: the lookback's problem stands in for the bill's figures).
    ``as_ran``: the lookback before the recency adjustment, where moves under way show."""
    if options.decide_on not in DECIDE_ON:
        raise CommitoptInputError(
            f"{param('decide_on')} {options.decide_on!r}: give one of {', '.join(DECIDE_ON)}"
        )
    if options.future.known_changes is not None and (
        options.decide_on == "lookback" or policy.ladder_tranches > 1
    ):
        raise CommitoptInputError(
            f"{param('known_changes')} applies changes known in advance to the futures the "
            f"decision is taken on; it cannot be combined with {param('decide_on')} lookback or "
            "a laddered policy: leave out one of them"
        )
    if options.decide_on == "lookback" or policy.ladder_tranches > 1:
        return build_problem(usage, catalog, policy, owned=owned), None, (), None
    if policy.coverage_ceiling is not None or policy.min_utilization:
        # neither is convex in the commitments under AWS's order: only the full LP holds them,
        # and the full LP over every future would take minutes
        note = (
            "decided on the lookback: a coverage ceiling or a minimum utilization needs the full "
            "LP, which over the futures is too large"
        )
        return (
            build_problem(usage, catalog, policy, owned=owned),
            None,
            _unplanned(note, options),
            None,
        )
    if whole_weeks(usage) < MIN_WEEKS:
        note = (
            f"decided on the lookback: it has fewer than {MIN_WEEKS} whole weeks of usage, "
            "too few to sample futures from"
        )
        return (
            build_problem(usage, catalog, policy, owned=owned),
            None,
            _unplanned(note, options),
            None,
        )
    future = replace(options.future, half_life_days=options.recency_half_life_days)
    try:
        decision = forecast_problem(usage, catalog, policy, owned, future, as_ran=as_ran)
    except IdleFuturesError as idle:
        return build_problem(usage, catalog, policy, owned=owned), None, (), idle.futures
    return decision.problem, decision.futures, (), None


def _unplanned(note: str, options: RecommendOptions) -> tuple[str, ...]:
    """A fallback to the lookback's note, saying so when known changes go unapplied."""
    if options.future.known_changes is None:
        return (note,)
    return (f"{note}; the changes known in advance are not applied",)


def _decision_summary(
    futures: Futures | None,
    purchases: Sequence[Commitment],
    owned: tuple[Commitment, ...],
    catalog: PriceCatalog,
    policy: Policy,
    next_review_hours: float | None,
) -> dict[str, Any]:
    """How the decision was taken and, on futures, what the purchases are expected to save."""
    if futures is None:
        return {"basis": "lookback"}
    outcome = expected_outcome(
        futures, purchases, owned, catalog, discount_rate=policy.discount_rate
    )
    return {
        "basis": "forecast",
        **outcome,
        "risen_keys": futures.risen,
        "dropped_keys": futures.dropped,
        "ramped_keys": futures.ramped,
        "levelled_keys": futures.levelled,
        "growing_keys": futures.growing,
        "young_keys": 0 if futures.young_levels is None else len(futures.young_levels),
        "next_review_hours": next_review_hours,
    }


def _bounded_by(progress: ProgressCallback | None, lower_usd: float) -> ProgressCallback | None:
    """``progress`` with each lower bound raised to ``lower_usd``: the plan's own bound, which
    bounds a re-solve with some offers fixed too (its master starts without it) [USD]."""
    if progress is None:
        return None
    report = progress

    def update(iteration: int, lower: float, upper: float) -> None:
        report(iteration, max(lower, lower_usd), upper)

    return update


def optimizer_summary(
    result: OptimizationResult, rounded: RoundedPlan | None, tolerance: float
) -> dict[str, Any]:
    """How the plan was solved, with the certificate of the plan that is billed.

    ``upper_bound_usd`` is the bought plan (whole RIs, Savings Plans in AWS's steps) billed by
    the model; ``certified_gap_pct`` its distance to the lower bound, which bounds every plan,
    fractional or whole. ``status`` is ``optimal`` when that gap is within ``tolerance`` (or the
    solve was exact), ``gap_not_reached`` otherwise, with the fractional plan's own gap in
    ``continuous_gap_pct``.
    """
    billed = rounded.result if rounded is not None else result
    gap = billed.relative_gap
    solved = result.status in (OptimizationStatus.OPTIMAL, OptimizationStatus.GAP_NOT_REACHED)
    exact = result.method.startswith("exact") and result.status is OptimizationStatus.OPTIMAL
    # the fractional solve may stop short of half the tolerance (its bounds stalled): what
    # counts is the billed plan's gap
    certified = exact or (solved and gap <= tolerance)
    status = OptimizationStatus.OPTIMAL if certified else OptimizationStatus.GAP_NOT_REACHED
    return {
        "status": str(status),
        "method": result.method,
        "solver": result.solver,
        "solve_seconds": round(billed.seconds, 3),
        "iterations": int(billed.iterations),
        "lower_bound_usd": round(result.lower_bound_usd, 2),
        "upper_bound_usd": round(billed.upper_bound_usd, 2),
        "certified_gap_pct": round(100 * gap, 4),
        "continuous_gap_pct": round(100 * result.relative_gap, 4),
        "tolerance_pct": round(100 * tolerance, 4),
        "rounding_cost_usd": round(rounded.rounding_cost_usd, 2) if rounded else 0.0,
    }


def summarize(
    baseline: SimulationResult,
    with_plan: SimulationResult,
    purchases: Sequence[Commitment],
) -> dict[str, Any]:
    """The recommendation's figures, from two simulations of the same usage.

    Every name is defined in ``docs/glossary.md``: *current* is the usage billed with the owned
    commitments only, *planned* with the purchases added; each savings figure says what it is
    measured against. Cost Explorer's own names and definitions are repeated in the
    ``cost_explorer`` block, for comparison with its recommendations.
    """
    totals = with_plan.totals
    before = baseline.totals
    hours = max(totals.period_hours, 1)
    months = hours / HOURS_PER_MONTH
    new_ids = {p.id for p in purchases}
    new = with_plan.instruments.loc[with_plan.instruments["id"].isin(new_ids)]
    new_cost = float(new["cost_usd"].sum())
    new_used = float(new["used_cost_usd"].sum())
    savings_vs_current = before.actual_cost_usd - totals.actual_cost_usd
    upfront = float(sum(p.upfront_usd for p in purchases))
    effective_per_hour = float(
        sum(
            (p.commitment_usd_per_hour or 0.0)
            if p.is_savings_plan
            else (p.effective_usd_per_hour or 0.0)
            for p in purchases
        )
    )
    monthly_savings = savings_vs_current / months
    break_even = round(upfront / monthly_savings, 2) if upfront > 0 and monthly_savings > 0 else 0.0
    purchases_utilization = round(100 * new_used / new_cost, 3) if new_cost > 0 else 0.0

    def share(part: float, whole: float) -> float:
        return round(100 * part / whole, 3) if whole > 0 else 0.0

    return {
        "period_start": with_plan.hours[0].isoformat() if len(with_plan.hours) else None,
        "period_hours": totals.period_hours,
        "on_demand_cost_usd": round(totals.on_demand_cost_usd, 2),
        "current_cost_usd": round(before.actual_cost_usd, 2),
        "planned_cost_usd": round(totals.actual_cost_usd, 2),
        "savings_vs_current_usd": round(savings_vs_current, 2),
        "savings_vs_current_pct": share(savings_vs_current, before.actual_cost_usd),
        "savings_vs_current_usd_per_month": round(monthly_savings, 2),
        "savings_vs_on_demand_usd": round(totals.savings_vs_on_demand_usd, 2),
        "savings_vs_on_demand_pct": round(totals.savings_vs_on_demand_pct, 3),
        "current_coverage_pct": round(before.coverage_pct, 3),
        "coverage_pct": round(totals.coverage_pct, 3),
        "utilization_pct": round(totals.utilization_pct, 3),
        "purchases_utilization_pct": purchases_utilization,
        "upfront_usd": round(upfront, 2),
        "effective_usd_per_hour": round(effective_per_hour, 5),
        "current_run_rate_usd_per_month": round(before.run_rate_usd_per_month, 2),
        "run_rate_usd_per_month": round(totals.run_rate_usd_per_month, 2),
        "break_even_months": break_even,
        "cost_explorer": {
            "HourlyCommitmentToPurchase": round(effective_per_hour, 5),
            "EstimatedSavingsAmount": round(savings_vs_current, 2),
            "EstimatedMonthlySavingsAmount": round(monthly_savings, 2),
            "EstimatedSavingsPercentage": share(savings_vs_current, before.uncovered_cost_usd),
            "EstimatedROI": share(savings_vs_current, new_cost),
            "EstimatedAverageUtilization": purchases_utilization,
            "EstimatedBreakEvenInMonths": break_even,
        },
    }


def recommend(
    usage: pd.DataFrame | UsageMatrix,
    catalog: PriceCatalog,
    policy: Policy,
    *,
    owned: Inventory | Sequence[Commitment] = (),
    options: RecommendOptions | None = None,
    progress: Callable[[int, float, float], None] | None = None,
) -> RecommendationRun:
    """Recommend the purchases that minimise the expected cost of the lookback's usage.

    Parameters
    ----------
    usage
        Canonical usage table, or its :class:`~usage.table.UsageMatrix` (validated once here
        and passed through as a matrix); its last ``options.lookback_days`` stand for the future.
    catalog
        Prices of every key, and RI / SP offerings.
    policy
        What may be bought, and the limits.
    owned
        Commitments already owned (fixed capacity while active).
    options
        How to solve; defaults to :class:`RecommendOptions`.
    progress
        Called with (iteration, lower bound, upper bound) while cutting planes run, the
        rounding's re-solves included (their lower bounds at least the plan's); a
        :class:`~optimizer.optimize.StagedProgress` is told when the rounding begins.

    Raises
    ------
    core.errors.CommitoptInputError
        For bad input (no usage, keys without prices, a contradictory policy) and for a policy
        the optimizer finds infeasible (the message names the binding limit).
    """
    options = options or RecommendOptions()
    matrix = usage if isinstance(usage, UsageMatrix) else to_matrix(usage, source="usage")
    matrix, unpriced = without_unpriced_services(matrix, catalog, what="the recommendation")
    window = lookback_window(matrix, options.lookback_days)
    if window.total_instance_hours <= 0 and unpriced:
        raise CommitoptInputError(f"nothing to recommend on: {unpriced[0]}")
    if window.total_instance_hours <= 0:
        raise CommitoptInputError(
            f"the {options.lookback_days:g}-day lookback has no usage: every quantity "
            f"{_span_text(window.hours)} is 0; give "
            f"usage with running instances ({param('usage_files')} FILE, or `commitopt usage "
            f"import`), or lengthen {param('lookback_days')}"
        )
    # the year-end holidays are no level to buy for (planning.holidays): the decision's input
    # only, as the recency adjustment below; the bill is the real lookback's (`window`)
    decided_window, holiday_hours_replaced = without_year_end_holidays(window)
    running = drop_stopped_usage(decided_window, options.stopped_after_days, options.lookback_days)
    if float(running.usage.quantity.sum()) <= 0:
        raise EverythingStoppedError(
            f"no key has usage in the last {running.recent_hours / 24:g} days of the lookback: "
            "the workloads stopped, so there is nothing to commit to; set "
            f"{param('stopped_after_days')} to 0 to recommend on their older usage anyway"
        )
    # --- recency (planning.recency): the lookback as the decision sees it ------------------
    # Recent weeks weigh more, fallen keys count at their recent level; only the decision's
    # input changes: the bill below is the real lookback's (`window`).
    # On futures the recent weeks are weighted by the futures' draws (planning.future), so
    # the adjustment only counts fallen keys at their recent level (infinite half-life).
    on_futures = options.decide_on == "forecast" and options.recency_half_life_days > 0
    recency = adjust_for_recency(
        running.usage,
        recent_hours=running.recent_hours,
        half_life_days=np.inf if on_futures else options.recency_half_life_days,
    )
    # -----------------------------------------------------------------------------------------
    if on_futures and isinstance(running.usage, UsageMatrix):
        # a fleet moved in the last days is not young: found before the adjustment hides it
        moved = moved_keys(running.usage)
        options = replace(options, future=replace(options.future, moved_keys=moved))
    owned_items = _owned_items(owned)
    decision_usage = recency.usage
    assert isinstance(decision_usage, UsageMatrix)  # a matrix in, a matrix out
    as_ran = running.usage if isinstance(running.usage, UsageMatrix) else None
    problem, futures, notes, idle = _decision_problem(
        decision_usage, catalog, policy, owned_items, options, as_ran
    )
    notes = (*unpriced, *notes)
    if holiday_hours_replaced:
        notes = (*notes, holidays_note(holiday_hours_replaced))
    ahead = options.future.next_review_hours
    if futures is not None and futures.growing:  # none when held at today's level
        notes = (*notes, growth_note(futures.growing, whole_weeks(decision_usage), ahead))
    result = optimize(
        problem,
        exact=options.exact,
        integer=options.integer,
        # the certificate is the billed plan's: the fractional plan gets most of it, the
        # rounding the rest (optimizer.rounding.round_plan)
        tolerance=CONTINUOUS_SHARE * options.tolerance,
        solver=options.solver,
        time_limit_seconds=options.time_limit_seconds,
        export_path=options.export_path,
        progress=progress,
    )
    _check_result(result)
    rounded: RoundedPlan | None = None
    units = result.units
    if not options.integer:

        def reoptimize(
            fixed: CommitmentProblem,
            stop_below_usd: float | None = None,
            stop_above_usd: float | None = None,
            max_iterations: int = MAX_ITERATIONS,
            start_units: FloatArray | None = None,
        ) -> OptimizationResult:
            # the cuts of the plan's solve bound the fixed problems too
            resume = result if start_units is None else replace(result, units=start_units)
            return optimize(
                fixed,
                exact=options.exact,
                tolerance=CONTINUOUS_SHARE * options.tolerance,
                solver=options.solver,
                time_limit_seconds=options.time_limit_seconds,
                progress=_bounded_by(progress, result.lower_bound_usd),
                resume_from=resume,
                stop_below_usd=stop_below_usd,
                stop_above_usd=stop_above_usd,
                max_iterations=max_iterations,
            )

        if isinstance(progress, StagedProgress):
            progress.stage("rounding to whole RIs")

        rounded = round_plan(
            problem,
            result,
            reoptimize,
            ri_instance_type=options.ri_instance_type,
            tolerance=options.tolerance,
        )
        units = rounded.units
    result = replace(result, resume=None)  # the master and its cuts are not needed any more
    purchases = purchases_from_units(problem, units, ri_instance_type=options.ri_instance_type)
    if idle is not None:
        below: str | None = idle_futures_note(idle.young_levels)
    else:
        below = below_min_increment(
            purchases, owned_items, window, catalog, options.min_increment_pct
        )
    if below is not None:
        units, purchases, notes = np.zeros_like(units), (), (*notes, below)
    if futures is not None:
        # decided on the futures' clock; billed (and bought) from the lookback's first hour
        purchases = redate(purchases, pd.Timestamp(window.hours[0]))
    # --- marginal savings: the bill's finite difference per purchase (planning.marginal) ---
    marginal = offer_marginal_savings(
        problem,
        units,
        window,
        purchases,
        catalog,
        owned=owned_items,
    )
    # --- end of marginal savings ---
    explanations = explain(
        problem,
        units,
        marginal_usd=marginal,
        ri_instance_type=options.ri_instance_type,
        **({} if futures is None else futures.explained_period()),
    )
    explanations = annotate_explanations(explanations, recency)
    if futures is not None:
        explanations = annotate_futures_basis(
            explanations,
            futures.risen_levels,
            futures.growing_levels,
            options.future.next_review_hours,
        )
    # the two bills last: each holds hours × keys arrays (a year of 1,000 keys: 340 MiB for
    # both), which the finite differences and the explanations need not share memory with
    baseline = simulate(window, owned_items, catalog, discount_rate=policy.discount_rate)
    with_plan = simulate(
        window, (*owned_items, *purchases), catalog, discount_rate=policy.discount_rate
    )
    explanations = annotate_hedges(
        explanations,
        hedge_sentences(
            purchases,
            with_plan,
            catalog,
            futures,
            risk_weight=problem.cvar_weight,
            risk_level=problem.cvar_alpha,
        ),
    )
    explanations = annotate_services(explanations, service_coverage_sentences(purchases, with_plan))
    summary = summarize(baseline, with_plan, purchases)
    summary["stopped_keys"] = [
        {**row, "last_used": pd.Timestamp(row["last_used"]).isoformat()}
        for row in running.stopped.to_dict("records")
    ]
    summary["fallen_keys"] = recency.fallen_records()
    # --- the stress test: a family that moves or is retired as the purchases start ---------
    n_keys, n_hours = len(window.keys), len(window.hours)
    stressed = stressed_count(options.stressed_families, n_keys, n_hours)
    stress = tuple(
        family_stress(
            window,
            purchases,
            owned_items,
            catalog,
            with_plan,
            discount_rate=policy.discount_rate,
            count=stressed,
        )
    )
    if options.stressed_families is None and not stressed and any(map(purchase_family, purchases)):
        notes = (*notes, over_budget_note(n_keys, n_hours))
    summary["stress"] = [item.as_record() for item in stress]
    sampled = futures if idle is None else idle
    summary["decided_on"] = _decision_summary(
        sampled, purchases, owned_items, catalog, policy, options.future.next_review_hours
    )
    if notes:
        summary["decided_on"]["notes"] = list(notes)
    plan = options.future.known_changes
    if plan is not None and futures is not None:
        summary["decided_on"]["known_changes"] = {
            "plan": plan.source or plan.name,
            "transforms": len(plan.transforms),
            "skipped": list(futures.known_changes_skipped),
        }
    summary["optimizer"] = optimizer_summary(result, rounded, options.tolerance)
    # --- issue 16 item 4: what All and Partial Upfront would add for the same purchases ---
    summary["payment_options"] = payment_options(
        purchases, catalog, discount_rate=float(policy.discount_rate)
    )
    # --- end payment options ---
    portfolio = purchases_to_portfolio_json(purchases, summary=summary, explanations=explanations)
    for item in portfolio["purchases"]:
        if item.get("tranche", 0) == 0:
            # "Buy now": the purchase starts with whatever period it is billed over.
            item.pop("start", None)
            item.pop("end", None)
    portfolio["as_of"] = pd.Timestamp.now(tz=UTC).isoformat()
    return RecommendationRun(
        policy=policy,
        options=replace(options),
        usage=window,
        problem=problem,
        result=result,
        rounded=rounded,
        purchases=purchases,
        baseline=baseline,
        with_plan=with_plan,
        explanations=explanations,
        summary=summary,
        portfolio=portfolio,
        stopped=running,
        futures=futures,
        notes=notes,
        held_back=below,
        recency=recency,
        young_levels=None if sampled is None else sampled.young_levels,
        stress=stress,
        remarks=unmeasured_note(
            explanations["marginal_savings_usd_per_unit"].to_numpy(dtype=np.float64)
        ),
    )


__all__ = [
    "DEFAULT_LOOKBACK_DAYS",
    "EverythingStoppedError",
    "RecommendOptions",
    "RecommendationError",
    "RecommendationRun",
    "SolverTimeLimitError",
    "lookback_window",
    "recommend",
    "summarize",
]
