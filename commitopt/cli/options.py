"""Reusable click options: repeatable, comma-separated filters and the catalog choice."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


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
        type=click.Path(dir_okay=False, path_type=Path),
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
        type=click.Path(dir_okay=False, path_type=Path),
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
