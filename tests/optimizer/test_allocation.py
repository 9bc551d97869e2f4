"""The greedy billing of the reduced model: against hand-worked cases and the hourly LP."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.allocation import (
    bill,
    evaluate,
    priced_terms,
    structure,
    unit_capacity,
)
from optimizer.cvar import cvar_weights, risk_of
from optimizer.problem import COMPUTE_SP_POOL, EC2_SP_POOL, RI_POOL, CommitmentProblem
from tests.optimizer.tiny import (
    make_problem,
    one_pool_problem,
    random_problem,
    random_tiny_problem,
    solve_lp,
    with_loss_reference,
)


def test_one_pool_hand_worked() -> None:
    # Two columns, one SP pool: ratios 0.6 (column 1 first) and 0.8; capacity 1.0 unit/h.
    problem = make_problem(
        [[1.0, 1.0], [1.0, 0.5], [0.0, 0.0]],
        [[0.8, 0.6]],
        [0],
        [1.0],
        kinds=[COMPUTE_SP_POOL],
    )
    result = evaluate(problem, np.array([1.0]))
    # Period 0: column 1 takes 0.6 units (1 USD), 0.4 units cover 0.5 USD of column 0.
    # Period 1: column 1 takes 0.3 units (0.5 USD), 0.7 units cover 0.875 USD of column 0.
    np.testing.assert_allclose(result.uncovered_usd, [[0.5, 0.0], [0.125, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(result.covered_usd[:, 0], [1.5, 1.375, 0.0])
    np.testing.assert_allclose(result.used_capacity[:, 0], [1.0, 1.0, 0.0])
    # Binding at column 0 (ratio 0.8): one unit saves 1/0.8 USD; idle in period 2.
    np.testing.assert_allclose(result.capacity_price[:, 0], [1.25, 1.25, 0.0])
    np.testing.assert_allclose(result.period_cost_usd, [0.5, 0.125, 0.0])
    # Commitment 1 USD/h over 3 hours.
    assert result.objective_usd == pytest.approx(3.0 + 0.625)
    assert result.subgradient[0] == pytest.approx(3.0 - 2 * 1.25)
    np.testing.assert_allclose(result.period_bound_usd, result.period_cost_usd, atol=1e-12)
    assert result.dual_gap_usd == pytest.approx(0.0, abs=1e-12)
    assert result.coverage_ratio == pytest.approx(2.875 / 3.5)
    np.testing.assert_allclose(result.pool_utilization, [2.0 / 3.0])


def test_identical_single_column_pools_share_in_order() -> None:
    # Owned RI (2 units), then two new RI pools on the same column: one greedy unit.
    problem = make_problem(
        [[5.0], [1.0], [3.0]],
        [[1.0], [1.0], [1.0]],
        [1, 2],
        [0.5, 0.6],
        kinds=[RI_POOL] * 3,
        owned=[True, False, False],
        owned_capacity=[2.0, 0.0, 0.0],
    )
    assert structure(problem).n_units == 1
    result = evaluate(problem, np.array([1.5, 1.0]))
    np.testing.assert_allclose(result.used_capacity, [[2, 1.5, 1], [1, 0, 0], [2, 1, 0]])
    np.testing.assert_allclose(result.covered_usd, result.used_capacity)
    np.testing.assert_allclose(result.capacity_price, [[1, 1, 1], [0, 0, 0], [0, 0, 0]])
    np.testing.assert_allclose(result.uncovered_usd[:, 0], [0.5, 0.0, 0.0])


def test_pools_with_disjoint_columns_share_a_stage() -> None:
    problem = random_tiny_problem(3, n_columns=4)
    stages = structure(problem).stages
    # RI pools (one per column) together, then the EC2-SP-like pool, then the Compute SP.
    assert [stage.units.size for stage in stages] == [4, 1, 1]
    assert stages[0].single and not stages[2].single


@pytest.mark.parametrize("seed", range(8))
def test_one_pool_equals_lp(seed: int) -> None:
    rng = np.random.default_rng(seed)
    problem = one_pool_problem(rng.gamma(2.0, 1.0, size=40), rng.uniform(0.1, 0.6))
    units = rng.uniform(0.0, 3.0, size=1)
    assert evaluate(problem, units).objective_usd == pytest.approx(
        solve_lp(problem, fixed_units=units).objective_usd, rel=1e-9
    )


@pytest.mark.parametrize("seed", range(12))
def test_consistent_pools_equal_lp_and_tight_bound(seed: int) -> None:
    problem = random_tiny_problem(
        seed, n_periods=8, n_scenarios=2, owned=True, cvar_weight=0.5, consistent=True
    )
    units = np.random.default_rng(seed).uniform(0.0, 2.0, size=problem.n_offers)
    result = evaluate(problem, units)
    assert result.objective_usd == pytest.approx(
        solve_lp(problem, fixed_units=units).objective_usd, rel=1e-9
    )
    assert result.dual_gap_usd == pytest.approx(0.0, abs=1e-9)


def test_cross_pool_gap_is_reported() -> None:
    """Across pools the greedy can be worse than the LP (documented, not hidden).

    An EC2-SP-like pool (ratios 0.5, 0.6) covers column A first; the Compute SP after it
    (ratios 0.5, 0.9) would have covered A better than B. With capacities 0.6 and 0.5 the
    greedy covers 1 + 1/6 + 5/9 USD/h, the LP both columns (EC2 on B, Compute on A).
    """
    problem = make_problem(
        [[1.0, 1.0]],
        [[0.5, 0.6], [0.5, 0.9]],
        [0, 1],
        [0.0, 0.0],
        kinds=[EC2_SP_POOL, COMPUTE_SP_POOL],
    )
    units = np.array([0.6, 0.5])
    result = evaluate(problem, units)
    lp = solve_lp(problem, fixed_units=units).objective_usd
    assert lp == pytest.approx(0.0, abs=1e-9)
    assert result.objective_usd == pytest.approx(2.0 - (1.0 + 1.0 / 6.0 + 5.0 / 9.0))
    bound = result.objective_usd - result.dual_gap_usd
    assert bound <= lp + 1e-9
    assert result.dual_gap_usd > 0.2


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    scenarios=st.integers(1, 3),
    cvar=st.sampled_from([0.0, 0.5]),
)
def test_bound_is_valid_and_greedy_never_beats_lp(seed: int, scenarios: int, cvar: float) -> None:
    problem = random_tiny_problem(
        seed, n_periods=5, n_scenarios=scenarios, owned=seed % 2 == 0, cvar_weight=cvar
    )
    units = np.random.default_rng(seed + 1).uniform(0.0, 2.0, size=problem.n_offers)
    result = evaluate(problem, units)
    lp = solve_lp(problem, fixed_units=units).objective_usd
    assert result.objective_usd >= lp - 1e-9 * abs(lp)
    assert np.all(result.period_bound_usd <= result.period_cost_usd + 1e-9)
    assert result.dual_gap_usd >= -1e-9


def _assert_subgradient_between_one_sided_derivatives(
    problem: CommitmentProblem, seed: int
) -> None:
    """At random units, each offer's subgradient lies between the objective's one-sided finite
    differences, as a subgradient of a convex function does."""
    units = np.random.default_rng(seed).uniform(0.1, 2.0, size=problem.n_offers)
    base = evaluate(problem, units)
    step = 1e-6
    for k in range(problem.n_offers):
        up = units.copy()
        up[k] += step
        down = units.copy()
        down[k] -= step
        right = (evaluate(problem, up).objective_usd - base.objective_usd) / step
        left = (base.objective_usd - evaluate(problem, down).objective_usd) / step
        assert left - 1e-4 <= base.subgradient[k] <= right + 1e-4


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), cvar=st.sampled_from([0.0, 0.7]))
def test_subgradient_matches_finite_differences(seed: int, cvar: float) -> None:
    problem = random_tiny_problem(
        seed, n_periods=6, n_scenarios=2, owned=True, cvar_weight=cvar, consistent=True
    )
    _assert_subgradient_between_one_sided_derivatives(problem, seed)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), share=st.sampled_from([0.7, 0.85, 1.0]))
def test_subgradient_of_losses_only_matches_finite_differences(seed: int, share: float) -> None:
    # Only losses count: scenarios that save add nothing to the CVaR, nor to its subgradient.
    problem = with_loss_reference(
        random_tiny_problem(
            seed, n_periods=6, n_scenarios=3, owned=True, cvar_weight=0.7, consistent=True
        ),
        share,
    )
    _assert_subgradient_between_one_sided_derivatives(problem, seed)


def test_risk_of_counts_only_losses() -> None:
    # 40 equally likely futures, level 0.9: the mean of the worst 4 losses floored at 0.
    problem = with_loss_reference(random_tiny_problem(3, n_scenarios=40, cvar_weight=0.5), 1.0)
    problem = replace(
        problem,
        cvar_alpha=0.9,
        scenario_probability=np.full(40, 1 / 40),
        cvar_reference_usd=np.zeros(40),
    )
    loss = np.linspace(-30.0, 9.0, 40)  # worst four: 9, 8, 7, 6
    value, tail = risk_of(problem, loss)
    assert value == pytest.approx((9 + 8 + 7 + 6) / 4)
    np.testing.assert_allclose(tail[-4:], 0.25)
    # only one loss above 0: the other three of the tail count 0, and weigh nothing
    value, tail = risk_of(problem, loss - 8.5)
    assert value == pytest.approx(0.5 / 4)
    assert tail[-1] == pytest.approx(0.25) and not tail[:-1].any()
    # every future saves: no risk at all
    value, tail = risk_of(problem, loss - 20.0)
    assert value == 0.0 and not tail.any()
    # the plain CVaR of the same losses is negative
    plain = replace(problem, cvar_losses_only=False)
    assert risk_of(plain, loss - 20.0)[0] == pytest.approx((-11 - 12 - 13 - 14) / 4)


def test_cvar_weights() -> None:
    costs = np.array([10.0, 30.0, 20.0])
    probability = np.array([0.5, 0.25, 0.25])
    weights = cvar_weights(costs, probability, 0.6)
    # Worst 40 %: all of 30 (0.25) and 0.15 of 20.
    np.testing.assert_allclose(weights, [0.0, 0.625, 0.375])
    assert weights @ costs == pytest.approx((0.25 * 30 + 0.15 * 20) / 0.4)


def test_objective_with_scenarios_and_cvar() -> None:
    problem = make_problem(
        [[2.0], [4.0], [1.0]],
        [[0.5]],
        [0],
        [1.0],
        kinds=[EC2_SP_POOL],
        period_scenario=[0, 1, 1],
        scenario_probability=[0.5, 0.5],
        cvar_weight=2.0,
        cvar_alpha=0.5,
        owned_cost_usd=1.0,
    )
    result = evaluate(problem, np.array([1.0]))
    # Units cost 1 USD/h x expected hours (0.5 x 1 + 0.5 x 2) = 1.5; one unit covers 2 USD/h.
    np.testing.assert_allclose(result.scenario_cost_usd, [2.5, 2.5 + 2.0])
    assert result.objective_usd == pytest.approx(3.5 + 2.0 * 4.5)


def test_bill_matches_evaluate() -> None:
    problem = random_tiny_problem(11, n_periods=7, owned=True)
    units = np.linspace(0.2, 1.4, problem.n_offers)
    billing = bill(problem, units)
    result = evaluate(problem, units)
    np.testing.assert_allclose(billing.uncovered_total, result.uncovered_usd.sum(axis=1))


def test_wrong_number_of_units() -> None:
    with pytest.raises(ValueError, match="one value per offer"):
        evaluate(one_pool_problem([1.0, 2.0], 0.3), np.zeros(2))


@pytest.mark.parametrize("seed", range(3))
def test_bill_without_usage_prices_and_totals_as_the_full_bill(seed: int) -> None:
    problem = random_problem(48, 9, seed)
    units = np.random.default_rng(seed).uniform(0.0, 3.0, problem.n_offers)
    full = bill(problem, units)
    lean = bill(problem, units, usage=False)
    assert lean.unit_used.size == 0 and lean.unit_covered.size == 0
    assert lean.unit_capacity.size == 0
    assert full.unit_used.shape == full.unit_price.shape and full.unit_used.any()
    np.testing.assert_array_equal(full.unit_capacity, unit_capacity(problem, units))
    for name in ("unit_price", "uncovered_total", "demand_value", "capacity_credit"):
        np.testing.assert_array_equal(getattr(lean, name), getattr(full, name), err_msg=name)
    # the capacity credit, now summed block by block, is still Σ_u C_ut μ_ut
    np.testing.assert_allclose(
        full.capacity_credit,
        np.einsum("ut,ut->t", full.unit_capacity, full.unit_price),
        rtol=1e-12,
        atol=1e-12,
    )


@pytest.mark.parametrize("seed", range(4))
def test_priced_terms_own_prices_give_the_billing_bound(seed: int) -> None:
    problem = random_problem(48, 9, seed)
    info = structure(problem)
    rng = np.random.default_rng(seed)
    units = rng.uniform(0.0, 3.0, problem.n_offers)
    billing = bill(problem, units)
    last = info.stages[-1].units
    groups = np.arange(problem.n_periods) % 3
    weight = np.zeros((problem.n_periods, 3))
    wf = problem.period_weight * problem.period_discount
    weight[np.arange(problem.n_periods), groups] = wf
    (term,) = priced_terms(problem, units, [billing.unit_price[last]], weight)
    bound = wf * (problem.demand_usd.sum(axis=1) - billing.demand_value - billing.capacity_credit)
    expected = np.bincount(groups, weights=bound, minlength=3)
    got = term.column_value.sum(axis=0) - term.capacity_credit.sum(axis=0)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_priced_terms_any_prices_bound_the_lp_from_below(seed: int) -> None:
    problem = random_problem(24, 6, seed)
    info = structure(problem)
    rng = np.random.default_rng(100 + seed)
    units = rng.uniform(0.0, 3.0, problem.n_offers)
    last = info.stages[-1].units
    weight = (problem.period_weight * problem.period_discount)[:, None].copy()
    prices = [rng.uniform(0.0, 2.0, (last.size, problem.n_periods)) for _ in range(3)]
    lp = solve_lp(problem, fixed_units=units).objective_usd
    costs = problem.offers["objective_usd_per_unit"].to_numpy(dtype=np.float64)
    constant = costs @ units + problem.owned_cost_usd + problem.uncoverable_cost_usd
    for term in priced_terms(problem, units, prices, weight):
        on_demand = float(term.column_value.sum() - term.capacity_credit.sum())
        assert constant + on_demand <= lp + 1e-7 * abs(lp)


def test_blocks_run_with_blas_held_to_one_thread_and_released_after() -> None:
    from threadpoolctl import threadpool_info

    from optimizer.allocation import in_threads

    def blas_threads() -> list[int]:
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    seen: list[list[int]] = []

    def work(rows: slice) -> int:
        seen.append(blas_threads())
        return int(rows.start)

    before = blas_threads()
    assert before, "numpy's BLAS is not visible to threadpoolctl: the limit would do nothing"
    assert in_threads(work, [slice(n, n + 1) for n in range(4)]) == [0, 1, 2, 3]
    assert len(seen) == 4 and all(threads == [1] * len(before) for threads in seen)
    assert blas_threads() == before
