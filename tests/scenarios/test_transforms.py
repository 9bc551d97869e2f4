"""What-if transforms: conservation, identities, closed forms, order, prices, bad input."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.simulator import simulate
from pricing.catalog import TERM_HOURS, CatalogMetadata, PriceCatalog
from pricing.embedded import load_embedded_catalog
from pricing.instance_types import normalization_factors
from pricing.inventory import Commitment, Inventory
from scenarios.transforms import (
    HOURS_PER_MONTH,
    Exit,
    Growth,
    Migration,
    NewWorkload,
    PriceChange,
    Scenario,
    ScenarioError,
    Selection,
    merge_keys,
    target_type,
)
from usage.table import KEY_COLUMNS, UsageMatrix, to_matrix

START = pd.Timestamp("2024-01-01", tz="UTC")
HOURS = 2 * 730 + 48
KEYS = [
    ("111111111111", "us-east-1", "m4.xlarge", "Linux/UNIX", "Shared"),
    ("111111111111", "us-east-1", "m4.10xlarge", "Linux/UNIX", "Shared"),
    ("111111111111", "eu-west-1", "m4.large", "Linux/UNIX", "Shared"),
    ("222222222222", "eu-west-1", "c4.large", "Windows", "Shared"),
    ("222222222222", "us-east-1", "m4.2xlarge", "Windows", "Shared"),
]


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return load_embedded_catalog().filter(regions=["us-east-1", "eu-west-1"])


def load_catalog_metadata() -> CatalogMetadata:
    return CatalogMetadata(source="test", as_of=date(2024, 1, 1))


def _matrix(seed: int = 0, hours: int = HOURS) -> UsageMatrix:
    rng = np.random.default_rng(seed)
    keys = pd.DataFrame(sorted(KEYS), columns=list(KEY_COLUMNS), dtype="string")
    quantity = rng.integers(1, 20, size=(hours, len(KEYS))).astype(np.float64)
    index = pd.date_range(START, periods=hours, freq="h", unit="ns")
    return UsageMatrix(hours=index, keys=keys, quantity=quantity)


def _column(
    matrix: UsageMatrix,
    instance_type: str,
    platform: str = "Linux/UNIX",
    region: str | None = None,
) -> np.ndarray:
    keys = matrix.keys
    mask = (keys["instance_type"] == instance_type) & (keys["platform"] == platform)
    if region is not None:
        mask &= keys["region"] == region
    assert mask.sum() == 1, matrix.keys
    return matrix.quantity[:, np.flatnonzero(mask.to_numpy())[0]]


def _units(matrix: UsageMatrix) -> np.ndarray:
    """Normalized units per hour [NU]."""
    return (matrix.quantity * normalization_factors(matrix.keys["instance_type"])).sum(axis=1)


# ---------------------------------------------------------------- growth


def test_growth_of_zero_percent_is_the_identity(catalog: PriceCatalog) -> None:
    usage = _matrix()
    grown, prices = Growth(0.0, "2024-01-10").apply(usage, catalog)
    np.testing.assert_array_equal(grown.quantity, usage.quantity)
    assert grown.keys.equals(usage.keys) and prices is catalog


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 1000),
    start_hour=st.integers(-100, HOURS + 100),
    selected=st.sampled_from(
        [(None, None), ("m4", None), ("c4", None), (None, "111111111111"), ("c4", "222222222222")]
    ),
)
def test_growth_of_zero_percent_is_the_identity_property(
    seed: int, start_hour: int, selected: tuple[str | None, str | None]
) -> None:
    family, account = selected
    usage = _matrix(seed, hours=200)
    where = Selection(families=family or (), accounts=account or ())
    start = START + pd.Timedelta(hours=start_hour)
    catalog_stub = PriceCatalog.empty(load_catalog_metadata())
    grown, _ = Growth(0.0, start, where).apply(usage, catalog_stub)
    np.testing.assert_array_equal(grown.quantity, usage.quantity)


def test_growth_compounds_as_the_closed_form(catalog: PriceCatalog) -> None:
    usage = _matrix()
    start = START + pd.Timedelta(hours=24)
    grown, _ = Growth(3.0, start).apply(usage, catalog)
    ratio = grown.quantity / usage.quantity
    months = 730
    assert ratio[24, 0] == 1.0
    assert ratio[24 + months, 0] == pytest.approx(1.03, rel=1e-12)
    assert ratio[24 + 2 * months, 3] == pytest.approx(1.03**2, rel=1e-12)
    np.testing.assert_array_equal(ratio[:24], 1.0)  # nothing before the start
    elapsed = np.maximum(np.arange(HOURS) - 24, 0) / HOURS_PER_MONTH
    np.testing.assert_allclose(ratio, np.power(1.03, elapsed)[:, None] * np.ones(len(KEYS)))


def test_growth_restricted_to_a_selection_leaves_the_rest(catalog: PriceCatalog) -> None:
    usage = _matrix()
    grown, _ = Growth(5.0, where=Selection(regions="eu-west-1")).apply(usage, catalog)
    eu = (usage.keys["region"] == "eu-west-1").to_numpy()
    np.testing.assert_array_equal(grown.quantity[:, ~eu], usage.quantity[:, ~eu])
    assert grown.quantity[-1, eu] == pytest.approx(
        usage.quantity[-1, eu] * 1.05 ** ((HOURS - 1) / 730)
    )


def test_decline_is_negative_growth(catalog: PriceCatalog) -> None:
    assert Growth.decline(2.0, "2024-01-05") == Growth(-2.0, "2024-01-05")  # type: ignore[arg-type]
    declined, _ = Growth.decline(2.0).apply(_matrix(), catalog)
    assert declined.quantity[730, 0] == pytest.approx(_matrix().quantity[730, 0] * 0.98)


# ---------------------------------------------------------------- migration


def test_migration_conserves_normalized_units_every_hour(catalog: PriceCatalog) -> None:
    usage = _matrix()
    migration = Migration(Selection(families="m4"), 0.6, "2024-01-03", "2024-01-20", to_family="c4")
    moved, _ = migration.apply(usage, catalog)
    np.testing.assert_allclose(_units(moved), _units(usage), rtol=1e-12)
    # m4.xlarge -> c4.xlarge (same size); m4.10xlarge (80 NU) -> c4.large (4 NU): 20 per instance
    after = np.flatnonzero(moved.hours >= pd.Timestamp("2024-01-20", tz="UTC"))[0]
    old = _column(usage, "m4.10xlarge")
    np.testing.assert_allclose(_column(moved, "m4.10xlarge")[after:], 0.4 * old[after:])
    new = _column(moved, "c4.large", region="us-east-1")
    np.testing.assert_allclose(new[after:], 0.6 * old[after:] * 20)
    assert moved.total_instance_hours > usage.total_instance_hours


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 1000),
    share=st.floats(0.0, 1.0),
    start_hour=st.integers(-50, 250),
    ramp_hours=st.integers(0, 300),
    target=st.sampled_from(["c4", "r4", "t2", "m3"]),
)
def test_migration_conserves_normalized_units_property(
    seed: int, share: float, start_hour: int, ramp_hours: int, target: str
) -> None:
    usage = _matrix(seed, hours=200)
    start = START + pd.Timedelta(hours=start_hour)
    migration = Migration(
        Selection(families="m4"),
        share,
        start,
        start + pd.Timedelta(hours=ramp_hours),
        to_family=target,
        target_sizes=("medium", "large", "xlarge", "2xlarge"),
    )
    moved, _ = migration.apply(usage, PriceCatalog.empty(load_catalog_metadata()))
    np.testing.assert_allclose(_units(moved), _units(usage), rtol=1e-12)
    assert (moved.quantity >= 0).all()


def test_migration_ramps_linearly(catalog: PriceCatalog) -> None:
    usage = _matrix()
    start, end = START + pd.Timedelta(hours=100), START + pd.Timedelta(hours=300)
    migration = Migration(Selection(instance_types="m4.xlarge"), 0.5, start, end, to_family="c4")
    moved, _ = migration.apply(usage, catalog)
    old, new = _column(usage, "m4.xlarge"), _column(moved, "c4.xlarge")
    np.testing.assert_array_equal(new[:101], 0.0)
    assert new[200] == pytest.approx(0.25 * old[200])
    np.testing.assert_allclose(new[300:], 0.5 * old[300:])
    np.testing.assert_allclose(_column(moved, "m4.xlarge") + new, old)


def test_platform_migration_moves_instances_one_for_one(catalog: PriceCatalog) -> None:
    usage = _matrix()
    migration = Migration(
        Selection(platforms="windows", accounts="222222222222"),
        1.0,
        "2024-01-01",
        "2024-01-01",
        to_platform="linux",
    )
    moved, _ = migration.apply(usage, catalog)
    np.testing.assert_array_equal(_column(moved, "m4.2xlarge", "Windows"), 0.0)
    np.testing.assert_array_equal(
        _column(moved, "m4.2xlarge"), _column(usage, "m4.2xlarge", "Windows")
    )
    # c4.large Windows (eu-west-1) became c4.large Linux there
    assert "Windows" not in set(moved.keys["platform"][moved.quantity.sum(axis=0) > 0])
    assert moved.total_instance_hours == pytest.approx(usage.total_instance_hours)


def test_target_type_same_size_else_smallest_dividing_size() -> None:
    sizes = ("large", "xlarge", "2xlarge", "4xlarge", "9xlarge", "18xlarge")  # c5
    assert target_type("m4.xlarge", "c5", sizes) == "c5.xlarge"
    assert target_type("m4.10xlarge", "c5", sizes) == "c5.large"  # 80 = 20 x 4
    assert target_type("m4.10xlarge", "x9", ("medium", "large")) == "x9.medium"  # 80 = 40 x 2
    assert target_type("m4.16xlarge", "c5", ("9xlarge",)) == "c5.9xlarge"  # 128/72: fallback
    assert target_type("t2.nano", "c5", ("large", "xlarge")) == "c5.large"  # nothing divides 0.25


def test_migration_sizes_come_from_the_destination_region(catalog: PriceCatalog) -> None:
    """A size the target family has elsewhere but not in the key's region is not chosen."""
    keys = pd.DataFrame(
        [("1", "eu-west-1", "m4.xlarge", "Linux/UNIX", "Shared"),
         ("1", "us-east-1", "m4.xlarge", "Linux/UNIX", "Shared")],
        columns=list(KEY_COLUMNS), dtype="string",
    )  # fmt: skip
    hours = pd.date_range(START, periods=4, freq="h", unit="ns")
    usage = UsageMatrix(hours=hours, keys=keys, quantity=np.full((4, 2), 3.0))
    prices = PriceCatalog.from_frames(
        load_catalog_metadata(),
        on_demand=pd.DataFrame(
            {"region": ["us-east-1", "us-east-1", "eu-west-1"],
             "instance_type": ["c9.large", "c9.xlarge", "c9.large"],
             "platform": "Linux/UNIX", "tenancy": "Shared",
             "on_demand_usd_per_hour": [0.1, 0.2, 0.11]}
        ),
    )  # fmt: skip
    moved, _ = Migration(Selection(families="m4"), 1.0, START, START, "c9").apply(usage, prices)
    assert _column(moved, "c9.xlarge", region="us-east-1") == pytest.approx(3.0)
    assert _column(moved, "c9.large", region="eu-west-1") == pytest.approx(6.0)
    assert "c9.xlarge" not in set(
        moved.keys.loc[moved.keys["region"] == "eu-west-1", "instance_type"]
    )


def test_migration_merges_into_keys_that_already_exist(catalog: PriceCatalog) -> None:
    usage = _matrix()
    # m4.10xlarge to the m4 sizes {xlarge}: ten m4.xlarge each, into the existing m4.xlarge key
    resize = Migration(
        Selection(instance_types="m4.10xlarge"), 1.0, START, START, "m4", target_sizes=("xlarge",)
    )
    moved, _ = resize.apply(usage, catalog)
    assert moved.keys.equals(usage.keys)
    np.testing.assert_array_equal(_column(moved, "m4.10xlarge"), 0.0)
    np.testing.assert_allclose(
        _column(moved, "m4.xlarge"),
        _column(usage, "m4.xlarge") + 10 * _column(usage, "m4.10xlarge"),
    )


# ---------------------------------------------------------------- exit


def test_exit_zeroes_exactly_the_selected_usage_from_the_date(catalog: PriceCatalog) -> None:
    usage = _matrix()
    at = pd.Timestamp("2024-01-15T06:00:00Z")
    gone, _ = Exit(Selection(regions="eu-west-1", accounts="111111111111"), at).apply(
        usage, catalog
    )
    rows = np.asarray(usage.hours >= at)
    selected = (
        (usage.keys["region"] == "eu-west-1") & (usage.keys["account_id"] == "111111111111")
    ).to_numpy()
    expected = usage.quantity.copy()
    expected[np.ix_(rows, selected)] = 0.0
    np.testing.assert_array_equal(gone.quantity, expected)
    assert (gone.quantity[np.ix_(rows, ~selected)] > 0).all()
    assert (gone.quantity[np.ix_(~rows, selected)] > 0).all()


# ---------------------------------------------------------------- composition


def test_order_matters_for_growth_and_migration(catalog: PriceCatalog) -> None:
    usage = _matrix()
    grow_m4 = Growth(10.0, START, Selection(families="m4"))
    move = Migration(Selection(families="m4"), 1.0, "2024-01-02", "2024-01-02", to_family="c4")
    grow_then_move, _ = Scenario("a", transforms=(grow_m4, move)).apply(usage, catalog)
    move_then_grow, _ = Scenario("b", transforms=(move, grow_m4)).apply(usage, catalog)
    # grown then moved: the c4 copy carries the growth; moved first: nothing is left to grow
    last = -1
    assert _column(grow_then_move, "c4.xlarge")[last] == pytest.approx(
        _column(usage, "m4.xlarge")[last] * 1.1 ** ((HOURS - 1) / 730)
    )
    assert _column(move_then_grow, "c4.xlarge")[last] == _column(usage, "m4.xlarge")[last]
    # two growths commute
    g1, g2 = Growth(2.0, "2024-01-10"), Growth(-1.0, "2024-02-01", Selection(regions="eu-west-1"))
    one, _ = Scenario("c", transforms=(g1, g2)).apply(usage, catalog)
    two, _ = Scenario("d", transforms=(g2, g1)).apply(usage, catalog)
    np.testing.assert_allclose(one.quantity, two.quantity, rtol=1e-14)


def test_exit_after_a_migration_also_stops_the_migrated_usage(catalog: PriceCatalog) -> None:
    usage = _matrix()
    move = Migration(Selection(families="m4"), 0.5, START, START, to_family="c4")
    leave = Exit(Selection(regions="us-east-1"), "2024-01-10")
    exited, _ = Scenario("e", transforms=(move, leave)).apply(usage, catalog)
    kept_first, _ = Scenario("f", transforms=(leave, move)).apply(usage, catalog)
    np.testing.assert_allclose(exited.quantity.sum(), kept_first.quantity.sum())
    assert np.abs(exited.quantity[-1]).sum() == pytest.approx(np.abs(kept_first.quantity[-1]).sum())


# ---------------------------------------------------------------- new workload


def test_new_workload_adds_a_daily_cycle_around_its_count(catalog: PriceCatalog) -> None:
    usage = _matrix()
    workload = NewWorkload(
        "c4.xlarge",
        "us-east-1",
        account_id="333333333333",
        count_per_hour=10,
        daily_amplitude=4,
        peak_hour_utc=14,
        start="2024-01-02",
        end="2024-01-04",
    )
    added, _ = workload.apply(usage, catalog)
    column = _column(added, "c4.xlarge")
    np.testing.assert_array_equal(column[:24], 0.0)
    np.testing.assert_array_equal(column[72:], 0.0)
    assert column[24:72].sum() == pytest.approx(10 * 48)
    assert column[24 + 14] == pytest.approx(14.0) and column[24 + 2] == pytest.approx(6.0)
    assert added.total_instance_hours == pytest.approx(usage.total_instance_hours + 480)


def test_new_workload_from_a_canonical_csv(tmp_path: Path, catalog: PriceCatalog) -> None:
    usage = _matrix(hours=48)
    path = tmp_path / "extra.csv"
    pd.DataFrame(
        {
            "hour": pd.date_range("2024-01-01T12:00Z", periods=60, freq="h"),
            "account_id": "111111111111",
            "region": "us-east-1",
            "instance_type": "m4.xlarge",
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "quantity": 2.0,
        }
    ).to_csv(path, index=False)
    added, _ = NewWorkload(csv=path).apply(usage, catalog)
    assert len(added.keys) == len(usage.keys)  # merged into the existing key
    extra = _column(added, "m4.xlarge") - _column(usage, "m4.xlarge")
    np.testing.assert_array_equal(extra[:12], 0.0)
    np.testing.assert_array_equal(extra[12:], 2.0)  # rows past the period are left out


def test_merge_keys_sums_into_existing_and_sorts_new_keys() -> None:
    usage = _matrix(hours=3)
    keys = pd.DataFrame(
        [KEYS[0], ("000000000000", "us-east-1", "t2.micro", "Linux/UNIX", "Shared")],
        columns=list(KEY_COLUMNS),
    )
    merged = merge_keys(usage, keys, np.full((3, 2), 1.5))
    assert merged.keys.iloc[0]["account_id"] == "000000000000"
    assert _column(merged, "m4.xlarge") == pytest.approx(_column(usage, "m4.xlarge") + 1.5)
    again = to_matrix(merged.to_frame())
    np.testing.assert_array_equal(again.quantity, merged.quantity)


@pytest.mark.parametrize("order", ["sorted", "reversed", "empty"])
def test_merge_keys_equals_building_the_matrix_from_both_tables(order: str) -> None:
    usage = _matrix(seed=3, hours=30)
    if order == "reversed":
        usage = UsageMatrix(usage.hours, usage.keys.iloc[::-1].reset_index(drop=True),
                            np.ascontiguousarray(usage.quantity[:, ::-1]))  # fmt: skip
    if order == "empty":
        usage = UsageMatrix(usage.hours, usage.keys.iloc[:0], np.zeros((30, 0)))
    added_keys = pd.DataFrame(
        [KEYS[2], ("0", "us-east-1", "t2.micro", "Linux/UNIX", "Shared"), KEYS[2],
         ("9", "us-east-1", "t2.micro", "Linux/UNIX", "Shared")],
        columns=list(KEY_COLUMNS),
    )  # fmt: skip
    added = np.random.default_rng(4).uniform(0, 3, size=(30, 4))
    merged = merge_keys(usage, added_keys, added)
    extra = UsageMatrix(usage.hours, added_keys.astype("string"), added)
    both = pd.concat([usage.to_frame(), extra.to_frame()], ignore_index=True)
    expected = to_matrix(both.groupby(["hour", *KEY_COLUMNS], as_index=False)["quantity"].sum())
    assert merged.keys.equals(expected.keys)
    np.testing.assert_allclose(merged.quantity, expected.quantity, rtol=1e-14)


# ---------------------------------------------------------------- price change


def test_price_change_multiplies_the_on_demand_bill_exactly(catalog: PriceCatalog) -> None:
    usage = _matrix(hours=200)
    changed = Scenario("cheaper", transforms=(PriceChange(0.8),))
    _, prices = changed.apply(usage, catalog)
    before, after = simulate(usage, [], catalog).totals, simulate(usage, [], prices).totals
    assert after.on_demand_cost_usd == pytest.approx(0.8 * before.on_demand_cost_usd)
    assert after.actual_cost_usd == pytest.approx(0.8 * before.actual_cost_usd, rel=1e-12)
    # with an RI: the covered part is unchanged, the on-demand remainder scales exactly
    ri = Commitment(
        kind="reserved_instance",
        id="ri-1",
        region="us-east-1",
        instance_type="m4.xlarge",
        platform="Linux/UNIX",
        tenancy="Shared",
        offering_class="standard",
        term_years=1,
        payment_option="No Upfront",
        count=5,
        upfront_usd=0.0,
        recurring_usd_per_hour=0.15,
        start=START.to_pydatetime(),
        end=(START + pd.Timedelta(hours=TERM_HOURS[1])).to_pydatetime(),
    )
    owned = Inventory((ri,), as_of=START.to_pydatetime())
    base, cut = simulate(usage, owned, catalog).totals, simulate(usage, owned, prices).totals
    assert cut.uncovered_cost_usd == pytest.approx(0.8 * base.uncovered_cost_usd, rel=1e-12)
    assert cut.recurring_usd == base.recurring_usd
    assert cut.coverage_pct == pytest.approx(base.coverage_pct)


def test_price_change_keeps_the_catalog_valid_and_marks_what_changed(
    catalog: PriceCatalog,
) -> None:
    change = PriceChange(1.25, ("reserved", "savings_plans"), Selection(families="m4"))
    _, prices = change.apply(_matrix(hours=2), catalog)
    m4 = prices.reserved["instance_type"].str.startswith("m4.").to_numpy()
    old_m4 = catalog.reserved["instance_type"].str.startswith("m4.").to_numpy()
    np.testing.assert_allclose(
        prices.reserved.loc[m4, "effective_usd_per_hour"].to_numpy(),
        1.25 * catalog.reserved.loc[old_m4, "effective_usd_per_hour"].to_numpy(),
    )
    assert prices.reserved.loc[m4, "source"].str.endswith("× 1.25 (scenario)").all()
    assert prices.reserved.loc[m4, "derived"].all()
    assert not prices.reserved.loc[~m4, "source"].str.contains("scenario").any()
    pd.testing.assert_frame_equal(prices.on_demand, catalog.on_demand)
    assert "scenario price change" in prices.metadata.notes[-1]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: Migration(Selection(families="m4"), 1.5, START, START, to_family="c4"), "share"),
        (
            lambda: Migration(Selection(families="m4"), 0.5, "2024-03-01", "2024-02-01", "c4"),
            "ramp ends",
        ),
        (lambda: Growth(2.0, "2024-13-01"), "malformed date '2024-13-01'"),
        (lambda: Growth(-100.0), "above -100"),
        (lambda: Selection(regions="eu-west-9"), "did you mean 'eu-west-3'?"),
        (lambda: Selection(families="m4.large"), "not an instance family"),
        (lambda: Selection(platforms="beos"), "unknown platform 'beos'"),
        (lambda: Exit(Selection(), START), "an exit needs a selection"),
        (lambda: PriceChange(0.0), "not above zero"),
        (lambda: PriceChange(1.1, ("on_demnd",)), "did you mean 'on_demand'?"),
        (lambda: PriceChange(1.1, where=Selection(accounts="1")), "cannot select accounts"),
        (lambda: NewWorkload("c4.large", "us-east-1", count_per_hour=2, daily_amplitude=3), "amp"),
        (lambda: Migration(Selection(families="m4"), 0.5, START, START, to_family="m4"), "already"),
        (lambda: Migration(Selection(regions="us-east-1"), 0.5, START, START, "c4"), "a family"),
    ],
)
def test_bad_transforms_are_one_line_errors(build: object, fragment: str) -> None:
    with pytest.raises(ScenarioError) as error:
        build()  # type: ignore[operator]
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_absent_names_say_where_they_are_missing(catalog: PriceCatalog) -> None:
    usage = _matrix()
    scenario = Scenario("s", transforms=(Exit(Selection(families="r4"), START),))
    with pytest.raises(ScenarioError, match=r"family 'r4' is absent from the usage .*c4, m4"):
        scenario.apply(usage, catalog)
    with pytest.raises(ScenarioError, match=r"transform 1 \(exit\.where\.family\)"):
        scenario.apply(usage, catalog)
    unknown = Migration(Selection(families="m4"), 0.5, START, START, to_family="m6g")
    with pytest.raises(ScenarioError, match="'m6g' is unknown: neither the price catalog"):
        Scenario("g", transforms=(unknown,)).apply(usage, catalog)
    no_price = Migration(
        Selection(families="m4"), 0.5, START, START, to_family="m6g", target_sizes=("large",)
    )
    with pytest.raises(ScenarioError, match=r"no on-demand price .* m6g\.large"):
        Scenario("g", transforms=(no_price,)).apply(usage, catalog)
    cut = PriceChange(0.5, where=Selection(families="z1d"))
    with pytest.raises(ScenarioError, match="absent from the price catalog"):
        Scenario("p", transforms=(cut,)).apply(usage, catalog)
