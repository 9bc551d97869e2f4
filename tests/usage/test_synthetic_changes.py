"""The archetypes whose future differs from their past (issue 16): each holds what it claims."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pricing.embedded import load_embedded_catalog
from pricing.instance_types import normalization_factors
from usage import synthetic
from usage.table import to_matrix, validate_usage_table

GENERATORS: dict[str, tuple[Callable[..., pd.DataFrame], int]] = {
    "step_launches": (synthetic.step_launches, 14),
    "unannounced_migration": (synthetic.unannounced_migration, 10),
    "decline_with_retirements": (synthetic.decline_with_retirements, 20),
    "stopped_workload": (synthetic.stopped_workload, 8),
    "seasonal_retailer": (synthetic.seasonal_retailer, 12),
    "right_sizing": (synthetic.right_sizing, 9),
    "multi_account": (synthetic.multi_account, 26),
    "azure_trace_shape": (synthetic.azure_trace_shape, 18),
    "load_test_burst": (synthetic.load_test_burst, 5),
    "weekly_estate": (synthetic.weekly_estate, 3),
}
"""Generator and its number of keys over a history long enough for every key to appear."""

KEY = ["account_id", "region", "instance_type", "platform", "tenancy"]
HOUR = pd.Timedelta(hours=1)


def _hourly(table: pd.DataFrame, **where: str) -> pd.Series:
    """Hourly quantity summed over the rows matching ``where`` (missing hours are zero)."""
    chosen = table
    for column, value in where.items():
        chosen = chosen[chosen[column] == value]
    return chosen.groupby("hour")["quantity"].sum()


def _dense(
    table: pd.DataFrame, start: str, hours: int
) -> tuple[pd.DatetimeIndex, np.ndarray, pd.DataFrame]:
    matrix = to_matrix(table, start=start, end=pd.Timestamp(start, tz="UTC") + hours * HOUR)
    return matrix.hours, matrix.quantity, matrix.keys


@pytest.mark.parametrize("name", GENERATORS)
def test_canonical_deterministic_priced_and_sized(name: str) -> None:
    generate, key_count = GENERATORS[name]
    priced = load_embedded_catalog().on_demand[["region", "instance_type", "platform", "tenancy"]]
    table = generate(hours=24 * 120, seed=3)
    pd.testing.assert_frame_equal(validate_usage_table(table), table)
    pd.testing.assert_frame_equal(generate(hours=24 * 120, seed=3), table)
    assert not table.equals(generate(hours=24 * 120, seed=4))
    assert (table["quantity"] > 0).all()
    assert table[KEY].drop_duplicates().shape[0] == key_count
    keys = table[["region", "instance_type", "platform", "tenancy"]].drop_duplicates()
    missing = keys.merge(priced, how="left", indicator=True)
    assert (missing["_merge"] == "both").all(), missing[missing["_merge"] == "left_only"]
    assert table["hour"].min() == pd.Timestamp(synthetic.DEFAULT_START)
    assert table["hour"].max() == pd.Timestamp(synthetic.DEFAULT_START) + (24 * 120 - 1) * HOUR


def test_step_launches_steps_up_and_grows_three_percent_a_month() -> None:
    hours = 730 * 12
    table = synthetic.step_launches(
        hours=hours, mean_fleet_instances=1000.0, noise_instances=0.0, daily_amplitude_share=0.0
    )
    _, quantity, _ = _dense(table, synthetic.DEFAULT_START, hours)
    running = quantity > 0
    assert running[0].sum() == 4
    first = running.argmax(axis=0)
    launched = first > 0
    assert launched.sum() == 10
    assert (first[launched] >= 0.1 * hours).all() and (first[launched] < 0.9 * hours).all()
    cols = np.arange(quantity.shape[1])
    assert (quantity[first[launched], cols[launched]] >= 500).all()  # a step, not a ramp
    assert (quantity[first[launched] - 1, cols[launched]] == 0).all()
    assert running[first.max() :].all()  # a launched fleet keeps running
    initial = quantity[:, ~launched].sum(axis=1)
    for months in (1, 6, 11):
        assert initial[730 * months] / initial[0] == pytest.approx(1.03**months, rel=2e-3)


def test_step_launches_growth_that_stops_holds_the_level_it_reached() -> None:
    hours, stop = 730 * 12, 730 * 4
    common = {"hours": hours, "mean_fleet_instances": 1000.0, "noise_instances": 0.0,
              "daily_amplitude_share": 0.0, "initial_fleets": 14}  # fmt: skip
    going_on = _dense(synthetic.step_launches(**common), synthetic.DEFAULT_START, hours)[1]
    table = synthetic.step_launches(growth_stop_hour=stop, **common)
    _, quantity, _ = _dense(table, synthetic.DEFAULT_START, hours)
    np.testing.assert_array_equal(quantity[:stop], going_on[:stop])  # the same draws before
    total = quantity.sum(axis=1)
    assert total[stop] / total[0] == pytest.approx(1.03**4, rel=2e-3)
    assert total[-1] == pytest.approx(total[stop], rel=1e-3)  # flat from the stop on
    assert going_on.sum(axis=1)[-1] / total[-1] == pytest.approx(1.03**8, rel=2e-3)


def test_unannounced_migration_invisible_before_its_ramp_and_keeps_units() -> None:
    ramp_start, ramp = 24 * 40, 24 * 20
    hours = 24 * 120
    table = synthetic.unannounced_migration(
        hours=hours, ramp_start_hour=ramp_start, ramp_hours=ramp, second_ramp_delay_hours=24 * 10
    )
    before = table[table["hour"] < pd.Timestamp(synthetic.DEFAULT_START) + ramp_start * HOUR]
    assert not before["instance_type"].str.startswith("c5").any()
    assert set(before["instance_type"]) >= {"m4.xlarge", "m4.2xlarge"}
    end_of_both = pd.Timestamp(synthetic.DEFAULT_START) + (ramp_start + 24 * 10 + ramp) * HOUR
    after = table[table["hour"] >= end_of_both]
    assert not after["instance_type"].isin(["m4.xlarge", "m4.2xlarge"]).any()
    assert set(after["instance_type"]) >= {"c5.xlarge", "c5.2xlarge"}
    for region, types in (("us-east-1", ("m4.xlarge", "c5.xlarge")),
                          ("us-west-2", ("m4.2xlarge", "c5.2xlarge"))):  # fmt: skip
        moving = table[(table["region"] == region) & table["instance_type"].isin(types)]
        units = (
            (moving["quantity"] * normalization_factors(moving["instance_type"]))
            .groupby(moving["hour"])
            .sum()
        )
        assert units[units.index >= end_of_both].mean() == pytest.approx(
            units[units.index < before["hour"].max()].mean(), rel=0.03
        )
    steady = table[
        ~table["instance_type"].isin(["m4.xlarge", "m4.2xlarge", "c5.xlarge", "c5.2xlarge"])
    ]
    assert steady[KEY].drop_duplicates().shape[0] == 6


def test_decline_with_retirements_retires_forty_percent_and_declines_two_percent() -> None:
    hours = 730 * 12
    table = synthetic.decline_with_retirements(
        hours=hours, mean_instances=1000.0, noise_instances=0.0, daily_amplitude_share=0.0, seed=5
    )
    _, quantity, _ = _dense(table, synthetic.DEFAULT_START, hours)
    last_week = quantity[-24 * 7 :]
    retired = (last_week == 0).all(axis=0)
    assert retired.sum() == 8
    assert (last_week[:, ~retired] > 0).all()
    stops = (quantity[:, retired] > 0).sum(axis=0)  # a retired key runs from hour 0 to its stop
    assert (quantity[: stops.min(), retired] > 0).all()
    assert len(set(stops.tolist())) == 8  # random dates, not one
    survivors = quantity[:, ~retired].sum(axis=1)
    for months in (3, 11):
        assert survivors[730 * months] / survivors[0] == pytest.approx(0.98**months, rel=2e-3)


def test_stopped_workload_is_zero_over_the_last_ten_days_before_the_review() -> None:
    review = 24 * 91
    table = synthetic.stopped_workload(hours=review + 24 * 30, stop_hour=review - 240)
    _, quantity, keys = _dense(table, synthetic.DEFAULT_START, review + 24 * 30)
    stopped = ((keys["region"] == "us-east-1") & (keys["instance_type"] == "m4.xlarge")).to_numpy()
    assert stopped.sum() == 1
    assert (quantity[review - 240 :, stopped] == 0).all()
    assert (quantity[: review - 240, stopped] > 0).all()
    assert (quantity[:, ~stopped] > 0).all()
    assert quantity[: review - 240, stopped].mean() == pytest.approx(14, abs=0.3)


def test_load_test_burst_runs_its_key_only_for_its_hours() -> None:
    hours = 24 * 30
    table = synthetic.load_test_burst(hours=hours, burst_start_hour=24 * 20, burst_hours=24 * 6)
    _, quantity, keys = _dense(table, synthetic.DEFAULT_START, hours)
    burst = (keys["instance_type"] == "c5.4xlarge").to_numpy()
    assert burst.sum() == 1
    running = quantity[:, burst][:, 0] > 0
    assert running.nonzero()[0].tolist() == list(range(24 * 20, 24 * 26))
    assert quantity[running, burst].mean() == pytest.approx(20.0, abs=0.3)
    assert (quantity[:, ~burst] > 0).all()  # the steady fleets never stop


def test_weekly_estate_runs_its_weekday_sizes_and_less_on_weekends_all_along() -> None:
    table = synthetic.weekly_estate(hours=15 * 730)
    by_fleet = table.pivot_table(index="hour", columns="instance_type", values="quantity")
    weekend = by_fleet.index.day_of_week >= 5
    weekday_level = by_fleet[~weekend].mean()
    assert weekday_level["m4.large"] == pytest.approx(30.0, rel=0.02)
    assert weekday_level["c5.xlarge"] == pytest.approx(14.0, rel=0.02)
    ratio = by_fleet[weekend].mean() / weekday_level
    np.testing.assert_allclose(ratio.to_numpy(), 0.65, rtol=0.03)
    first, last = by_fleet.iloc[: 13 * 168].mean(), by_fleet.iloc[-13 * 168 :].mean()
    np.testing.assert_allclose(last.to_numpy(), first.to_numpy(), rtol=0.02)  # no trend


def test_seasonal_retailer_peaks_at_twice_the_base_in_q4_with_weekends_higher() -> None:
    table = synthetic.seasonal_retailer(hours=15 * 730)
    total = table.groupby("hour")["quantity"].sum()
    summer = total["2024-05-01":"2024-08-31"]
    peak = total["2024-11-20":"2024-12-20"]
    assert peak.mean() / summer.mean() == pytest.approx(2.0, rel=0.03)
    october = total["2024-10-01":"2024-10-31"].mean() / summer.mean()
    assert 1.1 < october < 1.9  # the ramp
    assert total["2025-02-01":"2025-03-15"].mean() / summer.mean() == pytest.approx(1.0, rel=0.03)
    weekend = summer.index.day_of_week >= 5
    assert summer[weekend].mean() / summer[~weekend].mean() == pytest.approx(1.2, rel=0.03)


def test_retail_season_factor_closed_form() -> None:
    index = pd.DatetimeIndex(["2024-01-01", "2024-01-15", "2024-06-01", "2025-10-24",
                              "2024-11-16", "2024-12-31 23:00"], tz="UTC")  # fmt: skip
    factor = synthetic.retail_season_factor(index, 2.0)
    # 2025-10-24 is day 297 of a common year: halfway between day 274 (1.0) and day 320 (2.0)
    np.testing.assert_allclose(factor, [2.0, 1.0, 1.0, 1.5, 2.0, 2.0], atol=2e-3)


def test_right_sizing_halves_the_fleets_normalized_units() -> None:
    start_hour, ramp = 24 * 30, 24 * 7
    table = synthetic.right_sizing(hours=24 * 90, resize_start_hour=start_hour, resize_hours=ramp)
    fleet = table[(table["region"] == "us-east-1")
                  & table["instance_type"].isin(["m4.2xlarge", "m4.xlarge"])]  # fmt: skip
    hour = (fleet["hour"] - pd.Timestamp(synthetic.DEFAULT_START)) // HOUR
    units = (fleet["quantity"] * normalization_factors(fleet["instance_type"])).groupby(hour).sum()
    count = fleet.groupby(hour)["quantity"].sum()
    before, after = hour.unique() < start_hour, hour.unique() >= start_hour + ramp
    assert units[after].mean() / units[before].mean() == pytest.approx(0.5, rel=0.02)
    assert count[after].mean() / count[before].mean() == pytest.approx(1.0, rel=0.02)
    assert set(fleet.loc[hour < start_hour, "instance_type"]) == {"m4.2xlarge"}
    assert set(fleet.loc[hour >= start_hour + ramp, "instance_type"]) == {"m4.xlarge"}
    others = table.drop(fleet.index)
    per_week = others.groupby((others["hour"] - others["hour"].min()) // pd.Timedelta(weeks=1))
    weekly = per_week["quantity"].sum()
    assert weekly.iloc[-2] == pytest.approx(weekly.iloc[1], rel=0.03)  # the others stay


def test_multi_account_keeps_each_accounts_own_vocabulary() -> None:
    table = synthetic.multi_account(hours=24 * 14)
    assert table["account_id"].nunique() == len(synthetic.MULTI_ACCOUNT_ESTATE)
    for account, regions, platforms, types, series, _ in synthetic.MULTI_ACCOUNT_ESTATE:
        own = table[table["account_id"] == account]
        assert set(own["region"]) <= set(regions)
        assert set(own["platform"]) <= set(platforms)
        assert set(own["instance_type"]) <= set(types)
        assert own[KEY].drop_duplicates().shape[0] == series
    families = table.groupby("account_id")["instance_type"].agg(
        lambda s: frozenset(s.str.split(".").str[0])
    )
    assert families.nunique() == len(families)  # different families per account


def _trace_peak_to_trough() -> pd.Series:
    """Per size class, the trace's mean day max ÷ min, read from the stored CSV itself."""
    csv = Path(synthetic.__file__).parent / "data" / synthetic.AZURE_SHAPE_FILE
    shape = pd.read_csv(csv)
    first = int((shape["hour_of_day"] == 0).idxmax())
    days = (len(shape) - first) // 24
    whole = shape.iloc[first : first + 24 * days]
    mean_day = whole.groupby("hour_of_day")[
        [f"{c}_vms" for c in synthetic.AZURE_SIZE_CLASSES]
    ].mean()
    return mean_day.max() / mean_day.min()


def test_azure_shape_file_is_the_package_copy_with_its_licence() -> None:
    data = Path(synthetic.__file__).parent / "data"
    assert "Creative Commons Attribution 4.0" in (data / "NOTICE").read_text()
    shape = synthetic.azure_hourly_shape()
    assert list(shape.columns) == ["trace_hour", "hour_of_day", "small_vms", "medium_vms",
                                   "large_vms"]  # fmt: skip
    assert (shape["hour_of_day"] == shape["trace_hour"] % 24).all()
    assert len(shape) >= 72 and (shape.iloc[:, 2:] > 0).all().all()
    ratio = _trace_peak_to_trough()
    assert ratio["small_vms"] > 1.1  # the trace has a visible daily cycle


def test_azure_trace_shape_has_the_traces_daily_peak_to_trough_ratio() -> None:
    hours = 24 * 3 * 20  # whole repetitions of the trace's three days
    table = synthetic.azure_trace_shape(hours=hours, mean_instances=5000.0, noise_instances=0.0)
    ratio = _trace_peak_to_trough()
    sizes = {t: c for c, types in zip(synthetic.AZURE_SIZE_CLASSES,
                                      synthetic.AZURE_CLASS_INSTANCE_TYPES, strict=True)
             for t in types}  # fmt: skip
    by_key = table.groupby([*KEY, table["hour"].dt.hour])["quantity"].mean()
    for key, mean_day in by_key.groupby(level=list(range(len(KEY)))):
        expected = ratio[f"{sizes[key[2]]}_vms"]
        assert mean_day.max() / mean_day.min() == pytest.approx(expected, rel=0.01), key
    # day-to-day variation of the trace is kept: the three days differ
    total = table.groupby("hour")["quantity"].sum().to_numpy().reshape(-1, 24).sum(axis=1)
    assert len(np.unique(total[:3])) == 3
    np.testing.assert_array_equal(total[:3], total[3:6])


def test_scaled_over_stops_or_grows_every_key_over_its_hours_only() -> None:
    hours = 24 * 30
    steady = synthetic.stopped_workload(hours=hours, stop_hour=hours)
    start = synthetic.DEFAULT_START
    outage = synthetic.scaled_over(
        steady, start=pd.Timestamp(start) + pd.Timedelta(days=10), hours=24 * 5, factor=0.0
    )
    _, before, keys = _dense(steady, start, hours)
    _, after, same = _dense(outage, start, hours)
    assert same.equals(keys)
    off = np.zeros(hours, dtype=bool)
    off[24 * 10 : 24 * 15] = True
    assert (after[off] == 0).all()
    assert np.array_equal(after[~off], before[~off])
    grown = synthetic.scaled_over(
        steady, start=pd.Timestamp(start) + pd.Timedelta(days=20), factor=1.5
    )
    _, larger, _ = _dense(grown, start, hours)
    assert np.array_equal(larger[: 24 * 20], before[: 24 * 20])
    assert np.array_equal(larger[24 * 20 :], np.round(1.5 * before[24 * 20 :]))
