"""``commitopt pricing fetch --service rds,elasticache`` through stubbed describe and Price List
APIs.

In-process, like ``test_cli_fetch.py``: the stubbed boto3 session cannot cross into a subprocess.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from pricing.catalog import PriceCatalog
from tests.commitopt.conftest import RunCli
from tests.pricing.readers.test_database_offerings_api import (
    CACHE_PAGE,
    RDS_PAGE_1,
    RDS_PAGE_2,
    _client,
)
from tests.pricing.readers.test_database_price_list_api import CACHE_JSON, RDS_JSON, items
from tests.pricing.readers.test_database_savings_plans_api import PAGE_1, PAGE_2
from tests.pricing.readers.test_database_savings_plans_api import (
    stubbed_client as stubbed_savings_plans_client,
)


class _Session:
    """Stands in for boto3.Session: one stubbed RDS and one ElastiCache client in us-east-1."""

    def __init__(self, profile_name: str | None = None) -> None:
        self.profile_name = profile_name

    def client(self, service: str, region_name: str) -> Any:
        assert region_name == "us-east-1", region_name
        if service == "savingsplans":
            client, stub = stubbed_savings_plans_client()
            stub.add_response(
                "describe_savings_plans_offering_rates", {"searchResults": [*PAGE_1, *PAGE_2]}
            )
            stub.activate()
            return client
        client = _client(service, region_name)
        stub = Stubber(client)
        if service == "pricing":
            for offer in (RDS_JSON, CACHE_JSON):
                stub.add_response(
                    "get_products",
                    {"FormatVersion": "aws_v1", "PriceList": items(offer, "us-east-1")},
                )
            stub.activate()
            return client
        if service == "rds":
            operation, records, pages = (
                "describe_reserved_db_instances_offerings",
                "ReservedDBInstancesOfferings",
                [RDS_PAGE_1, RDS_PAGE_2],
            )
        else:
            assert service == "elasticache", service
            operation, records, pages = (
                "describe_reserved_cache_nodes_offerings",
                "ReservedCacheNodesOfferings",
                [CACHE_PAGE],
            )
        for number, page in enumerate(pages):
            response: dict[str, Any] = {records: page}
            if number < len(pages) - 1:
                response["Marker"] = "next"
            stub.add_response(operation, response)
        stub.activate()
        return client


def test_fetch_database_reservations(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(boto3, "Session", _Session)
    fetched = run_cli(
        "pricing", "fetch", "-r", "us-east-1", "--service", "rds,elasticache", "--format", "json"
    )
    assert fetched.exit_code == 0, fetched.stderr
    counts = json.loads(fetched.stdout)
    # on-demand from the Price List API: 4 RDS keys in us-east-1 and 3 ElastiCache keys
    assert counts["on_demand_rate_count"] == 4 + 3
    assert "engine Oracle not mapped yet" in fetched.stderr  # Price List rows without an edition
    catalog = PriceCatalog.read_parquet(tmp_path / "local-catalog.parquet")
    # the describe API's Oracle SE2 License-included offerings have their platform now
    assert "oracle-se2(li)" in set(catalog.reserved["platform"])
    assert set(catalog.reserved["tenancy"]) == {"Single-AZ", "Multi-AZ", "Node"}
    # the describe API's offering wins over the Price List's for the same key and offering
    reserved = catalog.reserved.set_index(
        ["instance_type", "platform", "tenancy", "term_years", "payment_option"]
    )
    row = reserved.loc[("db.r6g.large", "mysql", "Single-AZ", 1, "Partial Upfront")]
    assert (row["upfront_usd"], row["recurring_usd_per_hour"]) == (1000.0, 0.114)
    assert row["source"] == "AWS reserved offerings API AmazonRDS us-east-1"
    # an offering only the Price List has is kept too (3-year All Upfront MySQL)
    assert reserved.loc[("db.r6g.large", "mysql", "Single-AZ", 3, "All Upfront"), "upfront_usd"] \
        == 2900.0  # fmt: skip
    # Database Savings Plans rates, from the Savings Plans API
    plans = catalog.savings_plans.loc[catalog.savings_plans["plan_type"] == "database"]
    assert set(plans["instance_type"]) == {"db.r7g.large", "db.m7g.large", "cache.r7g.large"}
    assert "unit ACU-Hr" in fetched.stderr


def test_unknown_service_and_database_only_types(run_cli: RunCli) -> None:
    result = run_cli("pricing", "fetch", "-r", "us-east-1", "--service", "dynamodb")
    assert result.exit_code == 2
    assert "unknown --service dynamodb; use ec2, rds, elasticache" in result.stderr
    result = run_cli("pricing", "fetch", "-r", "us-east-1", "-t", "db.r6g.large")
    assert result.exit_code == 2
    assert "add --service rds" in result.stderr
