"""Names of the solvers and methods, and which of them are installed."""

from __future__ import annotations

import importlib.util
from typing import Final

from core.errors import CommitoptInputError, param
from optimizer.solvers.errors import INSTALL_COMMANDS

SOLVERS: Final = ("highs", "glop", "pdlp", "cbc", "scipy")
"""Solver names accepted by :func:`optimizer.solvers.solve`."""

METHODS: Final = ("auto", "simplex", "ipm")
"""LP methods of ``highs`` and ``scipy`` (the other backends have one method each): ``auto``
picks by size (:data:`optimizer.solvers.highs_backend.IPM_MIN_NONZEROS`), ``simplex`` is dual
simplex, ``ipm`` is interior point with crossover."""

INTEGER_SOLVERS: Final = ("highs", "scipy", "cbc")
"""Solvers that accept integer variables."""

PACKAGES: Final = {
    "highs": "highspy",
    "scipy": "scipy",
    "glop": "ortools",
    "pdlp": "ortools",
    "cbc": "pulp",
}
"""Top-level package each solver imports."""


def solver_name(name: str) -> str:
    """Check a solver name and return it in canonical form (lower case).

    Raises
    ------
    CommitoptInputError
        For a name that is not in :data:`SOLVERS`.
    """
    canonical = str(name).strip().lower()
    if canonical not in SOLVERS:
        raise CommitoptInputError(
            f"unknown solver {name!r}; choose one of {', '.join(SOLVERS)} ({param('solver')})"
        )
    return canonical


def method_name(name: str) -> str:
    """Check an LP method name (:data:`METHODS`) and return it in canonical form."""
    canonical = str(name).strip().lower()
    if canonical not in METHODS:
        raise CommitoptInputError(f"unknown LP method {name!r}; choose one of {', '.join(METHODS)}")
    return canonical


def available_solvers() -> tuple[str, ...]:
    """Solvers whose package is installed, in the order of :data:`SOLVERS`.

    Only looks the packages up (nothing is imported, so this never triggers the highspy /
    ortools clash). A package may be present and still fail to load; :func:`solve` then raises
    :class:`~optimizer.solvers.errors.SolverNotInstalledError`.
    """
    return tuple(name for name in SOLVERS if _installed(PACKAGES[name]))


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


__all__ = [
    "INSTALL_COMMANDS",
    "INTEGER_SOLVERS",
    "METHODS",
    "PACKAGES",
    "SOLVERS",
    "available_solvers",
    "method_name",
    "solver_name",
]
