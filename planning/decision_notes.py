"""What a purchase's explanation says about the futures it was decided on.

A decision on the futures (:mod:`planning.future`) counts some keys at another level than the
lookback's: a key that has **risen to a new level** (a fleet launched, or doubled, and running at
its new size for two weeks, :func:`planning.future.risen_keys`) is counted at its last week, as a
fallen key is counted at its recent level (:mod:`planning.recency`). A purchase resting on such a
key is sized for where its usage is now, so on the lookback, which still holds the lower weeks
before the rise, its last unit can save less than it costs: its marginal saving
(:mod:`planning.marginal`, measured on the lookback's bill) is then negative while its expected
saving over the futures is positive.

:func:`annotate_futures_basis` names, in each purchase's sentence, the risen keys it may cover,
and says in words why a purchase has a negative marginal saving on the lookback, so that the two
figures a reader sees side by side (a saving expected over the futures, a loss at the margin of
the lookback) do not seem to disagree.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, Final

import numpy as np
import pandas as pd

from core.errors import param
from core.units import HOURS_PER_DAY, HOURS_PER_WEEK
from planning.future import LASTED_WEEKS, PAUSED_MIN_HOURS, STEADY_GROWTH_PER_WEEK
from planning.purchase_scope import key_text, keys_in_scope, listed_keys, scope_columns
from pricing.offerings import CommitmentKind

MAX_RISEN_NAMED: Final = 3
"""Risen keys named in one purchase's sentence; the others are counted [keys]."""

RISE_DAYS: Final = 14
"""The fewest days a risen key has run at its new level (the rule's last two weeks) [days]."""


def annotate_futures_basis(
    explanations: pd.DataFrame,
    risen_levels: pd.DataFrame | None,
    growing_levels: pd.DataFrame | None = None,
    next_review_hours: float | None = None,
) -> pd.DataFrame:
    """Append to each sentence of a decision on the futures the risen keys it rests on, and why
    its marginal saving on the lookback is negative where it is.

    The marginal saving is the lookback bill's finite difference; the purchase was sized on the
    futures (their expected savings and, with the risk option, their worst tail), which count
    risen and fallen keys at their recent levels and add migrations and exits. A negative value
    is what the lookback as it ran would have billed, not a flaw of the plan, and the sentence
    says so.

    Parameters
    ----------
    explanations
        :func:`optimizer.explain.explain`'s table of a decision on the futures.
    risen_levels
        :attr:`planning.future.Futures.risen_levels` (``None`` or empty: no risen key).
    growing_levels
        :attr:`planning.future.Futures.growing_levels` (``None`` or empty: no key bought
        ahead of its growth).
    next_review_hours
        :attr:`planning.future.FutureOptions.next_review_hours`: how far ahead of its growth
        it was bought.

    Returns
    -------
    pandas.DataFrame
        A copy with ``explanation`` extended where there is something to say.
    """
    if explanations.empty:
        return explanations
    rows = explanations.to_dict("records")  # one row per purchase
    named = _in_scope(risen_levels, rows)
    grown = _in_scope(growing_levels, rows)
    marginal = pd.to_numeric(explanations["marginal_savings_usd_per_unit"], errors="coerce")
    annotated = explanations.copy()
    annotated["explanation"] = [
        str(row["explanation"])
        + _risen_sentence(keys)
        + _growing_sentence(growing, next_review_hours)
        + (
            _lookback_sentence(row, rose=not keys.empty, grew=not growing.empty)
            if value < 0
            else ""
        )
        for row, keys, growing, value in zip(rows, named, grown, marginal.to_numpy(), strict=True)
    ]
    return annotated


def young_notices(young_levels: pd.DataFrame | None) -> tuple[str, ...]:
    """One sentence per key launched too recently to buy for (the first
    :data:`MAX_RISEN_NAMED`), then a count: ``"us-east-1 c5.4xlarge Linux/UNIX Shared started
    running 6.0 days before the lookback's end (17.2 instances over its last week): nothing is
    bought for it until it has run a whole week after the week it started in ..."``.

    Parameters
    ----------
    young_levels
        :attr:`planning.future.Futures.young_levels` (``None`` or empty: no young key).
    """
    if young_levels is None or young_levels.empty:
        return ()
    named = young_levels.sort_values("recent_level", ascending=False)
    lines = [_young_sentence(record) for record in named.head(MAX_RISEN_NAMED).to_dict("records")]
    left = len(named) - MAX_RISEN_NAMED
    if left > 0:
        lines.append(f"{left} more key(s) started running as recently; nothing is bought for them")
    return tuple(lines)


def _young_sentence(record: Mapping[Hashable, Any]) -> str:
    """One young key's warning: launched days ago, or launched and idle at the end since."""
    started = (
        f"{key_text(record, full=True)} started running {record['days_running']:.1f} days before "
        f"the lookback's end ({record['recent_level']:.1f} instances over its last week)"
    )
    idle_hours = float(record.get("idle_hours", 0.0))
    if idle_hours >= PAUSED_MIN_HOURS:
        return (
            f"{started} and has been idle for its last {idle_hours:.0f} hours, longer than any "
            "pause since it started: nothing is bought for it, as for a load test that is over; "
            "a later review buys for it if it runs again"
        )
    return (
        f"{started}: nothing is bought for it until it has run {_weeks_text(LASTED_WEEKS)} after "
        "the week it started in, so that a load test or a short burst is not committed to for a "
        "term; a later review buys for it if it keeps running"
    )


def idle_futures_note(young_levels: pd.DataFrame | None) -> str:
    """Why nothing is bought when no key runs in any future the decision sampled.

    Parameters
    ----------
    young_levels
        :attr:`planning.future.Futures.young_levels` of those futures (the keys launched too
        recently to buy for: their warnings name them).
    """
    young = 0 if young_levels is None else len(young_levels)
    why = (
        f"the {young} key(s) still running started too recently to buy for (named in the "
        "warnings); the others stopped"
        if young
        else "every key's usage ends before the term starts"
    )
    return (
        f"No key runs in any future the decision sampled ({why}), so nothing is bought; a later "
        "review buys for what keeps running."
    )


def _weeks_text(weeks: int) -> str:
    """``a whole week``, ``2 whole weeks``."""
    return "a whole week" if weeks == 1 else f"{weeks} whole weeks"


def _in_scope(keys: pd.DataFrame | None, rows: list[dict[Hashable, Any]]) -> list[pd.DataFrame]:
    """The keys each purchase (``rows``) may cover, one table per purchase."""
    table = keys if keys is not None else pd.DataFrame()
    if table.empty:
        return [table] * len(rows)
    columns = scope_columns(table)
    return [table.loc[keys_in_scope(columns, row)] for row in rows]


def _growing_sentence(named: pd.DataFrame, next_review_hours: float | None) -> str:
    """``" It rests partly on m4.large us-east-1 usage growing 0.7 % a week; the decision
    bought ahead of that growth, for as long as it is likely to last."``, or ``""``."""
    if named.empty:
        return ""
    named = named.sort_values("recent_level", ascending=False)
    shown = named.head(MAX_RISEN_NAMED).to_dict("records")
    parts = [f"{key_text(r)} usage growing {r['growth_pct_per_week']:.1f} % a week" for r in shown]
    listed = listed_keys(parts, len(named) - len(shown), "grows steadily")
    how_far = (
        "for as long as it is likely to last"
        if next_review_hours is None
        else f"up to the next review, in {next_review_hours / 24.0:g} days"
    )
    return f" It rests partly on {listed}; the decision bought ahead of that growth, {how_far}."


def _risen_sentence(named: pd.DataFrame) -> str:
    """``" It rests partly on c5.xlarge us-west-2 usage that rose to 2.6 times its earlier
    level over the last 14 days; the decision counted it at that level."``, or ``""``. A key
    at its new level for longer says when it rose (``"… level 6 weeks ago and has held there
    since"``)."""
    if named.empty:
        return ""
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = named["recent_level"] / named["older_level"].where(named["older_level"] > 0)
    if "days_at_level" not in named:
        named = named.assign(days_at_level=float(RISE_DAYS))
    named = named.assign(factor=factor).sort_values("recent_level", ascending=False)
    shown = named.head(MAX_RISEN_NAMED).to_dict("records")
    parts = [
        f"{key_text(r)} usage that {_rise_text(float(r['factor']))} "
        f"{_rise_when(float(r['days_at_level']))}"
        for r in shown
    ]
    listed = listed_keys(parts, len(named) - len(shown), "rose the same way")
    one = len(named) == 1
    return (
        f" It rests partly on {listed}; the decision counted "
        f"{'it at that level' if one else 'them at those levels'}."
    )


def _rise_text(factor: float) -> str:
    """``rose to 2.6 times its earlier level``, or ``started running`` for a key idle before."""
    if not np.isfinite(factor):
        return "started running"
    return f"rose to {factor:.1f} times its earlier level"


def _rise_when(days_at_level: float) -> str:
    """``over the last 14 days`` (the rule's last two weeks), or ``6 weeks ago and has held
    there since`` for a key at its new level for longer."""
    if days_at_level <= RISE_DAYS:
        return f"over the last {RISE_DAYS} days"
    weeks = days_at_level * HOURS_PER_DAY / HOURS_PER_WEEK
    return f"{weeks:.0f} weeks ago and has held there since"


def _lookback_sentence(row: Mapping[Hashable, Any], *, rose: bool, grew: bool = False) -> str:
    """``" On the lookback as it ran, its last unit would have lowered the savings by …"``."""
    unit = "RI" if row["kind"] == CommitmentKind.RESERVED_INSTANCE else "USD/h of commitment"
    lost = -float(row["marginal_savings_usd_per_unit"])
    if rose:
        why = "the lookback still holds the weeks before the rise"
    elif grew:
        why = "the futures count the growth to come, the lookback only the weeks before it"
    else:
        why = "the futures' levels, migrations and exits are not the lookback's"
    return (
        f" On the lookback as it ran, its last unit would have lowered the savings by "
        f"{lost:,.2f} USD per {unit}: it is sized for the futures, and {why}."
    )


def growth_note(growing_keys: int, lookback_weeks: int, next_review_hours: float | None) -> str:
    """The decision's note on the keys it bought ahead of steady growth for
    (:func:`planning.future.growth_weeks`).

    Examples
    --------
    >>> growth_note(2, 13, None)[:70]
    '2 keys grow steadily (a clear rise of at most 2 % of their level a wee'
    >>> growth_note(1, 13, 720.0).endswith("the next review, in 30 days, buys what grows past it")
    True
    """
    keys, its = (
        ("1 key grows", "its") if growing_keys == 1 else (f"{growing_keys} keys grow", "their")
    )
    rise = f"{STEADY_GROWTH_PER_WEEK:.0%}".replace("%", " %")
    head = (
        f"{keys} steadily (a clear rise of at most {rise} of {its} level a week, all along "
        "the lookback): the decision buys ahead of that growth"
    )
    if next_review_hours is not None:
        days = next_review_hours / 24.0
        return (
            f"{head} up to where it gets by the next review; the next review, in {days:g} "
            "days, buys what grows past it"
        )
    return (
        f"{head} for as long as it is likely to last: in half the futures {lookback_weeks} "
        f"weeks more (the lookback's length) or less, in a quarter past {3 * lookback_weeks} "
        f"weeks; {param('next_review_hours')} buys only up to the next review"
    )


__all__ = ["MAX_RISEN_NAMED", "RISE_DAYS", "annotate_futures_basis", "growth_note", "young_notices"]
