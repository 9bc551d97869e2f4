"""Durations as users write them, one grammar for every option: ``720h``, ``30d``, ``12w``,
``6mo`` (730 h each), ``1y`` (8,760 h), or a bare number of days.

The same spellings also name a calendar step (:func:`parse_calendar_step`, e.g. how often a
backtest reviews): a whole number of days, weeks, months or years, where a month is a calendar
month rather than 730 h.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from core.errors import CommitoptInputError, param
from core.units import HOURS_PER_DAY, HOURS_PER_MONTH, HOURS_PER_WEEK, HOURS_PER_YEAR

_DURATION: Final = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(mo|[hdwmy]?)\s*")
HOURS_PER_UNIT: Final[dict[str, float]] = {
    "": HOURS_PER_DAY, "h": 1.0, "d": HOURS_PER_DAY, "w": HOURS_PER_WEEK, "mo": HOURS_PER_MONTH,
    "m": HOURS_PER_MONTH, "y": HOURS_PER_YEAR,
}  # fmt: skip
"""Hours in one unit of a duration (a month is 730 h, a year 8,760 h)."""


def parse_hours(text: str, parameter: str = "lookback_days") -> float:
    """A duration → hours.

    Parameters
    ----------
    text
        ``720h``, ``30d``, ``12w``, ``6mo``, ``1y`` or a bare number of days.
    parameter
        The parameter it sets, named in the error.

    Raises
    ------
    core.errors.CommitoptInputError
        When ``text`` is not such a duration.
    """
    match = _DURATION.fullmatch(str(text).lower())
    if not match:
        raise CommitoptInputError(
            f"{param(parameter)} {text!r} is not a duration; write e.g. 720h, 30d, 8w, 6mo or 1y"
        )
    return float(match.group(1)) * HOURS_PER_UNIT[match.group(2)]


def parse_days(text: str, parameter: str = "lookback_days") -> float:
    """A duration (see :func:`parse_hours`) → days."""
    return parse_hours(text, parameter) / HOURS_PER_DAY


@dataclass(frozen=True)
class Duration:
    """A duration as the user wrote it, and its length.

    Attributes
    ----------
    text
        What was written (``"3mo"``), shown back in messages.
    hours
        Its length [h].
    """

    text: str
    hours: float

    @property
    def days(self) -> float:
        """Its length [d]."""
        return self.hours / HOURS_PER_DAY

    def __str__(self) -> str:
        return self.text


def parse_duration(text: str | Duration, parameter: str = "lookback_days") -> Duration:
    """A duration (see :func:`parse_hours`), keeping the text it was written as."""
    if isinstance(text, Duration):
        return text
    return Duration(str(text), parse_hours(str(text), parameter))


CALENDAR_UNITS: Final = ("d", "w", "mo")
"""Units of a calendar step: days, weeks, calendar months (a year is 12 months)."""


def parse_calendar_step(text: str, parameter: str) -> tuple[int, str]:
    """A calendar step written in the duration grammar → (count, unit).

    Parameters
    ----------
    text
        ``14d``, ``2w``, ``1mo`` (or ``1m``), ``1y`` (12 calendar months), or a bare number of
        days; the count must be a whole number ≥ 1.
    parameter
        The parameter it sets, named in the error.

    Returns
    -------
    tuple of int and str
        The count and the unit, one of :data:`CALENDAR_UNITS`.

    Raises
    ------
    core.errors.CommitoptInputError
        When ``text`` is not such a step (hours are no calendar step).
    """
    match = _DURATION.fullmatch(str(text).lower())
    number = float(match.group(1)) if match else 0.0
    unit = match.group(2) if match else ""
    if not match or unit == "h" or number < 1 or not number.is_integer():
        raise CommitoptInputError(
            f"{param(parameter)} {text!r} is not a calendar step; write a whole number of days, "
            "weeks, months or years, e.g. 14d, 2w, 1mo, 3mo or 1y"
        )
    count = int(number)
    if unit == "y":
        return 12 * count, "mo"
    return count, {"": "d", "m": "mo"}.get(unit, unit)
