"""The one scaling rule for a commitment: rounded down to what AWS sells; its fractional form."""

from __future__ import annotations

import pandas as pd
import pytest

from billing.portfolio import build_portfolio
from pricing.embedded import load_embedded_catalog
from pricing.offerings import CommitmentKind, floor_to_sp_step
from scenarios.backtest import ri_purchases, savings_plan_purchase

AT = pd.Timestamp("2024-02-01", tz="UTC")
KEYS = pd.DataFrame(
    {"region": ["us-east-1"], "instance_type": ["m4.large"], "platform": ["Linux/UNIX"],
     "tenancy": ["Shared"]}
)  # fmt: skip


def test_factor_one_is_the_purchase_itself() -> None:
    plan = savings_plan_purchase(CommitmentKind.COMPUTE_SAVINGS_PLAN, 1.2345, AT)
    assert plan.scaled(1.0) is plan


def test_savings_plans_round_down_to_the_step() -> None:
    plan = savings_plan_purchase(CommitmentKind.COMPUTE_SAVINGS_PLAN, 1.235, AT)
    half = plan.scaled(0.5)
    assert half is not None and half.commitment_usd_per_hour == pytest.approx(0.617)
    assert half.upfront_usd == pytest.approx(plan.upfront_usd * 0.617 / 1.235)
    assert plan.scaled(0.0005) is None  # under one step
    # whole steps up to floating-point error are kept
    assert floor_to_sp_step(0.3 * 3) == pytest.approx(0.9)


def test_ris_round_down_to_whole_ris_and_keep_the_per_ri_fee() -> None:
    catalog = load_embedded_catalog()
    (ri,) = ri_purchases(KEYS, [5], AT, catalog)
    scaled = ri.scaled(0.5)
    assert scaled is not None and (scaled.count, scaled.normalized_units) == (2, 8.0)
    assert scaled.recurring_usd_per_hour == ri.recurring_usd_per_hour
    assert scaled.effective_usd_per_hour == pytest.approx(2 * 0.062)
    assert ri.scaled(0.1) is None
    assert [p.scaled(1.5).count for p in (ri, ri)] == [7, 7]  # type: ignore[union-attr]


def test_the_instrument_form_agrees_where_counts_are_whole() -> None:
    catalog = load_embedded_catalog()
    (ri,) = ri_purchases(KEYS, [4], AT, catalog)
    hours = pd.date_range(AT, periods=24, freq="h")
    whole = ri.scaled(0.5)
    assert whole is not None
    (expected,) = build_portfolio([whole], hours, catalog).instruments
    (built,) = build_portfolio([ri], hours, catalog).instruments
    halved = built.scaled(0.5)
    assert halved.capacity == pytest.approx(expected.capacity)
    assert halved.recurring_usd_per_hour == pytest.approx(expected.recurring_usd_per_hour)
    assert halved.upfront_usd == pytest.approx(expected.upfront_usd)
    assert halved.amortized_hourly_usd == pytest.approx(expected.amortized_hourly_usd)
