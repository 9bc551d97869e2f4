"""The installed command on an account whose m4 fleet is half moved to c5 in one region."""

from __future__ import annotations

import json

from tests.cli.conftest import Sandbox, require_success
from tests.planning.test_future import WEEKS, _half_moved


def _m4_cover(payload: dict) -> dict[str, float]:  # type: ignore[type-arg]
    """EC2 Instance Savings Plan commitment for m4, per region [USD/h]."""
    cover: dict[str, float] = {}
    for purchase in payload["purchases"]:
        assert purchase["kind"] != "reserved_instance"  # the m4 cover below counts SPs only
        if purchase.get("instance_family") == "m4":
            region = purchase["region"]
            cover[region] = cover.get(region, 0.0) + purchase["commitment_usd_per_hour"]
    return cover


def test_recommend_names_the_move_and_buys_no_m4_cover_where_it_goes_next(
    empty_sandbox: Sandbox,
) -> None:
    path = empty_sandbox.folder / "usage.csv"
    _half_moved().to_csv(path, index=False)
    run = require_success(
        empty_sandbox.run(
            "recommend", "--usage", str(path), "--lookback", f"{WEEKS * 7}d", "--format", "json"
        )
    )
    payload = json.loads(run.stdout)
    events = payload["summary"]["decided_on"]["structural_events"]
    (moving,) = events["moves_under_way"]
    assert moving.startswith("m4 of account 111111111111 (us-east-1 down 38 %")
    assert "moving now: m4 of account 111111111111" in events["rates"]
    # the other account's us-west-2 m4 fleet of 8 m4.xlarge stays: cover for it alone
    cover = _m4_cover(payload)
    assert "us-east-1" not in cover
    assert 0.0 < cover["us-west-2"] <= 8 * 0.124

    # for people: the sentence on the futures names the move
    text = require_success(
        empty_sandbox.run("recommend", "--usage", str(path), "--lookback", f"{WEEKS * 7}d")
    )
    assert "moving now: m4 of account 111111111111" in " ".join(text.stdout.split())
