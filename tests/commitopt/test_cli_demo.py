"""commitopt demo: the README's main job, offline, writes the report and prints its figures."""

from __future__ import annotations

import json
from pathlib import Path

from tests.commitopt.conftest import RunCli


def test_demo_writes_the_report_and_consistent_figures(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("demo", "--paths", "20", "--format", "json", "--out", "demo.html")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    report = tmp_path / "demo.html"
    assert summary["report_path"] == "demo.html" and report.is_file()
    html = report.read_text(encoding="utf-8")
    assert "<svg" in html and "http://" not in html.replace("http://www.w3.org", "")
    assert summary["purchase_count"] > 0
    saved = summary["on_demand_cost_usd"] - summary["planned_cost_usd"]
    assert abs(saved - summary["savings_vs_on_demand_usd"]) < 0.02
    low, mid, high = (summary[f"{q}_savings_vs_current_usd"] for q in ("p5", "p50", "p95"))
    assert 0 < low <= mid <= high
    assert summary["horizon_hours"] == 8760
    # the demo's figures are the recommendation's own
    recommended = run_cli("recommend", "--demo", "--format", "json")
    assert (
        json.loads(recommended.stdout)["summary"]["savings_vs_on_demand_usd"]
        == summary["savings_vs_on_demand_usd"]
    )


def test_demo_bad_out_exits_2(run_cli: RunCli) -> None:
    missing = run_cli("demo", "--out", "no/such/folder/demo.html")
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    wrong = run_cli("demo", "--out", "demo.pdf")
    assert wrong.exit_code == 2 and "name an .html file" in wrong.stderr
    negative = run_cli("demo", "--paths", "-3")
    assert negative.exit_code == 2 and "--paths must be 0 or more" in negative.stderr
