"""The full linear program of a :class:`~optimizer.problem.CommitmentProblem`, solved exactly.

``--exact`` solves this model as it stands; ``--integer`` solves it as a mixed-integer program
with AWS's purchase granularity (whole RIs, Savings Plan commitments in $0.001 steps). The
model is built vectorised from index arrays: one ``scipy.sparse.csc_array`` construction, no
Python loop over periods, columns, pools or nonzeros.

Variables, in this order (``P`` periods, ``K`` offers, ``S`` scenarios):

``x[k]``
    Quantity of offer ``k`` [units]; in integer mode, RI offers count whole instances of the
    pool's ``purchase_instance_type`` (``units_per_instance`` units each) and Savings Plan
    offers count thousandths of a USD/h, so that ``units = offer_scale × x``.
``y[t,g,j]``
    On-demand USD/h of column ``j`` covered by pool group ``g`` in period ``t``, only where the
    group covers the column, the column has demand in the period and the group can have
    capacity then (owned capacity, or an offer active with a positive upper bound). By default
    every pool is its own group. With ``merge_pools``, pools whose coverage rows are
    proportional (e.g. the RI pools of one column: owned, every term and payment option)
    form one group: the LP's best allocation only sees their summed capacity, so one set of
    ``y`` serves them all, exactly (except new pools with offers under a minimum utilization,
    whose used capacity is a row). A group is named after its first pool ``i``.
``cvar_eta``, ``cvar_z[s]``
    Only when ``cvar_weight > 0``: the value-at-risk and the excess of each scenario's cost.

Rows, in this order:

``cap(t,i)``
    ``Σ_j ρ[g,j] y[t,g,j] − Σ_{k∈g} offer_active[t,k] x[k] ÷ s_{pool(k)} ≤ Σ_{i∈g}
    owned_capacity[t,i] ÷ s_i`` for every (period, group) with a ``y``. Unmerged, ``s = 1``
    and ``ρ`` is the pool's coverage row: ``Σ_j coverage[i,j] y − Σ_{k∈i} offer_active[t,k]
    x[k] ≤ owned_capacity[t,i]``. Merged, pool ``i``'s row is ``s_i ρ[g]`` with ``ρ`` 1 on
    the group's first column.
``demand(t,j)``
    ``Σ_g y[t,g,j] ≤ demand_usd[t,j]``, only where two or more ``y`` share the cell; a ``y``
    alone in its cell has the demand as its upper bound instead. (Bounding every ``y`` by
    its demand as well is valid but redundant, and made dual simplex 2–3× slower.)
policy rows (named after ``offer_row_names``)
    ``offer_rows_lower ≤ offer_rows @ units ≤ offer_rows_upper``.
``coverage``
    ``coverage_lower · T ≤ Σ w_t p_s y ≤ coverage_upper · T`` with ``T = Σ w_t p_s demand``
    (undiscounted), when the policy sets a bound.
``min_util(i)``
    For every new pool with offers: ``Σ w_t p_s Σ_j coverage[i,j] y[t,g(i),j] −
    u Σ_{k∈i} (Σ_t w_t p_s offer_active[t,k]) x[k] ≥ 0``.
``scenario_cost(s)``
    Only with CVaR: ``cvar_z[s] + cvar_eta − Σ c_k x_k + Σ_{t∈s} w_t f_t Σ y ≥
    Σ_{t∈s} w_t f_t Σ demand + owned + uncoverable``.

Objective: ``Σ_k objective_usd_per_unit[k] units[k] − Σ w_t f_t p_s Σ y + offset`` with
``offset = Σ w_t f_t p_s Σ demand + owned_cost_usd + uncoverable_cost_usd`` (the all
on-demand cost minus what is covered), plus ``λ (cvar_eta + Σ_s p_s cvar_z[s] ÷ (1 − α))``.

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
from optimizer.problem import (
    COMPUTE_SP_POOL,
    EC2_SP_POOL,
    RI_POOL,
    BoolArray,
    CommitmentProblem,
    FloatArray,
    IntArray,
)
from optimizer.result import OptimizationResult, OptimizationStatus
from optimizer.solvers.base import LinearProgram, Solution, SolveStatus

MIP_RELATIVE_GAP: Final = 1e-4
"""Relative gap a MIP solve may stop at as "optimal" (HiGHS's default ``mip_rel_gap``); the
integer model's certified lower bound allows for it [1]."""
SP_STEP_USD: Final = 0.001
"""Savings Plan commitment granularity of the integer model [USD/h]."""
KIND_LABEL: Final = {RI_POOL: "ri", EC2_SP_POOL: "ec2sp", COMPUTE_SP_POOL: "csp"}
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


@dataclass(frozen=True, eq=False)
class FullModel:
    """The full LP (or MIP) of a problem and the index maps to read a solution back.

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
    y_start
        Index of the first ``y`` variable (``x`` are ``0 … n_offers − 1``).
    pool_group, pool_scale
        Group of each pool and its scale ``s_i`` (coverage row = ``s_i`` × group row).
    group_pool
        First pool (in ``pools.order``) of each group, which names it.
    y_period, y_group, y_column, y_ratio
        Period, pool group, column and group coverage ratio ``ρ`` of each ``y`` variable.
    cvar_eta
        Index of ``cvar_eta`` (−1 without CVaR); ``cvar_z[s]`` follow it.
    capacity_period, capacity_group
        Period and pool group of each capacity row (rows ``0 … len − 1``).
    demand_start, demand_period, demand_column
        First demand row, and the cell of each.
    policy_start
        First policy (offer) row; ``problem.offer_rows`` rows follow.
    coverage_row
        Index of the coverage row (−1 for none).
    min_util_start, min_util_pool
        First minimum-utilization row and the pool of each.
    scenario_start
        First scenario-cost row (−1 without CVaR).
    groups
        Policy row groups, in the order the infeasibility diagnosis relaxes them.
    """

    program: LinearProgram
    problem: CommitmentProblem
    integer: bool
    offer_scale: FloatArray
    pool_group: IntArray
    pool_scale: FloatArray
    group_pool: IntArray
    y_start: int
    y_period: IntArray
    y_group: IntArray
    y_column: IntArray
    y_ratio: FloatArray
    cvar_eta: int
    capacity_period: IntArray
    capacity_group: IntArray
    demand_start: int
    demand_period: IntArray
    demand_column: IntArray
    policy_start: int
    coverage_row: int
    min_util_start: int
    min_util_pool: IntArray
    scenario_start: int
    groups: tuple[RowGroup, ...]

    @property
    def n_y(self) -> int:
        """Number of covered-usage variables."""
        return int(self.y_period.shape[0])

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
        return int(self.group_pool.shape[0])

    def group_used(self, x: FloatArray) -> FloatArray:
        """Capacity used by every group in every period, periods × groups [group units/h]."""
        problem = self.problem
        values = x[self.y_start : self.y_start + self.n_y] * self.y_ratio
        flat = np.bincount(
            self.y_period * self.n_groups + self.y_group,
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
        used = self.group_used(x)[:, self.pool_group]  # periods × pools, group units
        capacity = problem.pool_capacity(self.units(x)) / self.pool_scale[None, :]
        order = np.lexsort((problem.pools["order"].to_numpy(), self.pool_group))
        sorted_capacity = capacity[:, order]
        before = np.cumsum(sorted_capacity, axis=1) - sorted_capacity
        group_sorted = self.pool_group[order]
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
        values = x[self.y_start : self.y_start + self.n_y]
        members = np.argsort(self.pool_group, kind="stable")
        count = np.bincount(self.pool_group, minlength=self.n_groups)
        first = np.cumsum(count) - count
        per_y = count[self.y_group]
        entry = np.repeat(np.arange(self.n_y), per_y)
        offset = np.arange(entry.shape[0]) - np.repeat(np.cumsum(per_y) - per_y, per_y)
        pool = members[first[self.y_group[entry]] + offset]
        period = self.y_period[entry]
        covered = values[entry] * self.pool_share(x)[period, pool]
        return sp.csr_array(
            (covered, (period, pool * problem.n_columns + self.y_column[entry])),
            shape=(problem.n_periods, problem.n_pools * problem.n_columns),
        )

    def covered_by_pool(self, x: FloatArray) -> FloatArray:
        """Covered on-demand USD/h of every pool in every period, periods × pools [USD/h]."""
        problem = self.problem
        values = x[self.y_start : self.y_start + self.n_y]
        flat = np.bincount(
            self.y_period * self.n_groups + self.y_group,
            weights=values,
            minlength=problem.n_periods * self.n_groups,
        )
        by_group = flat.reshape(problem.n_periods, self.n_groups)
        return np.asarray(by_group[:, self.pool_group] * self.pool_share(x), dtype=np.float64)

    def used_capacity(self, x: FloatArray) -> FloatArray:
        """Capacity used by every pool in every period, periods × pools [units/h]."""
        used = self.group_used(x)[:, self.pool_group] * self.pool_share(x)
        return np.asarray(used * self.pool_scale[None, :], dtype=np.float64)

    def scenario_cost(self, x: FloatArray) -> FloatArray:
        """Cost of each scenario: commitments, owned, uncoverable and on-demand left [USD]."""
        problem = self.problem
        values = x[self.y_start : self.y_start + self.n_y]
        rate = problem.period_weight * problem.period_discount
        uncovered = rate * problem.demand_usd.sum(axis=1)
        uncovered -= np.bincount(
            self.y_period, weights=values * rate[self.y_period], minlength=problem.n_periods
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
        value = np.zeros((problem.n_periods, self.n_groups))
        n_rows = self.capacity_period.shape[0]
        value[self.capacity_period, self.capacity_group] = -row_duals[:n_rows]
        return np.asarray(value[:, self.pool_group] / self.pool_scale[None, :], dtype=np.float64)

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
        n_capacity = self.capacity_period.shape[0]
        rows = np.arange(n_capacity)
        if self.scenario_start >= 0:
            scenarios = np.arange(self.scenario_start, program.n_rows)
            rows = np.concatenate([rows, scenarios])
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


def _lookup(keys: IntArray, size: int) -> tuple[IntArray, IntArray]:
    """Rows for the distinct ``keys`` (sorted) and each key's row; one pass, no sort."""
    present = np.bincount(keys, minlength=size) > 0
    distinct = np.flatnonzero(present)
    row_of = np.full(size, -1, dtype=np.intp)
    row_of[distinct] = np.arange(distinct.shape[0])
    return distinct, row_of


def _csc(
    rows: list[IntArray], cols: list[IntArray], vals: list[FloatArray], shape: tuple[int, int]
) -> sp.csc_array:
    """One CSC array from blocks of (row, column, value) entries, without a COO round trip.

    Every block lists a column's entries in increasing row order and the blocks come in
    increasing row ranges, so a stable sort by column leaves each column's rows sorted.
    """
    row = np.concatenate(rows)
    col = np.concatenate(cols)
    val = np.concatenate(vals)
    nonzero = val != 0
    row, col, val = row[nonzero], col[nonzero], val[nonzero]
    order = np.argsort(col, kind="stable")
    indptr = np.zeros(shape[1] + 1, dtype=np.intp)
    np.cumsum(np.bincount(col, minlength=shape[1]), out=indptr[1:])
    matrix = sp.csc_array((val[order], row[order], indptr), shape=shape)
    if not matrix.has_canonical_format:
        matrix.sum_duplicates()
    return matrix


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


def build_full_lp(
    problem: CommitmentProblem,
    *,
    integer: bool = False,
    names: bool = True,
    merge_pools: bool = False,
) -> FullModel:
    """Build the full model of ``problem`` (see the module docstring for its layout).

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
        The program and its index maps.
    """
    n_periods, n_columns = problem.n_periods, problem.n_columns
    n_pools, n_offers = problem.n_pools, problem.n_offers
    n_scenarios = len(problem.scenario_probability)
    demand = np.asarray(problem.demand_usd, dtype=np.float64)
    weight = np.asarray(problem.period_weight, dtype=np.float64)
    scenario = np.asarray(problem.period_scenario, dtype=np.intp)
    probability = np.asarray(problem.scenario_probability, dtype=np.float64)[scenario]
    expected_weight = weight * probability  # w_t p_s [h]
    discounted = weight * np.asarray(problem.period_discount, dtype=np.float64)  # w_t f_t [h]
    cost_weight = discounted * probability  # w_t f_t p_s [h]
    scale = _offer_scale(problem, integer)
    offer_pool = problem.offers["pool"].to_numpy(dtype=np.intp)
    price = _objective_per_unit(problem)
    use_cvar = problem.cvar_weight > 0

    # Pool groups (proportional coverage rows) and their (group, column) pairs.
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
    n_groups = group_pool.shape[0]
    to_group = sp.csr_array(
        (np.ones(n_pools), (np.arange(n_pools), pool_group)), shape=(n_pools, n_groups)
    )
    is_first = np.zeros(n_pools, dtype=bool)
    is_first[group_pool] = True
    first_pair = is_first[pair_pool]
    pair_group = pool_group[pair_pool[first_pair]]
    pair_column = pair_column[first_pair]
    pair_ratio = (pair_ratio / pool_scale[pair_pool])[first_pair]
    order = np.lexsort((pair_column, pair_group))
    pair_group, pair_column, pair_ratio = pair_group[order], pair_column[order], pair_ratio[order]
    possible = (_capacity_possible(problem).astype(np.float64) @ to_group) > 0

    # y variables: (period, group pair) cells with demand and possible capacity, period-major.
    cell = (demand > 0)[:, pair_column] & possible[:, pair_group]
    y_period, y_pair = np.nonzero(cell)
    y_period = y_period.astype(np.intp)
    y_group, y_column, y_ratio = pair_group[y_pair], pair_column[y_pair], pair_ratio[y_pair]
    n_y = y_period.shape[0]
    y_start = n_offers
    y_index = y_start + np.arange(n_y)
    cvar_eta = y_start + n_y if use_cvar else -1
    n_variables = y_start + n_y + (1 + n_scenarios if use_cvar else 0)

    rows: list[IntArray] = []
    cols: list[IntArray] = []
    vals: list[FloatArray] = []
    lower: list[FloatArray] = []
    upper: list[FloatArray] = []

    def add(row: IntArray, col: IntArray, val: FloatArray) -> None:
        rows.append(np.asarray(row, dtype=np.intp))
        cols.append(np.asarray(col, dtype=np.intp))
        vals.append(np.asarray(val, dtype=np.float64))

    # Capacity rows (t, g).
    cap_keys, cap_row_of = _lookup(y_period * n_groups + y_group, n_periods * n_groups)
    capacity_period, capacity_group = cap_keys // n_groups, cap_keys % n_groups
    add(cap_row_of[y_period * n_groups + y_group], y_index, y_ratio)
    active = problem.offer_active.tocoo()
    active_period = np.asarray(active.row, dtype=np.intp)
    active_offer = np.asarray(active.col, dtype=np.intp)
    active_pool = offer_pool[active_offer]
    active_row = cap_row_of[active_period * n_groups + pool_group[active_pool]]
    on_row = active_row >= 0
    coefficient = -active.data * scale[active_offer] / pool_scale[active_pool]
    add(active_row[on_row], active_offer[on_row], coefficient[on_row])
    n_capacity = cap_keys.shape[0]
    owned_units = (problem.owned_capacity / pool_scale[None, :]) @ to_group
    lower.append(np.full(n_capacity, -np.inf))
    upper.append(np.asarray(owned_units[capacity_period, capacity_group], dtype=np.float64))
    next_row = n_capacity

    # Demand rows (t, j) shared by two or more y.
    demand_key = y_period * n_columns + y_column
    shared = np.bincount(demand_key, minlength=n_periods * n_columns) >= 2
    demand_keys = np.flatnonzero(shared)
    demand_row_of = np.full(n_periods * n_columns, -1, dtype=np.intp)
    demand_row_of[demand_keys] = next_row + np.arange(demand_keys.shape[0])
    in_shared = shared[demand_key]
    add(demand_row_of[demand_key[in_shared]], y_index[in_shared], np.ones(int(in_shared.sum())))
    demand_period, demand_column = demand_keys // n_columns, demand_keys % n_columns
    lower.append(np.full(demand_keys.shape[0], -np.inf))
    upper.append(demand[demand_period, demand_column])
    demand_start = next_row
    next_row += demand_keys.shape[0]

    # Policy rows on what is bought.
    policy_start = next_row
    limits = sp.coo_array(problem.offer_rows)
    limit_col = np.asarray(limits.col, dtype=np.intp)
    add(policy_start + np.asarray(limits.row, dtype=np.intp), limit_col,
        limits.data * scale[limit_col])  # fmt: skip
    n_policy = int(problem.offer_rows.shape[0])
    lower.append(np.asarray(problem.offer_rows_lower, dtype=np.float64))
    upper.append(np.asarray(problem.offer_rows_upper, dtype=np.float64))
    next_row += n_policy
    groups = _policy_groups(problem, policy_start)

    # Coverage bounds over the expected covered on-demand USD (undiscounted).
    coverage_row = -1
    total = float(expected_weight @ demand.sum(axis=1))
    has_lower, has_upper = problem.coverage_lower > 0, problem.coverage_upper < 1
    if has_lower or has_upper:
        coverage_row = next_row
        add(np.full(n_y, coverage_row), y_index, expected_weight[y_period])
        lower.append(np.array([problem.coverage_lower * total if has_lower else -np.inf]))
        upper.append(np.array([problem.coverage_upper * total if has_upper else np.inf]))
        next_row += 1
        single = np.array([coverage_row], dtype=np.intp)
        if has_lower:
            groups.append(RowGroup("coverage target", single, relax_upper=False))
        if has_upper:
            groups.append(RowGroup("coverage ceiling", single, relax_lower=False))

    # Minimum expected utilization of every new pool with offers.
    min_util_start = next_row
    min_util_pool = np.zeros(0, dtype=np.intp)
    if problem.min_utilization > 0 and n_offers > 0:
        owned = problem.pools["owned"].to_numpy(dtype=bool)
        min_util_pool = np.flatnonzero(~owned & (np.bincount(offer_pool, minlength=n_pools) > 0))
        util_row_of = np.full(n_pools, -1, dtype=np.intp)
        util_row_of[min_util_pool] = next_row + np.arange(min_util_pool.shape[0])
        y_row = util_row_of[group_pool[y_group]]  # such pools are alone in their group
        y_util = y_row >= 0
        y_scale = pool_scale[group_pool[y_group[y_util]]]
        add(y_row[y_util], y_index[y_util],
            expected_weight[y_period[y_util]] * y_ratio[y_util] * y_scale)  # fmt: skip
        bought_hours = problem.offer_active.T @ expected_weight  # Σ_t w_t p_s active[t,k]
        x_util = util_row_of[offer_pool] >= 0
        add(util_row_of[offer_pool[x_util]], np.flatnonzero(x_util),
            -problem.min_utilization * bought_hours[x_util] * scale[x_util])  # fmt: skip
        lower.append(np.zeros(min_util_pool.shape[0]))
        upper.append(np.full(min_util_pool.shape[0], np.inf))
        groups.append(RowGroup("minimum utilization", next_row + np.arange(min_util_pool.shape[0])))
        next_row += min_util_pool.shape[0]

    groups.append(RowGroup("offer bounds", np.zeros(0, dtype=np.intp), offer_bounds=True))

    # Scenario-cost rows of the CVaR term.
    scenario_start = -1
    constants = problem.owned_cost_usd + problem.uncoverable_cost_usd
    if use_cvar:
        scenario_start = next_row
        add(scenario_start + scenario[y_period], y_index, discounted[y_period])
        grid_row = np.repeat(np.arange(n_scenarios), n_offers)
        grid_col = np.tile(np.arange(n_offers), n_scenarios)
        add(scenario_start + grid_row, grid_col, -np.tile(price * scale, n_scenarios))
        add(scenario_start + np.arange(n_scenarios), np.full(n_scenarios, cvar_eta),
            np.ones(n_scenarios))  # fmt: skip
        add(scenario_start + np.arange(n_scenarios), cvar_eta + 1 + np.arange(n_scenarios),
            np.ones(n_scenarios))  # fmt: skip
        on_demand = np.bincount(
            scenario, weights=discounted * demand.sum(axis=1), minlength=n_scenarios
        )
        lower.append(np.asarray(on_demand + constants, dtype=np.float64))
        upper.append(np.full(n_scenarios, np.inf))
        next_row += n_scenarios

    matrix = _csc(rows, cols, vals, (next_row, n_variables))

    objective = np.zeros(n_variables)
    objective[:n_offers] = price * scale
    objective[y_index] = -cost_weight[y_period]
    col_lower = np.zeros(n_variables)
    col_upper = np.full(n_variables, np.inf)
    col_lower[:n_offers] = problem.offers["lower_bound_units"].to_numpy(dtype=np.float64) / scale
    col_upper[:n_offers] = problem.offers["upper_bound_units"].to_numpy(dtype=np.float64) / scale
    col_upper[y_index] = np.where(in_shared, np.inf, demand[y_period, y_column])
    if use_cvar:
        objective[cvar_eta] = problem.cvar_weight
        objective[cvar_eta + 1 :] = (
            problem.cvar_weight * problem.scenario_probability / (1 - problem.cvar_alpha)
        )
        col_lower[cvar_eta] = -np.inf
    offset = float(cost_weight @ demand.sum(axis=1)) + constants
    integrality = None
    if integer:
        integrality = np.zeros(n_variables, dtype=np.int8)
        integrality[:n_offers] = 1

    column_names: tuple[str, ...] | None = None
    row_names: tuple[str, ...] | None = None
    if names:
        column_names = tuple(
            _offer_names(problem)
            + _indexed_names("y", y_period, group_pool[y_group], y_column)
            + (["cvar_eta"] if use_cvar else [])
            + (_indexed_names("cvar_z", np.arange(n_scenarios)) if use_cvar else [])
        )
        row_names = tuple(
            _indexed_names("cap", capacity_period, group_pool[capacity_group])
            + _indexed_names("demand", demand_period, demand_column)
            + _policy_names(problem)
            + (["coverage"] if coverage_row >= 0 else [])
            + _indexed_names("min_util", min_util_pool)
            + (_indexed_names("scenario_cost", np.arange(n_scenarios)) if use_cvar else [])
        )

    program = LinearProgram(
        objective=objective,
        matrix=matrix,
        row_lower=np.concatenate(lower),
        row_upper=np.concatenate(upper),
        col_lower=col_lower,
        col_upper=col_upper,
        offset=offset,
        integrality=integrality,
        column_names=column_names,
        row_names=row_names,
    )
    return FullModel(
        program=program,
        problem=problem,
        integer=integer,
        offer_scale=scale,
        pool_group=pool_group,
        pool_scale=pool_scale,
        group_pool=group_pool,
        y_start=y_start,
        y_period=y_period,
        y_group=y_group,
        y_column=y_column,
        y_ratio=y_ratio,
        cvar_eta=cvar_eta,
        capacity_period=capacity_period,
        capacity_group=capacity_group,
        demand_start=demand_start,
        demand_period=demand_period,
        demand_column=demand_column,
        policy_start=policy_start,
        coverage_row=coverage_row,
        min_util_start=min_util_start,
        min_util_pool=min_util_pool,
        scenario_start=scenario_start,
        groups=tuple(groups),
    )


def cvar(costs: FloatArray, probability: FloatArray, alpha: float) -> float:
    """Conditional value at risk of scenario costs at level ``alpha`` [USD].

    ``min_η η + Σ p_s (cost_s − η)⁺ ÷ (1 − α)``, whose minimum lies at a scenario's cost.
    """
    eta = np.asarray(costs, dtype=np.float64)
    excess = np.maximum(eta[None, :] - eta[:, None], 0.0) @ probability
    return float(np.min(eta + excess / (1 - alpha)))


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
    n_offers = problem.n_offers

    def failed(status: OptimizationStatus, message: str) -> OptimizationResult:
        return OptimizationResult(
            status=status,
            message=message,
            units=np.full(n_offers, np.nan),
            objective_usd=float("nan"),
            lower_bound_usd=-np.inf,
            upper_bound_usd=np.inf,
            method=method,
            solver=solution.solver or solver,
            seconds=time.perf_counter() - start,
            iterations=solution.iterations or 0,
        )

    if solution.status is SolveStatus.INFEASIBLE:
        message = diagnose_infeasible(model, solver=solver, time_limit_seconds=time_limit_seconds)
        return failed(OptimizationStatus.INFEASIBLE, message)
    if solution.x.shape[0] != model.program.n_columns:
        if solution.status is SolveStatus.TIME_LIMIT:
            return failed(
                OptimizationStatus.TIME_LIMIT,
                f"the exact {method} solve stopped at the time limit without a plan "
                f"(raise {param('time_limit_seconds')} or drop {param('exact')} to use the "
                "certified cutting planes)",
            )
        return failed(
            OptimizationStatus.ERROR, f"the exact {method} solve failed: {solution.message}"
        )
    if solution.status not in (SolveStatus.OPTIMAL, SolveStatus.TIME_LIMIT):
        return failed(
            OptimizationStatus.ERROR, f"the exact {method} solve failed: {solution.message}"
        )

    x = np.asarray(solution.x, dtype=np.float64)
    units = model.units(x)
    scenario_cost = model.scenario_cost(x)
    expected = float(problem.scenario_probability @ scenario_cost)
    objective = expected
    if problem.cvar_weight > 0:
        objective += problem.cvar_weight * cvar(
            scenario_cost, problem.scenario_probability, problem.cvar_alpha
        )
    duals = np.asarray(solution.row_duals, dtype=np.float64)
    if not integer and duals.shape[0] == model.program.n_rows:
        marginal = model.offer_marginal(duals)
    else:
        marginal = np.full(n_offers, np.nan)
    optimal = solution.status is SolveStatus.OPTIMAL
    return OptimizationResult(
        status=OptimizationStatus.OPTIMAL if optimal else OptimizationStatus.GAP_NOT_REACHED,
        message=(
            f"solved the full model exactly ({method}, {model.program.n_columns:,} variables, "
            f"{model.program.n_rows:,} rows)"
            if optimal
            else f"stopped at the time limit with a feasible plan; its gap is not certified "
            f"({solution.message})"
        ),
        units=units,
        objective_usd=objective,
        lower_bound_usd=(objective - MIP_RELATIVE_GAP * abs(objective) if integer else objective)
        if optimal
        else -np.inf,
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
