"""The embedded ElastiCache catalog: contents, provenance, reproducible build."""

from __future__ import annotations

import gzip
import importlib.util
import json
from importlib import resources
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

import pricing.embedded as embedded
from pricing.catalog import KEY_COLUMNS, PriceCatalog

REPOSITORY = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPOSITORY / "scripts" / "build_embedded_elasticache_catalog.py"
SOURCE = REPOSITORY / "scripts" / "data" / "leanercloud_elasticache_instances_2025-04-24.json.gz"


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return embedded.load_embedded_elasticache_catalog()


@pytest.fixture(scope="module")
def build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_embedded_ec", BUILD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_counts_and_provenance(catalog: PriceCatalog) -> None:
    counts = catalog.counts()
    assert counts["instance_type_count"] == 91 and counts["region_count"] == 35
    assert counts["platform_count"] == 3
    assert counts["on_demand_rate_count"] == 5033
    # 1 year: No and Partial Upfront; 3 years: all three (the source has no 1-year All Upfront)
    assert counts["reserved_offering_count"] == 2 * 3663 + 3 * 2985 == 16281
    assert counts["savings_plans_rate_count"] == 0
    assert catalog.metadata.as_of == embedded.ELASTICACHE_AS_OF
    assert catalog.metadata.source == embedded.ELASTICACHE_SOURCE
    assert set(catalog.on_demand["source"]) == {embedded.ELASTICACHE_SOURCE}
    assert any("2025-04-24" in note for note in catalog.metadata.notes)
    assert embedded.load_embedded_elasticache_catalog() is catalog


def test_every_on_demand_value_of_the_source(catalog: PriceCatalog) -> None:
    raw = json.loads(gzip.decompress(SOURCE.read_bytes()))
    expected = pd.DataFrame(
        [
            (region, r["instance_type"], engine.lower(), "Node", float(prices["ondemand"]))
            for r in raw
            for region, by_engine in r["pricing"].items()
            for engine, prices in by_engine.items()
            if "ondemand" in prices
        ],
        columns=[*KEY_COLUMNS, "rate"],
    )
    np.testing.assert_array_equal(catalog.require_on_demand(expected), expected["rate"])


def test_a_known_rate(catalog: PriceCatalog) -> None:
    key = pd.DataFrame(
        [{"region": "us-east-1", "instance_type": "cache.m6g.2xlarge", "platform": "redis",
          "tenancy": "Node"}]
    )  # fmt: skip
    assert catalog.on_demand_rates(key)[0] == 0.593
    assert catalog.reserved_rates(key, "standard", 1, "No Upfront")[0] == 0.405
    assert catalog.reserved_rates(key, "standard", 3, "All Upfront", "upfront_usd")[0] == (
        pytest.approx(0.2675038051750381 * 26280)
    )


def test_notice_and_size() -> None:
    folder = resources.files("pricing.embedded")
    notice = folder.joinpath("NOTICE").read_text(encoding="utf-8")
    assert "f9eafba8b0c94eb59a852a52c2f3c2da8370dcc5" in notice
    assert "This is free and unencumbered software released into the public domain" in notice
    assert "Snapshot date: 2025-04-24" in notice
    assert len(folder.joinpath(embedded.ELASTICACHE_FILE_NAME).read_bytes()) < 250_000


def test_build_is_byte_identical_and_matches_the_shipped_catalog(
    build_script: ModuleType, catalog: PriceCatalog, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.parquet", tmp_path / "second.parquet"
    built = build_script.build_embedded_elasticache_catalog(SOURCE, first)
    build_script.build_embedded_elasticache_catalog(SOURCE, second)
    assert first.read_bytes() == second.read_bytes()
    assert built.metadata == catalog.metadata
    for table in ("on_demand", "reserved", "savings_plans"):
        pd.testing.assert_frame_equal(
            getattr(PriceCatalog.read_parquet(first), table), getattr(catalog, table)
        )
