"""What a solution method returns: the units to buy, the bound on how far from optimal, status."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optimizer.problem import FloatArray
from optimizer.status import OptimizationStatus


@dataclass(frozen=True, eq=False)
class OptimizationResult:
    """A plan in the problem's units, with its certificate.

    Attributes
    ----------
    status
        :class:`OptimizationStatus`.
    message
        One readable line.
    units
        Units bought of each offer (``CommitmentProblem.offers`` order) [units].
    objective_usd
        Model objective of ``units`` (expected cost + risk term, constants included) [USD].
    lower_bound_usd, upper_bound_usd
        Certified bounds on the optimal objective [USD]; equal to ``objective_usd`` for an
        exact solve.
    method
        ``"exact-lp"``, ``"exact-mip"``, ``"cutting-planes"``, …
    solver
        Backend used.
    seconds
        Wall time [s].
    iterations
        Master iterations (cutting planes) or solver iterations.
    offer_marginal_usd
        Marginal saving of one more unit of each offer over the horizon [USD per unit]
        (from duals or subgradients; positive means buying more would save).
    expected_cost_usd
        Expected cost over the scenarios without the risk term [USD].
    scenario_cost_usd
        Cost of each scenario [USD].
    resume
        What the cutting planes keep to re-solve the same problem with other offer bounds
        (:class:`optimizer.cutting_planes.CutState`; ``None`` for other methods).
    """

    status: OptimizationStatus
    message: str
    units: FloatArray
    objective_usd: float
    lower_bound_usd: float
    upper_bound_usd: float
    method: str
    solver: str
    seconds: float
    iterations: int
    offer_marginal_usd: FloatArray = field(default_factory=lambda: np.zeros(0))
    expected_cost_usd: float = float("nan")
    scenario_cost_usd: FloatArray = field(default_factory=lambda: np.zeros(0))
    resume: object | None = field(default=None, compare=False, repr=False)

    @property
    def relative_gap(self) -> float:
        """(upper − lower) ÷ |upper| [1]; 0 for an exact solve."""
        if not np.isfinite(self.upper_bound_usd) or not np.isfinite(self.lower_bound_usd):
            return float("inf")
        return (self.upper_bound_usd - self.lower_bound_usd) / max(abs(self.upper_bound_usd), 1e-9)


__all__ = ["OptimizationResult", "OptimizationStatus"]
