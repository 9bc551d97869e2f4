"""The labelled block builder (optimizer/blocks.py) and the models built with it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest

from optimizer.blocks import ModelBuilder
from optimizer.cvar import cvar, define_cvar
from optimizer.full_lp import build_full_lp, solve_exact
from optimizer.problem import CommitmentProblem
from optimizer.solvers import SolveStatus, solve
from tests.optimizer.tiny import random_problem, random_tiny_problem


def test_blocks_keep_their_offsets_and_masks() -> None:
    builder = ModelBuilder()
    x = builder.add_variables("x", 2, lower=[1.0, 0.0], upper=5.0, cost=[1.0, 2.0])
    y = builder.add_variables("y", 3, cost=-1.0, integer=True)
    assert (x.start, x.size, y.start, y.stop) == (0, 2, 2, 5)
    # Declared over 4 rows, of which rows 1 and 3 exist; entries on rows 0 and 2 are dropped.
    cap = builder.add_constraints(
        "cap",
        [y.terms([0, 1, 3, 3], [0, 1, 2, 2], [9.0, 1.0, 1.0, 2.0]), x.terms([1, 2], [0, 1], -1.0)],
        upper=np.array([10.0, 20.0, 30.0, 40.0]),
        mask=np.array([False, True, False, True]),
    )
    assert cap.index.tolist() == [1, 3] and cap.row_of.tolist() == [-1, 0, -1, 1]
    total = builder.add_constraints("total", [x.diagonal(2.0)], size=2, lower=0.0)
    assert (total.start, total.stop) == (2, 4)
    program = builder.to_program(offset=7.0)
    assert program.matrix.toarray().tolist() == [
        [-1.0, 0.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 3.0],  # duplicates add up
        [2.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 2.0, 0.0, 0.0, 0.0],
    ]
    assert program.row_upper.tolist() == [20.0, 40.0, np.inf, np.inf]
    assert program.row_lower.tolist() == [-np.inf, -np.inf, 0.0, 0.0]
    assert program.objective.tolist() == [1.0, 2.0, -1.0, -1.0, -1.0]
    assert program.col_lower.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert program.integrality is not None and program.integrality.tolist() == [0, 0, 1, 1, 1]
    assert program.offset == 7.0 and program.column_names is None
    assert program.matrix.has_canonical_format
    rows = builder.rows([y.terms([0], [2], 4.0), x.terms([1], [1], 5.0)], 2)
    assert rows.toarray().tolist() == [[0, 0, 0, 0, 4.0], [0, 5.0, 0, 0, 0]]
    assert builder.block("y") == y and builder.family("cap") == cap


def test_names_are_asked_for_only_when_named() -> None:
    builder = ModelBuilder()
    x = builder.add_variables("x", 2, names=lambda: ["a", "b"])
    builder.add_constraints("row", [x.terms([0, 0], [0, 1], 1.0)], size=1, names=lambda: ["r"])
    program = builder.to_program(named=True)
    assert program.column_names == ("a", "b") and program.row_names == ("r",)
    builder.add_variables("w", 1)
    assert builder.to_program().column_names is None
    with pytest.raises(ValueError, match="'w' has no names"):
        builder.to_program(named=True)


def test_define_cvar_is_the_cvar_of_the_scenario_costs() -> None:
    # Scenario costs are fixed numbers: the model's optimum is λ CVaR_α of them.
    costs = np.array([3.0, 10.0, 4.0, 8.0])
    probability = np.array([0.1, 0.2, 0.3, 0.4])
    builder = ModelBuilder()
    define_cvar(builder, [], costs, probability, alpha=0.7, weight=2.0)
    solution = solve(builder.to_program(), solver="scipy")
    assert solution.status is SolveStatus.OPTIMAL
    assert solution.objective_value == pytest.approx(2.0 * cvar(costs, probability, 0.7))


def test_define_cvar_losses_only_is_the_cvar_of_the_positive_part() -> None:
    # η ≥ 0 turns the term into CVaR of max(cost, 0): checked against the closed form, and
    # it differs from the plain CVaR when the tail holds negative costs.
    costs = np.array([-3.0, 10.0, -4.0, 2.0, -1.0])
    probability = np.full(5, 0.2)
    builder = ModelBuilder()
    define_cvar(builder, [], costs, probability, alpha=0.6, weight=2.0, losses_only=True)
    solution = solve(builder.to_program(), solver="scipy")
    assert solution.status is SolveStatus.OPTIMAL
    # the worst 40 % of max(cost, 0): 10 and 2, mean 6
    assert solution.objective_value == pytest.approx(2.0 * 6.0)
    assert cvar(costs, probability, 0.6) == pytest.approx(6.0)
    assert cvar(costs, probability, 0.2) == pytest.approx((10 + 2 - 1 - 3) / 4)
    tail = ModelBuilder()
    define_cvar(tail, [], costs, probability, alpha=0.2, weight=1.0, losses_only=True)
    # the worst 80 % of (0, 10, 0, 2, 0): 10, 2 and two zeros
    assert solve(tail.to_program(), solver="scipy").objective_value == pytest.approx(3.0)


def _policies(problem: CommitmentProblem) -> CommitmentProblem:
    return dataclasses.replace(problem, coverage_lower=0.3, coverage_upper=0.8, min_utilization=0.5)


def _cvar(problem: CommitmentProblem) -> CommitmentProblem:
    return dataclasses.replace(problem, cvar_weight=0.3, cvar_alpha=0.9)


# Optima of the full LP as built by hand-computed offsets before the block builder (the new
# build gives the same matrix, bounds and costs byte for byte on these problems).
HAND_BUILT_OPTIMA: list[tuple[str, Callable[[], CommitmentProblem], float]] = [
    (
        "tiny_cvar_owned",
        lambda: random_tiny_problem(1, n_scenarios=2, owned=True, cvar_weight=0.5),
        45.9420948141943,
    ),
    ("tiny_unnested", lambda: random_tiny_problem(2, nested=False), 46.2970541410481),
    ("families", lambda: random_problem(48, 9, 0), 311.3414793948997),
    ("families_policies", lambda: _policies(random_problem(48, 9, 0)), 317.994809462538),
    ("families_cvar", lambda: _cvar(random_problem(48, 9, 1)), 362.3081164581485),
]


@pytest.mark.parametrize(
    ("name", "make", "optimum"), HAND_BUILT_OPTIMA, ids=[case[0] for case in HAND_BUILT_OPTIMA]
)
def test_full_lp_optimum_as_before_the_builder(
    name: str, make: Callable[[], CommitmentProblem], optimum: float
) -> None:
    problem = make()
    result = solve_exact(problem)
    assert result.objective_usd == pytest.approx(optimum, rel=1e-9), name


def test_merged_pools_give_the_same_program_size_or_less() -> None:
    problem = random_problem(48, 9, 0)
    plain = build_full_lp(problem, names=False)
    merged = build_full_lp(problem, names=False, merge_pools=True)
    assert merged.program.n_columns <= plain.program.n_columns
    a = solve(plain.program, solver="scipy").objective_value
    b = solve(merged.program, solver="scipy").objective_value
    assert a == pytest.approx(b, rel=1e-9)
