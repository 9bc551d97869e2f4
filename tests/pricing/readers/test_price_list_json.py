"""Tests of the Price List JSON readers: a real GetProducts record, a bulk offer built from it."""

from __future__ import annotations

import copy
import gzip
import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pricing.errors import PriceFileError
from pricing.readers.json_stream import JsonStream
from pricing.readers.price_list_json import parse_price_list_items, read_price_list_json

FIXTURE = (
    Path(__file__).parents[2]
    / "data"
    / "pricing"
    / "pricelist_getproducts_m5.large_us-east-1_2021-02.json"
)
SKU = "6C86BEPQVG73ZGGR"

# (offering class, term [years], payment) -> (upfront [USD], recurring [USD/h]), from the record.
M5_LARGE_TERMS: dict[tuple[str, int, str], tuple[float, float]] = {
    ("standard", 1, "No Upfront"): (0.0, 0.060),
    ("standard", 1, "Partial Upfront"): (252.0, 0.029),
    ("standard", 1, "All Upfront"): (494.0, 0.0),
    ("standard", 3, "No Upfront"): (0.0, 0.041),
    ("standard", 3, "Partial Upfront"): (505.0, 0.019),
    ("standard", 3, "All Upfront"): (949.0, 0.0),
    ("convertible", 1, "No Upfront"): (0.0, 0.071),
    ("convertible", 1, "Partial Upfront"): (294.0, 0.034),
    ("convertible", 1, "All Upfront"): (577.0, 0.0),
    ("convertible", 3, "No Upfront"): (0.0, 0.049),
    ("convertible", 3, "Partial Upfront"): (592.0, 0.023),
    ("convertible", 3, "All Upfront"): (1161.0, 0.0),
}
M5_KEY = ("us-east-1", "m5.large", "Linux/UNIX", "Shared")


def load_record() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


def assert_m5_large(on_demand: pd.DataFrame, reserved: pd.DataFrame) -> None:
    """The record's on-demand rate and all 12 RI offerings, exactly as in the file."""
    assert len(on_demand) == 1
    row = on_demand.iloc[0]
    assert (row["region"], row["instance_type"], row["platform"], row["tenancy"]) == M5_KEY
    assert row["on_demand_usd_per_hour"] == 0.096
    assert len(reserved) == 12
    assert set(
        zip(
            reserved["region"],
            reserved["instance_type"],
            reserved["platform"],
            reserved["tenancy"],
            strict=True,
        )
    ) == {M5_KEY}
    got = {
        (r.offering_class, r.term_years, r.payment_option): (
            r.upfront_usd,
            r.recurring_usd_per_hour,
        )
        for r in reserved.itertuples()
    }
    assert got == M5_LARGE_TERMS


def test_parse_the_real_getproducts_record() -> None:
    on_demand, reserved = parse_price_list_items([load_record()], source="GetProducts test")
    assert_m5_large(on_demand, reserved)
    assert set(on_demand["source"]) == {"GetProducts test"}
    assert set(reserved["source"]) == {"GetProducts test"}
    assert "effective_usd_per_hour" not in reserved


def test_parse_accepts_a_generator_and_repeated_items() -> None:
    record = load_record()
    on_demand, reserved = parse_price_list_items((record for _ in range(3)), source="x")
    assert_m5_large(on_demand, reserved)


def test_parse_nothing_gives_empty_tables() -> None:
    on_demand, reserved = parse_price_list_items([], source="x")
    assert on_demand.empty and reserved.empty
    assert "on_demand_usd_per_hour" in on_demand and "upfront_usd" in reserved


def test_host_tenancy_and_other_families_are_ignored() -> None:
    host = load_record()
    host["product"]["attributes"]["tenancy"] = "Host"
    host["product"]["attributes"]["usagetype"] = "HostBoxUsage:m5.large"
    volume = {"product": {"sku": "V", "productFamily": "Storage", "attributes": {}}, "terms": {}}
    on_demand, reserved = parse_price_list_items([host, volume], source="x")
    assert on_demand.empty and reserved.empty


def test_item_without_product_is_an_error() -> None:
    with pytest.raises(PriceFileError, match="item 2 is not a GetProducts PriceList entry"):
        parse_price_list_items([load_record(), {"terms": {}}], source="api")


def test_non_usd_price_is_an_error() -> None:
    record = load_record()
    term = record["terms"]["OnDemand"][f"{SKU}.JRTCKXETXF"]
    dimension = term["priceDimensions"][f"{SKU}.JRTCKXETXF.6YS6EN2CT7"]
    dimension["pricePerUnit"] = {"CNY": "0.6"}
    with pytest.raises(
        PriceFileError,
        match=r"api: SKU 6C86BEPQVG73ZGGR, offer term JRTCKXETXF \(Hrs\) is priced in 'CNY'",
    ):
        parse_price_list_items([record], source="api")


def test_conflicting_records_are_an_error() -> None:
    first = load_record()
    second = copy.deepcopy(first)
    second["product"]["sku"] = "OTHERSKU"
    term = second["terms"]["OnDemand"][f"{SKU}.JRTCKXETXF"]
    term["priceDimensions"][f"{SKU}.JRTCKXETXF.6YS6EN2CT7"]["pricePerUnit"]["USD"] = "0.1"
    with pytest.raises(
        PriceFileError, match=r"conflicting on-demand prices for us-east-1 m5\.large"
    ):
        parse_price_list_items([first, second], source="api")


# --------------------------------------------------------------------------- bulk JSON


def bulk_offer(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The bulk offer-file layout (products / terms by SKU) built from GetProducts records."""
    first = records[0]
    offer: dict[str, Any] = {
        "formatVersion": "v1.0",
        "disclaimer": "This pricing list is for informational purposes only.",
        "offerCode": "AmazonEC2",
        "version": first["version"],
        "publicationDate": first["publicationDate"],
        "products": {},
        "terms": {"OnDemand": {}, "Reserved": {}},
    }
    for record in records:
        sku = record["product"]["sku"]
        offer["products"][sku] = record["product"]
        for term_type, terms in record["terms"].items():
            offer["terms"][term_type][sku] = terms
    return offer


def host_record() -> dict[str, Any]:
    host = load_record()
    host["product"]["sku"] = "HOSTSKU"
    host["product"]["attributes"]["tenancy"] = "Host"
    host["product"]["attributes"]["usagetype"] = "HostBoxUsage:m5.large"
    return host


@pytest.fixture
def bulk_file(tmp_path: Path) -> Path:
    path = tmp_path / "index.json"
    path.write_text(json.dumps(bulk_offer([load_record(), host_record()]), indent=4))
    return path


def test_bulk_json(bulk_file: Path) -> None:
    catalog = read_price_list_json(bulk_file)
    assert catalog.metadata.source == "AWS Price List bulk JSON AmazonEC2 20210205204500"
    assert catalog.metadata.as_of == date(2021, 2, 5)
    assert_m5_large(catalog.on_demand, catalog.reserved)
    keys = pd.DataFrame([M5_KEY], columns=["region", "instance_type", "platform", "tenancy"])
    effective = catalog.reserved_rates(keys, "standard", 1, "Partial Upfront")[0]
    assert effective == pytest.approx(252 / 8760 + 0.029, rel=1e-12)


def test_bulk_json_gzip_compact_and_tiny_chunks(
    tmp_path: Path, bulk_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = read_price_list_json(bulk_file)
    packed = tmp_path / "index.json.gz"
    packed.write_bytes(gzip.compress(json.dumps(bulk_offer([load_record()])).encode()))
    monkeypatch.setattr(JsonStream, "_CHUNK", 7)  # every value spans chunk borders
    again = read_price_list_json(packed)
    pd.testing.assert_frame_equal(again.reserved, expected.reserved)
    pd.testing.assert_frame_equal(again.on_demand, expected.on_demand)


def test_bulk_json_region_filter(bulk_file: Path) -> None:
    assert len(read_price_list_json(bulk_file, regions=["us-east-1"]).reserved) == 12
    with pytest.raises(PriceFileError, match="no EC2 instance prices for region"):
        read_price_list_json(bulk_file, regions=["eu-west-1"])


def test_truncated_json(tmp_path: Path, bulk_file: Path) -> None:
    text = bulk_file.read_text()
    cut = tmp_path / "cut.json"
    cut.write_text(text[: len(text) * 2 // 3])
    with pytest.raises(PriceFileError, match="malformed JSON at character"):
        read_price_list_json(cut)


def test_another_offer(tmp_path: Path) -> None:
    offer = bulk_offer([load_record()])
    offer["offerCode"] = "AmazonRDS"
    path = tmp_path / "rds.json"
    path.write_text(json.dumps(offer))
    with pytest.raises(PriceFileError, match="not the AmazonEC2 offer JSON"):
        read_price_list_json(path)


def test_json_html_page(tmp_path: Path) -> None:
    page = tmp_path / "index.json"
    page.write_text("<html><head><title>403 Forbidden</title></head></html>")
    with pytest.raises(PriceFileError, match="HTML"):
        read_price_list_json(page)
