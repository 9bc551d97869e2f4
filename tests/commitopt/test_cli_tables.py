"""Tables people read fit 100 columns, and help and docs cite only repository files.

The width test measures each table's minimum width: the narrowest it can be drawn without
breaking a number, an id or a word across lines (text wraps at spaces, headings word by word).
rich squeezes any table into 100 columns by folding whatever it must, so checking printed lines
alone could not fail.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import pytest
from rich.console import Console

import commitopt.cli.output as output
from commitopt.cli import cli
from tests.commitopt.conftest import RunCli
from usage.synthetic import demo_usage

REPOSITORY = Path(__file__).resolve().parents[2]
CUR = REPOSITORY / "tests/data/cur/wal_Oct2018-WorkshopCUR-ec2-trimmed.zstd.parquet"
SCENARIO = REPOSITORY / "examples/scenarios/growth.yaml"


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every table rendered, with its minimum width [characters]."""
    seen: list[tuple[str, int]] = []
    render = output.render_table

    def measured(frame: Any, **options: Any) -> Any:
        table = render(frame, **options)
        width = Console(width=10_000).measure(table).minimum
        seen.append((str(options.get("title")), width))
        return table

    monkeypatch.setattr(output, "render_table", measured)
    return seen


def test_every_default_table_fits_100_columns(
    run_cli: RunCli, tmp_path: Path, tables: list[tuple[str, int]]
) -> None:
    demo_usage(hours=24 * 70).to_csv("usage.csv", index=False)
    setup = [
        ("usage", "import", "usage.csv"),
        ("recommend", "--lookback", "30d", "--format", "json", "--out", "plan.json"),
        ("plans", "add", "plan.json"),
    ]
    for args in setup:
        assert run_cli(*args, "-q").exit_code == 0, args
    plan = json.loads((tmp_path / "plan.json").read_text())
    owned = {"purchases": [{**p, "start": "2024-01-01T00:00:00Z"} for p in plan["purchases"]]}
    (tmp_path / "owned.json").write_text(json.dumps(owned))
    commands = [
        ("recommend", "--lookback", "30d", "--explain"),
        ("simulate", "--portfolio", "plan.json", "--by", "region"),
        ("simulate", "--portfolio", "plan.json", "--scenario", str(SCENARIO), "--by", "month"),
        ("review", "--lookback", "30d", "--paths", "10", "--horizon", "30d"),
        ("backtest", "--lookback", "30d", "--policy", "none", "--policy", "ce-30d"),
        ("frontier", "--portfolio", "plan.json", "--steps", "4"),
        (
            "frontier",
            "--portfolio",
            "plan.json",
            "--steps",
            "4",
            "--paths",
            "5",
            "--horizon",
            "30d",
        ),
        ("forecast", "--horizon", "8w", "--paths", "10", "--lookback", "28d"),
        ("plans",),
        ("plans", "show", "plan-" + _plan_day() + "-1"),
        ("usage", "summary"),
        ("usage", "import", str(CUR), "--workspace", "cur.duckdb"),
        ("pricing", "show", "-r", "us-east-1", "-t", "m4.large,c4.xlarge"),
        ("pricing", "import", str(CUR), "--into", "other.parquet"),
        ("inventory", "show", "--portfolio", "owned.json", "--as-of", "2024-03-01"),
        ("config",),
    ]
    for args in commands:
        tables.clear()
        result = run_cli(*args, "-q")
        assert result.exit_code == 0, (args, result.stderr)
        assert tables or args[0] == "review", args  # review prints its figures only
        for title, width in tables:
            assert width <= output.TABLE_WIDTH, (args, title, width)
    tables.clear()
    wide = run_cli("usage", "summary", "--wide", "-q")
    assert wide.exit_code == 0 and len(wide.stdout.splitlines()[3]) > output.TABLE_WIDTH


def _plan_day() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y%m%d")


# --- help and docs cite only the repository --------------------------------------------------

CITED = re.compile(r"\b((?:docs|examples|notebooks|benchmarks|scripts)/[\w./-]*\w)")


def _every_command() -> list[tuple[str, click.Command, click.Context]]:
    """Each command with a context made as the CLI makes it (click caches a command's help
    option from the first context it sees, so a bare context would drop ``-h``)."""
    found: list[tuple[str, click.Command, click.Context]] = []

    def walk(prefix: str, command: click.Command, context: click.Context) -> None:
        found.append((prefix, command, context))
        if isinstance(command, click.Group):
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None, name
                walk(f"{prefix} {name}", sub, click.Context(sub, parent=context, info_name=name))

    root = click.Context(cli, info_name="commitopt", **cli.context_settings)
    walk("commitopt", cli, root)
    return found


def test_help_texts_cite_only_files_of_the_repository() -> None:
    for name, command, context in _every_command():
        text = command.get_help(context)
        assert "DESIGN" not in text, name
        for cited in CITED.findall(text):
            path = REPOSITORY / cited
            assert path.exists() or list(REPOSITORY.glob(cited)), (name, cited)


def test_docs_and_readme_link_only_to_files_of_the_repository() -> None:
    pages = [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "DESIGN.md" not in text, page.name
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (page.parent / target).exists(), (page.name, target)


def test_every_command_has_examples_and_the_exit_codes_are_in_the_root_help() -> None:
    commands = _every_command()
    root = " ".join(cli.get_help(commands[0][2]).split())
    assert "Exit codes: 0 ok, 1 ran but a threshold was not met, 2 bad input" in root
    assert "3 environment" in root
    for name, command, context in commands:
        if isinstance(command, click.Group) and name != "commitopt plans":
            continue
        text = command.get_help(context)
        assert "-h, --help" in text, name
        assert "Examples:" in text, name


def test_the_root_help_lists_each_command_with_its_own_short_help() -> None:
    from commitopt.cli import COMMANDS

    context = click.Context(cli, info_name="commitopt", **cli.context_settings)
    for name, lazy in COMMANDS.items():
        command = cli.get_command(context, name)
        assert command is not None
        assert command.get_short_help_str(limit=1_000) == lazy.short_help, name
