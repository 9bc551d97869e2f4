"""The canonical hourly usage table: validation, the dense matrix, hour filling, daily spreading.

The canonical table (docs/usage-table.md) is a long DataFrame with one row per hour and key:

``hour``
    start of the hour, ``datetime64[ns, UTC]``.
``account_id``
    ``string``, may be empty.
``region``, ``instance_type``, ``platform``, ``tenancy``
    ``string``; the platform is an RI product description (``Linux/UNIX``), the tenancy
    ``Shared`` or ``Dedicated``.
``quantity``
    instance-hours used in that hour [instance-hours], ``float64`` >= 0.

A *key* is ``(account_id, region, instance_type, platform, tenancy)``. For the optimizer the table
becomes a :class:`UsageMatrix`: hours × keys, float64, plus the key table. Sources that only know
days (Cost Explorer DAILY, daily CUR) are spread evenly over 24 hours by :func:`spread_daily`,
which marks the table ``attrs["daily_granular"] = True``; the matrix keeps that flag.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.times import utc_hour
from pricing.compute_keys import ARCHITECTURES, COMPUTE_PLATFORM_NAMES
from pricing.databases import DATABASE_PLATFORM_NAMES, DEPLOYMENTS
from pricing.errors import UnknownInstanceTypeError, UnknownPlatformError
from pricing.instance_types import instance_families, parse_instance_type
from pricing.offerings import TENANCIES
from pricing.platforms import PLATFORM_NAMES, parse_platform
from pricing.regions import REGION_CODES
from pricing.services import SERVICE_MISMATCH_FIX, misfit_keys
from usage.errors import UsageInputError

USAGE_COLUMNS: Final = (
    "hour",
    "account_id",
    "region",
    "instance_type",
    "platform",
    "tenancy",
    "quantity",
)
"""Columns of the canonical usage table, in order."""

KEY_COLUMNS: Final = ("account_id", "region", "instance_type", "platform", "tenancy")
"""Columns that identify one usage series (one matrix column)."""

USAGE_SCHEMA: Final[dict[str, str]] = {
    "hour": "datetime64[ns, UTC]",
    "account_id": "string",
    "region": "string",
    "instance_type": "string",
    "platform": "string",
    "tenancy": "string",
    "quantity": "float64",
}
"""dtype of each canonical column."""

DAILY_GRANULAR_ATTR: Final = "daily_granular"
"""``DataFrame.attrs`` key set to ``True`` on tables spread from daily figures."""

HOUR: Final = pd.Timedelta(hours=1)
_NS_PER_HOUR: Final = 3_600_000_000_000
_TENANCY_SPELLINGS: Final[dict[str, str]] = {
    "shared": "Shared",
    "default": "Shared",
    "dedicated": "Dedicated",
    **{deployment.lower(): deployment for deployment in DEPLOYMENTS},
    **{architecture.lower(): architecture for architecture in ARCHITECTURES},
}
"""Accepted spellings of a key's tenancy: EC2 tenancies, database deployments and the
architectures of Fargate, Lambda and SageMaker keys."""
SERVICE_MISMATCH_WHAT: Final = "platform(s) or tenancy of another service than the instance type's"
"""What a key whose platform or tenancy does not fit its instance type is called in errors."""
_DATABASE_PLATFORM_SPELLINGS: Final = {
    name.lower(): name for name in (*DATABASE_PLATFORM_NAMES, *COMPUTE_PLATFORM_NAMES)
}
_SUM_BY_KEY: Final = (
    "(in SQL: GROUP BY hour, account_id, region, instance_type, platform, tenancy; "
    "the Python API: aggregate=True)"
)
OFF_HOUR_FIX: Final = (
    "give the start of each hour: floor the times to the hour, then sum the rows of each hour "
    f"and key {_SUM_BY_KEY}"
)
"""The fix of timestamps not on the hour, right for a file (the CLI) and for the Python API."""
DUPLICATE_FIX: Final = f"sum them into one row per hour and key first {_SUM_BY_KEY}"
"""The fix of rows that share an hour and key, right for a file (the CLI) and for the Python API."""
_ZONE_SUFFIX: Final = r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?|\s*(?:UTC|GMT|utc|gmt))\s*$"
_SHOWN_ROWS: Final = 3


def _shown(value: object) -> str:
    """A cell as an error message shows it: strings quoted, other values plain."""
    return repr(value) if isinstance(value, str) else str(value)


def _rows_text(positions: npt.NDArray[np.intp], values: Sequence[object] | pd.Series) -> str:
    """``"rows 4 ('x'), 9 ('y') and 3 more"`` for the first few bad positions."""
    shown = positions[:_SHOWN_ROWS]
    listed = pd.Series(values).iloc[shown].tolist() if len(shown) else []
    parts = [f"{int(row)} ({_shown(value)})" for row, value in zip(shown, listed, strict=True)]
    word = "row" if len(positions) == 1 else "rows"
    extra = len(positions) - len(shown)
    return f"{word} {', '.join(parts)}" + (f" and {extra} more" if extra > 0 else "")


def _bad(
    source: str, column: str, mask: npt.NDArray[np.bool_], values: pd.Series, what: str, fix: str
) -> UsageInputError:
    positions = np.flatnonzero(mask)
    return UsageInputError(
        source,
        f"column {column} has {len(positions)} {what}: {_rows_text(positions, values)}",
        fix,
    )


def _conform_hours(values: pd.Series, source: str) -> pd.Series:
    """Return ``values`` as ``datetime64[ns, UTC]``; reject naive, malformed, off-hour ones."""
    naive_fix = (
        "give hours with a time zone (e.g. '2024-01-01T00:00:00Z'), or localize them first with "
        "Series.dt.tz_localize('UTC')"
    )
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        hours = values.dt.tz_convert("UTC")
        malformed = hours.isna().to_numpy()
        if malformed.any():
            raise _bad(
                source, "hour", malformed, values, "missing timestamp(s)", "fill or drop them"
            )
    elif pd.api.types.is_datetime64_dtype(dtype):
        everything = np.ones(len(values), dtype=bool)
        raise _bad(source, "hour", everything, values, "timezone-naive timestamp(s)", naive_fix)
    elif pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        everything = np.ones(len(values), dtype=bool)
        raise _bad(
            source,
            "hour",
            everything,
            values,
            "numbers instead of timestamps",
            "give ISO 8601 timestamps with a time zone, e.g. '2024-01-01T00:00:00Z'",
        )
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        texts = pd.Series(uniques, dtype="object").map(
            lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v)
        )
        zoned_objects = pd.Series(
            [getattr(v, "tzinfo", None) is not None for v in uniques], dtype=bool
        )
        has_zone = texts.str.contains(_ZONE_SUFFIX, regex=True).to_numpy() | zoned_objects
        stripped = texts.str.replace(r"\s*(?:UTC|GMT|utc|gmt)\s*$", "Z", regex=True)
        parsed = pd.to_datetime(stripped, utc=True, format="ISO8601", errors="coerce")
        retry = parsed.isna().to_numpy() & has_zone
        if retry.any():
            parsed[retry] = pd.to_datetime(
                stripped[retry], utc=True, format="mixed", errors="coerce"
            )
        unique_ok = parsed.notna().to_numpy()
        # code -1 (missing) takes the trailing entries
        malformed = ~np.append(unique_ok, False)[codes]
        naive = np.append(unique_ok & ~has_zone, False)[codes]
        if malformed.any():
            raise _bad(
                source,
                "hour",
                malformed,
                values,
                "missing or malformed timestamp(s)",
                "give ISO 8601 timestamps with a time zone, e.g. '2024-01-01T00:00:00Z'",
            )
        if naive.any():
            raise _bad(source, "hour", naive, values, "timezone-naive timestamp(s)", naive_fix)
        table = pd.DatetimeIndex(parsed).as_unit("ns")
        hours = pd.Series(table[codes], index=values.index)
    hours = hours.astype("datetime64[ns, UTC]")
    off_hour = (hours != hours.dt.floor("h")).to_numpy()
    if off_hour.any():
        raise _bad(
            source,
            "hour",
            off_hour,
            values,
            "timestamp(s) not on the hour",
            OFF_HOUR_FIX,
        )
    return hours


def _conform_text(values: pd.Series, source: str, column: str) -> pd.Series:
    text = values.astype("string").str.strip()
    missing = (text.isna() | (text == "")).to_numpy(dtype=bool)
    if missing.any():
        raise _bad(source, column, missing, values, "missing or empty value(s)", "fill them in")
    return text


def _map_uniques(
    values: pd.Series,
    source: str,
    column: str,
    mapping: dict[str, str | None],
    fix: str,
) -> pd.Series:
    """Replace each value by ``mapping[value]``; values mapped to ``None`` are rejected."""
    codes, uniques = pd.factorize(values)
    canonical = [mapping[str(u)] for u in uniques]
    bad_unique = np.array([c is None for c in canonical] + [True], dtype=bool)
    bad = bad_unique[codes]
    if bad.any():
        raise _bad(source, column, bad, values, f"unknown {column}(s)", fix)
    # take from the few distinct values (no object array per row: 4x faster, less memory)
    table = pd.array([*canonical, None], dtype="string")
    return pd.Series(table.take(codes), index=values.index, dtype="string")


def _parsed_instance_type(name: str) -> str | None:
    try:
        parse_instance_type(name)
    except UnknownInstanceTypeError:
        return None
    return name


def canonical_platform(text: str) -> str | None:
    """A key's platform in its canonical spelling, or ``None`` when it is not known.

    EC2 platforms by any spelling :func:`pricing.platforms.parse_platform` accepts; database
    platforms (``aurora-mysql``, ``redis``, …) by their reservation product description.
    """
    database = _DATABASE_PLATFORM_SPELLINGS.get(str(text).strip().lower())
    if database is not None:
        return database
    try:
        return parse_platform(text)
    except UnknownPlatformError:
        return None


def validate_usage_table(
    frame: pd.DataFrame, *, source: str = "usage table", aggregate: bool = False
) -> pd.DataFrame:
    """Check a usage table and return a conformed copy in the canonical form.

    Parameters
    ----------
    frame
        A table with the columns of :data:`USAGE_COLUMNS` (``account_id`` may be absent: it is
        then empty for every row). Extra columns are dropped. Platforms may be given by alias
        (``linux``, ``windows``) and tenancies in any case (``default`` means ``Shared``).
    source
        Name of the file or table, used in error messages.
    aggregate
        Sum rows that share an hour and key; by default such duplicates are an error.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`USAGE_COLUMNS` with the dtypes of :data:`USAGE_SCHEMA`, hours in UTC,
        sorted by hour then key, a fresh ``RangeIndex``; ``attrs`` are kept.

    Raises
    ------
    UsageInputError
        Naming the source, the column, a few bad rows (0-based positions) and the fix: missing
        columns (which are needed, which were found), timezone-naive, malformed or off-the-hour
        timestamps, missing, NaN, infinite or negative quantities, unknown regions, platforms or
        tenancies, unparseable instance types, duplicated (hour, key) rows.
    """
    found = [str(column) for column in frame.columns]
    needed = [c for c in USAGE_COLUMNS if c != "account_id"]
    missing = [column for column in needed if column not in found]
    if missing:
        shown = ", ".join(found[:12]) + (", ..." if len(found) > 12 else "")
        raise UsageInputError(
            source,
            f"missing column(s) {', '.join(missing)} (needed: {', '.join(USAGE_COLUMNS)}; "
            f"found: {shown or 'none'})",
            "rename or add the columns (account_id is optional)",
        )
    conformed = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    original = frame.reset_index(drop=True)
    conformed["hour"] = _conform_hours(original["hour"], source)
    if "account_id" in original:
        accounts = original["account_id"].astype("string").str.strip().fillna("")
    else:
        accounts = pd.Series("", index=conformed.index, dtype="string")
    conformed["account_id"] = accounts
    region = _conform_text(original["region"], source, "region")
    known_regions: dict[str, str | None] = {code: code for code in REGION_CODES}
    conformed["region"] = _map_uniques(
        region,
        source,
        "region",
        {str(u): known_regions.get(str(u)) for u in region.unique()},
        "use AWS region codes such as us-east-1",
    )
    instance_type = _conform_text(original["instance_type"], source, "instance_type")
    conformed["instance_type"] = _map_uniques(
        instance_type,
        source,
        "instance_type",
        {str(u): _parsed_instance_type(str(u)) for u in instance_type.unique()},
        "use EC2 instance type names of the form family.size, such as m5.large",
    )
    platform = _conform_text(original["platform"], source, "platform")
    conformed["platform"] = _map_uniques(
        platform,
        source,
        "platform",
        {str(u): canonical_platform(str(u)) for u in platform.unique()},
        f"use RI product descriptions ({', '.join(PLATFORM_NAMES[:4])}, ...) or, for "
        f"databases, reservation product descriptions ({', '.join(DATABASE_PLATFORM_NAMES[:3])}, "
        "...)",
    )
    tenancy = _conform_text(original["tenancy"], source, "tenancy")
    conformed["tenancy"] = _map_uniques(
        tenancy,
        source,
        "tenancy",
        {str(u): _TENANCY_SPELLINGS.get(str(u).lower()) for u in tenancy.unique()},
        f"use {' or '.join(TENANCIES)} (dedicated hosts are not commitment demand) or, for "
        f"databases, a deployment ({', '.join(DEPLOYMENTS)})",
    )
    misfit = misfit_keys(conformed["instance_type"], conformed["platform"], conformed["tenancy"])
    if misfit.any():
        raise _bad(
            source,
            "platform",
            misfit,
            original["platform"],
            SERVICE_MISMATCH_WHAT,
            SERVICE_MISMATCH_FIX,
        )
    quantity = pd.to_numeric(original["quantity"], errors="coerce").astype("float64").to_numpy()
    not_finite = ~np.isfinite(quantity)
    if not_finite.any():
        raise _bad(
            source,
            "quantity",
            not_finite,
            original["quantity"],
            "missing, NaN, infinite or non-numeric value(s)",
            "give instance-hours as finite numbers",
        )
    negative = quantity < 0
    if negative.any():
        raise _bad(
            source,
            "quantity",
            negative,
            original["quantity"],
            "negative value(s)",
            "usage is instance-hours >= 0; drop refunds and credits",
        )
    conformed["quantity"] = quantity
    group_columns = ["hour", *KEY_COLUMNS]
    if aggregate:
        summed = conformed.groupby(group_columns, sort=True, observed=True)["quantity"].sum()
        conformed = summed.reset_index()
    else:
        duplicated = conformed.duplicated(group_columns, keep=False).to_numpy()
        if duplicated.any():
            positions = np.flatnonzero(duplicated)
            shown_rows = conformed.iloc[positions[:_SHOWN_ROWS]]
            described = "; ".join(
                f"row {int(p)} ({' '.join(str(v) for v in r)})"
                for p, r in zip(positions, shown_rows.itertuples(index=False), strict=False)
            )
            raise UsageInputError(
                source,
                f"{len(positions)} rows share an hour and key "
                f"(hour, {', '.join(KEY_COLUMNS)}): {described}",
                DUPLICATE_FIX,
            )
        conformed = conformed.sort_values(group_columns, kind="stable")
    result = conformed.reset_index(drop=True).astype(USAGE_SCHEMA)[list(USAGE_COLUMNS)]
    result.attrs = dict(frame.attrs)
    return result


def empty_usage_table() -> pd.DataFrame:
    """A canonical usage table with no rows."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in USAGE_SCHEMA.items()})


@dataclass(frozen=True, eq=False)
class UsageMatrix:
    """Usage as a dense matrix: one row per hour, one column per key.

    Attributes
    ----------
    hours
        Contiguous hourly ``DatetimeIndex`` in UTC (the start of each hour).
    keys
        One row per matrix column, columns :data:`KEY_COLUMNS`, sorted, ``RangeIndex``.
    quantity
        ``float64`` array of shape ``(len(hours), len(keys))`` [instance-hours]; zero where
        there was no usage.
    daily_granular
        Whether the usage came from daily figures spread evenly over each day.
    sampled
        The rows are hours sampled from a longer span, each at the real time it stands for,
        not contiguous (a decision's futures, :meth:`planning.future.Futures.real_times`, to
        apply dated scenario transforms to them); default ``False``: contiguous and hourly.
    """

    hours: pd.DatetimeIndex
    keys: pd.DataFrame
    quantity: npt.NDArray[np.float64]
    daily_granular: bool = False
    sampled: bool = False

    def __post_init__(self) -> None:
        expected = (len(self.hours), len(self.keys))
        if self.quantity.shape != expected:
            raise ValueError(
                f"quantity has shape {self.quantity.shape}, expected {expected} (hours × keys)"
            )
        if self.quantity.dtype != np.float64:
            raise ValueError(f"quantity must be float64, not {self.quantity.dtype}")
        if list(self.keys.columns) != list(KEY_COLUMNS):
            raise ValueError(f"keys must have the columns {', '.join(KEY_COLUMNS)}")
        if str(self.hours.tz) != "UTC":
            raise ValueError("hours must be in UTC")
        if self.sampled:
            return
        if len(self.hours) > 1 and not (np.diff(self.hours.asi8) == _NS_PER_HOUR).all():
            raise ValueError("hours must be contiguous and hourly")

    @property
    def total_instance_hours(self) -> float:
        """Sum of all usage [instance-hours]."""
        return float(self.quantity.sum())

    def last_hours(self, n_hours: int) -> UsageMatrix:
        """The last ``n_hours`` hours (all of them when there are fewer), every key kept."""
        first = max(len(self.hours) - max(int(n_hours), 0), 0)
        return UsageMatrix(
            hours=self.hours[first:],
            keys=self.keys,
            quantity=self.quantity[first:],
            daily_granular=self.daily_granular,
        )

    def select_keys(self, keep: npt.NDArray[np.bool_]) -> UsageMatrix:
        """The keys (columns) where ``keep`` is true, in their order; ``self`` when all are."""
        mask = np.asarray(keep, dtype=bool)
        if mask.all():
            return self
        return UsageMatrix(
            hours=self.hours,
            keys=self.keys.loc[mask].reset_index(drop=True),
            quantity=np.ascontiguousarray(self.quantity[:, mask]),
            daily_granular=self.daily_granular,
        )

    def to_frame(self, *, keep_zeros: bool = False) -> pd.DataFrame:
        """Return the canonical long table (zero cells dropped unless ``keep_zeros``).

        Rows come sorted by hour then key, so ``to_matrix(t).to_frame()`` equals the validated
        ``t`` without its zero rows.
        """
        if keep_zeros:
            hour_index, key_index = np.divmod(np.arange(self.quantity.size), len(self.keys))
        else:
            hour_index, key_index = np.nonzero(self.quantity)
        keys = self.keys.iloc[key_index].reset_index(drop=True)
        frame = pd.DataFrame(
            {
                "hour": self.hours[hour_index],
                **{column: keys[column] for column in KEY_COLUMNS},
                "quantity": self.quantity[hour_index, key_index],
            }
        ).astype(USAGE_SCHEMA)
        frame.attrs[DAILY_GRANULAR_ATTR] = self.daily_granular
        return frame


def to_matrix(
    frame: pd.DataFrame,
    *,
    start: object = None,
    end: object = None,
    source: str = "usage table",
) -> UsageMatrix:
    """Turn a usage table into a :class:`UsageMatrix`.

    Parameters
    ----------
    frame
        A usage table; it is validated (duplicated hour and key rows are an error).
    start, end
        The matrix covers hours in ``[start, end)``; rows outside are left out. By default the
        period covered by the table, from its first hour to its last. Naive bounds are UTC.
    source
        Name used in error messages.

    Returns
    -------
    UsageMatrix
        Hours without usage are rows of zeros; ``daily_granular`` comes from
        ``frame.attrs["daily_granular"]``.
    """
    table = validate_usage_table(frame, source=source)
    daily = bool(frame.attrs.get(DAILY_GRANULAR_ATTR, False))
    hour_ns = table["hour"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    first = utc_hour(start, "start", error=UsageInputError) if start is not None else None
    stop = utc_hour(end, "end", error=UsageInputError) if end is not None else None
    if first is None:
        first = pd.Timestamp(int(hour_ns.min()), tz="UTC") if len(hour_ns) else None
    if stop is None:
        stop = pd.Timestamp(int(hour_ns.max()), tz="UTC") + HOUR if len(hour_ns) else None
    if first is None or stop is None:
        first = stop = first or stop or pd.Timestamp(0, tz="UTC")
    if stop < first:
        raise UsageInputError(
            source, f"end {stop.isoformat()} is before start {first.isoformat()}", "swap them"
        )
    hours = pd.date_range(first, stop, freq="h", inclusive="left", unit="ns")
    inside = (hour_ns >= first.value) & (hour_ns < stop.value)
    table = table.loc[inside]
    grouped = table.groupby(list(KEY_COLUMNS), sort=True, observed=True, dropna=False)
    codes = grouped.ngroup().to_numpy(dtype=np.int64)
    keys = grouped.size().index.to_frame(index=False)[list(KEY_COLUMNS)]
    keys = keys.astype({c: "string" for c in KEY_COLUMNS}).reset_index(drop=True)
    hour_index = (hour_ns[inside] - first.value) // _NS_PER_HOUR
    flat = hour_index * len(keys) + codes
    weights = table["quantity"].to_numpy(dtype=np.float64)
    cells = np.bincount(flat, weights=weights, minlength=len(hours) * len(keys))
    quantity = np.asarray(cells, dtype=np.float64).reshape(len(hours), len(keys))
    return UsageMatrix(hours=hours, keys=keys, quantity=quantity, daily_granular=daily)


def fill_missing_hours(
    frame: pd.DataFrame, start: object = None, end: object = None, *, source: str = "usage table"
) -> pd.DataFrame:
    """Return the table with an explicit zero row for every key in every hour it lacks.

    Parameters
    ----------
    frame
        A usage table.
    start, end
        Fill over ``[start, end)``; by default over the period the table covers.
    source
        Name used in error messages.
    """
    return to_matrix(frame, start=start, end=end, source=source).to_frame(keep_zeros=True)


def spread_daily(frame: pd.DataFrame, *, source: str = "daily usage table") -> pd.DataFrame:
    """Spread daily usage evenly over the 24 hours of each day.

    Parameters
    ----------
    frame
        A usage table whose ``hour`` is midnight UTC of each day and whose ``quantity`` is the
        instance-hours of that whole day.
    source
        Name used in error messages.

    Returns
    -------
    pandas.DataFrame
        The hourly canonical table, each hour ``quantity / 24`` [instance-hours], totals
        conserved, with ``attrs["daily_granular"] = True``.

    Raises
    ------
    UsageInputError
        For the errors of :func:`validate_usage_table` and hours that are not midnight UTC.
    """
    table = validate_usage_table(frame, source=source)
    hours = table["hour"]
    not_midnight = (hours != hours.dt.floor("D")).to_numpy()
    if not_midnight.any():
        raise _bad(
            source,
            "hour",
            not_midnight,
            hours,
            "timestamp(s) that are not midnight UTC",
            "daily usage must be dated by its UTC day; hourly usage needs no spreading",
        )
    repeated = table.loc[table.index.repeat(24)].reset_index(drop=True)
    offsets = np.tile(np.arange(24, dtype=np.int64), len(table)) * _NS_PER_HOUR
    repeated["hour"] = repeated["hour"] + pd.to_timedelta(offsets, unit="ns")
    repeated["quantity"] = repeated["quantity"] / 24.0
    result = repeated.sort_values(["hour", *KEY_COLUMNS], kind="stable").reset_index(drop=True)
    result = result.astype(USAGE_SCHEMA)
    result.attrs = {**frame.attrs, DAILY_GRANULAR_ATTR: True}
    return result


def filter_usage(
    frame: pd.DataFrame,
    *,
    accounts: Iterable[str] = (),
    regions: Iterable[str] = (),
    families: Iterable[str] = (),
    platforms: Iterable[str] = (),
    start: object = None,
    end: object = None,
) -> pd.DataFrame:
    """Keep the rows of a canonical usage table that match every given filter.

    Parameters
    ----------
    frame
        A canonical usage table (as :func:`validate_usage_table` returns).
    accounts, regions, families, platforms
        Allowed values; an empty collection does not filter. Families are instance families
        (``m5``); platforms accept aliases (``linux``).
    start, end
        Keep hours in ``[start, end)``; naive bounds are UTC.

    Returns
    -------
    pandas.DataFrame
        The matching rows, in order, with a fresh ``RangeIndex`` and the same ``attrs``.
    """
    keep = np.ones(len(frame), dtype=bool)
    for column, allowed in (("account_id", accounts), ("region", regions)):
        values = [str(v) for v in allowed]
        if values:
            keep &= frame[column].isin(values).to_numpy(dtype=bool)
    wanted_families = [str(f) for f in families]
    if wanted_families:
        keep &= instance_families(frame["instance_type"]).isin(wanted_families).to_numpy(bool)
    wanted_platforms = [parse_platform(str(p)) for p in platforms]
    if wanted_platforms:
        keep &= frame["platform"].isin(wanted_platforms).to_numpy(dtype=bool)
    hour_ns = frame["hour"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    if start is not None:
        keep &= hour_ns >= utc_hour(start, "start", error=UsageInputError).value
    if end is not None:
        keep &= hour_ns < utc_hour(end, "end", error=UsageInputError).value
    result = frame.loc[keep].reset_index(drop=True)
    result.attrs = dict(frame.attrs)
    return result
