"""Fetch database on-demand rates and reserved offerings from the Price List API.

``GetProducts`` with ``ServiceCode`` ``AmazonRDS``, ``AmazonElastiCache``, ``AmazonES``
(OpenSearch), ``AmazonRedshift`` or ``AmazonMemoryDB``, filtered server-side (``TERM_MATCH``) by
``regionCode``, ``productFamily`` (``Database Instance``, ``Cache Instance``, ``Amazon
OpenSearch Service Instance``, ``Compute Instance``; none for MemoryDB, whose instance family is
not documented: its node products are told by their usage type) and, when given,
``instanceType``. Each ``PriceList`` entry is one product with its
``OnDemand`` and ``Reserved`` terms, read like the bulk offer
(:func:`pricing.readers.database_price_list.database_rows_from_items`). Like the EC2 fetcher
(:mod:`pricing.readers.price_list_api`) it needs ``pricing:GetProducts`` and a ``pricing`` client
in us-east-1, eu-central-1 or ap-south-1.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

from core.errors import CommitoptInputError, param
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.databases import DATABASE_SERVICES
from pricing.errors import PriceFileError
from pricing.readers.aws_api import paginate
from pricing.readers.common import ProgressCallback
from pricing.readers.database_platforms import names_a_class_of
from pricing.readers.database_price_list import database_rows_from_items
from pricing.readers.database_price_rows import PRODUCT_FAMILIES, database_price_frames
from pricing.readers.price_list_api import decode_price_list_entry, publication_date

PERMISSION: Final = "pricing:GetProducts"
ORIGIN: Final = "AWS Price List API (pricing:GetProducts)"
PAGE_SIZE: Final = 100


def database_product_filters(
    service: str, region: str, instance_type: str | None
) -> list[dict[str, str]]:
    """The ``GetProducts`` filters of one request (region, product family, class when given)."""
    filters = [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}]
    family = PRODUCT_FAMILIES[service]
    if family is not None:
        filters.append({"Type": "TERM_MATCH", "Field": "productFamily", "Value": family})
    if instance_type:
        filters.append({"Type": "TERM_MATCH", "Field": "instanceType", "Value": instance_type})
    return filters


def fetch_database_price_list(
    client: Any,
    *,
    regions: Sequence[str],
    services: Sequence[str] = DATABASE_SERVICES,
    instance_types: Sequence[str] = (),
    progress: ProgressCallback | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PriceCatalog:
    """Fetch on-demand rates and reserved offerings of database instances and cache nodes.

    One paged request per service × region, or per service × region × class when
    ``instance_types`` names classes of that service (others are ignored; a service none of
    whose classes is named is not queried).

    Parameters
    ----------
    client
        A boto3 ``pricing`` client (us-east-1, eu-central-1 or ap-south-1).
    regions
        Region codes; at least one.
    services
        CUR product codes: ``"AmazonRDS"``, ``"AmazonElastiCache"``, ``"AmazonES"``,
        ``"AmazonRedshift"``, ``"AmazonMemoryDB"``.
    instance_types
        Only these classes (all when empty): ``db.r6g.large``, ``r6g.large.search``,
        ``ra3.xlplus``...
    progress
        Called as ``progress(requests_done, requests_total)``.
    sleep
        Waits between retries [s]; injected for tests.

    Returns
    -------
    PriceCatalog
        ``source`` names the API and the offer version; ``as_of`` the latest publication date of
        the records (today when they carry none); the notes count the rows left out.

    Raises
    ------
    CommitoptInputError
        No region, or an unknown service.
    AwsAccessError
        Missing credentials or permission, unreachable endpoint, persistent throttling.
    PriceFileError
        A malformed response, invalid prices, conflicting records, or no prices at all.
    """
    if not regions:
        raise CommitoptInputError(
            f"give at least one region to fetch database prices for ({param('regions')})"
        )
    unknown = [s for s in services if s not in PRODUCT_FAMILIES]
    if unknown:
        raise CommitoptInputError(
            f"unknown database service(s) {', '.join(unknown)}; use {', '.join(PRODUCT_FAMILIES)}"
        )
    requests = [
        (service, region, instance_class)
        for service in services
        for region in regions
        for instance_class in (
            [t for t in instance_types if names_a_class_of(service, t)]
            if instance_types
            else [None]
        )
    ]
    seen: dict[str, str] = {}

    def items() -> Iterator[Mapping[str, Any]]:
        for done, (service, region, instance_class) in enumerate(requests, start=1):
            pages = paginate(
                client.get_products,
                permission=PERMISSION,
                sleep=sleep,
                ServiceCode=service,
                FormatVersion="aws_v1",
                Filters=database_product_filters(service, region, instance_class),
                MaxResults=PAGE_SIZE,
            )
            for page_number, page in enumerate(pages, start=1):
                for entry in page.get("PriceList", []):
                    item = decode_price_list_entry(entry, page_number)
                    for field in ("version", "publicationDate"):
                        seen[field] = max(seen.get(field, ""), str(item.get(field, "")))
                    yield item
            if progress is not None:
                progress(done, len(requests))

    frames = database_price_frames(database_rows_from_items(items(), origin=ORIGIN), origin=ORIGIN)
    if frames.on_demand.empty and frames.reserved.empty:
        raise PriceFileError(
            ORIGIN,
            f"no {', '.join(services)} instance prices returned for region(s) "
            f"{', '.join(regions)}" + (f" ({frames.notes[0]})" if frames.notes else ""),
            "check the region codes and instance classes",
        )
    source = f"AWS Price List API GetProducts {'+'.join(services)} {seen.get('version', '')}"
    metadata = CatalogMetadata(
        source=source.strip(),
        as_of=publication_date(seen.get("publicationDate", "")),
        notes=frames.notes,
    )
    return PriceCatalog.from_frames(metadata, on_demand=frames.on_demand, reserved=frames.reserved)
