"""The ``commitopt`` command line: a click group whose subcommands live in sibling modules."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from commitopt import __version__
from commitopt.cli.errors import run_with_exit_codes
from commitopt.config import default_map, load_config

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="commitopt")
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Configuration file [default: $COMMITOPT_CONFIG, ./commitopt.toml or a parent's, "
    "or pyproject.toml's [tool.commitopt]].",
)  # fmt: skip
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Commitment optimization for AWS: which Reserved Instances and Savings Plans to buy, and why.

    \b
    Exit codes: 0 ok, 1 ran but failed a threshold, 2 bad input or usage error.
    Run `commitopt COMMAND -h` for a command's options and examples.
    Defaults (lookback, terms, payment options, budgets, approvers, ...) may come from a
    commitopt.toml; flags override it (see `commitopt config`).
    """
    config = load_config(config_path)
    ctx.obj = config
    ctx.default_map = default_map(config, cli.commands)


def _register() -> None:
    from commitopt.cli.inventory_commands import inventory
    from commitopt.cli.pricing_commands import pricing
    from commitopt.cli.recommend_command import recommend_command
    from commitopt.cli.simulate_command import simulate_command
    from commitopt.cli.usage_commands import usage

    cli.add_command(pricing)
    cli.add_command(usage)
    cli.add_command(simulate_command)
    cli.add_command(recommend_command)
    cli.add_command(inventory)
    from commitopt.cli.config_command import config_command
    from commitopt.cli.demo_command import demo_command
    from commitopt.cli.review_command import review_command

    cli.add_command(config_command)
    cli.add_command(review_command)
    cli.add_command(demo_command)
    from commitopt.cli.plan_commands import approve_command, plans, reject_command
    from commitopt.cli.purchase_command import purchase_command

    cli.add_command(plans)
    cli.add_command(approve_command)
    cli.add_command(reject_command)
    cli.add_command(purchase_command)
    from commitopt.cli.forecast_command import forecast_command

    cli.add_command(forecast_command)
    from commitopt.cli.report_command import report_command

    cli.add_command(report_command)
    from commitopt.cli.frontier_command import frontier_command

    cli.add_command(frontier_command)
    from commitopt.cli.backtest_command import backtest_command

    cli.add_command(backtest_command)


_register()


def main() -> None:
    """Console-script entry point: run the CLI with commitopt's exit codes."""
    sys.exit(run_with_exit_codes(cli))
