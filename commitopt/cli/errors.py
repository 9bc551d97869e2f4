"""Map failures to exit codes: 0 ok, 1 threshold failed, 2 bad input; one line, no traceback."""

from __future__ import annotations

from collections.abc import Sequence

import click

from pricing.errors import CommitoptInputError


def run_with_exit_codes(command: click.Command, args: Sequence[str] | None = None) -> int:
    """Run a click command and return commitopt's exit code.

    ``args`` defaults to ``sys.argv[1:]``.

    Domain input errors (:class:`pricing.errors.CommitoptInputError`, a ``ValueError``) print one
    line ``commitopt: error: ...`` on stderr and give 2; click usage errors give 2 as well.
    """
    try:
        result = command.main(args=list(args) if args is not None else None, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("commitopt: aborted", err=True)
        return 2
    except click.ClickException as error:
        error.show()
        return 2 if error.exit_code not in (0, 1) else error.exit_code
    except CommitoptInputError as error:
        click.echo(f"commitopt: error: {error}", err=True)
        return 2
    except click.exceptions.Exit as exit_:
        return int(exit_.exit_code)
    return int(result) if isinstance(result, int) else 0
