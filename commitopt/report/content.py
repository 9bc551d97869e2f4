"""The report's rows as formatted text, shared by the HTML and Markdown renderers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from commitopt.report.accounts import SHARED_ACCOUNT_LABEL, account_label
from commitopt.report.data import KIND_LABELS, ReportData, ReportSummary
from commitopt.report.formatting import (
    MISSING,
    day,
    month_count,
    number,
    pct,
    timestamp,
    usd,
    usd_rate,
)
from commitopt.report.frontier import plan_position, plan_position_text


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary: a field name (stable, for machines), its label, value and note.

    ``value`` is the raw figure (USD, percent, months) or ``None``; ``text`` is how it is shown.
    ``field`` is the name ``docs/glossary.md`` gives the figure.
    """

    field: str
    label: str
    text: str
    value: float | None
    note: str = ""


def _range(low: float | None, high: float | None, formatter: Callable[[float | None], str]) -> str:
    if low is None or high is None:
        return "no scenarios were run"
    return f"{formatter(low)} to {formatter(high)}"


PAYER_ACCOUNT_LABEL = "payer (shared)"
"""How a purchase that names no buying account is shown: bought in the payer account, shared."""


def break_even_text(data: ReportData) -> tuple[str, str]:
    """The break-even figure and its note: ``immediate`` when nothing is paid upfront."""
    s = data.summary
    if not s.purchase_count:
        return MISSING, "nothing is bought"
    if s.upfront_usd <= 0:
        if s.break_even_month is None:
            return "not within the term", "no upfront, but the plan costs more than today"
        return "immediate", "no upfront: nothing to repay, savings start in the first month"
    return month_count(s.break_even_month), "first month whose cumulative cash savings repay " + (
        f"the upfront of {usd(s.upfront_usd)}"
    )


def _savings_range_note(data: ReportData) -> str:
    s, mc = data.summary, data.monte_carlo
    if s.p50_savings_vs_current_usd is None or mc is None:
        return ""
    hours = mc.length_hours()
    per_month = ""
    if hours:
        per_month = f" ({usd_rate(s.p50_savings_vs_current_usd * 730.0 / hours, 'month')})"
    return (
        f"median {usd(s.p50_savings_vs_current_usd)}{per_month}; data period: "
        f"{usd_rate(s.savings_vs_current_usd_per_month, 'month')}"
    )


def _esr_range_note(data: ReportData) -> str:
    s = data.summary
    if s.p50_savings_vs_on_demand_pct is None:
        return ""
    note = f"median {pct(s.p50_savings_vs_on_demand_pct)}"
    if s.p50_current_savings_vs_on_demand_pct is not None:
        note += f" (owned commitments alone: median {pct(s.p50_current_savings_vs_on_demand_pct)})"
    return note + (
        "; forecast usage, each commitment ending on its date: not the basis of the data "
        "period's rate (see below the summary)"
    )


def summary_rows(data: ReportData) -> list[SummaryRow]:
    """The summary table, in reading order: cash and run-rates, savings, effective savings
    rates, the commitment bought, and what expires."""
    days = data.header.period_hours / 24.0
    horizon = f" over {data.monte_carlo.horizon}" if data.monte_carlo is not None else ""
    return [
        *_cash_rows(data.summary),
        *_savings_rows(data, days, horizon),
        *_savings_rate_rows(data, days, horizon),
        *_commitment_rows(data),
        _expiring_row(data),
        *_renewal_rows(data),
    ]


def _renewal_rows(data: ReportData) -> list[SummaryRow]:
    """What the queued renewals commit to over their terms, and when they start (no row when
    nothing is queued)."""
    if data.renewals.empty:
        return []
    starts = data.renewals["start"]
    first, last = day(starts.min()), day(starts.max())
    when = f"from {first}" if first == last else f"from {first} to {last}"
    upfront = float(data.renewals["upfront_usd"].sum())
    total = float(data.renewals["term_cost_usd"].sum())
    return [
        SummaryRow(
            "queued_renewal_term_cost_usd",
            "Queued renewals, total commitment over their terms",
            usd(total),
            total,
            f"{len(data.renewals)} purchase(s) queued {when}, "
            f"{usd_rate(float(data.renewals['effective_usd_per_hour'].sum()), 'h', 3)}, "
            f"{usd(upfront)} upfront when they start; not in the figures above, which bill the "
            "data period",
        )
    ]


def _cash_rows(s: ReportSummary) -> list[SummaryRow]:
    """Upfront cash and the monthly run-rates, current and with the plan."""
    return [
        SummaryRow(
            "upfront_usd",
            "Upfront cash",
            usd(s.upfront_usd),
            s.upfront_usd,
            f"{s.purchase_count} purchases",
        ),
        SummaryRow(
            "current_run_rate_usd_per_month",
            "Monthly run-rate, current",
            usd_rate(s.current_run_rate_usd_per_month, "month"),
            s.current_run_rate_usd_per_month,
            "recurring fees + on-demand, owned commitments only",
        ),
        SummaryRow(
            "run_rate_usd_per_month",
            "Monthly run-rate, with the plan",
            usd_rate(s.run_rate_usd_per_month, "month"),
            s.run_rate_usd_per_month,
            "recurring fees + on-demand, upfront excluded",
        ),
    ]


def _savings_rows(data: ReportData, days: float, horizon: str) -> list[SummaryRow]:
    """Savings versus the current commitments: per month, over the data period (``days``
    long), and the Monte Carlo P5 to P95 range (over ``horizon``)."""
    s = data.summary
    return [
        SummaryRow(
            "savings_vs_current_usd_per_month",
            "Savings vs current commitments, per month",
            usd_rate(s.savings_vs_current_usd_per_month, "month"),
            s.savings_vs_current_usd_per_month,
            f"{pct(s.savings_vs_current_pct)} of the current cost, upfront amortized",
        ),
        SummaryRow(
            "savings_vs_current_usd",
            f"Savings vs current commitments over the data period ({days:,.0f} days)",
            usd(s.savings_vs_current_usd),
            s.savings_vs_current_usd,
            f"cost {usd(s.current_cost_usd)} → {usd(s.planned_cost_usd)}",
        ),
        SummaryRow(
            "p50_savings_vs_current_usd",
            f"Savings vs current commitments{horizon}, P5 to P95",
            _range(s.p5_savings_vs_current_usd, s.p95_savings_vs_current_usd, usd),
            s.p50_savings_vs_current_usd,
            _savings_range_note(data),
        ),
    ]


def _savings_rate_rows(data: ReportData, days: float, horizon: str) -> list[SummaryRow]:
    """The effective savings rate against on-demand over the data period (``days`` long), and
    its Monte Carlo P5 to P95 range (over ``horizon``)."""
    s = data.summary
    return [
        SummaryRow(
            "savings_vs_on_demand_pct",
            f"Effective savings rate (vs on-demand), with the plan, data period ({days:,.0f} days)",
            pct(s.savings_vs_on_demand_pct),
            s.savings_vs_on_demand_pct,
            f"current: {pct(s.current_savings_vs_on_demand_pct)}; the data period's usage versus "
            "all on-demand",
        ),
        SummaryRow(
            "p5_to_p95_savings_vs_on_demand_pct",
            f"Effective savings rate, with the plan{horizon}, P5 to P95",
            _range(s.p5_savings_vs_on_demand_pct, s.p95_savings_vs_on_demand_pct, pct),
            s.p50_savings_vs_on_demand_pct,
            _esr_range_note(data),
        ),
    ]


def _commitment_rows(data: ReportData) -> list[SummaryRow]:
    """The commitment bought: break-even, coverage, utilization, cost per hour and over the
    terms."""
    s = data.summary
    break_even, break_even_note = break_even_text(data)
    return [
        SummaryRow(
            "break_even_month",
            "Break-even",
            break_even,
            None if s.break_even_month is None or s.upfront_usd <= 0 else float(s.break_even_month),
            break_even_note,
        ),
        SummaryRow(
            "coverage_pct",
            "Coverage, with the plan",
            pct(s.coverage_pct),
            s.coverage_pct,
            f"current: {pct(s.current_coverage_pct)}",
        ),
        SummaryRow(
            "utilization_pct",
            "Utilization of all commitments",
            pct(s.utilization_pct),
            s.utilization_pct,
            f"new purchases alone: {pct(s.purchases_utilization_pct)}",
        ),
        SummaryRow(
            "effective_usd_per_hour",
            "New commitment per hour",
            usd_rate(s.effective_usd_per_hour, "h", 3),
            s.effective_usd_per_hour,
            "upfront amortized over the term",
        ),
        SummaryRow(
            "term_cost_usd",
            "Total commitment over the terms",
            usd(s.term_cost_usd),
            s.term_cost_usd,
            f"longest term {s.term_months} months; owed whether used or not",
        ),
    ]


def _expiring_row(data: ReportData) -> SummaryRow:
    """How many owned commitments expire within the horizon, and their monthly cost."""
    if not data.owned_known:
        text, note = "unknown", "owned commitments were not given to the report"
    elif data.expiring.empty:
        text, note = "none", ""
    else:
        text = f"{len(data.expiring)} commitment{'s' if len(data.expiring) > 1 else ''}"
        note = (
            f"{usd_rate(float(data.expiring['cost_usd_per_month'].sum()), 'month')} of commitment "
            f"ends by {day(data.expiring['end'].max())}; see the table below"
        )
        if not data.renewals.empty:
            note += f"; the plan queues {len(data.renewals)} purchase(s) to replace it at its end"
    return SummaryRow(
        "expiring_commitment_count",
        f"Owned commitments expiring within {data.expiry_horizon_days:,.0f} days",
        text,
        None if not data.owned_known else float(len(data.expiring)),
        note,
    )


def header_rows(data: ReportData) -> list[tuple[str, str]]:
    """Label and text of each header line."""
    h = data.header
    period = MISSING
    if h.period_start is not None and h.period_end is not None:
        period = (
            f"{timestamp(h.period_start)} to {timestamp(h.period_end)} "
            f"({number(h.period_hours)} hours)"
        )
    catalog = h.catalog_source
    if h.catalog_as_of is not None:
        catalog = f"{catalog}, prices as of {h.catalog_as_of.isoformat()}"
    if h.sha256_of == "plan":
        digest = ("Plan SHA-256", f"{h.sha256} (the SHA-256 that approvals bind to)")
    else:
        digest = ("Portfolio SHA-256", f"{h.sha256} (a draft: not stored as a plan yet)")
    rows = [("Plan", h.plan_id), digest, ("Data period", period), ("Price catalog", catalog)]
    if data.purchase_date is not None and len(data.purchases):
        rows.append(("Purchases start", f"{day(data.purchase_date)} (the purchase date)"))
    rows.append(("Generated", timestamp(h.generated_at)))
    return rows


PURCHASE_HEADINGS = (
    "Id", "What", "Instrument", "Buying account", "Term", "Starts", "Ends", "Upfront",
    "Monthly fee", "Term cost", "Utilization", "Saving, data period", "Why",
)  # fmt: skip
PURCHASE_NUMERIC = (7, 8, 9, 10, 11)
"""Columns of :data:`PURCHASE_HEADINGS` aligned right."""


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _usage_accounts(data: ReportData) -> list[str]:
    """The accounts with usage in the data period."""
    table = data.by_account
    if table.empty or "on_demand_cost_usd" not in table:
        return []
    return table.loc[table["on_demand_cost_usd"] > 0, "account_id"].astype(str).tolist()


def purchase_rows(data: ReportData) -> list[tuple[str, ...]]:
    """One tuple of texts per purchase, in :data:`PURCHASE_HEADINGS` order."""
    rows: list[tuple[str, ...]] = []
    several = len(_usage_accounts(data)) > 1
    for row in _records(data.purchases):
        why = str(row["explanation"]) or "no explanation recorded"
        account = str(row["account_id"] or "")
        if several and row["covered_accounts"]:
            why += f" Covered by account, data period: {row['covered_accounts']}."
        rows.append(
            (
                str(row["id"]),
                str(row["description"]),
                KIND_LABELS.get(str(row["kind"]), str(row["kind"])),
                account or PAYER_ACCOUNT_LABEL,
                f"{row['term_years']} yr, {row['payment_option']}",
                day(row["start"]),
                day(row["end"]),
                usd(row["upfront_usd"]),
                usd(row["recurring_usd_per_month"]),
                usd(row["term_cost_usd"]),
                pct(float(row["utilization_pct"])),
                usd(row["net_savings_vs_on_demand_usd"]),
                why,
            )
        )
    return rows


ACCOUNT_HEADINGS = (
    "Account", "On-demand value", "Cost, current", "Cost, with plan", "Savings vs current",
    "Coverage, current", "Coverage, with plan",
)  # fmt: skip


def _cost_cells(row: Mapping[str, Any]) -> tuple[str, ...]:
    """On-demand value, cost current and with the plan, savings, and both coverages, as text."""
    return (
        usd(row["on_demand_cost_usd"]),
        usd(row["current_cost_usd"]),
        usd(row["planned_cost_usd"]),
        usd(row["savings_vs_current_usd"]),
        pct(row["current_coverage_pct"]),
        pct(row["coverage_pct"]),
    )


def account_rows(data: ReportData) -> list[tuple[str, ...]]:
    """One tuple of texts per account of :attr:`ReportData.by_account`."""
    rows: list[tuple[str, ...]] = []
    for row in _records(data.by_account):
        shared = not row["account_id"] and not row["on_demand_cost_usd"] > 0
        rows.append(
            (
                SHARED_ACCOUNT_LABEL if shared else account_label(row["account_id"]),
                *_cost_cells(row),
            )
        )
    return rows


SERVICE_HEADINGS = ("Service", *ACCOUNT_HEADINGS[1:])


def several_services(data: ReportData) -> bool:
    """Whether the data period bills more than one service (the per-service table is shown)."""
    table = data.by_service
    return "service" in table and int((table["on_demand_cost_usd"] > 0).sum()) > 1


def service_rows(data: ReportData) -> list[tuple[str, ...]]:
    """One tuple of texts per service of :attr:`ReportData.by_service`."""
    return [(str(row["service"]), *_cost_cells(row)) for row in _records(data.by_service)]


SERVICE_NOTE: Final = (
    "Each service's usage at on-demand rates and what it costs with the owned commitments only "
    "and with the purchases added, over the data period: Reserved Instances and reserved nodes "
    "count on their service, EC2 Instance Savings Plans on EC2, and a Compute, Database or "
    "SageMaker Savings Plan on the services it covered (Compute: EC2, Fargate, Lambda), its "
    "unused part shared among them in proportion."
)


def account_note(data: ReportData) -> str:
    """Who buys, and how the per-account costs are split, in one paragraph."""
    text = (
        "Each account's usage at on-demand rates and what it costs with the owned commitments "
        "only and with the purchases added, over the data period. A purchase that names no "
        "buying account is shown as bought in the payer account with discount sharing on: it "
        "serves every linked account alike. Unused commitment is counted on its owner's row"
    )
    table = data.by_account
    if (
        "account_id" in table
        and (table["account_id"] == "").any()
        and "" not in (_usage_accounts(data))
    ):
        text += f', or on "{SHARED_ACCOUNT_LABEL}" when it names none'
    return text + "."


MONTHLY_HEADINGS = (
    "Month", "On-demand value", "Cost, current", "Cost, with plan", "Savings vs current",
    "Coverage, current", "Coverage, with plan", "Utilization, with plan",
)  # fmt: skip


def monthly_rows(data: ReportData) -> list[tuple[str, ...]]:
    """One tuple of texts per calendar month of the data period."""
    return [
        (
            str(row["month"]),
            *_cost_cells(row),
            pct(row["utilization_pct"]),
        )
        for row in _records(data.monthly)
    ]


EXPIRING_HEADINGS = ("Id", "Instrument", "What", "Ends", "Monthly cost")


def expiring_rows(data: ReportData) -> list[tuple[str, ...]]:
    """One tuple of texts per owned commitment expiring within the horizon."""
    return [
        (
            str(row["id"]),
            KIND_LABELS.get(str(row["kind"]), str(row["kind"])),
            str(row["description"]),
            day(pd.Timestamp(row["end"])),
            usd(row["cost_usd_per_month"]),
        )
        for row in _records(data.expiring)
    ]


RENEWAL_HEADINGS = (
    "Starts",
    "Replaces",
    "Instrument",
    "What",
    "Term",
    "Cost per hour",
    "Term cost",
)
RENEWAL_NUMERIC = (5, 6)
"""Numeric columns of :func:`renewal_rows`."""


def renewal_rows(data: ReportData) -> list[tuple[str, ...]]:
    """One tuple of texts per purchase queued to replace expiring commitments."""
    return [
        (
            f"{pd.Timestamp(row['start']):%Y-%m-%d %H:%M} UTC"
            if row["queued"]
            else "when bought (cannot be queued)",
            str(row["replaces"]),
            KIND_LABELS.get(str(row["kind"]), str(row["kind"])),
            str(row["description"]),
            f"{row['term_years']}y {row['payment_option']}",
            usd_rate(float(row["effective_usd_per_hour"]), "h", 3),
            usd(row["term_cost_usd"]),
        )
        for row in _records(data.renewals)
    ]


def renewals_sentence(data: ReportData) -> str:
    """What the renewal table is, in one sentence (empty when nothing is queued)."""
    if data.renewals.empty:
        return ""
    count = len(data.renewals)
    sentence = (
        f"The plan queues {count} purchase{'s' if count > 1 else ''} to replace expiring "
        "commitments, each starting the hour what it replaces ends (AWS queued purchases: "
        "nothing is paid before then). They are not in the data period's figures above; the "
        "savings range over forecast usage counts them."
    )
    if not data.renewals["queued"].all():
        sentence += (
            " A database reservation cannot be queued: its replacement starts when bought, and "
            "both are paid until the old one ends."
        )
    return sentence


FRONTIER_NUMERIC = (0, 1)
"""Numeric columns of :func:`frontier_rows`."""

PLAN_MARK = "◀ the plan"
MAXIMUM_MARK = "expected-savings maximum"
KNEE_MARK = "knee"


def frontier_headings(data: ReportData) -> tuple[str, ...]:
    """Headings of :func:`frontier_rows` (the savings column names the frontier's horizon)."""
    horizon = data.frontier.horizon if data.frontier is not None else "the data period"
    return ("New commitment [USD/h]", f"Expected savings vs current over {horizon}", "Level")


def frontier_rows(data: ReportData) -> list[tuple[str, ...]]:
    """One tuple of texts per frontier level; the last cell marks the plan, the curve's
    expected-savings maximum and the knee (empty list without a frontier)."""
    curve = data.frontier
    if curve is None:
        return []
    position = plan_position(curve)
    levels = curve.levels_usd_per_hour
    plan = np.zeros(levels.size, dtype=bool)
    best = np.zeros(levels.size, dtype=bool)
    if position is not None:
        plan = np.isclose(levels, position.plan_level, rtol=1e-9, atol=1e-6)
        best = np.isclose(levels, position.maximum_level, rtol=0.0, atol=0.0)
    knee = (
        np.isclose(levels, curve.knee_usd_per_hour, rtol=1e-9, atol=1e-6)
        if curve.knee_usd_per_hour is not None
        else np.zeros(levels.size, dtype=bool)
    )
    rows: list[tuple[str, ...]] = []
    for n, (level, saving) in enumerate(
        zip(levels, curve.mean_savings_vs_current_usd, strict=True)
    ):  # one row per level
        marks = [
            mark
            for mark, on in ((PLAN_MARK, plan[n]), (MAXIMUM_MARK, best[n]), (KNEE_MARK, knee[n]))
            if on
        ]
        rows.append((f"{level:,.3f}", usd(float(saving)), ", ".join(marks)))
    return rows


def frontier_position_line(data: ReportData) -> str:
    """Where the plan sits on the frontier relative to its expected-savings maximum, in words
    (:func:`commitopt.report.frontier.plan_position_text`); empty without a frontier."""
    return plan_position_text(data.frontier) if data.frontier is not None else ""


def optimizer_line(data: ReportData) -> str:
    """How the plan was optimized, in one line (empty when unknown)."""
    info = data.optimizer
    if not info:
        return ""
    parts = [f"status {info.get('status', MISSING)}", f"method {info.get('method', MISSING)}"]
    if "certified_gap_pct" in info:
        parts.append(f"certified gap {float(info['certified_gap_pct']):.3f}%")
    if "rounding_cost_usd" in info:
        parts.append(f"rounding to whole RIs cost {usd(float(info['rounding_cost_usd']))}")
    return "Optimizer: " + ", ".join(parts) + "."


__all__ = [
    "ACCOUNT_HEADINGS",
    "EXPIRING_HEADINGS",
    "FRONTIER_NUMERIC",
    "KNEE_MARK",
    "MAXIMUM_MARK",
    "MONTHLY_HEADINGS",
    "PAYER_ACCOUNT_LABEL",
    "PLAN_MARK",
    "PURCHASE_HEADINGS",
    "PURCHASE_NUMERIC",
    "RENEWAL_HEADINGS",
    "RENEWAL_NUMERIC",
    "SummaryRow",
    "account_note",
    "account_rows",
    "break_even_text",
    "expiring_rows",
    "frontier_headings",
    "frontier_position_line",
    "frontier_rows",
    "header_rows",
    "monthly_rows",
    "optimizer_line",
    "purchase_rows",
    "renewal_rows",
    "renewals_sentence",
    "summary_rows",
]
