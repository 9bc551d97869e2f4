"""Whole RIs, Savings Plan steps and the rounding cost."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from optimizer.allocation import evaluate, pool_allocation
from optimizer.cvar import cvar
from optimizer.explain import explain
from optimizer.problem import CommitmentProblem
from optimizer.purchases import purchases_from_units
from optimizer.result import OptimizationResult, OptimizationStatus
from optimizer.rounding import (
    ROUNDING_ITERATIONS,
    ROUNDING_SHARE,
    RoundingError,
    greedy_objective,
    round_plan,
    whole_ri_units,
)
from tests.optimizer.plan_problems import (
    M5_NU_OD,
    WINDOWS_OD,
    exact_lp,
    four_instrument_problem,
    realistic_problem,
)
from tests.optimizer.tiny import random_tiny_problem


def plan(units: list[float], objective: float = 0.0) -> OptimizationResult:
    return OptimizationResult(
        status=OptimizationStatus.OPTIMAL,
        message="optimal",
        units=np.array(units, dtype=float),
        objective_usd=objective,
        lower_bound_usd=objective,
        upper_bound_usd=objective,
        method="exact-lp",
        solver="test",
        seconds=1.0,
        iterations=3,
        offer_marginal_usd=np.zeros(len(units)),
    )


def fixed_ris(
    sp_units: list[float], seen: list[CommitmentProblem], feasible: bool = True
) -> Callable[[CommitmentProblem], OptimizationResult]:
    """A stand-in solver: keeps the fixed RIs, sets the Savings Plans to ``sp_units``."""

    def solve(problem: CommitmentProblem) -> OptimizationResult:
        seen.append(problem)
        offers = problem.offers
        fixed = (offers["lower_bound_units"] == offers["upper_bound_units"]).to_numpy()
        units = np.where(fixed, offers["lower_bound_units"], np.array(sp_units))
        if not feasible:
            return replace(plan(list(units)), status=OptimizationStatus.INFEASIBLE, message="cap")
        return plan(list(units))

    return solve


def test_a_realistic_plan_rounds_for_a_tiny_cost() -> None:
    problem = realistic_problem()
    result = exact_lp(problem)
    ri = result.units[:3]
    assert np.any(np.abs(ri / 4 - np.rint(ri / 4)) > 1e-3)  # the LP buys fractions of m5.large
    rounded = round_plan(problem, result, exact_lp)
    assert rounded.reoptimized
    assert rounded.objective_before_usd == result.objective_usd
    assert rounded.objective_after_usd == pytest.approx(greedy_objective(problem, rounded.units))
    assert rounded.rounding_cost_usd >= -1e-7
    assert 0 <= rounded.relative_rounding_cost < 1e-4
    whole = rounded.units[:2] / 4
    assert np.allclose(whole, np.rint(whole), atol=1e-9)
    assert np.allclose(rounded.units[2], np.rint(rounded.units[2]), atol=1e-9)
    steps = rounded.units[3:] * 1000
    assert np.allclose(steps, np.rint(steps), atol=1e-6)
    assert rounded.result.units is rounded.units
    assert rounded.result.method == "exact-lp+rounding"
    assert rounded.result.upper_bound_usd == rounded.objective_after_usd
    assert rounded.result.lower_bound_usd == pytest.approx(result.objective_usd)
    purchases = purchases_from_units(problem, rounded.units)
    assert [p.instance_type for p in purchases if p.count] == ["c5.large", "m5.large"]
    # the LP is exact within each pool and the greedy bills its plan at the same cost here
    assert greedy_objective(problem, result.units) == pytest.approx(result.objective_usd)


def test_ris_go_to_the_nearest_count_and_savings_plans_down() -> None:
    problem = four_instrument_problem()
    seen: list[CommitmentProblem] = []
    result = plan([49.5, 2.6, 0.0, 1.0, 0.0], objective=10.0)
    # the Windows RI is 0.07 % dearer than the EC2 Instance SP: the plan keeps it only when the
    # flexibility preference is off (tested in test_flexibility.py)
    rounded = round_plan(
        problem,
        result,
        fixed_ris([0.0, 0.0, 0.5, 1.2345678, 0.25], seen),
        prefer_flexible=False,
    )
    assert list(rounded.units) == [48.0, 3.0, 0.5, 1.234, 0.25]
    (fixed,) = seen
    assert list(fixed.offers["lower_bound_units"]) == [48.0, 3.0, 0.0, 0.0, 0.0]
    assert list(fixed.offers["upper_bound_units"])[:2] == [48.0, 3.0]
    assert np.isinf(fixed.offers["upper_bound_units"].to_numpy()[2:]).all()
    assert list(problem.offers["lower_bound_units"]) == [0.0] * 5  # the original is untouched
    assert rounded.result.seconds == 2.0 and rounded.result.iterations == 6
    assert rounded.rounding_cost_usd == rounded.objective_after_usd - 10.0
    assert any("rounded down to 0.001 USD/h steps" in note for note in rounded.notes)


def test_the_whole_ri_re_solve_aims_at_its_share_and_is_capped() -> None:
    """Uncapped, the re-solve certified its own problem for 933 s at 3,000 keys."""
    problem = four_instrument_problem()
    asked: list[dict[str, object]] = []
    solve_fixed = fixed_ris([0.0, 0.0, 0.5, 1.2345678, 0.25], [])

    def solve(fixed: CommitmentProblem, **stops: object) -> OptimizationResult:
        asked.append(stops)
        return solve_fixed(fixed)

    result = plan([49.5, 2.6, 0.0, 1.0, 0.0], objective=1000.0)
    round_plan(problem, result, solve, prefer_flexible=False, tolerance=1e-3)
    (stops,) = asked
    assert stops["max_iterations"] == ROUNDING_ITERATIONS
    assert stops["stop_below_usd"] == pytest.approx(1000.0 / (1.0 - ROUNDING_SHARE * 1e-3))
    start = np.asarray(stops["start_units"])
    assert list(start[:2]) == [48.0, 3.0]  # the whole RIs, the Savings Plans moved around them


def test_a_chosen_size_rounds_to_its_normalization_factor() -> None:
    problem = four_instrument_problem()
    units = whole_ri_units(problem, np.array([53.0, 2.4, 0, 1, 0]), ri_instance_type="m5.xlarge")
    assert list(units) == [56.0, 2.0, 0.0, 1.0, 0.0]
    down = whole_ri_units(problem, np.array([53.0, 2.6, 0, 1, 0]), down=True)
    assert list(down) == [52.0, 2.0, 0.0, 1.0, 0.0]


def test_bounds_win_over_the_nearest_count() -> None:
    problem = four_instrument_problem()
    offers = problem.offers.copy()
    offers.loc[0, "upper_bound_units"] = 54.0
    offers.loc[1, "lower_bound_units"] = 2.5
    bounded = replace(problem, offers=offers)
    units = whole_ri_units(bounded, np.array([54.0, 2.5, 0, 0, 0]), ri_instance_type="xlarge")
    assert list(units[:2]) == [48.0, 3.0]  # 6.75 m5.xlarge -> 7 would pass 54 NU


def test_an_infeasible_nearest_count_falls_back_to_rounding_down() -> None:
    problem = four_instrument_problem()
    calls: list[CommitmentProblem] = []

    def capped(fixed: CommitmentProblem) -> OptimizationResult:
        calls.append(fixed)
        ri = fixed.offers["lower_bound_units"].to_numpy()
        if ri[0] > 49.5:  # a cap the nearest count breaks
            return replace(plan(list(ri)), status=OptimizationStatus.INFEASIBLE, message="cap")
        return plan(list(ri))

    rounded = round_plan(problem, plan([51.0, 0, 0, 0, 0]), capped)
    assert [c.offers["lower_bound_units"][0] for c in calls] == [52.0, 48.0]
    assert rounded.units[0] == 48.0
    assert "RIs rounded down" in rounded.notes[0] and "(cap)" in rounded.notes[0]
    with pytest.raises(RoundingError, match=r"no plan in whole RIs.*`integer`"):
        round_plan(problem, plan([51.0, 0, 0, 0, 0]), fixed_ris([0] * 5, [], feasible=False))


def test_whole_ris_are_not_reoptimized() -> None:
    def never(_: CommitmentProblem) -> OptimizationResult:
        raise AssertionError("no re-optimization needed")

    problem = four_instrument_problem()
    rounded = round_plan(problem, plan([48.0, 3.0, 0.0, 2.0004, 0.0]), never, prefer_flexible=False)
    assert not rounded.reoptimized
    assert list(rounded.units) == [48.0, 3.0, 0.0, 2.0, 0.0]


def test_greedy_objective_by_hand() -> None:
    # 12 m5.large RIs (48 NU at 0.0155 USD/NU-h) for 2 h: 1.488 USD; on demand left: 3 Windows
    # in hour 1 (0.564), 12 NU and 4 Windows in hour 2 (0.288 + 0.752).
    problem = four_instrument_problem()
    assert greedy_objective(problem, np.array([48.0, 0, 0, 0, 0])) == pytest.approx(
        48 * 0.0155 * 2 + 3 * WINDOWS_OD + 12 * M5_NU_OD + 4 * WINDOWS_OD
    )
    # a Compute SP of 1 USD/h covers the m5 column first (ratio 0.75 < 0.90): in hour 1 all
    # of it (1.152 USD/h for 0.864) and Windows with the 0.136 left; in hour 2, 1/0.75 USD/h.
    on_demand = 108 * M5_NU_OD + 7 * WINDOWS_OD
    covered = 48 * M5_NU_OD + (1 - 48 * M5_NU_OD * 0.75) / 0.90 + 1 / 0.75
    assert greedy_objective(problem, np.array([0, 0, 0, 1.0, 0])) == pytest.approx(
        2.0 + on_demand - covered
    )


def test_cvar_of_a_discrete_cost() -> None:
    costs = np.array([10.0, 20.0, 30.0])
    probability = np.array([0.5, 0.3, 0.2])
    assert cvar(costs, probability, 0.8) == pytest.approx(30.0)
    assert cvar(costs, probability, 0.5) == pytest.approx((0.3 * 20 + 0.2 * 30) / 0.5)
    assert cvar(costs, probability, 0.0) == pytest.approx(probability @ costs)


@pytest.mark.parametrize("seed", range(6))
def test_greedy_billing_agrees_with_optimizer_allocation(seed: int) -> None:
    # the fill itself is checked against a per-period reference in test_allocation_fill.py
    for options in ({}, {"n_scenarios": 3, "cvar_weight": 0.5}, {"owned": True}):
        problem = random_tiny_problem(seed, **options)
        units = np.random.default_rng(seed).uniform(0.0, 3.0, problem.n_offers)
        evaluation = evaluate(problem, units)
        capacity, used, covered = pool_allocation(problem, units)
        assert np.allclose(capacity, evaluation.capacity)
        assert np.allclose(used, evaluation.used_capacity)
        assert np.allclose(covered, evaluation.covered_usd)
        assert greedy_objective(problem, units) == pytest.approx(evaluation.objective_usd)
        pd.testing.assert_frame_equal(
            explain(problem, units, evaluation=evaluation), explain(problem, units), rtol=1e-9
        )
