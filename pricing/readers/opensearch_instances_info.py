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

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any, Final

from pricing.catalog import PriceCatalog
from pricing.databases import DATABASE_PLATFORMS, OPENSEARCH
from pricing.instance_types import OPENSEARCH_SUFFIX
from pricing.readers.elasticache_instances_info import (
    catalog_from_rows,
    load_records,
    price_entries,
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
    return catalog_from_rows(
        rows, file, skipped, what="OpenSearch instance", as_of=as_of, source=source, fix=_FIX
    )


def _load_records(file: Path) -> list[dict[str, Any]]:
    return load_records(
        file,
        lambda name: name.endswith(OPENSEARCH_SUFFIX),
        what="a *.search instance type",
        fix=_FIX,
        wrong_file=(
            "pass ec2instances.info's opensearch-instances.json (its ElastiCache and EC2 "
            "files are read with --input-format elasticache-instances-info and "
            "ec2instances-info)"
        ),
    )
