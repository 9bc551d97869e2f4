"""Seeded synthetic usage histories for demos and tests.

Every generator returns a canonical usage table (see :mod:`usage.table`) built with numpy, without
a loop over hours. Quantities are whole running instances per hour [instance-hours] (except where
a migration between sizes with different normalization factors needs halves). Zero hours are left
out, as in :meth:`usage.table.UsageMatrix.to_frame`. The same ``seed`` gives the same table.

The default instance types, regions and platforms are all priced in the embedded catalog
(:func:`pricing.embedded.load_embedded_catalog`, a 2017 snapshot: ``c4``, ``c5`` in us-east-1,
us-west-2 and eu-west-1 only, ``m4``, ``r4``, ``t2``, ``i3`` ...; no ``m5`` or ``t3``), so demos run
offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.times import utc_hour
from core.units import HOURS_PER_MONTH
from pricing.instance_types import normalization_factor
from usage.table import (
    USAGE_SCHEMA,
    empty_usage_table,
    validate_usage_table,
)

DEFAULT_START: Final = "2024-01-01T00:00:00Z"
"""First hour of every generator unless told otherwise."""

DEFAULT_HOURS: Final = 24 * 28
"""Four weeks [hours]."""

DEFAULT_ACCOUNT: Final = "111111111111"

FloatArray = npt.NDArray[np.float64]


def _hours(start: str | pd.Timestamp, hours: int) -> pd.DatetimeIndex:
    stamp = utc_hour(start, "start")
    if hours < 0:
        raise ValueError(f"hours must be >= 0, not {hours}")
    return pd.date_range(stamp, periods=hours, freq="h", unit="ns")


def _series_table(
    index: pd.DatetimeIndex,
    quantity: FloatArray,
    *,
    account_id: str,
    region: str,
    instance_type: str,
    platform: str,
    tenancy: str,
) -> pd.DataFrame:
    """One key's hourly quantities as a canonical table, zero hours dropped."""
    keep = quantity > 0
    frame = pd.DataFrame(
        {
            "hour": index[keep],
            "account_id": account_id,
            "region": region,
            "instance_type": instance_type,
            "platform": platform,
            "tenancy": tenancy,
            "quantity": quantity[keep],
        }
    )
    return frame.astype(USAGE_SCHEMA)


def _combine(frames: Sequence[pd.DataFrame], source: str) -> pd.DataFrame:
    """Concatenate generator outputs into one canonical table, summing shared hours and keys."""
    non_empty = [f for f in frames if len(f)]
    if not non_empty:
        return empty_usage_table()
    return validate_usage_table(
        pd.concat(non_empty, ignore_index=True), source=source, aggregate=True
    )


def _noise(rng: np.random.Generator, sd_instances: float, count: int) -> FloatArray:
    """Gaussian noise [instances]; zeros (drawing nothing) when ``sd_instances`` is not positive."""
    if sd_instances <= 0:
        return np.zeros(count, dtype=np.float64)
    return rng.normal(0.0, sd_instances, size=count)


def _whole(values: FloatArray) -> FloatArray:
    """Round to whole instances, never below zero."""
    return np.maximum(np.rint(values), 0.0)


def _running_instances(
    level: FloatArray, rng: np.random.Generator, noise_instances: float
) -> FloatArray:
    """``level`` (hours × fleets) plus hourly noise, in whole instances, at least one each
    hour: fleets that run all along."""
    noise = _noise(rng, noise_instances, level.size).reshape(level.shape)
    return np.maximum(_whole(level + noise), 1.0)


def steady_daily_cycle(
    *,
    start: str | pd.Timestamp = DEFAULT_START,
    hours: int = DEFAULT_HOURS,
    base_instances: float = 20.0,
    daily_amplitude_instances: float = 5.0,
    peak_hour_utc: int = 15,
    noise_instances: float = 1.0,
    seed: int = 0,
    account_id: str = DEFAULT_ACCOUNT,
    region: str = "us-east-1",
    instance_type: str = "m4.large",
    platform: str = "Linux/UNIX",
    tenancy: str = "Shared",
) -> pd.DataFrame:
    """A steady fleet with a daily sine cycle and Gaussian noise.

    Parameters
    ----------
    start
        First hour (naive means UTC).
    hours
        Length of the history [hours].
    base_instances
        Mean running instances [instances].
    daily_amplitude_instances
        Half the peak-to-trough swing of the daily cycle [instances].
    peak_hour_utc
        Hour of the day (UTC) at which the cycle peaks [h].
    noise_instances
        Standard deviation of the hourly noise [instances].
    seed
        Random seed.
    account_id, region, instance_type, platform, tenancy
        The key of the series.

    Returns
    -------
    pandas.DataFrame
        Canonical usage table, whole instances per hour.
    """
    index = _hours(start, hours)
    rng = np.random.default_rng(seed)
    hour_of_day = index.hour.to_numpy()
    cycle = daily_amplitude_instances * np.cos(2 * np.pi * (hour_of_day - peak_hour_utc) / 24)
    noise = _noise(rng, noise_instances, len(index))
    quantity = _whole(base_instances + cycle + noise)
    return _series_table(
        index,
        quantity,
        account_id=account_id,
        region=region,
        instance_type=instance_type,
        platform=platform,
        tenancy=tenancy,
    )


def business_hours(
    *,
    start: str | pd.Timestamp = DEFAULT_START,
    hours: int = DEFAULT_HOURS,
    business_instances: float = 30.0,
    first_business_hour: int = 8,
    end_business_hour: int = 18,
    utc_offset_hours: int = 0,
    noise_instances: float = 2.0,
    seed: int = 0,
    account_id: str = DEFAULT_ACCOUNT,
    region: str = "eu-west-1",
    instance_type: str = "c4.xlarge",
    platform: str = "Windows",
    tenancy: str = "Shared",
) -> pd.DataFrame:
    """Instances that run only on weekdays during business hours, none at night or weekends.

    Parameters
    ----------
    start
        First hour (naive means UTC).
    hours
        Length of the history [hours].
    business_instances
        Mean running instances during business hours [instances].
    first_business_hour, end_business_hour
        Local hours ``[first, end)`` during which instances run [h].
    utc_offset_hours
        Local time minus UTC [h] (``-5`` for US Eastern standard time).
    noise_instances
        Standard deviation of the hourly noise during business hours [instances].
    seed
        Random seed.
    account_id, region, instance_type, platform, tenancy
        The key of the series.
    """
    index = _hours(start, hours)
    rng = np.random.default_rng(seed)
    local = index + pd.Timedelta(hours=utc_offset_hours)
    local_hour = local.hour.to_numpy()
    weekday = local.day_of_week.to_numpy() < 5
    open_hours = weekday & (local_hour >= first_business_hour) & (local_hour < end_business_hour)
    noise = _noise(rng, noise_instances, len(index))
    quantity = np.where(open_hours, _whole(business_instances + noise), 0.0)
    return _series_table(
        index,
        quantity,
        account_id=account_id,
        region=region,
        instance_type=instance_type,
        platform=platform,
        tenancy=tenancy,
    )


def _trend(
    *,
    start: str | pd.Timestamp,
    hours: int,
    base_instances: float,
    slope_instances_per_day: float,
    noise_instances: float,
    seed: int,
    key: dict[str, str],
) -> pd.DataFrame:
    index = _hours(start, hours)
    rng = np.random.default_rng(seed)
    days = np.arange(len(index), dtype=np.float64) / 24.0
    noise = _noise(rng, noise_instances, len(index))
    quantity = _whole(base_instances + slope_instances_per_day * days + noise)
    return _series_table(index, quantity, **key)


def growth(
    *,
    start: str | pd.Timestamp = DEFAULT_START,
    hours: int = DEFAULT_HOURS,
    base_instances: float = 10.0,
    growth_instances_per_day: float = 0.5,
    noise_instances: float = 1.0,
    seed: int = 0,
    account_id: str = DEFAULT_ACCOUNT,
    region: str = "us-west-2",
    instance_type: str = "c5.xlarge",
    platform: str = "Linux/UNIX",
    tenancy: str = "Shared",
) -> pd.DataFrame:
    """A fleet growing linearly: ``base + growth × days since start`` plus noise.

    Parameters
    ----------
    start
        First hour (naive means UTC).
    hours
        Length of the history [hours].
    base_instances
        Running instances at the first hour [instances].
    growth_instances_per_day
        Linear growth [instances/day].
    noise_instances
        Standard deviation of the hourly noise [instances].
    seed
        Random seed.
    account_id, region, instance_type, platform, tenancy
        The key of the series.
    """
    return _trend(
        start=start,
        hours=hours,
        base_instances=base_instances,
        slope_instances_per_day=growth_instances_per_day,
        noise_instances=noise_instances,
        seed=seed,
        key={
            "account_id": account_id,
            "region": region,
            "instance_type": instance_type,
            "platform": platform,
            "tenancy": tenancy,
        },
    )


def decline(
    *,
    start: str | pd.Timestamp = DEFAULT_START,
    hours: int = DEFAULT_HOURS,
    base_instances: float = 40.0,
    decline_instances_per_day: float = 1.0,
    noise_instances: float = 1.0,
    seed: int = 0,
    account_id: str = DEFAULT_ACCOUNT,
    region: str = "us-east-1",
    instance_type: str = "r4.large",
    platform: str = "Linux/UNIX",
    tenancy: str = "Shared",
) -> pd.DataFrame:
    """A fleet shrinking linearly: ``base − decline × days since start``, never below zero.

    Parameters
    ----------
    start
        First hour (naive means UTC).
    hours
        Length of the history [hours].
    base_instances
        Running instances at the first hour [instances].
    decline_instances_per_day
        Linear decline [instances/day], positive.
    noise_instances
        Standard deviation of the hourly noise [instances].
    seed
        Random seed.
    account_id, region, instance_type, platform, tenancy
        The key of the series.
    """
    return _trend(
        start=start,
        hours=hours,
        base_instances=base_instances,
        slope_instances_per_day=-decline_instances_per_day,
        noise_instances=noise_instances,
        seed=seed,
        key={
            "account_id": account_id,
            "region": region,
            "instance_type": instance_type,
            "platform": platform,
            "tenancy": tenancy,
        },
    )


def family_migration(
    *,
    start: str | pd.Timestamp = DEFAULT_START,
    hours: int = DEFAULT_HOURS,
    base_instances: float = 24.0,
    from_instance_type: str = "m4.xlarge",
    to_instance_type: str = "c5.xlarge",
    ramp_start_hour: int = 24 * 7,
    ramp_hours: int = 24 * 14,
    daily_amplitude_instances: float = 3.0,
    seed: int = 0,
    account_id: str = DEFAULT_ACCOUNT,
    region: str = "us-east-1",
    platform: str = "Linux/UNIX",
    tenancy: str = "Shared",
) -> pd.DataFrame:
    """A workload moving from one instance family to another over a linear ramp.

    Each hour, a share of the ``from`` instances (0 before the ramp, rising linearly to 1 at its
    end, in whole instances) is replaced by ``to`` instances of the same normalized units: the
    hourly normalized units (instances × normalization factor) are exactly those of the workload
    before the migration. Moving ``m4.2xlarge`` (16 units) to ``c5.xlarge`` (8 units) gives two
    ``c5.xlarge`` per ``m4.2xlarge``; the other way round, half an instance-hour per instance.

    Parameters
    ----------
    start
        First hour (naive means UTC).
    hours
        Length of the history [hours].
    base_instances
        Mean running ``from`` instances before the migration [instances].
    from_instance_type, to_instance_type
        The old and new instance types.
    ramp_start_hour
        Hours after ``start`` at which the migration begins [hours].
    ramp_hours
        Duration of the migration [hours].
    daily_amplitude_instances
        Half the swing of the workload's daily cycle [instances]; the workload also
        carries seeded noise of one instance.
    seed
        Random seed.
    account_id, region, platform, tenancy
        The key of both series but the instance type.
    """
    index = _hours(start, hours)
    rng = np.random.default_rng(seed)
    cycle = daily_amplitude_instances * np.sin(2 * np.pi * index.hour.to_numpy() / 24)
    workload = _whole(base_instances + cycle + rng.normal(0.0, 1.0, size=len(index)))
    elapsed = np.arange(len(index), dtype=np.float64) - ramp_start_hour
    share = np.clip(elapsed / max(ramp_hours, 1), 0.0, 1.0)
    moved = np.rint(share * workload)
    ratio = normalization_factor(from_instance_type) / normalization_factor(to_instance_type)
    key = {"account_id": account_id, "region": region, "platform": platform, "tenancy": tenancy}
    old = _series_table(index, workload - moved, instance_type=from_instance_type, **key)
    new = _series_table(index, moved * ratio, instance_type=to_instance_type, **key)
    return _combine([old, new], "family_migration")


def spiky_batch(
    *,
    start: str | pd.Timestamp = DEFAULT_START,
    hours: int = DEFAULT_HOURS,
    base_instances: float = 4.0,
    batch_instances: float = 40.0,
    batch_every_hours: int = 24,
    batch_duration_hours: int = 3,
    first_batch_hour: int = 2,
    seed: int = 0,
    account_id: str = DEFAULT_ACCOUNT,
    region: str = "us-east-1",
    instance_type: str = "c4.2xlarge",
    platform: str = "Linux/UNIX",
    tenancy: str = "Shared",
) -> pd.DataFrame:
    """A small steady fleet with periodic batch jobs of random size.

    Parameters
    ----------
    start
        First hour (naive means UTC).
    hours
        Length of the history [hours].
    base_instances
        Instances always running [instances].
    batch_instances
        Mean extra instances during a batch [instances]; each batch draws its size from a gamma
        distribution with this mean (shape 4).
    batch_every_hours
        Period between batch starts [hours].
    batch_duration_hours
        Length of each batch [hours].
    first_batch_hour
        Hours after ``start`` at which the first batch begins [hours].
    seed
        Random seed.
    account_id, region, instance_type, platform, tenancy
        The key of the series.
    """
    index = _hours(start, hours)
    rng = np.random.default_rng(seed)
    offset = np.arange(len(index)) - first_batch_hour
    batch_number = np.floor_divide(offset, max(batch_every_hours, 1))
    in_batch = (offset >= 0) & (offset - batch_number * batch_every_hours < batch_duration_hours)
    batches = int(batch_number.max()) + 1 if len(index) else 0
    sizes = rng.gamma(4.0, batch_instances / 4.0, size=max(batches, 0))
    extra = np.where(in_batch, sizes[np.clip(batch_number, 0, max(batches - 1, 0))], 0.0)
    quantity = _whole(base_instances + extra)
    return _series_table(
        index,
        quantity,
        account_id=account_id,
        region=region,
        instance_type=instance_type,
        platform=platform,
        tenancy=tenancy,
    )


MIXED_REGIONS: Final = ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1")
MIXED_PLATFORMS: Final = ("Linux/UNIX", "Windows", "Red Hat Enterprise Linux", "SUSE Linux")
MIXED_INSTANCE_TYPES: Final = ("m4.large", "m4.2xlarge", "c4.xlarge", "r4.xlarge", "t2.medium")


def multi_region_mixed_platforms(
    *,
    start: str | pd.Timestamp = DEFAULT_START,
    hours: int = DEFAULT_HOURS,
    regions: Sequence[str] = MIXED_REGIONS,
    platforms: Sequence[str] = MIXED_PLATFORMS,
    instance_types: Sequence[str] = MIXED_INSTANCE_TYPES,
    series: int = 12,
    mean_instances: float = 8.0,
    daily_amplitude_share: float = 0.3,
    seed: int = 0,
    account_id: str = DEFAULT_ACCOUNT,
    tenancy: str = "Shared",
) -> pd.DataFrame:
    """Several keys across regions and platforms, each a daily cycle of its own size and phase.

    Parameters
    ----------
    start
        First hour (naive means UTC).
    hours
        Length of the history [hours].
    regions, platforms, instance_types
        Vocabularies the keys are drawn from (distinct combinations, at most ``series``).
    series
        Number of keys [keys].
    mean_instances
        Mean of each key's base fleet, drawn from an exponential distribution [instances].
    daily_amplitude_share
        Daily swing as a share of each key's base [1].
    seed
        Random seed.
    account_id, tenancy
        Shared by every key.
    """
    index = _hours(start, hours)
    rng = np.random.default_rng(seed)
    combinations = len(regions) * len(platforms) * len(instance_types)
    count = min(series, combinations)
    chosen = rng.choice(combinations, size=count, replace=False)
    region_index, rest = np.divmod(chosen, len(platforms) * len(instance_types))
    platform_index, type_index = np.divmod(rest, len(instance_types))
    base = 1.0 + rng.exponential(mean_instances, size=count)
    phase = rng.integers(0, 24, size=count)
    hour_of_day = index.hour.to_numpy()[:, None]
    cycle = daily_amplitude_share * base * np.cos(2 * np.pi * (hour_of_day - phase) / 24)
    noise = rng.normal(0.0, 1.0, size=(len(index), count))
    quantity = _whole(base + cycle + noise)  # hours × keys
    hour_index, key_index = np.nonzero(quantity)
    frame = pd.DataFrame(
        {
            "hour": index[hour_index],
            "account_id": account_id,
            "region": np.asarray(regions, dtype=object)[region_index[key_index]],
            "instance_type": np.asarray(instance_types, dtype=object)[type_index[key_index]],
            "platform": np.asarray(platforms, dtype=object)[platform_index[key_index]],
            "tenancy": tenancy,
            "quantity": quantity[hour_index, key_index],
        }
    )
    return validate_usage_table(frame.astype(USAGE_SCHEMA), source="multi_region_mixed_platforms")


def demo_usage(
    *, seed: int = 0, start: str | pd.Timestamp = DEFAULT_START, hours: int = 24 * 60
) -> pd.DataFrame:
    """A realistic multi-account, multi-region history combining every shape above.

    Three accounts: production (steady ``m4.large`` web fleet, growing ``c5.xlarge`` service,
    ``m4.xlarge`` -> ``c5.xlarge`` migration, nightly ``c4.2xlarge`` batch), corporate IT
    (Windows business-hours fleet in eu-west-1, a declining ``r4.large`` legacy fleet) and
    analytics (keys across four regions and four platforms).

    Parameters
    ----------
    seed
        Random seed; each component draws from its own seed derived from it.
    start
        First hour (naive means UTC).
    hours
        Length of the history [hours]; 60 days by default.

    Returns
    -------
    pandas.DataFrame
        Canonical usage table (validated, sorted, shared hours and keys summed).
    """
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=7)
    production, corporate, analytics = "111111111111", "222222222222", "333333333333"
    parts = [
        steady_daily_cycle(
            start=start, hours=hours, seed=int(seeds[0]), account_id=production, base_instances=24.0
        ),
        growth(
            start=start,
            hours=hours,
            seed=int(seeds[1]),
            account_id=production,
            region="us-east-1",
            base_instances=6.0,
            growth_instances_per_day=0.25,
        ),
        family_migration(
            start=start,
            hours=hours,
            seed=int(seeds[2]),
            account_id=production,
            region="us-west-2",
            ramp_start_hour=hours // 4,
            ramp_hours=hours // 3,
        ),
        spiky_batch(start=start, hours=hours, seed=int(seeds[3]), account_id=production),
        business_hours(
            start=start, hours=hours, seed=int(seeds[4]), account_id=corporate, utc_offset_hours=1
        ),
        decline(
            start=start,
            hours=hours,
            seed=int(seeds[5]),
            account_id=corporate,
            base_instances=16.0,
            decline_instances_per_day=0.2,
        ),
        multi_region_mixed_platforms(
            start=start, hours=hours, seed=int(seeds[6]), account_id=analytics
        ),
    ]
    return _combine(parts, "demo_usage")


# --------------------------------------------------------------------------- decisions under change
# The archetypes of the decisions benchmark (issue 16): usage whose future differs from its past.


def _key_frame(
    fleets: Sequence[tuple[str, str]],
    *,
    account_id: str,
    platform: str,
    tenancy: str,
) -> pd.DataFrame:
    """Keys (one per ``(region, instance_type)`` fleet) sharing an account, platform, tenancy."""
    return pd.DataFrame(
        {
            "account_id": account_id,
            "region": [region for region, _ in fleets],
            "instance_type": [instance_type for _, instance_type in fleets],
            "platform": platform,
            "tenancy": tenancy,
        }
    )


def _matrix_table(
    index: pd.DatetimeIndex, quantity: FloatArray, keys: pd.DataFrame, source: str
) -> pd.DataFrame:
    """An hours × keys matrix of quantities as a canonical table, zero hours dropped."""
    hour_index, key_index = np.nonzero(quantity)
    frame = pd.DataFrame(
        {
            "hour": index[hour_index],
            **{
                column: keys[column].to_numpy(dtype=object)[key_index]
                for column in ("account_id", "region", "instance_type", "platform", "tenancy")
            },
            "quantity": quantity[hour_index, key_index],
        }
    )
    if frame.empty:
        return empty_usage_table()
    return validate_usage_table(frame.astype(USAGE_SCHEMA), source=source, aggregate=True)


def _daily_cycle(
    index: pd.DatetimeIndex, amplitude_share: float, peak_hour_utc: int = 15
) -> FloatArray:
    """``1 + amplitude × cos(2π (hour − peak) / 24)`` per hour, as an hours × 1 column [1]."""
    hour_of_day = index.hour.to_numpy()[:, None]
    return 1.0 + amplitude_share * np.cos(2 * np.pi * (hour_of_day - peak_hour_utc) / 24)


def _elapsed_months(index: pd.DatetimeIndex) -> FloatArray:
    """Months since the first hour, as an hours × 1 column [months of 730 h]."""
    return (np.arange(len(index), dtype=np.float64) / HOURS_PER_MONTH)[:, None]


STEP_LAUNCH_FLEETS: Final = (
    ("us-east-1", "m4.large"),
    ("us-east-1", "c5.xlarge"),
    ("us-west-2", "m4.xlarge"),
    ("eu-west-1", "r4.large"),
    ("us-east-1", "r4.xlarge"),
    ("us-west-2", "c5.large"),
    ("eu-west-1", "m4.large"),
    ("eu-west-1", "c5.2xlarge"),
    ("us-east-1", "c4.2xlarge"),
    ("us-west-2", "r4.large"),
    ("us-east-1", "m4.2xlarge"),
    ("us-west-2", "t2.large"),
    ("eu-west-1", "c4.xlarge"),
    ("us-east-1", "i3.large"),
)
"""Fleets of :func:`step_launches`: the first ``initial_fleets`` run from the start."""


def step_launches(
    *,
    start: str | pd.Timestamp = DEFAULT_START,
    hours: int = DEFAULT_HOURS,
    fleets: Sequence[tuple[str, str]] = STEP_LAUNCH_FLEETS,
    initial_fleets: int = 4,
    mean_fleet_instances: float = 10.0,
    organic_growth_pct_per_month: float = 3.0,
    growth_stop_hour: float | None = None,
    daily_amplitude_share: float = 0.15,
    noise_instances: float = 1.0,
    seed: int = 0,
    account_id: str = DEFAULT_ACCOUNT,
    platform: str = "Linux/UNIX",
    tenancy: str = "Shared",
) -> pd.DataFrame:
    """Growth by discrete launches of new fleets, each then growing organically.

    The first ``initial_fleets`` fleets run from the first hour; each other fleet is launched at
    once (a step from zero to its full size) at a random hour between 10 % and 90 % of the
    history. From its launch (or the start), a fleet grows by ``organic_growth_pct_per_month``
    compounded monthly, with a daily cycle and noise.

    Parameters
    ----------
    start
        First hour (naive means UTC).
    hours
        Length of the history [hours].
    fleets
        ``(region, instance_type)`` of each fleet, one key each.
    initial_fleets
        Fleets running from the first hour [fleets].
    mean_fleet_instances
        Mean size of a fleet at its launch; sizes are uniform in ±50 % of it [instances].
    organic_growth_pct_per_month
        Compounded growth of every running fleet [%/month of 730 h].
    growth_stop_hour
        Hour from which the organic growth stops: every fleet holds the level it had reached
        (``None``: it goes on) [hours from ``start``]. The draws do not change with it.
    daily_amplitude_share
        Half the daily swing as a share of the fleet's level [1].
    noise_instances
        Standard deviation of the hourly noise [instances].
    seed
        Random seed.
    account_id, platform, tenancy
        Shared by every key.

    Returns
    -------
    pandas.DataFrame
        Canonical usage table, whole instances per hour.
    """
    index = _hours(start, hours)
    rng = np.random.default_rng(seed)
    count = len(fleets)
    initial = min(max(initial_fleets, 0), count)
    launch_hour = np.zeros(count, dtype=np.float64)
    launch_hour[initial:] = np.sort(np.floor(rng.uniform(0.1, 0.9, count - initial) * hours))
    size = mean_fleet_instances * rng.uniform(0.5, 1.5, size=count)
    since_launch_months = _elapsed_months(index) - launch_hour[None, :] / HOURS_PER_MONTH
    growing_months = since_launch_months
    if growth_stop_hour is not None:
        stopped_months = (growth_stop_hour - launch_hour[None, :]) / HOURS_PER_MONTH
        growing_months = np.minimum(since_launch_months, stopped_months)
    growth_factor = (1.0 + organic_growth_pct_per_month / 100.0) ** np.maximum(growing_months, 0.0)
    level = size[None, :] * growth_factor * _daily_cycle(index, daily_amplitude_share)
    quantity = np.where(
        since_launch_months >= 0, _running_instances(level, rng, noise_instances), 0.0
    )
    keys = _key_frame(fleets, account_id=account_id, platform=platform, tenancy=tenancy)
    return _matrix_table(index, quantity, keys, "step_launches")


UNANNOUNCED_STEADY_FLEETS: Final = (
    ("us-east-1", "m4.large"),
    ("us-east-1", "r4.large"),
    ("us-east-1", "c4.xlarge"),
    ("eu-west-1", "m4.large"),
    ("eu-west-1", "r4.xlarge"),
    ("us-west-2", "t2.medium"),
)
"""Fleets of :func:`unannounced_migration` that do not move."""


def unannounced_migration(
    *,
    start: str | pd.Timestamp = DEFAULT_START,
    hours: int = DEFAULT_HOURS,
    ramp_start_hour: int = 24 * 7,
    ramp_hours: int = 24 * 7,
    second_ramp_delay_hours: int = 24 * 3,
    steady_fleets: Sequence[tuple[str, str]] = UNANNOUNCED_STEADY_FLEETS,
    mean_steady_instances: float = 10.0,
    seed: int = 0,
    account_id: str = DEFAULT_ACCOUNT,
    platform: str = "Linux/UNIX",
    tenancy: str = "Shared",
) -> pd.DataFrame:
    """Two m4 fleets move to c5 without notice, beside steady fleets that stay.

    The us-east-1 ``m4.xlarge`` fleet (24 instances) moves to ``c5.xlarge`` from
    ``ramp_start_hour``, and the us-west-2 ``m4.2xlarge`` fleet (12 instances) to ``c5.2xlarge``
    ``second_ramp_delay_hours`` later, both by :func:`family_migration` (normalized units kept)
    over ``ramp_hours``. Before the first ramp nothing in the usage announces the move.

    Parameters
    ----------
    start
        First hour (naive means UTC).
    hours
        Length of the history [hours].
    ramp_start_hour
        Hours after ``start`` at which the first migration begins [hours].
    ramp_hours
        Duration of each migration [hours].
    second_ramp_delay_hours
        Hours between the starts of the two migrations [hours].
    steady_fleets
        ``(region, instance_type)`` of the fleets that stay, each a steady daily cycle.
    mean_steady_instances
        Mean size of a steady fleet; sizes are uniform in ±50 % of it [instances].
    seed
        Random seed; each part draws from its own seed derived from it.
    account_id, platform, tenancy
        Shared by every key.
    """
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=3 + len(steady_fleets))
    sizes = mean_steady_instances * np.random.default_rng(int(seeds[2])).uniform(
        0.5, 1.5, size=len(steady_fleets)
    )
    parts = [
        family_migration(
            start=start,
            hours=hours,
            base_instances=24.0,
            from_instance_type="m4.xlarge",
            to_instance_type="c5.xlarge",
            ramp_start_hour=ramp_start_hour,
            ramp_hours=ramp_hours,
            seed=int(seeds[0]),
            region="us-east-1",
            account_id=account_id,
            platform=platform,
            tenancy=tenancy,
        ),
        family_migration(
            start=start,
            hours=hours,
            base_instances=12.0,
            from_instance_type="m4.2xlarge",
            to_instance_type="c5.2xlarge",
            ramp_start_hour=ramp_start_hour + second_ramp_delay_hours,
            ramp_hours=ramp_hours,
            daily_amplitude_instances=2.0,
            seed=int(seeds[1]),
            region="us-west-2",
            account_id=account_id,
            platform=platform,
            tenancy=tenancy,
        ),
        *(
            steady_daily_cycle(
                start=start,
                hours=hours,
                base_instances=float(size),
                daily_amplitude_instances=0.2 * float(size),
                seed=int(fleet_seed),
                region=region,
                instance_type=instance_type,
                account_id=account_id,
                platform=platform,
                tenancy=tenancy,
            )
            for (region, instance_type), size, fleet_seed in zip(
                steady_fleets, sizes, seeds[3:], strict=True
            )
        ),
    ]
    return _combine(parts, "unannounced_migration")


RETIREMENT_REGIONS: Final = ("us-east-1", "us-west-2", "eu-west-1")
RETIREMENT_INSTANCE_TYPES: Final = (
    "m4.large",
    "m4.xlarge",
    "c4.large",
    "c4.xlarge",
    "c5.large",
    "r4.large",
    "r4.xlarge",
    "t2.medium",
)


def decline_with_retirements(
    *,
    start: str | pd.Timestamp = DEFAULT_START,
    hours: int = DEFAULT_HOURS,
    series: int = 20,
    decline_pct_per_month: float = 2.0,
    retired_share: float = 0.4,
    first_retirement_hour: int = 0,
    last_retirement_margin_hours: int = 24 * 7,
    mean_instances: float = 12.0,
    daily_amplitude_share: float = 0.15,
    noise_instances: float = 0.5,
    seed: int = 0,
    account_id: str = DEFAULT_ACCOUNT,
    platform: str = "Linux/UNIX",
    tenancy: str = "Shared",
) -> pd.DataFrame:
    """Fleets shrinking by a share a month, some retired (to zero for good) at random dates.

    Every key declines by ``decline_pct_per_month`` compounded monthly; ``retired_share`` of the
    keys (rounded) stop for good at an hour drawn uniformly from ``[first_retirement_hour,
    hours − last_retirement_margin_hours)``. A running key never drops below one instance.

    Parameters
    ----------
    start
        First hour (naive means UTC).
    hours
        Length of the history [hours].
    series
        Number of keys (distinct region × instance type, at most 24) [keys].
    decline_pct_per_month
        Compounded decline of every key [%/month of 730 h].
    retired_share
        Share of the keys retired [1].
    first_retirement_hour, last_retirement_margin_hours
        Retirements fall in ``[first_retirement_hour, hours − margin)`` [hours].
    mean_instances
        Mean starting size of a key; sizes are uniform in ±50 % of it [instances].
    daily_amplitude_share
        Half the daily swing as a share of the key's level [1].
    noise_instances
        Standard deviation of the hourly noise [instances].
    seed
        Random seed.
    account_id, platform, tenancy
        Shared by every key.
    """
    index = _hours(start, hours)
    rng = np.random.default_rng(seed)
    combinations = [(r, t) for r in RETIREMENT_REGIONS for t in RETIREMENT_INSTANCE_TYPES]
    count = min(series, len(combinations))
    chosen = rng.choice(len(combinations), size=count, replace=False)
    fleets = [combinations[int(i)] for i in chosen]
    size = mean_instances * rng.uniform(0.5, 1.5, size=count)
    retired = rng.choice(count, size=round(retired_share * count), replace=False)
    last = max(hours - last_retirement_margin_hours, first_retirement_hour + 1)
    stop_hour = np.full(count, np.inf)
    stop_hour[retired] = np.floor(rng.uniform(first_retirement_hour, last, size=len(retired)))
    decay = (1.0 - decline_pct_per_month / 100.0) ** _elapsed_months(index)
    level = size[None, :] * decay * _daily_cycle(index, daily_amplitude_share)
    running_instances = _running_instances(level, rng, noise_instances)
    running = np.arange(len(index))[:, None] < stop_hour[None, :]
    quantity = np.where(running, running_instances, 0.0)
    keys = _key_frame(fleets, account_id=account_id, platform=platform, tenancy=tenancy)
    return _matrix_table(index, quantity, keys, "decline_with_retirements")


STOPPED_WORKLOAD_FLEETS: Final = (
    ("us-east-1", "m4.xlarge", 14.0),
    ("us-east-1", "m4.large", 20.0),
    ("us-east-1", "c4.xlarge", 8.0),
    ("us-east-1", "r4.large", 6.0),
    ("eu-west-1", "m4.large", 10.0),
    ("eu-west-1", "c5.large", 6.0),
    ("us-west-2", "t2.medium", 12.0),
    ("us-west-2", "c4.2xlarge", 4.0),
)
"""``(region, instance_type, instances)`` of :func:`stopped_workload`; the first one stops."""


def stopped_workload(
    *,
    start: str | pd.Timestamp = DEFAULT_START,
    hours: int = DEFAULT_HOURS,
    stop_hour: int = DEFAULT_HOURS // 2,
    fleets: Sequence[tuple[str, str, float]] = STOPPED_WORKLOAD_FLEETS,
    daily_amplitude_share: float = 0.2,
    noise_instances: float = 0.7,
    seed: int = 0,
    account_id: str = DEFAULT_ACCOUNT,
    platform: str = "Linux/UNIX",
    tenancy: str = "Shared",
) -> pd.DataFrame:
    """Several steady fleets; the first stops for good at ``stop_hour``.

    Every fleet runs a daily cycle with noise, at least one instance while it runs; the first
    fleet of ``fleets`` runs nothing from ``stop_hour`` on (a workload switched off, as the
    workshop account's m4.xlarge fleet on 20 November 2018).

    Parameters
    ----------
    start
        First hour (naive means UTC).
    hours
        Length of the history [hours].
    stop_hour
        Hours after ``start`` from which the first fleet runs nothing [hours].
    fleets
        ``(region, instance_type, mean instances)`` of each fleet.
    daily_amplitude_share
        Half the daily swing as a share of the fleet's size [1].
    noise_instances
        Standard deviation of the hourly noise [instances].
    seed
        Random seed.
    account_id, platform, tenancy
        Shared by every key.
    """
    index = _hours(start, hours)
    rng = np.random.default_rng(seed)
    size = np.array([instances for _, _, instances in fleets], dtype=np.float64)
    level = size[None, :] * _daily_cycle(index, daily_amplitude_share)
    quantity = _running_instances(level, rng, noise_instances)
    quantity[max(stop_hour, 0) :, 0] = 0.0
    keys = _key_frame(
        [(region, instance_type) for region, instance_type, _ in fleets],
        account_id=account_id,
        platform=platform,
        tenancy=tenancy,
    )
    return _matrix_table(index, quantity, keys, "stopped_workload")


WEEKLY_ESTATE_FLEETS: Final = (
    ("us-east-1", "m4.large", 30.0),
    ("us-west-2", "c5.xlarge", 14.0),
    ("eu-west-1", "r4.large", 8.0),
)
"""``(region, instance_type, weekday instances)`` of :func:`weekly_estate`'s fleets."""


def weekly_estate(
    *,
    start: str | pd.Timestamp = DEFAULT_START,
    hours: int = DEFAULT_HOURS,
    fleets: Sequence[tuple[str, str, float]] = WEEKLY_ESTATE_FLEETS,
    weekend_share: float = 0.65,
    daily_amplitude_share: float = 0.2,
    noise_instances: float = 1.0,
    seed: int = 0,
    account_id: str = DEFAULT_ACCOUNT,
    platform: str = "Linux/UNIX",
    tenancy: str = "Shared",
) -> pd.DataFrame:
    """A steady estate of a few fleets, each in its own region and family, with a weekly season.

    Each fleet runs its weekday size on Monday to Friday and ``weekend_share`` of it on Saturday
    and Sunday (UTC), with a daily cycle and noise, and nothing changes over the history: the
    usage a commitment fits best, spread over few fleets so that each is a large share of the
    bill.

    Parameters
    ----------
    start
        First hour (naive means UTC).
    hours
        Length of the history [hours].
    fleets
        ``(region, instance_type, weekday instances)`` of each fleet.
    weekend_share
        Weekend level as a share of the weekday level [1].
    daily_amplitude_share
        Half the daily swing as a share of the day's level [1].
    noise_instances
        Standard deviation of the hourly noise [instances].
    seed
        Random seed.
    account_id, platform, tenancy
        Shared by every key.
    """
    index = _hours(start, hours)
    weekend = index.day_of_week.to_numpy() >= 5
    return _fleets_by_hour(
        index,
        fleets,
        np.where(weekend, weekend_share, 1.0),
        daily_amplitude_share=daily_amplitude_share,
        peak_hour_utc=15,
        noise_instances=noise_instances,
        seed=seed,
        keys=(account_id, platform, tenancy),
        source="weekly_estate",
    )


def _fleets_by_hour(
    index: pd.DatetimeIndex,
    fleets: Sequence[tuple[str, str, float]],
    factor: FloatArray,
    *,
    daily_amplitude_share: float,
    peak_hour_utc: int,
    noise_instances: float,
    seed: int,
    keys: tuple[str, str, str],
    source: str,
) -> pd.DataFrame:
    """Fleets at their base × ``factor`` (one per hour) × a daily cycle, with noise.

    ``fleets`` are ``(region, instance_type, base instances)``; ``keys`` the account, platform
    and tenancy every key shares; ``source`` the table's source label.
    """
    rng = np.random.default_rng(seed)
    base = np.array([instances for _, _, instances in fleets], dtype=np.float64)
    cycle = _daily_cycle(index, daily_amplitude_share, peak_hour_utc)
    quantity = _running_instances(base[None, :] * factor[:, None] * cycle, rng, noise_instances)
    account_id, platform, tenancy = keys
    frame = _key_frame(
        [(region, instance_type) for region, instance_type, _ in fleets],
        account_id=account_id,
        platform=platform,
        tenancy=tenancy,
    )
    return _matrix_table(index, quantity, frame, source)


LOAD_TEST_FLEETS: Final = (
    ("us-east-1", "m4.large", 20.0),
    ("us-east-1", "c5.xlarge", 10.0),
    ("eu-west-1", "r4.large", 8.0),
    ("us-west-2", "t2.medium", 12.0),
)
"""``(region, instance_type, mean instances)`` of :func:`load_test_burst`'s steady fleets."""


def load_test_burst(
    *,
    start: str | pd.Timestamp = DEFAULT_START,
    hours: int = DEFAULT_HOURS,
    burst_start_hour: int = DEFAULT_HOURS // 2,
    burst_hours: int = 8 * 24,
    burst_key: tuple[str, str] = ("us-east-1", "c5.4xlarge"),
    burst_instances: float = 20.0,
    fleets: Sequence[tuple[str, str, float]] = LOAD_TEST_FLEETS,
    daily_amplitude_share: float = 0.15,
    noise_instances: float = 0.7,
    seed: int = 0,
    account_id: str = DEFAULT_ACCOUNT,
    platform: str = "Linux/UNIX",
    tenancy: str = "Shared",
) -> pd.DataFrame:
    """Steady fleets, and a load test: one more key runs ``burst_instances`` for
    ``burst_hours`` from ``burst_start_hour``, and never before or after.

    Parameters
    ----------
    start
        First hour (naive means UTC).
    hours
        Length of the history [hours].
    burst_start_hour
        Hours after ``start`` at which the load test starts [hours].
    burst_hours
        How long it runs [hours].
    burst_key
        ``(region, instance_type)`` of the load test.
    burst_instances
        Its size, flat but for the noise, at least one instance while it runs [instances].
    fleets
        ``(region, instance_type, mean instances)`` of each steady fleet (a daily cycle and
        noise, at least one instance).
    daily_amplitude_share
        Half the daily swing as a share of a steady fleet's size [1].
    noise_instances
        Standard deviation of the hourly noise [instances].
    seed
        Random seed.
    account_id, platform, tenancy
        Shared by every key.
    """
    index = _hours(start, hours)
    rng = np.random.default_rng(seed)
    size = np.array([instances for _, _, instances in fleets], dtype=np.float64)
    level = np.hstack(
        [
            size[None, :] * _daily_cycle(index, daily_amplitude_share),
            np.full((len(index), 1), burst_instances),
        ]
    )
    quantity = _running_instances(level, rng, noise_instances)
    hour = np.arange(len(index))
    running = (hour >= burst_start_hour) & (hour < burst_start_hour + burst_hours)
    quantity[~running, -1] = 0.0
    keys = _key_frame(
        [(region, instance_type) for region, instance_type, _ in fleets] + [burst_key],
        account_id=account_id,
        platform=platform,
        tenancy=tenancy,
    )
    return _matrix_table(index, quantity, keys, "load_test_burst")


RETAILER_FLEETS: Final = (
    ("us-east-1", "m4.large", 24.0),
    ("us-west-2", "m4.large", 12.0),
    ("eu-west-1", "m4.large", 10.0),
    ("us-east-1", "c5.xlarge", 12.0),
    ("us-west-2", "c5.xlarge", 6.0),
    ("eu-west-1", "c5.xlarge", 6.0),
    ("us-east-1", "r4.large", 6.0),
    ("eu-west-1", "r4.large", 4.0),
    ("us-east-1", "m4.xlarge", 8.0),
    ("eu-west-1", "m4.xlarge", 4.0),
    ("us-east-1", "c4.2xlarge", 4.0),
    ("us-east-1", "i3.large", 3.0),
)
"""``(region, instance_type, base instances)`` of :func:`seasonal_retailer`."""

SEASON_DAYS: Final = (1.0, 15.0, 274.0, 320.0, 367.0)
"""Days of the year (1 = 1 January) at which the retail season's ramp turns: the December peak
ends by 15 January, the ramp starts on 1 October and reaches the peak on 16 November (a day later
in leap years)."""

SEASON_SHARE: Final = (1.0, 0.0, 0.0, 1.0, 1.0)
"""Share of the peak's extra level at each of :data:`SEASON_DAYS` [1]."""


def retail_season_factor(index: pd.DatetimeIndex, peak_factor: float) -> FloatArray:
    """The retailer's level per hour: 1 most of the year, ``peak_factor`` at the Q4 peak [1].

    Linear between :data:`SEASON_DAYS` (day of the year plus the hour's fraction of a day).
    """
    day = index.day_of_year.to_numpy() + index.hour.to_numpy() / 24.0
    return 1.0 + (peak_factor - 1.0) * np.interp(day, SEASON_DAYS, SEASON_SHARE)


def seasonal_retailer(
    *,
    start: str | pd.Timestamp = DEFAULT_START,
    hours: int = DEFAULT_HOURS,
    fleets: Sequence[tuple[str, str, float]] = RETAILER_FLEETS,
    peak_factor: float = 2.0,
    weekend_uplift_share: float = 0.2,
    daily_amplitude_share: float = 0.3,
    peak_hour_utc: int = 20,
    noise_instances: float = 1.0,
    seed: int = 0,
    account_id: str = DEFAULT_ACCOUNT,
    platform: str = "Linux/UNIX",
    tenancy: str = "Shared",
) -> pd.DataFrame:
    """A retailer: a Q4 peak of about ``peak_factor`` × the base with a ramp, weekly seasonality.

    Each fleet's level is its base × :func:`retail_season_factor` (ramp from 1 October to 16
    November, peak to the end of December, back by 15 January) × ``1 + weekend_uplift_share``
    on Saturdays and Sundays (UTC) × a daily cycle peaking at ``peak_hour_utc``, plus noise.

    Parameters
    ----------
    start
        First hour (naive means UTC).
    hours
        Length of the history [hours].
    fleets
        ``(region, instance_type, base instances)`` of each fleet.
    peak_factor
        Level at the Q4 peak relative to the rest of the year [1].
    weekend_uplift_share
        Extra level on weekends [1].
    daily_amplitude_share, peak_hour_utc
        Half the daily swing as a share of the level [1], and the hour it peaks (UTC) [h].
    noise_instances
        Standard deviation of the hourly noise [instances].
    seed
        Random seed.
    account_id, platform, tenancy
        Shared by every key.
    """
    index = _hours(start, hours)
    weekend = index.day_of_week.to_numpy() >= 5
    factor = retail_season_factor(index, peak_factor) * (1.0 + weekend_uplift_share * weekend)
    return _fleets_by_hour(
        index,
        fleets,
        factor,
        daily_amplitude_share=daily_amplitude_share,
        peak_hour_utc=peak_hour_utc,
        noise_instances=noise_instances,
        seed=seed,
        keys=(account_id, platform, tenancy),
        source="seasonal_retailer",
    )


RIGHT_SIZING_OTHER_FLEETS: Final = (
    ("us-east-1", "m4.large", 16.0),
    ("us-east-1", "c4.xlarge", 8.0),
    ("us-east-1", "r4.xlarge", 6.0),
    ("us-west-2", "m4.xlarge", 10.0),
    ("us-west-2", "c4.large", 12.0),
    ("us-west-2", "r4.large", 5.0),
    ("eu-west-1", "m4.large", 8.0),
)
"""``(region, instance_type, instances)`` of :func:`right_sizing`'s fleets that keep their size."""


def right_sizing(
    *,
    start: str | pd.Timestamp = DEFAULT_START,
    hours: int = DEFAULT_HOURS,
    from_instance_type: str = "m4.2xlarge",
    to_instance_type: str = "m4.xlarge",
    resized_instances: float = 20.0,
    resize_start_hour: int = 24 * 7,
    resize_hours: int = 24 * 7,
    region: str = "us-east-1",
    other_fleets: Sequence[tuple[str, str, float]] = RIGHT_SIZING_OTHER_FLEETS,
    daily_amplitude_share: float = 0.15,
    noise_instances: float = 0.7,
    seed: int = 0,
    account_id: str = DEFAULT_ACCOUNT,
    platform: str = "Linux/UNIX",
    tenancy: str = "Shared",
) -> pd.DataFrame:
    """A fleet replaced one for one by a smaller size of its family, beside fleets that stay.

    Each hour, a share of the fleet's instances (0 before ``resize_start_hour``, rising linearly to
    1 over ``resize_hours``, in whole instances) runs as ``to_instance_type`` instead of
    ``from_instance_type``: the same count, so ``m4.2xlarge`` (16 units) → ``m4.xlarge`` (8 units)
    halves the fleet's normalized units. (The embedded 2017 catalog has no m5, so the default
    right-sizes within m4.)

    Parameters
    ----------
    start
        First hour (naive means UTC).
    hours
        Length of the history [hours].
    from_instance_type, to_instance_type
        The size before and after, same family.
    resized_instances
        Mean instances of the resized fleet [instances].
    resize_start_hour, resize_hours
        When the replacement begins and how long it takes [hours].
    region
        Region of the resized fleet.
    other_fleets
        ``(region, instance_type, mean instances)`` of the fleets that keep their size.
    daily_amplitude_share
        Half the daily swing as a share of each fleet's size [1].
    noise_instances
        Standard deviation of the hourly noise [instances].
    seed
        Random seed.
    account_id, platform, tenancy
        Shared by every key.
    """
    index = _hours(start, hours)
    rng = np.random.default_rng(seed)
    size = np.array(
        [resized_instances, *(instances for _, _, instances in other_fleets)], dtype=np.float64
    )
    level = size[None, :] * _daily_cycle(index, daily_amplitude_share)
    fleet = _running_instances(level, rng, noise_instances)
    elapsed = np.arange(len(index), dtype=np.float64) - resize_start_hour
    moved = np.rint(np.clip(elapsed / max(resize_hours, 1), 0.0, 1.0) * fleet[:, 0])
    quantity = np.column_stack([fleet[:, 0] - moved, moved, fleet[:, 1:]])
    keys = _key_frame(
        [
            (region, from_instance_type),
            (region, to_instance_type),
            *((r, t) for r, t, _ in other_fleets),
        ],
        account_id=account_id,
        platform=platform,
        tenancy=tenancy,
    )
    return _matrix_table(index, quantity, keys, "right_sizing")


MULTI_ACCOUNT_ESTATE: Final = (
    ("111111111111", ("us-east-1", "us-west-2"), ("Linux/UNIX",),
     ("m4.large", "m4.xlarge", "c5.xlarge", "c5.2xlarge"), 8, 12.0),
    ("222222222222", ("eu-west-1",), ("Linux/UNIX", "Windows"),
     ("c4.large", "c4.xlarge", "r4.large", "t2.medium"), 6, 6.0),
    ("333333333333", ("ap-northeast-1", "ap-southeast-2"),
     ("Linux/UNIX", "Red Hat Enterprise Linux"), ("r4.xlarge", "r4.2xlarge", "i3.xlarge"), 6, 4.0),
    ("444444444444", ("us-east-1", "eu-west-1"), ("Linux/UNIX", "SUSE Linux"),
     ("t2.large", "m4.2xlarge", "c4.2xlarge"), 6, 5.0),
)  # fmt: skip
"""Per account of :func:`multi_account`: account, regions, platforms, instance types, keys, mean
instances."""


def multi_account(
    *,
    start: str | pd.Timestamp = DEFAULT_START,
    hours: int = DEFAULT_HOURS,
    seed: int = 0,
    tenancy: str = "Shared",
) -> pd.DataFrame:
    """An organization of four accounts, each with its own families, regions and platforms.

    Each account of :data:`MULTI_ACCOUNT_ESTATE` is a :func:`multi_region_mixed_platforms` over
    its own vocabulary (26 keys in all), from its own seed derived from ``seed``.

    Parameters
    ----------
    start
        First hour (naive means UTC).
    hours
        Length of the history [hours].
    seed
        Random seed.
    tenancy
        Shared by every key.
    """
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=len(MULTI_ACCOUNT_ESTATE))
    parts = [
        multi_region_mixed_platforms(
            start=start,
            hours=hours,
            regions=regions,
            platforms=platforms,
            instance_types=instance_types,
            series=series,
            mean_instances=mean_instances,
            seed=int(account_seed),
            account_id=account,
            tenancy=tenancy,
        )
        for (
            account,
            regions,
            platforms,
            instance_types,
            series,
            mean_instances,
        ), account_seed in zip(MULTI_ACCOUNT_ESTATE, seeds, strict=True)
    ]
    return _combine(parts, "multi_account")


AZURE_SHAPE_FILE: Final = "azure2017_hourly_shape.csv"
"""The hourly shape derived from the Azure 2017 VM trace (``usage/data/``, licence in ``NOTICE``
beside it; built once by ``scripts/build_azure_shape.py``)."""

AZURE_SIZE_CLASSES: Final = ("small", "medium", "large")
"""Size classes of the Azure shape: ≤ 2, 4 and ≥ 8 vCPU."""

AZURE_CLASS_INSTANCE_TYPES: Final = (
    ("m4.large", "c5.large", "t2.large"),
    ("m4.xlarge", "c4.xlarge", "r4.xlarge"),
    ("m4.2xlarge", "c5.2xlarge", "r4.2xlarge"),
)
"""EC2 types of each of :data:`AZURE_SIZE_CLASSES` (2, 4 and 8 vCPU)."""

AZURE_REGIONS: Final = ("us-east-1", "us-west-2", "eu-west-1")


def azure_hourly_shape() -> pd.DataFrame:
    """The stored Azure 2017 shape: ``trace_hour``, ``hour_of_day``, ``<class>_vms`` per hour."""
    source = resources.files("usage").joinpath("data", AZURE_SHAPE_FILE)
    with resources.as_file(source) as path:
        return pd.read_csv(path)


def azure_daily_shapes() -> FloatArray:
    """The trace's whole days per size class, each divided by its mean: (days × 24) × classes [1].

    Row ``d × 24 + h`` is hour ``h`` (UTC) of the trace's ``d``-th whole day.
    """
    shape = azure_hourly_shape()
    first = int(np.flatnonzero(shape["hour_of_day"].to_numpy() == 0)[0])
    days = (len(shape) - first) // 24
    values = shape[[f"{name}_vms" for name in AZURE_SIZE_CLASSES]].to_numpy(dtype=np.float64)
    whole_days = values[first : first + days * 24]
    return whole_days / whole_days.mean(axis=0)


def azure_trace_shape(
    *,
    start: str | pd.Timestamp = DEFAULT_START,
    hours: int = DEFAULT_HOURS,
    series: int = 18,
    mean_instances: float = 10.0,
    noise_instances: float = 0.5,
    seed: int = 0,
    account_id: str = DEFAULT_ACCOUNT,
    platform: str = "Linux/UNIX",
    tenancy: str = "Shared",
) -> pd.DataFrame:
    """Keys shaped like the Azure 2017 VM trace's running VMs, its whole days repeated.

    Each key is one size class of the trace (:data:`AZURE_SIZE_CLASSES`) run as an EC2 type of
    that size (:data:`AZURE_CLASS_INSTANCE_TYPES`) in one of :data:`AZURE_REGIONS`. Its level
    at an hour is its base × the class's value at that hour of day of trace day ``(days since
    1970) mod (whole days of the trace)`` (:func:`azure_daily_shapes`), plus noise: the trace's
    daily shape and day-to-day variation, tiled over any length.

    Parameters
    ----------
    start
        First hour (naive means UTC).
    hours
        Length of the history [hours].
    series
        Number of keys (distinct class × type × region, at most 27) [keys].
    mean_instances
        Mean of each key's base, drawn from an exponential distribution above 2 [instances].
    noise_instances
        Standard deviation of the hourly noise [instances].
    seed
        Random seed.
    account_id, platform, tenancy
        Shared by every key.
    """
    index = _hours(start, hours)
    rng = np.random.default_rng(seed)
    shapes = azure_daily_shapes()
    days = len(shapes) // 24
    combinations = [
        (class_index, region, instance_type)
        for class_index, types in enumerate(AZURE_CLASS_INSTANCE_TYPES)
        for instance_type in types
        for region in AZURE_REGIONS
    ]
    count = min(series, len(combinations))
    chosen = [combinations[int(i)] for i in rng.choice(len(combinations), count, replace=False)]
    base = 2.0 + rng.exponential(max(mean_instances - 2.0, 0.0), size=count)
    epoch_hour = (index.asi8 // 3_600_000_000_000).astype(np.int64)
    row = (epoch_hour // 24) % days * 24 + epoch_hour % 24
    level = shapes[row][:, [class_index for class_index, _, _ in chosen]] * base[None, :]
    quantity = _running_instances(level, rng, noise_instances)
    keys = _key_frame(
        [(region, instance_type) for _, region, instance_type in chosen],
        account_id=account_id,
        platform=platform,
        tenancy=tenancy,
    )
    return _matrix_table(index, quantity, keys, "azure_trace_shape")


def scaled_over(
    usage: pd.DataFrame, *, start: str | pd.Timestamp, hours: int | None = None, factor: float
) -> pd.DataFrame:
    """``usage`` with every key's quantity times ``factor`` (whole instances) over ``hours``
    hours from ``start`` (to the end when ``None``): 0 an outage or a holiday shutdown of the
    whole account, 1.5 every fleet grown by half and holding.

    Parameters
    ----------
    usage
        A canonical usage table.
    start
        First hour changed (naive means UTC).
    hours
        How many hours are changed [hours]; ``None``: every hour from ``start``.
    factor
        Multiple of each hour's quantity, rounded to whole instances [1].
    """
    first = pd.Timestamp(start)
    first = first.tz_localize("UTC") if first.tzinfo is None else first.tz_convert("UTC")
    changed = usage["hour"] >= first
    if hours is not None:
        changed &= usage["hour"] < first + pd.Timedelta(hours=hours)
    table = usage.copy()
    table.loc[changed, "quantity"] = np.round(table.loc[changed, "quantity"] * factor)
    return table.loc[table["quantity"] > 0].reset_index(drop=True)


__all__ = [
    "DEFAULT_HOURS",
    "DEFAULT_START",
    "azure_daily_shapes",
    "azure_hourly_shape",
    "azure_trace_shape",
    "business_hours",
    "decline",
    "decline_with_retirements",
    "demo_usage",
    "family_migration",
    "growth",
    "load_test_burst",
    "multi_account",
    "multi_region_mixed_platforms",
    "retail_season_factor",
    "right_sizing",
    "scaled_over",
    "seasonal_retailer",
    "spiky_batch",
    "steady_daily_cycle",
    "step_launches",
    "stopped_workload",
    "unannounced_migration",
]
