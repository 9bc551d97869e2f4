"""The marginal saving of each purchase is the bill's finite difference (planning.marginal).

Independent check: for each purchase, the purchase reduced by one unit is built here by hand
(``count − 1`` RIs; a Savings Plan's commitment less 1 %, floored to 0.001 USD/h) and the two
bills are made with :func:`billing.simulator.simulate` directly.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from billing.simulator import simulate
from core.errors import CommitoptInputError
from optimizer.policy import Policy
from optimizer.purchases import bought_offers
from planning.marginal import (
    SP_STEP_SHARE,
    billed_marginal_savings,
    reduced_by_one_unit,
    unmeasured_note,
)
from planning.recommend import RecommendOptions, recommend
from pricing.catalog import PriceCatalog
from pricing.embedded import load_embedded_catalog
from pricing.inventory import Commitment
from usage.synthetic import steady_daily_cycle

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2025, 1, 1, tzinfo=UTC)
DAYS = 60


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return load_embedded_catalog()


def _small_usage() -> pd.DataFrame:
    frames = [
        steady_daily_cycle(
            start="2024-01-01", hours=10 * 24, base_instances=base, seed=n, instance_type=kind
        )
        for n, (kind, base) in enumerate((("m4.large", 6.0), ("c4.large", 9.0), ("r4.large", 4.0)))
    ]
    return pd.concat(frames, ignore_index=True)


def _plan() -> tuple[Commitment, ...]:
    common: dict[str, Any] = {
        "start": START, "end": END, "term_years": 1, "payment_option": "No Upfront"
    }  # fmt: skip
    return (
        Commitment(
            kind="reserved_instance", id="ri", upfront_usd=0.0, region="us-east-1",
            instance_type="m4.large", platform="Linux/UNIX", tenancy="Shared", scope="Region",
            offering_class="standard", count=4, normalized_units=16.0,
            recurring_usd_per_hour=0.062, effective_usd_per_hour=4 * 0.062, **common,
        ),
        Commitment(
            kind="ec2_instance_savings_plan", id="ec2-sp", upfront_usd=0.0, region="us-east-1",
            instance_family="c4", commitment_usd_per_hour=0.55, recurring_usd_per_hour=0.55,
            effective_usd_per_hour=0.55, **common,
        ),
        Commitment(
            kind="compute_savings_plan", id="compute-sp", upfront_usd=0.0,
            commitment_usd_per_hour=0.3, recurring_usd_per_hour=0.3, effective_usd_per_hour=0.3,
            **common,
        ),
    )  # fmt: skip


def _less_one_unit_by_hand(item: Commitment) -> tuple[Commitment | None, float]:
    if item.is_savings_plan:
        commitment = float(item.commitment_usd_per_hour or 0.0)
        left = math.floor(commitment * (1.0 - SP_STEP_SHARE) / 0.001 + 1e-9) * 0.001
        return (
            replace(item, commitment_usd_per_hour=left, recurring_usd_per_hour=left,
                    effective_usd_per_hour=left),
            commitment - left,
        )  # fmt: skip
    count = int(item.count or 0)
    per_ri = float(item.effective_usd_per_hour or 0.0) / count
    reduced = replace(
        item,
        count=count - 1,
        normalized_units=float(item.normalized_units or 0.0) * (count - 1) / count,
        effective_usd_per_hour=per_ri * (count - 1),
    )
    return (reduced if count > 1 else None), 1.0


def _by_hand(
    usage: pd.DataFrame,
    purchases: tuple[Commitment, ...],
    catalog: PriceCatalog,
    owned: tuple[Commitment, ...] = (),
) -> np.ndarray:
    planned = simulate(usage, (*owned, *purchases), catalog).totals.actual_cost_usd
    values = []
    for n, item in enumerate(purchases):
        reduced, removed = _less_one_unit_by_hand(item)
        rest = [p for m, p in enumerate(purchases) if m != n] + ([reduced] if reduced else [])
        cost = simulate(usage, (*owned, *rest), catalog).totals.actual_cost_usd
        values.append((cost - planned) / removed)
    return np.array(values)


def test_the_marginal_saving_is_two_bills_apart(catalog: PriceCatalog) -> None:
    usage, plan = _small_usage(), _plan()
    expected = _by_hand(usage, plan, catalog)
    for resumed_from in (1, 1_000):  # each bill resumed after its kind, or billed in full
        measured = billed_marginal_savings(usage, plan, catalog, resumed_from_changes=resumed_from)
        np.testing.assert_allclose(measured, expected, rtol=1e-7, atol=1e-6)
    assert np.all(np.abs(expected) > 0.01)  # each purchase moves the bill


def test_owned_commitments_are_billed_in_both_bills(catalog: PriceCatalog) -> None:
    usage, plan = _small_usage(), _plan()
    owned, proposed = plan[:1], plan[1:]
    expected = _by_hand(usage, proposed, catalog, owned)
    measured = billed_marginal_savings(usage, proposed, catalog, owned=owned)
    np.testing.assert_allclose(measured, expected, rtol=1e-7, atol=1e-6)
    resumed = billed_marginal_savings(usage, proposed, catalog, owned=owned, resumed_from_changes=1)
    np.testing.assert_allclose(resumed, expected, rtol=1e-7, atol=1e-6)
    alone = billed_marginal_savings(usage, proposed, catalog)
    assert not np.allclose(alone, measured)  # the owned RI changes what the plan's units do


def test_a_purchase_outside_the_period_saves_nothing_and_ids_must_differ(
    catalog: PriceCatalog,
) -> None:
    usage, plan = _small_usage(), _plan()
    later = replace(plan[1], id="later", start=datetime(2024, 6, 1, tzinfo=UTC))
    measured = billed_marginal_savings(usage, (*plan, later), catalog)
    assert measured[-1] == 0.0
    np.testing.assert_allclose(measured[:-1], _by_hand(usage, plan, catalog), rtol=1e-7, atol=1e-6)
    with pytest.raises(CommitoptInputError, match="share an id"):
        billed_marginal_savings(usage, (plan[0], replace(plan[1], id="ri")), catalog)


def test_without_a_compute_savings_plan_each_region_and_family_is_billed_alone(
    catalog: PriceCatalog,
) -> None:
    usage = pd.concat(
        [
            _small_usage(),
            steady_daily_cycle(
                start="2024-01-01", hours=10 * 24, base_instances=5.0, seed=9,
                instance_type="m4.xlarge", region="us-west-2", account_id="222222222222",
            ),
        ],
        ignore_index=True,
    )  # fmt: skip
    ri, ec2_sp, _ = _plan()
    west = replace(ri, id="ri-west", region="us-west-2", count=3, normalized_units=12.0,
                   effective_usd_per_hour=3 * 0.062, account_id="111111111111")  # fmt: skip
    plan = (ri, ec2_sp, west, replace(ri, id="ri-2", count=2, normalized_units=8.0,
                                      effective_usd_per_hour=2 * 0.062))  # fmt: skip
    expected = _by_hand(usage, plan, catalog)
    for grouped_from in (0, 1_000):  # one region and family at a time, or all at once
        measured = billed_marginal_savings(
            usage, plan, catalog, grouped_from_instruments=grouped_from
        )
        np.testing.assert_allclose(measured, expected, rtol=1e-7, atol=1e-6)
    assert np.all(np.abs(expected) > 0.01)


def test_one_unit_is_one_ri_or_one_percent_of_a_savings_plan() -> None:
    ri, ec2_sp, _ = _plan()
    smaller, removed = reduced_by_one_unit(ri)
    assert smaller is not None and smaller.count == 3 and removed == 1.0
    single, removed = reduced_by_one_unit(replace(ri, count=1, normalized_units=4.0))
    assert single is None and removed == 1.0
    smaller, removed = reduced_by_one_unit(ec2_sp)
    assert smaller is not None
    assert smaller.commitment_usd_per_hour == pytest.approx(0.544)  # 0.5445 floored
    assert removed == pytest.approx(0.006)
    tiny = replace(ec2_sp, commitment_usd_per_hour=0.001)
    assert reduced_by_one_unit(tiny) == (None, 0.001)


def _steady_fleet() -> pd.DataFrame:
    """Seven steady daily-cycle keys in two regions, three accounts: the LP's duals call some
    purchases money-losing at the margin while the bill says each last unit saves."""
    keys = (
        ("m4.large", "us-east-1", 10), ("m4.large", "us-west-2", 8),
        ("c4.large", "us-east-1", 12), ("r4.large", "us-west-2", 8),
        ("t2.medium", "us-east-1", 15), ("m4.2xlarge", "us-east-1", 3),
        ("c4.2xlarge", "us-west-2", 4),
    )  # fmt: skip
    frames = [
        steady_daily_cycle(
            start="2024-01-01", hours=DAYS * 24, base_instances=base,
            daily_amplitude_instances=4.0, seed=30 + n, instance_type=kind, region=region,
            account_id=f"{111111111111 + n % 3}",
        )
        for n, (kind, region, base) in enumerate(keys)
    ]  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def test_recommend_reports_the_bills_marginal_saving_on_a_steady_plan(
    catalog: PriceCatalog,
) -> None:
    # decided on the lookback as it ran, the plan sits at its bill's optimum; decided on
    # futures it need not (a hedge can be over-committed for the lookback alone)
    options = RecommendOptions(decide_on="lookback", recency_half_life_days=0.0)
    run = recommend(_steady_fleet(), catalog, Policy(), options=options)
    assert run.rounded is not None
    # Before: the LP's duals said some purchases lose money at the margin.
    duals = run.result.offer_marginal_usd[bought_offers(run.problem, run.rounded.units)]
    assert (duals < -1e-6).sum() >= 1
    reported = run.explanations["marginal_savings_usd_per_unit"].to_numpy(dtype=np.float64)
    expected = _by_hand(run.usage, run.purchases, catalog)
    np.testing.assert_allclose(reported, expected, rtol=1e-7, atol=1e-6)
    # The explanation says what the bill says, unit by unit, wherever the duals said otherwise
    # (whether each last unit saves depends on how close the rounded plan is to the bill's
    # optimum: near a Savings Plan's optimum the curve is flat, and the certified gap allows
    # small losses at the margin; see docs/report.md).
    assert len(reported) >= 5
    assert np.all(np.sign(reported) == np.sign(expected))
    # The purchases save money as a whole, too.
    assert run.summary["savings_vs_current_usd"] > 0
    json_values = [item["marginal_savings_usd_per_unit"] for item in run.portfolio["purchases"]]
    np.testing.assert_allclose(json_values, reported, rtol=1e-6, atol=0.01)


def test_the_budget_measures_the_largest_purchases_and_says_so() -> None:
    catalog = load_embedded_catalog()
    options = RecommendOptions(decide_on="lookback", recency_half_life_days=0.0)
    run = recommend(_steady_fleet(), catalog, Policy(), options=options)
    assert len(run.purchases) > 2
    full = billed_marginal_savings(run.usage, run.purchases, catalog)
    cells = len(run.usage.hours) * len(run.usage.keys)
    # a small portfolio is billed whole: room for two bills measures the two dearest purchases
    part = billed_marginal_savings(run.usage, run.purchases, catalog, max_billed_cells=2 * cells)
    measured = ~np.isnan(part)
    assert int(measured.sum()) == 2
    np.testing.assert_allclose(part[measured], full[measured])
    cost = np.array([p.effective_usd_per_hour or 0.0 for p in run.purchases])
    assert cost[measured].min() >= cost[~measured].max()
    (sentence,) = unmeasured_note(part)
    assert f"not for the other {len(run.purchases) - 2}" in sentence
    assert unmeasured_note(full) == ()
