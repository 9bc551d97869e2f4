"""ec2instances.info reader: the real 2017 dump, the 2026 format, AWS Pricing Calculator figures."""

from __future__ import annotations

import copy
import gzip
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import CommitoptInputError
from pricing.catalog import KEY_COLUMNS, CatalogMetadata, PriceCatalog
from pricing.errors import PriceFileError
from pricing.offerings import PAYMENT_OPTIONS, TERM_HOURS
from pricing.readers.ec2instances_info import read_ec2instances_info, split_effective_hourly

DATA = Path(__file__).resolve().parents[2] / "data" / "pricing"
DUMP_2017 = DATA / "ec2instancesinfo_instances_2017-11-12_trimmed.json.gz"
MOCK_2026 = DATA / "ec2instancesinfo_mock_x2iedn.32xlarge_2026.json"
CALCULATOR = DATA / "ec2priceit_aws-calculator-output.md"

TOKYO_WINDOWS = {
    "region": "ap-northeast-1",
    "instance_type": "c5.xlarge",
    "platform": "Windows",
    "tenancy": "Shared",
}
SCRAPER_PAYMENT = {
    "No Upfront": "noUpfront",
    "Partial Upfront": "partialUpfront",
    "All Upfront": "allUpfront",
}
PAYMENTS = {
    "no upfront": "No Upfront",
    "partial upfront": "Partial Upfront",
    "all upfront": "All Upfront",
}


def _key(**fields: str) -> pd.DataFrame:
    return pd.DataFrame([fields])[list(KEY_COLUMNS)]


def _write_json(path: Path, payload: object) -> Path:
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def _mock_record() -> dict[str, Any]:
    record: dict[str, Any] = json.loads(MOCK_2026.read_text(encoding="utf-8"))
    return record


def _scraper_format(value: float) -> str:
    """How the ec2instances.info scraper writes a rate (ec2.py ``format_price``)."""
    return str(float(f"{value:f}")).rstrip("0").rstrip(".")


# ------------------------------------------------------------------ AWS Pricing Calculator figures


def _calculator_figures() -> dict[str, dict[tuple[int, str], float]]:
    """Parse the calculator output: RI upfront/hourly and SP rates per (term, payment)."""
    text = CALCULATOR.read_text(encoding="utf-8")
    figures: dict[str, dict[tuple[int, str], float]] = {
        "ri_upfront": {},
        "ri_hourly": {},
        "compute_sp": {},
        "ec2_instance_sp": {},
    }
    for section in re.split(r"^### ", text, flags=re.MULTILINE)[1:]:
        title = section.splitlines()[0].strip().lower()
        heading = re.match(r"standard reserved instance (\d) year (no|partial|all) upfront", title)
        if heading:
            term = (int(heading[1]), PAYMENTS[f"{heading[2]} upfront"])
            upfront = re.search(r"x ([\d.]+) USD upfront cost", section)
            hourly = re.search(r"Reserved instance hours per month x ([\d.]+) USD", section)
            assert upfront and hourly
            figures["ri_upfront"][term] = float(upfront[1])
            figures["ri_hourly"][term] = float(hourly[1])
        rate = re.search(
            r"(Compute|EC2 Instance) Savings Plans rate for c5\.xlarge in the Asia Pacific "
            r"\(Tokyo\) for (\d) Year term and (No|Partial|All) Upfront is ([\d.]+) USD",
            section,
        )
        if rate:
            plan = "compute_sp" if rate[1] == "Compute" else "ec2_instance_sp"
            figures[plan][(int(rate[2]), PAYMENTS[f"{rate[3].lower()} upfront"])] = float(rate[4])
    return figures


def test_calculator_fixture_holds_the_published_figures() -> None:
    figures = _calculator_figures()
    assert figures["ri_upfront"] == {
        (1, "No Upfront"): 0.0,
        (1, "Partial Upfront"): 1368.0,
        (1, "All Upfront"): 2714.0,
        (3, "No Upfront"): 0.0,
        (3, "Partial Upfront"): 3543.0,
        (3, "All Upfront"): 6950.0,
    }
    assert figures["ri_hourly"] == {
        (1, "No Upfront"): 0.319,
        (1, "Partial Upfront"): 0.156,
        (1, "All Upfront"): 0.0,
        (3, "No Upfront"): 0.276,
        (3, "Partial Upfront"): 0.135,
        (3, "All Upfront"): 0.0,
    }
    assert figures["ec2_instance_sp"] == {
        (1, "No Upfront"): 0.319,
        (1, "Partial Upfront"): 0.312,
        (1, "All Upfront"): 0.31,
        (3, "No Upfront"): 0.276,
        (3, "Partial Upfront"): 0.27,
        (3, "All Upfront"): 0.264,
    }
    assert figures["compute_sp"][(1, "No Upfront")] == 0.361
    assert figures["compute_sp"][(3, "All Upfront")] == 0.299


def _calculator_catalog() -> PriceCatalog:
    figures = _calculator_figures()
    rows = [
        {
            **TOKYO_WINDOWS,
            "offering_class": "standard",
            "term_years": term,
            "payment_option": payment,
            "upfront_usd": figures["ri_upfront"][(term, payment)],
            "recurring_usd_per_hour": figures["ri_hourly"][(term, payment)],
        }
        for term, payment in figures["ri_upfront"]
    ]
    on_demand = pd.DataFrame([{**TOKYO_WINDOWS, "on_demand_usd_per_hour": 0.398}])
    return PriceCatalog.from_frames(
        CatalogMetadata("AWS Pricing Calculator", date(2025, 9, 1)),
        on_demand=on_demand,
        reserved=pd.DataFrame(rows),
    )


CALCULATOR_EFFECTIVE = {
    (1, "No Upfront"): 0.319,
    (1, "Partial Upfront"): 1368 / 8760 + 0.156,
    (1, "All Upfront"): 2714 / 8760,
    (3, "No Upfront"): 0.276,
    (3, "Partial Upfront"): 3543 / 26280 + 0.135,
    (3, "All Upfront"): 6950 / 26280,
}


@pytest.mark.parametrize(("term", "payment"), list(CALCULATOR_EFFECTIVE))
def test_calculator_ri_effective_rates_through_a_catalog(term: int, payment: str) -> None:
    catalog = _calculator_catalog()
    effective = catalog.reserved_rates(_key(**TOKYO_WINDOWS), "standard", term, payment)
    assert effective[0] == pytest.approx(CALCULATOR_EFFECTIVE[(term, payment)], abs=1e-12)


def test_calculator_ec2_instance_sp_rates_equal_standard_ri_effective_rates() -> None:
    """AWS's equivalence, to the calculator's 3-decimal rounding: 0.319, 0.312, 0.31, ..."""
    catalog = _calculator_catalog()
    figures = _calculator_figures()
    keys = _key(**TOKYO_WINDOWS)
    for (term, payment), sp_rate in figures["ec2_instance_sp"].items():
        effective = catalog.reserved_rates(keys, "standard", term, payment)[0]
        assert round(effective, 3) == pytest.approx(sp_rate, abs=1e-12), (term, payment)


def test_reader_derivation_reproduces_the_calculator_sp_rates(tmp_path: Path) -> None:
    """Standard RI effective rates written as the scraper writes them -> derived EC2 Instance SP."""
    reserved = {
        f"yrTerm{term}Standard.{SCRAPER_PAYMENT[payment]}": _scraper_format(rate)
        for (term, payment), rate in CALCULATOR_EFFECTIVE.items()
    }
    assert reserved["yrTerm1Standard.partialUpfront"] == "0.312164"
    assert reserved["yrTerm3Standard.allUpfront"] == "0.26446"
    record = {
        "instance_type": "c5.xlarge",
        "pricing": {"ap-northeast-1": {"mswin": {"ondemand": "0.398", "reserved": reserved}}},
    }
    catalog = read_ec2instances_info(
        _write_json(tmp_path / "c5.json", [record]), as_of=date(2025, 9, 1)
    )
    keys = _key(**TOKYO_WINDOWS)
    figures = _calculator_figures()
    for (term, payment), sp_rate in figures["ec2_instance_sp"].items():
        derived = catalog.savings_plan_rates(keys, "ec2_instance", term, payment)[0]
        standard = catalog.reserved_rates(keys, "standard", term, payment)[0]
        assert derived == standard
        assert round(derived, 3) == pytest.approx(sp_rate, abs=1e-12), (term, payment)
        # No convertible rates in the file, so no Compute SP rate can be derived.
        assert np.isnan(catalog.savings_plan_rates(keys, "compute", term, payment)[0])
    assert catalog.savings_plans["derived"].all()
    # The split recovers the calculator's fees: exactly for No / All Upfront (up to the file's
    # 6 decimals), within 0.1 % for Partial Upfront under the 50 % assumption.
    upfront = {
        (term, payment): catalog.reserved_rates(keys, "standard", term, payment, "upfront_usd")[0]
        for term, payment in CALCULATOR_EFFECTIVE
    }
    recurring = {
        (term, payment): catalog.reserved_rates(
            keys, "standard", term, payment, "recurring_usd_per_hour"
        )[0]
        for term, payment in CALCULATOR_EFFECTIVE
    }
    assert upfront[(1, "All Upfront")] == pytest.approx(2714, abs=0.01)
    assert upfront[(3, "All Upfront")] == pytest.approx(6950, abs=0.03)
    assert recurring[(1, "No Upfront")] == 0.319
    assert upfront[(1, "Partial Upfront")] == pytest.approx(1368, rel=1e-3)
    assert upfront[(3, "Partial Upfront")] == pytest.approx(3543, rel=1e-3)
    assert recurring[(1, "Partial Upfront")] == pytest.approx(0.156, rel=1e-3)


# ------------------------------------------------------------------ the real 2017 dump


@pytest.fixture(scope="module")
def catalog_2017() -> PriceCatalog:
    return read_ec2instances_info(DUMP_2017, as_of=date(2017, 11, 12), source="2017 dump")


def _raw_2017() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(gzip.decompress(DUMP_2017.read_bytes()))
    return records


def test_2017_dump_agrees_with_the_2018_cur(catalog_2017: PriceCatalog) -> None:
    """The 2018 CUR bills a c5.large 1-year standard Partial Upfront RI at 223 USD + 0.026 USD/h."""
    keys = _key(
        region="us-east-1", instance_type="c5.large", platform="Linux/UNIX", tenancy="Shared"
    )
    effective = catalog_2017.reserved_rates(keys, "standard", 1, "Partial Upfront")[0]
    assert effective == 0.052
    cur_effective = 223 / 8760 + 0.026
    assert cur_effective == pytest.approx(0.0515, abs=5e-5)
    assert abs(effective - cur_effective) < 0.001  # one unit of the dump's third decimal
    recurring = catalog_2017.reserved_rates(
        keys, "standard", 1, "Partial Upfront", "recurring_usd_per_hour"
    )[0]
    assert recurring == pytest.approx(0.026, abs=1e-12)  # the 50 % split hits the CUR's rate
    upfront = catalog_2017.reserved_rates(keys, "standard", 1, "Partial Upfront", "upfront_usd")[0]
    assert upfront == pytest.approx(227.76)  # vs 223 billed: the split's cost of rounding


def test_2017_dump_counts_and_platforms(catalog_2017: PriceCatalog) -> None:
    raw = _raw_2017()
    expected_on_demand = sum(
        1
        for record in raw
        for by_os in record["pricing"].values()
        for os_key, prices in by_os.items()
        if os_key != "ebs" and "ondemand" in prices
    )
    expected_reserved = sum(
        len(prices.get("reserved", {}))
        for record in raw
        for by_os in record["pricing"].values()
        for os_key, prices in by_os.items()
        if os_key != "ebs"
    )
    counts = catalog_2017.counts()
    assert counts["on_demand_rate_count"] == expected_on_demand == 216
    assert counts["reserved_offering_count"] == expected_reserved == 2436
    assert counts["savings_plans_rate_count"] == 2436  # one derived SP rate per RI rate
    assert counts["instance_type_count"] == 5
    assert counts["region_count"] == 15
    assert set(catalog_2017.on_demand["platform"]) == {
        "Linux/UNIX",
        "Windows",
        "Red Hat Enterprise Linux",
        "SUSE Linux",
        "Windows with SQL Server Standard",
        "Windows with SQL Server Web",
        "Windows with SQL Server Enterprise",
    }
    assert set(catalog_2017.on_demand["tenancy"]) == {"Shared"}
    # cg1.4xlarge is sold on-demand only in this dump.
    assert (catalog_2017.on_demand["instance_type"] == "cg1.4xlarge").sum() == 12
    assert not (catalog_2017.reserved["instance_type"] == "cg1.4xlarge").any()


def test_2017_dump_exact_rates(catalog_2017: PriceCatalog) -> None:
    keys = pd.DataFrame(
        [
            {"region": "us-east-1", "instance_type": "c5.large", "platform": "Linux/UNIX"},
            {
                "region": "us-east-1",
                "instance_type": "c5.large",
                "platform": "Windows with SQL Server Standard",
            },
            {"region": "us-east-1", "instance_type": "c5.large", "platform": "SUSE Linux"},
        ]
    ).assign(tenancy="Shared")
    np.testing.assert_array_equal(catalog_2017.on_demand_rates(keys), [0.085, 0.657, 0.185])
    np.testing.assert_array_equal(
        catalog_2017.reserved_rates(keys, "convertible", 3, "No Upfront"), [0.041, 0.613, 0.074]
    )


def test_split_rows_add_up_and_are_flagged(catalog_2017: PriceCatalog) -> None:
    reserved = catalog_2017.reserved
    hours = reserved["term_years"].map(TERM_HOURS).to_numpy()
    np.testing.assert_allclose(
        reserved["upfront_usd"] / hours + reserved["recurring_usd_per_hour"],
        reserved["effective_usd_per_hour"],
        atol=1e-12,
    )
    no_upfront = reserved["payment_option"] == "No Upfront"
    all_upfront = reserved["payment_option"] == "All Upfront"
    assert (reserved.loc[no_upfront, "upfront_usd"] == 0).all()
    assert (reserved.loc[all_upfront, "recurring_usd_per_hour"] == 0).all()
    assert (reserved["derived"] == ~no_upfront).all()
    assert "Partial Upfront = 50%" in catalog_2017.metadata.partial_upfront_split


def test_derived_sp_rates_follow_the_equivalence(catalog_2017: PriceCatalog) -> None:
    reserved = catalog_2017.reserved
    plans = catalog_2017.savings_plans
    assert plans["derived"].all()
    merged = plans.merge(
        reserved.assign(
            plan_type=reserved["offering_class"].map(
                {"standard": "ec2_instance", "convertible": "compute"}
            )
        ),
        on=[*KEY_COLUMNS, "plan_type", "term_years", "payment_option"],
        validate="one_to_one",
    )
    assert len(merged) == len(plans) == len(reserved)
    np.testing.assert_array_equal(merged["sp_hourly_usd"], merged["effective_usd_per_hour"])
    assert "EC2 Instance SP rate = standard RI" in catalog_2017.metadata.derived_rates
    assert catalog_2017.metadata.source == "2017 dump"
    assert catalog_2017.metadata.notes == ()


# ------------------------------------------------------------------ the current (2026) format


def test_2026_single_record_is_read() -> None:
    catalog = read_ec2instances_info(MOCK_2026, as_of=date(2026, 7, 20))
    on_demand = catalog.on_demand
    assert set(on_demand["instance_type"]) == {"x2iedn.32xlarge"}
    assert on_demand["region"].nunique() == 25
    assert len(on_demand) == 14 * 25 + 18  # 14 OS keys everywhere, "dedicated" in 18 regions
    assert catalog.counts()["platform_count"] == 14
    keys = pd.DataFrame(
        [
            {"platform": "Linux/UNIX", "tenancy": "Shared"},
            {"platform": "Linux/UNIX", "tenancy": "Dedicated"},
            {"platform": "Ubuntu Pro", "tenancy": "Shared"},
            {"platform": "Linux with SQL Server Web", "tenancy": "Shared"},
        ]
    ).assign(region="us-east-1", instance_type="x2iedn.32xlarge")
    np.testing.assert_array_equal(catalog.on_demand_rates(keys), [26.676, 29.344, 26.9, 28.8392])
    partial = catalog.reserved_rates(keys, "standard", 1, "Partial Upfront")
    np.testing.assert_array_equal(partial[:2], [15.632166, 17.195717])
    assert np.isnan(partial[2])  # Ubuntu Pro has no RI rates in the file
    dedicated = catalog.reserved[catalog.reserved["tenancy"] == "Dedicated"]
    assert set(dedicated["offering_class"]) == {"standard"}
    assert len(dedicated) == 18 * 6
    # "emr", spot and pct_* fields are not rates; no notes (nothing skipped, as_of given).
    assert catalog.metadata.notes == ()


def test_2026_sp_keys_are_read_as_file_rates(tmp_path: Path) -> None:
    record = _mock_record()
    linux = record["pricing"]["us-east-1"]["linux"]
    linux["reserved"]["yrTerm1Savings.noUpfront"] = "20.5"
    linux["reserved"]["yrTerm3InstanceSavings.allUpfront"] = "7.25"
    linux["yrTerm3Savings.allUpfront"] = "9.1"  # beside "reserved" is accepted too
    catalog = read_ec2instances_info(
        _write_json(tmp_path / "x.json", record), as_of=date(2026, 7, 20)
    )
    keys = _key(
        region="us-east-1", instance_type="x2iedn.32xlarge", platform="Linux/UNIX", tenancy="Shared"
    )
    assert catalog.savings_plan_rates(keys, "compute", 1, "No Upfront")[0] == 20.5
    assert catalog.savings_plan_rates(keys, "ec2_instance", 3, "All Upfront")[0] == 7.25
    assert catalog.savings_plan_rates(keys, "compute", 3, "All Upfront")[0] == 9.1
    # A rate the file lacks is still derived from the RI rate.
    assert catalog.savings_plan_rates(keys, "ec2_instance", 1, "No Upfront")[0] == 16.41374
    plans = catalog.savings_plans
    assert int((~plans["derived"]).sum()) == 3
    assert "3 Savings Plans rates read from the file" in catalog.metadata.derived_rates
    assert len(catalog.reserved) == 3108  # SP keys do not become RI rows


# ------------------------------------------------------------------ robustness


def _small_record() -> dict[str, Any]:
    record = next(r for r in _raw_2017() if r["instance_type"] == "c5.large")
    return {"instance_type": "c5.large", "pricing": copy.deepcopy(record["pricing"])}


def test_unknown_os_keys_are_skipped_and_counted(tmp_path: Path) -> None:
    record = _small_record()
    record["pricing"]["us-east-1"]["plan9"] = {"ondemand": "1.0", "reserved": {}}
    record["pricing"]["eu-west-1"]["plan9"] = {"ondemand": "1.0"}
    record["pricing"]["us-east-1"]["emr"] = {"emr": "0.27"}
    catalog = read_ec2instances_info(
        _write_json(tmp_path / "r.json", [record]), as_of=date(2017, 11, 12)
    )
    assert "skipped 1 unknown OS key(s) (plan9) with 2 value(s)" in catalog.metadata.notes
    assert len(catalog.on_demand) == 18  # c5.large: 6 OS keys in 3 regions; plan9 dropped


def test_missing_na_and_zero_values_are_skipped(tmp_path: Path) -> None:
    record = _small_record()
    linux = record["pricing"]["us-east-1"]["linux"]
    linux["ondemand"] = "N/A"
    linux["reserved"]["yrTerm1Standard.noUpfront"] = None
    linux["reserved"]["yrTerm1Standard.allUpfront"] = ""
    linux["reserved"]["yrTerm3Standard.allUpfront"] = 0.0
    linux["reserved"]["yrTerm3Standard.noUpfront"] = [0.1]
    linux["reserved"]["yrTerm9Standard.noUpfront"] = "0.01"
    catalog = read_ec2instances_info(
        _write_json(tmp_path / "r.json", [record]), as_of=date(2017, 11, 12)
    )
    keys = _key(
        region="us-east-1", instance_type="c5.large", platform="Linux/UNIX", tenancy="Shared"
    )
    assert np.isnan(catalog.on_demand_rates(keys)[0])
    assert np.isnan(catalog.reserved_rates(keys, "standard", 1, "No Upfront")[0])
    assert catalog.reserved_rates(keys, "standard", 1, "Partial Upfront")[0] == 0.052
    notes = catalog.metadata.notes
    assert "skipped 4 missing, 'N/A' or non-numeric value(s)" in notes
    assert any(note.startswith("skipped 1 zero rate(s)") for note in notes)
    assert any("yrTerm9Standard.noUpfront" in note for note in notes)
    assert len(catalog.reserved) == 216 - 4


def test_negative_rate_is_an_error(tmp_path: Path) -> None:
    record = _small_record()
    record["pricing"]["us-west-2"]["rhel"]["reserved"]["yrTerm3Convertible.partialUpfront"] = "-0.1"
    path = _write_json(tmp_path / "neg.json", [record])
    with pytest.raises(
        PriceFileError,
        match=r"neg\.json: negative rate -0\.1 for c5\.large us-west-2 rhel "
        r"yrTerm3Convertible\.partialUpfront",
    ):
        read_ec2instances_info(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<!DOCTYPE html><html><body>Error</body></html>", "HTML"),
        ('[{"instance_type": "c5.large", "pricing": {', "not valid JSON"),
        ("42", "found a JSON int"),
        ("[]", "no instance records"),
        ('[{"pricing": {}}]', "record 0 is not an instance record"),
        ('[{"instance_type": "c5.large", "pricing": []}]', "'pricing' is not a JSON object"),
        (
            '[{"instance_type": "c5.large", "pricing": {}}, {"instance_type": "c5.large"}]',
            "c5.large appear in more than one record",
        ),
        (
            '[{"instance_type": "db.m5.large", '
            '"pricing": {"us-east-1": {"14": {"ondemand": "1"}}}}]',
            "no EC2 instance prices found",
        ),
        (
            '[{"instance_type": "c5", "pricing": {"us-east-1": {"linux": {"ondemand": "1"}}}}]',
            "not an EC2 instance type",
        ),
    ],
)
def test_bad_files_raise_one_line_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "instances.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PriceFileError, match=re.escape(message)) as raised:
        read_ec2instances_info(path)
    assert str(raised.value).startswith(str(path))
    assert "\n" not in str(raised.value)


def test_truncated_gzip_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "instances.json.gz"
    path.write_bytes(DUMP_2017.read_bytes()[:4000])
    with pytest.raises(PriceFileError, match="truncated or corrupt"):
        read_ec2instances_info(path)


def test_defaults_for_source_and_as_of(tmp_path: Path) -> None:
    path = _write_json(tmp_path / "instances.json", [_small_record()])
    catalog = read_ec2instances_info(path)
    assert catalog.metadata.source == "ec2instances.info instances.json"
    assert catalog.metadata.as_of == datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).date()
    assert any("modification date" in note for note in catalog.metadata.notes)


# ------------------------------------------------------------------ the split, as a property


@given(
    effective=st.floats(min_value=0, max_value=1e4, allow_nan=False, allow_infinity=False),
    term=st.sampled_from([1, 3]),
    payment=st.sampled_from(PAYMENT_OPTIONS),
)
def test_split_adds_back_to_the_effective_rate(effective: float, term: int, payment: str) -> None:
    upfront, recurring = split_effective_hourly([effective], [term], [payment])
    assert upfront[0] >= 0
    assert recurring[0] >= 0
    assert upfront[0] / TERM_HOURS[term] + recurring[0] == pytest.approx(effective, abs=1e-9)
    if payment == "No Upfront":
        assert upfront[0] == 0
    if payment == "All Upfront":
        assert recurring[0] == 0
    if payment == "Partial Upfront":
        assert upfront[0] / TERM_HOURS[term] == pytest.approx(recurring[0], abs=1e-9)


def test_split_rejects_unknown_terms_and_payments() -> None:
    with pytest.raises(CommitoptInputError, match="not 1 or 3"):
        split_effective_hourly([0.1], [2], ["No Upfront"])
    with pytest.raises(CommitoptInputError, match="unknown payment option"):
        split_effective_hourly([0.1], [1], ["Heavy Utilization"])
