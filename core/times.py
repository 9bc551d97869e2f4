"""UTC, defined once: every timestamp commitopt computes with is UTC.

The rules, which every layer applies through these functions:

* a naive time (no time zone) is read as UTC;
* an aware time (any zone or offset) is converted to UTC;
* pandas timestamps are held at nanosecond resolution (``datetime64[ns, UTC]``);
* storage (DuckDB, SQLite) holds naive UTC: :func:`utc_naive`, :func:`naive_utc_datetime`.

UTC has no daylight saving time, so an hour grid in UTC never skips or repeats an hour.

pandas is imported on first use, so that the command line, which needs :func:`utc_datetime` at
start-up, does not load it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, overload

from core.errors import CommitoptInputError, param

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

ErrorFactory = Callable[[str], Exception]
"""How a layer raises a bad time: its own error class, called with the one-line message."""


@overload
def as_utc(stamp: pd.DatetimeIndex) -> pd.DatetimeIndex: ...


@overload
def as_utc(stamp: pd.Timestamp | datetime | date | str) -> pd.Timestamp: ...


def as_utc(
    stamp: pd.DatetimeIndex | pd.Timestamp | datetime | date | str,
) -> pd.DatetimeIndex | pd.Timestamp:
    """``stamp`` (a time, or an index of times) in UTC; naive values are read as UTC.

    For a value known to be a time; :func:`to_utc_timestamp` parses and checks user input.
    """
    import pandas as pd

    if isinstance(stamp, pd.DatetimeIndex):
        return stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")
    moment = pd.Timestamp(stamp)
    return moment.tz_localize("UTC") if moment.tz is None else moment.tz_convert("UTC")


def utc_datetime(moment: datetime) -> datetime:
    """``moment`` as an aware UTC :class:`~datetime.datetime`; a naive time is read as UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def naive_utc_datetime(moment: datetime) -> datetime:
    """``moment`` in UTC without its time zone, as storage holds it."""
    return utc_datetime(moment).replace(tzinfo=None)


def to_utc_timestamp(
    value: Any,
    name: str,
    *,
    on_hour: bool = False,
    error: ErrorFactory = CommitoptInputError,
) -> pd.Timestamp:
    """Parse ``value`` (ISO 8601 text, a date, a datetime, a timestamp) as a UTC timestamp [ns].

    Parameters
    ----------
    value
        The time; naive values are read as UTC, aware ones converted.
    name
        The parameter that gave it, named in the error message with :func:`core.errors.param`.
    on_hour
        Require a whole hour (``2024-04-01T06:00``), as hourly usage and billing do.
    error
        The error class to raise (default :class:`core.errors.CommitoptInputError`).

    Raises
    ------
    CommitoptInputError
        (or ``error``) For a value that is not a time, or not on the hour when ``on_hour``.
    """
    import pandas as pd

    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as caught:
        raise error(_not_a_time(value, name)) from caught
    if stamp is pd.NaT or pd.isna(stamp):
        raise error(_not_a_time(value, name))
    stamp = as_utc(stamp)
    if on_hour and stamp != stamp.floor("h"):
        raise error(f"{param(name)} {stamp.isoformat()} is not on the hour; give a whole hour")
    return stamp.as_unit("ns")


def utc_hour(value: Any, name: str, *, error: ErrorFactory = CommitoptInputError) -> pd.Timestamp:
    """:func:`to_utc_timestamp` of a bound that must be a whole hour (naive is read as UTC)."""
    return to_utc_timestamp(value, name, on_hour=True, error=error)


def utc_naive(
    value: date | datetime | pd.Timestamp | str,
    name: str,
    *,
    error: ErrorFactory = CommitoptInputError,
) -> pd.Timestamp:
    """``value`` as a naive UTC timestamp, as DuckDB and SQLite store times.

    Naive input is read as UTC; aware input is converted to UTC and its zone dropped.

    Raises
    ------
    CommitoptInputError
        (or ``error``) For a value that is not a time.
    """
    import pandas as pd

    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as caught:
        raise error(_not_a_time(value, name)) from caught
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp


def to_utc_index(values: Any) -> pd.DatetimeIndex:
    """``values`` (a column, an array, an index of times) as a UTC :class:`pandas.DatetimeIndex`.

    Naive values are read as UTC, aware ones converted.
    """
    import pandas as pd

    return as_utc(pd.DatetimeIndex(values))


def month_start_rows(hours: pd.DatetimeIndex) -> npt.NDArray[np.intp]:
    """Rows of ``hours`` (UTC, in order) where a calendar month begins: row 0, then the first
    hour of each later month; empty for no hours."""
    import numpy as np

    months = hours.tz_convert(None).to_numpy().astype("datetime64[M]")
    if len(months) == 0:
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(np.r_[True, months[1:] != months[:-1]]).astype(np.intp)


def _not_a_time(value: object, name: str) -> str:
    return f"{param(name)} {value!r} is not a timestamp; give an ISO 8601 time, e.g. 2024-04-01"


__all__ = [
    "ErrorFactory",
    "as_utc",
    "naive_utc_datetime",
    "to_utc_index",
    "to_utc_timestamp",
    "utc_datetime",
    "utc_hour",
    "utc_naive",
]
