"""Choose how to solve a :class:`~optimizer.problem.CommitmentProblem`, and solve it.

Small problems and ``exact=True`` go to the full LP (:mod:`optimizer.full_lp`); ``integer=True``
to the mixed-integer model; everything else to cutting planes with a certified gap
(:mod:`optimizer.cutting_planes`). Policies the cutting planes cannot certify (a minimum
utilization, coverage bounds when it says so) fall back to the full LP.

A risk term that counts only losses (:attr:`~optimizer.problem.CommitmentProblem.cvar_losses_only`)
is often 0 at the optimum: a diversified book saves in every future. The cutting planes then
solve without it first (:func:`_without_a_loss`): the bound of that solve is a bound of the whole
objective (the term is never negative), and a plan that loses in no tail future has the same
objective with and without it, so its certificate holds. Only when the plan loses somewhere is
the whole problem solved. On 1,000 keys × 100 futures the term's rows cost 208.7 s against 40.7 s
without them, for the same plan (docs/benchmarks.md, "Losses only").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from optimizer.cvar import risk_of
from optimizer.problem import CommitmentProblem
from optimizer.result import OptimizationResult, OptimizationStatus

EXACT_SIZE_LIMIT: Final = 20_000
"""Problems with at most this many (period, pool, column) cells go straight to the full LP,
which solves them in well under a second, exactly (the demo history, 73,440 cells, takes
9.6 s exact against 1.6 s for cutting planes to 0.1 %)."""

MAX_ITERATIONS: Final = 200
"""Most cutting-plane iterations of a solve."""

DEFAULT_TOLERANCE: Final = 1e-3
"""Default certified relative gap of the cutting planes (0.1 %)."""

ProgressCallback = Callable[[int, float, float], None]
"""Called with (iteration, lower bound, upper bound) [USD] after each cutting-plane iteration."""


@runtime_checkable
class StagedProgress(Protocol):
    """A :data:`ProgressCallback` that is also told when the solve moves on to another stage
    (the rounding's re-solves), so that what it shows says whose iterations they are."""

    def __call__(self, iteration: int, lower_usd: float, upper_usd: float) -> None:
        """One iteration's bounds [USD]."""

    def stage(self, name: str) -> None:
        """The iterations from now on are ``name``'s (``""``: the main solve's)."""


def allocation_cells(problem: CommitmentProblem) -> int:
    """Number of covered-usage variables the full LP would have: periods × coverage nonzeros."""
    return int(problem.n_periods * problem.coverage.nnz)


def optimize(
    problem: CommitmentProblem,
    *,
    exact: bool = False,
    integer: bool = False,
    tolerance: float = DEFAULT_TOLERANCE,
    solver: str = "highs",
    time_limit_seconds: float | None = None,
    export_path: str | Path | None = None,
    progress: ProgressCallback | None = None,
    resume_from: OptimizationResult | None = None,
    stop_below_usd: float | None = None,
    stop_above_usd: float | None = None,
    max_iterations: int = MAX_ITERATIONS,
) -> OptimizationResult:
    """Solve ``problem`` by the fastest method that is exact or certified within ``tolerance``.

    Parameters
    ----------
    problem
        The reduced problem.
    exact
        Solve the full LP whatever its size.
    integer
        Solve the mixed-integer model (whole RIs, SP commitments in AWS's steps).
    tolerance
        Relative gap the cutting planes must certify [1].
    solver
        Backend of the LP (full model or cutting-plane master).
    time_limit_seconds
        Wall-time limit [s]; ``None`` for none.
    export_path
        Write the full model there (``.lp`` or ``.mps``) for audit, whatever method solves it.
    progress
        Called with (iteration, lower bound, upper bound) by the cutting planes.
    resume_from
        A cutting-plane result on the same problem with other offer bounds: the cutting
        planes re-solve from its cuts, starting at its ``units`` (see
        :func:`~optimizer.cutting_planes.solve_cutting_planes`; replace its ``units`` to start
        elsewhere).
    stop_below_usd, stop_above_usd
        The cutting planes stop early at a plan costing at most the first, or once no plan can
        cost less than the second [USD] (the exact methods ignore them).
    max_iterations
        Most cutting-plane iterations (a re-solve that only needs a good plan takes a few).
    """
    from optimizer.full_lp import build_full_lp, solve_exact

    if integer or exact or allocation_cells(problem) <= EXACT_SIZE_LIMIT:
        return solve_exact(
            problem,
            solver=solver,
            integer=integer,
            time_limit_seconds=time_limit_seconds,
            export_path=export_path,
        )
    if export_path is not None:
        from optimizer.solvers import export_model

        export_model(build_full_lp(problem).program, export_path)
    if problem.min_utilization > 0:
        return solve_exact(problem, solver=solver, time_limit_seconds=time_limit_seconds)
    from optimizer.cutting_planes import solve_cutting_planes

    def cutting_planes(
        posed: CommitmentProblem, resume: OptimizationResult | None
    ) -> OptimizationResult:
        return solve_cutting_planes(
            posed,
            tolerance=tolerance,
            solver=solver,
            time_limit_seconds=time_limit_seconds,
            progress=progress,
            resume_from=resume,
            stop_below_usd=stop_below_usd,
            stop_above_usd=stop_above_usd,
            max_iterations=max_iterations,
        )

    if _risk_may_be_zero(problem, resume_from):
        calm = cutting_planes(replace(problem, cvar_weight=0.0), resume_from)
        if _without_a_loss(problem, calm):
            return calm
        if resume_from is not None and _solved_without_risk(resume_from):
            resume_from = None  # its master has no risk rows
    result = cutting_planes(problem, resume_from)
    if result.status is OptimizationStatus.ERROR and "exact" in result.message:
        return solve_exact(problem, solver=solver, time_limit_seconds=time_limit_seconds)
    return result


def _solved_without_risk(result: OptimizationResult) -> bool:
    """Whether ``result`` is a cutting-plane solve of a problem without the risk term."""
    state = result.resume
    setup = getattr(state, "setup", None)
    return setup is not None and setup.problem.cvar_weight <= 0


def _risk_may_be_zero(problem: CommitmentProblem, resume_from: OptimizationResult | None) -> bool:
    """Whether to solve without the risk term first: it counts losses only, and a resumed
    solve's cuts come from a solve without it (one with it is resumed as it is)."""
    if problem.cvar_weight <= 0 or not problem.cvar_losses_only:
        return False
    return resume_from is None or _solved_without_risk(resume_from)


def _without_a_loss(problem: CommitmentProblem, calm: OptimizationResult) -> bool:
    """Whether ``calm``, solved without the risk term, is a solve of ``problem``: its plan
    loses in no future the term counts, so the term adds 0 to its objective."""
    if calm.status is OptimizationStatus.ERROR or calm.scenario_cost_usd.size == 0:
        return False
    return risk_of(problem, calm.scenario_cost_usd)[0] <= 0.0


__all__ = [
    "DEFAULT_TOLERANCE",
    "EXACT_SIZE_LIMIT",
    "MAX_ITERATIONS",
    "ProgressCallback",
    "StagedProgress",
    "allocation_cells",
    "optimize",
]
