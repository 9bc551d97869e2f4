"""Benchmark: ``usage import-athena``'s result, paged into the workspace as it arrives.

A stub Athena client (no network: the calls' latency is not in the figure) answers a finished
query with ``--rows`` result rows of demand (``--keys`` keys, one row per hour and key, hours from
2026-01-01), 1,000 rows a page as ``GetQueryResults`` does, each page built only when asked for.
A fresh process stages them with :func:`usage.athena.stage_cur_athena` on a new workspace and
stores them with :func:`commitopt.imports.import_validated_usage`, what ``commitopt usage
import-athena`` runs; it reports wall time, result rows per second and peak RSS (``VmHWM``), and
checks the stored rows and instance-hours against the stub's. The 1-minute load average is shown
before and after each run; the targets print met / MISSED: peak RSS < 1 GiB at every size, and
memory flat (the largest size's peak within 25 % of the smallest's).

Before this work the pages were held in pandas as text: 500,000 rows took 6.0 s and +480 MiB
(load 2.2, docs/scale.md).

Usage::

    python benchmarks/bench_usage_athena.py --rows 5e5 2e6
"""

from __future__ import annotations

import argparse
from pathlib import Path

from measure import ChildRun, Verdicts, run_child

ROOT = Path(__file__).resolve().parents[1]
TARGET_PEAK_MIB = 1024.0
"""Peak resident memory of the importing process [MiB]."""
FLAT_RATIO = 1.25
"""The largest size's peak may exceed the smallest's by 25 % at most."""
_CHILD = """
import json, sys, tempfile, time
from pathlib import Path
t = time.perf_counter()
from commitopt.imports import import_validated_usage
from commitopt.workspace import UsageSource, Workspace
from measure import peak_rss_mib
from usage.athena import stage_cur_athena
from usage.staged_bill import drop_staged
rows, keys = int(sys.argv[1]), int(sys.argv[2])
HEADER = ["reason", "hour", "account_id", "region", "instance_type", "platform", "tenancy",
          "currency", "line_items", "quantity", "cost"]
PAGE = 1000

def cell(v):
    return {"VarCharValue": v}

class Stub:
    def start_query_execution(self, **_):
        return {"QueryExecutionId": "q"}
    def get_query_execution(self, **_):
        return {"QueryExecution": {"Status": {"State": "SUCCEEDED"}}}
    def get_query_results(self, **request):
        first = int(request.get("NextToken") or 0)
        page = [{"Data": [cell(h) for h in HEADER]}] if first == 0 else []
        for i in range(first, min(first + PAGE, rows)):
            hour, key = divmod(i, keys)
            month, day = 1 + hour // 672, 1 + hour % 672 // 24
            stamp = f"2026-{month:02d}-{day:02d} {hour % 24:02d}:00:00.000"
            page.append({"Data": [cell(""), cell(stamp), cell(f"{key:012d}"),
                cell("us-east-1"), cell(f"m5.{['large', 'xlarge', '2xlarge'][key % 3]}"),
                cell("Linux/UNIX"), cell("Shared" if key % 97 else "Dedicated"), cell("USD"),
                cell("1"), cell(f"{1 + key % 7}.5"), cell("0.1")]})
        answer = {"ResultSet": {"Rows": page}}
        if first + PAGE < rows:
            answer["NextToken"] = str(first + PAGE)
        return answer

class Counts:
    rows_kept = rows
    rows_excluded = 0

with tempfile.TemporaryDirectory() as folder:
    if sys.argv[3] == "pandas":  # the path before: every page in pandas, then import_usage
        from commitopt.imports import import_usage
        from usage.athena import read_cur_athena
        frame, _ = read_cur_athena(Stub(), database="d", table="t", output_location=None,
            start="2026-01-01", end="2027-01-01", sleep=lambda _: None)
        with Workspace.open(Path(folder) / "ws.duckdb") as store:
            import_usage(store, frame, period_start="2026-01-01", period_end="2027-01-01",
                source=UsageSource("athena"), report=Counts())
            stored, hours = store.fetch_all("SELECT count(*), sum(quantity) FROM usage_hourly")[0]
    else:
      with Workspace.open(Path(folder) / "ws.duckdb") as store, store.streaming():
        staged = stage_cur_athena(Stub(), store.connection, database="d", table="t",
            output_location=None, start="2026-01-01", end="2027-01-01", sleep=lambda _: None)
        with store.transaction():
            import_validated_usage(store, staged.usage, period_start="2026-01-01",
                period_end="2027-01-01", source=UsageSource("athena"), report=Counts())
        drop_staged(store.connection)
        stored, hours = store.fetch_all("SELECT count(*), sum(quantity) FROM usage_hourly")[0]
expected_hours = sum((1 + k % 7 + 0.5) * (rows // keys + (k < rows % keys)) for k in range(keys))
print(json.dumps({"seconds": time.perf_counter() - t, "peak_mib": peak_rss_mib(),
    "stored": stored, "hours_ok": abs(hours - expected_hours) <= 1e-9 * expected_hours}))
"""


def main() -> int:
    """Measure each size in a fresh process; a Markdown row per size and path, then the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, nargs="+", default=[5e5, 2e6])
    parser.add_argument("--keys", type=int, default=2000)
    parser.add_argument(
        "--no-pandas", action="store_true", help="skip the pandas path (the code before)"
    )
    arguments = parser.parse_args()
    print(
        "| path | result rows | keys | wall [s] | rows/s | peak RSS [MiB] | load before -> after |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    runs: dict[str, list[tuple[int, ChildRun]]] = {"staged": [], "pandas": []}
    paths = ("staged",) if arguments.no_pandas else ("staged", "pandas")
    for rows in sorted(int(r) for r in arguments.rows):
        for path in paths:
            run = run_child(
                ["-c", _CHILD, str(rows), str(arguments.keys), path], cwd=ROOT / "benchmarks"
            )
            figures = run.figures
            assert figures["stored"] == rows and figures["hours_ok"], figures
            runs[path].append((rows, run))
            print(f"| {path} | {rows:,} | {arguments.keys:,} | {figures['seconds']:.2f} | "
                  f"{rows / figures['seconds']:,.0f} | {figures['peak_mib']:,.0f} | {run.load} |",
                  flush=True)  # fmt: skip
    verdicts = Verdicts()
    staged = runs["staged"]
    peak = max(r.figures["peak_mib"] for _, r in staged)
    verdicts.add(
        f"staged: peak RSS < {TARGET_PEAK_MIB:,.0f} MiB at every size", f"{peak:,.0f} MiB",
        peak < TARGET_PEAK_MIB,
    )  # fmt: skip
    if len(staged) > 1:
        low, high = staged[0][1].figures["peak_mib"], staged[-1][1].figures["peak_mib"]
        verdicts.add(
            f"staged: memory flat, peak at {staged[-1][0]:,} rows within {FLAT_RATIO - 1:.0%} "
            f"of {staged[0][0]:,}",
            f"{low:,.0f} -> {high:,.0f} MiB",
            high <= FLAT_RATIO * low,
            staged[-1][1].load,
        )
    return verdicts.report()


if __name__ == "__main__":
    raise SystemExit(main())
