"""The CVaR term of the objective, once: its linearisation (:func:`define_cvar`) and its value.

Both the full LP (:mod:`optimizer.full_lp`) and the cutting-plane master
(:mod:`optimizer.cutting_planes`) add it with :func:`define_cvar`; docs/optimizer.md, equation
(R1), writes it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from optimizer.blocks import ConstraintBlock, ModelBuilder, Terms, VariableBlock
from optimizer.problem import CommitmentProblem, FloatArray


@dataclass(frozen=True)
class CvarBlocks:
    """The CVaR variables and rows of a model.

    Attributes
    ----------
    eta
        ``cvar_eta``: the value at risk [USD].
    excess
        ``cvar_z[s]``: each scenario's cost above ``cvar_eta`` [USD].
    scenario_cost
        The rows ``scenario_cost(s)``.
    """

    eta: VariableBlock
    excess: VariableBlock
    scenario_cost: ConstraintBlock


def define_cvar(
    builder: ModelBuilder,
    cost_terms: Sequence[Terms],
    cost_constant: FloatArray,
    probability: FloatArray,
    *,
    alpha: float,
    weight: float,
    losses_only: bool = False,
) -> CvarBlocks:
    """Add ``λ (η + Σ_s p_s z_s ÷ (1 − α))`` with ``z_s ≥ cost_s − η``, ``z ≥ 0``: equation (R1).

    With ``losses_only`` the value at risk is bounded below by 0 (``η ≥ 0``), which makes the
    term the CVaR of ``max(cost_s, 0)`` exactly: the VaR of a quantity that is never negative is
    never negative, and for ``η ≥ 0``, ``(max(cost, 0) − η)⁺ = (cost − η)⁺``.

    Parameters
    ----------
    builder
        The model.
    cost_terms
        The linear part of each scenario's cost (family rows = scenarios) [USD].
    cost_constant
        The constant part of each scenario's cost [USD].
    probability
        Scenario probabilities ``p_s``.
    alpha, weight
        The CVaR level ``α`` and its weight ``λ`` in the objective.
    losses_only
        Measure only positive costs (``CommitmentProblem.cvar_losses_only``).

    Returns
    -------
    CvarBlocks
        The blocks (named ``cvar_eta``, ``cvar_z(s)``, ``scenario_cost(s)``); the rows read
        ``η + z_s − linear cost_s ≥ constant cost_s``.
    """
    n_scenarios = int(probability.shape[0])
    scenarios = np.arange(n_scenarios)
    eta = builder.add_variables(
        "cvar_eta",
        1,
        lower=0.0 if losses_only else -np.inf,
        cost=weight,
        names=lambda: ["cvar_eta"],
    )
    excess = builder.add_variables(
        "cvar_z",
        n_scenarios,
        cost=weight * probability / (1 - alpha),
        names=lambda: [f"cvar_z({s})" for s in scenarios],
    )
    negated = [Terms(t.block, t.row, t.column, -t.value) for t in cost_terms]
    rows = builder.add_constraints(
        "scenario_cost",
        [*negated, eta.terms(scenarios, np.zeros(n_scenarios), 1.0), excess.diagonal()],
        lower=np.asarray(cost_constant, dtype=np.float64),
        upper=np.inf,
        names=lambda: [f"scenario_cost({s})" for s in scenarios],
    )
    return CvarBlocks(eta, excess, rows)


def cvar(costs: FloatArray, probability: FloatArray, alpha: float) -> float:
    """Conditional value at risk of scenario costs at level ``alpha`` [USD].

    ``min_η η + Σ p_s (cost_s − η)⁺ ÷ (1 − α)``, whose minimum lies at a scenario's cost.
    """
    eta = np.asarray(costs, dtype=np.float64)
    excess = np.maximum(eta[None, :] - eta[:, None], 0.0) @ probability
    return float(np.min(eta + excess / (1 - alpha)))


def cvar_weights(cost: FloatArray, probability: FloatArray, alpha: float) -> FloatArray:
    """Tail weights ``q`` with CVaR_α = q·cost (the worst 1 − α of the probability mass)."""
    tail = 1.0 - alpha
    order = np.argsort(-cost, kind="stable")
    mass = probability[order]
    before = np.cumsum(mass) - mass
    take = np.clip(tail - before, 0.0, mass)
    weights = np.zeros_like(cost)
    weights[order] = take / tail
    return weights


def risk_of(problem: CommitmentProblem, scenario_cost: FloatArray) -> tuple[float, FloatArray]:
    """The risk term's CVaR of ``scenario_cost`` as ``problem`` measures it, and its tail weights.

    Parameters
    ----------
    problem
        Gives the level, the reference (``risk_costs``) and whether only losses count
        (``cvar_losses_only``).
    scenario_cost
        Each scenario's cost [USD].

    Returns
    -------
    tuple[float, FloatArray]
        The CVaR [USD] and the weight of each scenario in it: the CVaR's subgradient with
        respect to the scenario costs (0 for a scenario whose loss is not positive when only
        losses count, as the CVaR does not change with it).
    """
    risk = problem.risk_costs(scenario_cost)
    if problem.cvar_losses_only:
        risk = np.maximum(risk, 0.0)
    tail = cvar_weights(risk, problem.scenario_probability, problem.cvar_alpha)
    if problem.cvar_losses_only:
        tail = np.where(risk > 0.0, tail, 0.0)
    return float(tail @ risk), tail


__all__ = ["CvarBlocks", "cvar", "cvar_weights", "define_cvar", "risk_of"]
