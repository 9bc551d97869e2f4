"""What an owned SageMaker Savings Plan does to the engines that bill and plan EC2 usage.

Inventories read SageMaker Savings Plans (from AWS, CURs and portfolio files) and the commands that
plan purchases count owned commitments by default. A SageMaker Savings Plan covers SageMaker usage
only, so owning one must change nothing in an EC2-only recommendation: the billing kernel keeps it
in its own pool, and the optimizer must not take it for a Compute Savings Plan (before main's
78b1de6, ``optimizer/build_owned.py`` did, and recommend then bought nothing for EC2 usage worth a
0.284 USD/h Compute Savings Plan).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from billing.portfolio import build_portfolio
from pricing.inventory import Commitment
from pricing.offerings import CommitmentKind
from tests.commitopt.conftest import RunCli
from tests.commitopt.identities import isolated_aws  # noqa: F401 (a fixture)

HOURS = 24 * 14
START = datetime(2024, 3, 1, tzinfo=UTC)

SAGEMAKER_PLAN = {
    "kind": "sagemaker_savings_plan", "id": "sp-ml-owned", "start": "2024-01-01T00:00:00Z",
    "term_years": 1, "payment_option": "No Upfront", "commitment_usd_per_hour": 1.0,
}  # fmt: skip
"""1 USD/h of SageMaker commitment: more than the whole EC2 usage below costs on demand."""


@pytest.fixture
def flat_usage(tmp_path: Path) -> Path:
    """m4.large, us-east-1 Linux: 10 instances for 60 % of the hours, 4 for the rest."""
    hours = pd.date_range(START, periods=HOURS, freq="h")
    usage = pd.DataFrame(
        {
            "hour": hours,
            "account_id": "111111111111",
            "region": "us-east-1",
            "instance_type": "m4.large",
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "quantity": np.where(np.arange(HOURS) % 10 < 6, 10.0, 4.0),
        }
    )
    path = tmp_path / "usage.csv"
    usage.to_csv(path, index=False)
    return path


def test_the_billing_portfolio_keeps_a_sagemaker_plan_out_of_the_compute_pool() -> None:
    plan = Commitment(
        kind=CommitmentKind.SAGEMAKER_SAVINGS_PLAN, id="sp-ml-owned", start=START,
        end=datetime(2025, 3, 1, tzinfo=UTC), term_years=1, payment_option="No Upfront",
        upfront_usd=0.0, recurring_usd_per_hour=1.0, effective_usd_per_hour=1.0,
        commitment_usd_per_hour=1.0,
    )  # fmt: skip
    portfolio = build_portfolio([plan], pd.date_range(START, periods=24, freq="h"))
    assert [i.id for i in portfolio.instruments] == ["sp-ml-owned"]  # billed: its cost counts
    assert portfolio.compute_savings_plans == ()
    assert [i.id for i in portfolio.sagemaker_savings_plans] == ["sp-ml-owned"]


def test_an_owned_sagemaker_plan_changes_no_ec2_recommendation(
    run_cli: RunCli, flat_usage: Path, tmp_path: Path
) -> None:
    owned = tmp_path / "owned.json"
    owned.write_text(json.dumps({"purchases": [SAGEMAKER_PLAN]}), encoding="utf-8")

    def purchases(*extra: str) -> list[tuple[str, float]]:
        result = run_cli(
            "recommend", "--usage", str(flat_usage), "--lookback", "14d", "--format", "json",
            "--no-bill-inventory", *extra,
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        return [
            (item["kind"], item.get("count") or item.get("commitment_usd_per_hour"))
            for item in json.loads(result.stdout)["purchases"]
        ]

    without = purchases()
    assert without  # the EC2 usage is worth committing to
    assert purchases("--inventory", str(owned)) == without
