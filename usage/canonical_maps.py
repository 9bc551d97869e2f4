"""Distinct raw hours and keys of canonical usage files, mapped to canonical values.

The rules are those of :func:`usage.table.validate_usage_table`, applied to the few thousand
distinct values one scan finds (:mod:`usage.canonical_files`) instead of to every row: hours need a
zone and must be whole UTC hours (:func:`map_hour_texts`); regions are AWS codes, instance types
parse as ``family.size``, platforms and tenancies resolve their aliases (:func:`key_map`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from pricing.errors import UnknownInstanceTypeError
from pricing.instance_types import parse_instance_type
from pricing.regions import REGION_CODES
from pricing.services import misfit_keys
from usage.table import _TENANCY_SPELLINGS, _ZONE_SUFFIX, KEY_COLUMNS, canonical_platform

_US_PER_HOUR: Final = 3_600_000_000


@dataclass(frozen=True)
class HourTexts:
    """Distinct hour texts of one file and what they mean.

    Attributes
    ----------
    table
        ``raw_hour``, ``rows``, ``status`` (``ok``, ``malformed``, ``naive``, ``off_hour``),
        ``hour_us`` (microseconds since the epoch, UTC; 0 unless ok).
    valid
        ``raw_hour``, ``hour_us`` of the ok ones (the join table).
    """

    table: pd.DataFrame
    valid: pd.DataFrame


def map_hour_texts(hours: pd.DataFrame) -> HourTexts:
    """Parse distinct hour texts with the rules of ``validate_usage_table`` (docs/usage-table.md).

    A zone is required (``Z``, an offset, ``UTC``/``GMT``); ISO 8601 first, other layouts with a
    zone as pandas guesses them; the result must be a whole UTC hour.
    """
    raw = hours["raw_hour"].astype(object)
    missing = raw.isna().to_numpy()
    texts = raw.where(~missing, "").astype(str).reset_index(drop=True)
    has_zone = texts.str.contains(_ZONE_SUFFIX, regex=True).to_numpy()
    stripped = texts.str.replace(r"\s*(?:UTC|GMT|utc|gmt)\s*$", "Z", regex=True)
    parsed = pd.to_datetime(stripped, utc=True, format="ISO8601", errors="coerce")
    retry = parsed.isna().to_numpy() & has_zone
    if retry.any():
        parsed[retry] = pd.to_datetime(stripped[retry], utc=True, format="mixed", errors="coerce")
    ok = parsed.notna().to_numpy() & ~missing
    micros = np.zeros(len(texts), dtype=np.int64)
    if ok.any():
        micros[ok] = pd.DatetimeIndex(parsed[ok]).as_unit("us").asi8
    status = np.where(~ok, "malformed", np.where(~has_zone, "naive", "ok")).astype(object)
    off_hour = (status == "ok") & (micros % _US_PER_HOUR != 0)
    status[off_hour] = "off_hour"
    table = pd.DataFrame(
        {
            "raw_hour": raw.reset_index(drop=True),
            "rows": hours["rows"].to_numpy(dtype=np.int64),
            "status": status,
            "hour_us": micros,
        }
    )
    good = table["status"] == "ok"
    valid = table.loc[good, ["raw_hour", "hour_us"]].astype({"raw_hour": str})
    return HourTexts(table, valid.reset_index(drop=True))


def _instance_type(name: str) -> str | None:
    try:
        parse_instance_type(name)
    except UnknownInstanceTypeError:
        return None
    return name


_REGIONS: Final = frozenset(REGION_CODES)
_CANONICAL: Final[dict[str, Callable[[str], str | None]]] = {
    "region": lambda text: text if text in _REGIONS else None,
    "instance_type": _instance_type,
    "platform": canonical_platform,
    "tenancy": lambda text: _TENANCY_SPELLINGS.get(text.lower()),
}


@dataclass(frozen=True)
class KeyMap:
    """Distinct raw keys of every file and their canonical keys.

    Attributes
    ----------
    table
        ``file_index``, ``raw_<column>``, ``rows``, ``<column>_status`` (``ok``, ``missing``,
        ``unknown``) for region, instance type, platform and tenancy, ``misfit`` (a platform or
        tenancy of another service than the type's), ``key_id`` (-1 unless every column is ok
        and the key fits).
    raw
        Each valid raw key (over all files) with its ``key_id`` and canonical columns: the join
        table (:data:`KEYS_TABLE`).
    valid
        The canonical keys: :data:`usage.table.KEY_COLUMNS`, sorted, ``key_id`` their position.
    """

    table: pd.DataFrame
    raw: pd.DataFrame
    valid: pd.DataFrame


def key_map(keys: pd.DataFrame) -> KeyMap:
    """Map raw keys to canonical ones (values trimmed; aliases resolved; the vocabularies of
    :func:`usage.table.validate_usage_table`)."""
    table = keys.reset_index(drop=True).copy()
    canonical = pd.DataFrame(index=table.index)
    account = table["raw_account_id"].astype("string").str.strip().fillna("")
    canonical["account_id"] = account.astype(object)
    valid = np.ones(len(table), dtype=bool)
    for column, rule in _CANONICAL.items():
        text = table[f"raw_{column}"].astype("string").str.strip()
        missing = (text.isna() | (text == "")).to_numpy(dtype=bool)
        names = pd.Series(pd.unique(text[~missing].astype(str)), dtype=object)
        known = {name: rule(name) for name in names}
        mapped = text.astype(object).map(known)
        unknown = ~missing & mapped.isna().to_numpy(dtype=bool)
        table[f"{column}_status"] = np.where(missing, "missing", np.where(unknown, "unknown", "ok"))
        canonical[column] = mapped
        valid &= ~missing & ~unknown
    # a platform or tenancy of another service than the instance type's (checked once the
    # columns are known): ``misfit`` rows are not valid keys
    misfit = np.zeros(len(table), dtype=bool)
    if valid.any():
        chosen = canonical.loc[valid]
        misfit[valid] = misfit_keys(chosen["instance_type"], chosen["platform"], chosen["tenancy"])
    table["misfit"] = misfit
    valid &= ~misfit
    keys_sorted = (
        canonical.loc[valid, list(KEY_COLUMNS)]
        .drop_duplicates()
        .sort_values(list(KEY_COLUMNS))
        .reset_index(drop=True)
    )
    keys_sorted["key_id"] = np.arange(len(keys_sorted), dtype=np.int64)
    merged = canonical.merge(keys_sorted, on=list(KEY_COLUMNS), how="left")
    table["key_id"] = merged["key_id"].fillna(-1).to_numpy(dtype=np.int64)
    raw_columns = [f"raw_{c}" for c in KEY_COLUMNS]
    raw = pd.concat(
        [table.loc[valid, [*raw_columns, "key_id"]].reset_index(drop=True),
         merged.loc[valid, list(KEY_COLUMNS)].reset_index(drop=True)],
        axis=1,
    ).drop_duplicates(raw_columns)  # fmt: skip
    return KeyMap(
        table,
        raw.astype({c: "string" for c in [*raw_columns, *KEY_COLUMNS]}).reset_index(drop=True),
        keys_sorted.astype({c: "string" for c in KEY_COLUMNS}),
    )


__all__ = ["HourTexts", "KeyMap", "key_map", "map_hour_texts"]
