"""The purchase decision on the futures, and what the plan is expected to save over its term.

:func:`forecast_problem` turns a lookback into the reduced problem over the futures of
:mod:`planning.future` (owned commitments on the futures' compressed clock), so the optimizer
chooses the purchases that minimise the expected cost over the term (plus the CVaR term of the
policy, when it has a weight: the CVaR of the whole book's loss against on-demand,
:func:`cost_on_demand`). :func:`expected_outcome` bills the chosen purchases on every future
with :func:`billing.simulator.simulate` and summarises the savings against the owned commitments
alone: mean, 5th percentile, and the share of futures in which the purchases lose money.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from billing.simulator import simulate
from core.units import HOURS_PER_YEAR
from optimizer.allocation import scenario_costs
from optimizer.build import build_problem
from optimizer.policy import Policy
from optimizer.problem import CommitmentProblem
from planning.future import FutureOptions, Futures, compress_owned, decision_futures
from planning.future_changes import with_known_changes
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment
from pricing.inventory.values import term_end
from usage.table import UsageMatrix

LOSS_TOLERANCE_USD = 0.005
"""Savings below minus this count as a loss [USD]."""


class IdleFuturesError(Exception):
    """No key runs in any future (every key of the decision launched too recently to buy for,
    or its usage ends): there is nothing to buy, and no problem to take the decision on.

    Attributes
    ----------
    futures
        The futures sampled, all idle (their young keys say why).
    """

    def __init__(self, futures: Futures) -> None:
        super().__init__("no key runs in any future the decision sampled")
        self.futures = futures


@dataclass(frozen=True, eq=False)
class ForecastDecision:
    """The futures and the reduced problem over them.

    Attributes
    ----------
    futures
        The sampled futures.
    problem
        The reduced problem, one scenario per future.
    """

    futures: Futures
    problem: CommitmentProblem


def term_hours(policy: Policy) -> int:
    """The longest term the policy may buy [h]."""
    return int(max(policy.terms_years) * HOURS_PER_YEAR)


def forecast_problem(
    lookback: UsageMatrix,
    catalog: PriceCatalog,
    policy: Policy,
    owned: Sequence[Commitment],
    options: FutureOptions,
    *,
    as_ran: UsageMatrix | None = None,
) -> ForecastDecision:
    """The reduced problem over the lookback's futures (see the module); ``as_ran``: the
    lookback as it ran, where ``lookback`` is adjusted (:func:`planning.future.decision_futures`).

    Raises
    ------
    IdleFuturesError
        When no key runs in any future.
    """
    futures = decision_futures(
        lookback, catalog, replace(options, term_hours=term_hours(policy)), as_ran=as_ran
    )
    if options.known_changes is not None:
        futures = with_known_changes(futures, options.known_changes, catalog)
    if not futures.quantity.any():
        raise IdleFuturesError(futures)
    if policy.cvar_weight <= 0 and options.risk_weight > 0:
        policy = replace(policy, cvar_weight=options.risk_weight, cvar_alpha=options.risk_level)
    problem = build_problem(
        None,
        catalog,
        policy,
        owned=compress_owned(tuple(owned), futures),
        scenarios=futures.scenarios(),
    )
    if problem.cvar_weight > 0:
        problem = replace(
            problem,
            cvar_reference_usd=cost_on_demand(problem),
            cvar_losses_only=options.risk_losses_only,
        )
    return ForecastDecision(futures, problem)


def cost_on_demand(problem: CommitmentProblem) -> npt.NDArray[np.float64]:
    """Each scenario's cost with no commitment that covers its usage, owned or bought [USD]:
    what the risk term measures the loss of the whole book (owned commitments and purchases)
    against.

    Owned commitments with nothing in their scope here (a SageMaker plan beside EC2 usage, an
    RI for a key that does not run) are added to it: their cost is the same in every future
    and no decision changes it, and with only losses counted it would make every future a
    loss and turn the term on for purchases that lose nothing.

    The loss of the book, not of the purchases alone. A review buys an increment on top of
    what it owns. Judged alone, an increment's worst tenth of the futures is where its own
    fleet moves or exits, so each review hedged its increment as if it were the whole book.
    Against on-demand, the increment counts in the futures where the book as a whole does
    worst: the risk finance carries, paying more than on-demand. With nothing owned the two
    are the same.
    """
    discounted = problem.period_weight * problem.period_discount
    idle = problem.owned_idle_cost_usd
    return scenario_costs(problem, idle, discounted * problem.demand_usd.sum(axis=1))


def redate(purchases: Sequence[Commitment], start: pd.Timestamp) -> tuple[Commitment, ...]:
    """Purchases moved to start at ``start`` (their full term from there)."""
    moment = pd.Timestamp(start).to_pydatetime()
    return tuple(replace(p, start=moment, end=term_end(moment, p.term_years)) for p in purchases)


def _laid_end_to_end(
    futures: Futures, owned: Sequence[Commitment], purchases: Sequence[Commitment]
) -> tuple[UsageMatrix, tuple[Commitment, ...], tuple[Commitment, ...]]:
    """Every future one after the other on one clock, so one bill covers them all: the owned
    commitments repeated in each future's stretch (one item when active in all of it), the
    purchases active over the whole span."""
    span = futures.quantity.shape[1]
    count = futures.count
    hours = pd.date_range(futures.start, periods=span * count, freq="h")
    stacked = UsageMatrix(hours, futures.keys, futures.quantity.reshape(span * count, -1))
    first, stop = hours[0].to_pydatetime(), (hours[-1] + pd.Timedelta(hours=1)).to_pydatetime()
    laid: list[Commitment] = []
    for item in compress_owned(tuple(owned), futures):
        start_offset = (pd.Timestamp(item.start) - futures.start) / pd.Timedelta(hours=1)
        end_offset = (pd.Timestamp(item.end) - futures.start) / pd.Timedelta(hours=1)
        if start_offset <= 0 and end_offset >= span:
            laid.append(replace(item, start=first, end=stop))
            continue
        for index in range(count):
            shift = pd.Timedelta(hours=index * span)
            laid.append(
                replace(
                    item,
                    id=f"{item.id}#{index}",
                    start=(pd.Timestamp(item.start) + shift).to_pydatetime(),
                    end=(pd.Timestamp(item.end) + shift).to_pydatetime(),
                )
            )
    bought = tuple(replace(p, start=first, end=stop) for p in purchases)
    return stacked, tuple(laid), bought


def _savings_per_future(
    futures: Futures,
    purchases: Sequence[Commitment],
    owned: Sequence[Commitment],
    catalog: PriceCatalog,
    discount_rate: float,
) -> np.ndarray:
    """Savings of the purchases in each future over the whole term [USD]: on-demand spend
    they remove, minus their fees, from two bills of the futures laid end to end."""
    stacked, laid_owned, bought = _laid_end_to_end(futures, owned, purchases)
    before = simulate(stacked, laid_owned, catalog, discount_rate=discount_rate)
    after = simulate(stacked, (*laid_owned, *bought), catalog, discount_rate=discount_rate)
    rates = before.keys["on_demand_usd_per_hour"].to_numpy(dtype=np.float64)
    removed = (before.on_demand - after.on_demand) @ rates  # per hour [USD]
    span = futures.quantity.shape[1]
    per_future = removed.reshape(futures.count, span).sum(axis=1)
    new_ids = {p.id for p in bought}
    fees = after.instruments.loc[after.instruments["id"].isin(new_ids), "cost_usd"].sum()
    fee_per_future = float(fees) / futures.count
    scale = futures.epoch_hours * futures.epochs / span
    return scale * (per_future - fee_per_future)


def expected_outcome(
    futures: Futures,
    purchases: Sequence[Commitment],
    owned: Sequence[Commitment],
    catalog: PriceCatalog,
    *,
    discount_rate: float = 0.0,
) -> dict[str, Any]:
    """The purchases billed on every future, against the owned commitments alone.

    Returns
    -------
    dict
        ``futures`` (count), ``term_hours``, ``expected_savings_usd`` (mean over the futures,
        scaled from the representative weeks to the whole term), ``p5_savings_usd``,
        ``worst_savings_usd``, ``loss_probability_pct`` (share of futures in which the purchases
        cost more than they save), ``expected_savings_usd_per_month``, and ``structural_events``
        (how many futures hold a migration or exit, with the rates used).
    """
    if futures.quantity.any():
        savings = _savings_per_future(futures, purchases, owned, catalog, discount_rate)
    else:  # no key runs in any future (IdleFuturesError): nothing is bought, nothing saved
        savings = np.zeros(futures.count)
    term = futures.epoch_hours * futures.epochs
    with_events = int(futures.events["future"].nunique()) if len(futures.events) else 0
    return {
        "futures": futures.count,
        "term_hours": round(term),
        "expected_savings_usd": round(float(savings.mean()), 2),
        "expected_savings_usd_per_month": round(float(savings.mean()) / (term / 730.0), 2),
        "p5_savings_usd": round(float(np.percentile(savings, 5)), 2),
        "worst_savings_usd": round(float(savings.min()), 2),
        "loss_probability_pct": round(100.0 * float((savings < -LOSS_TOLERANCE_USD).mean()), 2),
        "structural_events": {
            "futures_with_events": with_events,
            "migration_rate_per_year": round(futures.rates.migration_per_year, 4),
            "exit_rate_per_year": round(futures.rates.exit_per_year, 4),
            "region_migration_rate_per_year": round(futures.rates.region_migration_per_year, 4),
            "region_exit_rate_per_year": round(futures.rates.region_exit_per_year, 4),
            "rates": futures.rates.describe(),
            "moves_under_way": list(futures.rates.under_way),
        },
    }


__all__ = [
    "ForecastDecision",
    "IdleFuturesError",
    "expected_outcome",
    "forecast_problem",
    "redate",
    "term_hours",
]
