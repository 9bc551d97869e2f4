"""Monte Carlo: every path billed as :func:`simulate` bills it, through the exact reductions."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.engine import build_pools
from billing.portfolio import build_portfolio
from billing.simulator import SimulationTotals, priced_keys, simulate
from pricing.inventory import Commitment
from scenarios.montecarlo import METRICS, KeyMerge, MonteCarloStatus, merge_keys, monte_carlo
from scenarios.paths import UsagePaths
from tests.billing.test_simulator import (
    CATALOG,
    LINUX,
    ON_DEMAND,
    START,
    WINDOWS,
    ri,
    savings_plan,
    usage_table,
)
from usage.table import KEY_COLUMNS, UsageMatrix, to_matrix

COMPARED = ("on_demand_cost_usd", "actual_cost_usd", "uncovered_cost_usd",
            "savings_vs_on_demand_usd", "savings_vs_on_demand_pct", "utilization_pct",
            "coverage_pct")  # fmt: skip
KEYS = pd.DataFrame(
    [
        {"account_id": account, "region": "us-east-1", "instance_type": t, "platform": p,
         "tenancy": "Shared"}
        for account in ("aaa", "bbb")
        for (t, p) in ON_DEMAND
    ]
)[list(KEY_COLUMNS)]  # fmt: skip


def assert_path_equals_simulation(row: pd.Series, totals: SimulationTotals) -> None:
    """A path's totals equal the simulator's to floating-point rounding."""
    for name in COMPARED:
        expected = getattr(totals, name)
        assert row[name] == pytest.approx(expected, rel=1e-9, abs=1e-9), name


def hours(n: int) -> pd.DatetimeIndex:
    return pd.date_range(START, periods=n, freq="h", tz="UTC", unit="ns")


def test_one_path_equals_simulate() -> None:
    rng = np.random.default_rng(3)
    rows = [(h, t, p, float(rng.integers(0, 6))) for h in range(72) for (t, p) in ON_DEMAND]
    usage = usage_table(rows)
    items = [
        ri("m5.xlarge", 2, ident="r1", hours=40),
        ri("m5.large", 1, platform=WINDOWS, ident="r2"),
        savings_plan(0.3, ident="s1", start_hour=5),
        savings_plan(0.2, kind="ec2_instance_savings_plan", family="m5", ident="s2"),
    ]
    expected = simulate(usage, items, CATALOG)
    result = monte_carlo(UsagePaths.from_matrices([to_matrix(usage)]), items, CATALOG)
    assert result.n_paths == 1 and result.hours == 72
    assert result.status == MonteCarloStatus.OK
    assert_path_equals_simulation(result.paths.iloc[0], expected.totals)
    assert result.commitment_cost_usd == pytest.approx(
        expected.totals.amortized_upfront_usd + expected.totals.recurring_usd
    )
    # the three Linux m5 sizes are one column; the Windows and c5 keys stay alone
    assert result.reduction.keys == 5 and result.reduction.columns == 3


@st.composite
def path_cases(draw: st.DrawFn) -> tuple[UsagePaths, list[Commitment], bool, bool]:
    """Random sampled paths over the hand catalog's keys in two accounts, with a portfolio."""
    n_hours = draw(st.integers(1, 8))
    n_rows = draw(st.integers(1, 5))
    quantity = st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.0, 3.0, 7.0])
    source = np.array(
        [[draw(quantity) for _ in range(len(KEYS))] for _ in range(n_rows)], dtype=np.float64
    )
    n_paths = draw(st.integers(1, 3))
    rows = np.array(
        [[draw(st.integers(0, n_rows - 1)) for _ in range(n_hours)] for _ in range(n_paths)],
        dtype=np.int32,
    )
    trend_kind = draw(st.sampled_from(["none", "shared", "per_key"]))
    trend = None
    if trend_kind == "shared":  # one factor per hour: merged columns keep their trend
        trend = np.repeat(np.linspace(1.0, 1.5, n_hours)[:, None], len(KEYS), axis=1)
    elif trend_kind == "per_key":
        growth = np.array([draw(st.sampled_from([-0.3, 0.0, 0.5])) for _ in range(len(KEYS))])
        trend = 1.0 + np.outer(np.arange(n_hours) / 8.0, growth)
    paths = UsagePaths(hours(n_hours), KEYS, source, rows, trend)
    items: list[Commitment] = []
    for index in range(draw(st.integers(0, 4))):
        choice = draw(st.integers(0, 2))
        ident = f"c{index}"
        if choice == 0:
            t, p = draw(st.sampled_from(list(ON_DEMAND)))
            items.append(ri(t, draw(st.integers(1, 3)), platform=p, ident=ident,
                            hours=draw(st.integers(1, 10))))  # fmt: skip
        elif choice == 1:
            items.append(savings_plan(draw(st.sampled_from([0.05, 0.1, 0.3])), ident=ident,
                                      start_hour=draw(st.integers(0, 3))))  # fmt: skip
        else:
            items.append(savings_plan(draw(st.sampled_from([0.05, 0.2])), ident=ident,
                                      kind="ec2_instance_savings_plan",
                                      family=draw(st.sampled_from(["m5", "c5"]))))  # fmt: skip
    return paths, items, draw(st.booleans()), draw(st.booleans())


@settings(max_examples=30, deadline=None)
@given(path_cases())
def test_every_path_equals_its_unreduced_simulation(
    case: tuple[UsagePaths, list[Commitment], bool, bool],
) -> None:
    """Unique hours and merged keys change no total: each path equals simulate() on it, with
    and without owner accounts (which keep accounts apart)."""
    paths, items, share, with_owners = case
    owners = {item.id: "bbb" for item in items[::2]} if with_owners else {}
    owned = [
        Commitment(**{f.name: getattr(i, f.name) for f in fields(i)} | {"account_id": o})
        for i, o in ((item, owners.get(item.id)) for item in items)
    ]
    result = monte_carlo(paths, owned, CATALOG, share_across_accounts=share)
    assert result.reduction.unique_hours <= result.reduction.path_hours
    assert result.reduction.columns <= result.reduction.keys
    for index in range(paths.n_paths):
        expected = simulate(paths.path(index), owned, CATALOG, share_across_accounts=share)
        assert_path_equals_simulation(result.paths.iloc[index], expected.totals)


def _merge(items: list[Commitment], *, owners: bool) -> tuple[pd.DataFrame, KeyMerge]:
    keys = priced_keys(KEYS, CATALOG)
    built = build_portfolio(items, hours(2), CATALOG)
    pools, _ = build_pools(built.instruments, keys, CATALOG)
    merge = merge_keys(
        pools,
        keys["on_demand_usd_per_hour"].to_numpy(),
        keys["normalization_factor"].to_numpy(),
        keys["account_id"].to_numpy(dtype=object) if owners else None,
        np.ones(len(keys), dtype=np.bool_),
    )
    return keys, merge


def test_merged_columns_on_a_known_case() -> None:
    """Without owner accounts: the m5 Linux sizes of both accounts are one column in normalized
    units, the Windows m5.large of both another, and the c5.large no pool covers a third."""
    items = [ri("m5.large", 2, ident="r"), savings_plan(0.1, kind="ec2_instance_savings_plan",
                                                         family="m5", ident="s")]  # fmt: skip
    keys, merge = _merge(items, owners=False)
    assert merge.n_columns == 3
    linux = keys.index[(keys["platform"] == LINUX) & keys["instance_type"].str.startswith("m5")]
    assert len(set(merge.column[linux])) == 1
    np.testing.assert_array_equal(merge.scale[linux], [4.0, 8.0, 16.0] * 2)
    assert merge.od_rates[merge.column[linux[0]]] == pytest.approx(0.096 / 4)
    ri_pool = merge.pools[0]
    assert ri_pool.weight[ri_pool.order].tolist() == [1.0]  # one unit per normalized unit
    # with owners, accounts matter: the pools interleave the accounts' equal keys, so only
    # each account's uncovered key (c5.large) would merge with others of its account
    _, owned = _merge(items, owners=True)
    accounts = keys["account_id"].to_numpy()
    for column in range(owned.n_columns):
        assert len(set(accounts[owned.column == column])) == 1


def test_percentiles_are_monotone_and_summarise_the_paths() -> None:
    rng = np.random.default_rng(0)
    source = rng.uniform(0, 6, size=(24, len(KEYS)))
    rows = rng.integers(0, 24, size=(40, 48)).astype(np.int32)
    paths = UsagePaths(hours(48), KEYS, source, rows)
    items = [ri("m5.2xlarge", 1), savings_plan(0.4, ident="sp")]
    result = monte_carlo(paths, items, CATALOG)
    table = result.percentiles((5, 25, 50, 75, 95))
    assert list(table.index) == list(METRICS)
    values = table[["P5", "P25", "P50", "P75", "P95"]].to_numpy()
    assert (np.diff(values, axis=1) >= 0).all()
    savings = result.paths["savings_vs_on_demand_usd"]
    assert table.loc["savings_vs_on_demand_usd", "P50"] == pytest.approx(savings.median())
    assert table.loc["savings_vs_on_demand_usd", "mean"] == pytest.approx(savings.mean())
    assert savings.std() > 0  # the paths differ
    summary = result.summary()
    assert summary["path_count"] == 40
    assert float(str(summary["p5_savings_vs_on_demand_usd"])) <= float(
        str(summary["p95_savings_vs_on_demand_usd"])
    )
    with pytest.raises(ValueError, match="between 0 and 100"):
        result.percentiles((5, 101))


def test_probability_of_paying_more_than_on_demand() -> None:
    rng = np.random.default_rng(1)
    source = rng.uniform(0, 4, size=(10, len(KEYS)))
    rows = rng.integers(0, 10, size=(20, 24)).astype(np.int32)
    paths = UsagePaths(hours(24), KEYS, source, rows)
    none = monte_carlo(paths, [], CATALOG)
    assert none.worse_than_on_demand_pct == 0.0
    np.testing.assert_allclose(none.paths["savings_vs_on_demand_usd"], 0.0, atol=1e-9)
    assert (none.paths["utilization_pct"] == 100.0).all()
    idle = UsagePaths(hours(24), KEYS, np.zeros((10, len(KEYS))), rows)
    waste = monte_carlo(idle, [savings_plan(0.5), ri("m5.large", 3, ident="r")], CATALOG)
    assert waste.status == MonteCarloStatus.NO_USAGE
    assert waste.worse_than_on_demand_pct == 100.0
    assert (waste.paths["utilization_pct"] == 0.0).all()
    assert waste.paths["savings_vs_on_demand_usd"].to_numpy() == pytest.approx(
        -waste.commitment_cost_usd
    )


def test_week_bootstrap_bills_each_distinct_hour_once() -> None:
    """Paths made of whole weeks of a 3-week source, with a per-key trend: at most 3 distinct
    rows per hour, whatever the number of paths."""
    rng = np.random.default_rng(2)
    week = 168
    source = rng.uniform(0, 5, size=(3 * week, len(KEYS)))
    t = np.arange(2 * week)
    weeks = rng.integers(0, 3, size=(30, 2))
    rows = (weeks[:, t // week] * week + t % week).astype(np.int32)
    trend = 1.0 + np.outer(t / len(t), rng.uniform(-0.2, 0.4, len(KEYS)))
    paths = UsagePaths(hours(2 * week), KEYS, source, rows, trend)
    items = [ri("m5.xlarge", 2), savings_plan(0.3, ident="sp")]
    result = monte_carlo(paths, items, CATALOG)
    assert result.reduction.unique_hours <= 3 * 2 * week
    for index in (0, 17, 29):
        expected = simulate(paths.path(index), items, CATALOG)
        assert_path_equals_simulation(result.paths.iloc[index], expected.totals)


def test_progress_reports_the_distinct_hours() -> None:
    seen: list[tuple[int, int | None]] = []
    usage = UsageMatrix(hours(5), KEYS, np.ones((5, len(KEYS))))
    monte_carlo(UsagePaths.from_matrices([usage]), [savings_plan(0.1)], CATALOG,
                progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert seen[-1] == (5, 5)
