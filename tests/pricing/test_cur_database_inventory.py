"""Owned database reservations rebuilt from a CUR's RIFee lines (inventory/cur_databases.py).

The rows are written here from AWS's CUR data dictionary (no real CUR with database reservations
was found): each RIFee line names the reserved product in its product columns.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pricing.inventory import Commitment, inventory_from_cur, read_portfolio_json

COLUMNS = [
    "line_item_line_item_type", "line_item_product_code", "line_item_usage_type",
    "line_item_operation", "line_item_usage_start_date", "line_item_usage_end_date",
    "line_item_usage_account_id", "line_item_unblended_rate", "reservation_reservation_a_r_n",
    "reservation_number_of_reservations", "reservation_upfront_value", "reservation_start_time",
    "reservation_end_time", "pricing_purchase_option", "pricing_lease_contract_length",
    "product_instance_type", "product_database_engine", "product_cache_engine",
    "product_database_edition", "product_license_model", "product_deployment_option",
    "product_region_code",
]  # fmt: skip
START, END = "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"


def _fee(
    product: str,
    arn: str,
    instance_type: str,
    *,
    count: int = 1,
    rate: float = 0.1,
    engine: str = "",
    cache_engine: str = "",
    edition: str = "",
    licence: str = "",
    deployment: str = "",
    region: str = "us-east-1",
) -> list[object]:
    return [
        "RIFee", product, "HeavyUsage:" + instance_type, "", "2024-03-01T00:00:00Z",
        "2024-04-01T00:00:00Z", "111111111111", rate, arn, count, 0.0, START, END,
        "No Upfront", "1yr", instance_type, engine, cache_engine, edition, licence, deployment,
        region,
    ]  # fmt: skip


def _cur(tmp_path: Path) -> Path:
    rows = [
        _fee("AmazonRDS", "arn:aws:rds:us-east-1:111111111111:ri:sql", "db.r5.xlarge",
             engine="SQL Server", edition="Standard", licence="License included",
             deployment="Multi-AZ", rate=2.1),
        _fee("AmazonRDS", "arn:aws:rds:us-east-1:111111111111:ri:aurora", "db.r4.large",
             count=2, engine="Aurora MySQL", licence="No license required",
             deployment="Single-AZ", rate=0.2),
        _fee("AmazonElastiCache", "arn:aws:elasticache:us-east-1:111111111111:reserved-instance:c",
             "cache.r6g.large", cache_engine="Redis", rate=0.14),
        _fee("AmazonMemoryDB", "arn:aws:memorydb:us-east-1:111111111111:reservednode/m",
             "db.r6g.large", count=3, rate=0.216),
        _fee("AmazonES", "arn:aws:es:eu-west-1:111111111111:reserved-instance/o",
             "r6g.large.search", count=2, region="eu-west-1", rate=0.113),
        _fee("AmazonRedshift", "arn:aws:redshift:us-west-2:111111111111:reserved-node/r",
             "ra3.xlplus", count=2, region="us-west-2", rate=0.724),
        _fee("AmazonRDS", "arn:aws:rds:us-east-1:111111111111:ri:db2", "db.r6i.large",
             engine="Db2", edition="Standard", licence="Bring your own license"),
    ]  # fmt: skip
    path = tmp_path / "cur.parquet"
    pd.DataFrame(rows, columns=COLUMNS).to_parquet(path, index=False)
    return path


def test_database_reservations_come_back_keyed_like_usage(tmp_path: Path) -> None:
    inventory = inventory_from_cur([_cur(tmp_path)])
    got = {
        c.id.rsplit(":", 1)[-1].rsplit("/", 1)[-1]: (
            c.region, c.instance_type, c.platform, c.tenancy, c.count, c.normalized_units,
        )
        for c in inventory.commitments
    }  # fmt: skip
    assert got == {
        "sql": ("us-east-1", "db.r5.xlarge", "sqlserver-se(li)", "Multi-AZ", 1, 16.0),
        "aurora": ("us-east-1", "db.r4.large", "aurora-mysql", "Single-AZ", 2, 8.0),
        "c": ("us-east-1", "cache.r6g.large", "redis", "Node", 1, 4.0),
        "m": ("us-east-1", "db.r6g.large", "memorydb", "Node", 3, 12.0),
        "o": ("eu-west-1", "r6g.large.search", "opensearch", "Node", 2, 2.0),
        "r": ("us-west-2", "ra3.xlplus", "redshift", "Node", 2, 2.0),
    }
    memorydb = next(c for c in inventory.commitments if c.platform == "memorydb")
    assert memorydb.effective_usd_per_hour == pytest.approx(3 * 0.216)
    assert memorydb.term_years == 1 and memorydb.payment_option == "No Upfront"
    assert memorydb.account_id == "111111111111"
    # Db2 is not in the vocabulary: named in a note, never guessed
    assert any("db2" in note and "Db2".lower() in note.lower() for note in inventory.notes)
    portfolio = json.loads(inventory.to_portfolio_json(tmp_path / "owned.json"))
    services = {item.get("service") for item in portfolio["purchases"]}
    assert services == {
        "AmazonRDS", "AmazonElastiCache", "AmazonMemoryDB", "AmazonES", "AmazonRedshift",
    }  # fmt: skip

    # and the portfolio reads back as the same commitments (MemoryDB told by its service)
    def keys(commitments: tuple[Commitment, ...]) -> set[tuple[object, ...]]:
        return {(c.instance_type, c.platform, c.tenancy, c.count) for c in commitments}

    assert keys(read_portfolio_json(tmp_path / "owned.json").commitments) == keys(
        inventory.commitments
    )
