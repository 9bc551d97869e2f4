"""The highspy / ortools clash, and running a backend in a child process to avoid it.

highspy 1.15 and ortools 9.15 each ship their own HiGHS library; once one is loaded in a process,
importing the other fails with an undefined symbol (docs/optimizer.md, "Solver facts"). pulp imports
highspy when it can, so it counts as highspy. A backend therefore runs in this process when its
library can load here, and otherwise in a fresh Python process
(:func:`run_in_child`), which receives the program and returns the :class:`Solution` by pickle.
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from optimizer.solvers.base import LinearProgram, Solution, SolveStatus
from optimizer.solvers.common import make_solution
from optimizer.solvers.errors import SolverNotInstalledError

HIGHSPY_SOLVERS: Final = frozenset({"highs"})
"""Solvers that load highspy's HiGHS."""

ORTOOLS_SOLVERS: Final = frozenset({"glop", "pdlp"})
"""Solvers that load ortools' native library (with its own HiGHS)."""

CHILD_GRACE_SECONDS: Final = 60.0
"""Time a child process gets beyond the solve's own time limit (start-up, imports, pickling),
before it is killed and the solve reported as stopped at the time limit [s]."""


class LibraryClashError(ImportError):
    """A solver library failed to load because the other HiGHS is already in this process."""


def library_loaded(package: str) -> bool:
    """True when ``package`` or one of its submodules is imported in this process.

    For ortools only submodules count: the bare ``ortools`` package loads no native code.
    """
    prefix = package + "."
    for name, module in list(sys.modules.items()):
        if module is None:
            continue
        if name.startswith(prefix) or (name == package and package != "ortools"):
            return True
    return False


def can_run_in_process(solver: str) -> bool:
    """True when ``solver``'s library can be loaded in this process without the clash.

    ``highs`` cannot once ortools is loaded; ``glop`` and ``pdlp`` cannot once highspy is
    (pulp imports it). ``scipy`` (its own namespaced HiGHS) and ``cbc`` (an external binary;
    pulp skips highspy quietly when it cannot load) always can.
    """
    if solver in HIGHSPY_SOLVERS:
        return not library_loaded("ortools")
    if solver in ORTOOLS_SOLVERS:
        return not library_loaded("highspy")
    return True


def import_backend(module: str, solver: str) -> ModuleType:
    """Import ``module`` for ``solver``.

    Raises
    ------
    LibraryClashError
        When the import fails on an undefined symbol (the other HiGHS is loaded).
    SolverNotInstalledError
        When the module is not installed or fails to load for another reason.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        text = str(error)
        if "undefined symbol" in text:
            raise LibraryClashError(text) from error
        raise SolverNotInstalledError(solver, f"import {module} failed: {text}") from error


def run_in_child(
    solver: str,
    lp: LinearProgram,
    *,
    time_limit_seconds: float | None,
    method: str,
    threads: int | None,
) -> Solution:
    """Solve ``lp`` with ``solver`` in a fresh Python process and return its :class:`Solution`.

    The program goes to the child and the solution (or the error raised there) comes back as
    pickles in a private temporary folder; an error raised by the backend in the child is
    raised again here. A child that outlives the time limit by :data:`CHILD_GRACE_SECONDS` is
    killed and the solve reported as stopped at the time limit.

    Parameters
    ----------
    solver, lp, time_limit_seconds, method, threads
        As for :func:`optimizer.solvers.solve`.
    """
    options = {"time_limit_seconds": time_limit_seconds, "method": method, "threads": threads}
    timeout = None if time_limit_seconds is None else time_limit_seconds + CHILD_GRACE_SECONDS
    try:
        outcome = _call_child(("solve", solver, lp, options), timeout)
    except subprocess.TimeoutExpired:
        return make_solution(
            lp, SolveStatus.TIME_LIMIT, solver, detail=f"child process killed after {timeout:.0f} s"
        )
    except ChildProcessError as error:
        return make_solution(lp, SolveStatus.ERROR, solver, detail=str(error))
    if not isinstance(outcome, Solution):
        raise TypeError(f"child process returned {type(outcome).__name__}, not a Solution")
    return outcome


def export_in_child(lp: LinearProgram, path: str) -> None:
    """Write ``lp`` to ``path`` with highspy in a fresh Python process (see
    :func:`optimizer.solvers.highs_backend.write_model_highs`)."""
    try:
        _call_child(("export", lp, path), None)
    except ChildProcessError as error:
        raise OSError(f"{path}: could not write the model ({error})") from error


def _call_child(request: tuple[Any, ...], timeout: float | None) -> object:
    """Run ``python -m optimizer.solvers._child`` on ``request``; return its result or raise
    the exception it raised (:class:`ChildProcessError` when it died without an answer)."""
    package_root = str(Path(__file__).resolve().parents[2])
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        part for part in (package_root, environment.get("PYTHONPATH", "")) if part
    )
    with tempfile.TemporaryDirectory(prefix="commitopt-solve-") as folder:
        request_path = Path(folder) / "request.pickle"
        response_path = Path(folder) / "response.pickle"
        with request_path.open("wb") as handle:
            pickle.dump(request, handle, protocol=pickle.HIGHEST_PROTOCOL)
        command = [
            sys.executable,
            "-m",
            "optimizer.solvers._child",
            str(request_path),
            str(response_path),
        ]
        completed = subprocess.run(
            command,
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if not response_path.exists():
            raise ChildProcessError(
                f"child process exited with code {completed.returncode}: "
                f"{_last_line(completed.stderr)}"
            )
        with response_path.open("rb") as handle:
            kind, payload = pickle.load(handle)
    if kind == "error":
        raise payload
    return payload


def _last_line(stream: bytes) -> str:
    lines = stream.decode("utf-8", errors="replace").strip().splitlines()
    return lines[-1] if lines else "no output"


__all__ = [
    "CHILD_GRACE_SECONDS",
    "HIGHSPY_SOLVERS",
    "ORTOOLS_SOLVERS",
    "LibraryClashError",
    "can_run_in_process",
    "export_in_child",
    "import_backend",
    "library_loaded",
    "run_in_child",
]
