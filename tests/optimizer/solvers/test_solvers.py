"""Solver backends: hand-solved optima and duals, infeasible / unbounded / integer programs,
time limits, agreement between every backend, the highspy / ortools clash, model export and
the errors a user can meet.

The pytest process loads highspy (highs, and pulp imports it), so here glop and pdlp run in a
child process; ``ortools_checks`` runs them in a fresh process where they load first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.errors import CommitoptInputError
from optimizer.solvers import (
    SOLVERS,
    LinearProgram,
    SolverNotInstalledError,
    SolveStatus,
    UnsupportedProgramError,
    available_solvers,
    dispatch,
    export_model,
    isolation,
    solve,
    status_message,
)
from optimizer.solvers.common import max_violation
from optimizer.solvers.highs_backend import IPM_MIN_NONZEROS, choose_method, model_names
from tests.optimizer.solvers import problems
from tests.optimizer.solvers.ortools_checks import SEEDS

REPOSITORY = Path(__file__).resolve().parents[3]
IN_PROCESS = ("highs", "scipy", "cbc")
"""Backends that run in the pytest process."""


def relative_gap(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(a), abs(b))


# ----------------------------------------------------------------------------- hand-solved


@pytest.mark.parametrize("solver", IN_PROCESS)
def test_two_variable_lp_optimum_and_duals_by_hand(solver: str) -> None:
    solution = solve(problems.two_variable_lp(), solver=solver)
    assert solution.status is SolveStatus.OPTIMAL
    assert solution.solver == solver
    assert solution.objective_value == pytest.approx(problems.TWO_VARIABLE_OBJECTIVE, abs=1e-9)
    np.testing.assert_allclose(solution.x, problems.TWO_VARIABLE_X, atol=1e-9)
    np.testing.assert_allclose(solution.row_duals, problems.TWO_VARIABLE_DUALS, atol=1e-9)
    assert solution.message == f"{solution.message.split(':')[0]}: optimal"
    assert solution.seconds > 0


@pytest.mark.parametrize("solver", IN_PROCESS)
def test_equality_and_ranged_rows(solver: str) -> None:
    solution = solve(problems.equality_and_range_lp(), solver=solver)
    assert solution.status is SolveStatus.OPTIMAL
    assert solution.objective_value == pytest.approx(problems.EQUALITY_RANGE_OBJECTIVE, abs=1e-9)
    np.testing.assert_allclose(solution.x, problems.EQUALITY_RANGE_X, atol=1e-9)
    np.testing.assert_allclose(solution.row_duals, problems.EQUALITY_RANGE_DUALS, atol=1e-9)


@pytest.mark.parametrize("solver", IN_PROCESS)
def test_infeasible_lp(solver: str) -> None:
    solution = solve(problems.infeasible_lp(), solver=solver)
    assert solution.status is SolveStatus.INFEASIBLE
    assert solution.x.size == 0 and solution.row_duals.size == 0
    assert np.isnan(solution.objective_value)
    assert "policy limits may contradict" in solution.message
    assert "\n" not in solution.message


@pytest.mark.parametrize("solver", IN_PROCESS)
def test_unbounded_lp(solver: str) -> None:
    solution = solve(problems.unbounded_lp(), solver=solver)
    assert solution.status is SolveStatus.UNBOUNDED
    assert solution.x.size == 0
    assert "unbounded" in solution.message


@pytest.mark.parametrize("solver", IN_PROCESS)
def test_integer_optimum_differs_from_relaxation(solver: str) -> None:
    program = problems.integer_program()
    solution = solve(program, solver=solver)
    assert solution.status is SolveStatus.OPTIMAL
    assert solution.objective_value == pytest.approx(problems.INTEGER_OBJECTIVE, abs=1e-9)
    np.testing.assert_allclose(solution.x, problems.INTEGER_X, atol=1e-9)
    assert solution.row_duals.size == 0  # no duals for a MIP
    relaxed = solve(_relaxed(program), solver=solver)
    assert relaxed.objective_value == pytest.approx(problems.RELAXATION_OBJECTIVE, abs=1e-9)
    np.testing.assert_allclose(relaxed.x, (3.0, 1.5), atol=1e-9)


def _relaxed(program: LinearProgram) -> LinearProgram:
    return LinearProgram(
        objective=program.objective,
        matrix=program.matrix,
        row_lower=program.row_lower,
        row_upper=program.row_upper,
        col_lower=program.col_lower,
        col_upper=program.col_upper,
        offset=program.offset,
    )


def test_program_without_columns() -> None:
    feasible = problems.program([], [[], []], [-1, -np.inf], [0, 2], [], [], offset=4.0)
    assert solve(feasible).status is SolveStatus.OPTIMAL
    assert solve(feasible).objective_value == 4.0
    infeasible = problems.program([], [[]], [1], [2], [], [])
    assert solve(infeasible).status is SolveStatus.INFEASIBLE


# ----------------------------------------------------------------------------- time limits


@pytest.mark.parametrize("solver", ("highs", "scipy"))
def test_time_limit_on_a_large_lp_is_not_optimal(solver: str) -> None:
    program = problems.allocation_lp(1000, 50)  # 150 k columns, about 20 s to optimality
    solution = solve(program, solver=solver, time_limit_seconds=0.3)
    assert solution.status is SolveStatus.TIME_LIMIT
    assert "raise `time_limit_seconds`" in solution.message
    assert solution.seconds < 10
    if solution.x.size:  # a point is only returned when feasible
        assert max_violation(program, solution.x) <= 1e-6


@pytest.mark.parametrize("solver", IN_PROCESS)
def test_time_limit_on_a_hard_mip_keeps_a_feasible_point(solver: str) -> None:
    program = problems.market_split_mip()
    solution = solve(program, solver=solver, time_limit_seconds=0.5)
    assert solution.status is SolveStatus.TIME_LIMIT  # pulp itself would say "Optimal"
    assert solution.x.size == program.n_columns
    assert max_violation(program, solution.x) <= 1e-6
    assert solution.objective_value == pytest.approx(program.objective @ solution.x)
    assert solution.seconds < 10


# ----------------------------------------------------------------------------- agreement


@pytest.mark.parametrize("seed", SEEDS)
def test_every_in_process_backend_and_method_agrees(seed: int) -> None:
    program = problems.random_feasible_lp(seed)
    reference = solve(program, solver="highs", method="simplex")
    assert reference.status is SolveStatus.OPTIMAL
    others = [
        solve(program, solver="highs", method="ipm"),
        solve(program, solver="scipy", method="simplex"),
        solve(program, solver="scipy", method="ipm"),
        solve(program, solver="cbc"),
    ]
    for other in others:
        assert other.status is SolveStatus.OPTIMAL
        assert relative_gap(other.objective_value, reference.objective_value) <= 1e-6
        assert max_violation(program, other.x) <= 1e-6


@pytest.fixture(scope="module")
def ortools_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """glop and pdlp solved in a fresh process where ortools loads first."""
    folder = tmp_path_factory.mktemp("ortools")
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(REPOSITORY), environment.get("PYTHONPATH", "")) if part
    )
    completed = subprocess.run(
        [sys.executable, "-m", "tests.optimizer.solvers.ortools_checks", str(folder)],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("solver", ("glop", "pdlp"))
def test_ortools_backends_in_their_own_process(
    ortools_results: dict[str, Any], solver: str
) -> None:
    assert not ortools_results["highspy_loaded_at_start"]
    assert ortools_results["in_process"][solver]
    results = ortools_results[solver]
    two = results["two_variable"]
    assert two["status"] == "optimal"
    assert two["objective"] == pytest.approx(problems.TWO_VARIABLE_OBJECTIVE, abs=1e-8)
    np.testing.assert_allclose(two["x"], problems.TWO_VARIABLE_X, atol=1e-7)
    np.testing.assert_allclose(two["duals"], problems.TWO_VARIABLE_DUALS, atol=1e-7)
    ranged = results["equality_range"]
    np.testing.assert_allclose(ranged["duals"], problems.EQUALITY_RANGE_DUALS, atol=1e-7)
    assert results["infeasible"]["status"] == "infeasible"
    assert results["unbounded"]["status"] == "unbounded"
    assert results["time_limit"]["status"] == "time_limit"
    assert "raise `time_limit_seconds`" in results["time_limit"]["message"]
    assert "linear programs only" in results["integer_error"]
    for seed in SEEDS:
        program = problems.random_feasible_lp(seed)
        reference = solve(program, solver="highs")
        outcome = results[f"random_{seed}"]
        assert outcome["status"] == "optimal"
        assert relative_gap(outcome["objective"], reference.objective_value) <= 1e-6
        assert max_violation(program, np.array(outcome["x"])) <= 1e-6


def test_highs_and_export_run_in_a_child_once_ortools_is_loaded(
    ortools_results: dict[str, Any],
) -> None:
    assert ortools_results["ortools_loaded"]
    assert not ortools_results["highs_in_process_after"]
    assert not ortools_results["highspy_loaded_at_end"]  # highs ran in a child process
    reference = solve(problems.random_feasible_lp(0), solver="highs")
    after = ortools_results["highs_after"]
    assert after["status"] == "optimal"
    assert after["objective"] == pytest.approx(reference.objective_value, rel=1e-9)
    assert "COLUMNS" in ortools_results["export_text"]
    assert "buy_1" in ortools_results["export_text"]


def test_highs_then_glop_and_pdlp_then_highs_in_one_process() -> None:
    program = problems.random_feasible_lp(3)
    first = solve(program, solver="highs")
    assert isolation.library_loaded("highspy")
    glop = solve(program, solver="glop")  # would fail on import here: runs in a child
    pdlp = solve(program, solver="pdlp")
    last = solve(program, solver="highs")
    assert not isolation.library_loaded("ortools")
    for solution in (first, glop, pdlp, last):
        assert solution.status is SolveStatus.OPTIMAL
        assert relative_gap(solution.objective_value, first.objective_value) <= 1e-6
    assert (glop.solver, pdlp.solver) == ("glop", "pdlp")
    np.testing.assert_allclose(glop.row_duals, first.row_duals, atol=1e-6)


def test_errors_raised_in_the_child_are_raised_again() -> None:
    with pytest.raises(UnsupportedProgramError, match="linear programs only"):
        isolation.run_in_child(
            "glop",
            problems.integer_program(),
            time_limit_seconds=None,
            method="auto",
            threads=None,
        )


def test_child_past_its_time_limit_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(isolation, "CHILD_GRACE_SECONDS", 0.0)
    solution = isolation.run_in_child(
        "glop", problems.two_variable_lp(), time_limit_seconds=0.05, method="auto", threads=None
    )
    assert solution.status is SolveStatus.TIME_LIMIT
    assert "killed" in solution.message


# ----------------------------------------------------------------------------- options


def test_auto_method_by_size() -> None:
    program = problems.two_variable_lp()
    assert choose_method(program, "auto") == "simplex"
    assert choose_method(program, "ipm") == "ipm"
    assert IPM_MIN_NONZEROS > 1_000_000


def test_thread_counts_can_change_between_solves() -> None:
    program = problems.random_feasible_lp(1)
    values = [solve(program, threads=count).objective_value for count in (2, 1, 2)]
    assert max(values) - min(values) <= 1e-9 * abs(values[0])


def test_repeated_solves_are_identical() -> None:
    program = problems.random_feasible_lp(2)
    first, second = solve(program), solve(program)
    np.testing.assert_array_equal(first.x, second.x)


# ----------------------------------------------------------------------------- export


@pytest.mark.parametrize("suffix", (".mps", ".lp"))
def test_export_round_trip(tmp_path: Path, suffix: str) -> None:
    import highspy

    program = problems.random_feasible_lp(0)
    named = problems.two_variable_lp()
    for lp, name in ((program, "random"), (named, "named")):
        target = export_model(lp, tmp_path / f"{name}{suffix}")
        assert target.is_file()
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        assert highs.readModel(str(target)) != highspy.HighsStatus.kError
        ranged = np.isfinite(lp.row_lower) & np.isfinite(lp.row_upper)
        ranged &= lp.row_lower < lp.row_upper
        # The LP format writes a ranged row as two rows.
        rows = lp.n_rows + (int(ranged.sum()) if suffix == ".lp" else 0)
        assert (highs.getNumCol(), highs.getNumRow()) == (lp.n_columns, rows)
        highs.run()
        value = highs.getInfo().objective_function_value
        assert value == pytest.approx(solve(lp).objective_value, rel=1e-9)
    assert "buy_0" in (tmp_path / f"named{suffix}").read_text()
    assert "limit_1" in (tmp_path / f"named{suffix}").read_text()
    assert sorted(path.name for path in tmp_path.iterdir()) == [f"named{suffix}", f"random{suffix}"]


def test_export_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "model.lp"
    target.write_text("old")
    export_model(problems.two_variable_lp(), target)
    assert "old" not in target.read_text()
    assert [path.name for path in tmp_path.iterdir()] == ["model.lp"]


@pytest.mark.parametrize("name", ("model.txt", "model", "missing/model.mps"))
def test_export_rejects_bad_targets(tmp_path: Path, name: str) -> None:
    with pytest.raises(CommitoptInputError, match=r"\.lp or \.mps|does not exist"):
        export_model(problems.two_variable_lp(), tmp_path / name)


def test_model_names_are_made_valid_and_unique() -> None:
    assert model_names(("a b", "a_b", "c\td")) == ["a_b", "a_b#1", "c_d"]


# ----------------------------------------------------------------------------- user errors


def test_unknown_solver_lists_the_valid_names() -> None:
    with pytest.raises(CommitoptInputError, match="unknown solver 'gurobi'") as caught:
        solve(problems.two_variable_lp(), solver="gurobi")
    for name in SOLVERS:
        assert name in str(caught.value)


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"method": "barrier"}, "unknown LP method"),
        ({"time_limit_seconds": 0}, "positive number of seconds"),
        ({"time_limit_seconds": float("nan")}, "positive number of seconds"),
        ({"threads": 0}, "at least 1"),
    ],
)
def test_bad_options(options: dict[str, Any], pattern: str) -> None:
    with pytest.raises(CommitoptInputError, match=pattern):
        solve(problems.two_variable_lp(), **options)


@pytest.mark.parametrize("solver", ("glop", "pdlp"))
def test_lp_only_solvers_reject_integer_programs(solver: str) -> None:
    with pytest.raises(UnsupportedProgramError, match="use `solver` highs, scipy, cbc"):
        solve(problems.integer_program(), solver=solver)


def test_mismatched_arrays_are_named() -> None:
    program = problems.two_variable_lp()
    broken = LinearProgram(
        objective=program.objective[:1],
        matrix=program.matrix,
        row_lower=program.row_lower,
        row_upper=program.row_upper,
        col_lower=program.col_lower,
        col_upper=program.col_upper,
    )
    with pytest.raises(ValueError, match="objective has shape"):
        solve(broken)


@pytest.mark.parametrize(
    ("solver", "module", "command"),
    [
        ("highs", "highspy", "pip install highspy"),
        ("scipy", "scipy.optimize", "pip install scipy"),
        ("glop", "ortools.linear_solver.python.model_builder_helper", "pip install ortools"),
        ("pdlp", "ortools.linear_solver.python.model_builder_helper", "pip install ortools"),
        ("cbc", "pulp", "pip install pulp"),
    ],
)
def test_solver_not_installed_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, solver: str, module: str, command: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    monkeypatch.setattr(dispatch, "can_run_in_process", lambda name: True)
    with pytest.raises(SolverNotInstalledError, match=command) as caught:
        solve(problems.two_variable_lp(), solver=solver)
    assert isinstance(caught.value, CommitoptInputError)


def test_available_solvers(monkeypatch: pytest.MonkeyPatch) -> None:
    assert available_solvers() == SOLVERS  # all are dependencies of commitopt
    monkeypatch.setitem(sys.modules, "pulp", None)
    assert "cbc" not in available_solvers()


def test_not_installed_error_survives_pickling() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(SolverNotInstalledError("cbc", "no binary")))
    assert isinstance(error, SolverNotInstalledError)
    assert "pip install pulp" in str(error) and "no binary" in str(error)


def test_every_status_has_one_line() -> None:
    for status in SolveStatus:
        line = status_message(status, "highs", "detail\nwith a break")
        assert "\n" not in line and line.startswith("highs (detail with a break): ")
    assert "`time_limit_seconds`" in status_message(SolveStatus.TIME_LIMIT, "cbc")
    assert "`tolerance`" in status_message(SolveStatus.TIME_LIMIT, "cbc")
