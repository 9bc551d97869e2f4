"""The installed command on a fleet that fell from 10 to 3 instances in the last week."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from tests.cli.conftest import Sandbox, require_success
from tests.planning.test_recency import _key_usage

HOURS = 30 * 24


def _fallen_fleet() -> pd.DataFrame:
    """m4.large: 10 instances, 3 over the last 7 days; c4.large: a steady 2."""
    fell = np.where(np.arange(HOURS) < HOURS - 7 * 24, 10.0, 3.0)
    return pd.concat(
        [
            _key_usage("222222222222", "m4.large", fell),
            _key_usage("222222222222", "c4.large", np.full(HOURS, 2.0)),
        ],
        ignore_index=True,
    )


def test_recommend_counts_the_fallen_key_at_its_recent_level_and_says_so(
    empty_sandbox: Sandbox,
) -> None:
    path = empty_sandbox.folder / "usage.csv"
    _fallen_fleet().to_csv(path, index=False)
    common = ("recommend", "--usage", str(path), "--lookback", "30d", "--instruments", "ri")
    run = require_success(empty_sandbox.run(*common, "--format", "json"))
    payload = json.loads(run.stdout)
    (fallen,) = payload["summary"]["fallen_keys"]
    assert (fallen["instance_type"], fallen["fall_pct"]) == ("m4.large", 70.0)
    assert (fallen["recent_level"], fallen["older_level"]) == (3.0, 10.0)
    counts = {p["instance_type"]: p["count"] for p in payload["purchases"]}
    assert counts == {"m4.large": 3, "c4.large": 2}
    (m4,) = [p for p in payload["purchases"] if p["instance_type"] == "m4.large"]
    assert (
        "rests partly on m4.large us-east-1 (account 222222222222) usage that fell 70 %"
        in (m4["explanation"])
    )
    warning = "account 222222222222 us-east-1 m4.large Linux/UNIX Shared fell 70 % over the last"
    assert run.stderr.count(warning) == 1
    assert "set --recency-half-life to 0" in run.stderr

    # 0 and the lookback as the basis: the lookback as it ran, the fall still named (on the
    # futures the fall is a clear line, followed down)
    flat = require_success(
        empty_sandbox.run(
            *common, "--recency-half-life", "0", "--decide-on", "lookback", "--format", "json"
        )
    )
    payload = json.loads(flat.stdout)
    assert payload["summary"]["fallen_keys"][0]["instance_type"] == "m4.large"
    assert {p["instance_type"]: p["count"] for p in payload["purchases"]}["m4.large"] == 10
    assert flat.stderr.count(warning) == 1

    bad = empty_sandbox.run(*common, "--recency-half-life", "soon")
    assert bad.exit_code == 2 and "--recency-half-life 'soon' is not a duration" in bad.stderr
