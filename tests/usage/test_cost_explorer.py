"""Tests of the Cost Explorer usage reader with botocore's Stubber and moto's canned CE results.

The Stubber checks every request against botocore's service model and the exact expected
parameters, and every canned answer against the response shape. The answers are shaped like real
``GetCostAndUsage`` answers grouped by ``USAGE_TYPE`` and ``OPERATION`` (usage types, operation
codes and units as AWS writes them); the quantities are made up for the tests.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import boto3
import pandas as pd
import pytest
import requests
from botocore.stub import Stubber
from moto import mock_aws

from pricing.readers.aws_api import AwsAccessError
from usage.cost_explorer import (
    SERVICE,
    USAGE_TYPE_GROUP,
    CostExplorerReport,
    ExcludedUsage,
    read_cost_explorer,
)
from usage.errors import UsageInputError
from usage.table import DAILY_GRANULAR_ATTR, USAGE_SCHEMA

TODAY = date(2026, 11, 23)
GROUP_BY = [{"Type": "DIMENSION", "Key": "USAGE_TYPE"}, {"Type": "DIMENSION", "Key": "OPERATION"}]


def _filter(*extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "And": [
            {"Dimensions": {"Key": "SERVICE", "Values": [SERVICE]}},
            {"Dimensions": {"Key": "USAGE_TYPE_GROUP", "Values": [USAGE_TYPE_GROUP]}},
            *extra,
        ]
    }


def _request(start: str, end: str, granularity: str, *extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "TimePeriod": {"Start": start, "End": end},
        "Granularity": granularity,
        "Filter": _filter(*extra),
        "Metrics": ["UsageQuantity", "UnblendedCost"],
        "GroupBy": GROUP_BY,
    }


def _group(usage_type: str, operation: str, hours: str, cost: str) -> dict[str, Any]:
    return {
        "Keys": [usage_type, operation],
        "Metrics": {
            "UsageQuantity": {"Amount": hours, "Unit": "Hrs"},
            "UnblendedCost": {"Amount": cost, "Unit": "USD"},
        },
    }


def _period(start: str, end: str, *groups: dict[str, Any], estimated: bool = False) -> dict:
    return {
        "TimePeriod": {"Start": start, "End": end},
        "Total": {},
        "Groups": list(groups),
        "Estimated": estimated,
    }


def _answer(*periods: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "GroupDefinitions": GROUP_BY,
        "ResultsByTime": list(periods),
        "DimensionValueAttributes": [],
    }
    if token:
        answer["NextPageToken"] = token
    return answer


H0, H1, H2 = "2026-11-20T00:00:00Z", "2026-11-20T01:00:00Z", "2026-11-20T02:00:00Z"
HOURLY_PAGE_1 = _answer(
    _period(
        H0,
        H1,
        _group("BoxUsage:m5.large", "RunInstances", "3", "0.288"),
        _group("USE1-BoxUsage:m5.large", "RunInstances", "0.5", "0.048"),
        _group("USE2-BoxUsage:c5.xlarge", "RunInstances:0002", "2", "0.736"),
        _group("SpotUsage:m5.large", "RunInstances:SV001", "4", "0.15"),
    ),
    token="page-2",
)
HOURLY_PAGE_2 = _answer(
    _period(
        H0,
        H1,
        _group("EUW2-DedicatedUsage:r5.large", "RunInstances:0010", "1", "0.2"),
        _group("HostUsage:m5", "RunInstances", "1", "4.0"),
    ),
    _period(
        H1,
        H2,
        _group("BoxUsage:m5.large", "RunInstances", "2.25", "0.216"),
        _group("XXX9-BoxUsage:m5.large", "RunInstances", "1", "0.1"),
        estimated=True,
    ),
)


def _stubbed() -> tuple[Any, Stubber]:
    client = boto3.client(
        "ce", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return client, Stubber(client)


def _hourly_request(*extra: dict[str, Any]) -> dict[str, Any]:
    return _request("2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z", "HOURLY", *extra)


def test_hourly_golden_table_over_two_pages() -> None:
    client, stubber = _stubbed()
    stubber.add_response("get_cost_and_usage", HOURLY_PAGE_1, _hourly_request())
    stubber.add_response(
        "get_cost_and_usage", HOURLY_PAGE_2, {**_hourly_request(), "NextPageToken": "page-2"}
    )
    calls: list[tuple[int, int | None]] = []
    with stubber:
        usage, report = read_cost_explorer(
            client,
            start=date(2026, 11, 20),
            end=date(2026, 11, 21),
            granularity="HOURLY",
            today=TODAY,
            progress=lambda done, total: calls.append((done, total)),
        )
        stubber.assert_no_pending_responses()
    expected = pd.DataFrame(
        {
            "hour": pd.to_datetime([H0, H0, H0, H1], utc=True),
            "account_id": ["", "", "", ""],
            "region": ["eu-west-2", "us-east-1", "us-east-2", "us-east-1"],
            "instance_type": ["r5.large", "m5.large", "c5.xlarge", "m5.large"],
            "platform": ["Red Hat Enterprise Linux", "Linux/UNIX", "Windows", "Linux/UNIX"],
            "tenancy": ["Dedicated", "Shared", "Shared", "Shared"],
            "quantity": [1.0, 3.5, 2.0, 2.25],
        }
    ).astype(USAGE_SCHEMA)
    pd.testing.assert_frame_equal(usage, expected)
    assert not usage.attrs.get(DAILY_GRANULAR_ATTR, False)
    assert calls == [(1, 1)]
    assert report == CostExplorerReport(
        granularity="HOURLY",
        start=date(2026, 11, 20),
        end=date(2026, 11, 21),
        requests=2,
        accounts=(),
        rows_kept=5,
        rows_excluded=3,
        quantity_kept=8.75,
        cost_kept_usd=pytest.approx(0.288 + 0.048 + 0.736 + 0.2 + 0.216),
        excluded=(
            ExcludedUsage("SpotUsage is not instance usage that commitments cover", 1, 4.0, 0.15),
            ExcludedUsage("not an EC2 instance usage type", 1, 1.0, 4.0),
            ExcludedUsage("unknown region prefix XXX9", 1, 1.0, 0.1),
        ),
        estimated_periods=1,
        daily_spread=False,
    )


def test_daily_per_account_spread_over_24_hours() -> None:
    client, stubber = _stubbed()
    day = _answer(
        _period(
            "2026-11-01",
            "2026-11-02",
            _group("USE2-BoxUsage:c5.xlarge", "RunInstances:0002", "48", "17.664"),
        )
    )
    other = _answer(
        _period("2026-11-01", "2026-11-02", _group("BoxUsage:t3.micro", "RunInstances", "12", "0"))
    )
    for account, answer in (("111122223333", day), ("444455556666", other)):
        account_filter = {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": [account]}}
        region_filter = {"Dimensions": {"Key": "REGION", "Values": ["us-east-2", "us-east-1"]}}
        stubber.add_response(
            "get_cost_and_usage",
            answer,
            _request("2026-11-01", "2026-11-02", "DAILY", region_filter, account_filter),
        )
    with stubber:
        usage, report = read_cost_explorer(
            client,
            start=date(2026, 11, 1),
            end=date(2026, 11, 2),
            accounts=["111122223333", "444455556666"],
            regions=["us-east-2", "us-east-1"],
            today=TODAY,
        )
        stubber.assert_no_pending_responses()
    assert usage.attrs[DAILY_GRANULAR_ATTR] is True
    assert report.daily_spread and report.requests == 2
    assert report.accounts == ("111122223333", "444455556666")
    assert len(usage) == 48
    assert usage["hour"].min() == pd.Timestamp("2026-11-01T00:00Z")
    assert usage["hour"].max() == pd.Timestamp("2026-11-01T23:00Z")
    per_account = usage.groupby("account_id")["quantity"].agg(["sum", "min", "max"])
    assert per_account.loc["111122223333"].tolist() == [48.0, 2.0, 2.0]
    assert per_account.loc["444455556666"].tolist() == [12.0, 0.5, 0.5]
    assert set(usage.loc[usage["account_id"] == "111122223333", "platform"]) == {"Windows"}


def test_by_account_discovers_accounts_first() -> None:
    client, stubber = _stubbed()
    discovery = {
        "GroupDefinitions": [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}],
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": "2026-11-01", "End": "2026-11-02"},
                "Total": {},
                "Groups": [
                    {
                        "Keys": ["444455556666"],
                        "Metrics": {"UsageQuantity": {"Amount": "12", "Unit": "Hrs"}},
                    }
                ],
                "Estimated": True,
            }
        ],
    }
    stubber.add_response(
        "get_cost_and_usage",
        discovery,
        {
            "TimePeriod": {"Start": "2026-11-01", "End": "2026-11-02"},
            "Granularity": "MONTHLY",
            "Filter": _filter(),
            "Metrics": ["UsageQuantity"],
            "GroupBy": [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}],
        },
    )
    answer = _answer(
        _period("2026-11-01", "2026-11-02", _group("BoxUsage:t3.micro", "RunInstances", "24", "0"))
    )
    account_filter = {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ["444455556666"]}}
    stubber.add_response(
        "get_cost_and_usage", answer, _request("2026-11-01", "2026-11-02", "DAILY", account_filter)
    )
    with stubber:
        usage, report = read_cost_explorer(
            client, start=date(2026, 11, 1), end=date(2026, 11, 2), by_account=True, today=TODAY
        )
        stubber.assert_no_pending_responses()
    assert report.accounts == ("444455556666",) and report.requests == 2
    assert set(usage["account_id"]) == {"444455556666"}
    assert usage["quantity"].sum() == 24.0


@pytest.mark.parametrize("code", ["ThrottlingException", "LimitExceededException"])
def test_throttling_is_retried_then_succeeds(code: str) -> None:
    client, stubber = _stubbed()
    stubber.add_client_error("get_cost_and_usage", service_error_code=code, http_status_code=400)
    stubber.add_response("get_cost_and_usage", HOURLY_PAGE_2, _hourly_request())
    waits: list[float] = []
    with stubber:
        usage, report = read_cost_explorer(
            client,
            start=date(2026, 11, 20),
            end=date(2026, 11, 21),
            granularity="HOURLY",
            today=TODAY,
            sleep=waits.append,
        )
        stubber.assert_no_pending_responses()
    assert len(waits) == 1
    assert report.requests == 1
    assert usage["quantity"].sum() == 3.25


def test_access_denied_names_the_permission() -> None:
    client, stubber = _stubbed()
    stubber.add_client_error(
        "get_cost_and_usage", service_error_code="AccessDeniedException", http_status_code=403
    )
    with stubber, pytest.raises(AwsAccessError, match=r"ce:GetCostAndUsage"):
        read_cost_explorer(client, start=date(2026, 11, 1), end=date(2026, 11, 2), today=TODAY)


def test_hourly_older_than_14_days_is_refused_before_any_call() -> None:
    client, stubber = _stubbed()
    with (
        stubber,
        pytest.raises(UsageInputError, match=r"last 14 days only \(from 2026-11-09\).*enabled"),
    ):
        read_cost_explorer(
            client,
            start=date(2026, 11, 8),
            end=date(2026, 11, 10),
            granularity="HOURLY",
            today=TODAY,
        )


def test_hourly_not_enabled_says_how_to_enable_it() -> None:
    client, stubber = _stubbed()
    stubber.add_client_error(
        "get_cost_and_usage",
        service_error_code="ValidationException",
        service_message="Hourly granularity is not enabled for this account",
        http_status_code=400,
    )
    with (
        stubber,
        pytest.raises(UsageInputError, match=r"not enabled.*must be enabled in the Cost Explorer"),
    ):
        read_cost_explorer(
            client,
            start=date(2026, 11, 20),
            end=date(2026, 11, 21),
            granularity="HOURLY",
            today=TODAY,
        )


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(2026, 11, 2), date(2026, 11, 2), "is empty"),
        (date(2026, 11, 1), date(2026, 11, 2), "unknown AWS region .mars-1."),
    ],
)
def test_bad_arguments(start: date, end: date, message: str) -> None:
    client, _ = _stubbed()
    with pytest.raises(ValueError, match=message):
        read_cost_explorer(client, start=start, end=end, regions=["mars-1"], today=TODAY)


def test_negative_hours_and_mixed_currencies_are_errors() -> None:
    client, stubber = _stubbed()
    negative = _answer(
        _period("2026-11-01", "2026-11-02", _group("BoxUsage:t3.micro", "RunInstances", "-1", "0"))
    )
    stubber.add_response("get_cost_and_usage", negative)
    with stubber, pytest.raises(UsageInputError, match=r"negative UsageQuantity -1\.0"):
        read_cost_explorer(client, start=date(2026, 11, 1), end=date(2026, 11, 2), today=TODAY)
    euro = _group("BoxUsage:t3.small", "RunInstances", "1", "0.02")
    euro["Metrics"]["UnblendedCost"]["Unit"] = "EUR"
    mixed = _answer(
        _period(
            "2026-11-01",
            "2026-11-02",
            _group("BoxUsage:t3.micro", "RunInstances", "1", "0.01"),
            euro,
        )
    )
    client, stubber = _stubbed()
    stubber.add_response("get_cost_and_usage", mixed)
    with stubber, pytest.raises(UsageInputError, match=r"mixed currencies \(EUR, USD\)"):
        read_cost_explorer(client, start=date(2026, 11, 1), end=date(2026, 11, 2), today=TODAY)


@mock_aws
def test_moto_canned_results_page_by_request() -> None:
    """moto answers each distinct request body with the next queued result (paging included)."""
    queued = {"results": [HOURLY_PAGE_1, HOURLY_PAGE_2]}
    response = requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/ce/cost-and-usage-results",
        data=json.dumps(queued),
        timeout=10,
    )
    assert response.status_code == 201
    client = boto3.client("ce", region_name="us-east-1")
    usage, report = read_cost_explorer(
        client, start=date(2026, 11, 20), end=date(2026, 11, 21), granularity="HOURLY", today=TODAY
    )
    assert report.requests == 2
    assert report.rows_kept == 5 and report.rows_excluded == 3
    assert usage["quantity"].sum() == 8.75
    assert usage.groupby("region")["quantity"].sum().to_dict() == {
        "eu-west-2": 1.0,
        "us-east-1": 5.75,
        "us-east-2": 2.0,
    }


def test_no_instance_usage_is_an_error() -> None:
    client, stubber = _stubbed()
    spot_only = _answer(
        _period(
            "2026-11-01", "2026-11-02", _group("SpotUsage:m5.large", "RunInstances:SV001", "5", "1")
        )
    )
    stubber.add_response("get_cost_and_usage", spot_only)
    with stubber, pytest.raises(UsageInputError, match=r"no EC2 instance usage found: 1 EC2"):
        read_cost_explorer(client, start=date(2026, 11, 1), end=date(2026, 11, 2), today=TODAY)
