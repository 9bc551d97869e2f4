"""Platforms: EC2 operating system and licence combinations, named by their RI product description.

The canonical name of a platform is the RI product description AWS uses (``Linux/UNIX``,
``Windows with SQL Server Standard``, ...). Each has a billing operation code
(``RunInstances:0006``) that CUR line items and Price List records carry, and aliases users type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pandas as pd

from pricing.errors import UnknownPlatformError


@dataclass(frozen=True, slots=True)
class Platform:
    """One platform.

    Attributes
    ----------
    name
        RI product description, e.g. ``"Red Hat Enterprise Linux"``.
    operation
        Billing operation code, e.g. ``"RunInstances:0010"``.
    operating_system
        Price List ``operatingSystem`` attribute (``Linux``, ``RHEL``, ``SUSE``, ``Windows``, ...).
    pre_installed_sw
        Price List ``preInstalledSw`` attribute (``NA``, ``SQL Std``, ``SQL Web``, ``SQL Ent``).
    license_model
        Price List ``licenseModel`` (``No License required`` or ``Bring your own license``).
    aliases
        Short names accepted on the command line and in ec2instances.info files.
    """

    name: str
    operation: str
    operating_system: str
    pre_installed_sw: str
    license_model: str
    aliases: tuple[str, ...]


_NO_LICENSE: Final = "No License required"
_BYOL: Final = "Bring your own license"

PLATFORMS: Final[tuple[Platform, ...]] = (
    Platform("Linux/UNIX", "RunInstances", "Linux", "NA", _NO_LICENSE, ("linux", "unix")),
    Platform("Windows", "RunInstances:0002", "Windows", "NA", _NO_LICENSE, ("windows", "mswin")),
    Platform("Windows BYOL", "RunInstances:0800", "Windows", "NA", _BYOL, ("windows-byol",)),
    Platform("Red Hat Enterprise Linux", "RunInstances:0010", "RHEL", "NA", _NO_LICENSE, ("rhel",)),
    Platform("SUSE Linux", "RunInstances:000g", "SUSE", "NA", _NO_LICENSE, ("suse", "sles")),
    Platform("Ubuntu Pro", "RunInstances:0g00", "Ubuntu Pro", "NA", _NO_LICENSE, ("ubuntu-pro",)),
    Platform(
        "Windows with SQL Server Standard",
        "RunInstances:0006",
        "Windows",
        "SQL Std",
        _NO_LICENSE,
        ("windows-sql-standard", "mswinsql"),
    ),
    Platform(
        "Windows with SQL Server Web",
        "RunInstances:0202",
        "Windows",
        "SQL Web",
        _NO_LICENSE,
        ("windows-sql-web", "mswinsqlweb"),
    ),
    Platform(
        "Windows with SQL Server Enterprise",
        "RunInstances:0102",
        "Windows",
        "SQL Ent",
        _NO_LICENSE,
        ("windows-sql-enterprise", "mswinsqlenterprise"),
    ),
    Platform(
        "Linux with SQL Server Standard",
        "RunInstances:0004",
        "Linux",
        "SQL Std",
        _NO_LICENSE,
        ("linux-sql-standard", "linuxsql"),
    ),
    Platform(
        "Linux with SQL Server Web",
        "RunInstances:0200",
        "Linux",
        "SQL Web",
        _NO_LICENSE,
        ("linux-sql-web", "linuxsqlweb"),
    ),
    Platform(
        "Linux with SQL Server Enterprise",
        "RunInstances:0100",
        "Linux",
        "SQL Ent",
        _NO_LICENSE,
        ("linux-sql-enterprise", "linuxsqlenterprise"),
    ),
    Platform(
        "Red Hat Enterprise Linux with SQL Server Standard",
        "RunInstances:0014",
        "RHEL",
        "SQL Std",
        _NO_LICENSE,
        ("rhel-sql-standard", "rhelsql"),
    ),
    Platform(
        "Red Hat Enterprise Linux with SQL Server Web",
        "RunInstances:0210",
        "RHEL",
        "SQL Web",
        _NO_LICENSE,
        ("rhel-sql-web", "rhelsqlweb"),
    ),
    Platform(
        "Red Hat Enterprise Linux with SQL Server Enterprise",
        "RunInstances:0110",
        "RHEL",
        "SQL Ent",
        _NO_LICENSE,
        ("rhel-sql-enterprise", "rhelsqlenterprise"),
    ),
    Platform(
        "Red Hat Enterprise Linux with HA",
        "RunInstances:1010",
        "Red Hat Enterprise Linux with HA",
        "NA",
        _NO_LICENSE,
        ("rhel-ha",),
    ),
    Platform(
        "Red Hat Enterprise Linux with HA and SQL Server Standard",
        "RunInstances:1014",
        "Red Hat Enterprise Linux with HA",
        "SQL Std",
        _NO_LICENSE,
        ("rhel-ha-sql-standard",),
    ),
    Platform(
        "Red Hat Enterprise Linux with HA and SQL Server Enterprise",
        "RunInstances:1110",
        "Red Hat Enterprise Linux with HA",
        "SQL Ent",
        _NO_LICENSE,
        ("rhel-ha-sql-enterprise",),
    ),
)

PLATFORM_NAMES: Final = tuple(p.name for p in PLATFORMS)
OPERATION_TO_PLATFORM: Final[dict[str, str]] = {p.operation: p.name for p in PLATFORMS}
PLATFORM_TO_OPERATION: Final[dict[str, str]] = {p.name: p.operation for p in PLATFORMS}
_PRICE_LIST_ATTRIBUTES_TO_PLATFORM: Final[dict[tuple[str, str, str], str]] = {
    (p.operating_system.lower(), p.pre_installed_sw.lower(), p.license_model.lower()): p.name
    for p in PLATFORMS
}


def _spellings() -> dict[str, str]:
    """Every known spelling of a platform (lower case) → its canonical name."""
    lookup = {
        spelling.lower(): platform.name
        for platform in PLATFORMS
        for spelling in (platform.name, *platform.aliases)
    }
    # RI product descriptions with the EC2-Classic/VPC suffix, as describe_reserved_instances
    # returns.
    lookup.update(
        {f"{platform.name.lower()} (amazon vpc)": platform.name for platform in PLATFORMS}
    )
    lookup["linux"] = "Linux/UNIX"
    lookup["suse linux enterprise server"] = "SUSE Linux"
    lookup["red hat enterprise linux (rhel)"] = "Red Hat Enterprise Linux"
    return lookup


_LOOKUP: Final[dict[str, str]] = _spellings()


def parse_platform(text: str) -> str:
    """Return the canonical platform (RI product description) for any known spelling.

    Parameters
    ----------
    text
        ``"linux"``, ``"Linux/UNIX (Amazon VPC)"``, ``"rhel"``, ``"mswinSQLWeb"``,
        ``"Windows with SQL Server Web"``, ...

    Raises
    ------
    UnknownPlatformError
        Naming the string and the accepted names.
    """
    found = _LOOKUP.get(str(text).strip().lower())
    if found is None:
        raise UnknownPlatformError(
            f"unknown platform {text!r}; use an RI product description "
            f"({', '.join(PLATFORM_NAMES[:5])}, ...) or an alias (linux, windows, rhel, suse, "
            "windows-sql-standard, windows-sql-web, windows-sql-enterprise)"
        )
    return found


def platform_from_operation(operation: str) -> str:
    """Return the platform billed under an EC2 operation code (``RunInstances:0002`` -> Windows).

    Raises
    ------
    UnknownPlatformError
        For operations that are not EC2 instance platforms (Spot ``RunInstances:SV001``, ...).
    """
    found = OPERATION_TO_PLATFORM.get(str(operation).strip())
    if found is None:
        raise UnknownPlatformError(
            f"unknown EC2 operation {operation!r}: not an on-demand or reserved instance platform "
            "(Spot and other operations are not commitments' demand)"
        )
    return found


def platform_from_price_list(
    operating_system: str, pre_installed_sw: str, license_model: str
) -> str:
    """Return the platform of a Price List product from its three attributes.

    Raises
    ------
    UnknownPlatformError
        For combinations commitopt does not model.
    """
    key = (
        str(operating_system).strip().lower(),
        str(pre_installed_sw or "NA").strip().lower(),
        str(license_model).strip().lower(),
    )
    found = _PRICE_LIST_ATTRIBUTES_TO_PLATFORM.get(key)
    if found is None:
        raise UnknownPlatformError(
            f"unknown Price List platform (operatingSystem={operating_system!r}, "
            f"preInstalledSw={pre_installed_sw!r}, licenseModel={license_model!r})"
        )
    return found


def platforms_from_operations(operations: pd.Series) -> pd.Series:
    """Vectorised :func:`platform_from_operation`; unknown operations become ``<NA>``."""
    return pd.Series(operations, dtype="string").map(OPERATION_TO_PLATFORM).astype("string")
