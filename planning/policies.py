"""Purchase policies that need the optimizer, the hindsight optimum, and the standard line-up.

``scenarios`` never imports ``optimizer``; this module composes them for
:func:`scenarios.backtest.backtest`:

- :class:`OursOneShot`: :func:`planning.recommend.recommend` on the lookback at the first review,
  nothing after.
- :class:`OursLadder`: at every review, the increment on top of what is owned now: the optimizer
  plans a monthly ladder on a 12-month forecast of the lookback (owned commitments with their
  real expirations) and only its first step is bought, a ``fraction`` of it (a rolling
  horizon); or, with ``plan_months=None``, ``recommend`` on the lookback itself. Given a plan
  of changes known in advance (a scenario: a migration that has not started yet, an exit), it
  applies them to each review's forecast (:mod:`scenarios.known_changes`); in the standard
  line-up that is the policy ``ours-ladder+plans``.
- :class:`HindsightOptimum`: the optimizer run on the window's realized usage, with monthly
  tranches (``Policy.ladder_tranches``) at the same dates as monthly reviews, and the same
  window accounting as the simulator (an offer is charged for its hours inside the window only,
  :mod:`optimizer.build`). It is the ceiling every policy is compared with.

Every policy buys from the same offerings (:data:`PURCHASE_POLICY`: 1-year, No Upfront,
standard RIs, EC2 Instance and Compute Savings Plans), and the hindsight may buy any of them,
so that it is never beaten.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.errors import CommitoptInputError, param
from core.units import HOURS_PER_MONTH, HOURS_PER_WEEK
from optimizer.policy import Policy
from planning.recommend import RecommendOptions, recommend
from pricing.catalog import PriceCatalog
from pricing.instance_types import normalization_factors
from pricing.inventory import Inventory, OwnedCommitment
from scenarios.backtest import (
    DEFAULT_LOOKBACK_DAYS,
    DEFAULT_REVIEW_EVERY,
    SP_STEP_USD,
    BacktestError,
    BacktestResult,
    CostExplorerLike,
    HindsightWindow,
    KneeRule,
    NoPurchases,
    PurchasePolicy,
    Review,
    as_if_owned_throughout,
    backtest,
    term_end,
)
from scenarios.forecast import forecast
from scenarios.known_changes import apply_known_changes, check_known_changes
from scenarios.transforms import Scenario
from usage.table import UsageMatrix

FloatArray = npt.NDArray[np.float64]

PURCHASE_POLICY: Final = Policy()
"""What every policy of the standard line-up buys: 1-year No Upfront standard RIs and SPs."""

HINDSIGHT_TOLERANCE: Final = 1e-4
"""Certified relative gap of the hindsight's cutting planes [1] (recommend's default is 1e-3)."""

DEFAULT_LADDER_FRACTION: Final = 1.0
"""Share of each review's recommended increment the ladder buys [1]."""

DEFAULT_PLAN_MONTHS: Final = 12
"""Months the ladder plans ahead on its forecast at each review (one 1-year term) [months]."""

DEFAULT_MIN_TREND_T: Final = 3.0
"""Least t-statistic of a key's weekly-level slope for the ladder to follow its trend [1]."""

RECENT_WEEKS: Final = 6
"""Last weeks in which the ladder looks for a decline that has just begun [weeks]."""


POLICY_NAMES: Final = (
    "none",
    "ce-7d",
    "ce-30d",
    "ce-60d",
    "knee",
    "ours-oneshot",
    "ours-ladder",
)
"""Policies of :func:`standard_policies`, in display order."""

PLANNED_LADDER: Final = "ours-ladder+plans"
"""The ladder that also knows a plan of future changes; in the line-up when a plan is given."""


def _recommended(
    usage: pd.DataFrame,
    catalog: PriceCatalog,
    policy: Policy,
    owned: Sequence[OwnedCommitment],
    options: RecommendOptions,
) -> tuple[OwnedCommitment, ...]:
    """``recommend``'s purchases, or none when the usage has nothing to commit to."""
    if usage.empty or float(usage["quantity"].sum()) <= 0:
        return ()
    return recommend(usage, catalog, policy, owned=owned, options=options).purchases


def _lookback_days(usage: UsageMatrix) -> float:
    return max(len(usage.hours), 1) / 24.0


def _at_review(purchase: OwnedCommitment, review: Review) -> OwnedCommitment:
    """A recommended purchase (dated at its lookback's start) moved to the review date."""
    start = review.at.to_pydatetime()
    return replace(purchase, start=start, end=term_end(review.at, purchase.term_years))


def _scaled(purchase: OwnedCommitment, fraction: float) -> OwnedCommitment | None:
    """``fraction`` of a purchase: whole RIs rounded down, SP commitments to AWS's step."""
    if fraction >= 1.0:
        return purchase
    if purchase.is_savings_plan:
        commitment = float(
            np.floor((purchase.commitment_usd_per_hour or 0.0) * fraction / SP_STEP_USD + 1e-6)
            * SP_STEP_USD
        )
        if commitment <= 0:
            return None
        share = commitment / (purchase.commitment_usd_per_hour or commitment)
        return replace(
            purchase,
            commitment_usd_per_hour=commitment,
            upfront_usd=purchase.upfront_usd * share,
            recurring_usd_per_hour=(purchase.recurring_usd_per_hour or 0.0) * share,
            effective_usd_per_hour=(purchase.effective_usd_per_hour or 0.0) * share,
        )
    count = int(np.floor((purchase.count or 0) * fraction + 1e-9))
    if count <= 0:
        return None
    share = count / (purchase.count or count)
    return replace(
        purchase,
        count=count,
        normalized_units=None
        if purchase.normalized_units is None
        else purchase.normalized_units * share,
        upfront_usd=purchase.upfront_usd * share,
        effective_usd_per_hour=None
        if purchase.effective_usd_per_hour is None
        else purchase.effective_usd_per_hour * share,
    )


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

    def __call__(self, review: Review) -> Sequence[OwnedCommitment]:
        """``recommend`` on the lookback with the owned commitments, at the first review."""
        if review.number > 0:
            return ()
        owned = as_if_owned_throughout(review.active_owned(), review.usage)
        options = replace(self.options, lookback_days=_lookback_days(review.usage))
        bought = _recommended(review.usage_frame, review.catalog, self.policy, owned, options)
        return tuple(_at_review(p, review) for p in bought)


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
    plans
        Changes known in advance, applied to each review's forecast after the trend rules
        above (:func:`scenarios.known_changes.apply_known_changes`); needs ``plan_months``.
    """

    policy: Policy = PURCHASE_POLICY
    fraction: float = DEFAULT_LADDER_FRACTION
    plan_months: int | None = DEFAULT_PLAN_MONTHS
    plan_growth: bool = False
    min_trend_t: float = DEFAULT_MIN_TREND_T
    options: RecommendOptions = field(default_factory=RecommendOptions)
    plans: Scenario | None = None

    def __call__(self, review: Review) -> Sequence[OwnedCommitment]:
        """A fraction of the recommended increment, dated at the review."""
        if not 0.0 < self.fraction <= 1.0:
            raise BacktestError(f"ladder fraction {self.fraction} must be in (0, 1]")
        if self.plans is not None and self.plan_months is None:
            raise BacktestError("a ladder with plans plans on a forecast: give plan_months")
        if review.usage.total_instance_hours <= 0:
            return ()
        if self.plan_months is None or len(review.usage.hours) < 2 * HOURS_PER_WEEK:
            owned = as_if_owned_throughout(review.active_owned(), review.usage)
            options = replace(self.options, lookback_days=_lookback_days(review.usage))
            bought = _recommended(review.usage_frame, review.catalog, self.policy, owned, options)
            now = tuple(_at_review(p, review) for p in bought)
        else:
            now = self._planned(review)
        scaled = (_scaled(p, self.fraction) for p in now)
        return tuple(p for p in scaled if p is not None)

    def _planned(self, review: Review) -> tuple[OwnedCommitment, ...]:
        """Tranche 0 of a monthly ladder optimized on the forecast of the coming months."""
        months = int(self.plan_months or 1)
        horizon = round(months * HOURS_PER_MONTH)
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
        if self.plans is not None:
            (path, catalog), _ = apply_known_changes(path, self.plans, catalog)
        policy = replace(self.policy, ladder_tranches=max(months_starts_count(path.hours), 1))
        options = replace(self.options, lookback_days=horizon / 24.0 + 1.0)
        frame = path.to_frame(keep_zeros=True)
        bought = _recommended(frame, catalog, policy, review.active_owned(), options)
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


def months_starts_count(hours: pd.DatetimeIndex) -> int:
    """Purchase dates of a monthly ladder over ``hours``: the first hour and each month start."""
    months = hours.tz_convert(None).to_numpy().astype("datetime64[M]")
    return 1 + int(np.count_nonzero(months[1:] != months[:-1])) if len(months) else 0


@dataclass(frozen=True)
class HindsightOptimum:
    """The optimizer on the window's realized usage, buying in monthly tranches.

    Tranche 0 starts with the window, tranche m at the m-th month start after it, which are the
    dates of monthly reviews (:func:`scenarios.backtest.review_dates`); offers are charged only
    inside the window, as the simulator bills. So every purchase a monthly policy can make is
    one the hindsight could make, and its plan is the cheapest up to the certified tolerance
    and rounding to whole RIs.

    Parameters
    ----------
    policy
        What may be bought (``ladder_tranches`` is set from the window).
    options
        How to solve; tolerance :data:`HINDSIGHT_TOLERANCE` by default.
    """

    policy: Policy = PURCHASE_POLICY
    options: RecommendOptions = field(
        default_factory=lambda: RecommendOptions(tolerance=HINDSIGHT_TOLERANCE)
    )

    def __call__(self, window: HindsightWindow) -> Sequence[OwnedCommitment]:
        """The hindsight plan: purchases starting at the window's month starts."""
        usage = window.usage
        if usage.total_instance_hours <= 0:
            return ()
        tranches = max(months_starts_count(usage.hours), 1)
        policy = replace(self.policy, ladder_tranches=tranches)
        options = replace(self.options, lookback_days=_lookback_days(usage) + 1.0)
        frame = usage.to_frame(keep_zeros=True)
        return _recommended(frame, window.catalog, policy, window.owned, options)


def standard_policies(
    names: Sequence[str] = POLICY_NAMES,
    *,
    policy: Policy = PURCHASE_POLICY,
    ladder_fraction: float = DEFAULT_LADDER_FRACTION,
    plans: Scenario | None = None,
) -> dict[str, PurchasePolicy]:
    """The named policies, all buying ``policy``'s first term, payment option and RI class.

    With ``plans``, :data:`PLANNED_LADDER` may be named (the ladder applying the plans to its
    forecasts); without, naming it is an error.

    Raises
    ------
    BacktestError
        For an unknown name (the message lists the known ones), or the planned ladder without
        plans.
    """
    term = policy.terms_years[0]
    payment = policy.payment_options[0]
    offering_class = policy.offering_classes[0] if policy.offering_classes else "standard"
    one_term = replace(policy, terms_years=(term,), payment_options=(payment,))

    def ce_like(days: float) -> PurchasePolicy:
        return CostExplorerLike(
            days, term_years=term, payment_option=payment, offering_class=offering_class
        )

    builders: dict[str, Callable[[], PurchasePolicy]] = {
        "none": NoPurchases,
        "knee": lambda: KneeRule(term_years=term, payment_option=payment),
        "ours-oneshot": lambda: OursOneShot(one_term),
        "ours-ladder": lambda: OursLadder(one_term, fraction=ladder_fraction),
        **{f"ce-{days}d": partial(ce_like, float(days)) for days in (7, 30, 60)},
    }
    if plans is not None:
        builders[PLANNED_LADDER] = lambda: OursLadder(
            one_term, fraction=ladder_fraction, plans=plans
        )
    elif PLANNED_LADDER in names:
        raise BacktestError(
            f"policy {PLANNED_LADDER!r} needs the plans it knows in advance: give "
            f"{param('plans_file')} FILE "
            "(a scenario file of planned migrations, exits, new workloads)"
        )
    unknown = [name for name in names if name not in builders]
    if unknown:
        known = ", ".join((*POLICY_NAMES, PLANNED_LADDER))
        raise BacktestError(f"unknown policy {', '.join(map(repr, unknown))}; use {known}")
    return {name: builders[name]() for name in dict.fromkeys(names)}


def run_backtest(
    usage: pd.DataFrame | UsageMatrix,
    catalog: PriceCatalog,
    names: Sequence[str] = POLICY_NAMES,
    *,
    start: object,
    end: object,
    review_every: str = DEFAULT_REVIEW_EVERY,
    lookback_days: float = DEFAULT_LOOKBACK_DAYS,
    owned: Inventory | Sequence[OwnedCommitment] = (),
    policy: Policy = PURCHASE_POLICY,
    ladder_fraction: float = DEFAULT_LADDER_FRACTION,
    plans: Scenario | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Backtest the named standard policies with the hindsight optimum as the ceiling.

    Parameters are those of :func:`scenarios.backtest.backtest` and :func:`standard_policies`;
    with ``plans`` and the default names, :data:`PLANNED_LADDER` is added after
    ``ours-ladder``. The plans are checked against the whole usage first.

    Raises
    ------
    core.errors.CommitoptInputError
        For a bad window or lookback, an unknown policy name, plans that name usage the history
        does not have, or a policy the optimizer rejects.
    """
    policy.validate()
    if policy.ladder_tranches != 1:
        raise CommitoptInputError(
            "the backtest's purchase policy buys at each review: leave ladder_tranches at 1"
        )
    if plans is not None:
        check_known_changes(plans, usage, catalog)
        if tuple(names) == POLICY_NAMES:
            names = (*POLICY_NAMES, PLANNED_LADDER)
    policies = standard_policies(names, policy=policy, ladder_fraction=ladder_fraction, plans=plans)
    return backtest(
        usage,
        catalog,
        policies,
        start=start,
        end=end,
        review_every=review_every,
        lookback_days=lookback_days,
        owned=owned,
        hindsight=HindsightOptimum(policy),
        progress=progress,
    )


__all__ = [
    "DEFAULT_LADDER_FRACTION",
    "DEFAULT_MIN_TREND_T",
    "DEFAULT_PLAN_MONTHS",
    "HINDSIGHT_TOLERANCE",
    "PLANNED_LADDER",
    "POLICY_NAMES",
    "PURCHASE_POLICY",
    "RECENT_WEEKS",
    "HindsightOptimum",
    "OursLadder",
    "OursOneShot",
    "WeeklyLine",
    "clear_trend",
    "months_starts_count",
    "run_backtest",
    "standard_policies",
    "weekly_line",
]
