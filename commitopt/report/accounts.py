"""The report's view per account: what each linked account costs and saves, and who buys what.

In a consolidated-billing organisation (a payer with linked accounts) the usage names the account
that ran it. The billing simulator keeps that account on every ledger row; a commitment's unused
part sits on its owner's row, or on an unnamed row (``account_id`` empty) when the commitment
names no owner and serves every account alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd

from billing.ledger import ON_DEMAND, with_services
from billing.simulator import SimulationResult
from pricing.inventory import Commitment

ACCOUNT_COLUMNS: Final = (
    "account_id",
    "on_demand_cost_usd",
    "current_cost_usd",
    "planned_cost_usd",
    "savings_vs_current_usd",
    "current_coverage_pct",
    "coverage_pct",
)
"""Columns of :attr:`commitopt.report.data.ReportData.by_account`."""

SHARED_ACCOUNT_LABEL: Final = "shared (no owner)"
"""How the row of unused commitment that names no owner account is shown."""

NO_ACCOUNT_LABEL: Final = "no account in the data"
"""How usage without an account id is shown."""


def _by_label(ledger: pd.DataFrame, label: str) -> pd.DataFrame:
    """On-demand cost, actual cost and covered on-demand value per ``label`` of ``ledger`` [USD]."""
    if ledger.empty:
        return pd.DataFrame(columns=["on_demand_cost_usd", "actual_cost_usd", "covered_usd"])
    covered = ledger["on_demand_cost_usd"].where(ledger["instrument"] != ON_DEMAND, 0.0)
    frame = pd.DataFrame(
        {
            label: ledger[label].astype("string").fillna(""),
            "on_demand_cost_usd": ledger["on_demand_cost_usd"],
            "actual_cost_usd": ledger["actual_cost_usd"],
            "covered_usd": covered,
        }
    )
    return frame.groupby(label, sort=True).sum()


def _before_after(before: pd.DataFrame, after: pd.DataFrame, label: str) -> pd.DataFrame:
    """Costs and coverages per ``label`` with the owned commitments only and with the plan."""
    index = before.index.union(after.index)
    before, after = before.reindex(index, fill_value=0.0), after.reindex(index, fill_value=0.0)
    on_demand = after["on_demand_cost_usd"].to_numpy(dtype=np.float64)
    safe = np.where(on_demand > 0, on_demand, 1.0)
    current_coverage = np.where(
        on_demand > 0, 100.0 * before["covered_usd"].to_numpy(dtype=np.float64) / safe, np.nan
    )
    coverage = np.where(
        on_demand > 0, 100.0 * after["covered_usd"].to_numpy(dtype=np.float64) / safe, np.nan
    )
    table = pd.DataFrame(
        {
            label: index.astype(str),
            "on_demand_cost_usd": on_demand,
            "current_cost_usd": before["actual_cost_usd"].to_numpy(dtype=np.float64),
            "planned_cost_usd": after["actual_cost_usd"].to_numpy(dtype=np.float64),
            "current_coverage_pct": current_coverage,
            "coverage_pct": coverage,
        }
    )
    table["savings_vs_current_usd"] = table["current_cost_usd"] - table["planned_cost_usd"]
    return table


SERVICE_COLUMNS: Final = ("service", *ACCOUNT_COLUMNS[1:])
"""Columns of :attr:`commitopt.report.data.ReportData.by_service`."""


def service_table(baseline: SimulationResult, with_plan: SimulationResult) -> pd.DataFrame:
    """One row per service (``AmazonEC2``, ``AmazonRDS``, ``AmazonElastiCache``):
    :data:`SERVICE_COLUMNS`, as :func:`account_table` per account; a Database Savings Plan's
    unused commitment is shared among the services it covered
    (:func:`billing.ledger.with_services`). Largest on-demand cost first; the rows add up to
    the totals."""
    before = _by_label(with_services(baseline.ledger), "service")
    after = _by_label(with_services(with_plan.ledger), "service")
    table = _before_after(before, after, "service")
    table = table.sort_values("on_demand_cost_usd", ascending=False, kind="stable")
    return table[list(SERVICE_COLUMNS)].reset_index(drop=True)


def account_table(baseline: SimulationResult, with_plan: SimulationResult) -> pd.DataFrame:
    """One row per account: :data:`ACCOUNT_COLUMNS`.

    ``on_demand_cost_usd`` is the account's usage at on-demand rates, ``current_cost_usd`` and
    ``planned_cost_usd`` what it costs with the owned commitments only and with the purchases
    added (each account's covered usage at the commitment's rate, its own commitments' unused
    part), ``savings_vs_current_usd`` the difference [USD]; coverages [%]. Unused commitment
    that names no owner is a row of its own with an empty ``account_id`` and no usage; the rows
    add up to the totals.
    """
    before = _by_label(baseline.ledger, "account_id")
    after = _by_label(with_plan.ledger, "account_id")
    table = _before_after(before, after, "account_id")
    # Accounts with usage first, largest on-demand cost first; the shared row last.
    table = table.assign(_shared=(table["on_demand_cost_usd"] <= 0) & (table["account_id"] == ""))
    table = table.sort_values(["_shared", "on_demand_cost_usd"], ascending=[True, False],
                              kind="stable")  # fmt: skip
    return table[list(ACCOUNT_COLUMNS)].reset_index(drop=True)


def covered_shares(
    with_plan: SimulationResult, purchases: Sequence[Commitment]
) -> dict[str, dict[str, float]]:
    """Per purchase id: the share of the on-demand value it covered, per account [%]."""
    ledger = with_plan.ledger
    ids = {item.id for item in purchases}
    if ledger.empty or not ids:
        return {}
    rows = ledger.loc[ledger["instrument"].isin(ids) & (ledger["on_demand_cost_usd"] > 0)]
    shares: dict[str, dict[str, float]] = {}
    grouped = rows.groupby(["instrument", "account_id"], observed=True, dropna=False)
    sums = grouped["on_demand_cost_usd"].sum()
    for instrument in ids:
        if instrument not in sums.index.get_level_values(0):
            continue
        per_account = sums.loc[instrument]
        total = float(per_account.sum())
        if total > 0:
            shares[instrument] = {
                str("" if pd.isna(account) else account): 100.0 * float(value) / total
                for account, value in per_account.sort_values(ascending=False).items()
            }
    return shares


def account_label(account_id: object) -> str:
    """An account id as shown: the id, or :data:`NO_ACCOUNT_LABEL` when empty."""
    if account_id is None or account_id is pd.NA or account_id != account_id:  # NA or NaN
        return NO_ACCOUNT_LABEL
    return str(account_id) or NO_ACCOUNT_LABEL


def shares_text(shares: Mapping[str, float]) -> str:
    """``111111111111 71.2%, 222222222222 28.8%``."""
    return ", ".join(f"{account_label(account)} {share:.1f}%" for account, share in shares.items())


__all__ = [
    "ACCOUNT_COLUMNS",
    "NO_ACCOUNT_LABEL",
    "SERVICE_COLUMNS",
    "SHARED_ACCOUNT_LABEL",
    "account_label",
    "account_table",
    "covered_shares",
    "service_table",
    "shares_text",
]
