"""Equal prices, flexible choice: which instruments give way to a more flexible one that costs
(nearly) the same.

When two instruments cover the same usage at the same cost the LP's choice between them is an
arbitrary vertex, and within a few tenths of a percent it is noise in the prices. The more
flexible instrument is the better bet then: a Compute Savings Plan also covers other families,
regions, sizes and platforms; an EC2 Instance Savings Plan other sizes, platforms and tenancies of
its family; a regional RI only its family's Linux/UNIX shared usage (or one key).

Cost of a new pool on a column: its tranche-0 offer's ``objective_usd_per_unit`` × its coverage
ratio (units per on-demand USD), i.e. what one on-demand USD of that column's usage costs
through the pool over the horizon, time value included. A new pool P *gives way* to a more
flexible new pool Q (:data:`FLEXIBILITY_ORDER`) when, on every column P covers, Q covers it and
Q's cost is within :data:`FLEXIBILITY_TOLERANCE_PCT` of the cheapest new pool's there; the most
flexible such Q is chosen. Whatever P would have covered Q can cover, at a commitment scaled by
at most the largest cost ratio, so buying Q instead of P costs at most the tolerance on what P
would have cost (:func:`optimizer.rounding.round_plan` makes the swap and keeps it only when the
billed objective stays within that bound).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimizer.problem import (
    COMPUTE_SP_POOL,
    DATABASE_SP_POOL,
    EC2_SP_POOL,
    RI_POOL,
    SAGEMAKER_SP_POOL,
    BoolArray,
    CommitmentProblem,
    FloatArray,
)

FLEXIBILITY_TOLERANCE_PCT: Final = 0.5
"""Relative cost difference within which two instruments count as tied: a more flexible one up
to this much dearer per on-demand USD covered is preferred [%]."""

FLEXIBILITY_ORDER: Final = MappingProxyType(
    {RI_POOL: 0, EC2_SP_POOL: 1, COMPUTE_SP_POOL: 2, DATABASE_SP_POOL: 2, SAGEMAKER_SP_POOL: 2}
)
"""Rank of each pool kind, more flexible higher: regional RI, EC2 Instance SP, Compute SP; for
databases, a reservation, then a Database SP (any family, engine and region it covers)."""

PREFERENCE_FIELDS: Final = (
    "pool",
    "kind",
    "preferred_pool",
    "preferred_kind",
    "cost_gap_pct",
)
"""Columns of :func:`flexible_preferences`: the pool that gives way, the pool preferred and how
much dearer the preferred pool is at most, over the columns of the first [%] (≤ 0: it is not
dearer)."""


def pool_costs(problem: CommitmentProblem) -> pd.DataFrame:
    """(pool, column, kind, cost) of every new pool on every column it covers [USD over the
    horizon per on-demand USD/h covered]."""
    offers = problem.offers
    first = offers.loc[offers["tranche"].to_numpy() == 0]
    objective = np.full(problem.n_pools, np.nan)
    objective[first["pool"].to_numpy(dtype=np.intp)] = first["objective_usd_per_unit"].to_numpy(
        dtype=np.float64
    )
    coverage = sp.coo_array(problem.coverage)
    pool = np.asarray(coverage.row, dtype=np.intp)
    column = np.asarray(coverage.col, dtype=np.intp)
    value = np.asarray(coverage.data, dtype=np.float64)
    owned = problem.pools["owned"].to_numpy(dtype=bool)[pool]
    kind = problem.pools["kind"].astype(str).to_numpy()[pool]
    keep = ~owned & np.isfinite(objective[pool]) & (value > 0)
    return pd.DataFrame(
        {
            "pool": pool[keep],
            "column": column[keep],
            "kind": kind[keep],
            "cost": objective[pool[keep]] * value[keep],
        }
    )


def flexible_preferences(
    problem: CommitmentProblem, *, tolerance_pct: float = FLEXIBILITY_TOLERANCE_PCT
) -> pd.DataFrame:
    """The new pools that give way to a more flexible new pool of (nearly) the same cost.

    Parameters
    ----------
    problem
        The reduced problem.
    tolerance_pct
        Relative cost difference counted as a tie [%].

    Returns
    -------
    pandas.DataFrame
        :data:`PREFERENCE_FIELDS`, one row per pool that gives way (module docstring).
    """
    costs = pool_costs(problem)
    empty = pd.DataFrame({name: pd.Series(dtype=object) for name in PREFERENCE_FIELDS})
    if costs.empty:
        return empty
    costs["rank"] = costs["kind"].map(dict(FLEXIBILITY_ORDER)).fillna(-1).astype(int)
    cheapest = costs.groupby("column")["cost"].transform("min")
    costs["tied"] = costs["cost"] <= cheapest * (1.0 + tolerance_pct / 100.0)
    pairs = costs.merge(costs, on="column", suffixes=("", "_q"))
    pairs = pairs.loc[pairs["rank_q"] > pairs["rank"]]
    if pairs.empty:
        return empty
    pairs["gap_pct"] = 100.0 * (pairs["cost_q"] / pairs["cost"] - 1.0)
    per_pair = (
        pairs.groupby(["pool", "pool_q"], sort=True)
        .agg(
            tied=("tied_q", "all"),
            columns=("column", "nunique"),
            gap=("gap_pct", "max"),
            rank_q=("rank_q", "first"),
        )
        .reset_index()
    )
    n_columns = costs.groupby("pool")["column"].nunique()
    per_pair = per_pair.loc[
        per_pair["tied"]
        & (per_pair["columns"].to_numpy() == n_columns.reindex(per_pair["pool"]).to_numpy())
    ]
    chosen = per_pair.sort_values(
        ["pool", "rank_q", "gap", "pool_q"], ascending=[True, False, True, True], kind="stable"
    ).drop_duplicates("pool", keep="first")
    kinds = problem.pools["kind"].astype(str).to_numpy()
    return pd.DataFrame(
        {
            "pool": chosen["pool"].to_numpy(dtype=np.intp),
            "kind": kinds[chosen["pool"].to_numpy(dtype=np.intp)],
            "preferred_pool": chosen["pool_q"].to_numpy(dtype=np.intp),
            "preferred_kind": kinds[chosen["pool_q"].to_numpy(dtype=np.intp)],
            "cost_gap_pct": chosen["gap"].to_numpy(dtype=np.float64),
        }
    ).reset_index(drop=True)


def moved_units(
    problem: CommitmentProblem, units: FloatArray, moved: pd.Series, into: pd.Series
) -> FloatArray:
    """``units`` with what some pools' tranche-0 offers cover added to other pools.

    An offer of pool P covering D on-demand USD/h of a column holds D × coverage[P, column]
    units, so a pool Q covering the same needs D × coverage[Q, column]: P's units times the
    largest ratio coverage[Q, c] ÷ coverage[P, c] over the columns both cover (at least what P
    covered, whichever column it covered).

    Parameters
    ----------
    problem
        The reduced problem.
    units
        Units of each offer [units]; the giving pools' own units are left as they are.
    moved
        By giving pool: the units of its tranche-0 offer whose cover moves [units]; negative
        takes cover back from the receiving pool.
    into
        By giving pool: the pool that receives its cover.

    Returns
    -------
    numpy.ndarray
        Units of each offer, the receiving pools' tranche-0 offers changed [units].
    """
    offers = problem.offers
    pool = offers["pool"].to_numpy(dtype=np.intp)
    first = offers["tranche"].to_numpy() == 0
    result = np.array(units, dtype=np.float64)
    if into.empty:
        return result
    coverage = sp.coo_array(problem.coverage)
    cells = pd.DataFrame({"pool": coverage.row, "column": coverage.col, "value": coverage.data})
    cells = cells.loc[cells["value"] > 0]
    links = pd.DataFrame(
        {"pool": into.index.to_numpy(dtype=np.intp), "receiver": into.to_numpy(dtype=np.intp)}
    )
    pairs = links.merge(cells, on="pool").merge(
        cells.rename(columns={"pool": "receiver", "value": "value_q"}), on=["receiver", "column"]
    )
    ratio = (pairs["value_q"] / pairs["value"]).groupby(pairs["pool"]).max()
    receiver = into.reindex(ratio.index).to_numpy(dtype=np.intp)
    extra = (moved.reindex(ratio.index).fillna(0.0) * ratio).groupby(receiver).sum()
    offer_of_pool = pd.Series(np.flatnonzero(first), index=pool[first])
    targets = offer_of_pool.reindex(extra.index.to_numpy(dtype=np.intp))
    keep = targets.notna().to_numpy()
    np.add.at(result, targets.to_numpy()[keep].astype(np.intp), extra.to_numpy()[keep])
    return result


def moved_to_preferred(
    problem: CommitmentProblem, units: FloatArray, preferences: pd.DataFrame
) -> FloatArray:
    """``units`` with each pool that gives way emptied into its preferred pool
    (:func:`moved_units`): the start of the flexible swap's re-solve
    (:func:`optimizer.rounding.round_plan`). Emptying the pools alone leaves their usage
    on-demand, a start 1–4 % dearer than the plan, which the cuts near it did not repair in
    three iterations at 1,000 keys; this start met the certificate at once.

    Parameters
    ----------
    problem
        The reduced problem.
    units
        Units of each offer [units].
    preferences
        :func:`flexible_preferences` of ``problem``.

    Returns
    -------
    numpy.ndarray
        Units of each offer, the giving-way pools' offers at zero [units].
    """
    pool = problem.offers["pool"].to_numpy(dtype=np.intp)
    first = problem.offers["tranche"].to_numpy() == 0
    giving = preferences["pool"].to_numpy(dtype=np.intp)
    held = pd.Series(np.where(first, units, 0.0)).groupby(pool).sum()
    emptied = np.where(np.isin(pool, giving), 0.0, np.asarray(units, dtype=np.float64))
    into = preferences.set_index("pool")["preferred_pool"]
    return moved_units(problem, emptied, held.reindex(into.index).fillna(0.0), into)


def rebalanced(
    problem: CommitmentProblem, continuous: FloatArray, rounded: FloatArray, fixed: BoolArray
) -> FloatArray:
    """The rounded plan with the Savings Plans moved by what the rounding moved: the start of
    the re-solve around whole RIs (:func:`optimizer.rounding.round_plan`).

    Each fixed pool's tranche-0 units lost to rounding (``continuous − rounded``; negative when
    rounded up) are covered by (taken from) a new Savings Plan pool covering all its columns:
    one the continuous plan holds if any, the cheapest there (:func:`moved_units`). The plain
    rounding leaves the Savings Plans where they were, so the usage a rounded-down RI no
    longer covers is on-demand and the re-solve's first plans bill above it.

    Parameters
    ----------
    problem
        The reduced problem.
    continuous, rounded
        Units of each offer before and after rounding [units].
    fixed
        Offers the rounding fixed (the RIs).

    Returns
    -------
    numpy.ndarray
        ``rounded`` where fixed, the Savings Plans moved elsewhere [units].
    """
    pool = problem.offers["pool"].to_numpy(dtype=np.intp)
    first = problem.offers["tranche"].to_numpy() == 0
    start = np.where(fixed, rounded, continuous)
    delta = pd.Series(np.where(first & fixed, continuous - rounded, 0.0)).groupby(pool).sum()
    delta = delta.loc[delta.abs() > 1e-12]
    costs = pool_costs(problem)
    if delta.empty or costs.empty:
        return start
    giving = costs.loc[costs["pool"].isin(delta.index), ["pool", "column"]]
    plans = costs.loc[costs["kind"] != RI_POOL, ["pool", "column", "cost"]]
    held = pd.Series(np.where(first, continuous, 0.0)).groupby(pool).sum()
    pairs = giving.merge(plans.rename(columns={"pool": "receiver"}), on="column")
    per_pair = (
        pairs.groupby(["pool", "receiver"], sort=True)
        .agg(columns=("column", "nunique"), cost=("cost", "sum"))
        .reset_index()
    )
    n_columns = giving.groupby("pool")["column"].nunique()
    per_pair = per_pair.loc[
        per_pair["columns"].to_numpy() == n_columns.reindex(per_pair["pool"]).to_numpy()
    ]
    per_pair["unheld"] = held.reindex(per_pair["receiver"]).fillna(0.0).to_numpy() <= 0
    chosen = per_pair.sort_values(
        ["pool", "unheld", "cost", "receiver"], kind="stable"
    ).drop_duplicates("pool", keep="first")
    into = chosen.set_index("pool")["receiver"]
    return moved_units(problem, start, delta.reindex(into.index), into)


__all__ = [
    "FLEXIBILITY_ORDER",
    "FLEXIBILITY_TOLERANCE_PCT",
    "PREFERENCE_FIELDS",
    "flexible_preferences",
    "moved_to_preferred",
    "moved_units",
    "pool_costs",
    "rebalanced",
]
