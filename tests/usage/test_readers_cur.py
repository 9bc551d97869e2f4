"""CUR, CUR 2.0, FOCUS and canonical readers: real October 2018 CUR, round trips, bad input."""

from __future__ import annotations

import dataclasses
import gzip
import os
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pricing.platforms import PLATFORM_TO_OPERATION
from pricing.regions import REGION_TO_PREFIX
from usage.errors import UsageInputError
from usage.readers import detect_format, read_canonical, read_cur, read_cur2, read_focus, read_usage

DATA = Path(__file__).resolve().parents[1] / "data"
CUR = DATA / "cur" / "wal_Oct2018-WorkshopCUR-usage-trimmed.zstd.parquet"
NO_EC2 = DATA / "cur" / "focusconv_legacy-cur_2023-11_head20.csv.gz"
KEY = ["account_id", "region", "instance_type", "platform", "tenancy"]


@pytest.fixture(scope="module")
def cur_table() -> pd.DataFrame:
    table, _ = read_cur(CUR)
    return table


def _expected_from_pandas() -> pd.DataFrame:
    """Demand computed independently: Usage + DiscountedUsage BoxUsage rows, parsed with pandas."""
    raw = pd.read_parquet(CUR)
    parts = raw["line_item_usage_type"].str.extract(
        r"^(?:([A-Z0-9]+)-)?(BoxUsage|DedicatedUsage):(.+)$"
    )
    keep = (
        raw["line_item_line_item_type"].isin(["Usage", "DiscountedUsage"])
        & (raw["line_item_product_code"] == "AmazonEC2")
        & parts[1].notna()
    )
    rows = raw[keep]
    prefix = parts.loc[keep, 0].fillna("USE1")
    to_region = {p: r for r, p in REGION_TO_PREFIX.items()}
    to_platform = {o: p for p, o in PLATFORM_TO_OPERATION.items()}
    frame = pd.DataFrame(
        {
            "hour": pd.to_datetime(rows["line_item_usage_start_date"]).dt.tz_localize("UTC"),
            "account_id": rows["line_item_usage_account_id"],
            "region": prefix.map(to_region),
            "instance_type": parts.loc[keep, 2],
            "platform": rows["line_item_operation"].map(to_platform),
            "tenancy": parts.loc[keep, 1].map(
                {"BoxUsage": "Shared", "DedicatedUsage": "Dedicated"}
            ),
            "quantity": rows["line_item_usage_amount"],
        }
    )
    return frame.groupby(["hour", *KEY])["quantity"].sum().reset_index()


def test_real_cur_demand_equals_usage_and_discounted_usage_rows(cur_table: pd.DataFrame) -> None:
    expected = _expected_from_pandas()
    got = cur_table.assign(hour=cur_table["hour"].astype("datetime64[ns, UTC]"))
    merged = got.merge(
        expected.assign(hour=expected["hour"].astype("datetime64[ns, UTC]")),
        on=["hour", *KEY],
        how="outer",
        suffixes=("", "_pandas"),
        indicator=True,
    )
    assert (merged["_merge"] == "both").all()
    assert merged["quantity"].to_numpy() == pytest.approx(merged["quantity_pandas"].to_numpy())
    assert len(cur_table) == 504
    assert cur_table["quantity"].sum() == pytest.approx(1462.927221)
    assert str(cur_table["hour"].dtype) == "datetime64[ns, UTC]"
    assert set(cur_table["region"]) == {"us-east-1", "eu-west-2"}
    assert set(cur_table["platform"]) == {"Linux/UNIX", "Windows"}


def test_real_cur_report_excludes_ri_fees_and_spot() -> None:
    _, report = read_cur(CUR)
    assert report.kept_line_items == 1610
    assert report.billing_periods == ("2018-10",)
    assert report.currency == "USD"
    assert not report.daily
    ri_fee = report.excluded("RI fee")
    assert ri_fee.line_items == 9
    assert ri_fee.cost == pytest.approx(149.775379)
    assert report.excluded("spot").line_items == 39
    assert report.kept_line_items + report.excluded_line_items == len(pd.read_parquet(CUR))


def test_ri_fee_rows_are_not_demand(tmp_path: Path) -> None:
    raw = pd.read_parquet(CUR)
    fees = raw[raw["line_item_line_item_type"] == "RIFee"]
    # An RIFee row relabelled as Usage with a BoxUsage type would be demand; as RIFee it is not.
    both = pd.concat([raw, fees.assign(line_item_line_item_type="RIFee")])
    path = tmp_path / "cur.parquet"
    both.to_parquet(path)
    table, report = read_cur(path)
    assert table["quantity"].sum() == pytest.approx(1462.927221)
    assert report.excluded("RI fee").line_items == 18


def test_start_end_filter() -> None:
    table, _ = read_cur(CUR, start="2018-10-02", end="2018-10-03")
    assert table["hour"].min() == pd.Timestamp("2018-10-02", tz="UTC")
    assert table["hour"].max() == pd.Timestamp("2018-10-02 23:00", tz="UTC")


def test_legacy_cur_sample_without_ec2_is_rejected() -> None:
    with pytest.raises(UsageInputError, match="no EC2 instance usage found") as error:
        read_cur(NO_EC2)
    assert "tax 12" in str(error.value)
    assert detect_format(NO_EC2) == "cur"


# ---------------------------------------------------------------- writers for the round trip


def _usage_types(table: pd.DataFrame) -> pd.Series:
    prefix = table["region"].map(REGION_TO_PREFIX)
    kind = table["tenancy"].map({"Shared": "BoxUsage", "Dedicated": "DedicatedUsage"})
    return prefix + "-" + kind + ":" + table["instance_type"]


def _write_legacy_cur_csv(table: pd.DataFrame, path: Path) -> None:
    frame = pd.DataFrame(
        {
            "identity/LineItemId": [f"id{i}" for i in range(len(table))],
            "bill/BillingPeriodStartDate": "2018-10-01T00:00:00Z",
            "lineItem/UsageAccountId": table["account_id"],
            "lineItem/LineItemType": "Usage",
            "lineItem/UsageStartDate": table["hour"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lineItem/UsageEndDate": (table["hour"] + pd.Timedelta(hours=1)).dt.strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "lineItem/ProductCode": "AmazonEC2",
            "lineItem/UsageType": _usage_types(table),
            "lineItem/Operation": table["platform"].map(PLATFORM_TO_OPERATION),
            "lineItem/UsageAmount": table["quantity"].map(repr),
            "lineItem/CurrencyCode": "USD",
            "lineItem/UnblendedCost": "0.1",
        }
    )
    with gzip.open(path, "wt") as stream:
        frame.to_csv(stream, index=False)


def _write_cur2_parquet(table: pd.DataFrame, path: Path) -> None:
    products = [
        [("instance_type", t), ("region", r)]
        for t, r in zip(table["instance_type"], table["region"], strict=True)
    ]
    arrow = pa.table(
        {
            "bill_billing_period_start_date": pa.array(
                [pd.Timestamp("2018-10-01")] * len(table), pa.timestamp("ms")
            ),
            "line_item_usage_account_id": pa.array(table["account_id"].astype(str)),
            "line_item_line_item_type": pa.array(["DiscountedUsage"] * len(table)),
            "line_item_usage_start_date": pa.array(
                table["hour"].dt.tz_localize(None).astype("datetime64[ms]"), pa.timestamp("ms")
            ),
            "line_item_product_code": pa.array(["AmazonEC2"] * len(table)),
            "line_item_usage_type": pa.array(_usage_types(table).astype(str)),
            "line_item_operation": pa.array(table["platform"].map(PLATFORM_TO_OPERATION)),
            "line_item_usage_amount": pa.array(table["quantity"].astype(float)),
            "line_item_unblended_cost": pa.array([0.0] * len(table)),
            "line_item_currency_code": pa.array(["USD"] * len(table)),
            "product": pa.array(products, pa.map_(pa.string(), pa.string())),
        }
    )
    pq.write_table(arrow, path)


def _write_focus_csv(table: pd.DataFrame, path: Path) -> None:
    frame = pd.DataFrame(
        {
            "BilledCost": 0.1,
            "BillingCurrency": "USD",
            "BillingPeriodStart": "2018-10-01 00:00:00",
            "ChargeCategory": "Usage",
            "ChargeDescription": "",
            "ChargePeriodStart": table["hour"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "ChargePeriodEnd": (table["hour"] + pd.Timedelta(hours=1)).dt.strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
            "CommitmentDiscountType": None,
            "ConsumedQuantity": table["quantity"].map(repr),
            "PricingCategory": "Standard",
            "ProviderName": "AWS",
            "RegionId": table["region"],
            "ResourceType": "instance",
            "ServiceName": "Amazon Elastic Compute Cloud",
            "SubAccountId": table["account_id"],
            "x_Operation": table["platform"].map(PLATFORM_TO_OPERATION),
            "x_ServiceCode": "AmazonEC2",
            "x_UsageType": _usage_types(table),
        }
    )
    frame.to_csv(path, index=False)


def test_same_usage_in_every_format_reads_back_the_same(
    cur_table: pd.DataFrame, tmp_path: Path
) -> None:
    table = cur_table
    _write_legacy_cur_csv(table, tmp_path / "legacy.csv.gz")
    _write_cur2_parquet(table, tmp_path / "cur2.parquet")
    _write_focus_csv(table, tmp_path / "focus.csv")
    table.to_csv(tmp_path / "canonical.csv", index=False)
    table.to_parquet(tmp_path / "canonical.parquet")
    focus12 = pd.read_csv(tmp_path / "focus.csv", dtype=str).rename(
        columns={"x_UsageType": "SkuMeter"}
    )
    focus12.to_parquet(tmp_path / "focus12.parquet")
    readers = {
        "legacy.csv.gz": ("cur", read_cur),
        "cur2.parquet": ("cur2", read_cur2),
        "focus.csv": ("focus", read_focus),
        "focus12.parquet": ("focus", read_focus),
        "canonical.csv": ("canonical", read_canonical),
        "canonical.parquet": ("canonical", read_canonical),
    }
    for name, (fmt, reader) in readers.items():
        assert detect_format(tmp_path / name) == fmt, name
        got, _ = reader(tmp_path / name)
        pd.testing.assert_frame_equal(got, table, check_exact=False, obj=name)
        auto, report = read_usage(tmp_path / name)
        pd.testing.assert_frame_equal(auto, table, check_exact=False, obj=name)
        assert report.format == fmt


def test_redelivered_cur_is_not_double_counted(cur_table: pd.DataFrame, tmp_path: Path) -> None:
    old = tmp_path / "report" / "20181001-20181101" / "aaaa"
    new = tmp_path / "report" / "20181001-20181101" / "bbbb"
    old.mkdir(parents=True)
    new.mkdir(parents=True)
    shutil.copy(CUR, old / "cur-00001.snappy.parquet")
    raw = pd.read_parquet(CUR)
    raw.loc[raw.index[0], "line_item_usage_amount"] += 0.0  # same content, later delivery
    raw.to_parquet(new / "cur-00001.snappy.parquet")
    os.utime(old / "cur-00001.snappy.parquet", (1_000_000_000, 1_000_000_000))
    table, report = read_cur(tmp_path / "report")
    pd.testing.assert_frame_equal(table, cur_table)
    assert report.files == (str(new / "cur-00001.snappy.parquet"),)
    assert report.superseded_files == (str(old / "cur-00001.snappy.parquet"),)
    # a copy of the same file in the same folder is read once
    shutil.copy(new / "cur-00001.snappy.parquet", new / "cur-00001 (copy).snappy.parquet")
    again, report = read_cur(new)
    pd.testing.assert_frame_equal(again, cur_table)
    assert len(report.superseded_files) == 1


# ---------------------------------------------------------------- bad input


def _cur_csv(tmp_path: Path, **changes: list[str]) -> Path:
    rows = {
        "lineItem/LineItemType": ["Usage", "Usage"],
        "lineItem/ProductCode": ["AmazonEC2", "AmazonEC2"],
        "lineItem/UsageType": ["BoxUsage:m5.large", "USE2-BoxUsage:c5.xlarge"],
        "lineItem/Operation": ["RunInstances", "RunInstances:0002"],
        "lineItem/UsageStartDate": ["2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z"],
        "lineItem/UsageEndDate": ["2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z"],
        "lineItem/UsageAmount": ["1", "2"],
        "lineItem/CurrencyCode": ["USD", "USD"],
        "lineItem/UnblendedCost": ["0.096", "0.2"],
    }
    rows.update({k.replace("_", "/"): v for k, v in changes.items()})
    path = tmp_path / "cur.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_small_cur_csv_reads(tmp_path: Path) -> None:
    table, report = read_cur(_cur_csv(tmp_path))
    assert list(table["platform"]) == ["Linux/UNIX", "Windows"]
    assert list(table["region"]) == ["us-east-1", "us-east-2"]
    assert report.kept_cost == pytest.approx(0.296)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lineItem_CurrencyCode": ["USD", "EUR"]}, "mixed currencies EUR, USD"),
        ({"lineItem_UsageStartDate": ["2024-01-01T00:00:00Z", "yesterday"]}, "malformed timestamp"),
        ({"lineItem_UsageAmount": ["1", "-2"]}, "negative quantity"),
        ({"lineItem_UsageAmount": ["1", "two"]}, "malformed quantity"),
        ({"lineItem_ProductCode": ["AmazonS3", "AmazonRDS"]}, "no EC2 instance usage found"),
    ],
)
def test_bad_values(tmp_path: Path, changes: dict[str, list[str]], message: str) -> None:
    with pytest.raises(UsageInputError, match=message):
        read_cur(_cur_csv(tmp_path, **changes))


def test_missing_columns_are_named(tmp_path: Path) -> None:
    path = _cur_csv(tmp_path)
    pd.read_csv(path).drop(columns=["lineItem/Operation"]).to_csv(path, index=False)
    with pytest.raises(UsageInputError, match="line_item_operation") as error:
        read_cur(path)
    assert "found" in str(error.value)


def test_empty_and_corrupt_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(UsageInputError, match="empty"):
        read_cur(empty)
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(CUR.read_bytes()[:5000])
    with pytest.raises(UsageInputError, match=r"corrupt\.parquet"):
        read_cur(corrupt)
    with pytest.raises(UsageInputError, match="no file matches"):
        read_usage(str(tmp_path / "nothing-*.parquet"))


def test_overlapping_canonical_files(cur_table: pd.DataFrame, tmp_path: Path) -> None:
    cur_table.to_csv(tmp_path / "a.csv", index=False)
    cur_table.iloc[:10].assign(quantity=7.0).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(UsageInputError, match="overlapping files"):
        read_canonical([tmp_path / "a.csv", tmp_path / "b.csv"])
    cur_table.to_csv(tmp_path / "copy.csv", index=False)
    table, report = read_canonical([tmp_path / "a.csv", tmp_path / "copy.csv"])
    pd.testing.assert_frame_equal(table, cur_table)
    assert report.superseded_files == (str(tmp_path / "copy.csv"),)


def test_naive_canonical_hours_are_rejected(cur_table: pd.DataFrame, tmp_path: Path) -> None:
    cur_table.assign(hour=cur_table["hour"].dt.tz_localize(None)).to_csv(
        tmp_path / "naive.csv", index=False
    )
    with pytest.raises(UsageInputError, match="hour"):
        read_usage(tmp_path / "naive.csv", format="csv")


def test_daily_cur_is_spread_over_24_hours(tmp_path: Path) -> None:
    path = _cur_csv(
        tmp_path,
        lineItem_UsageStartDate=["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"],
        lineItem_UsageEndDate=["2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"],
        lineItem_UsageAmount=["24", "48"],
    )
    table, report = read_cur(path)
    assert report.daily
    assert len(table) == 48
    assert table["quantity"].sum() == pytest.approx(72.0)
    assert set(table["quantity"]) == {1.0, 2.0}


def test_read_usage_filters_canonical_files_by_period(
    cur_table: pd.DataFrame, tmp_path: Path
) -> None:
    cur_table.to_csv(tmp_path / "usage.csv", index=False)
    table, _ = read_usage(
        tmp_path / "usage.csv", start="2018-10-02T00:00:00+00:00", end=pd.Timestamp("2018-10-03")
    )
    assert table["hour"].min() == pd.Timestamp("2018-10-02", tz="UTC")
    assert table["hour"].max() == pd.Timestamp("2018-10-02 23:00", tz="UTC")
    with pytest.raises(UsageInputError, match="unknown usage format"):
        read_usage(tmp_path / "usage.csv", format="xml")  # type: ignore[arg-type]


def test_read_cur_reports_progress(cur_table: pd.DataFrame) -> None:
    calls: list[tuple[int, int | None]] = []
    table, _ = read_cur(CUR, progress=lambda done, total: calls.append((done, total)))
    pd.testing.assert_frame_equal(table, cur_table)
    # two queries (per-file stats, then the aggregation), each half of the percentage
    assert calls[0] == (0, 100)
    assert (50, 100) in calls
    assert calls[-1] == (100, 100)
    dones = [done for done, _ in calls]
    assert dones == sorted(dones)
    assert {total for _, total in calls} == {100}


def _classified_rows(path: Path) -> pd.DataFrame:
    """Every row of the one aggregation SQL over ``path``, as Athena's path receives them."""
    from pricing.readers.cur_columns import cur_select_sql
    from usage.demand_sql import classified_sql
    from usage.readers import usage_connection

    with usage_connection() as connection:
        select = cur_select_sql(
            connection,
            [path],
            required=("line_item_line_item_type", "line_item_product_code",
                      "line_item_usage_type", "line_item_operation",
                      "line_item_usage_start_date", "line_item_usage_amount"),
            optional=("line_item_unblended_cost", "line_item_usage_account_id",
                      "line_item_currency_code"),
        )  # fmt: skip
        return connection.sql(classified_sql(f"({select})")).df()


def test_sums_in_duckdb_equal_sums_in_pandas(tmp_path: Path) -> None:
    """The file readers sum the classified rows in DuckDB; Athena's path sums them in pandas.

    On the real CUR, and on a CUR where one hour and key has a row without a currency next to
    a row in USD (two classified groups that must become one canonical row), both give the same
    table and the same report (sums to rounding: the order of addition differs).
    """
    from usage.readers import table_from_classified

    blank = _cur_csv(
        tmp_path,
        lineItem_UsageType=["BoxUsage:m5.large", "BoxUsage:m5.large"],
        lineItem_Operation=["RunInstances", "RunInstances"],
        lineItem_UsageStartDate=["2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"],
        lineItem_CurrencyCode=["USD", ""],
    )
    for path in (CUR, blank):
        table, report = read_cur(path)
        expected, expected_report = table_from_classified(
            _classified_rows(path), fmt="cur", where=str(path), files=report.files,
            periods=report.billing_periods,
        )  # fmt: skip
        pd.testing.assert_frame_equal(table, expected, check_exact=False, rtol=1e-12)
        sums = ("kept_quantity", "kept_cost")
        assert dataclasses.replace(report, kept_quantity=0, kept_cost=0) == dataclasses.replace(
            expected_report, kept_quantity=0, kept_cost=0
        )
        for name in sums:
            assert getattr(report, name) == pytest.approx(getattr(expected_report, name), 1e-12)
    assert list(table["quantity"]) == [3.0]
    assert report.kept_cost == pytest.approx(0.296)
