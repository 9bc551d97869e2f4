"""The billing simulator: apply commitments to hourly usage exactly as AWS bills them.

Rules (docs/billing.md), every hour, use-it-or-lose-it:

1. Reserved Instances. A regional Linux/UNIX shared-tenancy RI is size-flexible: it covers its
   region and family in normalized units, smallest size first. Every other RI covers its exact
   key (region, type, platform, tenancy). An RI costs its effective rate every hour of its term.
2. EC2 Instance Savings Plans (region + family), then 3. Compute Savings Plans: usage with the
   highest discount percentage (1 − SP rate ÷ on-demand rate) first, ties to the lowest SP rate,
   each key at its SP rate, until the hour's commitment runs out (the last key partly covered).
4. What is left is billed on-demand.

Each instrument serves its owner's account first and then, when sharing is on, the other
accounts. The order of keys an instrument fills never changes over time, so commitments that
cover the same keys in the same order are pooled and filled once, key by key in that order, each
step for all hours at once (no loop over hours): see :mod:`billing.engine`. The money is laid
out by :mod:`billing.ledger`.

A term that starts or ends inside a clock hour gives full capacity in that hour but is charged
only the overlapped fraction of it (:mod:`billing.portfolio`, as AWS billed the real October
2018 CUR); the usage it covers there is costed at the same fraction, so an instrument's used
cost never exceeds its charge. (AWS's own DiscountedUsage line for such an hour carries the full
hour's effective cost and its RIFee states unused = fee − effective cost; the two splits differ by
the uncharged part of that one hour, e.g. 0.008 USD on the October 2018 bill.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from billing.engine import Engine, build_pools
from billing.ledger import LEDGER_VALUES, ON_DEMAND, build_ledger, instrument_table, with_services
from billing.portfolio import SimulationPortfolio, build_portfolio
from core.times import month_start_rows
from core.units import HOURS_PER_MONTH
from pricing.catalog import PriceCatalog
from pricing.instance_types import instance_families
from pricing.inventory import Commitment, Inventory
from pricing.offerings import CommitmentKind
from pricing.services import units_per_instance_hour
from usage.priced import without_unpriced_services
from usage.table import KEY_COLUMNS, UsageMatrix, to_matrix

BREAKDOWNS: Final = ("month", "account_id", "region", "instance_family", "instrument", "service")

Grouping = Literal["month", "account_id", "region", "instance_family", "instrument", "service"]
FloatArray = npt.NDArray[np.float64]


class SimulationStatus(StrEnum):
    """How a simulation went, or a Monte Carlo run (the billing layer's one status vocabulary)."""

    OK = "ok"
    """Every commitment applied as AWS does."""
    WARNINGS = "warnings"
    """Applied with approximations listed in :attr:`SimulationResult.warnings`."""
    NO_USAGE = "no_usage"
    """The usage is empty: everything paid is commitment."""


@dataclass(frozen=True)
class SimulationTotals:
    """Money and metrics of a whole simulation, named as ``docs/glossary.md`` defines them.

    Attributes
    ----------
    period_hours
        Simulated hours [h].
    instance_hours
        All usage [instance-hours].
    on_demand_cost_usd
        What all the usage costs at on-demand rates, before any commitment [USD].
    actual_cost_usd
        What is paid: commitments (amortized upfront + recurring, used or not) + the uncovered
        usage at on-demand rates [USD].
    uncovered_cost_usd, amortized_upfront_usd, recurring_usd
        The three parts of the actual cost [USD].
    unused_commitment_usd
        Commitment cost that covered nothing (waste) [USD].
    savings_vs_on_demand_usd, savings_vs_on_demand_pct
        On-demand cost − actual cost [USD], and that ÷ on-demand cost [%]: the effective
        savings rate (ESR), negative when the commitments cost more than they save.
    coverage_pct
        Covered on-demand-equivalent cost ÷ on-demand cost [%].
    utilization_pct
        Used commitment cost ÷ commitment cost over all instruments [%] (100 when none).
    gross_savings_vs_on_demand_usd
        Savings on the covered usage before the unused commitment is subtracted [USD].
    upfront_usd
        Upfront payments of commitments starting inside the period [USD].
    run_rate_usd_per_month
        Recurring + on-demand cost per 730 h [USD/month].
    break_even_month
        First month (1-based) whose cumulative cash savings, upfront paid at purchase, are ≥ 0;
        ``None`` if never within the period.
    npv_savings_vs_on_demand_usd
        Net present value of the monthly cash savings against on-demand at ``discount_rate``
        [USD].
    discount_rate
        Yearly discount rate used for the NPV [fraction per year].
    """

    period_hours: int
    instance_hours: float
    on_demand_cost_usd: float
    actual_cost_usd: float
    uncovered_cost_usd: float
    amortized_upfront_usd: float
    recurring_usd: float
    unused_commitment_usd: float
    savings_vs_on_demand_usd: float
    savings_vs_on_demand_pct: float
    coverage_pct: float
    utilization_pct: float
    gross_savings_vs_on_demand_usd: float
    upfront_usd: float
    run_rate_usd_per_month: float
    break_even_month: int | None
    npv_savings_vs_on_demand_usd: float
    discount_rate: float


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """What AWS would bill for a usage and a portfolio.

    Attributes
    ----------
    status
        :class:`SimulationStatus`.
    hours
        Simulated hours (UTC).
    keys
        One row per usage key: :data:`usage.table.KEY_COLUMNS`, ``instance_family``,
        ``normalization_factor``, ``on_demand_usd_per_hour``.
    usage
        Usage, hours × keys [instance-hours].
    on_demand
        Usage left on-demand, hours × keys [instance-hours].
    covered_rows
        Usage covered by each kind of instrument (``"reserved_instance"``, ...), only for the
        keys it covered: key index -> row over hours [instance-hours]. The properties
        :attr:`ri_covered`, :attr:`ec2_sp_covered`, :attr:`compute_sp_covered` and
        :attr:`database_sp_covered` and :attr:`sagemaker_sp_covered` give them as
        hours × keys arrays; with :attr:`on_demand` they add up to ``usage``.
    instruments
        One row per instrument: ``id``, ``kind``, ``region``, ``instance_family``,
        ``instance_type``, ``account_id``, ``active_hours`` (hours overlapping the term),
        ``charged_hours`` (the same, partial hours pro rata [h]), ``capacity_per_hour`` (units,
        instances or USD), ``used`` (same unit, summed over hours), ``utilization`` [0–1],
        ``amortized_upfront_usd``, ``recurring_usd``, ``cost_usd``, ``used_cost_usd``,
        ``unused_usd``, ``covered_usage_hours``, ``covered_on_demand_equivalent_usd``.
    used
        Capacity used per hour and instrument, hours × instruments (column order of
        ``instruments``) [units, instances or USD per hour].
    unused
        Unused capacity per hour and instrument, same shape and units.
    ledger
        Long table of money by ``month``, key, ``instance_family``, ``instrument`` and ``kind``
        with :data:`LEDGER_VALUES`; unused commitment has rows keyed by the instrument's scope.
    totals
        :class:`SimulationTotals`.
    warnings
        Approximations made, one line each.
    """

    status: SimulationStatus
    hours: pd.DatetimeIndex
    keys: pd.DataFrame
    usage: FloatArray
    on_demand: FloatArray
    covered_rows: Mapping[str, Mapping[int, FloatArray]]
    instruments: pd.DataFrame
    used: FloatArray
    unused: FloatArray
    ledger: pd.DataFrame
    totals: SimulationTotals
    warnings: tuple[str, ...]

    def _dense(self, kind: str) -> FloatArray:
        n_hours, n_keys = self.usage.shape
        dense = np.zeros((n_keys, n_hours))
        for key, row in self.covered_rows.get(kind, {}).items():  # one copy per covered key
            dense[key] = row
        return dense.T

    @cached_property
    def ri_covered(self) -> FloatArray:
        """Usage covered by Reserved Instances, hours × keys [instance-hours]."""
        return self._dense(CommitmentKind.RESERVED_INSTANCE)

    @cached_property
    def ec2_sp_covered(self) -> FloatArray:
        """Usage covered by EC2 Instance Savings Plans, hours × keys [instance-hours]."""
        return self._dense(CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN)

    @cached_property
    def compute_sp_covered(self) -> FloatArray:
        """Usage covered by Compute Savings Plans, hours × keys [instance-hours]."""
        return self._dense(CommitmentKind.COMPUTE_SAVINGS_PLAN)

    @cached_property
    def database_sp_covered(self) -> FloatArray:
        """Usage covered by Database Savings Plans, hours × keys [instance-hours]."""
        return self._dense(CommitmentKind.DATABASE_SAVINGS_PLAN)

    @cached_property
    def sagemaker_sp_covered(self) -> FloatArray:
        """Usage covered by SageMaker Savings Plans, hours × keys [instance-hours]."""
        return self._dense(CommitmentKind.SAGEMAKER_SAVINGS_PLAN)

    @property
    def covered(self) -> FloatArray:
        """Usage covered by any commitment, hours × keys [instance-hours]."""
        return (
            self.ri_covered
            + self.ec2_sp_covered
            + self.compute_sp_covered
            + self.database_sp_covered
            + self.sagemaker_sp_covered
        )

    def breakdown(self, by: Grouping) -> pd.DataFrame:
        """Money by ``month``, ``account_id``, ``region``, ``instance_family``, ``instrument`` or
        ``service`` (:func:`billing.ledger.with_services`).

        Columns: ``by``, :data:`LEDGER_VALUES`, ``savings_vs_on_demand_usd``;
        ``actual_cost_usd`` sums to the actual cost whatever ``by`` is.
        """
        if by not in BREAKDOWNS:
            raise ValueError(f"cannot break down by {by!r}; use one of {', '.join(BREAKDOWNS)}")
        ledger = with_services(self.ledger) if by == "service" else self.ledger
        table = (
            ledger.groupby(by, sort=True, observed=True)[list(LEDGER_VALUES)].sum().reset_index()
        )
        table["savings_vs_on_demand_usd"] = table["on_demand_cost_usd"] - table["actual_cost_usd"]
        return table

    def covered_frame(self) -> pd.DataFrame:
        """Long table of non-zero cells: hour, key, usage, each kind's cover, on-demand."""
        hour_index, key_index = np.nonzero(self.usage)
        keys = self.keys.iloc[key_index].reset_index(drop=True)
        return pd.DataFrame(
            {
                "hour": self.hours[hour_index],
                **{column: keys[column] for column in KEY_COLUMNS},
                "quantity": self.usage[hour_index, key_index],
                "ri_covered": self.ri_covered[hour_index, key_index],
                "ec2_sp_covered": self.ec2_sp_covered[hour_index, key_index],
                "compute_sp_covered": self.compute_sp_covered[hour_index, key_index],
                "database_sp_covered": self.database_sp_covered[hour_index, key_index],
                "sagemaker_sp_covered": self.sagemaker_sp_covered[hour_index, key_index],
                "on_demand": self.on_demand[hour_index, key_index],
            }
        )


def _month_starts(hours: pd.DatetimeIndex) -> tuple[npt.NDArray[np.intp], pd.Index]:
    """Row where each calendar month starts, and the months' labels (``YYYY-MM``)."""
    change = month_start_rows(hours)
    labels = pd.Index(hours[change].tz_convert(None).strftime("%Y-%m"), dtype="string")
    return change, labels


def _as_matrix(usage: pd.DataFrame | UsageMatrix) -> UsageMatrix:
    return usage if isinstance(usage, UsageMatrix) else to_matrix(usage)


def priced_keys(keys: pd.DataFrame, catalog: PriceCatalog) -> pd.DataFrame:
    """``keys`` (:data:`usage.table.KEY_COLUMNS`) plus ``instance_family``,
    ``normalization_factor`` and ``on_demand_usd_per_hour`` [USD/h], as the simulator needs them.

    Raises
    ------
    pricing.errors.MissingPriceError
        When a key has no on-demand rate.
    """
    keys = keys.copy()
    keys["instance_family"] = instance_families(keys["instance_type"])
    keys["normalization_factor"] = (
        units_per_instance_hour(keys["instance_type"], keys["tenancy"], keys["platform"])
        if len(keys)
        else np.zeros(0)
    )
    od_rates = catalog.require_on_demand(keys).astype(np.float64) if len(keys) else np.zeros(0)
    keys["on_demand_usd_per_hour"] = od_rates
    return keys


def simulate(
    usage: pd.DataFrame | UsageMatrix,
    portfolio: Inventory | Sequence[Commitment] | SimulationPortfolio,
    catalog: PriceCatalog,
    *,
    share_across_accounts: bool = True,
    owner_accounts: Mapping[str, str] | None = None,
    discount_rate: float = 0.0,
) -> SimulationResult:
    """Bill ``usage`` with ``portfolio`` as AWS would.

    Parameters
    ----------
    usage
        The canonical usage table or its :class:`~usage.table.UsageMatrix`; its hours are the
        simulated period.
    portfolio
        Owned and proposed commitments with start and end, or a built
        :class:`~billing.portfolio.SimulationPortfolio` (its masks must match the hours).
    catalog
        On-demand rates of every key, SP rates of the keys plans may cover, RI rates for items
        without them.
    share_across_accounts
        Whether commitments also cover the organization's other accounts after their own.
    owner_accounts
        Commitment id -> owning account; commitments it does not name use their own
        ``account_id`` and, without one, serve every account alike.
    discount_rate
        Annual discount rate for the NPV [1/year].

    Raises
    ------
    pricing.errors.MissingPriceError
        When a key has no on-demand rate.
    billing.portfolio.PortfolioError
        For a commitment that cannot be applied.
    """
    matrix = _as_matrix(usage)
    hours = matrix.hours
    built = (
        portfolio
        if isinstance(portfolio, SimulationPortfolio)
        else build_portfolio(portfolio, hours, catalog, owner_accounts=owner_accounts)
    )
    matrix, unpriced = without_unpriced_services(matrix, catalog)
    keys = priced_keys(matrix.keys, catalog)
    od_rates = keys["on_demand_usd_per_hour"].to_numpy(dtype=np.float64)
    month_starts, month_labels = _month_starts(hours)
    instruments = built.instruments
    pools, pool_warnings = build_pools(instruments, keys, catalog)
    engine = Engine(matrix.quantity, instruments, od_rates, month_starts)
    accounts = keys["account_id"].fillna("").to_numpy(dtype=object)
    engine.run(pools, accounts, share_across_accounts)
    return _result(
        matrix,
        keys,
        engine,
        month_labels,
        discount_rate,
        (*unpriced, *built.warnings, *pool_warnings),
    )


def _result(
    matrix: UsageMatrix,
    keys: pd.DataFrame,
    engine: Engine,
    months: pd.Index,
    discount_rate: float,
    warnings: tuple[str, ...],
) -> SimulationResult:
    """Assemble the result: ledger, instrument table, totals."""
    od = engine.od_rates
    quantity = matrix.quantity
    instruments, used, unused = instrument_table(engine)
    ledger = build_ledger(engine, keys, months)
    n_months = len(months)
    cash_commitment_m = np.zeros(n_months)
    upfront_m = np.zeros(n_months)
    first = matrix.hours[0] if len(matrix.hours) else None
    stop = matrix.hours[-1] + pd.Timedelta(hours=1) if len(matrix.hours) else None
    for inst in engine.instruments:
        cash_commitment_m += engine.monthly(inst.charged) * inst.recurring_usd_per_hour
        if first is not None and stop is not None and first <= inst.start < stop:
            position = int(np.searchsorted(matrix.hours.asi8, inst.start.value, side="right")) - 1
            upfront_m[int(np.searchsorted(engine.month_starts, position, side="right")) - 1] += (
                inst.upfront_usd
            )
    usage_total = float(quantity.sum())
    od_h = quantity @ od if len(od) else np.zeros(len(matrix.hours))  # per hour [USD]
    on_demand_h = od @ engine.remaining if len(od) else np.zeros(len(matrix.hours))
    od_equivalent = float(od_h.sum())
    on_demand_cost = float(on_demand_h.sum())
    amortized = float(instruments["amortized_upfront_usd"].sum())
    recurring = float(instruments["recurring_usd"].sum())
    commitment_cost = amortized + recurring
    unused_cost = float(instruments["unused_usd"].sum())
    used_cost = float(instruments["used_cost_usd"].sum())
    actual = on_demand_cost + commitment_cost
    savings = od_equivalent - actual
    covered_od = od_equivalent - on_demand_cost
    if abs(covered_od) <= 1e-12 * max(od_equivalent, 1.0):
        covered_od = 0.0  # nothing covered: the difference is rounding of equal sums
    ratio = lambda a, b, empty: a / b if b > 0 else empty  # noqa: E731
    cash_m = engine.monthly(od_h - on_demand_h) - cash_commitment_m - upfront_m
    cumulative = np.cumsum(cash_m)
    reached = np.flatnonzero(cumulative >= -1e-9)
    break_even = int(reached[0]) + 1 if reached.size else None
    npv = float((cash_m / (1.0 + discount_rate) ** (np.arange(n_months) / 12.0)).sum())
    n_hours = len(matrix.hours)
    totals = SimulationTotals(
        period_hours=n_hours,
        instance_hours=usage_total,
        on_demand_cost_usd=od_equivalent,
        actual_cost_usd=actual,
        uncovered_cost_usd=on_demand_cost,
        amortized_upfront_usd=amortized,
        recurring_usd=recurring,
        unused_commitment_usd=unused_cost,
        savings_vs_on_demand_usd=savings,
        savings_vs_on_demand_pct=100.0 * ratio(savings, od_equivalent, 0.0),
        coverage_pct=100.0 * min(max(ratio(covered_od, od_equivalent, 0.0), 0.0), 1.0),
        utilization_pct=100.0 * min(max(ratio(used_cost, commitment_cost, 1.0), 0.0), 1.0),
        gross_savings_vs_on_demand_usd=savings + unused_cost,
        upfront_usd=float(upfront_m.sum()),
        run_rate_usd_per_month=ratio(on_demand_cost + recurring, n_hours, 0.0) * HOURS_PER_MONTH,
        break_even_month=break_even,
        npv_savings_vs_on_demand_usd=npv,
        discount_rate=discount_rate,
    )
    if usage_total <= 0:
        status = SimulationStatus.NO_USAGE
    elif warnings:
        status = SimulationStatus.WARNINGS
    else:
        status = SimulationStatus.OK
    return SimulationResult(
        status=status,
        hours=matrix.hours,
        keys=keys,
        usage=quantity,
        on_demand=engine.remaining.T,
        covered_rows=engine.covered,
        instruments=instruments,
        used=used,
        unused=unused,
        ledger=ledger,
        totals=totals,
        warnings=warnings,
    )


__all__ = [
    "BREAKDOWNS",
    "HOURS_PER_MONTH",
    "LEDGER_VALUES",
    "ON_DEMAND",
    "SimulationResult",
    "SimulationStatus",
    "SimulationTotals",
    "priced_keys",
    "simulate",
]
