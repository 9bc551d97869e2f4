"""The billing simulator: apply commitments to hourly usage exactly as AWS bills them.

Rules (DESIGN.md, "AWS billing facts"), every hour, use-it-or-lose-it:

1. Reserved Instances. A regional Linux/UNIX shared-tenancy RI is size-flexible: it covers its
   region and family in normalized units, smallest size first. Every other RI covers its exact
   key (region, type, platform, tenancy). An RI costs its effective rate every hour of its term.
2. EC2 Instance Savings Plans (region + family), then 3. Compute Savings Plans: usage with the
   highest discount percentage (1 − SP rate ÷ on-demand rate) first, ties to the lowest SP rate,
   each key at its SP rate, until the hour's commitment runs out (the last key partly covered).
4. What is left is billed on-demand.

Each instrument serves its owner's account first and then, when sharing is on, the other
accounts. The order of keys an instrument fills never changes over time, so an instrument's
coverage is one cumulative sum over its keys sorted once, for all hours at once (no loop over
hours; the loop is over the handful of instruments). Instruments of one kind are applied one
after another in the same key order, which equals applying their pooled commitment.

A term that starts or ends inside a clock hour gives full capacity in that hour but is charged
only the overlapped fraction of it (:mod:`scenarios.portfolio`, as AWS billed the real October
2018 CUR); the usage it covers there is costed at the same fraction, so an instrument's used
cost never exceeds its charge. (AWS's own DiscountedUsage line for such an hour carries the full
hour's effective cost and its RIFee states unused = fee − effective cost; the two splits differ by
the uncharged part of that one hour, e.g. 0.008 USD on the October 2018 bill.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from pricing.catalog import PriceCatalog
from pricing.errors import MissingPriceError
from pricing.instance_types import instance_families, normalization_factors
from pricing.inventory import (
    COMPUTE_SAVINGS_PLAN,
    EC2_INSTANCE_SAVINGS_PLAN,
    RESERVED_INSTANCE,
    Inventory,
    OwnedCommitment,
)
from scenarios.portfolio import Instrument, SimulationPortfolio, build_portfolio
from usage.table import KEY_COLUMNS, UsageMatrix, to_matrix

HOURS_PER_MONTH: Final = 730.0
"""Hours of an average month, for the monthly run-rate [h]."""
ON_DEMAND: Final = "on-demand"
"""Instrument name of usage billed on-demand in the ledger and breakdowns."""
BREAKDOWNS: Final = ("month", "account_id", "region", "instance_family", "instrument")
LEDGER_VALUES: Final = ("usage_hours", "on_demand_equivalent_usd", "cost_usd", "unused_usd")

Grouping = Literal["month", "account_id", "region", "instance_family", "instrument"]
FloatArray = npt.NDArray[np.float64]


class SimulationStatus(StrEnum):
    """How a simulation went."""

    OK = "ok"
    """Every commitment applied as AWS does."""
    WARNINGS = "warnings"
    """Applied with approximations listed in :attr:`SimulationResult.warnings`."""
    NO_USAGE = "no_usage"
    """The usage is empty: everything paid is commitment."""


@dataclass(frozen=True)
class SimulationTotals:
    """Money and metrics of a whole simulation.

    Attributes
    ----------
    hours
        Simulated hours [h].
    usage_hours
        All usage [instance-hours].
    on_demand_equivalent_usd
        What the usage costs all on-demand [USD].
    actual_cost_usd
        Commitments (amortized upfront + recurring, used or not) + on-demand [USD].
    on_demand_cost_usd, amortized_upfront_usd, recurring_usd
        The three parts of the actual cost [USD].
    unused_commitment_usd
        Commitment cost that covered nothing (waste) [USD].
    savings_usd, savings_pct
        On-demand equivalent − actual [USD], and that ÷ on-demand equivalent [0–1].
    coverage
        Covered on-demand-equivalent cost ÷ on-demand-equivalent cost [0–1].
    utilization
        Used commitment cost ÷ commitment cost over all instruments [0–1] (1 when none).
    effective_savings_rate
        (On-demand equivalent − actual) ÷ on-demand equivalent [0–1, negative when worse].
    gross_savings_usd, net_savings_usd
        Savings on covered usage before waste, and after waste (= ``savings_usd``) [USD].
    upfront_cash_usd
        Upfront payments of commitments starting inside the period [USD].
    monthly_run_rate_usd
        Recurring + on-demand cost per 730 h [USD/month].
    break_even_month
        First month (1-based) whose cumulative cash savings, upfront paid at purchase, are ≥ 0;
        ``None`` if never within the period.
    npv_usd
        Net present value of the monthly cash savings at ``discount_rate`` [USD].
    discount_rate
        Annual discount rate used for the NPV [1/year].
    """

    hours: int
    usage_hours: float
    on_demand_equivalent_usd: float
    actual_cost_usd: float
    on_demand_cost_usd: float
    amortized_upfront_usd: float
    recurring_usd: float
    unused_commitment_usd: float
    savings_usd: float
    savings_pct: float
    coverage: float
    utilization: float
    effective_savings_rate: float
    gross_savings_usd: float
    net_savings_usd: float
    upfront_cash_usd: float
    monthly_run_rate_usd: float
    break_even_month: int | None
    npv_usd: float
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
        ``normalization_factor``, ``on_demand_hourly_usd``.
    usage
        Usage, hours × keys [instance-hours].
    ri_covered, ec2_sp_covered, compute_sp_covered, on_demand
        Usage covered by each kind of instrument and left on-demand, hours × keys
        [instance-hours]; they add up to ``usage``.
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
    ri_covered: FloatArray
    ec2_sp_covered: FloatArray
    compute_sp_covered: FloatArray
    on_demand: FloatArray
    instruments: pd.DataFrame
    used: FloatArray
    unused: FloatArray
    ledger: pd.DataFrame
    totals: SimulationTotals
    warnings: tuple[str, ...]

    @property
    def covered(self) -> FloatArray:
        """Usage covered by any commitment, hours × keys [instance-hours]."""
        return self.ri_covered + self.ec2_sp_covered + self.compute_sp_covered

    def breakdown(self, by: Grouping) -> pd.DataFrame:
        """Money by ``month``, ``account_id``, ``region``, ``instance_family`` or ``instrument``.

        Columns: ``by``, :data:`LEDGER_VALUES`, ``savings_usd``; ``cost_usd`` sums to the actual
        cost whatever ``by`` is.
        """
        if by not in BREAKDOWNS:
            raise ValueError(f"cannot break down by {by!r}; use one of {', '.join(BREAKDOWNS)}")
        table = (
            self.ledger.groupby(by, sort=True, observed=True)[list(LEDGER_VALUES)]
            .sum()
            .reset_index()
        )
        table["savings_usd"] = table["on_demand_equivalent_usd"] - table["cost_usd"]
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
                "on_demand": self.on_demand[hour_index, key_index],
            }
        )


def fill_in_order(demand: FloatArray, capacity: FloatArray) -> FloatArray:
    """Greedy fill of ``demand`` columns, left to right, by each hour's ``capacity``.

    Parameters
    ----------
    demand
        hours × keys, in the order the keys are served [capacity units].
    capacity
        Capacity of each hour [capacity units].

    Returns
    -------
    numpy.ndarray
        Covered demand, same shape: ``clip(capacity − demand before the key, 0, demand)``.
    """
    before = np.cumsum(demand, axis=1) - demand
    return np.minimum(np.maximum(capacity[:, None] - before, 0.0), demand)


@dataclass
class _Applied:
    """Bookkeeping of one instrument while applying it."""

    instrument: Instrument
    remaining: FloatArray
    covered_hours: FloatArray  # months × keys [instance-hours]
    used_cost: FloatArray  # months × keys [USD]
    partial_hours: npt.NDArray[np.intp]  # hours charged a fraction (first and last of a term)


class _Engine:
    """The state of one simulation: remaining usage and per-instrument results."""

    def __init__(
        self,
        matrix: UsageMatrix,
        keys: pd.DataFrame,
        od_rates: FloatArray,
        month_starts: npt.NDArray[np.intp],
    ) -> None:
        self.matrix = matrix
        self.keys = keys
        self.od_rates = od_rates
        self.month_starts = month_starts
        self.remaining = matrix.quantity.copy()
        self.accounts = keys["account_id"].fillna("").to_numpy(dtype=object)

    def monthly(self, values: FloatArray) -> FloatArray:
        """Sum hours × anything into months × anything."""
        if values.shape[0] == 0:
            return np.zeros((0, *values.shape[1:]))
        return np.add.reduceat(values, self.month_starts, axis=0)

    def apply(
        self,
        applied: _Applied,
        eligible: npt.NDArray[np.bool_],
        order: npt.NDArray[np.intp],
        weight: FloatArray,
        cover_into: FloatArray,
        unit_cost: FloatArray,
    ) -> None:
        """Cover the remaining usage of ``eligible`` keys in ``order`` with ``applied``.

        ``weight`` is the capacity one instance-hour of each key takes (normalized units, 1, or
        the SP rate); ``unit_cost`` the cost of one covered instance-hour of each key [USD].
        """
        columns = order[eligible[order]]
        if columns.size == 0 or not applied.remaining.any():
            return
        demand = self.remaining[:, columns] * weight[columns]
        covered_units = fill_in_order(demand, applied.remaining)
        covered = covered_units / weight[columns]
        covered = np.minimum(covered, self.remaining[:, columns])
        self.remaining[:, columns] -= covered
        cover_into[:, columns] += covered
        applied.remaining = np.maximum(applied.remaining - covered_units.sum(axis=1), 0.0)
        monthly = self.monthly(covered)
        applied.covered_hours[:, columns] += monthly
        applied.used_cost[:, columns] += monthly * unit_cost[columns]
        for hour in applied.partial_hours:  # at most two: cost the uncharged part back out
            month = int(np.searchsorted(self.month_starts, hour, side="right")) - 1
            uncharged = 1.0 - applied.instrument.charged[hour]
            applied.used_cost[month, columns] -= covered[hour] * unit_cost[columns] * uncharged

    def passes(self, instrument: Instrument, share: bool) -> list[npt.NDArray[np.bool_]]:
        """Key masks of the two passes: the owner's account, then the others."""
        everyone = np.ones(len(self.keys), dtype=np.bool_)
        if instrument.account_id is None:
            return [everyone]
        own = self.accounts == instrument.account_id
        return [own, ~own] if share else [own]


def _ri_scope(keys: pd.DataFrame, instrument: Instrument) -> npt.NDArray[np.bool_]:
    """Keys an RI may cover."""
    mask = (
        (keys["region"] == instrument.region)
        & (keys["platform"] == instrument.platform)
        & (keys["tenancy"] == instrument.tenancy)
    )
    if instrument.size_flexible:
        mask &= keys["instance_family"] == instrument.instance_family
    else:
        mask &= keys["instance_type"] == instrument.instance_type
    return mask.fillna(False).to_numpy(dtype=np.bool_)


def _sp_rates(
    catalog: PriceCatalog, keys: pd.DataFrame, instrument: Instrument
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """SP rate of each key for one plan (NaN where the plan does not apply), and the keys in
    the plan's scope that the catalog has no rate for."""
    rates = catalog.savings_plan_rates(
        keys, str(instrument.plan_type), instrument.term_years, instrument.payment_option
    ).astype(np.float64)
    scope = np.ones(len(keys), dtype=np.bool_)
    if instrument.kind == EC2_INSTANCE_SAVINGS_PLAN:
        scope = (
            (
                (keys["region"] == instrument.region)
                & (keys["instance_family"] == instrument.instance_family)
            )
            .fillna(False)
            .to_numpy(dtype=np.bool_)
        )
    priced = rates > 0
    return np.where(scope & priced, rates, np.nan), scope & ~priced


def _unpriced_warning(
    instrument: Instrument, keys: pd.DataFrame, missing: npt.NDArray[np.bool_]
) -> str:
    """One line: a Savings Plan that cannot cover some keys of its scope for lack of a rate."""
    absent = keys.loc[missing, list(KEY_COLUMNS[1:])].drop_duplicates()
    names = [" ".join(map(str, row)) for row in absent.itertuples(index=False)]
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return (
        f"Savings Plan {instrument.id}: no {instrument.plan_type} Savings Plans rate "
        f"({instrument.term_years} y {instrument.payment_option}) for {', '.join(names[:3])}"
        f"{more}; that usage stays on-demand; {MissingPriceError.REMEDY}"
    )


def _month_starts(hours: pd.DatetimeIndex) -> tuple[npt.NDArray[np.intp], pd.Index]:
    """Row where each calendar month starts, and the months' labels (``YYYY-MM``)."""
    months = hours.tz_convert(None).to_numpy().astype("datetime64[M]")
    if len(months) == 0:
        return np.zeros(0, dtype=np.intp), pd.Index([], dtype="string")
    change = np.flatnonzero(np.r_[True, months[1:] != months[:-1]]).astype(np.intp)
    labels = pd.Index(np.datetime_as_string(months[change], unit="M"), dtype="string")
    return change, labels


def _as_matrix(usage: pd.DataFrame | UsageMatrix) -> UsageMatrix:
    return usage if isinstance(usage, UsageMatrix) else to_matrix(usage)


def simulate(
    usage: pd.DataFrame | UsageMatrix,
    portfolio: Inventory | Sequence[OwnedCommitment] | SimulationPortfolio,
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
        :class:`~scenarios.portfolio.SimulationPortfolio` (its masks must match the hours).
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
    scenarios.portfolio.PortfolioError
        For a commitment that cannot be applied.
    """
    matrix = _as_matrix(usage)
    hours = matrix.hours
    built = (
        portfolio
        if isinstance(portfolio, SimulationPortfolio)
        else build_portfolio(portfolio, hours, catalog, owner_accounts=owner_accounts)
    )
    keys = matrix.keys.copy()
    keys["instance_family"] = instance_families(keys["instance_type"])
    factors = normalization_factors(keys["instance_type"]) if len(keys) else np.zeros(0)
    keys["normalization_factor"] = factors
    od_rates = catalog.require_on_demand(keys).astype(np.float64) if len(keys) else np.zeros(0)
    keys["on_demand_hourly_usd"] = od_rates
    month_starts, month_labels = _month_starts(hours)
    warnings = list(built.warnings)
    engine = _Engine(matrix, keys, od_rates, month_starts)
    shape = matrix.quantity.shape
    n_months = len(month_starts)
    covered_by_kind = {
        kind: np.zeros(shape)
        for kind in (RESERVED_INSTANCE, EC2_INSTANCE_SAVINGS_PLAN, COMPUTE_SAVINGS_PLAN)
    }
    applied = [
        _Applied(
            instrument=inst,
            remaining=inst.capacity * inst.active.astype(np.float64),
            covered_hours=np.zeros((n_months, len(keys))),
            used_cost=np.zeros((n_months, len(keys))),
            partial_hours=np.flatnonzero(inst.active & (inst.charged < 1.0)).astype(np.intp),
        )
        for inst in built.instruments
    ]
    by_kind: dict[str, list[_Applied]] = {}
    for item in applied:
        by_kind.setdefault(item.instrument.kind, []).append(item)
    # 1. RIs: size-flexible by normalized units from the smallest size, others by instance.
    ones = np.ones(len(keys))
    size_order = np.lexsort((np.arange(len(keys)), factors)).astype(np.intp)
    for pass_index in range(2):
        for item in by_kind.get(RESERVED_INSTANCE, []):
            inst = item.instrument
            masks = engine.passes(inst, share_across_accounts)
            if pass_index >= len(masks):
                continue
            eligible = _ri_scope(keys, inst) & masks[pass_index]
            weight = factors if inst.size_flexible else ones
            unit_cost = weight * (inst.effective_hourly_usd / inst.capacity)
            engine.apply(
                item, eligible, size_order, weight, covered_by_kind[RESERVED_INSTANCE], unit_cost
            )
    # 2-3. Savings Plans: highest discount first, ties to the lowest SP rate.
    for kind in (EC2_INSTANCE_SAVINGS_PLAN, COMPUTE_SAVINGS_PLAN):
        prepared = []
        for item in by_kind.get(kind, []):
            rates, unpriced = _sp_rates(catalog, keys, item.instrument)
            if unpriced.any():
                warnings.append(_unpriced_warning(item.instrument, keys, unpriced))
            valid = ~np.isnan(rates)
            discount = np.where(valid, 1.0 - rates / np.where(od_rates > 0, od_rates, 1.0), -1)
            order = np.lexsort((np.where(valid, rates, np.inf), -discount)).astype(np.intp)
            prepared.append((item, rates, valid, order))
        for pass_index in range(2):
            for item, rates, valid, order in prepared:
                masks = engine.passes(item.instrument, share_across_accounts)
                if pass_index >= len(masks):
                    continue
                weight = np.where(valid, rates, 1.0)
                engine.apply(
                    item, valid & masks[pass_index], order, weight, covered_by_kind[kind], weight
                )
    return _result(
        matrix, keys, applied, covered_by_kind, engine, month_labels, discount_rate,
        tuple(warnings),
    )  # fmt: skip


def _instrument_rows(
    applied: list[_Applied], keys: pd.DataFrame, engine: _Engine
) -> tuple[pd.DataFrame, FloatArray, FloatArray]:
    """Per-instrument table, and used/unused capacity per hour × instrument."""
    n_hours = engine.matrix.quantity.shape[0]
    used = np.zeros((n_hours, len(applied)))
    unused = np.zeros((n_hours, len(applied)))
    rows = []
    od = engine.od_rates
    for column, item in enumerate(applied):
        inst = item.instrument
        capacity = inst.capacity * inst.active.astype(np.float64)
        unused[:, column] = item.remaining
        used[:, column] = capacity - item.remaining
        active_hours = int(inst.active.sum())
        charged_hours = inst.charged_hours
        cost = inst.effective_hourly_usd * charged_hours
        used_cost = float(item.used_cost.sum())
        total_capacity = float(capacity.sum())
        rows.append(
            {
                "id": inst.id,
                "kind": inst.kind,
                "region": inst.region,
                "instance_family": inst.instance_family,
                "instance_type": inst.instance_type,
                "account_id": inst.account_id,
                "active_hours": active_hours,
                "charged_hours": charged_hours,
                "capacity_per_hour": inst.capacity,
                "used": float(used[:, column].sum()),
                "utilization": (
                    float(used[:, column].sum()) / total_capacity if total_capacity > 0 else 1.0
                ),
                "amortized_upfront_usd": inst.amortized_hourly_usd * charged_hours,
                "recurring_usd": inst.recurring_hourly_usd * charged_hours,
                "cost_usd": cost,
                "used_cost_usd": used_cost,
                "unused_usd": cost - used_cost,
                "covered_usage_hours": float(item.covered_hours.sum()),
                "covered_on_demand_equivalent_usd": float((item.covered_hours @ od).sum())
                if len(od)
                else 0.0,
            }
        )
    columns = [
        "id", "kind", "region", "instance_family", "instance_type", "account_id",
        "active_hours", "charged_hours", "capacity_per_hour", "used", "utilization",
        "amortized_upfront_usd", "recurring_usd", "cost_usd", "used_cost_usd", "unused_usd",
        "covered_usage_hours", "covered_on_demand_equivalent_usd",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns), used, unused


def _ledger_piece(
    keys: pd.DataFrame,
    months: pd.Index,
    hours_mk: FloatArray,
    od_mk: FloatArray,
    cost_mk: FloatArray,
    instrument: str,
    kind: str,
) -> pd.DataFrame:
    """Ledger rows of the non-zero month × key cells of one instrument (or on-demand)."""
    month_index, key_index = np.nonzero((hours_mk != 0) | (cost_mk != 0))
    picked = keys.iloc[key_index].reset_index(drop=True)
    return pd.DataFrame(
        {
            "month": months[month_index],
            **{column: picked[column] for column in KEY_COLUMNS},
            "instance_family": picked["instance_family"],
            "instrument": instrument,
            "kind": kind,
            "usage_hours": hours_mk[month_index, key_index],
            "on_demand_equivalent_usd": od_mk[month_index, key_index],
            "cost_usd": cost_mk[month_index, key_index],
            "unused_usd": 0.0,
        }
    )


def _result(
    matrix: UsageMatrix,
    keys: pd.DataFrame,
    applied: list[_Applied],
    covered_by_kind: dict[str, FloatArray],
    engine: _Engine,
    months: pd.Index,
    discount_rate: float,
    warnings: tuple[str, ...],
) -> SimulationResult:
    """Assemble the result: ledger, instrument table, totals."""
    od = engine.od_rates
    on_demand = engine.remaining
    instruments, used, unused = _instrument_rows(applied, keys, engine)
    on_demand_m = engine.monthly(on_demand)
    pieces = [
        _ledger_piece(keys, months, on_demand_m, on_demand_m * od, on_demand_m * od,
                      ON_DEMAND, "on_demand")
    ]  # fmt: skip
    n_months = len(months)
    cash_commitment_m = np.zeros(n_months)
    upfront_m = np.zeros(n_months)
    first = matrix.hours[0] if len(matrix.hours) else None
    stop = matrix.hours[-1] + pd.Timedelta(hours=1) if len(matrix.hours) else None
    for item in applied:
        inst = item.instrument
        pieces.append(
            _ledger_piece(
                keys, months, item.covered_hours, item.covered_hours * od, item.used_cost,
                inst.id, inst.kind,
            )
        )  # fmt: skip
        active_m = engine.monthly(inst.active.astype(np.float64))
        hours_m = engine.monthly(inst.charged)
        charged_m = hours_m * inst.effective_hourly_usd
        unused_m = charged_m - item.used_cost.sum(axis=1)
        cash_commitment_m += hours_m * inst.recurring_hourly_usd
        if first is not None and stop is not None and first <= inst.start < stop:
            position = int(np.searchsorted(matrix.hours.asi8, inst.start.value, side="right")) - 1
            upfront_m[int(np.searchsorted(engine.month_starts, position, side="right")) - 1] += (
                inst.upfront_usd
            )
        pieces.append(
            pd.DataFrame(
                {
                    "month": months,
                    "account_id": inst.account_id or "",
                    "region": inst.region or "",
                    "instance_type": inst.instance_type or "",
                    "platform": inst.platform or "",
                    "tenancy": inst.tenancy or "",
                    "instance_family": inst.instance_family or "",
                    "instrument": inst.id,
                    "kind": inst.kind,
                    "usage_hours": 0.0,
                    "on_demand_equivalent_usd": 0.0,
                    "cost_usd": unused_m,
                    "unused_usd": unused_m,
                }
            ).loc[active_m > 0]
        )
    ledger = pd.concat(pieces, ignore_index=True)
    ledger = ledger.astype(
        {
            "month": "string",
            **{column: "string" for column in KEY_COLUMNS},
            "instance_family": "string",
            "instrument": "string",
            "kind": "string",
        }
    )
    usage_total = float(matrix.quantity.sum())
    od_equivalent = float((matrix.quantity.sum(axis=0) * od).sum()) if len(od) else 0.0
    on_demand_cost = float((on_demand.sum(axis=0) * od).sum()) if len(od) else 0.0
    amortized = float(instruments["amortized_upfront_usd"].sum())
    recurring = float(instruments["recurring_usd"].sum())
    commitment_cost = amortized + recurring
    unused_cost = float(instruments["unused_usd"].sum())
    used_cost = float(instruments["used_cost_usd"].sum())
    actual = on_demand_cost + commitment_cost
    savings = od_equivalent - actual
    covered_od = od_equivalent - on_demand_cost
    ratio = lambda a, b, empty: a / b if b > 0 else empty  # noqa: E731
    od_m = engine.monthly(matrix.quantity) @ od if len(od) else np.zeros(n_months)
    od_cost_m = on_demand_m @ od if len(od) else np.zeros(n_months)
    cash_m = od_m - od_cost_m - cash_commitment_m - upfront_m
    cumulative = np.cumsum(cash_m)
    reached = np.flatnonzero(cumulative >= -1e-9)
    break_even = int(reached[0]) + 1 if reached.size else None
    npv = float((cash_m / (1.0 + discount_rate) ** (np.arange(n_months) / 12.0)).sum())
    n_hours = len(matrix.hours)
    totals = SimulationTotals(
        hours=n_hours,
        usage_hours=usage_total,
        on_demand_equivalent_usd=od_equivalent,
        actual_cost_usd=actual,
        on_demand_cost_usd=on_demand_cost,
        amortized_upfront_usd=amortized,
        recurring_usd=recurring,
        unused_commitment_usd=unused_cost,
        savings_usd=savings,
        savings_pct=ratio(savings, od_equivalent, 0.0),
        coverage=min(max(ratio(covered_od, od_equivalent, 0.0), 0.0), 1.0),
        utilization=min(max(ratio(used_cost, commitment_cost, 1.0), 0.0), 1.0),
        effective_savings_rate=ratio(savings, od_equivalent, 0.0),
        gross_savings_usd=savings + unused_cost,
        net_savings_usd=savings,
        upfront_cash_usd=float(upfront_m.sum()),
        monthly_run_rate_usd=ratio(on_demand_cost + recurring, n_hours, 0.0) * HOURS_PER_MONTH,
        break_even_month=break_even,
        npv_usd=npv,
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
        usage=matrix.quantity,
        ri_covered=covered_by_kind[RESERVED_INSTANCE],
        ec2_sp_covered=covered_by_kind[EC2_INSTANCE_SAVINGS_PLAN],
        compute_sp_covered=covered_by_kind[COMPUTE_SAVINGS_PLAN],
        on_demand=on_demand,
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
    "fill_in_order",
    "simulate",
]
