"""The workspace: a DuckDB database file holding imported usage and the record of its imports.

The file is ``./commitopt.duckdb`` unless ``$COMMITOPT_WORKSPACE`` or an explicit path says
otherwise. Tables:

``schema_version``
    one row per applied migration (``version``, ``applied_at``); :data:`SCHEMA_VERSION` is the
    version this code writes.
``usage_hourly``
    the canonical hourly usage table (``hour`` as a UTC ``TIMESTAMP``, ``account_id``, ``region``,
    ``instance_type``, ``platform``, ``tenancy``, ``quantity``) plus ``scope`` and ``import_id``.
``usage_imports``
    one row per import: source kind and scope, files and their fingerprints, period, granularity,
    rows kept / excluded / replaced, time of import.

Version 2 adds the workflow's tables (see :data:`MIGRATIONS`): ``runs`` (one row per recommend or
review run: parameters, input fingerprints, outcome), ``catalog_snapshots`` and
``inventory_snapshots`` (which price catalog and which owned commitments a run saw), ``plans``
(a plan's canonical JSON, its SHA-256 and its report; :mod:`commitopt.plans`), ``approvals``
(append-only decisions; :mod:`commitopt.approvals`) and ``purchase_events`` (append-only record
of every purchase line submitted, executed or failed; :mod:`commitopt.purchase`). Rows of
``approvals`` and ``purchase_events`` are never updated or deleted: a plan's status is derived
from them. Times are stored as naive UTC ``TIMESTAMP``.

Version 3 keeps who did what (``actor`` columns), the footprint of every import
(``usage_import_footprints``: its accounts over its period) and the rows later imports replaced
(``usage_hourly.replaced_by``; readers skip them). What an import replaces, and how one is undone,
is :mod:`commitopt.imports`: an import never deletes another source's usage or another account's
without being asked.

DuckDB lets one process write a database file at a time; a second writer gets
:class:`WorkspaceBusyError`. A new workspace is created at :data:`SCHEMA_VERSION` directly (one
``schema_version`` row); an older one is migrated, one row per applied version, in one
transaction, when it is first opened for writing. A read-only open of an older workspace reads
what it has (the tables of later versions are absent: :meth:`Workspace.has_table`). A workspace
written by a newer commitopt is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from core import times
from core.errors import CommitoptEnvironmentError, CommitoptInputError, param
from pricing.platforms import parse_platform
from pricing.readers.common import ProgressCallback
from pricing.readers.duckdb_progress import reporting_progress
from usage.table import KEY_COLUMNS, USAGE_COLUMNS, USAGE_SCHEMA, UsageMatrix, empty_usage_table

WORKSPACE_ENV: Final = "COMMITOPT_WORKSPACE"
WORKSPACE_DEFAULT: Final = Path("commitopt.duckdb")

SCHEMA_VERSION: Final = 3
"""The schema version this code reads and writes."""

MIGRATIONS: Final[dict[int, tuple[str, ...]]] = {
    1: (
        """CREATE TABLE usage_imports (
            import_id BIGINT PRIMARY KEY,
            source_kind VARCHAR NOT NULL,
            scope VARCHAR NOT NULL,
            files VARCHAR NOT NULL,
            fingerprints VARCHAR NOT NULL,
            period_start TIMESTAMP NOT NULL,
            period_end TIMESTAMP NOT NULL,
            granularity VARCHAR NOT NULL,
            rows_kept BIGINT NOT NULL,
            rows_excluded BIGINT NOT NULL,
            rows_replaced BIGINT NOT NULL,
            usage_rows BIGINT NOT NULL,
            imported_at TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE usage_hourly (
            hour TIMESTAMP NOT NULL,
            account_id VARCHAR NOT NULL,
            region VARCHAR NOT NULL,
            instance_type VARCHAR NOT NULL,
            platform VARCHAR NOT NULL,
            tenancy VARCHAR NOT NULL,
            quantity DOUBLE NOT NULL CHECK (quantity >= 0),
            scope VARCHAR NOT NULL,
            import_id BIGINT NOT NULL
        )""",
        "CREATE SEQUENCE usage_import_ids START 1",
    ),
    2: (
        """CREATE TABLE runs (
            run_id BIGINT PRIMARY KEY,
            kind VARCHAR NOT NULL,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            parameters VARCHAR NOT NULL,
            inputs VARCHAR NOT NULL,
            outcome VARCHAR NOT NULL
        )""",
        "CREATE SEQUENCE run_ids START 1",
        """CREATE TABLE catalog_snapshots (
            catalog_id BIGINT PRIMARY KEY,
            source VARCHAR NOT NULL,
            as_of TIMESTAMP,
            fingerprint VARCHAR NOT NULL,
            path VARCHAR,
            recorded_at TIMESTAMP NOT NULL
        )""",
        "CREATE SEQUENCE catalog_snapshot_ids START 1",
        """CREATE TABLE inventory_snapshots (
            snapshot_id BIGINT PRIMARY KEY,
            source VARCHAR NOT NULL,
            as_of TIMESTAMP NOT NULL,
            portfolio_json VARCHAR NOT NULL,
            fingerprint VARCHAR NOT NULL,
            recorded_at TIMESTAMP NOT NULL
        )""",
        "CREATE SEQUENCE inventory_snapshot_ids START 1",
        """CREATE TABLE plans (
            plan_id VARCHAR PRIMARY KEY,
            created_at TIMESTAMP NOT NULL,
            source VARCHAR NOT NULL,
            run_id BIGINT,
            plan_json VARCHAR NOT NULL,
            plan_sha256 VARCHAR NOT NULL,
            report_path VARCHAR,
            report BLOB
        )""",
        "CREATE SEQUENCE plan_ids START 1",
        """CREATE TABLE approvals (
            approval_id BIGINT PRIMARY KEY,
            plan_id VARCHAR NOT NULL,
            decision VARCHAR NOT NULL CHECK (decision IN ('approve', 'reject')),
            approver VARCHAR NOT NULL,
            comment VARCHAR NOT NULL,
            plan_sha256 VARCHAR NOT NULL,
            decided_at TIMESTAMP NOT NULL
        )""",
        "CREATE SEQUENCE approval_ids START 1",
        """CREATE TABLE purchase_events (
            event_id BIGINT PRIMARY KEY,
            plan_id VARCHAR NOT NULL,
            line INTEGER NOT NULL,
            state VARCHAR NOT NULL CHECK (state IN ('submitted', 'executed', 'failed')),
            client_token VARCHAR NOT NULL,
            plan_sha256 VARCHAR NOT NULL,
            operation VARCHAR NOT NULL,
            request VARCHAR NOT NULL,
            aws_id VARCHAR,
            detail VARCHAR NOT NULL,
            recorded_at TIMESTAMP NOT NULL
        )""",
        "CREATE SEQUENCE purchase_event_ids START 1",
    ),
    3: (
        # Who did it: the identity (commitopt.identity) of every run, plan, decision, purchase.
        "ALTER TABLE runs ADD COLUMN actor VARCHAR",
        "ALTER TABLE plans ADD COLUMN created_by VARCHAR",
        "ALTER TABLE plans ADD COLUMN report_sha256 VARCHAR",
        "ALTER TABLE approvals ADD COLUMN actor VARCHAR",
        # An approval binds to the report the approver read, as well as to the plan.
        "ALTER TABLE approvals ADD COLUMN report_sha256 VARCHAR",
        "ALTER TABLE purchase_events ADD COLUMN actor VARCHAR",
        # Imports that never silently delete: replaced rows are kept (replaced_by), so an import
        # can be removed and what it replaced comes back; footprints say what each import covers.
        "ALTER TABLE usage_hourly ADD COLUMN replaced_by BIGINT",
        "ALTER TABLE usage_imports ADD COLUMN replaces_other_sources BOOLEAN DEFAULT false",
        "ALTER TABLE usage_imports ADD COLUMN actor VARCHAR",
        "ALTER TABLE usage_imports ADD COLUMN removed_at TIMESTAMP",
        "ALTER TABLE usage_imports ADD COLUMN removed_by VARCHAR",
        """CREATE TABLE usage_import_footprints (
            import_id BIGINT NOT NULL,
            account_id VARCHAR NOT NULL,
            period_start TIMESTAMP NOT NULL,
            period_end TIMESTAMP NOT NULL
        )""",
        # Owned commitments read from an imported bill (the usage import that brought them).
        """INSERT INTO usage_import_footprints
            SELECT DISTINCT i.import_id, h.account_id, i.period_start, i.period_end
            FROM usage_imports i JOIN usage_hourly h ON h.import_id = i.import_id""",
        "ALTER TABLE inventory_snapshots ADD COLUMN import_id BIGINT",
    ),
}
"""Statements that bring a workspace from version ``n - 1`` to ``n``; add one entry per change."""

STREAMING_MEMORY_LIMIT: Final = "1GB"
"""DuckDB's memory limit while files stream into the workspace (it spills beyond)."""
_US_PER_HOUR: Final = 3_600_000_000
_MATRIX_BATCH_ROWS: Final = 1_048_576

_IMPORT_COLUMNS: Final = (
    "import_id",
    "source_kind",
    "scope",
    "files",
    "fingerprints",
    "period_start",
    "period_end",
    "granularity",
    "rows_kept",
    "rows_excluded",
    "rows_replaced",
    "usage_rows",
    "imported_at",
)


class WorkspaceError(CommitoptInputError):
    """A workspace file that cannot be opened or used as asked."""


class WorkspaceBusyError(CommitoptEnvironmentError):
    """Another process holds the workspace file open for writing (the environment, not the
    input: the same command succeeds once it is free)."""


@dataclass(frozen=True, slots=True)
class UsageSource:
    """Where an import came from.

    Attributes
    ----------
    kind
        ``"cur"``, ``"cur2"``, ``"focus"``, ``"csv"``, ``"athena"``, ``"cost-explorer"``, ...
    scope
        Which part of the usage the import stands for; imports replace the rows of their own scope
        only. Empty (the default) for all the usage of the workspace.
    files
        The files (or table / API) read.
    fingerprints
        One fingerprint per file (size, modification time, hash, ETag: whatever the reader has).
    """

    kind: str
    scope: str = ""
    files: tuple[str, ...] = ()
    fingerprints: tuple[str, ...] = field(default=())


def workspace_path(path: str | Path | None = None) -> Path:
    """The workspace file: ``path`` when given, else ``$COMMITOPT_WORKSPACE``, else the default."""
    if path is not None and str(path):
        return Path(path)
    return Path(os.environ.get(WORKSPACE_ENV) or WORKSPACE_DEFAULT)


def utc_naive(value: date | datetime | pd.Timestamp | str, name: str) -> pd.Timestamp:
    """A bound as a naive UTC timestamp (:func:`core.times.utc_naive`), or a WorkspaceError."""
    return times.utc_naive(value, name, error=WorkspaceError)


class Workspace:
    """An open workspace; use :meth:`open` as a context manager.

    Examples
    --------
    >>> with Workspace.open("commitopt.duckdb") as workspace:  # doctest: +SKIP
    ...     workspace.replace_usage(frame, period_start=..., period_end=..., source=..., report=...)
    """

    def __init__(self, path: Path, connection: duckdb.DuckDBPyConnection, read_only: bool) -> None:
        self.path = path
        self.read_only = read_only
        self._connection = connection
        self._transaction_depth = 0

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        read_only: bool = False,
        wait_seconds: float = 0.0,
        on_wait: Callable[[], None] | None = None,
    ) -> Workspace:
        """Open (and create, or migrate) the workspace at ``path`` (see :func:`workspace_path`).

        Parameters
        ----------
        path
            The file (see :func:`workspace_path`).
        read_only
            Open for reading only (several readers may share the file; no writer meanwhile).
        wait_seconds
            How long to wait for another process to release the file [s]; 0 gives up at once.
        on_wait
            Called once, when the file is busy and waiting begins (to tell the user).

        Raises
        ------
        WorkspaceBusyError
            Another process has the file open for writing (or, for a writer, open at all),
            still after ``wait_seconds``.
        WorkspaceError
            The file is not a DuckDB database, cannot be created, or was written by a newer
            commitopt.
        """
        deadline = time.monotonic() + max(wait_seconds, 0.0)
        delay_seconds = 0.1
        while True:
            try:
                return cls._open_once(path, read_only=read_only)
            except WorkspaceBusyError:
                if time.monotonic() + delay_seconds > deadline:
                    raise
                if on_wait is not None and delay_seconds == 0.1:
                    on_wait()
                time.sleep(delay_seconds)
                delay_seconds = min(delay_seconds * 2, 1.0)

    @classmethod
    def _open_once(cls, path: str | Path | None, *, read_only: bool) -> Workspace:
        """One attempt of :meth:`open`."""
        file = workspace_path(path)
        if read_only and not file.is_file():
            raise WorkspaceError(
                f"{file}: no workspace here; import usage first with `commitopt usage import`"
            )
        try:
            connection = duckdb.connect(str(file), read_only=read_only)
        except duckdb.IOException as error:
            text = str(error)
            if "lock" in text.lower():
                raise WorkspaceBusyError(
                    f"{file}: workspace is busy (another commitopt process is using it); wait for "
                    f"it with {param('wait_seconds')} SECONDS, or use another workspace with "
                    f"{param('workspace')} or ${WORKSPACE_ENV}"
                ) from error
            raise WorkspaceError(
                f"{file}: cannot open the workspace ({text.splitlines()[0]}); check the path, or "
                "move the file away to start a new workspace"
            ) from error
        except duckdb.Error as error:
            raise WorkspaceError(
                f"{file}: not a commitopt workspace ({str(error).splitlines()[0]}); "
                f"give another {param('workspace')} path"
            ) from error
        workspace = cls(file, connection, read_only)
        try:
            workspace._migrate()
        except BaseException:
            connection.close()
            raise
        return workspace

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (and release the file lock)."""
        self._connection.close()

    @property
    def schema_version(self) -> int:
        """The schema version recorded in the file."""
        row = self._connection.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def _migrate(self) -> None:
        """Create the schema, or bring an older one up to :data:`SCHEMA_VERSION`."""
        tables = {
            str(row[0])
            for row in self._connection.execute(
                "SELECT table_name FROM information_schema.tables"
            ).fetchall()
        }
        if "schema_version" not in tables:
            if tables:
                raise WorkspaceError(
                    f"{self.path}: a DuckDB database but not a commitopt workspace (tables: "
                    f"{', '.join(sorted(tables)[:5])}); give another {param('workspace')} path"
                )
            if self.read_only:
                raise WorkspaceError(f"{self.path}: empty workspace; import usage first")
            with self.transaction():
                self._connection.execute(
                    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                    "applied_at TIMESTAMP NOT NULL)"
                )
                for version in range(1, SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS[version]:
                        self._connection.execute(statement)
                self._connection.execute(
                    "INSERT INTO schema_version VALUES (?, ?)", [SCHEMA_VERSION, _now()]
                )
            return
        current = self.schema_version
        if current > SCHEMA_VERSION:
            raise WorkspaceError(
                f"{self.path}: workspace schema version {current} is newer than this commitopt "
                f"reads ({SCHEMA_VERSION}); upgrade commitopt"
            )
        if current == SCHEMA_VERSION or self.read_only:
            return
        with self.transaction():
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    self._connection.execute(statement)
                self._connection.execute(
                    "INSERT INTO schema_version VALUES (?, ?)", [version, _now()]
                )

    def transaction(self) -> _Transaction:
        """A context manager: ``BEGIN`` on entry, ``COMMIT`` on success, ``ROLLBACK`` on error.

        Nested uses join the outermost transaction, so a command that calls several writing
        functions commits all of their writes at once, or none.
        """
        return _Transaction(self)

    def require_writable(self, action: str) -> None:
        """Raise :class:`WorkspaceError` when the workspace was opened read-only.

        Parameters
        ----------
        action
            What the caller wanted to do (``"approve a plan"``), named in the message.
        """
        if self.read_only:
            raise WorkspaceError(f"{self.path}: opened read-only; cannot {action}")

    def has_table(self, name: str) -> bool:
        """Whether the table exists (a read-only open of an older workspace lacks later ones)."""
        row = self._connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchone()
        return bool(row and row[0])

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> duckdb.DuckDBPyConnection:
        """Run one SQL statement with ``?`` parameters on the workspace's connection."""
        return self._connection.execute(sql, list(parameters))

    def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query and return its rows."""
        return self._connection.execute(sql, list(parameters)).fetchall()

    def next_id(self, sequence: str) -> int:
        """The next value of one of the workspace's sequences (``approval_ids``, ...)."""
        if not sequence.isidentifier():
            raise WorkspaceError(f"bad sequence name {sequence!r}")
        row = self._connection.execute(f"SELECT nextval('{sequence}')").fetchone()
        assert row is not None
        return int(row[0])

    def insert_usage_rows(self, usage: pd.DataFrame, scope: str, import_id: int) -> None:
        """Insert a validated canonical table as one import's rows, in one vectorised statement."""
        table = pa.table(
            {
                "hour": pa.array(
                    usage["hour"].dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
                ),
                **{
                    column: pa.array(usage[column].astype(object).to_numpy(), type=pa.string())
                    for column in USAGE_COLUMNS[1:-1]
                },
                "quantity": pa.array(usage["quantity"].to_numpy(dtype="float64")),
            }
        )
        self._connection.register("incoming_usage", table)
        try:
            self._connection.execute(
                "INSERT INTO usage_hourly (hour, account_id, region, instance_type, platform, "
                "tenancy, quantity, scope, import_id) SELECT hour, account_id, region, "
                "instance_type, platform, tenancy, quantity, ?, ? FROM incoming_usage",
                [scope, import_id],
            )
        finally:
            self._connection.unregister("incoming_usage")

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The workspace's DuckDB connection, for queries that stream files into it."""
        return self._connection

    @contextlib.contextmanager
    def streaming(self, memory_limit: str = STREAMING_MEMORY_LIMIT) -> Iterator[None]:
        """Run the body with DuckDB bounded to ``memory_limit`` (spilling beyond it) and free to
        reorder rows (parallel inserts); the previous settings come back afterwards."""
        names = ("memory_limit", "preserve_insertion_order")
        previous = [
            self._connection.execute(f"SELECT current_setting('{name}')").fetchall()[0][0]
            for name in names
        ]
        self._connection.execute(f"SET memory_limit = '{memory_limit}'")
        self._connection.execute("SET preserve_insertion_order = false")
        try:
            yield
        finally:
            for name, value in zip(names, previous, strict=True):
                self._connection.execute(f"SET {name} = '{value}'")

    def insert_usage_select(
        self,
        select_sql: str,
        scope: str,
        import_id: int,
        *,
        row_count: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        """Insert the canonical rows a query selects as one import's rows, in one statement.

        Parameters
        ----------
        select_sql
            A query of ``hour`` (``TIMESTAMP``, UTC), the key columns (canonical values) and
            ``quantity`` (:attr:`usage.canonical_sql.ValidatedUsage.select_sql`).
        scope, import_id
            The import's scope and id, stored with every row.
        row_count
            How many rows the query selects, to report progress in rows.
        progress
            Called as ``progress(done, total)`` while the rows are inserted.
        """
        columns = ", ".join(USAGE_COLUMNS)
        with reporting_progress(self._connection, progress, row_count):
            self._connection.execute(
                f"INSERT INTO usage_hourly ({columns}, scope, import_id) "
                f"SELECT {columns}, ?, ? FROM ({select_sql}) AS incoming",
                [scope, import_id],
            )

    def load_usage(
        self,
        start: date | datetime | pd.Timestamp | str | None = None,
        end: date | datetime | pd.Timestamp | str | None = None,
        *,
        accounts: Sequence[str] = (),
        regions: Sequence[str] = (),
        families: Sequence[str] = (),
        platforms: Sequence[str] = (),
        scopes: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The stored usage in ``[start, end)`` matching every filter, as a canonical table.

        Parameters
        ----------
        start, end
            Period bounds (naive is UTC); ``None`` for unbounded.
        accounts, regions, families, platforms
            Allowed values; empty does not filter. Platforms accept aliases (``linux``).
        scopes
            Import scopes to read; ``None`` for all.

        Returns
        -------
        pandas.DataFrame
            Columns and dtypes of :data:`usage.table.USAGE_SCHEMA`, sorted by hour then key; rows
            of different scopes for one hour and key are summed.
        """
        where, parameters = self._usage_filter(
            start, end, accounts=accounts, regions=regions, families=families,
            platforms=platforms, scopes=scopes,
        )  # fmt: skip
        keys = ", ".join(USAGE_COLUMNS[:-1])
        frame = self._connection.execute(
            f"SELECT {keys}, sum(quantity) AS quantity FROM usage_hourly {where} "
            f"GROUP BY {keys} ORDER BY {keys}",
            parameters,
        ).df()
        if frame.empty:
            return empty_usage_table()
        frame["hour"] = pd.to_datetime(frame["hour"]).dt.tz_localize("UTC")
        return frame.astype(USAGE_SCHEMA)[list(USAGE_COLUMNS)].reset_index(drop=True)

    def _usage_filter(
        self,
        start: date | datetime | pd.Timestamp | str | None,
        end: date | datetime | pd.Timestamp | str | None,
        *,
        accounts: Sequence[str],
        regions: Sequence[str],
        families: Sequence[str],
        platforms: Sequence[str],
        scopes: Sequence[str] | None,
    ) -> tuple[str, list[Any]]:
        """The ``WHERE`` clause (and its parameters) of :meth:`load_usage`'s filters."""
        conditions: list[str] = []
        parameters: list[Any] = []
        if start is not None:
            conditions.append("hour >= ?")
            parameters.append(utc_naive(start, "start").to_pydatetime())
        if end is not None:
            conditions.append("hour < ?")
            parameters.append(utc_naive(end, "end").to_pydatetime())
        platform_names = [parse_platform(p) for p in platforms]
        for column, values in (
            ("account_id", accounts),
            ("region", regions),
            ("split_part(instance_type, '.', 1)", families),
            ("platform", platform_names),
            ("scope", scopes),
        ):
            if values is None or (column != "scope" and not values):
                continue
            conditions.append(f"{column} IN (SELECT unnest(?::VARCHAR[]))")
            parameters.append([str(v) for v in values])
        if self.has_table("usage_import_footprints"):  # version 3: replaced rows are kept
            conditions.append("replaced_by IS NULL")
        return (f"WHERE {' AND '.join(conditions)}" if conditions else ""), parameters

    def load_usage_matrix(
        self,
        start: date | datetime | pd.Timestamp | str | None = None,
        end: date | datetime | pd.Timestamp | str | None = None,
        *,
        accounts: Sequence[str] = (),
        regions: Sequence[str] = (),
        families: Sequence[str] = (),
        platforms: Sequence[str] = (),
        scopes: Sequence[str] | None = None,
    ) -> UsageMatrix:
        """The stored usage as :meth:`load_usage` filters it, as a dense hours × keys matrix.

        Equal to ``usage.table.to_matrix(self.load_usage(...))`` (the hours from the first to the
        last stored hour that matches; keys sorted; rows of several scopes for one hour and key
        summed), but built from DuckDB in batches, without the long pandas table.

        Parameters
        ----------
        start, end, accounts, regions, families, platforms, scopes
            As :meth:`load_usage`.

        Returns
        -------
        usage.table.UsageMatrix
            ``daily_granular`` is False, as for ``to_matrix(load_usage())``.
        """
        where, parameters = self._usage_filter(
            start, end, accounts=accounts, regions=regions, families=families,
            platforms=platforms, scopes=scopes,
        )  # fmt: skip
        keys_sql = ", ".join(KEY_COLUMNS)
        keys = self._connection.execute(
            f"SELECT DISTINCT {keys_sql} FROM usage_hourly {where} ORDER BY {keys_sql}",
            parameters,
        ).df()
        span = self._connection.execute(
            f"SELECT epoch_us(min(hour)), epoch_us(max(hour)) FROM usage_hourly {where}",
            parameters,
        ).fetchall()[0]
        keys = keys.astype({c: "string" for c in KEY_COLUMNS}).reset_index(drop=True)
        if span[0] is None:
            epoch = pd.Timestamp(0, tz="UTC")
            empty = pd.date_range(epoch, epoch, freq="h", inclusive="left", unit="ns")
            return UsageMatrix(empty, keys, np.zeros((0, len(keys)), dtype=np.float64))
        first_us, last_us = int(span[0]), int(span[1])
        hour_count = (last_us - first_us) // _US_PER_HOUR + 1
        quantity = np.zeros(hour_count * len(keys), dtype=np.float64)
        self._connection.register("matrix_keys_incoming", keys.assign(key_index=range(len(keys))))
        try:
            self._connection.execute(
                "CREATE OR REPLACE TEMP TABLE matrix_keys AS SELECT * FROM matrix_keys_incoming"
            )
        finally:
            self._connection.unregister("matrix_keys_incoming")
        matches = " AND ".join(f"u.{c} = k.{c}" for c in KEY_COLUMNS)
        cells = self._connection.sql(
            f"""SELECT (epoch_us(u.hour) - {first_us}) // {_US_PER_HOUR} * {len(keys)}
                + k.key_index AS cell, u.quantity
            FROM (SELECT * FROM usage_hourly {where}) AS u JOIN matrix_keys AS k ON {matches}""",
            params=parameters,
        ).to_arrow_reader(_MATRIX_BATCH_ROWS)
        for batch in cells:
            np.add.at(
                quantity,
                batch.column(0).to_numpy().astype(np.int64, copy=False),
                batch.column(1).to_numpy().astype(np.float64, copy=False),
            )
        self._connection.execute("DROP TABLE IF EXISTS matrix_keys")
        hours = pd.date_range(
            pd.Timestamp(first_us * 1000, tz="UTC"), periods=hour_count, freq="h", unit="ns"
        )
        return UsageMatrix(hours, keys, quantity.reshape(hour_count, len(keys)))

    def usage_span(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """First and last hour of the usage that counts (UTC), or ``None`` when there is none."""
        live = " WHERE replaced_by IS NULL" if self.has_table("usage_import_footprints") else ""
        row = self._connection.execute(
            f"SELECT min(hour), max(hour) FROM usage_hourly{live}"
        ).fetchone()
        if row is None or row[0] is None:
            return None
        return times.as_utc(row[0]), times.as_utc(row[1])

    def imports(self) -> pd.DataFrame:
        """Every import, oldest first; ``files`` and ``fingerprints`` as tuples of strings."""
        frame = self._connection.execute(
            f"SELECT {', '.join(_IMPORT_COLUMNS)} FROM usage_imports ORDER BY import_id"
        ).df()
        for column in ("files", "fingerprints"):
            frame[column] = [tuple(json.loads(text)) for text in frame[column]]
        for column in ("period_start", "period_end", "imported_at"):
            frame[column] = pd.to_datetime(frame[column]).dt.tz_localize("UTC")
        return frame

    def record_run(
        self,
        kind: str,
        *,
        parameters: Mapping[str, Any],
        inputs: Mapping[str, Any],
        outcome: Mapping[str, Any],
        started_at: datetime,
        finished_at: datetime | None = None,
        actor: Mapping[str, Any] | None = None,
    ) -> int:
        """Record one run (``"recommend"``, ``"review"``, ...) and return its id.

        Parameters
        ----------
        kind
            What ran.
        parameters, inputs, outcome
            JSON-able mappings: the options, the inputs' fingerprints (usage imports, catalog,
            inventory), and a summary of what came out.
        started_at, finished_at
            Times (naive is UTC); ``finished_at`` defaults to now.
        actor
            Who ran it (:func:`commitopt.identity.current_identity` as a mapping), stored as JSON.
        """
        self.require_writable("record a run")
        with self.transaction():
            run_id = self.next_id("run_ids")
            self._connection.execute(
                "INSERT INTO runs (run_id, kind, started_at, finished_at, parameters, inputs, "
                "outcome, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run_id,
                    kind,
                    utc_naive(started_at, "started_at").to_pydatetime(),
                    utc_naive(finished_at or _now(), "finished_at").to_pydatetime(),
                    json.dumps(parameters, sort_keys=True, default=str),
                    json.dumps(inputs, sort_keys=True, default=str),
                    json.dumps(outcome, sort_keys=True, default=str),
                    None if actor is None else json.dumps(dict(actor), sort_keys=True),
                ],
            )
        return run_id

    def runs(self) -> pd.DataFrame:
        """Every recorded run, oldest first; JSON columns as dicts."""
        frame = self._connection.execute("SELECT * FROM runs ORDER BY run_id").df()
        for column in ("parameters", "inputs", "outcome"):
            frame[column] = [json.loads(text) for text in frame[column]]
        if "actor" in frame:  # version 3: who ran it (None before)
            frame["actor"] = [
                json.loads(text) if isinstance(text, str) else None for text in frame["actor"]
            ]
        return frame

    def record_inventory_snapshot(
        self, portfolio_json: str, *, source: str, as_of: datetime, import_id: int | None = None
    ) -> int:
        """Store owned commitments (portfolio JSON text) a run saw, or a usage import's bill
        showed (``import_id``); return the snapshot id."""
        self.require_writable("record an inventory")
        with self.transaction():
            snapshot_id = self.next_id("inventory_snapshot_ids")
            self._connection.execute(
                "INSERT INTO inventory_snapshots (snapshot_id, source, as_of, portfolio_json, "
                "fingerprint, recorded_at, import_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    snapshot_id,
                    source,
                    utc_naive(as_of, "as_of").to_pydatetime(),
                    portfolio_json,
                    "sha256:" + hashlib.sha256(portfolio_json.encode("utf-8")).hexdigest(),
                    _now(),
                    import_id,
                ],
            )
        return snapshot_id

    def record_catalog_snapshot(
        self,
        *,
        source: str,
        fingerprint: str,
        as_of: datetime | None = None,
        path: str | None = None,
    ) -> int:
        """Record which price catalog a run used (its source, as-of date and fingerprint)."""
        self.require_writable("record a catalog")
        with self.transaction():
            catalog_id = self.next_id("catalog_snapshot_ids")
            self._connection.execute(
                "INSERT INTO catalog_snapshots (catalog_id, source, as_of, fingerprint, path, "
                "recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    catalog_id,
                    source,
                    None if as_of is None else utc_naive(as_of, "as_of").to_pydatetime(),
                    fingerprint,
                    path,
                    _now(),
                ],
            )
        return catalog_id


class _Transaction:
    """``BEGIN`` on entry; ``COMMIT`` on success, ``ROLLBACK`` on any exception.

    Only the outermost of nested transactions talks to DuckDB; inner ones join it.
    """

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace

    def __enter__(self) -> None:
        if self._workspace._transaction_depth == 0:
            self._workspace._connection.execute("BEGIN TRANSACTION")
        self._workspace._transaction_depth += 1

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._workspace._transaction_depth -= 1
        if self._workspace._transaction_depth > 0:
            return
        if kind is None:
            self._workspace._connection.execute("COMMIT")
        else:
            self._workspace._connection.execute("ROLLBACK")


def _now() -> datetime:
    """Now, as a naive UTC datetime (how the workspace stores times)."""
    return utc_now_naive()


def utc_now_naive() -> datetime:
    """Now, as a naive UTC datetime (how the workspace stores times)."""
    return datetime.now(UTC).replace(tzinfo=None)
