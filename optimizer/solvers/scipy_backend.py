"""scipy's HiGHS: ``scipy.optimize.linprog`` for LPs (with duals), ``scipy.optimize.milp`` for
integer programs. scipy bundles its own HiGHS under its own namespace, so it loads beside
either highspy or ortools."""

from __future__ import annotations

import time
from typing import Any, Final

import numpy as np

from optimizer.solvers.base import LinearProgram, Solution, SolveStatus
from optimizer.solvers.common import (
    MIP_RELATIVE_GAP,
    is_integer_program,
    make_solution,
    split_rows,
)
from optimizer.solvers.highs_backend import choose_method
from optimizer.solvers.isolation import import_backend

STATUSES: Final = {
    0: SolveStatus.OPTIMAL,
    1: SolveStatus.TIME_LIMIT,  # iteration or time limit; no iteration limit is set
    2: SolveStatus.INFEASIBLE,
    3: SolveStatus.UNBOUNDED,
}
"""scipy's result status codes (linprog and milp share them); anything else is an error."""

LINPROG_METHODS: Final = {"simplex": "highs-ds", "ipm": "highs-ipm"}


def solve_scipy(
    lp: LinearProgram,
    *,
    time_limit_seconds: float | None = None,
    method: str = "auto",
    threads: int | None = None,
) -> Solution:
    """Solve ``lp`` with scipy (``threads`` is ignored: scipy does not expose it).

    Parameters
    ----------
    lp
        The program.
    time_limit_seconds
        Wall-clock limit [s] (``None``: none).
    method
        ``"auto"``, ``"simplex"`` or ``"ipm"`` for LPs (as for ``highs``).
    threads
        Ignored.
    """
    optimize = import_backend("scipy.optimize", "scipy")
    options: dict[str, Any] = {"disp": False}
    if time_limit_seconds is not None:
        options["time_limit"] = max(float(time_limit_seconds), 0.0)
    bounds = np.column_stack([lp.col_lower, lp.col_upper])
    started = time.perf_counter()
    if is_integer_program(lp):
        options["mip_rel_gap"] = MIP_RELATIVE_GAP
        result = optimize.milp(
            lp.objective,
            integrality=np.asarray(lp.integrality, dtype=np.int64),
            bounds=optimize.Bounds(lp.col_lower, lp.col_upper),
            constraints=optimize.LinearConstraint(lp.matrix, lp.row_lower, lp.row_upper),
            options=options,
        )
        duals = None
        chosen = "milp"
    else:
        rows = split_rows(lp)
        chosen = LINPROG_METHODS[choose_method(lp, method)]
        result = optimize.linprog(
            lp.objective,
            A_ub=rows.matrix_ub if rows.bound_ub.size else None,
            b_ub=rows.bound_ub if rows.bound_ub.size else None,
            A_eq=rows.matrix_eq if rows.bound_eq.size else None,
            b_eq=rows.bound_eq if rows.bound_eq.size else None,
            bounds=bounds,
            method=chosen,
            options=options,
        )
        duals = _row_duals(lp, rows, result)
    seconds = time.perf_counter() - started
    status = STATUSES.get(int(result.status), SolveStatus.ERROR)
    x = None if result.x is None else np.asarray(result.x, dtype=np.float64)
    return make_solution(
        lp,
        status,
        "scipy",
        detail=f"{str(result.message).split(' (HiGHS')[0].rstrip('.')}, {chosen}",
        x=x,
        row_duals=duals,
        seconds=seconds,
        iterations=_iterations(result),
    )


def _row_duals(lp: LinearProgram, rows: Any, result: Any) -> Any:
    if result.status != 0:
        return None
    upper = getattr(result, "ineqlin", None)
    equal = getattr(result, "eqlin", None)
    dual_ub = np.asarray(upper.marginals) if upper is not None else np.zeros(0)
    dual_eq = np.asarray(equal.marginals) if equal is not None else np.zeros(0)
    if dual_ub.shape[0] != rows.bound_ub.shape[0]:
        dual_ub = np.zeros(rows.bound_ub.shape[0])
    if dual_eq.shape[0] != rows.bound_eq.shape[0]:
        dual_eq = np.zeros(rows.bound_eq.shape[0])
    return rows.row_duals(lp.n_rows, dual_ub, dual_eq)


def _iterations(result: Any) -> int | None:
    count = getattr(result, "nit", None)
    return int(count) if count is not None else None


__all__ = ["LINPROG_METHODS", "STATUSES", "solve_scipy"]
