"""Reader of ec2instances.info's ElastiCache data (``elasticache-instances.json``).

The file is a JSON list of node-type records (optionally gzipped), the same layout as the EC2
``instances.json`` (:mod:`pricing.readers.ec2instances_info`) with the cache engine in place of
the operating system::

    {"instance_type": "cache.m6g.2xlarge", "normalizationSizeFactor": "16", ...,
     "pricing": {"us-east-1": {"Redis": {"ondemand": 0.593,
                                         "reserved": {"yrTerm1Standard.noUpfront": 0.405,
                                                      "yrTerm1Standard.partialUpfront": 0.3857,
                                                      ...}},
                               "Valkey": {...}, "Memcached": {...}}}}

Every reserved value is an **effective** hourly rate (upfront ÷ term hours + recurring), as in
the EC2 file, so the upfront / recurring split is derived the same way
(:func:`pricing.readers.ec2instances_info.split_effective_hourly`; Partial and All Upfront rows
marked ``derived``). Engines map to the key's platform through
:data:`pricing.databases.DATABASE_PLATFORMS` (``Redis`` -> ``redis``, ``Valkey`` -> ``valkey``,
``Memcached`` -> ``memcached``), the tenancy is ``Node``. ElastiCache reservations are standard
only, and no Savings Plan covers a node here, so the catalog has no Savings Plans rows. Unknown
engines, node types without a normalized size, unrecognised price keys, and missing or zero values
are skipped and counted in the catalog's notes.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from core.errors import CommitoptInputError
from pricing.catalog import KEY_COLUMNS, CatalogMetadata, PriceCatalog
from pricing.databases import CACHE_NODE, DATABASE_PLATFORMS, ELASTICACHE, database_engine
from pricing.errors import PriceFileError, UnknownInstanceTypeError
from pricing.instance_types import normalization_factor
from pricing.offerings import PARTIAL_UPFRONT_RI_UPFRONT_SHARE
from pricing.readers.common import sniff
from pricing.readers.ec2instances_info import split_effective_hourly

_RESERVED_KEY: Final = re.compile(
    r"^yrTerm(?P<term>[13])Standard\.(?P<payment>noUpfront|partialUpfront|allUpfront)$"
)
_PAYMENT_NAMES: Final = {
    "noUpfront": "No Upfront",
    "partialUpfront": "Partial Upfront",
    "allUpfront": "All Upfront",
}
_FIX: Final = "download elasticache-instances.json again from ec2instances.info"


def read_elasticache_instances_info(
    path: str | Path, *, as_of: date | None = None, source: str | None = None
) -> PriceCatalog:
    """Read an ec2instances.info ``elasticache-instances.json(.gz)`` into a price catalog.

    Parameters
    ----------
    path
        A JSON list of ElastiCache node-type records, gzipped or not.
    as_of
        Date of the prices; defaults to the file's modification date (UTC), which the notes say.
    source
        Provenance shown by ``pricing info``; defaults to ``"ec2instances.info <file name>"``.

    Returns
    -------
    PriceCatalog
        On-demand rates and standard reserved offerings per (region, node type, engine platform,
        ``Node``) [USD per node-hour]; no Savings Plans rates.

    Raises
    ------
    PriceFileError
        Missing, empty, HTML or invalid JSON; records without a ``cache.`` node type; a negative
        rate; no rate at all.
    """
    file = Path(path)
    records = _load_records(file)
    skipped: Counter[str] = Counter()
    rows: list[tuple[str, str, str, str, float]] = []
    for record in records:
        node_type = record["instance_type"]
        try:
            normalization_factor(node_type)
        except UnknownInstanceTypeError:
            skipped[f"node type {node_type} (no normalized size)"] += 1
            continue
        for region, by_engine in (record.get("pricing") or {}).items():
            if not isinstance(by_engine, dict):
                continue
            for engine_name, prices in by_engine.items():
                engine = database_engine(ELASTICACHE, engine_name)
                platform = DATABASE_PLATFORMS.get((ELASTICACHE, engine or ""))
                if platform is None:
                    skipped[f"engine {engine_name!r} (not mapped)"] += 1
                    continue
                for price_key, value in price_entries(prices):
                    rows.append((region, node_type, platform, price_key, rate_value(value)))
    return catalog_from_rows(
        rows, file, skipped, what="ElastiCache node", as_of=as_of, source=source, fix=_FIX
    )


def catalog_from_rows(
    rows: list[tuple[str, str, str, str, float]],
    file: Path,
    skipped: Counter[str],
    *,
    what: str,
    as_of: date | None,
    source: str | None,
    fix: str,
) -> PriceCatalog:
    """The catalog of an ec2instances.info database file's ``(region, type, platform, price
    key, rate)`` rows, one ``Node`` per key; reserved rates split by payment option.

    Raises
    ------
    PriceFileError
        A negative rate; no rate at all (``what`` names the file's kind: ``"ElastiCache
        node"``); a catalog that does not validate.
    """
    prices_frame = pd.DataFrame(
        rows, columns=["region", "instance_type", "platform", "price_key", "rate_usd"]
    ).assign(tenancy=CACHE_NODE)
    prices_frame = checked_rates(prices_frame, file, skipped)
    on_demand, reserved = price_tables(prices_frame, skipped)
    if on_demand.empty and reserved.empty:
        raise PriceFileError(file, f"no {what} prices found", fix)
    notes = [f"skipped {count} value(s): {reason}" for reason, count in skipped.most_common()]
    if as_of is None:
        as_of = datetime.fromtimestamp(file.stat().st_mtime, tz=UTC).date()
        notes.append("as-of date is the file's modification date (no date in the file)")
    share = PARTIAL_UPFRONT_RI_UPFRONT_SHARE
    metadata = CatalogMetadata(
        source=source or f"ec2instances.info {file.name}",
        as_of=as_of,
        partial_upfront_split=(
            f"the {what.split()[0]} file gives effective hourly reserved rates only; split by "
            f"payment option: Partial Upfront = {share:.0%} of effective rate × term hours "
            "upfront, All Upfront = all upfront, No Upfront = all recurring; Partial and All "
            "Upfront rows are marked derived"
        ),
        notes=tuple(notes),
    )
    try:
        return PriceCatalog.from_frames(metadata, on_demand=on_demand, reserved=reserved)
    except CommitoptInputError as error:
        raise PriceFileError(file, error.template, fix) from error


def load_records(
    file: Path, accepts: Callable[[str], bool], *, what: str, fix: str, wrong_file: str
) -> list[dict[str, Any]]:
    """The records of an ec2instances.info JSON file (gzipped or not), each checked to carry an
    ``instance_type`` that ``accepts`` (``what`` names them: ``"a cache.* node type"``).

    Raises
    ------
    PriceFileError
        Not JSON, not a non-empty list, or a record whose type is not accepted (with
        ``wrong_file``, the fix naming the right file).
    """
    sniffed = sniff(file)
    raw = gzip.decompress(file.read_bytes()) if sniffed.compressed else file.read_bytes()
    try:
        payload = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PriceFileError(file, f"not valid JSON text ({error})", fix) from error
    if not isinstance(payload, list) or not payload:
        raise PriceFileError(file, "expected a non-empty JSON list of type records", fix)
    for index, record in enumerate(payload):
        name = record.get("instance_type") if isinstance(record, dict) else None
        if not isinstance(name, str) or not accepts(name):
            raise PriceFileError(
                file, f"record {index} has no 'instance_type' naming {what}", wrong_file
            )
    return payload


def _load_records(file: Path) -> list[dict[str, Any]]:
    return load_records(
        file,
        lambda name: name.startswith("cache."),
        what="a cache.* node type",
        fix=_FIX,
        wrong_file=(
            "pass ec2instances.info's elasticache-instances.json (EC2's instances.json is "
            "read with --input-format ec2instances-info)"
        ),
    )


def price_entries(prices: object) -> list[tuple[str, object]]:
    """``(price key, raw value)`` of one engine entry: ``ondemand`` and the reserved keys."""
    if not isinstance(prices, dict):
        return []
    entries: list[tuple[str, object]] = []
    if "ondemand" in prices:
        entries.append(("ondemand", prices["ondemand"]))
    reserved = prices.get("reserved")
    if isinstance(reserved, dict):
        entries.extend(reserved.items())
    return entries


def rate_value(value: object) -> float:
    """A raw JSON value as a rate [USD/h]; NaN when missing or not a number."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return float("nan")
    try:
        return float(value)
    except ValueError:
        return float("nan")


def checked_rates(prices: pd.DataFrame, file: Path, skipped: Counter[str]) -> pd.DataFrame:
    """Drop missing and zero rates (counted in ``skipped``); reject negative ones.

    ``prices`` has the key columns, ``price_key`` and ``rate_usd``; shared with
    :mod:`pricing.readers.opensearch_instances_info`.
    """
    rates = prices["rate_usd"].to_numpy(dtype=np.float64)
    finite = np.isfinite(rates)
    negative = finite & (rates < 0)
    if negative.any():
        first = prices.loc[negative].iloc[0]
        raise PriceFileError(
            file,
            f"negative rate {first['rate_usd']} for {first['instance_type']} {first['region']} "
            f"{first['platform']} {first['price_key']}",
            _FIX,
        )
    if (~finite).any():
        skipped["missing, 'N/A' or non-numeric"] += int((~finite).sum())
    zero = finite & (rates == 0)
    if zero.any():
        skipped["zero rate (no USD price listed)"] += int(zero.sum())
    return prices.loc[finite & ~zero]


def price_tables(prices: pd.DataFrame, skipped: Counter[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The on-demand and reserved tables of the catalog (``ondemand`` and
    ``yrTerm{1,3}Standard.*`` keys; other keys counted in ``skipped``)."""
    on_demand_rows = prices.loc[prices["price_key"] == "ondemand"]
    on_demand = on_demand_rows[list(KEY_COLUMNS)].assign(
        on_demand_usd_per_hour=on_demand_rows["rate_usd"]
    )
    parsed = prices["price_key"].str.extract(_RESERVED_KEY)
    is_reserved = parsed["term"].notna().to_numpy()
    unknown = ~is_reserved & (prices["price_key"] != "ondemand").to_numpy()
    if unknown.any():
        keys = sorted(set(prices.loc[unknown, "price_key"]))[:4]
        skipped[f"unrecognised price key(s) {', '.join(keys)}"] += int(unknown.sum())
    rows = prices.loc[is_reserved]
    term_years = parsed.loc[is_reserved, "term"].astype("int64").to_numpy()
    payment = parsed.loc[is_reserved, "payment"].map(_PAYMENT_NAMES).to_numpy(dtype=object)
    effective = rows["rate_usd"].to_numpy(dtype=np.float64)
    upfront, recurring = split_effective_hourly(effective, term_years, payment)
    reserved = rows[list(KEY_COLUMNS)].assign(
        offering_class="standard",
        term_years=term_years,
        payment_option=payment,
        upfront_usd=upfront,
        recurring_usd_per_hour=recurring,
        effective_usd_per_hour=effective,
        derived=payment != "No Upfront",
    )
    order = [*KEY_COLUMNS, "term_years", "payment_option"]
    return (
        on_demand.sort_values(list(KEY_COLUMNS)).reset_index(drop=True),
        reserved.sort_values(order).reset_index(drop=True),
    )
