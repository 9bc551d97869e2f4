"""New pools of :func:`optimizer.build.build_problem`: time value, the best offering per scope,
tranches.

For every enabled instrument and scope only the cheapest allowed offering is kept (the "dominated
instrument" reduction); Savings Plans cover at their demand-weighted coverage ratios; each new pool
is offered once per tranche, priced at its level cost over the hours it is active. Conventions in
:mod:`optimizer.build`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.times import month_start_rows
from core.units import HOURS_PER_MONTH
from optimizer.build_usage import (
    KEY_FIELDS,
    PROPORTIONALITY_TOLERANCE,
    UsageKeys,
    factors_or_nan,
    group_rows,
)
from optimizer.policy import Policy
from optimizer.problem import (
    COMPUTE_SP_POOL,
    DATABASE_SP_POOL,
    EC2_SP_POOL,
    POOL_FIELDS,
    RI_POOL,
    SAGEMAKER_SP_POOL,
    FloatArray,
    IntArray,
)
from pricing.catalog import PriceCatalog
from pricing.instance_types import instance_families
from pricing.offerings import PAYMENT_OPTIONS, SP_UPFRONT_SHARE, TERM_HOURS, CommitmentKind
from pricing.services import plan_covers, size_flexible_keys, unit_multipliers

INSTRUMENT_POOLS: Final[dict[str, str]] = {
    CommitmentKind.RESERVED_INSTANCE.policy_name: RI_POOL,
    CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN.policy_name: EC2_SP_POOL,
    CommitmentKind.COMPUTE_SAVINGS_PLAN.policy_name: COMPUTE_SP_POOL,
    CommitmentKind.DATABASE_SAVINGS_PLAN.policy_name: DATABASE_SP_POOL,
    CommitmentKind.SAGEMAKER_SAVINGS_PLAN.policy_name: SAGEMAKER_SP_POOL,
}
"""Pool kind of each policy instrument."""


PLAN_TYPES: Final[dict[str, str]] = {
    k: k.savings_plan_type for k in CommitmentKind if k.is_savings_plan
}
"""Catalog ``plan_type`` of each Savings Plans pool kind."""


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


def ri_candidates(
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
        # a flexible column's (platform, tenancy) is its purchase kind: Linux/UNIX Shared for
        # EC2, the reservation's product description and Single-AZ (RDS) or Node (ElastiCache)
        capable = rows.loc[size_flexible_keys(rows["platform"], rows["tenancy"])].copy()
        capable["instance_family"] = instance_families(capable["instance_type"]).astype(str)
        capable["units_per_instance"] = factors_or_nan(capable["instance_type"]) * (
            unit_multipliers(capable["tenancy"], capable["platform"])
        )
        capable = capable.loc[np.isfinite(capable["units_per_instance"].to_numpy())]
        scope = ["region", "instance_family", "platform", "tenancy"]
        smallest = capable.sort_values(
            [*scope, *offering, "units_per_instance", "instance_type"], kind="stable"
        ).drop_duplicates([*scope, *offering], keep="first")
        joined = flexible[["column", *scope]].merge(smallest, on=scope, how="inner")
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


def best_ri(candidates: pd.DataFrame, *, by_payment: bool = False) -> pd.DataFrame:
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


def sp_ratios(catalog: PriceCatalog, keyed: UsageKeys) -> pd.DataFrame:
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
    joined = joined.loc[
        plan_covers(joined["plan_type"], joined["instance_type"], joined["platform"])
    ]
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


def best_sp(
    ratios: pd.DataFrame, kind: str, policy: Policy, rate: float
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Best Savings Plans offering of every scope of ``kind`` (of every scope and payment option
    when the policy caps upfront cash, as for :func:`best_ri`).

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


def pool_row(kind: str, **fields: object) -> dict[str, object]:
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


@dataclass(frozen=True, eq=False)
class PoolBlock:
    """Pools of one kind, owned or new, before they are numbered."""

    pools: pd.DataFrame
    entries: pd.DataFrame
    """(pool, column, value) with ``pool`` local to the block."""
    prices: pd.DataFrame | None = None
    """New pools: upfront, recurring, effective [per unit], level [USD per unit-hour], term."""
    capacity: FloatArray | None = None
    """Owned pools: hours × pools [units/h]."""


def new_ri_block(best: pd.DataFrame, columns: pd.DataFrame) -> PoolBlock:
    """One new RI pool per column with an allowed offering."""
    column = best["column"].to_numpy(dtype=np.intp)
    picked = columns.iloc[column].reset_index(drop=True)
    flexible = picked["size_flexible"].to_numpy(dtype=bool)
    pools = pd.DataFrame(
        [
            pool_row(
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
    return PoolBlock(pools, entries, prices=prices)


def new_sp_block(chosen: pd.DataFrame, entries: pd.DataFrame, kind: str, rate: float) -> PoolBlock:
    """One new Savings Plans pool per scope, at its best offering."""
    ec2 = kind == EC2_SP_POOL
    scope = ["region", "instance_family"] if ec2 else ["_scope"]
    pools = pd.DataFrame(
        [
            pool_row(
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
    return PoolBlock(
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


def empty_block() -> PoolBlock:
    return PoolBlock(
        pd.DataFrame(columns=list(POOL_FIELDS)),
        pd.DataFrame({"pool": [], "column": [], "value": []}),
    )


def tranche_starts(hours: pd.DatetimeIndex, tranches: int) -> IntArray:
    """Hour index of each tranche's start: the first hour, then the next month starts."""
    return month_start_rows(hours)[:tranches]


def tranche_offers(
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
    interval, first = group_rows(pairs) if len(pairs) else (np.zeros(0, np.intp),) * 2
    return offers, pairs[first].astype(np.intp).reshape(-1, 2), interval


__all__ = [
    "INSTRUMENT_POOLS",
    "PLAN_TYPES",
    "PoolBlock",
    "annuity_hours",
    "best_ri",
    "best_sp",
    "empty_block",
    "hour_discount",
    "level_cost",
    "new_ri_block",
    "new_sp_block",
    "pool_row",
    "ri_candidates",
    "sp_ratios",
    "tranche_offers",
    "tranche_starts",
]
