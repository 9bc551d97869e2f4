"""The installed command decided on 1 January, on an estate that dips over the holidays."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.cli.conftest import Sandbox
from tests.cli.test_risen_usage import recommend_json


def test_recommend_on_1_january_buys_for_the_estate_and_says_the_holidays_were_replaced(
    empty_sandbox: Sandbox,
) -> None:
    hours = pd.date_range("2024-10-03", "2024-12-31 23:00", freq="h", tz="UTC")
    holidays = (hours.month == 12) & (hours.day >= 24)
    usage = pd.DataFrame(
        {
            "hour": hours,
            "account_id": "333333333333",
            "region": "us-east-1",
            "instance_type": "m4.large",
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "quantity": np.where(holidays, 2.0, 8.0),  # offices closed: 2 of 8 instances
        }
    )
    run = recommend_json(empty_sandbox, usage, "90d")
    payload = run.payload
    assert sum(p["count"] for p in payload["purchases"]) >= 7  # not the holidays' 2
    notes = payload["summary"]["decided_on"]["notes"]
    assert any("year-end holidays' 192 hours of the lookback" in note for note in notes)
    assert "year-end holidays" in run.stderr
