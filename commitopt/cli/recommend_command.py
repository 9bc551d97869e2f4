"""``commitopt recommend``: the RI and Savings Plan purchases that minimise expected cost."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import pandas as pd

from commitopt.cli.inputs import (
    CommandInputs,
    check_writable,
    input_options,
    open_workspace,
)
from commitopt.cli.options import (
    decision_options,
    futures_from_options,
    lookback_option,
    min_increment_option,
    next_review_option,
    plans_option,
    recency_half_life_option,
    stopped_after_option,
)
from commitopt.cli.output import (
    commitment_columns,
    emit_frame,
    emit_json,
    emit_mapping,
    emit_text,
    format_option,
    require_out_folder,
    wide,
)
from commitopt.cli.policy_options import policy_from_options, policy_options
from commitopt.cli.progress import quiet_option, reporter, solver_progress, with_flags
from commitopt.identity import current_identity
from commitopt.plans import store_plan
from commitopt.report import build_report_data
from commitopt.review import fingerprint, input_fingerprints, plan_report
from core.durations import Duration
from core.errors import CommitoptInputError
from optimizer.policy import Policy
from planning.future import decision_size_note
from planning.future_changes import check_plan_for_decision, known_changes_sentence
from planning.increment import MIN_INCREMENT_PCT
from planning.recency import RECENCY_HALF_LIFE_DAYS, STOPPED_AFTER_DAYS
from planning.recommend import (
    DEFAULT_LOOKBACK_DAYS,
    RecommendationRun,
    RecommendOptions,
    recommend,
)
from planning.review import ReviewOptions, expiring_commitments
from planning.stress import STRESS_BUDGET_KEY_HOURS, STRESSED_FAMILIES, worst_stress_sentence
from pricing.atomic import write_text_atomic
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment, Inventory
from scenarios.known_changes import check_known_changes
from scenarios.scenario_file import load_scenario
from usage.synthetic import demo_usage

SOLVER_NAMES = ("highs", "glop", "pdlp", "cbc", "scipy")

RECOMMEND_EPILOG = """
\b
Examples:
  commitopt recommend --demo
  commitopt recommend --usage cur-2025-*.parquet --lookback 30d --explain
  commitopt recommend --inventory owned.json --term 1,3 --payment no,all --max-upfront 50000
  commitopt recommend --instruments compute-sp --target-coverage 80
  commitopt recommend --custom-commitment compute-sp=12.5 --format json --out plan.json
  commitopt recommend --exact --decide-on lookback --export-model model.mps
  commitopt recommend --risk-weight 0          # maximise expected savings, no hedge
  commitopt recommend --decide-on lookback     # Cost Explorer's way: the lookback repeats
  commitopt recommend --plans graviton-move.yaml    # a planned migration applied to the futures
  commitopt recommend --region-migration-rate 0.3   # a region move likely, not yet dated
  commitopt recommend --usage cur.parquet --save     # then another person: commitopt approve PLAN
\b
Without --usage the workspace's usage is used; --demo uses a synthetic 60-day history.
Percentages may be given as 80 or 0.8. The purchases are chosen on 40 sampled futures over the
term (the lookback's trend and recent weeks, fleets that migrate or exit), weighing the mean loss
against on-demand of the worst 10 % of them, a future that saves counting as none (--risk-weight,
--risk-level). Money figures come from billing the
lookback with the billing simulator (AWS's rules), with and without the purchases, and the
futures (expected savings over the term, P5, chance of a loss). Nothing is bought. --save stores
the plan with its policy, inputs' fingerprints, your identity and its HTML report (whose header
shows the plan id and SHA-256); `commitopt report PLAN --out plan.html` writes that report.
"""


@click.command("recommend", epilog=RECOMMEND_EPILOG)
@input_options(demo=demo_usage)
@lookback_option(f"{DEFAULT_LOOKBACK_DAYS}d")
@stopped_after_option(f"{STOPPED_AFTER_DAYS:g}d")
@decision_options
@plans_option
@recency_half_life_option(f"{RECENCY_HALF_LIFE_DAYS:g}d")
@min_increment_option(MIN_INCREMENT_PCT)
@next_review_option(None)
@policy_options
@click.option(
    "--solver", type=click.Choice(SOLVER_NAMES), default="highs", show_default=True,
    help="LP solver.",
)  # fmt: skip
@click.option(
    "--exact",
    is_flag=True,
    help="Solve the full LP instead of certified cutting planes (on the futures it is large: "
    "add --decide-on lookback for the lookback's LP).",
)
@click.option(
    "--integer",
    is_flag=True,
    help="Solve the mixed-integer model (whole RIs; large on the futures, see --exact).",
)
@click.option(
    "--gap", type=float, default=0.1, show_default=True,
    help="Certified optimality gap of the cutting planes [%].",
)  # fmt: skip
@click.option("--time-limit", type=float, default=None, help="Solver time limit [s].")
@click.option(
    "--export-model", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Write the model as .lp or .mps for audit.",
)  # fmt: skip
@click.option(
    "--ri-size", default=None, help="Buy RIs of this size (m5.xlarge) [default: smallest]."
)
@click.option(
    "--stress",
    "stressed_families",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Bill the plan again with each of the N families it holds the most RIs and EC2 "
    "Instance Savings Plans for moved to a newer family, or retired, as the purchases start, "
    "and show what the purchases would save (summary.stress); 0 skips it. [default: "
    f"{STRESSED_FAMILIES}, none above {STRESS_BUDGET_KEY_HOURS:,} key-hours of lookback]",
)
@click.option("--explain", "show_explanations", is_flag=True, help="Explain every purchase.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Also write the portfolio JSON there (atomically).",
)  # fmt: skip
@click.option(
    "--save", is_flag=True,
    help="Also store the recommendation, its policy and its report as a proposed plan.",
)  # fmt: skip
@format_option
@quiet_option
def recommend_command(
    inputs: CommandInputs,
    lookback: Duration,
    stopped_after: Duration,
    decide_on: str,
    futures_count: int,
    risk_weight: float,
    risk_level: float,
    migration_rate: float,
    exit_rate: float,
    region_migration_rate: float,
    region_exit_rate: float,
    follow_growth: bool,
    known_changes: Path | None,
    recency_half_life: Duration,
    min_increment: float,
    next_review: Duration | None,
    solver: str,
    exact: bool,
    integer: bool,
    gap: float,
    time_limit: float | None,
    export_model: Path | None,
    ri_size: str | None,
    stressed_families: int | None,
    show_explanations: bool,
    out: Path | None,
    save: bool,
    output_format: str,
    **policy_values: Any,
) -> None:
    """The RIs and Savings Plans to buy now, and why.

    Recommend the Reserved Instances and Savings Plans to buy now, and explain each.

    One linear program chooses the whole mix (RIs of every allowed class, term and payment,
    EC2 Instance and Compute Savings Plans) on top of what is owned, solved exactly or within a
    certified gap; RIs are rounded to whole instances and the plan is billed with AWS's rules.
    """
    if exact and integer:
        raise CommitoptInputError("--exact and --integer exclude each other; choose one")
    if gap <= 0:
        raise CommitoptInputError(f"--gap must be above 0 %, not {gap}")
    days = lookback.days
    if out is not None:
        require_out_folder(out)  # known before the solve, not after it
    if save:
        check_writable(inputs.workspace)  # busy is known before the solve, not after it
    plan = None if known_changes is None else load_scenario(known_changes)
    usage = inputs.usage_matrix(purpose="optimize", lookback=lookback)
    size_note = decision_size_note(len(usage.keys), futures_count)
    if decide_on == "forecast" and size_note is not None:
        reporter().note(size_note)
    inventory = Inventory(inputs.owned(), as_of=pd.Timestamp.now(tz="UTC"))
    catalog = inputs.catalog()
    if plan is not None:
        check_plan_for_decision(plan)
        check_known_changes(plan, usage, catalog)  # every name it uses occurs in the usage
    policy = policy_from_options(policy_values)
    options = RecommendOptions(
        exact=exact,
        integer=integer,
        tolerance=gap / 100.0,
        solver=solver,
        time_limit_seconds=time_limit,
        export_path=export_model,
        ri_instance_type=ri_size,
        lookback_days=days,
        stopped_after_days=stopped_after.days,
        decide_on=decide_on,
        future=dataclasses.replace(
            futures_from_options(
                futures_count=futures_count,
                risk_weight=risk_weight,
                risk_level=risk_level,
                migration_rate=migration_rate,
                exit_rate=exit_rate,
                region_migration_rate=region_migration_rate,
                region_exit_rate=region_exit_rate,
            ),
            follow_growth=follow_growth,
            next_review_hours=None if next_review is None else next_review.hours,
            known_changes=plan,
        ),
        recency_half_life_days=recency_half_life.days,
        min_increment_pct=min_increment,
        stressed_families=stressed_families,
    )
    with reporter().task("optimizing the portfolio") as task:
        run = recommend(
            usage, catalog, policy, owned=inventory, options=options, progress=solver_progress(task)
        )
    for warning in run.warnings:
        reporter().warning(warning)
    if (renewal := _renewal_note(run, inventory.commitments)) is not None:
        reporter().note(renewal)
    if output_format != "table":  # the table prints them after the summary
        for note in run.notes:
            reporter().note(note)
    text = json.dumps(run.portfolio, indent=2, default=str)
    if out is not None:
        write_text_atomic(out, text + "\n")
    if save:
        _save_plan(run, json.loads(text), inputs, catalog, inventory, policy)
    if output_format == "json":
        emit_json(run.portfolio)
        return
    purchases = pd.DataFrame([p.to_json_item() for p in run.purchases])
    if "count" in purchases:
        purchases["count"] = purchases["count"].astype("Int64")
    if output_format == "csv":
        emit_frame(purchases, "csv")
        return
    _print_for_people(run, purchases, show_explanations)


def _renewal_note(run: RecommendationRun, owned: Sequence[Commitment]) -> str | None:
    """A note when owned commitments end within a review's window of the data and something is
    bought: the purchases start now, so what replaces them is paid twice until they end, where
    ``commitopt review`` would queue it (``None`` otherwise)."""
    if not run.purchases or not len(run.usage.hours):
        return None
    data_end = pd.Timestamp(run.usage.hours[-1]).to_pydatetime() + timedelta(hours=1)
    days = ReviewOptions().expiring_within_days
    ending = expiring_commitments(owned, data_end, days)
    if not ending:
        return None
    ids = ", ".join(c.id for c in ending[:3]) + (", …" if len(ending) > 3 else "")
    return (
        f"{len(ending)} owned commitment(s) end within {days:g} days of the data ({ids}; the "
        f"last on {ending[-1].end:%Y-%m-%d}): these purchases start when bought, so the part "
        "that replaces them is paid twice until they end; `commitopt review` queues their "
        "replacement to start when they end"
    )


SUMMARY_FIELDS = (
    "period_start", "period_hours", "on_demand_cost_usd", "current_cost_usd", "planned_cost_usd",
    "savings_vs_current_usd", "savings_vs_current_pct", "savings_vs_on_demand_pct",
    "coverage_pct", "utilization_pct", "upfront_usd", "effective_usd_per_hour",
    "run_rate_usd_per_month",
)  # fmt: skip
"""The summary's fields a table shows without ``--wide``."""

PURCHASE_COLUMNS = (
    "id", "kind", "region", "covers", "count", "offering", "effective_usd_per_hour", "upfront_usd"
)  # fmt: skip
"""The purchase columns a table shows without ``--wide``."""


def _print_for_people(
    run: RecommendationRun, purchases: pd.DataFrame, show_explanations: bool
) -> None:
    """The summary, the purchases and (with ``--explain``) why, as tables."""
    summary = run.summary
    flat = {k: v for k, v in summary.items() if not isinstance(v, dict)}
    shown = flat if wide() else {k: flat[k] for k in SUMMARY_FIELDS if k in flat}
    emit_mapping(shown, "table", title="Recommendation, billed over the lookback")
    decision = summary.get("decided_on", {})
    if decision.get("basis") == "forecast":
        emit_text(
            f"Decided on {decision['futures']} futures over {decision['term_hours'] / 730:.0f} "
            f"months: expected savings {decision['expected_savings_usd']:,.2f} USD, P5 "
            f"{decision['p5_savings_usd']:,.2f} USD, a loss in "
            f"{decision['loss_probability_pct']:g} % of them; "
            f"{decision['structural_events']['rates']}."
        )
        known = decision.get("known_changes")
        if known is not None:
            emit_text(known_changes_sentence(known))
    if run.stress:
        emit_frame(
            pd.DataFrame([item.as_record() for item in run.stress]),
            "table",
            title="If a family moved or was retired as the purchases start (over the lookback)",
        )
        emit_text(worst_stress_sentence(summary) or "")
    for note in run.notes:
        emit_text(with_flags(note))
    optimizer = summary["optimizer"]
    if wide():
        emit_mapping(optimizer, "table", title="Optimizer")
        emit_mapping(summary["cost_explorer"], "table", title="In Cost Explorer's terms")
    else:
        emit_text(
            f"Optimizer: {optimizer['status']} ({optimizer['method']}, {optimizer['solver']}), "
            f"certified gap {optimizer['certified_gap_pct']:g} %, "
            f"{optimizer['solve_seconds']:g} s. --wide shows every figure."
        )
    if purchases.empty:
        emit_text("No purchase lowers the cost under this policy.")
        return
    emit_frame(commitment_columns(purchases), "table", title="Purchases", narrow=PURCHASE_COLUMNS)
    _print_payment_options(summary.get("payment_options"))
    if show_explanations and not run.explanations.empty:
        figures = run.explanations[["id", "expected_utilization_pct", "break_even_utilization_pct",
                                    "break_even_month", "marginal_savings_usd_per_unit",
                                    "net_savings_vs_on_demand_usd"]]  # fmt: skip
        emit_frame(figures, "table", title="Why")
        for row in run.explanations[["id", "explanation"]].itertuples(index=False):
            emit_text(f"{row.id}: {row.explanation}")


PAYMENT_OPTION_COLUMNS = (
    "payment_option", "upfront_usd", "recurring_usd_per_hour", "term_cost_usd",
    "savings_vs_no_upfront_usd", "present_value_usd", "present_value_savings_vs_no_upfront_usd",
)  # fmt: skip
"""The columns of the payment options table (``--wide`` adds one row per purchase line)."""


def _print_payment_options(options: dict[str, Any] | None) -> None:
    """What All and Partial Upfront would add for the same purchases, as a short table."""
    if not options or not options.get("payment_option_totals"):
        return
    totals = pd.DataFrame(options["payment_option_totals"])
    rate = float(options.get("discount_rate", 0.0))
    emit_frame(
        totals.loc[:, [c for c in PAYMENT_OPTION_COLUMNS if c in totals.columns]],
        "table",
        title=f"Payment options for the same purchases (present value at {100 * rate:g} %/year)",
    )
    if wide():
        lines = pd.DataFrame(options["payment_option_lines"])
        emit_frame(
            lines.loc[:, ["id", "description", *PAYMENT_OPTION_COLUMNS]],
            "table",
            title="Payment options per purchase",
        )


def _save_plan(
    run: RecommendationRun,
    portfolio: dict[str, Any],
    sources: CommandInputs,
    catalog: PriceCatalog,
    inventory: Inventory,
    policy: Policy,
) -> None:
    """Store the recommendation as a proposed plan with its policy, inputs' fingerprints and
    report (one transaction: the run and the plan), recorded under the current identity."""
    if not run.purchases:
        reporter().warning("nothing to save: the recommendation buys nothing")
        return
    files = {
        f"inventory_file:{p.name}": fingerprint(p.read_bytes()) for p in sources.inventory_files
    }
    inputs = input_fingerprints(run, catalog, inventory.commitments, files)
    started = datetime.now(UTC)
    identity = current_identity()
    policy_fields = dataclasses.asdict(policy)
    with reporter().task("billing the plan for its report"):
        data = build_report_data(
            run,
            catalog=catalog,
            owned=tuple(inventory.commitments),
            title=f"Recommendation of {started:%Y-%m-%d}",
            generated_at=started,
            purchase_date=started,
        )
    with open_workspace(sources.workspace) as store, store.transaction():
        run_id = store.record_run(
            "recommend",
            parameters={"lookback_days": run.options.lookback_days, "policy": policy_fields},
            inputs=inputs,
            outcome={"purchases": len(run.purchases)},
            started_at=started,
            actor=identity.as_mapping(),
        )
        plan = store_plan(
            store,
            portfolio,
            source="recommend",
            inputs=inputs,
            policy=policy_fields,
            render_report=plan_report(data, "html"),
            run_id=run_id,
            created_by=identity,
        )
    reporter().outcome(
        f"saved as plan {plan.plan_id} (proposed, sha256 {plan.stored_sha256}, with its report); "
        f"another person approves it with `commitopt approve {plan.plan_id}`"
    )
