"""The installed ``commitopt recommend`` shows what All and Partial Upfront would add."""

from __future__ import annotations

import json

from tests.cli.conftest import Sandbox, require_success
from tests.planning.test_ri_sizes import _usage


def test_recommend_json_and_text_show_payment_options(empty_sandbox: Sandbox) -> None:
    path = empty_sandbox.folder / "usage.csv"
    _usage({"m4.large": 4, "c4.large": 2}).to_csv(path, index=False)
    common = ("recommend", "--usage", str(path), "--lookback", "30d", "--instruments", "ri")
    run = require_success(empty_sandbox.run(*common, "--format", "json"))
    payload = json.loads(run.stdout)
    options = payload["summary"]["payment_options"]
    ids = {p["id"] for p in payload["purchases"]}
    assert ids and {row["id"] for row in options["payment_option_lines"]} == ids
    totals = {row["payment_option"]: row for row in options["payment_option_totals"]}
    assert set(totals) == {"No Upfront", "Partial Upfront", "All Upfront"}
    assert totals["No Upfront"]["upfront_usd"] == 0.0
    assert totals["All Upfront"]["recurring_usd_per_hour"] == 0.0
    assert totals["All Upfront"]["savings_vs_no_upfront_usd"] > 0
    bought = [row for row in options["payment_option_lines"] if row["is_bought"]]
    assert sorted(row["id"] for row in bought) == sorted(ids)
    assert all(row["payment_option"] == "No Upfront" for row in bought)
    text = require_success(empty_sandbox.run(*common))
    assert "Payment options" in text.stdout
    assert "All Upfront" in text.stdout
