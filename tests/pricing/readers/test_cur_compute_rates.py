"""A CUR's own Fargate, Lambda and SageMaker rates (on-demand and Savings Plans).

The CUR is written here from the CUR 2.0 data dictionary's column names (``line_item_*``,
``pricing_public_on_demand_rate``, ``pricing_unit``, ``savings_plan_*``) and the documented usage
types; rates are illustrative, worked by hand below.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pricing.errors import PriceFileError
from pricing.readers.cur_compute_rates import read_cur_compute_rates
from pricing.readers.detect import read_price_file

COLUMNS = [
    "line_item_line_item_type", "line_item_product_code", "line_item_usage_type",
    "line_item_usage_start_date", "pricing_public_on_demand_rate", "pricing_unit",
    "line_item_unblended_rate", "line_item_currency_code", "savings_plan_savings_plan_a_r_n",
    "savings_plan_savings_plan_rate", "savings_plan_offering_type", "savings_plan_purchase_term",
    "savings_plan_payment_option",
]  # fmt: skip
COMPUTE_ARN = "arn:aws:savingsplans::111111111111:savingsplan/compute-1"
SAGEMAKER_ARN = "arn:aws:savingsplans::111111111111:savingsplan/sagemaker-1"
ROWS = [
    ("Usage", "AmazonECS", "USE1-Fargate-vCPU-Hours:perCPU", "2026-10-01T00:00:00Z",
     "0.04048", "hours", "0.04048", "USD", "", "", "", "", ""),
    ("SavingsPlanCoveredUsage", "AmazonECS", "USE1-Fargate-vCPU-Hours:perCPU",
     "2026-10-01T01:00:00Z", "0.04048", "hours", "0.04048", "USD", COMPUTE_ARN, "0.03238", "",
     "", ""),
    ("SavingsPlanCoveredUsage", "AWSLambda", "USE2-Lambda-GB-Second-ARM",
     "2026-10-01T01:00:00Z", "0.0000133334", "Lambda-GB-Second", "0.0000133334", "USD",
     COMPUTE_ARN, "0.000012", "", "", ""),
    ("Usage", "AWSLambda", "USE2-Request-ARM", "2026-10-01T01:00:00Z", "0.0000002",
     "Requests", "0.0000002", "USD", "", "", "", "", ""),
    ("SavingsPlanCoveredUsage", "AmazonSageMaker", "USE1-Train:ml.m5.xlarge",
     "2026-10-02T00:00:00Z", "0.23", "Hrs", "0.23", "USD", SAGEMAKER_ARN, "0.1564", "", "", ""),
    ("SavingsPlanNegation", "AmazonSageMaker", "USE1-Train:ml.m5.xlarge",
     "2026-10-02T00:00:00Z", "", "Hrs", "", "USD", SAGEMAKER_ARN, "", "", "", ""),
    ("SavingsPlanRecurringFee", "ComputeSavingsPlans", "ComputeSP:1yrNoUpfront",
     "2026-10-01T00:00:00Z", "", "", "", "USD", COMPUTE_ARN, "", "ComputeSavingsPlans", "1yr",
     "No Upfront"),
    ("SavingsPlanRecurringFee", "MachineLearningSavingsPlans", "SageMakerSP:3yrAllUpfront",
     "2026-10-01T00:00:00Z", "", "", "", "USD", SAGEMAKER_ARN, "", "SageMakerSavingsPlans",
     "3yr", "All Upfront"),
    ("Usage", "AmazonEC2", "BoxUsage:m5.large", "2026-10-01T00:00:00Z", "0.096", "Hrs",
     "0.096", "USD", "", "", "", "", ""),
]  # fmt: skip


def write_cur(path: Path, rows: list[tuple[str, ...]] = ROWS) -> Path:
    """The rows as a CUR 2.0 CSV (``line_item_operation`` RunInstances for EC2, else empty)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*COLUMNS, "line_item_operation"])
        for row in rows:
            writer.writerow([*row, "RunInstances" if row[1] == "AmazonEC2" else ""])
    return path


def test_on_demand_and_savings_plans_rates_per_key_unit_hour(tmp_path: Path) -> None:
    catalog = read_cur_compute_rates([write_cur(tmp_path / "cur.csv")])
    on_demand = catalog.on_demand.set_index(["region", "instance_type", "tenancy"])
    assert on_demand.loc[("us-east-1", "fargate.vcpu", "x86_64"), "on_demand_usd_per_hour"] == (
        pytest.approx(0.04048)
    )
    assert on_demand.loc[("us-east-2", "lambda.duration", "arm64"), "on_demand_usd_per_hour"] == (
        pytest.approx(0.0000133334 * 3600)
    )
    plans = catalog.savings_plans.set_index(["instance_type", "plan_type"])
    fargate = plans.loc[("fargate.vcpu", "compute")]
    assert fargate["sp_hourly_usd"] == pytest.approx(0.03238)
    assert (fargate["term_years"], fargate["payment_option"]) == (1, "No Upfront")
    assert plans.loc[("lambda.duration", "compute"), "sp_hourly_usd"] == pytest.approx(0.0432)
    sagemaker = plans.loc[("ml.m5.xlarge", "sagemaker")]
    assert (sagemaker["term_years"], sagemaker["payment_option"]) == (3, "All Upfront")
    assert set(catalog.on_demand["source"]) == {"CUR cur.csv"}
    assert catalog.metadata.notes == (
        "left out 1 line items: lambda requests: no Savings Plan covers it (e.g. USE2-Request-ARM)",
    )
    assert str(catalog.metadata.as_of) == "2026-10-02"


def test_pricing_import_of_a_cur_reads_every_service(tmp_path: Path) -> None:
    catalog = read_price_file(write_cur(tmp_path / "cur.csv"))
    assert {"m5.large", "fargate.vcpu", "ml.m5.xlarge"} <= set(catalog.on_demand["instance_type"])
    assert "fargate.vcpu" in set(catalog.savings_plans["instance_type"])


def test_another_currency_is_refused(tmp_path: Path) -> None:
    rows = [tuple("EUR" if v == "USD" else v for v in row) for row in ROWS[:1]]
    with pytest.raises(PriceFileError, match="billed in EUR"):
        read_cur_compute_rates([write_cur(tmp_path / "cur.csv", rows)])


def test_a_cur_without_these_services(tmp_path: Path) -> None:
    with pytest.raises(PriceFileError, match="no Fargate, Lambda or SageMaker rate"):
        read_cur_compute_rates([write_cur(tmp_path / "cur.csv", ROWS[-1:])])
