"""Benchmark: ``commitopt usage import`` of a year of canonical usage, and the matrix read back.

Writes a canonical usage table of ``--keys`` keys × ``--hours`` hours (2,400 × 8,760: 21,024,000
rows) as Parquet and as CSV into ``benchmarks/_work/`` (kept between runs; written by DuckDB, so
writing them takes seconds and little memory), then, for each format, runs the installed
``commitopt usage import FILE --format json --quiet`` in a subprocess on a fresh workspace and
measures its wall time, rows per second and peak resident memory (the child's ``ru_maxrss``, from
``os.wait4``). Afterwards it times :meth:`commitopt.workspace.Workspace.load_usage_matrix` on the
stored usage and checks the matrix against the file (shape, total instance-hours, as DuckDB sums
the file independently).

Every figure is printed with the 1-minute load average before and after it. Targets: the Parquet
import at >= 2,000,000 rows/s, and every import under 2 GiB peak RSS; each is reported as met or
MISSED, and the script exits 1 when one is missed.

Usage::

    python benchmarks/bench_usage_import.py                      # 2,400 keys x 8,760 h
    python benchmarks/bench_usage_import.py --keys 300 --formats parquet
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import duckdb

WORK: Final = Path(__file__).resolve().parent / "_work"
ROWS_PER_S_TARGET: Final = 2_000_000
"""The Parquet import's target throughput [rows/s]."""
PEAK_RSS_TARGET_MIB: Final = 2048
"""Every import's peak resident memory target [MiB] (the whole ``commitopt`` process)."""

_TYPES: Final = tuple(
    f"{family}.{size}"
    for family in ("m5", "c5", "r5", "t3", "m6i", "c6g")
    for size in ("medium", "large", "xlarge", "2xlarge", "4xlarge")
)
_REGIONS: Final = ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1")


def _load() -> float:
    return os.getloadavg()[0]


def _select_sql(keys: int, hours: int) -> str:
    """The canonical rows: key ``k`` is (account k % 20, region, type), platforms mixed;
    quantities follow a daily cycle with noise, >= 0, two decimals."""
    return f"""
        SELECT TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_hours(h) AS hour,
            printf('%012d', 100000000000 + k % 20) AS account_id,
            {list(_REGIONS)!r}[1 + (k // 20) % {len(_REGIONS)}] AS region,
            {list(_TYPES)!r}[1 + (k // {20 * len(_REGIONS)}) % {len(_TYPES)}] AS instance_type,
            CASE WHEN k % 7 = 0 THEN 'Windows' ELSE 'Linux/UNIX' END AS platform,
            'Shared' AS tenancy,
            round(3 + (k % 13) + 3 * sin(2 * pi() * (h % 24) / 24)
                  + (hash(k, h) % 100) / 100.0, 2) AS quantity
        FROM range({hours}) AS t(h), range({keys}) AS u(k)
    """


def write_files(keys: int, hours: int) -> dict[str, Path]:
    """The Parquet and CSV files (written once, reused while they exist)."""
    if keys > len(_TYPES) * len(_REGIONS) * 20:
        raise SystemExit(f"--keys at most {len(_TYPES) * len(_REGIONS) * 20}")
    WORK.mkdir(exist_ok=True)
    stem = WORK / f"usage-{keys}x{hours}"
    files = {"parquet": stem.with_suffix(".parquet"), "csv": stem.with_suffix(".csv")}
    select = _select_sql(keys, hours)
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        if not files["parquet"].exists():
            connection.execute(f"COPY ({select}) TO '{files['parquet']}.tmp' (FORMAT parquet)")
            os.replace(f"{files['parquet']}.tmp", files["parquet"])
        if not files["csv"].exists():
            text = (
                "SELECT strftime(hour, '%Y-%m-%dT%H:%M:%SZ') AS hour, * EXCLUDE (hour) "
                f"FROM ({select})"
            )
            connection.execute(f"COPY ({text}) TO '{files['csv']}.tmp' (HEADER, FORMAT csv)")
            os.replace(f"{files['csv']}.tmp", files["csv"])
    return files


@dataclass(frozen=True)
class Run:
    """One measured import."""

    label: str
    rows: int
    wall_s: float
    peak_rss_mib: float
    load_before: float
    load_after: float
    exit_code: int


def run_import(command: Path, file: Path, workspace: Path, label: str) -> Run:
    """Run ``commitopt usage import`` on ``file`` into a fresh ``workspace``; time it."""
    for stale in (workspace, Path(f"{workspace}.wal")):
        stale.unlink(missing_ok=True)
    load_before = _load()
    started = time.perf_counter()
    child = subprocess.Popen(
        [
            str(command),
            "usage",
            "import",
            str(file),
            "--workspace",
            str(workspace),
            "--format",
            "json",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = child.communicate()
    wall_s = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    rows = 0
    if child.returncode == 0:
        rows = int(json.loads(stdout)["usage_row_count"])
    else:
        print(f"{label}: exit {child.returncode}: {stderr.strip()[-2000:]}", file=sys.stderr)
    return Run(label, rows, wall_s, peak_mib, load_before, _load(), child.returncode)


def time_matrix(workspace: Path, file: Path) -> tuple[str, float, float, float, bool]:
    """Time ``load_usage_matrix`` and check it against the file; (shape, s, loads, ok)."""
    from commitopt.workspace import Workspace

    with duckdb.connect() as connection:
        row = connection.execute(
            f"SELECT sum(quantity), count(*) FROM read_parquet('{file}')"
        ).fetchone()
    assert row is not None
    total, rows = float(row[0]), int(row[1])
    if not hasattr(Workspace, "load_usage_matrix"):  # the code before it existed
        return "(no load_usage_matrix)", 0.0, _load(), _load(), True
    load_before = _load()
    with Workspace.open(workspace, read_only=True) as store:
        started = time.perf_counter()
        matrix = store.load_usage_matrix()
        seconds = time.perf_counter() - started
    load_after = _load()
    shape = matrix.quantity.shape
    ok = shape[0] * shape[1] == rows and abs(matrix.total_instance_hours - total) <= 1e-6 * total
    return f"{shape[0]:,} × {shape[1]:,}", seconds, load_before, load_after, ok


def main() -> int:
    """Write the files, import each format, time the matrix; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=2400)
    parser.add_argument("--hours", type=int, default=8760)
    parser.add_argument("--formats", default="parquet,csv", help="parquet, csv or both")
    parser.add_argument(
        "--command",
        type=Path,
        default=Path(sys.executable).parent / "commitopt",
        help="The commitopt executable to measure (default: this interpreter's).",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    files = write_files(args.keys, args.hours)
    sizes = ", ".join(f"{p.name} {p.stat().st_size / 2**20:,.0f} MiB" for p in files.values())
    print(f"files ready in {time.perf_counter() - started:.1f} s: {sizes}")
    workspace = WORK / "bench-import.duckdb"
    runs: list[Run] = []
    for fmt in [f.strip() for f in args.formats.split(",") if f.strip()]:
        # RUSAGE_CHILDREN's maximum spans every child so far: measure each format in its own
        # grandchild so one import's peak is not another's.
        runs.append(_isolated(args.command, files[fmt], workspace, fmt))
    print()
    print("| import | rows | wall [s] | rows/s | peak RSS [MiB] | load before / after |")
    print("|---|---:|---:|---:|---:|---:|")
    for run in runs:
        rate = run.rows / run.wall_s if run.rows else 0.0
        print(
            f"| {run.label} | {run.rows:,} | {run.wall_s:.2f} | {rate:,.0f} | "
            f"{run.peak_rss_mib:,.0f} | {run.load_before:.2f} / {run.load_after:.2f} |"
        )
    met = True
    for run in runs:
        rate = run.rows / run.wall_s if run.rows else 0.0
        memory_met = run.exit_code == 0 and run.peak_rss_mib < PEAK_RSS_TARGET_MIB
        met &= memory_met
        print(
            f"{run.label}: peak RSS < {PEAK_RSS_TARGET_MIB:,} MiB: "
            f"{'met' if memory_met else 'MISSED'} ({run.peak_rss_mib:,.0f} MiB, "
            f"load {run.load_after:.2f})"
        )
        if run.label == "parquet":
            rate_met = run.exit_code == 0 and rate >= ROWS_PER_S_TARGET
            met &= rate_met
            print(
                f"{run.label}: >= {ROWS_PER_S_TARGET:,} rows/s: "
                f"{'met' if rate_met else 'MISSED'} ({rate:,.0f} rows/s, "
                f"load {run.load_after:.2f})"
            )
    if runs and runs[-1].exit_code == 0:
        shape, seconds, before, after, ok = time_matrix(workspace, files["parquet"])
        print(
            f"load_usage_matrix: {shape} in {seconds:.2f} s (load {before:.2f} / {after:.2f}); "
            f"equals the file's rows and total: {'yes' if ok else 'NO'}"
        )
        met &= ok
    print(f"targets: {'met' if met else 'MISSED'}")
    return 0 if met else 1


def _isolated(command: Path, file: Path, workspace: Path, label: str) -> Run:
    """:func:`run_import` in a fresh Python process, so ``RUSAGE_CHILDREN`` is this run's."""
    code = (
        "import json, sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
        "from bench_usage_import import run_import; "
        "print(json.dumps(run_import(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), "
        "sys.argv[5]).__dict__))"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(Path(__file__).parent),
            str(command),
            str(file),
            str(workspace),
            label,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    sys.stderr.write(done.stderr)
    return Run(**json.loads(done.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    raise SystemExit(main())
