"""Fetch Fargate, Lambda and SageMaker on-demand rates from the Price List API (``GetProducts``).

One paged request per service and region, filtered server-side (``TERM_MATCH``) by
``regionCode`` (and, for SageMaker, ``productFamily`` ``ML Instance``, the family of AWS's ML
instance products, plus ``instanceType`` when types are given): ``ServiceCode`` ``AmazonECS``
(Fargate; EKS bills the same usage types at the same rates), ``AWSLambda``, ``AmazonSageMaker``.
Each ``PriceList`` entry is one product with its ``OnDemand`` terms, read like the bulk offer
(:func:`pricing.readers.compute_price_list.compute_rows_from_items`, Lambda's first priced
tier). Like the other Price List fetchers it needs ``pricing:GetProducts`` and a ``pricing``
client in us-east-1, eu-central-1 or ap-south-1.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

from core.errors import CommitoptInputError, param
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.compute_keys import FARGATE, LAMBDA, SAGEMAKER
from pricing.errors import PriceFileError
from pricing.readers.aws_api import paginate
from pricing.readers.common import ProgressCallback
from pricing.readers.compute_price_list import compute_price_frames, compute_rows_from_items
from pricing.readers.price_list_api import decode_price_list_entry, publication_date

PERMISSION: Final = "pricing:GetProducts"
ORIGIN: Final = "AWS Price List API (pricing:GetProducts)"
PAGE_SIZE: Final = 100

SERVICE_CODES: Final[dict[str, str]] = {
    FARGATE: "AmazonECS",
    LAMBDA: "AWSLambda",
    SAGEMAKER: "AmazonSageMaker",
}
"""Service -> the Price List ``ServiceCode`` its on-demand rates are fetched from."""

SAGEMAKER_FAMILY: Final = "ML Instance"
"""The ``productFamily`` of SageMaker ML instance products."""


def compute_product_filters(
    service: str, region: str, instance_type: str | None = None
) -> list[dict[str, str]]:
    """The ``GetProducts`` filters of one request."""
    filters = [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}]
    if service == SAGEMAKER:
        filters.append({"Type": "TERM_MATCH", "Field": "productFamily", "Value": SAGEMAKER_FAMILY})
        if instance_type:
            filters.append({"Type": "TERM_MATCH", "Field": "instanceType", "Value": instance_type})
    return filters


def fetch_compute_price_list(
    client: Any,
    *,
    regions: Sequence[str],
    services: Sequence[str] = (FARGATE, LAMBDA, SAGEMAKER),
    instance_types: Sequence[str] = (),
    progress: ProgressCallback | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PriceCatalog:
    """Fetch the on-demand rates of Fargate, Lambda and SageMaker keys.

    Parameters
    ----------
    client
        A boto3 ``pricing`` client.
    regions
        Region codes; at least one.
    services
        ``"AWSFargate"``, ``"AWSLambda"``, ``"AmazonSageMaker"``.
    instance_types
        SageMaker ML instance types (``ml.m5.xlarge``) to fetch (all when none is named); other
        names are ignored.
    progress
        Called as ``progress(requests_done, requests_total)``.
    sleep
        Waits between retries [s]; injected for tests.

    Raises
    ------
    CommitoptInputError
        No region, or an unknown service.
    AwsAccessError
        Missing credentials or permission, unreachable endpoint, persistent throttling.
    PriceFileError
        A malformed response, invalid or conflicting prices, or no rate at all.
    """
    if not regions:
        raise CommitoptInputError(
            f"give at least one region to fetch Fargate, Lambda or SageMaker prices for "
            f"({param('regions')})"
        )
    unknown = [s for s in services if s not in SERVICE_CODES]
    if unknown:
        raise CommitoptInputError(
            f"unknown service(s) {', '.join(unknown)}; use {', '.join(SERVICE_CODES)}"
        )
    ml_types = [t for t in instance_types if t.startswith("ml.")]
    requests = [
        (service, region, instance_type)
        for service in services
        for region in regions
        for instance_type in (ml_types if service == SAGEMAKER and ml_types else [None])
    ]
    seen: dict[str, str] = {}

    def items() -> Iterator[Mapping[str, Any]]:
        for done, (service, region, instance_type) in enumerate(requests, start=1):
            pages = paginate(
                client.get_products,
                permission=PERMISSION,
                sleep=sleep,
                ServiceCode=SERVICE_CODES[service],
                FormatVersion="aws_v1",
                Filters=compute_product_filters(service, region, instance_type),
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

    rows = compute_rows_from_items(items(), origin=ORIGIN)
    on_demand, notes = compute_price_frames(rows, origin=ORIGIN)
    on_demand = on_demand.loc[on_demand["region"].isin(list(regions))]
    if on_demand.empty:
        raise PriceFileError(
            ORIGIN,
            f"no on-demand rates of {', '.join(services)} returned for region(s) "
            f"{', '.join(regions)}" + (f" ({notes[0]})" if notes else ""),
            "check the region codes and instance types",
        )
    codes = "+".join(SERVICE_CODES[s] for s in services)
    source = f"AWS Price List API GetProducts {codes} {seen.get('version', '')}".strip()
    metadata = CatalogMetadata(
        source=source, as_of=publication_date(seen.get("publicationDate", "")), notes=tuple(notes)
    )
    return PriceCatalog.from_frames(metadata, on_demand=on_demand.reset_index(drop=True))


__all__ = ["SERVICE_CODES", "compute_product_filters", "fetch_compute_price_list"]
