"""``commitopt purchase PLAN``: print the AWS calls of a plan (dry run), or make them."""

from __future__ import annotations

import re
from pathlib import Path

import click

from commitopt.cli.group import EXIT_OK, EXIT_THRESHOLD
from commitopt.cli.inputs import open_workspace
from commitopt.cli.options import profile_option, workspace_option
from commitopt.cli.output import OUTPUT_FORMATS, TABLE_WIDTH, emit_json
from commitopt.cli.plan_commands import approval_age, max_approval_age_option
from commitopt.cli.progress import quiet_option, reporter
from commitopt.cli.streams import echo_payload
from commitopt.identity import Identity, current_identity
from commitopt.purchase import (
    DEFAULT_PRICE_TOLERANCE,
    SAVINGS_PLANS_REGION,
    ClientFactory,
    LineOutcome,
    PurchaseResult,
    boto3_clients,
    dry_run,
    execute_plan,
)
from core.errors import CommitoptInputError
from pricing.regions import check_region


def make_clients(profile: str | None) -> ClientFactory:
    """The boto3 client factory the command uses (tests replace this function)."""
    return boto3_clients(profile)


def purchase_identity(profile: str | None) -> Identity:
    """Who buys: the caller identity of the ``--profile`` session (else boto3's standard
    chain), or the OS user when AWS cannot say; recorded with every purchase event."""
    if profile is None:
        return current_identity()
    try:
        import boto3

        session = boto3.Session(profile_name=profile)
    except Exception:  # a missing profile fails the purchase itself, with its own message
        return current_identity()
    return current_identity(session)


PURCHASE_EPILOG = """
\b
Examples:
  commitopt purchase plan-20261123-1                 # dry run: print the calls, buy nothing
  commitopt purchase plan-20261123-1 --lookup        # dry run with live offerings and prices
  commitopt purchase plan-20261123-1 --execute --profile billing
\b
Dry run (the default) needs no AWS account: offering ids show as <looked up at execution>.
--execute needs an approved, unexpired, unchanged plan and these permissions:
ec2:DescribeReservedInstancesOfferings, ec2:PurchaseReservedInstancesOffering,
savingsplans:DescribeSavingsPlansOfferings, savingsplans:CreateSavingsPlan (and
ec2:DescribeReservedInstances to settle a line an interrupted run left in doubt); for RDS
and ElastiCache lines rds:DescribeReservedDBInstancesOfferings,
rds:PurchaseReservedDBInstancesOffering, rds:DescribeReservedDBInstances and
elasticache:DescribeReservedCacheNodesOfferings, elasticache:PurchaseReservedCacheNodesOffering,
elasticache:DescribeReservedCacheNodes; for OpenSearch, Redshift and MemoryDB lines
es:DescribeReservedInstanceOfferings, es:PurchaseReservedInstanceOffering,
es:DescribeReservedInstances, redshift:DescribeReservedNodeOfferings,
redshift:PurchaseReservedNodeOffering, redshift:DescribeReservedNodes,
memorydb:DescribeReservedNodesOfferings, memorydb:PurchaseReservedNodesOffering,
memorydb:DescribeReservedNodes.
Every line is recorded, with who bought it (the AWS caller identity), before the next, so
running it again resumes without buying twice; a live price more than --price-tolerance away
from the plan's refuses before buying anything.
"""


def _print_outcome(outcome: LineOutcome) -> None:
    line = outcome.line
    verb = {
        "planned": "would call",
        "price-moved": "PRICE MOVED, would refuse",
        "already-executed": "already bought",
        "executed": "bought",
        "reconciled": "settled (bought by an interrupted run)",
    }.get(outcome.state, outcome.state)
    _say(f"line {line.number} ({line.commitment.id}): {line.describe()}")
    if outcome.state in ("planned", "price-moved"):
        _say(f"look up: {outcome.lookup.render()}", indent=2, call=True)
    _say(f"{verb}: {outcome.purchase.render()}", indent=2, call=True)
    if outcome.price_check:
        _say(f"price: {outcome.price_check}", indent=2)
    if outcome.aws_id:
        _say(f"id: {outcome.aws_id}", indent=2)


def _say(text: str, *, indent: int = 0, call: bool = False) -> None:
    """A line for people, wrapped at 100 columns, continuation lines indented four more: prose
    between words, an AWS ``call`` only after an opening bracket or a comma (its quoted values
    and placeholders stay whole)."""
    breaks = r"(?<=\()|(?<=, )" if call else r"(?<= )"
    pieces = [piece for piece in re.split(breaks, text) if piece]
    lines: list[str] = []
    current = " " * indent
    for piece in pieces:
        if current.strip() and len(current) + len(piece.rstrip()) > TABLE_WIDTH:
            lines.append(current.rstrip())
            current = " " * (indent + 4)
        current += piece
    lines.append(current.rstrip())
    echo_payload("\n".join(lines))


def _print_head(result: PurchaseResult) -> None:
    mode = "execute" if result.executed else "dry run"
    _say(f"plan {result.plan_id} ({mode}), sha256 {result.plan_sha256}")


@click.command("purchase", epilog=PURCHASE_EPILOG)
@click.argument("plan_id", metavar="PLAN")
@click.option("--execute", is_flag=True, help="Really buy (the default is a dry run).")
@click.option(
    "--lookup", is_flag=True, help="Dry run: look offerings up and check prices (needs AWS)."
)
@click.option(
    "--price-tolerance",
    type=float,
    default=100 * DEFAULT_PRICE_TOLERANCE,
    show_default=True,
    help="Refuse when a live price differs from the plan's by more than this [%].",
)
@click.option(
    "--region",
    default=SAVINGS_PLANS_REGION,
    show_default=True,
    help="Region of the Savings Plans API endpoint (RIs and database reservations are bought "
    "in their line's region).",
)
@profile_option
@max_approval_age_option
@workspace_option
@quiet_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(OUTPUT_FORMATS[:2]),
    default="table",
    show_default=True,
    help="table for people; json prints only the payload.",
)
def purchase_command(
    plan_id: str,
    execute: bool,
    lookup: bool,
    price_tolerance: float,
    region: str,
    profile: str | None,
    max_approval_age: float,
    workspace: Path | None,
    output_format: str,
) -> int:
    """Print a plan's AWS purchase calls; --execute makes them.

    Print the exact AWS calls that buy a plan's purchases; with --execute, make them."""
    if not 0 <= price_tolerance < 100:
        raise CommitoptInputError(
            f"--price-tolerance must be between 0 and 100 %, not {price_tolerance}"
        )
    region = check_region(region)
    age = approval_age(max_approval_age)
    tolerance = price_tolerance / 100.0
    table = output_format == "table"
    if execute:
        clients = make_clients(profile)
        printed: list[LineOutcome] = []

        def print_line(outcome: LineOutcome) -> None:
            """Each line as it is settled, under the plan's head (printed with the first)."""
            if not printed:
                echo_payload(f"plan {plan_id} (execute)")
            printed.append(outcome)
            _print_outcome(outcome)

        with open_workspace(workspace) as store:
            result = execute_plan(
                store,
                plan_id,
                clients=clients,
                price_tolerance=tolerance,
                max_approval_age=age,
                savings_plans_region=region,
                on_line=print_line if table else None,
                actor=purchase_identity(profile),
            )
        if not table:
            emit_json(result.to_json())
            return EXIT_OK
        if not printed:
            echo_payload(f"plan {plan_id} (execute)")
        if not result.outcomes:
            echo_payload(f"plan {plan_id}: the plan has no purchase lines; nothing to buy")
        elif not result.bought:
            echo_payload(f"plan {plan_id}: every line was already bought; nothing to do")
        _say(f"plan {result.plan_id}: {result.status} ({result.reason})")
        return EXIT_OK
    with open_workspace(workspace, read_only=True) as store:
        result = dry_run(
            store,
            plan_id,
            clients=make_clients(profile) if lookup else None,
            price_tolerance=tolerance,
            max_approval_age=age,
            savings_plans_region=region,
        )
    if not table:
        emit_json(result.to_json())
        return EXIT_THRESHOLD if result.price_moved else EXIT_OK
    _print_head(result)
    for outcome in result.outcomes:
        _print_outcome(outcome)
    if not result.outcomes:
        echo_payload("the plan has no purchase lines; nothing to buy")
    _say(
        f"dry run: nothing bought. Plan status: {result.status} ({result.reason}). "
        f"Buy with `commitopt purchase {result.plan_id} --execute`"
        + ("" if result.status == "approved" else " once the plan is approved")
        + "."
    )
    if result.price_moved:
        reporter().warning(
            f"some live prices differ from the plan's by more than {price_tolerance:g} "
            "%; --execute would refuse"
        )
        return EXIT_THRESHOLD
    return EXIT_OK
