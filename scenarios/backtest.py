"""Backtest of purchase policies: replay a history review by review, then bill it once.

At each review date (monthly by default) a :class:`PurchasePolicy` sees only the past, at most
``lookback_days`` of usage strictly before the date (the engine slices it; keys without usage in
that slice are left out, so not even the names of future keys leak), and the commitments it owns
at that date (its earlier purchases, with their expirations, and the initial ``owned``). It
returns new purchases that start at the review date, or later (a purchase queued to start when
an owned commitment ends, as AWS sells them), and end one term later. When every review
is done, the whole window ``[start, end)`` is billed once per policy by
:func:`billing.simulator.simulate`, the one source of truth for money.

Window accounting (the same for every policy and for the hindsight row): a commitment is charged
only for the hours of its term inside ``[start, end)``, upfront amortized over the term hours
and recurring fee alike (pro rata, as the simulator charges any term that overlaps the billed
period). The rest of a term that runs past ``end`` (or began before ``start``) is neither cost nor
value. ``upfront_cash_usd`` is reported for information only: the upfront paid inside the window,
in full, by the purchases made there.

The hindsight row is the ceiling: a plan made knowing the window's realized usage (see
:class:`HindsightPlanner`; the optimizer's is in :mod:`planning.policies`, since
``scenarios`` never imports ``optimizer``). A planner may return a :class:`CeilingPlan`: its
plan (billed here like any policy) and a certified upper bound on the savings any plan of its
feasible set can reach (``ceiling_savings_usd``, :mod:`planning.ceiling`); the dates it may buy
at hold the review dates and every later start a policy queued a purchase for inside the
window, so no policy can buy where the ceiling cannot. Each policy's
``captured`` is its savings ÷ that bound (÷ the hindsight row's billed savings when the planner
gives no bound); the hindsight row's own ``captured`` is then below 100 % by the certified gap
(``ceiling_gap_pct``). A second, one-shot planner (purchases at the first review only) gives the
``hindsight-oneshot`` row and ``captured_oneshot``, the measure of a policy that buys once.

A policy above a certified bound is a bug, not a finding: it sets the status
:attr:`BacktestStatus.HINDSIGHT_BEATEN` (and the tests fail on it). Without a bound, a policy
above the hindsight's billed savings sets it too (the plan is then not the optimum).

The policies themselves (none, Cost-Explorer-like, knee, ours, hindsight) are in
:mod:`planning.policies`; here are the building blocks they buy with (:func:`savings_plan_purchase`,
:func:`ri_purchases`, :func:`as_if_owned_throughout`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from billing.simulator import SimulationResult, simulate
from core.durations import parse_calendar_step
from core.errors import CommitoptInputError, param
from core.times import as_utc, utc_hour
from pricing.catalog import PriceCatalog
from pricing.errors import UnknownInstanceTypeError
from pricing.instance_types import instance_families, normalization_factor
from pricing.inventory import Commitment, Inventory
from pricing.inventory.values import ri_effective_hourly_usd, term_end
from pricing.offerings import SP_UPFRONT_SHARE, TERM_HOURS, CommitmentKind, floor_to_whole_ris
from usage.priced import without_unpriced_services
from usage.table import KEY_COLUMNS, UsageMatrix, to_matrix

FloatArray = npt.NDArray[np.float64]

HINDSIGHT: Final = "hindsight"
"""Name of the hindsight row in a :class:`BacktestResult`."""

HINDSIGHT_ONESHOT: Final = "hindsight-oneshot"
"""Name of the one-shot hindsight row (purchases at the first review only)."""

DEFAULT_LOOKBACK_DAYS: Final = 90.0
"""History a policy may see at each review [days]."""

DEFAULT_REVIEW_EVERY: Final = "1mo"
"""Monthly reviews: the window's first hour, then the first hour of every calendar month."""

BEATEN_TOLERANCE: Final = 1e-6
"""Relative cost gap below the hindsight's that counts as beating it [1]."""

_HOUR: Final = pd.Timedelta(hours=1)


class BacktestError(CommitoptInputError):
    """A backtest that cannot run as asked (window, lookback, schedule, a policy's purchase)."""


class BacktestStatus(StrEnum):
    """How a backtest went."""

    OK = "ok"
    """Every policy billed; the hindsight row is at or above every policy."""
    NO_HINDSIGHT = "no_hindsight"
    """No hindsight planner was given: no ceiling, no ``captured``."""
    HINDSIGHT_BEATEN = "hindsight_beaten"
    """A policy saved more than the ceiling (its certified bound, or without one the hindsight
    plan's billed savings): a bug in the ceiling or the billing when the bound is certified."""


# --------------------------------------------------------------------------- schedule


def review_dates(start: object, end: object, every: str = DEFAULT_REVIEW_EVERY) -> pd.DatetimeIndex:
    """The review dates of a window ``[start, end)``.

    ``Nmo``: ``start``, then the first hour of every N-th calendar month after it (the
    optimizer's tranche dates, so that the hindsight may buy whenever a monthly policy may).
    ``Nw`` / ``Nd``: every N weeks / days from ``start``. Dates are UTC hours before ``end``.
    """
    first = utc_hour(start, "start", error=BacktestError)
    stop = utc_hour(end, "end", error=BacktestError)
    count, unit = parse_calendar_step(every, "review_every")
    if unit == "mo":
        month = first.tz_convert(None).to_period("M")
        months = pd.period_range(
            month + 1, (stop - _HOUR).tz_convert(None).to_period("M"), freq="M"
        )
        starts = months.to_timestamp().tz_localize("UTC")[count - 1 :: count]
        dates = pd.DatetimeIndex([first]).append(pd.DatetimeIndex(starts))
    else:
        step = pd.Timedelta(days=count * (7 if unit == "w" else 1))
        dates = pd.date_range(first, stop, freq=step, inclusive="left")
    return pd.DatetimeIndex(dates[dates < stop]).as_unit("ns")


# --------------------------------------------------------------------------- policy interface


@dataclass(frozen=True, eq=False)
class Review:
    """What a policy knows at one review date.

    Attributes
    ----------
    at
        The review date (UTC hour); purchases start there, or are queued to start later.
    number
        0 for the first review.
    usage
        Usage strictly before ``at``, at most the lookback: hours × keys, keys without usage in
        it left out [instance-hours].
    owned
        Commitments owned and not yet expired at ``at`` (``end > at``): earlier purchases and the
        initial ones, with their own start and end (a purchase queued to start later too).
    catalog
        Prices.
    next_at
        The next review date, ``None`` at the last (the schedule, not the window's end).
    """

    at: pd.Timestamp
    number: int
    usage: UsageMatrix
    owned: tuple[Commitment, ...]
    catalog: PriceCatalog
    next_at: pd.Timestamp | None

    @cached_property
    def usage_frame(self) -> pd.DataFrame:
        """:attr:`usage` as the canonical long table (zero cells left out)."""
        return self.usage.to_frame()

    def active_owned(self, moment: pd.Timestamp | None = None) -> tuple[Commitment, ...]:
        """The owned commitments active at ``moment`` (default: the review date)."""
        when = (moment if moment is not None else self.at).to_pydatetime()
        return tuple(c for c in self.owned if c.start <= when < c.end)


class PurchasePolicy(Protocol):
    """A purchase policy: at each review, what to buy (nothing is an empty sequence)."""

    def __call__(self, review: Review) -> Sequence[Commitment]:
        """New purchases starting at ``review.at`` (or queued to start later) and ending one term
        later."""
        ...


@dataclass(frozen=True, eq=False)
class HindsightWindow:
    """What the hindsight planner sees: the realized usage of the whole window.

    Attributes
    ----------
    usage
        The window's usage, hours × keys [instance-hours].
    owned
        The initial owned commitments.
    review_dates
        When the policies could buy: the review dates and every later start a policy queued a
        purchase for inside the window.
    catalog
        Prices.
    """

    usage: UsageMatrix
    owned: tuple[Commitment, ...]
    review_dates: pd.DatetimeIndex
    catalog: PriceCatalog


@dataclass(frozen=True, eq=False)
class CeilingPlan:
    """A hindsight plan with a certified bound on the savings of its feasible set.

    Attributes
    ----------
    purchases
        The plan, each purchase starting inside the window.
    ceiling_savings_usd
        Certified upper bound on the savings vs on-demand of any plan the planner's feasible
        set holds (with the initial owned commitments), over the window [USD]; NaN for none.
    notes
        What the reader should know about the bound (one line each).
    """

    purchases: Sequence[Commitment]
    ceiling_savings_usd: float = math.nan
    notes: tuple[str, ...] = ()


class HindsightPlanner(Protocol):
    """Plans purchases knowing the window's usage (starts inside the window)."""

    def __call__(self, window: HindsightWindow) -> Sequence[Commitment] | CeilingPlan:
        """Purchases, each starting inside the window (with a certified bound, or not)."""
        ...


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class PolicyOutcome:
    """One policy billed over the window.

    Attributes
    ----------
    name
        Policy name (or ``"hindsight"``).
    purchases
        The purchases it made, in order, with the review date as start.
    simulation
        The window billed with the initial owned commitments and the purchases.
    captured
        Savings ÷ the ceiling (the certified bound, else the hindsight's billed savings) [1];
        NaN without a hindsight row or when the ceiling saves nothing.
    captured_oneshot
        Savings ÷ the one-shot ceiling [1]; NaN without it.
    ceiling_savings_usd
        Hindsight rows: the certified bound on the savings of their feasible set [USD]; NaN
        for policies and for a planner without a bound.
    """

    name: str
    purchases: tuple[Commitment, ...]
    simulation: SimulationResult
    captured: float = math.nan
    captured_oneshot: float = math.nan
    ceiling_savings_usd: float = math.nan

    @property
    def cost_usd(self) -> float:
        """Actual cost over the window [USD]."""
        return self.simulation.totals.actual_cost_usd

    @property
    def savings_vs_on_demand_usd(self) -> float:
        """On-demand equivalent − actual cost [USD]."""
        return self.simulation.totals.savings_vs_on_demand_usd

    def row(self) -> dict[str, object]:
        """The summary row of :meth:`BacktestResult.table`."""
        totals = self.simulation.totals
        return {
            "policy": self.name,
            "actual_cost_usd": totals.actual_cost_usd,
            "on_demand_cost_usd": totals.on_demand_cost_usd,
            "savings_vs_on_demand_usd": totals.savings_vs_on_demand_usd,
            "savings_vs_on_demand_pct": totals.savings_vs_on_demand_pct,
            "captured_pct": 100 * self.captured,
            "captured_oneshot_pct": 100 * self.captured_oneshot,
            "ceiling_savings_usd": self.ceiling_savings_usd,
            "coverage_pct": totals.coverage_pct,
            "utilization_pct": totals.utilization_pct,
            "upfront_usd": totals.upfront_usd,
            "purchase_count": len(self.purchases),
        }


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Every policy billed over the same window, with the hindsight ceiling.

    Attributes
    ----------
    status
        :class:`BacktestStatus`.
    start, end
        The billed window ``[start, end)``.
    review_dates
        When the policies were asked.
    lookback_days
        History each review saw at most [days].
    outcomes
        Policy name -> :class:`PolicyOutcome`, in the order given.
    hindsight
        The hindsight row, ``None`` without a planner.
    notes
        What the reader should know (one line each).
    hindsight_oneshot
        The one-shot hindsight row (purchases at the first review only), ``None`` without.
    """

    status: BacktestStatus
    start: pd.Timestamp
    end: pd.Timestamp
    review_dates: pd.DatetimeIndex
    lookback_days: float
    outcomes: Mapping[str, PolicyOutcome]
    hindsight: PolicyOutcome | None
    notes: tuple[str, ...] = field(default=())
    hindsight_oneshot: PolicyOutcome | None = None

    @property
    def ceiling_savings_usd(self) -> float:
        """The certified bound on any plan's savings (purchases at every review) [USD]; the
        hindsight's billed savings when its planner gives no bound; NaN without a hindsight."""
        return _ceiling_of(self.hindsight)

    @property
    def ceiling_gap_pct(self) -> float:
        """(bound − hindsight's billed savings) ÷ |bound| [%]: how far the billed hindsight
        plan may be from the best plan; NaN without a bound."""
        return _gap_pct(self.hindsight)

    @property
    def oneshot_ceiling_savings_usd(self) -> float:
        """The certified bound on any one-shot plan's savings [USD] (NaN without)."""
        return _ceiling_of(self.hindsight_oneshot)

    @property
    def oneshot_ceiling_gap_pct(self) -> float:
        """The one-shot ceiling's certified gap [%] (NaN without)."""
        return _gap_pct(self.hindsight_oneshot)

    def table(self) -> pd.DataFrame:
        """One row per policy, then the hindsight rows: cost, savings, captured (of the bound),
        captured of the one-shot bound, the bound (hindsight rows), metrics, purchases."""
        rows = [outcome.row() for outcome in self.outcomes.values()]
        rows.extend(o.row() for o in (self.hindsight, self.hindsight_oneshot) if o is not None)
        return pd.DataFrame(rows)


def _ceiling_of(row: PolicyOutcome | None) -> float:
    if row is None:
        return math.nan
    if math.isnan(row.ceiling_savings_usd):
        return row.savings_vs_on_demand_usd
    return row.ceiling_savings_usd


def _gap_pct(row: PolicyOutcome | None) -> float:
    if row is None or math.isnan(row.ceiling_savings_usd):
        return math.nan
    bound = row.ceiling_savings_usd
    return 100.0 * (bound - row.savings_vs_on_demand_usd) / max(abs(bound), 1e-12)


# --------------------------------------------------------------------------- purchases


def savings_plan_purchase(
    kind: str,
    commitment_usd_per_hour: float,
    at: pd.Timestamp,
    *,
    term_years: int = 1,
    payment_option: str = "No Upfront",
    region: str | None = None,
    instance_family: str | None = None,
    purchase_id: str = "sp",
) -> Commitment:
    """A Savings Plan bought at ``at`` for one term [commitment in USD/h]."""
    hours = TERM_HOURS[term_years]
    upfront = round(commitment_usd_per_hour * hours * SP_UPFRONT_SHARE[payment_option], 6)
    return Commitment(
        kind=kind,
        id=purchase_id,
        start=pd.Timestamp(at).to_pydatetime(),
        end=term_end(pd.Timestamp(at).to_pydatetime(), term_years),
        term_years=term_years,
        payment_option=payment_option,
        upfront_usd=upfront,
        region=region,
        instance_family=instance_family,
        commitment_usd_per_hour=commitment_usd_per_hour,
        recurring_usd_per_hour=commitment_usd_per_hour - upfront / hours,
        effective_usd_per_hour=commitment_usd_per_hour,
        source="backtest",
    )


def ri_purchases(
    keys: pd.DataFrame,
    counts: npt.ArrayLike,
    at: pd.Timestamp,
    catalog: PriceCatalog,
    *,
    offering_class: str = "standard",
    term_years: int = 1,
    payment_option: str = "No Upfront",
) -> tuple[Commitment, ...]:
    """Regional RIs of each key's exact type, ``counts`` of each (zero counts left out)."""
    count = floor_to_whole_ris(counts)
    offering = (offering_class, term_years, payment_option)
    upfront = catalog.reserved_rates(keys, *offering, "upfront_usd")
    recurring = catalog.reserved_rates(keys, *offering, "recurring_usd_per_hour")
    items: list[Commitment] = []
    for i in np.flatnonzero((count > 0) & np.isfinite(upfront) & np.isfinite(recurring)):
        key = keys.iloc[int(i)]
        n = int(count[i])
        try:
            units: float | None = n * normalization_factor(str(key["instance_type"]))
        except UnknownInstanceTypeError:
            units = None
        total_upfront = round(n * float(upfront[i]), 6)
        items.append(
            Commitment(
                kind=CommitmentKind.RESERVED_INSTANCE,
                id=f"ri-{len(items) + 1}",
                start=pd.Timestamp(at).to_pydatetime(),
                end=term_end(pd.Timestamp(at).to_pydatetime(), term_years),
                term_years=term_years,
                payment_option=payment_option,
                upfront_usd=total_upfront,
                region=str(key["region"]),
                instance_type=str(key["instance_type"]),
                platform=str(key["platform"]),
                tenancy=str(key["tenancy"]),
                scope="Region",
                offering_class=offering_class,
                count=n,
                normalized_units=units,
                recurring_usd_per_hour=float(recurring[i]),
                effective_usd_per_hour=ri_effective_hourly_usd(
                    total_upfront, float(recurring[i]), n, term_years
                ),
                source="backtest",
            )
        )
    return tuple(items)


def as_if_owned_throughout(
    owned: Sequence[Commitment], usage: UsageMatrix
) -> tuple[Commitment, ...]:
    """Owned commitments re-dated to cover the whole of ``usage``'s hours.

    What a policy that plans from a lookback does with what it owns now: the past is billed as
    if today's portfolio had been there all along. A commitment keeps its real end when it runs
    past the lookback, so a decision on the future sees when it expires.
    """
    if not len(usage.hours):
        return ()
    first = usage.hours[0].to_pydatetime()
    stop = (usage.hours[-1] + _HOUR).to_pydatetime()
    return tuple(replace(c, start=first, end=max(c.end, stop)) for c in owned)


# --------------------------------------------------------------------------- engine


def _owned_items(owned: Inventory | Sequence[Commitment]) -> tuple[Commitment, ...]:
    return owned.commitments if isinstance(owned, Inventory) else tuple(owned)


def _slice(matrix: UsageMatrix, first: int, stop: int, *, used_keys_only: bool) -> UsageMatrix:
    quantity = matrix.quantity[first:stop]
    keys = matrix.keys
    if used_keys_only:
        used = np.flatnonzero(quantity.sum(axis=0) > 0)
        quantity = quantity[:, used]
        keys = keys.iloc[used].reset_index(drop=True)
    return UsageMatrix(
        matrix.hours[first:stop], keys, np.ascontiguousarray(quantity), matrix.daily_granular
    )


def whole_days(usage: pd.DataFrame | UsageMatrix) -> UsageMatrix:
    """The usage as a matrix over whole UTC days from its first day to its last.

    Usage tables (and matrices read from a workspace, which run from the first stored hour to
    the last) leave hours without usage out, so a fleet that runs in business hours would
    otherwise seem to start at 08:00 and stop at 18:00. A matrix is padded with zero hours.
    """
    if isinstance(usage, UsageMatrix):
        if len(usage.hours) == 0:
            return usage
        first = usage.hours[0].floor("D")
        stop = (usage.hours[-1] + _HOUR).ceil("D")
        hours = pd.date_range(first, stop, freq="h", inclusive="left")
        if len(hours) == len(usage.hours):
            return usage
        quantity = np.zeros((len(hours), len(usage.keys)))
        offset = int((usage.hours[0] - first) / _HOUR)
        quantity[offset : offset + len(usage.hours)] = usage.quantity
        return UsageMatrix(hours, usage.keys, quantity, usage.daily_granular)
    if usage.empty:
        return to_matrix(usage)
    hours = pd.DatetimeIndex(usage["hour"])
    hours = as_utc(hours)
    first = hours.min().floor("D")
    stop = (hours.max() + _HOUR).ceil("D")
    return to_matrix(usage, start=first, end=stop)


def _check_window(
    matrix: UsageMatrix, start: pd.Timestamp, end: pd.Timestamp, lookback_days: float
) -> None:
    if not np.isfinite(lookback_days) or lookback_days <= 0:
        raise BacktestError(
            f"{param('lookback_days')} must be a positive number of days, not {lookback_days}"
        )
    if start >= end:
        raise BacktestError(
            f"{param('start')} {start.isoformat()} is not before {param('end')} {end.isoformat()}; "
            "swap or widen them"
        )
    if not len(matrix.hours):
        raise BacktestError("the usage is empty; give a usage history to backtest on")
    first, stop = matrix.hours[0], matrix.hours[-1] + _HOUR
    if start < first or end > stop:
        raise BacktestError(
            f"the window {start.isoformat()} to {end.isoformat()} is longer than the data "
            f"({first.isoformat()} to {stop.isoformat()}); narrow {param('start')}/{param('end')}"
        )
    earliest = start - pd.Timedelta(hours=round(lookback_days * 24))
    if earliest < first:
        raise BacktestError(
            f"the {lookback_days:g}-day lookback of the first review starts at "
            f"{earliest.isoformat()}, before the data's start {first.isoformat()}; move "
            f"{param('start')} to "
            f"{(first + pd.Timedelta(hours=round(lookback_days * 24))).isoformat()} or later "
            f"or shorten {param('lookback_days')}"
        )


def relevant_prices(
    catalog: PriceCatalog, keys: pd.DataFrame, owned: Sequence[Commitment] = ()
) -> PriceCatalog:
    """The catalog cut to the regions and families of ``keys`` and ``owned`` (every size kept).

    A backtest looks prices up hundreds of times; the cut makes each look-up cheap and changes
    no price of a key that can occur.
    """
    regions = {str(r) for r in keys["region"]} | {c.region for c in owned if c.region}
    families = set(instance_families(keys["instance_type"]).astype(str))
    families |= {c.instance_family for c in owned if c.instance_family}
    types = [c.instance_type for c in owned if c.instance_type]
    if types:
        families |= set(instance_families(pd.Series(types)).astype(str))
    return catalog.filter(regions=sorted(regions), families=sorted(families))


def _dated(
    purchases: Sequence[Commitment], at: pd.Timestamp, name: str, number: int
) -> tuple[Commitment, ...]:
    """Check that the purchases start at the review date or later (queued) on a whole hour;
    give them unique ids."""
    moment = at.to_pydatetime()
    dated: list[Commitment] = []
    for index, purchase in enumerate(purchases, start=1):
        if not isinstance(purchase, Commitment):
            raise BacktestError(
                f"policy {name!r} returned {type(purchase).__name__}; return Commitment items"
            )
        start = pd.Timestamp(purchase.start)
        if purchase.start < moment or start != start.floor("h"):
            raise BacktestError(
                f"policy {name!r} bought {purchase.id} starting {purchase.start.isoformat()} at "
                f"the review of {at.isoformat()}; purchases start at the review date or at a "
                "later whole hour (queued)"
            )
        dated.append(replace(purchase, id=f"{name}/{number + 1}-{index}"))
    return tuple(dated)


def _bill(
    window: UsageMatrix,
    owned: tuple[Commitment, ...],
    purchases: tuple[Commitment, ...],
    catalog: PriceCatalog,
) -> SimulationResult:
    return simulate(window, (*owned, *purchases), catalog)


@dataclass(frozen=True, eq=False)
class _Replay:
    """What every policy's replay shares: the usage, the window and the review schedule.

    Attributes
    ----------
    matrix
        The whole usage, hours × keys (the lookbacks are sliced from it).
    window
        The billed window ``[first_hour, stop_hour)`` of it, every key kept.
    first_hour, stop_hour
        The window's first hour and the hour after its last (UTC).
    dates
        The review dates.
    rows
        Each review date's row in ``matrix``.
    lookback_hours
        History a review sees at most [h].
    initial
        The commitments owned at ``first_hour``.
    catalog
        The prices, cut to what can occur (:func:`relevant_prices`): the bills' and the
        hindsight's, which see the whole window.
    review_catalog
        The prices a review sees: the catalog as given, not cut by the window's usage.
    """

    matrix: UsageMatrix
    window: UsageMatrix
    first_hour: pd.Timestamp
    stop_hour: pd.Timestamp
    dates: pd.DatetimeIndex
    rows: tuple[int, ...]
    lookback_hours: int
    initial: tuple[Commitment, ...]
    catalog: PriceCatalog
    review_catalog: PriceCatalog

    def review(self, number: int, bought: Sequence[Commitment]) -> Review:
        """Review ``number``: the lookback before its date and what is owned then (the initial
        commitments and ``bought``, those not yet expired)."""
        at, row = self.dates[number], self.rows[number]
        moment = at.to_pydatetime()
        return Review(
            at=at,
            number=number,
            usage=_slice(self.matrix, max(row - self.lookback_hours, 0), row, used_keys_only=True),
            owned=tuple(c for c in (*self.initial, *bought) if c.end > moment),
            catalog=self.review_catalog,
            next_at=self.dates[number + 1] if number + 1 < len(self.dates) else None,
        )

    def bill(self, name: str, purchases: tuple[Commitment, ...]) -> PolicyOutcome:
        """The window billed with the initial commitments and ``purchases``."""
        return PolicyOutcome(
            name, purchases, _bill(self.window, self.initial, purchases, self.catalog)
        )


def _replay(
    matrix: UsageMatrix,
    catalog: PriceCatalog,
    *,
    start: object,
    end: object,
    review_every: str,
    lookback_days: float,
    owned: Inventory | Sequence[Commitment],
) -> _Replay:
    """Check the window and the lookback against the usage, lay out the review dates, cut the
    catalog and slice the billed window.

    Raises
    ------
    BacktestError
        See :func:`backtest`.
    """
    first_hour = utc_hour(start, "start", error=BacktestError)
    stop_hour = utc_hour(end, "end", error=BacktestError)
    _check_window(matrix, first_hour, stop_hour, lookback_days)
    dates = review_dates(first_hour, stop_hour, review_every)
    initial = _owned_items(owned)
    review_catalog = catalog
    catalog = relevant_prices(catalog, matrix.keys, initial)
    i_start = int(np.searchsorted(matrix.hours.asi8, first_hour.value))
    i_stop = i_start + int((stop_hour - first_hour) / _HOUR)
    return _Replay(
        matrix=matrix,
        window=_slice(matrix, i_start, i_stop, used_keys_only=False),
        first_hour=first_hour,
        stop_hour=stop_hour,
        dates=dates,
        rows=tuple(matrix.hours.get_indexer(dates).tolist()),
        lookback_hours=round(lookback_days * 24),
        initial=initial,
        catalog=catalog,
        review_catalog=review_catalog,
    )


class _Progress:
    """Counts the steps done and tells ``progress`` (steps done, steps in all) after each."""

    def __init__(self, total: int, progress: Callable[[int, int], None] | None) -> None:
        self.total = total
        self.done = 0
        self.progress = progress

    def step(self) -> None:
        """One more step done."""
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)


def _policy_outcome(
    replay: _Replay, name: str, policy: PurchasePolicy, counter: _Progress
) -> PolicyOutcome:
    """Ask ``policy`` at each review date, in order, then bill what it bought over the window."""
    bought: list[Commitment] = []
    for number, at in enumerate(replay.dates):
        bought.extend(_dated(policy(replay.review(number, bought)), at, name, number))
        counter.step()
    outcome = replay.bill(name, tuple(bought))
    counter.step()
    return outcome


def purchase_dates(replay: _Replay, outcomes: Mapping[str, PolicyOutcome]) -> pd.DatetimeIndex:
    """The review dates and every later start inside the window a policy queued a purchase for:
    the dates the hindsight may buy at, so that it can buy wherever a policy did."""
    first, stop = replay.first_hour.to_pydatetime(), replay.stop_hour.to_pydatetime()
    starts = {p.start for o in outcomes.values() for p in o.purchases if first <= p.start < stop}
    queued = pd.DatetimeIndex(sorted(starts), tz="UTC") if starts else replay.dates[:0]
    return replay.dates.union(queued)


def _hindsight_outcome(
    replay: _Replay,
    hindsight: HindsightPlanner,
    counter: _Progress,
    dates: pd.DatetimeIndex,
    name: str = HINDSIGHT,
) -> tuple[PolicyOutcome, tuple[str, ...]]:
    """The hindsight plan over the window's realized usage, buying at ``dates``
    (:func:`purchase_dates`), checked to start inside the window, renamed ``<name>/1``,
    ``<name>/2``… and billed, with its bound (if any) and notes."""
    window = HindsightWindow(replay.window, replay.initial, dates, replay.catalog)
    answer = hindsight(window)
    plan = answer if isinstance(answer, CeilingPlan) else CeilingPlan(tuple(answer))
    planned = tuple(plan.purchases)
    counter.step()
    first, stop = replay.first_hour.to_pydatetime(), replay.stop_hour.to_pydatetime()
    for purchase in planned:
        if not first <= purchase.start < stop:
            raise BacktestError(
                f"the hindsight plan bought {purchase.id} starting "
                f"{purchase.start.isoformat()}, outside the window"
            )
    planned = tuple(replace(p, id=f"{name}/{i}") for i, p in enumerate(planned, 1))
    ceiling = replace(
        replay.bill(name, planned), ceiling_savings_usd=float(plan.ceiling_savings_usd)
    )
    counter.step()
    return ceiling, tuple(plan.notes)


def _best_of(replay: _Replay, ceiling: PolicyOutcome, oneshot: PolicyOutcome) -> PolicyOutcome:
    """The hindsight row, or the one-shot plan billed as it when that saves more: buying at the
    first review only is one of the plans the hindsight may make (its bound is kept)."""
    first = replay.dates[0].to_pydatetime()
    if oneshot.savings_vs_on_demand_usd <= ceiling.savings_vs_on_demand_usd or any(
        p.start != first for p in oneshot.purchases
    ):
        return ceiling
    renamed = tuple(replace(p, id=f"{HINDSIGHT}/{i}") for i, p in enumerate(oneshot.purchases, 1))
    return replace(replay.bill(HINDSIGHT, renamed), ceiling_savings_usd=ceiling.ceiling_savings_usd)


def _within(oneshot: PolicyOutcome, ceiling: PolicyOutcome) -> PolicyOutcome:
    """The one-shot hindsight row with its bound lowered to the ceiling's where that is lower: a
    plan that buys at the first review only is one of the plans the ceiling bounds (their two
    LPs group the window's hours apart, so either bound may come out the looser)."""
    bound, every = oneshot.ceiling_savings_usd, ceiling.ceiling_savings_usd
    if math.isnan(bound) or math.isnan(every) or every >= bound:
        return oneshot
    return replace(oneshot, ceiling_savings_usd=every)


def _share(ceiling: PolicyOutcome | None) -> Callable[[float], float]:
    """Savings -> the share of the ceiling's bound (NaN when there is none or it is ≤ 0)."""
    best = _ceiling_of(ceiling)
    return (lambda s: s / best) if best > 0 else (lambda s: math.nan)


def _above(outcome: PolicyOutcome, ceiling: PolicyOutcome) -> bool:
    """Whether ``outcome`` saved more than ``ceiling``'s bound (relative tolerance)."""
    scale = max(abs(ceiling.simulation.totals.on_demand_cost_usd), 1.0)
    return outcome.savings_vs_on_demand_usd > _ceiling_of(ceiling) + BEATEN_TOLERANCE * scale


def _against_hindsight(
    outcomes: Mapping[str, PolicyOutcome],
    ceiling: PolicyOutcome,
    oneshot: PolicyOutcome | None = None,
    first_review: pd.Timestamp | None = None,
) -> tuple[
    dict[str, PolicyOutcome], PolicyOutcome, PolicyOutcome | None, BacktestStatus, list[str]
]:
    """Each outcome's ``captured`` share of the ceiling (and of the one-shot ceiling), the
    status, and a note naming the rows above a ceiling: any row above the all-reviews ceiling,
    and the one-shot hindsight or a policy that bought at the first review only above the
    one-shot ceiling."""
    share, share_once = _share(ceiling), _share(oneshot)
    beaten = [n for n, o in outcomes.items() if _above(o, ceiling)]
    if _above(ceiling, ceiling):
        beaten.append(HINDSIGHT)
    if oneshot is not None:
        first = first_review.to_pydatetime() if first_review is not None else None
        once = {n: o for n, o in outcomes.items() if all(p.start == first for p in o.purchases)}
        once[HINDSIGHT_ONESHOT] = oneshot
        beaten.extend(n for n, o in once.items() if _above(o, oneshot) and n not in beaten)
        if _above(oneshot, ceiling) and HINDSIGHT_ONESHOT not in beaten:
            beaten.append(HINDSIGHT_ONESHOT)
    notes = []
    if beaten:
        notes.append(
            f"{', '.join(beaten)} saved more than a ceiling: its bound is not an upper bound "
            "here (a bug to report)"
        )

    def captured(o: PolicyOutcome) -> PolicyOutcome:
        s = o.savings_vs_on_demand_usd
        return replace(o, captured=share(s), captured_oneshot=share_once(s))

    status = BacktestStatus.HINDSIGHT_BEATEN if beaten else BacktestStatus.OK
    return (
        {n: captured(o) for n, o in outcomes.items()},
        captured(ceiling),
        captured(oneshot) if oneshot is not None else None,
        status,
        notes,
    )


def _schedule_notes(review_every: str, ceiling: PolicyOutcome | None) -> list[str]:
    """What the review schedule means for the hindsight row (nothing when its planner gave a
    certified bound: its feasible set holds the review dates, :class:`CeilingPlan`)."""
    certified = ceiling is not None and not math.isnan(ceiling.ceiling_savings_usd)
    if certified or parse_calendar_step(review_every, "review_every")[1] == "mo":
        return []
    return [
        "reviews are not at month starts: a hindsight plan buying monthly may miss dates "
        "the policies could buy on"
    ]


def _priced_usage(
    matrix: UsageMatrix, catalog: PriceCatalog
) -> tuple[UsageMatrix, tuple[str, ...]]:
    """``matrix`` without the non-EC2 keys ``catalog`` has no on-demand rate for, and the note
    naming them, as ``recommend`` and ``simulate`` leave them out: every policy, the hindsight
    and every bill then see the same priced keys.

    Raises
    ------
    BacktestError
        When every key with usage is left out (nothing to backtest on).
    """
    priced, unpriced = without_unpriced_services(matrix, catalog, what="the backtest")
    if unpriced and priced.total_instance_hours <= 0:
        raise BacktestError(f"nothing to backtest on: {unpriced[0]}")
    return priced, unpriced


def backtest(
    usage: pd.DataFrame | UsageMatrix,
    catalog: PriceCatalog,
    policies: Mapping[str, PurchasePolicy],
    *,
    start: object,
    end: object,
    review_every: str = DEFAULT_REVIEW_EVERY,
    lookback_days: float = DEFAULT_LOOKBACK_DAYS,
    owned: Inventory | Sequence[Commitment] = (),
    hindsight: HindsightPlanner | None = None,
    progress: Callable[[int, int], None] | None = None,
    oneshot_hindsight: HindsightPlanner | None = None,
) -> BacktestResult:
    """Replay ``policies`` over the window ``[start, end)`` and bill each with the simulator.

    Parameters
    ----------
    usage
        Hourly usage covering the window and ``lookback_days`` before it. A table is taken to
        cover whole UTC days, from its first hour's day to its last hour's (hours without usage
        are zeros).
    catalog
        Prices (on-demand of every key; RI and SP offerings the policies buy). Keys of services
        other than EC2 without an on-demand rate are left out of every policy, the hindsight and
        the bills, with a note naming them (as ``recommend`` and ``simulate`` do).
    policies
        Name -> :class:`PurchasePolicy`, asked at each review date, in order.
    start, end
        The billed window (UTC hours; naive means UTC).
    review_every
        ``1mo`` (default; see :func:`review_dates`), ``Nmo``, ``Nw`` or ``Nd``.
    lookback_days
        History a policy sees at each review [days].
    owned
        Commitments owned at ``start`` (every policy and the hindsight start with them).
    hindsight
        Plans the ceiling from the window's realized usage; ``None`` for no ceiling.
    progress
        Called with (steps done, steps in all): one step per policy review, one for each
        hindsight, one per bill.
    oneshot_hindsight
        Plans the one-shot ceiling (purchases at the first review only): the
        ``hindsight-oneshot`` row and ``captured_oneshot``; only with ``hindsight``.

    Raises
    ------
    BacktestError
        For ``start >= end``, a window outside the data, a first lookback that starts before the
        data, a bad ``review_every``, a purchase that starts before its review date, or usage
        whose every key is left out for want of a price.
    """
    matrix, unpriced = _priced_usage(
        usage if isinstance(usage, UsageMatrix) else whole_days(usage), catalog
    )
    replay = _replay(
        matrix,
        catalog,
        start=start,
        end=end,
        review_every=review_every,
        lookback_days=lookback_days,
        owned=owned,
    )
    if hindsight is None:
        oneshot_hindsight = None
    planners = (hindsight is not None) + (oneshot_hindsight is not None)
    total = len(policies) * (len(replay.dates) + 1) + 2 * planners
    counter = _Progress(total, progress)
    outcomes = {
        name: _policy_outcome(replay, name, policy, counter) for name, policy in policies.items()
    }
    ceiling: PolicyOutcome | None = None
    oneshot: PolicyOutcome | None = None
    status = BacktestStatus.NO_HINDSIGHT
    notes: list[str] = []
    if hindsight is not None:
        dates = purchase_dates(replay, outcomes)
        ceiling, ceiling_notes = _hindsight_outcome(replay, hindsight, counter, dates)
        oneshot_notes: tuple[str, ...] = ()
        if oneshot_hindsight is not None:
            oneshot, oneshot_notes = _hindsight_outcome(
                replay, oneshot_hindsight, counter, dates, HINDSIGHT_ONESHOT
            )
            ceiling = _best_of(replay, ceiling, oneshot)
            oneshot = _within(oneshot, ceiling)
        outcomes, ceiling, oneshot, status, notes = _against_hindsight(
            outcomes, ceiling, oneshot, replay.dates[0]
        )
        notes.extend(dict.fromkeys((*ceiling_notes, *oneshot_notes)))
    return BacktestResult(
        status=status,
        start=replay.first_hour,
        end=replay.stop_hour,
        review_dates=replay.dates,
        lookback_days=float(lookback_days),
        outcomes=outcomes,
        hindsight=ceiling,
        notes=(*unpriced, *notes, *_schedule_notes(review_every, ceiling)),
        hindsight_oneshot=oneshot,
    )


__all__ = [
    "DEFAULT_LOOKBACK_DAYS",
    "DEFAULT_REVIEW_EVERY",
    "HINDSIGHT",
    "HINDSIGHT_ONESHOT",
    "KEY_COLUMNS",
    "BacktestError",
    "BacktestResult",
    "BacktestStatus",
    "CeilingPlan",
    "HindsightPlanner",
    "HindsightWindow",
    "PolicyOutcome",
    "PurchasePolicy",
    "Review",
    "as_if_owned_throughout",
    "backtest",
    "purchase_dates",
    "relevant_prices",
    "review_dates",
    "ri_purchases",
    "savings_plan_purchase",
    "whole_days",
]
