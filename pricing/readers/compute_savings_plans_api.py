"""Fargate, Lambda and SageMaker Savings Plans rates from ``DescribeSavingsPlansOfferingRates``.

Two request series per region (``filters: region``), 1,000 rates per page, retried on throttling:

* ``savingsPlanTypes=["Compute"]``, ``products=["Fargate", "Lambda"]``: Compute Savings Plans
  rates of Fargate (service codes ``AmazonECS`` and ``AmazonEKS``) and Lambda (``AWSLambda``);
* ``savingsPlanTypes=["SageMaker"]``, ``products=["SageMaker"]``: SageMaker Savings Plans rates
  of ML instance usage (``AmazonSageMaker``).

Field names are botocore's service model's (``SavingsPlanOfferingRate``: ``rate``, ``unit``,
``productType``, ``serviceCode``, ``usageType``, ``operation``, ``properties``;
``savingsPlanOffering``: ``offeringId``, ``planType``, ``paymentOption``, ``durationSeconds``,
``currency``). Each rate is keyed from ``usageType`` and ``serviceCode`` and converted to USD per
key unit-hour by :func:`pricing.readers.compute_savings_plans_rates.compute_savings_plans_table`
(a Lambda rate in ``Lambda-GB-Second`` × 3,600); rates of usage no plan covers (Lambda
``Request``) or of usage types the vocabulary does not read are counted in the notes.

The caller needs ``savingsplans:DescribeSavingsPlansOfferingRates``; the endpoint is global (a
client in us-east-1).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import pandas as pd

from core.errors import CommitoptInputError
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.compute_keys import FARGATE, LAMBDA, SAGEMAKER
from pricing.errors import PriceFileError
from pricing.offerings import PAYMENT_OPTIONS, parse_payment_option
from pricing.readers.aws_api import paginate
from pricing.readers.common import ProgressCallback
from pricing.readers.compute_savings_plans_rates import compute_savings_plans_table
from pricing.readers.savings_plans_offer import RateSource
from pricing.regions import check_region

OPERATION: Final = "savingsplans:DescribeSavingsPlansOfferingRates"
"""The IAM action this reader needs, also named as the source in errors."""

PAGE_SIZE: Final = 1_000
"""Rates per page (the API's maximum)."""

REQUESTS: Final[dict[str, tuple[str, str]]] = {
    FARGATE: ("Compute", "Fargate"),
    LAMBDA: ("Compute", "Lambda"),
    SAGEMAKER: ("SageMaker", "SageMaker"),
}
"""Service -> the API's ``savingsPlanTypes`` and ``products`` values."""

_SOURCE_COLUMNS: Final[dict[str, str]] = {
    "rate_code": "savingsPlanOffering.offeringId",
    "plan_family": "savingsPlanOffering.planType",
    "payment": "savingsPlanOffering.paymentOption",
    "term": "savingsPlanOffering.durationSeconds",
    "usage_type": "usageType",
    "operation": "operation",
    "service_code": "serviceCode",
    "rate": "rate",
    "currency": "savingsPlanOffering.currency",
    "unit": "unit",
}


def fetch_compute_savings_plans_rates(
    client: Any,
    *,
    regions: Sequence[str],
    services: Sequence[str] = (FARGATE, LAMBDA, SAGEMAKER),
    instance_types: Sequence[str] = (),
    payment_options: Sequence[str] = PAYMENT_OPTIONS,
    progress: ProgressCallback | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PriceCatalog:
    """Fetch Compute SP rates of Fargate and Lambda and SageMaker SP rates for ``regions``.

    Parameters
    ----------
    client
        A boto3 ``savingsplans`` client.
    regions
        Region codes (at least one).
    services
        ``"AWSFargate"``, ``"AWSLambda"`` and / or ``"AmazonSageMaker"``.
    instance_types
        SageMaker ML instance types to fetch (all when empty), sent as the ``instanceType``
        filter of the SageMaker requests only.
    payment_options
        Payment options to fetch.
    progress
        Called as ``progress(requests_done, requests_total)``.
    sleep
        Waits between retries [s]; injected for tests.

    Returns
    -------
    PriceCatalog
        ``savings_plans`` rows (``compute`` for Fargate and Lambda keys, ``sagemaker`` for
        SageMaker keys) with ``sp_hourly_usd`` per key unit-hour; rates left out are counted in
        ``metadata.notes``; ``as_of`` is today (UTC).

    Raises
    ------
    CommitoptInputError
        No region, an unknown region or service.
    AwsAccessError
        Missing credentials or permission, endpoint unreachable, throttled too long.
    PriceFileError
        A malformed rate; no rate at all for the request.
    """
    if not regions:
        raise CommitoptInputError("fetching Savings Plans rates needs at least one region")
    checked = [check_region(region) for region in regions]
    unknown = [name for name in services if name not in REQUESTS]
    if unknown:
        raise CommitoptInputError(
            f"unknown service(s) {', '.join(unknown)}; use {', '.join(REQUESTS)}"
        )
    payments = [parse_payment_option(option) for option in payment_options]
    plans: dict[str, list[str]] = {}
    for name in services:
        plan_type, product = REQUESTS[name]
        plans.setdefault(plan_type, []).append(product)
    requests = [(region, plan_type) for region in checked for plan_type in plans]
    pages: list[pd.DataFrame] = []
    for done, (region, plan_type) in enumerate(requests, start=1):
        filters: list[dict[str, Any]] = [{"name": "region", "values": [region]}]
        if instance_types and plan_type == "SageMaker":
            filters.append({"name": "instanceType", "values": list(instance_types)})
        for page in paginate(
            client.describe_savings_plans_offering_rates,
            permission=OPERATION,
            token_in="nextToken",
            token_out="nextToken",
            sleep=sleep,
            savingsPlanTypes=[plan_type],
            products=plans[plan_type],
            savingsPlanPaymentOptions=payments,
            filters=filters,
            maxResults=PAGE_SIZE,
        ):
            results = page.get("searchResults") or []
            if results:
                pages.append(pd.json_normalize(results))
        if progress is not None:
            progress(done, len(requests))
    raw = _raw_rates(pages)
    source = RateSource(OPERATION, _SOURCE_COLUMNS, _describe, "try again later")
    table, notes = compute_savings_plans_table(raw, source)
    table = table.loc[table["region"].isin(checked)]
    if table.empty:
        raise PriceFileError(
            OPERATION,
            f"no Savings Plans rates of {', '.join(services)} for region(s) {', '.join(checked)}"
            + (f" ({notes[0]})" if notes else ""),
            "check the region codes and instance types",
        )
    metadata = CatalogMetadata(
        source="AWS Savings Plans API DescribeSavingsPlansOfferingRates (Fargate, Lambda, "
        "SageMaker)",
        as_of=datetime.now(UTC).date(),
        notes=tuple(notes),
    )
    return PriceCatalog.from_frames(metadata, savings_plans=table.reset_index(drop=True))


def _raw_rates(pages: list[pd.DataFrame]) -> pd.DataFrame:
    """The API's flattened results in the raw columns of the shared rate table."""
    frame = pd.concat(pages, ignore_index=True) if pages else pd.DataFrame()
    raw = pd.DataFrame(index=frame.index)
    for column, field in _SOURCE_COLUMNS.items():
        raw[column] = frame[field].astype("string") if field in frame else pd.NA
    raw["term"] = raw["term"].str.removesuffix(".0")
    return raw.reset_index(drop=True)


def _describe(row: pd.Series) -> str:
    return (
        f"the rate of {row.get('usage_type')} in offering {row.get('rate_code')} "
        f"({row.get('plan_family')}, {row.get('payment')})"
    )


__all__ = ["REQUESTS", "fetch_compute_savings_plans_rates"]
