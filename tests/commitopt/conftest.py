"""Run the CLI in-process and capture its exit code, stdout and stderr."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from commitopt.cli import cli
from commitopt.cli.errors import run_with_exit_codes


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


RunCli = Callable[..., CliResult]


@pytest.fixture
def run_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """Run ``commitopt ARGS`` in a fresh folder with its own local catalog path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMMITOPT_CATALOG", str(tmp_path / "local-catalog.parquet"))

    def run(*args: str) -> CliResult:
        runner = CliRunner()
        with runner.isolation() as (out, err, _):
            code = run_with_exit_codes(cli, list(args))
            stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
        return CliResult(code, stdout, stderr)

    return run
