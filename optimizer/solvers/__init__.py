"""LP/MIP solver backends behind one interface (:mod:`optimizer.solvers.base`).

>>> from optimizer.solvers import solve, SOLVERS  # doctest: +SKIP
>>> solution = solve(program, solver="highs", time_limit_seconds=60)  # doctest: +SKIP

Backends: ``highs`` (highspy), ``scipy`` (scipy's HiGHS), ``glop`` and ``pdlp`` (OR-Tools),
``cbc`` (pulp). Each is imported only when used. highspy and ortools cannot share a process
(docs/optimizer.md, "Solver facts"); :func:`solve` runs a backend in a child process when the other
library is already loaded, so any sequence of calls works. :func:`open_incremental` gives an LP
whose rows change between solves (highspy in place, or rebuilt for other backends), for the
cutting-plane master.
"""

from optimizer.solvers.base import FloatArray, LinearProgram, Solution, SolveStatus
from optimizer.solvers.dispatch import solve
from optimizer.solvers.errors import SolverNotInstalledError, UnsupportedProgramError
from optimizer.solvers.export import MODEL_SUFFIXES, export_model
from optimizer.solvers.incremental import IncrementalLP, IncrementalSolution, open_incremental
from optimizer.solvers.isolation import can_run_in_process
from optimizer.solvers.messages import status_message
from optimizer.solvers.registry import (
    INTEGER_SOLVERS,
    METHODS,
    SOLVERS,
    available_solvers,
)

__all__ = [
    "INTEGER_SOLVERS",
    "METHODS",
    "MODEL_SUFFIXES",
    "SOLVERS",
    "FloatArray",
    "IncrementalLP",
    "IncrementalSolution",
    "LinearProgram",
    "Solution",
    "SolveStatus",
    "SolverNotInstalledError",
    "UnsupportedProgramError",
    "available_solvers",
    "can_run_in_process",
    "export_model",
    "open_incremental",
    "solve",
    "status_message",
]
