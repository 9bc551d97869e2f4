"""Fargate, Lambda and SageMaker usage types -> what they measure, which Savings Plan covers them.

A CUR ``lineItem/UsageType`` (FOCUS ``x_UsageType``) is ``[PREFIX-]Name``: the prefix names the
region (:data:`pricing.regions.PREFIX_TO_REGION`; none is us-east-1, as for EC2), the name the
usage. :func:`parse_compute_usage_type` reads the forms below; anything else is returned as an
:class:`UnparsedUsageType` with a short reason (never an exception), so a reader can count the
rows it could not use by reason.

AWS Fargate (product codes ``AmazonECS`` and ``AmazonEKS``: the same usage types for both)
    ``Fargate-vCPU-Hours:perCPU`` [vCPU-hours], ``Fargate-GB-Hours`` [GB-hours]; ``-ARM-``
    (Graviton) and ``-Windows-`` variants of both; Compute Savings Plans cover all of them.
    ``Fargate-Windows-OS-Hours:perCPU`` (the Windows licence fee per vCPU-hour),
    ``Fargate-EphemeralStorage-GB-Hours`` and Fargate Spot (``SpotUsage:Fargate-...``) are kept,
    flagged not eligible.
AWS Lambda (product code ``AWSLambda``)
    ``Lambda-GB-Second`` (duration) [GB-seconds], ``Lambda-Provisioned-Concurrency`` (the
    concurrency configured) and ``Lambda-Provisioned-GB-Second`` (duration on provisioned
    concurrency) [GB-seconds], each with an ``-ARM`` variant: Compute Savings Plans cover them.
    ``Request`` / ``Request-ARM`` [requests] and Lambda@Edge (``Lambda-Edge-...``) are kept,
    flagged not eligible.
Amazon SageMaker ML instances (product code ``AmazonSageMaker``)
    ``Component:ml.type`` [instance-hours] with the components ``Notebk`` (notebook instances),
    ``Studio`` (Studio notebooks, ``Studio:KernelGateway-ml.t3.medium`` and the like), ``Train``
    (training), ``Host`` (real-time and asynchronous inference), ``Tsform`` (batch transform),
    ``Processing`` and ``DW`` (Data Wrangler): SageMaker Savings Plans cover them.
    ``Train-Spot`` (managed spot training) is kept, flagged not eligible.

Sources (each rule is one entry of :data:`COMPUTE_USAGE_RULES` with the page it rests on):

* Savings Plans types and what they cover: https://docs.aws.amazon.com/savingsplans/latest/userguide/plan-types.html
  and https://aws.amazon.com/savingsplans/faq/ (Compute Savings Plans apply to EC2, Fargate and
  Lambda; SageMaker Savings Plans to SageMaker ML instance usage of the components above);
* Fargate usage types: https://aws.amazon.com/fargate/pricing/ and the AWS Price List offer file
  of ``AmazonECS`` (https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonECS/current/index.json);
* Lambda usage types and which charges Savings Plans discount: https://aws.amazon.com/lambda/pricing/
  and the ``AWSLambda`` offer file;
* SageMaker usage types: https://aws.amazon.com/sagemaker/pricing/ and the ``AmazonSageMaker``
  offer file; https://aws.amazon.com/savingsplans/ml-pricing/.

``docs/compute-usage.md`` lists the rules with their sources and says which were confirmed on a
real export (the FOCUS 1.0 sample's Fargate and Lambda rows), which rest on the documentation
alone, and which are still to confirm against the Savings Plans offer files (the documentation
search tool did not return AWS's usage-type listings; the URLs above are AWS's pages for these
facts, to re-read when the prices step reads the offer files).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from pricing.regions import PREFIX_TO_REGION, REGION_TO_PREFIX

ComputeService = Literal["fargate", "lambda", "sagemaker"]
SavingsPlanEligibility = Literal["compute", "sagemaker", "none"]

SAVINGS_PLANS_TYPES_URL: Final = (
    "https://docs.aws.amazon.com/savingsplans/latest/userguide/plan-types.html"
)
FARGATE_PRICING_URL: Final = "https://aws.amazon.com/fargate/pricing/"
LAMBDA_PRICING_URL: Final = "https://aws.amazon.com/lambda/pricing/"
SAGEMAKER_PRICING_URL: Final = "https://aws.amazon.com/sagemaker/pricing/"
SAGEMAKER_SAVINGS_PLANS_URL: Final = "https://aws.amazon.com/savingsplans/ml-pricing/"

PRODUCT_CODE_SERVICE: Final[dict[str, ComputeService]] = {
    "AmazonECS": "fargate",
    "AmazonEKS": "fargate",
    "AWSLambda": "lambda",
    "AmazonSageMaker": "sagemaker",
}
"""CUR product codes whose line items this vocabulary reads, and the service they bill."""

_REGION_TO_PREFIX: Final = REGION_TO_PREFIX
_PREFIXED: Final = re.compile(r"^(?P<prefix>[A-Z]{2,4}\d?)-(?P<rest>.+)$")
_ML_INSTANCE: Final = re.compile(r"^(?:[A-Za-z]+-)?(?P<type>ml\.[a-z0-9]+\.[a-z0-9]+)$")


@dataclass(frozen=True, slots=True)
class UsageRule:
    """One documented usage-type name and what it means.

    Attributes
    ----------
    name
        The usage type without its region prefix (``"Fargate-ARM-GB-Hours"``); for SageMaker the
        component before the colon (``"Train"``).
    service, usage_kind, unit, architecture, platform_or_component, sp_eligible
        As :class:`ComputeUsageType`.
    source
        The AWS page the rule rests on.
    """

    name: str
    service: ComputeService
    usage_kind: str
    unit: str
    architecture: str
    platform_or_component: str
    sp_eligible: SavingsPlanEligibility
    source: str


def _fargate_rules() -> tuple[UsageRule, ...]:
    rules = []
    for infix, architecture, platform in (
        ("", "x86_64", "Linux"),
        ("ARM-", "arm64", "Linux"),
        ("Windows-", "x86_64", "Windows"),
    ):
        rules += [
            UsageRule(
                f"Fargate-{infix}vCPU-Hours:perCPU", "fargate", "vcpu", "vCPU-hours",
                architecture, platform, "compute", FARGATE_PRICING_URL,
            ),
            UsageRule(
                f"Fargate-{infix}GB-Hours", "fargate", "memory", "GB-hours",
                architecture, platform, "compute", FARGATE_PRICING_URL,
            ),
        ]  # fmt: skip
    rules += [
        UsageRule(
            "Fargate-Windows-OS-Hours:perCPU", "fargate", "os-license", "vCPU-hours",
            "x86_64", "Windows", "none", FARGATE_PRICING_URL,
        ),
        UsageRule(
            "Fargate-EphemeralStorage-GB-Hours", "fargate", "ephemeral-storage", "GB-hours",
            "x86_64", "Linux", "none", FARGATE_PRICING_URL,
        ),
        UsageRule(
            "Fargate-ARM-EphemeralStorage-GB-Hours", "fargate", "ephemeral-storage", "GB-hours",
            "arm64", "Linux", "none", FARGATE_PRICING_URL,
        ),
        UsageRule(
            "SpotUsage:Fargate-vCPU-Hours:perCPU", "fargate", "spot-vcpu", "vCPU-hours",
            "x86_64", "Linux", "none", FARGATE_PRICING_URL,
        ),
        UsageRule(
            "SpotUsage:Fargate-GB-Hours", "fargate", "spot-memory", "GB-hours",
            "x86_64", "Linux", "none", FARGATE_PRICING_URL,
        ),
    ]  # fmt: skip
    return tuple(rules)


def _lambda_rules() -> tuple[UsageRule, ...]:
    rules = []
    for suffix, architecture in (("", "x86_64"), ("-ARM", "arm64")):
        rules += [
            UsageRule(
                f"Lambda-GB-Second{suffix}", "lambda", "duration", "GB-seconds",
                architecture, "", "compute", LAMBDA_PRICING_URL,
            ),
            UsageRule(
                f"Lambda-Provisioned-Concurrency{suffix}", "lambda", "provisioned-concurrency",
                "GB-seconds", architecture, "", "compute", LAMBDA_PRICING_URL,
            ),
            UsageRule(
                f"Lambda-Provisioned-GB-Second{suffix}", "lambda", "provisioned-duration",
                "GB-seconds", architecture, "", "compute", LAMBDA_PRICING_URL,
            ),
            UsageRule(
                f"Request{suffix}", "lambda", "requests", "requests",
                architecture, "", "none", LAMBDA_PRICING_URL,
            ),
        ]  # fmt: skip
    rules += [
        UsageRule(
            "Lambda-Edge-GB-Second", "lambda", "edge-duration", "GB-seconds",
            "x86_64", "", "none", LAMBDA_PRICING_URL,
        ),
        UsageRule(
            "Lambda-Edge-Request", "lambda", "edge-requests", "requests",
            "x86_64", "", "none", LAMBDA_PRICING_URL,
        ),
    ]  # fmt: skip
    return tuple(rules)


SAGEMAKER_COMPONENTS: Final[dict[str, tuple[str, SavingsPlanEligibility]]] = {
    "Notebk": ("notebook", "sagemaker"),
    "Studio": ("studio-notebook", "sagemaker"),
    "Train": ("training", "sagemaker"),
    "Host": ("hosting", "sagemaker"),
    "Tsform": ("batch-transform", "sagemaker"),
    "Processing": ("processing", "sagemaker"),
    "DW": ("data-wrangler", "sagemaker"),
    "Train-Spot": ("spot-training", "none"),
}
"""SageMaker usage-type components (before ``:ml.``) -> (component, Savings Plan eligibility)."""


def _sagemaker_rules() -> tuple[UsageRule, ...]:
    return tuple(
        UsageRule(
            name, "sagemaker", "ml-instance", "instance-hours", "", component, eligibility,
            SAGEMAKER_SAVINGS_PLANS_URL if eligibility == "sagemaker" else SAGEMAKER_PRICING_URL,
        )
        for name, (component, eligibility) in SAGEMAKER_COMPONENTS.items()
    )  # fmt: skip


COMPUTE_USAGE_RULES: Final[tuple[UsageRule, ...]] = (
    *_fargate_rules(),
    *_lambda_rules(),
    *_sagemaker_rules(),
)
"""Every documented form :func:`parse_compute_usage_type` reads."""

_BY_NAME: Final = {rule.name: rule for rule in COMPUTE_USAGE_RULES if rule.service != "sagemaker"}
_SAGEMAKER_BY_COMPONENT: Final = {
    rule.name: rule for rule in COMPUTE_USAGE_RULES if rule.service == "sagemaker"
}


@dataclass(frozen=True, slots=True)
class ComputeUsageType:
    """A parsed Fargate, Lambda or SageMaker usage type.

    Attributes
    ----------
    usage_type
        The text parsed (``"USE1-Fargate-ARM-vCPU-Hours:perCPU"``).
    service
        ``"fargate"``, ``"lambda"`` or ``"sagemaker"``.
    usage_kind
        What is measured: ``"vcpu"``, ``"memory"``, ``"duration"``, ``"provisioned-concurrency"``,
        ``"provisioned-duration"``, ``"requests"``, ``"ml-instance"``, ...
    unit
        The unit of the line item's usage amount: ``"vCPU-hours"``, ``"GB-hours"``,
        ``"GB-seconds"``, ``"requests"`` or ``"instance-hours"``.
    region
        Region code (``"us-east-1"`` when the usage type has no prefix).
    architecture
        ``"x86_64"`` or ``"arm64"``; ``""`` for SageMaker (the instance type says it).
    platform_or_component
        Fargate: ``"Linux"`` or ``"Windows"``; Lambda: ``""``; SageMaker: the component
        (``"training"``, ``"hosting"``, ``"notebook"``, ...).
    instance_type
        SageMaker ML instance type (``"ml.m5.xlarge"``), else ``""``.
    sp_eligible
        The Savings Plan type that can cover it: ``"compute"``, ``"sagemaker"`` or ``"none"``.
    """

    usage_type: str
    service: ComputeService
    usage_kind: str
    unit: str
    region: str
    architecture: str
    platform_or_component: str
    instance_type: str
    sp_eligible: SavingsPlanEligibility


@dataclass(frozen=True, slots=True)
class UnparsedUsageType:
    """A usage type :func:`parse_compute_usage_type` could not read, and why.

    Attributes
    ----------
    usage_type
        The text given.
    reason
        Short and stable, for counting rows by it: ``"unknown region prefix"``,
        ``"data transfer"``, ``"unknown Fargate usage type"``, ...
    """

    usage_type: str
    reason: str


UNPARSED_REASONS: Final[dict[str, str]] = {
    "empty usage type": "the line item names no usage type",
    "unknown region prefix": "the usage type's prefix names no known region",
    "data transfer": "data transfer of the service (not compute Savings Plans could cover)",
    "unknown service": "the product code is not AmazonECS, AmazonEKS, AWSLambda or AmazonSageMaker",
    "unknown Fargate usage type": "Fargate usage of a form not documented here",
    "not Fargate usage": "ECS or EKS usage other than Fargate (EKS cluster hours, ...)",
    "unknown Lambda usage type": "AWS Lambda usage of a form not documented here",
    "unknown SageMaker usage type": (
        "SageMaker usage that is not Component:ml.type of a known component"
    ),
    "unknown Fargate charge description": "FOCUS Fargate row whose description is of no known form",
    "unknown Lambda charge description": "FOCUS Lambda row whose description is of no known form",
    "SageMaker row without a usage type": "FOCUS SageMaker row with no x_UsageType to read",
    "unknown unit": "a known usage type whose unit (pricing/unit, ConsumedUnit) is not its own",
}
"""Why a usage type was not parsed: the reasons :class:`UnparsedUsageType` carries."""


def _split_region(usage_type: str) -> tuple[str | None, str]:
    """(region, or None when the prefix is unknown; the name after the prefix).

    No prefix is us-east-1, as for EC2 (``Lambda-GB-Second``, ``Train:ml.m5.xlarge``).
    """
    match = _PREFIXED.match(usage_type)
    if match is None:
        return "us-east-1", usage_type
    return PREFIX_TO_REGION.get(match.group("prefix")), match.group("rest")


def parse_compute_usage_type(
    usage_type: str | None, product_code: str | None = None
) -> ComputeUsageType | UnparsedUsageType:
    """Parse a Fargate, Lambda or SageMaker usage type such as ``"USW2-Lambda-GB-Second-ARM"``.

    Parameters
    ----------
    usage_type
        The CUR ``lineItem/UsageType`` (FOCUS ``x_UsageType``).
    product_code
        The CUR ``lineItem/ProductCode`` when known (``"AmazonECS"``, ``"AmazonEKS"``,
        ``"AWSLambda"``, ``"AmazonSageMaker"``): it decides which service's forms apply, and
        names the reason of an unknown form. ``None`` tries every form.

    Returns
    -------
    ComputeUsageType | UnparsedUsageType
        The parsed usage type, or why it could not be parsed (never an exception).
    """
    text = "" if usage_type is None else str(usage_type).strip()
    service = PRODUCT_CODE_SERVICE.get(product_code or "") if product_code else None
    if product_code and service is None:
        return UnparsedUsageType(text, "unknown service")
    if not text:
        return UnparsedUsageType(text, "empty usage type")
    region, name = _split_region(text)
    if "DataTransfer" in name or name.endswith("-Bytes"):
        return UnparsedUsageType(text, "data transfer")
    if region is None:
        return UnparsedUsageType(text, "unknown region prefix")
    rule = _BY_NAME.get(name)
    instance_type = ""
    if rule is None and ":" in name:
        component, _, rest = name.partition(":")
        instance = _ML_INSTANCE.match(rest)
        if component in _SAGEMAKER_BY_COMPONENT and instance is not None:
            rule = _SAGEMAKER_BY_COMPONENT[component]
            instance_type = instance.group("type")
    if rule is None or (service is not None and rule.service != service):
        return UnparsedUsageType(text, _unknown_reason(service, name))
    return ComputeUsageType(
        usage_type=text,
        service=rule.service,
        usage_kind=rule.usage_kind,
        unit=rule.unit,
        region=region,
        architecture=rule.architecture,
        platform_or_component=rule.platform_or_component,
        instance_type=instance_type,
        sp_eligible=rule.sp_eligible,
    )


def _unknown_reason(service: ComputeService | None, name: str) -> str:
    """The reason for a name no rule reads, by the service it was billed under."""
    if "Fargate" in name and service in ("fargate", None):
        return "unknown Fargate usage type"
    if service == "fargate":
        return "not Fargate usage"
    if service == "lambda" or (service is None and ("Lambda" in name or "Request" in name)):
        return "unknown Lambda usage type"
    if service == "sagemaker" or (service is None and ":ml." in name):
        return "unknown SageMaker usage type"
    return "unknown service"


UNIT_SPELLINGS: Final[dict[str, frozenset[str]]] = {
    "vCPU-hours": frozenset({"hours", "hour", "hrs", "vcpu-hours", "vcpu-hour"}),
    "GB-hours": frozenset({"hours", "hour", "hrs", "gb-hours", "gb-hour"}),
    "GB-seconds": frozenset(
        {"seconds", "second", "gb-seconds", "gb-second", "lambda-gb-second", "lambda-gb-seconds"}
    ),
    "requests": frozenset({"requests", "request"}),
    "instance-hours": frozenset({"hours", "hour", "hrs", "instance-hours"}),
}
"""How bills spell each unit (lower case): CUR ``pricing/unit`` (``hours``, ``Lambda-GB-Second``,
``Requests``, ``Hrs``) and FOCUS ``ConsumedUnit`` (the FOCUS 1.0 sample writes ``Hours`` for
Fargate GB-hours, ``Seconds`` for Lambda GB-seconds, ``Lambda-GB-Seconds``, ``Requests``)."""


def unit_matches(bill_unit: str | None, unit: str) -> bool:
    """Whether a bill's unit (``None`` or empty: not given) is a spelling of ``unit``."""
    text = "" if bill_unit is None else str(bill_unit).strip().lower()
    return not text or text in UNIT_SPELLINGS.get(unit, frozenset({unit.lower()}))


_FOCUS_FARGATE: Final = re.compile(
    r"^AWS Fargate - (?:(?P<variant>ARM|Windows) - )?(?P<resource>vCPU|Memory)\s+-"
)
_FOCUS_LAMBDA: Final = re.compile(
    r"^AWS Lambda - Total (?P<what>Compute|Requests)(?P<provisioned> \(Provisioned\))?"
    r"(?P<arm> ?\(?ARM\)?)? -"
)
FOCUS_DESCRIPTION_SERVICES: Final[dict[str, ComputeService]] = {
    "Amazon Elastic Container Service": "fargate",
    "Amazon Elastic Container Service for Kubernetes": "fargate",
    "Amazon Elastic Kubernetes Service": "fargate",
    "AWS Lambda": "lambda",
    "Amazon SageMaker": "sagemaker",
    "Amazon SageMaker AI": "sagemaker",
}
"""FOCUS ``ServiceName`` values whose rows this vocabulary reads, and the service they bill."""


def parse_charge_description(
    description: str | None, service: ComputeService, region: str | None
) -> ComputeUsageType | UnparsedUsageType:
    """Parse an AWS FOCUS ``ChargeDescription`` when the export has no ``x_UsageType``.

    The forms are those of AWS's own FOCUS 1.0 rows (the FOCUS 1.0 sample data,
    ``tests/data/focus``): ``AWS Fargate - vCPU  - US West 2 (Oregon)``, ``AWS Fargate - ARM -
    Memory - US West (Oregon)``, ``AWS Lambda - Total Compute - US West (Oregon)-Tier-1``,
    ``AWS Lambda - Total Compute (Provisioned) - ...``, ``AWS Lambda - Total Requests - ...``.
    The rules are those of :func:`parse_compute_usage_type` for the usage types these
    descriptions stand for (``Fargate[-ARM|-Windows]-vCPU-Hours:perCPU`` / ``-GB-Hours``,
    ``Lambda-GB-Second``, ``Lambda-Provisioned-GB-Second``, ``Request``). A ``Windows`` Fargate
    variant and an ``ARM`` Lambda suffix are read by analogy (no real row seen). SageMaker rows
    need ``x_UsageType``.

    Parameters
    ----------
    description
        The row's ``ChargeDescription``.
    service
        The service its ``ServiceName`` bills (:data:`FOCUS_DESCRIPTION_SERVICES`).
    region
        The row's ``RegionId``.

    Returns
    -------
    ComputeUsageType | UnparsedUsageType
        As :func:`parse_compute_usage_type`; ``usage_type`` is the usage type the description
        stands for (prefix from ``region``), or the description when unparsed.
    """
    text = "" if description is None else str(description).strip()
    if "data transfer" in text.lower():
        return UnparsedUsageType(text, "data transfer")
    prefix = _REGION_TO_PREFIX.get(region or "")
    name = _description_usage_name(text, service)
    if name is None and service == "fargate" and not text.startswith("AWS Fargate"):
        return UnparsedUsageType(text, "not Fargate usage")
    if name is None:
        return UnparsedUsageType(text, _DESCRIPTION_REASONS[service])
    if prefix is None:
        return UnparsedUsageType(text, "unknown region prefix")
    return parse_compute_usage_type(f"{prefix}-{name}")


_DESCRIPTION_REASONS: Final[dict[str, str]] = {
    "fargate": "unknown Fargate charge description",
    "lambda": "unknown Lambda charge description",
    "sagemaker": "SageMaker row without a usage type",
}


def _description_usage_name(text: str, service: ComputeService) -> str | None:
    """The usage type (without region prefix) that a FOCUS charge description stands for."""
    if service == "fargate":
        match = _FOCUS_FARGATE.match(text)
        if match is None:
            return None
        variant = f"{match.group('variant')}-" if match.group("variant") else ""
        if match.group("resource") == "vCPU":
            return f"Fargate-{variant}vCPU-Hours:perCPU"
        return f"Fargate-{variant}GB-Hours"
    if service == "lambda":
        match = _FOCUS_LAMBDA.match(text)
        if match is None:
            return None
        arm = "-ARM" if match.group("arm") else ""
        if match.group("what") == "Requests":
            return None if match.group("provisioned") else f"Request{arm}"
        if match.group("provisioned"):
            return f"Lambda-Provisioned-GB-Second{arm}"
        return f"Lambda-GB-Second{arm}"
    return None


__all__ = [
    "COMPUTE_USAGE_RULES",
    "FOCUS_DESCRIPTION_SERVICES",
    "PRODUCT_CODE_SERVICE",
    "SAGEMAKER_COMPONENTS",
    "UNIT_SPELLINGS",
    "UNPARSED_REASONS",
    "ComputeService",
    "ComputeUsageType",
    "SavingsPlanEligibility",
    "UnparsedUsageType",
    "UsageRule",
    "parse_charge_description",
    "parse_compute_usage_type",
    "unit_matches",
]
