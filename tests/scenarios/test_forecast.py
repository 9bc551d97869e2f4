"""Usage forecast: known trends and weekly profiles are recovered, paths are compact and honest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scenarios.forecast import (
    Forecast,
    ForecastInputError,
    fit_weekly_model,
    forecast,
    forecast_paths,
    period_codes,
    relative_trend_error,
    sample_trend_copies,
    theil_sen,
)
from scenarios.forecast_backtest import backtest_forecast
from scenarios.paths import UsagePaths
from usage.synthetic import growth
from usage.table import KEY_COLUMNS, UsageMatrix

START = pd.Timestamp("2024-01-01", tz="UTC")
WEEK = 168


def keys(*types: str, platform: str = "Linux/UNIX") -> pd.DataFrame:
    rows = [("111111111111", "us-east-1", name, platform, "Shared") for name in types]
    return pd.DataFrame(rows, columns=list(KEY_COLUMNS)).astype("string")


def weekly_profile() -> np.ndarray:
    """A week with a daily cycle and quieter weekends, mean 1."""
    hour = np.arange(WEEK)
    daily = 1.0 + 0.4 * np.sin(2 * np.pi * (hour % 24 - 6) / 24)
    weekend = np.where(hour // 24 >= 5, 0.6, 1.0)
    profile = daily * weekend
    return profile / profile.mean()


def series(
    weeks: int, *, level: float, slope_per_week: float, noise: float, seed: int = 0
) -> np.ndarray:
    """``(level + slope × week) × profile × (1 + noise)`` per hour, week 0 centred on 0."""
    hours = np.arange(weeks * WEEK)
    position = (hours + 0.5) / WEEK - 0.5
    rng = np.random.default_rng(seed)
    shocks = 1.0 + noise * rng.standard_normal(len(hours))
    return (level + slope_per_week * position) * weekly_profile()[hours % WEEK] * shocks


def matrix(columns: list[np.ndarray], key_table: pd.DataFrame) -> UsageMatrix:
    quantity = np.column_stack(columns).astype(np.float64)
    hours = pd.date_range(START, periods=len(quantity), freq="h", unit="ns")
    return UsageMatrix(hours=hours, keys=key_table, quantity=quantity)


def test_theil_sen_ignores_an_outlier_week() -> None:
    levels = np.array([10.0, 12.0, 14.0, 100.0, 18.0, 20.0])[:, np.newaxis]
    intercept, slope = theil_sen(levels)
    assert slope[0] == pytest.approx(2.0) and intercept[0] == pytest.approx(10.0)


def test_recovers_a_known_linear_trend_and_weekly_profile() -> None:
    usage = matrix(
        [series(20, level=50.0, slope_per_week=2.0, noise=0.1),
         series(20, level=80.0, slope_per_week=-1.5, noise=0.1, seed=1)],
        keys("m4.large", "c4.large"),
    )  # fmt: skip
    model = fit_weekly_model(usage)
    assert model.blocks == 20 and model.origin == START
    np.testing.assert_allclose(model.slope_per_block, [2.0, -1.5], rtol=0.05)
    np.testing.assert_allclose(model.level_at_end, [50 + 2 * 19.5, 80 - 1.5 * 19.5], rtol=0.01)
    for column in range(2):
        correlation = np.corrcoef(model.weekly_profile[:, column], weekly_profile())[0, 1]
        assert correlation > 0.95


def test_paths_are_compact_and_reproducible_for_a_seed() -> None:
    usage = matrix([series(13, level=20.0, slope_per_week=0.5, noise=0.2)], keys("m4.large"))
    first = forecast_paths(usage, horizon_hours=4 * WEEK + 5, n_paths=30, seed=3)
    again = forecast_paths(usage, horizon_hours=4 * WEEK + 5, n_paths=30, seed=3)
    other = forecast_paths(usage, horizon_hours=4 * WEEK + 5, n_paths=30, seed=4)
    assert isinstance(first, UsagePaths)
    assert first.n_paths == 30 and first.n_hours == 4 * WEEK + 5
    assert first.hours[0] == usage.hours[-1] + pd.Timedelta(hours=1)
    assert first.source.shape == (13 * WEEK, 1) and first.source_row.dtype == np.int32
    np.testing.assert_array_equal(first.source_row, again.source_row)
    assert not np.array_equal(first.source_row, other.source_row)
    # each future week copies one whole past week, phase by phase
    rows = first.source_row[:, :WEEK]
    assert (np.diff(rows, axis=1) == 1).all() and (rows[:, 0] % WEEK == 0).all()


def test_quantiles_are_ordered_and_totals_match_materialised_paths() -> None:
    usage = matrix(
        [series(12, level=20.0, slope_per_week=0.3, noise=0.3),
         series(12, level=5.0, slope_per_week=0.0, noise=0.5, seed=2)],
        keys("m4.large", "m4.2xlarge"),
    )  # fmt: skip
    result = forecast(usage, horizon_hours=10 * WEEK, n_paths=40, seed=1, start=None)
    totals = result.totals(by="week")
    for measure in ("instance_hours", "normalized_unit_hours"):
        assert (totals[f"p5_{measure}"] <= totals[f"p50_{measure}"]).all()
        assert (totals[f"p50_{measure}"] <= totals[f"p95_{measure}"]).all()
    materialised = result.paths.block(slice(0, 40))
    units = materialised @ np.array([4.0, 16.0])
    weekly = units.reshape(40, 10, WEEK).sum(axis=2)
    np.testing.assert_allclose(
        totals["mean_normalized_unit_hours"], weekly.mean(axis=0), rtol=1e-10
    )
    np.testing.assert_allclose(
        totals["p95_normalized_unit_hours"], np.quantile(weekly, 0.95, axis=0), rtol=1e-10
    )
    monthly = result.totals(by="month")
    assert monthly["period_hours"].sum() == 10 * WEEK
    assert monthly["mean_instance_hours"].sum() == pytest.approx(
        totals["mean_instance_hours"].sum(), rel=1e-10
    )


def test_zero_noise_collapses_the_interval_onto_the_truth() -> None:
    flat = matrix([series(8, level=30.0, slope_per_week=0.0, noise=0.0)], keys("m4.large"))
    result = forecast(flat, horizon_hours=5 * WEEK + 11, n_paths=25, start=flat.hours[-1] +
                      pd.Timedelta(hours=7))  # fmt: skip
    truth = series(14, level=30.0, slope_per_week=0.0, noise=0.0)[8 * WEEK + 6 :][: 5 * WEEK + 11]
    block = result.paths.block(slice(0, 25))[:, :, 0]
    np.testing.assert_allclose(block, np.broadcast_to(truth, block.shape), rtol=1e-12)
    sloped = matrix([series(8, level=30.0, slope_per_week=1.0, noise=0.0)], keys("m4.large"))
    straight = forecast(sloped, horizon_hours=6 * WEEK, n_paths=25, damping_half_life_weeks=None)
    truth = series(14, level=30.0, slope_per_week=1.0, noise=0.0)[8 * WEEK :]
    totals = straight.totals(by="week")
    weekly_truth = truth.reshape(6, WEEK).sum(axis=1)
    for column in ("p5_instance_hours", "p50_instance_hours", "p95_instance_hours"):
        np.testing.assert_allclose(totals[column], weekly_truth, rtol=2e-3)


def test_damped_trend_stays_bounded_and_never_negative() -> None:
    usage = matrix(
        [series(12, level=30.0, slope_per_week=1.0, noise=0.05),
         series(12, level=40.0, slope_per_week=-3.0, noise=0.05, seed=1),
         series(12, level=10.0, slope_per_week=3.0, noise=0.05, seed=2)],
        keys("m4.large", "c4.large", "r4.large"),
    )  # fmt: skip
    result = forecast(usage, horizon_hours=3 * 8760, n_paths=5)
    trend, model = result.paths.trend, result.model
    assert trend is not None and (trend >= 0).all()
    assert trend[-1, 1] == 0.0  # the shrinking key reaches zero and stays there
    # growth moves at most 52 / ln 2 weeks of the slope past the lookback ...
    bound = model.level_at_end[0] + model.slope_per_block[0] * 52 / np.log(2)
    assert model.level_at_end[0] < trend[8760, 0] < trend[-1, 0] <= bound
    assert trend[-1, 0] > bound - 0.2 * model.slope_per_block[0] * 52 / np.log(2)
    # ... and never above three times the highest weekly level of the lookback
    assert trend[-1, 2] == pytest.approx(3 * model.max_level[2])
    undamped = forecast(usage, horizon_hours=3 * 8760, n_paths=5, damping_half_life_weeks=None,
                        max_trend_ratio=None).paths.trend  # fmt: skip
    assert undamped is not None
    assert undamped[-1, 0] == pytest.approx(model.level_at_end[0] + model.slope_per_block[0]
                                            * (3 * 8760 - 0.5) / WEEK)  # fmt: skip


def test_family_level_conserves_family_totals() -> None:
    large = series(10, level=20.0, slope_per_week=0.5, noise=0.2)
    xlarge = series(10, level=6.0, slope_per_week=0.4, noise=0.3, seed=1)
    other = series(10, level=9.0, slope_per_week=-0.2, noise=0.1, seed=2)
    usage = matrix([xlarge, large, other], keys("m4.xlarge", "m4.large", "r4.large"))
    by_family = forecast(usage, horizon_hours=7 * WEEK, n_paths=20, seed=5, level="family")
    assert len(by_family.model.series) == 2
    m4_units = large * 4 + xlarge * 8
    aggregate = matrix([m4_units / 4, other], keys("m4.large", "r4.large"))
    by_key = forecast(aggregate, horizon_hours=7 * WEEK, n_paths=20, seed=5)
    family_paths = by_family.paths.block(slice(0, 20))
    key_paths = by_key.paths.block(slice(0, 20))
    family_units = family_paths[:, :, 0] * 8 + family_paths[:, :, 1] * 4
    np.testing.assert_allclose(family_units, key_paths[:, :, 0] * 4, rtol=1e-10)
    np.testing.assert_allclose(family_paths[:, :, 2], key_paths[:, :, 1], rtol=1e-10)
    # keys get their share of the last two weeks' normalized units
    recent = (xlarge[-2 * WEEK :].sum() * 8, large[-2 * WEEK :].sum() * 4)
    share = recent[0] / sum(recent)
    np.testing.assert_allclose(family_paths[:, :, 0] * 8, family_units * share, rtol=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon_hours": 0, "n_paths": 5}, "horizon must be at least one hour"),
        ({"horizon_hours": 5, "n_paths": 0}, "number of paths must be at least 1"),
        ({"horizon_hours": 5, "n_paths": 5, "start": START}, "before the end of the usage"),
    ],
)
def test_bad_arguments_name_the_problem(kwargs: dict[str, object], message: str) -> None:
    usage = matrix([series(3, level=5.0, slope_per_week=0.0, noise=0.1)], keys("m4.large"))
    with pytest.raises(ForecastInputError, match=message):
        forecast_paths(usage, **kwargs)  # type: ignore[arg-type]


def test_too_little_history_says_how_much_is_needed() -> None:
    usage = matrix([np.ones(2 * WEEK - 1)], keys("m4.large"))
    with pytest.raises(ForecastInputError, match=r"at least 2 whole weeks \(336 hours\)"):
        forecast_paths(usage, horizon_hours=5, n_paths=5)


def test_a_table_works_as_well_as_a_matrix() -> None:
    table = growth(hours=4 * WEEK, noise_instances=0.0, growth_instances_per_day=0.0)
    result = forecast(table, horizon_hours=WEEK, n_paths=3)
    assert isinstance(result, Forecast)
    np.testing.assert_allclose(result.paths.block(slice(0, 3)), 10.0)


def test_month_periods_start_at_the_forecast_start() -> None:
    hours = pd.date_range("2024-01-30 05:00", periods=24 * 40, freq="h", tz="UTC", unit="ns")
    starts, codes = period_codes(hours, "month")
    assert list(starts.strftime("%Y-%m-%d %H")) == [
        "2024-01-30 05",
        "2024-02-01 00",
        "2024-03-01 00",
    ]
    assert np.bincount(codes).tolist() == [43, 29 * 24, 24 * 40 - 43 - 29 * 24]


def test_backtest_scores_weekly_totals_of_a_linear_growth() -> None:
    hours = 30 * WEEK
    table = growth(hours=hours, base_instances=20.0, growth_instances_per_day=0.1)
    usage = matrix([np.zeros(hours)], keys("c5.xlarge"))
    usage.quantity[(table["hour"] - START) // pd.Timedelta(hours=1), 0] = table["quantity"]
    report = backtest_forecast(usage, lookback_hours=13 * WEEK, horizon_weeks=4, n_paths=100)
    assert report.origins == 4 and len(report.weeks) == 16
    assert report.mape < 0.02
    assert 0.0 <= report.coverage <= 1.0
    assert report.by_week_ahead()["week_ahead"].tolist() == [1, 2, 3, 4]
    with pytest.raises(ForecastInputError, match="needs a lookback plus a horizon"):
        backtest_forecast(usage, lookback_hours=26 * WEEK, horizon_weeks=8)


def test_trend_error_widens_the_range_and_totals_stay_exact() -> None:
    usage = matrix(
        [series(13, level=20.0, slope_per_week=0.3, noise=0.3),
         series(13, level=5.0, slope_per_week=0.1, noise=0.5, seed=2)],
        keys("m4.large", "m4.2xlarge"),
    )  # fmt: skip
    shared = forecast(usage, horizon_hours=26 * WEEK, n_paths=300, seed=2)
    spread = forecast(usage, horizon_hours=26 * WEEK, n_paths=300, seed=2, trend_levels=9)
    assert len(spread.multipliers) == 9 and spread.multipliers[0] == 1.0
    assert spread.paths.source.shape == (9 * 13 * WEEK, 2)
    narrow, wide = shared.totals(by="week"), spread.totals(by="week")
    width = wide["p95_normalized_unit_hours"] - wide["p5_normalized_unit_hours"]
    base = narrow["p95_normalized_unit_hours"] - narrow["p5_normalized_unit_hours"]
    assert (width.iloc[-4:] > 1.3 * base.iloc[-4:]).all()  # the trend's error grows with time
    assert width.iloc[-1] > width.iloc[0]
    np.testing.assert_allclose(  # the error is centred: the mean barely moves
        wide["mean_normalized_unit_hours"], narrow["mean_normalized_unit_hours"], rtol=0.03
    )
    materialised = spread.paths.block(slice(0, 300)) @ np.array([4.0, 16.0])
    weekly = materialised.reshape(300, 26, WEEK).sum(axis=2)
    np.testing.assert_allclose(wide["mean_normalized_unit_hours"], weekly.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(
        wide["p5_normalized_unit_hours"], np.quantile(weekly, 0.05, axis=0), rtol=1e-10
    )


def test_trend_error_vanishes_without_noise() -> None:
    usage = matrix([series(8, level=30.0, slope_per_week=1.0, noise=0.0)], keys("m4.large"))
    result = forecast(usage, horizon_hours=3 * WEEK, n_paths=10, trend_levels=9)
    assert result.multipliers.tolist() == [1.0]
    assert result.paths.source.shape == (8 * WEEK, 1)


def test_trend_error_rounding_keeps_the_mean_and_the_standard_error() -> None:
    rng = np.random.default_rng(0)
    relative = np.array([0.01, 0.05, 0.1])
    multipliers, copy = sample_trend_copies(relative, 40_000, 9, rng, degrees_of_freedom=1e6)
    drawn = multipliers[copy]
    assert drawn.shape == (40_000, 3)
    np.testing.assert_allclose(drawn.mean(axis=0), 1.0, atol=2e-3)
    # rounding to nine levels adds a little spread, never much
    assert (drawn.std(axis=0) >= 0.95 * relative).all()
    assert (drawn.std(axis=0) <= 1.35 * relative + 0.004).all()


def test_relative_trend_error_grows_past_the_lookback() -> None:
    usage = matrix([series(13, level=20.0, slope_per_week=0.0, noise=0.3)], keys("m4.large"))
    model = fit_weekly_model(usage)
    positions = np.array([6.0, 13.0, 30.0, 60.0])
    total = np.full(4, 80.0)  # 20 instances x 4 units
    relative = relative_trend_error(model, total, positions, np.array([4.0]), 52.0)
    assert relative[0] < relative[1] < relative[2] < relative[3] <= 0.2
    undamped = relative_trend_error(model, total, positions, np.array([4.0]), None)
    assert relative[3] < undamped[3] < 0.2
    far = relative_trend_error(model, total[:1], np.array([5000.0]), np.array([4.0]), None)
    assert far[0] == 0.2  # capped
