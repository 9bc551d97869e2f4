"""Synthetic usage generators: determinism, shapes, and every key priced in the embedded catalog."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from pricing.embedded import load_embedded_catalog
from pricing.instance_types import normalization_factors
from usage import synthetic
from usage.table import KEY_COLUMNS, to_matrix, validate_usage_table

GENERATORS: dict[str, Callable[..., pd.DataFrame]] = {
    "steady_daily_cycle": synthetic.steady_daily_cycle,
    "business_hours": synthetic.business_hours,
    "growth": synthetic.growth,
    "decline": synthetic.decline,
    "family_migration": synthetic.family_migration,
    "spiky_batch": synthetic.spiky_batch,
    "multi_region_mixed_platforms": synthetic.multi_region_mixed_platforms,
    "demo_usage": synthetic.demo_usage,
}
SEEDS = (0, 1, 7, 2024)


@pytest.mark.parametrize("name", GENERATORS)
def test_canonical_deterministic_and_priced(name: str) -> None:
    generate = GENERATORS[name]
    priced = load_embedded_catalog().on_demand[["region", "instance_type", "platform", "tenancy"]]
    for seed in SEEDS:
        table = generate(seed=seed)
        assert len(table) > 0
        pd.testing.assert_frame_equal(validate_usage_table(table), table)
        pd.testing.assert_frame_equal(generate(seed=seed), table)
        assert (table["quantity"] > 0).all()
        keys = table[["region", "instance_type", "platform", "tenancy"]].drop_duplicates()
        missing = keys.merge(priced, how="left", indicator=True)
        unpriced = missing.loc[missing["_merge"] == "left_only"]
        assert unpriced.empty, f"{name} seed {seed}: unpriced keys {unpriced.to_dict('records')}"
    assert not generate(seed=SEEDS[0]).equals(generate(seed=SEEDS[1]))


def test_start_and_hours() -> None:
    table = synthetic.steady_daily_cycle(start="2023-06-01 05:00", hours=30, noise_instances=0)
    matrix = to_matrix(table)
    assert matrix.hours[0] == pd.Timestamp("2023-06-01T05:00Z")
    assert len(matrix.hours) == 30
    with pytest.raises(ValueError, match="not on the hour"):
        synthetic.growth(start="2024-01-01T00:30Z")


def test_steady_daily_cycle_peaks_at_its_hour() -> None:
    table = synthetic.steady_daily_cycle(
        hours=24 * 56, base_instances=50, daily_amplitude_instances=10, peak_hour_utc=15, seed=3
    )
    by_hour = table.groupby(table["hour"].dt.hour)["quantity"].mean()
    assert by_hour.idxmax() in (14, 15, 16)
    assert by_hour.idxmin() in (2, 3, 4)
    assert table["quantity"].mean() == pytest.approx(50, abs=0.5)
    assert by_hour.max() - by_hour.min() == pytest.approx(20, abs=1.5)


@pytest.mark.parametrize("utc_offset_hours", [0, -5])
def test_business_hours_zero_at_night_and_weekends(utc_offset_hours: int) -> None:
    table = synthetic.business_hours(
        hours=24 * 28, utc_offset_hours=utc_offset_hours, business_instances=30, seed=1
    )
    matrix = to_matrix(table, start=synthetic.DEFAULT_START, end="2024-01-29T00:00Z")
    local = matrix.hours + pd.Timedelta(hours=utc_offset_hours)
    open_hours = (local.day_of_week < 5) & (local.hour >= 8) & (local.hour < 18)
    usage = matrix.quantity[:, 0]
    assert (usage[~np.asarray(open_hours)] == 0).all()
    assert (usage[np.asarray(open_hours)] > 0).all()
    assert int(np.asarray(open_hours).sum()) == 20 * 10  # 4 weeks × 5 days × 10 hours
    assert usage[np.asarray(open_hours)].mean() == pytest.approx(30, abs=1)


@pytest.mark.parametrize(
    ("generator", "slope_per_day"),
    [
        (lambda seed: synthetic.growth(seed=seed, growth_instances_per_day=0.5), 0.5),
        (lambda seed: synthetic.decline(seed=seed, decline_instances_per_day=1.0), -1.0),
    ],
)
def test_trend_recovered_by_linear_fit(
    generator: Callable[[int], pd.DataFrame], slope_per_day: float
) -> None:
    for seed in SEEDS:
        matrix = to_matrix(generator(seed))
        days = np.arange(len(matrix.hours)) / 24.0
        slope, _ = np.polyfit(days, matrix.quantity[:, 0], 1)
        assert slope == pytest.approx(slope_per_day, abs=0.02)


def test_decline_stops_at_zero() -> None:
    table = synthetic.decline(base_instances=5, decline_instances_per_day=1, hours=24 * 10)
    assert table["hour"].max() < pd.Timestamp("2024-01-07T00:00Z")
    assert (table["quantity"] >= 0).all()


def _normalized_units_per_hour(table: pd.DataFrame) -> pd.Series:
    units = table["quantity"] * normalization_factors(table["instance_type"])
    return units.groupby(table["hour"]).sum()


@pytest.mark.parametrize(
    ("from_type", "to_type", "ratio"),
    [
        ("m4.xlarge", "c5.xlarge", 1.0),
        ("m4.2xlarge", "c5.xlarge", 2.0),
        ("c4.large", "m4.xlarge", 0.5),
    ],
)
def test_family_migration_conserves_normalized_units(
    from_type: str, to_type: str, ratio: float
) -> None:
    hours = 24 * 28
    kwargs = {"from_instance_type": from_type, "to_instance_type": to_type, "seed": 5}
    migrated = synthetic.family_migration(
        hours=hours, ramp_start_hour=24 * 7, ramp_hours=24 * 14, **kwargs
    )
    unmigrated = synthetic.family_migration(hours=hours, ramp_start_hour=hours + 1, **kwargs)
    assert set(unmigrated["instance_type"]) == {from_type}
    pd.testing.assert_series_equal(
        _normalized_units_per_hour(migrated), _normalized_units_per_hour(unmigrated)
    )
    matrix = to_matrix(migrated)
    columns = {t: i for i, t in enumerate(matrix.keys["instance_type"])}
    old, new = matrix.quantity[:, columns[from_type]], matrix.quantity[:, columns[to_type]]
    assert (new[: 24 * 7 + 1] == 0).all()  # before the ramp
    assert (old[24 * 21 :] == 0).all()  # after it
    np.testing.assert_array_equal(
        new * 1.0,
        np.rint(np.clip((np.arange(hours) - 24 * 7) / (24 * 14), 0, 1) * (old + new / ratio))
        * ratio,
    )


def test_spiky_batch_shape() -> None:
    table = synthetic.spiky_batch(
        hours=24 * 7,
        base_instances=4,
        batch_instances=40,
        batch_every_hours=24,
        batch_duration_hours=3,
        first_batch_hour=2,
        seed=9,
    )
    usage = to_matrix(table).quantity[:, 0]
    in_batch = np.isin(np.arange(24 * 7) % 24, [2, 3, 4])
    assert (usage[~in_batch] == 4).all()
    assert (usage[in_batch] >= 4).all()
    batch_means = usage[in_batch].reshape(7, 3)
    assert (batch_means == batch_means[:, :1]).all()  # one size per batch
    assert 15 < batch_means[:, 0].mean() - 4 < 80


def test_multi_region_mixed_platforms_spans_keys() -> None:
    table = synthetic.multi_region_mixed_platforms(series=12, seed=4)
    keys = table[list(KEY_COLUMNS)].drop_duplicates()
    assert len(keys) == 12
    assert keys["region"].nunique() >= 3
    assert keys["platform"].nunique() >= 3
    assert keys["instance_type"].nunique() >= 3


def test_demo_usage_is_realistic() -> None:
    table = synthetic.demo_usage(seed=11)
    matrix = to_matrix(table)
    assert len(matrix.hours) == 24 * 60
    assert set(table["account_id"]) == {"111111111111", "222222222222", "333333333333"}
    assert table["region"].nunique() >= 4
    assert table["platform"].nunique() >= 4
    assert len(matrix.keys) >= 15
    assert matrix.quantity.sum(axis=1).min() > 0
