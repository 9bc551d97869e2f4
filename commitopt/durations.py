"""Durations as users write them: ``30d``, ``12w``, ``720h`` or a bare number of days."""

from __future__ import annotations

import re

from pricing.errors import CommitoptInputError

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([dwh]?)\s*")
_DAYS_PER_UNIT = {"": 1.0, "d": 1.0, "w": 7.0, "h": 1.0 / 24.0}


def parse_days(text: str, option: str = "--lookback") -> float:
    """``30d``, ``12w``, ``720h`` or a bare number of days → days.

    Raises
    ------
    pricing.errors.CommitoptInputError
        When ``text`` is not such a duration (the message names ``option``).
    """
    match = _DURATION.fullmatch(text.lower())
    if not match:
        raise CommitoptInputError(
            f"{option} {text!r} is not a duration; write e.g. 30d, 8w or 720h"
        )
    return float(match.group(1)) * _DAYS_PER_UNIT[match.group(2)]
