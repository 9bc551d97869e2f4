"""Hand-built tiny :class:`CommitmentProblem` instances for the plan, rounding and explain tests.

Prices are us-east-1's, rounded: m5.large Linux 0.096 USD/h on demand (0.024 USD per normalized
unit-hour, 4 NU per m5.large), 0.062 USD/h as a 1-year No Upfront standard RI; m5.large Windows
0.188 USD/h on demand. Savings Plan coverage ratios are SP rate ÷ on-demand rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linprog

from optimizer.build_offers import pool_row
from optimizer.problem import (
    COMPUTE_SP_POOL,
    EC2_SP_POOL,
    RI_POOL,
    CommitmentProblem,
)
from optimizer.result import OptimizationResult, OptimizationStatus

START = pd.Timestamp("2026-01-01", tz="UTC")
YEAR = pd.Timedelta(hours=8_760)
M5_NU_OD = 0.024
"""On-demand price of one m5 normalized unit-hour [USD/h]."""
WINDOWS_OD = 0.188
"""On-demand price of m5.large Windows [USD/h]."""

FAMILY_COLUMN: dict[str, Any] = {
    "region": "us-east-1",
    "instance_family": "m5",
    "instance_type": "",
    "platform": "Linux/UNIX",
    "tenancy": "Shared",
    "size_flexible": True,
    "on_demand_usd_per_unit": M5_NU_OD,
}
WINDOWS_COLUMN: dict[str, Any] = {
    "region": "us-east-1",
    "instance_family": "m5",
    "instance_type": "m5.large",
    "platform": "Windows",
    "tenancy": "Shared",
    "size_flexible": False,
    "on_demand_usd_per_unit": WINDOWS_OD,
}


def pool(kind: str, **fields: Any) -> dict[str, Any]:
    """A new pool row with defaults (1-year No Upfront standard)."""
    defaults: dict[str, Any] = {"payment_option": "No Upfront"}
    if kind == RI_POOL:
        defaults["offering_class"] = "standard"
    return pool_row(kind, **{**defaults, **fields})


def family_ri_pool(**fields: Any) -> dict[str, Any]:
    """The m5 family RI pool in us-east-1 (normalized units, bought as m5.large)."""
    row = {
        "region": "us-east-1",
        "instance_family": "m5",
        "platform": "Linux/UNIX",
        "tenancy": "Shared",
        "size_flexible": True,
        "unit": "normalized_units",
        "purchase_instance_type": "m5.large",
        "units_per_instance": 4.0,
    }
    return pool(RI_POOL, **{**row, **fields})


def windows_ri_pool(**fields: Any) -> dict[str, Any]:
    """The m5.large Windows RI pool in us-east-1 (instances)."""
    return pool(
        RI_POOL,
        region="us-east-1",
        instance_family="m5",
        instance_type="m5.large",
        platform="Windows",
        tenancy="Shared",
        unit="instances",
        purchase_instance_type="m5.large",
        **fields,
    )


def ec2_sp_pool(**fields: Any) -> dict[str, Any]:
    """An EC2 Instance Savings Plan pool for m5 in us-east-1."""
    return pool(EC2_SP_POOL, **{"region": "us-east-1", "instance_family": "m5", **fields})


def compute_sp_pool(**fields: Any) -> dict[str, Any]:
    """A Compute Savings Plan pool."""
    return pool(COMPUTE_SP_POOL, **fields)


def offer(
    pool_index: int,
    *,
    upfront: float = 0.0,
    recurring: float = 0.0,
    term_hours: float = 8_760.0,
    tranche: int = 0,
    start: pd.Timestamp = START,
    lower: float = 0.0,
    upper: float = np.inf,
    objective_hours: float | None = None,
) -> dict[str, Any]:
    """An offer row: prices per unit; objective = cost over ``objective_hours`` (the horizon)."""
    effective = upfront / term_hours + recurring
    return {
        "pool": pool_index,
        "tranche": tranche,
        "start": start,
        "end": start + pd.Timedelta(hours=term_hours),
        "upfront_usd_per_unit": upfront,
        "recurring_usd_per_unit_hour": recurring,
        "effective_usd_per_unit_hour": effective,
        "objective_usd_per_unit": effective * (objective_hours or 0.0),
        "lower_bound_units": lower,
        "upper_bound_units": upper,
    }


def make_problem(
    *,
    columns: Sequence[Mapping[str, Any]],
    pools: Sequence[Mapping[str, Any]],
    offers: Sequence[Mapping[str, Any]],
    coverage: Mapping[tuple[int, int], float],
    demand_usd: np.ndarray,
    period_weight: np.ndarray | None = None,
    owned_capacity: np.ndarray | None = None,
    offer_active: np.ndarray | None = None,
    offer_rows: np.ndarray | None = None,
    offer_rows_upper: Sequence[float] = (),
) -> CommitmentProblem:
    """A problem with one scenario, no discounting; objective rates over the weighted hours.

    Offers whose ``objective_usd_per_unit`` is 0 get their effective rate × total weight.
    """
    demand = np.asarray(demand_usd, dtype=np.float64)
    n_periods, n_columns = demand.shape
    weight = np.ones(n_periods) if period_weight is None else np.asarray(period_weight, float)
    pool_frame = pd.DataFrame(list(pools))
    pool_frame["order"] = np.arange(len(pool_frame))
    offer_frame = pd.DataFrame(list(offers))
    no_objective = offer_frame["objective_usd_per_unit"] == 0
    offer_frame.loc[no_objective, "objective_usd_per_unit"] = (
        offer_frame.loc[no_objective, "effective_usd_per_unit_hour"] * weight.sum()
    )
    rows, cols = zip(*coverage, strict=True) if coverage else ((), ())
    coverage_matrix = sp.csr_array(
        (np.array(list(coverage.values()), float), (np.array(rows, int), np.array(cols, int))),
        shape=(len(pool_frame), n_columns),
    )
    active = np.ones((n_periods, len(offer_frame))) if offer_active is None else offer_active
    limits = np.zeros((0, len(offer_frame))) if offer_rows is None else offer_rows
    hours = pd.date_range(START, periods=n_periods, freq="h")
    return CommitmentProblem(
        hours=hours,
        columns=pd.DataFrame(list(columns)),
        pools=pool_frame,
        offers=offer_frame,
        demand_usd=demand,
        period_weight=weight,
        period_scenario=np.zeros(n_periods, dtype=np.intp),
        period_discount=np.ones(n_periods),
        period_hour=np.arange(n_periods, dtype=np.intp),
        scenario_probability=np.ones(1),
        scenario_names=("lookback",),
        coverage=coverage_matrix,
        offer_active=sp.csr_array(np.asarray(active, dtype=np.float64)),
        owned_capacity=(
            np.zeros((n_periods, len(pool_frame)))
            if owned_capacity is None
            else np.asarray(owned_capacity, float)
        ),
        owned_cost_usd=0.0,
        uncoverable_cost_usd=0.0,
        dropped_keys=pd.DataFrame(),
        key_columns=pd.DataFrame(),
        offer_rows=sp.csr_array(np.asarray(limits, dtype=np.float64)),
        offer_rows_lower=np.full(len(limits), -np.inf),
        offer_rows_upper=np.asarray(offer_rows_upper, dtype=np.float64),
        offer_row_names=tuple(f"limit {n}" for n in range(len(limits))),
    )


def four_instrument_problem(demand_usd: np.ndarray | None = None) -> CommitmentProblem:
    """m5 family RIs, m5.large Windows RIs (Partial Upfront), an EC2 Instance SP (All Upfront)
    and a Compute SP (No Upfront) over a m5 family column and a Windows column.

    Offers: 0 family RI (0.062 USD/h per m5.large = 0.0155 per NU), 1 Windows RI (700 USD +
    0.08 USD/h per instance), 2 EC2 Instance SP (8,760 USD per USD/h), 3 Compute SP, 4 Compute
    SP in tranche 1 (starts a month later).
    """
    demand = (
        np.array([[48 * M5_NU_OD, 3 * WINDOWS_OD], [60 * M5_NU_OD, 4 * WINDOWS_OD]])
        if demand_usd is None
        else demand_usd
    )
    month = pd.Timedelta(hours=730)
    return make_problem(
        columns=[FAMILY_COLUMN, WINDOWS_COLUMN],
        pools=[
            family_ri_pool(),
            windows_ri_pool(payment_option="Partial Upfront"),
            ec2_sp_pool(payment_option="All Upfront"),
            compute_sp_pool(),
        ],
        offers=[
            offer(0, recurring=0.062 / 4),
            offer(1, upfront=700.0, recurring=0.08),
            offer(2, upfront=8_760.0),
            offer(3, recurring=1.0),
            offer(3, recurring=1.0, tranche=1, start=START + month),
        ],
        coverage={
            (0, 0): 1 / M5_NU_OD,
            (1, 1): 1 / WINDOWS_OD,
            (2, 0): 0.70,
            (2, 1): 0.85,
            (3, 0): 0.75,
            (3, 1): 0.90,
        },
        demand_usd=demand,
        offer_active=np.array([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], dtype=float),
    )


def exact_lp(problem: CommitmentProblem) -> OptimizationResult:
    """The full LP of a one-scenario problem, solved with scipy's HiGHS (a test oracle).

    Variables: the offers' units, then the on-demand USD/h covered per (period, coverage
    nonzero). No coverage bounds, minimum utilization or risk term (the tiny problems have none).
    """
    assert len(problem.scenario_probability) == 1 and problem.min_utilization == 0
    assert problem.coverage_lower == 0 and problem.coverage_upper == 1
    coverage = sp.coo_array(problem.coverage)
    n_periods, n_columns, n_pools = problem.n_periods, problem.n_columns, problem.n_pools
    n_offers, nnz = problem.n_offers, coverage.nnz
    entries = np.arange(nnz)
    demand_block = sp.csr_array((np.ones(nnz), (coverage.col, entries)), shape=(n_columns, nnz))
    capacity_block = sp.csr_array((coverage.data, (coverage.row, entries)), shape=(n_pools, nnz))
    eye = sp.identity(n_periods, format="csr")
    active = sp.coo_array(problem.offer_active)
    pool_of_offer = problem.offers["pool"].to_numpy(dtype=np.intp)
    bought = sp.csr_array(
        (-active.data, (active.row * n_pools + pool_of_offer[active.col], active.col)),
        shape=(n_periods * n_pools, n_offers),
    )
    rows = [
        sp.hstack([sp.csr_array((n_periods * n_columns, n_offers)), sp.kron(eye, demand_block)]),
        sp.hstack([bought, sp.kron(eye, capacity_block)]),
    ]
    bounds_ub = [problem.demand_usd.ravel(), problem.owned_capacity.ravel()]
    limits = sp.csr_array(problem.offer_rows)
    pad = sp.csr_array((limits.shape[0], n_periods * nnz))
    upper_rows = np.isfinite(problem.offer_rows_upper)
    if np.any(upper_rows):
        rows.append(sp.hstack([limits[upper_rows], pad[upper_rows]]))
        bounds_ub.append(problem.offer_rows_upper[upper_rows])
    weight = problem.period_weight * problem.period_discount
    objective = np.concatenate(
        [
            problem.offers["objective_usd_per_unit"].to_numpy(dtype=np.float64),
            -np.repeat(weight, nnz),
        ]
    )
    lower = problem.offers["lower_bound_units"].to_numpy(dtype=np.float64)
    upper = problem.offers["upper_bound_units"].to_numpy(dtype=np.float64)
    bounds = np.column_stack(
        [
            np.concatenate([lower, np.zeros(n_periods * nnz)]),
            np.concatenate([upper, np.full(n_periods * nnz, np.inf)]),
        ]
    )
    answer = linprog(
        objective,
        A_ub=sp.vstack(rows, format="csr"),
        b_ub=np.concatenate(bounds_ub),
        bounds=bounds,
        method="highs",
    )
    if answer.status != 0:
        return OptimizationResult(
            status=OptimizationStatus.INFEASIBLE,
            message=f"infeasible: {answer.message}",
            units=np.zeros(n_offers),
            objective_usd=np.inf,
            lower_bound_usd=np.inf,
            upper_bound_usd=np.inf,
            method="exact-lp",
            solver="scipy",
            seconds=0.0,
            iterations=0,
        )
    constant = float(weight @ problem.demand_usd.sum(axis=1))
    value = float(answer.fun) + constant + problem.owned_cost_usd + problem.uncoverable_cost_usd
    return OptimizationResult(
        status=OptimizationStatus.OPTIMAL,
        message="optimal",
        units=np.asarray(answer.x[:n_offers], dtype=np.float64),
        objective_usd=value,
        lower_bound_usd=value,
        upper_bound_usd=value,
        method="exact-lp",
        solver="scipy",
        seconds=0.0,
        iterations=int(answer.nit),
        offer_marginal_usd=np.zeros(n_offers),
    )


def realistic_problem(hours: int = 720, seed: int = 7) -> CommitmentProblem:
    """A month of hourly usage: m5 and c5 families (daily and weekly cycles, noise) and
    m5.large Windows, with family RIs (bought as m5.large / c5.large), Windows RIs, EC2 Instance
    SPs for both families and a Compute SP, all 1-year No Upfront, rates as in us-east-1."""
    rng = np.random.default_rng(seed)
    t = np.arange(hours)
    m5_nu = 200 + 80 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 15, hours)
    c5_nu = 120 + 40 * (t % 168 < 120) + rng.normal(0, 10, hours)
    windows = np.clip(np.rint(4 + 2 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1, hours)), 0, 8)
    c5_od = 0.085 / 4
    demand = np.column_stack(
        [np.maximum(m5_nu, 0) * M5_NU_OD, np.maximum(c5_nu, 0) * c5_od, windows * WINDOWS_OD]
    )
    c5_column = {**FAMILY_COLUMN, "instance_family": "c5", "on_demand_usd_per_unit": c5_od}
    return make_problem(
        columns=[FAMILY_COLUMN, c5_column, WINDOWS_COLUMN],
        pools=[
            family_ri_pool(),
            family_ri_pool(instance_family="c5", purchase_instance_type="c5.large"),
            windows_ri_pool(),
            ec2_sp_pool(),
            ec2_sp_pool(instance_family="c5"),
            compute_sp_pool(),
        ],
        offers=[
            offer(0, recurring=0.062 / 4),
            offer(1, recurring=0.054 / 4),
            offer(2, recurring=0.146),
            offer(3, recurring=1.0),
            offer(4, recurring=1.0),
            offer(5, recurring=1.0),
        ],
        coverage={
            (0, 0): 1 / M5_NU_OD,
            (1, 1): 1 / c5_od,
            (2, 2): 1 / WINDOWS_OD,
            (3, 0): 0.68,
            (3, 2): 0.85,
            (4, 1): 0.66,
            (5, 0): 0.73,
            (5, 1): 0.72,
            (5, 2): 0.88,
        },
        demand_usd=demand,
    )
