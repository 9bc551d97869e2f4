"""The installed command on a fleet growing steadily: ``recommend`` buys ahead of the growth for
as long as it is likely to last and says so; ``--next-review`` buys only up to the next review
(``review`` defaults to a month)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from tests.cli.conftest import Sandbox, require_success
from tests.planning.test_recency import _key_usage

WEEKS = 13
HOURS = WEEKS * 7 * 24


def _growing_usage(sandbox: Sandbox) -> str:
    """100 m4.large growing 3 % a month over 13 weeks, whole instances."""
    path = sandbox.folder / "usage.csv"
    growing = np.round(100.0 * 1.03 ** (np.arange(HOURS) / 730.0))
    _key_usage("222222222222", "m4.large", growing).to_csv(path, index=False)
    return str(path)


def _hourly_usd(payload: dict[str, Any]) -> float:
    """What the purchases commit to per hour, whole term, upfront spread [USD/h]."""
    return float(sum(p["effective_usd_per_hour"] for p in payload["purchases"]))


def test_recommend_buys_ahead_of_steady_growth_and_says_how_far(empty_sandbox: Sandbox) -> None:
    usage = _growing_usage(empty_sandbox)
    common = ("recommend", "--usage", usage, "--lookback", f"{WEEKS * 7}d", "--format", "json")

    ahead_run = require_success(empty_sandbox.run(*common))
    ahead = json.loads(ahead_run.stdout)  # stdout is the JSON alone
    decided = ahead["summary"]["decided_on"]
    assert decided["growing_keys"] == 1
    assert decided["next_review_hours"] is None
    (note,) = decided["notes"]
    assert note.startswith("1 key grows steadily (a clear rise of at most 2 % of its level a week")
    assert f"in half the futures {WEEKS} weeks more (the lookback's length) or less" in note
    assert "`next_review_hours` buys only up to the next review" in note
    assert "; --next-review buys only up to the next review" in " ".join(ahead_run.stderr.split())
    growing = "m4.large us-east-1 (account 222222222222) usage growing 0.7 % a week"
    assert all(
        f"{growing}; the decision bought ahead of that growth, for as long as it is likely to "
        "last." in p["explanation"]
        for p in ahead["purchases"]
    )

    monthly = json.loads(require_success(empty_sandbox.run(*common, "--next-review", "30d")).stdout)
    assert monthly["summary"]["decided_on"]["next_review_hours"] == 720.0
    (note,) = monthly["summary"]["decided_on"]["notes"]
    assert note.endswith(
        "up to where it gets by the next review; the next review, in 30 days, buys what grows "
        "past it"
    )
    assert all(
        f"{growing}; the decision bought ahead of that growth, up to the next review, in 30 "
        "days." in p["explanation"]
        for p in monthly["purchases"]
    )

    held = json.loads(require_success(empty_sandbox.run(*common, "--next-review", "0")).stdout)
    assert "notes" not in held["summary"]["decided_on"]  # held at today's level: nothing to say
    assert held["summary"]["decided_on"]["growing_keys"] == 0
    assert not any("usage growing" in p["explanation"] for p in held["purchases"])
    assert _hourly_usd(held) < _hourly_usd(monthly) <= _hourly_usd(ahead)


def test_review_buys_up_to_its_next_run_by_default(empty_sandbox: Sandbox) -> None:
    usage = _growing_usage(empty_sandbox)
    common = ("review", "--usage", usage, "--lookback", f"{WEEKS * 7}d", "--paths", "0",
              "--format", "json")  # fmt: skip
    run = require_success(empty_sandbox.run(*common))
    assert json.loads(run.stdout)["status"] == "proposed"
    stderr = " ".join(run.stderr.split())
    assert "the next review, in 30 days, buys what grows past it" in stderr
    weekly = require_success(empty_sandbox.run(*common, "--next-review", "7d"))
    assert "the next review, in 7 days, buys what grows past it" in " ".join(weekly.stderr.split())
    bad = empty_sandbox.run(*common, "--next-review", "soon")
    assert bad.exit_code == 2, bad
    assert "--next-review" in bad.stderr and "not a duration" in bad.stderr
