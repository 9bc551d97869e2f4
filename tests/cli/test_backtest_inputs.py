"""The installed ``commitopt backtest`` on usage it must take as ``recommend`` takes it: keys of
services without a price are left out with a note (the Cost-Explorer-like policies crashed on
them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from tests.cli.conftest import Sandbox, require_success

USAGE_DAYS = 45
"""Days of usage from 2024-01-01: a 30-day lookback, then the first half of February."""

UNPRICED_NOTE = (
    "note: 1 key(s) of services other than EC2 have no on-demand rate and are left out of the "
    "backtest: us-east-1 fargate.vcpu fargate-linux x86_64"
)


def _key_usage(instance_type: str, platform: str, tenancy: str, quantity: float) -> pd.DataFrame:
    hours = USAGE_DAYS * 24
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
