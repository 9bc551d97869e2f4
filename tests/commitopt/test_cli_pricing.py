"""``commitopt pricing`` end to end: show, info, import; exit codes and machine formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.commitopt.conftest import RunCli


def test_help_has_examples(run_cli: RunCli) -> None:
    for command in ("show", "import", "fetch", "info"):
        result = run_cli("pricing", command, "-h")
        assert result.exit_code == 0
        assert "Examples:" in result.stdout
        assert "commitopt pricing " + command in result.stdout


def test_show_json_is_payload_only_with_break_even(run_cli: RunCli) -> None:
    result = run_cli(
        "pricing", "show", "-r", "us-east-1", "-t", "c5.large", "--instrument",
        "on-demand,ri-standard", "--term", "1", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert "embedded price catalog" in result.stderr and "2017-11-12" in result.stderr
    on_demand = [r for r in rows if r["instrument"] == "On-Demand"]
    assert [r["effective_usd_per_hour"] for r in on_demand] == [0.085]
    partial = next(r for r in rows if r["payment_option"] == "Partial Upfront")
    # 2017 snapshot: effective 0.052; split 50/50 -> 227.76 USD upfront + 0.026 USD/h.
    assert partial["effective_usd_per_hour"] == pytest.approx(0.052)
    assert partial["upfront_usd"] == pytest.approx(0.026 * 8760)
    assert partial["discount_vs_on_demand_pct"] == pytest.approx(100 * (1 - 0.052 / 0.085))
    assert partial["break_even_months"] == pytest.approx(0.026 * 8760 / ((0.085 - 0.026) * 730))
    assert len(rows) == 1 + 3  # on-demand + three 1-year standard offerings


def test_show_csv(run_cli: RunCli) -> None:
    result = run_cli("pricing", "show", "-r", "eu-west-2", "-f", "t2", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {row["instance_type"].split(".")[0] for row in rows} == {"t2"}
    assert {row["region"] for row in rows} == {"eu-west-2"}


def test_show_unknown_key_names_it_and_the_remedies(run_cli: RunCli) -> None:
    result = run_cli("pricing", "show", "-t", "m5.large", "-r", "us-east-1")
    assert result.exit_code == 2
    assert "m5.large" in result.stderr and "pricing fetch" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") <= 2  # the notice and one error line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-r", "us-east-9"), "unknown AWS region 'us-east-9'"),
        (("-p", "beos"), "unknown platform 'beos'"),
        (("--payment", "sometimes"), "unknown payment option"),
        (("--term", "2"), "unknown commitment term"),
        (("--instrument", "bonds"), "unknown --instrument bonds"),
    ],
)
def test_show_bad_flags_exit_2(run_cli: RunCli, args: tuple[str, ...], message: str) -> None:
    result = run_cli("pricing", "show", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_info_reports_embedded_caveats(run_cli: RunCli) -> None:
    result = run_cli("pricing", "info", "--format", "json")
    assert result.exit_code == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["oldest_as_of"] == "2017-11-12"
    assert info["layers"][0]["layer"] == "embedded snapshot"
    assert info["layers"][0]["source"].startswith("ec2instances.info snapshot 2017-11-12")
    assert info["layers"][1]["layer"] == "embedded ElastiCache snapshot"
    assert info["layers"][1]["as_of"] == "2025-04-24"
    assert info["layers"][2]["layer"] == "embedded OpenSearch snapshot"
    assert info["layers"][2]["as_of"] == "2025-04-24"
    # EC2: 88 types in 15 regions; ElastiCache: 91 node types in 35 regions (a superset of them);
    # OpenSearch: 177 instance types in 34 of those regions
    assert info["instance_type_count"] == 88 + 91 + 177 and info["region_count"] == 35
    assert any("m5" in note for note in info["notes"])
    assert "Savings Plans" in info["derived_rates"]
    assert "50" in info["partial_upfront_split"]


def test_import_catalog_then_show_prefers_it(run_cli: RunCli, tmp_path: Path) -> None:
    from datetime import date

    import pandas as pd

    from pricing.catalog import CatalogMetadata, PriceCatalog

    mine = tmp_path / "mine.parquet"
    PriceCatalog.from_frames(
        CatalogMetadata("my negotiated rates", date(2026, 1, 1)),
        on_demand=pd.DataFrame(
            [{"region": "us-east-1", "instance_type": "c5.large", "platform": "Linux/UNIX",
              "tenancy": "Shared", "on_demand_usd_per_hour": 0.08}]
        ),
    ).to_parquet(mine)  # fmt: skip
    imported = run_cli("pricing", "import", str(mine), "--format", "json")
    assert imported.exit_code == 0, imported.stderr
    assert json.loads(imported.stdout)[0]["on_demand_rate_count"] == 1
    shown = run_cli(
        "pricing", "show", "-t", "c5.large", "-r", "us-east-1", "--instrument", "on-demand",
        "--format", "json",
    )  # fmt: skip
    rows = json.loads(shown.stdout)
    assert [(r["effective_usd_per_hour"], r["source"]) for r in rows] == [
        (0.08, "my negotiated rates")
    ]


def test_import_of_bad_file_writes_nothing(run_cli: RunCli, tmp_path: Path) -> None:
    page = tmp_path / "prices.csv"
    page.write_text("<!DOCTYPE html><html><body>Access denied</body></html>")
    result = run_cli("pricing", "import", str(page))
    assert result.exit_code == 2
    assert "prices.csv" in result.stderr and "HTML" in result.stderr
    assert not (tmp_path / "local-catalog.parquet").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["prices.csv"]


def test_import_real_price_list_reports_what_it_skipped(run_cli: RunCli) -> None:
    sample = Path(__file__).parents[1] / "data/pricing/ec2priceit_3-global-pricing-file-sample.csv"
    result = run_cli("pricing", "import", str(sample), "--format", "json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)[0]
    assert summary["reserved_offering_count"] == 18 and summary["on_demand_rate_count"] == 3
    assert "note: ec2priceit_3-global-pricing-file-sample.csv: skipped" in result.stderr
