"""The canonical usage table: validation errors, matrix round trips, hour filling, daily spreads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from usage.errors import UsageInputError
from usage.table import (
    DAILY_GRANULAR_ATTR,
    KEY_COLUMNS,
    USAGE_COLUMNS,
    USAGE_SCHEMA,
    UsageMatrix,
    empty_usage_table,
    fill_missing_hours,
    filter_usage,
    spread_daily,
    to_matrix,
    validate_usage_table,
)

T0 = pd.Timestamp("2024-03-01T00:00:00Z")


def _table(**overrides: object) -> pd.DataFrame:
    """Three rows, two keys, a gap at 02:00."""
    frame = pd.DataFrame(
        {
            "hour": ["2024-03-01T03:00:00Z", "2024-03-01T00:00:00Z", "2024-03-01T01:00:00+00:00"],
            "account_id": ["a", "a", "b"],
            "region": ["us-east-1", "us-east-1", "eu-west-1"],
            "instance_type": ["m4.large", "m4.large", "c4.xlarge"],
            "platform": ["Linux/UNIX", "Linux/UNIX", "Windows"],
            "tenancy": ["Shared", "Shared", "Dedicated"],
            "quantity": [2.0, 1.0, 3.5],
        }
    )
    for column, value in overrides.items():
        frame[column] = value
    return frame


# ------------------------------------------------------------------------------------ validation


def test_validate_conforms_dtypes_sorts_and_keeps_attrs() -> None:
    frame = _table()
    frame.attrs["origin"] = "test"
    table = validate_usage_table(frame)
    assert list(table.columns) == list(USAGE_COLUMNS)
    assert {c: str(t) for c, t in table.dtypes.items()} == {
        c: str(pd.Series(dtype=t).dtype) for c, t in USAGE_SCHEMA.items()
    }
    assert table["hour"].tolist() == [T0, T0 + pd.Timedelta(hours=1), T0 + pd.Timedelta(hours=3)]
    assert table["quantity"].tolist() == [1.0, 3.5, 2.0]
    assert table.attrs["origin"] == "test"
    assert isinstance(table.index, pd.RangeIndex)


def test_validate_canonicalises_aliases_offsets_and_optional_account() -> None:
    frame = _table(platform=["linux", "Linux/UNIX (Amazon VPC)", "mswin"]).drop(
        columns="account_id"
    )
    frame["tenancy"] = ["default", "shared", "DEDICATED"]
    frame["hour"] = ["2024-03-01T08:00:00+05:00", "2024-03-01 00:00 UTC", "2024-03-01T01:00Z"]
    table = validate_usage_table(frame)
    assert table["platform"].tolist() == ["Linux/UNIX", "Windows", "Linux/UNIX"]
    assert table["tenancy"].tolist() == ["Shared", "Dedicated", "Shared"]
    assert table["account_id"].tolist() == ["", "", ""]
    assert table["hour"].tolist() == [T0, T0 + pd.Timedelta(hours=1), T0 + pd.Timedelta(hours=3)]


def test_validate_accepts_tz_aware_datetimes_in_other_zones() -> None:
    hours = pd.date_range("2024-03-01 09:00", periods=3, freq="h", tz="Asia/Tokyo")
    table = validate_usage_table(_table(hour=hours))
    assert table["hour"].min() == T0
    assert str(table["hour"].dt.tz) == "UTC"


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        (
            {"hour": pd.date_range("2024-03-01", periods=3, freq="h")},
            [
                "my.csv",
                "column hour",
                "timezone-naive",
                "rows 0 (2024-03-01 00:00:00)",
                "tz_localize",
            ],
        ),
        (
            {"hour": ["2024-03-01T00:00:00", "2024-03-01T01:00Z", "2024-03-01T02:00Z"]},
            ["column hour", "1 timezone-naive", "row 0 ('2024-03-01T00:00:00')", "time zone"],
        ),
        (
            {"hour": ["2024-03-01T00:00Z", "yesterday", None]},
            ["column hour", "2 missing or malformed", "rows 1 ('yesterday'), 2 (nan)", "ISO 8601"],
        ),
        (
            {"hour": ["2024-03-01T00:00Z", "2024-03-01T00:30Z", "2024-03-01T02:00Z"]},
            [
                "column hour",
                "not on the hour",
                "row 1",
                "floor the times to the hour",
                "GROUP BY hour, account_id",
                "the Python API: aggregate=True",
            ],
        ),
        ({"hour": [1, 2, 3]}, ["column hour", "numbers instead of timestamps"]),
        (
            {"quantity": [1.0, -0.5, 2.0]},
            ["column quantity", "1 negative", "row 1 (-0.5)", ">= 0"],
        ),
        (
            {"quantity": [1.0, np.nan, "x"]},
            ["column quantity", "2 missing, NaN", "rows 1 (nan), 2 ('x')", "finite numbers"],
        ),
        (
            {"platform": ["Linux/UNIX", "BeOS", "Windows"]},
            ["column platform", "unknown platform", "row 1 ('BeOS')", "RI product descriptions"],
        ),
        (
            {"tenancy": ["Shared", "Host", "Shared"]},
            ["column tenancy", "row 1 ('Host')", "Shared or Dedicated"],
        ),
        (
            {"instance_type": ["m4.large", "m4large", "c4.xlarge"]},
            ["column instance_type", "row 1 ('m4large')", "family.size"],
        ),
        (
            {"region": ["us-east-1", "us-east1", "eu-west-1"]},
            ["column region", "row 1 ('us-east1')", "region codes"],
        ),
        (
            {"region": ["us-east-1", "", None]},
            ["column region", "2 missing or empty", "rows 1 (''), 2 (nan)"],
        ),
    ],
)
def test_validate_rejects_bad_values(overrides: dict[str, object], fragments: list[str]) -> None:
    with pytest.raises(UsageInputError) as caught:
        validate_usage_table(_table(**overrides), source="my.csv")
    message = str(caught.value)
    assert message.startswith("my.csv: ")
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message
    assert isinstance(caught.value, ValueError)


def test_validate_names_missing_and_found_columns() -> None:
    frame = _table().drop(columns=["quantity", "tenancy"])
    with pytest.raises(UsageInputError, match="missing column") as caught:
        validate_usage_table(frame, source="in.parquet")
    message = str(caught.value)
    assert "missing column(s) tenancy, quantity" in message
    assert "needed: hour, account_id, region" in message
    assert "found: hour, account_id, region, instance_type, platform" in message


def test_duplicates_are_rejected_unless_aggregated() -> None:
    frame = pd.concat([_table(), _table().iloc[[0]]], ignore_index=True)
    with pytest.raises(UsageInputError, match=r"2 rows share an hour and key") as caught:
        validate_usage_table(frame)
    # right for a file on the command line (which has no aggregate flag) and for Python
    assert "or pass aggregate=True" not in str(caught.value)
    assert str(caught.value).endswith(
        "; sum them into one row per hour and key first (in SQL: GROUP BY hour, account_id, "
        "region, instance_type, platform, tenancy; the Python API: aggregate=True)"
    )
    summed = validate_usage_table(frame, aggregate=True)
    assert len(summed) == 3
    assert summed["quantity"].tolist() == [1.0, 3.5, 4.0]


# ----------------------------------------------------------------------------------------- matrix


def test_to_matrix_exact_cells_and_gap_filled() -> None:
    matrix = to_matrix(_table())
    assert list(matrix.hours) == [T0 + pd.Timedelta(hours=h) for h in range(4)]
    assert matrix.keys.to_dict("records") == [
        {
            "account_id": "a",
            "region": "us-east-1",
            "instance_type": "m4.large",
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
        },
        {
            "account_id": "b",
            "region": "eu-west-1",
            "instance_type": "c4.xlarge",
            "platform": "Windows",
            "tenancy": "Dedicated",
        },
    ]
    np.testing.assert_array_equal(matrix.quantity, [[1.0, 0.0], [0.0, 3.5], [0.0, 0.0], [2.0, 0.0]])
    assert matrix.quantity.dtype == np.float64
    assert not matrix.daily_granular
    assert matrix.total_instance_hours == 6.5


def test_to_matrix_window_pads_and_cuts() -> None:
    matrix = to_matrix(_table(), start="2024-02-29T22:00:00Z", end="2024-03-01T02:00:00Z")
    assert len(matrix.hours) == 4
    assert matrix.hours[0] == pd.Timestamp("2024-02-29T22:00:00Z")
    np.testing.assert_array_equal(matrix.quantity, [[0, 0], [0, 0], [1.0, 0], [0, 3.5]])
    naive = to_matrix(_table(), start="2024-03-01", end="2024-03-01 02:00")
    assert naive.hours[0] == T0 and len(naive.hours) == 2


def test_to_matrix_bad_bounds() -> None:
    with pytest.raises(UsageInputError, match="before start"):
        to_matrix(_table(), start="2024-03-02T00:00Z", end="2024-03-01T00:00Z")
    with pytest.raises(UsageInputError, match="not on the hour"):
        to_matrix(_table(), start="2024-03-01T00:15Z")
    with pytest.raises(UsageInputError, match="not a timestamp"):
        to_matrix(_table(), end="someday")


def test_empty_table_gives_empty_matrix() -> None:
    matrix = to_matrix(empty_usage_table())
    assert matrix.quantity.shape == (0, 0)
    padded = to_matrix(empty_usage_table(), start=T0, end=T0 + pd.Timedelta(hours=5))
    assert padded.quantity.shape == (5, 0)
    assert len(padded.to_frame()) == 0


def test_round_trip_is_exact_and_drops_zero_rows() -> None:
    table = validate_usage_table(_table())
    with_zero = pd.concat(
        [table, table.iloc[[0]].assign(hour=T0 + pd.Timedelta(hours=2), quantity=0.0)]
    )
    back = to_matrix(with_zero).to_frame()
    pd.testing.assert_frame_equal(back, table)
    assert back.attrs[DAILY_GRANULAR_ATTR] is False


def test_usage_matrix_checks_its_shape() -> None:
    matrix = to_matrix(_table())
    with pytest.raises(ValueError, match="shape"):
        UsageMatrix(matrix.hours, matrix.keys, matrix.quantity[:2])
    with pytest.raises(ValueError, match="contiguous"):
        UsageMatrix(matrix.hours[[0, 1, 3]], matrix.keys, matrix.quantity[:3])
    with pytest.raises(ValueError, match="float64"):
        UsageMatrix(matrix.hours, matrix.keys, matrix.quantity.astype(np.float32))


def test_fill_missing_hours_adds_zero_rows_only() -> None:
    filled = fill_missing_hours(_table())
    assert len(filled) == 4 * 2
    assert filled["quantity"].sum() == 6.5
    assert (filled["quantity"] == 0).sum() == 5
    assert filled.groupby("hour").size().tolist() == [2, 2, 2, 2]
    wider = fill_missing_hours(_table(), start="2024-02-29T00:00Z", end="2024-03-02T00:00Z")
    assert len(wider) == 48 * 2
    assert wider["quantity"].sum() == 6.5


# ------------------------------------------------------------------------------------------ daily


def test_spread_daily_conserves_totals_and_flags() -> None:
    daily = _table(
        hour=["2024-03-01T00:00Z", "2024-03-02T00:00Z", "2024-03-01T00:00Z"],
        quantity=[48.0, 12.0, 30.0],
    )
    hourly = spread_daily(daily)
    assert hourly.attrs[DAILY_GRANULAR_ATTR] is True
    assert len(hourly) == 72
    assert hourly["quantity"].sum() == pytest.approx(90.0, rel=1e-12)
    by_key_day = hourly.groupby(["account_id", hourly["hour"].dt.floor("D")])["quantity"].sum()
    assert by_key_day.to_dict() == pytest.approx(
        {("a", T0): 48.0, ("a", T0 + pd.Timedelta(days=1)): 12.0, ("b", T0): 30.0}
    )
    assert set(hourly.loc[hourly["account_id"] == "b", "quantity"]) == {1.25}
    assert hourly["hour"].dt.hour.value_counts().tolist() == [3] * 24
    matrix = to_matrix(hourly)
    assert matrix.daily_granular
    assert matrix.to_frame().attrs[DAILY_GRANULAR_ATTR] is True


def test_spread_daily_rejects_hourly_rows() -> None:
    with pytest.raises(UsageInputError, match=r"ce\.json: column hour .* not midnight UTC"):
        spread_daily(_table(), source="ce.json")


# ---------------------------------------------------------------------------------------- filters


def test_filters() -> None:
    table = validate_usage_table(_table())
    assert filter_usage(table).equals(table)
    assert filter_usage(table, accounts=["b"])["quantity"].tolist() == [3.5]
    assert filter_usage(table, regions=["us-east-1"])["quantity"].tolist() == [1.0, 2.0]
    assert filter_usage(table, families=["c4"])["instance_type"].tolist() == ["c4.xlarge"]
    assert filter_usage(table, platforms=["windows"])["quantity"].tolist() == [3.5]
    assert filter_usage(table, start="2024-03-01T01:00Z")["quantity"].tolist() == [3.5, 2.0]
    assert filter_usage(table, end="2024-03-01T01:00Z")["quantity"].tolist() == [1.0]
    assert len(filter_usage(table, accounts=["a"], families=["c4"])) == 0


# ---------------------------------------------------------------------------------------- property

_KEYS = [
    ("", "us-east-1", "m4.large", "Linux/UNIX", "Shared"),
    ("a", "us-east-1", "m4.large", "Linux/UNIX", "Shared"),
    ("a", "eu-west-1", "c4.xlarge", "Windows", "Shared"),
    ("b", "us-west-2", "r4.2xlarge", "SUSE Linux", "Dedicated"),
    ("b", "us-west-2", "t2.micro", "Red Hat Enterprise Linux", "Shared"),
]

_rows = st.lists(
    st.tuples(
        st.integers(0, 47),
        st.sampled_from(range(len(_KEYS))),
        st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False),
    ),
    max_size=60,
    unique_by=lambda row: (row[0], row[1]),
)


def _random_table(rows: list[tuple[int, int, float]]) -> pd.DataFrame:
    keys = [_KEYS[k] for _, k, _ in rows]
    frame = pd.DataFrame(keys, columns=list(KEY_COLUMNS)) if rows else None
    if frame is None:
        return empty_usage_table()
    frame.insert(0, "hour", [T0 + pd.Timedelta(hours=h) for h, _, _ in rows])
    frame["quantity"] = [q for _, _, q in rows]
    return frame


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_rows)
def test_property_round_trip_and_totals(rows: list[tuple[int, int, float]]) -> None:
    table = validate_usage_table(_random_table(rows))
    matrix = to_matrix(table)
    nonzero = table.loc[table["quantity"] > 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(matrix.to_frame(), nonzero)
    assert matrix.quantity.sum() == pytest.approx(table["quantity"].sum(), rel=1e-12)
    filled = fill_missing_hours(table)
    assert len(filled) == matrix.quantity.size
    assert filled["quantity"].sum() == pytest.approx(table["quantity"].sum(), rel=1e-12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    _rows,
    st.sets(st.sampled_from(["", "a", "b"])),
    st.sets(st.sampled_from(["m4", "c4", "r4", "t2"])),
    st.sets(st.sampled_from(["Linux/UNIX", "Windows", "SUSE Linux"])),
    st.integers(0, 48),
)
def test_property_filters_are_subsets(
    rows: list[tuple[int, int, float]],
    accounts: set[str],
    families: set[str],
    platforms: set[str],
    start_hour: int,
) -> None:
    table = validate_usage_table(_random_table(rows))
    kept = filter_usage(
        table,
        accounts=sorted(accounts),
        families=sorted(families),
        platforms=sorted(platforms),
        start=T0 + pd.Timedelta(hours=start_hour),
    )
    assert len(kept) <= len(table)
    merged = kept.merge(table, how="left", indicator=True)
    assert (merged["_merge"] == "both").all()
    if accounts:
        assert kept["account_id"].isin(accounts).all()
    if platforms:
        assert kept["platform"].isin(platforms).all()
    if families:
        assert kept["instance_type"].str.split(".").str[0].isin(families).all()
    assert (kept["hour"] >= T0 + pd.Timedelta(hours=start_hour)).all()
    # every row left out fails at least one filter
    left_out = table.merge(kept, how="left", indicator=True)
    left_out = left_out.loc[left_out["_merge"] == "left_only"]
    passes_all = (
        (left_out["account_id"].isin(accounts) if accounts else True)
        & (left_out["platform"].isin(platforms) if platforms else True)
        & (left_out["instance_type"].str.split(".").str[0].isin(families) if families else True)
        & (left_out["hour"] >= T0 + pd.Timedelta(hours=start_hour))
    )
    assert not np.asarray(passes_all, dtype=bool).any()
