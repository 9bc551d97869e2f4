"""Tests of the Savings Plans offer readers (CSV and JSON) on a real excerpt and broken variants."""

from __future__ import annotations

import copy
import csv
import gzip
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pricing.catalog import PriceCatalog
from pricing.errors import PriceFileError
from pricing.platforms import OPERATION_TO_PLATFORM
from pricing.readers.json_stream import JsonStream
from pricing.readers.savings_plans_offer import read_savings_plans_csv, read_savings_plans_json

DATA = Path(__file__).parents[2] / "data" / "pricing"
CSV_FIXTURE = DATA / "ec2priceit_5-ap-east-2-savingsplan-pricing.csv"
JSON_FIXTURE = DATA / "savingsplan_ap-east-2_r7g_from-ec2priceit_5.json"
CSV_LINES = CSV_FIXTURE.read_text().splitlines()
HEADER = CSV_LINES[5].split(",")
JSON_DOC = json.loads(JSON_FIXTURE.read_text())

RHEL_MEDIUM = "2JT7C3ZD2AXA73Q4.23PWZ6X8AQE4NKNR"  # line 7: DedicatedUsage:r7g.medium 0010 0.0425
UBUNTU_12XL = "2JT7C3ZD2AXA73Q4.2NY8QY787VR5YXVW"  # line 12: BoxUsage:r7g.12xlarge 0g00 1.2268
UNUSED_LARGE = "2JT7C3ZD2AXA73Q4.2N9JCBAMRPFYYSVR"  # line 10: UnusedDed:r7g.large


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return read_savings_plans_csv(CSV_FIXTURE)


def _rate(catalog: PriceCatalog, instance_type: str, platform: str, tenancy: str) -> float:
    table = catalog.savings_plans
    row = table.loc[
        (table["region"] == "ap-east-2")
        & (table["instance_type"] == instance_type)
        & (table["platform"] == platform)
        & (table["tenancy"] == tenancy)
        & (table["plan_type"] == "ec2_instance")
        & (table["term_years"] == 3)
        & (table["payment_option"] == "Partial Upfront")
    ]
    assert len(row) == 1, (instance_type, platform, tenancy)
    return float(row["sp_hourly_usd"].iloc[0])


# ------------------------------------------------------------------------------ the real excerpt


def test_metadata_from_the_preamble(catalog: PriceCatalog) -> None:
    assert catalog.metadata.as_of == date(2025, 9, 11)
    assert "AmazonComputeSavingsPlan 20250911184447" in catalog.metadata.source
    assert catalog.metadata.currency == "USD"
    assert catalog.metadata.notes == ()
    assert set(catalog.savings_plans["source"]) == {catalog.metadata.source}


@pytest.mark.parametrize(
    ("instance_type", "platform", "tenancy", "rate"),
    [
        ("r7g.medium", "Red Hat Enterprise Linux", "Dedicated", 0.0425),
        ("r7g.12xlarge", "Ubuntu Pro", "Shared", 1.2268),
        ("r7g.12xlarge", "Linux/UNIX", "Shared", 1.1721),
        ("r7g.12xlarge", "Red Hat Enterprise Linux with HA", "Dedicated", 2.5383),
        ("r7g.2xlarge", "Linux/UNIX", "Shared", 0.1954),
        ("r7g.metal", "SUSE Linux", "Shared", 1.6168),
        ("r7g.xlarge", "Linux/UNIX", "Dedicated", 0.1123),
        ("r7g.16xlarge", "Red Hat Enterprise Linux", "Dedicated", 2.254),
    ],
)
def test_exact_rates_of_real_rows(
    catalog: PriceCatalog, instance_type: str, platform: str, tenancy: str, rate: float
) -> None:
    assert _rate(catalog, instance_type, platform, tenancy) == rate


def test_every_instance_row_of_the_file_and_nothing_else(catalog: PriceCatalog) -> None:
    """Oracle: the file read with the csv module, BoxUsage / DedicatedUsage rows only."""
    rows = list(csv.DictReader(CSV_LINES[5:]))
    assert len(rows) == 44
    expected = {}
    for row in rows:
        kind, instance_type = row["DiscountedUsageType"].removeprefix("APE2-").split(":")
        if kind in ("BoxUsage", "DedicatedUsage"):
            tenancy = "Shared" if kind == "BoxUsage" else "Dedicated"
            platform = OPERATION_TO_PLATFORM[row["DiscountedOperation"]]
            expected[(instance_type, platform, tenancy)] = float(row["DiscountedRate"])
    assert len(expected) == 22
    table = catalog.savings_plans
    found = {
        (r.instance_type, r.platform, r.tenancy): r.sp_hourly_usd
        for r in table.itertuples(index=False)
    }
    assert found == expected
    assert set(table["plan_type"]) == {"ec2_instance"}
    assert set(table["term_years"]) == {3}
    assert set(table["payment_option"]) == {"Partial Upfront"}
    assert set(table["region"]) == {"ap-east-2"}


def test_unused_reservation_and_host_rows_are_excluded(catalog: PriceCatalog) -> None:
    table = catalog.savings_plans
    # r7g.4xlarge appears only as UnusedBox / UnusedDed rows, r7g.large Linux only as UnusedBox.
    assert "r7g.4xlarge" not in set(table["instance_type"])
    large_linux = (table["instance_type"] == "r7g.large") & (table["platform"] == "Linux/UNIX")
    assert not large_linux.any()
    # UnusedBox r7g.medium RHEL is 0.0388 in the file; only the DedicatedUsage rate is kept.
    medium_rhel = (table["instance_type"] == "r7g.medium") & (
        table["platform"] == "Red Hat Enterprise Linux"
    )
    assert table.loc[medium_rhel, "tenancy"].tolist() == ["Dedicated"]
    assert "r7g" not in set(table["instance_type"])  # HostUsage:r7g


def test_region_filter(tmp_path: Path) -> None:
    assert len(read_savings_plans_csv(CSV_FIXTURE, regions=["ap-east-2"]).savings_plans) == 22
    with pytest.raises(PriceFileError, match=r"no EC2 instance .* for region\(s\) us-east-1"):
        read_savings_plans_csv(CSV_FIXTURE, regions=["us-east-1"])
    with pytest.raises(ValueError, match="unknown AWS region 'xx-nowhere-1'"):
        read_savings_plans_csv(CSV_FIXTURE, regions=["xx-nowhere-1"])


def test_gzip_csv_reads_the_same(tmp_path: Path, catalog: PriceCatalog) -> None:
    packed = tmp_path / "index.csv.gz"
    packed.write_bytes(gzip.compress(CSV_FIXTURE.read_bytes()))
    pd.testing.assert_frame_equal(
        read_savings_plans_csv(packed).savings_plans.drop(columns="source"),
        catalog.savings_plans.drop(columns="source"),
    )


def test_quoted_csv_with_crlf_line_ends_reads_the_same(
    tmp_path: Path, catalog: PriceCatalog
) -> None:
    quoted = tmp_path / "quoted.csv"
    with quoted.open("w", newline="") as stream:
        writer = csv.writer(stream, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerows(csv.reader(CSV_LINES))
    assert quoted.read_bytes().startswith(b'"FormatVersion","v1.0"\r\n')
    result = read_savings_plans_csv(quoted)
    pd.testing.assert_frame_equal(
        result.savings_plans.drop(columns="source"), catalog.savings_plans.drop(columns="source")
    )
    assert result.metadata.as_of == date(2025, 9, 11)


def test_json_and_csv_give_identical_catalogs(catalog: PriceCatalog) -> None:
    from_json = read_savings_plans_json(JSON_FIXTURE)
    pd.testing.assert_frame_equal(
        from_json.savings_plans.drop(columns="source"),
        catalog.savings_plans.drop(columns="source"),
    )
    assert from_json.metadata.as_of == catalog.metadata.as_of
    assert "20250911184447" in from_json.metadata.source


def test_json_read_in_tiny_chunks_and_gzipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog: PriceCatalog
) -> None:
    """The incremental JSON reader gives the same rates whatever the chunk boundaries."""
    monkeypatch.setattr(JsonStream, "_CHUNK", 7)
    packed = tmp_path / "index.json.gz"
    packed.write_bytes(gzip.compress(JSON_FIXTURE.read_bytes()))
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps(JSON_DOC, separators=(",", ":")))
    for path in (JSON_FIXTURE, packed, compact):
        pd.testing.assert_frame_equal(
            read_savings_plans_json(path).savings_plans.drop(columns="source"),
            catalog.savings_plans.drop(columns="source"),
        )


# -------------------------------------------------------------------------- CSV variants


def _set(lines: list[str], rate_code: str, column: str, value: str) -> list[str]:
    """Set one cell of the row with ``rate_code`` (the excerpt has no quoted commas)."""
    result = []
    for line in lines:
        if line.startswith(rate_code.split(".")[0]) and rate_code in line:
            cells = line.split(",")
            cells[HEADER.index(column)] = value
            line = ",".join(cells)
        result.append(line)
    return result


def _row(rate_code: str) -> str:
    return next(line for line in CSV_LINES if rate_code in line)


def _write_csv(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "index.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _rename(old: str, new: str) -> Callable[[list[str]], list[str]]:
    return lambda lines: [*lines[:5], lines[5].replace(old, new), *lines[6:]]


CSV_CASES: dict[str, tuple[Callable[[list[str]], list[str]], list[str]]] = {
    "renamed column": (
        _rename("DiscountedRate,", "Rate,"),
        ["missing column(s) DiscountedRate", "pass an unmodified Savings Plans offer CSV"],
    ),
    "missing column": (
        _rename(",Product Family", ",Family"),
        ["missing column(s) Product Family"],
    ),
    "non-USD currency": (
        lambda lines: _set(lines, RHEL_MEDIUM, "Currency", "CNY"),
        ["row 7 (RateCode 2JT7C3ZD2AXA73Q4.23PWZ6X8AQE4NKNR)", "column Currency", "'CNY'", "USD"],
    ),
    "negative rate": (
        lambda lines: _set(lines, UBUNTU_12XL, "DiscountedRate", "-1.2268"),
        ["row 12 (RateCode 2JT7C3ZD2AXA73Q4.2NY8QY787VR5YXVW)", "DiscountedRate", "negative"],
    ),
    "NaN rate": (
        lambda lines: _set(lines, RHEL_MEDIUM, "DiscountedRate", "NaN"),
        ["row 7", "column DiscountedRate", "'NaN' is not a finite number"],
    ),
    "text rate": (
        lambda lines: _set(lines, RHEL_MEDIUM, "DiscountedRate", "n/a"),
        ["row 7", "'n/a' is not a finite number"],
    ),
    "empty rate": (
        lambda lines: _set(lines, RHEL_MEDIUM, "DiscountedRate", ""),
        ["row 7", "column DiscountedRate: the value is missing"],
    ),
    "conflicting duplicate": (
        lambda lines: [
            *lines,
            _row(UBUNTU_12XL)
            .replace("1.2268", "1.5")
            .replace(".2NY8QY787VR5YXVW", ".ZZZZZZZZZZZZZZZZ"),
        ],
        ["row 12 (RateCode 2JT7C3ZD2AXA73Q4.2NY8QY787VR5YXVW) and row 51", "two rates", "1.2268"],
    ),
    "unknown term length": (
        lambda lines: _set(lines, RHEL_MEDIUM, "LeaseContractLength", "2"),
        ["row 7", "LeaseContractLength and LeaseContractLengthUnit", "unknown commitment term"],
    ),
    "unknown term unit": (
        lambda lines: _set(lines, RHEL_MEDIUM, "LeaseContractLengthUnit", "month"),
        ["row 7", "unknown commitment term '3 month'"],
    ),
    "unknown payment option": (
        lambda lines: _set(lines, UBUNTU_12XL, "PurchaseOption", "Heavy Utilization"),
        ["row 12", "column PurchaseOption", "unknown payment option 'Heavy Utilization'"],
    ),
    "unknown plan type": (
        lambda lines: _set(lines, RHEL_MEDIUM, "Product Family", "StorageSavingsPlans"),
        ["row 7", "column Product Family", "unknown Savings Plan type"],
    ),
    "region disagrees with usage type": (
        lambda lines: _set(lines, RHEL_MEDIUM, "DiscountedRegionCode", "ap-east-1"),
        ["row 7", "DiscountedRegionCode", "'ap-east-1'", "region ap-east-2"],
    ),
    "instance type disagrees with usage type": (
        lambda lines: _set(lines, RHEL_MEDIUM, "DiscountedInstanceType", "r7g.large"),
        ["row 7", "DiscountedInstanceType", "instance_type r7g.medium"],
    ),
    "unit is not hours": (
        lambda lines: _set(lines, RHEL_MEDIUM, "Unit", "Quantity"),
        ["row 7", "column Unit", "'Quantity' where 'Hrs' is expected"],
    ),
    "another offer": (
        lambda lines: [*lines[:4], "OfferCode,AmazonEC2", *lines[5:]],
        ["OfferCode is 'AmazonEC2'", "AWSComputeSavingsPlan"],
    ),
    "no publication date": (
        lambda lines: [lines[0], lines[1], *lines[3:]],
        ["no 'Publication Date'"],
    ),
    "no header row": (
        lambda lines: ["a,b,c", "1,2,3"],
        ["no header row starting with SKU", "line 1 is 'a,b,c'"],
    ),
    "truncated mid-row": (
        lambda lines: [*lines[:-1], lines[-1][:60]],
        [
            "cannot parse the CSV (Invalid Input Error: CSV Error on Line: 50; "
            "Expected Number of Columns: 24 Found: 4)",
            "download the Savings Plans offer file again",
        ],
    ),
}


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_bad_csv_names_file_row_column_and_fix(tmp_path: Path, case: str) -> None:
    edit, fragments = CSV_CASES[case]
    path = _write_csv(tmp_path, edit(list(CSV_LINES)))
    with pytest.raises(PriceFileError) as raised:
        read_savings_plans_csv(path)
    message = str(raised.value)
    assert message.startswith(str(path))
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_html_empty_and_truncated_gzip_files(tmp_path: Path) -> None:
    html = tmp_path / "index.csv"
    html.write_text("<!DOCTYPE html><html><body>Access Denied</body></html>")
    with pytest.raises(PriceFileError, match="HTML"):
        read_savings_plans_csv(html)
    with pytest.raises(PriceFileError, match="HTML"):
        read_savings_plans_json(html)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(PriceFileError, match="empty"):
        read_savings_plans_csv(empty)
    packed = gzip.compress(CSV_FIXTURE.read_bytes())
    cut = tmp_path / "index.csv.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(PriceFileError, match="truncated"):
        read_savings_plans_csv(cut)
    with pytest.raises(PriceFileError, match="no such file"):
        read_savings_plans_csv(tmp_path / "absent.csv")


def test_bad_values_on_excluded_rows_do_not_matter(tmp_path: Path) -> None:
    lines = _set(list(CSV_LINES), UNUSED_LARGE, "DiscountedRate", "-5")
    lines = _set(lines, UNUSED_LARGE, "Currency", "CNY")
    assert len(read_savings_plans_csv(_write_csv(tmp_path, lines)).savings_plans) == 22


def test_exact_duplicate_row_is_kept_once(tmp_path: Path) -> None:
    lines = [*CSV_LINES, _row(UBUNTU_12XL).replace(".2NY8QY787VR5YXVW", ".ZZZZZZZZZZZZZZZZ")]
    table = read_savings_plans_csv(_write_csv(tmp_path, lines)).savings_plans
    assert len(table) == 22


def test_unknown_operation_is_skipped_with_a_note(tmp_path: Path) -> None:
    lines = _set(list(CSV_LINES), RHEL_MEDIUM, "DiscountedOperation", "RunInstances:9z9z")
    result = read_savings_plans_csv(_write_csv(tmp_path, lines))
    assert len(result.savings_plans) == 21
    assert len(result.metadata.notes) == 1
    assert "skipped 1 EC2 instance-usage rate" in result.metadata.notes[0]
    assert "APE2-DedicatedUsage:r7g.medium RunInstances:9z9z" in result.metadata.notes[0]


# ------------------------------------------------------------------------- JSON variants


def _rates(doc: dict[str, Any]) -> list[dict[str, Any]]:
    rates: list[dict[str, Any]] = doc["terms"]["savingsPlan"][0]["rates"]
    return rates


def _rate_of(doc: dict[str, Any], rate_code: str) -> dict[str, Any]:
    return next(rate for rate in _rates(doc) if rate["rateCode"] == rate_code)


def _set_price(code: str, price: str) -> Callable[[dict[str, Any]], None]:
    return lambda doc: _rate_of(doc, code)["discountedRate"].update(price=price)


def _rename_rate_field(doc: dict[str, Any]) -> None:
    for rate in _rates(doc):
        rate["rate"] = rate.pop("discountedRate")


def _add_conflict(doc: dict[str, Any]) -> None:
    clash = copy.deepcopy(_rate_of(doc, UBUNTU_12XL))
    clash.update(
        rateCode="2JT7C3ZD2AXA73Q4.ZZZZZZZZZZZZZZZZ",
        discountedRate={"price": "1.5", "currency": "USD"},
    )
    _rates(doc).append(clash)


def _as_ec2_price_list(doc: dict[str, Any]) -> None:
    doc["products"] = {"ABC": {"sku": "ABC"}}
    doc["terms"] = {"OnDemand": {}}


def _drop_terms(doc: dict[str, Any]) -> None:
    doc["terms"] = {"OnDemand": {}}


JSON_CASES: dict[str, tuple[Callable[[dict[str, Any]], None], list[str]]] = {
    "renamed rate field": (
        _rename_rate_field,
        ["savingsPlan 2JT7C3ZD2AXA73Q4", "no field discountedRate.price, discountedRate.currency"],
    ),
    "non-USD currency": (
        lambda doc: _rate_of(doc, RHEL_MEDIUM)["discountedRate"].update(currency="EUR"),
        [f"rate {RHEL_MEDIUM}", "column discountedRate.currency", "'EUR'"],
    ),
    "negative price": (
        _set_price(UBUNTU_12XL, "-0.5"),
        [f"rate {UBUNTU_12XL}", "discountedRate.price", "negative"],
    ),
    "NaN price": (_set_price(UBUNTU_12XL, "NaN"), [f"rate {UBUNTU_12XL}", "not a finite number"]),
    "conflicting duplicate": (
        _add_conflict,
        [f"rate {UBUNTU_12XL} and", "ZZZZZZZZZZZZZZZZ", "two rates (1.2268 USD/h and 1.5 USD/h)"],
    ),
    "unknown term": (
        lambda doc: doc["terms"]["savingsPlan"][0]["leaseContractLength"].update(duration=2),
        ["column leaseContractLength", "unknown commitment term '2 year'"],
    ),
    "missing lease length": (
        lambda doc: doc["terms"]["savingsPlan"][0].pop("leaseContractLength"),
        ["leaseContractLength {duration, unit} is missing"],
    ),
    "unknown payment option": (
        lambda doc: doc["products"][0]["attributes"].update(purchaseOption="Light Utilization"),
        ["column attributes.purchaseOption", "unknown payment option 'Light Utilization'"],
    ),
    "plan without product": (
        lambda doc: doc["products"][0].update(sku="OTHERSKU"),
        ["savingsPlan term 2JT7C3ZD2AXA73Q4 has no product"],
    ),
    "EC2 price list layout": (_as_ec2_price_list, ["products is not a list"]),
    "no savingsPlan terms": (_drop_terms, ["no terms.savingsPlan section"]),
    "no publication date": (lambda doc: doc.pop("publicationDate"), ["no publicationDate"]),
}


@pytest.mark.parametrize("case", list(JSON_CASES))
def test_bad_json_names_file_rate_field_and_fix(tmp_path: Path, case: str) -> None:
    change, fragments = JSON_CASES[case]
    doc = copy.deepcopy(JSON_DOC)
    change(doc)
    path = tmp_path / "index.json"
    path.write_text(json.dumps(doc, indent=2))
    with pytest.raises(PriceFileError) as raised:
        read_savings_plans_json(path)
    message = str(raised.value)
    assert message.startswith(str(path))
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize(
    ("keep", "at"),
    [
        (100, "at character 45"),  # where the unterminated disclaimer string starts
        (9_000, "at character 9,000"),  # inside the rates: where the text ends
    ],
)
def test_truncated_json_is_reported_where_it_ends(tmp_path: Path, keep: int, at: str) -> None:
    path = tmp_path / "index.json"
    path.write_text(JSON_FIXTURE.read_text()[:keep])
    with pytest.raises(PriceFileError, match="malformed or truncated JSON") as raised:
        read_savings_plans_json(path)
    assert f"({at})" in str(raised.value)


def test_malformed_json_is_reported_where_it_breaks(tmp_path: Path) -> None:
    text = JSON_FIXTURE.read_text()
    broken = text.replace('"unit": "Hrs",', '"unit": "Hrs"', 1)  # a comma missing
    path = tmp_path / "index.json"
    path.write_text(broken)
    with pytest.raises(PriceFileError, match="Expecting ',' delimiter") as raised:
        read_savings_plans_json(path)
    expected = text.index('"unit": "Hrs",') + len('"unit": "Hrs"') + 13  # newline + indent
    assert f"(at character {expected:,})" in str(raised.value)


def test_json_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "index.json"
    path.write_text("[1, 2, 3]")
    with pytest.raises(PriceFileError, match="not a JSON object"):
        read_savings_plans_json(path)
    packed = gzip.compress(JSON_FIXTURE.read_bytes())
    cut = tmp_path / "index.json.gz"
    cut.write_bytes(packed[: len(packed) - 40])
    with pytest.raises(PriceFileError, match="truncated or corrupt"):
        read_savings_plans_json(cut)
