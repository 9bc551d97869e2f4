"""A simple savings frontier: the plan's purchases scaled up and down, each level billed.

A stand-in until the scenarios package provides a proper frontier (optimal plans at each
commitment level, with percentiles over sampled paths): here every purchase is scaled by the same
factor (RIs to whole instances) and the data period is billed at each factor with
:func:`billing.simulator.simulate`, so each point is a real billed figure of a plan *shaped* like
the recommendation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from billing.simulator import SimulationResult, simulate
from commitopt.report.commitments import item_hourly_cost_usd
from commitopt.report.inputs import Frontier
from pricing.catalog import PriceCatalog
from pricing.inventory import OwnedCommitment
from usage.table import UsageMatrix, to_matrix

DEFAULT_SCALES: Final = np.linspace(0.0, 2.0, 11)
"""Factors applied to the recommendation: 0 (buy nothing) to twice the plan, in steps of 0.2."""

SP_DECIMALS: Final = 3
"""Savings Plan commitments are bought in steps of 0.001 USD/h."""


def scale_purchase(item: OwnedCommitment, factor: float) -> OwnedCommitment | None:
    """``item`` bought ``factor`` times over (RIs rounded to whole instances, SPs to 0.001 USD/h).

    Returns ``None`` when nothing is left to buy.
    """
    if item.is_savings_plan:
        commit = round(float(item.commitment_usd_per_hour or 0.0) * factor, SP_DECIMALS)
        if commit <= 0:
            return None
        ratio = commit / float(item.commitment_usd_per_hour or 1.0)
    else:
        count = round(float(item.count or 0) * factor)
        if count <= 0:
            return None
        ratio = count / float(item.count or 1)
        return replace(
            item,
            count=count,
            normalized_units=None
            if item.normalized_units is None
            else item.normalized_units * ratio,
            upfront_usd=item.upfront_usd * ratio,
            effective_usd_per_hour=None
            if item.effective_usd_per_hour is None
            else item.effective_usd_per_hour * ratio,
        )
    return replace(
        item,
        commitment_usd_per_hour=commit,
        upfront_usd=item.upfront_usd * ratio,
        recurring_usd_per_hour=None
        if item.recurring_usd_per_hour is None
        else item.recurring_usd_per_hour * ratio,
        effective_usd_per_hour=None
        if item.effective_usd_per_hour is None
        else item.effective_usd_per_hour * ratio,
    )


def scaled_frontier(
    usage: pd.DataFrame | UsageMatrix,
    purchases: Sequence[OwnedCommitment],
    catalog: PriceCatalog,
    *,
    owned: Sequence[OwnedCommitment] = (),
    baseline_cost_usd: float,
    recommended: SimulationResult | None = None,
    scales: npt.ArrayLike = DEFAULT_SCALES,
    discount_rate: float = 0.0,
) -> Frontier:
    """Bill the data period with the purchases scaled by each factor of ``scales``.

    Parameters
    ----------
    usage
        The data period's usage.
    purchases
        The recommended purchases (factor 1).
    catalog
        Prices.
    owned
        Commitments owned (billed at every level).
    baseline_cost_usd
        Cost of the data period with the owned commitments only [USD] (savings are against it).
    recommended
        The data period already billed with the purchases (reused for factor 1).
    scales
        Factors to bill [1].
    discount_rate
        Yearly rate for the simulator's NPV [1/year].

    Returns
    -------
    Frontier
        Levels are the scaled purchases' cost per hour [USD/h]; savings are over the data
        period [USD]; no percentiles and no knee.
    """
    matrix = usage if isinstance(usage, UsageMatrix) else to_matrix(usage)
    factors = np.unique(np.append(np.asarray(scales, dtype=np.float64), 1.0))
    levels = np.zeros(len(factors))
    savings = np.zeros(len(factors))
    for index, factor in enumerate(factors):  # about a dozen simulations
        items = [scaled for item in purchases if (scaled := scale_purchase(item, factor))]
        levels[index] = sum(item_hourly_cost_usd(item) for item in items)
        if not items:
            continue  # nothing bought: the baseline, saving nothing
        if factor == 1.0 and recommended is not None:
            result = recommended
        else:
            result = simulate(matrix, (*owned, *items), catalog, discount_rate=discount_rate)
        savings[index] = baseline_cost_usd - result.totals.actual_cost_usd
    recommended_level = float(sum(item_hourly_cost_usd(item) for item in purchases))
    return Frontier(
        levels_usd_per_hour=levels,
        mean_savings_vs_current_usd=savings,
        plan_usd_per_hour=recommended_level,
        horizon="the data period",
        source=(
            f"the recommendation's purchases scaled by {factors.min():g}–{factors.max():g}× "
            "(RIs to whole instances) and billed over the data period; an optimal plan at each "
            "level would save at least as much"
        ),
    )


__all__ = ["DEFAULT_SCALES", "scale_purchase", "scaled_frontier"]
