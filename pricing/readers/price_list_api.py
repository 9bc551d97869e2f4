"""Fetch EC2 on-demand rates and RI offerings from the AWS Price List Query API (``GetProducts``).

The Price List API is served from a few regions only (us-east-1, eu-central-1, ap-south-1): pass a
``pricing`` client created for one of them. It needs the IAM permission ``pricing:GetProducts``.
Each request is filtered server-side (``TERM_MATCH``) by region, tenancy, capacity status and,
when given, instance type and platform (its ``operatingSystem``, ``preInstalledSw`` and
``licenseModel``); pages are followed with ``NextToken`` and throttling is retried with backoff.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any, Final

from core.errors import CommitoptInputError, param
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.errors import PriceFileError
from pricing.platforms import PLATFORMS, Platform, parse_platform
from pricing.readers.aws_api import paginate
from pricing.readers.common import ProgressCallback
from pricing.readers.price_list_json import parse_price_list_items

PERMISSION: Final = "pricing:GetProducts"
ORIGIN: Final = "AWS Price List API (pricing:GetProducts)"
TENANCIES_FETCHED: Final = ("Shared", "Dedicated")
PAGE_SIZE: Final = 100
"""``MaxResults`` per request (the API's maximum)."""


def _term(field: str, value: str) -> dict[str, str]:
    return {"Type": "TERM_MATCH", "Field": field, "Value": value}


def product_filters(
    region: str, tenancy: str, instance_type: str | None, platform: Platform | None
) -> list[dict[str, str]]:
    """The ``GetProducts`` filters of one request.

    Parameters
    ----------
    region
        Region code (``regionCode`` attribute).
    tenancy
        ``Shared`` or ``Dedicated``.
    instance_type
        Restrict to one type, or ``None`` for all.
    platform
        Restrict to one platform (three attributes), or ``None`` for all.
    """
    filters = [
        _term("regionCode", region),
        _term("tenancy", tenancy),
        _term("capacitystatus", "Used"),
    ]
    if instance_type:
        filters.append(_term("instanceType", instance_type))
    if platform is not None:
        filters += [
            _term("operatingSystem", platform.operating_system),
            _term("preInstalledSw", platform.pre_installed_sw),
            _term("licenseModel", platform.license_model),
        ]
    return filters


def fetch_price_list(
    client: Any,
    *,
    regions: Sequence[str],
    instance_types: Sequence[str] = (),
    platforms: Sequence[str] = (),
    progress: ProgressCallback | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PriceCatalog:
    """Fetch on-demand rates and RI offerings for EC2 instances from the Price List API.

    One paged request per region × tenancy (Shared, Dedicated) × platform × instance type (the
    last two only when given).

    Parameters
    ----------
    client
        A boto3 ``pricing`` client (region us-east-1, eu-central-1 or ap-south-1).
    regions
        Region codes to price; at least one (the whole offer is better read from the bulk file).
    instance_types
        Instance types to fetch (all when empty).
    platforms
        Platform names or aliases (``linux``, ``Windows``, ...; all when empty).
    progress
        Called as ``progress(requests_done, requests_total)``.
    sleep
        Waits between retries [s]; injected for tests.

    Returns
    -------
    PriceCatalog
        ``source`` names the API and the offer version; ``as_of`` is the latest publication date
        of the records (today when they carry none).

    Raises
    ------
    CommitoptInputError
        No region given, or an unknown platform.
    AwsAccessError
        Missing credentials or permission, unreachable endpoint, persistent throttling.
    PriceFileError
        A malformed response, non-USD or invalid prices, conflicting records, or no prices at all.
    """
    if not regions:
        raise CommitoptInputError(
            f"give at least one region to fetch prices for (e.g. {param('regions')} us-east-1); "
            "for every region, import the bulk offer file instead"
        )
    chosen: list[Platform | None] = [_platform(name) for name in platforms] or [None]
    types: list[str | None] = list(instance_types) or [None]
    requests = list(itertools.product(regions, TENANCIES_FETCHED, chosen, types))
    seen: dict[str, str] = {}

    def items() -> Iterator[dict[str, Any]]:
        for done, (region, tenancy, platform, instance_type) in enumerate(requests, start=1):
            pages = paginate(
                client.get_products,
                permission=PERMISSION,
                sleep=sleep,
                ServiceCode="AmazonEC2",
                FormatVersion="aws_v1",
                Filters=product_filters(region, tenancy, instance_type, platform),
                MaxResults=PAGE_SIZE,
            )
            for page_number, page in enumerate(pages, start=1):
                for entry in page.get("PriceList", []):
                    item = decode_price_list_entry(entry, page_number)
                    for field in ("version", "publicationDate"):
                        value = str(item.get(field, ""))
                        seen[field] = max(seen.get(field, ""), value)
                    yield item
            if progress is not None:
                progress(done, len(requests))

    on_demand, reserved = parse_price_list_items(items(), source=ORIGIN)
    if on_demand.empty and reserved.empty:
        raise PriceFileError(
            ORIGIN,
            f"no EC2 instance prices returned for region(s) {', '.join(regions)}"
            + (f", type(s) {', '.join(instance_types)}" if instance_types else "")
            + (f", platform(s) {', '.join(platforms)}" if platforms else ""),
            "check the region codes, instance types and platforms",
        )
    version = seen.get("version", "")
    source = f"AWS Price List API GetProducts AmazonEC2 {version}".strip()
    metadata = CatalogMetadata(
        source=source, as_of=publication_date(seen.get("publicationDate", ""))
    )
    return PriceCatalog.from_frames(
        metadata, on_demand=on_demand.assign(source=source), reserved=reserved.assign(source=source)
    )


def _platform(name: str) -> Platform:
    canonical = parse_platform(name)
    return next(p for p in PLATFORMS if p.name == canonical)


def decode_price_list_entry(entry: object, page_number: int) -> dict[str, Any]:
    """Decode one ``PriceList`` entry of ``GetProducts`` (a JSON string; already a dict with some
    clients).

    Raises
    ------
    PriceFileError
        For an entry that is not a JSON object, naming its page.
    """
    if isinstance(entry, dict):
        return entry
    try:
        decoded = json.loads(str(entry))
    except json.JSONDecodeError as error:
        raise PriceFileError(
            ORIGIN,
            f"page {page_number} holds a PriceList entry that is not JSON ({error.msg})",
            "retry; if it persists, report the response",
        ) from None
    if not isinstance(decoded, dict):
        raise PriceFileError(
            ORIGIN, f"page {page_number} holds a PriceList entry that is not an object", "retry"
        )
    return decoded


def publication_date(published: str) -> date:
    """The date of a Price List ``publicationDate`` (today, UTC, when it is missing or bad)."""
    try:
        return date.fromisoformat(published[:10])
    except ValueError:
        return datetime.now(UTC).date()
