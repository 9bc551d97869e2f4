"""core.times: UTC rules defined once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pandas as pd
import pytest

from core.errors import CommitoptInputError
from core.times import (
    as_utc,
    naive_utc_datetime,
    to_utc_index,
    to_utc_timestamp,
    utc_datetime,
    utc_hour,
    utc_naive,
)


class LayerError(CommitoptInputError):
    """A layer's own error class."""


@pytest.mark.parametrize(
    "value",
    [
        "2024-04-01T06:00",
        "2024-04-01T06:00Z",
        "2024-04-01T08:00+02:00",
        "2024-03-31T23:00-07:00",
        datetime(2024, 4, 1, 6),
        datetime(2024, 4, 1, 15, tzinfo=timezone(timedelta(hours=9))),
        pd.Timestamp("2024-04-01 06:00"),
        pd.Timestamp("2024-04-01 08:00", tz="Europe/Berlin"),
    ],
)
def test_naive_is_utc_and_aware_is_converted(value: object) -> None:
    stamp = to_utc_timestamp(value, "start")
    assert stamp == pd.Timestamp("2024-04-01 06:00", tz="UTC")
    assert str(stamp.tz) == "UTC"
    assert stamp.unit == "ns"


def test_a_date_is_midnight_utc() -> None:
    assert to_utc_timestamp(date(2024, 4, 1), "start") == pd.Timestamp("2024-04-01", tz="UTC")


def test_utc_has_no_daylight_saving_gap() -> None:
    # 2024-03-31 02:00 does not exist in Berlin; in UTC every hour exists once.
    first = utc_hour("2024-03-31T00:00+01:00", "start")
    hours = pd.date_range(first, periods=4, freq="h")
    assert (hours[1:] - hours[:-1] == pd.Timedelta(hours=1)).all()
    assert to_utc_timestamp("2024-10-27T02:30+01:00", "t") - to_utc_timestamp(
        "2024-10-27T02:30+02:00", "t"
    ) == pd.Timedelta(hours=1)


@pytest.mark.parametrize("value", ["soon", "2024-13-01", None, "NaT", object()])
def test_not_a_time_names_the_parameter(value: object) -> None:
    with pytest.raises(CommitoptInputError, match="is not a timestamp") as caught:
        to_utc_timestamp(value, "period_start")
    assert caught.value.parameters == ("period_start",)


def test_not_on_the_hour() -> None:
    assert to_utc_timestamp("2024-04-01T06:30", "start") == pd.Timestamp(
        "2024-04-01 06:30", tz="UTC"
    )
    with pytest.raises(CommitoptInputError, match="not on the hour") as caught:
        utc_hour("2024-04-01T06:30", "start")
    assert caught.value.parameters == ("start",)
    # half-hour zones are on the hour in UTC only when the UTC time is
    assert utc_hour("2024-04-01T11:30+05:30", "start") == pd.Timestamp("2024-04-01 06:00", tz="UTC")


def test_the_layer_chooses_its_error_class() -> None:
    with pytest.raises(LayerError, match="`end`"):
        utc_hour("2024-04-01T06:15", "end", error=LayerError)
    with pytest.raises(LayerError, match="`as_of`"):
        utc_naive("yesterday-ish", "as_of", error=LayerError)


def test_utc_naive_for_storage() -> None:
    assert utc_naive("2024-04-01T08:00+02:00", "as_of") == pd.Timestamp("2024-04-01 06:00")
    assert utc_naive(datetime(2024, 4, 1, 6), "as_of") == pd.Timestamp("2024-04-01 06:00")
    assert utc_naive("2024-04-01T06:00", "as_of").tzinfo is None


def test_datetimes() -> None:
    aware = datetime(2024, 4, 1, 8, tzinfo=timezone(timedelta(hours=2)))
    assert utc_datetime(aware) == datetime(2024, 4, 1, 6, tzinfo=UTC)
    assert utc_datetime(aware).tzinfo is UTC
    assert utc_datetime(datetime(2024, 4, 1, 6)) == datetime(2024, 4, 1, 6, tzinfo=UTC)
    assert naive_utc_datetime(aware) == datetime(2024, 4, 1, 6)


def test_indexes() -> None:
    naive = pd.DatetimeIndex(["2024-04-01 06:00", "2024-04-01 07:00"])
    assert str(as_utc(naive).tz) == "UTC"
    berlin = naive.tz_localize("Europe/Berlin")
    assert list(to_utc_index(berlin).hour) == [4, 5]
    assert list(to_utc_index(pd.Series(naive)).hour) == [6, 7]
    assert as_utc(pd.Timestamp("2024-04-01 06:00", tz="UTC")) == pd.Timestamp(
        "2024-04-01 06:00", tz="UTC"
    )
