"""The value types of a guarded purchase: one AWS call, a live offering, and the refusals.

Kept apart from :mod:`commitopt.purchase` (the EC2 and Savings Plans flow) so that
:mod:`commitopt.purchase_databases` (RDS and ElastiCache) builds the same calls without importing
the flow that dispatches to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from core.errors import CommitoptInputError

TERM_SECONDS: Final[dict[int, int]] = {1: 31_536_000, 3: 94_608_000}
LOOKED_UP: Final = "<looked up at execution>"


class PurchaseError(CommitoptInputError):
    """A purchase refused before or during execution (nothing more is bought)."""


class PriceMovedError(PurchaseError):
    """A live price differs from the plan's by more than the tolerance."""


class LineInDoubtError(PurchaseError):
    """An earlier run's purchase of a line cannot be settled automatically."""


@dataclass(frozen=True)
class AwsCall:
    """One AWS API call: service, region, boto3 method and parameters.

    Attributes
    ----------
    service
        The boto3 service name: ``"ec2"``, ``"savingsplans"``, ``"rds"`` or ``"elasticache"``.
    region
        The client's region.
    operation
        The boto3 method name (``purchase_reserved_instances_offering``).
    parameters
        Keyword arguments, exactly as passed (an id not yet looked up is :data:`LOOKED_UP`).
    permission
        The IAM action it needs.
    """

    service: str
    region: str
    operation: str
    parameters: Mapping[str, Any]
    permission: str

    def render(self) -> str:
        """``ec2[us-east-1].purchase_reserved_instances_offering(ReservedInstancesOfferingId=...)``."""
        arguments = ", ".join(
            f"{name}={value}" if value == LOOKED_UP else f"{name}={_literal(value)}"
            for name, value in self.parameters.items()
        )
        return f"{self.service}[{self.region}].{self.operation}({arguments})"

    def to_json(self) -> dict[str, Any]:
        """The call as JSON: service, region, operation, permission and parameters (the AWS
        API's own parameter names, outside commitopt's vocabulary)."""
        return {
            "service": self.service,
            "region": self.region,
            "operation": self.operation,
            "permission": self.permission,
            "parameters": {name: _json_value(value) for name, value in self.parameters.items()},
        }


def _literal(value: Any) -> str:
    return repr(_json_value(value))


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    return value


@dataclass(frozen=True)
class Offering:
    """The live offering found for a line.

    Attributes
    ----------
    offering_id
        ``ReservedInstancesOfferingId`` or the Savings Plan ``offeringId``.
    upfront_usd
        RIs: upfront per instance; Savings Plans: the plan's upfront [USD].
    recurring_usd_per_hour
        RIs: hourly fee per instance; Savings Plans: recurring per hour [USD/h].
    """

    offering_id: str
    upfront_usd: float
    recurring_usd_per_hour: float


__all__ = [
    "LOOKED_UP",
    "TERM_SECONDS",
    "AwsCall",
    "LineInDoubtError",
    "Offering",
    "PriceMovedError",
    "PurchaseError",
]
