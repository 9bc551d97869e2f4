"""Report the progress of a long DuckDB query by polling the connection from a daemon thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Final

import duckdb

from pricing.readers.common import ProgressCallback

POLL_INTERVAL_S: Final = 0.5
"""Default time between two polls of ``query_progress`` [s]."""

_PERCENT: Final = 100


@contextlib.contextmanager
def reporting_progress(
    connection: duckdb.DuckDBPyConnection,
    progress: ProgressCallback | None,
    total: int | None,
    *,
    interval: float = POLL_INTERVAL_S,
) -> Iterator[None]:
    """Call ``progress(done, total)`` while the body of the ``with`` runs queries on ``connection``.

    DuckDB's own estimate (``connection.query_progress()``, a percentage) is polled every
    ``interval`` seconds from a daemon thread and scaled to ``total``. Reported values never
    decrease; ``progress(0, total)`` is called on entry and ``progress(total, total)`` when the
    body finishes without an error. The polling thread is stopped and joined on exit, so the
    connection may be used freely afterwards. Nothing happens when ``progress`` is ``None``.

    Parameters
    ----------
    connection
        The connection that runs the queries (in the calling thread).
    progress
        The callback, or ``None`` to report nothing.
    total
        Size of the whole job in the callback's unit (e.g. [bytes] of the file scanned);
        ``None`` reports a percentage (total 100).
    interval
        Time between two polls [s].
    """
    if progress is None:
        yield
        return
    scale = _PERCENT if total is None else total
    connection.execute("SET enable_progress_bar = true")
    connection.execute("SET enable_progress_bar_print = false")
    stop = threading.Event()
    reported = 0

    def poll() -> None:
        nonlocal reported
        while not stop.wait(interval):
            percent = connection.query_progress()
            if percent < 0 or stop.is_set():
                continue  # no query running (or it just ended)
            done = int(scale * min(percent, 100.0) / 100.0)
            if done > reported:
                reported = done
                progress(done, scale)

    progress(0, scale)
    worker = threading.Thread(target=poll, name="commitopt-duckdb-progress", daemon=True)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join()
    progress(scale, scale)


__all__ = ["POLL_INTERVAL_S", "reporting_progress"]
