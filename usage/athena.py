"""The aggregation SQL of :mod:`usage.demand_sql` run by Amazon Athena over a CUR table in S3.

For reports too big to download: the same ``classified_sql`` text as the DuckDB readers, in the
``athena`` dialect, against the user's CUR table (legacy CUR Athena integration or a CUR 2.0
table; both have the ``line_item_*`` columns). Athena scans and aggregates; only the aggregated
rows (a few per hour and key) come back, paged through ``get_query_results``.

:func:`read_cur_athena` gathers every page into pandas; :func:`stage_cur_athena` appends the
pages, as they arrive, to a temporary DuckDB table of the connection they are to be stored
through (DuckDB spills beyond its memory limit) and stages them as :mod:`usage.staged_bill` stages
a bill's files, so that memory stays flat whatever the size of the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Final

import duckdb
import pandas as pd

from core.errors import param
from pricing.readers.aws_api import call_with_backoff, paginate
from pricing.readers.common import ProgressCallback
from usage.demand_sql import CurColumns, classified_sql
from usage.errors import UsageInputError
from usage.readers import (
    CLASSIFIED_TABLE,
    ImportReport,
    summarise_classified,
    table_from_classified,
)
from usage.staged_bill import StagedBill, stage_classified, utc_session

_RESULT_COLUMNS: Final = (
    "reason",
    "hour",
    "account_id",
    "region",
    "instance_type",
    "platform",
    "tenancy",
    "currency",
    "line_items",
    "quantity",
    "cost",
)
_RUNNING: Final = frozenset({"QUEUED", "RUNNING"})
_CHUNK_ROWS: Final = 50_000
"""Result rows gathered before they are parsed and appended to DuckDB (Athena pages hold 1,000)."""
_CLASSIFIED_SCHEMA: Final = (
    "reason VARCHAR, hour TIMESTAMPTZ, account_id VARCHAR, region VARCHAR, "
    "instance_type VARCHAR, platform VARCHAR, tenancy VARCHAR, currency VARCHAR, "
    "line_items DOUBLE, quantity DOUBLE, cost DOUBLE"
)
"""The columns of :data:`usage.readers.CLASSIFIED_TABLE` as Athena's rows fill it."""


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def athena_sql(
    *,
    database: str,
    table: str,
    start: datetime | str,
    end: datetime | str,
    columns: CurColumns | None = None,
) -> str:
    """The Athena query: :func:`usage.demand_sql.classified_sql` over ``database.table``."""
    relation = f"{_quote(database)}.{_quote(table)}"
    return classified_sql(relation, columns, dialect="athena", start=start, end=end)


def _wait(
    client: Any,
    execution_id: str,
    *,
    sleep: Callable[[float], None],
    timeout_s: float,
    poll_s: float,
    max_poll_s: float,
) -> None:
    """Poll ``get_query_execution`` with growing delays until the query ends."""
    waited = 0.0
    delay = poll_s
    while True:
        answer = call_with_backoff(
            client.get_query_execution,
            permission="athena:GetQueryExecution",
            sleep=sleep,
            QueryExecutionId=execution_id,
        )
        status = answer.get("QueryExecution", {}).get("Status", {})
        state = str(status.get("State", ""))
        if state == "SUCCEEDED":
            return
        if state not in _RUNNING:
            reason = status.get("StateChangeReason") or "no reason given"
            raise UsageInputError(
                f"Athena query {execution_id}",
                f"ended {state or 'without a state'}: {reason}",
                "check the database, table and column names and the workgroup's output location",
            )
        if waited >= timeout_s:
            raise UsageInputError(
                f"Athena query {execution_id}",
                f"still {state} after {timeout_s:.0f} s",
                f"narrow the period ({param('start')}, {param('end')}) or raise the timeout",
            )
        sleep(delay)
        waited += delay
        delay = min(max_poll_s, delay * 2)


def _chunks(
    client: Any, execution_id: str, sleep: Callable[[float], None], chunk_rows: int = _CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """The result rows (header dropped), parsed, in chunks of about ``chunk_rows`` as the pages
    arrive: ``reason`` text (NULL as ``''``), ``hour`` UTC, counts and sums as numbers (0 for
    NULL), the key and currency as text (NULL as None). At least one chunk, maybe empty."""
    header: list[str] | None = None
    records: list[list[str | None]] = []
    for page in paginate(
        client.get_query_results,
        permission="athena:GetQueryResults",
        sleep=sleep,
        QueryExecutionId=execution_id,
    ):
        rows = page.get("ResultSet", {}).get("Rows", [])
        for row in rows:
            values = [cell.get("VarCharValue") for cell in row.get("Data", [])]
            if header is None:
                header = [str(v) for v in values]
                _check_header(header, execution_id)
                continue
            records.append(values)
        if len(records) >= chunk_rows:
            yield _parsed(records, header or list(_RESULT_COLUMNS))
            records = []
    yield _parsed(records, header or list(_RESULT_COLUMNS))


def _check_header(header: list[str], execution_id: str) -> None:
    missing = [c for c in _RESULT_COLUMNS if c not in header]
    if missing:
        raise UsageInputError(
            f"Athena query {execution_id}",
            f"result lacks column(s) {', '.join(missing)} (found: {', '.join(header)})",
            "run the query commitopt builds, unchanged",
        )


def _parsed(records: list[list[str | None]], header: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=header, dtype=object)
    frame["reason"] = frame["reason"].fillna("").astype(str)
    for column in ("line_items", "quantity", "cost"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").fillna(0.0)
    frame["hour"] = pd.to_datetime(frame["hour"], utc=True, format="ISO8601")
    return frame


def _rows(client: Any, execution_id: str, sleep: Callable[[float], None]) -> pd.DataFrame:
    """All result rows (header dropped), parsed as :func:`_chunks` parses them."""
    return pd.concat(list(_chunks(client, execution_id, sleep)), ignore_index=True)


def _start_query(
    client: Any,
    *,
    database: str,
    table: str,
    output_location: str | None,
    start: datetime | str,
    end: datetime | str,
    workgroup: str | None,
    columns: CurColumns | None,
    sleep: Callable[[float], None],
    timeout_s: float,
    poll_s: float,
    max_poll_s: float,
) -> str:
    """Start the query of :func:`athena_sql` and wait for it; its execution id."""
    sql = athena_sql(database=database, table=table, start=start, end=end, columns=columns)
    request: dict[str, Any] = {
        "QueryString": sql,
        "QueryExecutionContext": {"Database": database},
    }
    if output_location:
        request["ResultConfiguration"] = {"OutputLocation": output_location}
    if workgroup:
        request["WorkGroup"] = workgroup
    started = call_with_backoff(
        client.start_query_execution,
        permission="athena:StartQueryExecution",
        sleep=sleep,
        **request,
    )
    execution_id = str(started["QueryExecutionId"])
    _wait(
        client,
        execution_id,
        sleep=sleep,
        timeout_s=timeout_s,
        poll_s=poll_s,
        max_poll_s=max_poll_s,
    )
    return execution_id


def read_cur_athena(
    client: Any,
    *,
    database: str,
    table: str,
    output_location: str | None,
    start: datetime | str,
    end: datetime | str,
    workgroup: str | None = None,
    columns: CurColumns | None = None,
    daily: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    timeout_s: float = 1800.0,
    poll_s: float = 0.5,
    max_poll_s: float = 10.0,
) -> tuple[pd.DataFrame, ImportReport]:
    """Aggregate a CUR table with Athena into the canonical hourly usage table.

    Parameters
    ----------
    client
        A boto3 Athena client.
    database, table
        The CUR table (Glue catalog).
    output_location
        ``s3://bucket/prefix/`` for the query results (None: the workgroup's).
    start, end
        Usage period ``[start, end)`` (UTC); bounds the scan (and Athena's bill).
    workgroup
        Athena workgroup (None: ``primary``).
    columns
        Column names, when the table's differ from the CUR defaults.
    daily
        The table holds a daily-granular report: spread each day over 24 hours.
    sleep
        Injected for tests.
    timeout_s, poll_s, max_poll_s
        Give up after ``timeout_s`` [s]; poll first after ``poll_s`` [s], doubling up to
        ``max_poll_s`` [s].

    Returns
    -------
    (pandas.DataFrame, ImportReport)
        As :func:`usage.readers.read_cur`.

    Raises
    ------
    AwsAccessError
        Credentials, permissions, throttling.
    UsageInputError
        A failed or timed-out query, or the data errors of :func:`usage.readers.read_cur`.
    """
    execution_id = _start_query(
        client, database=database, table=table, output_location=output_location, start=start,
        end=end, workgroup=workgroup, columns=columns, sleep=sleep, timeout_s=timeout_s,
        poll_s=poll_s, max_poll_s=max_poll_s,
    )  # fmt: skip
    frame = _rows(client, execution_id, sleep)
    where = f"Athena table {database}.{table}"
    return table_from_classified(
        frame,
        fmt="athena",
        where=where,
        files=(where,),
        daily=daily,
    )


def stage_cur_athena(
    client: Any,
    connection: duckdb.DuckDBPyConnection,
    *,
    database: str,
    table: str,
    output_location: str | None,
    start: datetime | str,
    end: datetime | str,
    workgroup: str | None = None,
    columns: CurColumns | None = None,
    daily: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    timeout_s: float = 1800.0,
    poll_s: float = 0.5,
    max_poll_s: float = 10.0,
    progress: ProgressCallback | None = None,
    chunk_rows: int = _CHUNK_ROWS,
) -> StagedBill:
    """Aggregate a CUR table with Athena and stage the result on ``connection``, page by page.

    The query and its checks are those of :func:`read_cur_athena`, and the staged rows are the
    ones it returns; the pages never gather in pandas: each chunk of about ``chunk_rows`` result
    rows is appended to :data:`usage.readers.CLASSIFIED_TABLE` as it arrives, then
    :func:`usage.staged_bill.stage_classified` stages the demand.

    Parameters
    ----------
    client, database, table, output_location, start, end, workgroup, columns, daily, sleep,
    timeout_s, poll_s, max_poll_s
        As :func:`read_cur_athena`.
    connection
        The DuckDB connection the rows are to be stored through (the workspace's).
    progress
        Called as ``progress(result_rows_read, None)`` as the pages arrive.
    chunk_rows
        Result rows gathered before they are appended to DuckDB.

    Returns
    -------
    StagedBill

    Raises
    ------
    AwsAccessError, UsageInputError
        As :func:`read_cur_athena`.
    """
    execution_id = _start_query(
        client, database=database, table=table, output_location=output_location, start=start,
        end=end, workgroup=workgroup, columns=columns, sleep=sleep, timeout_s=timeout_s,
        poll_s=poll_s, max_poll_s=max_poll_s,
    )  # fmt: skip
    where = f"Athena table {database}.{table}"
    with utc_session(connection):
        connection.execute(
            f"CREATE OR REPLACE TEMP TABLE {CLASSIFIED_TABLE} ({_CLASSIFIED_SCHEMA})"
        )
        try:
            done = 0
            for chunk in _chunks(client, execution_id, sleep, chunk_rows):
                _append(connection, chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, None)
        except BaseException:
            connection.execute(f"DROP TABLE IF EXISTS {CLASSIFIED_TABLE}")
            raise
        classified = summarise_classified(
            connection, fmt="athena", where=where, files=(where,), daily=daily
        )
        return stage_classified(connection, classified)


def _append(connection: duckdb.DuckDBPyConnection, chunk: pd.DataFrame) -> None:
    """Append parsed result rows to :data:`usage.readers.CLASSIFIED_TABLE`."""
    if chunk.empty:
        return
    names = [name.split()[0] for name in _CLASSIFIED_SCHEMA.split(", ")]
    typed = chunk[names].astype(
        {c: "string" for c in names if c not in ("hour", "line_items", "quantity", "cost")}
    )
    connection.register("athena_chunk_incoming", typed)
    try:
        connection.execute(
            f"INSERT INTO {CLASSIFIED_TABLE} SELECT {', '.join(names)} FROM athena_chunk_incoming"
        )
    finally:
        connection.unregister("athena_chunk_incoming")


__all__ = ["athena_sql", "read_cur_athena", "stage_cur_athena"]
