"""This project's policies: its recommendation at the first review, or a ladder at every review.

- :class:`OursOneShot`: :func:`planning.recommend.recommend` on the lookback at the first review,
  nothing after.
- :class:`OursLadder`: at every review, the increment on top of what is owned now: the optimizer
  plans a monthly ladder on a 12-month forecast of the lookback (owned commitments with their
  real expirations) and only its first step is bought, a ``fraction`` of it (a rolling
  horizon, scaled by :meth:`pricing.inventory.Commitment.scaled`); or, with ``plan_months=None``,
  ``recommend`` on the lookback itself. Given changes known in advance (a scenario: a
  migration that has not started yet, an exit), it applies them to each review's forecast
  (:mod:`scenarios.known_changes`); in the standard line-up that is the policy
  ``ours-ladder+plans``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
import numpy.typing as npt

from core.units import HOURS_PER_DAY, HOURS_PER_MONTH, HOURS_PER_WEEK
from optimizer.policy import Policy
from planning.policies.recommended import (
    PURCHASE_POLICY,
    months_starts_count,
    recommended_on_lookback,
    recommended_purchases,
)
from planning.recency import recent_window_hours
from planning.recommend import RecommendOptions
from planning.trends import clear_trend, weekly_line
from pricing.instance_types import normalization_factors
from pricing.inventory import Commitment
from scenarios.backtest import BacktestError, Review
from scenarios.forecast import forecast
from scenarios.known_changes import apply_known_changes
from scenarios.transforms import Scenario
from usage.table import UsageMatrix

DEFAULT_LADDER_FRACTION: Final = 1.0
"""Share of each review's recommended increment the ladder buys [1]."""

DEFAULT_PLAN_MONTHS: Final = 12
"""Months the ladder plans ahead on its forecast at each review (one 1-year term) [months]."""

DEFAULT_MIN_TREND_T: Final = 3.0
"""Least t-statistic of a key's weekly-level slope for the ladder to follow its trend [1]."""

RECENT_WEEKS: Final = 6
"""Last weeks in which the ladder looks for a decline that has just begun [weeks]."""


@dataclass(frozen=True)
class OursOneShot:
    """This project's recommendation at the first review, nothing after.

    Parameters
    ----------
    policy
        What may be bought (one tranche: buy now).
    options
        How to solve; its ``lookback_days`` is replaced by the review's whole lookback.
    """

    policy: Policy = PURCHASE_POLICY
    options: RecommendOptions = field(default_factory=RecommendOptions)

    def __call__(self, review: Review) -> Sequence[Commitment]:
        """``recommend`` on the lookback with the owned commitments, at the first review."""
        if review.number > 0:
            return ()
        return recommended_on_lookback(review, self.policy, self.options)


@dataclass(frozen=True)
class OursLadder:
    """This project's recommendation every review: the increment on top of what is owned.

    With ``plan_months`` (the default) the review plans ahead like the hindsight does, but on a
    forecast instead of the truth: :func:`scenarios.forecast.forecast` (damped robust trend times
    whole lookback weeks, one seeded path) over the next ``plan_months`` months, the optimizer
    choosing purchases now and at each coming month start (``Policy.ladder_tranches``), the
    owned commitments with their real expirations; only what it buys now is bought, and the
    next review plans again (a rolling horizon). With ``plan_months=None`` the review plans on
    the lookback itself (the owned commitments as if they had covered all of it), like
    ``commitopt recommend``. Either way ``fraction`` of each purchase is bought (whole RIs
    rounded down, SP commitments to 0.001 USD/h).

    Parameters
    ----------
    policy
        What may be bought.
    fraction
        Share of the increment bought at each review [0–1].
    plan_months
        Months planned ahead on the forecast; ``None`` to plan on the lookback.
    plan_growth
        False (the default): a key's forecast never rises above its trend at the review date,
        so declines are planned for but growth not yet seen is not (a ladder buys growth at the
        next reviews anyway, and growth that stops, e.g. at the end of a migration ramp, would
        otherwise be bought ahead and wasted). True: the forecast's own damped, capped trend.
    min_trend_t
        A key's trend is followed only when its least-squares slope over the weekly levels is
        at least this many standard errors from zero (:func:`clear_trend`); other keys repeat
        their lookback weeks unscaled (a batch fleet's random weekly levels give slopes that,
        extrapolated over a year, move its steady base by half).
    options
        How to solve; its ``lookback_days`` is replaced.
    known_changes
        Changes known in advance (the backtest's ``--plans`` file), applied to each review's
        forecast after the trend rules above
        (:func:`scenarios.known_changes.apply_known_changes`); needs ``plan_months``.
    """

    policy: Policy = PURCHASE_POLICY
    fraction: float = DEFAULT_LADDER_FRACTION
    plan_months: int | None = DEFAULT_PLAN_MONTHS
    plan_growth: bool = False
    min_trend_t: float = DEFAULT_MIN_TREND_T
    options: RecommendOptions = field(default_factory=RecommendOptions)
    known_changes: Scenario | None = None

    def __call__(self, review: Review) -> Sequence[Commitment]:
        """A fraction of the recommended increment, dated at the review."""
        if not 0.0 < self.fraction <= 1.0:
            raise BacktestError(f"ladder fraction {self.fraction} must be in (0, 1]")
        if self.known_changes is not None and self.plan_months is None:
            raise BacktestError("a ladder with known changes plans on a forecast: give plan_months")
        if review.usage.total_instance_hours <= 0:
            return ()
        if self.plan_months is None or len(review.usage.hours) < 2 * HOURS_PER_WEEK:
            now = recommended_on_lookback(review, self.policy, self.options)
        else:
            now = self._planned(review)
        scaled = (p.scaled(self.fraction) for p in now)
        return tuple(p for p in scaled if p is not None)

    def _planned(self, review: Review) -> tuple[Commitment, ...]:
        """Tranche 0 of a monthly ladder optimized on the forecast of the coming months."""
        months = int(self.plan_months or 1)
        horizon = round(months * HOURS_PER_MONTH)
        review = replace(review, usage=without_stopped(review.usage, self.options))
        future = forecast(review.usage, horizon_hours=horizon, n_paths=1, start=review.at)
        path = future.paths.path(0)
        trend = future.paths.trend
        if not self.plan_growth and trend is not None and len(trend):
            today = trend[0]
            with np.errstate(divide="ignore", invalid="ignore"):
                capped = np.where(trend > today, today / trend, 1.0)
            path = UsageMatrix(path.hours, path.keys, path.quantity * capped, path.daily_granular)
        flat = ~clear_trend(review.usage, future.model.blocks, self.min_trend_t)
        if flat.any():
            # keys without a clear trend: the lookback's own weeks, not scaled by a noisy line
            lookback = review.usage.quantity[-future.model.blocks * HOURS_PER_WEEK :]
            copied = lookback[future.paths.source_row[0]]
            quantity = path.quantity.copy()
            quantity[:, flat] = copied[:, flat]
            path = UsageMatrix(path.hours, path.keys, quantity, path.daily_granular)
        path = self._recent_moves(review, path, future.paths.source_row[0], future.model.blocks)
        catalog = review.catalog
        if self.known_changes is not None:
            (path, catalog), _ = apply_known_changes(path, self.known_changes, catalog)
        policy = replace(self.policy, ladder_tranches=max(months_starts_count(path.hours), 1))
        # the path is the forecast, not an observed lookback: a key it takes to zero is the
        # forecast's doing, so the stopped-usage check is for the lookback only
        options = replace(
            self.options,
            lookback_days=horizon / 24.0 + 1.0,
            stopped_after_days=0.0,
            recency_half_life_days=0.0,
            decide_on="lookback",
        )
        frame = path.to_frame(keep_zeros=True)
        bought = recommended_purchases(frame, catalog, policy, review.active_owned(), options)
        start = review.at.to_pydatetime()
        return tuple(p for p in bought if p.start == start)

    def _recent_moves(
        self, review: Review, path: UsageMatrix, source_row: npt.NDArray[np.intp], blocks: int
    ) -> UsageMatrix:
        """Follow falls that have just begun, and the rises that replace them (a migration).

        A fall is a clear least-squares decline of a key's weekly levels over the last
        :data:`RECENT_WEEKS` weeks: a migration or a shutdown under way. The forecast's robust
        trend over the whole lookback still sees the flat weeks before it, so the fleet would be
        committed to at its old level; instead the path is lowered to the recent line, down to
        zero. A key with a clear recent rise in the same account, region, platform and tenancy
        as a falling key is where that usage goes: its path is set to its recent level and
        rises along its line by at most the normalized units the falling keys lose, so the
        group's total stays at today's (growth of other keys is still not planned ahead). The
        paths keep the sampled weekly shape: each hour is its source hour scaled by the target
        level over its source week's level (flat where the source week had no usage).
        """
        line = weekly_line(review.usage, min(RECENT_WEEKS, blocks), self.min_trend_t)
        falling = np.flatnonzero(line.clear & (line.slope < 0))
        if falling.size == 0:
            return path
        groups = review.usage.keys.loc[:, ["account_id", "region", "platform", "tenancy"]]
        group = groups.astype(str).agg("|".join, axis=1).to_numpy()
        rising = np.flatnonzero(line.clear & (line.slope > 0) & np.isin(group, group[falling]))
        moving = np.concatenate([falling, rising])
        lookback = review.usage.quantity[-blocks * HOURS_PER_WEEK :, moving]
        week_levels = lookback.reshape(blocks, HOURS_PER_WEEK, moving.size).mean(axis=1)
        source_levels = week_levels[source_row // HOURS_PER_WEEK]
        with np.errstate(divide="ignore", invalid="ignore"):
            # a source week without usage (before a rise began) gives a flat shape
            shape = np.where(source_levels > 0, lookback[source_row] / source_levels, 1.0)
        weeks_ahead = (np.arange(len(path.hours), dtype=np.float64) + 0.5) / HOURS_PER_WEEK
        start = line.end_level[moving]
        level = np.maximum(start + np.outer(weeks_ahead, line.slope[moving]), 0.0)
        n_fall = falling.size
        if rising.size:
            units = normalization_factors(review.usage.keys["instance_type"].iloc[moving])
            lost = (np.maximum(start - level, 0.0) * units)[:, :n_fall]
            gained = (np.maximum(level - start, 0.0) * units)[:, n_fall:]
            codes, members = np.unique(group[moving], return_inverse=True)
            lost_by_group = np.zeros((len(path.hours), codes.size))
            gained_by_group = np.zeros_like(lost_by_group)
            np.add.at(lost_by_group.T, members[:n_fall], lost.T)
            np.add.at(gained_by_group.T, members[n_fall:], gained.T)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.minimum(
                    np.where(gained_by_group > 0, lost_by_group / gained_by_group, 1.0), 1.0
                )
            rise = level[:, n_fall:] - start[n_fall:]
            level[:, n_fall:] = start[n_fall:] + rise * share[:, members[n_fall:]]
        quantity = path.quantity.copy()
        target = shape * level
        quantity[:, falling] = np.minimum(quantity[:, falling], target[:, :n_fall])
        quantity[:, rising] = target[:, n_fall:]
        return UsageMatrix(path.hours, path.keys, quantity, path.daily_granular)


def without_stopped(usage: UsageMatrix, options: RecommendOptions) -> UsageMatrix:
    """The lookback with the keys that stopped (:mod:`planning.recency`) set to zero throughout,
    so that a forecast made of its weeks does not bring them back."""
    days = len(usage.hours) / HOURS_PER_DAY
    recent = recent_window_hours(options.stopped_after_days, days)
    if recent <= 0 or len(usage.hours) <= recent:
        return usage
    stopped = np.asarray(~usage.quantity[-recent:].any(axis=0), dtype=bool)
    if not stopped.any():
        return usage
    quantity = np.where(stopped[None, :], 0.0, usage.quantity)
    return UsageMatrix(usage.hours, usage.keys, quantity, usage.daily_granular)


__all__ = [
    "DEFAULT_LADDER_FRACTION",
    "DEFAULT_MIN_TREND_T",
    "DEFAULT_PLAN_MONTHS",
    "RECENT_WEEKS",
    "OursLadder",
    "OursOneShot",
]
