"""Benchmark: forecast quality (rolling-origin backtest) and speed of ``forecast_paths``.

Quality: every archetype of :mod:`usage.synthetic` with 15 months of hourly usage (the
parameters of ``benchmarks/bench_backtest.py``, so that the forecast and the policy backtests see
the same histories), a 90-day lookback, horizons of 4 and 12 weeks, an origin every 4 weeks,
200 paths per forecast; the weekly totals over all keys in normalized units are compared with
what happened: MAPE of the weekly P50 and the share of weeks inside the P5–P95 interval. The
damped default is compared with an undamped straight line, and key with family level. The only
real hourly usage at hand is the October 2018 workshop CUR (31 days, 8 EC2 keys; fixture
``tests/data/cur/wal_Oct2018-WorkshopCUR-ec2-trimmed.zstd.parquet``), too short for a 90-day
lookback: it is scored with a 14-day lookback, a 1-week horizon and an origin every day.

Speed: :func:`scenarios.forecast.forecast` (what ``forecast_paths`` runs, and with the trend
error of ``commitopt forecast``) for 1,000 keys of the optimizer benchmark fleet
(``benchmarks/fleet.py``; 90-day lookback) over one and three years with 500 paths, best of three
runs, with the peak memory it allocates (``tracemalloc``, numpy arrays included) and the size of
the paths it returns; then :meth:`Forecast.totals` per month with the fleet's catalog.

Each row shows the load average before and after it. Target (issue 6, "a few seconds and little
memory", made concrete here): ``forecast`` over one year for 1,000 keys and 500 paths within 5 s
and 1 GiB allocated, for every variant (key, family, key with the trend error); met / MISSED is
printed (exit 1 when missed). The quality part is a table of errors with no target.

Usage::

    python benchmarks/bench_forecast.py               # both parts, Markdown tables on stdout
    python benchmarks/bench_forecast.py --part speed
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "benchmarks"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from archetypes import ARCHETYPES, HOURS, START  # noqa: E402
from fleet import fleet  # noqa: E402
from measure import Verdicts, measured  # noqa: E402

from scenarios.forecast import TREND_LEVELS, Level, forecast  # noqa: E402
from scenarios.forecast_backtest import backtest_forecast  # noqa: E402
from usage.readers import read_usage  # noqa: E402
from usage.table import UsageMatrix, to_matrix  # noqa: E402

REAL_CUR = ROOT / "tests/data/cur/wal_Oct2018-WorkshopCUR-ec2-trimmed.zstd.parquet"
TARGET_SECONDS = 5.0
"""One year × 1,000 keys × 500 paths forecast within this [s] (best run) ..."""
TARGET_ALLOCATED_MIB = 1024.0
"""... allocating at most this [MiB] (tracemalloc peak)."""


def _percent(value: float) -> str:
    return f"{100 * value:.1f}"


def quality(paths: int) -> None:
    """Backtest every archetype (and the real CUR month); print a Markdown table."""
    end = pd.Timestamp(START) + pd.Timedelta(hours=HOURS)
    print("| history | keys | level | damping | trend error | origins | MAPE 4 w [%] "
          "| P5–P95 coverage 4 w [%] | MAPE 12 w [%] | P5–P95 coverage 12 w [%] "
          "| MAPE week 12 [%] | time [s] | load before -> after |")  # fmt: skip
    print("|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    totals: dict[tuple[str, str, str], list[tuple[float, float, float, float]]] = {}
    for name, build in ARCHETYPES.items():
        matrix = to_matrix(build(), start=START, end=end)
        variants: list[tuple[Level, float | None, int]] = [
            ("key", 52.0, 0), ("key", None, 0), ("key", 52.0, TREND_LEVELS)
        ]  # fmt: skip
        if name in ("family_migration", "multi_region_mixed_platforms", "demo_usage"):
            variants.append(("family", 52.0, TREND_LEVELS))
        for level, half_life, levels in variants:
            options = {"n_paths": paths, "level": level, "damping_half_life_weeks": half_life,
                       "trend_levels": levels}  # fmt: skip
            with measured() as span:
                short = backtest_forecast(matrix, horizon_weeks=4, **options)  # type: ignore[arg-type]
                long = backtest_forecast(matrix, horizon_weeks=12, **options)  # type: ignore[arg-type]
            seconds = span.seconds
            last = long.by_week_ahead().iloc[-1]["mape"]
            damping = "52 w" if half_life else "none"
            error = f"{levels} levels" if levels else "none"
            figures = (short.mape, short.coverage, long.mape, long.coverage)
            totals.setdefault((level, damping, error), []).append(figures)
            print(f"| {name} | {len(matrix.keys)} | {level} | {damping} | {error} | "
                  f"{long.origins} | {_percent(short.mape)} | {_percent(short.coverage)} | "
                  f"{_percent(long.mape)} | {_percent(long.coverage)} | {_percent(last)} | "
                  f"{seconds:.1f} | {span.load.cell()} |")  # fmt: skip
    for (level, damping, error), rows in totals.items():
        mean = np.mean(np.array(rows), axis=0)
        print(f"| **mean of {len(rows)}** | | {level} | {damping} | {error} | | "
              f"{_percent(mean[0])} | {_percent(mean[1])} | {_percent(mean[2])} | "
              f"{_percent(mean[3])} | | | |")  # fmt: skip
    if REAL_CUR.is_file():
        frame, _ = read_usage([str(REAL_CUR)], "auto")
        matrix = to_matrix(frame, start="2018-10-01", end="2018-11-01")
        for levels in (0, TREND_LEVELS):
            with measured() as span:
                real = backtest_forecast(matrix, lookback_hours=14 * 24, horizon_weeks=1,
                                         origin_every_hours=24, n_paths=paths,
                                         trend_levels=levels)  # fmt: skip
            seconds = span.seconds
            error = f"{levels} levels" if levels else "none"
            print(f"| real CUR Oct 2018 (14 d lookback, 1 w horizon) | {len(matrix.keys)} | key "
                  f"| 52 w | {error} | {real.origins} | {_percent(real.mape)} | "
                  f"{_percent(real.coverage)} | – | – | – | {seconds:.1f} "
                  f"| {span.load.cell()} |")  # fmt: skip


def _timed(function: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """Best wall time of ``repeat`` runs [s], peak allocation of one more run [MiB], a result."""
    best = float("inf")
    result: object = None
    for _ in range(repeat):
        began = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - began)
    tracemalloc.start()
    function()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return best, peak, result


def speed(keys: int, paths: int, repeat: int, verdicts: Verdicts) -> None:
    """Time forecast_paths and the monthly totals; print a Markdown table; add the target."""
    usage, catalog = fleet(keys, 90 * 24)
    lookback = UsageMatrix(usage.hours, usage.keys, usage.quantity)
    print("| horizon | keys | paths | level | trend error | forecast [s] | allocated [MiB] "
          "| paths stored [MiB] | dense equivalent [GiB] | totals per month [s] "
          "| totals allocated [MiB] | load before -> after |")  # fmt: skip
    print("|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---|")
    cases: list[tuple[int, Level, int]] = [
        (1, "key", 0), (1, "family", 0), (1, "key", TREND_LEVELS),
        (3, "key", 0), (3, "family", 0), (3, "key", TREND_LEVELS),
    ]  # fmt: skip
    for years, level, levels in cases:
        horizon = 8760 * years

        def sample(horizon: int = horizon, level: Level = level, levels: int = levels) -> object:
            return forecast(
                lookback, horizon_hours=horizon, n_paths=paths, level=level, trend_levels=levels
            ).paths

        with measured() as span:
            seconds, peak, result = _timed(sample, repeat)
        stored = sum(getattr(result, name).nbytes for name in ("source", "source_row", "trend"))
        dense = paths * horizon * keys * 8 / 2**30
        fitted = forecast(
            lookback, horizon_hours=horizon, n_paths=paths, level=level, trend_levels=levels
        )
        total_seconds, total_peak, _ = _timed(
            lambda fitted=fitted: fitted.totals(by="month", catalog=catalog), repeat
        )
        error = f"{levels} levels" if levels else "none"
        print(f"| {years} y | {keys:,} | {paths} | {level} | {error} | {seconds:.2f} | "
              f"{peak:.0f} | {stored / 2**20:.0f} | {dense:.0f} | {total_seconds:.2f} | "
              f"{total_peak:.0f} | {span.load.cell()} |")  # fmt: skip
        if years == 1 and keys == 1_000 and paths == 500:
            verdicts.add(
                f"forecast 1 y × 1,000 keys × 500 paths ({level}, trend error {error}) within "
                f"{TARGET_SECONDS:g} s and {TARGET_ALLOCATED_MIB:,.0f} MiB",
                f"{seconds:.2f} s, {peak:,.0f} MiB",
                seconds <= TARGET_SECONDS and peak <= TARGET_ALLOCATED_MIB,
                span.load,
            )


def main() -> int:
    """Run the chosen parts and print Markdown for docs/benchmarks.md; 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("quality", "speed", "all"), default="all")
    parser.add_argument("--paths", type=int, default=200, help="Paths per backtest forecast.")
    parser.add_argument("--keys", type=int, default=1000, help="Keys for the speed part.")
    parser.add_argument("--speed-paths", type=int, default=500, help="Paths for the speed part.")
    parser.add_argument("--repeat", type=int, default=3, help="Timed runs (best is shown).")
    args = parser.parse_args()
    if args.part in ("quality", "all"):
        quality(args.paths)
        print("\n(the quality table has no target; the speed part has)")
    verdicts = Verdicts()
    if args.part in ("speed", "all"):
        speed(args.keys, args.speed_paths, args.repeat, verdicts)
    return verdicts.report()


if __name__ == "__main__":
    raise SystemExit(main())
