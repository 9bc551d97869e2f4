"""Never commit for a workload that stopped: detection, the recommendation, the bill after it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from billing.simulator import simulate
from core.errors import CommitoptInputError
from optimizer.policy import Policy
from planning.policies.recommended import recommended_purchases
from planning.recency import STOPPED_AFTER_DAYS, drop_stopped_usage, recent_window_hours
from planning.recommend import RecommendOptions, recommend
from pricing.embedded import load_embedded_catalog
from pricing.inventory import Commitment

DAYS = 30
START = pd.Timestamp("2024-03-01", tz="UTC")


def _key_usage(account: str, instance_type: str, quantity: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "hour": pd.date_range(START, periods=len(quantity), freq="h", tz="UTC"),
            "account_id": account,
            "region": "us-east-1",
            "instance_type": instance_type,
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "quantity": quantity,
        }
    )


def _fleet(stopped_days_before_end: float) -> pd.DataFrame:
    """Account A runs 4 m4.large all month; account B ran 8 m4.large, then stopped
    ``stopped_days_before_end`` days before the end; account C runs business hours only (off
    nights and weekends, never idle a whole week)."""
    hours = DAYS * 24
    index = np.arange(hours)
    steady = np.full(hours, 4.0)
    stopped = np.where(index < hours - round(stopped_days_before_end * 24), 8.0, 0.0)
    stamps = pd.date_range(START, periods=hours, freq="h", tz="UTC")
    office = np.where((stamps.day_of_week < 5) & (stamps.hour >= 8) & (stamps.hour < 18), 3.0, 0.0)
    return pd.concat(
        [
            _key_usage("111111111111", "m4.large", steady),
            _key_usage("222222222222", "m4.large", stopped),
            _key_usage("333333333333", "c4.large", office),
        ],
        ignore_index=True,
    )


def test_a_key_idle_over_the_last_week_has_stopped() -> None:
    found = drop_stopped_usage(_fleet(10.0), STOPPED_AFTER_DAYS, DAYS)
    assert found.recent_hours == 7 * 24
    assert found.stopped[["account_id", "instance_type"]].values.tolist() == [
        ["222222222222", "m4.large"]
    ]
    assert found.stopped.loc[0, "last_used"] == START + pd.Timedelta(hours=DAYS * 24 - 241)
    assert found.stopped.loc[0, "instance_hours"] == pytest.approx(8.0 * (DAYS - 10) * 24)
    assert set(found.usage["account_id"]) == {"111111111111", "333333333333"}
    (first, last) = found.notices()
    assert (
        "account 222222222222 us-east-1 m4.large Linux/UNIX Shared has had no usage since" in first
    )
    assert "10.0 days before the lookback's end" in first
    assert "`stopped_after_days`" in last


def test_weekends_short_idles_and_the_check_off_keep_every_key() -> None:
    # idle 5 days (less than the week): still running; the office key's weekends never count
    assert drop_stopped_usage(_fleet(5.0), STOPPED_AFTER_DAYS, DAYS).stopped.empty
    # 0 turns the check off
    off = drop_stopped_usage(_fleet(10.0), 0.0, DAYS)
    assert off.stopped.empty and off.recent_hours == 0 and len(off.usage) == 3 * DAYS * 24


def test_the_recent_window_is_at_most_a_quarter_of_the_lookback() -> None:
    assert recent_window_hours(7.0, 90.0) == 168
    assert recent_window_hours(7.0, 14.0) == 84  # 3.5 days of a 14-day lookback
    assert recent_window_hours(0.0, 90.0) == 0
    with pytest.raises(CommitoptInputError, match="`stopped_after_days` must be 0 or more"):
        recent_window_hours(-1.0, 90.0)


def test_recommend_buys_nothing_for_the_stopped_fleet_and_the_future_bill_shows_why() -> None:
    """The lookback ends with B stopped; the next month is what runs now. The default plan
    covers A only and saves money on that month; counting B's old usage buys for it and pays
    for idle commitments."""
    catalog = load_embedded_catalog()
    policy = Policy(instruments=("ri",))
    lookback = _fleet(10.0)
    default = recommend(lookback, catalog, policy, options=RecommendOptions(lookback_days=DAYS))
    counted = recommend(
        lookback,
        catalog,
        policy,
        # on the lookback as it ran: on the futures the idle days are a fall, followed down
        options=RecommendOptions(lookback_days=DAYS, stopped_after_days=0.0, decide_on="lookback"),
    )
    m4 = {p.instance_type: p.count for p in default.purchases if p.instance_type == "m4.large"}
    assert m4 == {"m4.large": 4}  # A's four instances, not B's eight
    assert sum(p.count or 0 for p in counted.purchases if p.instance_type == "m4.large") > 4
    assert default.summary["stopped_keys"][0]["account_id"] == "222222222222"
    assert any("nothing is bought for it" in w for w in default.warnings)

    # the next 30 days: A and C run on, B stays stopped
    future = _fleet(DAYS + 1.0)
    future["hour"] = future["hour"] + pd.Timedelta(days=DAYS)
    start = future["hour"].min().to_pydatetime()

    def bill(purchases: tuple[Commitment, ...]) -> float:
        """The next month's bill with ``purchases`` bought at its start."""
        moved = [replace(p, start=start, end=start + (p.end - p.start)) for p in purchases]
        return simulate(future, moved, catalog).totals.actual_cost_usd

    on_demand = simulate(future, (), catalog).totals.actual_cost_usd
    assert bill(default.purchases) < on_demand
    assert bill(default.purchases) < bill(counted.purchases)


def test_every_key_stopped_is_a_clear_error() -> None:
    catalog = load_embedded_catalog()
    hours = DAYS * 24
    usage = _key_usage("1", "m4.large", np.where(np.arange(hours) < hours - 240, 2.0, 0.0))
    with pytest.raises(CommitoptInputError, match="no key has usage in the last 7 days"):
        recommend(usage, catalog, Policy(), options=RecommendOptions(lookback_days=DAYS))
    # a backtest policy buys nothing instead
    options = RecommendOptions(lookback_days=DAYS)
    assert recommended_purchases(usage, catalog, Policy(), (), options) == ()
