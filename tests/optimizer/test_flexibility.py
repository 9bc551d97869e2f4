"""Equal prices, flexible choice: a Compute SP costing (nearly) what the RI costs is preferred."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from billing.simulator import simulate
from optimizer.flexibility import FLEXIBILITY_TOLERANCE_PCT, flexible_preferences
from optimizer.policy import Policy
from planning.recommend import RecommendOptions, recommend
from pricing.catalog import PriceCatalog
from pricing.embedded import load_embedded_catalog
from tests.optimizer.plan_problems import four_instrument_problem
from tests.planning.test_ri_sizes import DAYS, _usage

RI_RATE = 0.062
"""m4.large us-east-1 Linux, 1-year No Upfront standard RI, embedded catalog [USD/h]."""
POLICY = Policy(instruments=("ri", "compute-sp"))


def _catalog(compute_rate: float) -> PriceCatalog:
    """The embedded catalog with m4.large's 1-year No Upfront Compute SP rate in us-east-1
    replaced."""
    catalog = load_embedded_catalog()
    plans = catalog.savings_plans.copy()
    row = (
        (plans["plan_type"] == "compute")
        & (plans["region"] == "us-east-1")
        & (plans["instance_type"] == "m4.large")
        & (plans["platform"] == "Linux/UNIX")
        & (plans["tenancy"] == "Shared")
        & (plans["term_years"] == 1)
        & (plans["payment_option"] == "No Upfront")
    )
    assert row.sum() == 1
    plans.loc[row, "sp_hourly_usd"] = compute_rate
    return PriceCatalog(catalog.on_demand, catalog.reserved, plans, catalog.metadata)


def test_the_embedded_ri_rate_is_the_one_compared() -> None:
    catalog = load_embedded_catalog()
    key = pd.DataFrame({"region": ["us-east-1"], "instance_type": ["m4.large"],
                        "platform": ["Linux/UNIX"], "tenancy": ["Shared"]})  # fmt: skip
    assert catalog.reserved_rates(key, "standard", 1, "No Upfront")[0] == pytest.approx(RI_RATE)


@pytest.mark.parametrize(
    ("compute_rate", "words"),
    [(RI_RATE, "they cost the same"), (RI_RATE * 1.003, "they cost within 0.3 %")],
)
def test_a_tied_compute_sp_replaces_the_ris(compute_rate: float, words: str) -> None:
    catalog = _catalog(compute_rate)
    usage = _usage({"m4.large": 4})
    run = recommend(usage, catalog, POLICY, options=RecommendOptions(lookback_days=DAYS))
    (purchase,) = run.purchases
    assert purchase.kind == "compute_savings_plan"
    # 4 m4.large at the Compute SP rate, rounded down to AWS's 0.001 USD/h step
    assert purchase.commitment_usd_per_hour == pytest.approx(
        np.floor(4 * compute_rate * 1000 + 1e-6) / 1000
    )
    sentence = str(run.explanations.loc[0, "explanation"])
    assert (
        f"Compute SP instead of m4 RIs in us-east-1: {words}, and it also covers other families "
        "and regions, Fargate and Lambda." in sentence
    )
    # Billed by the simulator: within the tolerance of the RI plan's cost.
    ris = recommend(
        usage, catalog, Policy(instruments=("ri",)), options=RecommendOptions(lookback_days=DAYS)
    )
    assert [(p.instance_type, p.count) for p in ris.purchases] == [("m4.large", 4)]
    ours = simulate(run.usage, run.purchases, catalog).totals
    theirs = simulate(run.usage, ris.purchases, catalog).totals
    ri_cost = 4 * RI_RATE * len(run.usage.hours)
    assert (
        ours.actual_cost_usd <= theirs.actual_cost_usd + FLEXIBILITY_TOLERANCE_PCT / 100 * ri_cost
    )
    assert ours.actual_cost_usd < simulate(run.usage, (), catalog).totals.actual_cost_usd


def test_a_clearly_dearer_compute_sp_leaves_the_ris() -> None:
    catalog = _catalog(RI_RATE * 1.06)
    # on the lookback: on the futures a Compute SP may be bought as a hedge (planning.hedging)
    options = RecommendOptions(lookback_days=DAYS, decide_on="lookback")
    run = recommend(_usage({"m4.large": 4}), catalog, POLICY, options=options)
    assert [(p.kind, p.instance_type, p.count) for p in run.purchases] == [
        ("reserved_instance", "m4.large", 4)
    ]
    assert "instead of" not in str(run.explanations.loc[0, "explanation"])
    assert flexible_preferences(run.problem).empty


def test_preferences_by_hand() -> None:
    # Windows RI: 0.3198 USD per instance over the horizon × 1/0.188 instances per USD = 1.7012;
    # EC2 Instance SP: 2.0 × 0.85 = 1.7 (cheaper); Compute SP 2.0 × 0.90 = 1.8 (5.9 % dearer).
    # Family RI: 0.031 × 1/0.024 = 1.2917; the SPs cost 1.4 and 1.5 there: nothing gives way.
    problem = four_instrument_problem()
    found = flexible_preferences(problem)
    assert list(found["pool"]) == [1]
    assert list(found["preferred_kind"]) == ["ec2_instance_savings_plan"]
    windows_ri = float(problem.offers.loc[1, "objective_usd_per_unit"]) / 0.188
    assert found.loc[0, "cost_gap_pct"] == pytest.approx(100 * (1.7 / windows_ri - 1))
    # With a 7 % tolerance the Compute SP (5.9 % dearer) takes the Windows RI's place; the family
    # RI and the EC2 Instance SP stay: the family column costs 1.2917 through the RI and 1.5
    # through the Compute SP (16 % dearer).
    wide = flexible_preferences(problem, tolerance_pct=7.0)
    assert dict(zip(wide["pool"], wide["preferred_kind"], strict=True)) == {
        1: "compute_savings_plan"
    }


def test_a_pool_that_gives_way_moves_its_usage_to_the_preferred_pool() -> None:
    # the swap's start: 3 Windows RIs covered 3 × 0.188 on-demand USD/h (coverage 1/0.188
    # instances per USD/h); the EC2 Instance SP covers a USD/h of it with 0.85 USD/h of
    # commitment, so it takes 3 × 0.188 × 0.85 USD/h on top of what it held
    from optimizer.flexibility import moved_to_preferred

    problem = four_instrument_problem()
    found = flexible_preferences(problem)
    pool = problem.offers["pool"].to_numpy()
    ri_offer = int(np.flatnonzero(pool == 1)[0])
    sp_offer = int(np.flatnonzero(pool == int(found.loc[0, "preferred_pool"]))[0])
    units = np.full(problem.n_offers, 0.25)
    units[ri_offer] = 3.0
    moved = moved_to_preferred(problem, units, found)
    assert moved[ri_offer] == 0.0
    assert moved[sp_offer] == pytest.approx(0.25 + 3 * 0.188 * 0.85)
    others = np.setdiff1d(np.arange(problem.n_offers), [ri_offer, sp_offer])
    np.testing.assert_array_equal(moved[others], units[others])


@pytest.mark.parametrize("rounded_family_units", [12.0, 13.0])
def test_rounding_moves_the_rounded_cover_to_the_savings_plan_held(
    rounded_family_units: float,
) -> None:
    # the whole-RI re-solve's start: the family RI's 12.4 normalized units rounded to 12 leave
    # 0.4 NU × 0.024 USD/h on-demand, which the Compute SP the plan holds covers at 0.75 USD/h
    # of commitment per USD/h (rounded up to 13, the Compute SP gives up 0.6 NU's worth); the
    # EC2 Instance SP, not held, is left alone and the Windows RI did not move
    from optimizer.flexibility import rebalanced
    from tests.optimizer.plan_problems import M5_NU_OD

    problem = four_instrument_problem()
    continuous = np.array([12.4, 3.0, 0.0, 0.5, 0.2])
    fixed = np.array([True, True, False, False, False])
    rounded = np.array([rounded_family_units, 3.0, 0.0, 0.5, 0.2])
    start = rebalanced(problem, continuous, rounded, fixed)
    moved_usd = (12.4 - rounded_family_units) * M5_NU_OD
    np.testing.assert_allclose(start, [rounded_family_units, 3.0, 0.0, 0.5 + 0.75 * moved_usd, 0.2])
