"""The installed ``commitopt recommend`` on lookbacks with an outage, and on one where no key
runs ahead: it used to stop with "the lookback has no usage (0 instance-hours)" (exit 2) on
usage it had read, or buy nothing for a fleet that had been back for a month."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.cli.conftest import Sandbox, require_success
from tests.planning.test_recency import _key_usage

HOURS = 60 * 24


def _bought_usd_per_hour(sandbox: Sandbox, usage: Path, lookback: str = "60d") -> float:
    run = require_success(sandbox.run(
        "recommend", "--usage", str(usage), "--lookback", lookback, "--format", "json",
    ))  # fmt: skip
    bought = json.loads(run.stdout)["purchases"]
    return float(sum(p["effective_usd_per_hour"] for p in bought))


def test_an_outage_in_the_lookback_is_not_taken_for_the_fleets_level(
    empty_sandbox: Sandbox,
) -> None:
    """12 r4.xlarge with a daily cycle; in one lookback all of them off for 9 days, a month
    before its end (the fleet has run as before since): the purchase is the same."""
    hour = np.arange(HOURS)
    level = np.round(12.0 + 3.0 * np.sin(hour * 2 * np.pi / 24))
    out = (hour >= HOURS - 40 * 24) & (hour < HOURS - 31 * 24)
    usage = {}
    for name, quantity in (("steady", level), ("outage", np.where(out, 0.0, level))):
        usage[name] = empty_sandbox.folder / f"{name}.csv"
        _key_usage("222222222222", "r4.xlarge", quantity).to_csv(usage[name], index=False)
    steady = _bought_usd_per_hour(empty_sandbox, usage["steady"])
    assert steady > 0
    assert _bought_usd_per_hour(empty_sandbox, usage["outage"]) == steady


def test_an_account_off_for_two_weeks_is_bought_for_as_it_runs(empty_sandbox: Sandbox) -> None:
    """Two fleets off for two weeks, from 50 days before the end of a 90-day lookback: the
    weeks after it run above the lookback's mean, yet do not rise above its first weeks. The
    futures drew the outage's weeks as they ran, the account off for a sixth of some terms,
    and nothing was bought."""
    hours = 90 * 24
    hour = np.arange(hours)
    out = (hour >= hours - 50 * 24) & (hour < hours - 36 * 24)
    usage = {}
    for name, off in (("steady", np.zeros(hours, dtype=bool)), ("outage", out)):
        usage[name] = empty_sandbox.folder / f"{name}.csv"
        pd.concat([
            _key_usage("222222222222", "m4.large", np.where(off, 0.0, _cycle(20.0, hour))),
            _key_usage("222222222222", "c4.large", np.where(off, 0.0, _cycle(8.0, hour))),
        ]).to_csv(usage[name], index=False)  # fmt: skip
    steady = _bought_usd_per_hour(empty_sandbox, usage["steady"], "90d")
    assert steady > 0
    bought = _bought_usd_per_hour(empty_sandbox, usage["outage"], "90d")
    assert bought == pytest.approx(steady, rel=0.03)


def _cycle(level: float, hour: np.ndarray) -> np.ndarray:
    return np.round(level + 0.15 * level * np.sin(hour * 2 * np.pi / 24))


def test_a_fleet_moved_to_another_region_days_ago_buys_nothing_and_says_why(
    empty_sandbox: Sandbox,
) -> None:
    """16 m4.xlarge stopped in us-east-1 8 days before the end and started in us-west-2 5 days
    before it: the old key has stopped, the new one has not run a whole week. Nothing runs in
    any future, so nothing is bought, and the run says so (exit 0)."""
    hour = np.arange(HOURS)
    usage = empty_sandbox.folder / "moved.csv"
    pd.concat([
        _key_usage("222222222222", "m4.xlarge", np.where(hour < HOURS - 8 * 24, 16.0, 0.0)),
        _key_usage("222222222222", "m4.xlarge", np.where(hour >= HOURS - 5 * 24, 16.0, 0.0))
        .assign(region="us-west-2"),
    ]).to_csv(usage, index=False)  # fmt: skip
    run = require_success(empty_sandbox.run(
        "recommend", "--usage", str(usage), "--lookback", "60d", "--format", "json",
    ))  # fmt: skip
    payload = json.loads(run.stdout)
    assert payload["purchases"] == []
    decided = payload["summary"]["decided_on"]
    assert decided["basis"] == "forecast"
    assert decided["young_keys"] == 1
    assert decided["expected_savings_usd"] == 0.0
    [note] = decided["notes"]
    assert note.startswith("No key runs in any future the decision sampled (the 1 key(s) still")
    assert note.endswith("so nothing is bought; a later review buys for what keeps running.")
    said = " ".join(run.stderr.split())
    assert "us-west-2 m4.xlarge Linux/UNIX Shared started running 5.0 days before" in said
    assert "us-east-1 m4.xlarge Linux/UNIX Shared has had no usage since" in said
