"""AWS Price List offers of RDS and ElastiCache (hand-written fixtures, illustrative rates).

The fixtures follow the documented bulk offer layout (the EC2 offer's, which the real excerpts
under tests/data show) with RDS and ElastiCache attributes; see
``tests/data/pricing/pricelist_database_illustrative.README.md``.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pricing.catalog import KEY_COLUMNS, PriceCatalog
from pricing.errors import PriceFileError
from pricing.readers.database_price_list import (
    read_database_price_list_csv,
    read_database_price_list_json,
)
from pricing.readers.detect import detect_format, read_price_file

DATA = Path(__file__).parents[2] / "data" / "pricing"
RDS_CSV = DATA / "pricelist_AmazonRDS_illustrative.csv"
RDS_JSON = DATA / "pricelist_AmazonRDS_illustrative.json"
CACHE_CSV = DATA / "pricelist_AmazonElastiCache_illustrative.csv"
CACHE_JSON = DATA / "pricelist_AmazonElastiCache_illustrative.json"
OFFER = [*KEY_COLUMNS, "offering_class", "term_years", "payment_option"]


def keyed(catalog: PriceCatalog) -> tuple[pd.Series, pd.DataFrame]:
    on_demand = catalog.on_demand.set_index(list(KEY_COLUMNS))["on_demand_usd_per_hour"]
    return on_demand, catalog.reserved.set_index(OFFER)


def test_rds_offer_csv() -> None:
    catalog = read_database_price_list_csv(RDS_CSV)
    assert catalog.metadata.source == "AWS Price List bulk CSV AmazonRDS 20251001000000"
    assert catalog.metadata.as_of == date(2025, 10, 1)
    on_demand, reserved = keyed(catalog)
    assert on_demand.to_dict() == {
        ("us-east-1", "db.m6gd.large", "postgresql", "Multi-AZ DB cluster"): 0.6,
        ("us-east-1", "db.r6g.large", "aurora-mysql", "Single-AZ"): 0.26,
        ("us-east-1", "db.r6g.large", "mysql", "Multi-AZ"): 0.5,
        ("us-east-1", "db.r6g.large", "mysql", "Single-AZ"): 0.25,
        # the class from instanceType (the usage type says db.r5b.16xl), the region from regionCode
        ("us-east-2", "db.r5b.16xlarge", "postgresql", "Single-AZ"): 8.0,
    }
    mysql = ("us-east-1", "db.r6g.large", "mysql", "Single-AZ", "standard")
    partial = reserved.loc[(*mysql, 1, "Partial Upfront")]
    assert (partial["upfront_usd"], partial["recurring_usd_per_hour"]) == (700.0, 0.08)
    assert partial["effective_usd_per_hour"] == pytest.approx(700 / 8760 + 0.08)
    all_upfront = reserved.loc[(*mysql, 3, "All Upfront")]
    assert (all_upfront["upfront_usd"], all_upfront["recurring_usd_per_hour"]) == (2900.0, 0.0)
    assert reserved.loc[(*mysql, 1, "No Upfront"), "upfront_usd"] == 0.0
    assert not catalog.reserved["derived"].any()
    assert len(reserved) == 6


def test_rows_left_out_are_counted() -> None:
    notes = read_database_price_list_csv(RDS_CSV).metadata.notes
    assert notes == (
        "skipped 2 price rows: RDS engine Oracle not mapped yet (edition 'none', licence "
        "'License included') (InstanceUsage:db.r5.large)",
        "skipped 1 price rows: Aurora I/O-Optimized instance usage (not covered yet) "
        "(InstanceUsageIOOptimized:db.r6g.large)",
    )
    cache_notes = read_database_price_list_csv(CACHE_CSV).metadata.notes
    assert cache_notes == (
        "skipped 2 reserved price rows of another lease or purchase option (Heavy Utilization)",
    )


def test_elasticache_offer() -> None:
    on_demand, reserved = keyed(read_database_price_list_json(CACHE_JSON))
    assert on_demand.to_dict() == {
        ("us-east-1", "cache.m3.large", "redis", "Node"): 0.182,
        ("us-east-1", "cache.r6g.large", "redis", "Node"): 0.206,
        ("us-east-1", "cache.r6g.large", "valkey", "Node"): 0.1648,
    }
    partial = reserved.loc[("us-east-1", "cache.r6g.large", "redis", "Node", "standard", 3,
                            "Partial Upfront")]  # fmt: skip
    assert (partial["upfront_usd"], partial["recurring_usd_per_hour"]) == (1300.0, 0.05)
    assert len(reserved) == 3


@pytest.mark.parametrize(("csv_file", "json_file"), [(RDS_CSV, RDS_JSON), (CACHE_CSV, CACHE_JSON)])
def test_csv_and_json_agree(csv_file: Path, json_file: Path) -> None:
    from_csv = read_database_price_list_csv(csv_file)
    from_json = read_database_price_list_json(json_file)
    for table in ("on_demand", "reserved"):
        pd.testing.assert_frame_equal(
            getattr(from_csv, table).drop(columns="source"),
            getattr(from_json, table).drop(columns="source"),
        )
    assert from_csv.metadata.notes == from_json.metadata.notes


def test_detected_and_filtered_by_region() -> None:
    assert detect_format(RDS_CSV) == "database-price-list-csv"
    assert detect_format(CACHE_JSON) == "database-price-list-json"
    catalog = read_price_file(RDS_JSON, regions=["us-east-2"])
    assert catalog.on_demand["instance_type"].tolist() == ["db.r5b.16xlarge"]


def test_a_conflicting_duplicate_names_both_rows(tmp_path: Path) -> None:
    document = json.loads(RDS_JSON.read_text())
    product = dict(document["products"]["RDSMYSQLR6GLMAZ"], sku="RDSMYSQLCOPY000")
    document["products"]["RDSMYSQLCOPY000"] = product
    terms = json.loads(
        json.dumps(document["terms"]["OnDemand"]["RDSMYSQLR6GLMAZ"])
        .replace("RDSMYSQLR6GLMAZ", "RDSMYSQLCOPY000")
        .replace('"0.5000000000"', '"0.5500000000"')
    )
    document["terms"]["OnDemand"]["RDSMYSQLCOPY000"] = terms
    changed = tmp_path / "rds.json"
    changed.write_text(json.dumps(document))
    with pytest.raises(PriceFileError, match=r"rds.json: conflicting on-demand prices for "
                       r"us-east-1 db.r6g.large mysql Multi-AZ: SKU RDSMYSQLR6GLMAZ, offer term "
                       r"JRTCKXETXF says 0.5 USD/h, SKU RDSMYSQLCOPY000.* says 0.55"):  # fmt: skip
        read_database_price_list_json(changed)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"0.2500000000","USD"', '"-0.25","USD"', "has price '-0.25', not a finite number >= 0"),
        ('"0.2500000000","USD"', '"0.25","EUR"', "is priced in 'EUR', not USD"),
        ('"OfferCode","AmazonRDS"', '"OfferCode","AmazonS3"', "line 5 names offer 'AmazonS3'"),
        ('"Instance Type",', '"InstanceType",', "missing column(s) Instance Type"),
        ('"Publication Date","2025-10-01T00:00:00Z"', '"Publication Date","soon"',
         "line 3 'Publication Date' 'soon' is not an ISO 8601 date"),
    ],
)  # fmt: skip
def test_malformed_csv_is_one_clear_error(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = RDS_CSV.read_text()
    assert old in text
    broken = tmp_path / "rds.csv"
    broken.write_text(text.replace(old, new, 1))
    with pytest.raises(PriceFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_database_price_list_csv(broken)


def test_a_short_row_names_the_line(tmp_path: Path) -> None:
    lines = RDS_CSV.read_text().splitlines()
    lines[8] = ",".join(lines[8].split(",")[:10])
    broken = tmp_path / "rds.csv"
    broken.write_text("\n".join(lines) + "\n")
    with pytest.raises(PriceFileError, match=r"rds\.csv: cannot parse the CSV"):
        read_database_price_list_csv(broken)


def test_nothing_mapped_is_an_error(tmp_path: Path) -> None:
    text = RDS_CSV.read_text().replace('"MySQL"', '"Db2"').replace('"PostgreSQL"', '"Db2"')
    only_unmapped = tmp_path / "rds.csv"
    only_unmapped.write_text(text.replace('"Aurora MySQL"', '"Db2"'))
    with pytest.raises(PriceFileError, match="no AmazonRDS instance prices found"):
        read_database_price_list_csv(only_unmapped)


def copy_sku(document: dict, sku: str, new_sku: str, old_price: str, new_price: str) -> None:
    """Add a copy of ``sku`` (product and terms) under ``new_sku``, one price changed."""
    document["products"][new_sku] = dict(document["products"][sku], sku=new_sku)
    for term_type in ("OnDemand", "Reserved"):
        if sku in document["terms"][term_type]:
            text = json.dumps(document["terms"][term_type][sku]).replace(sku, new_sku)
            document["terms"][term_type][new_sku] = json.loads(
                text.replace(f'"{old_price}"', f'"{new_price}"')
            )


def test_a_conflicting_reserved_duplicate_is_an_error(tmp_path: Path) -> None:
    document = json.loads(RDS_JSON.read_text())
    copy_sku(document, "RDSMYSQLR6GLMAZ", "RDSMYSQLCOPY000", "0.3400000000", "0.3000000000")
    changed = tmp_path / "rds.json"
    changed.write_text(json.dumps(document))
    with pytest.raises(PriceFileError, match=r"conflicting reserved prices for us-east-1 "
                       r"db.r6g.large mysql Multi-AZ standard 1 No Upfront: .* says 0.0 USD \+ "
                       r"0.3 USD/h, .* says 0.0 USD \+ 0.34 USD/h"):  # fmt: skip
        read_database_price_list_json(changed)


def test_an_identical_duplicate_is_read_once_and_an_incomplete_term_is_counted(
    tmp_path: Path,
) -> None:
    document = json.loads(RDS_JSON.read_text())
    copy_sku(document, "RDSMYSQLR6GLMAZ", "RDSMYSQLCOPY000", "-", "-")
    partial = document["terms"]["Reserved"]["RDSAURMYSR6GLSZ"]["RDSAURMYSR6GLSZ.HU7G6KETJZ"]
    del partial["priceDimensions"]["RDSAURMYSR6GLSZ.HU7G6KETJZ.2TG2D8R56U"]  # its Upfront Fee
    changed = tmp_path / "rds.json"
    changed.write_text(json.dumps(document))
    catalog = read_database_price_list_json(changed)
    assert len(catalog.on_demand) == 5 and len(catalog.reserved) == 5
    assert "skipped 1 incomplete reserved terms (a Partial/All Upfront term without its Upfront " \
        "Fee row, or a term without its hourly row)" in catalog.metadata.notes  # fmt: skip


def test_a_region_without_prices_is_an_error() -> None:
    with pytest.raises(PriceFileError, match=r"no database instance prices for region\(s\) "
                       r"eu-west-9"):  # fmt: skip
        read_database_price_list_csv(RDS_CSV, regions=["us-east-1", "eu-west-9"])


REAL_RDS_CSV_HEADER = (
    "SKU", "OfferTermCode", "RateCode", "TermType", "PriceDescription", "EffectiveDate",
    "StartingRange", "EndingRange", "Unit", "PricePerUnit", "Currency", "RelatedTo",
    "LeaseContractLength", "PurchaseOption", "OfferingClass", "Product Family", "serviceCode",
    "Location", "Location Type", "Instance Type", "Current Generation", "Instance Family", "vCPU",
    "Physical Processor", "Clock Speed", "Memory", "Storage", "Network Performance",
    "Processor Architecture", "Storage Media", "Volume Type", "Min Volume Size", "Max Volume Size",
    "Engine Code", "Database Engine", "Database Edition", "License Model", "Deployment Option",
    "Group", "Group Description", "usageType", "operation", "ACU", "Dedicated EBS Throughput",
    "Deployment Model", "Engine Major Version", "Engine Media Type",
    "Enhanced Networking Supported", "Extended Support Pricing Year", "Instance Type Family",
    "LimitlessPreview", "Normalization Size Factor", "Processor Features", "Region Code",
    "serviceName", "Unbundled Licensing", "Volume Name", "WindowsLicenseMultiplier",
)  # fmt: skip
"""The header row of the AmazonRDS offer CSV (version 20260428170746), as quoted in the tests of
block/Version-Guard (``cliPricingFixture``): column names only."""


def test_the_real_rds_header_layout(tmp_path: Path) -> None:
    """The fixture's rows re-laid under the real offer's 58 columns read the same."""
    import csv

    lines = RDS_CSV.read_text().splitlines()
    rows = list(csv.DictReader(lines[5:]))
    relaid = tmp_path / "rds.csv"
    with relaid.open("w", newline="") as out:
        out.write("\n".join(lines[:5]) + "\n")
        writer = csv.DictWriter(
            out, REAL_RDS_CSV_HEADER, quoting=csv.QUOTE_ALL, lineterminator="\n"
        )
        writer.writeheader()
        for row in rows:
            writer.writerow({k: v for k, v in row.items() if k in REAL_RDS_CSV_HEADER})
    expected, found = read_database_price_list_csv(RDS_CSV), read_database_price_list_csv(relaid)
    for table in ("on_demand", "reserved"):
        pd.testing.assert_frame_equal(
            getattr(found, table).drop(columns="source"),
            getattr(expected, table).drop(columns="source"),
        )


NODE_FIXTURES = ["AmazonES", "AmazonRedshift", "AmazonMemoryDB", "AmazonRDS_editions"]


@pytest.mark.parametrize("stem", NODE_FIXTURES)
def test_node_offers_csv_and_json_agree(stem: str) -> None:
    csv_catalog = read_price_file(DATA / f"pricelist_{stem}_illustrative.csv")
    json_catalog = read_price_file(DATA / f"pricelist_{stem}_illustrative.json")
    for table in ("on_demand", "reserved"):
        pd.testing.assert_frame_equal(
            getattr(csv_catalog, table).drop(columns="source"),
            getattr(json_catalog, table).drop(columns="source"),
        )
    assert csv_catalog.metadata.notes == json_catalog.metadata.notes


def test_opensearch_offer() -> None:
    catalog = read_database_price_list_csv(DATA / "pricelist_AmazonES_illustrative.csv")
    assert catalog.metadata.source == "AWS Price List bulk CSV AmazonES 20251001000000"
    on_demand, reserved = keyed(catalog)
    assert on_demand.to_dict() == {
        ("ap-southeast-1", "m5.xlarge.search", "opensearch", "Node"): 0.376,  # APS1-ESInstance
        ("us-east-1", "r6g.large.search", "opensearch", "Node"): 0.167,
    }
    r6g = ("us-east-1", "r6g.large.search", "opensearch", "Node", "standard")
    assert reserved.loc[(*r6g, 3, "All Upfront"), "upfront_usd"] == 2106.0
    assert reserved.loc[(*r6g, 1, "No Upfront"), "recurring_usd_per_hour"] == 0.115
    assert catalog.metadata.notes == ()  # the storage product is not an instance product


def test_redshift_offer_counts_legacy_terms() -> None:
    catalog = read_database_price_list_json(DATA / "pricelist_AmazonRedshift_illustrative.json")
    on_demand, reserved = keyed(catalog)
    assert on_demand.to_dict() == {
        ("us-east-1", "dc2.large", "redshift", "Node"): 0.25,
        ("us-west-2", "ra3.xlplus", "redshift", "Node"): 1.086,  # USW2-Node:ra3.xlplus
    }
    partial = reserved.loc[("us-west-2", "ra3.xlplus", "redshift", "Node", "standard", 3,
                            "Partial Upfront")]  # fmt: skip
    assert (partial["upfront_usd"], partial["recurring_usd_per_hour"]) == (5000.0, 0.2)
    assert len(reserved) == 2
    assert catalog.metadata.notes == (
        "skipped 2 reserved price rows of another lease or purchase option (Heavy Utilization)",
    )


def test_memorydb_offer_keys_valkey_nodes_to_their_platform(tmp_path: Path) -> None:
    """A Valkey node's on-demand rate keys to ``memorydb-valkey`` (covered by the ``memorydb``
    reserved nodes: no Valkey reservation is sold); an engine MemoryDB's vocabulary does not know
    (a ``Memcached`` row written here, not an AWS product) is still skipped, counted and named."""
    text = (DATA / "pricelist_AmazonMemoryDB_illustrative.csv").read_text()
    valkey = next(line for line in text.splitlines() if line.endswith('"Valkey"'))
    unknown = valkey.replace("MDBR6GLVALKEY", "MDBR6GLOTHER").replace('"Valkey"', '"Memcached"')
    path = tmp_path / "pricelist_AmazonMemoryDB.csv"
    path.write_text(text + unknown + "\n")
    catalog = read_database_price_list_csv(path)
    on_demand, reserved = keyed(catalog)
    assert on_demand.to_dict() == {
        ("us-east-1", "db.r6g.large", "memorydb", "Node"): 0.309,
        ("us-east-1", "db.r6g.large", "memorydb-valkey", "Node"): 0.2163,
        ("us-east-2", "db.t4g.small", "memorydb", "Node"): 0.068,
    }
    # the one reserved offering is the Redis OSS node's
    assert reserved.index.get_level_values("platform").tolist() == ["memorydb"]
    assert reserved["recurring_usd_per_hour"].tolist() == [0.216]
    assert catalog.metadata.notes == (
        "skipped 1 price rows: not instance usage (kind none) (USE1-DataWritten-Bytes)",
        "skipped 1 price rows: MemoryDB engine Memcached not mapped yet "
        "(USE1-NodeUsage:db.r6g.large)",
    )


def test_rds_editions_map_to_their_product_descriptions() -> None:
    catalog = read_database_price_list_csv(DATA / "pricelist_AmazonRDS_editions_illustrative.csv")
    on_demand, reserved = keyed(catalog)
    assert on_demand.to_dict() == {
        ("us-east-1", "db.m5.large", "oracle-se2(li)", "Single-AZ"): 0.342,
        ("us-east-1", "db.m5.xlarge", "sqlserver-se(li)", "Multi-AZ"): 2.9,
        ("us-east-1", "db.r5.large", "oracle-ee(byol)", "Single-AZ"): 0.25,
    }
    assert reserved.loc[
        ("us-east-1", "db.m5.xlarge", "sqlserver-se(li)", "Multi-AZ", "standard", 1, "All Upfront"),
        "upfront_usd",
    ] == 15000.0  # fmt: skip
    # Oracle Enterprise Edition is sold BYOL only: a License-included row has no platform
    assert catalog.metadata.notes == (
        "skipped 1 price rows: RDS engine Oracle not mapped yet (edition 'Enterprise', licence "
        "'License included') (InstanceUsage:db.r5.large)",
    )
