"""Why each purchase: utilization, break-even, marginal saving, the usage it covers, one sentence.

Every figure comes from billing the plan on the problem's periods with AWS's greedy rule (pools in
``pools.order``; each pool covers its columns in increasing coverage ratio, lower column index
first on ties, until the demand left or its capacity runs out), billed by
:func:`optimizer.allocation.pool_allocation` (the fill of :mod:`billing.fill`).
Periods count with weight ``period_weight × scenario_probability`` (expected hours), undiscounted.

Inside a pool, capacity is shared in proportion: an offer active in a period holds
``units ÷ pool capacity`` of what the pool used and covered there.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.units import HOURS_PER_MONTH
from optimizer.allocation import pool_allocation
from optimizer.database_choice import database_choice_sentences
from optimizer.flexibility import flexible_preferences
from optimizer.problem import (
    COMPUTE_SP_POOL,
    DATABASE_SP_POOL,
    EC2_SP_POOL,
    RI_POOL,
    SAGEMAKER_SP_POOL,
    BoolArray,
    CommitmentProblem,
    FloatArray,
    IntArray,
)
from optimizer.purchases import (
    PURCHASE_ID_PREFIX,
    bought_offers,
    offer_purchase_sizes,
    sp_commitment,
)
from pricing.databases import CACHE_NODE
from pricing.services import EC2, service_of

FULLY_USED: Final = 1.0 - 1e-9
"""Utilization from which a period counts as fully used [1]."""

EXPLAIN_COLUMNS: Final = (
    "id",
    "offer",
    "pool",
    "tranche",
    "kind",
    "region",
    "instance_family",
    "instance_type",
    "platform",
    "tenancy",
    "offering_class",
    "term_years",
    "payment_option",
    "start",
    "end",
    "unit",
    "units",
    "count",
    "commitment_usd_per_hour",
    "active_hours",
    "expected_utilization_pct",
    "break_even_utilization_pct",
    "break_even_month",
    "marginal_savings_usd_per_unit",
    "covered_on_demand_usd",
    "covered_on_demand_usd_per_hour",
    "used_units_per_hour",
    "commitment_cost_usd",
    "net_savings_vs_on_demand_usd",
    "level_units",
    "level_reached_pct",
    "explanation",
)
"""Columns of :func:`explain`; see its docstring."""

_SP_NAMES: Final = {
    EC2_SP_POOL: "EC2 Instance Savings Plans",
    COMPUTE_SP_POOL: "Compute Savings Plans",
    DATABASE_SP_POOL: "Database Savings Plans",
    SAGEMAKER_SP_POOL: "SageMaker Savings Plans",
}


class BilledPlan(Protocol):
    """A plan billed with the greedy rule (e.g. :class:`optimizer.allocation.Evaluation`)."""

    @property
    def capacity(self) -> FloatArray:
        """Periods × pools [units/h]."""

    @property
    def used_capacity(self) -> FloatArray:
        """Periods × pools [units/h]."""

    @property
    def covered_usd(self) -> FloatArray:
        """Periods × pools [USD/h]."""


Billing = tuple[FloatArray, FloatArray, FloatArray]


def _pct(value: float) -> str:
    """A percentage [%] as text that never reads 100 % or 0 % unless it is."""
    if not math.isfinite(value):
        return "n/a"
    text = f"{value:.0f}%"
    if (text == "100%" and value < 100.0) or (text == "0%" and value > 0.0):
        text = f"{value:.1f}%"
    return text


def _is_ec2(row: Mapping[Hashable, Any]) -> bool:
    """Whether a reservation row is an EC2 RI (else a database or node reservation)."""
    return service_of(str(row["instance_type"]), str(row["platform"])) == EC2


def _setting_word(row: Mapping[Hashable, Any]) -> str:
    """``tenancy`` for EC2 keys, ``deployment`` for RDS ones (Single-AZ, Multi-AZ)."""
    return "tenancy" if _is_ec2(row) else "deployment"


def _sentence(
    row: Mapping[Hashable, Any], whole_lookback: bool, period: str, money_period: str
) -> str:
    possessive = f"{period}'" if period.endswith("s") else f"{period}'s"
    hours = f"{possessive} hours" if whole_lookback else f"its hours in {period}"
    prefix = "" if whole_lookback else f"From {pd.Timestamp(row['start']):%Y-%m-%d}, "
    if row["kind"] == RI_POOL:
        if row["unit"] == "normalized_units":
            what = f"the {row['instance_family']} family's base load in {row['region']}"
            level = (
                f"{row['level_units']:g} normalized units "
                f"({row['count']:g} × {row['instance_type']})"
            )
        else:
            node = row["tenancy"] == CACHE_NODE  # ElastiCache, MemoryDB, OpenSearch, Redshift
            setting = "" if node else f" ({row['tenancy']} {_setting_word(row)})"
            what = (
                f"the base load of {row['instance_type']} {row['platform']}{setting} "
                f"in {row['region']}"
            )
            count = row["level_units"]
            noun = "node" if node else "instance"
            level = f"{count:g} {noun}{'s' if count != 1 else ''}"
        instrument = "RIs" if _is_ec2(row) else "reservations"
        text = (
            f"covers {what}, which stayed at or above {level} in {_pct(row['level_reached_pct'])} "
            f"of {hours} ({row['term_years']}-year {row['payment_option']} "
            f"{row['offering_class']} {instrument}: expected utilization "
            f"{_pct(row['expected_utilization_pct'])}, break-even "
            f"{_pct(row['break_even_utilization_pct'])})"
        )
    else:
        target = _SP_NAMES.get(str(row["kind"]), str(row["kind"]))
        if row["kind"] == EC2_SP_POOL:
            target += f" for the {row['instance_family']} family in {row['region']}"
        saving = row["net_savings_vs_on_demand_usd"]
        verb = "saving" if saving >= 0 else "losing"
        covered = row["covered_on_demand_usd"]
        share = (
            f" ({_pct(100.0 * saving / covered)} of the on-demand value it covers)"
            if covered > 0 and saving >= 0
            else ""
        )
        text = (
            f"commits {row['commitment_usd_per_hour']:.3f} USD/h to {target}, fully used in "
            f"{_pct(row['level_reached_pct'])} of {hours} at {row['term_years']}-year "
            f"{row['payment_option']} rates, {verb} {abs(saving):,.2f} USD over "
            f"{money_period}{share}"
        )
    text = prefix + text if prefix else text[0].upper() + text[1:]
    return text + "."


def _break_even_month(upfront: FloatArray, hourly_saving: FloatArray) -> FloatArray:
    """First month whose cumulative saving repays the upfront; 1 without upfront; NaN never."""
    months = np.full(upfront.shape, np.nan)
    saving = hourly_saving > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        repay = upfront / (hourly_saving * HOURS_PER_MONTH)
    months[saving] = np.maximum(np.ceil(repay[saving] - 1e-9), 1.0)
    return months


def explain(
    problem: CommitmentProblem,
    units: FloatArray,
    *,
    marginal_usd: FloatArray | None = None,
    evaluation: BilledPlan | Billing | None = None,
    ri_instance_type: str | None = None,
    period: str = "the lookback",
    money_scale: float = 1.0,
    money_period: str | None = None,
) -> pd.DataFrame:
    """One row per bought offer, in purchase order (ids ``rec-1``, … as the purchases).

    Parameters
    ----------
    problem
        The reduced problem.
    units
        Units bought of each offer (the plan the purchases come from) [units].
    marginal_usd
        Marginal saving of each offer, one value per offer of ``problem``; ``recommend`` gives
        the bill's finite difference (:func:`planning.marginal.offer_marginal_savings`: what
        the last unit of the purchase saves over the billed lookback) [USD per RI instance, or
        USD per USD/h of Savings Plan commitment]; NaN when not given.
    evaluation
        The same plan already billed: :func:`optimizer.allocation.pool_allocation`'s arrays,
        or an object with ``capacity``, ``used_capacity`` and ``covered_usd``
        (``optimizer.allocation.evaluate``).
    ri_instance_type
        The RI size the purchases are made in (as for
        :func:`optimizer.purchases.purchases_from_units`), for ``instance_type`` and ``count``.
    period, money_scale, money_period
        What the problem's hours stand for in the sentences (``"the lookback"``); the factor
        from the problem's expected money over its hours to the money shown (1; a decision on
        futures whose representative weeks stand for the term scales them to the term), and
        what that money is counted over (``period`` by default).

    Returns
    -------
    pandas.DataFrame
        :data:`EXPLAIN_COLUMNS`: the offer and its pool; ``units`` [units] (``count`` of the
        pool's purchase type for RIs, ``commitment_usd_per_hour`` for Savings Plans);
        ``active_hours`` (expected hours it is active) [h]; ``expected_utilization_pct`` (used ÷
        capacity over those hours) [%]; ``break_even_utilization_pct`` (effective cost of a
        unit-hour ÷ on-demand value a used unit-hour covers: effective rate ÷ on-demand rate for
        RIs, the average coverage ratio of the usage covered for Savings Plans) [%];
        ``break_even_month`` (first month whose cumulative saving at the expected utilization
        repays the upfront; 1 without upfront when it saves; NaN when it never saves);
        ``marginal_savings_usd_per_unit`` [USD per unit]; ``covered_on_demand_usd`` over the
        active hours [USD] and per hour [USD/h]; ``used_units_per_hour`` [units/h];
        ``commitment_cost_usd`` (effective rate × units × active hours) [USD];
        ``net_savings_vs_on_demand_usd`` (covered minus commitment cost) [USD]; ``level_units``
        and ``level_reached_pct`` (RIs: the capacity bought, and the share of active hours whose
        column demand reached it; Savings Plans: the commitment, and the share of active hours it
        was fully used) [units, %]; ``explanation``, one plain sentence.
    """
    units = np.asarray(units, dtype=np.float64)
    offers_bought = bought_offers(problem, units)
    if offers_bought.size == 0:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in EXPLAIN_COLUMNS})
    billed_pools = np.unique(problem.offers["pool"].to_numpy(dtype=np.intp)[offers_bought])
    billing = _billing(problem, units, evaluation, billed_pools)
    use = _offer_use(problem, units, offers_bought, billed_pools, billing)
    figures = _offer_figures(problem, use)
    offer_types, offer_sizes = offer_purchase_sizes(
        problem, units, ri_instance_type=ri_instance_type
    )
    types, per_instance = offer_types[offers_bought], offer_sizes[offers_bought]
    pool, pools, offers, x = use.pool, use.pools, use.offers, use.units
    marginal = (
        np.full(len(pool), np.nan)
        if marginal_usd is None or len(marginal_usd) != problem.n_offers
        else np.asarray(marginal_usd, dtype=np.float64)[offers_bought]
    )
    marginal = np.where(np.abs(marginal) < 1e-9, 0.0, marginal)  # solver round-off, not a value
    table = pd.DataFrame(
        {
            "id": [f"{PURCHASE_ID_PREFIX}{n}" for n in range(1, len(pool) + 1)],
            "offer": offers_bought,
            "pool": pool,
            "tranche": offers["tranche"].to_numpy(),
            "kind": pools["kind"].to_numpy(),
            "region": pools["region"].to_numpy(),
            "instance_family": pools["instance_family"].to_numpy(),
            "instance_type": np.where(use.is_ri, types, pools["instance_type"].to_numpy()),
            "platform": pools["platform"].to_numpy(),
            "tenancy": pools["tenancy"].to_numpy(),
            "offering_class": pools["offering_class"].to_numpy(),
            "term_years": pools["term_years"].to_numpy(),
            "payment_option": pools["payment_option"].to_numpy(),
            "start": offers["start"].to_numpy(),
            "end": offers["end"].to_numpy(),
            "unit": pools["unit"].to_numpy(),
            "units": x,
            "count": np.where(use.is_ri, np.rint(x / per_instance), np.nan),
            "commitment_usd_per_hour": np.where(use.is_ri, np.nan, sp_commitment(x)),
            "active_hours": use.hours,
            "expected_utilization_pct": 100.0 * figures["expected_utilization"],
            "break_even_utilization_pct": 100.0 * figures["break_even"],
            "break_even_month": figures["break_even_month"],
            "marginal_savings_usd_per_unit": marginal,
            "covered_on_demand_usd": money_scale * use.covered_usd,
            "covered_on_demand_usd_per_hour": figures["covered_per_hour"],
            "used_units_per_hour": figures["used_per_hour"],
            "commitment_cost_usd": money_scale * figures["commitment_cost"],
            "net_savings_vs_on_demand_usd": money_scale
            * (use.covered_usd - figures["commitment_cost"]),
            "level_units": x,
            "level_reached_pct": 100.0 * figures["level_share"],
        }
    )
    whole = use.active.min(axis=0) > 0
    flexible = _flexibility_sentences(problem, units, pool)
    database = database_choice_sentences(problem, pool)
    table["explanation"] = [
        _sentence(row, bool(whole[n]), period, money_period or period) + flexible[n] + database[n]
        for n, row in enumerate(table.to_dict(orient="records"))  # one row per purchase
    ]
    return table[list(EXPLAIN_COLUMNS)]


_ALSO_COVERS: Final = {
    EC2_SP_POOL: "the family's other sizes, platforms and tenancies in the region",
    COMPUTE_SP_POOL: "other families and regions, Fargate and Lambda",
    DATABASE_SP_POOL: "other database families, engines and regions",
    SAGEMAKER_SP_POOL: "other ML instance families, components and regions",
}
_SHORT_NAMES: Final = {
    EC2_SP_POOL: "EC2 Instance SP",
    COMPUTE_SP_POOL: "Compute SP",
    DATABASE_SP_POOL: "Database SP",
    SAGEMAKER_SP_POOL: "SageMaker SP",
}
_NAMED_AT_MOST: Final = 3
_SAME_COST_PCT: Final = 0.05
"""Cost gaps below this read as "they cost the same" [%]."""


def _gave_way(pool: Mapping[Hashable, Any]) -> str:
    """A pool that gave way, in words: ``m5 RIs in us-east-1``."""
    where = f"in {pool['region']}"
    if pool["kind"] == RI_POOL:
        if pool["size_flexible"]:
            return f"{pool['instance_family']} RIs {where}"
        tenancy = "" if pool["tenancy"] in ("", "Shared") else f" {pool['tenancy']}"
        return f"{pool['instance_type']} {pool['platform']}{tenancy} RIs {where}"
    return f"EC2 Instance SPs for {pool['instance_family']} {where}"


def _flexibility_sentences(
    problem: CommitmentProblem, units: FloatArray, bought_pools: IntArray
) -> list[str]:
    """Per bought offer: for a Savings Plan bought instead of less flexible pools of (nearly) the
    same cost that the plan leaves unbought, one sentence saying so; else ``""``."""
    sentences = [""] * len(bought_pools)
    preferences = flexible_preferences(problem)
    if preferences.empty:
        return sentences
    pool_of_offer = problem.offers["pool"].to_numpy(dtype=np.intp)
    held = np.bincount(pool_of_offer, weights=np.abs(units), minlength=problem.n_pools)
    unbought = held[preferences["pool"].to_numpy(dtype=np.intp)] <= 1e-9
    gap = preferences["cost_gap_pct"].to_numpy(dtype=np.float64)
    shown = preferences.loc[unbought & (gap >= -1e-9)]
    records = problem.pools.to_dict("records")
    for n, bought in enumerate(bought_pools):
        rows = shown.loc[shown["preferred_pool"].to_numpy() == bought]
        if rows.empty:
            continue
        kind = str(problem.pools["kind"].iloc[int(bought)])
        names = list(dict.fromkeys(_gave_way(records[int(p)]) for p in rows["pool"]))
        more = len(names) - _NAMED_AT_MOST
        listed = ", ".join(names[:_NAMED_AT_MOST]) + (f" and {more} more" if more > 0 else "")
        worst = float(rows["cost_gap_pct"].max())
        cost = "they cost the same" if worst < _SAME_COST_PCT else f"they cost within {worst:.1f} %"
        sentences[n] = (
            f" {_SHORT_NAMES.get(kind, kind)} instead of {listed}: {cost}, and it also "
            f"covers {_ALSO_COVERS.get(kind, 'more usage')}."
        )
    return sentences


def _billing(
    problem: CommitmentProblem,
    units: FloatArray,
    evaluation: BilledPlan | Billing | None,
    pools: IntArray,
) -> Billing:
    """Capacity, used capacity and covered USD of every period and of ``pools`` (columns in
    that order): ``evaluation``'s, or the plan billed with the greedy rule when none is
    given."""
    if evaluation is None:
        return pool_allocation(problem, units, pools)
    if isinstance(evaluation, tuple):
        capacity, used, covered = evaluation
    else:
        capacity, used, covered = (
            evaluation.capacity,
            evaluation.used_capacity,
            evaluation.covered_usd,
        )
    return capacity[:, pools], used[:, pools], covered[:, pools]


@dataclass(frozen=True, eq=False)
class _OfferUse:
    """How each bought offer was used over the periods, its share of its pool's billing."""

    offers: pd.DataFrame
    """The bought offers' rows."""
    pool: IntArray
    pools: pd.DataFrame
    """Each bought offer's pool row."""
    is_ri: BoolArray
    units: FloatArray
    """Units bought [units]."""
    active: FloatArray
    """Periods × bought offers: 1 where active."""
    active_w: FloatArray
    """Periods × bought offers: expected hours active [h]."""
    utilization: FloatArray
    """Periods × bought offers: the pool's used ÷ capacity [1]."""
    hours: FloatArray
    """Expected hours active [h]."""
    covered_usd: FloatArray
    """On-demand USD covered over the active hours [USD]."""
    used_units: FloatArray
    """Unit-hours used [units × h]."""


def _offer_use(
    problem: CommitmentProblem,
    units: FloatArray,
    offers_bought: IntArray,
    billed_pools: IntArray,
    billing: Billing,
) -> _OfferUse:
    """Each bought offer's share of its pool's use (capacity shared in proportion), weighted by
    the periods' expected hours. ``billing`` holds the columns of ``billed_pools`` (sorted)."""
    capacity, used, covered = billing
    offers = problem.offers.iloc[offers_bought].reset_index(drop=True)
    pool = offers["pool"].to_numpy(dtype=np.intp)
    column = np.searchsorted(billed_pools, pool)
    pools = problem.pools.iloc[pool].reset_index(drop=True)
    x = units[offers_bought]
    weight = problem.period_weight * problem.scenario_probability[problem.period_scenario]
    active = np.asarray(problem.offer_active[:, offers_bought].toarray(), dtype=np.float64)
    # periods × bought offers, a year of 600 offers is 42 MiB an array: divided in place, and
    # the pool's columns taken once each (a large plan's explanations peaked at +470 MiB)
    cap = capacity[:, column]
    empty = cap <= 0
    share = active * x  # the offer's share of its pool [1]
    np.divide(share, cap, out=share, where=~empty)
    share[empty] = 0.0
    utilization = used[:, column]
    np.divide(utilization, cap, out=utilization, where=~empty)
    utilization[empty] = 0.0
    del cap, empty
    covered_usd = np.einsum("t,tk,tk->k", weight, covered[:, column], share)
    pool_used = used[:, column]
    used_units = np.einsum("t,tk,tk->k", weight, pool_used, share)
    del pool_used, share
    active_w = weight[:, None] * active
    return _OfferUse(
        offers=offers,
        pool=pool,
        pools=pools,
        is_ri=(pools["kind"] == RI_POOL).to_numpy(),
        units=x,
        active=active,
        active_w=active_w,
        utilization=utilization,
        hours=active_w.sum(axis=0),
        covered_usd=covered_usd,
        used_units=used_units,
    )


def _offer_figures(problem: CommitmentProblem, use: _OfferUse) -> dict[str, FloatArray]:
    """Per bought offer: expected utilization, per-hour covered USD and used units, break-even
    utilization and month, commitment cost and the share of hours its level was reached."""
    hours, x, is_ri = use.hours, use.units, use.is_ri
    with np.errstate(divide="ignore", invalid="ignore"):
        expected_utilization = np.where(
            hours > 0, (use.active_w * use.utilization).sum(0) / hours, np.nan
        )
        covered_per_hour = np.where(hours > 0, use.covered_usd / hours, 0.0)
        used_per_hour = np.where(hours > 0, use.used_units / hours, 0.0)
    effective = use.offers["effective_usd_per_unit_hour"].to_numpy(dtype=np.float64)
    recurring = use.offers["recurring_usd_per_unit_hour"].to_numpy(dtype=np.float64)
    upfront = use.offers["upfront_usd_per_unit"].to_numpy(dtype=np.float64)
    # Coverage ratio of the usage each offer covers [units per on-demand USD]: the RI's column,
    # or the Savings Plan's average over what it covered (its best column if it covered nothing).
    coverage = sp.csr_array(problem.coverage)
    dense_rows = np.asarray(coverage[use.pool].toarray(), dtype=np.float64)
    best = np.where(dense_rows > 0, dense_rows, np.inf).min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(use.covered_usd > 0, use.used_units / use.covered_usd, best)
    column = np.where(dense_rows > 0, 1, 0).argmax(axis=1)
    on_demand_rate = problem.columns["on_demand_usd_per_unit"].to_numpy(dtype=np.float64)[column]
    with np.errstate(divide="ignore", invalid="ignore"):
        break_even = np.where(is_ri, effective / on_demand_rate, effective * ratio)
    hourly_saving = covered_per_hour - recurring * x
    # Level: the capacity bought, and how often the usage reached it.
    demand_units = problem.demand_usd[:, column] * dense_rows[np.arange(len(use.pool)), column]
    reached = np.where(is_ri[None, :], demand_units >= x - 1e-9, use.utilization >= FULLY_USED)
    with np.errstate(divide="ignore", invalid="ignore"):
        level_share = np.where(hours > 0, (use.active_w * reached).sum(0) / hours, np.nan)
    return {
        "expected_utilization": expected_utilization,
        "covered_per_hour": covered_per_hour,
        "used_per_hour": used_per_hour,
        "break_even": break_even,
        "break_even_month": _break_even_month(upfront * x, hourly_saving),
        "commitment_cost": effective * x * hours,
        "level_share": level_share,
    }


__all__ = [
    "EXPLAIN_COLUMNS",
    "HOURS_PER_MONTH",
    "BilledPlan",
    "Billing",
    "explain",
]
