"""Owned commitments from AWS: ``ec2:DescribeReservedInstances`` and
``savingsplans:DescribeSavingsPlans``, through boto3 clients (backoff and paging included).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final

from core.errors import CommitoptInputError
from core.times import utc_datetime
from pricing.instance_types import normalization_factor
from pricing.inventory.commitments import Commitment, Inventory, InventoryError
from pricing.inventory.values import (
    arn_account,
    iso,
    parse_count,
    parse_instance_family,
    parse_number,
    parse_scope,
    parse_tenancy,
    parse_time,
    region_of_zone,
    ri_effective_hourly_usd,
    term_end,
)
from pricing.offerings import (
    TERM_HOURS,
    CommitmentKind,
    parse_offering_class,
    parse_payment_option,
    parse_term_years,
)
from pricing.platforms import parse_platform
from pricing.readers.aws_api import call_with_backoff, paginate
from pricing.regions import check_region

_SP_TYPES: Final = {
    "Compute": CommitmentKind.COMPUTE_SAVINGS_PLAN,
    "EC2Instance": CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN,
    "Database": CommitmentKind.DATABASE_SAVINGS_PLAN,
    "SageMaker": CommitmentKind.SAGEMAKER_SAVINGS_PLAN,
}
"""AWS's ``savingsPlanType`` → commitment kind (the botocore model's SavingsPlanType enum)."""
_MODELLED: Final = "Compute, EC2 Instance, Database and SageMaker Savings Plans"


@contextmanager
def _api_item(what: str) -> Iterator[None]:
    """Turn a missing key or a bad value of one API item into an :class:`InventoryError`.

    Parameters
    ----------
    what
        The operation and the item, e.g. ``"ec2:DescribeReservedInstances: reserved instance
        r-1"``; the message is ``"<what> lacks <key>"`` or ``"<what>: <problem>"``.
    """
    try:
        yield
    except KeyError as error:
        raise InventoryError(f"{what} lacks {error.args[0]}") from error
    except CommitoptInputError as error:
        raise InventoryError(f"{what}: {error}") from error


def _check_usd(currency: object) -> None:
    """Reject an item priced in another currency than USD (missing means USD)."""
    code = str(currency or "USD")
    if code != "USD":
        raise CommitoptInputError(f"priced in {code}; commitopt works in USD only")


def _hourly_recurring(reservation: Mapping[str, Any]) -> float:
    charges = reservation.get("RecurringCharges") or []
    hourly = sum(
        float(charge.get("Amount", 0.0))
        for charge in charges
        if str(charge.get("Frequency", "Hourly")) == "Hourly"
    )
    return hourly + float(reservation.get("UsagePrice") or 0.0)


def _reserved_instance_from_api(
    reservation: Mapping[str, Any], client_region: str | None, now: datetime
) -> Commitment:
    ri_id = str(reservation.get("ReservedInstancesId", "?"))
    with _api_item(f"ec2:DescribeReservedInstances: reserved instance {ri_id}"):
        _check_usd(reservation.get("CurrencyCode"))
        zone = str(reservation.get("AvailabilityZone") or "")
        region = region_of_zone(zone) if zone else client_region
        if not region:
            raise CommitoptInputError("no region: the client has none and the RI has no zone")
        check_region(region)
        instance_type = str(reservation["InstanceType"])
        count = parse_count(reservation["InstanceCount"])
        term_years = parse_term_years(reservation["Duration"])
        start = utc_datetime(reservation["Start"])
        end = (
            utc_datetime(reservation["End"])
            if reservation.get("End")
            else term_end(start, term_years)
        )
        upfront = float(reservation.get("FixedPrice") or 0.0) * count
        recurring = _hourly_recurring(reservation)
        return Commitment(
            kind=CommitmentKind.RESERVED_INSTANCE,
            id=ri_id,
            start=start,
            end=end,
            term_years=term_years,
            payment_option=parse_payment_option(str(reservation["OfferingType"])),
            upfront_usd=upfront,
            region=region,
            instance_type=instance_type,
            platform=parse_platform(str(reservation["ProductDescription"])),
            tenancy=parse_tenancy(reservation.get("InstanceTenancy", "default")),
            scope=parse_scope(
                reservation.get("Scope") or ("Availability Zone" if zone else "Region")
            ),
            availability_zone=zone or None,
            offering_class=parse_offering_class(str(reservation.get("OfferingClass", "standard"))),
            count=count,
            normalized_units=count * normalization_factor(instance_type),
            recurring_usd_per_hour=recurring,
            effective_usd_per_hour=ri_effective_hourly_usd(upfront, recurring, count, term_years),
            source=f"ec2:DescribeReservedInstances {region} {iso(now)}",
        )


def fetch_reserved_instances(
    ec2_client: Any,
    *,
    states: Sequence[str] = ("active",),
    sleep: Callable[[float], None] = time.sleep,
) -> Inventory:
    """Read the account's Reserved Instances with ``ec2:DescribeReservedInstances``.

    Parameters
    ----------
    ec2_client
        A boto3 EC2 client; its region is the region of regional RIs.
    states
        RI states to list (``active``, ``payment-pending``, ``retired``, ...).
    sleep
        Backoff sleep, injected for tests.

    Returns
    -------
    Inventory
        One item per reservation (``count`` RIs each), ``as_of`` now.

    Raises
    ------
    AwsAccessError
        Credentials missing, permission denied, or still throttled after retries.
    InventoryError
        A reservation that cannot be read (unknown platform, term, currency other than USD).
    """
    now = datetime.now(UTC)
    response = call_with_backoff(
        ec2_client.describe_reserved_instances,
        permission="ec2:DescribeReservedInstances",
        sleep=sleep,
        Filters=[{"Name": "state", "Values": list(states)}],
    )
    client_region = getattr(getattr(ec2_client, "meta", None), "region_name", None)
    commitments = tuple(
        _reserved_instance_from_api(reservation, client_region, now)
        for reservation in response.get("ReservedInstances", [])
    )
    return Inventory(commitments, now)


def _savings_plan_from_api(plan: Mapping[str, Any], now: datetime) -> Commitment:
    plan_id = str(plan.get("savingsPlanId", "?"))
    with _api_item(f"savingsplans:DescribeSavingsPlans: savings plan {plan_id}"):
        _check_usd(plan.get("currency"))
        kind = _SP_TYPES[str(plan["savingsPlanType"])]
        term_years = parse_term_years(plan["termDurationInSeconds"])
        start = parse_time(plan["start"])
        end = parse_time(plan["end"]) if plan.get("end") else term_end(start, term_years)
        commitment = parse_number(plan["commitment"], positive=True)
        upfront = parse_number(plan.get("upfrontPaymentAmount") or 0.0)
        recurring = parse_number(plan.get("recurringPaymentAmount") or 0.0)
        ec2 = kind == CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN
        return Commitment(
            kind=kind,
            id=plan_id,
            start=start,
            end=end,
            term_years=term_years,
            payment_option=parse_payment_option(str(plan["paymentOption"])),
            upfront_usd=upfront,
            region=check_region(str(plan["region"])) if ec2 else None,
            instance_family=parse_instance_family(plan["ec2InstanceFamily"]) if ec2 else None,
            recurring_usd_per_hour=recurring,
            effective_usd_per_hour=upfront / TERM_HOURS[term_years] + recurring,
            commitment_usd_per_hour=commitment,
            source=f"savingsplans:DescribeSavingsPlans {iso(now)}",
            account_id=arn_account(plan.get("savingsPlanArn")),
        )


def fetch_savings_plans(
    savingsplans_client: Any,
    *,
    states: Sequence[str] = ("active",),
    sleep: Callable[[float], None] = time.sleep,
) -> Inventory:
    """Read the account's Savings Plans with ``savingsplans:DescribeSavingsPlans`` (all pages).

    Parameters
    ----------
    savingsplans_client
        A boto3 ``savingsplans`` client.
    states
        Plan states to list (``active``, ``queued``, ``retired``, ...).
    sleep
        Backoff sleep, injected for tests.

    Returns
    -------
    Inventory
        Compute, EC2 Instance, Database and SageMaker Savings Plans, each owned by the account
        in its ``savingsPlanArn`` (AWS serves that account's usage first); a type AWS adds later
        is left out and named in ``notes``.

    Raises
    ------
    AwsAccessError
        Credentials missing, permission denied, or still throttled after retries.
    InventoryError
        A plan that cannot be read.
    """
    now = datetime.now(UTC)
    pages = paginate(
        savingsplans_client.describe_savings_plans,
        permission="savingsplans:DescribeSavingsPlans",
        token_in="nextToken",
        token_out="nextToken",
        sleep=sleep,
        states=list(states),
    )
    plans: list[Mapping[str, Any]] = [
        plan for page in pages for plan in page.get("savingsPlans", [])
    ]
    modelled = [plan for plan in plans if str(plan.get("savingsPlanType")) in _SP_TYPES]
    skipped = _skipped_types(plan for plan in plans if plan not in modelled)
    notes = (f"left out {skipped}: commitopt models {_MODELLED}",) if skipped else ()
    return Inventory(tuple(_savings_plan_from_api(plan, now) for plan in modelled), now, notes)


def _skipped_types(plans: Iterable[Mapping[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for plan in plans:
        name = str(plan.get("savingsPlanType"))
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{count} {name} Savings Plan(s)" for name, count in sorted(counts.items()))


__all__ = ["fetch_reserved_instances", "fetch_savings_plans"]
