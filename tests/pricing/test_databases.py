"""The database vocabulary: usage-type forms, normalized units, Multi-AZ, size flexibility.

The expected values are transcribed from the AWS pages cited in ``pricing/databases.py`` (the
RDS and Aurora "Reserved DB instances" pages, the RDS purchasing page and the ElastiCache
size-flexibility announcement), not computed from the module's own tables.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pricing.databases import (
    NOT_INSTANCE_USAGE,
    DatabaseUsageType,
    UnparsedUsageType,
    database_engine,
    parse_database_usage_type,
)
from pricing.services import is_size_flexible

# "Size-flexible reserved DB instances", Amazon RDS User Guide: instance size -> (Single-AZ units,
# Multi-AZ units), as the page's table prints them.
RDS_PAGE_TABLE = {
    "micro": (0.5, 1),
    "small": (1, 2),
    "medium": (2, 4),
    "large": (4, 8),
    "xlarge": (8, 16),
    "2xlarge": (16, 32),
    "4xlarge": (32, 64),
    "6xlarge": (48, 96),
    "8xlarge": (64, 128),
    "10xlarge": (80, 160),
    "12xlarge": (96, 192),
    "16xlarge": (128, 256),
    "24xlarge": (192, 384),
    "32xlarge": (256, 512),
}


@pytest.mark.parametrize(("size", "units"), RDS_PAGE_TABLE.items())
def test_normalized_units_match_the_rds_page_single_and_multi_az(
    size: str, units: tuple[float, float]
) -> None:
    single = parse_database_usage_type(f"InstanceUsage:db.m5.{size}")
    multi = parse_database_usage_type(f"Multi-AZUsage:db.m5.{size}")
    assert isinstance(single, DatabaseUsageType) and isinstance(multi, DatabaseUsageType)
    assert (single.normalized_units, multi.normalized_units) == units
    assert multi.normalized_units == 2 * single.normalized_units  # Multi-AZ counts double


def test_multi_az_db_cluster_counts_three_single_az_instances() -> None:
    # "purchase three Single-AZ reserved DB instances, or one Multi-AZ and one Single-AZ"
    cluster = parse_database_usage_type("USE2-Multi-AZClusterUsage:db.m6gd.large")
    assert isinstance(cluster, DatabaseUsageType)
    assert cluster.deployment == "Multi-AZ DB cluster"
    assert cluster.region == "us-east-2"
    assert cluster.normalized_units == 3 * 4 == 8 + 4


@pytest.mark.parametrize(
    ("usage_type", "expected"),
    [
        (
            "InstanceUsage:db.r4.large",
            ("us-east-1", "AmazonRDS", "InstanceUsage", "db.r4.large", "Single-AZ", 4.0),
        ),
        (
            "Multi-AZUsage:db.m4.large",
            ("us-east-1", "AmazonRDS", "Multi-AZUsage", "db.m4.large", "Multi-AZ", 8.0),
        ),
        (
            "USE2-InstanceUsage:db.t3.micro",
            ("us-east-2", "AmazonRDS", "InstanceUsage", "db.t3.micro", "Single-AZ", 0.5),
        ),
        (
            "EU-Multi-AZUsage:db.r5.2xlarge",
            ("eu-west-1", "AmazonRDS", "Multi-AZUsage", "db.r5.2xlarge", "Multi-AZ", 32.0),
        ),
        (
            "APN2-NodeUsage:cache.r6g.xlarge",
            ("ap-northeast-2", "AmazonElastiCache", "NodeUsage", "cache.r6g.xlarge", "Node", 8.0),
        ),
        (
            "USE1-NodeUsage:db.r6g.large",
            ("us-east-1", "AmazonMemoryDB", "NodeUsage", "db.r6g.large", "Node", 4.0),
        ),
        (
            "APS1-ESInstance:m5.xlarge",
            ("ap-southeast-1", "AmazonES", "ESInstance", "m5.xlarge.search", "Node", 1.0),
        ),
        (
            "USW2-Node:ra3.xlplus",
            ("us-west-2", "AmazonRedshift", "Node", "ra3.xlplus", "Node", 1.0),
        ),
        (
            "Node:dc2.large",
            ("us-east-1", "AmazonRedshift", "Node", "dc2.large", "Node", 1.0),
        ),
    ],
)
def test_documented_forms_parse(usage_type: str, expected: tuple[object, ...]) -> None:
    parsed = parse_database_usage_type(usage_type)
    assert isinstance(parsed, DatabaseUsageType)
    got = (
        parsed.region,
        parsed.service,
        parsed.usage_kind,
        parsed.instance_class,
        parsed.deployment,
        parsed.normalized_units,
    )
    assert got == expected
    family = parsed.instance_class.removesuffix(".search").rsplit(".", 1)[0]
    assert parsed.instance_family == family + (".search" if parsed.service == "AmazonES" else "")


@pytest.mark.parametrize(
    ("usage_type", "reason_part"),
    [
        ("Aurora:StorageUsage", NOT_INSTANCE_USAGE),
        ("RDS:Multi-AZ-PIOPS-Storage", NOT_INSTANCE_USAGE),
        ("USE2-RDS:ChargedBackupUsage", NOT_INSTANCE_USAGE),
        ("DataTransfer-Out-Bytes", NOT_INSTANCE_USAGE),
        ("Aurora:ServerlessV2Usage", NOT_INSTANCE_USAGE),
        ("BoxUsage:m5.large", "usage kind 'BoxUsage'"),
        ("", NOT_INSTANCE_USAGE),
        ("USE2-InstanceUsageIOOptimized:db.r6g.large", "I/O-Optimized"),
        ("HeavyUsage:db.r4.large", "usage kind 'HeavyUsage'"),
        ("ESInstance:db.r6g.large", "ESInstance with a db. class"),
        ("Node:cache.r6g.large", "Node with a cache. class"),
        ("InstanceUsage:cache.r6g.large", "InstanceUsage with a cache. class"),
        ("ZZZ9-InstanceUsage:db.r4.large", "unknown usage-type region prefix 'ZZZ9'"),
        ("InstanceUsage:db.r4.enormous", "unknown instance size"),
    ],
)
def test_unknown_forms_return_a_reason(usage_type: str, reason_part: str) -> None:
    parsed = parse_database_usage_type(usage_type)
    assert isinstance(parsed, UnparsedUsageType)
    assert reason_part in parsed.reason
    assert parsed.usage_type == usage_type.strip()


@given(st.text(max_size=60))
def test_the_parser_never_raises(text: str) -> None:
    parsed = parse_database_usage_type(text)
    assert isinstance(parsed, DatabaseUsageType | UnparsedUsageType)


# platform -> whether its reservations are size-flexible, from the cited pages: RDS lists MariaDB,
# MySQL, Oracle BYOL and PostgreSQL as size-flexible and requires the exact size for SQL Server and
# Oracle License Included; Aurora lists Aurora MySQL and Aurora PostgreSQL; ElastiCache: all
# reserved node offerings; MemoryDB: size-flexible; OpenSearch and Redshift: the exact type.
DOCUMENTED_FLEXIBILITY = [
    ("mariadb", "Multi-AZ", True),
    ("mysql", "Single-AZ", True),
    ("postgresql", "Multi-AZ DB cluster", True),
    ("oracle-ee(byol)", "Single-AZ", True),
    ("oracle-se2(byol)", "Multi-AZ", True),
    ("aurora-mysql", "Single-AZ", True),
    ("aurora-postgresql", "Single-AZ", True),
    ("oracle-se2(li)", "Single-AZ", False),
    ("sqlserver-se(li)", "Multi-AZ", False),
    ("sqlserver-web(li)", "Single-AZ", False),
    ("redis", "Node", True),
    ("valkey", "Node", True),
    ("memcached", "Node", True),
    ("memorydb", "Node", True),
    ("opensearch", "Node", False),
    ("redshift", "Node", False),
]


@pytest.mark.parametrize(("platform", "deployment", "flexible"), DOCUMENTED_FLEXIBILITY)
def test_size_flexibility_follows_the_documentation(
    platform: str, deployment: str, flexible: bool
) -> None:
    assert is_size_flexible(platform, deployment) is flexible


@pytest.mark.parametrize(
    ("service", "value", "engine"),
    [
        ("AmazonRDS", "Aurora MySQL", "Aurora MySQL"),
        ("AmazonRDS", " mariadb ", "MariaDB"),
        ("AmazonRDS", "SQL Server", "SQL Server"),
        ("AmazonRDS", "Any", None),
        ("AmazonRDS", None, None),
        ("AmazonElastiCache", "Redis", "Redis OSS"),
        ("AmazonElastiCache", "Valkey", "Valkey"),
        ("AmazonElastiCache", "MySQL", None),
    ],
)
def test_engines_come_from_the_cur_engine_column(
    service: str, value: str | None, engine: str | None
) -> None:
    assert database_engine(service, value) == engine
