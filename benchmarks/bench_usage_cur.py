"""Benchmark: aggregate a multi-million-row CUR Parquet into the canonical usage table.

The input is built in ``benchmarks/_work/`` (gitignored) by replicating the real October 2018 CUR
(default: the trimmed test fixture ``tests/data/cur/wal_Oct2018-WorkshopCUR-usage-trimmed.zstd
.parquet``, 10,887 line items of 24 columns over 3 days, all services plus the RI fees; any CUR
Parquet can be passed with ``--source``). Copy ``i`` gets usage accounts whose first four digits
are ``i mod 500`` and usage hours shifted by ``(i div 500) × 3`` days, so the demand has many
distinct (hour, account, key) groups, as a large organisation's CUR has. Rows are written with
DuckDB (snappy Parquet, row groups of 122,880). Replicated rows compress far better than a real
CUR's; ``--noisy`` multiplies each copy's usage amount and cost by a random factor in
[1, 1.001) and gives every line item its own id, so those columns no longer compress to almost
nothing (the file is many times larger; sums change by at most 0.1 %).

Each size runs :func:`usage.readers.read_cur` in a fresh subprocess, which reports wall time,
throughput and peak resident memory (``VmHWM`` of ``/proc/self/status``: unlike ``ru_maxrss``,
it is not inherited from the parent that built the file). The time includes importing the package.
Each row shows the 1-minute load average before and after it; then the targets of issue 17 with
met / MISSED (exit 1 when one is missed): >= 2 M line items/s at the largest size (>= 20 M line
items), peak RSS < 2 GiB, and, with ``--fixed-output`` and two sizes or more, memory flat as the
input grows (the largest size's peak within 10 % of the smallest's).

With ``--cli`` each size is also imported as users run it, ``commitopt usage import FILE`` (the
console script next to this Python) into a fresh workspace, under ``/usr/bin/time``: wall time
and peak RSS of the whole command (reading, checks, the workspace write, the owned commitments).
The import streams: DuckDB classifies the line items on the workspace's connection and the demand
goes from a temporary table into the workspace (``usage.staged_bill``), never into pandas, so its
targets are >= 2 M line items/s at >= 20 M line items and peak RSS < 2 GiB at every size, and,
with ``--fixed-output`` and two sizes or more, memory flat (largest within 10 % of smallest).
``--cli-only`` skips the ``read_cur`` runs (the pandas reader, whose output frame grows with
the demand).

Usage::

    python benchmarks/bench_usage_cur.py --rows 5e6 10e6 20e6
    python benchmarks/bench_usage_cur.py --rows 20e6 --cli
    python benchmarks/bench_usage_cur.py --rows 5e6 20e6 --cli-only
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from measure import ChildRun, Load, Verdicts, load_average, measured, run_child

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tests" / "data" / "cur" / "wal_Oct2018-WorkshopCUR-usage-trimmed.zstd.parquet"
WORK = ROOT / "benchmarks" / "_work"


def build(
    source: Path, rows: int, target: Path, *, fixed: bool = False, noisy: bool = False
) -> None:
    """Write ``rows`` line items replicated from ``source`` to ``target`` (Parquet).

    ``fixed``: copy ``i`` only gets account prefix ``i mod 20`` (no hour shift), so the output
    has the same number of groups whatever the input size (to show memory stays flat).
    ``noisy``: usage amounts and costs times a random factor in [1, 1.001), unique line item ids.
    """
    accounts, days = (20, 0) if fixed else (500, 3)
    noise = (
        """,
                line_item_usage_amount * (1 + random() / 1000) AS line_item_usage_amount,
                line_item_unblended_cost * (1 + random() / 1000) AS line_item_unblended_cost,
                identity_line_item_id || '-' || CAST(copy AS VARCHAR) AS identity_line_item_id"""
        if noisy
        else ""
    )
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    per_copy = int(
        connection.sql(f"SELECT count(*) FROM read_parquet('{source}')").fetchall()[0][0]
    )
    copies = -(-rows // per_copy)
    connection.execute(
        f"""
        COPY (
            SELECT * REPLACE (
                lpad(CAST(copy % {accounts} AS VARCHAR), 4, '0')
                    || substr(line_item_usage_account_id, 5) AS line_item_usage_account_id,
                line_item_usage_start_date + (copy // {accounts}) * INTERVAL {days} DAY
                    AS line_item_usage_start_date,
                line_item_usage_end_date + (copy // {accounts}) * INTERVAL {days} DAY
                    AS line_item_usage_end_date{noise}
            )
            FROM read_parquet('{source}') CROSS JOIN range({copies}) AS copies(copy)
            LIMIT {rows}
        ) TO '{target}' (FORMAT parquet, COMPRESSION snappy)
        """
    )
    connection.close()


TARGET_LINE_ITEMS_PER_S = 2e6
"""Issue 17: CUR ingest at >= 2 M line items/s (idle) at 20 M line items."""
TARGET_PEAK_MIB = 2048.0
"""Peak resident memory of the reading process [MiB]."""
FLAT_RATIO = 1.10
"""With a fixed output, the largest input's peak may exceed the smallest's by 10 % at most."""
_CHILD = """
import json, sys, time
t = time.perf_counter()
from usage.readers import read_cur
from measure import peak_rss_mib
table, report = read_cur(sys.argv[1])
elapsed = time.perf_counter() - t
print(json.dumps({"seconds": elapsed, "peak_mib": peak_rss_mib(),
  "table_rows": len(table), "line_items": report.kept_line_items + report.excluded_line_items}))
"""


def measure(path: Path) -> ChildRun:
    """Run ``read_cur`` in a subprocess; wall time [s], peak RSS [MiB], output rows, load."""
    return run_child(["-c", _CHILD, str(path)], cwd=ROOT / "benchmarks")


def measure_cli(path: Path) -> tuple[float, float, Load]:
    """``commitopt usage import path`` into a fresh workspace: wall [s], peak RSS [MiB], load."""
    script = Path(sys.executable).parent / "commitopt"
    timer = shutil.which("time") or "/usr/bin/time"
    with tempfile.TemporaryDirectory(prefix="bench-cur-") as folder:
        command = [timer, "-f", "TIME %e %M", str(script), "usage", "import", str(path),
                   "--input-format", "cur", "--workspace", str(Path(folder) / "ws.duckdb"),
                   "--format", "json", "-q"]  # fmt: skip
        with measured() as span:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"commitopt usage import failed ({done.returncode}):\n{done.stderr}")
    line = [x for x in done.stderr.splitlines() if x.startswith("TIME ")][-1]
    seconds, kib = (float(value) for value in line.split()[1:])
    return seconds, kib / 1024, span.load


def main() -> int:
    """Build each size, measure it, print a Markdown table row per size and the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, nargs="+", default=[5e6, 10e6, 20e6])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument(
        "--fixed-output",
        action="store_true",
        help="replicate with 20 account prefixes and no hour shift (output size constant)",
    )
    parser.add_argument(
        "--noisy",
        action="store_true",
        help="random factors on usage and cost, unique line item ids (compresses like a real CUR)",
    )
    parser.add_argument(
        "--cli", action="store_true", help="also time `commitopt usage import` of each size"
    )
    parser.add_argument(
        "--cli-only", action="store_true", help="time only `commitopt usage import` (no read_cur)"
    )
    arguments = parser.parse_args()
    arguments.cli = arguments.cli or arguments.cli_only
    WORK.mkdir(parents=True, exist_ok=True)
    header = "| line items | file [MiB] | build [s] | read_cur [s] | rows/s | peak RSS [MiB] |"
    print(header + " table rows | load before -> after |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    runs: list[tuple[int, ChildRun]] = []
    for rows in sorted(int(r) for r in arguments.rows):
        layout = ("fixed" if arguments.fixed_output else "spread") + (
            "_noisy" if arguments.noisy else ""
        )
        target = WORK / f"{arguments.source.name.split('.')[0]}_{layout}_{rows}.parquet"
        started = time.perf_counter()
        if not target.exists():
            build(
                arguments.source, rows, target, fixed=arguments.fixed_output, noisy=arguments.noisy
            )
        built = time.perf_counter() - started
        if arguments.cli_only:
            print(f"| {rows:,} | {target.stat().st_size / 2**20:,.0f} | {built:.1f} | - | - | "
                  "- | - | - |", flush=True)  # fmt: skip
            runs.append((rows, ChildRun({}, 0.0, Load(load_average(), load_average()))))
            continue
        run = measure(target)
        result = run.figures
        assert int(result["line_items"]) == rows, result
        runs.append((rows, run))
        print(
            f"| {rows:,} | {target.stat().st_size / 2**20:,.0f} | {built:.1f} | "
            f"{result['seconds']:.2f} | {rows / result['seconds'] / 1e6:.2f} M | "
            f"{result['peak_mib']:,.0f} | {int(result['table_rows']):,} | {run.load} |",
            flush=True,
        )
    cli: list[tuple[int, float, float, Load]] = []
    if arguments.cli:
        print("\n| `commitopt usage import` of | wall [s] | line items/s | peak RSS [MiB] | load |")
        print("|---:|---:|---:|---:|---|")
        layout = ("fixed" if arguments.fixed_output else "spread") + (
            "_noisy" if arguments.noisy else ""
        )
        for rows, _ in runs:
            target = WORK / f"{arguments.source.name.split('.')[0]}_{layout}_{rows}.parquet"
            seconds, peak_mib, load = measure_cli(target)
            cli.append((rows, seconds, peak_mib, load))
            print(f"| {rows:,} | {seconds:.2f} | {rows / seconds / 1e6:.2f} M | {peak_mib:,.0f} "
                  f"| {load} |", flush=True)  # fmt: skip
    verdicts = Verdicts()
    if not arguments.cli_only:
        read_cur_verdicts(verdicts, runs, fixed=arguments.fixed_output)
    if cli:
        cli_verdicts(verdicts, cli, fixed=arguments.fixed_output)
    return verdicts.report()


def read_cur_verdicts(verdicts: Verdicts, runs: list[tuple[int, ChildRun]], *, fixed: bool) -> None:
    """The targets of ``read_cur`` (the pandas reader)."""
    rows, run = runs[-1]
    rate = rows / run.figures["seconds"]
    if rows >= 20_000_000:
        verdicts.add(
            f"read_cur >= {TARGET_LINE_ITEMS_PER_S / 1e6:g} M line items/s at {rows:,}",
            f"{rate / 1e6:.2f} M/s",
            rate >= TARGET_LINE_ITEMS_PER_S,
            run.load,
        )
    else:
        print(f"\n(the speed target is for >= 20 M line items; the largest size was {rows:,})")
    peak = max(r.figures["peak_mib"] for _, r in runs)
    verdicts.add(
        f"peak RSS < {TARGET_PEAK_MIB:,.0f} MiB at every size", f"{peak:,.0f} MiB",
        peak < TARGET_PEAK_MIB,
    )  # fmt: skip
    if fixed and len(runs) > 1:
        low, high = runs[0][1].figures["peak_mib"], runs[-1][1].figures["peak_mib"]
        verdicts.add(
            f"memory flat: peak at {runs[-1][0]:,} within {FLAT_RATIO - 1:.0%} of {runs[0][0]:,}",
            f"{low:,.0f} -> {high:,.0f} MiB",
            high <= FLAT_RATIO * low,
        )


def cli_verdicts(
    verdicts: Verdicts, cli: list[tuple[int, float, float, Load]], *, fixed: bool
) -> None:
    """The targets of ``commitopt usage import`` (streamed into the workspace)."""
    rows, seconds, _peak_mib, load = cli[-1]
    if rows >= 20_000_000:
        verdicts.add(
            f"commitopt usage import >= {TARGET_LINE_ITEMS_PER_S / 1e6:g} M line items/s at "
            f"{rows:,}",
            f"{rows / seconds / 1e6:.2f} M/s",
            rows / seconds >= TARGET_LINE_ITEMS_PER_S,
            load,
        )
    peak = max(p for _, _, p, _ in cli)
    verdicts.add(
        f"commitopt usage import peak RSS < {TARGET_PEAK_MIB:,.0f} MiB at every size",
        f"{peak:,.0f} MiB", peak < TARGET_PEAK_MIB,
    )  # fmt: skip
    if fixed and len(cli) > 1:
        low, high = cli[0][2], cli[-1][2]
        verdicts.add(
            f"commitopt usage import memory flat: peak at {cli[-1][0]:,} within "
            f"{FLAT_RATIO - 1:.0%} of {cli[0][0]:,}",
            f"{low:,.0f} -> {high:,.0f} MiB",
            high <= FLAT_RATIO * low,
        )


if __name__ == "__main__":
    raise SystemExit(main())
