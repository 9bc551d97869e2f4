"""Write a :class:`LinearProgram` as an .lp or .mps file for audit, atomically."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Final

from core.errors import CommitoptInputError
from optimizer.solvers.base import LinearProgram
from optimizer.solvers.common import check_program
from optimizer.solvers.isolation import LibraryClashError, can_run_in_process, export_in_child
from pricing.atomic import atomic_output_path

MODEL_SUFFIXES: Final = (".lp", ".mps")
"""File formats :func:`export_model` writes, chosen by the file name's suffix."""


def export_model(lp: LinearProgram, path: str | Path) -> Path:
    """Write ``lp`` to ``path`` in CPLEX LP or free MPS format (by suffix), for audit or for
    another solver.

    Variables and rows take their names from ``lp.column_names`` / ``lp.row_names`` when
    given (blanks become ``_``). The file is written beside the target and renamed over it, so
    a failure leaves no half-written file. HiGHS (highspy) writes it, in a child process if
    ortools is loaded in this one.

    Parameters
    ----------
    lp
        The program.
    path
        Target file, ending in ``.lp`` or ``.mps``; its folder must exist.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    CommitoptInputError
        For another suffix or a missing folder.
    SolverNotInstalledError
        When highspy is not installed.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise CommitoptInputError(
            f"{target}: cannot export a model as {suffix or 'a file without suffix'!r}; "
            f"name the file with {' or '.join(MODEL_SUFFIXES)}"
        )
    if not target.parent.is_dir():
        raise CommitoptInputError(
            f"{target}: folder {target.parent} does not exist; create it first"
        )
    check_program(lp)
    with atomic_output_path(target) as temporary:
        staged = temporary.with_name(temporary.name + suffix)  # HiGHS picks format by suffix
        try:
            _write(lp, staged)
            os.replace(staged, temporary)
        finally:
            with contextlib.suppress(FileNotFoundError):
                staged.unlink()
    return target


def _write(lp: LinearProgram, path: Path) -> None:
    if can_run_in_process("highs"):
        from optimizer.solvers.highs_backend import write_model_highs

        try:
            write_model_highs(lp, str(path))
            return
        except LibraryClashError:
            pass
    export_in_child(lp, str(path))


__all__ = ["MODEL_SUFFIXES", "export_model"]
