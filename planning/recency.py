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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from core.errors import CommitoptInputError, param
from core.units import HOURS_PER_DAY
from usage.table import KEY_COLUMNS

STOPPED_AFTER_DAYS: Final = 7.0
"""A key with no usage over this many days at the end of the lookback has stopped [days]."""

MAX_SHARE_OF_LOOKBACK: Final = 0.25
"""The recent window is at most this share of the lookback [1]."""

MAX_KEYS_NAMED: Final = 5
"""Stopped keys named one by one in the notices; the rest are counted."""


@dataclass(frozen=True, eq=False)
class StoppedUsage:
    """The lookback without the keys that stopped, and what was left out.

    Attributes
    ----------
    usage
        The lookback's usage (canonical table) without the rows of stopped keys.
    stopped
        One row per stopped key: the key columns, ``last_used`` (the last hour with usage, UTC)
        and ``instance_hours`` (its usage in the lookback), longest idle first.
    recent_hours
        The recent window: a key with no usage in these last hours has stopped [h]; 0 when the
        check was off.
    end_hour
        The lookback's last hour (UTC); ``None`` for no usage.
    """

    usage: pd.DataFrame
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
    usage: pd.DataFrame, stopped_after_days: float, lookback_days: float
) -> StoppedUsage:
    """Leave out the keys with no usage in the last hours of ``usage``.

    Parameters
    ----------
    usage
        The lookback's usage (canonical table, one row per hour and key).
    stopped_after_days
        Idle days at the end of the lookback that make a key stopped; 0 turns the check off.
    lookback_days
        The lookback's length; the recent window is at most a quarter of it [days].

    Returns
    -------
    StoppedUsage
        The usage of the keys still running, and the stopped keys.
    """
    recent_hours = recent_window_hours(stopped_after_days, lookback_days)
    empty = pd.DataFrame(columns=[*KEY_COLUMNS, "last_used", "instance_hours"])
    if usage.empty or recent_hours == 0:
        return StoppedUsage(usage, empty, recent_hours, _last_hour(usage))
    end = pd.Timestamp(usage["hour"].max())
    recent_start = end - pd.Timedelta(hours=recent_hours - 1)
    used = usage.loc[usage["quantity"].to_numpy() > 0]
    per_key = used.groupby(list(KEY_COLUMNS), observed=True, sort=False).agg(
        last_used=("hour", "max"), instance_hours=("quantity", "sum")
    )
    stopped = per_key.loc[per_key["last_used"] < recent_start].reset_index()
    if stopped.empty:
        return StoppedUsage(usage, empty, recent_hours, end)
    stopped = stopped.sort_values(["last_used", "instance_hours"], ascending=[True, False])
    key_of_row = pd.MultiIndex.from_frame(usage[list(KEY_COLUMNS)].astype(str))
    stopped_keys = pd.MultiIndex.from_frame(stopped[list(KEY_COLUMNS)].astype(str))
    keep = ~key_of_row.isin(stopped_keys)
    kept = usage.loc[keep].reset_index(drop=True)
    kept.attrs = dict(usage.attrs)
    return StoppedUsage(kept, stopped.reset_index(drop=True), recent_hours, end)


def _last_hour(usage: pd.DataFrame) -> pd.Timestamp | None:
    return None if usage.empty else pd.Timestamp(usage["hour"].max())


__all__ = [
    "MAX_KEYS_NAMED",
    "MAX_SHARE_OF_LOOKBACK",
    "STOPPED_AFTER_DAYS",
    "StoppedUsage",
    "drop_stopped_usage",
    "recent_window_hours",
]
