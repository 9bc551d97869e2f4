"""Savings Plans rates from the AWS Price List Savings Plans offer files (CSV and JSON).

The offer ``AmazonComputeSavingsPlan`` (URL path ``AWSComputeSavingsPlan``) is published per region;
each file lists, for every plan (Compute or EC2 Instance Savings Plan × term × payment option), the
rate charged against the hourly commitment for one unit of each discounted usage type. commitopt
keeps the EC2 instance-hours that commitments cover (``BoxUsage`` and ``DedicatedUsage``) and drops
the rest (``UnusedBox`` / ``UnusedDed`` capacity-reservation rates, ``HostUsage``, Fargate, Lambda).

CSV layout: five preamble lines (``FormatVersion``, ``Disclaimer``, ``Publication Date``,
``Version``, ``OfferCode``), then a header row starting with ``SKU`` and one row per rate. The
regional files are hundreds of megabytes, so the CSV is read with DuckDB (all columns as text, only
the needed columns, filtered in SQL) under a memory limit.

JSON layout: ``version``, ``publicationDate``, ``products`` (the plans: ``sku``, ``productFamily``,
``attributes.purchaseOption`` ...) and ``terms.savingsPlan`` (per plan ``sku``,
``leaseContractLength {duration, unit}`` and ``rates`` with ``discountedUsageType``,
``discountedOperation``, ``discountedServiceCode``, ``rateCode``, ``unit``,
``discountedRate {price, currency}``). It is read incrementally, one plan at a time, so memory stays
bounded by the largest plan rather than the whole file.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any, Final

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from pricing.catalog import KEY_COLUMNS, SAVINGS_PLAN_COLUMNS, CatalogMetadata, PriceCatalog
from pricing.errors import CommitoptInputError, PriceFileError
from pricing.offerings import parse_payment_option, parse_savings_plan_type, parse_term_years
from pricing.readers.common import SniffedFile, require_columns, sniff
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

_CSV_REQUIRED: Final[dict[str, str]] = {
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
_CSV_OPTIONAL: Final[dict[str, str]] = {
    "region_hint": "DiscountedRegionCode",
    "instance_type_hint": "DiscountedInstanceType",
}
_CSV_NAMES: Final[dict[str, str]] = {
    **_CSV_REQUIRED,
    **_CSV_OPTIONAL,
    "term": "LeaseContractLength and LeaseContractLengthUnit",
}
_JSON_NAMES: Final[dict[str, str]] = {
    "rate_code": "rateCode",
    "plan_family": "productFamily",
    "payment": "attributes.purchaseOption",
    "term": "leaseContractLength",
    "usage_type": "discountedUsageType",
    "operation": "discountedOperation",
    "rate": "discountedRate.price",
    "currency": "discountedRate.currency",
    "unit": "unit",
}
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
    keys = _keys(raw["usage_type"], raw["operation"].fillna(""))
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

    _require_values(raw, source)
    _require_equal(raw, "unit", "Hrs", source, "Savings Plans rates of EC2 instances are per hour")
    _require_equal(
        raw,
        "currency",
        "USD",
        source,
        "commitopt prices in USD only; use the AWS (global) price list",
    )
    rates = _parse_rates(raw, source)
    plan_type = _map_distinct(raw, "plan_family", parse_savings_plan_type, source)
    payment = _map_distinct(raw, "payment", parse_payment_option, source)
    term = _map_distinct(raw, "term", parse_term_years, source)
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


def _keys(usage_types: pd.Series, operations: pd.Series) -> pd.DataFrame:
    """:func:`keys_from_usage_types`, computed once per distinct (usage type, operation) pair.

    Each pair recurs once per plan (term × payment × plan type), a dozen times or more.
    """
    pairs = pd.DataFrame({"usage_type": usage_types, "operation": operations})
    group = pairs.groupby(["usage_type", "operation"], sort=False, dropna=False).ngroup()
    distinct = pairs.drop_duplicates().reset_index(drop=True)
    keys = keys_from_usage_types(distinct["usage_type"], distinct["operation"])
    return keys.iloc[group.to_numpy()].reset_index(drop=True)


def _require_values(raw: pd.DataFrame, source: RateSource) -> None:
    """Raise naming the first row where a needed value is missing."""
    for column in ("rate_code", "plan_family", "payment", "term", "rate", "currency", "unit"):
        missing = raw[column].isna() | raw[column].str.strip().eq("")
        if missing.any():
            raise source.error(raw.loc[missing].iloc[0], column, "the value is missing")


def _require_equal(
    raw: pd.DataFrame, column: str, expected: str, source: RateSource, why: str
) -> None:
    bad = raw[column].ne(expected).to_numpy()
    if bad.any():
        row = raw.loc[bad].iloc[0]
        raise source.error(row, column, f"{row[column]!r} where {expected!r} is expected ({why})")


def _parse_rates(raw: pd.DataFrame, source: RateSource) -> npt.NDArray[np.float64]:
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


def _map_distinct(
    raw: pd.DataFrame, column: str, parse: Callable[[str], Any], source: RateSource
) -> pd.Series:
    """Parse each distinct value of ``column`` once and map the column through the results."""
    parsed: dict[str, Any] = {}
    for value in raw[column].unique():
        try:
            parsed[str(value)] = parse(str(value))
        except CommitoptInputError as error:
            row = raw.loc[raw[column].eq(value).to_numpy()].iloc[0]
            raise source.error(row, column, str(error)) from error
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


def _as_of(path: str | Path, text: object, field: str) -> date:
    """The date of an ISO 8601 publication timestamp such as ``2025-09-11T18:44:47Z``."""
    try:
        return date.fromisoformat(str(text).strip()[:10])
    except ValueError as error:
        raise PriceFileError(
            path, f"{field} {text!r} is not an ISO 8601 date", "import the offer file unmodified"
        ) from error


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
    preamble, header, skip = _csv_preamble(sniffed)
    require_columns(file, header, _CSV_REQUIRED.values(), "Savings Plans offer CSV")
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
    source = RateSource(str(file), _CSV_NAMES, _csv_row_namer(sniffed), _CSV_FIX)
    table, notes = savings_plans_table(raw, source, regions)
    version = preamble.get("Version", "(unknown version)")
    metadata = CatalogMetadata(
        source=f"AWS Price List {offer or 'Savings Plans'} {version} CSV ({file.name})",
        as_of=_as_of(file, preamble["Publication Date"], "Publication Date"),
    )
    return _catalog(file, table, notes, regions, metadata)


def _csv_preamble(sniffed: SniffedFile) -> tuple[dict[str, str], list[str], int]:
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
    selected = [f"{_quoted(column)} AS {name}" for name, column in _CSV_REQUIRED.items()]
    selected += [
        f"{_quoted(column)} AS {name}" if column in header else f"NULL::VARCHAR AS {name}"
        for name, column in _CSV_OPTIONAL.items()
    ]
    usage = _quoted(_CSV_REQUIRED["usage_type"])
    conditions = [
        f"{_quoted(_CSV_REQUIRED['service_code'])} = 'AmazonEC2'",
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


def _csv_row_namer(sniffed: SniffedFile) -> Callable[[pd.Series], str]:
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
    opener: Callable[..., IO[str]] = gzip.open if sniffed.compressed == "gzip" else open
    with opener(file, "rt", encoding="utf-8-sig") as stream:
        header, products, rate_frames = _walk_offer_json(_JsonStream(file, stream))
    if "publicationDate" not in header:
        raise PriceFileError(file, "no publicationDate", "import the offer file unmodified")
    if products is None or rate_frames is None:
        missing = "products" if products is None else "terms.savingsPlan"
        raise PriceFileError(
            file,
            f"no {missing} section: this is not a Savings Plans offer file",
            "pass an AWS Savings Plans offer file (AWSComputeSavingsPlan .../index.json)",
        )
    rates = pd.concat(rate_frames, ignore_index=True) if rate_frames else _empty_rates()
    raw = _join_products(file, rates, products)
    source = RateSource(str(file), _JSON_NAMES, _json_row_name, _JSON_FIX)
    table, notes = savings_plans_table(raw, source, regions)
    version = header.get("version", "(unknown version)")
    metadata = CatalogMetadata(
        source=f"AWS Price List AWSComputeSavingsPlan {version} JSON ({file.name})",
        as_of=_as_of(file, header["publicationDate"], "publicationDate"),
    )
    return _catalog(file, table, notes, regions, metadata)


def _json_row_name(row: pd.Series) -> str:
    return f"savingsPlan {row.get('sku')}, rate {row.get('rate_code')}"


_RATE_FIELDS: Final[dict[str, str]] = {
    "rateCode": "rate_code",
    "discountedUsageType": "usage_type",
    "discountedOperation": "operation",
    "discountedServiceCode": "service_code",
    "unit": "unit",
    "discountedRate.price": "rate",
    "discountedRate.currency": "currency",
}
_PRODUCT_FIELDS: Final[dict[str, str]] = {
    "sku": "sku",
    "productFamily": "plan_family",
    "attributes.purchaseOption": "payment",
}


def _walk_offer_json(
    stream: _JsonStream,
) -> tuple[dict[str, Any], list[Any] | None, list[pd.DataFrame] | None]:
    """Walk the offer object: small top-level values, the products, and each plan's EC2 rates."""
    header: dict[str, Any] = {}
    products: list[Any] | None = None
    rate_frames: list[pd.DataFrame] | None = None
    for key in stream.members():
        if key == "products":
            value = stream.value()
            if not isinstance(value, list):
                raise stream.error(
                    "products is not a list (an EC2 price list, not a Savings Plan one?)"
                )
            products = value
        elif key == "terms":
            for term_kind in stream.members():
                if term_kind != "savingsPlan":
                    stream.value()
                    continue
                rate_frames = rate_frames or []
                for term in stream.items():
                    rate_frames.append(_term_rates(stream.path, term))
        else:
            header[key] = stream.value()
    return header, products, rate_frames


def _term_rates(path: Path, term: Any) -> pd.DataFrame:
    """The EC2 instance-usage rates of one ``terms.savingsPlan`` element, as raw text columns."""
    if not isinstance(term, dict) or not isinstance(term.get("rates"), list):
        sku = term.get("sku") if isinstance(term, dict) else None
        raise PriceFileError(
            path, f"savingsPlan term {sku} has no list of rates", "import the offer file unmodified"
        )
    sku = str(term.get("sku", ""))
    lease = term.get("leaseContractLength")
    if not isinstance(lease, dict) or "duration" not in lease or "unit" not in lease:
        raise PriceFileError(
            path,
            f"savingsPlan {sku}: field leaseContractLength {{duration, unit}} is missing",
            _JSON_FIX,
        )
    if not term["rates"]:
        return _empty_rates()
    frame = _records_frame(path, term["rates"], f"the rates of savingsPlan {sku}")
    absent = [field for field in _RATE_FIELDS if field not in frame]
    if absent:
        raise PriceFileError(
            path,
            f"savingsPlan {sku}: the rates have no field {', '.join(absent)}",
            _JSON_FIX,
        )
    frame = frame.loc[:, list(_RATE_FIELDS)].rename(columns=_RATE_FIELDS).astype("string")
    for column in ("service_code", "usage_type"):
        missing = frame[column].isna().to_numpy()
        if missing.any():
            code = frame.loc[missing, "rate_code"].iloc[0]
            raise PriceFileError(
                path,
                f"savingsPlan {sku}, rate {code}: field {_json_field(column)} is missing",
                _JSON_FIX,
            )
    ec2 = frame["service_code"].eq("AmazonEC2") & frame["usage_type"].str.contains(
        _INSTANCE_USAGE, regex=True
    )
    frame = frame.loc[ec2.to_numpy()].copy()
    frame["sku"] = sku
    frame["term"] = f"{lease['duration']} {lease['unit']}"
    return frame


def _records_frame(path: Path, records: list[Any], what: str) -> pd.DataFrame:
    """A list of JSON objects as a table, nested objects flattened to ``parent.child`` columns."""
    try:
        return pa.Table.from_pylist(records).flatten().to_pandas()  # fast path, uniform types
    except (pa.ArrowException, TypeError, AttributeError):
        pass
    try:
        return pd.json_normalize(records)
    except (TypeError, AttributeError, ValueError) as error:
        raise PriceFileError(
            path, f"{what} are not all JSON objects ({error})", _JSON_FIX
        ) from error


def _empty_rates() -> pd.DataFrame:
    return pd.DataFrame(columns=["sku", "term", *_RATE_FIELDS.values()], dtype="string")


def _json_field(column: str) -> str:
    return {value: key for key, value in _RATE_FIELDS.items()}.get(column, column)


def _join_products(path: Path, rates: pd.DataFrame, products: list[Any]) -> pd.DataFrame:
    """Attach each rate's plan family and payment option from its product (by plan SKU)."""
    table = _records_frame(path, products, "the products")
    absent = [field for field in _PRODUCT_FIELDS if field not in table]
    if absent:
        raise PriceFileError(path, f"the products have no field {', '.join(absent)}", _JSON_FIX)
    table = table.loc[:, list(_PRODUCT_FIELDS)].rename(columns=_PRODUCT_FIELDS).astype("string")
    duplicated = table["sku"].duplicated().to_numpy()
    if duplicated.any():
        raise PriceFileError(
            path, f"product SKU {table.loc[duplicated, 'sku'].iloc[0]} is listed twice", _JSON_FIX
        )
    joined = rates.merge(table, on="sku", how="left", indicator=True)
    orphan = joined["_merge"].eq("left_only").to_numpy()
    if orphan.any():
        raise PriceFileError(
            path,
            f"savingsPlan term {joined.loc[orphan, 'sku'].iloc[0]} has no product in products",
            _JSON_FIX,
        )
    return joined.drop(columns="_merge")


class _JsonStream:
    """Incremental reader of one large JSON document.

    Walks objects and arrays key by key / item by item and decodes only the values asked for,
    keeping in memory the unread rest of a chunk and the value being decoded.
    """

    _CHUNK = 1 << 20
    _WHITESPACE = re.compile(r"[ \t\r\n]*")

    def __init__(self, path: Path, stream: IO[str]) -> None:
        self.path = path
        self._stream = stream
        self._buffer = ""
        self._position = 0
        self._consumed = 0
        self._eof = False
        self._decoder = json.JSONDecoder()

    def error(self, problem: str, offset: int | None = None) -> PriceFileError:
        """A :class:`PriceFileError` at the current (or the given) character offset in the file."""
        offset = self._consumed + self._position if offset is None else offset
        return PriceFileError(self.path, f"{problem} (at character {offset:,})", _JSON_FIX)

    def _fill(self) -> bool:
        """Read more text (at least as much as is buffered); False at the end of the file."""
        if self._eof:
            return False
        self._consumed += self._position
        self._buffer = self._buffer[self._position :]
        self._position = 0
        more = self._stream.read(max(self._CHUNK, len(self._buffer)))
        if not more:
            self._eof = True
            return False
        self._buffer += more
        return True

    def _peek(self) -> str:
        while True:
            match = self._WHITESPACE.match(self._buffer, self._position)
            self._position = match.end() if match else self._position
            if self._position < len(self._buffer):
                return self._buffer[self._position]
            if not self._fill():
                return ""

    def _expect(self, char: str) -> None:
        found = self._peek()
        if found != char:
            shown = repr(found) if found else "the end of the file (truncated?)"
            raise self.error(f"expected {char!r} but found {shown}")
        self._position += 1

    def _more(self, closing: str) -> bool:
        """After an item: True if a comma follows, False at ``closing``."""
        found = self._peek()
        if found == ",":
            self._position += 1
            return True
        self._expect(closing)
        return False

    def value(self) -> Any:
        """Decode the next complete JSON value."""
        self._peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buffer, self._position)
            except json.JSONDecodeError as error:
                offset = self._consumed + error.pos  # before _fill moves the buffer
                incomplete = error.pos + 65_536 >= len(self._buffer)
                if incomplete and self._fill():
                    continue
                problem = f"malformed or truncated JSON ({error.msg})"
                raise self.error(problem, offset) from error
            if end == len(self._buffer) and self._fill():
                continue  # a number or literal may go on in the next chunk
            self._position = end
            return value

    def members(self) -> Iterator[str]:
        """Iterate over the keys of the object that starts here; read or skip each value."""
        self._expect("{")
        if self._peek() == "}":
            self._position += 1
            return
        while True:
            key = self.value()
            if not isinstance(key, str):
                raise self.error("expected an object key")
            self._expect(":")
            yield key
            if not self._more("}"):
                return

    def items(self) -> Iterator[Any]:
        """Iterate over the decoded items of the array that starts here."""
        self._expect("[")
        if self._peek() == "]":
            self._position += 1
            return
        while True:
            yield self.value()
            if not self._more("]"):
                return
