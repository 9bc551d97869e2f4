"""``recommend`` as a policy step: the purchases of one review, dated at the review.

Shared by the policies that run the optimizer (:mod:`planning.policies.ours`) and the hindsight
optimum (:mod:`planning.policies.hindsight`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Final

import pandas as pd

from core.times import month_start_rows
from optimizer.policy import Policy
from planning.recommend import EverythingStoppedError, RecommendOptions, recommend
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment
from pricing.inventory.values import term_end
from scenarios.backtest import Review, as_if_owned_throughout
from usage.table import UsageMatrix

PURCHASE_POLICY: Final = Policy()
"""What every policy of the standard line-up buys: 1-year No Upfront standard RIs and SPs."""


def recommended_purchases(
    usage: pd.DataFrame,
    catalog: PriceCatalog,
    policy: Policy,
    owned: Sequence[Commitment],
    options: RecommendOptions,
) -> tuple[Commitment, ...]:
    """``recommend``'s purchases, or none when the usage has nothing to commit to (none at all,
    or every key stopped before the lookback's end: :mod:`planning.recency`)."""
    if usage.empty or float(usage["quantity"].sum()) <= 0:
        return ()
    # the purchases are all a review reads: no stress test of them
    options = replace(options, stressed_families=0)
    try:
        return recommend(usage, catalog, policy, owned=owned, options=options).purchases
    except EverythingStoppedError:
        return ()


def lookback_days_of(usage: UsageMatrix) -> float:
    """The days ``usage`` spans (at least one hour's worth) [days]."""
    return max(len(usage.hours), 1) / 24.0


def at_review(purchase: Commitment, review: Review) -> Commitment:
    """A recommended purchase (dated at its lookback's start) moved to the review date."""
    start = review.at.to_pydatetime()
    return replace(
        purchase, start=start, end=term_end(review.at.to_pydatetime(), purchase.term_years)
    )


def recommended_on_lookback(
    review: Review,
    policy: Policy,
    options: RecommendOptions,
    owned: Sequence[Commitment] | None = None,
) -> tuple[Commitment, ...]:
    """``recommend`` on the review's whole lookback, dated at the review.

    The commitments owned now (``owned``, by default ``review.active_owned()``) are billed as if
    they had covered all of the lookback (:func:`scenarios.backtest.as_if_owned_throughout`),
    as ``commitopt recommend`` does; each keeps its end, so a decision on the futures sees when
    it expires.
    """
    held = review.active_owned() if owned is None else tuple(owned)
    owned = as_if_owned_throughout(held, review.usage)
    options = replace(options, lookback_days=lookback_days_of(review.usage))
    bought = recommended_purchases(review.usage_frame, review.catalog, policy, owned, options)
    return tuple(at_review(p, review) for p in bought)


def months_starts_count(hours: pd.DatetimeIndex) -> int:
    """Purchase dates of a monthly ladder over ``hours``: the first hour and each month start."""
    return len(month_start_rows(hours))


__all__ = [
    "PURCHASE_POLICY",
    "at_review",
    "lookback_days_of",
    "months_starts_count",
    "recommended_on_lookback",
    "recommended_purchases",
]
