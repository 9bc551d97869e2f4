"""The hindsight optimum, the backtest's ceiling: the best plan knowing the window's usage.

Two ceilings, by when purchases may start (``reviews``):

* ``"all"``: at any review date, any later start a policy queued a purchase for
  (:func:`scenarios.backtest.purchase_dates`) and any month start (where ``recommend``'s
  monthly tranches buy), the ceiling of every policy;
* ``"first"``: at the window's first hour only, the ceiling of a policy that buys once
  (``ours-oneshot``).

Each returns a :class:`scenarios.backtest.CeilingPlan`: the plan billed best by the simulator
among ``recommend`` on the realized usage (with one tranche per purchase date) and the
certified LP's plan rounded several ways (:mod:`planning.ceiling`), and the LP's certified
upper bound on the savings of any plan buying the policy's offerings at those dates. Why
``recommend`` alone is not the optimum is in :mod:`planning.ceiling`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final, Literal

import pandas as pd

from optimizer.policy import Policy
from planning.ceiling import MAX_CELLS, best_billed_plan, ceiling_bound, rounded_plans
from planning.policies.recommended import (
    PURCHASE_POLICY,
    lookback_days_of,
    months_starts_count,
    recommended_purchases,
)
from planning.recommend import RecommendOptions
from pricing.inventory import Commitment
from scenarios.backtest import CeilingPlan, HindsightWindow

HINDSIGHT_TOLERANCE: Final = 1e-4
"""Certified relative gap of ``recommend``'s cutting planes for its candidate plan [1]."""

Reviews = Literal["all", "first"]
"""When the hindsight may buy: at every review date, or at the first only."""


@dataclass(frozen=True)
class HindsightOptimum:
    """The best plan with perfect foresight, and a certified bound on every plan's savings.

    Parameters
    ----------
    policy
        What may be bought (``ladder_tranches`` is set from the window).
    options
        How ``recommend`` solves its candidate; tolerance :data:`HINDSIGHT_TOLERANCE`.
    reviews
        ``"all"``: purchases at every review date and month start; ``"first"``: at the window's
        first hour only (the one-shot ceiling).
    max_cells
        Periods × keys above which the LP groups hours (:data:`planning.ceiling.MAX_CELLS`).
    """

    policy: Policy = PURCHASE_POLICY
    options: RecommendOptions = field(
        # hindsight sees the whole window it bills: a key that stops inside it is still usage;
        # knowing it, no increment is noise
        default_factory=lambda: RecommendOptions(
            tolerance=HINDSIGHT_TOLERANCE,
            stopped_after_days=0.0,
            recency_half_life_days=0.0,
            decide_on="lookback",
            min_increment_pct=0.0,
        )
    )
    reviews: Reviews = "all"
    max_cells: int = MAX_CELLS

    def purchase_dates(self, window: HindsightWindow) -> pd.DatetimeIndex:
        """The dates the hindsight may buy at."""
        hours = window.usage.hours
        if self.reviews == "first" or not len(hours):
            return pd.DatetimeIndex(hours[:1])
        months = pd.DatetimeIndex(hours[hours.is_month_start & (hours.hour == 0)])
        dates = window.review_dates.append(months).append(pd.DatetimeIndex(hours[:1]))
        return pd.DatetimeIndex(dates.unique().sort_values())

    def _recommended(self, window: HindsightWindow) -> tuple[Commitment, ...]:
        """``recommend`` on the realized usage, one tranche per month start (or one)."""
        usage = window.usage
        tranches = max(months_starts_count(usage.hours), 1) if self.reviews == "all" else 1
        policy = replace(self.policy, ladder_tranches=tranches)
        options = replace(self.options, lookback_days=lookback_days_of(usage) + 1.0)
        frame = usage.to_frame(keep_zeros=True)
        return recommended_purchases(frame, window.catalog, policy, window.owned, options)

    def __call__(self, window: HindsightWindow) -> CeilingPlan:
        """The best billed plan and the certified bound on the savings of any plan."""
        usage = window.usage
        if usage.total_instance_hours <= 0:
            return CeilingPlan((), ceiling_savings_usd=float("nan"))
        dates = self.purchase_dates(window)
        bound = ceiling_bound(
            usage, window.catalog, self.policy, list(dates), window.owned,
            max_cells=self.max_cells,
        )  # fmt: skip
        candidates = [
            self._recommended(window),
            *rounded_plans(bound, usage, window.catalog, window.owned,
                           max_cells=self.max_cells),
        ]  # fmt: skip
        plan, _ = best_billed_plan(usage, window.catalog, window.owned, candidates)
        bought_at = "one purchase" if len(dates) == 1 else f"purchases on {len(dates)} dates"
        notes = () if bound.exact_periods else (
            f"the ceiling's LP ({bought_at}) summed the window's hours into {bound.periods} "
            "groups: the bound is valid but looser",
        )  # fmt: skip
        return CeilingPlan(plan, ceiling_savings_usd=bound.savings_bound_usd, notes=notes)


__all__ = ["HINDSIGHT_TOLERANCE", "HindsightOptimum", "Reviews"]
