"""Standard output is the payload's alone: what a dependency prints goes to standard error.

A solver library may write to file descriptor 1 from native code (highspy 1.16 prints a two-line
banner when its first ``Highs()`` is built), a subprocess inherits it (CBC), and Python code may
``print``. Any of these in front of a ``--format json`` payload breaks the script that parses it.

So the console script runs every command inside :func:`stdout_reserved_for_payload`: file
descriptor 1 points at standard error (what native code and subprocesses write goes there) and
``sys.stdout`` is a new stream on the original standard output, which the click context carries
as :func:`payload_stream`: the command's result, and click's help and version, go there. While a
step runs (:meth:`commitopt.cli.progress.Reporter.task`, around all the heavy work), Python-level
``print`` goes to standard error too.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from typing import Final, TextIO

import click

PAYLOAD_META_KEY: Final = "commitopt.payload"
"""Key of the payload stream in ``click.Context.meta``."""


def payload_stream() -> TextIO:
    """The stream a command's result goes to: the original standard output."""
    context = click.get_current_context(silent=True)
    if context is not None:
        stream: TextIO | None = context.meta.get(PAYLOAD_META_KEY)
        if stream is not None:
            return stream
    return sys.stdout


def echo_payload(text: str = "", *, newline: bool = True) -> None:
    """Write a line of the command's result to :func:`payload_stream`."""
    click.echo(text, file=payload_stream(), nl=newline)


@contextlib.contextmanager
def stdout_reserved_for_payload() -> Iterator[TextIO | None]:
    """Point file descriptor 1 and ``sys.stdout`` at standard error; yield the payload stream.

    Yields ``None`` (and changes nothing) when the process has no usable file descriptors 1 and 2,
    e.g. when standard output is closed.
    """
    try:
        sys.stdout.flush()
        saved_stdout_fd = os.dup(1)
    except (OSError, ValueError, AttributeError):
        yield None
        return
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    payload = io.TextIOWrapper(
        os.fdopen(saved_stdout_fd, "wb", closefd=True),
        encoding=encoding,
        errors="replace",
        line_buffering=True,
    )
    original_stdout = sys.stdout
    try:
        os.dup2(2, 1)
    except OSError:
        payload.close()
        yield None
        return
    sys.stdout = payload
    try:
        yield payload
    finally:
        sys.stdout = original_stdout
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        with contextlib.suppress(BrokenPipeError, OSError, ValueError):
            payload.flush()
        os.dup2(payload.fileno(), 1)
        with contextlib.suppress(BrokenPipeError, OSError, ValueError):
            payload.close()
