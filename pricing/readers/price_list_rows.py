"""Shared core of the AWS Price List readers: long price rows -> on-demand and reserved tables.

The EC2 offer comes in three shapes (bulk CSV, bulk JSON, ``GetProducts`` items) that all flatten
to the same *long price rows*, one per price dimension, with these text columns (canonical names):

``sku, term_code, term_type, unit, price_text, currency, lease, purchase, offering_class,
product_family, location_type, tenancy, capacity, market, usage_type, operation, region_code``

Each reader selects its rows with canonical names from some relation (a streaming ``read_csv``,
Arrow tables) and calls :func:`load_price_rows`, which filters them with :data:`ROW_FILTER_SQL` and
stores them compactly (flags, small codes, a DOUBLE price) in a DuckDB table backed by a temporary
file, so a multi-GB offer never sits in memory. :func:`frames_from_price_rows` then checks
currency and prices, maps usage types to keys in SQL (the same rule as
:func:`pricing.usage_types.keys_from_usage_types`, with the tables of :mod:`pricing.regions` and
:mod:`pricing.platforms`), combines each reserved term's "Upfront Fee" (``Quantity``) and hourly
(``Hrs``) rows into one offering, and rejects conflicting duplicates.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import duckdb
import pandas as pd
import pyarrow as pa

from pricing.errors import PriceFileError, UnknownInstanceTypeError
from pricing.instance_types import parse_instance_type
from pricing.platforms import OPERATION_TO_PLATFORM
from pricing.readers.common import SniffedFile
from pricing.regions import PREFIX_TO_REGION
from pricing.usage_types import INSTANCE_USAGE_TENANCY

PRICE_FIELDS: Final = (
    "sku",
    "term_code",
    "term_type",
    "unit",
    "price_text",
    "currency",
    "lease",
    "purchase",
    "offering_class",
)
"""Fields of one price dimension (a rate of a SKU's term)."""

PRODUCT_FIELDS: Final = (
    "sku",
    "product_family",
    "location_type",
    "tenancy",
    "capacity",
    "market",
    "usage_type",
    "operation",
    "region_code",
)
"""Fields of one product (SKU)."""

LONG_COLUMNS: Final = (*PRICE_FIELDS, *PRODUCT_FIELDS[1:])
"""Columns of the long price rows every reader produces (all text)."""

COMPUTE_PRODUCT_FAMILIES: Final = ("Compute Instance", "Compute Instance (bare metal)")
"""Price List product families of EC2 instances (bare-metal sizes have their own family)."""

ROW_FILTER_SQL: Final = """
    product_family IN ('Compute Instance', 'Compute Instance (bare metal)')
    AND coalesce(nullif(location_type, ''), 'AWS Region') = 'AWS Region'
    AND tenancy IN ('Shared', 'Dedicated')
    AND coalesce(nullif(capacity, ''), 'Used') = 'Used'
    AND coalesce(nullif(market, ''), 'OnDemand') = 'OnDemand'
    AND term_type IN ('OnDemand', 'Reserved')
    AND unit IN ('Hrs', 'Quantity')
    AND (contains(usage_type, 'BoxUsage:') OR contains(usage_type, 'DedicatedUsage:'))
"""
"""Rows that can be EC2 instance prices commitments cover: instances in AWS Regions (no Local or
Wavelength Zones), Shared or Dedicated tenancy (no Dedicated Hosts), ``CapacityStatus`` Used (no
capacity reservations), ``MarketOption`` OnDemand (no Capacity Blocks), on-demand and reserved
terms, hourly and upfront-fee dimensions. Missing attributes (older records) count as the default.
Usage kinds are checked exactly later; ``contains`` only discards most other rows early."""

_COMPACT_SELECT_SQL: Final = """
    sku,
    term_code,
    term_type = 'Reserved' AS is_reserved,
    unit = 'Quantity' AS is_fee,
    TRY_CAST(price_text AS DOUBLE) AS price,
    CASE WHEN NOT coalesce(isfinite(TRY_CAST(price_text AS DOUBLE))
                           AND TRY_CAST(price_text AS DOUBLE) >= 0, false)
         THEN coalesce(price_text, '') END AS bad_price,
    CASE WHEN currency IS DISTINCT FROM 'USD' THEN coalesce(currency, '') END AS bad_currency,
    CAST(CASE lower(replace(lease, ' ', '')) WHEN '1yr' THEN 1 WHEN '3yr' THEN 3 END
         AS UTINYINT) AS term_years,
    CAST(CASE lower(purchase) WHEN 'no upfront' THEN 1 WHEN 'partial upfront' THEN 2
                              WHEN 'all upfront' THEN 3 END AS UTINYINT) AS payment,
    CAST(CASE lower(offering_class) WHEN 'standard' THEN 1 WHEN 'convertible' THEN 2 END
         AS UTINYINT) AS offering,
    coalesce(usage_type, '') AS usage_type,
    coalesce(operation, '') AS operation,
    coalesce(region_code, '') AS region_code
"""
"""What ``price_rows`` keeps of each row: the text columns become flags, codes (term years;
payment 1 No / 2 Partial / 3 All Upfront; class 1 standard / 2 convertible) and a DOUBLE price.
The raw text is kept only where it is wrong (``bad_price``, ``bad_currency``), for the error."""

USAGE_TYPE_SQL_PATTERN: Final = r"^(?:([A-Z]{2,4}\d?)-)?([A-Za-z]+):([a-z0-9\-]+\.[a-z0-9\-]+)$"
"""``[PREFIX-]Kind:instance_type``, the pattern of :mod:`pricing.usage_types`, in RE2 syntax."""

RowDescriber = Callable[[Sequence[tuple[str, str, str]]], list[str]]
"""Turns ``(sku, term_code, unit)`` triples into row references (e.g. with line numbers)."""


@dataclass(frozen=True, slots=True)
class PriceRowFrames:
    """The result of :func:`frames_from_price_rows`.

    Attributes
    ----------
    on_demand
        ``region, instance_type, platform, tenancy, on_demand_usd_per_hour`` [USD/h].
    reserved
        ``region, instance_type, platform, tenancy, offering_class, term_years, payment_option,
        upfront_usd`` [USD], ``recurring_usd_per_hour`` [USD/h].
    notes
        What was skipped and why, for the catalog metadata.
    """

    on_demand: pd.DataFrame
    reserved: pd.DataFrame
    notes: tuple[str, ...]


def quote_identifier(name: str) -> str:
    """Quote a column name for DuckDB SQL."""
    return '"' + name.replace('"', '""') + '"'


def sql_list(values: Sequence[str]) -> str:
    """A SQL list of string literals, ``('a', 'b')``."""
    return "(" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) + ")"


@contextmanager
def price_connection(
    memory_limit: str = "500MB", threads: int = 2
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection tuned for streaming big price files in bounded memory.

    Tables live in a database file in a private temporary directory (compressed, evictable from
    memory) and intermediate results beyond ``memory_limit`` spill there too; the directory is
    removed when the ``with`` block ends.

    Parameters
    ----------
    memory_limit
        DuckDB's buffer limit (e.g. ``"500MB"``).
    threads
        Worker threads.
    """
    with tempfile.TemporaryDirectory(prefix="commitopt-duckdb-") as spill:
        connection = duckdb.connect(str(Path(spill) / "prices.duckdb"))
        try:
            connection.execute(f"SET threads = {int(threads)}")
            connection.execute(f"SET memory_limit = '{memory_limit}'")
            connection.execute("SET preserve_insertion_order = false")
            connection.execute(f"SET temp_directory = '{spill}'")
            yield connection
        finally:
            connection.close()


OFFER_PREAMBLE_LINES: Final = 5
"""Lines before the header of a Price List offer CSV (FormatVersion, Disclaimer, Publication
Date, Version, OfferCode)."""


def read_offer_csv_rows(
    sniffed: SniffedFile,
    header: Sequence[str],
    projection: Sequence[str],
    where_sql: str,
    progress: Callable[[int, int | None], None] | None = None,
) -> pd.DataFrame:
    """The rows of a Price List offer CSV that ``where_sql`` keeps, as ``projection`` selects
    them (every column read as text, with DuckDB, reporting ``progress`` in bytes).

    Raises
    ------
    PriceFileError
        A row that does not fit the header (DuckDB's first line kept).
    """
    from pricing.readers.duckdb_progress import reporting_progress

    file = sniffed.path
    sql = f"""
        SELECT {", ".join(projection)}
        FROM read_csv($path, skip = {OFFER_PREAMBLE_LINES + 1}, header = false,
                      columns = $columns, delim = ',', quote = '"', escape = '"',
                      auto_detect = false, compression = $compression, strict_mode = true)
        WHERE {where_sql}
    """
    parameters: dict[str, object] = {
        "path": str(file),
        "columns": dict.fromkeys(header, "VARCHAR"),
        "compression": "gzip" if sniffed.compressed == "gzip" else "none",
    }
    with price_connection() as connection:
        try:
            with reporting_progress(connection, progress, file.stat().st_size):
                return connection.execute(sql, parameters).df()
        except duckdb.Error as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else "error"
            raise PriceFileError(
                file,
                f"cannot parse the CSV ({first})",
                "download the price file again; every row must have the header's columns",
            ) from error


def load_price_rows_sql(source_sql: str, regions: Sequence[str] = ()) -> str:
    """The statement that creates ``price_rows`` from a relation with :data:`LONG_COLUMNS`.

    Parameters
    ----------
    source_sql
        A parenthesised ``SELECT`` (or a table name) giving the canonical column names.
    regions
        When given, rows with another ``region_code`` are dropped early (rows without one are
        kept and mapped from their usage type).
    """
    region_filter = "TRUE"
    if regions:
        region_filter = f"(coalesce(region_code, '') = '' OR region_code IN {sql_list(regions)})"
    return f"""
        CREATE TABLE price_rows AS
        SELECT {_COMPACT_SELECT_SQL} FROM {source_sql} AS source
        WHERE {ROW_FILTER_SQL} AND {region_filter}
    """


def _first(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[object] = ()
) -> tuple[object, ...] | None:
    rows = connection.execute(sql, list(parameters)).fetchall()
    return tuple(rows[0]) if rows else None


def _unit(is_fee: object) -> str:
    return "Quantity" if is_fee else "Hrs"


def _check_currency_and_prices(
    connection: duckdb.DuckDBPyConnection, origin: str, describe: RowDescriber
) -> None:
    counts = _first(connection, "SELECT count(bad_currency), count(bad_price) FROM price_rows") or (
        0,
        0,
    )
    if counts[0]:
        sku, term, is_fee, currency = _first(
            connection,
            "SELECT sku, term_code, is_fee, bad_currency FROM price_rows "
            "WHERE bad_currency IS NOT NULL LIMIT 1",
        ) or ("", "", False, "")
        where = describe([(str(sku), str(term), _unit(is_fee))])[0]
        raise PriceFileError(
            origin,
            f"{where} is priced in {str(currency) or 'no currency'!r}, not USD",
            "commitopt prices in USD only: use the USD AWS Price List (the global offer)",
        )
    if counts[1]:
        sku, term, is_fee, text = _first(
            connection,
            "SELECT sku, term_code, is_fee, bad_price FROM price_rows "
            "WHERE bad_price IS NOT NULL LIMIT 1",
        ) or ("", "", False, "")
        where = describe([(str(sku), str(term), _unit(is_fee))])[0]
        raise PriceFileError(
            origin,
            f"{where} has price {text!r}, not a finite number >= 0 (PricePerUnit column)",
            "download the price file again; prices are never negative, NaN or blank",
        )


_MAPPING_SQL: Final = """
    CREATE OR REPLACE TABLE mapping AS
    WITH parsed AS (
        SELECT usage_type, operation, region_code,
               regexp_extract(usage_type, $pattern, ['prefix', 'kind', 'instance_type']) AS part
        FROM (SELECT DISTINCT usage_type, operation, region_code FROM price_rows)
    ), keyed AS (
        SELECT parsed.usage_type, parsed.operation, parsed.region_code,
               part.instance_type AS instance_type,
               kinds.tenancy AS tenancy,
               operations.platform AS platform,
               CASE WHEN part.kind = '' THEN NULL
                    WHEN part.prefix = '' THEN 'us-east-1'
                    ELSE prefixes.region END AS prefix_region
        FROM parsed
        LEFT JOIN prefixes ON prefixes.prefix = part.prefix
        LEFT JOIN operations ON operations.operation = trim(parsed.operation)
        LEFT JOIN kinds ON kinds.kind = part.kind
    )
    SELECT usage_type, operation, region_code, instance_type, tenancy, platform, prefix_region,
           coalesce(nullif(region_code, ''), prefix_region) AS region
    FROM keyed
"""


def _key_mapping(
    connection: duckdb.DuckDBPyConnection,
    origin: str,
    regions: Sequence[str],
    describe: RowDescriber,
) -> None:
    """Create ``mapping``: each distinct ``(usage_type, operation, region_code)`` -> key, reason."""
    connection.register(
        "prefixes",
        pa.table({"prefix": list(PREFIX_TO_REGION), "region": list(PREFIX_TO_REGION.values())}),
    )
    connection.register(
        "operations",
        pa.table(
            {
                "operation": list(OPERATION_TO_PLATFORM),
                "platform": list(OPERATION_TO_PLATFORM.values()),
            }
        ),
    )
    connection.register(
        "kinds",
        pa.table(
            {
                "kind": list(INSTANCE_USAGE_TENANCY),
                "tenancy": list(INSTANCE_USAGE_TENANCY.values()),
            }
        ),
    )
    connection.execute(_MAPPING_SQL, {"pattern": USAGE_TYPE_SQL_PATTERN})
    conflict = _first(
        connection,
        """
        SELECT usage_type, operation, region_code, prefix_region FROM mapping
        WHERE region_code <> '' AND prefix_region IS NOT NULL AND prefix_region <> region_code
        LIMIT 1
        """,
    )
    if conflict is not None:
        usage_type, operation, region_code, prefix_region = (str(v) for v in conflict)
        example = _first(
            connection,
            "SELECT sku, term_code, is_fee FROM price_rows WHERE usage_type = ? "
            "AND operation = ? AND region_code = ? LIMIT 1",
            [usage_type, operation, region_code],
        )
        where = "a row"
        if example is not None:
            where = describe([(str(example[0]), str(example[1]), _unit(example[2]))])[0]
        raise PriceFileError(
            origin,
            f"{where}: Region Code {region_code!r} contradicts usage type {usage_type!r} "
            f"(region {prefix_region})",
            "download the price file again; an edited file mixes regions",
        )
    types = connection.execute(
        "SELECT DISTINCT instance_type FROM mapping WHERE coalesce(instance_type, '') <> ''"
    ).fetchall()
    unparseable = [str(t) for (t,) in types if not _parses(str(t))]
    other_region = f"WHEN region NOT IN {sql_list(regions)} THEN 'other region'" if regions else ""
    connection.execute(
        f"""
        CREATE OR REPLACE TABLE mapping AS
        SELECT *, CASE
            WHEN tenancy IS NULL OR coalesce(instance_type, '') = '' THEN 'not instance usage'
            WHEN region IS NULL THEN 'unknown region'
            WHEN platform IS NULL THEN 'unknown operation'
            WHEN instance_type IN {sql_list(unparseable or [""])} THEN 'unknown instance type'
            {other_region}
            ELSE '' END AS reason
        FROM mapping
        """
    )


def _parses(instance_type: str) -> bool:
    try:
        parse_instance_type(instance_type)
    except UnknownInstanceTypeError:
        return False
    return True


def _skip_notes(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """Notes on rows skipped for an unknown operation, region or instance type."""
    counts = connection.execute(
        """
        SELECT m.reason, count(*) AS n,
               list_sort(list_distinct(list(m.operation)))[:5] AS operations,
               list_sort(list_distinct(list(m.usage_type)))[:5] AS usage_types
        FROM price_rows p JOIN mapping m USING (usage_type, operation, region_code)
        WHERE m.reason IN ('unknown operation', 'unknown region', 'unknown instance type')
        GROUP BY m.reason ORDER BY m.reason
        """
    ).fetchall()
    notes = []
    for reason, count, operations, usage_types in counts:
        if reason == "unknown operation":
            shown = ", ".join(str(o) for o in operations)
            notes.append(
                f"skipped {count} price rows of platforms commitopt does not model ({shown})"
            )
        else:
            shown = ", ".join(str(u) for u in usage_types)
            notes.append(f"skipped {count} price rows with an {reason} ({shown})")
    return notes


_PIVOT_SQL: Final = """
    CREATE OR REPLACE TABLE od_offers AS
    SELECT m.region, m.instance_type, m.platform, m.tenancy,
           min(p.price) AS price_lo, max(p.price) AS price_hi
    FROM price_rows p JOIN mapping m USING (usage_type, operation, region_code)
    WHERE m.reason = '' AND NOT p.is_reserved AND NOT p.is_fee
    GROUP BY ALL;

    CREATE OR REPLACE TABLE ri_terms AS
    SELECT *,
           CASE payment WHEN 1 THEN coalesce(fee_lo, 0) ELSE fee_lo END AS upfront_usd,
           CASE payment WHEN 3 THEN coalesce(hourly_lo, 0) ELSE hourly_lo END
               AS recurring_usd_per_hour
    FROM (
        SELECT sku, term_code, usage_type, operation, region_code,
               min(term_years) AS term_years, max(term_years) AS term_years_hi,
               min(payment) AS payment, max(payment) AS payment_hi,
               min(offering) AS offering, max(offering) AS offering_hi,
               min(price) FILTER (WHERE NOT is_fee) AS hourly_lo,
               max(price) FILTER (WHERE NOT is_fee) AS hourly_hi,
               min(price) FILTER (WHERE is_fee) AS fee_lo,
               max(price) FILTER (WHERE is_fee) AS fee_hi
        FROM price_rows WHERE is_reserved
        GROUP BY sku, term_code, usage_type, operation, region_code
    );

    CREATE OR REPLACE TABLE ri_offers AS
    SELECT m.region, m.instance_type, m.platform, m.tenancy, t.offering, t.term_years, t.payment,
           min(t.upfront_usd) AS upfront_lo, max(t.upfront_usd) AS upfront_hi,
           min(t.recurring_usd_per_hour) AS recurring_lo,
           max(t.recurring_usd_per_hour) AS recurring_hi
    FROM ri_terms t JOIN mapping m USING (usage_type, operation, region_code)
    WHERE m.reason = '' AND t.term_years IS NOT NULL AND t.payment IS NOT NULL
      AND t.offering IS NOT NULL AND t.upfront_usd IS NOT NULL
      AND t.recurring_usd_per_hour IS NOT NULL
    GROUP BY ALL;
"""

_OFFERING_NAMES_SQL: Final = """
    CASE offering WHEN 1 THEN 'standard' ELSE 'convertible' END AS offering_class,
    CAST(term_years AS BIGINT) AS term_years,
    CASE payment WHEN 1 THEN 'No Upfront' WHEN 2 THEN 'Partial Upfront' ELSE 'All Upfront' END
        AS payment_option
"""


def _describe_key(row: Sequence[object]) -> str:
    return " ".join(str(v) for v in row)


def _raise_on_demand_conflict(
    connection: duckdb.DuckDBPyConnection, origin: str, describe: RowDescriber
) -> None:
    conflict = _first(
        connection,
        "SELECT region, instance_type, platform, tenancy FROM od_offers "
        "WHERE price_lo <> price_hi LIMIT 1",
    )
    if conflict is None:
        return
    rows = _first(
        connection,
        """
        SELECT arg_min(p.sku, p.price), arg_min(p.term_code, p.price), min(p.price),
               arg_max(p.sku, p.price), arg_max(p.term_code, p.price), max(p.price)
        FROM price_rows p JOIN mapping m USING (usage_type, operation, region_code)
        WHERE m.reason = '' AND NOT p.is_reserved AND NOT p.is_fee
          AND m.region = ? AND m.instance_type = ? AND m.platform = ? AND m.tenancy = ?
        """,
        conflict,
    )
    assert rows is not None
    low, high = describe([(str(rows[0]), str(rows[1]), "Hrs"), (str(rows[3]), str(rows[4]), "Hrs")])
    raise PriceFileError(
        origin,
        f"conflicting on-demand prices for {_describe_key(conflict)}: {low} says "
        f"{rows[2]} USD/h, {high} says {rows[5]} USD/h",
        "pass an unmodified AWS Price List file (an edited or merged file repeats this key)",
    )


def _raise_reserved_conflicts(
    connection: duckdb.DuckDBPyConnection, origin: str, describe: RowDescriber
) -> None:
    within = _first(
        connection,
        """
        SELECT sku, term_code, hourly_lo <> hourly_hi,
               CASE WHEN hourly_lo <> hourly_hi THEN hourly_lo ELSE fee_lo END,
               CASE WHEN hourly_lo <> hourly_hi THEN hourly_hi ELSE fee_hi END,
               term_years <> term_years_hi OR payment <> payment_hi OR offering <> offering_hi
        FROM ri_terms
        WHERE hourly_lo <> hourly_hi OR fee_lo <> fee_hi OR term_years <> term_years_hi
           OR payment <> payment_hi OR offering <> offering_hi
        LIMIT 1
        """,
    )
    if within is not None:
        sku, term, hourly, low, high, attributes = within
        unit = "Hrs" if hourly else "Quantity"
        where = describe([(str(sku), str(term), unit)])[0]
        problem = (
            "its rows disagree on LeaseContractLength / PurchaseOption / OfferingClass"
            if attributes
            else f"the reserved term is listed twice with prices {low} and {high} ({unit})"
        )
        raise PriceFileError(
            origin,
            f"{where}: {problem}",
            "pass an unmodified AWS Price List file (an edited or merged file repeats this term)",
        )
    conflict = _first(
        connection,
        f"""
        SELECT region, instance_type, platform, tenancy, offering, term_years, payment,
               {_OFFERING_NAMES_SQL}
        FROM ri_offers WHERE upfront_lo <> upfront_hi OR recurring_lo <> recurring_hi LIMIT 1
        """,
    )
    if conflict is None:
        return
    rows = connection.execute(
        """
        SELECT t.sku, t.term_code, t.upfront_usd, t.recurring_usd_per_hour
        FROM ri_terms t JOIN mapping m USING (usage_type, operation, region_code)
        WHERE m.reason = '' AND m.region = ? AND m.instance_type = ? AND m.platform = ?
          AND m.tenancy = ? AND t.offering = ? AND t.term_years = ? AND t.payment = ?
        ORDER BY t.upfront_usd, t.recurring_usd_per_hour
        """,
        list(conflict[:7]),
    ).fetchall()
    low, high = rows[0], rows[-1]
    where_low, where_high = describe(
        [(str(low[0]), str(low[1]), "Hrs"), (str(high[0]), str(high[1]), "Hrs")]
    )
    raise PriceFileError(
        origin,
        f"conflicting reserved prices for {_describe_key(conflict[:4])} {conflict[7]} "
        f"{conflict[8]}yr {conflict[9]}: {where_low} says {low[2]} USD + {low[3]} USD/h, "
        f"{where_high} says {high[2]} USD + {high[3]} USD/h",
        "pass an unmodified AWS Price List file (an edited or merged file repeats this key)",
    )


def _reserved_notes(connection: duckdb.DuckDBPyConnection) -> list[str]:
    counts = _first(
        connection,
        """
        SELECT count(*) FILTER (WHERE term_years IS NULL OR payment IS NULL OR offering IS NULL),
               count(*) FILTER (WHERE term_years IS NOT NULL AND payment IS NOT NULL
                                   AND offering IS NOT NULL
                                   AND (upfront_usd IS NULL OR recurring_usd_per_hour IS NULL))
        FROM ri_terms t JOIN mapping m USING (usage_type, operation, region_code)
        WHERE m.reason = ''
        """,
    )
    notes = []
    if counts and counts[0]:
        notes.append(f"skipped {counts[0]} reserved terms of unknown lease/payment/class")
    if counts and counts[1]:
        notes.append(
            f"skipped {counts[1]} incomplete reserved terms (a Partial/All Upfront term without "
            "its Upfront Fee row, or a term without its hourly row)"
        )
    return notes


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow -> pandas with Arrow-backed strings (no Python string objects)."""
    return table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)


def frames_from_price_rows(
    connection: duckdb.DuckDBPyConnection,
    *,
    origin: str,
    regions: Sequence[str] = (),
    describe: RowDescriber | None = None,
    require_rows: bool = True,
) -> PriceRowFrames:
    """Check, key and pivot the ``price_rows`` table of ``connection``.

    Parameters
    ----------
    connection
        Holds ``price_rows``, created by :func:`load_price_rows_sql`.
    origin
        The file or API named in errors.
    regions
        Keep only these region codes (all when empty). With ``require_rows``, a requested
        region without any price is an error.
    describe
        Names rows in errors (the CSV reader adds line numbers); default ``SKU …, term …``.
    require_rows
        Raise when no EC2 instance price is found at all.

    Raises
    ------
    PriceFileError
        Non-USD currency, a price that is not a finite number >= 0, a Region Code that
        contradicts the usage type, conflicting duplicates (same SKU and term, or same key and
        offering, with different prices), or no prices at all.
    """
    describe = describe or describe_rows_plainly
    total = _first(connection, "SELECT count(*) FROM price_rows")
    if require_rows and (total is None or total[0] == 0):
        if regions:
            raise PriceFileError(
                origin,
                f"no EC2 instance prices for region(s) {', '.join(regions)}",
                "check the region codes (e.g. us-east-1) or use an offer file that covers them",
            )
        raise PriceFileError(
            origin,
            "no EC2 instance prices found (Compute Instance products in AWS Regions, Shared or "
            "Dedicated tenancy, on-demand or reserved terms)",
            "pass the AmazonEC2 offer (index.csv / index.json of offers/v1.0/aws/AmazonEC2)",
        )
    _check_currency_and_prices(connection, origin, describe)
    _key_mapping(connection, origin, regions, describe)
    notes = _skip_notes(connection)
    if regions and require_rows:
        found = {
            str(r)
            for (r,) in connection.execute(
                "SELECT DISTINCT region FROM mapping WHERE reason = ''"
            ).fetchall()
        }
        missing = [r for r in regions if r not in found]
        if missing:
            raise PriceFileError(
                origin,
                f"no EC2 instance prices for region(s) {', '.join(missing)}",
                "check the region codes (e.g. us-east-1) or use an offer file that covers them",
            )
    connection.execute(_PIVOT_SQL)
    _raise_on_demand_conflict(connection, origin, describe)
    _raise_reserved_conflicts(connection, origin, describe)
    notes += _reserved_notes(connection)
    key_order = "region, instance_type, platform, tenancy"
    on_demand = _to_pandas(
        connection.sql(
            f"SELECT {key_order}, price_lo AS on_demand_usd_per_hour FROM od_offers "
            f"ORDER BY {key_order}"
        ).to_arrow_table()
    )
    reserved = _to_pandas(
        connection.sql(
            f"""
            SELECT {key_order}, {_OFFERING_NAMES_SQL},
                   upfront_lo AS upfront_usd, recurring_lo AS recurring_usd_per_hour
            FROM ri_offers ORDER BY {key_order}, offering_class, term_years, payment_option
            """
        ).to_arrow_table()
    )
    return PriceRowFrames(on_demand, reserved, tuple(notes))


def describe_rows_plainly(rows: Sequence[tuple[str, str, str]]) -> list[str]:
    """``SKU X, offer term Y (Unit)`` for each row: the default :data:`RowDescriber`."""
    return [f"SKU {sku}, offer term {term} ({unit})" for sku, term, unit in rows]
