"""The fill engine of the billing simulator: pools of commitments applied to keys × hours.

A *pool* is a set of instruments of one kind that cover the same keys in the same order with
the same capacity per instance-hour: RIs of one scope (a size-flexible family in a region, or
one exact key), or Savings Plans of one type, scope (region + family for EC2 Instance plans),
term and payment option (hence the same rates). Applying them one after another in one key
order equals applying their summed capacity (as AWS pools the Savings Plans of a type), so a pool
is filled once.

Passes (each commitment serves its owner's account first):

* pass 0, for each owner account in turn: the pool's instruments owned by it, on that account's
  keys;
* pass 1: all the pool's instruments (the unowned ones, and the owned ones' leftovers when
  sharing is on) on every account's keys. An owned instrument with capacity left after pass 0
  has covered all of its owner's usage it may cover in that hour, so serving "everyone" then
  equals serving "the other accounts".

All pools of a kind run pass 0, then all run pass 1; RI pools of exact keys (zonal RIs among
them) before size-flexible ones.

A fill walks the pool's keys in their fixed order (:func:`billing.fill.walk_keys`, the kernel's
one walk, with or without the record); each step is vectorised over all hours at once:
take = min(the key's remaining usage × its weight, the capacity left), for every hour. The
remaining usage is kept as keys × hours, so each key is one contiguous row.

Within a pass the pooled capacity is used member by member in portfolio order, every hour, so
each instrument's used capacity per hour, and its cost (each member at its own price; a partial
first or last hour at its charged fraction), are exact. The instance-hours and on-demand
equivalent a pooled pass covered are shared among its members in proportion to the capacity
each used that hour (Savings Plans of one pool have the same rates, so which of them covered
which key is a convention; AWS does not state it). In the ledger, each member's monthly figures
are spread over the keys the pass covered that month in proportion to the keys' own figures, so
both margins are exact: per instrument and month, and per key and month (hence by account,
region and family).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from billing.fill import walk_keys
from billing.portfolio import Instrument
from pricing.catalog import PriceCatalog
from pricing.errors import MissingPriceError
from pricing.offerings import CommitmentKind
from pricing.services import (
    plan_covers,
    reservation_platforms,
    savings_plan_eligible,
    size_flexible_keys,
)

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

KINDS: Final = tuple(CommitmentKind)
"""Instrument kinds in the order AWS applies them."""


@dataclass(frozen=True, eq=False)
class Pool:
    """Instruments applied together, and the keys they cover in order.

    Attributes
    ----------
    kind
        The instruments' kind.
    members
        Indices of the instruments (portfolio order).
    order
        Keys the pool may cover, in the order it covers them.
    weight
        Capacity one instance-hour of each key takes (normalized units, 1 instance, or the SP
        rate [USD]), per key; only the ``order`` keys are meaningful.
    """

    kind: str
    members: tuple[int, ...]
    order: IndexArray
    weight: FloatArray


@dataclass(frozen=True, eq=False)
class Piece:
    """What one pass of one pool covered, per month.

    Attributes
    ----------
    kind
        The pool's kind.
    members
        Instruments of the pass.
    key_index
        Keys the pass covered something of.
    hours_mk
        Covered usage, months × ``key_index`` [instance-hours].
    cost_mk
        Its cost at the members' prices (each member's band of capacity used in order) [USD].
    od_mk
        Its on-demand equivalent [USD].
    member_hours, member_od, member_cost
        Per member and month (members × months): covered usage [instance-hours], its on-demand
        equivalent [USD] and the used cost [USD].
    """

    kind: str
    members: IndexArray
    key_index: IndexArray
    hours_mk: FloatArray
    cost_mk: FloatArray
    od_mk: FloatArray
    member_hours: FloatArray
    member_od: FloatArray
    member_cost: FloatArray


def _ri_scope(columns: dict[str, npt.NDArray[np.object_]], instrument: Instrument) -> BoolArray:
    """Keys an RI may cover (``columns``: the key table's label columns as arrays)."""
    mask = columns["region"] == instrument.region
    if instrument.size_flexible:
        # a size-flexible reservation covers its family in normalized units, and the keys of
        # every platform it is the reservation of (a MemoryDB Redis OSS reserved node covers
        # Valkey nodes too, each counting 0.7 of its size's units: pricing.databases)
        mask &= columns["reservation_platform"] == instrument.platform
        mask &= columns["instance_family"] == instrument.instance_family
        # a size-flexible database reservation covers every deployment of its engine (in
        # normalized units: a Multi-AZ instance counts twice); an EC2 one its tenancy only
        same_tenancy = columns["tenancy"] == instrument.tenancy
        mask &= same_tenancy | columns["database_flexible"]
    else:
        mask &= (
            (columns["platform"] == instrument.platform)
            & (columns["instance_type"] == instrument.instance_type)
            & (columns["tenancy"] == instrument.tenancy)
        )
    return np.asarray(mask, dtype=np.bool_)


def _unpriced_warning(instrument: Instrument, keys: pd.DataFrame, missing: BoolArray) -> str:
    """One line: a Savings Plan that cannot cover some keys of its scope for lack of a rate."""
    absent = keys.loc[missing, ["region", "instance_type", "platform", "tenancy"]]
    names = [" ".join(map(str, row)) for row in absent.drop_duplicates().itertuples(index=False)]
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return (
        f"Savings Plan {instrument.id}: no {instrument.plan_type} Savings Plans rate "
        f"({instrument.term_years} y {instrument.payment_option}) for {', '.join(names[:3])}"
        f"{more}; that usage stays on-demand; {MissingPriceError.REMEDY}"
    )


def build_pools(
    instruments: Sequence[Instrument],
    keys: pd.DataFrame,
    catalog: PriceCatalog,
) -> tuple[list[Pool], list[str]]:
    """Group instruments into pools, in the order AWS applies them; warnings for SP scopes
    with keys the catalog has no Savings Plans rate for.

    ``keys`` needs the usage key columns plus ``instance_family``, ``normalization_factor``
    and ``on_demand_usd_per_hour``.
    """
    n_keys = len(keys)
    factors = keys["normalization_factor"].to_numpy(dtype=np.float64)
    od = keys["on_demand_usd_per_hour"].to_numpy(dtype=np.float64)
    size_order = np.lexsort((np.arange(n_keys), factors)).astype(np.intp)
    groups: dict[tuple[object, ...], list[int]] = {}
    for index, inst in enumerate(instruments):
        if inst.kind == CommitmentKind.RESERVED_INSTANCE:
            target = inst.instance_family if inst.size_flexible else inst.instance_type
            group: tuple[object, ...] = (
                inst.kind, not inst.size_flexible, inst.region, target, inst.platform,
                inst.tenancy, inst.size_flexible,
            )  # fmt: skip
        else:
            group = (
                inst.kind, inst.region, inst.instance_family, inst.term_years,
                inst.payment_option,
            )  # fmt: skip
        groups.setdefault(group, []).append(index)
    columns = {
        name: keys[name].astype(object).fillna("").to_numpy(dtype=object)
        for name in ("region", "instance_type", "platform", "tenancy", "instance_family")
    }
    ec2 = savings_plan_eligible(keys["instance_type"].astype(str))
    columns["database_flexible"] = ~ec2 & size_flexible_keys(keys["platform"], keys["tenancy"])
    columns["reservation_platform"] = reservation_platforms(keys["platform"])
    rate_cache: dict[tuple[str, int, str], FloatArray] = {}
    scope_cache: dict[str, npt.NDArray[np.bool_]] = {}
    pools: list[Pool] = []
    warnings: list[str] = []
    for kind in KINDS:
        found = [(group, members) for group, members in groups.items() if group[0] == kind]
        if kind == CommitmentKind.RESERVED_INSTANCE:  # exact keys (zonal RIs too) before families
            found.sort(key=lambda item: not item[0][1])
        for _, members in found:
            first = instruments[members[0]]
            if kind == CommitmentKind.RESERVED_INSTANCE:
                eligible = _ri_scope(columns, first)
                weight = factors if first.size_flexible else np.ones(n_keys)
                order = size_order[eligible[size_order]]
            else:
                lookup = (str(first.plan_type), first.term_years, first.payment_option)
                if lookup not in rate_cache:
                    rate_cache[lookup] = catalog.savings_plan_rates(keys, *lookup).astype(
                        np.float64
                    )
                rates = rate_cache[lookup]
                # each Savings Plan type covers its services (pricing.services.PLAN_SERVICES):
                # Compute EC2, Fargate and Lambda; EC2 Instance EC2; Database RDS and
                # ElastiCache; SageMaker SageMaker
                plan_type = str(first.plan_type)
                if plan_type not in scope_cache:
                    scope_cache[plan_type] = plan_covers(
                        [plan_type] * n_keys,
                        keys["instance_type"].astype(str),
                        keys["platform"].astype(str),
                    )
                scope = scope_cache[plan_type].copy()
                if kind == CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN:
                    scope &= np.asarray(
                        (columns["region"] == first.region)
                        & (columns["instance_family"] == first.instance_family),
                        dtype=np.bool_,
                    )
                priced = rates > 0
                if (scope & ~priced).any():
                    warnings.extend(
                        _unpriced_warning(instruments[m], keys, scope & ~priced) for m in members
                    )
                eligible = scope & priced
                weight = np.where(eligible, rates, 1.0)
                discount = np.where(eligible, 1.0 - weight / np.where(od > 0, od, 1.0), -1.0)
                by_discount = np.lexsort((np.where(eligible, weight, np.inf), -discount))
                order = by_discount[eligible[by_discount]].astype(np.intp)
            pools.append(Pool(kind, tuple(members), order, weight))
    return pools, warnings


class Engine:
    """Remaining usage, what each kind covered, and each instrument's capacity left.

    Parameters
    ----------
    quantity
        Usage, hours × keys [instance-hours] (not modified).
    instruments
        All instruments, in portfolio order.
    od_rates
        On-demand rate per key [USD/h].
    month_starts
        Hour index where each calendar month starts.
    record
        Keep what each pass covered (:attr:`covered`, :attr:`pieces`) for the ledger. Without it
        only :attr:`remaining` and :attr:`left` are updated, the same figures with about half
        the work per key (what Monte Carlo needs: totals per hour).
    keys_by_hours
        ``quantity`` is already keys × hours (C-ordered); it is then used in place (consumed)
        instead of copied.
    capacity
        Capacity of each instrument per hour, instruments × hours (used in place as
        :attr:`left`); default: each instrument's ``capacity`` in its active hours.
    """

    def __init__(
        self,
        quantity: FloatArray,
        instruments: Sequence[Instrument],
        od_rates: FloatArray,
        month_starts: IndexArray,
        *,
        record: bool = True,
        keys_by_hours: bool = False,
        capacity: FloatArray | None = None,
    ) -> None:
        self.instruments = tuple(instruments)
        self.od_rates = od_rates
        self.month_starts = month_starts
        self.record = record
        self.remaining = quantity if keys_by_hours else _transposed(quantity)
        n_hours = self.remaining.shape[1]
        # usage covered by each kind, only for the keys it covered: key -> row over hours
        self.covered: dict[str, dict[int, FloatArray]] = {kind: {} for kind in KINDS}
        if capacity is not None:
            self.left = capacity
        else:
            self.left = np.zeros((len(self.instruments), n_hours))
            for index, inst in enumerate(self.instruments):
                self.left[index, inst.active] = inst.capacity
        self.pieces: list[Piece] = []

    @property
    def n_hours(self) -> int:
        """Simulated hours."""
        return int(self.remaining.shape[1])

    def monthly(self, values: FloatArray) -> FloatArray:
        """Sum ``... × hours`` into ``... × months`` (the last axis)."""
        if values.shape[-1] == 0:
            return np.zeros((*values.shape[:-1], 0))
        return np.add.reduceat(values, self.month_starts, axis=-1)

    def run(
        self,
        pools: Sequence[Pool],
        accounts: npt.NDArray[np.object_],
        share: bool,
        *,
        kinds: Sequence[str] = KINDS,
        at_kind: Callable[[str, bool], None] | None = None,
    ) -> None:
        """Apply every pool of ``kinds`` (AWS's order by default): per kind, all pools' pass 0
        (owners), then all pools' pass 1. ``at_kind(kind, done)`` is called before
        (``done=False``) and after (``True``) each kind's pools (a caller's checkpoints)."""
        for kind in kinds:
            kind_pools = [pool for pool in pools if pool.kind == kind]
            if at_kind is not None:
                at_kind(kind, False)
            for pool in kind_pools:
                self._owners_pass(pool, accounts)
            for pool in kind_pools:
                self._shared_pass(pool, share)
            if at_kind is not None:
                at_kind(kind, True)

    def run_pool(self, pool: Pool, accounts: npt.NDArray[np.object_], share: bool) -> None:
        """Apply one pool's two passes alone: what :meth:`run` does to its keys and members when
        no other pool of its kind covers any of its keys (the passes then commute)."""
        self._owners_pass(pool, accounts)
        self._shared_pass(pool, share)

    def _owners_pass(self, pool: Pool, accounts: npt.NDArray[np.object_]) -> None:
        """Pass 0: each owner account's members of ``pool`` on that account's keys."""
        owners: dict[str, list[int]] = {}
        for member in pool.members:
            owner = self.instruments[member].account_id
            if owner is not None:
                owners.setdefault(owner, []).append(member)
        for owner, members in owners.items():
            own = accounts[pool.order] == owner
            self._fill(pool, members, pool.order[own])

    def _shared_pass(self, pool: Pool, share: bool) -> None:
        """Pass 1: the pool's unowned members (and, sharing, the owned ones' leftovers) on
        every account's keys."""
        members = [m for m in pool.members if share or self.instruments[m].account_id is None]
        if members:
            self._fill(pool, members, pool.order)

    def _fill(self, pool: Pool, members: list[int], columns: IndexArray) -> None:
        """Fill ``columns`` (in order) with the pooled capacity left of ``members``."""
        if columns.size == 0:
            return
        member_index = np.asarray(members, dtype=np.intp)
        caps = self.left[member_index]
        capacity = caps.sum(axis=0)
        if not capacity.any():
            return
        start = capacity.copy()
        walk = walk_keys(self.remaining, columns, pool.weight, capacity)
        if not self.record:
            for _ in walk:  # the same walk, nothing recorded
                pass
            used_units = start - capacity
            if len(members) > 1:
                used_units = used_units - _band_starts(caps)
            self.left[member_index] = caps - np.clip(used_units, 0.0, caps)
            return
        before = _band_starts(caps)  # where each member's band starts, per hour
        prices = np.stack(  # cost of one capacity unit per hour [USD], partial hours pro rata
            [self.instruments[m].charged
             * (self.instruments[m].effective_usd_per_hour / self.instruments[m].capacity)
             for m in members]
        )  # fmt: skip
        uniform = prices[0]
        mixed = np.flatnonzero(np.ptp(prices, axis=0) > 0) if len(members) > 1 else None
        banded = _Bands(before, caps, prices, mixed) if mixed is not None and mixed.size else None
        cost = np.empty(self.n_hours)
        pass_hours = np.zeros(self.n_hours)
        pass_od = np.zeros(self.n_hours)
        covered = self.covered[pool.kind]
        touched: list[int] = []
        hours_m: list[FloatArray] = []
        cost_m: list[FloatArray] = []
        for key, hours, take in walk:
            if key in covered:
                covered[key] += hours
            else:
                covered[key] = hours.copy()
            pass_hours += hours
            np.multiply(take, uniform, out=cost)
            if banded is not None:
                banded.cost(start - capacity, cost)
            touched.append(key)
            hours_m.append(self.monthly(hours))
            cost_m.append(self.monthly(cost))
            np.multiply(hours, self.od_rates[key], out=cost)
            pass_od += cost
        used_units = start - capacity
        # the pooled use split among the members in order, hour by hour
        used = np.clip(used_units - before, 0.0, caps)
        self.left[member_index] = caps - used
        shares = np.divide(used, used_units, out=np.zeros_like(used), where=used_units > 0)
        key_index = np.asarray(touched, dtype=np.intp)
        hours_mk = np.stack(hours_m, axis=1)
        cost_mk = np.stack(cost_m, axis=1)
        nonzero = hours_mk.any(axis=0) | cost_mk.any(axis=0)
        key_index, hours_mk, cost_mk = key_index[nonzero], hours_mk[:, nonzero], cost_mk[:, nonzero]
        self.pieces.append(
            Piece(
                kind=pool.kind,
                members=member_index,
                key_index=key_index,
                hours_mk=hours_mk,
                cost_mk=cost_mk,
                od_mk=hours_mk * self.od_rates[key_index],
                member_hours=self.monthly(shares * pass_hours),
                member_od=self.monthly(shares * pass_od),
                member_cost=self.monthly(used * prices),
            )
        )


class _Bands:
    """Exact cost of a key's take when the pool's members charge different prices in some
    hours: the members' bands of capacity are used in order, each at its own price."""

    def __init__(
        self, before: FloatArray, caps: FloatArray, prices: FloatArray, hours: IndexArray
    ) -> None:
        self.hours = hours
        self.before = before[:, hours]
        self.caps = caps[:, hours]
        self.prices = prices[:, hours]
        self.spent = np.zeros(len(hours))  # cost of the units used so far [USD]

    def cost(self, used: FloatArray, cost: FloatArray) -> None:
        """Set ``cost`` at the mixed hours, given the units ``used`` after this key."""
        filled = np.clip(used[self.hours] - self.before, 0.0, self.caps)
        spent = (filled * self.prices).sum(axis=0)
        cost[self.hours] = spent - self.spent
        self.spent = spent


def _band_starts(caps: FloatArray) -> FloatArray:
    """``cumsum(caps, axis=0) − caps``, member by member (the same additions in the same order;
    numpy's cumsum along the short first axis loops over every hour in Python-like steps)."""
    before = np.empty_like(caps)
    running = np.zeros(caps.shape[1])
    for index in range(caps.shape[0]):
        running += caps[index]
        np.subtract(running, caps[index], out=before[index])
    return before


def _transposed(quantity: FloatArray) -> FloatArray:
    """A keys × hours C-ordered copy of an hours × keys array, copied in cache-sized blocks."""
    n_hours, n_keys = quantity.shape
    out = np.empty((n_keys, n_hours))
    block = 512
    for first in range(0, n_hours, block):
        out[:, first : first + block] = quantity[first : first + block].T
    return out


__all__ = ["KINDS", "Engine", "Piece", "Pool", "build_pools"]
