"""Tests of the AWS Price List bulk EC2 offer CSV reader, on a real excerpt and broken variants."""

from __future__ import annotations

import csv
import gzip
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pricing.catalog import PriceCatalog
from pricing.errors import PriceFileError
from pricing.readers.price_list_csv import read_price_list_csv

FIXTURE = (
    Path(__file__).parents[2] / "data" / "pricing" / "ec2priceit_3-global-pricing-file-sample.csv"
)
C6I = ("ap-northeast-1", "c6i.large", "Windows with SQL Server Web", "Dedicated")
M6ID = ("ca-central-1", "m6id.2xlarge", "Windows with SQL Server Standard", "Shared")
FIRST_DATA_LINE = 7  # 5 preamble lines, the header, then data


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return read_price_list_csv(FIXTURE)


def reserved(
    catalog: PriceCatalog, key: tuple[str, ...], cls: str, years: int, payment: str
) -> tuple[float, float]:
    table = catalog.reserved
    row = table.loc[
        (table["region"] == key[0])
        & (table["instance_type"] == key[1])
        & (table["platform"] == key[2])
        & (table["tenancy"] == key[3])
        & (table["offering_class"] == cls)
        & (table["term_years"] == years)
        & (table["payment_option"] == payment)
    ]
    assert len(row) == 1, (key, cls, years, payment)
    return float(row["upfront_usd"].iloc[0]), float(row["recurring_usd_per_hour"].iloc[0])


def test_metadata_from_the_preamble(catalog: PriceCatalog) -> None:
    assert catalog.metadata.source == "AWS Price List bulk CSV AmazonEC2 20250912225308"
    assert catalog.metadata.as_of == date(2025, 9, 12)
    assert catalog.metadata.currency == "USD"


def test_upfront_fee_and_hourly_rows_are_combined(catalog: PriceCatalog) -> None:
    assert reserved(catalog, C6I, "standard", 3, "Partial Upfront") == (2750.0, 0.10463)
    assert reserved(catalog, M6ID, "standard", 3, "Partial Upfront") == (20231.0, 0.76984)


C6I_TERMS = [
    ("standard", 1, "No Upfront", 0.0, 0.23722),
    ("standard", 1, "Partial Upfront", 1023.0, 0.11676),
    ("standard", 1, "All Upfront", 2033.0, 0.0),
    ("standard", 3, "No Upfront", 0.0, 0.21324),
    ("standard", 3, "Partial Upfront", 2750.0, 0.10463),
    ("standard", 3, "All Upfront", 5421.0, 0.0),
    ("convertible", 1, "No Upfront", 0.0, 0.24895),
    ("convertible", 1, "Partial Upfront", 1072.0, 0.12235),
    ("convertible", 1, "All Upfront", 2129.0, 0.0),
    ("convertible", 3, "No Upfront", 0.0, 0.22087),
    ("convertible", 3, "Partial Upfront", 2843.0, 0.10817),
    ("convertible", 3, "All Upfront", 5655.0, 0.0),
]


@pytest.mark.parametrize(("cls", "years", "payment", "upfront", "hourly"), C6I_TERMS)
def test_all_twelve_c6i_offerings(
    catalog: PriceCatalog, cls: str, years: int, payment: str, upfront: float, hourly: float
) -> None:
    assert reserved(catalog, C6I, cls, years, payment) == (upfront, hourly)
    hours = 8760 if years == 1 else 26280
    keys = pd.DataFrame([C6I], columns=["region", "instance_type", "platform", "tenancy"])
    effective = catalog.reserved_rates(keys, cls, years, payment)[0]
    assert effective == pytest.approx(upfront / hours + hourly, rel=1e-12)


def test_m6id_offerings_in_the_excerpt(catalog: PriceCatalog) -> None:
    m6id = catalog.reserved.loc[catalog.reserved["instance_type"] == "m6id.2xlarge"]
    got = {
        (r.offering_class, r.term_years, r.payment_option): (
            r.upfront_usd,
            r.recurring_usd_per_hour,
        )
        for r in m6id.itertuples()
    }
    assert got == {
        ("standard", 3, "Partial Upfront"): (20231.0, 0.76984),
        ("standard", 1, "No Upfront"): (0.0, 1.6614),
        ("standard", 1, "All Upfront"): (14359.0, 0.0),
        ("convertible", 1, "No Upfront"): (0.0, 1.71777),
        ("standard", 3, "No Upfront"): (0.0, 1.55661),
        ("convertible", 1, "Partial Upfront"): (7443.0, 0.8496),
    }


def test_incomplete_last_term_is_skipped_and_noted(catalog: PriceCatalog) -> None:
    # The excerpt ends on the Hrs row of m6id 1-year standard Partial Upfront, without its fee.
    m6id = catalog.reserved.loc[catalog.reserved["instance_type"] == "m6id.2xlarge"]
    partial_1yr_standard = (
        (m6id["offering_class"] == "standard")
        & (m6id["term_years"] == 1)
        & (m6id["payment_option"] == "Partial Upfront")
    )
    assert not partial_1yr_standard.any()
    assert any("1 incomplete reserved terms" in note for note in catalog.metadata.notes)


def test_on_demand_rates(catalog: PriceCatalog) -> None:
    got = {
        (r.region, r.instance_type, r.platform, r.tenancy): r.on_demand_usd_per_hour
        for r in catalog.on_demand.itertuples()
    }
    assert got == {
        C6I: 0.2773,
        ("eu-central-1", "r7i.2xlarge", "Windows BYOL", "Dedicated"): 0.70224,
        (
            "us-east-1",
            "c5d.2xlarge",
            "Red Hat Enterprise Linux with SQL Server Web",
            "Shared",
        ): 0.634,
    }


def test_hosts_capacity_reservations_and_local_zones_are_excluded(catalog: PriceCatalog) -> None:
    types = set(catalog.on_demand["instance_type"]) | set(catalog.reserved["instance_type"])
    # Dedicated Host rows (c6g.4xlarge, m7i.16xlarge), capacity reservations (i4i.4xlarge,
    # g5.48xlarge, c6id.xlarge, i3en.xlarge, r6i.2xlarge, m7i-flex.xlarge, i3en.metal,
    # m6id.4xlarge) and the New York Local Zone (c7i.metal-24xl) are all left out.
    assert types == {"c6i.large", "m6id.2xlarge", "r7i.2xlarge", "c5d.2xlarge"}
    assert set(catalog.on_demand["tenancy"]) == {"Shared", "Dedicated"}


def test_region_filter() -> None:
    only = read_price_list_csv(FIXTURE, regions=["ca-central-1"])
    assert set(only.reserved["region"]) == {"ca-central-1"}
    assert only.on_demand.empty
    with pytest.raises(PriceFileError, match="no EC2 instance prices for region"):
        read_price_list_csv(FIXTURE, regions=["eu-west-3"])


def test_gzip_and_progress(tmp_path: Path, catalog: PriceCatalog) -> None:
    packed = tmp_path / "index.csv.gz"
    with FIXTURE.open("rb") as source, gzip.open(packed, "wb") as target:
        shutil.copyfileobj(source, target)
    calls: list[tuple[int, int | None]] = []
    again = read_price_list_csv(packed, progress=lambda done, total: calls.append((done, total)))
    pd.testing.assert_frame_equal(again.reserved, catalog.reserved)
    pd.testing.assert_frame_equal(again.on_demand, catalog.on_demand)
    size = packed.stat().st_size
    assert calls[0] == (0, size)
    assert calls[-1] == (size, size)


# --------------------------------------------------------------------------- variants


def rows_of_fixture() -> list[list[str]]:
    with FIXTURE.open(newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


def write_variant(tmp_path: Path, edit: Callable[[list[list[str]]], None]) -> Path:
    rows = rows_of_fixture()
    edit(rows)
    path = tmp_path / "variant.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return path


def column(rows: list[list[str]], name: str) -> int:
    return rows[5].index(name)


def find_row(rows: list[list[str]], sku: str, term: str, unit: str) -> int:
    """Index (0-based, so the CSV line is index + 1) of a data row."""
    unit_at = column(rows, "Unit")
    for index, row in enumerate(rows[6:], start=6):
        if row[0] == sku and row[1] == term and row[unit_at] == unit:
            return index
    raise AssertionError((sku, term, unit))


C6I_SKU = "2223B6PCG6QAUYY6"


def test_identical_duplicate_rows_are_fine(tmp_path: Path, catalog: PriceCatalog) -> None:
    path = write_variant(tmp_path, lambda rows: rows.extend([list(r) for r in rows[6:20]]))
    again = read_price_list_csv(path)
    pd.testing.assert_frame_equal(again.reserved, catalog.reserved)
    pd.testing.assert_frame_equal(again.on_demand, catalog.on_demand)


def test_identical_prices_under_another_sku_are_fine(tmp_path: Path, catalog: PriceCatalog) -> None:
    def edit(rows: list[list[str]]) -> None:
        copies = [list(r) for r in rows[6:27] if r[0] == C6I_SKU]
        for copy in copies:
            copy[0] = "ZZZZZZZZZZZZZZZZ"
        rows.extend(copies)

    again = read_price_list_csv(write_variant(tmp_path, edit))
    pd.testing.assert_frame_equal(again.reserved, catalog.reserved)


def test_unmodelled_platform_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    def edit(rows: list[list[str]]) -> None:
        index = find_row(rows, "2223RRAP6Z3VBN3N", "JRTCKXETXF", "Hrs")
        rows[index][column(rows, "operation")] = "RunInstances:9999"

    result = read_price_list_csv(write_variant(tmp_path, edit))
    assert "c5d.2xlarge" not in set(result.on_demand["instance_type"])
    assert any(
        "skipped 1 price rows" in note and "RunInstances:9999" in note
        for note in result.metadata.notes
    )


def rename_price_column(rows: list[list[str]]) -> None:
    rows[5][column(rows, "PricePerUnit")] = "Price Per Unit"


def euro_row(rows: list[list[str]]) -> None:
    rows[find_row(rows, C6I_SKU, "JRTCKXETXF", "Hrs")][column(rows, "Currency")] = "EUR"


def negative_fee(rows: list[list[str]]) -> None:
    rows[find_row(rows, C6I_SKU, "38NPMPTW36", "Quantity")][column(rows, "PricePerUnit")] = "-2750"


def nan_price(rows: list[list[str]]) -> None:
    rows[find_row(rows, C6I_SKU, "4NA7Y494T4", "Hrs")][column(rows, "PricePerUnit")] = "NaN"


def blank_price(rows: list[list[str]]) -> None:
    rows[find_row(rows, C6I_SKU, "4NA7Y494T4", "Hrs")][column(rows, "PricePerUnit")] = ""


def conflicting_on_demand(rows: list[list[str]]) -> None:
    copy = list(rows[find_row(rows, C6I_SKU, "JRTCKXETXF", "Hrs")])
    copy[0] = "ZZZZZZZZZZZZZZZZ"
    copy[column(rows, "PricePerUnit")] = "0.3000000000"
    rows.append(copy)


def conflicting_reserved_key(rows: list[list[str]]) -> None:
    copies = [list(r) for r in rows[6:] if r[0] == C6I_SKU and r[1] == "38NPMPTW36"]
    for copy in copies:
        copy[0] = "ZZZZZZZZZZZZZZZZ"
        if copy[column(rows, "Unit")] == "Quantity":
            copy[column(rows, "PricePerUnit")] = "2751"
    rows.extend(copies)


def conflicting_same_term(rows: list[list[str]]) -> None:
    copy = list(rows[find_row(rows, C6I_SKU, "38NPMPTW36", "Quantity")])
    copy[column(rows, "PricePerUnit")] = "2000"
    rows.append(copy)


def region_code_contradiction(rows: list[list[str]]) -> None:
    rows[find_row(rows, C6I_SKU, "JRTCKXETXF", "Hrs")][column(rows, "Region Code")] = "us-west-2"


def another_offer(rows: list[list[str]]) -> None:
    rows[4][1] = "AmazonRDS"


def ragged_row(rows: list[list[str]]) -> None:
    rows[10] = rows[10][:40]


def no_data_rows(rows: list[list[str]]) -> None:
    del rows[6:]


BROKEN: list[tuple[Callable[[list[list[str]]], None], list[str]]] = [
    (rename_price_column, ["missing column(s) PricePerUnit", "found: SKU, OfferTermCode"]),
    (euro_row, ["line 18 ", "priced in 'EUR'", "USD only"]),
    (negative_fee, ["line 8 ", "price '-2750'", "Unit Quantity"]),
    (nan_price, ["line 9 ", "price 'NaN'"]),
    (blank_price, ["line 9 ", "has price '', not a finite number"]),
    (
        conflicting_on_demand,
        [
            "conflicting on-demand prices for ap-northeast-1 c6i.large",
            "line 18 (SKU 2223B6PCG6QAUYY6",
            "line 51 (SKU ZZZZZZZZZZZZZZZZ",
            "0.2773",
            "0.3 USD/h",
        ],
    ),
    (
        conflicting_reserved_key,
        ["conflicting reserved prices", "standard 3yr Partial Upfront", "2750.0 USD", "2751.0 USD"],
    ),
    (conflicting_same_term, ["line 8 ", "listed twice with prices 2000.0 and 2750.0"]),
    (region_code_contradiction, ["line 18 ", "Region Code 'us-west-2' contradicts"]),
    (another_offer, ["line 5 names offer 'AmazonRDS'"]),
    (ragged_row, ["cannot parse the CSV: line 11: Expected Number of Columns: 91 Found: 40"]),
    (no_data_rows, ["no EC2 instance prices found"]),
]


@pytest.mark.parametrize(("edit", "phrases"), BROKEN, ids=[edit.__name__ for edit, _ in BROKEN])
def test_broken_variants_give_one_clear_error(
    tmp_path: Path, edit: Callable[[list[list[str]]], None], phrases: list[str]
) -> None:
    path = write_variant(tmp_path, edit)
    with pytest.raises(PriceFileError) as caught:
        read_price_list_csv(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert "\n" not in message
    for phrase in phrases:
        assert phrase in message, (phrase, message)


def test_html_page(tmp_path: Path) -> None:
    page = tmp_path / "index.csv"
    page.write_text("<!DOCTYPE html>\n<html><body>Access Denied</body></html>\n")
    with pytest.raises(PriceFileError, match="HTML"):
        read_price_list_csv(page)


def test_truncated_gzip(tmp_path: Path) -> None:
    packed = gzip.compress(FIXTURE.read_bytes())
    cut = tmp_path / "index.csv.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(PriceFileError, match="truncated"):
        read_price_list_csv(cut)


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "index.csv"
    empty.write_bytes(b"")
    with pytest.raises(PriceFileError, match="empty"):
        read_price_list_csv(empty)


def test_not_a_price_list(tmp_path: Path) -> None:
    other = tmp_path / "cur.csv"
    other.write_text("identity/LineItemId,lineItem/UsageType\nabc,BoxUsage:m5.large\n")
    with pytest.raises(PriceFileError, match="FormatVersion"):
        read_price_list_csv(other)
