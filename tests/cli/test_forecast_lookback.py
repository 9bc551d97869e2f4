"""The installed ``commitopt forecast`` on usage shorter than its lookback, as ``recommend`` takes
it: the lookback takes all the usage, with a note on stderr for the default lookback (90 days)
and a warning for one given."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from tests.cli.conftest import Sandbox, require_success

USAGE_DAYS = 30
"""Days of usage: more than the weekly model's two weeks, less than the default lookback."""


def _usage(folder: Path) -> Path:
    """30 days of a steady m4.large fleet."""
    hours = USAGE_DAYS * 24
    usage = folder / "thirty-days.csv"
    pd.DataFrame(
        {
            "hour": pd.date_range("2024-01-01", periods=hours, freq="h", tz="UTC"),
            "account_id": "111111111111",
            "region": "us-east-1",
            "instance_type": "m4.large",
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "quantity": np.full(hours, 10.0),
        }
    ).to_csv(usage, index=False)
    return usage


def test_a_default_lookback_longer_than_the_usage_takes_all_of_it(empty_sandbox: Sandbox) -> None:
    run = require_success(empty_sandbox.run(
        "forecast", "--usage", str(_usage(empty_sandbox.folder)), "--horizon", "4w",
        "--paths", "20", "--format", "csv",
    ))  # fmt: skip
    forecast = pd.read_csv(io.StringIO(run.stdout))
    assert len(forecast) and (forecast["p50_instance_hours"] > 0).all()
    said = " ".join(run.stderr.split())
    assert (
        "--lookback 90d is longer than the usage, which covers 30.0 days (2024-01-01 to "
        "2024-01-30 23:00 UTC); all of it is used"
    ) in said, str(run)
    assert "error" not in said and "warning" not in said, str(run)


def test_a_given_lookback_longer_than_the_usage_takes_all_of_it_with_a_warning(
    empty_sandbox: Sandbox,
) -> None:
    run = require_success(empty_sandbox.run(
        "forecast", "--usage", str(_usage(empty_sandbox.folder)), "--lookback", "60d",
        "--horizon", "4w", "--paths", "20", "--format", "csv",
    ))  # fmt: skip
    assert len(pd.read_csv(io.StringIO(run.stdout)))
    assert (
        "warning: --lookback 60d is longer than the usage, which covers 30.0 days (2024-01-01 "
        "to 2024-01-30 23:00 UTC); all of it is used"
    ) in " ".join(run.stderr.split()), str(run)
