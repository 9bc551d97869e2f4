"""Format detection on the real fixtures, and dispatch of any price file to its reader."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from pricing.errors import PriceFileError
from pricing.readers.detect import detect_format, read_price_file

DATA = Path(__file__).parents[2] / "data"


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("pricing/ec2priceit_3-global-pricing-file-sample.csv", "price-list-csv"),
        ("pricing/ec2priceit_5-ap-east-2-savingsplan-pricing.csv", "savings-plans-csv"),
        ("pricing/savingsplan_ap-east-2_r7g_from-ec2priceit_5.json", "savings-plans-json"),
        ("pricing/ec2instancesinfo_instances_2017-11-12_trimmed.json.gz", "ec2instances-info"),
        ("pricing/ec2instancesinfo_mock_x2iedn.32xlarge_2026.json", "ec2instances-info"),
        ("cur/wal_Oct2018-WorkshopCUR-ec2-trimmed.zstd.parquet", "cur"),
        ("cur/focusconv_legacy-cur_2023-11_head20.csv.gz", "cur"),
    ],
)
def test_real_files_are_recognised(fixture: str, expected: str) -> None:
    assert detect_format(DATA / fixture) == expected


def test_gzipped_price_list_is_recognised(tmp_path: Path) -> None:
    source = DATA / "pricing/ec2priceit_3-global-pricing-file-sample.csv"
    target = tmp_path / "index.csv.gz"
    with source.open("rb") as raw, gzip.open(target, "wb") as packed:
        shutil.copyfileobj(raw, packed)
    assert detect_format(target) == "price-list-csv"
    catalog = read_price_file(target)
    assert len(catalog.reserved) > 0


def test_every_real_price_file_reads_into_a_catalog() -> None:
    for fixture in (
        "pricing/ec2priceit_3-global-pricing-file-sample.csv",
        "pricing/ec2priceit_5-ap-east-2-savingsplan-pricing.csv",
        "pricing/ec2instancesinfo_instances_2017-11-12_trimmed.json.gz",
        "cur/wal_Oct2018-WorkshopCUR-ec2-trimmed.zstd.parquet",
    ):
        catalog = read_price_file(DATA / fixture)
        assert catalog.counts()["instance_type_count"] > 0, fixture


def test_region_filter_applies_to_every_format() -> None:
    catalog = read_price_file(
        DATA / "pricing/ec2instancesinfo_instances_2017-11-12_trimmed.json.gz",
        regions=["eu-west-1"],
    )
    assert set(catalog.on_demand["region"]) == {"eu-west-1"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"<html><body>503 Service Unavailable</body></html>", "HTML"),
        (b"a,b,c\n1,2,3\n", "not a recognised price file"),
        (b'{"hello": "world"}', "not a recognised price file"),
        (b"PAR1garbage", "corrupt Parquet"),
    ],
)
def test_unrecognised_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "prices.dat"
    path.write_bytes(content)
    with pytest.raises(PriceFileError, match=message) as error:
        detect_format(path)
    assert "prices.dat" in str(error.value)
    assert "--" not in str(error.value)  # the library names parameters, the CLI spells flags
    if "not a recognised" in message:
        assert error.value.parameters == ("file_format",)
        assert "name the format with `file_format` (" in str(error.value)


def test_missing_file() -> None:
    with pytest.raises(PriceFileError, match="no such file"):
        detect_format("/nonexistent/prices.csv")


def test_truncated_gzip(tmp_path: Path) -> None:
    whole = gzip.compress(
        (DATA / "pricing/ec2priceit_3-global-pricing-file-sample.csv").read_bytes()
    )
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(PriceFileError, match="truncated or corrupt"):
        detect_format(path)
