"""``commitopt report``: a plan's finance report, one self-contained HTML file (or md/json/csv)."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import click
import pandas as pd

from commitopt.cli.inputs import CommandInputs, input_options, open_workspace
from commitopt.cli.options import (
    demo_option,
    lookback_option,
)
from commitopt.cli.output import require_out_folder
from commitopt.cli.progress import quiet_option, reporter, solver_progress
from commitopt.cli.streams import echo_payload
from commitopt.plans import load_plan
from commitopt.report import REPORT_FORMATS, build_report_data, write_report
from commitopt.report.data import DEFAULT_TITLE, ReportData
from commitopt.report.sources import load_plan_json, plan_window, report_data_from_portfolio
from core.durations import Duration
from core.errors import CommitoptInputError
from core.times import as_utc
from optimizer.policy import Policy
from planning.recommend import DEFAULT_LOOKBACK_DAYS, recommend
from pricing.atomic import atomic_output_path
from pricing.inventory import read_portfolio_json
from usage.synthetic import demo_usage

PLAN_ID = re.compile(r"plan-\d{8}-\d+")
"""A stored plan's id (``commitopt plans``), as opposed to a plan file."""

SUFFIX_FORMATS: Final = {
    ".html": "html",
    ".htm": "html",
    ".md": "md",
    ".json": "json",
    ".csv": "csv",
}

REPORT_EPILOG = """
\b
Examples:
  commitopt report --demo --out report.html
  commitopt recommend --usage cur.parquet --format json --out plan.json
  commitopt report plan.json --usage cur.parquet --out report.html
  commitopt report plan.json --inventory owned.json --format md --out report.md
  commitopt report plan-20261123-1 --out review.html
  commitopt report plan.json --scenarios mc.json --frontier frontier.json --out report.html
\b
PLAN is a portfolio JSON (what `recommend --format json` writes) or a stored plan's id
(`commitopt plans`); it is billed again over its own period of the usage (--usage files, else
the workspace's usage, of which only that period, or --lookback, is read), with the owned
commitments only and with the purchases. A stored plan's own HTML report (the one approvers
saw, e.g. from `review`) is written as stored unless other inputs are given. --demo recommends
on the synthetic demo history in-process.
The HTML opens offline: inline CSS and SVG charts, no script, no URL. --format defaults to the
--out file's extension. --scenarios: JSON {"savings_usd": [...], "effective_savings_rate": [...],
"horizon": "...", "description": "..."} (optionally "current_savings_vs_on_demand_pct": [...], the
owned commitments alone per path, and "horizon_hours"); --frontier: JSON {"levels": [...],
"expected_savings": [...], "p5_savings": [...], "knee_level": x, "recommended_level": x}.
"""


def _read_extra(path: Path | None, option: str) -> dict[str, Any] | None:
    """A JSON object given with --scenarios / --frontier."""
    if path is None:
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise CommitoptInputError(f"{option} {path}: no such file; check the path") from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CommitoptInputError(f"{option} {path}: not a readable JSON file ({error})") from error
    if not isinstance(payload, dict):
        raise CommitoptInputError(f"{option} {path}: expected a JSON object of arrays")
    return payload


def _report_format(report_format: str | None, out: Path | None) -> str:
    if report_format is not None:
        return report_format
    if out is not None:
        return SUFFIX_FORMATS.get(out.suffix.lower(), "html")
    return "html"


@click.command("report", epilog=REPORT_EPILOG)
@click.argument("plan", required=False, type=click.Path(dir_okay=False, path_type=Path))
@demo_option
@input_options(bill="always")
@lookback_option(None, show_default="the plan's own period")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Report file, written atomically [default: commitopt-report.FORMAT].",
)  # fmt: skip
@click.option(
    "--format", "report_format", type=click.Choice(REPORT_FORMATS), default=None,
    help="html (self-contained page), md, json (every figure) or csv (the purchases) "
    "[default: from --out's extension, else html].",
)  # fmt: skip
@click.option("--title", default=DEFAULT_TITLE, show_default=True, help="The report's title.")
@click.option(
    "--scenarios", "scenarios_file", type=click.Path(dir_okay=False, path_type=Path),
    default=None, help="Monte Carlo savings per path (JSON) for the P5–P95 range and histogram.",
)  # fmt: skip
@click.option(
    "--frontier", "frontier_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Savings versus commitment level (JSON) [default: the purchases scaled 0–2× and billed].",
)  # fmt: skip
@click.option("--no-frontier", is_flag=True, help="Do not bill scaled plans for the frontier.")
@quiet_option
def report_command(
    plan: Path | None,
    demo: bool,
    inputs: CommandInputs,
    lookback: Duration | None,
    out: Path | None,
    report_format: str | None,
    title: str,
    scenarios_file: Path | None,
    frontier_file: Path | None,
    no_frontier: bool,
) -> None:
    """Write a plan's finance report (HTML, Markdown, JSON, CSV).

    Write the finance report of a plan: upfront cash, run-rates, savings, break-even, charts.

    One page a finance approver reads in five minutes: the summary, the purchases with the reason
    for each, usage by what covers it, savings versus commitment level, utilization and coverage by
    month, cash flow versus on-demand, and the savings range over scenarios when given. Prints
    the report's path.
    """
    if demo == (plan is not None):
        raise CommitoptInputError(
            "give a PLAN file (a portfolio JSON from `commitopt recommend --format json`) or "
            "--demo, not both and not neither"
        )
    if demo and (inputs.usage_files or inputs.inventory_files):
        raise CommitoptInputError("--demo uses its own usage; leave out --usage and --inventory")
    fmt = _report_format(report_format, out)
    target = out if out is not None else Path(f"commitopt-report.{fmt}")
    require_out_folder(target)
    monte_carlo = _read_extra(scenarios_file, "--scenarios")
    frontier = _read_extra(frontier_file, "--frontier")
    days = lookback.days if lookback is not None else None
    if plan is not None and not plan.exists() and PLAN_ID.fullmatch(str(plan)):
        with open_workspace(inputs.workspace, read_only=True) as store:
            record = load_plan(store, str(plan))
        reuse = fmt == "html" and record.report is not None and record.report_intact
        if reuse and not (inputs.usage_files or inputs.inventory_files or lookback
                          or scenarios_file or frontier_file):  # fmt: skip
            assert record.report is not None
            with atomic_output_path(target) as temporary:
                temporary.write_bytes(record.report)
            echo_payload(str(target))
            return
        with tempfile.TemporaryDirectory() as folder:
            stored = Path(folder) / f"{record.plan_id}.json"
            stored.write_text(record.plan_json, encoding="utf-8")
            data = _plan_report(stored, inputs, days, title, monte_carlo, frontier, no_frontier,
                                record.plan_id, record.sha256, record.created_at)  # fmt: skip
    elif demo:
        data = _demo_report(inputs, title, monte_carlo, frontier, no_frontier)
    else:
        assert plan is not None
        data = _plan_report(plan, inputs, days, title, monte_carlo, frontier, no_frontier)
    for warning in data.warnings:
        reporter().warning(warning)
    written = write_report(data, target, fmt)
    echo_payload(str(written))


def _demo_report(
    inputs: CommandInputs,
    title: str,
    monte_carlo: dict[str, Any] | None,
    frontier: dict[str, Any] | None,
    no_frontier: bool,
) -> ReportData:
    """``recommend --demo`` with its defaults, in-process, then its report."""
    catalog = inputs.catalog()
    with reporter().task("optimizing the portfolio") as task:
        run = recommend(demo_usage(), catalog, Policy(), progress=solver_progress(task))
    with reporter().task("billing the plan for the report"):
        return build_report_data(
            run,
            catalog=catalog,
            owned=(),
            plan_id="demo",
            title=title,
            monte_carlo=monte_carlo,
            frontier=frontier,
            compute_frontier=not no_frontier,
        )


def _plan_start(payload: Mapping[str, Any]) -> pd.Timestamp | None:
    """The start of the plan's own period (``summary.period_start``), or None when it has none
    (or one that is not a time: :func:`commitopt.report.sources.plan_window` says so)."""
    summary = payload.get("summary")
    start = summary.get("period_start") if isinstance(summary, Mapping) else None
    if not start:
        return None
    try:
        first = as_utc(start)
    except (TypeError, ValueError):
        return None
    return first if isinstance(first, pd.Timestamp) else None


def _plan_report(
    plan: Path,
    inputs: CommandInputs,
    lookback_days: float | None,
    title: str,
    monte_carlo: dict[str, Any] | None,
    frontier: dict[str, Any] | None,
    no_frontier: bool,
    plan_id: str | None = None,
    plan_hash_hex: str | None = None,
    purchase_date: datetime | None = None,
) -> ReportData:
    """A portfolio JSON file billed again over its period of the usage.

    ``purchase_date`` is a stored plan's creation time (its purchases start then); a plan file's
    purchases start when the report is made.
    """
    payload = load_plan_json(plan)
    frame = inputs.usage_recent(
        purpose="bill the plan with", demo_option=False,
        hours=round((lookback_days or DEFAULT_LOOKBACK_DAYS) * 24),
        since=_plan_start(payload) if lookback_days is None else None,
    )  # fmt: skip
    window, warning = plan_window(frame, payload, lookback_days)
    period_start = pd.Timestamp(window["hour"].min()).to_pydatetime()
    purchases = read_portfolio_json(plan, default_start=period_start).commitments
    owned = inputs.owned()
    catalog = inputs.catalog()
    with reporter().task("billing the plan for the report"):
        return report_data_from_portfolio(
            payload,
            purchases,
            window,
            catalog,
            owned=owned,
            plan_id=plan_id or plan.stem,
            plan_hash_hex=plan_hash_hex,
            title=title,
            monte_carlo=monte_carlo,
            frontier=frontier,
            compute_frontier=not no_frontier,
            warnings=(warning,) if warning else (),
            purchase_date=purchase_date,
        )
