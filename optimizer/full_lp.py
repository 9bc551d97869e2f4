"""The full linear program of a :class:`~optimizer.problem.CommitmentProblem`, solved exactly.

``--exact`` solves this model as it stands; ``--integer`` solves it as a mixed-integer program
with AWS's purchase granularity (whole RIs, Savings Plan commitments in $0.001 steps). The
model is built vectorised from index arrays: one ``scipy.sparse.csc_array`` construction, no
Python loop over periods, columns, pools or nonzeros.

The model is written out in docs/optimizer.md, "The model"; each ``define_*`` function below
adds one block or constraint family of it through :class:`~optimizer.blocks.ModelBuilder` and
names its equation. Variables, in this order: ``x[k]`` (V1), ``y[t,g,j]`` (V2), and with CVaR
``cvar_eta``, ``cvar_z[s]`` (V3). Rows, in this order: ``cap(t,g)`` (C1), ``demand(t,j)`` (C2),
the policy rows (C3), ``coverage`` (C4), ``min_util(i)`` (C5), ``scenario_cost(s)`` (R1). By
default every pool is its own group; with ``merge_pools``, pools whose coverage rows are
proportional (e.g. the RI pools of one column: owned, every term and payment option) form one
group: the LP's best allocation only sees their summed capacity, so one set of ``y`` serves them
all, exactly (except new pools with offers under a minimum utilization, whose used capacity is a
row). A group is named after its first pool ``i``.

A merged solution is read back per pool by filling each group's used capacity into its pools
in ``pools.order``, as AWS's greedy order would.

Names follow the row and variable labels above (``x(12)_ri_us_east_1_m5_t0``,
``y(t,i,j)``, ``cap(t,i)``, ``demand(t,j)``, ``upfront_cap``, …), restricted to letters,
digits and ``_ . ( ) ,`` because HiGHS's LP writer drops every name if one holds ``[ ] : -``.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.errors import param
from optimizer.blocks import ConstraintBlock, ModelBuilder, VariableBlock
from optimizer.cvar import CvarBlocks, cvar, define_cvar, risk_of
from optimizer.problem import (
    COMPUTE_SP_POOL,
    DATABASE_SP_POOL,
    EC2_SP_POOL,
    RI_POOL,
    SAGEMAKER_SP_POOL,
    BoolArray,
    CommitmentProblem,
    FloatArray,
    IntArray,
)
from optimizer.result import OptimizationResult, OptimizationStatus
from optimizer.solvers.base import LinearProgram, Solution, SolveStatus
from pricing.offerings import SP_STEP_USD

MIP_RELATIVE_GAP: Final = 1e-4
"""Relative gap a MIP solve may stop at as "optimal" (HiGHS's default ``mip_rel_gap``); the
integer model's certified lower bound allows for it [1]."""
KIND_LABEL: Final = {
    RI_POOL: "ri",
    EC2_SP_POOL: "ec2sp",
    COMPUTE_SP_POOL: "csp",
    DATABASE_SP_POOL: "dsp",
    SAGEMAKER_SP_POOL: "msp",
}
"""Short pool kinds in variable names."""
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.(),]")
POLICY_LABELS: Final = {
    "max_upfront_usd": f"maximum upfront ({param('max_upfront_usd')})",
    "max_hourly_commitment_usd": (
        f"maximum hourly commitment ({param('max_hourly_commitment_usd')})"
    ),
    "custom_commitment_usd": "custom commitment",
    "coverage target": f"coverage target ({param('target_coverage')})",
    "coverage ceiling": "coverage ceiling",
    "minimum utilization": f"minimum utilization ({param('min_utilization')})",
    "offer bounds": "fixed or bounded purchases",
}
"""Readable names of the policy row groups of :mod:`optimizer.build`, for messages."""


@dataclass(frozen=True)
class RowGroup:
    """A group of policy rows the infeasibility diagnosis relaxes together.

    Attributes
    ----------
    label
        Readable name (``"upfront_cap"``, ``"coverage target"``, …).
    rows
        Row indices in the program.
    relax_lower, relax_upper
        Which side of the rows the relaxation drops.
    offer_bounds
        True for the group of the offers' own bounds (relaxed to ``[0, inf)``).
    """

    label: str
    rows: IntArray
    relax_lower: bool = True
    relax_upper: bool = True
    offer_bounds: bool = False


@dataclass(frozen=True)
class CoverageCells:
    """Pool groups and the covered-usage cells ``y[t,g,j]`` of the full model (variables (V2)).

    Attributes
    ----------
    pool_group, pool_scale
        Group of each pool and its scale ``s_i`` (coverage row = ``s_i`` × group row).
    group_pool
        First pool (in ``pools.order``) of each group, which names it.
    period, group, column, ratio
        Period, pool group, column and group coverage ratio ``ρ`` of each ``y`` variable.
    shared
        True for a ``y`` whose (period, column) cell holds two or more ``y`` (a demand row).
    demand_cells
        Periods × columns (flattened): True where the cell has a demand row.
    """

    pool_group: IntArray
    pool_scale: FloatArray
    group_pool: IntArray
    period: IntArray
    group: IntArray
    column: IntArray
    ratio: FloatArray
    shared: BoolArray
    demand_cells: BoolArray

    @property
    def n_y(self) -> int:
        """Number of covered-usage variables."""
        return int(self.period.shape[0])

    @property
    def n_groups(self) -> int:
        """Number of pool groups."""
        return int(self.group_pool.shape[0])


@dataclass(frozen=True, eq=False)
class FullModel:
    """The full LP (or MIP) of a problem and the blocks to read a solution back.

    Attributes
    ----------
    program
        The :class:`~optimizer.solvers.base.LinearProgram`.
    problem
        The problem it was built from.
    integer
        True for the mixed-integer model.
    offer_scale
        Units per unit of each ``x`` variable (1 in the LP; ``units_per_instance`` for RIs and
        :data:`SP_STEP_USD` for Savings Plans in integer mode) [units].
    cells
        Pool groups and the cell of every ``y``.
    x, y
        The variable blocks of the offers (V1) and the covered usage (V2).
    capacity, demand, policy
        The row families (C1), (C2) and (C3); the capacity rows are indexed by
        ``period · n_groups + group``, the demand rows by ``period · n_columns + column``.
    coverage, min_util, risk
        The coverage row (C4), the minimum-utilization rows (C5, indexed by pool) and the CVaR
        blocks (R1), each ``None`` when the problem has none.
    groups
        Policy row groups, in the order the infeasibility diagnosis relaxes them.
    """

    program: LinearProgram
    problem: CommitmentProblem
    integer: bool
    offer_scale: FloatArray
    cells: CoverageCells
    x: VariableBlock
    y: VariableBlock
    capacity: ConstraintBlock
    demand: ConstraintBlock
    policy: ConstraintBlock
    coverage: ConstraintBlock | None
    min_util: ConstraintBlock | None
    risk: CvarBlocks | None
    groups: tuple[RowGroup, ...]

    @property
    def n_y(self) -> int:
        """Number of covered-usage variables."""
        return int(self.cells.period.shape[0])

    def units(self, x: FloatArray) -> FloatArray:
        """Units bought of each offer, from the solution vector ``x`` [units].

        In integer mode the variables are rounded to the nearest integer first (solvers
        return them within their integrality tolerance).
        """
        values = x[: self.problem.n_offers]
        if self.integer:
            values = np.round(values)
        return np.asarray(self.offer_scale * values, dtype=np.float64)

    @property
    def n_groups(self) -> int:
        """Number of pool groups."""
        return int(self.cells.group_pool.shape[0])

    def group_used(self, x: FloatArray) -> FloatArray:
        """Capacity used by every group in every period, periods × groups [group units/h]."""
        problem = self.problem
        values = x[self.y.start : self.y.start + self.n_y] * self.cells.ratio
        flat = np.bincount(
            self.cells.period * self.n_groups + self.cells.group,
            weights=values,
            minlength=problem.n_periods * self.n_groups,
        )
        return np.asarray(flat, dtype=np.float64).reshape(problem.n_periods, self.n_groups)

    def pool_share(self, x: FloatArray) -> FloatArray:
        """Share of its group's used capacity each pool holds, periods × pools [0–1].

        The group's used capacity fills its pools in ``pools.order`` up to each pool's
        capacity (owned plus the plan's units); the last pool of a group takes any rest.
        """
        problem = self.problem
        used = self.group_used(x)[:, self.cells.pool_group]  # periods × pools, group units
        capacity = problem.pool_capacity(self.units(x)) / self.cells.pool_scale[None, :]
        order = np.lexsort((problem.pools["order"].to_numpy(), self.cells.pool_group))
        sorted_capacity = capacity[:, order]
        before = np.cumsum(sorted_capacity, axis=1) - sorted_capacity
        group_sorted = self.cells.pool_group[order]
        first = np.flatnonzero(np.r_[True, group_sorted[1:] != group_sorted[:-1]])
        starts = np.repeat(first, np.diff(np.r_[first, order.shape[0]]))
        before -= before[:, starts]
        is_last = np.r_[group_sorted[1:] != group_sorted[:-1], True]
        room = np.where(is_last[None, :], np.inf, sorted_capacity)
        held = np.clip(used[:, order] - before, 0.0, room)
        share = np.zeros_like(capacity)
        share[:, order] = np.divide(
            held, used[:, order], out=np.zeros_like(held), where=used[:, order] > 0
        )
        return share

    def covered_usd(self, x: FloatArray) -> sp.csr_array:
        """Covered on-demand USD/h, periods × (pool · n_columns + column) [USD/h].

        Entry ``[t, i * n_columns + j]`` is what pool ``i`` covers of column ``j`` in period
        ``t``: its share of its group's ``y[t,g,j]``.
        """
        problem = self.problem
        values = x[self.y.start : self.y.start + self.n_y]
        members = np.argsort(self.cells.pool_group, kind="stable")
        count = np.bincount(self.cells.pool_group, minlength=self.n_groups)
        first = np.cumsum(count) - count
        per_y = count[self.cells.group]
        entry = np.repeat(np.arange(self.n_y), per_y)
        offset = np.arange(entry.shape[0]) - np.repeat(np.cumsum(per_y) - per_y, per_y)
        pool = members[first[self.cells.group[entry]] + offset]
        period = self.cells.period[entry]
        covered = values[entry] * self.pool_share(x)[period, pool]
        return sp.csr_array(
            (covered, (period, pool * problem.n_columns + self.cells.column[entry])),
            shape=(problem.n_periods, problem.n_pools * problem.n_columns),
        )

    def covered_by_pool(self, x: FloatArray) -> FloatArray:
        """Covered on-demand USD/h of every pool in every period, periods × pools [USD/h]."""
        problem = self.problem
        values = x[self.y.start : self.y.start + self.n_y]
        flat = np.bincount(
            self.cells.period * self.n_groups + self.cells.group,
            weights=values,
            minlength=problem.n_periods * self.n_groups,
        )
        by_group = flat.reshape(problem.n_periods, self.n_groups)
        return np.asarray(by_group[:, self.cells.pool_group] * self.pool_share(x), dtype=np.float64)

    def used_capacity(self, x: FloatArray) -> FloatArray:
        """Capacity used by every pool in every period, periods × pools [units/h]."""
        used = self.group_used(x)[:, self.cells.pool_group] * self.pool_share(x)
        return np.asarray(used * self.cells.pool_scale[None, :], dtype=np.float64)

    def scenario_cost(self, x: FloatArray) -> FloatArray:
        """Cost of each scenario: commitments, owned, uncoverable and on-demand left [USD]."""
        problem = self.problem
        values = x[self.y.start : self.y.start + self.n_y]
        rate = problem.period_weight * problem.period_discount
        uncovered = rate * problem.demand_usd.sum(axis=1)
        uncovered -= np.bincount(
            self.cells.period, weights=values * rate[self.cells.period], minlength=problem.n_periods
        )
        n_scenarios = len(problem.scenario_probability)
        on_demand = np.bincount(problem.period_scenario, weights=uncovered, minlength=n_scenarios)
        commitments = float(_objective_per_unit(problem) @ self.units(x))
        constants = problem.owned_cost_usd + problem.uncoverable_cost_usd
        return np.asarray(on_demand + commitments + constants, dtype=np.float64)

    def capacity_value(self, row_duals: FloatArray) -> FloatArray:
        """Marginal saving of one more capacity unit per hour, periods × pools.

        Parameters
        ----------
        row_duals
            Row duals of the program (derivative of the objective w.r.t. each row's bound).

        Returns
        -------
        numpy.ndarray
            ``−dual`` of the pool's group capacity row ÷ the pool's scale, 0 where there is no
            row: the USD saved over the period's weighted hours by one more unit of the pool's
            capacity [USD per unit/h].
        """
        problem = self.problem
        flat = np.zeros(problem.n_periods * self.n_groups)
        flat[self.capacity.index] = -row_duals[self.capacity.start : self.capacity.stop]
        value = flat.reshape(problem.n_periods, self.n_groups)
        return np.asarray(
            value[:, self.cells.pool_group] / self.cells.pool_scale[None, :], dtype=np.float64
        )

    def offer_marginal(self, row_duals: FloatArray) -> FloatArray:
        """Marginal saving of one more unit of each offer [USD per unit].

        The value of its capacity (capacity-row duals over the periods it is active, and in
        CVaR mode its share of the scenario-cost rows) minus its cost; policy rows are left
        out, so a positive value means buying more would save were the policy to allow it.
        Bought offers below their limits show 0 (their last unit breaks even). The optimum is
        usually degenerate (the commitment sits on a usage level, an unbought pool's rows read
        0 ≤ 0), so the duals are one valid choice: for an offer not bought, the value bounds
        the saving of forcing a unit in from above.
        """
        program = self.program
        n_offers = self.problem.n_offers
        rows = self.capacity.rows
        if self.risk is not None:
            rows = np.concatenate([rows, self.risk.scenario_cost.rows])
        block = program.matrix[:, :n_offers].tocsr()[rows]
        reduced = program.objective[:n_offers] - block.T @ row_duals[rows]
        return np.asarray(-reduced / self.offer_scale, dtype=np.float64)


def _objective_per_unit(problem: CommitmentProblem) -> FloatArray:
    return problem.offers["objective_usd_per_unit"].to_numpy(dtype=np.float64)


def _offer_scale(problem: CommitmentProblem, integer: bool) -> FloatArray:
    """Units per ``x`` variable: 1, or whole instances / $0.001 steps in integer mode."""
    if not integer:
        return np.ones(problem.n_offers)
    pool = problem.offers["pool"].to_numpy(dtype=np.intp)
    kind = problem.pools["kind"].to_numpy()[pool]
    per_instance = problem.pools["units_per_instance"].to_numpy(dtype=np.float64)[pool]
    return np.where(kind == RI_POOL, per_instance, SP_STEP_USD)


def _capacity_possible(problem: CommitmentProblem) -> BoolArray:
    """Periods × pools: True where the pool can hold capacity (owned, or an offer active)."""
    pool = problem.offers["pool"].to_numpy(dtype=np.intp)
    can_buy = problem.offers["upper_bound_units"].to_numpy(dtype=np.float64) > 0
    to_pool = sp.csr_array(
        (can_buy.astype(np.float64), (np.arange(problem.n_offers), pool)),
        shape=(problem.n_offers, problem.n_pools),
    )
    active = np.asarray((abs(problem.offer_active) @ to_pool).todense()) > 0
    return np.asarray(active | (problem.owned_capacity > 0), dtype=np.bool_)


def _pool_groups(
    problem: CommitmentProblem,
    pair_pool: IntArray,
    pair_column: IntArray,
    pair_ratio: FloatArray,
    merge: bool,
) -> tuple[IntArray, FloatArray, IntArray]:
    """Group pools with proportional coverage rows (pairs sorted by pool, then column); each
    pool alone unless ``merge``.

    Returns
    -------
    tuple
        Group of each pool, each pool's scale ``s_i`` (its ratio on its first column; 1 for a
        pool without columns) and the first pool of each group.
    """
    n_pools = problem.n_pools
    if not merge:
        return np.arange(n_pools), np.ones(n_pools), np.arange(n_pools)
    first = np.flatnonzero(np.r_[True, pair_pool[1:] != pair_pool[:-1]])[: pair_pool.size]
    scale = np.ones(n_pools)
    scale[pair_pool[first]] = pair_ratio[first]
    relative = np.round(pair_ratio / scale[pair_pool], 12)
    tokens = pd.Series(pair_column.astype(str)) + "=" + pd.Series(relative.astype(str))
    row_key = tokens.groupby(pair_pool).agg(",".join)
    key = pd.Series("", index=np.arange(n_pools), dtype=object)
    key[row_key.index.to_numpy()] = row_key.to_numpy()
    if problem.min_utilization > 0:
        offered = np.bincount(problem.offers["pool"].to_numpy(dtype=np.intp), minlength=n_pools)
        alone = ~problem.pools["owned"].to_numpy(dtype=bool) & (offered > 0)
        key[alone] = key[alone] + "#" + pd.Series(np.arange(n_pools))[alone].astype(str)
    by_order = np.argsort(problem.pools["order"].to_numpy(), kind="stable")
    codes, _ = pd.factorize(key.iloc[by_order])
    group = np.empty(n_pools, dtype=np.intp)
    group[by_order] = codes
    group_pool = by_order[np.flatnonzero(np.r_[True, np.diff(np.maximum.accumulate(codes)) > 0])]
    return group, scale, group_pool


def _safe(names: pd.Series) -> pd.Series:
    return names.astype(str).str.replace(_UNSAFE_NAME, "_", regex=True)


def _indexed_names(prefix: str, *indices: IntArray) -> list[str]:
    """``prefix(a,b,…)`` for every position of the index arrays, built with numpy strings."""
    kind = np.dtypes.StringDType()
    text = np.strings.add(prefix + "(", indices[0].astype(kind))
    for index in indices[1:]:
        text = np.strings.add(np.strings.add(text, ","), index.astype(kind))
    names: list[str] = np.strings.add(text, ")").tolist()
    return names


def _offer_names(problem: CommitmentProblem) -> list[str]:
    offers = problem.offers
    pools = problem.pools.iloc[offers["pool"].to_numpy(dtype=np.intp)].reset_index(drop=True)
    kind = pools["kind"].map(KIND_LABEL).fillna("pool")
    region = pools["region"].where(pools["region"] != "", "all")
    scope = pools["instance_family"].where(pools["instance_type"] == "", pools["instance_type"])
    scope = scope.where(scope != "", "all")
    names = (
        "x("
        + pd.Series(np.arange(len(offers)).astype(str))
        + ")_"
        + kind
        + "_"
        + region
        + "_"
        + scope
        + "_t"
        + offers["tranche"].astype(str).reset_index(drop=True)
    )
    return list(_safe(names))


def _policy_names(problem: CommitmentProblem) -> list[str]:
    names = _safe(pd.Series(problem.offer_row_names, dtype=object))
    names = names.where(names != "", "policy")
    if names.duplicated().any():
        names = names + "(" + pd.Series(np.arange(len(names)).astype(str)) + ")"
    return list(names)


def _policy_groups(problem: CommitmentProblem, start: int) -> list[RowGroup]:
    """Offer rows grouped by their name up to the first ``[``, ``(`` or ``:``."""
    names = pd.Series(problem.offer_row_names, dtype=object).astype(str)
    stem = names.str.split(r"[\[(:]", regex=True).str[0].str.strip()
    stem = stem.where(stem != "", "policy row")
    groups = []
    for label, rows in stem.groupby(stem, sort=False).groups.items():
        indices = np.asarray(rows, dtype=np.intp)
        readable = POLICY_LABELS.get(str(label), str(label))
        if indices.shape[0] == 1:
            readable += names.iloc[indices[0]][len(str(label)) :]
        groups.append(RowGroup(label=readable, rows=indices + start))
    return groups


@dataclass(frozen=True)
class _Weights:
    """Per-period weights of the objective and the policy rows [h]."""

    expected: FloatArray
    """``w_t p_s``: expected hours (coverage, utilization; undiscounted)."""
    discounted: FloatArray
    """``w_t f_t``: discounted hours of one scenario (scenario costs)."""
    cost: FloatArray
    """``w_t f_t p_s``: discounted expected hours (objective)."""

    @classmethod
    def of(cls, problem: CommitmentProblem) -> _Weights:
        weight = np.asarray(problem.period_weight, dtype=np.float64)
        scenario = np.asarray(problem.period_scenario, dtype=np.intp)
        probability = np.asarray(problem.scenario_probability, dtype=np.float64)[scenario]
        discounted = weight * np.asarray(problem.period_discount, dtype=np.float64)
        return cls(weight * probability, discounted, discounted * probability)


def coverage_cells(problem: CommitmentProblem, merge_pools: bool) -> CoverageCells:
    """The pool groups and the ``y`` cells: (period, group pair) cells with demand where the
    group can hold capacity, period-major (see the module docstring, ``y[t,g,j]``)."""
    n_pools = problem.n_pools
    pairs = problem.coverage.tocoo()
    keep_pair = pairs.data != 0
    pair_pool = np.asarray(pairs.row, dtype=np.intp)[keep_pair]
    pair_column = np.asarray(pairs.col, dtype=np.intp)[keep_pair]
    pair_ratio = np.asarray(pairs.data, dtype=np.float64)[keep_pair]
    order = np.lexsort((pair_column, pair_pool))
    pair_pool, pair_column, pair_ratio = pair_pool[order], pair_column[order], pair_ratio[order]
    pool_group, pool_scale, group_pool = _pool_groups(
        problem, pair_pool, pair_column, pair_ratio, merge_pools
    )
    to_group = _to_group(pool_group, group_pool.shape[0])
    is_first = np.zeros(n_pools, dtype=bool)
    is_first[group_pool] = True
    first_pair = is_first[pair_pool]
    pair_group = pool_group[pair_pool[first_pair]]
    pair_column = pair_column[first_pair]
    pair_ratio = (pair_ratio / pool_scale[pair_pool])[first_pair]
    order = np.lexsort((pair_column, pair_group))
    pair_group, pair_column, pair_ratio = pair_group[order], pair_column[order], pair_ratio[order]
    possible = (_capacity_possible(problem).astype(np.float64) @ to_group) > 0
    demand = np.asarray(problem.demand_usd, dtype=np.float64)
    cell = (demand > 0)[:, pair_column] & possible[:, pair_group]
    period, pair = np.nonzero(cell)
    period = period.astype(np.intp)
    column = pair_column[pair]
    demand_key = period * problem.n_columns + column
    demand_cells = np.bincount(demand_key, minlength=demand.size) >= 2
    return CoverageCells(
        pool_group=pool_group,
        pool_scale=pool_scale,
        group_pool=group_pool,
        period=period,
        group=pair_group[pair],
        column=column,
        ratio=pair_ratio[pair],
        shared=demand_cells[demand_key],
        demand_cells=demand_cells,
    )


def _to_group(pool_group: IntArray, n_groups: int) -> sp.csr_array:
    """Pools × groups membership matrix."""
    n_pools = pool_group.shape[0]
    return sp.csr_array(
        (np.ones(n_pools), (np.arange(n_pools), pool_group)), shape=(n_pools, n_groups)
    )


def define_offers(
    builder: ModelBuilder, problem: CommitmentProblem, scale: FloatArray, integer: bool
) -> VariableBlock:
    """The purchase variables ``x[k]`` with their bounds and cost: (V1) and the first objective
    term (O) of docs/optimizer.md."""
    offers = problem.offers
    return builder.add_variables(
        "x",
        problem.n_offers,
        lower=offers["lower_bound_units"].to_numpy(dtype=np.float64) / scale,
        upper=offers["upper_bound_units"].to_numpy(dtype=np.float64) / scale,
        cost=_objective_per_unit(problem) * scale,
        integer=integer,
        names=lambda: _offer_names(problem),
    )


def define_covered_usage(
    builder: ModelBuilder, problem: CommitmentProblem, cells: CoverageCells, weights: _Weights
) -> VariableBlock:
    """The covered-usage variables ``y[t,g,j]``: (V2), bounded by demand where alone in their
    cell (C2), with the objective's saving ``−w f p`` (O)."""
    demand = np.asarray(problem.demand_usd, dtype=np.float64)
    return builder.add_variables(
        "y",
        cells.n_y,
        upper=np.where(cells.shared, np.inf, demand[cells.period, cells.column]),
        cost=-weights.cost[cells.period],
        names=lambda: _indexed_names(
            "y", cells.period, cells.group_pool[cells.group], cells.column
        ),
    )


def define_capacity(
    builder: ModelBuilder,
    problem: CommitmentProblem,
    cells: CoverageCells,
    x: VariableBlock,
    y: VariableBlock,
    scale: FloatArray,
) -> ConstraintBlock:
    """Coverage within capacity, ``cap(t,g)``: equation (C1) of docs/optimizer.md."""
    n_groups = cells.n_groups
    size = problem.n_periods * n_groups
    y_key = cells.period * n_groups + cells.group
    mask = np.bincount(y_key, minlength=size) > 0
    active = problem.offer_active.tocoo()
    period = np.asarray(active.row, dtype=np.intp)
    offer = np.asarray(active.col, dtype=np.intp)
    pool = problem.offers["pool"].to_numpy(dtype=np.intp)[offer]
    owned = (problem.owned_capacity / cells.pool_scale[None, :]) @ _to_group(
        cells.pool_group, n_groups
    )
    keys = np.flatnonzero(mask)
    return builder.add_constraints(
        "cap",
        [
            y.terms(y_key, np.arange(cells.n_y), cells.ratio),
            x.terms(
                period * n_groups + cells.pool_group[pool],
                offer,
                -active.data * scale[offer] / cells.pool_scale[pool],
            ),
        ],
        upper=np.asarray(owned, dtype=np.float64).reshape(-1),
        mask=mask,
        names=lambda: _indexed_names("cap", keys // n_groups, cells.group_pool[keys % n_groups]),
    )


def define_demand(
    builder: ModelBuilder, problem: CommitmentProblem, cells: CoverageCells, y: VariableBlock
) -> ConstraintBlock:
    """Coverage within demand where two or more ``y`` share a cell, ``demand(t,j)``: (C2)."""
    n_columns = problem.n_columns
    keys = np.flatnonzero(cells.demand_cells)
    return builder.add_constraints(
        "demand",
        [y.terms(cells.period * n_columns + cells.column, np.arange(cells.n_y), 1.0)],
        upper=np.asarray(problem.demand_usd, dtype=np.float64).reshape(-1),
        mask=cells.demand_cells,
        names=lambda: _indexed_names("demand", keys // n_columns, keys % n_columns),
    )


def define_policy_rows(
    builder: ModelBuilder, problem: CommitmentProblem, x: VariableBlock, scale: FloatArray
) -> tuple[ConstraintBlock, list[RowGroup]]:
    """The policy rows on what is bought (upfront, hourly, custom commitment): (C3)."""
    limits = sp.coo_array(problem.offer_rows)
    column = np.asarray(limits.col, dtype=np.intp)
    rows = builder.add_constraints(
        "policy",
        [x.terms(limits.row, column, limits.data * scale[column])],
        size=int(problem.offer_rows.shape[0]),
        lower=np.asarray(problem.offer_rows_lower, dtype=np.float64),
        upper=np.asarray(problem.offer_rows_upper, dtype=np.float64),
        names=lambda: _policy_names(problem),
    )
    return rows, _policy_groups(problem, rows.start)


def define_coverage_bounds(
    builder: ModelBuilder,
    problem: CommitmentProblem,
    cells: CoverageCells,
    y: VariableBlock,
    weights: _Weights,
) -> tuple[ConstraintBlock | None, list[RowGroup]]:
    """The coverage target and ceiling over expected covered USD (undiscounted): (C4)."""
    has_lower, has_upper = problem.coverage_lower > 0, problem.coverage_upper < 1
    if not (has_lower or has_upper):
        return None, []
    demand = np.asarray(problem.demand_usd, dtype=np.float64)
    total = float(weights.expected @ demand.sum(axis=1))
    row = builder.add_constraints(
        "coverage",
        [y.terms(np.zeros(cells.n_y), np.arange(cells.n_y), weights.expected[cells.period])],
        lower=np.array([problem.coverage_lower * total if has_lower else -np.inf]),
        upper=np.array([problem.coverage_upper * total if has_upper else np.inf]),
        names=lambda: ["coverage"],
    )
    groups = []
    if has_lower:
        groups.append(RowGroup("coverage target", row.rows, relax_upper=False))
    if has_upper:
        groups.append(RowGroup("coverage ceiling", row.rows, relax_lower=False))
    return row, groups


def define_min_utilization(
    builder: ModelBuilder,
    problem: CommitmentProblem,
    cells: CoverageCells,
    x: VariableBlock,
    y: VariableBlock,
    weights: _Weights,
    scale: FloatArray,
) -> ConstraintBlock | None:
    """Minimum expected utilization of every new pool with offers, ``min_util(i)``: (C5).

    Such pools are alone in their group (:func:`_pool_groups`), so a ``y`` row is its group's
    first pool.
    """
    if not (problem.min_utilization > 0 and problem.n_offers > 0):
        return None
    offer_pool = problem.offers["pool"].to_numpy(dtype=np.intp)
    owned = problem.pools["owned"].to_numpy(dtype=bool)
    mask = ~owned & (np.bincount(offer_pool, minlength=problem.n_pools) > 0)
    y_pool = cells.group_pool[cells.group]
    bought_hours = problem.offer_active.T @ weights.expected  # Σ_t w_t p_s active[t,k]
    return builder.add_constraints(
        "min_util",
        [
            y.terms(
                y_pool,
                np.arange(cells.n_y),
                weights.expected[cells.period] * cells.ratio * cells.pool_scale[y_pool],
            ),
            x.terms(
                offer_pool,
                np.arange(problem.n_offers),
                -problem.min_utilization * bought_hours * scale,
            ),
        ],
        lower=0.0,
        mask=mask,
        names=lambda: _indexed_names("min_util", np.flatnonzero(mask)),
    )


def define_scenario_costs(
    builder: ModelBuilder,
    problem: CommitmentProblem,
    cells: CoverageCells,
    x: VariableBlock,
    y: VariableBlock,
    weights: _Weights,
    scale: FloatArray,
) -> CvarBlocks:
    """The CVaR term (R1) over the scenario costs of the full model: commitments, on-demand
    left (``Σ_{t∈s} w_t f_t (demand − Σ y)``), owned and uncoverable."""
    n_scenarios = len(problem.scenario_probability)
    n_offers = problem.n_offers
    scenario = np.asarray(problem.period_scenario, dtype=np.intp)
    demand = np.asarray(problem.demand_usd, dtype=np.float64)
    cost_terms = [
        x.terms(
            np.repeat(np.arange(n_scenarios), n_offers),
            np.tile(np.arange(n_offers), n_scenarios),
            np.tile(_objective_per_unit(problem) * scale, n_scenarios),
        ),
        y.terms(scenario[cells.period], np.arange(cells.n_y), -weights.discounted[cells.period]),
    ]
    on_demand = np.bincount(
        scenario, weights=weights.discounted * demand.sum(axis=1), minlength=n_scenarios
    )
    constants = problem.owned_cost_usd + problem.uncoverable_cost_usd
    return define_cvar(
        builder,
        cost_terms,
        problem.risk_costs(np.asarray(on_demand + constants, dtype=np.float64)),
        np.asarray(problem.scenario_probability, dtype=np.float64),
        alpha=problem.cvar_alpha,
        weight=problem.cvar_weight,
        losses_only=problem.cvar_losses_only,
    )


def build_full_lp(
    problem: CommitmentProblem,
    *,
    integer: bool = False,
    names: bool = True,
    merge_pools: bool = False,
) -> FullModel:
    """Build the full model of ``problem`` (docs/optimizer.md, "The full model").

    Parameters
    ----------
    problem
        The reduced problem.
    integer
        Mixed-integer model: RI offers in whole instances, Savings Plans in $0.001 steps.
    names
        Name every variable and row (for :func:`optimizer.solvers.export_model`); off saves
        time and memory on large models.
    merge_pools
        Let pools with proportional coverage rows share one set of ``y`` (an exact
        reformulation, about 30 % fewer variables and rows with two RI offerings per column).
        Off by default: measured with HiGHS, it halves the interior point's time but doubles
        dual simplex's (which ``method="auto"`` uses below 5 M nonzeros).

    Returns
    -------
    FullModel
        The program and its blocks.
    """
    weights = _Weights.of(problem)
    scale = _offer_scale(problem, integer)
    cells = coverage_cells(problem, merge_pools)
    builder = ModelBuilder()
    x = define_offers(builder, problem, scale, integer)
    y = define_covered_usage(builder, problem, cells, weights)
    capacity = define_capacity(builder, problem, cells, x, y, scale)
    demand = define_demand(builder, problem, cells, y)
    policy, groups = define_policy_rows(builder, problem, x, scale)
    coverage, coverage_groups = define_coverage_bounds(builder, problem, cells, y, weights)
    min_util = define_min_utilization(builder, problem, cells, x, y, weights, scale)
    risk = None
    if problem.cvar_weight > 0:
        risk = define_scenario_costs(builder, problem, cells, x, y, weights, scale)
    groups += coverage_groups
    if min_util is not None:
        groups.append(RowGroup("minimum utilization", min_util.rows))
    groups.append(RowGroup("offer bounds", np.zeros(0, dtype=np.intp), offer_bounds=True))
    demand_usd = np.asarray(problem.demand_usd, dtype=np.float64).sum(axis=1)
    offset = float(weights.cost @ demand_usd) + problem.owned_cost_usd
    offset += problem.uncoverable_cost_usd
    return FullModel(
        program=builder.to_program(offset=offset, named=names),
        problem=problem,
        integer=integer,
        offer_scale=scale,
        cells=cells,
        x=x,
        y=y,
        capacity=capacity,
        demand=demand,
        policy=policy,
        coverage=coverage,
        min_util=min_util,
        risk=risk,
        groups=tuple(groups),
    )


def _solve(program: LinearProgram, solver: str, time_limit_seconds: float | None) -> Solution:
    from optimizer.solvers import solve

    return solve(program, solver=solver, time_limit_seconds=time_limit_seconds)


def _relaxed(model: FullModel, group: RowGroup) -> LinearProgram:
    program = model.program
    row_lower, row_upper = program.row_lower.copy(), program.row_upper.copy()
    if group.relax_lower:
        row_lower[group.rows] = -np.inf
    if group.relax_upper:
        row_upper[group.rows] = np.inf
    col_lower, col_upper = program.col_lower, program.col_upper
    if group.offer_bounds:
        n_offers = model.problem.n_offers
        col_lower, col_upper = col_lower.copy(), col_upper.copy()
        col_lower[:n_offers] = 0.0
        col_upper[:n_offers] = np.inf
    return dataclasses.replace(
        program,
        row_lower=row_lower,
        row_upper=row_upper,
        col_lower=col_lower,
        col_upper=col_upper,
    )


def diagnose_infeasible(
    model: FullModel, *, solver: str = "highs", time_limit_seconds: float | None = None
) -> str:
    """Name the policy limits whose relaxation alone makes the model feasible.

    Each group of :attr:`FullModel.groups` is relaxed in turn and the model re-solved, as an
    LP unless only the integer model is infeasible (then with its integrality).

    Returns
    -------
    str
        One line naming the binding limit(s).
    """
    feasible = (SolveStatus.OPTIMAL, SolveStatus.TIME_LIMIT, SolveStatus.UNBOUNDED)
    base = model
    granularity = ""
    if model.integer:
        continuous = dataclasses.replace(model.program, integrality=None)
        if _solve(continuous, solver, time_limit_seconds).status in feasible:
            granularity = " in whole RIs and $0.001 Savings Plan steps"
        else:
            base = dataclasses.replace(model, program=continuous)
    restoring = []
    for group in model.groups:
        if group.rows.shape[0] == 0 and not group.offer_bounds:
            continue
        if _solve(_relaxed(base, group), solver, time_limit_seconds).status in feasible:
            restoring.append(POLICY_LABELS.get(group.label, group.label))
    if len(restoring) == 1:
        return (
            f"the policy cannot be met{granularity}: the {restoring[0]} limit binds; "
            "relaxing it alone makes a plan possible"
        )
    if restoring:
        listed = ", ".join(restoring)
        return (
            f"the policy cannot be met{granularity}: these limits contradict each other "
            f"({listed}); relaxing any one of them makes a plan possible"
        )
    if granularity:
        return (
            f"the policy cannot be met{granularity} (the continuous model is feasible); "
            f"loosen a limit or solve without {param('integer')}"
        )
    labels = ", ".join(POLICY_LABELS.get(group.label, group.label) for group in model.groups)
    return "the policy cannot be met and no single limit is to blame; relax several of: " + labels


def solve_exact(
    problem: CommitmentProblem,
    *,
    solver: str = "highs",
    integer: bool = False,
    time_limit_seconds: float | None = None,
    export_path: str | Path | None = None,
) -> OptimizationResult:
    """Solve the full model of ``problem`` exactly (LP) or with AWS's granularity (MIP).

    Parameters
    ----------
    problem
        The reduced problem.
    solver
        Backend name of :func:`optimizer.solvers.solve`.
    integer
        Solve the mixed-integer model (whole RIs, Savings Plans in $0.001 steps).
    time_limit_seconds
        Wall-time limit of the solve [s]; ``None`` for none.
    export_path
        Write the model there first (``.lp`` or ``.mps``) for audit.

    Returns
    -------
    OptimizationResult
        The plan; on infeasibility, a message naming the binding policy limit. The offer
        marginals come from the duals (NaN for the MIP, which has none). A MIP's lower bound
        allows for :data:`MIP_RELATIVE_GAP`.
    """
    start = time.perf_counter()
    model = build_full_lp(problem, integer=integer, names=export_path is not None)
    if export_path is not None:
        from optimizer.solvers import export_model

        export_model(model.program, export_path)
    solution = _solve(model.program, solver, time_limit_seconds)
    method = "exact-mip" if integer else "exact-lp"
    failure = _failure(model, solution, method, solver, time_limit_seconds)
    if failure is not None:
        status, message = failure
        return OptimizationResult(
            status=status,
            message=message,
            units=np.full(problem.n_offers, np.nan),
            objective_usd=float("nan"),
            lower_bound_usd=-np.inf,
            upper_bound_usd=np.inf,
            method=method,
            solver=solution.solver or solver,
            seconds=time.perf_counter() - start,
            iterations=solution.iterations or 0,
        )
    return _plan_result(model, solution, method, solver, start)


def _failure(
    model: FullModel,
    solution: Solution,
    method: str,
    solver: str,
    time_limit_seconds: float | None,
) -> tuple[OptimizationStatus, str] | None:
    """Status and message of a solve without a usable plan; ``None`` for a plan."""
    if solution.status is SolveStatus.INFEASIBLE:
        message = diagnose_infeasible(model, solver=solver, time_limit_seconds=time_limit_seconds)
        return OptimizationStatus.INFEASIBLE, message
    if solution.x.shape[0] != model.program.n_columns:
        if solution.status is SolveStatus.TIME_LIMIT:
            return (
                OptimizationStatus.TIME_LIMIT,
                f"the exact {method} solve stopped at the time limit without a plan "
                f"(raise {param('time_limit_seconds')} or drop {param('exact')} to use the "
                "certified cutting planes)",
            )
        return OptimizationStatus.ERROR, f"the exact {method} solve failed: {solution.message}"
    if solution.status not in (SolveStatus.OPTIMAL, SolveStatus.TIME_LIMIT):
        return OptimizationStatus.ERROR, f"the exact {method} solve failed: {solution.message}"
    return None


def _plan_result(
    model: FullModel, solution: Solution, method: str, solver: str, start: float
) -> OptimizationResult:
    """The result of a solve with a plan: objective from the scenario costs, marginals from the
    duals (NaN for the MIP)."""
    problem = model.problem
    x = np.asarray(solution.x, dtype=np.float64)
    scenario_cost = model.scenario_cost(x)
    expected = float(problem.scenario_probability @ scenario_cost)
    objective = expected
    if problem.cvar_weight > 0:
        objective += problem.cvar_weight * risk_of(problem, scenario_cost)[0]
    duals = np.asarray(solution.row_duals, dtype=np.float64)
    if not model.integer and duals.shape[0] == model.program.n_rows:
        marginal = model.offer_marginal(duals)
    else:
        marginal = np.full(problem.n_offers, np.nan)
    optimal = solution.status is SolveStatus.OPTIMAL
    lower = -np.inf
    if optimal:
        lower = objective - MIP_RELATIVE_GAP * abs(objective) if model.integer else objective
    return OptimizationResult(
        status=OptimizationStatus.OPTIMAL if optimal else OptimizationStatus.GAP_NOT_REACHED,
        message=(
            f"solved the full model exactly ({method}, {model.program.n_columns:,} variables, "
            f"{model.program.n_rows:,} rows)"
            if optimal
            else f"stopped at the time limit with a feasible plan; its gap is not certified "
            f"({solution.message})"
        ),
        units=model.units(x),
        objective_usd=objective,
        lower_bound_usd=lower,
        upper_bound_usd=objective,
        method=method,
        solver=solution.solver or solver,
        seconds=time.perf_counter() - start,
        iterations=solution.iterations or 0,
        offer_marginal_usd=marginal,
        expected_cost_usd=expected,
        scenario_cost_usd=scenario_cost,
    )


__all__ = [
    "MIP_RELATIVE_GAP",
    "POLICY_LABELS",
    "SP_STEP_USD",
    "FullModel",
    "RowGroup",
    "build_full_lp",
    "cvar",
    "diagnose_infeasible",
    "solve_exact",
]
