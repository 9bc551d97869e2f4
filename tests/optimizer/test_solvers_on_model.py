"""Every solver backend agrees on the commitment model's optimum to 1e-6 relative, in one process
(highspy and OR-Tools cannot share one; the solver layer isolates whichever comes second)."""

from __future__ import annotations

import pytest

from optimizer.full_lp import solve_exact
from optimizer.result import OptimizationStatus
from optimizer.solvers import available_solvers
from tests.optimizer.tiny import random_tiny_problem, solve_lp

SOLVER_ORDER = ("highs", "glop", "pdlp", "cbc", "scipy", "highs")


@pytest.mark.parametrize("seed", [3, 11])
def test_all_solvers_agree_on_the_model(seed: int) -> None:
    problem = random_tiny_problem(seed, n_periods=12, n_scenarios=2, owned=True, consistent=True)
    reference = solve_lp(problem).objective_usd
    installed = set(available_solvers())
    for solver in SOLVER_ORDER:
        if solver not in installed:
            continue
        result = solve_exact(problem, solver=solver)
        assert result.status is OptimizationStatus.OPTIMAL, (solver, result.message)
        assert result.objective_usd == pytest.approx(reference, rel=1e-6), solver


def test_integer_model_agrees_across_mip_solvers() -> None:
    problem = random_tiny_problem(5, n_periods=12, consistent=True)
    values = {
        solver: solve_exact(problem, solver=solver, integer=True).objective_usd
        for solver in ("highs", "cbc", "scipy")
        if solver in set(available_solvers())
    }
    assert len(values) >= 2
    first = next(iter(values.values()))
    assert all(v == pytest.approx(first, rel=1e-6) for v in values.values()), values
