"""This project's policies: its recommendation at the first review, or a ladder at every review.

- :class:`OursOneShot`: :func:`planning.recommend.recommend` at the first review, nothing after.
- :class:`OursLadder`: at every review, the increment on top of what is owned now. By default
  (``basis="futures"``) that is the very decision ``commitopt recommend`` takes (on the futures
  of :mod:`planning.future`, with the recency and stopped-usage rules), given the commitments
  owned now, and only what it buys now is bought, a ``fraction`` of it (scaled by
  :meth:`pricing.inventory.Commitment.scaled`). With ``basis="path"`` it plans a monthly
  ladder on one forecast path instead; that planner is the one that applies changes known in
  advance (a migration that has not started yet, an exit: :mod:`scenarios.known_changes`), so
  the standard line-up's ``ours-ladder+plans`` uses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

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
from planning.renewals import LONGEST_TERM_YEARS, queued_renewals
from planning.trends import clear_trend, weekly_line
from pricing.instance_types import normalization_factors
from pricing.inventory import Commitment
from pricing.inventory.values import term_end
from scenarios.backtest import BacktestError, Review
from scenarios.forecast import forecast
from scenarios.known_changes import apply_known_changes
from scenarios.transforms import Scenario
from usage.table import UsageMatrix

DEFAULT_LADDER_FRACTION: Final = 1.0
"""Share of each review's recommended increment the ladder buys [1]."""

LADDER_BASES: Final = ("futures", "path")
"""What the ladder decides on at each review: ``recommend``'s futures (the default), or one
forecast path (the planner that applies known changes)."""

DEFAULT_PLAN_MONTHS: Final = 12
"""Months the path ladder plans ahead on its forecast at each review (one 1-year term) [months]."""

DEFAULT_MIN_TREND_T: Final = 3.0
"""Least t-statistic of a key's weekly-level slope for the path ladder to follow its trend [1]."""

RECENT_WEEKS: Final = 6
"""Last weeks in which the path ladder looks for a decline that has just begun [weeks]."""


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


def next_review_at(review: Review) -> pd.Timestamp:
    """The next review's date; at the last review, a month later (:data:`HOURS_PER_MONTH`)."""
    if review.next_at is not None:
        return review.next_at
    return review.at + pd.Timedelta(hours=HOURS_PER_MONTH)


def held_owned(review: Review, *, renewed: bool = True) -> tuple[Commitment, ...]:
    """The commitments owned at the review, as the ladder's decision sees them.

    Parameters
    ----------
    review
        The review.
    renewed
        True (the default): a commitment that expires after the next review is taken as held
        to the end of any term bought now, because the review at which it expires can replace
        it (with what is known then) at the same price; buying its replacement now would pay
        twice until it expires. A commitment that expires before the next review keeps its
        real end (the ladder queues its replacement there: :mod:`planning.renewals`). False:
        every commitment with its real end, as ``commitopt recommend`` sees it. The last
        review counts the next one a month later.

    Returns
    -------
    tuple of Commitment
        The commitments owned and not yet ended at the review (those queued to start later
        too), with the ends the decision sees.
    """
    moment = review.at.to_pydatetime()
    owned = tuple(c for c in review.owned if c.end > moment)
    if not renewed:
        return owned
    replaced_by = next_review_at(review).to_pydatetime()
    beyond = term_end(moment, LONGEST_TERM_YEARS)  # past the end of any term bought now
    return tuple(replace(c, end=max(c.end, beyond)) if c.end > replaced_by else c for c in owned)


@dataclass(frozen=True)
class OursLadder:
    """This project's recommendation every review: the increment on top of what is owned.

    With ``basis="futures"`` (the default) each review takes the decision ``commitopt recommend``
    takes by default (:func:`planning.policies.recommended.recommended_on_lookback`: the review's
    whole lookback as usage, the futures of :mod:`planning.future` with their structural events and
    risk term, the recency and stopped-usage rules) with the commitments owned now
    (:func:`held_owned`), and buys its purchases, dated at the review; what ends before the next
    review is replaced at its end, by purchases queued to start then (:mod:`planning.renewals`). The
    next review decides again on top of them (a rolling horizon: each decision is the increment
    given the owned cover). With ``basis="path"`` the review plans ahead on one forecast path
    instead (:func:`scenarios.forecast.forecast`, damped robust trend times whole lookback weeks,
    the trend rules below), the optimizer choosing purchases now and at each coming month start
    (``Policy.ladder_tranches``) with the owned commitments' real expirations, and only the first
    step is bought; this planner applies ``known_changes``. Either way ``fraction`` of each purchase
    is bought (whole RIs rounded down, SP commitments to 0.001 USD/h).

    Parameters
    ----------
    policy
        What may be bought.
    fraction
        Share of the increment bought at each review [0–1].
    basis
        ``"futures"`` or ``"path"`` (:data:`LADDER_BASES`).
    renew_owned
        Futures basis: owned commitments that expire after the next review are taken as held
        through the term (:func:`held_owned`); False gives every one its real end.
    queue_renewals
        Futures basis: an owned commitment that ends before the next review is replaced at its
        end, by a purchase queued to start then (:mod:`planning.renewals`); False replaces it
        at the review, paying twice until it ends.
    options
        How to solve; its ``lookback_days`` is replaced.
    plan_months
        Path basis: months planned ahead on the forecast.
    plan_growth
        Path basis. False (the default): a key's forecast never rises above its trend at the
        review date, so declines are planned for but growth not yet seen is not. True: the
        forecast's own damped, capped trend.
    min_trend_t
        Path basis: a key's trend is followed only when its least-squares slope over the weekly
        levels is at least this many standard errors from zero (:func:`clear_trend`); other keys
        repeat their lookback weeks unscaled.
    known_changes
        Changes known in advance (the backtest's ``--plans`` file): on the futures basis applied
        to every future of each review's decision, as ``recommend --plans`` does
        (:mod:`planning.future_changes`); on the path basis to the forecast path after the trend
        rules (:func:`scenarios.known_changes.apply_known_changes`).
    """

    policy: Policy = PURCHASE_POLICY
    fraction: float = DEFAULT_LADDER_FRACTION
    basis: str = "futures"
    renew_owned: bool = True
    queue_renewals: bool = True
    options: RecommendOptions = field(default_factory=RecommendOptions)
    plan_months: int = DEFAULT_PLAN_MONTHS
    plan_growth: bool = False
    min_trend_t: float = DEFAULT_MIN_TREND_T
    known_changes: Scenario | None = None

    def __call__(self, review: Review) -> Sequence[Commitment]:
        """A fraction of the recommended increment, dated at the review (replacements of what
        ends before the next review queued to its end)."""
        if not 0.0 < self.fraction <= 1.0:
            raise BacktestError(f"ladder fraction {self.fraction} must be in (0, 1]")
        if self.basis not in LADDER_BASES:
            raise BacktestError(
                f"ladder basis {self.basis!r}: give one of {', '.join(LADDER_BASES)}"
            )
        if review.usage.total_instance_hours <= 0:
            return ()
        if self.basis == "futures":
            owned = held_owned(review, renewed=self.renew_owned)
            options = self.options
            if self.known_changes is not None:
                planned = replace(options.future, known_changes=self.known_changes)
                options = replace(options, future=planned)
            if review.next_at is not None and options.future.next_review_hours is None:
                # growth past the next review is bought there (FutureOptions.next_review_hours)
                until_next = (review.next_at - review.at).total_seconds() / 3600.0
                options = replace(
                    options, future=replace(options.future, next_review_hours=until_next)
                )
            now = self._decided(review, options, owned)
        elif len(review.usage.hours) < 2 * HOURS_PER_WEEK:
            now = recommended_on_lookback(review, self.policy, self.options)
        else:
            now = self._planned(review)
        scaled = (p.scaled(self.fraction) for p in now)
        return tuple(p for p in scaled if p is not None)

    def _decided(
        self, review: Review, options: RecommendOptions, owned: tuple[Commitment, ...]
    ) -> tuple[Commitment, ...]:
        """The futures decision on top of ``owned``; with ``queue_renewals``, what ends before
        the next review is replaced at its end (:func:`planning.renewals.queued_renewals`)."""

        def decide(held: tuple[Commitment, ...]) -> tuple[Commitment, ...]:
            return recommended_on_lookback(review, self.policy, options, held)

        if not self.queue_renewals:
            return decide(owned)
        now, until = review.at.to_pydatetime(), next_review_at(review).to_pydatetime()
        return queued_renewals(decide, owned, now=now, until=until)

    def _planned(self, review: Review) -> tuple[Commitment, ...]:
        """Tranche 0 of a monthly ladder optimized on the forecast of the coming months."""
        months = max(int(self.plan_months), 1)
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
    "LADDER_BASES",
    "RECENT_WEEKS",
    "OursLadder",
    "OursOneShot",
    "held_owned",
    "next_review_at",
]
