"""Reader of ec2instances.info's ``instances.json`` (the data behind instances.vantage.sh).

The file is a JSON list of instance records (optionally gzipped); one record looks like::

    {"instance_type": "c5.large", ...,
     "pricing": {"us-east-1": {"linux": {"ondemand": "0.085",
                                         "reserved": {"yrTerm1Standard.partialUpfront": "0.052",
                                                      ...}},
                               "mswin": {...}, "ebs": "0.00"}}}

Every RI value is an **effective** hourly rate (upfront ÷ term hours + recurring, as the
ec2instances.info scraper computes it), so the upfront / recurring split is not in the file: it is
derived here by payment option (see :func:`split_effective_hourly`). Savings Plans rates are read
from the scraper's ``yrTerm{1,3}Savings.*`` (Compute SP) and ``yrTerm{1,3}InstanceSavings.*``
(EC2 Instance SP) keys where present, and otherwise derived by AWS's documented equivalence:
EC2 Instance SP rate = standard RI effective rate, Compute SP rate = convertible RI effective rate
(same key, term and payment option).

OS keys and platforms
---------------------
The scraper (``ec2.py``, ``translate_platform_name``) names a platform by its Price List
``operatingSystem`` (Linux -> ``linux``, RHEL -> ``rhel``, SUSE -> ``sles``, Windows -> ``mswin``,
Ubuntu Pro -> ``ubuntu``) plus its ``preInstalledSw`` (SQL Std -> ``SQL``, SQL Web -> ``SQLWeb``,
SQL Ent -> ``SQLEnterprise``), and reads only shared tenancy with licence included. So ``ubuntu``
is **Ubuntu Pro** (plain Ubuntu is billed as Linux/UNIX), ``mswin`` is Windows with the licence
included, and ``linuxSQL`` / ``rhelSQLWeb`` / ... are the SQL Server editions on Linux and RHEL
(aliases in :mod:`pricing.platforms`). ``dedicated`` comes from AWS's dedicated pricing pages and
is read as Linux/UNIX on Dedicated tenancy. The scraper also maps "Red Hat Enterprise Linux with
HA" to ``rhel``; commitopt reads ``rhel`` as plain Red Hat Enterprise Linux. ``ebs`` and ``emr``
are not instance prices and are ignored; other unknown OS keys are skipped and counted in the
catalog's notes.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.errors import CommitoptInputError
from pricing.catalog import KEY_COLUMNS, CatalogMetadata, PriceCatalog
from pricing.errors import PriceFileError, UnknownPlatformError
from pricing.offerings import PARTIAL_UPFRONT_RI_UPFRONT_SHARE, PAYMENT_OPTIONS, TERM_HOURS
from pricing.platforms import parse_platform
from pricing.readers.common import sniff

IGNORED_OS_KEYS: Final = frozenset({"ebs", "emr"})
"""Keys beside the OS keys that are not instance prices (EBS-optimised surcharge, EMR fee)."""

LOCAL_OS_KEYS: Final[dict[str, tuple[str, str]]] = {
    "ubuntu": ("Ubuntu Pro", "Shared"),
    "dedicated": ("Linux/UNIX", "Dedicated"),
}
"""OS keys that :func:`pricing.platforms.parse_platform` does not know: ``(platform, tenancy)``."""

_PRICE_KEY: Final = re.compile(
    r"^yrTerm(?P<term>[13])(?P<kind>Standard|Convertible|Savings|InstanceSavings)"
    r"\.(?P<payment>noUpfront|partialUpfront|allUpfront)$"
)
_PAYMENT_NAMES: Final = {
    "noUpfront": "No Upfront",
    "partialUpfront": "Partial Upfront",
    "allUpfront": "All Upfront",
}
_KINDS: Final[dict[str, tuple[str, str]]] = {
    "Standard": ("reserved", "standard"),
    "Convertible": ("reserved", "convertible"),
    "Savings": ("savings_plans", "compute"),
    "InstanceSavings": ("savings_plans", "ec2_instance"),
}
_SP_FROM_RI_CLASS: Final = {"standard": "ec2_instance", "convertible": "compute"}
_FIX: Final = "download instances.json again from ec2instances.info (or its GitHub history)"


def split_effective_hourly(
    effective_usd_per_hour: npt.ArrayLike, term_years: npt.ArrayLike, payment_option: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Split effective RI rates into an upfront fee and a recurring rate, by payment option.

    All Upfront: upfront = effective × term hours, recurring 0. No Upfront: upfront 0,
    recurring = effective. Partial Upfront:
    :data:`pricing.offerings.PARTIAL_UPFRONT_RI_UPFRONT_SHARE` (50 %) of the effective cost over
    the term upfront, the rest recurring. In every case upfront ÷ term hours + recurring =
    effective.

    Parameters
    ----------
    effective_usd_per_hour
        Effective hourly rates [USD/h], ≥ 0.
    term_years
        1 or 3 per rate [years].
    payment_option
        ``"No Upfront"``, ``"Partial Upfront"`` or ``"All Upfront"`` per rate.

    Returns
    -------
    tuple of numpy.ndarray
        ``(upfront_usd, recurring_usd_per_hour)`` [USD per RI, USD/h].

    Raises
    ------
    CommitoptInputError
        For a term other than 1 or 3 years or an unknown payment option.
    """
    effective = np.asarray(effective_usd_per_hour, dtype=np.float64)
    terms = np.broadcast_to(np.asarray(term_years), effective.shape)
    payments = np.broadcast_to(np.asarray(payment_option, dtype=object), effective.shape)
    bad_term = ~np.isin(terms, list(TERM_HOURS))
    if bad_term.any():
        raise CommitoptInputError(
            f"term_years {sorted(set(terms[bad_term].tolist()))[:3]} not 1 or 3; "
            "AWS sells 1-year and 3-year RIs"
        )
    bad_payment = ~np.isin(payments, list(PAYMENT_OPTIONS))
    if bad_payment.any():
        raise CommitoptInputError(
            f"unknown payment option(s) {sorted(set(map(str, payments[bad_payment])))[:3]}; "
            f"use one of {', '.join(PAYMENT_OPTIONS)}"
        )
    hours = np.where(terms == 3, TERM_HOURS[3], TERM_HOURS[1]).astype(np.float64)
    upfront_share = np.select(
        [payments == "All Upfront", payments == "Partial Upfront"],
        [1.0, PARTIAL_UPFRONT_RI_UPFRONT_SHARE],
        default=0.0,
    )
    upfront = upfront_share * effective * hours
    recurring = np.where(upfront_share == 1.0, 0.0, (1.0 - upfront_share) * effective)
    return upfront, recurring


def read_ec2instances_info(
    path: str | Path, *, as_of: date | None = None, source: str | None = None
) -> PriceCatalog:
    """Read an ec2instances.info ``instances.json`` (or ``.json.gz``) into a price catalog.

    Parameters
    ----------
    path
        A JSON list of instance records, gzipped or not; a single record (a JSON object with
        ``instance_type`` and ``pricing``) is accepted too.
    as_of
        Date of the prices; defaults to the file's modification date (UTC), which the notes say.
    source
        Provenance shown by ``pricing info``; defaults to ``"ec2instances.info <file name>"``.

    Returns
    -------
    PriceCatalog
        On-demand rates; RI offerings with the effective rate split into upfront and recurring
        (Partial and All Upfront rows ``derived``, the split stated in
        ``metadata.partial_upfront_split``); Savings Plans rates from the file where present,
        otherwise derived from RI rates (``derived``, stated in ``metadata.derived_rates``).
        Missing, ``"N/A"``, non-numeric and zero values (the scraper's "no USD price") are
        skipped, as are unknown OS keys; the notes count them.

    Raises
    ------
    PriceFileError
        Missing, empty, HTML or truncated file; invalid JSON; not instance records; a negative
        rate; no rate at all.
    """
    file = Path(path)
    records = _load_records(file)
    prices, os_keys = _long_prices(records, file)
    notes: list[str] = []

    platforms = _platform_table(os_keys)
    unknown_keys = sorted(key for key in os_keys if key not in platforms.index)
    prices = prices.join(platforms, on="os_key")
    unknown_rows = prices["platform"].isna()
    if unknown_keys:
        notes.append(
            f"skipped {len(unknown_keys)} unknown OS key(s) ({', '.join(unknown_keys[:8])}) "
            f"with {int(unknown_rows.sum())} value(s)"
        )
    prices = prices.loc[~unknown_rows]

    prices = _numeric_rates(prices, file, notes)
    parsed = _parse_price_keys(prices["price_key"])
    unrecognised = parsed["table"].isna()
    if unrecognised.any():
        seen = sorted(set(prices.loc[unrecognised, "price_key"]))
        notes.append(
            f"ignored {int(unrecognised.sum())} value(s) under unrecognised price key(s) "
            f"({', '.join(seen[:6])})"
        )
    prices = pd.concat([prices, parsed], axis=1).loc[~unrecognised]
    if prices.empty:
        shown = ", ".join(sorted(os_keys)[:8]) or "none"
        raise PriceFileError(
            file,
            f"no EC2 instance prices found (OS keys seen: {shown})",
            "pass ec2instances.info's EC2 instances.json",
        )

    metadata_source = source or f"ec2instances.info {file.name}"
    if as_of is None:
        as_of = datetime.fromtimestamp(file.stat().st_mtime, tz=UTC).date()
        notes.append("as-of date is the file's modification date (no date in the file)")

    on_demand = _on_demand_table(prices)
    reserved = _reserved_table(prices)
    savings_plans, read_count, derived_count = _savings_plans_table(prices, reserved)

    derived_rates = ""
    if derived_count:
        derived_rates = (
            f"{derived_count} Savings Plans rates derived from RI effective rates by AWS's "
            "equivalence (EC2 Instance SP rate = standard RI effective rate, Compute SP rate = "
            "convertible RI effective rate; same key, term and payment option)"
        )
        if read_count:
            derived_rates += f"; {read_count} Savings Plans rates read from the file"
    partial_split = ""
    if not reserved.empty:
        share = PARTIAL_UPFRONT_RI_UPFRONT_SHARE
        partial_split = (
            "the file gives effective hourly RI rates only; split by payment option: "
            f"Partial Upfront = {share:.0%} of effective rate × term hours upfront and "
            f"{1 - share:.0%} of the effective rate recurring (assumed; real offerings are close "
            "to half), All Upfront = effective rate × term hours upfront, No Upfront = effective "
            "rate recurring; Partial and All Upfront rows are marked derived"
        )
    metadata = CatalogMetadata(
        source=metadata_source,
        as_of=as_of,
        derived_rates=derived_rates,
        partial_upfront_split=partial_split,
        notes=tuple(notes),
    )
    try:
        return PriceCatalog.from_frames(
            metadata, on_demand=on_demand, reserved=reserved, savings_plans=savings_plans
        )
    except CommitoptInputError as error:
        raise PriceFileError(file, error.template, _FIX) from error


# ---------------------------------------------------------------------------------- loading


def _load_records(file: Path) -> list[dict[str, Any]]:
    """Parse the file into a list of instance records, or raise naming what is wrong."""
    sniffed = sniff(file)
    raw = gzip.decompress(file.read_bytes()) if sniffed.compressed else file.read_bytes()
    try:
        payload = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise PriceFileError(file, f"not UTF-8 text ({error.reason})", _FIX) from error
    except json.JSONDecodeError as error:
        raise PriceFileError(
            file, f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})", _FIX
        ) from error
    records = [payload] if isinstance(payload, dict) else payload
    if not isinstance(records, list):
        raise PriceFileError(
            file,
            f"expected a JSON list of instance records, found a JSON {type(payload).__name__}",
            "pass ec2instances.info's instances.json",
        )
    if not records:
        raise PriceFileError(file, "the JSON list holds no instance records", _FIX)
    for index, record in enumerate(records):
        if not isinstance(record, dict) or not isinstance(record.get("instance_type"), str):
            raise PriceFileError(
                file,
                f"record {index} is not an instance record (no 'instance_type' string)",
                "pass ec2instances.info's instances.json",
            )
        if not isinstance(record.get("pricing", {}), dict):
            raise PriceFileError(
                file,
                f"record {index} ({record['instance_type']}): 'pricing' is not a JSON object",
                _FIX,
            )
    counts = Counter(record["instance_type"] for record in records)
    repeated = sorted(name for name, count in counts.items() if count > 1)
    if repeated:
        raise PriceFileError(
            file,
            f"instance type(s) {', '.join(repeated[:5])} appear in more than one record",
            "pass one unmodified instances.json (not several concatenated)",
        )
    return records


def _entries(prices: object) -> Iterator[tuple[str, object]]:
    """Yield ``(price key, raw value)`` of one OS entry: on-demand, reserved and SP keys."""
    if not isinstance(prices, dict):
        return
    if "ondemand" in prices:
        yield "ondemand", prices["ondemand"]
    reserved = prices.get("reserved")
    if isinstance(reserved, dict):
        yield from reserved.items()
    for key, value in prices.items():
        if key.startswith("yrTerm"):
            yield key, value


def _scalar(value: object) -> object:
    """A value ``pd.to_numeric`` can coerce: strings and numbers as they are, anything else None."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return value


def _long_prices(records: list[dict[str, Any]], file: Path) -> tuple[pd.DataFrame, set[str]]:
    """One row per (type, region, OS key, price key) with the raw value; plus every OS key seen."""
    regions = [
        (record["instance_type"], region, by_os)
        for record in records
        for region, by_os in (record.get("pricing") or {}).items()
        if isinstance(by_os, dict)
    ]
    os_keys = {key for _, _, by_os in regions for key in by_os if key not in IGNORED_OS_KEYS}
    rows = [
        (instance_type, region, os_key, price_key, _scalar(value))
        for instance_type, region, by_os in regions
        for os_key, prices in by_os.items()
        if os_key not in IGNORED_OS_KEYS
        for price_key, value in _entries(prices)
    ]
    frame = pd.DataFrame(
        rows, columns=["instance_type", "region", "os_key", "price_key", "raw_value"]
    )
    for column in ("instance_type", "region", "os_key", "price_key"):
        frame[column] = frame[column].astype("string")
    # A key written both beside and inside "reserved" counts once (the first one read).
    frame = frame.drop_duplicates(["instance_type", "region", "os_key", "price_key"])
    return frame, os_keys


def _platform_table(os_keys: set[str]) -> pd.DataFrame:
    """Map each known OS key to ``platform`` and ``tenancy`` (unknown keys are left out)."""
    mapped: dict[str, tuple[str, str]] = {}
    for key in sorted(os_keys):
        if key in LOCAL_OS_KEYS:
            mapped[key] = LOCAL_OS_KEYS[key]
            continue
        try:
            mapped[key] = (parse_platform(key), "Shared")
        except UnknownPlatformError:
            continue
    table = pd.DataFrame.from_dict(mapped, orient="index", columns=["platform", "tenancy"])
    return table.astype("string")


def _numeric_rates(prices: pd.DataFrame, file: Path, notes: list[str]) -> pd.DataFrame:
    """Convert raw values to rates [USD/h]; skip missing, non-numeric and zero; reject negative."""
    values = pd.to_numeric(prices["raw_value"], errors="coerce").astype("float64")
    finite = np.isfinite(values.to_numpy())
    negative = finite & (values.to_numpy() < 0)
    if negative.any():
        first = prices.loc[negative].iloc[0]
        raise PriceFileError(
            file,
            f"negative rate {first['raw_value']} for {first['instance_type']} {first['region']} "
            f"{first['os_key']} {first['price_key']}"
            + (f" and {int(negative.sum()) - 1} more" if negative.sum() > 1 else ""),
            _FIX,
        )
    zero = finite & (values.to_numpy() == 0)
    missing = ~finite
    if missing.any():
        notes.append(f"skipped {int(missing.sum())} missing, 'N/A' or non-numeric value(s)")
    if zero.any():
        notes.append(
            f"skipped {int(zero.sum())} zero rate(s) (the scraper writes 0 when AWS lists no "
            "USD price)"
        )
    keep = finite & ~zero
    return prices.loc[keep].drop(columns="raw_value").assign(rate_usd=values[keep])


def _parse_price_keys(price_keys: pd.Series) -> pd.DataFrame:
    """Vectorised parse of ``ondemand`` / ``yrTerm...`` keys into table, class, term, payment."""
    distinct: dict[str, tuple[object, ...]] = {}
    for key in price_keys.unique():
        if key == "ondemand":
            distinct[key] = ("on_demand", pd.NA, pd.NA, pd.NA)
            continue
        match = _PRICE_KEY.match(str(key))
        if match is None:
            distinct[key] = (pd.NA, pd.NA, pd.NA, pd.NA)
            continue
        table, offering = _KINDS[match["kind"]]
        distinct[key] = (table, offering, int(match["term"]), _PAYMENT_NAMES[match["payment"]])
    lookup = pd.DataFrame.from_dict(
        distinct, orient="index", columns=["table", "offering", "term_years", "payment_option"]
    )
    parsed = lookup.reindex(price_keys.to_numpy())
    parsed.index = price_keys.index
    return parsed


def _on_demand_table(prices: pd.DataFrame) -> pd.DataFrame:
    rows = prices.loc[prices["table"] == "on_demand"]
    return (
        rows[list(KEY_COLUMNS)]
        .assign(on_demand_usd_per_hour=rows["rate_usd"])
        .sort_values(list(KEY_COLUMNS), kind="stable")
        .reset_index(drop=True)
    )


def _reserved_table(prices: pd.DataFrame) -> pd.DataFrame:
    rows = prices.loc[prices["table"] == "reserved"]
    term_years = rows["term_years"].astype("int64").to_numpy()
    payment = rows["payment_option"].astype(str).to_numpy()
    effective = rows["rate_usd"].to_numpy(dtype=np.float64)
    upfront, recurring = split_effective_hourly(effective, term_years, payment)
    table = rows[list(KEY_COLUMNS)].assign(
        offering_class=rows["offering"],
        term_years=term_years,
        payment_option=payment,
        upfront_usd=upfront,
        recurring_usd_per_hour=recurring,
        effective_usd_per_hour=effective,
        derived=payment != "No Upfront",
    )
    order = [*KEY_COLUMNS, "offering_class", "term_years", "payment_option"]
    return table.sort_values(order, kind="stable").reset_index(drop=True)


def _savings_plans_table(
    prices: pd.DataFrame, reserved: pd.DataFrame
) -> tuple[pd.DataFrame, int, int]:
    """SP rates read from the file, completed by rates derived from RI effective rates.

    Returns the table, the number of rates read and the number derived.
    """
    columns = [*KEY_COLUMNS, "plan_type", "term_years", "payment_option", "sp_hourly_usd"]
    rows = prices.loc[prices["table"] == "savings_plans"]
    read = rows[list(KEY_COLUMNS)].assign(
        plan_type=rows["offering"],
        term_years=rows["term_years"].astype("int64"),
        payment_option=rows["payment_option"],
        sp_hourly_usd=rows["rate_usd"],
        derived=False,
    )
    derived = reserved[list(KEY_COLUMNS)].assign(
        plan_type=reserved["offering_class"].map(_SP_FROM_RI_CLASS),
        term_years=reserved["term_years"],
        payment_option=reserved["payment_option"],
        sp_hourly_usd=reserved["effective_usd_per_hour"],
        derived=True,
    )
    combined = pd.concat([read[[*columns, "derived"]], derived[[*columns, "derived"]]])
    for column in ("plan_type", "payment_option"):
        combined[column] = combined[column].astype("string")
    combined = combined.drop_duplicates(columns[:-1], keep="first")
    order = columns[:-1]
    combined = combined.sort_values(order, kind="stable").reset_index(drop=True)
    derived_count = int(combined["derived"].sum())
    return combined, len(combined) - derived_count, derived_count
