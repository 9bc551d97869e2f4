"""The frontier: levels 0 and 1 are plain simulations; the knee of a closed-form parabola."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from billing.simulator import simulate
from pricing.catalog import CatalogMetadata, PriceCatalog
from scenarios.frontier import FrontierError, check_levels, frontier, knee_index
from scenarios.paths import UsagePaths
from tests.billing.test_simulator import (
    CATALOG,
    LINUX,
    ON_DEMAND,
    START,
    WINDOWS,
    ri,
    savings_plan,
    usage_table,
)
from usage.table import KEY_COLUMNS, UsageMatrix

HOURS = 1_000
DEMAND = 10.0  # instances at most
OD_RATE = 0.1  # USD/h
SP_RATE = 0.07  # USD/h: a flat 30 % discount
DISCOUNT = 1 - SP_RATE / OD_RATE


def one_key_catalog() -> PriceCatalog:
    key = {"region": "us-east-1", "instance_type": "m5.large", "platform": LINUX,
           "tenancy": "Shared"}  # fmt: skip
    return PriceCatalog.from_frames(
        CatalogMetadata("closed form", date(2026, 1, 1)),
        on_demand=pd.DataFrame([{**key, "on_demand_usd_per_hour": OD_RATE}]),
        savings_plans=pd.DataFrame(
            [{**key, "plan_type": "compute", "term_years": 1, "payment_option": "No Upfront",
              "sp_hourly_usd": SP_RATE}]
        ),
    )  # fmt: skip


def uniform_usage() -> UsageMatrix:
    """Usage spread evenly over [0, DEMAND]: hour t runs DEMAND × (t + 0.5) / HOURS instances."""
    key = {"account_id": "111", "region": "us-east-1", "instance_type": "m5.large",
           "platform": LINUX, "tenancy": "Shared"}  # fmt: skip
    keys = pd.DataFrame([key])
    quantity = DEMAND * (np.arange(HOURS) + 0.5)[:, None] / HOURS
    hours = pd.date_range(START, periods=HOURS, freq="h", tz="UTC", unit="ns")
    return UsageMatrix(hours, keys[list(KEY_COLUMNS)], quantity)


def test_knee_of_the_closed_form_parabola() -> None:
    """One pool, flat discount d, usage uniform on [0, D] (on-demand value): the savings at
    covered value x are d·x − x²/(2D), a step's marginal return is (d − x_mid/D)/(1 − d), so the
    knee is the last level whose step midpoint is at most D·(d − θ(1 − d))."""
    catalog = one_key_catalog()
    ceiling = DEMAND * OD_RATE  # D, on-demand USD per hour
    optimum = DISCOUNT * ceiling  # covered value of the best commitment
    plan = [savings_plan(optimum * (1 - DISCOUNT))]  # level 1 = the optimum
    levels = np.linspace(0.0, 1.5, 31)
    for threshold in (0.0, 0.1, 0.25):
        result = frontier(uniform_usage(), plan, catalog, levels=levels, knee_threshold=threshold)
        covered = levels * optimum
        parabola = HOURS * (DISCOUNT * covered - covered**2 / (2 * ceiling))
        np.testing.assert_allclose(
            result.table["mean_savings_vs_on_demand_usd"], parabola, rtol=1e-3, atol=1e-6
        )
        midpoints = (levels[1:] + levels[:-1]) / 2 * optimum
        limit = ceiling * (DISCOUNT - threshold * (1 - DISCOUNT))
        expected_knee = levels[1:][midpoints <= limit].max()
        assert result.knee_level == pytest.approx(expected_knee)
        assert result.table["is_knee"].sum() == 1
        assert result.knee["level"] == pytest.approx(expected_knee)
        returns = result.table["marginal_savings_usd_per_usd"].to_numpy()[1:]
        np.testing.assert_allclose(
            returns, (DISCOUNT - midpoints / ceiling) / (1 - DISCOUNT), atol=2e-3
        )
    # with a zero threshold the knee is the level of the most savings: the optimum, level 1
    assert frontier(uniform_usage(), plan, catalog, knee_threshold=0.0).knee_level == 1.0


def mixed_usage() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = [(h, t, p, float(rng.integers(0, 6))) for h in range(48) for (t, p) in ON_DEMAND]
    return usage_table(rows)


def test_level_zero_is_the_owned_portfolio_and_level_one_the_whole() -> None:
    usage = mixed_usage()
    owned = [ri("m5.xlarge", 1, ident="owned-ri")]
    proposed = [
        ri("m5.large", 3, ident="new-ri"),
        ri("m5.large", 1, platform=WINDOWS, ident="new-win"),
        savings_plan(0.2, kind="ec2_instance_savings_plan", family="m5", ident="new-ec2"),
        savings_plan(0.15, ident="new-compute", start_hour=6),
    ]
    result = frontier(usage, proposed, CATALOG, owned=owned, levels=[0.0, 0.5, 1.0, 1.5])
    table = result.table.set_index("level")
    assert result.n_paths == 1
    for level, items in ((0.0, owned), (1.0, [*owned, *proposed])):
        totals = simulate(usage, items, CATALOG).totals
        row = table.loc[level]
        assert row["mean_savings_vs_on_demand_usd"] == pytest.approx(
            totals.savings_vs_on_demand_usd, rel=1e-9
        )
        assert row["p5_savings_vs_on_demand_usd"] == pytest.approx(
            totals.savings_vs_on_demand_usd, rel=1e-9
        )
        assert row["commitment_cost_usd"] == pytest.approx(
            totals.amortized_upfront_usd + totals.recurring_usd, rel=1e-9
        )
        assert row["mean_coverage_pct"] == pytest.approx(totals.coverage_pct, rel=1e-9)
        assert row["mean_utilization_pct"] == pytest.approx(totals.utilization_pct, rel=1e-9)
    assert table["is_portfolio"].tolist() == [False, False, True, False]
    # the proposed cost scales linearly with the level
    costs = table["commitment_cost_usd"]
    proposed_cost = costs - costs.iloc[0]
    assert proposed_cost.loc[1.5] == pytest.approx(1.5 * proposed_cost.loc[1.0])
    assert proposed_cost.loc[0.5] == pytest.approx(0.5 * proposed_cost.loc[1.0])


def test_fractional_ri_counts_are_fractional_capacity() -> None:
    """Half of 2 m5.2xlarge RIs bills as one 2xlarge RI (16 normalized units)."""
    usage = usage_table([(h, "m5.large", LINUX, 5.0) for h in range(24)])
    two = [ri("m5.2xlarge", 2, ident="x")]
    result = frontier(usage, two, CATALOG, levels=[0.0, 0.5, 1.0])
    one = simulate(usage, [ri("m5.2xlarge", 1, ident="x")], CATALOG).totals
    half = result.table.set_index("level").loc[0.5]
    assert half["mean_savings_vs_on_demand_usd"] == pytest.approx(
        one.savings_vs_on_demand_usd, rel=1e-9
    )
    assert half["commitment_cost_usd"] == pytest.approx(one.recurring_usd, rel=1e-9)


def test_paths_give_a_spread_and_monotone_percentiles() -> None:
    rng = np.random.default_rng(0)
    keys = usage_table([(0, t, p, 1.0) for (t, p) in ON_DEMAND])[list(KEY_COLUMNS)]
    hours = pd.date_range(START, periods=72, freq="h", tz="UTC", unit="ns")
    source = rng.uniform(0, 6, size=(30, len(keys)))
    paths = UsagePaths(hours, keys, source, rng.integers(0, 30, size=(25, 72)).astype(np.int32))
    result = frontier(paths, [savings_plan(0.4), ri("m5.large", 4, ident="r")], CATALOG,
                      levels=np.linspace(0, 1.5, 7))  # fmt: skip
    table = result.table
    assert result.n_paths == 25
    assert (
        table["p5_savings_vs_on_demand_usd"] <= table["p50_savings_vs_on_demand_usd"] + 1e-9
    ).all()
    assert (
        table["p50_savings_vs_on_demand_usd"] <= table["p95_savings_vs_on_demand_usd"] + 1e-9
    ).all()
    assert (
        table["p5_savings_vs_on_demand_usd"] <= table["mean_savings_vs_on_demand_usd"] + 1e-9
    ).all()
    assert table.loc[0, "mean_savings_vs_on_demand_usd"] == pytest.approx(0.0, abs=1e-9)
    assert (
        table.loc[1:, "p5_savings_vs_on_demand_usd"] < table.loc[1:, "p95_savings_vs_on_demand_usd"]
    ).all()


def test_knee_index_rule() -> None:
    cost = np.array([0.0, 10.0, 20.0, 30.0, 40.0])
    savings = np.array([0.0, 5.0, 8.0, 9.0, 9.5])  # returns 0.5, 0.3, 0.1, 0.05
    assert knee_index(cost, savings, 0.2)[0] == 2
    assert knee_index(cost, savings, 0.1)[0] == 3
    assert knee_index(cost, savings, 0.6)[0] == 0
    knee, returns = knee_index(np.zeros(3), np.zeros(3), 0.1)  # nothing proposed
    assert knee == 0 and np.isnan(returns).all()


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ([1.0], "at least two"),
        ([0.0, -0.5], "finite share"),
        ([0.0, float("nan")], "finite share"),
        ([0.0, 1.0, 1.0], "increase strictly"),
    ],
)
def test_bad_levels(levels: list[float], message: str) -> None:
    with pytest.raises(FrontierError, match=message):
        check_levels(levels)
    assert issubclass(FrontierError, ValueError)


def test_start_hour_offsets_are_kept() -> None:
    """A proposed plan starting mid-period is scaled, not moved."""
    usage = usage_table([(h, "c5.large", LINUX, 4.0) for h in range(12)])
    plan = [savings_plan(0.1, start_hour=6)]
    result = frontier(usage, plan, CATALOG, levels=[0.0, 1.0, 2.0])
    totals = simulate(usage, [savings_plan(0.2, start_hour=6)], CATALOG).totals
    doubled = result.table.set_index("level").loc[2.0]
    assert doubled["mean_savings_vs_on_demand_usd"] == pytest.approx(
        totals.savings_vs_on_demand_usd, rel=1e-9
    )
    assert timedelta(hours=6) == plan[0].start - START
