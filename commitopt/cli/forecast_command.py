"""``commitopt forecast``: future usage per week or month, P5 / P50 / P95 over sampled paths."""

from __future__ import annotations

import click
import pandas as pd

from commitopt.catalogs import local_catalog_path
from commitopt.cli.inputs import CommandInputs, input_options, warn_if_lookback_exceeds
from commitopt.cli.options import (
    horizon_option,
    lookback_option,
    paths_option,
    seed_option,
)
from commitopt.cli.output import emit_frame, emit_text, format_option
from commitopt.cli.progress import quiet_option, reporter
from core.durations import Duration, parse_duration
from core.errors import CommitoptInputError
from core.units import HOURS_PER_WEEK
from pricing.catalog import PriceCatalog
from scenarios.forecast import MIN_WEEKS, TREND_LEVELS, forecast
from usage.synthetic import demo_usage
from usage.table import UsageMatrix

DEMO_DAYS = 120
TABLE_COLUMNS = (
    "period_start", "p5_instance_hours", "p50_instance_hours", "p95_instance_hours",
    "p5_on_demand_cost_usd", "p50_on_demand_cost_usd", "p95_on_demand_cost_usd",
)  # fmt: skip
"""The columns a table shows without ``--wide``."""

FORECAST_EPILOG = """
\b
Examples:
  commitopt forecast --demo
  commitopt forecast --usage cur-2025-*.parquet --lookback 90d --horizon 1y --by month
  commitopt forecast --horizon 26w --by week --paths 1000 --seed 7 --format csv
  commitopt forecast --level family --catalog prices.parquet --format json
\b
Without --usage the workspace's usage is used, and only its last --lookback (at least the
model's weeks) is read from it; --demo uses a synthetic 120-day history.
The model: a damped Theil-Sen trend on weekly levels (per key, or per family in normalized
units) times whole weeks of the lookback drawn at random (a block bootstrap), each path
also drawing an error of the trend itself (--no-trend-error to leave it out). Durations:
h, d, w, mo (730 h), y (8,760 h); a bare number is days. Spend is on-demand-equivalent:
every instance-hour at its on-demand rate, before any commitment.
"""


def parse_horizon_hours(horizon: str | Duration) -> int:
    """``1y``, ``26w``, ``90d``, ``6mo``, ``720h`` or a bare number of days → hours (> 0)."""
    duration = parse_duration(horizon, "horizon")
    hours = round(duration.hours)
    if hours <= 0:
        raise CommitoptInputError(f"--horizon must be at least one hour, not {duration.text!r}")
    return hours


def _lookback(matrix: UsageMatrix, lookback: Duration) -> UsageMatrix:
    """The last ``--lookback`` of the usage, after checking it can feed the weekly model.

    A lookback longer than the usage takes all of it, as ``recommend``'s does: with a note for
    the default lookback, a warning for one given (:func:`warn_if_lookback_exceeds`).
    """
    needed = MIN_WEEKS * HOURS_PER_WEEK
    available = len(matrix.hours)
    first, last = matrix.hours[0], matrix.hours[-1] + pd.Timedelta(hours=1)
    span = f"{available / 24:.1f} days, {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"
    if available < needed:
        raise CommitoptInputError(
            f"the usage covers only {span}; the weekly model needs at least {MIN_WEEKS} full "
            f"weeks ({needed} hours) of history: give more usage"
        )
    hours, text = round(lookback.hours), lookback.text
    if hours > available:
        warn_if_lookback_exceeds((matrix.hours[0], matrix.hours[-1]), lookback)
        hours = available
    if hours < needed:
        raise CommitoptInputError(
            f"--lookback {text} is too short for the weekly model: it needs at least {MIN_WEEKS} "
            f"full weeks ({needed // 24}d = {needed} hours)"
        )
    return UsageMatrix(
        hours=matrix.hours[-hours:],
        keys=matrix.keys,
        quantity=matrix.quantity[-hours:],
        daily_granular=matrix.daily_granular,
    )


def _demo_history() -> pd.DataFrame:
    """The synthetic history of ``--demo`` (:data:`DEMO_DAYS` days)."""
    return demo_usage(hours=24 * DEMO_DAYS)


def _catalog(inputs: CommandInputs) -> PriceCatalog | None:
    """The catalog to price spend with (not the bill's own rates: spend is on-demand-equivalent),
    or ``None`` when there is none at all."""
    if not inputs.catalog_paths and inputs.no_embedded and not local_catalog_path().is_file():
        return None
    return inputs.catalog(bill_rates_first=False)


@click.command("forecast", epilog=FORECAST_EPILOG)
@input_options(inventory=False, bill="never", demo=_demo_history)
@lookback_option("90d")
@horizon_option("1y")
@paths_option(500)
@seed_option
@click.option(
    "--by", type=click.Choice(["week", "month"]), default="month", show_default=True,
    help="week: 168-hour blocks from the forecast start; month: calendar months (UTC).",
)  # fmt: skip
@click.option(
    "--level", type=click.Choice(["key", "family"]), default="key", show_default=True,
    help="Fit one trend per key, or per family (normalized units) spread by recent key shares.",
)  # fmt: skip
@click.option(
    "--trend-error/--no-trend-error", default=True, show_default=True,
    help="Also sample the error of the fitted trend per path (wider, better calibrated ranges).",
)  # fmt: skip
@format_option
@quiet_option
def forecast_command(
    inputs: CommandInputs,
    lookback: Duration,
    horizon: Duration,
    n_paths: int,
    seed: int,
    by: str,
    level: str,
    trend_error: bool,
    output_format: str,
) -> None:
    """Forecast usage and spend: P5 / P50 / P95 per period.

    Forecast usage: P5 / P50 / P95 of total instance-hours, normalized units and spend.

    Fits the trend and weekly shape of the lookback and samples future paths; prints per period
    the quantiles over the paths of the total over all keys. Spend is on-demand-equivalent.
    """
    if n_paths <= 0:
        raise CommitoptInputError(f"--paths must be at least 1, not {n_paths}")
    horizon_hours = parse_horizon_hours(horizon)
    read_hours = max(round(lookback.hours), MIN_WEEKS * HOURS_PER_WEEK)  # for _lookback's checks
    history = _lookback(inputs.usage_matrix_recent(purpose="forecast", hours=read_hours), lookback)
    catalog = _catalog(inputs)
    with reporter().task(f"forecasting {n_paths} usage paths"):
        result = forecast(
            history,
            horizon_hours=horizon_hours,
            n_paths=n_paths,
            seed=seed,
            level="family" if level == "family" else "key",
            trend_levels=TREND_LEVELS if trend_error else 0,
        )
        totals = result.totals(by="week" if by == "week" else "month", catalog=catalog)
    unpriced = int(totals.attrs.get("unpriced_keys", 0))
    if catalog is not None and unpriced:
        reporter().warning(
            f"{unpriced} of {len(history.keys)} keys have no on-demand rate "
            "in the catalog; their usage counts zero in on_demand_cost_usd (pass --catalog FILE)"
        )
    if output_format != "table":
        emit_frame(totals, output_format)
        return
    first, last = history.hours[0], history.hours[-1] + pd.Timedelta(hours=1)
    title = (
        f"Forecast per {by}, P5 / P50 / P95 over {n_paths} paths (lookback {first:%Y-%m-%d} to "
        f"{last:%Y-%m-%d}, {result.model.blocks} weeks used, level {level})"
    )
    emit_frame(
        totals,
        "table",
        title=title,
        float_digits={c: 0 for c in totals.columns if c.endswith("_hours")},
        narrow=TABLE_COLUMNS,
    )
    emit_text(
        "Totals over all keys per period: instance-hours, normalized unit-hours (--wide) and "
        "on-demand cost (every instance-hour at its on-demand rate, before any commitment)."
    )
