"""Errors of the solver layer: a backend that is not installed, a solver name that does not exist,
a program a backend cannot solve."""

from __future__ import annotations

from typing import Final

from core.errors import CommitoptInputError, param

INSTALL_COMMANDS: Final = {
    "highs": "pip install highspy",
    "scipy": "pip install scipy",
    "glop": "pip install ortools",
    "pdlp": "pip install ortools",
    "cbc": "pip install pulp",
}
"""How to install the package behind each solver."""


class SolverNotInstalledError(CommitoptInputError):
    """The package behind a solver cannot be imported (or its solver binary is missing).

    Parameters
    ----------
    solver
        Solver name (``"highs"``, ``"glop"``, …).
    reason
        What failed, e.g. the import error's text.
    """

    def __init__(self, solver: str, reason: str = "") -> None:
        self.solver = solver
        self.reason = reason
        install = INSTALL_COMMANDS.get(solver, "pip install commitopt")
        because = f" ({reason})" if reason else ""
        super().__init__(
            f"solver {solver!r} is not installed{because}; install it with `{install}` "
            f"or choose another solver with {param('solver')}"
        )

    def __reduce__(self) -> tuple[type[SolverNotInstalledError], tuple[str, str]]:
        """Pickle by the constructor's arguments (the error crosses process boundaries)."""
        return (type(self), (self.solver, self.reason))


class UnsupportedProgramError(CommitoptInputError):
    """A program a backend cannot solve, e.g. integer variables for an LP-only solver."""


__all__ = ["INSTALL_COMMANDS", "SolverNotInstalledError", "UnsupportedProgramError"]
