"""The policy options shared by ``recommend`` and ``review``: what may be bought, and limits."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import click

from commitopt.cli.options import SHARE, discount_rate_option, multi_option
from core.errors import CommitoptInputError
from optimizer.policy import CUSTOM_COMMITMENT_KINDS, INSTRUMENTS, Mode, Policy

F = TypeVar("F", bound=Callable[..., Any])

PAYMENTS: Final = {"no": "No Upfront", "partial": "Partial Upfront", "all": "All Upfront"}


def parse_custom_commitment(text: str | None) -> tuple[str | None, float | None]:
    """``compute-sp=12.5`` → (``"compute-sp"``, 12.5)."""
    if text is None:
        return None, None
    kind, _, amount = text.partition("=")
    kind = kind.strip().lower()
    if kind not in CUSTOM_COMMITMENT_KINDS or not amount:
        raise CommitoptInputError(
            f"--custom-commitment {text!r}: write compute-sp=USD_PER_HOUR or ec2-sp=USD_PER_HOUR"
        )
    try:
        value = float(amount)
    except ValueError as error:
        raise CommitoptInputError(
            f"--custom-commitment {text!r}: {amount!r} is not a number of USD per hour"
        ) from error
    return kind, value


def _choices(
    values: tuple[str, ...], allowed: dict[str, str] | tuple[str, ...], option: str
) -> tuple[str, ...]:
    names = allowed if isinstance(allowed, dict) else {name: name for name in allowed}
    unknown = [v for v in values if v.lower() not in names]
    if unknown:
        raise CommitoptInputError(
            f"{option}: unknown value {', '.join(unknown)}; use {', '.join(names)}"
        )
    return tuple(dict.fromkeys(names[v.lower()] for v in values))


def policy_options(function: F) -> F:
    """Every option that shapes the :class:`~optimizer.policy.Policy` (see
    :func:`policy_from_options`)."""
    decorators = [
        multi_option(
            "--instruments",
            help_text="ri, ec2-sp, compute-sp, database-sp, sagemaker-sp [default: all five].",
        ),
        multi_option("--term", help_text="Terms in years: 1, 3 [default: 1]."),
        multi_option("--payment", help_text="no, partial, all [default: no]."),
        multi_option("--class", "offering_classes", help_text="RI class: standard, convertible."),
        multi_option("--accounts", help_text="Only these accounts' usage."),
        multi_option("--exclude-accounts", help_text="Leave these accounts' usage out."),
        multi_option("--regions", help_text="Only these regions."),
        multi_option("--exclude-regions", help_text="Leave these regions out."),
        multi_option("--families", help_text="Only these instance families (m5, c5, …)."),
        multi_option("--exclude-families", help_text="Leave these families out."),
        click.option("--max-upfront", type=float, default=None, help="Cap on upfront cash [USD]."),
        click.option(
            "--max-hourly-commitment",
            type=float,
            default=None,
            help="Cap on the new purchases' cost per hour [USD/h].",
        ),
        click.option(
            "--target-coverage", type=SHARE, default=None, help="Reach this coverage [80 or 0.8]."
        ),
        click.option(
            "--coverage-ceiling", type=SHARE, default=None, help="Cover at most this [% or 0–1]."
        ),
        click.option(
            "--min-utilization",
            type=SHARE,
            default=None,
            help="Least expected utilization of each new purchase [% or 0–1].",
        ),
        click.option(
            "--custom-commitment",
            default=None,
            metavar="KIND=USD",
            help="Fix one SP type's new commitment (compute-sp=12.5); optimize the rest around it.",
        ),
        discount_rate_option,
        click.option(
            "--ladder",
            type=click.Choice(["none", "monthly"]),
            default="none",
            show_default=True,
            help="monthly: also schedule purchases at the start of each later month (a ladder).",
        ),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def policy_from_options(values: Mapping[str, Any]) -> Policy:
    """The validated :class:`~optimizer.policy.Policy` from the values of :func:`policy_options`.

    Raises
    ------
    core.errors.CommitoptInputError
        For unknown choices, contradictory modes or a policy that contradicts itself.
    """
    kind, amount = parse_custom_commitment(values["custom_commitment"])
    target = values["target_coverage"]
    mode = Mode.MAXIMIZE_SAVINGS
    if kind is not None:
        mode = Mode.CUSTOM_COMMITMENT
    if target is not None:
        if kind is not None:
            raise CommitoptInputError(
                "--custom-commitment and --target-coverage are two modes; choose one"
            )
        mode = Mode.TARGET_COVERAGE
    terms = _choices(values["term"] or ("1",), ("1", "3"), "--term")
    policy = Policy(
        instruments=_choices(values["instruments"] or INSTRUMENTS, INSTRUMENTS, "--instruments"),
        terms_years=tuple(int(t) for t in terms),
        payment_options=_choices(values["payment"] or ("no",), PAYMENTS, "--payment"),
        offering_classes=_choices(
            values["offering_classes"] or ("standard",), ("standard", "convertible"), "--class"
        ),
        include_accounts=values["accounts"],
        exclude_accounts=values["exclude_accounts"],
        include_regions=values["regions"],
        exclude_regions=values["exclude_regions"],
        include_families=values["families"],
        exclude_families=values["exclude_families"],
        max_upfront_usd=values["max_upfront"],
        max_hourly_commitment_usd=values["max_hourly_commitment"],
        coverage_ceiling=values["coverage_ceiling"],
        target_coverage=target,
        min_utilization=values["min_utilization"],
        custom_commitment_usd=amount,
        custom_commitment_kind=kind,
        discount_rate=values["discount_rate"],
        ladder_tranches=12 if values["ladder"] == "monthly" else 1,
        mode=mode,
    )
    policy.validate()
    return policy
