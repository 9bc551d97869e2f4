"""The frontier's expected-savings maximum, against the closed-form parabola of
``tests/scenarios/test_frontier.py`` (one pool, flat discount d, usage uniform on [0, D]: the
savings peak at covered value d·D, i.e. a commitment of d·(1 − d)·D per hour)."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios.frontier import expected_savings_maximum, frontier
from tests.billing.test_simulator import savings_plan
from tests.scenarios.test_frontier import (
    DEMAND,
    DISCOUNT,
    HOURS,
    OD_RATE,
    one_key_catalog,
    uniform_usage,
)

LEVELS = np.linspace(0.0, 1.5, 31)


@pytest.mark.parametrize("plan_share", [1.0, 0.8, 1.25])
def test_the_maximum_is_the_parabolas_peak(plan_share: float) -> None:
    ceiling = DEMAND * OD_RATE  # D, on-demand USD per hour
    optimum = DISCOUNT * ceiling  # covered value of the best commitment
    plan = [savings_plan(plan_share * optimum * (1 - DISCOUNT))]
    result = frontier(uniform_usage(), plan, one_key_catalog(), levels=LEVELS)
    position = result.expected_maximum()
    assert position.maximum_level * plan_share == pytest.approx(1.0, abs=0.026)  # the grid's step
    covered = plan_share * optimum

    def savings(value: float) -> float:
        return HOURS * (DISCOUNT * value - value**2 / (2 * ceiling))

    assert position.plan_savings_usd == pytest.approx(savings(covered), rel=1e-3)
    best = savings(position.maximum_level * covered)
    assert position.maximum_savings_usd == pytest.approx(best, rel=1e-3)
    assert position.shortfall_usd == pytest.approx(best - savings(covered), abs=0.05)
    assert position.at_maximum == (plan_share == 1.0)
    same = expected_savings_maximum(
        result.table["level"], result.table["mean_savings_vs_on_demand_usd"], 1.0
    )
    assert same == position
