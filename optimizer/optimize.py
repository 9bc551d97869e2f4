"""Choose how to solve a :class:`~optimizer.problem.CommitmentProblem`, and solve it.

Small problems and ``exact=True`` go to the full LP (:mod:`optimizer.full_lp`); ``integer=True``
to the mixed-integer model; everything else to cutting planes with a certified gap
(:mod:`optimizer.cutting_planes`). Policies the cutting planes cannot certify (a minimum
utilization, coverage bounds when it says so) fall back to the full LP.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

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

    result = solve_cutting_planes(
        problem,
        tolerance=tolerance,
        solver=solver,
        time_limit_seconds=time_limit_seconds,
        progress=progress,
        resume_from=resume_from,
        stop_below_usd=stop_below_usd,
        stop_above_usd=stop_above_usd,
        max_iterations=max_iterations,
    )
    if result.status is OptimizationStatus.ERROR and "exact" in result.message:
        return solve_exact(problem, solver=solver, time_limit_seconds=time_limit_seconds)
    return result


__all__ = [
    "DEFAULT_TOLERANCE",
    "EXACT_SIZE_LIMIT",
    "MAX_ITERATIONS",
    "ProgressCallback",
    "StagedProgress",
    "allocation_cells",
    "optimize",
]
