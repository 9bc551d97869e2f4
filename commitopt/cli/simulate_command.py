"""``commitopt simulate``: bill usage against a portfolio exactly as AWS applies commitments."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, cast

import click
import pandas as pd

from billing.simulator import BREAKDOWNS, Grouping, SimulationResult, simulate
from commitopt.cli.inputs import CommandInputs, input_options
from commitopt.cli.options import (
    FILE,
    discount_rate_option,
    no_sharing_option,
    period_options,
    portfolio_option,
)
from commitopt.cli.output import (
    emit_frame,
    emit_json,
    emit_mapping,
    format_option,
    frame_records,
    wide,
)
from commitopt.cli.progress import quiet_option, reporter
from core.errors import CommitoptInputError
from pricing.catalog import PriceCatalog
from pricing.inventory import Inventory, read_portfolio_json
from scenarios.scenario_file import load_scenarios
from scenarios.transforms import BASELINE, Scenario
from usage.table import UsageMatrix

_BY: Final = {"month": "month", "account": "account_id", "region": "region",
       "family": "instance_family", "instrument": "instrument",
       "service": "service"}  # fmt: skip

SIMULATE_EPILOG = """
\b
Examples:
  commitopt simulate --usage cur-2025-10.parquet --portfolio plan.json
  commitopt simulate --portfolio plan.json --inventory owned.json --by month
  commitopt simulate --usage usage.csv --portfolio plan.json --no-sharing --format json
  commitopt simulate --usage usage.csv --portfolio plan.json \\
      --scenario examples/scenarios/growth.yaml --scenario examples/scenarios/exit_eu_west_2.yaml
\b
Without --usage the workspace's usage is billed, and only --from/--to of it is read.
Purchases without a start begin with the
period. When --usage is a CUR, its own rates price the keys first. Each --scenario (YAML or
JSON, see docs/scenario-file.md) transforms the usage and prices before billing; the baseline
comes first, then one row per scenario (json and csv carry every total).
"""

SCENARIO_COLUMNS = (
    "scenario", "instance_hours", "on_demand_cost_usd", "actual_cost_usd",
    "savings_vs_on_demand_usd", "savings_vs_on_demand_pct", "coverage_pct", "utilization_pct",
)  # fmt: skip
"""Columns of the scenario comparison table without ``--wide`` (json and csv carry every total)."""

TOTAL_FIELDS = (
    "status", "period_hours", "instance_hours", "on_demand_cost_usd", "actual_cost_usd",
    "savings_vs_on_demand_usd", "savings_vs_on_demand_pct", "coverage_pct", "utilization_pct",
    "unused_commitment_usd", "upfront_usd", "run_rate_usd_per_month",
)  # fmt: skip
"""The totals a table shows without ``--wide``."""


@click.command("simulate", epilog=SIMULATE_EPILOG)
@input_options(bill="never")
@portfolio_option(required=True)
@period_options
@click.option("--by", type=click.Choice(list(_BY)), default=None, help="Also break money down.")
@no_sharing_option
@click.option(
    "--scenario",
    "scenario_files",
    multiple=True,
    type=FILE,
    help="Scenario file (YAML or JSON) to bill side by side with the baseline (repeatable).",
)
@discount_rate_option
@format_option
@quiet_option
def simulate_command(
    inputs: CommandInputs,
    portfolio: Path,
    start: datetime | None,
    end: datetime | None,
    by: str | None,
    no_sharing: bool,
    scenario_files: tuple[Path, ...],
    discount_rate: float,
    output_format: str,
) -> None:
    """Bill usage with commitments as AWS would; what-ifs.

    Bill hourly usage with owned and proposed commitments; print the money and the metrics.

    RIs apply first (size-flexible within a family for regional Linux/UNIX shared-tenancy RIs),
    then EC2 Instance Savings Plans, then Compute Savings Plans, highest discount first; the rest
    is on-demand. Every figure is what AWS would bill.
    """
    scenarios = load_scenarios(scenario_files)
    matrix = inputs.usage_of_period(purpose="simulate", demo_option=False, start=start, end=end)
    period_start = pd.Timestamp(matrix.hours[0]).to_pydatetime().astimezone(UTC)
    proposed = read_portfolio_json(portfolio, default_start=period_start).commitments
    combined = Inventory((*proposed, *inputs.owned()), as_of=period_start)
    # A CUR's own rates come first: a bill can be replayed without any other price source.
    catalog = inputs.catalog()
    if scenarios:
        _compare(
            matrix,
            combined,
            catalog,
            (BASELINE, *scenarios),
            by=by,
            share_across_accounts=not no_sharing,
            discount_rate=discount_rate,
            output_format=output_format,
        )
        return
    with reporter().task("billing the usage"):
        result = simulate(
            matrix,
            combined,
            catalog,
            share_across_accounts=not no_sharing,
            discount_rate=discount_rate,
        )
    for warning in result.warnings:
        reporter().warning(warning)
    totals = {"status": str(result.status), **asdict(result.totals)}
    shown = totals if output_format != "table" or wide() else {k: totals[k] for k in TOTAL_FIELDS}
    if by is not None:
        grouping = _BY[by]
        if grouping not in BREAKDOWNS:
            raise CommitoptInputError(f"cannot break down by {by}")
        table = result.breakdown(grouping)  # type: ignore[arg-type]
        if output_format == "table":
            emit_mapping(shown, "table", title="Simulation")
        emit_frame(table, output_format, title=f"By {by}")
        return
    emit_mapping(shown, output_format, title="Simulation")


def _compare(
    matrix: UsageMatrix,
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
    applied = [scenario.apply(matrix, catalog) for scenario in scenarios]
    results: list[SimulationResult] = []
    with reporter().task("billing the scenarios", total=len(scenarios)) as task:
        for number, (scenario, (usage, prices)) in enumerate(
            zip(scenarios, applied, strict=True), start=1
        ):
            result = simulate(
                usage,
                inventory,
                prices,
                share_across_accounts=share_across_accounts,
                discount_rate=discount_rate,
            )
            for warning in result.warnings:
                reporter().warning(f"{scenario.name}: {warning}")
            results.append(result)
            task.update(number, detail=scenario.name)
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
        emit_json(records)
        return
    if output_format == "table":
        emit_frame(rows, "table", title="Scenarios (same commitments)", narrow=SCENARIO_COLUMNS)
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
