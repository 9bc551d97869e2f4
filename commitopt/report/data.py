"""What a finance report shows, assembled from two billed simulations and optional extras.

:class:`ReportData` holds every figure and table of the report, already computed; the renderers
(:mod:`commitopt.report.html`, :mod:`commitopt.report.markdown`, :mod:`commitopt.report.formats`)
only format it. Every money figure comes from the billing simulator: the data period billed with
the owned commitments only (``baseline``) and with the purchases added (``with_plan``).

Where the plan comes from is not this module's business: :func:`build_report_data` takes a
:class:`planning.recommend.RecommendationRun`; :func:`report_data_from_simulations` takes the two
simulations and the purchases, whatever produced them (a portfolio JSON file re-billed, a plan
stored in the workspace).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from billing.ledger import ON_DEMAND
from billing.simulator import SimulationResult
from commitopt.report.accounts import account_table, covered_shares, shares_text
from commitopt.report.basis import monte_carlo_note
from commitopt.report.checks import staleness_warnings
from commitopt.report.commitments import describe_commitment, item_hourly_cost_usd
from commitopt.report.frontier import data_period_frontier
from commitopt.report.inputs import Frontier, MonteCarloSavings, ReportInputError
from core.times import as_utc
from core.units import HOURS_PER_MONTH
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment
from pricing.offerings import TERM_HOURS, CommitmentKind

if TYPE_CHECKING:
    from planning.recommend import RecommendationRun

FloatArray = npt.NDArray[np.float64]

DEFAULT_TITLE: Final = "Commitment purchase plan"
"""Report title when none is given."""

DEFAULT_EXPIRY_HORIZON_DAYS: Final = 365.0
"""Owned commitments ending this soon after the data period are listed as expiring [days]."""

LAYERS: Final = (*CommitmentKind, "on_demand")
"""Columns of :attr:`ReportData.hourly`, in AWS's order of application."""

KIND_LABELS: Final = {
    CommitmentKind.RESERVED_INSTANCE: "Reserved Instance",
    CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN: "EC2 Instance Savings Plan",
    CommitmentKind.COMPUTE_SAVINGS_PLAN: "Compute Savings Plan",
    "on_demand": "On-demand",
}
"""How each instrument kind is named in the report."""

PURCHASE_COLUMNS: Final = (
    "id",
    "kind",
    "description",
    "account_id",
    "term_years",
    "payment_option",
    "start",
    "end",
    "upfront_usd",
    "recurring_usd_per_month",
    "effective_usd_per_hour",
    "term_cost_usd",
    "utilization_pct",
    "net_savings_vs_on_demand_usd",
    "expected_utilization_pct",
    "break_even_utilization_pct",
    "covered_accounts",
    "explanation",
)
"""Columns of :attr:`ReportData.purchases`; see :func:`purchase_table`."""


@dataclass(frozen=True)
class ReportHeader:
    """Which plan, which data, which prices, when.

    Attributes
    ----------
    title
        The report's title.
    plan_id
        The plan's name (a workspace id, a file name, ``demo``).
    sha256
        SHA-256 of the plan's canonical JSON (hex).
    period_start, period_end
        First hour of the data period and the hour after its last (UTC); ``None`` without usage.
    period_hours
        Hours in the data period [h].
    catalog_source, catalog_as_of
        Where the prices come from and their date (``None`` when unknown).
    generated_at
        When the report was made (UTC).
    sha256_of
        What ``sha256`` is the hash of: ``"plan"`` (a stored plan's hash, given) or
        ``"portfolio"`` (:func:`plan_hash` of the portfolio payload, for a plan not stored yet).
    """

    title: str
    plan_id: str
    sha256: str
    period_start: pd.Timestamp | None
    period_end: pd.Timestamp | None
    period_hours: int
    catalog_source: str
    catalog_as_of: date | None
    generated_at: datetime
    sha256_of: str = "portfolio"


@dataclass(frozen=True)
class ReportSummary:
    """The figures a finance approver decides on (named as ``docs/glossary.md`` defines them).

    *Current* is the data period billed with the owned commitments only, *planned* with the
    purchases added.

    Attributes
    ----------
    purchase_count
        Purchases in the plan.
    upfront_usd
        Upfront payments of the purchases [USD].
    effective_usd_per_hour
        Cost per hour of the purchases, upfront amortized (Cost Explorer's
        HourlyCommitmentToPurchase) [USD/h].
    term_cost_usd
        What the purchases cost over their whole terms, upfront included [USD].
    term_months
        Longest purchase term [months].
    current_run_rate_usd_per_month, run_rate_usd_per_month
        Recurring fees + on-demand per 730 h, current / planned (upfront excluded) [USD/month].
    current_cost_usd, planned_cost_usd
        Cost of the data period, upfront amortized [USD].
    on_demand_cost_usd
        What the data period's usage costs at on-demand rates [USD].
    savings_vs_current_usd, savings_vs_current_usd_per_month
        What the purchases save over the data period, and per 730 h [USD, USD/month].
    savings_vs_current_pct
        ``savings_vs_current_usd`` ÷ ``current_cost_usd`` [%].
    savings_vs_on_demand_usd
        On-demand cost − planned cost [USD].
    current_savings_vs_on_demand_pct, savings_vs_on_demand_pct
        Effective savings rate against on-demand, current / planned [%].
    current_coverage_pct, coverage_pct
        Share of the on-demand cost covered by commitments, current / planned [%].
    utilization_pct
        Used ÷ paid commitment over all instruments, planned [%].
    purchases_utilization_pct
        Used ÷ paid commitment of the purchases alone [%] (``nan`` without purchases).
    break_even_month
        First month (1-based) from which the cumulative cash savings, each upfront paid when its
        term starts, stay ≥ 0, with the data period's monthly run-rates repeated (see
        :attr:`ReportData.cash_flow`); ``None`` when not within the term.
    p5_savings_vs_current_usd, p50_savings_vs_current_usd, p95_savings_vs_current_usd
        Percentiles of the Monte Carlo savings per path [USD] (``None`` without them).
    p5_savings_vs_on_demand_pct, p50_savings_vs_on_demand_pct, p95_savings_vs_on_demand_pct
        Percentiles of the Monte Carlo effective savings rate with the plan over the forecast
        horizon [%] (``None`` without them). Not on the data period's basis: see
        :attr:`ReportData.monte_carlo_note`.
    p50_current_savings_vs_on_demand_pct
        Median Monte Carlo effective savings rate of the owned commitments alone over the
        horizon [%] (``None`` when not given).
    """

    purchase_count: int
    upfront_usd: float
    effective_usd_per_hour: float
    term_cost_usd: float
    term_months: int
    current_run_rate_usd_per_month: float
    run_rate_usd_per_month: float
    current_cost_usd: float
    planned_cost_usd: float
    on_demand_cost_usd: float
    savings_vs_current_usd: float
    savings_vs_current_usd_per_month: float
    savings_vs_current_pct: float
    savings_vs_on_demand_usd: float
    current_savings_vs_on_demand_pct: float
    savings_vs_on_demand_pct: float
    current_coverage_pct: float
    coverage_pct: float
    utilization_pct: float
    purchases_utilization_pct: float
    break_even_month: int | None
    p5_savings_vs_current_usd: float | None = None
    p50_savings_vs_current_usd: float | None = None
    p95_savings_vs_current_usd: float | None = None
    p5_savings_vs_on_demand_pct: float | None = None
    p95_savings_vs_on_demand_pct: float | None = None
    p50_savings_vs_on_demand_pct: float | None = None
    p50_current_savings_vs_on_demand_pct: float | None = None


@dataclass(frozen=True, eq=False)
class ReportData:
    """Everything a report shows.

    Attributes
    ----------
    header, summary
        :class:`ReportHeader` and :class:`ReportSummary`.
    purchases
        One row per purchase, :data:`PURCHASE_COLUMNS`.
    monthly
        One row per calendar month of the data period: ``month``, ``on_demand_cost_usd``,
        ``current_cost_usd``, ``planned_cost_usd``, ``savings_vs_current_usd``,
        ``current_coverage_pct``, ``coverage_pct``, ``current_utilization_pct``,
        ``utilization_pct`` (``nan`` when no commitment is active).
    hourly
        One row per hour (``hour``): on-demand-equivalent cost covered by each instrument kind
        and left on-demand, :data:`LAYERS` [USD/h].
    cash_flow
        Months 1…``term_months`` (``month``): ``on_demand_cost_usd``, ``current_cost_usd``
        (owned commitments only), ``planned_cost_usd`` (with the purchases, upfront paid in its
        month), ``upfront_usd``, ``cumulative_savings_vs_current_usd`` (current − planned,
        cumulated) [USD], with the data period's run-rates repeated.
    frontier
        :class:`Frontier`, or ``None`` (see ``frontier_note``).
    monte_carlo
        :class:`MonteCarloSavings`, or ``None`` when no scenarios were run.
    expiring
        Owned commitments ending within ``expiry_horizon_days`` after the data period: ``id``,
        ``kind``, ``description``, ``end``, ``cost_usd_per_month``.
    owned_known
        Whether the owned commitments were given (else expiries are unknown).
    expiry_horizon_days
        [days].
    optimizer
        The optimizer's status, method and certified gap (empty when the plan was not optimized
        here).
    notes, warnings
        Lines shown under the figures: how figures were made, and approximations.
    frontier_note
        Why there is no frontier, or how it was made.
    by_account
        One row per account, :data:`commitopt.report.accounts.ACCOUNT_COLUMNS` (see
        :func:`commitopt.report.accounts.account_table`).
    monte_carlo_note
        How the Monte Carlo range relates to the data period's figures: both bases, the owned
        commitments expiring inside its horizon, the purchases' savings on both bases (empty
        without Monte Carlo).
    purchase_date
        When the purchases are bought; their ``start`` and ``end`` count from it.
    """

    header: ReportHeader
    summary: ReportSummary
    purchases: pd.DataFrame
    monthly: pd.DataFrame
    hourly: pd.DataFrame
    cash_flow: pd.DataFrame
    frontier: Frontier | None
    monte_carlo: MonteCarloSavings | None
    expiring: pd.DataFrame
    owned_known: bool
    expiry_horizon_days: float
    optimizer: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    frontier_note: str = ""
    by_account: pd.DataFrame = field(default_factory=pd.DataFrame)
    monte_carlo_note: str = ""
    purchase_date: pd.Timestamp | None = None


def canonical_json(payload: Any) -> str:
    """The payload as canonical JSON: sorted keys, no spaces, UTF-8 text, non-JSON types as str."""
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def plan_hash(payload: Any) -> str:
    """SHA-256 (hex) of the plan's :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def _ratio(part: float, whole: float, empty: float) -> float:
    return part / whole if whole > 0 else empty


def _by_id(frame: pd.DataFrame | None, column: str) -> dict[str, Any]:
    if frame is None or frame.empty or column not in frame or "id" not in frame:
        return {}
    return dict(zip(frame["id"].astype(str), frame[column], strict=True))


def dated_purchases(
    purchases: Sequence[Commitment],
    *,
    period_start: pd.Timestamp | None,
    purchase_date: pd.Timestamp,
) -> tuple[Commitment, ...]:
    """The purchases dated as bought: from ``purchase_date``, not from the data period.

    A purchase billed over the data period starts with it (or, for a ladder's later tranche, some
    months into it); bought, it starts at ``purchase_date`` plus that same offset. A purchase
    whose own ``start`` is after ``purchase_date`` (a plan that names a future start) keeps it.
    Each keeps its term length: ``end`` = ``start`` + term.
    """
    dated = []
    for item in purchases:
        start = pd.Timestamp(item.start)
        if start <= purchase_date:
            offset = start - period_start if period_start is not None else pd.Timedelta(0)
            start = purchase_date + max(offset, pd.Timedelta(0))
        length = pd.Timestamp(item.end) - pd.Timestamp(item.start)
        dated.append(
            dataclasses.replace(
                item, start=start.to_pydatetime(), end=(start + length).to_pydatetime()
            )
        )
    return tuple(dated)


def purchase_table(
    purchases: Sequence[Commitment],
    with_plan: SimulationResult,
    explanations: pd.DataFrame | None,
    shares: Mapping[str, Mapping[str, float]] | None = None,
) -> pd.DataFrame:
    """One row per purchase, :data:`PURCHASE_COLUMNS`.

    Money per item [USD]: ``upfront_usd``, ``recurring_usd_per_month`` (fees per 730 h),
    ``effective_usd_per_hour`` (upfront amortized) [USD/h], ``term_cost_usd`` (whole term);
    ``utilization_pct`` and ``net_savings_vs_on_demand_usd`` (covered on-demand value − cost
    over the data period) are billed by the simulator; ``expected_utilization_pct``,
    ``break_even_utilization_pct`` and ``explanation`` are the optimizer's explanations
    (``nan`` / empty when none were made). ``account_id`` is the buying (owner) account, empty
    when the purchase names none (it then serves every account alike); ``covered_accounts``
    the share of the on-demand value it covered per account (``shares``, from
    :func:`commitopt.report.accounts.covered_shares`). ``start`` and ``end`` are the items' own
    (see :func:`dated_purchases`).
    """
    table = with_plan.instruments
    ids = table["id"].astype(str).tolist() if len(table) else []
    simulated_utilization = dict(
        zip(ids, 100.0 * table["utilization"].to_numpy(np.float64), strict=True)
    )
    simulated_net = dict(
        zip(
            ids,
            table["covered_on_demand_equivalent_usd"].to_numpy(np.float64)
            - table["cost_usd"].to_numpy(np.float64),
            strict=True,
        )
    )
    reasons = _by_id(explanations, "explanation")
    expected = _by_id(explanations, "expected_utilization_pct")
    break_even = _by_id(explanations, "break_even_utilization_pct")
    shares = shares or {}
    rows = []
    for item in purchases:
        hourly = item_hourly_cost_usd(item)
        term_hours = TERM_HOURS[item.term_years]
        amortized = item.upfront_usd / term_hours
        rows.append(
            {
                "id": item.id,
                "kind": item.kind,
                "description": describe_commitment(item),
                "account_id": item.account_id or "",
                "term_years": item.term_years,
                "payment_option": item.payment_option,
                "start": pd.Timestamp(item.start),
                "end": pd.Timestamp(item.end),
                "upfront_usd": float(item.upfront_usd),
                "recurring_usd_per_month": (hourly - amortized) * HOURS_PER_MONTH,
                "effective_usd_per_hour": hourly,
                "term_cost_usd": hourly * term_hours,
                "utilization_pct": float(simulated_utilization.get(item.id, math.nan)),
                "net_savings_vs_on_demand_usd": float(simulated_net.get(item.id, math.nan)),
                "expected_utilization_pct": float(expected.get(item.id, math.nan)),
                "break_even_utilization_pct": float(break_even.get(item.id, math.nan)),
                "covered_accounts": shares_text(shares.get(item.id, {})),
                "explanation": str(reasons.get(item.id, "") or ""),
            }
        )
    return pd.DataFrame(rows, columns=list(PURCHASE_COLUMNS))


def _month_table(result: SimulationResult) -> pd.DataFrame:
    """Per month: on-demand cost, actual cost, uncovered cost, unused commitment [USD];
    coverage and utilization [%]."""
    by_month = result.breakdown("month").set_index("month")
    ledger = result.ledger
    uncovered = (
        ledger.loc[ledger["instrument"] == ON_DEMAND]
        .groupby("month", observed=True)["actual_cost_usd"]
        .sum()
    )
    table = pd.DataFrame(
        {
            "on_demand_cost_usd": by_month["on_demand_cost_usd"],
            "actual_cost_usd": by_month["actual_cost_usd"],
            "uncovered_cost_usd": uncovered.reindex(by_month.index, fill_value=0.0),
            "unused_commitment_usd": by_month["unused_commitment_usd"],
        }
    )
    commitment = table["actual_cost_usd"] - table["uncovered_cost_usd"]
    odeq = table["on_demand_cost_usd"]
    coverage = np.where(odeq > 0, 1.0 - table["uncovered_cost_usd"] / odeq.where(odeq > 0, 1), 0.0)
    table["coverage_pct"] = 100.0 * np.clip(coverage, 0.0, 1.0)
    table["utilization_pct"] = 100.0 * np.where(
        commitment > 1e-9,
        1.0 - table["unused_commitment_usd"] / commitment.where(commitment > 1e-9, 1),
        np.nan,
    )
    return table


def monthly_table(baseline: SimulationResult, with_plan: SimulationResult) -> pd.DataFrame:
    """Both simulations by calendar month; see :attr:`ReportData.monthly`."""
    before = _month_table(baseline)
    after = _month_table(with_plan)
    months = pd.Index(before.index).union(pd.Index(after.index))
    before, after = before.reindex(months), after.reindex(months)
    table = pd.DataFrame(
        {
            "month": after.index.astype(str),
            "on_demand_cost_usd": after["on_demand_cost_usd"].to_numpy(),
            "current_cost_usd": before["actual_cost_usd"].to_numpy(),
            "planned_cost_usd": after["actual_cost_usd"].to_numpy(),
            "current_coverage_pct": before["coverage_pct"].to_numpy(),
            "coverage_pct": after["coverage_pct"].to_numpy(),
            "current_utilization_pct": before["utilization_pct"].to_numpy(),
            "utilization_pct": after["utilization_pct"].to_numpy(),
        }
    )
    table.insert(4, "savings_vs_current_usd", table["current_cost_usd"] - table["planned_cost_usd"])
    return table


def hourly_layers(result: SimulationResult) -> pd.DataFrame:
    """On-demand-equivalent cost covered by each instrument kind and left on-demand, per hour.

    Returns
    -------
    pandas.DataFrame
        ``hour`` and :data:`LAYERS` [USD/h]; the layers add up to the usage's on-demand value.
    """
    od = result.keys["on_demand_usd_per_hour"].to_numpy(dtype=np.float64)
    n_hours = len(result.hours)
    columns: dict[str, Any] = {"hour": result.hours}
    for kind in LAYERS[:-1]:
        rows = result.covered_rows.get(kind, {})
        if rows:
            keys = np.fromiter(rows.keys(), dtype=np.intp, count=len(rows))
            stacked = np.vstack([rows[int(k)] for k in keys])  # covered keys × hours
            columns[kind] = od[keys] @ stacked
        else:
            columns[kind] = np.zeros(n_hours)
    columns["on_demand"] = result.on_demand @ od if len(od) else np.zeros(n_hours)
    return pd.DataFrame(columns)


def break_even_month(
    upfront_usd: float, monthly_cash_savings_usd: float, months: int
) -> int | None:
    """First month (1-based) with cumulative cash savings ≥ 0, the upfront paid in month 1.

    ``None`` when the savings never repay the upfront within ``months``.
    """
    if monthly_cash_savings_usd <= 0:
        return None
    month = max(1, math.ceil(upfront_usd / monthly_cash_savings_usd - 1e-9))
    return month if month <= months else None


def cash_break_even_month(cash_flow: pd.DataFrame) -> int | None:
    """First month (1-based) from which the cumulative cash savings stay ≥ 0.

    ``None`` when they end the term below 0. With all upfront paid in month 1 this is
    :func:`break_even_month` of the upfront and the monthly cash savings.
    """
    cumulative = cash_flow["cumulative_savings_vs_current_usd"].to_numpy(dtype=np.float64)
    below = np.flatnonzero(cumulative < -1e-6)
    if below.size == 0:
        return 1 if cumulative.size else None
    last = int(below[-1])
    return last + 2 if last + 1 < cumulative.size else None


def cash_flow_table(
    purchases: Sequence[Commitment],
    *,
    period_start: pd.Timestamp | None,
    on_demand_monthly_usd: float,
    current_monthly_usd: float,
    plan_monthly_usd: float,
    term_months: int,
) -> pd.DataFrame:
    """Months 1…``term_months`` of cash, the data period's run-rates repeated.

    Each purchase's upfront is paid in the month its term starts (month 1 when it starts with
    the data period or before); see :attr:`ReportData.cash_flow`.
    """
    months = np.arange(1, term_months + 1)
    upfront = np.zeros(term_months)
    for item in purchases:  # a handful of purchases
        index = 0
        if period_start is not None:
            offset_hours = (pd.Timestamp(item.start) - period_start) / pd.Timedelta(hours=1)
            index = int(max(0.0, offset_hours) // HOURS_PER_MONTH)
        if index < term_months:
            upfront[index] += item.upfront_usd
    current = np.full(term_months, current_monthly_usd)
    plan = np.full(term_months, plan_monthly_usd) + upfront
    return pd.DataFrame(
        {
            "month": months,
            "on_demand_cost_usd": np.full(term_months, on_demand_monthly_usd),
            "current_cost_usd": current,
            "planned_cost_usd": plan,
            "upfront_usd": upfront,
            "cumulative_savings_vs_current_usd": np.cumsum(current - plan),
        }
    )


def expiring_table(
    owned: Sequence[Commitment], reference: pd.Timestamp | None, horizon_days: float
) -> pd.DataFrame:
    """Owned commitments whose term ends within ``horizon_days`` after ``reference``."""
    columns = ["id", "kind", "description", "end", "cost_usd_per_month"]
    if reference is None or not owned:
        return pd.DataFrame(columns=columns)
    stop = reference + pd.Timedelta(days=horizon_days)
    rows = [
        {
            "id": item.id,
            "kind": item.kind,
            "description": describe_commitment(item),
            "end": pd.Timestamp(item.end),
            "cost_usd_per_month": item_hourly_cost_usd(item) * HOURS_PER_MONTH,
        }
        for item in owned
        if reference < pd.Timestamp(item.end) <= stop
    ]
    return (
        pd.DataFrame(rows, columns=columns).sort_values("end", kind="stable").reset_index(drop=True)
    )


def _new_instruments(with_plan: SimulationResult, purchases: Sequence[Commitment]) -> pd.DataFrame:
    ids = {item.id for item in purchases}
    table = with_plan.instruments
    return table.loc[table["id"].isin(ids)] if len(table) else table


def report_data_from_simulations(
    *,
    baseline: SimulationResult,
    with_plan: SimulationResult,
    purchases: Sequence[Commitment],
    portfolio: Mapping[str, Any],
    explanations: pd.DataFrame | None = None,
    catalog: PriceCatalog | None = None,
    owned: Sequence[Commitment] | None = None,
    monte_carlo: MonteCarloSavings | Mapping[str, Any] | npt.ArrayLike | None = None,
    frontier: Frontier | Mapping[str, Any] | None = None,
    frontier_usage: Any = None,
    title: str = DEFAULT_TITLE,
    plan_id: str | None = None,
    plan_hash_hex: str | None = None,
    generated_at: datetime | None = None,
    expiry_horizon_days: float = DEFAULT_EXPIRY_HORIZON_DAYS,
    optimizer: Mapping[str, Any] | None = None,
    warnings: Sequence[str] = (),
    discount_rate: float = 0.0,
    purchase_date: datetime | None = None,
) -> ReportData:
    """Assemble a report from the data period billed without and with the purchases.

    Parameters
    ----------
    baseline, with_plan
        The same usage billed with the owned commitments only, and with the purchases too.
    purchases
        The purchases (their ids name their instruments in ``with_plan``).
    portfolio
        The plan's portfolio JSON payload (hashed into the header).
    explanations
        One row per purchase with ``id``, ``explanation``, ``expected_utilization_pct``,
        ``break_even_utilization_pct`` (:func:`optimizer.explain.explain`), or ``None``.
    catalog
        The prices: source and date for the header; needed to compute a frontier.
    owned
        The owned commitments, for what expires and the frontier; ``None`` when unknown.
    monte_carlo
        Per-path savings (:class:`MonteCarloSavings`, a mapping of its fields, or an array).
    frontier
        :class:`Frontier` or a mapping of its fields; when ``None`` and ``frontier_usage`` and
        ``catalog`` are given, the purchases' frontier over the data period is computed
        (:func:`commitopt.report.frontier.data_period_frontier`).
    frontier_usage
        The data period's usage (table or :class:`~usage.table.UsageMatrix`) to compute it on.
    title, plan_id, plan_hash_hex, generated_at
        Header fields: give a stored plan's id and SHA-256; without them the hash is
        :func:`plan_hash` of ``portfolio`` and the id ``draft-`` and its first 8 digits; the
        time defaults to now.
    expiry_horizon_days
        Owned commitments ending this soon after the data period are listed [days].
    optimizer
        The optimizer's figures (status, method, certified gap) to show, if any.
    warnings
        Approximations to show (simulation and model warnings).
    discount_rate
        Yearly discount rate the simulations used [1/year]; it moves only NPVs, so the
        frontier (undiscounted cost) does not use it.
    purchase_date
        When the purchases are bought (a stored plan's creation time) [default:
        ``generated_at``]: the purchase table's ``start`` and ``end`` and the cash flow count
        from it (:func:`dated_purchases`), not from the data period's start.

    Raises
    ------
    commitopt.report.inputs.ReportInputError
        For Monte Carlo or frontier inputs that cannot be used.
    """
    before = baseline.totals
    after = with_plan.totals
    hours = after.period_hours
    months = hours / HOURS_PER_MONTH if hours else 1.0
    new = _new_instruments(with_plan, purchases)
    new_cost = float(new["cost_usd"].sum()) if len(new) else 0.0
    new_used = float(new["used_cost_usd"].sum()) if len(new) else 0.0
    upfront = float(sum(item.upfront_usd for item in purchases))
    hourly_commitment = float(sum(item_hourly_cost_usd(item) for item in purchases))
    total_commitment = float(
        sum(item_hourly_cost_usd(item) * TERM_HOURS[item.term_years] for item in purchases)
    )
    term_months = max((12 * item.term_years for item in purchases), default=12)
    period_savings = before.actual_cost_usd - after.actual_cost_usd
    mc = MonteCarloSavings.coerce(monte_carlo) if monte_carlo is not None else None
    savings_p = mc.percentiles() if mc is not None else (None, None, None)
    esr_p: tuple[float | None, ...] = (None, None, None)
    if mc is not None and mc.savings_vs_on_demand_pct is not None:
        esr_p = mc.percentiles(mc.savings_vs_on_demand_pct)
    current_esr_p50: float | None = None
    if mc is not None and mc.current_savings_vs_on_demand_pct is not None:
        current_esr_p50 = mc.percentiles(mc.current_savings_vs_on_demand_pct)[1]
    period_start = pd.Timestamp(with_plan.hours[0]) if hours else None
    period_end = pd.Timestamp(with_plan.hours[-1]) + pd.Timedelta(hours=1) if hours else None
    generated = (generated_at or datetime.now(UTC)).astimezone(UTC)
    bought = pd.Timestamp(purchase_date or generated)
    bought = as_utc(bought)
    dated = dated_purchases(purchases, period_start=period_start, purchase_date=bought)
    cash_flow = cash_flow_table(
        dated,
        period_start=bought,
        on_demand_monthly_usd=_ratio(after.on_demand_cost_usd, hours, 0.0) * HOURS_PER_MONTH,
        current_monthly_usd=before.run_rate_usd_per_month,
        plan_monthly_usd=after.run_rate_usd_per_month,
        term_months=term_months,
    )
    summary = ReportSummary(
        purchase_count=len(purchases),
        upfront_usd=upfront,
        effective_usd_per_hour=hourly_commitment,
        term_cost_usd=total_commitment,
        term_months=term_months,
        current_run_rate_usd_per_month=before.run_rate_usd_per_month,
        run_rate_usd_per_month=after.run_rate_usd_per_month,
        current_cost_usd=before.actual_cost_usd,
        planned_cost_usd=after.actual_cost_usd,
        on_demand_cost_usd=after.on_demand_cost_usd,
        savings_vs_current_usd=period_savings,
        savings_vs_current_usd_per_month=period_savings / months,
        savings_vs_current_pct=100.0 * _ratio(period_savings, before.actual_cost_usd, 0.0),
        savings_vs_on_demand_usd=after.savings_vs_on_demand_usd,
        current_savings_vs_on_demand_pct=before.savings_vs_on_demand_pct,
        savings_vs_on_demand_pct=after.savings_vs_on_demand_pct,
        current_coverage_pct=before.coverage_pct,
        coverage_pct=after.coverage_pct,
        utilization_pct=after.utilization_pct,
        purchases_utilization_pct=100.0 * _ratio(new_used, new_cost, math.nan),
        break_even_month=cash_break_even_month(cash_flow) if purchases else None,
        p5_savings_vs_current_usd=savings_p[0],
        p50_savings_vs_current_usd=savings_p[1],
        p95_savings_vs_current_usd=savings_p[2],
        p5_savings_vs_on_demand_pct=esr_p[0],
        p95_savings_vs_on_demand_pct=esr_p[2],
        p50_savings_vs_on_demand_pct=esr_p[1],
        p50_current_savings_vs_on_demand_pct=current_esr_p50,
    )
    digest = plan_hash_hex or plan_hash(portfolio)
    header = ReportHeader(
        title=title,
        plan_id=plan_id or f"draft-{digest[:8]}",
        sha256=digest,
        period_start=period_start,
        period_end=period_end,
        period_hours=hours,
        catalog_source=catalog.metadata.source if catalog is not None else "unknown",
        catalog_as_of=catalog.metadata.as_of if catalog is not None else None,
        generated_at=generated,
        sha256_of="plan" if plan_hash_hex else "portfolio",
    )
    notes = [
        "Every money figure bills the data period's usage with AWS's rules (RIs first, then EC2 "
        "Instance Savings Plans, then Compute Savings Plans, the rest on-demand), once with the "
        "owned commitments only and once with the purchases added.",
        "Run-rates are recurring fees plus on-demand cost per 730 hours (upfront excluded); "
        "savings and costs amortize upfront payments over the term.",
        f"The cash flow and the break-even month repeat the data period's monthly run-rates over "
        f"the longest term ({term_months} months), from the purchase date "
        f"({bought:%Y-%m-%d}), with upfront paid when each term starts; without upfront there is "
        "nothing to repay, so no break-even month is shown.",
    ]
    stale = staleness_warnings(
        period_end=period_end,
        catalog_source=header.catalog_source,
        catalog_as_of=header.catalog_as_of,
        generated_at=generated,
    )
    frontier_value: Frontier | None = Frontier.coerce(frontier) if frontier is not None else None
    if frontier_value is not None:
        frontier_note = f"Frontier: {frontier_value.source}."
    elif not purchases:
        frontier_note = "No frontier: the plan buys nothing."
    elif catalog is None or frontier_usage is None:
        frontier_note = "No frontier was given, and no usage and catalog to compute one."
    elif owned is None and len(baseline.instruments):
        frontier_note = (
            "No frontier: the plan is billed on top of owned commitments that were not given "
            "to the report, so other commitment levels cannot be billed."
        )
    else:
        frontier_value = data_period_frontier(frontier_usage, purchases, catalog, owned=owned or ())
        frontier_note = f"Frontier: {frontier_value.source}."
    return ReportData(
        header=header,
        summary=summary,
        purchases=purchase_table(
            dated, with_plan, explanations, covered_shares(with_plan, purchases)
        ),
        monthly=monthly_table(baseline, with_plan),
        hourly=hourly_layers(with_plan),
        cash_flow=cash_flow,
        frontier=frontier_value,
        monte_carlo=mc,
        expiring=expiring_table(owned or (), period_end, expiry_horizon_days),
        owned_known=owned is not None,
        expiry_horizon_days=expiry_horizon_days,
        optimizer=dict(optimizer or {}),
        notes=tuple(notes),
        warnings=tuple(dict.fromkeys((*stale, *warnings))),
        frontier_note=frontier_note,
        by_account=account_table(baseline, with_plan),
        monte_carlo_note=monte_carlo_note(
            mc,
            point_pct=after.savings_vs_on_demand_pct,
            current_point_pct=before.savings_vs_on_demand_pct,
            savings_vs_current_usd_per_month=period_savings / months,
            period_start=period_start,
            period_end=period_end,
            owned=owned or (),
            owned_known=owned is not None,
        ),
        purchase_date=bought,
    )


def build_report_data(
    run: RecommendationRun,
    *,
    monte_carlo: MonteCarloSavings | Mapping[str, Any] | npt.ArrayLike | None = None,
    frontier: Frontier | Mapping[str, Any] | None = None,
    title: str = DEFAULT_TITLE,
    catalog: PriceCatalog | None = None,
    owned: Sequence[Commitment] | None = None,
    plan_id: str | None = None,
    plan_hash_hex: str | None = None,
    generated_at: datetime | None = None,
    expiry_horizon_days: float = DEFAULT_EXPIRY_HORIZON_DAYS,
    compute_frontier: bool = True,
    purchase_date: datetime | None = None,
) -> ReportData:
    """The report of a recommendation.

    Parameters
    ----------
    run
        What :func:`planning.recommend.recommend` returned (its simulations, purchases and
        explanations).
    monte_carlo
        Per-path savings of the plan over sampled usage (see :class:`MonteCarloSavings`).
    frontier
        Savings versus commitment level (see :class:`Frontier`); computed by scaling the
        purchases when ``None``, ``catalog`` is given and ``compute_frontier`` is true.
    title
        The report's title.
    catalog
        The catalog the run priced with (header; frontier).
    owned
        The owned commitments the run was given (``()`` when none; ``None`` when unknown).
    plan_id, plan_hash_hex, generated_at, expiry_horizon_days
        See :func:`report_data_from_simulations`.
    compute_frontier
        Compute a frontier when none is given (about one simulation per level).
    purchase_date
        When the purchases are bought: a stored plan's creation time [default: ``generated_at``,
        i.e. now]. See :func:`report_data_from_simulations`.
    """
    if owned is None and not len(run.baseline.instruments):
        owned = ()
    optimizer = run.summary.get("optimizer", {}) if isinstance(run.summary, Mapping) else {}
    return report_data_from_simulations(
        baseline=run.baseline,
        with_plan=run.with_plan,
        purchases=run.purchases,
        portfolio=run.portfolio,
        explanations=run.explanations,
        catalog=catalog,
        owned=owned,
        monte_carlo=monte_carlo,
        frontier=frontier,
        frontier_usage=run.usage if compute_frontier else None,
        title=title,
        plan_id=plan_id,
        plan_hash_hex=plan_hash_hex,
        generated_at=generated_at,
        expiry_horizon_days=expiry_horizon_days,
        optimizer=optimizer,
        warnings=(*run.problem.warnings, *run.with_plan.warnings),
        discount_rate=run.policy.discount_rate,
        purchase_date=purchase_date,
    )


__all__ = [
    "DEFAULT_EXPIRY_HORIZON_DAYS",
    "DEFAULT_TITLE",
    "KIND_LABELS",
    "LAYERS",
    "PURCHASE_COLUMNS",
    "Frontier",
    "MonteCarloSavings",
    "ReportData",
    "ReportHeader",
    "ReportInputError",
    "ReportSummary",
    "break_even_month",
    "build_report_data",
    "canonical_json",
    "cash_break_even_month",
    "cash_flow_table",
    "dated_purchases",
    "describe_commitment",
    "expiring_table",
    "hourly_layers",
    "item_hourly_cost_usd",
    "monthly_table",
    "plan_hash",
    "purchase_table",
    "report_data_from_simulations",
]
