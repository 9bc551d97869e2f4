"""The incremental LP behind the cutting-plane master (optimizer/solvers/incremental.py)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from optimizer.blocks import ModelBuilder
from optimizer.solvers.incremental import open_incremental


@pytest.mark.parametrize("solver", ["highs", "scipy"])
def test_rows_come_and_go_between_solves(solver: str) -> None:
    # min −x − y over x + y ≤ 4, x, y ∈ [0, 3]; then a cut x ≤ 1; then the cut deleted.
    builder = ModelBuilder()
    xy = builder.add_variables("xy", 2, upper=3.0, cost=-1.0)
    builder.add_constraints("sum", [xy.terms([0, 0], [0, 1], 1.0)], size=1, upper=4.0)
    program = builder.to_program()
    lp, backend = open_incremental(program, solver)
    assert backend == solver
    first = lp.solve(program.col_lower, program.col_upper, None)
    assert first.status == "optimal" and first.objective == pytest.approx(-4.0)
    lp.add_rows(sp.csr_array(np.array([[0.0, 1.0]])), np.array([-np.inf]), np.array([1.0]))
    cut = lp.solve(program.col_lower, program.col_upper, None)
    assert cut.objective == pytest.approx(-4.0) and cut.x[1] == pytest.approx(1.0)
    assert cut.rows.shape == (2,)
    boxed = lp.solve(program.col_lower, np.array([2.0, 3.0]), None)
    assert boxed.objective == pytest.approx(-3.0)
    lp.delete_rows(np.array([0]))
    assert lp.solve(program.col_lower, program.col_upper, None).objective == pytest.approx(-4.0)
    lp.add_rows(sp.csr_array(np.array([[1.0, 0.0]])), np.array([5.0]), np.array([np.inf]))
    assert lp.solve(program.col_lower, program.col_upper, None).status == "infeasible"
