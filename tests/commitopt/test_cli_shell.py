"""The shell's own rules: progress and notes on stderr, exit codes, flags named in errors, shares.

These run in-process; ``tests/cli`` runs the installed console script the way users do.
"""

from __future__ import annotations

import io
import json
import re
import time

import click
import pytest

from commitopt.cli.errors import run_with_exit_codes
from commitopt.cli.group import CommitoptGroup, flag_of
from commitopt.cli.options import SHARE
from commitopt.cli.progress import Reporter, Task, solver_progress
from core.errors import CommitoptEnvironmentError, CommitoptInputError, param
from optimizer.optimize import StagedProgress
from optimizer.result import OptimizationStatus
from planning.recommend import RecommendationError, SolverTimeLimitError, _check_result
from tests.commitopt.conftest import RunCli

STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ commitopt: ")


# --- progress --------------------------------------------------------------------------------


def test_a_task_without_a_known_total_formats() -> None:
    """The old progress bar crashed formatting a total of None in every terminal."""
    task = Task("reading usage")
    task(1234, None)
    assert task.status().startswith("reading usage: 1,234")
    task.update(50, 200, detail="iteration 3")
    assert "50 of 200 (25 %)" in task.status() and "iteration 3" in task.status()
    assert task.amount(compact=True) == "50/200"


def test_the_solver_progress_names_the_rounding_stage() -> None:
    """At 3,000 keys the rounding's re-solve ran 15 minutes under the main solve's last line."""
    task = Task("optimizing the portfolio")
    progress = solver_progress(task)
    assert isinstance(progress, StagedProgress)
    progress(19, 999.0, 1000.0)
    assert task.detail == "iteration 19, certified gap 0.100 %"
    progress.stage("rounding to whole RIs")
    assert task.detail == "rounding to whole RIs"
    progress(2, 998.0, 1000.0)
    assert task.detail == "rounding to whole RIs: iteration 2, certified gap 0.200 %"


def test_a_task_counted_in_percent_says_the_percent_once() -> None:
    task = Task("reading usage", total=100, unit="%")
    task(25, 100)
    assert task.status().startswith("reading usage: 25 %, ")


def test_log_mode_is_silent_for_short_steps_and_throttled_for_long_ones() -> None:
    stream = io.StringIO()
    reporter = Reporter("log", stream, log_interval_s=0.2)
    with reporter.task("quick"):
        time.sleep(0.05)
    assert stream.getvalue() == ""  # a short step prints nothing
    started = time.monotonic()
    with reporter.task("long step", total=10) as task:
        for done in range(10):
            task(done, 10)
            time.sleep(0.1)
    elapsed = time.monotonic() - started
    lines = stream.getvalue().splitlines()
    progress = [line for line in lines if "long step:" in line and "done in" not in line]
    assert 1 <= len(progress) <= elapsed / 0.2 + 1  # at most one line per interval
    assert all(STAMPED.match(line) for line in lines)
    assert lines[-1].endswith("s") and "long step: done in" in lines[-1]


def test_quiet_prints_no_progress_and_no_notes_but_warnings() -> None:
    stream = io.StringIO()
    reporter = Reporter("quiet", stream, log_interval_s=0.01)
    with reporter.task("anything"):
        time.sleep(0.05)
    reporter.note("using the embedded price catalog")
    assert stream.getvalue() == ""
    reporter.stream = stream
    reporter.warning("no rate for m5.large")
    assert stream.getvalue() == "commitopt: warning: no rate for m5.large\n"


def test_quiet_flag_silences_the_catalog_notice(run_cli: RunCli) -> None:
    loud = run_cli("pricing", "info", "--format", "json")
    quiet = run_cli("pricing", "info", "--format", "json", "--quiet")
    root = run_cli("-q", "pricing", "info", "--format", "json")
    assert loud.exit_code == quiet.exit_code == root.exit_code == 0
    assert "embedded price catalog" in loud.stderr
    assert quiet.stderr == "" and root.stderr == ""
    assert loud.stdout == quiet.stdout == root.stdout


# --- exit codes ------------------------------------------------------------------------------


def _group_raising(error: BaseException) -> click.Group:
    @click.group(cls=CommitoptGroup)
    def root() -> None:
        """A test group."""

    @root.command("run")
    @click.option("--lookback", "lookback", default="30d")
    def run(lookback: str) -> None:
        raise error

    return root


@pytest.mark.parametrize(
    ("error", "code", "text"),
    [
        (CommitoptInputError(f"{param('lookback')} must be positive"), 2, "--lookback must be"),
        (CommitoptEnvironmentError("the workspace is busy"), 3, "the workspace is busy"),
        (OSError(36, "File name too long", "a" * 500), 2, "… (500 characters)"),
        (PermissionError(13, "Permission denied", "/root/x"), 3, "/root/x: Permission denied"),
        (RuntimeError("boom"), 70, "internal error"),
    ],
)
def test_errors_map_to_exit_codes_and_one_line(
    error: BaseException, code: int, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_with_exit_codes(_group_raising(error), ["run"]) == code
    err = capsys.readouterr().err
    assert text in err
    if code != 70:
        assert err.count("\n") == 1 and err.startswith("commitopt: error: ")
    else:
        assert "Traceback" in err  # a bug shows its traceback, and is never read as code 1


def test_a_parameter_is_named_by_the_flag_that_sets_it() -> None:
    @click.command()
    @click.option("--lookback", "lookback")
    @click.option("--gap", "gap")
    @click.option("--input-format", "usage_format")
    def command() -> None:
        """A test command."""

    assert flag_of("lookback_days", command) == "--lookback"  # through the alias table
    assert flag_of("tolerance", command) == "--gap"
    assert flag_of("usage_format", command) == "--input-format"
    assert flag_of("unknown_parameter", command) is None
    error = CommitoptInputError(f"raise {param('time_limit_seconds')} or loosen {param('gap')}")
    assert str(error) == "raise `time_limit_seconds` or loosen `gap`"  # the library's text
    assert error.render(lambda name: flag_of(name, command)) == (
        "raise `time_limit_seconds` or loosen --gap"
    )


def test_a_solver_time_limit_is_the_environment_and_infeasible_is_the_input() -> None:
    class Result:
        status = OptimizationStatus.TIME_LIMIT
        message = "stopped at the time limit"

    with pytest.raises(SolverTimeLimitError) as caught:
        _check_result(Result())  # type: ignore[arg-type]
    assert isinstance(caught.value, CommitoptEnvironmentError)
    Result.status = OptimizationStatus.INFEASIBLE
    with pytest.raises(RecommendationError) as refused:
        _check_result(Result())  # type: ignore[arg-type]
    assert isinstance(refused.value, CommitoptInputError)


# --- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "share"),
    [("8", 0.08), ("8%", 0.08), ("0.08", 0.08), ("1%", 0.01), ("100", 1.0), (0.5, 0.5), ("0", 0.0)],
)
def test_a_share_is_a_percent_or_a_fraction(given: object, share: float) -> None:
    assert SHARE.convert(given, None, None) == pytest.approx(share)


@pytest.mark.parametrize(
    ("given", "message"),
    [("1", "ambiguous"), ("150", "not between 0 and 100 %"), ("-5", "not between"), ("x", "not a")],
)
def test_an_ambiguous_or_bad_share_is_refused(given: str, message: str) -> None:
    with pytest.raises(click.BadParameter, match=message):
        SHARE.convert(given, None, None)


def test_discount_rate_of_8_means_8_percent(run_cli: RunCli) -> None:
    # the parsing is under test, not the decision: on the lookback it takes a third of the time
    fast = ("--decide-on", "lookback", "--format", "json", "-q")
    eight = run_cli("recommend", "--demo", "--discount-rate", "8", *fast)
    fraction = run_cli("recommend", "--demo", "--discount-rate", "0.08", *fast)
    assert eight.exit_code == fraction.exit_code == 0
    figures = [json.loads(run.stdout)["summary"] for run in (eight, fraction)]
    for summary in figures:
        del summary["optimizer"]  # its solve time differs from run to run
    assert figures[0] == figures[1]
    ambiguous = run_cli("recommend", "--demo", "--discount-rate", "1")
    assert ambiguous.exit_code == 2 and "ambiguous" in ambiguous.stderr
    assert ambiguous.stderr.count("\n") == 1


def test_from_after_to_is_refused_before_reading(run_cli: RunCli) -> None:
    result = run_cli("usage", "import", "missing.csv", "--from", "2024-02-01", "--to", "2024-01-01")
    assert result.exit_code == 2
    assert "--from 2024-02-01 00:00 is not before --to 2024-01-01 00:00" in result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_an_input_format_given_to_format_points_to_input_format(run_cli: RunCli) -> None:
    result = run_cli("usage", "import", "usage.csv", "--format", "cur")
    assert result.exit_code == 2
    assert "give the files' format with --input-format cur" in result.stderr
