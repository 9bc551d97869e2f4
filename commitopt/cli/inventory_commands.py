"""``commitopt inventory``: commitments the user already owns, with their expirations."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
import numpy as np
import pandas as pd

from commitopt.cli.group import CommitoptGroup
from commitopt.cli.inputs import AwsSource, CommandInputs
from commitopt.cli.options import (
    DATE,
    FILE,
    bill_inventory_option,
    expiring_within_option,
    from_aws_options,
    workspace_option,
)
from commitopt.cli.output import KIND_SHORT, emit_frame, format_option, plan_covers_text
from commitopt.cli.progress import quiet_option, reporter
from core.durations import Duration
from core.errors import CommitoptInputError
from pricing.databases import DEPLOYMENTS
from pricing.inventory import (
    Inventory,
)


@click.group(cls=CommitoptGroup)
def inventory() -> None:
    """Owned RIs and Savings Plans, and their expirations.

    Owned Reserved Instances and Savings Plans, with their expirations."""


SHOW_EPILOG = """
\b
Examples:
  commitopt inventory show                        # what the imported bills show
  commitopt inventory show --portfolio owned.json
  commitopt inventory show --from-aws --region us-east-1,eu-west-2 --expiring-within 90
  commitopt inventory show --from-aws --region us-east-1 --save owned.json --format json
\b
Sources, highest precedence first when two name the same commitment: --portfolio files,
--from-aws, the workspace's imported CUR bills (RIFee and Savings Plan fee lines). --from-aws
uses boto3's standard credential chain and needs ec2:DescribeReservedInstances (per region)
and savingsplans:DescribeSavingsPlans.
"""


@inventory.command("show", epilog=SHOW_EPILOG)
@click.option(
    "--portfolio",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Portfolio JSON of owned commitments (docs/portfolio-format.md; repeatable).",
)
@from_aws_options
@expiring_within_option(None)
@click.option(
    "--as-of",
    type=DATE,
    default=None,
    help="Reference date for days left and expirations (UTC) [default: now].",
)
@click.option(
    "--save", type=FILE, help="Also write the combined inventory as portfolio JSON (atomically)."
)
@bill_inventory_option
@workspace_option
@format_option
@quiet_option
def show(
    portfolio: tuple[Path, ...],
    from_aws: bool,
    region: tuple[str, ...],
    profile: str | None,
    expiring_within: Duration | None,
    as_of: datetime | None,
    save: Path | None,
    use_bill: bool,
    workspace: Path | None,
    output_format: str,
) -> None:
    """List owned commitments: what, how much, cost, start, end and days left."""
    now = as_of.replace(tzinfo=UTC) if as_of else datetime.now(UTC)
    inputs = CommandInputs(
        workspace=workspace, inventory_files=portfolio, use_bill=use_bill,
        from_aws=AwsSource(region, profile) if from_aws else None,
    )  # fmt: skip
    if not (portfolio or from_aws or inputs.has_bill()):
        raise CommitoptInputError(
            "no owned commitments to show: import a CUR (`commitopt usage import`), or pass "
            "--portfolio FILE or --from-aws"
        )
    combined = inputs.owned_inventory(now, note_bill=False)
    for note in combined.notes:
        reporter().note(f"note: {note}")
    if save is not None:
        combined.to_portfolio_json(save)
    chosen = (
        combined if expiring_within is None else combined.expiring_within(expiring_within.days, now)
    )
    table = _table(chosen, now)
    if output_format == "table":
        table = table.assign(
            kind=[KIND_SHORT.get(k, k) for k in table["kind"]],
            id=[str(i).rsplit("/", 1)[-1] for i in table["id"]],  # an ARN's last part
        )
    emit_frame(table, output_format, title=f"Owned commitments as of {now:%Y-%m-%d}",
               float_digits={"remaining_days": 0}, narrow=TABLE_COLUMNS)  # fmt: skip


TABLE_COLUMNS = (
    "id", "kind", "region", "covers", "count", "effective_usd_per_hour", "end", "remaining_days",
    "status",
)  # fmt: skip
"""The columns a table shows without ``--wide``."""


def _table(inventory_: Inventory, now: datetime) -> pd.DataFrame:
    """The columns people read: what is covered, the money, and the dates."""
    frame = inventory_.to_frame()
    if frame.empty:
        return pd.DataFrame(
            columns=["id", "kind", "region", "covers", "count", "commitment_usd_per_hour",
                     "upfront_usd", "effective_usd_per_hour", "start", "end", "remaining_days",
                     "status", "account_id", "source"]
        )  # fmt: skip
    plan_covers = plan_covers_text(frame["kind"])
    covers = frame["instance_type"].fillna(frame["instance_family"]).fillna(plan_covers)
    covers = covers.where(frame["platform"].isna(), covers + " " + frame["platform"].fillna(""))
    deployment = frame["tenancy"].isin(DEPLOYMENTS)  # a database reservation's Multi-AZ matters
    covers = covers.where(~deployment, covers + " " + frame["tenancy"].fillna(""))
    days_left = (frame["end"] - pd.Timestamp(now)).dt.total_seconds() / 86_400.0
    status = np.select(
        [frame["start"] > pd.Timestamp(now), frame["end"] <= pd.Timestamp(now)],
        ["future", "expired"],
        default="active",
    )
    return pd.DataFrame(
        {
            "id": frame["id"],
            "kind": frame["kind"],
            "region": frame["region"].fillna("any"),
            "covers": covers,
            "count": frame["count"],
            "commitment_usd_per_hour": frame["commitment_usd_per_hour"],
            "upfront_usd": frame["upfront_usd"],
            "effective_usd_per_hour": frame["effective_usd_per_hour"],
            "start": frame["start"].dt.strftime("%Y-%m-%d"),
            "end": frame["end"].dt.strftime("%Y-%m-%d"),
            "remaining_days": days_left.clip(lower=0).round(1),
            "status": status,
            "account_id": frame["account_id"],
            "source": frame["source"],
        }
    )
