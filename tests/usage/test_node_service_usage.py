"""OpenSearch, Redshift, MemoryDB and edition-priced RDS engines through the one CUR demand SQL.

The expected demand is written out by hand from the rows below (the oracle): which rows are
instance- or node-hours, the key each becomes, and why every other row is left out.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from usage.errors import UsageInputError
from usage.readers import read_usage

HOUR = "2024-03-01T{:02d}:00:00Z"
COLUMNS = [
    "line_item_line_item_type", "line_item_product_code", "line_item_usage_type",
    "line_item_operation", "line_item_usage_start_date", "line_item_usage_end_date",
    "line_item_usage_amount", "line_item_unblended_cost", "line_item_usage_account_id",
    "line_item_currency_code", "product_database_engine", "product_cache_engine",
    "product_database_edition", "product_license_model",
]  # fmt: skip


def _row(
    product: str,
    usage_type: str,
    hour: int,
    amount: float = 1.0,
    *,
    engine: str = "",
    cache_engine: str = "",
    edition: str = "",
    licence: str = "",
    line_item_type: str = "Usage",
    operation: str = "",
) -> list[object]:
    end = HOUR.format(hour + 1) if hour < 23 else "2024-03-02T00:00:00Z"
    return [
        line_item_type, product, usage_type, operation, HOUR.format(hour), end, amount,
        amount * 0.5, "111111111111", "USD", engine, cache_engine, edition, licence,
    ]  # fmt: skip


def _cur(tmp_path: Path) -> Path:
    rows = []
    for hour in range(3):
        rows += [
            _row("AmazonES", "APS1-ESInstance:m5.xlarge", hour, 3.0, operation="ESDomain"),
            _row("AmazonES", "APS1-ES:GP3-Storage", hour, 0.2),  # storage, not instance-hours
            _row("AmazonRedshift", "USW2-Node:ra3.xlplus", hour, 2.0, operation="RunComputeNode"),
            _row("AmazonRedshift", "Node:dc2.large", hour, 1.0, line_item_type="DiscountedUsage"),
            _row("AmazonRedshift", "USW2-RMS:ManagedStorage", hour, 5.0),
            _row("AmazonMemoryDB", "USE1-NodeUsage:db.r6g.large", hour, 2.0),
            # a MemoryDB Valkey node keys to memorydb-valkey (its reservations are memorydb's),
            # an ElastiCache Valkey node stays valkey, an unknown MemoryDB engine is counted
            _row("AmazonMemoryDB", "NodeUsage:db.r7g.xlarge", hour, cache_engine="Valkey"),
            _row("AmazonElastiCache", "NodeUsage:cache.r7g.large", hour, cache_engine="Valkey"),
            _row("AmazonMemoryDB", "NodeUsage:db.r7g.large", hour, cache_engine="Memcached"),
            _row(
                "AmazonRDS", "Multi-AZUsage:db.r5.xlarge", hour, engine="SQL Server",
                edition="Standard", licence="License included",
            ),
            _row(
                "AmazonRDS", "USE2-InstanceUsage:db.r5.large", hour, engine="Oracle",
                edition="Enterprise", licence="Bring your own license",
            ),
            _row(  # Db2's reservations are not mapped: counted, never guessed
                "AmazonRDS", "InstanceUsage:db.r6i.large", hour, engine="Db2",
                edition="Standard", licence="Bring your own license",
            ),
            _row(  # an Oracle edition and licence AWS does not sell together
                "AmazonRDS", "InstanceUsage:db.r5.large", hour, engine="Oracle",
                edition="Enterprise", licence="License included",
            ),
            _row("AmazonEC2", "BoxUsage:m5.large", hour, operation="RunInstances"),
            # both engine columns present, the RDS one empty (as in every real CUR)
            _row("AmazonElastiCache", "NodeUsage:cache.r6g.large", hour, cache_engine="Redis"),
            _row("AmazonES", "APS1-ESInstance:m5.xlarge", hour, line_item_type="RIFee"),
        ]  # fmt: skip
    path = tmp_path / "cur.parquet"
    pd.DataFrame(rows, columns=COLUMNS).to_parquet(path, index=False)
    return path


def test_node_services_and_editions_become_demand_exactly(tmp_path: Path) -> None:
    table, report = read_usage(_cur(tmp_path), "cur")
    got = (
        table.groupby(["region", "instance_type", "platform", "tenancy"])["quantity"]
        .sum()
        .to_dict()
    )
    assert got == {
        ("ap-southeast-1", "m5.xlarge.search", "opensearch", "Node"): 9.0,
        ("us-west-2", "ra3.xlplus", "redshift", "Node"): 6.0,
        ("us-east-1", "dc2.large", "redshift", "Node"): 3.0,
        ("us-east-1", "db.r6g.large", "memorydb", "Node"): 6.0,
        ("us-east-1", "db.r7g.xlarge", "memorydb-valkey", "Node"): 3.0,
        ("us-east-1", "cache.r7g.large", "valkey", "Node"): 3.0,
        ("us-east-1", "db.r5.xlarge", "sqlserver-se(li)", "Multi-AZ"): 3.0,
        ("us-east-2", "db.r5.large", "oracle-ee(byol)", "Single-AZ"): 3.0,
        ("us-east-1", "m5.large", "Linux/UNIX", "Shared"): 3.0,
        ("us-east-1", "cache.r6g.large", "redis", "Node"): 3.0,
    }
    reasons = {e.reason: e.line_items for e in report.exclusions}
    assert reasons["database, not instance usage"] == 6  # ES storage, Redshift managed storage
    # Db2, Oracle EE License Included and the MemoryDB engine not known
    assert reasons["database engine not covered"] == 9
    assert reasons["RI fee"] == 3


def test_without_edition_columns_oracle_and_sql_server_are_named_not_guessed(
    tmp_path: Path,
) -> None:
    path = _cur(tmp_path)
    frame = pd.read_parquet(path).drop(
        columns=["product_database_edition", "product_license_model"]
    )
    frame.to_parquet(path, index=False)
    table, report = read_usage(path, "cur")
    assert not table["platform"].str.startswith(("sqlserver", "oracle")).any()
    reasons = {e.reason: e.line_items for e in report.exclusions}
    # SQL Server, Oracle ×2, Db2, the MemoryDB engine not known
    assert reasons["database engine not covered"] == 15
    # the services with one product description need no engine column at all
    assert set(table["platform"]) == {
        "opensearch", "redshift", "memorydb", "memorydb-valkey", "Linux/UNIX", "redis", "valkey",
    }  # fmt: skip


@pytest.mark.parametrize("product", ["AmazonRDS", "AmazonElastiCache"])
def test_a_memorydb_usage_type_under_another_product_code_is_not_memorydb(
    tmp_path: Path, product: str
) -> None:
    rows = [_row(product, "NodeUsage:db.r6g.large", h) for h in range(2)]
    path = tmp_path / "cur.parquet"
    pd.DataFrame(rows, columns=COLUMNS).to_parquet(path, index=False)
    with pytest.raises(UsageInputError, match="database, not instance usage 2"):
        read_usage(path, "cur")


def _cur2_rows() -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for hour in range(2):
        start, end = HOUR.format(hour), HOUR.format(hour + 1)
        rows += [
            ("Usage", "AmazonRDS", "Multi-AZUsage:db.r5.xlarge", "CreateDBInstance:0012", start,
             end, 1.0, {"database_engine": "SQL Server", "database_edition": "Standard",
                        "license_model": "License included"}),
            ("Usage", "AmazonRDS", "InstanceUsage:db.r4.large", "CreateDBInstance:0016", start,
             end, 2.0, {"database_engine": "Aurora MySQL", "license_model": "No license required"}),
            ("Usage", "AmazonElastiCache", "NodeUsage:cache.r6g.large", "CreateCacheCluster:0002",
             start, end, 3.0, {"cache_engine": "Redis"}),
            ("Usage", "AmazonEC2", "BoxUsage:m5.large", "RunInstances", start, end, 1.0, {}),
        ]  # fmt: skip
    return rows


CUR2_COLUMNS = [
    "line_item_line_item_type", "line_item_product_code", "line_item_usage_type",
    "line_item_operation", "line_item_usage_start_date", "line_item_usage_end_date",
    "line_item_usage_amount", "product",
]  # fmt: skip
CUR2_EXPECTED = {
    ("db.r5.xlarge", "sqlserver-se(li)", "Multi-AZ"): 2.0,
    ("db.r4.large", "aurora-mysql", "Single-AZ"): 4.0,
    ("cache.r6g.large", "redis", "Node"): 6.0,
    ("m5.large", "Linux/UNIX", "Shared"): 2.0,
}


def test_cur2_engines_come_from_the_product_map(tmp_path: Path) -> None:
    """CUR 2.0 keeps the engine, edition and licence only in its ``product`` map (a MAP in
    Parquet): the demand SQL reads them from there."""
    import duckdb

    frame = pd.DataFrame(_cur2_rows(), columns=CUR2_COLUMNS)
    path = tmp_path / "cur2.parquet"
    connection = duckdb.connect()
    connection.register("rows", frame.assign(product=frame["product"].map(json.dumps)))
    connection.execute(
        "COPY (SELECT * REPLACE (CAST(product::JSON AS MAP(VARCHAR, VARCHAR)) AS product) "
        f"FROM rows) TO '{path}' (FORMAT PARQUET)"
    )
    connection.close()
    table, _ = read_usage(path, "cur2")
    got = table.groupby(["instance_type", "platform", "tenancy"])["quantity"].sum().to_dict()
    assert got == CUR2_EXPECTED


def test_cur2_csv_product_json_is_read_too(tmp_path: Path) -> None:
    frame = pd.DataFrame(_cur2_rows(), columns=CUR2_COLUMNS)
    frame["product"] = frame["product"].map(json.dumps)
    path = tmp_path / "cur2.csv"
    frame.to_csv(path, index=False)
    table, _ = read_usage(path, "cur2")
    got = table.groupby(["instance_type", "platform", "tenancy"])["quantity"].sum().to_dict()
    assert got == CUR2_EXPECTED


def test_the_real_focus_sample_s_rds_instance_hour_becomes_demand() -> None:
    """The FOCUS 1.0 sample bills one RDS instance-hour ("USD 0.023 per db.t3.micro Single-AZ
    instance hour (or partial hour) running SQL Server Exp (LI)"); its other RDS rows are
    transfer, storage, I/O, Extended Support and Aurora Serverless charges."""
    sample = Path(__file__).resolve().parents[1] / "data" / "focus" / "focus1.0_sample_1000.csv"
    raw = pd.read_csv(sample)
    rds = raw[raw["ServiceName"] == "Amazon Relational Database Service"]
    hours = rds[rds["ChargeDescription"].str.contains("instance hour", na=False)]
    assert len(rds) == 13 and len(hours) == 1  # the oracle, read with pandas
    table, report = read_usage(sample, "focus")
    database = table[table["instance_type"].str.startswith("db.")]
    got = database.groupby(["instance_type", "platform", "tenancy"])["quantity"].sum().to_dict()
    assert got == {("db.t3.micro", "sqlserver-ex(li)", "Single-AZ"): 1.0}
    reasons = {e.reason: e.line_items for e in report.exclusions}
    assert reasons["database, not instance usage"] == len(rds) - len(hours)
