"""Cutting planes on the commitment vector: a plan with a certified bound on its gap to the optimum.

Given the units ``x``, every period is independent and its allocation is the greedy of
:mod:`optimizer.allocation`, which also returns, per period, a dual-feasible solution of the hourly
LP. By weak duality each period's on-demand cost is at least an affine function of ``x``
(``Evaluation.period_bound_usd`` and the capacity values), for *every* ``x``. Summed over a group
of periods this is a cut; the master problem::

    min  c·x + Σ_g p_s(g) θ_g (+ λ CVaR terms)
    s.t. θ_g ≥ cut of group g at every evaluated plan,   offer bounds and policy rows on x

is a relaxation of the full hourly LP, so its optimum is a **lower bound** of the exact optimum.
Billing the master's plan with the greedy gives an **upper bound** (the greedy is never better
than the LP). The loop stops when (upper − lower) ÷ upper ≤ ``tolerance``.

The master and its cuts are written out in docs/optimizer.md, "The cutting-plane method"
(equations (M1)–(M4), (R1)). Choices (see also "Solver facts"):

- multi-cut: periods are grouped per scenario by k-means on a random projection of their demand
  rows (fixed seed), one epigraph variable per group (at least :data:`GROUPS_PER_SCENARIO` per
  scenario when the group cuts are alone);
- warm start: a quantile heuristic (each pool, in order, commits up to the weighted quantile of
  the capacity it would use where a unit pays for itself) and the all-lower-bounds plan give the
  first cuts;
- disaggregated cuts: with the capacity prices of the last stage (the Compute SP) fixed, the
  hourly dual bound splits into one piece per component of columns linked by the earlier
  pools (a region and family with its RIs and EC2 Instance SP), plus the last stage's capacity
  term. Each (group, component, price slot) gets its own epigraph variable, bounded by sparse
  cuts in that component's few offers; a link row per (group, slot) bounds ``θ_g`` by their sum
  minus the Compute SP's priced capacity. Any fixed prices give a valid bound (weak duality,
  :func:`optimizer.allocation.priced_terms`); the slots hold the prices of recent best
  plans, so the model is nearly exact around the optimum and the lower bound closes in a few
  iterations instead of hundreds. A new slot replaces the oldest one, and its cuts, only for a
  plan clearly better than the one that set the last slot (:data:`SLOT_TOLERANCE`,
  :data:`SLOT_GAP`): on medium horizons the best plan improves by a few dollars per iteration,
  and replacing a slot each time kept the per-component model at one or two cuts (2,160 h ×
  1,000 keys took 89 iterations instead of 9);
- stabilisation: a box trust region around the best plan so far (expanded after good steps,
  shrunk after repeated bad ones; a trial that beats the best plan becomes the centre even
  without the predicted decrease); the lower bound comes from the master without the box;
- the master (:mod:`optimizer.cutting_master`, built with the full LP's block builder and its
  ``define_cvar``) is solved through :mod:`optimizer.solvers.incremental`: with HiGHS through
  highspy incrementally (cuts added, bounds changed, warm-started dual simplex); other solvers
  rebuild it each iteration through :func:`optimizer.solvers.solve` (``scipy`` through
  ``scipy.optimize.linprog``);
- CVaR: the scenario costs are linear in ``(x, θ)``, so the standard linearisation
  ``η + Σ_s p_s u_s ÷ (1 − α)``, ``u_s ≥ cost_s − η``, ``u ≥ 0`` goes into the master;
- a coverage floor: covered USD is concave in ``x``, and the same duals give affine upper
  bounds of it, so the master's ``φ_g ≤`` those bounds with ``Σ p φ_g ≥ floor × total`` is an
  outer approximation (exact for the LP; the greedy's coverage can be slightly lower across
  pools). A coverage ceiling and a minimum utilization are not convex in ``x`` for the greedy:
  the result is ``ERROR`` asking for the exact LP.

Across pools the greedy can be worse than the LP optimum (an earlier pool takes a column a later
pool needed more); the bounds stay valid (lower ≤ exact LP ≤ greedy optimum ≤ upper) but that
difference stays inside the reported gap.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
import scipy.sparse as sp
from scipy.cluster.vq import kmeans2
from scipy.sparse.csgraph import connected_components

from optimizer.allocation import (
    Billing,
    Structure,
    bill,
    period_blocks,
    priced_terms,
    scenario_costs,
    structure,
)
from optimizer.blocks import VariableBlock
from optimizer.cutting_master import Master, MasterModel, define_master
from optimizer.cvar import risk_of
from optimizer.problem import CommitmentProblem, FloatArray, IntArray
from optimizer.result import OptimizationResult, OptimizationStatus

ProgressCallback = Callable[[int, float, float], None]

GROUPS: Final = 6
"""Target number of period groups (epigraph variables) over all scenarios of a many-scenario
problem (and of the pieces pooled over them)."""
GROUPS_ONE_SCENARIO: Final = 12
"""Period groups of a single-scenario problem (the lookback decision), where the pieces of the
disaggregated cuts are written per group too. Measured with the 1-year lookback
(`bench_recommend.py --basis lookback`): 6 groups took 11, 19 and 12 iterations at 300, 1,000
and 3,000 keys (8.5, 39.8 and 110.6 s); 12 groups 8, 9 and 9 (8.6, 29.9 and 103.6 s); 3 groups
11, 12 and 16; 80 groups 10 iterations but 372 s at 1,000 keys (the pieces multiply)."""
GROUPS_PER_SCENARIO: Final = 2
"""On many scenarios without the disaggregated cuts, at least this many period groups per
scenario. Measured on the demo's 40 futures (42 cut classes): one group per future, 38
iterations and 3.3 s; two, 17 and 1.6 s; four, 18. With the disaggregated cuts the pieces carry
the model, and two per future did not pay (1,000 keys on 100 futures: 10 iterations, not 8)."""
FEATURES: Final = 12
"""Dimensions of the random projection the period clustering works on."""
KMEANS_PLUS_PLUS: Final = 64
"""Most clusters seeded by k-means++ (more are seeded with random periods)."""
SEED: Final = 20_240_501
"""Seed of the clustering (results are deterministic)."""
SERIOUS_STEP: Final = 0.1
"""A trial plan becomes the stability centre when it achieves this share of the predicted
decrease."""
COVERAGE_SLACK: Final = 1e-9
"""Relative slack when checking a plan's coverage against the floor."""
REPRESENTATIVES: Final = 400
"""Clustered periods of the warm-start problem (used when there are more than twice as many)."""
WARM_TOLERANCE: Final = 1e-2
"""Gap to which the warm-start problem is solved."""
INITIAL_RADIUS: Final = 0.05
"""Trust-region half-width after a warm start, as a share of each pool's peak need."""
MAX_RADIUS: Final = 4.0
"""Widest trust-region half-width, as a share of each pool's peak need."""
LOWER_EVERY: Final = 4
"""Solve the master without the trust region at least every this many iterations."""
STALL_ITERATIONS: Final = 12
"""Iterations without progress after which the loop stops."""
PRICE_SLOTS: Final = 2
"""Prices of the last stage (the Compute SP) kept for the disaggregated cuts."""
SLOT_TOLERANCE: Final = 0.5
"""A plan takes a new price slot when it beats the plan that set the last one by this share of
the tolerance (× upper bound) …"""
SLOT_GAP: Final = 0.2
"""… and by this share of the current gap (upper − lower)."""
DISAGGREGATE_FROM_CLASSES: Final = 64
"""On many scenarios, the disaggregated cuts are added from this many cut classes on. They cost
about three times an iteration's billing (each point is priced at every price slot), which small
problems do not repay; the group cuts alone need about one iteration per class dimension, which
large ones do not afford. Measured with 40 futures of 672 h (26,880 periods): the demo's 42
classes, 22 iterations and 6.4 s without, 14 and 19.9 s with; 104 classes (100 keys), 113
iterations and 32 s without, 15 and 15 s with; 296 classes (300 keys), 155 iterations and no
certificate (0.138 %) in 143 s without, 12 iterations and 52 s with."""
MAX_PIECES: Final = 200_000
"""Most piece columns (groups × components × slots) before the disaggregated cuts are skipped."""


def period_groups(
    problem: CommitmentProblem,
    n_groups: int | None = None,
    *,
    seed: int = SEED,
    by_scenario: bool = True,
) -> IntArray:
    """Group the periods of each scenario by k-means on their demand rows.

    Parameters
    ----------
    problem
        The reduced problem.
    n_groups
        Target number of groups over all scenarios (each scenario gets a share by its number
        of periods, at least one); default :data:`GROUPS`.
    seed
        Seed of the projection and of k-means.
    by_scenario
        Group each scenario's periods apart (default); ``False`` pools the periods of every
        scenario (the pieces' groups on many scenarios, :func:`_setup`).

    Returns
    -------
    numpy.ndarray
        Group of each period, ``0 … G−1``, groups of one scenario consecutive.
    """
    n_groups = GROUPS if n_groups is None else n_groups
    rng = np.random.default_rng(seed)
    demand = problem.demand_usd
    scale = demand.mean(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    projection = rng.standard_normal((problem.n_columns, FEATURES)) / np.sqrt(
        max(problem.n_columns, 1)
    )
    scaled = demand / scale
    features = np.column_stack([scaled @ projection, scaled.mean(axis=1)])
    groups = np.zeros(problem.n_periods, dtype=np.intp)
    next_group = 0
    scenario_of = problem.period_scenario if by_scenario else np.zeros_like(groups)
    n_scenarios = problem.scenario_probability.size if by_scenario else 1
    for scenario in range(n_scenarios):
        members = np.flatnonzero(scenario_of == scenario)
        if members.size == 0:
            continue
        k = max(1, round(n_groups * members.size / max(problem.n_periods, 1)))
        if members.size <= k:
            labels = np.arange(members.size)
        else:
            data = features[members]
            spread = data.std(axis=0)
            data = data / np.where(spread > 0, spread, 1.0)
            # k-means++ seeding is quadratic in k; random points seed the many-cluster runs.
            minit = "++" if k <= KMEANS_PLUS_PLUS else "points"
            with warnings.catch_warnings():
                # an empty cluster is harmless: the labels are renumbered just below
                warnings.filterwarnings("ignore", "One of the clusters is empty", UserWarning)
                _, labels = kmeans2(data, k, seed=rng, minit=minit, iter=20)
        _, labels = np.unique(labels, return_inverse=True)
        groups[members] = next_group + labels
        next_group += int(labels.max()) + 1
    return groups


def quantile_start(problem: CommitmentProblem) -> FloatArray:
    """A heuristic plan: each pool, in order, commits up to where one more unit stops paying.

    For every greedy unit (pool) the capacity it would use on the demand left by earlier
    pools, ``U_t``, and the on-demand USD one unit saves when used (``Σ_t R_t ÷ Σ_t U_t`` on
    average) give the single-pool closed form: buy its cheapest offer up to the weighted
    quantile of ``U`` at ``1 − rate × U/R`` (one pool with a flat discount: exact).
    """
    info = structure(problem)
    costs = problem.offers["objective_usd_per_unit"].to_numpy(dtype=np.float64)
    lower = problem.offers["lower_bound_units"].to_numpy(dtype=np.float64)
    upper = problem.offers["upper_bound_units"].to_numpy(dtype=np.float64)
    scenario_weight = problem.scenario_probability[problem.period_scenario]
    weight = scenario_weight * problem.period_weight * problem.period_discount
    hours = info.patterns.T @ weight
    per_hour = np.where(
        hours[info.pattern_of_offer] > 0,
        costs / np.maximum(hours[info.pattern_of_offer], 1e-300),
        np.inf,
    )
    per_hour = np.where(upper > lower, per_hour, np.inf)
    pool_unit = info.unit_of_pool[info.pool_of_offer]
    # Cheapest offer of each unit.
    best = np.full(info.n_units, -1, dtype=np.intp)
    candidates = np.flatnonzero((pool_unit >= 0) & np.isfinite(per_hour))
    if candidates.size:
        ranked = candidates[np.lexsort((per_hour[candidates], pool_unit[candidates]))]
        first = np.r_[True, pool_unit[ranked][1:] != pool_unit[ranked][:-1]]
        best[pool_unit[ranked][first]] = ranked[first]

    units = lower.copy()
    base = problem.pool_capacity(units)
    unit_capacity = np.zeros((problem.n_periods, info.n_units))
    np.add.at(unit_capacity.T, info.unit_of_pool[info.members], base[:, info.members].T)
    residual = problem.demand_usd.copy()
    total = weight.sum()
    for stage in info.stages:
        arriving = residual[:, stage.columns]
        need = arriving * stage.ratios
        if stage.single:
            used_units, saved = need, arriving
        else:
            used_units = np.add.reduceat(need, stage.starts, axis=1)
            saved = np.add.reduceat(arriving, stage.starts, axis=1)
        offers = best[stage.units]
        level = np.zeros(stage.units.size)
        buy = offers >= 0
        if buy.any() and total > 0:
            usd_per_unit = np.where(
                used_units.sum(axis=0) > 0,
                saved.sum(axis=0) / np.maximum(used_units.sum(axis=0), 1e-300),
                0.0,
            )
            rate = np.where(buy, per_hour[np.maximum(offers, 0)], np.inf)
            share = np.clip(1.0 - rate / np.maximum(usd_per_unit, 1e-300), 0.0, 1.0)
            # Weighted quantile, column by column: smallest level with P(U <= level) >= share.
            order = np.argsort(used_units, axis=0, kind="stable")
            sorted_units = np.take_along_axis(used_units, order, axis=0)
            cumulative = np.cumsum(weight[order], axis=0) / total
            index = (cumulative < share[None, :]).sum(axis=0)
            index = np.minimum(index, used_units.shape[0] - 1)
            level = np.where(share > 0, sorted_units[index, np.arange(stage.units.size)], 0.0)
            level = np.where(buy, level, 0.0)
            mean_capacity = weight @ unit_capacity[:, stage.units] / total  # owned + lower bounds
            extra = np.maximum(level - mean_capacity, 0.0)
            chosen = offers[buy]
            units[chosen] = np.clip(units[chosen] + extra[buy], lower[chosen], upper[chosen])
            unit_capacity[:, stage.units[buy]] += extra[buy]
        capacity = unit_capacity[:, stage.units]
        if stage.single:
            covered = np.minimum(arriving, capacity / stage.ratios)
        else:
            before = np.cumsum(need, axis=1) - need
            before -= before[:, stage.starts][:, stage.segment]
            available = np.maximum(capacity[:, stage.segment] - before, 0.0)
            covered = np.minimum(arriving, available / stage.ratios)
        residual[:, stage.columns] = arriving - covered
    return units


def reduced_problem(problem: CommitmentProblem, labels: IntArray) -> CommitmentProblem:
    """The problem over one representative period per label (weighted means of its periods).

    A warm start only: billing mean demand understates the on-demand cost of the spread
    inside a cluster (docs/optimizer.md: 1–3 % low), so its plan seeds the cuts but bounds nothing.
    """
    n_labels = int(labels.max()) + 1
    weight = problem.period_weight
    member = sp.csr_array(
        (weight, (labels, np.arange(problem.n_periods))), shape=(n_labels, problem.n_periods)
    )
    total = member @ np.ones(problem.n_periods)
    share = sp.csr_array(sp.diags_array(1.0 / total) @ member)
    first = np.full(n_labels, problem.n_periods, dtype=np.intp)
    np.minimum.at(first, labels, np.arange(problem.n_periods))
    return replace(
        problem,
        demand_usd=np.asarray(share @ problem.demand_usd),
        period_weight=total,
        period_scenario=problem.period_scenario[first],
        period_discount=share @ problem.period_discount,
        period_hour=problem.period_hour[first],
        offer_active=sp.csr_array(share @ problem.offer_active),
        owned_capacity=np.asarray(share @ problem.owned_capacity),
    )


@dataclass(frozen=True)
class _Split:
    """Components of columns linked by the stages before the last (the Compute SP).

    With the last stage's capacity prices fixed, the hourly dual bound is a sum of one piece per
    component plus the last stage's capacity term, so each (group, component, price) gets its
    own epigraph variable, bounded by sparse cuts in that component's few classes.
    """

    last_units: IntArray
    n_blocks: int
    column_block: sp.csr_array
    unit_block: sp.csr_array
    class_block: sp.csr_array
    block_of_class: IntArray
    last_classes: IntArray
    group_weight: FloatArray


def _split(
    problem: CommitmentProblem,
    info: Structure,
    class_unit: IntArray,
    groups: IntArray,
    n_groups: int,
    n_classes: int,
) -> _Split | None:
    """The components, or ``None`` when the problem does not split (one stage or one block).

    ``groups`` are the piece groups (:func:`_setup`); each period weighs its hours, discount
    and scenario probability in its group's sum."""
    stages = info.stages
    if len(stages) < 2:
        return None
    n_columns = problem.n_columns
    source = np.concatenate([stage.columns for stage in stages[:-1]])
    target = np.concatenate([stage.columns[stage.starts][stage.segment] for stage in stages[:-1]])
    graph = sp.csr_array((np.ones(source.size), (source, target)), shape=(n_columns, n_columns))
    n_blocks, block_of_column = connected_components(graph, directed=False)
    if n_blocks < 2 or n_groups * n_blocks * PRICE_SLOTS > MAX_PIECES:
        return None
    first_column = np.zeros(info.n_units, dtype=np.intp)
    for stage in stages:
        first_column[stage.units] = stage.columns[stage.starts]
    last_units = stages[-1].units
    block_of_unit = block_of_column[first_column].astype(np.intp)
    block_of_unit[last_units] = -1
    inner = np.flatnonzero(block_of_unit >= 0)
    block_of_class = block_of_unit[class_unit]
    keep = np.flatnonzero(block_of_class >= 0)
    probability = problem.scenario_probability[problem.period_scenario]
    weight = problem.period_weight * problem.period_discount * probability
    group_weight = np.zeros((problem.n_periods, n_groups))
    group_weight[np.arange(problem.n_periods), groups] = weight
    return _Split(
        last_units=last_units,
        n_blocks=int(n_blocks),
        column_block=sp.csr_array(
            (np.ones(n_columns), (block_of_column, np.arange(n_columns))),
            shape=(n_blocks, n_columns),
        ),
        unit_block=sp.csr_array(
            (np.ones(inner.size), (block_of_unit[inner], inner)), shape=(n_blocks, info.n_units)
        ),
        class_block=sp.csr_array(
            (np.ones(keep.size), (block_of_class[keep], keep)), shape=(n_blocks, n_classes)
        ),
        block_of_class=block_of_class,
        last_classes=np.flatnonzero(block_of_class < 0),
        group_weight=group_weight,
    )


@dataclass(frozen=True)
class _Setup:
    """Fixed data of one run."""

    problem: CommitmentProblem
    info: Structure
    master: MasterModel
    group_matrix: sp.csr_array
    class_of_offer: IntArray
    class_unit: IntArray
    class_pattern: IntArray
    wf: FloatArray


@dataclass(frozen=True)
class _Point:
    """A billed plan."""

    units: FloatArray
    billing: Billing
    objective: float
    scenario_cost: FloatArray
    rho: FloatArray
    coverage_ratio: float
    feasible: bool


def _bill_point(setup: _Setup, units: FloatArray, feasible_bounds: bool) -> _Point:
    """Bill ``units`` and compute the objective (greedy, the upper bound)."""
    problem = setup.problem
    # prices and totals only, what the cuts and the result read: the points outlive the bill
    billing = bill(problem, units, usage=False)
    costs = problem.offers["objective_usd_per_unit"].to_numpy(dtype=np.float64)
    commitment = float(costs @ units) + problem.owned_cost_usd
    scenario_cost = scenario_costs(problem, commitment, setup.wf * billing.uncovered_total)
    probability = problem.scenario_probability
    risk, tail = risk_of(problem, scenario_cost)
    objective = float(probability @ scenario_cost) + problem.cvar_weight * risk
    hours = probability[problem.period_scenario] * problem.period_weight
    total = float(hours @ problem.demand_usd.sum(axis=1))
    ratio = 1.0 - float(hours @ billing.uncovered_total) / total if total > 0 else 0.0
    ok = feasible_bounds and (
        problem.coverage_lower <= 0 or ratio >= problem.coverage_lower * (1 - COVERAGE_SLACK)
    )
    return _Point(
        units,
        billing,
        objective,
        scenario_cost,
        probability + problem.cvar_weight * tail,
        ratio,
        ok,
    )


def _class_coefficients(setup: _Setup, weights: FloatArray, billing: Billing) -> FloatArray:
    """Groups × classes: Σ_{t∈g} pattern_c(t) weights_t μ[unit_c, t].

    Summed a block of periods at a time (:func:`optimizer.allocation.period_blocks`): the
    classes × periods product of the whole horizon was a fresh array of hundreds of MiB a cut
    (1,015 classes × 26,800 periods with 100 futures: 3.3 s a call, against 0.1 s by blocks).
    """
    by_period = setup.group_matrix.tocsc()  # groups × periods, sliced by periods
    coefficients = np.zeros((setup.group_matrix.shape[0], setup.class_unit.size))
    for pattern in np.unique(setup.class_pattern):
        classes = np.flatnonzero(setup.class_pattern == pattern)
        units = setup.class_unit[classes]
        scaled = weights * setup.info.patterns[:, pattern]
        part = np.zeros((coefficients.shape[0], classes.size))
        for rows in period_blocks(setup.problem.n_periods, classes.size):
            weighted = billing.unit_price[units, rows] * scaled[rows]
            # groups × periods (sparse) @ periods × classes: no dense periods × groups matrix
            part += by_period[:, rows] @ weighted.T
        coefficients[:, classes] = part
    return coefficients


def _class_units(setup: _Setup, units: FloatArray) -> FloatArray:
    """Units of each class (Σ of its offers)."""
    keep = setup.class_of_offer >= 0
    return np.asarray(
        np.bincount(
            setup.class_of_offer[keep], weights=units[keep], minlength=setup.class_unit.size
        ),
        dtype=np.float64,
    )


def _cuts(setup: _Setup, point: _Point) -> tuple[sp.csr_array, FloatArray, FloatArray]:
    """Cost cuts (M2) ``θ_g + coef·z ≥ b`` (and coverage cuts (M3) ``φ_g − coef·z ≤ b``) at a
    point."""
    master = setup.master
    n_groups = master.theta.size
    problem = setup.problem
    billing = point.billing
    z = _class_units(setup, point.units)
    coefficients = _class_coefficients(setup, setup.wf, billing)
    demand_total = problem.demand_usd.sum(axis=1)
    bound = setup.wf * (demand_total - billing.demand_value - billing.capacity_credit)
    intercept = setup.group_matrix @ bound + coefficients @ z
    blocks = [_epigraph_rows(master, coefficients, master.theta)]
    lower = [intercept]
    upper = [np.full(n_groups, np.inf)]
    if master.phi is not None:
        weight = problem.period_weight
        cov = _class_coefficients(setup, weight, billing)
        credit = setup.group_matrix @ (weight * (billing.demand_value + billing.capacity_credit))
        blocks.append(_epigraph_rows(master, -cov, master.phi))
        lower.append(np.full(n_groups, -np.inf))
        upper.append(credit - cov @ z)
    return sp.csr_array(sp.vstack(blocks)), np.concatenate(lower), np.concatenate(upper)


def _epigraph_rows(
    master: MasterModel, coefficients: FloatArray, epigraph: VariableBlock
) -> sp.csr_array:
    """Rows with ``coefficients`` (groups × classes) on ``z`` and 1 on ``epigraph[g]``."""
    return master.builder.rows(
        [master.z.matrix_terms(coefficients), epigraph.diagonal()], coefficients.shape[0]
    )


def _piece_cuts(
    setup: _Setup,
    split: _Split,
    term: Any,
    units: FloatArray,
    slot: int,
    current: FloatArray | None,
) -> tuple[sp.csr_array, FloatArray, FloatArray]:
    """Rows (M4) ``θ_gbs + coef·z_b ≥ intercept`` for every (group, component) whose piece at
    ``units`` is above the master's current ``θ_gbs`` (all of them without one)."""
    master = setup.master
    n_groups, n_blocks = master.psi.size, split.n_blocks
    value = split.column_block @ term.column_value - split.unit_block @ term.capacity_credit
    coefficients = term.unit_value[setup.class_pattern, setup.class_unit, :]  # classes × groups
    z = _class_units(setup, units)
    inner = np.flatnonzero(split.block_of_class >= 0)
    coefficients[split.last_classes] = 0.0
    intercept = value + split.class_block @ (coefficients * z[:, None])  # blocks × groups
    first = slot * n_groups * n_blocks
    piece = first + np.arange(n_groups)[None, :] * n_blocks + np.arange(n_blocks)[:, None]
    accept = value > 1e-9 * (1.0 + np.abs(value))
    if current is not None:
        now = master.pieces.values(current)[piece]
        accept &= value > now + 1e-9 * (1.0 + np.abs(value))
    block, group = np.nonzero(accept)
    if block.size == 0:
        return master.builder.rows([], 0), np.zeros(0), np.zeros(0)
    row_of = np.full((n_blocks, n_groups), -1, dtype=np.intp)
    row_of[block, group] = np.arange(block.size)
    class_rows = row_of[split.block_of_class[inner][:, None], np.arange(n_groups)[None, :]]
    class_values = coefficients[inner]
    class_cols = np.broadcast_to(inner[:, None], class_rows.shape)
    mask = (class_rows >= 0) & (class_values != 0.0)
    matrix = master.builder.rows(
        [
            master.pieces.terms(np.arange(block.size), piece[block, group], 1.0),
            master.z.terms(class_rows[mask], class_cols[mask], class_values[mask]),
        ],
        block.size,
    )
    return matrix, intercept[block, group], np.full(block.size, np.inf)


def _link_cuts(
    setup: _Setup, split: _Split, term: Any, units: FloatArray, slot: int
) -> tuple[sp.csr_array, FloatArray, FloatArray]:
    """Rows (M4) ``ψ_q − Σ_b θ_qbs + coef·z_last ≥ −owned credit``: the piece group's bound at
    this slot's last-stage prices (``ψ`` is ``θ`` on one scenario)."""
    master = setup.master
    n_groups, n_blocks = master.psi.size, split.n_blocks
    last = split.last_classes
    coefficients = term.unit_value[setup.class_pattern[last], setup.class_unit[last], :]
    z = _class_units(setup, units)[last]
    credit = term.capacity_credit[split.last_units].sum(axis=0)
    owned = credit - coefficients.T @ z
    group = np.arange(n_groups)
    slot_pieces = slot * n_groups * n_blocks + np.arange(n_groups * n_blocks)
    matrix = master.builder.rows(
        [
            master.psi.diagonal(),
            master.pieces.terms(np.repeat(group, n_blocks), slot_pieces, -1.0),
            master.z.terms(
                np.repeat(group, last.size), np.tile(last, n_groups), coefficients.T.reshape(-1)
            ),
        ],
        n_groups,
    )
    return matrix, -owned, np.full(n_groups, np.inf)


def _within(problem: CommitmentProblem, units: FloatArray) -> bool:
    """Whether ``units`` respects the offer bounds and rows (solver tolerance)."""
    lower = problem.offers["lower_bound_units"].to_numpy(dtype=np.float64)
    upper = problem.offers["upper_bound_units"].to_numpy(dtype=np.float64)
    if np.any(units < lower - 1e-9 * (1 + np.abs(lower))) or np.any(
        units > upper + 1e-9 * (1 + np.abs(upper))
    ):
        return False
    if problem.offer_rows.shape[0]:
        values = problem.offer_rows @ units
        slack = 1e-7 * (1.0 + np.abs(values))
        if np.any(values < problem.offer_rows_lower - slack) or np.any(
            values > problem.offer_rows_upper + slack
        ):
            return False
    return True


def solve_cutting_planes(
    problem: CommitmentProblem,
    *,
    tolerance: float = 1e-3,
    solver: str = "highs",
    time_limit_seconds: float | None = None,
    max_iterations: int = 200,
    progress: ProgressCallback | None = None,
    disaggregate: bool | None = None,
    resume_from: OptimizationResult | None = None,
    stop_below_usd: float | None = None,
    stop_above_usd: float | None = None,
) -> OptimizationResult:
    """Minimise the model's objective by cutting planes, with a certified gap.

    Parameters
    ----------
    problem
        The reduced problem.
    tolerance
        Relative gap (upper − lower) ÷ upper at which to stop [1].
    solver
        Backend of the master LP (``"highs"``: highspy, incremental; others through
        :func:`optimizer.solvers.solve`).
    time_limit_seconds
        Wall-time limit [s]; ``None`` for none.
    max_iterations
        Most master iterations.
    progress
        Called with (iteration, lower bound, upper bound) [USD] after each iteration.
    disaggregate
        Add the per-component cuts at fixed last-stage prices (:class:`_Split`, (M4)) when the
        problem splits; off, only the group cuts (M2) bound the master. ``None`` (the default)
        decides: on for one scenario, and on many scenarios from
        :data:`DISAGGREGATE_FROM_CLASSES` cut classes.
    resume_from
        A result of this method on the same problem with other offer bounds (the rounding fixes
        the RIs): its master and cuts, valid bounds of the same objective for every plan, are
        reused and its plan, clipped to the new bounds, is the start (:class:`CutState`); a
        result that does not fit starts a cold run.
    stop_below_usd
        Stop as soon as a plan costs at most this (``OPTIMAL``: good enough for the caller,
        e.g. the rounding's re-solve once the billed plan meets the certificate) [USD].
    stop_above_usd
        Stop once the lower bound exceeds this (``GAP_NOT_REACHED``: no plan can cost that
        little, e.g. a swap that cannot stay within its tolerance) [USD].

    Returns
    -------
    OptimizationResult
        ``OPTIMAL`` within ``tolerance``; ``GAP_NOT_REACHED`` with the best plan and its gap on
        a limit or when the bounds stall; ``INFEASIBLE`` when the policy admits no plan;
        ``ERROR`` for policies the method cannot certify (coverage ceiling, minimum
        utilization: use the exact LP).
    """
    started = time.perf_counter()
    options = _Options(
        tolerance=tolerance,
        solver=solver,
        deadline=None if time_limit_seconds is None else started + time_limit_seconds,
        max_iterations=max_iterations,
        disaggregate=disaggregate,
        started=started,
        stop_below_usd=stop_below_usd,
        stop_above_usd=stop_above_usd,
    )
    if problem.coverage_upper < 1.0 or problem.min_utilization > 0.0:
        limit = "a coverage ceiling" if problem.coverage_upper < 1.0 else "a minimum utilization"
        return _result(
            problem,
            OptimizationStatus.ERROR,
            f"cutting planes cannot certify {limit} (not convex in the commitments under the "
            "billing order); solve it with the exact LP",
            None,
            float("-inf"),
            solver,
            started,
            0,
        )
    state = resume_from.resume if resume_from is not None else None
    if isinstance(state, CutState) and state.fits(problem):
        assert resume_from is not None
        return _solve(problem, options, progress, resume_from.units, state)
    start: FloatArray | None = None
    if problem.n_periods > 2 * REPRESENTATIVES:
        labels = period_groups(problem, REPRESENTATIVES, seed=SEED + 1)
        warm_options = replace(options, tolerance=max(tolerance, WARM_TOLERANCE))
        warm = _solve(reduced_problem(problem, labels), warm_options, None, None)
        if warm.units.size and np.all(np.isfinite(warm.units)):
            start = warm.units
    return _solve(problem, options, progress, start)


@dataclass(frozen=True)
class _Options:
    """Settings of one cutting-plane run."""

    tolerance: float
    solver: str
    deadline: float | None
    max_iterations: int
    disaggregate: bool | None
    started: float
    stop_below_usd: float | None = None
    stop_above_usd: float | None = None


def _setup(problem: CommitmentProblem, disaggregate: bool | None) -> tuple[_Setup, _Split | None]:
    """Period groups, cut classes, the components of the disaggregated cuts and the master."""
    info = structure(problem)
    n_offers = problem.n_offers

    # Classes: offers of one greedy unit with one activity pattern share their cut coefficients.
    covering = info.unit_of_offer >= 0
    keys = info.unit_of_offer * (info.patterns.shape[1] + 1) + info.pattern_of_offer
    class_keys, inverse = np.unique(keys[covering], return_inverse=True)
    class_of_offer = np.full(n_offers, -1, dtype=np.intp)
    class_of_offer[covering] = inverse
    class_unit = class_keys // (info.patterns.shape[1] + 1)
    class_pattern = class_keys % (info.patterns.shape[1] + 1)

    n_scenarios = problem.scenario_probability.size
    pooled = n_scenarios > 1
    if disaggregate is None:
        disaggregate = not pooled or class_keys.size >= DISAGGREGATE_FROM_CLASSES
    # one scenario: finer groups; many with the group cuts alone: at least two groups each
    if not pooled:
        n_target = GROUPS_ONE_SCENARIO
    elif disaggregate:
        n_target = GROUPS
    else:
        n_target = max(GROUPS, GROUPS_PER_SCENARIO * n_scenarios)
    groups = period_groups(problem, n_target)
    n_groups = int(groups.max()) + 1 if groups.size else 0
    group_scenario = np.zeros(n_groups, dtype=np.intp)
    group_scenario[groups] = problem.period_scenario

    split = None
    piece_groups, n_piece_groups = groups, n_groups
    if disaggregate:
        if pooled:
            piece_groups = period_groups(problem, by_scenario=False)
            n_piece_groups = int(piece_groups.max()) + 1 if piece_groups.size else 0
        split = _split(problem, info, class_unit, piece_groups, n_piece_groups, class_keys.size)
    n_pieces = 0 if split is None else n_piece_groups * split.n_blocks * PRICE_SLOTS
    n_pooled = n_piece_groups if (split is not None and pooled) else 0
    group_matrix = sp.csr_array(
        (np.ones(problem.n_periods), (groups, np.arange(problem.n_periods))),
        shape=(n_groups, problem.n_periods),
    )
    setup = _Setup(
        problem=problem,
        info=info,
        master=define_master(
            problem, class_of_offer, group_matrix, group_scenario, n_pieces, n_pooled
        ),
        group_matrix=group_matrix,
        class_of_offer=class_of_offer,
        class_unit=class_unit,
        class_pattern=class_pattern,
        wf=problem.period_weight * problem.period_discount,
    )
    return setup, split


class _PriceSlots:
    """The last-stage capacity prices the disaggregated cuts are written at."""

    def __init__(self) -> None:
        self.prices: list[FloatArray | None] = [None] * PRICE_SLOTS
        self._next = 0
        self._value = float("inf")

    def claim(self, objective: float, improved: bool, threshold: float) -> int:
        """The slot a plan of this objective takes, −1 for none.

        Only a plan clearly better than the one that set the last slot earns one (tiny
        improvements in a row would otherwise keep the disaggregated model at one or two cuts),
        or any plan while no slot is set.
        """
        empty = all(price is None for price in self.prices)
        if not ((improved and objective < self._value - threshold) or empty):
            return -1
        self._value = objective
        fresh = self._next
        self._next = (self._next + 1) % PRICE_SLOTS
        return fresh

    def restart(self) -> None:
        """Let the next plan take a slot whatever its objective (a re-solve's plans cost
        more than the unconstrained optimum that set the last one)."""
        self._value = float("inf")

    @property
    def active(self) -> list[int]:
        """The slots holding prices."""
        return [k for k, price in enumerate(self.prices) if price is not None]


class _Oracle:
    """Bills plans with the greedy (the upper bound) and adds their cuts to the master."""

    def __init__(
        self, setup: _Setup, split: _Split | None, master: Master, tolerance: float
    ) -> None:
        self._setup = setup
        self._split = split
        self._master = master
        self._tolerance = tolerance
        self._slots = _PriceSlots()
        self.best: _Point | None = None
        self.upper_bound = float("inf")
        self.billings = 0

    def restart(self, setup: _Setup, tolerance: float) -> None:
        """Bill for ``setup`` (the same problem, other offer bounds) from no best plan; the
        price slots and their cuts stay (any prices give valid bounds)."""
        self._setup = setup
        self._tolerance = tolerance
        self._slots.restart()
        self.best = None
        self.upper_bound = float("inf")

    def add_point(self, units: FloatArray, iteration: int, lower_bound: float) -> _Point:
        """Bill ``units``, add its cuts, and keep it when it is the best feasible plan."""
        point = _bill_point(self._setup, units, _within(self._setup.problem, units))
        self.billings += 1
        rows, lo, hi = _cuts(self._setup, point)
        self._master.cuts.add(rows, lo, hi, iteration, -1)
        improved = point.feasible and point.objective < self.upper_bound
        if self._split is not None:
            threshold = _slot_threshold(self._tolerance, lower_bound, self.upper_bound)
            fresh = self._slots.claim(point.objective, improved, threshold)
            self._add_piece_cuts(self._split, point, iteration, fresh)
        if improved:
            self.upper_bound = point.objective
            self.best = point
        return point

    def _add_piece_cuts(self, split: _Split, point: _Point, iteration: int, fresh: int) -> None:
        """The disaggregated cuts (M4) at every price slot; a fresh slot replaces its cuts."""
        cuts = self._master.cuts
        if fresh >= 0:
            cuts.drop_slot(fresh)
            self._slots.prices[fresh] = np.array(point.billing.unit_price[split.last_units])
        active = self._slots.active
        prices = [self._slots.prices[k] for k in active]
        terms = priced_terms(self._setup.problem, point.units, prices, split.group_weight)  # type: ignore[arg-type]
        last_x = self._master.last_x
        for k, term in zip(active, terms, strict=True):
            current = None if (k == fresh or last_x is None) else last_x
            rows, lo, hi = _piece_cuts(self._setup, split, term, point.units, k, current)
            cuts.add(rows, lo, hi, iteration, k)
            if k == fresh:
                rows, lo, hi = _link_cuts(self._setup, split, term, point.units, k)
                cuts.add(rows, lo, hi, np.iinfo(np.intp).max // 2, k)


class _TrustRegion:
    """A box around the stability centre (the best plan so far, roughly), resized by steps."""

    def __init__(
        self, scale: FloatArray, radius: float, centre: FloatArray, centre_value: float
    ) -> None:
        self.scale = scale
        self.radius = radius
        self.centre = centre
        self.centre_value = centre_value
        self._bad_steps = 0

    def box(self, lower: FloatArray, upper: FloatArray) -> tuple[FloatArray, FloatArray] | None:
        """The box within the offer bounds; ``None`` before a feasible centre."""
        if not np.isfinite(self.centre_value):
            return None
        return (
            np.maximum(lower, self.centre - self.radius * self.scale),
            np.minimum(upper, self.centre + self.radius * self.scale),
        )

    def strictly_inside(
        self,
        trial: FloatArray,
        box: tuple[FloatArray, FloatArray],
        lower: FloatArray,
        upper: FloatArray,
    ) -> bool:
        """Whether no box side binds ``trial`` (then the boxed optimum is a lower bound)."""
        margin = 1e-9 * self.scale
        return bool(
            np.all(
                ((trial > box[0] + margin) | (box[0] <= lower))
                & ((trial < box[1] - margin) | (box[1] >= upper))
            )
        )

    def update(self, trial: FloatArray, predicted: float, point: _Point, best: bool) -> None:
        """Move or resize after billing ``trial`` (predicted by the master at ``predicted``).

        A serious step (:data:`SERIOUS_STEP` of the predicted decrease) moves the centre and
        doubles the radius when it achieved half; the best plan so far moves it anyway; two
        bad steps in a row halve the radius.
        """
        if not point.feasible:
            return
        if not np.isfinite(self.centre_value):
            self.centre, self.centre_value = trial, point.objective
            return
        decrease = self.centre_value - predicted
        achieved = self.centre_value - point.objective
        if decrease > 0 and achieved >= SERIOUS_STEP * decrease:
            self.centre, self.centre_value = trial, point.objective
            if achieved >= 0.5 * decrease:
                self.radius = min(self.radius * 2.0, MAX_RADIUS)
            self._bad_steps = 0
        elif best:
            self.centre, self.centre_value = trial, point.objective
        else:
            self._bad_steps += 1
            if self._bad_steps >= 2:
                self.radius = max(self.radius * 0.5, 1e-4)
                self._bad_steps = 0


class _Bounds:
    """The lower bound, its history with the upper bound, and the iteration count."""

    def __init__(self, oracle: _Oracle, options: _Options) -> None:
        self._oracle = oracle
        self._options = options
        self.lower = float("-inf")
        self.history: list[tuple[float, float]] = []
        self.iteration = 0
        self.since_lower = 0

    @property
    def upper(self) -> float:
        """The best plan's objective [USD]."""
        return self._oracle.upper_bound

    @property
    def gap(self) -> float:
        """Relative gap of the bounds."""
        return _gap(self.lower, self.upper)

    def raise_lower(self, value: float) -> None:
        """A new lower bound from a master without the box."""
        self.lower = max(self.lower, value)
        self.since_lower = 0

    def stop_reason(self) -> str | None:
        """Why the loop stops now (``""`` when the gap is certified), ``None`` to go on."""
        options = self._options
        if self.gap <= options.tolerance:
            return ""
        if options.stop_below_usd is not None and self.upper <= options.stop_below_usd:
            return ""
        if options.stop_above_usd is not None and self.lower > options.stop_above_usd:
            return "stopped: no plan costs as little as the target"
        if self.iteration >= options.max_iterations:
            return f"stopped after {self.iteration} iterations"
        if options.deadline is not None and time.perf_counter() >= options.deadline:
            return "stopped at the time limit"
        if _stalled(self.history, options.tolerance):
            return "stopped: the bounds stopped moving"
        return None

    def record(self, progress: ProgressCallback | None) -> None:
        """Close an iteration."""
        self.history.append((self.lower, self.upper))
        if progress is not None:
            progress(self.iteration, self.lower, self.upper)


@dataclass(eq=False)
class CutState:
    """A finished run's setup, master (with its cuts) and oracle, to re-solve the same problem
    with other offer bounds.

    Every cut bounds the same objective from below for *every* plan, whatever the bounds, so a
    re-solve with some offers fixed (the rounding's whole RIs) starts with a master that is
    already nearly exact around the old optimum: it certifies in a few iterations instead of a
    cold run's ten or more.
    """

    setup: _Setup
    split: _Split | None
    master: Master
    oracle: _Oracle

    def fits(self, problem: CommitmentProblem) -> bool:
        """Whether ``problem`` is the solved one up to its offer bounds."""
        old = self.setup.problem
        return (
            problem.n_offers == old.n_offers
            and problem.n_periods == old.n_periods
            and problem.demand_usd is old.demand_usd
            and problem.coverage is old.coverage
            and problem.offer_rows is old.offer_rows
            and problem.scenario_probability is old.scenario_probability
            and problem.cvar_weight == old.cvar_weight
            and np.array_equal(
                problem.offers["objective_usd_per_unit"].to_numpy(),
                old.offers["objective_usd_per_unit"].to_numpy(),
            )
        )

    def resumed(
        self, problem: CommitmentProblem, lower: FloatArray, upper: FloatArray, options: _Options
    ) -> tuple[_Setup, _Split | None, Master, _Oracle]:
        """The run's objects set for ``problem``: its offer bounds in the master, every cut
        counted as seen now, no best plan yet."""
        setup = replace(self.setup, problem=problem)
        self.master.offer_bounds = (lower, upper)
        self.master.deadline = options.deadline
        self.master.cuts.seen[:] = 0
        self.oracle.restart(setup, options.tolerance)
        return setup, self.split, self.master, self.oracle


def _solve(
    problem: CommitmentProblem,
    options: _Options,
    progress: ProgressCallback | None,
    start: FloatArray | None,
    state: CutState | None = None,
) -> OptimizationResult:
    """The cutting-plane loop (see the module docstring and docs/optimizer.md)."""
    lower = problem.offers["lower_bound_units"].to_numpy(dtype=np.float64)
    upper = problem.offers["upper_bound_units"].to_numpy(dtype=np.float64)
    if state is None:
        setup, split = _setup(problem, options.disaggregate)
        master = Master(setup.master, options.solver, options.deadline)
        oracle = _Oracle(setup, split, master, options.tolerance)
    else:
        setup, split, master, oracle = state.resumed(problem, lower, upper, options)
    if start is None:
        points = [np.clip(quantile_start(problem), lower, upper), lower.copy()]
    else:
        points = [np.clip(start, lower, upper)]
    for units in points:
        oracle.add_point(units, 0, float("-inf"))
    region = _TrustRegion(
        _trust_scale(problem, setup.info),
        INITIAL_RADIUS if start is not None else 0.5,
        oracle.best.units if oracle.best is not None else points[0],
        oracle.upper_bound,
    )
    bounds = _Bounds(oracle, options)
    if state is not None:
        # the kept cuts are nearly exact around the start: the master without the box gives
        # a lower bound at once, often within the tolerance of the start's bill
        bounds.since_lower = LOWER_EVERY
    while (reason := bounds.stop_reason()) is None:
        bounds.iteration += 1
        bounds.since_lower += 1
        trial, predicted = _boxed_step(master, region, bounds, lower, upper)
        if (
            trial is None
            or bounds.since_lower >= LOWER_EVERY
            or (_gap(predicted, bounds.upper) <= options.tolerance)
        ):
            solved = master.solve(None, bounds.iteration)
            if solved.status == "infeasible":
                return _result(
                    problem,
                    OptimizationStatus.INFEASIBLE,
                    _infeasible_message(problem),
                    None,
                    float("-inf"),
                    master.backend,
                    options.started,
                    bounds.iteration,
                )
            if solved.status != "optimal":
                reason = f"master LP stopped: {solved.status}"
                break
            bounds.raise_lower(master.value(solved))
            if trial is None:
                trial, predicted = master.plan(solved), master.value(solved)
            if bounds.gap <= options.tolerance:
                bounds.record(progress)
                continue
        trial = np.clip(trial, lower, upper)
        point = oracle.add_point(trial, bounds.iteration, bounds.lower)
        region.update(trial, predicted, point, point is oracle.best)
        master.cuts.forget_slack(bounds.iteration)
        bounds.record(progress)
    result = _finish(setup, oracle, bounds, reason, master.backend, options)
    return replace(result, resume=CutState(setup, split, master, oracle))


def _boxed_step(
    master: Master,
    region: _TrustRegion,
    bounds: _Bounds,
    lower: FloatArray,
    upper: FloatArray,
) -> tuple[FloatArray | None, float]:
    """Solve the master within the trust region: the trial plan and its predicted objective
    (``None``, NaN without a centre or an optimum); a trial no box side binds gives a lower
    bound."""
    box = region.box(lower, upper)
    if box is None:
        return None, float("nan")
    solved = master.solve(box, bounds.iteration)
    if solved.status != "optimal":
        return None, float("nan")
    trial, predicted = master.plan(solved), master.value(solved)
    if region.strictly_inside(trial, box, lower, upper):
        bounds.raise_lower(predicted)
    return trial, predicted


def _finish(
    setup: _Setup,
    oracle: _Oracle,
    bounds: _Bounds,
    reason: str,
    backend: str,
    options: _Options,
) -> OptimizationResult:
    """The result of a finished loop: the best plan with its certified gap, or why none."""
    problem = setup.problem
    best = oracle.best
    started, tolerance = options.started, options.tolerance
    if best is None:
        return _result(
            problem,
            OptimizationStatus.TIME_LIMIT if "time" in reason else OptimizationStatus.ERROR,
            f"no feasible plan found: {reason}",
            None,
            bounds.lower,
            backend,
            started,
            bounds.iteration,
        )
    gap = bounds.gap
    status = OptimizationStatus.OPTIMAL if reason == "" else OptimizationStatus.GAP_NOT_REACHED
    if status is OptimizationStatus.OPTIMAL and gap > tolerance:
        within = f", within {100 * gap:.3g}% of the optimum," if np.isfinite(gap) else ""
        message = (
            f"a plan at the target cost{within} in {bounds.iteration} iterations "
            f"({oracle.billings} billings)"
        )
    elif status is OptimizationStatus.OPTIMAL:
        message = (
            f"certified within {100 * gap:.3g}% of the optimum in {bounds.iteration} iterations "
            f"({oracle.billings} billings)"
        )
    else:
        message = (
            f"{reason}; best plan certified within {100 * gap:.3g}% "
            f"(tolerance {100 * tolerance:.3g}%)"
        )
        billing = best.billing
        dual_gap = float(
            problem.scenario_probability[problem.period_scenario]
            @ (
                setup.wf * billing.uncovered_total
                - setup.wf
                * (problem.demand_usd.sum(axis=1) - billing.demand_value - billing.capacity_credit)
            )
        )
        if dual_gap > 0.1 * tolerance * abs(bounds.upper):
            message += (
                f"; AWS's billing order is {100 * dual_gap / abs(bounds.upper):.2g}% above the "
                "LP's best allocation for this plan (pools applied in order across "
                "overlapping scopes), so the gap cannot close: use the exact LP to compare"
            )
    return _result(problem, status, message, best, bounds.lower, backend, started, bounds.iteration)


def _slot_threshold(tolerance: float, lower: float, upper: float) -> float:
    """Improvement over the plan that set the last price slot that earns a new slot [USD]."""
    if not np.isfinite(upper):
        return 0.0
    threshold = SLOT_TOLERANCE * tolerance * abs(upper)
    if np.isfinite(lower):
        threshold = max(threshold, SLOT_GAP * (upper - lower))
    return threshold


def _stalled(history: list[tuple[float, float]], tolerance: float) -> bool:
    """No progress of either bound worth a tenth of the tolerance over the last iterations."""
    if len(history) <= STALL_ITERATIONS:
        return False
    lower_then, upper_then = history[-STALL_ITERATIONS - 1]
    lower_now, upper_now = history[-1]
    if not np.isfinite(upper_now) or not np.isfinite(lower_then):
        return False
    moved = (lower_now - lower_then) + (upper_then - upper_now)
    return moved <= 0.1 * tolerance * abs(upper_now)


def _gap(lower: float, upper: float) -> float:
    """Relative gap (upper − lower) ÷ |upper|."""
    if not (np.isfinite(lower) and np.isfinite(upper)):
        return float("inf")
    return (upper - lower) / max(abs(upper), 1e-9)


def _trust_scale(problem: CommitmentProblem, info: Structure) -> FloatArray:
    """Per offer: the most capacity its pool could use in a period [units]."""
    need = np.asarray(sp.csr_array(problem.coverage) @ info.demand_t)  # pools × periods
    peak = need.max(axis=1) if need.size else np.zeros(problem.n_pools)
    scale = peak[info.pool_of_offer]
    return np.where(scale > 0, scale, 1.0)


def _infeasible_message(problem: CommitmentProblem) -> str:
    """Which limits make the master infeasible (policy rows or the coverage floor)."""
    names = ", ".join(problem.offer_row_names) or "offer bounds"
    if problem.coverage_lower > 0:
        return (
            f"no plan reaches the coverage floor of {100 * problem.coverage_lower:.3g}% within "
            f"the limits ({names}); lower the target or allow more instruments"
        )
    return f"the purchase limits contradict each other ({names}); relax one of them"


def _result(
    problem: CommitmentProblem,
    status: OptimizationStatus,
    message: str,
    point: _Point | None,
    lower_bound: float,
    solver: str,
    started: float,
    iterations: int,
) -> OptimizationResult:
    """Package an :class:`OptimizationResult` (marginals from the capacity prices)."""
    if point is None:
        return OptimizationResult(
            status=status,
            message=message,
            units=np.zeros(problem.n_offers),
            objective_usd=float("nan"),
            lower_bound_usd=lower_bound,
            upper_bound_usd=float("inf"),
            method="cutting-planes",
            solver=solver,
            seconds=time.perf_counter() - started,
            iterations=iterations,
        )
    info = structure(problem)
    wf = problem.period_weight * problem.period_discount
    weights = point.rho[problem.period_scenario] * wf
    saved = np.zeros(problem.n_offers)
    covering = info.unit_of_offer >= 0
    for pattern in np.unique(info.pattern_of_offer[covering]):
        offers = np.flatnonzero(covering & (info.pattern_of_offer == pattern))
        per_unit = point.billing.unit_price @ (weights * info.patterns[:, pattern])
        saved[offers] = per_unit[info.unit_of_offer[offers]]
    costs = problem.offers["objective_usd_per_unit"].to_numpy(dtype=np.float64)
    marginal = saved - point.rho.sum() * costs
    expected = float(problem.scenario_probability @ point.scenario_cost)
    return OptimizationResult(
        status=status,
        message=message,
        units=point.units,
        objective_usd=point.objective,
        lower_bound_usd=lower_bound,
        upper_bound_usd=point.objective,
        method="cutting-planes",
        solver=solver,
        seconds=time.perf_counter() - started,
        iterations=iterations,
        offer_marginal_usd=marginal,
        expected_cost_usd=expected,
        scenario_cost_usd=point.scenario_cost,
    )


__all__ = [
    "DISAGGREGATE_FROM_CLASSES",
    "CutState",
    "period_groups",
    "quantile_start",
    "reduced_problem",
    "solve_cutting_planes",
]
