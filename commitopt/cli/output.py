"""Printing results: a table for people, JSON or CSV (the payload alone) for scripts.

Every field a command prints is named as ``docs/glossary.md`` defines it. A table shows the same
names as the JSON and CSV (with spaces for underscores, so that headings can wrap) and fits
:data:`TABLE_WIDTH` columns: commands pass the columns a person needs first, and ``--wide``
shows every column. Everything here writes to :func:`commitopt.cli.streams.payload_stream`.
"""

from __future__ import annotations

import errno
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

import click
import pandas as pd

from commitopt.cli.streams import echo_payload, payload_stream
from core.errors import CommitoptInputError
from pricing.offerings import CommitmentKind

OUTPUT_FORMATS: Final = ("table", "json", "csv")

TABLE_WIDTH: Final = 100
"""Columns a table fits in when standard output is not a terminal (a terminal's own width
applies otherwise)."""

WIDE_META_KEY: Final = "commitopt.wide"
"""Key, in ``click.Context.meta``, of the ``--wide`` flag."""

F = TypeVar("F", bound=Callable[..., Any])


def _set_wide(context: click.Context, _parameter: click.Parameter, value: bool) -> None:
    if value:
        context.meta[WIDE_META_KEY] = True


class OutputFormat(click.Choice):
    """``table``, ``json`` or ``csv``; an input format name gets a pointer to ``--input-format``."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The choice, or a usage error that names ``--input-format`` for an input format."""
        if isinstance(value, str) and value.lower() not in OUTPUT_FORMATS:
            command = ctx.command if ctx is not None else None
            if command is not None and any(
                p.name in INPUT_FORMAT_PARAMETERS for p in command.params
            ):
                self.fail(
                    f"{value!r} is not an output format: --format chooses how the result prints "
                    f"({', '.join(OUTPUT_FORMATS)}); give the files' format with --input-format "
                    f"{value}",
                    param,
                    ctx,
                )
        return super().convert(value, param, ctx)


INPUT_FORMAT_PARAMETERS: Final = frozenset({"usage_format", "file_format"})
"""Parameter names of ``--input-format`` options."""


def format_option(function: F) -> F:
    """``--format table|json|csv`` and ``--wide``, shared by every command that prints results."""
    function = click.option(
        "--wide",
        is_flag=True,
        expose_value=False,
        callback=_set_wide,
        help="Tables: show every column (wider than 100 characters).",
    )(function)
    return click.option(
        "--format",
        "output_format",
        type=OutputFormat(OUTPUT_FORMATS),
        default="table",
        show_default=True,
        help="table for people; json or csv print only the payload on stdout, for scripts.",
    )(function)


def wide() -> bool:
    """True when ``--wide`` was given."""
    context = click.get_current_context(silent=True)
    return bool(context is not None and context.meta.get(WIDE_META_KEY))


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


def to_json(payload: object) -> str:
    """The JSON text of a payload (NaN and infinities become null; dates ISO 8601)."""
    return json.dumps(_json_ready(payload), indent=2, default=_json_default, allow_nan=False)


def _json_ready(value: object) -> object:
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, float | int) or value is None or isinstance(value, str | bool):
        return _clean(value)
    cleaned = _clean(value)
    if cleaned is None:
        return None
    if hasattr(cleaned, "item") and not hasattr(cleaned, "isoformat"):
        return _clean(cleaned.item())
    return cleaned


def emit_json(payload: object) -> None:
    """Print a JSON payload on standard output."""
    echo_payload(to_json(payload))


WIDE_TABLE_WIDTH: Final = 400
"""Columns a ``--wide`` table may take when standard output is not a terminal."""


def _console() -> Any:
    """A console on standard output: a terminal's width, else :data:`TABLE_WIDTH` (or
    :data:`WIDE_TABLE_WIDTH` with ``--wide``)."""
    from rich.console import Console

    class PayloadConsole(Console):
        """Rich's console, but a reader gone is a broken pipe (exit 141), not rich's exit 1."""

        def on_broken_pipe(self) -> None:
            raise BrokenPipeError(errno.EPIPE, "the reader of the standard output went away")

    console = PayloadConsole(file=payload_stream())
    if console.is_terminal:
        return console
    return PayloadConsole(file=payload_stream(), width=WIDE_TABLE_WIDTH if wide() else TABLE_WIDTH)


def require_out_folder(out: Path) -> None:
    """Raise unless the folder of ``--out`` exists: known before the work, not when writing.

    Raises
    ------
    core.errors.CommitoptInputError
        Naming ``--out``, its folder and the fix.
    """
    if not out.parent.is_dir():
        raise CommitoptInputError(
            f"--out {out}: folder {out.parent} does not exist; create it first"
        )


def heading(name: str) -> str:
    """A field name as a table heading: underscores become spaces (so headings can wrap)."""
    return name.replace("_", " ")


def frame_records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as JSON-ready dicts (NaN, inf and NA become null)."""
    return [
        {str(column): _clean(value) for column, value in row.items()}
        for row in frame.astype(object).to_dict(orient="records")
    ]


def _cell_text(value: object, digits: int) -> str:
    cleaned = _clean(value)
    if cleaned is None:
        return "never" if isinstance(value, float) and math.isinf(value) else "–"
    if isinstance(cleaned, bool):
        return "yes" if cleaned else "no"
    if isinstance(cleaned, float):
        return f"{cleaned:,.{digits}f}"
    if isinstance(cleaned, int):
        return f"{cleaned:,}"
    if hasattr(cleaned, "isoformat") and hasattr(cleaned, "hour"):
        stamp = pd.Timestamp(cleaned)  # type: ignore[arg-type]
        return (
            stamp.strftime("%Y-%m-%d %H:%M") if stamp.hour or stamp.minute else f"{stamp:%Y-%m-%d}"
        )
    return str(cleaned)


def _default_digits(column: str) -> int:
    """Decimal places a table shows for a field, by its unit suffix."""
    if column.endswith(("_usd_per_hour", "_usd_per_unit", "_usd_per_usd")):
        return 4
    if column.endswith(("_usd", "_usd_per_month", "_pct", "_cost", "_amount")):
        return 2
    if column.endswith(("_hours", "_units", "_months", "_days", "_instances")):
        return 1
    if column.endswith(("_month", "_count")):
        return 0
    if column.endswith("_level"):
        return 2
    return 4


KIND_SHORT: Final = {
    CommitmentKind.RESERVED_INSTANCE: "RI",
    CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN: "EC2 SP",
    CommitmentKind.COMPUTE_SAVINGS_PLAN: "Compute SP",
    CommitmentKind.DATABASE_SAVINGS_PLAN: "Database SP",
    CommitmentKind.SAGEMAKER_SAVINGS_PLAN: "SageMaker SP",
    "on_demand": "on-demand",
}
"""How tables abbreviate a commitment ``kind`` (JSON and CSV carry the full value)."""

PLAN_COVERS: Final[dict[str, str]] = {
    CommitmentKind.COMPUTE_SAVINGS_PLAN: "any EC2, Fargate, Lambda",
    CommitmentKind.DATABASE_SAVINGS_PLAN: "any RDS, ElastiCache",
    CommitmentKind.SAGEMAKER_SAVINGS_PLAN: "any SageMaker",
}
"""What a Savings Plan of no family covers, in tables (``pricing.services.PLAN_SERVICES``)."""


def plan_covers_text(kinds: pd.Series) -> pd.Series:
    """The ``covers`` text of commitments with no family or type: the services their Savings
    Plan type covers (``"any EC2"`` where the kind says nothing more).

    Examples
    --------
    >>> plan_covers_text(pd.Series(["compute_savings_plan", "sagemaker_savings_plan"])).tolist()
    ['any EC2, Fargate, Lambda', 'any SageMaker']
    """
    return kinds.astype("object").map(PLAN_COVERS).fillna("any EC2").astype("object")


def with_column_after(
    columns: tuple[str, ...], column: str, after: str, *, shown: bool
) -> tuple[str, ...]:
    """``columns`` with ``column`` inserted after ``after`` when ``shown`` (a table's narrow
    columns, with one that matters only for some rows).

    Examples
    --------
    >>> with_column_after(("type", "platform", "cost"), "unit", "platform", shown=True)
    ('type', 'platform', 'unit', 'cost')
    """
    if not shown:
        return columns
    at = columns.index(after) + 1
    return (*columns[:at], column, *columns[at:])


def commitment_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Purchase or commitment rows with the people's columns added: ``kind`` abbreviated,
    ``covers`` (instance type, else family, else the services of its Savings Plan type, see
    :func:`plan_covers_text`) and ``offering``
    (term and payment option, with the RI class)."""
    shown = frame.copy()
    covers = (
        plan_covers_text(shown["kind"])
        if "kind" in shown
        else pd.Series("any EC2", index=shown.index, dtype="object")
    )
    if "kind" in shown:
        shown["kind"] = shown["kind"].map(lambda k: KIND_SHORT.get(str(k), str(k)))
    for column in ("instance_family", "instance_type"):
        if column in shown:
            covers = shown[column].astype("object").where(shown[column].notna(), covers)
    shown["covers"] = covers
    if "term_years" in shown and "payment_option" in shown:
        offering = offering_text(shown)
        if "offering_class" in shown:
            convertible = shown["offering_class"].astype("object") == "convertible"
            offering = offering.where(~convertible, offering + " conv.")
        shown["offering"] = offering
    return shown


def offering_text(frame: pd.DataFrame) -> pd.Series:
    """``1y No Upfront``: the ``term_years`` and ``payment_option`` of each row, for tables
    (blank parts left out: on-demand rows have neither)."""
    term = frame["term_years"].map(lambda t: f"{int(t)}y" if pd.notna(t) else "")
    return (term + " " + frame["payment_option"].fillna("").astype(str)).str.strip()


def render_table(
    frame: pd.DataFrame,
    *,
    title: str | None = None,
    float_digits: Mapping[str, int] | None = None,
) -> Any:
    """The rich table of a frame (headings from :func:`heading`, numbers right-aligned)."""
    from rich import box
    from rich.table import Table

    digits = dict(float_digits or {})
    table = Table(
        title=title,
        show_lines=False,
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
    )
    texts = [
        [
            _cell_text(value, digits.get(str(column), _default_digits(str(column))))
            for value in frame[column].tolist()
        ]
        for column in frame.columns
    ]
    for column, cells in zip(frame.columns, texts, strict=True):
        series = frame[column]
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        title_words = heading(str(column)).split() or [""]
        # As wide as the widest cell or heading word: long headings wrap, cells do not.
        width = max([len(max(title_words, key=len)), *(len(cell) for cell in cells)])
        table.add_column(
            heading(str(column)),
            justify="right" if numeric else "left",
            overflow="fold",
            max_width=width,
        )
    for row in zip(*texts, strict=True):
        table.add_row(*row)
    return table


def emit_frame(
    frame: pd.DataFrame,
    output_format: str,
    *,
    title: str | None = None,
    float_digits: Mapping[str, int] | None = None,
    narrow: Sequence[str] | None = None,
) -> None:
    """Print rows in the chosen format on standard output.

    Parameters
    ----------
    frame
        The rows to print; its columns are glossary field names.
    output_format
        ``table``, ``json`` (a list of objects) or ``csv`` (header and rows).
    title
        Table caption (table format only).
    float_digits
        Decimal places per column for the table [default: by the name's unit suffix].
    narrow
        The columns the table shows without ``--wide`` (all when ``None``). JSON and CSV always
        carry every column.
    """
    if output_format == "json":
        emit_json(frame_records(frame))
        return
    if output_format == "csv":
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, lineterminator="\n")
        echo_payload(buffer.getvalue(), newline=False)
        return
    shown = frame
    if narrow is not None and not wide():
        shown = frame.loc[:, [c for c in narrow if c in frame.columns]]
    _console().print(render_table(shown, title=title, float_digits=float_digits))


def _mapping_cell(field: str, value: object) -> str:
    """One mapping value as table text: lists joined, numbers by the field's unit."""
    if isinstance(value, list | tuple):
        separator = "\n" if any(isinstance(item, Mapping) for item in value) else "; "
        return separator.join(_mapping_cell(field, item) for item in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{heading(str(k))} {_mapping_cell(str(k), v)}" for k, v in value.items())
    return _cell_text(value, _default_digits(field))


def emit_mapping(
    payload: Mapping[str, Any], output_format: str, *, title: str | None = None
) -> None:
    """Print a mapping: a two-column table, JSON, or ``field,value`` CSV."""
    if output_format == "json":
        emit_json(payload)
        return
    if output_format == "csv":
        raw = [
            json.dumps(_json_ready(v), default=_json_default)
            if isinstance(v, Mapping | list | tuple)
            else _clean(v)
            for v in payload.values()
        ]
        emit_frame(pd.DataFrame({"field": list(payload), "value": raw}), "csv")
        return
    rows = pd.DataFrame(
        {"field": list(payload), "value": [_mapping_cell(str(k), v) for k, v in payload.items()]}
    )
    from rich import box
    from rich.table import Table

    table = Table(title=title, show_header=False, box=box.SIMPLE, show_edge=False, pad_edge=False)
    table.add_column("field", style="bold", overflow="fold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for field, value in rows.itertuples(index=False):
        table.add_row(heading(str(field)), str(value))
    _console().print(table)


def path_savings_fields(
    percentiles_usd: tuple[float, float, float], horizon_hours: int
) -> dict[str, float]:
    """The summary fields of savings over sampled paths: the horizon and the P5, P50 and P95
    of the savings against the owned commitments alone [USD over the horizon], to the cent."""
    p5, p50, p95 = (round(float(value), 2) for value in percentiles_usd)
    return {
        "horizon_hours": horizon_hours,
        "p5_savings_vs_current_usd": p5,
        "p50_savings_vs_current_usd": p50,
        "p95_savings_vs_current_usd": p95,
    }


def emit_text(text: str) -> None:
    """A paragraph for people after a table, wrapped to the table width (table format only;
    callers check the format)."""
    import textwrap

    width = min(_console().width, TABLE_WIDTH)
    echo_payload(textwrap.fill(text, width=width, break_long_words=False, break_on_hyphens=False))
