"""The ``commitopt`` command line: a click group whose subcommands live in sibling modules.

Subcommands are imported when they run (``commitopt --help`` loads neither pandas nor the
optimizer); :data:`COMMANDS` lists them in the order the help shows them, with their one-line help.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import click

from commitopt import __version__
from commitopt.cli.errors import EXIT_CODES_HELP, run_with_exit_codes
from commitopt.cli.group import CommitoptGroup, LazyCommand, ReaderGoneError
from commitopt.cli.progress import quiet_option
from commitopt.cli.streams import PAYLOAD_META_KEY, stdout_reserved_for_payload
from commitopt.config import Config, command_defaults, load_config
from core.memory import keep_freed_memory

CONTEXT_SETTINGS: Final = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _lazy(where: str, short_help: str) -> LazyCommand:
    """A subcommand at ``"module:attribute"`` of :mod:`commitopt.cli`."""
    module, _, attribute = where.partition(":")
    return LazyCommand(f"commitopt.cli.{module}", attribute, short_help)


COMMANDS: Final[Mapping[str, LazyCommand]] = {
    "demo": _lazy(
        "demo_command:demo_command", "The whole job on synthetic data: recommend, bill, report."
    ),
    "recommend": _lazy(
        "recommend_command:recommend_command", "The RIs and Savings Plans to buy now, and why."
    ),
    "simulate": _lazy(
        "simulate_command:simulate_command", "Bill usage with commitments as AWS would; what-ifs."
    ),
    "review": _lazy(
        "review_command:review_command", "The scheduled purchase review: store a proposed plan."
    ),
    "report": _lazy(
        "report_command:report_command",
        "Write a plan's finance report (HTML, Markdown, JSON, CSV).",
    ),
    "plans": _lazy("plan_commands:plans", "List the stored plans, their status and history."),
    "approve": _lazy(
        "plan_commands:approve_command", "Approve a proposed plan (appends to the ledger)."
    ),
    "reject": _lazy(
        "plan_commands:reject_command", "Reject a plan (final; revokes an unexecuted approval)."
    ),
    "purchase": _lazy(
        "purchase_command:purchase_command",
        "Print a plan's AWS purchase calls; --execute makes them.",
    ),
    "forecast": _lazy(
        "forecast_command:forecast_command", "Forecast usage and spend: P5 / P50 / P95 per period."
    ),
    "frontier": _lazy(
        "frontier_command:frontier_command", "Savings by commitment level, and the knee."
    ),
    "backtest": _lazy(
        "backtest_command:backtest_command", "Replay purchase policies over past usage; bill each."
    ),
    "usage": _lazy(
        "usage_commands:usage", "Usage: import CUR, FOCUS, Cost Explorer, CSV; summarize."
    ),
    "pricing": _lazy(
        "pricing_commands:pricing", "Price catalogs: show, import, fetch, where rates come from."
    ),
    "inventory": _lazy(
        "inventory_commands:inventory", "Owned RIs and Savings Plans, and their expirations."
    ),
    "config": _lazy(
        "config_command:config_command", "Show the configuration in effect and its file."
    ),
}
"""Every subcommand, in the order ``commitopt --help`` lists them."""


class ConfiguredDefaults(Mapping[str, Any]):
    """Click's ``default_map`` for a group, worked out for a subcommand only when it runs.

    Parameters
    ----------
    config
        The configuration in effect.
    group
        The group whose subcommands' defaults are asked for.
    context
        The group's context (to resolve subcommands).
    """

    def __init__(self, config: Config, group: click.Group, context: click.Context) -> None:
        self.config = config
        self.group = group
        self.context = context

    def __getitem__(self, name: str) -> Any:
        command = self.group.get_command(self.context, name)
        if command is None:
            raise KeyError(name)
        if isinstance(command, click.Group):
            return ConfiguredDefaults(self.config, command, self.context)
        return command_defaults(self.config, command)

    def __iter__(self) -> Iterator[str]:
        return iter(self.group.list_commands(self.context))

    def __len__(self) -> int:
        return len(self.group.list_commands(self.context))


class RootGroup(CommitoptGroup):
    """The ``commitopt`` group: takes the payload stream from :func:`main` into its context."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """Make the context; the ``payload`` stream given to ``main`` (else the standard output
        of the moment) goes into ``ctx.meta``."""
        payload = extra.pop("payload", None)
        try:  # --help and --version print here, before any command runs
            context = super().make_context(info_name, args, parent=parent, **extra)
        except BrokenPipeError as error:
            raise ReaderGoneError() from error
        context.meta[PAYLOAD_META_KEY] = payload if payload is not None else sys.stdout
        return context


@click.group(
    cls=RootGroup,
    lazy_commands=COMMANDS,
    context_settings=CONTEXT_SETTINGS,
    epilog=f"{EXIT_CODES_HELP} Run `commitopt COMMAND -h` for a command's options and examples. "
    "The docs/ folder of the repository has the file formats and the glossary of every field.",
)
@click.version_option(__version__, "-V", "--version", prog_name="commitopt")
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Configuration file [default: $COMMITOPT_CONFIG, ./commitopt.toml or a parent's, "
    "or pyproject.toml's [tool.commitopt]].",
)  # fmt: skip
@quiet_option
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Commitment optimization for AWS: which Reserved Instances and Savings Plans to buy, and why.

    Defaults (lookback, terms, payment options, budgets, approvers, ...) may come from a
    commitopt.toml; flags override it (see `commitopt config`). Results go to stdout (a table,
    or with --format json|csv only the payload); progress, notes and errors go to stderr.
    """
    config = load_config(config_path)
    ctx.obj = config
    ctx.default_map = ConfiguredDefaults(config, cli, ctx)  # type: ignore[assignment]


@contextlib.contextmanager
def _quiet_broken_pipe() -> Iterator[None]:
    """A reader that stops reading (``commitopt ... | head``) ends the command quietly."""
    try:
        yield
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)


def main() -> None:
    """Console-script entry point: run the CLI with commitopt's exit codes, stdout for payload.

    The process keeps the memory its commands free for their next arrays
    (:func:`core.memory.keep_freed_memory`): a large recommendation runs 15-20 % faster.
    """
    keep_freed_memory()
    with _quiet_broken_pipe(), stdout_reserved_for_payload() as payload:
        code = run_with_exit_codes(cli, payload=payload) if payload else run_with_exit_codes(cli)
    sys.exit(code)
