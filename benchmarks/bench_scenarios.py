"""Benchmark: applying what-if transforms to a year of hourly usage for 1,000 keys.

The fleet of ``benchmarks/fleet.py`` (1,000 keys, 100 families, 4 regions, synthetic catalog with
AWS's structure), 8,760 hours. Each transform of :mod:`scenarios.transforms` is timed on its own
(best of three), then a five-step scenario (growth; migration of the Linux usage of every ``m``
family to the first ``c`` family, in the regions that price it; exit of a region; a new
workload; a price change of every rate table), then the billing simulator on the baseline and on
the scenario's usage with no commitments (for scale).

Usage::

    python benchmarks/bench_scenarios.py            # Markdown table on stdout
    python benchmarks/bench_scenarios.py --keys 200 --hours 2160
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "benchmarks"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from fleet import fleet  # noqa: E402

from billing.simulator import simulate  # noqa: E402
from pricing.instance_types import instance_families  # noqa: E402
from scenarios.transforms import (  # noqa: E402
    Exit,
    Growth,
    Migration,
    NewWorkload,
    PriceChange,
    Scenario,
    Selection,
    Transform,
)


def best_of(function: Callable[[], object], repeats: int = 3) -> float:
    """Fastest wall time of ``repeats`` calls [s]."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--hours", type=int, default=8760)
    args = parser.parse_args()
    usage, catalog = fleet(args.keys, args.hours)
    families = sorted(set(instance_families(usage.keys["instance_type"])))
    m_families = tuple(f for f in families if f.startswith("m"))
    target = next(f for f in families if f.startswith("c"))
    priced = catalog.on_demand
    linux_target = (instance_families(priced["instance_type"]) == target) & (
        priced["platform"] == "Linux/UNIX"
    )
    in_regions = tuple(sorted(set(priced.loc[linux_target, "region"])))
    start, mid = usage.hours[0], usage.hours[len(usage.hours) // 2]
    steps: list[tuple[str, Transform]] = [
        ("growth 3 %/month, all keys", Growth(3.0, start)),
        (
            f"migration of Linux {'/'.join(m_families[:2])}/... ({len(m_families)} families) to "
            f"{target} in {len(in_regions)} regions, 6-month ramp",
            Migration(
                Selection(families=m_families, regions=in_regions, platforms="Linux/UNIX"),
                0.6,
                start,
                mid,
                to_family=target,
            ),
        ),
        ("exit of a region at mid-year", Exit(Selection(regions="eu-west-1"), mid)),
        (
            "new workload (one key, daily cycle)",
            NewWorkload(f"{target}.large", in_regions[0], count_per_hour=20, daily_amplitude=5),
        ),
        (
            "price change of every rate table",
            PriceChange(0.9, ("on_demand", "reserved", "savings_plans")),
        ),
    ]
    print(
        f"{args.hours:,} h × {len(usage.keys):,} keys ({usage.quantity.nbytes / 2**20:.0f} MiB), "
        f"catalog {len(catalog.on_demand):,} on-demand / {len(catalog.reserved):,} RI / "
        f"{len(catalog.savings_plans):,} SP rates\n"
    )
    print("| step | time [s] |\n|---|---:|")
    for label, transform in steps:
        seconds = best_of(lambda t=transform: t.apply(usage, catalog))  # type: ignore[misc]
        print(f"| {label} | {seconds:.3f} |")
    scenario = Scenario("all five", transforms=tuple(t for _, t in steps))
    print(f"| the five in one scenario | {best_of(lambda: scenario.apply(usage, catalog)):.3f} |")
    changed_usage, changed_catalog = scenario.apply(usage, catalog)
    base_seconds = best_of(lambda: simulate(usage, [], catalog), repeats=1)
    scen_seconds = best_of(lambda: simulate(changed_usage, [], changed_catalog), repeats=1)
    print(f"| simulate the baseline (no commitments, for scale) | {base_seconds:.3f} |")
    print(
        f"| simulate the scenario ({len(changed_usage.keys):,} keys, no commitments) "
        f"| {scen_seconds:.3f} |"
    )


if __name__ == "__main__":
    main()
