"""The complete examples of the file-format pages run as their pages say.

Each page under ``docs/`` that defines a file format carries a complete example; these tests cut
the examples out of the Markdown (fenced blocks, in page order), write them to a sandbox, run the
commands the page shows through the installed console script, and compare what it prints with
what the page prints. A page whose example no longer runs, or whose shown output drifted from the
program's, fails here.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from typing import Final

from tests.cli.conftest import (
    EXIT_BAD_INPUT,
    REPO,
    Run,
    Sandbox,
    require_success,
)

DOCS: Final = REPO / "docs"
_FENCE: Final = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_RULE: Final = "─"


@dataclass(frozen=True)
class Block:
    """One fenced block of a page: its language tag and its text."""

    language: str
    text: str


def blocks(page: str) -> list[Block]:
    """The fenced blocks of ``docs/PAGE`` in page order."""
    text = (DOCS / page).read_text(encoding="utf-8")
    return [Block(match[1], match[2]) for match in _FENCE.finditer(text)]


def first(page: str, language: str, nth: int = 0) -> str:
    """The text of the ``nth`` block tagged ``language`` on ``docs/PAGE``."""
    found = [block.text for block in blocks(page) if block.language == language]
    assert len(found) > nth, f"docs/{page} has {len(found)} ```{language} blocks"
    return found[nth]


@dataclass(frozen=True)
class Shown:
    """One command of a ``console`` block and the output the page shows for it."""

    args: list[str]
    output: list[str]


def console(text: str) -> list[Shown]:
    """The ``$ command`` lines of a console block, each with the lines shown after it."""
    shown: list[Shown] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            shown.append(Shown(shlex.split(line[2:]), []))
        else:
            assert shown, f"console block starts with output: {line!r}"
            shown[-1].output.append(line)
    return shown


def run_shown(sandbox: Sandbox, command: Shown, **replace: str) -> Run:
    """Run a shown ``commitopt`` command in the sandbox, with arguments replaced as given."""
    assert command.args[0] == "commitopt", command.args
    args = [replace.get(arg, arg) for arg in command.args[1:]]
    return require_success(sandbox.run(*args))


def table_rows(lines: list[str]) -> list[str]:
    """The data rows of a table: the lines after its rule, right-trimmed."""
    rule = next(index for index, line in enumerate(lines) if line.startswith(_RULE * 10))
    return [line.rstrip() for line in lines[rule + 1 :] if line.strip()]


def test_usage_table_example_imports_and_summarizes_as_shown(empty_sandbox: Sandbox) -> None:
    page = "usage-table.md"
    (empty_sandbox.folder / "example.csv").write_text(first(page, "csv"), encoding="utf-8")
    commands = [
        command
        for block in blocks(page)[:3]
        if block.language == "console"
        for command in console(block.text)
    ]
    imported, summarized = commands[0], commands[1]
    workspace = str(empty_sandbox.workspace)

    run = run_shown(empty_sandbox, imported, **{"/tmp/x.duckdb": workspace})
    shown = json.loads("\n".join(imported.output))
    printed = json.loads(run.stdout)
    assert printed.pop("workspace") == workspace
    shown.pop("workspace")
    assert printed == shown

    run = run_shown(empty_sandbox, summarized, **{"/tmp/x.duckdb": workspace})
    assert table_rows(run.stdout.splitlines()) == table_rows(summarized.output)
    note = summarized.output[0]
    assert note.startswith("commitopt: using the embedded price catalog")
    assert note in run.stderr


def test_portfolio_examples_load(empty_sandbox: Sandbox) -> None:
    page = "portfolio-format.md"
    recommended, owned = (json.loads(first(page, "json", nth)) for nth in (0, 1))
    (empty_sandbox.folder / "recommended.json").write_text(json.dumps(recommended), "utf-8")
    (empty_sandbox.folder / "owned.json").write_text(json.dumps(owned), "utf-8")

    run = require_success(empty_sandbox.run("plans", "add", "recommended.json", "--format", "json"))
    assert json.loads(run.stdout)["line_count"] == len(recommended["purchases"])
    run = require_success(
        empty_sandbox.run("inventory", "show", "--portfolio", "owned.json", "--format", "json")
    )
    listed = [row["id"] for row in json.loads(run.stdout)]
    assert listed == [item["id"] for item in owned["purchases"]]


def test_portfolio_error_examples_are_what_the_reader_says(empty_sandbox: Sandbox) -> None:
    page = "portfolio-format.md"
    owned = json.loads(first(page, "json", 1))
    missing_start = json.loads(json.dumps(owned))
    del missing_start["purchases"][0]["start"]
    wrong_units = json.loads(json.dumps(owned))
    wrong_units["purchases"][0]["normalized_units"] = 12
    shown = first(page, "text").splitlines()
    for document, message in zip((missing_start, wrong_units), shown, strict=True):
        path = empty_sandbox.folder / "owned.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        run = empty_sandbox.run("inventory", "show", "--portfolio", "owned.json")
        assert run.exit_code == EXIT_BAD_INPUT, str(run)
        assert run.stderr.strip().splitlines()[-1] == message, str(run)


def test_scenario_file_example_simulates_as_shown(empty_sandbox: Sandbox) -> None:
    page = "scenario-file.md"
    folder = empty_sandbox.folder
    (folder / "everything.yaml").write_text(first(page, "yaml"), encoding="utf-8")
    (folder / "batch.csv").write_text(first(page, "csv"), encoding="utf-8")
    made, recommended, simulated = console(first(page, "console"))
    assert made.args[:2] == ["python3", "-c"]
    subprocess.run([sys.executable, *made.args[1:]], cwd=folder, check=True)
    run_shown(empty_sandbox, recommended)
    run = run_shown(empty_sandbox, simulated)
    assert table_rows(run.stdout.splitlines()) == table_rows(simulated.output)

    (folder / "price-cut.json").write_text(first(page, "json"), encoding="utf-8")
    usage, portfolio = simulated.args[3], simulated.args[5]
    run = require_success(
        empty_sandbox.run(
            "simulate",
            "--usage",
            usage,
            "--portfolio",
            portfolio,
            "--scenario",
            "price-cut.json",
            "--format",
            "json",
        )
    )
    names = [row["scenario"] for row in json.loads(run.stdout)]
    assert names == ["baseline", "price-cut"]
