"""The shared-past bound: against brute force on a fleet that stays or moves, and its errors."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import scipy.optimize

from billing.simulator import simulate
from optimizer.policy import Policy
from planning.ceiling import ceiling_bound
from planning.shared_past import SharedPastError, parting_hour, shared_past_bound
from pricing.embedded import load_embedded_catalog
from pricing.inventory import Commitment
from pricing.offerings import CommitmentKind
from scenarios.backtest import relevant_prices, savings_plan_purchase
from usage.table import to_matrix

START = pd.Timestamp("2024-03-01", tz="UTC")
HOURS = 30 * 24
MOVE_HOUR = 10 * 24
SECOND_DATE = START + pd.Timedelta(days=15)
SP_ONLY = Policy(instruments=("ec2-sp", "compute-sp"))


def fleet(moves: bool) -> pd.DataFrame:
    """Two m4.large all month; or the same two moving to c5.large on day 10."""
    hours = pd.date_range(START, periods=HOURS, freq="h")
    moved = np.arange(HOURS) >= MOVE_HOUR if moves else np.zeros(HOURS, dtype=bool)
    rows = [
        pd.DataFrame(
            {"hour": hours, "instance_type": "m4.large", "quantity": np.where(moved, 0, 2.0)}
        ),
        pd.DataFrame(
            {"hour": hours, "instance_type": "c5.large", "quantity": np.where(moved, 2.0, 0)}
        ),
    ]
    table = pd.concat(rows, ignore_index=True)
    return table.assign(account_id="111111111111", region="us-east-1", platform="Linux/UNIX",
                        tenancy="Shared")  # fmt: skip


@pytest.fixture(scope="module")
def worlds():  # type: ignore[no-untyped-def]
    stays, moves = to_matrix(fleet(False)), to_matrix(fleet(True))
    catalog = relevant_prices(load_embedded_catalog(), moves.keys)
    return stays, moves, catalog


def billed_savings(usage, catalog, plan) -> float:  # type: ignore[no-untyped-def]
    return float(simulate(usage, plan, catalog).totals.savings_vs_on_demand_usd)


def test_the_worlds_part_where_their_usage_first_differs(worlds) -> None:  # type: ignore[no-untyped-def]
    stays, moves, _ = worlds
    assert parting_hour([stays, moves]) == START + pd.Timedelta(hours=MOVE_HOUR)
    assert parting_hour([stays, stays]) is None
    with pytest.raises(SharedPastError, match="other hours"):
        later = fleet(True)
        parting_hour([stays, to_matrix(later.assign(hour=later["hour"] + pd.Timedelta(hours=1)))])


def test_no_plan_that_keeps_the_steady_optimum_beats_the_bound_on_the_move(worlds) -> None:  # type: ignore[no-untyped-def]
    """Brute force: every plan of the grid (EC2 Instance and Compute SP on day 0, shared;
    c5 cover on day 15 where the fleet moved) that bills at least the floor on the steady world
    bills at most the bound on the moving one; the bound is below the moving world's own
    ceiling, which a plan free of the floor reaches."""
    stays, moves, catalog = worlds
    dates = [START, SECOND_DATE]
    alone = ceiling_bound(moves, catalog, SP_ONLY, dates).savings_bound_usd
    free = shared_past_bound([stays, moves], catalog, SP_ONLY, dates, target=1,
                             floors_usd=[None, None])  # fmt: skip
    assert free.savings_bound_usd == pytest.approx(alone, rel=1e-6)
    steady_best = ceiling_bound(stays, catalog, SP_ONLY, dates).savings_bound_usd
    floor = 0.98 * steady_best
    bound = shared_past_bound([stays, moves], catalog, SP_ONLY, dates, target=1,
                              floors_usd=[floor, None])  # fmt: skip
    assert bound.parted_at == START + pd.Timedelta(hours=MOVE_HOUR)
    assert bound.shared_offers == 3  # day 0's EC2 Instance SPs for m4 and c5, its Compute SP
    assert bound.savings_bound_usd < alone - 10.0
    # the grid holds the steady optimum (an m4 EC2 Instance SP covering both instances), the
    # LP's shared plan, and the c5 cover after the move
    m4, c5 = stays.keys.iloc[[1]], stays.keys.iloc[[0]]
    full = 2.0 * float(catalog.savings_plan_rates(m4, "ec2_instance", 1, "No Upfront")[0])
    c5_full = 2.0 * float(catalog.savings_plan_rates(c5, "ec2_instance", 1, "No Upfront")[0])
    lp = {o.kind: units for o, units in bound.shared_plan}
    ec2_levels = [
        *full * np.linspace(0.0, 1.0, 5),
        lp.get(CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN, 0),
    ]
    compute_levels = [
        *full * np.linspace(0.0, 1.25, 6),
        lp.get(CommitmentKind.COMPUTE_SAVINGS_PLAN, 0),
    ]
    best_meeting_floor = -np.inf
    for ec2, compute in itertools.product(ec2_levels, compute_levels):
        shared = [
            savings_plan_purchase(CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN, ec2, START,
                                  region="us-east-1", instance_family="m4", purchase_id="e"),
            savings_plan_purchase(CommitmentKind.COMPUTE_SAVINGS_PLAN, compute, START,
                                  purchase_id="c"),
        ]  # fmt: skip
        plan = [p for p in shared if p.commitment_usd_per_hour > 0]
        if billed_savings(stays, catalog, plan) < floor - 1e-6:  # the LP meets it exactly
            continue

        def moved_savings(later: float, plan: list[Commitment] = plan) -> float:
            c5_cover = savings_plan_purchase(CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN, later,
                                             SECOND_DATE, region="us-east-1",
                                             instance_family="c5", purchase_id="l")  # fmt: skip
            return billed_savings(moves, catalog, [*plan, c5_cover] if later > 0 else plan)

        # the best c5 cover bought on day 15, where the fleet has moved (concave in its level)
        later = scipy.optimize.minimize_scalar(
            lambda x: -moved_savings(x), bounds=(0.0, c5_full), method="bounded",
            options={"xatol": 1e-5},
        )  # fmt: skip
        best_meeting_floor = max(best_meeting_floor, moved_savings(0.0), -later.fun)
    assert np.isfinite(best_meeting_floor)
    assert best_meeting_floor <= bound.savings_bound_usd + 1e-6
    assert best_meeting_floor >= bound.savings_bound_usd - 0.01  # the LP's plan, billed


def test_floors_no_plan_meets(worlds) -> None:  # type: ignore[no-untyped-def]
    stays, moves, catalog = worlds
    steady_best = ceiling_bound(stays, catalog, SP_ONLY, [START]).savings_bound_usd
    with pytest.raises(SharedPastError, match="no plan meets every floor"):
        shared_past_bound([stays, moves], catalog, SP_ONLY, [START], target=1,
                          floors_usd=[steady_best + 1.0, None])  # fmt: skip
    with pytest.raises(SharedPastError, match="one floor per world"):
        shared_past_bound([stays, moves], catalog, SP_ONLY, [START], target=1, floors_usd=[None])
