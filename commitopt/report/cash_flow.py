"""The report's cash flow: months of cash over the longest term, and the break-even month."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.units import HOURS_PER_MONTH
from pricing.inventory import Commitment


def break_even_month(
    upfront_usd: float, monthly_cash_savings_usd: float, months: int
) -> int | None:
    """First month (1-based) with cumulative cash savings ≥ 0, the upfront paid in month 1.

    ``None`` when the savings never repay the upfront within ``months``.
    """
    if monthly_cash_savings_usd <= 0:
        return None
    month = max(1, math.ceil(upfront_usd / monthly_cash_savings_usd - 1e-9))
    return month if month <= months else None


def cash_break_even_month(cash_flow: pd.DataFrame) -> int | None:
    """First month (1-based) from which the cumulative cash savings stay ≥ 0.

    ``None`` when they end the term below 0. With all upfront paid in month 1 this is
    :func:`break_even_month` of the upfront and the monthly cash savings.
    """
    cumulative = cash_flow["cumulative_savings_vs_current_usd"].to_numpy(dtype=np.float64)
    below = np.flatnonzero(cumulative < -1e-6)
    if below.size == 0:
        return 1 if cumulative.size else None
    last = int(below[-1])
    return last + 2 if last + 1 < cumulative.size else None


def cash_flow_table(
    purchases: Sequence[Commitment],
    *,
    period_start: pd.Timestamp | None,
    on_demand_monthly_usd: float,
    current_monthly_usd: float,
    plan_monthly_usd: float,
    term_months: int,
) -> pd.DataFrame:
    """Months 1…``term_months`` of cash, the data period's run-rates repeated.

    Each purchase's upfront is paid in the month its term starts (month 1 when it starts with
    the data period or before); see :attr:`ReportData.cash_flow`.
    """
    months = np.arange(1, term_months + 1)
    upfront = np.zeros(term_months)
    for item in purchases:  # a handful of purchases
        index = 0
        if period_start is not None:
            offset_hours = (pd.Timestamp(item.start) - period_start) / pd.Timedelta(hours=1)
            index = int(max(0.0, offset_hours) // HOURS_PER_MONTH)
        if index < term_months:
            upfront[index] += item.upfront_usd
    current = np.full(term_months, current_monthly_usd)
    plan = np.full(term_months, plan_monthly_usd) + upfront
    return pd.DataFrame(
        {
            "month": months,
            "on_demand_cost_usd": np.full(term_months, on_demand_monthly_usd),
            "current_cost_usd": current,
            "planned_cost_usd": plan,
            "upfront_usd": upfront,
            "cumulative_savings_vs_current_usd": np.cumsum(current - plan),
        }
    )


__all__ = ["break_even_month", "cash_break_even_month", "cash_flow_table"]
