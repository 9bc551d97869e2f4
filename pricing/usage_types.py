"""EC2 usage types and operations -> region, instance type, platform and tenancy.

A CUR or Price List ``usageType`` is ``[PREFIX-]Kind:instance_type``: ``BoxUsage:m5.large``
(us-east-1, shared tenancy), ``USE2-BoxUsage:c5.xlarge``, ``EUW2-DedicatedUsage:r5.large``. The
platform comes from the ``operation`` (``RunInstances:0002`` is Windows). Only ``BoxUsage`` and
``DedicatedUsage`` are instance usage that RIs and Savings Plans cover; the other kinds (Spot,
dedicated hosts, capacity reservations, RI fees) are named so callers can report what they excluded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import pandas as pd

from core.errors import CommitoptInputError
from pricing.platforms import OPERATION_TO_PLATFORM, platform_from_operation
from pricing.regions import PREFIX_TO_REGION, region_from_prefix

INSTANCE_USAGE_TENANCY: Final[dict[str, str]] = {
    "BoxUsage": "Shared",
    "DedicatedUsage": "Dedicated",
}
"""Usage kinds that are EC2 instance-hours a commitment can cover, and their tenancy."""

_USAGE_TYPE_PATTERN: Final = re.compile(
    r"^(?:(?P<prefix>[A-Z]{2,4}\d?)-)?(?P<kind>[A-Za-z]+):(?P<instance_type>[a-z0-9\-]+\.[a-z0-9\-]+)$"
)


@dataclass(frozen=True, slots=True)
class InstanceUsageType:
    """A parsed EC2 instance usage type.

    Attributes
    ----------
    region
        Region code, e.g. ``"eu-west-2"``.
    kind
        ``"BoxUsage"``, ``"DedicatedUsage"``, ``"SpotUsage"``, ``"HeavyUsage"``, ...
    instance_type
        E.g. ``"t2.micro"``.
    tenancy
        ``"Shared"`` or ``"Dedicated"`` for instance usage, else ``None``.
    """

    region: str
    kind: str
    instance_type: str
    tenancy: str | None

    @property
    def is_instance_usage(self) -> bool:
        """Whether this is on-demand-priced instance usage (BoxUsage or DedicatedUsage)."""
        return self.kind in INSTANCE_USAGE_TENANCY


def parse_usage_type(usage_type: str) -> InstanceUsageType:
    """Parse an EC2 usage type such as ``"EUW2-BoxUsage:t2.micro"``.

    Raises
    ------
    CommitoptInputError
        When the text is not ``[PREFIX-]Kind:type`` or the prefix is unknown.
    """
    match = _USAGE_TYPE_PATTERN.match(str(usage_type).strip())
    if match is None:
        raise CommitoptInputError(
            f"{usage_type!r} is not an EC2 instance usage type such as 'USE2-BoxUsage:m5.large'"
        )
    kind = match.group("kind")
    return InstanceUsageType(
        region=region_from_prefix(match.group("prefix") or ""),
        kind=kind,
        instance_type=match.group("instance_type"),
        tenancy=INSTANCE_USAGE_TENANCY.get(kind),
    )


@dataclass(frozen=True, slots=True)
class InstanceKey:
    """The key the engine prices and commits on: region, instance type, platform, tenancy."""

    region: str
    instance_type: str
    platform: str
    tenancy: str


def key_from_usage_type(usage_type: str, operation: str) -> InstanceKey:
    """Map one CUR / Price List ``usageType`` and ``operation`` to an instance key.

    Raises
    ------
    CommitoptInputError
        When the usage type is not BoxUsage / DedicatedUsage or the operation is unknown.
    """
    parsed = parse_usage_type(usage_type)
    if parsed.tenancy is None:
        raise CommitoptInputError(
            f"{usage_type!r} is {parsed.kind}, not instance usage that commitments cover "
            "(only BoxUsage and DedicatedUsage are)"
        )
    return InstanceKey(
        region=parsed.region,
        instance_type=parsed.instance_type,
        platform=platform_from_operation(operation),
        tenancy=parsed.tenancy,
    )


def keys_from_usage_types(usage_types: pd.Series, operations: pd.Series) -> pd.DataFrame:
    """Vectorised :func:`key_from_usage_type` over whole columns.

    Each distinct (usage type, operation) pair is parsed once, so a multi-million-row CUR column
    costs as much as its few hundred distinct pairs.

    Parameters
    ----------
    usage_types, operations
        Aligned columns of a CUR or Price List.

    Returns
    -------
    pandas.DataFrame
        Columns ``region``, ``instance_type``, ``platform``, ``tenancy``, ``kind`` (string dtype),
        with ``<NA>`` where a row cannot be mapped (not instance usage, unknown prefix or
        operation), so callers can count and report the excluded rows.
    """
    pairs = pd.DataFrame(
        {
            "usage_type": pd.Series(usage_types, dtype="string").reset_index(drop=True),
            "operation": pd.Series(operations, dtype="string").reset_index(drop=True).str.strip(),
        }
    )
    distinct = pairs.drop_duplicates().reset_index(drop=True)
    mapped = pd.concat(
        [distinct, _map_distinct(distinct["usage_type"], distinct["operation"])], axis=1
    )
    keys = pairs.merge(mapped, how="left", on=["usage_type", "operation"], validate="many_to_one")
    return keys.drop(columns=["usage_type", "operation"])


def _map_distinct(usage_types: pd.Series, operations: pd.Series) -> pd.DataFrame:
    """Map distinct (usage type, operation) pairs; the row-wise core of keys_from_usage_types."""
    parts = usage_types.str.extract(_USAGE_TYPE_PATTERN.pattern)
    prefix = parts["prefix"].fillna("")
    region = prefix.map(PREFIX_TO_REGION).astype("string")
    region = region.mask(prefix.eq("") & parts["kind"].notna(), "us-east-1")
    kind = parts["kind"].astype("string")
    tenancy = kind.map(INSTANCE_USAGE_TENANCY).astype("string")
    platform = operations.map(OPERATION_TO_PLATFORM).astype("string")
    frame = pd.DataFrame(
        {
            "region": region,
            "instance_type": parts["instance_type"].astype("string"),
            "platform": platform,
            "tenancy": tenancy,
            "kind": kind,
        }
    )
    unmapped = frame[["region", "platform", "tenancy"]].isna().any(axis=1)
    frame.loc[unmapped, ["region", "instance_type", "platform", "tenancy"]] = pd.NA
    return frame
