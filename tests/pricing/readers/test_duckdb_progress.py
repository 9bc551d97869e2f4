"""The shared DuckDB progress poller."""

from __future__ import annotations

import threading
import time

import duckdb
import pytest

from pricing.readers.duckdb_progress import reporting_progress

# About 0.5-1.5 s on two cores: long enough for a few polls 20 ms apart.
SLOW_SQL = "SELECT sum(i % 7) FROM range(250000000) AS t(i)"
SLOW_SUM = sum(i % 7 for i in range(7)) * (250_000_000 // 7) + sum(range(250_000_000 % 7))


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name == "commitopt-duckdb-progress"}


def test_reports_increasing_values_and_stops() -> None:
    calls: list[tuple[int, int | None]] = []
    connection = duckdb.connect()
    started = time.monotonic()
    with reporting_progress(
        connection, lambda done, total: calls.append((done, total)), 1000, interval=0.02
    ):
        result = connection.execute(SLOW_SQL).fetchone()
    assert time.monotonic() - started < 5
    assert result == (SLOW_SUM,)
    assert calls[0] == (0, 1000)
    assert calls[-1] == (1000, 1000)
    middle = [done for done, _ in calls[1:-1]]
    assert len(middle) >= 2, calls  # polled while the query ran
    assert all(0 < done < 1000 for done in middle)
    dones = [done for done, _ in calls]
    assert dones == sorted(dones)
    assert all(total == 1000 for _, total in calls)
    assert not _threads()
    # the connection is usable afterwards, and nothing more is reported
    count = len(calls)
    assert connection.execute("SELECT 42").fetchone() == (42,)
    time.sleep(0.1)
    assert len(calls) == count


def test_percentage_when_total_unknown() -> None:
    calls: list[tuple[int, int | None]] = []
    connection = duckdb.connect()
    with reporting_progress(connection, lambda done, total: calls.append((done, total)), None):
        connection.sql("SELECT 1").fetchall()
    assert calls == [(0, 100), (100, 100)]


def test_error_in_body_stops_thread_without_final_call() -> None:
    calls: list[tuple[int, int | None]] = []
    connection = duckdb.connect()
    with (
        pytest.raises(duckdb.Error),
        reporting_progress(connection, lambda d, t: calls.append((d, t)), 10, interval=0.01),
    ):
        connection.sql("SELECT * FROM no_such_table").fetchall()
    assert calls == [(0, 10)]
    assert not _threads()


def test_no_callback_changes_nothing() -> None:
    connection = duckdb.connect()
    query = "SELECT current_setting('enable_progress_bar')"
    before = connection.execute(query).fetchone()  # DuckDB's default; other tests may set it
    with reporting_progress(connection, None, 10):
        assert connection.execute("SELECT 1").fetchone() == (1,)
    assert connection.execute(query).fetchone() == before
    assert not _threads()
