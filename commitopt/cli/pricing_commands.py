"""``commitopt pricing``: show, import, fetch and describe price catalogs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, Final

import click
import pandas as pd

from commitopt.catalogs import local_catalog_path, write_into_catalog
from commitopt.cli.group import CommitoptGroup
from commitopt.cli.inputs import command_catalog
from commitopt.cli.options import (
    catalog_options,
    input_format_option,
    into_option,
    multi_option,
    profile_option,
)
from commitopt.cli.output import (
    emit_frame,
    emit_mapping,
    emit_text,
    format_option,
    offering_text,
    with_column_after,
)
from commitopt.cli.progress import quiet_option, reporter
from core.errors import CommitoptInputError
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.comparison import INSTRUMENTS, compare_offerings
from pricing.compute_keys import ARCHITECTURES, COMPUTE_PLATFORM_NAMES, FARGATE, LAMBDA, SAGEMAKER
from pricing.databases import (
    DATABASE_PLATFORM_NAMES,
    DATABASE_SERVICES,
    DEPLOYMENTS,
    ELASTICACHE,
    MEMORYDB,
    OPENSEARCH,
    RDS,
    REDSHIFT,
    RESERVED_SERVICES,
)
from pricing.errors import MissingPriceError, PriceFileError
from pricing.offerings import PAYMENT_OPTIONS, parse_payment_option, parse_term_years
from pricing.platforms import parse_platform
from pricing.readers.detect import FORMATS, read_price_file
from pricing.regions import check_region
from pricing.services import EC2, service_of


@click.group(cls=CommitoptGroup)
def pricing() -> None:
    """Price catalogs: show, import, fetch, where rates come from.

    Price catalogs: on-demand, Reserved Instance and Savings Plans rates.

    \b
    Rates come, by precedence: from --catalog files, then the local catalog
    that `pricing import` / `pricing fetch` write, then the embedded
    ec2instances.info snapshots (EC2 of 2017-11-12; ElastiCache and
    OpenSearch of 2025-04-24). RDS, Redshift, MemoryDB, Fargate, Lambda and
    SageMaker prices come only from AWS files, APIs or a CUR.
    """


SHOW_EPILOG = """
\b
Examples:
  commitopt pricing show --region us-east-1 --family c5
  commitopt pricing show --region us-east-1 --family cache.r6g -p valkey
  commitopt pricing show --region us-east-1 -t db.r6g.large -p mysql --tenancy Multi-AZ
  commitopt pricing show --region eu-west-1 -t r6g.large.search --payment all
  commitopt pricing show --region us-east-1 -t fargate.vcpu,lambda.duration --tenancy arm64
  commitopt pricing show --region us-east-1 -f ml.m5 -p sagemaker-training --instrument sagemaker-sp
  commitopt pricing show --instance-type c5.xlarge --region ap-northeast-1 --platform windows
  commitopt pricing show --instance-type m4.large --instrument ri-standard,ec2-sp --term 3
  commitopt pricing show --family t2 --payment no --format csv > t2.csv
"""


@pricing.command("show", epilog=SHOW_EPILOG)
@multi_option("--region", "-r", help_text="Region code(s), e.g. us-east-1.", metavar="REGION")
@multi_option("--instance-type", "-t", help_text="Instance type(s), e.g. m5.large.", metavar="TYPE")
@multi_option("--family", "-f", help_text="Instance family(ies), e.g. c5.", metavar="FAMILY")
@multi_option(
    "--platform",
    "-p",
    help_text="Platform(s): linux, windows, rhel, suse, windows-sql-standard, ...; for database "
    "classes the engine: mysql, aurora-mysql, redis, valkey, ...; fargate-linux, lambda, "
    "sagemaker-training, ... [default: linux; every platform for database, Fargate, Lambda "
    "and SageMaker keys]",
    metavar="PLATFORM",
)
@click.option(
    "--tenancy",
    type=click.Choice(["Shared", "Dedicated", *DEPLOYMENTS, *ARCHITECTURES], case_sensitive=False),
    default=None,
    help="Tenancy, a database class's deployment, or a Fargate, Lambda or SageMaker key's "
    "architecture [default: Shared; all of them for database, Fargate, Lambda and SageMaker "
    "keys].",
)
@multi_option(
    "--instrument",
    help_text=f"Offerings to show: {', '.join(INSTRUMENTS)} [default: all].",
    metavar="NAME",
)
@multi_option("--term", help_text="Term(s) in years: 1, 3 [default: both].", metavar="YEARS")
@multi_option(
    "--payment",
    help_text="Payment option(s): no, partial, all [default: all three].",
    metavar="OPT",
)
@catalog_options
@format_option
@quiet_option
def show(
    region: tuple[str, ...],
    instance_type: tuple[str, ...],
    family: tuple[str, ...],
    platform: tuple[str, ...],
    tenancy: str | None,
    instrument: tuple[str, ...],
    term: tuple[str, ...],
    payment: tuple[str, ...],
    catalog_paths: tuple[Path, ...],
    no_embedded: bool,
    output_format: str,
) -> None:
    """Rates per offering, with effective rate, discount vs on-demand and break-even months.

    Each key (region, type, platform, tenancy) shows its on-demand rate, then every RI offering and
    Savings Plans rate: upfront [USD], recurring [USD/h], effective = upfront ÷ term hours +
    recurring [USD/h], discount vs on-demand [%], and months of full use to break even.
    """
    for code in region:
        check_region(code)
    own_names = (*DATABASE_PLATFORM_NAMES, *COMPUTE_PLATFORM_NAMES)  # spelled as the key is
    not_ec2 = any(service_of(name) != EC2 for name in (*instance_type, *family)) or any(
        p.lower() in own_names for p in platform
    )
    platforms = tuple(
        p.lower() if p.lower() in own_names else parse_platform(p) for p in platform
    ) or (() if not_ec2 else ("Linux/UNIX",))
    tenancies = _tenancies(tenancy, not_ec2)
    unknown = [name for name in instrument if name not in INSTRUMENTS]
    if unknown:
        raise CommitoptInputError(
            f"unknown --instrument {', '.join(unknown)}; use {', '.join(INSTRUMENTS)}"
        )
    resolved = command_catalog(catalog_paths, no_embedded=no_embedded)
    chosen = resolved.catalog.filter(
        regions=region,
        instance_types=instance_type,
        families=family,
        platforms=platforms,
        tenancies=tenancies,
    )
    table = compare_offerings(
        chosen,
        instruments=instrument or INSTRUMENTS,
        terms_years=tuple(parse_term_years(t) for t in term) or (1, 3),
        payment_options=tuple(parse_payment_option(p) for p in payment) or PAYMENT_OPTIONS,
    )
    if table.empty:
        raise MissingPriceError("", [_describe_request(region, instance_type, family, platforms)])
    _warn_missing(instance_type, region, platforms, chosen)
    if output_format == "table":
        emit_frame(
            _for_people(table),
            "table",
            title=f"Rates from {' > '.join(resolved.layers)}",
            narrow=_show_columns(table),
        )
        emit_text("* derived: computed from other rates (see `commitopt pricing info`).")
    else:
        emit_frame(table, output_format)


def _tenancies(tenancy: str | None, not_ec2: bool) -> tuple[str, ...]:
    """The tenancies ``pricing show`` keeps: the one given (spelled as the catalog spells it),
    else ``Shared``, or every one for a request about other services' keys."""
    if tenancy is None:
        return () if not_ec2 else ("Shared",)
    known = {name.lower(): name for name in ("Shared", "Dedicated", *DEPLOYMENTS, *ARCHITECTURES)}
    return (known[tenancy.lower()],)


def _describe_request(
    regions: Sequence[str], types: Sequence[str], families: Sequence[str], platforms: Sequence[str]
) -> str:
    parts = [
        "/".join(types or [f"{f}.*" for f in families] or ["any type"]),
        "/".join(regions or ["any region"]),
        "/".join(platforms) or "any platform",
    ]
    return " ".join(parts) + " (the embedded 2017 snapshot predates m5, t3 and later families)"


def _warn_missing(
    types: Sequence[str], regions: Sequence[str], platforms: Sequence[str], chosen: PriceCatalog
) -> None:
    """Name requested types that have no rate at all, while showing the others."""
    present = set(chosen.on_demand["instance_type"]) | set(chosen.reserved["instance_type"])
    absent = [t for t in types if t not in present]
    if absent:
        reporter().warning(
            f"no rates for {', '.join(absent)} in "
            f"{'/'.join(regions) or 'any region'} ({'/'.join(platforms) or 'any platform'}); "
            f"{MissingPriceError.REMEDY}"
        )


SHOW_COLUMNS = (
    "region", "instance_type", "platform", "instrument", "offering", "upfront_usd",
    "effective_usd_per_hour", "discount_vs_on_demand_pct", "break_even_months",
)  # fmt: skip
"""The columns of ``pricing show``'s table without ``--wide`` (and ``tenancy`` where it varies)."""


def _show_columns(table: pd.DataFrame) -> tuple[str, ...]:
    """:data:`SHOW_COLUMNS`, with ``tenancy`` after ``platform`` when the rows differ in it (a
    database's deployments, a Fargate key's architectures)."""
    varies = table["tenancy"].nunique() > 1
    return with_column_after(SHOW_COLUMNS, "tenancy", "platform", shown=varies)


def _for_people(table: pd.DataFrame) -> pd.DataFrame:
    """The comparison with ``offering`` (term and payment option, ``*`` when the rate is
    derived) for the terminal table."""
    shown = table.copy()
    offering = offering_text(table)
    shown["offering"] = offering.where(~table["is_derived"].astype(bool), offering + "*")
    return shown


IMPORT_EPILOG = """
\b
Examples:
  commitopt pricing import index.csv                       # AWS Price List EC2 bulk CSV
  commitopt pricing import us-east-1.csv.gz savings-plans-us-east-1.csv --region us-east-1
  commitopt pricing import instances.json --input-format ec2instances-info --format json
  commitopt pricing import AmazonRDS-index.csv.gz AmazonElastiCache-index.json --region us-east-1
  commitopt pricing import AmazonES-index.csv AmazonRedshift-index.json AmazonMemoryDB-index.csv
  commitopt pricing import opensearch-instances.json        # ec2instances.info OpenSearch data
  commitopt pricing import cur-2025-10.parquet --into team-catalog.parquet
  commitopt pricing import AmazonECS-index.csv AWSLambda-index.json AmazonSageMaker-index.csv.gz
  commitopt pricing import AWSComputeSavingsPlan-us-east-1.csv   # EC2, Fargate and Lambda SP rates
  commitopt pricing import AWSMachineLearningSavingsPlans-us-east-1.json   # SageMaker SP rates
  commitopt pricing import AWSDatabaseSavingsPlans-us-east-1.csv AmazonRDS-index.csv.gz

Fargate, Lambda and SageMaker rates are kept per key unit-hour (Lambda's
GB-second rates × 3,600 per GB-hour). A Database Savings Plans offer names
engines by operation code only: import it with the AmazonRDS /
AmazonElastiCache offer file, whose products give each code its engine.
"""


@pricing.command("import", epilog=IMPORT_EPILOG)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@input_format_option(
    "file_format", ("auto", *FORMATS), "Format of the files; auto detects it from their content."
)
@multi_option(
    "--region", "-r", help_text="Keep only these regions [default: all].", metavar="REGION"
)
@into_option
@click.option(
    "--replace", is_flag=True, help="Start the catalog afresh instead of merging into it."
)
@format_option
@quiet_option
def import_(
    files: tuple[Path, ...],
    file_format: str,
    region: tuple[str, ...],
    into: Path | None,
    replace: bool,
    output_format: str,
) -> None:
    """Read AWS price files into the local catalog (merged; the new rates take precedence).

    FILES may be AWS Price List offer files of EC2, RDS, ElastiCache, OpenSearch (AmazonES),
    Redshift, MemoryDB, Fargate (AmazonECS, AmazonEKS), Lambda (AWSLambda) or SageMaker
    (AmazonSageMaker) (CSV or JSON, optionally gzipped), Savings Plans offer files (Compute,
    SageMaker, Database), an ec2instances.info instances.json, elasticache-instances.json or
    opensearch-instances.json, a CUR (its own on-demand, RI and SP rates), or catalogs written by
    commitopt. Rows that cannot be keyed (unmapped engines or editions, Valkey MemoryDB nodes,
    legacy terms, Lambda requests, usage no Savings Plan covers) are counted in notes on stderr.
    All files are read before anything is written; on any error nothing is written.
    """
    for code in region:
        check_region(code)
    target = into or local_catalog_path()
    imported: list[PriceCatalog] = []
    rows: list[dict[str, object]] = []
    operation_platforms = _operation_platforms(files, file_format)
    for path in files:
        with reporter().task(f"reading {path.name}", unit="bytes") as progress:
            catalog = read_price_file(
                path,
                file_format,
                regions=region,
                progress=progress,
                operation_platforms=operation_platforms,
            )
        imported.append(catalog)
        rows.append({"file": str(path), **catalog.counts(), "source": catalog.metadata.source})
        for note in catalog.metadata.notes:
            reporter().note(f"note: {path.name}: {note}")
    merged = write_into_catalog(imported, target, replace=replace)
    summary = pd.DataFrame(rows)
    if output_format == "table":
        shown = summary.assign(file=[Path(f).name for f in summary["file"]])
        emit_frame(shown, "table", title=f"Imported into {target}", narrow=IMPORT_COLUMNS)
        counts = merged.counts()
        emit_text(
            f"{target} now holds {counts['on_demand_rate_count']:,} on-demand rates, "
            f"{counts['reserved_offering_count']:,} RI offerings and "
            f"{counts['savings_plans_rate_count']:,} Savings Plans rates."
        )
    else:
        emit_frame(summary, output_format)


def _operation_platforms(
    files: Sequence[Path], file_format: str
) -> dict[tuple[str, str], str] | None:
    """The engine of each RDS / ElastiCache operation code, read from the database offer files
    among ``files``, when a Savings Plans offer is imported with them (``None`` otherwise)."""
    from pricing.readers.database_savings_plans_offer import operation_platforms
    from pricing.readers.detect import detect_format

    formats = {
        path: detect_format(path) if file_format == "auto" else file_format for path in files
    }
    if not any(f.startswith("savings-plans") for f in formats.values()):
        return None
    found: dict[tuple[str, str], str] = {}
    for path, chosen in formats.items():
        if chosen.startswith("database-price-list"):
            try:
                platforms, notes = operation_platforms(path)
            except PriceFileError:
                continue  # not RDS or ElastiCache: no operation codes to learn
            found.update(platforms)
            for note in notes:
                reporter().note(f"note: {path.name}: {note}")
    return found


IMPORT_COLUMNS = (
    "file", "on_demand_rate_count", "reserved_offering_count", "savings_plans_rate_count",
    "region_count", "instance_type_count",
)  # fmt: skip
"""The columns of ``pricing import``'s table without ``--wide``."""

FETCH_EPILOG = """
\b
Credentials come from boto3's standard chain (AWS_PROFILE, SSO, instance role...).
Needs the IAM permissions pricing:GetProducts and savingsplans:DescribeSavingsPlansOfferingRates
(EC2); for databases pricing:GetProducts and the service's describe permission:
rds:DescribeReservedDBInstancesOfferings (rds),
elasticache:DescribeReservedCacheNodesOfferings (elasticache),
es:DescribeReservedInstanceOfferings (opensearch),
redshift:DescribeReservedNodeOfferings (redshift),
memorydb:DescribeReservedNodesOfferings (memorydb); and
savingsplans:DescribeSavingsPlansOfferingRates for Database Savings Plans
rates (rds, elasticache). Fargate, Lambda and SageMaker (fargate, lambda,
sagemaker): pricing:GetProducts (on-demand) and
savingsplans:DescribeSavingsPlansOfferingRates (Compute and SageMaker
Savings Plans rates); rates per key unit-hour (Lambda per GB-hour).
\b
Examples:
  commitopt pricing fetch --region us-east-1
  commitopt pricing fetch --region us-east-1,eu-west-2 -t m7i.large,c7g.xlarge -p linux,windows
  commitopt pricing fetch --region us-east-1 --instance-type m5.large --no-savings-plans
  commitopt pricing fetch --region us-east-1 --service rds,elasticache
  commitopt pricing fetch --region eu-west-1 --service rds -t db.r6g.large,db.r6g.xlarge
  commitopt pricing fetch --region us-east-1 --service opensearch,redshift,memorydb
  commitopt pricing fetch --region us-west-2 --service redshift -t ra3.xlplus
  commitopt pricing fetch --region us-east-1,eu-west-1 --service fargate,lambda
  commitopt pricing fetch --region us-east-1 --service sagemaker -t ml.m5.xlarge,ml.g5.xlarge
"""

FETCH_SERVICES: Final = {
    "ec2": EC2,
    "rds": RDS,
    "elasticache": ELASTICACHE,
    "opensearch": OPENSEARCH,
    "redshift": REDSHIFT,
    "memorydb": MEMORYDB,
    "fargate": FARGATE,
    "lambda": LAMBDA,
    "sagemaker": SAGEMAKER,
}
"""``--service`` names -> CUR product codes."""


@pricing.command("fetch", epilog=FETCH_EPILOG)
@multi_option("--region", "-r", help_text="Region(s) to fetch (required).", metavar="REGION")
@multi_option("--instance-type", "-t", help_text="Only these types [default: all].", metavar="TYPE")
@multi_option(
    "--platform", "-p", help_text="Only these EC2 platforms [default: all].", metavar="PLATFORM"
)
@click.option("--savings-plans/--no-savings-plans", default=True, show_default=True)
@multi_option(
    "--service",
    help_text="Services to fetch: ec2, rds, elasticache, opensearch, redshift, memorydb, "
    "fargate, lambda, sagemaker [default: ec2].",
    metavar="NAME",
)
@profile_option
@into_option
@format_option
@quiet_option
def fetch(
    region: tuple[str, ...],
    instance_type: tuple[str, ...],
    platform: tuple[str, ...],
    savings_plans: bool,
    service: tuple[str, ...],
    profile: str | None,
    into: Path | None,
    output_format: str,
) -> None:
    """Fetch current rates from AWS's pricing APIs into the local catalog.

    EC2: on-demand and RI rates from the Price List API, Savings Plans rates from the Savings
    Plans API. RDS, ElastiCache, OpenSearch, Redshift and MemoryDB (--service
    rds,elasticache,opensearch,redshift,memorydb): standard reserved offerings from each region's
    describe API (these take precedence), on-demand and reserved rates from the Price List API,
    and, for RDS and ElastiCache, Database Savings Plans rates from the Savings Plans API.
    Fargate, Lambda and SageMaker (--service fargate,lambda,sagemaker): on-demand rates from the
    Price List API, Compute and SageMaker Savings Plans rates from the Savings Plans API.
    """
    import boto3

    if not region:
        raise CommitoptInputError("pricing fetch needs --region (e.g. --region us-east-1)")
    for code in region:
        check_region(code)
    unknown = [name for name in service if name.lower() not in FETCH_SERVICES]
    if unknown:
        raise CommitoptInputError(
            f"unknown --service {', '.join(unknown)}; use {', '.join(FETCH_SERVICES)}"
        )
    services = {FETCH_SERVICES[name.lower()] for name in service} or {EC2}
    platforms = tuple(parse_platform(p) for p in platform)
    session: Any = boto3.Session(profile_name=profile)
    catalogs: list[PriceCatalog] = []
    databases = [name for name in RESERVED_SERVICES if name in services]
    if databases:
        catalogs += _fetch_databases(session, region, databases, instance_type, savings_plans)
    computes = [name for name in (FARGATE, LAMBDA, SAGEMAKER) if name in services]
    if computes:
        catalogs += _fetch_compute(session, region, computes, instance_type, savings_plans)
    ec2_types = [t for t in instance_type if service_of(t) == EC2]
    if EC2 in services and (ec2_types or not instance_type):
        catalogs[:0] = _fetch_ec2(session, region, ec2_types, platforms, savings_plans)
    if not catalogs:
        raise CommitoptInputError(
            "--instance-type names only database classes, node types or ML instance types: "
            "add --service rds, elasticache, opensearch, redshift or memorydb (sagemaker for "
            "ml. types)"
        )
    target = into or local_catalog_path()
    merged = write_into_catalog(catalogs, target)
    counts = merged.counts()
    emit_mapping({"catalog_path": str(target), **counts}, output_format, title="Fetched")


def _fetch_databases(
    session: Any,
    region: Sequence[str],
    services: Sequence[str],
    instance_type: Sequence[str],
    savings_plans: bool,
) -> list[PriceCatalog]:
    """Database rates: reserved offerings from the describe APIs (first), then on-demand and
    reserved rates from the Price List API; Database Savings Plans rates when asked."""
    from pricing.readers.database_offerings_api import fetch_database_offerings
    from pricing.readers.database_price_list_api import fetch_database_price_list
    from pricing.readers.database_savings_plans_api import fetch_database_savings_plans_rates

    with reporter().task("querying the reserved offerings APIs", unit="requests") as progress:
        offerings = fetch_database_offerings(
            lambda name, code: session.client(name, region_name=code),
            regions=region,
            services=services,
            instance_types=instance_type,
            progress=progress,
        )
    client = session.client("pricing", region_name="us-east-1")
    with reporter().task("querying the Price List API", unit="requests") as progress:
        price_list = fetch_database_price_list(
            client, regions=region, services=services, instance_types=instance_type,
            progress=progress,
        )  # fmt: skip
    catalogs = [offerings, price_list]
    plan_services = [name for name in services if name in DATABASE_SERVICES]
    if savings_plans and plan_services:
        sp_client = session.client("savingsplans", region_name="us-east-1")
        with reporter().task("querying the Savings Plans API (Database)", unit="regions") as done:
            catalogs.append(
                fetch_database_savings_plans_rates(
                    sp_client,
                    regions=region,
                    services=plan_services,
                    instance_types=instance_type,
                    progress=done,
                )
            )
    for catalog in catalogs:
        for note in catalog.metadata.notes:
            reporter().note(f"note: {note}")
    return catalogs


def _fetch_compute(
    session: Any,
    region: Sequence[str],
    services: Sequence[str],
    instance_type: Sequence[str],
    savings_plans: bool,
) -> list[PriceCatalog]:
    """Fargate, Lambda and SageMaker rates: Savings Plans rates (first, when asked), then
    on-demand rates from the Price List API."""
    from pricing.readers.compute_price_list_api import fetch_compute_price_list
    from pricing.readers.compute_savings_plans_api import fetch_compute_savings_plans_rates

    ml_types = [t for t in instance_type if service_of(t) == SAGEMAKER]
    client = session.client("pricing", region_name="us-east-1")
    with reporter().task("querying the Price List API", unit="requests") as progress:
        catalogs = [
            fetch_compute_price_list(
                client, regions=region, services=services, instance_types=ml_types,
                progress=progress,
            )
        ]  # fmt: skip
    if savings_plans:
        sp_client = session.client("savingsplans", region_name="us-east-1")
        with reporter().task("querying the Savings Plans API", unit="requests") as progress:
            catalogs.insert(
                0,
                fetch_compute_savings_plans_rates(
                    sp_client, regions=region, services=services, instance_types=ml_types,
                    progress=progress,
                ),
            )  # fmt: skip
    for catalog in catalogs:
        for note in catalog.metadata.notes:
            reporter().note(f"note: {note}")
    return catalogs


def _fetch_ec2(
    session: Any,
    region: Sequence[str],
    instance_type: Sequence[str],
    platforms: Sequence[str],
    savings_plans: bool,
) -> list[PriceCatalog]:
    """EC2 rates from the Price List API and, when asked, the Savings Plans API."""
    from pricing.readers.price_list_api import fetch_price_list
    from pricing.readers.savings_plans_api import fetch_savings_plans_rates

    # The Price List API is served from us-east-1 (also ap-south-1, eu-central-1).
    client = session.client("pricing", region_name="us-east-1")
    with reporter().task("querying the Price List API", unit="requests") as progress:
        catalogs = [
            fetch_price_list(
                client,
                regions=region,
                instance_types=instance_type,
                platforms=platforms,
                progress=progress,
            )
        ]
    if savings_plans:
        sp_client = session.client("savingsplans", region_name="us-east-1")
        with reporter().task("querying the Savings Plans API", unit="regions") as progress:
            catalogs.insert(
                0,
                fetch_savings_plans_rates(
                    sp_client, regions=region, instance_types=instance_type, progress=progress
                ),
            )
    return catalogs


INFO_EPILOG = """
\b
Examples:
  commitopt pricing info
  commitopt pricing info --catalog team-catalog.parquet --format json
"""


@pricing.command("info", epilog=INFO_EPILOG)
@catalog_options
@format_option
@quiet_option
def info(catalog_paths: tuple[Path, ...], no_embedded: bool, output_format: str) -> None:
    """Where the rates come from: sources, as-of date, counts, derived rates and caveats."""
    resolved = command_catalog(catalog_paths, no_embedded=no_embedded)
    metadata: CatalogMetadata = resolved.catalog.metadata
    sources = (
        pd.concat(
            [
                resolved.catalog.on_demand[["source"]],
                resolved.catalog.reserved[["source"]],
                resolved.catalog.savings_plans[["source"]],
            ]
        )["source"]
        .value_counts()
        .to_dict()
    )
    today = date.today()
    payload: dict[str, object] = {
        "layers": [
            {
                "layer": name,
                "source": meta.source,
                "as_of": meta.as_of.isoformat(),
                "age_days": (today - meta.as_of).days,
            }
            for name, meta in zip(resolved.layers, resolved.layer_metadata, strict=True)
        ],
        "oldest_as_of": metadata.as_of.isoformat(),
        "currency": metadata.currency,
        **resolved.catalog.counts(),
        "rates_by_source": [{"source": str(k), "rate_count": int(v)} for k, v in sources.items()],
        "derived_rates": metadata.derived_rates or "none",
        "partial_upfront_split": metadata.partial_upfront_split or "as published",
        "notes": list(metadata.notes),
    }
    emit_mapping(payload, output_format, title="Price catalog")
