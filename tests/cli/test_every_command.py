"""Every command, in every output format, through the installed console script.

What a script sees: the exit code, standard output that parses as the whole payload (JSON or
CSV) or a table that fits 100 columns, and standard error free of tracebacks. Commands that need
AWS must fail cleanly (exit 3, one error line, nothing on stdout) when AWS is out of reach.
Every JSON field and CSV column must be defined in ``docs/glossary.md``, with values true to its
unit suffix (:mod:`tests.cli.glossary`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest
from _pytest.mark.structures import ParameterSet

from tests.cli.conftest import (
    ERROR_PREFIX,
    EXIT_ENVIRONMENT,
    CliInputs,
    HelpEntry,
    Run,
    Sandbox,
    iter_formatted,
    listed_commands,
    require_success,
    run_commitopt,
)
from tests.cli.glossary import check_fields, check_header, defined_fields

TABLE_WIDTH: Final = 100
"""Columns a table must fit in when standard output is not a terminal."""

OUTPUT_FORMATS: Final = ("table", "json", "csv")


@dataclass(frozen=True)
class Case:
    """A command line to run in each of its output formats.

    Attributes
    ----------
    command
        The command path (``"usage import"``).
    args
        What follows it, with ``{name}`` placeholders of :meth:`CliInputs.placeholders`.
    formats
        The ``--format`` choices to run it with.
    """

    command: str
    args: str = ""
    formats: tuple[str, ...] = OUTPUT_FORMATS

    def argv(self, inputs: CliInputs, output_format: str) -> list[str]:
        """The arguments of one run."""
        values = inputs.placeholders()
        extra = [token.format(**values) for token in shlex.split(self.args)]
        return [*self.command.split(), *extra, "--format", output_format]

    def label(self, output_format: str) -> str:
        """A short test id: ``usage-import-json``."""
        words = [*self.command.split(), *re.findall(r"--([a-z-]+)", self.args)]
        return "-".join([*words, output_format])


OUTPUT_CASES: Final = (
    Case("demo", "--paths 10 --out demo.html"),
    Case("recommend", "--lookback 30d"),
    Case("simulate", "--portfolio {plan} --inventory {owned} --scenario {scenario}"),
    Case("review", "--lookback 30d --paths 10 --horizon 30d --inventory {owned}"),
    Case("plans"),
    Case("plans show", "{plan_id}"),
    Case("plans add", "{plan}"),
    Case("approve", "{proposed_plan_id} --comment ok"),
    Case("reject", "{proposed_plan_id} --comment later"),
    Case("purchase", "{plan_id}", ("table", "json")),
    Case("forecast", "--lookback 30d --horizon 30d --paths 20"),
    Case("frontier", "--lookback 30d --portfolio {plan} --paths 10 --horizon 30d --steps 4"),
    Case("backtest", "--policy none --policy ce-30d --lookback 30d"),
    Case("usage import", "{usage}"),
    Case("usage imports"),
    Case("usage remove", "1 --dry-run"),
    Case("usage prune", "--dry-run"),
    Case("usage summary"),
    Case("pricing show", "--region us-east-1 --family m4"),
    Case("pricing import", "{cur} --into imported.parquet"),
    Case("pricing info", "--catalog {other_catalog}"),
    Case("inventory show", "--portfolio {owned} --as-of 2024-03-01"),
    Case("config"),
)
"""Commands that run here, each in every format it offers."""

AWS_CASES: Final = (
    Case("usage import-ce", "--from 2024-01-01 --to 2024-02-01"),
    Case(
        "usage import-athena",
        "--database cur --table cur --output-location s3://commitopt-test/results/ "
        "--from 2024-01-01 --to 2024-02-01",
    ),
    Case("pricing fetch", "--region us-east-1 --instance-type m5.large --into fetched.parquet"),
    Case("inventory show", "--from-aws --region us-east-1"),
    Case("purchase", "{plan_id} --lookup", ("table", "json")),
    Case("purchase", "{plan_id} --execute", ("table", "json")),
)
"""Commands that call AWS: without credentials they must fail with exit 3."""

REPORT_FORMATS: Final = ("html", "md", "json", "csv")
"""``report --format``: the report file's format (the path is printed)."""

NATIVE_SOLVER_ARGS: Final = (
    ("--solver", "highs"),
    ("--solver", "glop"),
    ("--solver", "cbc"),
    ("--exact",),
)
"""Solver backends whose native code may print on file descriptor 1."""

HEAVY_MODULES: Final = frozenset(
    {"pandas", "numpy", "matplotlib", "scipy", "duckdb", "highspy", "ortools"}
)
"""Modules ``import commitopt.cli`` must not load (``commitopt --help`` answers at once)."""


def _params(cases: tuple[Case, ...]) -> list[ParameterSet]:
    return [
        pytest.param(case, output_format, id=case.label(output_format))
        for case in cases
        for output_format in case.formats
    ]


def covered() -> set[tuple[str, str]]:
    """``(command, format)`` pairs the cases of this module run."""
    pairs = {(case.command, f) for case in (*OUTPUT_CASES, *AWS_CASES) for f in case.formats}
    return pairs | {("report", f) for f in REPORT_FORMATS}


# -- checks of standard output -----------------------------------------------------------------


def assert_json_payload(run: Run) -> object:
    """The whole of stdout is one JSON document."""
    try:
        return json.loads(run.stdout)
    except json.JSONDecodeError as error:
        pytest.fail(f"stdout is not one JSON document ({error}):\n{run}")


def assert_csv_payload(text: str, what: str) -> list[list[str]]:
    """Non-empty CSV: a header without duplicate names, every row as wide as the header."""
    assert text.strip(), f"{what}: the CSV is empty (not even a header)"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = rows[0]
    assert header and any(name.strip() for name in header), f"{what}: no CSV header"
    duplicates = sorted({name for name in header if header.count(name) > 1})
    assert not duplicates, f"{what}: the CSV header repeats {duplicates}: {header}"
    ragged = [
        (number, len(row))
        for number, row in enumerate(rows[1:], start=2)
        if len(row) != len(header)
    ]
    assert not ragged, (
        f"{what}: rows (line, columns) {ragged[:5]} do not have the header's "
        f"{len(header)} columns; header {header}"
    )
    return rows


def assert_table(run: Run) -> None:
    """A non-empty table whose lines fit :data:`TABLE_WIDTH` columns."""
    assert run.stdout.strip(), f"the table is empty:\n{run}"
    wide = [
        (number, len(line))
        for number, line in enumerate(run.stdout.splitlines(), start=1)
        if len(line) > TABLE_WIDTH
    ]
    assert not wide, f"lines (number, length) {wide[:5]} are wider than {TABLE_WIDTH}:\n{run}"


def assert_payload(run: Run, output_format: str) -> None:
    """A successful run whose stdout is what ``--format`` promises."""
    require_success(run)
    if output_format == "json":
        check_fields(assert_json_payload(run), str(run.args))
    elif output_format == "csv":
        check_header(assert_csv_payload(run.stdout, str(run))[0], str(run.args))
    else:
        assert_table(run)


_LOG_STAMP = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ )?"


def assert_one_error_line(run: Run, exit_code: int) -> str:
    """Exit ``exit_code``, nothing on stdout, one ``commitopt: error:`` line and nothing else
    on stderr but ``commitopt:`` notes (with a log timestamp when stderr is not a terminal)."""
    assert run.exit_code == exit_code, str(run)
    assert "Traceback" not in run.stderr, str(run)
    assert run.stdout == "", f"stdout must be empty when the command fails:\n{run}"
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(ERROR_PREFIX)]
    assert len(errors) == 1, f"expected exactly one {ERROR_PREFIX!r} line:\n{run}"
    others = [
        line
        for line in lines
        if not line.startswith(ERROR_PREFIX) and not re.match(f"{_LOG_STAMP}commitopt: ", line)
    ]
    assert not others, f"stderr lines that are neither the error nor notes {others}:\n{run}"
    return errors[0]


# -- the cases ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "output_format"), _params(OUTPUT_CASES))
def test_command_prints_its_format(
    case: Case, output_format: str, sandbox: Sandbox, cli_inputs: CliInputs
) -> None:
    """Each command exits 0 and prints a parseable payload (or a 100-column table) on stdout."""
    assert_payload(sandbox.run(*case.argv(cli_inputs, output_format)), output_format)


@pytest.mark.parametrize("output_format", REPORT_FORMATS)
def test_report_writes_the_file_and_prints_its_path(
    output_format: str, sandbox: Sandbox, cli_inputs: CliInputs
) -> None:
    """``report`` writes the report file in its format and prints the file's path."""
    out = f"report.{output_format}"
    run = require_success(
        sandbox.run(
            "report", str(cli_inputs.plan_json), "--lookback", "30d",
            "--format", output_format, "--out", out,
        )
    )  # fmt: skip
    printed = run.stdout.strip()
    assert printed, f"report printed no path:\n{run}"
    path = Path(printed.splitlines()[-1].strip())
    path = path if path.is_absolute() else sandbox.folder / path
    assert path.is_file(), f"the printed path {path} is not a file:\n{run}"
    assert path.resolve() == (sandbox.folder / out).resolve(), f"not the --out file:\n{run}"
    text = path.read_text(encoding="utf-8")
    assert text.strip(), f"{path} is empty"
    if output_format == "json":
        check_fields(json.loads(text), str(path))
    elif output_format == "csv":
        check_header(assert_csv_payload(text, str(path))[0], str(path))


@pytest.mark.parametrize(("case", "output_format"), _params(AWS_CASES))
def test_aws_command_without_credentials_fails_cleanly(
    case: Case, output_format: str, sandbox: Sandbox, cli_inputs: CliInputs
) -> None:
    """Without AWS credentials: exit 3, one ``commitopt: error:`` line, nothing on stdout."""
    run = sandbox.run(*case.argv(cli_inputs, output_format))
    assert_one_error_line(run, EXIT_ENVIRONMENT)


@pytest.mark.parametrize(
    "solver_args", [pytest.param(a, id="-".join(a).strip("-")) for a in NATIVE_SOLVER_ARGS]
)
def test_recommend_json_with_native_solvers(solver_args: tuple[str, ...], sandbox: Sandbox) -> None:
    """What a solver prints from native code never reaches stdout ahead of the JSON."""
    # the solver's output is the point, not the decision: the lookback's model is the small one
    # (the full LP over the futures is 40 × larger: --exact on futures takes minutes)
    run = sandbox.run(
        "recommend", "--lookback", "30d", "--decide-on", "lookback", "--format", "json",
        *solver_args,
    )  # fmt: skip
    require_success(run)
    assert_json_payload(run)


# -- the cases cover every command -------------------------------------------------------------


def test_cases_cover_every_command_and_format(help_tree: dict[str, HelpEntry]) -> None:
    """A command or format the help lists but no case runs fails here (add a case for it)."""
    offered = set(iter_formatted(help_tree))
    missing = sorted(offered - covered())
    assert not missing, f"(command, --format) pairs the help offers and no case runs: {missing}"
    stale = sorted(covered() - offered)
    assert not stale, f"cases for (command, --format) pairs the help does not offer: {stale}"
    leaves = {name for name, entry in help_tree.items() if not entry.subcommands}
    without_case = sorted(leaves - {command for command, _ in covered()})
    assert not without_case, f"commands without a case: {without_case}"


def test_help_lists_every_command(empty_sandbox: Sandbox) -> None:
    """``commitopt --help`` exits 0 and lists every command, as registered and as covered."""
    from commitopt.cli import COMMANDS

    run = require_success(empty_sandbox.run("--help"))
    assert "Commands:" in run.stdout, f"the help must go to stdout (`commitopt -h | less`):\n{run}"
    listed = set(listed_commands(run.stdout))
    assert listed == set(COMMANDS), f"--help lists {sorted(listed)}, registered {sorted(COMMANDS)}"
    assert listed == {command.split()[0] for command, _ in covered()}, str(run)


def test_version_goes_to_stdout(empty_sandbox: Sandbox) -> None:
    """``commitopt --version`` exits 0 and prints the version on stdout (for scripts)."""
    run = require_success(empty_sandbox.run("--version"))
    assert re.search(r"\d+\.\d+", run.stdout), f"no version on stdout:\n{run}"


def test_cli_import_loads_no_heavy_module(empty_sandbox: Sandbox) -> None:
    """``import commitopt.cli`` (all ``commitopt --help`` needs) loads no numeric stack."""
    run = run_commitopt(
        Path(sys.executable), ("-X", "importtime", "-c", "import commitopt.cli"),
        cwd=empty_sandbox.folder, env=empty_sandbox.env,
    )  # fmt: skip
    assert run.exit_code == 0, str(run)
    imported = {
        match.group(1)
        for line in run.stderr.splitlines()
        if (match := re.match(r"import time:\s*\d+\s*\|\s*\d+\s*\|\s*(\S+)\s*$", line))
    }
    assert "commitopt.cli" in imported, f"no importtime lines parsed:\n{run.stderr[:2000]}"
    heavy = sorted(name for name in imported if name.split(".")[0] in HEAVY_MODULES)
    assert not heavy, f"`import commitopt.cli` imports {heavy}"


def test_the_glossary_defines_each_field_once() -> None:
    """The glossary parses, and a typo in a field name cannot pass for a definition."""
    fields = defined_fields()
    assert {"on_demand_cost_usd", "savings_vs_current_usd", "coverage_pct"} <= fields
    assert "savings_usd" not in fields and "coverage" not in fields  # the ambiguous names
    from tests.cli.glossary import GLOSSARY

    text = GLOSSARY.read_text(encoding="utf-8")
    first_cells = [
        name
        for line in text.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([A-Za-z][A-Za-z0-9_]*)`", line.split("|")[1])
    ]
    repeated = sorted({name for name in first_cells if first_cells.count(name) > 1})
    assert not repeated, f"fields defined twice in docs/glossary.md: {repeated}"


def test_an_undefined_field_fails_the_check() -> None:
    """The check can fail: an unknown name, a fraction under a _pct name's bounds, a bad count."""
    with pytest.raises(AssertionError, match="not defined"):
        check_fields({"savings_usd": 1.0}, "made up")
    with pytest.raises(AssertionError, match="not a number"):
        check_fields({"actual_cost_usd": "12"}, "made up")
    with pytest.raises(AssertionError, match="no count"):
        check_fields({"purchase_count": -1}, "made up")
    with pytest.raises(AssertionError, match="not true/false"):
        check_fields({"is_knee": "yes"}, "made up")
