"""Commands that use a period of the usage read only that period from the workspace.

``forecast``, ``frontier``, ``report`` and ``simulate`` (and ``usage summary``) read from the
workspace the lookback or ``--from``/``--to`` they use, straight into a matrix where the code
downstream takes one. The oracle is the same command given the same usage as a ``--usage`` file,
which reads the whole table and cuts the period in memory: the outputs must be equal. In process,
:class:`commitopt.cli.inputs.CommandInputs` is checked to read no hour outside the period.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import pandas as pd
import pytest

from tests.cli.conftest import CliInputs, Sandbox, require_success

CASES: Final[dict[str, tuple[str, ...]]] = {
    "forecast": ("forecast", "--lookback", "28d", "--horizon", "4w", "--paths", "50",
                 "--seed", "3"),
    "frontier": ("frontier", "--lookback", "20d", "--steps", "4", "--portfolio", "{plan}"),
    "report": ("report", "{plan}", "--lookback", "20d", "--format", "md", "--out", "-"),
    "simulate": ("simulate", "--portfolio", "{plan}", "--from", "2024-02-01",
                 "--to", "2024-02-15"),
    "usage summary": ("usage", "summary", "--from", "2024-02-01", "--to", "2024-02-15"),
}  # fmt: skip


def _numbers(value: Any) -> Any:
    """JSON with floats rounded to 9 significant digits (summation order aside)."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


@pytest.mark.parametrize("case", list(CASES))
def test_workspace_runs_equal_the_whole_table_of_a_file(
    sandbox: Sandbox, cli_inputs: CliInputs, case: str
) -> None:
    args = [a.replace("{plan}", str(cli_inputs.plan_json)) for a in CASES[case]]
    if case != "report":
        args += ["--format", "json"]
    from_workspace = require_success(sandbox.run(*args, "-q")).stdout
    from_file = require_success(
        sandbox.run(*args, "--usage", str(cli_inputs.usage_csv), "-q")
    ).stdout
    if case == "report":
        assert from_workspace == from_file
    else:
        assert _numbers(json.loads(from_workspace)) == _numbers(json.loads(from_file))


def test_command_inputs_read_no_hour_outside_the_period(cli_inputs: CliInputs) -> None:
    from commitopt.cli.inputs import CommandInputs
    from commitopt.workspace import Workspace
    from usage.readers import read_usage

    whole, _report = read_usage([cli_inputs.usage_csv])
    last = whole["hour"].max()
    workspace = cli_inputs.workspace
    inputs = CommandInputs(workspace=workspace)
    recent = inputs.usage_recent(purpose="test", hours=100)
    assert recent["hour"].min() == last - pd.Timedelta(hours=99)
    assert len(recent) == int((whole["hour"] > last - pd.Timedelta(hours=100)).sum())
    since = last - pd.Timedelta(hours=300)
    assert inputs.usage_recent(purpose="test", hours=100, since=since)["hour"].min() == since
    matrix = inputs.usage_matrix_recent(purpose="test", hours=100)
    assert len(matrix.hours) == 100 and matrix.hours[-1] == last
    start, end = pd.Timestamp("2024-02-01", tz="UTC"), pd.Timestamp("2024-02-15", tz="UTC")
    period = inputs.usage_of_period(purpose="test", start=start, end=end)
    assert period.hours[0] == start and period.hours[-1] == end - pd.Timedelta(hours=1)
    kept = whole[(whole["hour"] >= start) & (whole["hour"] < end)]
    assert period.quantity.sum() == pytest.approx(kept["quantity"].sum(), rel=1e-12)
    with Workspace.open(workspace, read_only=True) as store:  # the matrix is the table's
        assert store.load_usage(start=start, end=end)["quantity"].sum() == pytest.approx(
            period.quantity.sum(), rel=1e-12
        )
    assert inputs.usage_recent(purpose="test", hours=10**6)["hour"].min() == whole["hour"].min()


def test_a_workspace_without_usage_says_how_to_give_some(tmp_path: Path) -> None:
    from commitopt.cli.inputs import CommandInputs
    from commitopt.workspace import Workspace
    from core.errors import CommitoptInputError

    path = tmp_path / "empty.duckdb"
    Workspace.open(path).close()
    inputs = CommandInputs(workspace=path)
    for read in (
        lambda: inputs.usage_recent(purpose="bill", hours=24),
        lambda: inputs.usage_matrix_recent(purpose="bill", hours=24),
        lambda: inputs.usage_of_period(purpose="bill"),
    ):
        with pytest.raises(CommitoptInputError, match="no usage to bill: pass --usage FILE"):
            read()
