"""The knee rule of thumb: a Compute Savings Plan towards the knee at an assumed discount."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pricing.inventory import Commitment
from pricing.offerings import CommitmentKind, floor_to_sp_step
from scenarios.backtest import Review, savings_plan_purchase
from usage.priced import without_unpriced_services


@dataclass(frozen=True)
class KneeRule:
    """A rule of thumb: a Compute Savings Plan up to the knee at an assumed flat discount.

    With one pool and a flat discount ``d`` the optimal commitment is ``(1 − d)`` × the
    ``d``-quantile of the hourly on-demand spend (the closed form of docs/optimizer.md). At each
    review the target is computed on the lookback's hourly on-demand-equivalent spend and a fixed
    ``fraction`` of the gap between it and the Compute Savings Plans owned now is bought
    (nothing when owned is at or above target). RIs and EC2 Instance SPs owned are ignored, as
    are keys of other services without an on-demand rate (the simulator leaves them out).

    Parameters
    ----------
    assumed_discount
        The flat discount assumed [0–1].
    fraction
        Share of the gap bought at each review [0–1].
    term_years, payment_option
        The plan bought.
    """

    assumed_discount: float = 0.25
    fraction: float = 0.5
    term_years: int = 1
    payment_option: str = "No Upfront"

    def __call__(self, review: Review) -> Sequence[Commitment]:
        """A fraction of the gap to the knee, as a Compute Savings Plan."""
        usage, _ = without_unpriced_services(review.usage, review.catalog)
        if not len(usage.hours):
            return ()
        od = review.catalog.require_on_demand(usage.keys)
        spend = usage.quantity @ od  # per hour [USD]
        target = (1.0 - self.assumed_discount) * float(np.quantile(spend, self.assumed_discount))
        owned = sum(
            c.commitment_usd_per_hour or 0.0
            for c in review.active_owned()
            if c.kind == CommitmentKind.COMPUTE_SAVINGS_PLAN
        )
        buy = float(floor_to_sp_step(np.array([self.fraction * (target - owned)]))[0])
        if buy <= 0:
            return ()
        return (
            savings_plan_purchase(
                CommitmentKind.COMPUTE_SAVINGS_PLAN,
                buy,
                review.at,
                term_years=self.term_years,
                payment_option=self.payment_option,
                purchase_id="knee",
            ),
        )


__all__ = ["KneeRule"]
