"""Bad usage files, refused (or warned about) alike by ``recommend --usage`` and ``usage import``.

An absurd quantity (``1e308``), an instance type commitopt does not know (``z99.mega``,
``m4.huge``) and rows that share an hour and key stop both paths with one line naming the file,
the row or column and a fix a command-line user can follow, exit code 2 and nothing written;
rows a day apart get the same warning on both. Every case runs the installed console script on a
file made in ``tmp_path``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

import pandas as pd

from tests.cli.conftest import EXIT_BAD_INPUT, Sandbox, require_success
from tests.cli.test_every_command import assert_one_error_line
from tests.cli.test_usage_import_streamed import _snapshot

HEADER: Final = "hour,region,instance_type,platform,tenancy,quantity"
BAD_ROW: Final = 5
"""The 0-based data row of each bad file that is wrong."""
HOURS: Final = pd.date_range("2024-03-01", periods=48, freq="h", tz="UTC")
BOTH_PATHS: Final = (("recommend", "--usage"), ("usage", "import"))


def _csv(path: Path, *, instance_type: str = "m4.large", quantity: str = "2") -> Path:
    """48 hours of one m4.large key (2 instances); row :data:`BAD_ROW` has ``instance_type``
    and ``quantity``."""
    rows = "".join(
        f"{hour:%Y-%m-%dT%H:%M:%SZ},us-east-1,"
        f"{instance_type if row == BAD_ROW else 'm4.large'},Linux/UNIX,Shared,"
        f"{quantity if row == BAD_ROW else '2'}\n"
        for row, hour in enumerate(HOURS)
    )
    path.write_text(HEADER + "\n" + rows, encoding="utf-8")
    return path


def _refused_alike(sandbox: Sandbox, path: Path) -> list[str]:
    """The error line of each path (exit 2, one line naming the file); an import changes
    nothing in a workspace that holds usage already."""
    good = _csv(sandbox.folder / "good.csv")
    require_success(sandbox.run("usage", "import", str(good), "--format", "json"))
    before = _snapshot(sandbox.workspace)
    lines = []
    for args in BOTH_PATHS:
        line = assert_one_error_line(sandbox.run(*args, str(path)), EXIT_BAD_INPUT)
        assert str(path) in line, f"{args}: {line}"
        lines.append(line)
    assert _snapshot(sandbox.workspace) == before
    return lines


def test_an_absurd_quantity_is_refused_naming_the_row(empty_sandbox: Sandbox) -> None:
    path = _csv(empty_sandbox.folder / "huge.csv", quantity="1e308")
    for line in _refused_alike(empty_sandbox, path):
        assert f"column quantity: row {BAD_ROW} ('1e308')" in line, line
        assert "plausible bound of 1,000,000 instance-hours for one key in one hour" in line
        assert "correct the value" in line, line


def test_an_unknown_instance_type_names_the_file_and_row(empty_sandbox: Sandbox) -> None:
    path = _csv(empty_sandbox.folder / "typo.csv", instance_type="z99.mega")
    used, imported = _refused_alike(empty_sandbox, path)
    assert f"column instance_type: row {BAD_ROW} ('z99.mega') is not a known EC2 instance type" in (
        used
    ), used
    assert "unknown family z99" in used and "such as m5.large" in used, used
    assert "unknown instance size 'mega' in 'z99.mega'" not in used, used
    assert f"not known EC2 instance types: row {BAD_ROW} ('z99.mega')" in imported, imported
    assert "--allow-unknown-types" in imported, imported


def test_an_unknown_size_of_a_known_family_is_refused_alike(empty_sandbox: Sandbox) -> None:
    """``m5.huge`` was imported, then stopped ``recommend`` without naming where it came from."""
    path = _csv(empty_sandbox.folder / "huge_size.csv", instance_type="m4.huge")
    used, imported = _refused_alike(empty_sandbox, path)
    for line in (used, imported):
        assert f"column instance_type: row {BAD_ROW} ('m4.huge') is not a known EC2 instance " in (
            line
        ), line
        assert "unknown size 'huge'" in line and "such as m5.large" in line, line
    stored = require_success(
        empty_sandbox.run("usage", "import", str(path), "--allow-unknown-types", "--format", "json")
    )
    assert json.loads(stored.stdout)["usage_row_count"] == len(HOURS), stored.stdout


def test_duplicate_rows_get_a_fix_the_command_line_can_follow(empty_sandbox: Sandbox) -> None:
    path = _csv(empty_sandbox.folder / "twice.csv")
    path.write_text(
        path.read_text(encoding="utf-8") + f"{HOURS[BAD_ROW]:%Y-%m-%dT%H:%M:%SZ},us-east-1,"
        "m4.large,Linux/UNIX,Shared,1\n",
        encoding="utf-8",
    )
    for line in _refused_alike(empty_sandbox, path):
        assert "2 rows share an hour and key" in line, line
        assert "or pass aggregate=True" not in line, line
        assert "sum them into one row per hour and key first (in SQL: GROUP BY hour" in line
        assert "the Python API: aggregate=True" in line, line


def test_rows_a_day_apart_warn_on_import_as_on_usage(empty_sandbox: Sandbox) -> None:
    days = pd.date_range("2024-03-01", periods=10, freq="D", tz="UTC")
    path = empty_sandbox.folder / "daily.csv"
    path.write_text(
        HEADER
        + "\n"
        + "".join(f"{day:%Y-%m-%dT%H:%M:%SZ},us-east-1,m4.large,Linux/UNIX,Shared,48\n"
                  for day in days),
        encoding="utf-8",
    )  # fmt: skip
    warning = "daily.csv: every key's rows are exactly 24 hours apart (one row a day)"
    used = require_success(empty_sandbox.run("recommend", "--usage", str(path)))
    imported = require_success(empty_sandbox.run("usage", "import", str(path)))
    for run in (used, imported):
        lines = [line for line in run.stderr.splitlines() if warning in line]
        assert len(lines) == 1 and "warning:" in lines[0], str(run)
    hourly = require_success(
        empty_sandbox.run("usage", "import", str(_csv(empty_sandbox.folder / "hourly.csv")))
    )
    assert "24 hours apart" not in hourly.stderr, str(hourly)
