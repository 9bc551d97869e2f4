"""The hindsight optimum: the optimizer on the window's realized usage, the backtest's ceiling.

It runs with monthly tranches (``Policy.ladder_tranches``) at the same dates as monthly reviews,
and the same window accounting as the simulator (an offer is charged for its hours inside the
window only, :mod:`optimizer.build`). It may buy every offering the policies buy, so that it is
never beaten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from optimizer.policy import Policy
from planning.policies.recommended import (
    PURCHASE_POLICY,
    lookback_days_of,
    months_starts_count,
    recommended_purchases,
)
from planning.recommend import RecommendOptions
from pricing.inventory import Commitment
from scenarios.backtest import HindsightWindow

HINDSIGHT_TOLERANCE: Final = 1e-4
"""Certified relative gap of the hindsight's cutting planes [1] (recommend's default is 1e-3)."""


@dataclass(frozen=True)
class HindsightOptimum:
    """The optimizer on the window's realized usage, buying in monthly tranches.

    Tranche 0 starts with the window, tranche m at the m-th month start after it, which are the
    dates of monthly reviews (:func:`scenarios.backtest.review_dates`); offers are charged only
    inside the window, as the simulator bills. So every purchase a monthly policy can make is
    one the hindsight could make, and its plan is the cheapest up to the certified tolerance
    and rounding to whole RIs.

    Parameters
    ----------
    policy
        What may be bought (``ladder_tranches`` is set from the window).
    options
        How to solve; tolerance :data:`HINDSIGHT_TOLERANCE` by default.
    """

    policy: Policy = PURCHASE_POLICY
    options: RecommendOptions = field(
        # hindsight sees the whole window it bills: a key that stops inside it is still usage
        default_factory=lambda: RecommendOptions(
            tolerance=HINDSIGHT_TOLERANCE,
            stopped_after_days=0.0,
            recency_half_life_days=0.0,
            decide_on="lookback",
        )
    )

    def __call__(self, window: HindsightWindow) -> Sequence[Commitment]:
        """The hindsight plan: purchases starting at the window's month starts."""
        usage = window.usage
        if usage.total_instance_hours <= 0:
            return ()
        tranches = max(months_starts_count(usage.hours), 1)
        policy = replace(self.policy, ladder_tranches=tranches)
        options = replace(self.options, lookback_days=lookback_days_of(usage) + 1.0)
        frame = usage.to_frame(keep_zeros=True)
        return recommended_purchases(frame, window.catalog, policy, window.owned, options)


__all__ = ["HINDSIGHT_TOLERANCE", "HindsightOptimum"]
