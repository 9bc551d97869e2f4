"""What any policy that sees only the past can save, in worlds that share that past.

A purchase policy decides at each review on the lookback before it. Two usage histories that
are the same up to an hour — a fleet that stays, and the same fleet that migrates to another
family afterwards — get the same purchases from any such policy at every review up to that
hour: those purchases are *shared*. So no policy can be the best in both worlds when the best
purchases differ, and the ceilings of the backtest (:mod:`planning.ceiling`), each computed
with the foresight of one world, cannot all be reached at once.

:func:`shared_past_bound` writes the billing LP of every world
(:func:`planning.ceiling.billing_program`, over the same unit offers), ties the offers bought
before the worlds part (``x_w = x_0`` for every offer that starts at or before the first hour
whose usage differs), asks each world for a floor on its savings, and maximizes the savings of
one. Each world's LP is a relaxation of its bill (fractional RIs, any allocation of the
commitments to the usage, hours grouped beyond ``max_cells``), so its savings are at least the
billed savings of every plan: a plan whose billed savings meet the floors is feasible. The
bound is the Lagrangian value of the solver's duals, valid whatever its tolerances.

Its use: two targets set on the same policy, "at or above a rule on a steady fleet" and "at
least a share of the ceiling on the same fleet migrating unannounced", are jointly reachable
only if the bound with the first as a floor is at least the second
(``benchmarks/bench_target_conflict.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.optimize
import scipy.sparse as sp

from billing.simulator import priced_keys
from optimizer.policy import Policy
from planning.ceiling import MAX_CELLS, billing_program, lagrangian_value, unit_offers
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment
from usage.table import KEY_COLUMNS, UsageMatrix

FloatArray = npt.NDArray[np.float64]


class SharedPastError(ValueError):
    """The worlds cannot be compared (other hours), or no plan meets the floors."""


@dataclass(frozen=True)
class SharedPastBound:
    """The certified bound on one world's savings, given floors on the others'.

    Attributes
    ----------
    savings_bound_usd
        Upper bound on the savings of world ``target`` of any plan that buys the same before
        ``parted_at`` in every world and meets every floor [USD].
    target
        Index of the world whose savings are bounded.
    parted_at
        First hour at which the worlds' usage differs; ``None`` when it never does.
    shared_offers
        Offers tied across the worlds (those starting at or before ``parted_at``).
    on_demand_cost_usd
        Each world's usage at on-demand rates [USD].
    floors_usd
        The floors asked for, per world (``None``: no floor) [USD].
    shared_plan
        The LP's units of each tied offer that start before the worlds part (one RI, or one
        USD/h of a Savings Plan), fractional; what a policy on the bound buys in every world.
    """

    savings_bound_usd: float
    target: int
    parted_at: pd.Timestamp | None
    shared_offers: int
    on_demand_cost_usd: tuple[float, ...]
    floors_usd: tuple[float | None, ...]
    shared_plan: tuple[tuple[Commitment, float], ...]


def parting_hour(worlds: Sequence[UsageMatrix]) -> pd.Timestamp | None:
    """The first hour at which the worlds' usage differs (keys aligned); ``None`` if never.

    Raises
    ------
    SharedPastError
        When the worlds do not cover the same hours.
    """
    return _first_difference(worlds[0].hours, _aligned(worlds)[1])


def _first_difference(
    hours: pd.DatetimeIndex, quantities: Sequence[FloatArray]
) -> pd.Timestamp | None:
    """The first of ``hours`` at which the aligned usages differ; ``None`` if never."""
    differs = np.zeros(len(hours), dtype=bool)
    for quantity in quantities[1:]:
        differs |= (quantity != quantities[0]).any(axis=1)
    hits = np.flatnonzero(differs)
    return pd.Timestamp(hours[hits[0]]) if len(hits) else None


def shared_past_bound(
    worlds: Sequence[UsageMatrix],
    catalog: PriceCatalog,
    policy: Policy,
    dates: Sequence[pd.Timestamp],
    *,
    target: int,
    floors_usd: Sequence[float | None],
    owned: Sequence[Commitment] = (),
    max_cells: int = MAX_CELLS,
) -> SharedPastBound:
    """Bound world ``target``'s savings over the plans that buy the same in every world
    until the worlds part, and save at least ``floors_usd`` in the others.

    Parameters
    ----------
    worlds
        The billed windows, hours × keys [instance-hours], over the same hours.
    catalog
        Prices.
    policy
        What may be bought (instruments, terms, payment options, RI classes).
    dates
        Purchase dates (UTC hours inside the window).
    target
        The world whose savings are bounded.
    floors_usd
        Per world, the savings a plan must at least bill there (``None``: no floor) [USD].
    owned
        Commitments owned throughout, in every world.
    max_cells
        Periods × keys above which a world's hours are grouped (a coarser, still valid bound).

    Raises
    ------
    SharedPastError
        For worlds over other hours, a floor per world missing, or floors no plan meets.
    """
    if len(floors_usd) != len(worlds) or not 0 <= target < len(worlds):
        raise SharedPastError("give one floor per world (None for none) and a target among them")
    keys, quantities = _aligned(worlds)
    hours = worlds[0].hours
    aligned = [UsageMatrix(hours, keys, quantity) for quantity in quantities]
    union = UsageMatrix(hours, keys, np.sum(quantities, axis=0))
    offers = unit_offers(union, catalog, policy, dates)
    parted_at = _first_difference(hours, quantities)
    shared = np.array(
        [parted_at is None or pd.Timestamp(o.start) <= parted_at for o in offers], dtype=bool
    )
    programs = [billing_program(w, catalog, owned, offers, max_cells)[0] for w in aligned]
    od_rates = priced_keys(keys, catalog)["on_demand_usd_per_hour"].to_numpy(dtype=np.float64)
    on_demand = tuple(float((q @ od_rates).sum()) for q in quantities)
    # the columns: the tied offers once, then each world's other offers and allocations
    tied = np.flatnonzero(shared)
    n = len(tied)
    columns: list[npt.NDArray[np.intp]] = []
    for program in programs:
        width = len(program.cost)
        own = np.ones(width, dtype=bool)
        own[tied] = False
        column = np.empty(width, dtype=np.intp)
        column[tied] = np.arange(len(tied))
        column[own] = n + np.arange(int(own.sum()))
        n += int(own.sum())
        columns.append(column)
    selections = [  # world column -> joint column
        sp.csr_matrix((np.ones(len(c)), (np.arange(len(c)), c)), shape=(len(c), n)) for c in columns
    ]
    upper = np.zeros(n)
    for program, selection in zip(programs, selections, strict=True):
        # a tied offer's box is the widest of the worlds' (each loses no plan worth buying)
        upper = np.maximum(upper, selection.T @ program.upper)
    cost = np.asarray(selections[target].T @ programs[target].cost, dtype=np.float64)
    blocks = [sp.csr_matrix(p.matrix @ s) for p, s in zip(programs, selections, strict=True)]
    rhs = [p.rhs for p in programs]
    for program, selection, floor, world_od in zip(
        programs, selections, floors_usd, on_demand, strict=True
    ):
        if floor is not None:
            # the world's LP cost at most its on-demand cost less the floor
            blocks.append(sp.csr_matrix(program.cost.reshape(1, -1)) @ selection)
            rhs.append(np.array([world_od - float(floor) - program.constant_usd]))
    matrix = sp.vstack(blocks, format="csr")
    b = np.concatenate(rhs)
    lower = np.zeros(n)
    result = scipy.optimize.linprog(
        cost, A_ub=matrix, b_ub=b, bounds=np.column_stack([lower, upper]), method="highs"
    )
    if result.status == 2:
        raise SharedPastError(
            "no plan meets every floor: lower a floor to at most that world's own ceiling"
        )
    if result.status != 0:
        raise SharedPastError(f"the shared-past LP did not solve: {result.message}")
    dual_cost = lagrangian_value(cost, matrix, b, -result.ineqlin.marginals, lower, upper)
    bound = on_demand[target] - (programs[target].constant_usd + dual_cost)
    units = np.asarray(result.x[: len(tied)], dtype=np.float64)
    plan = tuple((offers[i], float(u)) for i, u in zip(tied, units, strict=True) if u > 1e-9)
    return SharedPastBound(
        savings_bound_usd=bound,
        target=target,
        parted_at=parted_at,
        shared_offers=len(tied),
        on_demand_cost_usd=on_demand,
        floors_usd=tuple(None if f is None else float(f) for f in floors_usd),
        shared_plan=plan,
    )


def _aligned(worlds: Sequence[UsageMatrix]) -> tuple[pd.DataFrame, list[FloatArray]]:
    """The union of the worlds' keys, sorted, and each world's usage over them."""
    if not worlds:
        raise SharedPastError("give at least one world")
    hours = worlds[0].hours
    if any(not w.hours.equals(hours) for w in worlds[1:]):
        raise SharedPastError("the worlds cover other hours: slice them to the same window")
    keys = (
        pd.concat([w.keys[list(KEY_COLUMNS)] for w in worlds], ignore_index=True)
        .drop_duplicates()
        .sort_values(list(KEY_COLUMNS))
        .reset_index(drop=True)
    )
    index = pd.MultiIndex.from_frame(keys)
    quantities = []
    for world in worlds:
        columns = index.get_indexer(pd.MultiIndex.from_frame(world.keys[list(KEY_COLUMNS)]))
        quantity = np.zeros((len(hours), len(keys)))
        quantity[:, columns] = world.quantity
        quantities.append(quantity)
    return keys, quantities


__all__ = ["SharedPastBound", "SharedPastError", "parting_hour", "shared_past_bound"]
