"""Renewals queued at expiry: an owned commitment that ends before the next review is replaced
when it ends, not before.

A review that finds owned commitments ending before its next review can replace them now, and
pay twice until they end, or leave them to the next review, and pay on-demand from their end
until then. On seasonal_review_after_peak the ladder's last review replaced 10.8 USD/h that
ended 9 days later: 2,338 USD paid twice. AWS sells a third way: a purchase queued to start
later (a regional Reserved Instance with ``PurchaseTime``, a Savings Plan with
``purchaseTime``), paid from its start. So the decision is taken in two steps
(:func:`renewals`; :func:`queued_renewals` gives its purchases in one tuple):

1. **What to buy now**: the decision with the ending commitments held to the end of any term
   bought now, as if renewed. It buys what the rest of the usage needs.
2. **What replaces them**: for each UTC day on which some of them end, soonest first, the
   decision with those gone and everything bought so far held (as the decision dated it: a
   replacement counts from the review, not from its queued start, so the next day's decision
   sees it covering the lookback). Its purchases are queued to start at the hour the first
   of them ends.

With nothing ending before the next review this is the one decision it always was. Each day
with an ending adds one decision (at most :data:`MAX_RENEWAL_DAYS`; later endings join the
last).

AWS queues regional EC2 Reserved Instances and Savings Plans only: the reservation APIs of RDS,
ElastiCache, MemoryDB, OpenSearch and Redshift cannot (:func:`can_queue`). A replacement of
theirs starts at the review, as before, and is paid twice until what it replaces ends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from pricing.inventory import Commitment
from pricing.inventory.values import term_end
from pricing.offerings import CommitmentKind
from pricing.services import EC2, service_of

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


def can_queue(purchase: Commitment) -> bool:
    """Whether AWS can queue ``purchase`` to start later: a Savings Plan or a regional EC2
    Reserved Instance can, a zonal RI or a database service's reservation cannot."""
    if purchase.kind != CommitmentKind.RESERVED_INSTANCE:
        return True
    regional = purchase.scope != "Availability Zone"
    return regional and service_of(str(purchase.instance_type), purchase.platform) == EC2


def queued(purchase: Commitment, start: datetime, now: datetime) -> Commitment:
    """``purchase`` queued to start at ``start``, its whole term from there; one AWS cannot
    queue (:func:`can_queue`) starts ``now``, the review."""
    moment = start if can_queue(purchase) else now
    return replace(purchase, start=moment, end=term_end(moment, purchase.term_years))


@dataclass(frozen=True)
class Renewal:
    """The replacement of the owned commitments that end on one day.

    Attributes
    ----------
    start
        When the replacements start: the hour the first of them ends.
    replaced
        The owned commitments ending that day (and, on the last of
        :data:`MAX_RENEWAL_DAYS`, after it).
    purchases
        The replacements, queued to start at ``start`` (those AWS cannot queue start at the
        review: :func:`can_queue`).
    """

    start: datetime
    replaced: tuple[Commitment, ...]
    purchases: tuple[Commitment, ...]


def renewals(
    decide: Decide, owned: Sequence[Commitment], *, now: datetime, until: datetime
) -> tuple[tuple[Commitment, ...], tuple[Renewal, ...]]:
    """The purchases now, and the replacement of what ends by ``until``, day by day.

    Parameters
    ----------
    decide
        The decision (:data:`Decide`), given the commitments it may count on. It is called
        once, then once per day with endings, soonest first; each call holds what the
        earlier ones bought, as they dated it.
    owned
        The commitments owned (those that end after ``until`` as the decision should see them).
    now
        The review (the decision's purchases start here).
    until
        The next review: a commitment ending in ``(now, until]`` is replaced at its end.

    Returns
    -------
    tuple
        The purchases starting now, and one :class:`Renewal` per day with endings (none when
        nothing ends by ``until``: then ``decide`` is called once, with ``owned``).
    """
    days = ending_days(owned, now, until)
    if not days:
        return decide(tuple(owned)), ()
    ending = {id(c) for day in days for c in day}
    kept = tuple(c for c in owned if id(c) not in ending)
    renewed_end = term_end(now, LONGEST_TERM_YEARS)
    bought = decide((*kept, *(replace(c, end=renewed_end) for day in days for c in day)))
    held = list(bought)
    steps = []
    for index, day in enumerate(days):
        later = (replace(c, end=renewed_end) for rest in days[index + 1 :] for c in rest)
        replacements = decide((*kept, *later, *held))
        held.extend(replacements)
        start = day[0].end
        bought_later = tuple(queued(p, start, now) for p in replacements)
        steps.append(Renewal(start, tuple(day), bought_later))
    return bought, tuple(steps)


def queued_renewals(
    decide: Decide, owned: Sequence[Commitment], *, now: datetime, until: datetime
) -> tuple[Commitment, ...]:
    """The purchases now, then each day's replacements queued to its first ending
    (:func:`renewals`, flattened)."""
    bought, steps = renewals(decide, owned, now=now, until=until)
    return (*bought, *(p for step in steps for p in step.purchases))


__all__ = [
    "LONGEST_TERM_YEARS",
    "MAX_RENEWAL_DAYS",
    "Decide",
    "Renewal",
    "can_queue",
    "ending_days",
    "queued",
    "queued_renewals",
    "renewals",
]
