"""HiGHS through highspy's array interface: LPs by dual simplex or interior point, MIPs by
branch and bound, deterministic (fixed seed, one thread unless told otherwise)."""

from __future__ import annotations

import time
from typing import Any, Final

import numpy as np
import pandas as pd

from optimizer.solvers.base import LinearProgram, Solution, SolveStatus
from optimizer.solvers.common import (
    MIP_RELATIVE_GAP,
    csc_matrix,
    is_integer_program,
    make_solution,
)
from optimizer.solvers.isolation import import_backend
from optimizer.solvers.quiet import new_highs

RANDOM_SEED: Final = 0
"""HiGHS random seed, fixed so that a solve is repeatable."""

IPM_MIN_NONZEROS: Final = 5_000_000
"""``method="auto"`` uses interior point (with crossover) from this many nonzeros of ``A`` up,
dual simplex below.

Measured on commitment-shaped LPs (periods × pools allocation of the model in
docs/optimizer.md, HiGHS 1.15, one thread, a shared 2-core machine): dual simplex was faster at
every size tried — 0.06 s vs 0.14 s at 14 k nonzeros, 0.9 s vs 2.1 s at 72 k, 23 s vs 26 s at
0.36 M, 87 s vs 102 s at 0.71 M (2,000 periods × 50 columns), 179 s vs 266 s at 0.52 M
(365 × 200). Interior point without crossover and HiGHS's new HiPO were slower still. The gap
narrows with size, so interior point is kept for models well beyond the measured range (where the
full LP is minutes long and the cutting planes are the better method anyway)."""

_OPTIMAL_FEASIBLE: Final = 2
"""HiGHS solution status "feasible" (``kSolutionStatusFeasible``)."""


def choose_method(lp: LinearProgram, method: str) -> str:
    """``"simplex"`` or ``"ipm"`` for an LP: ``method`` itself, or by size for ``"auto"``."""
    if method != "auto":
        return method
    return "ipm" if lp.matrix.nnz >= IPM_MIN_NONZEROS else "simplex"


def solve_highs(
    lp: LinearProgram,
    *,
    time_limit_seconds: float | None = None,
    method: str = "auto",
    threads: int | None = None,
) -> Solution:
    """Solve ``lp`` with highspy in this process.

    Parameters
    ----------
    lp
        The program.
    time_limit_seconds
        Wall-clock limit of the solve [s] (``None``: none).
    method
        ``"auto"``, ``"simplex"`` (dual simplex) or ``"ipm"`` (interior point with crossover);
        ignored for integer programs.
    threads
        HiGHS threads (``None``: 1, for repeatable runs).
    """
    highspy = import_backend("highspy", "highs")
    integer = is_integer_program(lp)
    highs = new_highs(highspy)
    chosen = "branch and bound" if integer else choose_method(lp, method)
    _set_options(highs, chosen, time_limit_seconds, threads)
    _pass_model(highspy, highs, lp)
    started = time.perf_counter()
    model_status = _run(highspy, highs)
    if model_status == highspy.HighsModelStatus.kUnboundedOrInfeasible:
        # Presolve saw a dual ray without deciding the primal: solve again without it.
        highs.setOptionValue("presolve", "off")
        if not integer:
            highs.setOptionValue("solver", "simplex")
        model_status = _run(highspy, highs)
    seconds = time.perf_counter() - started
    return _solution(highspy, highs, lp, model_status, chosen, integer, seconds)


def _set_options(
    highs: Any, method: str, time_limit_seconds: float | None, threads: int | None
) -> None:
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("random_seed", RANDOM_SEED)
    highs.setOptionValue("mip_rel_gap", MIP_RELATIVE_GAP)
    highs.setOptionValue("threads", int(threads) if threads is not None else 1)
    if time_limit_seconds is not None:
        highs.setOptionValue("time_limit", max(float(time_limit_seconds), 0.0))
    if method == "simplex":
        highs.setOptionValue("solver", "simplex")
        highs.setOptionValue("simplex_strategy", 1)  # dual simplex
    elif method == "ipm":
        highs.setOptionValue("solver", "ipm")
        highs.setOptionValue("run_crossover", "on")


def _pass_model(highspy: Any, highs: Any, lp: LinearProgram) -> None:
    matrix = csc_matrix(lp)
    integrality = (
        np.zeros(lp.n_columns, dtype=np.int32)
        if lp.integrality is None
        else (np.asarray(lp.integrality) != 0).astype(np.int32)
    )
    # The integrality array must have one entry per column: an empty one makes HiGHS
    # reject the model and then solve an empty one (docs/optimizer.md, "Solver facts").
    status = highs.passModel(
        lp.n_columns,
        lp.n_rows,
        int(matrix.nnz),
        1,  # column-wise matrix
        1,  # minimize
        float(lp.offset),
        np.ascontiguousarray(lp.objective, dtype=np.float64),
        np.ascontiguousarray(lp.col_lower, dtype=np.float64),
        np.ascontiguousarray(lp.col_upper, dtype=np.float64),
        np.ascontiguousarray(lp.row_lower, dtype=np.float64),
        np.ascontiguousarray(lp.row_upper, dtype=np.float64),
        matrix.indptr.astype(np.int32),
        matrix.indices.astype(np.int32),
        matrix.data,
        integrality,
    )
    if status == highspy.HighsStatus.kError:
        raise ValueError(
            "HiGHS rejected the LinearProgram (bad bounds or matrix); check it with "
            "optimizer.solvers.export_model"
        )


def _run(highspy: Any, highs: Any) -> Any:
    # HiGHS keeps one thread scheduler per process; a run asking for another thread count
    # than the last one fails unless the scheduler is reset first.
    highspy.Highs.resetGlobalScheduler(True)
    highs.run()
    return highs.getModelStatus()


def _solution(
    highspy: Any,
    highs: Any,
    lp: LinearProgram,
    model_status: Any,
    method: str,
    integer: bool,
    seconds: float,
) -> Solution:
    kinds = highspy.HighsModelStatus
    statuses = {
        kinds.kOptimal: SolveStatus.OPTIMAL,
        kinds.kInfeasible: SolveStatus.INFEASIBLE,
        kinds.kUnbounded: SolveStatus.UNBOUNDED,
        kinds.kUnboundedOrInfeasible: SolveStatus.INFEASIBLE,
        kinds.kTimeLimit: SolveStatus.TIME_LIMIT,
    }
    status = statuses.get(model_status, SolveStatus.ERROR)
    info = highs.getInfo()
    detail = f"{highs.modelStatusToString(model_status)}, {method}"
    if integer and status is SolveStatus.TIME_LIMIT and np.isfinite(info.mip_gap):
        detail += f", gap {100 * info.mip_gap:.3g}%"
    solution = highs.getSolution()
    x = None
    if status is SolveStatus.OPTIMAL or info.primal_solution_status == _OPTIMAL_FEASIBLE:
        x = np.asarray(solution.col_value, dtype=np.float64)
    duals = None
    if not integer and solution.dual_valid:
        duals = np.asarray(solution.row_dual, dtype=np.float64)
    iterations = sum(
        max(int(count), 0) for count in (info.simplex_iteration_count, info.ipm_iteration_count)
    )
    return make_solution(
        lp,
        status,
        "highs",
        detail=detail,
        x=x,
        row_duals=duals,
        seconds=seconds,
        iterations=iterations,
    )


def write_model_highs(lp: LinearProgram, path: str) -> None:
    """Write ``lp`` with its names to ``path`` (.lp or .mps, by suffix) with highspy.

    Names (``lp.column_names``, ``lp.row_names``) have their blanks replaced by ``_``
    (neither format allows them).
    """
    highspy = import_backend("highspy", "highs")
    highs = new_highs(highspy)
    _pass_model(highspy, highs, lp)
    if lp.column_names is not None or lp.row_names is not None:
        model = highs.getLp()
        if lp.column_names is not None:
            model.col_names_ = model_names(lp.column_names)
        if lp.row_names is not None:
            model.row_names_ = model_names(lp.row_names)
        highs.passModel(model)
    status = highs.writeModel(path)
    if status == highspy.HighsStatus.kError:
        raise OSError(f"{path}: HiGHS could not write the model")


def model_names(names: tuple[str, ...]) -> list[str]:
    """Names fit for .lp and .mps files: blanks replaced by ``_``, duplicates made unique by
    appending ``#`` and their position."""
    cleaned = pd.Series(names, dtype=object).astype(str).str.replace(r"\s+", "_", regex=True)
    duplicated = cleaned.duplicated(keep="first").to_numpy()
    if duplicated.any():
        positions = pd.Series(np.arange(len(names)).astype(str), dtype=object)
        cleaned = cleaned.where(~duplicated, cleaned + "#" + positions)
    return [str(name) for name in cleaned.tolist()]


__all__ = [
    "IPM_MIN_NONZEROS",
    "RANDOM_SEED",
    "choose_method",
    "model_names",
    "solve_highs",
    "write_model_highs",
]
