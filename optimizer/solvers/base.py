"""One small interface to every LP/MIP solver: a :class:`LinearProgram` in, a :class:`Solution`
out, with a :class:`SolveStatus` that is never silently "optimal".

The program is ``min c·x + offset`` subject to ``row_lower <= A x <= row_upper`` and
``col_lower <= x <= col_upper``, with optional integrality. ``A`` is a scipy CSC array built
vectorised by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from optimizer.status import SolveStatus

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class LinearProgram:
    """``min c·x + offset`` s.t. ``row_lower <= A x <= row_upper``, ``col_lower <= x <= col_upper``.

    Attributes
    ----------
    objective
        ``c``, one entry per column.
    matrix
        ``A``, rows × columns, ``scipy.sparse.csc_array``.
    row_lower, row_upper, col_lower, col_upper
        Bounds (``±inf`` for none).
    offset
        Constant added to the objective.
    integrality
        1 where the column must be integer, else 0 (``None``: all continuous).
    column_names, row_names
        Optional names, used when exporting the model for audit.
    """

    objective: FloatArray
    matrix: sp.csc_array
    row_lower: FloatArray
    row_upper: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    offset: float = 0.0
    integrality: npt.NDArray[np.int8] | None = None
    column_names: tuple[str, ...] | None = None
    row_names: tuple[str, ...] | None = None

    @property
    def n_columns(self) -> int:
        """Number of variables."""
        return int(self.objective.shape[0])

    @property
    def n_rows(self) -> int:
        """Number of constraints."""
        return int(self.row_lower.shape[0])


@dataclass(frozen=True, eq=False)
class Solution:
    """What a solver returned.

    Attributes
    ----------
    status
        :class:`SolveStatus`.
    message
        One readable line (the solver's own status text, and what to do when not optimal).
    objective_value
        ``c·x + offset`` at ``x`` (``nan`` when there is no point).
    x
        Primal values (empty when there is no point).
    row_duals
        Dual value of each row (empty when the solver gives none, e.g. for a MIP).
    solver
        Backend name (``"highs"``, ``"glop"``, ``"pdlp"``, ``"cbc"``, …).
    seconds
        Wall time of the solve [s].
    iterations
        Simplex / interior-point / first-order iterations, when known.
    """

    status: SolveStatus
    message: str
    objective_value: float
    x: FloatArray
    row_duals: FloatArray = field(default_factory=lambda: np.zeros(0))
    solver: str = ""
    seconds: float = 0.0
    iterations: int | None = None


__all__ = ["FloatArray", "LinearProgram", "Solution", "SolveStatus"]
