"""Usage forecast: a damped robust trend on weekly levels times bootstrapped whole weeks.

The model, per series (a key, or a family when ``level="family"``):

1. **Weeks.** The lookback's last whole blocks of ``block_hours`` (168 h: weeks ending at the
   last hour of the usage; at most :data:`MAX_WEEKS`) are the model's history. The partial block
   at the start, if any, is left out. Every hour has a *phase*: its position in its block.
2. **Trend.** The mean level of each week [instance-hours per hour, i.e. running instances; in
   normalized units per hour for families] gets a Theil–Sen line (median of the slopes between
   every pair of weeks, intercept the median residual): robust to a few odd weeks, fitted for all
   series at once with numpy. It is fitted on the *level*, not its logarithm: a log-linear trend
   compounds (it explodes over three years for a growing key and never reaches zero for a
   shrinking one). Past the end of the lookback the slope is *damped*: the trend moves by
   ``slope × H / ln 2 × (1 − 2^(−s / H))`` after ``s`` weeks, where ``H`` is
   ``damping_half_life_weeks`` (52 by default), so it moves at most ``H / ln 2`` (75) weeks of
   the current slope however long the horizon; it is floored at zero and capped at
   ``max_trend_ratio`` (3) times the series' highest weekly level in the lookback.
3. **Weekly profile and noise.** Each lookback hour divided by the fitted trend at that hour
   (the *residual ratio*, [1]) keeps the week's hourly shape and its noise. A future week copies
   the ratios of one lookback week drawn at random (a block bootstrap of whole weeks, one draw per
   path and future week), phase by phase, times the projected trend. The *typical* weekly profile
   (the mean ratio per phase) is reported by the fit.
4. **Trend error (optional, ``trend_levels``).** The paths above share one fitted trend, so
   they sample the week-to-week variation around it but not the error of the trend itself
   (a 13-week slope extrapolated months ahead), and their intervals are too narrow. With
   ``trend_levels`` ≥ 3 each path also draws a persistent error of the *total* trend — a
   Student-t draw (weeks − 2 degrees of freedom) times the standard error of a fitted line's
   level at each future week, relative to the total, common to every key — rounded to one of
   ``trend_levels`` multipliers so that it fits :class:`~scenarios.paths.UsagePaths`: the
   source then holds that many scaled copies of the ratio rows. ``commitopt forecast`` uses
   :data:`TREND_LEVELS`; :func:`forecast_paths` does not (its paths stay one copy).
5. **Families.** With ``level="family"`` the series are (account, region, family, platform,
   tenancy) in normalized units; each key then gets its family's path times its share of the
   family's normalized units over the lookback's last :data:`SHARE_WEEKS` weeks, divided by its
   normalization factor. Family totals in normalized units are exactly the family forecast.

Sampled paths are a :class:`~scenarios.paths.UsagePaths`: the source holds the ratio rows of the
lookback weeks, ``source_row`` the drawn week and phase of every path-hour, and ``trend`` the
projected trend per future hour and key, so nothing of size paths × hours × keys is stored.
:meth:`Forecast.totals` gives the P5 / P50 / P95 of total usage per week or month without
materialising the paths either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from core.errors import CommitoptInputError
from core.times import utc_hour
from core.units import HOURS_PER_WEEK
from pricing.catalog import PriceCatalog
from pricing.instance_types import instance_families, normalization_factors
from scenarios.paths import UsagePaths
from usage.table import UsageMatrix, to_matrix

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MAX_WEEKS: Final = 26
"""Most recent whole weeks the trend is fitted on and the bootstrap draws from [weeks]."""
MIN_WEEKS: Final = 2
"""Fewest whole weeks (blocks) the weekly model needs [weeks]."""
SHARE_WEEKS: Final = 2
"""Weeks at the end of the lookback whose key mix spreads a family forecast to its keys."""
RATIO_FLOOR_SHARE: Final = 0.1
"""The trend divided into each hour is at least this share of the series' mean level [1]."""
FAMILY_COLUMNS: Final = ("account_id", "region", "instance_family", "platform", "tenancy")
QUANTILES: Final = (0.05, 0.5, 0.95)

Level = Literal["key", "family"]
Period = Literal["week", "month"]


class ForecastInputError(CommitoptInputError):
    """Forecast input the model cannot use: too little history, a bad horizon, path count, start."""


@dataclass(frozen=True, eq=False)
class WeeklyModel:
    """The fitted weekly model of every series.

    Attributes
    ----------
    level
        ``"key"`` or ``"family"``.
    series
        One row per fitted series: :data:`usage.table.KEY_COLUMNS` for keys, :data:`FAMILY_COLUMNS`
        for families.
    block_hours
        Hours per block (week) [h].
    blocks
        Whole blocks of the lookback used for the fit and the bootstrap [weeks].
    origin
        First hour of the first block used; phase ``s`` of every block is ``origin + s`` hours
        modulo ``block_hours``.
    intercept
        Fitted level at the centre of the first block used [instance-hours/h, or normalized
        units/h for families], per series.
    slope_per_block
        Fitted slope [same units per block], per series.
    weekly_profile
        ``(block_hours, n_series)`` mean residual ratio per phase [1]: the typical week's shape.
    ratio
        ``(blocks × block_hours, n_series)`` residual ratio of each lookback hour [1].
    max_level
        Highest weekly mean level per series in the lookback [same units as ``intercept``].
    weekly_level
        ``(blocks, n_series)`` mean level of each lookback block [same units as ``intercept``].
    """

    level: Level
    series: pd.DataFrame
    block_hours: int
    blocks: int
    origin: pd.Timestamp
    intercept: FloatArray
    slope_per_block: FloatArray
    weekly_profile: FloatArray
    ratio: FloatArray
    max_level: FloatArray
    weekly_level: FloatArray

    @property
    def level_at_end(self) -> FloatArray:
        """Fitted level at the end of the lookback, per series [units of ``intercept``]."""
        return np.asarray(
            self.intercept + self.slope_per_block * (self.blocks - 0.5), dtype=np.float64
        )

    def effective_position(
        self, block_position: FloatArray, damping_half_life_weeks: float | None
    ) -> FloatArray:
        """Positions [blocks] at which the undamped line gives the damped trend."""
        end = self.blocks - 0.5
        ahead = np.maximum(block_position - end, 0.0)
        if damping_half_life_weeks is not None:
            half_life = damping_half_life_weeks * HOURS_PER_WEEK / self.block_hours
            ahead = half_life / np.log(2.0) * -np.expm1(-np.log(2.0) * ahead / half_life)
        return np.asarray(np.minimum(block_position, end) + ahead, dtype=np.float64)

    def trend_at(
        self,
        block_position: FloatArray,
        *,
        damping_half_life_weeks: float | None,
        max_trend_ratio: float | None,
    ) -> FloatArray:
        """The trend at positions measured in blocks from the first block's centre.

        Parameters
        ----------
        block_position
            ``(n,)`` positions [blocks]; the lookback ends at ``blocks - 0.5``.
        damping_half_life_weeks
            Half-life of the slope past the lookback [weeks]; ``None`` keeps it undamped.
        max_trend_ratio
            Cap on the trend as a multiple of :attr:`max_level`; ``None`` for no cap.

        Returns
        -------
        numpy.ndarray
            ``(n, n_series)`` trend, floored at zero [units of ``intercept``].
        """
        effective = self.effective_position(block_position, damping_half_life_weeks)
        trend = np.multiply.outer(effective, self.slope_per_block)
        trend += self.intercept[np.newaxis, :]
        np.maximum(trend, 0.0, out=trend)
        if max_trend_ratio is not None:
            np.minimum(trend, max_trend_ratio * self.max_level[np.newaxis, :], out=trend)
        return trend


@dataclass(frozen=True, eq=False)
class Forecast:
    """A forecast: the fitted model and the sampled paths.

    Attributes
    ----------
    model
        The fitted :class:`WeeklyModel`.
    paths
        The sampled future usage [instance-hours per key and hour].
    multipliers
        Trend-error multiplier of each copy of the lookback's ratio rows in ``paths.source``
        [1]; copy 0 is the unscaled ratios (multiplier 1). One copy when no trend error is
        sampled.
    """

    model: WeeklyModel
    paths: UsagePaths
    multipliers: FloatArray = field(default_factory=lambda: np.ones(1))

    def totals(
        self,
        *,
        by: Period = "week",
        catalog: PriceCatalog | None = None,
        quantiles: tuple[float, ...] = QUANTILES,
    ) -> pd.DataFrame:
        """Quantiles over the paths of total usage per period.

        Parameters
        ----------
        by
            ``"week"``: blocks of 168 hours counted from the forecast start (the last may be
            shorter); ``"month"``: calendar months (UTC).
        catalog
            When given, also the on-demand-equivalent spend [USD]: each key's usage at its
            on-demand rate; keys the catalog does not price count zero and are counted in
            ``attrs["unpriced_keys"]``.
        quantiles
            Quantiles to report, as shares (``0.05`` is P5).

        Returns
        -------
        pandas.DataFrame
            One row per period: ``period_start``, ``period_hours``, then for each measure
            (``instance_hours`` [instance-hours], ``normalized_unit_hours`` [normalized
            unit-hours], ``on_demand_cost_usd`` [USD] with a catalog) its mean and quantiles over
            the paths, named ``mean_…``, ``p5_…``, ``p50_…``, ``p95_…`` (``docs/glossary.md``).
        """
        keys = self.paths.keys
        measures: dict[str, FloatArray] = {
            "instance_hours": np.ones(len(keys)),
            "normalized_unit_hours": normalization_factors(keys["instance_type"]),
        }
        unpriced = 0
        if catalog is not None:
            rates = catalog.on_demand_rates(keys) if len(keys) else np.zeros(0)
            unpriced = int(np.isnan(rates).sum())
            measures["on_demand_cost_usd"] = np.nan_to_num(rates, nan=0.0)
        starts, codes = period_codes(self.paths.hours, by)
        per_period = self.path_period_totals(np.column_stack(list(measures.values())), codes)
        frame = pd.DataFrame(
            {"period_start": starts, "period_hours": np.bincount(codes, minlength=len(starts))}
        )
        for position, name in enumerate(measures):
            values = per_period[:, :, position]
            frame[f"mean_{name}"] = values.mean(axis=0)
            levels = np.quantile(values, quantiles, axis=0)
            for share, row in zip(quantiles, levels, strict=True):
                frame[f"p{_percent(share)}_{name}"] = row
        frame.attrs["unpriced_keys"] = unpriced
        return frame

    def path_period_totals(self, weights: FloatArray, codes: IntArray) -> FloatArray:
        """Weighted totals of each path per period, without materialising the paths.

        Parameters
        ----------
        weights
            ``(n_keys, n_measures)`` weight of one instance-hour of each key per measure.
        codes
            ``(n_hours,)`` period number of each forecast hour, contiguous and ascending.

        Returns
        -------
        numpy.ndarray
            ``(n_paths, n_periods, n_measures)`` sums over the period's hours and the keys.
        """
        paths, block = self.paths, self.model.block_hours
        n_keys = len(paths.keys)
        if paths.n_hours == 0:
            return np.zeros((paths.n_paths, 0, weights.shape[1]))
        trend = paths.trend if paths.trend is not None else np.ones((paths.n_hours, n_keys))
        phase, future_block = self._hour_layout()
        n_future = int(future_block[-1]) + 1 if len(future_block) else 0
        # the trend laid out as (phase, future block, key), zero outside the horizon
        laid = np.zeros((block, n_future, n_keys))
        laid[phase, future_block] = trend
        by_key = laid.transpose(0, 2, 1)  # (phase, key, future block), a view
        blocks = self.model.blocks
        base = paths.source[: blocks * block]  # copy 0: the unscaled ratios
        source = np.ascontiguousarray(base.reshape(blocks, block, n_keys).transpose(1, 0, 2))
        # every path copies one whole lookback block per future block (see forecast())
        first_hours = np.flatnonzero(np.diff(future_block, prepend=-1))
        copied = paths.source_row[:, first_hours] // block  # (paths, future blocks)
        drawn, scale = copied % blocks, self.multipliers[copied // blocks]
        # runs of hours sharing a future block and a period, in time order
        run_starts = np.flatnonzero(
            np.diff(future_block * (int(codes[-1]) + 1) + codes, prepend=-1)
        )
        run_block, run_period = future_block[run_starts], codes[run_starts]
        period_starts = np.flatnonzero(np.diff(run_period, prepend=-1))
        n_periods = int(codes[-1]) + 1
        result = np.zeros((paths.n_paths, n_periods, weights.shape[1]))
        for measure in range(weights.shape[1]):  # a handful of measures
            # dot[s, b, f] = sum_k source[b, s, k] * weight[k] * trend[f, s, k]
            dot = np.matmul(source * weights[:, measure], by_key)
            per_hour = dot[phase, :, future_block]  # (hours, drawn blocks)
            per_run = np.add.reduceat(per_hour, run_starts, axis=0)  # (runs, drawn blocks)
            chosen = per_run[np.arange(len(run_starts))[np.newaxis, :], drawn[:, run_block]]
            chosen *= scale[:, run_block]
            result[:, :, measure] = np.add.reduceat(chosen, period_starts, axis=1)
        return result

    def _hour_layout(self) -> tuple[IntArray, IntArray]:
        """Phase and future block number of every forecast hour."""
        block = self.model.block_hours
        offset = (self.paths.hours.asi8 - self.model.origin.value) // 3_600_000_000_000
        phase = np.asarray(offset % block, dtype=np.int64)
        number = offset // block
        return phase, np.asarray(number - (number[0] if len(number) else 0), dtype=np.int64)


def _percent(share: float) -> str:
    text = f"{100 * share:g}"
    return text.replace(".", "_")


def period_codes(hours: pd.DatetimeIndex, by: Period) -> tuple[pd.DatetimeIndex, IntArray]:
    """Period start of every period and the period number of every hour.

    Parameters
    ----------
    hours
        Contiguous hourly index (UTC).
    by
        ``"week"``: 168-hour blocks from the first hour; ``"month"``: calendar months (UTC).
    """
    if by == "week":
        codes = np.arange(len(hours), dtype=np.int64) // HOURS_PER_WEEK
        starts = hours[::HOURS_PER_WEEK]
        return pd.DatetimeIndex(starts), codes
    if by == "month":
        months = hours.tz_localize(None).to_period("M")
        code_array, uniques = pd.factorize(months)
        starts = (
            pd.DatetimeIndex(pd.PeriodIndex(uniques).to_timestamp())
            .tz_localize("UTC")
            .as_unit("ns")
        )
        starts = starts.where(starts >= hours[0], hours[0]) if len(hours) else starts
        return pd.DatetimeIndex(starts), np.asarray(code_array, dtype=np.int64)
    raise ValueError(f"by must be 'week' or 'month', not {by!r}")


def _as_matrix(usage: pd.DataFrame | UsageMatrix) -> UsageMatrix:
    if isinstance(usage, UsageMatrix):
        return usage
    return to_matrix(usage)


def family_table(keys: pd.DataFrame) -> tuple[pd.DataFrame, IntArray]:
    """The (account, region, family, platform, tenancy) of every key and each key's family row."""
    frame = keys.assign(instance_family=instance_families(keys["instance_type"]).to_numpy())
    grouped = frame.groupby(list(FAMILY_COLUMNS), sort=True, observed=True, dropna=False)
    codes = np.asarray(grouped.ngroup().to_numpy(), dtype=np.int64)
    families = grouped.size().index.to_frame(index=False)[list(FAMILY_COLUMNS)]
    return families.astype("string").reset_index(drop=True), codes


def theil_sen(levels: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Theil–Sen line through ``levels[w, series]`` against ``w = 0, 1, ...`` for every series.

    Returns
    -------
    tuple of numpy.ndarray
        Intercept at ``w = 0`` and slope per step, one per series.
    """
    n = levels.shape[0]
    first, second = np.triu_indices(n, k=1)
    slopes = (levels[second] - levels[first]) / (second - first)[:, np.newaxis].astype(np.float64)
    slope = np.median(slopes, axis=0)
    positions = np.arange(n, dtype=np.float64)[:, np.newaxis]
    intercept = np.median(levels - slope[np.newaxis, :] * positions, axis=0)
    return np.asarray(intercept, dtype=np.float64), np.asarray(slope, dtype=np.float64)


def fit_weekly_model(
    usage: pd.DataFrame | UsageMatrix,
    *,
    level: Level = "key",
    block_hours: int = HOURS_PER_WEEK,
    max_weeks: int = MAX_WEEKS,
) -> WeeklyModel:
    """Fit the trend and weekly profile of every key (or family) on a lookback.

    Parameters
    ----------
    usage
        The lookback: a canonical usage table or a :class:`~usage.table.UsageMatrix`; its last
        hour is the last hour of history.
    level
        ``"key"`` or ``"family"`` (normalized units per account, region, family, platform and
        tenancy).
    block_hours
        Hours per bootstrap block [h]; 168 keeps the weekly cycle.
    max_weeks
        Most recent whole blocks to use [blocks].

    Raises
    ------
    ForecastInputError
        When the lookback holds fewer than :data:`MIN_WEEKS` whole blocks.
    """
    matrix = _as_matrix(usage)
    if block_hours <= 0:
        raise ForecastInputError(
            f"block_hours must be a positive number of hours, not {block_hours}"
        )
    blocks = min(len(matrix.hours) // block_hours, max_weeks)
    if blocks < MIN_WEEKS:
        raise ForecastInputError(
            f"the weekly model needs at least {MIN_WEEKS} whole weeks "
            f"({MIN_WEEKS * block_hours} hours) of history; the lookback has "
            f"{len(matrix.hours)} hours ({len(matrix.hours) / 24:.1f} days): give a longer "
            "lookback or more usage"
        )
    used = blocks * block_hours
    quantity = matrix.quantity[-used:]
    if level == "family":
        series, codes = family_table(matrix.keys)
        spread = sp.csr_matrix(
            (normalization_factors(matrix.keys["instance_type"]), (np.arange(len(codes)), codes)),
            shape=(len(codes), len(series)),
        )
        quantity = np.asarray(spread.T.dot(quantity.T).T, dtype=np.float64)
    elif level == "key":
        series = matrix.keys
    else:
        raise ForecastInputError(f"level must be 'key' or 'family', not {level!r}")
    weekly = quantity.reshape(blocks, block_hours, -1).mean(axis=1)
    intercept, slope = theil_sen(weekly)
    position = (np.arange(used, dtype=np.float64) + 0.5) / block_hours - 0.5
    fitted = intercept[np.newaxis, :] + np.multiply.outer(position, slope)
    floor = RATIO_FLOOR_SHARE * weekly.mean(axis=0)
    denominator = np.maximum(fitted, floor[np.newaxis, :])
    ratio = np.divide(quantity, denominator, out=np.zeros_like(quantity), where=denominator > 0)
    profile = ratio.reshape(blocks, block_hours, -1).mean(axis=0)
    return WeeklyModel(
        level=level,
        series=series,
        block_hours=block_hours,
        blocks=blocks,
        origin=matrix.hours[-used],
        intercept=intercept,
        slope_per_block=slope,
        weekly_profile=profile,
        ratio=ratio,
        max_level=weekly.max(axis=0),
        weekly_level=weekly,
    )


TREND_ERROR_CAP: Final = 0.2
"""Largest relative standard error of the trend sampled per path [1]."""
TREND_LEVELS: Final = 9
"""Multiplier levels of the sampled trend error that ``commitopt forecast`` uses."""


def relative_trend_error(
    model: WeeklyModel,
    aggregate_trend: FloatArray,
    block_position: FloatArray,
    series_units: FloatArray,
    damping_half_life_weeks: float | None,
) -> FloatArray:
    """Relative standard error of the total trend at each position [1].

    The lookback's weekly levels, summed over series in ``series_units`` (normalized units),
    get their own Theil–Sen line; the residuals' robust spread ``s`` (1.4826 × MAD) gives the
    standard error of a fitted line's level at position ``x`` as ``s √(1/n + (x − x̄)² / Sxx)``
    (the least-squares formula; ``x`` after damping), divided by the total trend there.

    Parameters
    ----------
    model
        The fitted model.
    aggregate_trend
        ``(n,)`` projected total trend at the positions [normalized units/h].
    block_position
        ``(n,)`` positions [blocks from the first lookback block's centre].
    series_units
        ``(n_series,)`` normalized units of one unit of each series' level.
    damping_half_life_weeks
        As in :func:`forecast`.
    """
    total = model.weekly_level @ series_units
    intercept, slope = theil_sen(total[:, np.newaxis])
    residual = total - (intercept[0] + slope[0] * np.arange(len(total)))
    spread = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
    n = float(len(total))
    centre, sxx = (n - 1) / 2, n * (n * n - 1) / 12
    effective = model.effective_position(block_position, damping_half_life_weeks)
    error = spread * np.sqrt(1 / n + (effective - centre) ** 2 / sxx)
    relative = np.divide(
        error, aggregate_trend, out=np.zeros_like(error), where=aggregate_trend > 0
    )
    return np.asarray(np.minimum(relative, TREND_ERROR_CAP), dtype=np.float64)


def sample_trend_copies(
    relative_error: FloatArray,
    n_paths: int,
    levels: int,
    rng: np.random.Generator,
    degrees_of_freedom: float,
) -> tuple[FloatArray, npt.NDArray[np.int32]]:
    """Multipliers of the source copies and the copy of every path and future block.

    Each path draws one Student-t ``z`` with ``degrees_of_freedom`` (the lookback's weeks minus
    the line's two parameters; clipped to ±4): its trend is off by
    ``1 + z × relative_error`` in every future block, a persistent error that grows with the
    horizon. That multiplier is rounded to one of ``levels`` fixed multipliers (denser near 1),
    up or down at random with the probabilities that keep its mean.

    Returns
    -------
    tuple
        ``multipliers`` ``(levels,)`` with copy 0 = 1, and ``copy`` ``(n_paths, n_blocks)``.
    """
    widest = float(relative_error.max()) if len(relative_error) else 0.0
    z = np.clip(rng.standard_t(max(degrees_of_freedom, 1.0), n_paths), -4.0, 4.0)
    if widest <= 0 or levels < 3:
        return np.ones(1), np.zeros((n_paths, len(relative_error)), dtype=np.int32)
    odd = levels + 1 - levels % 2
    grid = np.linspace(-1.0, 1.0, odd)
    grid = 1.0 + 4.0 * widest * np.sign(grid) * grid**2
    wanted = np.clip(1.0 + np.multiply.outer(z, relative_error), grid[0], grid[-1])
    lower = np.clip(np.searchsorted(grid, wanted, side="right") - 1, 0, odd - 2)
    up = (wanted - grid[lower]) / (grid[lower + 1] - grid[lower])
    position = lower + (rng.random(wanted.shape) < up)
    order = np.concatenate([[odd // 2], np.delete(np.arange(odd), odd // 2)])
    copy_of = np.empty(odd, dtype=np.int32)
    copy_of[order] = np.arange(odd, dtype=np.int32)
    return grid[order], copy_of[position]


def _forecast_hours(
    matrix: UsageMatrix, start: pd.Timestamp | None, horizon_hours: int
) -> pd.DatetimeIndex:
    end = matrix.hours[-1] + pd.Timedelta(hours=1)
    if start is None:
        first = end
    else:
        first = utc_hour(start, "start", error=ForecastInputError)
        if first < end:
            raise ForecastInputError(
                f"start {first.isoformat()} is before the end of the usage ({end.isoformat()}); "
                "forecast from the end of the history, or cut the usage at the start"
            )
    return pd.date_range(first, periods=horizon_hours, freq="h", unit="ns")


def forecast(
    usage: pd.DataFrame | UsageMatrix,
    *,
    horizon_hours: int,
    n_paths: int,
    seed: int = 0,
    start: pd.Timestamp | None = None,
    level: Level = "key",
    block_hours: int = HOURS_PER_WEEK,
    damping_half_life_weeks: float | None = 52.0,
    max_trend_ratio: float | None = 3.0,
    max_weeks: int = MAX_WEEKS,
    trend_levels: int = 0,
) -> Forecast:
    """Fit the weekly model on a lookback and sample future usage paths.

    Parameters
    ----------
    usage
        The lookback (canonical usage table or :class:`~usage.table.UsageMatrix`); pass only the
        history that should stand for the future (e.g. the last 90 days).
    horizon_hours
        Hours to forecast [h], > 0.
    n_paths
        Paths to sample, > 0.
    seed
        Seed of the bootstrap draws; the same seed gives the same paths.
    start
        First forecast hour; by default the hour after the last hour of ``usage``. A later start
        extrapolates the trend over the gap; an earlier one is an error.
    level
        ``"key"``: one trend per key; ``"family"``: one per family in normalized units, spread to
        its keys by their share over the last :data:`SHARE_WEEKS` weeks.
    block_hours
        Length of a bootstrap block [h]; 168 (a week) keeps the weekly cycle.
    damping_half_life_weeks
        Half-life of the trend's slope past the lookback [weeks]; ``None`` for a straight line.
    max_trend_ratio
        The trend never exceeds this multiple of the highest weekly level of the lookback;
        ``None`` for no cap.
    max_weeks
        Most recent whole blocks used for the fit and the bootstrap [blocks].
    trend_levels
        0 (default): every path shares the fitted trend, and the paths sample only the
        week-to-week variation around it. 3 or more: each path also draws a persistent error of
        the total trend (:func:`relative_trend_error`, common to all keys), rounded to this many
        multiplier levels; the source then holds that many scaled copies of the lookback's
        ratio rows (memory × ``trend_levels``).

    Returns
    -------
    Forecast
        The model and the :class:`~scenarios.paths.UsagePaths`.

    Raises
    ------
    ForecastInputError
        For a horizon or path count below 1, fewer than two whole weeks of history, or a start
        before the end of the usage.
    """
    if horizon_hours <= 0:
        raise ForecastInputError(f"the horizon must be at least one hour, not {horizon_hours}")
    if n_paths <= 0:
        raise ForecastInputError(f"the number of paths must be at least 1, not {n_paths}")
    matrix = _as_matrix(usage)
    if len(matrix.hours) == 0:
        raise ForecastInputError("no usage to forecast from: the lookback is empty")
    model = fit_weekly_model(matrix, level=level, block_hours=block_hours, max_weeks=max_weeks)
    hours = _forecast_hours(matrix, start, horizon_hours)
    offset = (hours.asi8 - model.origin.value) // 3_600_000_000_000
    phase = offset % block_hours
    number = offset // block_hours
    future_block = number - number[0]
    position = (offset + 0.5) / block_hours - 0.5
    trend = model.trend_at(
        position.astype(np.float64),
        damping_half_life_weeks=damping_half_life_weeks,
        max_trend_ratio=max_trend_ratio,
    )
    source = model.ratio
    if level == "family":
        _, codes = family_table(matrix.keys)
        factors = normalization_factors(matrix.keys["instance_type"])
        recent = matrix.quantity[-min(SHARE_WEEKS, model.blocks) * block_hours :].sum(axis=0)
        whole = matrix.quantity[-model.blocks * block_hours :].sum(axis=0)
        units = (
            np.where(
                np.bincount(codes, weights=recent * factors, minlength=len(model.series))[codes]
                > 0,
                recent,
                whole,
            )
            * factors
        )
        family_units = np.bincount(codes, weights=units, minlength=len(model.series))[codes]
        share = np.divide(units, family_units, out=np.zeros_like(units), where=family_units > 0)
        trend = trend[:, codes]
        trend *= (share / factors)[np.newaxis, :]
        source = source[:, codes]
    rng = np.random.default_rng(seed)
    n_future = int(future_block[-1]) + 1
    drawn = rng.integers(0, model.blocks, size=(n_paths, n_future), dtype=np.int32)
    multipliers = np.ones(1)
    if trend_levels:
        key_units = normalization_factors(matrix.keys["instance_type"])
        counts = np.bincount(future_block, minlength=n_future)
        aggregate = np.bincount(future_block, weights=trend @ key_units, minlength=n_future)
        centres = np.bincount(future_block, weights=position, minlength=n_future) / counts
        series_units = key_units if level == "key" else np.ones(len(model.series))
        relative = relative_trend_error(
            model, aggregate / counts, centres, series_units, damping_half_life_weeks
        )
        multipliers, copy = sample_trend_copies(
            relative, n_paths, trend_levels, rng, model.blocks - 2.0
        )
        drawn += copy * np.int32(model.blocks)
        source = np.concatenate([source * multiplier for multiplier in multipliers])
    source_row = drawn[:, future_block]
    source_row *= np.int32(block_hours)
    source_row += phase.astype(np.int32)[np.newaxis, :]
    paths = UsagePaths(
        hours=hours,
        keys=matrix.keys,
        source=np.ascontiguousarray(source),
        source_row=source_row,
        trend=np.ascontiguousarray(trend),
    )
    return Forecast(model=model, paths=paths, multipliers=multipliers)


def forecast_paths(
    usage: pd.DataFrame | UsageMatrix,
    *,
    horizon_hours: int,
    n_paths: int,
    seed: int = 0,
    start: pd.Timestamp | None = None,
    level: Level = "key",
    block_hours: int = HOURS_PER_WEEK,
) -> UsagePaths:
    """Sampled future usage paths from a lookback: :func:`forecast` with its default model.

    The paths share one projected trend: they sample the week-to-week variation around it, not
    the error of the trend itself, so their P5–P95 ranges are narrower than what happens
    (``docs/benchmarks.md``, "Forecast"). ``forecast(..., trend_levels=TREND_LEVELS).paths``
    samples that error too, at ``TREND_LEVELS`` times the source rows.

    Parameters
    ----------
    usage
        The lookback (canonical usage table or :class:`~usage.table.UsageMatrix`).
    horizon_hours
        Hours to forecast [h], > 0.
    n_paths
        Paths to sample, > 0.
    seed
        Seed of the bootstrap draws.
    start
        First forecast hour [default: the hour after the usage's last hour].
    level
        ``"key"`` or ``"family"``.
    block_hours
        Length of a bootstrap block [h].

    Returns
    -------
    UsagePaths
        ``n_paths`` paths over ``horizon_hours`` hours and the usage's keys [instance-hours].
    """
    return forecast(
        usage,
        horizon_hours=horizon_hours,
        n_paths=n_paths,
        seed=seed,
        start=start,
        level=level,
        block_hours=block_hours,
    ).paths


__all__ = [
    "FAMILY_COLUMNS",
    "Forecast",
    "ForecastInputError",
    "WeeklyModel",
    "fit_weekly_model",
    "forecast",
    "forecast_paths",
    "period_codes",
    "relative_trend_error",
    "sample_trend_copies",
    "theil_sen",
]
