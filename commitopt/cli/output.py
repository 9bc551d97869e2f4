"""Printing results: a rich table for people, JSON or CSV (payload only) for machines."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click
import pandas as pd
from rich.console import Console
from rich.table import Table

OUTPUT_FORMATS = ("table", "json", "csv")

F = TypeVar("F", bound=Callable[..., Any])


def format_option(function: F) -> F:
    """The ``--format table|json|csv`` option shared by every command that prints results."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(OUTPUT_FORMATS),
        default="table",
        show_default=True,
        help="table for people; json or csv print only the payload, for scripts.",
    )(function)


def report_format_option(function: F) -> F:
    """``--output table|json|csv`` for import commands, whose ``--format`` names the input."""
    return click.option(
        "--output",
        "output_format",
        type=click.Choice(OUTPUT_FORMATS),
        default="table",
        show_default=True,
        help="How to print the import report: table, or json / csv (payload only).",
    )(function)


def _json_default(value: object) -> object:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _clean(value: object) -> object:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _console() -> Console:
    """A stdout console; wide when stdout is not a terminal, so piped tables do not wrap."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


def frame_records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as JSON-ready dicts (NaN, inf and NA become null)."""
    return [
        {str(column): _clean(value) for column, value in row.items()}
        for row in frame.astype(object).to_dict(orient="records")
    ]


def emit_frame(
    frame: pd.DataFrame,
    output_format: str,
    *,
    title: str | None = None,
    float_digits: Mapping[str, int] | None = None,
) -> None:
    """Print a table in the chosen format on stdout.

    Parameters
    ----------
    frame
        The rows to print.
    output_format
        ``table``, ``json`` (a list of objects) or ``csv`` (header and rows).
    title
        Table caption (table format only).
    float_digits
        Decimal places per column for the table format (machine formats keep full precision).
    """
    if output_format == "json":
        click.echo(json.dumps(frame_records(frame), indent=2, default=_json_default))
        return
    if output_format == "csv":
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, lineterminator="\n")
        click.echo(buffer.getvalue(), nl=False)
        return
    digits = dict(float_digits or {})
    table = Table(title=title, show_lines=False, header_style="bold")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(
            frame[column]
        )
        table.add_column(str(column), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            cleaned = _clean(value)
            if cleaned is None:
                cells.append(
                    "–" if not (isinstance(value, float) and math.isinf(value)) else "never"
                )
            elif isinstance(cleaned, float):
                cells.append(f"{cleaned:,.{digits.get(str(column), 4)}f}")
            else:
                cells.append(str(cleaned))
        table.add_row(*cells)
    _console().print(table)


def _cell(value: object) -> str:
    """One mapping value as table text: lists joined, floats to 4 decimals with separators."""
    if isinstance(value, list | tuple):
        return "; ".join(map(str, value))
    if isinstance(value, float):
        return f"{value:,.4f}"
    return str(value)


def emit_mapping(
    payload: Mapping[str, Any], output_format: str, *, title: str | None = None
) -> None:
    """Print a flat or nested mapping: a two-column table, JSON, or ``key,value`` CSV."""
    if output_format == "json":
        click.echo(json.dumps(payload, indent=2, default=_json_default))
        return
    rows = pd.DataFrame(
        {
            "field": list(payload),
            "value": [_cell(v) for v in payload.values()],
        }
    )
    if output_format == "csv":
        emit_frame(rows, "csv")
        return
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for field, value in rows.itertuples(index=False):
        table.add_row(str(field), str(value))
    _console().print(table)
