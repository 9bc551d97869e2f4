"""Fargate, Lambda and SageMaker usage types -> keys, in SQL that runs on DuckDB and on Athena.

The one demand SQL (:mod:`usage.demand_sql`) classifies the line items of the product codes
``AmazonECS`` and ``AmazonEKS`` (Fargate), ``AWSLambda`` and ``AmazonSageMaker`` by the rules of
:mod:`pricing.compute_usage_types`, and keys their covered usage as :mod:`pricing.compute_keys`
does (``fargate.vcpu`` / ``fargate.memory``, ``lambda.duration`` and the provisioned kinds in
GB-hours, the ML instance type for SageMaker; the architecture as tenancy). The rules are not
written twice: the ``VALUES`` tables here are built from those modules' tables, and
:func:`compute_reason_sql` follows :func:`pricing.compute_usage_types.parse_compute_usage_type`
step by step (``tests/usage/test_compute_demand.py`` checks both on every documented form and on
generated usage types).

A usage type is ``[PREFIX-]Name``: the prefix is the region's (none is us-east-1). A ``Name``
of :data:`COMPUTE_NAME_ROWS` is a Fargate or Lambda usage kind; ``Component:[App-]ml.type`` with
a component of :data:`SAGEMAKER_COMPONENT_ROWS` is a SageMaker ML instance. Each row gets a
reason (:data:`COMPUTE_REASONS`), ``''`` when it is demand of a key.

Only functions both engines have are used (``regexp_extract``, ``substr``, ``length``,
``lower``, ``trim``, ``LIKE``, ``CAST``); ``regexp_extract`` is wrapped in ``coalesce(..., '')``
since Athena returns NULL where DuckDB returns ``''``.
"""

from __future__ import annotations

from typing import Final

from pricing.compute_keys import key_of_usage_type
from pricing.compute_usage_types import (
    COMPUTE_USAGE_RULES,
    PRODUCT_CODE_SERVICE,
    SAGEMAKER_COMPONENTS,
    UNIT_SPELLINGS,
    UNPARSED_REASONS,
)

NOT_COVERED: Final = "not covered by any Savings Plan"
"""The reason of known usage types no Savings Plan covers."""

COMPUTE_REASONS: Final[dict[str, str]] = {
    NOT_COVERED: (
        "Fargate, Lambda and SageMaker usage that no Savings Plan covers (Lambda requests, "
        "Fargate Spot, the Fargate Windows OS licence, Fargate ephemeral storage, Lambda@Edge, "
        "SageMaker managed Spot training)"
    ),
    **{
        reason: UNPARSED_REASONS[reason]
        for reason in (
            "data transfer",
            "not Fargate usage",
            "unknown Fargate usage type",
            "unknown Lambda usage type",
            "unknown SageMaker usage type",
            "unknown unit",
            "empty usage type",
            "unknown Fargate charge description",
            "unknown Lambda charge description",
            "SageMaker row without a usage type",
        )
    },
}
"""Why a Fargate, Lambda or SageMaker line item is not demand (besides its line item type and
the region, counted as for EC2: ``unknown region``)."""

COMPUTE_PRODUCT_ROWS: Final[tuple[tuple[str, str], ...]] = tuple(PRODUCT_CODE_SERVICE.items())
"""(CUR product code, service): the line items classified here."""

COMPUTE_NAME_COLUMNS: Final = (
    "service",
    "name",
    "unit",
    "instance_type",
    "platform",
    "tenancy",
    "per_bill_unit",
)


def _name_rows() -> tuple[tuple[str, ...], ...]:
    rows = []
    codes = {service: code for code, service in reversed(COMPUTE_PRODUCT_ROWS)}
    for rule in COMPUTE_USAGE_RULES:
        if rule.service == "sagemaker":
            continue
        key = key_of_usage_type(rule.name, codes[rule.service])
        if key is None:
            rows.append((rule.service, rule.name, rule.unit, "", "", "", "1.0"))
        else:
            rows.append(
                (
                    rule.service,
                    rule.name,
                    rule.unit,
                    key.instance_type,
                    key.platform,
                    key.tenancy,
                    repr(key.per_bill_unit),
                )
            )
    return tuple(rows)


COMPUTE_NAME_ROWS: Final[tuple[tuple[str, ...], ...]] = _name_rows()
"""(service, usage type name without prefix, bill unit, key type, platform, tenancy, key units
per bill unit) of every Fargate and Lambda rule; the key is empty where no Savings Plan covers
the usage."""

SAGEMAKER_COMPONENT_ROWS: Final[tuple[tuple[str, str], ...]] = tuple(
    (name, f"sagemaker-{component}" if eligibility == "sagemaker" else "")
    for name, (component, eligibility) in SAGEMAKER_COMPONENTS.items()
)
"""(usage type component, key platform; ``''`` where no Savings Plan covers it)."""

UNIT_SPELLING_ROWS: Final[tuple[tuple[str, str], ...]] = tuple(
    (unit, spelling) for unit, spellings in UNIT_SPELLINGS.items() for spelling in sorted(spellings)
)
"""(unit, a bill's spelling of it in lower case)."""

PREFIX_PATTERN: Final = r"^([A-Z]{2,4}[0-9]?)-."
"""The region prefix of a usage type (group 1), as :mod:`pricing.compute_usage_types` reads
it."""
SAGEMAKER_PATTERN: Final = r"^([^:]*):(?:[A-Za-z]+-)?(ml\.[a-z0-9]+\.[a-z0-9]+)$"
"""``Component:[App-]ml.family.size``: the component (group 1) and the ML type (group 2)."""
GRAVITON_PATTERN: Final = r"^(ml\.[a-z]+(?:[6-9]|[1-9][0-9]+)g)"
"""An ML type of a Graviton family (generation 6 or later, attributes starting with ``g``), as
:func:`pricing.compute_keys.sagemaker_architecture` says: ``arm64``."""


def compute_reason_sql(
    *,
    service: str,
    name: str,
    usage_type: str,
    region: str,
    rule_service: str,
    bill_unit: str,
    unit_known: str,
    key_type: str,
    source_reason: str,
) -> str:
    """The reason of a Fargate, Lambda or SageMaker row (``''``: demand of a key), in SQL.

    The steps of :func:`pricing.compute_usage_types.parse_compute_usage_type`, then the unit
    check of :func:`pricing.compute_usage_types.unit_matches`, then Savings Plan eligibility.
    The arguments are SQL expressions: the row's service, usage type name (without prefix) and
    usage type, its region (NULL when the prefix is unknown), the matched rule's service (NULL
    when none), the bill's unit (NULL when not given), whether the unit is a spelling of the
    rule's, the key's type (``''`` when no Savings Plan covers it) and a reason the source gave
    (NULL when none: a FOCUS row whose description could not be read).
    """
    return f"""CASE
        WHEN {source_reason} IS NOT NULL THEN {source_reason}
        WHEN trim({usage_type}) = '' THEN 'empty usage type'
        WHEN {name} LIKE '%DataTransfer%' OR {name} LIKE '%-Bytes' THEN 'data transfer'
        WHEN {region} IS NULL THEN 'unknown region'
        WHEN {rule_service} IS NULL OR {rule_service} <> {service} THEN CASE
            WHEN {service} = 'fargate' AND {name} LIKE '%Fargate%'
                THEN 'unknown Fargate usage type'
            WHEN {service} = 'fargate' THEN 'not Fargate usage'
            WHEN {service} = 'lambda' THEN 'unknown Lambda usage type'
            ELSE 'unknown SageMaker usage type' END
        WHEN {bill_unit} IS NOT NULL AND NOT {unit_known} THEN 'unknown unit'
        WHEN {key_type} = '' THEN {_quoted(NOT_COVERED)}
        ELSE '' END"""


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


__all__ = [
    "COMPUTE_NAME_COLUMNS",
    "COMPUTE_NAME_ROWS",
    "COMPUTE_PRODUCT_ROWS",
    "COMPUTE_REASONS",
    "GRAVITON_PATTERN",
    "NOT_COVERED",
    "PREFIX_PATTERN",
    "SAGEMAKER_COMPONENT_ROWS",
    "SAGEMAKER_PATTERN",
    "UNIT_SPELLING_ROWS",
    "compute_reason_sql",
]
