"""Issue 18, done when: a mixed EC2 + Fargate + Lambda + SageMaker history through the installed
command gets one joint plan whose figures ``simulate`` reproduces.

A CUR of 30 days (legacy CUR column names, AWS's usage-type spellings) is imported with ``usage
import``; prices come from ``pricing import`` of the documented-forms AmazonECS, AWSLambda,
AmazonSageMaker and Compute Savings Plans files in ``tests/data/pricing`` (their README says what
is real and what is illustrative), a small catalog of the SageMaker Savings Plans No Upfront rate
and the embedded EC2 snapshot. ``recommend --format json`` proposes a Compute Savings Plan sized
on Fargate and Lambda beside EC2's instruments, and a SageMaker Savings Plan; ``simulate`` bills
that plan to the recommendation's own figure and to the figure worked by hand.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Final

import pandas as pd
import pytest

from pricing.catalog import CatalogMetadata, PriceCatalog
from tests.cli.conftest import Sandbox, require_success

DATA: Final = Path(__file__).resolve().parents[1] / "data" / "pricing"
HOURS: Final = 30 * 24
ROWS: Final = [  # (product, usage type, operation, amount per hour, unit)
    ("AmazonEC2", "BoxUsage:m4.large", "RunInstances", 3.0, "Hrs"),
    ("AmazonECS", "USE1-Fargate-vCPU-Hours:perCPU", "FargateTask", 16.0, "hours"),
    ("AmazonECS", "USE1-Fargate-GB-Hours", "FargateTask", 64.0, "GB-Hours"),
    ("AWSLambda", "USE1-Lambda-GB-Second", "Invoke", 360_000.0, "Lambda-GB-Second"),
    ("AWSLambda", "USE1-Request", "Invoke", 2_000_000.0, "Requests"),
    ("AmazonSageMaker", "USE1-Train:ml.m5.xlarge", "RunInstance", 2.0, "Hrs"),
]
"""Every hour: 3 m4.large, 16 Fargate vCPUs with 64 GB, 100 GB-hours of Lambda duration (and
2 million requests, which no Savings Plan covers), 2 ml.m5.xlarge training instances."""

# rates of the fixtures (USD per key unit-hour): on demand, Compute SP 1-year No Upfront
FARGATE_VCPU: Final = (0.04048, 0.03238)
FARGATE_GB: Final = (0.004445, 0.003556)
LAMBDA_GB_HOUR: Final = (0.0000166667 * 3600, 0.000015 * 3600)
SAGEMAKER: Final = (0.23, 0.1472)  # the second: this test's SageMaker SP No Upfront rate
PRICE_FILES: Final = (
    "pricelist_AmazonECS_documented.csv",
    "pricelist_AWSLambda_documented.csv",
    "pricelist_AmazonSageMaker_documented.csv",
    "savingsplan_compute_documented.csv",
)


def write_cur(path: Path) -> Path:
    hours = pd.date_range("2026-10-01", periods=HOURS, freq="h", tz="UTC")
    frames = [
        pd.DataFrame(
            {
                "lineItem/LineItemType": "Usage",
                "lineItem/ProductCode": product,
                "lineItem/UsageType": usage_type,
                "lineItem/Operation": operation,
                "lineItem/UsageStartDate": hours.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "lineItem/UsageEndDate": (hours + pd.Timedelta(hours=1)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "lineItem/UsageAmount": amount,
                "lineItem/UnblendedCost": 0.0,
                "lineItem/UsageAccountId": "111111111111",
                "lineItem/CurrencyCode": "USD",
                "pricing/unit": unit,
            }
        )
        for product, usage_type, operation, amount, unit in ROWS
    ]
    pd.concat(frames, ignore_index=True).to_csv(path, index=False)
    return path


def write_sagemaker_plan_rate(path: Path) -> Path:
    """The SageMaker Savings Plans rate of ml.m5.xlarge training, 1-year No Upfront (the
    documented fixture has Partial Upfront rates only)."""
    rate = pd.DataFrame(
        {
            "region": ["us-east-1"],
            "instance_type": ["ml.m5.xlarge"],
            "platform": ["sagemaker-training"],
            "tenancy": ["x86_64"],
            "plan_type": ["sagemaker"],
            "term_years": [1],
            "payment_option": ["No Upfront"],
            "sp_hourly_usd": [SAGEMAKER[1]],
        }
    )
    meta = CatalogMetadata(source="illustrative SageMaker SP rate (test)", as_of=date(2026, 11, 1))
    PriceCatalog.from_frames(meta, savings_plans=rate).to_parquet(path)
    return path


def test_one_joint_plan_over_ec2_fargate_lambda_and_sagemaker_that_simulate_reproduces(
    empty_sandbox: Sandbox,
) -> None:
    box = empty_sandbox
    cur = write_cur(box.folder / "cur.csv")
    imported = json.loads(
        require_success(box.run("usage", "import", str(cur), "--format", "json")).stdout
    )
    # requests are usage no Savings Plan covers: counted, not demand
    reasons = {row["reason"] for row in imported["exclusions"]}
    assert any("Savings Plan" in reason for reason in reasons), imported["exclusions"]
    require_success(box.run("pricing", "import", *(str(DATA / name) for name in PRICE_FILES)))
    catalog = str(write_sagemaker_plan_rate(box.folder / "sagemaker-sp.parquet"))
    run = require_success(
        box.run(
            "recommend", "--catalog", catalog, "--lookback", "30d", "--decide-on", "lookback",
            "--format", "json",
        )
    )  # fmt: skip
    payload = json.loads(run.stdout)
    plans = {p["kind"]: p for p in payload["purchases"] if p["kind"].endswith("savings_plan")}
    # the Compute SP carries Fargate and Lambda (m4.large is cheaper on its RI or EC2 Instance
    # SP, bought beside it); the SageMaker SP the training instances; AWS's 0.001 USD/h steps
    fargate_lambda = 16 * FARGATE_VCPU[1] + 64 * FARGATE_GB[1] + 100 * LAMBDA_GB_HOUR[1]
    assert plans["compute_savings_plan"]["commitment_usd_per_hour"] == pytest.approx(
        math.floor(fargate_lambda * 1000 + 1e-6) / 1000
    )
    assert plans["sagemaker_savings_plan"]["commitment_usd_per_hour"] == pytest.approx(
        math.floor(2 * SAGEMAKER[1] * 1000 + 1e-6) / 1000
    )
    plan = box.folder / "plan.json"
    plan.write_text(run.stdout)
    billed = json.loads(
        require_success(
            box.run("simulate", "--catalog", catalog, "--portfolio", str(plan), "--format", "json")
        ).stdout
    )
    saving = billed["on_demand_cost_usd"] - billed["actual_cost_usd"]
    assert saving == pytest.approx(payload["summary"]["savings_vs_on_demand_usd"], abs=0.01)
    # by hand: Fargate, Lambda and SageMaker save their full discount but for the step's
    # remainder (left on demand on Lambda, the lowest discount, and on SageMaker)
    compute_left = fargate_lambda - plans["compute_savings_plan"]["commitment_usd_per_hour"]
    sagemaker_left = 2 * SAGEMAKER[1] - plans["sagemaker_savings_plan"]["commitment_usd_per_hour"]
    per_hour = (
        16 * (FARGATE_VCPU[0] - FARGATE_VCPU[1])
        + 64 * (FARGATE_GB[0] - FARGATE_GB[1])
        + 100 * (LAMBDA_GB_HOUR[0] - LAMBDA_GB_HOUR[1])
        + 2 * (SAGEMAKER[0] - SAGEMAKER[1])
        - compute_left / LAMBDA_GB_HOUR[1] * (LAMBDA_GB_HOUR[0] - LAMBDA_GB_HOUR[1])
        - sagemaker_left / SAGEMAKER[1] * (SAGEMAKER[0] - SAGEMAKER[1])
    )
    by_service = require_success(
        box.run(
            "simulate", "--catalog", catalog, "--portfolio", str(plan), "--by", "service",
            "--format", "json",
        )
    )  # fmt: skip
    rows = json.loads(by_service.stdout)
    saved = {r["service"]: r["on_demand_cost_usd"] - r["actual_cost_usd"] for r in rows}
    non_ec2 = saved["AWSFargate"] + saved["AWSLambda"] + saved["AmazonSageMaker"]
    assert non_ec2 == pytest.approx(HOURS * per_hour, rel=1e-6)
