"""Per-key statistics of an hourly usage table: the figures `commitopt usage summary` prints."""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from pricing.catalog import PriceCatalog
from pricing.compute_keys import quantity_units
from usage.table import to_matrix

SUMMARY_COLUMNS: Final = (  # named as docs/glossary.md defines them
    "account_id",
    "region",
    "instance_type",
    "platform",
    "tenancy",
    "unit",
    "period_hours",
    "min_instances",
    "mean_instances",
    "p10_instances",
    "p50_instances",
    "p90_instances",
    "max_instances",
    "instance_hours",
    "on_demand_usd_per_hour",
    "on_demand_cost_usd",
)


def summarize_usage(frame: pd.DataFrame, catalog: PriceCatalog | None = None) -> pd.DataFrame:
    """One row per key: hourly min, mean, P10, P50, P90, max, instance-hours and on-demand cost.

    Statistics run over every hour of the covered period, hours without usage counting as zero
    (the dense hours × keys matrix), all keys at once.

    Parameters
    ----------
    frame
        A canonical usage table.
    catalog
        Prices for the on-demand-equivalent cost; keys without a price get NaN.

    Returns
    -------
    pandas.DataFrame
        :data:`SUMMARY_COLUMNS`, the costliest keys first (then the most instance-hours);
        ``unit`` what the key's quantity counts (``instance-hours``; ``vCPU-hours`` or
        ``GB-hours`` for Fargate and Lambda keys, :func:`pricing.compute_keys.quantity_units`);
        ``*_instances`` the instances (or vCPUs, GB) running in an hour [unit per hour],
        ``instance_hours`` [unit],
        ``on_demand_cost_usd`` [USD].
    """
    matrix = to_matrix(frame)
    quantity = matrix.quantity
    summary = matrix.keys.copy()
    summary["unit"] = quantity_units(summary["instance_type"])
    summary["period_hours"] = len(matrix.hours)
    if quantity.size:
        p10, p50, p90 = np.percentile(quantity, [10.0, 50.0, 90.0], axis=0)
        summary["min_instances"] = quantity.min(axis=0)
        summary["mean_instances"] = quantity.mean(axis=0)
        summary["p10_instances"], summary["p50_instances"], summary["p90_instances"] = p10, p50, p90
        summary["max_instances"] = quantity.max(axis=0)
        summary["instance_hours"] = quantity.sum(axis=0)
    else:
        for column in SUMMARY_COLUMNS[7:14]:
            summary[column] = pd.Series(dtype="float64")
    rates = (
        catalog.on_demand_rates(summary) if catalog is not None else np.full(len(summary), np.nan)
    )
    summary["on_demand_usd_per_hour"] = rates
    summary["on_demand_cost_usd"] = summary["instance_hours"] * rates
    ordered = summary.sort_values(
        ["on_demand_cost_usd", "instance_hours"], ascending=False, na_position="last"
    )
    return ordered.loc[:, list(SUMMARY_COLUMNS)].reset_index(drop=True)
