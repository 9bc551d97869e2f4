"""``usage import-athena`` stores the result's pages as they arrive, in one import.

Moto (in-process: a subprocess cannot reach it) and a fake client answer with the DuckDB result
of the classification SQL over the real CUR fixture; the oracle is :func:`usage.readers.read_cur`
of that fixture (the file reader, not Athena's path). A failure while the pages arrive, or a
result the checks refuse, leaves the workspace as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import duckdb
import numpy as np
import pandas as pd
import pytest
import requests
from moto import mock_aws

from commitopt.imports import import_validated_usage
from commitopt.workspace import UsageSource, Workspace
from tests.commitopt.conftest import RunCli
from tests.usage.test_athena import CUR, _canned_rows
from usage.athena import stage_cur_athena
from usage.errors import UsageInputError
from usage.readers import read_cur
from usage.staged_bill import drop_staged

KEYS = ("account_id", "region", "instance_type", "platform", "tenancy")
TABLES = ("usage_hourly", "usage_imports", "usage_import_footprints")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and one region for boto3 under moto."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)


def _expected() -> pd.DataFrame:
    frame, _report = read_cur(CUR)
    return pd.DataFrame(
        {
            "hour": frame["hour"].dt.tz_localize(None).astype("datetime64[us]"),
            **{c: frame[c].astype(str) for c in KEYS},
            "quantity": frame["quantity"].to_numpy(dtype=float),
        }
    ).sort_values(["hour", *KEYS], ignore_index=True)


def _stored(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return connection.execute(
        f"SELECT hour, {', '.join(KEYS)}, quantity FROM usage_hourly WHERE replaced_by IS NULL "
        "ORDER BY ALL"
    ).df()


def _assert_same_rows(stored: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert len(stored) == len(expected)
    assert (stored["hour"].astype("datetime64[us]") == expected["hour"]).all()
    for column in KEYS:
        assert stored[column].astype(str).tolist() == expected[column].tolist(), column
    np.testing.assert_allclose(stored["quantity"], expected["quantity"], rtol=1e-12, atol=1e-12)


def _snapshot(path: Path) -> dict[str, Any]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return {t: connection.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}


ARGS = (
    "usage", "import-athena", "--database", "cur_db", "--table", "cur",
    "--output-location", "s3://athena-results/q/", "--region", "us-east-1",
    "--from", "2018-10-01", "--to", "2018-11-01",
)  # fmt: skip


def _mixed_currency(canned: dict[str, Any]) -> dict[str, Any]:
    """The canned result with one excluded row's currency changed to EUR (a refused result)."""
    rows = [dict(r) for r in canned["results"][0]["rows"]]
    header = [c["VarCharValue"] for c in rows[0]["Data"]]
    at = header.index("currency")
    for index, row in enumerate(rows[1:], start=1):
        if row["Data"][0].get("VarCharValue"):  # an excluded row
            data = list(row["Data"])
            data[at] = {"VarCharValue": "EUR"}
            rows[index] = {"Data": data}
            break
    return {**canned, "results": [{**canned["results"][0], "rows": rows}]}


@mock_aws
def test_import_athena_stores_the_file_readers_rows_and_a_refused_result_changes_nothing(
    run_cli: RunCli, tmp_path: Path, aws: None
) -> None:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="athena-results")
    canned = _canned_rows()
    queued = {**canned, "results": [*canned["results"], *_mixed_currency(canned)["results"]]}
    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/athena/query-results",
        json=queued,
        timeout=10,
    )
    workspace = tmp_path / "ws.duckdb"
    result = run_cli(*ARGS, "--workspace", str(workspace), "--format", "json", "-q")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    expected = _expected()
    with duckdb.connect(str(workspace), read_only=True) as connection:
        _assert_same_rows(_stored(connection), expected)
        recorded = connection.execute(
            "SELECT source_kind, granularity, rows_kept, usage_rows FROM usage_imports"
        ).fetchall()
    assert recorded == [("athena", "hourly", 1610, len(expected))]
    assert payload["usage_row_count"] == len(expected)
    assert payload["kept_line_item_count"] == 1610
    before = _snapshot(workspace)
    refused = run_cli(*ARGS, "--workspace", str(workspace), "--format", "json", "-q")
    assert refused.exit_code == 2, refused.stderr
    assert "mixed currencies EUR, USD" in refused.stderr
    assert _snapshot(workspace) == before


class _PagedAthena:
    """A finished query whose result comes in pages of ``page_rows``; page ``fail_at`` raises."""

    def __init__(self, page_rows: int, fail_at: int | None = None) -> None:
        rows = _canned_rows()["results"][0]["rows"]
        self.pages = [rows[i : i + page_rows] for i in range(0, len(rows), page_rows)]
        self.fail_at = fail_at

    def start_query_execution(self, **_: Any) -> dict[str, Any]:
        return {"QueryExecutionId": "q1"}

    def get_query_execution(self, **_: Any) -> dict[str, Any]:
        return {"QueryExecution": {"Status": {"State": "SUCCEEDED"}}}

    def get_query_results(self, **request: Any) -> dict[str, Any]:
        index = int(request.get("NextToken") or 0)
        if index == self.fail_at:
            raise UsageInputError("Athena query q1", "the connection dropped", "try again")
        page: dict[str, Any] = {"ResultSet": {"Rows": self.pages[index]}}
        if index + 1 < len(self.pages):
            page["NextToken"] = str(index + 1)
        return page


def _stage(workspace: Workspace, client: _PagedAthena, seen: list[int]) -> Any:
    return stage_cur_athena(
        client, workspace.connection, database="d", table="t", output_location=None,
        start="2018-10-01", end="2018-11-01", sleep=lambda _: None, chunk_rows=100,
        progress=lambda done, _total: seen.append(done),
    )  # fmt: skip


class _Counts:
    rows_kept = 1610
    rows_excluded = 0


def test_pages_are_staged_in_chunks_as_they_arrive_and_a_failure_changes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ws.duckdb"
    seen: list[int] = []
    with Workspace.open(path) as workspace, workspace.streaming():
        staged = _stage(workspace, _PagedAthena(page_rows=40), seen)
        with workspace.transaction():
            import_validated_usage(
                workspace, staged.usage, period_start="2018-10-01", period_end="2018-11-01",
                source=UsageSource("athena"), report=_Counts(),
            )  # fmt: skip
        drop_staged(workspace.connection)
        _assert_same_rows(_stored(workspace.connection), _expected())
    total = len(_canned_rows()["results"][0]["rows"]) - 1
    assert len(seen) >= total // 120 and seen[-1] == total  # chunks of >= 100 rows, as they came
    assert seen == sorted(seen)
    before = _snapshot(path)
    with Workspace.open(path) as workspace, workspace.streaming():
        with pytest.raises(UsageInputError, match="the connection dropped"):
            _stage(workspace, _PagedAthena(page_rows=40, fail_at=5), [])
        assert not workspace.has_table("commitopt_classified_usage")
    assert _snapshot(path) == before
