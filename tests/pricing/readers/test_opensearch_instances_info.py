"""ec2instances.info's OpenSearch data (LeanerCloud's copy of 2025-04-24, three instance types),
and the embedded OpenSearch snapshot built from the whole file."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from commitopt.catalogs import resolve_catalog
from pricing.catalog import KEY_COLUMNS, PriceCatalog
from pricing.embedded import OPENSEARCH_AS_OF, load_embedded_opensearch_catalog
from pricing.errors import PriceFileError
from pricing.readers.detect import detect_format, read_price_file
from pricing.readers.opensearch_instances_info import read_opensearch_instances_info

FIXTURE = (
    Path(__file__).parents[2]
    / "data"
    / "pricing"
    / "leanercloud_opensearch_instances_2025-04-24_trimmed.json.gz"
)
HOURS = {1: 8760, 3: 26280}


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return read_opensearch_instances_info(FIXTURE, as_of=date(2025, 4, 24), source="test")


def raw_rates() -> pd.DataFrame:
    """Every value of the file, walked by hand (the oracle)."""
    records = json.loads(gzip.decompress(FIXTURE.read_bytes()))
    return pd.DataFrame(
        [
            (region, record["instance_type"], "opensearch", "Node", key, float(value))
            for record in records
            for region, prices in record["pricing"].items()
            for key, value in [("ondemand", prices.get("ondemand")),
                               *prices.get("reserved", {}).items()]
            if value is not None
        ],
        columns=[*KEY_COLUMNS, "price_key", "rate"],
    )  # fmt: skip


def test_every_value_of_the_file_is_a_rate(catalog: PriceCatalog) -> None:
    raw = raw_rates()
    assert len(catalog.on_demand) == (raw["price_key"] == "ondemand").sum() == 85
    assert len(catalog.reserved) == (raw["price_key"] != "ondemand").sum() == 312
    assert set(catalog.on_demand["platform"]) == {"opensearch"}
    assert set(catalog.reserved["tenancy"]) == {"Node"}
    assert catalog.savings_plans.empty


def test_effective_rates_are_the_file_s(catalog: PriceCatalog) -> None:
    raw = raw_rates().loc[lambda f: f["price_key"] != "ondemand"]
    parts = raw["price_key"].str.extract(r"yrTerm(?P<term>\d)Standard\.(?P<payment>\w+)")
    names = {"noUpfront": "No", "partialUpfront": "Partial", "allUpfront": "All"}
    payment = parts["payment"].map(names) + " Upfront"
    expected = raw.assign(term_years=parts["term"].astype("int64"), payment_option=payment)
    merged = expected.merge(
        catalog.reserved, on=[*KEY_COLUMNS, "term_years", "payment_option"], validate="1:1"
    )
    assert len(merged) == 312
    hours = merged["term_years"].map(HOURS)
    effective = merged["upfront_usd"] / hours + merged["recurring_usd_per_hour"]
    np.testing.assert_allclose(effective, merged["rate"], rtol=1e-12)


def test_a_few_numbers_against_the_raw_file(catalog: PriceCatalog) -> None:
    # r6g.large.search us-east-1 in the file: ondemand 0.167, yrTerm1Standard.noUpfront 0.115,
    # yrTerm1Standard.allUpfront 0.10855, yrTerm3Standard.allUpfront 0.08016000761035008,
    # yrTerm1Standard.partialUpfront 0.11194497716894977
    key = {"region": "us-east-1", "instance_type": "r6g.large.search"}
    on_demand = catalog.on_demand.loc[
        (catalog.on_demand["region"] == key["region"])
        & (catalog.on_demand["instance_type"] == key["instance_type"])
    ]
    assert on_demand["on_demand_usd_per_hour"].tolist() == [0.167]
    reserved = catalog.reserved.loc[
        (catalog.reserved["region"] == key["region"])
        & (catalog.reserved["instance_type"] == key["instance_type"])
    ].set_index(["term_years", "payment_option"])
    no_upfront = reserved.loc[(1, "No Upfront")]
    assert (no_upfront["upfront_usd"], no_upfront["recurring_usd_per_hour"]) == (0.0, 0.115)
    assert not no_upfront["derived"]
    all_1 = reserved.loc[(1, "All Upfront")]
    assert all_1["upfront_usd"] == pytest.approx(0.10855 * 8760)  # 950.898 USD
    assert all_1["recurring_usd_per_hour"] == 0.0
    assert all_1["derived"]
    assert reserved.loc[(3, "All Upfront"), "upfront_usd"] == pytest.approx(2106.6050)
    partial = reserved.loc[(1, "Partial Upfront")]
    assert partial["upfront_usd"] == pytest.approx(0.5 * 0.11194497716894977 * 8760)
    assert partial["recurring_usd_per_hour"] == pytest.approx(0.5 * 0.11194497716894977)


def test_an_instance_type_without_reservations_has_on_demand_only(catalog: PriceCatalog) -> None:
    ultrawarm = catalog.filter(regions=["us-east-1"], instance_types=["ultrawarm1.medium.search"])
    assert ultrawarm.on_demand["on_demand_usd_per_hour"].tolist() == [0.238]
    assert ultrawarm.reserved.empty


def test_detected_and_read_through_the_dispatcher() -> None:
    assert detect_format(FIXTURE) == "opensearch-instances-info"
    catalog = read_price_file(FIXTURE, regions=["eu-west-1"])
    assert set(catalog.on_demand["region"]) == {"eu-west-1"}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[]", "non-empty JSON list"),
        ('[{"instance_type": "cache.m5.large", "pricing": {}}]', "*.search instance type"),
        ('[{"instance_type": "m5.large.search", "pricing": {"us-east-1": {"ondemand": -1}}}]',
         "negative rate -1.0 for m5.large.search us-east-1 opensearch ondemand"),
        ('[{"instance_type": "m5.large.search", "pricing": {"us-east-1": {"ondemand": "N/A"}}}]',
         "no OpenSearch instance prices found"),
    ],
)  # fmt: skip
def test_bad_files_are_one_clear_error(tmp_path: Path, content: str, problem: str) -> None:
    bad = tmp_path / "opensearch.json"
    bad.write_text(content)
    with pytest.raises(PriceFileError, match=r"opensearch\.json") as caught:
        read_opensearch_instances_info(bad)
    assert problem in str(caught.value)


def test_unknown_price_keys_are_counted(tmp_path: Path) -> None:
    odd = tmp_path / "odd.json"
    odd.write_text(
        '[{"instance_type": "m5.large.search", "pricing": {"us-east-1": {"ondemand": 0.1, '
        '"reserved": {"yrTerm2Standard.noUpfront": 0.05, "yrTerm1Standard.noUpfront": 0.07}}}}]'
    )
    catalog = read_opensearch_instances_info(odd, as_of=date(2025, 4, 24))
    assert len(catalog.reserved) == 1
    assert any("yrTerm2Standard.noUpfront" in note for note in catalog.metadata.notes)


def test_the_embedded_snapshot_is_the_whole_file() -> None:
    embedded = load_embedded_opensearch_catalog()
    counts = embedded.counts()
    assert (counts["instance_type_count"], counts["region_count"]) == (177, 34)
    assert (counts["on_demand_rate_count"], counts["reserved_offering_count"]) == (3662, 20349)
    assert embedded.metadata.as_of == OPENSEARCH_AS_OF
    # the trimmed fixture's rates are the embedded ones, key by key
    trimmed = read_opensearch_instances_info(FIXTURE, as_of=OPENSEARCH_AS_OF)
    merged = trimmed.reserved.merge(
        embedded.reserved, on=[*KEY_COLUMNS, "term_years", "payment_option"], validate="1:1"
    )
    assert len(merged) == 312
    np.testing.assert_allclose(merged["upfront_usd_x"], merged["upfront_usd_y"])


def test_the_embedded_snapshot_is_a_layer_of_every_command() -> None:
    resolved = resolve_catalog(use_local=False)
    assert resolved.layers[-1] == "embedded OpenSearch snapshot"
    rows = resolved.catalog.filter(regions=["us-east-1"], instance_types=["r6g.large.search"])
    assert rows.on_demand["on_demand_usd_per_hour"].tolist() == [0.167]
