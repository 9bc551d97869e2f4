"""Benchmark: the finance report of the demo recommendation (``commitopt report --demo``).

The demo is the README's case: :func:`usage.synthetic.demo_usage` (60 days, 1,440 hours, 19 keys
once the lookback is taken) priced with the embedded catalog, recommended with the default policy
(17 purchases). The recommendation itself is timed once, then, best of ``--repeat`` runs each:

- ``data``: :func:`commitopt.report.build_report_data` with the scaled frontier (11 levels, 9
  simulations; the other 2 are free), and without it (``--no-frontier``);
- ``html``: :func:`commitopt.report.render_html` (5 matplotlib SVG charts with 500 Monte Carlo
  paths given; 4 without);
- ``md``, ``json``, ``csv``: the other formats.

CPU time is reported next to wall time, and the load average before and after each step, since
the machine may be shared. Target (set with this script; no issue names one): the report of the
demo (data with the frontier + HTML) within 3 s wall; met / MISSED is printed (exit 1 when missed).

Usage::

    python benchmarks/bench_report.py --repeat 3
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from measure import Load, Verdicts, measured

from commitopt.report import (
    build_report_data,
    render_html,
    render_markdown,
    report_csv,
    report_json,
)
from optimizer.policy import Policy
from planning.recommend import recommend
from pricing.embedded import load_embedded_catalog
from usage.synthetic import demo_usage

TARGET_SECONDS = 3.0
"""Report generation for the demo (data with the frontier + HTML) within this [s] wall."""


def _best(function: Callable[[], Any], repeat: int) -> tuple[float, float, Load, Any]:
    """Best wall and CPU time over ``repeat`` runs [s], the load around them, the last result."""
    walls, cpus, result = [], [], None
    with measured() as span:
        for _ in range(repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            result = function()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), span.load, result


def main() -> int:
    """Run the benchmark and print one line per step (and JSON with ``--json``); 1 if missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="Also print the figures as JSON.")
    args = parser.parse_args()
    catalog = load_embedded_catalog()
    usage = demo_usage()
    wall, cpu, load, run = _best(lambda: recommend(usage, catalog, Policy()), 1)
    rows = [("recommend (once)", wall, cpu, load)]
    savings = run.summary["savings_vs_current_usd"] * np.random.default_rng(0).normal(1, 0.1, 500)
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("data, frontier computed", lambda: build_report_data(run, catalog=catalog, owned=())),
        ("data, no frontier",
         lambda: build_report_data(run, catalog=catalog, owned=(), compute_frontier=False)),
    ]  # fmt: skip
    results = {}
    for name, step in steps:
        wall, cpu, load, results[name] = _best(step, args.repeat)
        rows.append((name, wall, cpu, load))
    data = results["data, frontier computed"]
    with_paths = build_report_data(
        run, catalog=catalog, owned=(), frontier=data.frontier, monte_carlo=savings
    )
    renders: list[tuple[str, Callable[[], Any]]] = [
        ("html, 4 charts", lambda: render_html(data)),
        ("html, 5 charts (500 paths)", lambda: render_html(with_paths)),
        ("md", lambda: render_markdown(data)),
        ("json", lambda: json.dumps(report_json(data))),
        ("csv", lambda: report_csv(data)),
    ]
    sizes = {}
    for name, render in renders:
        wall, cpu, load, text = _best(render, args.repeat)
        rows.append((name, wall, cpu, load))
        sizes[name] = len(text.encode())
    print(f"{'step':<30} {'wall s':>8} {'cpu s':>8} {'bytes':>10}  load before -> after")
    for name, wall, cpu, load in rows:
        size = f"{sizes[name]:,}" if name in sizes else ""
        print(f"{name:<30} {wall:>8.3f} {cpu:>8.3f} {size:>10}  {load.cell()}")
    total = rows[1][1] + rows[3][1]
    print(f"report generation (data with frontier + html): {total:.2f} s wall")
    if args.json:
        figures = {name: {"wall_s": w, "cpu_s": c, "load_before": ld.before,
                          "load_after": ld.after} for name, w, c, ld in rows}  # fmt: skip
        print(json.dumps(figures, indent=2))
    verdicts = Verdicts()
    verdicts.add(
        f"demo report (data with frontier + HTML) within {TARGET_SECONDS:g} s",
        f"{total:.2f} s",
        total <= TARGET_SECONDS,
        Load(rows[1][3].before, rows[3][3].after),
    )
    return verdicts.report()


if __name__ == "__main__":
    raise SystemExit(main())
