"""EC2 instance types: parsing, normalization factors and the size-flexibility rule.

An instance type such as ``m7i-flex.2xlarge`` is a family (``m7i-flex``: series ``m``,
generation 7, attributes ``i``, option ``flex``) and a size (``2xlarge``). Regional Linux/UNIX RIs
on shared tenancy apply across sizes of one family in *normalized units*: a ``2xlarge`` is 16 units,
so one ``2xlarge`` RI covers four ``large`` instances.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from pricing.errors import UnknownInstanceTypeError

NORMALIZATION_FACTORS: Final[dict[str, float]] = {
    "nano": 0.25,
    "micro": 0.5,
    "small": 1.0,
    "medium": 2.0,
    "large": 4.0,
    "xlarge": 8.0,
    "2xlarge": 16.0,
    "3xlarge": 24.0,
    "4xlarge": 32.0,
    "6xlarge": 48.0,
    "8xlarge": 64.0,
    "9xlarge": 72.0,
    "10xlarge": 80.0,
    "12xlarge": 96.0,
    "16xlarge": 128.0,
    "18xlarge": 144.0,
    "24xlarge": 192.0,
    "32xlarge": 256.0,
    "48xlarge": 384.0,
    "56xlarge": 448.0,
    "112xlarge": 896.0,
}
"""Normalized units per instance-hour, by size (AWS EC2 User Guide, "Instance size flexibility").

A size ``<n>xlarge`` not listed (``u7i-12tb.224xlarge``, ``u7inh-32tb.480xlarge``) counts
``8 n``, the rule every listed one follows. The same list is in docs/billing.md."""

_N_XLARGE: Final = re.compile(r"(?P<n>[1-9][0-9]{0,3})xlarge")
"""A size ``<n>xlarge`` (n from 1 to 9999)."""

KNOWN_SIZES_TEXT: Final = f"{', '.join(NORMALIZATION_FACTORS)}, any other <n>xlarge, metal"
"""The sizes :func:`normalization_factor` knows, for messages."""

METAL_EQUIVALENT_SIZE: Final[dict[str, str]] = {
    "a1": "4xlarge",
    "c5": "24xlarge",
    "c5d": "24xlarge",
    "c5n": "18xlarge",
    "c6a": "48xlarge",
    "c6g": "16xlarge",
    "c6gd": "16xlarge",
    "c6i": "32xlarge",
    "c6id": "32xlarge",
    "c6in": "32xlarge",
    "c7g": "16xlarge",
    "c7gd": "16xlarge",
    "i3": "16xlarge",
    "i3en": "24xlarge",
    "i4i": "32xlarge",
    "m5": "24xlarge",
    "m5d": "24xlarge",
    "m5dn": "24xlarge",
    "m5n": "24xlarge",
    "m5zn": "12xlarge",
    "m6a": "48xlarge",
    "m6g": "16xlarge",
    "m6gd": "16xlarge",
    "m6i": "32xlarge",
    "m6id": "32xlarge",
    "m6idn": "32xlarge",
    "m6in": "32xlarge",
    "m7g": "16xlarge",
    "m7gd": "16xlarge",
    "r5": "24xlarge",
    "r5b": "24xlarge",
    "r5d": "24xlarge",
    "r5dn": "24xlarge",
    "r5n": "24xlarge",
    "r6a": "48xlarge",
    "r6g": "16xlarge",
    "r6gd": "16xlarge",
    "r6i": "32xlarge",
    "r6id": "32xlarge",
    "r7g": "16xlarge",
    "r7gd": "16xlarge",
    "x2idn": "32xlarge",
    "x2iedn": "32xlarge",
    "x2iezn": "12xlarge",
    "z1d": "12xlarge",
}
"""The virtualized size whose vCPUs a family's ``.metal`` size matches (for its factor).

Sizes written ``metal-24xl`` / ``metal-48xl`` carry their equivalent size in the name. A ``.metal``
of a family not listed here has no known factor: :func:`normalization_factor` says so."""

OPENSEARCH_SUFFIX: Final = ".search"
"""The suffix of OpenSearch instance types: ``r6g.large.search`` is family ``r6g.search``, size
``large`` (so its family never mixes with EC2's ``r6g``)."""

REDSHIFT_NODE_FAMILIES: Final = frozenset({"dc1", "dc2", "ds1", "ds2", "dw1", "dw2", "ra3"})
"""Redshift node families (``dc2.large``, ``ra3.xlplus``): no EC2 family has these names, so a
Redshift node type is known by its family alone (Redshift Management Guide, "Amazon Redshift
provisioned clusters: node types"; ``dw`` are the retired names of ``ds``/``dc``)."""

DATABASE_CLASS_PREFIXES: Final = ("db.", "cache.", "ml.")
"""Prefixes of database instance classes (RDS ``db.r5.large``) and cache node types
(ElastiCache ``cache.r6g.large``): the rest is an EC2-like ``family.size`` whose size carries the
same normalized units (:mod:`pricing.databases`), and the family keeps the prefix (``db.r5``).
SageMaker ML instance types (``ml.m5.xlarge``, family ``ml.m5``) are parsed the same way."""

NOT_RESERVED_FAMILIES: Final = frozenset({"fargate", "lambda"})
"""Families of Fargate and Lambda keys (``fargate.vcpu``, ``lambda.duration``,
:mod:`pricing.compute_keys`): no reservations, one unit per unit-hour."""

_FAMILY_PATTERN: Final = re.compile(
    r"^(?P<series>[a-z]+)(?P<generation>\d*)(?P<attributes>[a-z0-9]*?)(?:-(?P<option>[a-z0-9]+))?$"
)
_METAL_SUFFIX: Final = re.compile(r"^metal-(?P<n>\d+)xl$")


@dataclass(frozen=True, slots=True)
class InstanceType:
    """A parsed EC2 instance type.

    Attributes
    ----------
    name
        The full type, e.g. ``"m7i-flex.2xlarge"``.
    family
        Everything before the size, e.g. ``"m7i-flex"`` (``"db.r4"`` for a database class); RI
        size flexibility works within it.
    series
        The leading letters, e.g. ``"m"``.
    generation
        The generation number, or ``None`` where the name has none (``u-6tb1``).
    attributes
        Letters after the generation (``"i"`` for Intel, ``"g"`` for Graviton, ``"d"`` for
        local NVMe, ...), possibly empty.
    option
        The part after a hyphen in the family (``"flex"``), possibly empty.
    size
        Everything after the dot, e.g. ``"2xlarge"`` or ``"metal-24xl"``.
    """

    name: str
    family: str
    series: str
    generation: int | None
    attributes: str
    option: str
    size: str

    @property
    def is_metal(self) -> bool:
        """Whether this is a bare-metal size (``metal``, ``metal-24xl``, ...)."""
        return self.size.startswith("metal")


def parse_instance_type(name: str) -> InstanceType:
    """Parse an EC2 instance type name.

    Parameters
    ----------
    name
        E.g. ``"m5.large"``, ``"c7i.metal-24xl"``, ``"m7i-flex.xlarge"``, ``"u-6tb1.metal"``, a
        database class such as ``"db.r4.large"`` (family ``"db.r4"``), an OpenSearch instance
        type ``"r6g.large.search"`` (family ``"r6g.search"``) or a Redshift node type
        ``"ra3.xlplus"``.

    Raises
    ------
    UnknownInstanceTypeError
        When the name is not of the form ``family.size``.

    Examples
    --------
    >>> parse_instance_type("m7i-flex.2xlarge").generation
    7
    """
    text = str(name).strip()
    prefix = next((p for p in DATABASE_CLASS_PREFIXES if text.startswith(p)), "")
    suffix = OPENSEARCH_SUFFIX if text.endswith(OPENSEARCH_SUFFIX) else ""
    family, dot, size = text[len(prefix) : len(text) - len(suffix)].partition(".")
    match = _FAMILY_PATTERN.match(family) if dot else None
    if match is None or not size:
        raise UnknownInstanceTypeError(
            f"{name!r} is not an EC2 instance type or database instance class; expected "
            "family.size such as 'm5.large' (or 'db.r5.large', 'cache.r6g.large')"
        )
    generation = match.group("generation")
    return InstanceType(
        name=text,
        family=prefix + family + suffix,
        series=match.group("series"),
        generation=int(generation) if generation else None,
        attributes=match.group("attributes") or "",
        option=match.group("option") or "",
        size=size,
    )


def instance_family(name: str) -> str:
    """Return the family of an instance type (``"m5"`` for ``"m5.large"``)."""
    return parse_instance_type(name).family


def normalization_factor(name: str) -> float:
    """Return the normalized units of one instance-hour of an instance type.

    OpenSearch instance types and Redshift node types, whose reservations apply to the exact
    type only, count one unit per instance- or node-hour whatever their size.

    Parameters
    ----------
    name
        An instance type, e.g. ``"m5.2xlarge"`` (16.0) or ``"i3.metal"`` (128.0).

    Raises
    ------
    UnknownInstanceTypeError
        For an unknown size, or a ``.metal`` size of a family missing from
        :data:`METAL_EQUIVALENT_SIZE`.
    """
    parsed = parse_instance_type(name)
    if parsed.family.endswith(OPENSEARCH_SUFFIX) or parsed.family in REDSHIFT_NODE_FAMILIES:
        return 1.0  # reserved by exact type: one unit per instance- or node-hour
    if parsed.family in NOT_RESERVED_FAMILIES or parsed.family.startswith("ml."):
        return 1.0  # Fargate, Lambda and SageMaker: no reservations to normalize for
    size = parsed.size
    if parsed.is_metal:
        suffix = _METAL_SUFFIX.match(size)
        if suffix is not None:
            size = f"{suffix.group('n')}xlarge"
        elif parsed.family in METAL_EQUIVALENT_SIZE:
            size = METAL_EQUIVALENT_SIZE[parsed.family]
        else:
            raise UnknownInstanceTypeError(
                f"no normalization factor is known for {name!r}: bare-metal sizes take the factor "
                "of their equivalent size and the family is not in the table; add it to "
                "pricing.instance_types.METAL_EQUIVALENT_SIZE"
            )
    factor = NORMALIZATION_FACTORS.get(size)
    if factor is None and (larger := _N_XLARGE.fullmatch(size)) is not None:
        factor = NORMALIZATION_FACTORS["xlarge"] * int(larger.group("n"))
    if factor is None:
        raise UnknownInstanceTypeError(
            f"unknown instance size {parsed.size!r} in {name!r}; known sizes: {KNOWN_SIZES_TEXT}"
        )
    return factor


def has_normalized_units(name: str) -> bool:
    """Whether :func:`normalization_factor` knows ``name`` (a known family and size)."""
    try:
        normalization_factor(name)
    except UnknownInstanceTypeError:
        return False
    return True


def normalization_factors(names: pd.Series | list[str]) -> npt.NDArray[np.float64]:
    """Vectorised :func:`normalization_factor` over many instance types.

    Each distinct name is parsed once, so a million-row column of a few hundred types costs a few
    hundred parses.
    """
    series = pd.Series(names, dtype="string")
    codes, uniques = pd.factorize(series)
    table = np.array([normalization_factor(str(u)) for u in uniques], dtype=np.float64)
    return table[codes]


def instance_families(names: pd.Series | list[str]) -> pd.Series:
    """Vectorised :func:`instance_family`, each distinct name parsed (and validated) once."""
    series = pd.Series(names, dtype="string")
    codes, uniques = pd.factorize(series)
    families = [parse_instance_type(str(u)).family for u in uniques]
    table = np.array([*families, None], dtype=object)  # code -1 (missing) takes the last
    return pd.Series(table[codes], index=series.index, dtype="string")


def is_size_flexible(platform: str, tenancy: str, scope: str = "Region") -> bool:
    """Whether an RI of this kind applies across sizes of its family (AWS's rule).

    Only regional RIs for ``Linux/UNIX`` on ``Shared`` (default) tenancy are size-flexible;
    Windows, RHEL, SUSE, SQL Server editions, dedicated tenancy and zonal RIs match the exact type.
    """
    return scope == "Region" and platform == "Linux/UNIX" and tenancy == "Shared"


KNOWN_FAMILIES: Final[frozenset[str]] = frozenset(
    [
        "a1",
        "c1",
        "c3",
        "c4",
        "c5",
        "c5a",
        "c5ad",
        "c5d",
        "c5n",
        "c6a",
        "c6g",
        "c6gd",
        "c6gn",
        "c6i",
        "c6id",
        "c6in",
        "c7a",
        "c7g",
        "c7gd",
        "c7gn",
        "c7i",
        "c7i-flex",
        "c8a",
        "c8g",
        "c8gd",
        "c8gn",
        "c8i",
        "c8i-flex",
        "cc1",
        "cc2",
        "cg1",
        "cr1",
        "d2",
        "d3",
        "d3en",
        "dl1",
        "dl2q",
        "f1",
        "f2",
        "g2",
        "g3",
        "g3s",
        "g4ad",
        "g4dn",
        "g5",
        "g5g",
        "g6",
        "g6e",
        "g6f",
        "gr6",
        "gr6f",
        "g7e",
        "h1",
        "hi1",
        "hpc6a",
        "hpc6id",
        "hpc7a",
        "hpc7g",
        "hpc8a",
        "hs1",
        "i2",
        "i3",
        "i3en",
        "i4g",
        "i4i",
        "i7i",
        "i7ie",
        "i8g",
        "i8ge",
        "im4gn",
        "inf1",
        "inf2",
        "is4gen",
        "m1",
        "m2",
        "m3",
        "m4",
        "m5",
        "m5a",
        "m5ad",
        "m5d",
        "m5dn",
        "m5n",
        "m5zn",
        "m6a",
        "m6g",
        "m6gd",
        "m6i",
        "m6id",
        "m6idn",
        "m6in",
        "m7a",
        "m7g",
        "m7gd",
        "m7i",
        "m7i-flex",
        "m8a",
        "m8g",
        "m8gd",
        "m8i",
        "m8i-flex",
        "mac1",
        "mac2",
        "mac2-m1ultra",
        "mac2-m2",
        "mac2-m2pro",
        "mac-m4",
        "mac-m4pro",
        "p2",
        "p3",
        "p3dn",
        "p4d",
        "p4de",
        "p5",
        "p5e",
        "p5en",
        "p6-b200",
        "p6-b300",
        "p6e-gb200",
        "r3",
        "r4",
        "r5",
        "r5a",
        "r5ad",
        "r5b",
        "r5d",
        "r5dn",
        "r5n",
        "r6a",
        "r6g",
        "r6gd",
        "r6i",
        "r6id",
        "r6idn",
        "r6in",
        "r7a",
        "r7g",
        "r7gd",
        "r7i",
        "r7iz",
        "r8a",
        "r8g",
        "r8gd",
        "r8i",
        "r8i-flex",
        "t1",
        "t2",
        "t3",
        "t3a",
        "t4g",
        "trn1",
        "trn1n",
        "trn2",
        "trn2u",
        "u-3tb1",
        "u-6tb1",
        "u-9tb1",
        "u-12tb1",
        "u-18tb1",
        "u-24tb1",
        "u7i-6tb",
        "u7i-8tb",
        "u7i-12tb",
        "u7in-16tb",
        "u7in-24tb",
        "u7in-32tb",
        "u7inh-32tb",
        "vt1",
        "x1",
        "x1e",
        "x2gd",
        "x2idn",
        "x2iedn",
        "x2iezn",
        "x8g",
        "z1d",
    ]
)
"""EC2 instance families commitopt knows, from AWS's "Instance types" pages (Amazon EC2 User
Guide, current and previous generations, as of late 2026). A type outside them is a typo or a
family launched since: imports name it (see :mod:`usage.plausibility`)."""


def unknown_families(names: pd.Series | list[str]) -> list[str]:
    """The families of ``names`` that :data:`KNOWN_FAMILIES` does not hold, sorted."""
    families = instance_families(pd.Series(pd.unique(pd.Series(names, dtype="string"))))
    return sorted({str(f) for f in families.dropna() if str(f) not in KNOWN_FAMILIES})
