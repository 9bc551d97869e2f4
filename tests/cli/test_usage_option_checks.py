"""Usage files given with ``--usage`` are checked as ``usage import`` checks them.

A command that reads ``--usage`` files (``recommend``, ``simulate``, ``frontier``, ``forecast``,
``backtest``) must refuse what an import refuses, with the same message: the same row numbers
(the file's rows, however DuckDB reads it), the same plausibility checks (hours after now) and
messages that name what the command has (no ``--usage FILE`` hint when ``--usage`` was given, no
option the command lacks). Every case runs the installed console script on a file made in
``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pytest

from tests.cli.conftest import EXIT_BAD_INPUT, USAGE_DAYS, CliInputs, Sandbox
from tests.cli.test_every_command import assert_one_error_line

HEADER: Final = "hour,region,instance_type,platform,tenancy,quantity"

BIG_KEYS: Final = ("m5.large", "m5.xlarge", "c5.large", "c5.xlarge", "r5.large", "r5.xlarge")
BIG_HOURS: Final = 50_000
"""Hours per key of the large file: 300,000 rows, about 18 MB, read by DuckDB in parallel."""
BAD_ROW: Final = 250_000
"""The 0-based data row of the large file that is wrong (near its end, in a later chunk)."""


def _large_csv(path: Path, *, duplicate: bool) -> Path:
    """:data:`BIG_KEYS` x :data:`BIG_HOURS` hours of 2019-2024, hour by hour; row
    :data:`BAD_ROW` holds a negative quantity, or (``duplicate``) repeats the row before it."""
    hours = pd.date_range("2019-01-01", periods=BIG_HOURS, freq="h", tz="UTC")
    texts = np.repeat(hours.strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy(dtype=object), len(BIG_KEYS))
    types = np.tile(np.array(BIG_KEYS, dtype=object), BIG_HOURS)
    quantities = np.full(len(texts), "1.5", dtype=object)
    if duplicate:
        texts[BAD_ROW], types[BAD_ROW] = texts[BAD_ROW - 1], types[BAD_ROW - 1]
    else:
        quantities[BAD_ROW] = "-3"
    rows = (
        f"{hour},us-east-1,{kind},Linux/UNIX,Shared,{quantity}\n"
        for hour, kind, quantity in zip(texts, types, quantities, strict=True)
    )
    path.write_text(HEADER + "\n" + "".join(rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("duplicate", "expected"),
    [
        pytest.param(False, f"row {BAD_ROW} ('-3')", id="negative"),
        pytest.param(True, f"row {BAD_ROW - 1} (", id="duplicate"),
    ],
)
def test_large_file_names_its_own_row_on_both_paths(
    duplicate: bool, expected: str, empty_sandbox: Sandbox
) -> None:
    """A file read in parallel chunks: ``recommend --usage`` and ``usage import`` name the
    file's row (0-based data rows), not the row a thread happened to return it at."""
    path = _large_csv(empty_sandbox.folder / "big.csv", duplicate=duplicate)
    for args in (("recommend", "--usage", str(path)), ("usage", "import", str(path))):
        line = assert_one_error_line(empty_sandbox.run(*args), EXIT_BAD_INPUT)
        assert expected in line, f"{args}: {line}"
        if duplicate:
            assert f"row {BAD_ROW} (" in line, f"{args}: {line}"


def _canonical_csv(path: Path, hours: pd.DatetimeIndex, instance_type: str = "m4.large") -> Path:
    """One key's usage (2 instances) at ``hours`` (m4.large: the embedded catalog prices it)."""
    texts = hours.strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = "".join(f"{hour},us-east-1,{instance_type},Linux/UNIX,Shared,2\n" for hour in texts)
    path.write_text(HEADER + "\n" + rows, encoding="utf-8")
    return path


FUTURE_HOURS: Final = 10
"""Hours after now in the file of :func:`test_usage_after_now_is_refused_as_import_refuses`."""

COMMANDS_READING_USAGE: Final = {
    "recommend": ("recommend",),
    "simulate": ("simulate", "--portfolio", "{plan}"),
    "frontier": ("frontier", "--steps", "3"),
    "forecast": ("forecast", "--paths", "20", "--lookback", "2d"),
    "backtest": ("backtest", "--policy", "none"),
}
"""Commands that read ``--usage`` files, with the options each needs besides."""


@pytest.mark.parametrize("command", list(COMMANDS_READING_USAGE))
def test_usage_after_now_is_refused_as_import_refuses(
    command: str, sandbox: Sandbox, cli_inputs: CliInputs
) -> None:
    """Hours after now: every command that reads ``--usage`` exits 2 with import's message."""
    now_hour = pd.Timestamp.now(tz="UTC").floor("h")
    # two hours of margin: the hour may turn between writing the file and reading it
    hours = pd.date_range(now_hour - pd.Timedelta(hours=47), now_hour - pd.Timedelta(hours=1),
                          freq="h").append(
        pd.date_range(now_hour + pd.Timedelta(hours=2), periods=FUTURE_HOURS, freq="h")
    )  # fmt: skip
    path = _canonical_csv(sandbox.folder / "future.csv", hours)
    expected = (
        f"{path}: {FUTURE_HOURS} usage rows are after now (",
        f"the first at {now_hour + pd.Timedelta(hours=2):%Y-%m-%d %H:%M} UTC; usage cannot lie "
        "in the future",
    )
    imported = assert_one_error_line(sandbox.run("usage", "import", str(path)), EXIT_BAD_INPUT)
    args = [arg.format(plan=cli_inputs.plan_json) for arg in COMMANDS_READING_USAGE[command]]
    line = assert_one_error_line(sandbox.run(*args, "--usage", str(path)), EXIT_BAD_INPUT)
    for fragment in expected:
        assert fragment in imported, imported
        assert fragment in line, line


def test_period_outside_the_usage_file_names_both_spans(
    sandbox: Sandbox, cli_inputs: CliInputs
) -> None:
    """``simulate --usage FILE --from`` after the file's end: the period asked for and the
    file's span, not a hint to pass ``--usage FILE``, which was passed."""
    first = pd.Timestamp("2024-01-01", tz="UTC")
    last = first + pd.Timedelta(days=USAGE_DAYS) - pd.Timedelta(hours=1)
    run = sandbox.run("simulate", "--usage", str(cli_inputs.usage_csv),
                      "--portfolio", str(cli_inputs.plan_json), "--from", "2030-01-01")  # fmt: skip
    line = assert_one_error_line(run, EXIT_BAD_INPUT)
    assert "--usage FILE" not in line, line
    assert (
        f"{cli_inputs.usage_csv}: no usage to simulate from 2030-01-01 00:00 UTC on in the "
        f"--usage file, which covers {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"
    ) in line, line


def test_usage_file_without_rows_says_so(empty_sandbox: Sandbox) -> None:
    """A header-only ``--usage`` file: it holds no rows (no hint to pass ``--usage FILE``)."""
    path = empty_sandbox.folder / "header.csv"
    path.write_text(HEADER + "\n", encoding="utf-8")
    line = assert_one_error_line(
        empty_sandbox.run("recommend", "--usage", str(path)), EXIT_BAD_INPUT
    )
    assert "--usage FILE" not in line, line
    assert f"{path}: no usage to optimize: the --usage file holds no usage rows" in line, line


def test_file_of_no_format_names_no_internal_parameter(empty_sandbox: Sandbox) -> None:
    """``recommend --usage`` a file of no known format: the formats and their columns, not a
    library parameter (```usage_format```) that the command has no flag for."""
    path = empty_sandbox.folder / "onecol.csv"
    path.write_text("hello\n1\n", encoding="utf-8")
    line = assert_one_error_line(
        empty_sandbox.run("recommend", "--usage", str(path)), EXIT_BAD_INPUT
    )
    assert "`" not in line, line
    assert "usage_format" not in line, line
    assert "the canonical usage table (hour, region, instance_type, platform, tenancy" in line


ROW: Final = "2024-03-01T00:00:00Z,us-east-1,m5.large,Linux/UNIX,Shared,2"
READERS: Final = (
    pytest.param(("recommend", "--usage"), id="recommend-usage"),
    pytest.param(("usage", "import"), id="usage-import"),
)
"""The two ways a usage file is read: given to a command, and imported."""


@pytest.mark.parametrize("reader", READERS)
def test_header_naming_a_column_twice_is_refused(
    reader: tuple[str, ...], empty_sandbox: Sandbox
) -> None:
    """Two ``quantity`` columns: exit 2 naming the column, not the first one used silently."""
    path = empty_sandbox.folder / "twice.csv"
    path.write_text(f"{HEADER},quantity\n{ROW},1000\n", encoding="utf-8")
    line = assert_one_error_line(empty_sandbox.run(*reader, str(path)), EXIT_BAD_INPUT)
    assert f"{path}: the header names column quantity 2 times (columns 6, 7)" in line, line


@pytest.mark.parametrize("reader", READERS)
def test_latin1_file_is_named_not_utf8_with_a_conversion(
    reader: tuple[str, ...], empty_sandbox: Sandbox
) -> None:
    """A Latin-1 file: not UTF-8, on which line, and an ``iconv`` command to convert it."""
    path = empty_sandbox.folder / "latin1.csv"
    path.write_bytes(f"{HEADER},note\n{ROW},café\n".encode("latin-1"))
    line = assert_one_error_line(empty_sandbox.run(*reader, str(path)), EXIT_BAD_INPUT)
    assert f"{path}: is not UTF-8 text: line 2 has the byte 0xE9" in line, line
    assert f"iconv -f latin1 -t utf-8 {path} >" in line, line


@pytest.mark.parametrize("reader", READERS)
def test_binary_file_is_named_without_echoing_its_bytes(
    reader: tuple[str, ...], empty_sandbox: Sandbox
) -> None:
    """Random bytes named ``.csv``: not a text file; the message is printable text only."""
    path = empty_sandbox.folder / "garbage.csv"
    path.write_bytes(np.random.default_rng(46).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    line = assert_one_error_line(empty_sandbox.run(*reader, str(path)), EXIT_BAD_INPUT)
    assert f"{path}: is not a text file (binary data" in line, line
    assert line.isprintable() and "\ufffd" not in line, repr(line)  # no bytes, not even replaced


def test_daily_rows_get_a_warning(empty_sandbox: Sandbox) -> None:
    """A row a day per key (daily totals at midnight): a warning that the table is hourly;
    the command still runs, as ``usage import`` still imports such a file."""
    days = pd.date_range("2024-03-01", periods=30, freq="D", tz="UTC")
    path = _canonical_csv(empty_sandbox.folder / "daily.csv", days)
    run = empty_sandbox.run("recommend", "--usage", str(path), "--lookback", "30d")
    assert run.exit_code == 0, str(run)
    assert f"warning: {path}: every key's rows are exactly 24 hours apart" in run.stderr, str(run)
    assert "usage.table.spread_daily" in run.stderr, str(run)


def test_hourly_rows_get_no_daily_warning(empty_sandbox: Sandbox) -> None:
    """Hourly usage (the same key, 30 days of hours): no daily warning."""
    hours = pd.date_range("2024-03-01", periods=30 * 24, freq="h", tz="UTC")
    path = _canonical_csv(empty_sandbox.folder / "hourly.csv", hours)
    run = empty_sandbox.run("recommend", "--usage", str(path), "--lookback", "30d")
    assert run.exit_code == 0, str(run)
    assert "24 hours apart" not in run.stderr, str(run)
