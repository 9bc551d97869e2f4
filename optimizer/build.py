"""Build the reduced :class:`~optimizer.problem.CommitmentProblem` from usage, prices and a policy.

:func:`build_problem` applies the exact reductions of docs/optimizer.md, all vectorised (numpy,
pandas and scipy.sparse from index arrays; the only Python loops run over a handful of offerings,
scenarios or owned commitments):

1. the policy is validated and the usage filtered by its accounts, regions and families; accounts
   are summed (commitments are shared across the organization) and keys without usage dropped
   (``key_columns`` and ``dropped_keys`` are per (region, instance type, platform, tenancy));
2. Linux/UNIX shared-tenancy keys (size-flexible regional RIs) become one column per (region,
   family) in on-demand USD per hour, every other key a column of its own;
3. for every enabled instrument and scope only the cheapest allowed offering is kept (the
   "dominated instrument" reduction), columns no pool can cover are dropped (their cost becomes
   a constant), owned commitments become fixed-capacity pools;
4. identical periods (same scenario, demand, active offers, owned capacity and discount) merge
   into one weighted period.

Where each stage lives: the usage, filters, keys, columns and demand in
:mod:`optimizer.build_usage`; the owned pools in :mod:`optimizer.build_owned`; the new pools (best
offering per scope), tranches and the time value in :mod:`optimizer.build_offers`; here the
pools' numbering, the columns some pool covers, the merged periods, the policy rows and the
assembly of the problem.

Conventions
-----------
Money of the objective
    With ``policy.discount_rate`` r = 0, an offer costs its effective rate (upfront ÷ term hours +
    recurring) for every hour it is active inside the horizon, and on-demand usage its rate; no
    discounting. With r > 0 (annual, compounded monthly): money spent in hour h of the horizon
    is worth ``f_h = v ** (h // 730)`` at the first hour, ``v = 1 / (1 + r / 12)`` (one
    730-hour month after another; this is :attr:`CommitmentProblem.period_discount`). An offer's
    upfront payment U is paid at its start; the horizon bears it as the level hourly charge U / S
    whose present value over the whole term, at the start, equals U
    (``S = Σ_{k < term hours} v ** (k // 730)``, a capital-recovery annuity), so a lookback
    shorter than the term pays only the share of the upfront its hours use, at its time value;
    recurring fees are paid in the month they accrue. Hence ``objective_usd_per_unit =
    (U / S + R) · Σ_{h active} f_h`` [USD per unit]; at r = 0 that is the effective rate × active
    hours. Savings Plans are priced per USD/h of commitment: U = share × term hours, R = 1 − share
    (share 0, ½, 1 for No, Partial, All Upfront).
Dominated offerings
    ``U / S + R`` is the offering's level cost per unit-hour. An RI column keeps the offering with
    the lowest level cost per unit (every offering covers the same on-demand USD per unit); a
    Savings Plans scope keeps, among the offerings that cover the most of its demand, the one with
    the lowest level cost × demand-weighted coverage ratio (cost per on-demand USD covered).
    This is exact when the offerings' ratios are proportional across the scope's columns; when
    they are not, a warning names the scopes whose columns would have preferred another offering
    by more than :data:`optimizer.build_usage.PROPORTIONALITY_TOLERANCE`.
Family columns
    ``on_demand_usd_per_unit`` of a (region, family) column is its on-demand USD per normalized
    unit-hour, weighted by demand (Σ quantity × rate ÷ Σ quantity × factor): the common rate when
    rates are proportional to the normalization factor. Rates off by more than
    :data:`optimizer.build_usage.PROPORTIONALITY_TOLERANCE` (AWS rounds its prices; t2.small is
    0.9 % off) give a warning naming the family. A family column's RI is bought as the family's
    smallest size with a price for the offering in that region (``purchase_instance_type``); its
    price per normalized unit is that size's price ÷ its normalization factor. A Linux/UNIX
    shared key whose size has no known normalization factor is a column of its own (with a
    warning).
Savings Plans ratios
    Capacity used per on-demand USD covered: SP rate ÷ on-demand rate, for a column of several
    keys Σ quantity × SP rate ÷ Σ quantity × on-demand rate over its keys that have an SP rate
    (expected instance-hours over the scenarios). EC2 Instance SP pools are one per (region,
    family), the Compute SP pool one over every column with a rate.
Owned commitments
    Active, at full capacity, in every hour that overlaps ``[start, end)``; their cost (a
    constant, :attr:`CommitmentProblem.owned_cost_usd`) is their effective hourly cost × the
    fraction of each hour inside the term, discounted like on-demand money (their upfront was
    paid before); one whose scope has no usage in the horizon only adds its cost. Owned RIs
    cover their column (size-flexible: the family column in normalized units; others their
    exact key in instances; a zonal Linux/UNIX shared RI is approximated as size-flexible, with
    a warning); owned Savings Plans cover at the catalog's rates for their type, term and
    payment option. Owned commitments with the same kind and coverage (same RI
    column; same Savings Plan type, scope, term and payment option) merge into one pool. The
    owner account is ignored (commitments are shared).
Tranches
    Tranche 0 starts at the first hour; with ``policy.ladder_tranches`` n > 1, tranche m starts at
    the first hour of the m-th calendar month after it that begins inside the horizon (fewer
    tranches when the horizon has fewer months). An offer is active from its start for its term,
    clipped to the horizon.
Policy rows
    ``max_upfront_usd`` caps the upfront of every new offer, all tranches;
    ``max_hourly_commitment_usd`` caps the sum of the effective hourly cost of every new offer, all
    tranches (the run-rate once the whole ladder is bought); a custom commitment fixes the sum of
    the new hourly commitment of its Savings Plan type, all tranches, to its value.
Constants
    ``uncoverable_cost_usd`` and ``dropped_keys.on_demand_cost_usd`` are expected over the
    scenarios and discounted like the objective (plain costs at r = 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.errors import CommitoptInputError
from optimizer.build_offers import (
    INSTRUMENT_POOLS,
    PoolBlock,
    best_ri,
    best_sp,
    empty_block,
    hour_discount,
    new_ri_block,
    new_sp_block,
    ri_candidates,
    sp_ratios,
    tranche_offers,
    tranche_starts,
)
from optimizer.build_owned import OwnedPools, owned_block, owned_pools
from optimizer.build_usage import (
    KEY_FIELDS,
    PROPORTIONALITY_TOLERANCE,
    ScenarioInput,
    Usage,
    UsageKeys,
    column_demand,
    filtered_usage,
    group_rows,
    listed,
    usage_keys,
)
from optimizer.policy import Mode, Policy, PolicyError
from optimizer.problem import (
    EC2_SP_POOL,
    POOL_FIELDS,
    POOL_KINDS,
    RI_POOL,
    SP_NAMES,
    BoolArray,
    CommitmentProblem,
    FloatArray,
    IntArray,
)
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment, Inventory


def _periods(
    demand: Sequence[FloatArray],
    hour_signature: FloatArray,
    merge: bool,
) -> tuple[IntArray, IntArray, FloatArray]:
    """Merge identical (scenario, hour) rows: each period's scenario, hour and weight."""
    n_hours = hour_signature.shape[0]
    n_scenarios = len(demand)
    if not merge:
        scenario = np.repeat(np.arange(n_scenarios), n_hours).astype(np.intp)
        hour = np.tile(np.arange(n_hours), n_scenarios).astype(np.intp)
        return scenario, hour, np.ones(n_scenarios * n_hours)
    hour_class, _ = group_rows(hour_signature)
    rows = np.concatenate(
        [
            np.column_stack([np.full(n_hours, float(s)), hour_class.astype(np.float64), block])
            for s, block in enumerate(demand)
        ]
    )
    group, first = group_rows(rows)
    weight = np.bincount(group, minlength=len(first)).astype(np.float64)
    return (first // n_hours).astype(np.intp), (first % n_hours).astype(np.intp), weight


def _offer_rows(
    policy: Policy, offers: pd.DataFrame, pools: pd.DataFrame
) -> tuple[sp.csr_array, FloatArray, FloatArray, tuple[str, ...]]:
    """The policy's linear limits on what is bought."""
    rows: list[FloatArray] = []
    lower: list[float] = []
    upper: list[float] = []
    names: list[str] = []
    if policy.max_upfront_usd is not None:
        rows.append(offers["upfront_usd_per_unit"].to_numpy(dtype=np.float64))
        lower.append(-np.inf)
        upper.append(float(policy.max_upfront_usd))
        names.append("max_upfront_usd")
    if policy.max_hourly_commitment_usd is not None:
        rows.append(offers["effective_usd_per_unit_hour"].to_numpy(dtype=np.float64))
        lower.append(-np.inf)
        upper.append(float(policy.max_hourly_commitment_usd))
        names.append("max_hourly_commitment_usd")
    if Mode(policy.mode) is Mode.CUSTOM_COMMITMENT:
        kind = INSTRUMENT_POOLS[str(policy.custom_commitment_kind)]
        value = float(policy.custom_commitment_usd or 0.0)
        pool_kind = pools["kind"].to_numpy()[offers["pool"].to_numpy(dtype=np.intp)]
        of_kind = (pool_kind == kind).astype(np.float64)
        if value > 0 and not of_kind.any():
            raise PolicyError(
                f"policy custom_commitment_kind={policy.custom_commitment_kind!r}: no usage left "
                "after the filters has a rate for it in the catalog with the allowed terms and "
                "payment options; allow other terms or payment options, or use another mode"
            )
        rows.append(of_kind)
        lower.append(value)
        upper.append(value)
        names.append(f"custom_commitment_usd ({policy.custom_commitment_kind})")
    matrix = sp.csr_array(np.vstack(rows)) if rows else sp.csr_array((0, len(offers)), dtype=float)
    return (
        matrix,
        np.asarray(lower, dtype=np.float64),
        np.asarray(upper, dtype=np.float64),
        tuple(names),
    )


def build_problem(
    usage: Usage | None,
    catalog: PriceCatalog,
    policy: Policy,
    *,
    owned: Inventory | Sequence[Commitment] = (),
    scenarios: Sequence[ScenarioInput] | None = None,
    merge_identical_periods: bool = True,
) -> CommitmentProblem:
    """Build the reduced commitment problem (conventions in the module docstring).

    Parameters
    ----------
    usage
        Canonical usage table or :class:`~usage.table.UsageMatrix`; its hours are the horizon
        [instance-hours per hour]. Ignored when ``scenarios`` is given.
    catalog
        On-demand rates of every key, RI offerings, Savings Plans rates.
    policy
        What may be bought and the limits (validated here).
    owned
        Commitments already owned (fixed capacity while active).
    scenarios
        ``(name, probability, usage)`` triples replacing ``usage``; probabilities sum to 1. The
        horizon runs from the earliest first hour to the latest last hour of all scenarios; a
        scenario is zero outside its own hours.
    merge_identical_periods
        Merge hours of one scenario with identical demand, active offers, owned capacity and
        discount into one weighted period (exact).

    Returns
    -------
    CommitmentProblem
        ``n_scenarios × hours − n_periods`` periods were merged away.

    Raises
    ------
    optimizer.policy.PolicyError
        For a policy that names unknown values or contradicts itself (:meth:`Policy.validate`),
        or a custom commitment of a Savings Plan type no usage has rates for.
    core.errors.CommitoptInputError
        For an empty or all-zero lookback (after the filters), bad scenarios, bad owned items.
    pricing.errors.MissingPriceError
        Naming the usage keys without an on-demand price.
    """
    policy.validate()
    data = filtered_usage(usage, scenarios, policy)
    discount = hour_discount(len(data.hours), float(policy.discount_rate))
    keyed = usage_keys(data, catalog, discount)
    demand = column_demand(data, keyed, keyed.keys["on_demand_usd_per_hour"].to_numpy(np.float64))
    ratios = sp_ratios(catalog, keyed)
    owned_set = owned_pools(owned, catalog, keyed, ratios, data.hours, discount)
    warnings = [*keyed.warnings, *owned_set.warnings]
    blocks = _pool_blocks(catalog, policy, keyed.columns, ratios, owned_set, warnings)
    numbered = _number_pools(blocks, len(data.hours))
    kept = _coverable_columns(keyed, numbered, policy)
    offers, intervals, interval = tranche_offers(
        numbered.new_pools,
        numbered.prices,
        data.hours,
        tranche_starts(data.hours, policy.ladder_tranches),
        discount,
    )
    periods = _merged_periods(
        [block[:, kept.columns] for block in demand],
        discount,
        intervals,
        numbered,
        merge_identical_periods,
    )
    offer_rows, rows_lower, rows_upper, row_names = _offer_rows(policy, offers, numbered.pools)
    mode = Mode(policy.mode)
    return CommitmentProblem(
        hours=data.hours,
        columns=_typed_columns(keyed.columns.iloc[kept.columns]),
        pools=numbered.pools,
        offers=offers,
        demand_usd=periods.demand_usd,
        period_weight=periods.weight,
        period_scenario=periods.scenario,
        period_discount=discount[periods.hour],
        period_hour=periods.hour,
        scenario_probability=data.probability,
        scenario_names=data.names,
        coverage=kept.coverage,
        offer_active=_offer_active(periods, intervals, interval, len(offers)),
        owned_capacity=periods.owned_capacity,
        owned_cost_usd=owned_set.cost_usd,
        owned_idle_cost_usd=owned_set.idle_cost_usd,
        uncoverable_cost_usd=kept.uncoverable_cost_usd,
        dropped_keys=kept.dropped_keys,
        key_columns=_key_columns(keyed, kept),
        offer_rows=offer_rows,
        offer_rows_lower=rows_lower,
        offer_rows_upper=rows_upper,
        offer_row_names=row_names,
        coverage_lower=float(policy.target_coverage or 0.0)
        if mode is Mode.TARGET_COVERAGE
        else 0.0,
        coverage_upper=1.0 if policy.coverage_ceiling is None else float(policy.coverage_ceiling),
        min_utilization=float(policy.min_utilization or 0.0),
        cvar_alpha=float(policy.cvar_alpha),
        cvar_weight=float(policy.cvar_weight),
        warnings=tuple(warnings),
    )


def _pool_blocks(
    catalog: PriceCatalog,
    policy: Policy,
    columns: pd.DataFrame,
    ratios: pd.DataFrame,
    owned: OwnedPools,
    warnings: list[str],
) -> list[PoolBlock]:
    """The owned and the new pools of every kind, in AWS's order (appends the SP warnings).

    Per kind: the owned pools, then the new ones (the best allowed RI offering of every column,
    the best Savings Plans offering of every scope), empty when the policy does not enable the
    instrument.
    """
    rate = float(policy.discount_rate)
    blocks: list[PoolBlock] = []
    for kind in POOL_KINDS:
        blocks.append(owned_block(owned, kind))
        enabled = any(INSTRUMENT_POOLS[i] == kind for i in policy.instruments)
        if not enabled:
            blocks.append(empty_block())
        elif kind == RI_POOL:
            best = best_ri(
                ri_candidates(catalog, columns, policy, rate),
                by_payment=policy.max_upfront_usd is not None,
            )
            blocks.append(new_ri_block(best, columns) if len(best) else empty_block())
        else:
            chosen, entries, flagged = best_sp(ratios, kind, policy, rate)
            if chosen.empty:
                blocks.append(empty_block())
                continue
            blocks.append(new_sp_block(chosen, entries, kind, rate))
            warnings.extend(_sp_warnings(kind, entries, flagged))
    return blocks


def _sp_warnings(kind: str, entries: pd.DataFrame, flagged: list[str]) -> list[str]:
    """Warnings on a new Savings Plans kind: offerings not proportional, rates missing."""
    warnings: list[str] = []
    partial = entries.loc[entries["share"] < 1 - 1e-9]
    name = SP_NAMES[kind]
    if flagged:
        where = f"in {listed(flagged)} " if kind == EC2_SP_POOL else ""
        warnings.append(
            f"{name} Savings Plans: {where}the cheapest offering differs across columns "
            f"by more than {100 * PROPORTIONALITY_TOLERANCE:g} % (rates not proportional "
            "across offerings); the offering cheapest on the demand mix was kept"
        )
    if len(partial):
        warnings.append(
            f"{name} Savings Plans rates are missing for part of the usage of "
            f"{len(partial)} column(s); their coverage ratio uses the keys with rates"
        )
    return warnings


@dataclass(frozen=True, eq=False)
class _Numbered:
    """Every pool numbered in order, with the coverage entries, new prices and owned capacity."""

    pools: pd.DataFrame
    """The pool table (:data:`~optimizer.problem.POOL_FIELDS`, typed)."""
    entries: pd.DataFrame
    """(pool, column, value) over every pool."""
    new_pools: IntArray
    """Index of each new pool."""
    prices: pd.DataFrame
    """Prices of each new pool (as :attr:`PoolBlock.prices`)."""
    owned_pools: IntArray
    """Index of each owned pool."""
    owned_hourly: FloatArray
    """Hours × owned pools [units/h]."""


def _number_pools(blocks: Sequence[PoolBlock], n_hours: int) -> _Numbered:
    """Number the pools of every block in order and stack their entries, prices and capacity."""
    pool_frames, entry_frames, price_frames = [], [], []
    new_pool_index: list[IntArray] = []
    owned_index: list[IntArray] = []
    owned_capacity_blocks: list[FloatArray] = []
    offset = 0
    for block in blocks:
        count = len(block.pools)
        if count == 0:
            continue
        pool_frames.append(block.pools)
        entries = block.entries.copy()
        entries["pool"] = entries["pool"].to_numpy(dtype=np.intp) + offset
        entry_frames.append(entries)
        if block.prices is not None:
            price_frames.append(block.prices)
            new_pool_index.append(np.arange(offset, offset + count))
        if block.capacity is not None:
            owned_index.append(np.arange(offset, offset + count))
            owned_capacity_blocks.append(block.capacity)
        offset += count
    pools = (
        pd.concat(pool_frames, ignore_index=True)
        if pool_frames
        else pd.DataFrame(columns=list(POOL_FIELDS))
    )
    pools["order"] = np.arange(len(pools))
    return _Numbered(
        pools=_typed_pools(pools),
        entries=(
            pd.concat(entry_frames, ignore_index=True)
            if entry_frames
            else pd.DataFrame({"pool": [], "column": [], "value": []})
        ),
        new_pools=(
            np.concatenate(new_pool_index).astype(np.intp)
            if new_pool_index
            else np.zeros(0, np.intp)
        ),
        prices=(
            pd.concat(price_frames, ignore_index=True)
            if price_frames
            else pd.DataFrame(
                {
                    "upfront": [],
                    "recurring": [],
                    "effective": [],
                    "level": [],
                    "term_years": pd.Series(dtype=np.int64),
                }
            )
        ),
        owned_pools=(
            np.concatenate(owned_index).astype(np.intp) if owned_index else np.zeros(0, np.intp)
        ),
        owned_hourly=(
            np.hstack(owned_capacity_blocks) if owned_capacity_blocks else np.zeros((n_hours, 0))
        ),
    )


@dataclass(frozen=True, eq=False)
class _Kept:
    """The columns some pool covers, and the keys dropped with the others."""

    columns: IntArray
    """Index of each kept column among all columns."""
    column_map: IntArray
    """New index of every column (-1 where dropped)."""
    dropped_key: BoolArray
    """Per key: whether its column was dropped."""
    dropped_keys: pd.DataFrame
    """:attr:`CommitmentProblem.dropped_keys`."""
    uncoverable_cost_usd: float
    coverage: sp.csr_array
    """Pools × kept columns [units per on-demand USD]."""


def _coverable_columns(keyed: UsageKeys, numbered: _Numbered, policy: Policy) -> _Kept:
    """Drop the columns no pool covers (their on-demand cost becomes a constant); the coverage.

    Raises
    ------
    core.errors.CommitoptInputError
        When no column is left.
    """
    entries = numbered.entries
    od = keyed.keys["on_demand_usd_per_hour"].to_numpy(dtype=np.float64)
    coverable = np.zeros(len(keyed.columns), dtype=bool)
    coverable[entries["column"].to_numpy(dtype=np.intp)] = True
    column_map = np.where(coverable, np.cumsum(coverable) - 1, -1)
    kept_columns = np.flatnonzero(coverable)
    key_column = keyed.keys["column"].to_numpy(dtype=np.intp)
    dropped_key = ~coverable[key_column]
    dropped = keyed.keys.loc[dropped_key, [*KEY_FIELDS, "instance_family"]].reset_index(drop=True)
    dropped["on_demand_cost_usd"] = (
        keyed.keys.loc[dropped_key, "discounted_instance_hours"].to_numpy(dtype=np.float64)
        * od[dropped_key]
    )
    uncoverable = float(dropped["on_demand_cost_usd"].sum())
    if dropped_key.all():
        raise CommitoptInputError(
            "no usage can be covered by the enabled instruments "
            f"({', '.join(policy.instruments)}) with the allowed offerings and the catalog's "
            "rates; allow more instruments, terms or payment options, or add prices"
        )
    coverage = sp.csr_array(
        (
            entries["value"].to_numpy(dtype=np.float64),
            (
                entries["pool"].to_numpy(dtype=np.intp),
                column_map[entries["column"].to_numpy(dtype=np.intp)],
            ),
        ),
        shape=(len(numbered.pools), len(kept_columns)),
    )
    return _Kept(
        columns=kept_columns,
        column_map=column_map,
        dropped_key=dropped_key,
        dropped_keys=dropped,
        uncoverable_cost_usd=uncoverable,
        coverage=coverage,
    )


@dataclass(frozen=True, eq=False)
class _MergedPeriods:
    """The periods (merged identical hours of a scenario) and what varies over them."""

    scenario: IntArray
    hour: IntArray
    """First hour of each period."""
    weight: FloatArray
    """Hours merged into each period."""
    demand_usd: FloatArray
    """Periods × kept columns [USD/h]."""
    interval_active: BoolArray
    """Hours × offer intervals: whether the interval covers the hour."""
    owned_capacity: FloatArray
    """Periods × pools [units/h]."""


def _merged_periods(
    kept_demand: Sequence[FloatArray],
    discount: FloatArray,
    intervals: IntArray,
    numbered: _Numbered,
    merge: bool,
) -> _MergedPeriods:
    """The periods: hours of a scenario with the same demand, active offer intervals, owned
    capacity and discount merged into one (each hour its own period when ``merge`` is off)."""
    n_hours = len(discount)
    hour_number = np.arange(n_hours)
    interval_active = (hour_number[:, None] >= intervals[None, :, 0]) & (
        hour_number[:, None] < intervals[None, :, 1]
    )
    owned_hourly = numbered.owned_hourly
    signature = np.column_stack([discount, interval_active.astype(np.float64), owned_hourly])
    period_scenario, period_hour, period_weight = _periods(kept_demand, signature, merge)
    demand_usd = np.stack(kept_demand)[period_scenario, period_hour]
    owned_capacity = _owned_capacity(owned_hourly[period_hour], numbered.owned_pools,
                                     len(numbered.pools))  # fmt: skip
    return _MergedPeriods(
        scenario=period_scenario,
        hour=period_hour,
        weight=period_weight,
        demand_usd=np.ascontiguousarray(demand_usd, dtype=np.float64),
        interval_active=interval_active,
        owned_capacity=owned_capacity,
    )


def _owned_capacity(owned: FloatArray, owned_pools: IntArray, n_pools: int) -> FloatArray:
    """Periods × pools: the owned pools' capacity ``owned`` (periods × owned pools) in their
    columns; without owned capacity a read-only view of one row of zeros (a year of 1,000 pools
    would otherwise hold 68 MiB of zeros, twice: :func:`optimizer.allocation.structure`)."""
    n_periods = owned.shape[0]
    if not owned.any():
        return np.broadcast_to(np.zeros((1, n_pools)), (n_periods, n_pools))
    capacity = np.zeros((n_periods, n_pools))
    capacity[:, owned_pools] = owned
    return capacity


def _offer_active(
    periods: _MergedPeriods, intervals: IntArray, interval: IntArray, n_offers: int
) -> sp.csr_array:
    """Periods × offers: 1 where the offer is active in the period's hours (one byte per
    entry and 32-bit indices: a year of 1,000 offers is 8.8 M entries, 135 MiB as float64
    with 64-bit indices, 42 MiB so)."""
    active_by_interval = sp.csr_array(periods.interval_active[periods.hour].astype(np.int8))
    interval_to_offer = sp.csr_array(
        (np.ones(n_offers, dtype=np.int8), (interval, np.arange(n_offers))),
        shape=(len(intervals), n_offers),
    )
    active = sp.csr_array(active_by_interval @ interval_to_offer)
    if active.nnz < np.iinfo(np.int32).max:
        active.indices = active.indices.astype(np.int32)
        active.indptr = active.indptr.astype(np.int32)
    return active


def _key_columns(keyed: UsageKeys, kept: _Kept) -> pd.DataFrame:
    """:attr:`CommitmentProblem.key_columns`: every kept key and its (renumbered) column."""
    kept_keys = keyed.keys.loc[~kept.dropped_key].reset_index(drop=True)
    return pd.DataFrame(
        {
            **{name: kept_keys[name].astype(str) for name in (*KEY_FIELDS, "instance_family")},
            "column": kept.column_map[kept_keys["column"].to_numpy(dtype=np.intp)],
            "size_flexible": kept_keys["size_flexible"].to_numpy(dtype=bool),
            "normalization_factor": kept_keys["normalization_factor"].to_numpy(np.float64),
            "units_per_instance": kept_keys["units_per_instance"].to_numpy(np.float64),
            "on_demand_usd_per_hour": kept_keys["on_demand_usd_per_hour"].to_numpy(np.float64),
        }
    )


def _typed_pools(pools: pd.DataFrame) -> pd.DataFrame:
    """Pool table with stable dtypes."""
    text = [
        "kind",
        "region",
        "instance_family",
        "instance_type",
        "platform",
        "tenancy",
        "unit",
        "offering_class",
        "payment_option",
        "commitment_ids",
        "purchase_instance_type",
    ]
    typed = pools[list(POOL_FIELDS)].astype(
        {
            **{name: str for name in text},
            "owned": bool,
            "order": np.int64,
            "size_flexible": bool,
            "term_years": np.int64,
            "units_per_instance": np.float64,
        }
    )
    return typed.reset_index(drop=True)


def _typed_columns(columns: pd.DataFrame) -> pd.DataFrame:
    """Column table with :data:`~optimizer.problem.COLUMN_FIELDS` only."""
    typed = columns[["region", "instance_family", "instance_type", "platform", "tenancy"]].astype(
        str
    )
    typed["size_flexible"] = columns["size_flexible"].to_numpy(dtype=bool)
    typed["on_demand_usd_per_unit"] = columns["on_demand_usd_per_unit"].to_numpy(np.float64)
    return typed.reset_index(drop=True)


__all__ = ["build_problem"]
