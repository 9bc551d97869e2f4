"""Usage type + operation -> key, checked against the real October 2018 CUR's own product columns.

Every EC2 line item of a CUR says its region, instance type, operating system, pre-installed
software, licence model and tenancy (``product_*``). The mapping from ``line_item_usage_type`` and
``line_item_operation`` must agree with them on every BoxUsage row, and map every other row
(Spot, EBS, data transfer, EBS-optimised hours, RI fees) to ``<NA>``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pricing.platforms import platform_from_price_list
from pricing.usage_types import keys_from_usage_types

CUR = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "cur"
    / "wal_Oct2018-WorkshopCUR-ec2-trimmed.zstd.parquet"
)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    table = pq.read_table(
        CUR,
        columns=[
            "line_item_line_item_type",
            "line_item_usage_type",
            "line_item_operation",
            "product_region",
            "product_instance_type",
            "product_operating_system",
            "product_pre_installed_sw",
            "product_license_model",
            "product_tenancy",
        ],
    ).to_pandas()
    return table.astype("string")


def test_every_box_usage_row_maps_to_the_cur_product_columns(rows: pd.DataFrame) -> None:
    box = rows.loc[rows["line_item_usage_type"].str.contains("BoxUsage:", regex=False)]
    # 17,337 BoxUsage rows (MANIFEST.md's 17,346 counts the 9 RI fee lines too).
    assert len(box) == 17_337
    keys = keys_from_usage_types(box["line_item_usage_type"], box["line_item_operation"])
    product = box.reset_index(drop=True)
    distinct = product[
        ["product_operating_system", "product_pre_installed_sw", "product_license_model"]
    ].drop_duplicates()
    platform_of = {
        tuple(combination): platform_from_price_list(*combination)
        for combination in distinct.itertuples(index=False)
    }
    expected_platform = pd.Series(
        [
            platform_of[combination]
            for combination in zip(
                product["product_operating_system"],
                product["product_pre_installed_sw"],
                product["product_license_model"],
                strict=True,
            )
        ],
        dtype="string",
    )
    agreement = {
        "region": keys["region"].eq(product["product_region"]),
        "instance_type": keys["instance_type"].eq(product["product_instance_type"]),
        "platform": keys["platform"].eq(expected_platform),
        "tenancy": keys["tenancy"].eq(product["product_tenancy"]),
    }
    for column, agrees in agreement.items():
        assert agrees.fillna(False).all(), (column, product.loc[~agrees.fillna(False)].head())
    # The file covers both regions, both platforms and every family it bills.
    assert set(keys["region"]) == {"us-east-1", "eu-west-2"}
    assert set(keys["platform"]) == {"Linux/UNIX", "Windows"}
    assert set(keys["instance_type"]) == {
        "c5.large",
        "m4.xlarge",
        "m5.large",
        "t2.large",
        "t2.micro",
        "t2.nano",
        "t3.micro",
    }
    assert keys["kind"].eq("BoxUsage").all()


def test_spot_ebs_data_transfer_and_fees_map_to_na(rows: pd.DataFrame) -> None:
    other = rows.loc[~rows["line_item_usage_type"].str.contains("BoxUsage:", regex=False)]
    usage_types = set(other["line_item_usage_type"])
    for expected in (
        "SpotUsage:c5.large",
        "EBS:VolumeUsage.gp2",
        "EBSOptimized:c5.large",
        "DataTransfer-Out-Bytes",
        "EUW2-DataTransfer-In-Bytes",
        "USE1-USW2-AWS-Out-Bytes",
        "HeavyUsage:c5.large",
    ):
        assert expected in usage_types
    keys = keys_from_usage_types(other["line_item_usage_type"], other["line_item_operation"])
    assert len(keys) == len(other) > 1_000
    assert keys[["region", "instance_type", "platform", "tenancy"]].isna().all().all()
