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
