"""``commitopt demo``: the whole job on synthetic data, offline: recommend, simulate, report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from commitopt.cli.output import emit_mapping, format_option
from commitopt.cli.progress import spinner
from commitopt.recommend import recommend
from commitopt.report import build_report_data, write_report
from commitopt.review import ReviewOptions, forecast_savings
from optimizer.policy import Policy
from pricing.embedded import load_embedded_catalog
from pricing.errors import CommitoptInputError
from usage.synthetic import demo_usage

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
@click.option(
    "--paths", "n_paths", type=int, default=200, show_default=True,
    help="Forecast usage paths for the savings range (0: none).",
)  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the usage and paths.")
@format_option
def demo_command(out: Path, n_paths: int, seed: int, output_format: str) -> None:
    """Run the whole job on a synthetic history: recommend, simulate, write the report.

    Prints the recommendation's summary and the report's path.
    """
    if n_paths < 0:
        raise CommitoptInputError(f"--paths must be 0 or more, not {n_paths}")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise CommitoptInputError(f"--out {out}: folder {folder} does not exist; create it first")
    if out.suffix.lower() not in (".html", ".htm"):
        raise CommitoptInputError(f"--out {out}: name an .html file")
    interactive = output_format == "table"
    usage = demo_usage(seed=seed)
    catalog = load_embedded_catalog()
    with spinner("Recommending on the demo history", enabled=interactive):
        run = recommend(usage, catalog, Policy())
    monte = curve = None
    if n_paths and run.purchases:
        with spinner(f"Billing the plan over {n_paths} forecast paths", enabled=interactive):
            options = ReviewOptions(n_paths=n_paths, seed=seed)
            _current, _proposed, monte, curve = forecast_savings(
                run, (), catalog, options, lambda _line: None
            )
    with spinner("Writing the report", enabled=interactive):
        data = build_report_data(
            run, monte_carlo=monte, frontier=curve, catalog=catalog, owned=(), plan_id="demo",
            title="Demo: commitment purchase plan",
        )  # fmt: skip
        written = write_report(data, out, "html")
    summary: dict[str, Any] = {
        "usage": f"synthetic demo, {usage['hour'].nunique():,} hours, "
        f"{len(usage.drop_duplicates(['account_id', 'region', 'instance_type', 'platform']))} keys",
        "purchases": len(run.purchases),
        "on-demand cost over the lookback (USD)": run.summary["on_demand_cost_usd"],
        "cost with the plan (USD)": run.summary["optimized_cost_usd"],
        "savings (USD)": run.summary["savings_usd"],
        "savings (%)": run.summary["savings_pct"],
        "coverage (%)": run.summary["coverage_pct"],
        "utilization (%)": run.summary["utilization_pct"],
        "upfront cash (USD)": run.summary["upfront_cash_usd"],
    }
    if monte is not None:
        p5, p50, p95 = (float(v) for v in _percentiles(monte.savings_usd))
        summary[f"savings over {monte.horizon}, P5 / P50 / P95 (USD)"] = (
            f"{p5:,.0f} / {p50:,.0f} / {p95:,.0f}"
        )
    summary["report"] = str(written)
    if output_format == "table":
        summary = {k: f"{v:,.2f}" if isinstance(v, float) else v for k, v in summary.items()}
    emit_mapping(summary, output_format, title="commitopt demo")
    if interactive:
        click.echo(f"Open the report: {written.resolve()}")


def _percentiles(values: Any) -> tuple[float, float, float]:
    import numpy as np

    low, mid, high = np.percentile(np.asarray(values, dtype=np.float64), [5, 50, 95])
    return float(low), float(mid), float(high)
