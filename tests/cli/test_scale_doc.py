"""Every command docs/scale.md shows parses as written: its command, options and values exist.

The page's commands need AWS (Athena, the Price List API) or a large workspace, so they are not
run here; each is parsed by the command it names, through click, as the installed script would
parse it (unknown options, missing required ones and bad values fail). The local ones
(recommend per region, review, imports, remove, prune) were run on a workspace when the page
was written.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import click
import pytest

from commitopt.cli import cli
from tests.cli.conftest import REPO

_FENCE = re.compile(r"^```bash\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _commands(page: Path) -> list[list[str]]:
    """The ``commitopt`` command lines of the page's bash blocks, comments and ``\\`` joined."""
    found = []
    for block in _FENCE.findall(page.read_text(encoding="utf-8")):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "commitopt":
                found.append(words)
    return found


def _parse(words: list[str]) -> None:
    """Resolve the subcommand and let click parse the rest as the script would."""
    context = cli.make_context("commitopt", [], resilient_parsing=True)
    command: click.Command = cli
    rest = words[1:]
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.get_command(context, rest[0])
        assert sub is not None, f"no command {rest[0]!r} in {' '.join(words)}"
        context = click.Context(sub, parent=context, info_name=rest[0])
        command, rest = sub, rest[1:]
    with command.make_context(context.info_name, rest, parent=context.parent):
        pass


def test_scale_page_commands_parse(tmp_path: Path) -> None:
    commands = _commands(REPO / "docs" / "scale.md")
    assert len(commands) >= 10
    for name in ("owned.json", "index.csv", "us-east-1.csv.gz", "savings-plans-us-east-1.csv"):
        (tmp_path / name).write_text("{}\n")  # options that want an existing file get one
    here = Path.cwd()
    os.chdir(tmp_path)
    try:
        for words in commands:
            _parse(words)
    finally:
        os.chdir(here)


def test_a_wrong_option_fails_the_parse() -> None:
    with pytest.raises(click.UsageError):
        _parse(["commitopt", "usage", "import-athena", "--database", "d", "--tabel", "t"])


def test_a_missing_required_option_fails_the_parse() -> None:
    with pytest.raises(click.UsageError):
        _parse(["commitopt", "usage", "import-athena", "--database", "d", "--from", "2026-01-01"])
