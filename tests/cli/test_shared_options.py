"""Shared options through the console script: declared once, one help, one duration grammar.

Every option that several commands have is declared in ``commitopt/cli/options.py`` (the input
options through ``commitopt.cli.inputs.input_options``), so its help reads the same in every
command; every duration option takes the grammar of ``core.durations``; notes and warnings go to
standard error, so that ``--format json`` leaves standard output to the payload alone.
"""

from __future__ import annotations

import ast
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

import pytest

from tests.cli.conftest import EXIT_BAD_INPUT, REPO, Run, Sandbox, require_success
from tests.cli.test_every_command import assert_one_error_line

SHARED_OPTIONS: Final = (
    "--usage", "--demo", "--inventory", "--bill-inventory", "--workspace", "--wait", "--catalog",
    "--no-embedded", "--lookback", "--horizon", "--paths", "--seed", "--expiring-within",
    "--no-sharing", "--discount-rate", "--from", "--to", "--from-aws",
)  # fmt: skip
"""Options more than one command has, each declared once in ``commitopt/cli/options.py``."""

COMMANDS: Final = (
    ("recommend",), ("simulate",), ("review",), ("report",), ("frontier",), ("backtest",),
    ("forecast",), ("demo",), ("usage", "summary"), ("inventory", "show"),
)  # fmt: skip
"""The commands that take shared options."""

CLI_FOLDER: Final = REPO / "commitopt" / "cli"
OPTIONS_MODULE: Final = CLI_FOLDER / "options.py"

_OPTION_LINE: Final = re.compile(r"^  (-\w, )?(--[a-z][a-z-]*)")
_ANNOTATIONS: Final = re.compile(r"\[(default: [^\]]*|x>=0)\]")


def option_helps(help_text: str) -> dict[str, str]:
    """Each long option of a ``-h`` screen → its help, without whitespace, defaults and ranges
    (wrapping and defaults may differ between commands; the words may not)."""
    helps: dict[str, list[str]] = {}
    current: str | None = None
    in_options = False
    for line in help_text.splitlines():
        if line.strip() == "Options:":
            in_options = True
            continue
        if not in_options:
            continue
        if not line.strip():
            break  # the options end with a blank line; the epilog follows
        match = _OPTION_LINE.match(line)
        if match:
            current = match.group(2)
            helps[current] = [line[match.end() :]]
        elif current is not None:
            helps[current].append(line)
    return {
        name: re.sub(r"\s+", "", _ANNOTATIONS.sub("", re.sub(r"^\S*", "", " ".join(parts).strip())))
        for name, parts in helps.items()
    }


@pytest.fixture(scope="module")
def help_screens(empty_sandbox: Sandbox) -> dict[str, str]:
    """``commitopt COMMAND -h`` of every command that takes shared options."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs: list[Run] = list(pool.map(lambda path: empty_sandbox.run(*path, "-h"), COMMANDS))
    return {" ".join(run.args[:-1]): require_success(run).stdout for run in runs}


@pytest.fixture(scope="module")
def empty_sandbox(script: Path, tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """A folder without a workspace, shared by this module's read-only runs."""
    from tests.cli.conftest import commitopt_env

    folder = tmp_path_factory.mktemp("shared-options")
    return Sandbox(script, folder, commitopt_env(folder))


def test_each_shared_option_has_one_help(help_screens: dict[str, str]) -> None:
    """A shared option's help reads the same in every command that has it."""
    seen: dict[str, dict[str, str]] = {}
    for command, screen in help_screens.items():
        for name, text in option_helps(screen).items():
            if name in SHARED_OPTIONS:
                seen.setdefault(name, {})[command] = text
    assert {"--usage", "--lookback", "--inventory", "--horizon"} <= set(seen), seen.keys()
    for name, by_command in seen.items():
        assert len(set(by_command.values())) == 1, f"{name} has several helps: {by_command}"
    assert len(seen["--usage"]) >= 7 and len(seen["--lookback"]) >= 6, seen


def _declared_flags(path: Path) -> list[tuple[int, str]]:
    """``(line, flag)`` of every option a module declares with ``click.option``,
    ``multi_option`` or the like (their string arguments that start with ``--``)."""
    declared: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
        if not name.endswith("option"):  # click.option, multi_option, duration_option, ...
            continue
        for argument in node.args:
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                declared.extend(
                    (node.lineno, flag)
                    for flag in argument.value.split("/")
                    if flag.startswith("--")
                )
    return declared


def test_no_command_module_declares_a_shared_option() -> None:
    """Shared options are declared in options.py only; command modules use its decorators."""
    assert {flag for _, flag in _declared_flags(OPTIONS_MODULE)} >= {
        "--usage", "--inventory", "--lookback", "--horizon", "--workspace", "--catalog",
    }  # fmt: skip
    offending = [
        f"{path.name}:{line} declares {flag}"
        for path in sorted(CLI_FOLDER.glob("*.py"))
        if path != OPTIONS_MODULE
        for line, flag in _declared_flags(path)
        if flag in SHARED_OPTIONS
    ]
    assert not offending, "use the decorators of commitopt/cli/options.py:\n" + "\n".join(offending)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            ("recommend", "--demo", "--lookback", "3mo", "--decide-on", "lookback"),
            id="recommend-lookback-3mo",
        ),
        pytest.param(
            ("forecast", "--demo", "--lookback", "3mo", "--horizon", "3mo", "--paths", "10"),
            id="forecast-lookback-horizon-3mo",
        ),
    ],
)
def test_months_are_a_duration_everywhere(empty_sandbox: Sandbox, args: tuple[str, ...]) -> None:
    """``3mo`` is a duration for ``--lookback`` as for ``--horizon``."""
    run = require_success(empty_sandbox.run(*args, "--format", "json"))
    json.loads(run.stdout)


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (("recommend", "--lookback", "3x"), "--lookback"),
        (("forecast", "--horizon", "3x"), "--horizon"),
        (("review", "--expiring-within", "3x"), "--expiring-within"),
        (("inventory", "show", "--expiring-within", "3x"), "--expiring-within"),
    ],
)
def test_a_bad_duration_reads_the_same_for_every_option(
    empty_sandbox: Sandbox, args: tuple[str, ...], flag: str
) -> None:
    """One sentence, naming the flag, for every duration option."""
    line = assert_one_error_line(empty_sandbox.run(*args), EXIT_BAD_INPUT)
    assert line == (
        f"commitopt: error: {flag} '3x' is not a duration; write e.g. 720h, 30d, 8w, 6mo or 1y"
    ), line


def test_notices_go_to_stderr_with_format_json(empty_sandbox: Sandbox) -> None:
    """The embedded catalog's note and the lookback warning are on stderr; stdout is the JSON."""
    run = require_success(
        empty_sandbox.run("recommend", "--demo", "--lookback", "90d", "--format", "json")
    )
    payload = json.loads(run.stdout)
    assert "purchases" in payload
    assert "embedded price catalog" in run.stderr, str(run)
    assert "--lookback 90d is longer than the usage" in run.stderr, str(run)
    assert "commitopt:" not in run.stdout
