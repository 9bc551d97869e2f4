"""Plans: recommended purchases stored in the workspace, frozen as canonical JSON with a SHA-256.

A plan is a *document* (a JSON object) holding the purchases to make, the figures that justify
them and the fingerprints of the inputs they came from::

    {"format": "commitopt-plan/1", "plan_id": "plan-20261123-1",
     "created_at": "2026-11-23T16:42:22Z", "source": "review",
     "inputs": {"usage": "sha256:...", "catalog": "...", "inventory": "sha256:..."},
     "policy": {"terms_years": [1], "payment_options": ["No Upfront"], ...},
     "purchases": [{"line": 1, "kind": "reserved_instance", ...}, ...],
     "summary": {...}, "as_of": "...", "report_stored": true}

The purchases are the items of the recommendation / portfolio JSON (docs/portfolio-format.md) with a
``line`` number (1, 2, ...) added. The document is stored as its :func:`canonical_json` text; its
SHA-256 (:func:`plan_sha256`) is what an approval binds to (:mod:`commitopt.approvals`), and what a
purchase checks before it buys (:mod:`commitopt.purchase`). Any later change to the stored text that
changes the canonical form changes the hash and voids the approval.

The plan's report (HTML or Markdown) shows the plan id and this SHA-256 in its header, so it is
rendered after both are known; its own SHA-256 is therefore not part of the plan document but
kept in the ``plans.report_sha256`` column, and ``report_stored`` in the document says that a
report belongs to the plan. :attr:`PlanRecord.intact` checks both hashes: a plan whose document
or report changed after storing cannot be approved or bought. Plans stored before commitopt 0.3
embed ``report_sha256`` in the document itself; they are read, hashed and checked as before.

Who stored the plan (:class:`commitopt.identity.Identity`) is kept in ``plans.created_by``;
the creator may not approve it (:mod:`commitopt.approvals`).

A plan's status is never stored: it is derived from the append-only ``approvals`` and
``purchase_events`` tables (:func:`commitopt.approvals.plan_state`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np

from commitopt.identity import Identity, current_identity
from commitopt.workspace import Workspace, WorkspaceError
from core.errors import CommitoptInputError
from core.times import naive_utc_datetime, utc_datetime
from pricing.databases import SERVICE_NAMES
from pricing.inventory import Commitment
from pricing.inventory.portfolio_json import _commitment_from_item, _Item
from pricing.inventory.values import iso, parse_time
from pricing.offerings import CommitmentKind
from pricing.services import EC2, service_of

PLAN_FORMAT: Final = "commitopt-plan/1"
"""The ``format`` field of every plan document this code writes."""

IDENTITY_SCHEMA_VERSION: Final = 3
"""The workspace schema version from which plans, decisions and purchases record identities."""

RenderReport = Callable[[str, str], bytes]
"""``(plan_id, plan_sha256) -> report bytes``: renders a plan's report once both are known."""

PURCHASE_STATES: Final = ("submitted", "executed", "failed")
"""States of a purchase event: the call is about to be made, it succeeded, it was refused."""


class PlanError(CommitoptInputError):
    """A plan that cannot be stored, found or read as asked."""


class PlanNotFoundError(PlanError):
    """No plan with that id in the workspace."""


def _plain(value: Any, where: str) -> Any:
    """``value`` as plain JSON types: numpy scalars unwrapped, tuples as lists, times as ISO."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise PlanError(f"{where}: key {key!r} is not a string; JSON keys are strings")
            out[key] = _plain(item, f"{where}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [_plain(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            raise PlanError(f"{where}: {number} is not a finite number; plans hold finite ones")
        return 0.0 if number == 0.0 else number
    if isinstance(value, datetime):
        return iso(utc_datetime(value))
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    raise PlanError(f"{where}: {type(value).__name__} is not a JSON value")


def canonical_json(document: Any) -> str:
    """The canonical JSON text of ``document``: the form a plan's hash is taken of.

    Keys sorted at every level; no whitespace (``,`` and ``:`` separators); ASCII only (other
    characters as ``\\uXXXX``); integers as integers; floats in Python's shortest round-trip
    form (``0.1``, ``100.0``, ``1e-07``), ``-0.0`` as ``0.0``; NaN and infinity refused; tuples
    as lists; times as ISO 8601 UTC with ``Z``. Parsing the text and canonicalising again gives
    the same text.

    Raises
    ------
    PlanError
        A non-finite number, a non-string key, or a value JSON cannot hold.
    """
    return json.dumps(
        _plain(document, "plan"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=False,
    )


def plan_sha256(document: Any) -> str:
    """Hex SHA-256 of :func:`canonical_json` of ``document`` (64 lowercase hex digits)."""
    return hashlib.sha256(canonical_json(document).encode("ascii")).hexdigest()


@dataclass(frozen=True)
class PurchaseLine:
    """One purchase of a plan.

    Attributes
    ----------
    number
        The line number, 1-based (the ``line`` field of the plan's purchase item).
    item
        The purchase item as stored (portfolio JSON fields plus ``line``).
    commitment
        The item parsed and validated: kind, term, payment option, region, instance type,
        platform, tenancy, scope, class, count, upfront [USD] and per-RI recurring fee [USD/h]
        for RIs; hourly commitment [USD/h] and upfront [USD] for Savings Plans.
    requested_start
        The item's own ``start`` when it has one (a later tranche of a ladder); ``None`` means
        "when bought".
    """

    number: int
    item: Mapping[str, Any]
    commitment: Commitment
    requested_start: datetime | None

    @property
    def is_reserved_instance(self) -> bool:
        """Whether the line buys Reserved Instances (else a Savings Plan)."""
        return self.commitment.kind == CommitmentKind.RESERVED_INSTANCE

    def describe(self) -> str:
        """One line for people, e.g. ``36 × c4.large Linux/UNIX Shared RI, ap-northeast-1`` or
        ``2 × db.r4.large aurora-mysql Single-AZ RDS reservation, us-east-1``."""
        c = self.commitment
        terms = f"{c.term_years}y {c.payment_option}"
        service = service_of(str(c.instance_type), c.platform) if self.is_reserved_instance else EC2
        if service != EC2:
            name = SERVICE_NAMES.get(service, service)
            return (
                f"{c.count} × {c.instance_type} {c.platform} {c.tenancy} {name} reservation, "
                f"{c.region}, {terms}"
            )
        if self.is_reserved_instance:
            return (
                f"{c.count} × {c.instance_type} {c.platform} {c.tenancy} {c.offering_class} RI "
                f"({c.scope}), {c.region}, {terms}"
            )
        where = f"{c.instance_family} in {c.region}" if c.region else "any region"
        kind = _SAVINGS_PLAN_NAMES.get(str(c.kind), "Compute")
        return f"{kind} Savings Plan {c.commitment_usd_per_hour:g} USD/h ({where}), {terms}"


_SAVINGS_PLAN_NAMES: Final[dict[str, str]] = {
    CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN: "EC2 Instance",
    CommitmentKind.COMPUTE_SAVINGS_PLAN: "Compute",
    CommitmentKind.DATABASE_SAVINGS_PLAN: "Database",
    CommitmentKind.SAGEMAKER_SAVINGS_PLAN: "SageMaker",
}
"""How :meth:`PurchaseLine.describe` names each Savings Plan kind."""


def parse_lines(
    purchases: Sequence[Any], *, where: str, default_start: datetime
) -> tuple[PurchaseLine, ...]:
    """Validate purchase items and number them 1, 2, ... (an item's own ``line`` must agree).

    Parameters
    ----------
    purchases
        Portfolio JSON purchase items.
    where
        The file or plan named in errors.
    default_start
        Start of items without one (used for their term end only).

    Raises
    ------
    PlanError
        One line naming ``where``, the item index and the field.
    """
    lines = []
    for index, raw in enumerate(purchases):
        if not isinstance(raw, Mapping):
            raise PlanError(f"{where}: purchases[{index}] is {type(raw).__name__}, not an object")
        if "line" in raw and raw["line"] != index + 1:
            raise PlanError(
                f"{where}: purchases[{index}].line is {raw['line']!r}, expected {index + 1}; "
                "lines are numbered 1, 2, ... in order"
            )
        try:
            commitment = _commitment_from_item(_Item(where, index, raw), "plan", default_start)
            requested = parse_time(raw["start"]) if raw.get("start") else None
        except CommitoptInputError as error:
            raise PlanError(str(error)) from error
        lines.append(PurchaseLine(index + 1, dict(raw), commitment, requested))
    return tuple(lines)


@dataclass(frozen=True)
class PlanRecord:
    """A plan as stored in the workspace.

    Attributes
    ----------
    plan_id
        ``plan-YYYYMMDD-N``.
    created_at
        When it was stored (UTC).
    source
        Where it came from (``"file plan.json"``, ``"review"``).
    run_id
        The run that produced it, if recorded.
    plan_json
        The stored document text (canonical JSON when stored).
    stored_sha256
        The hash recorded when the plan was stored.
    report_path
        Path of its report file, if one was given.
    report
        Its report's bytes, if stored.
    created_by
        Who stored it; ``None`` for plans stored before identities were recorded.
    recorded_report_sha256
        The report's SHA-256 recorded when stored (the ``report_sha256`` column; ``None`` for
        plans without a report and for older plans, whose document holds it).
    """

    plan_id: str
    created_at: datetime
    source: str
    run_id: int | None
    plan_json: str
    stored_sha256: str
    report_path: str | None
    report: bytes | None
    created_by: Identity | None = None
    recorded_report_sha256: str | None = None

    @property
    def document(self) -> dict[str, Any]:
        """The plan document parsed from the stored text.

        Raises
        ------
        PlanError
            The stored text is no longer a JSON object (altered in the database).
        """
        try:
            document = json.loads(self.plan_json)
        except json.JSONDecodeError as error:
            raise PlanError(
                f"plan {self.plan_id}: its stored JSON is unreadable ({error.msg}); it was "
                "altered outside commitopt: store the plan again"
            ) from error
        if not isinstance(document, dict):
            raise PlanError(
                f"plan {self.plan_id}: its stored JSON is not an object; it was altered outside "
                "commitopt: store the plan again"
            )
        return document

    @property
    def sha256(self) -> str:
        """The hash of the plan as it is now (recomputed from the stored text)."""
        return plan_sha256(self.document)

    @property
    def report_intact(self) -> bool:
        """Whether the stored report (if any) still has the hash recorded when it was stored.

        Older plans record that hash in their document (``report_sha256``); newer ones in the
        ``report_sha256`` column, with ``report_stored`` in the document, so a report removed
        from a plan that had one counts as changed too.
        """
        document = self.document
        recorded = document.get("report_sha256")
        if recorded is None and (document.get("report_stored") or self.report is not None):
            recorded = self.recorded_report_sha256
            if recorded is None:
                return False
        if recorded is None:
            return self.report is None
        return self.report is not None and hashlib.sha256(self.report).hexdigest() == recorded

    @property
    def report_digest(self) -> str | None:
        """SHA-256 (hex) of the stored report as it is now; ``None`` when there is none."""
        return None if self.report is None else hashlib.sha256(self.report).hexdigest()

    @property
    def intact(self) -> bool:
        """Whether the plan still hashes to what was recorded when stored, report included."""
        return self.sha256 == self.stored_sha256 and self.report_intact

    @property
    def lines(self) -> tuple[PurchaseLine, ...]:
        """The purchase lines, validated (a plan altered into nonsense raises PlanError)."""
        purchases = self.document.get("purchases", [])
        if not isinstance(purchases, list):
            raise PlanError(f"plan {self.plan_id}: purchases is not a list; store it again")
        return parse_lines(purchases, where=f"plan {self.plan_id}", default_start=self.created_at)

    @property
    def summary(self) -> Mapping[str, Any]:
        """The recommendation's summary figures (empty when the plan has none), named as
        ``docs/glossary.md`` defines them (see :func:`current_summary` for older plans)."""
        summary = self.document.get("summary", {})
        return current_summary(summary) if isinstance(summary, Mapping) else {}


FORMER_SUMMARY_FIELDS: Final[Mapping[str, str]] = {
    "baseline_cost_usd": "current_cost_usd",
    "optimized_cost_usd": "planned_cost_usd",
    "savings_usd": "savings_vs_on_demand_usd",
    "savings_pct": "savings_vs_on_demand_pct",
    "baseline_coverage_pct": "current_coverage_pct",
    "upfront_cash_usd": "upfront_usd",
    "monthly_run_rate_usd": "run_rate_usd_per_month",
    "EstimatedSavingsAmount": "savings_vs_current_usd",
    "EstimatedMonthlySavingsAmount": "savings_vs_current_usd_per_month",
    "HourlyCommitmentToPurchase": "effective_usd_per_hour",
}
"""Summary fields of plans stored by commitopt 0.1, and their current names."""

COST_EXPLORER_FIELDS: Final = (
    "HourlyCommitmentToPurchase", "EstimatedSavingsAmount", "EstimatedMonthlySavingsAmount",
    "EstimatedSavingsPercentage", "EstimatedROI", "EstimatedAverageUtilization",
    "EstimatedBreakEvenInMonths",
)  # fmt: skip
"""Cost Explorer's field names, kept in a summary's ``cost_explorer`` block."""


def current_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A stored plan's summary with the current field names.

    Plans are stored as they were written (their SHA-256 binds the approvals), so a plan of
    commitopt 0.1 keeps its former names on disk; they are read through
    :data:`FORMER_SUMMARY_FIELDS`, Cost Explorer's names move into ``cost_explorer``, and the
    duplicate ``effective_savings_rate`` (the savings against on-demand as a fraction) is dropped.
    """
    if not any(key in summary for key in (*FORMER_SUMMARY_FIELDS, "effective_savings_rate")):
        return dict(summary)
    current: dict[str, Any] = {}
    cost_explorer = dict(summary.get("cost_explorer") or {})
    for key, value in summary.items():
        if key in COST_EXPLORER_FIELDS:
            cost_explorer.setdefault(key, value)
        if key == "effective_savings_rate":
            continue
        name = FORMER_SUMMARY_FIELDS.get(key, key)
        if name in COST_EXPLORER_FIELDS:
            continue
        current.setdefault(name, value)
    optimizer = current.get("optimizer")
    if isinstance(optimizer, Mapping) and "seconds" in optimizer:
        current["optimizer"] = {
            ("solve_seconds" if k == "seconds" else k): v for k, v in optimizer.items()
        }
    if cost_explorer:
        current["cost_explorer"] = cost_explorer
    return current


@dataclass(frozen=True)
class PurchaseEvent:
    """One row of the append-only ``purchase_events`` table.

    Attributes
    ----------
    event_id, plan_id, line
        Which event, of which plan's line.
    state
        ``submitted`` (recorded just before the AWS call), ``executed`` (AWS answered with the
        new RI or Savings Plan id) or ``failed`` (AWS refused; nothing bought).
    client_token
        The idempotency token of the line (:func:`commitopt.purchase.client_token`).
    plan_sha256
        The plan hash the purchase was made under.
    operation
        ``ec2:PurchaseReservedInstancesOffering`` or ``savingsplans:CreateSavingsPlan``.
    request
        The call's parameters (JSON).
    aws_id
        ``ReservedInstancesId`` or ``savingsPlanId`` once executed.
    detail
        Free text: the live price checked, the error code, how an in-doubt line was settled.
    recorded_at
        When (UTC).
    actor
        Who ran the purchase; ``None`` for events recorded before identities were.
    """

    event_id: int
    plan_id: str
    line: int
    state: str
    client_token: str
    plan_sha256: str
    operation: str
    request: Mapping[str, Any]
    aws_id: str | None
    detail: str
    recorded_at: datetime
    actor: Identity | None = None


def _require_tables(workspace: Workspace) -> bool:
    """Whether the workspace has the plan tables (a read-only open of a version-1 file lacks)."""
    return workspace.has_table("plans")


def store_plan(
    workspace: Workspace,
    portfolio: Mapping[str, Any],
    *,
    source: str,
    inputs: Mapping[str, Any] | None = None,
    policy: Mapping[str, Any] | None = None,
    report: bytes | None = None,
    render_report: RenderReport | None = None,
    report_path: str | Path | None = None,
    run_id: int | None = None,
    created_at: datetime | None = None,
    created_by: Identity | None = None,
) -> PlanRecord:
    """Store a recommendation as a new plan with status ``proposed``.

    This is what ``commitopt plans add``, ``commitopt recommend --save`` and
    ``commitopt review`` call.

    Parameters
    ----------
    workspace
        An open, writable workspace.
    portfolio
        The recommendation / portfolio JSON object (``{"purchases": [...], "summary": {...}}``),
        e.g. :attr:`planning.recommend.RecommendationRun.portfolio`.
    source
        Where the plan came from, for people (``"review"``, ``"file plan.json"``).
    inputs
        Fingerprints of the inputs (usage imports, catalog, inventory, files), JSON-able.
    policy
        The full purchase policy the plan was made under (``dataclasses.asdict(policy)``:
        instruments, terms, payment options, caps), JSON-able.
    report
        A finished report's bytes (HTML, Markdown, ...) stored with the plan (``plans add
        --report``).
    render_report
        Renders the report once the plan id and SHA-256 are known (so that its header can show
        them); called inside the storing transaction. Not with ``report``. The report's
        SHA-256 is recorded beside the plan, and a changed report makes the plan unapprovable.
    report_path
        Where the report file was written, if anywhere.
    run_id
        The run (``Workspace.record_run``) that produced the plan.
    created_at
        Defaults to now (UTC).
    created_by
        Who stores it [default: :func:`commitopt.identity.current_identity`].

    Returns
    -------
    PlanRecord

    Raises
    ------
    PlanError
        No ``purchases`` list, an invalid purchase item (named by index and field), a
        non-finite number, both ``report`` and ``render_report``.
    WorkspaceError
        A read-only workspace.
    """
    workspace.require_writable("store a plan")
    where = f"plan from {source}"
    if not isinstance(portfolio, Mapping) or not isinstance(portfolio.get("purchases"), list):
        raise PlanError(f'{where}: no "purchases" list; a plan is {{"purchases": [...], ...}}')
    if report is not None and render_report is not None:
        raise PlanError(f"{where}: give a finished report or a way to render one, not both")
    created = utc_datetime(created_at or datetime.now(UTC)).replace(microsecond=0)
    creator = created_by or current_identity()
    purchases = portfolio["purchases"]
    parse_lines(purchases, where=where, default_start=created)
    with workspace.transaction():
        number = workspace.next_id("plan_ids")
        plan_id = f"plan-{created:%Y%m%d}-{number}"
        document: dict[str, Any] = {
            key: value for key, value in portfolio.items() if key not in ("purchases",)
        }
        document.update(
            {
                "format": PLAN_FORMAT,
                "plan_id": plan_id,
                "created_at": iso(created),
                "source": source,
                "inputs": dict(inputs or {}),
                "purchases": [{**item, "line": index + 1} for index, item in enumerate(purchases)],
            }
        )
        document.pop("report_sha256", None)
        if policy is not None:
            document["policy"] = dict(policy)
        if report is not None or render_report is not None:
            document["report_stored"] = True
        else:
            document.pop("report_stored", None)
        text = canonical_json(document)
        digest = hashlib.sha256(text.encode("ascii")).hexdigest()
        if render_report is not None:
            report = render_report(plan_id, digest)
        workspace.execute(
            "INSERT INTO plans (plan_id, created_at, source, run_id, plan_json, plan_sha256, "
            "report_path, report, created_by, report_sha256) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                plan_id,
                naive_utc_datetime(created),
                source,
                run_id,
                text,
                digest,
                None if report_path is None else str(report_path),
                report,
                creator.to_json(),
                None if report is None else hashlib.sha256(report).hexdigest(),
            ],
        )
    return load_plan(workspace, plan_id)


def read_plan_file(path: str | Path) -> tuple[dict[str, Any], bytes]:
    """Read a recommendation JSON file: the object and the file's bytes (for its fingerprint).

    Raises
    ------
    PlanError
        Missing or unreadable file, invalid JSON, not an object with a ``purchases`` list.
    """
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError as error:
        raise PlanError(f"{file}: no such file; check the path") from error
    except OSError as error:
        raise PlanError(f"{file}: cannot be read ({error.strerror})") from error
    try:
        payload = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise PlanError(f"{file}: not UTF-8 text; give a recommendation JSON file") from error
    except json.JSONDecodeError as error:
        raise PlanError(
            f"{file}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
            "give what `commitopt recommend --format json` writes"
        ) from error
    if isinstance(payload, list):
        payload = {"purchases": payload}
    if not isinstance(payload, dict) or not isinstance(payload.get("purchases"), list):
        raise PlanError(
            f'{file}: no "purchases" list; give what `commitopt recommend --format json` writes'
        )
    return payload, raw


def add_plan_file(
    workspace: Workspace,
    path: str | Path,
    *,
    report_path: str | Path | None = None,
    created_by: Identity | None = None,
) -> PlanRecord:
    """Store a recommendation JSON file (``recommend --format json --out FILE``) as a plan.

    The file's name and SHA-256 are the plan's input fingerprints; a report file, when given,
    is stored with it (bytes and path). ``created_by`` defaults to the current identity.
    """
    file = Path(path)
    portfolio, raw = read_plan_file(file)
    report: bytes | None = None
    if report_path is not None:
        try:
            report = Path(report_path).read_bytes()
        except OSError as error:
            raise PlanError(f"{report_path}: cannot read the report ({error.strerror})") from error
    inputs = {
        "portfolio_file": str(file),
        "portfolio_sha256": hashlib.sha256(raw).hexdigest(),
    }
    return store_plan(
        workspace,
        portfolio,
        source=f"file {file.name}",
        inputs=inputs,
        report=report,
        report_path=report_path,
        created_by=created_by,
    )


def _plan_columns(workspace: Workspace) -> str:
    """The plan columns to select (identity columns as NULL in a read-only older workspace)."""
    identity = (
        "created_by, report_sha256"
        if workspace.schema_version >= IDENTITY_SCHEMA_VERSION
        else "NULL AS created_by, NULL AS report_sha256"
    )
    return (
        "plan_id, created_at, source, run_id, plan_json, plan_sha256, report_path, report, "
        + identity
    )


def _actor_column(workspace: Workspace) -> str:
    """``actor``, or ``NULL`` in a read-only workspace older than the identity columns."""
    return "actor" if workspace.schema_version >= IDENTITY_SCHEMA_VERSION else "NULL"


def _record(row: Sequence[Any]) -> PlanRecord:
    return PlanRecord(
        plan_id=str(row[0]),
        created_at=utc_datetime(row[1]),
        source=str(row[2]),
        run_id=None if row[3] is None else int(row[3]),
        plan_json=str(row[4]),
        stored_sha256=str(row[5]),
        report_path=None if row[6] is None else str(row[6]),
        report=None if row[7] is None else bytes(row[7]),
        created_by=Identity.from_mapping(row[8]),
        recorded_report_sha256=None if row[9] is None else str(row[9]),
    )


def list_plans(workspace: Workspace) -> tuple[PlanRecord, ...]:
    """Every plan, oldest first (none in a workspace without plan tables)."""
    if not _require_tables(workspace):
        return ()
    rows = workspace.fetch_all(
        f"SELECT {_plan_columns(workspace)} FROM plans ORDER BY created_at, "
        "CAST(split_part(plan_id, '-', 3) AS BIGINT)"
    )
    return tuple(_record(row) for row in rows)


def load_plan(workspace: Workspace, plan_id: str) -> PlanRecord:
    """The plan with that id.

    Raises
    ------
    PlanNotFoundError
        No such plan; the message names the latest ones.
    """
    if _require_tables(workspace):
        rows = workspace.fetch_all(
            f"SELECT {_plan_columns(workspace)} FROM plans WHERE plan_id = ?", [plan_id.strip()]
        )
        if rows:
            return _record(rows[0])
        known = [
            str(row[0])
            for row in workspace.fetch_all(
                "SELECT plan_id FROM plans ORDER BY created_at DESC LIMIT 3"
            )
        ]
    else:
        known = []
    hint = f"latest: {', '.join(known)}" if known else "this workspace has no plans"
    raise PlanNotFoundError(
        f"{workspace.path}: no plan {plan_id!r} ({hint}); list them with `commitopt plans`"
    )


def purchase_events(workspace: Workspace, plan_id: str) -> tuple[PurchaseEvent, ...]:
    """The plan's purchase events, oldest first."""
    if not workspace.has_table("purchase_events"):
        return ()
    rows = workspace.fetch_all(
        "SELECT event_id, plan_id, line, state, client_token, plan_sha256, operation, request, "
        f"aws_id, detail, recorded_at, {_actor_column(workspace)} FROM purchase_events "
        "WHERE plan_id = ? ORDER BY event_id",
        [plan_id],
    )
    return tuple(
        PurchaseEvent(
            event_id=int(row[0]),
            plan_id=str(row[1]),
            line=int(row[2]),
            state=str(row[3]),
            client_token=str(row[4]),
            plan_sha256=str(row[5]),
            operation=str(row[6]),
            request=json.loads(row[7]),
            aws_id=None if row[8] is None else str(row[8]),
            detail=str(row[9]),
            recorded_at=utc_datetime(row[10]),
            actor=Identity.from_mapping(row[11]),
        )
        for row in rows
    )


def latest_line_events(events: Sequence[PurchaseEvent]) -> dict[int, PurchaseEvent]:
    """The latest event of each line (events oldest first)."""
    latest: dict[int, PurchaseEvent] = {}
    for event in events:
        latest[event.line] = event
    return latest


def record_purchase_event(
    workspace: Workspace,
    *,
    plan_id: str,
    line: int,
    state: str,
    client_token: str,
    plan_sha256: str,
    operation: str,
    request: Mapping[str, Any],
    aws_id: str | None = None,
    detail: str = "",
    actor: Identity | None = None,
) -> PurchaseEvent:
    """Append one purchase event, in its own transaction (committed when this returns).

    ``actor`` is who makes the purchase [default: :func:`commitopt.identity.current_identity`].
    """
    if state not in PURCHASE_STATES:
        raise WorkspaceError(f"bad purchase state {state!r}")
    workspace.require_writable("record a purchase")
    now = datetime.now(UTC)
    who = actor or current_identity(now=now)
    with workspace.transaction():
        event_id = workspace.next_id("purchase_event_ids")
        workspace.execute(
            "INSERT INTO purchase_events (event_id, plan_id, line, state, client_token, "
            "plan_sha256, operation, request, aws_id, detail, recorded_at, actor) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                event_id,
                plan_id,
                line,
                state,
                client_token,
                plan_sha256,
                operation,
                canonical_json(request),
                aws_id,
                detail,
                naive_utc_datetime(now),
                who.to_json(),
            ],
        )
    return PurchaseEvent(
        event_id,
        plan_id,
        line,
        state,
        client_token,
        plan_sha256,
        operation,
        dict(request),
        aws_id,
        detail,
        now,
        who,
    )


__all__ = [
    "PLAN_FORMAT",
    "PlanError",
    "PlanNotFoundError",
    "PlanRecord",
    "PurchaseEvent",
    "PurchaseLine",
    "add_plan_file",
    "canonical_json",
    "latest_line_events",
    "list_plans",
    "load_plan",
    "parse_lines",
    "plan_sha256",
    "purchase_events",
    "read_plan_file",
    "record_purchase_event",
    "store_plan",
]
