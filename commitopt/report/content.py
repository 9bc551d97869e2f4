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


def summary_rows(data: ReportData) -> list[SummaryRow]:
    """The summary table, in reading order."""
    s = data.summary
    days = data.header.period_hours / 24.0
    mc = data.monte_carlo
    horizon = f" over {mc.horizon}" if mc is not None else ""
    if not data.owned_known:
        expiring_text, expiring_note = "unknown", "owned commitments were not given to the report"
    elif data.expiring.empty:
        expiring_text, expiring_note = "none", ""
    else:
        expiring_text = f"{len(data.expiring)} commitment{'s' if len(data.expiring) > 1 else ''}"
        expiring_note = (
            f"{usd_rate(float(data.expiring['cost_usd_per_month'].sum()), 'month')} of commitment "
            f"ends by {day(data.expiring['end'].max())}; see the table below"
        )
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
            f"median {usd(s.p50_savings_vs_current_usd)}"
            if s.p50_savings_vs_current_usd is not None
            else "",
        ),
        SummaryRow(
            "savings_vs_on_demand_pct",
            "Effective savings rate (vs on-demand), with the plan",
            pct(s.savings_vs_on_demand_pct),
            s.savings_vs_on_demand_pct,
            f"current: {pct(s.current_savings_vs_on_demand_pct)}; versus all on-demand",
        ),
        SummaryRow(
            "p5_to_p95_savings_vs_on_demand_pct",
            "Effective savings rate range (P5 to P95)",
            _range(s.p5_savings_vs_on_demand_pct, s.p95_savings_vs_on_demand_pct, pct),
            None,
        ),
        SummaryRow(
            "break_even_month",
            "Break-even",
            month_count(s.break_even_month),
            None if s.break_even_month is None else float(s.break_even_month),
            "first month whose cumulative cash savings repay the upfront",
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
        SummaryRow(
            "expiring_commitment_count",
            f"Owned commitments expiring within {data.expiry_horizon_days:,.0f} days",
            expiring_text,
            None if not data.owned_known else float(len(data.expiring)),
            expiring_note,
        ),
    ]


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
    return [
        ("Plan", h.plan_id),
        ("Plan SHA-256" if h.sha256_of == "plan" else "Portfolio SHA-256", h.sha256),
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
                usd(row["recurring_usd_per_month"]),
                usd(row["term_cost_usd"]),
                pct(float(row["utilization_pct"])),
                usd(row["net_savings_vs_on_demand_usd"]),
                str(row["explanation"]) or "no explanation recorded",
            )
        )
    return rows


MONTHLY_HEADINGS = (
    "Month", "On-demand value", "Cost, current", "Cost, with plan", "Savings vs current",
    "Coverage, current", "Coverage, with plan", "Utilization, with plan",
)  # fmt: skip


def monthly_rows(data: ReportData) -> list[tuple[str, ...]]:
    """One tuple of texts per calendar month of the data period."""
    return [
        (
            str(row["month"]),
            usd(row["on_demand_cost_usd"]),
            usd(row["current_cost_usd"]),
            usd(row["planned_cost_usd"]),
            usd(row["savings_vs_current_usd"]),
            pct(row["current_coverage_pct"]),
            pct(row["coverage_pct"]),
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
