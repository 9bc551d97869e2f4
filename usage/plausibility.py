"""Is this usage plausible? Checks an import runs before anything is stored.

Each case and what happens (``docs/usage-table.md``, "Plausibility"):

hours after now
    **refused**: usage cannot lie in the future; the file's dates or time zone are wrong (a CUR
    moved to 2099 would otherwise be billed alone, with every owned RI long expired).
a quantity above :data:`QUANTITY_BOUNDS` (one key in one hour)
    **refused**: no account runs a million instances of one type in one region in one hour; such
    a value (``1e308``) is a corrupted cell or a total in the wrong column, and would print
    300-digit costs.
an instance family commitopt does not know (:data:`pricing.instance_types.KNOWN_FAMILIES`)
    **refused** in a canonical table, which people write, unless ``allow_unknown_types``: it is
    most likely a typo (``z99.mega``); a **warning** in an AWS bill (CUR, FOCUS, Cost Explorer,
    Athena), which names only types AWS sells, so the vocabulary is what is behind.
an instance type with no normalized units (an unknown size: ``z99.mega``, ``m5.huge``)
    **refused** in a canonical table, naming the file and row: on ``usage import`` unless
    ``allow_unknown_types``, and always where it is used at once (``known_sizes_only``: the
    ``--usage`` files of a command). Stored, it would stop ``recommend`` later without naming
    where it came from.
a period more than :data:`MAX_GAP_DAYS` from the workspace's usage
    **refused** unless ``allow_gap``: a FOCUS file of 2024 mixed into a 2018 workspace makes one
    history with a years-long hole; such usage belongs in another workspace.
rows a day apart (a daily file read as hourly; :func:`daily_rows_warning`)
    a **warning** where a command reads ``--usage`` files, and on ``usage import``
    (:func:`daily_spacing_warning` of :func:`row_spacing_sql`).

In a canonical table the refusals name the file and its row (``files``,
:func:`usage.validate_sql.first_row_where`).

A lookback longer than the data is one more case; it is checked where a lookback is used
(:func:`commitopt.cli.inputs.warn_if_lookback_exceeds`: a warning).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.errors import param
from pricing.compute_keys import INSTANCE_HOURS, KEY_KINDS, quantity_units
from pricing.instance_types import (
    KNOWN_FAMILIES,
    KNOWN_SIZES_TEXT,
    has_normalized_units,
    parse_instance_type,
    unknown_families,
)
from pricing.services import EC2, key_services
from usage.canonical_files import CanonicalFile, quantity_sql
from usage.errors import UsageInputError
from usage.table import DAILY_GRANULAR_ATTR, KEY_COLUMNS

MAX_GAP_DAYS: Final = 365.0
"""Largest gap [days] between an import and the workspace's usage accepted without asking."""

MAX_INSTANCES_PER_KEY_HOUR: Final = 1_000_000.0
"""Largest ``quantity`` [instance-hours] of one EC2, database or SageMaker key in one hour.

A key's quantity in one hour is the number of its instances running (one type, platform and
tenancy in one account and region, or in every account when ``account_id`` is empty). AWS's
largest customers run a few hundred thousand instances of every type in every region together;
a million of one type in one hour is not usage but a corrupted value or a total in the wrong
column. The bound is far above any real key so that it never refuses real usage."""

MAX_VCPUS_PER_KEY_HOUR: Final = 10_000_000.0
"""Largest ``quantity`` [vCPU-hours] of one Fargate vCPU key (``fargate.vcpu``) in one hour.

Ten million vCPUs running in one hour: a million tasks of 10 vCPUs (a Fargate task has at most
16), :data:`MAX_INSTANCES_PER_KEY_HOUR` counted in vCPUs."""

MAX_GB_PER_KEY_HOUR: Final = 100_000_000.0
"""Largest ``quantity`` [GB-hours] of one Fargate memory or Lambda key in one hour.

A hundred million GB (100 PB) of memory in one hour: a million Fargate tasks of 100 GB (a task
has at most 120 GB), or ten million concurrent Lambda executions of 10 GB (the largest a function
may have), a hundred times an account's raised concurrency quota. Lambda's GB-seconds are kept in
GB-hours (:mod:`pricing.compute_keys`), so a busy hour of Lambda is a few thousand GB-hours."""

QUANTITY_BOUNDS: Final[Mapping[str, float]] = MappingProxyType(
    {
        INSTANCE_HOURS: MAX_INSTANCES_PER_KEY_HOUR,
        "vCPU-hours": MAX_VCPUS_PER_KEY_HOUR,
        "GB-hours": MAX_GB_PER_KEY_HOUR,
    }
)
"""The plausible bound of one key's ``quantity`` in one hour, by the key's unit
(:func:`pricing.compute_keys.quantity_units`)."""

_HOURS_PER_DAY: Final = 24
_DAY_NS: Final = 86_400 * 10**9

BILL_KINDS: Final = frozenset({"cur", "cur2", "focus", "cost-explorer", "athena"})
"""Import kinds written by AWS (their instance types are real even when commitopt lags)."""


_MEANING: Final[Mapping[str, str]] = MappingProxyType(
    {
        INSTANCE_HOURS: "instance-hours: the instances running in that hour",
        "vCPU-hours": "vCPU-hours: the vCPUs running in that hour",
        "GB-hours": "GB-hours: the memory running in that hour; Lambda's GB-seconds / 3,600",
    }
)
"""What a row's ``quantity`` counts, by unit (for the fix of an implausible one)."""


def check_plausible(
    frame: pd.DataFrame,
    *,
    source: str,
    source_kind: str,
    now: datetime,
    period: tuple[pd.Timestamp, pd.Timestamp],
    workspace_span: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    allow_unknown_types: bool = False,
    allow_gap: bool = False,
    files: Sequence[str] = (),
    known_sizes_only: bool = False,
) -> list[str]:
    """Refuse implausible usage; return the warnings for what is only suspicious.

    Parameters
    ----------
    frame
        The canonical usage about to be imported (a streamed import: one row per instance type,
        and the rows above :data:`QUANTITY_BOUNDS`).
    source
        The files or API read, named in every message.
    source_kind
        ``"canonical"`` for a canonical table; a kind in :data:`BILL_KINDS` for an AWS bill.
    now
        The current time (aware).
    period
        The import's period ``[start, end)`` (aware, UTC).
    workspace_span
        First and last hour of the usage the workspace already holds, or ``None`` when empty.
    allow_unknown_types, allow_gap
        Accept unknown instance families and sizes in a canonical table; accept a distant
        period.
    files
        The canonical files ``frame`` was read from, in order: a refusal names the file and row.
    known_sizes_only
        Refuse, in a canonical table, instance types with no normalized units (an unknown
        size): for usage used at once (``--usage``), which would stop on them later.

    Raises
    ------
    usage.errors.UsageInputError
        Hours after now; a quantity above :data:`QUANTITY_BOUNDS`; an unknown family in a
        canonical table; an unknown size in a canonical table (unless ``allow_unknown_types``
        without ``known_sizes_only``); a period too far from the workspace's usage.
    """
    warnings: list[str] = []
    if frame.empty:
        return warnings
    hours = frame["hour"]
    future = hours > pd.Timestamp(now).floor("h")
    if future.any():
        raise UsageInputError(
            source,
            f"{int(future.sum()):,} usage rows are after now ({pd.Timestamp(now):%Y-%m-%d %H:%M} "
            f"UTC), the first at {hours[future].min():%Y-%m-%d %H:%M} UTC",
            "usage cannot lie in the future: check the dates and time zone of the source",
        )
    if "quantity" in frame:
        over = frame["quantity"].to_numpy(dtype=np.float64) > quantity_bounds(
            frame["instance_type"]
        )
        if over.any():
            raise _implausible_quantity_error(frame[over].iloc[0], source, files)
    types = pd.Series(pd.unique(frame["instance_type"].astype("string")), dtype="string")
    # database classes, node types and Fargate, Lambda and SageMaker keys are checked by their
    # own vocabularies (pricing.services); the list of known families is EC2's
    unknown = unknown_families(types[key_services(types).to_numpy() == EC2])
    if unknown:
        examples = _examples(frame, unknown)
        if source_kind in BILL_KINDS:
            warnings.append(
                f"{source}: instance families commitopt does not know: {examples}; they are "
                "imported as they are (AWS sells them), but no embedded price covers them"
            )
        elif not allow_unknown_types:
            named, row = _first_row_of_types(source, files, _types_of(frame, unknown))
            raise UsageInputError(
                named,
                f"column instance_type: unknown instance families {examples}, not known EC2 "
                f"instance types{row}",
                "correct the types (e.g. m5.large), or, for a family AWS launched after this "
                f"commitopt, pass {param('allow_unknown_types')}",
            )
    if (known_sizes_only or not allow_unknown_types) and source_kind not in BILL_KINDS:
        unsized = [str(t) for t in types if not has_normalized_units(str(t))]
        if unsized:
            raise _unknown_type_error(source, files, unsized)
    if workspace_span is not None:
        gap_days = _gap_days(period, workspace_span)
        if gap_days > MAX_GAP_DAYS and not allow_gap:
            first, last = workspace_span
            raise UsageInputError(
                source,
                f"its usage ({period[0]:%Y-%m-%d} to {period[1]:%Y-%m-%d}) is {gap_days:,.0f} "
                f"days from the workspace's ({first:%Y-%m-%d} to {last:%Y-%m-%d})",
                f"import it into another workspace ({param('workspace')} FILE), or pass "
                f"{param('allow_gap')} to keep one history with that gap",
            )
    return warnings


def quantity_bounds(instance_types: pd.Series) -> npt.NDArray[np.float64]:
    """The plausible bound of each row's ``quantity`` (:data:`QUANTITY_BOUNDS` of its unit).

    Examples
    --------
    >>> quantity_bounds(pd.Series(["m5.large", "fargate.vcpu", "lambda.duration"])).tolist()
    [1000000.0, 10000000.0, 100000000.0]
    """
    units = quantity_units(pd.Series(instance_types).reset_index(drop=True))
    return np.asarray(units.map(QUANTITY_BOUNDS).to_numpy(dtype=np.float64), dtype=np.float64)


def quantity_bound_sql(instance_type: str) -> str:
    """The SQL of :func:`quantity_bounds` for the instance type ``instance_type`` (SQL text).

    Examples
    --------
    >>> quantity_bound_sql("t").startswith("CASE WHEN t IN ('fargate.vcpu') THEN 10000000.0")
    True
    """
    cases = " ".join(
        f"WHEN {instance_type} IN ({', '.join(repr(k.instance_type) for k in kinds)}) "
        f"THEN {bound!r}"
        for unit, bound in QUANTITY_BOUNDS.items()
        if (kinds := [k for k in KEY_KINDS if k.unit == unit])
    )
    return f"CASE {cases} ELSE {QUANTITY_BOUNDS[INSTANCE_HOURS]!r} END"


def _implausible_quantity_error(
    row: pd.Series, source: str, files: Sequence[str]
) -> UsageInputError:
    """The refusal of a quantity above its bound: the file's row when ``files`` are known,
    else the hour and key."""
    unit = str(quantity_units(pd.Series([row["instance_type"]])).iloc[0])
    bound = QUANTITY_BOUNDS[unit]
    limit = f"the plausible bound of {bound:,.0f} {unit} for one key in one hour"
    fix = (
        f"give each row the usage of one key in one hour ({_MEANING[unit]}); correct the value "
        "(a corrupted cell, or a total or another column's figure)"
    )

    def over(file: CanonicalFile) -> str:
        text = "trim(CAST(instance_type AS VARCHAR))"
        return f"({quantity_sql(file)}) > {quantity_bound_sql(text)}"

    found = _first_row(files, over, "quantity")
    if found is not None:
        named, position, shown = found
        return UsageInputError(
            named, f"column quantity: row {position} ({shown}) is above {limit}", fix
        )
    key = " ".join(str(row[c]) for c in KEY_COLUMNS if str(row.get(c, "")) != "")
    hour = pd.Timestamp(row["hour"])
    return UsageInputError(
        source,
        f"column quantity: {row['quantity']:.6g} {unit} at {hour:%Y-%m-%d %H:%M} UTC for {key} "
        f"is above {limit}",
        "check the source; re-export it if it is corrupted",
    )


def _unknown_type_error(
    source: str, files: Sequence[str], unsized: Sequence[str]
) -> UsageInputError:
    """``row 5 ('z99.mega') is not a known EC2 instance type (...)``, for the first of them."""
    named, row = _first_row_of_types(source, files, unsized)
    first = parse_instance_type(unsized[0])
    what = "EC2 instance type" if key_services([first.name]).iloc[0] == EC2 else "instance type"
    family = "" if first.family in KNOWN_FAMILIES else f"unknown family {first.family}, "
    size = (
        f"no normalized units known for its size {first.size!r}"
        if first.is_metal
        else f"unknown size {first.size!r}"
    )
    others = f" (and {len(unsized) - 1} more type(s))" if len(unsized) > 1 else ""
    return UsageInputError(
        named,
        f"column instance_type{row or f': {first.name!r}'} is not a known {what} ({family}"
        f"{size}){others}",
        "correct the type: family.size with a known size, such as m5.large (sizes: "
        f"{KNOWN_SIZES_TEXT})",
    )


def _first_row_of_types(
    source: str, files: Sequence[str], instance_types: Sequence[str]
) -> tuple[str, str]:
    """The file to name and ``": row 5 ('z99.mega')"`` for the first row of one of
    ``instance_types`` in ``files`` (``source`` and ``""`` when none is found)."""
    listed = ", ".join("'" + t.replace("'", "''") + "'" for t in instance_types)
    found = _first_row(
        files,
        lambda _file: f"trim(CAST(instance_type AS VARCHAR)) IN ({listed})",
        "instance_type",
    )
    if found is None:
        return source, ""
    named, position, shown = found
    return named, f": row {position} ({shown})"


def _first_row(
    files: Sequence[str], condition: Callable[[CanonicalFile], str], value: str
) -> tuple[str, int, str] | None:
    if not files:
        return None
    from usage.validate_sql import first_row_where

    return first_row_where([Path(f) for f in files], condition, value)


def _types_of(frame: pd.DataFrame, families: Sequence[str]) -> list[str]:
    """The instance types of ``frame`` in ``families``."""
    names = pd.Series(pd.unique(frame["instance_type"].astype(str)))
    return sorted(names[names.str.split(".", n=1).str[0].isin(list(families))])


@dataclass(frozen=True)
class RowSpacing:
    """How a usage table's rows are spaced in time: what tells daily rows from hourly ones.

    Attributes
    ----------
    hours_of_day
        Distinct hours of the day (0-23, UTC) the rows fall on.
    gaps
        Gaps between consecutive rows of one key.
    day_gaps
        Those of them exactly 24 hours long.
    """

    hours_of_day: int
    gaps: int
    day_gaps: int


def row_spacing(frame: pd.DataFrame) -> RowSpacing:
    """The :class:`RowSpacing` of a canonical usage table."""
    hour_ns = frame["hour"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    hours_of_day = len(np.unique(hour_ns % _DAY_NS))
    if hours_of_day == _HOURS_PER_DAY:  # every hour of the day: hourly, whatever the gaps
        return RowSpacing(hours_of_day, 0, 0)
    key_codes = frame.groupby(list(KEY_COLUMNS), sort=False, dropna=False).ngroup().to_numpy()
    order = np.lexsort((hour_ns, key_codes))
    same_key = key_codes[order][1:] == key_codes[order][:-1]
    gaps_ns = np.diff(hour_ns[order])[same_key]
    return RowSpacing(hours_of_day, int(gaps_ns.size), int((gaps_ns == _DAY_NS).sum()))


def row_spacing_sql(select_sql: str) -> tuple[str, str]:
    """:func:`row_spacing` in SQL over the rows of ``select_sql`` (``hour`` a UTC timestamp):
    the query of the distinct hours of the day, and the query of ``gaps`` and ``day_gaps``
    (worth running only when the first gives fewer than 24)."""
    hours_of_day = f"SELECT count(DISTINCT hour(hour)) FROM ({select_sql}) AS spaced"
    keys = ", ".join(KEY_COLUMNS)
    gaps = f"""
        SELECT count(gap_us), count(gap_us) FILTER (WHERE gap_us = {_DAY_NS // 1000})
        FROM (SELECT epoch_us(hour) - lag(epoch_us(hour)) OVER (PARTITION BY {keys}
                                                             ORDER BY hour) AS gap_us
              FROM ({select_sql}) AS spaced) AS gaps
    """
    return hours_of_day, gaps


def daily_rows_warning(frame: pd.DataFrame, source: str) -> str | None:
    """The warning for usage that looks daily: every key's rows exactly 24 hours apart.

    The table is hourly (docs/usage-table.md, "Daily data"): a row a day counts as one hour of
    usage and the other 23 hours as zero, so a recommendation buys next to nothing. Such a file
    is read as it is (as ``usage import`` reads it); this says why the result will look empty.
    ``None`` when any key has rows less or more than a day apart, when no key has three rows,
    or when the table was spread from daily figures already (``attrs["daily_granular"]``).
    """
    if frame.empty or frame.attrs.get(DAILY_GRANULAR_ATTR):
        return None
    return daily_spacing_warning(row_spacing(frame), source)


def daily_spacing_warning(spacing: RowSpacing, source: str) -> str | None:
    """:func:`daily_rows_warning` of a table's :class:`RowSpacing` (a streamed import's, counted
    in SQL by :func:`row_spacing_sql`)."""
    if spacing.hours_of_day == _HOURS_PER_DAY:
        return None
    if spacing.gaps < 2 or spacing.day_gaps != spacing.gaps:
        return None
    return (
        f"{source}: every key's rows are exactly 24 hours apart (one row a day), but the usage "
        "table is hourly: each row counts as one hour's usage and the other 23 hours as zero; "
        "if these are daily totals, spread each over its 24 hours first "
        '(usage.table.spread_daily; docs/usage-table.md, "Daily data")'
    )


def _gap_days(
    period: tuple[pd.Timestamp, pd.Timestamp], span: tuple[pd.Timestamp, pd.Timestamp]
) -> float:
    """Days between the period and the span (0 when they overlap or touch)."""
    start, end = period
    first, last = span
    gap = max(start - (last + pd.Timedelta(hours=1)), first - end, pd.Timedelta(0))
    return gap / pd.Timedelta(days=1)


def _examples(frame: pd.DataFrame, families: Sequence[str], limit: int = 5) -> str:
    """``z99 (z99.mega)``, ... for the first few unknown families, with up to three types each."""
    family_of = frame["instance_type"].astype(str).str.split(".", n=1).str[0]
    parts = []
    for family in families[:limit]:
        types = sorted(set(frame["instance_type"].astype(str)[family_of == family]))[:3]
        parts.append(f"{family} ({', '.join(types)})")
    more = f" and {len(families) - limit} more" if len(families) > limit else ""
    return ", ".join(parts) + more


__all__ = [
    "BILL_KINDS",
    "MAX_GAP_DAYS",
    "MAX_GB_PER_KEY_HOUR",
    "MAX_INSTANCES_PER_KEY_HOUR",
    "MAX_VCPUS_PER_KEY_HOUR",
    "QUANTITY_BOUNDS",
    "RowSpacing",
    "check_plausible",
    "daily_rows_warning",
    "daily_spacing_warning",
    "quantity_bound_sql",
    "quantity_bounds",
    "row_spacing",
    "row_spacing_sql",
]
