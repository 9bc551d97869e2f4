"""Reader of ec2instances.info's OpenSearch Service data (``opensearch-instances.json``).

The file is a JSON list of instance-type records (optionally gzipped), the layout of the
ElastiCache file (:mod:`pricing.readers.elasticache_instances_info`) without an engine level::

    {"servicecode": "AmazonES", "instance_type": "r6g.large.search", ...,
     "pricing": {"us-east-1": {"ondemand": 0.167,
                               "reserved": {"yrTerm1Standard.noUpfront": 0.115,
                                            "yrTerm1Standard.partialUpfront": 0.11, ...}}}}

Instance types keep the OpenSearch API's spelling (``r6g.large.search``), the key's platform is
``opensearch`` and its tenancy ``Node`` (:data:`pricing.databases.DATABASE_PLATFORMS`). Every
reserved value is an **effective** hourly rate (upfront ÷ term hours + recurring), split into
upfront and recurring as the EC2 and ElastiCache files are
(:func:`pricing.readers.ec2instances_info.split_effective_hourly`; Partial and All Upfront rows
marked ``derived``). OpenSearch reservations are standard and exact-type; no Savings Plan covers
them. Missing or zero values and unrecognised price keys are skipped and counted in the notes.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd

from core.errors import CommitoptInputError
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.databases import CACHE_NODE, DATABASE_PLATFORMS, OPENSEARCH
from pricing.errors import PriceFileError
from pricing.instance_types import OPENSEARCH_SUFFIX
from pricing.offerings import PARTIAL_UPFRONT_RI_UPFRONT_SHARE
from pricing.readers.common import sniff
from pricing.readers.elasticache_instances_info import (
    checked_rates,
    price_entries,
    price_tables,
    rate_value,
)

OPENSEARCH_PLATFORM: Final = DATABASE_PLATFORMS[(OPENSEARCH, "OpenSearch")]
"""The platform of every OpenSearch key (``opensearch``)."""

_FIX: Final = "download opensearch-instances.json again from ec2instances.info"


def read_opensearch_instances_info(
    path: str | Path, *, as_of: date | None = None, source: str | None = None
) -> PriceCatalog:
    """Read an ec2instances.info ``opensearch-instances.json(.gz)`` into a price catalog.

    Parameters
    ----------
    path
        A JSON list of OpenSearch instance-type records, gzipped or not.
    as_of
        Date of the prices; defaults to the file's modification date (UTC), which the notes say.
    source
        Provenance shown by ``pricing info``; defaults to ``"ec2instances.info <file name>"``.

    Returns
    -------
    PriceCatalog
        On-demand rates and standard reserved offerings per (region, instance type,
        ``opensearch``, ``Node``) [USD per instance-hour]; no Savings Plans rates.

    Raises
    ------
    PriceFileError
        Missing, empty, HTML or invalid JSON; a record without a ``*.search`` instance type; a
        negative rate; no rate at all.
    """
    file = Path(path)
    records = _load_records(file)
    skipped: Counter[str] = Counter()
    rows: list[tuple[str, str, str, str, float]] = []
    for record in records:
        instance_type = record["instance_type"]
        for region, prices in (record.get("pricing") or {}).items():
            for price_key, value in price_entries(prices):
                rows.append(
                    (region, instance_type, OPENSEARCH_PLATFORM, price_key, rate_value(value))
                )
    prices_frame = pd.DataFrame(
        rows, columns=["region", "instance_type", "platform", "price_key", "rate_usd"]
    ).assign(tenancy=CACHE_NODE)
    prices_frame = checked_rates(prices_frame, file, skipped)
    on_demand, reserved = price_tables(prices_frame, skipped)
    if on_demand.empty and reserved.empty:
        raise PriceFileError(file, "no OpenSearch instance prices found", _FIX)
    notes = [f"skipped {count} value(s): {reason}" for reason, count in skipped.most_common()]
    if as_of is None:
        as_of = datetime.fromtimestamp(file.stat().st_mtime, tz=UTC).date()
        notes.append("as-of date is the file's modification date (no date in the file)")
    share = PARTIAL_UPFRONT_RI_UPFRONT_SHARE
    metadata = CatalogMetadata(
        source=source or f"ec2instances.info {file.name}",
        as_of=as_of,
        partial_upfront_split=(
            "the OpenSearch file gives effective hourly reserved rates only; split by payment "
            f"option: Partial Upfront = {share:.0%} of effective rate × term hours upfront, "
            "All Upfront = all upfront, No Upfront = all recurring; Partial and All Upfront rows "
            "are marked derived"
        ),
        notes=tuple(notes),
    )
    try:
        return PriceCatalog.from_frames(metadata, on_demand=on_demand, reserved=reserved)
    except CommitoptInputError as error:
        raise PriceFileError(file, error.template, _FIX) from error


def _load_records(file: Path) -> list[dict[str, Any]]:
    sniffed = sniff(file)
    raw = gzip.decompress(file.read_bytes()) if sniffed.compressed else file.read_bytes()
    try:
        payload = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PriceFileError(file, f"not valid JSON text ({error})", _FIX) from error
    if not isinstance(payload, list) or not payload:
        raise PriceFileError(file, "expected a non-empty JSON list of instance-type records", _FIX)
    for index, record in enumerate(payload):
        name = record.get("instance_type") if isinstance(record, dict) else None
        if not isinstance(name, str) or not name.endswith(OPENSEARCH_SUFFIX):
            raise PriceFileError(
                file,
                f"record {index} has no 'instance_type' naming a *.search instance type",
                "pass ec2instances.info's opensearch-instances.json (its ElastiCache and EC2 "
                "files are read with --input-format elasticache-instances-info and "
                "ec2instances-info)",
            )
    return payload
