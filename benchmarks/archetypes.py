"""The synthetic archetypes the quality benchmarks share: 15 months of hourly usage each.

``ARCHETYPES`` are the backtest benchmark's cases (``bench_backtest.py``);
``DECISION_ARCHETYPES`` the decisions benchmark's (``bench_decisions.py``, issue 16): usage whose
future differs from its past (launches, an unannounced migration, retirements, a workload that
stops, a seasonal peak, right-sizing, several accounts, a real trace's shape) beside the steady
ones.

``PLANS`` holds, for the archetypes whose usage changes by a planned project (a migration), that
project as its owners would have written it down before it started: a scenario of
:mod:`scenarios.transforms` with the ramp the generator uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import pandas as pd

from scenarios.transforms import Migration, Scenario, Selection
from usage import synthetic

START: Final = "2024-01-01T00:00:00Z"
"""First hour of every archetype."""

HOURS: Final = 15 * 730
"""Fifteen months [h]: a 90-day lookback and a 12-month window after it."""

MIGRATION_RAMP_HOURS: Final = (6 * 730, 3 * 730)
"""family_migration: the ramp starts 6 months into the data and lasts 3 months [h]."""

UNDERWAY_RAMP_HOURS: Final = (2 * 730, 3 * 730)
"""family_migration_underway: the ramp starts 2 months into the data (a third done at the
first review of a window starting after 3 months) and lasts 3 months [h]."""

WINDOW: Final = ("2024-04-01", "2025-04-01")
"""The billed window of the backtests: the 12 months after a 90-day lookback."""

LOOKBACK_DAYS: Final = 90
"""History each review sees [days]."""

FIRST_REVIEW_HOUR: Final = int((pd.Timestamp(WINDOW[0], tz="UTC") - pd.Timestamp(START)).days * 24)
"""Hours from START to the first review (2024-04-01: 91 days) [h]."""

DEMO_RAMP_HOURS: Final = (HOURS // 4, HOURS // 3)
"""demo_usage: its m4.xlarge -> c5.xlarge ramp in us-west-2, as ``synthetic.demo_usage`` sets it."""

ARCHETYPES: Final[dict[str, Callable[[], pd.DataFrame]]] = {
    "steady_daily_cycle": lambda: synthetic.steady_daily_cycle(start=START, hours=HOURS),
    "business_hours": lambda: synthetic.business_hours(start=START, hours=HOURS),
    "growth": lambda: synthetic.growth(
        start=START, hours=HOURS, base_instances=10.0, growth_instances_per_day=0.05
    ),
    "decline": lambda: synthetic.decline(
        start=START, hours=HOURS, base_instances=40.0, decline_instances_per_day=0.06
    ),
    "family_migration": lambda: synthetic.family_migration(
        start=START,
        hours=HOURS,
        ramp_start_hour=MIGRATION_RAMP_HOURS[0],
        ramp_hours=MIGRATION_RAMP_HOURS[1],
    ),
    "spiky_batch": lambda: synthetic.spiky_batch(start=START, hours=HOURS),
    "multi_region_mixed_platforms": lambda: synthetic.multi_region_mixed_platforms(
        start=START, hours=HOURS
    ),
    "demo_usage": lambda: synthetic.demo_usage(start=START, hours=HOURS),
}
"""Name -> generator of the archetype's canonical usage table."""

MIGRATION_UNDER_WAY: Final[dict[str, Callable[[], pd.DataFrame]]] = {
    "family_migration_underway": lambda: synthetic.family_migration(
        start=START,
        hours=HOURS,
        ramp_start_hour=UNDERWAY_RAMP_HOURS[0],
        ramp_hours=UNDERWAY_RAMP_HOURS[1],
    ),
}
"""The backtest's extra case: the same migration, already under way when the window opens."""


DECISION_ARCHETYPES: Final[dict[str, Callable[[], pd.DataFrame]]] = {
    "steady_daily_cycle": ARCHETYPES["steady_daily_cycle"],
    "weekly_estate": lambda: synthetic.weekly_estate(start=START, hours=HOURS),
    "business_hours": ARCHETYPES["business_hours"],
    "spiky_batch": ARCHETYPES["spiky_batch"],
    "multi_region_mixed_platforms": ARCHETYPES["multi_region_mixed_platforms"],
    "step_launches": lambda: synthetic.step_launches(start=START, hours=HOURS),
    "unannounced_migration": lambda: synthetic.unannounced_migration(
        start=START,
        hours=HOURS,
        ramp_start_hour=FIRST_REVIEW_HOUR + 2 * 730,
        ramp_hours=2 * 730,
        second_ramp_delay_hours=730,
    ),
    "decline_with_retirements": lambda: synthetic.decline_with_retirements(
        start=START, hours=HOURS, first_retirement_hour=HOURS // 10
    ),
    "stopped_workload": lambda: synthetic.stopped_workload(
        start=START, hours=HOURS, stop_hour=FIRST_REVIEW_HOUR - 10 * 24
    ),
    "seasonal_retailer": lambda: synthetic.seasonal_retailer(start=START, hours=HOURS),
    "right_sizing": lambda: synthetic.right_sizing(
        start=START, hours=HOURS, resize_start_hour=FIRST_REVIEW_HOUR + 5 * 730, resize_hours=336
    ),
    "multi_account": lambda: synthetic.multi_account(start=START, hours=HOURS),
    "azure_trace_shape": lambda: synthetic.azure_trace_shape(start=START, hours=HOURS),
}
"""The decisions benchmark's cases (issue 16): name -> generator of the canonical usage table.

Every one starts at START and runs 15 months (HOURS). weekly_estate: three steady fleets (m4, c5,
r4, one region each) at 65 % of their weekday level on weekends. step_launches: 4 fleets at the
start, 10 launched at random dates, 3 %/month organic growth. unannounced_migration: m4.xlarge ->
c5.xlarge in us-east-1 from 2 months into the window (over 2 months), m4.2xlarge -> c5.2xlarge in
us-west-2 a month later; nothing of it in the first lookback. decline_with_retirements: 20 keys,
-2 %/month, 8 retired at random dates from month 1.5. stopped_workload: the us-east-1 m4.xlarge
fleet stops 10 days before the first review. seasonal_retailer: Q4 peak 2x (ramp 1 October -> 16
November, back by 15 January), weekends +20 %. right_sizing: 20 m4.2xlarge become m4.xlarge over
two weeks from 5 months into the window (the fleet's normalized units halve). multi_account: 4
accounts, 26 keys. azure_trace_shape: 18 keys shaped as the Azure 2017 trace's running VMs.
"""

TIMING_HOURS: Final = 26 * 730
"""Twenty-six months [h]: room for a first review as late as February of the second year."""


def _hour_of(day: str) -> int:
    """Hours from START to ``day`` (UTC midnight) [h]."""
    return int((pd.Timestamp(day, tz="UTC") - pd.Timestamp(START)).total_seconds() // 3600)


TIMING_VARIANTS: Final[dict[str, tuple[Callable[[], pd.DataFrame], str]]] = {
    "seasonal_review_at_ramp": (
        lambda: synthetic.seasonal_retailer(start=START, hours=TIMING_HOURS),
        "2024-11-15",
    ),
    "seasonal_review_at_peak": (
        lambda: synthetic.seasonal_retailer(start=START, hours=TIMING_HOURS),
        "2024-12-10",
    ),
    "seasonal_review_after_peak": (
        lambda: synthetic.seasonal_retailer(start=START, hours=TIMING_HOURS),
        "2025-01-10",
    ),
    "stopped_3_days_before": (
        lambda: synthetic.stopped_workload(
            start=START, hours=TIMING_HOURS, stop_hour=_hour_of("2024-04-01") - 72
        ),
        "2024-04-01",
    ),
    "stopped_45_days_before": (
        lambda: synthetic.stopped_workload(
            start=START, hours=TIMING_HOURS, stop_hour=_hour_of("2024-04-01") - 45 * 24
        ),
        "2024-04-01",
    ),
    "migration_under_way": (
        lambda: synthetic.unannounced_migration(
            start=START,
            hours=TIMING_HOURS,
            ramp_start_hour=_hour_of("2024-04-01") - 30 * 24,
            ramp_hours=2 * 730,
            second_ramp_delay_hours=730,
        ),
        "2024-04-01",
    ),
    "decline_4pct_seed1": (
        lambda: synthetic.decline_with_retirements(
            start=START,
            hours=TIMING_HOURS,
            first_retirement_hour=TIMING_HOURS // 20,
            decline_pct_per_month=4.0,
            seed=1,
        ),
        "2024-04-01",
    ),
    "launches_seed1": (
        lambda: synthetic.step_launches(start=START, hours=TIMING_HOURS, seed=1),
        "2024-04-01",
    ),
}
"""The decision archetypes again with the first review at another moment of their change
(``bench_decisions.py --timing``): name -> (generator of 26 months of usage, first review date;
the window is the 12 months from it). A seasonal retailer reviewed on the ramp, at the peak and
after it; a fleet stopped 3 or 45 days before the review; a migration a month under way; a
steeper decline with other retirement dates; other launch dates."""


def _first_review(hours_after_start: int) -> int:
    """Hours from START to a moment ``hours_after_start`` past the first review [h]."""
    return FIRST_REVIEW_HOUR + hours_after_start


VARIANTS: Final[dict[str, tuple[Callable[[], pd.DataFrame], str]]] = {
    "launches_seed2": (
        lambda: synthetic.step_launches(start=START, hours=HOURS, seed=2),
        WINDOW[0],
    ),
    "launches_seed3_5pct": (
        lambda: synthetic.step_launches(
            start=START, hours=HOURS, seed=3, organic_growth_pct_per_month=5.0
        ),
        WINDOW[0],
    ),
    "growth_4pct_no_launch": (
        lambda: synthetic.step_launches(
            start=START, hours=HOURS, seed=4, initial_fleets=14, organic_growth_pct_per_month=4.0
        ),
        WINDOW[0],
    ),
    "migration_seed2_early": (
        lambda: synthetic.unannounced_migration(
            start=START,
            hours=HOURS,
            seed=2,
            ramp_start_hour=_first_review(730),
            ramp_hours=730,
            second_ramp_delay_hours=2 * 730,
        ),
        WINDOW[0],
    ),
    "migration_seed3_late": (
        lambda: synthetic.unannounced_migration(
            start=START,
            hours=HOURS,
            seed=3,
            ramp_start_hour=_first_review(6 * 730),
            ramp_hours=730,
            second_ramp_delay_hours=730,
        ),
        WINDOW[0],
    ),
    "decline_1pct_seed2": (
        lambda: synthetic.decline_with_retirements(
            start=START,
            hours=HOURS,
            seed=2,
            decline_pct_per_month=1.0,
            retired_share=0.25,
            first_retirement_hour=FIRST_REVIEW_HOUR,
        ),
        WINDOW[0],
    ),
    "decline_3pct_retiring_in_lookback": (
        lambda: synthetic.decline_with_retirements(
            start=START,
            hours=HOURS,
            seed=3,
            decline_pct_per_month=3.0,
            first_retirement_hour=FIRST_REVIEW_HOUR - 60 * 24,
        ),
        WINDOW[0],
    ),
    "stopped_20_days_seed3": (
        lambda: synthetic.stopped_workload(
            start=START, hours=HOURS, seed=3, stop_hour=FIRST_REVIEW_HOUR - 20 * 24
        ),
        WINDOW[0],
    ),
    "stopped_2_months_after": (
        lambda: synthetic.stopped_workload(
            start=START, hours=HOURS, seed=4, stop_hour=_first_review(60 * 24)
        ),
        WINDOW[0],
    ),
    "seasonal_peak_1_5_seed1": (
        lambda: synthetic.seasonal_retailer(start=START, hours=HOURS, seed=1, peak_factor=1.5),
        WINDOW[0],
    ),
    "seasonal_reviewed_in_september": (
        lambda: synthetic.seasonal_retailer(start=START, hours=TIMING_HOURS, seed=2),
        "2024-09-01",
    ),
    "seasonal_reviewed_in_february": (
        lambda: synthetic.seasonal_retailer(start=START, hours=TIMING_HOURS, seed=3),
        "2025-02-01",
    ),
    "right_sizing_early": (
        lambda: synthetic.right_sizing(
            start=START,
            hours=HOURS,
            seed=1,
            resize_start_hour=_first_review(730),
            resize_hours=30 * 24,
        ),
        WINDOW[0],
    ),
    "right_sizing_in_lookback": (
        lambda: synthetic.right_sizing(
            start=START,
            hours=HOURS,
            seed=2,
            resize_start_hour=FIRST_REVIEW_HOUR - 30 * 24,
            resize_hours=14 * 24,
        ),
        WINDOW[0],
    ),
    "multi_account_seed1": (
        lambda: synthetic.multi_account(start=START, hours=HOURS, seed=1),
        WINDOW[0],
    ),
    "azure_trace_seed1": (
        lambda: synthetic.azure_trace_shape(start=START, hours=HOURS, seed=1),
        WINDOW[0],
    ),
    "steady_small_fleet": (
        lambda: synthetic.steady_daily_cycle(
            start=START,
            hours=HOURS,
            seed=5,
            base_instances=4.0,
            daily_amplitude_instances=2.0,
            instance_type="c5.xlarge",
            region="eu-west-1",
        ),
        WINDOW[0],
    ),
    "load_test_at_review": (
        lambda: synthetic.load_test_burst(
            start=START,
            hours=HOURS,
            burst_start_hour=FIRST_REVIEW_HOUR - 6 * 24,
            burst_hours=8 * 24,
        ),
        WINDOW[0],
    ),
    "growth_stops_at_review": (
        lambda: synthetic.step_launches(
            start=START,
            hours=HOURS,
            seed=4,
            initial_fleets=14,
            organic_growth_pct_per_month=4.0,
            growth_stop_hour=FIRST_REVIEW_HOUR,
        ),
        WINDOW[0],
    ),
    "outage_in_lookback": (
        lambda: synthetic.scaled_over(
            synthetic.stopped_workload(start=START, hours=HOURS, stop_hour=HOURS, seed=5),
            start=pd.Timestamp(WINDOW[0]) - pd.Timedelta(days=50),
            hours=14 * 24,
            factor=0.0,
        ),
        WINDOW[0],
    ),
    "load_test_over_at_review": (
        lambda: synthetic.load_test_burst(
            start=START,
            hours=HOURS,
            burst_start_hour=FIRST_REVIEW_HOUR - 12 * 24,
            burst_hours=10 * 24,
            seed=1,
        ),
        WINDOW[0],
    ),
    "grown_by_half_at_review": (
        lambda: synthetic.scaled_over(
            synthetic.stopped_workload(start=START, hours=HOURS, stop_hour=HOURS, seed=6),
            start=pd.Timestamp(WINDOW[0]) - pd.Timedelta(weeks=6),
            factor=1.5,
        ),
        WINDOW[0],
    ),
    "holiday_dip_reviewed_1_january": (
        lambda: _holiday_dips(
            synthetic.stopped_workload(
                start=START, hours=TIMING_HOURS, stop_hour=TIMING_HOURS, seed=7
            ),
            factor=0.6,
        ),
        "2025-01-01",
    ),
}
"""The decision archetypes with other seeds and parameters (``bench_decisions.py --variants``):
name -> (generator of the usage, first review date; the window is the 12 months from it).
Written after the rules they test, as a check of how the rules carry to cases they were not
tuned on: other launch dates and growth rates, a migration sooner or later, a slower decline and
one whose retirements began in the lookback, a fleet stopped 20 days before the review or two
months after it, a smaller peak, a retailer reviewed in September and in February (after its
peak), right-sizing sooner or already under way, other accounts' and the trace's seeds, a small
steady fleet, growth_4pct_no_launch's fleets whose growth stops at the review (the case
against following steady growth past today's level), and a load test of 20 c5.4xlarge over the
6 days before the review and 2 after (load_test_at_review: the case against buying for a key
that has not yet run a whole week, session 39). Session 40: four steady fleets all off for two
weeks from 50 days before the review (outage_in_lookback: the case against drawing an outage as
a level), a load test of 10 days over 2 days before the review (load_test_over_at_review: the
case against taking it for a new level), and four steady fleets grown by half six weeks before
the review (grown_by_half_at_review: the case for buying a step that holds). Session 41: four
steady fleets at 60 % over the year-end holidays (24 December to 1 January) of both years,
reviewed on 1 January (holiday_dip_reviewed_1_january: the case against taking the holidays
for a new low)."""


def _holiday_dips(usage: pd.DataFrame, *, factor: float) -> pd.DataFrame:
    """``usage`` times ``factor`` over 24 December to 1 January of 2024 and of 2025."""
    for year in (2024, 2025):
        usage = synthetic.scaled_over(usage, start=f"{year}-12-24", hours=9 * 24, factor=factor)
    return usage


STAYING_TWINS: Final[dict[str, Callable[[], pd.DataFrame]]] = {
    "unannounced_migration": lambda: synthetic.unannounced_migration(
        start=START,
        hours=HOURS,
        ramp_start_hour=10 * HOURS,  # never inside the data
        ramp_hours=2 * 730,
        second_ramp_delay_hours=730,
    ),
}
"""For a decision archetype whose fleets change unannounced, the same usage where they never do
(``bench_target_conflict.py``): the same seed and fleets, so every lookback before the change
is the same hour by hour, and any policy that sees only the past buys the same in both until
then."""


QUICK_DECISION_ARCHETYPES: Final = (
    "stopped_workload",
    "unannounced_migration",
    "seasonal_retailer",
    "azure_trace_shape",
)
"""The decisions benchmark's ``--quick`` cases."""


def _planned_migration(name: str, ramp: tuple[int, int], source: Selection) -> Scenario:
    """A scenario moving all of ``source`` to c5 over the generator's ramp."""
    begins = pd.Timestamp(START) + pd.Timedelta(hours=ramp[0])
    return Scenario(
        name,
        "m4 -> c5 migration, planned before it starts",
        (Migration(source, 1.0, begins, begins + pd.Timedelta(hours=ramp[1]), to_family="c5"),),
    )


PLANS: Final[dict[str, Scenario]] = {
    "family_migration": _planned_migration(
        "family_migration plan", MIGRATION_RAMP_HOURS, Selection(instance_types=("m4.xlarge",))
    ),
    "demo_usage": _planned_migration(
        "demo_usage plan",
        DEMO_RAMP_HOURS,
        Selection(
            accounts=("111111111111",), regions=("us-west-2",), instance_types=("m4.xlarge",)
        ),
    ),
}
"""Archetype name -> the migration its owners planned (the ``ours-ladder+plans`` policy)."""
