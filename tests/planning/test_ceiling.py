"""The certified ceiling: a closed form, brute force on tiny cases, and every policy below it."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from billing.simulator import simulate
from optimizer.policy import Policy
from planning.ceiling import _Solver, ceiling_bound, rounded_plans, unit_offers
from planning.policies import POLICY_NAMES, PURCHASE_POLICY, HindsightOptimum, run_backtest
from pricing.catalog import PriceCatalog
from pricing.embedded import load_embedded_catalog
from pricing.instance_types import normalization_factor
from pricing.offerings import CommitmentKind
from scenarios.backtest import (
    HINDSIGHT_ONESHOT,
    BacktestResult,
    BacktestStatus,
    HindsightWindow,
    relevant_prices,
    review_dates,
    ri_purchases,
    savings_plan_purchase,
)
from tests.planning.test_database_joint_plan import fleet_usage
from tests.planning.test_node_services_joint_plan import valkey_catalog
from usage.synthetic import decline, family_migration, growth, steady_daily_cycle
from usage.table import UsageMatrix, to_matrix

CUR = (
    Path(__file__).parents[1] / "data" / "cur" / "wal_Oct2018-WorkshopCUR-ec2-trimmed.zstd.parquet"
)
LINUX = {"platform": "Linux/UNIX", "tenancy": "Shared"}


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return load_embedded_catalog()


def _matrix(start: str, counts: dict[str, np.ndarray], catalog: PriceCatalog) -> UsageMatrix:
    """Usage of ``instance_type`` (us-east-1, Linux unless the name says ``:Windows``) keys."""
    frames = []
    for name, values in counts.items():
        instance_type, _, platform = name.partition(":")
        frames.append(
            pd.DataFrame(
                {
                    "hour": pd.date_range(start, periods=len(values), freq="h", tz="UTC"),
                    "account_id": "111111111111",
                    "region": "us-east-1",
                    "instance_type": instance_type,
                    "platform": platform or "Linux/UNIX",
                    "tenancy": "Shared",
                    "quantity": values.astype(float),
                }
            )
        )
    return to_matrix(pd.concat(frames, ignore_index=True))


def _window(usage: UsageMatrix, catalog: PriceCatalog) -> HindsightWindow:
    dates = review_dates(usage.hours[0], usage.hours[-1] + pd.Timedelta(hours=1))
    return HindsightWindow(usage, (), dates, relevant_prices(catalog, usage.keys))


def _savings(usage: UsageMatrix, plan: tuple[Any, ...], catalog: PriceCatalog) -> float:
    return simulate(usage, plan, catalog).totals.savings_vs_on_demand_usd


def test_constant_usage_closed_form(catalog: PriceCatalog) -> None:
    """Three m4.large all the time, RIs only: the bound saves 3 × hours × (on-demand − the
    cheapest m4 RI per normalized unit × 4 NU); the billed hindsight is between three m4.large
    RIs and that."""
    hours = 24 * 10
    usage = _matrix("2024-03-03", {"m4.large": np.full(hours, 3.0)}, catalog)
    window = _window(usage, catalog)
    policy = replace(PURCHASE_POLICY, instruments=("ri",))
    bound = ceiling_bound(usage, window.catalog, policy, list(window.review_dates))
    reserved = catalog.reserved
    m4 = reserved.loc[
        (reserved["region"] == "us-east-1")
        & reserved["instance_type"].str.startswith("m4.")
        & (reserved["platform"] == "Linux/UNIX")
        & (reserved["tenancy"] == "Shared")
        & (reserved["offering_class"] == "standard")
        & (reserved["term_years"] == 1)
        & (reserved["payment_option"] == "No Upfront")
    ]
    per_unit = min(
        rate / normalization_factor(name)
        for name, rate in zip(m4["instance_type"], m4["effective_usd_per_hour"], strict=True)
    )
    on_demand = float(catalog.require_on_demand(usage.keys)[0])
    expected = 3 * hours * (on_demand - per_unit * normalization_factor("m4.large"))
    assert bound.savings_bound_usd == pytest.approx(expected, rel=1e-7)
    # whole RIs: the LP's 0.09375 × m4.16xlarge cannot be bought; three m4.large RIs can
    large = float(m4.loc[m4["instance_type"] == "m4.large", "effective_usd_per_hour"].iloc[0])
    whole = 3 * hours * (on_demand - large)
    plan = HindsightOptimum(policy)(window)
    billed = _savings(usage, tuple(plan.purchases), catalog)
    assert whole - 1e-9 <= billed <= expected + 1e-9
    assert plan.ceiling_savings_usd == pytest.approx(expected, rel=1e-7)


def _grid_plans(
    usage: UsageMatrix, dates: pd.DatetimeIndex, catalog: PriceCatalog, ri_max: dict[str, int]
) -> list[tuple[Any, ...]]:
    """Every whole-RI count of each key's own type at the first date (0..max) and of the first
    key's at the second (0..1), and Compute SP commitments on a grid at each date."""
    keys = usage.keys
    per_date: list[list[tuple[Any, ...]]] = []
    for number, at in enumerate(dates):
        choices = []
        top = [
            ri_max[t] if number == 0 else int(i == 0) for i, t in enumerate(keys["instance_type"])
        ]
        grid = (0.0, 0.04, 0.08) if number == 0 else (0.0, 0.04)
        for counts in itertools.product(*(range(t + 1) for t in top)):
            ris = ri_purchases(keys, list(counts), at, catalog)
            for commit in grid:
                sp = (savings_plan_purchase(CommitmentKind.COMPUTE_SAVINGS_PLAN, commit, at),)
                choices.append((*ris, *(sp if commit > 0 else ())))
        per_date.append(choices)
    return [tuple(itertools.chain(*combo)) for combo in itertools.product(*per_date)]


@pytest.mark.parametrize(
    ("seed", "ri_max"),
    [
        (1, {"m4.large": 4}),
        (2, {"m4.large": 3, "c4.large": 2}),
        (3, {"m4.large": 2, "c4.large": 2, "t2.micro:Windows": 1}),
    ],
)
def test_brute_force_on_tiny_cases(
    catalog: PriceCatalog, seed: int, ri_max: dict[str, int]
) -> None:
    """Four days over a month start (two review dates), 1–3 keys: the bound is above every
    enumerated plan's billed savings, and the hindsight plan is at least the best of them."""
    rng = np.random.default_rng(seed)
    hours = 24 * 4
    counts = {
        name: rng.integers(0, top + 2, size=hours).astype(float) for name, top in ri_max.items()
    }
    usage = _matrix("2024-01-30", counts, catalog)
    window = _window(usage, catalog)
    assert len(window.review_dates) == 2
    prices = window.catalog
    types = {name.partition(":")[0]: top for name, top in ri_max.items()}
    plans = _grid_plans(usage, window.review_dates, prices, types)
    assert len(plans) >= 36
    enumerated = np.array([_savings(usage, plan, prices) for plan in plans])
    hindsight = HindsightOptimum()(window)
    billed = _savings(usage, tuple(hindsight.purchases), prices)
    bound = hindsight.ceiling_savings_usd
    scale = 1e-9 * max(1.0, abs(bound))
    assert bound >= enumerated.max() - scale
    assert bound >= billed - scale
    assert billed >= enumerated.max() - scale
    # the certified gap is what separates the billed plan from the bound
    assert (bound - billed) / bound < 0.05


def test_offers_cover_every_size_of_a_flexible_family(catalog: PriceCatalog) -> None:
    usage = _matrix("2024-03-03", {"t2.micro": np.ones(24)}, catalog)
    window = _window(usage, catalog)
    offers = unit_offers(usage, window.catalog, PURCHASE_POLICY, list(window.review_dates))
    ri_types = {o.instance_type for o in offers if o.kind == CommitmentKind.RESERVED_INSTANCE}
    assert {"t2.nano", "t2.micro", "t2.large"} <= ri_types
    kinds = {o.kind for o in offers}
    # every kind but the Database and SageMaker Savings Plans: the workshop account's usage
    # here is EC2 only
    assert kinds == set(CommitmentKind) - {
        CommitmentKind.DATABASE_SAVINGS_PLAN,
        CommitmentKind.SAGEMAKER_SAVINGS_PLAN,
    }


def _two_steady_fleets(start: str, *, days: int) -> UsageMatrix:
    """6 m4.large and 3 c4.large on a daily cycle from ``start``: hours enough to group."""
    return to_matrix(
        pd.concat(
            [
                steady_daily_cycle(start=start, hours=24 * days, base_instances=6, seed=4),
                steady_daily_cycle(start=start, hours=24 * days, base_instances=3, seed=5,
                                   instance_type="c4.large"),
            ],
            ignore_index=True,
        )
    )  # fmt: skip


def test_grouped_hours_are_a_looser_valid_bound(catalog: PriceCatalog) -> None:
    usage = _two_steady_fleets("2024-01-01", days=20)
    window = _window(usage, catalog)
    dates = list(window.review_dates)
    exact = ceiling_bound(usage, window.catalog, PURCHASE_POLICY, dates)
    grouped = ceiling_bound(usage, window.catalog, PURCHASE_POLICY, dates, max_cells=2)
    assert exact.exact_periods and not grouped.exact_periods
    assert grouped.periods < exact.periods
    assert exact.savings_bound_usd <= grouped.savings_bound_usd
    assert grouped.savings_bound_usd <= exact.savings_bound_usd * 1.02


# --------------------------------------------------------------------------- the line-up

WINDOW: dict[str, Any] = {"start": "2024-02-01", "end": "2024-04-01", "lookback_days": 30}
START = "2024-01-01T00:00:00Z"
HOURS = 24 * 92


def _archetype(kind: str) -> pd.DataFrame:
    if kind == "steady":
        return steady_daily_cycle(start=START, hours=HOURS, base_instances=8, seed=3)
    if kind == "growth":
        return growth(start=START, hours=HOURS, base_instances=3, growth_instances_per_day=0.2)
    if kind == "decline":
        return decline(start=START, hours=HOURS, base_instances=12, decline_instances_per_day=0.1)
    return family_migration(start=START, hours=HOURS)


def _check_below_the_ceilings(result: BacktestResult) -> None:
    """Every policy at most the certified bound (and a first-review-only one at most the
    one-shot bound); the hindsight rows between the best policy they cover and their bound."""
    assert result.hindsight is not None and result.hindsight_oneshot is not None
    bound, once = result.ceiling_savings_usd, result.oneshot_ceiling_savings_usd
    assert np.isfinite(bound) and np.isfinite(once)
    tolerance = 1e-7 * result.hindsight.simulation.totals.on_demand_cost_usd
    first = result.review_dates[0].to_pydatetime()
    for name, outcome in result.outcomes.items():
        savings = outcome.savings_vs_on_demand_usd
        assert savings <= bound + tolerance, name
        if all(p.start == first for p in outcome.purchases):
            assert savings <= once + tolerance, name
        assert outcome.captured == pytest.approx(savings / bound)
        assert outcome.captured_oneshot == pytest.approx(savings / once)
    assert once <= bound + tolerance
    assert result.hindsight.savings_vs_on_demand_usd <= bound + tolerance
    assert result.hindsight_oneshot.savings_vs_on_demand_usd <= once + tolerance
    # the all-reviews hindsight may buy what the one-shot does
    assert (
        result.hindsight.savings_vs_on_demand_usd
        >= result.hindsight_oneshot.savings_vs_on_demand_usd
    )
    assert 0 <= result.ceiling_gap_pct < 2.0
    assert result.status is BacktestStatus.OK
    table = result.table().set_index("policy")
    assert table.loc["hindsight", "ceiling_savings_usd"] == pytest.approx(bound)
    assert table.loc[HINDSIGHT_ONESHOT, "ceiling_savings_usd"] == pytest.approx(once)
    assert table.loc["hindsight", "captured_pct"] == pytest.approx(
        100 - result.ceiling_gap_pct * 1.0, abs=1e-9
    )


@pytest.mark.parametrize("kind", ["steady", "growth", "decline", "migration"])
def test_every_policy_is_below_the_ceiling_on_archetypes(catalog: PriceCatalog, kind: str) -> None:
    result = run_backtest(_archetype(kind), catalog, POLICY_NAMES, **WINDOW)
    _check_below_the_ceilings(result)


def _workshop_oct_to_dec() -> tuple[pd.DataFrame, PriceCatalog]:
    """The October 2018 workshop CUR (the only month the fixture has) repeated for November and
    December (shifted by 31 and 62 days), priced by the CUR's own rates and the embedded
    catalog."""
    from pricing.readers.cur_rates import read_cur_rates
    from usage.readers import read_cur

    october, _ = read_cur([CUR])
    copies = [october.assign(hour=october["hour"] + pd.Timedelta(days=31 * k)) for k in (1, 2)]
    usage = pd.concat([october, *copies], ignore_index=True)
    return usage, PriceCatalog.merge([read_cur_rates([CUR]), load_embedded_catalog()])


def test_real_cur_november_december(catalog: PriceCatalog) -> None:
    usage, prices = _workshop_oct_to_dec()
    result = run_backtest(
        usage, prices, POLICY_NAMES, start="2018-11-01", end="2019-01-01", lookback_days=30
    )
    _check_below_the_ceilings(result)
    assert result.hindsight is not None
    hindsight = result.hindsight.savings_vs_on_demand_usd
    # the issue's plan (27 × t2.micro us-east-1, 1 × t2.micro eu-west-2, 1 × c5.xlarge
    # us-east-1) and recommend on the realized usage (the former hindsight) are plans of the
    # feasible set: the hindsight is at or above both
    window = result.hindsight.simulation
    keys = pd.DataFrame(
        {"region": ["us-east-1", "eu-west-2", "us-east-1"],
         "instance_type": ["t2.micro", "t2.micro", "c5.xlarge"], **LINUX}
    )  # fmt: skip
    start = pd.Timestamp("2018-11-01", tz="UTC")
    issue_plan = ri_purchases(keys, [27, 1, 1], start, prices)
    matrix = to_matrix(usage, start=start, end=pd.Timestamp("2019-01-01", tz="UTC"))
    assert window.totals.on_demand_cost_usd == pytest.approx(
        simulate(matrix, (), prices).totals.on_demand_cost_usd
    )
    assert hindsight >= _savings(matrix, issue_plan, prices) - 1e-6
    optimum = HindsightOptimum()
    recommended = optimum._recommended(
        HindsightWindow(matrix, (), result.review_dates, relevant_prices(prices, matrix.keys))
    )
    assert hindsight >= _savings(matrix, recommended, prices) - 1e-6
    assert hindsight >= 276.33


def test_one_shot_ceiling_buys_at_the_first_review_only(catalog: PriceCatalog) -> None:
    usage = to_matrix(_archetype("growth"), start="2024-02-01", end="2024-04-01")
    window = _window(usage, catalog)
    plan = HindsightOptimum(reviews="first")(window)
    assert plan.purchases
    assert {p.start for p in plan.purchases} == {window.review_dates[0].to_pydatetime()}
    every = HindsightOptimum()(window)
    assert plan.ceiling_savings_usd <= every.ceiling_savings_usd + 1e-6
    assert {p.start for p in every.purchases} <= {d.to_pydatetime() for d in window.review_dates}


def test_each_grouped_ceiling_says_which_purchases_it_bounds(catalog: PriceCatalog) -> None:
    """The all-reviews ceiling and the one-shot bound each solve an LP; grouped, each note
    names its own, not the same sentence twice with two group counts."""
    usage = _two_steady_fleets("2024-02-01", days=40)
    window = _window(usage, catalog)
    every = HindsightOptimum(max_cells=2)(window)
    first = HindsightOptimum(reviews="first", max_cells=2)(window)
    dates = len(HindsightOptimum().purchase_dates(window))
    assert dates > 1
    assert every.notes == (
        f"the ceiling's LP (purchases on {dates} dates) summed the window's hours into "
        f"{_groups(every.notes)} groups: the bound is valid but looser",
    )
    assert first.notes[0].startswith("the ceiling's LP (one purchase) summed the window's hours")
    assert HindsightOptimum()(window).notes == ()


def _groups(notes: tuple[str, ...]) -> int:
    """The group count a grouped ceiling's note states."""
    return int(notes[0].split(" into ")[1].split(" groups")[0])


def test_a_policy_other_than_the_line_up_is_checked_too(catalog: PriceCatalog) -> None:
    """RIs only, a narrower feasible set: the bound shrinks and still covers the policies."""
    policy = Policy(instruments=("ri",))
    result = run_backtest(_archetype("steady"), catalog, ["none", "ours-oneshot"], policy=policy,
                          **WINDOW)  # fmt: skip
    _check_below_the_ceilings(result)
    full = run_backtest(_archetype("steady"), catalog, ["none"], **WINDOW)
    assert result.ceiling_savings_usd <= full.ceiling_savings_usd + 1e-6


def test_valkey_nodes_are_offered_memorydb_reservations() -> None:
    """MemoryDB Valkey nodes (``memorydb-valkey``) are covered by the Redis OSS reserved nodes
    (``memorydb``), 0.7 of the size's units each: the ceiling offers those for Valkey-only
    usage, and bounds the savings of reserving its 5 × 5.6 = 28 units."""
    usage = to_matrix(fleet_usage({("db.r6g.xlarge", "memorydb-valkey", "Node"): 5.0}))
    prices = valkey_catalog()
    dates = [usage.hours[0]]
    offers = unit_offers(usage, prices, Policy(), dates)
    reserved = {
        (o.instance_type, o.platform, o.tenancy)
        for o in offers
        if o.kind == CommitmentKind.RESERVED_INSTANCE
    }
    assert reserved == {("db.r6g.large", "memorydb", "Node"), ("db.r6g.xlarge", "memorydb", "Node")}
    bound = ceiling_bound(usage, prices, Policy(), dates)
    hours = len(usage.hours)
    # every unit reserved at 0.054 USD per unit-hour instead of 0.7 × 0.617 / 5.6 on demand
    assert bound.savings_bound_usd == pytest.approx(hours * (5 * 0.7 * 0.617 - 28 * 0.054))


def test_warm_re_solves_match_scipy_from_scratch(catalog: PriceCatalog) -> None:
    """The bound and each candidate's re-solve with its RIs fixed, warm in one highspy model,
    give the bound and the plans that SciPy's HiGHS gives from scratch (the fallback where
    highspy cannot load)."""
    usage = to_matrix(_archetype("growth"), start="2024-02-01", end="2024-04-01")
    dates = review_dates(usage.hours[0], usage.hours[-1] + pd.Timedelta(hours=1))
    warm = ceiling_bound(usage, catalog, PURCHASE_POLICY, list(dates))
    assert warm.solver is not None and warm.solver._model is not None
    cold = replace(warm, solver=_Solver(warm.solver.program))
    cold.solver._model = None  # type: ignore[union-attr]
    _, cold_bound = cold.solver.solve()  # type: ignore[union-attr]
    assert cold_bound == pytest.approx(warm.lower_bound_cost_usd, rel=1e-9)
    warm_plans, cold_plans = (
        rounded_plans(warm, usage, catalog),
        rounded_plans(cold, usage, catalog),
    )
    assert len(warm_plans) == len(cold_plans) > 2
    for warm_plan, cold_plan in zip(warm_plans, cold_plans, strict=True):
        assert _savings(usage, warm_plan, catalog) == pytest.approx(
            _savings(usage, cold_plan, catalog), abs=0.01
        )
