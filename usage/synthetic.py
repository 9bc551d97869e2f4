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
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.times import utc_hour
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


__all__ = [
    "DEFAULT_HOURS",
    "DEFAULT_START",
    "business_hours",
    "decline",
    "demo_usage",
    "family_migration",
    "growth",
    "multi_region_mixed_platforms",
    "spiky_batch",
    "steady_daily_cycle",
]
