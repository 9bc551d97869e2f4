"""The reduced commitment problem: the data every solution method of the optimizer works on.

A :class:`CommitmentProblem` is built once from usage, a catalog, owned commitments and a policy
(:mod:`optimizer.build`), after the exact reductions of docs/optimizer.md: size-flexible keys
aggregated to their (region, family), keys no enabled instrument covers dropped (their cost kept as
a constant), identical periods merged into weighted periods. All money is in USD.

Vocabulary
----------
period
    A row of the demand: one hour of one scenario, or several identical hours merged (its
    ``period_weight`` counts them) [h].
column
    What a commitment covers: a (region, family) of size-flexible Linux/UNIX shared usage
    (in normalized units), or one exact key (region, instance type, platform, tenancy).
    Demand is in on-demand USD per hour, so every instrument's coverage is comparable.
pool
    A set of commitments AWS applies together, with one coverage ratio per column: the
    capacity used to cover one on-demand USD of that column. RI pools cover one column;
    an EC2 Instance Savings Plan pool covers the columns of its (region, family); a Compute
    Savings Plan pool covers every column it has rates for. Pools are applied in the order
    of ``pools.order`` (RIs, then EC2 Instance SPs, then Compute SPs; owned before new).
offer
    One decision variable: how many capacity units of a pool to buy in one tranche (a
    purchase date). Size-flexible RI units are normalized units, other RI units are
    instances, Savings Plan units are USD/h of commitment.

The hourly allocation is the billing simulator's greedy rule applied pool by pool: each pool
covers its columns in increasing ``coverage`` ratio (highest discount first), until the
demand left or the pool's capacity in that period runs out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from pricing.offerings import CommitmentKind

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

RI_POOL: Final[str] = CommitmentKind.RESERVED_INSTANCE
EC2_SP_POOL: Final[str] = CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN
COMPUTE_SP_POOL: Final[str] = CommitmentKind.COMPUTE_SAVINGS_PLAN
DATABASE_SP_POOL: Final[str] = CommitmentKind.DATABASE_SAVINGS_PLAN
SAGEMAKER_SP_POOL: Final[str] = CommitmentKind.SAGEMAKER_SAVINGS_PLAN
POOL_KINDS: Final = (RI_POOL, EC2_SP_POOL, COMPUTE_SP_POOL, DATABASE_SP_POOL, SAGEMAKER_SP_POOL)
"""Pool kinds, in the order AWS applies them."""

SP_NAMES: Final[dict[str, str]] = {
    EC2_SP_POOL: "EC2 Instance",
    COMPUTE_SP_POOL: "Compute",
    DATABASE_SP_POOL: "Database",
    SAGEMAKER_SP_POOL: "SageMaker",
}
"""The name of each Savings Plans pool kind, before "Savings Plans"."""

COLUMN_FIELDS: Final = (
    "region",
    "instance_family",
    "instance_type",
    "platform",
    "tenancy",
    "size_flexible",
    "on_demand_usd_per_unit",
)
"""Columns of :attr:`CommitmentProblem.columns`. ``instance_type`` is ``""`` for a size-flexible
family column; ``on_demand_usd_per_unit`` is the on-demand price of one normalized unit-hour
(family column) or one instance-hour (exact key) [USD/h]."""

POOL_FIELDS: Final = (
    "kind",
    "owned",
    "order",
    "region",
    "instance_family",
    "instance_type",
    "platform",
    "tenancy",
    "size_flexible",
    "unit",
    "offering_class",
    "term_years",
    "payment_option",
    "commitment_ids",
    "purchase_instance_type",
    "units_per_instance",
)
"""Columns of :attr:`CommitmentProblem.pools`. ``owned`` pools hold owned commitments only (no
offers); ``unit`` is ``"normalized_units"``, ``"instances"`` or ``"usd_per_hour"``;
``commitment_ids`` joins the owned ids with commas (``""`` for new pools). Scope fields are
``""`` where the kind does not restrict them. RI pools name the ``purchase_instance_type`` a
recommendation buys (the family's smallest size with RI prices, or the exact type) and its
``units_per_instance`` (normalization factor, or 1 for exact keys); SP pools have ``""`` and 1."""

OFFER_FIELDS: Final = (
    "pool",
    "tranche",
    "start",
    "end",
    "upfront_usd_per_unit",
    "recurring_usd_per_unit_hour",
    "effective_usd_per_unit_hour",
    "objective_usd_per_unit",
    "lower_bound_units",
    "upper_bound_units",
)
"""Columns of :attr:`CommitmentProblem.offers`: the pool it adds capacity to, the tranche
(0 = buy now), the purchase's start and end (UTC), its prices per unit [USD, USD/h], its cost
over the horizon in the objective (time value included) [USD per unit] and its bounds [units,
``inf`` when unbounded; rounding fixes RIs by setting both bounds]."""


@dataclass(frozen=True, eq=False)
class CommitmentProblem:
    """The reduced problem.

    Attributes
    ----------
    hours
        The modelled hours (UTC), before merging.
    columns
        One row per column, :data:`COLUMN_FIELDS`.
    pools
        One row per pool, :data:`POOL_FIELDS`, sorted by ``order``.
    offers
        One row per decision variable, :data:`OFFER_FIELDS`.
    demand_usd
        Periods × columns: on-demand-equivalent usage per hour of the period [USD/h].
    period_weight
        Hours each period stands for [h].
    period_scenario
        Scenario index of each period.
    period_discount
        Present-value factor of on-demand money spent in each period (1 without a discount
        rate) [1].
    period_hour
        Index into :attr:`hours` of one hour each period stands for (the first).
    scenario_probability
        Weight of each scenario, summing to 1.
    scenario_names
        Name of each scenario.
    coverage
        Sparse pools × columns: capacity units used per on-demand USD covered; zero where the
        pool cannot cover the column [units per USD].
    offer_active
        Sparse periods × offers: 1 where the offer is active in the period.
    owned_capacity
        Periods × pools: capacity of owned commitments [units/h].
    owned_cost_usd
        Cost of the owned commitments over the horizon (a constant of the objective) [USD].
    uncoverable_cost_usd
        Expected on-demand cost of the dropped columns (no enabled instrument covers them),
        a constant of the objective [USD].
    dropped_keys
        Usage keys dropped because no enabled instrument covers them, with their
        on-demand cost [USD].
    key_columns
        One row per usage key kept: the key, its column index, its normalization factor
        and its on-demand rate, to map a solution back to instance types.
    offer_rows
        Sparse rows × offers of the policy's linear limits on what is bought (maximum upfront
        cash, maximum hourly commitment, a custom commitment fixed, …).
    offer_rows_lower, offer_rows_upper
        Bounds of those rows (``±inf`` for none).
    offer_row_names
        One name per row, used to say which constraint binds.
    coverage_lower, coverage_upper
        Bounds on the expected average coverage: covered ÷ total on-demand-equivalent cost of
        the kept columns [0–1] (0 and 1 when the policy sets none).
    min_utilization
        Least expected utilization of each new pool [0–1] (0 for none).
    cvar_alpha, cvar_weight
        Risk term: objective = expected cost + λ · CVaR_α(cost − reference over scenarios).
    cvar_reference_usd
        Per scenario, what its cost is measured against in the risk term [USD]: ``None`` for 0
        (CVaR of the cost itself); the on-demand cost of the usage makes it CVaR of the whole
        book's loss against on-demand (:mod:`planning.forecast_decision`). The expected cost is
        unaffected.
    owned_idle_cost_usd
        The part of :attr:`owned_cost_usd` of owned commitments with nothing in their scope
        here (no pool): a cost no decision changes, which the risk term's reference adds back
        (:func:`planning.forecast_decision.cost_on_demand`) [USD].
    cvar_losses_only
        The risk term counts only positive values of ``cost − reference`` (CVaR of
        ``max(cost − reference, 0)``): against on-demand, only what the book pays above
        on-demand, so a tail of futures that still save adds nothing.
    warnings
        Approximations made while building (rates not proportional inside a family, …).
    """

    hours: pd.DatetimeIndex
    columns: pd.DataFrame
    pools: pd.DataFrame
    offers: pd.DataFrame
    demand_usd: FloatArray
    period_weight: FloatArray
    period_scenario: IntArray
    period_discount: FloatArray
    period_hour: IntArray
    scenario_probability: FloatArray
    scenario_names: tuple[str, ...]
    coverage: sp.csr_array
    offer_active: sp.csr_array
    owned_capacity: FloatArray
    owned_cost_usd: float
    uncoverable_cost_usd: float
    dropped_keys: pd.DataFrame
    key_columns: pd.DataFrame
    offer_rows: sp.csr_array
    offer_rows_lower: FloatArray
    offer_rows_upper: FloatArray
    offer_row_names: tuple[str, ...]
    coverage_lower: float = 0.0
    coverage_upper: float = 1.0
    min_utilization: float = 0.0
    cvar_alpha: float = 0.95
    cvar_weight: float = 0.0
    warnings: tuple[str, ...] = field(default=())
    cvar_reference_usd: FloatArray | None = None
    cvar_losses_only: bool = False
    owned_idle_cost_usd: float = 0.0

    def risk_costs(self, scenario_cost: FloatArray) -> FloatArray:
        """Scenario costs as the risk term measures them: minus :attr:`cvar_reference_usd`."""
        if self.cvar_reference_usd is None:
            return scenario_cost
        return np.asarray(scenario_cost - self.cvar_reference_usd, dtype=np.float64)

    @property
    def n_periods(self) -> int:
        """Number of (weighted) periods."""
        return int(self.demand_usd.shape[0])

    @property
    def n_columns(self) -> int:
        """Number of columns."""
        return int(self.demand_usd.shape[1])

    @property
    def n_pools(self) -> int:
        """Number of pools."""
        return len(self.pools)

    @property
    def n_offers(self) -> int:
        """Number of decision variables."""
        return len(self.offers)

    def pool_capacity(self, units: FloatArray, pools: IntArray | None = None) -> FloatArray:
        """Capacity of every pool (or of ``pools``) in every period for offer quantities
        ``units``.

        One sparse product, periods × offers activity by offers × pools quantities: the
        activity is nearly dense (a year of 26,800 periods × 1,015 offers holds 27 M entries),
        and scaling its entries by the units first took seconds a call.

        Parameters
        ----------
        units
            Quantity bought of each offer [units].
        pools
            Distinct pools to return, in this order; ``None`` for all.

        Returns
        -------
        numpy.ndarray
            Periods × pools: owned capacity plus the active offers' units [units/h].
        """
        x = np.asarray(units, dtype=np.float64)
        pool_of_offer = self.offers["pool"].to_numpy(dtype=np.intp)
        columns = np.arange(self.n_pools) if pools is None else np.asarray(pools, dtype=np.intp)
        position = np.full(self.n_pools, -1, dtype=np.intp)
        position[columns] = np.arange(columns.size)
        bought = np.flatnonzero((x != 0.0) & (position[pool_of_offer] >= 0))
        to_pool = sp.csr_array(
            (x[bought], (bought, position[pool_of_offer[bought]])),
            shape=(self.n_offers, columns.size),
        )
        capacity: FloatArray = self.owned_capacity[:, columns]
        capacity += (self.offer_active @ to_pool).toarray()
        return capacity


__all__ = [
    "COLUMN_FIELDS",
    "COMPUTE_SP_POOL",
    "DATABASE_SP_POOL",
    "EC2_SP_POOL",
    "OFFER_FIELDS",
    "POOL_FIELDS",
    "POOL_KINDS",
    "RI_POOL",
    "SAGEMAKER_SP_POOL",
    "SP_NAMES",
    "CommitmentProblem",
]
