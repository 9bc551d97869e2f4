"""Numbers as a finance reader expects them: USD with thousands separators, % with one decimal."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Final

import pandas as pd

from core.times import as_utc

MISSING: Final = "–"
"""Shown for a figure that does not exist (no purchases, no scenarios)."""


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def usd(value: float | None, decimals: int = 2) -> str:
    """``15567.436`` → ``$15,567.44``; negative amounts ``-$1,234.00``."""
    if _missing(value):
        return MISSING
    amount = float(value)  # type: ignore[arg-type]
    text = f"${abs(amount):,.{decimals}f}"
    return f"-{text}" if amount < 0 and round(abs(amount), decimals) > 0 else text


def usd_rate(value: float | None, unit: str, decimals: int = 2) -> str:
    """``usd(value)`` followed by a unit, e.g. ``$24,515.62/month``."""
    text = usd(value, decimals)
    return text if text == MISSING else f"{text}/{unit}"


def pct(value: float | None, decimals: int = 1) -> str:
    """A percentage with one decimal: ``24.352`` → ``24.4%``."""
    if _missing(value):
        return MISSING
    return f"{float(value):,.{decimals}f}%"  # type: ignore[arg-type]


def number(value: float | None, decimals: int = 0) -> str:
    """A plain quantity with thousands separators."""
    if _missing(value):
        return MISSING
    return f"{float(value):,.{decimals}f}"  # type: ignore[arg-type]


def day(moment: datetime | date | pd.Timestamp | None) -> str:
    """``2024-01-01`` (UTC date)."""
    if moment is None or moment is pd.NaT:
        return MISSING
    if isinstance(moment, datetime):
        return (
            pd.Timestamp(moment).tz_convert("UTC").strftime("%Y-%m-%d")
            if moment.tzinfo
            else (moment.strftime("%Y-%m-%d"))
        )
    return moment.isoformat()


def timestamp(moment: datetime | pd.Timestamp | None) -> str:
    """``2026-11-23 16:42 UTC``."""
    if moment is None or moment is pd.NaT:
        return MISSING
    stamp = as_utc(moment)
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


def month_count(months: int | None) -> str:
    """``month 3`` / ``not within the term``."""
    if months is None:
        return "not within the term"
    return f"month {months}"


__all__ = ["MISSING", "day", "month_count", "number", "pct", "timestamp", "usd", "usd_rate"]
