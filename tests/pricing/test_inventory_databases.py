"""Owned RDS and ElastiCache reservations read through botocore's Stubber (moto lacks them), and
database lines of the portfolio JSON."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from pricing.inventory import InventoryError, read_portfolio_json
from pricing.inventory.databases import fetch_reserved_cache_nodes, fetch_reserved_db_instances
from pricing.readers.aws_api import AwsAccessError

START = datetime(2026, 3, 1, tzinfo=UTC)


def _client(service: str, region: str = "eu-west-1") -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service, region_name=region, aws_access_key_id="test", aws_secret_access_key="test"
    )


def _db(reservation_id: str, **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "ReservedDBInstanceId": reservation_id, "ReservedDBInstancesOfferingId": "off-1",
        "DBInstanceClass": "db.m4.large", "StartTime": START, "Duration": 31_536_000,
        "FixedPrice": 0.0, "UsagePrice": 0.0, "CurrencyCode": "USD", "DBInstanceCount": 2,
        "ProductDescription": "mariadb", "OfferingType": "No Upfront", "MultiAZ": True,
        "State": "active",
        "RecurringCharges": [{"RecurringChargeAmount": 0.25, "RecurringChargeFrequency": "Hourly"}],
    }  # fmt: skip
    item.update(fields)
    return item


def test_rds_reservations_multi_az_paged_and_skipped_by_reason() -> None:
    client = _client("rds")
    stub = Stubber(client)
    stub.add_response(
        "describe_reserved_db_instances",
        {"ReservedDBInstances": [
            _db("multi-az"),
            _db("retired", State="retired"),
            _db("oracle", ProductDescription="oracle-se2(li)"),
        ], "Marker": "page-2"},
        {},
    )  # fmt: skip
    stub.add_response(
        "describe_reserved_db_instances",
        {"ReservedDBInstances": [
            _db("aurora", DBInstanceClass="db.r4.large", ProductDescription="aurora-mysql",
                MultiAZ=False, DBInstanceCount=1, OfferingType="Partial Upfront",
                FixedPrice=700.0, State="payment-pending",
                RecurringCharges=[{"RecurringChargeAmount": 0.1,
                                   "RecurringChargeFrequency": "Hourly"}]),
            _db("oracle-2", ProductDescription="oracle-se2(li)"),
        ]},
        {"Marker": "page-2"},
    )  # fmt: skip
    with stub:
        inventory = fetch_reserved_db_instances(client, sleep=lambda _: None)
    stub.assert_no_pending_responses()
    multi, aurora = inventory.commitments
    assert (multi.id, multi.region, multi.instance_type, multi.platform, multi.tenancy) == (
        "multi-az", "eu-west-1", "db.m4.large", "mariadb", "Multi-AZ"
    )  # fmt: skip
    assert multi.count == 2 and multi.normalized_units == 2 * 4 * 2  # Multi-AZ counts twice
    assert multi.recurring_usd_per_hour == 0.25 and multi.effective_usd_per_hour == 0.5
    assert multi.kind == "reserved_instance" and multi.scope == "Region"
    assert multi.start == START and multi.term_years == 1
    assert (aurora.platform, aurora.tenancy, aurora.payment_option) == (
        "aurora-mysql", "Single-AZ", "Partial Upfront"
    )  # fmt: skip
    assert aurora.upfront_usd == 700.0 and aurora.normalized_units == 4
    assert inventory.notes == (
        "left out 1 AmazonRDS reservation(s) in eu-west-1: in state retired",
        "left out 2 AmazonRDS reservation(s) in eu-west-1: product description oracle-se2(li) "
        "not modelled yet",
    )
    assert multi.to_json_item()["service"] == "AmazonRDS"


def test_elasticache_reserved_nodes() -> None:
    client = _client("elasticache", "us-east-1")
    stub = Stubber(client)
    node = {
        "ReservedCacheNodeId": "cache-1", "ReservedCacheNodesOfferingId": "off-2",
        "CacheNodeType": "cache.r6g.large", "StartTime": START, "Duration": 94_608_000,
        "FixedPrice": 1000.0, "UsagePrice": 0.0, "CacheNodeCount": 3,
        "ProductDescription": "redis", "OfferingType": "All Upfront", "State": "active",
        "RecurringCharges": [],
    }  # fmt: skip
    legacy = {**node, "ReservedCacheNodeId": "old", "OfferingType": "Heavy Utilization"}
    stub.add_response("describe_reserved_cache_nodes", {"ReservedCacheNodes": [node, legacy]}, {})
    with stub:
        inventory = fetch_reserved_cache_nodes(client, sleep=lambda _: None)
    (only,) = inventory.commitments
    assert (only.instance_type, only.platform, only.tenancy, only.count) == (
        "cache.r6g.large", "redis", "Node", 3
    )  # fmt: skip
    assert only.term_years == 3 and only.upfront_usd == 3000.0
    assert only.to_json_item()["service"] == "AmazonElastiCache"
    assert inventory.notes == (
        "left out 1 AmazonElastiCache reservation(s) in us-east-1: offering type Heavy "
        "Utilization not modelled",
    )


def test_denied_names_the_permission() -> None:
    client = _client("rds")
    stub = Stubber(client)
    stub.add_client_error("describe_reserved_db_instances", service_error_code="AccessDenied")
    with stub, pytest.raises(AwsAccessError, match="rds:DescribeReservedDBInstances"):
        fetch_reserved_db_instances(client, sleep=lambda _: None)


def _line(**fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "kind": "reserved_instance", "service": "AmazonRDS", "region": "us-east-1",
        "instance_type": "db.r4.large", "platform": "aurora-mysql", "tenancy": "Single-AZ",
        "scope": "Region", "offering_class": "standard", "term_years": 1,
        "payment_option": "No Upfront", "count": 2, "upfront_usd": 0.0,
        "recurring_usd_per_hour": 0.17, "start": "2026-01-01T00:00:00Z",
    }  # fmt: skip
    item.update(fields)
    return item


def test_portfolio_json_reads_database_lines(tmp_path: Path) -> None:
    path = tmp_path / "owned.json"
    path.write_text(json.dumps([_line(), _line(instance_type="db.m4.xlarge", platform="MariaDB",
                                               tenancy="multi-az"),
                                _line(service="AmazonElastiCache", instance_type="cache.m5.large",
                                      platform="valkey", tenancy="Node")]))  # fmt: skip
    aurora, mariadb, valkey = read_portfolio_json(path).commitments
    assert (aurora.platform, aurora.tenancy, aurora.normalized_units) == (
        "aurora-mysql", "Single-AZ", 8.0
    )  # fmt: skip
    assert (mariadb.platform, mariadb.tenancy, mariadb.normalized_units) == (
        "mariadb", "Multi-AZ", 2 * 8 * 2
    )  # fmt: skip
    assert (valkey.platform, valkey.tenancy) == ("valkey", "Node")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"platform": "redis"}, "purchases[0].platform: unknown AmazonRDS product description"),
        ({"tenancy": "Multi-AZ DB cluster"}, "three Single-AZ reservations"),
        ({"tenancy": "Shared"}, "purchases[0].tenancy"),
        ({"service": "AmazonEC2"}, "purchases[0].service: 'AmazonEC2', but db.r4.large is"),
        ({"offering_class": "convertible"}, "sells no convertible reservations"),
    ],
)
def test_portfolio_json_refuses_bad_database_lines(
    tmp_path: Path, fields: dict[str, Any], message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([_line(**fields)]))
    with pytest.raises(InventoryError, match=re.escape(message)):
        read_portfolio_json(path)
