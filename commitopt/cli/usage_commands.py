"""``commitopt usage``: import usage histories into the workspace and summarise them."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import click
import pandas as pd

from commitopt.cli.group import CommitoptGroup
from commitopt.cli.inputs import (
    CommandInputs,
    input_options,
    open_workspace,
    open_workspace_to_import,
)
from commitopt.cli.options import (
    input_format_option,
    multi_option,
    period_options,
    profile_option,
    workspace_option,
)
from commitopt.cli.output import emit_frame, emit_mapping, format_option, wide, with_column_after
from commitopt.cli.progress import quiet_option, reporter
from commitopt.workspace import UsageSource, Workspace
from core.errors import CommitoptInputError
from core.times import as_utc
from pricing.compute_keys import INSTANCE_HOURS, UNIT_COLUMNS
from usage.readers import ImportReport, detect_format, read_usage, usage_files
from usage.summary import summarize_usage
from usage.table import filter_usage

if TYPE_CHECKING:
    from commitopt.imports import ImportOutcome
    from pricing.inventory import Inventory
    from usage.canonical_sql import ValidatedUsage


@click.group(cls=CommitoptGroup)
def usage() -> None:
    """Usage: import CUR, FOCUS, Cost Explorer, CSV; summarize.

    Usage histories: CUR, CUR 2.0, FOCUS, Cost Explorer, Athena and CSV into the workspace."""


IMPORT_EPILOG = """
\b
Examples:
  commitopt usage import cur/2025-10/*.parquet
  commitopt usage import 'exports/cur2/**/*.parquet' --input-format cur2 \\
      --from 2025-09-01 --to 2025-11-01
  commitopt usage import focus-2025-10.csv.gz --workspace team.duckdb --format json
  commitopt usage import usage.csv --input-format csv   # the canonical hourly table
  commitopt usage imports                              # what each import brought
  commitopt usage remove 3                             # undo import 3
\b
An import replaces usage of the same source (kind) for the accounts and hours it brings, and
nothing else; usage of another source there is refused unless --replace (it would count
twice). Replaced rows are kept: `usage remove` brings them back. A CUR's RIs and Savings
Plans become the workspace's owned commitments (`commitopt inventory show`).
"""


def import_safety_options(function: Any) -> Any:
    """``--replace``, ``--allow-gap`` and ``--allow-unknown-types``: what an import may do."""
    for option in (
        click.option(
            "--allow-unknown-types", "allow_unknown_types", is_flag=True,
            help="Accept instance families and sizes commitopt does not know in a canonical table.",
        ),
        click.option(
            "--allow-gap", is_flag=True,
            help="Accept usage more than a year away from the workspace's.",
        ),
        click.option(
            "--replace", is_flag=True,
            help="Replace usage of other sources in the accounts and hours this import brings.",
        ),
    ):  # fmt: skip
        function = option(function)
    return function


@usage.command("import", epilog=IMPORT_EPILOG)
@click.argument("sources", nargs=-1, required=True)
@input_format_option(
    "usage_format",
    ("auto", "cur", "cur2", "focus", "csv"),
    "Format of the sources; auto detects it from the first file.",
)
@period_options
@import_safety_options
@workspace_option
@format_option
@quiet_option
def import_(
    sources: tuple[str, ...],
    usage_format: str,
    start: datetime | None,
    end: datetime | None,
    replace: bool,
    allow_gap: bool,
    allow_unknown_types: bool,
    workspace: Path | None,
    output_format: str,
) -> None:
    """Read usage files (globs allowed) into the workspace's hourly usage table.

    Demand is all EC2 instance usage, billed on-demand or covered by RIs and Savings Plans, and
    (from CURs) RDS / Aurora instance-hours and ElastiCache node-hours; what was excluded (Spot,
    hosts, storage, fees, taxes, credits, ...) is reported by reason. Nothing is written
    when any file is bad or the usage is implausible (hours after now, unknown instance
    families or sizes in a canonical table, a period years away from the workspace's).
    """
    with open_workspace_to_import(workspace) as store:  # the lock first, before reading anything
        done = import_files(
            store, sources, usage_format, ImportChecks(replace, allow_gap, allow_unknown_types),
            start=start, end=end,
        )  # fmt: skip
    _emit_report(
        {
            "import_id": done.stored.import_id,
            "workspace": str(store.path),
            "period_start": done.period[0].isoformat(),
            "period_end": done.period[1].isoformat(),
            "usage_row_count": done.usage_row_count,
            **_file_report(done.report),
            **_ledger_fields(done.stored, done.owned),
        },
        output_format,
    )


@dataclass(frozen=True)
class FileImport:
    """What :func:`import_files` read and stored (``usage_row_count`` rows)."""

    usage_row_count: int
    report: ImportReport
    period: tuple[pd.Timestamp, pd.Timestamp]
    owned: Inventory | None
    stored: ImportOutcome


def import_files(
    store: Workspace,
    sources: Sequence[str],
    usage_format: str,
    checks: ImportChecks,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> FileImport:
    """Read usage files and store them as one import (``usage import``, ``review --usage``):
    the period they cover, the commitments a CUR's fee lines show, the plausibility checks.

    The canonical table (CSV, Parquet) streams from the files into the workspace
    (:func:`import_canonical_files`); the other formats are aggregated by DuckDB into a table.
    """
    fmt = detect_format(list(sources)) if usage_format == "auto" else usage_format
    if fmt in ("csv", "canonical"):
        return import_canonical_files(store, sources, checks, start=start, end=end)
    if fmt in ("cur", "cur2", "focus"):
        return import_bill_files(store, sources, fmt, checks, start=start, end=end)
    with reporter().task("reading usage", total=100, unit="%") as progress:
        frame, report = read_usage(
            list(sources), fmt,  # type: ignore[arg-type]
            start=start, end=end, progress=progress,
        )  # fmt: skip
    period = import_period(frame, start, end, report.billing_periods)
    stored = store_import(
        store, frame, period, UsageSource(kind=report.format, files=report.files),
        ImportCounts(report.kept_line_items, report.excluded_line_items), checks,
        described=", ".join(report.files[:3]) + (" ..." if len(report.files) > 3 else ""),
    )  # fmt: skip
    return FileImport(len(frame), report, period, None, stored)


def import_bill_files(
    store: Workspace,
    sources: Sequence[str],
    fmt: str,
    checks: ImportChecks,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> FileImport:
    """Aggregate CUR, CUR 2.0 or FOCUS files with DuckDB and stream the hourly demand into the
    workspace, without building it in pandas (:func:`usage.staged_bill.stage_bill_files`).

    The report, the period (the billing months, else the hours), the plausibility checks, the
    ledger and the commitments a CUR's fee lines show are those of :func:`store_import` over
    :func:`usage.readers.read_usage`; the rows stored are the ones it returns.
    """
    from commitopt.identity import current_identity
    from commitopt.imports import import_validated_usage
    from commitopt.owned import record_bill_inventory
    from usage.staged_bill import drop_staged, stage_bill_files

    with store.streaming():
        try:
            with reporter().task("reading usage", total=100, unit="%") as progress:
                staged = stage_bill_files(
                    store.connection, list(sources), fmt, start=start, end=end,
                    progress=progress,
                )  # fmt: skip
            usage, report = staged.usage, staged.report
            period = _bill_period(usage, start, end, report.billing_periods)
            owned = None
            if report.format in ("cur", "cur2"):
                from pricing.inventory import inventory_from_cur

                with reporter().task("reading the owned commitments the bill shows"):
                    owned = inventory_from_cur(list(report.files))
            described = ", ".join(report.files[:3]) + (" ..." if len(report.files) > 3 else "")
            _check_streamed_plausible(
                store, usage, period, checks, described, source_kind=report.format,
                daily_granular=report.daily,
            )  # fmt: skip
            with (
                reporter().task(
                    "storing the usage in the workspace", total=usage.row_count, unit="rows"
                ) as task,
                store.transaction(),
            ):
                stored = import_validated_usage(
                    store, usage, period_start=period[0], period_end=period[1],
                    source=UsageSource(kind=report.format, files=report.files),
                    report=ImportCounts(report.kept_line_items, report.excluded_line_items),
                    replace_other_sources=checks.replace, actor=current_identity().as_mapping(),
                    progress=task, granularity="daily" if report.daily else "hourly",
                )  # fmt: skip
                if owned is not None and owned.commitments:
                    record_bill_inventory(store, stored.import_id, owned)
        finally:
            drop_staged(store.connection)
    return FileImport(usage.row_count, report, period, owned, stored)


def _bill_period(
    usage: ValidatedUsage,
    start: datetime | None,
    end: datetime | None,
    billing_periods: Sequence[str],
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """:func:`import_period` of staged rows (their first and last hour instead of a frame's)."""
    if usage.first_hour is None or usage.last_hour is None:
        raise CommitoptInputError("the sources hold no usage; nothing to import")
    hours = pd.DataFrame({"hour": [usage.first_hour, usage.last_hour]})
    return import_period(hours, start, end, billing_periods)


def import_canonical_files(
    store: Workspace,
    sources: Sequence[str],
    checks: ImportChecks,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> FileImport:
    """Check canonical usage files in SQL and stream their rows into the workspace.

    The rules, messages, ledger and plausibility checks are those of the pandas path
    (:func:`usage.table.validate_usage_table`, :func:`store_import`); memory stays bounded
    whatever the files' size. Rows outside ``[start, end)`` are left out, as
    :func:`usage.readers.read_usage` leaves them out.
    """
    from usage.validate_sql import validate_canonical_files

    files = [str(path) for path in usage_files(list(sources))]
    bounds = (None if start is None else as_utc(start), None if end is None else as_utc(end))
    with store.streaming(), tempfile.TemporaryDirectory(prefix="commitopt-usage-") as staging:
        with reporter().task("reading usage", total=100, unit="%") as progress:
            usage = validate_canonical_files(
                store.connection, files, start=bounds[0], end=bounds[1], progress=progress,
                staging=Path(staging),
            )  # fmt: skip
        report = ImportReport(  # no billing periods: a canonical table stands for its hours only
            format="canonical",
            files=usage.files,
            kept_line_items=usage.line_items,
            kept_quantity=usage.line_item_instance_hours,
            superseded_files=usage.superseded_files,
            kept_quantity_by_unit=usage.line_item_quantity_by_unit,
        )
        if usage.first_hour is None or usage.last_hour is None:
            raise CommitoptInputError("the sources hold no usage; nothing to import")
        period = (
            bounds[0] if bounds[0] is not None else usage.first_hour,
            bounds[1] if bounds[1] is not None else usage.last_hour + timedelta(hours=1),
        )
        described = ", ".join(usage.files[:3]) + (" ..." if len(usage.files) > 3 else "")
        _check_streamed_plausible(store, usage, period, checks, described, files=usage.files)
        with (
            reporter().task(
                "storing the usage in the workspace", total=usage.row_count, unit="rows"
            ) as task,
            store.transaction(),
        ):
            from commitopt.identity import current_identity
            from commitopt.imports import import_validated_usage

            stored = import_validated_usage(
                store, usage, period_start=period[0], period_end=period[1],
                source=UsageSource(kind="canonical", files=usage.files),
                report=ImportCounts(usage.line_items, 0),
                replace_other_sources=checks.replace, actor=current_identity().as_mapping(),
                progress=task,
            )  # fmt: skip
    return FileImport(usage.row_count, report, period, None, stored)


def _check_streamed_plausible(
    store: Workspace,
    usage: ValidatedUsage,
    period: tuple[pd.Timestamp, pd.Timestamp],
    checks: ImportChecks,
    described: str,
    *,
    source_kind: str = "canonical",
    files: Sequence[str] = (),
    daily_granular: bool = False,
) -> None:
    """:func:`usage.plausibility.check_plausible` of streamed usage: hours after now counted in
    SQL, the rest on one row per instance type and the first row above the plausible quantity
    (warnings to stderr, refusals raised; ``files``, canonical, to name the row); then the
    warning for rows a day apart (:func:`usage.plausibility.daily_spacing_warning`), unless the
    usage was spread from daily figures (``daily_granular``)."""
    from usage.errors import UsageInputError
    from usage.plausibility import (
        RowSpacing,
        check_plausible,
        daily_spacing_warning,
        quantity_bound_sql,
        row_spacing_sql,
    )

    now = datetime.now(UTC)
    assert usage.first_hour is not None and usage.last_hour is not None
    if usage.last_hour > pd.Timestamp(now).floor("h"):
        future, first = store.fetch_all(
            f"SELECT count(*), min(hour) FROM ({usage.select_sql}) AS incoming WHERE hour > ?",
            [pd.Timestamp(now).floor("h").tz_localize(None).to_pydatetime()],
        )[0]
        raise UsageInputError(
            described or source_kind,
            f"{int(future):,} usage rows are after now ({pd.Timestamp(now):%Y-%m-%d %H:%M} "
            f"UTC), the first at {pd.Timestamp(first):%Y-%m-%d %H:%M} UTC",
            "usage cannot lie in the future: check the dates and time zone of the source",
        )
    types = pd.DataFrame(
        {
            "hour": usage.first_hour,
            "instance_type": pd.Series(usage.instance_types, dtype=str),
            "quantity": 0.0,
        }
    )
    over = store.connection.execute(
        f"SELECT * FROM ({usage.select_sql}) AS incoming "
        f"WHERE quantity > {quantity_bound_sql('instance_type')} LIMIT 1"
    ).df()
    if len(over):
        over["hour"] = pd.to_datetime(over["hour"]).dt.tz_localize("UTC")
        types = pd.concat([over, types], ignore_index=True)
    source = described or source_kind
    for text in check_plausible(
        types, source=source, source_kind=source_kind, now=now,
        period=period, workspace_span=store.usage_span(),
        allow_unknown_types=checks.allow_unknown_types, allow_gap=checks.allow_gap, files=files,
    ):  # fmt: skip
        reporter().warning(text)
    if daily_granular:
        return
    hours_of_day_sql, gaps_sql = row_spacing_sql(usage.select_sql)
    hours_of_day = int(store.fetch_all(hours_of_day_sql)[0][0])
    gaps, day_gaps = (0, 0) if hours_of_day == 24 else store.fetch_all(gaps_sql)[0]
    daily = daily_spacing_warning(RowSpacing(hours_of_day, int(gaps), int(day_gaps)), source)
    if daily is not None:
        reporter().warning(daily)


@dataclass(frozen=True)
class ImportChecks:
    """What an import may do beyond the safe default (:func:`import_safety_options`'s flags)."""

    replace: bool = False
    allow_gap: bool = False
    allow_unknown_types: bool = False


def store_import(
    store: Workspace,
    frame: pd.DataFrame,
    period: tuple[pd.Timestamp, pd.Timestamp],
    source: UsageSource,
    counts: Any,
    checks: ImportChecks,
    *,
    described: str,
    owned: Inventory | None = None,
) -> ImportOutcome:
    """Check the usage is plausible, then store it (and the bill's commitments) in one go.

    Warnings go to stderr; refusals raise before anything is written.
    """
    from commitopt.identity import current_identity
    from commitopt.imports import import_usage
    from commitopt.owned import record_bill_inventory
    from usage.plausibility import check_plausible

    warnings = check_plausible(
        frame,
        source=described or source.kind,
        source_kind=source.kind,
        now=datetime.now(UTC),
        period=period,
        workspace_span=store.usage_span(),
        allow_unknown_types=checks.allow_unknown_types,
        allow_gap=checks.allow_gap,
    )
    for text in warnings:
        reporter().warning(text)
    with reporter().task("storing the usage in the workspace"), store.transaction():
        stored = import_usage(
            store, frame, period_start=period[0], period_end=period[1], source=source,
            report=counts, replace_other_sources=checks.replace,
            actor=current_identity().as_mapping(),
        )  # fmt: skip
        if owned is not None and owned.commitments:
            record_bill_inventory(store, stored.import_id, owned)
    return stored


CE_EPILOG = """
\b
Examples:
  commitopt usage import-ce --from 2025-08-01 --to 2025-11-01
  commitopt usage import-ce --granularity HOURLY --from 2025-11-10 --to 2025-11-23 --by-account
  commitopt usage import-ce --from 2025-08-01 --to 2025-11-01 --compute-services
\b
Needs ce:GetCostAndUsage. HOURLY needs hourly granularity enabled in Cost Explorer (14 days).
--compute-services also reads Fargate, Lambda and SageMaker usage (one more query per account).
"""


@usage.command("import-ce", epilog=CE_EPILOG)
@period_options
@click.option(
    "--granularity", type=click.Choice(["DAILY", "HOURLY"]), default="DAILY", show_default=True
)
@multi_option("--account", help_text="Only these linked accounts.", metavar="ID")
@click.option("--by-account", is_flag=True, help="Keep the account of each row (one query each).")
@click.option(
    "--compute-services",
    is_flag=True,
    help="Also read Fargate, Lambda and SageMaker usage that Savings Plans cover (more queries).",
)
@profile_option
@import_safety_options
@workspace_option
@format_option
@quiet_option
def import_ce(
    start: datetime | None,
    end: datetime | None,
    granularity: str,
    account: tuple[str, ...],
    by_account: bool,
    compute_services: bool,
    profile: str | None,
    replace: bool,
    allow_gap: bool,
    allow_unknown_types: bool,
    workspace: Path | None,
    output_format: str,
) -> None:
    """Read EC2 running hours (and Fargate, Lambda, SageMaker) from Cost Explorer."""
    import boto3

    from usage.cost_explorer import read_cost_explorer

    if start is None or end is None:
        raise CommitoptInputError("usage import-ce needs --from and --to")
    client = boto3.Session(profile_name=profile).client("ce", region_name="us-east-1")
    with open_workspace_to_import(workspace) as store:
        with reporter().task("querying Cost Explorer", unit="queries") as progress:
            frame, report = read_cost_explorer(
                client,
                start=start.date(),
                end=end.date(),
                granularity=granularity,  # type: ignore[arg-type]
                accounts=account,
                by_account=by_account,
                compute_services=compute_services,
                progress=progress,
            )
        stored = store_import(
            store, frame, (as_utc(start), as_utc(end)),
            UsageSource(kind="cost-explorer", scope=_scope(account)), report,
            ImportChecks(replace, allow_gap, allow_unknown_types), described="Cost Explorer",
        )  # fmt: skip
    _emit_report(
        {
            "import_id": stored.import_id,
            "workspace": str(store.path),
            "usage_row_count": len(frame),
            "granularity": report.granularity,
            "period_start": report.start.isoformat(),
            "period_end": report.end.isoformat(),
            "request_count": report.requests,
            "accounts": list(report.accounts),
            "kept_row_count": report.rows_kept,
            "excluded_row_count": report.rows_excluded,
            "kept_instance_hours": report.quantity_kept,
            "kept_cost_usd": report.cost_kept_usd,
            "estimated_period_count": report.estimated_periods,
            "is_daily_spread": report.daily_spread,
            "exclusions": [
                {
                    "reason": e.reason,
                    "row_count": e.rows,
                    "usage_amount": e.quantity,
                    "cost_usd": e.cost_usd,
                }
                for e in report.excluded
            ],
            **_ledger_fields(stored, None),
        },
        output_format,
    )


ATHENA_EPILOG = """
\b
Examples:
  commitopt usage import-athena --database athenacurcfn_cur --table cur \\
      --output-location s3://my-athena-results/commitopt/ --from 2025-10-01 --to 2025-11-01
\b
Runs the same aggregation SQL as `usage import`, inside Athena, so only the hourly result
travels. Needs athena:StartQueryExecution/GetQueryExecution/GetQueryResults and S3 access to
the CUR and the output location.
"""


@usage.command("import-athena", epilog=ATHENA_EPILOG)
@click.option("--database", required=True, help="Glue database of the CUR table.")
@click.option("--table", "table_name", required=True, help="The CUR table.")
@click.option("--output-location", default=None, help="s3:// prefix for query results.")
@click.option("--workgroup", default=None, help="Athena workgroup [default: primary].")
@click.option("--daily", is_flag=True, help="The CUR is daily-granular: spread days over hours.")
@click.option("--region", "aws_region", default=None, help="AWS region of the Athena table.")
@period_options
@profile_option
@import_safety_options
@workspace_option
@format_option
@quiet_option
def import_athena(
    database: str,
    table_name: str,
    output_location: str | None,
    workgroup: str | None,
    daily: bool,
    aws_region: str | None,
    start: datetime | None,
    end: datetime | None,
    profile: str | None,
    replace: bool,
    allow_gap: bool,
    allow_unknown_types: bool,
    workspace: Path | None,
    output_format: str,
) -> None:
    """Aggregate a CUR table with Athena into the workspace.

    The result's pages go into the workspace as they arrive (bounded memory), and are stored as
    one import in one transaction: a failure leaves the workspace as it was.
    """
    import boto3

    from commitopt.identity import current_identity
    from commitopt.imports import import_validated_usage
    from usage.athena import stage_cur_athena
    from usage.staged_bill import drop_staged

    if start is None or end is None:
        raise CommitoptInputError("usage import-athena needs --from and --to (it bounds the scan)")
    client = boto3.Session(profile_name=profile).client("athena", region_name=aws_region)
    period = (as_utc(start), as_utc(end))
    with open_workspace_to_import(workspace) as store, store.streaming():
        try:
            with reporter().task("running the Athena query", unit="rows") as progress:
                staged = stage_cur_athena(
                    client, store.connection, database=database, table=table_name,
                    output_location=output_location, workgroup=workgroup, start=start, end=end,
                    daily=daily, progress=progress,
                )  # fmt: skip
            usage, report = staged.usage, staged.report
            checks = ImportChecks(replace, allow_gap, allow_unknown_types)
            _check_streamed_plausible(
                store, usage, period, checks, f"Athena table {database}.{table_name}",
                source_kind="athena",
            )  # fmt: skip
            with (
                reporter().task(
                    "storing the usage in the workspace", total=usage.row_count, unit="rows"
                ) as task,
                store.transaction(),
            ):
                stored = import_validated_usage(
                    store, usage, period_start=period[0], period_end=period[1],
                    source=UsageSource(kind="athena", files=(f"{database}.{table_name}",)),
                    report=ImportCounts(report.kept_line_items, report.excluded_line_items),
                    replace_other_sources=replace, actor=current_identity().as_mapping(),
                    progress=task, granularity="daily" if report.daily else "hourly",
                )  # fmt: skip
        finally:
            drop_staged(store.connection)
    _emit_report(
        {
            "import_id": stored.import_id,
            "workspace": str(store.path),
            "period_start": period[0].isoformat(),
            "period_end": period[1].isoformat(),
            "usage_row_count": usage.row_count,
            **_file_report(report),
            **_ledger_fields(stored, None),
        },
        output_format,
    )


SUMMARY_EPILOG = """
\b
Examples:
  commitopt usage summary                                   # the workspace's usage
  commitopt usage summary --usage cur/2025-10/*.parquet --from 2025-10-01
  commitopt usage summary --region us-east-1 --family c5 --format csv > c5.csv
\b
Only --from/--to of the workspace's usage is read (all of it without them).
"""


@usage.command("summary", epilog=SUMMARY_EPILOG)
@input_options(inventory=False, bill="never")
@period_options
@multi_option("--account", help_text="Only these accounts.", metavar="ID")
@multi_option("--region", "-r", help_text="Only these regions.", metavar="REGION")
@multi_option("--family", "-f", help_text="Only these instance families.", metavar="FAMILY")
@format_option
@quiet_option
def summary(
    inputs: CommandInputs,
    start: datetime | None,
    end: datetime | None,
    account: tuple[str, ...],
    region: tuple[str, ...],
    family: tuple[str, ...],
    output_format: str,
) -> None:
    """A row per key: hourly min, mean, P10, P50, P90 and max, instance-hours, on-demand cost."""
    frame = inputs.usage(purpose="summarise", demo_option=False, start=start, end=end)
    frame = filter_usage(frame, accounts=account, regions=region, families=family)
    if frame.empty:
        raise CommitoptInputError(
            "no usage of the accounts, regions and families asked for (--account, --region, "
            "--family); `commitopt usage summary` without them lists what there is"
        )
    catalog = inputs.catalog(bill_rates_first=False)
    table = summarize_usage(frame, catalog)
    unpriced = table.loc[table["on_demand_usd_per_hour"].isna(), "instance_type"].unique()
    if len(unpriced):
        reporter().warning(
            f"no on-demand price for {', '.join(map(str, unpriced[:5]))}; their "
            "on-demand cost is blank — get prices with `commitopt pricing fetch` or "
            "`commitopt pricing import`"
        )
    emit_frame(
        table,
        output_format,
        title=f"Usage by key over {int(table['period_hours'].iloc[0]):,} hours",
        float_digits={"instance_hours": 0},
        narrow=_summary_columns(table),
    )


SUMMARY_TABLE_COLUMNS = (
    "account_id", "region", "instance_type", "platform", "mean_instances", "max_instances",
    "instance_hours", "on_demand_cost_usd",
)  # fmt: skip
"""The columns of ``usage summary``'s table without ``--wide`` (and ``unit`` where a key's
quantity is not instance-hours)."""


def _summary_columns(table: pd.DataFrame) -> tuple[str, ...]:
    """:data:`SUMMARY_TABLE_COLUMNS`, with ``unit`` after ``platform`` when some key counts
    vCPU-hours or GB-hours (Fargate, Lambda) rather than instance-hours."""
    mixed = bool((table["unit"] != INSTANCE_HOURS).any())
    return with_column_after(SUMMARY_TABLE_COLUMNS, "unit", "platform", shown=mixed)


class ImportCounts:
    """Rows kept and excluded, as the workspace records them."""

    def __init__(self, kept: int, excluded: int) -> None:
        self.rows_kept = kept
        self.rows_excluded = excluded


def _scope(accounts: Sequence[str]) -> str:
    return "accounts:" + ",".join(sorted(accounts)) if accounts else ""


def import_period(
    frame: pd.DataFrame,
    start: datetime | None,
    end: datetime | None,
    billing_periods: Sequence[str],
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The period an import covers: the flags, else the billing months, else the data's hours."""
    if billing_periods:
        first = pd.Timestamp(f"{min(billing_periods)}-01", tz="UTC")
        last = pd.Timestamp(f"{max(billing_periods)}-01", tz="UTC") + pd.offsets.MonthBegin(1)
    elif len(frame):  # the hours it brings, exactly: no more (an import replaces its period)
        first = frame["hour"].min()
        last = frame["hour"].max() + timedelta(hours=1)
    else:
        raise CommitoptInputError("the sources hold no usage; nothing to import")
    period_start = as_utc(start) if start is not None else first
    period_end = as_utc(end) if end is not None else last
    return period_start, period_end


def _file_report(report: ImportReport) -> dict[str, Any]:
    """The fields of a file or Athena import report (``docs/glossary.md``)."""
    return {
        "input_format": report.format,
        "files": list(report.files),
        "superseded_files": list(report.superseded_files),
        "billing_periods": list(report.billing_periods),
        "is_daily": report.daily,
        "kept_line_item_count": report.kept_line_items,
        "kept_instance_hours": report.kept_instance_hours,
        "kept_quantity_by_unit": [
            {"unit": unit, "usage_amount": amount} for unit, amount in report.kept_quantity_by_unit
        ],
        "kept_billed_cost": report.kept_cost,
        "currency": report.currency,
        "unmapped_line_item_count": report.unmapped,
        "unmapped_examples": list(report.unmapped_examples),
        "exclusions": [
            {
                "reason": e.reason,
                "line_item_count": e.line_items,
                "usage_amount": e.quantity,
                "billed_cost": e.cost,
            }
            for e in report.exclusions
        ],
    }


REPORT_FIELDS = (
    "import_id", "workspace", "period_start", "period_end", "usage_row_count", "input_format",
    "billing_periods", "kept_line_item_count", "kept_instance_hours", "kept_billed_cost",
    "kept_cost_usd", "currency", "replaced_row_count", "bill_commitment_count", "is_dry_run",
    "removed_row_count", "restored_row_count", "pruned_row_count",
)  # fmt: skip
"""The import report's fields a table shows without ``--wide``."""


def _ledger_fields(stored: ImportOutcome, owned: Inventory | None) -> dict[str, Any]:
    """What the import added and replaced, by account and month, and the bill's commitments."""
    fields: dict[str, Any] = {
        "replaced_row_count": int(stored.replaced["usage_row_count"].sum()),
        "added": stored.added.to_dict("records"),
        "replaced": stored.replaced.to_dict("records"),
    }
    if owned is not None:
        fields["bill_commitment_count"] = len(owned)
    return fields


_TABLES: Final = (
    ("exclusions", "Excluded from demand, by reason"),
    ("removed", "Removed, by account and month"),
    ("added", "Added, by account and month"),
    ("replaced", "Replaced (kept: `commitopt usage remove ID` of this import brings them back)"),
    ("restored", "Restored, by import, account and month"),
    ("pruned", "Deleted for good, by import, account and month"),
)


def _emit_report(payload: dict[str, Any], output_format: str, title: str = "Usage import") -> None:
    """Print an import (or removal) report: its figures, then its tables (exclusions by reason,
    rows added and replaced by account and month)."""
    if output_format != "table":
        emit_mapping(payload, output_format)  # csv: one field per row, lists as JSON
        return
    tables = {name for name, _title in _TABLES}
    brief = {k: v for k, v in payload.items() if k not in tables and (wide() or k in REPORT_FIELDS)}
    emit_mapping(brief, "table", title=title)
    for name, heading in _TABLES:
        rows = pd.DataFrame(payload.get(name) or [])
        if not rows.empty:
            # Fargate's and Lambda's totals only where the import holds some
            idle = [c for c in _SERVICE_QUANTITIES if c in rows and (rows[c] == 0).all()]
            emit_frame(
                rows.drop(columns=idle), "table", title=heading, float_digits=_QUANTITY_DIGITS
            )


_QUANTITY_DIGITS: Final = dict.fromkeys(UNIT_COLUMNS.values(), 1)
"""Decimals shown of an import's usage totals, one per unit."""
_SERVICE_QUANTITIES: Final = tuple(c for u, c in UNIT_COLUMNS.items() if u != INSTANCE_HOURS)
"""The totals of Fargate's and Lambda's units (``vcpu_hours``, ``gb_hours``)."""


IMPORTS_EPILOG = """
\b
Examples:
  commitopt usage imports
  commitopt usage imports --format json
\b
usage_row_count counts the rows that count now; replaced_row_count those later imports
replaced (kept until this import is removed).
"""


@usage.command("imports", epilog=IMPORTS_EPILOG)
@workspace_option
@format_option
@quiet_option
def imports_(workspace: Path | None, output_format: str) -> None:
    """List the workspace's usage imports: source, period, accounts, rows, who and when."""
    from commitopt.imports import list_imports

    with open_workspace(workspace, read_only=True) as store:
        table = list_imports(store)
    emit_frame(
        table, output_format, title=f"Usage imports of {store.path}", narrow=IMPORTS_TABLE_COLUMNS,
        float_digits=_QUANTITY_DIGITS,
    )  # fmt: skip


IMPORTS_TABLE_COLUMNS = (
    "import_id", "source_kind", "period_start", "period_end", "accounts", "usage_row_count",
    "replaced_row_count", "removed_at",
)  # fmt: skip
"""The columns of ``usage imports``'s table without ``--wide``."""


REMOVE_EPILOG = """
\b
Examples:
  commitopt usage remove 3 --dry-run      # what would go, and what would come back
  commitopt usage remove 3
\b
Deletes the import's rows and brings back the rows it replaced (unless a later import covers
them too), in one transaction; the owned commitments its bill showed go with it.
"""


PRUNE_EPILOG = """
\b
Examples:
  commitopt usage prune --dry-run         # how many replaced rows would go
  commitopt usage prune
\b
Replaced rows are kept so that `usage remove` can bring them back; a bill re-imported every
day adds a month of them each time. Pruning deletes them for good (in one transaction):
afterwards, removing an import can no longer restore what it replaced.
"""


@usage.command("prune", epilog=PRUNE_EPILOG)
@click.option("--dry-run", is_flag=True, help="Show what would be deleted; delete nothing.")
@workspace_option
@format_option
@quiet_option
def prune(dry_run: bool, workspace: Path | None, output_format: str) -> None:
    """Delete the rows later imports replaced, for good (frees space; ends their undo)."""
    from commitopt.imports import prune_replaced

    with open_workspace(workspace) as store:
        pruned = prune_replaced(store, dry_run=dry_run)
    _emit_report(
        {
            "workspace": str(store.path),
            "is_dry_run": dry_run,
            "pruned_row_count": int(pruned["usage_row_count"].sum()),
            "pruned": pruned.to_dict("records"),
        },
        output_format,
        title="Replaced usage pruned" if not dry_run else "Replaced usage to prune (dry run)",
    )


@usage.command("remove", epilog=REMOVE_EPILOG)
@click.argument("import_id", type=int, metavar="IMPORT-ID")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@workspace_option
@format_option
@quiet_option
def remove(import_id: int, dry_run: bool, workspace: Path | None, output_format: str) -> None:
    """Undo one usage import: its rows go, the rows it replaced come back."""
    from commitopt.identity import current_identity
    from commitopt.imports import remove_import

    with open_workspace(workspace) as store:
        outcome = remove_import(
            store, import_id, dry_run=dry_run, actor=current_identity().as_mapping()
        )
    _emit_report(
        {
            "import_id": import_id,
            "workspace": str(store.path),
            "is_dry_run": dry_run,
            "removed_row_count": int(outcome.removed["usage_row_count"].sum()),
            "restored_row_count": int(outcome.restored["usage_row_count"].sum()),
            "removed": outcome.removed.to_dict("records"),
            "restored": outcome.restored.to_dict("records"),
        },
        output_format,
        title="Usage import removed" if not dry_run else "Usage import removal (dry run)",
    )
