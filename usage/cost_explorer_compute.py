"""Fargate, Lambda and SageMaker usage from Cost Explorer: the request and the keys.

:func:`usage.cost_explorer.read_cost_explorer` with ``compute_services=True`` runs one more
request series per account: ``SERVICE`` in :data:`CE_SERVICE_CODES` and ``RECORD_TYPE`` in
:data:`DEMAND_RECORD_TYPES` (usage billed on demand or covered by a Reserved Instance or a Savings
Plan: the demand; Savings Plan negations are not), grouped by ``USAGE_TYPE`` and ``SERVICE``. Each
group is keyed as the CUR readers key a line item (:func:`pricing.compute_keys.key_of`), its
``UsageQuantity`` times the key's units per bill unit (Lambda's GB-seconds in GB-hours); a group
no Savings Plan covers, or whose usage type or unit the vocabulary cannot read, is excluded with
the reason the import of a CUR gives it (:data:`usage.compute_sql.COMPUTE_REASONS`).

The service names are Cost Explorer's ``SERVICE`` values as public code filters on them
(``AWS Lambda``, ``Amazon Elastic Container Service``, ``Amazon SageMaker``); they and the record
types were not checked against a real answer here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import pandas as pd

from pricing.compute_keys import key_of
from pricing.compute_usage_types import ComputeUsageType, parse_compute_usage_type, unit_matches
from usage.compute_sql import NOT_COVERED

CE_SERVICE_CODES: Final[dict[str, str]] = {
    "Amazon Elastic Container Service": "AmazonECS",
    "Amazon Elastic Container Service for Kubernetes": "AmazonEKS",
    "Amazon Elastic Kubernetes Service": "AmazonEKS",
    "AWS Lambda": "AWSLambda",
    "Amazon SageMaker": "AmazonSageMaker",
}
"""Cost Explorer ``SERVICE`` values of Fargate (ECS, EKS), Lambda and SageMaker -> the CUR
product code."""

DEMAND_RECORD_TYPES: Final = ("Usage", "DiscountedUsage", "SavingsPlanCoveredUsage")
"""Cost Explorer ``RECORD_TYPE`` values that are demand."""

COMPUTE_GROUP_BY: Final = (
    {"Type": "DIMENSION", "Key": "USAGE_TYPE"},
    {"Type": "DIMENSION", "Key": "SERVICE"},
)
"""The two dimensions of the request: the usage type and the service that bills it."""


def compute_filter(regions: Sequence[str], account: str | None) -> dict[str, Any]:
    """The ``Filter`` of the request: the services' demand, optionally one account, regions."""
    expressions: list[dict[str, Any]] = [
        {"Dimensions": {"Key": "SERVICE", "Values": list(CE_SERVICE_CODES)}},
        {"Dimensions": {"Key": "RECORD_TYPE", "Values": list(DEMAND_RECORD_TYPES)}},
    ]
    if regions:
        expressions.append({"Dimensions": {"Key": "REGION", "Values": list(regions)}})
    if account is not None:
        expressions.append({"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": [account]}})
    return {"And": expressions}


def compute_keys(
    usage_types: pd.Series, services: pd.Series, units: pd.Series
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Key each group: (``region, instance_type, platform, tenancy``; the exclusion reason,
    ``<NA>`` for demand; key units per unit of ``UsageQuantity``).

    Parameters
    ----------
    usage_types, services, units
        Each group's ``USAGE_TYPE``, ``SERVICE`` and ``UsageQuantity`` unit.
    """
    columns: dict[str, list[str | None]] = {
        c: [] for c in ("region", "instance_type", "platform", "tenancy")
    }
    reasons: list[str | None] = []
    per_unit: list[float] = []
    for usage_type, service, unit in zip(usage_types, services, units, strict=True):
        parsed = parse_compute_usage_type(str(usage_type), CE_SERVICE_CODES.get(str(service)))
        key = None
        if not isinstance(parsed, ComputeUsageType):
            reason: str | None = (
                "unknown region" if parsed.reason == "unknown region prefix" else parsed.reason
            )
        elif not unit_matches(str(unit), parsed.unit):
            reason = "unknown unit"
        else:
            key = key_of(parsed)
            reason = NOT_COVERED if key is None else None
        reasons.append(reason)
        per_unit.append(key.per_bill_unit if key is not None else 1.0)
        values = (
            (key.region, key.instance_type, key.platform, key.tenancy)
            if key is not None
            else (None, None, None, None)
        )
        for column, value in zip(columns, values, strict=True):
            columns[column].append(value)
    index = usage_types.index
    keys = pd.DataFrame({c: pd.Series(v, index=index, dtype="string") for c, v in columns.items()})
    return (
        keys,
        pd.Series(reasons, index=index, dtype="string"),
        pd.Series(per_unit, index=index, dtype="float64"),
    )


__all__ = [
    "CE_SERVICE_CODES",
    "COMPUTE_GROUP_BY",
    "DEMAND_RECORD_TYPES",
    "compute_filter",
    "compute_keys",
]
