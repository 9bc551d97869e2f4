"""Where a command's inputs come from: usage (files, demo or workspace), prices, owned commitments.

One place turns the shared options into what the engines need, with progress while files are
read and the notes a user should see (the embedded catalog's age, a lookback longer than the
data), so that every command resolves them the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import click
import pandas as pd

from commitopt.catalogs import ResolvedCatalog, resolve_catalog
from commitopt.cli.options import WAIT_META_KEY
from commitopt.cli.progress import reporter
from commitopt.workspace import Workspace
from core.errors import CommitoptInputError
from pricing.catalog import PriceCatalog
from pricing.inventory import OwnedCommitment, read_portfolio_json

NOTICE_META_KEY = "commitopt.notices_shown"
"""Key, in ``click.Context.meta``, of the notes already printed by this invocation."""


def command_usage(
    usage_files: tuple[str, ...],
    workspace: Path | None,
    *,
    purpose: str,
    demo: Callable[[], pd.DataFrame] | None = None,
    demo_option: bool = True,
    start: datetime | None = None,
    end: datetime | None = None,
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
    start, end
        ``--from`` and ``--to``: the period read from files or the workspace (UTC, end
        exclusive) [default: all of it].

    Raises
    ------
    core.errors.CommitoptInputError
        When there is no usage, naming the ways to give some.
    """
    from usage.readers import read_usage

    if demo is not None:
        with reporter().task("building the synthetic history"):
            frame = demo()
    elif usage_files:
        with reporter().task("reading usage", total=100, unit="%") as task:
            frame, _report = read_usage(
                list(usage_files), "auto", start=start, end=end, progress=task
            )
    else:
        with (
            reporter().task("loading the workspace's usage"),
            open_workspace(workspace, read_only=True) as store,
        ):
            frame = store.load_usage(start=start, end=end)
    if frame.empty:
        ways = "--usage FILE, --demo," if demo_option else "--usage FILE"
        raise CommitoptInputError(
            f"no usage to {purpose}: pass {ways} or import some with `commitopt usage import`"
        )
    return frame


def bill_rates(usage_files: Sequence[str]) -> list[PriceCatalog]:
    """The rates a CUR given with ``--usage`` bills its own keys at (none for other formats)."""
    if not is_cur(usage_files):
        return []
    from pricing.readers.cur_rates import read_cur_rates

    return [read_cur_rates(list(usage_files))]


def is_cur(usage_files: Sequence[str]) -> bool:
    """Whether ``--usage`` names CUR files (legacy or 2.0), whose fee lines and rates count."""
    if not usage_files:
        return False
    from usage.readers import detect_format

    return detect_format(list(usage_files)) in ("cur", "cur2")


def command_catalog(
    catalog_paths: Sequence[Path],
    *,
    no_embedded: bool = False,
    usage_files: Sequence[str] = (),
) -> ResolvedCatalog:
    """The prices a command uses: a CUR's own rates, ``--catalog`` files, local, embedded.

    When the embedded snapshot is used, its note (as-of date and how to refresh) is printed once
    per invocation, unless ``--quiet``.
    """
    resolved = resolve_catalog(
        catalog_paths, first=bill_rates(usage_files), use_embedded=not no_embedded
    )
    for notice in resolved.notices:
        note_once(notice)
    return resolved


def note_once(text: str) -> None:
    """Print a note once per invocation (silenced by ``--quiet``)."""
    context = click.get_current_context(silent=True)
    shown: set[str] = set() if context is None else context.meta.setdefault(NOTICE_META_KEY, set())
    if text in shown:
        return
    shown.add(text)
    reporter().note(text)


def open_workspace(path: Path | None, *, read_only: bool = False) -> Workspace:
    """Open the workspace as the command's ``--workspace`` and ``--wait`` say.

    While another process holds the file, waits up to ``--wait`` seconds (saying so once),
    then fails with exit 3 (:class:`commitopt.workspace.WorkspaceBusyError`).
    """
    context = click.get_current_context(silent=True)
    wait_seconds = float(context.meta.get(WAIT_META_KEY, 0.0)) if context is not None else 0.0
    return Workspace.open(
        path,
        read_only=read_only,
        wait_seconds=wait_seconds,
        on_wait=lambda: reporter().note(
            f"the workspace is busy (another commitopt is using it); waiting up to "
            f"{wait_seconds:g} s"
        ),
    )


def check_writable(path: Path | None) -> None:
    """Fail now (exit 3 after ``--wait``) when the workspace cannot be written, rather than after
    the expensive work that will store into it: open it for writing and close it again."""
    with open_workspace(path):
        pass


def command_owned(
    inventory_files: Sequence[Path],
    *,
    workspace: Path | None = None,
    usage_files: Sequence[str] = (),
    use_bill: bool = True,
    store: Workspace | None = None,
) -> tuple[OwnedCommitment, ...]:
    """The commitments owned: ``--inventory`` files first, then what the bill shows.

    The bill is the workspace ``store`` already open when given, else the CUR files given with
    ``--usage`` when there are any, else the workspace's imported bills
    (:func:`commitopt.owned.bill_inventory`; nothing when there is no workspace file). Files take
    precedence, commitment by commitment (:mod:`commitopt.owned`).
    """
    from commitopt.owned import merge_commitments

    stated = [read_portfolio_json(path).commitments for path in inventory_files]
    billed = _billed_commitments(workspace, usage_files, store) if use_bill else ()
    if billed:
        note_once(
            f"{len(billed)} owned commitments from the bill (--no-bill-inventory ignores them; "
            "`commitopt inventory show` lists them)"
        )
    return merge_commitments([*stated, billed])


def _billed_commitments(
    workspace: Path | None, usage_files: Sequence[str], store: Workspace | None
) -> tuple[OwnedCommitment, ...]:
    """The RIs and Savings Plans the ``--usage`` CUR files, or the workspace's bills, show."""
    from commitopt.owned import bill_inventory

    if store is not None:
        return bill_inventory(store).commitments
    if usage_files:
        from pricing.inventory import inventory_from_cur

        return inventory_from_cur(list(usage_files)).commitments if is_cur(usage_files) else ()
    from commitopt.workspace import workspace_path

    if not workspace_path(workspace).is_file():
        return ()
    with open_workspace(workspace, read_only=True) as store:
        return bill_inventory(store).commitments


def warn_if_lookback_exceeds(frame: pd.DataFrame, lookback_days: float) -> None:
    """Say when the lookback asks for more history than the usage holds.

    A warning when ``--lookback`` was given (or configured); a note when it is the default.
    """
    if frame.empty:
        return
    first, last = pd.Timestamp(frame["hour"].min()), pd.Timestamp(frame["hour"].max())
    span_days = ((last - first) / pd.Timedelta(hours=1) + 1) / 24
    if lookback_days <= span_days + 1e-9:
        return
    text = (
        f"--lookback {lookback_days:g}d is longer than the usage, which covers {span_days:.1f} "
        f"days ({first:%Y-%m-%d} to {last:%Y-%m-%d %H:%M} UTC); all of it is used"
    )
    context = click.get_current_context(silent=True)
    source = context.get_parameter_source("lookback") if context is not None else None
    if source is None or source == click.core.ParameterSource.DEFAULT:
        reporter().note(text)
    else:
        reporter().warning(text)
