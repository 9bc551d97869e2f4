"""Database Savings Plans against database reservations: the bill, the choice and its sentence.

Illustrative rates for db.r7g.large (an eligible generation) in us-east-1: on demand 0.276 USD/h,
a 1-year No Upfront reservation 0.18 USD/h (35 % off), a Database Savings Plan rate of 0.21 USD/h
(24 % off), the same for Aurora MySQL and Aurora PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from billing.simulator import simulate
from optimizer.policy import Policy
from planning.recommend import RecommendOptions, recommend
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.inventory import Commitment
from pricing.offerings import CommitmentKind

START = datetime(2024, 1, 1, tzinfo=UTC)
ON_DEMAND, RESERVED, PLAN_RATE = 0.276, 0.18, 0.21
ENGINES = ("aurora-mysql", "aurora-postgresql")
EC2_KEY = ("m4.large", "Linux/UNIX", "Shared")


def catalog() -> PriceCatalog:
    keys = pd.DataFrame(
        {
            "region": "us-east-1",
            "instance_type": ["db.r7g.large"] * 2 + ["m4.large"],
            "platform": [*ENGINES, "Linux/UNIX"],
            "tenancy": ["Single-AZ", "Single-AZ", "Shared"],
        }
    )
    on_demand = keys.assign(on_demand_usd_per_hour=[ON_DEMAND, ON_DEMAND, 0.10])
    database = keys.iloc[:2]
    reserved = database.assign(
        offering_class="standard",
        term_years=1,
        payment_option="No Upfront",
        upfront_usd=0.0,
        recurring_usd_per_hour=RESERVED,
    )
    plans = pd.concat(
        [
            database.assign(plan_type="database", sp_hourly_usd=PLAN_RATE),
            keys.iloc[2:].assign(plan_type="compute", sp_hourly_usd=0.07),
        ],
        ignore_index=True,
    ).assign(term_years=1, payment_option="No Upfront")
    meta = CatalogMetadata(source="illustrative rates (test)", as_of=START.date())
    return PriceCatalog.from_frames(
        meta, on_demand=on_demand, reserved=reserved, savings_plans=plans
    )


def usage(hours: int, quantity_of: dict[tuple[str, str, str], np.ndarray]) -> pd.DataFrame:
    stamps = pd.date_range(START, periods=hours, freq="h")
    frames = [
        pd.DataFrame(
            {
                "hour": stamps,
                "account_id": "111111111111",
                "region": "us-east-1",
                "instance_type": key[0],
                "platform": key[1],
                "tenancy": key[2],
                "quantity": quantity,
            }
        )
        for key, quantity in quantity_of.items()
    ]
    return pd.concat(frames, ignore_index=True)


def plan(kind: str, commitment: float) -> Commitment:
    return Commitment(
        kind=kind,
        id="sp-1",
        start=START,
        end=START + timedelta(days=365),
        term_years=1,
        payment_option="No Upfront",
        upfront_usd=0.0,
        commitment_usd_per_hour=commitment,
        recurring_usd_per_hour=commitment,
        effective_usd_per_hour=commitment,
    )


def test_a_database_plan_covers_database_usage_only_and_by_highest_discount() -> None:
    # one Aurora MySQL instance and one m4.large every hour; 0.30 USD/h of Database SP covers the
    # Aurora hour (0.21 of commitment) and nothing of the EC2 hour; 0.09 is lost every hour
    demand = usage(
        10,
        {
            ("db.r7g.large", "aurora-mysql", "Single-AZ"): np.ones(10),
            EC2_KEY: np.ones(10),
        },
    )
    result = simulate(demand, [plan(CommitmentKind.DATABASE_SAVINGS_PLAN, 0.30)], catalog())
    assert result.totals.actual_cost_usd == pytest.approx(10 * (0.30 + 0.10))
    np.testing.assert_allclose(result.database_sp_covered.sum(axis=0), [10.0, 0.0])
    # and a Compute SP never covers the Aurora hour
    compute = simulate(demand, [plan(CommitmentKind.COMPUTE_SAVINGS_PLAN, 0.30)], catalog())
    assert compute.totals.actual_cost_usd == pytest.approx(10 * (0.30 + ON_DEMAND))


def test_steady_usage_takes_reservations_and_says_the_plan_costs_more() -> None:
    demand = usage(24 * 30, {("db.r7g.large", "aurora-mysql", "Single-AZ"): np.full(720, 2.0)})
    run = recommend(demand, catalog(), Policy(), options=RecommendOptions(decide_on="lookback"))
    kinds = {p.kind for p in run.purchases}
    assert kinds == {CommitmentKind.RESERVED_INSTANCE}
    assert sum(p.count or 0 for p in run.purchases) == 2
    sentence = " ".join(run.explanations["explanation"])
    gap = 100 * (PLAN_RATE / RESERVED - 1)  # 16.7 %
    assert f"Reservations rather than a Database SP: it would cost {gap:.1f} % more" in sentence


def test_usage_moving_between_engines_takes_the_database_plan_and_says_why() -> None:
    # one instance a day of each engine, twelve hours each: a reservation per engine would idle
    # half of every day (0.18 × 24 > 0.276 × 12), one Database SP of 0.21 USD/h covers both
    hours = 24 * 30
    mysql = (np.arange(hours) % 24 < 12).astype(float)
    demand = usage(
        hours,
        {
            ("db.r7g.large", "aurora-mysql", "Single-AZ"): mysql,
            ("db.r7g.large", "aurora-postgresql", "Single-AZ"): 1.0 - mysql,
        },
    )
    run = recommend(demand, catalog(), Policy(), options=RecommendOptions(decide_on="lookback"))
    bought = [p for p in run.purchases if p.kind == CommitmentKind.DATABASE_SAVINGS_PLAN]
    assert [p.commitment_usd_per_hour for p in bought] == [pytest.approx(PLAN_RATE)]
    assert not [p for p in run.purchases if p.kind == CommitmentKind.RESERVED_INSTANCE]
    sentence = " ".join(run.explanations["explanation"])
    gap = 100 * (PLAN_RATE / RESERVED - 1)
    assert f"A Database SP rather than reservations, though they cost up to {gap:.1f} %" in (
        sentence
    )
    assert run.summary["savings_vs_on_demand_usd"] == pytest.approx(
        hours * (ON_DEMAND - PLAN_RATE), rel=1e-6
    )


def test_the_bill_breaks_down_by_service_and_adds_up() -> None:
    demand = usage(
        10,
        {
            ("db.r7g.large", "aurora-mysql", "Single-AZ"): np.ones(10),
            ("db.r7g.large", "aurora-postgresql", "Single-AZ"): np.zeros(10),
            EC2_KEY: np.ones(10),
        },
    )
    portfolio = [
        plan(CommitmentKind.DATABASE_SAVINGS_PLAN, 0.30),
        replace(plan(CommitmentKind.COMPUTE_SAVINGS_PLAN, 0.05), id="sp-2"),
    ]
    result = simulate(demand, portfolio, catalog())
    table = result.breakdown("service").set_index("service")
    # RDS carries the whole Database SP, its unused 0.09 USD/h included; EC2 the Compute SP
    # (0.05 of 0.07 USD/h of SP rate covered) and the rest of the m4.large on demand
    assert table.loc["AmazonRDS", "actual_cost_usd"] == pytest.approx(10 * 0.30)
    assert table.loc["AmazonRDS", "on_demand_cost_usd"] == pytest.approx(10 * ON_DEMAND)
    assert table.loc["AmazonRDS", "unused_commitment_usd"] == pytest.approx(10 * 0.09)
    assert table.loc["AmazonEC2", "actual_cost_usd"] == pytest.approx(
        10 * (0.05 + (1 - 0.05 / 0.07) * 0.10)
    )
    assert table["actual_cost_usd"].sum() == pytest.approx(result.totals.actual_cost_usd)
