"""Cutting planes: certified bounds against the exact hourly LP, closed forms, properties."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import optimizer.cutting_planes as cutting_planes
from optimizer.allocation import evaluate
from optimizer.cutting_planes import period_groups, reduced_problem, solve_cutting_planes
from optimizer.problem import CommitmentProblem
from optimizer.result import OptimizationResult, OptimizationStatus
from tests.optimizer.tiny import (
    make_problem,
    one_pool_optimum,
    one_pool_problem,
    random_problem,
    random_tiny_problem,
    solve_lp,
    with_loss_reference,
)


def _check_certificate(
    problem: CommitmentProblem, tolerance: float = 1e-6, *, disaggregate: bool = True
) -> tuple[OptimizationResult, float]:
    result = solve_cutting_planes(problem, tolerance=tolerance, disaggregate=disaggregate)
    exact = solve_lp(problem).objective_usd
    assert result.status is OptimizationStatus.OPTIMAL, result.message
    assert result.lower_bound_usd <= exact + 1e-7 * abs(exact)
    assert exact <= result.upper_bound_usd + 1e-7 * abs(exact)
    assert result.relative_gap <= tolerance
    assert result.objective_usd == pytest.approx(evaluate(problem, result.units).objective_usd)
    return result, exact


@pytest.mark.parametrize("seed", range(10))
def test_certified_against_exact_lp(seed: int) -> None:
    problem = random_tiny_problem(
        seed,
        n_periods=12,
        n_scenarios=1 + seed % 2,
        owned=seed % 3 == 0,
        cvar_weight=0.4 if seed % 4 == 1 else 0.0,
        consistent=True,
    )
    _check_certificate(problem)


def test_default_tolerance_on_a_larger_problem() -> None:
    problem = random_problem(300, 12, 4)
    result, exact = _check_certificate(problem, tolerance=1e-3)
    assert result.objective_usd <= exact * (1 + 1e-3)


@pytest.mark.parametrize("discount", [0.17, 0.31, 0.58])
def test_one_pool_closed_form(discount: float) -> None:
    # 301 random hours: d * H is never an integer, so the quantile is unique.
    spend = np.random.default_rng(7).gamma(2.0, 3.0, size=301)
    problem = one_pool_problem(spend, discount)
    result = solve_cutting_planes(problem, tolerance=1e-9)
    assert result.units[0] == pytest.approx(one_pool_optimum(spend, discount), rel=1e-6)


def test_one_pool_closed_form_with_weights() -> None:
    rng = np.random.default_rng(3)
    spend = rng.gamma(2.0, 3.0, size=200)
    weights = rng.integers(1, 5, size=200).astype(float)
    problem = one_pool_problem(spend, 0.27, weights=weights)
    result = solve_cutting_planes(problem, tolerance=1e-9)
    assert result.units[0] == pytest.approx(
        one_pool_optimum(spend, 0.27, weights=weights), rel=1e-6
    )


def test_cross_pool_case_keeps_valid_bounds() -> None:
    """When the billing order is not the LP's allocation the bounds stay valid; the gap can
    stay open (the greedy optimum is above the LP optimum) and the message says why."""
    problem = random_tiny_problem(2, n_periods=20, n_scenarios=2, owned=True)
    result = solve_cutting_planes(problem, tolerance=1e-6)
    exact = solve_lp(problem).objective_usd
    assert result.lower_bound_usd <= exact + 1e-7
    assert exact <= result.upper_bound_usd + 1e-7
    assert result.status is OptimizationStatus.GAP_NOT_REACHED
    assert "billing order" in result.message
    assert result.iterations < 60


def test_coverage_floor() -> None:
    problem = random_tiny_problem(5, n_periods=10, consistent=True)
    free = solve_cutting_planes(problem, tolerance=1e-7)
    floor = evaluate(problem, free.units).coverage_ratio + 0.1
    constrained = replace(problem, coverage_lower=floor)
    result = solve_cutting_planes(constrained, tolerance=1e-6)
    exact = solve_lp(constrained).objective_usd
    assert result.status is OptimizationStatus.OPTIMAL, result.message
    assert evaluate(constrained, result.units).coverage_ratio >= floor - 1e-7
    assert result.lower_bound_usd <= exact + 1e-6
    assert exact <= result.upper_bound_usd + 1e-6
    assert result.relative_gap <= 1e-6


def test_unreachable_coverage_floor_is_infeasible() -> None:
    problem = make_problem([[1.0, 1.0]], [[1.0, 0.0]], [0], [0.5], upper_bounds=[10.0])
    result = solve_cutting_planes(replace(problem, coverage_lower=0.8))
    assert result.status is OptimizationStatus.INFEASIBLE
    assert "coverage floor of 80%" in result.message


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [("coverage_upper", 0.5, "coverage ceiling"), ("min_utilization", 0.9, "minimum utilization")],
)
def test_policies_left_to_the_exact_lp(field: str, value: float, words: str) -> None:
    problem = replace(random_tiny_problem(1), **{field: value})
    result = solve_cutting_planes(problem)
    assert result.status is OptimizationStatus.ERROR
    assert words in result.message and "exact LP" in result.message


def test_offer_rows_are_honoured() -> None:
    base = random_tiny_problem(2, n_periods=10, consistent=True)
    cap = 0.5 * solve_cutting_planes(base, tolerance=1e-7).units.sum()
    problem = replace(
        base,
        offer_rows=np.ones((1, base.n_offers)),
        offer_rows_lower=np.array([-np.inf]),
        offer_rows_upper=np.array([cap]),
        offer_row_names=("max_hourly_commitment",),
    )
    problem = replace(problem, offer_rows=sp.csr_array(problem.offer_rows))
    result = solve_cutting_planes(problem, tolerance=1e-6)
    assert result.units.sum() <= cap * (1 + 1e-7)
    exact = solve_lp(problem).objective_usd
    assert result.lower_bound_usd <= exact + 1e-6 <= result.upper_bound_usd + 2e-6


def test_contradicting_rows_are_infeasible() -> None:
    base = one_pool_problem([1.0, 2.0, 3.0], 0.3)
    problem = replace(
        base,
        offer_rows=sp.csr_array(np.ones((2, 1))),
        offer_rows_lower=np.array([2.0, -np.inf]),
        offer_rows_upper=np.array([np.inf, 1.0]),
        offer_row_names=("custom_commitment", "max_hourly_commitment"),
    )
    result = solve_cutting_planes(problem)
    assert result.status is OptimizationStatus.INFEASIBLE
    assert "custom_commitment, max_hourly_commitment" in result.message


def test_progress_and_scipy_master() -> None:
    problem = random_tiny_problem(4, n_periods=10, consistent=True)
    seen: list[tuple[int, float, float]] = []
    result = solve_cutting_planes(
        problem, tolerance=1e-6, solver="scipy", progress=lambda *a: seen.append(a)
    )
    assert result.status is OptimizationStatus.OPTIMAL
    assert result.solver == "scipy"
    assert seen and seen[-1][0] == result.iterations
    assert all(lower <= upper + 1e-9 for _, lower, upper in seen)
    highs = solve_cutting_planes(problem, tolerance=1e-6)
    assert highs.objective_usd == pytest.approx(result.objective_usd, rel=1e-6)


def test_iteration_limit_returns_plan_and_gap() -> None:
    problem = random_problem(200, 9, 1)
    result = solve_cutting_planes(problem, tolerance=1e-9, max_iterations=2)
    assert result.status is OptimizationStatus.GAP_NOT_REACHED
    assert result.iterations == 2
    assert np.isfinite(result.relative_gap) and result.relative_gap > 1e-9
    assert "certified within" in result.message


def test_warm_start_from_clustered_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cutting_planes, "REPRESENTATIVES", 20)
    problem = random_problem(240, 9, 2)
    labels = period_groups(problem, 20)
    reduced = reduced_problem(problem, labels)
    assert reduced.n_periods == int(labels.max()) + 1
    assert reduced.period_weight.sum() == pytest.approx(problem.period_weight.sum())
    np.testing.assert_allclose(
        reduced.period_weight @ reduced.demand_usd, problem.period_weight @ problem.demand_usd
    )
    _check_certificate(problem, tolerance=1e-4)


def test_marginals_at_the_optimum() -> None:
    problem = one_pool_problem(np.random.default_rng(9).gamma(2.0, 3.0, size=101), 0.35)
    result = solve_cutting_planes(problem, tolerance=1e-9)
    # At an interior optimum the marginal saving of one more unit is about zero (its
    # subgradient holds 0 between the one-sided derivatives).
    unit = result.units[0]
    step = 1e-5
    right = evaluate(problem, np.array([unit + step])).objective_usd - result.objective_usd
    assert -result.offer_marginal_usd[0] <= right / step + 1e-3


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_never_worse_than_all_on_demand(seed: int) -> None:
    problem = random_tiny_problem(seed, n_periods=8, owned=True, consistent=True)
    result = solve_cutting_planes(problem, tolerance=1e-6)
    lower = problem.offers["lower_bound_units"].to_numpy()
    assert result.objective_usd <= evaluate(problem, lower).objective_usd + 1e-9


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), extra=st.floats(0.1, 3.0))
def test_more_owned_capacity_never_raises_the_optimum(seed: int, extra: float) -> None:
    problem = random_tiny_problem(seed, n_periods=8, owned=True, consistent=True)
    owned = problem.owned_capacity.copy()
    owned[:, 0] += extra
    richer = replace(problem, owned_capacity=owned)
    first = solve_cutting_planes(problem, tolerance=1e-7)
    second = solve_cutting_planes(richer, tolerance=1e-7)
    assert second.lower_bound_usd <= first.upper_bound_usd + 1e-9


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), factor=st.floats(0.2, 20.0))
def test_scaling_demand_scales_units_in_one_pool(seed: int, factor: float) -> None:
    spend = np.random.default_rng(seed).gamma(2.0, 3.0, size=61)
    base = solve_cutting_planes(one_pool_problem(spend, 0.37), tolerance=1e-10)
    scaled = solve_cutting_planes(one_pool_problem(spend * factor, 0.37), tolerance=1e-10)
    assert scaled.units[0] == pytest.approx(factor * base.units[0], rel=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_disaggregated_cuts_certify_against_exact_lp(seed: int) -> None:
    # Families (RI + EC2 SP blocks) coupled by a Compute SP: the split is used.
    problem = random_problem(96, 9, seed)
    result, exact = _check_certificate(problem, tolerance=1e-6)
    from optimizer.allocation import structure

    info = structure(problem)
    split = cutting_planes._split(
        problem,
        info,
        info.unit_of_offer[info.unit_of_offer >= 0],
        np.zeros(problem.n_periods, dtype=np.intp),
        1,
        int((info.unit_of_offer >= 0).sum()),
    )
    assert split is not None and split.n_blocks >= 2
    assert result.lower_bound_usd <= exact + 1e-7 * abs(exact)


@pytest.mark.parametrize(
    ("seed", "share", "tail_saves"), [(21, 0.7, False), (22, 0.85, True), (23, 1.0, True)]
)
def test_losses_only_certified_against_exact_lp(seed: int, share: float, tail_saves: bool) -> None:
    # The master's η ≥ 0 against the exact LP's max(loss − η, −η, 0) (tests/optimizer/tiny.py):
    # the same optimum, certified. The plain CVaR's optimum is lower (max(loss, 0) ≥ loss),
    # strictly when some of the tail saves against the reference, equal when all of it loses.
    problem = with_loss_reference(
        random_tiny_problem(
            seed, n_periods=10, n_scenarios=4, cvar_weight=2.0, cvar_alpha=0.6, consistent=True
        ),
        share,
    )
    _, exact = _check_certificate(problem)
    plain = solve_lp(replace(problem, cvar_losses_only=False)).objective_usd
    if tail_saves:
        assert plain < exact - 1e-6 * abs(exact)
    else:
        assert plain == pytest.approx(exact, rel=1e-7)


@pytest.mark.parametrize(("seed", "cvar_weight"), [(11, 0.0), (12, 0.5), (13, 1.0)])
def test_pooled_pieces_on_many_scenarios_certify_against_exact_lp(
    seed: int, cvar_weight: float
) -> None:
    # Many scenarios: the pieces bound groups pooled over the scenarios (M5), not one group
    # per scenario; the certificate still holds against the exact LP, CVaR or not.
    problem = random_tiny_problem(
        seed, n_periods=30, n_scenarios=6, cvar_weight=cvar_weight, consistent=True
    )
    result, exact = _check_certificate(problem, tolerance=1e-6)
    state = result.resume
    assert isinstance(state, cutting_planes.CutState) and state.split is not None
    master = state.setup.master
    assert master.psi is not master.theta
    assert master.theta.size >= 6  # at least one group per scenario for the CVaR term
    assert master.psi.size <= cutting_planes.GROUPS
    assert master.pieces.size == master.psi.size * state.split.n_blocks * cutting_planes.PRICE_SLOTS
    assert result.lower_bound_usd <= exact + 1e-7 * abs(exact)


@pytest.mark.parametrize(("seed", "cvar_weight"), [(14, 0.0), (15, 0.5)])
def test_group_cuts_alone_on_many_scenarios_split_each_scenario(
    seed: int, cvar_weight: float
) -> None:
    # Without the disaggregated cuts (few cut classes), each scenario's periods fall into
    # GROUPS_PER_SCENARIO groups, one epigraph variable each, rather than one per scenario:
    # a finer model of the same bound (the demo's main solve: 17 iterations instead of 38).
    # The certificate holds against the exact LP as before.
    n_scenarios = 6
    problem = random_tiny_problem(
        seed, n_periods=30, n_scenarios=n_scenarios, cvar_weight=cvar_weight, consistent=True
    )
    result, _ = _check_certificate(problem, tolerance=1e-6, disaggregate=False)
    state = result.resume
    assert isinstance(state, cutting_planes.CutState) and state.split is None
    groups = state.setup.group_matrix.shape[0]
    assert groups == cutting_planes.GROUPS_PER_SCENARIO * n_scenarios
    assert state.setup.master.theta.size == groups


def test_one_scenario_pieces_bound_its_groups() -> None:
    problem = random_problem(96, 9, 4)
    result = solve_cutting_planes(problem, tolerance=1e-4, disaggregate=True)
    state = result.resume
    assert isinstance(state, cutting_planes.CutState) and state.split is not None
    assert state.setup.master.psi is state.setup.master.theta
    # one scenario: GROUPS_ONE_SCENARIO groups (k-means may leave one empty), the pieces per group
    groups = state.setup.group_matrix.shape[0]
    assert cutting_planes.GROUPS < groups <= cutting_planes.GROUPS_ONE_SCENARIO
    pieces = state.setup.master.pieces.size
    assert pieces == groups * state.split.n_blocks * cutting_planes.PRICE_SLOTS


def test_without_disaggregated_cuts_same_certificate() -> None:
    problem = random_problem(96, 9, 5)
    plain, _ = _check_certificate(problem, tolerance=1e-6, disaggregate=False)
    split, _ = _check_certificate(problem, tolerance=1e-6, disaggregate=True)
    assert split.objective_usd == pytest.approx(plain.objective_usd, rel=2e-6)


def test_slot_threshold() -> None:
    threshold = cutting_planes._slot_threshold
    assert threshold(1e-3, float("-inf"), float("inf")) == 0.0
    # Without a lower bound: half the tolerance of the upper bound.
    assert threshold(1e-3, float("-inf"), 1_000.0) == pytest.approx(0.5)
    # With one: a fifth of the gap when that is larger.
    assert threshold(1e-3, 900.0, 1_000.0) == pytest.approx(20.0)
    assert threshold(1e-3, 999.9, 1_000.0) == pytest.approx(0.5)


def test_price_slots_survive_small_improvements() -> None:
    # Replacing a price slot (and its cuts) at every small improvement of the best plan
    # stalled here at a 0.02 % gap after 44 iterations; keeping slots until a clear
    # improvement certifies 0.01 % in about 22.
    problem = random_problem(600, 45, 3)
    result = solve_cutting_planes(problem, tolerance=1e-4)
    assert result.status is OptimizationStatus.OPTIMAL, result.message
    assert result.iterations <= 30
    assert result.relative_gap <= 1e-4
    assert result.objective_usd == pytest.approx(evaluate(problem, result.units).objective_usd)
