"""Every rate of a Savings Plans offer file: EC2, Fargate, Lambda, SageMaker and databases.

AWS publishes three Savings Plans offers, one file per region, in one layout (CSV: five preamble
lines, then ``SKU, RateCode, Unit, EffectiveDate, DiscountedRate, Currency, DiscountedSKU,
DiscountedServiceCode, DiscountedUsageType, DiscountedOperation, PurchaseOption,
LeaseContractLength, LeaseContractLengthUnit, ServiceCode, UsageType, Operation, Description,
Instance Family, Location, Location Type, Granularity, Product Family, DiscountedRegionCode,
DiscountedInstanceType``; JSON: ``products`` and ``terms.savingsPlan[].rates[]``):

==================================  ===============================  ==========================
URL path (``savingsPlan/v1.0/aws/``)  plans (``Product Family``)        rates read here
==================================  ===============================  ==========================
``AWSComputeSavingsPlan``           ``ComputeSavingsPlans``,         EC2 instance-hours
                                    ``EC2InstanceSavingsPlans``      (:mod:`.savings_plans_offer`),
                                                                     Fargate and Lambda
``AWSMachineLearningSavingsPlans``  ``SageMakerSavingsPlans``        SageMaker ML instance-hours
``AWSDatabaseSavingsPlans``         Database Savings Plans           RDS and ElastiCache
                                                                     (:mod:`.database_savings_plans_offer`)
==================================  ===============================  ==========================

The offer paths are those of AWS's Savings Plans region index files; the SageMaker plan's
``productFamily`` ``SageMakerSavingsPlans`` and a rate ``USE1-Train:ml.m4.16xlarge`` /
``RunInstance`` / ``AmazonSageMaker`` / ``Hrs`` are as public code quotes AWS's file
(vantage-sh/ec2instances.info ``sagemaker.py``). The CSV's ``OfferCode`` line of the SageMaker
and Database offers was not seen: any of the spellings in :data:`OFFER_KINDS` is accepted.

One DuckDB scan (CSV) or one streamed walk (JSON) reads the rates of every service; they are then
split by ``DiscountedServiceCode``. The catalog's notes count, by reason, every rate left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Final

import duckdb
import pandas as pd

from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.errors import PriceFileError
from pricing.readers.common import SniffedFile, offer_publication_date, require_columns, sniff
from pricing.readers.compute_rate_rows import COMPUTE_SERVICE_CODES
from pricing.readers.compute_savings_plans_rates import compute_savings_plans_table
from pricing.readers.database_savings_plans_offer import (
    DATABASE_SERVICE_CODES,
    OperationPlatforms,
    database_offer_table,
)
from pricing.readers.json_stream import open_json
from pricing.readers.savings_plans_json import JSON_NAMES, json_row_name, offer_json_rates
from pricing.readers.savings_plans_offer import (
    CSV_COLUMNS,
    CSV_NAMES,
    CSV_OPTIONAL,
    DUCKDB_MEMORY_LIMIT,
    RateSource,
    csv_preamble,
    csv_row_namer,
    savings_plans_table,
)
from pricing.regions import check_region

OFFER_KINDS: Final[dict[str, str]] = {
    "amazoncomputesavingsplan": "compute",
    "awscomputesavingsplan": "compute",
    "computesavingsplans": "compute",
    "awsmachinelearningsavingsplans": "sagemaker",
    "amazonmachinelearningsavingsplans": "sagemaker",
    "machinelearningsavingsplans": "sagemaker",
    "awsdatabasesavingsplans": "database",
    "amazondatabasesavingsplans": "database",
    "databasesavingsplans": "database",
}
"""Offer codes (lower case; the file's ``OfferCode`` or its URL path) -> which offer it is."""

_FIX: Final = "download the Savings Plans offer file again and import it unmodified"
_EC2_USAGE: Final = r"(?:BoxUsage|DedicatedUsage):"
_NOT_EC2_CAPACITY: Final = r"^(?!(?:[A-Z]{2,4}\d?-)?(?:UnusedBox|UnusedDed|HostUsage):)"
"""Keeps every rate but EC2's capacity-reservation and Dedicated Host ones while the JSON is
walked (most of a Compute Savings Plans file), so memory holds what is keyed or counted."""


def read_savings_plans_offer(
    path: str | Path,
    *,
    regions: Sequence[str] = (),
    operation_platforms: OperationPlatforms | None = None,
) -> PriceCatalog:
    """Read the rates of any Savings Plans offer file (CSV or JSON, plain or gzip).

    Parameters
    ----------
    path
        A regional offer file of ``AWSComputeSavingsPlan``, ``AWSMachineLearningSavingsPlans``
        or ``AWSDatabaseSavingsPlans``.
    regions
        Region codes to keep (all when empty).
    operation_platforms
        The engine of each RDS / ElastiCache operation code, for Database Savings Plans rates
        (:func:`pricing.readers.database_savings_plans_offer.operation_platforms`).

    Returns
    -------
    PriceCatalog
        ``savings_plans`` rows: ``compute`` and ``ec2_instance`` of EC2 keys, ``compute`` of
        Fargate and Lambda keys, ``sagemaker`` of SageMaker keys, ``database`` of RDS and
        ElastiCache keys, each with ``sp_hourly_usd`` per key unit-hour; the notes count what
        was left out. ``as_of`` is the file's publication date.

    Raises
    ------
    PriceFileError
        An unreadable, HTML, truncated or malformed file; another offer; missing columns; a
        malformed rate (naming its row and column); no rate of any modelled service.
    """
    file = Path(path)
    regions = [check_region(region) for region in regions]
    sniffed = sniff(file)
    if sniffed.head_text.lstrip().startswith("{"):
        raw, source, name, as_of = _read_json(sniffed)
    else:
        raw, source, name, as_of = _read_csv(sniffed)
    tables: list[pd.DataFrame] = []
    notes: list[str] = []
    ec2 = raw["service_code"].eq("AmazonEC2").to_numpy()
    ec2_raw = raw.loc[ec2 & raw["usage_type"].str.contains(_EC2_USAGE, regex=True).to_numpy()]
    if len(ec2_raw):
        table, ec2_notes = savings_plans_table(ec2_raw, source, regions)
        tables.append(table)
        notes += ec2_notes
    compute = raw.loc[raw["service_code"].isin(list(COMPUTE_SERVICE_CODES)).to_numpy()]
    if len(compute):
        table, compute_notes = compute_savings_plans_table(compute, source)
        tables.append(table)
        notes += compute_notes
    others = raw.loc[~ec2 & ~raw["service_code"].isin(list(COMPUTE_SERVICE_CODES)).to_numpy()]
    if len(others):
        table, database_notes = database_offer_table(others, source, operation_platforms or {})
        tables.append(table)
        notes += database_notes
    filled = [table for table in tables if len(table)]
    combined = pd.concat(filled, ignore_index=True) if filled else None
    if combined is not None and regions:
        combined = combined.loc[combined["region"].isin(regions)]
    if combined is None or combined.empty:
        scope = f" in region(s) {', '.join(regions)}" if regions else ""
        raise PriceFileError(
            file,
            f"no Savings Plans rate of a modelled service{scope}"
            + (f" ({notes[0]})" if notes else ""),
            "Savings Plans offer files are regional: import the file of each region you use "
            "(savingsPlan/v1.0/aws/<offer>/<version>/<region>/index.csv)",
        )
    metadata = CatalogMetadata(source=f"{name} ({file.name})", as_of=as_of, notes=tuple(notes))
    return PriceCatalog.from_frames(metadata, savings_plans=combined.reset_index(drop=True))


def _read_csv(sniffed: SniffedFile) -> tuple[pd.DataFrame, RateSource, str, date]:
    file = sniffed.path
    preamble, header, skip = csv_preamble(sniffed)
    require_columns(file, header, CSV_COLUMNS.values(), "Savings Plans offer CSV")
    offer = preamble.get("OfferCode", "")
    if offer and offer.lower() not in OFFER_KINDS:
        raise PriceFileError(
            file,
            f"OfferCode is {offer!r}, not a Savings Plans offer",
            "pass an AWSComputeSavingsPlan, AWSMachineLearningSavingsPlans or "
            "AWSDatabaseSavingsPlans offer file (on-demand prices have their own readers)",
        )
    if "Publication Date" not in preamble:
        raise PriceFileError(file, "the preamble has no 'Publication Date' line", _FIX)
    raw = _query(sniffed, skip, header)
    raw["term"] = raw["term_length"].str.strip() + " " + raw["term_unit"].str.strip()
    source = RateSource(str(file), CSV_NAMES, csv_row_namer(sniffed), _FIX)
    name = f"AWS Price List {offer or 'Savings Plans'} {preamble.get('Version', '')} CSV"
    as_of = offer_publication_date(file, preamble["Publication Date"], "Publication Date")
    return raw, source, " ".join(name.split()), as_of


def _query(sniffed: SniffedFile, skip: int, header: list[str]) -> pd.DataFrame:
    """Scan the CSV: EC2 instance rows and every other service's rows, the needed columns."""

    def quoted(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    selected = [f"{quoted(column)} AS {name}" for name, column in CSV_COLUMNS.items()]
    selected += [
        f"{quoted(column)} AS {name}" if column in header else f"NULL::VARCHAR AS {name}"
        for name, column in CSV_OPTIONAL.items()
    ]
    service, usage = quoted("DiscountedServiceCode"), quoted("DiscountedUsageType")
    condition = (
        f"{service} <> 'AmazonEC2' OR {usage} LIKE '%BoxUsage:%' "
        f"OR {usage} LIKE '%DedicatedUsage:%'"
    )
    columns = "{" + ", ".join("'" + c.replace("'", "''") + "': 'VARCHAR'" for c in header) + "}"
    compression = "gzip" if sniffed.compressed == "gzip" else "none"
    sql = (
        f"SELECT {', '.join(selected)} FROM read_csv($path, skip={skip}, header=true, "
        f"auto_detect=false, columns={columns}, delim=',', quote='\"', escape='\"', "
        f"compression='{compression}') WHERE {condition}"
    )
    connection = duckdb.connect(
        config={"memory_limit": DUCKDB_MEMORY_LIMIT, "preserve_insertion_order": False}
    )
    try:
        frame: pd.DataFrame = (
            connection.sql(sql, params={"path": str(sniffed.path)}).to_arrow_table().to_pandas()
        )
    except duckdb.Error as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise PriceFileError(sniffed.path, f"cannot parse the CSV ({first})", _FIX) from error
    finally:
        connection.close()
    return frame.astype("string")


_SERVICE_CODES: Final = (
    "AmazonEC2", *COMPUTE_SERVICE_CODES, *DATABASE_SERVICE_CODES,
    "AmazonDynamoDB", "AmazonDocDB", "AmazonNeptune", "AmazonTimestream", "AmazonMCS",
    "AWSDatabaseMigrationSvc", "AuroraDSQL", "AmazonES",
)  # fmt: skip
"""The ``discountedServiceCode`` values read from a JSON offer (botocore's Savings Plans model's
``SavingsPlanRateServiceCode``): the modelled ones are keyed, the others counted."""


def _read_json(sniffed: SniffedFile) -> tuple[pd.DataFrame, RateSource, str, date]:
    file = sniffed.path
    with open_json(sniffed, fix=_FIX) as stream:
        header, raw = offer_json_rates(stream, _NOT_EC2_CAPACITY, _SERVICE_CODES)
    raw = raw.astype("string")
    for column in ("region_hint", "instance_type_hint"):
        raw[column] = pd.NA
    families = sorted(set(raw["plan_family"].dropna()))
    source = RateSource(str(file), JSON_NAMES, json_row_name, _FIX)
    name = f"AWS Price List Savings Plans offer {header.get('version', '')} JSON"
    if families:
        name += f" ({', '.join(families)})"
    as_of = offer_publication_date(file, header["publicationDate"], "publicationDate")
    return raw, source, " ".join(name.split()), as_of


__all__ = ["OFFER_KINDS", "read_savings_plans_offer"]
