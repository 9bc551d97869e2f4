"""The report's rows as formatted text, shared by the HTML and Markdown renderers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from commitopt.report.data import KIND_LABELS, ReportData
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


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary: a field name (stable, for machines), its label, value and note.

    ``value`` is the raw figure (USD, share of 1, months) or ``None``; ``text`` is how it is shown.
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


def summary_rows(data: ReportData) -> list[SummaryRow]:
    """The summary table, in reading order."""
    s = data.summary
    days = data.header.data_hours / 24.0
    mc = data.monte_carlo
    horizon = f" over {mc.horizon}" if mc is not None else ""
    if not data.owned_known:
        expiring_text, expiring_note = "unknown", "owned commitments were not given to the report"
    elif data.expiring.empty:
        expiring_text, expiring_note = "none", ""
    else:
        expiring_text = f"{len(data.expiring)} commitment{'s' if len(data.expiring) > 1 else ''}"
        expiring_note = (
            f"{usd_rate(float(data.expiring['monthly_cost_usd'].sum()), 'month')} of commitment "
            f"ends by {day(data.expiring['end'].max())}; see the table below"
        )
    return [
        SummaryRow("upfront_cash_usd", "Upfront cash", usd(s.upfront_cash_usd),
                   s.upfront_cash_usd, f"{s.n_purchases} purchases"),
        SummaryRow("monthly_run_rate_before_usd", "Monthly run-rate, current",
                   usd_rate(s.monthly_run_rate_before_usd, "month"), s.monthly_run_rate_before_usd,
                   "recurring fees + on-demand, owned commitments only"),
        SummaryRow("monthly_run_rate_after_usd", "Monthly run-rate, with the plan",
                   usd_rate(s.monthly_run_rate_after_usd, "month"), s.monthly_run_rate_after_usd,
                   "recurring fees + on-demand, upfront excluded"),
        SummaryRow("monthly_savings_usd", "Savings per month",
                   usd_rate(s.monthly_savings_usd, "month"), s.monthly_savings_usd,
                   f"{pct(s.savings_pct)} of the current cost, upfront amortized"),
        SummaryRow("period_savings_usd", f"Savings over the data period ({days:,.0f} days)",
                   usd(s.period_savings_usd), s.period_savings_usd,
                   f"cost {usd(s.cost_before_usd)} → {usd(s.cost_after_usd)}"),
        SummaryRow("savings_range_usd", f"Savings range{horizon} (P5 to P95)",
                   _range(s.savings_p5_usd, s.savings_p95_usd, usd), s.savings_p50_usd,
                   f"median {usd(s.savings_p50_usd)}" if s.savings_p50_usd is not None else ""),
        SummaryRow("esr_after", "Effective savings rate, with the plan", pct(s.esr_after),
                   s.esr_after, f"current: {pct(s.esr_before)}; versus all on-demand"),
        SummaryRow("esr_range", "Effective savings rate range (P5 to P95)",
                   _range(s.esr_p5, s.esr_p95, pct), None),
        SummaryRow("break_even_month", "Break-even", month_count(s.break_even_month),
                   None if s.break_even_month is None else float(s.break_even_month),
                   "first month whose cumulative cash savings repay the upfront"),
        SummaryRow("coverage_after", "Coverage, with the plan", pct(s.coverage_after),
                   s.coverage_after, f"current: {pct(s.coverage_before)}"),
        SummaryRow("utilization_after", "Utilization of all commitments",
                   pct(s.utilization_after), s.utilization_after,
                   f"new purchases alone: {pct(s.purchases_utilization)}"),
        SummaryRow("hourly_commitment_usd", "New commitment per hour",
                   usd_rate(s.hourly_commitment_usd, "h", 3), s.hourly_commitment_usd,
                   "upfront amortized over the term"),
        SummaryRow("total_commitment_usd", "Total commitment over the terms",
                   usd(s.total_commitment_usd), s.total_commitment_usd,
                   f"longest term {s.term_months} months; owed whether used or not"),
        SummaryRow("expiring",
                   f"Owned commitments expiring within {data.expiry_horizon_days:,.0f} days",
                   expiring_text, None if not data.owned_known else float(len(data.expiring)),
                   expiring_note),
    ]  # fmt: skip


def header_rows(data: ReportData) -> list[tuple[str, str]]:
    """Label and text of each header line."""
    h = data.header
    period = MISSING
    if h.data_start is not None and h.data_end is not None:
        period = (
            f"{timestamp(h.data_start)} to {timestamp(h.data_end)} ({number(h.data_hours)} hours)"
        )
    catalog = h.catalog_source
    if h.catalog_as_of is not None:
        catalog = f"{catalog}, prices as of {h.catalog_as_of.isoformat()}"
    return [
        ("Plan", h.plan_id),
        ("Plan SHA-256" if h.hash_of == "plan" else "Portfolio SHA-256", h.plan_hash),
        ("Data period", period),
        ("Price catalog", catalog),
        ("Generated", timestamp(h.generated_at)),
    ]


PURCHASE_HEADINGS = (
    "Id", "What", "Instrument", "Term", "Ends", "Upfront", "Monthly fee", "Term cost",
    "Utilization", "Saving, data period", "Why",
)  # fmt: skip


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


def purchase_rows(data: ReportData) -> list[tuple[str, ...]]:
    """One tuple of texts per purchase, in :data:`PURCHASE_HEADINGS` order."""
    rows: list[tuple[str, ...]] = []
    for row in _records(data.purchases):
        rows.append(
            (
                str(row["id"]),
                str(row["description"]),
                KIND_LABELS.get(str(row["kind"]), str(row["kind"])),
                f"{row['term_years']} yr, {row['payment_option']}",
                day(row["end"]),
                usd(row["upfront_usd"]),
                usd(row["monthly_recurring_usd"]),
                usd(row["term_cost_usd"]),
                pct(float(row["utilization"])),
                usd(row["net_saving_usd"]),
                str(row["reason"]) or "no explanation recorded",
            )
        )
    return rows


MONTHLY_HEADINGS = (
    "Month", "On-demand value", "Cost, current", "Cost, with plan", "Savings",
    "Coverage, current", "Coverage, with plan", "Utilization, with plan",
)  # fmt: skip


def monthly_rows(data: ReportData) -> list[tuple[str, ...]]:
    """One tuple of texts per calendar month of the data period."""
    return [
        (
            str(row["month"]),
            usd(row["on_demand_equivalent_usd"]),
            usd(row["cost_before_usd"]),
            usd(row["cost_after_usd"]),
            usd(row["savings_usd"]),
            pct(row["coverage_before"]),
            pct(row["coverage_after"]),
            pct(row["utilization_after"]),
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
            usd(row["monthly_cost_usd"]),
        )
        for row in _records(data.expiring)
    ]


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
    "EXPIRING_HEADINGS",
    "MONTHLY_HEADINGS",
    "PURCHASE_HEADINGS",
    "SummaryRow",
    "expiring_rows",
    "header_rows",
    "monthly_rows",
    "optimizer_line",
    "purchase_rows",
    "summary_rows",
]
