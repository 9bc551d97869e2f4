"""Database prices through the installed console script: the embedded ElastiCache layer,
importing ec2instances.info's ElastiCache file, and bad database input (exit 2, one line)."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import EXIT_BAD_INPUT, EXIT_ENVIRONMENT, REPO, Sandbox, require_success
from tests.cli.test_every_command import assert_one_error_line

ELASTICACHE_FIXTURE = (
    REPO / "tests/data/pricing/leanercloud_elasticache_instances_2025-04-24_trimmed.json.gz"
)


def test_info_lists_the_embedded_elasticache_snapshot(empty_sandbox: Sandbox) -> None:
    info = json.loads(
        require_success(empty_sandbox.run("pricing", "info", "--format", "json")).stdout
    )
    layers = {layer["layer"]: layer for layer in info["layers"]}
    assert layers["embedded ElastiCache snapshot"]["as_of"] == "2025-04-24"
    assert layers["embedded ElastiCache snapshot"]["source"].startswith(
        "ec2instances.info ElastiCache snapshot 2025-04-24"
    )
    by_source = {row["source"]: row["rate_count"] for row in info["rates_by_source"]}
    elasticache = next(s for s in by_source if "ElastiCache" in s)
    assert by_source[elasticache] == 5033 + 16281


def test_import_the_elasticache_file(empty_sandbox: Sandbox) -> None:
    run = require_success(
        empty_sandbox.run("pricing", "import", str(ELASTICACHE_FIXTURE), "--format", "json")
    )
    (summary,) = json.loads(run.stdout)
    assert summary["on_demand_rate_count"] == 243
    assert summary["reserved_offering_count"] == 1014
    assert summary["savings_plans_rate_count"] == 0
    info = json.loads(
        require_success(empty_sandbox.run("pricing", "info", "--format", "json")).stdout
    )
    assert [layer["layer"] for layer in info["layers"]][1:] == [
        "embedded snapshot",
        "embedded ElastiCache snapshot",
        "embedded OpenSearch snapshot",
    ]


def test_a_broken_elasticache_file_is_one_error_line(empty_sandbox: Sandbox) -> None:
    bad = empty_sandbox.folder / "elasticache.json"
    bad.write_text(
        '[{"servicecode": "AmazonElastiCache", "instance_type": "cache.m5.large", '
        '"pricing": {"us-east-1": {"Redis": {"ondemand": "-1"}}}}]'
    )
    line = assert_one_error_line(empty_sandbox.run("pricing", "import", str(bad)), EXIT_BAD_INPUT)
    assert "elasticache.json: negative rate -1.0 for cache.m5.large us-east-1 redis" in line


def test_fetch_an_unknown_service_is_one_error_line(empty_sandbox: Sandbox) -> None:
    run = empty_sandbox.run("pricing", "fetch", "-r", "us-east-1", "--service", "dynamodb")
    line = assert_one_error_line(run, EXIT_BAD_INPUT)
    assert "unknown --service dynamodb" in line


def test_import_the_rds_offer_csv(empty_sandbox: Sandbox) -> None:
    offer = REPO / "tests/data/pricing/pricelist_AmazonRDS_illustrative.csv"
    run = require_success(
        empty_sandbox.run(
            "pricing", "import", str(offer), "--region", "us-east-1", "--format", "json"
        )
    )
    (summary,) = json.loads(run.stdout)
    assert (summary["on_demand_rate_count"], summary["reserved_offering_count"]) == (4, 6)
    assert summary["source"] == "AWS Price List bulk CSV AmazonRDS 20251001000000"
    assert "engine Oracle not mapped yet" in run.stderr  # the rows left out, as notes


def test_a_broken_rds_offer_is_one_error_line(empty_sandbox: Sandbox) -> None:
    offer = REPO / "tests/data/pricing/pricelist_AmazonRDS_illustrative.csv"
    broken = empty_sandbox.folder / "rds.csv"
    broken.write_text(offer.read_text().replace('"0.2500000000","USD"', '"abc","USD"', 1))
    line = assert_one_error_line(
        empty_sandbox.run("pricing", "import", str(broken)), EXIT_BAD_INPUT
    )
    assert "rds.csv: SKU RDSMYSQLR6GLSAZ, offer term JRTCKXETXF has price 'abc'" in line


def test_import_the_rds_cur(empty_sandbox: Sandbox) -> None:
    cur = REPO / "tests/data/cur/wal_Oct2018-WorkshopCUR-rds-trimmed.zstd.parquet"
    run = require_success(empty_sandbox.run("pricing", "import", str(cur), "--format", "json"))
    (summary,) = json.loads(run.stdout)
    assert (summary["on_demand_rate_count"], summary["reserved_offering_count"]) == (2, 0)
    assert "EC2 rates not read" in run.stderr


def test_show_a_cache_node_type_from_the_embedded_snapshot(empty_sandbox: Sandbox) -> None:
    run = require_success(
        empty_sandbox.run(
            "pricing", "show", "-r", "us-east-1", "-t", "cache.m6g.2xlarge", "-p", "redis",
            "--payment", "no", "--format", "json",
        )
    )  # fmt: skip
    rows = {(r["instrument"], r["term_years"]): r for r in json.loads(run.stdout)}
    assert rows[("On-Demand", None)]["effective_usd_per_hour"] == 0.593
    assert rows[("Standard RI", 1)]["effective_usd_per_hour"] == 0.405
    assert {r["tenancy"] for r in rows.values()} == {"Node"}


def test_show_database_deployments(empty_sandbox: Sandbox) -> None:
    offer = REPO / "tests/data/pricing/pricelist_AmazonRDS_illustrative.json"
    require_success(empty_sandbox.run("pricing", "import", str(offer)))
    every = json.loads(
        require_success(
            empty_sandbox.run("pricing", "show", "-t", "db.r6g.large", "--format", "json")
        ).stdout
    )
    assert {(r["platform"], r["tenancy"]) for r in every} == {
        ("mysql", "Single-AZ"), ("mysql", "Multi-AZ"), ("aurora-mysql", "Single-AZ"),
    }  # fmt: skip
    multi = json.loads(
        require_success(
            empty_sandbox.run(
                "pricing", "show", "-t", "db.r6g.large", "-p", "mysql", "--tenancy", "multi-az",
                "--format", "json",
            )
        ).stdout
    )  # fmt: skip
    assert [(r["instrument"], r["effective_usd_per_hour"]) for r in multi] == [
        ("On-Demand", 0.5), ("Standard RI", 0.34),
    ]  # fmt: skip


OPENSEARCH_FIXTURE = (
    REPO / "tests/data/pricing/leanercloud_opensearch_instances_2025-04-24_trimmed.json.gz"
)


def test_import_the_node_offers_and_rds_editions(empty_sandbox: Sandbox) -> None:
    offers = [
        REPO / f"tests/data/pricing/pricelist_{stem}_illustrative.csv"
        for stem in ("AmazonES", "AmazonRedshift", "AmazonMemoryDB", "AmazonRDS_editions")
    ]
    run = require_success(
        empty_sandbox.run("pricing", "import", *map(str, offers), "--format", "json")
    )
    counts = {
        row["source"].split()[-2]: (row["on_demand_rate_count"], row["reserved_offering_count"])
        for row in json.loads(run.stdout)
    }
    assert counts == {
        "AmazonES": (2, 3), "AmazonRedshift": (2, 2), "AmazonMemoryDB": (3, 1), "AmazonRDS": (3, 2),
    }  # fmt: skip  # MemoryDB: Redis OSS ×2 and a Valkey node (memorydb-valkey)
    assert "Valkey" not in run.stderr  # keyed, no longer left out
    assert "Heavy Utilization" in run.stderr
    shown = json.loads(
        require_success(
            empty_sandbox.run(
                "pricing", "show", "-r", "us-east-1", "-t", "db.m5.xlarge", "-p",
                "sqlserver-se(li)", "--format", "json",
            )
        ).stdout
    )  # fmt: skip
    assert [(r["instrument"], r["tenancy"], r["upfront_usd"]) for r in shown] == [
        ("On-Demand", "Multi-AZ", 0.0), ("Standard RI", "Multi-AZ", 15000.0),
    ]  # fmt: skip


def test_import_the_opensearch_file_and_show_a_redshift_node(empty_sandbox: Sandbox) -> None:
    run = require_success(
        empty_sandbox.run("pricing", "import", str(OPENSEARCH_FIXTURE), "--format", "json")
    )
    (summary,) = json.loads(run.stdout)
    assert (summary["on_demand_rate_count"], summary["reserved_offering_count"]) == (85, 312)
    redshift = REPO / "tests/data/pricing/pricelist_AmazonRedshift_illustrative.json"
    require_success(empty_sandbox.run("pricing", "import", str(redshift)))
    shown = json.loads(
        require_success(
            empty_sandbox.run("pricing", "show", "-t", "ra3.xlplus", "--format", "json")
        ).stdout
    )
    found = [(r["region"], r["platform"], r["tenancy"], r["effective_usd_per_hour"]) for r in shown]
    assert found == [
        ("us-west-2", "redshift", "Node", 1.086),
        ("us-west-2", "redshift", "Node", pytest.approx(5000 / 26280 + 0.2)),
    ]


def test_show_an_opensearch_type_from_the_embedded_snapshot(empty_sandbox: Sandbox) -> None:
    run = require_success(
        empty_sandbox.run(
            "pricing", "show", "-r", "us-east-1", "-t", "r6g.large.search", "--payment", "no",
            "--format", "json",
        )
    )  # fmt: skip
    rows = {(r["instrument"], r["term_years"]): r for r in json.loads(run.stdout)}
    assert rows[("On-Demand", None)]["effective_usd_per_hour"] == 0.167
    assert rows[("Standard RI", 1)]["effective_usd_per_hour"] == 0.115
    assert {r["platform"] for r in rows.values()} == {"opensearch"}


def test_fetch_node_services_without_credentials_is_an_environment_error(
    empty_sandbox: Sandbox,
) -> None:
    run = empty_sandbox.run(
        "pricing", "fetch", "-r", "us-east-1", "--service", "opensearch,redshift,memorydb"
    )
    line = assert_one_error_line(run, EXIT_ENVIRONMENT)
    assert "no usable AWS credentials for es:DescribeReservedInstanceOfferings" in line


def test_fetch_with_node_types_of_no_named_service_is_bad_input(empty_sandbox: Sandbox) -> None:
    run = empty_sandbox.run("pricing", "fetch", "-r", "us-east-1", "-t", "ra3.xlplus")
    line = assert_one_error_line(run, EXIT_BAD_INPUT)
    assert "add --service rds, elasticache, opensearch, redshift or memorydb" in line
