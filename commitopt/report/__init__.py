"""The finance report: one self-contained HTML page (plus Markdown, JSON and CSV) per plan.

Typical use::

    run = recommend(usage, catalog, policy)
    data = build_report_data(run, catalog=catalog)
    write_report(data, "report.html")            # or render_html(data), render_markdown(data)

:func:`build_report_data` assembles figures from a recommendation's two billed simulations;
:func:`report_data_from_simulations` does the same for a plan from anywhere else.
"""

from commitopt.report.data import (
    Frontier,
    MonteCarloSavings,
    ReportData,
    ReportHeader,
    ReportInputError,
    ReportSummary,
    build_report_data,
    plan_hash,
    report_data_from_simulations,
)
from commitopt.report.formats import (
    REPORT_FORMATS,
    render_report,
    report_csv,
    report_json,
    write_report,
)
from commitopt.report.html import render_html
from commitopt.report.markdown import render_markdown

__all__ = [
    "REPORT_FORMATS",
    "Frontier",
    "MonteCarloSavings",
    "ReportData",
    "ReportHeader",
    "ReportInputError",
    "ReportSummary",
    "build_report_data",
    "plan_hash",
    "render_html",
    "render_markdown",
    "render_report",
    "report_csv",
    "report_data_from_simulations",
    "report_json",
    "write_report",
]
