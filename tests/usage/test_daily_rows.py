""":func:`usage.plausibility.daily_rows_warning`: a daily file read as hourly, told apart."""

from __future__ import annotations

import duckdb
import pandas as pd

from usage.plausibility import (
    RowSpacing,
    daily_rows_warning,
    daily_spacing_warning,
    row_spacing,
    row_spacing_sql,
)
from usage.table import DAILY_GRANULAR_ATTR


def _usage(hours: pd.DatetimeIndex, instance_type: str = "m5.large") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "hour": hours,
            "account_id": "111",
            "region": "us-east-1",
            "instance_type": instance_type,
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "quantity": 24.0,
        }
    )


def _days(start: str, count: int) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=count, freq="D", tz="UTC")


def test_rows_a_day_apart_warn_naming_the_source() -> None:
    text = daily_rows_warning(_usage(_days("2024-03-01", 5)), "usage.csv")
    assert text is not None and text.startswith("usage.csv: every key's rows are exactly 24 h")


def test_keys_at_other_times_of_day_still_warn() -> None:
    frame = pd.concat(
        [_usage(_days("2024-03-01", 5)), _usage(_days("2024-03-01 06:00", 5), "c5.large")]
    )
    assert daily_rows_warning(frame, "usage.csv") is not None


def test_hourly_weekly_and_short_files_do_not_warn() -> None:
    hourly = _usage(pd.date_range("2024-03-01", periods=72, freq="h", tz="UTC"))
    weekly = _usage(pd.date_range("2024-03-01", periods=5, freq="7D", tz="UTC"))
    two_days = _usage(_days("2024-03-01", 2))
    gap = _usage(_days("2024-03-01", 5).delete(2))  # one day missing: 48 h once
    for frame in (hourly, weekly, two_days, gap):
        assert daily_rows_warning(frame, "usage.csv") is None


def test_usage_spread_from_daily_figures_does_not_warn() -> None:
    frame = _usage(_days("2024-03-01", 5))
    frame.attrs[DAILY_GRANULAR_ATTR] = True
    assert daily_rows_warning(frame, "usage.csv") is None


def test_the_sql_spacing_of_a_streamed_import_is_the_frames() -> None:
    """``usage import`` counts the spacing in SQL (:func:`row_spacing_sql`): the same figures,
    hence the same warning, as :func:`row_spacing` of the table."""
    hourly = _usage(pd.date_range("2024-03-01", periods=72, freq="h", tz="UTC"))
    frames = {
        "daily": pd.concat(
            [_usage(_days("2024-03-01", 5)), _usage(_days("2024-03-01 06:00", 5), "c5.large")]
        ),
        "gap": _usage(_days("2024-03-01", 5).delete(2)),
        "two days": _usage(_days("2024-03-01", 2)),
    }
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        for name, frame in frames.items():
            staged = frame.assign(hour=frame["hour"].dt.tz_localize(None))
            connection.register("staged", staged)
            hours_sql, gaps_sql = row_spacing_sql("SELECT * FROM staged")
            hours_of_day = int(connection.execute(hours_sql).fetchall()[0][0])
            gaps, day_gaps = connection.execute(gaps_sql).fetchall()[0]
            counted = RowSpacing(hours_of_day, int(gaps), int(day_gaps))
            assert counted == row_spacing(frame), name
            assert daily_spacing_warning(counted, "usage.csv") == daily_rows_warning(
                frame, "usage.csv"
            ), name
            connection.unregister("staged")
    assert row_spacing(hourly).hours_of_day == 24
