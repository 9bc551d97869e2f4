"""CUR pricing columns as a price catalog, on a trimmed copy of a real hourly CUR (Oct 2018)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pricing.catalog import PriceCatalog
from pricing.errors import PriceFileError
from pricing.readers.cur_rates import normalise_column_name, read_cur_rates

DATA = Path(__file__).resolve().parents[2] / "data" / "cur"
CUR = DATA / "wal_Oct2018-WorkshopCUR-ec2-trimmed.zstd.parquet"
LEGACY_HEAD = DATA / "focusconv_legacy-cur_2023-11_head20.csv.gz"

# Legacy (slash) spelling of each column of the trimmed fixture, as AWS writes them in CUR CSVs.
LEGACY_NAMES = {
    "bill_billing_period_start_date": "bill/BillingPeriodStartDate",
    "bill_billing_period_end_date": "bill/BillingPeriodEndDate",
    "line_item_line_item_type": "lineItem/LineItemType",
    "line_item_usage_start_date": "lineItem/UsageStartDate",
    "line_item_usage_end_date": "lineItem/UsageEndDate",
    "line_item_product_code": "lineItem/ProductCode",
    "line_item_usage_type": "lineItem/UsageType",
    "line_item_operation": "lineItem/Operation",
    "line_item_availability_zone": "lineItem/AvailabilityZone",
    "line_item_usage_amount": "lineItem/UsageAmount",
    "line_item_currency_code": "lineItem/CurrencyCode",
    "line_item_unblended_rate": "lineItem/UnblendedRate",
    "line_item_line_item_description": "lineItem/LineItemDescription",
    "pricing_public_on_demand_rate": "pricing/publicOnDemandRate",
    "pricing_lease_contract_length": "pricing/LeaseContractLength",
    "pricing_offering_class": "pricing/OfferingClass",
    "pricing_purchase_option": "pricing/PurchaseOption",
    "pricing_term": "pricing/term",
    "reservation_effective_cost": "reservation/EffectiveCost",
    "reservation_start_time": "reservation/StartTime",
    "reservation_end_time": "reservation/EndTime",
    "reservation_number_of_reservations": "reservation/NumberOfReservations",
    "reservation_upfront_value": "reservation/UpfrontValue",
    "reservation_reservation_a_r_n": "reservation/ReservationARN",
    "product_region": "product/region",
    "product_instance_type": "product/instanceType",
    "product_operating_system": "product/operatingSystem",
    "product_pre_installed_sw": "product/preInstalledSw",
    "product_license_model": "product/licenseModel",
    "product_tenancy": "product/tenancy",
}


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return read_cur_rates([CUR])


def _od(catalog: PriceCatalog, region: str, instance_type: str, platform: str) -> float:
    keys = pd.DataFrame(
        [
            {
                "region": region,
                "instance_type": instance_type,
                "platform": platform,
                "tenancy": "Shared",
            }
        ]
    )
    return float(catalog.on_demand_rates(keys)[0])


def _ri(
    catalog: PriceCatalog,
    instance_type: str,
    platform: str,
    payment: str,
    offering_class: str = "standard",
) -> pd.Series:
    table = catalog.reserved
    row = table.loc[
        (table["region"] == "us-east-1")
        & (table["instance_type"] == instance_type)
        & (table["platform"] == platform)
        & (table["tenancy"] == "Shared")
        & (table["offering_class"] == offering_class)
        & (table["term_years"] == 1)
        & (table["payment_option"] == payment)
    ]
    assert len(row) == 1, row
    return row.iloc[0]


# ---------------------------------------------------------------------------------- on-demand


def test_on_demand_rates_of_the_real_cur(catalog: PriceCatalog) -> None:
    assert _od(catalog, "us-east-1", "c5.large", "Linux/UNIX") == pytest.approx(0.085)
    assert _od(catalog, "us-east-1", "m5.large", "Windows") == pytest.approx(0.188)
    assert _od(catalog, "eu-west-2", "t2.micro", "Linux/UNIX") == pytest.approx(0.0132)
    assert _od(catalog, "us-east-1", "t2.nano", "Linux/UNIX") == pytest.approx(0.0058)
    assert _od(catalog, "us-east-1", "t2.micro", "Windows") == pytest.approx(0.0162)
    assert _od(catalog, "us-east-1", "t3.micro", "Windows") == pytest.approx(0.0196)
    assert len(catalog.on_demand) == 9
    assert catalog.on_demand["tenancy"].eq("Shared").all()


def test_free_tier_rows_still_give_the_public_rate(catalog: PriceCatalog) -> None:
    # The eu-west-2 t2.micro rows are free tier (unblended rate 0); the public rate is 0.0132.
    with duckdb.connect() as connection:
        rates = connection.execute(
            f"SELECT DISTINCT line_item_unblended_rate FROM '{CUR}' "
            "WHERE line_item_usage_type = 'EUW2-BoxUsage:t2.micro'"
        ).fetchall()
    assert [float(rate) for (rate,) in rates] == [0.0]
    assert _od(catalog, "eu-west-2", "t2.micro", "Linux/UNIX") == pytest.approx(0.0132)


def test_source_and_as_of(catalog: PriceCatalog) -> None:
    assert set(catalog.on_demand["source"]) == {f"CUR {CUR.name}"}
    assert set(catalog.reserved["source"]) == {f"CUR {CUR.name}"}
    assert catalog.metadata.source == f"CUR {CUR.name}"
    assert catalog.metadata.as_of.isoformat() == "2018-11-01"
    assert catalog.metadata.currency == "USD"
    assert catalog.metadata.notes == ()


# ---------------------------------------------------------------------------------- RIs


def test_reserved_instances_from_ri_fees(catalog: PriceCatalog) -> None:
    c5 = _ri(catalog, "c5.large", "Linux/UNIX", "Partial Upfront")
    # One RIFee line for two RIs with upfront value 446: 223 per RI.
    assert c5["upfront_usd"] == pytest.approx(223.0)
    assert c5["recurring_usd_per_hour"] == pytest.approx(0.026)
    windows = _ri(catalog, "m5.large", "Windows", "Partial Upfront")
    assert windows["upfront_usd"] == pytest.approx(659.0)
    assert windows["recurring_usd_per_hour"] == pytest.approx(0.075)
    micro = _ri(catalog, "t2.micro", "Linux/UNIX", "No Upfront")
    assert micro["upfront_usd"] == 0.0
    assert micro["recurring_usd_per_hour"] == pytest.approx(0.0072)
    # Three t2.micro Partial Upfront RIs, upfront value 90.
    partial = _ri(catalog, "t2.micro", "Linux/UNIX", "Partial Upfront")
    assert partial["upfront_usd"] == pytest.approx(30.0)
    # The convertible No Upfront t2.micro RI is told apart by its DiscountedUsage rows.
    convertible = _ri(catalog, "t2.micro", "Linux/UNIX", "No Upfront", "convertible")
    assert convertible["recurring_usd_per_hour"] == pytest.approx(0.0083)
    # The unused c4.large RI has no DiscountedUsage rows: payment and term from its fee line.
    unused = _ri(catalog, "c4.large", "Linux/UNIX", "Partial Upfront")
    assert unused["upfront_usd"] == pytest.approx(263.0)
    assert unused["recurring_usd_per_hour"] == pytest.approx(0.03)
    assert len(catalog.reserved) == 9
    assert catalog.reserved["term_years"].eq(1).all()


def test_ri_effective_rates_match_the_discounted_usage_rows(catalog: PriceCatalog) -> None:
    """AWS's own amortisation: reservation_effective_cost ÷ usage of each RI's DiscountedUsage."""
    with duckdb.connect() as connection:
        applied = connection.execute(
            f"""
            SELECT line_item_usage_type, line_item_operation, pricing_offering_class,
                   pricing_purchase_option,
                   sum(reservation_effective_cost) / sum(line_item_usage_amount) AS rate
            FROM '{CUR}' WHERE line_item_line_item_type = 'DiscountedUsage'
            GROUP BY ALL
            """
        ).df()
    expected = {
        ("BoxUsage:c5.large", "RunInstances", "standard", "Partial Upfront"): 0.051457,
        ("BoxUsage:m5.large", "RunInstances:0002", "standard", "Partial Upfront"): 0.150228,
        ("BoxUsage:t2.micro", "RunInstances", "standard", "No Upfront"): 0.0072,
        ("BoxUsage:t2.micro", "RunInstances", "standard", "Partial Upfront"): 0.006825,
        ("BoxUsage:t2.nano", "RunInstances", "standard", "Partial Upfront"): 0.003412,
        ("BoxUsage:t2.micro", "RunInstances:0002", "standard", "No Upfront"): 0.0118,
    }
    by_key = applied.set_index(
        [
            "line_item_usage_type",
            "line_item_operation",
            "pricing_offering_class",
            "pricing_purchase_option",
        ]
    )["rate"]
    platforms = {"RunInstances": "Linux/UNIX", "RunInstances:0002": "Windows"}
    for (usage_type, operation, offering_class, payment), rate in expected.items():
        observed = by_key.loc[(usage_type, operation, offering_class, payment)]
        assert observed == pytest.approx(rate, abs=1e-6)
        row = _ri(catalog, usage_type.split(":")[1], platforms[operation], payment, offering_class)
        assert row["effective_usd_per_hour"] == pytest.approx(observed, rel=1e-5)


def test_ri_bought_twice_at_different_prices_keeps_the_latest(tmp_path: Path) -> None:
    """A second c5.large RI, bought later at another price: the later price wins, with a note."""
    table = pq.read_table(CUR).to_pandas()
    fee = table.loc[
        (table["line_item_line_item_type"] == "RIFee")
        & (table["line_item_usage_type"] == "HeavyUsage:c5.large")
    ].copy()
    fee["reservation_reservation_a_r_n"] = "arn:aws:ec2:us-east-1:1:reserved-instances/later"
    fee["reservation_start_time"] = "2018-09-01T00:00:00.000Z"
    fee["reservation_end_time"] = "2019-08-31T23:59:59.000Z"
    fee["reservation_upfront_value"] = 210.0
    fee["reservation_number_of_reservations"] = "1"
    fee["line_item_unblended_rate"] = "0.0240000000"
    earlier = fee.copy()
    earlier["reservation_reservation_a_r_n"] = "arn:aws:ec2:us-east-1:1:reserved-instances/earlier"
    earlier["reservation_start_time"] = "2017-12-01T00:00:00.000Z"
    earlier["reservation_end_time"] = "2018-11-30T23:59:59.000Z"
    earlier["reservation_upfront_value"] = 240.0
    earlier["line_item_unblended_rate"] = "0.0280000000"
    path = tmp_path / "cur.parquet"
    pd.concat([table, fee, earlier]).to_parquet(path)
    catalog = read_cur_rates([path])
    row = _ri(catalog, "c5.large", "Linux/UNIX", "Partial Upfront")
    assert row["upfront_usd"] == pytest.approx(210.0)
    assert row["recurring_usd_per_hour"] == pytest.approx(0.024)
    assert any("several prices" in note and "c5.large" in note for note in catalog.metadata.notes)


# ---------------------------------------------------------------------------------- layouts


def test_legacy_slash_names_in_csv_gz_give_the_same_catalog(
    tmp_path: Path, catalog: PriceCatalog
) -> None:
    for athena, legacy in LEGACY_NAMES.items():
        assert normalise_column_name(legacy) == athena
    columns = ", ".join(
        f"strftime({name}, '%Y-%m-%dT%H:%M:%SZ') AS \"{LEGACY_NAMES[name]}\""
        if name.endswith("_date")
        else f'{name} AS "{LEGACY_NAMES[name]}"'
        for name in LEGACY_NAMES
    )
    path = tmp_path / "legacy-cur-00001.csv.gz"
    with duckdb.connect() as connection:
        connection.execute(
            f"COPY (SELECT {columns} FROM '{CUR}') TO '{path}' (HEADER, COMPRESSION gzip)"
        )
    legacy = read_cur_rates([str(tmp_path / "*.csv.gz")])
    pd.testing.assert_frame_equal(
        legacy.on_demand.drop(columns="source"), catalog.on_demand.drop(columns="source")
    )
    pd.testing.assert_frame_equal(
        legacy.reserved.drop(columns="source"), catalog.reserved.drop(columns="source")
    )
    assert legacy.metadata.as_of == catalog.metadata.as_of
    assert set(legacy.on_demand["source"]) == {"CUR legacy-cur-00001.csv.gz"}


def test_several_files_and_folders(tmp_path: Path, catalog: PriceCatalog) -> None:
    table = pq.read_table(CUR)
    first = table.filter(
        pa.compute.less(table["line_item_usage_start_date"], pa.scalar(pd.Timestamp("2018-10-16")))
    )
    second = table.filter(
        pa.compute.greater_equal(
            table["line_item_usage_start_date"], pa.scalar(pd.Timestamp("2018-10-16"))
        )
    )
    pq.write_table(first, tmp_path / "part-1.parquet")
    pq.write_table(second, tmp_path / "part-2.parquet")
    both = read_cur_rates([tmp_path])
    pd.testing.assert_frame_equal(
        both.on_demand.drop(columns="source"), catalog.on_demand.drop(columns="source")
    )
    assert both.metadata.source == "CUR part-1.parquet … part-2.parquet (2 files)"
    # t2.large runs only from 15 October on; its rate comes from the part that bills it.
    sources = both.on_demand.set_index("instance_type")["source"]
    assert sources["t2.large"] == "CUR part-2.parquet"


def _cur2_savings_plans(path: Path, rates: list[float]) -> None:
    """A small CUR 2.0-style Parquet with SavingsPlanCoveredUsage rows (AWS's column names)."""
    hours = pd.date_range("2024-03-01", periods=len(rates), freq="h")
    n = len(rates)
    product = pa.array(
        [[("region", "us-east-1"), ("instance_type", "m5.large")]] * n,
        type=pa.map_(pa.string(), pa.string()),
    )
    table = pa.table(
        {
            "bill_billing_period_start_date": pa.array([pd.Timestamp("2024-03-01")] * n),
            "bill_billing_period_end_date": pa.array([pd.Timestamp("2024-04-01")] * n),
            "line_item_line_item_type": ["SavingsPlanCoveredUsage"] * (n - 1) + ["Usage"],
            "line_item_product_code": ["AmazonEC2"] * n,
            "line_item_usage_type": ["USE2-BoxUsage:m5.large"] * (n - 1) + ["BoxUsage:c5.large"],
            "line_item_operation": ["RunInstances"] * n,
            "line_item_usage_start_date": pa.array(hours),
            "line_item_usage_end_date": pa.array(hours + pd.Timedelta(hours=1)),
            "line_item_usage_amount": [1.0] * n,
            "line_item_currency_code": ["USD"] * n,
            "line_item_unblended_rate": ["0.0"] * (n - 1) + ["0.085"],
            "pricing_public_on_demand_rate": ["0.096"] * (n - 1) + ["0.085"],
            "product": product,
            "savings_plan_savings_plan_a_r_n": [
                "arn:aws:savingsplans::123456789012:savingsplan/6b1f4c62-ab12-4c0e-9c3a-000000000001"
            ]
            * (n - 1)
            + [""],
            "savings_plan_savings_plan_rate": [str(rate) for rate in rates[:-1]] + [""],
            "savings_plan_offering_type": ["ComputeSavingsPlans"] * (n - 1) + [""],
            "savings_plan_purchase_term": ["1yr"] * (n - 1) + [""],
            "savings_plan_payment_option": ["No Upfront"] * (n - 1) + [""],
        }
    )
    pq.write_table(table, path)


def test_savings_plans_rates_from_cur2_columns(tmp_path: Path) -> None:
    path = tmp_path / "cur2-00001.snappy.parquet"
    _cur2_savings_plans(path, [0.068, 0.068, 0.068, 0.0])
    catalog = read_cur_rates([path])
    plans = catalog.savings_plans
    assert len(plans) == 1
    row = plans.iloc[0]
    assert (row["region"], row["instance_type"], row["platform"], row["tenancy"]) == (
        "us-east-2",
        "m5.large",
        "Linux/UNIX",
        "Shared",
    )
    assert (row["plan_type"], row["term_years"], row["payment_option"]) == (
        "compute",
        1,
        "No Upfront",
    )
    assert row["sp_hourly_usd"] == pytest.approx(0.068)
    assert row["source"] == "CUR cur2-00001.snappy.parquet"
    assert _od(catalog, "us-east-2", "m5.large", "Linux/UNIX") == pytest.approx(0.096)
    assert _od(catalog, "us-east-1", "c5.large", "Linux/UNIX") == pytest.approx(0.085)
    assert catalog.metadata.as_of.isoformat() == "2024-04-01"
    assert catalog.reserved.empty


def test_savings_plans_rate_that_changes_keeps_the_latest(tmp_path: Path) -> None:
    path = tmp_path / "cur2.parquet"
    _cur2_savings_plans(path, [0.070, 0.069, 0.066, 0.0])
    catalog = read_cur_rates([path])
    assert catalog.savings_plans["sp_hourly_usd"].tolist() == pytest.approx([0.066])
    assert any("several rates" in note for note in catalog.metadata.notes)


def test_on_demand_rate_that_changes_keeps_the_latest_with_a_note(tmp_path: Path) -> None:
    table = pq.read_table(CUR).to_pandas()
    late = (table["line_item_usage_type"] == "BoxUsage:c5.large") & (
        table["line_item_usage_start_date"] >= pd.Timestamp("2018-10-31")
    )
    table.loc[late, "pricing_public_on_demand_rate"] = "0.0900000000"
    path = tmp_path / "cur.parquet"
    table.to_parquet(path)
    catalog = read_cur_rates([path])
    assert _od(catalog, "us-east-1", "c5.large", "Linux/UNIX") == pytest.approx(0.09)
    assert _od(catalog, "us-east-1", "m5.large", "Windows") == pytest.approx(0.188)
    notes = [note for note in catalog.metadata.notes if note.startswith("on-demand")]
    assert len(notes) == 1 and "c5.large" in notes[0] and "0.085" in notes[0]


# ---------------------------------------------------------------------------------- bad input


def test_not_a_cur_names_needed_and_found_columns(tmp_path: Path) -> None:
    path = tmp_path / "focus.csv"
    path.write_text("BilledCost,ChargeType,ServiceName\n1.0,Usage,Amazon EC2\n")
    with pytest.raises(PriceFileError) as caught:
        read_cur_rates([path])
    message = str(caught.value)
    assert "missing column(s) line_item_line_item_type" in message
    assert "pricing_public_on_demand_rate" in message
    assert "found: billed_cost, charge_type, service_name" in message
    assert "\n" not in message


def test_real_legacy_cur_without_ec2_is_refused(tmp_path: Path) -> None:
    """A real legacy CUR (slash names, S3/CloudTrail only): readable, but no EC2 instance rows."""
    with pytest.raises(PriceFileError, match="no EC2 instance rows"):
        read_cur_rates([LEGACY_HEAD])


def test_non_usd_cur_is_refused(tmp_path: Path) -> None:
    table = pq.read_table(CUR).to_pandas()
    table["line_item_currency_code"] = "EUR"
    path = tmp_path / "eur.parquet"
    table.to_parquet(path)
    with pytest.raises(PriceFileError, match=r"billed in EUR .*not USD"):
        read_cur_rates([path])


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.parquet", b"", "empty"),
        ("page.csv", b"<!DOCTYPE html><html><body>Sign in</body></html>", "HTML"),
        ("broken.parquet", b"PAR1 not really parquet", "truncated or corrupt.*footer"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(PriceFileError, match=message):
        read_cur_rates([path])


def test_missing_file_and_empty_glob(tmp_path: Path) -> None:
    with pytest.raises(PriceFileError, match="no such file"):
        read_cur_rates([tmp_path / "absent.parquet"])
    with pytest.raises(PriceFileError, match="no file matches"):
        read_cur_rates([str(tmp_path / "*.parquet")])


def test_usage_rows_only_of_other_services(tmp_path: Path) -> None:
    table = pq.read_table(CUR).to_pandas()
    table["line_item_product_code"] = "AmazonRDS"
    path = tmp_path / "rds.parquet"
    table.to_parquet(path)
    with pytest.raises(PriceFileError, match="no EC2 instance rows"):
        read_cur_rates([path])


def test_fixture_is_small_and_real() -> None:
    assert CUR.stat().st_size < 1_000_000
    rows = pq.read_metadata(CUR).num_rows
    assert rows == 18_755
    assert np.isclose(
        pq.read_table(CUR, columns=["reservation_upfront_value"]).column(0).to_pandas().sum(),
        1548.0,
    )
