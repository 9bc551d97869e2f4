"""The report's tables: the purchases, the months, the hours and the owned commitments expiring.

Each function turns the billed simulations (and the purchases) into one table of
:class:`commitopt.report.data.ReportData`; the renderers only format them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from billing.ledger import ON_DEMAND
from billing.simulator import SimulationResult
from commitopt.report.accounts import shares_text
from commitopt.report.commitments import describe_commitment, item_hourly_cost_usd
from core.units import HOURS_PER_MONTH
from planning.renewals import can_queue
from pricing.inventory import Commitment
from pricing.offerings import TERM_HOURS, CommitmentKind

LAYERS: Final = (*CommitmentKind, "on_demand")
"""Columns of :attr:`ReportData.hourly`, in AWS's order of application."""

PURCHASE_COLUMNS: Final = (
    "id",
    "kind",
    "description",
    "account_id",
    "term_years",
    "payment_option",
    "start",
    "end",
    "upfront_usd",
    "recurring_usd_per_month",
    "effective_usd_per_hour",
    "term_cost_usd",
    "utilization_pct",
    "net_savings_vs_on_demand_usd",
    "expected_utilization_pct",
    "break_even_utilization_pct",
    "covered_accounts",
    "explanation",
)
"""Columns of :attr:`ReportData.purchases`; see :func:`purchase_table`."""


def _by_id(frame: pd.DataFrame | None, column: str) -> dict[str, Any]:
    if frame is None or frame.empty or column not in frame or "id" not in frame:
        return {}
    return dict(zip(frame["id"].astype(str), frame[column], strict=True))


def dated_purchases(
    purchases: Sequence[Commitment],
    *,
    period_start: pd.Timestamp | None,
    purchase_date: pd.Timestamp,
) -> tuple[Commitment, ...]:
    """The purchases dated as bought: from ``purchase_date``, not from the data period.

    A purchase billed over the data period starts with it (or, for a ladder's later tranche, some
    months into it); bought, it starts at ``purchase_date`` plus that same offset. A purchase
    whose own ``start`` is after ``purchase_date`` (a plan that names a future start) keeps it.
    Each keeps its term length: ``end`` = ``start`` + term.
    """
    dated = []
    for item in purchases:
        start = pd.Timestamp(item.start)
        if start <= purchase_date:
            offset = start - period_start if period_start is not None else pd.Timedelta(0)
            start = purchase_date + max(offset, pd.Timedelta(0))
        length = pd.Timestamp(item.end) - pd.Timestamp(item.start)
        dated.append(
            dataclasses.replace(
                item, start=start.to_pydatetime(), end=(start + length).to_pydatetime()
            )
        )
    return tuple(dated)


def purchase_table(
    purchases: Sequence[Commitment],
    with_plan: SimulationResult,
    explanations: pd.DataFrame | None,
    shares: Mapping[str, Mapping[str, float]] | None = None,
) -> pd.DataFrame:
    """One row per purchase, :data:`PURCHASE_COLUMNS`.

    Money per item [USD]: ``upfront_usd``, ``recurring_usd_per_month`` (fees per 730 h),
    ``effective_usd_per_hour`` (upfront amortized) [USD/h], ``term_cost_usd`` (whole term);
    ``utilization_pct`` and ``net_savings_vs_on_demand_usd`` (covered on-demand value − cost
    over the data period) are billed by the simulator; ``expected_utilization_pct``,
    ``break_even_utilization_pct`` and ``explanation`` are the optimizer's explanations
    (``nan`` / empty when none were made). ``account_id`` is the buying (owner) account, empty
    when the purchase names none (it then serves every account alike); ``covered_accounts``
    the share of the on-demand value it covered per account (``shares``, from
    :func:`commitopt.report.accounts.covered_shares`). ``start`` and ``end`` are the items' own
    (see :func:`dated_purchases`).
    """
    table = with_plan.instruments
    ids = table["id"].astype(str).tolist() if len(table) else []
    simulated_utilization = dict(
        zip(ids, 100.0 * table["utilization"].to_numpy(np.float64), strict=True)
    )
    simulated_net = dict(
        zip(
            ids,
            table["covered_on_demand_equivalent_usd"].to_numpy(np.float64)
            - table["cost_usd"].to_numpy(np.float64),
            strict=True,
        )
    )
    reasons = _by_id(explanations, "explanation")
    expected = _by_id(explanations, "expected_utilization_pct")
    break_even = _by_id(explanations, "break_even_utilization_pct")
    shares = shares or {}
    rows = []
    for item in purchases:
        hourly = item_hourly_cost_usd(item)
        term_hours = TERM_HOURS[item.term_years]
        amortized = item.upfront_usd / term_hours
        rows.append(
            {
                "id": item.id,
                "kind": item.kind,
                "description": describe_commitment(item),
                "account_id": item.account_id or "",
                "term_years": item.term_years,
                "payment_option": item.payment_option,
                "start": pd.Timestamp(item.start),
                "end": pd.Timestamp(item.end),
                "upfront_usd": float(item.upfront_usd),
                "recurring_usd_per_month": (hourly - amortized) * HOURS_PER_MONTH,
                "effective_usd_per_hour": hourly,
                "term_cost_usd": hourly * term_hours,
                "utilization_pct": float(simulated_utilization.get(item.id, math.nan)),
                "net_savings_vs_on_demand_usd": float(simulated_net.get(item.id, math.nan)),
                "expected_utilization_pct": float(expected.get(item.id, math.nan)),
                "break_even_utilization_pct": float(break_even.get(item.id, math.nan)),
                "covered_accounts": shares_text(shares.get(item.id, {})),
                "explanation": str(reasons.get(item.id, "") or ""),
            }
        )
    return pd.DataFrame(rows, columns=list(PURCHASE_COLUMNS))


def _month_table(result: SimulationResult) -> pd.DataFrame:
    """Per month: on-demand cost, actual cost, uncovered cost, unused commitment [USD];
    coverage and utilization [%]."""
    by_month = result.breakdown("month").set_index("month")
    ledger = result.ledger
    uncovered = (
        ledger.loc[ledger["instrument"] == ON_DEMAND]
        .groupby("month", observed=True)["actual_cost_usd"]
        .sum()
    )
    table = pd.DataFrame(
        {
            "on_demand_cost_usd": by_month["on_demand_cost_usd"],
            "actual_cost_usd": by_month["actual_cost_usd"],
            "uncovered_cost_usd": uncovered.reindex(by_month.index, fill_value=0.0),
            "unused_commitment_usd": by_month["unused_commitment_usd"],
        }
    )
    commitment = table["actual_cost_usd"] - table["uncovered_cost_usd"]
    odeq = table["on_demand_cost_usd"]
    coverage = np.where(odeq > 0, 1.0 - table["uncovered_cost_usd"] / odeq.where(odeq > 0, 1), 0.0)
    table["coverage_pct"] = 100.0 * np.clip(coverage, 0.0, 1.0)
    table["utilization_pct"] = 100.0 * np.where(
        commitment > 1e-9,
        1.0 - table["unused_commitment_usd"] / commitment.where(commitment > 1e-9, 1),
        np.nan,
    )
    return table


def monthly_table(baseline: SimulationResult, with_plan: SimulationResult) -> pd.DataFrame:
    """Both simulations by calendar month; see :attr:`ReportData.monthly`."""
    before = _month_table(baseline)
    after = _month_table(with_plan)
    months = pd.Index(before.index).union(pd.Index(after.index))
    before, after = before.reindex(months), after.reindex(months)
    table = pd.DataFrame(
        {
            "month": after.index.astype(str),
            "on_demand_cost_usd": after["on_demand_cost_usd"].to_numpy(),
            "current_cost_usd": before["actual_cost_usd"].to_numpy(),
            "planned_cost_usd": after["actual_cost_usd"].to_numpy(),
            "current_coverage_pct": before["coverage_pct"].to_numpy(),
            "coverage_pct": after["coverage_pct"].to_numpy(),
            "current_utilization_pct": before["utilization_pct"].to_numpy(),
            "utilization_pct": after["utilization_pct"].to_numpy(),
        }
    )
    table.insert(4, "savings_vs_current_usd", table["current_cost_usd"] - table["planned_cost_usd"])
    return table


def hourly_layers(result: SimulationResult) -> pd.DataFrame:
    """On-demand-equivalent cost covered by each instrument kind and left on-demand, per hour.

    Returns
    -------
    pandas.DataFrame
        ``hour`` and :data:`LAYERS` [USD/h]; the layers add up to the usage's on-demand value.
    """
    od = result.keys["on_demand_usd_per_hour"].to_numpy(dtype=np.float64)
    n_hours = len(result.hours)
    columns: dict[str, Any] = {"hour": result.hours}
    for kind in LAYERS[:-1]:
        rows = result.covered_rows.get(kind, {})
        if rows:
            keys = np.fromiter(rows.keys(), dtype=np.intp, count=len(rows))
            stacked = np.vstack([rows[int(k)] for k in keys])  # covered keys × hours
            columns[kind] = od[keys] @ stacked
        else:
            columns[kind] = np.zeros(n_hours)
    columns["on_demand"] = result.on_demand @ od if len(od) else np.zeros(n_hours)
    return pd.DataFrame(columns)


def expiring_table(
    owned: Sequence[Commitment], reference: pd.Timestamp | None, horizon_days: float
) -> pd.DataFrame:
    """Owned commitments whose term ends within ``horizon_days`` after ``reference``."""
    columns = ["id", "kind", "description", "end", "cost_usd_per_month"]
    if reference is None or not owned:
        return pd.DataFrame(columns=columns)
    stop = reference + pd.Timedelta(days=horizon_days)
    rows = [
        {
            "id": item.id,
            "kind": item.kind,
            "description": describe_commitment(item),
            "end": pd.Timestamp(item.end),
            "cost_usd_per_month": item_hourly_cost_usd(item) * HOURS_PER_MONTH,
        }
        for item in owned
        if reference < pd.Timestamp(item.end) <= stop
    ]
    return (
        pd.DataFrame(rows, columns=columns).sort_values("end", kind="stable").reset_index(drop=True)
    )


RENEWAL_COLUMNS: Final = (
    "start",
    "replaces",
    "id",
    "kind",
    "description",
    "term_years",
    "payment_option",
    "upfront_usd",
    "effective_usd_per_hour",
    "term_cost_usd",
    "queued",
)
"""Columns of :func:`renewal_table`."""


def renewal_table(renewals: Sequence[tuple[Commitment, Sequence[str]]]) -> pd.DataFrame:
    """One row per renewal purchase, :data:`RENEWAL_COLUMNS`: when it starts (the hour what it
    replaces ends), the ids of the owned commitments it replaces, what it is and what it costs
    (``effective_usd_per_hour`` upfront amortized [USD/h], ``term_cost_usd`` the whole term
    [USD]), and whether it is ``queued`` (false for a database reservation, which AWS cannot
    queue: it starts when bought, :func:`planning.renewals.can_queue`)."""
    rows = []
    for item, replaced in renewals:
        hourly = item_hourly_cost_usd(item)
        rows.append(
            {
                "start": pd.Timestamp(item.start),
                "replaces": ", ".join(replaced),
                "id": item.id,
                "kind": item.kind,
                "description": describe_commitment(item),
                "term_years": item.term_years,
                "payment_option": item.payment_option,
                "upfront_usd": float(item.upfront_usd),
                "effective_usd_per_hour": hourly,
                "term_cost_usd": hourly * TERM_HOURS[item.term_years],
                "queued": can_queue(item),
            }
        )
    return pd.DataFrame(rows, columns=list(RENEWAL_COLUMNS))


__all__ = [
    "LAYERS",
    "PURCHASE_COLUMNS",
    "RENEWAL_COLUMNS",
    "dated_purchases",
    "expiring_table",
    "hourly_layers",
    "monthly_table",
    "purchase_table",
    "renewal_table",
]
