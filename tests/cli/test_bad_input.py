"""Bad input through the console script: exit 2, one error line, nothing on stdout.

A script that checks the exit code and shows stderr to a person needs one line saying what is
wrong; a usage screen or a traceback is neither.
"""

from __future__ import annotations

import pytest
from _pytest.mark.structures import ParameterSet

from tests.cli.conftest import EXIT_BAD_INPUT, CliInputs, Sandbox
from tests.cli.test_every_command import assert_one_error_line

BAD_INPUTS: tuple[ParameterSet, ...] = (
    pytest.param(("usage", "import", "missing.csv"), id="usage-import-missing-file"),
    pytest.param(("recommend", "--usage", "missing.csv"), id="recommend-missing-usage-file"),
    pytest.param(("recommend", "--lookback", "banana"), id="lookback-banana"),
    pytest.param(("recommend", "--lookback", "30d", "--format", "xml"), id="format-xml"),
    pytest.param(("usage", "import", "{empty}"), id="usage-import-empty-file"),
    pytest.param(("recommend", "--usage", "{empty}"), id="recommend-empty-usage-file"),
    # a required option left out (click 8.3+ ignored `required` when given `default=None`)
    pytest.param(("simulate", "--usage", "missing.csv"), id="simulate-without-portfolio"),
)


@pytest.mark.parametrize("args", BAD_INPUTS)
def test_bad_input_is_one_error_line(
    args: tuple[str, ...], sandbox: Sandbox, cli_inputs: CliInputs
) -> None:
    """Bad input exits 2 with a single ``commitopt: error:`` line and an empty stdout."""
    values = cli_inputs.placeholders()
    run = sandbox.run(*(arg.format(**values) for arg in args))
    assert_one_error_line(run, EXIT_BAD_INPUT)


def test_input_format_given_as_format_names_input_format(
    sandbox: Sandbox, cli_inputs: CliInputs
) -> None:
    """``usage import --format cur`` says the input format is ``--input-format``."""
    run = sandbox.run("usage", "import", str(cli_inputs.usage_csv), "--format", "cur")
    line = assert_one_error_line(run, EXIT_BAD_INPUT)
    assert "--input-format" in line, str(run)
