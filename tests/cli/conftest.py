"""Run the installed ``commitopt`` console script in subprocesses, on inputs made by the CLI.

Nothing here calls the CLI in-process: every command runs through the console script beside the
Python that runs pytest (``Path(sys.executable).parent / "commitopt"``), so the suite tests the
environment it runs in. Each run gets its own folder as working directory, a workspace and a
local catalog inside it, no configuration file, no ``COLUMNS`` and no way to reach AWS.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

REPO: Final = Path(__file__).resolve().parents[2]
CUR_FIXTURE: Final = REPO / "tests/data/cur/wal_Oct2018-WorkshopCUR-ec2-trimmed.zstd.parquet"
GROWTH_SCENARIO: Final = REPO / "examples" / "scenarios" / "growth.yaml"

RUN_TIMEOUT_S: Final = 300.0
"""Longest any one command may run before the test fails [s]."""

USAGE_DAYS: Final = 70
"""Days of synthetic usage in the canonical usage CSV (2024-01-01 on)."""

OWNED_START: Final = "2024-01-01T00:00:00Z"
"""Start of every owned commitment (the first hour of the usage)."""

EXIT_OK: Final = 0
EXIT_BAD_INPUT: Final = 2
EXIT_ENVIRONMENT: Final = 3

ERROR_PREFIX: Final = "commitopt: error:"
NOTE_PREFIX: Final = "commitopt:"

ISOLATED_AWS: Final[Mapping[str, str]] = {
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""AWS settings of every run: no profile, no credentials file, no instance metadata."""


def commitopt_script() -> Path:
    """The console script of the environment running pytest; fails the test when missing."""
    script = Path(sys.executable).parent / "commitopt"
    if not script.is_file():
        pytest.fail(
            f"the commitopt console script is missing: {script} does not exist. Install the "
            f"project into the environment that runs pytest ({sys.executable} -m pip install -e "
            "'.[test]') and run the suite with that environment's python.",
            pytrace=False,
        )
    return script


def commitopt_env(folder: Path, **extra: str) -> dict[str, str]:
    """The environment of a run whose workspace and local catalog live in ``folder``.

    Every ``AWS_*`` and ``COMMITOPT_*`` variable of the calling environment is dropped (no
    credentials, profile or session token; no configuration file), as are ``COLUMNS`` and
    ``LINES``; ``extra`` is added last.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "COMMITOPT_")) and name not in ("COLUMNS", "LINES")
    }
    env.update(ISOLATED_AWS)
    env["COMMITOPT_WORKSPACE"] = str(folder / "commitopt.duckdb")
    env["COMMITOPT_CATALOG"] = str(folder / "commitopt-catalog.parquet")
    env.update(extra)
    return env


@dataclass(frozen=True)
class Run:
    """One finished run of the console script."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        """The command, its exit code and the ends of both streams (for assertion messages)."""
        return (
            f"`commitopt {shlex.join(self.args)}` exited {self.exit_code}\n"
            f"--- stdout ({len(self.stdout)} chars) ---\n{_tail(self.stdout)}\n"
            f"--- stderr ({len(self.stderr)} chars) ---\n{_tail(self.stderr)}"
        )


def _tail(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else f"[...]\n{text[-limit:]}"


def run_commitopt(
    script: Path,
    args: tuple[str, ...] | list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float = RUN_TIMEOUT_S,
) -> Run:
    """Run ``commitopt ARGS`` with stdout and stderr on pipes and no stdin; wait for its end."""
    try:
        done = subprocess.run(
            [str(script), *args],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"`commitopt {shlex.join(args)}` ran longer than {timeout_s:.0f} s: {expired}")
    return Run(tuple(args), done.returncode, done.stdout, done.stderr)


def require_success(run: Run) -> Run:
    """``run``, after failing the test unless it exited 0 without a traceback."""
    assert run.exit_code == EXIT_OK, str(run)
    assert "Traceback" not in run.stderr, str(run)
    return run


@dataclass(frozen=True)
class Sandbox:
    """A folder of its own (working directory, workspace, local catalog) to run commands in."""

    script: Path
    folder: Path
    env: Mapping[str, str]

    @property
    def workspace(self) -> Path:
        """The workspace file of the runs [path]."""
        return Path(self.env["COMMITOPT_WORKSPACE"])

    def run(self, *args: str, timeout_s: float = RUN_TIMEOUT_S) -> Run:
        """Run ``commitopt ARGS`` in this folder."""
        return run_commitopt(self.script, args, cwd=self.folder, env=self.env, timeout_s=timeout_s)


@dataclass(frozen=True)
class CliInputs:
    """Inputs built once per session through the CLI, and the workspace they were put in.

    Attributes
    ----------
    folder
        Where they were built.
    usage_csv
        Canonical hourly usage (``usage.synthetic.demo_usage``, :data:`USAGE_DAYS` days).
    empty_csv
        A usage file of zero bytes.
    cur
        The trimmed October 2018 CUR of ``tests/data``.
    other_catalog
        The CUR's rates, imported with ``pricing import --into``.
    plan_json
        ``recommend --lookback 30d --format json --out``.
    owned_json
        The same purchases, each with a start: a portfolio of owned commitments.
    approved_plan_id, proposed_plan_id
        Two stored copies of the plan: one approved by ``ann``, one still proposed.
    scenario
        ``examples/scenarios/growth.yaml``.
    workspace
        The workspace holding the imported usage and the stored plans.
    """

    folder: Path
    usage_csv: Path
    empty_csv: Path
    cur: Path
    other_catalog: Path
    plan_json: Path
    owned_json: Path
    approved_plan_id: str
    proposed_plan_id: str
    scenario: Path
    workspace: Path

    def placeholders(self) -> dict[str, str]:
        """The values of ``{name}`` in a case's arguments."""
        return {
            "usage": str(self.usage_csv),
            "empty": str(self.empty_csv),
            "cur": str(self.cur),
            "other_catalog": str(self.other_catalog),
            "plan": str(self.plan_json),
            "owned": str(self.owned_json),
            "plan_id": self.approved_plan_id,
            "proposed_plan_id": self.proposed_plan_id,
            "scenario": str(self.scenario),
        }


@pytest.fixture(scope="session")
def script() -> Path:
    """The ``commitopt`` console script under test."""
    return commitopt_script()


def _stored_plan_id(run: Run) -> str:
    payload: Any = json.loads(run.stdout)
    plan_id = payload.get("plan_id") if isinstance(payload, dict) else None
    assert isinstance(plan_id, str) and plan_id, f"no plan_id in the JSON of {run}"
    return plan_id


@pytest.fixture(scope="session")
def cli_inputs(script: Path, tmp_path_factory: pytest.TempPathFactory) -> CliInputs:
    """Usage, catalogs, a plan, owned commitments and stored plans, made through the CLI."""
    from usage.synthetic import demo_usage

    folder = tmp_path_factory.mktemp("cli-inputs")
    env = commitopt_env(folder)

    def cli(*args: str) -> Run:
        return require_success(run_commitopt(script, args, cwd=folder, env=env))

    usage_csv = folder / "usage.csv"
    demo_usage(hours=24 * USAGE_DAYS).to_csv(usage_csv, index=False)
    empty_csv = folder / "empty.csv"
    empty_csv.write_bytes(b"")

    json.loads(cli("usage", "import", usage_csv.name, "--format", "json").stdout)
    cli("pricing", "import", str(CUR_FIXTURE), "--into", "other.parquet")
    cli("recommend", "--lookback", "30d", "--format", "json", "--out", "plan.json")
    plan_json = folder / "plan.json"

    portfolio = json.loads(plan_json.read_text(encoding="utf-8"))
    assert portfolio["purchases"], f"the recommendation buys nothing: {plan_json}"
    for purchase in portfolio["purchases"]:
        purchase["start"] = OWNED_START
    owned_json = folder / "owned.json"
    owned_json.write_text(json.dumps(portfolio, indent=2), encoding="utf-8")

    # plans are stored by another OS user than the one who approves (the creator may not)
    planner = {**env, **{name: "planner" for name in ("LOGNAME", "USER", "LNAME", "USERNAME")}}

    def add_plan() -> str:
        added = run_commitopt(script, ("plans", "add", "plan.json", "--format", "json"),
                              cwd=folder, env=planner)  # fmt: skip
        return _stored_plan_id(require_success(added))

    approved = add_plan()
    cli("approve", approved)
    proposed = add_plan()
    return CliInputs(
        folder=folder,
        usage_csv=usage_csv,
        empty_csv=empty_csv,
        cur=CUR_FIXTURE,
        other_catalog=folder / "other.parquet",
        plan_json=plan_json,
        owned_json=owned_json,
        approved_plan_id=approved,
        proposed_plan_id=proposed,
        scenario=GROWTH_SCENARIO,
        workspace=Path(env["COMMITOPT_WORKSPACE"]),
    )


def copy_workspace(source: Path, target: Path) -> None:
    """Copy a DuckDB workspace (and its write-ahead log, if any) to ``target``."""
    shutil.copyfile(source, target)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))


@pytest.fixture
def sandbox(script: Path, cli_inputs: CliInputs, tmp_path: Path) -> Sandbox:
    """A fresh folder with its own copy of the session's workspace (so runs may change it)."""
    env = commitopt_env(tmp_path)
    copy_workspace(cli_inputs.workspace, Path(env["COMMITOPT_WORKSPACE"]))
    return Sandbox(script, tmp_path, env)


@pytest.fixture
def empty_sandbox(script: Path, tmp_path: Path) -> Sandbox:
    """A fresh folder without a workspace."""
    return Sandbox(script, tmp_path, commitopt_env(tmp_path))


# -- what the help lists -----------------------------------------------------------------------


@dataclass(frozen=True)
class HelpEntry:
    """What ``commitopt ... -h`` says of a command: its subcommands and ``--format`` choices."""

    path: tuple[str, ...]
    subcommands: tuple[str, ...]
    formats: tuple[str, ...]


_FORMAT_CHOICES = re.compile(r"--format \[([\w|-]+)\]")


def listed_commands(help_text: str) -> tuple[str, ...]:
    """The names in a click help's ``Commands:`` section."""
    names: list[str] = []
    in_section = False
    for line in help_text.splitlines():
        if line.strip() == "Commands:":
            in_section = True
            continue
        if in_section:
            if not line.strip():
                break
            match = re.match(r"^  (\S+)(\s|$)", line)
            if match:
                names.append(match.group(1))
    return tuple(names)


def format_choices(help_text: str) -> tuple[str, ...]:
    """The choices of ``--format`` in a command's help (none when it has no such option)."""
    match = _FORMAT_CHOICES.search(help_text)
    return tuple(match.group(1).split("|")) if match else ()


@pytest.fixture(scope="session")
def help_tree(script: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, HelpEntry]:
    """Every command and subcommand the help lists (``"usage import"``), read from ``-h``."""
    folder = tmp_path_factory.mktemp("cli-help")
    env = commitopt_env(folder)

    def read(path: tuple[str, ...]) -> HelpEntry:
        run = require_success(run_commitopt(script, (*path, "-h"), cwd=folder, env=env))
        # Either stream: which one the help goes to is test_help_lists_every_command's concern.
        text = f"{run.stdout}\n{run.stderr}"
        return HelpEntry(path, listed_commands(text), format_choices(text))

    root = read(())
    assert root.subcommands, f"`commitopt -h` lists no commands:\n{root}"
    tree: dict[str, HelpEntry] = {}
    pending: list[tuple[str, ...]] = [(name,) for name in root.subcommands]
    with ThreadPoolExecutor(max_workers=4) as pool:
        while pending:
            entries = list(pool.map(read, pending))
            pending = []
            for entry in entries:
                tree[" ".join(entry.path)] = entry
                pending.extend((*entry.path, name) for name in entry.subcommands)
    return tree


def iter_formatted(tree: Mapping[str, HelpEntry]) -> Iterator[tuple[str, str]]:
    """``(command, format)`` for every command of the help that has ``--format``."""
    for name, entry in tree.items():
        for output_format in entry.formats:
            yield name, output_format
