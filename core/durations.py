"""Durations as users write them, one grammar for every option: ``720h``, ``30d``, ``12w``,
``6mo`` (730 h each), ``1y`` (8,760 h), or a bare number of days."""

from __future__ import annotations

import re
from typing import Final

from core.errors import CommitoptInputError, param

_DURATION: Final = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(mo|[hdwmy]?)\s*")
HOURS_PER_UNIT: Final = {"": 24.0, "h": 1.0, "d": 24.0, "w": 168.0, "mo": 730.0, "m": 730.0,
                         "y": 8760.0}  # fmt: skip
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
    return parse_hours(text, parameter) / 24.0
