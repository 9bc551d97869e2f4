"""``commitopt pricing fetch`` through stubbed AWS clients, then ``pricing show`` on the result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.cli.glossary import check_fields
from tests.commitopt.conftest import RunCli

DATA = Path(__file__).parents[1] / "data"
RECORD = (DATA / "pricing/pricelist_getproducts_m5.large_us-east-1_2021-02.json").read_text()


def _client(service: str, region_name: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x")
    return session.client(service, region_name=region_name)  # type: ignore[call-overload]


class _Session:
    """Stands in for boto3.Session: a stubbed Price List API answering with the real record."""

    def __init__(self, profile_name: str | None = None) -> None:
        self.profile_name = profile_name

    def client(self, service: str, region_name: str) -> Any:
        assert service == "pricing" and region_name == "us-east-1"
        client = _client(service, region_name)
        stub = Stubber(client)
        stub.add_client_error("get_products", service_error_code="ThrottlingException")
        stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": [RECORD]})
        stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": []})  # Dedicated
        stub.activate()
        return client


def test_fetch_then_show(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(boto3, "Session", _Session)
    monkeypatch.setattr("time.sleep", lambda _seconds: None)
    fetched = run_cli(
        "pricing", "fetch", "-r", "us-east-1", "-t", "m5.large", "-p", "linux",
        "--no-savings-plans", "--format", "json",
    )  # fmt: skip
    assert fetched.exit_code == 0, fetched.stderr
    assert check_fields(json.loads(fetched.stdout), "pricing fetch") >= {"catalog_path"}
    assert json.loads(fetched.stdout)["on_demand_rate_count"] >= 1
    assert (tmp_path / "local-catalog.parquet").is_file()
    shown = run_cli(
        "pricing", "show", "-r", "us-east-1", "-t", "m5.large", "--no-embedded", "--format", "json"
    )
    assert shown.exit_code == 0, shown.stderr
    rows = json.loads(shown.stdout)
    assert "embedded" not in shown.stderr
    by_offering = {(r["instrument"], r["term_years"], r["payment_option"]): r for r in rows}
    assert by_offering[("On-Demand", None, "")]["effective_usd_per_hour"] == 0.096
    partial = by_offering[("Standard RI", 1, "Partial Upfront")]
    assert (partial["upfront_usd"], partial["recurring_usd_per_hour"]) == (252.0, 0.029)
    assert len([r for r in rows if r["instrument"].endswith("RI")]) == 12


def test_fetch_needs_a_region(run_cli: RunCli) -> None:
    result = run_cli("pricing", "fetch")
    assert result.exit_code == 2
    assert "--region" in result.stderr
