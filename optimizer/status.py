"""The optimizer's one status vocabulary: how a solve, and the optimization around it, ended.

A solver backend (:mod:`optimizer.solvers`) returns every status but
:attr:`OptimizationStatus.GAP_NOT_REACHED`; the optimization (:class:`optimizer.result.
OptimizationResult`) reports every status but :attr:`OptimizationStatus.UNBOUNDED`, which a
well-posed commitment problem never is. The values are what JSON output prints.
"""

from __future__ import annotations

from enum import StrEnum


class OptimizationStatus(StrEnum):
    """How a solve or an optimization ended."""

    OPTIMAL = "optimal"
    """Solved exactly (``--exact``) or within the certified gap tolerance."""
    GAP_NOT_REACHED = "gap_not_reached"
    """Stopped (time or iteration limit) with a feasible plan whose certified gap is above the
    tolerance; the plan and its gap are returned."""
    INFEASIBLE = "infeasible"
    """The policy admits no plan; :attr:`OptimizationResult.message` names the binding limit."""
    UNBOUNDED = "unbounded"
    """The cost can fall without limit (a solver's answer to a malformed program)."""
    TIME_LIMIT = "time_limit"
    """Stopped at the time limit; a solver's ``x`` is the best feasible point if any, else empty;
    an optimization has no usable plan."""
    ERROR = "error"
    """The solver failed."""


SolveStatus = OptimizationStatus
"""The name the solver interface uses for :class:`OptimizationStatus` (the same enum)."""


__all__ = ["OptimizationStatus", "SolveStatus"]
