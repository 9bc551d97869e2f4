"""The synthetic archetypes the quality benchmarks share: 15 months of hourly usage each.

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
