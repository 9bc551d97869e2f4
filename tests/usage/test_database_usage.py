"""Database instance-hours from a CUR through the one demand SQL: the real October 2018 RDS rows,
both column spellings, every documented form and reason, bad input.

The oracle for the real rows is an independent DuckDB query over the fixture, written here: it
picks instance usage by the CUR's own product columns (``product_instance_type``,
``product_deployment_option``), not by the usage-type parsing under test.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from usage.errors import UsageInputError
from usage.readers import ImportReport, read_usage

DATA = Path(__file__).resolve().parents[1] / "data"
RDS_CUR = DATA / "cur" / "wal_Oct2018-WorkshopCUR-rds-trimmed.zstd.parquet"
NOT_INSTANCE = "database, not instance usage"
PLATFORM = {"Aurora MySQL": "aurora-mysql", "MariaDB": "mariadb"}  # the reservations' names


@pytest.fixture(scope="module")
def read() -> tuple[pd.DataFrame, ImportReport]:
    return read_usage(RDS_CUR, "cur")


def _oracle(sql: str) -> pd.DataFrame:
    connection = duckdb.connect()
    try:
        connection.execute("SET TimeZone = 'UTC'")
        return connection.sql(sql.replace("CUR", f"read_parquet('{RDS_CUR}')")).df()
    finally:
        connection.close()


def test_the_real_rds_instance_hours_come_through_exactly(
    read: tuple[pd.DataFrame, ImportReport],
) -> None:
    table, _ = read
    expected = _oracle(
        """
        SELECT product_instance_type AS instance_type,
               product_deployment_option AS tenancy,
               product_database_engine AS engine,
               COUNT(DISTINCT line_item_usage_start_date) AS hours,
               SUM(line_item_usage_amount) AS instance_hours,
               COUNT(*) AS line_items
        FROM CUR
        WHERE line_item_line_item_type IN ('Usage', 'DiscountedUsage')
          AND product_instance_type LIKE 'db.%'
        GROUP BY ALL ORDER BY instance_type
        """
    )
    got = (
        table.groupby(["instance_type", "tenancy", "platform"])
        .agg(hours=("hour", "nunique"), instance_hours=("quantity", "sum"))
        .reset_index()
        .sort_values("instance_type")
        .reset_index(drop=True)
    )
    assert got[["instance_type", "tenancy"]].values.tolist() == (
        expected[["instance_type", "tenancy"]].values.tolist()
    )
    assert got["platform"].tolist() == expected["engine"].map(PLATFORM).tolist()
    assert got["hours"].tolist() == expected["hours"].tolist() == [744, 744]
    assert got["instance_hours"].tolist() == expected["instance_hours"].tolist()
    assert got["instance_hours"].tolist() == [744.0, 1488.0]  # db.m4.large ×1, db.r4.large ×2
    assert expected["line_items"].tolist() == [744, 1488]


def test_every_hour_matches_the_cur(read: tuple[pd.DataFrame, ImportReport]) -> None:
    table, _ = read
    expected = _oracle(
        """
        SELECT CAST(line_item_usage_start_date AS TIMESTAMPTZ) AS hour,
               line_item_usage_account_id AS account_id,
               product_region AS region,
               product_instance_type AS instance_type,
               SUM(line_item_usage_amount) AS quantity
        FROM CUR
        WHERE line_item_line_item_type IN ('Usage', 'DiscountedUsage')
          AND product_instance_type LIKE 'db.%'
        GROUP BY ALL
        """
    )
    keys = ["hour", "account_id", "region", "instance_type"]
    merged = table.astype({k: "object" for k in keys[1:]}).merge(
        expected.astype({k: "object" for k in keys[1:]}),
        on=keys,
        how="outer",
        suffixes=("", "_cur"),
        indicator=True,
        validate="one_to_one",
    )
    assert (merged["_merge"] == "both").all()
    assert (merged["quantity"] == merged["quantity_cur"]).all()
    assert len(table) == 2 * 744


def test_the_other_rds_rows_are_counted_not_dropped(
    read: tuple[pd.DataFrame, ImportReport],
) -> None:
    _, report = read
    expected = _oracle(
        """
        SELECT COUNT(*) AS line_items,
               COUNT(*) FILTER (WHERE product_instance_type LIKE 'db.%') AS instance_rows,
               SUM(line_item_usage_amount) FILTER (WHERE product_instance_type IS NULL
                   OR product_instance_type NOT LIKE 'db.%') AS other_amount
        FROM CUR WHERE line_item_product_code = 'AmazonRDS'
        """
    ).iloc[0]
    assert report.kept_line_items + report.excluded_line_items == expected["line_items"] == 6710
    assert report.kept_line_items == expected["instance_rows"] == 2232
    assert [e.reason for e in report.exclusions] == [NOT_INSTANCE]
    other = report.excluded(NOT_INSTANCE)
    assert other.line_items == 6710 - 2232
    assert other.quantity == pytest.approx(expected["other_amount"], rel=1e-12)


def _write_slash_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _row(
    usage_type: str,
    *,
    line_item_type: str = "Usage",
    product: str = "AmazonRDS",
    amount: str = "1.0",
    engine: str = "MySQL",
    licence: str = "No license required",
    cache_engine: str = "",
    operation: str = "CreateDBInstance:0002",
) -> dict[str, str]:
    return {
        "identity/LineItemId": usage_type,
        "lineItem/UsageAccountId": "111122223333",
        "lineItem/LineItemType": line_item_type,
        "lineItem/UsageStartDate": "2024-03-01T05:00:00Z",
        "lineItem/UsageEndDate": "2024-03-01T06:00:00Z",
        "lineItem/ProductCode": product,
        "lineItem/UsageType": usage_type,
        "lineItem/Operation": operation,
        "lineItem/UsageAmount": amount,
        "product/databaseEngine": engine,
        "product/licenseModel": licence,
        "product/cacheEngine": cache_engine,
    }


def test_slash_csv_every_documented_form_and_every_reason(tmp_path: Path) -> None:
    rows = [
        _row("USE2-InstanceUsage:db.m5.xlarge", amount="0.5"),
        _row("USE2-InstanceUsage:db.m5.xlarge", line_item_type="DiscountedUsage", amount="1.0"),
        _row("USE2-Multi-AZClusterUsage:db.m6gd.large", engine="PostgreSQL"),
        _row("EU-Multi-AZUsage:db.r5.large", engine="MariaDB"),
        _row(
            "NodeUsage:cache.r6g.large",
            product="AmazonElastiCache",
            engine="",
            cache_engine="Redis",
        ),
        _row("USE2-InstanceUsage:db.m5.xlarge", line_item_type="RIFee", amount="1.0"),
        _row("USE2-InstanceUsageIOOptimized:db.r6g.large", engine="Aurora PostgreSQL"),
        _row("USE2-InstanceUsage:db.r5.large", product="AmazonDocDB", engine="DocumentDB"),
        _row("InstanceUsage:db.r5.large", engine="Any"),
        _row("RDS:GP2-Storage", amount="3.5"),
        _row("BoxUsage:m5.large", product="AmazonEC2", operation="RunInstances"),
    ]
    table, report = read_usage(_write_slash_csv(tmp_path / "cur.csv", rows), "cur")
    got = {
        (r.region, r.instance_type, r.platform, r.tenancy): r.quantity for r in table.itertuples()
    }
    assert got == {
        ("us-east-2", "db.m5.xlarge", "mysql", "Single-AZ"): 1.5,
        ("us-east-2", "db.m6gd.large", "postgresql", "Multi-AZ DB cluster"): 1.0,
        ("eu-west-1", "db.r5.large", "mariadb", "Multi-AZ"): 1.0,
        ("us-east-1", "cache.r6g.large", "redis", "Node"): 1.0,
        ("us-east-1", "m5.large", "Linux/UNIX", "Shared"): 1.0,
    }
    assert set(table["account_id"]) == {"111122223333"}
    reasons = {e.reason: e.line_items for e in report.exclusions}
    assert reasons == {
        "RI fee": 1,
        "database usage not covered": 1,  # Aurora I/O-Optimized
        "non-EC2": 1,  # DocumentDB
        "database engine not covered": 1,  # 'Any'
        NOT_INSTANCE: 1,
    }
    assert report.excluded(NOT_INSTANCE).quantity == 3.5


def test_underscore_and_slash_spellings_read_the_same(tmp_path: Path) -> None:
    source = pd.read_parquet(RDS_CUR)
    slash = source.rename(
        columns={
            "line_item_line_item_type": "lineItem/LineItemType",
            "line_item_usage_start_date": "lineItem/UsageStartDate",
            "line_item_usage_end_date": "lineItem/UsageEndDate",
            "line_item_product_code": "lineItem/ProductCode",
            "line_item_usage_type": "lineItem/UsageType",
            "line_item_usage_amount": "lineItem/UsageAmount",
            "line_item_usage_account_id": "lineItem/UsageAccountId",
            "product_database_engine": "product/databaseEngine",
            "product_license_model": "product/licenseModel",
        }
    )
    for column in ("lineItem/UsageStartDate", "lineItem/UsageEndDate"):
        slash[column] = slash[column].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    path = tmp_path / "cur.csv.gz"
    slash.to_csv(path, index=False, compression="gzip")
    from_csv, csv_report = read_usage(path, "cur")
    from_parquet, parquet_report = read_usage(RDS_CUR, "cur")
    pd.testing.assert_frame_equal(from_csv, from_parquet)
    # the same rows by reason; the summed amounts to rounding (DuckDB sums in parallel, in no
    # fixed order, so the last digits of 18 million GB-months may differ between two reads)
    assert [(e.reason, e.line_items) for e in csv_report.exclusions] == [
        (e.reason, e.line_items) for e in parquet_report.exclusions
    ]
    assert [e.quantity for e in csv_report.exclusions] == pytest.approx(
        [e.quantity for e in parquet_report.exclusions], rel=1e-12
    )


def test_a_missing_column_is_named_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "no-amount.parquet"
    pd.read_parquet(RDS_CUR).drop(columns=["line_item_usage_amount"]).to_parquet(path)
    with pytest.raises(UsageInputError) as raised:
        read_usage(path, "cur")
    message = str(raised.value)
    assert "no-amount.parquet" in message
    assert "line_item_usage_amount" in message
    assert "\n" not in message
