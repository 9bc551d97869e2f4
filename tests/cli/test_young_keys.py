"""The installed ``commitopt recommend`` on a lookback that ends with a load test: 20
c5.4xlarge for its last 6 days. Nothing is bought for them, and stderr says why."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from tests.cli.conftest import Sandbox, require_success
from tests.planning.test_recency import _key_usage

HOURS = 60 * 24


def test_recommend_buys_nothing_for_a_load_test_at_the_lookbacks_end(
    empty_sandbox: Sandbox,
) -> None:
    burst = np.where(np.arange(HOURS) >= HOURS - 6 * 24, 20.0, 0.0)
    usage = empty_sandbox.folder / "usage.csv"
    pd.concat([
        _key_usage("222222222222", "m4.large", np.full(HOURS, 10.0)),
        _key_usage("222222222222", "c5.4xlarge", burst),
    ]).to_csv(usage, index=False)  # fmt: skip
    run = require_success(empty_sandbox.run(
        "recommend", "--usage", str(usage), "--lookback", "60d", "--format", "json",
    ))  # fmt: skip
    portfolio = json.loads(run.stdout)
    bought = portfolio["purchases"]
    assert bought  # the steady m4.large fleet
    assert all(p["kind"] != "compute_savings_plan" for p in bought)
    assert all(p.get("instance_family") != "c5" for p in bought)
    assert all(not str(p.get("instance_type") or "").startswith("c5") for p in bought)
    said = " ".join(run.stderr.split())
    assert (
        "us-east-1 c5.4xlarge Linux/UNIX Shared started running 6.0 days before the lookback's "
        "end (17.1 instances over its last week): nothing is bought for it until it has run a "
        "whole week after the week it started in" in said
    )
