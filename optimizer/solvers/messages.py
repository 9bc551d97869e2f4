"""One readable line per solve outcome: what happened and what to do about it."""

from __future__ import annotations

from typing import Final

from core.errors import param
from optimizer.solvers.base import SolveStatus

ADVICE: Final = {
    SolveStatus.OPTIMAL: "optimal",
    SolveStatus.INFEASIBLE: (
        "infeasible: no purchase satisfies every constraint; the policy limits may contradict "
        "each other (e.g. a minimum coverage above what the budget or maximum commitment "
        "allows), loosen one of them"
    ),
    SolveStatus.UNBOUNDED: (
        "unbounded: the cost can fall without limit; an offer has a negative cost and no upper "
        "bound, check the prices and the offer bounds"
    ),
    SolveStatus.GAP_NOT_REACHED: (
        f"stopped with a plan whose certified gap is above the tolerance; raise "
        f"{param('time_limit_seconds')} or loosen {param('tolerance')}"
    ),
    SolveStatus.TIME_LIMIT: (
        f"stopped at the time limit before proving optimality; raise "
        f"{param('time_limit_seconds')} or loosen {param('tolerance')}"
    ),
    SolveStatus.ERROR: (
        f"the solver failed; try another {param('solver')}, or export the model (.mps/.lp) to "
        "inspect it"
    ),
}
"""What each :class:`SolveStatus` means for the user, and the remedy."""


def status_message(status: SolveStatus, solver: str, detail: str = "") -> str:
    """One line for a solve outcome.

    Parameters
    ----------
    status
        How the solve ended.
    solver
        Backend name.
    detail
        The solver's own status text (or what failed), shown in brackets.

    Examples
    --------
    >>> status_message(SolveStatus.OPTIMAL, "highs", "Optimal")
    'highs (Optimal): optimal'
    """
    detail = " ".join(str(detail).split())
    where = f"{solver} ({detail})" if detail else solver
    return f"{where}: {ADVICE[status]}"


__all__ = ["ADVICE", "status_message"]
