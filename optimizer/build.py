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
    by more than :data:`PROPORTIONALITY_TOLERANCE`.
Family columns
    ``on_demand_usd_per_unit`` of a (region, family) column is its on-demand USD per normalized
    unit-hour, weighted by demand (Σ quantity × rate ÷ Σ quantity × factor): the common rate when
    rates are proportional to the normalization factor. Rates off by more than
    :data:`PROPORTIONALITY_TOLERANCE` (AWS rounds its prices; t2.small is 0.9 % off) give a
    warning naming the family. A family column's RI is bought as the family's smallest size with a
    price for the offering in that region (``purchase_instance_type``); its price per normalized
    unit is that size's price ÷ its normalization factor. A Linux/UNIX shared key whose size has
    no known normalization factor is a column of its own (with a warning).
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
from datetime import UTC, datetime
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from core.errors import CommitoptInputError, param
from core.times import month_start_rows
from core.units import HOURS_PER_MONTH
from optimizer.policy import Mode, Policy, PolicyError
from optimizer.problem import (
    COMPUTE_SP_POOL,
    EC2_SP_POOL,
    POOL_FIELDS,
    POOL_KINDS,
    RI_POOL,
    BoolArray,
    CommitmentProblem,
    FloatArray,
    IntArray,
)
from pricing.catalog import PriceCatalog
from pricing.errors import UnknownInstanceTypeError
from pricing.instance_types import instance_families, normalization_factor
from pricing.inventory import Commitment, Inventory, InventoryError
from pricing.offerings import PAYMENT_OPTIONS, SP_UPFRONT_SHARE, TERM_HOURS, CommitmentKind
from usage.table import UsageMatrix, to_matrix

PROPORTIONALITY_TOLERANCE: Final = 0.01
"""Relative gap above which rates are reported as not proportional [1]."""

SCENARIO_PROBABILITY_TOLERANCE: Final = 1e-6
"""Allowed gap between the scenarios' probabilities' sum and 1."""

DEFAULT_SCENARIO: Final = "lookback"
"""Name of the single scenario built from ``usage``."""

INSTRUMENT_POOLS: Final[dict[str, str]] = {
    CommitmentKind.RESERVED_INSTANCE.policy_name: RI_POOL,
    CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN.policy_name: EC2_SP_POOL,
    CommitmentKind.COMPUTE_SAVINGS_PLAN.policy_name: COMPUTE_SP_POOL,
}
"""Pool kind of each policy instrument."""

PLAN_TYPES: Final[dict[str, str]] = {
    k: k.savings_plan_type for k in CommitmentKind if k.is_savings_plan
}
"""Catalog ``plan_type`` of each Savings Plans pool kind."""

KEY_FIELDS: Final = ("region", "instance_type", "platform", "tenancy")
"""A usage key once accounts are summed (the catalog's key)."""

COLUMN_KEY: Final = ("region", "instance_family", "instance_type", "platform", "tenancy")
_LINUX: Final = "Linux/UNIX"
_SHARED: Final = "Shared"
_NS_PER_HOUR: Final = 3_600_000_000_000
_SHOWN: Final = 5

Usage = pd.DataFrame | UsageMatrix
ScenarioInput = tuple[str, float, Usage]


# ---------------------------------------------------------------------------------------------
# small helpers


def _listed(items: Sequence[str]) -> str:
    """``"a, b, c and 4 more"``."""
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _factors_or_nan(types: pd.Series) -> FloatArray:
    """Normalization factor of each instance type, NaN where none is known."""
    codes, uniques = pd.factorize(types.astype(str))
    table = np.full(len(uniques) + 1, np.nan)
    for position, name in enumerate(uniques):
        try:
            table[position] = normalization_factor(str(name))
        except UnknownInstanceTypeError:
            table[position] = np.nan
    return table[codes]


def _row_codes(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[IntArray, pd.DataFrame]:
    """Index of each row's distinct value of ``columns`` (sorted), and those distinct values."""
    grouped = frame.groupby(list(columns), sort=True, dropna=False)
    codes = np.asarray(grouped.ngroup().to_numpy(), dtype=np.intp)
    uniques = grouped.size().index.to_frame(index=False).reset_index(drop=True)
    return codes, uniques


def _void_rows(matrix: FloatArray) -> npt.NDArray[np.void]:
    """Each row of a float matrix as one opaque value (for :func:`numpy.unique`)."""
    rows = np.ascontiguousarray(matrix, dtype=np.float64) + 0.0  # -0.0 -> 0.0
    return rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()


def _group_rows(matrix: FloatArray) -> tuple[IntArray, IntArray]:
    """Group identical rows: each row's group, numbered by first appearance, and each group's
    first row."""
    if matrix.shape[0] == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    _, first, inverse = np.unique(_void_rows(matrix), return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inverse.ravel()].astype(np.intp), first[order].astype(np.intp)


def annuity_hours(term_years: npt.ArrayLike, discount_rate: float) -> FloatArray:
    """Σ over a term's hours of the monthly discount factor, relative to its start [h].

    Parameters
    ----------
    term_years
        Terms (1 or 3) [years].
    discount_rate
        Annual rate, compounded monthly [1/year].

    Returns
    -------
    numpy.ndarray
        ``S`` such that the level hourly charge ``U / S`` over the term is worth ``U`` at the
        start; the term's hours when the rate is 0 [h].
    """
    terms = np.asarray(term_years)
    hours = np.where(terms == 3, TERM_HOURS[3], TERM_HOURS[1]).astype(np.float64)
    if discount_rate <= 0:
        return hours
    v = 1.0 / (1.0 + discount_rate / 12.0)
    months = hours / HOURS_PER_MONTH
    return np.asarray(HOURS_PER_MONTH * (1.0 - v**months) / (1.0 - v), dtype=np.float64)


def hour_discount(n_hours: int, discount_rate: float) -> FloatArray:
    """Present-value factor of money spent in each hour of the horizon [1]."""
    if discount_rate <= 0:
        return np.ones(n_hours)
    v = 1.0 / (1.0 + discount_rate / 12.0)
    return np.asarray(v ** (np.arange(n_hours) // HOURS_PER_MONTH), dtype=np.float64)


def level_cost(
    upfront: npt.ArrayLike, recurring: npt.ArrayLike, term_years: npt.ArrayLike, rate: float
) -> FloatArray:
    """Level cost per unit-hour: upfront ÷ :func:`annuity_hours` + recurring [USD/h]."""
    return np.asarray(
        np.asarray(upfront, dtype=np.float64) / annuity_hours(term_years, rate)
        + np.asarray(recurring, dtype=np.float64),
        dtype=np.float64,
    )


# ---------------------------------------------------------------------------------------------
# usage: scenarios, filters, keys


@dataclass(frozen=True, eq=False)
class _Usage:
    """Filtered usage of every scenario over one horizon."""

    names: tuple[str, ...]
    probability: FloatArray
    hours: pd.DatetimeIndex
    matrices: tuple[UsageMatrix, ...]
    offsets: tuple[int, ...]


def _as_matrix(usage: Usage, source: str) -> UsageMatrix:
    if isinstance(usage, UsageMatrix):
        return usage
    if not isinstance(usage, pd.DataFrame):
        raise CommitoptInputError(
            f"{source}: expected a usage table (DataFrame) or UsageMatrix, "
            f"not {type(usage).__name__}"
        )
    return to_matrix(usage, source=source)


def _scenario_inputs(
    usage: Usage | None, scenarios: Sequence[ScenarioInput] | None
) -> list[tuple[str, float, UsageMatrix]]:
    """The (name, probability, matrix) of every scenario, checked."""
    if scenarios is None:
        if usage is None:
            raise CommitoptInputError("no usage given; pass a usage table or scenarios")
        return [(DEFAULT_SCENARIO, 1.0, _as_matrix(usage, "usage"))]
    items = list(scenarios)
    if not items:
        raise CommitoptInputError(
            "scenarios is empty; give at least one (name, probability, usage)"
        )
    result: list[tuple[str, float, UsageMatrix]] = []
    for item in items:
        if not isinstance(item, tuple | list) or len(item) != 3:
            raise CommitoptInputError(
                f"scenario {item!r:.60}: give (name, probability, usage) tuples"
            )
        name, probability, frame = item
        value = float(probability)
        if not np.isfinite(value) or value < 0:
            raise CommitoptInputError(
                f"scenario {name!r}: probability {probability!r} must be a finite number >= 0"
            )
        result.append((str(name), value, _as_matrix(frame, f"scenario {name}")))
    names = [name for name, _, _ in result]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise CommitoptInputError(f"scenario name(s) {_listed(repeated)} repeated; rename them")
    total = sum(p for _, p, _ in result)
    if abs(total - 1.0) > SCENARIO_PROBABILITY_TOLERANCE:
        raise CommitoptInputError(
            f"scenario probabilities sum to {total:g}, not 1; rescale them "
            f"({', '.join(f'{n}={p:g}' for n, p, _ in result[:_SHOWN])})"
        )
    return result


def _key_mask(keys: pd.DataFrame, policy: Policy) -> BoolArray:
    """Keys kept by the policy's include / exclude filters."""
    keep = np.ones(len(keys), dtype=bool)
    families = instance_families(keys["instance_type"]) if len(keys) else keys["instance_type"]
    for what, values in (
        ("accounts", keys["account_id"]),
        ("regions", keys["region"]),
        ("families", families),
    ):
        included = [str(v) for v in getattr(policy, f"include_{what}")]
        excluded = [str(v) for v in getattr(policy, f"exclude_{what}")]
        text = values.astype(str)
        if included:
            keep &= text.isin(included).to_numpy(dtype=bool)
        if excluded:
            keep &= ~text.isin(excluded).to_numpy(dtype=bool)
    return keep


def _filters_text(policy: Policy) -> str:
    parts = [
        f"{prefix}_{what}={','.join(map(str, values))}"
        for what in ("accounts", "regions", "families")
        for prefix in ("include", "exclude")
        if (values := getattr(policy, f"{prefix}_{what}"))
    ]
    return " after the policy's filters (" + "; ".join(parts) + ")" if parts else ""


def _filtered_usage(
    usage: Usage | None, scenarios: Sequence[ScenarioInput] | None, policy: Policy
) -> _Usage:
    """Scenario matrices filtered by the policy, placed on their common hourly horizon."""
    inputs = _scenario_inputs(usage, scenarios)
    matrices: list[UsageMatrix] = []
    for _, _, matrix in inputs:
        keep = _key_mask(matrix.keys, policy)
        matrices.append(
            UsageMatrix(
                hours=matrix.hours,
                keys=matrix.keys.loc[keep].reset_index(drop=True),
                quantity=np.ascontiguousarray(matrix.quantity[:, keep]),
                daily_granular=matrix.daily_granular,
            )
        )
    total = sum(float(m.quantity.sum()) for m in matrices)
    spanned = [m for m in matrices if len(m.hours)]
    if not spanned or total <= 0:
        raise CommitoptInputError(
            f"the lookback has no usage (0 instance-hours){_filters_text(policy)}; import usage "
            f"with `commitopt usage import` or pass {param('usage_files')} FILE, lengthen the "
            "lookback or relax the filters"
        )
    first = min(m.hours[0] for m in spanned)
    stop = max(m.hours[-1] for m in spanned) + pd.Timedelta(hours=1)
    hours = pd.date_range(first, stop, freq="h", inclusive="left", unit="ns")
    offsets = tuple(
        int((m.hours[0] - first) // pd.Timedelta(hours=1)) if len(m.hours) else 0 for m in matrices
    )
    return _Usage(
        names=tuple(name for name, _, _ in inputs),
        probability=np.array([p for _, p, _ in inputs], dtype=np.float64),
        hours=hours,
        matrices=tuple(matrices),
        offsets=offsets,
    )


@dataclass(frozen=True, eq=False)
class _Keys:
    """Usage keys (accounts summed) and their columns."""

    keys: pd.DataFrame
    """One row per key with usage: KEY_FIELDS, instance_family, normalization_factor (NaN when
    unknown), size_flexible, units_per_instance, on_demand_usd_per_hour, column,
    expected_instance_hours and discounted_instance_hours (over the horizon, expected over the
    scenarios), usd (expected on-demand cost) and weight (the instance-hours weighting rates
    inside a column)."""
    columns: pd.DataFrame
    """One row per column: COLUMN_FIELDS and ``demand_usd`` (expected, undiscounted) [USD]."""
    account_key: tuple[IntArray, ...]
    """Per scenario: the key of each matrix column (-1 where it has no usage at all)."""
    warnings: tuple[str, ...]


def _usage_keys(data: _Usage, catalog: PriceCatalog, discount: FloatArray) -> _Keys:
    """Sum accounts, price the keys, assign columns."""
    frames = []
    for scenario, matrix in enumerate(data.matrices):
        offset = data.offsets[scenario]
        factor = discount[offset : offset + len(matrix.hours)]
        frame = matrix.keys.loc[:, list(KEY_FIELDS)].astype(str)
        frame["scenario"] = scenario
        frame["total"] = matrix.quantity.sum(axis=0)
        frame["discounted"] = factor @ matrix.quantity if len(factor) else 0.0
        frames.append(frame)
    stacked = pd.concat(frames, ignore_index=True)
    probability = data.probability[stacked["scenario"].to_numpy()]
    stacked["expected"] = stacked["total"].to_numpy() * probability
    stacked["expected_discounted"] = stacked["discounted"].to_numpy() * probability
    codes, keys = _row_codes(stacked, KEY_FIELDS)
    sums = {
        name: np.bincount(codes, weights=stacked[name].to_numpy(), minlength=len(keys))
        for name in ("total", "expected", "expected_discounted")
    }
    used = sums["total"] > 0
    new_index = np.where(used, np.cumsum(used) - 1, -1)
    stacked_key = new_index[codes]
    keys = keys.loc[used].reset_index(drop=True)
    keys["expected_instance_hours"] = sums["expected"][used]
    keys["discounted_instance_hours"] = sums["expected_discounted"][used]
    keys["on_demand_usd_per_hour"] = catalog.require_on_demand(keys)
    keys["instance_family"] = instance_families(keys["instance_type"]).astype(str)
    factors = _factors_or_nan(keys["instance_type"])
    keys["normalization_factor"] = factors
    linux_shared = ((keys["platform"] == _LINUX) & (keys["tenancy"] == _SHARED)).to_numpy(bool)
    flexible = linux_shared & np.isfinite(factors)
    warnings: list[str] = []
    unknown = keys.loc[linux_shared & ~flexible, "instance_type"].tolist()
    if unknown:
        warnings.append(
            f"no normalization factor is known for {_listed(sorted(set(unknown)))}: each is a "
            "column of its own, covered by RIs of its exact type"
        )
    keys["size_flexible"] = flexible
    keys["units_per_instance"] = np.where(flexible, factors, 1.0)
    column_frame = keys[list(COLUMN_KEY)].copy()
    column_frame.loc[flexible, "instance_type"] = ""
    column_frame["size_flexible"] = flexible
    column_codes, columns = _row_codes(column_frame, [*COLUMN_KEY, "size_flexible"])
    keys["column"] = column_codes
    columns, warning = _column_rates(keys, columns)
    if warning:
        warnings.append(warning)
    account_key = tuple(
        stacked_key[(stacked["scenario"] == s).to_numpy()] for s in range(len(data.matrices))
    )
    return _Keys(keys=keys, columns=columns, account_key=account_key, warnings=tuple(warnings))


def _column_rates(keys: pd.DataFrame, columns: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """On-demand USD per unit of each column (demand-weighted), and the proportionality check.

    Adds to ``keys`` (in place) ``weight``, the expected instance-hours used to weight rates
    inside a column (1 for every key of a column without expected usage), and ``usd``, the
    expected on-demand cost [USD].
    """
    column = keys["column"].to_numpy(dtype=np.intp)
    n_columns = len(columns)
    weight = keys["expected_instance_hours"].to_numpy(dtype=np.float64)
    column_weight = np.bincount(column, weights=weight, minlength=n_columns)
    od = keys["on_demand_usd_per_hour"].to_numpy(dtype=np.float64)
    keys["usd"] = weight * od
    weight = np.where(column_weight[column] > 0, weight, 1.0)
    keys["weight"] = weight
    units = keys["units_per_instance"].to_numpy(dtype=np.float64)
    usd = np.bincount(column, weights=weight * od, minlength=n_columns)
    unit_hours = np.bincount(column, weights=weight * units, minlength=n_columns)
    per_unit = usd / unit_hours
    columns = columns.copy()
    columns["on_demand_usd_per_unit"] = per_unit
    columns["demand_usd"] = np.bincount(column, weights=keys["usd"], minlength=n_columns)
    deviation = np.abs(od / units / per_unit[column] - 1.0)
    worst = np.zeros(n_columns)
    np.maximum.at(worst, column, deviation)
    bad = np.flatnonzero(worst > PROPORTIONALITY_TOLERANCE)
    warning = ""
    if len(bad):
        named = [
            f"{region} {family} ({100 * worst[j]:.1f} %)"
            for j, region, family in zip(
                bad,
                columns["region"].to_numpy()[bad],
                columns["instance_family"].to_numpy()[bad],
                strict=True,
            )
        ]
        warning = (
            "on-demand rates are not proportional to the normalization factor in "
            f"{_listed(named)}: each family column uses its demand-weighted rate per normalized "
            "unit, so RI coverage there is approximate"
        )
    return columns.reset_index(drop=True), warning


def _demand(data: _Usage, keyed: _Keys, od: FloatArray) -> list[FloatArray]:
    """Hours × columns on-demand USD/h of every scenario, on the whole horizon."""
    n_hours, n_columns = len(data.hours), len(keyed.columns)
    column_of_key = keyed.keys["column"].to_numpy(dtype=np.intp)
    result = []
    for scenario, matrix in enumerate(data.matrices):
        key = keyed.account_key[scenario]
        used = np.flatnonzero(key >= 0)
        mapping = sp.csr_array(
            (od[key[used]], (used, column_of_key[key[used]])),
            shape=(matrix.quantity.shape[1], n_columns),
        )
        demand = np.zeros((n_hours, n_columns))
        if len(matrix.hours):
            offset = data.offsets[scenario]
            block = (mapping.T @ matrix.quantity.T).T
            demand[offset : offset + len(matrix.hours)] = block
        result.append(demand)
    return result


# ---------------------------------------------------------------------------------------------
# new pools: RIs and Savings Plans, best offering per scope


def _ri_candidates(
    catalog: PriceCatalog, columns: pd.DataFrame, policy: Policy, rate: float
) -> pd.DataFrame:
    """Every allowed RI offering of every column, priced per unit, with its level cost."""
    reserved = catalog.reserved
    allowed = (
        reserved["offering_class"].isin(list(policy.offering_classes))
        & reserved["term_years"].isin(list(policy.terms_years))
        & reserved["payment_option"].isin(list(policy.payment_options))
        & reserved["region"].isin(columns["region"].unique().tolist())
    )
    rows = reserved.loc[allowed].reset_index(drop=True)
    rows = rows.astype({c: str for c in (*KEY_FIELDS, "offering_class", "payment_option")})
    offering = ["offering_class", "term_years", "payment_option"]
    prices = ["upfront_usd", "recurring_usd_per_hour", "effective_usd_per_hour"]
    column_index = columns.reset_index(names="column")
    flexible = column_index.loc[column_index["size_flexible"].astype(bool)]
    exact = column_index.loc[~column_index["size_flexible"].astype(bool)]
    parts = []
    if len(flexible) and len(rows):
        linux = rows.loc[(rows["platform"] == _LINUX) & (rows["tenancy"] == _SHARED)].copy()
        linux["instance_family"] = instance_families(linux["instance_type"]).astype(str)
        linux["units_per_instance"] = _factors_or_nan(linux["instance_type"])
        linux = linux.loc[np.isfinite(linux["units_per_instance"].to_numpy())]
        smallest = linux.sort_values(
            ["region", "instance_family", *offering, "units_per_instance", "instance_type"],
            kind="stable",
        ).drop_duplicates(["region", "instance_family", *offering], keep="first")
        joined = flexible[["column", "region", "instance_family"]].merge(
            smallest, on=["region", "instance_family"], how="inner"
        )
        parts.append(joined)
    if len(exact) and len(rows):
        joined = exact[["column", *KEY_FIELDS]].merge(rows, on=list(KEY_FIELDS), how="inner")
        joined["units_per_instance"] = 1.0
        parts.append(joined)
    names = ["column", "purchase_instance_type", "units_per_instance", *offering, *prices]
    if not parts:
        return pd.DataFrame({n: pd.Series(dtype=float) for n in [*names, "level"]})
    table = pd.concat(parts, ignore_index=True).rename(
        columns={"instance_type": "purchase_instance_type"}
    )
    per_unit = table["units_per_instance"].to_numpy(dtype=np.float64)
    for price in prices:
        table[price] = table[price].to_numpy(dtype=np.float64) / per_unit
    table = table[names].copy()
    table["level"] = level_cost(
        table["upfront_usd"], table["recurring_usd_per_hour"], table["term_years"], rate
    )
    return table


def _offering_rank(frame: pd.DataFrame) -> FloatArray:
    """A deterministic tie-break: longer terms, more upfront, standard first."""
    payment = frame["payment_option"].map({p: i for i, p in enumerate(PAYMENT_OPTIONS)})
    return np.asarray(
        -10 * frame["term_years"].to_numpy(dtype=np.float64) - payment.to_numpy(dtype=np.float64),
        dtype=np.float64,
    )


def _best_ri(candidates: pd.DataFrame, *, by_payment: bool = False) -> pd.DataFrame:
    """The cheapest offering (lowest level cost per unit) of every column.

    ``by_payment`` keeps the cheapest of every payment option instead: under a cap on upfront
    cash a dearer offering with less upfront may be the better buy, so dominance by cost alone is
    no longer exact.
    """
    if candidates.empty:
        return candidates
    keys = ["column", "payment_option"] if by_payment else ["column"]
    ranked = candidates.assign(
        _rank=_offering_rank(candidates),
        _class=(candidates["offering_class"] != "standard").astype(int),
    )
    ranked = ranked.sort_values([*keys, "level", "_rank", "_class"], kind="stable")
    return (
        ranked.drop_duplicates(keys, keep="first")
        .drop(columns=["_rank", "_class"])
        .reset_index(drop=True)
    )


def _sp_ratios(catalog: PriceCatalog, keyed: _Keys) -> pd.DataFrame:
    """Coverage ratio of every column for every Savings Plans type, term and payment option.

    Returns one row per (plan_type, term_years, payment_option, column) that has rates, with
    ``ratio`` (Σ quantity × SP rate ÷ Σ quantity × on-demand rate over the column's keys with a
    rate), ``covered_usd`` (expected on-demand USD of those keys) and ``share`` (of the column's
    demand).
    """
    keys = keyed.keys
    plans = catalog.savings_plans
    plans = plans.loc[
        (plans["sp_hourly_usd"] > 0)
        & plans["instance_type"].isin(keys["instance_type"].unique().tolist())
        & plans["region"].isin(keys["region"].unique().tolist())
    ]
    plans = plans.astype({c: str for c in (*KEY_FIELDS, "plan_type", "payment_option")})
    joined = keys[[*KEY_FIELDS, "column", "weight", "on_demand_usd_per_hour", "usd"]].merge(
        plans[[*KEY_FIELDS, "plan_type", "term_years", "payment_option", "sp_hourly_usd"]],
        on=list(KEY_FIELDS),
        how="inner",
    )
    group = ["plan_type", "term_years", "payment_option", "column"]
    joined["_sp"] = joined["weight"] * joined["sp_hourly_usd"]
    joined["_od"] = joined["weight"] * joined["on_demand_usd_per_hour"]
    table = joined.groupby(group, sort=True)[["_sp", "_od", "usd"]].sum().reset_index()
    table["ratio"] = table["_sp"] / table["_od"]
    table = table.rename(columns={"usd": "covered_usd"}).drop(columns=["_sp", "_od"])
    demand = keyed.columns["demand_usd"].to_numpy(dtype=np.float64)
    column = table["column"].to_numpy(dtype=np.intp)
    table["share"] = np.where(demand[column] > 0, table["covered_usd"] / demand[column], 1.0)
    columns = keyed.columns
    table["region"] = columns["region"].to_numpy()[column]
    table["instance_family"] = columns["instance_family"].to_numpy()[column]
    return table


def _best_sp(
    ratios: pd.DataFrame, kind: str, policy: Policy, rate: float
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Best Savings Plans offering of every scope of ``kind`` (of every scope and payment option
    when the policy caps upfront cash, as for :func:`_best_ri`).

    Returns the chosen (scope, term_years, payment_option) rows, their coverage entries
    (scope, column, ratio) and the scopes whose columns disagree with the choice.
    """
    scope = ["region", "instance_family"] if kind == EC2_SP_POOL else []
    table = ratios.loc[
        (ratios["plan_type"] == PLAN_TYPES[kind])
        & ratios["term_years"].isin(list(policy.terms_years))
        & ratios["payment_option"].isin(list(policy.payment_options))
    ].copy()
    if table.empty:
        return table, table, []
    if not scope:
        table["_scope"] = 0
        scope = ["_scope"]
    share = table["payment_option"].map(SP_UPFRONT_SHARE).to_numpy(dtype=np.float64)
    term_hours = np.where(table["term_years"].to_numpy() == 3, TERM_HOURS[3], TERM_HOURS[1])
    table["level"] = level_cost(share * term_hours, 1.0 - share, table["term_years"], rate)
    table["_cost"] = table["level"] * table["ratio"]  # per on-demand USD covered, per column
    table["_weighted"] = table["_cost"] * table["covered_usd"]
    offering = ["term_years", "payment_option"]
    per_offering = (
        table.groupby([*scope, *offering], sort=True)[["covered_usd", "_weighted"]]
        .sum()
        .reset_index()
    )
    per_offering["_metric"] = per_offering["_weighted"] / per_offering["covered_usd"].where(
        per_offering["covered_usd"] > 0, 1.0
    )
    keys = [*scope, "payment_option"] if policy.max_upfront_usd is not None else scope
    most = per_offering.groupby(keys)["covered_usd"].transform("max")
    eligible = per_offering.loc[per_offering["covered_usd"] >= most * (1 - 1e-9)].copy()
    eligible["_rank"] = _offering_rank(eligible)
    chosen = (
        eligible.sort_values([*keys, "_metric", "_rank"], kind="stable")
        .drop_duplicates(keys, keep="first")
        .reset_index(drop=True)
    )
    entries = table.merge(chosen[[*scope, *offering]], on=[*scope, *offering], how="inner")
    best_cost = table.groupby([*scope, "column"])["_cost"].min().rename("_best").reset_index()
    compare = entries.merge(best_cost, on=[*scope, "column"], how="left")
    off = compare.loc[compare["_cost"] > compare["_best"] * (1 + PROPORTIONALITY_TOLERANCE)]
    flagged = off.drop_duplicates(scope)
    named: list[str] = (
        [f"{r} {f}" for r, f in zip(flagged["region"], flagged["instance_family"], strict=True)]
        if kind == EC2_SP_POOL
        else (["Compute"] if len(flagged) else [])
    )
    return chosen, entries, named


# ---------------------------------------------------------------------------------------------
# owned commitments


@dataclass(frozen=True, eq=False)
class _Owned:
    """Owned pools: their rows, coverage entries and hourly capacity."""

    pools: pd.DataFrame
    entries: pd.DataFrame
    """(pool, column, value): owned pool index into ``pools``."""
    capacity: FloatArray
    """Hours × owned pools [units/h]."""
    cost_usd: float
    warnings: tuple[str, ...]


def _owned_frame(owned: Inventory | Sequence[Commitment]) -> pd.DataFrame:
    items = owned.commitments if isinstance(owned, Inventory) else tuple(owned)
    if not items:
        return pd.DataFrame()
    for item in items:
        if not isinstance(item, Commitment):
            raise InventoryError(
                f"owned commitments must be Commitment items, not {type(item).__name__}"
            )
    return Inventory(commitments=items, as_of=datetime.now(UTC)).to_frame()


def _overlap_hours(hours: pd.DatetimeIndex, frame: pd.DataFrame) -> FloatArray:
    """Items × hours: fraction of each hour inside each item's ``[start, end)`` [0–1]."""
    stamps = hours.as_unit("ns").asi8[None, :]
    start = pd.DatetimeIndex(frame["start"]).as_unit("ns").asi8[:, None]
    end = pd.DatetimeIndex(frame["end"]).as_unit("ns").asi8[:, None]
    overlap = np.minimum(stamps + _NS_PER_HOUR, end) - np.maximum(stamps, start)
    return np.asarray(np.maximum(overlap, 0) / _NS_PER_HOUR, dtype=np.float64)


def _bad_items(frame: pd.DataFrame, mask: npt.ArrayLike, problem: str, fix: str) -> None:
    bad = np.asarray(mask, dtype=bool)
    if bad.any():
        ids = frame.loc[bad, "id"].astype(str).tolist()
        raise InventoryError(f"owned commitment(s) {_listed(ids)}: {problem}; {fix}")


def _owned_ris(
    frame: pd.DataFrame, catalog: PriceCatalog, columns: pd.DataFrame, warnings: list[str]
) -> pd.DataFrame:
    """RI items with their column (-1 when no usage column matches), capacity and hourly cost."""
    ris = frame.loc[frame["kind"] == CommitmentKind.RESERVED_INSTANCE].copy()
    if ris.empty:
        return ris.assign(column=pd.Series(dtype=np.intp), capacity=0.0, hourly=0.0, unit="")
    _bad_items(
        ris,
        ris["region"].isna() | ris["instance_type"].isna(),
        "an RI needs region and instance_type",
        "add them to the items",
    )
    count = ris["count"].astype("float64").to_numpy(na_value=np.nan)
    _bad_items(ris, ~(count > 0), "an RI needs a count above 0", "give the number of RIs")
    ris["platform"] = ris["platform"].fillna(_LINUX).astype(str)
    ris["tenancy"] = ris["tenancy"].fillna(_SHARED).astype(str)
    ris["scope"] = ris["scope"].fillna("Region").astype(str)
    ris["offering_class"] = ris["offering_class"].fillna("standard").astype(str)
    ris["region"] = ris["region"].astype(str)
    ris["instance_type"] = ris["instance_type"].astype(str)
    ris["instance_family"] = instance_families(ris["instance_type"]).astype(str)
    factor = _factors_or_nan(ris["instance_type"])
    linux_shared = ((ris["platform"] == _LINUX) & (ris["tenancy"] == _SHARED)).to_numpy(bool)
    zonal = (ris["scope"] != "Region").to_numpy(bool)
    flexible = linux_shared & np.isfinite(factor)
    approximated = ris.loc[flexible & zonal, "id"].astype(str).tolist()
    if approximated:
        warnings.append(
            f"zonal RI(s) {_listed(approximated)} are applied size-flexibly to their family's "
            "column (usage has no availability zone and Linux/UNIX usage is aggregated by family)"
        )
    ris["size_flexible"] = flexible
    ris["capacity"] = np.where(flexible, count * np.nan_to_num(factor), count)
    ris["unit"] = np.where(flexible, "normalized_units", "instances")
    ris["units_per_instance"] = np.where(flexible, factor, 1.0)
    lookup = ris[[*KEY_FIELDS, "offering_class", "term_years", "payment_option"]].astype(
        {"term_years": "int64"}
    )
    lookup = lookup.astype({c: str for c in (*KEY_FIELDS, "offering_class", "payment_option")})
    reserved = catalog.reserved
    reserved = reserved.loc[
        reserved["instance_type"].isin(ris["instance_type"].unique().tolist())
        & reserved["region"].isin(ris["region"].unique().tolist())
    ].astype({c: str for c in (*KEY_FIELDS, "offering_class", "payment_option")})
    recurring_catalog = lookup.merge(
        reserved[
            [
                *KEY_FIELDS,
                "offering_class",
                "term_years",
                "payment_option",
                "recurring_usd_per_hour",
            ]
        ],
        on=[*KEY_FIELDS, "offering_class", "term_years", "payment_option"],
        how="left",
    )["recurring_usd_per_hour"].to_numpy(dtype=np.float64)
    recurring = ris["recurring_usd_per_hour"].to_numpy(dtype=np.float64, na_value=np.nan)
    recurring = np.where(np.isnan(recurring), recurring_catalog, recurring)
    term_hours = np.where(
        ris["term_years"].to_numpy(dtype=np.float64) == 3, TERM_HOURS[3], TERM_HOURS[1]
    )
    upfront = ris["upfront_usd"].to_numpy(dtype=np.float64)
    computed = upfront / term_hours + count * recurring
    given = ris["effective_usd_per_hour"].to_numpy(dtype=np.float64, na_value=np.nan)
    hourly = np.where(np.isnan(given), computed, given)
    _bad_items(
        ris,
        np.isnan(hourly),
        "no effective_usd_per_hour or recurring_usd_per_hour, and no catalog rate for the offering",
        "give the rates in the items or refresh the catalog",
    )
    ris["hourly"] = hourly
    key = ris[list(COLUMN_KEY)].copy()
    key.loc[flexible, "instance_type"] = ""
    key["size_flexible"] = flexible
    index = columns.reset_index(names="column")[[*COLUMN_KEY, "size_flexible", "column"]]
    index = index.astype({c: str for c in COLUMN_KEY})
    key = key.astype({c: str for c in COLUMN_KEY})
    matched = key.merge(index, on=[*COLUMN_KEY, "size_flexible"], how="left")
    ris["column"] = matched["column"].fillna(-1).to_numpy(dtype=np.intp)
    return ris


def _owned_sps(frame: pd.DataFrame) -> pd.DataFrame:
    """Savings Plans items with their capacity and hourly cost."""
    sps = frame.loc[frame["kind"] != CommitmentKind.RESERVED_INSTANCE].copy()
    commitment = sps["commitment_usd_per_hour"].to_numpy(dtype=np.float64, na_value=np.nan)
    _bad_items(
        sps,
        ~(commitment > 0),
        "a Savings Plan needs commitment_usd_per_hour above 0",
        "give the plan's hourly commitment",
    )
    ec2 = (sps["kind"] == CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN).to_numpy(bool)
    _bad_items(
        sps,
        ec2 & (sps["region"].isna() | sps["instance_family"].isna()).to_numpy(bool),
        "an EC2 Instance Savings Plan needs region and instance_family",
        "add them to the items",
    )
    sps["region"] = np.where(ec2, sps["region"].astype(str), "")
    sps["instance_family"] = np.where(ec2, sps["instance_family"].astype(str), "")
    sps["capacity"] = commitment
    sps["hourly"] = commitment
    sps["pool_kind"] = np.where(ec2, EC2_SP_POOL, COMPUTE_SP_POOL)
    return sps


def _uniform(values: pd.Series, empty: object) -> object:
    """The common value of a group, or ``empty`` when the values differ."""
    distinct = values.dropna().unique()
    return distinct[0] if len(distinct) == 1 else empty


def _owned_pools(
    owned: Inventory | Sequence[Commitment],
    catalog: PriceCatalog,
    keyed: _Keys,
    ratios: pd.DataFrame,
    hours: pd.DatetimeIndex,
    discount: FloatArray,
) -> _Owned:
    """Owned commitments as fixed-capacity pools, merged by identical scope and ratios."""
    frame = _owned_frame(owned)
    empty_pools = pd.DataFrame(columns=list(POOL_FIELDS))
    no_entries = pd.DataFrame({"pool": [], "column": [], "value": []})
    if frame.empty:
        return _Owned(empty_pools, no_entries, np.zeros((len(hours), 0)), 0.0, ())
    charged = _overlap_hours(hours, frame)
    live = charged.sum(axis=1) > 0
    frame, charged = frame.loc[live].reset_index(drop=True), charged[live]
    if frame.empty:
        return _Owned(empty_pools, no_entries, np.zeros((len(hours), 0)), 0.0, ())
    warnings: list[str] = []
    ris = _owned_ris(frame, catalog, keyed.columns, warnings)
    sps = _owned_sps(frame)
    hourly = np.zeros(len(frame))
    hourly[ris.index.to_numpy()] = ris["hourly"].to_numpy(dtype=np.float64)
    hourly[sps.index.to_numpy()] = sps["hourly"].to_numpy(dtype=np.float64)
    cost = float(hourly @ (charged @ discount))
    rows, entries, members = _owned_ri_pools(ris, keyed.columns)
    sp_rows, sp_entries, sp_members = _owned_sp_pools(sps, ratios, first_pool=len(rows))
    rows, entries, members = rows + sp_rows, entries + sp_entries, members + sp_members
    capacity = _owned_capacity(frame, ris, sps, members, charged)
    pools = pd.DataFrame(rows, columns=list(POOL_FIELDS)) if rows else empty_pools
    return _Owned(
        pools=pools,
        entries=pd.concat(entries, ignore_index=True) if entries else no_entries,
        capacity=capacity.reshape(len(hours), len(rows)),
        cost_usd=cost,
        warnings=tuple(warnings),
    )


_OwnedGroups = tuple[list[dict[str, object]], list[pd.DataFrame], list[IntArray]]
"""Pool rows, their coverage entries (pool, column, value) and each pool's member items."""


def _owned_ri_pools(ris: pd.DataFrame, columns: pd.DataFrame) -> _OwnedGroups:
    """One pool per column that owned RIs cover (numbered from 0), at 1 ÷ its on-demand rate
    per unit; RIs whose column has no usage are left out."""
    od_unit = columns["on_demand_usd_per_unit"].to_numpy(dtype=np.float64)
    rows: list[dict[str, object]] = []
    entries: list[pd.DataFrame] = []
    members: list[IntArray] = []
    for _, group in ris.loc[ris["column"] >= 0].groupby("column", sort=True):
        first = group.iloc[0]
        column = int(first["column"])
        flexible = bool(first["size_flexible"])
        rows.append(
            _pool_row(
                RI_POOL,
                owned=True,
                region=str(first["region"]),
                instance_family=str(first["instance_family"]),
                instance_type="" if flexible else str(first["instance_type"]),
                platform=str(first["platform"]),
                tenancy=str(first["tenancy"]),
                size_flexible=flexible,
                unit=str(first["unit"]),
                offering_class=str(_uniform(group["offering_class"], "")),
                term_years=int(_uniform(group["term_years"], 0)),  # type: ignore[call-overload]
                payment_option=str(_uniform(group["payment_option"], "")),
                commitment_ids=",".join(group["id"].astype(str)),
                purchase_instance_type=str(_uniform(group["instance_type"], "")),
                units_per_instance=float(
                    _uniform(group["units_per_instance"], 1.0)  # type: ignore[arg-type]
                ),
            )
        )
        entries.append(
            pd.DataFrame(
                {"pool": [len(rows) - 1], "column": [column], "value": [1 / od_unit[column]]}
            )
        )
        members.append(group.index.to_numpy(dtype=np.intp))
    return rows, entries, members


def _owned_sp_pools(sps: pd.DataFrame, ratios: pd.DataFrame, *, first_pool: int) -> _OwnedGroups:
    """One pool per (kind, scope, term, payment option) of owned Savings Plans, numbered from
    ``first_pool``, covering at the catalog's ratios; plans whose scope has no rates are left
    out."""
    rows: list[dict[str, object]] = []
    entries: list[pd.DataFrame] = []
    members: list[IntArray] = []
    for _, group in sps.groupby(
        ["pool_kind", "region", "instance_family", "term_years", "payment_option"], sort=True
    ):
        first = group.iloc[0]
        kind, region, family = str(first["pool_kind"]), first["region"], first["instance_family"]
        term, payment = int(first["term_years"]), str(first["payment_option"])
        scope = (
            (ratios["plan_type"] == PLAN_TYPES[str(kind)])
            & (ratios["term_years"] == int(term))
            & (ratios["payment_option"] == str(payment))
        )
        if kind == EC2_SP_POOL:
            scope &= (ratios["region"] == region) & (ratios["instance_family"] == family)
        covered = ratios.loc[scope]
        if covered.empty:
            continue
        rows.append(
            _pool_row(
                str(kind),
                owned=True,
                region=str(region),
                instance_family=str(family),
                term_years=int(term),
                payment_option=str(payment),
                commitment_ids=",".join(group["id"].astype(str)),
            )
        )
        entries.append(
            pd.DataFrame(
                {
                    "pool": first_pool + len(rows) - 1,
                    "column": covered["column"].to_numpy(dtype=np.intp),
                    "value": covered["ratio"].to_numpy(dtype=np.float64),
                }
            )
        )
        members.append(group.index.to_numpy(dtype=np.intp))
    return rows, entries, members


def _owned_capacity(
    frame: pd.DataFrame,
    ris: pd.DataFrame,
    sps: pd.DataFrame,
    members: Sequence[IntArray],
    charged: FloatArray,
) -> FloatArray:
    """Hours × owned pools: the summed capacity of each pool's items active in the hour
    [units/h]."""
    capacity_of_item = np.zeros(len(frame))
    capacity_of_item[ris.index.to_numpy()] = ris["capacity"].to_numpy(dtype=np.float64)
    capacity_of_item[sps.index.to_numpy()] = sps["capacity"].to_numpy(dtype=np.float64)
    pool_index = (
        np.concatenate([np.full(len(m), p) for p, m in enumerate(members)]).astype(np.intp)
        if members
        else np.zeros(0, dtype=np.intp)
    )
    item_index = np.concatenate(members) if members else np.zeros(0, dtype=np.intp)
    to_pool = sp.csr_array(
        (capacity_of_item[item_index], (pool_index, item_index)),
        shape=(len(members), len(frame)),
    )
    return np.asarray((to_pool @ (charged > 0).astype(np.float64)).T, dtype=np.float64)


def _pool_row(kind: str, **fields: object) -> dict[str, object]:
    """A pool row with ``""`` / defaults for the fields the kind does not restrict."""
    row: dict[str, object] = {
        "kind": kind,
        "owned": False,
        "order": 0,
        "region": "",
        "instance_family": "",
        "instance_type": "",
        "platform": "",
        "tenancy": "",
        "size_flexible": False,
        "unit": "usd_per_hour",
        "offering_class": "",
        "term_years": 1,
        "payment_option": "",
        "commitment_ids": "",
        "purchase_instance_type": "",
        "units_per_instance": 1.0,
    }
    row.update(fields)
    return row


# ---------------------------------------------------------------------------------------------
# assembly


@dataclass(frozen=True, eq=False)
class _Block:
    """Pools of one kind, owned or new, before they are numbered."""

    pools: pd.DataFrame
    entries: pd.DataFrame
    """(pool, column, value) with ``pool`` local to the block."""
    prices: pd.DataFrame | None = None
    """New pools: upfront, recurring, effective [per unit], level [USD per unit-hour], term."""
    capacity: FloatArray | None = None
    """Owned pools: hours × pools [units/h]."""


def _new_ri_block(best: pd.DataFrame, columns: pd.DataFrame) -> _Block:
    """One new RI pool per column with an allowed offering."""
    column = best["column"].to_numpy(dtype=np.intp)
    picked = columns.iloc[column].reset_index(drop=True)
    flexible = picked["size_flexible"].to_numpy(dtype=bool)
    pools = pd.DataFrame(
        [
            _pool_row(
                RI_POOL,
                region=str(c["region"]),
                instance_family=str(c["instance_family"]),
                instance_type=str(c["instance_type"]),
                platform=str(c["platform"]),
                tenancy=str(c["tenancy"]),
                size_flexible=bool(c["size_flexible"]),
                unit="normalized_units" if c["size_flexible"] else "instances",
                offering_class=str(b["offering_class"]),
                term_years=int(b["term_years"]),
                payment_option=str(b["payment_option"]),
                purchase_instance_type=str(b["purchase_instance_type"]),
                units_per_instance=float(b["units_per_instance"]) if flex else 1.0,
            )
            for c, b, flex in zip(
                picked.to_dict("records"), best.to_dict("records"), flexible, strict=True
            )
        ],
        columns=list(POOL_FIELDS),
    )
    od_unit = columns["on_demand_usd_per_unit"].to_numpy(dtype=np.float64)
    entries = pd.DataFrame(
        {"pool": np.arange(len(best)), "column": column, "value": 1.0 / od_unit[column]}
    )
    prices = pd.DataFrame(
        {
            "upfront": best["upfront_usd"].to_numpy(dtype=np.float64),
            "recurring": best["recurring_usd_per_hour"].to_numpy(dtype=np.float64),
            "effective": best["effective_usd_per_hour"].to_numpy(dtype=np.float64),
            "level": best["level"].to_numpy(dtype=np.float64),
            "term_years": best["term_years"].to_numpy(dtype=np.int64),
        }
    )
    return _Block(pools, entries, prices=prices)


def _new_sp_block(chosen: pd.DataFrame, entries: pd.DataFrame, kind: str, rate: float) -> _Block:
    """One new Savings Plans pool per scope, at its best offering."""
    ec2 = kind == EC2_SP_POOL
    scope = ["region", "instance_family"] if ec2 else ["_scope"]
    pools = pd.DataFrame(
        [
            _pool_row(
                kind,
                region=str(row["region"]) if ec2 else "",
                instance_family=str(row["instance_family"]) if ec2 else "",
                term_years=int(row["term_years"]),
                payment_option=str(row["payment_option"]),
            )
            for row in chosen.to_dict("records")
        ],
        columns=list(POOL_FIELDS),
    )
    offering = [*scope, "term_years", "payment_option"]
    numbered = chosen[offering].reset_index(names="pool")
    located = entries.merge(numbered, on=offering, how="inner")
    share = chosen["payment_option"].map(SP_UPFRONT_SHARE).to_numpy(dtype=np.float64)
    term_years = chosen["term_years"].to_numpy(dtype=np.int64)
    term_hours = np.where(term_years == 3, TERM_HOURS[3], TERM_HOURS[1])
    prices = pd.DataFrame(
        {
            "upfront": share * term_hours,
            "recurring": 1.0 - share,
            "effective": np.ones(len(chosen)),
            "level": level_cost(share * term_hours, 1.0 - share, term_years, rate),
            "term_years": term_years,
        }
    )
    return _Block(
        pools,
        pd.DataFrame(
            {
                "pool": located["pool"].to_numpy(dtype=np.intp),
                "column": located["column"].to_numpy(dtype=np.intp),
                "value": located["ratio"].to_numpy(dtype=np.float64),
            }
        ),
        prices=prices,
    )


def _owned_block(owned: _Owned, kind: str) -> _Block:
    """The owned pools of one kind."""
    mask = (owned.pools["kind"] == kind).to_numpy(dtype=bool)
    index = np.flatnonzero(mask)
    renumber = np.full(len(owned.pools), -1, dtype=np.intp)
    renumber[index] = np.arange(len(index))
    entries = owned.entries.loc[mask[owned.entries["pool"].to_numpy(dtype=np.intp)]].copy()
    entries["pool"] = renumber[entries["pool"].to_numpy(dtype=np.intp)]
    return _Block(
        owned.pools.iloc[index].reset_index(drop=True),
        entries.reset_index(drop=True),
        capacity=owned.capacity[:, index],
    )


def _empty_block() -> _Block:
    return _Block(
        pd.DataFrame(columns=list(POOL_FIELDS)),
        pd.DataFrame({"pool": [], "column": [], "value": []}),
    )


def _tranche_starts(hours: pd.DatetimeIndex, tranches: int) -> IntArray:
    """Hour index of each tranche's start: the first hour, then the next month starts."""
    return month_start_rows(hours)[:tranches]


def _offers(
    new_pools: IntArray,
    prices: pd.DataFrame,
    hours: pd.DatetimeIndex,
    starts: IntArray,
    discount: FloatArray,
) -> tuple[pd.DataFrame, IntArray, IntArray]:
    """Offers (new pool × tranche) and the hours ``[start, stop)`` each is active.

    Returns the offers table, the distinct (start, stop) intervals (intervals × 2 hour indices)
    and each offer's interval.
    """
    n_tranches = len(starts)
    pool = np.repeat(new_pools, n_tranches)
    tranche = np.tile(np.arange(n_tranches), len(new_pools))
    start = np.tile(starts, len(new_pools))
    term_years = np.repeat(prices["term_years"].to_numpy(dtype=np.int64), n_tranches)
    term_hours = np.where(term_years == 3, TERM_HOURS[3], TERM_HOURS[1]).astype(np.int64)
    stop = np.minimum(start + term_hours, len(hours))
    cumulative = np.concatenate([[0.0], np.cumsum(discount)])
    level = np.repeat(prices["level"].to_numpy(dtype=np.float64), n_tranches)
    start_stamp = hours[start] if len(start) else pd.DatetimeIndex([], tz="UTC")
    offers = pd.DataFrame(
        {
            "pool": pool.astype(np.intp),
            "tranche": tranche.astype(np.int64),
            "start": start_stamp,
            "end": start_stamp + pd.to_timedelta(term_hours, unit="h"),
            "upfront_usd_per_unit": np.repeat(prices["upfront"].to_numpy(np.float64), n_tranches),
            "recurring_usd_per_unit_hour": np.repeat(
                prices["recurring"].to_numpy(np.float64), n_tranches
            ),
            "effective_usd_per_unit_hour": np.repeat(
                prices["effective"].to_numpy(np.float64), n_tranches
            ),
            "objective_usd_per_unit": level * (cumulative[stop] - cumulative[start]),
            "lower_bound_units": 0.0,
            "upper_bound_units": np.inf,
        }
    )
    pairs = np.stack([start, stop], axis=1).astype(np.float64)
    interval, first = _group_rows(pairs) if len(pairs) else (np.zeros(0, np.intp),) * 2
    return offers, pairs[first].astype(np.intp).reshape(-1, 2), interval


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
    hour_class, _ = _group_rows(hour_signature)
    rows = np.concatenate(
        [
            np.column_stack([np.full(n_hours, float(s)), hour_class.astype(np.float64), block])
            for s, block in enumerate(demand)
        ]
    )
    group, first = _group_rows(rows)
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
    data = _filtered_usage(usage, scenarios, policy)
    discount = hour_discount(len(data.hours), float(policy.discount_rate))
    keyed = _usage_keys(data, catalog, discount)
    demand = _demand(data, keyed, keyed.keys["on_demand_usd_per_hour"].to_numpy(np.float64))
    ratios = _sp_ratios(catalog, keyed)
    owned_pools = _owned_pools(owned, catalog, keyed, ratios, data.hours, discount)
    warnings = [*keyed.warnings, *owned_pools.warnings]
    blocks = _pool_blocks(catalog, policy, keyed.columns, ratios, owned_pools, warnings)
    numbered = _number_pools(blocks, len(data.hours))
    kept = _coverable_columns(keyed, numbered, policy)
    offers, intervals, interval = _offers(
        numbered.new_pools,
        numbered.prices,
        data.hours,
        _tranche_starts(data.hours, policy.ladder_tranches),
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
        owned_cost_usd=owned_pools.cost_usd,
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


# ---------------------------------------------------------------------------------------------
# stages of build_problem after the pools of each kind


def _pool_blocks(
    catalog: PriceCatalog,
    policy: Policy,
    columns: pd.DataFrame,
    ratios: pd.DataFrame,
    owned: _Owned,
    warnings: list[str],
) -> list[_Block]:
    """The owned and the new pools of every kind, in AWS's order (appends the SP warnings).

    Per kind: the owned pools, then the new ones (the best allowed RI offering of every column,
    the best Savings Plans offering of every scope), empty when the policy does not enable the
    instrument.
    """
    rate = float(policy.discount_rate)
    blocks: list[_Block] = []
    for kind in POOL_KINDS:
        blocks.append(_owned_block(owned, kind))
        enabled = any(INSTRUMENT_POOLS[i] == kind for i in policy.instruments)
        if not enabled:
            blocks.append(_empty_block())
        elif kind == RI_POOL:
            best = _best_ri(
                _ri_candidates(catalog, columns, policy, rate),
                by_payment=policy.max_upfront_usd is not None,
            )
            blocks.append(_new_ri_block(best, columns) if len(best) else _empty_block())
        else:
            chosen, entries, flagged = _best_sp(ratios, kind, policy, rate)
            if chosen.empty:
                blocks.append(_empty_block())
                continue
            blocks.append(_new_sp_block(chosen, entries, kind, rate))
            warnings.extend(_sp_warnings(kind, entries, flagged))
    return blocks


def _sp_warnings(kind: str, entries: pd.DataFrame, flagged: list[str]) -> list[str]:
    """Warnings on a new Savings Plans kind: offerings not proportional, rates missing."""
    warnings: list[str] = []
    partial = entries.loc[entries["share"] < 1 - 1e-9]
    name = "EC2 Instance" if kind == EC2_SP_POOL else "Compute"
    if flagged:
        where = f"in {_listed(flagged)} " if kind == EC2_SP_POOL else ""
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
    """Prices of each new pool (as :attr:`_Block.prices`)."""
    owned_pools: IntArray
    """Index of each owned pool."""
    owned_hourly: FloatArray
    """Hours × owned pools [units/h]."""


def _number_pools(blocks: Sequence[_Block], n_hours: int) -> _Numbered:
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


def _coverable_columns(keyed: _Keys, numbered: _Numbered, policy: Policy) -> _Kept:
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
    owned_capacity = np.zeros((len(period_hour), len(numbered.pools)))
    owned_capacity[:, numbered.owned_pools] = owned_hourly[period_hour]
    return _MergedPeriods(
        scenario=period_scenario,
        hour=period_hour,
        weight=period_weight,
        demand_usd=np.ascontiguousarray(demand_usd, dtype=np.float64),
        interval_active=interval_active,
        owned_capacity=owned_capacity,
    )


def _offer_active(
    periods: _MergedPeriods, intervals: IntArray, interval: IntArray, n_offers: int
) -> sp.csr_array:
    """Periods × offers: 1 where the offer is active in the period's hours."""
    active_by_interval = sp.csr_array(periods.interval_active[periods.hour].astype(np.float64))
    interval_to_offer = sp.csr_array(
        (np.ones(n_offers), (interval, np.arange(n_offers))),
        shape=(len(intervals), n_offers),
    )
    return sp.csr_array(active_by_interval @ interval_to_offer)


def _key_columns(keyed: _Keys, kept: _Kept) -> pd.DataFrame:
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


__all__ = [
    "DEFAULT_SCENARIO",
    "HOURS_PER_MONTH",
    "PROPORTIONALITY_TOLERANCE",
    "ScenarioInput",
    "annuity_hours",
    "build_problem",
    "hour_discount",
    "level_cost",
]
