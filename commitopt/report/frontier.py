"""The report's frontier: :func:`scenarios.frontier.frontier` in the report's terms.

The frontier bills the proposed purchases scaled level by level (the owned commitments kept as
they are) with the billing simulator's rules, RIs as fractional capacity
(:meth:`billing.portfolio.Instrument.scaled`), and marks the knee. The report shows it against
the cost per hour of the scaled purchases, as savings against the owned commitments alone:
:func:`report_frontier` converts a computed frontier, :func:`data_period_frontier` computes one
over the data period's usage (one path: no percentiles).

Where the plan sits. :func:`plan_position` finds the level of the curve's expected-savings
maximum and the plan's distance from it (:func:`scenarios.frontier.expected_savings_maximum`,
within :data:`scenarios.frontier.AT_MAXIMUM_TOLERANCE_PCT`), and :func:`plan_position_text`
says it in words under the chart and the table: the plan is at the maximum, or below it by so
many USD at so many times the plan, and why when a risk option put it there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from commitopt.report.commitments import item_hourly_cost_usd
from commitopt.report.inputs import Frontier
from optimizer.policy import Policy
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment
from scenarios.frontier import (
    FrontierMaximum,
    FrontierResult,
    expected_savings_maximum,
    frontier,
)
from usage.table import UsageMatrix

DEFAULT_LEVELS: Final = np.linspace(0.0, 2.0, 11)
"""Shares of the purchases billed over the data period: none to twice the plan, by 0.2 [1]."""


def report_frontier(
    curve: FrontierResult,
    purchases: Sequence[Commitment],
    *,
    horizon: str,
    source: str,
    with_p5: bool,
) -> Frontier:
    """A computed frontier as the report's :class:`~commitopt.report.inputs.Frontier`.

    Parameters
    ----------
    curve
        The frontier of ``purchases`` (level 0: the owned commitments alone).
    purchases
        The proposed purchases at level 1.
    horizon
        What the savings are counted over (e.g. ``"the data period"``).
    source
        How the frontier was made (shown under the chart).
    with_p5
        Show the P5: only when it is the P5 of the purchases' own savings (nothing owned, or
        several paths).

    Returns
    -------
    Frontier
        Levels are the scaled purchases' cost per hour [USD/h]; savings are those of the
        purchases on top of the owned commitments [USD over ``horizon``]; the knee's level.
    """
    table = curve.table
    hourly = float(sum(item_hourly_cost_usd(item) for item in purchases))
    expected = table["mean_savings_vs_on_demand_usd"].to_numpy(dtype=np.float64)
    p5 = table["p5_savings_vs_on_demand_usd"].to_numpy(dtype=np.float64) if with_p5 else None
    return Frontier(
        levels_usd_per_hour=table["level"].to_numpy(dtype=np.float64) * hourly,
        mean_savings_vs_current_usd=expected - expected[0],
        p5_savings_vs_current_usd=None if p5 is None else p5 - p5[0],
        knee_usd_per_hour=curve.knee_level * hourly,
        plan_usd_per_hour=hourly,
        horizon=horizon,
        source=source,
    )


def knee_rule_text(curve: FrontierResult) -> str:
    """The knee rule in words, for a frontier's source line."""
    return (
        "knee: the last level at which each step still returns at least "
        f"{curve.knee_threshold:.2f} USD per USD of commitment"
    )


def data_period_frontier(
    usage: pd.DataFrame | UsageMatrix,
    purchases: Sequence[Commitment],
    catalog: PriceCatalog,
    *,
    owned: Sequence[Commitment] = (),
    levels: npt.ArrayLike = DEFAULT_LEVELS,
) -> Frontier:
    """The frontier of the purchases over the data period's usage.

    Parameters
    ----------
    usage
        The data period's usage.
    purchases
        The recommended purchases (level 1).
    catalog
        Prices.
    owned
        Commitments owned (billed at every level).
    levels
        Shares of the purchases to bill [1]; level 1 is always added.

    Returns
    -------
    Frontier
        See :func:`report_frontier`; no percentiles (one path).
    """
    values = np.unique(np.append(np.asarray(levels, dtype=np.float64), 1.0))
    curve = frontier(usage, tuple(purchases), catalog, owned=tuple(owned), levels=values)
    return report_frontier(
        curve,
        purchases,
        horizon="the data period",
        with_p5=False,
        source=(
            f"the recommendation's purchases scaled {values.min():g}–{values.max():g}× (RIs as "
            f"fractional capacity) and billed over the data period; {knee_rule_text(curve)}"
        ),
    )


def plan_position(curve: Frontier) -> FrontierMaximum | None:
    """The level of ``curve``'s expected-savings maximum and the plan's distance from it.

    Returns
    -------
    FrontierMaximum or None
        Levels in USD/h of new commitment; savings against the owned commitments alone over
        ``curve.horizon`` [USD]. ``None`` when the curve does not give the plan's level.
    """
    if curve.plan_usd_per_hour is None:
        return None
    return expected_savings_maximum(
        curve.levels_usd_per_hour, curve.mean_savings_vs_current_usd, curve.plan_usd_per_hour
    )


def plan_position_text(curve: Frontier) -> str:
    """Where the plan sits relative to the curve's expected-savings maximum, in one sentence.

    - ``The plan (P USD/h) is at the curve's expected-savings maximum: …``;
    - ``The plan (P USD/h) is below the curve's expected-savings maximum at N× the plan (M USD/h)
      by X USD (p %) over …: it is where the risk option puts it (…).`` when
      ``curve.risk_option`` is set, else ``…: buying more (less) would have saved more on
      these figures.``

    Empty when the curve does not give the plan's level.
    """
    position = plan_position(curve)
    if position is None:
        return ""
    plan = f"The plan ({position.plan_level:,.3f} USD/h)"
    best = f"{position.maximum_level:,.3f} USD/h"
    ratio = position.maximum_over_plan
    times = f"{ratio:.2f}× the plan ({best})" if math.isfinite(ratio) else best
    if position.at_maximum:
        text = (
            f"{plan} is at the curve's expected-savings maximum: "
            f"{position.plan_savings_usd:,.2f} USD over {curve.horizon}"
        )
        if position.shortfall_usd > 0.005:
            text += (
                f" ({times} saves {position.shortfall_usd:,.2f} USD more, "
                f"within the {position.tolerance_pct:g} % tolerance)"
            )
        return text + "."
    text = (
        f"{plan} is below the curve's expected-savings maximum at {times} by "
        f"{position.shortfall_usd:,.2f} USD ({position.shortfall_pct:.1f} %) over "
        f"{curve.horizon}: "
    )
    if curve.risk_option:
        return text + f"it is where the risk option puts it ({curve.risk_option})."
    more = "more" if position.maximum_level > position.plan_level else "less"
    return text + f"buying {more} would have saved more on these figures."


def risk_option_text(policy: Policy) -> str:
    """The policy's risk option in words, or ``""`` when it maximizes expected savings."""
    if policy.cvar_weight <= 0:
        return ""
    tail = 100.0 * (1.0 - policy.cvar_alpha)
    return f"CVaR of the worst {tail:g} % of scenarios at weight {policy.cvar_weight:g}"


__all__ = [
    "DEFAULT_LEVELS",
    "data_period_frontier",
    "knee_rule_text",
    "plan_position",
    "plan_position_text",
    "report_frontier",
    "risk_option_text",
]
