"""Fargate, Lambda and SageMaker usage from Cost Explorer (``compute_services=True``).

botocore's Stubber checks each request against the service model and the exact parameters; the
answers are shaped like ``GetCostAndUsage`` answers grouped by ``USAGE_TYPE`` and ``SERVICE``
(usage types and units as the CUR writes them; quantities made up). The oracle for the keys is the
vocabulary itself (:func:`pricing.compute_keys.key_of_usage_type`), for the quantities plain
arithmetic.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber

from usage.compute_sql import NOT_COVERED
from usage.cost_explorer import GROUP_BY, METRICS, SERVICE, USAGE_TYPE_GROUP, read_cost_explorer
from usage.cost_explorer_compute import (
    CE_SERVICE_CODES,
    COMPUTE_GROUP_BY,
    DEMAND_RECORD_TYPES,
)

TODAY = date(2026, 11, 23)
DAY = ("2026-11-01", "2026-11-02")
ACCOUNT = "111122223333"


def _request(filters: list[dict[str, Any]], group_by: Any) -> dict[str, Any]:
    account = {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": [ACCOUNT]}}
    return {
        "TimePeriod": {"Start": DAY[0], "End": DAY[1]},
        "Granularity": "DAILY",
        "Filter": {"And": [*filters, account]},
        "Metrics": list(METRICS),
        "GroupBy": [dict(group) for group in group_by],
    }


EC2_REQUEST = _request(
    [
        {"Dimensions": {"Key": "SERVICE", "Values": [SERVICE]}},
        {"Dimensions": {"Key": "USAGE_TYPE_GROUP", "Values": [USAGE_TYPE_GROUP]}},
    ],
    GROUP_BY,
)
COMPUTE_REQUEST = _request(
    [
        {"Dimensions": {"Key": "SERVICE", "Values": list(CE_SERVICE_CODES)}},
        {"Dimensions": {"Key": "RECORD_TYPE", "Values": list(DEMAND_RECORD_TYPES)}},
    ],
    COMPUTE_GROUP_BY,
)


def _group(usage_type: str, second: str, amount: str, unit: str, cost: str) -> dict[str, Any]:
    return {
        "Keys": [usage_type, second],
        "Metrics": {
            "UsageQuantity": {"Amount": amount, "Unit": unit},
            "UnblendedCost": {"Amount": cost, "Unit": "USD"},
        },
    }


def _answer(group_by: Any, *groups: dict[str, Any]) -> dict[str, Any]:
    period = {
        "TimePeriod": {"Start": DAY[0], "End": DAY[1]},
        "Total": {},
        "Groups": list(groups),
        "Estimated": False,
    }
    return {"GroupDefinitions": group_by, "ResultsByTime": [period], "DimensionValueAttributes": []}


EC2_ANSWER = _answer(GROUP_BY, _group("BoxUsage:m5.large", "RunInstances", "24", "Hrs", "2.3"))
COMPUTE_ANSWER = _answer(
    COMPUTE_GROUP_BY,
    _group("USE1-Fargate-vCPU-Hours:perCPU", "Amazon Elastic Container Service", "48", "hours",
           "1.9"),
    _group("USW2-Fargate-ARM-GB-Hours", "Amazon Elastic Container Service for Kubernetes", "24",
           "GB-Hours", "0.1"),
    _group("Lambda-GB-Second", "AWS Lambda", "86400", "Lambda-GB-Second", "1.4"),
    _group("USE1-Train:ml.m6g.large", "Amazon SageMaker", "12", "Hrs", "1.1"),
    _group("Request", "AWS Lambda", "1000000", "Requests", "0.2"),
    _group("USE1-AmazonEKS-Hours:perCluster", "Amazon Elastic Container Service for Kubernetes",
           "24", "Hours", "2.4"),
    _group("USE1-Lambda-GB-Second-ARM", "AWS Lambda", "100", "Bytes", "0.0"),
    _group("USE1-DataTransfer-Out-Bytes", "AWS Lambda", "1", "GB", "0.09"),
)  # fmt: skip


def _read(client: Any, **options: Any) -> tuple[pd.DataFrame, Any]:
    return read_cost_explorer(
        client, start=date(*map(int, DAY[0].split("-"))), end=date(*map(int, DAY[1].split("-"))),
        accounts=[ACCOUNT], today=TODAY, **options,
    )  # fmt: skip


def _stubbed() -> tuple[Any, Stubber]:
    client = boto3.client(
        "ce", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return client, Stubber(client)


def test_compute_services_are_one_more_request_series_keyed_as_the_bill_readers_key_them() -> None:
    client, stubber = _stubbed()
    stubber.add_response("get_cost_and_usage", EC2_ANSWER, EC2_REQUEST)
    stubber.add_response("get_cost_and_usage", COMPUTE_ANSWER, COMPUTE_REQUEST)
    with stubber:
        usage, report = _read(client, compute_services=True)
        stubber.assert_no_pending_responses()
    assert report.requests == 2
    daily = usage.groupby(["instance_type", "platform", "tenancy", "region"])["quantity"].sum()
    assert daily.to_dict() == pytest.approx(
        {
            ("fargate.vcpu", "fargate-linux", "x86_64", "us-east-1"): 48.0,
            ("fargate.memory", "fargate-linux", "arm64", "us-west-2"): 24.0,
            ("lambda.duration", "lambda", "x86_64", "us-east-1"): 86400 / 3600,
            ("ml.m6g.large", "sagemaker-training", "arm64", "us-east-1"): 12.0,
            ("m5.large", "Linux/UNIX", "Shared", "us-east-1"): 24.0,
        }
    )
    assert len(usage) == 5 * 24  # each day spread over its 24 hours
    assert set(usage["account_id"]) == {ACCOUNT}
    reasons = {e.reason: e.rows for e in report.excluded}
    assert reasons == {
        NOT_COVERED: 1,  # Lambda requests
        "not Fargate usage": 1,  # EKS cluster hours
        "unknown unit": 1,  # GB-seconds in Bytes
        "data transfer": 1,
    }
    assert report.rows_kept == 5
    assert report.quantity_kept == pytest.approx(24 + 48 + 24 + 24 + 12)


def test_without_the_option_only_ec2_is_asked() -> None:
    client, stubber = _stubbed()
    stubber.add_response("get_cost_and_usage", EC2_ANSWER, EC2_REQUEST)
    with stubber:
        usage, report = _read(client)
        stubber.assert_no_pending_responses()
    assert report.requests == 1
    assert set(usage["instance_type"]) == {"m5.large"}
