"""A progress bar on stderr for long reads and fetches, fed by ``progress(done, total)`` calls."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from pricing.readers.common import ProgressCallback


@contextlib.contextmanager
def progress_bar(description: str, *, enabled: bool = True) -> Iterator[ProgressCallback | None]:
    """Yield a progress callback drawing a bar on stderr, or ``None`` when disabled or not a TTY.

    Machine output formats disable it so that only the payload reaches stdout.
    """
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@contextlib.contextmanager
def spinner(description: str, *, enabled: bool = True) -> Iterator[None]:
    """Show a spinner with elapsed time on stderr while a step without a known length runs."""
    if not enabled or not sys.stderr.isatty():
        yield
        return
    with Console(stderr=True).status(description):
        yield


@contextlib.contextmanager
def live_status(description: str, *, enabled: bool = True) -> Iterator[Callable[[str], None]]:
    """Yield ``update(text)`` showing ``description: text`` with a spinner on stderr.

    A no-op when disabled or stderr is not a terminal (machine formats keep stdout clean).
    """
    if not enabled or not sys.stderr.isatty():
        yield lambda _text: None
        return
    with Console(stderr=True).status(description) as status:
        yield lambda text: status.update(f"{description}: {text}")
