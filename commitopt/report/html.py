"""The finance report as one self-contained HTML page: inline CSS, inline SVG, no script, no URL.

A Content-Security-Policy meta tag forbids loading anything, so a page that tried would show it
as an error in the browser (the headless-Chromium test checks there is none).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Final

from commitopt import __version__
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
    break_even_text,
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
from commitopt.report.formatting import day, pct, usd, usd_rate

CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""Nothing may be fetched; only the page's own styles apply."""

CSS: Final = """
:root { --ink: #1f2933; --muted: #52606d; --line: #e4e7eb; --accent: #0072b2; --bg: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif;
       color: var(--ink); background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 4px;
     border-bottom: 2px solid var(--line); }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; color: var(--muted);
        font-size: 13px; margin: 8px 0 0; }
.meta dt { font-weight: 600; } .meta dd { margin: 0; word-break: break-all; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 12px;
         margin: 18px 0 8px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase;
               letter-spacing: .03em; }
.card .value { font-size: 21px; font-weight: 600; margin-top: 2px;
               font-variant-numeric: tabular-nums; }
.card .note { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line);
         vertical-align: top; }
th { background: #f0f4f8; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.summary th[scope=row] { background: none; width: 34%; }
.table-wrap { overflow-x: auto; }
table.purchases tr.figures td { border-bottom: none; padding-bottom: 2px; }
table.purchases td.id { white-space: nowrap; font-weight: 600; }
table.purchases td.date { white-space: nowrap; }
table.purchases tr.reason td { color: var(--muted); padding-top: 0; font-size: 12.5px; }
table.purchases tr.reason span { font-weight: 600; }
figure { margin: 18px 0 26px; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 4px; }
.chart-svg { display: block; max-width: 100%; height: auto; }
.empty { border: 1px dashed #bcccdc; border-radius: 6px; padding: 16px; color: var(--muted); }
.notes li { color: var(--muted); margin: 2px 0; }
.warning { color: #8d2b0b; }
.warnings { border: 1px solid #e8a17a; background: #fff4ec; border-radius: 6px;
            padding: 8px 14px; margin: 16px 0 8px; color: #8d2b0b; }
.warnings h2 { font-size: 15px; margin: 2px 0 4px; border: none; padding: 0; }
.warnings ul { margin: 0; padding-left: 18px; }
.basis { color: var(--muted); font-size: 13px; margin: 8px 0 0; }
footer { color: var(--muted); font-size: 12px; margin-top: 36px; }
@media print { body { background: #fff; } main { padding: 0; }
               figure, table { break-inside: avoid; } }
"""


NUM: Final = ' class="num"'


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(
    headings: Sequence[str],
    rows: Sequence[Sequence[str]],
    numeric: Sequence[int],
    *,
    css_class: str,
) -> str:
    head = "".join(
        f'<th{NUM if i in numeric else ""} scope="col">{_e(h)}</th>' for i, h in enumerate(headings)
    )
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            cells.append(f"<td{NUM if i in numeric else ''}>{_e(cell)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<table class="{css_class}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


CELL_CLASSES: Final = {0: "id", 5: "date", 6: "date"}
"""CSS class of the purchase table's non-numeric cells by column (id, start and end dates)."""


def _purchase_table(data: ReportData) -> str:
    """Figures on one row per purchase, its reason on a full-width row beneath."""
    numeric = PURCHASE_NUMERIC
    headings = PURCHASE_HEADINGS[:-1]
    head = "".join(
        f'<th{NUM if i in numeric else ""} scope="col">{_e(h)}</th>' for i, h in enumerate(headings)
    )
    body = []
    for row in purchase_rows(data):
        cells = "".join(
            f'<td class="{"num" if i in numeric else CELL_CLASSES.get(i, "")}">{_e(cell)}</td>'
            for i, cell in enumerate(row[:-1])
        )
        body.append(
            f'<tr class="figures">{cells}</tr><tr class="reason"><td></td>'
            f'<td colspan="{len(headings) - 1}"><span>Why:</span> {_e(row[-1])}</td></tr>'
        )
    return (
        f'<div class="table-wrap"><table class="purchases"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _cards(data: ReportData) -> str:
    s = data.summary
    savings_note = f"{pct(s.savings_vs_current_pct)} of current cost"
    if (
        s.p5_savings_vs_current_usd is not None
        and s.p95_savings_vs_current_usd is not None
        and data.monte_carlo
    ):
        savings_note += (
            f"; P5–P95 over {data.monte_carlo.horizon}: "
            f"{usd(s.p5_savings_vs_current_usd, 0)} to {usd(s.p95_savings_vs_current_usd, 0)}"
        )
    esr_note = f"data period; current {pct(s.current_savings_vs_on_demand_pct)}"
    if (
        s.p5_savings_vs_on_demand_pct is not None
        and s.p95_savings_vs_on_demand_pct is not None
        and data.monte_carlo
    ):
        esr_note += (
            f"; over {data.monte_carlo.horizon} (forecast, commitments ending on their dates): "
            f"median {pct(s.p50_savings_vs_on_demand_pct)}, P5–P95 "
            f"{pct(s.p5_savings_vs_on_demand_pct)} to {pct(s.p95_savings_vs_on_demand_pct)}"
        )
    break_even, break_even_note = break_even_text(data)
    cards = [
        ("Upfront cash", usd(s.upfront_usd, 0), f"{s.purchase_count} purchases"),
        (
            "Monthly run-rate",
            usd(s.run_rate_usd_per_month, 0),
            f"from {usd(s.current_run_rate_usd_per_month, 0)} today",
        ),
        ("Savings vs current, per month", usd(s.savings_vs_current_usd_per_month, 0), savings_note),
        ("Effective savings rate vs on-demand", pct(s.savings_vs_on_demand_pct), esr_note),
        (
            "Break-even",
            break_even,
            f"{break_even_note}; total commitment {usd(s.term_cost_usd, 0)}",
        ),
    ]
    return (
        '<section class="cards" aria-label="Key figures">'
        + "".join(
            f'<div class="card"><div class="label">{_e(label)}</div>'
            f'<div class="value">{_e(value)}</div><div class="note">{_e(note)}</div></div>'
            for label, value, note in cards
        )
        + "</section>"
    )


def _summary_table(data: ReportData) -> str:
    rows = []
    for row in summary_rows(data):
        value = "" if row.value is None else f' data-value="{float(row.value)!r}"'
        rows.append(
            f'<tr data-field="{_e(row.field)}"{value}><th scope="row">{_e(row.label)}</th>'
            f'<td class="num">{_e(row.text)}</td><td>{_e(row.note)}</td></tr>'
        )
    return f'<table class="summary" id="summary"><tbody>{"".join(rows)}</tbody></table>'


def _figure(chart_id: str, svg: str, caption: str) -> str:
    return (
        f'<figure class="chart" id="{chart_id}">{svg}<figcaption>{_e(caption)}</figcaption>'
        "</figure>"
    )


def _empty(chart_id: str, title: str, text: str) -> str:
    return (
        f'<figure class="chart-empty" id="{chart_id}"><p class="empty"><strong>{_e(title)}:'
        f"</strong> {_e(text)}</p></figure>"
    )


def _charts(data: ReportData) -> str:
    from commitopt.report import charts  # matplotlib loads only when a page is drawn

    parts = []
    if len(data.hourly):
        parts.append(
            _figure(
                "figure-hourly",
                charts.hourly_usage_chart(data.hourly),
                "On-demand value of each hour's usage, stacked by what covers it with the plan: "
                "Reserved Instances, then EC2 Instance Savings Plans, then Compute Savings Plans; "
                "the grey top layer is paid on-demand.",
            )
        )
    if data.frontier is not None:
        parts.append(
            _figure("figure-frontier", charts.frontier_chart(data.frontier), data.frontier_note)
        )
    else:
        parts.append(_empty("figure-frontier", "Savings versus commitment level",
                            data.frontier_note))  # fmt: skip
    if len(data.monthly):
        parts.append(
            _figure(
                "figure-utilization",
                charts.utilization_coverage_chart(data.monthly),
                "Coverage: share of the on-demand value covered by commitments. Utilization: "
                "share of the commitment paid that covered usage.",
            )
        )
    parts.append(
        _figure(
            "figure-cash-flow",
            charts.cash_flow_chart(
                data.cash_flow,
                data.summary.break_even_month if data.summary.upfront_usd > 0 else None,
            ),
            "Cash per month over the longest term: the data period's monthly run-rates "
            "repeated, upfront paid when each term starts; below, savings against the current "
            "commitments, cumulated.",
        )
    )
    if data.monte_carlo is not None:
        parts.append(
            _figure(
                "figure-distribution",
                charts.savings_distribution_chart(data.monte_carlo, None),
                data.monte_carlo.description or "Savings of the plan on each sampled usage path.",
            )
        )
    else:
        parts.append(
            _empty(
                "figure-distribution",
                "Savings distribution over scenarios",
                "no scenarios were run, so there is no range of outcomes; figures above are "
                "for the data period's usage only.",
            )
        )
    return "".join(parts)


def _frontier(data: ReportData) -> str:
    """Where the plan sits on the frontier, in words, and the frontier's levels with the plan,
    the expected-savings maximum and the knee marked (empty without a frontier)."""
    if data.frontier is None:
        return ""
    position = frontier_position_line(data)
    sentence = f'<p class="frontier-position" id="frontier-position">{_e(position)}</p>'
    return (
        '<h2 id="frontier-heading">Savings versus commitment level</h2>'
        + (sentence if position else "")
        + _table(
            frontier_headings(data), frontier_rows(data), FRONTIER_NUMERIC, css_class="frontier"
        )
    )


def _expiring(data: ReportData) -> str:
    days = f"{data.expiry_horizon_days:,.0f}"
    if not data.owned_known:
        return (
            '<p class="empty">Owned commitments were not given: expiries within '
            f"{days} days are unknown.</p>"
        )
    if data.expiring.empty:
        return f"<p>No owned commitment expires within {days} days after the data period.</p>"
    table = _table(EXPIRING_HEADINGS, expiring_rows(data), (4,), css_class="expiring")
    if data.renewals.empty:
        return table
    return (
        table
        + "<h3>Queued to replace them</h3>"
        + f"<p>{_e(renewals_sentence(data))}</p>"
        + _table(RENEWAL_HEADINGS, renewal_rows(data), RENEWAL_NUMERIC, css_class="renewals")
    )


def _warnings(data: ReportData) -> str:
    """The warnings block at the top of the page (empty when there is none)."""
    if not data.warnings:
        return ""
    items = "".join(f'<li class="warning">{_e(w)}</li>' for w in data.warnings)
    return (
        '<section class="warnings" id="warnings" role="alert"><h2>Warnings</h2>'
        f"<ul>{items}</ul></section>"
    )


def _accounts(data: ReportData) -> str:
    if not len(data.by_account):
        return '<p class="empty">No usage was billed, so there is no account to show.</p>'
    return f"<p>{_e(account_note(data))}</p>" + _table(
        ACCOUNT_HEADINGS, account_rows(data), (1, 2, 3, 4, 5, 6), css_class="accounts"
    )


def _services(data: ReportData) -> str:
    if not several_services(data):
        return ""
    return (
        '<h2 id="services-heading">By service (data period)</h2>'
        f"<p>{_e(SERVICE_NOTE)}</p>"
        + _table(SERVICE_HEADINGS, service_rows(data), (1, 2, 3, 4, 5, 6), css_class="services")
    )


def render_html(data: ReportData) -> str:
    """The report as one self-contained HTML page (UTF-8 text).

    Parameters
    ----------
    data
        What :func:`commitopt.report.build_report_data` assembled.
    """
    h = data.header
    s = data.summary
    meta = "".join(f"<dt>{_e(label)}</dt><dd>{_e(text)}</dd>" for label, text in header_rows(data))
    purchases = (
        _purchase_table(data)
        if len(data.purchases)
        else '<p class="empty">The plan buys nothing: no purchase lowers the cost.</p>'
    )
    notes = [*data.notes]
    line = optimizer_line(data)
    if line:
        notes.append(line)
    notes_html = "".join(f"<li>{_e(n)}</li>" for n in notes)
    break_even, _ = break_even_text(data)
    break_even_phrase = (
        "no upfront, so no break-even to wait for"
        if break_even == "immediate"
        else f"break-even {break_even}"
    )
    basis = (
        f'<p class="basis" id="monte-carlo-note">{_e(data.monte_carlo_note)}</p>'
        if data.monte_carlo_note
        else ""
    )
    decision = (
        f"Buy {s.purchase_count} commitments for {usd(s.upfront_usd, 0)} upfront and "
        f"{usd_rate(s.effective_usd_per_hour, 'h', 3)}: the monthly run-rate goes from "
        f"{usd(s.current_run_rate_usd_per_month, 0)} to {usd(s.run_rate_usd_per_month, 0)}, "
        f"saving {usd_rate(s.savings_vs_current_usd_per_month, 'month', 0)} "
        f"({pct(s.savings_vs_current_pct)}); {break_even_phrase}."
        if s.purchase_count
        else "The plan buys nothing."
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="commitopt {_e(__version__)}">
<title>{_e(h.title)} — {_e(h.plan_id)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<header>
<h1>{_e(h.title)}</h1>
<dl class="meta">{meta}</dl>
</header>
{_warnings(data)}
<p class="decision" id="decision">{_e(decision)}</p>
{_cards(data)}
<h2 id="summary-heading">Summary</h2>
{_summary_table(data)}
{basis}
<h2>Purchases and why</h2>
{purchases}
<h2 id="accounts-heading">By account (data period)</h2>
{_accounts(data)}
{_services(data)}
<h2>Charts</h2>
{_charts(data)}
{_frontier(data)}
<h2>By month (data period)</h2>
{_table(MONTHLY_HEADINGS, monthly_rows(data), (1, 2, 3, 4, 5, 6, 7), css_class="monthly")}
<h2>What expires</h2>
{_expiring(data)}
<h2>How these figures were made</h2>
<ul class="notes">{notes_html}</ul>
<footer>commitopt {_e(__version__)} · data {_e(day(h.period_start))} to {_e(day(h.period_end))} ·
plan {_e(h.plan_id)} · {_e(h.sha256_of)} SHA-256 {_e(h.sha256)}</footer>
</main>
</body>
</html>
"""


__all__ = ["CSP", "render_html"]
