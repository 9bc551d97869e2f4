"""Long commands in a terminal: the progress display is drawn on stderr and nothing crashes.

The console script runs with stdout and stderr on two pseudo-terminals of 100 x 40 (both are
terminals, as in an interactive shell), so rich's live progress is drawn. A crash in the
progress bar, which pipes never show, fails here.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import select
import shlex
import struct
import subprocess
import termios
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from tests.cli.conftest import (
    CUR_FIXTURE,
    RUN_TIMEOUT_S,
    CliInputs,
    Run,
    Sandbox,
    commitopt_env,
    copy_workspace,
)

TERMINAL_ROWS: Final = 40
TERMINAL_COLUMNS: Final = 100

BIG_USAGE_DAYS: Final = 365
BIG_USAGE_COPIES: Final = 3
"""The terminal's usage import reads this many years of the demo usage (each copy in accounts
of its own): about 430,000 rows, a couple of seconds of reading with progress."""

_CSI: Final = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[=>]")
HIDE_CURSOR: Final = "\x1b[?25l"
ERASE_LINE: Final = "\x1b[2K"


@dataclass(frozen=True)
class TerminalRun(Run):
    """One finished run with stdout and stderr on pseudo-terminals (text as the terminal got it)."""

    seconds: float

    @property
    def plain_stderr(self) -> str:
        """Standard error without terminal control sequences."""
        return _CSI.sub("", self.stderr)

    def __str__(self) -> str:
        """The command, its exit code and both streams, control sequences escaped."""
        return (
            f"`commitopt {shlex.join(self.args)}` exited {self.exit_code} "
            f"after {self.seconds:.1f} s\n"
            f"--- stdout ---\n{self.stdout[-3000:]!r}\n--- stderr ---\n{self.stderr[-3000:]!r}"
        )


def _set_size(fd: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", TERMINAL_ROWS, TERMINAL_COLUMNS, 0, 0))


def run_in_terminal(
    script: Path,
    args: tuple[str, ...],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout_s: float = RUN_TIMEOUT_S,
) -> TerminalRun:
    """Run ``commitopt ARGS`` with stdout and stderr each on a pseudo-terminal; read both."""
    out_master, out_slave = os.openpty()
    err_master, err_slave = os.openpty()
    started = time.monotonic()
    try:
        for fd in (out_master, err_master):
            _set_size(fd)
        process = subprocess.Popen(
            [str(script), *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out_slave,
            stderr=err_slave,
            close_fds=True,
        )
    except BaseException:
        for fd in (out_master, err_master):
            os.close(fd)
        raise
    finally:
        os.close(out_slave)
        os.close(err_slave)
    received = {out_master: bytearray(), err_master: bytearray()}
    still_open = set(received)
    try:
        while still_open:
            remaining = started + timeout_s - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"`commitopt {shlex.join(args)}` ran longer than {timeout_s:.0f} s")
            ready, _, _ = select.select(sorted(still_open), [], [], min(remaining, 0.5))
            for fd in ready:
                try:
                    data = os.read(fd, 65536)
                except OSError as error:  # EIO: every slave end is closed (the child is gone)
                    if error.errno != errno.EIO:
                        raise
                    data = b""
                if data:
                    received[fd] += data
                else:
                    still_open.discard(fd)
        exit_code = process.wait(timeout=max(started + timeout_s - time.monotonic(), 1.0))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(out_master)
        os.close(err_master)
    return TerminalRun(
        args,
        exit_code,
        received[out_master].decode("utf-8", errors="replace"),
        received[err_master].decode("utf-8", errors="replace"),
        time.monotonic() - started,
    )


@pytest.fixture(scope="module")
def big_usage_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A canonical usage CSV whose import takes a couple of seconds."""
    import pandas as pd

    from usage.synthetic import demo_usage

    copies = []
    for copy in range(BIG_USAGE_COPIES):
        frame = demo_usage(seed=copy, hours=24 * BIG_USAGE_DAYS)
        frame["account_id"] = frame["account_id"].str[:-1] + str(copy)
        copies.append(frame)
    path = tmp_path_factory.mktemp("cli-terminal") / "big-usage.csv"
    pd.concat(copies, ignore_index=True).to_csv(path, index=False)
    return path


@pytest.fixture
def terminal(script: Path, cli_inputs: CliInputs, tmp_path: Path) -> Sandbox:
    """A sandbox (own folder, copy of the session's workspace) whose runs use a terminal type."""
    env = commitopt_env(tmp_path, TERM="xterm-256color")
    copy_workspace(cli_inputs.workspace, Path(env["COMMITOPT_WORKSPACE"]))
    return Sandbox(script, tmp_path, env)


def run(sandbox: Sandbox, *args: str) -> TerminalRun:
    """Run ``commitopt ARGS`` in the sandbox under two pseudo-terminals."""
    return run_in_terminal(sandbox.script, args, cwd=sandbox.folder, env=dict(sandbox.env))


LONG_COMMANDS: Final = (
    pytest.param(("usage", "import", "{big_usage}"), ("reading usage",), id="usage-import"),
    pytest.param(
        ("pricing", "import", str(CUR_FIXTURE), "--into", "catalog.parquet"),
        (f"reading {CUR_FIXTURE.name}",),
        id="pricing-import",
    ),
    pytest.param(("recommend",), ("optimizing the portfolio",), id="recommend"),
    pytest.param(("review", "--paths", "20", "--horizon", "30d"), ("reviewing",), id="review"),
    pytest.param(
        ("backtest", "--policy", "none", "--policy", "ce-30d", "--lookback", "30d"),
        ("backtesting the policies",),
        id="backtest",
    ),
    pytest.param(
        ("frontier", "--paths", "10", "--horizon", "30d"),
        ("sampling 10 usage paths",),
        id="frontier",
    ),
    pytest.param(
        ("forecast", "--paths", "20", "--lookback", "30d"),
        ("forecasting 20 usage paths",),
        id="forecast",
    ),
    pytest.param(
        ("demo", "--paths", "10", "--out", "demo.html"),
        ("building the synthetic history", "optimizing the portfolio"),
        id="demo",
    ),
)
"""Commands, and the progress texts each must draw (``reporter().task(...)`` in the CLI).

``backtest`` and ``forecast`` look back 30 days: the session's usage holds 70, less than their
90-day default."""


@pytest.mark.parametrize(("args", "progress_texts"), LONG_COMMANDS)
def test_long_command_draws_progress_in_a_terminal(
    args: tuple[str, ...],
    progress_texts: tuple[str, ...],
    terminal: Sandbox,
    big_usage_csv: Path,
) -> None:
    """In a terminal the command succeeds and draws its steps with rich's live display."""
    done = run(terminal, *(arg.format(big_usage=big_usage_csv) for arg in args))
    assert done.exit_code == 0, str(done)
    assert "Traceback" not in done.stderr, str(done)
    assert "Traceback" not in done.stdout, str(done)
    missing = [text for text in progress_texts if text not in done.plain_stderr]
    assert not missing, f"progress {missing} never drawn on stderr:\n{done}"
    assert HIDE_CURSOR in done.stderr, f"no live display (cursor never hidden):\n{done}"
    assert ERASE_LINE in done.stderr, f"no live display (progress line never redrawn):\n{done}"
    assert done.stdout.strip(), f"nothing on stdout:\n{done}"


def test_quiet_draws_no_progress_and_no_notes(terminal: Sandbox) -> None:
    """``--quiet`` in a terminal: no progress display and no ``commitopt:`` notes on stderr."""
    done = run(terminal, "recommend", "--quiet")
    assert done.exit_code == 0, str(done)
    assert "Traceback" not in done.stderr, str(done)
    assert "optimizing the portfolio" not in done.plain_stderr, str(done)
    assert HIDE_CURSOR not in done.stderr, str(done)
    # warnings (here: the demo's fleet that stopped) are shown even with --quiet; notes are not
    lines = done.plain_stderr.splitlines()
    notes = [line for line in lines if "commitopt:" in line and "commitopt: warning:" not in line]
    assert not notes, f"notes despite --quiet {notes}:\n{done}"
    assert done.stdout.strip(), f"nothing on stdout:\n{done}"
