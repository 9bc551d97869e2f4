"""Payment options of the same purchases: catalog prices by hand, present value in closed form."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from planning.payment_options import payment_options
from pricing.embedded import load_embedded_catalog
from pricing.inventory import Commitment

START = datetime(2024, 3, 1, tzinfo=UTC)
END = datetime(2025, 3, 1, tzinfo=UTC)


def _ri(count: int = 3) -> Commitment:
    return Commitment(
        kind="reserved_instance",
        id="rec-1",
        start=START,
        end=END,
        term_years=1,
        payment_option="No Upfront",
        upfront_usd=0.0,
        region="us-east-1",
        instance_type="m4.large",
        platform="Linux/UNIX",
        tenancy="Shared",
        scope="Region",
        offering_class="standard",
        count=count,
    )


def _compute_sp(commitment: float = 2.0) -> Commitment:
    return Commitment(
        kind="compute_savings_plan",
        id="rec-2",
        start=START,
        end=END,
        term_years=1,
        payment_option="No Upfront",
        upfront_usd=0.0,
        commitment_usd_per_hour=commitment,
        recurring_usd_per_hour=commitment,
    )


def _annuity_hours(rate: float, months: int = 12) -> float:
    """Closed form of Σ over a term's hours of v ** (hour // 730): 730 × (1 − vⁿ) ÷ (1 − v)."""
    v = 1 / (1 + rate / 12)
    return 730 * (1 - v**months) / (1 - v)


@pytest.mark.parametrize("rate", [0.0, 0.08])
def test_ri_line_against_the_catalog_and_the_annuity(rate: float) -> None:
    catalog = load_embedded_catalog()
    reserved = catalog.reserved
    rows = reserved.loc[
        (reserved["region"] == "us-east-1")
        & (reserved["instance_type"] == "m4.large")
        & (reserved["platform"] == "Linux/UNIX")
        & (reserved["tenancy"] == "Shared")
        & (reserved["offering_class"] == "standard")
        & (reserved["term_years"] == 1)
    ].set_index("payment_option")
    found = payment_options([_ri(3)], catalog, discount_rate=rate)
    lines = {row["payment_option"]: row for row in found["payment_option_lines"]}
    assert set(lines) == {"No Upfront", "Partial Upfront", "All Upfront"}
    assert [r["is_bought"] for r in found["payment_option_lines"]] == [True, False, False]
    annuity = _annuity_hours(rate) if rate else 8760.0
    base_total = 3 * rows.loc["No Upfront", "recurring_usd_per_hour"] * 8760
    base_value = 3 * rows.loc["No Upfront", "recurring_usd_per_hour"] * annuity
    for option, line in lines.items():
        upfront = 3 * rows.loc[option, "upfront_usd"]
        recurring = 3 * rows.loc[option, "recurring_usd_per_hour"]
        assert line["upfront_usd"] == pytest.approx(upfront, abs=0.01)
        assert line["recurring_usd_per_hour"] == pytest.approx(recurring, abs=1e-6)
        assert line["term_cost_usd"] == pytest.approx(upfront + recurring * 8760, abs=0.01)
        assert line["present_value_usd"] == pytest.approx(upfront + recurring * annuity, abs=0.01)
        assert line["savings_vs_no_upfront_usd"] == pytest.approx(
            base_total - (upfront + recurring * 8760), abs=0.02
        )
        assert line["present_value_savings_vs_no_upfront_usd"] == pytest.approx(
            base_value - (upfront + recurring * annuity), abs=0.02
        )
    # All Upfront saves on the term's total; discounting shrinks that saving.
    assert lines["All Upfront"]["savings_vs_no_upfront_usd"] > 0
    if rate:
        assert (
            lines["All Upfront"]["present_value_savings_vs_no_upfront_usd"]
            < lines["All Upfront"]["savings_vs_no_upfront_usd"]
        )
    else:
        assert lines["All Upfront"]["present_value_usd"] == lines["All Upfront"]["term_cost_usd"]


def test_savings_plan_upfront_shares_and_totals() -> None:
    catalog = load_embedded_catalog()
    found = payment_options([_ri(2), _compute_sp(2.0)], catalog, discount_rate=0.05)
    sp = {r["payment_option"]: r for r in found["payment_option_lines"] if r["id"] == "rec-2"}
    assert sp["No Upfront"]["commitment_usd_per_hour"] == pytest.approx(2.0)
    assert sp["No Upfront"]["recurring_usd_per_hour"] == pytest.approx(2.0)
    assert sp["No Upfront"]["term_cost_usd"] == pytest.approx(2.0 * 8760)
    all_upfront = sp["All Upfront"]
    # Paying upfront buys a deeper discount: less commitment covers the same usage.
    assert 0 < all_upfront["commitment_usd_per_hour"] < 2.0
    assert all_upfront["recurring_usd_per_hour"] == 0.0
    assert all_upfront["upfront_usd"] == pytest.approx(
        all_upfront["commitment_usd_per_hour"] * 8760, abs=0.05
    )
    partial = sp["Partial Upfront"]
    assert partial["upfront_usd"] == pytest.approx(
        0.5 * partial["commitment_usd_per_hour"] * 8760, abs=0.05
    )
    assert partial["recurring_usd_per_hour"] == pytest.approx(
        0.5 * partial["commitment_usd_per_hour"], abs=1e-5
    )
    totals = {t["payment_option"]: t for t in found["payment_option_totals"]}
    for option, total in totals.items():
        rows = [r for r in found["payment_option_lines"] if r["payment_option"] == option]
        assert total["purchase_count"] == 2
        assert total["present_value_usd"] == pytest.approx(
            sum(r["present_value_usd"] for r in rows), abs=0.02
        )
        assert total["upfront_usd"] == pytest.approx(sum(r["upfront_usd"] for r in rows), abs=0.02)
    assert totals["No Upfront"]["savings_vs_no_upfront_usd"] == 0.0
    assert found["unpriced_purchase_ids"] == []
    assert payment_options([], catalog)["payment_option_totals"] == []
