"""The least increment bought on top of commitments owned.

A purchase decision is noisy: the same lookback decided on other futures buys a few per cent
more or less. Commitments are never sold, so a review that tops up whenever its decision says
more ratchets the cover up on noise alone, month after month. So, with commitments owned, an
increment that costs less per hour than :data:`MIN_INCREMENT_PCT` of what they cost is not
bought (:func:`below_min_increment` says why); ``recommend`` and ``review`` take
``--min-increment``, and the backtest's ladder decides as they do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Final

import pandas as pd

from billing.portfolio import build_portfolio
from core.errors import param
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment
from pricing.inventory.values import term_end
from usage.table import UsageMatrix

MIN_INCREMENT_PCT: Final = 2.0
"""On top of commitments owned, an increment costing less per hour than this share of what
they cost is not bought [%]. A decision's own noise is of that size (the same lookback with
other futures: standard deviation 0.7-1.8 % of the plan's hourly cost on three archetypes), and
commitments are never sold, so monthly top-ups within it ratchet the cover up on noise alone (a
ladder on a fleet declining 1 % a month fell 1,596 USD behind its own first purchase)."""


def _hourly_cost_usd(
    commitments: Sequence[Commitment], hour: pd.DatetimeIndex, catalog: PriceCatalog
) -> float:
    """What ``commitments`` cost in ``hour`` (one hour), effective: upfront spread over the term
    plus the recurring fee, rates the items lack from the catalog as the bill takes them [USD]."""
    if not commitments:
        return 0.0
    instruments = build_portfolio(commitments, hour, catalog).instruments
    return float(sum(i.effective_usd_per_hour * i.charged[0] for i in instruments))


def below_min_increment(
    purchases: Sequence[Commitment],
    owned: Sequence[Commitment],
    window: UsageMatrix,
    catalog: PriceCatalog,
    min_increment_pct: float,
) -> str | None:
    """Why the purchases are not made (:data:`MIN_INCREMENT_PCT`), or ``None`` to make them.

    Parameters
    ----------
    purchases
        What the decision would buy.
    owned
        The commitments owned (as the decision saw them).
    window
        The lookback; both are costed in the hour after it (owned commitments ended by then
        cost nothing; the purchases as if they started then).
    catalog
        Rates the items lack.
    min_increment_pct
        The least increment, in % of what the owned commitments cost per hour; 0 buys any.

    Returns
    -------
    str or None
        A note for the summary (what was found, its share, the option to change), or ``None``.
    """
    if min_increment_pct <= 0 or not purchases or not owned or not len(window.hours):
        return None
    after = pd.DatetimeIndex([pd.Timestamp(window.hours[-1]) + pd.Timedelta(hours=1)])
    owned_usd = _hourly_cost_usd(owned, after, catalog)
    moment = after[0].to_pydatetime()
    bought_usd = _hourly_cost_usd(
        [replace(p, start=moment, end=term_end(moment, p.term_years)) for p in purchases],
        after,
        catalog,
    )
    if owned_usd <= 0 or bought_usd >= min_increment_pct / 100.0 * owned_usd:
        return None
    return (
        f"The increment found ({len(purchases)} purchase{'s' if len(purchases) > 1 else ''}, "
        f"{bought_usd:,.3f} USD/h) is {100.0 * bought_usd / owned_usd:.1f} % of the "
        f"{owned_usd:,.3f} USD/h of commitments owned, below {param('min_increment_pct')} "
        f"{min_increment_pct:g} %: within the decision's own noise, so nothing is bought; set it "
        "to 0 to buy it."
    )


__all__ = ["MIN_INCREMENT_PCT", "below_min_increment"]
