"""The full LP (``--exact``) and its MIP (``--integer``) on hand-built problems.

Oracles: hand-solved cases, closed-form quantiles, brute force over RI counts and Savings
Plan commitments, and a naive greedy biller written here (AWS's order, pool by pool, loops).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.full_lp import SP_STEP_USD, FullModel, build_full_lp, cvar, solve_exact
from optimizer.problem import (
    COMPUTE_SP_POOL,
    EC2_SP_POOL,
    POOL_FIELDS,
    RI_POOL,
    CommitmentProblem,
)
from optimizer.result import OptimizationResult, OptimizationStatus
from optimizer.solvers import Solution, SolveStatus, solve

START = pd.Timestamp("2026-01-01", tz="UTC")
M5_NU = 0.024
"""On-demand price of one m5 normalized unit-hour in us-east-1 [USD/h]."""
C5_NU = 0.02125
"""On-demand price of one c5 normalized unit-hour in us-east-1 [USD/h]."""


# ----------------------------------------------------------------------------------- problems


def column(family: str = "m5", region: str = "us-east-1", price: float = M5_NU) -> dict[str, Any]:
    """A size-flexible family column."""
    return {
        "region": region,
        "instance_family": family,
        "instance_type": "",
        "platform": "Linux/UNIX",
        "tenancy": "Shared",
        "size_flexible": True,
        "on_demand_usd_per_unit": price,
    }


def pool(kind: str, **fields: Any) -> dict[str, Any]:
    """A pool row (new, 1-year No Upfront) with every POOL_FIELDS entry."""
    row: dict[str, Any] = dict.fromkeys(POOL_FIELDS, "")
    row.update(
        kind=kind,
        owned=False,
        order=0,
        size_flexible=kind == RI_POOL,
        unit="normalized_units" if kind == RI_POOL else "usd_per_hour",
        offering_class="standard" if kind == RI_POOL else "",
        term_years=1,
        payment_option="No Upfront",
        units_per_instance=1.0,
    )
    row.update(fields)
    return row


def ri_pool(family: str = "m5", units_per_instance: float = 4.0, **fields: Any) -> dict[str, Any]:
    """A size-flexible family RI pool in us-east-1, bought as the family's large size."""
    return pool(
        RI_POOL,
        region="us-east-1",
        instance_family=family,
        platform="Linux/UNIX",
        tenancy="Shared",
        purchase_instance_type=f"{family}.large",
        units_per_instance=units_per_instance,
        **fields,
    )


def offer(
    pool_index: int,
    rate: float,
    *,
    upfront: float = 0.0,
    lower: float = 0.0,
    upper: float = np.inf,
    tranche: int = 0,
) -> dict[str, Any]:
    """An offer at ``rate`` USD per unit-hour (objective filled in by :func:`problem_of`)."""
    return {
        "pool": pool_index,
        "tranche": tranche,
        "start": START,
        "end": START + pd.Timedelta(hours=8_760),
        "upfront_usd_per_unit": upfront,
        "recurring_usd_per_unit_hour": rate - upfront / 8_760,
        "effective_usd_per_unit_hour": rate,
        "objective_usd_per_unit": np.nan,
        "lower_bound_units": lower,
        "upper_bound_units": upper,
    }


def problem_of(
    *,
    demand: Any,
    pools: Sequence[Mapping[str, Any]],
    offers: Sequence[Mapping[str, Any]],
    coverage: Mapping[tuple[int, int], float],
    columns: Sequence[Mapping[str, Any]] | None = None,
    weight: Any = None,
    scenario: Any = None,
    probability: Any = None,
    discount: Any = None,
    owned_capacity: Any = None,
    offer_active: Any = None,
    offer_rows: Any = None,
    rows_lower: Sequence[float] = (),
    rows_upper: Sequence[float] = (),
    row_names: Sequence[str] = (),
    **fields: Any,
) -> CommitmentProblem:
    """A problem; offers cost their effective rate over the horizon (the weighted hours of one
    scenario, all scenarios spanning the same horizon)."""
    demand = np.asarray(demand, dtype=np.float64)
    n_periods, n_columns = demand.shape
    weight = np.ones(n_periods) if weight is None else np.asarray(weight, dtype=np.float64)
    scenario = np.zeros(n_periods, np.intp) if scenario is None else np.asarray(scenario, np.intp)
    n_scenarios = int(scenario.max()) + 1
    probability = (
        np.full(n_scenarios, 1 / n_scenarios) if probability is None else np.asarray(probability)
    )
    horizon = float(weight[scenario == 0].sum())
    pool_frame = pd.DataFrame(list(pools))
    pool_frame["order"] = np.arange(len(pool_frame))
    offer_frame = pd.DataFrame(list(offers))
    missing = offer_frame["objective_usd_per_unit"].isna()
    offer_frame.loc[missing, "objective_usd_per_unit"] = (
        offer_frame.loc[missing, "effective_usd_per_unit_hour"] * horizon
    )
    cells = list(coverage)
    coverage_matrix = sp.csr_array(
        (
            np.array([coverage[cell] for cell in cells], dtype=np.float64),
            (np.array([c[0] for c in cells]), np.array([c[1] for c in cells])),
        ),
        shape=(len(pool_frame), n_columns),
    )
    active = np.ones((n_periods, len(offer_frame))) if offer_active is None else offer_active
    limits = np.zeros((0, len(offer_frame))) if offer_rows is None else np.atleast_2d(offer_rows)
    return CommitmentProblem(
        hours=pd.date_range(START, periods=n_periods, freq="h"),
        columns=pd.DataFrame(list(columns or [column()] * n_columns)),
        pools=pool_frame,
        offers=offer_frame,
        demand_usd=demand,
        period_weight=weight,
        period_scenario=scenario,
        period_discount=np.ones(n_periods) if discount is None else np.asarray(discount, float),
        period_hour=np.arange(n_periods, dtype=np.intp),
        scenario_probability=probability,
        scenario_names=tuple(f"s{s}" for s in range(n_scenarios)),
        coverage=coverage_matrix,
        offer_active=sp.csr_array(np.asarray(active, dtype=np.float64)),
        owned_capacity=(
            np.zeros((n_periods, len(pool_frame)))
            if owned_capacity is None
            else np.asarray(owned_capacity, dtype=np.float64)
        ),
        owned_cost_usd=fields.pop("owned_cost_usd", 0.0),
        uncoverable_cost_usd=fields.pop("uncoverable_cost_usd", 0.0),
        dropped_keys=pd.DataFrame(),
        key_columns=pd.DataFrame(),
        offer_rows=sp.csr_array(np.asarray(limits, dtype=np.float64)),
        offer_rows_lower=np.asarray(rows_lower or [-np.inf] * len(limits), dtype=np.float64),
        offer_rows_upper=np.asarray(rows_upper or [np.inf] * len(limits), dtype=np.float64),
        offer_row_names=tuple(row_names or [f"limit_{r}" for r in range(len(limits))]),
        **fields,
    )


def with_fields(problem: CommitmentProblem, **fields: Any) -> CommitmentProblem:
    """A copy of ``problem`` with some fields replaced."""
    values = {name: getattr(problem, name) for name in problem.__dataclass_fields__}
    values.update(fields)
    return CommitmentProblem(**values)


def two_family_problem(seed: int, n_periods: int = 12) -> CommitmentProblem:
    """m5 and c5 family RIs (4 and 2 NU a large) and a Compute SP covering both.

    RI pools cover one column each and come first, so the greedy bill is optimal for any
    plan: the LP's objective is exactly the bill of its plan.
    """
    rng = np.random.default_rng(seed)
    nu = rng.integers(0, 25, size=(n_periods, 2)).astype(float)
    demand = nu * np.array([M5_NU, C5_NU])
    return problem_of(
        demand=demand,
        columns=[column("m5"), column("c5", price=C5_NU)],
        pools=[ri_pool("m5"), ri_pool("c5", units_per_instance=2.0), pool(COMPUTE_SP_POOL)],
        offers=[offer(0, 0.0155), offer(1, 0.0135), offer(2, 1.0)],
        coverage={(0, 0): 1 / M5_NU, (1, 1): 1 / C5_NU, (2, 0): 0.72, (2, 1): 0.68},
        weight=rng.integers(1, 4, size=n_periods),
    )


# ------------------------------------------------------------------------------------ oracles


def greedy_bill(problem: CommitmentProblem, units: np.ndarray) -> np.ndarray:
    """Cost of each scenario for one plan (``units``) or a batch (``batch × offers``), billed as
    AWS does: pools in order, each covering its columns by increasing coverage ratio."""
    units = np.atleast_2d(np.asarray(units, dtype=np.float64))
    active = problem.offer_active.toarray()
    pool_of = problem.offers["pool"].to_numpy()
    to_pool = np.zeros((problem.n_offers, problem.n_pools))
    to_pool[np.arange(problem.n_offers), pool_of] = 1.0
    capacity = problem.owned_capacity[None] + np.einsum("tk,bk,ki->bti", active, units, to_pool)
    remaining = np.broadcast_to(problem.demand_usd, capacity.shape[:1] + problem.demand_usd.shape)
    remaining = remaining.copy()
    ratio = problem.coverage.toarray()
    for i in np.argsort(problem.pools["order"].to_numpy(), kind="stable"):
        left = capacity[:, :, i].copy()
        for j in sorted(np.flatnonzero(ratio[i]), key=lambda j: (ratio[i, j], j)):
            take = np.minimum(remaining[:, :, j], left / ratio[i, j])
            remaining[:, :, j] -= take
            left = np.maximum(left - take * ratio[i, j], 0.0)
    rate = problem.period_weight * problem.period_discount
    on_demand = remaining.sum(axis=2) * rate  # batch × periods
    n_scenarios = len(problem.scenario_probability)
    per_scenario = np.stack(
        [on_demand[:, problem.period_scenario == s].sum(axis=1) for s in range(n_scenarios)],
        axis=1,
    )
    price = problem.offers["objective_usd_per_unit"].to_numpy()
    constants = problem.owned_cost_usd + problem.uncoverable_cost_usd
    cost = per_scenario + (units @ price)[:, None] + constants
    return cost[0] if cost.shape[0] == 1 else cost


def expected_bill(problem: CommitmentProblem, units: np.ndarray) -> float:
    """Expected greedy bill of one plan [USD]."""
    return float(problem.scenario_probability @ greedy_bill(problem, units))


def weighted_quantile(values: np.ndarray, weight: np.ndarray, level: float) -> float:
    """Smallest value whose cumulative weight reaches ``level`` of the total."""
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weight[order])
    return float(values[order][np.searchsorted(cumulative, level * cumulative[-1])])


def solved(problem: CommitmentProblem, **options: Any) -> OptimizationResult:
    result = solve_exact(problem, **options)
    assert result.status is OptimizationStatus.OPTIMAL, result.message
    return result


def solve_model(model: FullModel) -> Solution:
    solution = solve(model.program)
    assert solution.status is SolveStatus.OPTIMAL
    return solution


# -------------------------------------------------------------------------------------- tests


def one_pool_problem(demand: Any, discount: float = 0.3, **fields: Any) -> CommitmentProblem:
    """One Compute SP over one column at a flat discount."""
    demand = np.asarray(demand, dtype=np.float64).reshape(-1, 1)
    return problem_of(
        demand=demand,
        pools=[pool(COMPUTE_SP_POOL)],
        offers=[offer(0, 1.0)],
        coverage={(0, 0): 1 - discount},
        **fields,
    )


def test_hand_solved_one_pool() -> None:
    # Cost(q) = 4 · 0.7 q + Σ (D − q)⁺ with q the covered on-demand USD/h: slope −0.2 below
    # 4 (three hours above), +0.8 above (two hours), so q = 4, commitment 2.8 USD/h,
    # cost 11.2 + 6 + 6 = 23.2 against 24 on demand.
    problem = one_pool_problem([10.0, 10.0, 4.0, 0.0])
    result = solved(problem)
    assert result.units == pytest.approx([2.8], abs=1e-12)
    assert result.objective_usd == pytest.approx(23.2, abs=1e-12)
    assert result.expected_cost_usd == pytest.approx(23.2, abs=1e-12)
    assert result.scenario_cost_usd == pytest.approx([23.2], abs=1e-12)
    assert result.lower_bound_usd == result.upper_bound_usd == result.objective_usd
    assert result.method == "exact-lp"
    # The marginal unit is worth between its two one-sided slopes: 0.7 × (3 or 2) hours − 4.
    assert -4 + 2 / 0.7 - 1e-9 <= result.offer_marginal_usd[0] <= -4 + 3 / 0.7 + 1e-9

    model = build_full_lp(problem)
    # The hour without demand has no y and no capacity row.
    assert model.n_y == 3 and model.cells.period.tolist() == [0, 1, 2]
    assert model.program.n_rows == 3 and model.demand.index.size == 0
    x = solve_model(model).x
    assert model.covered_by_pool(x)[:, 0] == pytest.approx([4, 4, 4, 0], abs=1e-12)
    assert model.used_capacity(x)[:, 0] == pytest.approx([2.8, 2.8, 2.8, 0], abs=1e-12)
    assert model.covered_usd(x).toarray()[:, 0] == pytest.approx([4, 4, 4, 0], abs=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_closed_form_one_pool_flat_discount(seed: int) -> None:
    # Cost(q) = W (1 − d) q + Σ w_t (S_t − q)⁺ over the total hourly spend S_t (three columns,
    # one coverage ratio). Its slope on (S_(m), S_(m+1)) is (weight of hours ≤ q) − W d: the
    # covered spend grows while the hours whose spend exceeds it hold ≥ (1 − d) of the weight,
    # so q* = the weighted d-quantile of S and the commitment is (1 − d) q*.
    rng = np.random.default_rng(seed)
    n_periods, discount = 100, 0.2731
    demand = rng.gamma(3.0, 2.0, size=(n_periods, 3)) * (rng.random((n_periods, 3)) < 0.9)
    weight = rng.integers(1, 5, size=n_periods).astype(float)
    problem = problem_of(
        demand=demand,
        pools=[pool(COMPUTE_SP_POOL)],
        offers=[offer(0, 1.0)],
        coverage={(0, j): 1 - discount for j in range(3)},
        weight=weight,
    )
    spend = demand.sum(axis=1)
    q = weighted_quantile(spend, weight, discount)
    result = solved(problem)
    assert result.units[0] == pytest.approx((1 - discount) * q, rel=1e-9)
    cost = weight.sum() * (1 - discount) * q + weight @ np.maximum(spend - q, 0)
    assert result.objective_usd == pytest.approx(cost, rel=1e-9)


@pytest.mark.parametrize("seed", [4, 5])
def test_closed_form_ri_only_family(seed: int) -> None:
    # RI-only for the m5 family: normalized units n_t, on-demand p per NU-hour, RI e per NU-hour;
    # cost(x) = p [W (e/p) x + Σ w_t (n_t − x)⁺], so x* = the (1 − e/p)-quantile of the
    # normalized-unit duration curve.
    rng = np.random.default_rng(seed)
    n_periods, rate = 200, 0.0155
    units = rng.integers(0, 60, size=n_periods).astype(float)
    weight = rng.integers(1, 3, size=n_periods).astype(float)
    problem = problem_of(
        demand=(units * M5_NU)[:, None],
        pools=[ri_pool("m5")],
        offers=[offer(0, rate)],
        coverage={(0, 0): 1 / M5_NU},
        weight=weight,
    )
    level = 1 - rate / M5_NU
    assert level * weight.sum() % 1 > 1e-6  # no cumulative weight lands on the level
    result = solved(problem)
    assert result.units[0] == pytest.approx(weighted_quantile(units, weight, level), rel=1e-9)
    assert result.objective_usd == pytest.approx(expected_bill(problem, result.units), rel=1e-9)

    # Integer mode: whole m5.large (4 NU), the best multiple of 4 by brute force.
    integer = solved(problem, integer=True)
    assert integer.method == "exact-mip"
    assert integer.units[0] % 4 == 0
    candidates = np.arange(0, 64, 4, dtype=float)[:, None]
    best = greedy_bill(problem, candidates)[:, 0].min()
    assert integer.objective_usd == pytest.approx(best, rel=1e-9)
    assert integer.objective_usd >= result.objective_usd - 1e-9
    assert np.isnan(integer.offer_marginal_usd).all()


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_brute_force_grid(seed: int) -> None:
    problem = two_family_problem(seed)
    result = solved(problem)
    # The LP's objective is the greedy bill of its plan (RIs cover one column each, first).
    assert result.objective_usd == pytest.approx(expected_bill(problem, result.units), rel=1e-9)

    # Whole RIs (4 and 2 NU) and Compute SP commitments in 0.01 USD/h steps.
    sp_step = 0.01
    m5 = np.arange(0, 28, 4.0)
    c5 = np.arange(0, 26, 2.0)
    commitments = np.arange(0, 0.8, sp_step)
    grid = np.array(np.meshgrid(m5, c5, commitments, indexing="ij")).reshape(3, -1).T
    bills = greedy_bill(problem, grid)[:, 0]
    best = bills.min()
    assert result.objective_usd <= best + 1e-9
    # Resolution: rounding the LP plan to the grid moves each unit by at most half a step,
    # and one unit changes the bill by at most its price plus the on-demand it can cover.
    hours = problem.period_weight.sum()
    price = problem.offers["objective_usd_per_unit"].to_numpy()
    covers = hours / np.array([1 / M5_NU, 1 / C5_NU, 0.68])
    half_step = np.array([2.0, 1.0, sp_step / 2])
    assert best - result.objective_usd <= half_step @ (price + covers) + 1e-9
    assert grid[:, 2].max() > result.units[2]  # the grid spans the optimum


def test_lp_objective_is_the_greedy_bill_within_one_pool() -> None:
    # An EC2 Instance SP over three columns at different ratios, with an owned capacity of the
    # same pool kind first, two scenarios and a discount rate.
    rng = np.random.default_rng(7)
    n_periods = 48
    demand = rng.gamma(2.0, 1.5, size=(n_periods, 3))
    problem = problem_of(
        demand=demand,
        pools=[pool(EC2_SP_POOL, owned=True), pool(EC2_SP_POOL)],
        offers=[offer(1, 1.0)],
        coverage={(0, 0): 0.7, (0, 1): 0.72, (0, 2): 0.66, (1, 0): 0.7, (1, 1): 0.72, (1, 2): 0.66},
        owned_capacity=np.column_stack([np.full(n_periods, 0.8), np.zeros(n_periods)]),
        scenario=np.repeat([0, 1], n_periods // 2),
        probability=[0.3, 0.7],
        discount=0.999 ** np.arange(n_periods),
        owned_cost_usd=12.5,
        uncoverable_cost_usd=3.25,
    )
    result = solved(problem)
    assert result.units[0] > 0
    bill = greedy_bill(problem, result.units)
    assert result.scenario_cost_usd == pytest.approx(bill, rel=1e-9)
    assert result.objective_usd == pytest.approx(problem.scenario_probability @ bill, rel=1e-9)


def test_cross_pool_gap_is_optimistic() -> None:
    # Two columns; the EC2 SP (applied first) prefers column 0 (0.60 < 0.62), the Compute SP
    # covers column 0 far better (0.50) than column 1 (0.90). AWS's order spends the EC2 SP on
    # column 0; the LP swaps them. Commitments 0.62 and 0.5 USD/h, demand 1 USD/h a column:
    #   greedy: EC2 covers all of column 0 (0.6 used) and 0.02/0.62 of column 1; Compute
    #           covers 0.5/0.9 of column 1; 1 − 0.02/0.62 − 0.5/0.9 = 0.41 USD left on demand.
    #   LP:     EC2 on column 1 (0.62 covers all of it), Compute on column 0 (0.5 covers all).
    problem = problem_of(
        demand=[[1.0, 1.0]],
        pools=[pool(EC2_SP_POOL), pool(COMPUTE_SP_POOL)],
        offers=[offer(0, 1.0, lower=0.62, upper=0.62), offer(1, 1.0, lower=0.5, upper=0.5)],
        coverage={(0, 0): 0.60, (0, 1): 0.62, (1, 0): 0.50, (1, 1): 0.90},
    )
    result = solved(problem)
    assert result.objective_usd == pytest.approx(1.12, abs=1e-12)  # nothing on demand
    bill = expected_bill(problem, result.units)
    left = 1 - (0.62 - 0.6) / 0.62  # column 1 after the EC2 SP's 0.02 USD/h left
    assert bill == pytest.approx(1.12 + left - 0.5 / 0.9, abs=1e-12)
    assert bill > result.objective_usd + 0.2


def policy_problem(**fields: Any) -> CommitmentProblem:
    """m5 RIs (No Upfront, All Upfront) and a Compute SP over a m5 and a c5 column, 48 hours."""
    rng = np.random.default_rng(21)
    nu = rng.integers(5, 40, size=(48, 2)).astype(float)
    base = dict(
        demand=nu * np.array([M5_NU, C5_NU]),
        columns=[column("m5"), column("c5", price=C5_NU)],
        pools=[ri_pool("m5"), ri_pool("m5", payment_option="All Upfront"), pool(COMPUTE_SP_POOL)],
        offers=[offer(0, 0.0155), offer(1, 0.0150, upfront=0.0150 * 8_760), offer(2, 1.0)],
        coverage={(0, 0): 1 / M5_NU, (1, 0): 1 / M5_NU, (2, 0): 0.72, (2, 1): 0.68},
    )
    base.update(fields)
    return problem_of(**base)


def coverage_of(problem: CommitmentProblem, result: OptimizationResult) -> float:
    weight = problem.period_weight
    total = weight @ problem.demand_usd.sum(axis=1)
    left = (
        greedy_bill(problem, result.units)
        - result.units @ problem.offers["objective_usd_per_unit"].to_numpy()
    )[0]
    return float(1 - left / total)


def test_policy_upfront_and_hourly_caps() -> None:
    free = solved(policy_problem())
    offers = policy_problem().offers
    upfront_row = offers["upfront_usd_per_unit"].to_numpy()
    hourly_row = offers["effective_usd_per_unit_hour"].to_numpy()
    free_upfront = float(upfront_row @ free.units)
    free_hourly = float(hourly_row @ free.units)
    assert free_upfront > 100 and free_hourly > 0.5

    capped = solved(
        policy_problem(offer_rows=upfront_row, rows_upper=[100.0], row_names=["upfront_cap"])
    )
    assert upfront_row @ capped.units == pytest.approx(100.0, rel=1e-9)
    assert capped.objective_usd > free.objective_usd
    # The cap binds: one more All Upfront unit would save.
    assert capped.offer_marginal_usd[1] > 0

    hourly = solved(
        policy_problem(offer_rows=hourly_row, rows_upper=[0.5], row_names=["hourly_cap"])
    )
    assert hourly_row @ hourly.units == pytest.approx(0.5, rel=1e-9)
    assert hourly.objective_usd > free.objective_usd


def test_policy_coverage_bounds_and_custom_commitment() -> None:
    problem = policy_problem()
    free = solved(problem)
    free_coverage = coverage_of(problem, free)
    assert 0.5 < free_coverage < 0.95

    ceiling = with_fields(problem, coverage_upper=0.4)
    capped = solved(ceiling)
    assert coverage_of(ceiling, capped) == pytest.approx(0.4, rel=1e-9)
    target = with_fields(problem, coverage_lower=0.97)
    reached = solved(target)
    assert coverage_of(target, reached) == pytest.approx(0.97, rel=1e-9)
    assert reached.objective_usd > free.objective_usd

    custom = solved(
        policy_problem(
            offer_rows=[0.0, 0.0, 1.0],
            rows_lower=[0.2],
            rows_upper=[0.2],
            row_names=["custom_commitment"],
        )
    )
    assert custom.units[2] == pytest.approx(0.2, rel=1e-12)
    assert custom.units[2] != pytest.approx(free.units[2], rel=1e-3)


def test_policy_min_utilization() -> None:
    problem = policy_problem(min_utilization=0.98)
    result = solved(problem)
    model = build_full_lp(problem)
    x = solve_model(model).x
    weight = problem.period_weight
    used = weight @ model.used_capacity(x)
    bought = weight @ problem.pool_capacity(result.units)
    bought_pools = bought > 1e-9
    assert bought_pools.any()
    assert (used[bought_pools] / bought[bought_pools] >= 0.98 - 1e-9).all()
    free = solved(policy_problem())
    free_used = weight @ build_full_lp(policy_problem()).used_capacity(
        solve_model(build_full_lp(policy_problem())).x
    )
    free_bought = weight @ problem.pool_capacity(free.units)
    assert (free_used / np.maximum(free_bought, 1e-12))[free_bought > 0].min() < 0.98


def test_infeasible_policies_are_named() -> None:
    # Offers active in the first half only: a 90 % coverage target cannot be reached, whatever
    # is bought; only relaxing the target helps.
    n_periods = 48
    active = np.zeros((n_periods, 3))
    active[: n_periods // 2] = 1.0
    result = solve_exact(policy_problem(offer_active=active, coverage_lower=0.9))
    assert result.status is OptimizationStatus.INFEASIBLE
    assert "coverage target (`target_coverage`) limit binds" in result.message
    assert np.isnan(result.units).all()

    # A custom commitment of 5 USD/h cannot be 90 % used: either limit alone is the culprit.
    result = solve_exact(
        policy_problem(
            offer_rows=[0.0, 0.0, 1.0],
            rows_lower=[5.0],
            rows_upper=[5.0],
            row_names=["custom_commitment"],
            min_utilization=0.9,
        )
    )
    assert result.status is OptimizationStatus.INFEASIBLE
    assert "(custom_commitment, minimum utilization (`min_utilization`))" in result.message

    # The row names optimizer.build writes are shown readably.
    result = solve_exact(
        policy_problem(
            offer_rows=[[0.0, 0.0, 1.0], [0.0155, 0.015, 1.0]],
            rows_lower=[3.0, -np.inf],
            rows_upper=[3.0, 2.0],
            row_names=["custom_commitment_usd (compute-sp)", "max_hourly_commitment_usd"],
        )
    )
    assert result.status is OptimizationStatus.INFEASIBLE
    assert result.message == (
        "the policy cannot be met: these limits contradict each other (custom commitment "
        "(compute-sp), maximum hourly commitment (`max_hourly_commitment_usd`)); relaxing any one "
        "of them makes a plan possible"
    )

    # Only in whole RIs: at most 6 NU of m5 RIs (upper bound) but at least 5 NU bought
    # (a policy row) has no multiple of 4 NU in it.
    result = solve_exact(
        policy_problem(
            offers=[offer(0, 0.0155, upper=6.0), offer(1, 0.015, upper=0.0), offer(2, 1.0)],
            offer_rows=[1.0, 1.0, 0.0],
            rows_lower=[5.0],
            row_names=["least_ri"],
        ),
        integer=True,
    )
    assert result.status is OptimizationStatus.INFEASIBLE
    assert result.message == (
        "the policy cannot be met in whole RIs and $0.001 Savings Plan steps: these limits "
        "contradict each other (least_ri, fixed or bounded purchases); relaxing any one of "
        "them makes a plan possible"
    )

    # A fixed RI (rounding sets both bounds) above an upfront cap.
    result = solve_exact(
        policy_problem(
            offers=[
                offer(0, 0.0155),
                offer(1, 0.015, upfront=131.4, lower=8, upper=8),
                offer(2, 1.0),
            ],
            offer_rows=[0.0, 131.4, 0.0],
            rows_upper=[500.0],
            row_names=["upfront_cap"],
        )
    )
    assert result.status is OptimizationStatus.INFEASIBLE
    assert "(upfront_cap, fixed or bounded purchases)" in result.message


def test_cvar_two_scenarios() -> None:
    # One Compute SP over one column; scenario 0 low, scenario 1 high usage, 24 hours each.
    rng = np.random.default_rng(31)
    low, high = rng.uniform(0, 4, 24), rng.uniform(3, 12, 24)
    fields: dict[str, Any] = dict(
        demand=np.concatenate([low, high]),
        scenario=np.repeat([0, 1], 24),
        probability=[0.5, 0.5],
        cvar_alpha=0.5,
    )
    neutral = solved(one_pool_problem(**fields))
    assert neutral.objective_usd == pytest.approx(neutral.expected_cost_usd, rel=1e-12)
    bill = greedy_bill(one_pool_problem(**fields), neutral.units)
    assert neutral.expected_cost_usd == pytest.approx(bill.mean(), rel=1e-9)

    # λ = 0 with the CVaR variables present gives the same plan and cost.
    zero = solved(one_pool_problem(**fields, cvar_weight=1e-12))
    assert zero.expected_cost_usd == pytest.approx(neutral.expected_cost_usd, rel=1e-9)

    averse = solved(one_pool_problem(**fields, cvar_weight=1_000.0))
    worst_alone = solved(one_pool_problem(high))  # the high scenario's own optimum
    assert abs(averse.units[0] - worst_alone.units[0]) < abs(
        neutral.units[0] - worst_alone.units[0]
    )
    assert averse.units[0] == pytest.approx(worst_alone.units[0], rel=1e-9)
    averse_bill = greedy_bill(one_pool_problem(**fields), averse.units)
    assert averse.scenario_cost_usd == pytest.approx(averse_bill, rel=1e-9)
    assert averse_bill.max() <= bill.max() + 1e-9
    assert averse_bill.mean() >= bill.mean() - 1e-9
    # CVaR at 0.5 with two equal scenarios is the worst one.
    assert cvar(averse_bill, np.array([0.5, 0.5]), 0.5) == pytest.approx(averse_bill.max())
    assert averse.objective_usd == pytest.approx(
        averse_bill.mean() + 1_000.0 * averse_bill.max(), rel=1e-9
    )

    # Offer marginals with the scenario rows: about zero for the bought commitment.
    assert abs(averse.offer_marginal_usd[0]) < 1e-6 * averse.objective_usd


def test_integer_mode_whole_ris_and_sp_steps() -> None:
    problem = two_family_problem(14, n_periods=30)
    relaxed = solved(problem)
    integer = solved(problem, integer=True)
    assert integer.units[0] % 4 == 0 and integer.units[1] % 2 == 0
    thousandths = integer.units[2] / SP_STEP_USD
    assert thousandths == pytest.approx(np.round(thousandths), abs=1e-6)
    assert integer.objective_usd >= relaxed.objective_usd - 1e-9
    assert integer.objective_usd == pytest.approx(expected_bill(problem, integer.units), rel=1e-9)
    model = build_full_lp(problem, integer=True)
    assert model.program.integrality is not None
    assert model.program.integrality.tolist()[:3] == [1, 1, 1]
    assert model.offer_scale.tolist() == [4.0, 2.0, SP_STEP_USD]


def test_offer_marginals() -> None:
    # Nondegenerate: two hours of 10 USD/h, a Compute SP at 0.7 bounded to 2 USD/h (so every
    # hour is partly on demand) and a dearer one (1.5 USD per USD/h) not bought. One more unit
    # covers 1/0.7 USD in each hour: saves 2/0.7 − 2 and 2/0.7 − 3 per unit over the 2 hours.
    problem = problem_of(
        demand=[[10.0], [10.0]],
        pools=[pool(COMPUTE_SP_POOL)],
        offers=[offer(0, 1.0, upper=2.0), offer(0, 1.5)],
        coverage={(0, 0): 0.7},
    )
    result = solved(problem)
    assert result.units == pytest.approx([2.0, 0.0], abs=1e-12)
    assert result.offer_marginal_usd == pytest.approx([2 / 0.7 - 2, 2 / 0.7 - 3], rel=1e-12)

    # Degenerate (the commitment sits on a usage level): the duals are a subgradient. Bought
    # offers break even; forcing in an unbought one saves no more than its marginal says.
    problem = policy_problem()
    result = solved(problem)
    assert result.units[0] == 0 and result.units[1] > 0 and result.units[2] > 0
    assert result.offer_marginal_usd[1:] == pytest.approx([0, 0], abs=1e-9)
    offers = problem.offers.copy()
    offers["lower_bound_units"] = [0.5, 0.0, 0.0]
    forced = solved(with_fields(problem, offers=offers))
    saving = (result.objective_usd - forced.objective_usd) / 0.5
    assert saving == pytest.approx(-0.024, rel=1e-9)  # (0.0150 − 0.0155) × 48 h per NU
    assert result.offer_marginal_usd[0] >= saving - 1e-12

    model = build_full_lp(problem)
    solution = solve_model(model)
    value = model.capacity_value(solution.row_duals)
    assert value.shape == (problem.n_periods, problem.n_pools)
    assert (value >= -1e-12).all()
    # Σ_t capacity value of the bought All Upfront RI's pool equals its price (basic variable).
    price = problem.offers["objective_usd_per_unit"].to_numpy()
    assert value[:, 1].sum() == pytest.approx(price[1], rel=1e-9)


def test_layout_and_names() -> None:
    problem = policy_problem(
        offer_rows=[[0.0, 131.4, 0.0], [0.0155, 0.015, 1.0]],
        rows_upper=[500.0, 2.0],
        row_names=["upfront_cap", "hourly_cap"],
        coverage_upper=0.9,
        min_utilization=0.5,
        cvar_weight=0.5,
        scenario=np.repeat([0, 1], 24),
    )
    model = build_full_lp(problem)
    program = model.program
    n_periods = problem.n_periods
    # y: m5 covered by two RI pools and the SP, c5 by the SP, every hour has demand.
    assert model.n_y == n_periods * 4
    assert program.n_columns == 3 + model.n_y + 1 + 2
    assert model.capacity.index.size == n_periods * 3
    assert model.demand.index.size == n_periods  # only the m5 cells are shared
    assert program.n_rows == n_periods * 4 + 2 + 1 + 3 + 2
    names = program.column_names
    assert names is not None and program.row_names is not None
    assert names[0] == "x(0)_ri_us_east_1_m5_t0" and names[2] == "x(2)_csp_all_all_t0"
    assert names[3] == "y(0,0,0)" and names[-3:] == ("cvar_eta", "cvar_z(0)", "cvar_z(1)")
    assert program.row_names[0] == "cap(0,0)"
    assert program.row_names[model.demand.start] == "demand(0,0)"
    assert program.row_names[model.policy.start : model.policy.start + 2] == (
        "upfront_cap",
        "hourly_cap",
    )
    assert program.row_names[model.coverage.start]  # type: ignore[union-attr] == "coverage"
    assert program.row_names[-2:] == ("scenario_cost(0)", "scenario_cost(1)")
    for group in (names, program.row_names):
        assert len(set(group)) == len(group)
        assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_.(),]*", name) for name in group)
    assert [g.label for g in model.groups] == [
        "upfront_cap",
        "hourly_cap",
        "coverage ceiling",
        "minimum utilization",
        "offer bounds",
    ]
    assert build_full_lp(problem, names=False).program.column_names is None


def test_structurally_useless_cells_are_dropped() -> None:
    # Offer 1 (the SP) starts in period 2; the owned RI pool holds capacity in period 0 only;
    # column 1 has no demand in period 3.
    problem = problem_of(
        demand=[[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [1.0, 0.0]],
        pools=[ri_pool("m5", owned=True), pool(COMPUTE_SP_POOL)],
        offers=[offer(1, 1.0)],
        coverage={(0, 0): 1 / M5_NU, (1, 0): 0.7, (1, 1): 0.7},
        owned_capacity=[[10.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]],
        offer_active=np.array([[0.0], [0.0], [1.0], [1.0]]),
    )
    model = build_full_lp(problem)
    pools = model.cells.group_pool[model.cells.group]
    cells = set(zip(model.cells.period.tolist(), pools.tolist(), model.cells.column.tolist(),
                    strict=True))  # fmt: skip
    assert cells == {(0, 0, 0), (2, 1, 0), (2, 1, 1), (3, 1, 0)}
    result = solved(problem)
    assert result.objective_usd == pytest.approx(expected_bill(problem, result.units), rel=1e-12)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.sampled_from([0.5, 3.0, 10.0]))
def test_properties(seed: int, k: float) -> None:
    problem = two_family_problem(seed, n_periods=10)
    result = solved(problem)
    on_demand = float(problem.period_weight @ problem.demand_usd.sum(axis=1))
    assert result.objective_usd <= on_demand + 1e-9  # never worse than all on-demand
    # Scaling usage by k scales the optimal cost by k (and k × the plan is optimal).
    scaled = with_fields(problem, demand_usd=problem.demand_usd * k)
    scaled_result = solved(scaled)
    assert scaled_result.objective_usd == pytest.approx(k * result.objective_usd, rel=1e-9)
    assert expected_bill(scaled, k * result.units) == pytest.approx(
        scaled_result.objective_usd, rel=1e-9
    )
    # Owning more m5 RIs never raises the optimal cost (owned cost left out).
    pools = pd.concat([pd.DataFrame([ri_pool("m5", owned=True)]), problem.pools])
    pools["order"] = np.arange(len(pools))
    offers = problem.offers.assign(pool=problem.offers["pool"] + 1)
    owned = np.zeros((problem.n_periods, 1)) + 8.0
    more = with_fields(
        problem,
        pools=pools.reset_index(drop=True),
        offers=offers,
        coverage=sp.csr_array(sp.vstack([problem.coverage[[0]], problem.coverage])),
        owned_capacity=np.hstack([owned, problem.owned_capacity]),
    )
    assert solved(more).objective_usd <= result.objective_usd + 1e-9


def test_proportional_pools_share_one_allocation() -> None:
    # An owned m5 RI pool and two new ones (No Upfront, All Upfront) cover the m5 column with
    # the same row: one group, one y per cell. The plan is read back per pool in pools.order.
    owned = np.full((48, 1), 6.0)
    problem = policy_problem(
        pools=[ri_pool("m5", owned=True), ri_pool("m5"),
               ri_pool("m5", payment_option="All Upfront"), pool(COMPUTE_SP_POOL)],
        offers=[offer(1, 0.0155), offer(2, 0.0150, upfront=0.0150 * 8_760), offer(3, 1.0)],
        coverage={(0, 0): 1 / M5_NU, (1, 0): 1 / M5_NU, (2, 0): 1 / M5_NU, (3, 0): 0.72,
                  (3, 1): 0.68},
        owned_capacity=np.hstack([owned, np.zeros((48, 3))]),
    )  # fmt: skip
    assert build_full_lp(problem).cells.pool_group.tolist() == [0, 1, 2, 3]
    model = build_full_lp(problem, merge_pools=True)
    assert model.cells.pool_group.tolist() == [0, 0, 0, 1] and model.cells.group_pool.tolist() == [
        0,
        3,
    ]
    assert model.n_y == 48 * 3
    result = solved(problem)
    assert result.objective_usd == pytest.approx(expected_bill(problem, result.units), rel=1e-9)
    solution = solve_model(model)
    assert solution.objective_value == pytest.approx(result.objective_usd, rel=1e-12)
    x = solution.x
    used = model.used_capacity(x)
    capacity = problem.pool_capacity(model.units(x))
    assert (used <= capacity + 1e-9).all()
    # The group's use fills the owned pool first, then No Upfront (none bought), then All
    # Upfront (the LP may leave RI capacity idle where the SP has room: same cost).
    group = used[:, :3].sum(axis=1)
    assert group == pytest.approx(model.group_used(x)[:, 0] / M5_NU, rel=1e-12)
    assert used[:, 0] == pytest.approx(np.minimum(group, 6.0), abs=1e-9)
    assert used[:, 1] == pytest.approx(0.0, abs=1e-12)
    assert (used[:, 2] > 0).any()
    covered = model.covered_by_pool(x)
    assert covered.sum(axis=1) == pytest.approx(
        np.bincount(model.cells.period, x[model.y.start : model.y.start + model.n_y], 48)
    )
    assert model.covered_usd(x).toarray().reshape(48, 4, 2).sum(axis=2) == pytest.approx(covered)
    assert covered[:, 0] == pytest.approx(used[:, 0] * M5_NU, abs=1e-9)
    # Capacity values per pool: the same per unit for the three RI pools.
    value = model.capacity_value(solve_model(model).row_duals)
    assert value[:, 0] == pytest.approx(value[:, 2]) and value[:, 1] == pytest.approx(value[:, 2])
    # With a minimum utilization the new pools keep their own rows.
    separate = build_full_lp(with_fields(problem, min_utilization=0.5), merge_pools=True)
    assert separate.cells.pool_group.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("seed", "options"),
    [
        (41, {}),
        (42, {"owned": True, "n_scenarios": 2}),
        (43, {"owned": True, "n_scenarios": 3, "cvar_weight": 0.7, "cvar_alpha": 0.6}),
    ],
)
def test_matches_the_shared_lp_oracle(seed: int, options: dict[str, Any]) -> None:
    # tests/optimizer/tiny.py writes the same model its own way (no reductions, no groups).
    from tests.optimizer.tiny import random_tiny_problem, solve_lp

    problem = random_tiny_problem(seed, n_periods=8, n_columns=3, **options)
    oracle = solve_lp(problem)
    result = solved(problem)
    assert result.objective_usd == pytest.approx(oracle.objective_usd, rel=1e-9)
    merged = build_full_lp(problem, merge_pools=True)
    assert merged.n_groups == problem.n_pools - options.get("owned", False)
    solution = solve_model(merged)
    assert solution.objective_value == pytest.approx(oracle.objective_usd, rel=1e-9)
    assert merged.scenario_cost(solution.x) @ problem.scenario_probability == pytest.approx(
        result.expected_cost_usd, rel=1e-9
    )


def test_export_writes_the_named_model(tmp_path: Any) -> None:
    path = tmp_path / "model.lp"
    result = solved(policy_problem(), export_path=path)
    text = path.read_text()
    assert "x(1)_ri_us_east_1_m5_t0" in text and "cap(0,0)" in text and "demand(0,0)" in text
    assert result.units.shape == (3,)


def test_nothing_to_cover() -> None:
    # No demand: no y, no rows; the plan buys nothing and costs the constants.
    problem = one_pool_problem([0.0, 0.0], owned_cost_usd=5.0, uncoverable_cost_usd=2.0)
    model = build_full_lp(problem)
    assert model.n_y == 0 and model.program.n_rows == 0
    result = solved(problem)
    assert result.units == pytest.approx([0.0])
    assert result.objective_usd == pytest.approx(7.0)
