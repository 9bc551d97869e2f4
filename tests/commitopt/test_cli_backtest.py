"""``commitopt backtest`` end to end on a flat fleet, and its one-line errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from tests.commitopt.conftest import RunCli

HOURS = 24 * 70  # 2024-01-01 to 2024-03-11
M4_LARGE_OD = 0.1  # us-east-1 Linux/UNIX on-demand, embedded 2017 snapshot [USD/h]


@pytest.fixture
def usage_file(tmp_path: Path) -> Path:
    usage = pd.DataFrame(
        {
            "hour": pd.date_range("2024-01-01", periods=HOURS, freq="h", tz="UTC"),
            "account_id": "111111111111",
            "region": "us-east-1",
            "instance_type": "m4.large",
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "quantity": 10.0,
        }
    )
    path = tmp_path / "usage.csv"
    usage.to_csv(path, index=False)
    return path


def test_json_rows_with_the_hindsight(run_cli: RunCli, usage_file: Path) -> None:
    result = run_cli(
        "backtest", "--usage", str(usage_file), "--policy", "none,knee", "--policy", "ours-oneshot",
        "--from", "2024-02-01", "--to", "2024-03-01", "--lookback", "30d", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    rows = {row["policy"]: row for row in payload["results"]}
    assert list(rows) == ["none", "knee", "ours-oneshot", "hindsight", "hindsight-oneshot"]
    on_demand = 10 * M4_LARGE_OD * 24 * 29
    assert rows["none"]["actual_cost_usd"] == pytest.approx(on_demand)
    assert rows["none"]["captured_pct"] == pytest.approx(0.0)
    # a flat fleet: the one-shot recommendation is the hindsight optimum (10 RIs / EC2 SP, 38 %)
    assert rows["hindsight"]["savings_vs_on_demand_usd"] == pytest.approx(
        on_demand * 0.38, rel=1e-3
    )
    # the one-shot decides on futures where this one-family fleet may move to c5 or retire: the
    # worst of them weigh in (the risk term, --risk-weight in recommend), and a Compute SP keeps
    # a move from idling the cover, at its premium (a review sees the whole catalog, c5 too)
    assert 80.0 < rows["ours-oneshot"]["captured_pct"] < rows["hindsight"]["captured_pct"]
    (ours,) = [e["purchases"] for e in payload["purchases"] if e["policy"] == "ours-oneshot"]
    bought = {purchase["kind"] for purchase in ours}
    assert "compute_savings_plan" in bought
    # captured is of the certified bound: the hindsight is within its gap of it
    bound = payload["ceiling_savings_usd"]
    assert rows["hindsight"]["ceiling_savings_usd"] == pytest.approx(bound)
    assert rows["hindsight"]["savings_vs_on_demand_usd"] <= bound
    assert rows["hindsight"]["captured_pct"] == pytest.approx(100 - payload["ceiling_gap_pct"])
    assert payload["oneshot_ceiling_savings_usd"] <= bound + 1e-9
    assert 0 < rows["knee"]["captured_pct"] < 100
    assert payload["review_dates"] == ["2024-02-01T00:00:00+00:00"]
    assert payload["status"] == "ok"
    assert {entry["policy"] for entry in payload["purchases"]} == {
        "none",
        "knee",
        "ours-oneshot",
        "hindsight",
        "hindsight-oneshot",
    }


def test_the_risk_weight_reaches_the_ours_policies(run_cli: RunCli, usage_file: Path) -> None:
    """With --risk-weight 0 the one-shot decides on expected savings alone: on the flat fleet it
    buys no hedge and reaches the hindsight optimum (it hedged with the default above)."""
    result = run_cli(
        "backtest", "--usage", str(usage_file), "--policy", "ours-oneshot", "--from",
        "2024-02-01", "--to", "2024-03-01", "--lookback", "30d", "--risk-weight", "0",
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    rows = {row["policy"]: row for row in payload["results"]}
    # of the certified bound, which fractional RIs of the cheapest size per unit would reach
    assert rows["ours-oneshot"]["captured_pct"] == pytest.approx(
        rows["hindsight"]["captured_pct"], abs=0.1
    )
    (ours,) = [e["purchases"] for e in payload["purchases"] if e["policy"] == "ours-oneshot"]
    assert "compute_savings_plan" not in {purchase["kind"] for purchase in ours}
    refused = run_cli("backtest", "--usage", str(usage_file), "--risk-level", "1")
    assert refused.exit_code == 2
    assert "--risk-level" in refused.stderr


def test_csv_and_table_default_window(run_cli: RunCli, usage_file: Path) -> None:
    result = run_cli(
        "backtest", "--usage", str(usage_file), "--policy", "none", "--lookback", "30d",
        "--format", "csv",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(io.StringIO(result.stdout))
    assert list(table["policy"]) == ["none", "hindsight", "hindsight-oneshot"]
    # default window: the first month start with 30 days before it, to the end of the data
    hours = 24 * (29 + 10)  # 2024-02-01 to 2024-03-11
    assert table["on_demand_cost_usd"].iloc[0] == pytest.approx(10 * M4_LARGE_OD * hours)
    shown = run_cli("backtest", "--usage", str(usage_file), "--policy", "none", "--lookback", "30d")
    assert shown.exit_code == 0, shown.stderr
    assert "hindsight" in shown.stdout and "Backtest 2024-02-01 to 2024-03-11" in shown.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2024-03-01", "--to", "2024-02-01"), "is not before --to"),
        (("--from", "2024-02-01", "--to", "2024-05-01"), "longer than the data"),
        (("--from", "2024-01-15", "--to", "2024-03-01"), "before the data's start"),
        (("--policy", "ce-90d"), "unknown policy 'ce-90d'"),
        (("--review-every", "monthly"), "--review-every 'monthly' is not a calendar step"),
        (("--review-every", "720h"), "is not a calendar step"),
        (("--lookback", "soon"), "is not a duration"),
        (("--ladder-fraction", "0"), "must be in (0, 1]"),
        (("--policy", "ours-ladder+plans"), "needs the plans it knows in advance"),
        (("--plans", "missing.yaml"), "missing.yaml"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    run_cli: RunCli, usage_file: Path, args: tuple[str, ...], message: str
) -> None:
    result = run_cli("backtest", "--usage", str(usage_file), "--lookback", "30d", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("commitopt: error")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""


PLAN_YAML = """\
name: move to c5
description: the m4 fleet moves to c5 in the second week of February
transforms:
  - migration:
      from: {family: %s}
      to: {family: c5}
      share: 1
      start: 2024-02-05
      end: 2024-02-12
"""


def migrating_usage(path: Path) -> Path:
    """Ten m4.large until 2024-02-05, then moving to c5.large over a week (units kept)."""
    hours = pd.date_range("2024-01-01", periods=HOURS, freq="h", tz="UTC")
    share = ((hours - pd.Timestamp("2024-02-05", tz="UTC")) / pd.Timedelta(days=7)).to_numpy()
    moved = (10 * share.clip(0, 1)).round()
    key = {"account_id": "111111111111", "region": "us-east-1", "platform": "Linux/UNIX",
           "tenancy": "Shared"}  # fmt: skip
    frames = [
        pd.DataFrame({"hour": hours, "instance_type": kind, "quantity": count, **key})
        for kind, count in (("m4.large", 10 - moved), ("c5.large", moved))
    ]
    pd.concat(frames).to_csv(path, index=False)
    return path


def plan_file(folder: Path, family: str) -> Path:
    """PLAN_YAML moving ``family`` to c5, written to ``folder``."""
    path = folder / "plan.yaml"
    path.write_text(PLAN_YAML % family)
    return path


def test_plans_add_the_planned_ladder_which_sees_the_migration_coming(
    run_cli: RunCli, tmp_path: Path
) -> None:
    usage = migrating_usage(tmp_path / "usage.csv")
    plan = plan_file(tmp_path, "m4")
    result = run_cli(
        "backtest", "--usage", str(usage), "--plans", str(plan), "--from", "2024-02-01",
        "--to", "2024-03-01", "--lookback", "30d", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    rows = {row["policy"]: row for row in payload["results"]}
    assert list(rows)[-4:] == [
        "ours-ladder", "ours-ladder+plans", "hindsight", "hindsight-oneshot",
    ]  # fmt: skip
    # the 30 days before February show a steady m4 fleet: the plain ladder covers it with m4
    # commitments that go idle a week later (and a Compute SP hedge, "" here); the planned one
    # plans its year on c5 (this one-month window then bills its first, migrating week on demand)
    families = {
        name: {p.get("instance_family") or p.get("instance_type", "").split(".")[0]
               for p in purchases}
        for name, purchases in ((e["policy"], e["purchases"]) for e in payload["purchases"])
    }  # fmt: skip
    assert families["ours-ladder"] <= {"m4", ""} and "m4" in families["ours-ladder"]
    # (its Compute SP hedge keeps covering the fleet once it is c5, so in this one-month window
    # it may save more than the planned ladder, whose first week runs on demand)
    assert (
        rows["ours-ladder"]["savings_vs_on_demand_usd"]
        <= rows["hindsight"]["savings_vs_on_demand_usd"]
    )
    assert families["ours-ladder+plans"] == {"c5"}
    assert (
        0
        < rows["ours-ladder+plans"]["savings_vs_on_demand_usd"]
        <= rows["hindsight"]["savings_vs_on_demand_usd"]
    )


def test_plans_naming_usage_that_never_occurs_are_one_line(run_cli: RunCli, tmp_path: Path) -> None:
    usage = migrating_usage(tmp_path / "usage.csv")
    plan = plan_file(tmp_path, "r4")
    result = run_cli("backtest", "--usage", str(usage), "--plans", str(plan), "--lookback", "30d")
    assert result.exit_code == 2
    assert "family 'r4' is absent" in result.stderr and "plan.yaml" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_a_workspace_backtest_reads_only_its_period_as_a_matrix(
    run_cli: RunCli, usage_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the first review's lookback to the window's end, straight into a matrix (never the whole
    # table), padded to whole days; the figures equal a backtest of the same file
    from commitopt.workspace import Workspace
    from core.times import as_utc

    workspace = tmp_path / "ws.duckdb"
    imported = run_cli("usage", "import", str(usage_file), "--workspace", str(workspace))
    assert imported.exit_code == 0, imported.stderr
    window = ("--from", "2024-02-01", "--to", "2024-03-01", "--lookback", "30d")
    policies = ("--policy", "none,knee,ours-oneshot", "--format", "json")
    from_file = run_cli("backtest", "--usage", str(usage_file), *window, *policies)
    assert from_file.exit_code == 0, from_file.stderr

    def whole_table(*_: object, **__: object) -> pd.DataFrame:
        raise AssertionError("backtest read the whole usage table")

    reads: list[tuple[object, object]] = []
    load_matrix = Workspace.load_usage_matrix

    def recorded(self: Workspace, start: object = None, end: object = None, **kw: object) -> object:
        reads.append((start, end))
        return load_matrix(self, start, end, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Workspace, "load_usage", whole_table)
    monkeypatch.setattr(Workspace, "load_usage_matrix", recorded)
    from_workspace = run_cli("backtest", "--workspace", str(workspace), *window, *policies)
    assert from_workspace.exit_code == 0, from_workspace.stderr
    ((start, end),) = reads
    assert as_utc(pd.Timestamp(start)) == pd.Timestamp("2024-01-02", tz="UTC")  # naive: UTC
    assert as_utc(pd.Timestamp(end)) == pd.Timestamp("2024-03-01", tz="UTC")
    rows = {r["policy"]: r for r in json.loads(from_workspace.stdout)["results"]}
    expected = {r["policy"]: r for r in json.loads(from_file.stdout)["results"]}
    assert rows.keys() == expected.keys()
    for name, row in rows.items():
        assert row["actual_cost_usd"] == pytest.approx(expected[name]["actual_cost_usd"]), name
