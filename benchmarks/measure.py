"""What every benchmark script shares: the load beside each figure, met / MISSED, peak memory.

The machine is shared (2 cores), so a wall time means little without the load it was measured
at. Each figure is taken inside :func:`measured`, which reads the 1-minute load average
(``os.getloadavg``) before and after; :class:`Load` prints both and says ``idle`` when both are
below :data:`IDLE_LOAD`. Targets go into a :class:`Verdicts`, which prints one line per target
(``met`` or ``MISSED``, the figure, its load) and gives the exit code: 0 when every target is met,
1 when one is missed.

Peak memory is the kernel's high-water mark of the resident set of the process that does the
work (``VmHWM`` of ``/proc/self/status``), read by that process itself: a child started by
``subprocess`` inherits its parent's ``ru_maxrss`` across ``exec``, so the parent's rusage would
overstate it. :func:`run_child` runs such a process and reads the JSON it prints last.

Usage::

    from measure import Verdicts, measured, peak_rss_mib

    verdicts = Verdicts()
    with measured() as run:
        work()
    print(f"work: {run.seconds:.2f} s, {run.load}")
    verdicts.add("work within 5 s", f"{run.seconds:.2f} s", run.seconds <= 5.0, run.load)
    raise SystemExit(verdicts.report())
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

IDLE_LOAD: Final = 0.5
"""A figure counts as measured idle when the 1-minute load average is below this before and
after it (2 cores: at most a quarter of the machine busy with other work)."""


def load_average() -> float:
    """The machine's 1-minute load average [runnable processes]."""
    return os.getloadavg()[0]


@dataclass(frozen=True, slots=True)
class Load:
    """The 1-minute load average before and after one measured figure."""

    before: float
    after: float

    @property
    def idle(self) -> bool:
        """Whether the figure was measured on an idle machine (both below :data:`IDLE_LOAD`)."""
        return max(self.before, self.after) < IDLE_LOAD

    def __str__(self) -> str:
        state = "idle" if self.idle else "under load"
        return f"load {self.before:.2f} -> {self.after:.2f} ({state})"

    def cell(self) -> str:
        """The load for a Markdown table cell: ``1.23 -> 1.40``."""
        return f"{self.before:.2f} -> {self.after:.2f}"


@dataclass(slots=True)
class Span:
    """Wall time [s] and load of one measured figure (filled in when :func:`measured` ends)."""

    started_load: float
    seconds: float = float("nan")
    load: Load = field(default_factory=lambda: Load(float("nan"), float("nan")))


@contextlib.contextmanager
def measured() -> Iterator[Span]:
    """Time the ``with`` block and read the load average before and after it."""
    span = Span(started_load=load_average())
    started = time.perf_counter()
    try:
        yield span
    finally:
        span.seconds = time.perf_counter() - started
        span.load = Load(span.started_load, load_average())


@dataclass(frozen=True, slots=True)
class Verdict:
    """One target: what it asks, the figure measured, whether it is met, at which load."""

    target: str
    value: str
    met: bool
    load: Load | None = None

    def line(self) -> str:
        """``met    target: value; load ...`` / ``MISSED target: ...``."""
        at = f"; {self.load}" if self.load is not None else ""
        return f"{'met   ' if self.met else 'MISSED'} {self.target}: {self.value}{at}"


@dataclass(slots=True)
class Verdicts:
    """The targets of one script run; :meth:`report` prints them and gives the exit code."""

    items: list[Verdict] = field(default_factory=list)

    def add(self, target: str, value: str, met: bool, load: Load | None = None) -> Verdict:
        """Record one target's outcome and return it."""
        verdict = Verdict(target, value, bool(met), load)
        self.items.append(verdict)
        return verdict

    @property
    def all_met(self) -> bool:
        """Whether every recorded target is met (True when none was recorded)."""
        return all(item.met for item in self.items)

    def report(self) -> int:
        """Print every target with met / MISSED and the load now; 0 if all are met, else 1."""
        print("\ntargets:")
        if not self.items:
            print("  (none measured in this run)")
        for item in self.items:
            print(f"  {item.line()}")
        missed = sum(not item.met for item in self.items)
        summary = "all met" if missed == 0 else f"{missed} of {len(self.items)} MISSED"
        if not self.items:
            summary = "no target at these sizes"
        one, five, fifteen = os.getloadavg()
        print(
            f"{summary}; load average now {one:.2f} {five:.2f} {fifteen:.2f} "
            f"on {os.cpu_count()} CPUs",
            flush=True,
        )
        return 0 if missed == 0 else 1


def _status_kib(field_name: str) -> int:
    """A ``/proc/self/status`` field [KiB] (0 where there is none, e.g. not on Linux)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


def peak_rss_mib() -> float:
    """This process's peak resident memory so far [MiB] (``VmHWM``; ``ru_maxrss`` elsewhere)."""
    kib = _status_kib("VmHWM")
    if kib == 0:
        import resource

        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024


def rss_mib() -> float:
    """This process's resident memory now [MiB] (``VmRSS``)."""
    return _status_kib("VmRSS") / 1024


def reset_peak_rss() -> None:
    """Reset the peak-RSS mark to the current RSS (Linux >= 4.0; otherwise nothing happens)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


@dataclass(frozen=True, slots=True)
class ChildRun:
    """What :func:`run_child` saw: the child's JSON figures, its wall time [s], the load."""

    figures: dict[str, Any]
    seconds: float
    load: Load


def run_child(arguments: Sequence[str], *, cwd: Path | None = None) -> ChildRun:
    """Run a Python child (``sys.executable`` + ``arguments``) that prints JSON as its last line.

    The child measures its own figures (with :func:`peak_rss_mib` for memory); this returns them
    with the wall time of the whole process and the load before and after it. A failing child
    stops the benchmark with its standard error.
    """
    with measured() as span:
        done = subprocess.run(
            [sys.executable, *arguments], cwd=cwd, capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        raise SystemExit(f"benchmark child failed ({done.returncode}):\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return ChildRun(figures, span.seconds, span.load)


__all__ = [
    "IDLE_LOAD",
    "ChildRun",
    "Load",
    "Span",
    "Verdict",
    "Verdicts",
    "load_average",
    "measured",
    "peak_rss_mib",
    "reset_peak_rss",
    "rss_mib",
    "run_child",
]
