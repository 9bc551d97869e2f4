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
from optimizer.problem import FloatArray


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
) -> CvarBlocks:
    """Add ``λ (η + Σ_s p_s z_s ÷ (1 − α))`` with ``z_s ≥ cost_s − η``, ``z ≥ 0``: equation (R1).

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
    Returns
    -------
    CvarBlocks
        The blocks (named ``cvar_eta``, ``cvar_z(s)``, ``scenario_cost(s)``); the rows read
        ``η + z_s − linear cost_s ≥ constant cost_s``.
    """
    n_scenarios = int(probability.shape[0])
    scenarios = np.arange(n_scenarios)
    eta = builder.add_variables(
        "cvar_eta", 1, lower=-np.inf, cost=weight, names=lambda: ["cvar_eta"]
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


__all__ = ["CvarBlocks", "cvar", "define_cvar"]
