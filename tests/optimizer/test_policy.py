"""Policy.validate: every contradiction and unknown value is one PolicyError line."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import CommitoptInputError
from optimizer.policy import INSTRUMENTS, Mode, Policy, PolicyError


def test_defaults_are_valid() -> None:
    Policy().validate()


def test_a_full_policy_is_valid() -> None:
    Policy(
        instruments=INSTRUMENTS,
        terms_years=(1, 3),
        payment_options=("No Upfront", "Partial Upfront", "All Upfront"),
        offering_classes=("standard", "convertible"),
        include_regions=("us-east-1",),
        exclude_families=("t2",),
        max_upfront_usd=10_000.0,
        max_hourly_commitment_usd=5.0,
        coverage_ceiling=0.9,
        target_coverage=0.8,
        min_utilization=0.95,
        discount_rate=0.05,
        ladder_tranches=12,
        mode=Mode.TARGET_COVERAGE,
        cvar_alpha=0.9,
        cvar_weight=0.5,
    ).validate()
    Policy(
        mode=Mode.CUSTOM_COMMITMENT, custom_commitment_usd=2.5, custom_commitment_kind="ec2-sp"
    ).validate()
    Policy(instruments=("ec2-sp",), offering_classes=()).validate()


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"instruments": ("ri", "spot")}, "instruments: unknown value(s) 'spot'"),
        ({"instruments": ()}, "instruments is empty"),
        ({"instruments": "ri"}, "instruments='ri': give a tuple"),
        ({"terms_years": (2,)}, "terms_years: unknown value(s) 2"),
        ({"terms_years": ()}, "terms_years is empty"),
        ({"payment_options": ("partial",)}, "payment_options: unknown value(s) 'partial'"),
        ({"offering_classes": ("Standard",)}, "offering_classes: unknown value(s) 'Standard'"),
        ({"offering_classes": ()}, "offering_classes is empty"),
        ({"include_regions": ("us-east-9",)}, "include_regions: unknown region(s) 'us-east-9'"),
        ({"exclude_regions": ("mars-1",)}, "exclude_regions: unknown region(s) 'mars-1'"),
        (
            {"include_regions": ("us-east-1",), "exclude_regions": ("us-east-1",)},
            "include_regions and exclude_regions both name 'us-east-1'",
        ),
        (
            {"include_accounts": ("1", "2"), "exclude_accounts": ("2",)},
            "include_accounts and exclude_accounts both name '2'",
        ),
        (
            {"include_families": ("m5",), "exclude_families": ("m5",)},
            "include_families and exclude_families both name 'm5'",
        ),
        ({"coverage_ceiling": 1.5}, "coverage_ceiling=1.5: give a share in [0, 1]"),
        ({"min_utilization": -0.1}, "min_utilization=-0.1: give a share in [0, 1]"),
        (
            {"target_coverage": 1.2, "mode": Mode.TARGET_COVERAGE},
            "target_coverage=1.2: give a share in [0, 1]",
        ),
        ({"max_upfront_usd": -1.0}, "max_upfront_usd=-1.0: give a finite amount >= 0"),
        (
            {"max_hourly_commitment_usd": float("nan")},
            "max_hourly_commitment_usd=nan: give a finite amount >= 0",
        ),
        ({"discount_rate": -0.01}, "discount_rate=-0.01: give an annual rate >= 0"),
        ({"ladder_tranches": 0}, "ladder_tranches=0: give 1"),
        ({"ladder_tranches": 2.5}, "ladder_tranches=2.5: give a whole number"),
        ({"cvar_alpha": 1.0}, "cvar_alpha=1.0: give a level in [0, 1)"),
        ({"cvar_alpha": -0.5}, "cvar_alpha=-0.5: give a level in [0, 1)"),
        ({"cvar_weight": -1.0}, "cvar_weight=-1.0: give a weight >= 0"),
        ({"mode": "cheapest"}, "mode='cheapest': unknown mode"),
        ({"mode": Mode.TARGET_COVERAGE}, "mode target-coverage needs target_coverage"),
        ({"target_coverage": 0.8}, "target_coverage=0.8 is set but mode is maximize-savings"),
        (
            {"mode": Mode.TARGET_COVERAGE, "target_coverage": 0.8, "coverage_ceiling": 0.7},
            "coverage_ceiling=0.7 is below target_coverage=0.8",
        ),
        (
            {"mode": Mode.CUSTOM_COMMITMENT, "custom_commitment_usd": 1.0},
            "mode custom-commitment needs custom_commitment_usd and custom_commitment_kind",
        ),
        (
            {"mode": Mode.CUSTOM_COMMITMENT, "custom_commitment_kind": "compute-sp"},
            "mode custom-commitment needs custom_commitment_usd and custom_commitment_kind",
        ),
        (
            {
                "mode": Mode.CUSTOM_COMMITMENT,
                "custom_commitment_usd": 1.0,
                "custom_commitment_kind": "ri",
            },
            "custom_commitment_kind='ri': use ec2-sp or compute-sp",
        ),
        (
            {
                "mode": Mode.CUSTOM_COMMITMENT,
                "custom_commitment_usd": 1.0,
                "custom_commitment_kind": "compute-sp",
                "instruments": ("ri", "ec2-sp"),
            },
            "custom_commitment_kind='compute-sp' is not among the instruments (ri, ec2-sp)",
        ),
        (
            {"custom_commitment_usd": 1.0, "custom_commitment_kind": "ec2-sp"},
            "custom_commitment_usd / custom_commitment_kind are set but mode is maximize-savings",
        ),
        (
            {
                "mode": Mode.CUSTOM_COMMITMENT,
                "custom_commitment_usd": -2.0,
                "custom_commitment_kind": "ec2-sp",
            },
            "custom_commitment_usd=-2.0: give a finite amount >= 0",
        ),
    ],
)
def test_each_bad_policy_is_one_line_naming_the_option(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(PolicyError) as caught:
        Policy(**fields).validate()
    message = str(caught.value)
    assert named in message.replace("`", "")  # the option's name, which the CLI shows as its flag
    assert "\n" not in message
    assert message.startswith("policy ")
    assert isinstance(caught.value, CommitoptInputError)
    assert isinstance(caught.value, ValueError)


def test_the_fix_is_stated() -> None:
    with pytest.raises(PolicyError, match="raise the ceiling or lower the target"):
        Policy(mode=Mode.TARGET_COVERAGE, target_coverage=0.9, coverage_ceiling=0.5).validate()
    with pytest.raises(PolicyError, match="remove it from one of them"):
        Policy(include_families=("c5",), exclude_families=("c5",)).validate()
    with pytest.raises(PolicyError, match="add it to `instruments`"):
        Policy(
            instruments=("ri",),
            mode=Mode.CUSTOM_COMMITMENT,
            custom_commitment_usd=1.0,
            custom_commitment_kind="ec2-sp",
        ).validate()


def test_boundaries_are_allowed() -> None:
    Policy(coverage_ceiling=0.0, min_utilization=1.0, cvar_alpha=0.0, max_upfront_usd=0).validate()
    Policy(mode=Mode.TARGET_COVERAGE, target_coverage=0.7, coverage_ceiling=0.7).validate()
    as_text: Any = "custom-commitment"
    Policy(mode=as_text, custom_commitment_usd=0.0, custom_commitment_kind="ec2-sp").validate()
