"""The year-end holidays are not a level: the stand-in hours, and recommend on 1 January."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optimizer.policy import Policy
from planning.holidays import holiday_hours, without_year_end_holidays
from planning.recommend import RecommendOptions, recommend
from pricing.embedded import load_embedded_catalog
from usage.table import KEY_COLUMNS, UsageMatrix

KEY = {
    "account_id": "111111111111",
    "region": "us-east-1",
    "instance_type": "m4.large",
    "platform": "Linux/UNIX",
    "tenancy": "Shared",
}


def _matrix(start: str, days: int, quantity: object) -> UsageMatrix:
    hours = pd.date_range(start, periods=days * 24, freq="h", tz="UTC").as_unit("ns")
    column = np.broadcast_to(np.asarray(quantity, dtype=np.float64), (len(hours),))
    return UsageMatrix(hours, pd.DataFrame([KEY])[list(KEY_COLUMNS)], column[:, None].copy())


def test_holiday_hours_run_from_24_december_to_1_january() -> None:
    hours = pd.DatetimeIndex(
        ["2024-12-23 23:00", "2024-12-24 00:00", "2025-01-01 23:00", "2025-01-02 00:00"], tz="UTC"
    )
    assert holiday_hours(hours).tolist() == [False, True, True, False]


def test_each_holiday_hour_is_the_same_hour_two_weeks_earlier() -> None:
    # 1 October to 1 January inclusive: an hour-of-week pattern, the holidays at 40 %
    usage = _matrix("2024-10-01", 93, 0.0)
    hour_of_week = np.arange(len(usage.hours)) % 168
    level = 10.0 + hour_of_week / 168.0
    holiday = holiday_hours(usage.hours)
    usage.quantity[:, 0] = np.where(holiday, 0.4 * level, level)
    mended, replaced = without_year_end_holidays(usage)
    assert replaced == 9 * 24
    np.testing.assert_allclose(mended.quantity[:, 0], level)
    rows = np.flatnonzero(holiday)
    np.testing.assert_array_equal(mended.quantity[rows, 0], usage.quantity[rows - 336, 0])
    assert usage.quantity[rows[0], 0] == pytest.approx(0.4 * level[rows[0]])  # input untouched


def test_only_keys_that_dip_over_the_holidays_are_replaced() -> None:
    # three keys from October to the holidays' end: one at 40 % over them, one growing 1 % a
    # week without a dip (its holidays above the weeks before), one at a season's peak
    usage = _matrix("2024-10-01", 93, 0.0)
    hours = len(usage.hours)
    holiday = holiday_hours(usage.hours)
    line = 10.0 * 1.01 ** (np.arange(hours) / 168.0)
    quantity = np.stack([np.where(holiday, 4.0, 10.0), line, np.full(hours, 20.0)], axis=1)
    keys = pd.concat([usage.keys] * 3, ignore_index=True)
    keys["instance_type"] = ["m4.large", "m4.xlarge", "m4.2xlarge"]
    usage = UsageMatrix(usage.hours, keys, quantity)
    mended, replaced = without_year_end_holidays(usage)
    assert replaced == 9 * 24
    assert (mended.quantity[:, 0] == 10.0).all()
    np.testing.assert_array_equal(mended.quantity[:, 1:], quantity[:, 1:])
    assert without_year_end_holidays(UsageMatrix(usage.hours, keys[1:], quantity[:, 1:]))[1] == 0


def test_a_key_that_stopped_before_the_holidays_keeps_its_own_hours() -> None:
    # 8 instances until 20 December, then none: it stopped, the holidays did not idle it
    usage = _matrix("2024-10-03", 90, 0.0)
    usage.quantity[:, 0] = np.where(usage.hours < pd.Timestamp("2024-12-20", tz="UTC"), 8.0, 0.0)
    assert without_year_end_holidays(usage) == (usage, 0)


def test_a_lookback_without_the_holidays_or_without_stand_ins_is_left_as_it_is() -> None:
    autumn = _matrix("2024-09-01", 60, 5.0)
    assert without_year_end_holidays(autumn) == (autumn, 0)
    only_holidays = _matrix("2024-12-24", 9, 1.0)  # no hour outside them to stand in
    assert without_year_end_holidays(only_holidays) == (only_holidays, 0)
    # the first days of a lookback that starts on 20 December have no hour two or three weeks
    # before them: the hours two weeks after stand in alone
    late = _matrix("2024-12-20", 30, 0.0)
    late.quantity[:, 0] = np.where(holiday_hours(late.hours), 0.0, 6.0)
    mended, replaced = without_year_end_holidays(late)
    assert replaced == 9 * 24
    assert (mended.quantity[:, 0] == 6.0).all()


def test_recommend_on_1_january_buys_for_the_estate_not_its_holiday_dip() -> None:
    # 8 m4.large all autumn, 2 over the holidays; decided on 1 January's end: before, the last
    # week was a new low and the decision bought for 2 instances
    usage = _matrix("2024-10-03", 91, 0.0)
    usage.quantity[:, 0] = np.where(holiday_hours(usage.hours), 2.0, 8.0)
    stopped = np.where(usage.hours < pd.Timestamp("2024-12-20", tz="UTC"), 8.0, 0.0)
    keys = pd.concat([usage.keys] * 2, ignore_index=True)
    keys.loc[1, "instance_type"] = "c4.large"  # stopped on 20 December: nothing bought for it
    usage = UsageMatrix(usage.hours, keys, np.column_stack([usage.quantity[:, 0], stopped]))
    result = recommend(
        usage, load_embedded_catalog(), Policy(instruments=("ri",)),
        options=RecommendOptions(lookback_days=90),
    )  # fmt: skip
    bought = {p.instance_type: p.count or 0 for p in result.purchases}
    assert bought.get("m4.large", 0) >= 7
    assert "c4.large" not in bought
    assert any("year-end holidays' 216 hours" in note for note in result.notes)
