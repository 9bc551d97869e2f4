"""Plans in the workspace: canonical JSON and its SHA-256, storing, reading, schema upgrade."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commitopt.approvals import plan_state
from commitopt.plans import (
    PLAN_FORMAT,
    PlanError,
    PlanNotFoundError,
    add_plan_file,
    canonical_json,
    list_plans,
    load_plan,
    plan_sha256,
    store_plan,
)
from commitopt.workspace import MIGRATIONS, SCHEMA_VERSION, Workspace, WorkspaceError
from tests.commitopt.identities import ANN
from tests.commitopt.purchase_stubs import PORTFOLIO


def test_canonical_json_is_one_text_per_value() -> None:
    document = {
        "b": [1, 2.5, np.float64(0.1), -0.0, (3, "x")],
        "a": {"z": True, "y": None, "é": np.int64(7)},
        "t": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    text = canonical_json(document)
    assert text == (
        '{"a":{"y":null,"z":true,"\\u00e9":7},"b":[1,2.5,0.1,0.0,[3,"x"]],'
        '"t":"2026-01-02T03:04:05Z"}'
    )
    assert canonical_json(json.loads(text)) == text
    reordered = json.loads(json.dumps(json.loads(text), indent=4, sort_keys=False))
    assert canonical_json(reordered) == text
    assert plan_sha256(document) == hashlib.sha256(text.encode()).hexdigest()
    assert canonical_json({"x": 1e-7, "y": 100.0, "z": 1e22}) == '{"x":1e-07,"y":100.0,"z":1e+22}'
    with pytest.raises(PlanError, match=r"plan\.b\[0\]: nan is not a finite number"):
        canonical_json({"b": [float("nan")]})
    assert plan_sha256({"a": 1}) != plan_sha256({"a": 1.0})


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES)
def test_canonical_json_round_trips(value: object) -> None:
    text = canonical_json(value)
    assert canonical_json(json.loads(text)) == text
    assert json.loads(text) == json.loads(json.dumps(value))  # same value, only the form differs
    assert text.isascii() and "\n" not in text


def test_store_and_load_a_plan(tmp_path: Path) -> None:
    created = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    with Workspace.open(tmp_path / "ws.duckdb") as workspace:
        first = store_plan(
            workspace, PORTFOLIO, source="review", inputs={"usage": "import 3"}, created_at=created
        )
        second = store_plan(workspace, PORTFOLIO, source="review", created_at=created)
        assert first.plan_id == "plan-20261123-1" and second.plan_id == "plan-20261123-2"
        assert [p.plan_id for p in list_plans(workspace)] == [first.plan_id, second.plan_id]
        loaded = load_plan(workspace, first.plan_id)
        assert plan_state(workspace, loaded).status == "proposed"
    document = loaded.document
    assert document["format"] == PLAN_FORMAT
    assert document["inputs"] == {"usage": "import 3"}
    assert document["created_at"] == "2026-11-23T16:00:00Z"
    assert [item["line"] for item in document["purchases"]] == [1, 2, 3, 4]
    assert document["purchases"][1]["instance_type"] == "m5.xlarge"
    assert document["summary"] == PORTFOLIO["summary"]
    # the stored text is canonical, and its hash is what was recorded
    assert loaded.plan_json == canonical_json(document)
    assert loaded.stored_sha256 == hashlib.sha256(loaded.plan_json.encode()).hexdigest()
    assert loaded.intact and loaded.sha256 == loaded.stored_sha256
    # the plan id is part of the document: two stores of one recommendation hash differently
    assert first.stored_sha256 != second.stored_sha256
    lines = loaded.lines
    assert [line.number for line in lines] == [1, 2, 3, 4]
    assert lines[0].commitment.count == 2 and lines[0].requested_start is None
    assert lines[1].describe() == (
        "3 × m5.xlarge Windows Shared convertible RI (Region), eu-west-1, 3y Partial Upfront"
    )
    assert lines[2].describe() == "Compute Savings Plan 1.5 USD/h (any region), 1y Partial Upfront"


def test_add_plan_file_fingerprints_the_file_and_report(tmp_path: Path) -> None:
    file = tmp_path / "plan.json"
    file.write_text(json.dumps(PORTFOLIO, indent=2))
    report = tmp_path / "report.html"
    report.write_bytes(b"<html>numbers</html>")
    with Workspace.open(tmp_path / "ws.duckdb") as workspace:
        plan = add_plan_file(workspace, file, report_path=report)
    assert plan.source == "file plan.json"
    assert plan.document["inputs"] == {
        "portfolio_file": str(file),
        "portfolio_sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
    }
    assert plan.report == b"<html>numbers</html>" and plan.report_path == str(report)
    digest = hashlib.sha256(b"<html>numbers</html>").hexdigest()
    assert plan.recorded_report_sha256 == digest and plan.document["report_stored"] is True
    assert plan.intact


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"missing\.json: no such file"),
        ("{not json", r"bad\.json: not valid JSON \(line 1, column 2"),
        ('{"summary": {}}', r'bad\.json: no "purchases" list'),
        (
            json.dumps({"purchases": [PORTFOLIO["purchases"][0], {**PORTFOLIO["purchases"][1],
                                                                  "count": 0}]}),
            r"purchases\[1\]\.count: must be a whole number greater than 0",
        ),
        (
            json.dumps({"purchases": [{**PORTFOLIO["purchases"][0], "line": 5}]}),
            r"purchases\[0\]\.line is 5, expected 1",
        ),
    ],
)  # fmt: skip
def test_bad_plan_files_are_refused_and_nothing_is_stored(
    tmp_path: Path, content: str | None, message: str
) -> None:
    file = tmp_path / ("missing.json" if content is None else "bad.json")
    if content is not None:
        file.write_text(content)
    with Workspace.open(tmp_path / "ws.duckdb") as workspace:
        with pytest.raises(PlanError, match=message) as caught:
            add_plan_file(workspace, file)
        assert "\n" not in str(caught.value)
        assert list_plans(workspace) == ()


def test_missing_plan_names_the_latest(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws.duckdb") as workspace:
        with pytest.raises(PlanNotFoundError, match="this workspace has no plans"):
            load_plan(workspace, "plan-1")
        store_plan(workspace, PORTFOLIO, source="x", created_at=datetime(2026, 1, 1, tzinfo=UTC))
        with pytest.raises(PlanNotFoundError, match=r"no plan 'plan-1' \(latest: plan-20260101-1"):
            load_plan(workspace, "plan-1")


def test_a_failed_store_leaves_the_workspace_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Workspace.open(tmp_path / "ws.duckdb") as workspace:
        store_plan(workspace, PORTFOLIO, source="x")
        original = Workspace.execute

        def fail_on_plans(self: Workspace, sql: str, parameters: object = ()) -> object:
            result = original(self, sql, parameters)  # type: ignore[arg-type]
            if sql.startswith("INSERT INTO plans"):
                raise RuntimeError("disk full")
            return result

        monkeypatch.setattr(Workspace, "execute", fail_on_plans)
        with pytest.raises(RuntimeError, match="disk full"):
            store_plan(workspace, PORTFOLIO, source="y")
        monkeypatch.undo()
        assert [p.source for p in list_plans(workspace)] == ["x"]


def _version_1_workspace(path: Path) -> None:
    """A workspace as the version-1 code wrote it, with one usage row."""
    connection = duckdb.connect(str(path))
    connection.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
    )
    for statement in MIGRATIONS[1]:
        connection.execute(statement)
    connection.execute("INSERT INTO schema_version VALUES (1, now())")
    connection.execute(
        "INSERT INTO usage_hourly VALUES ('2026-10-01 00:00', '1', 'us-east-1', 'm5.large', "
        "'Linux/UNIX', 'Shared', 2.0, '', 1)"
    )
    connection.close()


def test_version_1_workspace_upgrades_and_keeps_its_usage(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    _version_1_workspace(path)
    with Workspace.open(path, read_only=True) as workspace:  # reading needs no upgrade
        assert workspace.schema_version == 1
        assert list_plans(workspace) == ()
        assert workspace.load_usage()["quantity"].tolist() == [2.0]
        with pytest.raises(PlanNotFoundError):
            load_plan(workspace, "plan-x")
    with Workspace.open(path) as workspace:
        assert workspace.schema_version == SCHEMA_VERSION == 3
        plan = store_plan(workspace, PORTFOLIO, source="x")
        assert workspace.load_usage()["quantity"].tolist() == [2.0]
    connection = duckdb.connect(str(path), read_only=True)
    versions = connection.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
    connection.close()
    assert versions == [(1,), (2,), (3,)]
    with Workspace.open(path, read_only=True) as workspace:
        assert load_plan(workspace, plan.plan_id).intact


def test_a_failed_migration_leaves_version_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.duckdb"
    _version_1_workspace(path)
    broken = {**MIGRATIONS, 2: (*MIGRATIONS[2][:3], "CREATE TABLE broken (")}
    monkeypatch.setattr("commitopt.workspace.MIGRATIONS", broken)
    with pytest.raises(duckdb.Error):
        Workspace.open(path)
    monkeypatch.undo()
    with Workspace.open(path, read_only=True) as workspace:
        assert workspace.schema_version == 1 and not workspace.has_table("runs")


def test_read_only_workspace_refuses_to_store(tmp_path: Path) -> None:
    path = tmp_path / "ws.duckdb"
    Workspace.open(path).close()
    with (
        Workspace.open(path, read_only=True) as workspace,
        pytest.raises(WorkspaceError, match="opened read-only; cannot store a plan"),
    ):
        store_plan(workspace, PORTFOLIO, source="x")


def test_runs_and_snapshots_are_recorded(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws.duckdb") as workspace:
        run_id = workspace.record_run(
            "review",
            parameters={"lookback_days": 30},
            inputs={"usage_imports": [1, 2]},
            outcome={"purchases": 3},
            started_at=datetime(2026, 11, 1, tzinfo=UTC),
        )
        snapshot = workspace.record_inventory_snapshot(
            '{"purchases": []}', source="aws", as_of=datetime(2026, 11, 1, tzinfo=UTC)
        )
        catalog = workspace.record_catalog_snapshot(source="embedded", fingerprint="sha256:ab")
        plan = store_plan(workspace, PORTFOLIO, source="review", run_id=run_id)
        runs = workspace.runs()
        rows = workspace.fetch_all("SELECT fingerprint FROM inventory_snapshots")
    assert (run_id, snapshot, catalog) == (1, 1, 1)
    assert runs["kind"].tolist() == ["review"]
    assert runs["parameters"][0] == {"lookback_days": 30}
    assert runs["started_at"][0] == pd.Timestamp("2026-11-01")
    assert plan.run_id == run_id
    assert rows == [("sha256:" + hashlib.sha256(b'{"purchases": []}').hexdigest(),)]


OLD_REPORT = b"<html>report of an older plan</html>"


def _version_2_workspace_with_a_plan(path: Path) -> tuple[str, str]:
    """A workspace as the version-2 code wrote it: one plan whose document embeds its report's
    hash, with its report, an approval typed as a name, and no identities. Returns the plan id
    and the hash it was stored with."""
    document = {
        **PORTFOLIO,
        "format": PLAN_FORMAT,
        "plan_id": "plan-20261101-1",
        "created_at": "2026-11-01T08:00:00Z",
        "source": "review",
        "inputs": {"usage": "sha256:ab"},
        "purchases": [{**p, "line": i + 1} for i, p in enumerate(PORTFOLIO["purchases"])],
        "report_sha256": hashlib.sha256(OLD_REPORT).hexdigest(),
    }
    text = canonical_json(document)
    digest = hashlib.sha256(text.encode()).hexdigest()
    connection = duckdb.connect(str(path))
    connection.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
    )
    for version in (1, 2):
        for statement in MIGRATIONS[version]:
            connection.execute(statement)
        connection.execute("INSERT INTO schema_version VALUES (?, now())", [version])
    connection.execute(
        "INSERT INTO plans (plan_id, created_at, source, run_id, plan_json, plan_sha256, "
        "report_path, report) VALUES (?, '2026-11-01 08:00', 'review', NULL, ?, ?, NULL, ?)",
        ["plan-20261101-1", text, digest, OLD_REPORT],
    )
    connection.close()
    return "plan-20261101-1", digest


def test_plans_of_version_2_read_and_hash_as_before(tmp_path: Path) -> None:
    path = tmp_path / "v2.duckdb"
    plan_id, digest = _version_2_workspace_with_a_plan(path)
    with Workspace.open(path, read_only=True) as workspace:  # no identity columns yet
        assert workspace.schema_version == 2
        old = load_plan(workspace, plan_id)
        assert old.created_by is None and old.recorded_report_sha256 is None
        assert old.sha256 == old.stored_sha256 == digest and old.intact
        assert [p.plan_id for p in list_plans(workspace)] == [plan_id]
        assert plan_state(workspace, old).status == "proposed"
    with Workspace.open(path) as workspace:  # upgraded: the same plan, the same hash
        upgraded = load_plan(workspace, plan_id)
        assert upgraded.sha256 == digest and upgraded.intact and upgraded.created_by is None
        workspace.execute(
            "UPDATE plans SET report = ? WHERE plan_id = ?", [b"<html>edited</html>", plan_id]
        )
        assert not load_plan(workspace, plan_id).intact


def test_a_stored_plan_keeps_its_policy_creator_and_report(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []

    def render(plan_id: str, digest: str) -> bytes:
        seen.append((plan_id, digest))
        return f"<h1>{plan_id}</h1><p>SHA-256 {digest}</p>".encode()

    policy = {"terms_years": [1, 3], "payment_options": ["No Upfront"], "max_upfront_usd": 500.0}
    with Workspace.open(tmp_path / "ws.duckdb") as workspace:
        plan = store_plan(
            workspace, PORTFOLIO, source="review", policy=policy, render_report=render,
            created_by=ANN,
        )  # fmt: skip
        assert seen == [(plan.plan_id, plan.stored_sha256)]
        assert plan.sha256 == plan.stored_sha256 and plan.intact
        assert plan.document["policy"] == policy and plan.document["report_stored"] is True
        assert "report_sha256" not in plan.document  # the report is not part of what is hashed
        assert plan.recorded_report_sha256 == hashlib.sha256(plan.report or b"").hexdigest()
        assert plan.created_by == ANN
        # removing the report (and its recorded hash) is a change too
        workspace.execute(
            "UPDATE plans SET report = NULL, report_sha256 = NULL WHERE plan_id = ?",
            [plan.plan_id],
        )
        assert not load_plan(workspace, plan.plan_id).intact
        with pytest.raises(PlanError, match="not both"):
            store_plan(workspace, PORTFOLIO, source="x", report=b"r", render_report=render)
