"""Bill a plan on every period with the greedy allocation, and price its capacity.

:func:`evaluate` applies the billing rule of the reduced model to offer quantities ``units``:
pools in ``pools.order``, each covering its columns in increasing coverage ratio (ties: lower
column index) until the demand left or its capacity in the period runs out. It is vectorised over
periods (in cache-sized blocks, two threads); the Python loop runs over *stages* of pools only.
The fill itself, and the reverse pass's step, are the billing kernel's (:mod:`billing.fill`).

Besides the cost it reconstructs, period by period, a solution of the dual of the hourly LP
(maximise covered USD subject to demand and capacity)::

    min Σ_j d_j π_j + Σ_i C_i μ_i   s.t.   π_j + a_ij μ_i ≥ 1  (a_ij > 0),   π, μ ≥ 0

processing pools in reverse order: a pool whose capacity binds has ``μ_i = (1 − π_j*) / a_ij*``
at its marginal column ``j*`` (``π_j*`` being what downstream pools make of that column's
leftover), and every column the pool covers gets ``π_j = max(π_j, 1 − a_ij μ_i)``. The result is
always dual feasible, so by weak duality, for *any* plan ``x'``::

    uncovered_t(x') ≥ Σ_j d_tj (1 − π_tj) − Σ_i C_ti(x') μ_ti

— a valid linear lower bound of each period's on-demand cost (the cutting planes' cuts). Within
one pool the greedy is the LP optimum (a fractional knapsack) and the bound is tight at ``x``.
Across pools the greedy can leave the LP optimum (an earlier pool takes a column a later pool
needed more); the bound then stays valid but is below the greedy's cost, and
:attr:`Evaluation.dual_gap_usd` measures by how much (0 when the greedy is LP-optimal).

Exact reductions used for speed: pools whose column sets are disjoint commute, so the pools are
layered into stages of pairwise disjoint pools (a pool's stage is one more than the latest stage
of an earlier pool sharing a column); consecutive single-column pools with the same column and
ratio act as one pool of their summed capacity (their members use it in order).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final, TypeVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from billing.fill import Stage, fill_stages, stage_prices
from optimizer.cvar import risk_of
from optimizer.problem import CommitmentProblem, FloatArray, IntArray

BLOCK_BYTES: Final = 1 << 21
"""Target size of one periods × columns block of the vectorised pass [bytes]."""
THREADS: Final = 2
"""Threads evaluating blocks of periods in parallel (numpy releases the GIL)."""

_Part = TypeVar("_Part")


@dataclass(frozen=True, eq=False)
class Evaluation:
    """A plan billed with the greedy allocation, with its subgradient and capacity prices.

    Attributes
    ----------
    objective_usd
        Expected cost plus ``cvar_weight`` × CVaR of the scenario costs [USD].
    expected_cost_usd
        Σ_s p_s cost_s [USD].
    cvar_usd
        CVaR at ``cvar_alpha`` of the scenario costs [USD].
    scenario_cost_usd
        Cost of each scenario: commitments (``objective_usd_per_unit · units`` plus the owned
        cost), on-demand spend left uncovered in its periods (weighted, discounted) and the
        uncoverable constant [USD].
    scenario_weight
        ∂objective/∂cost_s: ``p_s + cvar_weight · q_s`` with ``q`` the CVaR tail weights [1].
    commitment_cost_usd
        ``objective_usd_per_unit · units + owned_cost_usd`` [USD].
    period_cost_usd
        On-demand cost left in each period: ``w_t f_t Σ_j uncovered_tj`` [USD].
    period_bound_usd
        The dual bound of that cost at ``units`` (≤ ``period_cost_usd``; equal when the greedy is
        LP-optimal in the period) [USD].
    demand_value_usd
        ``Σ_j d_tj π_tj`` per period: covered USD/h the bound credits to the demand [USD/h].
    capacity_price
        Periods × pools, ``μ_ti``: on-demand USD per hour saved by one more unit of capacity
        in one hour of the period [USD per unit-hour].
    capacity_value_usd
        Periods × pools, ``w_t f_t μ_ti``: USD saved over the period by one more unit of
        capacity [USD per unit].
    subgradient
        ∂objective/∂units: ``Σ_s ρ_s · objective_usd_per_unit_k − Σ_t ρ_s(t) active_tk
        capacity_value_usd[t, pool(k)]`` with ρ = :attr:`scenario_weight` (Σ_s ρ_s =
        1 + cvar_weight: every scenario pays the commitments) [USD per unit].
    capacity
        Periods × pools: owned plus bought capacity [units/h].
    used_capacity
        Periods × pools: capacity used by the greedy [units/h].
    covered_usd
        Periods × pools: on-demand USD/h each pool covers [USD/h].
    uncovered_usd
        Periods × columns: demand left on demand [USD/h].
    coverage_ratio
        Expected covered ÷ expected total on-demand-equivalent cost (weights ``w_t p_s``,
        undiscounted) [1].
    pool_utilization
        Expected used ÷ expected capacity of each pool (``nan`` without capacity) [1].
    dual_gap_usd
        Σ_t p_s (``period_cost_usd − period_bound_usd``): how far the greedy is from the
        hourly LP's optimum at ``units`` (0 within one pool) [USD].
    """

    objective_usd: float
    expected_cost_usd: float
    cvar_usd: float
    scenario_cost_usd: FloatArray
    scenario_weight: FloatArray
    commitment_cost_usd: float
    period_cost_usd: FloatArray
    period_bound_usd: FloatArray
    demand_value_usd: FloatArray
    capacity_price: FloatArray
    capacity_value_usd: FloatArray
    subgradient: FloatArray
    capacity: FloatArray
    used_capacity: FloatArray
    covered_usd: FloatArray
    uncovered_usd: FloatArray
    coverage_ratio: float
    pool_utilization: FloatArray
    dual_gap_usd: float


@dataclass(frozen=True, eq=False)
class Structure:
    """What :func:`bill` precomputes once per problem.

    Attributes
    ----------
    stages
        Stages of greedy units, in application order.
    unit_of_pool
        Greedy unit of each pool (−1 for a pool that covers nothing).
    members
        Pools sorted by (unit, order): members of each unit use its capacity in this order.
    n_units
        Number of greedy units.
    pattern_of_offer
        Index of each offer's activity pattern (distinct columns of ``offer_active``).
    patterns
        Periods × patterns: 1 where the pattern is active.
    pool_of_offer
        Pool of each offer.
    unit_of_offer
        Greedy unit of each offer's pool (−1 when it covers nothing).
    owned_unit_capacity
        Units × periods: owned capacity of each greedy unit [units/h].
    demand_t
        Columns × periods: the demand, transposed (contiguous) [USD/h].
    """

    stages: tuple[Stage, ...]
    unit_of_pool: IntArray
    members: IntArray
    n_units: int
    pattern_of_offer: IntArray
    patterns: FloatArray
    pool_of_offer: IntArray
    unit_of_offer: IntArray
    owned_unit_capacity: FloatArray
    demand_t: FloatArray


_STRUCTURES: weakref.WeakKeyDictionary[CommitmentProblem, Structure] = weakref.WeakKeyDictionary()


def structure(problem: CommitmentProblem) -> Structure:
    """The precomputed stages and activity patterns of ``problem`` (cached per problem)."""
    cached = _STRUCTURES.get(problem)
    if cached is None:
        cached = _build_structure(problem)
        _STRUCTURES[problem] = cached
    return cached


def _build_structure(problem: CommitmentProblem) -> Structure:
    coverage = sp.csr_array(problem.coverage, copy=True)
    coverage.eliminate_zeros()
    order = np.argsort(problem.pools["order"].to_numpy(), kind="stable")
    last_unit = np.full(problem.n_columns, -1, dtype=np.intp)
    unit_level: list[int] = []
    unit_columns: list[IntArray] = []
    unit_ratios: list[FloatArray] = []
    unit_of_pool = np.full(problem.n_pools, -1, dtype=np.intp)
    level_of_column = np.zeros(problem.n_columns, dtype=np.intp)
    for pool in order:
        lo, hi = coverage.indptr[pool], coverage.indptr[pool + 1]
        cols = coverage.indices[lo:hi].astype(np.intp)
        ratios = coverage.data[lo:hi].astype(np.float64)
        if cols.size == 0:
            continue
        if cols.size == 1:
            previous = int(last_unit[cols[0]])
            if (
                previous >= 0
                and unit_columns[previous].size == 1
                and unit_ratios[previous][0] == ratios[0]
            ):
                unit_of_pool[pool] = previous
                continue
        sequence = np.lexsort((cols, ratios))
        level = int(level_of_column[cols].max()) + 1
        unit = len(unit_level)
        unit_level.append(level)
        unit_columns.append(cols[sequence])
        unit_ratios.append(ratios[sequence])
        unit_of_pool[pool] = unit
        level_of_column[cols] = level
        last_unit[cols] = unit

    levels = np.asarray(unit_level, dtype=np.intp)
    stages: list[Stage] = []
    for level in np.unique(levels):
        units = np.flatnonzero(levels == level)
        lengths = np.array([unit_columns[u].size for u in units], dtype=np.intp)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.intp)
        stages.append(
            Stage(
                units=units,
                columns=np.concatenate([unit_columns[u] for u in units]),
                ratios=np.concatenate([unit_ratios[u] for u in units]),
                segment=np.repeat(np.arange(units.size), lengths),
                starts=starts,
                single=bool((lengths == 1).all()),
            )
        )

    rank = np.empty(problem.n_pools, dtype=np.intp)
    rank[order] = np.arange(problem.n_pools)
    covering = np.flatnonzero(unit_of_pool >= 0)
    members = covering[np.lexsort((rank[covering], unit_of_pool[covering]))]
    n_units = len(unit_level)
    owned_pools = members[np.asarray(problem.owned_capacity.any(axis=0))[members]]
    if owned_pools.size:
        owned = np.zeros((n_units, problem.n_periods))
        np.add.at(owned, unit_of_pool[owned_pools], problem.owned_capacity[:, owned_pools].T)
    else:  # nothing owned: a read-only view of zeros, not units × periods of them
        owned = np.broadcast_to(np.zeros((1, problem.n_periods)), (n_units, problem.n_periods))

    pattern_of_offer, patterns = _activity_patterns(problem.offer_active, problem.n_offers)
    pool_of_offer = problem.offers["pool"].to_numpy(dtype=np.intp)
    return Structure(
        stages=tuple(stages),
        unit_of_pool=unit_of_pool,
        members=members,
        n_units=n_units,
        pattern_of_offer=pattern_of_offer,
        patterns=patterns,
        pool_of_offer=pool_of_offer,
        unit_of_offer=unit_of_pool[pool_of_offer],
        owned_unit_capacity=owned,
        demand_t=np.ascontiguousarray(problem.demand_usd.T),
    )


def _activity_patterns(active: sp.csr_array, n_offers: int) -> tuple[IntArray, FloatArray]:
    """Distinct columns of ``active`` (periods × offers): index per offer, periods × patterns."""
    csc = sp.csc_array(active)
    seen: dict[bytes, int] = {}
    pattern_of_offer = np.zeros(n_offers, dtype=np.intp)
    columns: list[int] = []
    for k in range(n_offers):
        lo, hi = csc.indptr[k], csc.indptr[k + 1]
        key = csc.indices[lo:hi].tobytes() + np.asarray(csc.data[lo:hi], np.float64).tobytes()
        index = seen.setdefault(key, len(seen))
        if index == len(columns):
            columns.append(k)
        pattern_of_offer[k] = index
    patterns = np.asarray(csc[:, columns].todense(), dtype=np.float64).reshape(
        active.shape[0], len(columns)
    )
    return pattern_of_offer, patterns


@dataclass(frozen=True, eq=False)
class Billing:
    """The greedy's result at the level of greedy units, periods along the last axis.

    Attributes
    ----------
    unit_capacity, unit_used, unit_covered, unit_price
        Units × periods: capacity [units/h], used capacity [units/h], covered on-demand
        [USD/h] and capacity price ``μ`` [USD per unit-hour].
    uncovered_total
        Σ_j uncovered demand per period [USD/h].
    demand_value
        Σ_j d_tj π_tj per period [USD/h].
    capacity_credit
        Σ_u C_ut μ_ut per period [USD/h].
    uncovered
        Columns × periods of uncovered demand, when asked for [USD/h].
    """

    unit_capacity: FloatArray
    unit_used: FloatArray
    unit_covered: FloatArray
    unit_price: FloatArray
    uncovered_total: FloatArray
    demand_value: FloatArray
    capacity_credit: FloatArray
    uncovered: FloatArray | None


def unit_capacity(problem: CommitmentProblem, units: FloatArray) -> FloatArray:
    """Units × periods: owned capacity plus the active offers' units, per greedy unit (a bill
    without ``usage`` builds it a block of periods at a time instead)."""
    info = structure(problem)
    return _capacity_block(info, _bought(info, units), slice(None))


def _bought(info: Structure, units: FloatArray) -> FloatArray:
    """Patterns × units: the offers' units bought, by activity pattern and greedy unit."""
    keep = info.unit_of_offer >= 0
    bought = np.zeros((info.patterns.shape[1], info.n_units))
    np.add.at(
        bought,
        (info.pattern_of_offer[keep], info.unit_of_offer[keep]),
        np.asarray(units, dtype=np.float64)[keep],
    )
    return bought


def _capacity_block(info: Structure, bought: FloatArray, rows: slice) -> FloatArray:
    """Units × the periods ``rows``: owned plus bought capacity (one pattern at a time, no
    matrix product: the blocks run in threads, and OpenBLAS's own threads would share them)."""
    capacity = np.array(info.owned_unit_capacity[:, rows], dtype=np.float64)
    for pattern in np.flatnonzero(bought.any(axis=1)):
        capacity += bought[pattern][:, None] * info.patterns[rows, pattern]
    return capacity


def bill(
    problem: CommitmentProblem,
    units: FloatArray,
    *,
    detail: bool = False,
    prices: bool = True,
    usage: bool = True,
) -> Billing:
    """Run the greedy and its dual reconstruction on every period (units level).

    Parameters
    ----------
    problem
        The reduced problem.
    units
        Quantity of each offer [units].
    detail
        Also keep the uncovered demand per column and period.
    prices
        Run the dual reconstruction; without it ``unit_price``, ``demand_value`` and
        ``capacity_credit`` are zeros (the allocation alone, in about a third of the time).
    usage
        Keep ``unit_capacity``, ``unit_used`` and ``unit_covered``; without it they are empty
        (0 × 0) and the capacity is built block by block: the cutting planes read only prices
        and totals, and three units × periods arrays fewer took a bill of the 1,000-key
        benchmark's lookback from 0.54 s to 0.30 s.
    """
    info = structure(problem)
    bought = _bought(info, units)
    capacity = _capacity_block(info, bought, slice(None)) if usage else None
    n_periods = problem.n_periods
    n_units = info.n_units
    used = np.zeros((n_units, n_periods)) if usage else None
    covered = np.zeros((n_units, n_periods)) if usage else None
    price = np.zeros((n_units, n_periods))
    uncovered_total = np.zeros(n_periods)
    demand_value = np.zeros(n_periods)
    capacity_credit = np.zeros(n_periods)
    uncovered = np.zeros((problem.n_columns, n_periods)) if detail else None
    blocks = period_blocks(n_periods, problem.n_columns)

    def work(rows: slice) -> None:
        demand = info.demand_t[:, rows]
        cap = capacity[:, rows] if capacity is not None else _capacity_block(info, bought, rows)
        residual, value = _run_block(
            demand, cap, info.stages, used, covered, price if prices else None, rows
        )
        uncovered_total[rows] = residual.sum(axis=0)
        if value is not None:
            demand_value[rows] = np.einsum("jt,jt->t", demand, value)
            capacity_credit[rows] = np.einsum("ut,ut->t", cap, price[:, rows])
        if uncovered is not None:
            uncovered[:, rows] = residual

    in_threads(work, blocks)
    empty = np.zeros((0, 0))
    return Billing(
        unit_capacity=capacity if capacity is not None else empty,
        unit_used=used if used is not None else empty,
        unit_covered=covered if covered is not None else empty,
        unit_price=price,
        uncovered_total=uncovered_total,
        demand_value=demand_value,
        capacity_credit=capacity_credit,
        uncovered=uncovered,
    )


def _run_block(
    demand: FloatArray,
    capacity: FloatArray,
    stages: tuple[Stage, ...],
    used_out: FloatArray | None,
    covered_out: FloatArray | None,
    price_out: FloatArray | None,
    rows: slice,
) -> tuple[FloatArray, FloatArray | None]:
    """Greedy pass and dual reconstruction on columns × periods ``demand``; returns the
    residual demand and the column values ``π`` (``None``, and no prices, without
    ``price_out``). ``used_out`` and ``covered_out`` are written when given."""
    residual = np.array(demand, copy=True)
    leftovers: list[FloatArray] = []
    for stage, covered, left in fill_stages(residual, capacity, stages):
        leftovers.append(left)
        if used_out is None or covered_out is None:
            continue
        ratios = stage.ratios[:, None]
        if stage.single:
            used = covered * ratios
            covered_out[stage.units, rows] = covered
        else:
            used = np.add.reduceat(covered * ratios, stage.starts, axis=0)
            covered_out[stage.units, rows] = np.add.reduceat(covered, stage.starts, axis=0)
        used_out[stage.units, rows] = used
    if price_out is None:
        return residual, None

    value = np.zeros_like(residual)
    for stage, left in zip(reversed(stages), reversed(leftovers), strict=True):
        price_out[stage.units, rows] = stage_prices(stage, left, value)
    return residual, value


@dataclass(frozen=True, eq=False)
class PricedTerms:
    """Group sums of a dual solution whose last stage's prices were fixed in advance.

    Attributes
    ----------
    column_value
        Columns × groups: ``Σ_{t∈g} W_tg d_tj (1 − π_tj)`` [USD].
    capacity_credit
        Units × groups: ``Σ_{t∈g} W_tg C_tu μ_tu`` [USD].
    unit_value
        Patterns × units × groups: ``Σ_{t∈g} W_tg pattern_p(t) μ_tu`` [USD per unit].
    """

    column_value: FloatArray
    capacity_credit: FloatArray
    unit_value: FloatArray


def priced_terms(
    problem: CommitmentProblem,
    units: FloatArray,
    last_prices: list[FloatArray],
    group_weight: FloatArray,
) -> list[PricedTerms]:
    """Greedy at ``units``, then one dual per price of the last stage, summed over groups.

    With the prices ``μ`` of the last stage's units fixed (any values ≥ 0), the reverse pass
    still yields a dual-feasible ``(π, μ)``: each earlier stage prices its capacity against what
    later stages make of its leftovers. Its bound therefore splits into independent pieces for
    the connected components of columns that the earlier stages link (the cutting planes'
    disaggregated cuts).

    Parameters
    ----------
    problem
        The reduced problem.
    units
        Quantity of each offer [units].
    last_prices
        Each: last-stage units × periods of fixed capacity prices [USD per unit-hour].
    group_weight
        Periods × groups: weight of each period in each group's sum [h].
    """
    info = structure(problem)
    bought = _bought(info, units)
    n_groups = group_weight.shape[1]
    n_patterns = info.patterns.shape[1]
    blocks = period_blocks(problem.n_periods, problem.n_columns)

    def work(rows: slice) -> list[tuple[FloatArray, FloatArray, FloatArray]]:
        demand = info.demand_t[:, rows]
        cap = _capacity_block(info, bought, rows)
        leftovers = _forward_leftovers(demand, cap, info.stages)
        weight = group_weight[rows]
        out = []
        for fixed in last_prices:
            value, price = _reverse_fixed(info, leftovers, fixed[:, rows], demand.shape)
            np.subtract(1.0, value, out=value)
            value *= demand
            column_value = value @ weight
            credit = (cap * price) @ weight
            per_pattern = np.stack(
                [price @ (weight * info.patterns[rows, p][:, None]) for p in range(n_patterns)]
            )
            out.append((column_value, credit, per_pattern))
        return out

    parts = in_threads(work, blocks)
    results = []
    for index in range(len(last_prices)):
        column_value = np.zeros((problem.n_columns, n_groups))
        credit = np.zeros((info.n_units, n_groups))
        unit_value = np.zeros((n_patterns, info.n_units, n_groups))
        for part in parts:
            column_value += part[index][0]
            credit += part[index][1]
            unit_value += part[index][2]
        results.append(PricedTerms(column_value, credit, unit_value))
    return results


def _forward_leftovers(
    demand: FloatArray, capacity: FloatArray, stages: tuple[Stage, ...]
) -> list[FloatArray]:
    """The greedy pass of :func:`_run_block`: the demand each stage leaves, per stage."""
    residual = np.array(demand, copy=True)
    return [left for _, _, left in fill_stages(residual, capacity, stages)]


def _reverse_fixed(
    info: Structure,
    leftovers: list[FloatArray],
    last_price: FloatArray,
    shape: tuple[int, ...],
) -> tuple[FloatArray, FloatArray]:
    """Reverse pass of :func:`_run_block` with the last stage's prices given: column values
    ``π`` (columns × periods) and unit prices ``μ`` (units × periods)."""
    stages = info.stages
    value = np.zeros(shape)
    prices = np.zeros((info.n_units, shape[1]))
    for index, (stage, left) in enumerate(zip(reversed(stages), reversed(leftovers), strict=True)):
        if index == 0:
            price = last_price
            candidate = 1.0 - stage.ratios[:, None] * price[stage.segment]
            value[stage.columns] = np.maximum(value[stage.columns], candidate)
        else:
            price = stage_prices(stage, left, value)
        prices[stage.units] = price
    return value, prices


def period_blocks(n_periods: int, n_columns: int) -> list[slice]:
    """Period slices of about :data:`BLOCK_BYTES` each for ``n_columns`` rows of float64
    (at least 64 periods a slice)."""
    size = max(64, BLOCK_BYTES // (8 * max(n_columns, 1)))
    return [slice(start, min(start + size, n_periods)) for start in range(0, n_periods, size)]


def in_threads(work: Callable[[slice], _Part], blocks: list[slice]) -> list[_Part]:
    """``work`` on every block of periods, in :data:`THREADS` threads when there are several
    blocks, with BLAS held to one thread meanwhile.

    The blocks' matrix products would otherwise start OpenBLAS's own threads inside ours (on 2
    cores, four threads spinning for two): measured on the 1,000-key benchmark's lookback,
    :func:`priced_terms` took 0.80 s a call with them and 0.47 s without. The limit is lifted
    when the blocks are done (:func:`threadpoolctl.threadpool_limits`).
    """
    if len(blocks) < 2 or THREADS < 2:
        return [work(rows) for rows in blocks]
    with (
        threadpool_limits(limits=1, user_api="blas"),
        ThreadPoolExecutor(max_workers=THREADS) as executor,
    ):
        return list(executor.map(work, blocks))


def evaluate(problem: CommitmentProblem, units: FloatArray) -> Evaluation:
    """Bill ``units`` on every period with the greedy allocation.

    Parameters
    ----------
    problem
        The reduced problem.
    units
        Quantity of each offer (``problem.offers`` order) [units].

    Returns
    -------
    Evaluation
        Objective, costs, subgradient, capacity prices, allocation and coverage.
    """
    x = np.asarray(units, dtype=np.float64)
    if x.shape != (problem.n_offers,):
        raise ValueError(
            f"units has shape {x.shape}; expected one value per offer ({problem.n_offers},)"
        )
    info = structure(problem)
    result = bill(problem, x, detail=True)
    capacity = problem.pool_capacity(x)
    used_t, covered_t, price_t = _split_units(info, capacity, result)
    assert price_t is not None
    used, covered, price = used_t.T.copy(), covered_t.T.copy(), price_t.T.copy()

    weight = problem.period_weight
    wf = weight * problem.period_discount
    demand_total = problem.demand_usd.sum(axis=1)
    period_cost = wf * result.uncovered_total
    period_bound = wf * (demand_total - result.demand_value - result.capacity_credit)
    value = wf[:, None] * price

    probability = problem.scenario_probability
    scenario = problem.period_scenario
    costs = problem.offers["objective_usd_per_unit"].to_numpy(dtype=np.float64)
    commitment = float(costs @ x) + problem.owned_cost_usd
    scenario_cost = scenario_costs(problem, commitment, period_cost)
    expected = float(probability @ scenario_cost)
    cvar, tail = risk_of(problem, scenario_cost)
    rho = probability + problem.cvar_weight * tail
    objective = expected + problem.cvar_weight * cvar

    per_pattern = info.patterns.T @ (rho[scenario][:, None] * value)
    subgradient = rho.sum() * costs - per_pattern[info.pattern_of_offer, info.pool_of_offer]

    hours = probability[scenario] * weight
    total = float(hours @ demand_total)
    covered_total = total - float(hours @ result.uncovered_total)
    coverage_ratio = covered_total / total if total > 0 else 0.0
    bought = hours @ capacity
    with np.errstate(invalid="ignore", divide="ignore"):
        utilization = np.where(bought > 0, (hours @ used) / bought, np.nan)
    dual_gap = float(probability[scenario] @ (period_cost - period_bound))
    assert result.uncovered is not None
    return Evaluation(
        objective_usd=objective,
        expected_cost_usd=expected,
        cvar_usd=cvar,
        scenario_cost_usd=scenario_cost,
        scenario_weight=rho,
        commitment_cost_usd=commitment,
        period_cost_usd=period_cost,
        period_bound_usd=period_bound,
        demand_value_usd=result.demand_value,
        capacity_price=price,
        capacity_value_usd=value,
        subgradient=subgradient,
        capacity=capacity,
        used_capacity=used,
        covered_usd=covered,
        uncovered_usd=np.ascontiguousarray(result.uncovered.T),
        coverage_ratio=coverage_ratio,
        pool_utilization=utilization,
        dual_gap_usd=dual_gap,
    )


def pool_allocation(
    problem: CommitmentProblem, units: FloatArray, pools: IntArray | None = None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The greedy's allocation per pool of ``units`` (quantity of each offer [units]).

    :func:`bill` without the dual prices, each unit's use spread over its pools in order.

    Parameters
    ----------
    problem
        The reduced problem.
    units
        Quantity of each offer [units].
    pools
        Distinct pools to return, in this order; ``None`` for all. The explanations ask for
        the bought offers' pools only: at 100 futures a periods × pools array is 218 MiB, and
        splitting every pool's use took 4-5 s of a 10-s explanation.

    Returns
    -------
    tuple of numpy.ndarray
        Periods × pools: capacity [units/h], capacity used [units/h] and on-demand USD covered
        [USD/h] (the last two are transposed views of pools × periods arrays).
    """
    x = np.asarray(units, dtype=np.float64)
    info = structure(problem)
    result = bill(problem, x, prices=False)
    if pools is None:
        capacity = problem.pool_capacity(x)
        used_t, covered_t, _ = _split_units(info, capacity, result, prices=False)
        return capacity, used_t.T, covered_t.T
    wanted = np.asarray(pools, dtype=np.intp)
    wanted_units = info.unit_of_pool[wanted]
    # every member of a wanted pool's unit: a member's band starts after the members before it
    members = info.members[np.isin(info.unit_of_pool[info.members], wanted_units)]
    row = np.full(problem.n_pools, -1, dtype=np.intp)
    row[members] = np.arange(members.size)
    found = row[wanted] >= 0
    # one capacity product for the members, then the wanted pools that are not members
    columns = np.concatenate([members, wanted[~found]])
    capacity = problem.pool_capacity(x, columns)
    used_m, covered_m, _ = _split_members(
        info, members, capacity[:, : members.size], result, prices=False
    )
    at = row[wanted[found]]
    used_t = np.zeros((wanted.size, problem.n_periods))
    covered_t = np.zeros((wanted.size, problem.n_periods))
    used_t[found] = used_m[at]
    covered_t[found] = covered_m[at]
    column = np.empty(problem.n_pools, dtype=np.intp)
    column[columns] = np.arange(columns.size)
    return capacity[:, column[wanted]], used_t.T, covered_t.T


def scenario_costs(
    problem: CommitmentProblem, commitment_usd: float, period_cost: FloatArray
) -> FloatArray:
    """Cost of each scenario: commitments, uncoverable constant and its periods' on-demand cost."""
    n_scenarios = problem.scenario_probability.size
    on_demand = np.bincount(problem.period_scenario, weights=period_cost, minlength=n_scenarios)
    costs: FloatArray = np.asarray(
        commitment_usd + problem.uncoverable_cost_usd + on_demand, dtype=np.float64
    )
    return costs


def _split_units(
    info: Structure, capacity: FloatArray, result: Billing, *, prices: bool = True
) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """Pools × periods used capacity, covered USD and price (``None`` without ``prices``) of
    every pool (:func:`_split_members` of all members; other pools' rows are zero)."""
    n_periods, n_pools = capacity.shape
    members = info.members
    used_m, covered_m, price_m = _split_members(
        info, members, capacity[:, members], result, prices=prices
    )
    used_t = np.zeros((n_pools, n_periods))
    covered_t = np.zeros((n_pools, n_periods))
    used_t[members] = used_m
    covered_t[members] = covered_m
    if price_m is None:
        return used_t, covered_t, None
    price_t = np.zeros((n_pools, n_periods))
    price_t[members] = price_m
    return used_t, covered_t, price_t


def _split_members(
    info: Structure,
    members: IntArray,
    member_capacity: FloatArray,
    result: Billing,
    *,
    prices: bool = True,
) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """Members × periods used capacity, covered USD and price (``None`` without ``prices``)
    of ``members`` (pools in :attr:`Structure.members` order, every member of their units):
    each unit's use spread over its member pools in order (units of several members are
    single-column); members share its price. ``member_capacity`` is periods × members."""
    unit = info.unit_of_pool[members]
    used_m = np.empty((members.size, member_capacity.shape[0]))
    covered_m = np.empty_like(used_m)
    price_m = result.unit_price[unit] if prices else None
    alone = np.bincount(unit, minlength=info.n_units)[unit] == 1
    used_m[alone] = result.unit_used[unit[alone]]
    covered_m[alone] = result.unit_covered[unit[alone]]
    if not alone.all():
        # each member's band of its unit's capacity, from the running sum over all members
        capacity_t = np.ascontiguousarray(member_capacity.T)
        starts = np.flatnonzero(np.r_[True, unit[1:] != unit[:-1]])
        segment = np.cumsum(np.r_[False, unit[1:] != unit[:-1]])
        before = np.cumsum(capacity_t, axis=0)
        before -= capacity_t
        shared = np.flatnonzero(~alone)
        band_start = before[shared] - before[starts][segment[shared]]
        unit_used = result.unit_used[unit[shared]]
        share = np.clip(unit_used - band_start, 0.0, capacity_t[shared])
        used_m[shared] = share
        with np.errstate(invalid="ignore", divide="ignore"):
            fraction = np.where(unit_used > 0, share / unit_used, 0.0)
        covered_m[shared] = fraction * result.unit_covered[unit[shared]]
    return used_m, covered_m, price_m


__all__ = [
    "Billing",
    "Evaluation",
    "PricedTerms",
    "Structure",
    "bill",
    "evaluate",
    "period_blocks",
    "pool_allocation",
    "priced_terms",
    "scenario_costs",
    "structure",
    "unit_capacity",
]
