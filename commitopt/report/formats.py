"""The report as data: a JSON payload and a CSV of the purchases; atomic writing of any format."""

from __future__ import annotations

import io
import json
import math
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from commitopt import __version__
from commitopt.report.data import ReportData
from commitopt.report.frontier import plan_position, plan_position_text
from commitopt.report.html import render_html
from commitopt.report.markdown import render_markdown
from commitopt.report.tables import LAYERS
from core.errors import CommitoptInputError, param
from pricing.atomic import atomic_output_path

REPORT_FORMATS: Final = ("html", "md", "json", "csv")
"""What :func:`write_report` can write."""

JSON_VERSION: Final = 2
"""Version of the :func:`report_json` layout (2: field names of ``docs/glossary.md``)."""


_READABLE: Final = 0o666


def _umask() -> int:
    """The process's file-creation mask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _plain(value: Any) -> Any:
    """JSON-ready: numpy numbers to Python, NaN/inf to None, times to ISO 8601."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [_plain(row) for row in frame.astype(object).to_dict(orient="records")]


def report_json(data: ReportData) -> dict[str, Any]:
    """The report as a JSON-ready dict: every figure unformatted (USD, percent, months), named
    as ``docs/glossary.md`` defines them.

    Keys: ``report_version``, ``generator``, ``header``, ``summary``, ``purchases``,
    ``by_account`` (costs, savings and coverage per account), ``monthly``, ``cash_flow``,
    ``cost_by_kind`` (on-demand value covered by each instrument kind and left on-demand over
    the data period), ``frontier`` (with ``plan_position``: the level of the expected-savings
    maximum and the plan's distance from it, :class:`scenarios.frontier.FrontierMaximum`, and
    ``plan_position_text``), ``monte_carlo`` (path count and percentiles; ``null`` when
    no scenarios were run), ``monte_carlo_note`` (how its range relates to the data period's
    figures), ``expiring`` (``null`` when owned commitments are unknown), ``renewals`` (the
    purchases queued to replace them at their end), ``purchase_date``,
    ``notes``, ``warnings`` (stale usage or prices first), ``optimizer``.
    """
    frontier = None
    if data.frontier is not None:
        frontier = asdict(data.frontier)
        position = plan_position(data.frontier)
        frontier["plan_position"] = None if position is None else asdict(position)
        frontier["plan_position_text"] = plan_position_text(data.frontier)
    monte_carlo = None
    if data.monte_carlo is not None:
        mc = data.monte_carlo
        p5, p50, p95 = mc.percentiles()
        monte_carlo = {
            "path_count": int(mc.savings_vs_current_usd.size),
            "horizon": mc.horizon,
            "description": mc.description,
            "mean_savings_vs_current_usd": float(mc.savings_vs_current_usd.mean()),
            "p5_savings_vs_current_usd": p5,
            "p50_savings_vs_current_usd": p50,
            "p95_savings_vs_current_usd": p95,
        }
        if mc.savings_vs_on_demand_pct is not None:
            e5, e50, e95 = mc.percentiles(mc.savings_vs_on_demand_pct)
            monte_carlo |= {
                "p5_savings_vs_on_demand_pct": e5,
                "p50_savings_vs_on_demand_pct": e50,
                "p95_savings_vs_on_demand_pct": e95,
            }
        if mc.current_savings_vs_on_demand_pct is not None:
            current = mc.percentiles(mc.current_savings_vs_on_demand_pct)[1]
            monte_carlo["p50_current_savings_vs_on_demand_pct"] = current
        monte_carlo["horizon_hours"] = mc.length_hours()
    payload = {
        "report_version": JSON_VERSION,
        "generator": f"commitopt {__version__}",
        "header": asdict(data.header),
        "summary": asdict(data.summary),
        "purchases": _records(data.purchases),
        "purchase_date": data.purchase_date,
        "by_account": _records(data.by_account),
        "by_service": _records(data.by_service),
        "monthly": _records(data.monthly),
        "cash_flow": _records(data.cash_flow),
        "cost_by_kind": [
            {"kind": layer, "on_demand_cost_usd": float(data.hourly[layer].sum())}
            for layer in LAYERS
        ],
        "frontier": frontier,
        "frontier_note": data.frontier_note,
        "monte_carlo": monte_carlo,
        "monte_carlo_note": data.monte_carlo_note,
        "expiring": _records(data.expiring) if data.owned_known else None,
        "renewals": _records(data.renewals),
        "expiry_horizon_days": data.expiry_horizon_days,
        "notes": list(data.notes),
        "warnings": list(data.warnings),
        "optimizer": dict(data.optimizer),
    }
    return dict(_plain(payload))


def report_csv(data: ReportData) -> str:
    """The purchase table with each purchase's reason, as CSV (header row, one row per purchase)."""
    buffer = io.StringIO()
    frame = data.purchases.copy()
    for column in ("start", "end"):
        frame[column] = [pd.Timestamp(v).isoformat() for v in frame[column]]
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def render_report(data: ReportData, report_format: str) -> str:
    """The report as text in ``html``, ``md``, ``json`` or ``csv``."""
    if report_format == "html":
        return render_html(data)
    if report_format == "md":
        return render_markdown(data)
    if report_format == "json":
        return json.dumps(report_json(data), indent=2, ensure_ascii=False) + "\n"
    if report_format == "csv":
        return report_csv(data)
    raise CommitoptInputError(
        f"report format {report_format!r} is unknown; use one of {', '.join(REPORT_FORMATS)}"
    )


def write_report(data: ReportData, path: str | Path, report_format: str = "html") -> Path:
    """Render and write the report atomically (a failure leaves no partial file).

    Parameters
    ----------
    data
        The report.
    path
        Target file; its folder must exist.
    report_format
        ``html``, ``md``, ``json`` or ``csv``.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    target = Path(path)
    if not (target.parent if str(target.parent) else Path(".")).is_dir():
        raise CommitoptInputError(
            f"{target}: folder {target.parent} does not exist; create it or choose another "
            f"{param('out')}"
        )
    text = render_report(data, report_format)
    with atomic_output_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")
        temporary.chmod(_READABLE & ~_umask())  # a report is for sharing, not 0600 like mkstemp
    return target


__all__ = [
    "JSON_VERSION",
    "REPORT_FORMATS",
    "render_report",
    "report_csv",
    "report_json",
    "write_report",
]
