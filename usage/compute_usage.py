"""Fargate, Lambda and SageMaker usage from CUR and FOCUS files -> an hourly table, with DuckDB.

The first slice of Savings Plans beyond EC2 (issue 18, item 1): the usage that Compute Savings
Plans (Fargate, Lambda) and SageMaker Savings Plans can cover, read beside the EC2 usage of
:mod:`usage.readers`, not yet merged into the canonical usage table, the optimizer or the billing
kernel (``docs/compute-usage.md`` says how they will plug in).

:func:`read_compute_usage` returns ``(table, report)``. The table has one row per hour and key:

==========================  =====================================================================
``hour``                    start of the hour, UTC (``datetime64[ns, UTC]``)
``account_id``              usage account (``""`` when the file names none)
``region``                  region code
``service``                 ``fargate``, ``lambda`` or ``sagemaker``
``usage_kind``              ``vcpu``, ``memory``, ``duration``, ``provisioned-concurrency``,
                            ``provisioned-duration``, ``requests``, ``ml-instance``, ...
``unit``                    ``vCPU-hours``, ``GB-hours``, ``GB-seconds``, ``requests``,
                            ``instance-hours``
``architecture``            ``x86_64`` / ``arm64`` (``""`` for SageMaker)
``platform_or_component``   Fargate OS, SageMaker component (``training``, ``hosting``, ...)
``instance_type``           SageMaker ML instance type, else ``""``
``quantity``                usage in ``unit`` during the hour (float)
``sp_eligible``             ``compute``, ``sagemaker`` or ``none``
==========================  =====================================================================

Demand is all usage, whether billed on demand or covered: CUR line items of type ``Usage``,
``DiscountedUsage`` and ``SavingsPlanCoveredUsage`` (FOCUS ``ChargeCategory`` ``Usage``, whatever
its ``CommitmentDiscountType``); ``SavingsPlanNegation`` and every fee, tax, credit or refund are
left out, counted by reason. Rows of the three services whose usage type (or FOCUS charge
description) the vocabulary of :mod:`pricing.compute_usage_types` cannot read are counted by
reason in :attr:`ComputeUsageReport.unparsed`, never dropped silently. Each distinct usage type
is parsed once in Python; DuckDB does the rest. A billing period is read from its latest
delivery only, by the rule of :mod:`usage.readers` (re-delivered files never double-count), and
each line item is spread evenly over the hours its usage spans (a daily CUR's day over 24 hours).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import duckdb
import pandas as pd

from core.errors import CommitoptInputError
from pricing.compute_usage_types import (
    FOCUS_DESCRIPTION_SERVICES,
    PRODUCT_CODE_SERVICE,
    ComputeUsageType,
    UnparsedUsageType,
    parse_charge_description,
    parse_compute_usage_type,
    unit_matches,
)
from pricing.readers.common import show_columns
from pricing.readers.cur_columns import (
    FILE_COLUMN,
    cur_select_sql,
    describe_files,
    normalise_column_name,
)
from usage.demand_sql import sql_string
from usage.errors import UsageInputError
from usage.readers import (
    PathsArg,
    detect_format,
    file_group_source,
    first_line,
    is_parquet,
    keep_latest_deliveries,
    usage_connection,
    usage_files,
)

ComputeUsageFormat = Literal["cur", "focus", "auto"]

COMPUTE_USAGE_COLUMNS: Final = (
    "hour",
    "account_id",
    "region",
    "service",
    "usage_kind",
    "unit",
    "architecture",
    "platform_or_component",
    "instance_type",
    "quantity",
    "sp_eligible",
)
"""The columns of the table :func:`read_compute_usage` returns, in order."""

_KEY_COLUMNS: Final = (*COMPUTE_USAGE_COLUMNS[1:9], "sp_eligible")
_PARSED_COLUMNS: Final = (
    "service",
    "region",
    "usage_kind",
    "unit",
    "architecture",
    "platform_or_component",
    "instance_type",
    "sp_eligible",
)
DEMAND_LINE_ITEM_TYPES: Final = ("Usage", "DiscountedUsage", "SavingsPlanCoveredUsage")
"""CUR line item types whose usage is demand (covered usage included)."""

_CUR_REQUIRED: Final = (
    "line_item_line_item_type",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_usage_start_date",
    "line_item_usage_amount",
)
_CUR_OPTIONAL: Final = (
    "line_item_usage_account_id",
    "pricing_unit",
    "bill_billing_period_start_date",
    "line_item_unblended_cost",
    "line_item_usage_end_date",
)
_FOCUS_REQUIRED: Final = (
    "ProviderName",
    "ServiceName",
    "ChargeCategory",
    "ChargePeriodStart",
    "ConsumedQuantity",
)
_FOCUS_OPTIONAL: Final = (
    "x_UsageType",
    "SkuMeter",
    "x_ServiceCode",
    "ChargeDescription",
    "ChargeClass",
    "ConsumedUnit",
    "SubAccountId",
    "RegionId",
    "BillingPeriodStart",
    "BilledCost",
    "ChargePeriodEnd",
)
_EXAMPLES: Final = 3
_SKU_METER_USAGE_TYPE: Final = r"Fargate-|Lambda-|Request|:ml\."
"""A FOCUS 1.2 ``SkuMeter`` that is an AWS usage type of the three services (FOCUS 1.2 exports
carry the usage type there, having dropped ``x_UsageType``)."""


@dataclass(frozen=True, slots=True)
class ReasonCount:
    """Line items left out for one reason.

    Attributes
    ----------
    reason
        Short and stable (``"data transfer"``, ``"Savings Plan negation"``, ...).
    line_items
        Rows [count].
    quantity
        Their summed usage amount [the rows' own units, mixed].
    examples
        Up to three distinct usage types (or FOCUS charge descriptions) of those rows.
    """

    reason: str
    line_items: int
    quantity: float
    examples: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ComputeUsageReport:
    """What :func:`read_compute_usage` read, kept and left out.

    Attributes
    ----------
    format
        ``"cur"`` or ``"focus"``.
    files
        The files read: the latest delivery of each billing period, as
        :func:`usage.readers.read_cur` chooses it (see :mod:`usage.readers`).
    superseded_files
        Files skipped as older deliveries or copies of a billing period.
    line_items
        Every row of the files read [count]: ``kept_line_items`` + the rows of ``unparsed`` + the
        rows of ``excluded``.
    kept_line_items
        Rows that became demand [count].
    unparsed
        Demand rows of Fargate, Lambda or SageMaker whose usage type could not be read, by
        reason (:data:`pricing.compute_usage_types.UNPARSED_REASONS`).
    excluded
        Rows left out by design, by reason: ``"other service"``, ``"Savings Plan negation"``,
        ``"line item type Tax"``, ``"charge category Credit"``, ...
    """

    format: str
    files: tuple[str, ...]
    line_items: int
    kept_line_items: int
    unparsed: tuple[ReasonCount, ...] = ()
    excluded: tuple[ReasonCount, ...] = ()
    superseded_files: tuple[str, ...] = ()

    def unparsed_line_items(self, reason: str) -> int:
        """Rows unparsed for ``reason`` (0 when none)."""
        return sum(r.line_items for r in self.unparsed if r.reason == reason)

    def excluded_line_items(self, reason: str) -> int:
        """Rows excluded for ``reason`` (0 when none)."""
        return sum(r.line_items for r in self.excluded if r.reason == reason)


def read_compute_usage(
    paths: PathsArg, format: ComputeUsageFormat = "auto", *, memory_limit: str = "1GB"
) -> tuple[pd.DataFrame, ComputeUsageReport]:
    """Read Fargate, Lambda and SageMaker usage from CUR or FOCUS files into an hourly table.

    Parameters
    ----------
    paths
        Files (Parquet, CSV, CSV.gz), folders or globs. A legacy CUR may use slash
        (``lineItem/UsageType``) or Athena (``line_item_usage_type``) column names; CUR 2.0
        uses the latter.
    format
        ``"cur"`` (legacy CUR or CUR 2.0), ``"focus"`` (FOCUS 1.0 to 1.2) or ``"auto"`` (from the
        first file's columns: those this reader needs; otherwise
        :func:`usage.readers.detect_format` names what is missing).
    memory_limit
        DuckDB's memory limit; beyond it intermediate results spill to disk.

    Returns
    -------
    (pandas.DataFrame, ComputeUsageReport)
        The table of the module docstring (columns :data:`COMPUTE_USAGE_COLUMNS`, sorted by
        hour and key, one row per hour and key) and what was kept and left out.

    Raises
    ------
    UsageInputError
        A missing, empty or unreadable file; a missing column (the file, the column and the
        columns found named); a demand row of the three services whose start is not a timestamp
        or whose amount is not a number (the file and the column named).
    """
    files = usage_files(paths)
    with usage_connection(memory_limit) as connection:
        if format == "auto":
            format = _detect_format(connection, files)
        if format == "cur":
            relation = _cur_relation(connection, files)
        elif format == "focus":
            relation = _focus_relation(connection, files)
        else:
            raise UsageInputError(f"usage format {format!r} is not cur, focus or auto")
        return _read(connection, relation, format, files)


def _detect_format(
    connection: duckdb.DuckDBPyConnection, files: Sequence[Path]
) -> Literal["cur", "focus"]:
    """``"focus"`` or ``"cur"`` from the first file's columns: the columns this reader needs
    (fewer than the EC2 reader's), else :func:`usage.readers.detect_format` names what is
    missing."""
    first = files[0]
    source = (
        f"read_parquet({sql_string(str(first))})"
        if is_parquet(first)
        else f"read_csv({sql_string(str(first))}, all_varchar=true, header=true)"
    )
    try:
        found = [
            str(row[0]) for row in connection.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()
        ]
    except duckdb.Error:
        found = []
    if all(column in found for column in _FOCUS_REQUIRED):
        return "focus"
    if all(column in {normalise_column_name(f) for f in found} for column in _CUR_REQUIRED):
        return "cur"
    detected = detect_format(files)  # raises, naming the columns missing for the nearest format
    if detected in ("cur", "cur2", "focus"):
        return "focus" if detected == "focus" else "cur"
    raise UsageInputError(
        str(first),
        f"is a {detected} usage table: it has no Fargate, Lambda or SageMaker line items",
        "pass a CUR, CUR 2.0 or FOCUS export",
    )


# --------------------------------------------------------------------------------------------
# the two sources, as one relation of the same columns


def _cur_relation(connection: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> str:
    """CUR line items as ``file, line_item_type, service, usage_type, description, region_id,
    started, amount, account_id`` (``service`` NULL for other services)."""
    try:
        select = cur_select_sql(
            connection,
            files,
            required=_CUR_REQUIRED,
            optional=_CUR_OPTIONAL,
            what="AWS Cost and Usage Report (Fargate, Lambda and SageMaker line items)",
        )
    except CommitoptInputError as error:
        raise UsageInputError(error.template) from error
    services = _values(PRODUCT_CODE_SERVICE, "services", "code")
    return f"""(
        SELECT cur.{FILE_COLUMN} AS file,
            coalesce(line_item_line_item_type, '') AS line_item_type,
            line_item_product_code AS product_code,
            services.service,
            line_item_usage_type AS usage_type,
            CAST(NULL AS VARCHAR) AS description,
            CAST(NULL AS VARCHAR) AS region_id,
            pricing_unit AS bill_unit,
            line_item_usage_start_date AS started,
            line_item_usage_end_date AS ended,
            line_item_usage_amount AS amount,
            coalesce(line_item_usage_account_id, '') AS account_id,
            bill_billing_period_start_date AS billing_period,
            line_item_unblended_cost AS cost
        FROM ({select}) AS cur
        LEFT JOIN {services} ON services.code = cur.line_item_product_code
    )"""


def _focus_relation(connection: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> str:
    """FOCUS rows in the columns of :func:`_cur_relation`: ``ChargeCategory`` Usage is the
    line item type ``Usage`` (covered or not), a correction (``ChargeClass``) or any other
    category is named as such."""
    selects = []
    for group in (
        [f for f in files if is_parquet(f)],
        [f for f in files if not is_parquet(f)],
    ):
        if not group:
            continue
        source = file_group_source(group)
        where = describe_files(group)
        try:
            described = connection.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()
        except duckdb.Error as error:
            raise UsageInputError(
                where,
                f"cannot be read as FOCUS ({first_line(error)})",
                "pass an unmodified export",
            ) from error
        found = [str(row[0]) for row in described]
        missing = [column for column in _FOCUS_REQUIRED if column not in found]
        if missing:
            raise UsageInputError(
                where,
                f"missing FOCUS column(s) {', '.join(missing)} (found: {show_columns(found)})",
                "pass an unmodified FOCUS 1.0-1.2 export",
            )
        columns = [
            f'CAST("{c}" AS VARCHAR) AS {c}' if c in found else f"CAST(NULL AS VARCHAR) AS {c}"
            for c in (*_FOCUS_REQUIRED, *_FOCUS_OPTIONAL)
        ]
        selects.append(f"SELECT {FILE_COLUMN}, {', '.join(columns)} FROM {source}")
    union = " UNION ALL ".join(selects)
    services = _values(FOCUS_DESCRIPTION_SERVICES, "services", "name")
    codes = _values(PRODUCT_CODE_SERVICE, "codes", "code")
    return f"""(
        SELECT focus.{FILE_COLUMN} AS file,
            CASE WHEN ChargeCategory = 'Usage' AND coalesce(ChargeClass, '') <> 'Correction'
                     THEN 'Usage'
                 WHEN ChargeCategory = 'Usage' THEN 'charge class Correction'
                 ELSE 'charge category ' || coalesce(ChargeCategory, '(none)') END
                AS line_item_type,
            coalesce(x_ServiceCode, ServiceName) AS product_code,
            CASE WHEN ProviderName IN ('AWS', 'Amazon Web Services')
                 THEN coalesce(codes.service, services.service) END AS service,
            coalesce(x_UsageType, CASE WHEN regexp_matches(coalesce(SkuMeter, ''),
                {sql_string(_SKU_METER_USAGE_TYPE)}) THEN SkuMeter END) AS usage_type,
            ChargeDescription AS description,
            RegionId AS region_id,
            ConsumedUnit AS bill_unit,
            ChargePeriodStart AS started,
            ChargePeriodEnd AS ended,
            ConsumedQuantity AS amount,
            coalesce(SubAccountId, '') AS account_id,
            BillingPeriodStart AS billing_period,
            BilledCost AS cost
        FROM ({union}) AS focus
        LEFT JOIN {services} ON services.name = focus.ServiceName
        LEFT JOIN {codes} ON codes.code = focus.x_ServiceCode
    )"""


def _values(mapping: Mapping[str, str], alias: str, key: str) -> str:
    """``mapping`` as an inline table ``alias(key, service)``."""
    rows = ", ".join(f"({sql_string(k)}, {sql_string(v)})" for k, v in mapping.items())
    return f"(VALUES {rows}) AS {alias}({key}, service)"


# --------------------------------------------------------------------------------------------
# classification and aggregation

_SERVICE_PRODUCT: Final = {
    "fargate": "AmazonECS",
    "lambda": "AWSLambda",
    "sagemaker": "AmazonSageMaker",
}
"""The product code that stands for a service when a FOCUS row names none (no x_ServiceCode)."""
_MAX_SPREAD_HOURS: Final = 31 * 24
"""The most hours one line item is spread over (a month): a longer span is a bad end date."""
_STAGED: Final = "commitopt_compute_rows"
_PARSED: Final = "commitopt_compute_parsed"


def _read(
    connection: duckdb.DuckDBPyConnection, relation: str, fmt: str, files: Sequence[Path]
) -> tuple[pd.DataFrame, ComputeUsageReport]:
    """Keep the latest delivery of each billing period, stage its rows, parse each distinct
    usage type once, aggregate the demand per hour."""
    where = describe_files(files)
    kept_files, superseded = keep_latest_deliveries(
        _fetch(connection, _file_stats_sql(relation), where)
    )
    if superseded:
        listed = ", ".join(sql_string(f) for f in kept_files)
        relation = f"(SELECT * FROM {relation} AS delivered WHERE file IN ({listed}))"
    demand = f"line_item_type IN ({', '.join(sql_string(t) for t in DEMAND_LINE_ITEM_TYPES)})"
    _execute(
        connection,
        f"""CREATE TEMP TABLE {_STAGED} AS SELECT *,
            CASE WHEN service IS NULL THEN 'other service'
                 WHEN line_item_type = 'SavingsPlanNegation' THEN 'Savings Plan negation'
                 WHEN NOT ({demand}) AND line_item_type LIKE 'charge %' THEN line_item_type
                 WHEN NOT ({demand}) THEN 'line item type ' || line_item_type
                 ELSE '' END AS excluded,
            coalesce(usage_type, description, '') AS parse_key
        FROM (SELECT * REPLACE (coalesce(product_code, '') AS product_code,
                                coalesce(region_id, '') AS region_id,
                                coalesce(bill_unit, '') AS bill_unit) FROM {relation})""",
        where,
    )
    distinct = _fetch(
        connection,
        f"SELECT DISTINCT service, product_code, usage_type, CASE WHEN usage_type IS NULL "
        f"THEN description END AS description, region_id, bill_unit, "
        f"parse_key "
        f"FROM {_STAGED} WHERE excluded = '' ORDER BY ALL",
        where,
    )
    connection.register(_PARSED, _parse_distinct(distinct))
    _check_values(connection, where)
    joined = f"""
        FROM {_STAGED} AS r JOIN {_PARSED} AS p
            ON p.service = r.service AND p.product_code = r.product_code
               AND p.parse_key = r.parse_key AND p.region_id = r.region_id
               AND p.bill_unit = r.bill_unit
        WHERE r.excluded = ''"""
    table = _fetch(connection, _hourly_sql(joined), where)
    unparsed = _reasons(
        connection,
        f"SELECT p.reason, count(*), coalesce(sum(TRY_CAST(r.amount AS DOUBLE)), 0), "
        f"list(DISTINCT r.parse_key ORDER BY r.parse_key)[1:{_EXAMPLES}] "
        f"{joined} AND p.reason <> '' GROUP BY 1 ORDER BY 1",
        where,
    )
    excluded = _reasons(
        connection,
        f"SELECT excluded, count(*), coalesce(sum(TRY_CAST(amount AS DOUBLE)), 0), "
        f"list(DISTINCT parse_key ORDER BY parse_key)[1:{_EXAMPLES}] "
        f"FROM {_STAGED} WHERE excluded <> '' GROUP BY 1 ORDER BY 1",
        where,
    )
    counts = _fetch(
        connection,
        f"SELECT (SELECT count(*) FROM {_STAGED}) AS total, "
        f"(SELECT count(*) {joined} AND p.reason = '') AS kept",
        where,
    )
    total, kept = int(counts["total"].iloc[0]), int(counts["kept"].iloc[0])
    connection.unregister(_PARSED)
    connection.execute(f"DROP TABLE {_STAGED}")
    report = ComputeUsageReport(
        format=fmt,
        files=tuple(kept_files),
        superseded_files=tuple(superseded),
        line_items=total,
        kept_line_items=kept,
        unparsed=unparsed,
        excluded=excluded,
    )
    return _tidy(table), report


def _hourly_sql(joined: str) -> str:
    """The demand per hour and key: each line item spread evenly over the hours its usage spans
    (``[start, end)``, at least the hour it starts in, at most :data:`_MAX_SPREAD_HOURS`), so a
    daily CUR's day becomes 24 hours of a 24th each and an hourly line item stays in its hour."""
    started = "TRY_CAST(r.started AS TIMESTAMPTZ)"
    first_hour = f"date_trunc('hour', {started})"
    spanned = (
        f"least({_MAX_SPREAD_HOURS}, greatest(1, CAST(ceil((epoch(TRY_CAST(r.ended AS "
        f"TIMESTAMPTZ)) - epoch({first_hour})) / 3600) AS BIGINT)))"
    )
    parsed = ", ".join(f"p.{c}" for c in _PARSED_COLUMNS[1:])
    return f"""
        SELECT first_hour + INTERVAL 1 HOUR * offset_hours AS hour, account_id, service,
            {", ".join(_PARSED_COLUMNS[1:])}, sum(amount / hours) AS quantity
        FROM (
            SELECT {first_hour} AS first_hour, r.account_id, r.service, {parsed},
                TRY_CAST(r.amount AS DOUBLE) AS amount, coalesce({spanned}, 1) AS hours,
                unnest(range(coalesce({spanned}, 1))) AS offset_hours
            {joined} AND p.reason = ''
        ) AS spread
        GROUP BY ALL"""


def _file_stats_sql(relation: str) -> str:
    """Per file: billing period, rows, usage and cost sums, first and last start: the stats
    :func:`usage.readers.keep_latest_deliveries` compares."""
    started = "TRY_CAST(started AS TIMESTAMPTZ)"
    return f"""
        SELECT file,
            coalesce(strftime(min(TRY_CAST(billing_period AS TIMESTAMPTZ)), '%Y-%m'),
                     strftime(min({started}), '%Y-%m'), '') AS period,
            count(*) AS line_items,
            coalesce(sum(TRY_CAST(amount AS DOUBLE)), 0) AS quantity,
            coalesce(sum(TRY_CAST(cost AS DOUBLE)), 0) AS cost,
            min({started}) AS first, max({started}) AS last
        FROM {relation} GROUP BY file"""


def _parse_distinct(distinct: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct (service, product code, parse key, region, unit): the parsed
    columns, and ``reason`` (``''`` when parsed; ``"unknown unit"`` when the bill's unit is not
    a spelling of the rule's, :func:`pricing.compute_usage_types.unit_matches`)."""
    rows = []
    distinct = distinct.astype(object).where(distinct.notna(), None)  # NULL is None, never NaN
    for service, code, usage_type, description, region_id, unit, key in distinct.itertuples(
        index=False
    ):
        parsed: ComputeUsageType | UnparsedUsageType
        if usage_type:
            product_code = code if code in PRODUCT_CODE_SERVICE else _SERVICE_PRODUCT[service]
            parsed = parse_compute_usage_type(usage_type, product_code)
        else:
            parsed = parse_charge_description(description, service, region_id or None)
        if isinstance(parsed, ComputeUsageType) and not unit_matches(unit, parsed.unit):
            parsed = UnparsedUsageType(key, "unknown unit")
        row = {"service": service, "product_code": code, "parse_key": key}
        row |= {"region_id": region_id, "bill_unit": unit}
        if isinstance(parsed, ComputeUsageType):
            row |= {c: getattr(parsed, c) for c in _PARSED_COLUMNS[1:]}
            row["reason"] = ""
        else:
            row |= dict.fromkeys(_PARSED_COLUMNS[1:], "")
            row["reason"] = parsed.reason
        rows.append(row)
    columns = ["service", "product_code", "parse_key", "region_id", "bill_unit"]
    columns += [*_PARSED_COLUMNS[1:], "reason"]
    return pd.DataFrame(rows, columns=columns).astype("str")


def _check_values(connection: duckdb.DuckDBPyConnection, where: str) -> None:
    """Raise when a demand row of the three services has a bad start or amount."""
    for column, what, cast in (
        ("started", "usage start (line_item_usage_start_date / ChargePeriodStart)", "TIMESTAMPTZ"),
        ("amount", "usage amount (line_item_usage_amount / ConsumedQuantity)", "DOUBLE"),
    ):
        bad = _fetch(
            connection,
            f"SELECT count(*) AS n, min(coalesce({column}, 'empty')) AS example "
            f"FROM {_STAGED} WHERE excluded = '' AND TRY_CAST({column} AS {cast}) IS NULL",
            where,
        )
        if int(bad["n"].iloc[0]):
            raise UsageInputError(
                where,
                f"{int(bad['n'].iloc[0])} Fargate, Lambda or SageMaker usage row(s) have a {what} "
                f"that is not a {'timestamp' if cast == 'TIMESTAMPTZ' else 'number'} "
                f"(e.g. {bad['example'].iloc[0]!r})",
                "pass an unmodified export",
            )


def _execute(connection: duckdb.DuckDBPyConnection, sql: str, where: str) -> None:
    try:
        connection.execute(sql)
    except duckdb.Error as error:
        raise UsageInputError(
            where,
            f"cannot be read ({first_line(error)})",
            "pass unmodified, complete files (re-download a truncated or corrupt one)",
        ) from error


def _fetch(connection: duckdb.DuckDBPyConnection, sql: str, where: str) -> pd.DataFrame:
    try:
        return connection.sql(sql).df()
    except duckdb.Error as error:
        raise UsageInputError(
            where,
            f"cannot be read ({first_line(error)})",
            "pass unmodified, complete files (re-download a truncated or corrupt one)",
        ) from error


def _reasons(
    connection: duckdb.DuckDBPyConnection, sql: str, where: str
) -> tuple[ReasonCount, ...]:
    return tuple(
        ReasonCount(str(reason), int(count), float(quantity), tuple(str(e) for e in examples))
        for reason, count, quantity, examples in _fetch(connection, sql, where).itertuples(
            index=False
        )
    )


def _tidy(table: pd.DataFrame) -> pd.DataFrame:
    """The aggregated rows in the order and types of :data:`COMPUTE_USAGE_COLUMNS`."""
    if table.empty:
        table = pd.DataFrame({c: pd.Series(dtype="object") for c in COMPUTE_USAGE_COLUMNS})
    table["hour"] = pd.to_datetime(table["hour"], utc=True)
    table["quantity"] = table["quantity"].astype("float64")
    for column in _KEY_COLUMNS:
        table[column] = table[column].astype("object").fillna("").astype(str)
    table = table[list(COMPUTE_USAGE_COLUMNS)]
    return table.sort_values(["hour", *_KEY_COLUMNS], kind="stable").reset_index(drop=True)


__all__ = [
    "COMPUTE_USAGE_COLUMNS",
    "DEMAND_LINE_ITEM_TYPES",
    "ComputeUsageReport",
    "ReasonCount",
    "read_compute_usage",
]
