"""The dispatcher: small or ``exact`` problems to the full LP, large ones to certified cutting
planes, policies the cutting planes cannot certify back to the full LP."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import optimizer.optimize as optimize_module
from optimizer.cvar import risk_of
from optimizer.optimize import allocation_cells, optimize
from optimizer.result import OptimizationStatus
from tests.optimizer.tiny import random_tiny_problem, solve_lp, with_loss_reference


@pytest.mark.parametrize("seed", range(4))
def test_small_problems_are_solved_exactly(seed: int) -> None:
    problem = random_tiny_problem(seed, n_periods=24, consistent=True)
    assert allocation_cells(problem) <= optimize_module.EXACT_SIZE_LIMIT
    result = optimize(problem)
    assert result.status is OptimizationStatus.OPTIMAL
    assert result.method.startswith("exact")
    assert result.objective_usd == pytest.approx(solve_lp(problem).objective_usd, rel=1e-7)


@pytest.mark.parametrize("seed", range(4))
def test_large_problems_get_a_certified_gap(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    problem = random_tiny_problem(seed, n_periods=48, consistent=True)
    monkeypatch.setattr(optimize_module, "EXACT_SIZE_LIMIT", 0)
    result = optimize(problem, tolerance=1e-3)
    assert result.method == "cutting-planes"
    exact = solve_lp(problem).objective_usd
    assert result.lower_bound_usd <= exact * (1 + 1e-9) + 1e-9
    assert result.upper_bound_usd >= exact * (1 - 1e-9) - 1e-9
    assert result.relative_gap <= 1e-3 + 1e-12


def test_min_utilization_falls_back_to_the_exact_lp(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = replace(random_tiny_problem(1, n_periods=48, consistent=True), min_utilization=0.9)
    monkeypatch.setattr(optimize_module, "EXACT_SIZE_LIMIT", 0)
    result = optimize(problem)
    assert result.method.startswith("exact")
    assert result.objective_usd == pytest.approx(solve_lp(problem).objective_usd, rel=1e-7)


def test_export_writes_the_full_model_whatever_the_method(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    problem = random_tiny_problem(2, n_periods=48, consistent=True)
    monkeypatch.setattr(optimize_module, "EXACT_SIZE_LIMIT", 0)
    path = tmp_path / "model.lp"
    result = optimize(problem, export_path=path)
    assert result.method == "cutting-planes"
    text = path.read_text()
    assert "minimize" in text.lower() or "min" in text.lower()
    assert np.isfinite(result.upper_bound_usd)


@pytest.mark.parametrize(("seed", "share", "calm"), [(5, 1.0, True), (6, 0.6, False)])
def test_a_risk_term_of_losses_only_is_left_out_while_nothing_loses(
    seed: int, share: float, calm: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Against 100 % of on-demand the optimum saves in every scenario: the solve without the
    # term is the solve (its master has no risk rows); against 60 % some scenario loses, and
    # the whole problem is solved. Both certified against the exact LP of the whole objective.
    problem = with_loss_reference(
        random_tiny_problem(
            seed, n_periods=16, n_scenarios=4, cvar_weight=1.0, cvar_alpha=0.5, consistent=True
        ),
        share,
    )
    monkeypatch.setattr(optimize_module, "EXACT_SIZE_LIMIT", 0)
    result = optimize(problem, tolerance=1e-6)
    exact = solve_lp(problem).objective_usd
    assert result.status is OptimizationStatus.OPTIMAL
    assert result.lower_bound_usd <= exact * (1 + 1e-9) + 1e-9
    assert result.objective_usd == pytest.approx(exact, rel=1e-5)
    risk, _ = risk_of(problem, result.scenario_cost_usd)
    assert (risk == 0.0) is calm
    master = result.resume.setup.problem  # type: ignore[union-attr]
    assert (master.cvar_weight == 0.0) is calm
    # a resumed solve with other bounds starts from the same kind of master
    again = optimize(problem, tolerance=1e-6, resume_from=result)
    assert again.objective_usd == pytest.approx(result.objective_usd, rel=1e-6)
    assert (again.resume.setup.problem.cvar_weight == 0.0) is calm  # type: ignore[union-attr]
