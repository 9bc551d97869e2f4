"""CommitmentKind: one vocabulary of commitment kinds; other spellings convert in one place."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from core.errors import CommitoptInputError
from pricing.offerings import (
    POLICY_NAMES,
    SAVINGS_PLAN_TYPES,
    CommitmentKind,
    parse_savings_plan_type,
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "core",
    "pricing",
    "usage",
    "billing",
    "optimizer",
    "scenarios",
    "planning",
    "commitopt",
)
ENUM_MODULE = ROOT / "pricing" / "offerings.py"

KIND_SPELLINGS = frozenset(
    {kind.value for kind in CommitmentKind} | {kind.policy_name for kind in CommitmentKind}
)
"""The spellings that only the enum's module may write as string literals."""

ALLOWED = {
    # Column-name abbreviations of the LP (ri_0, ec2sp_3, csp_1), not a kind's spelling.
    ("optimizer/full_lp.py", "ri"),
}


def test_values_are_the_portfolio_json_spellings() -> None:
    assert [kind.value for kind in CommitmentKind] == [
        "reserved_instance",
        "ec2_instance_savings_plan",
        "compute_savings_plan",
        "database_savings_plan",
        "sagemaker_savings_plan",
    ]
    assert CommitmentKind.RESERVED_INSTANCE == "reserved_instance"
    assert json.dumps({"kind": CommitmentKind.COMPUTE_SAVINGS_PLAN}) == (
        '{"kind": "compute_savings_plan"}'
    )
    assert {"reserved_instance": 1}[CommitmentKind.RESERVED_INSTANCE] == 1


def test_application_order_is_ri_then_ec2_then_compute_then_database_then_sagemaker() -> None:
    # Database and SageMaker SPs cover only what the others never cover: their place changes
    # no bill
    assert [kind.application_order for kind in CommitmentKind] == [0, 1, 2, 3, 4]
    assert sorted(CommitmentKind, key=lambda k: -k.application_order)[:2] == [
        CommitmentKind.SAGEMAKER_SAVINGS_PLAN,
        CommitmentKind.DATABASE_SAVINGS_PLAN,
    ]


@pytest.mark.parametrize("kind", list(CommitmentKind))
def test_policy_name_round_trip(kind: CommitmentKind) -> None:
    assert CommitmentKind.from_policy_name(kind.policy_name) is kind
    assert CommitmentKind.parse(kind.policy_name) is kind
    assert CommitmentKind.parse(kind.value) is kind
    assert CommitmentKind(kind.value) is kind


def test_policy_names() -> None:
    assert POLICY_NAMES == ("ri", "ec2-sp", "compute-sp", "database-sp", "sagemaker-sp")
    assert CommitmentKind.from_policy_name("ec2-sp") is CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN


@pytest.mark.parametrize(
    ("kind", "plan_type", "aws"),
    [
        (CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN, "ec2_instance", "EC2Instance"),
        (CommitmentKind.COMPUTE_SAVINGS_PLAN, "compute", "Compute"),
        (CommitmentKind.DATABASE_SAVINGS_PLAN, "database", "Database"),
    ],
)
def test_savings_plan_type_round_trip(kind: CommitmentKind, plan_type: str, aws: str) -> None:
    assert kind.is_savings_plan
    assert kind.savings_plan_type == plan_type
    assert kind.aws_savings_plan_type == aws
    for spelling in (
        plan_type,
        aws,
        aws.upper(),
        f"{aws}SavingsPlans",
        kind.value,
        kind.policy_name,
    ):
        assert CommitmentKind.from_savings_plan_type(spelling) is kind
        assert CommitmentKind.parse(spelling) is kind
        assert parse_savings_plan_type(spelling) == plan_type
    assert plan_type in SAVINGS_PLAN_TYPES


def test_a_reserved_instance_has_no_plan_type() -> None:
    assert not CommitmentKind.RESERVED_INSTANCE.is_savings_plan
    with pytest.raises(CommitoptInputError, match="not a Savings Plan"):
        _ = CommitmentKind.RESERVED_INSTANCE.savings_plan_type


def test_unknown_policy_name_names_the_parameter() -> None:
    with pytest.raises(CommitoptInputError) as caught:
        CommitmentKind.from_policy_name("spot", "custom_commitment_kind")
    assert caught.value.parameters == ("custom_commitment_kind",)
    assert "'spot'" in str(caught.value) and "ri, ec2-sp, compute-sp" in str(caught.value)


def test_unknown_plan_type_names_the_parameter() -> None:
    with pytest.raises(CommitoptInputError) as caught:
        CommitmentKind.from_savings_plan_type("ri")
    assert caught.value.parameters == ("plan_type",)


def test_unknown_spelling_names_the_parameter() -> None:
    with pytest.raises(CommitoptInputError) as caught:
        CommitmentKind.parse("spot_block", "kind")
    assert caught.value.parameters == ("kind",)
    assert "reserved_instance, ec2_instance_savings_plan, compute_savings_plan" in str(caught.value)


def _spelled_kinds(path: Path) -> list[tuple[int, str]]:
    """String constants in ``path`` that are exactly a kind's spelling (docstrings excepted)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in KIND_SPELLINGS
        and id(node) not in docstrings
    ]


def test_no_module_but_the_enums_spells_a_kind() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {value!r}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ENUM_MODULE
        for line, value in _spelled_kinds(path)
        if (path.relative_to(ROOT).as_posix(), value) not in ALLOWED
    ]
    assert not found, "use pricing.offerings.CommitmentKind instead of:\n" + "\n".join(found)
