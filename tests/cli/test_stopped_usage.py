"""The installed command on a fleet that stopped inside the lookback: what it says, what it buys."""

from __future__ import annotations

import json

from tests.cli.conftest import Sandbox, require_success
from tests.planning.test_recency import _fleet


def test_recommend_names_the_stopped_keys_and_the_flag(empty_sandbox: Sandbox) -> None:
    path = empty_sandbox.folder / "usage.csv"
    _fleet(10.0).to_csv(path, index=False)
    common = ("recommend", "--usage", str(path), "--lookback", "30d", "--instruments", "ri")
    run = require_success(empty_sandbox.run(*common, "--format", "json"))
    payload = json.loads(run.stdout)
    assert [k["account_id"] for k in payload["summary"]["stopped_keys"]] == ["222222222222"]
    assert "account 222222222222 us-east-1 m4.large" in run.stderr
    assert "set --stopped-after to 0" in run.stderr
    assert {p["instance_type"]: p["count"] for p in payload["purchases"]}.get("m4.large") == 4
    counted = require_success(
        # on the lookback as it ran (on the futures the idle last days are a fall, followed)
        empty_sandbox.run(
            *common, "--stopped-after", "0", "--decide-on", "lookback", "--format", "json"
        )
    )
    payload = json.loads(counted.stdout)
    assert payload["summary"]["stopped_keys"] == []
    assert {p["instance_type"]: p["count"] for p in payload["purchases"]}["m4.large"] > 4
    bad = empty_sandbox.run(*common, "--stopped-after", "soon")
    assert bad.exit_code == 2 and "--stopped-after 'soon' is not a duration" in bad.stderr
