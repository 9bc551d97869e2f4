"""``commitopt simulate``: bill usage against a portfolio exactly as AWS applies commitments."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import click
import pandas as pd

from commitopt.catalogs import resolve_catalog
from commitopt.cli.options import catalog_options
from commitopt.cli.output import emit_frame, emit_mapping, format_option, frame_records
from commitopt.cli.usage_commands import period_options, workspace_option
from commitopt.workspace import Workspace
from pricing.catalog import PriceCatalog
from pricing.errors import CommitoptInputError
from pricing.inventory import Inventory, read_portfolio_json
from pricing.readers.cur_rates import read_cur_rates
from scenarios.scenario_file import load_scenarios
from scenarios.simulator import BREAKDOWNS, Grouping, SimulationResult, simulate
from scenarios.transforms import BASELINE, Scenario
from usage.readers import detect_format, read_usage
from usage.table import to_matrix

_BY = {"month": "month", "account": "account_id", "region": "region",
       "family": "instance_family", "instrument": "instrument"}  # fmt: skip

SIMULATE_EPILOG = """
\b
Examples:
  commitopt simulate --usage cur-2025-10.parquet --portfolio plan.json
  commitopt simulate --portfolio plan.json --inventory owned.json --by month
  commitopt simulate --usage usage.csv --portfolio plan.json --no-sharing --format json
  commitopt simulate --usage usage.csv --portfolio plan.json \\
      --scenario examples/scenarios/growth.yaml --scenario examples/scenarios/exit_eu_west_2.yaml
\b
Without --usage the workspace's usage is billed. Purchases without a start begin with the
period. When --usage is a CUR, its own rates price the keys first. Each --scenario (YAML or
JSON, see docs/scenarios.md) transforms the usage and prices before billing; the baseline
comes first, then one row per scenario (json and csv carry every total).
"""

SCENARIO_COLUMNS = (
    "scenario",
    "usage_hours",
    "on_demand_equivalent_usd",
    "actual_cost_usd",
    "savings_usd",
    "savings_pct",
    "coverage",
    "utilization",
    "effective_savings_rate",
    "net_savings_usd",
)
"""Columns of the scenario comparison table (the table format; json and csv add the rest)."""


@click.command("simulate", epilog=SIMULATE_EPILOG)
@click.option(
    "--usage",
    "usage_files",
    multiple=True,
    help="Usage files to bill (globs allowed; repeatable) [default: the workspace's usage].",
)
@click.option(
    "--portfolio",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Portfolio JSON of proposed purchases (what `recommend --format json` prints).",
)
@click.option(
    "--inventory",
    "inventory_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Portfolio JSON of commitments already owned (repeatable).",
)
@period_options
@click.option("--by", type=click.Choice(list(_BY)), default=None, help="Also break money down.")
@click.option("--no-sharing", is_flag=True, help="Commitments cover their own account only.")
@click.option(
    "--scenario",
    "scenario_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Scenario file (YAML or JSON) to bill side by side with the baseline (repeatable).",
)
@click.option(
    "--discount-rate", type=float, default=0.0, show_default=True, help="Yearly rate for NPV."
)
@workspace_option
@catalog_options
@format_option
def simulate_command(
    usage_files: tuple[str, ...],
    portfolio: Path,
    inventory_files: tuple[Path, ...],
    start: datetime | None,
    end: datetime | None,
    by: str | None,
    no_sharing: bool,
    scenario_files: tuple[Path, ...],
    discount_rate: float,
    workspace: Path | None,
    catalog_paths: tuple[Path, ...],
    no_embedded: bool,
    output_format: str,
) -> None:
    """Bill hourly usage with owned and proposed commitments; print the money and the metrics.

    RIs apply first (size-flexible within a family for regional Linux/UNIX shared-tenancy RIs),
    then EC2 Instance Savings Plans, then Compute Savings Plans, highest discount first; the rest
    is on-demand. Every figure is what AWS would bill.
    """
    scenarios = load_scenarios(scenario_files)
    if usage_files:
        frame, _report = read_usage(list(usage_files), "auto", start=start, end=end)
    else:
        with Workspace.open(workspace, read_only=True) as store:
            frame = store.load_usage(start=start, end=end)
    if frame.empty:
        raise CommitoptInputError(
            "no usage to simulate: pass --usage FILE or import some with `commitopt usage import`"
        )
    period_start = pd.Timestamp(frame["hour"].min()).to_pydatetime().astimezone(UTC)
    parts = [read_portfolio_json(portfolio, default_start=period_start)]
    parts += [read_portfolio_json(path) for path in inventory_files]
    combined = Inventory(tuple(c for part in parts for c in part.commitments), as_of=period_start)
    # A CUR's own rates come first: a bill can be replayed without any other price source.
    from_bill = (
        [read_cur_rates(list(usage_files))]
        if usage_files and detect_format(list(usage_files)) in ("cur", "cur2")
        else []
    )
    catalog = resolve_catalog(catalog_paths, first=from_bill, use_embedded=not no_embedded).catalog
    if scenarios:
        _compare(
            frame,
            combined,
            catalog,
            (BASELINE, *scenarios),
            by=by,
            share_across_accounts=not no_sharing,
            discount_rate=discount_rate,
            output_format=output_format,
        )
        return
    result = simulate(
        frame, combined, catalog, share_across_accounts=not no_sharing, discount_rate=discount_rate
    )
    for warning in result.warnings:
        click.echo(f"commitopt: warning: {warning}", err=True)
    totals = asdict(result.totals)
    if by is not None:
        grouping = _BY[by]
        if grouping not in BREAKDOWNS:
            raise CommitoptInputError(f"cannot break down by {by}")
        table = result.breakdown(grouping)  # type: ignore[arg-type]
        if output_format == "table":
            emit_mapping(totals, "table", title=f"Simulation ({result.status})")
        emit_frame(table, output_format, title=f"By {by}")
        return
    emit_mapping({"status": str(result.status), **totals}, output_format, title="Simulation")


def _compare(
    frame: pd.DataFrame,
    inventory: Inventory,
    catalog: PriceCatalog,
    scenarios: tuple[Scenario, ...],
    *,
    by: str | None,
    share_across_accounts: bool,
    discount_rate: float,
    output_format: str,
) -> None:
    """Bill every scenario's usage and prices with the same commitments; print them side by side.

    Scenarios are all applied (and so validated) before anything is billed or printed.
    """
    matrix = to_matrix(frame)
    applied = [scenario.apply(matrix, catalog) for scenario in scenarios]
    results: list[SimulationResult] = []
    for scenario, (usage, prices) in zip(scenarios, applied, strict=True):
        result = simulate(
            usage,
            inventory,
            prices,
            share_across_accounts=share_across_accounts,
            discount_rate=discount_rate,
        )
        for warning in result.warnings:
            click.echo(f"commitopt: warning: {scenario.name}: {warning}", err=True)
        results.append(result)
    rows = pd.DataFrame(
        [
            {
                "scenario": scenario.name,
                "status": str(result.status),
                **asdict(result.totals),
                "description": scenario.description,
            }
            for scenario, result in zip(scenarios, results, strict=True)
        ]
    )
    grouping = cast("Grouping | None", _BY[by] if by is not None else None)
    if grouping is not None and grouping not in BREAKDOWNS:
        raise CommitoptInputError(f"cannot break down by {by}")
    if output_format == "json":
        records = frame_records(rows)
        if grouping is not None:
            for record, result in zip(records, results, strict=True):
                record["breakdown"] = frame_records(result.breakdown(grouping))
        click.echo(json.dumps(records, indent=2, default=str))
        return
    if output_format == "table":
        emit_frame(
            rows.loc[:, list(SCENARIO_COLUMNS)],
            "table",
            title="Scenarios (same commitments)",
            float_digits={"usage_hours": 1, "savings_pct": 4, "coverage": 4, "utilization": 4,
                          "effective_savings_rate": 4},
        )  # fmt: skip
    if grouping is None:
        if output_format == "csv":
            emit_frame(rows, "csv")
        return
    breakdowns = pd.concat(
        [
            result.breakdown(grouping).assign(scenario=scenario.name)
            for scenario, result in zip(scenarios, results, strict=True)
        ],
        ignore_index=True,
    )
    breakdowns = breakdowns[["scenario", *[c for c in breakdowns.columns if c != "scenario"]]]
    emit_frame(breakdowns, output_format, title=f"By {by}, per scenario")
