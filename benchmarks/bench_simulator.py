"""Benchmark: the billing simulator on a year of hourly usage with 50 commitments.

The case is synthetic and seeded, priced by the embedded catalog (ec2instances.info snapshot of
2017-11-12, :func:`pricing.embedded.load_embedded_catalog`): keys are drawn from the (region,
instance type, platform) triples of four regions (us-east-1, us-west-2, eu-west-1,
ap-northeast-1) that the catalog prices on-demand, as standard 1-year RIs and as 1-year No Upfront
Compute and EC2 Instance Savings Plans; about 70 % Linux/UNIX (size-flexible families), the rest
Windows and Red Hat Enterprise Linux (exact keys), spread over six accounts. Each key's hourly
usage is a level (log-normal) times a daily and a weekly cycle with noise, some keys only run in
business hours, some are off for weeks; all vectorised over hours × keys.

The 50 commitments, each owned by one of the accounts (so each is applied in two passes, its
owner's usage first, then the others'): 20 size-flexible Linux/UNIX RIs, 6 exact-key RIs
(Windows / RHEL), 14 EC2 Instance Savings Plans and 10 Compute Savings Plans. A fifth start
during the year at 40 minutes past an hour and a fifth end during it, so partial hours and
expirations are exercised.

Each size runs in a fresh subprocess: it builds the case, resets the kernel's peak-RSS mark
(``/proc/self/clear_refs``), times :func:`billing.simulator.simulate` on the
:class:`~usage.table.UsageMatrix` (best of ``--repeat`` runs, wall and CPU time; the first run is
shown too) and reports the peak resident memory of the process during the first run
(``VmHWM``: the usage matrix, the catalog, pandas and Python included), then the peak of what
one more, untimed run allocates (``tracemalloc``, numpy arrays included).

Usage::

    python benchmarks/bench_simulator.py                      # 8,760 h × 2,000 keys
    python benchmarks/bench_simulator.py --hours 2190 4380 8760 --keys 500 1000 2000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "benchmarks"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from measure import Verdicts, measured, peak_rss_mib, reset_peak_rss  # noqa: E402

from pricing.catalog import PriceCatalog  # noqa: E402
from pricing.embedded import load_embedded_catalog  # noqa: E402
from pricing.instance_types import instance_families, normalization_factors  # noqa: E402
from pricing.inventory import Commitment  # noqa: E402
from usage.table import KEY_COLUMNS, UsageMatrix  # noqa: E402

REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1")
PLATFORMS = ("Linux/UNIX", "Windows", "Red Hat Enterprise Linux")
ACCOUNTS = tuple(f"{digit}" * 12 for digit in "123456")
START = datetime(2026, 1, 1, tzinfo=UTC)
TARGET_SECONDS = 2.0
"""8,760 h × 2,000 keys with 50 commitments billed within this [s] (best run) ..."""
TARGET_MIB = 1024.0
"""... at a peak resident memory below this [MiB]."""


def priced_triples(catalog: PriceCatalog) -> pd.DataFrame:
    """(region, type, platform) with an on-demand rate, a 1-year standard No Upfront RI and
    1-year No Upfront Compute and EC2 Instance SP rates, in :data:`REGIONS`, shared tenancy."""
    key = ["region", "instance_type", "platform", "tenancy"]
    on_demand = catalog.on_demand
    wanted = on_demand.loc[
        on_demand["region"].isin(REGIONS)
        & on_demand["platform"].isin(PLATFORMS)
        & (on_demand["tenancy"] == "Shared"),
        key,
    ]
    reserved = catalog.reserved
    ri = reserved.loc[
        (reserved["offering_class"] == "standard")
        & (reserved["term_years"] == 1)
        & (reserved["payment_option"] == "No Upfront"),
        key,
    ]
    plans = catalog.savings_plans
    one_year = plans.loc[(plans["term_years"] == 1) & (plans["payment_option"] == "No Upfront")]
    both = wanted.merge(ri, on=key)
    for plan_type in ("compute", "ec2_instance"):
        both = both.merge(one_year.loc[one_year["plan_type"] == plan_type, key], on=key)
    return both.astype("string").sort_values(key).reset_index(drop=True)


def make_keys(triples: pd.DataFrame, n_keys: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n_keys`` usage keys: about 70 % Linux/UNIX triples, the rest Windows / RHEL, each in
    one of :data:`ACCOUNTS` (a triple may appear in several accounts)."""
    linux = triples.loc[triples["platform"] == "Linux/UNIX"]
    other = triples.loc[triples["platform"] != "Linux/UNIX"]
    n_linux = round(n_keys * 0.7)
    rows = []
    for pool, count in ((linux, n_linux), (other, n_keys - n_linux)):
        pairs = pd.MultiIndex.from_product([pool.index, range(len(ACCOUNTS))]).to_frame()
        chosen = rng.choice(len(pairs), size=count, replace=False)
        picked = pairs.iloc[chosen]
        frame = pool.loc[picked.iloc[:, 0].to_numpy()].reset_index(drop=True)
        frame.insert(0, "account_id", np.asarray(ACCOUNTS)[picked.iloc[:, 1].to_numpy()])
        rows.append(frame)
    keys = pd.concat(rows, ignore_index=True)[list(KEY_COLUMNS)].astype("string")
    return keys.sort_values(list(KEY_COLUMNS)).reset_index(drop=True)


def make_usage(n_hours: int, keys: pd.DataFrame, rng: np.random.Generator) -> UsageMatrix:
    """Hourly usage [instance-hours], hours × keys: level × daily × weekly cycles × noise."""
    n_keys = len(keys)
    hour_of_day = np.arange(n_hours) % 24
    day = np.arange(n_hours) // 24
    level = rng.lognormal(mean=0.5, sigma=1.0, size=n_keys)
    amplitude = rng.uniform(0.0, 0.6, size=n_keys)
    phase = rng.uniform(0, 2 * np.pi, size=n_keys)
    usage = np.sin(2 * np.pi * hour_of_day[:, None] / 24 + phase[None, :])
    usage *= amplitude
    usage += 1.0
    usage *= level
    weekend = (day % 7 >= 5)[:, None] & (rng.random(n_keys) < 0.3)[None, :]
    usage[weekend] *= 0.5
    office = rng.random(n_keys) < 0.15
    off_hours = (hour_of_day < 8) | (hour_of_day >= 19)
    usage[np.ix_(off_hours, office)] = 0.0
    usage *= rng.uniform(0.85, 1.15, size=usage.shape)
    gaps = rng.random(n_keys) < 0.1
    gap_start = rng.integers(0, max(n_hours - 24 * 21, 1), size=n_keys)
    rows = np.arange(n_hours)[:, None]
    usage[(rows >= gap_start) & (rows < gap_start + 24 * 21) & gaps] = 0.0
    np.round(usage, 3, out=usage)
    hours = pd.date_range(START, periods=n_hours, freq="h", tz="UTC").as_unit("ns")
    return UsageMatrix(hours=hours, keys=keys, quantity=usage)


def make_commitments(matrix: UsageMatrix, rng: np.random.Generator) -> list[Commitment]:
    """50 commitments sized on the usage: 20 size-flexible RIs, 6 exact RIs, 14 EC2 Instance
    SPs, 10 Compute SPs; a fifth start mid-period at :40, a fifth end mid-period."""
    keys = matrix.keys.assign(
        instance_family=instance_families(matrix.keys["instance_type"]).to_numpy(),
        factor=normalization_factors(matrix.keys["instance_type"]),
        mean=matrix.quantity.mean(axis=0),
    )
    n_hours = len(matrix.hours)
    items: list[Commitment] = []

    def window(index: int) -> tuple[datetime, datetime]:
        if index % 5 == 1:  # starts during the period, mid-hour
            start = START + timedelta(hours=int(rng.integers(1, n_hours // 2)), minutes=40)
            return start, start + timedelta(hours=8_760)
        if index % 5 == 2:  # bought a year ago minus some hours: expires during the period
            end = START + timedelta(hours=int(rng.integers(n_hours // 2, n_hours)), minutes=20)
            return end - timedelta(hours=8_760), end
        return START, START + timedelta(hours=8_760)

    linux = keys.loc[keys["platform"] == "Linux/UNIX"]
    group = ["account_id", "region", "instance_family"]
    families = (
        linux.assign(units=linux["mean"] * linux["factor"])
        .groupby(group)["units"]
        .sum()
        .reset_index()
        .sort_values("units", ascending=False, ignore_index=True)
    )
    for index, family in enumerate(families.head(20).itertuples(index=False)):
        smallest = linux.loc[
            (linux["region"] == family.region)
            & (linux["instance_family"] == family.instance_family)
        ].sort_values("factor")
        factor = float(smallest["factor"].iloc[0])
        start, end = window(index)
        items.append(
            _ri(f"ri-flex-{index}", str(family.account_id), str(family.region),
                str(smallest["instance_type"].iloc[0]), "Linux/UNIX",
                max(1, int(0.6 * _number(family.units) / factor)), start, end)
        )  # fmt: skip
    exact = keys.loc[keys["platform"] != "Linux/UNIX"].nlargest(6, "mean")
    for index, row in enumerate(exact.itertuples(index=False)):
        start, end = window(index)
        items.append(
            _ri(f"ri-exact-{index}", str(row.account_id), str(row.region),
                str(row.instance_type), str(row.platform), max(1, int(0.7 * _number(row.mean))),
                start, end)
        )  # fmt: skip
    spend = keys.assign(usd=keys["mean"] * keys["factor"] * 0.1)
    ec2 = (
        spend.groupby(group)["usd"]
        .sum()
        .reset_index()
        .sort_values("usd", ascending=False, ignore_index=True)
    )
    for index, plan in enumerate(ec2.iloc[20:34].itertuples(index=False)):
        start, end = window(index)
        items.append(
            _sp(f"sp-ec2-{index}", str(plan.account_id), "ec2_instance_savings_plan",
                round(0.5 * _number(plan.usd), 3), start, end, str(plan.region),
                str(plan.instance_family))
        )  # fmt: skip
    total_usd = float(spend["usd"].sum())
    for index in range(10):
        start, end = window(index)
        items.append(
            _sp(f"sp-compute-{index}", ACCOUNTS[index % len(ACCOUNTS)], "compute_savings_plan",
                round(0.01 * total_usd, 3), start, end)
        )  # fmt: skip
    return items


def _number(value: object) -> float:
    """A pandas cell as a float."""
    return float(np.float64(value))  # type: ignore[arg-type]


def _ri(ident: str, account: str, region: str, instance_type: str, platform: str, count: int,
        start: datetime, end: datetime) -> Commitment:  # fmt: skip
    return Commitment(
        kind="reserved_instance", id=ident, start=start, end=end, term_years=1,
        payment_option="No Upfront", upfront_usd=0.0, region=region,
        instance_type=instance_type, platform=platform, tenancy="Shared", scope="Region",
        offering_class="standard", count=count, account_id=account,
    )  # fmt: skip


def _sp(ident: str, account: str, kind: str, commitment: float, start: datetime, end: datetime,
        region: str | None = None, family: str | None = None) -> Commitment:  # fmt: skip
    return Commitment(
        kind=kind, id=ident, start=start, end=end, term_years=1, payment_option="No Upfront",
        upfront_usd=0.0, region=region, instance_family=family,
        commitment_usd_per_hour=commitment, recurring_usd_per_hour=commitment,
        effective_usd_per_hour=commitment, account_id=account,
    )  # fmt: skip


def child(n_hours: int, n_keys: int, repeat: int, seed: int) -> dict[str, float]:
    """Build one case and time ``simulate`` on it (run in a fresh process)."""
    from billing.simulator import simulate

    rng = np.random.default_rng(seed)
    catalog = load_embedded_catalog()
    keys = make_keys(priced_triples(catalog), n_keys, rng)
    matrix = make_usage(n_hours, keys, rng)
    commitments = make_commitments(matrix, rng)
    reset_peak_rss()
    times = []
    cpu = []
    result = None
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = simulate(matrix, commitments, catalog)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        if len(times) == 1:
            peak = peak_rss_mib()
        del result
    tracemalloc.start()  # one more, untimed run: the peak of what simulate itself allocates
    simulate(matrix, commitments, catalog)
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "hours": n_hours,
        "keys": n_keys,
        "commitments": len(commitments),
        "seconds": min(times),
        "first_seconds": times[0],
        "cpu_seconds": min(cpu),
        "peak_mib": peak,
        "traced_mib": traced / 2**20,
        "usage_mib": matrix.quantity.nbytes / 2**20,
    }


def measure(n_hours: int, n_keys: int, repeat: int, seed: int) -> dict[str, float]:
    """Run :func:`child` in a subprocess and return its figures."""
    answer = subprocess.run(
        [sys.executable, __file__, "--child", str(n_hours), str(n_keys), str(repeat), str(seed)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(answer.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    """Measure each hours × keys size; print a Markdown table row per size, then the target."""
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        print(json.dumps(child(*(int(value) for value in sys.argv[2:]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, nargs="+", default=[8_760])
    parser.add_argument("--keys", type=int, nargs="+", default=[2_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (best is shown)")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    print("| hours | keys | cells [M] | commitments | simulate [s] (best / first) | CPU [s] | "
          "peak RSS [MiB] | allocated [MiB] | usage [MiB] | ns per cell "
          "| load before -> after |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    verdicts = Verdicts()
    for n_hours in arguments.hours:
        for n_keys in arguments.keys:
            with measured() as span:
                r = measure(n_hours, n_keys, arguments.repeat, arguments.seed)
            cells = n_hours * n_keys
            if n_hours == 8_760 and n_keys == 2_000:
                verdicts.add(
                    f"8,760 h × 2,000 keys, 50 commitments in < {TARGET_SECONDS:g} s and "
                    f"< {TARGET_MIB / 1024:g} GiB",
                    f"{r['seconds']:.2f} s, {r['peak_mib']:,.0f} MiB",
                    r["seconds"] < TARGET_SECONDS and r["peak_mib"] < TARGET_MIB,
                    span.load,
                )
            print(
                f"| {n_hours:,} | {n_keys:,} | {cells / 1e6:.1f} | {int(r['commitments'])} | "
                f"{r['seconds']:.2f} / {r['first_seconds']:.2f} | {r['cpu_seconds']:.2f} | "
                f"{r['peak_mib']:,.0f} | {r['traced_mib']:,.0f} | {r['usage_mib']:,.0f} | "
                f"{r['seconds'] / cells * 1e9:.1f} | {span.load} |",
                flush=True,
            )
    if not verdicts.items:
        print("\n(the target is for 8,760 h × 2,000 keys)")
    return verdicts.report()


if __name__ == "__main__":
    raise SystemExit(main())
