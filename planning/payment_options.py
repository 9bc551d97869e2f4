"""What the same purchases would cost under each payment option, with their present value.

A recommendation buys in the policy's payment option (No Upfront by default). AWS sells every RI
and Savings Plan in three: No, Partial and All Upfront; paying earlier buys a deeper discount,
and whether that is worth the cash depends on the time value of money. :func:`payment_options`
prices every purchase line in each option and sums them:

RIs
    The catalog's offering for the line's region, instance type, platform, tenancy, class and
    term in each payment option, times the count (the family's smallest size with a price,
    scaled by normalization factors, when the catalog has no price for that size).
Savings Plans
    The commitment that covers the same usage: the line's commitment × the mean, over the
    catalog's rates of the plan's type, term and scope (region and family for an EC2 Instance
    Savings Plan, every key for a Compute Savings Plan), of the option's rate ÷ the line's rate.
    Of that commitment, the upfront share (:data:`pricing.offerings.SP_UPFRONT_SHARE`) is paid at
    the start and the rest every hour.

Money over the term: ``term_cost_usd = upfront + recurring × term hours``; its present value at
the policy's discount rate r (annual, compounded monthly, as in
:func:`optimizer.build_offers.annuity_hours`) is ``upfront + recurring × S``, with
``S = Σ_{k < term hours} v ** (k // 730)``, ``v = 1 / (1 + r / 12)``: the upfront is paid at the
start, the recurring fees in the month they accrue. Savings are against No Upfront for the same
purchases: positive when the option costs less.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from core.errors import CommitoptInputError
from optimizer.build_offers import annuity_hours
from pricing.catalog import PriceCatalog
from pricing.instance_types import instance_family, normalization_factor
from pricing.inventory import Commitment
from pricing.offerings import PAYMENT_OPTIONS, SP_UPFRONT_SHARE, TERM_HOURS, CommitmentKind

BASELINE_OPTION: Final = "No Upfront"
"""The payment option every other is compared with."""

OPTION_FIELDS: Final = (
    "id",
    "kind",
    "description",
    "payment_option",
    "is_bought",
    "upfront_usd",
    "recurring_usd_per_hour",
    "commitment_usd_per_hour",
    "term_cost_usd",
    "savings_vs_no_upfront_usd",
    "present_value_usd",
    "present_value_savings_vs_no_upfront_usd",
)
"""Fields of each row of ``payment_options(...)["payment_option_lines"]``: the purchase's ``id``,
``kind`` and a short ``description``; the ``payment_option`` priced and whether it is the one
bought (``is_bought``); its
``upfront_usd`` [USD], ``recurring_usd_per_hour`` [USD/h], Savings Plans'
``commitment_usd_per_hour`` (RIs: ``None``) [USD/h], ``term_cost_usd`` [USD], the
``savings_vs_no_upfront_usd`` over the term [USD], the ``present_value_usd`` of its payments at
the discount rate [USD] and the ``present_value_savings_vs_no_upfront_usd`` [USD]."""

_MONEY_DECIMALS: Final = 2
_RATE_DECIMALS: Final = 6


def _description(purchase: Commitment) -> str:
    if purchase.is_savings_plan:
        scope = " ".join(x for x in (purchase.region, purchase.instance_family) if x)
        name = (
            "EC2 Instance SP"
            if purchase.kind == CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN
            else "Compute SP"
        )
        return f"{name} {scope} {purchase.commitment_usd_per_hour or 0.0:g} USD/h".replace(
            "  ", " "
        )
    return f"{purchase.count} × {purchase.instance_type} {purchase.region}"


def _ri_prices(purchase: Commitment, catalog: PriceCatalog) -> dict[str, tuple[float, float]]:
    """(upfront, recurring per hour) of the whole line in every payment option with a price."""
    reserved = catalog.reserved
    same = reserved.loc[
        (reserved["region"] == purchase.region)
        & (reserved["platform"] == purchase.platform)
        & (reserved["tenancy"] == (purchase.tenancy or "Shared"))
        & (reserved["offering_class"] == (purchase.offering_class or "standard"))
        & (reserved["term_years"] == purchase.term_years)
    ]
    count = float(purchase.count or 0)
    exact = same.loc[same["instance_type"] == purchase.instance_type]
    scale = count
    if exact.empty:
        family = instance_family(str(purchase.instance_type))
        kin = same.loc[same["instance_type"].astype(str).str.split(".").str[0] == family].copy()
        if kin.empty:
            return {}
        kin["_factor"] = [_factor(t) for t in kin["instance_type"].astype(str)]
        kin = kin.loc[np.isfinite(kin["_factor"].to_numpy(dtype=np.float64))]
        wanted = _factor(str(purchase.instance_type))
        if kin.empty or not np.isfinite(wanted):
            return {}
        smallest = kin.loc[kin["_factor"] == kin["_factor"].min()]
        exact = smallest.drop_duplicates("payment_option")
        scale = count * wanted / float(smallest["_factor"].iloc[0])
    rows = exact.drop_duplicates("payment_option")
    return {
        str(option): (float(upfront) * scale, float(recurring) * scale)
        for option, upfront, recurring in zip(
            rows["payment_option"],
            rows["upfront_usd"],
            rows["recurring_usd_per_hour"],
            strict=True,
        )
    }


def _factor(instance_type: str) -> float:
    try:
        return float(normalization_factor(instance_type))
    except CommitoptInputError:  # an unknown size has no factor
        return float("nan")


def _sp_rate_table(catalog: PriceCatalog) -> pd.DataFrame:
    """The catalog's Savings Plans rates, one row per (plan type, term, key), one column per
    payment option, with each key's family: built once per call of :func:`payment_options`."""
    plans = catalog.savings_plans
    plans = plans.loc[plans["sp_hourly_usd"] > 0]
    rates = plans.pivot_table(
        index=["plan_type", "term_years", "region", "instance_type", "platform", "tenancy"],
        columns="payment_option",
        values="sp_hourly_usd",
        aggfunc="first",
    ).reset_index()
    rates["family"] = rates["instance_type"].astype(str).str.split(".").str[0]
    return rates


class _SpRatios:
    """Each payment option's rate over the bought option's, averaged over a Savings Plan's
    scope (its plan type and term, and its region and family when it has them), for every
    scope at once: one group-by per bought option and scope level, not a scan of the catalog's
    rates per purchase (the 383 purchases of the 1,000-key benchmark took 3.1 s so)."""

    def __init__(self, table: pd.DataFrame) -> None:
        self._table = table
        self._means: dict[tuple[str, tuple[str, ...]], pd.DataFrame] = {}

    def of(self, purchase: Commitment) -> dict[str, float]:
        """Option -> mean ratio over the purchase's scope (options without a pair left out)."""
        bought = purchase.payment_option
        if bought not in self._table.columns:
            return {}
        level = tuple(
            name
            for name, given in (("region", purchase.region), ("family", purchase.instance_family))
            if given
        )
        if (bought, level) not in self._means:
            options = [o for o in PAYMENT_OPTIONS if o in self._table.columns]
            ratios = self._table[options].div(self._table[bought], axis=0)
            scope = [self._table[c] for c in ("plan_type", "term_years", *level)]
            self._means[(bought, level)] = ratios.groupby(scope).mean()
        kind = CommitmentKind(purchase.kind)
        key: Any = (
            kind.savings_plan_type,
            purchase.term_years,
            *(purchase.region if name == "region" else purchase.instance_family for name in level),
        )
        means = self._means[(bought, level)]
        if key not in means.index:
            return {}
        row = means.loc[key]
        return {str(option): float(value) for option, value in row.items() if pd.notna(value)}


def _sp_prices(purchase: Commitment, ratios: _SpRatios) -> dict[str, tuple[float, float]]:
    """(upfront, recurring per hour) of the commitment covering the same usage, per option."""
    commitment = float(purchase.commitment_usd_per_hour or 0.0)
    prices: dict[str, tuple[float, float]] = {}
    for option, ratio in ratios.of(purchase).items():
        equivalent = commitment * ratio
        share = SP_UPFRONT_SHARE[option]
        hours = TERM_HOURS[purchase.term_years]
        prices[option] = (share * equivalent * hours, (1.0 - share) * equivalent)
    return prices


def _line_rows(
    purchase: Commitment,
    catalog: PriceCatalog,
    discount_rate: float,
    sp_rates: _SpRatios | None,
) -> list[dict[str, Any]]:
    prices = (
        _sp_prices(purchase, sp_rates)
        if purchase.is_savings_plan and sp_rates is not None
        else _ri_prices(purchase, catalog)
    )
    if BASELINE_OPTION not in prices:
        return []
    hours = TERM_HOURS[purchase.term_years]
    annuity = float(annuity_hours(np.array([purchase.term_years]), discount_rate)[0])

    def money(option: str) -> tuple[float, float]:
        upfront, recurring = prices[option]
        return upfront + recurring * hours, upfront + recurring * annuity

    base_total, base_value = money(BASELINE_OPTION)
    rows = []
    for option in (o for o in PAYMENT_OPTIONS if o in prices):
        upfront, recurring = prices[option]
        total, value = money(option)
        share = SP_UPFRONT_SHARE[option]
        rows.append(
            {
                "id": purchase.id,
                "kind": str(purchase.kind),
                "description": _description(purchase),
                "payment_option": option,
                "is_bought": option == purchase.payment_option,
                "upfront_usd": round(upfront, _MONEY_DECIMALS),
                "recurring_usd_per_hour": round(recurring, _RATE_DECIMALS),
                "commitment_usd_per_hour": (
                    round(recurring / (1.0 - share) if share < 1 else upfront / hours, 5)
                    if purchase.is_savings_plan
                    else None
                ),
                "term_cost_usd": round(total, _MONEY_DECIMALS),
                "savings_vs_no_upfront_usd": round(base_total - total, _MONEY_DECIMALS),
                "present_value_usd": round(value, _MONEY_DECIMALS),
                "present_value_savings_vs_no_upfront_usd": round(
                    base_value - value, _MONEY_DECIMALS
                ),
            }
        )
    return rows


def payment_options(
    purchases: Sequence[Commitment], catalog: PriceCatalog, *, discount_rate: float = 0.0
) -> dict[str, Any]:
    """Every purchase line priced in each payment option, and the totals.

    Parameters
    ----------
    purchases
        The purchases of a recommendation (RIs and Savings Plans).
    catalog
        RI offerings and Savings Plans rates.
    discount_rate
        Annual rate for the present values (``Policy.discount_rate``) [1/year].

    Returns
    -------
    dict
        ``discount_rate``; ``payment_option_lines``: one row per (purchase, payment option with a
        price), :data:`OPTION_FIELDS`, purchases in their order and options in AWS's;
        ``payment_option_totals``: one row per payment option over the purchases priced in every
        option (``payment_option``, ``upfront_usd``, ``recurring_usd_per_hour``,
        ``term_cost_usd``, ``savings_vs_no_upfront_usd``, ``present_value_usd``,
        ``present_value_savings_vs_no_upfront_usd``, ``purchase_count``);
        ``unpriced_purchase_ids``: purchases the catalog has no No Upfront price for (left out).
    """
    lines: list[dict[str, Any]] = []
    unpriced: list[str] = []
    has_plans = any(p.is_savings_plan for p in purchases)
    sp_rates = _SpRatios(_sp_rate_table(catalog)) if has_plans else None
    for purchase in purchases:
        rows = _line_rows(purchase, catalog, float(discount_rate), sp_rates)
        if not rows:
            unpriced.append(purchase.id)
        lines.extend(rows)
    return {
        "discount_rate": float(discount_rate),
        "payment_option_lines": lines,
        "payment_option_totals": _totals(lines),
        "unpriced_purchase_ids": unpriced,
    }


def _totals(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not lines:
        return []
    frame = pd.DataFrame(lines)
    options_per_id = frame.groupby("id")["payment_option"].transform("nunique")
    complete = frame.loc[options_per_id == options_per_id.max()]
    money = [
        "upfront_usd",
        "recurring_usd_per_hour",
        "term_cost_usd",
        "savings_vs_no_upfront_usd",
        "present_value_usd",
        "present_value_savings_vs_no_upfront_usd",
    ]
    summed = complete.groupby("payment_option", sort=False)[money].sum()
    counted = complete.groupby("payment_option", sort=False)["id"].nunique()
    rows = []
    for option in (o for o in PAYMENT_OPTIONS if o in summed.index):
        row: dict[str, Any] = {"payment_option": option}
        for name in money:
            digits = _RATE_DECIMALS if name == "recurring_usd_per_hour" else _MONEY_DECIMALS
            row[name] = round(float(summed.loc[option, name]), digits)
        row["purchase_count"] = int(counted.loc[option])
        rows.append(row)
    return rows


__all__ = ["BASELINE_OPTION", "OPTION_FIELDS", "payment_options"]
