"""A report for a plan that was not recommended in this process: its portfolio JSON, re-billed.

The plan's purchases and explanations come from its portfolio JSON (what ``commitopt recommend
--format json`` writes, or a stored plan's payload); its figures come from billing usage again,
with the owned commitments only and with the purchases added. The data period is the plan's own
(``summary.period_start`` + ``period_hours``) when the usage covers it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy.typing as npt
import pandas as pd

from billing.simulator import simulate
from commitopt.plans import current_summary
from commitopt.report.data import DEFAULT_TITLE, ReportData, report_data_from_simulations
from commitopt.report.inputs import Frontier, MonteCarloSavings
from core.errors import CommitoptInputError, param
from core.times import as_utc
from planning.recommend import DEFAULT_LOOKBACK_DAYS, lookback_window
from planning.stress import worst_stress_sentence
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment
from pricing.inventory.portfolio_json import current_field_names

EXPLANATION_COLUMNS = (
    "id", "explanation", "expected_utilization_pct", "break_even_utilization_pct"
)  # fmt: skip
"""Explanation fields read from each purchase item of a plan."""


def load_plan_json(path: str | Path) -> dict[str, Any]:
    """The portfolio JSON payload of a plan file (``{"purchases": [...], ...}``).

    Raises
    ------
    core.errors.CommitoptInputError
        Missing or unreadable file, bad JSON, no ``purchases`` list (one line naming the file).
    """
    file = Path(path)
    try:
        payload = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise CommitoptInputError(f"{file}: no such plan file; check the path") from error
    except (OSError, UnicodeDecodeError) as error:
        raise CommitoptInputError(f"{file}: cannot be read ({error})") from error
    except json.JSONDecodeError as error:
        raise CommitoptInputError(
            f"{file}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
            "give the JSON that `commitopt recommend --format json` writes"
        ) from error
    if isinstance(payload, list):
        payload = {"purchases": payload}
    if not isinstance(payload, dict) or not isinstance(payload.get("purchases"), list):
        raise CommitoptInputError(
            f'{file}: no "purchases" list; give the JSON that `commitopt recommend --format json` '
            "writes"
        )
    return payload


def plan_window(
    usage: pd.DataFrame, payload: Mapping[str, Any], lookback_days: float | None = None
) -> tuple[pd.DataFrame, str | None]:
    """The usage to bill the plan over, and a warning when it is not the plan's own period.

    With ``lookback_days`` the last that many days of ``usage``; otherwise the plan's period
    (``summary.period_start`` and ``summary.period_hours``) when ``usage`` has hours in it,
    else the last :data:`~planning.recommend.DEFAULT_LOOKBACK_DAYS` days.
    """
    if lookback_days is not None:
        return lookback_window(usage, lookback_days), None
    summary = payload.get("summary") if isinstance(payload.get("summary"), Mapping) else {}
    start, hours = summary.get("period_start"), summary.get("period_hours")  # type: ignore[union-attr]
    if start and hours and not usage.empty:
        try:
            first = as_utc(start)
            stop = first + pd.Timedelta(hours=float(hours))
        except (TypeError, ValueError) as error:
            raise CommitoptInputError(
                f"plan summary: period_start {start!r} / period_hours {hours!r} is not a period; "
                f"fix them or pass {param('lookback_days')}"
            ) from error
        kept = usage.loc[(usage["hour"] >= first) & (usage["hour"] < stop)].reset_index(drop=True)
        if not kept.empty:
            kept.attrs = dict(usage.attrs)
            return kept, None
        warning = (
            f"the usage has no hours in the plan's period ({first.isoformat()}, {hours} h); "
            f"billed its last {DEFAULT_LOOKBACK_DAYS} days instead"
        )
        return lookback_window(usage, DEFAULT_LOOKBACK_DAYS), warning
    return lookback_window(usage, DEFAULT_LOOKBACK_DAYS), None


def explanations_from_payload(payload: Mapping[str, Any]) -> pd.DataFrame:
    """The explanation fields that ``recommend`` writes into each purchase item, by ``id``."""
    rows = [
        {column: current_field_names(item).get(column) for column in EXPLANATION_COLUMNS}
        for item in payload.get("purchases", [])
        if isinstance(item, Mapping) and item.get("id") is not None
    ]
    frame = pd.DataFrame(rows, columns=list(EXPLANATION_COLUMNS))
    for column in ("expected_utilization_pct", "break_even_utilization_pct"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["explanation"] = frame["explanation"].fillna("").astype(str)
    frame["id"] = frame["id"].astype(str)
    return frame


def report_data_from_portfolio(
    payload: Mapping[str, Any],
    purchases: Sequence[Commitment],
    usage: pd.DataFrame,
    catalog: PriceCatalog,
    *,
    owned: Sequence[Commitment] = (),
    plan_id: str | None = None,
    plan_hash_hex: str | None = None,
    title: str = DEFAULT_TITLE,
    monte_carlo: MonteCarloSavings | Mapping[str, Any] | npt.ArrayLike | None = None,
    frontier: Frontier | Mapping[str, Any] | None = None,
    compute_frontier: bool = True,
    generated_at: datetime | None = None,
    warnings: Sequence[str] = (),
    share_across_accounts: bool = True,
    discount_rate: float = 0.0,
    purchase_date: datetime | None = None,
) -> ReportData:
    """Bill ``usage`` without and with the plan's purchases and assemble the report.

    Parameters
    ----------
    payload
        The plan's portfolio JSON (hashed into the header; explanations read from its items).
    purchases
        The plan's purchases, read from ``payload`` (:func:`pricing.inventory.read_portfolio_json`
        with ``default_start`` = the first hour of ``usage``).
    usage
        The data period's usage (see :func:`plan_window`).
    catalog
        Prices.
    owned
        Commitments already owned.
    plan_id, plan_hash_hex, title, monte_carlo, frontier, generated_at
        See :func:`commitopt.report.data.report_data_from_simulations`.
    compute_frontier
        Compute a scaled frontier when none is given.
    warnings
        Extra lines to show with the simulations' own warnings.
    share_across_accounts, discount_rate
        Passed to :func:`billing.simulator.simulate`.
    purchase_date
        When the purchases are bought (a stored plan's creation time) [default: the report's
        time]; see :func:`commitopt.report.data.report_data_from_simulations`.
    """
    if usage.empty:
        raise CommitoptInputError(
            f"no usage to bill the plan with: pass {param('usage_files')} FILE or import usage "
            "with `commitopt usage import`"
        )
    options = {"share_across_accounts": share_across_accounts, "discount_rate": discount_rate}
    baseline = simulate(usage, owned, catalog, **options)  # type: ignore[arg-type]
    with_plan = simulate(usage, (*owned, *purchases), catalog, **options)  # type: ignore[arg-type]
    optimizer = {}
    summary = payload.get("summary")
    if isinstance(summary, Mapping):
        summary = current_summary(summary)
    if isinstance(summary, Mapping) and isinstance(summary.get("optimizer"), Mapping):
        optimizer = dict(summary["optimizer"])
    decided_on = summary.get("decided_on") if isinstance(summary, Mapping) else None
    return report_data_from_simulations(
        baseline=baseline,
        with_plan=with_plan,
        purchases=purchases,
        portfolio=payload,
        explanations=explanations_from_payload(payload),
        catalog=catalog,
        owned=owned,
        monte_carlo=monte_carlo,
        frontier=frontier,
        frontier_usage=usage if compute_frontier else None,
        title=title,
        plan_id=plan_id,
        plan_hash_hex=plan_hash_hex,
        generated_at=generated_at,
        optimizer=optimizer,
        warnings=(*warnings, *baseline.warnings, *with_plan.warnings),
        discount_rate=discount_rate,
        purchase_date=purchase_date,
        decided_on=decided_on if isinstance(decided_on, Mapping) else None,
        stress_note=worst_stress_sentence(summary) if isinstance(summary, Mapping) else None,
    )


__all__ = [
    "explanations_from_payload",
    "load_plan_json",
    "plan_window",
    "report_data_from_portfolio",
]
