"""Progress and notices on standard error: drawn in a terminal, logged for cron, or silenced.

Every step that may take more than a couple of seconds (reading files, fetching, solving,
reviewing, backtesting, Monte Carlo, the frontier) runs inside ``reporter().task(...)``:

- standard error is a terminal: a live line per step (spinner, bar when the size is known,
  done / total, detail such as the solver's iteration and gap, elapsed time), cleared when the
  step ends;
- standard error is not a terminal (cron, CI, a pipe): a timestamped log line at most every
  :data:`LOG_INTERVAL_S` seconds while a step runs, and a last line when a step that was logged
  ends, so that a four-minute import is not silent and a two-second one prints nothing;
- ``--quiet``: nothing, and no notes either (the embedded-catalog notice included). Warnings
  and errors are still printed.

Standard output is never touched (it is the payload's, see :mod:`commitopt.cli.streams`).
Progress callbacks may be called from any thread.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal, TextIO

import click

QUIET_META_KEY: Final = "commitopt.quiet"
"""Key, in ``click.Context.meta``, of the ``--quiet`` flag."""

REPORTER_META_KEY: Final = "commitopt.reporter"
"""Key, in ``click.Context.meta``, of the invocation's :class:`Reporter`."""

LOG_INTERVAL_S: Final = 10.0
"""Least time between two progress lines when standard error is not a terminal [s]."""

Mode = Literal["terminal", "log", "quiet"]


@dataclass
class Task:
    """One step in progress: what it is, how far it got.

    Call it as ``task(done, total)`` (the readers' progress callback) or use :meth:`update`.
    """

    description: str
    total: float | None = None
    unit: str = ""
    done: float = 0.0
    detail: str = ""
    started_s: float = field(default_factory=time.monotonic)
    logged: bool = False
    on_change: Callable[[Task], None] | None = None

    def update(
        self, done: float | None = None, total: float | None = None, detail: str | None = None
    ) -> None:
        """Record progress: units done, the total when it becomes known, a detail text."""
        if done is not None:
            self.done = float(done)
        if total is not None:
            self.total = float(total)
        if detail is not None:
            self.detail = detail
        if self.on_change is not None:
            self.on_change(self)

    def __call__(self, done: float, total: float | None = None) -> None:
        """The readers' ``progress(done, total)`` callback."""
        self.update(done, total)

    def elapsed_s(self) -> float:
        """Seconds since the step began [s]."""
        return time.monotonic() - self.started_s

    def amount(self, *, compact: bool = False) -> str:
        """How far the step got: ``1,234 of 5,000 rows (25 %)``, or ``1,234/5,000 rows`` when
        ``compact``; ``25 %`` for a step counted in percent; ``1,234 rows`` without a total."""
        unit = f" {self.unit}" if self.unit else ""
        if not self.total:
            return f"{self.done:,.0f}{unit}" if self.done else ""
        if self.unit == "%":
            return f"{100.0 * self.done / self.total:.0f} %"
        if compact:
            return f"{self.done:,.0f}/{self.total:,.0f}{unit}"
        share = 100.0 * self.done / self.total
        return f"{self.done:,.0f} of {self.total:,.0f}{unit} ({share:.0f} %)"

    def status(self) -> str:
        """``reading usage: 1,234 of 5,000 rows (25 %), iteration 3, 12 s``."""
        details = (self.amount(), self.detail, f"{self.elapsed_s():.0f} s")
        return f"{self.description}: {', '.join(filter(None, details))}"


class Reporter:
    """Where one command invocation reports progress and notes.

    Parameters
    ----------
    mode
        ``terminal`` (live display), ``log`` (a line every ``log_interval_s``) or ``quiet``.
    stream
        Standard error, or a test's stream.
    log_interval_s
        Least time between two log lines [s].
    """

    def __init__(
        self, mode: Mode, stream: TextIO | None = None, *, log_interval_s: float = LOG_INTERVAL_S
    ) -> None:
        self.mode: Mode = mode
        self.stream = stream if stream is not None else sys.stderr
        self.log_interval_s = log_interval_s
        self._tasks: list[Task] = []
        self._lock = threading.Lock()
        self._live: Any = None
        self._live_ids: dict[int, Any] = {}
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_line_s = time.monotonic()

    @classmethod
    def for_stderr(cls, *, quiet: bool) -> Reporter:
        """The reporter a command uses: quiet, or by whether standard error is a terminal."""
        if quiet:
            return cls("quiet")
        stream = sys.stderr
        return cls("terminal" if stream.isatty() else "log", stream)

    # -- notes ---------------------------------------------------------------------------------

    def note(self, text: str) -> None:
        """An informational line (``commitopt: note: ...``); silenced by ``--quiet``."""
        if self.mode == "quiet":
            return
        self._print(f"commitopt: {with_flags(text)}")

    def outcome(self, text: str) -> None:
        """A line about what the command did beside its output (a stored plan's id); always."""
        self._print(f"commitopt: {text}")

    def warning(self, text: str) -> None:
        """Something the user should know about the result; printed even with ``--quiet``."""
        self._print(f"commitopt: warning: {with_flags(text)}")

    def _print(self, line: str) -> None:
        with self._lock:
            live = self._live
        if live is not None:
            live.console.print(line, markup=False, highlight=False, soft_wrap=True)
        elif self.mode == "log":
            self._log(line.removeprefix("commitopt: "))
        else:
            with contextlib.suppress(OSError, ValueError):
                click.echo(line, file=self.stream)

    # -- tasks ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def task(
        self, description: str, *, total: float | None = None, unit: str = ""
    ) -> Iterator[Task]:
        """Run a step with progress shown; yields the :class:`Task` to update."""
        task = Task(description, total=None if total is None else float(total), unit=unit)
        # What a library prints from Python while the step runs is not the command's result.
        with contextlib.redirect_stdout(sys.stderr):
            if self.mode == "quiet":
                yield task
                return
            self._begin(task)
            try:
                yield task
            finally:
                self._end(task)

    def _begin(self, task: Task) -> None:
        with self._lock:
            self._tasks.append(task)
            if self.mode == "terminal":
                self._live_add(task)
            elif self._ticker is None:
                self._stop.clear()
                self._last_line_s = time.monotonic()
                self._ticker = threading.Thread(
                    target=self._tick, name="commitopt-log", daemon=True
                )
                self._ticker.start()

    def _end(self, task: Task) -> None:
        ticker: threading.Thread | None = None
        with self._lock:
            if task in self._tasks:
                self._tasks.remove(task)
            if self.mode == "terminal":
                self._live_remove(task)
            elif not self._tasks:
                ticker, self._ticker = self._ticker, None
                self._stop.set()
        if ticker is not None:
            ticker.join()
        if self.mode == "log" and task.logged:
            self._log(f"{task.description}: done in {task.elapsed_s():.0f} s")

    # -- log mode ------------------------------------------------------------------------------

    def _tick(self) -> None:
        """Every interval, log the innermost running step (log mode's only writer of progress)."""
        while not self._stop.wait(min(1.0, self.log_interval_s)):
            with self._lock:
                due = time.monotonic() - self._last_line_s >= self.log_interval_s
                task = self._tasks[-1] if self._tasks else None
                if not due or task is None:
                    continue
                self._last_line_s = time.monotonic()
                task.logged = True
                for outer in self._tasks:
                    outer.logged = True
                line = task.status()
            self._log(line)

    def _log(self, text: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with contextlib.suppress(OSError, ValueError):
            click.echo(f"{stamp} commitopt: {text}", file=self.stream)

    # -- terminal mode -------------------------------------------------------------------------

    def _live_add(self, task: Task) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        if self._live is None:
            self._live = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(bar_width=24),
                TextColumn("{task.fields[amount]}"),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=Console(file=self.stream, stderr=self.stream is sys.stderr),
                transient=True,
            )
            self._live.start()
        self._live_ids[id(task)] = self._live.add_task(
            task.description, total=task.total, amount="", detail=""
        )
        task.on_change = self._live_update

    def _live_update(self, task: Task) -> None:
        live = self._live
        task_id = self._live_ids.get(id(task))
        if live is None or task_id is None:
            return
        live.update(
            task_id,
            completed=task.done,
            total=task.total,
            amount=task.amount(compact=True),
            detail=task.detail,
        )

    def _live_remove(self, task: Task) -> None:
        task.on_change = None
        task_id = self._live_ids.pop(id(task), None)
        if self._live is not None and task_id is not None:
            self._live.remove_task(task_id)
        if self._live is not None and not self._live_ids:
            self._live.stop()
            self._live = None


def reporter() -> Reporter:
    """The current invocation's reporter (``--quiet`` and the terminal decide its mode).

    Outside a click context (library use), a reporter by standard error's kind.
    """
    context = click.get_current_context(silent=True)
    if context is None:
        return Reporter.for_stderr(quiet=False)
    found: Reporter | None = context.meta.get(REPORTER_META_KEY)
    if found is None:
        found = Reporter.for_stderr(quiet=bool(context.meta.get(QUIET_META_KEY, False)))
        context.meta[REPORTER_META_KEY] = found
    return found


def _set_quiet(context: click.Context, _parameter: click.Parameter, value: bool) -> None:
    if value:
        context.meta[QUIET_META_KEY] = True
        context.meta.pop(REPORTER_META_KEY, None)


def quiet_option(function: Any) -> Any:
    """``-q/--quiet``: no progress, no log lines, no notes on standard error."""
    return click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_quiet,
        help="No progress, log lines or notes on stderr (warnings and errors still print).",
    )(function)


class SolverProgress:
    """The optimizer's ``progress(iteration, lower_usd, upper_usd)``, shown on a task as
    ``iteration 3, certified gap 0.120 %``, after the stage when one is under way
    (:class:`optimizer.optimize.StagedProgress`: ``rounding to whole RIs: iteration 2, …``)."""

    def __init__(self, task: Task) -> None:
        self._task = task
        self._stage = ""

    def __call__(self, iteration: int, lower_usd: float, upper_usd: float) -> None:
        """Show one iteration's certified gap."""
        gap = (upper_usd - lower_usd) / max(abs(upper_usd), 1e-9)
        prefix = f"{self._stage}: " if self._stage else ""
        self._task.update(detail=f"{prefix}iteration {iteration}, certified gap {100 * gap:.3f} %")

    def stage(self, name: str) -> None:
        """Name the stage the next iterations belong to (shown at once)."""
        self._stage = name
        self._task.update(detail=name)


def solver_progress(task: Task) -> SolverProgress:
    """The optimizer's progress callback, shown on ``task``."""
    return SolverProgress(task)


def with_flags(text: str) -> str:
    """``text`` with each library parameter it names (:func:`core.errors.param`) written as the
    running command's flag (``--stopped-after``), as errors are."""
    context = click.get_current_context(silent=True)
    if context is None or "`" not in text:
        return text
    from commitopt.cli.group import flag_of
    from core.errors import render_parameters

    return render_parameters(text, lambda name: flag_of(name, context.command))
