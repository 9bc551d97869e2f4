"""Benchmark: the import ledger on a year of hourly usage (replace, load, remove, busy).

Builds a canonical table of ``--keys`` keys (one account each) × 8,760 hours, imports it into a
fresh workspace, re-imports January (the same source replaces its 744 hours of every account),
loads the usage that counts, removes the re-import (what it replaced comes back), and times how
long a second ``commitopt usage import`` takes to learn that the workspace is busy. Prints each
figure with the load average beside it, and whether the targets are met: a month re-imported and
a removal within 5 s, busy known within 2 s (before any file is read).

Usage::

    python benchmarks/bench_usage_ledger.py --keys 300
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from measure import Load, Verdicts, measured

from commitopt.imports import import_usage, remove_import
from commitopt.workspace import UsageSource, Workspace
from usage.table import USAGE_SCHEMA

REPLACE_TARGET_S = 5.0
"""A month re-imported, and an import removed, within this [s]."""

BUSY_TARGET_S = 2.0
"""A second writer learns the workspace is busy within this [s]."""


class _Counts:
    rows_kept = 0
    rows_excluded = 0


def _year(keys: int) -> pd.DataFrame:
    hours = pd.date_range("2025-01-01T00:00Z", periods=8760, freq="h")
    sizes = ("large", "xlarge", "2xlarge", "4xlarge")
    return pd.DataFrame(
        {
            "hour": np.repeat(hours, keys),
            "account_id": np.tile([f"{100_000_000_000 + k}" for k in range(keys)], len(hours)),
            "region": "us-east-1",
            "instance_type": np.tile([f"m5.{sizes[k % 4]}" for k in range(keys)], len(hours)),
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "quantity": 1.0,
        }
    ).astype(USAGE_SCHEMA)


def main() -> int:
    """Run the steps; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=300)
    args = parser.parse_args()
    year = _year(args.keys)
    january = year[year["hour"] < pd.Timestamp("2025-02-01T00:00Z")]
    rows: list[tuple[str, float, Load]] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ws.duckdb"
        with Workspace.open(path) as workspace:
            with measured() as span:
                import_usage(
                    workspace, year, period_start="2025-01-01", period_end="2026-01-01",
                    source=UsageSource("canonical"), report=_Counts(),
                )  # fmt: skip
            rows.append((f"import a year ({len(year):,} rows)", span.seconds, span.load))
            with measured() as span:
                stored = import_usage(
                    workspace, january, period_start="2025-01-01", period_end="2025-02-01",
                    source=UsageSource("canonical"), report=_Counts(),
                )  # fmt: skip
            replaced = int(stored.replaced["usage_row_count"].sum())
            rows.append((f"re-import January (replaces {replaced:,} rows)", span.seconds,
                         span.load))  # fmt: skip
            with measured() as span:
                loaded = workspace.load_usage()
            rows.append((f"load the usage that counts ({len(loaded):,} rows)", span.seconds,
                         span.load))  # fmt: skip
            with measured() as span:
                removed = remove_import(workspace, stored.import_id)
            restored = int(removed.restored["usage_row_count"].sum())
            rows.append((f"remove the re-import (restores {restored:,} rows)", span.seconds,
                         span.load))  # fmt: skip
            script = Path(sys.executable).parent / "commitopt"
            with measured() as span:
                busy = subprocess.run(
                    [str(script), "usage", "import", "never-read.csv", "--workspace", str(path)],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
            rows.append((f"second writer told busy (exit {busy.returncode})", span.seconds,
                         span.load))  # fmt: skip
        with duckdb.connect(str(path), read_only=True) as connection:
            (kept,) = connection.execute("SELECT count(*) FROM usage_hourly").fetchone() or (0,)
    print("| step | wall [s] | load average (1 min) before -> after |")
    print("|---|---:|---|")
    for name, seconds, load in rows:
        print(f"| {name} | {seconds:.2f} | {load} |")
    print(f"\nrows stored after the removal: {kept:,} (replaced rows are kept until removed)")
    verdicts = Verdicts()
    for index in (1, 3):
        name, seconds, load = rows[index]
        verdicts.add(f"{name} within {REPLACE_TARGET_S:g} s", f"{seconds:.2f} s",
                     seconds <= REPLACE_TARGET_S, load)  # fmt: skip
    _, busy_s, busy_load = rows[4]
    verdicts.add(
        f"a second writer told busy (exit 3) within {BUSY_TARGET_S:g} s",
        f"exit {busy.returncode} in {busy_s:.2f} s",
        busy_s <= BUSY_TARGET_S and busy.returncode == 3,
        busy_load,
    )
    return verdicts.report()


if __name__ == "__main__":
    raise SystemExit(main())
