"""A synthetic fleet for the optimizer benchmarks: many families, regions and a matching catalog.

The embedded catalog has 26 families; the issue's benchmark asks for 100 families over 4 regions,
so prices are synthetic too, with AWS's structure: on-demand rates proportional to the
normalization factor inside a family; RI effective rates at typical discounts per class, term and
payment (Partial Upfront split 50/50); EC2 Instance SP rates equal to standard RI effective rates
and Compute SP rates equal to convertible ones (as the Pricing Calculator shows); Windows keys pay
a licence per vCPU-hour that no commitment discounts.

Usage per key mixes the shapes of :mod:`usage.synthetic` (steady base with a daily cycle, growth,
business hours, spiky batch), vectorised over hours × keys.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.instance_types import normalization_factors
from usage.table import KEY_COLUMNS, UsageMatrix

REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1")
SIZES = ("large", "xlarge", "2xlarge", "4xlarge")
SERIES = ("m", "c", "r", "t", "x", "z", "i", "d", "g", "p")
RI_RATIO = {  # effective rate ÷ on-demand rate, by (class, term, payment)
    ("standard", 1, "No Upfront"): 0.64,
    ("standard", 1, "Partial Upfront"): 0.61,
    ("standard", 1, "All Upfront"): 0.60,
    ("standard", 3, "No Upfront"): 0.46,
    ("standard", 3, "Partial Upfront"): 0.41,
    ("standard", 3, "All Upfront"): 0.39,
    ("convertible", 1, "No Upfront"): 0.73,
    ("convertible", 1, "Partial Upfront"): 0.70,
    ("convertible", 1, "All Upfront"): 0.69,
    ("convertible", 3, "No Upfront"): 0.55,
    ("convertible", 3, "Partial Upfront"): 0.51,
    ("convertible", 3, "All Upfront"): 0.50,
}
UPFRONT_SHARE = {"No Upfront": 0.0, "Partial Upfront": 0.5, "All Upfront": 1.0}
TERM_HOURS = {1: 8760, 3: 26280}
WINDOWS_LICENCE_USD_PER_UNIT = 0.0115  # per normalized unit-hour (0.046 per large)


def fleet_keys(n_keys: int, n_families: int, *, seed: int = 0) -> pd.DataFrame:
    """``n_keys`` distinct keys over ``n_families`` families and :data:`REGIONS`.

    About 80 % of keys are Linux/UNIX shared (size-flexible), the rest Windows.
    """
    rng = np.random.default_rng(seed)
    families = [f"{SERIES[i % len(SERIES)]}{10 + i // len(SERIES)}" for i in range(n_families)]
    grid = pd.MultiIndex.from_product(
        [REGIONS, families, SIZES, ("Linux/UNIX", "Windows")],
        names=["region", "family", "size", "platform"],
    ).to_frame(index=False)
    weight = np.where(grid["platform"] == "Linux/UNIX", 4.0, 1.0)
    if n_keys > len(grid):
        raise ValueError(f"at most {len(grid)} keys for {n_families} families")
    picked = rng.choice(len(grid), size=n_keys, replace=False, p=weight / weight.sum())
    keys = grid.iloc[np.sort(picked)].reset_index(drop=True)
    return pd.DataFrame(
        {
            "account_id": "111111111111",
            "region": keys["region"],
            "instance_type": keys["family"] + "." + keys["size"],
            "platform": keys["platform"],
            "tenancy": "Shared",
        }
    ).astype("string")


def fleet_catalog(keys: pd.DataFrame, *, seed: int = 0) -> PriceCatalog:
    """A catalog pricing every key of ``keys`` (and each family's ``large`` size)."""
    rng = np.random.default_rng(seed + 1)
    priced = keys[["region", "instance_type", "platform", "tenancy"]].copy()
    families = priced["instance_type"].str.split(".").str[0]
    smallest = priced.assign(instance_type=families + ".large")
    priced = pd.concat([priced, smallest]).drop_duplicates().reset_index(drop=True)
    factor = normalization_factors(priced["instance_type"])
    family_of = priced["instance_type"].str.split(".").str[0]
    family_codes, _ = pd.factorize(family_of + "|" + priced["region"])
    per_unit = rng.uniform(0.012, 0.035, size=family_codes.max() + 1)[family_codes]
    linux_od = per_unit * factor
    licence = np.where(priced["platform"] == "Windows", WINDOWS_LICENCE_USD_PER_UNIT * factor, 0)
    on_demand = priced.assign(on_demand_usd_per_hour=linux_od + licence)
    jitter = rng.uniform(0.97, 1.03, size=family_codes.max() + 1)[family_codes]
    reserved_parts = []
    sp_parts = []
    for (offering_class, term, payment), ratio in RI_RATIO.items():
        effective = linux_od * ratio * jitter + licence
        upfront = UPFRONT_SHARE[payment] * (effective - licence) * TERM_HOURS[term]
        reserved_parts.append(
            priced.assign(
                offering_class=offering_class,
                term_years=term,
                payment_option=payment,
                upfront_usd=upfront,
                recurring_usd_per_hour=(1 - UPFRONT_SHARE[payment]) * (effective - licence)
                + licence,
                effective_usd_per_hour=np.nan,
            )
        )
        plan_type = "ec2_instance" if offering_class == "standard" else "compute"
        sp_parts.append(
            priced.assign(
                plan_type=plan_type,
                term_years=term,
                payment_option=payment,
                sp_hourly_usd=effective,
            )
        )
    metadata = CatalogMetadata(source="synthetic benchmark fleet", as_of=date(2026, 11, 1))
    return PriceCatalog.from_frames(
        metadata,
        on_demand=on_demand,
        reserved=pd.concat(reserved_parts, ignore_index=True),
        savings_plans=pd.concat(sp_parts, ignore_index=True),
    )


def fleet_usage(
    keys: pd.DataFrame, hours: int, *, seed: int = 0, start: str = "2025-01-01"
) -> UsageMatrix:
    """Hourly usage of every key [instances], hours × keys, mixing four shapes."""
    rng = np.random.default_rng(seed + 2)
    n = len(keys)
    t = np.arange(hours, dtype=np.float64)[:, None]
    day = (t % 24) / 24.0
    weekday = ((t // 24) % 7) < 5
    base = rng.lognormal(mean=1.0, sigma=0.9, size=n)
    shape = rng.choice(4, size=n, p=[0.45, 0.2, 0.2, 0.15])
    cycle = 1.0 + rng.uniform(0.05, 0.4, n) * np.sin(2 * np.pi * (day - rng.uniform(0, 1, n)))
    demand = base * cycle
    growth = 1.0 + rng.uniform(-0.5, 1.0, n) * t / max(hours, 1)
    demand = np.where(shape == 1, demand * growth, demand)
    office = np.where(weekday & (day >= 8 / 24) & (day < 18 / 24), 1.0, 0.15)
    demand = np.where(shape == 2, demand * office, demand)
    batch = (rng.random((hours, n)) < 0.08) * rng.uniform(2, 6, n)
    demand = np.where(shape == 3, 0.2 * demand + batch * base, demand)
    demand = demand * (1.0 + 0.08 * rng.standard_normal((hours, n)))
    quantity = np.maximum(np.round(demand, 2), 0.0)
    index = pd.date_range(start, periods=hours, freq="h", tz="UTC").as_unit("ns")
    return UsageMatrix(index, keys[list(KEY_COLUMNS)].reset_index(drop=True), quantity)


def fleet(
    n_keys: int, hours: int, *, n_families: int | None = None, seed: int = 0
) -> tuple[UsageMatrix, PriceCatalog]:
    """Usage and catalog of a synthetic fleet (100 families for 1,000 keys by default)."""
    families = n_families or max(10, n_keys // 10)
    keys = fleet_keys(n_keys, families, seed=seed)
    sorted_keys = keys.sort_values(list(KEY_COLUMNS)).reset_index(drop=True)
    return fleet_usage(sorted_keys, hours, seed=seed), fleet_catalog(sorted_keys, seed=seed)
