"""Savings Plans rates from the AWS Savings Plans API (``DescribeSavingsPlansOfferingRates``).

The API answers, for each plan (Compute or EC2 Instance Savings Plan × term × payment option), the
rate charged against the commitment for one hour of each EC2 usage type and operation. Rates are
fetched one region at a time (``filters: region``), 1,000 per page, with retries on throttling,
and mapped to keys from ``usageType`` + ``operation`` exactly as the offer files are.

The caller needs the IAM permission ``savingsplans:DescribeSavingsPlansOfferingRates``; the
Savings Plans endpoint is global (create the client in ``us-east-1``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import pandas as pd

from core.errors import CommitoptInputError
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.errors import PriceFileError
from pricing.offerings import (
    PAYMENT_OPTIONS,
    TERM_YEARS,
    CommitmentKind,
    parse_payment_option,
    parse_savings_plan_type,
)
from pricing.readers.aws_api import paginate
from pricing.readers.common import ProgressCallback
from pricing.readers.savings_plans_offer import RateSource, savings_plans_table
from pricing.regions import check_region

OPERATION: Final = "savingsplans:DescribeSavingsPlansOfferingRates"
"""The IAM action this reader needs, also named as the source in errors."""

PAGE_SIZE: Final = 1_000
"""Rates per page (the API's maximum)."""

API_PLAN_TYPES: Final[dict[str, str]] = {
    k.savings_plan_type: k.aws_savings_plan_type
    for k in (CommitmentKind.COMPUTE_SAVINGS_PLAN, CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN)
}
"""commitopt plan type -> the API's ``savingsPlanTypes`` value."""

_SOURCE_COLUMNS: Final[dict[str, str]] = {
    "rate_code": "savingsPlanOffering.offeringId",
    "plan_family": "savingsPlanOffering.planType",
    "payment": "savingsPlanOffering.paymentOption",
    "term": "savingsPlanOffering.durationSeconds",
    "usage_type": "usageType",
    "operation": "operation",
    "rate": "rate",
    "currency": "savingsPlanOffering.currency",
    "unit": "unit",
}


def fetch_savings_plans_rates(
    client: Any,
    *,
    regions: Sequence[str],
    instance_types: Sequence[str] = (),
    plan_types: Sequence[str] = ("compute", "ec2_instance"),
    terms_years: Sequence[int] = (1, 3),
    payment_options: Sequence[str] = PAYMENT_OPTIONS,
    progress: ProgressCallback | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PriceCatalog:
    """Fetch EC2 Savings Plans rates for ``regions`` from the Savings Plans API.

    Parameters
    ----------
    client
        A boto3 ``savingsplans`` client.
    regions
        Region codes to fetch (at least one); one paged request series per region.
    instance_types
        Instance types to fetch (all when empty), sent as the ``instanceType`` filter.
    plan_types
        ``"compute"`` and / or ``"ec2_instance"`` (AWS spellings accepted).
    terms_years
        Terms to keep [years]: 1 and / or 3 (the API cannot filter on the term).
    payment_options
        Payment options to fetch (``"No Upfront"``, ``"Partial Upfront"``, ``"All Upfront"``).
    progress
        Called as ``progress(regions_done, len(regions))``.
    sleep
        Waits between retries [s]; injected for tests.

    Returns
    -------
    PriceCatalog
        Savings Plans rates only: ``sp_hourly_usd`` [USD/h] per key, plan type, term and payment
        option of EC2 ``BoxUsage`` / ``DedicatedUsage``; ``as_of`` is today (UTC).

    Raises
    ------
    CommitoptInputError
        No region, an unknown region, plan type, term or payment option.
    AwsAccessError
        Missing credentials or permission, endpoint unreachable, throttled too long.
    PriceFileError
        A rate the API returned that is not a non-negative number of USD per hour, an unknown
        term, or two rates for one key and plan; no rates at all for the request.
    """
    if not regions:
        raise CommitoptInputError("fetching Savings Plans rates needs at least one region")
    regions = [check_region(region) for region in regions]
    parsed_types = [parse_savings_plan_type(kind) for kind in plan_types]
    other = [kind for kind in parsed_types if kind not in API_PLAN_TYPES]
    if other:
        raise CommitoptInputError(
            f"this reader fetches EC2 rates of Compute and EC2 Instance Savings Plans, not "
            f"{', '.join(other)} Savings Plans rates"
        )
    api_plan_types = [API_PLAN_TYPES[kind] for kind in parsed_types]
    payments = [parse_payment_option(option) for option in payment_options]
    for term in terms_years:
        if term not in TERM_YEARS:
            raise CommitoptInputError(
                f"unknown Savings Plans term {term!r} years; AWS sells 1-year and 3-year plans"
            )
    pages: list[pd.DataFrame] = []
    for done, region in enumerate(regions, start=1):
        filters = [{"name": "region", "values": [region]}]
        if instance_types:
            filters.append({"name": "instanceType", "values": list(instance_types)})
        for page in paginate(
            client.describe_savings_plans_offering_rates,
            permission=OPERATION,
            token_in="nextToken",
            token_out="nextToken",
            sleep=sleep,
            savingsPlanTypes=api_plan_types,
            products=["EC2"],
            serviceCodes=["AmazonEC2"],
            savingsPlanPaymentOptions=payments,
            filters=filters,
            maxResults=PAGE_SIZE,
        ):
            results = page.get("searchResults") or []
            if results:
                pages.append(pd.json_normalize(results))
        if progress is not None:
            progress(done, len(regions))
    raw = _raw_rates(pages)
    source = RateSource(OPERATION, _SOURCE_COLUMNS, _describe, "try again later")
    table, notes = savings_plans_table(raw, source, regions)
    table = table.loc[table["term_years"].isin(list(terms_years))]
    if table.empty:
        types = f" and instance type(s) {', '.join(instance_types)}" if instance_types else ""
        raise PriceFileError(
            OPERATION,
            f"no EC2 Savings Plans rates for region(s) {', '.join(regions)}{types}",
            "check the region codes and instance types",
        )
    metadata = CatalogMetadata(
        source="AWS Savings Plans API DescribeSavingsPlansOfferingRates",
        as_of=datetime.now(UTC).date(),
        notes=tuple(notes),
    )
    return PriceCatalog.from_frames(metadata, savings_plans=table)


def _raw_rates(pages: list[pd.DataFrame]) -> pd.DataFrame:
    """Bring the API's flattened results to the raw columns of :func:`savings_plans_table`."""
    frame = pd.concat(pages, ignore_index=True) if pages else pd.DataFrame()
    raw = pd.DataFrame(index=frame.index)
    for column, field in _SOURCE_COLUMNS.items():
        raw[column] = frame[field].astype("string") if field in frame else pd.NA
    # A plan type the API added later (SageMaker, Database) is not EC2 usage; parse what is known.
    raw = raw.loc[raw["plan_family"].isin(list(API_PLAN_TYPES.values()))]
    raw = raw.assign(term=raw["term"].str.removesuffix(".0"))
    return raw.reset_index(drop=True)


def _describe(row: pd.Series) -> str:
    return (
        f"the rate of {row.get('usage_type')} {row.get('operation')} in offering "
        f"{row.get('rate_code')} ({row.get('plan_family')}, {row.get('payment')})"
    )
