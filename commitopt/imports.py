"""The usage import ledger: what each import brought, what it replaced, and undoing one.

An import covers a *footprint*: the accounts its rows belong to, over its period ``[start, end)``
(a CUR's billing months, ``--from``/``--to`` when given, else the first hour of its data to the
hour after its last). An empty account id (Cost Explorer without ``--by-account``) stands for every
account. Storing an import:

* replaces the rows already stored **of the same source** (kind and scope: ``cur``, ``csv``,
  ``cost-explorer`` for one set of accounts, ...) inside its footprint: a re-import of the same
  bill refreshes it;
* leaves every row outside the footprint alone: other accounts, other hours;
* refuses (:class:`UsageOverlapError`, exit 2), naming the imports, accounts and months, when rows
  **of another source** lie in the footprint, since keeping both would count that usage twice,
  unless the caller asks to replace them (``--replace``).

Nothing is deleted by an import: replaced rows stay in ``usage_hourly`` with ``replaced_by`` set
to the import that replaced them, and every reader skips them. :func:`remove_import` deletes one
import's rows and brings back what it replaced (unless a later import covers it too), in one
transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, Protocol

import pandas as pd

from commitopt.identity import Identity
from commitopt.workspace import UsageSource, Workspace, WorkspaceError, utc_naive, utc_now_naive
from core.errors import param
from pricing.compute_keys import INSTANCE_HOURS, UNIT_COLUMNS, unit_sum_sql
from pricing.readers.common import ProgressCallback
from usage.canonical_sql import ValidatedUsage
from usage.table import validate_usage_table

QUANTITY_COLUMNS: Final = tuple(UNIT_COLUMNS.values())
"""The usage totals of a breakdown, one per unit: ``instance_hours`` (instance keys),
``vcpu_hours`` (Fargate vCPU), ``gb_hours`` (Fargate memory, Lambda)."""

BREAKDOWN_COLUMNS: Final = ("account_id", "month", "usage_row_count", *QUANTITY_COLUMNS)
"""Columns of :attr:`ImportOutcome.added`; :attr:`ImportOutcome.replaced` adds the import's
``import_id`` and ``source_kind`` in front."""


class ImportCounts(Protocol):
    """What an import records of its reader's report."""

    @property
    def rows_kept(self) -> int:
        """Source rows kept as demand."""
        ...

    @property
    def rows_excluded(self) -> int:
        """Source rows excluded (not demand, unmappable, ...)."""
        ...


class UsageOverlapError(WorkspaceError):
    """An import would replace usage of another source; refused unless asked to replace it."""


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    """What an import stored and replaced.

    Attributes
    ----------
    import_id
        The new import's id.
    added
        Rows stored, by account and month (:data:`BREAKDOWN_COLUMNS`; ``month`` as ``YYYY-MM``).
    replaced
        Rows of earlier imports it replaced: ``import_id``, ``source_kind`` and the breakdown.
    """

    import_id: int
    added: pd.DataFrame
    replaced: pd.DataFrame


@dataclass(frozen=True, slots=True)
class RemovalOutcome:
    """What :func:`remove_import` deleted and brought back.

    Attributes
    ----------
    import_id
        The removed import.
    removed
        Its rows that counted until now, by account and month (rows it held that a later
        import had replaced are deleted too, but are not in this table).
    restored
        Rows of earlier imports that count again: ``import_id``, ``source_kind`` and the
        breakdown.
    """

    import_id: int
    removed: pd.DataFrame
    restored: pd.DataFrame


def _by_month(table: str = "") -> str:
    """Rows by account and month, and each unit's total (:data:`QUANTITY_COLUMNS`); the month a
    timestamp (:func:`_month_text` formats it after grouping, which is four times cheaper than
    formatting every row); ``table`` the usage table's alias among joined tables."""
    prefix = f"{table}." if table else ""
    totals = ", ".join(
        f"{unit_sum_sql(unit, table=table)} AS {column}" for unit, column in UNIT_COLUMNS.items()
    )
    return (
        f"{prefix}account_id, date_trunc('month', {prefix}hour) AS month, "
        f"count(*) AS usage_row_count, {totals}"
    )


_BY_MONTH: Final = _by_month()
""":func:`_by_month` of the usage table alone."""
_BY_MONTH_OF_H: Final = _by_month("h")
""":data:`_BY_MONTH` where the usage table is aliased ``h`` among joined tables."""
_QUANTITY_TYPES: Final = dict.fromkeys(QUANTITY_COLUMNS, "float64")
_COVERS: Final = (
    "(f.account_id = h.account_id OR f.account_id = '' OR h.account_id = '') "
    "AND h.hour >= f.period_start AND h.hour < f.period_end"
)
"""A footprint row ``f`` covers a usage row ``h`` (an empty account is every account)."""


def import_usage(
    workspace: Workspace,
    frame: pd.DataFrame,
    *,
    period_start: date | datetime | pd.Timestamp | str,
    period_end: date | datetime | pd.Timestamp | str,
    source: UsageSource,
    report: ImportCounts,
    replace_other_sources: bool = False,
    actor: dict[str, Any] | None = None,
) -> ImportOutcome:
    """Store ``frame`` as one import (see the module docstring), in one transaction.

    Parameters
    ----------
    workspace
        An open, writable workspace.
    frame
        A canonical usage table (validated here); every hour must lie in the period.
    period_start, period_end
        The period the import stands for, end exclusive (naive is UTC).
    source
        Kind, scope, files and fingerprints; rows of the same kind and scope are replaced.
    report
        The reader's counts, recorded with the import.
    replace_other_sources
        Replace rows of other sources in the footprint instead of refusing.
    actor
        Who imported (:meth:`commitopt.identity.Identity.as_mapping`), recorded as JSON.

    Returns
    -------
    ImportOutcome

    Raises
    ------
    UsageOverlapError
        Rows of another source in the footprint, without ``replace_other_sources``.
    WorkspaceError
        A read-only workspace, an empty period, hours outside the period.
    usage.errors.UsageInputError
        A frame that is not a canonical usage table.
    """
    workspace.require_writable("import usage")
    start = utc_naive(period_start, "period_start")
    end = utc_naive(period_end, "period_end")
    if not start < end:
        raise WorkspaceError(
            f"import period {start} to {end} is empty; give a start before the end"
        )
    usage = validate_usage_table(frame, source=f"{source.kind} import")
    hours = usage["hour"].dt.tz_localize(None)
    outside = (hours < start) | (hours >= end)
    if outside.any():
        raise WorkspaceError(
            f"{int(outside.sum())} usage rows lie outside the import period [{start}, {end}) "
            f"(first: {hours[outside].iloc[0]}); widen the period or filter the usage"
        )
    accounts = sorted(usage["account_id"].astype(str).unique())
    return _store(
        workspace,
        lambda import_id: workspace.insert_usage_rows(usage, source.scope, import_id),
        accounts=accounts, start=start, end=end, source=source, report=report,
        granularity="daily" if usage.attrs.get("daily_granular") else "hourly",
        usage_rows=len(usage), replace_other_sources=replace_other_sources, actor=actor,
    )  # fmt: skip


def import_validated_usage(
    workspace: Workspace,
    usage: ValidatedUsage,
    *,
    period_start: date | datetime | pd.Timestamp | str,
    period_end: date | datetime | pd.Timestamp | str,
    source: UsageSource,
    report: ImportCounts,
    replace_other_sources: bool = False,
    actor: dict[str, Any] | None = None,
    progress: ProgressCallback | None = None,
    granularity: str = "hourly",
) -> ImportOutcome:
    """Store canonical usage files checked in SQL as one import, as :func:`import_usage` does,
    streaming their rows from the files into the workspace (one ``INSERT ... SELECT``).

    A bill staged in DuckDB (:func:`usage.staged_bill.stage_bill_files`) is stored the same way.

    Parameters
    ----------
    workspace
        An open, writable workspace: the one whose connection validated ``usage``.
    usage
        :func:`usage.validate_sql.validate_canonical_files` of the files.
    period_start, period_end, source, report, replace_other_sources, actor
        As :func:`import_usage`.
    progress
        Called as ``progress(rows_done, rows_total)`` while the rows are inserted.
    granularity
        ``"hourly"``, or ``"daily"`` for usage spread from daily figures (recorded).

    Returns
    -------
    ImportOutcome

    Raises
    ------
    UsageOverlapError, WorkspaceError
        As :func:`import_usage` (hours outside the period included).
    """
    workspace.require_writable("import usage")
    start = utc_naive(period_start, "period_start")
    end = utc_naive(period_end, "period_end")
    if not start < end:
        raise WorkspaceError(
            f"import period {start} to {end} is empty; give a start before the end"
        )
    first = None if usage.first_hour is None else usage.first_hour.tz_localize(None)
    last = None if usage.last_hour is None else usage.last_hour.tz_localize(None)
    if first is not None and last is not None and (first < start or last >= end):
        outside, earliest = workspace.fetch_all(
            f"SELECT count(*), min(hour) FROM ({usage.select_sql}) AS incoming "
            "WHERE hour < ? OR hour >= ?",
            [start.to_pydatetime(), end.to_pydatetime()],
        )[0]
        raise WorkspaceError(
            f"{int(outside)} usage rows lie outside the import period [{start}, {end}) "
            f"(first: {pd.Timestamp(earliest)}); widen the period or filter the usage"
        )
    return _store(
        workspace,
        lambda import_id: workspace.insert_usage_select(
            usage.select_sql, source.scope, import_id, row_count=usage.row_count,
            progress=progress,
        ),
        accounts=list(usage.accounts), start=start, end=end, source=source, report=report,
        granularity=granularity, usage_rows=usage.row_count,
        replace_other_sources=replace_other_sources, actor=actor,
    )  # fmt: skip


def _store(
    workspace: Workspace,
    insert: Callable[[int], None],
    *,
    accounts: Sequence[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
    source: UsageSource,
    report: ImportCounts,
    granularity: str,
    usage_rows: int,
    replace_other_sources: bool,
    actor: dict[str, Any] | None,
) -> ImportOutcome:
    """The ledger of an import (module docstring), in one transaction; ``insert(import_id)``
    stores its rows."""
    with workspace.transaction():
        import_id = workspace.next_id("usage_import_ids")
        _record_footprint(workspace, import_id, accounts, start, end)
        covered = _covered_rows(workspace, import_id)
        other = covered[
            (covered["source_kind"] != source.kind) | (covered["scope"] != source.scope)
        ]
        if not other.empty and not replace_other_sources:
            raise UsageOverlapError(_overlap_message(other, source))
        replaced_rows = covered if replace_other_sources else covered.drop(other.index)
        _mark_replaced(workspace, import_id, source, replace_other_sources)
        insert(import_id)
        _record_import(
            workspace, import_id, source, start, end, report, granularity, usage_rows,
            replaced=int(replaced_rows["usage_row_count"].sum()),
            replace_other_sources=replace_other_sources, actor=actor,
        )  # fmt: skip
        added = _breakdown(workspace, "h.import_id = ?", [import_id])
    replaced = replaced_rows.drop(columns=["scope"]).reset_index(drop=True)
    return ImportOutcome(import_id, added, replaced)


def _record_footprint(
    workspace: Workspace,
    import_id: int,
    accounts: Sequence[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> None:
    workspace.execute(
        "INSERT INTO usage_import_footprints SELECT ?, unnest(?::VARCHAR[]), ?, ?",
        [import_id, list(accounts), start.to_pydatetime(), end.to_pydatetime()],
    )


def _covered_rows(workspace: Workspace, import_id: int) -> pd.DataFrame:
    """Counting rows of earlier imports inside the import's footprint, by import, account, month."""
    return (
        workspace.execute(
            f"""SELECT h.import_id, i.source_kind, i.scope, {_BY_MONTH_OF_H}
        FROM usage_hourly h JOIN usage_imports i ON i.import_id = h.import_id
        WHERE h.replaced_by IS NULL AND EXISTS (
            SELECT 1 FROM usage_import_footprints f WHERE f.import_id = ? AND {_COVERS})
        GROUP BY ALL ORDER BY h.import_id, h.account_id, month""",
            [import_id],
        )
        .df()
        .pipe(_month_text)
    )


def _mark_replaced(
    workspace: Workspace, import_id: int, source: UsageSource, every_source: bool
) -> None:
    same_source = (
        "TRUE"
        if every_source
        else "h.import_id IN (SELECT import_id FROM usage_imports WHERE source_kind = ? AND "
        "scope = ?)"
    )
    parameters: list[Any] = [import_id, import_id]
    if not every_source:
        parameters += [source.kind, source.scope]
    workspace.execute(
        f"""UPDATE usage_hourly h SET replaced_by = ?
        WHERE h.replaced_by IS NULL AND EXISTS (
            SELECT 1 FROM usage_import_footprints f WHERE f.import_id = ? AND {_COVERS})
          AND {same_source}""",
        parameters,
    )


def _record_import(
    workspace: Workspace,
    import_id: int,
    source: UsageSource,
    start: pd.Timestamp,
    end: pd.Timestamp,
    report: ImportCounts,
    granularity: str,
    usage_rows: int,
    *,
    replaced: int,
    replace_other_sources: bool,
    actor: dict[str, Any] | None,
) -> None:
    values = {
        "import_id": import_id,
        "source_kind": source.kind,
        "scope": source.scope,
        "files": json.dumps(list(source.files)),
        "fingerprints": json.dumps(list(source.fingerprints)),
        "period_start": start.to_pydatetime(),
        "period_end": end.to_pydatetime(),
        "granularity": granularity,
        "rows_kept": int(report.rows_kept),
        "rows_excluded": int(report.rows_excluded),
        "rows_replaced": replaced,
        "usage_rows": usage_rows,
        "imported_at": utc_now_naive(),
        "replaces_other_sources": replace_other_sources,
        "actor": None if actor is None else json.dumps(actor, sort_keys=True),
    }
    workspace.execute(
        f"INSERT INTO usage_imports ({', '.join(values)}) "
        f"VALUES ({', '.join('?' for _ in values)})",
        list(values.values()),
    )


def _breakdown(workspace: Workspace, where: str, parameters: Sequence[Any]) -> pd.DataFrame:
    """Usage rows matching ``where`` (alias ``h``), by account and month."""
    frame = (
        workspace.execute(
            f"SELECT {_BY_MONTH} FROM usage_hourly h WHERE {where} GROUP BY ALL "
            "ORDER BY account_id, month",
            list(parameters),
        )
        .df()
        .pipe(_month_text)
    )
    return frame.astype({"usage_row_count": "int64", **_QUANTITY_TYPES})


def _month_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``month`` as ``YYYY-MM`` text (from the first instant of the month)."""
    months = pd.to_datetime(frame["month"]).dt.strftime("%Y-%m")
    return frame.assign(month=months.astype("str"))


def _quantities_text(rows: pd.DataFrame) -> str:
    """The rows' usage, each unit's total that is not zero: ``"1,234.0 instance-hours, 56.0
    vCPU-hours"`` (instance-hours when all are zero)."""
    totals = {unit: float(rows[column].sum()) for unit, column in UNIT_COLUMNS.items()}
    parts = [f"{total:,.1f} {unit}" for unit, total in totals.items() if total != 0.0]
    return ", ".join(parts) or f"0.0 {INSTANCE_HOURS}"


def _overlap_message(other: pd.DataFrame, source: UsageSource) -> str:
    """Name the imports, accounts and months an import would replace, and the ways out."""
    parts = []
    for (import_id, kind), rows in other.groupby(["import_id", "source_kind"], sort=True):
        accounts = ", ".join(sorted({a or "all accounts" for a in rows["account_id"]}))
        months = ", ".join(sorted(set(rows["month"])))
        parts.append(
            f"import {import_id} ({kind}): {int(rows['usage_row_count'].sum()):,} rows, "
            f"{_quantities_text(rows)} of {accounts} in {months}"
        )
    return (
        f"this {source.kind} import covers usage already imported from another source, which "
        f"would then be counted twice: {'; '.join(parts)}. Replace it with {param('replace')}, "
        "remove that import first (`commitopt usage remove ID`), or import other accounts or "
        f"hours ({param('period_start')}/{param('period_end')})"
    )


def remove_import(
    workspace: Workspace,
    import_id: int,
    *,
    dry_run: bool = False,
    actor: dict[str, Any] | None = None,
) -> RemovalOutcome:
    """Delete one import's rows and bring back what it replaced, in one transaction.

    A row the removed import had replaced counts again unless a later import still in the
    workspace covers its account and hour; then that import replaces it instead.

    Parameters
    ----------
    workspace
        An open, writable workspace.
    import_id
        The import to remove.
    dry_run
        Compute the outcome and roll it back.
    actor
        Who removes it, recorded as JSON (``usage_imports.removed_by``).

    Raises
    ------
    WorkspaceError
        No such import, or it was removed already.
    """
    workspace.require_writable("remove an import")
    rows = workspace.fetch_all(
        "SELECT removed_at FROM usage_imports WHERE import_id = ?", [import_id]
    )
    if not rows:
        raise WorkspaceError(
            f"no usage import {import_id} in {workspace.path}; `commitopt usage imports` lists them"
        )
    if rows[0][0] is not None:
        raise WorkspaceError(
            f"usage import {import_id} was already removed on {rows[0][0]:%Y-%m-%d %H:%M} UTC"
        )
    outcome: RemovalOutcome | None = None
    try:
        with workspace.transaction():
            removed = _breakdown(
                workspace, "h.import_id = ? AND h.replaced_by IS NULL", [import_id]
            )
            workspace.execute("DELETE FROM usage_hourly WHERE import_id = ?", [import_id])
            workspace.execute(
                "UPDATE usage_imports SET removed_at = ?, removed_by = ? WHERE import_id = ?",
                [
                    utc_now_naive(),
                    None if actor is None else json.dumps(actor, sort_keys=True),
                    import_id,
                ],
            )
            restored = _reassign(workspace, import_id)
            outcome = RemovalOutcome(import_id, removed, restored)
            if dry_run:
                raise _RollBackError
    except _RollBackError:
        pass
    assert outcome is not None
    return outcome


class _RollBackError(Exception):
    """Raised inside a transaction to roll a dry run back."""


def _reassign(workspace: Workspace, removed_id: int) -> pd.DataFrame:
    """Rows the removed import replaced: to the next live import covering them, else restored."""
    workspace.execute(
        f"""UPDATE usage_hourly h SET replaced_by = (
            SELECT min(f.import_id) FROM usage_import_footprints f
            JOIN usage_imports i ON i.import_id = f.import_id
            WHERE f.import_id > ? AND i.removed_at IS NULL AND {_COVERS})
        WHERE h.replaced_by = ?""",
        [removed_id, removed_id],
    )
    return (
        workspace.execute(
            f"""SELECT h.import_id, i.source_kind, {_BY_MONTH_OF_H}
        FROM usage_hourly h JOIN usage_imports i ON i.import_id = h.import_id
        WHERE h.replaced_by IS NULL AND h.import_id IN (
            SELECT import_id FROM usage_imports WHERE import_id < ?)
          AND EXISTS (SELECT 1 FROM usage_import_footprints f WHERE f.import_id = ? AND {_COVERS})
        GROUP BY ALL ORDER BY h.import_id, h.account_id, month""",
            [removed_id, removed_id],
        )
        .df()
        .pipe(_month_text)
    )


def prune_replaced(workspace: Workspace, *, dry_run: bool = False) -> pd.DataFrame:
    """Delete for good the rows later imports replaced (they can no longer come back).

    Replaced rows are kept so that :func:`remove_import` can restore them; a workspace whose
    bills are re-imported daily grows by a month of rows each time. Pruning trades that undo
    for space: afterwards, removing an import leaves its footprint empty where it had replaced
    rows. Imports stay listed.

    Parameters
    ----------
    workspace
        An open, writable workspace.
    dry_run
        Count what would go; delete nothing.

    Returns
    -------
    pandas.DataFrame
        The rows deleted (or that would be), by import: ``import_id``, ``source_kind``, account
        and month (:data:`BREAKDOWN_COLUMNS`).
    """
    workspace.require_writable("prune replaced usage")
    with workspace.transaction():
        pruned = (
            workspace.execute(
                f"""SELECT h.import_id, i.source_kind, {_BY_MONTH_OF_H}
            FROM usage_hourly h JOIN usage_imports i ON i.import_id = h.import_id
            WHERE h.replaced_by IS NOT NULL
            GROUP BY ALL ORDER BY h.import_id, h.account_id, month"""
            )
            .df()
            .pipe(_month_text)
        )
        if not dry_run:
            workspace.execute("DELETE FROM usage_hourly WHERE replaced_by IS NOT NULL")
    return pruned


IMPORT_LIST_COLUMNS: Final = (
    "import_id", "source_kind", "scope", "period_start", "period_end", "accounts",
    "usage_row_count", "replaced_row_count", *QUANTITY_COLUMNS, "imported_at", "imported_by",
    "removed_at", "files",
)  # fmt: skip
"""Columns of :func:`list_imports`."""


def list_imports(workspace: Workspace) -> pd.DataFrame:
    """Every import, oldest first, with the rows it holds that count and those since replaced.

    Returns
    -------
    pandas.DataFrame
        :data:`IMPORT_LIST_COLUMNS`; ``usage_row_count`` and the unit totals are of the
        rows that count now, ``replaced_row_count`` of its rows later imports replaced; times
        as ISO text (UTC); ``accounts`` comma-separated.
    """
    has_v3 = workspace.has_table("usage_import_footprints")
    live = "h.replaced_by IS NULL" if has_v3 else "TRUE"
    totals = ", ".join(
        f"{unit_sum_sql(unit, table='h', where=live)} AS {column}"
        for unit, column in UNIT_COLUMNS.items()
    )
    frame = workspace.execute(
        f"""SELECT i.import_id, i.source_kind, i.scope, i.period_start, i.period_end,
            (SELECT string_agg(DISTINCT coalesce(nullif(u.account_id, ''), 'all'), ',' ORDER BY 1)
             FROM usage_hourly u WHERE u.import_id = i.import_id) AS accounts,
            count(h.hour) FILTER (WHERE {live}) AS usage_row_count,
            count(h.hour) FILTER (WHERE NOT ({live})) AS replaced_row_count,
            {totals},
            i.imported_at, {"i.actor" if has_v3 else "NULL"} AS actor,
            {"i.removed_at" if has_v3 else "NULL"} AS removed_at, i.files
        FROM usage_imports i LEFT JOIN usage_hourly h ON h.import_id = i.import_id
        GROUP BY ALL ORDER BY i.import_id"""
    ).df()
    frame["imported_by"] = [_actor_name(text) for text in frame.pop("actor")]
    frame["files"] = [", ".join(json.loads(text)) for text in frame["files"]]
    frame["accounts"] = frame["accounts"].fillna("")
    for column in ("period_start", "period_end", "imported_at", "removed_at"):
        stamps = pd.to_datetime(frame[column])
        frame[column] = [None if pd.isna(s) else s.tz_localize("UTC").isoformat() for s in stamps]
    return frame[list(IMPORT_LIST_COLUMNS)].astype(
        {"usage_row_count": "int64", "replaced_row_count": "int64", **_QUANTITY_TYPES}
    )


def _actor_name(text: object) -> str:
    """Who, as :attr:`Identity.display_name`; empty for imports made before identities were kept."""
    identity = Identity.from_mapping(text if isinstance(text, str) and text else None)
    return "" if identity is None else identity.display_name


__all__ = [
    "IMPORT_LIST_COLUMNS",
    "ImportOutcome",
    "RemovalOutcome",
    "UsageOverlapError",
    "import_usage",
    "import_validated_usage",
    "list_imports",
    "prune_replaced",
    "remove_import",
]
