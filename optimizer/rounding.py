"""Whole RIs and AWS's Savings Plan steps: round a continuous plan and say what it cost.

The linear program buys fractions of normalized units and of cents per hour; AWS sells whole RIs
and Savings Plans in steps of 0.001 USD/h. :func:`round_plan`:

1. rounds each RI offer to the nearest whole number of instances (of the pool's
   ``purchase_instance_type``, or of a chosen size in the family), within the offer's bounds,
   then, without a chosen size, to whole instances of a size the account runs (the largest that
   makes the count exactly, else the one losing the fewest units; never more units);
2. fixes every RI offer at that quantity (lower = upper bound on a copy of the problem) and
   re-optimizes the Savings Plans around them with the solver the caller passes; if the
   nearest counts leave the policy infeasible (a cap, a minimum utilization), it rounds the RIs
   down instead and tries again;
3. rounds every Savings Plan commitment *down* to AWS's step;
4. bills the rounded plan and reports the rounding cost: objective after − objective before;
5. equal prices, flexible choice: when a bought pool gives way to a more flexible one of (nearly)
   the same cost (:mod:`optimizer.flexibility`), leaves it unbought, re-optimizes the Savings
   Plans around that and keeps the result when its billed objective is within
   :data:`~optimizer.flexibility.FLEXIBILITY_TOLERANCE_PCT` of the swapped offers' cost of step 4.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

import numpy as np

from core.errors import CommitoptInputError, param
from optimizer.allocation import bill
from optimizer.cvar import risk_of
from optimizer.flexibility import (
    FLEXIBILITY_TOLERANCE_PCT,
    flexible_preferences,
    moved_to_preferred,
    rebalanced,
)
from optimizer.problem import RI_POOL, BoolArray, CommitmentProblem, FloatArray
from optimizer.purchases import SP_STEP_USD, purchase_sizes, run_size_choice, sp_commitment
from optimizer.result import OptimizationResult, OptimizationStatus

Reoptimize = Callable[..., OptimizationResult]
"""Solves a problem (the caller's method: exact LP or certified cutting planes). Called with the
problem alone, or, when :func:`round_plan` is given a ``tolerance``, also with the keywords
``stop_below_usd``, ``stop_above_usd`` and ``max_iterations`` of
:func:`optimizer.optimize.optimize`, and for the flexible swap ``start_units``: the plan to start
the re-solve from (units per offer) instead of the continuous plan."""

SWAP_ITERATIONS: Final = 3
"""Most cutting-plane iterations of the flexible swap's re-solve (with a ``tolerance``): it only
has to find a plan within the swap's allowance; one it cannot find quickly keeps the plain
rounding (at 300 keys on 40 futures the full re-solve took 13 iterations, 56 s; at 1,000 keys
five iterations took 94 s and found none)."""

ROUNDING_ITERATIONS: Final = 4
"""Most cutting-plane iterations of the whole-RI re-solve (with a ``tolerance``). Its plan, the
Savings Plans moved by what the rounding moved, usually meets :data:`ROUNDING_SHARE` of the
certificate at once (0 iterations at 1,000 keys on 40 futures); when it does not, the re-solve
would go on until it certifies the fixed problem on its own, its master growing every
iteration: at 3,000 keys it took 15 iterations and 933 s (of a 1,394-s run), and the flexible
swap then replaced its plan anyway. Capped, the billed plan says its certificate as it is
(``gap_not_reached`` beyond the tolerance)."""

ROUNDING_SHARE: Final = 0.9
"""Share of the tolerance the whole-RI re-solve may use up; the rest is left for the Savings
Plans' steps."""

Evaluate = Callable[[CommitmentProblem, FloatArray], float]
"""Model objective of a plan billed with the greedy rule [USD]."""

_USABLE: Final = (OptimizationStatus.OPTIMAL, OptimizationStatus.GAP_NOT_REACHED)
_SAME: Final = 1e-9


class RoundingError(CommitoptInputError):
    """Whole RIs cannot satisfy the policy (solve the mixed-integer model instead)."""


@dataclass(frozen=True, eq=False)
class RoundedPlan:
    """A plan in whole RIs and AWS's Savings Plan steps.

    Attributes
    ----------
    units
        Units bought of each offer (``problem.offers`` order) [units]: whole instances for RIs,
        multiples of the step for Savings Plans.
    result
        The rounded plan as an :class:`OptimizationResult`: ``units``, ``objective_usd`` (the
        rounded plan billed), the continuous problem's lower bound (still a bound on any whole
        plan), ``method`` suffixed ``+rounding``.
    objective_before_usd
        Objective of the continuous plan (``result.objective_usd`` of the solve) [USD].
    objective_after_usd
        Objective of the rounded plan, billed with the greedy rule [USD].
    rounding_cost_usd
        After − before [USD]; ≥ 0 when the continuous plan was optimal, slightly negative
        possible within a cutting-plane certificate's gap.
    relative_rounding_cost
        ``rounding_cost_usd`` ÷ |before| [1].
    reoptimized
        Whether the Savings Plans were re-optimized around the whole RIs.
    notes
        What was done, in plain sentences.
    """

    units: FloatArray
    result: OptimizationResult
    objective_before_usd: float
    objective_after_usd: float
    rounding_cost_usd: float
    relative_rounding_cost: float
    reoptimized: bool
    notes: tuple[str, ...] = ()


def greedy_objective(problem: CommitmentProblem, units: FloatArray) -> float:
    """The model objective of ``units`` billed with the greedy rule [USD].

    Cost of scenario s = Σ objective rate × units + owned cost + Σ_{t in s} w_t f_t × uncovered
    on-demand USD/h + uncoverable cost; objective = Σ p_s cost_s + λ CVaR_α(cost_s − reference_s)
    (:meth:`~optimizer.problem.CommitmentProblem.risk_costs`).
    """
    units = np.asarray(units, dtype=np.float64)
    # the greedy alone: no prices, no per-unit use (a third of a full bill's time)
    uncovered = bill(problem, units, prices=False, usage=False).uncovered_total
    per_period = problem.period_weight * problem.period_discount * uncovered
    n_scenarios = len(problem.scenario_probability)
    on_demand = np.bincount(problem.period_scenario, weights=per_period, minlength=n_scenarios)
    fixed = (
        float(problem.offers["objective_usd_per_unit"].to_numpy(dtype=np.float64) @ units)
        + problem.owned_cost_usd
        + problem.uncoverable_cost_usd
    )
    costs = np.asarray(fixed + on_demand, dtype=np.float64)
    objective = float(problem.scenario_probability @ costs)
    if problem.cvar_weight > 0:
        objective += problem.cvar_weight * risk_of(problem, costs)[0]
    return objective


def whole_ri_units(
    problem: CommitmentProblem,
    units: FloatArray,
    *,
    ri_instance_type: str | None = None,
    down: bool = False,
) -> FloatArray:
    """RI offers rounded to whole instances, within their bounds; other offers unchanged.

    Parameters
    ----------
    problem
        The reduced problem.
    units
        Units of each offer [units].
    ri_instance_type
        Size bought (see :func:`optimizer.purchases.check_ri_instance_type`). Default: whole
        instances of the pool's purchase type (the family's smallest size), then of a size the
        account runs (:func:`optimizer.purchases.run_size_choice`): the largest that makes
        that count exactly, else the one that loses the fewest units (rounded down).
    down
        Round down instead of to the nearest count.

    Returns
    -------
    numpy.ndarray
        The units, RI offers at count × units per instance: the nearest (or lower) count,
        lowered to fit the upper bound or raised to reach the lower bound where one exists.
    """
    units = np.asarray(units, dtype=np.float64)
    pool = problem.offers["pool"].to_numpy(dtype=np.intp)
    is_ri = (problem.pools["kind"] == RI_POOL).to_numpy(dtype=bool)[pool]
    _, per_pool = purchase_sizes(problem, ri_instance_type=ri_instance_type)
    size = per_pool[pool]
    lower = problem.offers["lower_bound_units"].to_numpy(dtype=np.float64)
    upper = problem.offers["upper_bound_units"].to_numpy(dtype=np.float64)
    quotient = np.maximum(units, 0.0) / size
    counts = np.floor(quotient + _SAME) if down else np.rint(quotient)
    counts = np.minimum(counts, np.floor(upper / size + _SAME))
    counts = np.maximum(counts, np.ceil(lower / size - _SAME)) + 0.0  # no -0.0
    whole = np.where(is_ri, counts * size, units)
    if ri_instance_type is not None:
        return whole
    # The sizes the account runs: whole instances of one of them, never more units.
    _, run_size = run_size_choice(problem, whole, exact_only=False)
    in_run_size = np.floor(whole / run_size + _SAME) * run_size
    return np.where(is_ri, in_run_size, whole)


def _fix(problem: CommitmentProblem, units: FloatArray, mask: np.ndarray) -> CommitmentProblem:
    offers = problem.offers.copy()
    offers.loc[mask, "lower_bound_units"] = units[mask]
    offers.loc[mask, "upper_bound_units"] = units[mask]
    return replace(problem, offers=offers)


def round_plan(
    problem: CommitmentProblem,
    result: OptimizationResult,
    reoptimize: Reoptimize,
    *,
    ri_instance_type: str | None = None,
    sp_step_usd: float = SP_STEP_USD,
    evaluate: Evaluate | None = None,
    prefer_flexible: bool = True,
    tolerance: float | None = None,
) -> RoundedPlan:
    """Round a continuous plan to whole RIs and Savings Plan steps, re-optimizing around them.

    Savings Plan commitments are rounded *down* to ``sp_step_usd``: a smaller commitment never
    breaks a cap (maximum hourly commitment, maximum upfront cash, coverage ceiling) and only
    raises utilization, so a minimum-utilization floor still holds, whereas rounding up could
    break any of them. The price is at most one step per plan: a commitment lower by δ < 0.001
    USD/h costs at most δ × (1 ÷ coverage ratio − 1) per hour of on-demand usage it no longer
    covers, which is less than 0.001 USD/h per plan.

    Parameters
    ----------
    problem
        The problem ``result`` solves.
    result
        The continuous plan.
    reoptimize
        Solves the problem with the RIs fixed (the caller's method; e.g. the exact LP or the
        cutting planes); it also says whether the whole RIs satisfy the policy. Not called
        when rounding leaves every RI unchanged.
    ri_instance_type
        Whole RIs of this size (see :func:`optimizer.purchases.check_ri_instance_type`); default
        a size the account runs (see :func:`whole_ri_units`).
    sp_step_usd
        AWS's Savings Plan step [USD/h].
    evaluate
        Objective of a plan billed with the greedy rule [USD]; default :func:`greedy_objective`
        (equal to ``optimizer.allocation.evaluate(problem, units).objective_usd``, which also
        computes subgradients and so takes about three times as long).
    prefer_flexible
        Leave pools that give way to a more flexible one of (nearly) the same cost unbought
        (step 5 of the module docstring); ``False`` rounds the plan as the solver chose it.
    tolerance
        The certificate the *billed* plan should meet against ``result``'s lower bound (a
        bound on every whole plan too) [1]: the re-solves stop once their plan meets
        :data:`ROUNDING_SHARE` of it (the whole-RI one after at most
        :data:`ROUNDING_ITERATIONS`, the swap's after :data:`SWAP_ITERATIONS`), and a flexible
        swap is kept only within it (or when it costs no more than the plain rounding).
        ``None``: the re-solves certify their own problems and the swap is judged by its own
        tolerance alone.

    Returns
    -------
    RoundedPlan

    Raises
    ------
    RoundingError
        When no whole-RI plan satisfies the policy (nearest counts and counts rounded down
        both infeasible): the message names the solver's reason and suggests ``--integer``.
    """
    evaluate = evaluate or greedy_objective
    units = np.asarray(result.units, dtype=np.float64)
    if units.shape != (problem.n_offers,):
        raise RoundingError(
            f"the plan has {units.size} quantities but the problem has {problem.n_offers} offers"
        )
    pool = problem.offers["pool"].to_numpy(dtype=np.intp)
    is_ri = (problem.pools["kind"] == RI_POOL).to_numpy(dtype=bool)[pool]
    certified_usd = _certified_cost(result, tolerance)
    whole = _whole_ris(
        problem,
        result,
        reoptimize,
        is_ri,
        ri_instance_type,
        _certified_cost(result, tolerance, ROUNDING_SHARE),
    )
    final, notes = _stepped(problem, units, whole, is_ri, sp_step_usd)
    before = float(result.objective_usd)
    after = float(evaluate(problem, final))
    flexible = (
        _flexible_swap(
            problem,
            result,
            reoptimize,
            is_ri,
            final,
            after,
            ri_instance_type,
            sp_step_usd,
            evaluate,
            certified_usd,
        )
        if prefer_flexible
        else None
    )
    if flexible is not None:
        whole, final, notes, after = flexible
    cost = after - before
    return RoundedPlan(
        units=final,
        result=_rounded_result(result, whole, final, after, sp_step_usd),
        objective_before_usd=before,
        objective_after_usd=after,
        rounding_cost_usd=cost,
        relative_rounding_cost=cost / max(abs(before), 1e-9),
        reoptimized=whole.reoptimized,
        notes=tuple(notes),
    )


def _certified_cost(
    result: OptimizationResult, tolerance: float | None, share: float = 1.0
) -> float | None:
    """The most a plan may cost for ``share`` of ``tolerance`` against ``result``'s lower bound
    [USD]; ``None`` without a tolerance or a finite bound."""
    lower = float(result.lower_bound_usd)
    if tolerance is None or not np.isfinite(lower):
        return None
    allowed_gap = share * tolerance
    return lower / (1.0 - allowed_gap) if lower >= 0 else lower * (1.0 - allowed_gap)


@dataclass(frozen=True, eq=False)
class _WholeRis:
    """The plan with whole RIs and the Savings Plans re-optimized around them."""

    units: FloatArray
    """Units of each offer: whole RIs, continuous Savings Plans [units]."""
    solve: OptimizationResult
    """The re-optimization's result (the continuous plan's when nothing changed)."""
    reoptimized: bool
    notes: tuple[str, ...]


def _whole_ris(
    problem: CommitmentProblem,
    result: OptimizationResult,
    reoptimize: Reoptimize,
    is_ri: BoolArray,
    ri_instance_type: str | None,
    good_enough_usd: float | None = None,
) -> _WholeRis:
    """Round the RIs to the nearest whole counts (down when those leave the policy infeasible)
    and re-optimize the Savings Plans around them, unless no RI moved; the re-solve may stop
    at a plan costing ``good_enough_usd``.

    Raises
    ------
    RoundingError
        When both the nearest and the lower counts are infeasible.
    """
    units = np.asarray(result.units, dtype=np.float64)
    notes: list[str] = []
    rounded = whole_ri_units(problem, units, ri_instance_type=ri_instance_type)
    if not bool(np.any(np.abs(rounded - units)[is_ri] > _SAME)):
        return _WholeRis(rounded, result, False, ())

    def stops(whole: FloatArray) -> dict[str, float | FloatArray]:
        if good_enough_usd is None:
            return {}
        # the Savings Plans moved by what the rounding moved (a start near the re-solve's
        # optimum: a few iterations instead of seven at 1,000 keys)
        start = rebalanced(problem, units, whole, is_ri)
        return {
            "stop_below_usd": good_enough_usd,
            "start_units": start,
            "max_iterations": ROUNDING_ITERATIONS,
        }

    after_solve = reoptimize(_fix(problem, rounded, is_ri), **stops(rounded))
    if after_solve.status not in _USABLE:
        first = after_solve.message
        rounded = whole_ri_units(problem, units, ri_instance_type=ri_instance_type, down=True)
        after_solve = reoptimize(_fix(problem, rounded, is_ri), **stops(rounded))
        if after_solve.status not in _USABLE:
            raise RoundingError(
                f"no plan in whole RIs satisfies the policy ({first}; rounding the RIs down: "
                f"{after_solve.message}); relax the policy or solve with {param('integer')}"
            )
        notes.append(
            f"RIs rounded down: the nearest whole counts left the policy infeasible ({first})"
        )
    units_sp = np.asarray(after_solve.units, dtype=np.float64)
    return _WholeRis(np.where(is_ri, rounded, units_sp), after_solve, True, tuple(notes))


def _flexible_swap(
    problem: CommitmentProblem,
    result: OptimizationResult,
    reoptimize: Reoptimize,
    is_ri: BoolArray,
    final: FloatArray,
    after: float,
    ri_instance_type: str | None,
    sp_step_usd: float,
    evaluate: Evaluate,
    certified_usd: float | None = None,
) -> tuple[_WholeRis, FloatArray, list[str], float] | None:
    """The plan with every pool that gives way to a more flexible one of (nearly) the same cost
    (:func:`optimizer.flexibility.flexible_preferences`) left unbought and the Savings Plans
    re-optimized around it, or ``None``: nothing to swap, the swap leaves the policy infeasible,
    or its billed objective exceeds the plain rounding's by more than
    :data:`~optimizer.flexibility.FLEXIBILITY_TOLERANCE_PCT` of what the swapped offers cost, or
    ``certified_usd`` (unless it is no dearer than the plain rounding). The re-solve stops at the
    first plan within both, or once none can be."""
    preferences = flexible_preferences(problem)
    if preferences.empty:
        return None
    pool = problem.offers["pool"].to_numpy(dtype=np.intp)
    away = np.isin(pool, preferences["pool"].to_numpy(dtype=np.intp))
    swapped = away & (final > _SAME)
    if not np.any(swapped):
        return None
    units = np.where(away, 0.0, np.asarray(result.units, dtype=np.float64))
    rounded = np.where(away, 0.0, whole_ri_units(problem, units, ri_instance_type=ri_instance_type))
    fixed = is_ri | away
    objective = problem.offers["objective_usd_per_unit"].to_numpy(dtype=np.float64)
    swapped_cost = float(objective[swapped] @ final[swapped])
    allowed = after + FLEXIBILITY_TOLERANCE_PCT / 100.0 * swapped_cost + 1e-9 * abs(after)
    stops: dict[str, float | FloatArray] = {}
    if certified_usd is not None:
        allowed = max(min(allowed, certified_usd), after)
        stops = {
            "stop_below_usd": allowed,
            "stop_above_usd": allowed,
            "max_iterations": SWAP_ITERATIONS,
            # what the emptied pools covered, moved to the pools they give way to
            "start_units": moved_to_preferred(problem, result.units, preferences),
        }
    solve = reoptimize(_fix(problem, rounded, fixed), **stops)
    if solve.status not in _USABLE:
        return None
    whole = _WholeRis(
        np.where(fixed, rounded, np.asarray(solve.units, dtype=np.float64)), solve, True, ()
    )
    final_swapped, notes = _stepped(problem, np.asarray(result.units), whole, is_ri, sp_step_usd)
    after_swapped = float(evaluate(problem, final_swapped))
    if after_swapped > allowed:
        return None
    kinds = sorted(set(problem.pools["kind"].astype(str).to_numpy()[pool[swapped]]))
    notes.append(
        f"{int(np.count_nonzero(swapped))} offers ({', '.join(kinds)}) left to a more flexible "
        f"instrument within {FLEXIBILITY_TOLERANCE_PCT:g} % of their cost "
        f"({after_swapped - after:+.2f} USD billed)"
    )
    return whole, final_swapped, notes, after_swapped


def _stepped(
    problem: CommitmentProblem,
    units: FloatArray,
    whole: _WholeRis,
    is_ri: BoolArray,
    sp_step_usd: float,
) -> tuple[FloatArray, list[str]]:
    """The final plan (Savings Plans rounded down to the step) and the notes on the rounding."""
    rounded = whole.units
    notes = list(whole.notes)
    if np.any(is_ri):
        moved = float(np.abs(rounded - units)[is_ri].sum())
        notes.append(
            f"{int(np.count_nonzero(is_ri & (rounded > 0)))} RI offers in whole instances "
            f"({moved:g} units moved in total)"
            + ("; Savings Plans re-optimized around them" if whole.reoptimized else "")
        )
    stepped = sp_commitment(rounded, sp_step_usd)
    if np.any(~is_ri):
        cut = float((rounded - stepped)[~is_ri].sum())
        notes.append(
            f"Savings Plan commitments rounded down to {sp_step_usd:g} USD/h steps "
            f"({cut:.6f} USD/h in total)"
        )
    final = np.where(is_ri, rounded, stepped)
    below = ~is_ri & (final < problem.offers["lower_bound_units"].to_numpy() - _SAME)
    if np.any(below):
        notes.append(
            f"{int(np.count_nonzero(below))} Savings Plan offers now sit below their lower bound "
            "by less than one step (a commitment fixed with more decimals than AWS sells)"
        )
    return final, notes


def _rounded_result(
    result: OptimizationResult,
    whole: _WholeRis,
    final: FloatArray,
    after: float,
    sp_step_usd: float,
) -> OptimizationResult:
    """The rounded plan as a result: the final units billed, the continuous bound, the solves'
    time and iterations added up."""
    reoptimized = whole.reoptimized
    return replace(
        whole.solve,
        message=f"{result.message}; rounded to whole RIs and {sp_step_usd:g} USD/h steps",
        units=final,
        objective_usd=after,
        lower_bound_usd=min(float(result.lower_bound_usd), after),
        upper_bound_usd=after,
        method=f"{result.method}+rounding",
        seconds=result.seconds + (whole.solve.seconds if reoptimized else 0.0),
        iterations=result.iterations + (whole.solve.iterations if reoptimized else 0),
        offer_marginal_usd=(
            whole.solve.offer_marginal_usd if reoptimized else result.offer_marginal_usd
        ),
        status=result.status,
        resume=None,
    )


__all__ = [
    "ROUNDING_ITERATIONS",
    "ROUNDING_SHARE",
    "Evaluate",
    "Reoptimize",
    "RoundedPlan",
    "RoundingError",
    "greedy_objective",
    "round_plan",
    "whole_ri_units",
]
