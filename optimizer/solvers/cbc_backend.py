"""COIN-OR CBC through pulp (pulp's bundled CBC binary). LPs and MIPs.

pulp builds its model one expression per row; the rows are sliced from the CSR matrix, so the
only Python loops are one per column (variables) and one per row (constraints). pulp calls a
solve stopped at its time limit with an incumbent ``Optimal``; its solution status
(``sol_status``) tells the two apart, and only a proven optimum is reported as optimal.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Final

import numpy as np
import scipy.sparse as sp

from optimizer.solvers.base import LinearProgram, Solution, SolveStatus
from optimizer.solvers.common import MIP_RELATIVE_GAP, is_integer_program, make_solution
from optimizer.solvers.errors import SolverNotInstalledError
from optimizer.solvers.isolation import import_backend

RANDOM_SEED: Final = 1
"""CBC random seed, fixed so that a solve is repeatable."""

# pulp's LpStatus and LpSolution codes (pulp.constants).
_STATUS_OPTIMAL: Final = 1
_STATUS_NOT_SOLVED: Final = 0
_STATUS_INFEASIBLE: Final = -1
_STATUS_UNBOUNDED: Final = -2
_SOLUTION_OPTIMAL: Final = 1
_SOLUTION_INTEGER_FEASIBLE: Final = 2


def solve_cbc(
    lp: LinearProgram,
    *,
    time_limit_seconds: float | None = None,
    method: str = "auto",
    threads: int | None = None,
) -> Solution:
    """Solve ``lp`` with CBC through pulp.

    Parameters
    ----------
    lp
        The program.
    time_limit_seconds
        Wall-clock limit [s] (``None``: none).
    method
        Ignored (CBC chooses).
    threads
        CBC threads (``None``: 1).
    """
    pulp = import_backend("pulp", "cbc")
    integer = is_integer_program(lp)
    engine = _engine(
        pulp,
        mip=integer,
        msg=False,
        gapRel=MIP_RELATIVE_GAP if integer else None,
        timeLimit=None if time_limit_seconds is None else max(float(time_limit_seconds), 0.0),
        threads=int(threads) if threads is not None else 1,
        options=[f"randomCbcSeed {RANDOM_SEED}"],
    )
    problem, variables, rows = _build(pulp, lp, integer)
    started = time.perf_counter()
    try:
        problem.solve(engine)
    except pulp.PulpSolverError as error:
        return make_solution(
            lp, SolveStatus.ERROR, "cbc", detail=str(error), seconds=time.perf_counter() - started
        )
    seconds = time.perf_counter() - started
    status = _status(int(problem.status), int(problem.sol_status), time_limit_seconds)
    x = np.array([variable.varValue or 0.0 for variable in variables], dtype=np.float64)
    duals = None if integer else _row_duals(lp, rows)
    return make_solution(
        lp,
        status,
        "cbc",
        detail=_detail(pulp, problem, status),
        x=x,
        row_duals=duals,
        seconds=seconds,
    )


def _engine(pulp: Any, **options: Any) -> Any:
    """A CBC found on the system (``COIN_CMD``: ``cbc`` on the PATH, or ``pulp[cbc]``), else
    the CBC binary bundled with pulp (``PULP_CBC_CMD``, deprecated by pulp 3.3, gone in 4.0).

    Raises
    ------
    SolverNotInstalledError
        When neither is there.
    """
    system = pulp.COIN_CMD(**options)
    if system.available():
        return system
    bundled_class = getattr(pulp, "PULP_CBC_CMD", None)
    if bundled_class is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            bundled = bundled_class(**options)
        if bundled.available():
            return bundled
    raise SolverNotInstalledError(
        "cbc", "pulp finds no CBC binary; `pip install 'pulp[cbc]'` or put cbc on the PATH"
    )


def _build(
    pulp: Any, lp: LinearProgram, integer: bool
) -> tuple[Any, list[Any], list[tuple[int, Any]]]:
    """The pulp problem, its variables, and (row index, constraint) pairs."""
    problem = pulp.LpProblem("commitopt", pulp.LpMinimize)
    add_variable = getattr(problem, "add_variable", None) or pulp.LpVariable
    is_integer = (
        np.zeros(lp.n_columns, dtype=bool)
        if lp.integrality is None
        else np.asarray(lp.integrality) != 0
    )
    lower = [None if not np.isfinite(bound) else float(bound) for bound in lp.col_lower]
    upper = [None if not np.isfinite(bound) else float(bound) for bound in lp.col_upper]
    categories = np.where(is_integer & integer, pulp.LpInteger, pulp.LpContinuous)
    variables = [
        add_variable(f"x{index}", lower[index], upper[index], str(categories[index]))
        for index in range(lp.n_columns)
    ]
    objective = pulp.LpAffineExpression(
        [(variables[index], float(lp.objective[index])) for index in np.flatnonzero(lp.objective)],
        constant=float(lp.offset),
    )
    problem.setObjective(objective)
    matrix = sp.csr_array(lp.matrix, dtype=np.float64)
    matrix.sum_duplicates()
    starts, indices, values = matrix.indptr, matrix.indices, matrix.data
    rows: list[tuple[int, Any]] = []
    for row in range(lp.n_rows):
        low, high = float(lp.row_lower[row]), float(lp.row_upper[row])
        if not (np.isfinite(low) or np.isfinite(high)):
            continue
        span = slice(starts[row], starts[row + 1])
        terms = [
            (variables[column], value)
            for column, value in zip(indices[span], values[span].tolist(), strict=True)
        ]
        for sense, bound, tag in _senses(pulp, low, high):
            constraint = pulp.LpConstraint(
                pulp.LpAffineExpression(terms), sense=sense, rhs=bound, name=f"{tag}{row}"
            )
            problem.addConstraint(constraint)
            rows.append((row, constraint))
    return problem, variables, rows


def _senses(pulp: Any, low: float, high: float) -> list[tuple[int, float, str]]:
    if low == high:
        return [(pulp.LpConstraintEQ, high, "e")]
    senses = []
    if np.isfinite(high):
        senses.append((pulp.LpConstraintLE, high, "u"))
    if np.isfinite(low):
        senses.append((pulp.LpConstraintGE, low, "l"))
    return senses


def _status(status: int, solution_status: int, time_limit_seconds: float | None) -> SolveStatus:
    if status == _STATUS_OPTIMAL and solution_status == _SOLUTION_OPTIMAL:
        return SolveStatus.OPTIMAL
    if status == _STATUS_OPTIMAL and solution_status == _SOLUTION_INTEGER_FEASIBLE:
        return SolveStatus.TIME_LIMIT  # "Stopped on time" with an incumbent
    if status == _STATUS_INFEASIBLE:
        return SolveStatus.INFEASIBLE
    if status == _STATUS_UNBOUNDED:
        return SolveStatus.UNBOUNDED
    if status == _STATUS_NOT_SOLVED and time_limit_seconds is not None:
        return SolveStatus.TIME_LIMIT
    return SolveStatus.ERROR


def _detail(pulp: Any, problem: Any, status: SolveStatus) -> str:
    if status is SolveStatus.TIME_LIMIT:
        found = problem.sol_status == _SOLUTION_INTEGER_FEASIBLE
        return "stopped on time" + (", with a feasible point" if found else "")
    return str(pulp.LpSolution.get(problem.sol_status, problem.status))


def _row_duals(lp: LinearProgram, rows: list[tuple[int, Any]]) -> Any:
    duals = np.zeros(lp.n_rows)
    if not rows:
        return duals
    index = np.array([row for row, _ in rows], dtype=np.intp)
    prices = np.array([constraint.pi or 0.0 for _, constraint in rows], dtype=np.float64)
    np.add.at(duals, index, prices)
    return duals


__all__ = ["RANDOM_SEED", "solve_cbc"]
