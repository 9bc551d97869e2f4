"""``commitopt simulate`` on bad input: exit code 2 and one line naming the item and the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.commitopt.conftest import CliResult, RunCli

RI: dict[str, Any] = {
    "kind": "reserved_instance", "region": "us-east-1", "instance_type": "m4.large",
    "platform": "Linux/UNIX", "tenancy": "Shared", "term_years": 1,
    "payment_option": "No Upfront", "count": 2, "upfront_usd": 0.0,
    "recurring_usd_per_hour": 0.062,
}  # fmt: skip
SP: dict[str, Any] = {
    "kind": "compute_savings_plan", "term_years": 1, "payment_option": "No Upfront",
    "commitment_usd_per_hour": 0.05,
}  # fmt: skip


def _usage(path: Path, instance_type: str = "m4.large", region: str = "us-east-1") -> Path:
    pd.DataFrame(
        {
            "hour": pd.date_range("2024-03-01", periods=4, freq="h", tz="UTC"),
            "account_id": "111111111111",
            "region": region,
            "instance_type": instance_type,
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "quantity": 2.0,
        }
    ).to_csv(path, index=False)
    return path


def _simulate(
    run_cli: RunCli, tmp_path: Path, plan: object, usage: Path | None = None
) -> CliResult:
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(plan if isinstance(plan, str) else json.dumps(plan))
    usage_path = usage or _usage(tmp_path / "usage.csv")
    return run_cli("simulate", "--usage", str(usage_path), "--portfolio", str(plan_path))


def _one_line_error(result: CliResult, *fragments: str) -> str:
    """The stderr of a run that failed on input: exit 2, one line, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("commitopt: error")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def test_ok_plan_for_reference(run_cli: RunCli, tmp_path: Path) -> None:
    result = _simulate(run_cli, tmp_path, {"purchases": [RI, SP]})
    assert result.exit_code == 0, result.stderr


def test_unknown_instance_type(run_cli: RunCli, tmp_path: Path) -> None:
    result = _simulate(run_cli, tmp_path, [{**RI, "instance_type": "m4.humongous"}])
    _one_line_error(result, "purchases[0].instance_type", "m4.humongous", "known sizes")


def test_unknown_region(run_cli: RunCli, tmp_path: Path) -> None:
    result = _simulate(run_cli, tmp_path, [{**RI, "region": "us-middle-7"}])
    _one_line_error(result, "purchases[0].region", "us-middle-7", "known regions: us-east-1")


def test_unknown_platform(run_cli: RunCli, tmp_path: Path) -> None:
    result = _simulate(run_cli, tmp_path, [{**RI, "platform": "Plan 9"}])
    _one_line_error(result, "purchases[0].platform", "Plan 9", "use an RI product description")


def test_unknown_payment_option(run_cli: RunCli, tmp_path: Path) -> None:
    result = _simulate(run_cli, tmp_path, [SP, {**RI, "payment_option": "Pay Later"}])
    _one_line_error(result, "purchases[1].payment_option", "Pay Later", "use one of No Upfront")


def test_unknown_term(run_cli: RunCli, tmp_path: Path) -> None:
    result = _simulate(run_cli, tmp_path, [{**SP, "term_years": 2}])
    _one_line_error(result, "purchases[0].term_years", "term 2", "1-year and 3-year")


def test_zero_count(run_cli: RunCli, tmp_path: Path) -> None:
    result = _simulate(run_cli, tmp_path, [{**RI, "count": 0}])
    _one_line_error(result, "purchases[0].count", "greater than 0, got 0")


def test_negative_count(run_cli: RunCli, tmp_path: Path) -> None:
    result = _simulate(run_cli, tmp_path, [{**RI, "count": -3}])
    _one_line_error(result, "purchases[0].count", "greater than 0, got -3")


@pytest.mark.parametrize("commitment", [0, -1.5])
def test_hourly_commitment_not_above_zero(
    run_cli: RunCli, tmp_path: Path, commitment: float
) -> None:
    result = _simulate(run_cli, tmp_path, [{**SP, "commitment_usd_per_hour": commitment}])
    _one_line_error(
        result, "purchases[0].commitment_usd_per_hour", f"greater than 0, got {commitment:g}"
    )


def test_end_before_start(run_cli: RunCli, tmp_path: Path) -> None:
    item = {**RI, "start": "2024-03-01T00:00:00Z", "end": "2024-02-01T00:00:00Z"}
    result = _simulate(run_cli, tmp_path, [item])
    _one_line_error(result, "purchases[0].end", "2024-02-01", "not after start", "later end")


def test_usage_keys_without_on_demand_price(run_cli: RunCli, tmp_path: Path) -> None:
    usage = pd.concat(
        [pd.read_csv(_usage(tmp_path / f"{t}.csv", instance_type=t)) for t in
         ("m4.large", "m7i.large", "m7i.xlarge")]
    )  # fmt: skip
    usage.to_csv(tmp_path / "usage.csv", index=False)
    result = _simulate(run_cli, tmp_path, [SP], usage=tmp_path / "usage.csv")
    line = _one_line_error(
        result,
        "no on-demand price for us-east-1 m7i.large Linux/UNIX Shared, "
        "us-east-1 m7i.xlarge Linux/UNIX Shared;",
    )
    assert "m4.large" not in line  # priced by the embedded catalog
    assert "`commitopt pricing fetch`" in line and "`commitopt pricing import FILE`" in line


def test_malformed_json(run_cli: RunCli, tmp_path: Path) -> None:
    result = _simulate(run_cli, tmp_path, '{"purchases": [')
    _one_line_error(result, "plan.json", "not valid JSON", "line 1", "fix the JSON")


def test_missing_portfolio_file(run_cli: RunCli, tmp_path: Path) -> None:
    usage = _usage(tmp_path / "usage.csv")
    missing = tmp_path / "nowhere.json"
    result = run_cli("simulate", "--usage", str(usage), "--portfolio", str(missing))
    _one_line_error(result, "nowhere.json", "no such file; check the path")


def test_missing_inventory_file(run_cli: RunCli, tmp_path: Path) -> None:
    usage = _usage(tmp_path / "usage.csv")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([SP]))
    result = run_cli(
        "simulate", "--usage", str(usage), "--portfolio", str(plan), "--inventory",
        str(tmp_path / "owned.json"),
    )  # fmt: skip
    _one_line_error(result, "owned.json", "no such file; check the path")


def test_missing_usage_file(run_cli: RunCli, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([SP]))
    result = run_cli("simulate", "--usage", str(tmp_path / "gone.csv"), "--portfolio", str(plan))
    _one_line_error(result, "gone.csv", "no such file")
