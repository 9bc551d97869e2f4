"""``commitopt recommend`` end to end: closed-form case, JSON round trip, policies, bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from commitopt.plans import load_plan
from commitopt.workspace import Workspace
from pricing.embedded import load_embedded_catalog
from tests.commitopt.conftest import RunCli
from tests.commitopt.identities import as_os_user, isolated_aws  # noqa: F401 (a fixture)

HOURS = 24 * 14
M4_LARGE_OD = 0.1  # us-east-1 Linux, embedded 2017 snapshot


@pytest.fixture
def flat_usage(tmp_path: Path) -> Path:
    """m4.large: 10 instances for 60 % of the hours, 4 for the rest (a two-level duration curve)."""
    hours = pd.date_range("2024-03-01", periods=HOURS, freq="h", tz="UTC")
    quantity = np.where(np.arange(HOURS) % 10 < 6, 10.0, 4.0)
    usage = pd.DataFrame(
        {
            "hour": hours,
            "account_id": "111111111111",
            "region": "us-east-1",
            "instance_type": "m4.large",
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "quantity": quantity,
        }
    )
    path = tmp_path / "usage.csv"
    usage.to_csv(path, index=False)
    return path


def _recommend(run_cli: RunCli, usage: Path, *args: str) -> dict:
    result = run_cli("recommend", "--usage", str(usage), "--lookback", "14d", "--format",
                     "json", *args)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_ri_only_buys_the_duration_curve_quantile(run_cli: RunCli, flat_usage: Path) -> None:
    # Closed form: the k-th RI instance pays while the share of hours that use it exceeds its
    # effective rate ÷ on-demand rate r. Instances 1-4 are used every hour, 5-10 in 60 % of them.
    key = pd.DataFrame({"region": ["us-east-1"], "instance_type": ["m4.large"],
                        "platform": ["Linux/UNIX"], "tenancy": ["Shared"]})  # fmt: skip
    catalog = load_embedded_catalog()
    effective = catalog.reserved_rates(key, "standard", 1, "No Upfront")[0]
    ratio = effective / catalog.on_demand_rates(key)[0]
    assert ratio == pytest.approx(0.62)  # just above 0.6: the upper level does not pay
    expected_instances = 10 if ratio < 0.6 else 4
    plan = _recommend(run_cli, flat_usage, "--instruments", "ri")
    ris = [p for p in plan["purchases"] if p["kind"] == "reserved_instance"]
    assert sum(p["normalized_units"] for p in ris) == pytest.approx(expected_instances * 4)


def test_portfolio_json_round_trips_through_simulate(
    run_cli: RunCli, flat_usage: Path, tmp_path: Path
) -> None:
    out = tmp_path / "plan.json"
    plan = _recommend(run_cli, flat_usage, "--out", str(out))
    assert json.loads(out.read_text()) == plan
    summary = plan["summary"]
    assert summary["planned_cost_usd"] <= summary["current_cost_usd"] + 1e-6
    billed = run_cli("simulate", "--usage", str(flat_usage), "--portfolio", str(out),
                     "--format", "json")  # fmt: skip
    assert billed.exit_code == 0, billed.stderr
    totals = json.loads(billed.stdout)
    assert totals["actual_cost_usd"] == pytest.approx(summary["planned_cost_usd"], abs=0.01)


def test_table_output_explains(run_cli: RunCli, flat_usage: Path) -> None:
    result = run_cli("recommend", "--usage", str(flat_usage), "--lookback", "14d", "--explain")
    assert result.exit_code == 0, result.stderr
    assert "Purchases" in result.stdout and "Why" in result.stdout


def test_demo_runs(run_cli: RunCli) -> None:
    result = run_cli("recommend", "--demo", "--lookback", "7d", "--format", "json")
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["purchases"]
    assert plan["summary"]["savings_vs_on_demand_usd"] > 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--exact", "--integer"), "--exact and --integer"),
        (("--lookback", "soon"), "--lookback"),
        (("--instruments", "spot"), "--instruments"),
        (("--term", "2"), "--term"),
        (("--payment", "later"), "--payment"),
        (("--target-coverage", "120"), "--target-coverage"),
        (("--custom-commitment", "ri=3"), "--custom-commitment"),
        (("--gap", "0"), "--gap"),
        (("--export-model", "model.txt"), "model.txt"),
    ],
)
def test_bad_options_exit_2(
    run_cli: RunCli, flat_usage: Path, args: tuple[str, ...], expected: str
) -> None:
    result = run_cli("recommend", "--usage", str(flat_usage), *args)
    assert result.exit_code == 2, result.stdout
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_infeasible_policy_names_the_binding_limit(run_cli: RunCli, flat_usage: Path) -> None:
    result = run_cli("recommend", "--usage", str(flat_usage), "--target-coverage", "95",
                     "--max-hourly-commitment", "0.01")  # fmt: skip
    assert result.exit_code == 2
    assert "hourly" in result.stderr.lower() and "Traceback" not in result.stderr


def test_key_without_price_is_named(run_cli: RunCli, tmp_path: Path) -> None:
    usage = pd.DataFrame(
        {"hour": pd.date_range("2024-03-01", periods=24, freq="h", tz="UTC"),
         "account_id": "1", "region": "us-east-1", "instance_type": "m7i.large",
         "platform": "Linux/UNIX", "tenancy": "Shared", "quantity": 1.0}
    )  # fmt: skip
    path = tmp_path / "new.csv"
    usage.to_csv(path, index=False)
    result = run_cli("recommend", "--usage", str(path))
    assert result.exit_code == 2
    assert "m7i.large" in result.stderr and "pricing" in result.stderr


def test_all_zero_lookback_is_named(run_cli: RunCli, tmp_path: Path) -> None:
    usage = pd.DataFrame(
        {"hour": pd.date_range("2024-03-01", periods=24, freq="h", tz="UTC"),
         "account_id": "1", "region": "us-east-1", "instance_type": "m4.large",
         "platform": "Linux/UNIX", "tenancy": "Shared", "quantity": 0.0}
    )  # fmt: skip
    path = tmp_path / "idle.csv"
    usage.to_csv(path, index=False)
    result = run_cli("recommend", "--usage", str(path))
    assert result.exit_code == 2
    assert "lookback has no usage" in result.stderr and "Traceback" not in result.stderr


def test_solver_choice_and_export(run_cli: RunCli, flat_usage: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.mps"
    plan = _recommend(run_cli, flat_usage, "--solver", "glop", "--export-model", str(model))
    assert plan["summary"]["optimizer"]["solver"] == "glop"
    assert "ROWS" in model.read_text()


@pytest.mark.usefixtures("isolated_aws")
def test_save_stores_a_proposed_plan_to_approve(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_os_user(monkeypatch, "planner")
    saved = run_cli(
        "recommend", "--demo", "--save", "--format", "json", "--term", "1,3", "--max-upfront", "900"
    )
    assert saved.exit_code == 0, saved.stderr
    payload = json.loads(saved.stdout)
    assert "saved as plan plan-" in saved.stderr
    plan_id = saved.stderr.split("saved as plan ")[1].split(" ")[0]
    with Workspace.open(tmp_path / "commitopt.duckdb", read_only=True) as store:
        plan = load_plan(store, plan_id)
        assert store.runs()["kind"].tolist() == ["recommend"]
    assert plan.document["source"] == "recommend"
    assert [p["id"] for p in plan.document["purchases"]] == [p["id"] for p in payload["purchases"]]
    assert plan.document["inputs"]["usage"].startswith("sha256:")
    assert plan.document["inputs"]["catalog"] and "inventory" in plan.document["inputs"]
    # its policy, as given, and who saved it
    policy = plan.document["policy"]
    assert policy["terms_years"] == [1, 3] and policy["max_upfront_usd"] == 900.0
    assert plan.created_by is not None and plan.created_by.principal == "planner"
    # its report, whose header names the plan and the hash approvals bind to
    listed = json.loads(run_cli("plans", "--format", "json").stdout)
    assert [p["plan_id"] for p in listed] == [plan_id]
    assert plan.report is not None and plan.intact
    assert f"plan {plan_id}".encode() in plan.report
    assert b"Plan SHA-256" in plan.report and listed[0]["sha256"].encode() in plan.report
    assert plan.recorded_report_sha256 == hashlib.sha256(plan.report).hexdigest()
    shown = json.loads(run_cli("plans", "show", plan_id, "--format", "json").stdout)
    assert shown["run_id"] == plan.run_id and shown["policy"] == policy
    assert shown["report_sha256"] == plan.recorded_report_sha256
    own = run_cli("approve", plan_id)
    assert own.exit_code == 2 and "may not approve it too" in own.stderr
    as_os_user(monkeypatch, "ann")
    approved = run_cli("approve", plan_id)
    assert approved.exit_code == 0, approved.stderr


PLANNED_EXIT = """name: retire-m4
transforms:
  - exit:
      where: {family: m4}
      at: %s
"""


def test_plans_apply_known_changes_to_the_futures(
    run_cli: RunCli, flat_usage: Path, tmp_path: Path
) -> None:
    plain = _recommend(run_cli, flat_usage)
    assert plain["purchases"]  # the fleet pays for commitments
    plan = tmp_path / "retire.yaml"
    plan.write_text(PLANNED_EXIT % "2024-04-01")  # two weeks after the lookback ends
    planned = _recommend(run_cli, flat_usage, "--plans", str(plan))
    assert planned["purchases"] == []  # a year's commitment for two weeks of usage loses
    decided = planned["summary"]["decided_on"]
    assert decided["basis"] == "forecast"
    assert decided["known_changes"]["plan"].endswith("retire.yaml")
    assert decided["known_changes"]["transforms"] == 1
    assert decided["known_changes"]["skipped"] == []
    shown = run_cli("recommend", "--usage", str(flat_usage), "--lookback", "14d", "--plans",
                    str(plan))  # fmt: skip
    assert shown.exit_code == 0, shown.stderr
    assert "Known changes applied to every future:" in shown.stdout
    # the path is as long as the test's temporary folder, so the line may wrap anywhere
    assert "retire.yaml(1transform(s))." in "".join(shown.stdout.split())


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        (PLANNED_EXIT % "2024-04-01", ("--decide-on", "lookback"), "cannot be combined with"),
        (PLANNED_EXIT.replace("m4", "r4") % "2024-04-01", (), "family 'r4' is absent"),
        (
            "name: cut\ntransforms:\n  - price_change: {factor: 0.9}\n",
            (),
            "price change cannot be planned",
        ),
    ],
)
def test_plans_the_decision_cannot_take_are_one_line(
    run_cli: RunCli,
    flat_usage: Path,
    tmp_path: Path,
    text: str,
    args: tuple[str, ...],
    message: str,
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(text)
    result = run_cli(
        "recommend", "--usage", str(flat_usage), "--lookback", "14d", "--plans", str(plan), *args
    )
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
