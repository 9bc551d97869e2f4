"""The installed ``commitopt recommend`` shows what a family moved at the start would cost."""

from __future__ import annotations

import json

from tests.cli.conftest import Sandbox, require_success
from tests.planning.test_ri_sizes import _usage


def test_recommend_shows_the_stress_of_its_largest_family(empty_sandbox: Sandbox) -> None:
    path = empty_sandbox.folder / "usage.csv"
    _usage({"m4.xlarge": 10, "c4.large": 4}).to_csv(path, index=False)
    common = ("recommend", "--usage", str(path), "--lookback", "30d", "--instruments", "ri")
    payload = json.loads(require_success(empty_sandbox.run(*common, "--format", "json")).stdout)
    stress = payload["summary"]["stress"]
    assert [row["family"] for row in stress] == ["m4", "c4"]  # the larger cover first
    m4 = stress[0]
    assert m4["moved_to"] == "c5"
    # RIs only: the m4 RIs idle when the fleet moves, and cost more than the c4 RIs save
    assert m4["savings_if_moved_usd"] < 0 < payload["summary"]["savings_vs_current_usd"]
    assert m4["savings_if_retired_usd"] == m4["savings_if_moved_usd"]
    assert m4["family_specific_cost_usd"] > 0
    text = require_success(empty_sandbox.run(*common)).stdout
    assert "If a family moved or was retired" in text
    assert "If the m4 fleets moved to c5 as the purchases start, the purchases would lose" in text


def test_stress_counts_the_families_asked_for(empty_sandbox: Sandbox) -> None:
    path = empty_sandbox.folder / "usage.csv"
    _usage({"m4.xlarge": 10, "c4.large": 4}).to_csv(path, index=False)
    common = ("recommend", "--usage", str(path), "--lookback", "30d", "--instruments", "ri")
    for count, families in (("0", []), ("1", ["m4"])):
        run = require_success(empty_sandbox.run(*common, "--stress", count, "--format", "json"))
        assert [row["family"] for row in json.loads(run.stdout)["summary"]["stress"]] == families
    text = require_success(empty_sandbox.run(*common, "--stress", "0")).stdout
    assert "If a family moved" not in text


def test_the_report_of_a_stored_plan_names_the_worst_move(empty_sandbox: Sandbox) -> None:
    path = empty_sandbox.folder / "usage.csv"
    plan = empty_sandbox.folder / "plan.json"
    report = empty_sandbox.folder / "report.md"
    _usage({"m4.xlarge": 10, "c4.large": 4}).to_csv(path, index=False)
    common = ("--usage", str(path), "--lookback", "30d")
    require_success(
        empty_sandbox.run("recommend", *common, "--instruments", "ri", "--out", str(plan))
    )
    require_success(
        empty_sandbox.run("report", str(plan), *common, "--no-frontier", "--out", str(report))
    )
    assert "If the m4 fleets moved to c5 as the purchases start" in report.read_text()
