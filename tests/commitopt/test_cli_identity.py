"""Who did it, through the installed console script: identities recorded and printed inert.

Every run is a subprocess of the ``commitopt`` script beside this Python, with no AWS
credentials (tests/cli/conftest.py's environment) and the OS user set through ``LOGNAME``.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from tests.cli.conftest import Run, commitopt_env, commitopt_script, run_commitopt
from tests.commitopt.identities import os_user_env
from tests.commitopt.purchase_stubs import PORTFOLIO

MARKUP_AND_ESCAPE = "[bold red]x[/] \x1b[31mred"
"""A comment that would be bold red in rich and red on a terminal, if printed as is."""


def _run(folder: Path, user: str, *args: str) -> Run:
    env = commitopt_env(folder, **os_user_env(user))
    return run_commitopt(commitopt_script(), args, cwd=folder, env=env)


def _printed_inert(text: str) -> None:
    assert "\x1b" not in text, "a raw escape character reached the terminal"
    assert "[bold red]x[/]" in text, "the markup was interpreted (or dropped)"
    assert "\\x1b[31mred" in text, "the escape sequence is not shown as text"


def test_names_and_comments_are_printed_inert(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text(json.dumps(PORTFOLIO), encoding="utf-8")
    added = _run(tmp_path, "planner", "plans", "add", "plan.json", "--format", "json")
    assert added.exit_code == 0, added
    plan_id = json.loads(added.stdout)["plan_id"]
    odd_user = "[bold red]eve[/]\x1b[31m"
    decided = _run(tmp_path, odd_user, "reject", plan_id, "--comment", MARKUP_AND_ESCAPE)
    assert decided.exit_code == 0, decided
    _printed_inert(decided.stdout)
    assert "[bold red]eve[/]\\x1b[31m@" in decided.stdout
    shown = _run(tmp_path, "planner", "plans", "show", plan_id, "--wide")
    assert shown.exit_code == 0, shown
    _printed_inert(shown.stdout)
    assert "rejected by [bold red]eve[/]\\x1b[31m@" in shown.stdout
    listed = _run(tmp_path, "planner", "plans", "--wide")
    assert listed.exit_code == 0 and "\x1b" not in listed.stdout, listed
    assert "[bold red]eve[/]\\x1b[31m@" in listed.stdout
    # stored as given: JSON carries the exact text
    as_json = json.loads(
        _run(tmp_path, "planner", "plans", "show", plan_id, "--format", "json").stdout
    )
    decision = as_json["history"][1]
    assert decision["detail"] == MARKUP_AND_ESCAPE and decision["by_principal"] == odd_user
    connection = duckdb.connect(str(tmp_path / "commitopt.duckdb"), read_only=True)
    try:
        stored = connection.execute("SELECT approver, comment FROM approvals").fetchall()
    finally:
        connection.close()
    assert stored[0][1] == MARKUP_AND_ESCAPE and stored[0][0].startswith(odd_user + "@")


def test_long_comments_are_cut_in_tables_only(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text(json.dumps(PORTFOLIO), encoding="utf-8")
    added = _run(tmp_path, "planner", "plans", "add", "plan.json", "--format", "json")
    plan_id = json.loads(added.stdout)["plan_id"]
    comment = "because " * 200 + "END"
    assert _run(tmp_path, "ann", "approve", plan_id, "--comment", comment).exit_code == 0
    table = _run(tmp_path, "planner", "plans", "show", plan_id)
    assert table.exit_code == 0 and "…" in table.stdout and "END" not in table.stdout
    as_json = json.loads(
        _run(tmp_path, "planner", "plans", "show", plan_id, "--format", "json").stdout
    )
    assert as_json["history"][1]["detail"] == comment
    too_long = _run(tmp_path, "ann", "reject", plan_id, "--comment", "x" * 2001)
    assert too_long.exit_code == 2 and too_long.stderr.count("\n") == 1
    assert "more than 2,000" in too_long.stderr


def test_the_creator_cannot_approve_through_the_script(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text(json.dumps(PORTFOLIO), encoding="utf-8")
    added = _run(tmp_path, "ann", "plans", "add", "plan.json", "--format", "json")
    plan_id = json.loads(added.stdout)["plan_id"]
    own = _run(tmp_path, "ann", "approve", plan_id)
    assert own.exit_code == 2 and "may not approve it too" in own.stderr, own
    other = _run(tmp_path, "bob", "approve", plan_id, "--format", "json")
    assert other.exit_code == 0, other
    assert json.loads(other.stdout)["by_principal"] == "bob"
