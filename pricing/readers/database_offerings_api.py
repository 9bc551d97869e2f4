"""Fetch reserved database offerings from each service's describe API into a catalog.

RDS, ElastiCache, OpenSearch, Redshift and MemoryDB each have a regional describe API: one client
per service and region, paged (``Marker`` for RDS, ElastiCache and Redshift, ``NextToken`` for
OpenSearch and MemoryDB; at most 100 records a page) and retried with backoff on throttling
(:mod:`pricing.readers.aws_api`). They need the IAM permissions of :data:`APIS`
(``rds:DescribeReservedDBInstancesOfferings``, ...). RDS, ElastiCache and MemoryDB filter by class
server-side; OpenSearch and Redshift cannot (their APIs take no class), so their offerings are
listed whole and filtered here. They give **reserved prices only**: on-demand database rates come
from the Price List, the embedded ElastiCache and OpenSearch snapshots or a CUR.
The mapping of one offering to a catalog row is :mod:`pricing.readers.database_offerings`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import pandas as pd

from core.errors import CommitoptInputError, param
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.databases import DATABASE_SERVICES, ELASTICACHE, MEMORYDB, OPENSEARCH, RDS, REDSHIFT
from pricing.errors import PriceFileError
from pricing.readers.aws_api import paginate
from pricing.readers.common import ProgressCallback
from pricing.readers.database_offerings import CLASS_FIELDS, database_offering_rows
from pricing.readers.database_platforms import names_a_class_of

ClientFactory = Callable[[str, str], Any]
"""``client_for(boto3 service name, region)`` -> a boto3 client of that service and region."""


@dataclass(frozen=True, slots=True)
class OfferingsApi:
    """How one service's reserved offerings are listed.

    Attributes
    ----------
    client_name
        The boto3 service name (``"rds"``, ``"elasticache"``).
    operation
        The boto3 method.
    permission
        The IAM action, named when AWS denies it.
    records
        The response field holding the page's offerings.
    token_in, token_out
        The paging token's request and response names.
    page_size
        The request parameter of the page size (``MaxRecords`` / ``MaxResults``).
    filters_class
        Whether the request takes the class (:data:`CLASS_FIELDS`); otherwise every offering is
        listed and the classes are filtered here.
    """

    client_name: str
    operation: str
    permission: str
    records: str
    token_in: str = "Marker"
    token_out: str = "Marker"
    page_size: str = "MaxRecords"
    filters_class: bool = True


APIS: Final[dict[str, OfferingsApi]] = {
    RDS: OfferingsApi(
        "rds",
        "describe_reserved_db_instances_offerings",
        "rds:DescribeReservedDBInstancesOfferings",
        "ReservedDBInstancesOfferings",
    ),
    ELASTICACHE: OfferingsApi(
        "elasticache",
        "describe_reserved_cache_nodes_offerings",
        "elasticache:DescribeReservedCacheNodesOfferings",
        "ReservedCacheNodesOfferings",
    ),
    OPENSEARCH: OfferingsApi(
        "opensearch",
        "describe_reserved_instance_offerings",
        "es:DescribeReservedInstanceOfferings",
        "ReservedInstanceOfferings",
        token_in="NextToken",
        token_out="NextToken",
        page_size="MaxResults",
        filters_class=False,
    ),
    REDSHIFT: OfferingsApi(
        "redshift",
        "describe_reserved_node_offerings",
        "redshift:DescribeReservedNodeOfferings",
        "ReservedNodeOfferings",
        filters_class=False,
    ),
    MEMORYDB: OfferingsApi(
        "memorydb",
        "describe_reserved_nodes_offerings",
        "memorydb:DescribeReservedNodesOfferings",
        "ReservedNodesOfferings",
        token_in="NextToken",
        token_out="NextToken",
        page_size="MaxResults",
    ),
}
"""The describe API of each database service (names from botocore's service models; OpenSearch's
IAM actions keep the ``es:`` prefix)."""

PAGE_SIZE: Final = 100
"""Records per request (the RDS, ElastiCache, OpenSearch and Redshift maximum)."""

SOURCE: Final = "AWS reserved offerings API"
"""The start of every row's ``source``; the service and region follow."""


def fetch_database_offerings(
    client_for: ClientFactory,
    *,
    regions: Sequence[str],
    services: Sequence[str] = DATABASE_SERVICES,
    instance_types: Sequence[str] = (),
    progress: ProgressCallback | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PriceCatalog:
    """Fetch standard reserved offerings of database services for some regions.

    One paged request per service × region, or per service × region × class when
    ``instance_types`` names classes of that service.

    Parameters
    ----------
    client_for
        Makes a boto3 client: ``client_for("rds", "us-east-1")``.
    regions
        Region codes; at least one.
    services
        CUR product codes of :data:`APIS` (``"AmazonRDS"``, ``"AmazonES"``, ...).
    instance_types
        Only these classes (``db.r6g.large``, ``cache.m7g.large``, ``r6g.large.search``,
        ``ra3.xlplus``); all when empty. Names of other services are ignored; a service none of
        whose classes is named is not queried.
    progress
        Called as ``progress(requests_done, requests_total)``.
    sleep
        Waits between retries [s]; injected for tests.

    Returns
    -------
    PriceCatalog
        Reserved rows only (see :func:`pricing.readers.database_offerings.database_offering_rows`),
        each with ``source`` "AWS reserved offerings API <service> <region>"; ``as_of`` is
        today (the APIs publish no date); the notes count the offerings skipped by reason.

    Raises
    ------
    CommitoptInputError
        No region, or an unknown service.
    AwsAccessError
        Missing credentials or permission, unreachable endpoint, persistent throttling.
    PriceFileError
        A malformed response, or no offering that could be read at all.
    """
    if not regions:
        raise CommitoptInputError(
            f"give at least one region to fetch reserved offerings for ({param('regions')})"
        )
    unknown = [s for s in services if s not in APIS]
    if unknown:
        raise CommitoptInputError(
            f"unknown database service(s) {', '.join(unknown)}; use {', '.join(APIS)}"
        )
    requests = [
        (service, region, instance_class)
        for service in services
        for region in regions
        for instance_class in _classes(service, instance_types)
    ]
    frames: list[pd.DataFrame] = []
    skipped: Counter[str] = Counter()
    read = 0
    clients: dict[tuple[str, str], Any] = {}
    for done, (service, region, instance_class) in enumerate(requests, start=1):
        api = APIS[service]
        origin = f"{api.permission} {region}"
        if (service, region) not in clients:
            clients[(service, region)] = client_for(api.client_name, region)
        rows = database_offering_rows(
            _offerings(clients[(service, region)], api, instance_class, sleep),
            service=service,
            region=region,
            origin=origin,
        )
        reserved = rows.reserved
        if instance_types and not api.filters_class:
            reserved = reserved.loc[reserved["instance_type"].isin(list(instance_types))]
        source = f"{SOURCE} {service} {region}"
        frames.append(reserved.assign(source=source))
        skipped.update({f"{service}: {reason}": n for reason, n in rows.skipped.items()})
        read += rows.read_count
        if progress is not None:
            progress(done, len(requests))
    reserved = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if reserved.empty:
        reasons = "; ".join(f"{n} {reason}" for reason, n in skipped.most_common(3))
        raise PriceFileError(
            SOURCE,
            f"no reserved offering read for {', '.join(services)} in {', '.join(regions)} "
            f"({read} listed{': ' + reasons if reasons else ''})",
            "check the region codes and instance classes",
        )
    notes = tuple(
        f"skipped {count} offering(s): {reason}" for reason, count in skipped.most_common()
    )
    metadata = CatalogMetadata(
        source=f"{SOURCE} ({', '.join(services)}; {', '.join(regions)})",
        as_of=datetime.now(UTC).date(),
        notes=(*notes, "reserved prices only: on-demand database rates come from other sources"),
    )
    return PriceCatalog.from_frames(metadata, reserved=reserved)


def _classes(service: str, instance_types: Sequence[str]) -> list[str | None]:
    """The classes to request one by one (``[None]``: all of them; ``[]``: none)."""
    if not instance_types:
        return [None]
    named: list[str | None] = [t for t in instance_types if names_a_class_of(service, t)]
    if not APIS[service].filters_class:
        return [None] if named else []  # listed whole, filtered after
    return named


def _offerings(
    client: Any, api: OfferingsApi, instance_class: str | None, sleep: Callable[[float], None]
) -> Iterator[dict[str, Any]]:
    parameters: dict[str, Any] = {api.page_size: PAGE_SIZE}
    if instance_class:
        service = next(s for s, a in APIS.items() if a == api)
        parameters[CLASS_FIELDS[service]] = instance_class
    pages = paginate(
        getattr(client, api.operation),
        permission=api.permission,
        token_in=api.token_in,
        token_out=api.token_out,
        sleep=sleep,
        **parameters,
    )
    for page in pages:
        yield from page.get(api.records) or []
