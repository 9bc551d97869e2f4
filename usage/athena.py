"""The aggregation SQL of :mod:`usage.demand_sql` run by Amazon Athena over a CUR table in S3.

For reports too big to download: the same ``classified_sql`` text as the DuckDB readers, in the
``athena`` dialect, against the user's CUR table (legacy CUR Athena integration or a CUR 2.0
table; both have the ``line_item_*`` columns). Athena scans and aggregates; only the aggregated
rows (a few per hour and key) come back, paged through ``get_query_results``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

import pandas as pd

from core.errors import param
from pricing.readers.aws_api import call_with_backoff, paginate
from usage.demand_sql import CurColumns, classified_sql
from usage.errors import UsageInputError
from usage.readers import ImportReport, table_from_classified

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


def _rows(client: Any, execution_id: str, sleep: Callable[[float], None]) -> pd.DataFrame:
    """All result rows (header dropped) as text, NULL cells as None."""
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
                continue
            records.append(values)
    if header is None:
        header = list(_RESULT_COLUMNS)
    missing = [c for c in _RESULT_COLUMNS if c not in header]
    if missing:
        raise UsageInputError(
            f"Athena query {execution_id}",
            f"result lacks column(s) {', '.join(missing)} (found: {', '.join(header)})",
            "run the query commitopt builds, unchanged",
        )
    frame = pd.DataFrame(records, columns=header, dtype=object)
    frame["reason"] = frame["reason"].fillna("").astype(str)
    for column in ("line_items", "quantity", "cost"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").fillna(0.0)
    frame["hour"] = pd.to_datetime(frame["hour"], utc=True, format="ISO8601")
    return frame


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
    frame = _rows(client, execution_id, sleep)
    where = f"Athena table {database}.{table}"
    return table_from_classified(
        frame,
        fmt="athena",
        where=where,
        files=(where,),
        daily=daily,
    )


__all__ = ["athena_sql", "read_cur_athena"]
