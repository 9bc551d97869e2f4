"""The report's frontier: :func:`scenarios.frontier.frontier` in the report's terms.

The frontier bills the proposed purchases scaled level by level (the owned commitments kept as
they are) with the billing simulator's rules, RIs as fractional capacity
(:meth:`billing.portfolio.Instrument.scaled`), and marks the knee. The report shows it against
the cost per hour of the scaled purchases, as savings against the owned commitments alone:
:func:`report_frontier` converts a computed frontier, :func:`data_period_frontier` computes one
over the data period's usage (one path: no percentiles).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from commitopt.report.commitments import item_hourly_cost_usd
from commitopt.report.inputs import Frontier
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment
from scenarios.frontier import FrontierResult, frontier
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


__all__ = ["DEFAULT_LEVELS", "data_period_frontier", "knee_rule_text", "report_frontier"]
