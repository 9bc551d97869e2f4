"""Fargate, Lambda, SageMaker and Database SP rates from the Price List and SP offer files.

Fixtures: ``tests/data/pricing/*_documented.*`` (written from AWS's documented layouts; see
``compute_prices_documented.README.md``). Expected figures are worked by hand from the fixture
rows: a Lambda rate per GB-second × 3,600 is the key's rate per GB-hour.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from pricing.errors import PriceFileError
from pricing.readers.compute_price_list import (
    read_compute_price_list_csv,
    read_compute_price_list_json,
)
from pricing.readers.database_savings_plans_offer import operation_platforms
from pricing.readers.savings_plans_offers import read_savings_plans_offer

DATA = Path(__file__).resolve().parents[2] / "data" / "pricing"


def rate_of(frame: pd.DataFrame, column: str, **key: object) -> float:
    """The one value of ``column`` in the rows matching ``key``."""
    mask = pd.Series(True, index=frame.index)
    for name, value in key.items():
        mask &= frame[name] == value
    assert int(mask.sum()) == 1, (key, frame.loc[mask])
    return float(frame.loc[mask, column].iloc[0])


# ----------------------------------------------------------------------------- on-demand offers


@pytest.mark.parametrize("ext", ["csv", "json"])
def test_fargate_on_demand_rates_per_unit_hour(ext: str) -> None:
    reader = read_compute_price_list_csv if ext == "csv" else read_compute_price_list_json
    catalog = reader(DATA / f"pricelist_AmazonECS_documented.{ext}")
    table = catalog.on_demand
    assert len(table) == 6
    assert rate_of(
        table, "on_demand_usd_per_hour", instance_type="fargate.vcpu", tenancy="x86_64",
        platform="fargate-linux", region="us-east-1",
    ) == pytest.approx(0.04048)  # fmt: skip
    assert rate_of(
        table, "on_demand_usd_per_hour", instance_type="fargate.memory", tenancy="arm64"
    ) == pytest.approx(0.00356)
    assert rate_of(
        table, "on_demand_usd_per_hour", platform="fargate-windows", instance_type="fargate.vcpu"
    ) == pytest.approx(0.046552)
    notes = " ".join(catalog.metadata.notes)
    assert "fargate os license: no Savings Plan covers it" in notes
    assert "fargate ephemeral storage" in notes
    assert set(table["source"]) == {f"AWS Price List bulk {ext.upper()} AmazonECS 20261120000000"}
    assert str(catalog.metadata.as_of) == "2026-11-20"


@pytest.mark.parametrize("ext", ["csv", "json"])
def test_lambda_takes_the_first_tier_per_gb_hour(ext: str) -> None:
    reader = read_compute_price_list_csv if ext == "csv" else read_compute_price_list_json
    catalog = reader(DATA / f"pricelist_AWSLambda_documented.{ext}")
    table = catalog.on_demand
    duration = rate_of(table, "on_demand_usd_per_hour", instance_type="lambda.duration",
                       tenancy="x86_64")  # fmt: skip
    assert duration == pytest.approx(0.0000166667 * 3600)  # 0.06 USD per GB-hour
    assert rate_of(
        table, "on_demand_usd_per_hour", instance_type="lambda.duration", tenancy="arm64"
    ) == pytest.approx(0.0000133334 * 3600)
    assert rate_of(
        table, "on_demand_usd_per_hour", instance_type="lambda.provisioned-concurrency"
    ) == pytest.approx(0.0000041667 * 3600)
    notes = " ".join(catalog.metadata.notes)
    assert "2 key(s) priced in tiers" in notes and "first priced tier" in notes
    assert "left out 1 price rows: lambda requests" in notes


@pytest.mark.parametrize("ext", ["csv", "json"])
def test_sagemaker_on_demand_by_component(ext: str) -> None:
    reader = read_compute_price_list_csv if ext == "csv" else read_compute_price_list_json
    catalog = reader(DATA / f"pricelist_AmazonSageMaker_documented.{ext}")
    table = catalog.on_demand
    assert sorted(table["platform"]) == [
        "sagemaker-hosting", "sagemaker-notebook", "sagemaker-training", "sagemaker-training",
    ]  # fmt: skip
    assert rate_of(
        table, "on_demand_usd_per_hour", instance_type="ml.m4.16xlarge"
    ) == pytest.approx(3.84)
    notes = " ".join(catalog.metadata.notes)
    assert "sagemaker ml instance: no Savings Plan covers it (e.g. USE1-Train-Spot" in notes
    assert "unknown SageMaker usage type (e.g. USE1-ML:VolumeUsage.gp2)" in notes


def test_on_demand_region_filter_and_missing_region(tmp_path: Path) -> None:
    catalog = read_compute_price_list_csv(
        DATA / "pricelist_AmazonECS_documented.csv", regions=["us-west-2"]
    )
    assert list(catalog.on_demand["region"]) == ["us-west-2"]
    with pytest.raises(PriceFileError, match=r"no on-demand rate .* in region"):
        read_compute_price_list_csv(
            DATA / "pricelist_AmazonECS_documented.csv", regions=["eu-west-1"]
        )


def test_on_demand_bad_price_names_the_sku(tmp_path: Path) -> None:
    text = (DATA / "pricelist_AWSLambda_documented.csv").read_text()
    broken = tmp_path / "index.csv"
    broken.write_text(text.replace('"0.0000041667"', '"-1"'))
    with pytest.raises(PriceFileError, match=r"SKU LAMBDAPC1 has price '-1'") as error:
        read_compute_price_list_csv(broken)
    assert str(broken) in str(error.value)


def test_on_demand_conflicting_skus(tmp_path: Path) -> None:
    text = (DATA / "pricelist_AmazonECS_documented.csv").read_text()
    line = next(x for x in text.splitlines() if x.startswith('"ECSFGVCPUUSE1"'))
    twin = line.replace("ECSFGVCPUUSE1", "ECSFGTWIN").replace("0.0404800000", "0.05")
    broken = tmp_path / "index.csv"
    broken.write_text(text + twin + "\n")
    with pytest.raises(PriceFileError, match="conflicting on-demand prices for us-east-1"):
        read_compute_price_list_csv(broken)


def test_another_offer_is_refused() -> None:
    with pytest.raises(PriceFileError, match="OfferCode is 'AmazonRDS'"):
        read_compute_price_list_csv(DATA / "pricelist_AmazonRDS_illustrative.csv")


# ---------------------------------------------------------------------- Savings Plans offers


@pytest.mark.parametrize("ext", ["csv", "json"])
def test_compute_savings_plans_cover_fargate_lambda_and_ec2(ext: str) -> None:
    catalog = read_savings_plans_offer(DATA / f"savingsplan_compute_documented.{ext}")
    table = catalog.savings_plans
    assert len(table) == 9  # EKS's Fargate rate repeats ECS's: one key
    assert set(table["plan_type"]) == {"compute"}
    assert rate_of(
        table, "sp_hourly_usd", instance_type="lambda.duration", tenancy="x86_64", term_years=1
    ) == pytest.approx(0.000015 * 3600)
    assert rate_of(
        table, "sp_hourly_usd", instance_type="fargate.vcpu", tenancy="x86_64", term_years=3,
        payment_option="All Upfront",
    ) == pytest.approx(0.02024)  # fmt: skip
    assert rate_of(table, "sp_hourly_usd", instance_type="m5.large") == pytest.approx(0.065)
    assert catalog.metadata.notes == (
        "left out 1 Savings Plans rate(s): lambda requests: no Savings Plan covers it "
        "(e.g. USE1-Request)",
    )


@pytest.mark.parametrize("ext", ["csv", "json"])
def test_sagemaker_savings_plans(ext: str) -> None:
    catalog = read_savings_plans_offer(DATA / f"savingsplan_sagemaker_documented.{ext}")
    table = catalog.savings_plans
    assert set(table["plan_type"]) == {"sagemaker"}
    # the rate public code quotes from AWS's AWSMachineLearningSavingsPlans file
    assert rate_of(
        table, "sp_hourly_usd", instance_type="ml.m4.16xlarge", platform="sagemaker-training"
    ) == pytest.approx(2.60544)
    assert rate_of(table, "sp_hourly_usd", instance_type="ml.m5.large") == pytest.approx(
        0.0782
    )  # Studio:KernelGateway-ml.m5.large -> studio notebook
    assert set(table["payment_option"]) == {"Partial Upfront"}
    assert len(catalog.metadata.notes) == 2


def test_operation_codes_from_the_rds_offer_key_database_rates() -> None:
    platforms, notes = operation_platforms(DATA / "pricelist_AmazonRDS_illustrative.csv")
    assert platforms[("AmazonRDS", "CreateDBInstance:0016")] == "aurora-mysql"
    assert platforms == operation_platforms(DATA / "pricelist_AmazonRDS_illustrative.json")[0]
    catalog = read_savings_plans_offer(
        DATA / "savingsplan_database_documented.csv", operation_platforms=platforms
    )
    table = catalog.savings_plans
    assert set(table["plan_type"]) == {"database"}
    assert rate_of(
        table, "sp_hourly_usd", instance_type="db.r7g.large", platform="aurora-mysql",
        tenancy="Single-AZ",
    ) == pytest.approx(0.2)  # fmt: skip
    assert rate_of(
        table, "sp_hourly_usd", instance_type="db.r6g.large", tenancy="Multi-AZ"
    ) == pytest.approx(0.36)
    notes = " ".join(catalog.metadata.notes)
    assert "import the AmazonElastiCache Price List offer" in notes  # no code for the node
    assert "unit ACU-Hr" in notes and "rates of AmazonDynamoDB" in notes


def test_database_rates_without_operation_codes_are_counted_not_guessed() -> None:
    with pytest.raises(PriceFileError, match="no Savings Plans rate of a modelled service"):
        read_savings_plans_offer(DATA / "savingsplan_database_documented.json")


def test_savings_plans_bad_rate_names_row_and_column(tmp_path: Path) -> None:
    text = (DATA / "savingsplan_sagemaker_documented.csv").read_text()
    broken = tmp_path / "index.csv"
    broken.write_text(text.replace(",0.1564000000,", ",abc,", 1))
    with pytest.raises(PriceFileError) as error:
        read_savings_plans_offer(broken)
    message = str(error.value)
    assert re.search(r"row \d+ \(RateCode 3YPXFW2FJXS3D9VM\.SMTRAINM5XL1\)", message)
    assert "column DiscountedRate" in message


def test_savings_plans_unknown_plan_type(tmp_path: Path) -> None:
    text = (DATA / "savingsplan_sagemaker_documented.csv").read_text()
    broken = tmp_path / "index.csv"
    broken.write_text(text.replace(",SageMakerSavingsPlans,", ",MysteryPlans,"))
    with pytest.raises(PriceFileError, match="column Product Family: unknown Savings Plan type"):
        read_savings_plans_offer(broken)


def test_savings_plans_region_filter() -> None:
    with pytest.raises(PriceFileError, match=r"in region\(s\) eu-west-1"):
        read_savings_plans_offer(DATA / "savingsplan_compute_documented.csv", regions=["eu-west-1"])


def test_ec2_excerpt_still_reads_through_the_combined_reader() -> None:
    catalog = read_savings_plans_offer(DATA / "ec2priceit_5-ap-east-2-savingsplan-pricing.csv")
    assert len(catalog.savings_plans) > 0
    assert set(catalog.savings_plans["plan_type"]) == {"ec2_instance"}


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("pricelist_AmazonECS_documented.csv", "compute-price-list-csv"),
        ("pricelist_AWSLambda_documented.json", "compute-price-list-json"),
        ("pricelist_AmazonSageMaker_documented.csv", "compute-price-list-csv"),
        ("pricelist_AmazonSageMaker_documented.json", "compute-price-list-json"),
        ("savingsplan_compute_documented.json", "savings-plans-json"),
        ("savingsplan_sagemaker_documented.csv", "savings-plans-csv"),
        ("savingsplan_sagemaker_documented.json", "savings-plans-json"),
        ("savingsplan_database_documented.csv", "savings-plans-csv"),
        ("savingsplan_database_documented.json", "savings-plans-json"),
        ("pricelist_AmazonRDS_illustrative.json", "database-price-list-json"),
        ("savingsplan_ap-east-2_r7g_from-ec2priceit_5.json", "savings-plans-json"),
    ],
)
def test_files_are_recognised_and_read(fixture: str, expected: str) -> None:
    from pricing.readers.detect import detect_format, read_price_file

    assert detect_format(DATA / fixture) == expected
    platforms = {("AmazonRDS", "CreateDBInstance:0016"): "aurora-mysql"}
    catalog = read_price_file(DATA / fixture, operation_platforms=platforms)
    assert len(catalog.on_demand) + len(catalog.reserved) + len(catalog.savings_plans) > 0


def test_a_discounted_region_that_contradicts_the_usage_type(tmp_path: Path) -> None:
    text = (DATA / "savingsplan_compute_documented.csv").read_text()
    line = next(x for x in text.splitlines() if "ECSFGARMVCPU1" in x)
    broken = tmp_path / "index.csv"
    broken.write_text(text.replace(line, line.replace(",us-east-1,", ",eu-west-1,")))
    with pytest.raises(PriceFileError, match="column DiscountedRegionCode: 'eu-west-1' but"):
        read_savings_plans_offer(broken)


@pytest.mark.parametrize(
    "fixture",
    [
        "ec2priceit_5-ap-east-2-savingsplan-pricing.csv",
        "savingsplan_ap-east-2_r7g_from-ec2priceit_5.json",
    ],
)
def test_the_combined_reader_gives_the_ec2_readers_rates(fixture: str) -> None:
    from pricing.readers.savings_plans_offer import (
        read_savings_plans_csv,
        read_savings_plans_json,
    )

    reader = read_savings_plans_csv if fixture.endswith(".csv") else read_savings_plans_json
    columns = ["region", "instance_type", "platform", "tenancy", "plan_type", "term_years",
               "payment_option", "sp_hourly_usd"]  # fmt: skip
    ec2_only = reader(DATA / fixture).savings_plans[columns]
    combined = read_savings_plans_offer(DATA / fixture).savings_plans[columns]
    pd.testing.assert_frame_equal(
        combined.sort_values(columns).reset_index(drop=True),
        ec2_only.sort_values(columns).reset_index(drop=True),
    )


def test_a_truncated_savings_plans_json_is_one_error(tmp_path: Path) -> None:
    text = (DATA / "savingsplan_sagemaker_documented.json").read_text()
    broken = tmp_path / "index.json"
    broken.write_text(text[: len(text) // 2])
    with pytest.raises(PriceFileError, match=r"index\.json: .*truncated"):
        read_savings_plans_offer(broken)


def test_units_convert_by_the_keys_factor() -> None:
    """Every keyed rate is the bill rate ÷ per_bill_unit: Lambda × 3,600, the others × 1."""
    from pricing.readers.compute_rate_rows import key_rates

    usage = pd.Series(["USE1-Lambda-GB-Second", "USE1-Fargate-GB-Hours", "USE1-Host:ml.c5.large"])
    codes = pd.Series(["AWSLambda", "AmazonECS", "AmazonSageMaker"])
    keys, reasons = key_rates(usage, codes, pd.Series(["Lambda-GB-Second", "Hrs", "Hrs"]))
    assert list(reasons) == ["", "", ""]
    assert list(1 / keys["per_bill_unit"]) == pytest.approx([3600.0, 1.0, 1.0])
    _, wrong = key_rates(usage[:1], codes[:1], pd.Series(["Hrs"]))
    assert wrong.iloc[0] == "unit Hrs where a rate per GB-seconds is expected"
