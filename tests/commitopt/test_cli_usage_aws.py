"""``usage import-ce`` and ``usage import-athena`` end to end against moto, and their fields.

The subprocess suite (``tests/cli``) can only run these without AWS (exit 3); here moto answers
in-process, so their reports are walked against the glossary too.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import requests
from moto import mock_aws

from tests.cli.glossary import check_fields, check_header
from tests.commitopt.conftest import RunCli
from tests.usage.test_athena import _canned_rows
from tests.usage.test_cost_explorer import _answer, _group, _period


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and one region for boto3 under moto."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)


@mock_aws
def test_import_ce_reports_in_glossary_fields(run_cli: RunCli, tmp_path: Path, aws: None) -> None:
    day = _answer(
        _period(
            "2026-11-01",
            "2026-11-02",
            _group("USE2-BoxUsage:c5.xlarge", "RunInstances:0002", "48", "17.664"),
            _group("SpotUsage:m5.large", "RunInstances:SV001", "5", "1"),
        )
    )
    queued = {"results": [day, day]}
    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/ce/cost-and-usage-results",
        data=json.dumps(queued),
        timeout=10,
    )
    args = ("usage", "import-ce", "--from", "2026-11-01", "--to", "2026-11-02")
    result = run_cli(*args, "--format", "json", "-q")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    check_fields(report, "usage import-ce")
    assert report["kept_instance_hours"] == 48.0 and report["request_count"] == 1
    assert report["exclusions"][0]["row_count"] == 1
    table = run_cli(*args, "-q")
    assert table.exit_code == 0 and "Excluded from demand" in table.stdout


@mock_aws
def test_import_athena_reports_in_glossary_fields(
    run_cli: RunCli, tmp_path: Path, aws: None
) -> None:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="athena-results")
    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/athena/query-results",
        json=_canned_rows(),
        timeout=10,
    )
    result = run_cli(
        "usage", "import-athena", "--database", "cur_db", "--table", "cur",
        "--output-location", "s3://athena-results/q/", "--region", "us-east-1",
        "--from", "2018-10-01", "--to", "2018-11-01", "--format", "csv", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    check_header(lines[0].split(","), "usage import-athena")
    fields = dict(line.split(",", 1) for line in lines[1:])
    check_header(list(fields), "usage import-athena")
    assert fields["kept_line_item_count"] == "1610"
