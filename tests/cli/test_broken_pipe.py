"""The installed command whose reader goes away (``commitopt ... | head``, ``| true``).

Click turns a broken pipe into exit code 1 and rich does the same, and 1 means "a threshold was
not met". A reader that stops reading ends the command quietly with 141 (what a shell reports
for a writer killed by SIGPIPE), whatever writes the standard output: click's help, rich's
tables, or the JSON payload.
"""

from __future__ import annotations

import subprocess
from typing import Final

import pytest

from tests.cli.conftest import CliInputs, Sandbox

EXIT_READER_GONE: Final = 141


def _run_with_reader_gone(sandbox: Sandbox, *args: str) -> tuple[int, str]:
    """Run ``commitopt ARGS`` with its standard output on a pipe closed before anything is
    written; return the exit code and the standard error."""
    process = subprocess.Popen(
        [str(sandbox.script), *args],
        cwd=sandbox.folder,
        env=dict(sandbox.env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.close()  # the reader is gone before the first write
    _, stderr = process.communicate(timeout=300)
    return process.returncode, stderr.decode("utf-8", errors="replace")


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),  # click prints it while parsing, before any command runs
        ("recommend", "--help"),
        ("recommend", "--lookback", "14d"),  # rich's tables
        ("recommend", "--lookback", "14d", "--format", "json"),  # the payload
    ],
    ids=["group-help", "command-help", "table", "json"],
)
def test_a_reader_gone_ends_the_command_quietly_with_141(
    sandbox: Sandbox, cli_inputs: CliInputs, args: tuple[str, ...]
) -> None:
    full = (*args, "--usage", str(cli_inputs.usage_csv)) if "--lookback" in args else args
    code, stderr = _run_with_reader_gone(sandbox, *full)
    assert code == EXIT_READER_GONE, stderr
    assert "Traceback" not in stderr and "error" not in stderr.lower(), stderr
