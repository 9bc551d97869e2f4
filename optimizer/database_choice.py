"""Which won, database reservations or a Database Savings Plan, and why: one sentence per purchase.

Both instruments can cover the same database usage: a reservation one engine's family in one
region (size-flexible, every deployment), a Database Savings Plan every eligible family, engine and
region at its own rates. Per unit of on-demand cost covered, the cheaper of the two on a column is
the one whose price is lower at full use (:func:`optimizer.flexibility.pool_costs`, the offers'
objective per unit times their coverage ratio). The plan picks by expected value over the whole
usage, so the explanation states both facts:

* a bought database reservation: how much more the Database Savings Plan would cost for the same
  usage ("a Database SP would cost 9.4 % more for this usage");
* a bought Database Savings Plan: whether it was also the cheaper per unit, or how much cheaper
  the reservations would have been at full use, and that its commitment follows the usage across
  the families and engines it covers.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import scipy.sparse as sp

from optimizer.flexibility import pool_costs
from optimizer.problem import DATABASE_SP_POOL, RI_POOL, CommitmentProblem, IntArray
from pricing.databases import MULTI_AZ
from pricing.instance_types import DATABASE_CLASS_PREFIXES
from pricing.services import size_flexible_keys

_SAME_PCT: Final = 0.05
"""Gaps below this read as "the same" [%]."""


def database_choice_sentences(problem: CommitmentProblem, bought_pools: IntArray) -> list[str]:
    """Per bought offer's pool: a sentence comparing database reservations with a Database SP on
    the columns it covers, or ``""`` (EC2 pools, or no rival offered)."""
    sentences = multi_az_sentences(problem, bought_pools)
    pools = problem.pools
    kinds = pools["kind"].astype(str).to_numpy()
    if not (kinds == DATABASE_SP_POOL).any():
        return sentences
    costs = pool_costs(problem)
    if costs.empty:
        return sentences
    families = pools["instance_family"].astype(str)
    database_ri = (kinds == RI_POOL) & families.str.startswith(DATABASE_CLASS_PREFIXES).to_numpy()
    by_pool = costs.groupby("pool")
    sp_cost = costs.loc[costs["kind"] == DATABASE_SP_POOL].groupby("column")["cost"].min()
    ri_cost = (
        costs.loc[database_ri[costs["pool"].to_numpy(dtype=np.intp)]]
        .groupby("column")["cost"]
        .min()
    )
    for n, pool in enumerate(np.asarray(bought_pools, dtype=np.intp)):
        if pool not in by_pool.groups:
            continue
        mine = by_pool.get_group(pool)
        columns = mine["column"].to_numpy()
        if database_ri[pool]:
            rival = sp_cost.reindex(columns).to_numpy(dtype=np.float64)
            if not np.isfinite(rival).any():
                continue
            gap = 100.0 * float(np.nanmin(rival / mine["cost"].to_numpy(dtype=np.float64)) - 1.0)
            sentences[n] += (
                " Reservations rather than a Database SP: it would cost "
                + ("the same" if abs(gap) < _SAME_PCT else f"{gap:.1f} % more")
                + " for this usage at full use."
            )
        elif kinds[pool] == DATABASE_SP_POOL:
            rival = ri_cost.reindex(columns).to_numpy(dtype=np.float64)
            mine_cost = mine["cost"].to_numpy(dtype=np.float64)
            found = np.isfinite(rival)
            if not found.any():
                continue
            gap = 100.0 * float(np.max(mine_cost[found] / rival[found]) - 1.0)
            n_columns = len(set(columns.tolist()))
            if gap <= _SAME_PCT:
                head = " A Database SP rather than reservations: it costs no more per unit"
            else:
                head = (
                    " A Database SP rather than reservations, though they cost up to "
                    f"{gap:.1f} % less at full use"
                )
            sentences[n] += (
                f"{head}, and its commitment follows the usage across the {n_columns} database "
                "families and engines it covers, where reservations would sit idle when usage "
                "moves."
            )
    return sentences


def multi_az_sentences(problem: CommitmentProblem, bought_pools: IntArray) -> list[str]:
    """Per bought offer's pool: for a size-flexible database reservation whose family runs
    Multi-AZ instances, why Single-AZ reservations are bought for them; else ``""``."""
    sentences = [""] * len(bought_pools)
    keys = problem.key_columns
    if keys.empty or "tenancy" not in keys:
        return sentences
    # exact-size reservations (SQL Server, Oracle License Included) are bought Multi-AZ
    flexible = size_flexible_keys(keys["platform"], keys["tenancy"])
    multi_az = (keys["tenancy"] == MULTI_AZ).to_numpy(dtype=bool) & flexible
    multi_az_columns = keys.loc[multi_az, "column"].to_numpy(dtype=np.intp)
    if not len(multi_az_columns):
        return sentences
    coverage = sp.coo_array(problem.coverage)
    on_multi_az = np.isin(np.asarray(coverage.col), multi_az_columns)
    reaches = (
        np.bincount(np.asarray(coverage.row, dtype=np.intp)[on_multi_az], minlength=problem.n_pools)
        > 0
    )  # per pool: covers a column with Multi-AZ keys
    is_ri = (problem.pools["kind"].astype(str) == RI_POOL).to_numpy(dtype=bool)
    for n, pool in enumerate(np.asarray(bought_pools, dtype=np.intp)):
        if is_ri[pool] and reaches[pool]:
            sentences[n] = (
                " A Multi-AZ instance counts twice its size's units: two Single-AZ reservations "
                "of its size cover one (AWS applies reservations across Single-AZ and Multi-AZ "
                "in normalized units)."
            )
    return sentences
