"""Fargate, Lambda, SageMaker and Database Savings Plans prices through the CLI.

Imports run the installed console script in a subprocess on the documented-forms offer excerpts
of ``tests/data/pricing``; ``pricing fetch --service fargate,lambda,sagemaker`` runs in-process
with a stubbed boto3 session (a stub cannot cross into a subprocess), and once in a subprocess
without credentials (exit 3).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from pricing.catalog import PriceCatalog
from tests.cli.conftest import EXIT_BAD_INPUT, EXIT_ENVIRONMENT, REPO, Sandbox, require_success
from tests.cli.test_every_command import assert_one_error_line
from tests.commitopt.conftest import RunCli, run_cli  # noqa: F401  (the fixture)
from tests.pricing.readers.test_compute_prices_api import (
    COMPUTE_PAGE,
    SAGEMAKER_PAGE,
    client_for,
    items_of,
)

PRICING = REPO / "tests/data/pricing"


def test_import_the_compute_offers_and_savings_plans(empty_sandbox: Sandbox) -> None:
    files = [
        PRICING / "pricelist_AmazonECS_documented.csv",
        PRICING / "pricelist_AWSLambda_documented.json",
        PRICING / "pricelist_AmazonSageMaker_documented.csv",
        PRICING / "savingsplan_compute_documented.csv",
        PRICING / "savingsplan_sagemaker_documented.json",
    ]
    run = require_success(
        empty_sandbox.run("pricing", "import", *map(str, files), "--format", "json")
    )
    summary = {Path(row["file"]).name: row for row in json.loads(run.stdout)}
    assert summary["pricelist_AmazonECS_documented.csv"]["on_demand_rate_count"] == 6
    assert summary["pricelist_AWSLambda_documented.json"]["on_demand_rate_count"] == 4
    assert summary["pricelist_AmazonSageMaker_documented.csv"]["on_demand_rate_count"] == 4
    assert summary["savingsplan_compute_documented.csv"]["savings_plans_rate_count"] == 9
    assert summary["savingsplan_sagemaker_documented.json"]["savings_plans_rate_count"] == 5
    assert "lambda requests: no Savings Plan covers it" in run.stderr
    assert "first priced tier" in run.stderr
    catalog = PriceCatalog.read_parquet(empty_sandbox.folder / "commitopt-catalog.parquet")
    lambda_rates = catalog.on_demand.loc[catalog.on_demand["instance_type"] == "lambda.duration"]
    assert sorted(lambda_rates["on_demand_usd_per_hour"].round(6)) == [0.048, 0.06]


def test_pricing_show_fargate_lambda_and_sagemaker_offerings(empty_sandbox: Sandbox) -> None:
    files = [
        PRICING / "pricelist_AmazonECS_documented.csv",
        PRICING / "pricelist_AmazonSageMaker_documented.csv",
        PRICING / "savingsplan_compute_documented.csv",
        PRICING / "savingsplan_sagemaker_documented.json",
    ]
    require_success(empty_sandbox.run("pricing", "import", *map(str, files)))
    shown = require_success(
        empty_sandbox.run(
            "pricing", "show", "-r", "us-east-1", "-t", "fargate.vcpu", "--tenancy", "arm64",
            "--term", "1", "--payment", "no", "--format", "json",
        )
    )  # fmt: skip
    rows = json.loads(shown.stdout)
    assert {row["tenancy"] for row in rows} == {"arm64"}
    assert [row["instrument"] for row in rows] == ["On-Demand", "Compute SP"]
    plan = rows[1]
    assert plan["discount_vs_on_demand_pct"] == pytest.approx(
        100 * (1 - plan["effective_usd_per_hour"] / plan["on_demand_usd_per_hour"])
    )
    # both architectures: the table says which row is which
    table = require_success(empty_sandbox.run("pricing", "show", "-t", "fargate.vcpu"))
    assert "arm64" in table.stdout and "x86_64" in table.stdout
    sagemaker = require_success(
        empty_sandbox.run(
            "pricing", "show", "-f", "ml.m5", "-p", "sagemaker-training",
            "--instrument", "on-demand,sagemaker-sp", "--format", "json",
        )
    )  # fmt: skip
    instruments = {row["instrument"] for row in json.loads(sagemaker.stdout)}
    assert instruments == {"On-Demand", "SageMaker SP"}


def test_import_database_savings_plans_with_the_rds_offer(empty_sandbox: Sandbox) -> None:
    files = [
        PRICING / "savingsplan_database_documented.csv",
        PRICING / "pricelist_AmazonRDS_illustrative.csv",
    ]
    run = require_success(
        empty_sandbox.run("pricing", "import", *map(str, files), "--format", "json")
    )
    summary = {Path(row["file"]).name: row for row in json.loads(run.stdout)}
    assert summary["savingsplan_database_documented.csv"]["savings_plans_rate_count"] == 3
    assert "import the AmazonElastiCache Price List offer" in run.stderr
    catalog = PriceCatalog.read_parquet(empty_sandbox.folder / "commitopt-catalog.parquet")
    plans = catalog.savings_plans
    assert set(plans["plan_type"]) == {"database"}
    assert set(zip(plans["instance_type"], plans["platform"], plans["tenancy"], strict=True)) == {
        ("db.r7g.large", "aurora-mysql", "Single-AZ"),
        ("db.r6g.large", "mysql", "Single-AZ"),
        ("db.r6g.large", "mysql", "Multi-AZ"),
    }


def test_database_savings_plans_alone_is_one_error_line(empty_sandbox: Sandbox) -> None:
    run = empty_sandbox.run(
        "pricing", "import", str(PRICING / "savingsplan_database_documented.csv")
    )
    line = assert_one_error_line(run, EXIT_BAD_INPUT)
    assert "no Savings Plans rate of a modelled service" in line
    assert "engine not named by the offer file" in line


def test_a_broken_savings_plans_offer_is_one_error_line(empty_sandbox: Sandbox) -> None:
    text = (PRICING / "savingsplan_compute_documented.csv").read_text()
    broken = empty_sandbox.folder / "sp.csv"
    broken.write_text(text.replace(",0.0035560000,", ",-0.1,", 1))
    line = assert_one_error_line(
        empty_sandbox.run("pricing", "import", str(broken)), EXIT_BAD_INPUT
    )
    assert "sp.csv: row 9 (RateCode ILLUSTRCOMP1NUP.ECSFGMEMUSE1), column DiscountedRate" in line
    assert "is negative" in line
    assert not (empty_sandbox.folder / "commitopt-catalog.parquet").exists()


def test_fetch_without_credentials_is_an_environment_error(empty_sandbox: Sandbox) -> None:
    run = empty_sandbox.run("pricing", "fetch", "-r", "us-east-1", "--service", "fargate,lambda")
    line = assert_one_error_line(run, EXIT_ENVIRONMENT)
    assert "no usable AWS credentials for pricing:GetProducts" in line


def test_fetch_help_names_the_services(empty_sandbox: Sandbox) -> None:
    run = require_success(empty_sandbox.run("pricing", "fetch", "--help"))
    text = " ".join(run.stdout.split())
    assert "memorydb, fargate, lambda, sagemaker [default: ec2]" in text
    assert "--service fargate,lambda" in text and "--service sagemaker -t ml.m5.xlarge" in text


class _Session:
    """Stands in for boto3.Session: stubbed Price List and Savings Plans clients."""

    def __init__(self, profile_name: str | None = None) -> None:
        self.profile_name = profile_name

    def client(self, service: str, region_name: str) -> Any:
        assert region_name == "us-east-1", region_name
        client, stub = client_for(service)
        if service == "pricing":
            for offer in ("AmazonECS", "AWSLambda", "AmazonSageMaker"):
                stub.add_response(
                    "get_products", {"FormatVersion": "aws_v1", "PriceList": items_of(offer)}
                )
        else:
            assert service == "savingsplans", service
            stub.add_response(
                "describe_savings_plans_offering_rates", {"searchResults": COMPUTE_PAGE}
            )
            stub.add_response(
                "describe_savings_plans_offering_rates", {"searchResults": SAGEMAKER_PAGE}
            )
        stub.activate()
        return client


def test_fetch_fargate_lambda_and_sagemaker(
    run_cli: RunCli,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(boto3, "Session", _Session)
    fetched = run_cli(
        "pricing", "fetch", "-r", "us-east-1", "--service", "fargate,lambda,sagemaker",
        "--format", "json",
    )  # fmt: skip
    assert fetched.exit_code == 0, fetched.stderr
    counts = json.loads(fetched.stdout)
    assert counts["on_demand_rate_count"] == 5 + 4 + 4  # us-east-1 keys of the three offers
    assert counts["savings_plans_rate_count"] == 3 + 2
    assert "lambda requests: no Savings Plan covers it" in fetched.stderr
    catalog = PriceCatalog.read_parquet(tmp_path / "local-catalog.parquet")
    plans = catalog.savings_plans.set_index(["instance_type", "plan_type"])
    assert plans.loc[("ml.m5.xlarge", "sagemaker"), "source"].startswith(
        "AWS Savings Plans API DescribeSavingsPlansOfferingRates"
    )
    on_demand = catalog.on_demand.set_index(["instance_type", "tenancy"])
    assert on_demand.loc[("lambda.duration", "x86_64"), "on_demand_usd_per_hour"] == (
        pytest.approx(0.06, rel=1e-5)
    )
