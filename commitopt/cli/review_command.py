"""``commitopt review``: the scheduled purchase review (for cron: no prompts, logs on stderr)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from commitopt.cli.inputs import (
    CommandInputs,
    input_options,
    lookback_start,
    open_workspace,
    warn_if_lookback_exceeds,
)
from commitopt.cli.options import (
    expiring_within_option,
    horizon_option,
    lookback_option,
    min_increment_option,
    next_review_option,
    paths_option,
    plans_option,
    recency_half_life_option,
    seed_option,
    stopped_after_option,
)
from commitopt.cli.output import emit_mapping, format_option, path_savings_fields
from commitopt.cli.policy_options import policy_from_options, policy_options
from commitopt.cli.progress import Task, quiet_option, reporter, solver_progress
from commitopt.cli.usage_commands import ImportChecks, import_files
from commitopt.review import fingerprint, run_review
from commitopt.workspace import Workspace
from core.durations import Duration
from core.errors import CommitoptInputError
from planning.future import FutureOptions
from planning.future_changes import check_plan_for_decision
from planning.increment import MIN_INCREMENT_PCT
from planning.recency import RECENCY_HALF_LIFE_DAYS, STOPPED_AFTER_DAYS
from planning.recommend import DEFAULT_LOOKBACK_DAYS, RecommendOptions
from planning.review import ReviewOptions
from pricing.atomic import write_text_atomic
from scenarios.known_changes import check_known_changes
from scenarios.scenario_file import load_scenario

REVIEW_EPILOG = """
\b
Examples:
  commitopt review
  commitopt review --usage 'cur/2026-11/*.parquet' --inventory owned.json --quiet
  commitopt review --lookback 30d --expiring-within 60d --paths 500 --report-out review.html
  commitopt review --no-queue-renewals   # replace expiring commitments now, not at their end
  commitopt review --plans graviton-move.yaml     # a planned migration applied to the futures
\b
cron (the first of every month at 06:00):
  0 6 1 * *  cd /srv/finops && commitopt review --usage 'cur/*.parquet' --quiet
\b
Reads the workspace's usage of the lookback only (after importing --usage files, if any),
recommends the increment on top of the owned commitments (--inventory), queues the replacement
of those ending within --expiring-within to start when they end, bills the plan and the
current portfolio over the lookback and over --paths forecast usage paths, and stores a dated
plan with status `proposed`,
its inputs' fingerprints and the finance report. Approve it with `commitopt approve PLAN`.
Exit 0 also when there is nothing to buy. Defaults may come from commitopt.toml.
"""


def _logger(task: Task) -> Callable[[str], None]:
    """Each step of the review: a note (timestamped when stderr is not a terminal) and the
    step shown beside the progress."""

    def log(line: str) -> None:
        reporter().note(f"review: {line}")
        task.update(detail=line)

    return log


def _import_usage(
    store: Workspace, usage_files: tuple[str, ...], log: Callable[[str], None]
) -> int:
    """Import usage files as ``usage import`` does (same checks and ledger); the import id."""
    done = import_files(store, usage_files, "auto", ImportChecks())
    if not done.usage_row_count:
        raise CommitoptInputError(
            f"--usage {' '.join(usage_files)}: no EC2 instance usage in these files"
        )
    start, end = done.period
    log(
        f"imported {done.usage_row_count:,} usage rows ({start:%Y-%m-%d} to {end:%Y-%m-%d}) as "
        f"{done.stored.import_id}"
    )
    return done.stored.import_id


@click.command("review", epilog=REVIEW_EPILOG)
@input_options()
@lookback_option(f"{DEFAULT_LOOKBACK_DAYS}d")
@stopped_after_option(f"{STOPPED_AFTER_DAYS:g}d")
@recency_half_life_option(f"{RECENCY_HALF_LIFE_DAYS:g}d")
@min_increment_option(MIN_INCREMENT_PCT)
@next_review_option("30d")
@plans_option
@expiring_within_option("30d")
@click.option(
    "--queue-renewals/--no-queue-renewals", default=True, show_default=True,
    help="Replace each owned commitment that ends within --expiring-within by a purchase "
    "queued to start the hour it ends (AWS queued purchases: nothing is paid twice; one more "
    "decision per day with endings, at most 4; RDS and other database reservations cannot be "
    "queued and start now); --no-queue-renewals decides with their real ends, so a "
    "replacement is bought now.",
)  # fmt: skip
@paths_option(200)
@horizon_option("365d")
@seed_option
@click.option(
    "--report-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Also write the report there (.html or .md), atomically.",
)  # fmt: skip
@policy_options
@format_option
@quiet_option
def review_command(
    inputs: CommandInputs,
    lookback: Duration,
    stopped_after: Duration,
    recency_half_life: Duration,
    min_increment: float,
    next_review: Duration,
    known_changes: Path | None,
    expiring_within: Duration,
    queue_renewals: bool,
    n_paths: int,
    horizon: Duration,
    seed: int,
    report_out: Path | None,
    output_format: str,
    **policy_values: Any,
) -> None:
    """The scheduled purchase review: store a proposed plan.

    Run the purchase review and store its plan as `proposed` (for cron: no prompts).

    Recommends the increment on top of what is owned, weighs it over forecast usage paths,
    writes the finance report, and stores plan, inputs' fingerprints and report in the
    workspace, all or nothing.
    """
    policy = policy_from_options(policy_values)
    if n_paths < 0:
        raise CommitoptInputError(f"--paths must be 0 or more, not {n_paths}")
    horizon_hours = round(horizon.hours)
    if horizon_hours < 168:
        raise CommitoptInputError(f"--horizon {horizon} is under a week; give e.g. 90d or 365d")
    report_format = "html"
    if report_out is not None:
        report_format = {".md": "md", ".html": "html", ".htm": "html"}.get(report_out.suffix, "")
        if not report_format:
            raise CommitoptInputError(f"--report-out {report_out}: name a .html or .md file")
    plan = None if known_changes is None else load_scenario(known_changes)
    if plan is not None:
        check_plan_for_decision(plan)
    options = ReviewOptions(
        recommend=RecommendOptions(
            lookback_days=lookback.days,
            stopped_after_days=stopped_after.days,
            recency_half_life_days=recency_half_life.days,
            min_increment_pct=min_increment,
            future=FutureOptions(known_changes=plan, next_review_hours=next_review.hours),
        ),
        expiring_within_days=expiring_within.days,
        queue_renewals=queue_renewals,
        n_paths=n_paths,
        horizon_hours=horizon_hours,
        seed=seed,
    )
    fingerprints: dict[str, Any] = {
        f"inventory_file:{path.name}": fingerprint(path.read_bytes())
        for path in inputs.inventory_files
    }
    if known_changes is not None:
        fingerprints[f"plans_file:{known_changes.name}"] = fingerprint(known_changes.read_bytes())
    catalog = inputs.catalog(bill_rates_first=False)  # the catalogs: usage is the workspace's
    with open_workspace(inputs.workspace) as store, reporter().task("reviewing") as task:
        log = _logger(task)
        with store.transaction():
            if inputs.usage_files:
                fingerprints["usage_import"] = _import_usage(store, inputs.usage_files, log)
            span = store.usage_span()
            if span is None:
                raise CommitoptInputError(
                    "the workspace has no usage; pass --usage FILES or run `commitopt usage import`"
                )
            warn_if_lookback_exceeds(span, lookback)
            # only the lookback is read, straight into a matrix: the review decides on it and
            # forecasts from it, and a year of 1,000 keys never becomes an 8.76 M-row table
            usage = store.load_usage_matrix(start=lookback_start(span, round(lookback.days * 24)))
            if plan is not None:
                check_known_changes(plan, usage, catalog)  # every name it uses occurs
            owned = inputs.owned(store=store)
            outcome = run_review(
                store, usage, catalog, policy, owned=owned, options=options,
                report_format=report_format, inputs=fingerprints, log=log,
                progress=solver_progress(task),
            )  # fmt: skip
        if outcome.report is not None and report_out is not None:
            write_text_atomic(report_out, outcome.report)
            log(f"report written to {report_out}")
    for warning in outcome.run.warnings:  # as `recommend` says them: stopped, fallen, young keys
        reporter().warning(warning)
    summary: dict[str, Any] = {
        "plan_id": outcome.plan.plan_id if outcome.plan else None,
        "status": "proposed" if outcome.plan else "nothing to buy",
        "purchase_count": len(outcome.run.purchases) + len(outcome.renewals),
        "queued_renewal_count": len(outcome.renewals),
        "expiring_commitment_count": len(outcome.expiring),
        "period_hours": outcome.run.summary.get("period_hours"),
        "savings_vs_current_usd": outcome.run.summary.get("savings_vs_current_usd"),
        "upfront_usd": outcome.run.summary.get("upfront_usd"),
    }
    if outcome.proposed_paths is not None and outcome.current_paths is not None:
        saved = (
            outcome.current_paths.paths["actual_cost_usd"]
            - outcome.proposed_paths.paths["actual_cost_usd"]
        )
        p5, p50, p95 = saved.quantile([0.05, 0.5, 0.95])
        summary |= path_savings_fields((p5, p50, p95), horizon_hours)
    if report_out is not None and outcome.report is not None:
        summary["report_path"] = str(report_out)
    emit_mapping(summary, output_format, title="Purchase review")
