"""Fargate, Lambda and SageMaker rows in FOCUS exports: product codes and usage types, in SQL.

A FOCUS export names the service by ``ServiceName`` (``AWS Lambda``, ``Amazon Elastic Container
Service``) and, with AWS's own columns, gives the usage type in ``x_UsageType`` (FOCUS 1.2:
``SkuMeter``). :mod:`usage.readers` turns a FOCUS row into the CUR columns the one demand SQL
reads (:mod:`usage.demand_sql`); for these services it takes the product code from
:data:`FOCUS_COMPUTE_CODES` and, when the export has no usage type (the FOCUS 1.0 sample),
rebuilds it from ``ChargeDescription`` and ``RegionId`` as
:func:`pricing.compute_usage_types.parse_charge_description` does: ``AWS Fargate - ARM - Memory -
US West (Oregon)`` in us-west-2 is ``USW2-Fargate-ARM-GB-Hours``, ``AWS Lambda - Total Compute
(Provisioned) - ...`` is ``Lambda-Provisioned-GB-Second``. A description it cannot read gets
that function's reason (``data transfer``, ``not Fargate usage``, ``unknown Lambda charge
description``, ...), which the demand SQL counts. FOCUS exports are read by DuckDB only, so this
SQL may use DuckDB's functions.
"""

from __future__ import annotations

from typing import Final

from pricing.compute_usage_types import FOCUS_DESCRIPTION_SERVICES
from usage.demand_sql import sql_string

_SERVICE_CODES: Final = {
    "fargate": "AmazonECS",
    "lambda": "AWSLambda",
    "sagemaker": "AmazonSageMaker",
}
FOCUS_COMPUTE_CODES: Final[dict[str, str]] = {
    name: "AmazonEKS" if "Kubernetes" in name else _SERVICE_CODES[service]
    for name, service in FOCUS_DESCRIPTION_SERVICES.items()
}
"""FOCUS ``ServiceName`` -> the CUR product code, for Fargate (ECS, EKS), Lambda and SageMaker."""

SKU_METER_USAGE_TYPE: Final = r"Fargate-|Lambda-|Request|:ml\."
"""A FOCUS 1.2 ``SkuMeter`` that is a usage type of these services (as
:mod:`usage.compute_usage` reads it)."""

_FARGATE: Final = r"^AWS Fargate - (?:(ARM|Windows) - )?(vCPU|Memory)\s+-"
_LAMBDA: Final = r"^AWS Lambda - Total (Compute|Requests)( \(Provisioned\))?( ?\(?ARM\)?)? -"


def compute_services_table() -> str:
    """``(VALUES ...) AS focus_compute(name, code, service)``: the services of
    :data:`FOCUS_COMPUTE_CODES` with their vocabulary name (``fargate``, ``lambda``, ...)."""
    rows = ", ".join(
        f"({sql_string(name)}, {sql_string(code)}, {sql_string(FOCUS_DESCRIPTION_SERVICES[name])})"
        for name, code in FOCUS_COMPUTE_CODES.items()
    )
    return f"(VALUES {rows}) AS focus_compute(name, code, service)"


def _described_name(description: str) -> str:
    """The usage type name (no prefix) a Fargate or Lambda description stands for, else NULL."""
    fargate, lambda_ = sql_string(_FARGATE), sql_string(_LAMBDA)

    def group(pattern: str, index: int) -> str:
        return f"coalesce(regexp_extract({description}, {pattern}, {index}), '')"

    variant = group(fargate, 1)
    arm = f"CASE WHEN {group(lambda_, 3)} <> '' THEN '-ARM' ELSE '' END"
    return f"""CASE
        WHEN focus_compute.service = 'fargate' AND regexp_matches({description}, {fargate})
            THEN 'Fargate-' || CASE WHEN {variant} = '' THEN '' ELSE {variant} || '-' END
                || CASE WHEN {group(fargate, 2)} = 'vCPU' THEN 'vCPU-Hours:perCPU'
                        ELSE 'GB-Hours' END
        WHEN focus_compute.service = 'lambda' AND regexp_matches({description}, {lambda_})
            THEN CASE
                WHEN {group(lambda_, 1)} = 'Requests' AND {group(lambda_, 2)} <> '' THEN NULL
                WHEN {group(lambda_, 1)} = 'Requests' THEN 'Request' || {arm}
                WHEN {group(lambda_, 2)} <> '' THEN 'Lambda-Provisioned-GB-Second' || {arm}
                ELSE 'Lambda-GB-Second' || {arm} END
        END"""


def focus_compute_sql(description: str, given_usage_type: str) -> tuple[str, str]:
    """SQL expressions (usage type, reason) for a FOCUS row of these services.

    Parameters
    ----------
    description
        The row's trimmed ``ChargeDescription`` (SQL, never NULL).
    given_usage_type
        The usage type the export gives (SQL: ``x_UsageType``, a usage-type ``SkuMeter``;
        NULL when none).

    Returns
    -------
    (str, str)
        The usage type (given, else rebuilt with the prefix of ``RegionId``; NULL for other
        services or when it cannot be rebuilt) and why it could not be (NULL when it could, or
        for other services). Needs ``focus_compute`` (:func:`compute_services_table`) and
        ``focus_regions(region, prefix)`` (the region of ``RegionId``) joined.
    """
    name = _described_name(description)
    usage_type = f"""CASE WHEN focus_compute.service IS NOT NULL THEN coalesce({given_usage_type},
        focus_regions.prefix || '-' || ({name})) END"""
    reason = f"""CASE WHEN focus_compute.service IS NULL OR {given_usage_type} IS NOT NULL THEN NULL
        WHEN lower({description}) LIKE '%data transfer%' THEN 'data transfer'
        WHEN ({name}) IS NULL AND focus_compute.service = 'fargate'
            AND NOT starts_with({description}, 'AWS Fargate') THEN 'not Fargate usage'
        WHEN ({name}) IS NULL AND focus_compute.service = 'fargate'
            THEN 'unknown Fargate charge description'
        WHEN ({name}) IS NULL AND focus_compute.service = 'lambda'
            THEN 'unknown Lambda charge description'
        WHEN ({name}) IS NULL THEN 'SageMaker row without a usage type'
        WHEN focus_regions.prefix IS NULL THEN 'unknown region'
        END"""
    return usage_type, reason


__all__ = [
    "FOCUS_COMPUTE_CODES",
    "SKU_METER_USAGE_TYPE",
    "compute_services_table",
    "focus_compute_sql",
]
