"""Owned database reservations rebuilt from a Cost and Usage Report's ``RIFee`` lines.

RDS / Aurora, ElastiCache, MemoryDB, OpenSearch and Redshift reservations bill one ``RIFee`` line
per month, as EC2's do, with the reservation's ARN, count, upfront value, hourly fee and term; the
reserved product is in the line's product columns (``product/instanceType``,
``product/databaseEngine`` or ``product/cacheEngine``, ``product/databaseEdition``,
``product/licenseModel``, ``product/deploymentOption``, ``product/regionCode``). This module
turns those into the same five key columns as usage (:mod:`pricing.services`): the class, the
reservation's product description (from the engine, edition and licence as
:mod:`usage.demand_sql` reads usage; ``memorydb``, ``opensearch`` or ``redshift`` for those
services) and the deployment (``Multi-AZ`` when the deployment option says so, else
``Single-AZ`` for RDS; ``Node`` for the others). A line whose product the vocabulary cannot map is
left out with a note naming it, never guessed.

No real CUR with database reservations was found to test with; the product columns are those of
AWS's CUR data dictionary (the RIFee line's product is the reserved one, as EC2's ``HeavyUsage``
lines show), and the tests build their rows from it.
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from pricing.databases import (
    CACHE_NODE,
    DATABASE_PLATFORMS,
    EDITION_PLATFORMS,
    ELASTICACHE,
    ELASTICACHE_ENGINES,
    MULTI_AZ,
    RDS,
    RDS_ENGINES,
    RESERVATION_PLATFORMS,
    RESERVED_SERVICES,
    SINGLE_AZ,
)
from pricing.instance_types import OPENSEARCH_SUFFIX
from pricing.regions import PREFIX_TO_REGION

PRODUCT_COLUMNS: Final = (
    "product_instance_type",
    "product_database_engine",
    "product_cache_engine",
    "product_database_edition",
    "product_license_model",
    "product_deployment_option",
    "product_region_code",
)
"""The product columns a database ``RIFee`` line is read with (NULL when a file lacks one)."""

_SERVICES_SQL: Final = ", ".join(f"'{code}'" for code in RESERVED_SERVICES)

DATABASE_FEES_SQL: Final = f"""
WITH typed AS (
    SELECT trim(line_item_line_item_type) AS line_type,
           trim(line_item_product_code) AS product_code,
           trim(line_item_usage_type) AS usage_type,
           nullif(trim(line_item_usage_account_id), '') AS usage_account,
           (try_cast(line_item_usage_start_date AS TIMESTAMPTZ) AT TIME ZONE 'UTC') AS usage_start,
           (try_cast(line_item_usage_end_date AS TIMESTAMPTZ) AT TIME ZONE 'UTC') AS usage_end,
           try_cast(line_item_unblended_rate AS DOUBLE) AS recurring,
           try_cast(reservation_upfront_value AS DOUBLE) AS upfront,
           try_cast(reservation_number_of_reservations AS DOUBLE) AS reservations,
           (try_cast(reservation_start_time AS TIMESTAMPTZ) AT TIME ZONE 'UTC') AS ri_start,
           (try_cast(reservation_end_time AS TIMESTAMPTZ) AT TIME ZONE 'UTC') AS ri_end,
           nullif(trim(reservation_reservation_a_r_n), '') AS ri_arn,
           nullif(trim(pricing_purchase_option), '') AS purchase_option,
           nullif(trim(pricing_lease_contract_length), '') AS lease_length,
           trim(coalesce(product_instance_type, '')) AS instance_type,
           lower(trim(coalesce(nullif(trim(product_database_engine), ''),
               nullif(trim(product_cache_engine), ''), ''))) AS engine,
           lower(trim(coalesce(product_database_edition, ''))) AS edition,
           lower(trim(coalesce(product_license_model, ''))) AS licence,
           trim(coalesce(product_deployment_option, '')) AS deployment_option,
           nullif(trim(product_region_code), '') AS region_code,
           file
    FROM raw
), fees AS (
    SELECT * FROM typed
    WHERE line_type = 'RIFee' AND product_code IN ({_SERVICES_SQL}) AND ri_arn IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY ri_arn ORDER BY usage_start DESC NULLS LAST) = 1
), applied AS (
    SELECT ri_arn, max(purchase_option) AS applied_payment, max(lease_length) AS applied_lease
    FROM typed WHERE line_type = 'DiscountedUsage' AND ri_arn IS NOT NULL
    GROUP BY ri_arn
)
SELECT fees.ri_arn, fees.product_code, fees.usage_type, fees.usage_account, fees.recurring,
       fees.upfront, fees.reservations, fees.ri_start, fees.ri_end, fees.file,
       fees.instance_type, fees.engine, fees.edition, fees.licence, fees.deployment_option,
       fees.region_code,
       coalesce(fees.usage_end, fees.usage_start) AS billed_until,
       coalesce(applied.applied_payment, fees.purchase_option) AS payment,
       coalesce(applied.applied_lease, fees.lease_length) AS lease_length
FROM fees LEFT JOIN applied ON fees.ri_arn = applied.ri_arn
ORDER BY fees.ri_start, fees.ri_arn
"""
"""The latest ``RIFee`` line of each database reservation, with its product columns."""

_FIXED_PLATFORM: Final[dict[str, str]] = {
    service: platform
    for (service, _), platform in DATABASE_PLATFORMS.items()
    if service not in (RDS, ELASTICACHE) and platform not in RESERVATION_PLATFORMS
}
"""The one reservation platform of each other service (MemoryDB's reserved nodes are all
Redis OSS ones, ``memorydb``: :data:`pricing.databases.RESERVATION_PLATFORMS`)."""


def _platform(service: str, engine: str, edition: str, licence: str) -> str | None:
    """The key's platform of a reservation (``None`` when the vocabulary does not map it)."""
    if service in _FIXED_PLATFORM:
        return _FIXED_PLATFORM[service]
    if service == ELASTICACHE:
        return DATABASE_PLATFORMS.get((ELASTICACHE, ELASTICACHE_ENGINES.get(engine, "")))
    name = RDS_ENGINES.get(engine, "")
    by_edition = {(e, ed.lower(), li.lower()): p for (e, ed, li), p in EDITION_PLATFORMS.items()}
    return DATABASE_PLATFORMS.get((RDS, name)) or by_edition.get((name, edition, licence))


def _region(region_code: object, usage_type: str) -> str | None:
    """``product/regionCode``, else the usage type's prefix (none: us-east-1)."""
    if isinstance(region_code, str) and region_code:
        return region_code
    prefix, dash, _ = usage_type.partition("-")
    if not dash or ":" in prefix:
        return "us-east-1"
    return PREFIX_TO_REGION.get(prefix)


def database_reservation_keys(fees: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The key of each database ``RIFee`` row of :data:`DATABASE_FEES_SQL`, and notes.

    Returns
    -------
    (pandas.DataFrame, list of str)
        ``fees`` with ``region``, ``instance_type``, ``platform`` and ``tenancy`` filled in, for
        the rows whose product maps; one note per row left out, naming its ARN and product.
    """
    rows: list[dict[str, object]] = []
    notes: list[str] = []
    for row in fees.to_dict("records"):  # one row per reservation: a handful
        service = str(row["product_code"])
        instance_type = str(row["instance_type"])
        if (
            service == "AmazonES"
            and instance_type
            and not instance_type.endswith(OPENSEARCH_SUFFIX)
        ):
            instance_type += OPENSEARCH_SUFFIX
        platform = _platform(service, str(row["engine"]), str(row["edition"]), str(row["licence"]))
        option = str(row["deployment_option"])
        if service != RDS:
            tenancy: str | None = CACHE_NODE
        elif option.startswith("Multi-AZ") and "readable" in option.lower():
            tenancy = None  # a Multi-AZ DB cluster has no reservation of its own
        else:
            tenancy = MULTI_AZ if option.startswith("Multi-AZ") else SINGLE_AZ
        region = _region(row["region_code"], str(row["usage_type"]))
        if not instance_type or platform is None or tenancy is None or region is None:
            notes.append(
                f"skipped {service} reservation {row['ri_arn']}: unknown product "
                f"{instance_type or '(no instance type)'} {row['engine'] or ''} "
                f"{row['edition'] or ''} {row['licence'] or ''} {option}".rstrip()
            )
            continue
        rows.append(
            {
                **{str(name): value for name, value in row.items()},
                "region": region,
                "instance_type": instance_type,
                "platform": platform,
                "tenancy": tenancy,
            }
        )
    return pd.DataFrame(rows, columns=[*fees.columns, "region", "platform", "tenancy"]), notes


__all__ = ["DATABASE_FEES_SQL", "PRODUCT_COLUMNS", "database_reservation_keys"]
