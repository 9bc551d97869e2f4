"""Plans of known changes applied to a forecast: dated ramps, skipped and narrowed selections."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pricing.catalog import PriceCatalog
from pricing.embedded import load_embedded_catalog
from pricing.instance_types import normalization_factors
from scenarios.known_changes import apply_known_changes, check_known_changes
from scenarios.transforms import Exit, Growth, Migration, Scenario, ScenarioError, Selection
from usage.table import KEY_COLUMNS, UsageMatrix

START = pd.Timestamp("2024-07-01", tz="UTC")
HOURS = 24 * 60
ACCOUNT = "111111111111"


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return load_embedded_catalog().filter(regions=["us-east-1", "us-west-2"])


def future(*types: tuple[str, str], count: float = 10.0) -> UsageMatrix:
    """A flat forecast of ``count`` instances of each (region, instance type) from START."""
    keys = pd.DataFrame(
        sorted((ACCOUNT, region, kind, "Linux/UNIX", "Shared") for region, kind in types),
        columns=list(KEY_COLUMNS),
        dtype="string",
    )
    hours = pd.date_range(START, periods=HOURS, freq="h", unit="ns")
    return UsageMatrix(hours=hours, keys=keys, quantity=np.full((HOURS, len(keys)), count))


def units(usage: UsageMatrix) -> np.ndarray:
    """Normalized units of each hour."""
    factors = np.asarray(normalization_factors(usage.keys["instance_type"]), dtype=np.float64)
    return np.asarray(usage.quantity @ factors)


def migration_plan(begins: str, ends: str, source: Selection) -> Scenario:
    step = Migration(source, 1.0, pd.Timestamp(begins), pd.Timestamp(ends), to_family="c5")
    return Scenario("plan", transforms=(step,), source="plan.yaml")


def test_a_planned_migration_moves_the_forecast_from_its_dated_ramp(catalog) -> None:  # type: ignore[no-untyped-def]
    usage = future(("us-west-2", "m4.xlarge"), ("us-east-1", "m4.large"))
    plan = migration_plan(
        "2024-07-15", "2024-08-14", Selection(regions=("us-west-2",), families=("m4",))
    )
    (moved, _), skipped = apply_known_changes(usage, plan, catalog)
    assert skipped == ()
    np.testing.assert_allclose(units(moved), units(usage))
    frame = moved.to_frame(keep_zeros=True)
    by_type = frame.pivot_table(index="hour", columns="instance_type", values="quantity")
    # nothing moves before the ramp, everything after it; the other region is left alone
    assert (by_type.loc[:"2024-07-14 23:00", "m4.xlarge"] == 10).all()
    assert (by_type.loc["2024-08-14 00:00":, "m4.xlarge"] == 0).all()
    assert (by_type.loc["2024-08-14 00:00":, "c5.xlarge"] == 10).all()
    assert (by_type["m4.large"] == 10).all()
    halfway = by_type.loc["2024-07-30 00:00"]
    assert halfway["c5.xlarge"] == pytest.approx(5.0)


def test_a_plan_for_usage_the_forecast_no_longer_has_is_skipped(catalog) -> None:  # type: ignore[no-untyped-def]
    usage = future(("us-west-2", "c5.xlarge"))
    plan = migration_plan("2024-05-01", "2024-06-01", Selection(families=("m4",)))
    (same, prices), skipped = apply_known_changes(usage, plan, catalog)
    assert skipped == ("plan.yaml transform 1",)
    np.testing.assert_array_equal(same.quantity, usage.quantity)
    assert prices is catalog


def test_a_selection_is_narrowed_to_what_the_forecast_still_has(catalog) -> None:  # type: ignore[no-untyped-def]
    usage = future(("us-east-1", "m4.large"), ("us-east-1", "c5.large"))
    stop = Exit(Selection(families=("m4", "r4")), pd.Timestamp("2024-08-01"))
    plan = Scenario("plan", transforms=(stop,))
    (after, _), skipped = apply_known_changes(usage, plan, catalog)
    assert skipped == ()
    m4 = int(np.flatnonzero(usage.keys["instance_type"] == "m4.large")[0])
    cut = int(np.searchsorted(usage.hours, pd.Timestamp("2024-08-01", tz="UTC")))
    assert (after.quantity[:cut, m4] == 10).all() and (after.quantity[cut:, m4] == 0).all()
    np.testing.assert_array_equal(after.quantity[:, 1 - m4], usage.quantity[:, 1 - m4])
    # the plain scenario would reject r4, which is nowhere in this usage
    with pytest.raises(ScenarioError, match="family 'r4' is absent"):
        plan.apply(usage, catalog)


def test_growth_of_all_usage_from_the_review_applies_as_is(catalog) -> None:  # type: ignore[no-untyped-def]
    usage = future(("us-east-1", "m4.large"))
    plan = Scenario("plan", transforms=(Growth(10.0),))
    (grown, _), _ = apply_known_changes(usage, plan, catalog)
    assert grown.quantity[0, 0] == pytest.approx(10.0)
    assert grown.quantity[730, 0] == pytest.approx(11.0)


def test_a_plan_naming_usage_the_history_never_had_is_an_error(catalog) -> None:  # type: ignore[no-untyped-def]
    history = future(("us-east-1", "m4.large"))
    plan = migration_plan(
        "2024-07-15", "2024-08-14", Selection(regions=("us-west-2",), families=("m4",))
    )
    with pytest.raises(ScenarioError) as caught:
        check_known_changes(plan, history, catalog)
    message = str(caught.value)
    assert "region 'us-west-2' is absent" in message and "plan.yaml transform 1" in message
    assert "\n" not in message
