"""The key vocabulary across services (pricing/services.py)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.errors import CatalogValidationError, UnknownPlatformError
from pricing.services import (
    is_size_flexible,
    key_services,
    misfit_keys,
    parse_key_platform,
    plan_covers,
    purchase_deployments,
    reservation_platforms,
    units_per_instance_hour,
)


def test_services_units_and_flexibility() -> None:
    types = ["m5.large", "db.m4.large", "db.m4.large", "cache.r6g.xlarge", "db.m6gd.large"]
    tenancies = ["Shared", "Single-AZ", "Multi-AZ", "Node", "Multi-AZ DB cluster"]
    assert key_services(types).tolist() == [
        "AmazonEC2", "AmazonRDS", "AmazonRDS", "AmazonElastiCache", "AmazonRDS",
    ]  # fmt: skip
    # the RDS User Guide's table: large 4 Single-AZ, 8 Multi-AZ; a DB cluster three instances
    assert units_per_instance_hour(types, tenancies).tolist() == [4.0, 4.0, 8.0, 8.0, 12.0]
    platforms = ["Linux/UNIX", "mariadb", "mariadb", "redis", "postgresql"]
    assert purchase_deployments(types, platforms, tenancies).tolist() == [
        "",
        "Single-AZ",
        "Single-AZ",
        "Node",
        "Single-AZ",
    ]
    assert is_size_flexible("mariadb", "Multi-AZ") and is_size_flexible("redis", "Node")
    assert is_size_flexible("Linux/UNIX", "Shared") and not is_size_flexible("Windows", "Shared")


def test_opensearch_redshift_memorydb_and_exact_size_engines() -> None:
    types = ["r6g.large.search", "ra3.xlplus", "dc2.large", "db.r6g.large", "db.r5.xlarge"]
    platforms = ["opensearch", "redshift", "redshift", "memorydb", "sqlserver-se(li)"]
    tenancies = ["Node", "Node", "Node", "Node", "Multi-AZ"]
    # MemoryDB's db. node types are RDS's by name and MemoryDB's by platform
    assert key_services(types).tolist() == [
        "AmazonES", "AmazonRedshift", "AmazonRedshift", "AmazonRDS", "AmazonRDS",
    ]  # fmt: skip
    assert key_services(types, platforms).tolist() == [
        "AmazonES", "AmazonRedshift", "AmazonRedshift", "AmazonMemoryDB", "AmazonRDS",
    ]  # fmt: skip
    # OpenSearch and Redshift reserve node by node (one unit each); MemoryDB by size's units
    assert units_per_instance_hour(types, tenancies).tolist() == [1.0, 1.0, 1.0, 4.0, 16.0]
    # exact-size reservations are bought in the deployment they cover; flexible ones one node
    assert purchase_deployments(types, platforms, tenancies).tolist() == [
        "Node", "Node", "Node", "Node", "Multi-AZ",
    ]  # fmt: skip
    assert not is_size_flexible("opensearch", "Node") and not is_size_flexible("redshift", "Node")
    assert is_size_flexible("memorydb", "Node")
    assert not is_size_flexible("sqlserver-se(li)", "Single-AZ")
    assert not is_size_flexible("oracle-se2(li)", "Single-AZ")
    assert is_size_flexible("oracle-se2(byol)", "Multi-AZ")
    # Database Savings Plans cover RDS and ElastiCache, never the three node services
    assert plan_covers(["database"] * 5, types, platforms).tolist() == [
        False, False, False, False, True,
    ]  # fmt: skip


def test_plans_cover_their_own_services_only() -> None:
    types = ["m5.large", "db.r7g.large", "cache.r7g.large"]
    assert plan_covers(["compute"] * 3, types).tolist() == [True, False, False]
    assert plan_covers(["ec2_instance"] * 3, types).tolist() == [True, False, False]
    assert plan_covers(["database"] * 3, types).tolist() == [False, True, True]


def test_keys_of_another_service_are_misfits() -> None:
    cases = [
        ("m5.large", "Linux/UNIX", "Shared", False),
        ("db.r4.large", "aurora-mysql", "Single-AZ", False),
        ("cache.r6g.large", "valkey", "Node", False),
        ("m5.large", "mariadb", "Shared", True),  # an RDS engine on an EC2 type
        ("db.r4.large", "Linux/UNIX", "Shared", True),  # an EC2 platform on a DB class
        ("db.r4.large", "aurora-mysql", "Node", True),  # a cache node's deployment on RDS
        ("cache.r6g.large", "redis", "Single-AZ", True),
        ("cache.r6g.large", "mysql", "Node", True),  # an RDS engine on a cache node type
        ("db.r6g.large", "memorydb", "Node", False),
        ("db.r6g.large", "memorydb", "Single-AZ", True),
        ("cache.r6g.large", "memorydb", "Node", True),
        ("r6g.large.search", "opensearch", "Node", False),
        ("r6g.large", "opensearch", "Node", True),  # an EC2 type
        ("ra3.xlplus", "redshift", "Node", False),
        ("ra3.xlplus", "Linux/UNIX", "Shared", True),
        ("db.r5.large", "sqlserver-ee(li)", "Multi-AZ", False),
        ("db.r5.large", "redshift", "Node", True),
    ]
    flags = misfit_keys(*(list(column) for column in list(zip(*cases, strict=True))[:3]))
    assert flags.tolist() == [case[3] for case in cases]


def test_platform_spellings() -> None:
    assert parse_key_platform("Aurora-MySQL") == "aurora-mysql"
    assert parse_key_platform("linux") == "Linux/UNIX"
    assert parse_key_platform("Oracle-SE2(LI)") == "oracle-se2(li)"
    assert parse_key_platform("OpenSearch") == "opensearch"
    with pytest.raises(UnknownPlatformError, match="for databases, a reservation product"):
        parse_key_platform("db2-se")


def test_the_catalog_refuses_a_misfit_row() -> None:
    on_demand = pd.DataFrame(
        {
            "region": ["us-east-1"],
            "instance_type": ["db.r4.large"],
            "platform": ["Linux/UNIX"],
            "tenancy": ["Shared"],
            "on_demand_usd_per_hour": [0.29],
        }
    )
    meta = CatalogMetadata(source="test", as_of=date(2024, 1, 1))
    with pytest.raises(CatalogValidationError, match="another service than the instance type"):
        PriceCatalog.from_frames(meta, on_demand=on_demand)
    assert np.isfinite(units_per_instance_hour(["db.r4.large"], ["Single-AZ"])).all()


def test_memorydb_valkey_nodes_count_0_7_of_the_units_under_memorydb_reservations() -> None:
    """MemoryDB Developer Guide, "Size flexible reserved nodes": Valkey small 0.7, large 2.8,
    4xlarge 22.4 units (Redis OSS 1, 4, 32); Valkey nodes are covered by the Redis OSS
    (``memorydb``) reserved nodes; ElastiCache's ``valkey`` keeps its own reservations."""
    types = ["db.t4g.small", "db.r7g.large", "db.r7g.4xlarge", "db.r7g.4xlarge", "cache.r7g.large"]
    platforms = ["memorydb-valkey", "memorydb-valkey", "memorydb-valkey", "memorydb", "valkey"]
    tenancies = ["Node"] * 5
    units = units_per_instance_hour(types, tenancies, platforms)
    np.testing.assert_allclose(units, [0.7, 2.8, 22.4, 32.0, 4.0])
    assert units_per_instance_hour(types, tenancies).tolist() == [1.0, 4.0, 32.0, 32.0, 4.0]
    assert reservation_platforms(platforms).tolist() == [
        "memorydb", "memorydb", "memorydb", "memorydb", "valkey",
    ]  # fmt: skip
    assert key_services(types, platforms).tolist() == ["AmazonMemoryDB"] * 4 + ["AmazonElastiCache"]
    assert is_size_flexible("memorydb-valkey", "Node")
    assert not misfit_keys(types, platforms, tenancies).any()
    assert purchase_deployments(types, platforms, tenancies).tolist() == ["Node"] * 5
