"""Atomic file output: write to a temporary file beside the target, then rename over it.

A reader never sees a half-written file, and a failure leaves the previous file (or none) in place.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from core.errors import CommitoptInputError


def _new_file_mode(target: Path) -> int:
    """The permission bits the target gets: its own when it exists, else what the umask gives a
    new file (``mkstemp`` alone would leave 0600 on a plan meant to be shared)."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(target.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_output_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target`` atomically.

    Parameters
    ----------
    target
        The final file. Its folder must exist (else :class:`core.errors.CommitoptInputError`);
        it keeps its permission bits, and a new one gets the umask's.

    Examples
    --------
    >>> with atomic_output_path("catalog.parquet") as tmp:  # doctest: +SKIP
    ...     frame.to_parquet(tmp)
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise CommitoptInputError(f"{target}: folder {folder} does not exist; create it first")
    try:
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as error:  # named by the target, not by the temporary file's name
        raise type(error)(error.errno, error.strerror, str(target)) from error
    os.close(handle)
    temporary = Path(name)
    os.chmod(temporary, _new_file_mode(target))
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def write_text_atomic(target: str | Path, text: str) -> None:
    """Write ``text`` to ``target`` atomically (UTF-8)."""
    with atomic_output_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")
