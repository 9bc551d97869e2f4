"""``Workspace.load_usage_matrix`` against ``to_matrix(Workspace.load_usage(...))``.

The oracle is the pandas path: the long table :meth:`Workspace.load_usage` returns, turned into a
matrix by :func:`usage.table.to_matrix`. Both must agree on the hours, the keys (and their order)
and every cell, under each filter, with replaced rows, rows of two scopes in one cell, gaps of
whole hours and keys with only zero usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from commitopt.imports import import_usage
from commitopt.workspace import UsageSource, Workspace
from usage.synthetic import demo_usage
from usage.table import USAGE_SCHEMA, UsageMatrix, to_matrix


class _Counts:
    rows_kept = 0
    rows_excluded = 0


def _assert_same(got: UsageMatrix, expected: UsageMatrix) -> None:
    pd.testing.assert_index_equal(got.hours, expected.hours)
    pd.testing.assert_frame_equal(got.keys, expected.keys)
    np.testing.assert_array_equal(got.quantity, expected.quantity)
    assert got.daily_granular == expected.daily_granular


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Ten days of demo usage, a re-import of day 3 (replacing rows), a gap and a zero key."""
    folder = tmp_path_factory.mktemp("matrix")
    usage = demo_usage(hours=24 * 10).astype(USAGE_SCHEMA)
    hours = usage["hour"]
    usage = usage[(hours < "2024-01-05T00:00Z") | (hours >= "2024-01-05T06:00Z")]  # a gap
    one_key = usage[(usage[list(usage.columns[1:6])] == usage.iloc[0, 1:6]).all(axis=1)]
    zero = one_key.iloc[:3].assign(instance_type="t3.nano", quantity=0.0)
    usage = pd.concat([usage, zero], ignore_index=True)
    with Workspace.open(folder / "ws.duckdb") as store:
        import_usage(
            store, usage, period_start=usage["hour"].min(),
            period_end=usage["hour"].max() + pd.Timedelta(hours=1),
            source=UsageSource("canonical"), report=_Counts(),
        )  # fmt: skip
        day = usage[(usage["hour"] >= "2024-01-03T00:00Z") & (usage["hour"] < "2024-01-04T00:00Z")]
        import_usage(
            store, day.assign(quantity=day["quantity"] * 2), period_start="2024-01-03",
            period_end="2024-01-04", source=UsageSource("canonical"), report=_Counts(),
        )  # fmt: skip
        # a second scope in the same cells (the ledger keeps scopes apart; insert directly)
        store.insert_usage_rows(day.iloc[:5].assign(quantity=1.25), "other-scope", 99)
    with Workspace.open(folder / "ws.duckdb", read_only=True) as store:
        yield store


FILTERS: dict[str, dict[str, Any]] = {
    "everything": {},
    "a period": {"start": "2024-01-02T05:00Z", "end": "2024-01-07"},
    "one family": {"families": ["m5"]},
    "platform alias": {"platforms": ["linux"]},
    "one region": {"regions": ["us-east-1"]},
    "one scope": {"scopes": [""]},
    "an account": {"accounts": ["111111111111", "222222222222"]},
    "nothing": {"regions": ["ap-south-2"]},
}


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_matrix_equals_to_matrix_of_load_usage(workspace: Workspace, name: str) -> None:
    expected = to_matrix(workspace.load_usage(**FILTERS[name]))
    got = workspace.load_usage_matrix(**FILTERS[name])
    _assert_same(got, expected)


def test_the_matrix_sums_scopes_and_skips_replaced_rows(workspace: Workspace) -> None:
    matrix = workspace.load_usage_matrix()
    stored = workspace.execute(
        "SELECT sum(quantity) FROM usage_hourly WHERE replaced_by IS NULL"
    ).fetchall()[0][0]
    assert matrix.total_instance_hours == pytest.approx(float(stored), rel=1e-12)
    assert len(matrix.hours) == 24 * 10 and (matrix.keys["instance_type"] == "t3.nano").any()


def test_an_empty_workspace_gives_an_empty_matrix(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws.duckdb") as store:
        _assert_same(store.load_usage_matrix(), to_matrix(store.load_usage()))
