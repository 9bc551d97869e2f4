"""The embedded catalog: contents, provenance, missing families, reproducible build."""

from __future__ import annotations

import gzip
import importlib.util
import json
from datetime import date
from importlib import resources
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

import pricing.embedded as embedded
from pricing.catalog import KEY_COLUMNS, PriceCatalog
from pricing.errors import MissingPriceError
from pricing.platforms import parse_platform

REPOSITORY = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPOSITORY / "scripts" / "build_embedded_catalog.py"
SOURCE = REPOSITORY / "scripts" / "data" / "ec2instancesinfo_instances_2017-11-12.json.gz"


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return embedded.load_embedded_catalog()


@pytest.fixture(scope="module")
def build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_embedded_catalog", BUILD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_loads_with_the_snapshot_counts(catalog: PriceCatalog) -> None:
    counts = catalog.counts()
    assert counts["instance_type_count"] == 88
    assert counts["region_count"] == 15
    assert counts["platform_count"] == 7
    assert counts["on_demand_rate_count"] == 5894
    assert counts["reserved_offering_count"] == 63160
    assert counts["savings_plans_rate_count"] == 63160
    assert embedded.load_embedded_catalog() is catalog  # cached


def test_every_on_demand_key_of_the_source_has_its_rate(catalog: PriceCatalog) -> None:
    raw = json.loads(gzip.decompress(SOURCE.read_bytes()))
    expected = pd.DataFrame(
        [
            (
                region,
                record["instance_type"],
                parse_platform(os_key),
                "Shared",
                float(prices["ondemand"]),
            )
            for record in raw
            for region, by_os in record["pricing"].items()
            for os_key, prices in by_os.items()
            if os_key != "ebs" and "ondemand" in prices
        ],
        columns=[*KEY_COLUMNS, "rate"],
    )
    assert len(expected) == 5894
    np.testing.assert_array_equal(catalog.require_on_demand(expected), expected["rate"])
    assert not np.isnan(catalog.on_demand_rates(catalog.key_table())).any()


def test_known_rates(catalog: PriceCatalog) -> None:
    keys = pd.DataFrame(
        [
            {
                "region": "us-east-1",
                "instance_type": "c5.large",
                "platform": "Linux/UNIX",
                "tenancy": "Shared",
            }
        ]
    )
    assert catalog.on_demand_rates(keys)[0] == 0.085
    assert catalog.reserved_rates(keys, "standard", 1, "Partial Upfront")[0] == 0.052
    assert catalog.savings_plan_rates(keys, "ec2_instance", 1, "Partial Upfront")[0] == 0.052
    assert catalog.savings_plan_rates(keys, "compute", 3, "No Upfront")[0] == 0.041


def test_derived_rates_are_flagged_and_stated(catalog: PriceCatalog) -> None:
    assert catalog.savings_plans["derived"].all()
    reserved = catalog.reserved
    assert (reserved["derived"] == (reserved["payment_option"] != "No Upfront")).all()
    metadata = catalog.metadata
    assert "63160 Savings Plans rates derived" in metadata.derived_rates
    assert "EC2 Instance SP rate = standard RI effective rate" in metadata.derived_rates
    assert "Compute SP rate = convertible RI effective rate" in metadata.derived_rates
    assert "Partial Upfront = 50% of effective rate × term hours upfront" in (
        metadata.partial_upfront_split
    )


def test_provenance(catalog: PriceCatalog) -> None:
    metadata = catalog.metadata
    assert metadata.as_of == embedded.EMBEDDED_AS_OF == date(2017, 11, 12)
    assert metadata.source == (
        "ec2instances.info snapshot 2017-11-12 "
        "(vantage-sh/ec2instances.info www/instances.json at 94e1f006)"
    )
    assert set(catalog.reserved["source"]) == {metadata.source}
    notes = " | ".join(metadata.notes)
    assert "predates m5, t3 and every later family (c5 is in it)" in notes
    assert "no Savings Plans" in notes
    assert "3 decimals" in notes
    assert embedded.EMBEDDED_REFRESH_HINT in metadata.notes
    assert embedded.embedded_notice() == (
        "using the embedded price catalog (ec2instances.info snapshot of 2017-11-12); "
        "refresh with `commitopt pricing fetch` or `commitopt pricing import FILE`"
    )
    hint = embedded.EMBEDDED_REFRESH_HINT
    assert hint.count(". ") == 0 and hint.endswith(".")
    assert "`commitopt pricing fetch`" in hint and "`commitopt pricing import FILE`" in hint


def test_notice_file_ships_the_mit_licence() -> None:
    notice = resources.files("pricing.embedded").joinpath("NOTICE").read_text(encoding="utf-8")
    assert "Copyright (c) 2013 Garret Heaton" in notice
    assert "Permission is hereby granted, free of charge" in notice
    assert "94e1f006efae8f18a8194d9122ae7daee179fb5e" in notice
    assert "What was derived" in notice


def test_parquet_is_small() -> None:
    parquet = resources.files("pricing.embedded").joinpath(embedded.EMBEDDED_FILE_NAME)
    assert len(parquet.read_bytes()) < 1_000_000


def test_m5_predates_the_snapshot(catalog: PriceCatalog) -> None:
    keys = pd.DataFrame(
        [
            {
                "region": "us-east-1",
                "instance_type": "c5.large",
                "platform": "Linux/UNIX",
                "tenancy": "Shared",
            },
            {
                "region": "us-east-1",
                "instance_type": "m5.large",
                "platform": "Linux/UNIX",
                "tenancy": "Shared",
            },
        ]
    )
    assert np.isnan(catalog.on_demand_rates(keys)[1])
    with pytest.raises(MissingPriceError) as raised:
        catalog.require_on_demand(keys)
    message = str(raised.value)
    assert message.startswith("no on-demand price for us-east-1 m5.large Linux/UNIX Shared;")
    assert "c5.large" not in message
    assert "`commitopt pricing fetch`" in message
    assert "`commitopt pricing import FILE`" in message
    assert "CUR" in message
    assert raised.value.keys == ["us-east-1 m5.large Linux/UNIX Shared"]
    assert not catalog.filter(families=["m5", "t3"]).on_demand.shape[0]


def test_build_is_byte_identical_and_matches_the_shipped_catalog(
    build_script: ModuleType, catalog: PriceCatalog, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.parquet", tmp_path / "second.parquet"
    built = build_script.build_embedded_catalog(SOURCE, first)
    build_script.build_embedded_catalog(SOURCE, second)
    assert first.read_bytes() == second.read_bytes()
    assert built.metadata == catalog.metadata
    for table in ("on_demand", "reserved", "savings_plans"):
        pd.testing.assert_frame_equal(
            getattr(PriceCatalog.read_parquet(first), table), getattr(catalog, table)
        )
