"""The synthetic archetypes the quality benchmarks share: 15 months of hourly usage each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import pandas as pd

from usage import synthetic

START: Final = "2024-01-01T00:00:00Z"
"""First hour of every archetype."""

HOURS: Final = 15 * 730
"""Fifteen months [h]: a 90-day lookback and a 12-month window after it."""

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
        start=START, hours=HOURS, ramp_start_hour=6 * 730, ramp_hours=3 * 730
    ),
    "spiky_batch": lambda: synthetic.spiky_batch(start=START, hours=HOURS),
    "multi_region_mixed_platforms": lambda: synthetic.multi_region_mixed_platforms(
        start=START, hours=HOURS
    ),
    "demo_usage": lambda: synthetic.demo_usage(start=START, hours=HOURS),
}
"""Name -> generator of the archetype's canonical usage table."""
