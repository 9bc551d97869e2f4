"""Benchmark: how long the installed ``commitopt`` takes to answer, before any real work.

Runs the console script next to this Python (``commitopt --help``, ``commitopt recommend -h``,
``commitopt --version``) ``--repeat`` times each in fresh processes and prints the median and
best wall time, the load average beside each figure, and whether the target is met: ``commitopt
--help`` within 0.5 s (the CLI issue's target; subcommands are imported only when they run).

Usage::

    python benchmarks/bench_cli_startup.py --repeat 20
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from measure import Verdicts, measured

TARGET_S = 0.5
"""``commitopt --help`` must answer within this [s]."""


def _script() -> Path:
    script = Path(sys.executable).parent / "commitopt"
    if not script.is_file():
        raise SystemExit(f"no console script at {script}: pip install -e . first")
    return script


def _time(arguments: list[str], repeat: int) -> list[float]:
    """Wall time of each run [s]."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(arguments, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    """Time the commands; exit 1 when the target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    script = str(_script())
    cases = {
        "commitopt --help": [script, "--help"],
        "commitopt --version": [script, "--version"],
        "commitopt recommend -h": [script, "recommend", "-h"],
        "python -c pass (interpreter alone)": [sys.executable, "-c", "pass"],
    }
    print("| command | median [s] | best [s] | load average (1 min) before -> after |")
    print("|---|---:|---:|---|")
    medians = {}
    loads = {}
    for name, arguments in cases.items():
        with measured() as span:
            times = _time(arguments, args.repeat)
        medians[name], loads[name] = statistics.median(times), span.load
        print(f"| `{name}` | {medians[name]:.3f} | {min(times):.3f} | {span.load} |")
    verdicts = Verdicts()
    help_s = medians["commitopt --help"]
    verdicts.add(
        f"commitopt --help within {TARGET_S} s (median)", f"{help_s:.3f} s",
        help_s <= TARGET_S, loads["commitopt --help"],
    )  # fmt: skip
    return verdicts.report()


if __name__ == "__main__":
    sys.exit(main())
