"""``commitopt frontier``: savings as a portfolio scales from none to 150 %, and the knee."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from commitopt.cli.forecast_command import parse_horizon_hours
from commitopt.cli.inputs import CommandInputs, input_options, warn_if_lookback_exceeds
from commitopt.cli.options import (
    horizon_option,
    lookback_option,
    no_sharing_option,
    paths_option,
    portfolio_option,
    seed_option,
    stopped_after_option,
)
from commitopt.cli.output import emit_frame, emit_json, emit_mapping, emit_text, format_option
from commitopt.cli.progress import quiet_option, reporter, solver_progress
from core.durations import Duration
from core.errors import CommitoptInputError
from optimizer.policy import Policy
from planning.recency import STOPPED_AFTER_DAYS
from planning.recommend import DEFAULT_LOOKBACK_DAYS, RecommendOptions, lookback_window, recommend
from pricing.catalog import PriceCatalog
from pricing.inventory import Inventory, read_portfolio_json
from scenarios.forecast import forecast_paths
from scenarios.frontier import DEFAULT_KNEE_THRESHOLD, FrontierResult, frontier
from scenarios.paths import UsagePaths
from usage.synthetic import demo_usage
from usage.table import to_matrix

TABLE_COLUMNS = (
    "level", "commitment_cost_usd", "mean_savings_vs_on_demand_usd", "mean_coverage_pct",
    "mean_utilization_pct", "marginal_savings_usd_per_usd", "mark",
)  # fmt: skip
"""The columns a table shows without ``--wide`` for the lookback (one path)."""

PATH_TABLE_COLUMNS = (
    "level", "commitment_cost_usd", "mean_savings_vs_on_demand_usd",
    "p5_savings_vs_on_demand_usd", "worse_than_on_demand_pct", "marginal_savings_usd_per_usd",
    "mark",
)  # fmt: skip
"""The columns a table shows without ``--wide`` for sampled paths."""

FRONTIER_EPILOG = """
\b
Examples:
  commitopt frontier --usage cur-2025-*.parquet --portfolio plan.json
  commitopt frontier --usage usage.csv --paths 500 --horizon 1y --format json
  commitopt frontier --demo --steps 16 --max-level 1.5 --knee-threshold 0.2
\b
Level 1 is the portfolio (--portfolio, or the recommendation for the lookback when it is not
given), level 0 the --inventory alone; every level is billed with AWS's rules. Without --paths
the lookback itself is billed (then P5 = expected); with --paths N, N future paths over
--horizon are sampled from the lookback (trend x whole weeks) and purchases without a start
begin with the horizon. Levels: --steps evenly from 0 to --max-level, plus level 1. RI counts
are scaled as fractional capacity. The knee is the last level reached while every step still
returned at least --knee-threshold USD of expected savings per extra USD of commitment.
Without --usage only the lookback is read from the workspace.
"""


def _proposed_from_recommendation(
    frame: pd.DataFrame,
    catalog: PriceCatalog,
    owned: Inventory,
    days: float,
    stopped_after_days: float,
    start: datetime,
) -> Inventory:
    """The recommendation's purchases, re-read from its portfolio JSON to begin at ``start``."""
    with reporter().task("optimizing the portfolio") as task:
        run = recommend(
            frame,
            catalog,
            Policy(),
            owned=owned,
            options=RecommendOptions(lookback_days=days, stopped_after_days=stopped_after_days),
            progress=solver_progress(task),
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "recommendation.json"
        path.write_text(json.dumps(run.portfolio, default=str), encoding="utf-8")
        return read_portfolio_json(path, default_start=start)


def _levels(steps: int, max_level: float) -> np.ndarray[Any, np.dtype[np.float64]]:
    if steps < 2:
        raise CommitoptInputError(f"--steps must be at least 2, not {steps}")
    if not np.isfinite(max_level) or max_level <= 0:
        raise CommitoptInputError(
            f"--max-level must be a share above 0 (1.5 = 150 % of the portfolio), not {max_level}"
        )
    levels = np.linspace(0.0, max_level, steps)
    return np.union1d(levels, [1.0]) if max_level >= 1.0 else levels  # the portfolio itself


def _payload(result: FrontierResult, source: str, proposed: int, owned: int) -> dict[str, Any]:
    table = result.table
    return {
        "path_count": result.n_paths,
        "usage_source": source,
        "proposed_purchase_count": proposed,
        "owned_commitment_count": owned,
        "knee_level": result.knee_level,
        "knee_threshold_usd_per_usd": result.knee_threshold,
        "levels": [
            {key: (None if isinstance(v, float) and np.isnan(v) else v) for key, v in row.items()}
            for row in table.astype(object).to_dict(orient="records")
        ],
    }


@click.command("frontier", epilog=FRONTIER_EPILOG)
@input_options(demo=demo_usage)
@portfolio_option(required=False, show_default="the recommendation for the lookback")
@lookback_option(f"{DEFAULT_LOOKBACK_DAYS}d")
@stopped_after_option(f"{STOPPED_AFTER_DAYS:g}d")
@paths_option(None, show_default="none: bill the lookback itself")
@horizon_option("1y")
@seed_option
@click.option(
    "--steps", type=int, default=31, show_default=True,
    help="Levels evenly from 0 to --max-level (level 1 is always added).",
)  # fmt: skip
@click.option(
    "--max-level", type=float, default=1.5, show_default=True,
    help="Highest level, as a share of the portfolio (1.5 = 150 %).",
)  # fmt: skip
@click.option(
    "--knee-threshold", type=float, default=DEFAULT_KNEE_THRESHOLD, show_default=True,
    help="Least expected savings per extra USD of commitment up to the knee [USD/USD].",
)  # fmt: skip
@no_sharing_option
@format_option
@quiet_option
def frontier_command(
    inputs: CommandInputs,
    portfolio: Path | None,
    lookback: Duration,
    stopped_after: Duration,
    n_paths: int | None,
    horizon: Duration,
    seed: int,
    steps: int,
    max_level: float,
    knee_threshold: float,
    no_sharing: bool,
    output_format: str,
) -> None:
    """Savings by commitment level, and the knee.

    Savings as the proposed commitments scale from 0 to 150 %: expected and P5, and the knee.

    Every level is billed with the billing simulator (RIs, then EC2 Instance, then Compute
    Savings Plans, as AWS applies them), over the lookback or over sampled future paths.
    """
    if n_paths is not None and n_paths < 1:
        raise CommitoptInputError(f"--paths must be at least 1, not {n_paths}")
    levels = _levels(steps, max_level)
    horizon_hours = parse_horizon_hours(horizon) if n_paths is not None else 0
    frame = inputs.usage_recent(purpose="bill", hours=round(lookback.days * 24))
    warn_if_lookback_exceeds(frame, lookback)
    window = lookback_window(frame, lookback.days)
    if n_paths is None:
        paths = UsagePaths.from_matrices([to_matrix(window)])
        source = f"lookback {paths.hours[0]:%Y-%m-%d} to {paths.hours[-1]:%Y-%m-%d %H:%M} UTC"
    else:
        with reporter().task(f"sampling {n_paths} usage paths"):
            paths = forecast_paths(window, horizon_hours=horizon_hours, n_paths=n_paths, seed=seed)
        source = f"{n_paths} paths of {horizon_hours} h from {paths.hours[0]:%Y-%m-%d} UTC"
    start = pd.Timestamp(paths.hours[0]).to_pydatetime().astimezone(UTC)
    owned = Inventory(inputs.owned(), as_of=start)
    catalog = inputs.catalog()
    if portfolio is not None:
        proposed = read_portfolio_json(portfolio, default_start=start)
    else:
        proposed = _proposed_from_recommendation(
            window, catalog, owned, lookback.days, stopped_after.days, start
        )
    with reporter().task("billing the commitment levels", unit="levels") as progress:
        result = frontier(
            paths,
            proposed,
            catalog,
            owned=owned,
            levels=levels,
            knee_threshold=knee_threshold,
            share_across_accounts=not no_sharing,
            progress=progress,
        )
    for warning in result.warnings:
        reporter().warning(warning)
    if output_format == "json":
        emit_json(_payload(result, source, len(proposed), len(owned)))
        return
    if output_format == "csv":
        emit_frame(result.table, "csv")
        return
    knee = result.knee
    emit_mapping(
        {
            "usage_source": source,
            "proposed_purchase_count": len(proposed),
            "owned_commitment_count": len(owned),
            "knee_level": result.knee_level,
            "mean_savings_vs_on_demand_usd": float(knee["mean_savings_vs_on_demand_usd"]),
            "knee_threshold_usd_per_usd": result.knee_threshold,
        },
        "table",
        title="Frontier: the knee",
    )
    shown = result.table.copy()
    shown["mark"] = [
        ", ".join(filter(None, ("knee" if k else "", "proposed" if r else "")))
        for k, r in zip(result.table["is_knee"], result.table["is_portfolio"], strict=True)
    ]
    emit_frame(
        shown,
        "table",
        title="Savings by commitment level",
        float_digits={"level": 2},
        narrow=TABLE_COLUMNS if result.n_paths == 1 else PATH_TABLE_COLUMNS,
    )
    emit_text(
        "level: share of the proposed purchases (1 = as proposed); mean and P5 over the paths; "
        "worse than on demand: share of paths paying more than all on-demand; marginal: extra "
        "mean savings per extra USD of commitment from the level above."
    )
