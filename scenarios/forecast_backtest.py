"""Rolling-origin backtest of the usage forecast: MAPE of weekly totals and interval coverage.

At each origin the forecast (:func:`scenarios.forecast.forecast`) sees only the lookback before
it and predicts the next ``horizon_weeks`` weeks; each predicted week's total (summed over keys, in
normalized units by default) is compared with what happened. Origins step through the history
every ``origin_every_hours`` from the first one with a full lookback to the last one with a full
horizon after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.units import HOURS_PER_WEEK
from pricing.instance_types import normalization_factors
from scenarios.forecast import ForecastInputError, Level, forecast
from usage.table import UsageMatrix, to_matrix

FloatArray = npt.NDArray[np.float64]
Measure = Literal["normalized_units", "instance_hours"]

DEFAULT_LOOKBACK_HOURS: Final = 90 * 24
DEFAULT_HORIZON_WEEKS: Final = 12
DEFAULT_ORIGIN_EVERY_HOURS: Final = 4 * HOURS_PER_WEEK


@dataclass(frozen=True, eq=False)
class ForecastBacktest:
    """Forecast errors of every origin and week ahead.

    Attributes
    ----------
    weeks
        One row per origin and week ahead: ``origin``, ``week_ahead`` (1, 2, ...), ``actual``,
        ``mean``, ``p5``, ``p50``, ``p95`` (weekly totals in :attr:`measure`),
        ``ape`` (``|p50 − actual| ÷ actual`` [1], NaN when nothing was used) and ``inside``
        (``p5 ≤ actual ≤ p95``).
    measure
        ``"normalized_units"`` [normalized unit-hours] or ``"instance_hours"`` [instance-hours].
    """

    weeks: pd.DataFrame
    measure: Measure

    @property
    def mape(self) -> float:
        """Mean absolute percentage error of the weekly P50 over every origin and week [1]."""
        return float(np.nanmean(self.weeks["ape"])) if len(self.weeks) else float("nan")

    @property
    def coverage(self) -> float:
        """Share of weeks whose actual total lies within the P5–P95 interval [1]."""
        return float(self.weeks["inside"].mean()) if len(self.weeks) else float("nan")

    @property
    def origins(self) -> int:
        """Number of forecast origins."""
        return int(self.weeks["origin"].nunique())

    def by_week_ahead(self) -> pd.DataFrame:
        """MAPE [1] and P5–P95 coverage [1] per week ahead, with the number of origins."""
        grouped = self.weeks.groupby("week_ahead")
        return pd.DataFrame(
            {
                "mape": grouped["ape"].mean(),
                "coverage": grouped["inside"].mean(),
                "origins": grouped["origin"].count(),
            }
        ).reset_index()


def _window(matrix: UsageMatrix, first: int, stop: int) -> UsageMatrix:
    return UsageMatrix(
        hours=matrix.hours[first:stop],
        keys=matrix.keys,
        quantity=matrix.quantity[first:stop],
        daily_granular=matrix.daily_granular,
    )


def backtest_forecast(
    usage: pd.DataFrame | UsageMatrix,
    *,
    lookback_hours: int = DEFAULT_LOOKBACK_HOURS,
    horizon_weeks: int = DEFAULT_HORIZON_WEEKS,
    origin_every_hours: int = DEFAULT_ORIGIN_EVERY_HOURS,
    n_paths: int = 200,
    seed: int = 0,
    level: Level = "key",
    measure: Measure = "normalized_units",
    damping_half_life_weeks: float | None = 52.0,
    trend_levels: int = 0,
) -> ForecastBacktest:
    """Forecast from rolling origins and score the weekly totals against what happened.

    Parameters
    ----------
    usage
        The whole history (canonical usage table or :class:`~usage.table.UsageMatrix`).
    lookback_hours
        History each forecast sees [h].
    horizon_weeks
        Weeks forecast from each origin [weeks].
    origin_every_hours
        Step between origins [h].
    n_paths
        Paths per forecast.
    seed
        Seed of the first origin's forecast (origin ``i`` uses ``seed + i``).
    level
        ``"key"`` or ``"family"``.
    measure
        Unit of the weekly totals compared.
    damping_half_life_weeks
        Half-life of the trend's slope past each lookback [weeks]; ``None`` for a straight line.
    trend_levels
        Levels of the per-path trend error (0: none sampled), as in
        :func:`scenarios.forecast.forecast`.

    Raises
    ------
    ForecastInputError
        When the history is shorter than one lookback plus one horizon, or a step is not positive.
    """
    matrix = usage if isinstance(usage, UsageMatrix) else to_matrix(usage)
    horizon = horizon_weeks * HOURS_PER_WEEK
    if horizon <= 0 or lookback_hours <= 0 or origin_every_hours <= 0:
        raise ForecastInputError(
            "lookback, horizon and origin step must be positive "
            f"(got {lookback_hours} h, {horizon_weeks} weeks, {origin_every_hours} h)"
        )
    n_hours = len(matrix.hours)
    if n_hours < lookback_hours + horizon:
        raise ForecastInputError(
            f"the backtest needs a lookback plus a horizon ({lookback_hours + horizon} hours); "
            f"the usage has {n_hours} hours: shorten them or give a longer history"
        )
    weights = (
        normalization_factors(matrix.keys["instance_type"])
        if measure == "normalized_units"
        else np.ones(len(matrix.keys))
    )
    origins = np.arange(lookback_hours, n_hours - horizon + 1, origin_every_hours)
    rows: list[pd.DataFrame] = []
    for number, origin in enumerate(origins):  # a handful of origins
        lookback = _window(matrix, int(origin) - lookback_hours, int(origin))
        result = forecast(
            lookback,
            horizon_hours=horizon,
            n_paths=n_paths,
            seed=seed + number,
            level=level,
            damping_half_life_weeks=damping_half_life_weeks,
            trend_levels=trend_levels,
        )
        codes = np.arange(horizon, dtype=np.int64) // HOURS_PER_WEEK
        totals = result.path_period_totals(weights[:, np.newaxis], codes)[:, :, 0]
        future = matrix.quantity[int(origin) : int(origin) + horizon] @ weights
        actual = np.bincount(codes, weights=future, minlength=horizon_weeks)
        p5, p50, p95 = np.quantile(totals, (0.05, 0.5, 0.95), axis=0)
        ape = np.divide(
            np.abs(p50 - actual), actual, out=np.full(horizon_weeks, np.nan), where=actual > 0
        )
        rows.append(
            pd.DataFrame(
                {
                    "origin": matrix.hours[int(origin)],
                    "week_ahead": np.arange(1, horizon_weeks + 1),
                    "actual": actual,
                    "mean": totals.mean(axis=0),
                    "p5": p5,
                    "p50": p50,
                    "p95": p95,
                    "ape": ape,
                    "inside": (actual >= p5 - 1e-9 * np.abs(p5)) & (actual <= p95 + 1e-9 * p95),
                }
            )
        )
    return ForecastBacktest(weeks=pd.concat(rows, ignore_index=True), measure=measure)


__all__ = ["ForecastBacktest", "backtest_forecast"]
