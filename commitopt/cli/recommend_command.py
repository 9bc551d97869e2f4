"""``commitopt recommend``: the RI and Savings Plan purchases that minimise expected cost."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pandas as pd

from commitopt.catalogs import resolve_catalog
from commitopt.cli.options import catalog_options, multi_option
from commitopt.cli.output import emit_frame, emit_mapping, format_option
from commitopt.cli.progress import live_status
from commitopt.cli.usage_commands import workspace_option
from commitopt.durations import parse_days as parse_lookback_days
from commitopt.recommend import DEFAULT_LOOKBACK_DAYS, RecommendOptions, recommend
from commitopt.workspace import Workspace
from optimizer.policy import INSTRUMENTS, Mode, Policy
from pricing.atomic import write_text_atomic
from pricing.errors import CommitoptInputError
from pricing.inventory import Inventory, read_portfolio_json
from pricing.readers.cur_rates import read_cur_rates
from usage.readers import detect_format, read_usage
from usage.synthetic import demo_usage

PAYMENTS = {"no": "No Upfront", "partial": "Partial Upfront", "all": "All Upfront"}
SOLVER_NAMES = ("highs", "glop", "pdlp", "cbc", "scipy")

RECOMMEND_EPILOG = """
\b
Examples:
  commitopt recommend --demo
  commitopt recommend --usage cur-2025-*.parquet --lookback 30d --explain
  commitopt recommend --inventory owned.json --term 1,3 --payment no,all --max-upfront 50000
  commitopt recommend --instruments compute-sp --target-coverage 80
  commitopt recommend --custom-commitment compute-sp=12.5 --format json --out plan.json
  commitopt recommend --exact --export-model model.mps --solver highs
\b
Without --usage the workspace's usage is used; --demo uses a synthetic 60-day history.
Percentages may be given as 80 or 0.8. Money figures come from billing the lookback with the
billing simulator (AWS's rules), with and without the purchases. Nothing is bought.
"""


def parse_share(text: float | None, option: str) -> float | None:
    """A share given as 0–1 or as a percentage 1–100 → 0–1."""
    if text is None:
        return None
    value = float(text)
    share = value / 100.0 if value > 1.0 else value
    if not 0.0 <= share <= 1.0:
        raise CommitoptInputError(f"{option} must be between 0 and 100 %, not {text}")
    return share


def parse_custom_commitment(text: str | None) -> tuple[str | None, float | None]:
    """``compute-sp=12.5`` → (``"compute-sp"``, 12.5)."""
    if text is None:
        return None, None
    kind, _, amount = text.partition("=")
    kind = kind.strip().lower()
    if kind not in ("compute-sp", "ec2-sp") or not amount:
        raise CommitoptInputError(
            f"--custom-commitment {text!r}: write compute-sp=USD_PER_HOUR or ec2-sp=USD_PER_HOUR"
        )
    try:
        value = float(amount)
    except ValueError as error:
        raise CommitoptInputError(
            f"--custom-commitment {text!r}: {amount!r} is not a number of USD per hour"
        ) from error
    return kind, value


def _choices(
    values: tuple[str, ...], allowed: dict[str, str] | tuple[str, ...], option: str
) -> tuple[str, ...]:
    names = allowed if isinstance(allowed, dict) else {name: name for name in allowed}
    unknown = [v for v in values if v.lower() not in names]
    if unknown:
        raise CommitoptInputError(
            f"{option}: unknown value {', '.join(unknown)}; use {', '.join(names)}"
        )
    return tuple(dict.fromkeys(names[v.lower()] for v in values))


@click.command("recommend", epilog=RECOMMEND_EPILOG)
@click.option("--usage", "usage_files", multiple=True, help="Usage files (globs; repeatable).")
@click.option("--demo", is_flag=True, help="Use a synthetic 60-day multi-account history.")
@click.option(
    "--inventory",
    "inventory_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Portfolio JSON of commitments already owned (repeatable).",
)
@click.option(
    "--lookback", default=f"{DEFAULT_LOOKBACK_DAYS}d", show_default=True,
    help="History that stands for the future: 7d, 30d, 60d, 12w, 720h.",
)  # fmt: skip
@multi_option("--instruments", help_text="ri, ec2-sp, compute-sp [default: all three].")
@multi_option("--term", help_text="Terms in years: 1, 3 [default: 1].")
@multi_option("--payment", help_text="no, partial, all [default: no].")
@multi_option("--class", "offering_classes", help_text="RI class: standard, convertible.")
@multi_option("--accounts", help_text="Only these accounts' usage.")
@multi_option("--exclude-accounts", help_text="Leave these accounts' usage out.")
@multi_option("--regions", help_text="Only these regions.")
@multi_option("--exclude-regions", help_text="Leave these regions out.")
@multi_option("--families", help_text="Only these instance families (m5, c5, …).")
@multi_option("--exclude-families", help_text="Leave these families out.")
@click.option("--max-upfront", type=float, default=None, help="Cap on upfront cash [USD].")
@click.option(
    "--max-hourly-commitment", type=float, default=None,
    help="Cap on the new purchases' cost per hour [USD/h].",
)  # fmt: skip
@click.option("--target-coverage", type=float, default=None, help="Reach this coverage [%].")
@click.option("--coverage-ceiling", type=float, default=None, help="Cover at most this [%].")
@click.option(
    "--min-utilization", type=float, default=None,
    help="Least expected utilization of each new purchase [%].",
)  # fmt: skip
@click.option(
    "--custom-commitment", default=None, metavar="KIND=USD",
    help="Fix one SP type's new commitment (compute-sp=12.5) and optimize the rest around it.",
)  # fmt: skip
@click.option(
    "--discount-rate", type=float, default=0.0, show_default=True,
    help="Yearly rate for the time value of money (0.08 = 8 %).",
)  # fmt: skip
@click.option(
    "--ladder", type=click.Choice(["none", "monthly"]), default="none", show_default=True,
    help="monthly: also schedule purchases at the start of each later month (a ladder plan).",
)  # fmt: skip
@click.option(
    "--solver", type=click.Choice(SOLVER_NAMES), default="highs", show_default=True,
    help="LP solver.",
)  # fmt: skip
@click.option(
    "--exact", is_flag=True, help="Solve the full LP instead of certified cutting planes."
)
@click.option("--integer", is_flag=True, help="Solve the mixed-integer model (whole RIs).")
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
@click.option("--explain", "show_explanations", is_flag=True, help="Explain every purchase.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Also write the portfolio JSON there (atomically).",
)  # fmt: skip
@workspace_option
@catalog_options
@format_option
def recommend_command(
    usage_files: tuple[str, ...],
    demo: bool,
    inventory_files: tuple[Path, ...],
    lookback: str,
    instruments: tuple[str, ...],
    term: tuple[str, ...],
    payment: tuple[str, ...],
    offering_classes: tuple[str, ...],
    accounts: tuple[str, ...],
    exclude_accounts: tuple[str, ...],
    regions: tuple[str, ...],
    exclude_regions: tuple[str, ...],
    families: tuple[str, ...],
    exclude_families: tuple[str, ...],
    max_upfront: float | None,
    max_hourly_commitment: float | None,
    target_coverage: float | None,
    coverage_ceiling: float | None,
    min_utilization: float | None,
    custom_commitment: str | None,
    discount_rate: float,
    ladder: str,
    solver: str,
    exact: bool,
    integer: bool,
    gap: float,
    time_limit: float | None,
    export_model: Path | None,
    ri_size: str | None,
    show_explanations: bool,
    out: Path | None,
    workspace: Path | None,
    catalog_paths: tuple[Path, ...],
    no_embedded: bool,
    output_format: str,
) -> None:
    """Recommend the Reserved Instances and Savings Plans to buy now, and explain each.

    One linear program chooses the whole mix (RIs of every allowed class, term and payment,
    EC2 Instance and Compute Savings Plans) on top of what is owned, solved exactly or within a
    certified gap; RIs are rounded to whole instances and the plan is billed with AWS's rules.
    """
    if exact and integer:
        raise CommitoptInputError("--exact and --integer exclude each other; choose one")
    if demo and usage_files:
        raise CommitoptInputError("--demo and --usage exclude each other; choose one")
    if gap <= 0:
        raise CommitoptInputError(f"--gap must be above 0 %, not {gap}")
    days = parse_lookback_days(lookback)
    if demo:
        frame = demo_usage()
    elif usage_files:
        frame, _report = read_usage(list(usage_files), "auto")
    else:
        with Workspace.open(workspace, read_only=True) as store:
            frame = store.load_usage()
    if frame.empty:
        raise CommitoptInputError(
            "no usage to optimize: pass --usage FILE, --demo, or import some with "
            "`commitopt usage import`"
        )
    owned = [read_portfolio_json(path) for path in inventory_files]
    inventory = Inventory(
        tuple(c for part in owned for c in part.commitments), as_of=pd.Timestamp.now(tz="UTC")
    )
    from_bill = (
        [read_cur_rates(list(usage_files))]
        if usage_files and detect_format(list(usage_files)) in ("cur", "cur2")
        else []
    )
    catalog = resolve_catalog(catalog_paths, first=from_bill, use_embedded=not no_embedded).catalog
    kind, amount = parse_custom_commitment(custom_commitment)
    target = parse_share(target_coverage, "--target-coverage")
    mode = Mode.MAXIMIZE_SAVINGS
    if kind is not None:
        mode = Mode.CUSTOM_COMMITMENT
    if target is not None:
        if kind is not None:
            raise CommitoptInputError(
                "--custom-commitment and --target-coverage are two modes; choose one"
            )
        mode = Mode.TARGET_COVERAGE
    terms = _choices(term or ("1",), ("1", "3"), "--term")
    policy = Policy(
        instruments=_choices(instruments or INSTRUMENTS, INSTRUMENTS, "--instruments"),
        terms_years=tuple(int(t) for t in terms),
        payment_options=_choices(payment or ("no",), PAYMENTS, "--payment"),
        offering_classes=_choices(
            offering_classes or ("standard",), ("standard", "convertible"), "--class"
        ),
        include_accounts=accounts,
        exclude_accounts=exclude_accounts,
        include_regions=regions,
        exclude_regions=exclude_regions,
        include_families=families,
        exclude_families=exclude_families,
        max_upfront_usd=max_upfront,
        max_hourly_commitment_usd=max_hourly_commitment,
        coverage_ceiling=parse_share(coverage_ceiling, "--coverage-ceiling"),
        target_coverage=target,
        min_utilization=parse_share(min_utilization, "--min-utilization"),
        custom_commitment_usd=amount,
        custom_commitment_kind=kind,
        discount_rate=discount_rate,
        ladder_tranches=12 if ladder == "monthly" else 1,
        mode=mode,
    )
    policy.validate()
    options = RecommendOptions(
        exact=exact,
        integer=integer,
        tolerance=gap / 100.0,
        solver=solver,
        time_limit_seconds=time_limit,
        export_path=export_model,
        ri_instance_type=ri_size,
        lookback_days=days,
    )
    with live_status("Optimizing the portfolio", enabled=output_format == "table") as update:

        def progress(iteration: int, lower_usd: float, upper_usd: float) -> None:
            gap = (upper_usd - lower_usd) / max(abs(upper_usd), 1e-9)
            update(f"iteration {iteration}, certified gap {100 * gap:.3f} %")

        run = recommend(frame, catalog, policy, owned=inventory, options=options, progress=progress)
    for warning in (*run.problem.warnings, *run.with_plan.warnings):
        click.echo(f"commitopt: warning: {warning}", err=True)
    text = json.dumps(run.portfolio, indent=2, default=str)
    if out is not None:
        write_text_atomic(out, text + "\n")
    if output_format == "json":
        click.echo(text)
        return
    purchases = pd.DataFrame([p.to_json_item() for p in run.purchases])
    if "count" in purchases:
        purchases["count"] = purchases["count"].astype("Int64")
    if output_format == "csv":
        emit_frame(purchases, "csv")
        return
    summary = {k: v for k, v in run.summary.items() if not isinstance(v, dict)}
    summary.update({f"optimizer {k}": v for k, v in run.summary["optimizer"].items()})
    emit_mapping(summary, "table", title="Recommendation (billed over the lookback)")
    if purchases.empty:
        click.echo("No purchase lowers the cost under this policy.")
        return
    shown = [c for c in ("id", "kind", "region", "instance_type", "instance_family", "count",
                         "term_years", "payment_option", "offering_class", "hourly_commitment_usd",
                         "upfront_usd", "effective_hourly_usd") if c in purchases]  # fmt: skip
    emit_frame(purchases[shown], "table", title="Purchases")
    if show_explanations and not run.explanations.empty:
        figures = run.explanations[["id", "expected_utilization", "break_even_utilization",
                                    "break_even_month", "marginal_saving_usd_per_unit",
                                    "net_saving_usd"]]  # fmt: skip
        emit_frame(figures, "table", title="Why (utilization and break-even are shares of 1)")
        for row in run.explanations[["id", "explanation"]].itertuples(index=False):
            click.echo(f"{row.id}: {row.explanation}")
