"""The purchase review, as a use case: recommend the increment and weigh it over forecasts.

What a review decides, without a workspace and without rendering anything: the usage over the
lookback and the commitments owned go into :func:`planning.recommend.recommend` for the
increment; the owned commitments ending soon are listed; and, when something is bought, the
owned commitments alone and with the purchases are billed over sampled future usage paths
(:func:`scenarios.forecast.forecast`, :func:`scenarios.montecarlo.monte_carlo`), with the
frontier of the purchases scaled 0–150 % over the same paths (:func:`scenarios.frontier.frontier`).

The application shell (:mod:`commitopt.review`) stores the plan, renders the report and records
the run in the workspace.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.units import HOURS_PER_MONTH
from optimizer.policy import Policy
from planning.recommend import RecommendationRun, RecommendOptions, recommend
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment
from scenarios.forecast import TREND_LEVELS, forecast
from scenarios.frontier import FrontierResult, frontier
from scenarios.montecarlo import MonteCarloResult, monte_carlo
from usage.table import UsageMatrix

Log = Callable[[str], None]
"""Receives a line as each step of a review begins."""

FRONTIER_LEVELS: Final = np.linspace(0.0, 1.5, 16)
"""Shares of the purchases billed for the review's frontier (level 1 is the plan) [1]."""


@dataclass(frozen=True)
class ReviewOptions:
    """How a review runs.

    Attributes
    ----------
    recommend
        Lookback, ladder, solver and other recommendation options.
    expiring_within_days
        Owned commitments ending this soon after the data's last hour are listed (and their
        room is what the increment may fill) [days].
    n_paths
        Sampled future usage paths for the savings range (0: none) [1].
    horizon_hours
        Length of each path, from the hour after the data [h].
    seed
        Seed of the paths.
    """

    recommend: RecommendOptions = dataclasses.field(default_factory=RecommendOptions)
    expiring_within_days: float = 30.0
    n_paths: int = 200
    horizon_hours: int = 8760
    seed: int = 0


@dataclass(frozen=True, eq=False)
class ReviewForecast:
    """The owned commitments alone and with the purchases, over sampled future usage paths.

    Attributes
    ----------
    proposed
        The purchases moved to the paths' period (:func:`shift_purchases`).
    owned
        The owned commitments billed under them.
    current, with_plan
        Monte Carlo of the owned commitments alone and with the purchases.
    frontier
        The purchases scaled by :data:`FRONTIER_LEVELS`, billed over the same paths.
    n_paths
        Usage paths sampled [1].
    horizon_hours
        Length of each path [h].
    lookback_hours
        Distinct hours of the lookback the paths were forecast from [h].
    """

    proposed: tuple[Commitment, ...]
    owned: tuple[Commitment, ...]
    current: MonteCarloResult
    with_plan: MonteCarloResult
    frontier: FrontierResult
    n_paths: int
    horizon_hours: int
    lookback_hours: int

    @property
    def horizon_months(self) -> float:
        """:attr:`horizon_hours` in months of 730 hours [months]."""
        return self.horizon_hours / HOURS_PER_MONTH

    @property
    def savings_vs_current_usd(self) -> npt.NDArray[np.float64]:
        """Per path: the owned commitments' cost alone − with the purchases [USD]."""
        current = self.current.paths["actual_cost_usd"].to_numpy(dtype=np.float64)
        return current - self.with_plan.paths["actual_cost_usd"].to_numpy(dtype=np.float64)


@dataclass(frozen=True, eq=False)
class PurchaseReview:
    """What a review decided.

    Attributes
    ----------
    run
        The recommendation on the lookback.
    expiring
        Owned commitments ending within the review's window, soonest first.
    forecast
        The purchases weighed over future usage paths; ``None`` when nothing is bought or no
        paths were asked for.
    """

    run: RecommendationRun
    expiring: tuple[Commitment, ...]
    forecast: ReviewForecast | None


def expiring_commitments(
    owned: Sequence[Commitment], after: datetime, within_days: float
) -> tuple[Commitment, ...]:
    """The owned commitments ending in ``[after, after + within_days)``, soonest first."""
    limit = after + timedelta(days=within_days)
    return tuple(sorted((c for c in owned if after <= c.end < limit), key=lambda c: c.end))


def shift_purchases(purchases: Sequence[Commitment], delta: timedelta) -> tuple[Commitment, ...]:
    """Purchases moved by ``delta`` (the plan applied to a later period, tranches kept apart)."""
    return tuple(
        dataclasses.replace(item, start=item.start + delta, end=item.end + delta)
        for item in purchases
    )


def forecast_review(
    run: RecommendationRun,
    owned: Sequence[Commitment],
    catalog: PriceCatalog,
    options: ReviewOptions,
    log: Log | None = None,
) -> ReviewForecast:
    """Owned alone and owned + purchases over sampled paths of the next ``horizon_hours``, and
    the frontier of the purchases over the same paths.

    The paths start at the hour after the lookback (:func:`scenarios.forecast.forecast` with
    :data:`scenarios.forecast.TREND_LEVELS` per-path trend errors); the purchases are moved
    there, keeping their tranches apart.
    """
    say = log or (lambda _line: None)
    lookback = run.usage
    first_hour = pd.Timestamp(lookback.hours[0])
    future_start = pd.Timestamp(lookback.hours[-1]) + pd.Timedelta(hours=1)
    say(
        f"forecasting {options.n_paths} usage paths of {options.horizon_hours:,} h from "
        f"{future_start:%Y-%m-%d}"
    )
    paths = forecast(
        lookback,
        horizon_hours=options.horizon_hours,
        n_paths=options.n_paths,
        seed=options.seed,
        start=future_start,
        trend_levels=TREND_LEVELS,
    ).paths
    proposed = shift_purchases(run.purchases, future_start - first_hour)
    say(f"billing the frontier over {options.n_paths} paths")
    curve = frontier(paths, proposed, catalog, owned=tuple(owned), levels=FRONTIER_LEVELS)
    say(f"billing the owned commitments and the plan over {options.n_paths} paths")
    current = monte_carlo(paths, tuple(owned), catalog)
    with_plan = monte_carlo(paths, (*owned, *proposed), catalog)
    return ReviewForecast(
        proposed=proposed,
        owned=tuple(owned),
        current=current,
        with_plan=with_plan,
        frontier=curve,
        n_paths=options.n_paths,
        horizon_hours=options.horizon_hours,
        lookback_hours=len(lookback.hours),
    )


def review_purchases(
    usage: pd.DataFrame | UsageMatrix,
    catalog: PriceCatalog,
    policy: Policy,
    *,
    owned: Sequence[Commitment] = (),
    options: ReviewOptions | None = None,
    log: Log | None = None,
    progress: Callable[[int, float, float], None] | None = None,
) -> PurchaseReview:
    """Recommend the increment on the lookback, list what expires, weigh the purchases.

    Parameters
    ----------
    usage
        The canonical usage table or its matrix (the lookback is taken from its end; the CLI
        reads only the lookback from the workspace).
    catalog
        Prices.
    policy
        What may be bought.
    owned
        Commitments already owned (their expirations open room).
    options
        See :class:`ReviewOptions`.
    log
        Receives a line as each step begins.
    progress
        Called with (iteration, lower bound, upper bound) while the optimizer's cutting planes
        run.

    Raises
    ------
    core.errors.CommitoptInputError
        For unusable usage, prices or policy.
    """
    options = options or ReviewOptions()
    say = log or (lambda _line: None)
    say(f"recommending over a {options.recommend.lookback_days:g}-day lookback")
    run = recommend(
        usage, catalog, policy, owned=tuple(owned), options=options.recommend, progress=progress
    )
    for note in run.notes:  # how it decided; an increment held back is said with the outcome
        if note != run.held_back:
            say(note)
    data_end = pd.Timestamp(run.usage.hours[-1]).to_pydatetime() + timedelta(hours=1)
    expiring = expiring_commitments(owned, data_end, options.expiring_within_days)
    for item in expiring:
        say(f"expiring: {item.kind} {item.id} on {item.end:%Y-%m-%d}")
    future = None
    if run.purchases and options.n_paths > 0:
        future = forecast_review(run, owned, catalog, options, say)
    return PurchaseReview(run, expiring, future)


__all__ = [
    "FRONTIER_LEVELS",
    "Log",
    "PurchaseReview",
    "ReviewForecast",
    "ReviewOptions",
    "expiring_commitments",
    "forecast_review",
    "review_purchases",
    "shift_purchases",
]
