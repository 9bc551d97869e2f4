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

Choices (see docs/optimizer.md, "Solver facts"):

- multi-cut: periods are grouped per scenario by k-means on a random projection of their demand
  rows (fixed seed), one epigraph variable per group;
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
- the master is solved with HiGHS through highspy incrementally (cuts added, bounds changed,
  warm-started dual simplex); other solvers rebuild it each iteration through
  :func:`optimizer.solvers.solve` (or ``scipy.optimize.linprog`` when that is not available);
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
from typing import Any, Final, Protocol

import numpy as np
import scipy.sparse as sp
from scipy.cluster.vq import kmeans2
from scipy.sparse.csgraph import connected_components

from optimizer.allocation import (
    Billing,
    Structure,
    bill,
    cvar_weights,
    priced_terms,
    scenario_costs,
    structure,
)
from optimizer.problem import CommitmentProblem, FloatArray, IntArray
from optimizer.result import OptimizationResult, OptimizationStatus
from optimizer.solvers.quiet import new_highs

ProgressCallback = Callable[[int, float, float], None]

GROUPS: Final = 6
"""Target number of period groups (epigraph variables) over all scenarios."""
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
LOWER_EVERY: Final = 4
"""Solve the master without the trust region at least every this many iterations."""
CUT_AGE: Final = 8
"""Cuts slack for this many iterations are dropped from the master."""
STALL_ITERATIONS: Final = 12
"""Iterations without progress after which the loop stops."""
PRICE_SLOTS: Final = 2
"""Prices of the last stage (the Compute SP) kept for the disaggregated cuts."""
DISAGGREGATE: Final = True
"""Add the per-component cuts at fixed last-stage prices (see :class:`_Split`)."""
SLOT_TOLERANCE: Final = 0.5
"""A plan takes a new price slot when it beats the plan that set the last one by this share of
the tolerance (× upper bound) …"""
SLOT_GAP: Final = 0.2
"""… and by this share of the current gap (upper − lower)."""
MAX_PIECES: Final = 200_000
"""Most piece columns (groups × components × slots) before the disaggregated cuts are skipped."""


class _Master(Protocol):
    """The master LP: fixed columns; static rows first, then cuts that come and go."""

    def add_rows(self, rows: sp.csr_array, lower: FloatArray, upper: FloatArray) -> None:
        """Append rows."""

    def delete_rows(self, indices: IntArray) -> None:
        """Delete rows (indices among all rows)."""

    def solve(
        self, col_lower: FloatArray, col_upper: FloatArray, time_limit: float | None
    ) -> _Solved:
        """Solve with these column bounds."""


@dataclass(frozen=True)
class _Solved:
    """A master solve: status, primal point, objective (no offset), row activities."""

    status: str
    x: FloatArray
    objective: float
    rows: FloatArray


def _failed(status: str) -> _Solved:
    return _Solved(status, np.zeros(0), float("nan"), np.zeros(0))


@dataclass(frozen=True)
class _Layout:
    """Column layout of the master: offers, classes, θ, φ (coverage), η and u (CVaR)."""

    n_offers: int
    n_classes: int
    n_groups: int
    coverage: bool
    cvar: bool
    n_scenarios: int
    n_pieces: int = 0

    @property
    def z(self) -> int:
        return self.n_offers

    @property
    def theta(self) -> int:
        return self.n_offers + self.n_classes

    @property
    def phi(self) -> int:
        return self.theta + self.n_groups

    @property
    def eta(self) -> int:
        return self.phi + (self.n_groups if self.coverage else 0)

    @property
    def pieces(self) -> int:
        return self.eta + (1 + self.n_scenarios if self.cvar else 0)

    @property
    def n_columns(self) -> int:
        return self.pieces + self.n_pieces


class _HighsMaster:
    """The master in highspy, modified in place between solves (warm-started simplex)."""

    def __init__(self, objective: FloatArray, col_lower: FloatArray, col_upper: FloatArray) -> None:
        import highspy

        self._highspy = highspy
        self._h = new_highs(highspy)
        self._h.setOptionValue("random_seed", 0)
        n = objective.size
        self._inf = highspy.kHighsInf
        self._h.addVars(n, _finite(col_lower, self._inf), _finite(col_upper, self._inf))
        self._h.changeColsCost(n, np.arange(n, dtype=np.int32), objective)
        self._n = n

    def add_rows(self, rows: sp.csr_array, lower: FloatArray, upper: FloatArray) -> None:
        if rows.shape[0] == 0:
            return
        csr = sp.csr_array(rows)
        self._h.addRows(
            csr.shape[0],
            _finite(lower, self._inf),
            _finite(upper, self._inf),
            csr.nnz,
            csr.indptr[:-1].astype(np.int32),
            csr.indices.astype(np.int32),
            csr.data.astype(np.float64),
        )

    def delete_rows(self, indices: IntArray) -> None:
        if indices.size:
            self._h.deleteRows(int(indices.size), np.asarray(indices, dtype=np.int32))

    def solve(
        self, col_lower: FloatArray, col_upper: FloatArray, time_limit: float | None
    ) -> _Solved:
        self._h.changeColsBounds(
            self._n,
            np.arange(self._n, dtype=np.int32),
            _finite(col_lower, self._inf),
            _finite(col_upper, self._inf),
        )
        self._h.setOptionValue("time_limit", float(time_limit) if time_limit else self._inf)
        self._h.run()
        status = self._h.getModelStatus()
        kinds = self._highspy.HighsModelStatus
        if status == kinds.kOptimal:
            solution = self._h.getSolution()
            return _Solved(
                "optimal",
                np.asarray(solution.col_value, dtype=np.float64),
                float(self._h.getInfo().objective_function_value),
                np.asarray(solution.row_value, dtype=np.float64),
            )
        if status == kinds.kInfeasible:
            return _failed("infeasible")
        if status == kinds.kTimeLimit:
            return _failed("time_limit")
        return _failed(str(self._h.modelStatusToString(status)))


class _RebuiltMaster:
    """The master rebuilt and solved from scratch each time (other solvers)."""

    def __init__(
        self, objective: FloatArray, col_lower: FloatArray, col_upper: FloatArray, solver: str
    ) -> None:
        self._objective = objective
        self._matrix = sp.csr_array((0, objective.size))
        self._lower = np.zeros(0)
        self._upper = np.zeros(0)
        self._solver = solver

    def add_rows(self, rows: sp.csr_array, lower: FloatArray, upper: FloatArray) -> None:
        self._matrix = sp.csr_array(sp.vstack([self._matrix, sp.csr_array(rows)]))
        self._lower = np.concatenate([self._lower, lower])
        self._upper = np.concatenate([self._upper, upper])

    def delete_rows(self, indices: IntArray) -> None:
        keep = np.ones(self._lower.size, dtype=bool)
        keep[indices] = False
        self._matrix = sp.csr_array(self._matrix[keep])
        self._lower = self._lower[keep]
        self._upper = self._upper[keep]

    def solve(
        self, col_lower: FloatArray, col_upper: FloatArray, time_limit: float | None
    ) -> _Solved:
        status, x, value = _solve_lp(
            self._objective,
            self._matrix,
            self._lower,
            self._upper,
            col_lower,
            col_upper,
            self._solver,
            time_limit,
        )
        if status != "optimal":
            return _failed(status)
        return _Solved(status, x, value, self._matrix @ x)


def _solve_lp(
    objective: FloatArray,
    matrix: sp.csr_array,
    row_lower: FloatArray,
    row_upper: FloatArray,
    col_lower: FloatArray,
    col_upper: FloatArray,
    solver: str,
    time_limit: float | None,
) -> tuple[str, FloatArray, float]:
    """Solve one LP through :func:`optimizer.solvers.solve`, or scipy's HiGHS without it."""
    from optimizer import solvers

    solve = getattr(solvers, "solve", None)
    if solve is not None and solver != "scipy":
        from optimizer.solvers.base import LinearProgram

        program = LinearProgram(
            objective=objective,
            matrix=sp.csc_array(matrix),
            row_lower=row_lower,
            row_upper=row_upper,
            col_lower=col_lower,
            col_upper=col_upper,
        )
        solution = solve(program, solver=solver, time_limit_seconds=time_limit)
        status = str(solution.status.value)
        if status != "optimal":
            return status, np.zeros(0), float("nan")
        return status, np.asarray(solution.x, dtype=np.float64), float(solution.objective_value)
    return _linprog(objective, matrix, row_lower, row_upper, col_lower, col_upper, time_limit)


def _linprog(
    objective: FloatArray,
    matrix: sp.csr_array,
    row_lower: FloatArray,
    row_upper: FloatArray,
    col_lower: FloatArray,
    col_upper: FloatArray,
    time_limit: float | None,
) -> tuple[str, FloatArray, float]:
    """``scipy.optimize.linprog`` (HiGHS) on a ranged LP."""
    from scipy.optimize import linprog

    upper_rows = np.isfinite(row_upper)
    lower_rows = np.isfinite(row_lower)
    a_ub = sp.csr_array(sp.vstack([matrix[upper_rows], -matrix[lower_rows]]))
    b_ub = np.concatenate([row_upper[upper_rows], -row_lower[lower_rows]])
    options: dict[str, Any] = {}
    if time_limit:
        options["time_limit"] = float(time_limit)
    result: Any = linprog(
        objective,
        A_ub=a_ub if a_ub.shape[0] else None,
        b_ub=b_ub if a_ub.shape[0] else None,
        bounds=np.column_stack([col_lower, col_upper]),
        method="highs",
        options=options,
    )
    if result.status == 0:
        return "optimal", np.asarray(result.x, dtype=np.float64), float(result.fun)
    if result.status == 2:
        return "infeasible", np.zeros(0), float("nan")
    if result.status == 1:
        return "time_limit", np.zeros(0), float("nan")
    return str(result.message), np.zeros(0), float("nan")


def _finite(values: FloatArray, inf: float) -> FloatArray:
    """Replace ±inf by the solver's infinity."""
    out = np.asarray(values, dtype=np.float64).copy()
    out[np.isposinf(out)] = inf
    out[np.isneginf(out)] = -inf
    return out


def _make_master(
    objective: FloatArray, col_lower: FloatArray, col_upper: FloatArray, solver: str
) -> tuple[_Master, str]:
    """The incremental highspy master for ``"highs"``, else a rebuilt one."""
    if solver == "highs":
        try:
            return _HighsMaster(objective, col_lower, col_upper), "highs"
        except ImportError:
            return _RebuiltMaster(objective, col_lower, col_upper, "scipy"), "scipy"
    return _RebuiltMaster(objective, col_lower, col_upper, solver), solver


def period_groups(
    problem: CommitmentProblem, n_groups: int | None = None, *, seed: int = SEED
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
    n_scenarios = problem.scenario_probability.size
    for scenario in range(n_scenarios):
        members = np.flatnonzero(problem.period_scenario == scenario)
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
    """The components, or ``None`` when the problem does not split (one stage or one block)."""
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
    weight = problem.period_weight * problem.period_discount
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
    layout: _Layout
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
    billing = bill(problem, units)
    # Keep only what the cuts and the result read: the points outlive the billing.
    empty = np.zeros((0, 0))
    billing = replace(billing, unit_capacity=empty, unit_used=empty, unit_covered=empty)
    costs = problem.offers["objective_usd_per_unit"].to_numpy(dtype=np.float64)
    commitment = float(costs @ units) + problem.owned_cost_usd
    scenario_cost = scenario_costs(problem, commitment, setup.wf * billing.uncovered_total)
    probability = problem.scenario_probability
    tail = cvar_weights(scenario_cost, probability, problem.cvar_alpha)
    objective = float(probability @ scenario_cost) + problem.cvar_weight * float(
        tail @ scenario_cost
    )
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
    """Groups × classes: Σ_{t∈g} pattern_c(t) weights_t μ[unit_c, t]."""
    coefficients = np.zeros((setup.group_matrix.shape[0], setup.class_unit.size))
    dense_groups = np.asarray(setup.group_matrix.T.todense())  # periods × groups
    for pattern in np.unique(setup.class_pattern):
        classes = np.flatnonzero(setup.class_pattern == pattern)
        weighted = dense_groups * (weights * setup.info.patterns[:, pattern])[:, None]
        per_unit = billing.unit_price @ weighted  # units × groups
        coefficients[:, classes] = per_unit[setup.class_unit[classes]].T
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
    """Cost cuts ``θ_g + coef·z ≥ b`` (and coverage cuts ``φ_g − coef·z ≤ b``) at a point."""
    layout = setup.layout
    n_groups = layout.n_groups
    problem = setup.problem
    billing = point.billing
    z = _class_units(setup, point.units)
    coefficients = _class_coefficients(setup, setup.wf, billing)
    demand_total = problem.demand_usd.sum(axis=1)
    bound = setup.wf * (demand_total - billing.demand_value - billing.capacity_credit)
    intercept = setup.group_matrix @ bound + coefficients @ z
    blocks = [_cut_rows(layout, coefficients, layout.theta)]
    lower = [intercept]
    upper = [np.full(n_groups, np.inf)]
    if layout.coverage:
        weight = problem.period_weight
        cov = _class_coefficients(setup, weight, billing)
        credit = setup.group_matrix @ (weight * (billing.demand_value + billing.capacity_credit))
        blocks.append(_cut_rows(layout, -cov, layout.phi))
        lower.append(np.full(n_groups, -np.inf))
        upper.append(credit - cov @ z)
    return sp.csr_array(sp.vstack(blocks)), np.concatenate(lower), np.concatenate(upper)


def _cut_rows(layout: _Layout, coefficients: FloatArray, first: int) -> sp.csr_array:
    """Rows with ``coefficients`` on the class columns and 1 on column ``first + g``."""
    n_groups, n_classes = coefficients.shape
    dense = np.zeros((n_groups, n_classes + 1))
    dense[:, :n_classes] = coefficients
    dense[:, n_classes] = 1.0
    matrix = sp.csr_array(dense)
    indices = matrix.indices.copy()
    on_class = indices < n_classes
    indices[on_class] += layout.z
    group = np.repeat(np.arange(n_groups), np.diff(matrix.indptr))
    indices[~on_class] = first + group[~on_class]
    return sp.csr_array((matrix.data, indices, matrix.indptr), shape=(n_groups, layout.n_columns))


def _piece_cuts(
    setup: _Setup,
    split: _Split,
    term: Any,
    units: FloatArray,
    slot: int,
    current: FloatArray | None,
) -> tuple[sp.csr_array, FloatArray, FloatArray]:
    """Rows ``θ_gbs + coef·z_b ≥ intercept`` for every (group, component) whose piece at
    ``units`` is above the master's current ``θ_gbs`` (all of them without one)."""
    layout = setup.layout
    n_groups, n_blocks = layout.n_groups, split.n_blocks
    value = split.column_block @ term.column_value - split.unit_block @ term.capacity_credit
    coefficients = term.unit_value[setup.class_pattern, setup.class_unit, :]  # classes × groups
    z = _class_units(setup, units)
    inner = np.flatnonzero(split.block_of_class >= 0)
    coefficients[split.last_classes] = 0.0
    intercept = value + split.class_block @ (coefficients * z[:, None])  # blocks × groups
    first = layout.pieces + slot * n_groups * n_blocks
    theta = first + np.arange(n_groups)[None, :] * n_blocks + np.arange(n_blocks)[:, None]
    accept = value > 1e-9 * (1.0 + np.abs(value))
    if current is not None:
        now = current[theta]
        accept &= value > now + 1e-9 * (1.0 + np.abs(value))
    block, group = np.nonzero(accept)
    if block.size == 0:
        return sp.csr_array((0, layout.n_columns)), np.zeros(0), np.zeros(0)
    row_of = np.full((n_blocks, n_groups), -1, dtype=np.intp)
    row_of[block, group] = np.arange(block.size)
    class_rows = row_of[split.block_of_class[inner][:, None], np.arange(n_groups)[None, :]]
    class_values = coefficients[inner]
    class_cols = np.broadcast_to((layout.z + inner)[:, None], class_rows.shape)
    mask = (class_rows >= 0) & (class_values != 0.0)
    rows = np.concatenate([np.arange(block.size), class_rows[mask]])
    cols = np.concatenate([theta[block, group], class_cols[mask]])
    vals = np.concatenate([np.ones(block.size), class_values[mask]])
    matrix = sp.csr_array((vals, (rows, cols)), shape=(block.size, layout.n_columns))
    return matrix, intercept[block, group], np.full(block.size, np.inf)


def _link_cuts(
    setup: _Setup, split: _Split, term: Any, units: FloatArray, slot: int
) -> tuple[sp.csr_array, FloatArray, FloatArray]:
    """Rows ``θ_g − Σ_b θ_gbs + coef·z_last ≥ −owned credit``: the group's bound at this
    slot's last-stage prices."""
    layout = setup.layout
    n_groups, n_blocks = layout.n_groups, split.n_blocks
    last = split.last_classes
    coefficients = term.unit_value[setup.class_pattern[last], setup.class_unit[last], :]
    z = _class_units(setup, units)[last]
    credit = term.capacity_credit[split.last_units].sum(axis=0)
    owned = credit - coefficients.T @ z
    first = layout.pieces + slot * n_groups * n_blocks
    group = np.arange(n_groups)
    rows = np.concatenate([group, np.repeat(group, n_blocks), np.repeat(group, last.size)])
    cols = np.concatenate(
        [
            layout.theta + group,
            first + np.arange(n_groups * n_blocks),
            np.tile(layout.z + last, n_groups),
        ]
    )
    vals = np.concatenate(
        [np.ones(n_groups), -np.ones(n_groups * n_blocks), coefficients.T.reshape(-1)]
    )
    matrix = sp.csr_array((vals, (rows, cols)), shape=(n_groups, layout.n_columns))
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

    Returns
    -------
    OptimizationResult
        ``OPTIMAL`` within ``tolerance``; ``GAP_NOT_REACHED`` with the best plan and its gap on
        a limit or when the bounds stall; ``INFEASIBLE`` when the policy admits no plan;
        ``ERROR`` for policies the method cannot certify (coverage ceiling, minimum
        utilization: use the exact LP).
    """
    started = time.perf_counter()
    if problem.coverage_upper < 1.0 or problem.min_utilization > 0.0:
        limit = "a coverage ceiling" if problem.coverage_upper < 1.0 else "a minimum utilization"
        return _result(
            problem,
            OptimizationStatus.ERROR,
            f"cutting planes cannot certify {limit} (not convex in the commitments under the "
            "billing order); solve it with the exact LP",
            None,
            None,
            float("-inf"),
            solver,
            started,
            0,
        )
    deadline = None if time_limit_seconds is None else started + time_limit_seconds
    start: FloatArray | None = None
    if problem.n_periods > 2 * REPRESENTATIVES:
        labels = period_groups(problem, REPRESENTATIVES, seed=SEED + 1)
        warm = _solve(
            reduced_problem(problem, labels),
            tolerance=max(tolerance, WARM_TOLERANCE),
            solver=solver,
            deadline=deadline,
            max_iterations=max_iterations,
            progress=None,
            start=None,
            started=started,
        )
        if warm.units.size and np.all(np.isfinite(warm.units)):
            start = warm.units
    return _solve(
        problem,
        tolerance=tolerance,
        solver=solver,
        deadline=deadline,
        max_iterations=max_iterations,
        progress=progress,
        start=start,
        started=started,
    )


def _solve(
    problem: CommitmentProblem,
    *,
    tolerance: float,
    solver: str,
    deadline: float | None,
    max_iterations: int,
    progress: ProgressCallback | None,
    start: FloatArray | None,
    started: float,
) -> OptimizationResult:
    """The cutting-plane loop (see the module docstring)."""
    info = structure(problem)
    n_offers = problem.n_offers
    costs = problem.offers["objective_usd_per_unit"].to_numpy(dtype=np.float64)
    lower = problem.offers["lower_bound_units"].to_numpy(dtype=np.float64)
    upper = problem.offers["upper_bound_units"].to_numpy(dtype=np.float64)
    probability = problem.scenario_probability
    n_scenarios = probability.size
    groups = period_groups(problem)
    n_groups = int(groups.max()) + 1 if groups.size else 0
    group_scenario = np.zeros(n_groups, dtype=np.intp)
    group_scenario[groups] = problem.period_scenario

    # Classes: offers of one greedy unit with one activity pattern share their cut coefficients.
    covering = info.unit_of_offer >= 0
    keys = info.unit_of_offer * (info.patterns.shape[1] + 1) + info.pattern_of_offer
    class_keys, inverse = np.unique(keys[covering], return_inverse=True)
    class_of_offer = np.full(n_offers, -1, dtype=np.intp)
    class_of_offer[covering] = inverse
    class_unit = class_keys // (info.patterns.shape[1] + 1)
    class_pattern = class_keys % (info.patterns.shape[1] + 1)
    n_classes = class_keys.size

    coverage_floor = problem.coverage_lower > 0.0
    cvar = problem.cvar_weight > 0.0
    split = _split(problem, info, class_unit, groups, n_groups, n_classes) if DISAGGREGATE else None
    n_pieces = 0 if split is None else n_groups * split.n_blocks * PRICE_SLOTS
    layout = _Layout(n_offers, n_classes, n_groups, coverage_floor, cvar, n_scenarios, n_pieces)
    group_matrix = sp.csr_array(
        (np.ones(problem.n_periods), (groups, np.arange(problem.n_periods))),
        shape=(n_groups, problem.n_periods),
    )
    setup = _Setup(
        problem=problem,
        info=info,
        layout=layout,
        group_matrix=group_matrix,
        class_of_offer=class_of_offer,
        class_unit=class_unit,
        class_pattern=class_pattern,
        wf=problem.period_weight * problem.period_discount,
    )

    constant = problem.owned_cost_usd + problem.uncoverable_cost_usd
    objective = np.zeros(layout.n_columns)
    objective[:n_offers] = costs
    objective[layout.theta : layout.theta + n_groups] = probability[group_scenario]
    col_lower = np.zeros(layout.n_columns)
    col_upper = np.full(layout.n_columns, np.inf)
    col_lower[:n_offers] = lower
    col_upper[:n_offers] = upper
    col_lower[layout.z : layout.z + n_classes] = -np.inf
    if coverage_floor:
        col_upper[layout.phi : layout.phi + n_groups] = group_matrix @ (
            problem.period_weight * problem.demand_usd.sum(axis=1)
        )
    if cvar:
        objective[layout.eta] = problem.cvar_weight
        objective[layout.eta + 1 : layout.pieces] = (
            problem.cvar_weight * probability / (1.0 - problem.cvar_alpha)
        )
        col_lower[layout.eta] = -np.inf
    master, backend = _make_master(objective, col_lower, col_upper, solver)

    # Static rows: class links, policy rows, CVaR rows, coverage floor.
    link = sp.csr_array(
        (
            np.concatenate([np.ones(n_classes), -np.ones(int(covering.sum()))]),
            (
                np.concatenate([np.arange(n_classes), class_of_offer[covering]]),
                np.concatenate([layout.z + np.arange(n_classes), np.flatnonzero(covering)]),
            ),
        ),
        shape=(n_classes, layout.n_columns),
    )
    master.add_rows(link, np.zeros(n_classes), np.zeros(n_classes))
    n_static = n_classes
    if problem.offer_rows.shape[0]:
        rows = sp.hstack(
            [
                sp.csr_array(problem.offer_rows),
                sp.csr_array((problem.offer_rows.shape[0], layout.n_columns - n_offers)),
            ]
        )
        master.add_rows(sp.csr_array(rows), problem.offer_rows_lower, problem.offer_rows_upper)
        n_static += problem.offer_rows.shape[0]
    if cvar:
        # c·x + Σ_{g∈s} θ_g − η − u_s ≤ −constant
        s_rows = np.concatenate(
            [
                np.repeat(np.arange(n_scenarios), n_offers),
                group_scenario,
                np.arange(n_scenarios),
                np.arange(n_scenarios),
            ]
        )
        s_cols = np.concatenate(
            [
                np.tile(np.arange(n_offers), n_scenarios),
                layout.theta + np.arange(n_groups),
                np.full(n_scenarios, layout.eta),
                layout.eta + 1 + np.arange(n_scenarios),
            ]
        )
        s_vals = np.concatenate(
            [
                np.tile(costs, n_scenarios),
                np.ones(n_groups),
                -np.ones(n_scenarios),
                -np.ones(n_scenarios),
            ]
        )
        cvar_rows = sp.csr_array((s_vals, (s_rows, s_cols)), shape=(n_scenarios, layout.n_columns))
        master.add_rows(cvar_rows, np.full(n_scenarios, -np.inf), np.full(n_scenarios, -constant))
        n_static += n_scenarios
    if coverage_floor:
        hours = probability[problem.period_scenario] * problem.period_weight
        total = float(hours @ problem.demand_usd.sum(axis=1))
        row = np.zeros((1, layout.n_columns))
        row[0, layout.phi : layout.phi + n_groups] = probability[group_scenario]
        master.add_rows(
            sp.csr_array(row), np.array([problem.coverage_lower * total]), np.array([np.inf])
        )
        n_static += 1

    cut_lower = np.zeros(0)
    cut_upper = np.zeros(0)
    cut_seen = np.zeros(0, dtype=np.intp)
    cut_slot = np.zeros(0, dtype=np.intp)
    slot_prices: list[FloatArray | None] = [None] * PRICE_SLOTS
    next_slot = 0
    slot_value = float("inf")
    last_x: FloatArray | None = None
    best: _Point | None = None
    upper_bound = float("inf")
    lower_bound = float("-inf")
    billings = 0

    def append_rows(
        rows: sp.csr_array, lo: FloatArray, hi: FloatArray, seen: int, slot: int
    ) -> None:
        nonlocal cut_lower, cut_upper, cut_seen, cut_slot
        if lo.size == 0:
            return
        master.add_rows(rows, lo, hi)
        cut_lower = np.concatenate([cut_lower, lo])
        cut_upper = np.concatenate([cut_upper, hi])
        cut_seen = np.concatenate([cut_seen, np.full(lo.size, seen, dtype=np.intp)])
        cut_slot = np.concatenate([cut_slot, np.full(lo.size, slot, dtype=np.intp)])

    def drop_rows(drop: IntArray) -> None:
        nonlocal cut_lower, cut_upper, cut_seen, cut_slot
        if drop.size == 0:
            return
        master.delete_rows(n_static + drop)
        keep = np.ones(cut_seen.size, dtype=bool)
        keep[drop] = False
        cut_lower, cut_upper = cut_lower[keep], cut_upper[keep]
        cut_seen, cut_slot = cut_seen[keep], cut_slot[keep]

    def add_point(units: FloatArray, iteration: int) -> _Point:
        nonlocal best, upper_bound, billings, next_slot, slot_value
        point = _bill_point(setup, units, _within(problem, units))
        billings += 1
        rows, lo, hi = _cuts(setup, point)
        append_rows(rows, lo, hi, iteration, -1)
        improved = point.feasible and point.objective < upper_bound
        if split is not None:
            fresh = -1
            # A new slot drops the cuts of the one it replaces: only a plan clearly better
            # than the one that set the last slot earns one (tiny improvements in a row would
            # otherwise keep the disaggregated model at one or two cuts).
            threshold = _slot_threshold(tolerance, lower_bound, upper_bound)
            if (improved and point.objective < slot_value - threshold) or all(
                price is None for price in slot_prices
            ):
                slot_value = point.objective
                fresh = next_slot
                next_slot = (next_slot + 1) % PRICE_SLOTS
                drop_rows(np.flatnonzero(cut_slot == fresh))
                slot_prices[fresh] = np.array(point.billing.unit_price[split.last_units])
            active = [k for k, price in enumerate(slot_prices) if price is not None]
            terms = priced_terms(
                problem,
                units,
                [slot_prices[k] for k in active],  # type: ignore[misc]
                split.group_weight,
            )
            for k, term in zip(active, terms, strict=True):
                current = None if (k == fresh or last_x is None) else last_x
                rows, lo, hi = _piece_cuts(setup, split, term, point.units, k, current)
                append_rows(rows, lo, hi, iteration, k)
                if k == fresh:
                    rows, lo, hi = _link_cuts(setup, split, term, point.units, k)
                    append_rows(rows, lo, hi, np.iinfo(np.intp).max // 2, k)
        if improved:
            upper_bound = point.objective
            best = point
        return point

    def time_left() -> float | None:
        return None if deadline is None else max(deadline - time.perf_counter(), 0.0)

    def solve_master(box: tuple[FloatArray, FloatArray] | None, iteration: int) -> _Solved:
        nonlocal cut_lower, cut_upper, cut_seen, last_x
        lo, hi = col_lower, col_upper
        if box is not None:
            lo, hi = col_lower.copy(), col_upper.copy()
            lo[:n_offers], hi[:n_offers] = box
        solved = master.solve(lo, hi, time_left())
        if solved.status == "optimal":
            last_x = solved.x
        if solved.status == "optimal" and cut_lower.size:
            activity = solved.rows[n_static:]
            scale = 1e-6 * (1.0 + np.abs(np.where(np.isfinite(cut_lower), cut_lower, cut_upper)))
            tight = (activity <= cut_lower + scale) | (activity >= cut_upper - scale)
            cut_seen[tight] = iteration
        return solved

    if start is None:
        points = [np.clip(quantile_start(problem), lower, upper), lower.copy()]
    else:
        points = [np.clip(start, lower, upper)]
    for units in points:
        add_point(units, 0)

    scale = _trust_scale(problem, info)
    radius = INITIAL_RADIUS if start is not None else 0.5
    centre = best.units if best is not None else points[0]
    centre_value = upper_bound
    iteration = 0
    status = OptimizationStatus.GAP_NOT_REACHED
    message = ""
    bad_steps = 0
    history: list[tuple[float, float]] = []
    since_lower = 0

    while True:
        if _gap(lower_bound, upper_bound) <= tolerance:
            status = OptimizationStatus.OPTIMAL
            break
        if iteration >= max_iterations:
            message = f"stopped after {iteration} iterations"
            break
        if deadline is not None and time.perf_counter() >= deadline:
            message = "stopped at the time limit"
            break
        if _stalled(history, tolerance):
            message = "stopped: the bounds stopped moving"
            break
        iteration += 1
        since_lower += 1
        trial: FloatArray | None = None
        predicted = float("nan")
        if np.isfinite(centre_value):
            box = (
                np.maximum(lower, centre - radius * scale),
                np.minimum(upper, centre + radius * scale),
            )
            solved = solve_master(box, iteration)
            if solved.status == "optimal":
                trial = solved.x[:n_offers]
                predicted = solved.objective + constant
                inside = np.all(
                    ((trial > box[0] + 1e-9 * scale) | (box[0] <= lower))
                    & ((trial < box[1] - 1e-9 * scale) | (box[1] >= upper))
                )
                if inside:
                    lower_bound = max(lower_bound, predicted)
                    since_lower = 0
        need_lower = (
            trial is None or since_lower >= LOWER_EVERY or _gap(predicted, upper_bound) <= tolerance
        )
        if need_lower:
            solved = solve_master(None, iteration)
            if solved.status == "infeasible":
                return _result(
                    problem,
                    OptimizationStatus.INFEASIBLE,
                    _infeasible_message(problem),
                    None,
                    None,
                    float("-inf"),
                    backend,
                    started,
                    iteration,
                )
            if solved.status != "optimal":
                message = f"master LP stopped: {solved.status}"
                break
            lower_bound = max(lower_bound, solved.objective + constant)
            since_lower = 0
            if trial is None:
                trial = solved.x[:n_offers]
                predicted = solved.objective + constant
            if _gap(lower_bound, upper_bound) <= tolerance:
                history.append((lower_bound, upper_bound))
                if progress is not None:
                    progress(iteration, lower_bound, upper_bound)
                continue
        assert trial is not None
        trial = np.clip(trial, lower, upper)
        point = add_point(trial, iteration)
        if point.feasible and np.isfinite(centre_value):
            decrease = centre_value - predicted
            achieved = centre_value - point.objective
            if decrease > 0 and achieved >= SERIOUS_STEP * decrease:
                centre, centre_value = trial, point.objective
                if achieved >= 0.5 * decrease:
                    radius = min(radius * 2.0, 4.0)
                bad_steps = 0
            elif point is best:
                # Not the predicted decrease, but the best plan so far: it becomes the centre.
                centre, centre_value = trial, point.objective
            else:
                bad_steps += 1
                if bad_steps >= 2:
                    radius = max(radius * 0.5, 1e-4)
                    bad_steps = 0
        elif point.feasible:
            centre, centre_value = trial, point.objective
        # Forget cuts that stayed slack for a while.
        old = np.flatnonzero(cut_seen < iteration - CUT_AGE)
        if old.size > cut_seen.size // 4:
            drop_rows(old)
        history.append((lower_bound, upper_bound))
        if progress is not None:
            progress(iteration, lower_bound, upper_bound)

    if best is None:
        return _result(
            problem,
            OptimizationStatus.TIME_LIMIT if "time" in message else OptimizationStatus.ERROR,
            f"no feasible plan found: {message}",
            None,
            None,
            lower_bound,
            backend,
            started,
            iteration,
        )
    gap = _gap(lower_bound, upper_bound)
    if status is OptimizationStatus.OPTIMAL:
        message = (
            f"certified within {100 * gap:.3g}% of the optimum in {iteration} iterations "
            f"({billings} billings)"
        )
    else:
        message = (
            f"{message}; best plan certified within {100 * gap:.3g}% "
            f"(tolerance {100 * tolerance:.3g}%)"
        )
        dual_gap = float(
            probability[problem.period_scenario]
            @ (
                setup.wf * best.billing.uncovered_total
                - setup.wf
                * (
                    problem.demand_usd.sum(axis=1)
                    - best.billing.demand_value
                    - best.billing.capacity_credit
                )
            )
        )
        if dual_gap > 0.1 * tolerance * abs(upper_bound):
            message += (
                f"; AWS's billing order is {100 * dual_gap / abs(upper_bound):.2g}% above the "
                "LP's best allocation for this plan (pools applied in order across "
                "overlapping scopes), so the gap cannot close: use the exact LP to compare"
            )
    return _result(
        problem, status, message, best.units, best, lower_bound, backend, started, iteration
    )


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
    units: FloatArray | None,
    point: _Point | None,
    lower_bound: float,
    solver: str,
    started: float,
    iterations: int,
) -> OptimizationResult:
    """Package an :class:`OptimizationResult` (marginals from the capacity prices)."""
    if point is None or units is None:
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
        units=units,
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


__all__ = ["period_groups", "quantile_start", "reduced_problem", "solve_cutting_planes"]
