"""A Cost and Usage Report's own on-demand rates of database instances and nodes.

The database twin of :mod:`pricing.readers.cur_rates`: every database instance-hour a CUR bills
carries its rate. The rate of a key is ``pricing/publicOnDemandRate`` where the CUR has it (rows
of type ``Usage`` or ``DiscountedUsage``); otherwise ``lineItem/UnblendedRate`` of the rows billed
on demand (type ``Usage`` with ``pricing/term`` ``OnDemand`` or empty), which is the public rate
for an account without private pricing. The key comes from the usage type
(:func:`pricing.databases.parse_database_usage_type`: region, class, deployment) and the engine
column (``product/databaseEngine`` for RDS, ``product/cacheEngine`` for ElastiCache and
MemoryDB), with ``product/databaseEdition`` and ``product/licenseModel`` for RDS Oracle and SQL
Server, through :func:`pricing.readers.database_platforms.price_platform`. The services: RDS,
ElastiCache, OpenSearch (``AmazonES``, ``ESInstance:r6g.large`` -> ``r6g.large.search``), Redshift
(``AmazonRedshift``, ``Node:ra3.xlplus``) and MemoryDB (``AmazonMemoryDB``,
``NodeUsage:db.r6g.large``). Database reservations are not read from the CUR yet.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, Final

import duckdb
import pandas as pd

from pricing.catalog import KEY_COLUMNS, CatalogMetadata, PriceCatalog
from pricing.databases import RESERVED_SERVICES, DatabaseUsageType, parse_database_usage_type
from pricing.errors import PriceFileError
from pricing.readers.cur_columns import (
    CUR_WHAT,
    ON_DEMAND_RATE_COLUMNS,
    SERVICE_RATE_COLUMNS,
    cur_files,
    cur_select_sql,
    cur_source,
    describe_files,
    not_a_cur,
    require_usd,
)
from pricing.readers.database_platforms import price_platform

REQUIRED_COLUMNS: Final = SERVICE_RATE_COLUMNS
"""Normalised names a file must have."""

OPTIONAL_COLUMNS: Final = (
    *ON_DEMAND_RATE_COLUMNS,
    "product_database_engine",
    "product_cache_engine",
    "product_database_edition",
    "product_license_model",
)
"""Columns used when present (one of the two rates is needed for any rate)."""

_RATES_SQL: Final = """
rows AS (
    SELECT
        trim(line_item_product_code) AS service,
        trim(line_item_usage_type) AS usage_type,
        trim(coalesce(CASE trim(line_item_product_code)
                      WHEN 'AmazonRDS' THEN product_database_engine
                      ELSE product_cache_engine END, '')) AS engine,
        trim(coalesce(product_database_edition, '')) AS edition,
        trim(coalesce(product_license_model, '')) AS license_model,
        upper(trim(coalesce(line_item_currency_code, ''))) AS currency,
        CAST(line_item_usage_start_date AS TIMESTAMPTZ) AS usage_start,
        CASE
            WHEN try_cast(pricing_public_on_demand_rate AS DOUBLE) > 0
                 AND trim(line_item_line_item_type) IN ('Usage', 'DiscountedUsage')
                THEN try_cast(pricing_public_on_demand_rate AS DOUBLE)
            WHEN trim(line_item_line_item_type) = 'Usage'
                 AND coalesce(nullif(trim(pricing_term), ''), 'OnDemand') = 'OnDemand'
                 AND try_cast(line_item_unblended_rate AS DOUBLE) > 0
                THEN try_cast(line_item_unblended_rate AS DOUBLE)
        END AS rate
    FROM source
    WHERE trim(line_item_product_code) IN ({services})
)
SELECT service, usage_type, engine, edition, license_model,
       count(*) AS line_items,
       count(rate) AS rated,
       arg_max(rate, usage_start) FILTER (WHERE rate IS NOT NULL) AS rate,
       min(rate) AS low, max(rate) AS high,
       max(usage_start) AS last_start,
       list_distinct(list(currency) FILTER (WHERE currency <> '')) AS currencies
FROM rows GROUP BY ALL
ORDER BY service, usage_type, engine, edition, license_model
"""


def read_cur_database_rates(
    paths: Sequence[str | Path], *, require_rows: bool = True
) -> PriceCatalog:
    """Read the on-demand rates of database instance and node keys billed in CUR files.

    Parameters
    ----------
    paths
        CUR files (Parquet, CSV, CSV.gz), folders or globs; legacy or CUR 2.0 layouts.
    require_rows
        Raise when no database instance rate is found; otherwise return an empty catalog.

    Returns
    -------
    PriceCatalog
        ``on_demand`` per (region, class, platform, deployment) [USD per instance- or node-hour],
        the most recent row's rate where a key shows several (the notes say where it changed);
        no reserved or Savings Plans rows. ``source`` is ``"CUR <file>"``; ``as_of`` the date of
        the latest rated hour. The notes count the rows left out by reason.

    Raises
    ------
    PriceFileError
        A file missing, unreadable or without the needed columns; a currency other than USD; no
        database instance rate (with ``require_rows``).
    """
    files = cur_files(paths)
    where = describe_files(files)
    connection = duckdb.connect(":memory:")
    try:
        connection.execute("SET TimeZone = 'UTC'")
        select = cur_select_sql(
            connection, files, required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, what=CUR_WHAT
        )
        try:
            services = ", ".join(f"'{code}'" for code in RESERVED_SERVICES)
            rates_sql = _RATES_SQL.replace("{services}", services)
            grouped = connection.execute(f"WITH source AS ({select}), {rates_sql}").df()
        except duckdb.Error as error:
            raise not_a_cur(where, error) from error
    finally:
        connection.close()
    require_usd([c for cs in grouped["currencies"] for c in cs], where)
    source = cur_source(files)
    on_demand, notes, last = _on_demand(grouped)
    if on_demand.empty and require_rows:
        raise PriceFileError(
            where,
            "no RDS, ElastiCache, OpenSearch, Redshift or MemoryDB instance or node rate (Usage "
            "rows of a mapped engine with a public on-demand or unblended rate)"
            + (f"; {notes[0]}" if notes else ""),
            "pass a CUR that bills database instances or nodes, or import AWS's price list",
        )
    as_of = last or date.today()
    metadata = CatalogMetadata(source=source, as_of=as_of, notes=tuple(notes))
    return PriceCatalog.from_frames(metadata, on_demand=on_demand.assign(source=source))


def _on_demand(grouped: pd.DataFrame) -> tuple[pd.DataFrame, list[str], date | None]:
    """Key each (service, usage type, engine) group; collect the rates, notes and latest date."""
    skipped: Counter[str] = Counter()
    rows: list[tuple[str, str, str, str, float]] = []
    changed: list[str] = []
    last: date | None = None
    records: list[dict[str, Any]] = grouped.to_dict("records")  # type: ignore[assignment]
    for group in records:
        parsed = parse_database_usage_type(str(group["usage_type"]))
        if not isinstance(parsed, DatabaseUsageType):
            if parsed.reason.startswith("not database instance usage"):
                continue  # storage, I/O, backup, transfer: no instance rate to read
            skipped[parsed.reason] += int(group["line_items"])
            continue
        if parsed.service != group["service"] or group["service"] not in RESERVED_SERVICES:
            skipped[f"{parsed.usage_kind} usage under {group['service']}"] += int(
                group["line_items"]
            )
            continue
        platform, reason = price_platform(
            str(group["service"]),
            str(group["engine"]),
            str(group["edition"]),
            str(group["license_model"]),
        )
        if platform is None:
            skipped[reason] += int(group["line_items"])
            continue
        if not group["rated"]:
            skipped["no public on-demand or on-demand unblended rate"] += int(group["line_items"])
            continue
        rows.append(
            (
                parsed.region,
                parsed.instance_class,
                platform,
                parsed.deployment,
                float(group["rate"]),
            )
        )
        if group["low"] != group["high"]:
            changed.append(f"{parsed.usage_type} {platform}: {group['low']}–{group['high']}")
        stamp = pd.Timestamp(group["last_start"]).date()
        last = stamp if last is None or stamp > last else last
    frame = pd.DataFrame(rows, columns=[*KEY_COLUMNS, "on_demand_usd_per_hour"])
    duplicated = frame.duplicated(list(KEY_COLUMNS), keep=False)
    if duplicated.any():
        # one key billed under two engine spellings (e.g. Redis and Redis OSS): keep the highest
        changed.append(f"{int(duplicated.sum())} rows of keys billed under two engine names")
        frame = frame.sort_values("on_demand_usd_per_hour").drop_duplicates(
            list(KEY_COLUMNS), keep="last"
        )
    notes = [f"skipped {n} database line items: {reason}" for reason, n in skipped.most_common()]
    if changed:
        notes.append("rate changed within the CUR, the latest used: " + "; ".join(changed[:3]))
    return frame.sort_values(list(KEY_COLUMNS)).reset_index(drop=True), notes, last
