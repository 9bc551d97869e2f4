"""Test programs with known answers, shared by the solver tests and their fresh-process runner.

Each hand-solved program documents its optimum. ``random_feasible_lp`` and
``allocation_lp`` are seeded and vectorised.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from optimizer.solvers.base import LinearProgram

INF = np.inf


def program(
    objective: list[float],
    rows: list[list[float]],
    row_lower: list[float],
    row_upper: list[float],
    col_lower: list[float],
    col_upper: list[float],
    *,
    offset: float = 0.0,
    integer: list[int] | None = None,
    names: bool = False,
) -> LinearProgram:
    """A small dense program as a :class:`LinearProgram`."""
    n_rows, n_columns = len(rows), len(objective)
    return LinearProgram(
        objective=np.array(objective, dtype=np.float64),
        matrix=sp.csc_array(np.array(rows, dtype=np.float64).reshape(n_rows, n_columns)),
        row_lower=np.array(row_lower, dtype=np.float64),
        row_upper=np.array(row_upper, dtype=np.float64),
        col_lower=np.array(col_lower, dtype=np.float64),
        col_upper=np.array(col_upper, dtype=np.float64),
        offset=offset,
        integrality=None if integer is None else np.array(integer, dtype=np.int8),
        column_names=tuple(f"buy {index}" for index in range(n_columns)) if names else None,
        row_names=tuple(f"limit {index}" for index in range(n_rows)) if names else None,
    )


def two_variable_lp() -> LinearProgram:
    """min -x - 2y + 10 s.t. x + y <= 4, x - y >= -2, 0 <= x <= 3, 0 <= y <= 10.

    Both rows bind: y = x + 2 and x + y = 4 give x = 1, y = 3, objective -7 + 10 = 3.
    Duals (∂ objective / ∂ bound): raising the first row's upper bound by e moves the vertex to
    x = 1 + e/2, y = 3 + e/2, objective -1.5 e, dual -1.5; raising the second row's lower
    bound by e gives x = 1 + e/2, y = 3 - e/2, objective +0.5 e, dual 0.5.
    """
    return program(
        [-1, -2],
        [[1, 1], [1, -1]],
        [-INF, -2],
        [4, INF],
        [0, 0],
        [3, 10],
        offset=10.0,
        names=True,
    )


TWO_VARIABLE_X = (1.0, 3.0)
TWO_VARIABLE_OBJECTIVE = 3.0
TWO_VARIABLE_DUALS = (-1.5, 0.5)


def equality_and_range_lp() -> LinearProgram:
    """min x + 2y s.t. x + y = 2, 0.5 <= x - y <= 1, x, y >= 0.

    The range's upper bound binds: x = 1.5, y = 0.5, objective 2.5. With x + y = b and
    x - y = u the objective is 1.5 b - 0.5 u + ... so the duals are 1.5 (equality) and -0.5
    (range, at its upper bound).
    """
    return program([1, 2], [[1, 1], [1, -1]], [2, 0.5], [2, 1], [0, 0], [INF, INF])


EQUALITY_RANGE_X = (1.5, 0.5)
EQUALITY_RANGE_OBJECTIVE = 2.5
EQUALITY_RANGE_DUALS = (1.5, -0.5)


def infeasible_lp() -> LinearProgram:
    """x + y <= 1 and x + y >= 2: no point."""
    return program([1, 1], [[1, 1], [1, 1]], [-INF, 2], [1, INF], [0, 0], [INF, INF])


def unbounded_lp() -> LinearProgram:
    """min -x s.t. x - y <= 1, x, y >= 0: x = y -> inf lowers the objective without limit."""
    return program([-1, 0], [[1, -1]], [-INF], [1], [0, 0], [INF, INF])


def integer_program() -> LinearProgram:
    """min -5x - 4y s.t. 6x + 4y <= 24, x + 2y <= 6, x, y >= 0 integer.

    LP relaxation: x = 3, y = 1.5, objective -21. Integer optimum: (4, 0) with -20 (the other
    candidates: (3, 1) gives -19, (2, 2) gives -18; 5x + 4y = 20 has no other feasible
    integer point).
    """
    return program(
        [-5, -4], [[6, 4], [1, 2]], [-INF, -INF], [24, 6], [0, 0], [INF, INF], integer=[1, 1]
    )


INTEGER_X = (4.0, 0.0)
INTEGER_OBJECTIVE = -20.0
RELAXATION_OBJECTIVE = -21.0


def random_feasible_lp(seed: int, n_columns: int = 200, n_rows: int = 120) -> LinearProgram:
    """A bounded, feasible random LP: rows around ``A x0`` for a random ``x0`` in the box.

    Rows are a mix of ``<=``, ``>=``, ranged and equality rows; columns have finite lower
    bounds, and those with an infinite upper bound have a positive cost.
    """
    rng = np.random.default_rng(seed)
    matrix = sp.random_array(
        (n_rows, n_columns), density=0.05, rng=rng, data_sampler=rng.standard_normal
    ).tocsc()
    point = rng.uniform(0.0, 2.0, n_columns)
    activity = matrix @ point
    kind = rng.integers(0, 4, n_rows)  # 0: <=, 1: >=, 2: ranged, 3: equality
    kind[: n_rows // 20] = 3
    slack_low, slack_high = rng.uniform(0.1, 1.0, n_rows), rng.uniform(0.1, 1.0, n_rows)
    row_lower = np.where(np.isin(kind, (1, 2)), activity - slack_low, -INF)
    row_upper = np.where(np.isin(kind, (0, 2)), activity + slack_high, INF)
    row_lower = np.where(kind == 3, activity, row_lower)
    row_upper = np.where(kind == 3, activity, row_upper)
    col_upper = np.where(rng.random(n_columns) < 0.7, 3.0, INF)
    objective = rng.standard_normal(n_columns)
    objective = np.where(np.isinf(col_upper), np.abs(objective) + 0.1, objective)
    return LinearProgram(
        objective=objective,
        matrix=matrix,
        row_lower=row_lower,
        row_upper=row_upper,
        col_lower=np.zeros(n_columns),
        col_upper=col_upper,
        offset=100.0,
    )


def allocation_lp(periods: int, columns: int, seed: int = 0) -> LinearProgram:
    """A commitment-shaped LP (periods × pools allocation, as in docs/optimizer.md's model): one
    RI pool per column, an EC2-SP pool per group of 8 columns, one compute-SP pool; variables are
    the
    pools' capacities and the covered on-demand USD per (period, pool, column)."""
    rng = np.random.default_rng(seed)
    groups = max(1, columns // 8)
    group = rng.integers(0, groups, columns)
    every = np.arange(columns)
    pool = np.concatenate([every, columns + group, np.full(columns, columns + groups)])
    column = np.concatenate([every, every, every])
    ratio = np.concatenate(
        [
            rng.uniform(0.02, 0.2, columns),
            rng.uniform(0.65, 0.8, columns),
            rng.uniform(0.75, 0.9, columns),
        ]
    )
    n_pools, cells = columns + groups + 1, pool.shape[0]
    hours = np.arange(periods)
    demand = rng.lognormal(0, 1, columns)[None, :] * np.maximum(
        1 + 0.3 * np.sin(2 * np.pi * hours / 24)[:, None] + rng.normal(0, 0.2, (periods, columns)),
        0,
    )
    period = np.repeat(hours, cells)
    cell = np.tile(np.arange(cells), periods)
    covered = n_pools + np.arange(periods * cells)
    demand_row = period * columns + column[cell]
    capacity_row = periods * columns + period * n_pools + pool[cell]
    capacity_period = np.repeat(hours, n_pools)
    capacity_pool = np.tile(np.arange(n_pools), periods)
    rows = np.concatenate(
        [demand_row, capacity_row, periods * columns + capacity_period * n_pools + capacity_pool]
    )
    cols = np.concatenate([covered, covered, capacity_pool])
    values = np.concatenate([np.ones(covered.shape[0]), ratio[cell], -np.ones(periods * n_pools)])
    n_rows, n_columns = periods * (columns + n_pools), n_pools + periods * cells
    return LinearProgram(
        objective=np.concatenate(
            [periods * rng.uniform(0.9, 1.0, n_pools), -np.ones(periods * cells)]
        ),
        matrix=sp.csc_array((values, (rows, cols)), shape=(n_rows, n_columns)),
        row_lower=np.full(n_rows, -INF),
        row_upper=np.concatenate([demand.ravel(), np.zeros(periods * n_pools)]),
        col_lower=np.zeros(n_columns),
        col_upper=np.full(n_columns, INF),
        offset=float(demand.sum()),
    )


def market_split_mip(seed: int = 0, n_rows: int = 4, n_columns: int = 30) -> LinearProgram:
    """A market-split MIP (Cornuéjols & Dawande): binaries x with ``a_i·x + s_i+ - s_i- =
    floor(sum a_i / 2)``, minimize the slack. Tiny, easy to find incumbents for (x = 0), and
    notoriously slow for branch and bound to prove optimal at 10 (rows - 1) columns: a
    time-limit test."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(0, 100, (n_rows, n_columns)).astype(np.float64)
    target = np.floor(weights.sum(axis=1) / 2)
    slack = np.hstack([np.eye(n_rows), -np.eye(n_rows)])
    matrix = np.hstack([weights, slack])
    n_total = n_columns + 2 * n_rows
    return LinearProgram(
        objective=np.concatenate([np.zeros(n_columns), np.ones(2 * n_rows)]),
        matrix=sp.csc_array(matrix),
        row_lower=target,
        row_upper=target,
        col_lower=np.zeros(n_total),
        col_upper=np.concatenate([np.ones(n_columns), np.full(2 * n_rows, INF)]),
        integrality=np.concatenate(
            [np.ones(n_columns, dtype=np.int8), np.zeros(2 * n_rows, dtype=np.int8)]
        ),
    )
