"""The click group of commitopt: subcommands imported when they run, domain errors named by flag.

``commitopt --help`` must answer at once, so a subcommand's module (and the pandas, optimizer and
plotting code behind it) is imported only when that subcommand is resolved; the listing uses the
short help kept beside each entry (a test checks they match the commands' own).

When a command fails with a :class:`core.errors.CommitoptError`, the message's parameter
references are rendered as the failing command's flags (``lookback_days`` → ``--lookback``) and
the error leaves as a :class:`CommandFailed` carrying its exit code.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import click

from core.errors import CommitoptEnvironmentError, CommitoptError

COMMAND_PATH_META_KEY: Final = "commitopt.command_path"
"""Key, in ``click.Context.meta``, of the commands resolved so far (the last one runs)."""

EXIT_OK: Final = 0
EXIT_THRESHOLD: Final = 1
EXIT_BAD_INPUT: Final = 2
EXIT_ENVIRONMENT: Final = 3
EXIT_INTERRUPTED: Final = 130
EXIT_INTERNAL_ERROR: Final = 70

PARAMETER_ALIASES: Final[Mapping[str, str]] = {
    "lookback_days": "lookback",
    "tolerance": "gap",
    "time_limit_seconds": "time_limit",
    "horizon_hours": "horizon",
    "expiring_within_days": "expiring_within",
    "max_upfront_usd": "max_upfront",
    "max_hourly_commitment_usd": "max_hourly_commitment",
    "catalog_path": "catalog_paths",
    "regions": "region",
    "period_start": "start",
    "period_end": "end",
    "stopped_after_days": "stopped_after",
    "recency_half_life_days": "recency_half_life",
    "min_increment_pct": "min_increment",
    "stressed_families": "stress",
    "next_review_hours": "next_review",
    "include_accounts": "accounts",
    "include_regions": "regions",
    "include_families": "families",
    "custom_commitment_usd": "custom_commitment",
    "custom_commitment_kind": "custom_commitment",
    "terms_years": "term",
    "payment_options": "payment",
    "ladder_tranches": "ladder",
}
"""Library parameter names whose command-line option has another parameter name."""


@dataclass(frozen=True)
class LazyCommand:
    """A subcommand known by where it lives and its one-line help, imported when it runs.

    Attributes
    ----------
    module
        Module that defines it (``"commitopt.cli.recommend_command"``).
    attribute
        The click command in that module.
    short_help
        The line shown by the group's ``--help`` (equal to the command's own short help).
    """

    module: str
    attribute: str
    short_help: str

    def load(self) -> click.Command:
        """Import the module and return the command."""
        command = getattr(importlib.import_module(self.module), self.attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.module}.{self.attribute} is not a click command")
        return command


class CommandFailed(click.ClickException):
    """A domain error rendered for the command line, with its exit code."""

    def __init__(self, message: str, exit_status: int) -> None:
        super().__init__(message)
        self.exit_status = exit_status
        """commitopt's exit code (2 or 3; click's own ``exit_code`` is left alone)."""

    def show(self, file: Any = None) -> None:
        """Print ``commitopt: error: MESSAGE`` on standard error."""
        click.echo(f"commitopt: error: {self.format_message()}", err=True)


def flag_of(parameter: str, command: click.Command | None) -> str | None:
    """The command-line flag that sets a library ``parameter``, or ``None`` when none does.

    Parameters
    ----------
    parameter
        A library parameter name from a :func:`core.errors.param` reference.
    command
        The command that ran; its options are searched by parameter name (through
        :data:`PARAMETER_ALIASES` where the names differ).
    """
    if command is not None:
        for name in (parameter, PARAMETER_ALIASES.get(parameter, parameter)):
            for option in command.params:
                if option.name == name and isinstance(option, click.Option):
                    longs = [o for o in option.opts if o.startswith("--")]
                    return max(longs, key=len) if longs else option.opts[0]
                if option.name == name and isinstance(option, click.Argument):
                    return option.human_readable_name
    return None


def command_failed(error: CommitoptError, command: click.Command | None) -> CommandFailed:
    """The domain error as the command line shows it: flags named, exit code by kind."""
    code = EXIT_ENVIRONMENT if isinstance(error, CommitoptEnvironmentError) else EXIT_BAD_INPUT
    return CommandFailed(error.render(lambda name: flag_of(name, command)), code)


class ReaderGoneError(Exception):
    """The reader of the standard output went away (``commitopt ... | head``).

    Click turns a broken pipe into exit code 1, which here means "a threshold was not met"; the
    group raises this instead, and :func:`commitopt.cli.main` ends quietly with 141, as a shell
    pipeline's writer killed by SIGPIPE does.
    """


class CommitoptGroup(click.Group):
    """A group whose subcommands may be imported lazily, and which names domain errors by flag.

    Parameters
    ----------
    lazy_commands
        Subcommands by name, imported when resolved; listed in this order before the others.
    """

    def __init__(
        self,
        *args: Any,
        lazy_commands: Mapping[str, LazyCommand] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, LazyCommand] = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Lazy commands in their registry order, then any added eagerly."""
        eager = [name for name in super().list_commands(ctx) if name not in self.lazy_commands]
        return [*self.lazy_commands, *eager]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, importing its module on first use."""
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            self.add_command(self.lazy_commands[cmd_name].load(), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command listing of ``--help``, without importing the lazy commands."""
        rows: list[tuple[str, str]] = []
        limit = (
            formatter.width - 6 - max((len(name) for name in self.list_commands(ctx)), default=0)
        )
        for name in self.list_commands(ctx):
            lazy = self.lazy_commands.get(name)
            if lazy is not None and name not in self.commands:
                text = lazy.short_help
                rows.append((name, text if len(text) <= limit else text[: limit - 3] + "..."))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Resolve as click does, and remember the command for naming flags in errors."""
        name, command, rest = super().resolve_command(ctx, args)
        ctx.meta.setdefault(COMMAND_PATH_META_KEY, []).append(command)
        return name, command, rest

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; a domain error becomes a :class:`CommandFailed` named by flag."""
        try:
            return super().invoke(ctx)
        except BrokenPipeError as error:
            raise ReaderGoneError() from error
        except CommitoptError as error:
            if ctx.parent is not None:
                raise  # the outermost group renders it, knowing the innermost command
            path: Sequence[click.Command] = ctx.meta.get(COMMAND_PATH_META_KEY, ())
            raise command_failed(error, path[-1] if path else self) from error
