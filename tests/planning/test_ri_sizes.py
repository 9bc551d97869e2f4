"""RIs are bought in the sizes the account runs, not in the family's smallest size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from billing.simulator import simulate
from optimizer.optimize import StagedProgress
from optimizer.policy import Policy
from planning.recommend import RecommendOptions, _bounded_by, recommend
from pricing.embedded import load_embedded_catalog

DAYS = 30
START = pd.Timestamp("2024-03-01", tz="UTC")
RI_ONLY = Policy(instruments=("ri",))


def _usage(counts: dict[str, float]) -> pd.DataFrame:
    """Steady Linux usage in us-east-1: ``counts`` instances of each type, every hour."""
    hours = pd.date_range(START, periods=DAYS * 24, freq="h", tz="UTC")
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "hour": hours,
                    "account_id": "111111111111",
                    "region": "us-east-1",
                    "instance_type": instance_type,
                    "platform": "Linux/UNIX",
                    "tenancy": "Shared",
                    "quantity": np.full(len(hours), count),
                }
            )
            for instance_type, count in counts.items()
        ],
        ignore_index=True,
    )


def _ri_lines(run: object) -> list[tuple[str, int, float]]:
    return [
        (p.instance_type, p.count, p.normalized_units)
        for p in run.purchases  # type: ignore[attr-defined]
        if not p.is_savings_plan
    ]


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # 12 normalized units: t2.large (4 NU) makes it exactly, t2.xlarge (8 NU) does not
        ({"t2.large": 3}, [("t2.large", 3, 12.0)]),
        # 2 × 8 + 3 × 1 = 19 NU: only t2.small (1 NU) divides it among the sizes run
        ({"t2.xlarge": 2, "t2.small": 3}, [("t2.small", 19, 19.0)]),
        # 2 × 8 + 2 × 4 = 24 NU: t2.xlarge makes it exactly (3 × 8)
        ({"t2.xlarge": 2, "t2.large": 2}, [("t2.xlarge", 3, 24.0)]),
    ],
)
def test_ris_come_in_a_size_the_account_runs(
    counts: dict[str, float], expected: list[tuple[str, int, float]]
) -> None:
    catalog = load_embedded_catalog()
    usage = _usage(counts)
    run = recommend(usage, catalog, RI_ONLY, options=RecommendOptions(lookback_days=DAYS))
    assert _ri_lines(run) == expected
    assert f"({expected[0][1]} × {expected[0][0]})" in str(run.explanations.loc[0, "explanation"])
    # Size flexibility: the same normalized units in the smallest size bill the same.
    smallest = recommend(
        usage,
        catalog,
        RI_ONLY,
        options=RecommendOptions(lookback_days=DAYS, ri_instance_type="t2.nano"),
    )
    (nano,) = smallest.purchases
    assert (nano.instance_type, nano.count) == ("t2.nano", 4 * expected[0][2])
    ours = simulate(run.usage, run.purchases, catalog).totals.actual_cost_usd
    theirs = simulate(run.usage, smallest.purchases, catalog).totals.actual_cost_usd
    assert ours == pytest.approx(theirs, rel=1e-9)
    assert ours < simulate(run.usage, (), catalog).totals.actual_cost_usd


def test_no_size_run_divides_the_load_so_rounding_goes_down_to_a_run_size() -> None:
    # 2 × t2.xlarge (16 NU) steady + 1 t2.large (4 NU) in 3 of 4 hours: the LP covers ~16-20
    # NU; whatever it buys comes in t2.xlarge or t2.large, never in t2.nano.
    catalog = load_embedded_catalog()
    usage = _usage({"t2.xlarge": 2, "t2.large": 1})
    usage.loc[
        (usage["instance_type"] == "t2.large") & (usage["hour"].dt.hour % 4 == 0), "quantity"
    ] = 0
    run = recommend(usage, catalog, RI_ONLY, options=RecommendOptions(lookback_days=DAYS))
    lines = _ri_lines(run)
    assert lines
    assert all(t in {"t2.xlarge", "t2.large"} for t, _, _ in lines)
    assert sum(units for _, _, units in lines) <= 20.0


class _Progress:
    """A staged progress callback that records what it is told."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def __call__(self, iteration: int, lower_usd: float, upper_usd: float) -> None:
        self.calls.append(("iteration", iteration, lower_usd, upper_usd))

    def stage(self, name: str) -> None:
        self.calls.append(("stage", name))


def test_the_rounding_is_a_stage_of_the_progress() -> None:
    """At 3,000 keys the rounding's re-solve ran 15 minutes under the main solve's last line."""
    progress = _Progress()
    usage = _usage({"t2.large": 0.0, "t2.medium": 0.0})
    # a daily cycle and noise, so that the hours differ and cutting planes solve it
    hour = usage["hour"].dt.hour.to_numpy()
    noise = np.random.default_rng(7).uniform(0.0, 3.0, len(usage))
    usage["quantity"] = 6 + 3 * np.sin(2 * np.pi * hour / 24) + noise
    run = recommend(usage, load_embedded_catalog(), RI_ONLY, progress=progress)
    assert isinstance(progress, StagedProgress)
    stages = [call for call in progress.calls if call[0] == "stage"]
    assert stages == [("stage", "rounding to whole RIs")]
    main = progress.calls[: progress.calls.index(stages[0])]
    assert main and all(call[0] == "iteration" for call in main)  # after the main solve's
    assert run.portfolio["summary"]["optimizer"]["method"] == "cutting-planes"
    assert _ri_lines(run)  # whole RIs bought


def test_a_re_solve_shows_the_plans_lower_bound_at_least() -> None:
    seen: list[tuple[int, float, float]] = []
    bounded = _bounded_by(lambda *call: seen.append(call), 100.0)
    assert bounded is not None and _bounded_by(None, 100.0) is None
    bounded(1, float("-inf"), 120.0)
    bounded(2, 105.0, 110.0)
    assert seen == [(1, 100.0, 120.0), (2, 105.0, 110.0)]
