"""Where a command's usage comes from: ``--usage`` files, the synthetic demo, or the workspace."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from commitopt.workspace import Workspace
from pricing.errors import CommitoptInputError
from usage.readers import read_usage


def command_usage(
    usage_files: tuple[str, ...],
    workspace: Path | None,
    *,
    purpose: str,
    demo: Callable[[], pd.DataFrame] | None = None,
    demo_option: bool = True,
) -> pd.DataFrame:
    """The canonical usage a command works on.

    Parameters
    ----------
    usage_files
        ``--usage`` files (globs); read when given.
    workspace
        ``--workspace``; its usage is read when there are no files and no demo.
    purpose
        What the usage is for, in the message when there is none (``"optimize"``).
    demo
        Builds the synthetic history when ``--demo`` was given; ``None`` when it was not (or the
        command has no ``--demo``).
    demo_option
        Whether the command has ``--demo`` (then the message offers it).

    Raises
    ------
    pricing.errors.CommitoptInputError
        When there is no usage, naming the ways to give some.
    """
    if demo is not None:
        frame = demo()
    elif usage_files:
        frame, _report = read_usage(list(usage_files), "auto")
    else:
        with Workspace.open(workspace, read_only=True) as store:
            frame = store.load_usage()
    if frame.empty:
        ways = "--usage FILE, --demo," if demo_option else "--usage FILE"
        raise CommitoptInputError(
            f"no usage to {purpose}: pass {ways} or import some with `commitopt usage import`"
        )
    return frame
