"""The master LP of the cutting planes: its static model, its cut pool, and its solves.

The model (docs/optimizer.md, "The cutting-plane master", (M1)–(M4) and (R1)) is built with
:class:`~optimizer.blocks.ModelBuilder` by one ``define_*`` function per row family, the CVaR
term by the full LP's own :func:`~optimizer.cvar.define_cvar`. Cuts come and go in a
:class:`CutPool`; :class:`Master` solves it through the backend-level incremental LP of
:mod:`optimizer.solvers.incremental` (highspy in place, or rebuilt for other backends).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

import numpy as np
import scipy.sparse as sp

from optimizer.blocks import ModelBuilder, VariableBlock
from optimizer.cvar import CvarBlocks, define_cvar
from optimizer.full_lp import define_policy_rows
from optimizer.problem import CommitmentProblem, FloatArray, IntArray
from optimizer.solvers.base import LinearProgram
from optimizer.solvers.incremental import IncrementalLP, IncrementalSolution, open_incremental

CUT_AGE: Final = 8
"""Cuts slack for this many iterations are dropped from the master."""
TIGHT: Final = 1e-6
"""Relative distance of a row's activity to its bound within which a cut counts as tight."""


@dataclass(frozen=True, eq=False)
class MasterModel:
    """The master's static LP and its variable blocks.

    Attributes
    ----------
    builder
        The builder (cuts are written over its blocks with :meth:`ModelBuilder.rows`).
    x, z, theta
        Purchases, class totals (M1) and the epigraph variables of the period groups (M2).
    psi
        Epigraph variables of the piece groups the disaggregated cuts (M4) bound: ``theta``
        itself on one scenario; on many, groups pooled over the scenarios (their periods
        weighted by probability), which carry the objective's expectation (M5).
    phi
        Covered-USD bounds of the period groups (M3), ``None`` without a coverage floor.
    risk
        The CVaR blocks (R1), ``None`` without CVaR.
    pieces
        Epigraph variables of the disaggregated cuts (M4), groups × components × price slots.
    program
        The static LP (rows: class links, policy rows, CVaR rows, coverage floor).
    constant
        Owned and uncoverable cost, outside the LP's objective [USD].
    """

    builder: ModelBuilder
    x: VariableBlock
    z: VariableBlock
    theta: VariableBlock
    psi: VariableBlock
    phi: VariableBlock | None
    risk: CvarBlocks | None
    pieces: VariableBlock
    program: LinearProgram
    constant: float


def define_master(
    problem: CommitmentProblem,
    class_of_offer: IntArray,
    group_matrix: sp.csr_array,
    group_scenario: IntArray,
    n_pieces: int,
    n_pooled: int = 0,
) -> MasterModel:
    """The master's static model: ``min c·x + Σ_g p_s(g) θ_g (+ λ CVaR)`` over (M1)–(M4), (R1).

    With ``n_pooled`` piece groups (many scenarios), the expectation is ``Σ_q ψ_q`` instead,
    bounded by the scenario groups through ``Σ_q ψ_q ≥ Σ_g p_s(g) θ_g`` (M5): both sides are
    lower models of the same expected cost, so the row is valid, and the pieces (M4) are
    written per pooled group, not per scenario group (100 futures × 383 components × 2 price
    slots made a master HiGHS could not solve in minutes).

    Parameters
    ----------
    problem
        The reduced problem.
    class_of_offer
        Cut class of every offer (−1 for an offer that covers nothing).
    group_matrix
        Period groups × periods membership.
    group_scenario
        Scenario of every period group.
    n_pieces
        Number of piece epigraph variables (0 without the disaggregated cuts).
    n_pooled
        Number of pooled piece groups (0: the pieces bound the scenario groups ``θ``).
    """
    offers = problem.offers
    n_groups = group_matrix.shape[0]
    probability = problem.scenario_probability
    builder = ModelBuilder()
    x = builder.add_variables(
        "x",
        problem.n_offers,
        lower=offers["lower_bound_units"].to_numpy(dtype=np.float64),
        upper=offers["upper_bound_units"].to_numpy(dtype=np.float64),
        cost=offers["objective_usd_per_unit"].to_numpy(dtype=np.float64),
    )
    z = builder.add_variables("z", int(class_of_offer.max(initial=-1)) + 1, lower=-np.inf)
    pooled = n_pooled > 0
    theta_cost = np.zeros(n_groups) if pooled else probability[group_scenario]
    theta = builder.add_variables("theta", n_groups, cost=theta_cost)
    psi = builder.add_variables("psi", n_pooled, cost=np.ones(n_pooled)) if pooled else theta
    phi = None
    if problem.coverage_lower > 0.0:
        demand = problem.period_weight * problem.demand_usd.sum(axis=1)
        phi = builder.add_variables("phi", n_groups, upper=group_matrix @ demand)
    define_class_links(builder, x, z, class_of_offer)
    define_policy_rows(builder, problem, x, np.ones(problem.n_offers))
    constant = problem.owned_cost_usd + problem.uncoverable_cost_usd
    risk = None
    if problem.cvar_weight > 0.0:
        risk = define_master_risk(builder, problem, x, theta, group_scenario, constant)
    pieces = builder.add_variables("pieces", n_pieces)
    if phi is not None:
        define_coverage_floor(builder, problem, phi, group_scenario)
    if pooled:
        define_pooled_expectation(builder, theta, psi, probability[group_scenario])
    return MasterModel(
        builder, x, z, theta, psi, phi, risk, pieces, builder.to_program(), float(constant)
    )


def define_pooled_expectation(
    builder: ModelBuilder, theta: VariableBlock, psi: VariableBlock, theta_weight: FloatArray
) -> None:
    """``Σ_q ψ_q − Σ_g p_s(g) θ_g ≥ 0``: equation (M5), valid since both sums bound the same
    expected cost from below."""
    builder.add_constraints(
        "pooled_expectation",
        [
            psi.terms(np.zeros(psi.size), np.arange(psi.size), 1.0),
            theta.terms(np.zeros(theta.size), np.arange(theta.size), -theta_weight),
        ],
        lower=np.zeros(1),
        upper=np.array([np.inf]),
    )


def define_class_links(
    builder: ModelBuilder, x: VariableBlock, z: VariableBlock, class_of_offer: IntArray
) -> None:
    """``z_c = Σ_{k∈c} x_k``: equation (M1)."""
    covering = np.flatnonzero(class_of_offer >= 0)
    builder.add_constraints(
        "class",
        [z.diagonal(), x.terms(class_of_offer[covering], covering, -1.0)],
        lower=np.zeros(z.size),
        upper=np.zeros(z.size),
    )


def define_master_risk(
    builder: ModelBuilder,
    problem: CommitmentProblem,
    x: VariableBlock,
    theta: VariableBlock,
    group_scenario: IntArray,
    constant: float,
) -> CvarBlocks:
    """The CVaR term (R1) over the master's scenario costs ``c·x + Σ_{g∈s} θ_g + constant``."""
    n_scenarios = problem.scenario_probability.size
    n_offers = problem.n_offers
    costs = problem.offers["objective_usd_per_unit"].to_numpy(dtype=np.float64)
    cost_terms = [
        x.terms(
            np.repeat(np.arange(n_scenarios), n_offers),
            np.tile(np.arange(n_offers), n_scenarios),
            np.tile(costs, n_scenarios),
        ),
        theta.terms(group_scenario, np.arange(theta.size), 1.0),
    ]
    return define_cvar(
        builder,
        cost_terms,
        problem.risk_costs(np.full(n_scenarios, constant)),
        problem.scenario_probability,
        alpha=problem.cvar_alpha,
        weight=problem.cvar_weight,
        losses_only=problem.cvar_losses_only,
    )


def define_coverage_floor(
    builder: ModelBuilder, problem: CommitmentProblem, phi: VariableBlock, group_scenario: IntArray
) -> None:
    """``Σ_g p_s(g) φ_g ≥ coverage floor × expected demand``: equation (M3)."""
    probability = problem.scenario_probability
    hours = probability[problem.period_scenario] * problem.period_weight
    total = float(hours @ problem.demand_usd.sum(axis=1))
    builder.add_constraints(
        "coverage_floor",
        [phi.terms(np.zeros(phi.size), np.arange(phi.size), probability[group_scenario])],
        lower=np.array([problem.coverage_lower * total]),
        upper=np.array([np.inf]),
    )


class CutPool:
    """The master's cuts: rows after its static ones, each with the iteration it was last
    tight in and its price slot (−1: none)."""

    def __init__(self, lp: IncrementalLP, n_static: int) -> None:
        self._lp = lp
        self.n_static = n_static
        self.lower = np.zeros(0)
        self.upper = np.zeros(0)
        self.seen = np.zeros(0, dtype=np.intp)
        self.slot = np.zeros(0, dtype=np.intp)

    @property
    def size(self) -> int:
        """Number of cuts in the master."""
        return int(self.seen.size)

    def add(
        self, rows: sp.csr_array, lower: FloatArray, upper: FloatArray, seen: int, slot: int
    ) -> None:
        """Add cut rows, tight as of iteration ``seen``."""
        if lower.size == 0:
            return
        self._lp.add_rows(rows, lower, upper)
        self.lower = np.concatenate([self.lower, lower])
        self.upper = np.concatenate([self.upper, upper])
        self.seen = np.concatenate([self.seen, np.full(lower.size, seen, dtype=np.intp)])
        self.slot = np.concatenate([self.slot, np.full(lower.size, slot, dtype=np.intp)])

    def drop(self, indices: IntArray) -> None:
        """Delete cuts (indices among the cuts)."""
        if indices.size == 0:
            return
        self._lp.delete_rows(self.n_static + indices)
        keep = np.ones(self.size, dtype=bool)
        keep[indices] = False
        self.lower, self.upper = self.lower[keep], self.upper[keep]
        self.seen, self.slot = self.seen[keep], self.slot[keep]

    def drop_slot(self, slot: int) -> None:
        """Delete the cuts of a price slot."""
        self.drop(np.flatnonzero(self.slot == slot))

    def mark_tight(self, activity: FloatArray, iteration: int) -> None:
        """Record the cuts at their bound for the row activities of a solve."""
        if self.size == 0:
            return
        bound = np.where(np.isfinite(self.lower), self.lower, self.upper)
        scale = TIGHT * (1.0 + np.abs(bound))
        tight = (activity <= self.lower + scale) | (activity >= self.upper - scale)
        self.seen[tight] = iteration

    def forget_slack(self, iteration: int) -> None:
        """Drop the cuts slack for :data:`CUT_AGE` iterations, once they are a quarter."""
        old = np.flatnonzero(self.seen < iteration - CUT_AGE)
        if old.size > self.size // 4:
            self.drop(old)


class Master:
    """The master LP with its cuts, solved with or without a box on the purchases."""

    def __init__(self, model: MasterModel, solver: str, deadline: float | None) -> None:
        self.model = model
        self._lp, self.backend = open_incremental(model.program, solver)
        self.cuts = CutPool(self._lp, model.program.n_rows)
        self.deadline = deadline
        self.last_x: FloatArray | None = None
        """Columns of the last optimal solve (the disaggregated cuts skip pieces it meets)."""
        self.offer_bounds: tuple[FloatArray, FloatArray] | None = None
        """Bounds of the purchases replacing the model's (a re-solve with offers fixed)."""

    def solve(
        self, box: tuple[FloatArray, FloatArray] | None, iteration: int
    ) -> IncrementalSolution:
        """Solve, the purchases within ``box`` when given; marks the tight cuts."""
        program, x = self.model.program, self.model.x
        col_lower, col_upper = program.col_lower, program.col_upper
        bounds = box if box is not None else self.offer_bounds
        if bounds is not None:
            col_lower, col_upper = col_lower.copy(), col_upper.copy()
            col_lower[x.start : x.stop], col_upper[x.start : x.stop] = bounds
        time_left = None
        if self.deadline is not None:
            time_left = max(self.deadline - time.perf_counter(), 0.0)
        solved = self._lp.solve(col_lower, col_upper, time_left)
        if solved.status == "optimal":
            self.last_x = solved.x
            self.cuts.mark_tight(solved.rows[self.cuts.n_static :], iteration)
        return solved

    def value(self, solved: IncrementalSolution) -> float:
        """The objective of a solve, constants included [USD]."""
        return solved.objective + self.model.constant

    def plan(self, solved: IncrementalSolution) -> FloatArray:
        """The purchases of a solve [units]."""
        return self.model.x.values(solved.x)


__all__ = [
    "CUT_AGE",
    "CutPool",
    "Master",
    "MasterModel",
    "define_class_links",
    "define_coverage_floor",
    "define_master",
    "define_master_risk",
    "define_pooled_expectation",
]
