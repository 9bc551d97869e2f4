"""The installed command on a fleet launched two weeks before the end of the lookback, and on
one its lookback catches on a ramp."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tests.cli.conftest import Sandbox, require_success
from tests.planning.test_recency import _key_usage

HOURS = 30 * 24


@dataclass(frozen=True)
class RecommendedJson:
    """What ``commitopt recommend --format json`` printed: the parsed payload and stderr."""

    payload: dict[str, Any]
    stderr: str


def recommend_json(sandbox: Sandbox, usage: pd.DataFrame, lookback: str) -> RecommendedJson:
    """The installed ``commitopt recommend`` on ``usage`` (written as CSV), RIs only, as JSON."""
    path = sandbox.folder / "usage.csv"
    usage.to_csv(path, index=False)
    run = require_success(
        sandbox.run(
            "recommend", "--usage", str(path), "--lookback", lookback, "--instruments", "ri",
            "--format", "json",
        )
    )  # fmt: skip
    return RecommendedJson(json.loads(run.stdout), run.stderr)


def test_recommend_names_the_launched_fleet_and_says_why_its_last_ri_loses_on_the_lookback(
    empty_sandbox: Sandbox,
) -> None:
    launched = np.where(np.arange(HOURS) >= HOURS - 14 * 24, 10.0, 0.0)
    usage = pd.concat(
        [
            _key_usage("222222222222", "m4.large", np.full(HOURS, 4.0)),
            _key_usage("222222222222", "c4.large", launched),
        ],
        ignore_index=True,
    )
    payload = recommend_json(empty_sandbox, usage, "30d").payload
    decided = payload["summary"]["decided_on"]
    assert (decided["risen_keys"], decided["levelled_keys"], decided["dropped_keys"]) == (1, 0, 0)
    by_type = {p["instance_type"]: p for p in payload["purchases"]}
    c4 = by_type["c4.large"]
    assert c4["count"] >= 5  # counted at its new level, not at its 30-day mean of 4.7
    assert (
        "It rests partly on c4.large us-east-1 (account 222222222222) usage that started running "
        "over the last 14 days; the decision counted it at that level." in c4["explanation"]
    )
    # used 14 of the 30 days, the last RI loses on the lookback; the sentence gives the
    # figure the JSON gives
    marginal = c4["marginal_savings_usd_per_unit"]
    assert marginal < 0
    assert (
        f"On the lookback as it ran, its last unit would have lowered the savings by "
        f"{-marginal:,.2f} USD per RI: it is sized for the futures, and the lookback still holds "
        "the weeks before the rise." in c4["explanation"]
    )
    m4 = by_type["m4.large"]
    assert "rests partly on" not in m4["explanation"]
    assert m4["marginal_savings_usd_per_unit"] > 0
    assert "On the lookback as it ran" not in m4["explanation"]


def test_recommend_does_not_buy_a_ramp_its_lookback_began_on(empty_sandbox: Sandbox) -> None:
    # eight weeks that begin on a rise (+20 % of the first week a week) and end on a plateau at
    # twice it: the lowest week is no level the fleet ran at before the rise
    hours = 8 * 168
    ramp = np.repeat([10.0, 12.0, 14.0, 16.0, 18.0, 20.0, 20.0, 20.0], 168)
    usage = pd.concat(
        [
            _key_usage("222222222222", "m4.large", np.full(hours, 4.0)),
            _key_usage("222222222222", "c4.large", ramp),
        ],
        ignore_index=True,
    )
    payload = recommend_json(empty_sandbox, usage, "56d").payload
    decided = payload["summary"]["decided_on"]
    assert (decided["ramped_keys"], decided["risen_keys"]) == (1, 0)
    counts = {p["instance_type"]: p["count"] for p in payload["purchases"]}
    assert counts["c4.large"] == 8  # the level the ramp started from, not its lowest week's 10
    assert counts["m4.large"] == 4
