"""Owned commitments of :func:`optimizer.build.build_problem` as fixed-capacity pools.

Items are checked, priced (the catalog fills a missing recurring rate), matched to their column or
Savings Plans scope, and merged by identical coverage; their capacity is laid on the hours they are
active and their cost is a discounted constant. Conventions in :mod:`optimizer.build`.
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

from optimizer.build_offers import (
    PLAN_TYPES,
    PoolBlock,
    pool_row,
)
from optimizer.build_usage import (
    COLUMN_KEY,
    KEY_FIELDS,
    LINUX,
    SHARED,
    UsageKeys,
    factors_or_nan,
    listed,
)
from optimizer.problem import (
    EC2_SP_POOL,
    POOL_FIELDS,
    RI_POOL,
    BoolArray,
    FloatArray,
    IntArray,
)
from pricing.catalog import PriceCatalog
from pricing.databases import DEPLOYMENT_UNITS, RESERVATION_PLATFORMS
from pricing.instance_types import instance_families
from pricing.inventory import Commitment, Inventory, InventoryError
from pricing.offerings import TERM_HOURS, CommitmentKind
from pricing.services import purchase_deployments, size_flexible_keys, unit_multipliers

_NS_PER_HOUR: Final = 3_600_000_000_000


@dataclass(frozen=True, eq=False)
class OwnedPools:
    """Owned pools: their rows, coverage entries and hourly capacity."""

    pools: pd.DataFrame
    entries: pd.DataFrame
    """(pool, column, value): owned pool index into ``pools``."""
    capacity: FloatArray
    """Hours × owned pools [units/h]."""
    cost_usd: float
    warnings: tuple[str, ...]
    idle_cost_usd: float = 0.0
    """The part of ``cost_usd`` of commitments in no pool: nothing in their scope has usage
    here (an RI for a key that does not run, a SageMaker plan beside EC2 usage) [USD]."""


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
        raise InventoryError(f"owned commitment(s) {listed(ids)}: {problem}; {fix}")


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
    ris["platform"] = ris["platform"].fillna(LINUX).astype(str)
    ris["tenancy"] = ris["tenancy"].fillna(SHARED).astype(str)
    ris["scope"] = ris["scope"].fillna("Region").astype(str)
    ris["offering_class"] = ris["offering_class"].fillna("standard").astype(str)
    ris["region"] = ris["region"].astype(str)
    ris["instance_type"] = ris["instance_type"].astype(str)
    ris["instance_family"] = instance_families(ris["instance_type"]).astype(str)
    _bad_items(
        ris,
        ris["platform"].isin(list(RESERVATION_PLATFORMS)).to_numpy(dtype=bool),
        "no reservation is sold for platform "
        + ", ".join(sorted(set(ris["platform"]) & set(RESERVATION_PLATFORMS))),
        "give the platform of the reservations that cover it ("
        + ", ".join(f"{k}: {v}" for k, v in RESERVATION_PLATFORMS.items())
        + ")",
    )
    # a Multi-AZ database reservation holds twice its size's units
    factor = factors_or_nan(ris["instance_type"]) * unit_multipliers(
        ris["tenancy"], ris["platform"]
    )
    # size-flexible kinds (the scope aside: a zonal EC2 RI is approximated below)
    capable = size_flexible_keys(ris["platform"], ris["tenancy"])
    zonal = (ris["scope"] != "Region").to_numpy(bool)
    flexible = capable & np.isfinite(factor)
    approximated = ris.loc[flexible & zonal, "id"].astype(str).tolist()
    if approximated:
        warnings.append(
            f"zonal RI(s) {listed(approximated)} are applied size-flexibly to their family's "
            "column (usage has no availability zone and Linux/UNIX usage is aggregated by family)"
        )
    ris["size_flexible"] = flexible
    ris["capacity"] = np.where(flexible, count * np.nan_to_num(factor), count)
    ris["unit"] = np.where(flexible, "normalized_units", "instances")
    ris["units_per_instance"] = np.where(flexible, factor, 1.0)
    ris["hourly"] = _ri_hourly_cost(ris, np.asarray(count, dtype=np.float64), catalog)
    ris["column"] = _ri_columns(ris, flexible, columns)
    return ris


def _ri_hourly_cost(ris: pd.DataFrame, count: FloatArray, catalog: PriceCatalog) -> FloatArray:
    """Effective hourly cost of each owned RI item [USD/h]: as given, else upfront ÷ term hours +
    count × recurring (given, else the catalog's rate for the offering).

    Raises
    ------
    pricing.inventory.InventoryError
        Naming the items with neither rates nor a catalog rate.
    """
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
    return hourly


def _ri_columns(ris: pd.DataFrame, flexible: BoolArray, columns: pd.DataFrame) -> IntArray:
    """The column each owned RI item covers: its family column when size-flexible, else its exact
    key's; -1 when no usage column matches."""
    key = ris[list(COLUMN_KEY)].copy()
    key.loc[flexible, "instance_type"] = ""
    # a database family's column is named by its purchase deployment (Single-AZ, Node)
    database = flexible & key["tenancy"].isin(list(DEPLOYMENT_UNITS)).to_numpy(dtype=bool)
    chosen = ris.loc[database]
    key.loc[database, "tenancy"] = purchase_deployments(
        chosen["instance_type"], chosen["platform"], chosen["tenancy"]
    )
    key["size_flexible"] = flexible
    index = columns.reset_index(names="column")[[*COLUMN_KEY, "size_flexible", "column"]]
    index = index.astype({c: str for c in COLUMN_KEY})
    key = key.astype({c: str for c in COLUMN_KEY})
    matched = key.merge(index, on=[*COLUMN_KEY, "size_flexible"], how="left")
    return matched["column"].fillna(-1).to_numpy(dtype=np.intp)


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
    sps["pool_kind"] = sps["kind"].astype(str)  # a Savings Plan's pool kind is its kind
    return sps


def _uniform(values: pd.Series, empty: object) -> object:
    """The common value of a group, or ``empty`` when the values differ."""
    distinct = values.dropna().unique()
    return distinct[0] if len(distinct) == 1 else empty


def owned_pools(
    owned: Inventory | Sequence[Commitment],
    catalog: PriceCatalog,
    keyed: UsageKeys,
    ratios: pd.DataFrame,
    hours: pd.DatetimeIndex,
    discount: FloatArray,
) -> OwnedPools:
    """Owned commitments as fixed-capacity pools, merged by identical scope and ratios."""
    frame = _owned_frame(owned)
    empty_pools = pd.DataFrame(columns=list(POOL_FIELDS))
    no_entries = pd.DataFrame({"pool": [], "column": [], "value": []})
    if frame.empty:
        return OwnedPools(empty_pools, no_entries, np.zeros((len(hours), 0)), 0.0, ())
    charged = _overlap_hours(hours, frame)
    live = charged.sum(axis=1) > 0
    frame, charged = frame.loc[live].reset_index(drop=True), charged[live]
    if frame.empty:
        return OwnedPools(empty_pools, no_entries, np.zeros((len(hours), 0)), 0.0, ())
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
    idle = np.ones(len(frame), dtype=bool)
    idle[np.concatenate([*members, np.zeros(0, dtype=np.intp)])] = False
    return OwnedPools(
        pools=pools,
        entries=pd.concat(entries, ignore_index=True) if entries else no_entries,
        capacity=capacity.reshape(len(hours), len(rows)),
        cost_usd=cost,
        warnings=tuple(warnings),
        idle_cost_usd=float(hourly[idle] @ (charged[idle] @ discount)),
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
            pool_row(
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
            pool_row(
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


def owned_block(owned: OwnedPools, kind: str) -> PoolBlock:
    """The owned pools of one kind."""
    mask = (owned.pools["kind"] == kind).to_numpy(dtype=bool)
    index = np.flatnonzero(mask)
    renumber = np.full(len(owned.pools), -1, dtype=np.intp)
    renumber[index] = np.arange(len(index))
    entries = owned.entries.loc[mask[owned.entries["pool"].to_numpy(dtype=np.intp)]].copy()
    entries["pool"] = renumber[entries["pool"].to_numpy(dtype=np.intp)]
    return PoolBlock(
        owned.pools.iloc[index].reset_index(drop=True),
        entries.reset_index(drop=True),
        capacity=owned.capacity[:, index],
    )


__all__ = [
    "OwnedPools",
    "owned_block",
    "owned_pools",
]
