"""``commitopt usage import`` of Fargate, Lambda and SageMaker usage, through the installed script.

The documented-forms CUR (``tests/data/cur/compute_usage_documented_forms.csv``) and the real
FOCUS 1.0 sample are imported into fresh workspaces; the JSON report and the stored rows are
checked against :func:`usage.compute_usage.read_compute_usage` (the separate reader, run in this
process) and against the files' rows as their README and ``docs/compute-usage.md`` count them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import duckdb
import pandas as pd
import pytest

from tests.cli.conftest import ERROR_PREFIX, EXIT_BAD_INPUT, REPO, Sandbox, require_success

DATA: Final = REPO / "tests" / "data"
CUR: Final = DATA / "cur" / "compute_usage_documented_forms.csv"
FOCUS: Final = DATA / "focus" / "focus1.0_sample_1000.csv"
KEYS: Final = ("account_id", "region", "instance_type", "platform", "tenancy")
COMPUTE: Final = ("fargate.", "lambda.", "ml.")


def _stored(workspace: Path) -> pd.DataFrame:
    """The Fargate, Lambda and SageMaker rows that count, read with DuckDB directly."""
    with duckdb.connect(str(workspace), read_only=True) as connection:
        frame = connection.execute(
            f"SELECT hour, {', '.join(KEYS)}, quantity FROM usage_hourly "
            "WHERE replaced_by IS NULL ORDER BY ALL"
        ).df()
    return frame[frame["instance_type"].str.startswith(COMPUTE)].reset_index(drop=True)


def _compute_reader(path: Path) -> tuple[pd.DataFrame, Any]:
    """read_compute_usage's covered demand per hour and key, in key units (naive UTC hours)."""
    from pricing.compute_keys import key_of
    from pricing.compute_usage_types import ComputeUsageType
    from usage.compute_usage import read_compute_usage

    table, report = read_compute_usage(path)
    rows = []
    for row in table[table["sp_eligible"] != "none"].itertuples(index=False):
        key = key_of(
            ComputeUsageType(
                "", row.service, row.usage_kind, row.unit, row.region, row.architecture,
                row.platform_or_component, row.instance_type, row.sp_eligible,
            )
        )  # fmt: skip
        assert key is not None
        rows.append(
            (row.hour.tz_convert("UTC").tz_localize(None), row.account_id, key.region,
             key.instance_type, key.platform, key.tenancy, row.quantity * key.per_bill_unit)
        )  # fmt: skip
    frame = pd.DataFrame(rows, columns=["hour", *KEYS, "quantity"])
    frame = frame.groupby(["hour", *KEYS], as_index=False)["quantity"].sum()
    return frame.sort_values(["hour", *KEYS]).reset_index(drop=True), report


def _import(sandbox: Sandbox, path: Path) -> dict[str, Any]:
    run = require_success(sandbox.run("usage", "import", str(path), "--format", "json"))
    unknown = [line for line in run.stderr.splitlines() if "does not know" in line]
    assert not [line for line in unknown if any(t in line for t in COMPUTE)], str(run)
    payload: dict[str, Any] = json.loads(run.stdout)
    return payload


@pytest.mark.parametrize("path", [CUR, FOCUS], ids=["documented CUR", "FOCUS 1.0 sample"])
def test_import_stores_the_compute_readers_demand(empty_sandbox: Sandbox, path: Path) -> None:
    payload = _import(empty_sandbox, path)
    stored = _stored(empty_sandbox.workspace)
    expected, _report = _compute_reader(path)
    assert len(stored) == len(expected) > 0
    stored["hour"] = stored["hour"].astype("datetime64[ns]")
    expected["hour"] = expected["hour"].astype("datetime64[ns]")
    pd.testing.assert_frame_equal(stored, expected, check_dtype=False, rtol=1e-12, atol=0)
    assert payload["input_format"] == ("cur" if path == CUR else "focus")


def test_import_report_counts_the_compute_exclusions(empty_sandbox: Sandbox) -> None:
    payload = _import(empty_sandbox, CUR)
    counts = {e["reason"]: e["line_item_count"] for e in payload["exclusions"]}
    assert counts == {
        "not covered by any Savings Plan": 3,  # Fargate Windows OS licence, Lambda requests
        "Savings Plan negation": 2,
        "Savings Plan fee": 1,
        "tax": 1,
        "data transfer": 1,
        "not Fargate usage": 1,  # EKS cluster hours
        "unknown Lambda usage type": 1,
        "unknown region": 1,
        "unknown SageMaker usage type": 1,  # serverless inference
    }
    requests = next(e for e in payload["exclusions"] if e["reason"].startswith("not covered"))
    assert requests["usage_amount"] == pytest.approx(1.0 + 10_000 + 2_000)  # mixed units
    assert payload["kept_line_item_count"] == 18  # 17 of the three services, 1 EC2
    assert payload["kept_line_item_count"] + sum(counts.values()) == 30
    stored = _stored(empty_sandbox.workspace)
    assert set(stored["instance_type"]) == {
        "fargate.vcpu", "fargate.memory", "lambda.duration", "lambda.provisioned-concurrency",
        "lambda.provisioned-duration", "ml.t3.medium", "ml.m5.xlarge", "ml.c5.large",
    }  # fmt: skip
    assert set(stored["tenancy"]) == {"x86_64", "arm64"}
    assert set(stored["platform"]) == {
        "fargate-linux", "fargate-windows", "lambda", "sagemaker-notebook",
        "sagemaker-training", "sagemaker-hosting", "sagemaker-processing",
    }  # fmt: skip


def _by_unit(payload: dict[str, Any]) -> dict[str, float]:
    return {item["unit"]: item["usage_amount"] for item in payload["kept_quantity_by_unit"]}


def test_import_report_sums_each_unit_apart(empty_sandbox: Sandbox) -> None:
    """``kept_instance_hours`` once added vCPU-hours and GB-hours to the instance-hours; the
    file import and the streamed import of a canonical file both split them by unit."""
    from pricing.compute_keys import quantity_by_unit

    payload = _import(empty_sandbox, CUR)
    with duckdb.connect(str(empty_sandbox.workspace), read_only=True) as connection:
        stored = connection.execute(
            f"SELECT hour, {', '.join(KEYS)}, quantity FROM usage_hourly "
            "WHERE replaced_by IS NULL ORDER BY ALL"
        ).df()
    expected = dict(quantity_by_unit(stored["instance_type"], stored["quantity"]))
    assert set(expected) == {"instance-hours", "vCPU-hours", "GB-hours"}
    assert _by_unit(payload) == pytest.approx(expected, rel=1e-12)
    assert payload["kept_instance_hours"] == pytest.approx(expected["instance-hours"], rel=1e-12)
    assert payload["kept_instance_hours"] < sum(expected.values())
    canonical = empty_sandbox.folder / "canonical.csv"
    stored.assign(hour=pd.to_datetime(stored["hour"], utc=True)).to_csv(canonical, index=False)
    run = empty_sandbox.run(
        "usage", "import", str(canonical), "--format", "json",
        "--workspace", str(empty_sandbox.folder / "second.duckdb"),
    )  # fmt: skip
    again = json.loads(require_success(run).stdout)
    assert again["input_format"] == "canonical"
    assert _by_unit(again) == pytest.approx(expected, rel=1e-12)
    assert again["kept_instance_hours"] == pytest.approx(expected["instance-hours"], rel=1e-12)
    # what each import stored, by account and month, and the workspace's list of imports: one
    # total per unit (``instance_hours`` once summed all three)
    columns = {
        "instance-hours": "instance_hours",
        "vCPU-hours": "vcpu_hours",
        "GB-hours": "gb_hours",
    }
    for added in (payload["added"], again["added"]):
        totals = {unit: sum(row[column] for row in added) for unit, column in columns.items()}
        assert totals == pytest.approx(expected, rel=1e-12)
    listed = require_success(
        empty_sandbox.run("usage", "imports", "--format", "json", "--workspace",
                          str(empty_sandbox.folder / "second.duckdb"))
    )  # fmt: skip
    (imported,) = json.loads(listed.stdout)
    assert {unit: imported[c] for unit, c in columns.items()} == pytest.approx(expected, rel=1e-12)


def test_malformed_lambda_amount_is_one_line_and_exit_2(empty_sandbox: Sandbox) -> None:
    broken = empty_sandbox.folder / "bad_amount.csv"
    broken.write_text(
        CUR.read_text().replace("Lambda-GB-Second,Invoke,1000.0,", "Lambda-GB-Second,Invoke,lots,")
    )
    run = empty_sandbox.run("usage", "import", str(broken), "--format", "json")
    assert run.exit_code == EXIT_BAD_INPUT, str(run)
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith(ERROR_PREFIX)]
    assert len(errors) == 1, str(run)
    assert "bad_amount.csv" in errors[0] and "malformed quantity" in errors[0]
    assert run.stdout == ""


def test_usage_option_of_a_command_reads_the_same_keys(empty_sandbox: Sandbox) -> None:
    run = require_success(
        empty_sandbox.run("usage", "summary", "--usage", str(CUR), "--format", "json")
    )
    records = json.loads(run.stdout)
    types = {record["instance_type"] for record in records}
    assert {"fargate.vcpu", "lambda.duration", "ml.m5.xlarge", "m5.large"} <= types


def test_usage_summary_names_each_keys_unit(empty_sandbox: Sandbox) -> None:
    _import(empty_sandbox, CUR)
    run = require_success(empty_sandbox.run("usage", "summary", "--format", "json"))
    rows = json.loads(run.stdout)
    units = {row["instance_type"]: row["unit"] for row in rows}
    assert units["fargate.vcpu"] == "vCPU-hours"
    assert units["fargate.memory"] == units["lambda.duration"] == "GB-hours"
    assert all(
        unit == "instance-hours"
        for kind, unit in units.items()
        if not kind.startswith(("fargate.", "lambda."))
    )
    # the default table shows a unit column when the keys count different things
    table = require_success(empty_sandbox.run("usage", "summary"))
    assert " unit " in table.stdout
    assert "GB-hours" in table.stdout
