"""Instance-type parsing, normalization factors and the size-flexibility rule."""

from __future__ import annotations

import pytest

from pricing.errors import UnknownInstanceTypeError
from pricing.instance_types import (
    NORMALIZATION_FACTORS,
    instance_families,
    is_size_flexible,
    normalization_factor,
    normalization_factors,
    parse_instance_type,
)

DESIGN_TABLE = {
    "nano": 0.25, "micro": 0.5, "small": 1, "medium": 2, "large": 4, "xlarge": 8, "2xlarge": 16,
    "3xlarge": 24, "4xlarge": 32, "6xlarge": 48, "8xlarge": 64, "9xlarge": 72, "10xlarge": 80,
    "12xlarge": 96, "16xlarge": 128, "18xlarge": 144, "24xlarge": 192, "32xlarge": 256,
    "56xlarge": 448, "112xlarge": 896,
}  # fmt: skip


def test_normalization_table_matches_design() -> None:
    for size, factor in DESIGN_TABLE.items():
        assert NORMALIZATION_FACTORS[size] == factor
        assert normalization_factor(f"m5.{size}") == factor


@pytest.mark.parametrize(
    ("name", "family", "series", "generation", "attributes", "option", "size"),
    [
        ("m5.large", "m5", "m", 5, "", "", "large"),
        ("m7i-flex.2xlarge", "m7i-flex", "m", 7, "i", "flex", "2xlarge"),
        ("x2iedn.32xlarge", "x2iedn", "x", 2, "iedn", "", "32xlarge"),
        ("c7i.metal-24xl", "c7i", "c", 7, "i", "", "metal-24xl"),
        ("hpc6a.48xlarge", "hpc6a", "hpc", 6, "a", "", "48xlarge"),
        ("u-6tb1.metal", "u-6tb1", "u", None, "", "6tb1", "metal"),
    ],
)
def test_parse_instance_type(
    name: str,
    family: str,
    series: str,
    generation: int | None,
    attributes: str,
    option: str,
    size: str,
) -> None:
    parsed = parse_instance_type(name)
    assert (parsed.family, parsed.series, parsed.generation) == (family, series, generation)
    assert (parsed.attributes, parsed.option, parsed.size) == (attributes, option, size)


@pytest.mark.parametrize(
    ("name", "factor"),
    [("u7i-12tb.224xlarge", 1792.0), ("u7inh-32tb.480xlarge", 3840.0), ("m5.7xlarge", 56.0)],
)
def test_any_n_xlarge_counts_eight_n(name: str, factor: float) -> None:
    """Sizes AWS added after the table (the 224xlarge of u7i) follow its rule: 8 units per
    xlarge; other unknown sizes are still refused."""
    assert normalization_factor(name) == factor
    for bad in ("m5.huge", "m5.0xlarge", "m5.xxlarge", "m5.-2xlarge"):
        with pytest.raises(UnknownInstanceTypeError, match="any other <n>xlarge"):
            normalization_factor(bad)


@pytest.mark.parametrize(
    ("name", "factor"),
    [("i3.metal", 128.0), ("m5.metal", 192.0), ("c7i.metal-48xl", 384.0), ("z1d.metal", 96.0)],
)
def test_metal_takes_equivalent_size(name: str, factor: float) -> None:
    assert normalization_factor(name) == factor


def test_unknown_metal_family_is_a_clear_error() -> None:
    with pytest.raises(UnknownInstanceTypeError, match=r"mac2-m2pro\.metal.*METAL_EQUIVALENT_SIZE"):
        normalization_factor("mac2-m2pro.metal")


@pytest.mark.parametrize("bad", ["m5", "large", "M5.LARGE", "m5.", ".large", ""])
def test_bad_instance_type(bad: str) -> None:
    with pytest.raises(UnknownInstanceTypeError):
        normalization_factor(bad)


def test_unknown_size() -> None:
    with pytest.raises(UnknownInstanceTypeError, match="unknown instance size 'huge'"):
        normalization_factor("m5.huge")


def test_vectorised_factors_and_families() -> None:
    names = ["t2.nano", "m5.2xlarge", "t2.nano", "c5.18xlarge"]
    assert normalization_factors(names).tolist() == [0.25, 16.0, 0.25, 144.0]
    assert instance_families(names).tolist() == ["t2", "m5", "t2", "c5"]


def test_size_flexibility_rule() -> None:
    assert is_size_flexible("Linux/UNIX", "Shared", "Region")
    assert not is_size_flexible("Linux/UNIX", "Shared", "Availability Zone")
    assert not is_size_flexible("Linux/UNIX", "Dedicated", "Region")
    for platform in ("Windows", "Red Hat Enterprise Linux", "SUSE Linux"):
        assert not is_size_flexible(platform, "Shared", "Region")
