"""The installed command on the real October 2018 RDS rows: import, recommend, simulate.

The workshop account ran two db.r4.large Aurora MySQL instances (Single-AZ) and one db.m4.large
MariaDB instance (Multi-AZ) the whole month. Imported from the real CUR rows
(tests/data/cur/wal_Oct2018-WorkshopCUR-rds-trimmed.zstd.parquet), priced on demand by the CUR's
own rates (``pricing import``: 0.29 and 0.35 USD/h) and for reservations by a catalog of
illustrative 1-year No Upfront rates written here (the rules are under test, not AWS's prices),
``recommend`` proposes RDS reservations for all three and ``simulate`` bills them to the figure
worked by hand.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Final

import duckdb
import pandas as pd
import pytest

from pricing.catalog import CatalogMetadata, PriceCatalog
from tests.cli.conftest import REPO, Sandbox, require_success

RDS_CUR: Final = REPO / "tests/data/cur/wal_Oct2018-WorkshopCUR-rds-trimmed.zstd.parquet"
ON_DEMAND: Final = {  # USD/h, illustrative
    ("db.r4.large", "aurora-mysql", "Single-AZ"): 0.29,
    ("db.m4.large", "mariadb", "Single-AZ"): 0.178,
    ("db.m4.large", "mariadb", "Multi-AZ"): 0.356,
}
RESERVED: Final = {  # 1-year No Upfront recurring USD/h, illustrative
    ("db.r4.large", "aurora-mysql", "Single-AZ"): 0.20,
    ("db.m4.large", "mariadb", "Single-AZ"): 0.125,
    ("db.m4.large", "mariadb", "Multi-AZ"): 0.25,
}


def write_catalog(path: Path, *, with_on_demand: bool = True) -> Path:
    """A catalog Parquet file with the rates above, in us-east-1 (reserved rates only unless
    ``with_on_demand``)."""
    columns = ["instance_type", "platform", "tenancy"]
    on_demand = pd.DataFrame(list(ON_DEMAND), columns=columns).assign(
        region="us-east-1", on_demand_usd_per_hour=list(ON_DEMAND.values())
    )
    reserved = pd.DataFrame(list(RESERVED), columns=columns).assign(
        region="us-east-1",
        offering_class="standard",
        term_years=1,
        payment_option="No Upfront",
        upfront_usd=0.0,
        recurring_usd_per_hour=list(RESERVED.values()),
    )
    meta = CatalogMetadata(source="illustrative RDS rates (test)", as_of=date(2018, 10, 1))
    PriceCatalog.from_frames(
        meta, on_demand=on_demand if with_on_demand else None, reserved=reserved
    ).to_parquet(path)
    return path


def independent_instance_hours() -> dict[str, float]:
    """Instance-hours per usage type of the demand rows, by a DuckDB query of the CUR itself."""
    rows = duckdb.sql(
        f"""
        SELECT line_item_usage_type, sum(line_item_usage_amount)
        FROM read_parquet('{RDS_CUR}')
        WHERE line_item_product_code = 'AmazonRDS'
          AND line_item_line_item_type IN ('Usage', 'DiscountedUsage')
          AND (line_item_usage_type LIKE 'InstanceUsage:db.%'
               OR line_item_usage_type LIKE 'Multi-AZUsage:db.%')
        GROUP BY 1
        """
    ).fetchall()
    return {str(kind): float(hours) for kind, hours in rows}


@pytest.fixture
def rds_sandbox(empty_sandbox: Sandbox) -> Sandbox:
    """A workspace holding the real RDS rows."""
    require_success(empty_sandbox.run("usage", "import", str(RDS_CUR), "--format", "json"))
    return empty_sandbox


def test_import_brings_the_database_hours_exactly(empty_sandbox: Sandbox) -> None:
    run = require_success(empty_sandbox.run("usage", "import", str(RDS_CUR), "--format", "json"))
    payload = json.loads(run.stdout)
    expected = independent_instance_hours()
    assert expected == {"InstanceUsage:db.r4.large": 1488.0, "Multi-AZUsage:db.m4.large": 744.0}
    text = json.dumps(payload)
    assert "database, not instance usage" in text
    with duckdb.connect(str(empty_sandbox.workspace), read_only=True) as connection:
        stored = connection.sql(
            "SELECT instance_type, platform, tenancy, sum(quantity) FROM usage_hourly "
            "WHERE replaced_by IS NULL GROUP BY ALL ORDER BY 1"
        ).fetchall()
    assert stored == [
        ("db.m4.large", "mariadb", "Multi-AZ", expected["Multi-AZUsage:db.m4.large"]),
        ("db.r4.large", "aurora-mysql", "Single-AZ", expected["InstanceUsage:db.r4.large"]),
    ]


def test_recommend_proposes_rds_reservations_and_simulate_bills_them(
    rds_sandbox: Sandbox,
) -> None:
    require_success(rds_sandbox.run("pricing", "import", str(RDS_CUR)))  # the CUR's own rates
    catalog = str(write_catalog(rds_sandbox.folder / "rds.parquet", with_on_demand=False))
    run = require_success(
        rds_sandbox.run("recommend", "--catalog", catalog, "--lookback", "30d", "--format", "json")
    )
    payload = json.loads(run.stdout)
    bought = {
        (p["service"], p["instance_type"], p["platform"], p["tenancy"]): p["count"]
        for p in payload["purchases"]
    }
    # the two Aurora instances, and the Multi-AZ MariaDB instance as two Single-AZ reservations
    # of its size (AWS applies them to the primary and the standby's units)
    assert bought == {
        ("AmazonRDS", "db.r4.large", "aurora-mysql", "Single-AZ"): 2,
        ("AmazonRDS", "db.m4.large", "mariadb", "Single-AZ"): 2,
    }
    why = {p["instance_type"]: p["explanation"] for p in payload["purchases"]}
    assert "A Multi-AZ instance counts twice its size's units" in why["db.m4.large"]
    assert "Multi-AZ" not in why["db.r4.large"]
    portfolio = rds_sandbox.folder / "plan.json"
    portfolio.write_text(run.stdout)
    billed = require_success(
        rds_sandbox.run(
            "simulate", "--catalog", catalog, "--portfolio", str(portfolio), "--format", "json"
        )
    )
    totals = json.loads(billed.stdout)
    hours = 744  # October 2018, whole
    on_demand = hours * (2 * 0.29 + 0.35)  # as the CUR billed them
    with_plan = hours * (2 * 0.20 + 2 * 0.125)
    assert totals["on_demand_cost_usd"] == pytest.approx(on_demand)
    assert totals["actual_cost_usd"] == pytest.approx(with_plan)
    assert totals["coverage_pct"] == pytest.approx(100.0)


def test_without_database_prices_the_keys_are_named(rds_sandbox: Sandbox) -> None:
    run = rds_sandbox.run("recommend", "--lookback", "30d")
    assert run.exit_code == 2
    assert "us-east-1 db.m4.large mariadb Multi-AZ" in run.stderr
    assert "commitopt pricing import" in run.stderr
