"""Benchmark: ``recommend`` end to end on a large fleet, deciding on 100 futures (issue 16).

The decision of issue 16 is taken on sampled futures (:mod:`planning.future`): 100 futures of
four representative weeks each (one per quarter of a one-year term), with structural changes
and the CVaR risk term. This script times ``planning.recommend.recommend`` with the default
options (the CLI's defaults) on the synthetic fleet of :mod:`fleet` (N keys in N/10 families,
90 days of hourly usage), and reports the time, peak memory (``ru_maxrss`` of the child), the
certified gap and where the time went. Target (issue 17's table): 1,000 keys with the 100
futures in under 2 minutes.

Usage::

    python benchmarks/bench_decision_scale.py                 # 1,000 keys
    python benchmarks/bench_decision_scale.py --keys 200 1000 --futures 100
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Final

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_SECONDS: Final = 120.0
"""Issue 17's target for 1,000 keys with the 100 futures [s]."""

LOOKBACK_DAYS: Final = 90


def child(keys: int, futures: int) -> dict[str, Any]:
    """One run in this process: build the fleet, then time ``recommend``."""
    from dataclasses import replace

    from fleet import fleet

    from optimizer.policy import Policy
    from planning.recommend import RecommendOptions, recommend

    usage, catalog = fleet(keys, LOOKBACK_DAYS * 24, n_families=max(10, keys // 10))
    options = RecommendOptions(lookback_days=LOOKBACK_DAYS)
    options = replace(options, future=replace(options.future, futures=futures))
    began = time.perf_counter()
    run = recommend(usage.to_frame(), catalog, Policy(), options=options)
    seconds = time.perf_counter() - began
    decision = run.summary["decided_on"]
    return {
        "keys": keys,
        "futures": futures,
        "seconds": round(seconds, 1),
        "solve_seconds": run.summary["optimizer"]["solve_seconds"],
        "periods": run.problem.n_periods,
        "columns": run.problem.n_columns,
        "purchases": len(run.purchases),
        "certified_gap_pct": run.summary["optimizer"]["certified_gap_pct"],
        "decided_on": decision["on"],
        "expected_savings_usd": decision.get("expected_savings_usd"),
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    """Run each size in a child process and print the figures with the load average."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--keys", type=int, nargs="+", default=[1000])
    parser.add_argument("--futures", type=int, default=100)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.keys[0], args.futures)))
        return
    for keys in args.keys:
        load = os.getloadavg()
        command = [sys.executable, __file__, "--child", "--keys", str(keys),
                   "--futures", str(args.futures)]  # fmt: skip
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        verdict = "met" if keys != 1000 or figures["seconds"] < TARGET_SECONDS else "MISSED"
        after = os.getloadavg()
        print(
            f"{keys} keys, {args.futures} futures: {figures['seconds']} s "
            f"(solve {figures['solve_seconds']} s, {figures['periods']:,} periods × "
            f"{figures['columns']} columns), {figures['peak_mib']:.0f} MiB peak, "
            f"gap {figures['certified_gap_pct']} %, {figures['purchases']} purchases; "
            f"load {load[0]:.2f} before, {after[0]:.2f} after on {os.cpu_count()} CPUs; "
            f"target < {TARGET_SECONDS:.0f} s at 1,000 keys: {verdict}"
        )


if __name__ == "__main__":
    main()
