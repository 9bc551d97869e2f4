"""Commitment offering vocabulary: terms, payment options, offering classes, Savings Plan types.

AWS spells these several ways across its formats (``"1yr"``, ``"1 yr"``, ``31536000`` seconds,
``"partialUpfront"``, ``"Partial Upfront"``); the parsers here turn each into one canonical value.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Final

from core.errors import CommitoptInputError, param
from core.units import HOURS_PER_YEAR

if TYPE_CHECKING:  # numpy is imported on first use: the command line reads this module at start-up
    import numpy as np
    import numpy.typing as npt

TERM_HOURS: Final[dict[int, int]] = {1: HOURS_PER_YEAR, 3: 3 * HOURS_PER_YEAR}
"""Hours in an RI or Savings Plan term [h], by term length [years]."""

TERM_YEARS: Final = (1, 3)
PAYMENT_OPTIONS: Final = ("No Upfront", "Partial Upfront", "All Upfront")
OFFERING_CLASSES: Final = ("standard", "convertible")
TENANCIES: Final = ("Shared", "Dedicated")

SP_UPFRONT_SHARE: Final[dict[str, float]] = {
    "No Upfront": 0.0,
    "Partial Upfront": 0.5,
    "All Upfront": 1.0,
}
"""Share of a Savings Plan's total commitment paid upfront, by payment option.

AWS Pricing Calculator: "Upfront: Partial Upfront (50% of 3083.52) = 1541.7600 USD".
"""

PARTIAL_UPFRONT_RI_UPFRONT_SHARE: Final = 0.5
"""Share of a Partial Upfront RI's effective cost assumed paid upfront when a source gives only the
effective rate. Real offerings are close to half: c5.large 1-year standard is 223 USD + 0.026 USD/h
(49.4 % upfront), m5.large 252 USD + 0.029 USD/h (49.8 %), c5.xlarge Windows in Tokyo
1,368 USD + 0.156 USD/h (50.0 %)."""

_PAYMENT_ALIASES: Final[dict[str, str]] = {
    "no upfront": "No Upfront",
    "noupfront": "No Upfront",
    "no": "No Upfront",
    "partial upfront": "Partial Upfront",
    "partialupfront": "Partial Upfront",
    "partial": "Partial Upfront",
    "all upfront": "All Upfront",
    "allupfront": "All Upfront",
    "all": "All Upfront",
    # Old RI offering types (pre-2011 "heavy/medium/light utilization") are not sold any more.
}


class CommitmentKind(StrEnum):
    """The kinds of commitment, in the order AWS applies them to an hour of usage.

    The values are the portfolio-JSON spellings (docs/portfolio-format.md); being a
    :class:`~enum.StrEnum`, a kind compares equal to its value. The other spellings convert here
    and only here:

    * :attr:`policy_name`, :meth:`from_policy_name`: the policy's and the CLI's
      ``--instruments`` names ``ri``, ``ec2-sp``, ``compute-sp``;
    * :attr:`savings_plan_type`, :meth:`from_savings_plan_type`: AWS's Savings Plan type of the
      price files and the catalog, ``ec2_instance`` and ``compute``;
    * :attr:`aws_savings_plan_type`: the ``savingsPlanType`` of AWS's Savings Plans API,
      ``EC2Instance`` and ``Compute``;
    * :meth:`parse`: any of these spellings.
    """

    RESERVED_INSTANCE = "reserved_instance"
    """A Reserved Instance (standard or convertible, regional or zonal)."""
    EC2_INSTANCE_SAVINGS_PLAN = "ec2_instance_savings_plan"
    """An EC2 Instance Savings Plan: one instance family in one region."""
    COMPUTE_SAVINGS_PLAN = "compute_savings_plan"
    """A Compute Savings Plan: any family, any region."""
    DATABASE_SAVINGS_PLAN = "database_savings_plan"
    """A Database Savings Plan: database instance usage of eligible engines and classes, any
    region (AWS, December 2025); it covers no EC2 usage, and EC2 Instance and Compute Savings
    Plans cover no database usage, so its place after them changes no bill."""
    SAGEMAKER_SAVINGS_PLAN = "sagemaker_savings_plan"
    """A SageMaker Savings Plan: SageMaker ML instance usage of any family, size, component and
    region; no other Savings Plan covers SageMaker, and it covers nothing else."""

    @property
    def policy_name(self) -> str:
        """The policy's and the CLI's instrument name: ``ri``, ``ec2-sp`` or ``compute-sp``."""
        return _POLICY_NAMES[self]

    @property
    def is_savings_plan(self) -> bool:
        """Whether this kind is a Savings Plan (EC2 Instance or Compute)."""
        return self is not CommitmentKind.RESERVED_INSTANCE

    @property
    def savings_plan_type(self) -> str:
        """AWS's Savings Plan type as the catalog and price files spell it.

        Raises
        ------
        CommitoptInputError
            For :attr:`RESERVED_INSTANCE`, which is no Savings Plan.
        """
        if not self.is_savings_plan:
            raise CommitoptInputError(f"{self.value} is not a Savings Plan; it has no plan type")
        return _SAVINGS_PLAN_TYPES[self]

    @property
    def aws_savings_plan_type(self) -> str:
        """The ``savingsPlanType`` of AWS's Savings Plans API: ``EC2Instance`` or ``Compute``."""
        return _AWS_SAVINGS_PLAN_TYPES[self.savings_plan_type]

    @property
    def application_order(self) -> int:
        """Where AWS applies this kind to an hour: 0 for RIs, then EC2 Instance, then Compute."""
        return _APPLICATION_ORDER[self]

    @classmethod
    def from_policy_name(cls, name: str, parameter: str = "instruments") -> CommitmentKind:
        """The kind of a policy instrument name (``ri``, ``ec2-sp``, ``compute-sp``).

        Raises
        ------
        CommitoptInputError
            For another name; the message names ``parameter``.
        """
        for kind, policy_name in _POLICY_NAMES.items():
            if policy_name == name:
                return kind
        raise CommitoptInputError(
            f"{param(parameter)}: unknown instrument {name!r}; use {', '.join(POLICY_NAMES)}"
        )

    @classmethod
    def from_savings_plan_type(cls, plan_type: str, parameter: str = "plan_type") -> CommitmentKind:
        """The kind of one of AWS's Savings Plan type spellings (``compute``, ``EC2Instance``, ...).

        Raises
        ------
        CommitoptInputError
            For another spelling; the message names ``parameter``.
        """
        found = _SP_TYPE_ALIASES.get(str(plan_type).strip().lower().replace(" ", ""))
        if found is None:
            raise CommitoptInputError(
                f"{param(parameter)}: unknown Savings Plan type {plan_type!r}; "
                "use 'Compute', 'EC2Instance', 'Database' or 'SageMaker'"
            )
        return found

    @classmethod
    def parse(cls, text: str, parameter: str = "kind") -> CommitmentKind:
        """The kind of any spelling: portfolio JSON, policy name or Savings Plan type.

        Raises
        ------
        CommitoptInputError
            For an unknown spelling; the message names ``parameter`` and the accepted values.
        """
        key = str(text).strip()
        for kind in cls:
            if key in (kind.value, kind.policy_name):
                return kind
        found = _SP_TYPE_ALIASES.get(key.lower().replace(" ", ""))
        if found is None:
            raise CommitoptInputError(
                f"{param(parameter)}: unknown commitment kind {text!r}; "
                f"use {', '.join(cls)} (or {', '.join(POLICY_NAMES)})"
            )
        return found


_POLICY_NAMES: Final[dict[CommitmentKind, str]] = {
    CommitmentKind.RESERVED_INSTANCE: "ri",
    CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN: "ec2-sp",
    CommitmentKind.COMPUTE_SAVINGS_PLAN: "compute-sp",
    CommitmentKind.DATABASE_SAVINGS_PLAN: "database-sp",
    CommitmentKind.SAGEMAKER_SAVINGS_PLAN: "sagemaker-sp",
}
POLICY_NAMES: Final = tuple(_POLICY_NAMES.values())
"""The policy's and the CLI's instrument names, in application order."""

_SAVINGS_PLAN_TYPES: Final[dict[CommitmentKind, str]] = {
    CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN: "ec2_instance",
    CommitmentKind.COMPUTE_SAVINGS_PLAN: "compute",
    CommitmentKind.DATABASE_SAVINGS_PLAN: "database",
    CommitmentKind.SAGEMAKER_SAVINGS_PLAN: "sagemaker",
}
_AWS_SAVINGS_PLAN_TYPES: Final[dict[str, str]] = {
    "ec2_instance": "EC2Instance",
    "compute": "Compute",
    "database": "Database",
    "sagemaker": "SageMaker",
}
_APPLICATION_ORDER: Final[dict[CommitmentKind, int]] = {
    kind: order for order, kind in enumerate(CommitmentKind)
}

SAVINGS_PLAN_TYPES: Final = (
    CommitmentKind.COMPUTE_SAVINGS_PLAN.savings_plan_type,
    CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN.savings_plan_type,
    CommitmentKind.DATABASE_SAVINGS_PLAN.savings_plan_type,
    CommitmentKind.SAGEMAKER_SAVINGS_PLAN.savings_plan_type,
)
"""AWS's Savings Plan types as the catalog's ``plan_type`` column spells them."""

_SP_TYPE_ALIASES: Final[dict[str, CommitmentKind]] = {
    spelling: kind
    for kind in (
        CommitmentKind.COMPUTE_SAVINGS_PLAN,
        CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN,
        CommitmentKind.DATABASE_SAVINGS_PLAN,
        CommitmentKind.SAGEMAKER_SAVINGS_PLAN,
    )
    for spelling in (
        kind.savings_plan_type,
        kind.savings_plan_type.replace("_", ""),
        kind.savings_plan_type.replace("_", "") + "savingsplans",
        kind.value,
        kind.policy_name,
    )
}
"""Every spelling of a Savings Plan type (lower case, spaces dropped) → its kind."""


def parse_payment_option(text: str) -> str:
    """Return the canonical payment option (``"No Upfront"``, ``"Partial Upfront"``, ...).

    Parameters
    ----------
    text
        Any of AWS's spellings: ``"Partial Upfront"``, ``"partialUpfront"``, ``"partial"``.

    Raises
    ------
    CommitoptInputError
        For an unknown payment option.
    """
    key = str(text).strip().lower().replace("_", " ").replace("-", " ")
    found = _PAYMENT_ALIASES.get(key) or _PAYMENT_ALIASES.get(key.replace(" ", ""))
    if found is None:
        raise CommitoptInputError(
            f"unknown payment option {text!r}; use one of {', '.join(PAYMENT_OPTIONS)}"
        )
    return found


def parse_term_years(value: str | int | float) -> int:
    """Return the term in years (1 or 3) from ``"1yr"``, ``"3 yr"``, ``1``, or seconds.

    Raises
    ------
    CommitoptInputError
        For any other duration.
    """
    text = str(value).strip().lower().replace(" ", "")
    for suffix in ("years", "year", "yrs", "yr", "y"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
            break
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if number in (31_536_000, 31_536_000.0):
        return 1
    if number in (94_608_000, 94_608_000.0):
        return 3
    if number in (1.0, 3.0):
        return int(number)
    raise CommitoptInputError(
        f"unknown commitment term {value!r}; AWS sells 1-year and 3-year terms"
    )


def parse_offering_class(text: str) -> str:
    """Return ``"standard"`` or ``"convertible"`` from any capitalisation."""
    key = str(text).strip().lower()
    if key not in OFFERING_CLASSES:
        raise CommitoptInputError(
            f"unknown RI offering class {text!r}; use 'standard' or 'convertible'"
        )
    return key


def parse_savings_plan_type(text: str) -> str:
    """The catalog's plan type (``compute``, ``ec2_instance``, ``database``, ``sagemaker``) from
    AWS's or commitopt's spellings."""
    key = str(text).strip().lower().replace(" ", "")
    found = _SP_TYPE_ALIASES.get(key)
    if found is None:
        raise CommitoptInputError(
            f"unknown Savings Plan type {text!r}; use 'Compute', 'EC2Instance', 'Database' or "
            "'SageMaker'"
        )
    return found.savings_plan_type


SP_STEP_USD: Final = 0.001
"""AWS's Savings Plan purchase granularity: commitments are bought in steps of 0.001 USD/h."""
_RI_TOLERANCE: Final = 1e-9
"""Below a whole RI by at most this still counts as the whole RI [RIs]."""
_SP_TOLERANCE: Final = 1e-6
"""Below a whole step by at most this share of a step still counts as the step [1]."""


def floor_to_sp_step(values_usd_per_hour: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Savings Plan commitments rounded down to AWS's step of :data:`SP_STEP_USD` [USD/h].

    A tiny tolerance (1e-6 of a step) keeps commitments that are whole steps up to
    floating-point error.
    """
    import numpy as np

    values = np.asarray(values_usd_per_hour, dtype=np.float64)
    return np.asarray(np.floor(values / SP_STEP_USD + _SP_TOLERANCE) * SP_STEP_USD)


def floor_to_whole_ris(counts: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """RI counts rounded down to whole RIs (1e-9 below a whole RI still counts as it)."""
    import numpy as np

    values = np.asarray(counts, dtype=np.float64)
    return np.floor(values + _RI_TOLERANCE).astype(np.int64)
