"""Errors name the running command's flags, not the library's parameter names, and say one thing.

A robustness sweep found ``policy max_upfront_usd=-1.0`` for ``--max-upfront -1``, ``set
`stopped_after_days` to 0`` from ``frontier`` (which had no such flag), and an all-zero usage
file answered with "pass --usage FILE" when it had been passed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.cli.conftest import EXIT_BAD_INPUT, CliInputs, Sandbox, require_success
from tests.cli.test_every_command import assert_one_error_line


@pytest.mark.parametrize(
    ("args", "flag", "internal"),
    [
        (("--max-upfront", "-1"), "--max-upfront", "max_upfront_usd"),
        (("--regions", "xx-east-9"), "--regions", "include_regions"),
        (("--families", "z9"), "--families", "include_families"),
        (("--custom-commitment", "compute-sp=-3"), "--custom-commitment", "custom_commitment_usd"),
        (
            ("--target-coverage", "80", "--coverage-ceiling", "50"),
            "--coverage-ceiling",
            "coverage_ceiling",
        ),
    ],
    ids=["max-upfront", "regions", "families", "custom-commitment", "coverage-ceiling"],
)
def test_a_bad_policy_names_its_flag(
    sandbox: Sandbox, cli_inputs: CliInputs, args: tuple[str, ...], flag: str, internal: str
) -> None:
    run = sandbox.run("recommend", "--usage", str(cli_inputs.usage_csv), "--lookback", "14d", *args)
    line = assert_one_error_line(run, EXIT_BAD_INPUT)
    assert flag in line and internal not in line, line


def _usage_csv(path: Path, quantities: list[float]) -> Path:
    """One m4.large key, one hour per quantity from 2024-01-01."""
    pd.DataFrame(
        {
            "hour": pd.date_range("2024-01-01", periods=len(quantities), freq="h", tz="UTC"),
            "account_id": "123456789012",
            "region": "us-east-1",
            "instance_type": "m4.large",
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "quantity": quantities,
        }
    ).to_csv(path, index=False)
    return path


def test_frontier_on_stopped_usage_names_its_own_stopped_after_flag(
    empty_sandbox: Sandbox,
) -> None:
    stopped = _usage_csv(empty_sandbox.folder / "stopped.csv", [4.0] * 20 * 24 + [0.0] * 10 * 24)
    run = empty_sandbox.run("frontier", "--usage", str(stopped), "--lookback", "30d")
    line = assert_one_error_line(run, EXIT_BAD_INPUT)
    assert "--stopped-after" in line and "stopped_after_days" not in line, line
    require_success(
        empty_sandbox.run(
            "frontier",
            "--usage",
            str(stopped),
            "--lookback",
            "30d",
            "--stopped-after",
            "0",
            "--steps",
            "3",
            "--format",
            "json",
        )
    )


def test_usage_of_zeros_says_so_not_to_pass_usage(empty_sandbox: Sandbox) -> None:
    zeros = _usage_csv(empty_sandbox.folder / "zeros.csv", [0.0] * 30 * 24)
    run = empty_sandbox.run("recommend", "--usage", str(zeros), "--lookback", "30d")
    line = assert_one_error_line(run, EXIT_BAD_INPUT)
    assert "every quantity from 2024-01-01 00:00 to 2024-01-30 23:00 UTC is 0" in line, line


def test_out_into_a_missing_folder_is_one_plain_error(
    sandbox: Sandbox, cli_inputs: CliInputs
) -> None:
    target = sandbox.folder / "nodir" / "plan.json"
    run = sandbox.run(
        "recommend", "--usage", str(cli_inputs.usage_csv), "--lookback", "14d", "--out", str(target)
    )
    line = assert_one_error_line(run, EXIT_BAD_INPUT)
    assert line == (
        f"commitopt: error: --out {target}: folder {target.parent} does not exist; create it first"
    )
    assert "optimizing" not in run.stderr  # found before the solve, not after it
