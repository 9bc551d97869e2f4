"""``commitopt simulate`` end to end on a hand-worked case: one 2xlarge RI covers four large."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.commitopt.conftest import RunCli

HOURS = 48


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    usage = pd.DataFrame(
        {
            "hour": pd.date_range("2024-03-01", periods=HOURS, freq="h", tz="UTC"),
            "account_id": "111111111111",
            "region": "us-east-1",
            "instance_type": "m4.large",
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "quantity": 5.0,  # 5 × 4 NU = 20 NU per hour; the RI brings 16
        }
    )
    usage_path = tmp_path / "usage.csv"
    usage.to_csv(usage_path, index=False)
    plan = {
        "purchases": [
            {"kind": "reserved_instance", "region": "us-east-1", "instance_type": "m4.2xlarge",
             "platform": "Linux/UNIX", "tenancy": "Shared", "offering_class": "standard",
             "term_years": 1, "payment_option": "No Upfront", "count": 1, "upfront_usd": 0.0,
             "recurring_usd_per_hour": 0.3}
        ]
    }  # fmt: skip
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(plan))
    return usage_path, plan_path


def test_size_flexible_ri_through_the_cli(run_cli: RunCli, files: tuple[Path, Path]) -> None:
    usage_path, plan_path = files
    result = run_cli(
        "simulate", "--usage", str(usage_path), "--portfolio", str(plan_path), "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    totals = json.loads(result.stdout)
    on_demand_rate = 0.1  # m4.large us-east-1 Linux, embedded 2017 snapshot
    assert totals["on_demand_cost_usd"] == pytest.approx(5 * on_demand_rate * HOURS)
    # four large covered by the RI each hour, one on-demand
    assert totals["actual_cost_usd"] == pytest.approx((0.3 + on_demand_rate) * HOURS)
    assert totals["coverage_pct"] == pytest.approx(80.0)
    assert totals["utilization_pct"] == pytest.approx(100.0)


def test_breakdown_by_instrument_conserves_cost(run_cli: RunCli, files: tuple[Path, Path]) -> None:
    usage_path, plan_path = files
    totals = json.loads(
        run_cli("simulate", "--usage", str(usage_path), "--portfolio", str(plan_path),
                "--format", "json").stdout
    )  # fmt: skip
    result = run_cli(
        "simulate", "--usage", str(usage_path), "--portfolio", str(plan_path), "--by",
        "instrument", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert sum(r["actual_cost_usd"] for r in rows) == pytest.approx(totals["actual_cost_usd"])


def test_bad_portfolio_is_exit_2(run_cli: RunCli, files: tuple[Path, Path], tmp_path: Path) -> None:
    usage_path, _ = files
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"purchases": [{"kind": "reserved_instance", "count": -1}]}))
    result = run_cli("simulate", "--usage", str(usage_path), "--portfolio", str(bad))
    assert result.exit_code == 2
    assert "purchases[0]" in result.stderr and "Traceback" not in result.stderr


def test_a_cur_is_priced_by_its_own_rates(run_cli: RunCli, tmp_path: Path) -> None:
    cur = Path(__file__).parents[1] / "data/cur/wal_Oct2018-WorkshopCUR-ec2-trimmed.zstd.parquet"
    empty = tmp_path / "none.json"
    empty.write_text(json.dumps({"purchases": []}))
    result = run_cli(
        "simulate", "--usage", str(cur), "--portfolio", str(empty), "--no-embedded",
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    totals = json.loads(result.stdout)
    assert totals["instance_hours"] == pytest.approx(14_667.980558)
    assert totals["actual_cost_usd"] == pytest.approx(totals["on_demand_cost_usd"])
    assert totals["coverage_pct"] == 0.0
