"""AWS's fill order, implemented once: capacity applied to usage in a fixed order, every hour.

A commitment (or a pool of them) covers the usage it may cover in a fixed order of items (keys,
or the optimizer's columns): each item takes ``min(its need, the capacity left)``, where the need
is the item's usage × its *weight* (the capacity one unit of usage takes: normalized units, one
instance, or the Savings Plans rate [USD]). Over items in order this is the clipped cumulative
sum of :func:`fill_in_order`::

    take_j = clip(C − Σ_{i<j} need_i, 0, need_j)          covered_j = take_j ÷ weight_j

Two forms of that one rule, for two layouts of the same figures:

* :func:`fill_segments`, items × hours, many pools at once: each pool's items form one segment
  of consecutive rows, filled by the pool's capacity with one cumulative sum down the rows (the
  optimizer's allocation, whose pools of one :class:`Stage` cover disjoint columns);
  :func:`fill_stages` applies the stages in order to a residual demand, and
  :func:`stage_prices` is the stage's step of the reverse (dual) pass;
* :func:`walk_keys`, one pool over keys × hours rows: key by key, each step vectorised over all
  hours, stopping once the capacity is spent in every hour (the simulator's engine, which needs
  each key's coverage as it goes; a cumulative sum along the key axis of a keys × hours array
  strides through memory and measured 12× slower).

Both give :func:`fill_in_order`'s result (tests/billing/test_fill.py checks them against each
other and against a per-hour reference).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]

CHECK_EVERY: Final = 16
"""Keys :func:`walk_keys` fills between checks for a spent capacity."""


@dataclass(frozen=True, eq=False)
class Stage:
    """Pools (greedy units) with pairwise disjoint columns, filled together.

    Segment ``u`` (rows ``starts[u]:starts[u+1]``) lists unit ``units[u]``'s columns in fill
    order.

    Attributes
    ----------
    units
        The units (pools) of the stage.
    columns
        Their columns, unit after unit, each unit's in fill order.
    ratios
        Weight of each column for its unit [capacity units per unit of demand].
    segment
        Position in ``units`` of each column's unit.
    starts
        First row of each unit's segment.
    single
        Every unit has one column.
    """

    units: IndexArray
    columns: IndexArray
    ratios: FloatArray
    segment: IndexArray
    starts: IndexArray
    single: bool


def fill_segments(
    arriving: FloatArray,
    ratios: FloatArray,
    capacity: FloatArray,
    starts: IndexArray,
    segment: IndexArray,
    *,
    single: bool = False,
) -> FloatArray:
    """The greedy fill of each segment of rows by its capacity, every period at once.

    Parameters
    ----------
    arriving
        Items × periods: demand of each item, segments of consecutive rows in fill order
        [demand units].
    ratios
        Weight of each item [capacity units per demand unit] (> 0).
    capacity
        Segments × periods: capacity of each segment [capacity units].
    starts
        First row of each segment.
    segment
        Segment of each row.
    single
        Every segment has one row (a shortcut, same result).

    Returns
    -------
    numpy.ndarray
        Items × periods: covered demand, ``min(arriving, max(C − need before the item in its
        segment, 0) ÷ ratio)`` [demand units].
    """
    weights = ratios[:, None]
    if single:
        covered: FloatArray = np.minimum(arriving, capacity / weights)
        return covered
    need = arriving * weights
    before = np.cumsum(need, axis=0)
    before -= need
    before -= before[starts][segment]
    available = capacity[segment] - before
    np.maximum(available, 0.0, out=available)
    covered = np.minimum(arriving, available / weights)
    return covered


def fill_in_order(demand: FloatArray, capacity: FloatArray) -> FloatArray:
    """Greedy fill of ``demand`` columns, left to right, by each hour's ``capacity``.

    The reference form of a pool's fill (:func:`fill_segments` with one segment and weight 1).

    Parameters
    ----------
    demand
        hours × keys, in the order the keys are served [capacity units].
    capacity
        Capacity of each hour [capacity units].

    Returns
    -------
    numpy.ndarray
        Covered demand, same shape: ``clip(capacity − demand before the key, 0, demand)``.
    """
    n_keys = demand.shape[1]
    if n_keys == 0:
        return np.zeros(demand.shape)
    covered = fill_segments(
        np.asarray(demand, dtype=np.float64).T,
        np.ones(n_keys),
        np.asarray(capacity, dtype=np.float64)[None, :],
        np.zeros(1, dtype=np.intp),
        np.zeros(n_keys, dtype=np.intp),
    )
    return np.ascontiguousarray(covered.T)


def fill_stages(
    residual: FloatArray, capacity: FloatArray, stages: tuple[Stage, ...]
) -> Iterator[tuple[Stage, FloatArray, FloatArray]]:
    """Apply ``stages`` in order to ``residual`` (columns × periods, updated in place).

    Parameters
    ----------
    residual
        Columns × periods: demand left [demand units]; each stage's columns are reduced by what
        it covered before the next stage runs.
    capacity
        Units × periods: capacity of each unit [capacity units].
    stages
        The stages, in application order.

    Yields
    ------
    tuple
        ``(stage, covered, left)``: the stage, then its columns' covered and remaining demand
        (rows in ``stage.columns`` order) [demand units].
    """
    for stage in stages:
        arriving = residual[stage.columns]
        covered = fill_segments(
            arriving,
            stage.ratios,
            capacity[stage.units],
            stage.starts,
            stage.segment,
            single=stage.single,
        )
        left = arriving - covered
        residual[stage.columns] = left
        yield stage, covered, left


def stage_prices(stage: Stage, left: FloatArray, value: FloatArray) -> FloatArray:
    """One stage of the reverse (dual) pass: the stage's unit prices (units × periods) from
    what it left uncovered, and the values of its columns updated in ``value`` in place.

    A unit's price is set by its first column (in fill order) left uncovered: the value that
    column would have downstream, per unit of capacity; a unit that covers all it meets is free.
    """
    downstream = value[stage.columns]
    binding = left > 0.0
    if stage.single:
        value[stage.columns] = np.where(binding, downstream, 1.0)
        single_price: FloatArray = np.where(
            binding, (1.0 - downstream) / stage.ratios[:, None], 0.0
        )
        return single_price
    width = stage.columns.size
    position = np.where(binding, np.arange(width)[:, None], width)
    first = np.minimum.reduceat(position, stage.starts, axis=0)
    is_binding = first < width
    first = np.minimum(first, width - 1)
    at_margin = np.take_along_axis(downstream, first, axis=0)
    price: FloatArray = np.where(is_binding, (1.0 - at_margin) / stage.ratios[first], 0.0)
    candidate = 1.0 - stage.ratios[:, None] * price[stage.segment]
    value[stage.columns] = np.maximum(downstream, candidate)
    return price


def walk_keys(
    remaining: FloatArray, order: IndexArray, weight: FloatArray, capacity: FloatArray
) -> Iterator[tuple[int, FloatArray, FloatArray]]:
    """Fill keys × hours ``remaining`` rows, key by key in ``order``, by ``capacity``.

    Each step is vectorised over hours: ``take = min(row × weight, capacity left)``, then the
    row loses ``min(take ÷ weight, row)``. The walk stops early once the capacity is spent in
    every hour (checked every :data:`CHECK_EVERY` keys).

    Parameters
    ----------
    remaining
        Keys × hours: usage left [instance-hours]; updated in place.
    order
        Keys to fill, in order.
    weight
        Capacity one unit of each key's usage takes, per key [capacity units].
    capacity
        Capacity left in each hour [capacity units]; updated in place.

    Yields
    ------
    tuple
        ``(key, covered, take)`` after each key: its covered usage per hour [instance-hours]
        and the capacity it took [capacity units] (buffers reused by the next step: read them
        before resuming).
    """
    n_hours = remaining.shape[1]
    take = np.empty(n_hours)
    hours = np.empty(n_hours)
    for step, key in enumerate(order.tolist()):
        row = remaining[key]
        key_weight = float(weight[key])
        if key_weight == 1.0:  # row × 1 is the row and take ÷ 1 ≤ row: the same figures
            np.minimum(row, capacity, out=take)
            capacity -= take
            row -= take
            yield key, take, take
        else:
            np.multiply(row, key_weight, out=take)
            np.minimum(take, capacity, out=take)
            capacity -= take
            np.divide(take, key_weight, out=hours)
            np.minimum(hours, row, out=hours)
            row -= hours
            yield key, hours, take
        if step % CHECK_EVERY == CHECK_EVERY - 1 and not capacity.any():
            return


__all__ = [
    "CHECK_EVERY",
    "Stage",
    "fill_in_order",
    "fill_segments",
    "fill_stages",
    "stage_prices",
    "walk_keys",
]
