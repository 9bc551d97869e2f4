"""``commitopt backtest``: would these purchase policies have paid off over a past window?"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import pandas as pd

from commitopt.cli.inputs import CommandInputs, input_options
from commitopt.cli.options import (
    future_options,
    futures_from_options,
    lookback_option,
    multi_option,
    period_options,
)
from commitopt.cli.output import emit_frame, emit_json, format_option, frame_records
from commitopt.cli.progress import quiet_option, reporter
from core.durations import Duration, parse_calendar_step
from core.errors import CommitoptInputError
from core.times import as_utc
from planning.policies import (
    DEFAULT_LADDER_FRACTION,
    PLANNED_LADDER,
    POLICY_NAMES,
    run_backtest,
)
from scenarios.backtest import BacktestResult, whole_days
from scenarios.scenario_file import load_scenario
from usage.table import UsageMatrix

BACKTEST_EPILOG = f"""
\b
Examples:
  commitopt backtest --usage usage-2024.parquet --from 2024-04-01 --to 2025-04-01
  commitopt backtest --usage cur/*.parquet --policy ours-ladder --policy ce-30d --format json
  commitopt backtest --inventory owned.json --review-every 3mo --lookback 60d --format csv
  commitopt backtest --usage usage-2024.parquet --plans graviton-move.yaml
  commitopt backtest --usage usage-2024.parquet --policy ours-ladder --risk-weight 0
\b
Policies: {", ".join(POLICY_NAMES)} (default: all). ce-Nd buys Cost Explorer's best single
instrument for an N-day lookback; knee buys half the gap to a Compute SP knee at an assumed 25 %
discount; ours-oneshot is `commitopt recommend` at the first review; ours-ladder takes that
same decision at every review on top of what it owns and buys what it buys now; with --plans
FILE (a scenario file of changes planned in advance: migrations, exits, new workloads)
{PLANNED_LADDER} plans a monthly ladder on a 12-month forecast with those changes applied and
buys its first step. --risk-weight, --risk-level, --futures and the four rates set how the
ours-* policies draw and weigh their futures, as in `commitopt recommend` (--risk-weight 0: on
expected savings alone, no hedge). The hindsight row is the best plan
found with the window's real usage (purchases at every review), hindsight-oneshot the best
buying at the first review only; each comes with a certified bound on the savings any plan
buying those offerings at those dates can reach (ceiling_savings_usd). captured = savings /
that bound, captured_oneshot = savings / the one-shot bound.
Commitments running past --to are charged only for their hours inside the window, for every
policy and the hindsight alike. Default window: from the first month start with a whole lookback
before it, to the end of the data.
"""


def _month_start_from(moment: pd.Timestamp) -> pd.Timestamp:
    """The first month start at or after ``moment`` (UTC)."""
    month = moment.tz_convert(None).to_period("M").to_timestamp().tz_localize("UTC")
    return month if month == moment else month + pd.offsets.MonthBegin(1)


def _review_period(review_every: str) -> pd.DateOffset:
    """One review period of ``--review-every`` (a calendar step) as an offset."""
    count, unit = parse_calendar_step(review_every, "review_every")
    if unit == "mo":
        return pd.DateOffset(months=count)
    return pd.DateOffset(days=count * (7 if unit == "w" else 1))


def _longest_default_lookback_days(
    first: pd.Timestamp, stop: pd.Timestamp, review_every: str
) -> int:
    """The longest whole-day lookback whose default window (from the first month start after it
    to ``stop``) holds one whole review period [days]; 0 when none does."""
    period = _review_period(review_every)
    month = _month_start_from(stop - pd.Timedelta(hours=1)) - pd.offsets.MonthBegin(1)
    while month > first:
        if month + period <= stop:
            return int((month - first) // pd.Timedelta(days=1))
        month -= pd.offsets.MonthBegin(1)
    return 0


def _too_short_for_the_default_window(
    usage: UsageMatrix, lookback: Duration, review_every: str, default_start: pd.Timestamp
) -> CommitoptInputError:
    """The error for usage too short for the lookback plus one review period when the window was
    left to its default: the usage's span and the fix."""
    first = pd.Timestamp(usage.hours[0])
    stop = pd.Timestamp(usage.hours[-1]) + pd.Timedelta(hours=1)
    span_days = (stop - first) / pd.Timedelta(days=1)
    longest = _longest_default_lookback_days(first, stop, review_every)
    shorter = f"use --lookback {longest}d or less, or " if 0 < longest < lookback.days else ""
    return CommitoptInputError(
        f"the usage spans {span_days:.1f} days ({first:%Y-%m-%d %H:%M} to "
        f"{stop:%Y-%m-%d %H:%M} UTC), too short for the {lookback} lookback plus one review "
        f"period ({review_every}): without --from the window starts at the first month start a "
        f"whole lookback into the usage ({default_start:%Y-%m-%d}); {shorter}pass --from and "
        "--to (a window with a whole lookback of usage before it)"
    )


def _default_window(
    usage: UsageMatrix,
    start: datetime | None,
    end: datetime | None,
    lookback: Duration,
    review_every: str,
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The window ``[start, end)``: from the first month start a whole lookback into the usage
    (without ``--from``) to the end of the usage (without ``--to``).

    Raises
    ------
    core.errors.CommitoptInputError
        When neither is given and the usage is too short for the lookback plus one review
        period, or ``--to`` alone is not after the default start.
    """
    stop = pd.Timestamp(usage.hours[-1]) + pd.Timedelta(hours=1)
    end_stamp = stop if end is None else as_utc(end)
    if start is not None:
        return as_utc(start), end_stamp
    earliest = pd.Timestamp(usage.hours[0]) + pd.Timedelta(hours=round(lookback.days * 24))
    start_stamp = _month_start_from(earliest)
    if start_stamp < end_stamp:
        return start_stamp, end_stamp
    if end is None:
        raise _too_short_for_the_default_window(usage, lookback, review_every, start_stamp)
    raise CommitoptInputError(
        f"--to {end_stamp.isoformat()} is not after the default start of the window, "
        f"{start_stamp.isoformat()} (the first month start a whole {lookback} lookback into the "
        "usage); move --to later, shorten --lookback or pass --from"
    )


def _finite(value: float) -> float | None:
    """A figure, or ``None`` (JSON null) when it is NaN (no ceiling)."""
    return None if math.isnan(value) else value


def _payload(result: BacktestResult) -> dict[str, Any]:
    return {
        "status": str(result.status),
        "start": result.start.isoformat(),
        "end": result.end.isoformat(),
        "review_dates": [date.isoformat() for date in result.review_dates],
        "lookback_days": result.lookback_days,
        "window_accounting": "commitments are charged only for their hours inside the window",
        "ceiling_savings_usd": _finite(result.ceiling_savings_usd),
        "ceiling_gap_pct": _finite(result.ceiling_gap_pct),
        "oneshot_ceiling_savings_usd": _finite(result.oneshot_ceiling_savings_usd),
        "oneshot_ceiling_gap_pct": _finite(result.oneshot_ceiling_gap_pct),
        "results": frame_records(result.table()),
        "purchases": [
            {"policy": outcome.name, "purchases": [p.to_json_item() for p in outcome.purchases]}
            for outcome in (
                *result.outcomes.values(),
                *(o for o in (result.hindsight, result.hindsight_oneshot) if o is not None),
            )
        ],
        "notes": list(result.notes),
    }


@click.command("backtest", epilog=BACKTEST_EPILOG)
@input_options()
@multi_option("--policy", "policies", help_text=f"Policies to compare [default: all]: "
              f"{', '.join(POLICY_NAMES)}, {PLANNED_LADDER} (with --plans).")  # fmt: skip
@click.option(
    "--plans",
    "known_changes",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Scenario file (YAML/JSON) of changes known in advance; adds {PLANNED_LADDER}.",
)
@period_options
@click.option(
    "--review-every",
    default="1mo",
    show_default=True,
    help="Review interval, a calendar step: 14d, 2w, 1mo, 3mo, 1y.",
)
@lookback_option("90d")
@click.option(
    "--ladder-fraction",
    type=float,
    default=DEFAULT_LADDER_FRACTION,
    show_default=True,
    help="Share of each review's recommended increment ours-ladder buys (0-1].",
)
@future_options
@format_option
@quiet_option
def backtest_command(
    inputs: CommandInputs,
    policies: tuple[str, ...],
    known_changes: Path | None,
    start: datetime | None,
    end: datetime | None,
    review_every: str,
    lookback: Duration,
    ladder_fraction: float,
    output_format: str,
    **future_values: Any,
) -> None:
    """Replay purchase policies over past usage; bill each.

    Replay purchase policies month by month over past usage and bill each with AWS's rules.

    At each review a policy sees only the usage before it (at most --lookback) and what it owns,
    and buys; the whole window is then billed by the simulator. The hindsight optimum is shown
    as the ceiling, with each policy's share of it.
    """
    lookback_days = lookback.days
    if not 0.0 < ladder_fraction <= 1.0:
        raise CommitoptInputError(f"--ladder-fraction {ladder_fraction} must be in (0, 1]")
    changes = None if known_changes is None else load_scenario(known_changes)
    # only what the replay reads: the first review's lookback to the window's end (a
    # workspace's whole history when no --from is given: the default window starts a
    # lookback after it), straight into a matrix
    read_from = None
    if start is not None:
        read_from = (as_utc(start) - pd.Timedelta(hours=round(lookback_days * 24))).to_pydatetime()
    usage = whole_days(
        inputs.usage_of_period(purpose="backtest on", start=read_from, end=end, demo_option=False)
    )
    window_start, window_end = _default_window(usage, start, end, lookback, review_every)
    owned = inputs.owned()
    catalog = inputs.catalog()
    with reporter().task("backtesting the policies", unit="steps") as progress:
        result = run_backtest(
            usage,
            catalog,
            policies or POLICY_NAMES,
            start=window_start,
            end=window_end,
            review_every=review_every,
            lookback_days=lookback_days,
            owned=owned,
            ladder_fraction=ladder_fraction,
            known_changes=changes,
            progress=progress,
            future=futures_from_options(**future_values),
        )
    for note in result.notes:
        reporter().note(f"note: {note}")
    if output_format == "json":
        emit_json(_payload(result))
        return
    table = result.table()
    if output_format == "csv":
        emit_frame(table, "csv")
        return
    title = (
        f"Backtest {result.start:%Y-%m-%d} to {result.end:%Y-%m-%d}, "
        f"{len(result.review_dates)} reviews, {result.lookback_days:g}-day lookback "
        f"({result.status})"
    )
    emit_frame(table, "table", title=title, narrow=TABLE_COLUMNS)


TABLE_COLUMNS = (
    "policy", "actual_cost_usd", "savings_vs_on_demand_usd", "savings_vs_on_demand_pct",
    "captured_pct", "coverage_pct", "utilization_pct", "purchase_count",
)  # fmt: skip
"""The columns a table shows without ``--wide``."""
