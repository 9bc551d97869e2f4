"""Owned SageMaker Savings Plans (beside Compute ones) from ``savingsplans:DescribeSavingsPlans``,
a CUR's Savings Plan fee lines and portfolio JSON.

The API is stubbed with botocore's Stubber (moto 5 has no ``savingsplans`` service); the answer's
field names and values are those of botocore's savingsplans service model (``SavingsPlan``:
``savingsPlanType`` ``SageMaker``, ``productTypes`` ``["SageMaker"]``, amounts as strings). The CUR
is a hand-written CUR 2.0 excerpt from the documented columns
(``tests/data/cur/sagemaker_savings_plans_documented.README.md``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from pricing.inventory import fetch_savings_plans, inventory_from_cur, read_portfolio_json
from pricing.inventory.commitments import Commitment, Inventory, InventoryError
from pricing.offerings import CommitmentKind

CUR = Path(__file__).parents[1] / "data" / "cur" / "sagemaker_savings_plans_documented.csv"
OWNER = "222222222222"
SP_ARN = f"arn:aws:savingsplans::{OWNER}:savingsplan/"


def _client() -> Any:
    return boto3.client(
        "savingsplans",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _sagemaker_plan(plan_id: str, **changes: Any) -> dict[str, Any]:
    """A SageMaker Savings Plan as DescribeSavingsPlans returns it (3 years, Partial Upfront,
    4.2 USD/h: half the term's commitment, 4.2 × 26,280 / 2 = 55,188 USD, paid upfront)."""
    plan: dict[str, Any] = {
        "offeringId": "3b2f7a1e-55aa-4c1e-9d07-5a8e1f0c2b11",
        "savingsPlanId": plan_id,
        "savingsPlanArn": SP_ARN + plan_id,
        "description": "3 year Partial Upfront SageMaker Savings Plan",
        "start": "2025-06-01T00:00:00.000Z",
        "end": "2028-05-31T23:59:59.000Z",
        "state": "active",
        "savingsPlanType": "SageMaker",
        "paymentOption": "Partial Upfront",
        "productTypes": ["SageMaker"],
        "currency": "USD",
        "commitment": "4.2",
        "upfrontPaymentAmount": "55188.0",
        "recurringPaymentAmount": "2.1",
        "termDurationInSeconds": 94_608_000,
        "tags": {},
    }
    plan.update(changes)
    return plan


def test_describe_savings_plans_reads_sagemaker_plans() -> None:
    client = _client()
    compute = _sagemaker_plan(
        "b7c1d2e3-0000-4000-8000-000000000002",
        savingsPlanType="Compute",
        productTypes=["EC2", "Fargate", "Lambda"],
        description="1 year No Upfront Compute Savings Plan",
        paymentOption="No Upfront",
        commitment="1.25",
        upfrontPaymentAmount="0.0",
        recurringPaymentAmount="1.25",
        termDurationInSeconds=31_536_000,
        start="2025-01-01T00:00:00.000Z",
        end="2025-12-31T23:59:59.000Z",
        savingsPlanArn="arn:aws:savingsplans::111111111111:savingsplan/b7c1",
    )
    with Stubber(client) as stub:
        stub.add_response(
            "describe_savings_plans",
            {"savingsPlans": [_sagemaker_plan("a1b2c3d4-0000-4000-8000-000000000001"), compute]},
            {"states": ["active"]},
        )
        inventory = fetch_savings_plans(client)
        stub.assert_no_pending_responses()
    sagemaker, compute_plan = inventory.commitments
    assert sagemaker.kind == CommitmentKind.SAGEMAKER_SAVINGS_PLAN == "sagemaker_savings_plan"
    assert sagemaker.id == "a1b2c3d4-0000-4000-8000-000000000001"
    assert sagemaker.commitment_usd_per_hour == pytest.approx(4.2)
    assert (sagemaker.term_years, sagemaker.payment_option) == (3, "Partial Upfront")
    assert sagemaker.upfront_usd == pytest.approx(55_188.0)
    assert sagemaker.recurring_usd_per_hour == pytest.approx(2.1)
    assert sagemaker.effective_usd_per_hour == pytest.approx(4.2)  # 55,188 / 26,280 + 2.1
    assert sagemaker.start == datetime(2025, 6, 1, tzinfo=UTC)
    assert sagemaker.end == datetime(2028, 5, 31, 23, 59, 59, tzinfo=UTC)
    assert sagemaker.account_id == OWNER  # the account in its ARN
    assert (sagemaker.region, sagemaker.instance_family) == (None, None)  # any region, family
    assert (compute_plan.kind, compute_plan.account_id) == ("compute_savings_plan", "111111111111")
    assert compute_plan.commitment_usd_per_hour == pytest.approx(1.25)
    assert inventory.notes == ()


def test_a_sagemaker_plan_in_another_currency_is_refused() -> None:
    client = _client()
    with Stubber(client) as stub:
        stub.add_response(
            "describe_savings_plans",
            {"savingsPlans": [_sagemaker_plan("cny-1", currency="CNY")]},
            {"states": ["active"]},
        )
        with pytest.raises(InventoryError, match=r"savings plan cny-1: priced in CNY"):
            fetch_savings_plans(client)


@pytest.fixture(scope="module")
def from_cur() -> Inventory:
    return inventory_from_cur([CUR])


def _by_suffix(inventory: Inventory, suffix: str) -> Commitment:
    (found,) = [c for c in inventory.commitments if c.id.endswith(suffix)]
    return found


def test_sagemaker_and_compute_plans_from_a_cur(from_cur: Inventory) -> None:
    assert sorted(c.kind for c in from_cur.commitments) == [
        "compute_savings_plan", "sagemaker_savings_plan", "sagemaker_savings_plan"
    ]  # fmt: skip
    no_upfront = _by_suffix(from_cur, "0a")
    assert no_upfront.kind == CommitmentKind.SAGEMAKER_SAVINGS_PLAN
    assert no_upfront.commitment_usd_per_hour == pytest.approx(3.0)
    assert (no_upfront.term_years, no_upfront.payment_option) == (1, "No Upfront")
    assert (no_upfront.upfront_usd, no_upfront.recurring_usd_per_hour) == (0.0, 3.0)
    assert no_upfront.start == datetime(2025, 3, 15, 8, tzinfo=UTC)
    assert no_upfront.end == datetime(2026, 3, 15, 7, 59, 59, tzinfo=UTC)
    assert (no_upfront.account_id, no_upfront.region) == (OWNER, None)
    partial = _by_suffix(from_cur, "0b")
    assert (partial.kind, partial.term_years) == ("sagemaker_savings_plan", 3)
    assert partial.payment_option == "Partial Upfront"
    assert partial.commitment_usd_per_hour == pytest.approx(2.0)
    assert partial.upfront_usd == pytest.approx(26_280.0)
    assert partial.recurring_usd_per_hour == pytest.approx(1.0)
    compute = _by_suffix(from_cur, "0c")
    assert (compute.kind, compute.payment_option) == ("compute_savings_plan", "All Upfront")
    assert compute.upfront_usd == pytest.approx(13_140.0)
    assert compute.account_id == "111111111111"
    assert from_cur.as_of == datetime(2025, 9, 1, 2, tzinfo=UTC)
    assert not any("skipped" in note for note in from_cur.notes)


def test_a_fee_line_without_offering_type_is_named_by_its_product(tmp_path: Path) -> None:
    """No offering type: ``MachineLearningSavingsPlans`` is a SageMaker plan; a Compute product
    code could be a Compute or an EC2 Instance plan, so that line is skipped with a note."""
    lines = CUR.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    offering = header.index("savings_plan_offering_type")

    def without_offering_type(line: str) -> str:
        cells = line.split(",")
        cells[offering] = ""
        return ",".join(cells)

    cur = tmp_path / "no-offering-type.csv"
    cur.write_text(
        "\n".join([lines[0], *(without_offering_type(line) for line in lines[1:5])]) + "\n",
        encoding="utf-8",
    )
    found = inventory_from_cur([cur])
    assert sorted(c.id[-2:] for c in found.commitments) == ["0a", "0b"]
    assert {c.kind for c in found.commitments} == {"sagemaker_savings_plan"}
    (note,) = [n for n in found.notes if "skipped" in n]
    assert "0c" in note and "offering type missing (product ComputeSavingsPlans)" in note


def test_portfolio_json_reads_and_writes_sagemaker_plans(
    from_cur: Inventory, tmp_path: Path
) -> None:
    path = tmp_path / "owned.json"
    from_cur.to_portfolio_json(path)
    items = json.loads(path.read_text(encoding="utf-8"))["purchases"]
    sagemaker = [item for item in items if item["kind"] == "sagemaker_savings_plan"]
    assert len(sagemaker) == 2
    assert {"region", "instance_family", "service"}.isdisjoint(sagemaker[0])
    again = read_portfolio_json(path)
    assert [c.kind for c in again.commitments] == [c.kind for c in from_cur.commitments]
    for read, written in zip(again.commitments, from_cur.commitments, strict=True):
        assert read.commitment_usd_per_hour == pytest.approx(written.commitment_usd_per_hour)
        assert read.upfront_usd == pytest.approx(written.upfront_usd)
        assert (read.start, read.end, read.account_id) == (
            written.start, written.end, written.account_id
        )  # fmt: skip


def test_a_sagemaker_item_needs_only_the_savings_plan_fields(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(
        json.dumps(
            {"purchases": [{"kind": "sagemaker_savings_plan", "term_years": 1,
                            "payment_option": "All Upfront", "commitment_usd_per_hour": 0.5,
                            "start": "2026-01-01T00:00:00Z"}]}
        ),
        encoding="utf-8",
    )  # fmt: skip
    (plan,) = read_portfolio_json(path).commitments
    assert plan.kind == "sagemaker_savings_plan"
    assert plan.upfront_usd == pytest.approx(0.5 * 8760)  # All Upfront: the whole term
    assert (plan.recurring_usd_per_hour, plan.region) == (0.0, None)
    assert plan.end == datetime(2027, 1, 1, tzinfo=UTC)
