"""Purchases from a plan: whole RIs, Savings Plan steps, order, portfolio JSON round trip."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.explain import explain
from optimizer.purchases import (
    PurchaseLinesError,
    bought_offers,
    purchases_from_units,
    purchases_to_portfolio_json,
    sp_commitment,
)
from pricing.atomic import write_text_atomic
from pricing.inventory import read_portfolio_json
from tests.optimizer.plan_problems import four_instrument_problem

START = datetime(2026, 1, 1, tzinfo=UTC)
PLAN = np.array([48.0, 3.0, 4.0, 12.5, 2.0])


def test_purchases_hold_whole_ris_and_money_by_hand() -> None:
    purchases = purchases_from_units(four_instrument_problem(), PLAN)
    assert [p.id for p in purchases] == ["rec-1", "rec-2", "rec-3", "rec-4", "rec-5"]
    family, windows, ec2_sp, compute, later = purchases
    # 12 m5.large at 0.062 USD/h show an effective 0.744 USD/h (docs/portfolio-format.md).
    assert family.kind == "reserved_instance"
    assert (family.instance_type, family.count, family.normalized_units) == ("m5.large", 12, 48)
    assert (family.platform, family.tenancy, family.scope) == ("Linux/UNIX", "Shared", "Region")
    assert (family.offering_class, family.term_years, family.payment_option) == (
        "standard",
        1,
        "No Upfront",
    )
    assert family.upfront_usd == 0.0
    assert family.recurring_usd_per_hour == pytest.approx(0.062, abs=1e-12)
    assert family.effective_usd_per_hour == pytest.approx(0.744, abs=1e-12)
    assert (family.start, family.end) == (START, START + timedelta(hours=8_760))
    # Windows m5.large, Partial Upfront: 3 × 700 USD upfront, 0.08 USD/h each.
    assert (windows.instance_type, windows.platform, windows.count) == ("m5.large", "Windows", 3)
    assert windows.normalized_units == 12
    assert windows.upfront_usd == pytest.approx(2_100.0)
    assert windows.recurring_usd_per_hour == pytest.approx(0.08)
    assert windows.effective_usd_per_hour == pytest.approx(2_100 / 8_760 + 0.24)
    assert windows.payment_option == "Partial Upfront"
    # EC2 Instance SP, All Upfront: 4 USD/h × 8,760 h upfront.
    assert ec2_sp.kind == "ec2_instance_savings_plan"
    assert (ec2_sp.region, ec2_sp.instance_family) == ("us-east-1", "m5")
    assert ec2_sp.commitment_usd_per_hour == 4.0
    assert ec2_sp.upfront_usd == pytest.approx(35_040.0)
    assert ec2_sp.recurring_usd_per_hour == 0.0
    assert ec2_sp.effective_usd_per_hour == pytest.approx(4.0)
    assert compute.kind == "compute_savings_plan"
    assert compute.region is None and compute.instance_family is None
    assert compute.commitment_usd_per_hour == 12.5
    assert (compute.upfront_usd, compute.recurring_usd_per_hour) == (0.0, 12.5)
    assert compute.effective_usd_per_hour == 12.5
    # The second tranche starts a month (730 h) later and comes last.
    assert later.commitment_usd_per_hour == 2.0
    assert later.start == START + timedelta(hours=730)
    assert later.end == later.start + timedelta(hours=8_760)


def test_order_is_tranche_then_kind_whatever_the_offer_order() -> None:
    problem = four_instrument_problem()
    reverse = replace(problem, offers=problem.offers.iloc[::-1].reset_index(drop=True))
    reverse = replace(reverse, offer_active=problem.offer_active[:, ::-1].tocsr())
    assert list(bought_offers(reverse, PLAN[::-1])) == [4, 3, 2, 1, 0]
    first = purchases_from_units(problem, PLAN)
    second = purchases_from_units(reverse, PLAN[::-1])
    assert first == second


def test_savings_plans_are_rounded_down_to_aws_steps() -> None:
    assert list(sp_commitment(np.array([12.34567, 12.4999999999, 0.0009, 0.001, 3.0]))) == [
        12.345,
        12.5,
        0.0,
        0.001,
        3.0,
    ]
    units = np.array([0.0, 0.0, 0.0009, 7.123456789, 0.0])
    purchases = purchases_from_units(four_instrument_problem(), units)
    assert len(purchases) == 1  # 0.0009 USD/h is below one step: not bought
    assert purchases[0].commitment_usd_per_hour == 7.123
    assert len(repr(purchases[0].commitment_usd_per_hour).split(".")[1]) <= 5
    stepped = purchases_from_units(four_instrument_problem(), units, sp_step_usd=0.01)
    assert stepped[0].commitment_usd_per_hour == 7.12


def test_fractional_ris_are_refused() -> None:
    units = np.array([50.0, 0.0, 0.0, 0.0, 0.0])  # 12.5 m5.large
    with pytest.raises(
        PurchaseLinesError, match=r"50 normalized units is not a whole number of m5\.large"
    ):
        purchases_from_units(four_instrument_problem(), units)
    noisy = np.array([48.0 + 1e-7, 3.0 - 1e-8, 0.0, 0.0, 0.0])  # solver noise is fine
    purchases = purchases_from_units(four_instrument_problem(), noisy)
    assert [p.count for p in purchases] == [12, 3]
    assert purchases[0].upfront_usd == 0.0 and purchases[0].normalized_units == 48.0


@pytest.mark.parametrize("size", ["m5.xlarge", "xlarge"])
def test_a_chosen_ri_size_divides_the_units(size: str) -> None:
    problem = four_instrument_problem()
    purchases = purchases_from_units(problem, PLAN, ri_instance_type=size)
    family, windows = purchases[:2]
    assert (family.instance_type, family.count, family.normalized_units) == ("m5.xlarge", 6, 48)
    assert family.recurring_usd_per_hour == pytest.approx(0.124)
    assert family.effective_usd_per_hour == pytest.approx(0.744)
    assert (windows.instance_type, windows.count) == ("m5.large", 3)  # exact keys keep their type
    units = np.array([52.0, 0.0, 0.0, 0.0, 0.0])  # 13 m5.large, 6.5 m5.xlarge
    with pytest.raises(
        PurchaseLinesError, match=r"not a whole number of m5\.xlarge \(8 normalized"
    ):
        purchases_from_units(problem, units, ri_instance_type=size)


def test_a_chosen_size_of_another_family_or_unknown() -> None:
    problem = four_instrument_problem()
    purchases = purchases_from_units(problem, PLAN, ri_instance_type="c5.xlarge")
    assert (purchases[0].instance_type, purchases[0].count) == ("m5.large", 12)
    with pytest.raises(PurchaseLinesError, match="RI size 'huge'"):
        purchases_from_units(problem, PLAN, ri_instance_type="huge")


def test_units_of_another_problem_are_refused() -> None:
    with pytest.raises(PurchaseLinesError, match="has 5 offers"):
        purchases_from_units(four_instrument_problem(), np.zeros(3))


def test_portfolio_json_round_trips_through_read_portfolio_json(tmp_path: Path) -> None:
    problem = four_instrument_problem()
    purchases = purchases_from_units(problem, PLAN)
    explanations = explain(problem, PLAN, marginal_usd=np.array([1.5, 0.0, 0.0, 0.0, 0.0]))
    summary = {"period_hours": np.int64(2), "savings_usd": np.float64(1.25), "roi": float("nan")}
    payload = purchases_to_portfolio_json(purchases, summary=summary, explanations=explanations)
    assert payload["summary"] == {"period_hours": 2, "savings_usd": 1.25, "roi": None}
    first = payload["purchases"][0]
    assert first["id"] == "rec-1" and first["tranche"] == 0
    assert first["start"] == "2026-01-01T00:00:00Z"
    assert first["marginal_savings_usd_per_unit"] == 1.5
    assert first["explanation"].startswith("Covers the m5 family's base load in us-east-1")
    assert payload["purchases"][4]["tranche"] == 1
    assert payload["purchases"][1]["marginal_savings_usd_per_unit"] == 0.0
    path = tmp_path / "plan.json"
    write_text_atomic(path, json.dumps(payload, indent=2, allow_nan=False))
    inventory = read_portfolio_json(path)
    assert inventory.commitments == purchases


def test_explanations_are_matched_by_id_and_checked() -> None:
    problem = four_instrument_problem()
    purchases = purchases_from_units(problem, PLAN)
    explanations = explain(problem, PLAN)
    shuffled = explanations.iloc[::-1]
    payload = purchases_to_portfolio_json(purchases, summary={}, explanations=shuffled)
    assert [item["tranche"] for item in payload["purchases"]] == [0, 0, 0, 0, 1]
    with pytest.raises(PurchaseLinesError, match="no row for purchase"):
        purchases_to_portfolio_json(purchases, summary={}, explanations=explanations.iloc[:2])
    positional = explanations.drop(columns="id")
    with pytest.raises(PurchaseLinesError, match="2 explanation rows for 5 purchases"):
        purchases_to_portfolio_json(purchases, summary={}, explanations=positional.iloc[:2])


def test_an_empty_plan_has_no_purchases() -> None:
    problem = four_instrument_problem()
    assert purchases_from_units(problem, np.zeros(5)) == ()
    assert explain(problem, np.zeros(5)).empty
    payload = purchases_to_portfolio_json((), summary={"savings_usd": 0.0})
    assert payload == {"purchases": [], "summary": {"savings_usd": 0.0}}
    assert isinstance(pd.DataFrame(payload["purchases"]), pd.DataFrame)
