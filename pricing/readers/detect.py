"""Recognise a price file's format from its first bytes, and read any supported file into a catalog.

Formats:

``price-list-csv`` / ``price-list-json``
    AWS Price List bulk EC2 offer file (``AmazonEC2``).
``database-price-list-csv`` / ``database-price-list-json``
    AWS Price List bulk offer file of RDS, ElastiCache, OpenSearch, Redshift or MemoryDB
    (``AmazonRDS``, ``AmazonElastiCache``, ``AmazonES``, ``AmazonRedshift``, ``AmazonMemoryDB``).
``compute-price-list-csv`` / ``compute-price-list-json``
    AWS Price List bulk offer file of Fargate (``AmazonECS``, ``AmazonEKS``), Lambda
    (``AWSLambda``) or SageMaker (``AmazonSageMaker``): on-demand rates.
``savings-plans-csv`` / ``savings-plans-json``
    AWS Price List Savings Plans offer file (``AWSComputeSavingsPlan``: EC2, Fargate and Lambda;
    ``AWSMachineLearningSavingsPlans``: SageMaker; ``AWSDatabaseSavingsPlans``: RDS and
    ElastiCache).
``ec2instances-info``
    The ``instances.json`` of ec2instances.info.
``elasticache-instances-info``
    ec2instances.info's ElastiCache data (``elasticache-instances.json``).
``opensearch-instances-info``
    ec2instances.info's OpenSearch Service data (``opensearch-instances.json``).
``cur``
    A Cost and Usage Report (legacy or 2.0; CSV, CSV.gz or Parquet): its own public on-demand
    rates and the rates of the RIs and Savings Plans it bills (EC2; database instances; Fargate,
    Lambda and SageMaker).
``catalog``
    A catalog Parquet written by commitopt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Final

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import param
from pricing.catalog import PriceCatalog
from pricing.errors import PriceFileError
from pricing.readers.common import ProgressCallback, sniff

FORMATS: Final = (
    "price-list-csv",
    "price-list-json",
    "database-price-list-csv",
    "database-price-list-json",
    "compute-price-list-csv",
    "compute-price-list-json",
    "savings-plans-csv",
    "savings-plans-json",
    "ec2instances-info",
    "elasticache-instances-info",
    "opensearch-instances-info",
    "cur",
    "catalog",
)
_SAVINGS_PLAN_OFFER_CODES: Final = (
    "awscomputesavingsplan", "amazoncomputesavingsplan", "awsmachinelearningsavingsplans",
    "amazonmachinelearningsavingsplans", "awsdatabasesavingsplans", "amazondatabasesavingsplans",
)  # fmt: skip
_SAVINGS_PLAN_FAMILIES: Final = (
    '"computesavingsplans"', '"ec2instancesavingsplans"', '"sagemakersavingsplans"',
    '"machinelearningsavingsplans"', '"databasesavingsplans"',
)  # fmt: skip
"""Plan ``productFamily`` / ``serviceCode`` values that mark a Savings Plans offer JSON."""
_COMPUTE_OFFER_CODES: Final = ("amazonecs", "amazoneks", "awslambda", "amazonsagemaker")
_DATABASE_OFFER_CODES: Final = (
    "amazonrds", "amazonelasticache", "amazones", "amazonredshift", "amazonmemorydb",
)  # fmt: skip
_CUR_MARKERS: Final = ("lineitem/usagetype", "line_item_usage_type")


def detect_format(path: str | Path) -> str:
    """Return the format name of a price file (one of :data:`FORMATS`).

    Raises
    ------
    PriceFileError
        For an empty, HTML, truncated or unrecognised file, naming what was expected.
    """
    file = Path(path)
    if not file.is_file():
        raise PriceFileError(file, "no such file", "check the path")
    with file.open("rb") as raw:
        magic = raw.read(4)
    if magic == b"PAR1":
        return _parquet_format(file)
    sniffed = sniff(file)
    text = sniffed.head_text.lstrip()
    lowered = text[:20_000].lower()
    if text.startswith(("{", "[")):
        if any(family in lowered for family in _SAVINGS_PLAN_FAMILIES):
            return "savings-plans-json"
        if '"offercode"' in lowered and '"amazonec2"' in lowered:
            return "price-list-json"
        if '"offercode"' in lowered and any(f'"{c}"' in lowered for c in _COMPUTE_OFFER_CODES):
            return "compute-price-list-json"
        if '"offercode"' in lowered and any(f'"{c}"' in lowered for c in _DATABASE_OFFER_CODES):
            return "database-price-list-json"
        if any(code in lowered for code in _SAVINGS_PLAN_OFFER_CODES) or '"savingsplan"' in lowered:
            return "savings-plans-json"
        if '"instance_type"' in lowered and '"pricing"' in lowered:
            if '"amazonelasticache"' in lowered or '"instance_type": "cache.' in lowered:
                return "elasticache-instances-info"
            if '"amazones"' in lowered or '.search"' in lowered:
                return "opensearch-instances-info"
            return "ec2instances-info"
    else:
        first_lines = lowered.splitlines()[:6]
        if first_lines and "formatversion" in first_lines[0]:
            offer = next(
                (line for line in first_lines if line.strip('"').startswith("offercode")), ""
            )
            if "amazonec2" in offer:
                return "price-list-csv"
            if any(f'"{code}"' in offer for code in _DATABASE_OFFER_CODES):
                return "database-price-list-csv"
            if any(offer.rstrip('" ').endswith(code) for code in _COMPUTE_OFFER_CODES):
                return "compute-price-list-csv"
            if any(code in offer for code in _SAVINGS_PLAN_OFFER_CODES):
                return "savings-plans-csv"
        header = first_lines[0] if first_lines else ""
        if any(marker in header for marker in _CUR_MARKERS):
            return "cur"
    raise PriceFileError(
        file,
        "not a recognised price file",
        "pass an AWS Price List EC2, RDS, ElastiCache, OpenSearch (AmazonES), Redshift, MemoryDB, "
        "AmazonECS, AWSLambda, AmazonSageMaker or Savings Plans offer file (CSV or JSON), an "
        "ec2instances.info instances.json, "
        "elasticache-instances.json or opensearch-instances.json, a CUR, or a "
        "commitopt catalog; or name the format "
        f"with {param('file_format')} ({', '.join(FORMATS)})",
    )


def _parquet_format(file: Path) -> str:
    try:
        schema = pq.read_schema(file)
    except (OSError, pa.ArrowException) as error:
        raise PriceFileError(
            file, f"corrupt Parquet file ({error})", "export or download it again"
        ) from error
    if b"commitopt.catalog" in (schema.metadata or {}):
        return "catalog"
    names = {name.lower() for name in schema.names}
    if names & set(_CUR_MARKERS) or "line_item" in names:
        return "cur"
    raise PriceFileError(
        file,
        "Parquet file that is neither a commitopt catalog nor a CUR",
        "pass a CUR export or a catalog written by commitopt",
    )


def read_price_file(
    path: str | Path,
    file_format: str = "auto",
    *,
    regions: Sequence[str] = (),
    progress: ProgressCallback | None = None,
    operation_platforms: Mapping[tuple[str, str], str] | None = None,
) -> PriceCatalog:
    """Read one price file of any supported format into a catalog.

    Parameters
    ----------
    path
        The file.
    file_format
        One of :data:`FORMATS`, or ``"auto"`` to detect it.
    regions
        Keep only these regions (empty: all), where the format allows filtering while reading.
    progress
        Progress callback for long reads.
    operation_platforms
        The engine of each RDS / ElastiCache operation code, for a Database Savings Plans offer
        (:func:`pricing.readers.database_savings_plans_offer.operation_platforms`).
    """
    chosen = detect_format(path) if file_format == "auto" else file_format
    if chosen == "price-list-csv":
        from pricing.readers.price_list_csv import read_price_list_csv

        return read_price_list_csv(path, regions=regions, progress=progress)
    if chosen == "price-list-json":
        from pricing.readers.price_list_json import read_price_list_json

        return read_price_list_json(path, regions=regions)
    if chosen == "database-price-list-csv":
        from pricing.readers.database_price_list import read_database_price_list_csv

        return read_database_price_list_csv(path, regions=regions, progress=progress)
    if chosen == "database-price-list-json":
        from pricing.readers.database_price_list import read_database_price_list_json

        return read_database_price_list_json(path, regions=regions)
    if chosen == "compute-price-list-csv":
        from pricing.readers.compute_price_list import read_compute_price_list_csv

        return read_compute_price_list_csv(path, regions=regions, progress=progress)
    if chosen == "compute-price-list-json":
        from pricing.readers.compute_price_list import read_compute_price_list_json

        return read_compute_price_list_json(path, regions=regions)
    if chosen in ("savings-plans-csv", "savings-plans-json"):
        from pricing.readers.savings_plans_offers import read_savings_plans_offer

        return read_savings_plans_offer(
            path, regions=regions, operation_platforms=operation_platforms
        )
    if chosen == "ec2instances-info":
        from pricing.readers.ec2instances_info import read_ec2instances_info

        return _keep_regions(read_ec2instances_info(path), regions)
    if chosen == "elasticache-instances-info":
        from pricing.readers.elasticache_instances_info import read_elasticache_instances_info

        return _keep_regions(read_elasticache_instances_info(path), regions)
    if chosen == "opensearch-instances-info":
        from pricing.readers.opensearch_instances_info import read_opensearch_instances_info

        return _keep_regions(read_opensearch_instances_info(path), regions)
    if chosen == "cur":
        return _keep_regions(_read_cur(path), regions)
    if chosen == "catalog":
        return _keep_regions(PriceCatalog.read_parquet(path), regions)
    raise PriceFileError(
        path, f"unknown format {file_format!r}", f"use one of {', '.join(FORMATS)}"
    )


def _read_cur(path: str | Path) -> PriceCatalog:
    """A CUR's EC2 rates, its database on-demand rates and its Fargate, Lambda and SageMaker
    rates, in one catalog.

    A CUR that bills no EC2 (or lacks the EC2 reader's columns) gives the other services' rates,
    with a note saying why EC2 was not read; a CUR without any raises the EC2 reader's error.
    """
    from pricing.readers.cur_compute_rates import read_cur_compute_rates
    from pricing.readers.cur_database_rates import read_cur_database_rates
    from pricing.readers.cur_rates import read_cur_rates

    try:
        ec2: PriceCatalog | None = read_cur_rates([path])
        ec2_error: PriceFileError | None = None
    except PriceFileError as error:
        ec2, ec2_error = None, error
    others = [
        read_cur_database_rates([path], require_rows=False),
        read_cur_compute_rates([path], require_rows=False),
    ]
    others = [c for c in others if len(c.on_demand) or len(c.savings_plans)]
    if ec2 is None:
        assert ec2_error is not None
        if not others:
            raise ec2_error
        note = f"EC2 rates not read: {ec2_error.problem}"
        first = others[0]
        ec2 = PriceCatalog.empty(replace(first.metadata, notes=(note,)))
    if not others:
        return ec2
    parts = [ec2, *others]
    return PriceCatalog(
        pd.concat([c.on_demand for c in parts], ignore_index=True),
        ec2.reserved,
        pd.concat([c.savings_plans for c in parts], ignore_index=True),
        replace(ec2.metadata, notes=tuple(n for c in parts for n in c.metadata.notes)),
    )


def _keep_regions(catalog: PriceCatalog, regions: Sequence[str]) -> PriceCatalog:
    return catalog.filter(regions=regions) if regions else catalog
