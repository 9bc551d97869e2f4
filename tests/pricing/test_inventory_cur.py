"""inventory_from_cur: the owned RIs rebuilt from the real October 2018 CUR's RIFee lines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pricing.errors import PriceFileError
from pricing.inventory import Inventory, inventory_from_cur
from pricing.offerings import CommitmentKind

CUR = (
    Path(__file__).parents[1]
    / "data"
    / "cur"
    / "wal_Oct2018-WorkshopCUR-ribill-trimmed.zstd.parquet"
)
PREFIX = "arn:aws:ec2:us-east-1:836060457634:reserved-instances/"


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return inventory_from_cur([CUR])


def _by_id(inventory: Inventory, suffix: str):  # type: ignore[no-untyped-def]
    (match,) = [c for c in inventory.commitments if c.id == PREFIX + suffix]
    return match


def test_nine_regional_reserved_instances(inventory: Inventory) -> None:
    assert len(inventory) == 9
    assert {c.kind for c in inventory.commitments} == {CommitmentKind.RESERVED_INSTANCE}
    assert {c.scope for c in inventory.commitments} == {"Region"}
    assert {c.region for c in inventory.commitments} == {"us-east-1"}
    assert sum(c.count or 0 for c in inventory.commitments) == 13
    assert inventory.as_of == datetime(2018, 10, 31, 23, 59, 59, tzinfo=UTC)
    assert inventory.notes == ()


def test_c5_large_partial_upfront(inventory: Inventory) -> None:
    ri = _by_id(inventory, "2a64512a-6eea-493f-967b-cd946b6e496d")
    assert (ri.instance_type, ri.platform, ri.tenancy) == ("c5.large", "Linux/UNIX", "Shared")
    assert ri.count == 2
    assert ri.upfront_usd == 446.0  # 223 per RI
    assert ri.recurring_usd_per_hour == pytest.approx(0.026)
    assert ri.payment_option == "Partial Upfront"
    assert ri.offering_class == "standard"
    assert ri.term_years == 1
    assert ri.normalized_units == 8.0
    assert ri.start == datetime(2018, 4, 3, 1, 21, 13, tzinfo=UTC)
    assert ri.end == datetime(2019, 4, 3, 1, 21, 12, tzinfo=UTC)
    assert ri.effective_usd_per_hour == pytest.approx(446.0 / 8760 + 2 * 0.026)


def test_unused_c4_large_takes_payment_option_from_its_prices(inventory: Inventory) -> None:
    ri = _by_id(inventory, "3a2944f2-fbdc-4f9a-86f7-4b83dc6e058a")
    assert (ri.instance_type, ri.count, ri.upfront_usd) == ("c4.large", 1, 263.0)
    assert ri.recurring_usd_per_hour == pytest.approx(0.03)
    assert ri.payment_option == "Partial Upfront"  # no DiscountedUsage: derived
    assert ri.offering_class == "standard"


def test_windows_and_convertible_from_discounted_usage(inventory: Inventory) -> None:
    windows = _by_id(inventory, "2dbc59ec-6e3c-404a-b6c3-ec308c3d56fd")
    assert (windows.instance_type, windows.platform) == ("t2.micro", "Windows")
    assert windows.start == datetime(2018, 10, 9, 21, 40, 47, tzinfo=UTC)
    assert windows.payment_option == "No Upfront"
    assert windows.recurring_usd_per_hour == pytest.approx(0.0118)
    convertible = _by_id(inventory, "041bc7b7-802b-43c3-a6b1-3fb5e69135aa")
    assert convertible.offering_class == "convertible"
    assert convertible.recurring_usd_per_hour == pytest.approx(0.0083)
    m5 = _by_id(inventory, "e5d82234-6933-4412-9f36-c9fcca2a5ce1")
    assert (m5.instance_type, m5.platform, m5.upfront_usd) == ("m5.large", "Windows", 659.0)


def test_round_trips_through_portfolio_json(inventory: Inventory) -> None:
    text = inventory.to_portfolio_json()
    assert '"reserved_instances": 13' in text


def test_not_a_cur(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(PriceFileError, match="line_item_line_item_type"):
        inventory_from_cur([path])


SP_HEADER = (
    "lineItem/LineItemType,lineItem/UsageAccountId,lineItem/UsageStartDate,lineItem/UsageEndDate,"
    "lineItem/UsageType,lineItem/Operation,savingsPlan/SavingsPlanARN,savingsPlan/OfferingType,"
    "savingsPlan/PaymentOption,savingsPlan/PurchaseTerm,savingsPlan/StartTime,"
    "savingsPlan/EndTime,savingsPlan/Region,savingsPlan/InstanceTypeFamily,"
    "savingsPlan/TotalCommitmentToDate,savingsPlan/RecurringCommitmentForBillingPeriod,"
    "savingsPlan/AmortizedUpfrontCommitmentForBillingPeriod\n"
)
SP_ARN = "arn:aws:savingsplans::123456789012:savingsplan/"


def _sp_line(hour: int, plan: str, offering: str, payment: str, commitment: float,
             upfront: float, region: str = "", family: str = "") -> str:  # fmt: skip
    start = f"2024-03-01T{hour:02d}:00:00Z"
    end = f"2024-03-01T{hour + 1:02d}:00:00Z"
    return (
        f"SavingsPlanRecurringFee,210987654321,{start},{end},ComputeSP:1yrNoUpfront,,"
        f"{SP_ARN}{plan},{offering},{payment},1yr,2024-01-15T10:00:00Z,2025-01-15T09:59:59Z,"
        f"{region},{family},{commitment},{commitment - upfront},{upfront}\n"
    )


def test_savings_plans_from_recurring_fee_lines(tmp_path: Path) -> None:
    """Hourly SavingsPlanRecurringFee lines (documented CUR columns): one commitment per ARN,
    its hourly commitment from TotalCommitmentToDate, the owner from the ARN."""
    cur = tmp_path / "cur-sp.csv"
    cur.write_text(
        SP_HEADER
        + "".join(
            _sp_line(h, "aaaa", "ComputeSavingsPlans", "No Upfront", 2.5, 0.0) for h in (0, 1)
        )
        + _sp_line(0, "bbbb", "EC2InstanceSavingsPlans", "All Upfront", 1.2, 1.2, "eu-west-1", "m5")
        + _sp_line(0, "cccc", "SageMakerSavingsPlans", "No Upfront", 3.0, 0.0),
        encoding="utf-8",
    )
    found = inventory_from_cur([cur])
    by_id = {c.id.rsplit("/", 1)[-1]: c for c in found.commitments}
    assert set(by_id) == {"aaaa", "bbbb", "cccc"}
    compute, instance = by_id["aaaa"], by_id["bbbb"]
    assert compute.kind == "compute_savings_plan" and compute.region is None
    assert compute.commitment_usd_per_hour == pytest.approx(2.5)
    assert (compute.payment_option, compute.upfront_usd) == ("No Upfront", 0.0)
    assert compute.account_id == "123456789012"  # the ARN's account, not the usage account
    assert compute.start == datetime(2024, 1, 15, 10, tzinfo=UTC)
    assert compute.end == datetime(2025, 1, 15, 9, 59, 59, tzinfo=UTC)
    assert instance.kind == "ec2_instance_savings_plan"
    assert (instance.region, instance.instance_family) == ("eu-west-1", "m5")
    assert instance.payment_option == "All Upfront"
    assert instance.upfront_usd == pytest.approx(1.2 * 8760)
    assert instance.recurring_usd_per_hour == pytest.approx(0.0)
    sagemaker = by_id["cccc"]
    assert (sagemaker.kind, sagemaker.region) == ("sagemaker_savings_plan", None)
    assert sagemaker.commitment_usd_per_hour == pytest.approx(3.0)
    assert not any("skipped" in note for note in found.notes)
    assert found.as_of == datetime(2024, 3, 1, 2, tzinfo=UTC)
