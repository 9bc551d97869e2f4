"""Commitment offering vocabulary: terms, payment options, offering classes, Savings Plan types.

AWS spells these several ways across its formats (``"1yr"``, ``"1 yr"``, ``31536000`` seconds,
``"partialUpfront"``, ``"Partial Upfront"``); the parsers here turn each into one canonical value.
"""

from __future__ import annotations

from typing import Final

from core.errors import CommitoptInputError
from core.units import HOURS_PER_YEAR

TERM_HOURS: Final[dict[int, int]] = {1: HOURS_PER_YEAR, 3: 3 * HOURS_PER_YEAR}
"""Hours in an RI or Savings Plan term [h], by term length [years]."""

TERM_YEARS: Final = (1, 3)
PAYMENT_OPTIONS: Final = ("No Upfront", "Partial Upfront", "All Upfront")
OFFERING_CLASSES: Final = ("standard", "convertible")
SAVINGS_PLAN_TYPES: Final = ("compute", "ec2_instance")
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

_SP_TYPE_ALIASES: Final[dict[str, str]] = {
    "compute": "compute",
    "computesavingsplans": "compute",
    "compute_savings_plan": "compute",
    "compute-sp": "compute",
    "ec2_instance": "ec2_instance",
    "ec2instance": "ec2_instance",
    "ec2instancesavingsplans": "ec2_instance",
    "ec2_instance_savings_plan": "ec2_instance",
    "ec2-sp": "ec2_instance",
}


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
    """Return ``"compute"`` or ``"ec2_instance"`` from AWS's or commitopt's spellings."""
    key = str(text).strip().lower().replace(" ", "")
    found = _SP_TYPE_ALIASES.get(key)
    if found is None:
        raise CommitoptInputError(
            f"unknown Savings Plan type {text!r}; use 'Compute' or 'EC2Instance'"
        )
    return found
