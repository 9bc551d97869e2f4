"""Google OR-Tools' LP solvers: GLOP (primal/dual simplex) and PDLP (first-order primal-dual
hybrid gradient), through the model builder's array interface. LPs only."""

from __future__ import annotations

import time
from typing import Any, Final

import numpy as np
import scipy.sparse as sp

from core.errors import param
from optimizer.solvers.base import LinearProgram, Solution, SolveStatus
from optimizer.solvers.common import is_integer_program, make_solution
from optimizer.solvers.errors import SolverNotInstalledError, UnsupportedProgramError
from optimizer.solvers.isolation import import_backend

PDLP_TOLERANCE: Final = 1e-9
"""PDLP's relative and absolute optimality tolerance. Its default, 1e-6, leaves objectives
about 1e-6 (relative) from the simplex optimum; at 1e-9 they agree to about 1e-9 on the
tests' LPs."""

TIME_LIMIT_SHARE: Final = 0.9
"""GLOP stopping without a verdict after this share of its time limit was stopped by it."""


def parameters(solver: str, threads: int | None) -> str:
    """Solver-specific parameters (text protocol buffer) for GLOP or PDLP."""
    if solver == "pdlp":
        return (
            "termination_criteria { simple_optimality_criteria { "
            f"eps_optimal_absolute: {PDLP_TOLERANCE} eps_optimal_relative: {PDLP_TOLERANCE} }} }} "
            f"num_threads: {int(threads) if threads else 1}"
        )
    return "random_seed: 1"


def solve_ortools(
    lp: LinearProgram,
    *,
    solver: str = "glop",
    time_limit_seconds: float | None = None,
    method: str = "auto",
    threads: int | None = None,
) -> Solution:
    """Solve ``lp`` with GLOP or PDLP in this process.

    Parameters
    ----------
    lp
        The program (no integer columns).
    solver
        ``"glop"`` or ``"pdlp"``.
    time_limit_seconds
        Wall-clock limit [s] (``None``: none).
    method
        Ignored (each solver has one method).
    threads
        PDLP threads (``None``: 1); GLOP is single-threaded.

    Raises
    ------
    UnsupportedProgramError
        For an integer program.
    """
    if is_integer_program(lp):
        raise UnsupportedProgramError(
            f"{solver} solves linear programs only, this one has integer columns; "
            f"use {param('solver')} highs, scipy or cbc"
        )
    helper = import_backend("ortools.linear_solver.python.model_builder_helper", solver)
    engine = helper.ModelSolverHelper(solver)
    if not engine.solver_is_supported():
        raise SolverNotInstalledError(solver, "this ortools build has no such solver")
    engine.set_solver_specific_parameters(parameters(solver, threads))
    if time_limit_seconds is not None:
        engine.set_time_limit_in_seconds(max(float(time_limit_seconds), 0.0))
    model = _model(helper, lp, lp.objective)
    started = time.perf_counter()
    engine.solve(model)
    elapsed = time.perf_counter() - started
    status, detail = _verdict(helper, engine, lp, solver, elapsed, time_limit_seconds)
    has_point = bool(engine.has_solution())
    x = np.asarray(engine.variable_values(), dtype=np.float64) if has_point else None
    duals = np.asarray(engine.dual_values(), dtype=np.float64) if has_point else None
    return make_solution(
        lp,
        status,
        solver,
        detail=detail,
        x=x,
        row_duals=duals,
        seconds=time.perf_counter() - started,
    )


def _model(helper: Any, lp: LinearProgram, objective: Any) -> Any:
    model = helper.ModelBuilderHelper()
    model.fill_model_from_sparse_data(
        np.asarray(lp.col_lower, dtype=np.float64),
        np.asarray(lp.col_upper, dtype=np.float64),
        np.asarray(objective, dtype=np.float64),
        np.asarray(lp.row_lower, dtype=np.float64),
        np.asarray(lp.row_upper, dtype=np.float64),
        sp.csr_matrix(lp.matrix, dtype=np.float64),
    )
    model.set_objective_offset(float(lp.offset))
    return model


def _verdict(
    helper: Any,
    engine: Any,
    lp: LinearProgram,
    solver: str,
    seconds: float,
    time_limit_seconds: float | None,
) -> tuple[SolveStatus, str]:
    """Status and detail text.

    GLOP reports an unbounded LP as ``INFEASIBLE`` when its presolve finds the dual
    infeasible, and PDLP as ``NOT_SOLVED`` with a dual-infeasibility certificate; both are
    settled by looking for a feasible point (zero objective, GLOP).
    """
    kinds = helper.SolveStatus
    status = engine.status()
    name = str(status).rsplit(".", 1)[-1]
    reason = _pdlp_reason(engine) if solver == "pdlp" else ""
    detail = f"{name}, {reason}" if reason else name
    if status == kinds.OPTIMAL:
        return SolveStatus.OPTIMAL, detail
    if status == kinds.UNBOUNDED:
        return SolveStatus.UNBOUNDED, detail
    if reason == "PRIMAL_INFEASIBLE":
        return SolveStatus.INFEASIBLE, detail
    if status == kinds.INFEASIBLE or reason in ("DUAL_INFEASIBLE", "PRIMAL_OR_DUAL_INFEASIBLE"):
        if _primal_feasible(helper, lp, time_limit_seconds):
            return SolveStatus.UNBOUNDED, f"{detail}, yet a feasible point exists"
        return SolveStatus.INFEASIBLE, detail
    if reason == "TIME_LIMIT":
        return SolveStatus.TIME_LIMIT, detail
    stopped = status in (kinds.FEASIBLE, kinds.NOT_SOLVED, kinds.CANCELLED_BY_USER)
    limited = time_limit_seconds is not None and (
        status == kinds.FEASIBLE or seconds >= TIME_LIMIT_SHARE * time_limit_seconds
    )
    if stopped and limited and not reason:
        return SolveStatus.TIME_LIMIT, detail
    return SolveStatus.ERROR, detail


def _pdlp_reason(engine: Any) -> str:
    """PDLP's termination reason (``"OPTIMAL"``, ``"DUAL_INFEASIBLE"``, ``"TIME_LIMIT"``, …)."""
    from ortools.pdlp import solve_log_pb2

    log = solve_log_pb2.SolveLog()
    log.ParseFromString(engine.response().solver_specific_info)
    name = str(solve_log_pb2.TerminationReason.Name(log.termination_reason))
    return name.removeprefix("TERMINATION_REASON_")


def _primal_feasible(helper: Any, lp: LinearProgram, time_limit_seconds: float | None) -> bool:
    """True when GLOP finds a point satisfying every bound (zero objective)."""
    engine = helper.ModelSolverHelper("glop")
    if time_limit_seconds is not None:
        engine.set_time_limit_in_seconds(max(float(time_limit_seconds), 0.0))
    engine.solve(_model(helper, lp, np.zeros(lp.n_columns)))
    return bool(engine.status() == helper.SolveStatus.OPTIMAL)


__all__ = ["PDLP_TOLERANCE", "TIME_LIMIT_SHARE", "parameters", "solve_ortools"]
