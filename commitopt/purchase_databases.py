"""Database reservations bought with their own service's API: RDS and ElastiCache.

A plan's ``reserved_instance`` line whose ``instance_type`` is a DB instance class (``db.r4.large``)
or a cache node type (``cache.r6g.large``) is bought here; :mod:`commitopt.purchase` dispatches
to this module and keeps the same guards (approval, price tolerance, one line recorded before the
next, settling a line an interrupted run left in doubt).

The calls (AWS API Reference; the same facts are in botocore's service models):

* RDS: `DescribeReservedDBInstancesOfferings
  <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeReservedDBInstancesOfferings.html>`_
  with ``DBInstanceClass``, ``Duration`` (years or seconds: ``31536000``), ``ProductDescription``,
  ``OfferingType`` and ``MultiAZ`` (the line's tenancy ``Multi-AZ``); the product-description
  filter "shows offerings that partially match", so the answer is filtered again on the exact
  description, class, duration, offering type, Multi-AZ flag and currency, and exactly one offering
  must remain. `PurchaseReservedDBInstancesOffering
  <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_PurchaseReservedDBInstancesOffering.html>`_
  with ``ReservedDBInstancesOfferingId``, ``ReservedDBInstanceId`` and ``DBInstanceCount``.
* ElastiCache: `DescribeReservedCacheNodesOfferings
  <https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_DescribeReservedCacheNodesOfferings.html>`_
  with ``CacheNodeType``, ``Duration``, ``ProductDescription`` and ``OfferingType``;
  `PurchaseReservedCacheNodesOffering
  <https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_PurchaseReservedCacheNodesOffering.html>`_
  with ``ReservedCacheNodesOfferingId``, ``ReservedCacheNodeId`` and ``CacheNodeCount``.

**Idempotency.** Neither purchase call takes a client token; both take a *customer-specified
identifier* of the reservation, and AWS refuses a second purchase with an identifier the account
already has: ``ReservedDBInstanceAlreadyExists`` ("User already has a reservation with the given
identifier") and ``ReservedCacheNodeAlreadyExists`` ("You already have a reservation with the
given identifier"), both HTTP 404. commitopt derives the identifier from the plan's SHA-256 and
the line number (:func:`reservation_id`), so a retry of the same plan line cannot buy twice: the
refusal is taken as "already bought" once ``DescribeReservedDBInstances`` /
``DescribeReservedCacheNodes`` with that identifier returns a reservation that matches the line
(class, product description, deployment, offering type, term and count); a reservation that does
not match stops the run for a person to settle. A line left in doubt by a crash is settled the
same way before anything is looked up: the reservation with its identifier is found (bought) or
``ReservedDBInstanceNotFound`` / ``ReservedCacheNodeNotFound`` (not bought: it is bought now, with
the same identifier).

The API reference gives no character rules for these identifiers (its example is
``myreservationID``); :func:`reservation_id` keeps to the strictest RDS identifier rules (1 to
63 lowercase letters, digits and single hyphens, starting with a letter, not ending with a hyphen)
so that AWS cannot reject or rewrite it. The APIs have no purchase time either: a line whose
``start`` lies in the future cannot be queued and is refused (buy it on or after its start).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from botocore.exceptions import ClientError

from commitopt.plans import PurchaseLine
from commitopt.purchase_calls import (
    LOOKED_UP,
    TERM_SECONDS,
    AwsCall,
    LineInDoubtError,
    Offering,
    PurchaseError,
)
from pricing.databases import ELASTICACHE, MULTI_AZ, RDS
from pricing.inventory.databases import OWNED_STATES, hourly_recurring_usd
from pricing.readers.aws_api import call_with_backoff, paginate
from pricing.services import service_of

MAX_RESERVATION_ID_LENGTH: Final = 63
_RESERVATION_ID: Final = re.compile(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*")


@dataclass(frozen=True)
class DatabaseApi:
    """How one service sells reservations: its boto3 names, IAM actions and fields.

    Attributes
    ----------
    service
        The boto3 service name (``"rds"``, ``"elasticache"``).
    lookup, lookup_permission, offerings_field, offering_id_field
        The offering look-up: method, IAM action, list field and id field of its answer.
    class_field
        The class parameter and field (``DBInstanceClass``, ``CacheNodeType``).
    purchase, purchase_permission, id_field, count_field, answer_field
        The purchase: method, IAM action, reservation-id and count parameters, answer field.
    describe, describe_permission, reservations_field
        The listing of owned reservations by id.
    already_exists, not_found
        AWS's error codes for an identifier already used, and for none found.
    """

    service: str
    lookup: str
    lookup_permission: str
    offerings_field: str
    offering_id_field: str
    class_field: str
    purchase: str
    purchase_permission: str
    id_field: str
    count_field: str
    answer_field: str
    describe: str
    describe_permission: str
    reservations_field: str
    already_exists: str
    not_found: str


APIS: Final[dict[str, DatabaseApi]] = {
    RDS: DatabaseApi(
        service="rds",
        lookup="describe_reserved_db_instances_offerings",
        lookup_permission="rds:DescribeReservedDBInstancesOfferings",
        offerings_field="ReservedDBInstancesOfferings",
        offering_id_field="ReservedDBInstancesOfferingId",
        class_field="DBInstanceClass",
        purchase="purchase_reserved_db_instances_offering",
        purchase_permission="rds:PurchaseReservedDBInstancesOffering",
        id_field="ReservedDBInstanceId",
        count_field="DBInstanceCount",
        answer_field="ReservedDBInstance",
        describe="describe_reserved_db_instances",
        describe_permission="rds:DescribeReservedDBInstances",
        reservations_field="ReservedDBInstances",
        already_exists="ReservedDBInstanceAlreadyExists",
        not_found="ReservedDBInstanceNotFound",
    ),
    ELASTICACHE: DatabaseApi(
        service="elasticache",
        lookup="describe_reserved_cache_nodes_offerings",
        lookup_permission="elasticache:DescribeReservedCacheNodesOfferings",
        offerings_field="ReservedCacheNodesOfferings",
        offering_id_field="ReservedCacheNodesOfferingId",
        class_field="CacheNodeType",
        purchase="purchase_reserved_cache_nodes_offering",
        purchase_permission="elasticache:PurchaseReservedCacheNodesOffering",
        id_field="ReservedCacheNodeId",
        count_field="CacheNodeCount",
        answer_field="ReservedCacheNode",
        describe="describe_reserved_cache_nodes",
        describe_permission="elasticache:DescribeReservedCacheNodes",
        reservations_field="ReservedCacheNodes",
        already_exists="ReservedCacheNodeAlreadyExists",
        not_found="ReservedCacheNodeNotFound",
    ),
}
"""The API of each database service (CUR product code -> its calls)."""


def database_api(line: PurchaseLine) -> DatabaseApi | None:
    """The API a line is bought with when it reserves database instances or nodes, else ``None``
    (EC2 Reserved Instances and Savings Plans)."""
    if not line.is_reserved_instance:
        return None
    commitment = line.commitment
    return APIS.get(service_of(str(commitment.instance_type), str(commitment.platform)))


def reservation_id(plan_sha256: str, line: int) -> str:
    """The customer-specified reservation id of one plan line: ``commitopt-`` + the first 40 hex
    digits of the plan's SHA-256 + ``-l`` + the line number (lowercase, at most 63 characters).

    Parameters
    ----------
    plan_sha256
        The plan's hash (64 hex digits).
    line
        The line number (1-based).

    Raises
    ------
    PurchaseError
        The id breaks the identifier rules of the module docstring.
    """
    text = f"commitopt-{plan_sha256[:40].lower()}-l{line}"
    if len(text) > MAX_RESERVATION_ID_LENGTH or not _RESERVATION_ID.fullmatch(text):
        raise PurchaseError(f"reservation id for line {line} breaks AWS's identifier rules")
    return text


def _multi_az(line: PurchaseLine) -> bool:
    return line.commitment.tenancy == MULTI_AZ


def lookup_call(line: PurchaseLine, api: DatabaseApi) -> AwsCall:
    """The offering look-up of a database line, in the line's region."""
    c = line.commitment
    parameters: dict[str, Any] = {
        api.class_field: c.instance_type,
        "Duration": str(TERM_SECONDS[c.term_years]),
        "ProductDescription": c.platform,
        "OfferingType": c.payment_option,
    }
    if api.service == "rds":
        parameters["MultiAZ"] = _multi_az(line)
    return AwsCall(api.service, str(c.region), api.lookup, parameters, api.lookup_permission)


def purchase_call(
    line: PurchaseLine,
    api: DatabaseApi,
    reservation: str,
    offering_id: str = LOOKED_UP,
    *,
    queued: datetime | None = None,
) -> AwsCall:
    """The purchase call of a database line.

    Parameters
    ----------
    reservation
        The reservation id (:func:`reservation_id`).
    queued
        The line's start when it lies in the future: refused (the APIs cannot queue).

    Raises
    ------
    PurchaseError
        A future start.
    """
    c = line.commitment
    if queued is not None:
        raise PurchaseError(
            f"line {line.number} ({line.describe()}): starts {queued:%Y-%m-%d %H:%M} UTC, but "
            f"{api.purchase_permission} cannot queue a purchase; buy this line on or after its "
            "start (nothing bought)"
        )
    parameters: dict[str, Any] = {
        api.offering_id_field: offering_id,
        api.id_field: reservation,
        api.count_field: int(c.count or 0),
    }
    return AwsCall(api.service, str(c.region), api.purchase, parameters, api.purchase_permission)


def recorded_call(line: PurchaseLine, api: DatabaseApi, request: Mapping[str, Any]) -> AwsCall:
    """The purchase call a recorded event made (its parameters as recorded)."""
    return AwsCall(
        api.service, str(line.commitment.region), api.purchase, dict(request),
        api.purchase_permission,
    )  # fmt: skip


def _matches_offering(line: PurchaseLine, api: DatabaseApi, item: Mapping[str, Any]) -> bool:
    c = line.commitment
    return (
        str(item.get(api.class_field, c.instance_type)) == c.instance_type
        and str(item.get("ProductDescription", "")).strip().lower() == str(c.platform).lower()
        and int(item.get("Duration", 0)) == TERM_SECONDS[c.term_years]
        and str(item.get("OfferingType", "")) == c.payment_option
        and str(item.get("CurrencyCode") or "USD") == "USD"
        and (api.service != "rds" or bool(item.get("MultiAZ")) == _multi_az(line))
    )


def find_offering(
    line: PurchaseLine,
    api: DatabaseApi,
    client: Any,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Offering:
    """The one live offering of a database line (all pages read, filtered exactly).

    Returns
    -------
    Offering
        Its id, ``FixedPrice`` per instance or node [USD], and ``UsagePrice`` plus the hourly
        ``RecurringCharges`` [USD/h].

    Raises
    ------
    AwsAccessError
        Missing credentials or permission (the IAM action named), still throttled.
    PurchaseError
        No offering, or several, match the line exactly.
    """
    call = lookup_call(line, api)
    found: dict[str, Offering] = {}
    for page in paginate(
        getattr(client, api.lookup),
        permission=call.permission,
        token_in="Marker",
        token_out="Marker",
        sleep=sleep,
        **call.parameters,
    ):
        for item in page.get(api.offerings_field, []):
            if _matches_offering(line, api, item):
                offering_id = str(item[api.offering_id_field])
                found[offering_id] = Offering(
                    offering_id, float(item.get("FixedPrice") or 0.0), hourly_recurring_usd(item)
                )
    if len(found) != 1:
        problem = "no such offering" if not found else f"several offerings ({', '.join(found)})"
        raise PurchaseError(
            f"line {line.number} ({line.describe()}): {call.permission} in "
            f"{line.commitment.region} returned {problem}; nothing bought"
        )
    return next(iter(found.values()))


def error_code(error: BaseException | None) -> str:
    """The AWS error code of a botocore ``ClientError`` (else ``""``)."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


def describe_reservation(
    line: PurchaseLine,
    api: DatabaseApi,
    client: Any,
    reservation: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Mapping[str, Any] | None:
    """The account's reservation with this id, or ``None`` when AWS has none (``NotFound``).

    Raises
    ------
    AwsAccessError
        Missing credentials or permission, still throttled.
    """

    def describe(**parameters: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = getattr(client, api.describe)(**parameters)
            return answer
        except ClientError as error:
            if error_code(error) == api.not_found:
                return {}
            raise

    filters: dict[str, Any] = {api.id_field: reservation}
    answer = call_with_backoff(describe, permission=api.describe_permission, sleep=sleep, **filters)
    items = [
        item
        for item in answer.get(api.reservations_field, [])
        if str(item.get(api.id_field, "")).lower() == reservation.lower()
    ]
    return items[0] if items else None


def confirm_reservation(
    line: PurchaseLine, api: DatabaseApi, item: Mapping[str, Any], reservation: str
) -> str:
    """The id of a found reservation that is the line's purchase.

    Raises
    ------
    LineInDoubtError
        It differs from the line (class, product description, deployment, offering type, term
        or count) or is not owned (``retired``, ``payment-failed``): a person must look.
    """
    c = line.commitment
    state = str(item.get("State", "active"))
    problems = []
    if not _matches_offering(line, api, item):
        problems.append(
            f"it is {item.get(api.class_field)} {item.get('ProductDescription')} "
            f"{item.get('OfferingType')} for {item.get('Duration')} s"
            + (f", Multi-AZ {item.get('MultiAZ')}" if api.service == "rds" else "")
        )
    if int(item.get(api.count_field, 0)) != int(c.count or 0):
        problems.append(f"it reserves {item.get(api.count_field)}, the line {c.count}")
    if state not in OWNED_STATES:
        problems.append(f"its state is {state}")
    if problems:
        raise LineInDoubtError(
            f"line {line.number} ({line.describe()}): AWS already has reservation {reservation} "
            f"but {'; '.join(problems)}: check it in the {api.service.upper()} console; nothing "
            "bought"
        )
    return str(item.get(api.id_field, reservation))


def bought_id(api: DatabaseApi, answer: Mapping[str, Any], reservation: str) -> str:
    """The reservation id a purchase answered with (the id asked for when it says none)."""
    return str((answer.get(api.answer_field) or {}).get(api.id_field) or reservation)


__all__ = [
    "APIS",
    "DatabaseApi",
    "bought_id",
    "confirm_reservation",
    "database_api",
    "describe_reservation",
    "error_code",
    "find_offering",
    "lookup_call",
    "purchase_call",
    "recorded_call",
    "reservation_id",
]
