"""Derive the hourly shape ``usage/data/azure2017_hourly_shape.csv`` from the Azure 2017 trace.

Run once, by hand; the project never reads the trace at run time::

    python scripts/build_azure_shape.py /path/to/traces [usage/data/azure2017_hourly_shape.csv]

Input (the processed Azure Public Dataset V1 trace, CC BY 4.0, Cortez et al., SOSP 2017):

- ``azure2017v1_traces_v1.dev.txt``: one line per 300-s bin, ``<seconds> <arrivals>``, the
  arrivals being flavour letters grouped by deployment and separated by ``|``;
- ``azure2017v1_traces_v1.dev.c2100000.txt``: the same lines with each VM's lifetime class
  (``U<k>``: ended, lifetime in interval class ``k``; ``C<k>``: still running when the
  observation ends at 2,100,000 s);
- ``azure2017v1_maps_flav_map.txt``: ``<vCPU>,<GB RAM> <letter>``;
- ``azure2017v1_maps_v1.interval_map.txt``: ``<seconds> <class>``, each class a range of lifetimes.

Method: each VM gets the midpoint of its lifetime class (a VM still running at the end gets
:data:`CENSORED_LIFETIME_S`, two weeks). The trace covers about 3.5 days and starts empty, so the
whole days of arrivals are repeated :data:`WARM_UP_DAYS` times before it (a periodic steady
state), and running VMs are counted per 300-s bin (arrivals +1, departures −1, cumulative sum)
by size class (``small`` ≤ 2 vCPU, ``medium`` 4 vCPU, ``large`` ≥ 8 vCPU), then averaged per
hour. The output has one row per whole hour of the trace: ``trace_hour`` (hours since time 0 of
the trace), ``hour_of_day`` (``trace_hour`` mod 24), and the mean running VMs of each class.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

BIN_S: Final = 300
"""Width of one trace bin [s]."""

DAY_BINS: Final = 86_400 // BIN_S
"""Bins per day [bins]."""

CENSORED_LIFETIME_S: Final = 14 * 86_400
"""Lifetime given to a VM still running when the observation ends [s]."""

WARM_UP_DAYS: Final = 15
"""Copies of the trace's whole days laid before it so long-lived VMs are already running [days]."""

SIZE_CLASSES: Final = (("small", 0, 2), ("medium", 3, 4), ("large", 5, 1_000))
"""Size class name, lowest and highest vCPU count."""

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "usage" / "data" / "azure2017_hourly_shape.csv"


def _class_midpoints_s(interval_map: Path) -> dict[int, float]:
    """Lifetime class -> the midpoint of its range of lifetimes [s]."""
    table = pd.read_csv(interval_map, sep=" ", header=None, names=["seconds", "klass"])
    bounds = table.groupby("klass")["seconds"].agg(["min", "max"])
    return {int(k): float((row["min"] + row["max"] + BIN_S) / 2) for k, row in bounds.iterrows()}


def _vms(arrivals: Path, lifetimes: Path, flavours: Path, interval_map: Path) -> pd.DataFrame:
    """One row per VM: arrival bin, vCPU, lifetime [s]."""
    vcpu_of = {
        letter: int(spec.split(",")[0])
        for spec, letter in (line.split() for line in flavours.read_text().splitlines() if line)
    }
    midpoint_s = _class_midpoints_s(interval_map)
    rows: list[tuple[int, int, float]] = []
    first_s: int | None = None
    for flav_line, life_line in zip(
        arrivals.read_text().splitlines(), lifetimes.read_text().splitlines(), strict=True
    ):
        seconds_text, items = flav_line.split(" ", 1)
        life_seconds_text, life_items = life_line.split(" ", 1)
        if seconds_text != life_seconds_text:
            raise ValueError(f"bins differ: {seconds_text} vs {life_seconds_text}")
        seconds = int(seconds_text)
        first_s = seconds if first_s is None else first_s
        bin_index = (seconds - first_s) // BIN_S
        for letter, life in zip(items.split(","), life_items.split(","), strict=True):
            if letter == "|":
                continue
            lifetime_s = (
                float(CENSORED_LIFETIME_S) if life.startswith("C") else midpoint_s[int(life[1:])]
            )
            rows.append((bin_index, vcpu_of[letter], lifetime_s))
    frame = pd.DataFrame(rows, columns=["arrival_bin", "vcpu", "lifetime_s"])
    frame.attrs["first_s"] = first_s
    return frame


def hourly_shape(vms: pd.DataFrame, first_s: int, bins: int) -> pd.DataFrame:
    """Mean running VMs per hour and size class, in a periodic steady state."""
    offset_bins = (-first_s // BIN_S) % DAY_BINS  # bins from the start to the first midnight
    whole_days = (bins - offset_bins) // DAY_BINS
    day_vms = vms[
        (vms["arrival_bin"] >= offset_bins)
        & (vms["arrival_bin"] < offset_bins + whole_days * DAY_BINS)
    ]
    copies = [vms.assign(copy=0)]
    for k in range(1, WARM_UP_DAYS // whole_days + 2):
        copies.append(
            day_vms.assign(arrival_bin=day_vms["arrival_bin"] - k * whole_days * DAY_BINS)
        )
    every = pd.concat(copies, ignore_index=True)
    lead = int(-every["arrival_bin"].min())
    start = every["arrival_bin"].to_numpy() + lead
    end = start + np.ceil(every["lifetime_s"].to_numpy() / BIN_S).astype(int)
    total_bins = lead + bins
    out: dict[str, np.ndarray] = {}
    for name, low, high in SIZE_CLASSES:
        chosen = ((every["vcpu"] >= low) & (every["vcpu"] <= high)).to_numpy()
        delta = np.zeros(total_bins + 1)
        np.add.at(delta, start[chosen], 1.0)
        np.add.at(delta, np.minimum(end[chosen], total_bins), -1.0)
        running = np.cumsum(delta)[lead : lead + bins]
        hours = bins // 12
        out[f"{name}_vms"] = running[: hours * 12].reshape(hours, 12).mean(axis=1)
    first_hour = first_s // 3600
    hours = len(next(iter(out.values())))
    trace_hour = first_hour + np.arange(hours)
    frame = pd.DataFrame({"trace_hour": trace_hour, "hour_of_day": trace_hour % 24, **out})
    return frame.round(2)


def main(argv: list[str]) -> None:
    """Read the trace directory ``argv[0]`` and write the CSV (``argv[1]`` or the default)."""
    traces = Path(argv[0])
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    arrivals = traces / "azure2017v1_traces_v1.dev.txt"
    vms = _vms(
        arrivals,
        traces / "azure2017v1_traces_v1.dev.c2100000.txt",
        traces / "azure2017v1_maps_flav_map.txt",
        traces / "azure2017v1_maps_v1.interval_map.txt",
    )
    bins = len(arrivals.read_text().splitlines())
    first_s = int(vms.attrs["first_s"])
    frame = hourly_shape(vms, first_s, bins)
    if first_s % 3600:
        raise ValueError("the trace must start on a whole hour")
    output.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(output, index=False)
    print(f"{len(vms)} VMs, {len(frame)} hours -> {output}")


if __name__ == "__main__":
    main(sys.argv[1:])
