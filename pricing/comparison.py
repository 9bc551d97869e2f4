"""Offerings side by side: effective rate, discount against on-demand and break-even per offering.

This is what ``commitopt pricing show`` prints: on-demand, RIs and reserved nodes, and every
Savings Plan type (EC2 Instance, Compute, Database, SageMaker). Savings Plans rates are per key
unit-hour (instance-hour; Fargate vCPU- or GB-hour, Lambda GB-hour); their
upfront and recurring parts are those of a commitment equal to one instance's rate for the whole
term (AWS Pricing Calculator: Partial Upfront pays 50 % of the total commitment upfront).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.units import HOURS_PER_MONTH
from pricing.catalog import KEY_COLUMNS, PriceCatalog
from pricing.errors import UnknownInstanceTypeError
from pricing.instance_types import instance_families, normalization_factor
from pricing.offerings import SP_UPFRONT_SHARE, TERM_HOURS, CommitmentKind

_PLAN_LABELS: Final = {
    CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN: "EC2 Instance SP",
    CommitmentKind.COMPUTE_SAVINGS_PLAN: "Compute SP",
    CommitmentKind.DATABASE_SAVINGS_PLAN: "Database SP",
    CommitmentKind.SAGEMAKER_SAVINGS_PLAN: "SageMaker SP",
}
"""Every Savings Plan type the catalog holds, as tables name it."""
INSTRUMENTS: Final = (
    "on-demand",
    "ri-standard",
    "ri-convertible",
    *(kind.policy_name for kind in _PLAN_LABELS),
)
_INSTRUMENT_LABEL: Final = {
    "on-demand": "On-Demand",
    "ri-standard": "Standard RI",
    "ri-convertible": "Convertible RI",
    **{kind.policy_name: label for kind, label in _PLAN_LABELS.items()},
}
_INSTRUMENT_OF_PLAN_TYPE: Final = {k.savings_plan_type: k.policy_name for k in _PLAN_LABELS}

COMPARISON_COLUMNS: Final = (
    *KEY_COLUMNS,
    "instrument",
    "term_years",
    "payment_option",
    "upfront_usd",
    "recurring_usd_per_hour",
    "effective_usd_per_hour",
    "on_demand_usd_per_hour",
    "discount_vs_on_demand_pct",
    "break_even_months",
    "source",
    "is_derived",
)
_COMPUTED_COLUMNS: Final = (
    "on_demand_usd_per_hour", "discount_vs_on_demand_pct", "break_even_months", "is_derived"
)  # fmt: skip
"""Columns computed here (the rest come from the catalog, ``derived`` as ``is_derived``)."""


def _size_rank(instance_types: pd.Series) -> npt.NDArray[np.float64]:
    """Normalization factor of each type, for ordering sizes (``inf`` where unknown)."""
    codes, uniques = pd.factorize(instance_types)
    ranks = []
    for name in uniques:
        try:
            ranks.append(normalization_factor(str(name)))
        except UnknownInstanceTypeError:
            ranks.append(np.inf)
    return np.asarray(ranks, dtype=np.float64)[codes]


def break_even_months(
    upfront_usd: npt.ArrayLike,
    recurring_usd_per_hour: npt.ArrayLike,
    on_demand_usd_per_hour: npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """Months of full use after which a commitment has cost less than on-demand [months].

    ``upfront ÷ ((on-demand − recurring) × 730 h)``: 0 for No Upfront when cheaper than
    on-demand, ``inf`` when the recurring rate alone is not cheaper.
    """
    upfront = np.asarray(upfront_usd, dtype=np.float64)
    saving_per_month = (
        np.asarray(on_demand_usd_per_hour, dtype=np.float64)
        - np.asarray(recurring_usd_per_hour, dtype=np.float64)
    ) * HOURS_PER_MONTH
    with np.errstate(divide="ignore", invalid="ignore"):
        months = np.where(saving_per_month > 0, upfront / saving_per_month, np.inf)
    return np.asarray(months, dtype=np.float64)


def compare_offerings(
    catalog: PriceCatalog,
    *,
    instruments: Sequence[str] = INSTRUMENTS,
    terms_years: Sequence[int] = (1, 3),
    payment_options: Sequence[str] = ("No Upfront", "Partial Upfront", "All Upfront"),
) -> pd.DataFrame:
    """One row per key and offering, with the on-demand row of each key first.

    Returns
    -------
    pandas.DataFrame
        :data:`COMPARISON_COLUMNS`; ``discount_vs_on_demand_pct`` = 100 × (1 − effective ÷
        on-demand) [%], NaN where the key has no on-demand rate; ``is_derived`` when the rate
        was computed from other rates.
    """
    on_demand = catalog.on_demand
    rows: list[pd.DataFrame] = []
    if "on-demand" in instruments:
        rows.append(
            on_demand.assign(
                instrument=_INSTRUMENT_LABEL["on-demand"],
                term_years=pd.Series(pd.NA, index=on_demand.index, dtype="Int64"),
                payment_option="",
                upfront_usd=0.0,
                recurring_usd_per_hour=on_demand["on_demand_usd_per_hour"],
                effective_usd_per_hour=on_demand["on_demand_usd_per_hour"],
                derived=False,
            ).drop(columns="on_demand_usd_per_hour")
        )
    reserved = catalog.reserved
    reserved = reserved.loc[
        reserved["term_years"].isin(list(terms_years))
        & reserved["payment_option"].isin(list(payment_options))
        & ("ri-" + reserved["offering_class"]).isin(list(instruments))
    ]
    ri_label = {"standard": "Standard RI", "convertible": "Convertible RI"}
    rows.append(
        reserved.assign(instrument=reserved["offering_class"].map(ri_label)).drop(
            columns="offering_class"
        )
    )
    plans = catalog.savings_plans
    plan_instrument = plans["plan_type"].map(_INSTRUMENT_OF_PLAN_TYPE)
    plans = plans.loc[
        plans["term_years"].isin(list(terms_years))
        & plans["payment_option"].isin(list(payment_options))
        & plan_instrument.isin(list(instruments))
    ]
    share = plans["payment_option"].map(SP_UPFRONT_SHARE).astype("float64")
    hours = plans["term_years"].map(TERM_HOURS).astype("float64")
    rows.append(
        plans.assign(
            instrument=plans["plan_type"].map(_INSTRUMENT_OF_PLAN_TYPE).map(_INSTRUMENT_LABEL),
            upfront_usd=share * plans["sp_hourly_usd"] * hours,
            recurring_usd_per_hour=(1.0 - share) * plans["sp_hourly_usd"],
            effective_usd_per_hour=plans["sp_hourly_usd"],
        ).drop(columns=["plan_type", "sp_hourly_usd"])
    )
    filled = [frame for frame in rows if len(frame)]
    base_columns = [c for c in COMPARISON_COLUMNS if c not in _COMPUTED_COLUMNS] + ["derived"]
    table = pd.concat(filled, ignore_index=True) if filled else pd.DataFrame(columns=base_columns)
    table = table.rename(columns={"derived": "is_derived"})
    table = table.merge(
        on_demand[[*KEY_COLUMNS, "on_demand_usd_per_hour"]], how="left", on=list(KEY_COLUMNS)
    )
    rate = table["on_demand_usd_per_hour"].to_numpy(dtype=np.float64, na_value=np.nan)
    effective = table["effective_usd_per_hour"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["discount_vs_on_demand_pct"] = np.where(
            rate > 0, 100.0 * (1.0 - effective / rate), np.nan
        )
    table["break_even_months"] = np.where(
        np.isnan(rate) | (table["instrument"] == _INSTRUMENT_LABEL["on-demand"]).to_numpy(),
        np.nan,
        break_even_months(table["upfront_usd"], table["recurring_usd_per_hour"], rate),
    )
    order = {label: i for i, label in enumerate(_INSTRUMENT_LABEL.values())}
    table["_order"] = table["instrument"].map(order)
    payment_order = {"": 0, "No Upfront": 1, "Partial Upfront": 2, "All Upfront": 3}
    table["_payment"] = table["payment_option"].map(payment_order)
    table["_family"] = instance_families(table["instance_type"])
    table["_size"] = _size_rank(table["instance_type"])
    table = table.sort_values(
        ["region", "_family", "_size", *KEY_COLUMNS[1:], "_order", "term_years", "_payment"],
        na_position="first",
    )
    return table.loc[:, list(COMPARISON_COLUMNS)].reset_index(drop=True)
