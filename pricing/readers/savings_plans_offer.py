"""Savings Plans rates from the AWS Price List Savings Plans offer files (CSV and JSON).

The offer ``AmazonComputeSavingsPlan`` (URL path ``AWSComputeSavingsPlan``) is published per region;
each file lists, for every plan (Compute or EC2 Instance Savings Plan × term × payment option), the
rate charged against the hourly commitment for one unit of each discounted usage type. commitopt
keeps the EC2 instance-hours that commitments cover (``BoxUsage`` and ``DedicatedUsage``) and drops
the rest (``UnusedBox`` / ``UnusedDed`` capacity-reservation rates, ``HostUsage``); the Fargate and
Lambda rates of the same file, and the SageMaker and Database Savings Plans offers, are read by
:mod:`pricing.readers.savings_plans_offers`, which ``pricing import`` uses for every offer.

CSV layout: five preamble lines (``FormatVersion``, ``Disclaimer``, ``Publication Date``,
``Version``, ``OfferCode``), then a header row starting with ``SKU`` and one row per rate. The
regional files are hundreds of megabytes, so the CSV is read with DuckDB (all columns as text, only
the needed columns, filtered in SQL) under a memory limit.

JSON layout: ``version``, ``publicationDate``, ``products`` (the plans) and ``terms.savingsPlan``
(each plan's rates); :mod:`pricing.readers.savings_plans_json` walks it incrementally, one plan at a
time, so memory stays bounded by the largest plan rather than the whole file.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from core.errors import CommitoptInputError
from pricing.catalog import KEY_COLUMNS, SAVINGS_PLAN_COLUMNS, CatalogMetadata, PriceCatalog
from pricing.errors import PriceFileError
from pricing.offerings import parse_payment_option, parse_savings_plan_type, parse_term_years
from pricing.readers.common import SniffedFile, offer_publication_date, require_columns, sniff
from pricing.readers.json_stream import open_json
from pricing.readers.savings_plans_json import JSON_NAMES, json_row_name, offer_json_rates
from pricing.regions import REGION_TO_PREFIX, check_region
from pricing.usage_types import keys_from_usage_types

OFFER_CODES: Final = ("AmazonComputeSavingsPlan", "AWSComputeSavingsPlan")
"""Offer codes of the Compute Savings Plans offer (the file's ``OfferCode`` and its URL path)."""

DUCKDB_MEMORY_LIMIT: Final = "1GB"
"""Memory DuckDB may use while scanning an offer CSV."""

RAW_COLUMNS: Final = (
    "rate_code",
    "plan_family",
    "payment",
    "term",
    "usage_type",
    "operation",
    "rate",
    "currency",
    "unit",
    "region_hint",
    "instance_type_hint",
)
"""Columns of the raw rate table every source is brought to before :func:`savings_plans_table`."""

CSV_COLUMNS: Final[dict[str, str]] = {
    "rate_code": "RateCode",
    "unit": "Unit",
    "rate": "DiscountedRate",
    "currency": "Currency",
    "service_code": "DiscountedServiceCode",
    "usage_type": "DiscountedUsageType",
    "operation": "DiscountedOperation",
    "payment": "PurchaseOption",
    "term_length": "LeaseContractLength",
    "term_unit": "LeaseContractLengthUnit",
    "plan_family": "Product Family",
}
CSV_OPTIONAL: Final[dict[str, str]] = {
    "region_hint": "DiscountedRegionCode",
    "instance_type_hint": "DiscountedInstanceType",
}
CSV_NAMES: Final[dict[str, str]] = {
    **CSV_COLUMNS,
    **CSV_OPTIONAL,
    "term": "LeaseContractLength and LeaseContractLengthUnit",
}
"""The CSV columns of a Savings Plans offer file (every offer has the same 24): the required
ones, the optional ones and how a message names each."""
_INSTANCE_USAGE: Final = r"(?:BoxUsage|DedicatedUsage):"
_CSV_FIX: Final = "download the Savings Plans offer file again and import it unmodified"
_JSON_FIX: Final = _CSV_FIX


# ---------------------------------------------------------------------------------------- shared


@dataclass(frozen=True)
class RateSource:
    """Where raw rates come from, to name the file, row and column in error messages.

    Attributes
    ----------
    where
        The file, or the API operation, that was read.
    columns
        The source's name of each :data:`RAW_COLUMNS` column (``rate`` -> ``DiscountedRate``).
    describe
        Names one raw row, e.g. ``"row 17 (RateCode 2JT7...)"``; called only to report an error.
    fix
        What the user can do about a bad value.
    """

    where: str
    columns: Mapping[str, str]
    describe: Callable[[pd.Series], str]
    fix: str

    def error(self, row: pd.Series, column: str, problem: str) -> PriceFileError:
        """A :class:`PriceFileError` naming the row and the source's column."""
        name = self.columns.get(column, column)
        return PriceFileError(
            self.where, f"{self.describe(row)}, column {name}: {problem}", self.fix
        )


def savings_plans_table(
    raw: pd.DataFrame, source: RateSource, regions: Sequence[str] = ()
) -> tuple[pd.DataFrame, list[str]]:
    """Turn raw Savings Plans rates into the catalog's ``savings_plans`` table.

    Keeps EC2 instance usage (``BoxUsage`` / ``DedicatedUsage``) in ``regions`` (all when empty),
    maps usage type and operation to the key, parses plan type, term and payment option, checks
    units, currency and rates, and drops exact duplicates.

    Parameters
    ----------
    raw
        One row per rate with the text columns :data:`RAW_COLUMNS` (``region_hint`` and
        ``instance_type_hint`` may be empty); ``rate`` in [USD/h].
    source
        Names the source in errors.
    regions
        Region codes to keep.

    Returns
    -------
    table : pandas.DataFrame
        Columns ``region``, ``instance_type``, ``platform``, ``tenancy``, ``plan_type``,
        ``term_years``, ``payment_option``, ``sp_hourly_usd`` [USD/h], sorted.
    notes : list of str
        What was skipped and why (e.g. instance usage with an operation commitopt does not know).

    Raises
    ------
    PriceFileError
        Unit other than ``Hrs``, currency other than USD, a rate that is missing, not a number,
        not finite or negative, an unknown plan type, term or payment option, a usage type that
        disagrees with the row's region or instance type, or one key and plan with two rates.
    """
    raw = raw.reset_index(drop=True)
    for column in RAW_COLUMNS:
        if column not in raw:
            raw[column] = pd.NA
    raw = raw.astype(dict.fromkeys(RAW_COLUMNS, "string"))
    usage = raw["usage_type"].fillna("")
    raw = raw.loc[usage.str.contains(_INSTANCE_USAGE, regex=True)].reset_index(drop=True)
    keys = keys_from_usage_types(raw["usage_type"], raw["operation"].fillna(""))
    notes = []
    unmapped = keys["region"].isna().to_numpy()
    if unmapped.any():
        examples = (
            raw.loc[unmapped, ["usage_type", "operation"]]
            .drop_duplicates()
            .head(3)
            .apply(lambda row: f"{row['usage_type']} {row['operation']}", axis=1)
        )
        notes.append(
            f"skipped {int(unmapped.sum())} EC2 instance-usage rate(s) with a usage-type region or "
            f"operation commitopt does not know (e.g. {', '.join(examples)})"
        )
    keep = ~unmapped
    if regions:
        keep &= keys["region"].isin(list(regions)).to_numpy()
    raw = raw.loc[keep].reset_index(drop=True)
    keys = keys.loc[keep].reset_index(drop=True)

    require_values(raw, source)
    require_equal(raw, "unit", "Hrs", source, "Savings Plans rates of EC2 instances are per hour")
    require_equal(
        raw,
        "currency",
        "USD",
        source,
        "commitopt prices in USD only; use the AWS (global) price list",
    )
    rates = parse_rates(raw, source)
    plan_type = map_distinct(raw, "plan_family", parse_savings_plan_type, source)
    payment = map_distinct(raw, "payment", parse_payment_option, source)
    term = map_distinct(raw, "term", parse_term_years, source)
    _cross_check(raw, keys, "region_hint", "region", source)
    _cross_check(raw, keys, "instance_type_hint", "instance_type", source)

    table = keys.loc[:, list(KEY_COLUMNS)].copy()
    table["plan_type"] = plan_type
    table["term_years"] = term.astype("int64")
    table["payment_option"] = payment
    table["sp_hourly_usd"] = rates
    plan_key = [*KEY_COLUMNS, *SAVINGS_PLAN_COLUMNS]
    unique = ~table.duplicated([*plan_key, "sp_hourly_usd"]).to_numpy()
    table, raw = table.loc[unique], raw.loc[unique]
    conflict = table.duplicated(plan_key, keep=False).to_numpy()
    if conflict.any():
        clashing = table.loc[conflict]
        first = clashing.iloc[0]
        same = (clashing[plan_key] == first[plan_key]).all(axis=1).to_numpy()
        rows = raw.loc[conflict].loc[same].sort_values("rate_code").head(2)
        shown = [f"{float(rate):g} USD/h" for rate in rows["rate"]]
        raise PriceFileError(
            source.where,
            f"{source.describe(rows.iloc[0])} and {source.describe(rows.iloc[1])} give two rates "
            f"({' and '.join(shown)}) for {' '.join(str(v) for v in first[plan_key])}",
            "import each offer file once, and do not mix files of different versions",
        )
    table = table.sort_values(plan_key).reset_index(drop=True)
    return table, notes


def require_values(raw: pd.DataFrame, source: RateSource) -> None:
    """Raise naming the first row where a needed value is missing."""
    for column in ("rate_code", "plan_family", "payment", "term", "rate", "currency", "unit"):
        missing = raw[column].isna() | raw[column].str.strip().eq("")
        if missing.any():
            raise source.error(raw.loc[missing].iloc[0], column, "the value is missing")


def require_equal(
    raw: pd.DataFrame, column: str, expected: str, source: RateSource, why: str
) -> None:
    """Raise naming the first row whose ``column`` is not ``expected`` (and ``why`` it must be)."""
    bad = raw[column].ne(expected).to_numpy()
    if bad.any():
        row = raw.loc[bad].iloc[0]
        raise source.error(row, column, f"{row[column]!r} where {expected!r} is expected ({why})")


def parse_rates(raw: pd.DataFrame, source: RateSource) -> npt.NDArray[np.float64]:
    """Rates as floats [USD/h]; raise on text, NaN, infinity or a negative rate."""
    rates = pd.to_numeric(raw["rate"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(rates)
    if bad.any():
        row = raw.loc[bad].iloc[0]
        raise source.error(row, "rate", f"{row['rate']!r} is not a finite number of USD per hour")
    negative = rates < 0
    if negative.any():
        row = raw.loc[negative].iloc[0]
        raise source.error(row, "rate", f"{row['rate']!r} is negative")
    return rates


def map_distinct(
    raw: pd.DataFrame, column: str, parse: Callable[[str], Any], source: RateSource
) -> pd.Series:
    """Parse each distinct value of ``column`` once and map the column through the results."""
    parsed: dict[str, Any] = {}
    for value in raw[column].unique():
        try:
            parsed[str(value)] = parse(str(value))
        except CommitoptInputError as error:
            row = raw.loc[raw[column].eq(value).to_numpy()].iloc[0]
            raise source.error(row, column, error.template) from error
    return raw[column].map(parsed)


def _cross_check(
    raw: pd.DataFrame, keys: pd.DataFrame, hint: str, column: str, source: RateSource
) -> None:
    """Raise where the row's own region / instance type disagrees with its usage type."""
    given = raw[hint].fillna("").str.strip()
    wrong = (given.ne("") & given.ne(keys[column])).to_numpy()
    if wrong.any():
        row = raw.loc[wrong].iloc[0]
        found = keys.loc[wrong, column].iloc[0]
        raise source.error(
            row, hint, f"{row[hint]!r} but the usage type {row['usage_type']} is {column} {found}"
        )


def _region_prefixes(regions: Sequence[str]) -> list[str]:
    """Usage-type prefixes of ``regions`` (us-east-1 has none, or ``USE1``)."""
    prefixes = [REGION_TO_PREFIX[check_region(region)] for region in regions]
    return [*prefixes, ""] if "us-east-1" in regions else prefixes


def _catalog(
    path: Path,
    table: pd.DataFrame,
    notes: list[str],
    regions: Sequence[str],
    metadata: CatalogMetadata,
) -> PriceCatalog:
    if table.empty:
        scope = f" for region(s) {', '.join(regions)}" if regions else ""
        raise PriceFileError(
            path,
            f"no EC2 instance (BoxUsage / DedicatedUsage) Savings Plans rates{scope}",
            "Savings Plans offer files are regional: import the file of each region you use "
            "(AWSComputeSavingsPlan/<version>/<region>/index.csv)",
        )
    metadata = CatalogMetadata(metadata.source, metadata.as_of, notes=tuple(notes))
    return PriceCatalog.from_frames(metadata, savings_plans=table)


# ------------------------------------------------------------------------------------------- CSV


def read_savings_plans_csv(path: str | Path, *, regions: Sequence[str] = ()) -> PriceCatalog:
    """Read the EC2 Savings Plans rates of an AWS Savings Plans offer CSV (plain or gzip).

    Parameters
    ----------
    path
        A regional ``AWSComputeSavingsPlan`` offer file, e.g.
        ``savingsPlan/v1.0/aws/AWSComputeSavingsPlan/20250911184447/ap-east-2/index.csv``.
    regions
        Region codes to keep (all when empty).

    Returns
    -------
    PriceCatalog
        Savings Plans rates only (``sp_hourly_usd`` [USD/h] per key, plan type, term and payment
        option); ``as_of`` is the file's publication date and ``source`` names its version.

    Raises
    ------
    PriceFileError
        Missing, empty, HTML or truncated file; a preamble or header that is not the Savings Plans
        offer's; missing columns; a bad value (see :func:`savings_plans_table`), naming the row
        (line number and ``RateCode``) and the column; no EC2 instance rates for ``regions``.
    """
    file = Path(path)
    regions = list(regions)
    prefixes = _region_prefixes(regions)
    sniffed = sniff(file)
    preamble, header, skip = csv_preamble(sniffed)
    require_columns(file, header, CSV_COLUMNS.values(), "Savings Plans offer CSV")
    offer = preamble.get("OfferCode", "")
    if offer and offer not in OFFER_CODES:
        raise PriceFileError(
            file,
            f"OfferCode is {offer!r}, not the Compute Savings Plans offer "
            f"({' / '.join(OFFER_CODES)})",
            "pass the AWSComputeSavingsPlan offer file (EC2 on-demand and RI prices have their "
            "own reader)",
        )
    if "Publication Date" not in preamble:
        raise PriceFileError(
            file, "the preamble has no 'Publication Date' line", "import the offer file unmodified"
        )
    raw = _query_csv(sniffed, skip, header, prefixes)
    raw["term"] = raw["term_length"].str.strip() + " " + raw["term_unit"].str.strip()
    source = RateSource(str(file), CSV_NAMES, csv_row_namer(sniffed), _CSV_FIX)
    table, notes = savings_plans_table(raw, source, regions)
    version = preamble.get("Version", "(unknown version)")
    metadata = CatalogMetadata(
        source=f"AWS Price List {offer or 'Savings Plans'} {version} CSV ({file.name})",
        as_of=offer_publication_date(file, preamble["Publication Date"], "Publication Date"),
    )
    return _catalog(file, table, notes, regions, metadata)


def csv_preamble(sniffed: SniffedFile) -> tuple[dict[str, str], list[str], int]:
    """Return the preamble as a dict, the header columns and the header's 0-based line number."""
    lines = sniffed.head_text.splitlines()[:20]
    for number, row in enumerate(csv.reader(lines)):
        if row and row[0].strip() == "SKU":
            preamble = {
                cells[0].strip(): cells[1].strip()
                for cells in csv.reader(lines[:number])
                if len(cells) >= 2
            }
            return preamble, [cell.strip() for cell in row], number
    first = lines[0][:80] if lines else ""
    raise PriceFileError(
        sniffed.path,
        f"no header row starting with SKU in the first lines (line 1 is {first!r})",
        "pass an AWS Savings Plans offer CSV (AWSComputeSavingsPlan .../index.csv)",
    )


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _query_csv(
    sniffed: SniffedFile, skip: int, header: list[str], prefixes: list[str]
) -> pd.DataFrame:
    """Scan the CSV with DuckDB: needed columns only, EC2 instance usage (and regions) only."""
    selected = [f"{_quoted(column)} AS {name}" for name, column in CSV_COLUMNS.items()]
    selected += [
        f"{_quoted(column)} AS {name}" if column in header else f"NULL::VARCHAR AS {name}"
        for name, column in CSV_OPTIONAL.items()
    ]
    usage = _quoted(CSV_COLUMNS["usage_type"])
    conditions = [
        f"{_quoted(CSV_COLUMNS['service_code'])} = 'AmazonEC2'",
        f"({usage} LIKE '%BoxUsage:%' OR {usage} LIKE '%DedicatedUsage:%')",
    ]
    parameters: dict[str, object] = {"path": str(sniffed.path)}
    if prefixes:
        conditions.append(
            f"list_contains($prefixes, regexp_extract({usage}, '^([A-Z]{{2,4}}[0-9]?)-', 1))"
        )
        parameters["prefixes"] = prefixes
    compression = "gzip" if sniffed.compressed == "gzip" else "none"
    # No dialect sniffing: the layout is known, and DuckDB then names the line of a broken row.
    columns = "{" + ", ".join(f"{_literal(column)}: 'VARCHAR'" for column in header) + "}"
    sql = (
        f"SELECT {', '.join(selected)} FROM read_csv($path, skip={skip}, header=true, "
        f"auto_detect=false, columns={columns}, delim=',', quote='\"', escape='\"', "
        f"compression='{compression}') WHERE {' AND '.join(conditions)}"
    )
    connection = duckdb.connect(
        config={"memory_limit": DUCKDB_MEMORY_LIMIT, "preserve_insertion_order": False}
    )
    try:
        # Arrow is about half the peak memory of ``.df()`` on a DuckDB result.
        frame: pd.DataFrame = connection.sql(sql, params=parameters).to_arrow_table().to_pandas()
    except duckdb.Error as error:
        lines = str(error).strip().splitlines() or [type(error).__name__]
        detail = "; ".join([lines[0], *(line for line in lines if line.startswith("Expected"))])
        raise PriceFileError(sniffed.path, f"cannot parse the CSV ({detail})", _CSV_FIX) from error
    finally:
        connection.close()
    return frame.astype("string")


def csv_row_namer(sniffed: SniffedFile) -> Callable[[pd.Series], str]:
    """Name a CSV row by its line number (looked up by RateCode when reporting) and RateCode."""

    def describe(row: pd.Series) -> str:
        code = row.get("rate_code")
        if pd.isna(code) or not str(code).strip():
            return f"the row of {row.get('usage_type')} {row.get('operation')}"
        line = _line_containing(sniffed, str(code))
        return f"row {line} (RateCode {code})" if line else f"the row with RateCode {code}"

    return describe


def _line_containing(sniffed: SniffedFile, text: str) -> int | None:
    """1-based number of the first line that contains ``text``, streaming through the file."""
    opener: Callable[..., IO[str]] = gzip.open if sniffed.compressed == "gzip" else open
    with opener(sniffed.path, "rt", encoding="utf-8", errors="replace") as stream:
        for number, line in enumerate(stream, start=1):
            if text in line:
                return number
    return None


# ------------------------------------------------------------------------------------------ JSON


def read_savings_plans_json(path: str | Path, *, regions: Sequence[str] = ()) -> PriceCatalog:
    """Read the EC2 Savings Plans rates of an AWS Savings Plans offer JSON file (plain or gzip).

    Same offer and result as :func:`read_savings_plans_csv`; the file is read one plan
    (``terms.savingsPlan`` element) at a time.

    Raises
    ------
    PriceFileError
        Missing, empty, HTML, truncated or malformed file; no ``products`` or
        ``terms.savingsPlan``; a rate or product without a needed field; a bad value (see
        :func:`savings_plans_table`), naming the plan SKU, the ``rateCode`` and the field.
    """
    file = Path(path)
    regions = list(regions)
    _region_prefixes(regions)  # validates the region codes
    sniffed = sniff(file)
    if not sniffed.head_text.lstrip().startswith("{"):
        raise PriceFileError(
            file, "not a JSON object", "pass an AWS Savings Plans offer file (.../index.json)"
        )
    with open_json(sniffed, fix=_JSON_FIX) as stream:
        header, raw = offer_json_rates(stream, _INSTANCE_USAGE)
    source = RateSource(str(file), JSON_NAMES, json_row_name, _JSON_FIX)
    table, notes = savings_plans_table(raw, source, regions)
    version = header.get("version", "(unknown version)")
    metadata = CatalogMetadata(
        source=f"AWS Price List AWSComputeSavingsPlan {version} JSON ({file.name})",
        as_of=offer_publication_date(file, header["publicationDate"], "publicationDate"),
    )
    return _catalog(file, table, notes, regions, metadata)
