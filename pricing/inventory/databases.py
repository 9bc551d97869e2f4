"""Owned database reservations from AWS: RDS reserved DB instances and ElastiCache reserved nodes.

Both become :class:`~pricing.inventory.commitments.Commitment` items of kind
``reserved_instance``, in the key vocabulary EC2 RIs use (:mod:`pricing.services`): the DB instance
class or cache node type as ``instance_type``, the reservation's product description as
``platform`` (:data:`pricing.databases.DATABASE_PLATFORMS`) and the deployment as ``tenancy``.

Sources (AWS API Reference; the same facts are in botocore's service models):

* `DescribeReservedDBInstances
  <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeReservedDBInstances.html>`_
  pages with ``Marker`` and answers ``ReservedDBInstanceId``, ``DBInstanceClass``, ``StartTime``,
  ``Duration`` [s], ``FixedPrice``, ``UsagePrice``, ``RecurringCharges``, ``DBInstanceCount``,
  ``ProductDescription``, ``OfferingType``, ``MultiAZ`` and ``State``. A reservation is regional:
  it is listed by the client of its region.
* `DescribeReservedCacheNodes
  <https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_DescribeReservedCacheNodes.html>`_
  the same for ElastiCache (``ReservedCacheNodeId``, ``CacheNodeType``, ``CacheNodeCount``; no
  currency code and no Multi-AZ flag: each node is reserved one by one).

Reservations in states other than ``active`` and ``payment-pending`` (``retired``,
``payment-failed``) are not owned capacity; they and reservations whose product description or
offering type commitopt does not model yet (Oracle, SQL Server, the legacy *Heavy Utilization*
offerings, ...) are left out and counted by reason in :attr:`Inventory.notes`, never dropped
silently.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from core.errors import CommitoptInputError
from core.times import utc_datetime
from pricing.databases import (
    CACHE_NODE,
    ELASTICACHE,
    MEMORYDB,
    MULTI_AZ,
    OPENSEARCH,
    RDS,
    REDSHIFT,
    RESERVABLE_PLATFORM_SERVICE,
    RESERVATION_PLATFORMS,
    SINGLE_AZ,
)
from pricing.inventory.commitments import Commitment, Inventory, InventoryError
from pricing.inventory.values import iso, parse_count, ri_effective_hourly_usd, term_end
from pricing.offerings import CommitmentKind, parse_payment_option, parse_term_years
from pricing.readers.aws_api import paginate
from pricing.regions import check_region
from pricing.services import units_per_instance_hour

RESERVABLE_DEPLOYMENTS: Final[dict[str, tuple[str, ...]]] = {
    RDS: (SINGLE_AZ, MULTI_AZ),
    ELASTICACHE: (CACHE_NODE,),
    OPENSEARCH: (CACHE_NODE,),
    REDSHIFT: (CACHE_NODE,),
    MEMORYDB: (CACHE_NODE,),
}
"""Deployments a reservation of each service is sold for. A Multi-AZ DB cluster has no
reservation of its own: AWS covers it with three Single-AZ reservations, or one Multi-AZ and one
Single-AZ (Amazon RDS User Guide, "Purchasing reserved DB instances for Amazon RDS")."""

OWNED_STATES: Final = ("active", "payment-pending", "pending-payment")
"""Reservation states that are (or are about to be) owned capacity (Redshift spells the second
``pending-payment``)."""

RDS_LIST: Final = "rds:DescribeReservedDBInstances"
ELASTICACHE_LIST: Final = "elasticache:DescribeReservedCacheNodes"
OPENSEARCH_LIST: Final = "es:DescribeReservedInstances"
REDSHIFT_LIST: Final = "redshift:DescribeReservedNodes"
MEMORYDB_LIST: Final = "memorydb:DescribeReservedNodes"


def parse_database_platform(value: object, service: str) -> str:
    """A database reservation's product description (``aurora-mysql``, ``redis``, ...) for
    ``service``; case-insensitive.

    Raises
    ------
    CommitoptInputError
        Not a product description of ``service`` in :data:`DATABASE_PLATFORMS` that
        reservations are sold for (``memorydb-valkey`` is not: MemoryDB's ``memorydb``
        reserved nodes cover Valkey nodes).
    """
    text = str(value).strip().lower()
    names = [p for p, s in RESERVABLE_PLATFORM_SERVICE.items() if s == service]
    if text in RESERVATION_PLATFORMS:
        raise CommitoptInputError(
            f"no reservation is sold for {text} ({service} sells none for it); "
            f"{RESERVATION_PLATFORMS[text]} reservations cover it, so use {', '.join(names)}"
        )
    if text not in names:
        raise CommitoptInputError(
            f"unknown {service} product description {value!r}; use {', '.join(names)}"
        )
    return text


def parse_deployment(value: object, service: str) -> str:
    """A reservable deployment of ``service`` (``Single-AZ``, ``Multi-AZ``; ``Node``);
    case-insensitive.

    Raises
    ------
    CommitoptInputError
        Another deployment; a Multi-AZ DB cluster is named as covered by other reservations.
    """
    allowed = RESERVABLE_DEPLOYMENTS[service]
    found = next((d for d in allowed if d.lower() == str(value).strip().lower()), None)
    if found is None:
        extra = (
            " (a Multi-AZ DB cluster is covered by three Single-AZ reservations, or one Multi-AZ "
            "and one Single-AZ)"
            if str(value).strip().lower() == "multi-az db cluster"
            else ""
        )
        raise CommitoptInputError(
            f"{value!r} is not a deployment {service} reservations are sold for; use "
            f"{' or '.join(allowed)}{extra}"
        )
    return found


def database_units(instance_type: str, deployment: str) -> float:
    """Normalized units of one reserved instance or node: the size's units times the
    deployment's (:data:`pricing.databases.DEPLOYMENT_UNITS`: Multi-AZ twice); one per
    OpenSearch instance or Redshift node (:func:`pricing.services.units_per_instance_hour`)."""
    return float(units_per_instance_hour([instance_type], [deployment])[0])


@dataclass(frozen=True)
class _Api:
    """How one service lists its reservations."""

    service: str
    operation: str
    permission: str
    items: str
    id_field: str
    class_field: str
    count_field: str
    token: str = "Marker"
    payment_field: str = "OfferingType"
    platform: str | None = None
    """The one platform of a service whose reservations carry no product description."""


_RDS_API: Final = _Api(
    RDS,
    "describe_reserved_db_instances",
    RDS_LIST,
    "ReservedDBInstances",
    "ReservedDBInstanceId",
    "DBInstanceClass",
    "DBInstanceCount",
)
_ELASTICACHE_API: Final = _Api(
    ELASTICACHE,
    "describe_reserved_cache_nodes",
    ELASTICACHE_LIST,
    "ReservedCacheNodes",
    "ReservedCacheNodeId",
    "CacheNodeType",
    "CacheNodeCount",
)
_OPENSEARCH_API: Final = _Api(
    OPENSEARCH,
    "describe_reserved_instances",
    OPENSEARCH_LIST,
    "ReservedInstances",
    "ReservedInstanceId",
    "InstanceType",
    "InstanceCount",
    token="NextToken",
    payment_field="PaymentOption",
    platform="opensearch",
)
_REDSHIFT_API: Final = _Api(
    REDSHIFT,
    "describe_reserved_nodes",
    REDSHIFT_LIST,
    "ReservedNodes",
    "ReservedNodeId",
    "NodeType",
    "NodeCount",
    platform="redshift",
)
_MEMORYDB_API: Final = _Api(
    MEMORYDB,
    "describe_reserved_nodes",
    MEMORYDB_LIST,
    "ReservedNodes",
    "ReservationId",
    "NodeType",
    "NodeCount",
    token="NextToken",
    platform="memorydb",
)


def hourly_recurring_usd(reservation: Mapping[str, Any]) -> float:
    """``UsagePrice`` plus the hourly ``RecurringCharges`` of a reservation or offering [USD/h]."""
    charges = reservation.get("RecurringCharges") or []
    hourly = sum(
        float(charge.get("RecurringChargeAmount", 0.0))
        for charge in charges
        if str(charge.get("RecurringChargeFrequency", "Hourly")) == "Hourly"
    )
    return hourly + float(reservation.get("UsagePrice") or 0.0)


def _deployment(api: _Api, reservation: Mapping[str, Any]) -> str:
    if api.service != RDS:
        return CACHE_NODE
    return MULTI_AZ if reservation.get("MultiAZ") else SINGLE_AZ


def _commitment(
    api: _Api, reservation: Mapping[str, Any], region: str, now: datetime
) -> Commitment:
    reservation_id = str(reservation[api.id_field])
    currency = str(reservation.get("CurrencyCode") or "USD")
    if currency != "USD":
        raise CommitoptInputError(f"priced in {currency}; commitopt works in USD only")
    instance_type = str(reservation[api.class_field])
    deployment = _deployment(api, reservation)
    count = parse_count(reservation[api.count_field])
    term_years = parse_term_years(reservation["Duration"])
    start = utc_datetime(reservation["StartTime"])
    upfront = float(reservation.get("FixedPrice") or 0.0) * count
    recurring = hourly_recurring_usd(reservation)
    return Commitment(
        kind=CommitmentKind.RESERVED_INSTANCE,
        id=reservation_id,
        start=start,
        end=term_end(start, term_years),
        term_years=term_years,
        payment_option=parse_payment_option(str(reservation[api.payment_field])),
        upfront_usd=upfront,
        region=region,
        instance_type=instance_type,
        platform=_platform(api, reservation),
        tenancy=deployment,
        scope="Region",
        offering_class="standard",
        count=count,
        normalized_units=count * database_units(instance_type, deployment),
        recurring_usd_per_hour=recurring,
        effective_usd_per_hour=ri_effective_hourly_usd(upfront, recurring, count, term_years),
        source=f"{api.permission} {region} {iso(now)}",
    )


def _platform(api: _Api, reservation: Mapping[str, Any]) -> str:
    if api.platform is not None:
        return api.platform
    return parse_database_platform(reservation["ProductDescription"], api.service)


def _skip_reason(api: _Api, reservation: Mapping[str, Any]) -> str | None:
    """Why a listed reservation is not an owned commitment commitopt models (``None``: it is)."""
    state = str(reservation.get("State", "active"))
    if state not in OWNED_STATES:
        return f"in state {state}"
    if api.platform is None:
        description = str(reservation.get("ProductDescription", "")).strip().lower()
        modelled = {p for p, s in RESERVABLE_PLATFORM_SERVICE.items() if s == api.service}
        if description not in modelled:
            return f"product description {description or '(none)'} not modelled yet"
    try:
        parse_payment_option(str(reservation.get(api.payment_field, "")))
    except CommitoptInputError:
        return f"offering type {reservation.get(api.payment_field)} not modelled"
    return None


def _fetch(api: _Api, client: Any, region: str | None, sleep: Callable[[float], None]) -> Inventory:
    now = datetime.now(UTC)
    where = region or getattr(getattr(client, "meta", None), "region_name", None)
    if not where:
        raise InventoryError(f"{api.permission}: the client has no region; pass one")
    check_region(where)
    pages = paginate(
        getattr(client, api.operation),
        permission=api.permission,
        token_in=api.token,
        token_out=api.token,
        sleep=sleep,
    )
    kept: list[Commitment] = []
    skipped: dict[str, int] = {}
    for page in pages:
        for reservation in page.get(api.items, []):
            reason = _skip_reason(api, reservation)
            if reason is not None:
                skipped[reason] = skipped.get(reason, 0) + 1
                continue
            name = f"{api.permission}: reservation {reservation.get(api.id_field, '?')}"
            try:
                kept.append(_commitment(api, reservation, where, now))
            except KeyError as error:
                raise InventoryError(f"{name} lacks {error.args[0]}") from error
            except CommitoptInputError as error:
                raise InventoryError(f"{name}: {error}") from error
    notes = tuple(
        f"left out {count} {api.service} reservation(s) in {where}: {reason}"
        for reason, count in sorted(skipped.items())
    )
    return Inventory(tuple(kept), now, notes)


def fetch_reserved_db_instances(
    rds_client: Any, *, region: str | None = None, sleep: Callable[[float], None] = time.sleep
) -> Inventory:
    """Read the region's RDS and Aurora reservations with ``rds:DescribeReservedDBInstances``.

    Parameters
    ----------
    rds_client
        A boto3 ``rds`` client; reservations are regional, its region is theirs.
    region
        The region [default: the client's].
    sleep
        Backoff sleep, injected for tests.

    Returns
    -------
    Inventory
        One ``reserved_instance`` item per reservation in state ``active`` or
        ``payment-pending`` (``tenancy`` ``Multi-AZ`` when ``MultiAZ`` is true, else
        ``Single-AZ``); the others counted by reason in ``notes``.

    Raises
    ------
    AwsAccessError
        Credentials missing, permission denied, or still throttled after retries.
    InventoryError
        A modelled reservation that cannot be read (missing field, currency other than USD).
    """
    return _fetch(_RDS_API, rds_client, region, sleep)


def fetch_reserved_cache_nodes(
    elasticache_client: Any,
    *,
    region: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Inventory:
    """Read the region's ElastiCache reserved nodes with
    ``elasticache:DescribeReservedCacheNodes``.

    Parameters
    ----------
    elasticache_client
        A boto3 ``elasticache`` client; its region is the reservations'.
    region
        The region [default: the client's].
    sleep
        Backoff sleep, injected for tests.

    Returns
    -------
    Inventory
        One ``reserved_instance`` item per reservation (``tenancy`` ``Node``); reservations not
        owned or not modelled counted by reason in ``notes``.

    Raises
    ------
    AwsAccessError
        Credentials missing, permission denied, or still throttled after retries.
    InventoryError
        A modelled reservation that cannot be read.
    """
    return _fetch(_ELASTICACHE_API, elasticache_client, region, sleep)


def fetch_reserved_search_instances(
    opensearch_client: Any,
    *,
    region: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Inventory:
    """Read the region's OpenSearch Service reserved instances with
    ``es:DescribeReservedInstances`` (``NextToken`` pages; ``PaymentOption`` ``NO_UPFRONT``, ...).

    Parameters
    ----------
    opensearch_client
        A boto3 ``opensearch`` client; its region is the reservations'.
    region
        The region [default: the client's].
    sleep
        Backoff sleep, injected for tests.

    Returns
    -------
    Inventory
        One ``reserved_instance`` item per owned reservation (``platform`` ``opensearch``,
        ``tenancy`` ``Node``, one unit per instance); the others counted by reason in ``notes``.

    Raises
    ------
    AwsAccessError
        Credentials missing, permission denied, or still throttled after retries.
    InventoryError
        A reservation that cannot be read.
    """
    return _fetch(_OPENSEARCH_API, opensearch_client, region, sleep)


def fetch_reserved_redshift_nodes(
    redshift_client: Any,
    *,
    region: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Inventory:
    """Read the region's Redshift reserved nodes with ``redshift:DescribeReservedNodes``
    (``Marker`` pages; state ``pending-payment`` counts as owned).

    Parameters
    ----------
    redshift_client
        A boto3 ``redshift`` client; its region is the reservations'.
    region
        The region [default: the client's].
    sleep
        Backoff sleep, injected for tests.

    Returns
    -------
    Inventory
        One ``reserved_instance`` item per owned reservation (``platform`` ``redshift``,
        ``tenancy`` ``Node``, one unit per node); the others counted by reason in ``notes``.

    Raises
    ------
    AwsAccessError
        Credentials missing, permission denied, or still throttled after retries.
    InventoryError
        A reservation that cannot be read.
    """
    return _fetch(_REDSHIFT_API, redshift_client, region, sleep)


def fetch_reserved_memorydb_nodes(
    memorydb_client: Any,
    *,
    region: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Inventory:
    """Read the region's MemoryDB reserved nodes with ``memorydb:DescribeReservedNodes``
    (``NextToken`` pages; no currency code: USD).

    Parameters
    ----------
    memorydb_client
        A boto3 ``memorydb`` client; its region is the reservations'.
    region
        The region [default: the client's].
    sleep
        Backoff sleep, injected for tests.

    Returns
    -------
    Inventory
        One ``reserved_instance`` item per owned reservation (``platform`` ``memorydb``,
        ``tenancy`` ``Node``, the size's units); the others counted by reason in ``notes``.

    Raises
    ------
    AwsAccessError
        Credentials missing, permission denied, or still throttled after retries.
    InventoryError
        A reservation that cannot be read.
    """
    return _fetch(_MEMORYDB_API, memorydb_client, region, sleep)


__all__ = [
    "OWNED_STATES",
    "RESERVABLE_DEPLOYMENTS",
    "database_units",
    "fetch_reserved_cache_nodes",
    "fetch_reserved_db_instances",
    "fetch_reserved_memorydb_nodes",
    "fetch_reserved_redshift_nodes",
    "fetch_reserved_search_instances",
    "hourly_recurring_usd",
    "parse_database_platform",
    "parse_deployment",
]
