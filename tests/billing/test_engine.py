"""The fill engine: pools, passes and the split of a pool among its instruments."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from billing.fill import fill_in_order
from billing.simulator import simulate
from tests.billing.test_simulator import (
    CATALOG,
    LINUX,
    flat_usage,
    ri,
    savings_plan,
    usage_table,
)


def test_pool_members_are_used_in_portfolio_order() -> None:
    # 0.25 USD/h of Linux m5.large at the SP rate (0.068): the first plan is used in full
    usage = flat_usage(3, {("m5.large", LINUX): 0.25 / 0.068})
    plans = [savings_plan(0.1, ident="first"), savings_plan(0.2, ident="second")]
    result = simulate(usage, plans, CATALOG)
    table = result.instruments.set_index("id")
    assert table.loc["first", "used"] == pytest.approx(3 * 0.1)
    assert table.loc["second", "used"] == pytest.approx(3 * 0.15)
    assert table.loc["second", "unused_usd"] == pytest.approx(3 * 0.05)
    np.testing.assert_allclose(result.used, [[0.1, 0.15]] * 3)
    # their covered usage is shared in proportion to the capacity each used
    assert table.loc["first", "covered_usage_hours"] == pytest.approx(3 * 0.1 / 0.068)
    by_instrument = result.breakdown("instrument").set_index("instrument")
    assert by_instrument.loc["second", "actual_cost_usd"] == pytest.approx(3 * 0.2)


def test_owners_first_then_plans_without_an_owner() -> None:
    # bbb's m5.large (29 % off) comes before aaa's c5.large (27 % off) in the plans' order
    usage = pd.concat(
        [flat_usage(2, {("c5.large", LINUX): 1.0}, "aaa"),
         flat_usage(2, {("m5.large", LINUX): 1.0}, "bbb")]
    )  # fmt: skip
    # the unowned plan comes first in the portfolio, yet bbb's own plan covers bbb
    plans = [savings_plan(0.068, ident="anyone"), savings_plan(0.068, ident="bbb's")]
    result = simulate(usage, plans, CATALOG, owner_accounts={"bbb's": "bbb"})
    np.testing.assert_allclose(result.compute_sp_covered, 1.0)
    ledger = result.ledger.loc[result.ledger["instance_hours"] > 0]
    covered_by = {name: set(rows["account_id"]) for name, rows in ledger.groupby("instrument")}
    assert covered_by["anyone"] == {"aaa"} and covered_by["bbb's"] == {"bbb"}
    table = result.instruments.set_index("id")
    assert table.loc["anyone", "unused_usd"] == pytest.approx(2 * (0.068 - 0.062))
    assert table.loc["bbb's", "unused_usd"] == pytest.approx(0.0, abs=1e-12)


def test_exact_key_ri_before_a_family_pool() -> None:
    # a zonal m5.large RI (exact key) and a regional m5.xlarge RI (8 NU, size-flexible): AWS
    # applies the zonal one first, whatever the portfolio order
    usage = flat_usage(2, {("m5.large", LINUX): 2.0})
    flexible = ri("m5.xlarge", 1, ident="regional")
    zonal = ri("m5.large", 1, ident="zonal", scope="Availability Zone")
    result = simulate(usage, [flexible, zonal], CATALOG)
    table = result.instruments.set_index("id")
    assert table.loc["zonal", "used"] == pytest.approx(2 * 1.0)  # instances
    assert table.loc["regional", "used"] == pytest.approx(2 * 4.0)  # one large = 4 of its 8 NU
    np.testing.assert_allclose(result.ri_covered, 2.0)


def test_walk_equals_the_clipped_cumulative_sum() -> None:
    rng = np.random.default_rng(7)
    hours = 24
    demand = rng.choice([0.0, 0.5, 1.0, 3.0], size=(hours, 4))
    rows = [
        (h, t, LINUX, float(demand[h, i]))
        for h in range(hours)
        for i, t in enumerate(["m5.large", "m5.xlarge", "m5.2xlarge", "c5.large"])
    ]
    table = usage_table(rows)
    plan = replace(savings_plan(0.3), id="sp")
    result = simulate(table, [plan], CATALOG)
    keys = result.keys
    rates = np.array(
        [{"m5.large": 0.068, "m5.xlarge": 0.136, "m5.2xlarge": 0.272, "c5.large": 0.062}[t]
         for t in keys["instance_type"]]
    )  # fmt: skip
    od = keys["on_demand_usd_per_hour"].to_numpy()
    order = np.lexsort((rates, -(1 - rates / od)))
    spend = result.usage[:, order] * rates[order]
    expected = fill_in_order(spend, np.full(result.usage.shape[0], 0.3)) / rates[order]
    np.testing.assert_allclose(result.compute_sp_covered[:, order], expected, atol=1e-12)
