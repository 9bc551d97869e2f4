"""Renewals queued at expiry (:mod:`planning.renewals`): on a decision with a closed form, then
on the ladder's own decision and in a backtest."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from planning.policies import HindsightOptimum, OursLadder
from planning.renewals import MAX_RENEWAL_DAYS, can_queue, ending_days, queued, queued_renewals
from pricing.embedded import load_embedded_catalog
from pricing.inventory import Commitment
from pricing.inventory.values import term_end
from pricing.offerings import CommitmentKind
from scenarios.backtest import Review, backtest, ri_purchases, savings_plan_purchase
from tests.planning.test_ladder import FIRST, described, flat_fleet, month_before

NOW = datetime(2024, 2, 1, tzinfo=UTC)
NEED_USD_PER_HOUR = 1.0


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_embedded_catalog()


def plan(amount: float, ends: datetime, name: str) -> Commitment:
    """A 1-year Compute Savings Plan of ``amount`` USD/h that ends at ``ends``."""
    start = ends - timedelta(hours=8760)
    bought = savings_plan_purchase(
        CommitmentKind.COMPUTE_SAVINGS_PLAN, amount, pd.Timestamp(start), purchase_id=name
    )
    assert bought.end == ends
    return bought


class Topping:
    """A decision with a closed form: buy what the commitments held over a whole year from
    now leave of :data:`NEED_USD_PER_HOUR`, starting now; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, held: tuple[Commitment, ...]) -> tuple[Commitment, ...]:
        self.calls += 1
        year = NOW + timedelta(hours=8760)
        covered = sum(float(c.commitment_usd_per_hour or 0) for c in held if c.end >= year)
        short = round(NEED_USD_PER_HOUR - covered, 6)
        if short <= 0:
            return ()
        kind = CommitmentKind.COMPUTE_SAVINGS_PLAN
        return (savings_plan_purchase(kind, short, pd.Timestamp(NOW), purchase_id="new"),)


def test_what_ends_before_the_next_review_is_replaced_at_its_end() -> None:
    """0.5 USD/h ends in 9 days and 0.1 in 20; 0.3 runs on. Now: 0.1 (what the renewed book
    leaves); at the 9th day 0.5; at the 20th 0.1: 0.7 in all, what the need leaves of 0.3."""
    soon = plan(0.5, NOW + timedelta(days=9), "soon")
    later = plan(0.1, NOW + timedelta(days=20), "later")
    kept = plan(0.3, NOW + timedelta(days=700), "kept")
    decide = Topping()
    bought = queued_renewals(decide, (soon, kept, later), now=NOW, until=NOW + timedelta(days=30))
    assert [(p.start, p.commitment_usd_per_hour) for p in bought] == [
        (NOW, pytest.approx(0.1)),
        (soon.end, pytest.approx(0.5)),
        (later.end, pytest.approx(0.1)),
    ]
    assert all(p.end == term_end(p.start, 1) for p in bought)
    assert decide.calls == 3
    # nothing ends before the next review: the one decision, as before
    alone = Topping()
    assert queued_renewals(alone, (kept,), now=NOW, until=NOW + timedelta(days=5)) == alone((kept,))
    assert alone.calls == 2


def reservation(instance_type: str, platform: str, scope: str = "Region") -> Commitment:
    """One 1-year reservation of ``instance_type`` bought at :data:`NOW` (prices made up)."""
    return Commitment(
        kind=CommitmentKind.RESERVED_INSTANCE, id="r", start=NOW, end=term_end(NOW, 1),
        term_years=1, payment_option="No Upfront", upfront_usd=0.0, region="us-east-1",
        instance_type=instance_type, platform=platform, tenancy="Shared", count=2,
        recurring_usd_per_hour=0.1, scope=scope, offering_class="standard",
    )  # fmt: skip


def test_only_what_aws_can_queue_is_queued() -> None:
    """Savings Plans and regional EC2 RIs are queued to the ending; a zonal RI and an RDS
    reservation (their APIs cannot queue) start at the review."""
    sp = plan(0.5, NOW + timedelta(days=400), "sp")
    ec2 = reservation("m4.large", "Linux/UNIX")
    zonal = reservation("m4.large", "Linux/UNIX", scope="Availability Zone")
    rds = reservation("db.r4.large", "aurora-mysql")
    assert [can_queue(c) for c in (sp, ec2, zonal, rds)] == [True, True, False, False]
    ends = NOW + timedelta(days=9)
    assert [queued(c, ends, NOW).start for c in (sp, ec2, zonal, rds)] == [ends, ends, NOW, NOW]
    assert all(queued(c, ends, NOW).end == term_end(queued(c, ends, NOW).start, 1)
               for c in (sp, rds))  # fmt: skip


def test_endings_are_grouped_by_day_and_capped() -> None:
    ends = [NOW + timedelta(days=d, hours=h) for d, h in ((1, 2), (1, 20), (2, 0), (3, 0), (4, 0),
                                                          (5, 0))]  # fmt: skip
    owned = [plan(0.1, end, f"p{i}") for i, end in enumerate(ends)]
    days = ending_days(owned, NOW, NOW + timedelta(days=30))
    assert len(days) == MAX_RENEWAL_DAYS == 4
    assert [[c.id for c in day] for day in days] == [["p0", "p1"], ["p2"], ["p3"], ["p4", "p5"]]
    assert ending_days(owned, NOW, NOW + timedelta(days=1, hours=2)) == [[owned[0]]]


def test_the_ladder_queues_the_replacement_of_ris_ending_before_the_next_review(catalog) -> None:  # type: ignore[no-untyped-def]
    """6 RIs cover a flat fleet and end on 10 February, before the next review: nothing is
    bought now, and the replacement is what the review buys with nothing owned, queued to the
    hour they end. Without queueing it starts now and pays twice for 9 days."""
    usage = flat_fleet()
    keys = usage[["region", "instance_type", "platform", "tenancy"]].iloc[:1]
    ris = tuple(ri_purchases(keys, [6], pd.Timestamp("2023-02-10", tz="UTC"), catalog))
    review = Review(
        at=FIRST, number=0, usage=month_before(usage), owned=ris, catalog=catalog,
        next_at=pd.Timestamp("2024-03-01", tz="UTC"),
    )  # fmt: skip
    ends = ris[0].end
    queued = OursLadder()(review)
    fresh = OursLadder()(replace(review, owned=()))
    assert queued and fresh
    redated = tuple(replace(p, start=ends, end=term_end(ends, p.term_years)) for p in fresh)
    assert described(queued) == described(redated)
    now = OursLadder(queue_renewals=False)(review)
    assert now and {p.start for p in now} == {FIRST.to_pydatetime()}


def test_a_queued_renewal_saves_the_double_payment_and_stays_under_the_ceiling(catalog) -> None:  # type: ignore[no-untyped-def]
    """Owned RIs end on 10 February inside the window: the queued ladder saves more than the one
    that replaces them at the review, by about 9 days of the replacement; the ceiling, offered
    the queued date, stays above both."""
    usage = flat_fleet()
    keys = usage[["region", "instance_type", "platform", "tenancy"]].iloc[:1]
    ris = tuple(ri_purchases(keys, [6], pd.Timestamp("2023-02-10", tz="UTC"), catalog))
    policies = {"queued": OursLadder(), "at review": OursLadder(queue_renewals=False)}
    result = backtest(
        usage, catalog, policies, start="2024-02-01", end="2024-04-01", lookback_days=30,
        owned=ris, hindsight=HindsightOptimum(),
    )  # fmt: skip
    queued, early = result.outcomes["queued"], result.outcomes["at review"]
    assert {p.start for p in queued.purchases} == {ris[0].end}
    assert {p.start for p in early.purchases} == {FIRST.to_pydatetime()}
    paid_twice = sum(p.effective_usd_per_hour for p in early.purchases) * 24 * 9
    gain = queued.savings_vs_on_demand_usd - early.savings_vs_on_demand_usd
    assert gain == pytest.approx(paid_twice, rel=0.1)
    assert result.status.value == "ok"
    assert result.ceiling_savings_usd >= queued.savings_vs_on_demand_usd
