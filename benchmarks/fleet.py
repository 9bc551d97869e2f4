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
from typing import Final

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


SERVICE_KEYS_PER_REGION: Final = (
    *(("fargate.vcpu", p, a) for p, a in (("fargate-linux", "x86_64"), ("fargate-linux", "arm64"),
                                          ("fargate-windows", "x86_64"))),
    *(("fargate.memory", p, a) for p, a in (("fargate-linux", "x86_64"), ("fargate-linux", "arm64"),
                                            ("fargate-windows", "x86_64"))),
    *((t, "lambda", a) for t in ("lambda.duration", "lambda.provisioned-concurrency",
                                 "lambda.provisioned-duration") for a in ("x86_64", "arm64")),
)  # fmt: skip
"""Fargate and Lambda keys of one region (the account and region added per region)."""
ML_FAMILIES: Final = ("m5", "c5", "r5", "g4dn", "p3", "m6g", "c6g", "g5")
ML_COMPONENTS: Final = ("training", "hosting", "notebook", "processing", "batch-transform")
SERVICE_SCALE: Final = {"fargate.vcpu": 12.0, "fargate.memory": 40.0}
"""Usage per key of Fargate and Lambda keys relative to instances (vCPUs, GB, GB-hours)."""
SERVICE_RATE_RATIO: Final = {"compute": 0.82, "sagemaker": 0.64}
"""1-year No Upfront Savings Plans rate ÷ on-demand rate of Fargate and Lambda (Compute SP) and
SageMaker ML instances (SageMaker SP); other terms and payments scale as EC2's do."""


def service_keys(n_keys: int, *, seed: int = 0) -> pd.DataFrame:
    """``n_keys`` distinct Fargate, Lambda and SageMaker keys over :data:`REGIONS`."""
    from pricing.compute_keys import sagemaker_architecture

    rng = np.random.default_rng(seed + 3)
    rows = [(r, *key) for r in REGIONS for key in SERVICE_KEYS_PER_REGION]
    ml = [
        (r, f"ml.{family}.{size}", f"sagemaker-{component}", "")
        for r in REGIONS
        for family in ML_FAMILIES
        for size in SIZES
        for component in ML_COMPONENTS
    ]
    picked = rng.choice(len(ml), size=max(0, n_keys - len(rows)), replace=False)
    rows += [ml[i] for i in np.sort(picked)]
    keys = pd.DataFrame(rows[:n_keys], columns=["region", "instance_type", "platform", "tenancy"])
    ml_rows = keys["platform"].str.startswith("sagemaker-")
    keys.loc[ml_rows, "tenancy"] = keys.loc[ml_rows, "instance_type"].map(sagemaker_architecture)
    return keys.assign(account_id="111111111111")[list(KEY_COLUMNS)].astype("string")


def service_catalog(keys: pd.DataFrame, *, seed: int = 0) -> PriceCatalog:
    """On-demand and Savings Plans rates of Fargate, Lambda and SageMaker ``keys``."""
    rng = np.random.default_rng(seed + 4)
    priced = keys[["region", "instance_type", "platform", "tenancy"]].drop_duplicates()
    ml = priced["platform"].str.startswith("sagemaker-").to_numpy()
    base = np.where(ml, 0.05 * normalization_factors(priced["instance_type"].where(ml, "m5.large")),
                    rng.uniform(0.004, 0.06, len(priced)))  # fmt: skip
    on_demand = priced.assign(on_demand_usd_per_hour=base * rng.uniform(0.9, 1.1, len(priced)))
    parts = []
    for (offering_class, term, payment), ratio in RI_RATIO.items():
        if offering_class != "convertible":
            continue
        scale = ratio / RI_RATIO[("convertible", 1, "No Upfront")]
        plan_type = np.where(ml, "sagemaker", "compute")
        rate = np.where(ml, SERVICE_RATE_RATIO["sagemaker"], SERVICE_RATE_RATIO["compute"])
        parts.append(
            priced.assign(
                plan_type=plan_type,
                term_years=term,
                payment_option=payment,
                sp_hourly_usd=on_demand["on_demand_usd_per_hour"].to_numpy() * rate * scale,
            )
        )
    metadata = CatalogMetadata(source="synthetic benchmark services", as_of=date(2026, 11, 1))
    return PriceCatalog.from_frames(
        metadata, on_demand=on_demand, savings_plans=pd.concat(parts, ignore_index=True)
    )


def fleet(
    n_keys: int,
    hours: int,
    *,
    n_families: int | None = None,
    seed: int = 0,
    services_share: float = 0.0,
) -> tuple[UsageMatrix, PriceCatalog]:
    """Usage and catalog of a synthetic fleet (100 families for 1,000 keys by default).

    ``services_share`` of the keys are Fargate, Lambda and SageMaker keys instead of EC2 ones
    (the same number of keys in all; the EC2 keys are the same fleet's first ones).
    """
    n_services = round(services_share * n_keys)
    families = n_families or max(10, n_keys // 10)
    keys = fleet_keys(n_keys, families, seed=seed).iloc[: n_keys - n_services]
    ec2_keys = keys.sort_values(list(KEY_COLUMNS)).reset_index(drop=True)
    usage = fleet_usage(ec2_keys, hours, seed=seed)
    catalog = fleet_catalog(ec2_keys, seed=seed)
    if not n_services:
        return usage, catalog
    other = service_keys(n_services, seed=seed).sort_values(list(KEY_COLUMNS))
    other = other.reset_index(drop=True)
    other_usage = fleet_usage(other, hours, seed=seed + 10)
    scale = other["instance_type"].map(SERVICE_SCALE).fillna(1.0).to_numpy(dtype=np.float64)
    scale = np.where(other["instance_type"].str.startswith("lambda.").to_numpy(), 50.0, scale)
    quantity = np.hstack([usage.quantity, other_usage.quantity * scale])
    both = pd.concat([usage.keys, other], ignore_index=True).astype("string")
    order = np.lexsort([both[c].to_numpy(dtype=str) for c in reversed(KEY_COLUMNS)])
    merged = UsageMatrix(usage.hours, both.iloc[order].reset_index(drop=True), quantity[:, order])
    return merged, PriceCatalog.merge([catalog, service_catalog(other, seed=seed)])
