"""Helpers every backend shares: checking a program, integrality, feasibility of a point,
splitting ranged rows for backends that only know ``<=`` and ``==`` rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from optimizer.solvers.base import FloatArray, LinearProgram, Solution, SolveStatus
from optimizer.solvers.messages import status_message

IntArray = npt.NDArray[np.intp]

MIP_RELATIVE_GAP: Final = 1e-6
"""Relative optimality gap at which MIP solvers stop, so backends agree to 1e-6 (HiGHS's own
default, 1e-4, let HiGHS and CBC differ by 5e-5 on a tiny commitment model)."""

FEASIBILITY_TOLERANCE: Final = 1e-6
"""Largest bound violation, relative to ``1 + |bound|``, of a point still called feasible [1]."""


def check_program(lp: LinearProgram) -> None:
    """Raise :class:`ValueError` naming the first array whose length does not fit ``A``.

    Parameters
    ----------
    lp
        The program.
    """
    n_rows, n_columns = lp.matrix.shape
    lengths: dict[str, tuple[npt.NDArray[np.generic], int]] = {
        "objective": (lp.objective, n_columns),
        "col_lower": (lp.col_lower, n_columns),
        "col_upper": (lp.col_upper, n_columns),
        "row_lower": (lp.row_lower, n_rows),
        "row_upper": (lp.row_upper, n_rows),
    }
    if lp.integrality is not None:
        lengths["integrality"] = (lp.integrality, n_columns)
    for name, (values, expected) in lengths.items():
        if np.shape(values) != (expected,):
            raise ValueError(
                f"LinearProgram.{name} has shape {np.shape(values)}, expected ({expected},) "
                f"for a {n_rows} × {n_columns} matrix; build the arrays from the same model"
            )
    if lp.column_names is not None and len(lp.column_names) != n_columns:
        raise ValueError(
            f"LinearProgram.column_names has {len(lp.column_names)} names, expected {n_columns}"
        )
    if lp.row_names is not None and len(lp.row_names) != n_rows:
        raise ValueError(
            f"LinearProgram.row_names has {len(lp.row_names)} names, expected {n_rows}"
        )


def is_integer_program(lp: LinearProgram) -> bool:
    """True when at least one column must be integer."""
    return lp.integrality is not None and bool(np.any(np.asarray(lp.integrality) != 0))


def csc_matrix(lp: LinearProgram) -> sp.csc_array:
    """``A`` as a CSC array of float64 with sorted indices and no duplicates (what HiGHS wants)."""
    matrix = sp.csc_array(lp.matrix, dtype=np.float64)
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def objective_at(lp: LinearProgram, x: FloatArray) -> float:
    """``c·x + offset``, or ``nan`` for an empty point."""
    if x.shape[0] != lp.n_columns:
        return float("nan")
    return float(np.dot(lp.objective, x)) + float(lp.offset)


def max_violation(lp: LinearProgram, x: FloatArray) -> float:
    """Largest bound violation of ``x`` (rows, columns, integrality), each relative to
    ``1 + |bound|`` [1]; ``inf`` when ``x`` has the wrong length."""
    if x.shape[0] != lp.n_columns or not np.all(np.isfinite(x)):
        return float("inf")
    activity = lp.matrix @ x
    parts = [
        _relative_excess(lp.row_lower - activity, lp.row_lower),
        _relative_excess(activity - lp.row_upper, lp.row_upper),
        _relative_excess(lp.col_lower - x, lp.col_lower),
        _relative_excess(x - lp.col_upper, lp.col_upper),
    ]
    if is_integer_program(lp):
        integer = np.asarray(lp.integrality) != 0
        parts.append(np.abs(x[integer] - np.round(x[integer])))
    return float(max((float(part.max()) for part in parts if part.size), default=0.0))


def _relative_excess(excess: FloatArray, bound: FloatArray) -> FloatArray:
    finite = np.isfinite(bound)
    return np.maximum(excess[finite], 0.0) / (1.0 + np.abs(bound[finite]))


def feasible_or_empty(lp: LinearProgram, x: FloatArray | None) -> FloatArray:
    """``x`` when it is a feasible point of ``lp`` (within :data:`FEASIBILITY_TOLERANCE`),
    else an empty array: what a stopped solve may return as its best point."""
    if x is None:
        return np.zeros(0)
    point = np.asarray(x, dtype=np.float64)
    if max_violation(lp, point) <= FEASIBILITY_TOLERANCE:
        return point
    return np.zeros(0)


def make_solution(
    lp: LinearProgram,
    status: SolveStatus,
    solver: str,
    *,
    detail: str = "",
    x: FloatArray | None = None,
    row_duals: FloatArray | None = None,
    seconds: float = 0.0,
    iterations: int | None = None,
) -> Solution:
    """A :class:`Solution` with its message and objective value filled in.

    ``x`` is kept for an optimal solve; for any other status only when it is feasible
    (a time-limited MIP's incumbent, say), else dropped. Duals are kept only with ``x`` on an
    optimal solve.
    """
    if status is SolveStatus.OPTIMAL and x is not None:
        point = np.asarray(x, dtype=np.float64)
    elif status is SolveStatus.TIME_LIMIT:
        point = feasible_or_empty(lp, x)
    else:
        point = np.zeros(0)
    duals = np.zeros(0)
    if status is SolveStatus.OPTIMAL and row_duals is not None and point.size == lp.n_columns:
        duals = np.asarray(row_duals, dtype=np.float64)
    return Solution(
        status=status,
        message=status_message(status, solver, detail),
        objective_value=objective_at(lp, point),
        x=point,
        row_duals=duals,
        solver=solver,
        seconds=float(seconds),
        iterations=iterations,
    )


def solve_without_columns(lp: LinearProgram, solver: str) -> Solution:
    """The trivial program with no variables: optimal (value ``offset``) when every row admits
    zero activity, else infeasible."""
    feasible = bool(np.all(lp.row_lower <= 0.0) and np.all(lp.row_upper >= 0.0))
    if not feasible:
        return make_solution(lp, SolveStatus.INFEASIBLE, solver, detail="no variables")
    return make_solution(
        lp,
        SolveStatus.OPTIMAL,
        solver,
        detail="no variables",
        x=np.zeros(0),
        row_duals=np.zeros(lp.n_rows),
    )


@dataclass(frozen=True)
class SplitRows:
    """Rows of ``row_lower <= A x <= row_upper`` as ``A_ub x <= b_ub`` and ``A_eq x == b_eq``.

    ``A_ub`` stacks the rows with a finite upper bound (``A``) above those with a finite lower
    bound (``-A``); equal bounds give equality rows; free rows are dropped.

    Attributes
    ----------
    upper, lower, equal
        Row indices of each block, in ``A``.
    matrix_ub, bound_ub, matrix_eq, bound_eq
        The blocks (CSR).
    """

    upper: IntArray
    lower: IntArray
    equal: IntArray
    matrix_ub: sp.csr_array
    bound_ub: FloatArray
    matrix_eq: sp.csr_array
    bound_eq: FloatArray

    def row_duals(self, n_rows: int, dual_ub: FloatArray, dual_eq: FloatArray) -> FloatArray:
        """Duals of the original rows (∂ objective / ∂ active bound) from the blocks' duals."""
        duals = np.zeros(n_rows)
        n_upper = self.upper.shape[0]
        np.add.at(duals, self.upper, dual_ub[:n_upper])
        np.subtract.at(duals, self.lower, dual_ub[n_upper:])
        duals[self.equal] = dual_eq
        return duals


def split_rows(lp: LinearProgram) -> SplitRows:
    """Split ranged rows into ``<=`` and ``==`` blocks (vectorised)."""
    matrix = sp.csr_array(lp.matrix, dtype=np.float64)
    equal_mask = np.isfinite(lp.row_lower) & (lp.row_lower == lp.row_upper)
    upper = np.flatnonzero(np.isfinite(lp.row_upper) & ~equal_mask)
    lower = np.flatnonzero(np.isfinite(lp.row_lower) & ~equal_mask)
    equal = np.flatnonzero(equal_mask)
    matrix_ub = sp.csr_array(sp.vstack([matrix[upper], -matrix[lower]], format="csr"))
    bound_ub = np.concatenate([lp.row_upper[upper], -lp.row_lower[lower]])
    return SplitRows(
        upper=upper,
        lower=lower,
        equal=equal,
        matrix_ub=matrix_ub,
        bound_ub=bound_ub,
        matrix_eq=sp.csr_array(matrix[equal]),
        bound_eq=lp.row_upper[equal].astype(np.float64),
    )


__all__ = [
    "FEASIBILITY_TOLERANCE",
    "SplitRows",
    "check_program",
    "csc_matrix",
    "feasible_or_empty",
    "is_integer_program",
    "make_solution",
    "max_violation",
    "objective_at",
    "solve_without_columns",
    "split_rows",
]
