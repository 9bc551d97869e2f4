"""What a commitment costs per hour and what it covers, in a report's words."""

from __future__ import annotations

from pricing.inventory import Commitment
from pricing.offerings import TERM_HOURS, CommitmentKind


def item_hourly_cost_usd(item: Commitment) -> float:
    """Cost of a whole commitment per hour of its term, upfront amortized [USD/h]."""
    if item.is_savings_plan:
        return float(item.commitment_usd_per_hour or 0.0)
    if item.effective_usd_per_hour is not None:
        return float(item.effective_usd_per_hour)
    recurring = float(item.recurring_usd_per_hour or 0.0) * float(item.count or 0)
    return recurring + item.upfront_usd / TERM_HOURS[item.term_years]


def describe_commitment(item: Commitment) -> str:
    """One line naming what a commitment covers, e.g. ``36 × c4.large Linux/UNIX, ...``."""
    if item.kind == CommitmentKind.RESERVED_INSTANCE:
        scope = "zonal" if item.scope == "Availability Zone" else "regional"
        return (
            f"{item.count} × {item.instance_type} {item.platform} ({item.tenancy}), "
            f"{item.region}, {item.offering_class or 'standard'} {scope} RI"
        )
    commit = float(item.commitment_usd_per_hour or 0.0)
    if item.kind == CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN:
        return f"{commit:,.3f} USD/h for the {item.instance_family} family in {item.region}"
    return f"{commit:,.3f} USD/h, any region, family and platform"


__all__ = ["describe_commitment", "item_hourly_cost_usd"]
