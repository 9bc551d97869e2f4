"""Solver libraries that print nothing: native output to file descriptor 1 silenced at the source.

highspy 1.16 writes a two-line banner ("Running HiGHS 1.16.0 … Copyright …") to file descriptor 1
when the first ``Highs()`` of a process is constructed, before ``output_flag`` can be set. Whatever
runs commitopt (a script parsing ``--format json``, a notebook) would read it as output. So every
``Highs`` object is built by :func:`new_highs`, which redirects file descriptor 1 to the null
device around the constructor and turns the solver's own logging off.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any


@contextlib.contextmanager
def native_stdout_silenced() -> Iterator[None]:
    """Send what native code writes to file descriptor 1 to the null device while the body runs.

    Python-level ``sys.stdout`` is flushed before and after, so nothing of the caller's is lost
    or reordered. Does nothing when file descriptor 1 cannot be duplicated (closed stdout).
    """
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:
        yield
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
        finally:
            os.close(null)
        yield
    finally:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def new_highs(highspy: ModuleType) -> Any:
    """A ``highspy.Highs()`` built without its banner, with logging turned off."""
    with native_stdout_silenced():
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("log_to_console", False)
    return highs
