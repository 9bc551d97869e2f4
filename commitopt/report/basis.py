"""What the Monte Carlo range is measured on, beside the data period's figures, in words.

The summary's point figures bill the data period's usage with the commitments active then; the
Monte Carlo range bills forecast usage paths over a horizon after the data, on which every owned
commitment ends on its own date (no renewal is assumed). The two are different measurements:
:func:`monte_carlo_note` names both bases, the owned commitments that expire inside the horizon
(the usual reason the range sits below the point figure), and the purchases' own savings against
the current commitments on both bases, which is the like-for-like comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import pandas as pd

from commitopt.report.formatting import day, pct, usd, usd_rate
from commitopt.report.inputs import MonteCarloSavings
from core.units import HOURS_PER_MONTH
from pricing.inventory import Commitment
from pricing.offerings import CommitmentKind

MATERIAL_GAP_PCT: Final = 0.5
"""A median this far below the data period's rate is said to sit below it [percentage points]."""

LISTED_IDS: Final = 5
"""Expiring commitments named one by one before "and N more"."""


def horizon_expiring(
    owned: Sequence[Commitment], start: pd.Timestamp | None, hours: float | None
) -> tuple[Commitment, ...]:
    """Owned commitments ending inside ``[start, start + hours)``, soonest first."""
    if start is None or hours is None:
        return ()
    stop = start + pd.Timedelta(hours=hours)
    inside = (item for item in owned if start < pd.Timestamp(item.end) <= stop)
    return tuple(sorted(inside, key=lambda item: (item.end, item.id)))


def _noun(items: Sequence[Commitment]) -> str:
    kinds = {item.kind for item in items}
    many = len(items) > 1
    if kinds == {CommitmentKind.RESERVED_INSTANCE}:
        return "RIs" if many else "RI"
    if CommitmentKind.RESERVED_INSTANCE not in kinds:
        return "Savings Plans" if many else "Savings Plan"
    return "commitments"


def _ids(items: Sequence[Commitment]) -> str:
    names = [item.id.rsplit("/", 1)[-1] for item in items[:LISTED_IDS]]  # an ARN: its id
    more = len(items) - len(names)
    return ", ".join(names) + (f" and {more} more" if more else "")


def _dates(items: Sequence[Commitment]) -> str:
    days = sorted({day(pd.Timestamp(item.end)) for item in items})
    return f"on {days[0]}" if len(days) == 1 else f"between {days[0]} and {days[-1]}"


def _horizon_words(mc: MonteCarloSavings, hours: float | None) -> str:
    if hours is None:
        return f"the horizon ({mc.horizon})"
    return f"the {hours / HOURS_PER_MONTH:,.0f}-month horizon"


def expiry_sentence(
    expiring: Sequence[Commitment],
    *,
    mc: MonteCarloSavings,
    hours: float | None,
    point_pct: float,
    owned_known: bool,
) -> str:
    """Which owned commitments end inside the horizon and what that does to the range."""
    if not owned_known:
        return (
            "The owned commitments were not given to the report, so which of them expire inside "
            f"{_horizon_words(mc, hours)} is unknown."
        )
    if hours is None:
        return f"The horizon's length is unknown ({mc.horizon}), so its expiries are not listed."
    if not expiring:
        return (
            f"No owned commitment expires inside {_horizon_words(mc, hours)}; the range differs "
            "from the data period's rate through the forecast usage alone."
        )
    verb = "expires" if len(expiring) == 1 else "expire"
    subject = "it" if len(expiring) == 1 else "they"
    text = (
        f"{len(expiring)} owned {_noun(expiring)} ({_ids(expiring)}) {verb} {_dates(expiring)}, "
        f"inside {_horizon_words(mc, hours)}: after that, the usage {subject} covered is paid "
        "on-demand in the current case, and with the plan where the purchases do not cover it "
        "(no renewal is assumed)"
    )
    esr = mc.savings_vs_on_demand_pct
    if esr is not None and mc.percentiles(esr)[1] < point_pct - MATERIAL_GAP_PCT:
        text += ", which is why the range sits below the data period's rate"
    current = mc.current_savings_vs_on_demand_pct
    if current is not None:
        text += (
            f"; the owned commitments alone save a median {pct(mc.percentiles(current)[1])} "
            "over the horizon"
        )
    return text + "."


def monte_carlo_note(
    mc: MonteCarloSavings | None,
    *,
    point_pct: float,
    current_point_pct: float,
    savings_vs_current_usd_per_month: float,
    period_start: pd.Timestamp | None,
    period_end: pd.Timestamp | None,
    owned: Sequence[Commitment],
    owned_known: bool,
) -> str:
    """How the Monte Carlo range relates to the data period's figures (empty without one).

    Parameters
    ----------
    mc
        The Monte Carlo savings.
    point_pct, current_point_pct
        Effective savings rate over the data period, with the plan and current [%].
    savings_vs_current_usd_per_month
        What the purchases save over the data period, per 730 h [USD/month].
    period_start, period_end
        The data period; the horizon starts at its end.
    owned, owned_known
        The owned commitments, and whether they were given.
    """
    if mc is None:
        return ""
    hours = mc.length_hours()
    period = f"{day(period_start)} to {day(period_end)}"
    sentences = []
    if mc.savings_vs_on_demand_pct is not None:
        e5, e50, e95 = mc.percentiles(mc.savings_vs_on_demand_pct)
        sentences.append(
            f"Two bases: the effective savings rate of {pct(point_pct)} (current "
            f"{pct(current_point_pct)}) bills the data period's usage ({period}) with the "
            f"commitments active then; its range, P5 {pct(e5)} to P95 {pct(e95)} (median "
            f"{pct(e50)}), bills {mc.savings_vs_current_usd.size:,} forecast usage paths over "
            f"{mc.horizon}, on which every commitment ends on its own date."
        )
        expiring = horizon_expiring(owned, period_end, hours)
        sentences.append(
            expiry_sentence(
                expiring, mc=mc, hours=hours, point_pct=point_pct, owned_known=owned_known
            )
        )
    p5, p50, p95 = mc.percentiles()
    per_month = f" ({usd_rate(p50 / (hours / HOURS_PER_MONTH), 'month')})" if hours else ""
    sentences.append(
        "Like for like, the purchases themselves save against the current commitments "
        f"{usd_rate(savings_vs_current_usd_per_month, 'month')} over the data period, and a "
        f"median {usd(p50)}{per_month} over {mc.horizon} (P5 {usd(p5)}, P95 {usd(p95)})."
    )
    return " ".join(sentences)


__all__ = ["expiry_sentence", "horizon_expiring", "monte_carlo_note"]
