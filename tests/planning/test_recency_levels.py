"""Usage that fell: the levels of each key, the usage the decision sees, the plan and its words."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from billing.simulator import simulate
from core.errors import CommitoptInputError
from optimizer.policy import Policy
from planning.recency import (
    LEVEL_TOLERANCE,
    RecencyAdjustment,
    annotate_explanations,
    key_levels,
    recency_adjusted_usage,
    recency_weights,
)
from planning.recommend import RecommendOptions, recommend
from pricing.embedded import load_embedded_catalog
from pricing.inventory import Commitment
from pricing.offerings import CommitmentKind
from tests.planning.test_recency import START, _key_usage
from usage.table import to_matrix

DAYS = 60
HOURS = DAYS * 24
WEEK_HOURS = 7 * 24


def _step(before: float, after: float, last_hours: int = WEEK_HOURS) -> np.ndarray:
    """``before`` instances, then ``after`` over the last ``last_hours``."""
    return np.where(np.arange(HOURS) < HOURS - last_hours, before, after)


def _weekly(weekday: float, weekend: float, *, hours: int = HOURS) -> np.ndarray:
    """Steady usage with weekly seasonality."""
    stamps = pd.date_range(START, periods=hours, freq="h", tz="UTC")
    return np.where(stamps.day_of_week < 5, weekday, weekend)


def _step_weighted(before: float, after: float, last_hours: int, half_life_days: float) -> float:
    """Closed form of the weighted mean of a step: geometric sums of ``r = 2^(-1/(24 h))``."""
    r = 2.0 ** (-1.0 / (24.0 * half_life_days))
    recent_weight = 1.0 - r**last_hours  # × 1/(1-r), which cancels
    older_weight = r**last_hours - r**HOURS
    return (after * recent_weight + before * older_weight) / (1.0 - r**HOURS)


def test_weights_halve_every_half_life_and_are_flat_when_off() -> None:
    weights = recency_weights(HOURS, 30.0)
    assert weights[-1] == 1.0
    assert weights[-1 - 30 * 24] == pytest.approx(0.5)
    assert weights[-1 - 60 * 24 + 1] == pytest.approx(0.25 * 2 ** (1 / 720))
    assert (recency_weights(HOURS, 0.0) == 1.0).all()
    assert (recency_weights(HOURS, float("inf")) == 1.0).all()
    with pytest.raises(CommitoptInputError, match="`recency_half_life_days` must be 0"):
        recency_weights(HOURS, -1.0)


@pytest.mark.parametrize("half_life_days", [7.0, 30.0, 90.0])
def test_levels_of_a_step_match_the_closed_form(half_life_days: float) -> None:
    usage = _key_usage("1", "m4.large", _step(10.0, 3.0))
    (row,) = key_levels(usage, recent_days=7, half_life_days=half_life_days).to_dict("records")
    assert row["recent_level"] == pytest.approx(3.0)
    assert row["older_level"] == pytest.approx(10.0)
    assert row["flat_level"] == pytest.approx((10.0 * (HOURS - WEEK_HOURS) + 3.0 * 168) / HOURS)
    weighted = _step_weighted(10.0, 3.0, WEEK_HOURS, half_life_days)
    assert row["weighted_level"] == pytest.approx(weighted, rel=1e-12)
    assert row["fall_pct"] == pytest.approx(70.0)
    assert row["fallen"] and not row["stopped"]
    assert row["decision_level"] == pytest.approx(3.0)  # fallen: its recent level
    assert row["last_used"] == START + pd.Timedelta(hours=HOURS - 1)


def test_fallen_means_below_half_and_stopped_is_apart() -> None:
    usage = pd.concat(
        [
            _key_usage("1", "m4.large", _step(10.0, 5.0)),  # exactly half: not fallen
            _key_usage("2", "m4.large", _step(10.0, 4.9)),  # below half: fallen
            _key_usage("3", "m4.large", _step(10.0, 0.0)),  # stopped, not "fallen"
            _key_usage("4", "m4.large", _step(2.0, 8.0)),  # grew
        ],
        ignore_index=True,
    )
    levels = key_levels(usage, recent_days=7, half_life_days=30).set_index("account_id")
    assert levels["fallen"].to_dict() == {"1": False, "2": True, "3": False, "4": False}
    assert levels["stopped"].to_dict() == {"1": False, "2": False, "3": True, "4": False}
    assert levels.loc["3", "last_used"] == START + pd.Timedelta(hours=HOURS - WEEK_HOURS - 1)
    # the check off: no recent window, nothing fallen or stopped, weights still apply
    off = key_levels(usage, recent_days=0, half_life_days=30)
    assert not off["fallen"].any() and not off["stopped"].any()
    assert off["recent_level"].isna().all()


def test_the_decision_sees_a_fallen_key_at_its_recent_level_and_a_grown_one_weighted() -> None:
    usage = pd.concat(
        [
            _key_usage("1", "m4.large", _step(10.0, 3.0)),
            _key_usage("2", "c5.large", _step(5.0, 10.0, 21 * 24)),
        ],
        ignore_index=True,
    )
    levels = key_levels(usage, recent_days=7, half_life_days=30)
    seen = recency_adjusted_usage(usage, levels)
    assert len(seen) == len(usage)
    fallen = seen.loc[seen["account_id"] == "1", "quantity"].to_numpy()
    np.testing.assert_allclose(fallen, 3.0)  # 10 × 3/10 before the last week, 3 in it
    grown = seen.loc[seen["account_id"] == "2", "quantity"].to_numpy()
    before = usage.loc[usage["account_id"] == "2", "quantity"].to_numpy()
    weighted = _step_weighted(5.0, 10.0, 21 * 24, 30.0)
    assert grown.mean() == pytest.approx(weighted, rel=1e-12)  # its mean: the weighted mean
    np.testing.assert_allclose(grown / before, weighted / before.mean())  # the shape kept
    # half-life 0: the lookback as it ran
    off = key_levels(usage, recent_days=7, half_life_days=0)
    assert off["fallen"].tolist() == [True, False]  # still found and named
    assert recency_adjusted_usage(usage, off) is usage


def test_a_steady_fleet_is_left_exactly_as_it_ran() -> None:
    rng = np.random.default_rng(7)
    noisy = _weekly(12.0, 6.0) + rng.integers(0, 3, HOURS)
    trend = _weekly(10.0, 10.0) * (1 + 0.03 * np.arange(HOURS) / (30 * 24))  # 3 %/month
    usage = pd.concat(
        [_key_usage("1", "m4.large", noisy), _key_usage("1", "c5.xlarge", trend)],
        ignore_index=True,
    )
    levels = key_levels(usage, recent_days=7, half_life_days=30)
    moved = (levels["weighted_level"] / levels["flat_level"] - 1).abs()
    assert (moved > 0).all() and (moved < LEVEL_TOLERANCE).all()
    assert (levels["decision_level"] == levels["flat_level"]).all()
    assert recency_adjusted_usage(usage, levels) is usage


def _explanations() -> pd.DataFrame:
    rows = [
        (CommitmentKind.RESERVED_INSTANCE, "us-east-1", "m4", "m4.large", "normalized_units"),
        (CommitmentKind.RESERVED_INSTANCE, "us-east-1", "m4", "m4.xlarge", "instances"),
        (CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN, "us-east-1", "c5", "", "usd_per_hour"),
        (CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN, "us-east-1", "m4", "", "usd_per_hour"),
        (CommitmentKind.COMPUTE_SAVINGS_PLAN, "", "", "", "usd_per_hour"),
    ]
    return pd.DataFrame(
        [
            {
                "kind": kind,
                "region": region,
                "instance_family": family,
                "instance_type": instance_type,
                "platform": "Linux/UNIX",
                "tenancy": "Shared",
                "unit": unit,
                "explanation": "Covers it.",
            }
            for kind, region, family, instance_type, unit in rows
        ]
    )


def test_explanations_name_the_fallen_keys_of_each_purchase_scope() -> None:
    usage = pd.concat(
        [
            _key_usage("", "m4.large", _step(10.0, 4.0)),  # fell 60 %
            _key_usage("", "c5.large", _weekly(4.0, 2.0)),  # steady
        ],
        ignore_index=True,
    )
    levels = key_levels(usage, recent_days=7, half_life_days=30)
    recency = RecencyAdjustment(usage, levels, WEEK_HOURS, 30.0)
    said = annotate_explanations(_explanations(), recency)["explanation"].tolist()
    named = (
        "Covers it. It rests partly on m4.large us-east-1 usage that fell 60 % in the last 7 "
        "days; the decision counted it at its recent level."
    )
    # the m4 family RI, the m4 family SP and the Compute SP cover it; the m4.xlarge RI and the
    # c5 plan do not
    assert said == [named, "Covers it.", "Covers it.", named, named]
    # off: the decision assumed its older level, and the flag is named
    off = RecencyAdjustment(usage, key_levels(usage, recent_days=7, half_life_days=0), 168, 0.0)
    (sentence, *_) = annotate_explanations(_explanations(), off)["explanation"]
    assert sentence.endswith(
        "the decision assumed more than it ran lately (set `recency_half_life_days` above 0 "
        "to weigh recent weeks more)."
    )


def test_a_key_well_below_what_the_decision_assumed_is_named_too() -> None:
    usage = _key_usage("", "m4.large", _step(10.0, 6.0))  # fell 40 %: not "fallen"
    levels = key_levels(usage, recent_days=7, half_life_days=30)
    (row,) = levels.to_dict("records")
    assert not row["fallen"] and row["recent_level"] < 0.75 * row["decision_level"]
    recency = RecencyAdjustment(usage, levels, WEEK_HOURS, 30.0)
    (sentence, *_) = annotate_explanations(_explanations(), recency)["explanation"]
    assert "m4.large us-east-1 usage that fell 40 % in the last 7 days" in sentence
    assert "the decision assumed more than it ran lately." in sentence


def _next_month(quantity_now: float) -> pd.DataFrame:
    hours = 30 * 24
    future = _key_usage("111111111111", "m4.large", np.full(hours, quantity_now))
    future["hour"] = future["hour"] + pd.Timedelta(hours=HOURS)
    return future


def _billed(future: pd.DataFrame, purchases: tuple[Commitment, ...]) -> tuple[float, float]:
    """Coverage and utilization [%] of ``purchases`` bought at the start of ``future``."""
    start = future["hour"].min().to_pydatetime()
    moved = [replace(p, start=start, end=start + (p.end - p.start)) for p in purchases]
    result = simulate(future, moved, load_embedded_catalog())
    return result.totals.coverage_pct, result.totals.utilization_pct


@pytest.mark.parametrize("instruments", [("ri",), ("compute-sp",), ("ri", "ec2-sp", "compute-sp")])
def test_a_fleet_that_fell_from_10_to_3_gets_3_instances_worth(
    instruments: tuple[str, ...],
) -> None:
    catalog = load_embedded_catalog()
    usage = _key_usage("111111111111", "m4.large", _step(10.0, 3.0))
    policy = Policy(instruments=instruments)
    run = recommend(usage, catalog, policy, options=RecommendOptions(lookback_days=DAYS))
    old = recommend(
        usage,
        catalog,
        policy,
        options=RecommendOptions(lookback_days=DAYS, recency_half_life_days=0.0),
    )
    if instruments == ("ri",):
        assert [(p.instance_type, p.count) for p in run.purchases] == [("m4.large", 3)]
        assert sum(p.count or 0 for p in old.purchases) == 10  # the old level, not the mean 9.2
    # the next month runs the 3 instances: the plan covers them (not less) and is fully used
    # (not more); the old plan pays for idle commitments
    coverage, utilization = _billed(_next_month(3.0), run.purchases)
    assert coverage > 95.0 and utilization > 99.0
    assert _billed(_next_month(3.0), old.purchases)[1] < 40.0
    # the bill of the lookback is the real lookback's, not the decision's input
    assert run.usage.total_instance_hours == pytest.approx(usage["quantity"].sum())
    on_demand = simulate(usage, (), catalog).totals.on_demand_cost_usd
    assert run.summary["on_demand_cost_usd"] == pytest.approx(on_demand, abs=0.01)
    (fallen,) = run.summary["fallen_keys"]
    assert fallen["fall_pct"] == pytest.approx(70.0) and fallen["decision_level"] == 3.0
    assert "usage that fell 70 % in the last 7 days" in run.explanations["explanation"].iloc[0]
    assert sum("fell 70 % over the last 7 days" in w for w in run.warnings) == 1


def test_a_steady_fleet_gets_the_same_plan_as_without_weights() -> None:
    catalog = load_embedded_catalog()
    rng = np.random.default_rng(3)
    usage = pd.concat(
        [
            _key_usage("1", "m4.large", _weekly(12.0, 6.0) + rng.integers(0, 3, HOURS)),
            _key_usage("1", "c5.xlarge", _weekly(5.0, 5.0) + rng.integers(0, 2, HOURS)),
            _key_usage("2", "c4.large", _weekly(8.0, 2.0)),
        ],
        ignore_index=True,
    )
    policy = Policy()
    # on the lookback (the futures carry the weights in their week draws, planning.future)
    options = RecommendOptions(lookback_days=DAYS, decide_on="lookback")
    weighted = recommend(usage, catalog, policy, options=options)
    flat = recommend(usage, catalog, policy, options=replace(options, recency_half_life_days=0.0))
    assert weighted.purchases and weighted.summary["fallen_keys"] == []
    assert [p.to_json_item() for p in weighted.purchases] == [
        p.to_json_item() for p in flat.purchases
    ]
    assert weighted.summary["savings_vs_current_usd"] == flat.summary["savings_vs_current_usd"]
    said = weighted.explanations["explanation"].tolist()
    assert said == flat.explanations["explanation"].tolist()


def test_levels_of_a_table_equal_those_of_its_validated_matrix() -> None:
    """The fast path for canonical tables gives the same keys, order and levels as to_matrix."""
    rng = np.random.default_rng(11)
    usage = pd.concat(
        [
            _key_usage(account, instance_type, rng.integers(0, 4, HOURS).astype(float))
            for account in ("", "2", "10")
            for instance_type in ("m4.large", "c4.large", "m4.xlarge")
        ],
        ignore_index=True,
    ).sample(frac=1.0, random_state=1)  # rows in any order
    usage = usage.loc[usage["quantity"] > 0]  # and hours without a row
    fast = key_levels(usage, recent_days=7, half_life_days=30)
    slow = key_levels(to_matrix(usage), recent_days=7, half_life_days=30)
    pd.testing.assert_frame_equal(fast, slow)


def test_a_memorydb_reservation_names_the_fallen_valkey_nodes_it_covers() -> None:
    # MemoryDB's Redis OSS reservations cover Valkey nodes of the family (memorydb-valkey);
    # an RDS reservation of the same region does not
    valkey = _key_usage("", "db.r7g.xlarge", _step(10.0, 4.0)).assign(
        platform="memorydb-valkey", tenancy="Node"
    )
    levels = key_levels(valkey, recent_days=7, half_life_days=30)
    recency = RecencyAdjustment(valkey, levels, WEEK_HOURS, 30.0)
    reservations = pd.DataFrame(
        [
            {"kind": CommitmentKind.RESERVED_INSTANCE, "region": "us-east-1",
             "instance_family": "db.r7g", "instance_type": "db.r7g.large", "platform": platform,
             "tenancy": tenancy, "unit": "normalized_units", "explanation": "Covers it."}
            for platform, tenancy in (("memorydb", "Node"), ("mysql", "Single-AZ"))
        ]
    )  # fmt: skip
    said = annotate_explanations(reservations, recency)["explanation"].tolist()
    assert said[0].startswith("Covers it. It rests partly on db.r7g.xlarge us-east-1 usage")
    assert said[1] == "Covers it."
