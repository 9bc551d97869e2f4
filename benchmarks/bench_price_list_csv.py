"""Benchmark: import a synthetic multi-GB AWS Price List EC2 offer CSV with ``read_price_list_csv``.

The file is built in ``benchmarks/_work/`` (gitignored) from the real excerpt in
``tests/data/pricing/ec2priceit_3-global-pricing-file-sample.csv``: its 44 data rows (on-demand,
reserved pairs with Upfront Fee rows, Dedicated Hosts, capacity reservations, a Local Zone) are
repeated in blocks. Each block gets new SKUs and new keys, as in a real offer where every product
is one key: block ``i`` moves the excerpt's AWS-Region products to region ``i mod 36`` and renames
their families with a suffix ``i div 36`` (``c6i`` -> ``c6i17``), rewriting ``usageType``,
``Instance Type``, ``Region Code`` and ``Location`` consistently. 75 % of the rows (33 of 44 per
block) are kept by the reader, more than in the real global file, so this is a demanding case.

The import runs in a fresh subprocess, which reports its wall time, throughput and peak resident
memory (``VmHWM``, read by the child itself); the load average before and after is printed
beside the figures, then the target with met / MISSED (exit 1 when missed): peak RSS < 1 GiB at
>= 100 MB/s.

Usage::

    python benchmarks/bench_price_list_csv.py --size-gb 0.2
    python benchmarks/bench_price_list_csv.py --size-gb 2
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path

from measure import Load, Verdicts, run_child

ROOT = Path(__file__).resolve().parents[1]
EXCERPT = ROOT / "tests" / "data" / "pricing" / "ec2priceit_3-global-pricing-file-sample.csv"
WORK = ROOT / "benchmarks" / "_work"

sys.path.insert(0, str(ROOT))
from pricing.regions import LOCATION_TO_REGION, REGION_TO_PREFIX  # noqa: E402

_REGION_LOCATIONS = {code: name for name, code in reversed(list(LOCATION_TO_REGION.items()))}
REGIONS = sorted(REGION_TO_PREFIX)


def block_template() -> tuple[str, str, int]:
    """Preamble + header text, one block of data rows with ``str.format`` placeholders, SKUs."""
    with EXCERPT.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    header = rows[5]
    at = {name: header.index(name) for name in header}
    skus = sorted({row[0] for row in rows[6:]})
    block = []
    for row in rows[6:]:
        row = [cell.replace("{", "{{").replace("}", "}}") for cell in row]
        sku_slot = f"{{sku{skus.index(row[0])}}}"
        row = [cell.replace(row[0], sku_slot) for cell in row]
        if row[at["Location Type"]] == "AWS Region":
            family, _, size = row[at["Instance Type"]].partition(".")
            instance_type = f"{family}{{n}}.{size}"
            kind = row[at["usageType"]].split("-", 1)[-1].split(":")[0]
            row[at["usageType"]] = f"{{prefix}}{kind}:{instance_type}"
            row[at["Instance Type"]] = instance_type
            row[at["Region Code"]] = "{region}"
            row[at["Location"]] = "{location}"
        block.append(row)
    head = io.StringIO()
    csv.writer(head, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows[:6])
    text = io.StringIO()
    csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(block)
    return head.getvalue(), text.getvalue(), len(skus)


def build(path: Path, size_bytes: int) -> int:
    """Write the synthetic offer CSV; return the number of data rows."""
    head, block, sku_count = block_template()
    rows_per_block = block.count("\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    blocks = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(head)
        written += len(head)
        while written < size_bytes:
            region = REGIONS[blocks % len(REGIONS)]
            prefix = REGION_TO_PREFIX[region]
            values = {f"sku{k}": f"S{blocks:09d}K{k:05d}" for k in range(sku_count)}
            text = block.format(
                n=blocks // len(REGIONS),
                region=region,
                prefix="" if region == "us-east-1" else f"{prefix}-",
                location=_REGION_LOCATIONS[region],
                **values,
            )
            out.write(text)
            written += len(text)
            blocks += 1
    return blocks * rows_per_block


TARGET_MB_PER_S = 100.0
"""Throughput target [MB of uncompressed CSV per s]."""
TARGET_PEAK_MIB = 1024.0
"""Peak resident memory target of the importing process [MiB]."""
_CHILD = """
import json, sys, time
from measure import peak_rss_mib
from pricing.readers.price_list_csv import read_price_list_csv
start = time.perf_counter()
catalog = read_price_list_csv(sys.argv[1], regions=[r for r in sys.argv[2].split(",") if r])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "on_demand": len(catalog.on_demand),
                  "reserved": len(catalog.reserved), "peak_mib": peak_rss_mib()}))
"""


def measure(path: Path, regions: str = "") -> tuple[dict[str, float], Load]:
    """Import ``path`` in a fresh interpreter; return its figures and the load around it.

    Throughput ``mb_per_s`` counts the uncompressed CSV [MB/s], also for a ``.csv.gz``.
    """
    run = run_child(["-c", _CHILD, str(path), regions], cwd=ROOT / "benchmarks")
    figures = run.figures
    size_mb = path.stat().st_size / 1e6
    csv_mb = path.with_suffix("").stat().st_size / 1e6 if path.suffix == ".gz" else size_mb
    return {
        "file_mb": size_mb,
        "csv_mb": csv_mb,
        "import_s": figures["seconds"],
        "process_s": run.seconds,
        "mb_per_s": csv_mb / figures["seconds"],
        "peak_rss_mib": figures["peak_mib"],
        "on_demand_rows": figures["on_demand"],
        "reserved_rows": figures["reserved"],
    }, run.load


def main() -> int:
    """Build the file, import it, print the figures with the load and the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=2.0, help="synthetic file size [GB]")
    parser.add_argument("--keep", action="store_true", help="keep the synthetic file afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse an existing file of that size")
    parser.add_argument("--regions", default="", help="comma-separated regions to keep")
    parser.add_argument("--gzip", action="store_true", help="import a gzipped copy instead")
    options = parser.parse_args()
    path = WORK / f"ec2_offer_synthetic_{options.size_gb:g}GB.csv"
    if not (options.reuse and path.exists()):
        started = time.perf_counter()
        rows = build(path, int(options.size_gb * 1e9))
        print(f"built {path.name}: {rows:,} data rows in {time.perf_counter() - started:.1f} s")
    target = path
    if options.gzip:
        target = path.with_suffix(".csv.gz")
        if not (options.reuse and target.exists()):
            subprocess.run(["gzip", "-1", "-k", "-f", str(path)], check=True)
    try:
        figures, load = measure(target, options.regions)
    finally:
        if not options.keep:
            path.unlink(missing_ok=True)
            if options.gzip:
                target.unlink(missing_ok=True)
    print(json.dumps({**figures, "load_before": load.before, "load_after": load.after}, indent=2))
    verdicts = Verdicts()
    verdicts.add(
        f"peak RSS < {TARGET_PEAK_MIB / 1024:g} GiB at >= {TARGET_MB_PER_S:g} MB/s",
        f"{figures['peak_rss_mib']:,.0f} MiB at {figures['mb_per_s']:.0f} MB/s",
        figures["peak_rss_mib"] < TARGET_PEAK_MIB and figures["mb_per_s"] >= TARGET_MB_PER_S,
        load,
    )
    return verdicts.report()


if __name__ == "__main__":
    raise SystemExit(main())
