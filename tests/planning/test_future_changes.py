"""Changes known in advance (``--plans``) applied to the decision's futures, at the real times
their compressed rows stand for, and the decision that follows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from optimizer.policy import Policy
from planning.future import FutureOptions, decision_futures
from planning.future_changes import with_known_changes
from planning.recommend import RecommendOptions, recommend
from pricing.embedded import load_embedded_catalog
from scenarios.transforms import Exit, Migration, PriceChange, Scenario, ScenarioError, Selection
from tests.planning.test_future import NO_EVENTS, WEEKS, _usage
from usage.table import to_matrix

START_OF_TERM = pd.Timestamp("2030-01-01", tz="UTC")


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_embedded_catalog()


def _fleet(count: float = 6.0, instance_type: str = "m4.xlarge") -> pd.DataFrame:
    return _usage({instance_type: np.full(WEEKS * 168, count)})


def _futures(catalog, **options: object):  # type: ignore[no-untyped-def]
    matrix = to_matrix(_fleet())
    return decision_futures(matrix, catalog, FutureOptions(futures=4, **NO_EVENTS, **options))  # type: ignore[arg-type]


def test_real_times_run_over_the_term_at_the_rows_hours_of_the_day(catalog) -> None:  # type: ignore[no-untyped-def]
    futures = _futures(catalog)
    times = futures.real_times(0)
    assert len(times) == 4 * 168
    assert times[0] == futures.start.floor("D")
    assert (np.diff(times.normalize().asi8) >= 0).all()  # the days only move forward
    assert list(times.hour[:24]) == list(range(24))  # each row at its week hour's hour of day
    term_days = futures.epoch_hours * futures.epochs / 24
    assert (times[-1] - futures.start).days == pytest.approx(term_days, abs=1)
    sampled = _futures(catalog, max_rows=4 * 4 * 42)
    assert sampled.epoch_rows == 42
    kept = sampled.real_times(1)
    assert len(kept) == 4 * 42 and kept.is_unique


def test_a_planned_exit_zeroes_every_row_from_its_day(catalog) -> None:  # type: ignore[no-untyped-def]
    futures = _futures(catalog)
    at = futures.start + pd.Timedelta(days=120)
    plan = Scenario("exit", transforms=(Exit(Selection(families=("m4",)), at),))
    changed = with_known_changes(futures, plan, catalog)
    column = list(changed.keys["instance_type"]).index("m4.xlarge")
    for index in range(futures.count):
        after = changed.real_times(index) >= at
        assert after.any() and (~after).any()
        assert (changed.quantity[index, after, column] == 0).all()
        before = futures.quantity[
            index, ~after, list(futures.keys["instance_type"]).index("m4.xlarge")
        ]
        assert np.array_equal(changed.quantity[index, ~after, column], before)
    assert changed.known_changes_skipped == ()


def test_a_planned_migration_ramps_over_its_dates_and_keeps_units(catalog) -> None:  # type: ignore[no-untyped-def]
    futures = _futures(catalog)
    start, end = futures.start + pd.Timedelta(days=30), futures.start + pd.Timedelta(days=200)
    move = Migration(Selection(families=("m4",)), 1.0, start, end, to_family="c5")
    changed = with_known_changes(futures, Scenario("move", transforms=(move,)), catalog)
    types = list(changed.keys["instance_type"])
    assert "c5.xlarge" in types
    m4, c5 = (
        changed.quantity[:, :, types.index("m4.xlarge")],
        changed.quantity[:, :, types.index("c5.xlarge")],
    )
    assert np.allclose(m4 + c5, 6.0)  # same size, same normalized units: counts kept
    times = changed.real_times(0)
    assert (c5[:, times < start] == 0).all() and (m4[:, times >= end] == 0).all()
    middle = (times >= start) & (times < end)
    assert ((c5[:, middle] > 0) & (m4[:, middle] > 0)).any()


def test_absent_usage_is_skipped_and_price_changes_are_refused(catalog) -> None:  # type: ignore[no-untyped-def]
    futures = _futures(catalog)
    absent = Exit(Selection(families=("r4",)), futures.start + pd.Timedelta(days=10))
    changed = with_known_changes(futures, Scenario("r4", transforms=(absent,)), catalog)
    assert changed.known_changes_skipped == ("scenario 'r4' transform 1",)
    assert np.array_equal(changed.quantity, futures.quantity)
    cut = Scenario("cut", transforms=(PriceChange(0.9),))
    with pytest.raises(ScenarioError, match="price change cannot be planned"):
        with_known_changes(futures, cut, catalog)


def test_a_fleet_planned_to_exit_next_month_is_not_committed_to(catalog) -> None:  # type: ignore[no-untyped-def]
    usage = _fleet(12.0)
    options = RecommendOptions(lookback_days=WEEKS * 7, future=FutureOptions(**NO_EVENTS))
    plain = recommend(usage, catalog, Policy(), options=options)
    assert plain.purchases  # a steady fleet: commitments pay
    exit_at = pd.Timestamp(usage["hour"].max()) + pd.Timedelta(days=30)
    plan = Scenario("exit", transforms=(Exit(Selection(families=("m4",)), exit_at),))
    planned = recommend(
        usage,
        catalog,
        Policy(),
        options=replace(options, future=replace(options.future, known_changes=plan)),
    )
    assert planned.purchases == ()  # a year's commitment for one month of usage loses money
    assert planned.summary["decided_on"]["known_changes"] == {
        "plan": "exit",
        "transforms": 1,
        "skipped": [],
    }
    with pytest.raises(Exception, match="cannot be combined with"):
        recommend(
            usage,
            catalog,
            Policy(),
            options=replace(
                options, decide_on="lookback", future=replace(options.future, known_changes=plan)
            ),
        )


def test_a_lookback_too_short_for_futures_says_the_plan_is_not_applied(catalog) -> None:  # type: ignore[no-untyped-def]
    usage = _fleet(8.0).iloc[: 10 * 24]  # ten days: fewer than two whole weeks
    plan = Scenario("exit", transforms=(Exit(Selection(families=("m4",)), START_OF_TERM),))
    options = RecommendOptions(lookback_days=10, future=FutureOptions(known_changes=plan))
    run = recommend(usage, catalog, Policy(), options=options)
    assert run.summary["decided_on"]["basis"] == "lookback"
    (note,) = run.notes
    assert "fewer than 2 whole weeks" in note
    assert note.endswith("the changes known in advance are not applied")
