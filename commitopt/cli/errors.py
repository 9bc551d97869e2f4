"""Exit codes: 0 ok, 1 threshold not met, 2 bad input, 3 environment; one line, no traceback.

=====  ===================================================================================
code   meaning
=====  ===================================================================================
0      success
1      the command ran but a threshold was not met (a live price moved beyond tolerance, …)
2      bad input or usage: a file, a flag or a value commitopt cannot use as given
3      the environment: workspace busy, AWS unreachable or denying the call, solver time limit
130    interrupted (Ctrl-C)
70     an internal error (a bug: the traceback is printed; please report it)
=====  ===================================================================================
"""

from __future__ import annotations

import errno
import sys
import traceback
from collections.abc import Sequence
from typing import Any, Final

import click

from commitopt.cli.group import (
    EXIT_BAD_INPUT,
    EXIT_ENVIRONMENT,
    EXIT_INTERNAL_ERROR,
    EXIT_INTERRUPTED,
    CommandFailed,
    ReaderGoneError,
    command_failed,
)
from core.errors import CommitoptError

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 ran but a threshold was not met, 2 bad input or usage, 3 environment "
    "(workspace busy, AWS unreachable or denied, solver time limit)."
)
"""The one line every ``--help`` ends with."""


ENVIRONMENT_ERRNOS: Final = frozenset(
    {errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EROFS, errno.EIO, errno.EDQUOT, errno.EBUSY}
)
"""File-system failures that are the machine's, not the input's (exit code 3)."""


def _short(text: str, limit: int = 80) -> str:
    """A name cut to ``limit`` characters, saying how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def _file_failure(error: OSError) -> CommandFailed:
    """A file-system error as one line: the path, what is wrong, exit 2 (or 3)."""
    what = error.strerror or str(error)
    where = _short(str(error.filename)) if error.filename is not None else "a file"
    code = EXIT_ENVIRONMENT if error.errno in ENVIRONMENT_ERRNOS else EXIT_BAD_INPUT
    return CommandFailed(f"{where}: {what}; check the path and its folder", code)


def _is_aws_failure(error: BaseException) -> bool:
    """A botocore error: credentials, endpoint, throttling or a denied call (not bad input)."""
    return type(error).__module__.startswith(("botocore.", "boto3.")) and not isinstance(
        error, ValueError
    )


def run_with_exit_codes(
    command: click.Command, args: Sequence[str] | None = None, **extra: Any
) -> int:
    """Run a click command and return commitopt's exit code.

    Parameters
    ----------
    command
        The root command.
    args
        Command-line arguments [default: ``sys.argv[1:]``].
    extra
        Passed to ``command.main`` (e.g. the payload stream, see :mod:`commitopt.cli.streams`).

    Domain errors print one line ``commitopt: error: ...`` on standard error: bad input gives 2,
    the environment 3. Click's usage errors give 2. Anything else is a bug: its traceback is
    printed and the code is 70, so that a crash is never read as "threshold not met".
    """
    try:
        result = command.main(
            args=list(args) if args is not None else None, standalone_mode=False, **extra
        )
    except ReaderGoneError as gone:
        raise BrokenPipeError(errno.EPIPE, "the reader of the standard output went away") from gone
    except click.exceptions.Abort:
        click.echo("commitopt: interrupted", err=True)
        return EXIT_INTERRUPTED
    except CommandFailed as error:
        error.show()
        return error.exit_status
    except click.UsageError as error:
        hint = ""
        if error.ctx is not None:
            hint = f" (see `{error.ctx.command_path} -h`)"
        click.echo(f"commitopt: error: {error.format_message()}{hint}", err=True)
        return EXIT_BAD_INPUT
    except click.ClickException as error:
        error.show()
        return EXIT_BAD_INPUT if error.exit_code not in (0, 1) else error.exit_code
    except CommitoptError as error:  # raised outside a group (a command run on its own)
        failed = command_failed(error, command)
        failed.show()
        return failed.exit_status
    except click.exceptions.Exit as exit_:
        return int(exit_.exit_code)
    except OSError as error:
        if isinstance(error, BrokenPipeError):
            raise
        failed = _file_failure(error)
        failed.show()
        return failed.exit_status
    except Exception as error:
        if _is_aws_failure(error):
            click.echo(f"commitopt: error: AWS: {error}", err=True)
            return EXIT_ENVIRONMENT
        traceback.print_exc(file=sys.stderr)
        click.echo(
            "commitopt: internal error (a bug, not your input): please report it with the "
            "traceback above",
            err=True,
        )
        return EXIT_INTERNAL_ERROR
    return int(result) if isinstance(result, int) else 0
