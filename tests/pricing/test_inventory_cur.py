"""inventory_from_cur: the owned RIs rebuilt from the real October 2018 CUR's RIFee lines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pricing.errors import PriceFileError
from pricing.inventory import RESERVED_INSTANCE, Inventory, inventory_from_cur

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
    assert {c.kind for c in inventory.commitments} == {RESERVED_INSTANCE}
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
