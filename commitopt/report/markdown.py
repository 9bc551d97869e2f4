"""The finance report as Markdown: the same header, summary and tables as the HTML, no charts."""

from __future__ import annotations

from collections.abc import Sequence

from commitopt.report.content import (
    ACCOUNT_HEADINGS,
    EXPIRING_HEADINGS,
    FRONTIER_NUMERIC,
    MONTHLY_HEADINGS,
    PURCHASE_HEADINGS,
    PURCHASE_NUMERIC,
    RENEWAL_HEADINGS,
    RENEWAL_NUMERIC,
    SERVICE_HEADINGS,
    SERVICE_NOTE,
    account_note,
    account_rows,
    expiring_rows,
    frontier_headings,
    frontier_position_line,
    frontier_rows,
    header_rows,
    monthly_rows,
    optimizer_line,
    purchase_rows,
    renewal_rows,
    renewals_sentence,
    service_rows,
    several_services,
    summary_rows,
)
from commitopt.report.data import ReportData
from commitopt.report.formatting import pct, usd


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(headings: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int]) -> str:
    rule = ["---:" if i in numeric else "---" for i in range(len(headings))]
    lines = [
        "| " + " | ".join(_cell(h) for h in headings) + " |",
        "| " + " | ".join(rule) + " |",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(data: ReportData) -> str:
    """The report as Markdown text (GitHub-flavoured tables)."""
    h = data.header
    parts = [f"# {h.title}", ""]
    parts += [f"- **{label}:** {_cell(text)}" for label, text in header_rows(data)]
    if data.warnings:
        parts += ["", "## Warnings", ""]
        parts += [f"> **Warning:** {_cell(warning)}\n>" for warning in data.warnings]
        parts[-1] = parts[-1].removesuffix("\n>")
    parts += ["", "## Summary", ""]
    parts.append(
        _table(
            ("Figure", "Value", "Note"),
            [(row.label, row.text, row.note) for row in summary_rows(data)],
            (1,),
        )
    )
    if data.monte_carlo_note:
        parts += ["", data.monte_carlo_note]
    parts += ["", "## Purchases and why", ""]
    if len(data.purchases):
        parts.append(_table(PURCHASE_HEADINGS, purchase_rows(data), PURCHASE_NUMERIC))
    else:
        parts.append("The plan buys nothing: no purchase lowers the cost.")
    if len(data.by_account):
        parts += ["", "## By account (data period)", "", account_note(data), ""]
        parts.append(_table(ACCOUNT_HEADINGS, account_rows(data), (1, 2, 3, 4, 5, 6)))
    if several_services(data):
        parts += ["", "## By service (data period)", "", SERVICE_NOTE, ""]
        parts.append(_table(SERVICE_HEADINGS, service_rows(data), (1, 2, 3, 4, 5, 6)))
    parts += ["", "## By month (data period)", ""]
    parts.append(_table(MONTHLY_HEADINGS, monthly_rows(data), (1, 2, 3, 4, 5, 6, 7)))
    parts += ["", "## Scenarios", ""]
    mc = data.monte_carlo
    if mc is None:
        parts.append("No scenarios were run: the figures are for the data period's usage only.")
    else:
        p5, p50, p95 = mc.percentiles()
        line = (
            f"{mc.savings_vs_current_usd.size:,} paths, savings over {mc.horizon}: P5 {usd(p5)}, "
            f"median {usd(p50)}, P95 {usd(p95)}"
        )
        if mc.savings_vs_on_demand_pct is not None:
            e5, _, e95 = mc.percentiles(mc.savings_vs_on_demand_pct)
            line += f"; effective savings rate P5 {pct(e5)} to P95 {pct(e95)}"
        parts.append(line + ".")
    if data.frontier is not None:
        parts += ["", "## Savings versus commitment level", "", _cell(data.frontier_note), ""]
        if position := frontier_position_line(data):
            parts += [f"**{_cell(position)}**", ""]
        parts.append(_table(frontier_headings(data), frontier_rows(data), FRONTIER_NUMERIC))
    parts += ["", "## What expires", ""]
    days = f"{data.expiry_horizon_days:,.0f}"
    if not data.owned_known:
        parts.append(f"Owned commitments were not given: expiries within {days} days are unknown.")
    elif data.expiring.empty:
        parts.append(f"No owned commitment expires within {days} days after the data period.")
    else:
        parts.append(_table(EXPIRING_HEADINGS, expiring_rows(data), (4,)))
        if not data.renewals.empty:
            parts += ["", "### Queued to replace them", "", _cell(renewals_sentence(data)), ""]
            parts.append(_table(RENEWAL_HEADINGS, renewal_rows(data), RENEWAL_NUMERIC))
    parts += ["", "## How these figures were made", ""]
    notes = [*data.notes]
    if line := optimizer_line(data):
        notes.append(line)
    parts += [f"- {note}" for note in notes]
    parts += ["", "Charts are in the HTML report (`commitopt report --format html`).", ""]
    return "\n".join(parts)


__all__ = ["render_markdown"]
