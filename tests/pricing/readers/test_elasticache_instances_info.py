"""ec2instances.info's ElastiCache data (LeanerCloud's copy of 2025-04-24, three node types)."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pricing.catalog import KEY_COLUMNS, PriceCatalog
from pricing.errors import PriceFileError
from pricing.readers.detect import detect_format, read_price_file
from pricing.readers.elasticache_instances_info import read_elasticache_instances_info

FIXTURE = (
    Path(__file__).parents[2]
    / "data"
    / "pricing"
    / "leanercloud_elasticache_instances_2025-04-24_trimmed.json.gz"
)
PLATFORMS = {"Redis": "redis", "Valkey": "valkey", "Memcached": "memcached"}


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return read_elasticache_instances_info(FIXTURE, as_of=date(2025, 4, 24), source="test")


def raw_rates() -> pd.DataFrame:
    """Every value of the file, walked by hand (the oracle)."""
    records = json.loads(gzip.decompress(FIXTURE.read_bytes()))
    return pd.DataFrame(
        [
            (region, record["instance_type"], PLATFORMS[engine], "Node", key, float(value))
            for record in records
            for region, by_engine in record["pricing"].items()
            for engine, prices in by_engine.items()
            for key, value in [("ondemand", prices.get("ondemand")),
                               *prices.get("reserved", {}).items()]
            if value is not None
        ],
        columns=[*KEY_COLUMNS, "price_key", "rate"],
    )  # fmt: skip


def test_every_value_of_the_file_is_a_rate(catalog: PriceCatalog) -> None:
    raw = raw_rates()
    on_demand = raw.loc[raw["price_key"] == "ondemand"]
    assert len(catalog.on_demand) == len(on_demand) == 243
    np.testing.assert_array_equal(catalog.require_on_demand(on_demand), on_demand["rate"])
    reserved = raw.loc[raw["price_key"] != "ondemand"]
    assert len(catalog.reserved) == len(reserved) == 1014
    for key, (term, payment) in {
        "yrTerm1Standard.noUpfront": (1, "No Upfront"),
        "yrTerm1Standard.partialUpfront": (1, "Partial Upfront"),
        "yrTerm3Standard.allUpfront": (3, "All Upfront"),
    }.items():
        rows = reserved.loc[reserved["price_key"] == key]
        np.testing.assert_allclose(
            catalog.reserved_rates(rows, "standard", term, payment), rows["rate"], rtol=1e-12
        )
    assert catalog.savings_plans.empty
    assert set(catalog.on_demand["tenancy"]) == {"Node"}
    assert set(catalog.reserved["platform"]) == {"redis", "valkey", "memcached"}


def test_known_rates_and_the_split(catalog: PriceCatalog) -> None:
    key = pd.DataFrame(
        [{"region": "us-east-1", "instance_type": "cache.r6g.large", "platform": "valkey",
          "tenancy": "Node"}]
    )  # fmt: skip
    assert catalog.on_demand_rates(key)[0] == 0.1648
    assert catalog.reserved_rates(key, "standard", 1, "No Upfront")[0] == 0.1128
    partial = catalog.reserved.set_index([*KEY_COLUMNS, "term_years", "payment_option"]).loc[
        ("us-east-1", "cache.r6g.large", "valkey", "Node", 1, "Partial Upfront")
    ]
    assert partial["upfront_usd"] == pytest.approx(0.5 * 0.10702465753424659 * 8760)
    assert partial["recurring_usd_per_hour"] == pytest.approx(0.5 * 0.10702465753424659)
    assert bool(partial["derived"])
    no_upfront = catalog.reserved.loc[catalog.reserved["payment_option"] == "No Upfront"]
    assert not no_upfront["derived"].any()
    assert "50%" in catalog.metadata.partial_upfront_split


def test_detected_and_imported(tmp_path: Path) -> None:
    assert detect_format(FIXTURE) == "elasticache-instances-info"
    imported = read_price_file(FIXTURE, regions=["eu-west-1"])
    assert set(imported.on_demand["region"]) == {"eu-west-1"}
    assert any("modification date" in note for note in imported.metadata.notes)


def test_unknown_engines_and_zero_rates_are_counted(tmp_path: Path) -> None:
    records = json.loads(gzip.decompress(FIXTURE.read_bytes()))
    by_engine = records[0]["pricing"]["us-east-1"]
    by_engine["MemoryDB"] = {"ondemand": 0.3}
    by_engine["Redis"]["ondemand"] = "0"
    by_engine["Redis"]["reserved"]["yrTerm1Convertible.noUpfront"] = 0.1
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(records))
    notes = read_elasticache_instances_info(changed, as_of=date(2025, 4, 24)).metadata.notes
    assert "skipped 1 value(s): engine 'MemoryDB' (not mapped)" in notes
    assert "skipped 1 value(s): zero rate (no USD price listed)" in notes
    assert "skipped 1 value(s): unrecognised price key(s) yrTerm1Convertible.noUpfront" in notes


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", "expected a non-empty JSON list"),
        ('[{"instance_type": "m5.large", "pricing": {}}]', "record 0 has no 'instance_type' "
         "naming a cache.* node type"),
        ("[{", "not valid JSON text"),
        ('[{"instance_type": "cache.m5.large", "pricing": {"us-east-1": {"Redis": '
         '{"ondemand": "-1"}}}}]', "negative rate -1.0 for cache.m5.large us-east-1 redis"),
    ],
)  # fmt: skip
def test_malformed_files_name_the_problem(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(PriceFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_elasticache_instances_info(bad)
