"""Small hand-made :class:`CommitmentProblem` instances, a benchmark generator and an LP oracle.

Shared by the optimizer tests (other helpers may copy its ideas; its owner is the cutting-plane
helper). Everything is built from plain arrays:

- :func:`make_problem` turns demand (periods × columns, on-demand USD/h), coverage ratios
  (pools × columns, capacity units per on-demand USD) and offers (pool, rate) into a problem;
- :func:`one_pool_problem` is the closed-form case (one column, one pool with a flat discount);
- :func:`random_tiny_problem` draws a few periods, columns and pools for property tests;
- :func:`random_problem` draws a benchmark-sized problem (hourly year, families of columns,
  RI / EC2 Instance SP / Compute SP pools, some owned capacity);
- :func:`solve_lp` solves the full hourly LP of the model with ``scipy.optimize.linprog``
  (HiGHS), the oracle every method is checked against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linprog

from optimizer.problem import (
    COLUMN_FIELDS,
    COMPUTE_SP_POOL,
    EC2_SP_POOL,
    OFFER_FIELDS,
    POOL_FIELDS,
    RI_POOL,
    CommitmentProblem,
)

FloatArray = npt.NDArray[np.float64]
START = pd.Timestamp("2026-01-01", tz="UTC")


def make_problem(
    demand: npt.ArrayLike,
    coverage: npt.ArrayLike,
    offer_pool: Sequence[int],
    offer_rate: Sequence[float],
    *,
    kinds: Sequence[str] | None = None,
    owned: Sequence[bool] | None = None,
    owned_capacity: npt.ArrayLike | None = None,
    period_weight: npt.ArrayLike | None = None,
    period_scenario: npt.ArrayLike | None = None,
    scenario_probability: npt.ArrayLike | None = None,
    period_discount: npt.ArrayLike | None = None,
    offer_active: npt.ArrayLike | None = None,
    offer_objective: npt.ArrayLike | None = None,
    lower_bounds: npt.ArrayLike | None = None,
    upper_bounds: npt.ArrayLike | None = None,
    offer_rows: npt.ArrayLike | None = None,
    offer_rows_lower: npt.ArrayLike | None = None,
    offer_rows_upper: npt.ArrayLike | None = None,
    coverage_lower: float = 0.0,
    coverage_upper: float = 1.0,
    min_utilization: float = 0.0,
    cvar_alpha: float = 0.95,
    cvar_weight: float = 0.0,
    owned_cost_usd: float = 0.0,
    uncoverable_cost_usd: float = 0.0,
) -> CommitmentProblem:
    """Build a :class:`CommitmentProblem` from plain arrays.

    Parameters
    ----------
    demand
        Periods × columns [USD/h].
    coverage
        Pools × columns, capacity units per on-demand USD (0: the pool cannot cover the column).
        Pools are applied in row order.
    offer_pool, offer_rate
        Pool of each offer and its effective price [USD per unit-hour].
    kinds
        Kind of each pool (default: single-column pools are RIs, the others Compute SPs).
    owned
        Whether each pool holds owned commitments (default: none).
    owned_capacity
        Periods × pools, or one value per pool for every period [units/h] (default 0).
    period_weight, period_scenario, scenario_probability, period_discount
        Period weights [h] (default 1), scenario of each period (default 0), scenario
        probabilities (default uniform) and present-value factors (default 1).
    offer_active
        Periods × offers, 1 where active (default: every offer in every period).
    offer_objective
        Objective cost of each offer [USD per unit]; default: the rate times the expected
        discounted active hours ``Σ_t p_s w_t f_t active_tk``.
    lower_bounds, upper_bounds
        Offer bounds [units] (default 0 and ``inf``).
    offer_rows, offer_rows_lower, offer_rows_upper
        Policy rows × offers and their bounds (default none).
    coverage_lower, coverage_upper, min_utilization, cvar_alpha, cvar_weight
        Policy limits and risk term, as in :class:`CommitmentProblem`.
    owned_cost_usd, uncoverable_cost_usd
        Constants of the objective [USD].
    """
    d = np.atleast_2d(np.asarray(demand, dtype=np.float64))
    cov = np.atleast_2d(np.asarray(coverage, dtype=np.float64))
    n_periods, n_columns = d.shape
    n_pools = cov.shape[0]
    if cov.shape[1] != n_columns:
        raise ValueError("coverage must have one column per demand column")
    pool_of = np.asarray(offer_pool, dtype=np.intp)
    rate = np.asarray(offer_rate, dtype=np.float64)
    n_offers = pool_of.size

    weight = _vector(period_weight, n_periods, 1.0)
    scenario = (
        np.zeros(n_periods, dtype=np.intp)
        if period_scenario is None
        else np.asarray(period_scenario, dtype=np.intp)
    )
    n_scenarios = int(scenario.max()) + 1 if n_periods else 1
    probability = _vector(scenario_probability, n_scenarios, 1.0 / n_scenarios)
    discount = _vector(period_discount, n_periods, 1.0)
    active = (
        np.ones((n_periods, n_offers))
        if offer_active is None
        else np.asarray(offer_active, dtype=np.float64)
    )
    if owned_capacity is None:
        owned_cap = np.zeros((n_periods, n_pools))
    else:
        owned_cap = np.asarray(owned_capacity, dtype=np.float64)
        if owned_cap.ndim == 1:
            owned_cap = np.broadcast_to(owned_cap, (n_periods, n_pools)).copy()
    if offer_objective is None:
        hours = (probability[scenario] * weight * discount) @ active
        objective = rate * hours
    else:
        objective = np.asarray(offer_objective, dtype=np.float64)

    if kinds is None:
        kinds = [RI_POOL if np.count_nonzero(row) == 1 else COMPUTE_SP_POOL for row in cov]
    owned_flags = [False] * n_pools if owned is None else [bool(o) for o in owned]

    # Scenarios share the hours: period p of scenario s stands for hour (rank of p in s).
    period_hour = np.zeros(n_periods, dtype=np.intp)
    for s in range(n_scenarios):
        members = np.flatnonzero(scenario == s)
        period_hour[members] = np.arange(members.size)
    n_hours = max(int(period_hour.max()) + 1 if n_periods else 0, 1)
    hours = pd.date_range(START, periods=n_hours, freq="h")

    columns = pd.DataFrame(
        {
            "region": "us-east-1",
            "instance_family": [f"f{j}" for j in range(n_columns)],
            "instance_type": "",
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "size_flexible": True,
            "on_demand_usd_per_unit": 1.0,
        },
        columns=list(COLUMN_FIELDS),
    )
    pools = pd.DataFrame(
        {
            "kind": list(kinds),
            "owned": owned_flags,
            "order": np.arange(n_pools),
            "region": "",
            "instance_family": "",
            "instance_type": "",
            "platform": "",
            "tenancy": "",
            "size_flexible": False,
            "unit": ["normalized_units" if kind == RI_POOL else "usd_per_hour" for kind in kinds],
            "offering_class": "standard",
            "term_years": 1,
            "payment_option": "No Upfront",
            "commitment_ids": "",
            "purchase_instance_type": "",
            "units_per_instance": 1.0,
        },
        columns=list(POOL_FIELDS),
    )
    offers = pd.DataFrame(
        {
            "pool": pool_of,
            "tranche": 0,
            "start": hours[0],
            "end": hours[-1] + pd.Timedelta(hours=1),
            "upfront_usd_per_unit": 0.0,
            "recurring_usd_per_unit_hour": rate,
            "effective_usd_per_unit_hour": rate,
            "objective_usd_per_unit": objective,
            "lower_bound_units": _vector(lower_bounds, n_offers, 0.0),
            "upper_bound_units": _vector(upper_bounds, n_offers, np.inf),
        },
        columns=list(OFFER_FIELDS),
    )
    if offer_rows is None:
        rows = sp.csr_array((0, n_offers))
        rows_lower = np.zeros(0)
        rows_upper = np.zeros(0)
    else:
        rows = sp.csr_array(np.atleast_2d(np.asarray(offer_rows, dtype=np.float64)))
        rows_lower = _vector(offer_rows_lower, rows.shape[0], -np.inf)
        rows_upper = _vector(offer_rows_upper, rows.shape[0], np.inf)
    key_columns = pd.DataFrame(
        {
            "key": [f"k{j}" for j in range(n_columns)],
            "column": np.arange(n_columns),
            "normalization_factor": 1.0,
            "on_demand_usd_per_hour": 1.0,
        }
    )
    return CommitmentProblem(
        hours=hours,
        columns=columns,
        pools=pools,
        offers=offers,
        demand_usd=d,
        period_weight=weight,
        period_scenario=scenario,
        period_discount=discount,
        period_hour=period_hour,
        scenario_probability=probability,
        scenario_names=tuple(f"s{s}" for s in range(n_scenarios)),
        coverage=sp.csr_array(cov),
        offer_active=sp.csr_array(active),
        owned_capacity=owned_cap,
        owned_cost_usd=owned_cost_usd,
        uncoverable_cost_usd=uncoverable_cost_usd,
        dropped_keys=pd.DataFrame(
            {"key": pd.Series(dtype=str), "cost_usd": pd.Series(dtype=float)}
        ),
        key_columns=key_columns,
        offer_rows=rows,
        offer_rows_lower=rows_lower,
        offer_rows_upper=rows_upper,
        offer_row_names=tuple(f"row{r}" for r in range(rows.shape[0])),
        coverage_lower=coverage_lower,
        coverage_upper=coverage_upper,
        min_utilization=min_utilization,
        cvar_alpha=cvar_alpha,
        cvar_weight=cvar_weight,
    )


def _vector(values: npt.ArrayLike | None, size: int, default: float) -> FloatArray:
    """``values`` as a float vector of ``size``, or ``default`` everywhere."""
    if values is None:
        return np.full(size, default)
    return np.broadcast_to(np.asarray(values, dtype=np.float64), (size,)).copy()


def one_pool_problem(
    spend: npt.ArrayLike, discount: float, *, weights: npt.ArrayLike | None = None
) -> CommitmentProblem:
    """One column, one Savings-Plan-like pool with a flat ``discount``, one offer at 1 USD/h.

    Covering one on-demand USD takes ``1 − discount`` units; a unit costs 1 USD per hour.
    The optimum covers up to the weighted ``discount``-quantile of the hourly spend (see
    :func:`one_pool_optimum`).
    """
    s = np.asarray(spend, dtype=np.float64).reshape(-1, 1)
    return make_problem(
        s, [[1.0 - discount]], [0], [1.0], kinds=[COMPUTE_SP_POOL], period_weight=weights
    )


def one_pool_optimum(
    spend: npt.ArrayLike, discount: float, *, weights: npt.ArrayLike | None = None
) -> float:
    """Optimal units of :func:`one_pool_problem` (closed form).

    With ``z`` the covered level [USD/h] and ``H = Σ w``, the cost is
    ``(1 − d) z H + Σ_t w_t (s_t − z)⁺``: its right slope ``(1 − d) H − Σ_{s_t > z} w_t`` turns
    non-negative at the smallest ``z = s_t`` with ``Σ_{s ≤ z} w ≥ d H``, the weighted
    ``d``-quantile. The optimal units are ``(1 − d) z``. Unique when no partial sum of the sorted
    weights equals ``d H`` exactly.
    """
    s = np.asarray(spend, dtype=np.float64)
    w = np.ones_like(s) if weights is None else np.asarray(weights, dtype=np.float64)
    order = np.argsort(s, kind="stable")
    cumulative = np.cumsum(w[order])
    index = int(np.searchsorted(cumulative, discount * cumulative[-1], side="left"))
    level = float(s[order][min(index, s.size - 1)]) if discount > 0 else 0.0
    return (1.0 - discount) * max(level, 0.0)


def random_tiny_problem(
    seed: int,
    *,
    n_periods: int = 6,
    n_columns: int = 3,
    n_scenarios: int = 1,
    nested: bool = True,
    owned: bool = False,
    cvar_weight: float = 0.0,
    cvar_alpha: float = 0.5,
    consistent: bool = False,
) -> CommitmentProblem:
    """A random small problem: one RI pool per column, one EC2-SP-like pool over the first
    two columns (when ``nested``) and one Compute-SP-like pool over all columns.

    Coverage ratios of the SP pools are ``1 − discount`` with discounts in [0.1, 0.5]; RI units
    are on-demand USD (ratio 1) at 0.45–0.75 USD per unit-hour. ``owned`` adds owned capacity
    to the RI pool of column 0. ``consistent`` draws SP ratios as AWS prices them,
    ``1 − s_j d`` with one discountable share ``s_j`` per column and one discount ``d`` per pool,
    so every pool orders the columns alike (the greedy is then the LP's allocation); otherwise
    each (pool, column) discount is independent and the greedy can leave the LP optimum.
    """
    rng = np.random.default_rng(seed)
    n_all = n_periods * n_scenarios
    demand = rng.gamma(2.0, 1.0, size=(n_all, n_columns)) * rng.choice(
        [0.0, 1.0], p=[0.15, 0.85], size=(n_all, n_columns)
    )
    ri = np.eye(n_columns)
    rows = [ri]
    kinds = [RI_POOL] * n_columns
    share = rng.uniform(0.4, 1.0, size=n_columns)
    if nested and n_columns >= 2:
        ec2 = np.zeros((1, n_columns))
        if consistent:
            ec2[0, :2] = 1.0 - share[:2] * rng.uniform(0.3, 0.5)
        else:
            ec2[0, :2] = 1.0 - rng.uniform(0.2, 0.5, size=2)
        rows.append(ec2)
        kinds.append(EC2_SP_POOL)
    if consistent:
        compute = (1.0 - share * rng.uniform(0.1, 0.3))[None, :]
    else:
        compute = (1.0 - rng.uniform(0.1, 0.4, size=n_columns))[None, :]
    rows.append(compute)
    kinds.append(COMPUTE_SP_POOL)
    coverage = np.vstack(rows)
    n_pools = coverage.shape[0]
    offer_pool = list(range(n_pools))
    rate = np.concatenate([rng.uniform(0.45, 0.75, size=n_columns), np.ones(n_pools - n_columns)])
    owned_capacity = np.zeros(n_pools)
    owned_flags = [False] * n_pools
    if owned:
        # One extra owned pool ahead of everything, on column 0.
        coverage = np.vstack([np.eye(1, n_columns), coverage])
        kinds = [RI_POOL, *kinds]
        owned_flags = [True, *owned_flags]
        owned_capacity = np.concatenate([[rng.uniform(0.5, 2.0)], owned_capacity])
        offer_pool = [p + 1 for p in offer_pool]
    return make_problem(
        demand,
        coverage,
        offer_pool,
        rate,
        kinds=kinds,
        owned=owned_flags,
        owned_capacity=owned_capacity,
        period_weight=rng.integers(1, 4, size=n_all).astype(np.float64),
        period_scenario=np.repeat(np.arange(n_scenarios), n_periods),
        scenario_probability=rng.dirichlet(np.ones(n_scenarios)),
        cvar_weight=cvar_weight,
        cvar_alpha=cvar_alpha,
    )


def with_loss_reference(problem: CommitmentProblem, share: float) -> CommitmentProblem:
    """``problem`` whose risk term counts only losses against ``share`` × each scenario's
    on-demand cost (:attr:`~optimizer.problem.CommitmentProblem.cvar_losses_only`).

    A share below 1 puts the loss of a good plan near 0 in some scenarios and above it in
    others, where the floor at 0 matters.
    """
    n_scenarios = problem.scenario_probability.size
    discounted = problem.period_weight * problem.period_discount * problem.demand_usd.sum(axis=1)
    on_demand = np.bincount(problem.period_scenario, weights=discounted, minlength=n_scenarios)
    reference = share * (on_demand + problem.uncoverable_cost_usd)
    return replace(problem, cvar_reference_usd=reference, cvar_losses_only=True)


def random_problem(
    n_periods: int,
    n_columns: int,
    seed: int,
    *,
    family_size: int = 3,
    ri_offerings: int = 2,
    sp_offerings: int = 1,
    owned_share: float = 0.2,
) -> CommitmentProblem:
    """A benchmark-sized problem: hourly demand with daily and weekly cycles, trends and noise.

    Columns come in families of ``family_size`` (the first of each is the size-flexible family
    column, the others exact keys). Pools, in AWS's order: an owned RI pool on a fifth of the
    family columns, ``ri_offerings`` new RI pools per column (identical coverage rows, different
    prices), ``sp_offerings`` EC2-Instance-SP pools per family and ``sp_offerings`` Compute-SP
    pools over every column.
    """
    rng = np.random.default_rng(seed)
    hours = np.arange(n_periods)
    scale = rng.lognormal(0.0, 1.0, size=n_columns)
    base = rng.uniform(0.2, 0.9, size=n_columns)
    daily = rng.uniform(0.0, 0.5, size=n_columns)
    weekly = rng.uniform(0.0, 0.3, size=n_columns)
    trend = rng.uniform(-0.3, 0.3, size=n_columns)
    phase = rng.uniform(0, 2 * np.pi, size=n_columns)
    shape = (
        base[None, :]
        + daily[None, :] * np.sin(2 * np.pi * hours[:, None] / 24 + phase[None, :])
        + weekly[None, :] * np.sin(2 * np.pi * hours[:, None] / 168)
        + trend[None, :] * hours[:, None] / max(n_periods, 1)
        + rng.normal(0.0, 0.1, size=(n_periods, n_columns))
    )
    demand = np.maximum(shape, 0.0) * scale[None, :]
    family = np.arange(n_columns) // family_size
    n_families = int(family.max()) + 1
    od_price = rng.uniform(0.02, 0.2, size=n_columns)

    blocks: list[FloatArray] = []
    kinds: list[str] = []
    owned_flags: list[bool] = []
    owned_cap: list[FloatArray] = []
    offer_pool: list[FloatArray] = []
    offer_rate: list[FloatArray] = []
    n_pools = 0
    family_columns = np.flatnonzero(np.arange(n_columns) % family_size == 0)
    owned_columns = family_columns[rng.random(family_columns.size) < owned_share]
    if owned_columns.size:
        blocks.append(
            sp.csr_array(
                (1.0 / od_price[owned_columns], (np.arange(owned_columns.size), owned_columns)),
                shape=(owned_columns.size, n_columns),
            ).toarray()
        )
        kinds += [RI_POOL] * owned_columns.size
        owned_flags += [True] * owned_columns.size
        level = np.quantile(demand[:, owned_columns], 0.2, axis=0) / od_price[owned_columns]
        owned_cap.append(level)
        n_pools += owned_columns.size
    # AWS discounts only the compute part of a rate: a column's coverage ratio for a plan with
    # discount d is 1 − s_j d, s_j its discountable share (1 for Linux family columns, less for
    # licensed exact keys). Orders of columns then agree between EC2 Instance and Compute SPs.
    share = np.where(np.arange(n_columns) % family_size == 0, 1.0, rng.uniform(0.4, 0.9, n_columns))
    ri_discount = rng.uniform(0.25, 0.45, size=n_columns)
    for offering in range(ri_offerings):
        blocks.append(np.diag(1.0 / od_price))
        kinds += [RI_POOL] * n_columns
        owned_flags += [False] * n_columns
        owned_cap.append(np.zeros(n_columns))
        offer_pool.append(n_pools + np.arange(n_columns, dtype=np.float64))
        offer_rate.append(od_price * (1.0 - ri_discount - 0.05 * offering))
        n_pools += n_columns
    family_discount = rng.uniform(0.22, 0.4, size=n_families)
    for offering in range(sp_offerings):
        ec2 = np.zeros((n_families, n_columns))
        ec2[family, np.arange(n_columns)] = 1.0 - share * (
            family_discount[family] + 0.04 * offering
        )
        blocks.append(ec2)
        kinds += [EC2_SP_POOL] * n_families
        owned_flags += [False] * n_families
        owned_cap.append(np.zeros(n_families))
        offer_pool.append(n_pools + np.arange(n_families, dtype=np.float64))
        offer_rate.append(np.ones(n_families))
        n_pools += n_families
    for offering in range(sp_offerings):
        blocks.append((1.0 - share * (0.17 + 0.04 * offering))[None, :])
        kinds.append(COMPUTE_SP_POOL)
        owned_flags.append(False)
        owned_cap.append(np.zeros(1))
        offer_pool.append(np.array([n_pools], dtype=np.float64))
        offer_rate.append(np.ones(1))
        n_pools += 1
    return make_problem(
        demand,
        np.vstack(blocks),
        np.concatenate(offer_pool).astype(np.intp).tolist(),
        np.concatenate(offer_rate).tolist(),
        kinds=kinds,
        owned=owned_flags,
        owned_capacity=np.concatenate(owned_cap),
    )


@dataclass(frozen=True)
class LpSolution:
    """The full hourly LP's optimum: objective [USD] (constants included) and units."""

    objective_usd: float
    units: FloatArray
    status: int
    message: str


def solve_lp(problem: CommitmentProblem, *, fixed_units: npt.ArrayLike | None = None) -> LpSolution:
    """Solve the model's full hourly LP with ``scipy.optimize.linprog`` (HiGHS).

    Variables: units ``x`` (offers), covered USD/h ``y[t, e]`` per period and coverage entry
    ``e = (pool, column)``, and with a risk term ``η`` and ``u_s`` (CVaR linearisation).
    ``fixed_units`` fixes ``x`` (the LP value of a given plan).
    """
    cov = problem.coverage.tocoo()
    e_pool, e_col, e_ratio = cov.row.astype(np.intp), cov.col.astype(np.intp), cov.data
    n_e = e_ratio.size
    n_t, n_j, n_p, n_k = problem.n_periods, problem.n_columns, problem.n_pools, problem.n_offers
    scen = problem.period_scenario
    n_s = problem.scenario_probability.size
    prob = problem.scenario_probability[scen]
    wf = problem.period_weight * problem.period_discount
    cvar = problem.cvar_weight > 0
    n_y = n_t * n_e
    n_var = n_k + n_y + (1 + n_s if cvar else 0)
    y0 = n_k
    c_units = problem.offers["objective_usd_per_unit"].to_numpy(dtype=np.float64)
    constant_s = (
        problem.owned_cost_usd
        + problem.uncoverable_cost_usd
        + np.bincount(scen, weights=wf * problem.demand_usd.sum(axis=1), minlength=n_s)
    )

    y_index = y0 + np.arange(n_y).reshape(n_t, n_e)
    t_of_y = np.repeat(np.arange(n_t), n_e)
    objective = np.zeros(n_var)
    objective[:n_k] = c_units
    objective[y0 : y0 + n_y] = -np.repeat(prob * wf, n_e)
    offset = float(problem.scenario_probability @ constant_s)
    if cvar:
        lam, alpha = problem.cvar_weight, problem.cvar_alpha
        objective[y0 + n_y] = lam
        objective[y0 + n_y + 1 :] = lam * problem.scenario_probability / (1.0 - alpha)

    rows: list[sp.coo_array] = []
    lower: list[FloatArray] = []
    upper: list[FloatArray] = []

    def add(
        r: FloatArray, c: FloatArray, v: FloatArray, n: int, lo: FloatArray, hi: FloatArray
    ) -> None:
        rows.append(sp.coo_array((v, (r, c)), shape=(n, n_var)))
        lower.append(lo)
        upper.append(hi)

    # Demand: sum over pools of y[t, (i, j)] <= d[t, j].
    add(
        (t_of_y * n_j + np.tile(e_col, n_t)).astype(np.float64),
        y_index.ravel().astype(np.float64),
        np.ones(n_y),
        n_t * n_j,
        np.full(n_t * n_j, -np.inf),
        problem.demand_usd.ravel(),
    )
    # Capacity: sum_j a y - sum_k active x <= owned.
    active = problem.offer_active.tocoo()
    pool_of_offer = problem.offers["pool"].to_numpy(dtype=np.intp)
    add(
        np.concatenate(
            [t_of_y * n_p + np.tile(e_pool, n_t), active.row * n_p + pool_of_offer[active.col]]
        ).astype(np.float64),
        np.concatenate([y_index.ravel(), active.col]).astype(np.float64),
        np.concatenate([np.tile(e_ratio, n_t), -active.data]),
        n_t * n_p,
        np.full(n_t * n_p, -np.inf),
        problem.owned_capacity.ravel(),
    )
    if problem.offer_rows.shape[0]:
        r = problem.offer_rows.tocoo()
        add(
            r.row.astype(np.float64),
            r.col.astype(np.float64),
            r.data,
            r.shape[0],
            problem.offer_rows_lower,
            problem.offer_rows_upper,
        )
    weight_cov = prob * problem.period_weight
    if problem.coverage_lower > 0 or problem.coverage_upper < 1:
        total = float(weight_cov @ problem.demand_usd.sum(axis=1))
        add(
            np.zeros(n_y),
            y_index.ravel().astype(np.float64),
            np.repeat(weight_cov, n_e),
            1,
            np.array([problem.coverage_lower * total]),
            np.array([problem.coverage_upper * total]),
        )
    if problem.min_utilization > 0:
        new = ~problem.pools["owned"].to_numpy(dtype=bool)
        u = problem.min_utilization
        add(
            np.concatenate([np.tile(e_pool, n_t), pool_of_offer[active.col]]).astype(np.float64),
            np.concatenate([y_index.ravel(), active.col]).astype(np.float64),
            np.concatenate(
                [
                    np.repeat(weight_cov, n_e) * np.tile(e_ratio, n_t),
                    -u * weight_cov[active.row] * active.data,
                ]
            ),
            n_p,
            np.where(new, 0.0, -np.inf),
            np.full(n_p, np.inf),
        )
    if cvar:
        # cost_s - eta - u_s <= 0  <=>  c.x - sum_{t in s} wf y - eta - u_s <= -constant_s
        units_idx = np.arange(n_k)
        s_rows = np.concatenate(
            [np.repeat(np.arange(n_s), n_k), scen[t_of_y], np.arange(n_s), np.arange(n_s)]
        )
        s_cols = np.concatenate(
            [
                np.tile(units_idx, n_s),
                y_index.ravel(),
                np.full(n_s, y0 + n_y),
                y0 + n_y + 1 + np.arange(n_s),
            ]
        )
        s_vals = np.concatenate(
            [np.tile(c_units, n_s), -np.repeat(wf, n_e), -np.ones(n_s), -np.ones(n_s)]
        )
        reference = problem.cvar_reference_usd
        measured = constant_s if reference is None else constant_s - reference
        add(
            s_rows.astype(np.float64),
            s_cols.astype(np.float64),
            s_vals,
            n_s,
            np.full(n_s, -np.inf),
            -measured,
        )
        if problem.cvar_losses_only:
            # (max(loss, 0) - eta)+ = max(loss - eta, -eta, 0): also -eta - u_s <= 0
            add(
                np.concatenate([np.arange(n_s), np.arange(n_s)]).astype(np.float64),
                np.concatenate([np.full(n_s, y0 + n_y), y0 + n_y + 1 + np.arange(n_s)]).astype(
                    np.float64
                ),
                -np.ones(2 * n_s),
                n_s,
                np.full(n_s, -np.inf),
                np.zeros(n_s),
            )

    matrix = sp.vstack(rows).tocsr()
    lo = np.concatenate(lower)
    hi = np.concatenate(upper)
    finite_hi = np.isfinite(hi)
    finite_lo = np.isfinite(lo)
    a_ub = sp.vstack([matrix[finite_hi], -matrix[finite_lo]]).tocsr()
    b_ub = np.concatenate([hi[finite_hi], -lo[finite_lo]])
    bounds_lo = np.zeros(n_var)
    bounds_hi = np.full(n_var, np.inf)
    bounds_lo[:n_k] = problem.offers["lower_bound_units"].to_numpy(dtype=np.float64)
    bounds_hi[:n_k] = problem.offers["upper_bound_units"].to_numpy(dtype=np.float64)
    if fixed_units is not None:
        fixed = np.asarray(fixed_units, dtype=np.float64)
        bounds_lo[:n_k] = fixed
        bounds_hi[:n_k] = fixed
    if cvar:
        bounds_lo[y0 + n_y] = -np.inf
    result: Any = linprog(
        objective,
        A_ub=a_ub,
        b_ub=b_ub,
        bounds=np.column_stack([bounds_lo, bounds_hi]),
        method="highs",
    )
    if result.status != 0:
        return LpSolution(float("nan"), np.zeros(n_k), int(result.status), str(result.message))
    return LpSolution(
        float(result.fun) + offset, np.asarray(result.x[:n_k]), 0, str(result.message)
    )


__all__ = [
    "LpSolution",
    "make_problem",
    "one_pool_optimum",
    "one_pool_problem",
    "random_problem",
    "random_tiny_problem",
    "solve_lp",
    "with_loss_reference",
]
