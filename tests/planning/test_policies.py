"""Policies that need the optimizer, and the hindsight optimum, on a few months of two keys."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from planning.policies import (
    PLANNED_LADDER,
    PURCHASE_POLICY,
    CostExplorerLike,
    HindsightOptimum,
    KneeRule,
    NoPurchases,
    OursLadder,
    OursOneShot,
    clear_trend,
    run_backtest,
    standard_policies,
    weekly_line,
)
from pricing.embedded import load_embedded_catalog
from pricing.inventory import Commitment
from pricing.offerings import CommitmentKind
from scenarios.backtest import (
    BacktestError,
    BacktestStatus,
    PurchasePolicy,
    Review,
    backtest,
    ri_purchases,
    savings_plan_purchase,
)
from scenarios.forecast import forecast
from scenarios.transforms import Growth, Scenario
from usage.synthetic import decline, growth, steady_daily_cycle
from usage.table import UsageMatrix

START = "2024-01-01T00:00:00Z"
HOURS = 24 * 92  # to 2024-04-02
WINDOW: dict[str, Any] = {"start": "2024-02-01", "end": "2024-04-01", "lookback_days": 30}
ONE_REVIEW: dict[str, Any] = {"start": "2024-02-01", "end": "2024-03-01", "lookback_days": 30}


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_embedded_catalog()


def fleet(kind: str) -> pd.DataFrame:
    """A steady m4.large fleet plus a c5.xlarge fleet that grows or declines."""
    steady = steady_daily_cycle(start=START, hours=HOURS, base_instances=6, seed=1)
    if kind == "growth":
        moving = growth(start=START, hours=HOURS, base_instances=2, growth_instances_per_day=0.15)
    else:
        moving = decline(
            start=START, hours=HOURS, base_instances=16, decline_instances_per_day=0.15
        )
    return pd.concat([steady, moving], ignore_index=True)


@pytest.mark.parametrize("kind", ["growth", "decline"])
def test_hindsight_is_never_beaten(catalog, kind: str) -> None:  # type: ignore[no-untyped-def]
    policies: dict[str, PurchasePolicy] = {
        "none": NoPurchases(),
        "knee": KneeRule(),
        "ours-ladder": OursLadder(),
        "ours-ladder-path": OursLadder(basis="path", plan_months=2),
    }
    if kind == "growth":
        policies["ce-30d"] = CostExplorerLike(30, iterations=6)
        policies["ours-oneshot"] = OursOneShot()
    else:
        policies["ours-ladder-half"] = OursLadder(fraction=0.5)
    result = backtest(fleet(kind), catalog, policies, hindsight=HindsightOptimum(), **WINDOW)
    assert result.status is BacktestStatus.OK, result.notes
    assert result.hindsight is not None
    ceiling = result.hindsight.savings_vs_on_demand_usd
    bound = result.ceiling_savings_usd
    assert 0 < ceiling <= bound
    for name, outcome in result.outcomes.items():
        assert outcome.savings_vs_on_demand_usd <= bound + 1e-6, name
        assert outcome.captured == pytest.approx(outcome.savings_vs_on_demand_usd / bound)
    assert result.outcomes["none"].savings_vs_on_demand_usd == pytest.approx(0.0)
    assert result.outcomes["ours-ladder-path"].captured > 0.5
    # the futures ladder decides over the 1-year term, which the 2-month window does not bill
    # (the path ladder plans 2 months): on the decline it commits only what stays used longer
    assert result.outcomes["ours-ladder"].captured > (0.5 if kind == "growth" else 0.0)
    # the hindsight buys only when a monthly policy could
    assert {p.start for p in result.hindsight.purchases} <= {
        d.to_pydatetime() for d in result.review_dates
    }


def test_one_shot_buys_at_the_first_review_only(catalog) -> None:  # type: ignore[no-untyped-def]
    result = backtest(fleet("growth"), catalog, {"once": OursOneShot()}, **WINDOW)
    assert len(result.review_dates) == 2
    purchases = result.outcomes["once"].purchases
    assert purchases
    assert {p.start for p in purchases} == {pd.Timestamp("2024-02-01", tz="UTC").to_pydatetime()}


@pytest.mark.parametrize("basis", ["futures", "path"])
def test_the_ladder_buys_nothing_on_top_of_enough_owned(catalog, basis: str) -> None:  # type: ignore[no-untyped-def]
    usage = steady_daily_cycle(
        start=START, hours=HOURS, base_instances=6, daily_amplitude_instances=0.0,
        noise_instances=0.0,
    )  # fmt: skip
    keys = usage[["region", "instance_type", "platform", "tenancy"]].iloc[:1]
    owned = ri_purchases(keys, [6], pd.Timestamp("2023-12-01", tz="UTC"), catalog)
    ladder = OursLadder(basis=basis, plan_months=2)
    result = backtest(usage, catalog, {"ladder": ladder}, owned=owned, **ONE_REVIEW)
    assert result.outcomes["ladder"].purchases == ()
    assert result.outcomes["ladder"].simulation.totals.coverage_pct == pytest.approx(100.0)
    # without them it buys the fleet at the first review (the futures' basis hedges part of it
    # with a Compute SP, at the Compute rate: 99.7 % of its hours covered)
    alone = backtest(usage, catalog, {"ladder": ladder}, **ONE_REVIEW)
    assert alone.outcomes["ladder"].simulation.totals.coverage_pct == pytest.approx(100.0, abs=0.5)
    assert alone.outcomes["ladder"].purchases[0].start == pd.Timestamp("2024-02-01", tz="UTC")


def test_a_fraction_of_a_purchase(catalog) -> None:  # type: ignore[no-untyped-def]
    at = pd.Timestamp("2024-02-01", tz="UTC")
    plan = savings_plan_purchase(CommitmentKind.COMPUTE_SAVINGS_PLAN, 1.235, at)
    half = plan.scaled(0.5)
    assert half is not None and half.commitment_usd_per_hour == pytest.approx(0.617)
    assert half.effective_usd_per_hour == pytest.approx(0.617)
    keys = pd.DataFrame(
        {"region": ["us-east-1"], "instance_type": ["m4.large"], "platform": ["Linux/UNIX"],
         "tenancy": ["Shared"]}
    )  # fmt: skip
    (ri,) = ri_purchases(keys, [5], at, catalog)
    scaled = ri.scaled(0.5)
    assert isinstance(scaled, Commitment)
    assert (scaled.count, scaled.normalized_units) == (2, 8.0)
    assert scaled.effective_usd_per_hour == pytest.approx(2 * 0.062)
    assert ri.scaled(0.1) is None  # half an RI is none


def test_standard_policies_and_their_checks(catalog) -> None:  # type: ignore[no-untyped-def]
    policies = standard_policies()
    assert list(policies) == [
        "none", "ce-7d", "ce-30d", "ce-60d", "knee", "ours-oneshot", "ours-ladder",
    ]  # fmt: skip
    assert isinstance(policies["ce-7d"], CostExplorerLike)
    assert policies["ce-7d"].lookback_days == 7.0
    with pytest.raises(BacktestError, match="unknown policy 'ce-90d'"):
        standard_policies(["ce-90d"])
    with pytest.raises(ValueError, match="ladder_tranches"):
        run_backtest(fleet("growth"), catalog, ["none"],
                     policy=replace(PURCHASE_POLICY, ladder_tranches=3), **ONE_REVIEW)  # fmt: skip
    none_only = run_backtest(fleet("growth"), catalog, ["none"], **ONE_REVIEW)
    assert none_only.hindsight is not None and none_only.hindsight.savings_vs_on_demand_usd > 0
    assert list(none_only.table()["policy"]) == ["none", "hindsight", "hindsight-oneshot"]
    # the hindsight rows' captured: their billed savings ÷ their certified bound
    table = none_only.table().set_index("policy")
    assert 99.0 < table.loc["hindsight", "captured_pct"] <= 100.0
    assert table.loc["hindsight", "captured_pct"] == pytest.approx(
        100.0 - none_only.ceiling_gap_pct
    )


def test_the_planned_ladder_needs_plans_and_a_forecast(catalog) -> None:  # type: ignore[no-untyped-def]
    plan = Scenario("plan", transforms=(Growth(5.0),))
    with pytest.raises(BacktestError, match="needs the plans it knows in advance"):
        standard_policies([PLANNED_LADDER])
    planned = standard_policies([PLANNED_LADDER, "ours-ladder"], known_changes=plan)
    assert list(planned) == [PLANNED_LADDER, "ours-ladder"]
    assert isinstance(planned[PLANNED_LADDER], OursLadder)
    assert planned[PLANNED_LADDER].known_changes == plan
    assert planned["ours-ladder"].known_changes is None
    # the planned ladder is the same decision on the futures, with the plan applied to them
    assert planned[PLANNED_LADDER].basis == "futures" == planned["ours-ladder"].basis
    with pytest.raises(BacktestError, match="ladder basis 'lookback'"):
        backtest(fleet("growth"), catalog, {"x": OursLadder(basis="lookback")}, **ONE_REVIEW)
    # with the default names the planned ladder joins the line-up after ours-ladder
    result = run_backtest(fleet("growth"), catalog, known_changes=plan, **ONE_REVIEW)
    assert list(result.table()["policy"])[-4:] == [
        "ours-ladder", PLANNED_LADDER, "hindsight", "hindsight-oneshot",
    ]  # fmt: skip
    # planned growth on top of a growing fleet: the planned ladder commits at least as much, up
    # to the certificate (plans within 0.1 % of the optimum's cost differ by an SP step or so)
    bought = {
        name: sum(p.effective_usd_per_hour or 0.0 for p in result.outcomes[name].purchases)
        for name in ("ours-ladder", PLANNED_LADDER)
    }
    assert bought[PLANNED_LADDER] >= 0.998 * bought["ours-ladder"] > 0


def test_clear_trend_tells_a_line_from_noise() -> None:
    weeks = 12
    hours = pd.date_range("2024-01-01", periods=weeks * 168, freq="h", tz="UTC", unit="ns")
    rng = np.random.default_rng(0)
    line = 10.0 + 0.01 * np.arange(len(hours))  # +1.68 instances a week
    noisy = 10.0 + rng.normal(0.0, 3.0, len(hours))  # no trend, weekly levels ±0.23
    flat = np.full(len(hours), 4.0)
    types = ["m4.large", "c4.large", "r4.large"]
    keys = pd.DataFrame(
        {"account_id": "", "region": "us-east-1", "instance_type": types,
         "platform": "Linux/UNIX", "tenancy": "Shared"}
    ).astype("string")  # fmt: skip
    matrix = UsageMatrix(hours, keys, np.column_stack([line, noisy, flat]))
    assert clear_trend(matrix, weeks, 3.0).tolist() == [True, False, False]


def test_a_fall_that_has_just_begun_is_followed_not_committed_to(catalog) -> None:  # type: ignore[no-untyped-def]
    """20 m4.large for 9 weeks, then 2 fewer each week: at the review 3 weeks into the fall the
    robust (Theil-Sen) trend of 12 weekly levels, mostly flat pairs, barely falls; the last 6
    weeks' line reaches zero in 15 weeks, so a 1-year commitment to the fleet never pays off."""
    hours = pd.date_range("2024-01-01", periods=13 * 168, freq="h", tz="UTC", unit="ns")
    weeks = np.arange(len(hours)) / 168.0
    level = np.where(weeks < 9, 20.0, 20.0 - 2.0 * (weeks - 9))
    keys = pd.DataFrame(
        {"account_id": ["111111111111"], "region": "us-east-1", "instance_type": "m4.large",
         "platform": "Linux/UNIX", "tenancy": "Shared"}
    ).astype("string")  # fmt: skip
    falling = UsageMatrix(hours, keys, np.round(level)[:, None])
    lookback = UsageMatrix(hours[: 12 * 168], keys, falling.quantity[: 12 * 168])
    line = weekly_line(lookback, 6, 3.0)
    # half flat, half falling: the line falls 1 a week from about 15, to zero in 15 weeks
    assert line.clear[0] and line.slope[0] == pytest.approx(-1.0, abs=0.05)
    assert line.end_level[0] == pytest.approx(15.0, abs=1.0)
    steady = UsageMatrix(hours, keys, np.full((len(hours), 1), 20.0))
    window = {"start": "2024-03-25", "end": "2024-04-01", "lookback_days": 84}
    for basis in ("futures", "path"):
        bought = {
            name: backtest(usage.to_frame(), catalog, {"ladder": OursLadder(basis=basis)},
                           **window).outcomes["ladder"].purchases
            for name, usage in (("falling", falling), ("steady", steady))
        }  # fmt: skip
        assert bought["steady"] and bought["falling"] == (), basis


def test_a_migration_under_way_moves_the_forecast_with_it(catalog) -> None:  # type: ignore[no-untyped-def]
    """24 m4.xlarge moving to c5.xlarge (same units) at 2 a week from week 8 of 12: the planned
    path takes m4 down its recent line to zero and c5 up by what m4 loses, so the total stays
    at today's; a c5 fleet growing alone would not be planned to grow."""
    hours = pd.date_range("2024-01-01", periods=12 * 168, freq="h", tz="UTC", unit="ns")
    weeks = np.arange(len(hours)) / 168.0
    m4 = np.round(np.clip(24.0 - 2.0 * (weeks - 8), 0, 24))
    keys = pd.DataFrame(
        {"account_id": "111111111111", "region": "us-east-1",
         "instance_type": ["c5.xlarge", "m4.xlarge"], "platform": "Linux/UNIX",
         "tenancy": "Shared"}
    ).astype("string")  # fmt: skip
    usage = UsageMatrix(hours, keys, np.column_stack([24.0 - m4, m4]))
    at = pd.Timestamp("2024-03-25", tz="UTC")
    review = Review(at=at, number=0, usage=usage, owned=(), catalog=catalog, next_at=None)
    future = forecast(usage, horizon_hours=24 * 7 * 20, n_paths=1, start=at)
    path = future.paths.path(0)
    moved = OursLadder()._recent_moves(
        review, path, future.paths.source_row[0], future.model.blocks
    )
    weekly = moved.quantity.reshape(20, 168, 2).mean(axis=1)
    assert weekly[0, 1] == pytest.approx(16.0, abs=1.5) and (weekly[12:, 1] == 0).all()
    np.testing.assert_allclose(weekly.sum(axis=1), 24.0, rtol=0.06)
    assert weekly[-1, 0] == pytest.approx(24.0, rel=0.06)
    # without the falling fleet beside it, the rising c5 is not planned above its path
    alone = UsageMatrix(hours, keys.iloc[:1].reset_index(drop=True), (24.0 - m4)[:, None])
    solo = forecast(alone, horizon_hours=24 * 7 * 20, n_paths=1, start=at)
    kept = OursLadder()._recent_moves(
        replace(review, usage=alone), solo.paths.path(0), solo.paths.source_row[0],
        solo.model.blocks,
    )  # fmt: skip
    np.testing.assert_array_equal(kept.quantity, solo.paths.path(0).quantity)
