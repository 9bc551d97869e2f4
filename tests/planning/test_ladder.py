"""The ladder: ``recommend``'s decision on the futures, taken at every review on top of what is
owned."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from billing.simulator import simulate
from planning.future import EPOCH_MONTHS, compress_owned, decision_futures
from planning.policies import OursLadder, OursOneShot
from planning.policies.ours import held_owned
from pricing.embedded import load_embedded_catalog
from pricing.inventory import Commitment
from pricing.inventory.values import term_end
from scenarios.backtest import Review, as_if_owned_throughout, backtest, ri_purchases
from usage.synthetic import growth, steady_daily_cycle
from usage.table import UsageMatrix, to_matrix

START = "2024-01-01T00:00:00Z"
HOURS = 24 * 92  # to 2024-04-02
TWO_REVIEWS: dict[str, Any] = {"start": "2024-02-01", "end": "2024-04-01", "lookback_days": 30}
ONE_REVIEW: dict[str, Any] = {"start": "2024-02-01", "end": "2024-03-01", "lookback_days": 30}
FIRST = pd.Timestamp("2024-02-01", tz="UTC")


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_embedded_catalog()


def flat_fleet(instances: int = 6) -> pd.DataFrame:
    """``instances`` m4.large running every hour, no cycle, no noise."""
    return steady_daily_cycle(
        start=START, hours=HOURS, base_instances=instances, daily_amplitude_instances=0.0,
        noise_instances=0.0,
    )  # fmt: skip


def owned_fleet(usage: pd.DataFrame, catalog, count: int, bought: str) -> tuple[Commitment, ...]:  # type: ignore[no-untyped-def]
    """``count`` 1-year RIs for the fleet's key, bought at ``bought`` (they end a year later)."""
    keys = usage[["region", "instance_type", "platform", "tenancy"]].iloc[:1]
    return tuple(ri_purchases(keys, [count], pd.Timestamp(bought, tz="UTC"), catalog))


def described(purchases: tuple[Commitment, ...]) -> list[tuple[object, ...]]:
    return sorted(
        (str(p.kind), p.region, p.instance_type, p.count, p.commitment_usd_per_hour, p.start,
         p.end)
        for p in purchases
    )  # fmt: skip


def test_the_first_review_buys_exactly_what_the_one_shot_buys(catalog) -> None:  # type: ignore[no-untyped-def]
    steady = steady_daily_cycle(start=START, hours=HOURS, base_instances=6, seed=1)
    moving = growth(start=START, hours=HOURS, base_instances=2, growth_instances_per_day=0.15)
    usage = pd.concat([steady, moving], ignore_index=True)
    policies = {"once": OursOneShot(), "ladder": OursLadder()}
    result = backtest(usage, catalog, policies, **TWO_REVIEWS)
    once = result.outcomes["once"].purchases
    first = tuple(p for p in result.outcomes["ladder"].purchases if p.start == FIRST)
    assert once and described(first) == described(once)
    # the window's bill of the ladder's purchases is the simulator's, redone here
    hours = pd.date_range("2024-02-01", "2024-04-01", freq="h", tz="UTC", inclusive="left")
    window = to_matrix(usage)
    inside = np.isin(window.hours, hours)
    billed = simulate(
        UsageMatrix(window.hours[inside], window.keys, window.quantity[inside]),
        result.outcomes["ladder"].purchases,
        catalog,
    )
    assert result.outcomes["ladder"].savings_vs_on_demand_usd == pytest.approx(
        billed.totals.savings_vs_on_demand_usd, abs=0.01
    )


def test_an_unchanged_covered_fleet_buys_nothing_after_the_first_review(catalog) -> None:  # type: ignore[no-untyped-def]
    usage = flat_fleet()
    result = backtest(usage, catalog, {"ladder": OursLadder()}, **TWO_REVIEWS)
    purchases = result.outcomes["ladder"].purchases
    assert len(result.review_dates) == 2
    assert purchases and {p.start for p in purchases} == {FIRST.to_pydatetime()}
    # the same decision, asked again at the second review on top of the first's purchases
    second = result.review_dates[1]
    matrix = to_matrix(usage)
    kept = (matrix.hours >= second - pd.Timedelta(days=30)) & (matrix.hours < second)
    review = Review(
        at=second, number=1, usage=UsageMatrix(matrix.hours[kept], matrix.keys,
        matrix.quantity[kept]), owned=purchases, catalog=catalog, next_at=None,
    )  # fmt: skip
    assert len(review.usage.hours) == 30 * 24
    assert OursLadder()(review) == ()


def month_before(usage: pd.DataFrame) -> UsageMatrix:
    """The 30 days before :data:`FIRST`."""
    matrix = to_matrix(usage)
    kept = (matrix.hours < FIRST) & (matrix.hours >= FIRST - pd.Timedelta(days=30))
    return UsageMatrix(matrix.hours[kept], matrix.keys, matrix.quantity[kept])


def test_owned_that_expire_after_the_next_review_are_renewed_not_bought_again(catalog) -> None:  # type: ignore[no-untyped-def]
    """6 RIs covering a flat fleet expire 2 months after the review: the review two months on
    replaces them, so buying now would pay twice for 2 months. Decided with their real ends
    (what ``recommend`` sees) the 10 uncovered months of the term make a purchase worth it; RIs
    that expire before the next review are replaced now."""
    usage = flat_fleet()
    lookback = month_before(usage)
    review = Review(
        at=FIRST, number=0, usage=lookback, owned=owned_fleet(usage, catalog, 6, "2023-04-01"),
        catalog=catalog, next_at=pd.Timestamp("2024-03-01", tz="UTC"),
    )  # fmt: skip
    assert review.owned[0].end == pd.Timestamp("2024-03-31", tz="UTC").to_pydatetime()
    assert OursLadder()(review) == ()
    real = OursLadder(renew_owned=False)(review)
    assert real and {p.start for p in real} == {FIRST.to_pydatetime()}
    soon = replace(review, owned=owned_fleet(usage, catalog, 6, "2023-02-10"))  # ends 2024-02-10
    assert OursLadder()(soon)
    # nothing owned: the same purchases as with RIs that end before the next review, about
    assert OursLadder()(replace(review, owned=()))


def test_held_owned_extends_only_what_outlives_the_next_review(catalog) -> None:  # type: ignore[no-untyped-def]
    usage = flat_fleet()
    whole = to_matrix(usage)
    matrix = UsageMatrix(whole.hours[:720], whole.keys, whole.quantity[:720])
    early = owned_fleet(usage, catalog, 2, "2023-02-10")[0]  # ends 2024-02-10
    late = owned_fleet(usage, catalog, 3, "2023-06-01")[0]  # ends 2024-05-31
    gone = owned_fleet(usage, catalog, 1, "2022-06-01")[0]  # ended 2023-06-01
    review = Review(
        at=FIRST, number=0, usage=matrix, owned=(early, late, gone), catalog=catalog,
        next_at=pd.Timestamp("2024-03-01", tz="UTC"),
    )  # fmt: skip
    held = {c.count: c for c in held_owned(review)}
    assert set(held) == {2, 3}
    assert held[2].end == early.end
    # past any term bought now: 3 years (26,280 h) from the review
    assert held[3].end == term_end(FIRST.to_pydatetime(), 3) > late.end
    assert held[3].start == late.start
    assert {c.end for c in held_owned(review, renewed=False)} == {early.end, late.end}
    # the last review counts the next one a month later
    last = replace(review, next_at=None)
    assert {c.count: c.end for c in held_owned(last)}[2] == early.end


def test_the_decision_sees_real_expirations_on_the_futures_clock(catalog) -> None:  # type: ignore[no-untyped-def]
    """An RI that expires 6 months into the term is active over the first two of the futures'
    four 3-month epochs: 2 × 168 compressed hours."""
    usage = flat_fleet()
    matrix = to_matrix(usage)
    kept = matrix.hours < FIRST
    lookback = UsageMatrix(matrix.hours[kept][-24 * 28 :], matrix.keys,
                           matrix.quantity[kept][-24 * 28 :])  # fmt: skip
    futures = decision_futures(lookback, catalog)
    assert futures.start == FIRST and EPOCH_MONTHS == 3 and futures.epochs == 4
    (ri,) = owned_fleet(usage, catalog, 6, "2023-08-01")  # 8,760 h on: 2024-07-31
    six_months = replace(ri, end=(FIRST + pd.Timedelta(hours=4380)).to_pydatetime())
    (compressed,) = compress_owned(as_if_owned_throughout((six_months,), lookback), futures)
    assert pd.Timestamp(compressed.start) == FIRST
    assert pd.Timestamp(compressed.end) == FIRST + pd.Timedelta(hours=2 * 168)


def test_the_ladder_buys_steady_growth_up_to_its_next_review_and_recommend_beyond(
    catalog, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A fleet growing 3 %/month over 13 weeks: a decision reviewed in a month buys the growth
    up to then (what grows past it is bought there); ``recommend``, not reviewed, buys for the
    growth as long as each future draws it to last; held at today's level, least."""
    import planning.policies.ours as ours
    from planning.future import FutureOptions
    from planning.recommend import RecommendOptions

    horizons: list[float | None] = []
    decide = ours.recommended_on_lookback

    def spy(review, policy, options, owned=None):  # type: ignore[no-untyped-def]
        horizons.append(options.future.next_review_hours)
        return decide(review, policy, options, owned)

    monkeypatch.setattr(ours, "recommended_on_lookback", spy)
    hours = pd.date_range("2023-12-04", periods=13 * 168, freq="h", tz="UTC")
    usage = pd.DataFrame(
        {"hour": hours, "account_id": "111111111111", "region": "us-east-1",
         "instance_type": "m4.large", "platform": "Linux/UNIX", "tenancy": "Shared",
         "quantity": np.round(100.0 * 1.03 ** (np.arange(len(hours)) / 730.0))}
    )  # fmt: skip
    at = hours[-1] + pd.Timedelta(hours=1)
    review = Review(
        at=at, number=0, usage=to_matrix(usage), owned=(), catalog=catalog,
        next_at=at + pd.Timedelta(days=31),
    )  # fmt: skip

    def hourly_usd(purchases: Any) -> float:
        return float(sum(p.commitment_usd_per_hour or 0.0 for p in purchases))

    monthly = hourly_usd(OursLadder()(review))
    assert horizons == [31 * 24.0]
    held_now = RecommendOptions(future=FutureOptions(next_review_hours=0.0))
    held = hourly_usd(OursLadder(options=held_now)(review))
    once = hourly_usd(OursOneShot()(replace(review, next_at=None)))
    assert horizons[1:] == [0.0, None]
    assert held < monthly <= once
