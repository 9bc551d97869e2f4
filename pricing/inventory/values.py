"""Parsers and checks of single field values of an owned commitment.

Each raises :class:`~core.errors.CommitoptInputError` with a message about the value alone;
the callers (portfolio JSON items, AWS API answers) prefix it with the file, item and field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np

from core.errors import CommitoptInputError
from core.times import utc_datetime
from pricing.databases import DEPLOYMENTS
from pricing.instance_types import parse_instance_type
from pricing.offerings import TENANCIES, TERM_HOURS

SCOPES: Final = ("Region", "Availability Zone")

_SCOPE_ALIASES: Final = {
    "region": "Region",
    "regional": "Region",
    "availability zone": "Availability Zone",
    "availability_zone": "Availability Zone",
    "zone": "Availability Zone",
    "zonal": "Availability Zone",
}
_TENANCY_ALIASES: Final = {
    "shared": "Shared",
    "default": "Shared",
    "dedicated": "Dedicated",
    **{deployment.lower(): deployment for deployment in DEPLOYMENTS},
}


def iso(moment: datetime) -> str:
    """``moment`` as ISO 8601 in UTC with a ``Z`` suffix, e.g. ``2025-01-01T00:00:00Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: object) -> datetime:
    """Parse an ISO 8601 time (``Z`` or an offset; naive means UTC) or a datetime."""
    if isinstance(value, datetime):
        return utc_datetime(value)
    if not isinstance(value, str) or not value.strip():
        raise CommitoptInputError(
            f"expected an ISO 8601 time such as 2025-01-01T00:00:00Z, got {value!r}"
        )
    try:
        return utc_datetime(datetime.fromisoformat(value.strip()))
    except ValueError as error:
        raise CommitoptInputError(
            f"{value!r} is not an ISO 8601 time such as 2025-01-01T00:00:00Z"
        ) from error


def term_end(start: datetime, term_years: int) -> datetime:
    """End of a term of ``term_years`` (1 or 3) starting at ``start`` (8,760 or 26,280 h on)."""
    return start + timedelta(hours=TERM_HOURS[term_years])


def ri_effective_hourly_usd(
    upfront_usd: float, recurring_usd_per_hour: float, count: int, term_years: int
) -> float:
    """Cost of a whole RI item per hour of its term [USD/h].

    Parameters
    ----------
    upfront_usd
        Upfront payment of the whole item [USD].
    recurring_usd_per_hour
        Hourly fee per RI [USD/h].
    count
        Number of RIs in the item.
    term_years
        1 or 3.
    """
    return upfront_usd / TERM_HOURS[term_years] + count * recurring_usd_per_hour


def _float(value: object, expected: str) -> float:
    """``value`` (a number or its text, not a bool) as a float; else ``expected ...`` error."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise CommitoptInputError(f"expected {expected}, got {value!r}")
    try:
        return float(value)
    except ValueError as error:
        raise CommitoptInputError(f"expected {expected}, got {value!r}") from error


def parse_number(value: object, *, positive: bool = False) -> float:
    """A finite amount ≥ 0 (> 0 when ``positive``), from a number or its text."""
    amount = _float(value, "a number")
    if not np.isfinite(amount):
        raise CommitoptInputError(f"expected a finite number, got {value!r}")
    if positive and amount <= 0:
        raise CommitoptInputError(f"must be greater than 0, got {value!r}")
    if amount < 0:
        raise CommitoptInputError(f"must not be negative, got {value!r}")
    return amount


def parse_count(value: object) -> int:
    """A whole number > 0, from a number or its text (``12``, ``12.0``, ``"12"``)."""
    amount = _float(value, "a whole number")
    if not np.isfinite(amount) or amount <= 0 or amount != int(amount):
        raise CommitoptInputError(f"must be a whole number greater than 0, got {value!r}")
    return int(amount)


def _alias(value: object, aliases: Mapping[str, str], what: str, names: Sequence[str]) -> str:
    """The canonical name of ``value`` looked up case-insensitively in ``aliases``."""
    found = aliases.get(str(value).strip().lower())
    if found is None:
        raise CommitoptInputError(f"unknown {what} {value!r}; use {' or '.join(names)}")
    return found


def parse_tenancy(value: object) -> str:
    """``"Shared"`` or ``"Dedicated"`` (``default`` is Shared, as EC2 spells it), or a database
    reservation's deployment (``Single-AZ``, ``Multi-AZ``, ...)."""
    return _alias(value, _TENANCY_ALIASES, "tenancy", (*TENANCIES, *DEPLOYMENTS))


def parse_scope(value: object) -> str:
    """``"Region"`` or ``"Availability Zone"`` (``regional``, ``zonal``, ... accepted)."""
    return _alias(value, _SCOPE_ALIASES, "scope", SCOPES)


def parse_instance_family(value: object) -> str:
    """An instance family such as ``"m5"`` (not a type such as ``"m5.large"``)."""
    family = str(value).strip()
    if not family or "." in family or parse_instance_type(f"{family}.large").family != family:
        raise CommitoptInputError(f"{value!r} is not an instance family such as 'm5'")
    return family


def region_of_zone(zone: str) -> str:
    """The region of an Availability Zone, e.g. ``us-east-1a`` -> ``us-east-1``."""
    return re.sub(r"[a-z]$", "", zone.strip())


def arn_account(arn: object) -> str | None:
    """The account of an ARN (``arn:aws:savingsplans::123456789012:savingsplan/ID``,
    ``arn:aws:ec2:us-east-1:123456789012:reserved-instances/ID``), ``None`` when it names none."""
    parts = str(arn or "").split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[4].isdigit():
        return parts[4]
    return None


__all__ = [
    "SCOPES",
    "arn_account",
    "iso",
    "parse_count",
    "parse_instance_family",
    "parse_number",
    "parse_scope",
    "parse_tenancy",
    "parse_time",
    "region_of_zone",
    "ri_effective_hourly_usd",
    "term_end",
]
