"""``commitopt frontier`` end to end: a hand-worked RI frontier, formats, paths, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.commitopt.conftest import RunCli

HOURS = 48
ON_DEMAND = 0.1  # m4.large us-east-1 Linux, embedded 2017 snapshot [USD/h]


def write_usage(path: Path, hours: int, quantity: float | np.ndarray) -> Path:
    pd.DataFrame(
        {
            "hour": pd.date_range("2024-03-04", periods=hours, freq="h", tz="UTC"),
            "account_id": "111111111111",
            "region": "us-east-1",
            "instance_type": "m4.large",
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "quantity": quantity,
        }
    ).to_csv(path, index=False)
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    usage = write_usage(tmp_path / "usage.csv", HOURS, 5.0)  # 5 large = 20 NU every hour
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
    return usage, plan_path


def test_hand_worked_ri_frontier(run_cli: RunCli, files: tuple[Path, Path]) -> None:
    """At level l the RI covers min(4 l, 5) large per hour for 0.3 l USD/h."""
    usage, plan = files
    result = run_cli("frontier", "--usage", str(usage), "--portfolio", str(plan),
                     "--steps", "4", "--max-level", "1.5", "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["path_count"] == 1 and payload["proposed_purchase_count"] == 1
    levels = payload["levels"]
    assert [row["level"] for row in levels] == pytest.approx([0.0, 0.5, 1.0, 1.5])
    for row in levels:
        level = row["level"]
        hourly = ON_DEMAND * min(4 * level, 5) - 0.3 * level
        assert row["mean_savings_vs_on_demand_usd"] == pytest.approx(HOURS * hourly)
        assert row["p5_savings_vs_on_demand_usd"] == pytest.approx(
            row["mean_savings_vs_on_demand_usd"]
        )
        assert row["commitment_cost_usd"] == pytest.approx(HOURS * 0.3 * level)
    assert levels[0]["marginal_savings_usd_per_usd"] is None
    assert [row["marginal_savings_usd_per_usd"] for row in levels[1:]] == pytest.approx(
        [1 / 3, 1 / 3, -1 / 3]
    )
    assert payload["knee_level"] == 1.0
    assert [row["is_knee"] for row in levels] == [False, False, True, False]
    assert [row["is_portfolio"] for row in levels] == [False, False, True, False]


def test_csv_and_table(run_cli: RunCli, files: tuple[Path, Path]) -> None:
    usage, plan = files
    csv = run_cli("frontier", "--usage", str(usage), "--portfolio", str(plan), "--steps", "3",
                  "--format", "csv")  # fmt: skip
    assert csv.exit_code == 0, csv.stderr
    lines = csv.stdout.strip().splitlines()
    assert lines[0].startswith("level,commitment_cost_usd,mean_savings_vs_on_demand_usd")
    assert len(lines) == 5  # 0, 0.75 and 1.5, and the portfolio itself (level 1)
    table = run_cli("frontier", "--usage", str(usage), "--portfolio", str(plan), "--steps", "3")
    assert table.exit_code == 0, table.stderr
    assert "knee, proposed" in table.stdout and "Savings by commitment level" in table.stdout


def test_sampled_paths(run_cli: RunCli, tmp_path: Path, files: tuple[Path, Path]) -> None:
    _, plan = files
    rng = np.random.default_rng(0)
    usage = write_usage(tmp_path / "three-weeks.csv", 3 * 168, rng.uniform(2, 8, 3 * 168))
    result = run_cli("frontier", "--usage", str(usage), "--portfolio", str(plan), "--lookback",
                     "21d", "--paths", "30", "--horizon", "2w", "--steps", "4", "--format",
                     "json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["path_count"] == 30
    for row in payload["levels"][1:]:
        assert (
            row["p5_savings_vs_on_demand_usd"]
            <= row["p50_savings_vs_on_demand_usd"]
            <= row["p95_savings_vs_on_demand_usd"]
        )
        assert (
            row["p5_savings_vs_on_demand_usd"] < row["p95_savings_vs_on_demand_usd"]
        )  # the paths differ
        assert row["commitment_cost_usd"] == pytest.approx(336 * 0.3 * row["level"])


def test_recommends_when_no_portfolio_is_given(run_cli: RunCli, tmp_path: Path) -> None:
    usage = write_usage(tmp_path / "usage.csv", 14 * 24, 5.0)
    result = run_cli("frontier", "--usage", str(usage), "--lookback", "14d", "--steps", "3",
                     "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["proposed_purchase_count"] >= 1
    by_level = {row["level"]: row for row in payload["levels"]}
    assert by_level[1.0]["mean_savings_vs_on_demand_usd"] > 0 and by_level[1.0]["is_portfolio"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--portfolio", "missing.json"), "missing.json: no such file"),
        (("--max-level", "0"), "--max-level must be a share above 0"),
        (("--max-level", "-1"), "--max-level must be a share above 0"),
        (("--steps", "1"), "--steps must be at least 2"),
        (("--paths", "0"), "--paths must be at least 1"),
        (("--paths", "5", "--horizon", "0h"), "--horizon must be at least one hour"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    run_cli: RunCli, files: tuple[Path, Path], extra: tuple[str, ...], message: str
) -> None:
    usage, plan = files
    args = ["frontier", "--usage", str(usage), *extra]
    if "--portfolio" not in extra:
        args += ["--portfolio", str(plan)]
    result = run_cli(*args)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("commitopt: error")]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
