"""An LP modified between solves: rows added and deleted, column bounds changed.

The cutting-plane master (:mod:`optimizer.cutting_planes`) solves one LP a few dozen times with
cuts coming and going. With ``"highs"`` it lives in one highspy model changed in place, so each
solve is a warm-started dual simplex (:class:`HighsIncrementalLP`); other backends rebuild and
solve it from scratch each time through :func:`optimizer.solvers.solve`
(:class:`RebuiltIncrementalLP`; ``"scipy"`` goes through ``scipy.optimize.linprog``).
:func:`open_incremental` picks one. highspy is only imported here when it can load in this
process (:func:`optimizer.solvers.isolation.can_run_in_process`: not once ortools is loaded);
otherwise, or when it is not installed, the master is rebuilt with SciPy's HiGHS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from optimizer.solvers.base import FloatArray, LinearProgram
from optimizer.solvers.isolation import can_run_in_process
from optimizer.solvers.quiet import new_highs

IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class IncrementalSolution:
    """One solve: status (``"optimal"``, ``"infeasible"``, ``"time_limit"`` or the solver's
    text), primal point, objective without the offset, row activities (empty unless optimal),
    and the rows' duals (highspy's sign: ≤ 0 on a binding upper bound of a minimisation; empty
    unless optimal, and from :class:`RebuiltIncrementalLP`)."""

    status: str
    x: FloatArray
    objective: float
    rows: FloatArray
    row_duals: FloatArray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def failed(cls, status: str) -> IncrementalSolution:
        """A solve that returned no point."""
        return cls(status, np.zeros(0), float("nan"), np.zeros(0))


class IncrementalLP(Protocol):
    """An LP with fixed columns whose rows come and go between solves."""

    def add_rows(self, rows: sp.csr_array, lower: FloatArray, upper: FloatArray) -> None:
        """Append rows (over every column)."""

    def delete_rows(self, indices: IntArray) -> None:
        """Delete rows (indices among all rows, the first program's included)."""

    def solve(
        self, col_lower: FloatArray, col_upper: FloatArray, time_limit: float | None
    ) -> IncrementalSolution:
        """Solve with these column bounds (``time_limit`` in seconds, ``None`` for none)."""


class HighsIncrementalLP:
    """The LP in highspy, modified in place between solves (warm-started dual simplex)."""

    def __init__(self, program: LinearProgram) -> None:
        import highspy

        self._highspy = highspy
        self._h = new_highs(highspy)
        self._h.setOptionValue("random_seed", 0)
        n = program.n_columns
        self._inf = highspy.kHighsInf
        self._h.addVars(
            n, _finite(program.col_lower, self._inf), _finite(program.col_upper, self._inf)
        )
        self._h.changeColsCost(n, np.arange(n, dtype=np.int32), program.objective)
        self._n = n
        self.add_rows(sp.csr_array(program.matrix), program.row_lower, program.row_upper)

    def add_rows(self, rows: sp.csr_array, lower: FloatArray, upper: FloatArray) -> None:
        """Append rows."""
        if rows.shape[0] == 0:
            return
        csr = sp.csr_array(rows)
        self._h.addRows(
            csr.shape[0],
            _finite(lower, self._inf),
            _finite(upper, self._inf),
            csr.nnz,
            csr.indptr[:-1].astype(np.int32),
            csr.indices.astype(np.int32),
            csr.data.astype(np.float64),
        )

    def delete_rows(self, indices: IntArray) -> None:
        """Delete rows."""
        if indices.size:
            self._h.deleteRows(int(indices.size), np.asarray(indices, dtype=np.int32))

    def solve(
        self, col_lower: FloatArray, col_upper: FloatArray, time_limit: float | None
    ) -> IncrementalSolution:
        """Change the column bounds and re-run from the last basis."""
        self._h.changeColsBounds(
            self._n,
            np.arange(self._n, dtype=np.int32),
            _finite(col_lower, self._inf),
            _finite(col_upper, self._inf),
        )
        self._h.setOptionValue("time_limit", float(time_limit) if time_limit else self._inf)
        self._h.run()
        status = self._h.getModelStatus()
        kinds = self._highspy.HighsModelStatus
        if status == kinds.kOptimal:
            solution = self._h.getSolution()
            return IncrementalSolution(
                "optimal",
                np.asarray(solution.col_value, dtype=np.float64),
                float(self._h.getInfo().objective_function_value),
                np.asarray(solution.row_value, dtype=np.float64),
                np.asarray(solution.row_dual, dtype=np.float64),
            )
        if status == kinds.kInfeasible:
            return IncrementalSolution.failed("infeasible")
        if status == kinds.kTimeLimit:
            return IncrementalSolution.failed("time_limit")
        return IncrementalSolution.failed(str(self._h.modelStatusToString(status)))


class RebuiltIncrementalLP:
    """The LP kept as arrays and solved from scratch each time (any backend)."""

    def __init__(self, program: LinearProgram, solver: str) -> None:
        self._objective = program.objective
        self._matrix = sp.csr_array(program.matrix)
        self._lower = np.asarray(program.row_lower, dtype=np.float64)
        self._upper = np.asarray(program.row_upper, dtype=np.float64)
        self._solver = solver

    def add_rows(self, rows: sp.csr_array, lower: FloatArray, upper: FloatArray) -> None:
        """Append rows."""
        self._matrix = sp.csr_array(sp.vstack([self._matrix, sp.csr_array(rows)]))
        self._lower = np.concatenate([self._lower, lower])
        self._upper = np.concatenate([self._upper, upper])

    def delete_rows(self, indices: IntArray) -> None:
        """Delete rows."""
        keep = np.ones(self._lower.size, dtype=bool)
        keep[indices] = False
        self._matrix = sp.csr_array(self._matrix[keep])
        self._lower = self._lower[keep]
        self._upper = self._upper[keep]

    def solve(
        self, col_lower: FloatArray, col_upper: FloatArray, time_limit: float | None
    ) -> IncrementalSolution:
        """Solve the current LP."""
        program = LinearProgram(
            objective=self._objective,
            matrix=sp.csc_array(self._matrix),
            row_lower=self._lower,
            row_upper=self._upper,
            col_lower=col_lower,
            col_upper=col_upper,
        )
        if self._solver == "scipy":
            status, x, value = _linprog(program, time_limit)
        else:
            from optimizer.solvers.dispatch import solve

            solution = solve(program, solver=self._solver, time_limit_seconds=time_limit)
            status, x, value = str(solution.status.value), solution.x, solution.objective_value
        if status != "optimal":
            return IncrementalSolution.failed(status)
        x = np.asarray(x, dtype=np.float64)
        return IncrementalSolution(status, x, float(value), self._matrix @ x)


def open_incremental(program: LinearProgram, solver: str) -> tuple[IncrementalLP, str]:
    """The incremental LP of ``program`` for ``solver``, and the backend that will solve it.

    ``"highs"`` gets :class:`HighsIncrementalLP`, or ``"scipy"`` when highspy cannot load here
    (not installed, or ortools already loaded); other solvers :class:`RebuiltIncrementalLP`.
    """
    if solver == "highs":
        if can_run_in_process("highs"):
            try:
                return HighsIncrementalLP(program), "highs"
            except ImportError:
                pass
        return RebuiltIncrementalLP(program, "scipy"), "scipy"
    return RebuiltIncrementalLP(program, solver), solver


def _linprog(program: LinearProgram, time_limit: float | None) -> tuple[str, FloatArray, float]:
    """``scipy.optimize.linprog`` (HiGHS) on a ranged LP."""
    from scipy.optimize import linprog

    matrix = sp.csr_array(program.matrix)
    row_lower, row_upper = program.row_lower, program.row_upper
    upper_rows = np.isfinite(row_upper)
    lower_rows = np.isfinite(row_lower)
    a_ub = sp.csr_array(sp.vstack([matrix[upper_rows], -matrix[lower_rows]]))
    b_ub = np.concatenate([row_upper[upper_rows], -row_lower[lower_rows]])
    options: dict[str, Any] = {}
    if time_limit:
        options["time_limit"] = float(time_limit)
    result: Any = linprog(
        program.objective,
        A_ub=a_ub if a_ub.shape[0] else None,
        b_ub=b_ub if a_ub.shape[0] else None,
        bounds=np.column_stack([program.col_lower, program.col_upper]),
        method="highs",
        options=options,
    )
    if result.status == 0:
        return "optimal", np.asarray(result.x, dtype=np.float64), float(result.fun)
    if result.status == 2:
        return "infeasible", np.zeros(0), float("nan")
    if result.status == 1:
        return "time_limit", np.zeros(0), float("nan")
    return str(result.message), np.zeros(0), float("nan")


def _finite(values: FloatArray, inf: float) -> FloatArray:
    """Replace ±inf by the solver's infinity."""
    out = np.asarray(values, dtype=np.float64).copy()
    out[np.isposinf(out)] = inf
    out[np.isneginf(out)] = -inf
    return out


__all__ = [
    "HighsIncrementalLP",
    "IncrementalLP",
    "IncrementalSolution",
    "RebuiltIncrementalLP",
    "open_incremental",
]
