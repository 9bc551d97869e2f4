"""RDS and ElastiCache on-demand rates read from a CUR (the real October 2018 workshop CUR)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from pricing.catalog import KEY_COLUMNS
from pricing.errors import PriceFileError
from pricing.readers.cur_database_rates import read_cur_database_rates
from pricing.readers.detect import read_price_file

DATA = Path(__file__).parents[2] / "data" / "cur"
RDS_CUR = DATA / "wal_Oct2018-WorkshopCUR-rds-trimmed.zstd.parquet"
EC2_CUR = DATA / "wal_Oct2018-WorkshopCUR-ec2-trimmed.zstd.parquet"


def test_the_real_cur_rates() -> None:
    catalog = read_cur_database_rates([RDS_CUR])
    rates = catalog.on_demand.set_index(list(KEY_COLUMNS))["on_demand_usd_per_hour"].to_dict()
    assert rates == {
        ("us-east-1", "db.m4.large", "mariadb", "Multi-AZ"): 0.35,
        ("us-east-1", "db.r4.large", "aurora-mysql", "Single-AZ"): 0.29,
    }
    assert catalog.metadata.as_of == date(2018, 10, 31)
    assert set(catalog.on_demand["source"]) == {f"CUR {RDS_CUR.name}"}
    assert catalog.reserved.empty and catalog.savings_plans.empty


def test_against_the_cur_product_columns() -> None:
    """An independent oracle: the product columns (not the usage type) and the billed rate."""
    expected = duckdb.sql(
        f"""
        SELECT DISTINCT product_region, product_instance_type, product_database_engine,
               product_deployment_option, CAST(line_item_unblended_rate AS DOUBLE)
        FROM '{RDS_CUR}'
        WHERE line_item_line_item_type = 'Usage' AND product_instance_type LIKE 'db.%'
          AND pricing_term = 'OnDemand'
        ORDER BY 2
        """
    ).fetchall()
    engines = {"MariaDB": "mariadb", "Aurora MySQL": "aurora-mysql"}
    catalog = read_cur_database_rates([RDS_CUR])
    found = [
        (r.region, r.instance_type, r.platform, r.tenancy, r.on_demand_usd_per_hour)
        for r in catalog.on_demand.itertuples()
    ]
    assert found == [(a, b, engines[c], d, e) for a, b, c, d, e in expected]


def test_a_pricing_import_of_the_cur_gives_the_database_rates() -> None:
    catalog = read_price_file(RDS_CUR)
    assert len(catalog.on_demand) == 2
    prefix = "EC2 rates not read: missing column(s) pricing_public_on_demand_rate"
    assert any(note.startswith(prefix) for note in catalog.metadata.notes)
    ec2 = read_price_file(EC2_CUR)
    assert not ec2.on_demand["instance_type"].str.startswith("db.").any()
    assert len(ec2.on_demand) == 9


SLASH_HEADER = (
    "lineItem/LineItemType,lineItem/ProductCode,lineItem/UsageType,lineItem/UsageStartDate,"
    "lineItem/CurrencyCode,lineItem/UnblendedRate,pricing/publicOnDemandRate,pricing/term,"
    "product/databaseEngine,product/cacheEngine"
)


def write_cur(folder: Path, rows: list[str]) -> Path:
    path = folder / "cur.csv"
    path.write_text("\n".join([SLASH_HEADER, *rows]) + "\n")
    return path


def test_a_slash_named_cur_with_public_rates_and_elasticache(tmp_path: Path) -> None:
    cur = write_cur(
        tmp_path,
        [
            # covered by a reservation: the public rate, not the (zero) unblended rate, is read
            "DiscountedUsage,AmazonRDS,USE2-InstanceUsage:db.r6g.large,2025-10-01T00:00:00Z,USD,"
            "0,0.26,Reserved,Aurora PostgreSQL,",
            "Usage,AmazonElastiCache,NodeUsage:cache.r6g.large,2025-10-01T00:00:00Z,USD,"
            "0.2,0.206,OnDemand,,Redis",
            "Usage,AmazonElastiCache,NodeUsage:cache.r6g.large,2025-10-02T00:00:00Z,USD,"
            "0.2,0.21,OnDemand,,Redis",
            "Usage,AmazonRDS,InstanceUsage:db.r5.large,2025-10-01T00:00:00Z,USD,0.5,0.5,"
            "OnDemand,Oracle,",
            "Usage,AmazonRDS,RDS:GP3-Storage,2025-10-01T00:00:00Z,USD,0.1,0.1,OnDemand,MySQL,",
        ],
    )
    catalog = read_cur_database_rates([cur])
    rates = catalog.on_demand.set_index(list(KEY_COLUMNS))["on_demand_usd_per_hour"].to_dict()
    assert rates == {
        ("us-east-1", "cache.r6g.large", "redis", "Node"): 0.21,  # the latest of 0.206, 0.21
        ("us-east-2", "db.r6g.large", "aurora-postgresql", "Single-AZ"): 0.26,
    }
    assert catalog.metadata.notes == (
        "skipped 1 database line items: RDS engine Oracle not mapped yet (edition 'none', licence "
        "'none')",
        "rate changed within the CUR, the latest used: NodeUsage:cache.r6g.large redis: 0.206–0.21",
    )


def test_another_currency_and_no_rows_are_errors(tmp_path: Path) -> None:
    euro = write_cur(
        tmp_path,
        ["Usage,AmazonRDS,InstanceUsage:db.r6g.large,2025-10-01T00:00:00Z,EUR,0.2,0.2,"
         "OnDemand,MySQL,"],
    )  # fmt: skip
    with pytest.raises(PriceFileError, match=r"billed in EUR \(line_item_currency_code\)"):
        read_cur_database_rates([euro])
    with pytest.raises(
        PriceFileError, match="no RDS, ElastiCache, OpenSearch, Redshift or MemoryDB"
    ):
        read_cur_database_rates([EC2_CUR])


NODE_HEADER = SLASH_HEADER + ",product/databaseEdition,product/licenseModel"


def test_node_services_and_rds_editions(tmp_path: Path) -> None:
    path = tmp_path / "cur.csv"
    rows = [
        "Usage,AmazonES,APS1-ESInstance:m5.xlarge,2025-10-01T00:00:00Z,USD,0.376,0.376,OnDemand"
        ",,,,",
        "DiscountedUsage,AmazonRedshift,USW2-Node:ra3.xlplus,2025-10-01T00:00:00Z,USD,0,1.086,"
        "Reserved,,,,",
        "Usage,AmazonMemoryDB,USE2-NodeUsage:db.r6g.large,2025-10-01T00:00:00Z,USD,0.309,0.309,"
        "OnDemand,,,,",
        "Usage,AmazonMemoryDB,NodeUsage:db.r6g.xlarge,2025-10-01T00:00:00Z,USD,0.43,0.43,"
        "OnDemand,,Valkey,,",
        # an engine MemoryDB's vocabulary does not know (written here, not an AWS product)
        "Usage,AmazonMemoryDB,NodeUsage:db.r6g.2xlarge,2025-10-01T00:00:00Z,USD,0.9,0.9,"
        "OnDemand,,Memcached,,",
        "Usage,AmazonRDS,InstanceUsage:db.m5.large,2025-10-01T00:00:00Z,USD,0.342,0.342,"
        "OnDemand,Oracle,,Standard Two,License included",
        "Usage,AmazonRDS,Multi-AZUsage:db.m5.xlarge,2025-10-01T00:00:00Z,USD,2.9,2.9,"
        "OnDemand,SQL Server,,Standard,License included",
        "Usage,AmazonRDS,InstanceUsage:db.r5.large,2025-10-01T00:00:00Z,USD,0.9,0.9,"
        "OnDemand,Oracle,,Enterprise,License included",
        "Usage,AmazonES,ES:GP2-Storage,2025-10-01T00:00:00Z,USD,0.135,0.135,OnDemand,,,,",
    ]
    path.write_text("\n".join([NODE_HEADER, *rows]) + "\n")
    catalog = read_cur_database_rates([path])
    rates = catalog.on_demand.set_index(list(KEY_COLUMNS))["on_demand_usd_per_hour"].to_dict()
    assert rates == {
        ("ap-southeast-1", "m5.xlarge.search", "opensearch", "Node"): 0.376,
        ("us-east-1", "db.m5.large", "oracle-se2(li)", "Single-AZ"): 0.342,
        ("us-east-1", "db.m5.xlarge", "sqlserver-se(li)", "Multi-AZ"): 2.9,
        ("us-east-1", "db.r6g.xlarge", "memorydb-valkey", "Node"): 0.43,  # a Valkey node
        ("us-east-2", "db.r6g.large", "memorydb", "Node"): 0.309,
        ("us-west-2", "ra3.xlplus", "redshift", "Node"): 1.086,  # the public rate of a covered hour
    }
    assert catalog.metadata.notes == (
        "skipped 1 database line items: MemoryDB engine Memcached not mapped yet",
        "skipped 1 database line items: RDS engine Oracle not mapped yet (edition 'Enterprise', "
        "licence 'License included')",
    )
