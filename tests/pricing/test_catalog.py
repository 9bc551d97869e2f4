"""PriceCatalog: validation, look-ups, merge precedence, Parquet round trip, invariants."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricing.catalog import (
    KEY_COLUMNS,
    CatalogMetadata,
    PriceCatalog,
    effective_usd_per_hour,
)
from pricing.comparison import break_even_months
from pricing.errors import CatalogValidationError, MissingPriceError, PriceFileError
from pricing.offerings import OFFERING_CLASSES, PAYMENT_OPTIONS, TERM_HOURS

METADATA = CatalogMetadata("unit test", date(2025, 1, 1))
KEY = {
    "region": "us-east-1",
    "instance_type": "m5.large",
    "platform": "Linux/UNIX",
    "tenancy": "Shared",
}


def _on_demand(rate: float = 0.096, **overrides: object) -> pd.DataFrame:
    return pd.DataFrame([{**KEY, "on_demand_usd_per_hour": rate, **overrides}])


def _reserved(
    upfront: float = 252.0, recurring: float = 0.029, **overrides: object
) -> pd.DataFrame:
    row = {
        **KEY,
        "offering_class": "standard",
        "term_years": 1,
        "payment_option": "Partial Upfront",
        "upfront_usd": upfront,
        "recurring_usd_per_hour": recurring,
        **overrides,
    }
    return pd.DataFrame([row])


def test_effective_rate_is_computed_from_upfront_and_recurring() -> None:
    catalog = PriceCatalog.from_frames(METADATA, _on_demand(), _reserved())
    assert catalog.reserved["effective_usd_per_hour"].iloc[0] == pytest.approx(252 / 8760 + 0.029)
    assert catalog.reserved["source"].iloc[0] == "unit test"
    assert not catalog.reserved["derived"].iloc[0]


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ({"on_demand": _on_demand(-0.1)}, "negative on_demand_usd_per_hour"),
        ({"on_demand": _on_demand(float("nan"))}, "missing or non-finite on_demand_usd_per_hour"),
        ({"on_demand": pd.concat([_on_demand(), _on_demand(0.1)])}, "duplicated key"),
        ({"on_demand": _on_demand(platform="BeOS")}, "unknown platform"),
        ({"on_demand": _on_demand(tenancy="Host")}, "unknown tenancy"),
        ({"on_demand": _on_demand(region="")}, "empty region"),
        ({"on_demand": _on_demand(instance_type="m5")}, "not an EC2 instance type"),
        ({"reserved": _reserved(payment_option="Heavy Utilization")}, "unknown payment_option"),
        ({"reserved": _reserved(term_years=2)}, "term_years other than 1 or 3"),
        ({"reserved": _reserved(upfront=-1.0)}, "negative upfront_usd"),
        ({"reserved": _reserved(effective_usd_per_hour=0.5)}, "different from upfront"),
        ({"on_demand": _on_demand().drop(columns="tenancy")}, "lacks column"),
    ],
)
def test_validation_errors(frames: dict[str, pd.DataFrame], message: str) -> None:
    with pytest.raises(CatalogValidationError, match=message):
        PriceCatalog.from_frames(METADATA, **frames)


def test_other_currency_is_rejected() -> None:
    with pytest.raises(CatalogValidationError, match="USD only"):
        PriceCatalog.from_frames(CatalogMetadata("x", date(2025, 1, 1), currency="EUR"))


def test_lookups_are_vectorised_and_order_preserving() -> None:
    catalog = PriceCatalog.from_frames(METADATA, _on_demand(), _reserved())
    keys = pd.DataFrame([{**KEY, "instance_type": "m5.xlarge"}, KEY, KEY])
    assert np.isnan(catalog.on_demand_rates(keys)[0])
    assert catalog.on_demand_rates(keys)[1:].tolist() == [0.096, 0.096]
    upfront = catalog.reserved_rates(keys, "standard", 1, "Partial Upfront", column="upfront_usd")
    assert upfront[1:].tolist() == [252.0, 252.0]
    assert np.isnan(catalog.reserved_rates(keys, "convertible", 1, "Partial Upfront")).all()
    with pytest.raises(
        MissingPriceError, match=r"us-east-1 m5\.xlarge Linux/UNIX Shared.*pricing fetch"
    ):
        catalog.require_on_demand(keys)


def test_repeated_lookups_are_remembered_by_value_and_handed_out_as_copies() -> None:
    catalog = PriceCatalog.from_frames(METADATA, _on_demand(), _reserved())
    keys = pd.DataFrame([KEY, {**KEY, "instance_type": "m5.xlarge"}])
    first = catalog.on_demand_rates(keys)
    first[0] = -1.0  # a caller's change does not reach the next look-up
    again = catalog.on_demand_rates(keys.copy())
    assert again[0] == 0.096 and np.isnan(again[1])
    # other keys, another order, another offering or column: looked up, not the remembered rates
    assert np.isnan(catalog.on_demand_rates(keys.iloc[::-1])[0])
    partial = catalog.reserved_rates(keys, "standard", 1, "Partial Upfront", column="upfront_usd")
    assert partial[0] == 252.0
    assert np.isnan(catalog.reserved_rates(keys, "standard", 1, "All Upfront")).all()
    assert catalog.reserved_rates(keys, "standard", 1, "Partial Upfront")[0] == pytest.approx(
        252 / 8760 + 0.029
    )
    # a filtered catalog has its own tables and its own memory
    assert np.isnan(catalog.filter(regions=["eu-west-1"]).on_demand_rates(keys)).all()


def test_merge_earlier_catalog_wins_and_keeps_sources() -> None:
    cur = PriceCatalog.from_frames(CatalogMetadata("CUR", date(2018, 10, 31)), _on_demand(0.1))
    other_key = _on_demand(0.2, instance_type="m5.xlarge")
    snapshot = PriceCatalog.from_frames(
        CatalogMetadata("snapshot", date(2017, 11, 12)), pd.concat([_on_demand(0.05), other_key])
    )
    merged = PriceCatalog.merge([cur, snapshot])
    rates = merged.on_demand.set_index("instance_type")
    assert rates.loc["m5.large", "on_demand_usd_per_hour"] == 0.1
    assert rates.loc["m5.large", "source"] == "CUR"
    assert rates.loc["m5.xlarge", "source"] == "snapshot"
    assert merged.metadata.source == "CUR > snapshot"
    assert merged.metadata.as_of == date(2017, 11, 12)


def test_parquet_round_trip(tmp_path: Path) -> None:
    catalog = PriceCatalog.from_frames(METADATA, _on_demand(), _reserved())
    path = tmp_path / "catalog.parquet"
    catalog.to_parquet(path)
    loaded = PriceCatalog.read_parquet(path)
    assert loaded.metadata == catalog.metadata
    pd.testing.assert_frame_equal(loaded.reserved, catalog.reserved)
    pd.testing.assert_frame_equal(loaded.on_demand, catalog.on_demand)
    assert list(tmp_path.iterdir()) == [path]  # no temporary left behind


def test_reading_a_foreign_parquet_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "other.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(path)
    with pytest.raises(PriceFileError, match="without commitopt catalog metadata"):
        PriceCatalog.read_parquet(path)
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"PAR1 not really")
    with pytest.raises(PriceFileError, match="not a readable Parquet file"):
        PriceCatalog.read_parquet(junk)


def test_break_even_months() -> None:
    months = break_even_months([0.0, 252.0, 100.0], [0.06, 0.029, 0.2], [0.096, 0.096, 0.1])
    assert months[0] == 0.0
    assert months[1] == pytest.approx(252 / ((0.096 - 0.029) * 730))
    assert np.isinf(months[2])


# ---------------------------------------------------------------- property tests

_rates = st.floats(min_value=0.0, max_value=50.0, allow_nan=False, allow_infinity=False)
_types = st.sampled_from(["m5.large", "m5.xlarge", "c5.large", "t2.micro", "r5.2xlarge"])
_regions = st.sampled_from(["us-east-1", "eu-west-2", "ap-northeast-1"])
_platforms = st.sampled_from(["Linux/UNIX", "Windows", "Red Hat Enterprise Linux"])


@st.composite
def catalogs(draw: st.DrawFn) -> PriceCatalog:
    keys = draw(
        st.lists(st.tuples(_regions, _types, _platforms), min_size=1, max_size=12, unique=True)
    )
    on_demand = pd.DataFrame(
        [
            {"region": r, "instance_type": t, "platform": p, "tenancy": "Shared",
             "on_demand_usd_per_hour": draw(_rates)}
            for r, t, p in keys
        ]
    )  # fmt: skip
    offerings = draw(
        st.lists(
            st.tuples(
                st.sampled_from(keys),
                st.sampled_from(OFFERING_CLASSES),
                st.sampled_from(sorted(TERM_HOURS)),
                st.sampled_from(PAYMENT_OPTIONS),
            ),
            max_size=20,
            unique=True,
        )
    )
    reserved = pd.DataFrame(
        [
            {"region": r, "instance_type": t, "platform": p, "tenancy": "Shared",
             "offering_class": c, "term_years": y, "payment_option": o,
             "upfront_usd": 0.0 if o == "No Upfront" else draw(st.floats(0, 50_000)),
             "recurring_usd_per_hour": 0.0 if o == "All Upfront" else draw(_rates)}
            for (r, t, p), c, y, o in offerings
        ],
        columns=[*KEY_COLUMNS, "offering_class", "term_years", "payment_option",
                 "upfront_usd", "recurring_usd_per_hour"],
    )  # fmt: skip
    return PriceCatalog.from_frames(METADATA, on_demand, reserved)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(catalogs())
def test_invariants_hold_for_any_valid_catalog(catalog: PriceCatalog) -> None:
    reserved = catalog.reserved
    expected = effective_usd_per_hour(
        reserved["upfront_usd"], reserved["recurring_usd_per_hour"], reserved["term_years"]
    )
    assert np.allclose(reserved["effective_usd_per_hour"], expected, rtol=0, atol=1e-9)
    assert (catalog.on_demand["on_demand_usd_per_hour"] >= 0).all()
    assert not catalog.on_demand.duplicated(list(KEY_COLUMNS)).any()
    rates = catalog.on_demand_rates(catalog.on_demand)
    assert rates.tolist() == catalog.on_demand["on_demand_usd_per_hour"].tolist()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(catalogs(), catalogs())
def test_merge_is_a_first_wins_union(first: PriceCatalog, second: PriceCatalog) -> None:
    merged = PriceCatalog.merge([first, second])
    expected = {tuple(row[:4]): row[4] for row in second.on_demand.itertuples(index=False)}
    expected.update({tuple(row[:4]): row[4] for row in first.on_demand.itertuples(index=False)})
    got = {tuple(row[:4]): row[4] for row in merged.on_demand.itertuples(index=False)}
    assert got == expected


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(catalogs())
def test_parquet_round_trip_is_lossless(tmp_path: Path, catalog: PriceCatalog) -> None:
    path = tmp_path / "c.parquet"
    catalog.to_parquet(path)
    loaded = PriceCatalog.read_parquet(path)
    for name in ("on_demand", "reserved", "savings_plans"):
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(catalog, name))
