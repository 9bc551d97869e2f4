"""The simulator-only policies (Cost-Explorer-like, knee), on a few days of one key."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from billing.simulator import simulate
from planning.policies import CostExplorerLike, KneeRule
from planning.policies.cost_explorer import _golden_max
from pricing.embedded import load_embedded_catalog
from pricing.offerings import CommitmentKind
from scenarios.backtest import Review, backtest, ri_purchases
from tests.scenarios.test_backtest import M4_LARGE_OD, usage_table
from usage.table import to_matrix


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_embedded_catalog()


def test_golden_section_finds_each_scope_maximum() -> None:
    peaks = np.array([0.3, 2.0, 7.5])

    def savings(x: np.ndarray) -> np.ndarray:
        return -np.abs(x - peaks) + 1.0  # concave, maximum 1 at each peak

    found = _golden_max(savings, np.array([1.0, 10.0, 10.0]), iterations=40)
    assert found == pytest.approx(peaks, abs=1e-6)
    # nothing positive to gain: buy nothing
    assert _golden_max(lambda x: -x, np.array([5.0]), iterations=20) == pytest.approx([0.0])


def test_cost_explorer_like_covers_a_flat_fleet(catalog) -> None:  # type: ignore[no-untyped-def]
    usage = usage_table(24 * 70, 10.0)
    policies = {"ce": CostExplorerLike(30, iterations=10), "once": CostExplorerLike(7, False)}
    result = backtest(usage, catalog, policies, start="2024-02-01", end="2024-03-02",
                      lookback_days=30)  # fmt: skip
    for name in ("ce", "once"):
        purchases = result.outcomes[name].purchases
        assert len(purchases) == 1  # bought at the first review; covered afterwards
        item = purchases[0]
        # EC2 Instance SP rates equal standard RI effective rates in this catalog (0.062 USD/h):
        # either buys ten instances' worth
        if item.kind == CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN:
            assert item.commitment_usd_per_hour == pytest.approx(10 * 0.062, abs=0.002)
        else:
            assert (item.kind, item.count) == ("reserved_instance", 10)
        assert result.outcomes[name].simulation.totals.coverage_pct == pytest.approx(100.0, abs=1.0)


def test_cost_explorer_like_sizes_ris_per_type_at_the_break_even(catalog) -> None:  # type: ignore[no-untyped-def]
    keys = usage_table(1, 0.0)[["region", "instance_type", "platform", "tenancy"]]
    at = pd.Timestamp("2024-02-01", tz="UTC")
    purchases = ri_purchases(keys, [3.7], at, catalog)
    assert len(purchases) == 1 and purchases[0].count == 3
    assert purchases[0].effective_usd_per_hour == pytest.approx(3 * 0.062)
    # the RI costs 62 % of on-demand: an RI pays off when used in more than 62 % of the hours
    hours = 24 * 30
    for busy_share, expected in ((0.7, 10), (0.6, 2)):
        pattern = np.where(np.arange(hours) % 10 < 10 * busy_share, 10.0, 2.0)
        matrix = to_matrix(usage_table(hours, pattern))
        review = Review(at, 0, matrix, (), catalog, None)
        baseline = simulate(matrix, (), catalog)
        (ri,) = CostExplorerLike(30)._ris(review, matrix, baseline)
        assert ri.count == expected


def test_knee_rule_buys_a_fraction_of_the_gap(catalog) -> None:  # type: ignore[no-untyped-def]
    usage = usage_table(24 * 100, 10.0)
    knee = KneeRule(assumed_discount=0.3, fraction=0.5)
    result = backtest(usage, catalog, {"knee": knee}, start="2024-02-01", end="2024-04-01",
                      lookback_days=30)  # fmt: skip
    bought = [p.commitment_usd_per_hour for p in result.outcomes["knee"].purchases]
    target = 0.7 * 10 * M4_LARGE_OD  # (1 - d) x the d-quantile of a flat 1 USD/h spend
    assert bought == pytest.approx([target / 2, target / 4], abs=0.001)


def _with_unpriced_key(usage: pd.DataFrame) -> pd.DataFrame:
    """``usage`` plus a Fargate key with usage in every hour: no on-demand rate in the embedded
    catalog."""
    fargate = usage.assign(instance_type="fargate.vcpu", platform="fargate-linux",
                           tenancy="x86_64", quantity=4.0)  # fmt: skip
    return pd.concat([usage, fargate], ignore_index=True)


@pytest.mark.parametrize(
    "policy", [CostExplorerLike(30, iterations=6), KneeRule()], ids=["ce-30d", "knee"]
)
def test_simulator_policies_leave_keys_without_a_price_out(catalog, policy) -> None:  # type: ignore[no-untyped-def]
    """A key of another service without an on-demand rate is left out of the bill, so of the
    sizing: the policy buys what it buys without the key (it crashed on a shape mismatch)."""
    usage = usage_table(24 * 30, 10.0)
    at = pd.Timestamp("2024-01-31", tz="UTC")
    alone = Review(at, 0, to_matrix(usage), (), catalog, None)
    mixed = Review(at, 0, to_matrix(_with_unpriced_key(usage)), (), catalog, None)
    bought = policy(alone)
    assert bought
    assert policy(mixed) == bought
