"""commitopt review: a plan stored as proposed with fingerprints and report, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from commitopt.cli import cli
from commitopt.cli.errors import run_with_exit_codes
from commitopt.plans import list_plans
from commitopt.workspace import Workspace
from tests.commitopt.identities import as_os_user, isolated_aws
from usage.synthetic import steady_daily_cycle

__all__ = ["isolated_aws"]
pytestmark = pytest.mark.usefixtures("isolated_aws")

FAST = ["--paths", "20", "--horizon", "60d", "--lookback", "21d"]


def steady_csv(folder: Path, **kwargs: object) -> Path:
    frame = steady_daily_cycle(hours=24 * 28, base_instances=12.0, **kwargs)  # type: ignore[arg-type]
    path = folder / "usage.csv"
    frame.to_csv(path, index=False)
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    with CliRunner().isolation() as (out, err, _):
        code = run_with_exit_codes(cli, list(args))
        return code, out.getvalue().decode(), err.getvalue().decode()


def test_review_imports_recommends_and_stores_a_proposed_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_os_user(monkeypatch, "planner")
    usage = steady_csv(tmp_path)
    workspace = tmp_path / "ws.duckdb"
    report = tmp_path / "review.html"
    code, out, err = invoke(
        "review", "--workspace", str(workspace), "--usage", str(usage), *FAST,
        "--report-out", str(report), "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["status"] == "proposed" and summary["purchase_count"] >= 1
    low, mid, high = (summary[f"{q}_savings_vs_current_usd"] for q in ("p5", "p50", "p95"))
    assert low <= mid <= high and mid > 0
    assert "recommending over a 21-day lookback" in err and "stored plan" in err
    with Workspace.open(workspace, read_only=True) as store:
        plans = list_plans(store)
        runs = store.runs()
    assert [plan.plan_id for plan in plans] == [summary["plan_id"]]
    plan = plans[0]
    document = json.loads(plan.plan_json)
    assert document["source"] == "review" and plan.run_id == int(runs["run_id"].iloc[-1])
    assert document["inputs"]["usage"].startswith("sha256:")
    assert document["inputs"]["usage_import"] >= 1
    assert plan.report is not None and plan.report == report.read_bytes()
    assert plan.report.startswith(b"<!DOCTYPE html>") or plan.report.lstrip().startswith(b"<")
    assert runs["kind"].tolist() == ["review"]
    # its evidence: the full policy, who ran it, and a report naming the plan and its hash
    assert document["policy"]["terms_years"] == [1] and "max_upfront_usd" in document["policy"]
    assert plan.created_by is not None and plan.created_by.principal == "planner"
    assert runs["actor"].iloc[-1]["principal"] == "planner"
    code, out, err = invoke("plans", "--workspace", str(workspace), "--format", "json")
    listed_sha256 = json.loads(out)[0]["sha256"]
    assert listed_sha256 == plan.stored_sha256 and len(listed_sha256) == 64
    assert f"plan {plan.plan_id}".encode() in plan.report
    assert b"Plan SHA-256" in plan.report and listed_sha256.encode() in plan.report
    # the plan can be approved like any other, by someone other than who ran the review
    code, _, err = invoke("approve", plan.plan_id, "--workspace", str(workspace))
    assert code == 2 and "may not approve it too" in err
    as_os_user(monkeypatch, "ann")
    code, _, err = invoke("approve", plan.plan_id, "--workspace", str(workspace))
    assert code == 0, err


def test_nothing_to_buy_exits_0_and_stores_no_plan(tmp_path: Path) -> None:
    hours = pd.date_range("2024-01-01", periods=24 * 28, freq="h", tz="UTC")
    rare = hours[np.arange(len(hours)) % 24 == 0]  # one hour a day: no commitment pays off
    frame = pd.DataFrame({"hour": rare, "account_id": "111111111111", "region": "us-east-1",
                          "instance_type": "m4.large", "platform": "Linux/UNIX",
                          "tenancy": "Shared", "quantity": 3.0})  # fmt: skip
    usage = tmp_path / "rare.csv"
    frame.to_csv(usage, index=False)
    workspace = tmp_path / "ws.duckdb"
    code, out, err = invoke("review", "--workspace", str(workspace), "--usage", str(usage),
                            *FAST, "--format", "json", "--quiet")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["plan_id"] is None
    assert json.loads(out)["status"] == "nothing to buy"
    assert "review:" not in err  # --quiet
    with Workspace.open(workspace, read_only=True) as store:
        assert list_plans(store) == ()
        assert store.runs()["kind"].tolist() == ["review"]


def test_a_failing_review_leaves_the_workspace_as_it_was(tmp_path: Path) -> None:
    workspace = tmp_path / "ws.duckdb"
    good = steady_csv(tmp_path)
    assert invoke("usage", "import", str(good), "--workspace", str(workspace))[0] == 0
    with Workspace.open(workspace, read_only=True) as store:
        before = store.load_usage()
    unpriced = tmp_path / "unpriced"
    unpriced.mkdir()
    bad = steady_csv(unpriced, instance_type="m5.large")  # the embedded 2017 catalog has no m5
    code, _, err = invoke("review", "--workspace", str(workspace), "--usage", str(bad), *FAST)
    assert code == 2
    lines = err.strip().splitlines()
    errors = [line for line in lines if "commitopt: error:" in line]
    assert len(errors) == 1 and "m5.large" in errors[0]
    assert all("commitopt:" in line for line in lines)  # notes and the error, no traceback
    with Workspace.open(workspace, read_only=True) as store:
        after = store.load_usage()
        assert list_plans(store) == () and store.runs().empty
    pd.testing.assert_frame_equal(before, after)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--paths", "-1"], "--paths must be 0 or more"),
        (["--horizon", "2d"], "under a week"),
        (["--report-out", "r.pdf"], "name a .html or .md file"),
        (["--term", "2"], "--term: unknown value 2"),
        (["--lookback", "soon"], "is not a duration"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    workspace = tmp_path / "ws.duckdb"
    code, _, err = invoke("review", "--workspace", str(workspace), *args)
    assert code == 2 and message in err
    assert not workspace.exists()  # refused before the workspace was opened


def test_empty_workspace_says_how_to_get_usage(tmp_path: Path) -> None:
    code, _, err = invoke("review", "--workspace", str(tmp_path / "ws.duckdb"), *FAST)
    assert code == 2 and "commitopt usage import" in err


def test_review_reads_only_its_lookback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 56 days in the workspace, the older 28 at three times the level; a 21-day review reads
    # the last 21 days straight into a matrix (never the whole table), and decides exactly as a
    # review of a workspace holding only those days
    as_os_user(monkeypatch, "planner")
    frame = steady_daily_cycle(hours=24 * 56, base_instances=12.0)
    hours = pd.to_datetime(frame["hour"], utc=True)
    frame.loc[hours < hours.min() + pd.Timedelta(days=28), "quantity"] *= 3
    first = hours.max() - pd.Timedelta(hours=21 * 24 - 1)
    whole, recent = tmp_path / "whole.csv", tmp_path / "recent.csv"
    frame.to_csv(whole, index=False)
    frame.loc[hours >= first].to_csv(recent, index=False)

    def whole_table(*_: object, **__: object) -> pd.DataFrame:
        raise AssertionError("review read the whole usage table")

    starts: list[pd.Timestamp] = []
    load_matrix = Workspace.load_usage_matrix

    def recorded(self: Workspace, start: object = None, **kwargs: object) -> object:
        starts.append(pd.Timestamp(start))  # type: ignore[arg-type]
        return load_matrix(self, start, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Workspace, "load_usage", whole_table)
    monkeypatch.setattr(Workspace, "load_usage_matrix", recorded)
    decided = []
    for name, path in (("whole", whole), ("recent", recent)):
        workspace = tmp_path / f"{name}.duckdb"
        code, _, err = invoke(
            "review", "--workspace", str(workspace), "--usage", str(path), *FAST,
            "--format", "json",
        )  # fmt: skip
        assert code == 0, err
        with Workspace.open(workspace, read_only=True) as store:
            (plan,) = list_plans(store)
        document = json.loads(plan.plan_json)
        bought = [
            (p["kind"], p.get("instance_type"), p.get("count"), p.get("commitment_usd_per_hour"))
            for p in document["purchases"]
        ]
        decided.append((document["inputs"]["usage"], bought))
    assert starts == [first, first]
    assert decided[0] == decided[1] and decided[0][1]


def _review_with_plans(workspace: Path, usage: Path, plan: Path) -> tuple[int, str, str]:
    return invoke("review", "--workspace", str(workspace), "--usage", str(usage), *FAST,
                  "--plans", str(plan), "--format", "json")  # fmt: skip


def _exit_plan(path: Path, family: str, at: str) -> Path:
    path.write_text(
        f"name: retire\ntransforms:\n  - exit:\n      where: {{family: {family}}}\n      at: {at}\n"
    )
    return path


def test_a_review_with_plans_applies_them_to_the_decision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_os_user(monkeypatch, "planner")
    usage = steady_csv(tmp_path)
    # the steady m4 fleet planned to exit a week after the lookback: nothing is worth a year
    soon = (pd.Timestamp(pd.read_csv(usage)["hour"].max()) + pd.Timedelta(days=7)).date()
    code, out, err = _review_with_plans(
        tmp_path / "a.duckdb", usage, _exit_plan(tmp_path / "soon.yaml", "m4", soon.isoformat())
    )
    assert code == 0, err
    assert json.loads(out)["status"] == "nothing to buy"
    # planned for 2030: the review buys, and stores the plan file's fingerprint with its inputs
    workspace = tmp_path / "b.duckdb"
    code, _, err = _review_with_plans(
        workspace, usage, _exit_plan(tmp_path / "later.yaml", "m4", "2030-01-01")
    )
    assert code == 0, err
    with Workspace.open(workspace, read_only=True) as store:
        (stored,) = list_plans(store)
    document = json.loads(stored.plan_json)
    assert document["inputs"]["plans_file:later.yaml"].startswith("sha256:")
    assert document["summary"]["decided_on"]["known_changes"]["skipped"] == []
    assert stored.report is not None  # the finance report says what the decision assumed
    assert b"Known changes applied to every future:" in stored.report
    assert b"later.yaml (1 transform(s))." in stored.report
    # and so does the report made again from the stored plan
    remade = tmp_path / "remade.md"
    code, _, err = invoke("report", stored.plan_id, "--workspace", str(workspace), "--format",
                          "md", "--out", str(remade))  # fmt: skip
    assert code == 0, err
    assert "Known changes applied to every future:" in remade.read_text()
    # naming usage the lookback does not have: one line, exit 2, the import rolled back too
    other = tmp_path / "c.duckdb"
    code, out, err = _review_with_plans(
        other, usage, _exit_plan(tmp_path / "bad.yaml", "r4", "2030-01-01")
    )
    assert code == 2 and "family 'r4' is absent" in err and "Traceback" not in err
    with Workspace.open(other, read_only=True) as store:
        assert store.usage_span() is None and list_plans(store) == ()
