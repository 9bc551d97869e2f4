"""The stress test: a family moved or retired as the purchases start, checked in closed form.

When a family's usage leaves it from the first hour, what the purchases save is known without
the simulator's allocation: RIs and EC2 Instance Savings Plans of the family idle (their whole
cost is lost), the moved usage is billed on-demand both with and without them, and a Compute
Savings Plan follows it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from billing.simulator import simulate
from optimizer.policy import Policy
from planning.recommend import RecommendOptions, recommend
from planning.stress import (
    STRESSED_FAMILIES,
    family_specific_cost,
    family_stress,
    moved_family,
    purchase_family,
    retired_family,
    stressed_count,
)
from planning.structural import fleets
from pricing.embedded import load_embedded_catalog
from pricing.instance_types import normalization_factors
from pricing.inventory import Commitment
from tests.planning.test_future import _ri
from tests.planning.test_ri_sizes import _usage
from usage.table import to_matrix

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2025, 1, 1, tzinfo=UTC)


def _savings_plan(
    kind: str, commitment_usd_per_hour: float, family: str | None = None
) -> Commitment:
    return Commitment(
        kind=kind,
        id=f"{kind}-1",
        start=START,
        end=END,
        term_years=1,
        payment_option="No Upfront",
        upfront_usd=0.0,
        region="us-east-1" if family else None,
        instance_family=family,
        commitment_usd_per_hour=commitment_usd_per_hour,
        recurring_usd_per_hour=commitment_usd_per_hour,
    )


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_embedded_catalog()


def test_a_moved_family_strands_its_ris_in_full(catalog) -> None:  # type: ignore[no-untyped-def]
    usage = to_matrix(_usage({"m4.xlarge": 10, "c4.large": 4}), source="usage")
    purchases = (_ri("ri-1", "m4.xlarge", 10, START, END), _ri("ri-2", "c4.large", 4, START, END))
    with_plan = simulate(usage, purchases, catalog)
    cost = family_specific_cost(purchases, with_plan)
    hours = len(usage.hours)
    m4_rate = 10 * 0.124  # ten m4.xlarge at the embedded catalog's 1-year No Upfront rate [USD/h]
    assert list(cost.index) == ["m4", "c4"]  # the larger cover first
    [m4] = family_stress(usage, purchases, (), catalog, with_plan, count=1)
    assert m4.family == "m4"
    assert m4.moved_to == "c5"  # the embedded 2017 catalog has no m5: m4 -> c5 (m <-> c)
    # the c4 RIs still save what they saved alone; the m4 RIs idle: their whole cost is lost
    c4_only = to_matrix(_usage({"c4.large": 4}), source="usage")
    c4_saves = (
        simulate(c4_only, (), catalog).totals.actual_cost_usd
        - simulate(c4_only, purchases[1:], catalog).totals.actual_cost_usd
    )
    assert m4.savings_if_moved_usd == pytest.approx(c4_saves - m4_rate * hours, abs=0.01)
    assert m4.savings_if_retired_usd == pytest.approx(c4_saves - m4_rate * hours, abs=0.01)
    assert m4.family_specific_cost_usd == pytest.approx(m4_rate * hours)


def test_a_compute_savings_plan_follows_the_moved_family(catalog) -> None:  # type: ignore[no-untyped-def]
    usage = to_matrix(_usage({"m4.xlarge": 10}), source="usage")
    compute = _savings_plan("compute_savings_plan", 1.0)
    instance = _savings_plan("ec2_instance_savings_plan", 0.5, family="m4")
    purchases = (compute, instance)
    with_plan = simulate(usage, purchases, catalog)
    [m4] = family_stress(usage, purchases, (), catalog, with_plan)
    moved, _ = moved_family(usage, fleets(usage, catalog), "m4")
    on_demand = simulate(moved, (), catalog).totals.actual_cost_usd
    compute_only = simulate(moved, (compute,), catalog).totals.actual_cost_usd
    # the EC2 Instance SP idles (its commitment is lost), the Compute SP covers the new family
    hours = len(usage.hours)
    expected = on_demand - compute_only - 0.5 * hours
    assert m4.savings_if_moved_usd == pytest.approx(expected, abs=0.01)
    assert on_demand - compute_only > 0  # the Compute SP still saves on the moved usage
    # retired, both idle
    assert m4.savings_if_retired_usd == pytest.approx(-1.5 * hours, abs=0.01)
    assert purchase_family(compute) is None and purchase_family(instance) == "m4"


def test_moving_keeps_normalized_units_hour_by_hour(catalog) -> None:  # type: ignore[no-untyped-def]
    frame = _usage({"m4.2xlarge": 6, "m4.large": 3, "r4.large": 2})
    usage = to_matrix(frame, source="usage")
    moved, targets = moved_family(usage, fleets(usage, catalog), "m4")
    assert targets and "m4" not in targets.split(", ")

    def units(matrix, family: str | None = None) -> np.ndarray:  # type: ignore[no-untyped-def]
        factors = normalization_factors(matrix.keys["instance_type"])
        total = matrix.quantity * factors
        if family is None:
            return total.sum(axis=1)
        mine = matrix.keys["instance_type"].str.startswith(f"{family}.").to_numpy()
        return total[:, mine].sum(axis=1)

    np.testing.assert_allclose(units(moved), units(usage))
    assert not units(moved, "m4").any()
    np.testing.assert_allclose(units(moved, "r4"), units(usage, "r4"))
    retired = retired_family(usage, "m4")
    np.testing.assert_allclose(units(retired), units(usage, "r4"))


def test_nothing_family_specific_nothing_stressed(catalog) -> None:  # type: ignore[no-untyped-def]
    usage = to_matrix(_usage({"m4.xlarge": 10}), source="usage")
    purchases = (_savings_plan("compute_savings_plan", 1.0),)
    with_plan = simulate(usage, purchases, catalog)
    assert family_stress(usage, purchases, (), catalog, with_plan) == []
    assert (
        family_stress(
            usage, (_ri("ri-1", "m4.xlarge", 1, START, END),), (), catalog, with_plan, count=0
        )
        == []
    )


def test_the_default_count_keeps_within_its_budget() -> None:
    assert stressed_count(None, 100, 1_440) == STRESSED_FAMILIES
    assert stressed_count(None, 1_000, 8_760) == 0  # 8.76 M key-hours: above the budget
    assert stressed_count(2, 1_000, 8_760) == 2  # asked for: billed at any size
    assert stressed_count(0, 10, 10) == 0


def test_recommend_says_when_the_budget_left_the_stress_out(
    catalog, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    frame = _usage({"m4.xlarge": 10, "c4.large": 4})
    options = RecommendOptions(lookback_days=30, decide_on="lookback")
    policy = Policy(instruments=("ri",))
    run = recommend(frame, catalog, policy, options=options)
    assert [item.family for item in run.stress] == ["m4", "c4"]
    monkeypatch.setattr("planning.stress.STRESS_BUDGET_KEY_HOURS", 10)
    small = recommend(frame, catalog, policy, options=options)
    assert small.stress == () and small.summary["stress"] == []
    assert any("stress test" in note and "not billed" in note for note in small.notes)
    forced = recommend(frame, catalog, policy, options=replace(options, stressed_families=1))
    assert [item.family for item in forced.stress] == ["m4"]
