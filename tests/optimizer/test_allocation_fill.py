"""One fill order: the simulator's engine, the optimizer's allocation and the explanations bill a
plan alike, and as a per-period, per-pool pure-Python greedy does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.engine import Engine, Pool
from billing.portfolio import Instrument
from optimizer.allocation import evaluate, pool_allocation
from optimizer.problem import CommitmentProblem
from pricing.offerings import CommitmentKind
from tests.optimizer.tiny import make_problem, random_tiny_problem

FloatArray = npt.NDArray[np.float64]
TOLERANCE = {"rtol": 1e-9, "atol": 1e-12}


@dataclass(frozen=True)
class Billed:
    """A plan billed: periods × pools used capacity, periods × columns uncovered demand, and
    each pool's covered demand summed over periods."""

    used: FloatArray
    uncovered: FloatArray
    covered_total: FloatArray


def reference_bill(problem: CommitmentProblem, units: FloatArray) -> Billed:
    """AWS's rule, period by period, pool by pool (in ``order``), column by column (increasing
    coverage ratio, then column index), in plain Python."""
    coverage = problem.coverage.toarray().tolist()
    capacity = problem.pool_capacity(units).tolist()
    order = sorted(range(problem.n_pools), key=lambda pool: int(problem.pools["order"].iloc[pool]))
    used = [[0.0] * problem.n_pools for _ in range(problem.n_periods)]
    covered_total = [0.0] * problem.n_pools
    uncovered = problem.demand_usd.tolist()
    for period, left in enumerate(uncovered):
        for pool in order:
            ratios = coverage[pool]
            columns = sorted((r, j) for j, r in enumerate(ratios) if r > 0)
            spare = capacity[period][pool]
            for ratio, column in columns:
                take = min(left[column] * ratio, spare)
                spare -= take
                usd = min(take / ratio, left[column])
                left[column] -= usd
                used[period][pool] += take
                covered_total[pool] += usd
    return Billed(np.array(used), np.array(uncovered), np.array(covered_total))


@dataclass(frozen=True)
class _Stub:
    """What :class:`Engine` reads of an instrument when the capacity is given."""

    charged: FloatArray
    account_id: str | None = None
    effective_usd_per_hour: float = 1.0
    capacity: float = 1.0


def engine_bill(problem: CommitmentProblem, units: FloatArray, *, record: bool) -> Billed:
    """The simulator's engine on the problem: columns as keys, periods as hours, one instrument
    per pool with the pool's capacity, pools of one kind applied in ``order``."""
    capacity = problem.pool_capacity(units)
    coverage = problem.coverage.toarray()
    n_periods = problem.n_periods
    pools = []
    for pool in np.argsort(problem.pools["order"].to_numpy(), kind="stable"):
        ratios = coverage[pool]
        eligible = np.flatnonzero(ratios > 0)
        keys = eligible[np.lexsort((eligible, ratios[eligible]))].astype(np.intp)
        pools.append(
            Pool(
                CommitmentKind.RESERVED_INSTANCE,
                (int(pool),),
                keys,
                np.where(ratios > 0, ratios, 1.0),
            )
        )
    stubs = [_Stub(charged=np.ones(n_periods)) for _ in range(problem.n_pools)]
    engine = Engine(
        problem.demand_usd,
        cast(Sequence[Instrument], stubs),
        np.ones(problem.n_columns),
        np.zeros(1, dtype=np.intp),
        record=record,
        capacity=np.array(capacity.T, order="C"),
    )
    engine.run(pools, np.full(problem.n_columns, "payer", dtype=object), share=True)
    covered_total = np.zeros(problem.n_pools)
    for piece in engine.pieces:
        covered_total[piece.members] += piece.member_hours.sum(axis=1)
    return Billed(capacity - engine.left.T, engine.remaining.T, covered_total)


def assert_same_bill(problem: CommitmentProblem, units: FloatArray) -> None:
    expected = reference_bill(problem, units)
    evaluation = evaluate(problem, units)
    capacity, used, covered = pool_allocation(problem, units)
    np.testing.assert_allclose(capacity, problem.pool_capacity(units))
    recorded = engine_bill(problem, units, record=True)
    for billed_used, billed_covered in (
        (evaluation.used_capacity, evaluation.covered_usd.sum(axis=0)),
        (used, covered.sum(axis=0)),
        (recorded.used, recorded.covered_total),
    ):
        np.testing.assert_allclose(billed_used, expected.used, **TOLERANCE)
        np.testing.assert_allclose(billed_covered, expected.covered_total, **TOLERANCE)
    # some pools only, in another order (the explanations ask for the bought offers' pools)
    some = np.arange(problem.n_pools)[::-2]
    some_capacity, some_used, some_covered = pool_allocation(problem, units, some)
    np.testing.assert_allclose(some_capacity, capacity[:, some], **TOLERANCE)
    np.testing.assert_allclose(some_used, expected.used[:, some], **TOLERANCE)
    np.testing.assert_allclose(some_covered, covered[:, some], **TOLERANCE)
    np.testing.assert_allclose(evaluation.uncovered_usd, expected.uncovered, **TOLERANCE)
    np.testing.assert_allclose(recorded.uncovered, expected.uncovered, **TOLERANCE)
    totals = engine_bill(problem, units, record=False)
    # the engine's two uses of the walk (with and without the record) are the same figures
    np.testing.assert_array_equal(totals.uncovered, recorded.uncovered)
    np.testing.assert_array_equal(totals.used, recorded.used)


RATIOS = st.sampled_from([0.0, 0.0, 0.0, 0.5, 0.7, 1.0]) | st.floats(0.05, 2.0)
AMOUNTS = st.sampled_from([0.0, 0.5, 1.0, 2.5]) | st.floats(0.0, 4.0)


@st.composite
def billing_cases(draw: st.DrawFn) -> tuple[CommitmentProblem, FloatArray]:
    """A problem of a few periods, columns and overlapping pools (ties of ratio, repeated
    single-column pools), with owned capacity, and a plan."""
    n_periods = draw(st.integers(1, 4))
    n_columns = draw(st.integers(1, 5))
    n_pools = draw(st.integers(1, 6))
    demand = np.array(
        draw(st.lists(AMOUNTS, min_size=n_periods * n_columns, max_size=n_periods * n_columns))
    )
    coverage = np.array(
        draw(st.lists(RATIOS, min_size=n_pools * n_columns, max_size=n_pools * n_columns))
    )
    coverage = coverage.reshape(n_pools, n_columns)
    for pool in range(n_pools):  # every pool covers something
        if not coverage[pool].any():
            coverage[pool, draw(st.integers(0, n_columns - 1))] = draw(st.sampled_from([0.5, 1.0]))
    owned = np.array(draw(st.lists(AMOUNTS, min_size=n_pools, max_size=n_pools))) * 0.5
    units = np.array(draw(st.lists(AMOUNTS, min_size=n_pools, max_size=n_pools)))
    problem = make_problem(
        demand.reshape(n_periods, n_columns),
        coverage,
        list(range(n_pools)),
        [0.5] * n_pools,
        owned_capacity=owned,
    )
    return problem, units


@settings(max_examples=150, deadline=None)
@given(billing_cases())
def test_engine_allocation_and_explain_bill_as_the_rule(
    case: tuple[CommitmentProblem, FloatArray],
) -> None:
    assert_same_bill(*case)


def test_disjoint_pools_filled_in_one_stage_bill_as_the_rule() -> None:
    # two pools over disjoint pairs of columns, then one over all: the first two share a stage
    demand = np.array([[1.0, 2.0, 0.5, 3.0], [0.0, 1.5, 2.0, 0.25], [4.0, 4.0, 4.0, 4.0]])
    coverage = np.array(
        [[0.5, 0.8, 0.0, 0.0], [0.0, 0.0, 0.9, 0.6], [0.7, 0.7, 0.7, 0.7]]
    )  # fmt: skip
    problem = make_problem(demand, coverage, [0, 1, 2], [0.5, 0.5, 0.5])
    for units in ([1.0, 1.0, 1.0], [0.6, 2.5, 0.3], [10.0, 0.0, 10.0]):
        assert_same_bill(problem, np.array(units))


def test_random_tiny_problems_bill_as_the_rule() -> None:
    for seed in range(6):
        for options in ({}, {"n_scenarios": 3, "cvar_weight": 0.5}, {"owned": True}):
            problem = random_tiny_problem(seed, **options)
            units = np.random.default_rng(seed).uniform(0.0, 3.0, problem.n_offers)
            assert_same_bill(problem, units)
