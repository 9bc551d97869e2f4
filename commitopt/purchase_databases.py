"""Database reservations bought with their own service's API: RDS, ElastiCache, OpenSearch,
Redshift and MemoryDB.

A plan's ``reserved_instance`` line whose key belongs to one of these services
(:func:`pricing.services.service_of` of its ``instance_type`` and ``platform``: ``db.r4.large``,
``cache.r6g.large``, ``r6g.large.search``, ``ra3.xlplus``; ``db.r6g.large`` with platform
``memorydb``) is bought here; :mod:`commitopt.purchase` dispatches to this module and keeps the
same guards (approval, price tolerance, one line recorded before the next, settling a line an
interrupted run left in doubt).

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
* OpenSearch (IAM prefix ``es:``): ``DescribeReservedInstanceOfferings`` filters by offering id
  only, so every offering is listed (``NextToken`` pages) and filtered here on ``InstanceType``,
  ``Duration`` [s], ``PaymentOption`` (``NO_UPFRONT``, ``PARTIAL_UPFRONT``, ``ALL_UPFRONT``) and
  currency; ``PurchaseReservedInstanceOffering`` with ``ReservedInstanceOfferingId``,
  ``ReservationName`` (5 to 64 characters) and ``InstanceCount``.
* Redshift: ``DescribeReservedNodeOfferings`` likewise lists every offering (``Marker``), filtered
  on ``NodeType``, ``Duration``, ``OfferingType``, currency and ``ReservedNodeOfferingType``
  ``Regular`` (the ``Upgradable`` ones are for moving DC1 nodes); ``PurchaseReservedNodeOffering``
  with ``ReservedNodeOfferingId`` and ``NodeCount``: no client token, no reservation id.
* MemoryDB: ``DescribeReservedNodesOfferings`` with ``NodeType``, ``Duration`` and
  ``OfferingType`` (no product description, no currency); ``PurchaseReservedNodesOffering``
  with ``ReservedNodesOfferingId``, ``ReservationId`` and ``NodeCount``.
* An exact-size RDS engine (``sqlserver-se(li)``, ``oracle-se2(li)``, ...) is looked up like any
  RDS line: its product description and ``MultiAZ`` = the key's deployment is ``Multi-AZ``.

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

MemoryDB works the same way (``ReservationId``; ``ReservedNodeAlreadyExistsFault``,
``ReservedNodeNotFoundFault``). OpenSearch's ``ReservationName`` is customer-specified too, but its
API documents neither refusing a name already used nor a look-up by name: before every purchase
(and to settle a line in doubt) ``DescribeReservedInstances`` is read in full and a reservation
under the line's name is taken as its purchase (once it matches the line), so a retry never buys
twice. Redshift's purchase names nothing: a line in doubt is settled from its ``submitted``
record (:func:`reservations_bought_since`, and :func:`commitopt.purchase._settle_redshift` for
the rule).

The API reference gives no character rules for these identifiers (its example is
``myreservationID``); :func:`reservation_id` keeps to the strictest RDS identifier rules (1 to
63 lowercase letters, digits and single hyphens, starting with a letter, not ending with a hyphen)
so that AWS cannot reject or rewrite it. The APIs have no purchase time either: a line whose
``start`` lies in the future cannot be queued and is refused (buy it on or after its start).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
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
from pricing.databases import ELASTICACHE, MEMORYDB, MULTI_AZ, OPENSEARCH, RDS, REDSHIFT
from pricing.inventory.databases import OWNED_STATES, hourly_recurring_usd
from pricing.readers.aws_api import paginate
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
        AWS's error codes for an identifier already used, and for none found (``""``: none).
    payment_field, payment_values
        The field of the payment option, and the API's spelling of each (OpenSearch's
        ``NO_UPFRONT``; empty: AWS spells it as commitopt does, ``No Upfront``).
    product_field
        The product-description field (``None``: the service has one platform, named by the
        key's, and its API has no such field).
    token
        The paging token of the look-up and of the listing (``Marker``, ``NextToken``).
    filters_lookup
        Whether the look-up filters by class, duration and offering type (OpenSearch and
        Redshift filter by offering id only: every offering is listed, then filtered here).
    describe_by_id
        Whether the listing filters by reservation id (OpenSearch lists them all).
    check_before_buying
        Whether the reservation id is looked up before every purchase (OpenSearch, whose API does
        not document refusing a reservation name already used).
    answer_id_field
        The id of the bought reservation in the purchase's answer (AWS's id where the
        customer-specified one is a name).
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
    answer_id_field: str
    payment_field: str = "OfferingType"
    payment_values: Mapping[str, str] = field(default_factory=dict)
    product_field: str | None = "ProductDescription"
    token: str = "Marker"
    filters_lookup: bool = True
    describe_by_id: bool = True
    check_before_buying: bool = False

    @property
    def has_reservation_id(self) -> bool:
        """Whether the purchase names the reservation (all but Redshift)."""
        return bool(self.id_field)

    def payment(self, payment_option: str) -> str:
        """The API's spelling of a payment option (``No Upfront`` -> ``NO_UPFRONT``)."""
        return self.payment_values.get(payment_option, payment_option)


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
        answer_id_field="ReservedDBInstanceId",
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
        answer_id_field="ReservedCacheNodeId",
    ),
    OPENSEARCH: DatabaseApi(
        service="opensearch",
        lookup="describe_reserved_instance_offerings",
        lookup_permission="es:DescribeReservedInstanceOfferings",
        offerings_field="ReservedInstanceOfferings",
        offering_id_field="ReservedInstanceOfferingId",
        class_field="InstanceType",
        purchase="purchase_reserved_instance_offering",
        purchase_permission="es:PurchaseReservedInstanceOffering",
        id_field="ReservationName",
        count_field="InstanceCount",
        answer_field="",
        describe="describe_reserved_instances",
        describe_permission="es:DescribeReservedInstances",
        reservations_field="ReservedInstances",
        already_exists="ResourceAlreadyExistsException",
        not_found="",
        answer_id_field="ReservedInstanceId",
        payment_field="PaymentOption",
        payment_values={
            "No Upfront": "NO_UPFRONT",
            "Partial Upfront": "PARTIAL_UPFRONT",
            "All Upfront": "ALL_UPFRONT",
        },
        product_field=None,
        token="NextToken",
        filters_lookup=False,
        describe_by_id=False,
        check_before_buying=True,
    ),
    REDSHIFT: DatabaseApi(
        service="redshift",
        lookup="describe_reserved_node_offerings",
        lookup_permission="redshift:DescribeReservedNodeOfferings",
        offerings_field="ReservedNodeOfferings",
        offering_id_field="ReservedNodeOfferingId",
        class_field="NodeType",
        purchase="purchase_reserved_node_offering",
        purchase_permission="redshift:PurchaseReservedNodeOffering",
        id_field="",
        count_field="NodeCount",
        answer_field="ReservedNode",
        describe="describe_reserved_nodes",
        describe_permission="redshift:DescribeReservedNodes",
        reservations_field="ReservedNodes",
        already_exists="",
        not_found="ReservedNodeNotFound",
        answer_id_field="ReservedNodeId",
        product_field=None,
        filters_lookup=False,
        describe_by_id=False,
    ),
    MEMORYDB: DatabaseApi(
        service="memorydb",
        lookup="describe_reserved_nodes_offerings",
        lookup_permission="memorydb:DescribeReservedNodesOfferings",
        offerings_field="ReservedNodesOfferings",
        offering_id_field="ReservedNodesOfferingId",
        class_field="NodeType",
        purchase="purchase_reserved_nodes_offering",
        purchase_permission="memorydb:PurchaseReservedNodesOffering",
        id_field="ReservationId",
        count_field="NodeCount",
        answer_field="ReservedNode",
        describe="describe_reserved_nodes",
        describe_permission="memorydb:DescribeReservedNodes",
        reservations_field="ReservedNodes",
        already_exists="ReservedNodeAlreadyExistsFault",
        not_found="ReservedNodeNotFoundFault",
        answer_id_field="ReservationId",
        product_field=None,
        token="NextToken",
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
    """The offering look-up of a database line, in the line's region (OpenSearch and Redshift:
    no filter, every offering is listed and filtered by :func:`find_offering`)."""
    c = line.commitment
    parameters: dict[str, Any] = {}
    if api.filters_lookup:
        parameters[api.class_field] = c.instance_type
        parameters["Duration"] = str(TERM_SECONDS[c.term_years])
        if api.product_field:
            parameters[api.product_field] = c.platform
        parameters[api.payment_field] = api.payment(str(c.payment_option))
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
        The reservation id (:func:`reservation_id`); Redshift's purchase names none.
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
    parameters: dict[str, Any] = {api.offering_id_field: offering_id}
    if api.has_reservation_id:
        parameters[api.id_field] = reservation
    parameters[api.count_field] = int(c.count or 0)
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
        and (
            api.product_field is None
            or str(item.get(api.product_field, "")).strip().lower() == str(c.platform).lower()
        )
        and int(item.get("Duration", 0)) == TERM_SECONDS[c.term_years]
        and str(item.get(api.payment_field, "")) == api.payment(str(c.payment_option))
        and str(item.get("CurrencyCode") or "USD") == "USD"
        and (api.service != "rds" or bool(item.get("MultiAZ")) == _multi_az(line))
        # Redshift's "Upgradable" offerings are for moving DC1 nodes to DC2: not bought here
        and str(item.get("ReservedNodeOfferingType") or "Regular") == "Regular"
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
        token_in=api.token,
        token_out=api.token,
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
    """The account's reservation with this id, or ``None`` when AWS has none (``NotFound``, or
    for OpenSearch none of its reservations, all pages read, carries this name).

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
            if api.not_found and error_code(error) == api.not_found:
                return {}
            raise

    filters: dict[str, Any] = {api.id_field: reservation} if api.describe_by_id else {}
    pages = paginate(
        describe,
        permission=api.describe_permission,
        token_in=api.token,
        token_out=api.token,
        sleep=sleep,
        **filters,
    )
    items = [
        item
        for page in pages
        for item in page.get(api.reservations_field, [])
        if str(item.get(api.id_field, "")).lower() == reservation.lower()
    ]
    return items[0] if items else None


def reservations_bought_since(
    line: PurchaseLine,
    api: DatabaseApi,
    client: Any,
    offering_id: str,
    since: datetime,
    taken: Collection[str],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Ids of the reservations that may be a Redshift line's purchase: of the recorded offering
    (and the line's node type, term and payment), its count, owned, started at or after
    ``since``, and not recorded as another line's purchase.

    Raises
    ------
    AwsAccessError
        Missing credentials or permission, still throttled.
    """
    found = []
    for page in paginate(
        getattr(client, api.describe),
        permission=api.describe_permission,
        token_in=api.token,
        token_out=api.token,
        sleep=sleep,
    ):
        for item in page.get(api.reservations_field, []):
            start = item.get("StartTime")
            if (
                (offering_id == LOOKED_UP or str(item.get(api.offering_id_field)) == offering_id)
                and _matches_offering(line, api, item)
                and int(item.get(api.count_field, 0)) == int(line.commitment.count or 0)
                and str(item.get("State", "active")) in OWNED_STATES
                and (not isinstance(start, datetime) or start >= since)
                and str(item.get(api.answer_id_field)) not in taken
            ):
                found.append(str(item[api.answer_id_field]))
    return found


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
    return str(item.get(api.answer_id_field) or reservation)


def bought_id(api: DatabaseApi, answer: Mapping[str, Any], reservation: str) -> str:
    """The reservation id a purchase answered with (the id asked for when it says none)."""
    bought = (answer.get(api.answer_field) or {}) if api.answer_field else answer
    return str(bought.get(api.answer_id_field) or reservation)


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
    "reservations_bought_since",
]
