"""The installed ``commitopt backtest`` on usage it must take as ``recommend`` takes it: keys of
services without a price are left out with a note (the Cost-Explorer-like policies crashed on
them); usage too short for the default window says so (it blamed --from and --to, not given)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from tests.cli.conftest import EXIT_BAD_INPUT, Sandbox, require_success
from tests.cli.test_every_command import assert_one_error_line

USAGE_DAYS = 45
"""Days of usage from 2024-01-01: a 30-day lookback, then the first half of February."""

UNPRICED_NOTE = (
    "note: 1 key(s) of services other than EC2 have no on-demand rate and are left out of the "
    "backtest: us-east-1 fargate.vcpu fargate-linux x86_64"
)


def _key_usage(
    instance_type: str, platform: str, tenancy: str, quantity: float, days: int = USAGE_DAYS
) -> pd.DataFrame:
    hours = days * 24
    return pd.DataFrame(
        {
            "hour": pd.date_range("2024-01-01", periods=hours, freq="h", tz="UTC"),
            "account_id": "111111111111",
            "region": "us-east-1",
            "instance_type": instance_type,
            "platform": platform,
            "tenancy": tenancy,
            "quantity": np.full(hours, quantity),
        }
    )


def _ec2_and_fargate(folder: Path) -> Path:
    """Two EC2 fleets and a Fargate key, which the embedded catalog has no price for."""
    usage = folder / "ec2-and-fargate.csv"
    pd.concat([
        _key_usage("m4.large", "Linux/UNIX", "Shared", 10.0),
        _key_usage("c4.xlarge", "Linux/UNIX", "Shared", 4.0),
        _key_usage("fargate.vcpu", "fargate-linux", "x86_64", 8.0),
    ]).to_csv(usage, index=False)  # fmt: skip
    return usage


def test_backtest_leaves_a_key_without_a_price_out_with_a_note(empty_sandbox: Sandbox) -> None:
    """Every default policy (ce-7d and ce-30d crashed) and the hindsight run on the EC2 keys."""
    run = require_success(empty_sandbox.run(
        "backtest", "--usage", str(_ec2_and_fargate(empty_sandbox.folder)), "--lookback", "30d",
        "--format", "json",
    ))  # fmt: skip
    payload = json.loads(run.stdout)
    assert payload["status"] == "ok"
    policies = [row["policy"] for row in payload["results"]]
    assert policies[:3] == ["none", "ce-7d", "ce-30d"]
    assert "hindsight" in policies
    assert UNPRICED_NOTE in " ".join(run.stderr.split())
    assert any(UNPRICED_NOTE.removeprefix("note: ") in note for note in payload["notes"])


def test_usage_too_short_for_the_default_window_says_so(empty_sandbox: Sandbox) -> None:
    """60 days of usage and the default 90-day lookback, no --from or --to: the error names the
    usage's span and the fix (the longest lookback that leaves a month to backtest), not the
    window the user never gave."""
    usage = empty_sandbox.folder / "sixty-days.csv"
    _key_usage("m4.large", "Linux/UNIX", "Shared", 10.0, days=60).to_csv(usage, index=False)
    line = assert_one_error_line(
        empty_sandbox.run("backtest", "--usage", str(usage), "--format", "json"), EXIT_BAD_INPUT
    )
    assert line == (
        "commitopt: error: the usage spans 60.0 days (2024-01-01 00:00 to 2024-03-01 00:00 UTC), "
        "too short for the 90d lookback plus one review period (1mo): without --from the window "
        "starts at the first month start a whole lookback into the usage (2024-04-01); use "
        "--lookback 31d or less, or pass --from and --to (a window with a whole lookback of usage "
        "before it)"
    ), line
    # the lookback it names is enough
    require_success(empty_sandbox.run(
        "backtest", "--usage", str(usage), "--lookback", "31d", "--policy", "none",
        "--format", "json",
    ))  # fmt: skip


def test_a_to_before_the_default_start_names_the_default_start(empty_sandbox: Sandbox) -> None:
    """--to alone, before where the default window starts: the error names that start, not a
    --from the user never gave."""
    usage = empty_sandbox.folder / "sixty-days.csv"
    _key_usage("m4.large", "Linux/UNIX", "Shared", 10.0, days=60).to_csv(usage, index=False)
    line = assert_one_error_line(empty_sandbox.run(
        "backtest", "--usage", str(usage), "--lookback", "31d", "--to", "2024-01-20",
    ), EXIT_BAD_INPUT)  # fmt: skip
    assert line == (
        "commitopt: error: --to 2024-01-20T00:00:00+00:00 is not after the default start of the "
        "window, 2024-02-01T00:00:00+00:00 (the first month start a whole 31d lookback into the "
        "usage); move --to later, shorten --lookback or pass --from"
    ), line
