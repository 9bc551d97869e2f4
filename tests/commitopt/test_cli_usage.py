"""``commitopt usage import`` / ``summary`` end to end, on synthetic and real CUR usage."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from commitopt.workspace import Workspace
from tests.commitopt.conftest import RunCli
from usage.synthetic import demo_usage

REAL_CUR = Path(__file__).parents[1] / "data/cur/wal_Oct2018-WorkshopCUR-ec2-trimmed.zstd.parquet"


@pytest.fixture
def demo_csv(tmp_path: Path) -> Path:
    path = tmp_path / "demo.csv"
    demo_usage(seed=5, hours=240).to_csv(path, index=False)
    return path


def _stored(tmp_path: Path) -> pd.DataFrame:
    with Workspace.open(tmp_path / "ws.duckdb", read_only=True) as store:
        return store.load_usage()


def test_import_then_reimport_replaces(run_cli: RunCli, demo_csv: Path, tmp_path: Path) -> None:
    args = ("usage", "import", str(demo_csv), "--workspace", str(tmp_path / "ws.duckdb"))
    first = run_cli(*args, "--format", "json")
    assert first.exit_code == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["input_format"] == "canonical" and report["usage_row_count"] > 0
    total = _stored(tmp_path)["quantity"].sum()
    assert total == pytest.approx(pd.read_csv(demo_csv)["quantity"].sum())
    again = run_cli(*args, "--format", "json")
    assert again.exit_code == 0, again.stderr
    assert _stored(tmp_path)["quantity"].sum() == pytest.approx(total)  # replaced, not added


def test_summary_matches_an_independent_computation(
    run_cli: RunCli, demo_csv: Path, tmp_path: Path
) -> None:
    run_cli("usage", "import", str(demo_csv), "--workspace", str(tmp_path / "ws.duckdb"))
    result = run_cli(
        "usage", "summary", "--workspace", str(tmp_path / "ws.duckdb"), "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    usage = pd.read_csv(demo_csv)
    hours = pd.date_range(usage["hour"].min(), usage["hour"].max(), freq="h")
    top = rows[0]
    series = (
        usage.loc[
            (usage["account_id"].astype(str) == top["account_id"])
            & (usage["region"] == top["region"])
            & (usage["instance_type"] == top["instance_type"])
            & (usage["platform"] == top["platform"])
        ]
        .assign(hour=lambda f: pd.to_datetime(f["hour"]))
        .set_index("hour")["quantity"]
        .reindex(pd.to_datetime(hours), fill_value=0.0)
    )
    assert top["period_hours"] == len(hours)
    assert top["instance_hours"] == pytest.approx(series.sum())
    assert top["p90_instances"] == pytest.approx(np.percentile(series, 90))
    assert top["min_instances"] == series.min() and top["max_instances"] == series.max()
    assert top["on_demand_cost_usd"] == pytest.approx(series.sum() * top["on_demand_usd_per_hour"])
    costs = [r["on_demand_cost_usd"] for r in rows]
    assert costs == sorted(costs, reverse=True)


def test_summary_reads_files_directly(run_cli: RunCli) -> None:
    result = run_cli("usage", "summary", "--usage", str(REAL_CUR), "--format", "csv")
    assert result.exit_code == 0, result.stderr
    summary = pd.read_csv(io.StringIO(result.stdout), dtype={"account_id": str})
    assert set(summary["region"]) == {"us-east-1", "eu-west-2"}
    c5 = summary[summary["instance_type"] == "c5.large"]
    assert len(c5) >= 1 and (c5["on_demand_usd_per_hour"] == 0.085).all()


def test_bad_usage_file_leaves_the_workspace_unchanged(
    run_cli: RunCli, demo_csv: Path, tmp_path: Path
) -> None:
    workspace = str(tmp_path / "ws.duckdb")
    run_cli("usage", "import", str(demo_csv), "--workspace", workspace)
    before = _stored(tmp_path)
    bad = tmp_path / "bad.csv"
    frame = pd.read_csv(demo_csv)
    frame.loc[3, "quantity"] = -1
    frame.to_csv(bad, index=False)
    result = run_cli("usage", "import", str(bad), "--input-format", "csv", "--workspace", workspace)
    assert result.exit_code == 2
    assert "quantity" in result.stderr and "Traceback" not in result.stderr
    pd.testing.assert_frame_equal(_stored(tmp_path), before)


def test_summary_without_usage_is_a_clear_error(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("usage", "summary", "--workspace", str(tmp_path / "empty.duckdb"))
    assert result.exit_code == 2
    assert "usage import" in result.stderr


def test_help_has_examples(run_cli: RunCli) -> None:
    for command in ("import", "import-ce", "import-athena", "summary"):
        result = run_cli("usage", command, "-h")
        assert result.exit_code == 0 and "Examples:" in result.stdout
