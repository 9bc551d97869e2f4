"""Warnings an approver must see first: usage that ended long ago, prices from an old snapshot.

A plan is bought at today's prices for tomorrow's usage; its figures bill a past data period at
a catalog's prices. When either is far from the report's date the figures may not hold, and the
report says so at its top (:func:`staleness_warnings`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

import pandas as pd

from core.times import as_utc
from pricing.embedded import EMBEDDED_AS_OF, EMBEDDED_REFRESH_HINT, EMBEDDED_SOURCE

STALE_USAGE_DAYS: Final = 30.0
"""Usage that ended more than this long before the report is flagged [days]."""

STALE_PRICES_DAYS: Final = 365.0
"""Prices dated more than this long before the report are flagged [days]."""


def is_embedded_catalog(source: str, as_of: date | None) -> bool:
    """Whether the prices come (at least partly) from the embedded 2017 snapshot."""
    return (
        EMBEDDED_SOURCE in source
        or source.startswith("ec2instances.info snapshot 2017")
        or (as_of == EMBEDDED_AS_OF and "ec2instances.info" in source)
    )


def stale_usage_warning(
    period_end: pd.Timestamp | None,
    generated_at: datetime,
    limit_days: float = STALE_USAGE_DAYS,
) -> str | None:
    """A warning when the data period ended more than ``limit_days`` before the report."""
    if period_end is None:
        return None
    age_days = (as_utc(generated_at) - as_utc(period_end)) / pd.Timedelta(days=1)
    if age_days <= limit_days:
        return None
    return (
        f"the usage ends {as_utc(period_end):%Y-%m-%d}, {age_days:,.0f} days before this report: "
        "every figure bills that period's usage, which may no longer be what runs today; "
        "import recent usage and report again before approving"
    )


def stale_prices_warning(
    source: str,
    as_of: date | None,
    generated_at: datetime,
    limit_days: float = STALE_PRICES_DAYS,
) -> str | None:
    """A warning when the prices are the embedded snapshot's, or older than ``limit_days``."""
    embedded = is_embedded_catalog(source, as_of)
    if as_of is None:
        return (
            "the prices are from the embedded ec2instances.info snapshot of "
            f"{EMBEDDED_AS_OF.isoformat()}. {EMBEDDED_REFRESH_HINT}"
            if embedded
            else None
        )
    age_days = (as_utc(generated_at).date() - as_of).days
    if not embedded and age_days <= limit_days:
        return None
    origin = (
        f"the embedded ec2instances.info snapshot of {EMBEDDED_AS_OF.isoformat()}"
        if embedded
        else f"a catalog dated {as_of.isoformat()} ({source})"
    )
    return (
        f"prices come from {origin}, {age_days:,} days before this report: AWS's rates today "
        "differ (and newer instance families have none there), so the upfront, fees and "
        f"savings shown are not what a purchase would cost now. {EMBEDDED_REFRESH_HINT}"
    )


def staleness_warnings(
    *,
    period_end: pd.Timestamp | None,
    catalog_source: str,
    catalog_as_of: date | None,
    generated_at: datetime,
) -> tuple[str, ...]:
    """The stale-usage and stale-price warnings that apply, usage first."""
    found = (
        stale_usage_warning(period_end, generated_at),
        stale_prices_warning(catalog_source, catalog_as_of, generated_at),
    )
    return tuple(line for line in found if line)


__all__ = [
    "STALE_PRICES_DAYS",
    "STALE_USAGE_DAYS",
    "is_embedded_catalog",
    "stale_prices_warning",
    "stale_usage_warning",
    "staleness_warnings",
]
