"""Tests of the Savings Plans API reader with botocore's Stubber (moto lacks savingsplans).

The Stubber checks every request against botocore's service model and the expected parameters,
and every canned response against the response shape. The EC2 Instance Savings Plan rates are those
of the real ap-east-2 offer excerpt (tests/data/pricing/ec2priceit_5-...); the Compute Savings Plan
and 1-year rates are made up for the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from core.errors import CommitoptInputError
from pricing.catalog import PriceCatalog
from pricing.errors import PriceFileError
from pricing.readers.aws_api import AwsAccessError
from pricing.readers.savings_plans_api import OPERATION, fetch_savings_plans_rates

METHOD = "describe_savings_plans_offering_rates"
THREE_YEARS_S = 94_608_000
ONE_YEAR_S = 31_536_000


def _result(
    usage_type: str,
    operation: str,
    rate: str,
    *,
    plan_type: str = "EC2Instance",
    payment: str = "Partial Upfront",
    seconds: int = THREE_YEARS_S,
    currency: str = "USD",
) -> dict[str, Any]:
    return {
        "savingsPlanOffering": {
            "offeringId": "4c2a4d1e-9b3f-4e0a-8f6d-2a7b9c1d0e3f",
            "paymentOption": payment,
            "planType": plan_type,
            "durationSeconds": seconds,
            "currency": currency,
            "planDescription": f"{plan_type} Savings Plan",
        },
        "rate": rate,
        "unit": "Hrs",
        "productType": "EC2",
        "serviceCode": "AmazonEC2",
        "usageType": usage_type,
        "operation": operation,
        "properties": [
            {"name": "region", "value": "ap-east-2"},
            {"name": "instanceType", "value": usage_type.split(":")[1]},
        ],
    }


RHEL_MEDIUM = _result("APE2-DedicatedUsage:r7g.medium", "RunInstances:0010", "0.0425")
UBUNTU_12XL = _result("APE2-BoxUsage:r7g.12xlarge", "RunInstances:0g00", "1.2268")
UNUSED_LARGE = _result("APE2-UnusedDed:r7g.large", "RunInstances", "0.0562")
COMPUTE_12XL = _result(
    "APE2-BoxUsage:r7g.12xlarge", "RunInstances:0g00", "1.35", plan_type="Compute"
)
ONE_YEAR_12XL = _result(
    "APE2-BoxUsage:r7g.12xlarge",
    "RunInstances:0g00",
    "1.6",
    payment="No Upfront",
    seconds=ONE_YEAR_S,
)


def _request(region: str = "ap-east-2", **changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "savingsPlanTypes": ["Compute", "EC2Instance"],
        "products": ["EC2"],
        "serviceCodes": ["AmazonEC2"],
        "savingsPlanPaymentOptions": ["No Upfront", "Partial Upfront", "All Upfront"],
        "filters": [{"name": "region", "values": [region]}],
        "maxResults": 1000,
    }
    request.update(changes)
    return request


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "savingsplans",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def _rate(catalog: PriceCatalog, instance_type: str, plan: str, years: int, payment: str) -> float:
    table = catalog.savings_plans
    row = table.loc[
        (table["instance_type"] == instance_type)
        & (table["plan_type"] == plan)
        & (table["term_years"] == years)
        & (table["payment_option"] == payment)
    ]
    assert len(row) == 1
    return float(row["sp_hourly_usd"].iloc[0])


def test_pages_are_followed_and_mapped_to_keys(client: Any, stubber: Stubber) -> None:
    stubber.add_response(
        METHOD,
        {"searchResults": [RHEL_MEDIUM, UBUNTU_12XL], "nextToken": "cGFnZTI="},
        _request(),
    )
    stubber.add_response(
        METHOD,
        {"searchResults": [UNUSED_LARGE, COMPUTE_12XL, ONE_YEAR_12XL]},
        _request(nextToken="cGFnZTI="),
    )
    catalog = fetch_savings_plans_rates(client, regions=["ap-east-2"], sleep=lambda _: None)
    table = catalog.savings_plans
    assert len(table) == 4  # the UnusedDed rate is not instance usage
    medium = table.loc[table["instance_type"] == "r7g.medium"].iloc[0]
    assert (medium["region"], medium["platform"], medium["tenancy"]) == (
        "ap-east-2",
        "Red Hat Enterprise Linux",
        "Dedicated",
    )
    assert _rate(catalog, "r7g.medium", "ec2_instance", 3, "Partial Upfront") == 0.0425
    assert _rate(catalog, "r7g.12xlarge", "ec2_instance", 3, "Partial Upfront") == 1.2268
    assert _rate(catalog, "r7g.12xlarge", "compute", 3, "Partial Upfront") == 1.35
    assert _rate(catalog, "r7g.12xlarge", "ec2_instance", 1, "No Upfront") == 1.6
    assert set(table.loc[table["instance_type"] == "r7g.12xlarge", "platform"]) == {"Ubuntu Pro"}
    assert "DescribeSavingsPlansOfferingRates" in catalog.metadata.source


def test_throttling_is_retried_then_succeeds(client: Any, stubber: Stubber) -> None:
    stubber.add_client_error(METHOD, service_error_code="ThrottlingException", http_status_code=400)
    stubber.add_response(METHOD, {"searchResults": [RHEL_MEDIUM]}, _request())
    sleeps: list[float] = []
    catalog = fetch_savings_plans_rates(client, regions=["ap-east-2"], sleep=sleeps.append)
    assert len(sleeps) == 1
    assert len(catalog.savings_plans) == 1


def test_access_denied_names_the_permission(client: Any, stubber: Stubber) -> None:
    stubber.add_client_error(
        METHOD, service_error_code="AccessDeniedException", http_status_code=403
    )
    with pytest.raises(AwsAccessError, match="savingsplans:DescribeSavingsPlansOfferingRates"):
        fetch_savings_plans_rates(client, regions=["ap-east-2"], sleep=lambda _: None)


def test_one_request_series_per_region_with_filters(client: Any, stubber: Stubber) -> None:
    types = {"name": "instanceType", "values": ["r7g.medium", "m5.large"]}
    stubber.add_response(
        METHOD,
        {"searchResults": [RHEL_MEDIUM]},
        _request(
            savingsPlanTypes=["EC2Instance"],
            savingsPlanPaymentOptions=["Partial Upfront"],
            filters=[{"name": "region", "values": ["ap-east-2"]}, types],
        ),
    )
    us_east = _result("BoxUsage:m5.large", "RunInstances", "0.0605")
    stubber.add_response(
        METHOD,
        {"searchResults": [us_east]},
        _request(
            savingsPlanTypes=["EC2Instance"],
            savingsPlanPaymentOptions=["Partial Upfront"],
            filters=[{"name": "region", "values": ["us-east-1"]}, types],
        ),
    )
    progress: list[tuple[int, int | None]] = []
    catalog = fetch_savings_plans_rates(
        client,
        regions=["ap-east-2", "us-east-1"],
        instance_types=["r7g.medium", "m5.large"],
        plan_types=["EC2Instance"],
        payment_options=["partialUpfront"],
        progress=lambda done, total: progress.append((done, total)),
        sleep=lambda _: None,
    )
    assert progress == [(1, 2), (2, 2)]
    table = catalog.savings_plans.set_index("instance_type")
    assert table.loc["m5.large", "region"] == "us-east-1"
    assert table.loc["m5.large", "platform"] == "Linux/UNIX"
    assert table.loc["m5.large", "sp_hourly_usd"] == 0.0605
    assert table.loc["r7g.medium", "region"] == "ap-east-2"


def test_terms_are_filtered_after_the_call(client: Any, stubber: Stubber) -> None:
    stubber.add_response(METHOD, {"searchResults": [UBUNTU_12XL, ONE_YEAR_12XL]}, _request())
    catalog = fetch_savings_plans_rates(
        client, regions=["ap-east-2"], terms_years=(1,), sleep=lambda _: None
    )
    assert catalog.savings_plans["term_years"].tolist() == [1]
    assert catalog.savings_plans["sp_hourly_usd"].tolist() == [1.6]


@pytest.mark.parametrize(
    ("result", "fragments"),
    [
        (
            _result("APE2-BoxUsage:r7g.large", "RunInstances", "0.05", currency="CNY"),
            ["APE2-BoxUsage:r7g.large RunInstances", "savingsPlanOffering.currency", "'CNY'"],
        ),
        (
            _result("APE2-BoxUsage:r7g.large", "RunInstances", "-0.05"),
            ["column rate", "'-0.05' is negative"],
        ),
        (
            _result("APE2-BoxUsage:r7g.large", "RunInstances", "0.05", seconds=12_345),
            ["savingsPlanOffering.durationSeconds", "unknown commitment term '12345'"],
        ),
    ],
)
def test_bad_rates_from_the_api(
    client: Any, stubber: Stubber, result: dict[str, Any], fragments: list[str]
) -> None:
    stubber.add_response(METHOD, {"searchResults": [result]}, _request())
    with pytest.raises(PriceFileError) as raised:
        fetch_savings_plans_rates(client, regions=["ap-east-2"], sleep=lambda _: None)
    message = str(raised.value)
    assert message.startswith(OPERATION)
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_conflicting_rates_from_the_api(client: Any, stubber: Stubber) -> None:
    clash = _result("APE2-BoxUsage:r7g.12xlarge", "RunInstances:0g00", "1.3")
    stubber.add_response(METHOD, {"searchResults": [UBUNTU_12XL, clash]}, _request())
    with pytest.raises(PriceFileError, match=r"two rates \(1.2268 USD/h and 1.3 USD/h\)"):
        fetch_savings_plans_rates(client, regions=["ap-east-2"], sleep=lambda _: None)


def test_no_rates_at_all(client: Any, stubber: Stubber) -> None:
    stubber.add_response(METHOD, {"searchResults": [UNUSED_LARGE]}, _request())
    with pytest.raises(
        PriceFileError, match=r"no EC2 Savings Plans rates for region\(s\) ap-east-2"
    ):
        fetch_savings_plans_rates(client, regions=["ap-east-2"], sleep=lambda _: None)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"regions": []}, "at least one region"),
        ({"regions": ["mars-1"]}, "unknown AWS region 'mars-1'"),
        ({"plan_types": ["Storage"]}, "unknown Savings Plan type 'Storage'"),
        ({"plan_types": ["SageMaker"]}, "not sagemaker Savings Plans rates"),
        ({"terms_years": (1, 2)}, "unknown Savings Plans term 2 years"),
        ({"payment_options": ["Heavy Utilization"]}, "unknown payment option"),
    ],
)
def test_bad_arguments_fail_before_any_call(
    client: Any, stubber: Stubber, arguments: dict[str, Any], message: str
) -> None:
    call: dict[str, Any] = {"regions": ["ap-east-2"], **arguments}
    with pytest.raises(CommitoptInputError, match=message):
        fetch_savings_plans_rates(client, sleep=lambda _: None, **call)
