"""The billing kernel's fill order: each form against a per-hour, per-item pure-Python fill."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.fill import CHECK_EVERY, Stage, fill_in_order, fill_segments, fill_stages, walk_keys

FloatArray = npt.NDArray[np.float64]

AMOUNTS = st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5, 3.0]) | st.floats(0.0, 5.0)
WEIGHTS = st.sampled_from([0.3, 0.5, 0.75, 1.0, 2.0]) | st.floats(0.05, 4.0)


def reference_fill(
    demand: list[list[float]], weight: list[float], order: list[int], capacity: list[float]
) -> list[list[float]]:
    """AWS's rule, hour by hour and item by item: covered demand, hours × items."""
    covered = [[0.0] * len(weight) for _ in demand]
    for hour, row in enumerate(demand):
        left = capacity[hour]
        for item in order:
            take = min(row[item] * weight[item], left)
            left -= take
            covered[hour][item] = min(take / weight[item], row[item])
    return covered


@st.composite
def pools(draw: st.DrawFn) -> tuple[FloatArray, FloatArray, list[int], FloatArray]:
    """Demand (hours × items), weights, a fill order over some items and hourly capacity."""
    n_hours = draw(st.integers(1, 5))
    n_items = draw(st.integers(1, 40))
    demand = np.array(
        draw(st.lists(AMOUNTS, min_size=n_hours * n_items, max_size=n_hours * n_items))
    )
    weight = np.array(draw(st.lists(WEIGHTS, min_size=n_items, max_size=n_items)))
    order = draw(st.permutations(range(n_items)))[: draw(st.integers(0, n_items))]
    capacity = np.array(draw(st.lists(AMOUNTS, min_size=n_hours, max_size=n_hours))) * 4.0
    return demand.reshape(n_hours, n_items), weight, list(order), capacity


def expected_covered(
    demand: FloatArray, weight: FloatArray, order: list[int], capacity: FloatArray
) -> FloatArray:
    return np.array(reference_fill(demand.tolist(), weight.tolist(), order, capacity.tolist()))


@settings(max_examples=100, deadline=None)
@given(pools())
def test_walk_keys_is_the_fill_rule(
    case: tuple[FloatArray, FloatArray, list[int], FloatArray],
) -> None:
    demand, weight, order, capacity = case
    remaining = np.array(demand.T, order="C")
    left = capacity.copy()
    steps = {
        key: (covered.copy(), take.copy())
        for key, covered, take in walk_keys(
            remaining, np.asarray(order, dtype=np.intp), weight, left
        )
    }
    expected = expected_covered(demand, weight, order, capacity)
    np.testing.assert_allclose(demand - remaining.T, expected, rtol=1e-12, atol=1e-12)
    for key, (covered, take) in steps.items():
        np.testing.assert_allclose(covered, expected[:, key], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(take, expected[:, key] * weight[key], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        capacity - left, (expected * weight).sum(axis=1), rtol=1e-9, atol=1e-12
    )
    # the early exit only skips keys whose capacity is spent in every hour
    for key in set(order) - set(steps):
        assert np.all(left == 0.0) and not expected[:, key].any()


def test_walk_keys_goes_on_while_some_hour_has_capacity() -> None:
    # 40 keys (more than CHECK_EVERY): hour 0 has no capacity, hour 1 covers every key
    demand = np.full((2, 40), 0.5)
    weight = np.linspace(0.5, 1.5, 40)
    order = list(range(40))[::-1]
    capacity = np.array([0.0, 100.0])
    remaining = np.array(demand.T, order="C")
    left = capacity.copy()
    walked = [key for key, _, _ in walk_keys(remaining, np.asarray(order, np.intp), weight, left)]
    assert walked == order
    np.testing.assert_allclose(remaining.T, [[0.5] * 40, [0.0] * 40])
    np.testing.assert_allclose(left, [0.0, 100.0 - 0.5 * weight.sum()])
    # once every hour's capacity is spent, the walk stops at the next check
    remaining = np.array(demand.T, order="C")
    left = np.array([0.0, 1.0])
    walked = [key for key, _, _ in walk_keys(remaining, np.asarray(order, np.intp), weight, left)]
    assert len(walked) == CHECK_EVERY


@settings(max_examples=100, deadline=None)
@given(pools())
def test_fill_segments_of_one_pool_is_the_fill_rule(
    case: tuple[FloatArray, FloatArray, list[int], FloatArray],
) -> None:
    demand, weight, order, capacity = case
    if not order:
        return
    columns = np.asarray(order, dtype=np.intp)
    covered = fill_segments(
        np.ascontiguousarray(demand[:, columns].T),
        weight[columns],
        capacity[None, :],
        np.zeros(1, dtype=np.intp),
        np.zeros(columns.size, dtype=np.intp),
        single=columns.size == 1,
    )
    expected = expected_covered(demand, weight, order, capacity)[:, columns]
    np.testing.assert_allclose(covered.T, expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(pools())
def test_fill_in_order_is_the_fill_rule_at_weight_one(
    case: tuple[FloatArray, FloatArray, list[int], FloatArray],
) -> None:
    demand, _, order, capacity = case
    columns = np.asarray(order, dtype=np.intp)
    covered = fill_in_order(demand[:, columns], capacity)
    expected = expected_covered(demand, np.ones(demand.shape[1]), order, capacity)[:, columns]
    np.testing.assert_allclose(covered, expected, rtol=1e-12, atol=1e-12)


@st.composite
def stages(draw: st.DrawFn) -> tuple[FloatArray, FloatArray, list[list[int]], FloatArray]:
    """Demand (hours × items), weights, pools over disjoint items (a stage), their capacity."""
    demand, weight, order, _ = draw(pools())
    n_hours = demand.shape[0]
    cuts = sorted(draw(st.sets(st.integers(1, max(len(order) - 1, 1)), max_size=4)))
    groups = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True)]
    groups = [group for group in groups if group]
    capacity = (
        np.array(
            draw(st.lists(AMOUNTS, min_size=n_hours * len(groups), max_size=n_hours * len(groups)))
        ).reshape(len(groups), n_hours)
        * 4.0
    )
    return demand, weight, groups, capacity


@settings(max_examples=100, deadline=None)
@given(stages())
def test_a_stage_fills_each_pool_by_the_rule(
    case: tuple[FloatArray, FloatArray, list[list[int]], FloatArray],
) -> None:
    demand, weight, groups, capacity = case
    if not groups:
        return
    columns = np.concatenate([np.asarray(group, dtype=np.intp) for group in groups])
    lengths = np.array([len(group) for group in groups])
    stage = Stage(
        units=np.arange(len(groups), dtype=np.intp),
        columns=columns,
        ratios=weight[columns],
        segment=np.repeat(np.arange(len(groups)), lengths).astype(np.intp),
        starts=np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.intp),
        single=bool((lengths == 1).all()),
    )
    residual = np.array(demand.T, order="C")
    ((_, covered, left),) = list(fill_stages(residual, capacity, (stage,)))
    expected = np.zeros_like(demand)
    for group, pool_capacity in zip(groups, capacity, strict=True):
        expected[:, group] = expected_covered(demand, weight, group, pool_capacity)[:, group]
    np.testing.assert_allclose(covered.T, expected[:, columns], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(left + covered, demand[:, columns].T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(residual.T, demand - expected, rtol=1e-12, atol=1e-12)
