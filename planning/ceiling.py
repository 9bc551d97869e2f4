"""A certified ceiling for the backtest: the LP relaxation of the best plan with hindsight.

Why the optimizer's hindsight was not the optimum
-------------------------------------------------
``recommend`` on the window's realized usage (:class:`planning.policies.HindsightOptimum`
before this module) is a fine plan but not the best one of its feasible set, for three
reasons, all in the reductions that make ``recommend`` fast:

1. **Dominance by the smallest size** (``optimizer/build_offers.py``): a size-flexible RI pool
   is priced at the smallest size of its family, per normalized unit. RI rates are not
   proportional to the normalization factor inside a family: in us-east-1 a 1-year No Upfront
   t2.micro RI costs less per unit than a t2.nano one, so the optimizer never buys the cheaper
   t2.micro units the better plan of the issue buys (27 × t2.micro). The "cheapest offering per
   scope" reduction is exact only for proportional rates.
2. **Columns in on-demand USD** (``optimizer/build_usage.py``): a size-flexible family is one
   column, and a Savings Plan covers it at its demand-weighted mean rate, not key by key.
   When the mix of sizes moves over the window the model's coverage is not the bill's.
3. **Rounding to whole RIs** (``optimizer/rounding.py``) of a plan solved to a 1e-4 gap,
   dated at month starts rather than at the review dates.

So ``recommend`` optimises a different (not a relaxed) model: its cost is no lower bound and
its plan no optimum. The stopped-usage check is off for the hindsight and plays no part.

The certified ceiling
---------------------
:func:`ceiling_bound` writes the LP of the billing itself, key by key: every offering the
policy allows (every RI instance type of the allowed classes, terms and payment options whose
scope has usage, an EC2 Instance Savings Plan per region and family with usage, the Compute
Savings Plan), bought at any of the purchase dates in any non-negative quantity, priced and
scoped by the simulator's own instruments and pools (:func:`billing.portfolio.build_portfolio`,
:func:`billing.engine.build_pools`); in every hour each pool may cover any of its keys, up to
its capacity and the key's usage. AWS's order is one allocation among those the LP may choose
and whole RIs and SP steps are among its quantities, so the LP's optimum is at most the billed
cost of every plan of the feasible set. The bound reported is not the solver's objective but
the Lagrangian dual value of the solver's duals (valid for any non-negative duals), on finite
boxes that lose no plan worth buying (no unit beyond the pool's busiest hour). Hours with the
same usage and the same active offers are merged exactly; beyond :data:`MAX_CELLS` the hours of
the same active offers are summed in groups of similar usage (k-means), whose constraints are
sums of the exact ones: a coarser relaxation (the bound stays valid, the gap grows).

The billed plan (:func:`best_billed_plan`) is the best, billed by
:func:`billing.simulator.simulate`, of the candidates given (``recommend``'s plan) and the LP's
plan rounded several ways (down, to nearest, up; the Savings Plans re-optimised with the RIs
fixed). Savings ÷ the bound is the ``captured`` of :mod:`scenarios.backtest`.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.cluster.vq
import scipy.optimize
import scipy.sparse as sp

from billing.engine import build_pools
from billing.portfolio import build_portfolio
from billing.simulator import SimulationResult, priced_keys, simulate
from optimizer.policy import Policy
from optimizer.solvers.base import LinearProgram
from optimizer.solvers.incremental import HighsIncrementalLP
from optimizer.solvers.isolation import can_run_in_process
from pricing.catalog import PriceCatalog
from pricing.instance_types import instance_families, normalization_factors
from pricing.inventory import Commitment
from pricing.offerings import CommitmentKind
from pricing.services import (
    plan_covers,
    reservation_platforms,
    savings_plan_eligible,
    size_flexible_keys,
)
from scenarios.backtest import ri_purchases, savings_plan_purchase
from usage.table import UsageMatrix

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

MAX_CELLS: Final = 8000
"""Periods × keys with usage above which hours are summed in groups of similar usage, about
this many cells in all (a coarser relaxation: valid, looser; measured on 16 steady keys over 12
months: 0.25 % of the savings looser than the exact LP, 10 s instead of 6 minutes) [1]."""

MIN_PERIODS: Final = 50
"""Fewest periods of a grouped LP [periods]."""

MIP_COLUMNS: Final = 5_000
"""LP columns up to which a candidate plan is also solved with whole RIs (a MIP) [1].

Below it the MIP is solved to its gap in well under a second (the test suite's tiny cases: at
most 1,721 columns, 0.17 s). It was 20,000: on the decisions benchmark's archetypes (17,000
columns and more, 12 ceilings) the MIP's plan never billed more than the best rounded one (0 USD
in each), while at 17,283 columns it stopped at its time limit still at the root node, with an
incumbent that depended on the machine's load (−55,737 and −47,991 USD in two runs): 25 s of a
39-s ceiling spent for a candidate that varied from run to run."""

MIP_SECONDS: Final = 20.0
"""Time limit of that MIP, a safety (its best plan so far is a candidate; the bound is the
LP's) [s]."""

CANDIDATE_PREFIX: Final = "ceiling-offer-"
"""Id prefix of the LP's unit offers (one RI, or one USD/h of a Savings Plan)."""


@dataclass(frozen=True, eq=False)
class CeilingBound:
    """The LP relaxation's certified bound and its plan.

    Attributes
    ----------
    on_demand_cost_usd
        The window's usage at on-demand rates [USD].
    lower_bound_cost_usd
        Certified lower bound on the actual cost of any plan of the feasible set, owned
        commitments' fees included [USD].
    offers
        The unit offers (one RI; one USD/h of a Savings Plan), each starting at a purchase date.
    units
        The LP's quantity of each offer [RIs or USD/h], fractional.
    periods
        Periods of the LP (merged or grouped hours).
    exact_periods
        Whether every period is one distinct hour (else the hours are grouped: coarser bound).
    program, solver
        The LP, and the solver model it was solved in (:func:`rounded_plans` re-solves it
        warm); ``None`` when built elsewhere.
    """

    on_demand_cost_usd: float
    lower_bound_cost_usd: float
    offers: tuple[Commitment, ...]
    units: FloatArray
    periods: int
    exact_periods: bool
    program: BillingProgram | None = field(default=None, repr=False)
    solver: _Solver | None = field(default=None, repr=False)

    @property
    def savings_bound_usd(self) -> float:
        """Certified upper bound on the savings of any plan of the feasible set [USD]."""
        return self.on_demand_cost_usd - self.lower_bound_cost_usd


# --------------------------------------------------------------------------- offers


def _ri_offers(
    keys: pd.DataFrame, catalog: PriceCatalog, policy: Policy, at: pd.Timestamp
) -> list[Commitment]:
    """One RI of every allowed offering whose scope has usage among ``keys``."""
    if CommitmentKind.RESERVED_INSTANCE.policy_name not in policy.instruments:
        return []
    reserved = catalog.reserved
    rows = reserved.loc[
        reserved["region"].isin(keys["region"].unique().tolist())
        & reserved["offering_class"].isin(list(policy.offering_classes))
        & reserved["term_years"].isin(list(policy.terms_years))
        & reserved["payment_option"].isin(list(policy.payment_options))
    ]
    rows = (
        rows.loc[np.isfinite(normalization_factors(rows["instance_type"]))] if len(rows) else rows
    )
    if rows.empty:
        return []
    rows = rows.astype({c: str for c in ("region", "instance_type", "platform", "tenancy")})
    family = instance_families(rows["instance_type"]).astype(str).to_numpy()
    flexible = size_flexible_keys(rows["platform"], rows["tenancy"])
    used = keys.astype({c: str for c in ("region", "instance_type", "platform", "tenancy")})
    used_family = instance_families(used["instance_type"]).astype(str).to_numpy()
    exact_keys = set(
        zip(used["region"], used["instance_type"], used["platform"], used["tenancy"], strict=True)
    )
    # a family is offered the reservations covering its platform (memorydb for MemoryDB Valkey
    # nodes: pricing.databases.RESERVATION_PLATFORMS)
    family_keys = set(
        zip(
            used["region"], used_family, reservation_platforms(used["platform"]),
            _family_tenancy(used["instance_type"], used["tenancy"]), strict=True,
        )
    )  # fmt: skip
    region, itype = rows["region"].to_numpy(), rows["instance_type"].to_numpy()
    platform = rows["platform"].to_numpy()
    tenancy = np.where(
        flexible, _family_tenancy(rows["instance_type"], rows["tenancy"]), rows["tenancy"]
    )
    keep = np.array(
        [
            (r, f, p, t) in family_keys if flex else (r, i, p, t) in exact_keys
            for r, i, f, p, t, flex in zip(
                region, itype, family, platform, tenancy, flexible, strict=True
            )
        ],
        dtype=bool,
    )
    rows = rows.loc[keep]
    offers: list[Commitment] = []
    for (offering_class, term, payment), group in rows.groupby(
        ["offering_class", "term_years", "payment_option"], sort=True
    ):
        scope = group[["region", "instance_type", "platform", "tenancy"]].drop_duplicates()
        offers.extend(
            ri_purchases(
                scope.reset_index(drop=True),
                np.ones(len(scope)),
                at,
                catalog,
                offering_class=str(offering_class),
                term_years=int(str(term)),
                payment_option=str(payment),
            )
        )
    return offers


def _sp_offers(keys: pd.DataFrame, policy: Policy, at: pd.Timestamp) -> list[Commitment]:
    """One USD/h of every allowed Savings Plan whose scope has usage among ``keys``."""
    offers: list[Commitment] = []
    scopes = keys.assign(instance_family=instance_families(keys["instance_type"]).astype(str))
    ec2 = savings_plan_eligible(keys["instance_type"])
    pairs = scopes.loc[ec2, ["region", "instance_family"]].astype(str).drop_duplicates()
    for term, payment in itertools.product(policy.terms_years, policy.payment_options):
        if CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN.policy_name in policy.instruments:
            offers.extend(
                savings_plan_purchase(
                    CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN,
                    1.0,
                    at,
                    term_years=term,
                    payment_option=payment,
                    region=region,
                    instance_family=family,
                )
                for region, family in pairs.itertuples(index=False)
            )
        for kind in (
            CommitmentKind.COMPUTE_SAVINGS_PLAN,
            CommitmentKind.DATABASE_SAVINGS_PLAN,
            CommitmentKind.SAGEMAKER_SAVINGS_PLAN,
        ):
            if kind.policy_name not in policy.instruments:
                continue
            covered = plan_covers(
                [kind.savings_plan_type] * len(keys), keys["instance_type"], keys["platform"]
            )
            if covered.any():
                offers.append(
                    savings_plan_purchase(kind, 1.0, at, term_years=term, payment_option=payment)
                )
    return offers


def _family_tenancy(instance_types: pd.Series, tenancies: pd.Series) -> npt.NDArray[np.object_]:
    """The tenancy a size-flexible family is matched on: its own for EC2, none for a database
    family (its reservations cover every deployment)."""
    ec2 = savings_plan_eligible(instance_types)
    return np.asarray(np.where(ec2, tenancies.astype(str).to_numpy(), ""), dtype=object)


def unit_offers(
    usage: UsageMatrix, catalog: PriceCatalog, policy: Policy, dates: Sequence[pd.Timestamp]
) -> tuple[Commitment, ...]:
    """Every offering ``policy`` allows whose scope has usage, one unit of each, at each date.

    A unit is one RI, or one USD/h of a Savings Plan. Ids are ``ceiling-offer-<n>``.
    """
    keys = usage.keys.loc[usage.quantity.sum(axis=0) > 0].reset_index(drop=True)
    if keys.empty:
        return ()
    offers: list[Commitment] = []
    for at in dates:
        offers.extend(_ri_offers(keys, catalog, policy, pd.Timestamp(at)))
        offers.extend(_sp_offers(keys, policy, pd.Timestamp(at)))
    return tuple(replace(o, id=f"{CANDIDATE_PREFIX}{i}") for i, o in enumerate(offers))


# --------------------------------------------------------------------------- the LP


@dataclass(frozen=True, eq=False)
class _Periods:
    """Hours merged into periods: each period's hour count, summed usage and first hour."""

    group: IntArray  # hour -> period
    hours: FloatArray  # per period [h]
    demand: FloatArray  # periods × keys, summed over the period's hours [instance-hours]
    first: IntArray  # a representative hour of each period (same active offers)
    exact: bool


def _periods(quantity: FloatArray, active: npt.NDArray[np.bool_], max_periods: int) -> _Periods:
    """Merge hours with the same usage and active offers; beyond ``max_periods`` periods, sum
    hours of the same active offers in groups of similar usage (a relaxation)."""
    pattern_ids = np.unique(active, axis=0, return_inverse=True)[1].reshape(-1)
    signature = np.column_stack([pattern_ids.astype(np.float64), quantity])
    _, first, group = np.unique(signature, axis=0, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    exact = len(first) <= max_periods
    if not exact:
        group = _grouped(quantity, pattern_ids, max_periods)
        first = np.unique(group, return_index=True)[1].astype(np.intp)
    n = len(first)
    hours = np.bincount(group, minlength=n).astype(np.float64)
    demand = np.zeros((n, quantity.shape[1]))
    np.add.at(demand, group, quantity)
    return _Periods(group.astype(np.intp), hours, demand, np.asarray(first, np.intp), exact)


def _grouped(quantity: FloatArray, pattern_ids: IntArray, max_periods: int) -> IntArray:
    """Hours -> groups of similar usage (k-means, fixed seed) inside each pattern of active
    offers, about ``max_periods`` groups in all, numbered from 0."""
    patterns, counts = np.unique(pattern_ids, return_counts=True)
    share = np.maximum(np.floor(max_periods * counts / counts.sum()), 1).astype(int)
    group = np.zeros(len(quantity), dtype=np.intp)
    offset = 0
    for pattern, k in zip(patterns, share, strict=True):
        rows = np.flatnonzero(pattern_ids == pattern)
        points = quantity[rows]
        if k >= len(rows):
            labels = np.arange(len(rows))
        else:
            scale = points.std(axis=0)
            scaled = points / np.where(scale > 0, scale, 1.0)
            _, labels = scipy.cluster.vq.kmeans2(scaled, int(k), minit="++", seed=0)
        _, labels = np.unique(labels, return_inverse=True)
        group[rows] = offset + labels.reshape(-1)
        offset += int(labels.max()) + 1
    return group


@dataclass(frozen=True, eq=False)
class BillingProgram:
    """The LP ``min c·z, A z ≤ b, 0 ≤ z ≤ u`` with ``z = (units of offers, covered usage)``."""

    cost: FloatArray
    matrix: sp.csr_matrix
    rhs: FloatArray
    upper: FloatArray
    constant_usd: float
    n_offers: int


def billing_program(
    usage: UsageMatrix,
    catalog: PriceCatalog,
    owned: Sequence[Commitment],
    offers: Sequence[Commitment],
    max_cells: int,
) -> tuple[BillingProgram, int, bool]:
    """Build the billing LP over ``offers`` with ``owned`` fixed (see the module docstring)."""
    hours = usage.hours
    keys = priced_keys(usage.keys, catalog)
    od = keys["on_demand_usd_per_hour"].to_numpy(dtype=np.float64)
    portfolio = build_portfolio((*owned, *offers), hours, catalog)
    instruments = portfolio.instruments
    index_of = {o.id: i for i, o in enumerate(offers)}
    offer_of = np.array([index_of.get(inst.id, -1) for inst in instruments], dtype=np.intp)
    fee = np.array(
        [inst.charged_hours * (inst.amortized_hourly_usd + inst.recurring_usd_per_hour)
         for inst in instruments]
    )  # fmt: skip
    active = np.column_stack([inst.active for inst in instruments]) if instruments else None
    quantity = np.asarray(usage.quantity, dtype=np.float64)
    used_keys = max(int((quantity.sum(axis=0) > 0).sum()), 1)
    periods = _periods(
        quantity,
        active if active is not None else np.zeros((len(hours), 0), bool),
        max(max_cells // used_keys, MIN_PERIODS),
    )
    pools, _ = build_pools(instruments, keys, catalog)
    n_offers = len(offers)
    offer_cost = np.zeros(n_offers)
    offer_cost[offer_of[offer_of >= 0]] = fee[offer_of >= 0]
    constant = float((quantity @ od).sum()) + float(fee[offer_of < 0].sum())
    cost_parts: list[FloatArray] = [offer_cost]
    upper_parts: list[FloatArray] = [np.zeros(n_offers)]
    rows_i: list[IntArray] = []
    cols_i: list[IntArray] = []
    vals: list[FloatArray] = []
    rhs: list[FloatArray] = []
    n_rows = 0
    n_cols = n_offers
    n_periods = len(periods.hours)
    demand_rows: list[tuple[IntArray, IntArray]] = []  # per pool: (covered column, cell index)
    cell_index = np.arange(n_periods * len(od)).reshape(n_periods, len(od))
    capacity = np.array([inst.capacity for inst in instruments])
    busiest = np.zeros(n_offers)
    for pool in pools:
        order = pool.order
        members = np.asarray(pool.members, dtype=np.intp)
        if not len(order) or not len(members):
            continue
        weight = pool.weight[order]
        demand = periods.demand[:, order]  # periods × pool keys
        period_idx, key_pos = np.nonzero(demand > 0)
        n_y = len(period_idx)
        if n_y == 0:
            continue
        y_cols = n_cols + np.arange(n_y)
        n_cols += n_y
        key = order[key_pos]
        cost_parts.append(-od[key])
        upper_parts.append(demand[period_idx, key_pos])
        # capacity rows, one per period of the pool: Σ w y − hours·Σ cap·active·x ≤ owned
        cap_row = n_rows + period_idx
        rows_i.append(cap_row)
        cols_i.append(y_cols)
        vals.append(weight[key_pos])
        member_active = np.column_stack([instruments[m].active for m in members])[periods.first]
        member_cap = capacity[members] * member_active * periods.hours[:, None]  # periods × m
        offered = offer_of[members] >= 0
        p_idx, m_idx = np.nonzero(member_cap[:, offered] > 0)
        rows_i.append(n_rows + p_idx)
        cols_i.append(offer_of[members][offered][m_idx])
        vals.append(-member_cap[:, offered][p_idx, m_idx])
        rhs.append(member_cap[:, ~offered].sum(axis=1))
        n_rows += n_periods
        demand_rows.append((y_cols, cell_index[period_idx, key]))
        hourly_need = (quantity[:, order] * weight).sum(axis=1)
        for m in members[offered]:
            busiest[offer_of[m]] = max(
                busiest[offer_of[m]], float(hourly_need.max()) / max(capacity[m], 1e-12)
            )
    # demand rows: Σ over pools of the cell's covered usage ≤ the cell's usage
    if demand_rows:
        y_all = np.concatenate([c for c, _ in demand_rows])
        cell_all = np.concatenate([c for _, c in demand_rows])
        cells, cell_row = np.unique(cell_all, return_inverse=True)
        rows_i.append(n_rows + cell_row.reshape(-1))
        cols_i.append(y_all)
        vals.append(np.ones(len(y_all)))
        rhs.append(periods.demand.reshape(-1)[cells])
        n_rows += len(cells)
    upper_parts[0] = np.ceil(busiest) + 1.0
    matrix = sp.csr_matrix(
        (
            np.concatenate(vals) if vals else np.zeros(0),
            (
                np.concatenate(rows_i) if rows_i else np.zeros(0, np.intp),
                np.concatenate(cols_i) if cols_i else np.zeros(0, np.intp),
            ),
        ),
        shape=(n_rows, n_cols),
    )
    program = BillingProgram(
        cost=np.concatenate(cost_parts),
        matrix=matrix,
        rhs=np.concatenate(rhs) if rhs else np.zeros(0),
        upper=np.concatenate(upper_parts),
        constant_usd=constant,
        n_offers=n_offers,
    )
    return program, n_periods, periods.exact


class _Solver:
    """The LP of one ceiling, solved for its bound and again for each candidate plan with its
    RIs fixed (:func:`rounded_plans`).

    With highspy (when it can load in this process,
    :func:`optimizer.solvers.isolation.can_run_in_process`) the model is built once and each
    re-solve starts from the last basis: on the CLI's 70-day demo backtest a re-solve took
    0.02-0.09 s instead of 0.7 s from scratch, with the same objectives. Otherwise each solve
    is SciPy's HiGHS from scratch.
    """

    def __init__(self, program: BillingProgram) -> None:
        self.program = program
        self._model: HighsIncrementalLP | None = None
        if program.matrix.shape[0] and can_run_in_process("highs"):
            with contextlib.suppress(ImportError):
                self._model = HighsIncrementalLP(
                    LinearProgram(
                        objective=program.cost,
                        matrix=sp.csc_array(program.matrix),
                        row_lower=np.full(len(program.rhs), -np.inf),
                        row_upper=program.rhs,
                        col_lower=np.zeros(len(program.cost)),
                        col_upper=program.upper,
                    )
                )

    def solve(self, fixed: dict[int, float] | None = None) -> tuple[FloatArray, float]:
        """Solve the LP; return its solution and the certified lower bound on its optimum
        [USD].

        The bound is the Lagrangian value of the solver's row duals λ ≥ 0:
        ``−λ·b + Σ_j min(0, (c + Aᵀλ)_j)·u_j`` (plus any fixed variables' contribution),
        valid for every λ ≥ 0 whatever the solver's tolerances.
        """
        program = self.program
        lower = np.zeros(len(program.cost))
        upper = program.upper.copy()
        for column, value in (fixed or {}).items():
            lower[column] = upper[column] = value
        if program.matrix.shape[0] == 0:
            z = np.where(program.cost < 0, upper, lower)
            return z, program.constant_usd + float(program.cost @ z)
        if self._model is not None:
            solution = self._model.solve(lower, upper, None)
            if solution.status != "optimal":
                raise RuntimeError(f"the ceiling LP did not solve: {solution.status}")
            x, row_duals = solution.x, solution.row_duals
        else:
            result = scipy.optimize.linprog(
                program.cost,
                A_ub=program.matrix,
                b_ub=program.rhs,
                bounds=np.column_stack([lower, upper]),
                method="highs",
            )
            if result.status != 0:
                raise RuntimeError(f"the ceiling LP did not solve: {result.message}")
            x, row_duals = result.x, result.ineqlin.marginals
        dual_value = lagrangian_value(
            program.cost, program.matrix, program.rhs, -np.asarray(row_duals), lower, upper
        )
        return np.asarray(x, dtype=np.float64), program.constant_usd + dual_value


def lagrangian_value(
    cost: FloatArray,
    matrix: sp.csr_matrix,
    rhs: FloatArray,
    duals: npt.ArrayLike,
    lower: FloatArray,
    upper: FloatArray,
) -> float:
    """A lower bound on ``min c·z, A z ≤ b, l ≤ z ≤ u`` from row duals, valid whatever the
    solver's tolerances [USD].

    The Lagrangian value ``−λ·b + Σ_j min over [l_j, u_j] of (c + Aᵀλ)_j z_j`` with
    ``λ = max(duals, 0)``: weak duality holds for every λ ≥ 0.
    """
    nonnegative = np.maximum(np.asarray(duals, dtype=np.float64), 0.0)
    reduced = cost + matrix.T @ nonnegative
    return -float(nonnegative @ rhs) + float(
        np.where(reduced < 0, reduced * upper, reduced * lower).sum()
    )


def ceiling_bound(
    usage: UsageMatrix,
    catalog: PriceCatalog,
    policy: Policy,
    dates: Sequence[pd.Timestamp],
    owned: Sequence[Commitment] = (),
    *,
    max_cells: int = MAX_CELLS,
) -> CeilingBound:
    """The certified bound on the cost of any plan buying ``policy``'s offerings at ``dates``.

    Parameters
    ----------
    usage
        The billed window, hours × keys [instance-hours].
    catalog
        Prices.
    policy
        What may be bought (instruments, terms, payment options, RI classes).
    dates
        Purchase dates (UTC hours inside the window).
    owned
        Commitments owned throughout (their fees are part of the cost).
    max_cells
        Periods × keys above which hours are grouped (:data:`MAX_CELLS`; a coarser, still
        valid bound).
    """
    offers = unit_offers(usage, catalog, policy, dates)
    program, n_periods, exact = billing_program(usage, catalog, owned, offers, max_cells)
    solver = _Solver(program)
    z, bound = solver.solve()
    on_demand = float(
        (
            np.asarray(usage.quantity)
            @ priced_keys(usage.keys, catalog)["on_demand_usd_per_hour"].to_numpy(dtype=np.float64)
        ).sum()
    )
    return CeilingBound(
        on_demand_cost_usd=on_demand,
        lower_bound_cost_usd=bound,
        offers=offers,
        units=z[: program.n_offers],
        periods=n_periods,
        exact_periods=exact,
        program=program,
        solver=solver,
    )


# --------------------------------------------------------------------------- billed plans


def scaled_plan(offers: Sequence[Commitment], units: npt.ArrayLike) -> tuple[Commitment, ...]:
    """``units`` of each unit offer, rounded down to what AWS sells (zeros left out)."""
    plan = []
    for offer, amount in zip(offers, np.asarray(units, dtype=np.float64), strict=True):
        if amount > 0:
            scaled = offer.scaled(float(amount))
            if scaled is not None:
                plan.append(scaled)
    return tuple(plan)


def _filled(offers: Sequence[Commitment], units: FloatArray, *, up: bool) -> FloatArray:
    """RI units rounded down, the fractions of each size-flexible pool (one scope, offering and
    date) summed in normalized units and bought again in whole RIs, largest size first (the
    last part below the smallest size bought as one more of it when ``up``)."""
    rounded = np.floor(units + 1e-6)
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, offer in enumerate(offers):
        if offer.kind != CommitmentKind.RESERVED_INSTANCE:
            continue
        factor = (offer.normalized_units or 0.0) / max(offer.count or 1, 1)
        if factor > 0 and offer.platform == "Linux/UNIX" and offer.tenancy == "Shared":
            family = (offer.instance_type or "").split(".")[0]
            scope: tuple[object, ...] = (
                offer.region,
                family,
                offer.offering_class,
                offer.term_years,
                offer.payment_option,
                offer.start,
            )
        else:
            scope = (i,)
        groups.setdefault(scope, []).append(i)
    for members in groups.values():
        sizes = np.array([(offers[i].normalized_units or 1.0) for i in members])
        remainder = float(((units[members] - rounded[members]).clip(min=0) * sizes).sum())
        for position in np.argsort(-sizes, kind="stable"):
            more = np.floor(remainder / sizes[position] + 1e-6)
            rounded[members[position]] += more
            remainder -= more * sizes[position]
        if up and remainder > 1e-6:
            rounded[members[int(np.argmin(sizes))]] += 1.0
    return rounded


def _integer_units(program: BillingProgram, is_ri: npt.NDArray[np.bool_]) -> FloatArray | None:
    """The LP with whole RIs (HiGHS MIP, a time limit), or ``None`` when it finds nothing."""
    integrality = np.zeros(len(program.cost), dtype=np.int8)
    integrality[: program.n_offers][is_ri] = 1
    result = scipy.optimize.linprog(
        program.cost, A_ub=program.matrix, b_ub=program.rhs,
        bounds=np.column_stack([np.zeros(len(program.cost)), program.upper]),
        method="highs", integrality=integrality,
        options={"time_limit": MIP_SECONDS, "mip_rel_gap": 1e-6},
    )  # fmt: skip
    if result.x is None:
        return None
    return np.asarray(result.x, dtype=np.float64)[: program.n_offers]


def rounded_plans(
    bound: CeilingBound,
    usage: UsageMatrix,
    catalog: PriceCatalog,
    owned: Sequence[Commitment] = (),
    *,
    max_cells: int = MAX_CELLS,
) -> list[tuple[Commitment, ...]]:
    """The LP's plan rounded to whole RIs several ways, each also with the Savings Plans
    re-optimised on the RIs fixed (then rounded down to AWS's step).

    The ways: down, to nearest, up; down with each size-flexible pool's fractions bought again
    in whole RIs of its sizes, largest first (the rest below the smallest size dropped, or
    bought as one more); and, on problems of at most :data:`MIP_COLUMNS` columns, the LP with
    whole RIs (a MIP).
    """
    units = bound.units
    is_ri = np.array([o.kind == CommitmentKind.RESERVED_INSTANCE for o in bound.offers], dtype=bool)
    tolerance = 1e-6
    variants = [
        np.floor(units + tolerance),
        np.floor(units + 0.5),
        np.ceil(units - tolerance),
        _filled(bound.offers, units, up=False),
        _filled(bound.offers, units, up=True),
    ]
    solver = bound.solver or _Solver(
        bound.program or billing_program(usage, catalog, owned, bound.offers, max_cells)[0]
    )
    program = solver.program
    if is_ri.any() and len(program.cost) <= MIP_COLUMNS:
        integer = _integer_units(program, is_ri)
        if integer is not None:
            variants.append(np.round(integer))
    plans: list[tuple[Commitment, ...]] = []
    seen: set[bytes] = set()
    for rounded in variants:
        ris = np.where(is_ri, rounded, 0.0)
        if ris.tobytes() in seen:
            continue
        seen.add(ris.tobytes())
        plans.append(scaled_plan(bound.offers, np.where(is_ri, ris, units)))
        if not is_ri.any() or not (~is_ri).any():
            continue
        fixed = {int(i): float(ris[i]) for i in np.flatnonzero(is_ri)}
        z, _ = solver.solve(fixed)
        plans.append(scaled_plan(bound.offers, np.where(is_ri, ris, z[: len(units)])))
    return plans


def best_billed_plan(
    usage: UsageMatrix,
    catalog: PriceCatalog,
    owned: Sequence[Commitment],
    candidates: Sequence[Sequence[Commitment]],
) -> tuple[tuple[Commitment, ...], SimulationResult]:
    """The candidate plan with the most savings billed by the simulator (the first on ties)."""
    best: tuple[tuple[Commitment, ...], SimulationResult] | None = None
    for plan in candidates:
        items = tuple(replace(c, id=f"plan-{i}") for i, c in enumerate(plan, 1))
        billed = simulate(usage, (*owned, *items), catalog)
        if best is None or (
            billed.totals.savings_vs_on_demand_usd > best[1].totals.savings_vs_on_demand_usd
        ):
            best = (tuple(plan), billed)
    if best is None:
        return (), simulate(usage, tuple(owned), catalog)
    return best


__all__ = [
    "CANDIDATE_PREFIX",
    "MAX_CELLS",
    "MIN_PERIODS",
    "MIP_COLUMNS",
    "MIP_SECONDS",
    "BillingProgram",
    "CeilingBound",
    "best_billed_plan",
    "billing_program",
    "ceiling_bound",
    "lagrangian_value",
    "rounded_plans",
    "scaled_plan",
    "unit_offers",
]
