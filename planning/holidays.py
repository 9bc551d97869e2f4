"""The year-end holidays are not a level a commitment is bought for.

Many estates run lower from 24 December to 1 January: offices close, batch work pauses, B2B
traffic falls. A decision taken on 1 January sees those days as the lookback's last week, and
the rules that buy for where usage is now (a new low, a fallen or stopped key:
:mod:`planning.future`, :mod:`planning.recency`) take the dip for the estate's new level. A
B2B estate 40 % lower over the holidays, decided on 1 January, bought for the dip: its one-shot
saved 9,544 USD over the year where ce-30d saved 15,131.

So the decision's input (not the lookback's bill) has each hour of the holidays replaced by the
same hour of the week two weeks earlier (or three; or two or three weeks later, the first of
them inside the lookback and outside the holidays), for each key whose holidays run below
:data:`DIP_SHARE` of those hours: a steady, growing or peaking key keeps its own. A fleet that
really stopped on 24 December is then bought for until the next review sees it stopped; one
already lower in the week before the holidays fell before them, and keeps its own hours. The
notes say how many hours were replaced.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

import numpy as np
import pandas as pd

from core.units import HOURS_PER_WEEK
from usage.table import UsageMatrix

HOLIDAY_FIRST_DAY: Final = (12, 24)
"""(month, day) of the holidays' first day, UTC [date]."""

HOLIDAY_LAST_DAY: Final = (1, 1)
"""(month, day) of the holidays' last day, UTC [date]."""

STAND_IN_WEEKS: Final = (-2, -3, 2, 3)
"""Weeks from a holiday hour to the hour that stands in for it, tried in turn: the first inside
the lookback and outside the holidays [weeks]."""

DIP_SHARE: Final = 0.9
"""A key's holiday hours are replaced only when they run below this share of their stand-ins
(a dip); a key as busy over the holidays (steady, growing, a season's peak) keeps them [1]."""


def holiday_hours(hours: pd.DatetimeIndex) -> np.ndarray:
    """Whether each hour falls on the year-end holidays (:data:`HOLIDAY_FIRST_DAY` to
    :data:`HOLIDAY_LAST_DAY`, UTC)."""
    month, day = hours.month.to_numpy(), hours.day.to_numpy()
    first_month, first_day = HOLIDAY_FIRST_DAY
    last_month, last_day = HOLIDAY_LAST_DAY
    return np.asarray(
        ((month == first_month) & (day >= first_day)) | ((month == last_month) & (day <= last_day)),
        dtype=bool,
    )


def without_year_end_holidays(usage: UsageMatrix) -> tuple[UsageMatrix, int]:
    """``usage`` with each holiday hour replaced by a stand-in (see the module).

    Parameters
    ----------
    usage
        The lookback, hours × keys (contiguous hours).

    Returns
    -------
    tuple
        The mended lookback (``usage`` itself when no key dipped) and the number of holiday
        hours replaced (for the keys that dipped).
    """
    holiday = holiday_hours(usage.hours)
    if usage.sampled or not holiday.any():
        return usage, 0
    rows = np.flatnonzero(holiday)
    source = np.full(rows.size, -1, dtype=np.intp)
    for weeks in STAND_IN_WEEKS:
        candidate = rows + weeks * HOURS_PER_WEEK
        inside = (candidate >= 0) & (candidate < len(holiday))
        usable = inside & ~holiday[np.clip(candidate, 0, len(holiday) - 1)] & (source < 0)
        source[usable] = candidate[usable]
    rows, source = rows[source >= 0], source[source >= 0]
    if not rows.size:
        return usage, 0
    held = usage.quantity[rows]
    stand_in = usage.quantity[source]
    dipped = held.mean(axis=0) < DIP_SHARE * stand_in.mean(axis=0)  # per key
    # a key already lower in the week before the holidays fell (or stopped) before them
    before = np.arange(max(int(np.argmax(holiday)) - HOURS_PER_WEEK, 0), int(np.argmax(holiday)))
    if before.size:
        dipped &= usage.quantity[before].mean(axis=0) >= DIP_SHARE * stand_in.mean(axis=0)
    if not dipped.any():
        return usage, 0
    quantity = usage.quantity.copy()
    quantity[np.ix_(rows, np.flatnonzero(dipped))] = stand_in[:, dipped]
    return replace(usage, quantity=quantity), int(rows.size)


def holidays_note(replaced_hours: int) -> str:
    """The decision's note on the hours :func:`without_year_end_holidays` replaced."""
    return (
        f"the year-end holidays' {replaced_hours} hours of the lookback (24 December to "
        "1 January) are not taken for the estate's level: the decision saw the same hours of "
        "the week two weeks earlier in their place, for the keys that ran lower over them (the "
        "bill of the lookback is as it ran)"
    )


__all__ = [
    "HOLIDAY_FIRST_DAY",
    "HOLIDAY_LAST_DAY",
    "STAND_IN_WEEKS",
    "holiday_hours",
    "holidays_note",
    "without_year_end_holidays",
]
