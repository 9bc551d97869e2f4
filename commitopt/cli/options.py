"""Every option more than one command has, declared once (pip-tools' ``options.py`` style).

A command takes a shared option by its decorator (``@usage_option``, ``@lookback_option()``),
so that the flag, its parameter name, its type and its help read the same in every command;
only a default may differ where the commands' defaults always did (``--lookback``, ``--paths``).
Durations (``--lookback``, ``--horizon``, ``--expiring-within``) share one grammar,
:data:`DURATION` (:mod:`core.durations`). What the options name is turned into usage, owned
commitments and prices by :class:`commitopt.cli.inputs.CommandInputs`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import click

from core.durations import Duration, parse_duration

if TYPE_CHECKING:  # the CLI's start stays light: planning loads on use
    from planning.future import FutureOptions

F = TypeVar("F", bound=Callable[..., Any])

FILE = click.Path(dir_okay=False, path_type=Path)
"""The type of an option naming one file (a folder is refused)."""


def split_commas(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    """Accept ``--x a --x b`` and ``--x a,b`` alike; drop empty items."""
    return tuple(item.strip() for value in values for item in value.split(",") if item.strip())


def multi_option(*names: str, help_text: str, metavar: str = "TEXT") -> Callable[[F], F]:
    """A repeatable option whose values may also be comma-separated."""
    return click.option(
        *names, multiple=True, callback=split_commas, metavar=metavar, help=help_text
    )


class Share(click.ParamType):
    """A share given as a percentage (``80``, ``80%``, ``8%``) or a fraction (``0.8``, ``0.08``);
    converted to a fraction in [0, 1].

    A bare ``1`` is refused as ambiguous (1 % or 100 %?): write ``100``, ``1%`` or ``0.01``.
    """

    name = "percent"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The fraction, or a usage error naming the option and how to write the value."""
        if value is None or (isinstance(value, float) and 0.0 <= value < 1.0):
            return value
        text = str(value).strip()
        explicit_percent = text.endswith("%")
        try:
            number = float(text.removesuffix("%").strip())
        except ValueError:
            self.fail(f"{value!r} is not a number; write a percentage (8 or 8%) or a fraction "
                      "(0.08)", param, ctx)  # fmt: skip
        if explicit_percent:
            share = number / 100.0
        elif number == 1.0:
            self.fail(
                "1 is ambiguous (1 % or 100 %?): write 100 or 100% for 100 %, 1% or 0.01 for 1 %",
                param,
                ctx,
            )
        else:
            share = number / 100.0 if number > 1.0 else number
        if not 0.0 <= share <= 1.0:
            self.fail(f"{value} is not between 0 and 100 %", param, ctx)
        return share


SHARE = Share()
"""The :class:`Share` type of the percentage options."""


def catalog_options(function: F) -> F:
    """``--catalog FILE`` (repeatable, highest precedence first) and ``--no-embedded``."""
    function = click.option(
        "--no-embedded",
        is_flag=True,
        help="Do not fall back to the embedded 2017 snapshot for keys the other catalogs lack.",
    )(function)
    return click.option(
        "--catalog",
        "catalog_paths",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Catalog Parquet file to price with (repeatable; earlier wins). Default: the local "
        "catalog ($COMMITOPT_CATALOG or ./commitopt-catalog.parquet) over the embedded snapshot.",
    )(function)


def input_format_option(
    parameter: str, choices: tuple[str, ...], help_text: str
) -> Callable[[F], F]:
    """``--input-format NAME``: the format of the files a command reads (``--format`` is always
    how the result prints)."""
    return click.option(
        "--input-format",
        parameter,
        type=click.Choice(choices),
        default="auto",
        show_default=True,
        help=help_text,
    )


def into_option(function: F) -> F:
    """``--into FILE``: the catalog a command writes (default: the local catalog)."""
    return click.option(
        "--into",
        type=FILE,
        default=None,
        help="Catalog file to write [default: $COMMITOPT_CATALOG or ./commitopt-catalog.parquet].",
    )(function)


def profile_option(function: F) -> F:
    """``--profile NAME``: an AWS named profile; boto3's standard chain otherwise."""
    return click.option(
        "--profile", default=None, help="AWS named profile [default: boto3's standard chain]."
    )(function)


WAIT_META_KEY = "commitopt.wait_seconds"
"""Key, in ``click.Context.meta``, of ``--wait`` (:func:`commitopt.cli.inputs.open_workspace`)."""


def _remember_wait(context: click.Context, _parameter: click.Parameter, value: float) -> float:
    context.meta[WAIT_META_KEY] = value
    return value


def workspace_option(function: F) -> F:
    """``--workspace FILE`` (the DuckDB workspace file) and ``--wait SECONDS`` (for a busy one)."""
    function = click.option(
        "--wait",
        "wait_seconds",
        type=click.FloatRange(min=0),
        default=0.0,
        expose_value=False,
        callback=_remember_wait,
        metavar="SECONDS",
        help="When another commitopt is using the workspace, wait this long for it [default: 0].",
    )(function)
    return click.option(
        "--workspace",
        type=FILE,
        default=None,
        help="Workspace database [default: $COMMITOPT_WORKSPACE or ./commitopt.duckdb].",
    )(function)


def bill_inventory_option(function: F) -> F:
    """``--no-bill-inventory``: ignore the commitments the imported bills show."""
    return click.option(
        "--bill-inventory/--no-bill-inventory",
        "use_bill",
        default=True,
        show_default=True,
        help="Count the RIs and Savings Plans the imported CUR bills show as owned.",
    )(function)


class DurationType(click.ParamType):
    """A duration in the one grammar of :mod:`core.durations`: ``720h``, ``30d``, ``12w``,
    ``3mo``, ``1y`` or a bare number of days; converted to a :class:`core.durations.Duration`.

    A value that is not a duration raises :class:`core.errors.CommitoptInputError` naming the
    option's parameter, which the CLI renders as the flag (``--lookback '3x' is not a duration;
    ...``), the same sentence for every duration option and the configuration file.
    """

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The :class:`~core.durations.Duration` (``None`` stays ``None``)."""
        if value is None or isinstance(value, Duration):
            return value
        name = param.name if param is not None and param.name else "duration"
        return parse_duration(str(value), name)


DURATION = DurationType()
"""The :class:`DurationType` of every duration option."""

DURATION_EXAMPLES = "30d, 8w, 3mo, 720h, 1y (a bare number is days)"
"""How a duration may be written, in the help of every duration option."""


def usage_option(function: F) -> F:
    """``--usage FILE``: usage files to read (globs; repeatable) instead of the workspace's."""
    return click.option(
        "--usage",
        "usage_files",
        multiple=True,
        metavar="FILE",
        help="Usage files: CUR, CUR 2.0, FOCUS or the canonical CSV (globs allowed; repeatable) "
        "[default: the workspace's usage].",
    )(function)


def demo_option(function: F) -> F:
    """``--demo``: a synthetic multi-account history instead of usage files or the workspace."""
    return click.option(
        "--demo",
        is_flag=True,
        help="Use a synthetic multi-account usage history instead of --usage or the workspace.",
    )(function)


def inventory_option(function: F) -> F:
    """``--inventory FILE``: portfolio JSON of the commitments owned (over the bill's)."""
    return click.option(
        "--inventory",
        "inventory_files",
        multiple=True,
        type=FILE,
        help="Portfolio JSON of commitments already owned (repeatable; over what the bill shows).",
    )(function)


def from_aws_options(function: F) -> F:
    """``--from-aws`` with ``--region`` (and ``--profile``): the live account's commitments."""
    function = profile_option(function)
    function = multi_option(
        "--region",
        "-r",
        help_text="Regions to read RIs and database reservations from (with --from-aws).",
        metavar="REGION",
    )(function)
    return click.option(
        "--from-aws",
        is_flag=True,
        help=(
            "Read active RIs, RDS, ElastiCache, OpenSearch, Redshift and MemoryDB reservations "
            "and Savings Plans through boto3."
        ),
    )(function)


def duration_option(
    flag: str, default: str | None, help_text: str, *, show_default: bool | str = True
) -> Callable[[F], F]:
    """An option taking a :data:`DURATION`; its help ends with how to write one."""
    return click.option(
        flag,
        type=DURATION,
        default=default,
        show_default=show_default,
        metavar="DURATION",
        help=f"{help_text}: {DURATION_EXAMPLES}.",
    )


def lookback_option(default: str | None, *, show_default: bool | str = True) -> Callable[[F], F]:
    """``--lookback DURATION``: the last part of the usage that stands for the future."""
    return duration_option(
        "--lookback", default, "History used, the last part of the usage", show_default=show_default
    )


def stopped_after_option(default: str) -> Callable[[F], F]:
    """``--stopped-after DURATION``: keys idle this long at the lookback's end get nothing."""
    return duration_option(
        "--stopped-after",
        default,
        "Buy nothing for keys with no usage over this last part of the lookback (at most a "
        "quarter of it; 0 counts their older usage)",
    )


def recency_half_life_option(default: str) -> Callable[[F], F]:
    """``--recency-half-life DURATION``: recent weeks weigh more in the decision."""
    return duration_option(
        "--recency-half-life",
        default,
        "Half-life of the weights that make recent usage weigh more in the decision; keys whose "
        "usage fell by more than half over the --stopped-after window count at their recent "
        "level (0 decides on the lookback as it ran; the bill is always the real lookback's)",
    )


def min_increment_option(default: float) -> Callable[[F], F]:
    """``--min-increment PCT``: on top of what is owned, an increment this small is not bought."""
    return click.option(
        "--min-increment",
        type=click.FloatRange(min=0.0),
        default=default,
        show_default=True,
        metavar="PCT",
        help="With commitments owned, buy nothing when the increment costs less per hour than "
        "this share of what they cost (a decision's own noise is about that size; commitments "
        "are never sold, so top-ups within it ratchet the cover up); 0 buys any increment [%].",
    )


def next_review_option(default: str | None) -> Callable[[F], F]:
    """``--next-review DURATION``: when the decision is reviewed again."""
    return duration_option(
        "--next-review",
        default,
        "When this decision is next reviewed: usage growing steadily is bought up to where it "
        "gets by then, and what it grows past that is bought at that review, once seen; "
        "without it, for as long as the growth is likely to last (as likely to stop within "
        "the lookback's length as to go on past it); 0 buys at today's level",
        show_default=default is not None,
    )


def horizon_option(default: str) -> Callable[[F], F]:
    """``--horizon DURATION``: how far ahead sampled usage paths run."""
    return duration_option("--horizon", default, "Length of each sampled usage path")


def expiring_within_option(default: str | None) -> Callable[[F], F]:
    """``--expiring-within DURATION``: the owned commitments that end this soon."""
    return duration_option(
        "--expiring-within",
        default,
        "List the owned commitments that end within this",
        show_default=default is not None,
    )


def paths_option(default: int | None, *, show_default: bool | str = True) -> Callable[[F], F]:
    """``--paths N``: how many future usage paths to sample."""
    return click.option(
        "--paths",
        "n_paths",
        type=int,
        default=default,
        show_default=show_default,
        metavar="N",
        help="Future usage paths to sample (P5 / P50 / P95 over them).",
    )


def seed_option(function: F) -> F:
    """``--seed N``: the seed of everything drawn at random."""
    return click.option(
        "--seed",
        type=int,
        default=0,
        show_default=True,
        help="Seed of what is drawn at random (sampled paths, synthetic usage).",
    )(function)


def plans_option(function: F) -> F:
    """``--plans FILE``: changes known in advance, applied to the futures a decision is taken on
    (``recommend``, ``review``)."""
    return click.option(
        "--plans",
        "known_changes",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Scenario file (YAML/JSON) of changes known in advance (planned migrations, exits, "
        "new workloads), applied to every future before the purchases are chosen.",
    )(function)


def portfolio_option(*, required: bool, show_default: str | None = None) -> Callable[[F], F]:
    """``--portfolio FILE``: the proposed purchases, as ``recommend --format json`` writes them.

    A required option gets no ``default`` at all: click 8.3 and later take an explicit
    ``default=None`` as a given value and no longer enforce ``required`` (``simulate`` without
    ``--portfolio`` crashed instead of exiting 2).
    """
    optional: dict[str, Any] = {} if required else {"default": None}
    return click.option(
        "--portfolio",
        type=FILE,
        required=required,
        show_default=show_default or False,
        help="Portfolio JSON of proposed purchases (what `recommend --format json` writes).",
        **optional,
    )


def no_sharing_option(function: F) -> F:
    """``--no-sharing``: commitments cover their own account only."""
    return click.option(
        "--no-sharing", is_flag=True, help="Commitments cover their own account only."
    )(function)


def discount_rate_option(function: F) -> F:
    """``--discount-rate SHARE``: the yearly rate of the time value of money (NPV)."""
    return click.option(
        "--discount-rate",
        type=SHARE,
        default=0.0,
        show_default=True,
        help="Yearly rate for the time value of money (NPV): 8, 8% or 0.08 [% per year].",
    )(function)


DATE = click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"])
"""A date, or a date and time, as the period options take them (UTC)."""


def _check_period(
    context: click.Context, parameter: click.Parameter, value: datetime | None
) -> datetime | None:
    """Refuse ``--from`` at or after ``--to`` as soon as both are known."""
    period = context.meta.setdefault("commitopt.period", {})
    period[parameter.name] = value
    start, end = period.get("start"), period.get("end")
    if start is not None and end is not None and start >= end:
        raise click.BadParameter(
            f"--from {start:%Y-%m-%d %H:%M} is not before --to {end:%Y-%m-%d %H:%M}; swap them "
            "(--to is the end of the period, exclusive)",
            ctx=context,
            param=parameter,
        )
    return value


def period_options(function: F) -> F:
    """``--from DATE`` and ``--to DATE`` (UTC, end exclusive; ``--from`` must come first)."""
    function = click.option(
        "--to", "end", type=DATE, default=None, callback=_check_period,
        help="End of the period, exclusive (UTC).",
    )(function)  # fmt: skip
    return click.option(
        "--from", "start", type=DATE, default=None, callback=_check_period,
        help="Start of the period (UTC).",
    )(function)  # fmt: skip


DECIDE_ON_CHOICES = ("forecast", "lookback")
"""``--decide-on`` values (``planning.recommend.DECIDE_ON``, repeated so --help stays light)."""


FUTURE_OPTIONS: Final = (
        click.option(
            "--futures", "futures_count", type=click.IntRange(1, 10_000), default=40,
            show_default=True, help="Futures sampled for the decision.",
        ),
        click.option(
            "--risk-weight", type=click.FloatRange(min=0.0), default=0.5, show_default=True,
            help="Weight of the mean loss in the worst futures (CVaR of what the owned "
            "commitments and the purchases together pay above on-demand; a future that saves "
            "is no loss) against the expected savings; 0 maximises the expected savings alone.",
        ),
        click.option(
            "--risk-level", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.9,
            show_default=True,
            help="CVaR level: 0.9 weighs the mean loss of the worst 10 % of the futures.",
        ),
        click.option(
            "--migration-rate", type=click.FloatRange(min=0.0), default=0.10, show_default=True,
            help="Prior yearly chance that an account's fleets of a family move to another "
            "family, in every region together (learned from the lookback where it shows moves; "
            "a family seen moving in one region moves everywhere within a quarter in 3 futures "
            "of 4).",
        ),
        click.option(
            "--exit-rate", type=click.FloatRange(min=0.0), default=0.05, show_default=True,
            help="Prior yearly chance that an account's fleets of a family are retired.",
        ),
        click.option(
            "--region-migration-rate", type=click.FloatRange(min=0.0), default=0.0,
            show_default=True,
            help="Prior yearly chance that an account's usage in a region, every family of it, "
            "moves to another region (the account's largest other region nearby, else the "
            "catalog's region nearby): RIs and EC2 Instance Savings Plans stay behind, a "
            "Compute Savings Plan follows. Learned from the lookback where two families of a "
            "region fell by half while the account's other regions rose; e.g. 0.3 when a move "
            "is planned but not dated (--plans for a dated one).",
        ),
        click.option(
            "--region-exit-rate", type=click.FloatRange(min=0.0), default=0.0,
            show_default=True,
            help="Prior yearly chance that an account leaves a region, every family of it "
            "retired at once (learned where two families of a region fell by half with no "
            "rise elsewhere; --exit-rate already retires families one at a time). Set the "
            "four rates to 0 to decide without structural changes.",
        ),
)  # fmt: skip
"""How a decision on sampled futures draws and weighs them: their count, the risk term and the
structural changes' priors (``recommend``, and ``backtest`` for the ours-* policies)."""


def future_options(func: F) -> F:
    """The options of :data:`FUTURE_OPTIONS`."""
    for option in reversed(FUTURE_OPTIONS):
        func = option(func)
    return func


def futures_from_options(
    *,
    futures_count: int,
    risk_weight: float,
    risk_level: float,
    migration_rate: float,
    exit_rate: float,
    region_migration_rate: float,
    region_exit_rate: float,
) -> FutureOptions:
    """The :class:`planning.future.FutureOptions` of :data:`FUTURE_OPTIONS`' values."""
    from planning.future import FutureOptions

    return FutureOptions(
        futures=futures_count,
        migration_prior_per_year=migration_rate,
        exit_prior_per_year=exit_rate,
        region_migration_prior_per_year=region_migration_rate,
        region_exit_prior_per_year=region_exit_rate,
        risk_weight=risk_weight,
        risk_level=risk_level,
    )


def decision_options(func: F) -> F:
    """The options of a decision taken on sampled futures (``recommend``)."""
    options = (
        click.option(
            "--decide-on", type=click.Choice(DECIDE_ON_CHOICES), default="forecast",
            show_default=True,
            help="Choose the purchases on sampled futures over the term (trend, recent weeks "
            "weighted more, fleets that migrate or exit), or on the lookback as if it repeated.",
        ),
        *FUTURE_OPTIONS,
        click.option(
            "--follow-growth", is_flag=True,
            help="Buy ahead for a clear rising trend (default: growth is bought when seen).",
        ),
    )  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func
