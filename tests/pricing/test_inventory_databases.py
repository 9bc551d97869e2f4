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
from pricing.inventory.databases import (
    fetch_reserved_cache_nodes,
    fetch_reserved_db_instances,
    fetch_reserved_memorydb_nodes,
    fetch_reserved_redshift_nodes,
    fetch_reserved_search_instances,
)
from pricing.inventory.values import term_end
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
            _db("db2", ProductDescription="db2-se"),
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
            _db("db2-2", ProductDescription="db2-se"),
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
        "left out 2 AmazonRDS reservation(s) in eu-west-1: product description db2-se not "
        "modelled yet",
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


SEARCH_IDS = ("0f8e3a2c-1b4d-4e5f-9a6b-7c8d9e0f1a2b", "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")


def test_opensearch_reserved_instances_paged_with_next_token() -> None:
    client = _client("opensearch")
    stub = Stubber(client)

    def item(reservation_id: str, **fields: Any) -> dict[str, Any]:
        found: dict[str, Any] = {
            "ReservedInstanceId": reservation_id, "ReservationName": "commitopt-x-l1",
            "InstanceType": "r6g.large.search", "StartTime": START, "Duration": 94_608_000,
            "FixedPrice": 1000.0, "UsagePrice": 0.0, "CurrencyCode": "USD", "InstanceCount": 2,
            "PaymentOption": "PARTIAL_UPFRONT", "State": "active",
            "RecurringCharges": [{"RecurringChargeAmount": 0.05,
                                  "RecurringChargeFrequency": "Hourly"}],
        }  # fmt: skip
        found.update(fields)
        return found

    stub.add_response(
        "describe_reserved_instances",
        {"ReservedInstances": [item(SEARCH_IDS[0])], "NextToken": "page-2"},
        {},
    )
    stub.add_response(
        "describe_reserved_instances",
        {"ReservedInstances": [item(SEARCH_IDS[1], State="retired")]},
        {"NextToken": "page-2"},
    )
    with stub:
        inventory = fetch_reserved_search_instances(client, sleep=lambda _: None)
    stub.assert_no_pending_responses()
    (only,) = inventory.commitments
    assert (only.id, only.instance_type, only.platform, only.tenancy, only.count) == (
        SEARCH_IDS[0], "r6g.large.search", "opensearch", "Node", 2
    )  # fmt: skip
    assert (only.term_years, only.payment_option, only.upfront_usd) == (
        3,
        "Partial Upfront",
        2000.0,
    )
    assert only.normalized_units == 2.0  # one unit per instance, whatever the size
    # closed form: 1000 / (3 × 8760) + 0.05 per instance, times 2
    assert only.effective_usd_per_hour == pytest.approx(2 * (1000 / 26_280 + 0.05))
    assert only.end == term_end(START, 3)
    assert only.to_json_item()["service"] == "AmazonES"
    assert inventory.notes == ("left out 1 AmazonES reservation(s) in eu-west-1: in state retired",)


def test_redshift_reserved_nodes_pending_payment_is_owned() -> None:
    client = _client("redshift", "us-east-1")
    stub = Stubber(client)
    node = {
        "ReservedNodeId": "rn-1", "ReservedNodeOfferingId": "off-rs", "NodeType": "ra3.xlplus",
        "StartTime": START, "Duration": 31_536_000, "FixedPrice": 876.0, "UsagePrice": 0.0,
        "CurrencyCode": "USD", "NodeCount": 3, "OfferingType": "All Upfront",
        "State": "pending-payment", "RecurringCharges": [],
    }  # fmt: skip
    stub.add_response("describe_reserved_nodes", {"ReservedNodes": [node], "Marker": "m"}, {})
    stub.add_response(
        "describe_reserved_nodes",
        {"ReservedNodes": [{**node, "ReservedNodeId": "rn-2", "State": "exchanging"}]},
        {"Marker": "m"},
    )
    with stub:
        inventory = fetch_reserved_redshift_nodes(client, sleep=lambda _: None)
    stub.assert_no_pending_responses()
    (only,) = inventory.commitments
    assert (only.instance_type, only.platform, only.tenancy, only.count) == (
        "ra3.xlplus", "redshift", "Node", 3
    )  # fmt: skip
    assert only.upfront_usd == 3 * 876.0 and only.normalized_units == 3.0
    assert only.effective_usd_per_hour == pytest.approx(3 * 876.0 / 8760)
    assert only.to_json_item()["service"] == "AmazonRedshift"
    assert inventory.notes == (
        "left out 1 AmazonRedshift reservation(s) in us-east-1: in state exchanging",
    )


def test_memorydb_reserved_nodes_are_told_from_rds_by_platform() -> None:
    client = _client("memorydb", "us-east-1")
    stub = Stubber(client)
    node = {
        "ReservationId": "mem-1", "ReservedNodesOfferingId": "off-m", "NodeType": "db.r6g.large",
        "StartTime": START, "Duration": 31_536_000, "FixedPrice": 0.0, "NodeCount": 2,
        "OfferingType": "No Upfront", "State": "active",
        "RecurringCharges": [{"RecurringChargeAmount": 0.2, "RecurringChargeFrequency": "Hourly"}],
    }  # fmt: skip
    stub.add_response("describe_reserved_nodes", {"ReservedNodes": [node], "NextToken": "t"}, {})
    stub.add_response("describe_reserved_nodes", {"ReservedNodes": []}, {"NextToken": "t"})
    with stub:
        inventory = fetch_reserved_memorydb_nodes(client, sleep=lambda _: None)
    stub.assert_no_pending_responses()
    (only,) = inventory.commitments
    assert (only.instance_type, only.platform, only.tenancy) == ("db.r6g.large", "memorydb", "Node")
    assert only.normalized_units == 2 * 4.0  # size-flexible: a large counts 4 units
    assert only.effective_usd_per_hour == pytest.approx(0.4)
    item = only.to_json_item()
    assert item["service"] == "AmazonMemoryDB"
    assert item["instance_type"] == "db.r6g.large" and item["platform"] == "memorydb"


def test_portfolio_json_reads_node_service_lines(tmp_path: Path) -> None:
    path = tmp_path / "owned.json"
    node = {"tenancy": "Node"}
    path.write_text(json.dumps([
        _line(service="AmazonES", instance_type="r6g.large.search", platform="opensearch", **node),
        _line(service="AmazonRedshift", instance_type="dc2.large", platform="redshift", **node),
        _line(instance_type="db.r6g.large", platform="memorydb", **node, service="AmazonMemoryDB"),
        {**_line(instance_type="db.r6g.xlarge", platform="memorydb", **node), "service": None},
    ]))  # fmt: skip
    lines = read_portfolio_json(path).commitments
    assert [(c.platform, c.tenancy, c.normalized_units) for c in lines] == [
        ("opensearch", "Node", 2.0), ("redshift", "Node", 2.0), ("memorydb", "Node", 8.0),
        ("memorydb", "Node", 16.0),
    ]  # fmt: skip
    assert [c.to_json_item()["service"] for c in lines] == [
        "AmazonES", "AmazonRedshift", "AmazonMemoryDB", "AmazonMemoryDB"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"service": "AmazonMemoryDB", "platform": "aurora-mysql", "tenancy": "Node"},
         "unknown AmazonMemoryDB product description"),
        ({"service": "AmazonRDS", "platform": "memorydb", "tenancy": "Node"},
         "'AmazonRDS', but db.r4.large is AmazonMemoryDB"),
        ({"service": "AmazonES", "instance_type": "r6g.large.search", "platform": "opensearch",
          "tenancy": "Multi-AZ"}, "not a deployment AmazonES reservations are sold for"),
        ({"service": "AmazonRedshift"}, "'AmazonRedshift', but db.r4.large is AmazonRDS"),
        # MemoryDB sells no Valkey reserved nodes: its Redis OSS ones cover Valkey nodes
        ({"service": "AmazonMemoryDB", "platform": "memorydb-valkey", "tenancy": "Node"},
         "no reservation is sold for memorydb-valkey (AmazonMemoryDB sells none for it); "
         "memorydb reservations cover it"),
    ],
)  # fmt: skip
def test_portfolio_json_refuses_bad_node_service_lines(
    tmp_path: Path, fields: dict[str, Any], message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([_line(**fields)]))
    with pytest.raises(InventoryError, match=re.escape(message)):
        read_portfolio_json(path)
