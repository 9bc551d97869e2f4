"""The futures a purchase decision is taken on: sampled paths of usage over the commitment's term.

A commitment is a bet on the next one or three years, not on the lookback. So ``recommend``
chooses its purchases on a set of equally likely futures (:func:`decision_futures`), each a path of
the lookback's usage carried over the term:

1. **Level.** Each key's weekly mean level over the lookback's whole weeks. A key whose last
   weeks show a clear declining least-squares line (slope at least :data:`MIN_TREND_T` standard
   errors, :func:`planning.trends.weekly_line`) follows it down, to zero if it gets there, while
   the decline goes on: a steep one (:data:`LEVELLED_MIN_FALL_SHARE`) whose last week fell by at
   most :data:`LEVELLED_SHARE` of the line's weekly fall, or rose, has **levelled off**
   (:func:`levelled_keys`: a season's peak back at its base, a fleet halved two weeks ago) and
   copies its last week in every epoch instead (reviewed on 1 February after a Q4 peak, the
   one-shot followed every key to zero and bought nothing: 0 USD, against 36,848 USD now). A
   clear rise is not followed (unless ``follow_growth``, which follows it past today's level,
   or unless a key of its account and region clearly declines: usage moving to another
   instance type, as in a migration under way, is followed on both sides up to today's level):
   its futures copy its lookback weeks as the others' do, so the ramp of a seasonal peak is
   not bought as if it would last: held at today's level, the ramp to a Q4 peak bought in
   November or December kept 12-18 % of what the best single purchase saves, against 54-93 %
   without it, and 94-95 % with point 2's rules as well (``bench_decisions.py --timing``).
   **Steady growth** is the exception: a key whose rise is clear and at most
   :data:`STEADY_GROWTH_PER_WEEK` of today's level a week, both over the last weeks and over
   the whole lookback at nearly the same slope (growth that has gone on all along, a few per
   cent a month), follows its line for as long as each future draws the growth to last
   (:func:`growth_weeks`: as likely to stop within the lookback's length as to go on past
   it), and a ladder's decision only up to its next review, where what grows past it is
   bought once seen (``FutureOptions.next_review_hours``); a season's ramp is steeper, and
   the plateau after one is flat lately but steep over the lookback. Its slope
   is damped like the forecast's (:mod:`scenarios.forecast`) and each future draws its own
   slope within the line's standard error (a Student-t draw common to every key: the total
   trend is uncertain too).
2. **Shape and recency.** Each future week copies a whole lookback week, drawn with weights that
   halve every ``half_life_days`` of age, so recent weeks count more than old ones; a key with a
   clear trend has the copied week scaled to its line. Recent weeks count more only where they
   run lower: a key whose recency-weighted weekly level is more than :data:`RISING_TOLERANCE`
   above its plain mean (it runs higher lately, and is neither a new level nor a followed line)
   **waits for its rise to last**: it copies its lowest week since it first ran (not the idle
   weeks before a launch, nor the week it launched in, partly idle: on the launch archetypes
   this bought 176 to 409 USD more savings a year, and cost none elsewhere;
   :data:`WAITING_QUANTILE`, :func:`_waiting_weeks`), the level it has held in every one of
   them. A commitment is bought on recent evidence when it says less, and on a rise for what the
   rise has kept all along: a month's wait costs a month of the increment's discount, while
   buying a season's ramp idles the increment for most of a term. Reviewed monthly from a Q4
   ramp the ladder saved 18,924 USD drawing every week alike, 27,685 drawing the weeks up to the
   median, 32,917 up to the lower quartile and 36,284 the lowest week (the one-shot: 36,774); a
   fleet launched inside the lookback is not bought for at its idle weeks. A key launched so
   recently that it has not run a whole week after the week it launched in
   (:func:`young_keys`, :data:`LASTED_WEEKS`: a load test, a fleet started days ago) copies its
   idle weeks before the launch: nothing is bought for it yet, unless usage of its account and
   region fell as it started (a migration done in the last days: it moved, it did not start), and
   so does one launched inside the lookback that has been idle at its end for longer than any
   pause since it started (:func:`paused_keys`: a load test that is over). A week with an
   **outage** (:func:`outage_weeks`) is not a level a rise has kept, nor a week any future
   copies (the nearest week without one stands in for it); a key whose last
   :data:`RAISED_WEEKS` weeks run more than :data:`RAISED_SHARE` above its first ones runs higher
   lately even where the recency weights miss it (:func:`rising_keys`: a season's plateau); one
   the lookback catches on a rise (its first weeks each higher than the one before and none
   lower, :func:`ramp_start_keys`: 1 January's 90 days start two days into a Q4 ramp) waits at
   its lowest week taken one week's rise back, the level the rise started from. A
   key that has **risen to a new level** (:func:`risen_keys`: its last two weekly levels both at
   least :data:`RISEN_FACTOR` times its mean over the weeks before them, and within
   :data:`PLATEAU_TOLERANCE` of each other: a fleet launched, or doubled, and running at its new
   size for two weeks; or a step that holds, :func:`stepped_keys`) copies its last week in
   every epoch instead: its older weeks (zero before a launch) no longer describe it, as a
   fallen key's do not (:mod:`planning.recency`). A single
   busy week, or a ramp still under way, is not a new level. A key whose last week is a clear
   **new low** (:func:`dropped_keys`: below :data:`DROPPED_FACTOR` times its earlier mean and
   below every earlier week, or off a recent high: below each of its last
   :data:`RECENT_HIGH_WEEKS` weeks by a fall far outside its usual week-to-week moves: a fleet
   stopped a few days ago, a season's peak on its way down while the ramp's weeks are still
   lower, a migration under way) copies its last week too: a commitment is bought for where
   usage is now, not for where it was, and a fleet idle on some days of that week is idle on
   them in every future.
3. **Structural changes** (:mod:`planning.structural`): in each future each family of an
   account migrates to another family or exits at a random hour of the term, its fleets in
   every region together, with learned or prior yearly rates.
4. **Time, compressed.** A future is not stored hour by hour over the term: each of its epochs
   (a quarter of a year, :data:`EPOCH_MONTHS`) is one representative week of 168 hours, which
   stands for the epoch's hours. Every epoch has the same length, so the optimizer's uniform hour
   weights are right, and a commitment active over the whole term is active in every hour. The
   futures' hours run on from the decision's start, one week per epoch; an owned commitment that
   expires inside the term is mapped onto the same compressed clock (:func:`compress_owned`).
   Time value (``Policy.discount_rate``) is then counted on the compressed clock.
5. **An hour budget.** Beyond :data:`DEFAULT_FUTURE_ROWS` rows in all (40 futures of four whole
   weeks), each epoch keeps an evenly spaced sample of its week's hours instead of all 168
   (systematic sampling from a random start per future and epoch, so every hour of the week
   is as likely to be kept): 100 futures keep 67 hours per epoch. The optimizer's work grows
   with the rows, not with the futures, so more futures buy a better picture of what can
   happen (trends, migrations, exits: the spread between futures) at the same cost, while
   each future's bill is estimated from a sample of its hours (next hours' usage is nearly
   the same, so little is lost). :func:`planning.forecast_decision.expected_outcome` bills
   each future on the hours it keeps, scaled to the term.

The futures are ``(name, probability, UsageMatrix)`` triples for
:func:`optimizer.build.build_problem`'s ``scenarios``: the optimizer then maximizes the expected
savings over them (and, with a CVaR weight, guards their worst tail).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.units import HOURS_PER_DAY, HOURS_PER_MONTH, HOURS_PER_WEEK, HOURS_PER_YEAR
from planning.structural import (
    DEFAULT_EXIT_RATE_PER_YEAR,
    DEFAULT_MIGRATION_RATE_PER_YEAR,
    DEFAULT_REGION_EXIT_RATE_PER_YEAR,
    DEFAULT_REGION_MIGRATION_RATE_PER_YEAR,
    EVENT_COLUMNS,
    REGION_EVENT_COLUMNS,
    UNDER_WAY_FUTURES_SHARE,
    UNDER_WAY_WITHIN_HOURS,
    EventRates,
    Fleets,
    event_rates,
    fleets,
    moves_under_way,
)
from planning.trends import WeeklyLine, weekly_line
from pricing.catalog import PriceCatalog
from pricing.instance_types import normalization_factors
from pricing.inventory import Commitment
from usage.table import KEY_COLUMNS, UsageMatrix

if TYPE_CHECKING:
    from scenarios.transforms import Scenario

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

DEFAULT_FUTURES: Final = 40
"""Futures sampled for a decision."""

DEFAULT_FUTURE_ROWS: Final = 40 * 4 * 168
"""Most rows (compressed hours) of all futures together before each epoch keeps a sample of
its week's hours (40 futures × 4 epochs × 168 h)."""

MIN_EPOCH_ROWS: Final = 24
"""Fewest hours an epoch keeps, whatever the budget [h]."""

EPOCH_MONTHS: Final = 3
"""Months of the term one representative week stands for [months]."""

DEFAULT_HALF_LIFE_DAYS: Final = 30.0
"""Age at which a lookback week counts half as much as the last one [days]."""

MIN_TREND_T: Final = 3.0
"""Least t-statistic of a key's weekly slope for its futures to follow it [1]."""

TREND_WEEKS: Final = 6
"""Last weeks the trend line is fitted on [weeks]."""

LEVELLED_SHARE: Final = 0.5
"""A steep clear decline whose last week fell by at most this share of the line's weekly fall
(or rose) has levelled off: its last week is its level, not the line [1]."""

LEVELLED_MIN_FALL_SHARE: Final = 0.25
"""… steep: the line falls by at least this share of its first level over its weeks [1]. A
gradual decline (a few per cent a month) has level weeks by chance and goes on."""

DAMPING_HALF_LIFE_WEEKS: Final = 52.0
"""A trend's slope halves every this many weeks past the lookback [weeks]."""

STEADY_GROWTH_PER_WEEK: Final = 0.02
"""A clear rise of at most this share of today's level per week is steady growth, followed for
as long as each future draws it to last (:func:`growth_weeks`); a steeper one (a season's
ramp) is not followed [1/week]."""

RISEN_FACTOR: Final = 2.0
"""A key's last two weekly levels at least this multiple of its earlier mean: a new level [1]."""

STEP_FACTOR: Final = 1.3
"""… or at least this multiple of every week before the week the rise took, those weeks flat
(a step, not a season's ramp) [1]."""

STEP_FLAT_SHARE: Final = 0.25
"""Weeks are flat when the highest is at most this share above their median [1]."""

STEP_HOLD_SHARE: Final = 0.1
"""… and the weeks since it within this share of each other: it holds [1]. With the looser
:data:`PLATEAU_TOLERANCE`, the ramp to a Q4 peak reviewed on 15 November was taken for a step
(the ladder 728 USD less, the one-shot 270)."""

STEP_BEFORE_WEEKS: Final = 3
"""Flat weeks a step needs before the week it took [weeks] (and two after it)."""

PLATEAU_TOLERANCE: Final = 0.25
"""… and the lower of the two at least ``1 −`` this share of the higher: a plateau [1]."""

RISING_TOLERANCE: Final = 0.05
"""A key whose recency-weighted weekly level is more than this share above its plain mean runs
higher lately: its futures draw every lookback week alike [1] (the share the recency
adjustment of :mod:`planning.recency` leaves as noise)."""

RAISED_WEEKS: Final = 4
"""Weeks at each end of the lookback compared by :func:`rising_keys` [weeks]."""

RAISED_SHARE: Final = 0.15
"""A key whose last :data:`RAISED_WEEKS` weeks run more than this share above its first ones
runs higher lately, even where the recency weights miss it [1]: a season's plateau held six
weeks weighs its recent weeks at 1.03-1.04 times its plain mean, and runs 1.19-1.25 times its
first four weeks. On seasonal_peak_1_5_seed1 the ladder topped up at that plateau on 1 January
and saved 35,030 USD against its one-shot's 36,859; with 0.2, 36,336; with 0.15, 36,848 (and
the ladders of two migrations 139 and 160 USD less)."""

OUTAGE_SHARE: Final = 0.25
"""An hour below this share of a key's median running hour (its hours above zero) is an
outage hour [1]."""

OUTAGE_EXTRA_HOURS: Final = 24
"""A week with more outage hours than the key's usual week (the median over the weeks since it
first ran: a business-hours key's nights and weekends), by more than this, holds an outage or
a shutdown: the waiting rule does not take it for a level the key has kept, and no future
copies it (the nearest week without one stands in) [h]. Drawn at its
lowest week, a key whose usage stopped for 9 days in the lookback was bought nothing, and an
estate idle for two weeks in the lookback had no usage in any future."""

DROPPED_FACTOR: Final = 0.8
"""A key's last weekly level below this multiple of its earlier mean, and below every earlier
week's level: it has dropped to where it is now [1]."""

RECENT_HIGH_WEEKS: Final = 3
"""A last week below each of these weeks before it, by a fall from their mean of at least
:data:`MIN_FALL_SHARE` of it and :data:`FALL_NOISE_MULTIPLE` usual moves, has fallen off a
recent high [weeks]."""

MIN_FALL_SHARE: Final = 0.1
"""Least fall off a recent high, as a share of the recent weeks' mean [1]."""

FALL_NOISE_MULTIPLE: Final = 3.0
"""Least fall off a recent high, in the key's median week-to-week move over the lookback [1]."""

WAITING_QUANTILE: Final = 0.0
"""A key running higher lately draws its weeks at or below this quantile of its weekly levels
since it first ran: 0, its lowest week [1]. The lower quartile (until session 37) bought a
season's ramp from the ladder's reviews at its height: seasonal_retailer's ladder saved 35,519
USD against its one-shot's 36,175, now 36,227."""

LASTED_WEEKS: Final = 1
"""Whole weeks a key launched inside the lookback must have run after the week it launched in
before a commitment rests on it [weeks]; until then its futures copy its idle weeks before the
launch. A week shows a workload's weekly cycle, as a week idle shows it stopped
(:data:`planning.recency.STOPPED_AFTER_DAYS`). A load test of 20 c5.4xlarge over the lookback's
last 6 days, drawn at its level, made the one-shot and the ladder buy for it and lose 42,421 USD
over the year; now they save 15,167 and 15,199. A real launch that young is bought a review
later: measured on the 38 backtest cases, the ladders lost 16 to 688 USD on four launch cases
and the one-shot 1,017 on one; two weeks cost up to 1,767 and 4,513."""

PAUSED_MIN_HOURS: Final = 24
"""A key launched inside the lookback that has been idle for at least this long at its end,
and longer than any pause since it first ran, has stopped for now (:func:`paused_keys`) [h]. A
load test of 120 c4.8xlarge for 10 days that ended 2 days before the review was taken for a
new level: the one-shot bought for it and kept 9.3 % of the year's ceiling, where ce-30d kept
99.0 %."""

RAMP_WEEKS: Final = 3
"""A key whose first this many whole lookback weeks each run at least :data:`RAMP_STEP_SHARE`
above the one before began the lookback on a rise (:func:`ramp_start_keys`) [weeks]."""

RAMP_HELD_SHARE: Final = 0.05
"""A rise the lookback begins on has run its course when its last two whole weeks are within
this share of each other [1]: a season's plateau. A key still rising (steep growth) keeps its
lowest week, a level it has held all along [1]."""

RAMP_STEP_SHARE: Final = 0.03
"""The least week-on-week rise, as a share of the lookback's first week, of a rise the
lookback begins on [1]: a Q4 ramp doubling in seven weeks rises 10-15 % a week; steady growth
of a few per cent a month, about 1 % a week, is followed by its line instead."""

REPLACED_SHARE: Final = 0.5
"""A key launched in the lookback's last week is not young when the other keys of its account
and region fell over that week by at least this share of its normalized units [1]: a fleet
moved to it (:func:`young_keys`)."""

MIN_WEEKS: Final = 2
"""Fewest whole lookback weeks to decide on futures; fewer decide on the lookback [weeks]."""

SEED: Final = 20261205
"""Seed of the futures' draws (a decision is reproducible)."""

REGION_SEED_OFFSET: Final = 3
"""The region events' generator is seeded ``seed + REGION_SEED_OFFSET`` (``seed + 1`` draws
the rising keys' weeks, ``seed + 2`` how long growth lasts)."""

DEFAULT_RISK_WEIGHT: Final = 0.5
"""Weight λ of the CVaR of the book's loss against on-demand in the decision's objective [1]."""

DEFAULT_RISK_LEVEL: Final = 0.9
"""CVaR level α: the risk term is the mean loss of the worst 1 − α of the futures [1]."""


@dataclass(frozen=True)
class FutureOptions:
    """How the futures are drawn.

    Attributes
    ----------
    futures
        Number of equally likely futures.
    term_hours
        Hours the futures cover (the longest term the policy buys) [h].
    half_life_days
        Recency weighting of the lookback weeks; ``inf`` or 0 weighs them alike [days], and 0
        also turns off the new-low rule (:func:`dropped_keys`): the lookback as it ran.
        ``recommend`` sets it from ``RecommendOptions.recency_half_life_days``.
    follow_growth
        Follow any clear rise past today's level, for the whole term (default: no; steady
        growth alone is followed, for as long as each future draws it to last).
    next_review_hours
        Hours until the decision is next reviewed (a ladder's next purchase date), ``None``
        when it is not (``recommend``). Steady growth is then bought only up to where it
        gets by that review: what it grows past it is bought there, once seen [h].
    migration_prior_per_year, exit_prior_per_year
        Priors of the structural-change rates (:mod:`planning.structural`) [1/year]; 0 and 0
        with no evidence turns the events off.
    region_migration_prior_per_year, region_exit_prior_per_year
        Priors of the region events' rates: an account's usage in a region moving to another
        region, or leaving it (:mod:`planning.structural`) [1/year]; 0 and 0 with no evidence
        turns them off.
    seed
        Seed of the draws.
    risk_weight, risk_level
        The decision minimises expected cost + ``risk_weight`` × CVaR at ``risk_level`` of the
        loss of the book (owned commitments and purchases together) against on-demand (the
        mean loss in the worst ``1 − risk_level`` of the futures); weight 0 maximises the
        expected savings alone. A policy with its own ``cvar_weight`` keeps it.
    risk_losses_only
        The risk term counts only what the book pays above on-demand (the CVaR of the loss
        floored at 0): futures that still save, however little, add nothing to it. Off, it
        counts the worst futures' savings too, and pays for steadier savings on estates that
        never lose (module docstring).
    follow_moves
        A family seen moving to another family in the lookback (in one region: a move under
        way, :func:`planning.structural.moves_under_way`) migrates in every region, soon, in
        most futures. Off, its other fleets keep the yearly rates alone.
    max_rows
        The hour budget: most rows of all futures together; beyond it each epoch keeps an
        evenly spaced sample of its week's hours (module docstring, point 5).
    known_changes
        Changes known in advance (``--plans``), applied to every future by
        :func:`planning.forecast_decision.forecast_problem`
        (:mod:`planning.future_changes`); ``None`` for none.
    moved_keys
        Keys (:data:`usage.table.KEY_COLUMNS` tuples) launched in the lookback's last week that
        took over usage that fell in their account and region (:func:`moved_keys`, found on the
        lookback as it ran: the recency adjustment counts a fallen key at its recent level all
        along, which hides its fall); they are not young.
    """

    futures: int = DEFAULT_FUTURES
    term_hours: int = HOURS_PER_YEAR
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS
    follow_growth: bool = False
    next_review_hours: float | None = None
    migration_prior_per_year: float = DEFAULT_MIGRATION_RATE_PER_YEAR
    exit_prior_per_year: float = DEFAULT_EXIT_RATE_PER_YEAR
    region_migration_prior_per_year: float = DEFAULT_REGION_MIGRATION_RATE_PER_YEAR
    region_exit_prior_per_year: float = DEFAULT_REGION_EXIT_RATE_PER_YEAR
    seed: int = SEED
    risk_weight: float = DEFAULT_RISK_WEIGHT
    risk_level: float = DEFAULT_RISK_LEVEL
    risk_losses_only: bool = True
    follow_moves: bool = True
    max_rows: int = DEFAULT_FUTURE_ROWS
    known_changes: Scenario | None = None
    moved_keys: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, eq=False)
class Futures:
    """The futures of a decision.

    Attributes
    ----------
    start
        The decision's first hour (UTC); the compressed clock starts there.
    keys
        The futures' keys: the lookback's, then the keys it lacks that some future moves usage
        to (a family migration's target, a region migration's destination).
    quantity
        ``(futures, epochs × epoch_rows, keys)`` instance-hours per hour.
    epochs
        Representative weeks per future.
    epoch_hours
        Real hours one epoch stands for [h].
    rates
        The structural-change rates used.
    events
        One row per event: ``future``, ``fleet`` (text), ``family``, ``kind``
        (``migration``/``exit``/``region migration``/``region exit``), ``at_hours`` (hours
        into the term).
    fleet_table
        :attr:`planning.structural.Fleets.table`.
    """

    start: pd.Timestamp
    keys: pd.DataFrame
    quantity: FloatArray
    epochs: int
    epoch_hours: float
    rates: EventRates
    events: pd.DataFrame
    fleet_table: pd.DataFrame
    epoch_rows: int = HOURS_PER_WEEK
    """Hours of its week each epoch keeps (168, fewer beyond the hour budget) [h]."""
    hour_of_week: IntArray | None = None
    """``(futures, epochs × epoch_rows)``: the hour of its week (0–167) each row copies;
    ``None``: every epoch holds its whole week in order."""
    risen: int = 0
    """Keys of the lookback that have risen to a new level (:func:`risen_keys`)."""
    risen_levels: pd.DataFrame | None = None
    """The risen keys: :data:`usage.table.KEY_COLUMNS`, ``recent_level`` (mean running
    instances of the last two weeks), ``older_level`` (of the weeks before the rise: those up to
    the last one below halfway to the new level) and ``days_at_level`` (whole weeks since the
    rise [days]); ``None`` when not recorded. The explanations name them
    (:mod:`planning.decision_notes`)."""
    dropped: int = 0
    """Keys of the lookback whose last week is a new low (:func:`dropped_keys`)."""
    ramped: int = 0
    """Keys waiting for a rise the lookback began on, drawn below its lowest week
    (:func:`ramp_start_keys`)."""
    levelled: int = 0
    """Keys of the lookback whose steep decline has levelled off (:func:`levelled_keys`)."""
    growing: int = 0
    """Keys of the lookback growing steadily: followed past today's level for as long as each
    future draws the growth to last (:func:`growth_weeks`)."""
    growing_levels: pd.DataFrame | None = None
    """The growing keys: :data:`usage.table.KEY_COLUMNS`, ``recent_level`` (mean running
    instances of the last week) and ``growth_pct_per_week`` (the line's slope, % of today's
    level); ``None`` when not recorded. The explanations name them
    (:mod:`planning.decision_notes`)."""
    young_levels: pd.DataFrame | None = None
    """The keys launched too recently to buy for (:func:`young_keys`, :func:`paused_keys`):
    :data:`usage.table.KEY_COLUMNS`, ``days_running`` (since each first ran in the lookback
    [days]), ``recent_level`` (mean running instances over the last week) and ``idle_hours``
    (idle at the lookback's end [h]); ``None``: not recorded. Warnings name them
    (:func:`planning.decision_notes.young_notices`)."""
    known_changes_skipped: tuple[str, ...] = ()
    """Transforms of the known changes that matched nothing in the futures (their locations)."""

    @property
    def count(self) -> int:
        """Number of futures."""
        return int(self.quantity.shape[0])

    @property
    def hours(self) -> pd.DatetimeIndex:
        """The compressed clock: one hour per row of a future, from :attr:`start`."""
        return pd.date_range(self.start, periods=self.quantity.shape[1], freq="h")

    def scenarios(self) -> list[tuple[str, float, UsageMatrix]]:
        """The futures as ``build_problem`` scenarios (equal probabilities)."""
        hours = self.hours
        probability = 1.0 / self.count
        return [
            (f"future-{i:03d}", probability, UsageMatrix(hours, self.keys, self.quantity[i]))
            for i in range(self.count)
        ]

    def matrix(self, index: int) -> UsageMatrix:
        """Future ``index`` as a usage matrix on the compressed clock."""
        return UsageMatrix(self.hours, self.keys, self.quantity[index])

    def explained_period(self) -> dict[str, Any]:
        """How :func:`optimizer.explain.explain` words and scales a decision on these futures:
        their hours, and their expected money over the whole term."""
        term_hours = self.epoch_hours * self.epochs
        months = term_hours / HOURS_PER_MONTH
        return {
            "period": "the futures",
            "money_scale": term_hours / self.quantity.shape[1],
            "money_period": f"the {months:.0f}-month term (expected over the futures)",
        }

    def real_times(self, index: int) -> pd.DatetimeIndex:
        """When each row of future ``index`` happens in real time, to the day, at the hour of
        the day of the week hour it copies: what a dated change (a planned migration's ramp,
        an exit, a new workload's daily profile) is evaluated at."""
        rows = int(self.quantity.shape[1])
        if self.hour_of_week is None:
            hour = np.tile(np.arange(self.epoch_rows, dtype=np.float64), rows // self.epoch_rows)
        else:
            hour = self.hour_of_week[index].astype(np.float64)
        epoch = np.arange(rows) // self.epoch_rows
        real = (epoch + (hour + 0.5) / HOURS_PER_WEEK) * self.epoch_hours
        days = np.floor(real / 24.0)
        offsets = pd.to_timedelta(days * 24.0 + hour % 24.0, unit="h")
        return pd.DatetimeIndex(self.start.floor("D") + offsets)

    def compressed_time(self, moment: datetime | pd.Timestamp) -> pd.Timestamp:
        """Where a real moment falls on the compressed clock (clipped to the term)."""
        elapsed = (pd.Timestamp(moment) - self.start) / pd.Timedelta(hours=1)
        rows = float(self.quantity.shape[1])
        position = min(max(elapsed / self.epoch_hours * self.epoch_rows, 0.0), rows)
        return self.start + pd.Timedelta(hours=round(position))


def whole_weeks(usage: UsageMatrix) -> int:
    """Whole weeks of ``usage``, counted back from its last hour."""
    return len(usage.hours) // HOURS_PER_WEEK


def _damped_weeks(weeks_ahead: FloatArray) -> FloatArray:
    """Weeks of slope a damped trend has moved after ``weeks_ahead`` weeks."""
    half = DAMPING_HALF_LIFE_WEEKS
    return half / np.log(2.0) * (1.0 - np.power(2.0, -weeks_ahead / half))


def _week_probabilities(weeks: int, half_life_days: float) -> FloatArray:
    """Draw weights of the lookback weeks, oldest first, halving every ``half_life_days``."""
    age_days = (weeks - 1 - np.arange(weeks, dtype=np.float64)) * 7.0
    if not np.isfinite(half_life_days) or half_life_days <= 0:
        weights = np.ones(weeks)
    else:
        weights = np.power(0.5, age_days / half_life_days)
    return weights / weights.sum()


def risen_keys(week_level: FloatArray) -> npt.NDArray[np.bool_]:
    """Keys whose usage has risen to a new level (module docstring, point 2).

    Parameters
    ----------
    week_level
        ``(weeks, keys)`` mean running instances of each whole lookback week, oldest first.
    """
    weeks, n_keys = week_level.shape
    if weeks < 3:
        return np.zeros(n_keys, dtype=bool)
    last = week_level[-2:]
    low, high = last.min(axis=0), last.max(axis=0)
    before = week_level[:-2].mean(axis=0)
    doubled = low >= RISEN_FACTOR * before
    stepped = stepped_keys(week_level)
    return (low > 0) & (doubled | stepped) & (low >= (1.0 - PLATEAU_TOLERANCE) * high)


def stepped_keys(week_level: FloatArray) -> npt.NDArray[np.bool_]:
    """Keys whose weeks step up once and hold: at least :data:`STEP_BEFORE_WEEKS` flat weeks
    (the highest at most :data:`STEP_FLAT_SHARE` above their median), the week the step took,
    then every week since at least :data:`STEP_FACTOR` times the highest before it and the
    highest of them at most :data:`STEP_HOLD_SHARE` above the lowest (a fleet grown by half and
    holding, not a season's ramp, whose weeks keep rising).

    Parameters
    ----------
    week_level
        ``(weeks, keys)`` mean running instances of each whole lookback week, oldest first.
    """
    weeks, n_keys = week_level.shape
    stepped = np.zeros(n_keys, dtype=bool)
    for step in range(STEP_BEFORE_WEEKS, weeks - 2):  # the week the step took
        before, after = week_level[:step], week_level[step + 1 :]
        top = before.max(axis=0)
        flat = top <= (1.0 + STEP_FLAT_SHARE) * np.median(before, axis=0)
        low, high = after.min(axis=0), after.max(axis=0)
        stepped |= flat & (low >= STEP_FACTOR * top) & (high <= (1.0 + STEP_HOLD_SHARE) * low)
    return stepped


def ramp_start_keys(week_level: FloatArray) -> tuple[npt.NDArray[np.bool_], FloatArray]:
    """Keys the lookback catches on a rise, and the level they ran at before it.

    A key running from the lookback's first week, whose first :data:`RAMP_WEEKS` whole weeks
    each rise by at least :data:`RAMP_STEP_SHARE` of the first, whose first week is its lowest
    and whose last two are within :data:`RAMP_HELD_SHARE` of each other (the rise has run its
    course), was rising when the lookback began: the weeks before the rise are not in it. A
    90-day lookback taken on 1 January starts two days into a ramp that began on 1 October,
    so its lowest week is already above the level the ramp left (and returns to). Such a key
    waiting for its rise to last (:func:`_waiting_weeks`) is drawn at its lowest week taken one
    week's rise back: the level of the week before the lookback, had the ramp gone on as it
    began.

    Parameters
    ----------
    week_level
        ``(weeks, keys)`` mean running instances of each whole lookback week, oldest first.

    Returns
    -------
    tuple
        ``(keys,)`` booleans: caught on a rise; ``(keys,)`` the level before the lookback as a
        share of the key's lowest week (1 where not caught on a rise) [1].
    """
    weeks, n_keys = week_level.shape
    share = np.ones(n_keys)
    if weeks <= RAMP_WEEKS:
        return np.zeros(n_keys, dtype=bool), share
    first = week_level[:RAMP_WEEKS]
    steps = np.diff(first, axis=0)
    caught = (
        (first[0] > 0)
        & (steps >= RAMP_STEP_SHARE * first[0]).all(axis=0)
        & (week_level.min(axis=0) >= first[0])
        & (week_level[-2:].min(axis=0) >= (1.0 - RAMP_HELD_SHARE) * week_level[-2:].max(axis=0))
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        before = np.maximum(1.0 - steps[0] / first[0], 0.0)
    share[caught] = before[caught]
    return caught, share


def rising_keys(week_level: FloatArray, probabilities: FloatArray) -> npt.NDArray[np.bool_]:
    """Keys that run higher lately (module docstring, point 2), before the rules that take
    precedence (a new level, a new low, a followed line).

    A key runs higher lately when its recency-weighted weekly level is more than
    :data:`RISING_TOLERANCE` above its plain mean, or when its last :data:`RAISED_WEEKS` weeks
    run more than :data:`RAISED_SHARE` above its first ones (a rise held long enough for the
    recency weights to miss it). A key whose first week is well below its second (a launch's
    partial week) is left to the first test and the launch rules.

    Parameters
    ----------
    week_level
        ``(weeks, keys)`` mean running instances of each whole lookback week, oldest first.
    probabilities
        ``(weeks,)`` the weeks' draw weights (:func:`_week_probabilities`).
    """
    weighted = probabilities @ week_level > (1.0 + RISING_TOLERANCE) * week_level.mean(axis=0)
    span = min(RAISED_WEEKS, week_level.shape[0] // 2)
    if span == 0:
        return weighted
    early = week_level[:span].mean(axis=0)
    late = week_level[-span:].mean(axis=0)
    launched = week_level[0] < (1.0 - PLATEAU_TOLERANCE) * week_level[1]
    return weighted | ((early > 0) & ~launched & (late > (1.0 + RAISED_SHARE) * early))


def dropped_keys(week_level: FloatArray) -> npt.NDArray[np.bool_]:
    """Keys whose last week is a clear new low (module docstring, point 2).

    The last week's level is below :data:`DROPPED_FACTOR` times the mean of the weeks before it and
    below each of them (a fleet that stopped a few days ago, a migration under way), or it is off a
    recent high: below each of the last :data:`RECENT_HIGH_WEEKS` weeks, by a fall from their mean
    of at least :data:`MIN_FALL_SHARE` of it and :data:`FALL_NOISE_MULTIPLE` times the key's median
    week-to-week move (a season's peak on its way down while the ramp's weeks are still lower;
    reviewed ten days after a Q4 peak, the one-shot saved 11,217 USD without this and the ladder
    8,688). Weekly seasonality and noise move a week's mean by a few per cent, so a steady key never
    drops, and one busy week does not make the next ordinary one a low. A key with no usage over the
    last week is not a new low but a stopped key, which the decision leaves out before this
    (:mod:`planning.recency`), or counts at its older usage when told to (``stopped_after_days=0``).
    ``week_level`` as for :func:`risen_keys`; fewer than three weeks tell nothing.
    """
    if week_level.shape[0] < 3:
        return np.zeros(week_level.shape[1], dtype=bool)
    last = week_level[-1]
    earlier = week_level[:-1]
    new_low = (last < DROPPED_FACTOR * earlier.mean(axis=0)) & (last < earlier.min(axis=0))
    # off a recent high: below each of the last few weeks and below their mean by a fall that
    # is both large and far outside the key's usual week-to-week moves (a season's peak on its
    # way down, while the ramp's older weeks are still lower)
    recent = earlier[-RECENT_HIGH_WEEKS:]
    fall = recent.mean(axis=0) - last
    usual_move = np.median(np.abs(np.diff(earlier, axis=0)), axis=0)
    off_high = (
        (last < recent.min(axis=0))
        & (fall >= MIN_FALL_SHARE * recent.mean(axis=0))
        & (fall >= FALL_NOISE_MULTIPLE * usual_move)
    )
    new_low |= off_high
    return new_low & (last > 0)


def _beside_a_decline(usage: UsageMatrix, falling: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Keys whose account and region have a key with a clear decline (``falling``): usage moving
    from one instance type to another, not growing."""
    groups, _ = pd.factorize(
        usage.keys["account_id"].astype(str) + "|" + usage.keys["region"].astype(str)
    )
    declining = np.zeros(groups.max() + 1 if len(groups) else 0, dtype=bool)
    declining[groups[falling]] = True
    return declining[groups]


def _steady_growth(usage: UsageMatrix, weeks: int, line: WeeklyLine) -> npt.NDArray[np.bool_]:
    """Keys growing steadily: a clear rise of at most :data:`STEADY_GROWTH_PER_WEEK` of today's
    level a week on the last weeks (``line``) and on the whole lookback, at nearly the same
    slope (within a factor of two): growth that has gone on all along, not a season's ramp
    (steep) nor the plateau after one (flat lately, steep on the whole lookback)."""
    whole = weekly_line(usage, weeks, MIN_TREND_T)
    modest = [
        fit.clear & (fit.slope > 0) & (fit.slope <= STEADY_GROWTH_PER_WEEK * fit.end_level)
        for fit in (line, whole)
    ]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(whole.slope > 0, line.slope / whole.slope, np.inf)
    return modest[0] & modest[1] & (ratio >= 0.5) & (ratio <= 2.0)


def levelled_keys(week_level: FloatArray, line: WeeklyLine) -> npt.NDArray[np.bool_]:
    """Keys whose clear decline has levelled off (module docstring, point 1).

    The line over the last weeks falls clearly and steeply (by at least
    :data:`LEVELLED_MIN_FALL_SHARE` of its first level), but the last week fell by at most
    :data:`LEVELLED_SHARE` of the line's weekly fall from the week before it, or rose: a
    season's peak back at its base, a fleet halved two weeks ago. Followed, such a line runs
    on past the level the key now holds (reviewed on 1 February after a Q4 peak, every key of a
    retailer was followed to zero and nothing was bought). A gradual decline has level weeks by
    chance and is followed on.

    Parameters
    ----------
    week_level
        ``(weeks, keys)`` mean running instances of each whole lookback week, oldest first.
    line
        The line over the last weeks (:func:`planning.trends.weekly_line`).
    """
    weeks = min(TREND_WEEKS, week_level.shape[0])
    if weeks < 2:
        return np.zeros(week_level.shape[1], dtype=bool)
    last_move = week_level[-1] - week_level[-2]
    fall = -line.slope * (weeks - 1)  # the line's fall over its weeks
    steep = fall >= LEVELLED_MIN_FALL_SHARE * (line.end_level + fall)
    falling = line.clear & (line.slope < 0)
    return falling & steep & (last_move >= LEVELLED_SHARE * line.slope)


def _levels(
    usage: UsageMatrix,
    weeks: int,
    week_level: FloatArray,
    options: FutureOptions,
    rng: np.random.Generator,
    count: int,
) -> tuple[FloatArray, npt.NDArray[np.bool_], npt.NDArray[np.bool_], FloatArray]:
    """Each future's level per epoch for the keys with a clear trend.

    Returns the ``(futures, epochs, keys)`` levels, which keys follow a line, which keys'
    clear decline has levelled off (:func:`levelled_keys`: held at their last week instead),
    and each key's steady growth, followed past today's level for a drawn time (its line's
    slope as a share of its level today per week; 0 for the others) [1/week].
    """
    epochs = max(round(options.term_hours / (EPOCH_MONTHS * HOURS_PER_MONTH)), 1)
    epoch_weeks = options.term_hours / epochs / HOURS_PER_WEEK
    centres = (np.arange(epochs, dtype=np.float64) + 0.5) * epoch_weeks
    line = weekly_line(usage, min(TREND_WEEKS, weeks), MIN_TREND_T)
    # a clear decline is followed while it goes on; a clear rise with follow_growth, or where it
    # takes the place of a decline (point 1)
    levelled = levelled_keys(week_level, line)
    falling = line.clear & (line.slope < 0) & ~levelled
    steady_growth = _steady_growth(usage, weeks, line)
    follows = (
        falling
        | steady_growth
        | (line.clear & ~levelled & (options.follow_growth | _beside_a_decline(usage, falling)))
    )
    n_keys = usage.quantity.shape[1]
    if not follows.any():
        return np.zeros((count, epochs, n_keys)), follows, levelled, np.zeros(n_keys)
    dof = max(min(TREND_WEEKS, weeks) - 2, 1)
    draws = rng.standard_t(dof, size=count)
    slope = line.slope[None, :] + draws[:, None] * line.error[None, :]
    moved = _damped_weeks(centres)
    level = line.end_level[None, None, :] + slope[:, None, :] * moved[None, :, None]
    if not options.follow_growth:
        # steady growth goes on for as long as each future draws (its own generator, so the
        # other draws do not change); any other rise is held at today's level
        lasts = growth_weeks(weeks, count, options)
        grown = _damped_weeks(np.minimum(centres[None, :], lasts[:, None]))  # (futures, epochs)
        growing = line.end_level[None, None, :] + slope[:, None, :] * grown[:, :, None]
        rise_cap = np.where(steady_growth[None, None, :], growing, line.end_level[None, None, :])
        level = np.minimum(level, np.maximum(rise_cap, line.end_level[None, None, :]))
    level = np.maximum(level, 0.0)
    ahead = options.next_review_hours is None or options.next_review_hours > 0
    steady = steady_growth & (not options.follow_growth) & ahead  # bought ahead of today
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(steady, line.slope / line.end_level, 0.0)
    return level, follows, levelled, rate


def growth_weeks(weeks: int, count: int, options: FutureOptions) -> FloatArray:
    """How long steady growth goes on in each future, from the decision on [weeks].

    A trend seen for ``weeks`` is as likely to be anywhere in its life: the share of it already
    seen is uniform, so its remaining length is ``weeks × u / (1 − u)`` with ``u`` uniform
    (the "Lindy" or Gott rule: as likely to end within ``weeks`` as to go on past them, a
    quarter of the time past three times ``weeks``). A fleet growing through a 13-week
    lookback is bought for growth lasting at most 13 more weeks in half the futures, and past
    39 weeks in a quarter of them. Capped at :attr:`FutureOptions.next_review_hours` when the
    decision is reviewed again: growth past the next review is bought there.

    Measured one-shot, 90-day lookback (``bench_decisions.py --variants``): held at today's
    level, a fleet growing 4 % a month kept 86.5 % of the best single purchase; followed for
    the whole term, 95.3 %, but 7,451 USD less where the growth stopped at the review and
    25,108 USD less where it turned into a decline. Drawn as here: 90.8 %, and 1,125 USD less
    than held where the growth stops at the review (docs/benchmarks.md).
    """
    draw = np.random.default_rng(options.seed + 2).random(count)
    lasts = weeks * draw / (1.0 - draw)
    if options.next_review_hours is not None:
        lasts = np.minimum(lasts, max(options.next_review_hours, 0.0) / HOURS_PER_WEEK)
    return lasts


def _draw(
    expected: FloatArray,
    migration_share: FloatArray,
    within_hours: FloatArray,
    rng: np.random.Generator,
    count: int,
) -> tuple[npt.NDArray[np.bool_], FloatArray, npt.NDArray[np.bool_]]:
    """Stratified event draws per group, ``(futures, groups)``: whether each future has its
    event, its hour (``inf``: none) and whether it is a migration.

    Each group has an event in ``expected`` futures (the fraction by a random draw), chosen at
    random, at hours spread evenly over ``within_hours`` (one per stratum, jittered), a share
    ``migration_share`` of them migrations (the fraction by a random draw), the others exits.
    """
    n_groups = len(expected)
    events = np.floor(expected + rng.random(n_groups)).astype(np.intp)  # (groups,)
    order = np.argsort(rng.random((count, n_groups)), axis=0)  # a random ranking per group
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(count)[:, None], axis=0)
    happens = rank < events[None, :]
    safe = np.maximum(events, 1)[None, :]
    stratum = (rank + rng.random((count, n_groups))) / safe
    at = np.where(happens, stratum * within_hours[None, :], np.inf)
    migrations = np.floor(events * migration_share + rng.random(n_groups)).astype(np.intp)
    shuffled = np.argsort(rng.random((count, n_groups)), axis=0)
    second = np.empty_like(shuffled)
    np.put_along_axis(second, shuffled, np.arange(count)[:, None], axis=0)
    # among a group's event futures (ranks below ``events``), the first ``migrations`` by a
    # second random order migrate
    event_order = np.where(happens, second, count + second)
    position = np.argsort(np.argsort(event_order, axis=0), axis=0)
    migrates = happens & (position < migrations[None, :])
    return happens, at, migrates


@dataclass(frozen=True)
class _Events:
    """Each future's first event per fleet, ``(futures, fleets)`` arrays (:func:`_events`).

    Attributes
    ----------
    at
        Its hour into the term (``inf``: none) [h].
    migrates
        It is a family migration: the fleet's usage runs on its target family from then on.
    region_migrates
        It is a region migration: the usage runs in the fleet's destination region.
    table
        :attr:`Futures.events`.
    """

    at: FloatArray
    migrates: npt.NDArray[np.bool_]
    region_migrates: npt.NDArray[np.bool_]
    table: pd.DataFrame


def _events(
    fleet: Fleets,
    rates: EventRates,
    options: FutureOptions,
    rng: np.random.Generator,
    count: int,
    moving: npt.NDArray[np.bool_] | None = None,
) -> _Events:
    """Each future's first event per fleet: a family migration or exit, or a region migration
    or exit.

    Family events are drawn per (account, family) (:data:`planning.structural.EVENT_COLUMNS`):
    the fleets of a family in one account move or retire together, in every region. Stratified,
    so that few futures carry the rates faithfully (:func:`_draw`): each group has an event in
    ``count × P(event within the term)`` futures, at hours spread evenly over the term,
    migrations and exits in proportion to their rates. A migration drawn for a fleet that moves
    in place (Fargate, Lambda) is no event: those fleets change only by exiting.

    A group with a fleet in ``moving`` (:func:`planning.structural.moves_under_way`, one flag
    per fleet) migrates instead in :data:`~planning.structural.UNDER_WAY_FUTURES_SHARE` of the
    futures, at hours spread evenly over the first
    :data:`~planning.structural.UNDER_WAY_WITHIN_HOURS`; its fleets with no target family keep
    their usage there.

    Region events are drawn the same way per account and region
    (:data:`planning.structural.REGION_EVENT_COLUMNS`), from a generator of their own (the
    family draws, and every draw after them, are the same whatever the region rates). A fleet
    has the first of its two events; the usage it moved keeps no second one.
    """
    group = fleet.table.groupby(list(EVENT_COLUMNS), sort=True).ngroup().to_numpy()
    n_groups = int(group.max(initial=-1)) + 1
    years = options.term_hours / HOURS_PER_YEAR
    total_rate = rates.migration_per_year + rates.exit_per_year
    expected = np.full(n_groups, count * (1.0 - np.exp(-total_rate * years)))
    can_migrate = (fleet.table["target_family"] != "").to_numpy()
    moving_group = np.zeros(n_groups, dtype=bool)
    if moving is not None:
        moving_group[group[moving & can_migrate]] = True
    expected[moving_group] = count * UNDER_WAY_FUTURES_SHARE
    soon = min(UNDER_WAY_WITHIN_HOURS, options.term_hours)
    within = np.where(moving_group, soon, options.term_hours).astype(np.float64)
    migration_share = np.where(moving_group, 1.0, rates.migration_per_year / max(total_rate, 1e-12))
    happens, at, migrates = _draw(expected, migration_share, within, rng, count)
    happens, at, migrates = happens[:, group], at[:, group], migrates[:, group]
    # a Fargate or Lambda fleet's migration changes nothing: no event (it only exits)
    happens &= ~(migrates & fleet.table["moves_in_place"].to_numpy()[None, :])
    # a family seen moving does not retire its fleets that have nowhere to move
    happens &= ~(moving_group[group] & ~can_migrate)[None, :]
    at = np.where(happens, at, np.inf)
    migrates &= happens & can_migrate[None, :]
    region_at, region_migrates = _region_events(fleet, rates, options, count)
    first_region = region_at < at
    at = np.minimum(at, region_at)
    migrates &= ~first_region
    region_migrates &= first_region
    future, which = np.nonzero(np.isfinite(at))
    names = (
        fleet.table[["account_id", "region", "family", "platform"]]
        .astype(str)
        .agg(" ".join, axis=1)
    )
    kind = np.where(
        first_region[future, which],
        np.where(region_migrates[future, which], "region migration", "region exit"),
        np.where(migrates[future, which], "migration", "exit"),
    )
    table = pd.DataFrame(
        {
            "future": future,
            "fleet": names.to_numpy()[which] if len(which) else np.array([], dtype=object),
            "family": fleet.table["family"].astype(str).to_numpy()[which],
            "kind": kind,
            "at_hours": at[future, which],
        }
    )
    return _Events(at, migrates, region_migrates, table)


def _region_events(
    fleet: Fleets, rates: EventRates, options: FutureOptions, count: int
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Each future's region event per fleet, ``(futures, fleets)``: its hour (``inf``: none)
    and whether it is a migration (:func:`_events`)."""
    n_fleets = len(fleet.table)
    total_rate = rates.region_migration_per_year + rates.region_exit_per_year
    if total_rate <= 0 or not n_fleets:
        return np.full((count, n_fleets), np.inf), np.zeros((count, n_fleets), dtype=bool)
    group = fleet.table.groupby(list(REGION_EVENT_COLUMNS), sort=True).ngroup().to_numpy()
    n_groups = int(group.max()) + 1
    years = options.term_hours / HOURS_PER_YEAR
    expected = np.full(n_groups, count * (1.0 - np.exp(-total_rate * years)))
    share = np.full(n_groups, rates.region_migration_per_year / total_rate)
    within = np.full(n_groups, float(options.term_hours))
    own_rng = np.random.default_rng(options.seed + REGION_SEED_OFFSET)
    happens, at, migrates = _draw(expected, share, within, own_rng, count)
    has_destination = (fleet.table["destination_region"] != "").to_numpy()
    migrates = migrates[:, group] & has_destination[None, :]
    return np.where(happens[:, group], at[:, group], np.inf), migrates


def young_keys(week_level: FloatArray, keys: pd.DataFrame | None = None) -> npt.NDArray[np.bool_]:
    """Keys launched inside the lookback that have run fewer than :data:`LASTED_WEEKS` whole
    weeks after the week they launched in (a load test, a fleet launched days ago).

    With ``keys``, a key that replaces usage that fell in its account and region over the last
    week (by at least :data:`REPLACED_SHARE` of its normalized units: a migration or a
    right-sizing done in the last days) is not young: its usage moved, it did not start.

    Parameters
    ----------
    week_level
        ``(weeks, keys)`` mean running instances of each whole lookback week, oldest first.
    keys
        The columns' keys (``account_id``, ``region``, ``instance_type``), or ``None``.
    """
    ran = np.maximum.accumulate(week_level > 0, axis=0)
    young = ~ran[0] & ran[-1] & (ran.sum(axis=0) - 1 < LASTED_WEEKS)
    if keys is None or not young.any() or week_level.shape[0] < 2:
        return np.asarray(young)
    units = normalization_factors(keys["instance_type"])
    place = (keys["account_id"].astype(str) + "|" + keys["region"].astype(str)).to_numpy()
    fell = np.maximum(week_level[-2] - week_level[-1], 0.0) * units
    fell_in_place = pd.Series(fell).groupby(place).transform("sum").to_numpy()
    moved = fell_in_place >= REPLACED_SHARE * week_level[-1] * units
    return np.asarray(young & ~moved)


def paused_keys(quantity: FloatArray, launched: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Keys launched inside the lookback (``launched``) that have been idle for their last
    :data:`PAUSED_MIN_HOURS` hours or more, and longer than any pause since they first ran: a
    load test over, a fleet stopped for now. A business-hours fleet's weekend is no such pause
    once it has had one.

    Parameters
    ----------
    quantity
        ``(hours, keys)`` running instances of the lookback's whole weeks.
    launched
        The keys idle all of the first whole week (launched inside the lookback).
    """
    paused = np.zeros(quantity.shape[1], dtype=bool)
    columns = np.flatnonzero(launched & (quantity > 0).any(axis=0))
    if columns.size == 0:
        return paused
    running = quantity[:, columns] > 0
    hour = np.arange(running.shape[0])[:, None]
    last_running = np.maximum.accumulate(np.where(running, hour, -1), axis=0)
    idle_at_end = running.shape[0] - 1 - last_running[-1]
    # each idle hour's distance to the running hour before it; the longest before the end's
    since = np.where(
        (last_running >= 0) & (hour <= last_running[-1][None, :]), hour - last_running, 0
    )
    longest = since.max(axis=0)
    paused[columns] = (idle_at_end >= PAUSED_MIN_HOURS) & (idle_at_end > longest)
    return paused


def moved_keys(usage: UsageMatrix) -> tuple[tuple[str, ...], ...]:
    """The keys of ``usage`` (the lookback as it ran) that :func:`young_keys` finds young from
    their weeks alone but that took over usage that fell in their account and region:
    :attr:`FutureOptions.moved_keys`."""
    weeks = whole_weeks(usage)
    if weeks < 2:
        return ()
    lookback = usage.quantity[-weeks * HOURS_PER_WEEK :]
    week_level = lookback.reshape(weeks, HOURS_PER_WEEK, -1).mean(axis=1)
    moved = young_keys(week_level) & ~young_keys(week_level, usage.keys)
    table = usage.keys.loc[moved, list(KEY_COLUMNS)].astype(str)
    return tuple(tuple(row) for row in table.itertuples(index=False))


def _young_levels(
    usage: UsageMatrix, week_level: FloatArray, young: npt.NDArray[np.bool_]
) -> pd.DataFrame:
    """:attr:`Futures.young_levels`: the young keys, the days since each first ran in the
    lookback, its mean over its last week and the hours it has been idle at its end."""
    table = usage.keys.loc[young, list(KEY_COLUMNS)].reset_index(drop=True)
    hours = week_level.shape[0] * HOURS_PER_WEEK  # the whole weeks the rule looked at
    running = usage.quantity[-hours:, young] > 0
    first_hour = np.argmax(running, axis=0)
    last_hour = hours - 1 - np.argmax(running[::-1], axis=0)
    return table.assign(
        days_running=(hours - first_hour) / 24.0,
        recent_level=week_level[-1, young],
        idle_hours=hours - 1 - last_hour,
    )


def outage_weeks(by_week: FloatArray) -> npt.NDArray[np.bool_]:
    """The weeks in which each key had an outage: more hours below :data:`OUTAGE_SHARE` of its
    median running hour than its usual week since it first ran, by more than
    :data:`OUTAGE_EXTRA_HOURS`.

    Parameters
    ----------
    by_week
        ``(weeks, 168, keys)`` running instances of each hour of the whole lookback weeks.

    Returns
    -------
    numpy.ndarray
        ``(weeks, keys)``; never true before a key first ran.
    """
    n_keys = by_week.shape[2]
    if n_keys == 0:
        return np.zeros((by_week.shape[0], 0), dtype=bool)
    positive = by_week.reshape(-1, n_keys)
    positive = np.where(positive > 0, positive, np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a key that never ran: all NaN
        median_hour = np.nanmedian(positive, axis=0)
    low_hours = (by_week < OUTAGE_SHARE * np.nan_to_num(median_hour)[None, None, :]).sum(axis=1)
    ran = np.maximum.accumulate(by_week.max(axis=1) > 0, axis=0)
    usual = np.zeros(n_keys)
    ever = ran.any(axis=0)
    usual[ever] = np.nanmedian(np.where(ran, low_hours, np.nan)[:, ever], axis=0)
    return ran & (low_hours > usual[None, :] + OUTAGE_EXTRA_HOURS)


def _nearest_weeks(outage: npt.NDArray[np.bool_]) -> IntArray:
    """For each week and key, the nearest week without an outage (itself when it has none; the
    later of two as near), ``(weeks, keys)``; each key needs one such week."""
    weeks = outage.shape[0]
    week = np.arange(weeks)
    distance = np.abs(week[:, None] - week[None, :]) - 0.5 * (week[None, :] > week[:, None])
    distance = np.where(outage[None, :, :], np.inf, distance[:, :, None])
    return np.asarray(np.argmin(distance, axis=1), dtype=np.intp)


def _waiting_weeks(
    week_level: FloatArray,
    draw: FloatArray,
    young: npt.NDArray[np.bool_],
    outage: npt.NDArray[np.bool_] | None = None,
) -> IntArray:
    """The lookback week each future's epoch copies, for keys that run higher lately (module
    docstring, point 2): uniformly among the weeks since the key first ran (a fleet launched
    inside the lookback is not drawn idle before its launch, nor at the week it launched in,
    which holds the idle hours before the launch) whose level is at most the
    :data:`WAITING_QUANTILE` quantile of those weeks, by default the lowest (a rise is bought
    for what it has kept all along, not while it may be a season's). A key that has not run
    :data:`LASTED_WEEKS` whole weeks after the week it launched in (:func:`young_keys`) draws
    its idle weeks before the launch: nothing is bought for it yet.

    Parameters
    ----------
    week_level
        ``(weeks, keys)`` mean running instances of each whole lookback week, oldest first.
    draw
        ``(futures, epochs)`` uniform numbers in [0, 1), one per epoch (shared by the keys).
    young
        The keys that are young (:func:`young_keys`).
    outage
        ``(weeks, keys)`` the weeks with an outage (:func:`outage_weeks`), skipped while
        another week since the key first ran has none; none by default.

    Returns
    -------
    numpy.ndarray
        ``(futures, epochs, keys)`` week indices.
    """
    n_keys = week_level.shape[1]
    if outage is None:
        outage = np.zeros(week_level.shape, dtype=bool)
    ran = np.maximum.accumulate(week_level > 0, axis=0)  # since the key first ran
    # a key launched inside the lookback: the week it launched in holds the idle hours before
    # the launch, not a level it ran at, so it is left out; a young key copies its idle weeks
    grown = np.flatnonzero(~ran[0] & (ran.sum(axis=0) > 1) & ~young)  # the launch week left out
    running = ran.copy()
    running[np.argmax(ran[:, grown], axis=0), grown] = False
    # a week with an outage is no level the rise has kept (unless every week since has one)
    kept: npt.NDArray[np.bool_] = np.logical_and(running, np.logical_not(outage))
    some_kept = np.asarray(kept.any(axis=0), dtype=bool)
    running = np.asarray(np.where(some_kept[None, :], kept, running), dtype=bool)
    since_running = np.where(running, week_level, np.nan)
    since_running[:, ~running.any(axis=0)] = np.inf  # never ran: every week (all idle) is alike
    bar = np.nanquantile(since_running, WAITING_QUANTILE, axis=0)
    eligible = running & (week_level <= bar[None, :])
    eligible[:, young] = ~ran[:, young]
    eligible[:, ~eligible.any(axis=0)] = True
    # each key's eligible weeks first (in order), then one rank per draw among them
    order = np.argsort(~eligible, axis=0, kind="stable")
    counts = eligible.sum(axis=0)
    rank = np.minimum((draw[:, :, None] * counts[None, None, :]).astype(np.intp), counts - 1)
    return np.asarray(order[rank, np.arange(n_keys)[None, None, :]], dtype=np.intp)


def decision_futures(
    usage: UsageMatrix,
    catalog: PriceCatalog,
    options: FutureOptions | None = None,
    *,
    as_ran: UsageMatrix | None = None,
) -> Futures:
    """Sample the futures of a decision taken at the end of ``usage`` (see the module).

    Parameters
    ----------
    usage
        The lookback (at least :data:`MIN_WEEKS` whole weeks), hours × keys.
    catalog
        Prices (which families a fleet can migrate to).
    options
        How to draw; :class:`FutureOptions` by default.
    as_ran
        The lookback as it ran, when ``usage`` is adjusted (``recommend`` counts a key that fell
        by more than half at its recent level all along, :mod:`planning.recency`, which hides a
        move): the same hours and keys. The moves under way are found on it
        (:func:`planning.structural.moves_under_way`); ``None``: on ``usage``.

    Returns
    -------
    Futures
        Starting at the hour after the lookback's last.
    """
    options = options or FutureOptions()
    weeks = whole_weeks(usage)
    if weeks < MIN_WEEKS:
        raise ValueError(f"the lookback has {weeks} whole week(s); futures need {MIN_WEEKS}")
    rng = np.random.default_rng(options.seed)
    count = int(options.futures)
    lookback = usage.quantity[-weeks * HOURS_PER_WEEK :]
    n_keys = lookback.shape[1]
    by_week = lookback.reshape(weeks, HOURS_PER_WEEK, n_keys)
    week_level = by_week.mean(axis=1)
    level, follows, levelled, growth = _levels(usage, weeks, week_level, options, rng, count)
    # a key launched inside the lookback and idle at its end for longer than it ever paused
    # waits, as a young key does: nothing is bought for it unless it runs again
    paused = paused_keys(lookback, ~(week_level[0] > 0))
    follows = follows & ~paused
    risen = risen_keys(week_level) & ~follows & ~paused  # a clear line is followed instead
    dropped = dropped_keys(week_level) & ~follows & (options.half_life_days != 0) & ~paused
    held = (risen | dropped | levelled) & ~paused  # their last week is their level
    epochs = level.shape[1]
    probabilities = _week_probabilities(weeks, options.half_life_days)
    source = rng.choice(weeks, size=(count, epochs), p=probabilities)
    # recent weeks weigh more only where they run lower (point 2): a key whose recent weeks
    # run above its older ones draws every lookback week alike, from a draw of its own (its
    # own generator, so the other keys' futures do not change)
    rising = (rising_keys(week_level, probabilities) & ~(held | follows)) | paused
    flat_draw = np.random.default_rng(options.seed + 1).random(size=(count, epochs))
    young = young_keys(week_level, usage.keys) & rising
    if options.moved_keys:
        listed = pd.MultiIndex.from_tuples(options.moved_keys, names=list(KEY_COLUMNS))
        own = pd.MultiIndex.from_frame(usage.keys[list(KEY_COLUMNS)].astype(str))
        young &= ~own.isin(listed)
    young |= paused
    outage = outage_weeks(by_week)
    # a key the lookback catches on a rise waits at the level the rise started from
    ramped, ramp_share = ramp_start_keys(week_level)
    ramped &= rising & ~young
    rising_weeks = by_week[:, :, rising] * np.where(ramped, ramp_share, 1.0)[None, None, rising]
    rising_source = _waiting_weeks(
        week_level[:, rising], flat_draw, young[rising], outage[:, rising]
    )
    # the other keys draw, for a week with an outage, the nearest week without one
    mended = np.flatnonzero(outage.any(axis=0) & ~outage.all(axis=0) & ~(held | rising | follows))
    instead = _nearest_weeks(outage[:, mended])
    week_hours = np.arange(HOURS_PER_WEEK)[None, :, None]
    rising_columns = np.arange(rising_weeks.shape[2])[None, None, :]
    fleet = fleets(usage, catalog)
    seen = usage if as_ran is None else as_ran
    if as_ran is not None and not (
        as_ran.quantity.shape == usage.quantity.shape and as_ran.keys.equals(usage.keys)
    ):
        raise ValueError("as_ran must hold the hours and keys of usage")
    moving = moves_under_way(seen, fleet) if options.follow_moves else None
    rates = event_rates(
        usage,
        fleet,
        migration_prior_per_year=options.migration_prior_per_year,
        exit_prior_per_year=options.exit_prior_per_year,
        region_migration_prior_per_year=options.region_migration_prior_per_year,
        region_exit_prior_per_year=options.region_exit_prior_per_year,
        moving=moving,
        as_ran=seen,
    )
    drawn_events = _events(fleet, rates, options, rng, count, moving)
    event_at = drawn_events.at
    epoch_hours = options.term_hours / epochs
    kept = _kept_hours(count, epochs, options.max_rows, rng)  # (futures, epochs, rows)
    epoch_rows = kept.shape[2]
    # the keys each kind of move reaches in some future, and their columns
    sources = _moved_sources(fleet.key_target, fleet.key_fleet, drawn_events.migrates)
    region_sources = _moved_sources(
        fleet.key_region_target, fleet.key_fleet, drawn_events.region_migrates
    )
    keys, (target_column, region_column), order = with_target_keys(
        usage.keys,
        (fleet.target_keys, fleet.key_target[sources]),
        (fleet.region_target_keys, fleet.key_region_target[region_sources]),
    )
    quantity = np.zeros((count, epochs * epoch_rows, len(keys)))
    for future in range(count):  # one future at a time: memory stays hours × keys
        # the real hour (into the term) each row stands for: epoch start + its hour's phase
        phase = (kept[future] + 0.5) / HOURS_PER_WEEK
        real_hour = ((np.arange(epochs)[:, None] + phase) * epoch_hours).ravel()
        drawn = by_week[source[future]]  # (epochs, 168, keys), a copy
        if held.any():
            drawn[:, :, held] = by_week[-1][None, :, held]
        if rising.any():
            chosen = rising_source[future][:, None, :]  # (epochs, 1, rising keys)
            drawn[:, :, rising] = rising_weeks[chosen, week_hours, rising_columns]
        if mended.size:
            chosen = instead[source[future]][:, None, :]  # (epochs, 1, mended keys)
            drawn[:, :, mended] = by_week[chosen, week_hours, mended[None, None, :]]
        path = np.take_along_axis(drawn, kept[future][:, :, None], axis=1)
        if follows.any():
            own = week_level[source[future]][:, None, :]
            target = level[future][:, None, :]
            with np.errstate(divide="ignore", invalid="ignore"):
                scaled = np.where(own > 0, path * (target / own), target)
            path = np.where(follows[None, None, :], scaled, path)
        path = path.reshape(epochs * epoch_rows, n_keys)
        gone = real_hour[:, None] >= event_at[future, fleet.key_fleet][None, :]
        out = quantity[future]
        out[:, :n_keys] = np.where(gone, 0.0, path)
        # a family migration's usage runs on its target type (normalized units kept), a
        # region migration's on the same type in its destination region
        for moves, movers, column, per_source in (
            (drawn_events.migrates, sources, target_column, fleet.target_per_source),
            (drawn_events.region_migrates, region_sources, region_column, None),
        ):
            moved_now = moves[future, fleet.key_fleet[movers]]
            if not moved_now.any():
                continue
            moving = movers[moved_now]
            moved = np.where(gone[:, moving], path[:, moving], 0.0)
            if per_source is not None:
                moved *= per_source[moving]
            np.add.at(out.T, column[moved_now], moved.T)
    start = usage.hours[-1] + pd.Timedelta(hours=1)
    return Futures(
        start=start,
        keys=keys.iloc[order].reset_index(drop=True),
        quantity=quantity[:, :, order],
        epochs=epochs,
        epoch_hours=epoch_hours,
        rates=rates,
        events=drawn_events.table,
        fleet_table=fleet.table,
        epoch_rows=epoch_rows,
        hour_of_week=None if epoch_rows == HOURS_PER_WEEK else kept.reshape(count, -1),
        risen=int(risen.sum()),
        risen_levels=_risen_levels(usage.keys, week_level, risen),
        dropped=int(dropped.sum()),
        ramped=int(ramped.sum()),
        levelled=int(levelled.sum()),
        growing=int((growth > 0).sum()),
        growing_levels=_growing_levels(usage.keys, week_level, growth),
        young_levels=_young_levels(usage, week_level, young),
    )


def _growing_levels(keys: pd.DataFrame, week_level: FloatArray, growth: FloatArray) -> pd.DataFrame:
    """:attr:`Futures.growing_levels`: the keys growing steadily, their last week's mean level
    and their growth per week [% of today's level]."""
    growing = growth > 0
    table = keys.loc[growing, list(KEY_COLUMNS)].reset_index(drop=True)
    return table.assign(
        recent_level=week_level[-1, growing], growth_pct_per_week=100.0 * growth[growing]
    )


def _risen_levels(
    keys: pd.DataFrame, week_level: FloatArray, risen: npt.NDArray[np.bool_]
) -> pd.DataFrame:
    """:attr:`Futures.risen_levels`: the risen keys, the mean of their last two weeks, of the
    weeks before the rise and the days since it."""
    table = keys.loc[risen, list(KEY_COLUMNS)].reset_index(drop=True)
    if not risen.any():  # also fewer than three weeks: nothing before the last two
        return table.assign(recent_level=0.0, older_level=0.0, days_at_level=0.0)
    weeks = week_level[:, risen]
    recent = weeks[-2:].mean(axis=0)
    # the rise took after the last week below halfway from the weeks before to the new level
    halfway = 0.5 * (weeks[:-2].mean(axis=0) + recent)
    below = weeks[:-2] < halfway
    last_below = np.where(below.any(axis=0), len(weeks) - 3 - np.argmax(below[::-1], axis=0), -1)
    risen_at = np.maximum(last_below + 1, 1)  # the first week at the new level
    before = np.arange(len(weeks))[:, None] < risen_at[None, :]
    older = np.where(before, weeks, 0.0).sum(axis=0) / before.sum(axis=0)
    return table.assign(
        recent_level=recent,
        older_level=older,
        days_at_level=HOURS_PER_WEEK / HOURS_PER_DAY * (len(weeks) - risen_at),
    )


def _kept_hours(count: int, epochs: int, max_rows: int, rng: np.random.Generator) -> IntArray:
    """The hours of the week (0–167) each epoch of each future keeps, ``(futures, epochs,
    rows)``: all of them within the hour budget, else an evenly spaced sample from a random
    start (drawn last, so the futures within the budget are the same as without it)."""
    week = np.arange(HOURS_PER_WEEK, dtype=np.intp)
    rows = max(max_rows // max(count * epochs, 1), MIN_EPOCH_ROWS)
    if rows >= HOURS_PER_WEEK:
        return np.broadcast_to(week, (count, epochs, HOURS_PER_WEEK))
    start = rng.random((count, epochs, 1))
    steps = (np.arange(rows)[None, None, :] + start) * (HOURS_PER_WEEK / rows)
    return np.minimum(np.floor(steps).astype(np.intp), HOURS_PER_WEEK - 1)


def _moved_sources(
    key_target: IntArray, key_fleet: IntArray, migrates: npt.NDArray[np.bool_]
) -> IntArray:
    """The keys with a target (``key_target`` ≥ 0) whose fleet migrates in some future."""
    some_future = np.asarray(migrates.any(axis=0), dtype=bool)
    return np.flatnonzero((key_target >= 0) & some_future[key_fleet])


def with_target_keys(
    keys: pd.DataFrame, *targets: tuple[pd.DataFrame, IntArray]
) -> tuple[pd.DataFrame, tuple[IntArray, ...], IntArray]:
    """The lookback's keys then the migration targets it lacks, the column of each moved key's
    target, and the column order that sorts the keys (as a usage matrix holds them).

    Each of ``targets`` is a table of target keys and, per moved key, its row there; only the
    targets some key moves to become columns.
    """
    text = keys.astype(str).agg("|".join, axis=1)
    position = dict(zip(text, range(len(keys)), strict=True))
    new_rows: list[pd.DataFrame] = []
    columns: list[IntArray] = []
    for target_keys, rows in targets:
        if not len(rows):
            columns.append(np.zeros(0, dtype=np.intp))
            continue
        used = np.unique(rows)
        reached = target_keys.iloc[used].reset_index(drop=True)
        target_text = reached.astype(str).agg("|".join, axis=1)
        fresh = ~target_text.isin(position) & ~target_text.duplicated()
        new_rows.append(reached.loc[fresh.to_numpy()])
        for index, label in enumerate(target_text[fresh], start=len(position)):
            position[label] = index
        column_of_used = np.array([position[t] for t in target_text], dtype=np.intp)
        columns.append(column_of_used[np.searchsorted(used, rows)])
    combined = pd.concat([keys, *new_rows], ignore_index=True)[list(KEY_COLUMNS)]
    order = np.lexsort([combined[c].astype(str).to_numpy() for c in reversed(KEY_COLUMNS)])
    return combined, tuple(columns), order.astype(np.intp)


def compress_owned(owned: tuple[Commitment, ...], futures: Futures) -> tuple[Commitment, ...]:
    """Owned commitments on the futures' compressed clock (active where they are in real time)."""
    result = []
    for item in owned:
        start = futures.compressed_time(item.start)
        end = futures.compressed_time(item.end)
        if end <= start:
            continue
        result.append(replace(item, start=start.to_pydatetime(), end=end.to_pydatetime()))
    return tuple(result)


LARGE_DECISION_KEYS: Final = 500
"""From this many keys a decision on futures takes minutes on a small machine (measured on 2
cores at load 1.6–1.8, docs/scale.md: 1,000 keys 123 s with 40 futures, 96 s with 100)."""


def decision_size_note(n_keys: int, futures: int) -> str | None:
    """A sentence setting expectations when a decision on ``futures`` futures of ``n_keys``
    keys will take minutes, with the faster way; ``None`` for a small one."""
    if n_keys < LARGE_DECISION_KEYS:
        return None
    return (
        f"deciding on {futures} futures of {n_keys:,} keys takes minutes (1,000 keys and 40 "
        "futures: about 2 minutes on 2 cores, see docs/scale.md); --decide-on lookback "
        "decides on the lookback in under a minute"
    )


__all__ = [
    "DEFAULT_FUTURES",
    "DEFAULT_FUTURE_ROWS",
    "DEFAULT_HALF_LIFE_DAYS",
    "EPOCH_MONTHS",
    "LARGE_DECISION_KEYS",
    "LASTED_WEEKS",
    "REPLACED_SHARE",
    "FutureOptions",
    "Futures",
    "compress_owned",
    "decision_futures",
    "decision_size_note",
    "dropped_keys",
    "moved_keys",
    "ramp_start_keys",
    "risen_keys",
    "whole_weeks",
    "with_target_keys",
    "young_keys",
]
