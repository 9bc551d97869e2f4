"""Reserved database offerings as AWS's describe APIs return them, mapped to catalog rows.

Five regional APIs list what can be reserved and at what price (field names checked against
botocore's service models):

* RDS ``DescribeReservedDBInstancesOfferings`` (boto3
  ``rds.describe_reserved_db_instances_offerings``): each ``ReservedDBInstancesOffering`` has
  ``DBInstanceClass``, ``Duration`` [s], ``FixedPrice`` [USD], ``UsagePrice`` [USD/h],
  ``CurrencyCode``, ``ProductDescription`` ("the database engine used by the offering"),
  ``OfferingType`` (``No Upfront``, ``Partial Upfront``, ``All Upfront``), ``MultiAZ`` and
  ``RecurringCharges`` (``RecurringChargeAmount``, ``RecurringChargeFrequency`` ``Hourly``).
  Source: Amazon RDS API Reference, "ReservedDBInstancesOffering",
  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ReservedDBInstancesOffering.html
  (``Duration`` filter values ``1 | 3 | 31536000 | 94608000``:
  "DescribeReservedDBInstancesOfferings", same reference).
* ElastiCache ``DescribeReservedCacheNodesOfferings`` (boto3
  ``elasticache.describe_reserved_cache_nodes_offerings``): each ``ReservedCacheNodesOffering``
  has ``CacheNodeType``, ``Duration`` [s], ``FixedPrice``, ``UsagePrice``, ``ProductDescription``
  ("the cache engine used by the offering"), ``OfferingType`` and ``RecurringCharges``; no
  currency and no deployment (every node is reserved one by one). Source: Amazon ElastiCache API
  Reference, "ReservedCacheNodesOffering",
  https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_ReservedCacheNodesOffering.html
* OpenSearch ``DescribeReservedInstanceOfferings``
  (``opensearch.describe_reserved_instance_offerings``): ``ReservedInstanceOfferings`` with
  ``InstanceType`` (``r6g.large.search``), ``Duration`` [s], ``FixedPrice``, ``UsagePrice``,
  ``CurrencyCode``, ``PaymentOption`` (``NO_UPFRONT``, ``PARTIAL_UPFRONT``, ``ALL_UPFRONT``) and
  ``RecurringCharges``.
* Redshift ``DescribeReservedNodeOfferings`` (``redshift.describe_reserved_node_offerings``):
  ``ReservedNodeOfferings`` with ``NodeType`` (``ra3.xlplus``), ``Duration``, ``FixedPrice``,
  ``UsagePrice``, ``CurrencyCode``, ``OfferingType`` (``No Upfront``, ... and the legacy
  ``Heavy Utilization``...), ``RecurringCharges`` and ``ReservedNodeOfferingType`` (``Regular``,
  ``Upgradable``; only ``Regular`` offerings, or offerings without the field, are read).
* MemoryDB ``DescribeReservedNodesOfferings`` (``memorydb.describe_reserved_nodes_offerings``):
  ``ReservedNodesOfferings`` with ``NodeType`` (``db.r6g.large``), ``Duration``, ``FixedPrice``,
  ``OfferingType`` and ``RecurringCharges``; no currency, no usage price.

OpenSearch, Redshift and MemoryDB offerings carry no product description: their platform is
the service's (``opensearch``, ``redshift``, ``memorydb``), their tenancy ``Node``.

Product descriptions
--------------------
A database key's ``platform`` *is* the offering's product description
(:data:`pricing.databases.DATABASE_PLATFORMS`). The spellings were checked against: the RDS
example values "postgresql, aurora-postgresql, mysql, aurora-mysql, mariadb" of the
``productDescription`` argument of Pulumi's AWS data source ``rds.getReservedInstanceOffering``
(documented in the Dart binding,
https://pub.dev/documentation/pulumi_aws/latest/rds/GetReservedInstanceOfferingArgs-class.html;
the data source passes it to this API) and the AWS SDK for Kotlin sample
``productDescription = "oracle"``; for ElastiCache ``"redis"`` (the example of Pulumi's
``elasticache.getReservedCacheNodeOffering``, ``cache.t4g.small``,
https://www.pulumi.com/registry/packages/aws-v6/api-docs/elasticache/getreservedcachenodeoffering).
``"valkey"`` and ``"memcached"`` follow the same lower-case engine spelling; no AWS page listing
them was found, so an offering spelled otherwise is counted as unmapped, never guessed. Older
ElastiCache offerings say ``"redis"`` for what is now Redis OSS; the platform is ``redis`` either
way.

Rows left out
-------------
Offerings of unmapped engines (Db2, ``aurora`` for Aurora MySQL 1, ...), durations other than 1
or 3 years, the legacy utilisation offerings (``Heavy Utilization``, ...), unknown payment
options, Redshift ``Upgradable`` offerings, non-USD currencies, non-hourly recurring charges,
unknown classes and repeated offerings are skipped and **counted by reason**
(:class:`DatabaseOfferingRows`); the counts go into the catalog's notes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from pricing.catalog import KEY_COLUMNS, RESERVED_OFFERING_COLUMNS
from pricing.databases import (
    CACHE_NODE,
    ELASTICACHE,
    EXACT_SIZE_SERVICES,
    MEMORYDB,
    MULTI_AZ,
    OPENSEARCH,
    RDS,
    REDSHIFT,
    RESERVABLE_PLATFORM_SERVICE,
    SERVICE_NAMES,
    SINGLE_AZ,
)
from pricing.errors import PriceFileError, UnknownInstanceTypeError
from pricing.instance_types import normalization_factor
from pricing.offerings import PAYMENT_OPTIONS, TERM_HOURS
from pricing.readers.database_platforms import FIXED_PLATFORMS, MEMORYDB_PLATFORM, names_a_class_of

SECONDS_PER_TERM_YEAR: Final = 31_536_000
"""Seconds in one year of a reservation's ``Duration`` (365 days; 3 years = 94,608,000 s)."""

DURATION_TERM_YEARS: Final[dict[int, int]] = {
    years * SECONDS_PER_TERM_YEAR: years for years in TERM_HOURS
}
"""``Duration`` [s] -> term [years]: 31,536,000 -> 1, 94,608,000 -> 3."""

CLASS_FIELDS: Final[dict[str, str]] = {
    RDS: "DBInstanceClass",
    ELASTICACHE: "CacheNodeType",
    OPENSEARCH: "InstanceType",
    REDSHIFT: "NodeType",
    MEMORYDB: "NodeType",
}
"""The field naming an offering's class or node type, per service."""

ID_FIELDS: Final[dict[str, str]] = {
    RDS: "ReservedDBInstancesOfferingId",
    ELASTICACHE: "ReservedCacheNodesOfferingId",
    OPENSEARCH: "ReservedInstanceOfferingId",
    REDSHIFT: "ReservedNodeOfferingId",
    MEMORYDB: "ReservedNodesOfferingId",
}
"""The field naming an offering, per service (used in errors)."""

OPENSEARCH_PAYMENT_OPTIONS: Final[dict[str, str]] = {
    "NO_UPFRONT": "No Upfront",
    "PARTIAL_UPFRONT": "Partial Upfront",
    "ALL_UPFRONT": "All Upfront",
}
"""OpenSearch's ``PaymentOption`` values -> the catalog's payment options."""

SERVICE_PLATFORMS: Final[dict[str, str]] = {**FIXED_PLATFORMS, MEMORYDB: MEMORYDB_PLATFORM}
"""Services whose offerings have no product description: their one platform."""

RESERVED_ROW_COLUMNS: Final = (
    *KEY_COLUMNS,
    *RESERVED_OFFERING_COLUMNS,
    "upfront_usd",
    "recurring_usd_per_hour",
)


def product_description_platform(service: str, product_description: object) -> str | None:
    """The key ``platform`` of an offering's product description, or ``None`` when unmapped.

    Parameters
    ----------
    service
        ``"AmazonRDS"`` or ``"AmazonElastiCache"``.
    product_description
        ``ProductDescription`` as the API returns it (case and surrounding blanks ignored).

    Examples
    --------
    >>> product_description_platform("AmazonRDS", "aurora-mysql")
    'aurora-mysql'
    >>> product_description_platform("AmazonRDS", "Oracle-SE2(LI)")
    'oracle-se2(li)'
    >>> product_description_platform("AmazonRDS", "db2-se") is None
    True
    >>> product_description_platform("AmazonRDS", "redis") is None  # an ElastiCache engine
    True
    """
    text = str(product_description or "").strip().lower()
    return text if RESERVABLE_PLATFORM_SERVICE.get(text) == service else None


@dataclass(frozen=True)
class DatabaseOfferingRows:
    """Reserved rows read from offerings, and what was left out.

    Attributes
    ----------
    reserved
        One row per (region, class, platform, deployment, ``standard``, term, payment option):
        the columns of :data:`RESERVED_ROW_COLUMNS`, ``upfront_usd`` [USD per reservation] and
        ``recurring_usd_per_hour`` [USD/h].
    skipped
        Offerings left out, counted by reason (e.g. ``"product description 'oracle-se2(li)' not
        mapped"``).
    read_count
        Offerings read, kept or not.
    """

    reserved: pd.DataFrame
    skipped: Counter[str] = field(default_factory=Counter)
    read_count: int = 0


def database_offering_rows(
    offerings: Iterable[Mapping[str, Any]], *, service: str, region: str, origin: str
) -> DatabaseOfferingRows:
    """Map reserved-offering records of one service and region to catalog reserved rows.

    Parameters
    ----------
    offerings
        ``ReservedDBInstancesOfferings`` (RDS), ``ReservedCacheNodesOfferings`` (ElastiCache),
        ``ReservedInstanceOfferings`` (OpenSearch), ``ReservedNodeOfferings`` (Redshift) or
        ``ReservedNodesOfferings`` (MemoryDB) entries, as boto3 returns them.
    service
        The CUR product code: ``"AmazonRDS"``, ``"AmazonElastiCache"``, ``"AmazonES"``,
        ``"AmazonRedshift"`` or ``"AmazonMemoryDB"``.
    region
        The region the offerings were listed in (the APIs are regional).
    origin
        Names the response in errors, e.g. ``"rds:DescribeReservedDBInstancesOfferings us-east-1"``.

    Returns
    -------
    DatabaseOfferingRows
        ``offering_class`` is ``standard`` (database reservations have no convertible class);
        ``tenancy`` is ``Multi-AZ`` / ``Single-AZ`` from ``MultiAZ`` for RDS and ``Node`` for
        the others; upfront = ``FixedPrice``; recurring = ``UsagePrice`` + the hourly
        ``RecurringCharges``.

    Raises
    ------
    PriceFileError
        An entry that is not an object, or a price that is not a number or is negative, naming
        the offering id and the field.
    """
    if service not in CLASS_FIELDS:
        raise ValueError(f"service must be one of {', '.join(CLASS_FIELDS)}, not {service!r}")
    rows: list[tuple[object, ...]] = []
    skipped: Counter[str] = Counter()
    seen: set[tuple[object, ...]] = set()
    read = 0
    for index, offering in enumerate(offerings):
        read += 1
        if not isinstance(offering, Mapping):
            raise PriceFileError(
                origin, f"offering {index} is not an object", "retry; if it persists, report it"
            )
        row = _row(offering, service, region, origin, index)
        if isinstance(row, str):
            skipped[row] += 1
            continue
        key = row[:7]
        if key in seen:
            skipped["repeats an offering already read (same class, engine, deployment, term, "
                    "payment option)"] += 1  # fmt: skip
            continue
        seen.add(key)
        rows.append(row)
    reserved = pd.DataFrame(rows, columns=list(RESERVED_ROW_COLUMNS))
    for column in (*KEY_COLUMNS, "offering_class", "payment_option"):
        reserved[column] = reserved[column].astype("string")
    reserved["term_years"] = reserved["term_years"].astype("int64")
    for column in ("upfront_usd", "recurring_usd_per_hour"):
        reserved[column] = reserved[column].astype("float64")
    return DatabaseOfferingRows(reserved, skipped, read)


def _row(
    offering: Mapping[str, Any], service: str, region: str, origin: str, index: int
) -> tuple[object, ...] | str:
    """One reserved row, or the reason the offering is skipped."""
    name = str(offering.get(ID_FIELDS[service]) or f"#{index}")
    if service in SERVICE_PLATFORMS:
        platform: str | None = SERVICE_PLATFORMS[service]
    else:
        description = offering.get("ProductDescription")
        platform = product_description_platform(service, description)
        if platform is None:
            return f"product description {description!r} not mapped (not covered yet)"
    class_field = CLASS_FIELDS[service]
    instance_class = str(offering.get(class_field) or "")
    if not names_a_class_of(service, instance_class):
        return (
            f"{class_field} {instance_class or '(missing)'!r} is not named like a class of "
            f"{SERVICE_NAMES[service]}"
        )
    if service not in EXACT_SIZE_SERVICES:
        try:
            normalization_factor(instance_class)
        except UnknownInstanceTypeError:
            return f"unknown {class_field} (no normalized size)"
    node_offering_type = str(offering.get("ReservedNodeOfferingType") or "Regular")
    if node_offering_type != "Regular":
        return f"ReservedNodeOfferingType {node_offering_type!r} (only Regular is read)"
    currency = str(offering.get("CurrencyCode") or "USD")
    if currency != "USD":
        return f"priced in {currency}, not USD"
    duration_s = _number(offering, "Duration", origin, name, 0.0)
    term_years = DURATION_TERM_YEARS.get(int(duration_s)) if duration_s.is_integer() else None
    if term_years is None:
        return f"Duration {offering.get('Duration')!r} s is not 1 or 3 years"
    if service == OPENSEARCH:
        option = str(offering.get("PaymentOption") or "")
        payment = OPENSEARCH_PAYMENT_OPTIONS.get(option, "")
        if not payment:
            return f"PaymentOption {option!r} (unknown; not NO/PARTIAL/ALL_UPFRONT)"
    else:
        payment = str(offering.get("OfferingType") or "")
        if payment not in PAYMENT_OPTIONS:
            return f"OfferingType {payment!r} (legacy or unknown; not No/Partial/All Upfront)"
    recurring = _number(offering, "UsagePrice", origin, name, 0.0)
    for charge in offering.get("RecurringCharges") or []:
        frequency = str(charge.get("RecurringChargeFrequency") or "")
        if frequency != "Hourly":
            return f"recurring charge of frequency {frequency!r} (only Hourly is read)"
        recurring += _number(charge, "RecurringChargeAmount", origin, name, 0.0)
    upfront = _number(offering, "FixedPrice", origin, name, 0.0)
    deployment = MULTI_AZ if offering.get("MultiAZ") else SINGLE_AZ
    tenancy = deployment if service == RDS else CACHE_NODE
    return (
        region, instance_class, platform, tenancy,
        "standard", term_years, payment, upfront, recurring,
    )  # fmt: skip


def _number(
    record: Mapping[str, Any], name: str, origin: str, offering: str, default: float
) -> float:
    """A non-negative number field (``default`` when absent), or a :class:`PriceFileError`."""
    value = record.get(name)
    if value is None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not np.isfinite(number) or number < 0 or isinstance(value, bool):
        raise PriceFileError(
            origin,
            f"offering {offering}: {name} is {value!r}, not a non-negative number",
            "retry; if it persists, report the response",
        )
    return number
