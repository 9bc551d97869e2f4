"""AWS regions: codes, usage-type prefixes and Price List location names.

CUR and Price List usage types carry a region prefix (``EUW2-BoxUsage:t2.micro``); us-east-1 has
none (``BoxUsage:m5.large``). Older Price List records name the region only by its location
(``"US East (N. Virginia)"``).
"""

from __future__ import annotations

from typing import Final

from pricing.errors import UnknownRegionError

# region code -> (usage-type prefix, Price List location names, newest first)
_REGIONS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "us-east-1": ("USE1", ("US East (N. Virginia)",)),
    "us-east-2": ("USE2", ("US East (Ohio)",)),
    "us-west-1": ("USW1", ("US West (N. California)",)),
    "us-west-2": ("USW2", ("US West (Oregon)",)),
    "us-gov-west-1": ("UGW1", ("AWS GovCloud (US-West)", "AWS GovCloud (US)")),
    "us-gov-east-1": ("UGE1", ("AWS GovCloud (US-East)",)),
    "ca-central-1": ("CAN1", ("Canada (Central)",)),
    "ca-west-1": ("CAN2", ("Canada West (Calgary)",)),
    "mx-central-1": ("MXC1", ("Mexico (Central)",)),
    "sa-east-1": ("SAE1", ("South America (Sao Paulo)",)),
    "eu-west-1": ("EU", ("EU (Ireland)", "Europe (Ireland)")),
    "eu-west-2": ("EUW2", ("EU (London)", "Europe (London)")),
    "eu-west-3": ("EUW3", ("EU (Paris)", "Europe (Paris)")),
    "eu-central-1": ("EUC1", ("EU (Frankfurt)", "Europe (Frankfurt)")),
    "eu-central-2": ("EUC2", ("EU (Zurich)", "Europe (Zurich)")),
    "eu-north-1": ("EUN1", ("EU (Stockholm)", "Europe (Stockholm)")),
    "eu-south-1": ("EUS1", ("EU (Milan)", "Europe (Milan)")),
    "eu-south-2": ("EUS2", ("EU (Spain)", "Europe (Spain)")),
    "il-central-1": ("ILC1", ("Israel (Tel Aviv)",)),
    "me-south-1": ("MES1", ("Middle East (Bahrain)",)),
    "me-central-1": ("MEC1", ("Middle East (UAE)",)),
    "af-south-1": ("AFS1", ("Africa (Cape Town)",)),
    "ap-east-1": ("APE1", ("Asia Pacific (Hong Kong)",)),
    "ap-east-2": ("APE2", ("Asia Pacific (Taipei)",)),
    "ap-northeast-1": ("APN1", ("Asia Pacific (Tokyo)",)),
    "ap-northeast-2": ("APN2", ("Asia Pacific (Seoul)",)),
    "ap-northeast-3": ("APN3", ("Asia Pacific (Osaka)", "Asia Pacific (Osaka-Local)")),
    "ap-southeast-1": ("APS1", ("Asia Pacific (Singapore)",)),
    "ap-southeast-2": ("APS2", ("Asia Pacific (Sydney)",)),
    "ap-south-1": ("APS3", ("Asia Pacific (Mumbai)",)),
    "ap-southeast-3": ("APS4", ("Asia Pacific (Jakarta)",)),
    "ap-south-2": ("APS5", ("Asia Pacific (Hyderabad)",)),
    "ap-southeast-4": ("APS6", ("Asia Pacific (Melbourne)",)),
    "ap-southeast-5": ("APS7", ("Asia Pacific (Malaysia)",)),
    "ap-southeast-6": ("APS8", ("Asia Pacific (New Zealand)",)),
    "ap-southeast-7": ("APS9", ("Asia Pacific (Thailand)",)),
}

REGION_CODES: Final = tuple(_REGIONS)
PREFIX_TO_REGION: Final[dict[str, str]] = {prefix: code for code, (prefix, _) in _REGIONS.items()}
REGION_TO_PREFIX: Final[dict[str, str]] = {code: prefix for code, (prefix, _) in _REGIONS.items()}
LOCATION_TO_REGION: Final[dict[str, str]] = {
    name: code for code, (_, names) in _REGIONS.items() for name in names
}


def check_region(code: str) -> str:
    """Return ``code`` if it is a known AWS region code.

    Raises
    ------
    UnknownRegionError
        Naming the code and the known ones.
    """
    if code not in _REGIONS:
        raise UnknownRegionError(
            f"unknown AWS region {code!r}; known regions: {', '.join(REGION_CODES)}"
        )
    return code


def region_from_location(location: str) -> str:
    """Return the region code of a Price List location name (``"EU (London)"`` -> ``eu-west-2``).

    Raises
    ------
    UnknownRegionError
        For a location that is not an AWS Region (Local Zones, Wavelength) or is unknown.
    """
    code = LOCATION_TO_REGION.get(str(location).strip())
    if code is None:
        raise UnknownRegionError(
            f"unknown AWS location {location!r}; give the region code instead "
            f"(e.g. us-east-1) or add it to pricing.regions"
        )
    return code


def region_from_prefix(prefix: str) -> str:
    """Return the region code of a usage-type prefix; the empty prefix is us-east-1."""
    if prefix == "":
        return "us-east-1"
    code = PREFIX_TO_REGION.get(prefix)
    if code is None:
        raise UnknownRegionError(
            f"unknown usage-type region prefix {prefix!r}; known prefixes: "
            f"{', '.join(PREFIX_TO_REGION)}"
        )
    return code
