"""The Cost-Explorer-like policy: the best single instrument for the last days, billed.

It needs only the simulator: each candidate is sized by billing the lookback
(:func:`billing.simulator.simulate`) and the one that saves most is bought.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypedDict

import numpy as np
import numpy.typing as npt
import pandas as pd

from billing.simulator import SimulationResult, simulate
from pricing.catalog import PriceCatalog
from pricing.instance_types import instance_families
from pricing.inventory import Commitment
from pricing.offerings import SP_STEP_USD, CommitmentKind, floor_to_sp_step
from scenarios.backtest import Review, as_if_owned_throughout, ri_purchases, savings_plan_purchase
from usage.table import UsageMatrix

FloatArray = npt.NDArray[np.float64]

SEARCH_MARGIN: Final = 1.02
"""The SP search runs up to this multiple of the largest hourly need, so that an optimum at
full cover is inside the interval [1]."""


class _Offering(TypedDict):
    term_years: int
    payment_option: str


def _last_days(usage: UsageMatrix, days: float) -> UsageMatrix:
    keep = min(len(usage.hours), max(round(days * 24), 0))
    rows = slice(len(usage.hours) - keep, len(usage.hours))
    return UsageMatrix(usage.hours[rows], usage.keys, usage.quantity[rows], usage.daily_granular)


def _golden_max(
    savings: Callable[[FloatArray], FloatArray], upper: FloatArray, iterations: int
) -> FloatArray:
    """Maximise independent concave functions, one per scope, on ``[0, upper]`` at once.

    ``savings(x)`` returns each scope's value at its own point; one call per iteration.
    """
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    low = np.zeros_like(upper)
    high = upper.copy()
    left = high - ratio * (high - low)
    right = low + ratio * (high - low)
    f_left, f_right = savings(left), savings(right)
    for _ in range(iterations):
        keep_left = f_left >= f_right  # the maximum is in [low, right]
        high = np.where(keep_left, right, high)
        low = np.where(keep_left, low, left)
        new_left = high - ratio * (high - low)
        new_right = low + ratio * (high - low)
        probe = np.where(keep_left, new_left, new_right)
        f_probe = savings(probe)
        left, right, f_left, f_right = (
            np.where(keep_left, new_left, right),
            np.where(keep_left, left, new_right),
            np.where(keep_left, f_probe, f_right),
            np.where(keep_left, f_left, f_probe),
        )
    best = np.where(f_left >= f_right, left, right)
    return np.where(np.maximum(f_left, f_right) > 0, best, 0.0)


@dataclass(frozen=True)
class CostExplorerLike:
    """AWS Cost Explorer's way: the best single instrument for the last ``lookback_days``.

    At each review (or only the first, ``every_review=False``) three candidate purchases are
    sized on the lookback billed with the commitments owned now (as if they had been there all
    along: Cost Explorer recommends on the usage its current RIs and SPs leave on-demand, and
    does not anticipate their expiry):

    - a Compute Savings Plan: the hourly commitment maximising the simulator's savings over the
      lookback (golden-section search on the concave savings(commitment) curve);
    - EC2 Instance Savings Plans, one per (region, family), each sized the same way, all at once;
    - regional RIs of each instance type, each sized on its own key's usage: the largest count
      whose last RI is used in more than effective ÷ on-demand of the hours (exact for a key
      alone; Cost Explorer also sizes RIs per type).

    The candidate that saves most over the lookback (billed by the simulator) is bought, like
    Cost Explorer's choice between its separate recommendations. No forecast. Candidates are
    sized on the keys the simulator bills (``baseline.keys``): keys of other services without an
    on-demand rate are left out of the bill, so of the sizing too.

    Parameters
    ----------
    lookback_days
        7, 30 or 60 in Cost Explorer [days]; at most the backtest's lookback.
    every_review
        Buy at every review (the default) or once, at the first.
    term_years, payment_option, offering_class
        The offering bought.
    iterations
        Golden-section iterations (each one simulation of the lookback).
    """

    lookback_days: float = 30.0
    every_review: bool = True
    term_years: int = 1
    payment_option: str = "No Upfront"
    offering_class: str = "standard"
    iterations: int = 12

    def __call__(self, review: Review) -> Sequence[Commitment]:
        """The best single-instrument purchase for the lookback."""
        if not self.every_review and review.number > 0:
            return ()
        usage = _last_days(review.usage, self.lookback_days)
        if not len(usage.hours) or usage.total_instance_hours <= 0:
            return ()
        owned = as_if_owned_throughout(review.active_owned(), usage)
        baseline = simulate(usage, owned, review.catalog)
        candidates = [
            self._compute_sp(review, usage, owned, baseline),
            self._ec2_sps(review, usage, owned, baseline),
            self._ris(review, usage, baseline),
        ]
        best: tuple[Commitment, ...] = ()
        best_savings = 0.0
        for purchases in candidates:
            if not purchases:
                continue
            trial = (*owned, *as_if_owned_throughout(purchases, usage))
            cost = simulate(usage, trial, review.catalog).totals.actual_cost_usd
            if baseline.totals.actual_cost_usd - cost > best_savings:
                best, best_savings = purchases, baseline.totals.actual_cost_usd - cost
        return best

    def _sp_rates(self, keys: pd.DataFrame, catalog: PriceCatalog, plan_type: str) -> FloatArray:
        rates = catalog.savings_plan_rates(keys, plan_type, self.term_years, self.payment_option)
        return np.nan_to_num(rates, nan=0.0)

    def _compute_sp(
        self,
        review: Review,
        usage: UsageMatrix,
        owned: Sequence[Commitment],
        baseline: SimulationResult,
    ) -> tuple[Commitment, ...]:
        rates = self._sp_rates(baseline.keys, review.catalog, "compute")
        upper = SEARCH_MARGIN * float((baseline.on_demand @ rates).max(initial=0.0))
        if upper < SP_STEP_USD:
            return ()
        before = baseline.totals.actual_cost_usd

        def savings(points: FloatArray) -> FloatArray:
            x = float(floor_to_sp_step(points)[0])
            if x <= 0:
                return np.zeros(1)
            plan = savings_plan_purchase(
                CommitmentKind.COMPUTE_SAVINGS_PLAN, x, review.at, **self._offering()
            )
            trial = (*owned, *as_if_owned_throughout([plan], usage))
            after = simulate(usage, trial, review.catalog).totals.actual_cost_usd
            return np.array([before - after])

        best = float(floor_to_sp_step(_golden_max(savings, np.array([upper]), self.iterations))[0])
        if best <= 0:
            return ()
        return (
            savings_plan_purchase(
                CommitmentKind.COMPUTE_SAVINGS_PLAN, best, review.at, **self._offering()
            ),
        )

    def _ec2_sps(
        self,
        review: Review,
        usage: UsageMatrix,
        owned: Sequence[Commitment],
        baseline: SimulationResult,
    ) -> tuple[Commitment, ...]:
        keys = baseline.keys
        rates = self._sp_rates(keys, review.catalog, "ec2_instance")
        labels = pd.DataFrame(
            {
                "region": keys["region"].astype(str).to_numpy(),
                "instance_family": instance_families(keys["instance_type"]).astype(str),
            }
        )
        code, uniques = pd.MultiIndex.from_frame(labels).factorize()
        scopes = pd.MultiIndex.from_tuples(list(uniques), names=list(labels.columns))
        spend = baseline.on_demand * rates  # hours × keys [SP USD]
        per_scope = np.zeros((len(scopes), spend.shape[0]))
        np.add.at(per_scope, code, spend.T)
        upper = SEARCH_MARGIN * per_scope.max(axis=1, initial=0.0)
        if not (upper >= SP_STEP_USD).any():
            return ()

        def scope_cost(result: SimulationResult) -> FloatArray:
            ledger = result.ledger.astype({"region": str, "instance_family": str})
            grouped = ledger.groupby(["region", "instance_family"])["actual_cost_usd"].sum()
            return grouped.reindex(scopes, fill_value=0.0).to_numpy(dtype=np.float64)

        before = scope_cost(baseline)

        def plans(points: FloatArray) -> tuple[Commitment, ...]:
            x = floor_to_sp_step(points)
            return tuple(
                savings_plan_purchase(
                    CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN,
                    float(x[s]),
                    review.at,
                    region=str(scopes[s][0]),
                    instance_family=str(scopes[s][1]),
                    purchase_id=f"ec2sp-{s + 1}",
                    **self._offering(),
                )
                for s in range(len(scopes))
                if x[s] > 0
            )

        def savings(points: FloatArray) -> FloatArray:
            trial = (*owned, *as_if_owned_throughout(plans(points), usage))
            result = simulate(usage, trial, review.catalog)
            return before - scope_cost(result)

        return plans(_golden_max(savings, upper, self.iterations))

    def _ris(
        self, review: Review, usage: UsageMatrix, baseline: SimulationResult
    ) -> tuple[Commitment, ...]:
        keys = baseline.keys
        od = keys["on_demand_usd_per_hour"].to_numpy(dtype=np.float64)
        effective = review.catalog.reserved_rates(
            keys, self.offering_class, self.term_years, self.payment_option
        )
        n_hours = baseline.on_demand.shape[0]
        ratio = np.where(np.isfinite(effective) & (od > 0), effective / np.where(od > 0, od, 1), 2)
        needed = np.floor(n_hours * ratio).astype(np.int64) + 1  # hours the last RI must be used
        ordered = -np.sort(-baseline.on_demand, axis=0)  # each key's hours, largest first
        position = np.clip(needed - 1, 0, max(n_hours - 1, 0))
        counts = np.where(needed <= n_hours, np.floor(ordered[position, np.arange(len(od))]), 0.0)
        return ri_purchases(
            keys,
            counts,
            review.at,
            review.catalog,
            offering_class=self.offering_class,
            term_years=self.term_years,
            payment_option=self.payment_option,
        )

    def _offering(self) -> _Offering:
        return {"term_years": self.term_years, "payment_option": self.payment_option}


__all__ = ["SEARCH_MARGIN", "CostExplorerLike"]
