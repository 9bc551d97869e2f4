"""Benchmark: Monte Carlo of a recommended portfolio over sampled one-year usage paths.

The fleet is :func:`benchmarks.fleet.fleet` (synthetic keys over 100 families and 4 regions per
1,000 keys, 80 % Linux/UNIX, one account, a synthetic catalog with AWS's price structure). Its
last 13 weeks (2,184 h) are the lookback. The portfolio is what ``planning.recommend`` buys for
that lookback (1-year No Upfront RIs, EC2 Instance and Compute Savings Plans; cached in
``benchmarks/_work/mc_plan_<keys>.json`` because the recommendation itself takes minutes at
1,000 keys). The paths:

* ``forecast`` (default): :func:`scenarios.forecast.forecast_paths` with a trend per key
  (``level="key"``) and a block bootstrap of whole lookback weeks, starting after the lookback;
* ``family``: the same with one trend per family (the keys of a family share it);
* ``worst``: no exact reduction over hours: each path-hour copies a random hour of a whole year
  of usage, times a per-key trend (use few paths; time grows with paths × hours).

Each case runs in a fresh process: it builds the inputs, resets the peak-RSS mark
(``/proc/self/clear_refs``), then times :meth:`MonteCarloModel.build` (portfolio, pools, key
merge, distinct hours) and :meth:`MonteCarloModel.run` (billing), and reports the peak resident
memory of the process (``VmHWM``: inputs, pandas and Python included). Path 0 is also billed by
:func:`billing.simulator.simulate` to check it and to give the naive cost (one ``simulate``
per path).

Usage::

    python benchmarks/bench_montecarlo.py                                  # 1,000 keys, 500 paths
    python benchmarks/bench_montecarlo.py --keys 200 1000 --paths 100 500 --kind forecast family
    python benchmarks/bench_montecarlo.py --keys 1000 --paths 20 --kind worst
    python benchmarks/bench_montecarlo.py --frontier 31       # also time a 31-level frontier
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "benchmarks"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from fleet import fleet  # noqa: E402
from measure import Verdicts, measured, peak_rss_mib, reset_peak_rss, rss_mib  # noqa: E402

from pricing.catalog import PriceCatalog  # noqa: E402
from pricing.inventory import Inventory, read_portfolio_json  # noqa: E402
from scenarios.paths import UsagePaths  # noqa: E402
from usage.table import UsageMatrix  # noqa: E402

WORK = ROOT / "benchmarks" / "_work"
LOOKBACK_WEEKS = 13
HORIZON_HOURS = 8_760
TARGET_SECONDS = 30.0
"""Issue 6: 500 forecast paths × 8,760 h × 1,000 keys billed within this [s]."""


def plan_file(n_keys: int, lookback: UsageMatrix, catalog: PriceCatalog) -> Path:
    """The recommendation for the lookback as portfolio JSON (computed once, then cached)."""
    path = WORK / f"mc_plan_{n_keys}.json"
    if path.is_file():
        return path
    from optimizer.policy import Policy
    from planning.recommend import RecommendOptions, recommend

    policy = Policy(terms_years=(1,), payment_options=("No Upfront",))
    options = RecommendOptions(lookback_days=LOOKBACK_WEEKS * 7)
    run = recommend(lookback.to_frame(), catalog, policy, options=options)
    WORK.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run.portfolio, default=str))
    return path


def make_paths(kind: str, n_keys: int, n_paths: int, seed: int) -> tuple[UsagePaths, PriceCatalog]:
    """Sampled one-year paths of the fleet (see the module notes)."""
    from scenarios.forecast import forecast_paths

    lookback, catalog = fleet(n_keys, LOOKBACK_WEEKS * 168)
    if kind in ("forecast", "family"):
        paths = forecast_paths(
            lookback,
            horizon_hours=HORIZON_HOURS,
            n_paths=n_paths,
            seed=seed,
            level="key" if kind == "forecast" else "family",
        )
        return paths, catalog
    year, _ = fleet(n_keys, HORIZON_HOURS)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, HORIZON_HOURS, size=(n_paths, HORIZON_HOURS)).astype(np.int32)
    t = np.arange(HORIZON_HOURS)[:, None] / HORIZON_HOURS
    trend = 1.0 + t * rng.uniform(-0.3, 0.5, size=n_keys)[None, :]
    first = lookback.hours[-1] + pd.Timedelta(hours=1)
    hours = pd.date_range(first, periods=HORIZON_HOURS, freq="h", tz="UTC", unit="ns")
    return UsagePaths(hours, year.keys, year.quantity, rows, trend), catalog


def child(kind: str, n_keys: int, n_paths: int, levels: int, seed: int) -> dict[str, object]:
    """Build one case and time the Monte Carlo on it (run in a fresh process)."""
    from billing.simulator import simulate
    from scenarios.frontier import frontier
    from scenarios.montecarlo import MonteCarloModel

    started = time.perf_counter()
    paths, catalog = make_paths(kind, n_keys, n_paths, seed)
    sampling = time.perf_counter() - started
    lookback, _ = fleet(n_keys, LOOKBACK_WEEKS * 168)
    plan = plan_file(n_keys, lookback, catalog)
    start = pd.Timestamp(paths.hours[0]).to_pydatetime()
    portfolio: Inventory = read_portfolio_json(plan, default_start=start)
    reset_peak_rss()
    base_mib = rss_mib()
    started, cpu_started = time.perf_counter(), time.process_time()
    model = MonteCarloModel.build(paths, portfolio, catalog)
    built = time.perf_counter()
    result = model.run()
    finished = time.perf_counter()
    cpu = time.process_time() - cpu_started
    peak_mib = peak_rss_mib()
    one = simulate(paths.path(0), portfolio, catalog)
    simulate_seconds = time.perf_counter() - finished
    expected = one.totals.actual_cost_usd
    got = float(result.paths["actual_cost_usd"].iloc[0])
    frontier_seconds = frontier_cpu = float("nan")
    if levels:
        started_frontier, cpu_frontier = time.perf_counter(), time.process_time()
        frontier(paths, portfolio, catalog, levels=np.linspace(0, 1.5, levels))
        frontier_seconds = time.perf_counter() - started_frontier
        frontier_cpu = time.process_time() - cpu_frontier
    savings = result.paths["savings_vs_on_demand_usd"].to_numpy()
    esr = result.paths["savings_vs_on_demand_pct"].to_numpy() / 100.0
    reduction = result.reduction
    return {
        "kind": kind,
        "keys": n_keys,
        "paths": n_paths,
        "commitments": len(portfolio),
        "sampling_s": sampling,
        "build_s": built - started,
        "run_s": finished - built,
        "total_s": finished - started,
        "cpu_s": cpu,
        "peak_mib": peak_mib,
        "inputs_mib": base_mib,
        "unique_hours": reduction.unique_hours,
        "path_hours": reduction.path_hours,
        "columns": reduction.columns,
        "simulate_one_s": simulate_seconds,
        "path0_rel_diff": abs(got - expected) / expected,
        "savings_p5": float(np.percentile(savings, 5)),
        "savings_p95": float(np.percentile(savings, 95)),
        "esr_p50": float(np.percentile(esr, 50)),
        "p_worse": result.worse_than_on_demand_pct / 100.0,
        "frontier_s": frontier_seconds,
        "frontier_cpu_s": frontier_cpu,
    }


def measure(kind: str, n_keys: int, n_paths: int, levels: int, seed: int) -> dict[str, object]:
    """Run :func:`child` in a subprocess and return its figures."""
    answer = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(n_keys), str(n_paths), str(levels),
         str(seed)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, object] = json.loads(answer.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    """Measure each case; print a Markdown table row per case, then the target."""
    if len(sys.argv) == 7 and sys.argv[1] == "--child":
        kind, *numbers = sys.argv[2:]
        n_keys, n_paths, levels, seed = (int(value) for value in numbers)
        print(json.dumps(child(kind, n_keys, n_paths, levels, seed)))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, nargs="+", default=[1_000])
    parser.add_argument("--paths", type=int, nargs="+", default=[500])
    parser.add_argument(
        "--kind", nargs="+", default=["forecast"], choices=["forecast", "family", "worst"]
    )
    parser.add_argument("--frontier", type=int, default=0, help="also time a frontier of N levels")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    print(
        "| paths from | keys | paths | commitments | distinct hours / path-hours | columns | "
        "build [s] | run [s] | Monte Carlo [s] | CPU [s] | peak RSS [MiB] | one simulate() [s] "
        "| path 0 vs simulate | savings P5 / P95 [USD] | ESR P50 | P(> OD) "
        "| frontier [s] (wall / CPU) | load before -> after |"
    )
    print(
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    )
    verdicts = Verdicts()
    for kind in arguments.kind:
        for n_keys in arguments.keys:
            for n_paths in arguments.paths:
                with measured() as span:
                    r = measure(kind, n_keys, n_paths, arguments.frontier, arguments.seed)
                total = float(r["total_s"])  # type: ignore[arg-type]
                if kind != "worst" and n_keys == 1_000 and n_paths == 500:
                    verdicts.add(
                        f"Monte Carlo ({kind} paths), 500 paths × 8,760 h × 1,000 keys "
                        f"< {TARGET_SECONDS:g} s",
                        f"{total:.1f} s",
                        total < TARGET_SECONDS,
                        span.load,
                    )
                print(
                    f"| {kind} | {n_keys:,} | {n_paths:,} | {r['commitments']} | "
                    f"{r['unique_hours']:,} / {r['path_hours']:,} | {r['columns']:,} | "
                    f"{r['build_s']:.1f} | {r['run_s']:.1f} | {total:.1f} | "
                    f"{r['cpu_s']:.1f} | {r['peak_mib']:,.0f} | {r['simulate_one_s']:.2f} | "
                    f"{r['path0_rel_diff']:.1e} | {r['savings_p5']:,.0f} / "
                    f"{r['savings_p95']:,.0f} | {r['esr_p50']:.3f} | {r['p_worse']:.2f} | "
                    f"{r['frontier_s']:.1f} / {r['frontier_cpu_s']:.1f} | {span.load} |",
                    flush=True,
                )
    if not verdicts.items:
        print("\n(the target is for forecast or family paths, 1,000 keys × 500 paths)")
    return verdicts.report()


if __name__ == "__main__":
    raise SystemExit(main())
