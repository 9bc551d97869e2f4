"""Hand-worked examples and properties of the billing simulator."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.fill import fill_in_order
from billing.portfolio import PortfolioError, active_mask, build_portfolio, charged_fraction
from billing.simulator import BREAKDOWNS, SimulationStatus, simulate
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.errors import MissingPriceError
from pricing.inventory import Commitment

START = datetime(2026, 1, 1, tzinfo=UTC)
REGION = "us-east-1"
LINUX = "Linux/UNIX"
WINDOWS = "Windows"
# On-demand rates [USD/h]: m5 Linux proportional to size; Windows adds a licence.
ON_DEMAND = {
    ("m5.large", LINUX): 0.096,
    ("m5.xlarge", LINUX): 0.192,
    ("m5.2xlarge", LINUX): 0.384,
    ("m5.large", WINDOWS): 0.188,
    ("c5.large", LINUX): 0.085,
}
# Compute / EC2 Instance SP rates (1 year, No Upfront) [USD/h]: the licence is not discounted.
SP_RATES = {
    ("m5.large", LINUX): 0.068,
    ("m5.xlarge", LINUX): 0.136,
    ("m5.2xlarge", LINUX): 0.272,
    ("m5.large", WINDOWS): 0.160,
    ("c5.large", LINUX): 0.062,
}


def make_catalog() -> PriceCatalog:
    """A small hand-made catalog (rates as in us-east-1, rounded)."""
    base = [
        {"region": REGION, "instance_type": t, "platform": p, "tenancy": "Shared"}
        for (t, p) in ON_DEMAND
    ]
    on_demand = pd.DataFrame(
        [{**row, "on_demand_usd_per_hour": ON_DEMAND[(row["instance_type"], row["platform"])]}
         for row in base]
    )  # fmt: skip
    savings_plans = pd.DataFrame(
        [
            {
                **row,
                "plan_type": plan_type,
                "term_years": 1,
                "payment_option": payment,
                "sp_hourly_usd": SP_RATES[(row["instance_type"], row["platform"])]
                * (0.95 if plan_type == "ec2_instance" else 1.0)
                * (0.9 if payment == "All Upfront" else 1.0),
            }
            for row in base
            for plan_type in ("compute", "ec2_instance")
            for payment in ("No Upfront", "All Upfront")
        ]
    )
    reserved = pd.DataFrame(
        [
            {
                **row,
                "offering_class": "standard",
                "term_years": 1,
                "payment_option": "No Upfront",
                "upfront_usd": 0.0,
                "recurring_usd_per_hour": round(
                    ON_DEMAND[(row["instance_type"], row["platform"])] * 0.62, 6
                ),
            }
            for row in base
        ]
    )
    return PriceCatalog.from_frames(
        CatalogMetadata("unit test", date(2026, 1, 1)),
        on_demand=on_demand,
        reserved=reserved,
        savings_plans=savings_plans,
    )


CATALOG = make_catalog()


def usage_table(rows: Sequence[tuple[int, str, str, float]], account: str = "111") -> pd.DataFrame:
    """Usage rows (hour offset, type, platform, quantity) in one account."""
    return pd.DataFrame(
        {
            "hour": [START + timedelta(hours=h) for h, *_ in rows],
            "account_id": account,
            "region": REGION,
            "instance_type": [t for _, t, _, _ in rows],
            "platform": [p for _, _, p, _ in rows],
            "tenancy": "Shared",
            "quantity": [q for *_, q in rows],
        }
    )


def flat_usage(hours: int, per_hour: dict[tuple[str, str], float], account: str = "111"):
    """The same usage every hour."""
    rows = [(h, t, p, q) for h in range(hours) for (t, p), q in per_hour.items()]
    return usage_table(rows, account)


def ri(
    instance_type: str,
    count: int,
    *,
    platform: str = LINUX,
    hours: int = 8_760,
    recurring: float | None = None,
    upfront: float = 0.0,
    payment: str = "No Upfront",
    ident: str = "ri-1",
    scope: str = "Region",
) -> Commitment:
    """One RI item starting at START."""
    rate = (
        recurring
        if recurring is not None
        else round(ON_DEMAND[(instance_type, platform)] * 0.62, 6)
    )
    return Commitment(
        kind="reserved_instance",
        id=ident,
        start=START,
        end=START + timedelta(hours=hours),
        term_years=1,
        payment_option=payment,
        upfront_usd=upfront,
        region=REGION,
        instance_type=instance_type,
        platform=platform,
        tenancy="Shared",
        scope=scope,
        availability_zone="us-east-1a" if scope != "Region" else None,
        offering_class="standard",
        count=count,
        recurring_usd_per_hour=rate,
        effective_usd_per_hour=upfront / 8_760 + count * rate,
    )


def savings_plan(
    commitment: float,
    *,
    kind: str = "compute_savings_plan",
    family: str | None = None,
    ident: str = "sp-1",
    start_hour: int = 0,
    upfront: float = 0.0,
    payment: str = "No Upfront",
) -> Commitment:
    """One Savings Plan starting START + start_hour."""
    start = START + timedelta(hours=start_hour)
    return Commitment(
        kind=kind,
        id=ident,
        start=start,
        end=start + timedelta(hours=8_760),
        term_years=1,
        payment_option=payment,
        upfront_usd=upfront,
        region=REGION if family else None,
        instance_family=family,
        commitment_usd_per_hour=commitment,
        recurring_usd_per_hour=commitment - upfront / 8_760,
        effective_usd_per_hour=commitment,
    )


def test_one_2xlarge_ri_covers_four_large() -> None:
    usage = flat_usage(24, {("m5.large", LINUX): 4.0})
    result = simulate(usage, [ri("m5.2xlarge", 1)], CATALOG)
    assert result.status is SimulationStatus.OK
    np.testing.assert_allclose(result.ri_covered, 4.0)
    np.testing.assert_allclose(result.on_demand, 0.0)
    totals = result.totals
    assert totals.on_demand_cost_usd == pytest.approx(24 * 4 * 0.096)
    assert totals.actual_cost_usd == pytest.approx(24 * 0.238080)
    assert totals.coverage_pct == pytest.approx(100.0)
    assert totals.utilization_pct == pytest.approx(100.0)
    assert result.instruments.loc[0, "used"] == pytest.approx(24 * 16)


def test_size_flexible_ri_fills_smallest_size_first() -> None:
    # 8 units: two large (8 units) come before one xlarge (8 units), which stays on-demand.
    usage = flat_usage(2, {("m5.large", LINUX): 2.0, ("m5.xlarge", LINUX): 1.0})
    result = simulate(usage, [ri("m5.xlarge", 1)], CATALOG)
    np.testing.assert_allclose(result.ri_covered, [[2.0, 0.0]] * 2)
    np.testing.assert_allclose(result.on_demand, [[0.0, 1.0]] * 2)


def test_windows_ri_matches_exact_type_only() -> None:
    usage = flat_usage(3, {("m5.large", WINDOWS): 1.0, ("m5.xlarge", LINUX): 1.0})
    result = simulate(usage, [ri("m5.large", 2, platform=WINDOWS)], CATALOG)
    keys = result.keys
    windows = int(np.flatnonzero(keys["platform"] == WINDOWS)[0])
    assert result.ri_covered[:, windows].tolist() == [1.0, 1.0, 1.0]
    assert result.ri_covered.sum() == 3.0
    assert result.instruments.loc[0, "utilization"] == pytest.approx(0.5)
    # one of two RIs idle every hour: half the effective cost wasted
    assert result.totals.unused_commitment_usd == pytest.approx(3 * 0.116560)


def test_zonal_ri_applies_regionally_with_a_warning() -> None:
    usage = flat_usage(2, {("m5.large", LINUX): 4.0})
    result = simulate(usage, [ri("m5.large", 1, scope="Availability Zone")], CATALOG)
    assert result.status is SimulationStatus.WARNINGS
    assert "zonal" in result.warnings[0] and "us-east-1a" in result.warnings[0]
    np.testing.assert_allclose(result.ri_covered, 1.0)


def test_sp_covers_linux_before_windows() -> None:
    # Linux m5.large: 1 − 0.068/0.096 = 29.2 % off; Windows: 1 − 0.160/0.188 = 14.9 % off.
    usage = flat_usage(5, {("m5.large", LINUX): 1.0, ("m5.large", WINDOWS): 1.0})
    result = simulate(usage, [savings_plan(0.1)], CATALOG)
    linux = int(np.flatnonzero(result.keys["platform"] == LINUX)[0])
    windows = 1 - linux
    np.testing.assert_allclose(result.compute_sp_covered[:, linux], 1.0)
    np.testing.assert_allclose(result.compute_sp_covered[:, windows], 0.032 / 0.160)
    np.testing.assert_allclose(result.on_demand[:, windows], 0.8)
    expected = 5 * (0.1 + 0.8 * 0.188)
    assert result.totals.actual_cost_usd == pytest.approx(expected)
    assert result.totals.utilization_pct == pytest.approx(100.0)


def test_ec2_instance_sp_before_compute_sp_and_only_its_family() -> None:
    usage = flat_usage(2, {("m5.large", LINUX): 1.0, ("c5.large", LINUX): 1.0})
    plans = [
        savings_plan(1.0, ident="compute"),
        savings_plan(1.0, kind="ec2_instance_savings_plan", family="m5", ident="ec2"),
    ]
    result = simulate(usage, plans, CATALOG)
    m5 = int(np.flatnonzero(result.keys["instance_type"] == "m5.large")[0])
    np.testing.assert_allclose(result.ec2_sp_covered[:, m5], 1.0)
    np.testing.assert_allclose(result.ec2_sp_covered[:, 1 - m5], 0.0)
    np.testing.assert_allclose(result.compute_sp_covered[:, 1 - m5], 1.0)
    table = result.instruments.set_index("id")
    assert table.loc["ec2", "used"] == pytest.approx(2 * 0.068 * 0.95)
    assert table.loc["compute", "used"] == pytest.approx(2 * 0.062)


def test_ri_expiring_mid_period() -> None:
    usage = flat_usage(24, {("m5.large", LINUX): 1.0})
    result = simulate(usage, [ri("m5.large", 1, hours=10)], CATALOG)
    assert result.ri_covered[:, 0].tolist() == [1.0] * 10 + [0.0] * 14
    assert result.instruments.loc[0, "active_hours"] == 10
    expected = 10 * 0.059520 + 14 * 0.096
    assert result.totals.actual_cost_usd == pytest.approx(expected)
    assert result.totals.coverage_pct == pytest.approx(100 * 10 / 24)


def test_ri_starting_at_40_and_ending_at_20_minutes_past() -> None:
    # Hand-worked: 1 m5.large used every hour; the RI runs 02:40-04:20. AWS gives it the whole
    # 02:00 and 04:00 hours (full capacity) and charges 20/60 of each; 03:00 is a whole hour.
    usage = flat_usage(6, {("m5.large", LINUX): 1.0})
    item = replace(
        ri("m5.large", 1),
        start=START + timedelta(hours=2, minutes=40),
        end=START + timedelta(hours=4, minutes=20),
    )
    result = simulate(usage, [item], CATALOG)
    assert result.ri_covered[:, 0].tolist() == [0.0, 0.0, 1.0, 1.0, 1.0, 0.0]
    row = result.instruments.loc[0]
    assert row["active_hours"] == 3
    assert row["charged_hours"] == pytest.approx(1 / 3 + 1 + 1 / 3)
    rate = 0.059520  # 0.62 × 0.096
    assert row["cost_usd"] == pytest.approx(rate * 5 / 3)
    assert row["used_cost_usd"] == pytest.approx(rate * 5 / 3)  # fully used: nothing wasted
    assert row["unused_usd"] == pytest.approx(0.0, abs=1e-12)
    assert result.totals.actual_cost_usd == pytest.approx(rate * 5 / 3 + 3 * 0.096)
    assert result.totals.coverage_pct == pytest.approx(100 * 3 / 6)


def test_partial_hour_unused_is_charged_pro_rata() -> None:
    # No usage in the RI's first hour (02:40-03:00): a third of an hour's fee is wasted.
    usage = usage_table([(h, "m5.large", LINUX, 0.0 if h == 2 else 1.0) for h in range(5)])
    item = replace(ri("m5.large", 1), start=START + timedelta(hours=2, minutes=40))
    result = simulate(usage, [item], CATALOG)
    rate = 0.059520
    row = result.instruments.loc[0]
    assert row["charged_hours"] == pytest.approx(1 / 3 + 2)
    assert row["unused_usd"] == pytest.approx(rate / 3)
    assert result.unused[:, 0].tolist() == [0.0, 0.0, 4.0, 0.0, 0.0]  # normalized units
    assert result.breakdown("instrument").set_index("instrument").loc[
        "ri-1", "unused_commitment_usd"
    ] == pytest.approx(rate / 3)


def test_active_mask_and_charged_fraction() -> None:
    hours = pd.date_range(START, periods=4, freq="h")
    start = pd.Timestamp(START + timedelta(minutes=40))
    end = pd.Timestamp(START + timedelta(hours=2, minutes=15))
    assert active_mask(hours, start, end).tolist() == [True, True, True, False]
    np.testing.assert_allclose(charged_fraction(hours, start, end), [1 / 3, 1.0, 0.25, 0.0])
    whole = charged_fraction(hours, pd.Timestamp(START), pd.Timestamp(START + timedelta(hours=2)))
    assert whole.tolist() == [1.0, 1.0, 0.0, 0.0]


def test_sp_starting_mid_period_and_upfront_cash() -> None:
    usage = flat_usage(48, {("m5.large", LINUX): 1.0})
    plan = savings_plan(0.068, start_hour=24, upfront=0.068 * 8_760, payment="All Upfront")
    result = simulate(usage, [plan], CATALOG)
    assert result.compute_sp_covered[:24].sum() == 0.0
    np.testing.assert_allclose(result.compute_sp_covered[24:], 1.0)
    assert result.totals.upfront_usd == pytest.approx(0.068 * 8_760)
    assert result.totals.amortized_upfront_usd == pytest.approx(24 * 0.068)
    assert result.totals.recurring_usd == pytest.approx(0.0)
    assert result.totals.break_even_month is None


def test_own_account_first_then_shared_or_not() -> None:
    usage = pd.concat(
        [flat_usage(1, {("m5.large", LINUX): 1.0}, "aaa"),
         flat_usage(1, {("m5.large", LINUX): 1.0}, "bbb")]
    )  # fmt: skip
    plan = [ri("m5.large", 1, ident="r")]
    shared = simulate(usage, plan, CATALOG, owner_accounts={"r": "bbb"})
    accounts = shared.keys["account_id"].tolist()
    assert shared.ri_covered[0, accounts.index("bbb")] == 1.0
    assert shared.ri_covered[0, accounts.index("aaa")] == 0.0
    two = [ri("m5.large", 2, ident="r")]
    alone = simulate(usage, two, CATALOG, owner_accounts={"r": "bbb"}, share_across_accounts=False)
    assert alone.ri_covered[0].tolist()[accounts.index("aaa")] == 0.0
    both = simulate(usage, two, CATALOG, owner_accounts={"r": "bbb"})
    assert both.ri_covered.sum() == 2.0


def test_commitment_account_id_is_its_owner_unless_overridden() -> None:
    usage = pd.concat(
        [flat_usage(1, {("m5.large", LINUX): 1.0}, "aaa"),
         flat_usage(1, {("m5.large", LINUX): 1.0}, "bbb")]
    )  # fmt: skip
    item = replace(ri("m5.large", 1, ident="r"), account_id="bbb")
    hours = pd.date_range(START, periods=1, freq="h")
    assert build_portfolio([item], hours).instruments[0].account_id == "bbb"
    overridden = build_portfolio([item], hours, owner_accounts={"r": "aaa"})
    assert overridden.instruments[0].account_id == "aaa"
    assert build_portfolio([ri("m5.large", 1)], hours).instruments[0].account_id is None
    for owner in ("bbb", "aaa"):
        result = simulate(usage, [replace(item, account_id=owner)], CATALOG)
        accounts = result.keys["account_id"].tolist()
        assert result.ri_covered[0, accounts.index(owner)] == 1.0
        assert result.ri_covered.sum() == 1.0


def test_missing_on_demand_price_is_one_line_error() -> None:
    usage = flat_usage(1, {("m5.4xlarge", LINUX): 1.0})
    with pytest.raises(MissingPriceError, match=r"m5\.4xlarge"):
        simulate(usage, [], CATALOG)


def test_savings_plan_on_keys_without_rates_warns() -> None:
    sp_rates = CATALOG.savings_plans
    no_c5 = PriceCatalog.from_frames(
        CATALOG.metadata,
        on_demand=CATALOG.on_demand,
        reserved=CATALOG.reserved,
        savings_plans=sp_rates.loc[sp_rates["instance_type"] != "c5.large"],
    )
    usage = flat_usage(2, {("c5.large", LINUX): 1.0, ("m5.large", LINUX): 1.0})
    result = simulate(usage, [savings_plan(1.0)], no_c5)
    assert result.status is SimulationStatus.WARNINGS
    (warning,) = result.warnings
    assert warning.startswith("Savings Plan sp-1: no compute Savings Plans rate (1 y No Upfront)")
    assert "us-east-1 c5.large Linux/UNIX Shared" in warning
    assert "m5.large" not in warning and "commitopt pricing fetch" in warning
    c5 = int(np.flatnonzero(result.keys["instance_type"] == "c5.large")[0])
    assert result.compute_sp_covered[:, c5].sum() == 0.0
    # an EC2 Instance SP of another family does not warn about c5
    m5_plan = savings_plan(1.0, kind="ec2_instance_savings_plan", family="m5")
    assert simulate(usage, [m5_plan], no_c5).warnings == ()


def test_bad_portfolio_items() -> None:
    hours = pd.date_range(START, periods=2, freq="h")
    with pytest.raises(PortfolioError, match="count"):
        build_portfolio([ri("m5.large", 0)], hours)
    with pytest.raises(PortfolioError, match="commitment_usd_per_hour"):
        build_portfolio([savings_plan(0.0)], hours)


def test_fill_in_order_is_a_clipped_cumulative_sum() -> None:
    demand = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 5.0]])
    covered = fill_in_order(demand, np.array([2.5, 10.0]))
    np.testing.assert_allclose(covered, [[1.0, 1.5, 0.0], [0.0, 0.0, 5.0]])


KEYS = list(ON_DEMAND)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[pd.DataFrame, list[Commitment]]:
    """Small random usage (≤ 6 h, 2 accounts) and a random portfolio."""
    hours = draw(st.integers(1, 6))
    rows = []
    quantity = st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 7.0])
    for account in ("aaa", "bbb"):
        for h in range(hours):
            for key in KEYS:
                q = draw(quantity)
                if q:
                    rows.append((h, key, q, account))
    if not rows:
        rows.append((0, KEYS[0], 1.0, "aaa"))
    usage = pd.concat(
        [usage_table([(h, t, p, q)], account) for h, (t, p), q, account in rows],
        ignore_index=True,
    )
    items: list[Commitment] = []
    for index in range(draw(st.integers(0, 4))):
        choice = draw(st.integers(0, 2))
        if choice == 0:
            t, p = draw(st.sampled_from(KEYS))
            items.append(
                ri(
                    t,
                    draw(st.integers(1, 3)),
                    platform=p,
                    ident=f"c{index}",
                    hours=draw(st.integers(1, 8)),
                )
            )
        elif choice == 1:
            items.append(
                savings_plan(
                    draw(st.sampled_from([0.05, 0.1, 0.3])),
                    ident=f"c{index}",
                    start_hour=draw(st.integers(0, 3)),
                )
            )
        else:
            items.append(
                savings_plan(
                    draw(st.sampled_from([0.05, 0.2])),
                    ident=f"c{index}",
                    kind="ec2_instance_savings_plan",
                    family=draw(st.sampled_from(["m5", "c5"])),
                )
            )
    return usage, items  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.booleans())
def test_properties(case: tuple[pd.DataFrame, list[Commitment]], share: bool) -> None:
    usage, items = case
    owners = {item.id: "bbb" for item in items[::2]}
    result = simulate(usage, items, CATALOG, share_across_accounts=share, owner_accounts=owners)
    totals = result.totals
    commitment = float(result.instruments["cost_usd"].sum())
    assert totals.actual_cost_usd <= totals.on_demand_cost_usd + commitment + 1e-9
    assert 0.0 <= totals.coverage_pct <= 100.0
    assert 0.0 <= totals.utilization_pct <= 100.0
    assert ((result.instruments["utilization"] >= -1e-12)
            & (result.instruments["utilization"] <= 1 + 1e-12)).all()  # fmt: skip
    np.testing.assert_allclose(result.covered + result.on_demand, result.usage, atol=1e-12)
    assert (result.on_demand >= -1e-12).all() and (result.covered >= -1e-12).all()
    assert (result.unused >= -1e-9).all()
    for by in BREAKDOWNS:
        table = result.breakdown(by)
        assert table["actual_cost_usd"].sum() == pytest.approx(totals.actual_cost_usd, abs=1e-9)
        assert table["on_demand_cost_usd"].sum() == pytest.approx(
            totals.on_demand_cost_usd, abs=1e-9
        )
    assert totals.savings_vs_on_demand_usd == pytest.approx(
        totals.on_demand_cost_usd - totals.actual_cost_usd
    )
    assert totals.actual_cost_usd == pytest.approx(
        totals.uncovered_cost_usd + totals.amortized_upfront_usd + totals.recurring_usd
    )
