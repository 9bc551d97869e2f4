"""Athena path: the same SQL as DuckDB (bar the documented dialect fragments), run through moto."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pandas as pd
import pytest
import requests
from moto import mock_aws

from usage.athena import athena_sql, read_cur_athena
from usage.demand_sql import DIALECT_FRAGMENTS, classified_sql
from usage.errors import UsageInputError
from usage.readers import read_cur

CUR = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "cur"
    / "wal_Oct2018-WorkshopCUR-usage-trimmed.zstd.parquet"
)


def test_athena_sql_is_the_duckdb_sql_but_for_the_dialect_fragments() -> None:
    athena = athena_sql(database="cur_db", table="cur", start="2018-10-01", end="2018-11-01")
    duck = classified_sql('"cur_db"."cur"', start="2018-10-01", end="2018-11-01")
    assert athena != duck
    translated = athena
    fragments = [("timestamp", "line_item_usage_start_date")]
    fragments += [("literal", day) for day in ("2018-10-01", "2018-11-01")]
    for kind, argument in fragments:
        athena_text = DIALECT_FRAGMENTS["athena"][kind].format(argument)
        assert athena_text in translated
        translated = translated.replace(
            athena_text, DIALECT_FRAGMENTS["duckdb"][kind].format(argument)
        )
    assert translated == duck


def _canned_rows() -> dict[str, Any]:
    """What Athena would answer: the DuckDB result of the same query, as Athena text cells."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    frame = connection.sql(classified_sql(f"read_parquet('{CUR}')")).df()
    header = list(frame.columns)

    def cell(value: object) -> dict[str, str]:
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
            return {}
        if isinstance(value, pd.Timestamp):
            return {"VarCharValue": value.strftime("%Y-%m-%d %H:%M:%S.000")}
        return {"VarCharValue": str(value)}

    rows = [{"Data": [{"VarCharValue": name} for name in header]}]
    for record in frame.astype(object).itertuples(index=False):
        rows.append({"Data": [cell(None if pd.isna(v) else v) for v in record]})
    columns = [{"Name": name, "Type": "varchar"} for name in header]
    return {"results": [{"rows": rows, "column_info": columns}], "region": "us-east-1"}


@mock_aws
def test_read_cur_athena_through_moto_equals_duckdb() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="athena-results")
    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/athena/query-results",
        json=_canned_rows(),
        timeout=10,
    )
    client = boto3.client("athena", region_name="us-east-1")
    sleeps: list[float] = []
    table, report = read_cur_athena(
        client,
        database="cur_db",
        table="cur",
        output_location="s3://athena-results/q/",
        start="2018-10-01",
        end="2018-11-01",
        sleep=sleeps.append,
    )
    expected, expected_report = read_cur(CUR)
    pd.testing.assert_frame_equal(table, expected)
    assert report.kept_line_items == expected_report.kept_line_items == 1610
    assert report.excluded("RI fee").line_items == 9
    executions = client.list_query_executions()["QueryExecutionIds"]
    query = client.get_query_execution(QueryExecutionId=executions[0])["QueryExecution"]
    assert "CAST(line_item_usage_start_date AS TIMESTAMP)" in query["Query"]
    assert query["ResultConfiguration"]["OutputLocation"].startswith("s3://athena-results/q/")


class _FakeAthena:
    """Polls QUEUED, RUNNING then a final state; results in two pages."""

    def __init__(self, final: str, pages: list[dict[str, Any]]) -> None:
        self.states = ["QUEUED", "RUNNING", final]
        self.pages = pages

    def start_query_execution(self, **_: Any) -> dict[str, Any]:
        return {"QueryExecutionId": "q1"}

    def get_query_execution(self, **_: Any) -> dict[str, Any]:
        state = self.states.pop(0)
        return {"QueryExecution": {"Status": {"State": state, "StateChangeReason": "bad table"}}}

    def get_query_results(self, **request: Any) -> dict[str, Any]:
        return self.pages[1] if request.get("NextToken") else self.pages[0]


def _row(*values: str | None) -> dict[str, Any]:
    return {"Data": [{} if v is None else {"VarCharValue": v} for v in values]}


HEADER = _row(
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


def test_polls_with_backoff_and_pages() -> None:
    pages = [
        {
            "ResultSet": {
                "Rows": [
                    HEADER,
                    _row(
                        "",
                        "2024-01-01 00:00:00.000",
                        "1",
                        "us-east-1",
                        "m5.large",
                        "Linux/UNIX",
                        "Shared",
                        "USD",
                        "2",
                        "2.0",
                        "0.2",
                    ),
                ]
            },
            "NextToken": "t",
        },
        {
            "ResultSet": {
                "Rows": [
                    _row("RI fee", None, None, None, None, None, None, "USD", "1", "744", "50")
                ]
            }
        },
    ]
    sleeps: list[float] = []
    table, report = read_cur_athena(
        _FakeAthena("SUCCEEDED", pages),
        database="d",
        table="t",
        output_location=None,
        start="2024-01-01",
        end="2024-02-01",
        sleep=sleeps.append,
    )
    assert sleeps == [0.5, 1.0]
    assert table["quantity"].tolist() == [2.0]
    assert report.excluded("RI fee").cost == 50.0


def _read_january(athena: _FakeAthena, *, timeout_s: float = 1800.0, poll_s: float = 0.5) -> object:
    """Query January 2024 of table ``d.t`` through the fake client, without sleeping."""
    return read_cur_athena(
        athena,
        database="d",
        table="t",
        output_location=None,
        start="2024-01-01",
        end="2024-02-01",
        sleep=lambda _: None,
        timeout_s=timeout_s,
        poll_s=poll_s,
    )


def test_timed_out_query_names_the_period_parameters() -> None:
    with pytest.raises(UsageInputError, match="still RUNNING after 1 s") as error:
        _read_january(_FakeAthena("RUNNING", []), timeout_s=1.0, poll_s=1.0)
    assert error.value.parameters == ("start", "end")
    assert str(error.value).endswith("narrow the period (`start`, `end`) or raise the timeout")
    flags = {"start": "--from", "end": "--to"}
    assert "narrow the period (--from, --to)" in error.value.render(flags.__getitem__)


def test_failed_query_is_one_clear_error() -> None:
    with pytest.raises(UsageInputError, match="ended FAILED: bad table"):
        _read_january(_FakeAthena("FAILED", []))
