"""Durations as users write them, one grammar for every option: ``720h``, ``30d``, ``12w``,
``6mo`` (730 h each), ``1y`` (8,760 h), or a bare number of days."""

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
