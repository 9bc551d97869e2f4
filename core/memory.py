"""Keep the memory a command frees for its next arrays, instead of returning it to the kernel.

The optimizer's bills allocate and free arrays of units × periods (hundreds of MiB at 1,000
keys on 100 futures) dozens of times. glibc's ``malloc`` serves each of them with a fresh
``mmap`` and gives it back with ``munmap`` when it is freed, so every array's pages are faulted
in and zeroed by the kernel again: on the 1,000-key benchmark that was 10-32 s of system time a
run (``perf``: ``clear_page_erms``, docs/benchmarks.md). :func:`keep_freed_memory` tells
``malloc`` (``mallopt``) to take large blocks from its heap and not to trim the heap, and to use
one arena for all threads (the bills' block threads would otherwise each get an arena of their
own, whose large blocks are mapped afresh). Freed arrays are then reused as they are.

The price is memory that stays with the process until it exits: the peak resident size grows
by what fragmentation leaves unused (docs/benchmarks.md gives the figures). The CLI sets it once
at start (:func:`commitopt.cli.main`); a library caller decides for itself. On a C library other
than glibc nothing changes.
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Final

M_TRIM_THRESHOLD: Final = -1
"""``mallopt`` parameter: free memory at the heap's top above this is returned to the kernel."""

M_MMAP_MAX: Final = -4
"""``mallopt`` parameter: most blocks served by ``mmap`` at once (0: none, all from the heap)."""

M_ARENA_MAX: Final = -8
"""``mallopt`` parameter: most arenas (1: every thread allocates from the main heap)."""

TRIM_THRESHOLD_BYTES: Final = 2**31 - 1
"""The trim threshold set: the largest ``mallopt`` takes (a C ``int``, 2 GiB) [bytes]."""


OFF_SWITCH: Final = "COMMITOPT_KEEP_FREED_MEMORY"
"""Environment variable: ``0`` leaves glibc's defaults (memory returned as it is freed)."""


def keep_freed_memory() -> bool:
    """Make glibc's ``malloc`` keep freed memory for reuse (module docstring), unless the
    environment sets :data:`OFF_SWITCH` to ``0``.

    Returns
    -------
    bool
        True when every setting was applied; False when switched off, on another platform or C
        library (nothing is changed), or when glibc refused one (the ones before it stay
        applied).
    """
    if os.environ.get(OFF_SWITCH, "").strip() == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 (present on glibc only)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    settings = ((M_ARENA_MAX, 1), (M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
    return all(mallopt(parameter, value) == 1 for parameter, value in settings)


__all__ = [
    "M_ARENA_MAX",
    "M_MMAP_MAX",
    "M_TRIM_THRESHOLD",
    "OFF_SWITCH",
    "TRIM_THRESHOLD_BYTES",
    "keep_freed_memory",
]
