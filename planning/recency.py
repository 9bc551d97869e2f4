"""Usage that has stopped: never commit for a workload that no longer runs.

A commitment is bought for the future, and the lookback stands for it. A key (account, region,
instance type, platform, tenancy) whose usage was zero over the most recent part of the lookback
has stopped: a fleet shut down, migrated or moved to another account. Its older usage would still
make the optimizer buy for it: an RI for a fleet stopped ten days before the end of a 30-day
lookback shows an "expected utilization" of two thirds and loses money from its first hour.

So the recommend pipeline drops the usage of such keys before it optimizes
(:func:`drop_stopped_usage`), bills the lookback with all of it (the figures stay the account's
real bill), and says which keys it left out and since when they have been idle.

"Recent" is the last :data:`STOPPED_AFTER_DAYS` days (a whole week, so that weekend and
business-hours workloads, idle for up to about 62 hours at a time, are not taken for stopped), and
at most a quarter of the lookback, so a short lookback still has older usage to compare with.

Usage that has *fallen* (:func:`key_levels`): a key whose mean over the same recent window is below
:data:`FALLEN_SHARE` of its mean over the rest of the lookback. The decision does not commit to its
old level, and recent weeks weigh more than old ones for every key
(:func:`recency_adjusted_usage`, the lookback as the decision sees it):

- a fallen key's older hours are scaled down so that their mean is the recent window's mean; its
  recent hours are left as they ran. The decision sees the key at its recent level with the
  hourly shape of each part (a fleet that fell from 10 to 3 instances is seen as 3 all along);
- every other key is scaled so that its mean is its recency-weighted mean (exponential weights
  with a half-life of :data:`RECENCY_HALF_LIFE_DAYS`, counted back from the lookback's last hour),
  unless that mean is within :data:`LEVEL_TOLERANCE` of the flat mean: a steady fleet (weekly
  seasonality, noise, a slow trend of a few % a month) is left exactly as it ran, so the weights
  never move its plan, and only a real change of level moves the decision.

A half-life of 0 turns the adjustment off: the decision sees the lookback as it ran (the old
behaviour), and fallen keys are only named. An infinite half-life weighs every hour alike but
still counts fallen keys at their recent level. The bill of a recommendation is always the real
lookback's; only the decision's input changes. :func:`annotate_explanations` then says, for each
purchase, which fallen keys (or keys whose recent level is well below what the decision assumed)
its usage includes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.errors import CommitoptInputError, param
from core.units import HOURS_PER_DAY
from planning.purchase_scope import key_text, keys_in_scope, listed_keys, scope_columns
from usage.table import KEY_COLUMNS, UsageMatrix, to_matrix

STOPPED_AFTER_DAYS: Final = 7.0
"""A key with no usage over this many days at the end of the lookback has stopped [days]."""

MAX_SHARE_OF_LOOKBACK: Final = 0.25
"""The recent window is at most this share of the lookback [1]."""

MAX_KEYS_NAMED: Final = 5
"""Stopped or fallen keys named one by one in the notices; the rest are counted."""

FALLEN_SHARE: Final = 0.5
"""A key whose recent mean is below this share of its older mean has fallen [1]."""

RECENCY_HALF_LIFE_DAYS: Final = 30.0
"""Default half-life of the recency weights [days]: an hour a month older weighs half as much,
so on the default 60-day lookback the last 30 days carry two thirds of the weight. A month is
one billing cycle: long enough that one odd week moves little, short enough that a level change
a few weeks old counts for most of the decision."""

LEVEL_TOLERANCE: Final = 0.05
"""A key whose recency-weighted mean is within this share of its flat mean is left as it ran
[1]: weekly seasonality and noise move the weighted mean by about 1-2 %, a 3 %/month trend by
1.5 % on a 90-day lookback, and a commitment is rounded to whole RIs anyway."""

WELL_BELOW_SHARE: Final = 0.75
"""An explanation names a key whose recent level is below this share of the level the decision
assumed for it [1]."""

_NS_PER_HOUR: Final = 3_600_000_000_000

MAX_KEYS_EXPLAINED: Final = 3
"""Keys named in one purchase's explanation; the rest are counted."""

LEVEL_COLUMNS: Final = (
    *KEY_COLUMNS,
    "flat_level",
    "recent_level",
    "older_level",
    "weighted_level",
    "decision_level",
    "fall_pct",
    "fallen",
    "stopped",
    "last_used",
    "older_factor",
    "recent_factor",
)
"""Columns of :func:`key_levels`."""


@dataclass(frozen=True, eq=False)
class StoppedUsage:
    """The lookback without the keys that stopped, and what was left out.

    Attributes
    ----------
    usage
        The lookback's usage without the stopped keys (a canonical table or a matrix, as given).
    stopped
        One row per stopped key: the key columns, ``last_used`` (the last hour with usage, UTC)
        and ``instance_hours`` (its usage in the lookback), longest idle first.
    recent_hours
        The recent window: a key with no usage in these last hours has stopped [h]; 0 when the
        check was off.
    end_hour
        The lookback's last hour (UTC); ``None`` for no usage.
    """

    usage: pd.DataFrame | UsageMatrix
    stopped: pd.DataFrame
    recent_hours: int
    end_hour: pd.Timestamp | None

    def notices(self) -> tuple[str, ...]:
        """One sentence per stopped key (the first :data:`MAX_KEYS_NAMED`), then a count."""
        if self.stopped.empty or self.end_hour is None:
            return ()
        end = self.end_hour
        named = self.stopped.head(MAX_KEYS_NAMED)
        idle_days = (end - pd.DatetimeIndex(named["last_used"])).total_seconds() / 3600 / 24
        lines = []
        for record, idle in zip(named.to_dict("records"), idle_days, strict=True):
            account = f"account {record['account_id']} " if record["account_id"] else ""
            key = " ".join(str(record[c]) for c in KEY_COLUMNS[1:])
            lines.append(
                f"{account}{key} has had no usage since "
                f"{pd.Timestamp(record['last_used']):%Y-%m-%d %H:00} UTC ({idle:.1f} days before "
                f"the lookback's end; {float(record['instance_hours']):,.0f} instance-hours "
                "before): nothing is bought for it, as for a workload that stopped"
            )
        left = len(self.stopped) - MAX_KEYS_NAMED
        if left > 0:
            lines.append(f"{left} more key(s) stopped the same way; nothing is bought for them")
        lines.append(
            f"keys idle for the last {self.recent_hours / HOURS_PER_DAY:g} days are left out of "
            f"the decision; set {param('stopped_after_days')} to 0 to count their older usage"
        )
        return tuple(lines)


def recent_window_hours(stopped_after_days: float, lookback_days: float) -> int:
    """The recent window [h]: ``stopped_after_days``, at most a quarter of the lookback; 0 = off."""
    if not np.isfinite(stopped_after_days) or stopped_after_days < 0:
        raise CommitoptInputError(
            f"{param('stopped_after_days')} must be 0 or more days, not {stopped_after_days:g}"
        )
    days = min(stopped_after_days, MAX_SHARE_OF_LOOKBACK * lookback_days)
    return round(days * HOURS_PER_DAY)


def drop_stopped_usage(
    usage: pd.DataFrame | UsageMatrix, stopped_after_days: float, lookback_days: float
) -> StoppedUsage:
    """Leave out the keys with no usage in the last hours of ``usage``.

    Parameters
    ----------
    usage
        The lookback's usage: a canonical table (one row per hour and key) or its matrix.
    stopped_after_days
        Idle days at the end of the lookback that make a key stopped; 0 turns the check off.
    lookback_days
        The lookback's length; the recent window is at most a quarter of it [days].

    Returns
    -------
    StoppedUsage
        The usage of the keys still running (of the type given), and the stopped keys.
    """
    recent_hours = recent_window_hours(stopped_after_days, lookback_days)
    if isinstance(usage, UsageMatrix):
        return _drop_stopped_keys(usage, recent_hours)
    if usage.empty:
        return StoppedUsage(usage, _no_stopped_keys(), recent_hours, None)
    # a table: the keys are found on its matrix, then their rows are left out
    found = _drop_stopped_keys(_canonical_matrix(usage), recent_hours)
    stopped = found.stopped
    if stopped.empty:
        return StoppedUsage(usage, stopped, recent_hours, found.end_hour)
    key_of_row = pd.MultiIndex.from_frame(usage[list(KEY_COLUMNS)].astype(str))
    stopped_keys = pd.MultiIndex.from_frame(stopped[list(KEY_COLUMNS)].astype(str))
    keep = ~key_of_row.isin(stopped_keys)
    kept = usage.loc[keep].reset_index(drop=True)
    kept.attrs = dict(usage.attrs)
    return StoppedUsage(kept, stopped, recent_hours, found.end_hour)


def _no_stopped_keys() -> pd.DataFrame:
    return pd.DataFrame(columns=[*KEY_COLUMNS, "last_used", "instance_hours"])


def _drop_stopped_keys(usage: UsageMatrix, recent_hours: int) -> StoppedUsage:
    """:func:`drop_stopped_usage` on a matrix: a key's columns, not its rows, are left out."""
    n_hours = len(usage.hours)
    end = pd.Timestamp(usage.hours[-1]) if n_hours else None
    if n_hours == 0 or recent_hours == 0 or len(usage.keys) == 0:
        return StoppedUsage(usage, _no_stopped_keys(), recent_hours, end)
    used = usage.quantity > 0
    ever_used = used.any(axis=0)
    last_index = n_hours - 1 - np.argmax(used[::-1], axis=0)
    is_stopped = ever_used & (last_index < n_hours - recent_hours)
    if not is_stopped.any():
        return StoppedUsage(usage, _no_stopped_keys(), recent_hours, end)
    stopped = usage.keys.loc[is_stopped].reset_index(drop=True)
    stopped["last_used"] = usage.hours[last_index[is_stopped]]
    stopped["instance_hours"] = usage.quantity[:, is_stopped].sum(axis=0)
    stopped = stopped.sort_values(
        ["last_used", "instance_hours"], ascending=[True, False], kind="stable"
    )
    return StoppedUsage(
        usage.select_keys(~is_stopped), stopped.reset_index(drop=True), recent_hours, end
    )


def recency_weights(n_hours: int, half_life_days: float) -> npt.NDArray[np.float64]:
    """Weight of each hour of a lookback of ``n_hours``, oldest first [1].

    The last hour weighs 1 and an hour ``a`` hours older weighs ``2 ** (-a / (24 ×
    half_life_days))``; a half-life of 0 (off) or infinity weighs every hour 1.
    """
    _check_half_life(half_life_days)
    if half_life_days == 0 or math.isinf(half_life_days):
        return np.ones(n_hours, dtype=np.float64)
    age_hours = np.arange(n_hours - 1, -1, -1, dtype=np.float64)
    return np.exp2(-age_hours / (half_life_days * HOURS_PER_DAY))


def key_levels(
    usage: pd.DataFrame | UsageMatrix, *, recent_days: float, half_life_days: float
) -> pd.DataFrame:
    """Each key's usage level over the lookback, its recent window and with recency weights.

    Parameters
    ----------
    usage
        The lookback (canonical table or matrix); its last hour ends the recent window.
    recent_days
        The recent window (as :func:`recent_window_hours` gives it); 0 turns the stopped and
        fallen checks off [days].
    half_life_days
        Half-life of the recency weights; 0 turns the adjustment off, infinity weighs every hour
        alike [days].

    Returns
    -------
    pandas.DataFrame
        One row per key, :data:`LEVEL_COLUMNS`: the key; the mean running instances over the
        whole lookback (``flat_level``), the recent window (``recent_level``, NaN when the check
        is off), the hours before it (``older_level``, NaN when there are none) and with recency
        weights (``weighted_level``); ``decision_level``, the mean the decision sees (see
        :func:`recency_adjusted_usage`); ``fall_pct``, ``100 × (1 − recent ÷ older)`` [%];
        ``fallen`` (recent below :data:`FALLEN_SHARE` of older, stopped keys excepted);
        ``stopped`` (no usage in the recent window, some before); ``last_used`` (last hour with
        usage, NaT for none); ``older_factor`` and ``recent_factor``, what
        :func:`recency_adjusted_usage` multiplies the key's older and recent hours by.
        ``attrs["recent_hours"]`` is the recent window [h].
    """
    matrix = usage if isinstance(usage, UsageMatrix) else _canonical_matrix(usage)
    if not math.isfinite(recent_days) or recent_days < 0:
        raise CommitoptInputError(
            f"{param('stopped_after_days')} must be 0 or more days, not {recent_days:g}"
        )
    quantity = matrix.quantity
    n_hours = quantity.shape[0]
    recent_hours = min(round(recent_days * HOURS_PER_DAY), n_hours)
    weights = recency_weights(n_hours, half_life_days)
    if n_hours == 0:
        return _empty_levels(recent_hours)
    split = n_hours - recent_hours
    nan = np.full(quantity.shape[1], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        flat = quantity.mean(axis=0)
        recent = quantity[split:].mean(axis=0) if recent_hours else nan
        older = quantity[:split].mean(axis=0) if split else nan
        weighted = weights @ quantity / weights.sum()
        fall_pct = np.where(older > 0, 100.0 * (1.0 - recent / older), np.nan)
    compared = (recent_hours > 0) & (split > 0) & (older > 0)
    stopped = compared & (recent == 0)
    fallen = compared & (recent < FALLEN_SHARE * older) & ~stopped
    adjust = half_life_days > 0
    moved = np.abs(weighted - flat) > LEVEL_TOLERANCE * flat
    level = np.where(adjust & moved, weighted, flat)
    level = np.where(adjust & fallen, recent, level)
    with np.errstate(invalid="ignore", divide="ignore"):
        whole_factor = np.where(flat > 0, level / flat, 1.0)
        fallen_factor = np.where(older > 0, recent / older, 1.0)
    used = quantity > 0
    last_index = n_hours - 1 - np.argmax(used[::-1], axis=0)
    ever_used: npt.NDArray[np.bool_] = np.asarray(used.any(axis=0), dtype=np.bool_)
    last_used = pd.DatetimeIndex(matrix.hours[last_index]).where(ever_used)
    levels = matrix.keys.reset_index(drop=True).assign(
        flat_level=flat,
        recent_level=recent,
        older_level=older,
        weighted_level=weighted,
        decision_level=level,
        fall_pct=fall_pct,
        fallen=fallen,
        stopped=stopped,
        last_used=last_used,
        older_factor=np.where(adjust & fallen, fallen_factor, whole_factor),
        recent_factor=np.where(adjust & fallen, 1.0, whole_factor),
    )
    levels.attrs["recent_hours"] = recent_hours
    return levels


def _row_keys(frame: pd.DataFrame) -> tuple[npt.NDArray[np.intp], pd.DataFrame]:
    """Each row's key number, and the keys (:data:`KEY_COLUMNS`, sorted) they number.

    One factorization per column (sorted, missing values first), the codes mixed in column order
    so that their order is the keys' order: fast on a table of millions of rows.
    """
    mixed = np.zeros(len(frame), dtype=np.int64)
    for column in KEY_COLUMNS:
        codes, uniques = pd.factorize(frame[column], sort=True)
        mixed = mixed * (len(uniques) + 1) + (codes + 1)
    _, first_row, row_key = np.unique(mixed, return_index=True, return_inverse=True)
    keys = frame[list(KEY_COLUMNS)].iloc[first_row].reset_index(drop=True)
    return np.asarray(row_key, dtype=np.intp).reshape(-1), keys


def _canonical_matrix(frame: pd.DataFrame) -> UsageMatrix:
    """:func:`usage.table.to_matrix` of a table already in canonical form, without validating it
    again (a tenth of the time on a large lookback)."""
    if frame.empty:
        return to_matrix(frame)
    row_key, keys = _row_keys(frame)
    hour_ns = frame["hour"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    first = int(hour_ns.min())
    hour_index = (hour_ns - first) // _NS_PER_HOUR
    n_hours = int(hour_index.max()) + 1
    cells = np.bincount(
        hour_index * len(keys) + row_key,
        weights=frame["quantity"].to_numpy(dtype=np.float64),
        minlength=n_hours * len(keys),
    )
    hours = pd.date_range(pd.Timestamp(first, tz="UTC"), periods=n_hours, freq="h", unit="ns")
    return UsageMatrix(
        hours=hours,
        keys=keys.astype({c: "string" for c in KEY_COLUMNS}),
        quantity=np.asarray(cells, dtype=np.float64).reshape(n_hours, len(keys)),
    )


def _empty_levels(recent_hours: int) -> pd.DataFrame:
    levels = pd.DataFrame(columns=list(LEVEL_COLUMNS))
    levels.attrs["recent_hours"] = recent_hours
    return levels


def recency_adjusted_usage(
    window: pd.DataFrame | UsageMatrix, levels: pd.DataFrame
) -> pd.DataFrame | UsageMatrix:
    """The lookback as the decision sees it: each key's hours scaled as ``levels`` says.

    A fallen key's hours before the recent window are multiplied by ``recent ÷ older`` (their mean
    becomes the recent mean; the recent hours stay as they ran); every other key's hours by
    ``decision_level ÷ flat_level`` (its recency-weighted mean, or 1 within
    :data:`LEVEL_TOLERANCE` and when the adjustment is off). Scaling keeps each key's hourly
    shape and never creates usage in an hour that had none.

    Parameters
    ----------
    window
        The lookback (canonical table or matrix), the usage ``levels`` was computed on.
    levels
        :func:`key_levels` of ``window``; keys it lacks are left as they ran.

    Returns
    -------
    pandas.DataFrame or UsageMatrix
        ``window`` with its ``quantity`` scaled (the same rows or keys, and ``attrs``);
        ``window`` itself when no key changes.
    """
    older_factor = levels["older_factor"].to_numpy(dtype=np.float64)
    recent_factor = levels["recent_factor"].to_numpy(dtype=np.float64)
    unchanged = (older_factor == 1.0).all() and (recent_factor == 1.0).all()
    if isinstance(window, UsageMatrix):
        return window if unchanged else _adjusted_matrix(window, levels)
    if window.empty or unchanged:
        return window
    recent_hours = int(levels.attrs.get("recent_hours", 0))
    row_key, keys = _row_keys(window)
    key_rows = pd.MultiIndex.from_frame(keys.astype(str))
    key_position = pd.MultiIndex.from_frame(levels[list(KEY_COLUMNS)].astype(str)).get_indexer(
        key_rows
    )
    position = key_position[row_key]
    known = position >= 0
    recent_start = pd.Timestamp(window["hour"].max()) - pd.Timedelta(hours=recent_hours - 1)
    in_recent = (window["hour"] >= recent_start).to_numpy() & (recent_hours > 0)
    factor = np.where(in_recent, recent_factor[position], older_factor[position])
    adjusted = window.copy()
    adjusted["quantity"] = window["quantity"].to_numpy(dtype=np.float64) * np.where(
        known, factor, 1.0
    )
    adjusted.attrs = dict(window.attrs)
    return adjusted


def _adjusted_matrix(window: UsageMatrix, levels: pd.DataFrame) -> UsageMatrix:
    """:func:`recency_adjusted_usage` on a matrix: each key's column scaled in two parts."""
    recent_hours = min(int(levels.attrs.get("recent_hours", 0)), len(window.hours))
    key_position = pd.MultiIndex.from_frame(levels[list(KEY_COLUMNS)].astype(str)).get_indexer(
        pd.MultiIndex.from_frame(window.keys.astype(str))
    )
    known = key_position >= 0
    older_factor = np.where(
        known, levels["older_factor"].to_numpy(dtype=np.float64)[key_position], 1.0
    )
    recent_factor = np.where(
        known, levels["recent_factor"].to_numpy(dtype=np.float64)[key_position], 1.0
    )
    split = len(window.hours) - recent_hours
    quantity = np.empty_like(window.quantity)
    np.multiply(window.quantity[:split], older_factor, out=quantity[:split])
    np.multiply(window.quantity[split:], recent_factor, out=quantity[split:])
    return UsageMatrix(window.hours, window.keys, quantity, window.daily_granular)


@dataclass(frozen=True, eq=False)
class RecencyAdjustment:
    """The lookback as the decision sees it, and the levels behind it.

    Attributes
    ----------
    usage
        The decision's usage (:func:`recency_adjusted_usage`).
    levels
        :func:`key_levels` of the lookback.
    recent_hours
        The recent window [h]; 0 when the checks are off.
    half_life_days
        Half-life of the recency weights; 0 = the decision sees the lookback as it ran [days].
    """

    usage: pd.DataFrame | UsageMatrix
    levels: pd.DataFrame
    recent_hours: int
    half_life_days: float

    @property
    def fallen(self) -> pd.DataFrame:
        """The fallen keys' rows of :attr:`levels`, largest fall first."""
        fallen = self.levels.loc[self.levels["fallen"].to_numpy(dtype=bool)]
        return fallen.sort_values(["fall_pct", "older_level"], ascending=False).reset_index(
            drop=True
        )

    def fallen_records(self) -> list[dict[str, Any]]:
        """The fallen keys for ``summary["fallen_keys"]``: key fields, levels, fall, last use."""
        columns = [
            *KEY_COLUMNS,
            "recent_level",
            "older_level",
            "weighted_level",
            "decision_level",
            "fall_pct",
            "last_used",
        ]
        records = [
            {str(name): value for name, value in record.items()}
            for record in self.fallen[columns].to_dict("records")
        ]
        for record in records:
            for name in columns[len(KEY_COLUMNS) : -1]:
                record[name] = round(float(record[name]), 4)
            record["last_used"] = pd.Timestamp(record["last_used"]).isoformat()
        return records

    def notices(self) -> tuple[str, ...]:
        """One sentence per fallen key (the first :data:`MAX_KEYS_NAMED`), then a count."""
        fallen = self.fallen
        if fallen.empty:
            return ()
        days = self.recent_hours / HOURS_PER_DAY
        adjusted = self.half_life_days > 0
        counted = (
            "the decision counts it at its recent level"
            if adjusted
            else f"the decision counts its older usage too ({param('recency_half_life_days')} 0)"
        )
        lines = [
            f"{key_text(record, full=True)} fell {record['fall_pct']:.0f} % over the last "
            f"{days:g} days (a mean of {record['recent_level']:.2f} running instances against "
            f"{record['older_level']:.2f} before): {counted}"
            for record in fallen.head(MAX_KEYS_NAMED).to_dict("records")
        ]
        left = len(fallen) - MAX_KEYS_NAMED
        if left > 0:
            lines.append(f"{left} more key(s) fell by more than half the same way")
        if adjusted:
            lines.append(
                f"keys whose usage fell by more than half over the last {days:g} days are counted "
                f"at their recent level; set {param('recency_half_life_days')} to 0 to decide on "
                "the lookback as it ran"
            )
        return tuple(lines)


def adjust_for_recency(
    usage: pd.DataFrame | UsageMatrix, *, recent_hours: int, half_life_days: float
) -> RecencyAdjustment:
    """The levels of ``usage`` and the usage the decision should see (one call for both).

    Parameters
    ----------
    usage
        The lookback (canonical table or matrix), stopped keys already left out.
    recent_hours
        The recent window (:func:`recent_window_hours`); 0 turns the fallen check off [h].
    half_life_days
        Half-life of the recency weights; 0 leaves the usage as it ran [days].
    """
    _check_half_life(half_life_days)
    empty = usage.quantity.size == 0 if isinstance(usage, UsageMatrix) else usage.empty
    if empty:
        return RecencyAdjustment(usage, _empty_levels(recent_hours), recent_hours, half_life_days)
    levels = key_levels(
        usage, recent_days=recent_hours / HOURS_PER_DAY, half_life_days=half_life_days
    )
    adjusted = recency_adjusted_usage(usage, levels)
    return RecencyAdjustment(adjusted, levels, recent_hours, half_life_days)


def annotate_explanations(explanations: pd.DataFrame, recency: RecencyAdjustment) -> pd.DataFrame:
    """Append to each purchase's sentence the keys of its scope whose usage fell.

    A key is named when it fell (:func:`key_levels`) or stopped, or when its recent level is
    below :data:`WELL_BELOW_SHARE` of the level the decision assumed for it (and below its older
    level). A purchase's scope is the usage it may cover: an RI's exact key, or its family for a
    size-flexible RI (region, platform, tenancy); an EC2 Instance Savings Plan's family in its
    region; a Compute Savings Plan's every key.

    Parameters
    ----------
    explanations
        :func:`optimizer.explain.explain`'s table.
    recency
        The adjustment the decision was taken on.

    Returns
    -------
    pandas.DataFrame
        A copy with ``explanation`` extended where a key is named.
    """
    levels = recency.levels
    if explanations.empty or levels.empty:
        return explanations
    recent = levels["recent_level"].to_numpy(dtype=np.float64)
    older = levels["older_level"].to_numpy(dtype=np.float64)
    assumed = levels["decision_level"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        below = (recent < WELL_BELOW_SHARE * assumed) & (recent < older)
    flagged = levels["fallen"].to_numpy(dtype=bool) | levels["stopped"].to_numpy(dtype=bool)
    flagged |= below
    if not flagged.any():
        return explanations
    columns = scope_columns(levels)
    annotated = explanations.copy()
    annotated["explanation"] = [
        str(row["explanation"])
        + _older_usage_sentence(levels.loc[flagged & keys_in_scope(columns, row)], recency)
        for row in explanations.to_dict("records")  # one row per purchase
    ]
    return annotated


def _older_usage_sentence(named: pd.DataFrame, recency: RecencyAdjustment) -> str:
    """ " It rests partly on … usage that fell 60 % in the last 7 days; …", or ``""``."""
    if named.empty:
        return ""
    named = named.sort_values(["fall_pct", "older_level"], ascending=False)
    shown = named.head(MAX_KEYS_EXPLAINED).to_dict("records")
    parts = [f"{key_text(r)} usage that fell {r['fall_pct']:.0f} %" for r in shown]
    listed = listed_keys(parts, len(named) - len(shown), "fell")
    one = len(named) == 1
    at_recent = bool((named["decision_level"] <= named["recent_level"] * (1 + 1e-9) + 1e-12).all())
    if at_recent:
        tail = f"the decision counted {'it at its' if one else 'them at their'} recent level"
    else:
        tail = f"the decision assumed more than {'it' if one else 'they'} ran lately"
        if recency.half_life_days == 0:
            tail += f" (set {param('recency_half_life_days')} above 0 to weigh recent weeks more)"
    days = recency.recent_hours / HOURS_PER_DAY
    return f" It rests partly on {listed} in the last {days:g} days; {tail}."


def _check_half_life(half_life_days: float) -> None:
    if math.isnan(half_life_days) or half_life_days < 0:
        raise CommitoptInputError(
            f"{param('recency_half_life_days')} must be 0 (off) or more days, "
            f"not {half_life_days:g}"
        )


__all__ = [
    "FALLEN_SHARE",
    "LEVEL_COLUMNS",
    "LEVEL_TOLERANCE",
    "MAX_KEYS_EXPLAINED",
    "MAX_KEYS_NAMED",
    "MAX_SHARE_OF_LOOKBACK",
    "RECENCY_HALF_LIFE_DAYS",
    "STOPPED_AFTER_DAYS",
    "WELL_BELOW_SHARE",
    "RecencyAdjustment",
    "StoppedUsage",
    "adjust_for_recency",
    "annotate_explanations",
    "drop_stopped_usage",
    "key_levels",
    "recency_adjusted_usage",
    "recency_weights",
    "recent_window_hours",
]
