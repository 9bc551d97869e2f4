"""Owned SageMaker Savings Plans through the installed command: a CUR's fee lines imported with
``usage import``, listed by ``inventory show --format json``, saved as portfolio JSON and read
back with ``--portfolio`` (the fixture: ``tests/data/cur/sagemaker_savings_plans_documented.*``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli.conftest import REPO, Sandbox, require_success

CUR = REPO / "tests/data/cur/sagemaker_savings_plans_documented.csv"
AS_OF = "2025-09-01"


def _rows(run_stdout: str) -> dict[str, dict[str, Any]]:
    return {row["id"].rsplit("/", 1)[-1]: row for row in json.loads(run_stdout)}


def test_inventory_show_lists_sagemaker_plans_from_a_cur_and_a_portfolio(
    empty_sandbox: Sandbox,
) -> None:
    require_success(empty_sandbox.run("usage", "import", str(CUR), "--format", "json"))
    shown = require_success(
        empty_sandbox.run(
            "inventory", "show", "--as-of", AS_OF, "--save", "owned.json", "--format", "json"
        )
    )
    rows = _rows(shown.stdout)
    suffix = "5d1c2b3a-0000-4000-8000-0000000000"
    assert set(rows) == {f"{suffix}0a", f"{suffix}0b", f"{suffix}0c"}
    no_upfront, partial = rows[f"{suffix}0a"], rows[f"{suffix}0b"]
    assert no_upfront["kind"] == partial["kind"] == "sagemaker_savings_plan"
    assert (no_upfront["region"], no_upfront["covers"]) == ("any", "any SageMaker")
    assert no_upfront["commitment_usd_per_hour"] == 3.0
    assert (no_upfront["start"], no_upfront["end"]) == ("2025-03-15", "2026-03-15")
    assert (no_upfront["status"], no_upfront["account_id"]) == ("active", "222222222222")
    assert (partial["commitment_usd_per_hour"], partial["upfront_usd"]) == (2.0, 26_280.0)
    assert rows[f"{suffix}0c"]["kind"] == "compute_savings_plan"

    saved = json.loads((empty_sandbox.folder / "owned.json").read_text(encoding="utf-8"))
    kinds = sorted(item["kind"] for item in saved["purchases"])
    assert kinds == ["compute_savings_plan", "sagemaker_savings_plan", "sagemaker_savings_plan"]
    again = require_success(
        empty_sandbox.run(
            "inventory", "show", "--portfolio", "owned.json", "--no-bill-inventory",
            "--as-of", AS_OF, "--format", "json",
        )
    )  # fmt: skip
    assert _rows(again.stdout) == rows  # the saved file reads back to the same table


def test_a_portfolio_sagemaker_plan_is_listed(empty_sandbox: Sandbox, tmp_path: Path) -> None:
    owned = tmp_path / "mine.json"
    owned.write_text(
        json.dumps(
            {"purchases": [{"kind": "sagemaker_savings_plan", "id": "sp-ml-1",
                            "start": "2025-06-01T00:00:00Z", "term_years": 3,
                            "payment_option": "All Upfront", "commitment_usd_per_hour": 0.5}]}
        ),
        encoding="utf-8",
    )  # fmt: skip
    run = require_success(
        empty_sandbox.run(
            "inventory", "show", "--portfolio", str(owned), "--as-of", AS_OF, "--format", "json"
        )
    )
    (row,) = json.loads(run.stdout)
    assert (row["id"], row["kind"], row["covers"]) == (
        "sp-ml-1", "sagemaker_savings_plan", "any SageMaker"
    )  # fmt: skip
    assert row["upfront_usd"] == 0.5 * 26_280
    assert row["end"] == "2028-05-31"
