"""The one aggregation SQL: CUR-shaped line items -> hourly instance demand per key.

Demand is all EC2 instance usage, whether billed on-demand or covered by a Reserved Instance or a
Savings Plan: line items of type ``Usage``, ``DiscountedUsage`` or ``SavingsPlanCoveredUsage`` for
product ``AmazonEC2`` whose usage type is ``[PREFIX-]BoxUsage:type`` (shared tenancy) or
``[PREFIX-]DedicatedUsage:type`` (dedicated). Database instance- and node-hours are demand too:
``AmazonRDS`` ``InstanceUsage:db.…`` (Single-AZ), ``Multi-AZUsage:db.…`` (Multi-AZ),
``Multi-AZClusterUsage:db.…``, ``AmazonElastiCache`` ``NodeUsage:cache.…``, ``AmazonMemoryDB``
``NodeUsage:db.…``, ``AmazonES`` ``ESInstance:r6g.large`` (OpenSearch, keyed
``r6g.large.search``) and ``AmazonRedshift`` ``Node:ra3.xlplus``, keyed as
:mod:`pricing.services` says (the class, the reservation's product description from the engine
column, the deployment as tenancy). Region, instance type, tenancy and platform come from
the usage type and the operation, in SQL, with the tables of :mod:`pricing.regions`,
:mod:`pricing.platforms` and :mod:`pricing.usage_types` (the same pattern and tables
:mod:`pricing.readers.price_list_rows` uses), written inline as ``VALUES`` so that the text runs
on DuckDB and on Athena alike.

Every row gets a ``reason``: ``''`` for demand, else why it is excluded (see :data:`REASONS`).
:func:`classified_sql` aggregates rows, usage and cost per reason (and per hour and key for the
demand) in one pass; :func:`demand_sql` and :func:`exclusion_sql` select from it.

Dialect differences (the only ones; see :data:`DIALECT_FRAGMENTS`):

* timestamp parsing: DuckDB ``TRY_CAST(x AS TIMESTAMPTZ)`` (text or timestamp input, NULL when
  malformed; naive values are UTC, as AWS writes them) vs Athena ``CAST(x AS TIMESTAMP)`` (the CUR
  table's timestamp columns);
* timestamp literals for ``start`` / ``end``: ``TIMESTAMPTZ '...'`` vs ``TIMESTAMP '...'``.

Both engines have ``regexp_extract(text, pattern, group)``; DuckDB returns ``''`` and Athena NULL
when nothing matches, so every extraction is wrapped in ``coalesce(..., '')``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from pricing.databases import (
    DATABASE_PLATFORMS,
    EDITION_PLATFORMS,
    ELASTICACHE,
    ELASTICACHE_ENGINES,
    MEMORYDB,
    MEMORYDB_ENGINES,
    RDS,
    RDS_ENGINES,
    RESERVED_SERVICES,
    USAGE_KINDS,
)
from pricing.platforms import OPERATION_TO_PLATFORM
from pricing.readers.price_list_rows import USAGE_TYPE_SQL_PATTERN
from pricing.regions import PREFIX_TO_REGION
from pricing.usage_types import INSTANCE_USAGE_TENANCY
from usage.compute_sql import (
    COMPUTE_NAME_COLUMNS,
    COMPUTE_NAME_ROWS,
    COMPUTE_PRODUCT_ROWS,
    COMPUTE_REASONS,
    GRAVITON_PATTERN,
    PREFIX_PATTERN,
    SAGEMAKER_COMPONENT_ROWS,
    SAGEMAKER_PATTERN,
    UNIT_SPELLING_ROWS,
    compute_reason_sql,
)

Dialect = Literal["duckdb", "athena"]

DATABASE_USAGE_TYPE_SQL_PATTERN: Final = (
    r"^(?:([A-Z]{2,4}\d?)-)?([A-Za-z][A-Za-z\-]*):((?:(?:db|cache)\.)?[a-z0-9\-]+\.[a-z0-9\-]+)$"
)
"""``[PREFIX-]Kind:[db.|cache.]family.size`` (the pattern of :mod:`pricing.databases`), in RE2
syntax."""

DATABASE_KIND_COLUMNS: Final = (
    "product_code",
    "kind",
    "class_prefix",
    "tenancy",
    "suffix",
    "platform",
)

ENGINE_SERVICES: Final = (RDS, ELASTICACHE, MEMORYDB)
"""Services whose key platform comes from the engine column (:data:`ENGINE_ROWS`); the others
have one product description each."""

DATABASE_KIND_ROWS: Final[tuple[tuple[str, str, str, str, str, str], ...]] = tuple(
    (
        kind.service,
        name,
        prefix,
        kind.deployment,
        kind.class_suffix,
        # services with one product description take it whatever the engine column says
        "" if kind.service in ENGINE_SERVICES else next(
            p for (s, _), p in DATABASE_PLATFORMS.items() if s == kind.service
        ),
    )
    for (name, prefix), kind in USAGE_KINDS.items()
)  # fmt: skip
"""(product code, usage kind, class prefix, deployment, type suffix, fixed platform) of each
database usage kind: the deployment becomes the key's tenancy, the suffix completes its type
(OpenSearch ``.search``), the fixed platform is its platform where the service has one."""

ENGINE_ROWS: Final[tuple[tuple[str, str, str, str, str], ...]] = (
    *(
        (RDS, text, "", "", DATABASE_PLATFORMS[(RDS, engine)])
        for text, engine in RDS_ENGINES.items()
        if (RDS, engine) in DATABASE_PLATFORMS
    ),
    *(
        (RDS, text, edition.lower(), licence.lower(), platform)
        for text, engine in RDS_ENGINES.items()
        for (named, edition, licence), platform in EDITION_PLATFORMS.items()
        if named == engine
    ),
    *(
        (ELASTICACHE, text, "", "", DATABASE_PLATFORMS[(ELASTICACHE, engine)])
        for text, engine in ELASTICACHE_ENGINES.items()
        if (ELASTICACHE, engine) in DATABASE_PLATFORMS
    ),
    *(
        (MEMORYDB, text, "", "", DATABASE_PLATFORMS[(MEMORYDB, engine)])
        for text, engine in MEMORYDB_ENGINES.items()
    ),
)
"""(CUR product code, engine, edition, licence model, platform), lower case:
``product/databaseEngine`` or ``product/cacheEngine`` -> the key's platform (the reservation's
product description; for a MemoryDB Valkey node ``memorydb-valkey``, which ``memorydb``
reservations cover); Oracle and SQL Server need ``product/databaseEdition`` and
``product/licenseModel`` too (``''`` where any edition and licence do). A MemoryDB row without an
engine is a Redis OSS node (``memorydb``); one of another engine is *database engine not
covered*. The product code keeps ElastiCache's ``valkey`` apart from MemoryDB's."""

ENGINE_COLUMNS: Final = ("product_code", "engine", "edition", "licence", "platform")

DEMAND_LINE_ITEM_TYPES: Final = ("Usage", "DiscountedUsage", "SavingsPlanCoveredUsage")
"""Line item types whose EC2 instance usage is demand."""

KEY_COLUMNS: Final = ("account_id", "region", "instance_type", "platform", "tenancy")

REASONS: Final[dict[str, str]] = {
    "tax": "Tax line items",
    "credit": "Credit line items",
    "refund": "Refund line items",
    "fee": "Fee line items (support, marketplace, ...)",
    "RI fee": "Reserved Instance fees (RIFee): commitment cost, not usage",
    "Savings Plan fee": "Savings Plan recurring / upfront fees",
    "Savings Plan negation": "Savings Plan negation line items (they cancel on-demand cost)",
    "other line item type": "other line item types (BundledDiscount, EdpDiscount, ...)",
    "non-EC2": (
        "line items of other services than EC2, RDS, ElastiCache, OpenSearch, Redshift, MemoryDB, "
        "Fargate (ECS, EKS), Lambda and SageMaker"
    ),
    "spot": "Spot instance usage",
    "dedicated host": "Dedicated Host usage (billed per host)",
    "not instance usage": "EC2 usage other than instance-hours (EBS, data transfer, NAT, ...)",
    "database, not instance usage": (
        "RDS, ElastiCache, OpenSearch, Redshift and MemoryDB usage other than instance- and "
        "node-hours (storage, I/O, backup, data transfer, serverless, ...)"
    ),
    "database usage not covered": (
        "RDS instance usage of a kind not mapped yet (Aurora I/O-Optimized: how reservations "
        "cover its rate is not checked against AWS documentation)"
    ),
    "database engine not covered": (
        "RDS, ElastiCache or MemoryDB instance usage of an engine, edition or licence model not "
        "mapped (Db2; Oracle or SQL Server without product/databaseEdition and "
        "product/licenseModel; a MemoryDB engine other than Redis OSS or Valkey) or, for RDS and "
        "ElastiCache, without an engine column"
    ),
    "unknown region": "usage type prefix naming no known region",
    "unknown platform": "operation naming no known platform",
    "malformed timestamp": "demand rows whose usage start is not a timestamp",
    "malformed quantity": "demand rows whose usage amount is not a number",
    "negative quantity": "demand rows with a negative usage amount",
    **COMPUTE_REASONS,
}
"""Exclusion reasons and what they mean; ``''`` means the row is demand."""

INVALID_REASONS: Final = ("malformed timestamp", "malformed quantity", "negative quantity")
"""Reasons that make the input unusable (readers raise on them rather than exclude)."""

DIALECT_FRAGMENTS: Final[dict[str, dict[str, str]]] = {
    "duckdb": {"timestamp": "TRY_CAST({} AS TIMESTAMPTZ)", "literal": "TIMESTAMPTZ '{}'"},
    "athena": {"timestamp": "CAST({} AS TIMESTAMP)", "literal": "TIMESTAMP '{}'"},
}
"""The whole difference between the dialects: how a timestamp is parsed and written."""


@dataclass(frozen=True, slots=True)
class CurColumns:
    """Names (or SQL expressions) of the CUR columns the aggregation reads.

    The defaults are the normalised / Athena / CUR 2.0 names (``line_item_usage_type``, ...).
    ``currency`` may be ``"NULL"`` when the source has none; so are the database engine columns by
    default (``product_database_engine`` for RDS, ``product_cache_engine`` for ElastiCache, and
    ``product_database_edition`` and ``product_license_model`` that Oracle and SQL Server need):
    without them RDS and ElastiCache instance usage is counted as *database engine not covered*.
    ``pricing_unit`` (the bill's unit, ``pricing_unit``) is ``"NULL"`` by default too: with it a
    Fargate, Lambda or SageMaker line item whose unit is not its usage type's is counted as
    *unknown unit*. ``usage_type_reason`` is why a row of those services has no usage type (a
    FOCUS row whose charge description cannot be read), NULL where it has one.
    """

    line_item_type: str = "line_item_line_item_type"
    product_code: str = "line_item_product_code"
    usage_type: str = "line_item_usage_type"
    operation: str = "line_item_operation"
    usage_start: str = "line_item_usage_start_date"
    usage_amount: str = "line_item_usage_amount"
    cost: str = "line_item_unblended_cost"
    account_id: str = "line_item_usage_account_id"
    currency: str = "line_item_currency_code"
    database_engine: str = "NULL"
    cache_engine: str = "NULL"
    database_edition: str = "NULL"
    license_model: str = "NULL"
    pricing_unit: str = "NULL"
    usage_type_reason: str = "NULL"


def sql_string(value: str) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _values(name: str, columns: tuple[str, str], mapping: dict[str, str]) -> str:
    return _rows(name, columns, tuple(mapping.items()))


def _rows(name: str, columns: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> str:
    text = ", ".join("(" + ", ".join(sql_string(v) for v in row) + ")" for row in rows)
    return f"{name} ({', '.join(columns)}) AS (VALUES {text})"


def _literal(moment: datetime | str, dialect: Dialect) -> str:
    text = moment.isoformat(sep=" ") if isinstance(moment, datetime) else str(moment)
    if dialect == "athena":
        text = text.replace("T", " ")[:19]
    return DIALECT_FRAGMENTS[dialect]["literal"].format(text.replace("'", ""))


def classified_sql(
    relation: str,
    columns: CurColumns | None = None,
    *,
    dialect: Dialect = "duckdb",
    start: datetime | str | None = None,
    end: datetime | str | None = None,
) -> str:
    """One aggregation pass: rows, usage and cost per reason, and per hour and key for demand.

    Parameters
    ----------
    relation
        A table name or a parenthesised ``SELECT`` with the columns named by ``columns``.
    columns
        Column names; the CUR defaults when omitted.
    dialect
        ``"duckdb"`` or ``"athena"``; see the module docstring for the differences.
    start, end
        Keep rows whose usage starts in ``[start, end)`` (UTC); rows with a malformed start are
        always kept (to be reported).

    Returns
    -------
    str
        SQL with columns ``reason, hour, account_id, region, instance_type, platform, tenancy,
        currency, line_items, quantity`` [instance-hours] and ``cost`` [currency]; hour and key are
        NULL on excluded rows.
    """
    c = columns or CurColumns()
    parse = DIALECT_FRAGMENTS[dialect]["timestamp"]
    pattern = sql_string(USAGE_TYPE_SQL_PATTERN)
    usage_type = f"coalesce(CAST({c.usage_type} AS VARCHAR), '')"
    filters = []
    if start is not None:
        filters.append(f"(started IS NULL OR started >= {_literal(start, dialect)})")
    if end is not None:
        filters.append(f"(started IS NULL OR started < {_literal(end, dialect)})")
    where = " AND ".join(filters) or "TRUE"
    demand_types = ", ".join(sql_string(t) for t in DEMAND_LINE_ITEM_TYPES)
    services = ", ".join(sql_string(code) for code in RESERVED_SERVICES)
    database_pattern = sql_string(DATABASE_USAGE_TYPE_SQL_PATTERN)
    engine = (
        f"lower(trim(coalesce(nullif(trim(CAST({c.database_engine} AS VARCHAR)), ''), "
        f"nullif(trim(CAST({c.cache_engine} AS VARCHAR)), ''), '')))"
    )
    edition = f"lower(trim(coalesce(CAST({c.database_edition} AS VARCHAR), '')))"
    licence = f"lower(trim(coalesce(CAST({c.license_model} AS VARCHAR), '')))"
    bill_unit = f"nullif(lower(trim(coalesce(CAST({c.pricing_unit} AS VARCHAR), ''))), '')"
    source_reason = f"nullif(CAST({c.usage_type_reason} AS VARCHAR), '')"

    def extract(group: int) -> str:
        return (
            f"CASE WHEN is_database THEN coalesce(regexp_extract(usage_type, {database_pattern}, "
            f"{group}), '') ELSE coalesce(regexp_extract(usage_type, {pattern}, {group}), '') END"
        )

    return f"""
WITH {_values("usage_prefixes", ("prefix", "region"), PREFIX_TO_REGION)},
{_values("usage_operations", ("operation", "platform"), OPERATION_TO_PLATFORM)},
{_values("usage_kinds", ("kind", "tenancy"), INSTANCE_USAGE_TENANCY)},
{_rows("database_kinds", DATABASE_KIND_COLUMNS, DATABASE_KIND_ROWS)},
{_rows("database_engines", ENGINE_COLUMNS, ENGINE_ROWS)},
{_rows("compute_products", ("product_code", "service"), COMPUTE_PRODUCT_ROWS)},
{_rows("compute_names", COMPUTE_NAME_COLUMNS, COMPUTE_NAME_ROWS)},
{_rows("sagemaker_components", ("component", "platform"), SAGEMAKER_COMPONENT_ROWS)},
{_rows("unit_spellings", ("unit", "spelling"), UNIT_SPELLING_ROWS)},
raw_rows AS (
    SELECT
        coalesce(CAST({c.line_item_type} AS VARCHAR), '') AS line_item_type,
        coalesce(CAST({c.product_code} AS VARCHAR), '') AS product_code,
        {usage_type} AS usage_type,
        trim(coalesce(CAST({c.operation} AS VARCHAR), '')) AS operation,
        {parse.format(c.usage_start)} AS started,
        TRY_CAST({c.usage_amount} AS DOUBLE) AS amount,
        coalesce(TRY_CAST({c.cost} AS DOUBLE), 0.0) AS cost,
        coalesce(CAST({c.account_id} AS VARCHAR), '') AS account_id,
        nullif(CAST({c.currency} AS VARCHAR), '') AS currency,
        {engine} AS engine,
        {edition} AS edition,
        {licence} AS licence,
        {bill_unit} AS bill_unit,
        {source_reason} AS source_reason,
        coalesce(CAST({c.product_code} AS VARCHAR), '') IN ({services}) AS is_database
    FROM {relation}
), extracted_rows AS (
    SELECT raw_rows.*,
        {extract(1)} AS prefix,
        {extract(2)} AS kind,
        {extract(3)} AS instance_type
    FROM raw_rows
), {_compute_ctes()}
), mapped AS (
    SELECT source_rows.*,
        CASE WHEN compute_service IS NOT NULL THEN compute_region
            WHEN source_rows.prefix = '' THEN 'us-east-1' ELSE usage_prefixes.region END
            AS region,
        CASE WHEN compute_service IS NOT NULL THEN compute_platform
            WHEN NOT is_database THEN usage_operations.platform
            WHEN database_kinds.platform <> '' THEN database_kinds.platform
            ELSE database_engines.platform END AS platform,
        CASE WHEN compute_service IS NOT NULL THEN compute_tenancy
            WHEN is_database THEN database_kinds.tenancy ELSE usage_kinds.tenancy END
            AS tenancy,
        CASE WHEN compute_service IS NOT NULL THEN compute_type
            WHEN is_database THEN source_rows.instance_type
            || coalesce(database_kinds.suffix, '') ELSE source_rows.instance_type END
            AS key_instance_type,
        CASE WHEN compute_service IS NOT NULL AND compute_reason = ''
            THEN amount * per_bill_unit ELSE amount END AS key_amount
    FROM source_rows
    LEFT JOIN usage_prefixes ON usage_prefixes.prefix = source_rows.prefix
    LEFT JOIN usage_operations ON usage_operations.operation = source_rows.operation
    LEFT JOIN usage_kinds ON usage_kinds.kind = source_rows.kind
    LEFT JOIN database_kinds ON database_kinds.product_code = source_rows.product_code
        AND database_kinds.kind = source_rows.kind
        AND (CASE WHEN source_rows.instance_type LIKE 'db.%' THEN 'db.'
                  WHEN source_rows.instance_type LIKE 'cache.%' THEN 'cache.'
                  ELSE '' END) = database_kinds.class_prefix
    LEFT JOIN database_engines ON database_engines.product_code = source_rows.product_code
        AND database_engines.engine = source_rows.engine
        AND database_engines.edition IN ('', source_rows.edition)
        AND database_engines.licence IN ('', source_rows.licence)
    WHERE {where}
), classified AS (
    SELECT mapped.*, CASE
        WHEN line_item_type = 'Tax' THEN 'tax'
        WHEN line_item_type = 'Credit' THEN 'credit'
        WHEN line_item_type = 'Refund' THEN 'refund'
        WHEN line_item_type = 'Fee' THEN 'fee'
        WHEN line_item_type = 'RIFee' THEN 'RI fee'
        WHEN line_item_type IN ('SavingsPlanRecurringFee', 'SavingsPlanUpfrontFee')
            THEN 'Savings Plan fee'
        WHEN line_item_type = 'SavingsPlanNegation' THEN 'Savings Plan negation'
        WHEN line_item_type NOT IN ({demand_types}) THEN 'other line item type'
        WHEN compute_service IS NOT NULL THEN CASE
            WHEN compute_reason <> '' THEN compute_reason
            WHEN started IS NULL THEN 'malformed timestamp'
            WHEN amount IS NULL THEN 'malformed quantity'
            WHEN amount < 0 THEN 'negative quantity'
            ELSE '' END
        WHEN product_code <> 'AmazonEC2' AND NOT is_database THEN 'non-EC2'
        WHEN is_database AND kind LIKE '%IOOptimized' AND instance_type <> ''
            THEN 'database usage not covered'
        WHEN is_database AND (tenancy IS NULL OR instance_type = '')
            THEN 'database, not instance usage'
        WHEN usage_type LIKE '%SpotUsage%' THEN 'spot'
        WHEN usage_type LIKE '%HostUsage%' OR usage_type LIKE '%HostBoxUsage%'
            THEN 'dedicated host'
        WHEN tenancy IS NULL OR instance_type = '' THEN 'not instance usage'
        WHEN region IS NULL THEN 'unknown region'
        WHEN platform IS NULL AND is_database THEN 'database engine not covered'
        WHEN platform IS NULL THEN 'unknown platform'
        WHEN started IS NULL THEN 'malformed timestamp'
        WHEN amount IS NULL THEN 'malformed quantity'
        WHEN amount < 0 THEN 'negative quantity'
        ELSE '' END AS reason
    FROM mapped
)
SELECT reason,
    CASE WHEN reason = '' THEN date_trunc('hour', started) END AS hour,
    CASE WHEN reason = '' THEN account_id END AS account_id,
    CASE WHEN reason = '' THEN region END AS region,
    CASE WHEN reason = '' THEN key_instance_type END AS instance_type,
    CASE WHEN reason = '' THEN platform END AS platform,
    CASE WHEN reason = '' THEN tenancy END AS tenancy,
    currency,
    count(*) AS line_items,
    sum(coalesce(key_amount, 0.0)) AS quantity,
    sum(cost) AS cost
FROM classified
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
"""


def _compute_ctes() -> str:
    """The CTEs that key Fargate, Lambda and SageMaker rows (:mod:`usage.compute_sql`), from
    ``extracted_rows`` to ``source_rows``: ``compute_service`` (NULL for other rows),
    ``compute_region``, ``compute_type``, ``compute_platform``, ``compute_tenancy``,
    ``per_bill_unit`` [key units per bill unit] and ``compute_reason`` (``''``: demand).

    The regular expressions run on these services' rows only, the SageMaker ones on SageMaker's
    only (on another service's row a SageMaker form is that service's unknown usage type either
    way). Classifying each distinct usage type once and joining it back was tried: the second
    reference to ``raw_rows`` makes DuckDB materialize it, which tripled an EC2-only read.
    """
    prefix = sql_string(PREFIX_PATTERN)
    sagemaker = sql_string(SAGEMAKER_PATTERN)
    graviton = sql_string(GRAVITON_PATTERN)
    reason = compute_reason_sql(
        service="compute_service",
        name="compute_name",
        usage_type="usage_type",
        region="compute_region",
        rule_service="rule_service",
        bill_unit="bill_unit",
        unit_known="(unit_spellings.unit IS NOT NULL)",
        key_type="compute_type",
        source_reason="source_reason",
    )
    return f"""compute_rows AS (
    SELECT extracted_rows.*, compute_products.service AS compute_service,
        CASE WHEN compute_products.service IS NULL THEN ''
            ELSE coalesce(regexp_extract(usage_type, {prefix}, 1), '') END AS compute_prefix
    FROM extracted_rows
    LEFT JOIN compute_products ON compute_products.product_code = extracted_rows.product_code
), compute_named AS (
    SELECT compute_rows.*,
        CASE WHEN compute_prefix = '' THEN usage_type
            ELSE substr(usage_type, length(compute_prefix) + 2) END AS compute_name
    FROM compute_rows
), compute_parsed AS (
    SELECT compute_named.*,
        CASE WHEN compute_service = 'sagemaker'
            THEN coalesce(regexp_extract(compute_name, {sagemaker}, 1), '') ELSE '' END
            AS ml_component,
        CASE WHEN compute_service = 'sagemaker'
            THEN coalesce(regexp_extract(compute_name, {sagemaker}, 2), '') ELSE '' END AS ml_type
    FROM compute_named
), compute_keyed AS (
    SELECT compute_parsed.*,
        CASE WHEN compute_prefix = '' THEN 'us-east-1' ELSE compute_regions.region END
            AS compute_region,
        CASE WHEN compute_names.name IS NOT NULL THEN compute_names.service
            WHEN sagemaker_components.component IS NOT NULL THEN 'sagemaker' END AS rule_service,
        CASE WHEN compute_names.name IS NOT NULL THEN compute_names.unit
            WHEN sagemaker_components.component IS NOT NULL THEN 'instance-hours' END
            AS rule_unit,
        CASE WHEN compute_names.name IS NOT NULL THEN compute_names.instance_type
            WHEN sagemaker_components.platform <> '' THEN ml_type ELSE '' END AS compute_type,
        coalesce(compute_names.platform, sagemaker_components.platform, '') AS compute_platform,
        CASE WHEN compute_names.name IS NOT NULL THEN compute_names.tenancy
            WHEN ml_type = '' THEN 'x86_64'
            WHEN coalesce(regexp_extract(ml_type, {graviton}, 1), '') <> '' THEN 'arm64'
            ELSE 'x86_64' END AS compute_tenancy,
        coalesce(CAST(compute_names.per_bill_unit AS DOUBLE), 1.0) AS per_bill_unit
    FROM compute_parsed
    LEFT JOIN usage_prefixes AS compute_regions
        ON compute_regions.prefix = compute_parsed.compute_prefix
    LEFT JOIN compute_names ON compute_names.name = compute_parsed.compute_name
    LEFT JOIN sagemaker_components ON sagemaker_components.component = compute_parsed.ml_component
        AND compute_parsed.ml_type <> ''
), source_rows AS (
    SELECT compute_keyed.*, CASE WHEN compute_service IS NULL THEN '' ELSE {reason} END
        AS compute_reason
    FROM compute_keyed
    LEFT JOIN unit_spellings ON unit_spellings.unit = compute_keyed.rule_unit
        AND unit_spellings.spelling = compute_keyed.bill_unit"""


def demand_sql(
    relation: str,
    columns: CurColumns | None = None,
    *,
    dialect: Dialect = "duckdb",
    start: datetime | str | None = None,
    end: datetime | str | None = None,
) -> str:
    """The canonical hourly demand: ``hour, account_id, region, instance_type, platform, tenancy,
    quantity`` [instance-hours], summed over the demand line items of ``relation``.

    Parameters are those of :func:`classified_sql`.
    """
    inner = classified_sql(relation, columns, dialect=dialect, start=start, end=end)
    keys = ", ".join(KEY_COLUMNS)
    return (
        f"SELECT hour, {keys}, sum(quantity) AS quantity FROM ({inner}) AS classified_usage "
        f"WHERE reason = '' GROUP BY hour, {keys} ORDER BY hour, {keys}"
    )


def exclusion_sql(
    relation: str,
    columns: CurColumns | None = None,
    *,
    dialect: Dialect = "duckdb",
    start: datetime | str | None = None,
    end: datetime | str | None = None,
) -> str:
    """Rows (``line_items``), usage and cost kept (reason ``''``) and excluded, per reason.

    Parameters are those of :func:`classified_sql`.
    """
    inner = classified_sql(relation, columns, dialect=dialect, start=start, end=end)
    return (
        "SELECT reason, sum(line_items) AS line_items, sum(quantity) AS quantity, "
        f"sum(cost) AS cost FROM ({inner}) AS classified_usage GROUP BY reason ORDER BY reason"
    )


__all__ = [
    "DEMAND_LINE_ITEM_TYPES",
    "DIALECT_FRAGMENTS",
    "INVALID_REASONS",
    "KEY_COLUMNS",
    "REASONS",
    "CurColumns",
    "Dialect",
    "classified_sql",
    "demand_sql",
    "exclusion_sql",
    "sql_string",
]
