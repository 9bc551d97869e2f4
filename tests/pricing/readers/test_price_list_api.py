"""Tests of the Price List API fetcher with botocore's Stubber (moto lacks the pricing API)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from core.errors import CommitoptInputError
from pricing.errors import PriceFileError
from pricing.readers.aws_api import AwsAccessError
from pricing.readers.price_list_api import fetch_price_list, product_filters
from tests.pricing.readers.test_price_list_json import assert_m5_large

FIXTURE = (
    Path(__file__).parents[2]
    / "data"
    / "pricing"
    / "pricelist_getproducts_m5.large_us-east-1_2021-02.json"
)


def record() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


def xlarge_record() -> dict[str, Any]:
    """A second product (m5.xlarge) for the second page: the real record with doubled prices."""
    item = copy.deepcopy(record())
    old_sku, new_sku = item["product"]["sku"], "M5XLARGESKU00000"
    attributes = item["product"]["attributes"]
    attributes["instanceType"] = "m5.xlarge"
    attributes["usagetype"] = "BoxUsage:m5.xlarge"
    item["product"]["sku"] = new_sku
    for terms in item["terms"].values():
        for term in terms.values():
            term["sku"] = new_sku
            for dimension in term["priceDimensions"].values():
                dimension["pricePerUnit"]["USD"] = str(2 * float(dimension["pricePerUnit"]["USD"]))
    text = json.dumps(item).replace(old_sku, new_sku)
    return json.loads(text)


@pytest.fixture
def client() -> Iterator[Any]:
    pricing = boto3.client(
        "pricing",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    yield pricing


def request(tenancy: str, token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "ServiceCode": "AmazonEC2",
        "FormatVersion": "aws_v1",
        "Filters": [
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"},
            {"Type": "TERM_MATCH", "Field": "tenancy", "Value": tenancy},
            {"Type": "TERM_MATCH", "Field": "capacitystatus", "Value": "Used"},
            {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Linux"},
            {"Type": "TERM_MATCH", "Field": "preInstalledSw", "Value": "NA"},
            {"Type": "TERM_MATCH", "Field": "licenseModel", "Value": "No License required"},
        ],
        "MaxResults": 100,
    }
    if token:
        params["NextToken"] = token
    return params


def page(items: list[dict[str, Any]], token: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "FormatVersion": "aws_v1",
        "PriceList": [json.dumps(item) for item in items],
    }
    if token:
        response["NextToken"] = token
    return response


def test_paged_fetch_with_parameters_checked(client: Any) -> None:
    progress: list[tuple[int, int | None]] = []
    with Stubber(client) as stub:
        stub.add_response("get_products", page([record()], "page-2"), request("Shared"))
        stub.add_response("get_products", page([xlarge_record()]), request("Shared", "page-2"))
        stub.add_response("get_products", page([]), request("Dedicated"))
        catalog = fetch_price_list(
            client,
            regions=["us-east-1"],
            platforms=["linux"],
            progress=lambda done, total: progress.append((done, total)),
            sleep=lambda _: None,
        )
        stub.assert_no_pending_responses()
    assert progress == [(1, 2), (2, 2)]
    assert catalog.metadata.source == "AWS Price List API GetProducts AmazonEC2 20210205204500"
    assert catalog.metadata.as_of == date(2021, 2, 5)
    large = catalog.filter(instance_types=["m5.large"])
    assert_m5_large(large.on_demand, large.reserved)
    xlarge = catalog.filter(instance_types=["m5.xlarge"])
    assert xlarge.on_demand["on_demand_usd_per_hour"].tolist() == [0.192]
    assert len(xlarge.reserved) == 12
    assert catalog.reserved["effective_usd_per_hour"].notna().all()


def test_throttling_is_retried(client: Any) -> None:
    waits: list[float] = []
    with Stubber(client) as stub:
        stub.add_client_error(
            "get_products", service_error_code="ThrottlingException", http_status_code=400
        )
        stub.add_response("get_products", page([record()]), request("Shared"))
        stub.add_response("get_products", page([]), request("Dedicated"))
        catalog = fetch_price_list(
            client, regions=["us-east-1"], platforms=["Linux/UNIX"], sleep=waits.append
        )
        stub.assert_no_pending_responses()
    assert len(waits) == 1
    assert_m5_large(catalog.on_demand, catalog.reserved)


def test_access_denied(client: Any) -> None:
    with Stubber(client) as stub:
        stub.add_client_error(
            "get_products", service_error_code="AccessDeniedException", http_status_code=403
        )
        with pytest.raises(AwsAccessError, match="pricing:GetProducts"):
            fetch_price_list(client, regions=["us-east-1"], sleep=lambda _: None)


def test_nothing_returned_is_an_error(client: Any) -> None:
    with Stubber(client) as stub:
        stub.add_response("get_products", page([]))
        stub.add_response("get_products", page([]))
        with pytest.raises(PriceFileError, match="no EC2 instance prices returned for region"):
            fetch_price_list(client, regions=["us-east-1"], instance_types=["m5.large"])


def test_malformed_entry(client: Any) -> None:
    with Stubber(client) as stub:
        stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": ["{not json"]})
        with pytest.raises(PriceFileError, match="page 1 holds a PriceList entry that is not JSON"):
            fetch_price_list(client, regions=["us-east-1"])


def test_needs_a_region(client: Any) -> None:
    with pytest.raises(CommitoptInputError, match="at least one region") as error:
        fetch_price_list(client, regions=[])
    assert error.value.parameters == ("regions",)
    assert "(e.g. `regions` us-east-1)" in str(error.value)
    assert "(e.g. --region us-east-1)" in error.value.render(lambda name: "--region")


def test_filters_for_one_type_and_platform() -> None:
    from pricing.platforms import PLATFORMS

    sql_web = next(p for p in PLATFORMS if p.name == "Windows with SQL Server Web")
    filters = product_filters("eu-west-2", "Dedicated", "c5.xlarge", sql_web)
    assert {f["Field"]: f["Value"] for f in filters} == {
        "regionCode": "eu-west-2",
        "tenancy": "Dedicated",
        "capacitystatus": "Used",
        "instanceType": "c5.xlarge",
        "operatingSystem": "Windows",
        "preInstalledSw": "SQL Web",
        "licenseModel": "No License required",
    }
    assert {f["Type"] for f in filters} == {"TERM_MATCH"}
