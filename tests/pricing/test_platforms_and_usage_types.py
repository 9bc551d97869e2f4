"""Platforms, operation codes, regions and usage types."""

from __future__ import annotations

import pandas as pd
import pytest

from core.errors import CommitoptInputError
from pricing.errors import UnknownPlatformError, UnknownRegionError
from pricing.platforms import (
    parse_platform,
    platform_from_operation,
    platform_from_price_list,
)
from pricing.regions import region_from_location, region_from_prefix
from pricing.usage_types import key_from_usage_type, keys_from_usage_types, parse_usage_type


@pytest.mark.parametrize(
    ("alias", "platform"),
    [
        ("linux", "Linux/UNIX"),
        ("Linux/UNIX (Amazon VPC)", "Linux/UNIX"),
        ("windows", "Windows"),
        ("Windows (Amazon VPC)", "Windows"),
        ("rhel", "Red Hat Enterprise Linux"),
        ("suse", "SUSE Linux"),
        ("sles", "SUSE Linux"),
        ("windows-sql-standard", "Windows with SQL Server Standard"),
        ("mswinSQLWeb", "Windows with SQL Server Web"),
        ("windows-sql-enterprise", "Windows with SQL Server Enterprise"),
        ("Windows with SQL Server Enterprise", "Windows with SQL Server Enterprise"),
    ],
)
def test_platform_aliases(alias: str, platform: str) -> None:
    assert parse_platform(alias) == platform


def test_unknown_platform() -> None:
    with pytest.raises(UnknownPlatformError, match=r"'BeOS'.*alias"):
        parse_platform("BeOS")


@pytest.mark.parametrize(
    ("operation", "platform"),
    [
        ("RunInstances", "Linux/UNIX"),
        ("RunInstances:0002", "Windows"),
        ("RunInstances:0010", "Red Hat Enterprise Linux"),
        ("RunInstances:000g", "SUSE Linux"),
        ("RunInstances:0006", "Windows with SQL Server Standard"),
        ("RunInstances:0102", "Windows with SQL Server Enterprise"),
        ("RunInstances:0202", "Windows with SQL Server Web"),
        ("RunInstances:0800", "Windows BYOL"),
        ("RunInstances:0210", "Red Hat Enterprise Linux with SQL Server Web"),
        ("RunInstances:1010", "Red Hat Enterprise Linux with HA"),
        ("RunInstances:0g00", "Ubuntu Pro"),
    ],
)
def test_operation_codes(operation: str, platform: str) -> None:
    assert platform_from_operation(operation) == platform


def test_spot_operation_is_not_a_platform() -> None:
    with pytest.raises(UnknownPlatformError, match="SV001"):
        platform_from_operation("RunInstances:SV001")


def test_price_list_attributes() -> None:
    assert platform_from_price_list("Windows", "SQL Web", "No License required") == (
        "Windows with SQL Server Web"
    )
    assert platform_from_price_list("RHEL", "SQL Web", "No License required") == (
        "Red Hat Enterprise Linux with SQL Server Web"
    )
    assert platform_from_price_list("Windows", "NA", "Bring your own license") == "Windows BYOL"
    assert platform_from_price_list("Linux", "NA", "No License required") == "Linux/UNIX"


def test_regions() -> None:
    assert region_from_prefix("") == "us-east-1"
    assert region_from_prefix("USE2") == "us-east-2"
    assert region_from_prefix("EUW2") == "eu-west-2"
    assert region_from_prefix("EU") == "eu-west-1"
    assert region_from_prefix("APS3") == "ap-south-1"
    assert region_from_location("US East (N. Virginia)") == "us-east-1"
    assert region_from_location("Asia Pacific (Tokyo)") == "ap-northeast-1"
    with pytest.raises(UnknownRegionError, match="ZZZ9"):
        region_from_prefix("ZZZ9")
    with pytest.raises(UnknownRegionError, match="New York City"):
        region_from_location("US East (New York City)")


@pytest.mark.parametrize(
    ("usage_type", "operation", "expected"),
    [
        ("BoxUsage:m5.large", "RunInstances", ("us-east-1", "m5.large", "Linux/UNIX", "Shared")),
        (
            "USE2-BoxUsage:c5.xlarge",
            "RunInstances:0002",
            ("us-east-2", "c5.xlarge", "Windows", "Shared"),
        ),
        (
            "EUW2-DedicatedUsage:r5.large",
            "RunInstances:0010",
            ("eu-west-2", "r5.large", "Red Hat Enterprise Linux", "Dedicated"),
        ),
        (
            "APN1-DedicatedUsage:c6i.large",
            "RunInstances:0202",
            ("ap-northeast-1", "c6i.large", "Windows with SQL Server Web", "Dedicated"),
        ),
    ],
)
def test_usage_type_to_key(usage_type: str, operation: str, expected: tuple[str, ...]) -> None:
    key = key_from_usage_type(usage_type, operation)
    assert (key.region, key.instance_type, key.platform, key.tenancy) == expected


def test_non_instance_usage_types_are_rejected() -> None:
    assert parse_usage_type("SpotUsage:c5.large").tenancy is None
    assert parse_usage_type("HeavyUsage:t2.micro").kind == "HeavyUsage"
    with pytest.raises(CommitoptInputError, match="SpotUsage"):
        key_from_usage_type("SpotUsage:c5.large", "RunInstances:SV001")
    with pytest.raises(CommitoptInputError):
        parse_usage_type("EBS:VolumeUsage.gp2")


def test_vectorised_keys_mark_unmappable_rows() -> None:
    frame = keys_from_usage_types(
        pd.Series(
            [
                "BoxUsage:t2.micro",
                "SpotUsage:c5.large",
                "EBS:VolumeUsage.gp2",
                "EUW2-BoxUsage:t2.micro",
            ]
        ),
        pd.Series(["RunInstances", "RunInstances:SV001", "CreateVolume-Gp2", "RunInstances:0002"]),
    )
    assert frame["region"].tolist()[0] == "us-east-1"
    assert frame["platform"].isna().tolist() == [False, True, True, False]
    assert frame.loc[3].tolist()[:4] == ["eu-west-2", "t2.micro", "Windows", "Shared"]
    assert frame["kind"].tolist()[1] == "SpotUsage"
