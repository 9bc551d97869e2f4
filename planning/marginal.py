"""The marginal saving of each purchase, measured on the bill: a finite difference of two bills.

For each purchase the lookback is billed (:func:`billing.simulator.simulate`, the same usage,
owned commitments, catalog and discount rate as the recommendation's ``with_plan`` bill) with
the plan as it is and with that one purchase reduced by one unit, all other purchases kept:

- a Reserved Instance loses **one RI** of its size (``count − 1``; the purchase disappears when
  it was a single RI);
- a Savings Plan loses **1 % of its commitment** (:data:`SP_STEP_SHARE`), rounded down to AWS's
  step of :data:`pricing.offerings.SP_STEP_USD` by :meth:`pricing.inventory.Commitment.scaled`,
  so at least one step of 0.001 USD/h (the whole plan when it is that small).

The marginal saving is (savings with the plan − savings without that unit) ÷ units removed, i.e.
(actual cost without the unit − actual cost with the plan) ÷ units removed, undiscounted, over
the billed period, in **USD per RI instance** for RIs and **USD per USD/h of commitment** for
Savings Plans. Positive: the last unit bought lowered the bill by that much. Unlike the linear
program's duals, it is the bill's own answer, so it agrees in sign with the savings the
recommendation reports.

Cost: one simulation per purchase on the same usage matrix (pivoted once). Measured on 2 cores:
about 0.05 s per purchase at 1,000 keys × 1,440 h (``docs/report.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from billing.simulator import SimulationResult, simulate
from optimizer.problem import CommitmentProblem
from optimizer.purchases import bought_offers
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment
from usage.table import UsageMatrix, to_matrix

FloatArray = npt.NDArray[np.float64]

SP_STEP_SHARE: Final = 0.01
"""Share of a Savings Plan's commitment removed for its finite difference [1] (rounded down to
AWS's step of 0.001 USD/h, at least one step)."""


def reduced_by_one_unit(purchase: Commitment) -> tuple[Commitment | None, float]:
    """The purchase with one unit removed, and the units removed.

    Parameters
    ----------
    purchase
        A proposed RI or Savings Plan.

    Returns
    -------
    tuple
        The smaller purchase (``None`` when nothing is left), and the units removed: RIs
        [instances], Savings Plans [USD/h of commitment].
    """
    if purchase.is_savings_plan:
        commitment = float(purchase.commitment_usd_per_hour or 0.0)
        smaller = purchase.scaled(1.0 - SP_STEP_SHARE)
        left = float(smaller.commitment_usd_per_hour or 0.0) if smaller is not None else 0.0
        return smaller, commitment - left
    count = int(purchase.count or 0)
    smaller = purchase.scaled((count - 1) / count) if count > 1 else None
    left = int(smaller.count or 0) if smaller is not None else 0
    return smaller, float(count - left)


def _prices_of(
    catalog: PriceCatalog, keys: pd.DataFrame, commitments: Sequence[Commitment]
) -> PriceCatalog:
    """``catalog`` cut to the regions, instance types, platforms and tenancies of the usage's
    keys and the commitments (each of the bills looks its rates up there: a smaller table is
    faster, and every rate a bill uses is in it)."""

    def values(column: str) -> list[str]:
        named = {getattr(item, column) for item in commitments} - {None}
        return sorted({*keys[column].dropna().astype(str), *map(str, named)})

    return catalog.filter(
        regions=values("region"),
        instance_types=values("instance_type"),
        platforms=values("platform"),
        tenancies=values("tenancy"),
    )


def billed_marginal_savings(
    usage: pd.DataFrame | UsageMatrix,
    purchases: Sequence[Commitment],
    catalog: PriceCatalog,
    *,
    owned: Sequence[Commitment] = (),
    discount_rate: float = 0.0,
    with_plan: SimulationResult | None = None,
) -> FloatArray:
    """What the last unit of each purchase saves on the bill (see the module docstring).

    Parameters
    ----------
    usage
        The billed period's usage (the recommendation's lookback).
    purchases
        The proposed purchases.
    catalog
        Prices.
    owned
        Commitments owned, billed as they are in every bill.
    discount_rate
        Yearly discount rate given to the simulator (the figure itself is undiscounted)
        [1/year].
    with_plan
        The plan already billed (``owned`` + ``purchases`` over ``usage``); billed here when
        ``None``.

    Returns
    -------
    numpy.ndarray
        One value per purchase, in order: (cost without one unit − cost with the plan) ÷ units
        removed over the billed period [USD per RI instance, or USD per USD/h of commitment].
    """
    items = tuple(purchases)
    if not items:
        return np.zeros(0)
    matrix = usage if isinstance(usage, UsageMatrix) else to_matrix(usage)
    owned_items = tuple(owned)
    prices = _prices_of(catalog, matrix.keys, (*owned_items, *items))

    def cost_usd(portfolio: Sequence[Commitment]) -> float:
        billed = simulate(matrix, portfolio, prices, discount_rate=discount_rate)
        return billed.totals.actual_cost_usd

    planned_usd = (
        with_plan.totals.actual_cost_usd
        if with_plan is not None
        else cost_usd((*owned_items, *items))
    )
    marginal = np.empty(len(items))
    for n, purchase in enumerate(items):  # one bill per purchase, each over all hours × keys
        smaller, removed = reduced_by_one_unit(purchase)
        rest = (*items[:n], *((smaller,) if smaller is not None else ()), *items[n + 1 :])
        marginal[n] = (cost_usd((*owned_items, *rest)) - planned_usd) / removed
    return marginal


def offer_marginal_savings(
    problem: CommitmentProblem,
    units: FloatArray,
    usage: pd.DataFrame | UsageMatrix,
    purchases: Sequence[Commitment],
    catalog: PriceCatalog,
    *,
    owned: Sequence[Commitment] = (),
    discount_rate: float = 0.0,
    with_plan: SimulationResult | None = None,
) -> FloatArray:
    """:func:`billed_marginal_savings` laid out per offer of ``problem``, as
    :func:`optimizer.explain.explain` takes it (``marginal_usd``).

    ``purchases`` are :func:`optimizer.purchases.purchases_from_units` of ``units`` (one per
    bought offer, in :func:`optimizer.purchases.bought_offers` order); offers not bought are NaN.
    """
    marginal = np.full(problem.n_offers, np.nan)
    offers = bought_offers(problem, units)
    marginal[offers] = billed_marginal_savings(
        usage, purchases, catalog, owned=owned, discount_rate=discount_rate, with_plan=with_plan
    )
    return marginal


__all__ = [
    "SP_STEP_SHARE",
    "billed_marginal_savings",
    "offer_marginal_savings",
    "reduced_by_one_unit",
]
