"""Region events in the decision's futures: an account's region that moves to another region,
or is left, every family of it together (planning.structural, planning.future)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planning.future import FutureOptions, decision_futures
from planning.structural import (
    DEFAULT_REGION_EXIT_RATE_PER_YEAR,
    DEFAULT_REGION_MIGRATION_RATE_PER_YEAR,
    PRIOR_STRENGTH_FLEET_YEARS,
    event_rates,
    fleets,
    region_destinations,
)
from pricing.embedded import load_embedded_catalog
from tests.planning.test_future import NO_EVENTS, WEEKS, _decide, _steady, _usage
from usage.table import to_matrix

REGION_MOVES = {**NO_EVENTS, "region_migration_prior_per_year": 1.0}
"""Region migrations alone, about one every year per region."""


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_embedded_catalog()


def _two_families_east_and_m4_west() -> pd.DataFrame:
    """m4.xlarge at 8 and c5.xlarge at 6 in us-east-1, m4.xlarge at 4 in us-west-2."""
    east = pd.concat([_steady(8.0, "m4.xlarge"), _steady(6.0, "c5.xlarge")], ignore_index=True)
    west = _steady(4.0, "m4.xlarge").assign(region="us-west-2")
    return pd.concat([east, west], ignore_index=True)


def test_a_region_moves_to_the_accounts_region_nearby_else_to_the_catalogs(catalog) -> None:  # type: ignore[no-untyped-def]
    big_eu = _steady(20.0, "m4.xlarge").assign(region="eu-west-1")
    small_west = _steady(2.0, "m4.xlarge").assign(region="us-west-2")
    east = _steady(8.0, "m4.xlarge")
    alone = _steady(5.0, "c4.large").assign(account_id="222222222222")
    matrix = to_matrix(pd.concat([big_eu, small_west, east, alone], ignore_index=True))
    table = fleets(matrix, catalog).table
    where = dict(
        zip(
            zip(table["account_id"], table["region"], strict=True),
            region_destinations(table, catalog),
            strict=True,
        )
    )
    # the same geography first, though eu-west-1 runs more; from eu, the largest other region
    assert where[("111111111111", "us-east-1")] == "us-west-2"
    assert where[("111111111111", "us-west-2")] == "us-east-1"
    assert where[("111111111111", "eu-west-1")] == "us-east-1"
    # an account in one region: the catalog's region of its geography that prices most types
    priced = catalog.on_demand.groupby("region")["instance_type"].nunique()
    nearby = priced[[r.startswith("us-") and r != "us-east-1" for r in priced.index]]
    assert where[("222222222222", "us-east-1")] == nearby.idxmax()
    assert table["destination_region"].tolist() == [
        where[(a, r)] for a, r in zip(table["account_id"], table["region"], strict=True)
    ]


def test_a_region_moves_every_family_of_it_at_one_hour_and_keeps_its_usage(catalog) -> None:  # type: ignore[no-untyped-def]
    matrix = to_matrix(_two_families_east_and_m4_west())
    calm = decision_futures(matrix, catalog, FutureOptions(futures=30, **NO_EVENTS))
    moved = decision_futures(matrix, catalog, FutureOptions(futures=30, **REGION_MOVES))
    events = moved.events
    assert set(events["kind"]) == {"region migration"}
    region = events["fleet"].str.split(" ").str[1]
    east = events.loc[region == "us-east-1"]
    # both families of us-east-1 move in the same futures, at the same hour
    by_family = east.pivot(index="future", columns="family", values="at_hours")
    assert len(by_family) > 5 and not by_family.isna().any().any()
    np.testing.assert_array_equal(by_family["m4"], by_family["c5"])
    # the instances move, none is lost or made: every row runs what it ran without events
    np.testing.assert_allclose(moved.quantity.sum(axis=2), calm.quantity.sum(axis=2))

    def column(frame: pd.DataFrame, region: str, instance_type: str) -> int:
        hit = (frame["region"] == region) & (frame["instance_type"] == instance_type)
        (index,) = np.flatnonzero(hit.to_numpy())
        return int(index)

    c5_east = column(moved.keys, "us-east-1", "c5.xlarge")
    c5_west = column(moved.keys, "us-west-2", "c5.xlarge")  # a key the lookback lacks
    m4_west = column(moved.keys, "us-west-2", "m4.xlarge")
    last = moved.quantity[:, -1, :]
    for future in range(moved.count):
        east_moved = future in set(by_family.index)
        west_moved = future in set(events.loc[region == "us-west-2", "future"])
        if east_moved and not west_moved:  # us-east-1 runs in us-west-2 at the term's end
            assert last[future, c5_east] == 0.0 and last[future, c5_west] > 0.0
        if not east_moved:
            assert not moved.quantity[future, :, c5_west].any()
        if west_moved and not east_moved:  # us-west-2's m4 runs in us-east-1 at the end
            assert last[future, m4_west] == 0.0


def test_a_region_left_stops_every_family_of_it_and_a_fleet_has_one_event(catalog) -> None:  # type: ignore[no-untyped-def]
    matrix = to_matrix(_two_families_east_and_m4_west())
    options = FutureOptions(futures=30, **{**NO_EVENTS, "region_exit_prior_per_year": 1.0})
    futures = decision_futures(matrix, catalog, options)
    assert set(futures.events["kind"]) == {"region exit"}
    calm = decision_futures(matrix, catalog, FutureOptions(futures=30, **NO_EVENTS))
    gone = set(futures.events["future"])
    assert gone and (futures.quantity.sum(axis=2) <= calm.quantity.sum(axis=2) + 1e-9).all()
    kept = [f for f in range(30) if f not in gone]
    np.testing.assert_array_equal(futures.quantity[kept], calm.quantity[kept])
    # family and region events both likely: each fleet has its first event only
    both = {**NO_EVENTS, "migration_prior_per_year": 2.0, "region_migration_prior_per_year": 2.0}
    events = decision_futures(matrix, catalog, FutureOptions(futures=30, **both)).events
    assert not events.duplicated(["future", "fleet"]).any()
    assert {"migration", "region migration"} <= set(events["kind"])


def _east_falls(west_rises: bool) -> pd.DataFrame:
    """m4.xlarge 8 -> 1 and c5.xlarge 6 -> 1 in us-east-1 over the last two weeks (neither
    stopped: a stopped key leaves the decision); m4.xlarge at 2 in us-west-2, -> 16 with
    ``west_rises`` (the account moved its region west)."""
    hours = WEEKS * 168
    before = np.arange(hours) < hours - 2 * 168
    east = _usage(
        {
            "m4.xlarge": np.where(before, 8.0, 1.0),
            "c5.xlarge": np.where(before, 6.0, 1.0),
        }
    )
    west = _usage({"m4.xlarge": np.where(before | (not west_rises), 2.0, 16.0)})
    return pd.concat([east, west.assign(region="us-west-2")], ignore_index=True)


def test_region_rates_learn_from_a_region_that_moved_and_not_from_one_family(catalog) -> None:  # type: ignore[no-untyped-def]
    hours = WEEKS * 168
    moved = to_matrix(_east_falls(west_rises=True))
    rates = event_rates(moved, fleets(moved, catalog))
    assert (rates.region_moves_seen, rates.region_exits_seen) == (1, 0)
    region_years = 2 * hours / 8760
    assert rates.region_years == pytest.approx(region_years)
    strength = PRIOR_STRENGTH_FLEET_YEARS
    assert rates.region_migration_per_year == pytest.approx(
        (1 + strength * DEFAULT_REGION_MIGRATION_RATE_PER_YEAR) / (region_years + strength)
    )
    left = to_matrix(_east_falls(west_rises=False))
    rates = event_rates(left, fleets(left, catalog))
    assert (rates.region_moves_seen, rates.region_exits_seen) == (0, 1)
    assert rates.region_exit_per_year == pytest.approx(
        (1 + strength * DEFAULT_REGION_EXIT_RATE_PER_YEAR) / (region_years + strength)
    )
    assert "1 region exit(s)" in rates.describe()
    stated = event_rates(left, fleets(left, catalog), migration_prior_per_year=0.3)
    assert "shrunk to the priors of 30% and 5%" in stated.describe()
    assert "shrunk to the priors of 0% and 0%)" in stated.describe()
    # one family's fall, its c5 beside it steady: the family's event, not the region's
    one = _east_falls(west_rises=True)
    steady_c5 = (one["region"] == "us-east-1") & (one["instance_type"] == "c5.xlarge")
    one.loc[steady_c5, "quantity"] = 6.0
    one_family = to_matrix(one)
    rates = event_rates(one_family, fleets(one_family, catalog))
    assert (rates.region_moves_seen, rates.region_exits_seen) == (0, 0)
    assert rates.exits_seen + rates.moves_seen == 1
    # nor one family's Linux and Windows fleets falling together
    windows = one.loc[one["region"] == "us-east-1"].assign(platform="Windows")
    both_platforms = to_matrix(pd.concat([one.loc[~steady_c5], windows.loc[~steady_c5]]))
    rates = event_rates(both_platforms, fleets(both_platforms, catalog))
    assert rates.exits_seen + rates.moves_seen == 2
    assert (rates.region_moves_seen, rates.region_exits_seen) == (0, 0)


def test_region_move_risk_buys_the_compute_savings_plan(catalog) -> None:  # type: ignore[no-untyped-def]
    # RIs and EC2 Instance Savings Plans stay in the region they were bought for; a Compute
    # Savings Plan follows the usage to the new region
    usage = _steady(12.0, "m4.xlarge")
    _, calm = _decide(catalog, usage, risk_weight=0.0, **NO_EVENTS)
    assert "compute_savings_plan" not in calm
    risky, kinds = _decide(
        catalog, usage, risk_weight=0.0, **{**NO_EVENTS, "region_migration_prior_per_year": 3.0}
    )
    assert kinds == ["compute_savings_plan"]
    (hedge,) = risky.explanations["hedge"]
    assert "these fleets move to another family or region within the term" in hedge
    assert "moves to another region with" in hedge
    assert risky.summary["decided_on"]["loss_probability_pct"] == 0.0
    # leaving the region is no reason to prefer a Compute SP: nothing follows it anywhere
    _, left = _decide(
        catalog, usage, risk_weight=0.0, **{**NO_EVENTS, "region_exit_prior_per_year": 0.3}
    )
    assert "compute_savings_plan" not in left


def test_recommend_reads_a_region_move_on_the_lookback_as_it_ran(catalog) -> None:  # type: ignore[no-untyped-def]
    run, _ = _decide(catalog, _east_falls(west_rises=True))
    events = run.summary["decided_on"]["structural_events"]
    assert "1 region move(s) and 0 region exit(s)" in events["rates"]
    assert events["region_migration_rate_per_year"] > 0.0  # learned: the prior is 0
    assert (run.futures.events["kind"] == "region migration").any()
    # the recency adjustment counts the fallen keys at their recent level all along: on the
    # adjusted lookback alone the region's fall does not show
    adjusted = run.recency.usage
    assert event_rates(adjusted, fleets(adjusted, catalog)).region_moves_seen == 0
