"""Is this usage plausible? Checks an import runs before anything is stored.

Each case and what happens (``docs/usage-table.md``, "Plausibility"):

hours after now
    **refused**: usage cannot lie in the future; the file's dates or time zone are wrong (a CUR
    moved to 2099 would otherwise be billed alone, with every owned RI long expired).
an instance family commitopt does not know (:data:`pricing.instance_types.KNOWN_FAMILIES`)
    **refused** in a canonical table, which people write, unless ``allow_unknown_types``: it is
    most likely a typo (``z99.mega``); a **warning** in an AWS bill (CUR, FOCUS, Cost Explorer,
    Athena), which names only types AWS sells, so the vocabulary is what is behind.
a period more than :data:`MAX_GAP_DAYS` from the workspace's usage
    **refused** unless ``allow_gap``: a FOCUS file of 2024 mixed into a 2018 workspace makes one
    history with a years-long hole; such usage belongs in another workspace.
rows a day apart (a daily file read as hourly; :func:`daily_rows_warning`)
    a **warning** where a command reads ``--usage`` files.

A lookback longer than the data is the fifth case; it is checked where a lookback is used
(:func:`commitopt.cli.inputs.warn_if_lookback_exceeds`: a warning).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

import numpy as np
import pandas as pd

from core.errors import param
from pricing.instance_types import unknown_families
from pricing.services import EC2, key_services
from usage.errors import UsageInputError
from usage.table import DAILY_GRANULAR_ATTR, KEY_COLUMNS

MAX_GAP_DAYS: Final = 365.0
"""Largest gap [days] between an import and the workspace's usage accepted without asking."""

_HOURS_PER_DAY: Final = 24
_DAY_NS: Final = 86_400 * 10**9

BILL_KINDS: Final = frozenset({"cur", "cur2", "focus", "cost-explorer", "athena"})
"""Import kinds written by AWS (their instance types are real even when commitopt lags)."""


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
) -> list[str]:
    """Refuse implausible usage; return the warnings for what is only suspicious.

    Parameters
    ----------
    frame
        The canonical usage about to be imported.
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
        Accept unknown instance families in a canonical table; accept a distant period.

    Raises
    ------
    usage.errors.UsageInputError
        Hours after now; an unknown family in a canonical table; a period too far from the
        workspace's usage.
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
            raise UsageInputError(
                source,
                f"column instance_type: unknown instance families {examples}",
                "correct the types (e.g. m5.large), or, for a family AWS launched after this "
                f"commitopt, pass {param('allow_unknown_types')}",
            )
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
    hour_ns = frame["hour"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    if len(np.unique(hour_ns % _DAY_NS)) == _HOURS_PER_DAY:  # every hour of the day: hourly
        return None
    key_codes = frame.groupby(list(KEY_COLUMNS), sort=False, dropna=False).ngroup().to_numpy()
    order = np.lexsort((hour_ns, key_codes))
    same_key = key_codes[order][1:] == key_codes[order][:-1]
    gaps_ns = np.diff(hour_ns[order])[same_key]
    if gaps_ns.size < 2 or not bool((gaps_ns == _DAY_NS).all()):
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


__all__ = ["BILL_KINDS", "MAX_GAP_DAYS", "check_plausible", "daily_rows_warning"]
