"""Renewals queued at expiry: an owned commitment that ends before the next review is replaced
when it ends, not before.

A review that finds owned commitments ending before its next review can replace them now, and
pay twice until they end, or leave them to the next review, and pay on-demand from their end
until then. On seasonal_review_after_peak the ladder's last review replaced 10.8 USD/h that
ended 9 days later: 2,338 USD paid twice. AWS sells a third way: a purchase queued to start
later (a regional Reserved Instance with ``PurchaseTime``, a Savings Plan with
``purchaseTime``), paid from its start. So the decision is taken in two steps
(:func:`queued_renewals`):

1. **What to buy now**: the decision with the ending commitments held to the end of any term
   bought now, as if renewed. It buys what the rest of the usage needs.
2. **What replaces them**: for each UTC day on which some of them end, soonest first, the
   decision with those gone and everything bought so far held. Its purchases are queued to
   start at the hour the first of them ends.

With nothing ending before the next review this is the one decision it always was. Each day
with an ending adds one decision (at most :data:`MAX_RENEWAL_DAYS`; later endings join the
last).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Final

from pricing.inventory import Commitment
from pricing.inventory.values import term_end

Decide = Callable[[tuple[Commitment, ...]], tuple[Commitment, ...]]
"""The decision: the commitments owned -> the purchases, starting now."""

MAX_RENEWAL_DAYS: Final = 4
"""Days with endings that get a decision of their own; the endings after them are replaced
with the last [1]."""

LONGEST_TERM_YEARS: Final = 3
"""An ending commitment held "as if renewed" is held this long past the review [years]."""


def ending_days(
    owned: Sequence[Commitment], now: datetime, until: datetime
) -> list[list[Commitment]]:
    """The owned commitments ending in ``(now, until]``, grouped by UTC day, soonest first (at
    most :data:`MAX_RENEWAL_DAYS` groups: the endings after them join the last)."""
    ending = sorted((c for c in owned if now < c.end <= until), key=lambda c: c.end)
    groups: list[list[Commitment]] = []
    for item in ending:
        same_day = groups and groups[-1][0].end.date() == item.end.date()
        if same_day or len(groups) == MAX_RENEWAL_DAYS:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def queued(purchase: Commitment, start: datetime) -> Commitment:
    """``purchase`` queued to start at ``start``, its whole term from there."""
    return replace(purchase, start=start, end=term_end(start, purchase.term_years))


def queued_renewals(
    decide: Decide, owned: Sequence[Commitment], *, now: datetime, until: datetime
) -> tuple[Commitment, ...]:
    """The purchases now, and the replacements of what ends by ``until`` queued at its end.

    Parameters
    ----------
    decide
        The decision (:data:`Decide`), given the commitments it may count on.
    owned
        The commitments owned (those that end after ``until`` as the decision should see them).
    now
        The review (the decision's purchases start here).
    until
        The next review: a commitment ending by then is replaced at its end.

    Returns
    -------
    tuple of Commitment
        The purchases starting ``now``, then each day's replacements, queued to start at the
        first ending of their day (see the module).
    """
    days = ending_days(owned, now, until)
    if not days:
        return decide(tuple(owned))
    ending = {id(c) for day in days for c in day}
    kept = tuple(c for c in owned if id(c) not in ending)
    renewed_end = term_end(now, LONGEST_TERM_YEARS)
    bought = list(decide((*kept, *(replace(c, end=renewed_end) for day in days for c in day))))
    for index, day in enumerate(days):
        later = (replace(c, end=renewed_end) for rest in days[index + 1 :] for c in rest)
        replacements = decide((*kept, *later, *bought))
        start = day[0].end
        bought.extend(queued(p, start) for p in replacements)
    return tuple(bought)


__all__ = [
    "LONGEST_TERM_YEARS",
    "MAX_RENEWAL_DAYS",
    "Decide",
    "ending_days",
    "queued",
    "queued_renewals",
]
