"""The installed ``commitopt recommend`` and ``commitopt review`` on a lookback that ends with a
load test: 20 c5.4xlarge for its last 6 days, or for 10 days over 2 days before its end.
Nothing is bought for them, and stderr says why. A fleet moved to c5 in the same last days is
bought for: it moved, it did not start."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from tests.cli.conftest import Sandbox, require_success
from tests.planning.test_recency import _key_usage

HOURS = 60 * 24
SAID = (
    "us-east-1 c5.4xlarge Linux/UNIX Shared started running 6.0 days before the lookback's end "
    "(17.1 instances over its last week): nothing is bought for it until it has run a whole week "
    "after the week it started in"
)


def _usage(sandbox: Sandbox) -> Path:
    """60 days of 10 m4.large, and 20 c5.4xlarge over the last 6."""
    burst = np.where(np.arange(HOURS) >= HOURS - 6 * 24, 20.0, 0.0)
    usage = sandbox.folder / "usage.csv"
    pd.concat([
        _key_usage("222222222222", "m4.large", np.full(HOURS, 10.0)),
        _key_usage("222222222222", "c5.4xlarge", burst),
    ]).to_csv(usage, index=False)  # fmt: skip
    return usage


def _nothing_for_c5(bought: list[dict[str, object]]) -> None:
    assert bought  # the steady m4.large fleet
    assert all(p["kind"] != "compute_savings_plan" for p in bought)
    assert all(p.get("instance_family") != "c5" for p in bought)
    assert all(not str(p.get("instance_type") or "").startswith("c5") for p in bought)


def test_recommend_buys_nothing_for_a_load_test_at_the_lookbacks_end(
    empty_sandbox: Sandbox,
) -> None:
    run = require_success(empty_sandbox.run(
        "recommend", "--usage", str(_usage(empty_sandbox)), "--lookback", "60d",
        "--format", "json",
    ))  # fmt: skip
    _nothing_for_c5(json.loads(run.stdout)["purchases"])
    assert SAID in " ".join(run.stderr.split())


def test_review_says_why_it_buys_nothing_for_the_load_test(empty_sandbox: Sandbox) -> None:
    run = require_success(empty_sandbox.run(
        "review", "--usage", str(_usage(empty_sandbox)), "--lookback", "60d", "--paths", "20",
        "--format", "json",
    ))  # fmt: skip
    reviewed = json.loads(run.stdout)
    assert reviewed["status"] == "proposed"
    plan = reviewed["plan_id"]
    shown = require_success(empty_sandbox.run("plans", "show", plan, "--format", "json"))
    _nothing_for_c5(json.loads(shown.stdout)["purchases"])
    assert SAID in " ".join(run.stderr.split())


def test_recommend_buys_for_a_fleet_moved_to_c5_in_the_last_days(empty_sandbox: Sandbox) -> None:
    """10 m4.large moved to 10 c5.large 5 days before the end: the c5 key is as new as the
    load test, but its usage moved from the m4 key of its account and region, so it is bought
    for at its last week, as the old code did."""
    moved = np.arange(HOURS) >= HOURS - 5 * 24
    usage = empty_sandbox.folder / "moved.csv"
    pd.concat([
        _key_usage("222222222222", "m4.large", np.where(moved, 0.0, 10.0)),
        _key_usage("222222222222", "c5.large", np.where(moved, 10.0, 0.0)),
        _key_usage("222222222222", "r4.large", np.full(HOURS, 6.0)),
    ]).to_csv(usage, index=False)  # fmt: skip
    run = require_success(empty_sandbox.run(
        "recommend", "--usage", str(usage), "--lookback", "60d", "--format", "json",
    ))  # fmt: skip
    bought = json.loads(run.stdout)["purchases"]
    assert any(
        p.get("instance_family") == "c5"
        or str(p.get("instance_type") or "").startswith("c5")
        or p["kind"] == "compute_savings_plan"
        for p in bought
    )
    assert "started running" not in run.stderr


def test_recommend_buys_nothing_for_a_load_test_over_two_days_before_the_end(
    empty_sandbox: Sandbox,
) -> None:
    """20 c5.4xlarge for 10 days, over 2 days before the end: it ran a whole week, at twice
    its earlier level for two weeks (a new level, to the risen-key rule), and was bought for;
    now it waits, as a load test still running does, and stderr says why."""
    hour = np.arange(HOURS)
    burst = np.where((hour >= HOURS - 12 * 24) & (hour < HOURS - 2 * 24), 20.0, 0.0)
    usage = empty_sandbox.folder / "over.csv"
    pd.concat([
        _key_usage("222222222222", "m4.large", np.full(HOURS, 10.0)),
        _key_usage("222222222222", "c5.4xlarge", burst),
    ]).to_csv(usage, index=False)  # fmt: skip
    run = require_success(empty_sandbox.run(
        "recommend", "--usage", str(usage), "--lookback", "60d", "--format", "json",
    ))  # fmt: skip
    payload = json.loads(run.stdout)
    _nothing_for_c5(payload["purchases"])
    assert payload["summary"]["decided_on"]["young_keys"] == 1
    said = " ".join(run.stderr.split())
    assert (
        "us-east-1 c5.4xlarge Linux/UNIX Shared started running 12.0 days before the lookback's "
        "end (14.3 instances over its last week) and has been idle for its last 48 hours"
    ) in said
