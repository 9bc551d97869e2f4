"""The import ledger against a brute-force model: random imports and removals on tiny histories.

The model keeps, for every (account, hour), the rows of the one import that counts there, and
replays the rules of :mod:`commitopt.imports` cell by cell in plain Python: an import takes over
the cells of its footprint that hold its own source (or any source, with ``--replace``), is
refused when another source holds one, and a removal gives each of its cells back to the latest
earlier import whose rows were there (unless a later import's footprint still covers it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commitopt.imports import UsageOverlapError, import_usage, list_imports, remove_import
from commitopt.workspace import UsageSource, Workspace
from usage.table import USAGE_SCHEMA

ACCOUNTS = ("111111111111", "222222222222")
HOURS = pd.date_range("2026-10-01T00:00Z", periods=6, freq="h")
START = HOURS[0]


@dataclass(frozen=True)
class Counts:
    rows_kept: int
    rows_excluded: int = 0


@dataclass(frozen=True)
class Step:
    """Import ``cells`` (account index, hour index) from ``kind``, or remove import ``remove``."""

    kind: str = ""
    cells: frozenset[tuple[int, int]] = frozenset()
    replace: bool = False
    remove: int = 0


@dataclass
class Model:
    """Who counts where: ``owner[(account, hour)]`` is an import id; ``hidden[i]`` maps the
    cells whose counting import ``i`` replaced to that import."""

    owner: dict[tuple[int, int], int] = field(default_factory=dict)
    kinds: dict[int, str] = field(default_factory=dict)
    footprints: dict[int, set[tuple[int, int]]] = field(default_factory=dict)
    hidden: dict[int, dict[tuple[int, int], int]] = field(default_factory=dict)
    live: set[int] = field(default_factory=set)

    @staticmethod
    def footprint(cells: frozenset[tuple[int, int]]) -> set[tuple[int, int]]:
        """Its accounts over [first hour, last hour + 1) of the cells."""
        hours = [h for _a, h in cells]
        return {(a, h) for a, _h in cells for h in range(min(hours), max(hours) + 1)}

    def apply_import(self, import_id: int, step: Step) -> bool:
        """Take over the footprint's cells, or refuse (return False) as the workspace must."""
        covered = self.footprint(step.cells)
        owners = {cell: self.owner[cell] for cell in covered if cell in self.owner}
        if not step.replace and any(self.kinds[o] != step.kind for o in owners.values()):
            return False
        for cell in owners:
            del self.owner[cell]
        for cell in step.cells:
            self.owner[cell] = import_id
        self.kinds[import_id] = step.kind
        self.footprints[import_id] = covered
        self.hidden[import_id] = owners
        self.live.add(import_id)
        return True

    def apply_remove(self, import_id: int) -> None:
        """Its cells empty; what it hid goes to the next live import covering it, or back."""
        self.live.discard(import_id)
        for cell in [c for c, o in self.owner.items() if o == import_id]:
            del self.owner[cell]
        for cell, previous in self.hidden.pop(import_id).items():
            if previous not in self.live:
                continue
            later = [j for j in self.live if j > import_id and cell in self.footprints[j]]
            if later:
                self.hidden[min(later)][cell] = previous
            else:
                self.owner[cell] = previous


def _frame(cells: frozenset[tuple[int, int]], import_number: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "hour": [HOURS[h] for _a, h in sorted(cells)],
            "account_id": [ACCOUNTS[a] for a, _h in sorted(cells)],
            "region": "us-east-1",
            "instance_type": "m5.large",
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "quantity": float(import_number),
        }
    ).astype(USAGE_SCHEMA)


def _counting(workspace: Workspace) -> dict[tuple[int, int], int]:
    """(account, hour) → the quantity that counts (the import's number), from the workspace."""
    frame = workspace.load_usage()
    return {
        (ACCOUNTS.index(str(r.account_id)), int((r.hour - START) / pd.Timedelta(hours=1))): int(
            r.quantity
        )
        for r in frame.itertuples()
    }


cells_strategy = st.frozensets(
    st.tuples(st.integers(0, len(ACCOUNTS) - 1), st.integers(0, len(HOURS) - 1)),
    min_size=1,
    max_size=5,
)
step_strategy = st.one_of(
    st.builds(
        Step,
        kind=st.sampled_from(["cur", "canonical"]),
        cells=cells_strategy,
        replace=st.booleans(),
    ),
    st.builds(Step, remove=st.integers(1, 6)),
)


@pytest.fixture
def workspaces(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("ledger")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(step_strategy, min_size=1, max_size=7))
def test_ledger_matches_the_cell_model(steps: list[Step], workspaces: Path) -> None:
    path = workspaces / f"ws-{abs(hash(tuple(steps)))}.duckdb"
    path.unlink(missing_ok=True)
    model = Model()
    number_of: dict[int, int] = {}  # the workspace's import id → the step's quantity
    with Workspace.open(path) as workspace:
        for index, step in enumerate(steps, start=1):
            if step.remove:
                live = sorted(model.live)
                if not live:
                    continue
                import_id = live[(step.remove - 1) % len(live)]
                remove_import(workspace, import_id)
                model.apply_remove(import_id)
            else:
                hours = [h for _a, h in step.cells]
                try:
                    stored = import_usage(
                        workspace, _frame(step.cells, index),
                        period_start=HOURS[min(hours)],
                        period_end=HOURS[max(hours)] + pd.Timedelta(hours=1),
                        source=UsageSource(step.kind), report=Counts(len(step.cells)),
                        replace_other_sources=step.replace,
                    )  # fmt: skip
                except UsageOverlapError:
                    accepted = False
                else:
                    accepted = True
                    number_of[stored.import_id] = index
                    assert model.apply_import(stored.import_id, step)
                if not accepted:
                    assert not model.apply_import(-index, step), "the model accepts it"
            expected = {cell: number_of[owner] for cell, owner in model.owner.items()}
            assert _counting(workspace) == expected, steps
        listed = list_imports(workspace)
        assert int(listed["usage_row_count"].sum()) == len(model.owner)
