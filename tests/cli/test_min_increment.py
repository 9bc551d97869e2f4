"""The installed command on top of commitments owned: an increment within the decision's own
noise is not bought (``--min-increment``)."""

from __future__ import annotations

import json

import numpy as np

from tests.cli.conftest import Sandbox, require_success
from tests.planning.test_recency import _key_usage

HOURS = 30 * 24
COMMON = ("--lookback", "30d", "--instruments", "ri", "--decide-on", "lookback")


def _owned_portfolio(sandbox: Sandbox, instances: float) -> str:
    """The plan for a flat fleet of ``instances`` m4.large, as owned commitments."""
    path = sandbox.folder / "owned-usage.csv"
    _key_usage("222222222222", "m4.large", np.full(HOURS, instances)).to_csv(path, index=False)
    run = require_success(
        sandbox.run("recommend", "--usage", str(path), *COMMON, "--format", "json")
    )
    portfolio = json.loads(run.stdout)
    for purchase in portfolio["purchases"]:
        purchase["start"] = "2024-01-01T00:00:00+00:00"
    owned = sandbox.folder / "owned.json"
    owned.write_text(json.dumps(portfolio), encoding="utf-8")
    return str(owned)


def test_an_increment_below_the_minimum_is_not_bought_and_the_reason_is_given(
    empty_sandbox: Sandbox,
) -> None:
    owned = _owned_portfolio(empty_sandbox, 99.0)
    path = empty_sandbox.folder / "usage.csv"
    _key_usage("222222222222", "m4.large", np.full(HOURS, 100.0)).to_csv(path, index=False)
    common = ("recommend", "--usage", str(path), "--inventory", owned, *COMMON)

    run = require_success(empty_sandbox.run(*common, "--format", "json"))
    payload = json.loads(run.stdout)
    assert payload["purchases"] == []
    (note,) = payload["summary"]["decided_on"]["notes"]
    assert note.startswith("The increment found (1 purchase, ")
    assert "is 1.0 % of the " in note and "below `min_increment_pct` 2 %" in note
    assert payload["summary"]["savings_vs_current_usd"] == 0.0
    # stdout stays the JSON alone; the reason is on stderr too, with the flag's name
    assert "below --min-increment 2 %: within the decision's own noise" in run.stderr

    table = require_success(empty_sandbox.run(*common))
    assert "below --min-increment 2 %: within the decision's own noise" in " ".join(
        table.stdout.split()
    )

    bought = json.loads(require_success(
        empty_sandbox.run(*common, "--min-increment", "0", "--format", "json")
    ).stdout)  # fmt: skip
    assert [(p["instance_type"], p["count"]) for p in bought["purchases"]] == [("m4.large", 1)]
    assert bought["summary"]["savings_vs_current_usd"] > 0
    # at 0.5 % the same increment (1 %) is bought
    half = json.loads(require_success(
        empty_sandbox.run(*common, "--min-increment", "0.5", "--format", "json")
    ).stdout)  # fmt: skip
    assert half["purchases"] == bought["purchases"]


def test_the_review_says_why_it_buys_nothing(empty_sandbox: Sandbox) -> None:
    owned = _owned_portfolio(empty_sandbox, 99.0)
    path = empty_sandbox.folder / "usage.csv"
    _key_usage("222222222222", "m4.large", np.full(HOURS, 100.0)).to_csv(path, index=False)
    common = ("review", "--usage", str(path), "--inventory", owned, "--lookback", "30d",
              "--instruments", "ri", "--paths", "0", "--format", "json")  # fmt: skip
    held = require_success(empty_sandbox.run(*common))
    assert json.loads(held.stdout)["status"] == "nothing to buy"
    assert "nothing to buy: the increment found (1 purchase, " in held.stderr
    assert "below --min-increment 2 %" in held.stderr
    assert "already cover what pays off" not in held.stderr
    bought = require_success(empty_sandbox.run(*common, "--min-increment", "0"))
    assert json.loads(bought.stdout)["status"] == "proposed"
