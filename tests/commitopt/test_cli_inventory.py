"""``commitopt inventory show`` from a portfolio JSON and from (stubbed) AWS APIs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.commitopt.conftest import RunCli

PORTFOLIO = {
    "purchases": [
        {"kind": "reserved_instance", "id": "ri-c5", "start": "2018-04-03T01:21:13Z",
         "region": "us-east-1", "instance_type": "c5.large", "platform": "Linux/UNIX",
         "tenancy": "Shared", "scope": "Region", "offering_class": "standard", "term_years": 1,
         "payment_option": "Partial Upfront", "count": 2, "upfront_usd": 446.0,
         "recurring_usd_per_hour": 0.026},
        {"kind": "compute_savings_plan", "id": "sp-1", "start": "2018-01-01T00:00:00Z",
         "term_years": 3, "payment_option": "No Upfront", "commitment_usd_per_hour": 1.5},
    ]
}  # fmt: skip


@pytest.fixture
def portfolio(tmp_path: Path) -> Path:
    path = tmp_path / "owned.json"
    path.write_text(json.dumps(PORTFOLIO))
    return path


def test_show_portfolio_json(run_cli: RunCli, portfolio: Path) -> None:
    result = run_cli(
        "inventory", "show", "--portfolio", str(portfolio), "--as-of", "2018-11-01", "--format",
        "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    ri = rows["ri-c5"]
    assert ri["covers"] == "c5.large Linux/UNIX"
    assert ri["end"] == "2019-04-03"  # one term after the start
    assert ri["effective_usd_per_hour"] == pytest.approx(446 / 8760 + 2 * 0.026)
    assert ri["remaining_days"] == pytest.approx(153.1, abs=0.1)
    assert rows["sp-1"]["commitment_usd_per_hour"] == 1.5
    assert rows["sp-1"]["status"] == "active"


def test_expiring_within(run_cli: RunCli, portfolio: Path) -> None:
    result = run_cli(
        "inventory", "show", "--portfolio", str(portfolio), "--as-of", "2018-11-01",
        "--expiring-within", "180", "--format", "csv",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("ri-c5,")


def test_needs_a_source(run_cli: RunCli) -> None:
    result = run_cli("inventory", "show")
    assert result.exit_code == 2
    assert "--portfolio FILE or --from-aws" in result.stderr


def test_bad_portfolio_is_one_line(run_cli: RunCli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    item = dict(PORTFOLIO["purchases"][0], count=0)
    bad.write_text(json.dumps({"purchases": [item]}))
    result = run_cli("inventory", "show", "--portfolio", str(bad))
    assert result.exit_code == 2
    assert "purchases[0].count" in result.stderr
    assert "Traceback" not in result.stderr


SEARCH_ID = "0f8e3a2c-1b4d-4e5f-9a6b-7c8d9e0f1a2b"


def _real_client(service: str, region_name: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x")
    return session.client(service, region_name=region_name)  # type: ignore[call-overload]


class _StubbedSession:
    """Stands in for boto3.Session: hands out clients whose responses are stubbed."""

    def __init__(self, profile_name: str | None = None) -> None:
        self.stubbers: list[Stubber] = []

    def client(self, service: str, region_name: str) -> Any:
        client = _real_client(service, region_name)
        stub = Stubber(client)
        if service == "ec2":
            stub.add_response(
                "describe_reserved_instances",
                {"ReservedInstances": [{
                    "ReservedInstancesId": f"ri-{region_name}", "InstanceType": "m5.large",
                    "ProductDescription": "Linux/UNIX (Amazon VPC)", "InstanceTenancy": "default",
                    "Scope": "Region", "OfferingClass": "standard", "OfferingType": "No Upfront",
                    "Duration": 31_536_000, "FixedPrice": 0.0, "UsagePrice": 0.0,
                    "RecurringCharges": [{"Amount": 0.06, "Frequency": "Hourly"}],
                    "InstanceCount": 3, "CurrencyCode": "USD", "State": "active",
                    "Start": datetime(2026, 1, 1, tzinfo=UTC),
                    "End": datetime(2027, 1, 1, tzinfo=UTC)}]},
            )  # fmt: skip
        elif service == "rds":
            stub.add_response("describe_reserved_db_instances", {"ReservedDBInstances": []})
        elif service == "elasticache":
            stub.add_response("describe_reserved_cache_nodes", {"ReservedCacheNodes": []})
        elif service == "opensearch":
            stub.add_response("describe_reserved_instances", {"ReservedInstances": []})
        elif service in ("redshift", "memorydb"):
            stub.add_response("describe_reserved_nodes", {"ReservedNodes": []})
        else:
            stub.add_client_error(
                "describe_savings_plans", service_error_code="AccessDeniedException"
            )
        stub.activate()
        self.stubbers.append(stub)
        return client


def test_from_aws_reads_each_region_and_reports_denied(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(boto3, "Session", _StubbedSession)
    result = run_cli("inventory", "show", "--from-aws", "-r", "us-east-1,eu-west-2")
    assert result.exit_code == 3  # denied: the environment
    assert "savingsplans:DescribeSavingsPlans" in result.stderr


def test_from_aws_ris(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    class _NoPlans(_StubbedSession):
        def client(self, service: str, region_name: str) -> Any:
            if service == "savingsplans":
                client = _real_client(service, region_name)
                stub = Stubber(client)
                stub.add_response("describe_savings_plans", {"savingsPlans": []})
                stub.activate()
                return client
            return super().client(service, region_name)

    monkeypatch.setattr(boto3, "Session", _NoPlans)
    result = run_cli(
        "inventory", "show", "--from-aws", "-r", "us-east-1,eu-west-2", "--as-of", "2026-06-01",
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert sorted(r["region"] for r in rows) == ["eu-west-2", "us-east-1"]
    assert all(r["count"] == 3 and r["effective_usd_per_hour"] == pytest.approx(0.18) for r in rows)


def test_from_aws_reads_database_reservations(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RDS (Multi-AZ) and ElastiCache reservations join the RIs, per region; those not modelled
    are counted in a note."""

    class _Databases(_StubbedSession):
        def client(self, service: str, region_name: str) -> Any:
            client = _real_client(service, region_name)
            stub = Stubber(client)
            start = datetime(2026, 1, 1, tzinfo=UTC)
            if service == "ec2":
                stub.add_response("describe_reserved_instances", {"ReservedInstances": []})
            elif service == "rds":
                stub.add_response("describe_reserved_db_instances", {"ReservedDBInstances": [
                    {"ReservedDBInstanceId": "db-ri", "DBInstanceClass": "db.m4.large",
                     "StartTime": start, "Duration": 31_536_000, "FixedPrice": 0.0,
                     "DBInstanceCount": 1, "ProductDescription": "mariadb",
                     "OfferingType": "No Upfront", "MultiAZ": True, "State": "active",
                     "RecurringCharges": [{"RecurringChargeAmount": 0.2,
                                           "RecurringChargeFrequency": "Hourly"}]},
                    {"ReservedDBInstanceId": "sql", "DBInstanceClass": "db.m4.large",
                     "StartTime": start, "Duration": 31_536_000, "DBInstanceCount": 1,
                     "ProductDescription": "sqlserver-se(li)", "OfferingType": "No Upfront",
                     "MultiAZ": False, "State": "active"}]})  # fmt: skip
            elif service == "elasticache":
                stub.add_response("describe_reserved_cache_nodes", {"ReservedCacheNodes": [
                    {"ReservedCacheNodeId": "node-ri", "CacheNodeType": "cache.r6g.large",
                     "StartTime": start, "Duration": 31_536_000, "FixedPrice": 500.0,
                     "CacheNodeCount": 2, "ProductDescription": "redis",
                     "OfferingType": "Partial Upfront", "State": "active",
                     "RecurringCharges": []}]})  # fmt: skip
            elif service == "opensearch":
                stub.add_response("describe_reserved_instances", {"ReservedInstances": [
                    {"ReservedInstanceId": SEARCH_ID, "ReservationName": "mine-1",
                     "InstanceType": "r6g.large.search", "StartTime": start,
                     "Duration": 31_536_000, "FixedPrice": 0.0, "InstanceCount": 2,
                     "PaymentOption": "NO_UPFRONT", "State": "active",
                     "RecurringCharges": [{"RecurringChargeAmount": 0.1,
                                           "RecurringChargeFrequency": "Hourly"}]}]})  # fmt: skip
            elif service == "redshift":
                stub.add_response("describe_reserved_nodes", {"ReservedNodes": [
                    {"ReservedNodeId": "rs-ri", "NodeType": "ra3.xlplus", "StartTime": start,
                     "Duration": 31_536_000, "FixedPrice": 900.0, "NodeCount": 2,
                     "OfferingType": "All Upfront", "State": "pending-payment"},
                    {"ReservedNodeId": "rs-old", "NodeType": "dc2.large", "StartTime": start,
                     "Duration": 31_536_000, "NodeCount": 1, "OfferingType": "All Upfront",
                     "State": "retired"}]})  # fmt: skip
            elif service == "memorydb":
                stub.add_response("describe_reserved_nodes", {"ReservedNodes": [
                    {"ReservationId": "mem-ri", "NodeType": "db.r6g.large", "StartTime": start,
                     "Duration": 31_536_000, "FixedPrice": 0.0, "NodeCount": 1,
                     "OfferingType": "No Upfront", "State": "active"}]})  # fmt: skip
            else:
                stub.add_response("describe_savings_plans", {"savingsPlans": []})
            stub.activate()
            return client

    monkeypatch.setattr(boto3, "Session", _Databases)
    result = run_cli(
        "inventory", "show", "--from-aws", "-r", "eu-west-1", "--as-of", "2026-06-01",
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"db-ri", "node-ri", "sql", SEARCH_ID, "rs-ri", "mem-ri"}
    assert rows["db-ri"]["covers"] == "db.m4.large mariadb Multi-AZ"
    assert rows["db-ri"]["region"] == "eu-west-1" and rows["db-ri"]["count"] == 1
    assert rows["node-ri"]["covers"] == "cache.r6g.large redis Node"
    assert rows["node-ri"]["upfront_usd"] == 1000.0
    assert rows["sql"]["covers"] == "db.m4.large sqlserver-se(li) Single-AZ"  # exact-size engine
    assert rows[SEARCH_ID]["covers"] == "r6g.large.search opensearch Node"
    assert rows["rs-ri"]["covers"] == "ra3.xlplus redshift Node"
    assert rows["mem-ri"]["covers"] == "db.r6g.large memorydb Node"
    assert (
        "left out 1 AmazonRedshift reservation(s) in eu-west-1: in state retired" in result.stderr
    )
