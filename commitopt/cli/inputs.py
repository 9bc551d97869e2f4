"""Where a command's inputs come from: usage (files, demo or workspace), prices, owned commitments.

One place turns the shared options into what the engines need, with progress while files are
read and the notes a user should see (the embedded catalog's age, a lookback longer than the
data), so that every command resolves them the same way:

- :func:`input_options` declares a command's input options (``--usage``, ``--demo``,
  ``--inventory``, ``--bill-inventory``, ``--workspace``, ``--catalog``) and hands the command
  one :class:`CommandInputs` instead of their values;
- :class:`CommandInputs` reads, when asked, the usage (:meth:`~CommandInputs.usage`), the owned
  commitments (:meth:`~CommandInputs.owned`: ``--inventory`` files over ``--from-aws`` over the
  bill) and the prices (:meth:`~CommandInputs.catalog`: a CUR's own rates over ``--catalog``
  files over the local catalog over the embedded snapshot).

Library layers return their notices and warnings (``ResolvedCatalog.notices``, a result's
``warnings`` or ``notes``); only the CLI prints them, on standard error.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import click
import pandas as pd

from commitopt.catalogs import ResolvedCatalog, resolve_catalog
from commitopt.cli.options import (
    WAIT_META_KEY,
    bill_inventory_option,
    catalog_options,
    demo_option,
    inventory_option,
    usage_option,
    workspace_option,
)
from commitopt.cli.progress import reporter
from commitopt.workspace import Workspace
from core.durations import Duration
from core.errors import CommitoptInputError
from core.times import as_utc
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment, Inventory, read_portfolio_json

if TYPE_CHECKING:
    from usage.table import UsageMatrix

NOTICE_META_KEY = "commitopt.notices_shown"
"""Key, in ``click.Context.meta``, of the notes already printed by this invocation."""


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


@contextlib.contextmanager
def open_workspace_to_import(path: Path | None) -> Iterator[Workspace]:
    """:func:`open_workspace` for writing, for an import: when the workspace file did not exist
    and the import fails, the empty file it created is removed again (nothing half-written)."""
    from commitopt.workspace import WorkspaceBusyError, workspace_path

    target = workspace_path(path)
    created = not target.exists()
    try:
        with open_workspace(path) as store:
            yield store
    except BaseException as error:
        if created and not isinstance(error, WorkspaceBusyError):  # a busy file is not ours
            for leftover in (target, target.with_name(target.name + ".wal")):
                leftover.unlink(missing_ok=True)
        raise


def check_writable(path: Path | None) -> None:
    """Fail now (exit 3 after ``--wait``) when the workspace cannot be written, rather than after
    the expensive work that will store into it: open it for writing and close it again."""
    with open_workspace(path):
        pass


@dataclass(frozen=True)
class AwsSource:
    """``--from-aws``: read the owned RIs, the RDS, ElastiCache, OpenSearch, Redshift and
    MemoryDB reservations (per region) and Savings Plans through boto3.

    Attributes
    ----------
    regions
        ``--region``: the regions whose RIs are read (Savings Plans are global).
    profile
        ``--profile``: an AWS named profile; boto3's standard chain when ``None``.
    """

    regions: tuple[str, ...]
    profile: str | None = None

    def read(self) -> list[Inventory]:
        """The live account's RIs, then its RDS, ElastiCache, OpenSearch, Redshift and MemoryDB
        reservations, one inventory per region and service, and its Savings Plans.

        Raises
        ------
        core.errors.CommitoptInputError
            When no region is given, or one is unknown.
        """
        import boto3

        from pricing.inventory import fetch_reserved_instances, fetch_savings_plans
        from pricing.inventory.databases import (
            fetch_reserved_cache_nodes,
            fetch_reserved_db_instances,
            fetch_reserved_memorydb_nodes,
            fetch_reserved_redshift_nodes,
            fetch_reserved_search_instances,
        )
        from pricing.regions import check_region

        if not self.regions:
            raise CommitoptInputError("--from-aws needs --region (RIs are listed per region)")
        for code in self.regions:
            check_region(code)
        session = boto3.Session(profile_name=self.profile)
        found = [
            fetch_reserved_instances(session.client("ec2", region_name=code))
            for code in self.regions
        ]
        found.extend(
            fetch_reserved_db_instances(session.client("rds", region_name=code))
            for code in self.regions
        )
        found.extend(
            fetch_reserved_cache_nodes(session.client("elasticache", region_name=code))
            for code in self.regions
        )
        found.extend(
            fetch_reserved_search_instances(session.client("opensearch", region_name=code))
            for code in self.regions
        )
        found.extend(
            fetch_reserved_redshift_nodes(session.client("redshift", region_name=code))
            for code in self.regions
        )
        found.extend(
            fetch_reserved_memorydb_nodes(session.client("memorydb", region_name=code))
            for code in self.regions
        )
        found.append(fetch_savings_plans(session.client("savingsplans", region_name="us-east-1")))
        return found


@dataclass(frozen=True)
class CommandInputs:
    """What a command's input options name, resolved the same way for every command.

    Built from the shared options of :mod:`commitopt.cli.options`; each method reads one input
    when the command asks for it (in the order the command needs them), with progress and the
    notes a user should see.

    Attributes
    ----------
    usage_files
        ``--usage`` files (globs).
    workspace
        ``--workspace`` [default: ``$COMMITOPT_WORKSPACE`` or ``./commitopt.duckdb``].
    inventory_files
        ``--inventory`` portfolio files of owned commitments.
    catalog_paths, no_embedded
        ``--catalog`` files and ``--no-embedded``.
    use_bill
        ``--bill-inventory``: count the commitments the bill shows as owned.
    from_aws
        ``--from-aws`` (with its regions and profile), or ``None``.
    demo
        Builds the synthetic history when ``--demo`` was given; ``None`` otherwise.
    """

    usage_files: tuple[str, ...] = ()
    workspace: Path | None = None
    inventory_files: tuple[Path, ...] = ()
    catalog_paths: tuple[Path, ...] = ()
    no_embedded: bool = False
    use_bill: bool = True
    from_aws: AwsSource | None = None
    demo: Callable[[], pd.DataFrame] | None = None

    def __post_init__(self) -> None:
        if self.demo is not None and self.usage_files:
            raise CommitoptInputError("--demo and --usage exclude each other; choose one")

    def usage(
        self,
        *,
        purpose: str,
        demo_option: bool = True,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pd.DataFrame:
        """The canonical usage: the demo history, else the ``--usage`` files, else the
        workspace's.

        Parameters
        ----------
        purpose
            What the usage is for, in the message when there is none (``"optimize"``).
        demo_option
            Whether the command has ``--demo`` (then the message offers it).
        start, end
            ``--from`` and ``--to``: the period read from files or the workspace (UTC, end
            exclusive) [default: all of it].

        Raises
        ------
        core.errors.CommitoptInputError
            When there is no usage, naming the ways to give some; ``--usage`` files that are
            implausible (:func:`read_usage_files`).
        """
        if self.demo is not None:
            with reporter().task("building the synthetic history"):
                frame = self.demo()
        elif self.usage_files:
            frame = read_usage_files(self.usage_files, start=start, end=end)
        else:
            with (
                reporter().task("loading the workspace's usage"),
                open_workspace(self.workspace, read_only=True) as store,
            ):
                frame = store.load_usage(start=start, end=end)
        if frame.empty:
            if self.demo is None and self.usage_files:
                raise no_usage_in_files(self.usage_files, purpose, start=start, end=end)
            self._no_usage(purpose, demo_option)
        return frame

    def usage_matrix(
        self, *, purpose: str, lookback: Duration, demo_option: bool = True
    ) -> UsageMatrix:
        """:meth:`usage` as a matrix, for the commands that take the last ``lookback`` of it.

        From the workspace only the lookback's hours are read, straight into the matrix
        (:meth:`~commitopt.workspace.Workspace.load_usage_matrix`): a year of 1,000 keys
        never becomes an 8.76-million-row table. Files and the demo are read as tables and
        turned into a matrix once. Warns as :func:`warn_if_lookback_exceeds`.
        """
        from usage.table import to_matrix

        if self.demo is not None or self.usage_files:
            frame = self.usage(purpose=purpose, demo_option=demo_option)
            warn_if_lookback_exceeds(frame, lookback)
            return to_matrix(frame, source="usage")
        with (
            reporter().task("loading the workspace's usage"),
            open_workspace(self.workspace, read_only=True) as store,
        ):
            span = store.usage_span()
            if span is None:
                self.usage(purpose=purpose, demo_option=demo_option)  # raises: none stored
                raise AssertionError("unreachable: the workspace holds usage")
            warn_if_lookback_exceeds(span, lookback)
            return store.load_usage_matrix(start=lookback_start(span, round(lookback.days * 24)))

    def usage_of_period(
        self,
        *,
        purpose: str,
        start: datetime | None = None,
        end: datetime | None = None,
        demo_option: bool = True,
    ) -> UsageMatrix:
        """:meth:`usage` over ``[start, end)`` as a matrix (the one conversion).

        From the workspace only that period is read, straight into the matrix
        (:meth:`~commitopt.workspace.Workspace.load_usage_matrix`); files and the demo are read
        as tables and turned into a matrix once. Raises as :meth:`usage` when there is none.
        """
        from usage.table import to_matrix

        if self.demo is not None or self.usage_files:
            frame = self.usage(purpose=purpose, demo_option=demo_option, start=start, end=end)
            return to_matrix(frame, source="usage")
        with (
            reporter().task("loading the workspace's usage"),
            open_workspace(self.workspace, read_only=True) as store,
        ):
            matrix = store.load_usage_matrix(start=start, end=end)
        if len(matrix.keys) == 0:
            self._no_usage(purpose, demo_option)
        return matrix

    def usage_recent(
        self,
        *,
        purpose: str,
        hours: int,
        since: pd.Timestamp | None = None,
        demo_option: bool = True,
    ) -> pd.DataFrame:
        """:meth:`usage`, for a command that uses only its last ``hours`` hours (and the hours
        from ``since`` on, when given): from the workspace only those are read, from the earlier
        of ``since`` and the first of the last ``hours`` to the end; files and the demo whole.
        """
        if self.demo is not None or self.usage_files:
            return self.usage(purpose=purpose, demo_option=demo_option)
        with (
            reporter().task("loading the workspace's usage"),
            open_workspace(self.workspace, read_only=True) as store,
        ):
            first = self._recent_start(store, purpose, hours, demo_option)
            if since is not None:
                first = min(first, since)
            frame = store.load_usage(start=first)
        if frame.empty:
            self._no_usage(purpose, demo_option)
        return frame

    def usage_matrix_recent(
        self, *, purpose: str, hours: int, demo_option: bool = True
    ) -> UsageMatrix:
        """The last ``hours`` hours of :meth:`usage` (all of it when it holds fewer) as a matrix:
        from the workspace only those are read, straight into the matrix; files and the demo are
        read whole and turned into a matrix once (every hour of them)."""
        from usage.table import to_matrix

        if self.demo is not None or self.usage_files:
            return to_matrix(self.usage(purpose=purpose, demo_option=demo_option), source="usage")
        with (
            reporter().task("loading the workspace's usage"),
            open_workspace(self.workspace, read_only=True) as store,
        ):
            first = self._recent_start(store, purpose, hours, demo_option)
            return store.load_usage_matrix(start=first)

    def _recent_start(
        self, store: Workspace, purpose: str, hours: int, demo_option: bool
    ) -> pd.Timestamp:
        """The first of the workspace's last ``hours`` hours (its first hour when it holds
        fewer); raises as :meth:`usage` when it holds none."""
        span = store.usage_span()
        if span is None:
            self._no_usage(purpose, demo_option)
        return lookback_start(span, hours)

    @staticmethod
    def _no_usage(purpose: str, demo_option: bool) -> NoReturn:
        """Raise the error of :meth:`usage` when there is no usage."""
        ways = "--usage FILE, --demo," if demo_option else "--usage FILE"
        raise CommitoptInputError(
            f"no usage to {purpose}: pass {ways} or import some with `commitopt usage import`"
        )

    def owned(
        self, *, store: Workspace | None = None, note_bill: bool = True
    ) -> tuple[Commitment, ...]:
        """The commitments owned, merged by commitment, highest precedence first: the
        ``--inventory`` files, ``--from-aws``, the bill (:mod:`commitopt.owned`).

        The bill is the workspace ``store`` already open when given, else the CUR files given
        with ``--usage`` when there are any, else the workspace's imported bills (nothing when
        there is no workspace file); none with ``--no-bill-inventory`` or ``--demo``.
        ``note_bill`` says how many came from the bill (once per invocation).
        """
        return self.owned_inventory(store=store, note_bill=note_bill).commitments

    def owned_inventory(
        self,
        as_of: datetime | None = None,
        *,
        store: Workspace | None = None,
        note_bill: bool = True,
    ) -> Inventory:
        """:meth:`owned` as an :class:`~pricing.inventory.Inventory` taken ``as_of`` [default:
        now], with the notes of the files and of AWS (what was skipped while reading)."""
        from commitopt.owned import merge_commitments

        parts = [read_portfolio_json(path) for path in self.inventory_files]
        if self.from_aws is not None:
            parts.extend(self.from_aws.read())
        billed = self._billed(store) if self.use_bill and self.demo is None else ()
        if billed and note_bill:
            note_once(
                f"{len(billed)} owned commitments from the bill (--no-bill-inventory ignores "
                "them; `commitopt inventory show` lists them)"
            )
        return Inventory(
            merge_commitments([*(part.commitments for part in parts), billed]),
            as_of=as_of if as_of is not None else datetime.now(UTC),
            notes=tuple(note for part in parts for note in part.notes),
        )

    def has_bill(self) -> bool:
        """Whether the bill may show owned commitments: ``--usage`` CUR files, else a workspace
        file (and ``--bill-inventory``)."""
        if not self.use_bill or self.demo is not None:
            return False
        if self.usage_files:
            return is_cur(self.usage_files)
        from commitopt.workspace import workspace_path

        return workspace_path(self.workspace).is_file()

    def _billed(self, store: Workspace | None) -> tuple[Commitment, ...]:
        """The RIs and Savings Plans the ``--usage`` CUR files, or the workspace's bills, show."""
        from commitopt.owned import bill_inventory

        if store is not None:
            return bill_inventory(store).commitments
        if not self.has_bill():
            return ()
        if self.usage_files:
            from pricing.inventory import inventory_from_cur

            return inventory_from_cur(list(self.usage_files)).commitments
        with open_workspace(self.workspace, read_only=True) as opened:
            return bill_inventory(opened).commitments

    def resolved_catalog(self, *, bill_rates_first: bool = True) -> ResolvedCatalog:
        """The prices: a CUR's own rates (when ``--usage`` names CUR files and
        ``bill_rates_first``), ``--catalog`` files, the local catalog, the embedded snapshot.

        The embedded snapshot's note (as-of date and how to refresh) is printed once per
        invocation, unless ``--quiet``.
        """
        return command_catalog(
            self.catalog_paths,
            no_embedded=self.no_embedded,
            usage_files=self.usage_files if bill_rates_first else (),
        )

    def catalog(self, *, bill_rates_first: bool = True) -> PriceCatalog:
        """The merged catalog of :meth:`resolved_catalog`."""
        return self.resolved_catalog(bill_rates_first=bill_rates_first).catalog


def read_usage_files(
    files: Sequence[str],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """The canonical usage of ``--usage`` files over ``[start, end)``, checked as an import is.

    The plausibility checks of ``usage import`` (:func:`usage.plausibility.check_plausible`)
    run on what is read, with the same messages: hours after now and quantities above the
    plausible bound are refused; an AWS bill's unknown instance families are a warning (stderr).
    Two checks of an import do not apply: the gap to the workspace's usage (the files are used
    alone), and the refusal of unknown families in a canonical table, which these commands
    cannot waive (they have no ``--allow-unknown-types``); the prices of such keys are checked
    where they are needed. A canonical table's types of an unknown size (``z99.mega``), which
    the commands would stop on later, are refused here, naming the file and row.
    Rows a day apart get a warning (:func:`usage.plausibility.daily_rows_warning`).

    Raises
    ------
    core.errors.CommitoptInputError
        Unreadable or invalid files (:func:`usage.readers.read_usage`); hours after now;
        implausible quantities; unknown sizes in a canonical table.
    """
    from usage.plausibility import check_plausible, daily_rows_warning
    from usage.readers import read_usage

    with reporter().task("reading usage", total=100, unit="%") as task:
        frame, report = read_usage(list(files), "auto", start=start, end=end, progress=task)
    if frame.empty:
        return frame
    first_hour, last_hour = pd.Timestamp(frame["hour"].min()), pd.Timestamp(frame["hour"].max())
    for text in check_plausible(
        frame, source=_described_files(report.files), source_kind=report.format,
        now=datetime.now(UTC), period=(first_hour, last_hour + pd.Timedelta(hours=1)),
        allow_unknown_types=True, known_sizes_only=True,
        files=report.files if report.format == "canonical" else (),
    ):  # fmt: skip
        reporter().warning(text)
    daily = daily_rows_warning(frame, _described_files(report.files))
    if daily is not None:
        reporter().warning(daily)
    return frame


def no_usage_in_files(
    files: Sequence[str],
    purpose: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> CommitoptInputError:
    """The error when ``--usage`` files hold no usage in ``[start, end)``: the period asked
    for and the files' own span (read once more, whole), or that they hold none at all."""
    from usage.errors import UsageInputError
    from usage.readers import read_usage, usage_files

    found = [str(path) for path in usage_files(list(files))]
    named = _described_files(found)
    them = "the --usage file" if len(found) == 1 else "the --usage files"
    span = None
    if start is not None or end is not None:
        with reporter().task("reading the span of the usage files"):
            whole, _report = read_usage(list(files), "auto")
        if not whole.empty:
            span = (as_utc(whole["hour"].min()), as_utc(whole["hour"].max()))
    if span is None:
        return UsageInputError(
            named,
            f"no usage to {purpose}: {them} {'holds' if len(found) == 1 else 'hold'} no usage rows",
            "pass files with hourly usage (a CUR, CUR 2.0 or FOCUS export, or the canonical "
            "usage table of docs/usage-table.md)",
        )
    first, last = span
    return UsageInputError(
        named,
        f"no usage to {purpose} {_period_text(start, end)} in {them}, which cover"
        f"{'s' if len(found) == 1 else ''} {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC",
        "choose a period within that span, or pass files that cover the period",
    )


def _period_text(start: datetime | None, end: datetime | None) -> str:
    """``from 2030-01-01 00:00 to 2030-02-01 00:00 UTC`` (either end may be open)."""
    if end is None:
        return "" if start is None else f"from {as_utc(start):%Y-%m-%d %H:%M} UTC on"
    if start is None:
        return f"before {as_utc(end):%Y-%m-%d %H:%M} UTC"
    return f"from {as_utc(start):%Y-%m-%d %H:%M} to {as_utc(end):%Y-%m-%d %H:%M} UTC"


def _described_files(files: Sequence[str]) -> str:
    """Files as ``usage import`` names them in a message: the first three, then ``...``."""
    return ", ".join(files[:3]) + (" ..." if len(files) > 3 else "")


def lookback_start(span: tuple[pd.Timestamp, pd.Timestamp], hours: int) -> pd.Timestamp:
    """The first of the last ``hours`` hours of usage that spans ``span`` (its first and last
    hour): what a command reads of the workspace for its lookback (all of it when it holds
    fewer hours)."""
    return max(span[0], span[1] - pd.Timedelta(hours=max(int(hours), 1) - 1))


def warn_if_lookback_exceeds(
    usage: pd.DataFrame | tuple[pd.Timestamp, pd.Timestamp], lookback: Duration
) -> None:
    """Say when the lookback asks for more history than the usage (a table, or its first and
    last hour) holds.

    A warning when ``--lookback`` was given (or configured); a note when it is the default.
    """
    if isinstance(usage, tuple):
        first, last = usage
    elif usage.empty:
        return
    else:
        first, last = pd.Timestamp(usage["hour"].min()), pd.Timestamp(usage["hour"].max())
    span_days = ((last - first) / pd.Timedelta(hours=1) + 1) / 24
    if lookback.days <= span_days + 1e-9:
        return
    text = (
        f"--lookback {lookback} is longer than the usage, which covers {span_days:.1f} "
        f"days ({first:%Y-%m-%d} to {last:%Y-%m-%d %H:%M} UTC); all of it is used"
    )
    context = click.get_current_context(silent=True)
    source = context.get_parameter_source("lookback") if context is not None else None
    if source is None or source == click.core.ParameterSource.DEFAULT:
        reporter().note(text)
    else:
        reporter().warning(text)


BillSource = Literal["option", "always", "never"]
"""Whether a command counts the bill's commitments as owned: as ``--bill-inventory`` says
(``"option"``), always (no flag) or never."""


def input_options(
    *,
    usage: bool = True,
    inventory: bool = True,
    bill: BillSource = "option",
    catalog: bool = True,
    demo: Callable[[], pd.DataFrame] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options that name a command's inputs, passed to it as one ``inputs`` argument.

    Declares ``--usage``, ``--demo`` (when ``demo`` is given), ``--inventory``,
    ``--bill-inventory`` (when ``bill`` is ``"option"``), ``--workspace`` (with ``--wait``) and
    ``--catalog`` / ``--no-embedded``, all from :mod:`commitopt.cli.options`, and calls the
    command with ``inputs=`` the :class:`CommandInputs` they make instead of their values.

    Parameters
    ----------
    usage, inventory, catalog
        Whether the command has ``--usage``, ``--inventory``, ``--catalog``.
    bill
        Whether the bill's commitments count as owned: by ``--bill-inventory``, always or never.
    demo
        Builds the synthetic history of ``--demo``; the command has no ``--demo`` when ``None``.
    """
    declared: list[Callable[[Any], Any]] = [
        *([usage_option] if usage else []),
        *([demo_option] if demo is not None else []),
        *([inventory_option] if inventory else []),
        *([bill_inventory_option] if bill == "option" else []),
        workspace_option,
        *([catalog_options] if catalog else []),
    ]

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def command(**values: Any) -> Any:
            inputs = CommandInputs(
                usage_files=values.pop("usage_files", ()),
                workspace=values.pop("workspace"),
                inventory_files=values.pop("inventory_files", ()),
                catalog_paths=values.pop("catalog_paths", ()),
                no_embedded=values.pop("no_embedded", False),
                use_bill=values.pop("use_bill", bill == "always"),
                demo=demo if demo is not None and values.pop("demo") else None,
            )
            return function(inputs=inputs, **values)

        for option in reversed(declared):
            command = option(command)
        return command

    return decorate
