"""The marginal saving of each purchase, measured on the bill: a finite difference of two bills.

For each purchase the lookback is billed with AWS's rules (the same usage, owned commitments and
catalog as the recommendation's ``with_plan`` bill) with the plan as it is and with that one
purchase reduced by one unit, all other purchases kept:

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

Cost: one bill per purchase, by the billing engine of :func:`billing.simulator.simulate` run
through :class:`scenarios.montecarlo.MonteCarloModel` with the lookback as its one path: the
pools and the merged key columns are built once, and each bill fills them with one instrument
scaled (:meth:`billing.portfolio.Instrument.scaled`, exact at whole RIs and SP steps); totals
equal ``simulate``'s to floating-point rounding. A kind with several purchases measured has its
bills resumed after the kind (:class:`scenarios.changed_bills.ChangedBills`: only the changed
pool and the later kinds are filled again, the same figures). Without a Compute Savings Plan
the bill separates by region and family (an RI or EC2 Instance SP reaches only its own), and a
large portfolio is then billed one region and family at a time
(:data:`GROUPED_FROM_INSTRUMENTS`).
Measured (2 cores, shared; ``docs/report.md``): 50 purchases at 1,000 keys × 1,440 h in 0.6–0.8 s;
the 1,000-key benchmark fleet's 730 purchases (one a Compute SP) at 2,160 h in about 110 s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from billing.portfolio import Instrument, SimulationPortfolio, build_portfolio
from core.errors import CommitoptInputError
from optimizer.problem import CommitmentProblem
from optimizer.purchases import bought_offers
from pricing.catalog import PriceCatalog
from pricing.instance_types import instance_families
from pricing.inventory import Commitment
from pricing.offerings import CommitmentKind
from scenarios.changed_bills import ChangedBills
from scenarios.frontier import CACHE_BYTES
from scenarios.montecarlo import MonteCarloModel
from scenarios.paths import UsagePaths
from usage.table import UsageMatrix, to_matrix

FloatArray = npt.NDArray[np.float64]

SP_STEP_SHARE: Final = 0.01
"""Share of a Savings Plan's commitment removed for its finite difference [1] (rounded down to
AWS's step of 0.001 USD/h, at least one step)."""


MAX_BILLED_CELLS: Final = 2.0e9
"""Most hour × key cells the finite differences bill in all [cells]: 228 bills of 1,000 keys ×
8,760 h (13 s at 0.055 s a full bill; 4-7 s resumed, docs/benchmarks.md), 76 at 3,000 keys.
One bill per purchase grows with purchases × keys × hours, i.e. with the square of the fleet
(3,000 keys: about 1,800 purchases of 0.2 s, 6 minutes); beyond the budget the largest
purchases (by cost per hour) are measured and the others left unmeasured (NaN), said in a
warning."""

RESUMED_FROM_CHANGES: Final = 4
"""A kind with at least this many purchases measured has its bills resumed from the plan's
state after the kind (:class:`scenarios.changed_bills.ChangedBills`, which keeps two usage
arrays per kind for it); fewer are billed in full."""

GROUPED_FROM_INSTRUMENTS: Final = 200
"""Without a Compute Savings Plan, a portfolio of at least this many instruments is billed one
region and family at a time (measured break-even at 1,000 keys × 2,160 h: one bill of the whole
portfolio costs about what building one region-and-family model does at 200 instruments)."""


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


def billed_marginal_savings(
    usage: pd.DataFrame | UsageMatrix,
    purchases: Sequence[Commitment],
    catalog: PriceCatalog,
    *,
    owned: Sequence[Commitment] = (),
    share_across_accounts: bool = True,
    grouped_from_instruments: int = GROUPED_FROM_INSTRUMENTS,
    max_billed_cells: float = MAX_BILLED_CELLS,
    resumed_from_changes: int = RESUMED_FROM_CHANGES,
) -> FloatArray:
    """What the last unit of each purchase saves on the bill (see the module docstring).

    Parameters
    ----------
    usage
        The billed period's usage (the recommendation's lookback).
    purchases
        The proposed purchases, each with its own ``id``.
    catalog
        Prices.
    owned
        Commitments owned, billed as they are in every bill.
    share_across_accounts
        Whether commitments also cover the organization's other accounts after their own (as
        for :func:`billing.simulator.simulate`).
    grouped_from_instruments
        Without a Compute Savings Plan, bill one region and family at a time from this many
        instruments (owned and proposed) on; the figures are the same either way.
    max_billed_cells
        Budget of hour × key cells over all the bills (:data:`MAX_BILLED_CELLS`): beyond it
        only the purchases with the largest cost per hour are measured.
    resumed_from_changes
        Resume the bills of a kind with at least this many purchases measured
        (:data:`RESUMED_FROM_CHANGES`); the figures are the same either way.

    Returns
    -------
    numpy.ndarray
        One value per purchase, in order: (cost without one unit − cost with the plan) ÷ units
        removed over the billed period [USD per RI instance, or USD per USD/h of commitment];
        0 for a purchase not active in the period; NaN for one left out by the budget.

    Raises
    ------
    core.errors.CommitoptInputError
        When two purchases share an id.
    """
    items = tuple(purchases)
    if not items:
        return np.zeros(0)
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        twice = sorted({name for name in ids if ids.count(name) > 1})
        raise CommitoptInputError(
            f"purchases {', '.join(twice)} share an id: give each purchase its own id to measure "
            "its marginal saving"
        )
    matrix = usage if isinstance(usage, UsageMatrix) else to_matrix(usage)
    mine = build_portfolio(items, matrix.hours, catalog)
    theirs = build_portfolio(tuple(owned), matrix.hours, catalog)
    combined = theirs.then(mine)
    instruments = combined.instruments
    proposed = {id(inst) for inst in mine.instruments}
    position = {inst.id: n for n, inst in enumerate(instruments) if id(inst) in proposed}
    groups: dict[Scope, list[int]] = {}
    for n, purchase in enumerate(items):
        if purchase.id in position:  # else not active in the period: a unit changes nothing
            groups.setdefault(_scope(instruments[position[purchase.id]]), []).append(n)
    reaches_all = combined.compute_savings_plans or combined.database_savings_plans
    if reaches_all or len(instruments) < grouped_from_instruments:
        # A Compute (Database) SP reaches every (database) key: every bill is the whole
        # portfolio over every key.
        groups = {None: [n for members in groups.values() for n in members]}
    measured = _within_budget(items, groups, matrix, max_billed_cells)
    groups = {scope: [n for n in members if n in measured] for scope, members in groups.items()}
    groups = {scope: members for scope, members in groups.items() if members}
    scopes = _scopes(matrix.keys)
    prices = _prices_of(catalog, matrix.keys)
    marginal = np.zeros(len(items))
    left_out = [n for n in range(len(items)) if items[n].id in position and n not in measured]
    marginal[left_out] = np.nan
    for scope, members in groups.items():
        inside = np.ones(len(scopes), dtype=bool) if scope is None else scopes == scope
        chosen = [inst for inst in instruments if scope is None or _scope(inst) == scope]
        part = UsageMatrix(matrix.hours, matrix.keys.loc[inside].reset_index(drop=True),
                           matrix.quantity[:, inside])  # fmt: skip
        portfolio = _portfolio(chosen)
        model = MonteCarloModel.build(
            UsagePaths.from_matrices([part]),
            portfolio,
            prices,
            share_across_accounts=share_across_accounts,
        )
        ordered = portfolio.instruments
        index_of = {id(inst): index for index, inst in enumerate(ordered)}
        targets = [index_of[id(instruments[position[items[n].id]])] for n in members]
        changes = Counter(ordered[index].kind for index in targets)
        bills = ChangedBills(
            model,
            [kind for kind, count in changes.items() if count >= resumed_from_changes],
            cache_bytes=CACHE_BYTES,
        )
        for n, index in zip(members, targets, strict=True):
            smaller, removed = reduced_by_one_unit(items[n])
            target = ordered[index]
            scaled = target.scaled(_left_share(items[n], smaller))
            billed = [scaled if k == index else inst for k, inst in enumerate(ordered)]
            # only the target's commitment changes: the difference of the two bills is its
            # on-demand difference plus the target's commitment difference
            on_demand_usd = bills.on_demand_usd(billed, index) - bills.plan_on_demand_usd
            commitment_usd = _commitment_usd(scaled) - _commitment_usd(target)
            marginal[n] = (on_demand_usd + commitment_usd) / removed
    return marginal


def _within_budget(
    items: Sequence[Commitment],
    groups: dict[Scope, list[int]],
    matrix: UsageMatrix,
    max_billed_cells: float,
) -> set[int]:
    """The purchases whose finite difference fits the budget, largest cost per hour first (a
    bill covers its scope's keys: every key for the whole portfolio)."""
    n_keys = max(len(matrix.keys), 1)
    cells_per_key = max(len(matrix.hours), 1)
    scopes = _scopes(matrix.keys) if None not in groups else None
    keys_of: dict[Scope, int] = {
        scope: n_keys if scope is None or scopes is None else int((scopes == scope).sum())
        for scope in groups
    }
    order = sorted(
        ((n, scope) for scope, members in groups.items() for n in members),
        key=lambda pair: -_cost_per_hour(items[pair[0]]),
    )
    measured: set[int] = set()
    spent = 0.0
    for n, scope in order:
        cells = float(keys_of[scope]) * cells_per_key
        if measured and spent + cells > max_billed_cells:
            continue
        measured.add(n)
        spent += cells
    return measured


def _cost_per_hour(purchase: Commitment) -> float:
    """What a purchase costs per hour of its term (else its commitment) [USD/h]."""
    if purchase.effective_usd_per_hour is not None:  # the whole item's, upfront spread
        return float(purchase.effective_usd_per_hour)
    return float(purchase.commitment_usd_per_hour or 0.0)


def unmeasured_note(marginal: FloatArray) -> tuple[str, ...]:
    """A sentence when the budget left some purchases' marginal saving unmeasured."""
    missing = int(np.isnan(marginal).sum())
    if missing == 0:
        return ()
    return (
        f"the marginal saving was measured for the {marginal.size - missing} largest purchases, "
        f"not for the other {missing} (each needs a bill of the whole lookback; "
        "the budget keeps a large fleet's recommendation in minutes)",
    )


def _prices_of(catalog: PriceCatalog, keys: pd.DataFrame) -> PriceCatalog:
    """``catalog`` cut to the regions, instance types, platforms and tenancies of ``keys``: the
    bills look their keys' rates up there (the instruments are priced already)."""

    def values(column: str) -> list[str]:
        return sorted(keys[column].dropna().astype(str).unique())

    return catalog.filter(
        regions=values("region"),
        instance_types=values("instance_type"),
        platforms=values("platform"),
        tenancies=values("tenancy"),
    )


Scope = str | None
"""What a commitment's pool can reach: ``region/family`` for RIs and EC2 Instance SPs, ``None``
for a Compute SP (every key)."""


def _scope(instrument: Instrument) -> Scope:
    if instrument.kind in (
        CommitmentKind.COMPUTE_SAVINGS_PLAN,
        CommitmentKind.DATABASE_SAVINGS_PLAN,
        CommitmentKind.SAGEMAKER_SAVINGS_PLAN,
    ):
        return None
    return f"{instrument.region}/{instrument.instance_family}"


def _scopes(keys: pd.DataFrame) -> npt.NDArray[np.str_]:
    """Each key's ``region/family``."""
    families = instance_families(keys["instance_type"]).astype(str)
    return (keys["region"].astype(str) + "/" + families).to_numpy(dtype=str)


def _portfolio(chosen: Sequence[Instrument]) -> SimulationPortfolio:
    """The instruments as a portfolio, by kind in AWS's order (each kind's order kept)."""

    def of(kind: str) -> tuple[Instrument, ...]:
        return tuple(i for i in chosen if i.kind == kind)

    return SimulationPortfolio(
        of(CommitmentKind.RESERVED_INSTANCE),
        of(CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN),
        of(CommitmentKind.COMPUTE_SAVINGS_PLAN),
        (),
        of(CommitmentKind.DATABASE_SAVINGS_PLAN),
        of(CommitmentKind.SAGEMAKER_SAVINGS_PLAN),
    )


def _commitment_usd(instrument: Instrument) -> float:
    """What the instrument is charged over the billed hours, used or not [USD] (as
    :func:`billing.simulator.simulate` counts it)."""
    return float(instrument.effective_usd_per_hour * instrument.charged_hours)


def _left_share(purchase: Commitment, smaller: Commitment | None) -> float:
    """The share of ``purchase`` that ``smaller`` keeps [1] (whole RIs, SP steps: exact)."""
    if smaller is None:
        return 0.0
    if purchase.is_savings_plan:
        return float(smaller.commitment_usd_per_hour or 0.0) / float(
            purchase.commitment_usd_per_hour or 1.0
        )
    return float(smaller.count or 0) / float(purchase.count or 1)


def offer_marginal_savings(
    problem: CommitmentProblem,
    units: FloatArray,
    usage: pd.DataFrame | UsageMatrix,
    purchases: Sequence[Commitment],
    catalog: PriceCatalog,
    *,
    owned: Sequence[Commitment] = (),
    share_across_accounts: bool = True,
) -> FloatArray:
    """:func:`billed_marginal_savings` laid out per offer of ``problem``, as
    :func:`optimizer.explain.explain` takes it (``marginal_usd``).

    ``purchases`` are :func:`optimizer.purchases.purchases_from_units` of ``units`` (one per
    bought offer, in :func:`optimizer.purchases.bought_offers` order); offers not bought are NaN.
    """
    marginal = np.full(problem.n_offers, np.nan)
    offers = bought_offers(problem, units)
    marginal[offers] = billed_marginal_savings(
        usage, purchases, catalog, owned=owned, share_across_accounts=share_across_accounts
    )
    return marginal


__all__ = [
    "MAX_BILLED_CELLS",
    "SP_STEP_SHARE",
    "billed_marginal_savings",
    "offer_marginal_savings",
    "reduced_by_one_unit",
    "unmeasured_note",
]
