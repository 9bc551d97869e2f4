"""Reader for the AWS Price List bulk EC2 offer CSV (``AmazonEC2`` ``index.csv``, or ``.csv.gz``).

The file starts with five preamble lines (``FormatVersion``, ``Disclaimer``, ``Publication Date``,
``Version``, ``OfferCode``), then a header row and one row per price dimension. A reserved term is
a pair of rows sharing SKU and ``OfferTermCode``: an ``Hrs`` row (recurring USD/h) and, for Partial
and All Upfront, a ``Quantity`` row described "Upfront Fee" (USD).

The us-east-1 / global file is several GB, so it is streamed with DuckDB: every column read as
text, only the needed ones projected, rows filtered while scanning, and the pivot done in SQL with
a memory limit (spilling to a temporary directory beyond it).
"""

from __future__ import annotations

import csv
import gzip
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import IO, Final, cast

import duckdb

from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.errors import PriceFileError
from pricing.readers.common import ProgressCallback, SniffedFile, require_columns, sniff
from pricing.readers.duckdb_progress import reporting_progress
from pricing.readers.price_list_rows import (
    frames_from_price_rows,
    load_price_rows_sql,
    price_connection,
    quote_identifier,
)

PREAMBLE_LINES: Final = 5
"""Lines before the header row: FormatVersion, Disclaimer, Publication Date, Version, OfferCode."""

REQUIRED_COLUMNS: Final[dict[str, str]] = {
    "sku": "SKU",
    "term_code": "OfferTermCode",
    "term_type": "TermType",
    "unit": "Unit",
    "price_text": "PricePerUnit",
    "currency": "Currency",
    "lease": "LeaseContractLength",
    "purchase": "PurchaseOption",
    "offering_class": "OfferingClass",
    "product_family": "Product Family",
    "location_type": "Location Type",
    "tenancy": "Tenancy",
    "capacity": "CapacityStatus",
    "usage_type": "usageType",
    "operation": "operation",
}
"""Canonical name -> CSV column, for the columns the reader needs."""

OPTIONAL_COLUMNS: Final[dict[str, str]] = {"region_code": "Region Code", "market": "MarketOption"}
"""Columns used when present: ``Region Code`` (preferred over the usage-type prefix, and
cross-checked with it) and ``MarketOption`` (Capacity Blocks are excluded)."""


def read_price_list_csv(
    path: str | Path,
    *,
    regions: Sequence[str] = (),
    progress: ProgressCallback | None = None,
) -> PriceCatalog:
    """Read on-demand rates and RI offerings from an AWS Price List EC2 offer CSV.

    Kept: products of family Compute Instance (and its bare-metal variant) in AWS Regions, with
    usage kind BoxUsage / DedicatedUsage (Shared / Dedicated tenancy, no Dedicated Hosts),
    ``CapacityStatus`` Used, ``MarketOption`` OnDemand, terms OnDemand and Reserved. Keys come from
    ``usageType`` + ``operation``; the ``Region Code`` column, when filled, gives the region and
    must agree with the usage-type prefix. Rows of platforms commitopt does not model are skipped
    and counted in the metadata notes.

    Parameters
    ----------
    path
        The ``index.csv`` (or ``.csv.gz``) of the AmazonEC2 offer, global or one region.
    regions
        Keep only these region codes (all when empty); each must have prices in the file.
    progress
        Called as ``progress(bytes_done, bytes_total)`` [bytes of the file on disk] while the
        file is scanned.

    Returns
    -------
    PriceCatalog
        On-demand and reserved tables (effective rates computed by the catalog); metadata
        ``source`` names the offer version, ``as_of`` is the publication date.

    Raises
    ------
    PriceFileError
        Missing, empty, HTML or truncated file; missing preamble or needed columns; a row that does
        not fit the header; non-USD currency; a price that is not a finite number >= 0; a Region
        Code contradicting the usage type; conflicting duplicates (same key and offering, different
        prices); no EC2 instance price at all; a requested region without prices.
    """
    sniffed = sniff(path)
    file = sniffed.path
    preamble, header = _read_preamble_and_header(sniffed)
    require_columns(file, header, REQUIRED_COLUMNS.values(), "AWS Price List EC2 offer CSV")
    repeated = sorted({column for column in header if header.count(column) > 1})
    if repeated:
        raise PriceFileError(
            file, f"the header repeats column(s) {', '.join(repeated)}", "pass an unmodified file"
        )
    as_of = _publication_date(file, preamble)
    version = preamble.get("Version", "")
    offer = preamble.get("OfferCode", "")
    metadata_source = f"AWS Price List bulk CSV {offer} {version}".strip()

    projection = [
        f"{quote_identifier(column)} AS {name}" for name, column in REQUIRED_COLUMNS.items()
    ] + [
        f"{quote_identifier(column) if column in header else 'NULL::VARCHAR'} AS {name}"
        for name, column in OPTIONAL_COLUMNS.items()
    ]
    source_sql = f"""(
        SELECT {", ".join(projection)}
        FROM read_csv($path, skip = {PREAMBLE_LINES + 1}, header = false, columns = $columns,
                      delim = ',', quote = '"', escape = '"', auto_detect = false,
                      compression = $compression, strict_mode = true)
    )"""
    load_sql = load_price_rows_sql(source_sql, regions)
    parameters: dict[str, object] = {
        "path": str(file),
        "columns": {column: "VARCHAR" for column in header},
        "compression": "gzip" if sniffed.compressed == "gzip" else "none",
    }
    with price_connection() as connection:
        _load(connection, load_sql, parameters, file, progress)
        frames = frames_from_price_rows(
            connection,
            origin=str(file),
            regions=regions,
            describe=lambda rows: _describe_csv_rows(sniffed, rows),
        )
    metadata = CatalogMetadata(source=metadata_source, as_of=as_of, notes=frames.notes)
    return PriceCatalog.from_frames(metadata, on_demand=frames.on_demand, reserved=frames.reserved)


def _read_preamble_and_header(sniffed: SniffedFile) -> tuple[dict[str, str], list[str]]:
    """Parse the five preamble lines and the header row from the file's head."""
    file = sniffed.path
    lines = sniffed.head_text.splitlines()[: PREAMBLE_LINES + 1]
    rows = list(csv.reader(lines))
    if not rows or not rows[0] or rows[0][0].strip() != "FormatVersion":
        first = lines[0][:80] if lines else ""
        raise PriceFileError(
            file,
            f"line 1 is {first!r}, not the 'FormatVersion' preamble of an AWS Price List CSV",
            "pass the unmodified AmazonEC2 offer CSV (offers/v1.0/aws/AmazonEC2/current/index.csv)",
        )
    if len(rows) < PREAMBLE_LINES + 1:
        raise PriceFileError(
            file,
            f"the file ends after {len(rows)} line(s), before the header row (line "
            f"{PREAMBLE_LINES + 1})",
            "download the price file again",
        )
    preamble = {row[0].strip(): row[1].strip() for row in rows[:PREAMBLE_LINES] if len(row) >= 2}
    offer = preamble.get("OfferCode")
    if offer != "AmazonEC2":
        raise PriceFileError(
            file,
            f"line 5 names offer {offer!r}, not AmazonEC2",
            "pass the AmazonEC2 offer CSV (Savings Plans offers have their own reader)",
        )
    return preamble, [column.strip() for column in rows[PREAMBLE_LINES]]


def _publication_date(file: Path, preamble: dict[str, str]) -> date:
    text = preamble.get("Publication Date", "")
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise PriceFileError(
            file,
            f"line 3 'Publication Date' is {text!r}, not an ISO date such as 2025-09-12T22:53:08Z",
            "pass the unmodified AmazonEC2 offer CSV",
        ) from None


def _load(
    connection: duckdb.DuckDBPyConnection,
    sql: str,
    parameters: dict[str, object],
    file: Path,
    progress: ProgressCallback | None,
) -> None:
    """Run the streaming load, reporting progress from DuckDB's own estimate when asked."""
    try:
        with reporting_progress(connection, progress, file.stat().st_size):
            connection.execute(sql, parameters)
    except duckdb.Error as error:
        raise PriceFileError(
            file,
            f"cannot parse the CSV: {_parse_error_summary(str(error))}",
            "download the price file again; every row must have the header's columns",
        ) from error


def _parse_error_summary(message: str) -> str:
    """``line N: reason`` from a DuckDB CSV error (its message spans many lines)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    line = re.search(r"CSV Error on Line: (\d+)", message)
    reasons = [
        text for text in lines[1:] if not text.startswith(("Original Line", "Possible fixes", "*"))
    ]
    if line is None:
        return lines[0] if lines else "unknown error"
    return f"line {line.group(1)}: {reasons[0] if reasons else lines[0]}"


def _open_lines(sniffed: SniffedFile) -> IO[bytes]:
    if sniffed.compressed == "gzip":
        return cast(IO[bytes], gzip.open(sniffed.path, "rb"))
    return sniffed.path.open("rb")


def _describe_csv_rows(sniffed: SniffedFile, rows: Sequence[tuple[str, str, str]]) -> list[str]:
    """Name rows by CSV line number (1-based, preamble included) and SKU / term / unit.

    Only called on the error path: it scans the file once for all ``rows``.
    """
    wanted = [
        (index, sku.encode(), term.encode(), unit.encode())
        for index, (sku, term, unit) in enumerate(rows)
    ]
    found: dict[int, int] = {}
    with _open_lines(sniffed) as stream:
        for number, line in enumerate(stream, start=1):
            if number <= PREAMBLE_LINES + 1:
                continue
            for index, sku, term, unit in wanted:
                if index in found:
                    continue
                head = line[: len(sku) + len(term) + 8]
                unit_cell = (b'"' + unit + b'"') in line or (b"," + unit + b",") in line
                if sku in head and term in head and unit_cell:
                    found[index] = number
            if len(found) == len(wanted):
                break
    descriptions = []
    for index, (sku_text, term_text, unit_text) in enumerate(rows):
        where = f"line {found[index]} " if index in found else ""
        descriptions.append(
            f"{where}(SKU {sku_text}, OfferTermCode {term_text}, Unit {unit_text})".strip()
        )
    return descriptions
