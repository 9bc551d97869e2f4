"""``commitopt simulate --scenario``: scenarios side by side, exact factors, bad scenario files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.commitopt.conftest import CliResult, RunCli

HOURS = 2 * 730 + 20
START = pd.Timestamp("2024-03-01", tz="UTC")
M4_LARGE_RATE = 0.1  # us-east-1 Linux, embedded 2017 snapshot [USD/h]
RI_RATE = 0.3  # one m4.2xlarge RI, No Upfront [USD/h]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    hours = pd.date_range(START, periods=HOURS, freq="h")
    common = {"hour": hours, "platform": "Linux/UNIX", "tenancy": "Shared"}
    usage = pd.concat(
        [
            pd.DataFrame({**common, "account_id": "111111111111", "region": "us-east-1",
                          "instance_type": "m4.large", "quantity": 5.0}),
            pd.DataFrame({**common, "account_id": "222222222222", "region": "eu-west-1",
                          "instance_type": "c4.large", "quantity": 3.0}),
        ]
    )  # fmt: skip
    usage_path = tmp_path / "usage.csv"
    usage.to_csv(usage_path, index=False)
    plan = {
        "purchases": [
            {"kind": "reserved_instance", "region": "us-east-1", "instance_type": "m4.2xlarge",
             "platform": "Linux/UNIX", "tenancy": "Shared", "offering_class": "standard",
             "term_years": 1, "payment_option": "No Upfront", "count": 1, "upfront_usd": 0.0,
             "recurring_usd_per_hour": RI_RATE}
        ]
    }  # fmt: skip
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(plan))
    return usage_path, plan_path


def _scenario(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _run(run_cli: RunCli, files: tuple[Path, Path], *args: str) -> CliResult:
    usage_path, plan_path = files
    return run_cli("simulate", "--usage", str(usage_path), "--portfolio", str(plan_path), *args)


def _growth_factors(percent: float, start_hour: int) -> np.ndarray:
    elapsed = np.maximum(np.arange(HOURS) - start_hour, 0)
    return np.power(1 + percent / 100, elapsed / 730)


def test_growth_side_by_side_raises_on_demand_cost_by_the_exact_factor(
    run_cli: RunCli, files: tuple[Path, Path], tmp_path: Path
) -> None:
    growth = _scenario(
        tmp_path, "growth.yaml", "name: growth\ntransforms:\n"
        "  - growth: {percent_per_month: 4, start: '2024-03-02T00:00:00Z'}\n",
    )  # fmt: skip
    leave = _scenario(
        tmp_path, "leave.json", json.dumps({"name": "leave-eu", "transforms": [
            {"exit": {"where": {"region": "eu-west-1"}, "at": "2024-03-01"}}]}),
    )  # fmt: skip
    result = _run(
        run_cli, files, "--scenario", str(growth), "--scenario", str(leave), "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["scenario"] for row in rows] == ["baseline", "growth", "leave-eu"]
    base, grown, left = rows
    factor = _growth_factors(4.0, 24).mean()
    assert grown["on_demand_cost_usd"] == pytest.approx(
        factor * base["on_demand_cost_usd"], rel=1e-12
    )
    assert grown["instance_hours"] == pytest.approx(factor * base["instance_hours"], rel=1e-12)
    # the RI (16 NU) still covers four m4.large every hour: the growth is all on-demand
    assert grown["recurring_usd"] == base["recurring_usd"] == pytest.approx(RI_RATE * HOURS)
    assert grown["coverage_pct"] < base["coverage_pct"]
    # leaving eu-west-1 from the first hour leaves the m4.large fleet only
    assert left["on_demand_cost_usd"] == pytest.approx(5 * M4_LARGE_RATE * HOURS)
    assert left["actual_cost_usd"] == pytest.approx((RI_RATE + M4_LARGE_RATE) * HOURS)
    assert left["coverage_pct"] == pytest.approx(80.0)
    for row in rows:
        assert row["savings_vs_on_demand_usd"] == pytest.approx(
            row["on_demand_cost_usd"] - row["actual_cost_usd"]
        )


def test_price_change_scales_the_on_demand_part_of_the_bill_exactly(
    run_cli: RunCli, files: tuple[Path, Path], tmp_path: Path
) -> None:
    cut = _scenario(
        tmp_path, "cut.yaml", "name: cut\ntransforms:\n  - price_change: {factor: 0.85}\n"
    )
    result = _run(run_cli, files, "--scenario", str(cut), "--format", "json")
    assert result.exit_code == 0, result.stderr
    base, changed = json.loads(result.stdout)
    assert changed["uncovered_cost_usd"] == pytest.approx(
        0.85 * base["uncovered_cost_usd"], rel=1e-12
    )
    assert changed["on_demand_cost_usd"] == pytest.approx(
        0.85 * base["on_demand_cost_usd"], rel=1e-12
    )
    assert changed["recurring_usd"] == base["recurring_usd"]


def test_table_and_csv_one_row_per_scenario_baseline_first(
    run_cli: RunCli, files: tuple[Path, Path], tmp_path: Path
) -> None:
    growth = _scenario(
        tmp_path, "g.yaml", "name: grow\ntransforms:\n  - growth: {percent_per_month: 1}\n"
    )
    table = _run(run_cli, files, "--scenario", str(growth))
    assert table.exit_code == 0, table.stderr
    assert table.stdout.index("baseline") < table.stdout.index("grow")
    for heading in ("instance", "demand", "actual", "coverage", "utilization"):
        assert heading in table.stdout  # headings wrap: words, not whole field names
    wide = _run(run_cli, files, "--scenario", str(growth), "--wide")
    assert "description" in wide.stdout and "unused" in wide.stdout
    csv = _run(run_cli, files, "--scenario", str(growth), "--format", "csv")
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert frame["scenario"].tolist() == ["baseline", "grow"]
    assert frame.loc[1, "instance_hours"] > frame.loc[0, "instance_hours"]


def test_breakdowns_per_scenario(run_cli: RunCli, files: tuple[Path, Path], tmp_path: Path) -> None:
    leave = _scenario(
        tmp_path, "leave.yaml", "name: leave\ntransforms:\n"
        "  - exit: {where: {region: eu-west-1}, at: '2024-03-31'}\n",
    )  # fmt: skip
    result = _run(run_cli, files, "--scenario", str(leave), "--by", "month", "--format", "json")
    assert result.exit_code == 0, result.stderr
    base, left = json.loads(result.stdout)
    assert [b["month"] for b in base["breakdown"]] == ["2024-03", "2024-04", "2024-05"]
    assert sum(b["actual_cost_usd"] for b in left["breakdown"]) == pytest.approx(
        left["actual_cost_usd"]
    )
    april = {row["month"]: row for row in left["breakdown"]}["2024-04"]
    assert april["on_demand_cost_usd"] == pytest.approx(5 * M4_LARGE_RATE * 30 * 24)
    csv = _run(run_cli, files, "--scenario", str(leave), "--by", "region", "--format", "csv")
    frame = pd.read_csv(io.StringIO(csv.stdout), keep_default_na=False)
    assert set(frame["scenario"]) == {"baseline", "leave"}
    eu = frame.set_index(["scenario", "region"]).loc[("leave", "eu-west-1")]
    assert eu["instance_hours"] == pytest.approx(3.0 * 30 * 24)  # March 1-30 only


def test_new_workload_and_migration_add_keys(
    run_cli: RunCli, files: tuple[Path, Path], tmp_path: Path
) -> None:
    scenario = _scenario(
        tmp_path, "more.yaml", """
name: more
transforms:
  - migration: {from: {family: m4}, to: {family: c4}, share: 1, start: '2024-03-01',
                end: '2024-03-01'}
  - new_workload: {instance_type: t2.micro, region: us-east-1, account: '333333333333',
                   count_per_hour: 10}
""",
    )  # fmt: skip
    result = _run(run_cli, files, "--scenario", str(scenario), "--format", "json")
    assert result.exit_code == 0, result.stderr
    base, more = json.loads(result.stdout)
    c4_large, t2_micro = 0.1, 0.0116  # us-east-1 Linux, embedded snapshot [USD/h]
    assert more["on_demand_cost_usd"] == pytest.approx(
        HOURS * (5 * c4_large + 3 * 0.113 + 10 * t2_micro), rel=1e-3
    )
    assert more["utilization_pct"] == 0.0  # the m4 RI has nothing left to cover
    assert base["utilization_pct"] == 100.0


# ---------------------------------------------------------------- bad input


def _one_line_error(result: CliResult, *fragments: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.startswith("commitopt: error")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def _move(to: str, share: float, start: str, end: str) -> str:
    """A scenario file with one m4 migration."""
    return (
        f"transforms:\n  - migration: {{from: {{family: m4}}, to: {{family: {to}}}, "
        f"share: {share}, start: {start}, end: {end}}}\n"
    )


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("transforms:\n  - grwoth: {percent_per_month: 1}\n",
         ["unknown field 'grwoth' in", "bad.yaml transform 1; did you mean 'growth'?"]),
        ("transforms:\n  - growth: {percent_per_month: 1, strat: 2024-03-05}\n",
         ["unknown field 'strat'", "(growth)", "did you mean 'start'?"]),
        ("naem: x\n", ["unknown field 'naem'", "did you mean 'name'?"]),
        ("transforms:\n  - exit: {where: {family: r4}, at: 2024-03-05}\n",
         ["family 'r4' is absent from the usage (families there: c4, m4)", "(exit.where.family)"]),
        ("transforms:\n  - exit: {where: {family: m44}, at: 2024-03-05}\n",
         ["family 'm44' is absent from the usage"]),
        ("transforms:\n  - exit: {where: {family: 'm4.large'}, at: 2024-03-05}\n",
         ["'m4.large' is not an instance family"]),
        (_move("m6g", 0.5, "2024-03-02", "2024-03-09"),
         ["family 'm6g' is unknown: neither the price catalog nor the usage",
          "(migration.to.family)"]),
        ("transforms:\n  - exit: {where: {platform: macos}, at: 2024-03-05}\n",
         ["unknown platform 'macos'"]),
        ("transforms:\n  - exit: {where: {region: eu-west-9}, at: 2024-03-05}\n",
         ["unknown region 'eu-west-9'"]),
        ("transforms:\n  - exit: {where: {region: eu-west-2}, at: 2024-03-05}\n",
         ["region 'eu-west-2' is absent from the usage (regions there: eu-west-1, us-east-1)"]),
        (_move("c4", 0.5, "2024-03-09", "2024-03-02"),
         ["the ramp ends", "before it starts", "(migration.end)"]),
        (_move("c4", -0.1, "2024-03-02", "2024-03-09"),
         ["share -0.1 is outside [0, 1]", "(migration.share)"]),
        (_move("c4", 0.5, "2024-03-02", "next week"),
         ["malformed date 'next week'", "(migration.end)"]),
        ("", ["bad.yaml is empty"]),
        ("transforms:\n  - growth: {percent_per_month: [1\n", ["bad.yaml is not valid YAML (line"]),
        ("name: baseline\n", ["'baseline' is taken"]),
        ("transforms:\n  - new_workload: {instance_type: m5.large, region: us-east-1, "
         "count_per_hour: 2}\n", ["no on-demand price for the added usage of us-east-1 m5.large",
                                  "transform 1"]),
        ("transforms:\n  - price_change: {factor: 0.9, where: {family: m5}}\n",
         ["family 'm5' is absent from the price catalog", "(price_change.where.family)"]),
        ("transforms:\n  - price_change: {factor: -1}\n", ["factor -1 is not above zero"]),
    ],
)  # fmt: skip
def test_bad_scenarios_are_exit_2_with_one_line(
    run_cli: RunCli, files: tuple[Path, Path], tmp_path: Path, text: str, fragments: list[str]
) -> None:
    bad = _scenario(tmp_path, "bad.yaml", text)
    line = _one_line_error(_run(run_cli, files, "--scenario", str(bad)), *fragments)
    assert "bad.yaml" in line


def test_missing_scenario_file(run_cli: RunCli, files: tuple[Path, Path], tmp_path: Path) -> None:
    result = _run(run_cli, files, "--scenario", str(tmp_path / "nope.yaml"))
    _one_line_error(result, "scenario file", "nope.yaml not found")


def test_two_scenarios_with_one_name(
    run_cli: RunCli, files: tuple[Path, Path], tmp_path: Path
) -> None:
    first = _scenario(tmp_path, "a.yaml", "name: same\n")
    second = _scenario(tmp_path, "b.json", '{"name": "same"}')
    result = _run(run_cli, files, "--scenario", str(first), "--scenario", str(second))
    _one_line_error(result, "two scenarios are named 'same'", "a.yaml", "b.json")


def test_a_bad_second_scenario_prints_nothing(
    run_cli: RunCli, files: tuple[Path, Path], tmp_path: Path
) -> None:
    good = _scenario(tmp_path, "good.yaml", "transforms:\n  - growth: {percent_per_month: 1}\n")
    bad = _scenario(
        tmp_path, "late.yaml", "transforms:\n  - exit: {where: {account: '999'}, at: 2024-03-02}\n"
    )
    result = _run(run_cli, files, "--scenario", str(good), "--scenario", str(bad))
    _one_line_error(result, "account '999' is absent from the usage", "late.yaml transform 1")
