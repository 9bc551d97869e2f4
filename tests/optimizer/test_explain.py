"""Explanations of each purchase, checked by hand on tiny problems."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from optimizer.allocation import pool_allocation
from optimizer.explain import explain
from optimizer.problem import CommitmentProblem
from optimizer.purchases import purchases_from_units
from tests.optimizer.plan_problems import (
    FAMILY_COLUMN,
    M5_NU_OD,
    WINDOWS_COLUMN,
    WINDOWS_OD,
    compute_sp_pool,
    family_ri_pool,
    four_instrument_problem,
    make_problem,
    offer,
    windows_ri_pool,
)

RI_RATE = 0.062 / 4
"""1-year No Upfront standard RI per m5 normalized unit-hour [USD/h]."""


def family_problem() -> CommitmentProblem:
    """m5 family demand of 40, 48, 60 and 30 NU in periods weighing 1, 2, 1 and 1 hours."""
    return make_problem(
        columns=[FAMILY_COLUMN],
        pools=[family_ri_pool()],
        offers=[offer(0, recurring=RI_RATE)],
        coverage={(0, 0): 1 / M5_NU_OD},
        demand_usd=np.array([[40.0], [48.0], [60.0], [30.0]]) * M5_NU_OD,
        period_weight=np.array([1.0, 2.0, 1.0, 1.0]),
    )


def test_a_family_ri_by_hand() -> None:
    (row,) = explain(family_problem(), np.array([48.0]), marginal_usd=np.array([2.5])).to_dict(
        orient="records"
    )
    assert (row["id"], row["instance_type"], row["count"], row["units"]) == (
        "rec-1",
        "m5.large",
        12,
        48,
    )
    # used NU 40, 48, 48, 30 of 48: utilization 5/6, 1, 1, 0.625 over 1 + 2 + 1 + 1 hours
    assert row["active_hours"] == 5.0
    assert row["expected_utilization_pct"] / 100 == pytest.approx((5 / 6 + 2 + 1 + 0.625) / 5)
    assert row["break_even_utilization_pct"] / 100 == pytest.approx(RI_RATE / M5_NU_OD)  # 0.6458
    assert row["break_even_month"] == 1  # No Upfront and saving
    assert row["marginal_savings_usd_per_unit"] == 2.5
    covered = (40 + 2 * 48 + 48 + 30) * M5_NU_OD
    assert row["covered_on_demand_usd"] == pytest.approx(covered)
    assert row["covered_on_demand_usd_per_hour"] == pytest.approx(covered / 5)
    assert row["used_units_per_hour"] == pytest.approx(214 / 5)
    assert row["commitment_cost_usd"] == pytest.approx(RI_RATE * 48 * 5)
    assert row["net_savings_vs_on_demand_usd"] == pytest.approx(covered - RI_RATE * 48 * 5)
    # demand reached 48 NU in the periods of 2 and 1 hours: 3 of 5 hours
    assert (row["level_units"], row["level_reached_pct"]) == (48.0, pytest.approx(60.0))
    assert row["explanation"] == (
        "Covers the m5 family's base load in us-east-1, which stayed at or above 48 normalized "
        "units (12 × m5.large) in 60% of the lookback's hours (1-year No Upfront standard RIs: "
        "expected "
        "utilization 89%, break-even 65%)."
    )


def test_scenario_probabilities_weigh_the_periods() -> None:
    problem = replace(
        family_problem(),
        period_scenario=np.array([0, 0, 1, 1], dtype=np.intp),
        scenario_probability=np.array([0.25, 0.75]),
        scenario_names=("low", "high"),
    )
    (row,) = explain(problem, np.array([48.0])).to_dict(orient="records")
    weight = np.array([0.25, 0.5, 0.75, 0.75])
    assert row["active_hours"] == pytest.approx(2.25)
    assert row["expected_utilization_pct"] / 100 == pytest.approx(
        weight @ np.array([5 / 6, 1, 1, 0.625]) / 2.25
    )
    assert row["level_reached_pct"] == pytest.approx(100 * 1.25 / 2.25)
    assert np.isnan(row["marginal_savings_usd_per_unit"])


def test_an_upfront_ri_and_a_compute_savings_plan_by_hand() -> None:
    problem = make_problem(
        columns=[FAMILY_COLUMN, WINDOWS_COLUMN],
        pools=[windows_ri_pool(payment_option="Partial Upfront"), compute_sp_pool()],
        offers=[offer(0, upfront=700.0, recurring=0.08), offer(1, recurring=1.0)],
        coverage={(0, 1): 1 / WINDOWS_OD, (1, 0): 0.75, (1, 1): 0.90},
        demand_usd=np.array([[48 * M5_NU_OD, 3 * WINDOWS_OD], [60 * M5_NU_OD, 4 * WINDOWS_OD]]),
    )
    ri, plan = explain(problem, np.array([3.0, 1.0])).to_dict(orient="records")
    # 3 Windows RIs always used: 0.564 USD/h covered, 0.324 USD/h saved before the upfront;
    # 3 × 700 USD repaid after 2,100 / (0.324 × 730) = 8.9 months -> month 9.
    assert ri["expected_utilization_pct"] / 100 == pytest.approx(1.0)
    assert ri["covered_on_demand_usd_per_hour"] == pytest.approx(3 * WINDOWS_OD)
    assert ri["break_even_utilization_pct"] / 100 == pytest.approx(
        (700 / 8_760 + 0.08) / WINDOWS_OD
    )
    assert ri["break_even_month"] == 9
    assert ri["explanation"].startswith(
        "Covers the base load of m5.large Windows (Shared tenancy) in us-east-1, which stayed at "
        "or above 3 instances in 100% of the lookback's hours (1-year Partial Upfront"
    )
    # The Compute SP covers m5 first (ratio 0.75): hour 1 all 1.152 USD/h for 0.864 USD/h
    # (no Windows left), hour 2 1/0.75 USD/h of 1.44 for the whole 1 USD/h.
    covered = 48 * M5_NU_OD + 1 / 0.75
    assert plan["commitment_usd_per_hour"] == 1.0 and np.isnan(plan["count"])
    assert plan["expected_utilization_pct"] / 100 == pytest.approx((0.864 + 1.0) / 2)
    assert plan["break_even_utilization_pct"] / 100 == pytest.approx(0.75)
    assert plan["level_reached_pct"] == 50.0
    assert plan["covered_on_demand_usd"] == pytest.approx(covered)
    assert plan["net_savings_vs_on_demand_usd"] == pytest.approx(covered - 2.0)
    assert plan["break_even_month"] == 1
    assert plan["explanation"] == (
        "Commits 1.000 USD/h to Compute Savings Plans, fully used in 50% of the lookback's hours "
        "at 1-year No Upfront rates, saving 0.49 USD over the lookback (20% of the on-demand "
        "value it covers)."
    )


def test_offers_of_one_pool_share_what_it_covers() -> None:
    problem = four_instrument_problem()
    units = np.array([0.0, 0.0, 0.0, 1.0, 3.0])
    table = explain(problem, units)
    assert list(table["id"]) == ["rec-1", "rec-2"]
    assert list(table["tranche"]) == [0, 1]
    _, _, covered = pool_allocation(problem, units)
    assert table["covered_on_demand_usd"].sum() == pytest.approx(covered[:, 3].sum())
    # hour 2: 4 USD/h of capacity, 1 from the first offer and 3 from the second
    assert table["covered_on_demand_usd"].iloc[1] == pytest.approx(0.75 * covered[1, 3])
    assert table["active_hours"].tolist() == [2.0, 1.0]
    assert (
        table["explanation"]
        .iloc[1]
        .startswith("From 2026-01-31, commits 3.000 USD/h to Compute Savings Plans")
    )
    assert "of its hours in the lookback" in table["explanation"].iloc[1]
    assert "losing" in table["explanation"].iloc[1]


def test_rows_line_up_with_the_purchases() -> None:
    problem = four_instrument_problem()
    units = np.array([48.0, 3.0, 4.0, 12.5, 2.0])
    purchases = purchases_from_units(problem, units, ri_instance_type="m5.xlarge")
    table = explain(problem, units, ri_instance_type="m5.xlarge")
    assert list(table["id"]) == [p.id for p in purchases]
    assert list(table["kind"]) == [p.kind for p in purchases]
    assert (table["instance_type"].iloc[0], table["count"].iloc[0]) == ("m5.xlarge", 6)
    again = explain(problem, units, evaluation=pool_allocation(problem, units))
    assert (
        again["expected_utilization_pct"].tolist()
        == explain(problem, units)["expected_utilization_pct"].tolist()
    )
    ec2 = table.iloc[2]
    assert ec2["explanation"].startswith(
        "Commits 4.000 USD/h to EC2 Instance Savings Plans for the m5 family in us-east-1"
    )
    assert ec2["break_even_month"] > 12  # 35,040 USD upfront for a plan barely used
