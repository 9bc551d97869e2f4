""":func:`solve`: check the request, pick where the backend runs (this process, or a child
when the highspy / ortools clash forbids it), and call it."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

from core.errors import CommitoptInputError, param
from optimizer.solvers.base import LinearProgram, Solution
from optimizer.solvers.common import check_program, is_integer_program, solve_without_columns
from optimizer.solvers.errors import UnsupportedProgramError
from optimizer.solvers.isolation import LibraryClashError, can_run_in_process, run_in_child
from optimizer.solvers.registry import INTEGER_SOLVERS, method_name, solver_name

Backend = Callable[..., Solution]


def solve(
    lp: LinearProgram,
    *,
    solver: str = "highs",
    time_limit_seconds: float | None = None,
    method: str = "auto",
    threads: int | None = None,
) -> Solution:
    """Solve ``min c·x + offset`` s.t. ``row_lower <= A x <= row_upper``, column bounds and
    integrality, with one of :data:`~optimizer.solvers.registry.SOLVERS`.

    Parameters
    ----------
    lp
        The program.
    solver
        ``"highs"`` (highspy, default), ``"scipy"`` (scipy's HiGHS), ``"glop"``, ``"pdlp"``
        (OR-Tools, LPs only) or ``"cbc"`` (pulp's CBC).
    time_limit_seconds
        Wall-clock limit of the solve [s] (``None``: none). A solve stopped by it reports
        ``TIME_LIMIT``, never ``OPTIMAL``, with its best feasible point if it has one.
    method
        LP method for ``highs`` and ``scipy``: ``"auto"`` (dual simplex, interior point for
        very large models), ``"simplex"`` or ``"ipm"`` (interior point with crossover).
    threads
        Solver threads (``None``: 1, for repeatable results).

    Returns
    -------
    Solution
        Status, one-line message, objective value, ``x`` and row duals (LPs;
        ∂ objective / ∂ active row bound). ``seconds`` is the wall time of this call.

    Raises
    ------
    CommitoptInputError
        Unknown solver or method, a bad time limit or thread count, or integer columns for
        ``glop`` / ``pdlp``.
    SolverNotInstalledError
        The solver's package is missing (the message says how to install it).
    """
    started = time.perf_counter()
    name = solver_name(solver)
    chosen = method_name(method)
    _check_limits(time_limit_seconds, threads)
    check_program(lp)
    if is_integer_program(lp) and name not in INTEGER_SOLVERS:
        raise UnsupportedProgramError(
            f"{name} solves linear programs only, this one has integer columns; "
            f"use {param('solver')} {', '.join(INTEGER_SOLVERS)}"
        )
    options: dict[str, Any] = {
        "time_limit_seconds": time_limit_seconds,
        "method": chosen,
        "threads": threads,
    }
    if lp.n_columns == 0:
        solution = solve_without_columns(lp, name)
    elif can_run_in_process(name):
        try:
            solution = solve_in_process(name, lp, **options)
        except LibraryClashError:
            solution = run_in_child(name, lp, **options)
    else:
        solution = run_in_child(name, lp, **options)
    return dataclasses.replace(solution, seconds=time.perf_counter() - started)


def solve_in_process(
    solver: str,
    lp: LinearProgram,
    *,
    time_limit_seconds: float | None = None,
    method: str = "auto",
    threads: int | None = None,
) -> Solution:
    """Call ``solver``'s backend in this process (no checks, no clash avoidance)."""
    backend = _backend(solver)
    return backend(lp, time_limit_seconds=time_limit_seconds, method=method, threads=threads)


def _backend(solver: str) -> Backend:
    if solver == "highs":
        from optimizer.solvers.highs_backend import solve_highs

        return solve_highs
    if solver == "scipy":
        from optimizer.solvers.scipy_backend import solve_scipy

        return solve_scipy
    if solver in ("glop", "pdlp"):
        from optimizer.solvers.ortools_backend import solve_ortools

        def solve_with_ortools(lp: LinearProgram, **options: object) -> Solution:
            return solve_ortools(lp, solver=solver, **options)  # type: ignore[arg-type]

        return solve_with_ortools
    if solver == "cbc":
        from optimizer.solvers.cbc_backend import solve_cbc

        return solve_cbc
    solver_name(solver)  # raises CommitoptInputError for an unknown name
    raise ValueError(f"no backend for solver {solver!r}")


def _check_limits(time_limit_seconds: float | None, threads: int | None) -> None:
    if time_limit_seconds is not None and not (
        isinstance(time_limit_seconds, int | float)
        and math.isfinite(time_limit_seconds)
        and time_limit_seconds > 0
    ):
        raise CommitoptInputError(
            f"time limit {time_limit_seconds!r} is not a positive number of seconds; "
            f"give {param('time_limit_seconds')} a value above 0, or none for no limit"
        )
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise CommitoptInputError(
            f"thread count {threads!r} is not a whole number of at least 1; "
            f"give {param('threads')} 1 or more"
        )


__all__ = ["solve", "solve_in_process"]
