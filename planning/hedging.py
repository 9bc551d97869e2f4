"""Why a Compute Savings Plan where family-specific cover is cheaper: the hedge, in words.

On the futures of :mod:`planning.future` some fleets migrate to another family or region within
the term.
RIs and EC2 Instance Savings Plans stay with the family they were bought for; a Compute Savings
Plan follows the usage to any family and region. When the decision buys a Compute SP for usage
that family-specific instruments would cover more cheaply, the premium buys that protection, and
:func:`hedge_sentences` says so: which fleets, how often they move in the futures, at what premium.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from billing.simulator import SimulationResult
from planning.future import DEFAULT_RISK_LEVEL, Futures
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment
from pricing.offerings import CommitmentKind

PREMIUM_TOLERANCE_PCT: Final = 0.5
"""A premium at most this is a tie (see the flexible tie-break), not a hedge [%]."""

MAX_FAMILIES_NAMED: Final = 4
"""Families named one by one in a sentence."""


def _family_rates(
    keys: pd.DataFrame, catalog: PriceCatalog, term_years: int, payment_option: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per key, the Compute SP rate and the cheapest family-specific rate [USD/h]."""
    compute = catalog.savings_plan_rates(keys, "compute", term_years, payment_option)
    instance_sp = catalog.savings_plan_rates(keys, "ec2_instance", term_years, payment_option)
    reserved = catalog.reserved_rates(keys, "standard", term_years, payment_option)
    family = np.fmin(instance_sp, reserved)
    return compute, family


def hedge_sentences(
    purchases: Sequence[Commitment],
    with_plan: SimulationResult,
    catalog: PriceCatalog,
    futures: Futures | None,
    *,
    risk_weight: float = 0.0,
    risk_level: float = DEFAULT_RISK_LEVEL,
) -> dict[str, str]:
    """For each Compute SP purchase that costs more than family cover, why it was chosen.

    Parameters
    ----------
    purchases
        The recommendation's purchases.
    with_plan
        The lookback billed with them (which keys the Compute SPs covered).
    catalog
        Prices.
    futures
        The futures the decision was taken on (``None``: decided on the lookback, no hedge).
    risk_weight, risk_level
        The decision's risk term (:attr:`planning.future.FutureOptions.risk_weight`): with a
        weight above 0 the sentence says that the worst futures weighed in, beside the
        expected savings, and how to decide on the expected savings alone.

    Returns
    -------
    dict
        Purchase id -> one sentence; empty when nothing was a hedge.
    """
    compute_sps = [p for p in purchases if p.kind == CommitmentKind.COMPUTE_SAVINGS_PLAN]
    if futures is None or not compute_sps:
        return {}
    covered = with_plan.covered_rows.get(str(CommitmentKind.COMPUTE_SAVINGS_PLAN), {})
    if not covered:
        return {}
    keys = with_plan.keys.iloc[sorted(covered)].reset_index(drop=True)
    hours = np.array([covered[k].sum() for k in sorted(covered)], dtype=np.float64)
    sentences: dict[str, str] = {}
    for purchase in compute_sps:
        compute, family = _family_rates(keys, catalog, purchase.term_years, purchase.payment_option)
        usable = np.isfinite(compute) & np.isfinite(family) & (hours > 0)
        if not usable.any():
            continue
        paid = float(hours[usable] @ compute[usable])
        cheapest = float(hours[usable] @ family[usable])
        premium_pct = 100.0 * (paid / cheapest - 1.0) if cheapest > 0 else 0.0
        if premium_pct <= PREMIUM_TOLERANCE_PCT:
            continue
        families = sorted(set(keys.loc[usable, "instance_family"].astype(str)))
        sentence = _sentence(families, premium_pct, futures)
        if risk_weight > 0.0:
            sentence += _risk_clause(risk_weight, risk_level)
        sentences[purchase.id] = sentence
    return sentences


def _risk_clause(risk_weight: float, risk_level: float) -> str:
    """What the risk term added to the decision, and how to leave it out."""
    worst_pct = 100.0 * (1.0 - risk_level)
    return (
        f"; besides the expected cost, the decision weighs {risk_weight:g} times the mean loss "
        f"against on-demand of the worst {worst_pct:.0f} % of the futures, a future that saves "
        "counting as no loss (the risk option; a risk weight of 0 buys on the expected savings "
        "alone)"
    )


def _sentence(families: list[str], premium_pct: float, futures: Futures) -> str:
    """The hedge in one sentence."""
    named = ", ".join(families[:MAX_FAMILIES_NAMED])
    if len(families) > MAX_FAMILIES_NAMED:
        named += f" and {len(families) - MAX_FAMILIES_NAMED} more"
    events = futures.events
    moves = events["kind"].isin(("migration", "region migration"))
    mine = events.loc[events["family"].isin(families) & moves]
    moved = mine["future"].nunique()
    share = 100.0 * moved / futures.count
    where = (
        "another family or region"
        if (mine["kind"] == "region migration").any()
        else "another family"
    )
    return (
        f"a Compute Savings Plan rather than {named} RIs or EC2 Instance Savings Plans: in "
        f"{share:.0f} % of the futures these fleets move to {where} within the term, "
        f"and it follows them, at a {premium_pct:.1f} % premium over their family rates "
        f"({futures.rates.describe()})"
    )


def annotate_hedges(explanations: pd.DataFrame, sentences: dict[str, str]) -> pd.DataFrame:
    """The explanation rows with each hedge sentence appended (same rows, same order)."""
    if not sentences or explanations.empty:
        return explanations
    table = explanations.copy()
    extra = table["id"].map(sentences)
    has = extra.notna()
    table.loc[has, "explanation"] = (
        table.loc[has, "explanation"].astype(str).str.rstrip(".") + "; " + extra[has] + "."
    )
    table["hedge"] = extra.fillna("")
    return table


__all__ = ["PREMIUM_TOLERANCE_PCT", "annotate_hedges", "hedge_sentences"]
