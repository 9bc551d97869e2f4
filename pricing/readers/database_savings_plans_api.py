"""Database Savings Plans rates from the Savings Plans API (``DescribeSavingsPlansOfferingRates``).

A Database Savings Plan (``savingsPlanTypes=["Database"]``; botocore's model lists the products
``RDS``, ``ElastiCache``, ``DynamoDB``, ``DocDB``, ``Neptune``, … and the service codes
``AmazonRDS``, ``AmazonElastiCache``, …) charges its commitment at a rate per hour of each eligible
database usage type. This reader asks for the products commitopt models (RDS and ElastiCache), one
region at a time, and turns each rate into a catalog ``savings_plans`` row with ``plan_type``
``database`` keyed like the usage (:mod:`pricing.services`):

* the class from the ``instanceType`` property, else the usage type
  (``InstanceUsage:db.r7g.large``);
* the deployment from the usage type's kind (``pricing.databases.USAGE_KINDS``:
  ``InstanceUsage`` Single-AZ, ``Multi-AZUsage`` Multi-AZ, ``NodeUsage`` a node);
* the engine from the ``productDescription`` property, read as the CUR's engine column is
  (:data:`pricing.databases.RDS_ENGINES`, ``ELASTICACHE_ENGINES``: ``Aurora MySQL``, ``MariaDB``,
  ``Redis``, …) and mapped to the reservation product description
  (:data:`pricing.databases.DATABASE_PLATFORMS`). AWS documents no list of these values; a rate
  whose description is not one of them is counted by reason in the catalog's notes, never guessed
  (e.g. the operation code ``CreateDBInstance:0016`` is not used).

Rates in another unit than ``Hrs`` (serverless ACU-hours, DynamoDB request units, ElastiCache
processing units) are usage commitopt does not model yet: counted, not read. The term and payment
option come from the offering (AWS sells Database Savings Plans 1-year No Upfront). The caller needs
``savingsplans:DescribeSavingsPlansOfferingRates``; the endpoint is global (a client in us-east-1).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import pandas as pd

from core.errors import CommitoptInputError
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.databases import (
    DATABASE_PLATFORMS,
    ELASTICACHE,
    ELASTICACHE_ENGINES,
    RDS,
    RDS_ENGINES,
    DatabaseUsageType,
    parse_database_usage_type,
)
from pricing.errors import PriceFileError
from pricing.offerings import CommitmentKind, parse_payment_option
from pricing.readers.aws_api import paginate
from pricing.readers.common import ProgressCallback
from pricing.regions import check_region
from pricing.services import DATABASE_PLAN_TYPE

OPERATION: Final = "savingsplans:DescribeSavingsPlansOfferingRates"
"""The IAM action this reader needs, also named as the source in errors."""

PAGE_SIZE: Final = 1_000
"""Rates per page (the API's maximum)."""

PRODUCTS: Final[dict[str, str]] = {RDS: "RDS", ELASTICACHE: "ElastiCache"}
"""Service (CUR product code) -> the API's ``products`` value."""

_ENGINES: Final[dict[str, dict[str, str]]] = {RDS: RDS_ENGINES, ELASTICACHE: ELASTICACHE_ENGINES}
_TERM_SECONDS: Final[dict[int, int]] = {31_536_000: 1, 94_608_000: 3}
SAVINGS_PLANS_COLUMNS: Final = (
    "region",
    "instance_type",
    "platform",
    "tenancy",
    "plan_type",
    "term_years",
    "payment_option",
    "sp_hourly_usd",
)


def fetch_database_savings_plans_rates(
    client: Any,
    *,
    regions: Sequence[str],
    services: Sequence[str] = (RDS, ELASTICACHE),
    instance_types: Sequence[str] = (),
    progress: ProgressCallback | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PriceCatalog:
    """Fetch Database Savings Plans rates of RDS and ElastiCache instance usage for ``regions``.

    Parameters
    ----------
    client
        A boto3 ``savingsplans`` client.
    regions
        Region codes (at least one); one paged request series per region.
    services
        ``"AmazonRDS"`` and / or ``"AmazonElastiCache"``.
    instance_types
        Classes to fetch (all when empty), sent as the ``instanceType`` filter.
    progress
        Called as ``progress(regions_done, len(regions))``.
    sleep
        Waits between retries [s]; injected for tests.

    Returns
    -------
    PriceCatalog
        ``savings_plans`` rows only (``plan_type`` ``database``), with the rates left out counted
        by reason in ``metadata.notes``.

    Raises
    ------
    CommitoptInputError
        No region, an unknown region or service.
    AwsAccessError
        Missing credentials or permission, endpoint unreachable, throttled too long.
    PriceFileError
        A rate that is not a non-negative number, two different rates for one key, or no rate
        at all for the request.
    """
    if not regions:
        raise CommitoptInputError("fetching Database Savings Plans rates needs at least one region")
    checked = [check_region(region) for region in regions]
    unknown = [name for name in services if name not in PRODUCTS]
    if unknown:
        raise CommitoptInputError(
            f"unknown service(s) {', '.join(unknown)} for Database Savings Plans rates; use "
            f"{' or '.join(PRODUCTS)}"
        )
    results: list[dict[str, Any]] = []
    for done, region in enumerate(checked, start=1):
        filters = [{"name": "region", "values": [region]}]
        if instance_types:
            filters.append({"name": "instanceType", "values": list(instance_types)})
        for page in paginate(
            client.describe_savings_plans_offering_rates,
            permission=OPERATION,
            token_in="nextToken",
            token_out="nextToken",
            sleep=sleep,
            savingsPlanTypes=[CommitmentKind.DATABASE_SAVINGS_PLAN.aws_savings_plan_type],
            products=[PRODUCTS[name] for name in services],
            filters=filters,
            maxResults=PAGE_SIZE,
        ):
            results.extend(page.get("searchResults") or [])
        if progress is not None:
            progress(done, len(checked))
    table, skipped = database_rate_rows(results)
    notes = tuple(f"left out {count} rate(s): {reason}" for reason, count in skipped.items())
    if table.empty:
        raise PriceFileError(
            OPERATION,
            f"no Database Savings Plans rates for instance usage in region(s) "
            f"{', '.join(checked)}" + (f" ({notes[0]})" if notes else ""),
            "check the region codes and instance classes",
        )
    metadata = CatalogMetadata(
        source="AWS Savings Plans API DescribeSavingsPlansOfferingRates (Database)",
        as_of=datetime.now(UTC).date(),
        notes=notes,
    )
    return PriceCatalog.from_frames(metadata, savings_plans=table)


def database_rate_rows(results: Sequence[dict[str, Any]]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Catalog ``savings_plans`` rows of the API's ``searchResults``, and the rates left out.

    Returns
    -------
    (pandas.DataFrame, dict)
        :data:`SAVINGS_PLANS_COLUMNS`, one row per key, term and payment option; and the number
        of rates left out per reason.

    Raises
    ------
    PriceFileError
        A rate that is not a non-negative number, or two different rates for one key.
    """
    rows: list[tuple[object, ...]] = []
    skipped: dict[str, int] = {}

    def skip(reason: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1

    for result in results:
        offering = result.get("savingsPlanOffering") or {}
        if str(offering.get("planType")) != "Database":
            skip("not a Database Savings Plan")
            continue
        if str(result.get("unit")) != "Hrs" or str(offering.get("currency", "USD")) != "USD":
            skip(f"unit {result.get('unit')} (not instance-hours in USD: not modelled yet)")
            continue
        properties = {p.get("name"): p.get("value") for p in result.get("properties") or []}
        parsed = parse_database_usage_type(str(result.get("usageType", "")))
        if not isinstance(parsed, DatabaseUsageType):
            skip(f"usage type not read: {parsed.reason}")
            continue
        service = parsed.service
        engine = _ENGINES[service].get(str(properties.get("productDescription", "")).lower())
        platform = DATABASE_PLATFORMS.get((service, engine or ""))
        if platform is None:
            skip(f"engine {properties.get('productDescription')!r} not mapped")
            continue
        term = _TERM_SECONDS.get(int(float(offering.get("durationSeconds", 0) or 0)))
        if term is None:
            skip(f"term of {offering.get('durationSeconds')} s")
            continue
        rate = pd.to_numeric(pd.Series([result.get("rate")]), errors="coerce").iloc[0]
        if not rate >= 0:
            raise PriceFileError(
                OPERATION,
                f"offering {offering.get('offeringId')}: rate {result.get('rate')!r} of "
                f"{result.get('usageType')} is not a number >= 0",
                "try again later; if it persists, report the response",
            )
        rows.append(
            (
                str(properties.get("region") or parsed.region),
                str(properties.get("instanceType") or parsed.instance_class),
                platform,
                parsed.deployment,
                DATABASE_PLAN_TYPE,
                term,
                parse_payment_option(str(offering.get("paymentOption", ""))),
                float(rate),
            )
        )
    table = pd.DataFrame(rows, columns=list(SAVINGS_PLANS_COLUMNS))
    key = list(SAVINGS_PLANS_COLUMNS[:-1])
    distinct = table.drop_duplicates()
    clash = distinct.loc[distinct.duplicated(key, keep=False)]
    if len(clash):
        first = clash.iloc[0]
        raise PriceFileError(
            OPERATION,
            f"two different rates for {first['instance_type']} {first['platform']} "
            f"{first['tenancy']} in {first['region']}",
            "report the response",
        )
    return distinct.reset_index(drop=True), skipped
