"""Tests of the workspace store: round trip, replace on re-import, atomic imports, busy file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from commitopt.imports import import_usage
from commitopt.workspace import (
    SCHEMA_VERSION,
    UsageSource,
    Workspace,
    WorkspaceBusyError,
    WorkspaceError,
    workspace_path,
)
from core.errors import CommitoptEnvironmentError, CommitoptInputError
from usage.table import USAGE_SCHEMA, spread_daily


@dataclass(frozen=True)
class Counts:
    rows_kept: int
    rows_excluded: int


def _usage(day: str, hours: int, quantity: float, *, account: str = "111122223333") -> pd.DataFrame:
    """``hours`` hours of two keys from midnight of ``day``; the second key uses twice as much."""
    hour = pd.date_range(f"{day}T00:00Z", periods=hours, freq="h")
    first = pd.DataFrame(
        {
            "hour": hour,
            "account_id": account,
            "region": "us-east-1",
            "instance_type": "m5.large",
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "quantity": quantity,
        }
    )
    second = first.assign(
        region="eu-west-2", instance_type="c5.xlarge", platform="Windows", quantity=2 * quantity
    )
    return pd.concat([first, second], ignore_index=True).astype(USAGE_SCHEMA)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["hour", "account_id", "region", "instance_type", "platform", "tenancy"]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


CUR = UsageSource("cur", files=("oct.parquet",), fingerprints=("sha256:ab12",))


def test_round_trip_and_import_record(tmp_path: Path) -> None:
    usage = _usage("2026-10-01", 48, 1.5)
    path = tmp_path / "ws.duckdb"
    with Workspace.open(path) as workspace:
        stored = import_usage(
            workspace,
            usage,
            period_start="2026-10-01",
            period_end="2026-10-03",
            source=CUR,
            report=Counts(96, 7),
        )
    with Workspace.open(path, read_only=True) as workspace:
        loaded = workspace.load_usage()
        imports = workspace.imports()
        assert workspace.schema_version == SCHEMA_VERSION
    pd.testing.assert_frame_equal(loaded, _sorted(usage))
    assert len(imports) == 1
    record = imports.iloc[0]
    assert record["import_id"] == stored.import_id
    assert record["source_kind"] == "cur" and record["scope"] == ""
    assert record["files"] == ("oct.parquet",) and record["fingerprints"] == ("sha256:ab12",)
    assert record["period_start"] == pd.Timestamp("2026-10-01T00:00Z")
    assert record["period_end"] == pd.Timestamp("2026-10-03T00:00Z")
    assert (record["rows_kept"], record["rows_excluded"], record["rows_replaced"]) == (96, 7, 0)
    assert record["usage_rows"] == 96 and record["granularity"] == "hourly"


def test_load_filters(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws.duckdb") as workspace:
        import_usage(
            workspace,
            _usage("2026-10-01", 48, 1.0),
            period_start="2026-10-01",
            period_end="2026-10-03",
            source=CUR,
            report=Counts(96, 0),
        )
        windows = workspace.load_usage(platforms=["windows"])
        assert set(windows["instance_type"]) == {"c5.xlarge"} and len(windows) == 48
        day_two = workspace.load_usage("2026-10-02", "2026-10-03", families=["m5"])
        assert len(day_two) == 24 and day_two["quantity"].sum() == 24.0
        assert workspace.load_usage(accounts=["999999999999"]).empty
        assert workspace.load_usage(regions=["eu-west-2"])["quantity"].sum() == 96.0


def test_reimport_replaces_the_period_never_duplicates(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws.duckdb") as workspace:
        for quantity in (1.0, 1.0, 3.0):
            import_usage(
                workspace,
                _usage("2026-10-01", 48, quantity),
                period_start="2026-10-01",
                period_end="2026-10-03",
                source=CUR,
                report=Counts(96, 0),
            )
        import_usage(
            workspace,
            _usage("2026-10-03", 24, 5.0),
            period_start="2026-10-03",
            period_end="2026-10-04",
            source=CUR,
            report=Counts(48, 0),
        )
        loaded = workspace.load_usage()
        imports = workspace.imports()
    assert len(loaded) == 96 + 48
    assert loaded["quantity"].sum() == 48 * 3.0 * 3 + 24 * 5.0 * 3
    assert imports["rows_replaced"].tolist() == [0, 96, 96, 0]


def test_scopes_replace_only_their_own_rows(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws.duckdb") as workspace:
        for account in ("111122223333", "444455556666"):
            import_usage(
                workspace,
                _usage("2026-11-01", 24, 1.0, account=account),
                period_start="2026-11-01",
                period_end="2026-11-02",
                source=UsageSource("cost-explorer", scope=f"account:{account}"),
                report=Counts(2, 0),
            )
        loaded = workspace.load_usage()
    assert loaded.groupby("account_id")["quantity"].sum().to_dict() == {
        "111122223333": 72.0,
        "444455556666": 72.0,
    }


def test_daily_import_is_recorded_as_daily(tmp_path: Path) -> None:
    daily = _usage("2026-11-01", 1, 24.0)
    with Workspace.open(tmp_path / "ws.duckdb") as workspace:
        import_usage(
            workspace,
            spread_daily(daily),
            period_start="2026-11-01",
            period_end="2026-11-02",
            source=UsageSource("cost-explorer"),
            report=Counts(2, 0),
        )
        assert workspace.imports()["granularity"].tolist() == ["daily"]
        assert workspace.load_usage()["quantity"].sum() == 72.0


def test_failure_mid_import_leaves_the_workspace_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ws.duckdb"
    with Workspace.open(path) as workspace:
        import_usage(
            workspace,
            _usage("2026-10-01", 24, 1.0),
            period_start="2026-10-01",
            period_end="2026-10-02",
            source=CUR,
            report=Counts(48, 0),
        )
        before_usage, before_imports = workspace.load_usage(), workspace.imports()

        inserted: list[int] = []
        original = Workspace.insert_usage_rows

        def insert_then_fail(self: Workspace, *args: object, **kwargs: object) -> None:
            original(self, *args, **kwargs)  # type: ignore[arg-type]
            inserted.append(1)
            raise RuntimeError("disk full")

        monkeypatch.setattr(Workspace, "insert_usage_rows", insert_then_fail)
        with pytest.raises(RuntimeError, match="disk full"):
            import_usage(
                workspace,
                _usage("2026-10-01", 24, 9.0),
                period_start="2026-10-01",
                period_end="2026-10-02",
                source=CUR,
                report=Counts(48, 0),
            )
        assert inserted == [1]
        pd.testing.assert_frame_equal(workspace.load_usage(), before_usage)
        pd.testing.assert_frame_equal(workspace.imports(), before_imports)
    with Workspace.open(path) as workspace:
        pd.testing.assert_frame_equal(workspace.load_usage(), before_usage)


def test_bad_imports_are_refused_before_writing(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws.duckdb") as workspace:
        with pytest.raises(WorkspaceError, match="48 usage rows lie outside the import period"):
            import_usage(
                workspace,
                _usage("2026-10-01", 48, 1.0),
                period_start="2026-10-01",
                period_end="2026-10-02",
                source=CUR,
                report=Counts(96, 0),
            )
        negative = _usage("2026-10-01", 1, -1.0)
        with pytest.raises(CommitoptInputError, match="quantit"):
            import_usage(
                workspace,
                negative,
                period_start="2026-10-01",
                period_end="2026-10-02",
                source=CUR,
                report=Counts(2, 0),
            )
        assert workspace.load_usage().empty and workspace.imports().empty


BUSY_HOLDER = textwrap.dedent(
    """
    import sys, time
    from commitopt.workspace import Workspace
    with Workspace.open(sys.argv[1]):
        print("open", flush=True)
        time.sleep(30)
    """
)


def test_second_writer_gets_workspace_is_busy(tmp_path: Path) -> None:
    path = tmp_path / "ws.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", BUSY_HOLDER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(WorkspaceBusyError, match=r"ws\.duckdb: workspace is busy") as caught:
            Workspace.open(path)
        assert isinstance(caught.value, CommitoptEnvironmentError)  # the CLI's exit code 3
        assert "\n" not in str(caught.value)
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    with Workspace.open(path) as workspace:
        assert workspace.schema_version == SCHEMA_VERSION


def test_schema_version_recorded_and_newer_refused(tmp_path: Path) -> None:
    path = tmp_path / "ws.duckdb"
    Workspace.open(path).close()
    connection = duckdb.connect(str(path))
    rows = connection.execute("SELECT version FROM schema_version").fetchall()
    assert rows == [(SCHEMA_VERSION,)]
    connection.execute("INSERT INTO schema_version VALUES (?, now())", [SCHEMA_VERSION + 1])
    connection.close()
    with pytest.raises(WorkspaceError, match="newer than this commitopt reads"):
        Workspace.open(path)


def test_not_a_workspace_and_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = tmp_path / "notes.duckdb"
    text.write_text("hello\n" * 100)
    with pytest.raises(WorkspaceError, match=r"notes\.duckdb"):
        Workspace.open(text)
    monkeypatch.delenv("COMMITOPT_WORKSPACE", raising=False)
    assert workspace_path() == Path("commitopt.duckdb")
    monkeypatch.setenv("COMMITOPT_WORKSPACE", str(tmp_path / "env.duckdb"))
    assert workspace_path() == tmp_path / "env.duckdb"
    assert workspace_path(tmp_path / "given.duckdb") == tmp_path / "given.duckdb"
    with pytest.raises(WorkspaceError, match="no workspace here"):
        Workspace.open(tmp_path / "missing.duckdb", read_only=True)
