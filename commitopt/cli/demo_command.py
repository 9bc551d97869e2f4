"""``commitopt demo``: the whole job on synthetic data, offline: recommend, simulate, report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from commitopt.cli.inputs import note_once
from commitopt.cli.options import paths_option, seed_option
from commitopt.cli.output import (
    emit_mapping,
    emit_text,
    format_option,
    path_savings_fields,
    require_out_folder,
)
from commitopt.cli.progress import quiet_option, reporter, solver_progress
from commitopt.report import build_report_data, write_report
from commitopt.review import forecast_savings
from core.errors import CommitoptInputError
from optimizer.policy import Policy
from planning.recommend import recommend
from planning.review import ReviewOptions
from pricing.embedded import embedded_notice, load_embedded_catalog
from usage.synthetic import demo_usage

SUMMARY_FIELDS = (
    "period_hours", "on_demand_cost_usd", "planned_cost_usd", "savings_vs_on_demand_usd",
    "savings_vs_on_demand_pct", "coverage_pct", "utilization_pct", "upfront_usd",
)  # fmt: skip
"""The recommendation's figures the demo prints (nothing is owned: current = on-demand)."""

DEMO_EPILOG = """
\b
Examples:
  commitopt demo
  commitopt demo --out /tmp/demo.html --paths 500 --seed 3
  commitopt demo --format json
\b
Builds 60 days of hourly usage for three accounts (steady, growing, migrating, batch, Windows
business-hours, declining and multi-region fleets), recommends RIs and Savings Plans with the
embedded price catalog (a 2017 snapshot), bills the plan with AWS's rules, samples --paths
future usage paths for the savings range, and writes the finance report. No AWS account and no
network needed. Next: `commitopt recommend --usage YOUR_CUR.parquet`.
"""


@click.command("demo", epilog=DEMO_EPILOG)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path),
    default=Path("commitopt-demo-report.html"), show_default=True,
    help="Where to write the HTML report (atomically).",
)  # fmt: skip
@paths_option(200)
@seed_option
@format_option
@quiet_option
def demo_command(out: Path, n_paths: int, seed: int, output_format: str) -> None:
    """The whole job on synthetic data: recommend, bill, report.

    Run the whole job on a synthetic history: recommend, simulate, write the report.

    Prints the recommendation's summary and the report's path.
    """
    if n_paths < 0:
        raise CommitoptInputError(f"--paths must be 0 or more, not {n_paths}")
    require_out_folder(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise CommitoptInputError(f"--out {out}: name an .html file")
    with reporter().task("building the synthetic history"):
        usage = demo_usage(seed=seed)
        catalog = load_embedded_catalog()
    note_once(embedded_notice())
    with reporter().task("optimizing the portfolio") as task:
        run = recommend(usage, catalog, Policy(), progress=solver_progress(task))
    monte = curve = None
    options = ReviewOptions(n_paths=n_paths, seed=seed)
    if n_paths and run.purchases:
        with reporter().task(f"billing the plan over {n_paths} forecast paths") as task:
            _current, _proposed, monte, curve = forecast_savings(
                run, (), catalog, options, lambda line: task.update(detail=line)
            )
    with reporter().task("writing the report"):
        data = build_report_data(
            run, monte_carlo=monte, frontier=curve, catalog=catalog, owned=(), plan_id="demo",
            title="Demo: commitment purchase plan",
        )  # fmt: skip
        written = write_report(data, out, "html")
    summary: dict[str, Any] = {
        "usage_source": f"synthetic demo, {usage['hour'].nunique():,} hours, "
        f"{len(usage.drop_duplicates(['account_id', 'region', 'instance_type', 'platform']))} keys",
        "purchase_count": len(run.purchases),
        **{field: run.summary[field] for field in SUMMARY_FIELDS},
    }
    if monte is not None:
        summary |= path_savings_fields(monte.percentiles(), options.horizon_hours)
    summary["report_path"] = str(written)
    emit_mapping(summary, output_format, title="commitopt demo")
    if output_format == "table":
        emit_text(f"Open the report: {written.resolve()}")
