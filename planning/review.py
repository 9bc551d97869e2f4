"""The purchase review, as a use case: recommend the increment and weigh it over forecasts.

What a review decides, without a workspace and without rendering anything: the usage over the
lookback and the commitments owned go into :func:`planning.recommend.recommend` for the
increment; the owned commitments ending soon are listed and, by default, replaced at their end
by purchases queued to start then (:mod:`planning.renewals`: the increment is decided with them
held as if renewed, then each day's replacement with them gone); and, when something is bought,
the owned commitments alone and with the purchases are billed over sampled future usage paths
(:func:`scenarios.forecast.forecast`, :func:`scenarios.montecarlo.monte_carlo`), with the
frontier of the purchases bought now scaled 0–150 % over the same paths
(:func:`scenarios.frontier.frontier`).

The application shell (:mod:`commitopt.review`) stores the plan, renders the report and records
the run in the workspace.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.units import HOURS_PER_MONTH
from optimizer.policy import Policy
from planning.recommend import RecommendationRun, RecommendOptions, recommend
from planning.renewals import Renewal, ending_days, renewals
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
        Owned commitments ending this soon after the data's last hour are listed, and replaced
        at their end (``queue_renewals``) [days].
    n_paths
        Sampled future usage paths for the savings range (0: none) [1].
    horizon_hours
        Length of each path, from the hour after the data [h].
    seed
        Seed of the paths.
    queue_renewals
        True (the default): the expiring commitments are held as if renewed when the increment
        is decided, and replaced by purchases queued to start when they end
        (:mod:`planning.renewals`). False: the increment is decided with their real ends, so
        their replacement is bought now and paid twice until they end.
    """

    recommend: RecommendOptions = dataclasses.field(default_factory=RecommendOptions)
    expiring_within_days: float = 30.0
    n_paths: int = 200
    horizon_hours: int = 8760
    seed: int = 0
    queue_renewals: bool = True


@dataclass(frozen=True, eq=False)
class ReviewForecast:
    """The owned commitments alone and with the purchases, over sampled future usage paths.

    Attributes
    ----------
    proposed
        The purchases bought now, moved to the paths' period (:func:`shift_purchases`).
    queued
        The renewals' purchases, queued to start when what they replace ends (real dates).
    owned
        The owned commitments billed under them.
    current, with_plan
        Monte Carlo of the owned commitments alone and with the purchases (queued ones too).
    frontier
        The purchases bought now scaled by :data:`FRONTIER_LEVELS`, billed over the same paths
        with the queued ones held.
    n_paths
        Usage paths sampled [1].
    horizon_hours
        Length of each path [h].
    lookback_hours
        Distinct hours of the lookback the paths were forecast from [h].
    """

    proposed: tuple[Commitment, ...]
    queued: tuple[Commitment, ...]
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
class QueuedRenewal:
    """The replacement of the owned commitments ending on one day, queued to their end.

    Attributes
    ----------
    renewal
        When it starts, what it replaces and its purchases (real dates).
    run
        The recommendation that chose them: the lookback with those commitments gone and the
        increment and earlier renewals held.
    """

    renewal: Renewal
    run: RecommendationRun

    @property
    def purchases(self) -> tuple[Commitment, ...]:
        """The queued purchases."""
        return self.renewal.purchases


@dataclass(frozen=True, eq=False)
class PurchaseReview:
    """What a review decided.

    Attributes
    ----------
    run
        The recommendation on the lookback: what is bought now.
    expiring
        Owned commitments ending within the review's window, soonest first.
    forecast
        The purchases weighed over future usage paths; ``None`` when nothing is bought or no
        paths were asked for.
    renewals
        The expiring commitments' replacements, one per day with endings, soonest first (none
        without ``ReviewOptions.queue_renewals`` or when nothing expires or needs replacing).
    """

    run: RecommendationRun
    expiring: tuple[Commitment, ...]
    forecast: ReviewForecast | None
    renewals: tuple[QueuedRenewal, ...] = ()


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
    queued: Sequence[Commitment] = (),
) -> ReviewForecast:
    """Owned alone and owned + purchases over sampled paths of the next ``horizon_hours``, and
    the frontier of the purchases over the same paths.

    The paths start at the hour after the lookback (:func:`scenarios.forecast.forecast` with
    :data:`scenarios.forecast.TREND_LEVELS` per-path trend errors); the purchases are moved
    there, keeping their tranches apart. ``queued`` purchases (renewals) keep their real
    starts; the frontier holds them as owned.
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
    held = (*owned, *queued)
    say(f"billing the frontier over {options.n_paths} paths")
    curve = frontier(paths, proposed, catalog, owned=held, levels=FRONTIER_LEVELS)
    say(f"billing the owned commitments and the plan over {options.n_paths} paths")
    current = monte_carlo(paths, tuple(owned), catalog)
    with_plan = monte_carlo(paths, (*held, *proposed), catalog)
    return ReviewForecast(
        proposed=proposed,
        queued=tuple(queued),
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
    data_end = _data_end(usage)
    expiring = expiring_commitments(owned, data_end, options.expiring_within_days)
    for item in expiring:
        say(f"expiring: {item.kind} {item.id} on {item.end:%Y-%m-%d}")
    runs: list[RecommendationRun] = []
    steps_ahead = [day[0].end for day in ending_days(owned, data_end, _last_end(expiring))]

    def decide(held: tuple[Commitment, ...]) -> tuple[Commitment, ...]:
        if runs:
            say(f"deciding the renewal of what ends on {steps_ahead[len(runs) - 1]:%Y-%m-%d}")
        else:
            say(f"recommending over a {options.recommend.lookback_days:g}-day lookback")
        run = recommend(
            usage, catalog, policy, owned=held, options=options.recommend, progress=progress
        )
        runs.append(run)
        return run.purchases

    if options.queue_renewals and expiring:
        _, steps = renewals(decide, owned, now=data_end, until=_last_end(expiring))
    else:
        decide(tuple(owned))
        steps = ()
    run = runs[0]
    for note in run.notes:  # how it decided; an increment held back is said with the outcome
        if note != run.held_back:
            say(note)
    queued = tuple(
        QueuedRenewal(step, decided)
        for step, decided in zip(steps, runs[1:], strict=True)
        if step.purchases
    )
    for renewal in queued:
        say(
            f"queued {len(renewal.purchases)} purchase(s) from "
            f"{renewal.renewal.start:%Y-%m-%d %H:%M} UTC to replace "
            f"{', '.join(c.id for c in renewal.renewal.replaced)}"
        )
    bought = tuple(p for renewal in queued for p in renewal.purchases)
    future = None
    if (run.purchases or bought) and options.n_paths > 0:
        future = forecast_review(run, owned, catalog, options, say, queued=bought)
    return PurchaseReview(run, expiring, future, queued)


def _data_end(usage: pd.DataFrame | UsageMatrix) -> datetime:
    """The hour after the usage's last (UTC): when its review's purchases start."""
    if isinstance(usage, UsageMatrix):
        last = pd.Timestamp(usage.hours[-1]) if len(usage.hours) else pd.Timestamp.now(tz="UTC")
    elif usage.empty:
        last = pd.Timestamp.now(tz="UTC").floor("h")
    else:
        last = pd.Timestamp(usage["hour"].max())
    if last.tzinfo is None:
        last = last.tz_localize("UTC")
    return last.to_pydatetime() + timedelta(hours=1)


def _last_end(expiring: Sequence[Commitment]) -> datetime:
    """The last end among ``expiring`` (the epoch when there is none)."""
    return max((c.end for c in expiring), default=datetime.fromtimestamp(0, UTC))


__all__ = [
    "FRONTIER_LEVELS",
    "Log",
    "PurchaseReview",
    "QueuedRenewal",
    "ReviewForecast",
    "ReviewOptions",
    "expiring_commitments",
    "forecast_review",
    "review_purchases",
    "shift_purchases",
]
