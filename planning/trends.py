"""Clear weekly trends of a lookback: the lines the ladder follows, and when it follows them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.units import HOURS_PER_WEEK
from usage.table import UsageMatrix

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class WeeklyLine:
    """A least-squares line through each key's weekly mean levels over the last weeks.

    Attributes
    ----------
    slope
        Change of the weekly level per week, per key [instances/week].
    error
        Standard error of ``slope`` [instances/week] (0 for an exact line).
    end_level
        The line's level at the end of the lookback [instances].
    clear
        Whether ``|slope|`` is at least the asked number of standard errors (an exact line
        counts as clear when it is not flat).
    """

    slope: FloatArray
    error: FloatArray
    end_level: FloatArray
    clear: npt.NDArray[np.bool_]


def weekly_line(usage: UsageMatrix, weeks: int, min_t: float) -> WeeklyLine:
    """Fit :class:`WeeklyLine` on the last ``weeks`` whole weeks (at least 3) of ``usage``."""
    n_keys = usage.quantity.shape[1]
    if weeks < 3 or len(usage.hours) < weeks * HOURS_PER_WEEK:
        zeros = np.zeros(n_keys)
        return WeeklyLine(zeros, zeros, zeros, np.zeros(n_keys, dtype=bool))
    recent = usage.quantity[-weeks * HOURS_PER_WEEK :]
    levels = recent.reshape(weeks, HOURS_PER_WEEK, n_keys).mean(axis=1)
    centred = np.arange(weeks, dtype=np.float64) - (weeks - 1) / 2.0
    spread = float(centred @ centred)
    slope = centred @ levels / spread
    mean = levels.mean(axis=0)
    residual = levels - mean - np.outer(centred, slope)
    error = np.sqrt((residual**2).sum(axis=0) / (weeks - 2) / spread)
    tiny = 1e-12 * np.maximum(np.abs(levels).max(axis=0), 1.0)
    clear = np.where(error > tiny, np.abs(slope) >= min_t * error, np.abs(slope) > tiny)
    end_level = mean + slope * (centred[-1] + 0.5)
    return WeeklyLine(slope, error, end_level, clear)


def clear_trend(usage: UsageMatrix, weeks: int, min_t: float) -> npt.NDArray[np.bool_]:
    """Whether each key's weekly level has a clear linear trend over the last ``weeks`` weeks.

    The least-squares slope of the weekly mean levels against the week number, divided by its
    standard error, is at least ``min_t`` in absolute value (an exact line counts as clear).
    """
    return weekly_line(usage, weeks, min_t).clear


__all__ = ["WeeklyLine", "clear_trend", "weekly_line"]
