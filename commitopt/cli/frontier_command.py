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

from commitopt.catalogs import resolve_catalog
from commitopt.cli.forecast_command import parse_horizon_hours
from commitopt.cli.options import catalog_options
from commitopt.cli.output import emit_frame, emit_mapping, format_option
from commitopt.cli.progress import progress_bar, spinner
from commitopt.cli.recommend_command import parse_lookback_days
from commitopt.cli.usage_commands import workspace_option
from commitopt.cli.usage_input import command_usage
from commitopt.recommend import DEFAULT_LOOKBACK_DAYS, RecommendOptions, lookback_window, recommend
from optimizer.policy import Policy
from pricing.catalog import PriceCatalog
from pricing.errors import CommitoptInputError
from pricing.inventory import Inventory, OwnedCommitment, read_portfolio_json
from pricing.readers.cur_rates import read_cur_rates
from scenarios.forecast import forecast_paths
from scenarios.frontier import DEFAULT_KNEE_THRESHOLD, FrontierResult, frontier
from scenarios.paths import UsagePaths
from usage.readers import detect_format
from usage.synthetic import demo_usage
from usage.table import to_matrix

SHOWN = {"level": "level", "commitment_cost_usd": "commitment USD",
         "expected_savings_usd": "expected savings USD", "p5_savings_usd": "P5 savings USD",
         "p95_savings_usd": "P95 savings USD", "expected_coverage": "coverage",
         "expected_utilization": "utilization", "probability_worse_than_on_demand": "P(> OD)",
         "marginal_return": "return USD/USD"}  # fmt: skip
"""Columns of the people's table and their headings."""

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
"""


def _proposed_from_recommendation(
    frame: pd.DataFrame,
    catalog: PriceCatalog,
    owned: Inventory,
    days: float,
    start: datetime,
    enabled: bool,
) -> Inventory:
    """The recommendation's purchases, re-read from its portfolio JSON to begin at ``start``."""
    with spinner("Recommending the portfolio", enabled=enabled):
        run = recommend(
            frame, catalog, Policy(), owned=owned, options=RecommendOptions(lookback_days=days)
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
        "paths": result.n_paths,
        "usage": source,
        "proposed_purchases": proposed,
        "owned_commitments": owned,
        "knee_level": result.knee_level,
        "knee_threshold_usd_per_usd": result.knee_threshold,
        "levels": [
            {key: (None if isinstance(v, float) and np.isnan(v) else v) for key, v in row.items()}
            for row in table.astype(object).to_dict(orient="records")
        ],
    }


@click.command("frontier", epilog=FRONTIER_EPILOG)
@click.option("--usage", "usage_files", multiple=True, help="Usage files (globs; repeatable).")
@click.option("--demo", is_flag=True, help="Use a synthetic 60-day multi-account history.")
@click.option(
    "--portfolio", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Portfolio JSON of proposed purchases [default: recommend one for the lookback].",
)  # fmt: skip
@click.option(
    "--inventory", "inventory_files", multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Portfolio JSON of commitments already owned (kept at every level; repeatable).",
)  # fmt: skip
@click.option(
    "--lookback", default=f"{DEFAULT_LOOKBACK_DAYS}d", show_default=True,
    help="History billed (or forecast from, with --paths): 30d, 60d, 13w, 2160h.",
)  # fmt: skip
@click.option("--paths", "n_paths", type=int, default=None, help="Sample N future usage paths.")
@click.option("--horizon", default="1y", show_default=True, help="With --paths: 1y, 26w, 90d, 6mo.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sampled paths.")
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
@click.option("--no-sharing", is_flag=True, help="Commitments cover their own account only.")
@workspace_option
@catalog_options
@format_option
def frontier_command(
    usage_files: tuple[str, ...],
    demo: bool,
    portfolio: Path | None,
    inventory_files: tuple[Path, ...],
    lookback: str,
    n_paths: int | None,
    horizon: str,
    seed: int,
    steps: int,
    max_level: float,
    knee_threshold: float,
    no_sharing: bool,
    workspace: Path | None,
    catalog_paths: tuple[Path, ...],
    no_embedded: bool,
    output_format: str,
) -> None:
    """Savings as the proposed commitments scale from 0 to 150 %: expected and P5, and the knee.

    Every level is billed with the billing simulator (RIs, then EC2 Instance, then Compute
    Savings Plans, as AWS applies them), over the lookback or over sampled future paths.
    """
    if demo and usage_files:
        raise CommitoptInputError("--demo and --usage exclude each other; choose one")
    if n_paths is not None and n_paths < 1:
        raise CommitoptInputError(f"--paths must be at least 1, not {n_paths}")
    levels = _levels(steps, max_level)
    days = parse_lookback_days(lookback)
    horizon_hours = parse_horizon_hours(horizon) if n_paths is not None else 0
    frame = command_usage(usage_files, workspace, purpose="bill", demo=demo_usage if demo else None)
    window = lookback_window(frame, days)
    people = output_format == "table"
    if n_paths is None:
        paths = UsagePaths.from_matrices([to_matrix(window)])
        source = f"lookback {paths.hours[0]:%Y-%m-%d} to {paths.hours[-1]:%Y-%m-%d %H:%M} UTC"
    else:
        with spinner("Sampling usage paths", enabled=people):
            paths = forecast_paths(window, horizon_hours=horizon_hours, n_paths=n_paths, seed=seed)
        source = f"{n_paths} paths of {horizon_hours} h from {paths.hours[0]:%Y-%m-%d} UTC"
    start = pd.Timestamp(paths.hours[0]).to_pydatetime().astimezone(UTC)
    owned_items: list[OwnedCommitment] = [
        c for path in inventory_files for c in read_portfolio_json(path).commitments
    ]
    owned = Inventory(tuple(owned_items), as_of=start)
    from_bill = (
        [read_cur_rates(list(usage_files))]
        if usage_files and detect_format(list(usage_files)) in ("cur", "cur2")
        else []
    )
    catalog = resolve_catalog(catalog_paths, first=from_bill, use_embedded=not no_embedded).catalog
    if portfolio is not None:
        proposed = read_portfolio_json(portfolio, default_start=start)
    else:
        proposed = _proposed_from_recommendation(window, catalog, owned, days, start, people)
    with progress_bar("Billing frontier levels", enabled=people) as progress:
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
        click.echo(f"commitopt: warning: {warning}", err=True)
    if output_format == "json":
        click.echo(
            json.dumps(_payload(result, source, len(proposed), len(owned)), indent=2, default=str)
        )
        return
    if output_format == "csv":
        emit_frame(result.table, "csv")
        return
    knee = result.knee
    emit_mapping(
        {
            "usage": source,
            "proposed purchases": len(proposed),
            "owned commitments": len(owned),
            "knee level": f"{knee['level']:.0%}",
            "knee expected savings USD": float(knee["expected_savings_usd"]),
            "knee rule": f"each step returned >= {result.knee_threshold:g} USD per USD",
        },
        "table",
        title="Frontier",
    )
    shown = result.table[list(SHOWN)].copy()
    shown["mark"] = [
        ", ".join(filter(None, ("knee" if k else "", "portfolio" if r else "")))
        for k, r in zip(result.table["knee"], result.table["recommendation"], strict=True)
    ]
    shown["level"] = [f"{v:.0%}" for v in shown["level"]]
    shown = shown.rename(columns=SHOWN)
    digits = {c: (2 if c.endswith(" USD") else 3) for c in shown.columns}
    emit_frame(shown, "table", title="Savings by commitment level", float_digits=digits)
    click.echo(
        "Expected = mean over paths; P(> OD): share of paths paying more than all on-demand; "
        "return: extra expected savings per extra USD of commitment from the level above."
    )
