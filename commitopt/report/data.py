"""What a finance report shows, assembled from two billed simulations and optional extras.

:class:`ReportData` holds every figure and table of the report, already computed; the renderers
(:mod:`commitopt.report.html`, :mod:`commitopt.report.markdown`, :mod:`commitopt.report.formats`)
only format it. Every money figure comes from the billing simulator: the data period billed with
the owned commitments only (``baseline``) and with the purchases added (``with_plan``).

Where the plan comes from is not this module's business: :func:`build_report_data` takes a
:class:`planning.recommend.RecommendationRun`; :func:`report_data_from_simulations` takes the two
simulations and the purchases, whatever produced them (a portfolio JSON file re-billed, a plan
stored in the workspace).

The tables are made in :mod:`commitopt.report.tables` (purchases, months, hours, expiries) and
:mod:`commitopt.report.cash_flow` (the cash flow and its break-even month); here they are put
together with the summary, the header, the notes and the frontier.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final

import numpy.typing as npt
import pandas as pd

from billing.simulator import SimulationResult
from commitopt.report.accounts import account_table, covered_shares, service_table
from commitopt.report.basis import monte_carlo_note
from commitopt.report.cash_flow import cash_break_even_month, cash_flow_table
from commitopt.report.checks import staleness_warnings
from commitopt.report.commitments import item_hourly_cost_usd
from commitopt.report.frontier import data_period_frontier, risk_option_text
from commitopt.report.inputs import Frontier, MonteCarloSavings, ReportInputError
from commitopt.report.tables import (
    RENEWAL_COLUMNS,
    dated_purchases,
    expiring_table,
    hourly_layers,
    monthly_table,
    purchase_table,
    renewal_table,
)
from core.errors import render_parameters
from core.times import as_utc
from core.units import HOURS_PER_MONTH
from planning.future_changes import known_changes_sentence
from planning.stress import worst_stress_sentence
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment
from pricing.offerings import TERM_HOURS, CommitmentKind

if TYPE_CHECKING:
    from planning.recommend import RecommendationRun

DEFAULT_TITLE: Final = "Commitment purchase plan"
"""Report title when none is given."""

DEFAULT_EXPIRY_HORIZON_DAYS: Final = 365.0
"""Owned commitments ending this soon after the data period are listed as expiring [days]."""

KIND_LABELS: Final = {
    CommitmentKind.RESERVED_INSTANCE: "Reserved Instance",
    CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN: "EC2 Instance Savings Plan",
    CommitmentKind.COMPUTE_SAVINGS_PLAN: "Compute Savings Plan",
    CommitmentKind.DATABASE_SAVINGS_PLAN: "Database Savings Plan",
    CommitmentKind.SAGEMAKER_SAVINGS_PLAN: "SageMaker Savings Plan",
    "on_demand": "On-demand",
}
"""How each instrument kind is named in the report."""


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
        One row per purchase, :data:`commitopt.report.tables.PURCHASE_COLUMNS`.
    monthly
        One row per calendar month of the data period: ``month``, ``on_demand_cost_usd``,
        ``current_cost_usd``, ``planned_cost_usd``, ``savings_vs_current_usd``,
        ``current_coverage_pct``, ``coverage_pct``, ``current_utilization_pct``,
        ``utilization_pct`` (``nan`` when no commitment is active).
    hourly
        One row per hour (``hour``): on-demand-equivalent cost covered by each instrument kind
        and left on-demand, :data:`commitopt.report.tables.LAYERS` [USD/h].
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
    by_service
        One row per service (EC2, RDS, ElastiCache),
        :data:`commitopt.report.accounts.SERVICE_COLUMNS`
        (:func:`commitopt.report.accounts.service_table`).
    monte_carlo_note
        How the Monte Carlo range relates to the data period's figures: both bases, the owned
        commitments expiring inside its horizon, the purchases' savings on both bases (empty
        without Monte Carlo).
    purchase_date
        When the purchases are bought; their ``start`` and ``end`` count from it.
    renewals
        The plan's purchases queued to replace expiring commitments at their end,
        :data:`commitopt.report.tables.RENEWAL_COLUMNS` (empty when none).
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
    by_service: pd.DataFrame = field(default_factory=pd.DataFrame)
    renewals: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(RENEWAL_COLUMNS))
    )


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


@dataclass(frozen=True)
class _DataPeriod:
    """The billed data period: its first hour and the hour after its last (UTC, ``None`` without
    usage), its length [h] and that length in months of 730 h (1 when empty) [months]."""

    start: pd.Timestamp | None
    end: pd.Timestamp | None
    hours: int
    months: float


def _data_period(with_plan: SimulationResult) -> _DataPeriod:
    """The data period ``with_plan`` billed."""
    hours = with_plan.totals.period_hours
    if not hours:
        return _DataPeriod(start=None, end=None, hours=hours, months=1.0)
    return _DataPeriod(
        start=pd.Timestamp(with_plan.hours[0]),
        end=pd.Timestamp(with_plan.hours[-1]) + pd.Timedelta(hours=1),
        hours=hours,
        months=hours / HOURS_PER_MONTH,
    )


def _longest_term_months(purchases: Sequence[Commitment]) -> int:
    """The longest purchase term [months]; 12 without purchases."""
    return max((12 * item.term_years for item in purchases), default=12)


def _repeated_cash_flow(
    dated: Sequence[Commitment],
    baseline: SimulationResult,
    with_plan: SimulationResult,
    purchase_date: pd.Timestamp,
    term_months: int,
) -> pd.DataFrame:
    """:attr:`ReportData.cash_flow`: the data period's monthly run-rates repeated over the
    longest term from the purchase date, each upfront paid when its term starts."""
    after = with_plan.totals
    return cash_flow_table(
        dated,
        period_start=purchase_date,
        on_demand_monthly_usd=_ratio(after.on_demand_cost_usd, after.period_hours, 0.0)
        * HOURS_PER_MONTH,
        current_monthly_usd=baseline.totals.run_rate_usd_per_month,
        plan_monthly_usd=after.run_rate_usd_per_month,
        term_months=term_months,
    )


def _purchases_utilization_pct(
    with_plan: SimulationResult, purchases: Sequence[Commitment]
) -> float:
    """Used ÷ paid commitment of the purchases' instruments in ``with_plan`` [%] (``nan`` when
    they cost nothing)."""
    ids = {item.id for item in purchases}
    table = with_plan.instruments
    new = table.loc[table["id"].isin(ids)] if len(table) else table
    new_cost = float(new["cost_usd"].sum()) if len(new) else 0.0
    new_used = float(new["used_cost_usd"].sum()) if len(new) else 0.0
    return 100.0 * _ratio(new_used, new_cost, math.nan)


def _monte_carlo_percentiles(
    mc: MonteCarloSavings | None,
) -> tuple[tuple[float | None, ...], tuple[float | None, ...], float | None]:
    """P5, P50, P95 of the Monte Carlo savings [USD] and of the effective savings rate with the
    plan [%], and the median rate of the owned commitments alone [%] (``None`` where not given)."""
    savings_p = mc.percentiles() if mc is not None else (None, None, None)
    esr_p: tuple[float | None, ...] = (None, None, None)
    if mc is not None and mc.savings_vs_on_demand_pct is not None:
        esr_p = mc.percentiles(mc.savings_vs_on_demand_pct)
    current_esr_p50: float | None = None
    if mc is not None and mc.current_savings_vs_on_demand_pct is not None:
        current_esr_p50 = mc.percentiles(mc.current_savings_vs_on_demand_pct)[1]
    return savings_p, esr_p, current_esr_p50


def _summary(
    baseline: SimulationResult,
    with_plan: SimulationResult,
    purchases: Sequence[Commitment],
    period: _DataPeriod,
    cash_flow: pd.DataFrame,
    term_months: int,
    mc: MonteCarloSavings | None,
) -> ReportSummary:
    """:class:`ReportSummary`: the purchases' cost, both simulations' totals, the break-even
    month of ``cash_flow`` and the Monte Carlo percentiles."""
    before = baseline.totals
    after = with_plan.totals
    period_savings = before.actual_cost_usd - after.actual_cost_usd
    savings_p, esr_p, current_esr_p50 = _monte_carlo_percentiles(mc)
    return ReportSummary(
        purchase_count=len(purchases),
        upfront_usd=float(sum(item.upfront_usd for item in purchases)),
        effective_usd_per_hour=float(sum(item_hourly_cost_usd(item) for item in purchases)),
        term_cost_usd=float(
            sum(item_hourly_cost_usd(item) * TERM_HOURS[item.term_years] for item in purchases)
        ),
        term_months=term_months,
        current_run_rate_usd_per_month=before.run_rate_usd_per_month,
        run_rate_usd_per_month=after.run_rate_usd_per_month,
        current_cost_usd=before.actual_cost_usd,
        planned_cost_usd=after.actual_cost_usd,
        on_demand_cost_usd=after.on_demand_cost_usd,
        savings_vs_current_usd=period_savings,
        savings_vs_current_usd_per_month=period_savings / period.months,
        savings_vs_current_pct=100.0 * _ratio(period_savings, before.actual_cost_usd, 0.0),
        savings_vs_on_demand_usd=after.savings_vs_on_demand_usd,
        current_savings_vs_on_demand_pct=before.savings_vs_on_demand_pct,
        savings_vs_on_demand_pct=after.savings_vs_on_demand_pct,
        current_coverage_pct=before.coverage_pct,
        coverage_pct=after.coverage_pct,
        utilization_pct=after.utilization_pct,
        purchases_utilization_pct=_purchases_utilization_pct(with_plan, purchases),
        break_even_month=cash_break_even_month(cash_flow) if purchases else None,
        p5_savings_vs_current_usd=savings_p[0],
        p50_savings_vs_current_usd=savings_p[1],
        p95_savings_vs_current_usd=savings_p[2],
        p5_savings_vs_on_demand_pct=esr_p[0],
        p95_savings_vs_on_demand_pct=esr_p[2],
        p50_savings_vs_on_demand_pct=esr_p[1],
        p50_current_savings_vs_on_demand_pct=current_esr_p50,
    )


def _header(
    title: str,
    plan_id: str | None,
    plan_hash_hex: str | None,
    portfolio: Mapping[str, Any],
    period: _DataPeriod,
    catalog: PriceCatalog | None,
    generated: datetime,
) -> ReportHeader:
    """:class:`ReportHeader`: a stored plan's id and hash, or a draft named by the portfolio's
    :func:`plan_hash`."""
    digest = plan_hash_hex or plan_hash(portfolio)
    return ReportHeader(
        title=title,
        plan_id=plan_id or f"draft-{digest[:8]}",
        sha256=digest,
        period_start=period.start,
        period_end=period.end,
        period_hours=period.hours,
        catalog_source=catalog.metadata.source if catalog is not None else "unknown",
        catalog_as_of=catalog.metadata.as_of if catalog is not None else None,
        generated_at=generated,
        sha256_of="plan" if plan_hash_hex else "portfolio",
    )


def _decision_notes(decided_on: Mapping[str, Any] | None) -> tuple[str, ...]:
    """How the purchases were decided, where the report should say it: the decision's own notes
    (``summary.decided_on.notes``: decided on the lookback, an increment too small to buy),
    parameters named as written, and the changes known in advance they were decided with
    (``summary.decided_on.known_changes``)."""
    decided = decided_on or {}
    notes = tuple(
        render_parameters(str(note), lambda name: name) for note in decided.get("notes") or ()
    )
    known = decided.get("known_changes")
    return (*notes, known_changes_sentence(known)) if isinstance(known, Mapping) else notes


def _notes(term_months: int, purchase_date: pd.Timestamp) -> tuple[str, ...]:
    """How the figures were made: the billing, the run-rates and the cash flow's basis."""
    return (
        "Every money figure bills the data period's usage with AWS's rules (RIs first, then EC2 "
        "Instance Savings Plans, then Compute Savings Plans, the rest on-demand), once with the "
        "owned commitments only and once with the purchases added.",
        "Run-rates are recurring fees plus on-demand cost per 730 hours (upfront excluded); "
        "savings and costs amortize upfront payments over the term.",
        f"The cash flow and the break-even month repeat the data period's monthly run-rates over "
        f"the longest term ({term_months} months), from the purchase date "
        f"({purchase_date:%Y-%m-%d}), with upfront paid when each term starts; without upfront "
        "there is nothing to repay, so no break-even month is shown.",
    )


def _frontier_and_note(
    frontier: Frontier | Mapping[str, Any] | None,
    purchases: Sequence[Commitment],
    catalog: PriceCatalog | None,
    frontier_usage: Any,
    owned: Sequence[Commitment] | None,
    baseline: SimulationResult,
) -> tuple[Frontier | None, str]:
    """The frontier given, or the purchases' frontier over the data period when it can be
    billed; and the note saying which, or why there is none."""
    if frontier is not None:
        given = Frontier.coerce(frontier)
        return given, f"Frontier: {given.source}."
    if not purchases:
        return None, "No frontier: the plan buys nothing."
    if catalog is None or frontier_usage is None:
        return None, "No frontier was given, and no usage and catalog to compute one."
    if owned is None and len(baseline.instruments):
        return None, (
            "No frontier: the plan is billed on top of owned commitments that were not given "
            "to the report, so other commitment levels cannot be billed."
        )
    computed = data_period_frontier(frontier_usage, purchases, catalog, owned=owned or ())
    return computed, f"Frontier: {computed.source}."


def _warnings(header: ReportHeader, warnings: Sequence[str]) -> tuple[str, ...]:
    """How stale the usage and the prices are (against the header's times), then ``warnings``,
    each once."""
    stale = staleness_warnings(
        period_end=header.period_end,
        catalog_source=header.catalog_source,
        catalog_as_of=header.catalog_as_of,
        generated_at=header.generated_at,
    )
    return tuple(dict.fromkeys((*stale, *warnings)))


def _monte_carlo_note(
    mc: MonteCarloSavings | None,
    summary: ReportSummary,
    period: _DataPeriod,
    owned: Sequence[Commitment] | None,
) -> str:
    """:attr:`ReportData.monte_carlo_note`: the Monte Carlo range against the data period's
    figures (empty without Monte Carlo)."""
    return monte_carlo_note(
        mc,
        point_pct=summary.savings_vs_on_demand_pct,
        current_point_pct=summary.current_savings_vs_on_demand_pct,
        savings_vs_current_usd_per_month=summary.savings_vs_current_usd_per_month,
        period_start=period.start,
        period_end=period.end,
        owned=owned or (),
        owned_known=owned is not None,
    )


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
    risk_option: str = "",
    decided_on: Mapping[str, Any] | None = None,
    renewals: Sequence[tuple[Commitment, Sequence[str]]] = (),
    stress_note: str | None = None,
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
        from it (:func:`commitopt.report.tables.dated_purchases`), not from the data period's start.
    risk_option
        The risk option that chose the plan, in words
        (:func:`commitopt.report.frontier.risk_option_text`), for the frontier's sentence on
        where the plan sits; ``""`` when the plan maximizes expected savings.
    renewals
        The plan's purchases queued to replace expiring commitments, each with the ids of
        those it replaces (:func:`commitopt.report.tables.renewal_table`); they start at their
        own (real) start and are not in the data period's bills.
    stress_note
        What the purchases would save if the family they hold the most family-specific cover
        for moved as they start (:func:`planning.stress.worst_stress_sentence`), or ``None``.

    Raises
    ------
    commitopt.report.inputs.ReportInputError
        For Monte Carlo or frontier inputs that cannot be used.
    """
    mc = MonteCarloSavings.coerce(monte_carlo) if monte_carlo is not None else None
    period = _data_period(with_plan)
    generated = (generated_at or datetime.now(UTC)).astimezone(UTC)
    bought = as_utc(pd.Timestamp(purchase_date or generated))
    dated = dated_purchases(purchases, period_start=period.start, purchase_date=bought)
    term_months = _longest_term_months(purchases)
    cash_flow = _repeated_cash_flow(dated, baseline, with_plan, bought, term_months)
    summary = _summary(baseline, with_plan, purchases, period, cash_flow, term_months, mc)
    header = _header(title, plan_id, plan_hash_hex, portfolio, period, catalog, generated)
    frontier_value, frontier_note = _frontier_and_note(
        frontier, purchases, catalog, frontier_usage, owned, baseline
    )
    if frontier_value is not None and risk_option and not frontier_value.risk_option:
        frontier_value = replace(frontier_value, risk_option=risk_option)
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
        expiring=expiring_table(owned or (), period.end, expiry_horizon_days),
        owned_known=owned is not None,
        expiry_horizon_days=expiry_horizon_days,
        optimizer=dict(optimizer or {}),
        notes=(
            *_notes(term_months, bought),
            *_decision_notes(decided_on),
            *((stress_note,) if stress_note else ()),
        ),
        warnings=_warnings(header, warnings),
        frontier_note=frontier_note,
        by_account=account_table(baseline, with_plan),
        by_service=service_table(baseline, with_plan),
        monte_carlo_note=_monte_carlo_note(mc, summary, period, owned),
        purchase_date=bought,
        renewals=renewal_table(renewals),
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
    renewals: Sequence[tuple[Commitment, Sequence[str]]] = (),
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
    renewals
        Purchases queued to replace expiring commitments, with the ids they replace (a review's
        renewals). See :func:`report_data_from_simulations`.
    """
    if owned is None and not len(run.baseline.instruments):
        owned = ()
    summary = run.summary if isinstance(run.summary, Mapping) else {}
    optimizer = summary.get("optimizer", {})
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
        warnings=run.warnings,
        discount_rate=run.policy.discount_rate,
        purchase_date=purchase_date,
        risk_option=risk_option_text(run.policy),
        decided_on=summary.get("decided_on"),
        renewals=renewals,
        stress_note=worst_stress_sentence(summary),
    )


__all__ = [
    "DEFAULT_EXPIRY_HORIZON_DAYS",
    "DEFAULT_TITLE",
    "KIND_LABELS",
    "Frontier",
    "MonteCarloSavings",
    "ReportData",
    "ReportHeader",
    "ReportInputError",
    "ReportSummary",
    "build_report_data",
    "canonical_json",
    "plan_hash",
    "report_data_from_simulations",
]
