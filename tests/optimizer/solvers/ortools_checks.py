"""Run the OR-Tools backends in a fresh process, where they load first, and print the results
as JSON. Used by ``test_solvers.py`` (its pytest process has highspy loaded, so there glop and
pdlp always run in a child process; this covers the in-process path and the way back: highs
and the model export running in a child once ortools is loaded).

``python -m tests.optimizer.solvers.ortools_checks OUTPUT_FOLDER``
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from optimizer.solvers import (
    LinearProgram,
    Solution,
    UnsupportedProgramError,
    can_run_in_process,
    export_model,
    solve,
)
from optimizer.solvers.isolation import library_loaded
from tests.optimizer.solvers import problems

SEEDS = (0, 1, 2)


def summary(solution: Solution) -> dict[str, Any]:
    """A JSON-ready view of a solution."""
    value = solution.objective_value
    return {
        "status": str(solution.status),
        "objective": None if math.isnan(value) else value,
        "x": solution.x.tolist(),
        "duals": solution.row_duals.tolist(),
        "seconds": solution.seconds,
        "message": solution.message,
    }


def checked_programs() -> dict[str, LinearProgram]:
    """The programs every solver is checked on."""
    programs = {
        "two_variable": problems.two_variable_lp(),
        "equality_range": problems.equality_and_range_lp(),
        "infeasible": problems.infeasible_lp(),
        "unbounded": problems.unbounded_lp(),
    }
    programs.update({f"random_{seed}": problems.random_feasible_lp(seed) for seed in SEEDS})
    return programs


def main(folder: Path) -> dict[str, Any]:
    """Solve with glop and pdlp here, then highs and an export after them."""
    results: dict[str, Any] = {
        "highspy_loaded_at_start": library_loaded("highspy"),
        "in_process": {name: can_run_in_process(name) for name in ("glop", "pdlp")},
    }
    programs = checked_programs()
    large = problems.allocation_lp(300, 50)
    for solver in ("glop", "pdlp"):
        outcome = {name: summary(solve(lp, solver=solver)) for name, lp in programs.items()}
        outcome["time_limit"] = summary(solve(large, solver=solver, time_limit_seconds=0.2))
        try:
            solve(problems.integer_program(), solver=solver)
            outcome["integer_error"] = ""
        except UnsupportedProgramError as error:
            outcome["integer_error"] = str(error)
        results[solver] = outcome
    results["ortools_loaded"] = library_loaded("ortools")
    results["highs_in_process_after"] = can_run_in_process("highs")
    results["highs_after"] = summary(solve(programs["random_0"], solver="highs"))
    target = export_model(problems.two_variable_lp(), folder / "after_ortools.mps")
    results["export_text"] = target.read_text()
    results["highspy_loaded_at_end"] = library_loaded("highspy")
    return results


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
