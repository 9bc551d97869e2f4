"""Database Savings Plans rates from a stubbed ``DescribeSavingsPlansOfferingRates``.

The responses follow the API reference's shapes (botocore validates them against the service
model: ``planType`` ``Database``, ``productType`` ``RDS`` / ``ElastiCache``, ``unit`` ``Hrs`` or
``ACU-Hr``); the rates are illustrative.
"""

from __future__ import annotations

import re
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from pricing.errors import PriceFileError
from pricing.readers.database_savings_plans_api import (
    database_rate_rows,
    fetch_database_savings_plans_rates,
)

YEAR_SECONDS = 31_536_000


def rate(
    usage_type: str,
    value: str,
    description: str,
    *,
    instance_type: str | None = None,
    unit: str = "Hrs",
    product: str = "RDS",
    region: str = "us-east-1",
) -> dict[str, Any]:
    """One ``searchResults`` entry of a 1-year No Upfront Database Savings Plan."""
    properties = [
        {"name": "region", "value": region},
        {"name": "productDescription", "value": description},
    ]
    if instance_type:
        properties.append({"name": "instanceType", "value": instance_type})
    return {
        "savingsPlanOffering": {
            "offeringId": "0a1b2c3d-database",
            "paymentOption": "No Upfront",
            "planType": "Database",
            "durationSeconds": YEAR_SECONDS,
            "currency": "USD",
            "planDescription": "1 year No Upfront Database Savings Plan",
        },
        "rate": value,
        "unit": unit,
        "productType": product,
        "serviceCode": "AmazonRDS" if product == "RDS" else "AmazonElastiCache",
        "usageType": usage_type,
        "operation": "CreateDBInstance:0016",
        "properties": properties,
    }


PAGE_1 = [
    rate("InstanceUsage:db.r7g.large", "0.21", "Aurora MySQL", instance_type="db.r7g.large"),
    rate("Multi-AZUsage:db.m7g.large", "0.232", "MariaDB", instance_type="db.m7g.large"),
    rate("Aurora:ServerlessV2Usage", "0.09", "Aurora MySQL", unit="ACU-Hr"),
]
PAGE_2 = [
    rate(
        "NodeUsage:cache.r7g.large",
        "0.16",
        "Valkey",
        instance_type="cache.r7g.large",
        product="ElastiCache",
    ),
    rate("InstanceUsage:db.r7g.large", "0.30", "Oracle", instance_type="db.r7g.large"),
]


def stubbed_client() -> tuple[Any, Stubber]:
    # a botocore session of its own: tests that replace boto3.Session still get a real client
    client = botocore.session.get_session().create_client(
        "savingsplans",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


def test_rates_are_keyed_like_the_usage_and_the_rest_is_counted() -> None:
    client, stub = stubbed_client()
    expected = {
        "savingsPlanTypes": ["Database"],
        "products": ["RDS", "ElastiCache"],
        "filters": [{"name": "region", "values": ["us-east-1"]}],
        "maxResults": 1000,
    }
    stub.add_response(
        "describe_savings_plans_offering_rates",
        {"searchResults": PAGE_1, "nextToken": "page-2"},
        expected,
    )
    stub.add_response(
        "describe_savings_plans_offering_rates",
        {"searchResults": PAGE_2},
        {**expected, "nextToken": "page-2"},
    )
    with stub:
        catalog = fetch_database_savings_plans_rates(client, regions=["us-east-1"])
    table = catalog.savings_plans.set_index(["instance_type", "platform", "tenancy"])
    assert set(table["plan_type"]) == {"database"}
    assert table.loc[("db.r7g.large", "aurora-mysql", "Single-AZ"), "sp_hourly_usd"] == 0.21
    assert table.loc[("db.m7g.large", "mariadb", "Multi-AZ"), "sp_hourly_usd"] == 0.232
    assert table.loc[("cache.r7g.large", "valkey", "Node"), "sp_hourly_usd"] == 0.16
    assert set(table["term_years"]) == {1} and set(table["payment_option"]) == {"No Upfront"}
    notes = " ".join(catalog.metadata.notes)
    assert "unit ACU-Hr" in notes  # serverless capacity units: not modelled, counted
    assert "engine 'Oracle' not mapped" in notes


def test_a_bad_rate_is_one_error_and_no_rates_at_all_is_another() -> None:
    with pytest.raises(PriceFileError, match=re.escape("rate 'n/a' of InstanceUsage:db.r7g.large")):
        database_rate_rows(
            [rate("InstanceUsage:db.r7g.large", "n/a", "MySQL", instance_type="db.r7g.large")]
        )
    client, stub = stubbed_client()
    stub.add_response("describe_savings_plans_offering_rates", {"searchResults": []})
    with stub, pytest.raises(PriceFileError, match="no Database Savings Plans rates"):
        fetch_database_savings_plans_rates(client, regions=["eu-west-1"], services=["AmazonRDS"])


def test_two_rates_for_one_key_are_refused() -> None:
    with pytest.raises(PriceFileError, match=re.escape("two different rates for db.r7g.large")):
        database_rate_rows(
            [
                rate("InstanceUsage:db.r7g.large", "0.21", "MySQL", instance_type="db.r7g.large"),
                rate("InstanceUsage:db.r7g.large", "0.22", "MySQL", instance_type="db.r7g.large"),
            ]
        )
