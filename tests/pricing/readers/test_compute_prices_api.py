"""Fargate, Lambda and SageMaker rates through the AWS APIs (botocore Stubber).

``DescribeSavingsPlansOfferingRates`` results follow botocore's Savings Plans model (the Stubber
validates them: ``planType`` ``Compute`` / ``SageMaker``, ``productType`` ``Fargate`` /
``Lambda`` / ``SageMaker``, ``unit`` ``Hrs`` / ``Lambda-GB-Second`` / ``Request``); the
``GetProducts`` items are the documented-forms fixtures' products. Rates are illustrative.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from pricing.errors import PriceFileError
from pricing.readers.compute_price_list_api import fetch_compute_price_list
from pricing.readers.compute_savings_plans_api import fetch_compute_savings_plans_rates

DATA = Path(__file__).resolve().parents[2] / "data" / "pricing"
YEAR_SECONDS = 31_536_000
ALL_PAYMENTS = ["No Upfront", "Partial Upfront", "All Upfront"]


def client_for(service: str) -> tuple[Any, Stubber]:
    client = botocore.session.get_session().create_client(
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


def result(
    usage_type: str,
    value: str,
    *,
    product: str,
    service_code: str,
    unit: str = "Hrs",
    plan: str = "Compute",
    payment: str = "No Upfront",
) -> dict[str, Any]:
    """One ``searchResults`` entry."""
    return {
        "savingsPlanOffering": {
            "offeringId": f"offering-{plan}-{payment}".replace(" ", "-").lower(),
            "paymentOption": payment,
            "planType": plan,
            "durationSeconds": YEAR_SECONDS,
            "currency": "USD",
            "planDescription": f"1 year {payment} {plan} Savings Plan",
        },
        "rate": value,
        "unit": unit,
        "productType": product,
        "serviceCode": service_code,
        "usageType": usage_type,
        "operation": "RunInstance" if product == "SageMaker" else "FargateTask",
        "properties": [{"name": "region", "value": "us-east-1"}],
    }


COMPUTE_PAGE = [
    result(
        "USE1-Fargate-vCPU-Hours:perCPU", "0.03238", product="Fargate", service_code="AmazonECS"
    ),
    result("USE1-Fargate-GB-Hours", "0.003556", product="Fargate", service_code="AmazonEKS"),
    result(
        "USE1-Lambda-GB-Second-ARM", "0.000012", product="Lambda", service_code="AWSLambda",
        unit="Lambda-GB-Second",
    ),
    result(
        "USE1-Request-ARM", "0.0000002", product="Lambda", service_code="AWSLambda",
        unit="Request",
    ),
]  # fmt: skip
SAGEMAKER_PAGE = [
    result(
        "USE1-Train:ml.m5.xlarge", "0.1564", product="SageMaker", service_code="AmazonSageMaker",
        plan="SageMaker", payment="Partial Upfront",
    ),
    result(
        "USE1-Host:ml.g5.xlarge", "0.98", product="SageMaker", service_code="AmazonSageMaker",
        plan="SageMaker", payment="Partial Upfront",
    ),
]  # fmt: skip


def test_compute_and_sagemaker_rates_from_the_savings_plans_api() -> None:
    client, stub = client_for("savingsplans")
    base = {
        "savingsPlanPaymentOptions": ALL_PAYMENTS,
        "filters": [{"name": "region", "values": ["us-east-1"]}],
        "maxResults": 1000,
    }
    compute = {**base, "savingsPlanTypes": ["Compute"], "products": ["Fargate", "Lambda"]}
    stub.add_response(
        "describe_savings_plans_offering_rates",
        {"searchResults": COMPUTE_PAGE[:2], "nextToken": "next"},
        compute,
    )
    stub.add_response(
        "describe_savings_plans_offering_rates",
        {"searchResults": COMPUTE_PAGE[2:]},
        {**compute, "nextToken": "next"},
    )
    stub.add_response(
        "describe_savings_plans_offering_rates",
        {"searchResults": SAGEMAKER_PAGE},
        {**base, "savingsPlanTypes": ["SageMaker"], "products": ["SageMaker"]},
    )
    progress: list[tuple[int, int | None]] = []
    with stub:
        catalog = fetch_compute_savings_plans_rates(
            client, regions=["us-east-1"], progress=lambda d, t: progress.append((d, t))
        )
    stub.assert_no_pending_responses()
    table = catalog.savings_plans.set_index(["instance_type", "platform", "tenancy", "plan_type"])
    assert table.loc[("fargate.vcpu", "fargate-linux", "x86_64", "compute"), "sp_hourly_usd"] == (
        pytest.approx(0.03238)
    )
    assert table.loc[("fargate.memory", "fargate-linux", "x86_64", "compute"), "sp_hourly_usd"] == (
        pytest.approx(0.003556)
    )
    assert table.loc[("lambda.duration", "lambda", "arm64", "compute"), "sp_hourly_usd"] == (
        pytest.approx(0.000012 * 3600)
    )
    sagemaker = table.loc[("ml.m5.xlarge", "sagemaker-training", "x86_64", "sagemaker")]
    assert sagemaker["payment_option"] == "Partial Upfront" and sagemaker["term_years"] == 1
    assert ("ml.g5.xlarge", "sagemaker-hosting", "x86_64", "sagemaker") in table.index
    assert catalog.metadata.notes == (
        "left out 1 Savings Plans rate(s): lambda requests: no Savings Plan covers it "
        "(e.g. USE1-Request-ARM)",
    )
    assert progress == [(1, 2), (2, 2)]


def test_sagemaker_only_with_instance_types_and_no_rates_at_all() -> None:
    client, stub = client_for("savingsplans")
    stub.add_response(
        "describe_savings_plans_offering_rates",
        {"searchResults": []},
        {
            "savingsPlanPaymentOptions": ALL_PAYMENTS,
            "savingsPlanTypes": ["SageMaker"],
            "products": ["SageMaker"],
            "filters": [
                {"name": "region", "values": ["eu-west-1"]},
                {"name": "instanceType", "values": ["ml.m5.xlarge"]},
            ],
            "maxResults": 1000,
        },
    )
    with stub, pytest.raises(PriceFileError, match="no Savings Plans rates of AmazonSageMaker"):
        fetch_compute_savings_plans_rates(
            client, regions=["eu-west-1"], services=["AmazonSageMaker"],
            instance_types=["ml.m5.xlarge"],
        )  # fmt: skip


def test_a_bad_api_rate_is_one_error() -> None:
    client, stub = client_for("savingsplans")
    bad = result("USE1-Fargate-GB-Hours", "n/a", product="Fargate", service_code="AmazonECS")
    stub.add_response("describe_savings_plans_offering_rates", {"searchResults": [bad]})
    with stub, pytest.raises(PriceFileError, match="column rate: 'n/a' is not a finite number"):
        fetch_compute_savings_plans_rates(client, regions=["us-east-1"], services=["AWSFargate"])


def items_of(offer: str) -> list[str]:
    """``GetProducts`` entries (JSON strings) built from a documented-forms offer JSON."""
    document = json.loads((DATA / f"pricelist_{offer}_documented.json").read_text())
    return [
        json.dumps(
            {
                "product": product,
                "serviceCode": offer,
                "terms": {"OnDemand": document["terms"]["OnDemand"][sku]},
                "version": document["version"],
                "publicationDate": document["publicationDate"],
            }
        )
        for sku, product in document["products"].items()
        if product["attributes"]["regionCode"] == "us-east-1"
    ]


def test_on_demand_rates_from_get_products() -> None:
    client, stub = client_for("pricing")
    for service, offer, filters in (
        ("AWSFargate", "AmazonECS", []),
        ("AWSLambda", "AWSLambda", []),
        (
            "AmazonSageMaker",
            "AmazonSageMaker",
            [
                {"Type": "TERM_MATCH", "Field": "productFamily", "Value": "ML Instance"},
                {"Type": "TERM_MATCH", "Field": "instanceType", "Value": "ml.m5.xlarge"},
            ],
        ),
    ):
        del service
        stub.add_response(
            "get_products",
            {"FormatVersion": "aws_v1", "PriceList": items_of(offer)},
            {
                "ServiceCode": offer,
                "FormatVersion": "aws_v1",
                "Filters": [
                    {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"},
                    *filters,
                ],
                "MaxResults": 100,
            },
        )
    with stub:
        catalog = fetch_compute_price_list(
            client, regions=["us-east-1"], instance_types=["ml.m5.xlarge", "m5.large"]
        )
    table = catalog.on_demand.set_index(["instance_type", "platform", "tenancy"])
    assert table.loc[("fargate.vcpu", "fargate-linux", "x86_64"), "on_demand_usd_per_hour"] == (
        pytest.approx(0.04048)
    )
    assert table.loc[("lambda.duration", "lambda", "x86_64"), "on_demand_usd_per_hour"] == (
        pytest.approx(0.06, rel=1e-5)
    )
    assert ("ml.m5.xlarge", "sagemaker-training", "x86_64") in table.index
    assert catalog.metadata.source == (
        "AWS Price List API GetProducts AmazonECS+AWSLambda+AmazonSageMaker 20261120000000"
    )
    assert str(catalog.metadata.as_of) == "2026-11-20"
    assert any("first priced tier" in note for note in catalog.metadata.notes)


def test_get_products_with_nothing_usable() -> None:
    client, stub = client_for("pricing")
    stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": []})
    with stub, pytest.raises(PriceFileError, match="no on-demand rates of AWSLambda"):
        fetch_compute_price_list(client, regions=["us-east-1"], services=["AWSLambda"])
