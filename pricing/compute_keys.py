"""Fargate, Lambda and SageMaker usage as keys of the one key vocabulary.

Every engine (usage table, catalog, optimizer, billing kernel) works on keys
``(account_id, region, instance_type, platform, tenancy)`` and quantities per hour. The usage
Savings Plans can cover beyond EC2 fits that shape as follows:

* **Fargate**: ``instance_type`` ``fargate.vcpu`` [vCPU-hours] or ``fargate.memory``
  [GB-hours]; ``platform`` ``fargate-linux`` or ``fargate-windows``.
* **Lambda**: ``lambda.duration``, ``lambda.provisioned-concurrency`` or
  ``lambda.provisioned-duration`` [GB-hours]; ``platform`` ``lambda``.
* **SageMaker**: the ML instance type (``ml.m5.xlarge``) [instance-hours]; ``platform``
  ``sagemaker-<component>`` (``sagemaker-training``, ``sagemaker-hosting``, ...).
* ``tenancy``: the architecture, ``x86_64`` or ``arm64`` (a SageMaker type's from its family:
  Graviton families such as ``ml.m6g``, ``ml.c7g`` are ``arm64``).

Lambda's GB-seconds are kept in GB-hours
(÷ 3,600) so that every rate is in USD per unit-hour, as for instance-hours (Lambda's
0.0000166667 USD per GB-second is 0.06 USD per GB-hour): ``quantity`` × ``on_demand_usd_per_hour``
is the hour's on-demand cost for every key, and the linear program's coefficients stay near 1.

Only the usage a Savings Plan can cover becomes a key (:data:`pricing.compute_usage_types`'s
``sp_eligible`` not ``none``): Compute Savings Plans cover the Fargate and Lambda keys, SageMaker
Savings Plans the SageMaker keys. None of these services sells reservations, so a key counts one
unit per unit-hour and is never size-flexible.

:func:`key_of_usage_type` maps a usage type (``USE1-Fargate-ARM-vCPU-Hours:perCPU``) to its key
and the factor from the bill's unit to the key's; :func:`usage_type_of_key` maps a key back to
the usage type the Price List and the Savings Plans offer files price it under, so on-demand and
Savings Plans rates join on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import pandas as pd

from pricing.compute_usage_types import (
    SAGEMAKER_COMPONENTS,
    ComputeUsageType,
    parse_compute_usage_type,
)
from pricing.regions import REGION_TO_PREFIX

FARGATE: Final = "AWSFargate"
"""Service label of Fargate keys (its usage is billed under the AmazonECS and AmazonEKS codes)."""
LAMBDA: Final = "AWSLambda"
"""Service label (and product code) of Lambda keys."""
SAGEMAKER: Final = "AmazonSageMaker"
"""Service label (and product code) of SageMaker ML instance keys."""

COMPUTE_SERVICES: Final = (FARGATE, LAMBDA)
"""Services whose usage Compute Savings Plans cover besides EC2."""
KEY_SERVICES: Final = (FARGATE, LAMBDA, SAGEMAKER)
"""Every service this module gives keys to."""

SERVICE_LABELS: Final[dict[str, str]] = {
    FARGATE: "AWS Fargate",
    LAMBDA: "AWS Lambda",
    SAGEMAKER: "Amazon SageMaker",
}
"""Readable service names."""

ARCHITECTURES: Final = ("x86_64", "arm64")
"""The ``tenancy`` of a Fargate, Lambda or SageMaker key: its processor architecture."""

SAGEMAKER_PREFIX: Final = "ml."
"""The prefix of SageMaker ML instance types (``ml.m5.xlarge``: family ``ml.m5``)."""

_ML_FAMILY: Final = re.compile(r"^(?P<series>[a-z]+)(?P<generation>\d+)(?P<attributes>[a-z0-9-]*)$")

GB_SECONDS_PER_GB_HOUR: Final = 3600.0
"""A GB-hour is 3,600 GB-seconds: Lambda's usage and rates are kept per GB-hour."""


@dataclass(frozen=True, slots=True)
class KeyKind:
    """One non-instance key type: what it measures and how the bill's amount converts to it.

    Attributes
    ----------
    instance_type
        The key's ``instance_type`` (``"fargate.vcpu"``).
    service
        :data:`FARGATE` or :data:`LAMBDA`.
    usage_kind
        The kind of :mod:`pricing.compute_usage_types` it stands for (``"vcpu"``).
    unit
        The key's quantity unit (``"vCPU-hours"``, ``"GB-hours"``).
    per_bill_unit
        Key units per unit of the bill's usage amount (1 / 3,600 for GB-seconds).
    """

    instance_type: str
    service: str
    usage_kind: str
    unit: str
    per_bill_unit: float


KEY_KINDS: Final[tuple[KeyKind, ...]] = (
    KeyKind("fargate.vcpu", FARGATE, "vcpu", "vCPU-hours", 1.0),
    KeyKind("fargate.memory", FARGATE, "memory", "GB-hours", 1.0),
    KeyKind("lambda.duration", LAMBDA, "duration", "GB-hours", 1 / GB_SECONDS_PER_GB_HOUR),
    KeyKind(
        "lambda.provisioned-concurrency",
        LAMBDA,
        "provisioned-concurrency",
        "GB-hours",
        1 / GB_SECONDS_PER_GB_HOUR,
    ),
    KeyKind(
        "lambda.provisioned-duration",
        LAMBDA,
        "provisioned-duration",
        "GB-hours",
        1 / GB_SECONDS_PER_GB_HOUR,
    ),
)
"""The Fargate and Lambda key types (SageMaker keys are ML instance types)."""

KIND_BY_TYPE: Final = {kind.instance_type: kind for kind in KEY_KINDS}

_FAMILY_SERVICE: Final = {kind.instance_type.split(".")[0]: kind.service for kind in KEY_KINDS}
_KIND_BY_USAGE: Final = {(kind.service, kind.usage_kind): kind for kind in KEY_KINDS}
_SERVICE_OF_VOCABULARY: Final = {"fargate": FARGATE, "lambda": LAMBDA, "sagemaker": SAGEMAKER}
_UNIT_BY_TYPE: Final = {kind.instance_type: kind.unit for kind in KEY_KINDS}

INSTANCE_HOURS: Final = "instance-hours"
"""The unit of every other key's quantity (EC2, database and SageMaker instances and nodes)."""


def quantity_units(instance_types: pd.Series) -> pd.Series:
    """The unit each key's ``quantity`` sums to over its hours: ``vCPU-hours`` or ``GB-hours``
    for Fargate and Lambda keys (:data:`KEY_KINDS`), else :data:`INSTANCE_HOURS`.

    Examples
    --------
    >>> quantity_units(pd.Series(["m5.large", "fargate.vcpu", "lambda.duration"])).tolist()
    ['instance-hours', 'vCPU-hours', 'GB-hours']
    """
    units = instance_types.astype("object").map(_UNIT_BY_TYPE)
    return units.fillna(INSTANCE_HOURS).astype("object")


UNIT_COLUMNS: Final = {
    INSTANCE_HOURS: "instance_hours",
    "vCPU-hours": "vcpu_hours",
    "GB-hours": "gb_hours",
}
"""Each quantity unit -> the column that totals it in a report (``instance_hours`` …)."""


def unit_sum_sql(unit: str, *, table: str = "", where: str = "TRUE") -> str:
    """A SQL aggregate totalling ``quantity`` over the keys whose unit is ``unit`` (0 when none).

    Parameters
    ----------
    unit
        A unit of :data:`UNIT_COLUMNS`.
    table
        The usage table's alias (``"h"``), or empty when the columns are unambiguous.
    where
        A further condition on the rows summed.

    Examples
    --------
    >>> unit_sum_sql("vCPU-hours")
    "coalesce(sum(quantity) FILTER (WHERE (TRUE) AND instance_type IN ('fargate.vcpu')), 0)"
    """
    prefix = f"{table}." if table else ""
    column = f"{prefix}instance_type"
    if unit == INSTANCE_HOURS:
        others = ", ".join(f"'{kind.instance_type}'" for kind in KEY_KINDS)
        keys = f"{column} NOT IN ({others})"
    else:
        types = ", ".join(f"'{kind.instance_type}'" for kind in KEY_KINDS if kind.unit == unit)
        if not types:
            raise ValueError(f"unknown unit {unit!r}; use one of {', '.join(UNIT_COLUMNS)}")
        keys = f"{column} IN ({types})"
    return f"coalesce(sum({prefix}quantity) FILTER (WHERE ({where}) AND {keys}), 0)"


def quantity_by_unit(
    instance_types: pd.Series, quantity: pd.Series
) -> tuple[tuple[str, float], ...]:
    """``quantity`` summed by the unit of each row's key (:func:`quantity_units`), sorted by unit.

    Examples
    --------
    >>> quantity_by_unit(pd.Series(["m5.large", "fargate.vcpu", "c5.large"]), pd.Series([2, 3, 4]))
    (('instance-hours', 6.0), ('vCPU-hours', 3.0))
    """
    units = quantity_units(instance_types.reset_index(drop=True))
    sums = pd.Series(quantity.to_numpy(dtype=float)).groupby(units.to_numpy()).sum()
    return tuple((str(unit), float(total)) for unit, total in sums.sort_index().items())


FARGATE_PLATFORMS: Final[dict[str, str]] = {"Linux": "fargate-linux", "Windows": "fargate-windows"}
"""Fargate's operating system -> the key's platform."""
LAMBDA_PLATFORM: Final = "lambda"
"""The platform of every Lambda key."""
SAGEMAKER_PLATFORMS: Final[dict[str, str]] = {
    component: f"sagemaker-{component}"
    for component, eligibility in SAGEMAKER_COMPONENTS.values()
    if eligibility == "sagemaker"
}
"""SageMaker component (``training``) -> the key's platform (``sagemaker-training``): the
components SageMaker Savings Plans cover."""

PLATFORM_SERVICE: Final[dict[str, str]] = {
    **{platform: FARGATE for platform in FARGATE_PLATFORMS.values()},
    LAMBDA_PLATFORM: LAMBDA,
    **{platform: SAGEMAKER for platform in SAGEMAKER_PLATFORMS.values()},
}
"""Each platform of these services -> its service."""

COMPUTE_PLATFORM_NAMES: Final = tuple(PLATFORM_SERVICE)
"""Every ``platform`` a Fargate, Lambda or SageMaker key may take."""


def service_of_type(instance_type: str) -> str | None:
    """The service of a Fargate, Lambda or SageMaker key type, or ``None`` for another type.

    Examples
    --------
    >>> [service_of_type(t) for t in ("fargate.vcpu", "ml.m5.xlarge", "m5.large")]
    ['AWSFargate', 'AmazonSageMaker', None]
    >>> service_of_type("lambda"), service_of_type("ml.m5")  # families
    ('AWSLambda', 'AmazonSageMaker')
    """
    text = str(instance_type)
    kind = KIND_BY_TYPE.get(text)
    if kind is not None:
        return kind.service
    if text in _FAMILY_SERVICE:  # a key's family (``fargate``), as ledgers carry it
        return _FAMILY_SERVICE[text]
    if text.startswith(SAGEMAKER_PREFIX) and text.count(".") in (1, 2):
        return SAGEMAKER  # ``ml.m5.xlarge`` or its family ``ml.m5``
    return None


def sagemaker_architecture(instance_type: str) -> str:
    """``arm64`` for Graviton ML instance families (``ml.m6g``, ``ml.c7gn``), else ``x86_64``.

    A family is Graviton when its generation is 6 or later and its attributes start with
    ``g`` (``ml.g5`` is an NVIDIA GPU family: series ``g``, no attributes).

    Examples
    --------
    >>> sagemaker_architecture("ml.m6g.large"), sagemaker_architecture("ml.g5.xlarge")
    ('arm64', 'x86_64')
    """
    family = str(instance_type).removeprefix(SAGEMAKER_PREFIX).split(".", 1)[0]
    match = _ML_FAMILY.match(family)
    if match is None:
        return "x86_64"
    graviton = int(match.group("generation")) >= 6 and match.group("attributes").startswith("g")
    return "arm64" if graviton else "x86_64"


@dataclass(frozen=True, slots=True)
class ComputeKey:
    """The key a Fargate, Lambda or SageMaker usage type's usage is demand of.

    Attributes
    ----------
    region, instance_type, platform, tenancy
        The key (the account comes from the line item).
    per_bill_unit
        Key units per unit of the line item's usage amount.
    """

    region: str
    instance_type: str
    platform: str
    tenancy: str
    per_bill_unit: float


def key_of(parsed: ComputeUsageType) -> ComputeKey | None:
    """The key of a parsed usage type, or ``None`` when no Savings Plan covers it.

    Examples
    --------
    >>> from pricing.compute_usage_types import parse_compute_usage_type
    >>> key_of(parse_compute_usage_type("USW2-Fargate-ARM-GB-Hours", "AmazonECS"))
    ComputeKey(region='us-west-2', instance_type='fargate.memory', platform='fargate-linux', \
tenancy='arm64', per_bill_unit=1.0)
    """
    if parsed.sp_eligible == "none":
        return None
    service = _SERVICE_OF_VOCABULARY[parsed.service]
    if service == SAGEMAKER:
        platform = SAGEMAKER_PLATFORMS.get(parsed.platform_or_component)
        if platform is None:
            return None
        return ComputeKey(
            parsed.region,
            parsed.instance_type,
            platform,
            sagemaker_architecture(parsed.instance_type),
            1.0,
        )
    kind = _KIND_BY_USAGE.get((service, parsed.usage_kind))
    if kind is None:
        return None
    platform = (
        FARGATE_PLATFORMS[parsed.platform_or_component] if service == FARGATE else LAMBDA_PLATFORM
    )
    return ComputeKey(
        parsed.region, kind.instance_type, platform, parsed.architecture, kind.per_bill_unit
    )


def key_of_usage_type(usage_type: str, product_code: str | None = None) -> ComputeKey | None:
    """The key of a usage type's usage (``None``: not a covered usage type of these services).

    Examples
    --------
    >>> key_of_usage_type("USE1-Lambda-GB-Second-ARM", "AWSLambda").instance_type
    'lambda.duration'
    >>> key_of_usage_type("USE1-Request", "AWSLambda") is None  # requests are not discounted
    True
    """
    parsed = parse_compute_usage_type(usage_type, product_code)
    return key_of(parsed) if isinstance(parsed, ComputeUsageType) else None


_SAGEMAKER_USAGE_COMPONENT: Final[dict[str, str]] = {
    f"sagemaker-{component}": name
    for name, (component, eligibility) in SAGEMAKER_COMPONENTS.items()
    if eligibility == "sagemaker"
}

_FARGATE_INFIX: Final[dict[tuple[str, str], str]] = {
    ("fargate-linux", "x86_64"): "",
    ("fargate-linux", "arm64"): "ARM-",
    ("fargate-windows", "x86_64"): "Windows-",
}
_FARGATE_NAME: Final = {
    "fargate.vcpu": "Fargate-{}vCPU-Hours:perCPU",
    "fargate.memory": "Fargate-{}GB-Hours",
}
_LAMBDA_NAME: Final = {
    "lambda.duration": "Lambda-GB-Second{}",
    "lambda.provisioned-concurrency": "Lambda-Provisioned-Concurrency{}",
    "lambda.provisioned-duration": "Lambda-Provisioned-GB-Second{}",
}


def usage_type_of_key(region: str, instance_type: str, platform: str, tenancy: str) -> str | None:
    """The usage type AWS prices a key's usage under (region prefix included), or ``None``.

    SageMaker Studio notebooks are billed as ``Studio:KernelGateway-ml.…``-like types that vary
    by app; their key maps back to ``Studio:ml.…``, the form price files use for the instance.

    Examples
    --------
    >>> usage_type_of_key("us-west-2", "fargate.vcpu", "fargate-linux", "arm64")
    'USW2-Fargate-ARM-vCPU-Hours:perCPU'
    >>> usage_type_of_key("us-east-1", "lambda.duration", "lambda", "arm64")
    'USE1-Lambda-GB-Second-ARM'
    >>> usage_type_of_key("eu-west-1", "ml.m5.xlarge", "sagemaker-training", "x86_64")
    'EU-Train:ml.m5.xlarge'
    """
    prefix = REGION_TO_PREFIX.get(region)
    if prefix is None:
        return None
    if instance_type in _FARGATE_NAME:
        infix = _FARGATE_INFIX.get((platform, tenancy))
        return None if infix is None else f"{prefix}-{_FARGATE_NAME[instance_type].format(infix)}"
    if instance_type in _LAMBDA_NAME and platform == LAMBDA_PLATFORM:
        suffix = {"x86_64": "", "arm64": "-ARM"}.get(tenancy)
        return None if suffix is None else f"{prefix}-{_LAMBDA_NAME[instance_type].format(suffix)}"
    component = _SAGEMAKER_USAGE_COMPONENT.get(platform)
    if component is not None and service_of_type(instance_type) == SAGEMAKER:
        return f"{prefix}-{component}:{instance_type}"
    return None


def key_fits(instance_type: str, platform: str, tenancy: str) -> bool:
    """Whether a key of these services is well formed (its platform of its type's service, its
    tenancy an architecture; Fargate Windows is x86 only, as AWS sells it)."""
    service = service_of_type(instance_type)
    if service is None or PLATFORM_SERVICE.get(platform) != service:
        return False
    if tenancy not in ARCHITECTURES:
        return False
    return not (platform == FARGATE_PLATFORMS["Windows"] and tenancy != "x86_64")


__all__ = [
    "ARCHITECTURES",
    "COMPUTE_PLATFORM_NAMES",
    "COMPUTE_SERVICES",
    "FARGATE",
    "INSTANCE_HOURS",
    "KEY_KINDS",
    "KEY_SERVICES",
    "LAMBDA",
    "SAGEMAKER",
    "UNIT_COLUMNS",
    "ComputeKey",
    "KeyKind",
    "key_fits",
    "key_of",
    "key_of_usage_type",
    "quantity_by_unit",
    "quantity_units",
    "sagemaker_architecture",
    "service_of_type",
    "unit_sum_sql",
    "usage_type_of_key",
]
