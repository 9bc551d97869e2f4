"""FOCUS reader on the real FOCUS 1.0 sample (FinOps Foundation, CC BY 4.0)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from usage.errors import UsageInputError
from usage.readers import detect_format, read_focus, read_usage

FOCUS = Path(__file__).resolve().parents[1] / "data" / "focus" / "focus1.0_sample_1000.csv"


def test_real_focus_sample_reads() -> None:
    table, report = read_focus(FOCUS)
    assert detect_format(FOCUS) == "focus"
    # 26 AWS EC2 rows are instance-hours ("$0.34 per On Demand Linux c5.2xlarge Instance Hour"),
    # 2 of them covered by a Savings Plan; every one maps to a key. One RDS row is an instance-hour
    # too (db.t3.micro SQL Server Express, tests/usage/test_node_service_usage.py).
    # 12 Fargate rows and 4 Lambda duration rows are demand too (tests/usage/test_compute_demand.py)
    assert report.kept_line_items == 27 + 16
    compute = table["instance_type"].str.startswith(("fargate.", "lambda."))
    assert int(compute.sum()) == 16
    table = table[~compute]
    assert len(table) == 27
    assert table["quantity"].sum() == pytest.approx(24.74389)
    assert report.unmapped == 0
    assert report.billing_periods == ("2024-09",)
    assert report.currency == "USD"
    # 431 before Fargate and Lambda were read: incl. the 58 Microsoft / Oracle rows; the 50 rows
    # of ECS, EKS and Lambda are now demand (16) or excluded for their own reasons (34)
    assert report.excluded("non-EC2").line_items == 431 - 50
    assert report.excluded("data transfer").line_items == 31
    assert report.excluded("not Fargate usage").line_items == 1  # EKS cluster hours
    assert report.excluded("not covered by any Savings Plan").line_items == 2  # Lambda requests
    assert report.excluded("database, not instance usage").line_items == 12  # RDS transfer, ...
    assert report.excluded("not instance usage").line_items == 527  # EBS, NAT, data transfer
    assert report.excluded("credit").cost == pytest.approx(-2.6137)
    assert report.kept_line_items + report.excluded_line_items == 1000
    row = table[(table["instance_type"] == "t3.micro")].iloc[0]
    assert (row["region"], row["platform"], row["tenancy"], row["account_id"]) == (
        "ap-south-1",
        "Linux/UNIX",
        "Shared",
        "18938484842",
    )
    assert row["hour"] == pd.Timestamp("2024-09-20 20:00", tz="UTC")


def test_unmappable_instance_rows_are_reported(tmp_path: Path) -> None:
    text = FOCUS.read_text()
    text = text.replace("per On Demand Linux c5.2xlarge", "per On Demand Plan9 c5.2xlarge")
    path = tmp_path / "focus.csv"
    path.write_text(text)
    table, report = read_usage(path)
    assert report.format == "focus"
    assert report.unmapped == 3
    assert report.unmapped_examples == ("$0.34 per On Demand Plan9 c5.2xlarge Instance Hour",)
    assert report.excluded("unknown platform").line_items == 3
    assert report.kept_line_items == 24 + 16  # 23 EC2 rows, the RDS hour, 16 Fargate/Lambda
    assert "c5.2xlarge" not in set(table["instance_type"])


def test_focus_missing_columns(tmp_path: Path) -> None:
    frame = pd.read_csv(FOCUS).drop(columns=["ConsumedQuantity"])
    path = tmp_path / "focus.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(UsageInputError, match=r"missing FOCUS column.*ConsumedQuantity"):
        read_focus(path)
