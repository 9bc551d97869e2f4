"""The installed command on OpenSearch, Redshift, MemoryDB and SQL Server usage from a CUR.

A CUR of 30 days of steady nodes and instances (written here in the legacy CUR's column names and
AWS's usage-type spellings) is imported, priced with a catalog of illustrative rates, and
``recommend --format json`` proposes each service's reservation with its own rule; ``simulate``
bills the plan to the figure worked by hand.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Final

import pandas as pd
import pytest

from pricing.catalog import CatalogMetadata, PriceCatalog
from tests.cli.conftest import Sandbox, require_success

HOURS: Final = 30 * 24
RATES: Final = {  # (type, platform, deployment): (on-demand, 1-year No Upfront) USD/h
    ("r6g.large.search", "opensearch", "Node"): (0.167, 0.113),
    ("ra3.xlplus", "redshift", "Node"): (1.086, 0.724),
    ("db.r6g.large", "memorydb", "Node"): (0.309, 0.216),
    ("db.r5.xlarge", "sqlserver-se(li)", "Multi-AZ"): (2.992, 2.10),
}
ROWS: Final = [  # (product, usage type, per hour, engine, edition, licence)
    ("AmazonES", "ESInstance:r6g.large", 2.0, "", "", ""),
    ("AmazonRedshift", "Node:ra3.xlplus", 2.0, "", "", ""),
    ("AmazonMemoryDB", "NodeUsage:db.r6g.large", 3.0, "", "", ""),
    ("AmazonRDS", "Multi-AZUsage:db.r5.xlarge", 1.0, "SQL Server", "Standard", "License included"),
]


def write_cur(path: Path) -> Path:
    hours = pd.date_range("2024-03-01", periods=HOURS, freq="h", tz="UTC")
    frames = [
        pd.DataFrame(
            {
                "line_item_line_item_type": "Usage",
                "line_item_product_code": product,
                "line_item_usage_type": usage_type,
                "line_item_operation": "",
                "line_item_usage_start_date": hours.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "line_item_usage_end_date": (hours + pd.Timedelta(hours=1)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "line_item_usage_amount": amount,
                "line_item_unblended_cost": 0.0,
                "line_item_usage_account_id": "111111111111",
                "line_item_currency_code": "USD",
                "product_database_engine": engine,
                "product_database_edition": edition,
                "product_license_model": licence,
            }
        )
        for product, usage_type, amount, engine, edition, licence in ROWS
    ]
    pd.concat(frames, ignore_index=True).to_parquet(path, index=False)
    return path


def write_catalog(path: Path) -> Path:
    keys = pd.DataFrame(list(RATES), columns=["instance_type", "platform", "tenancy"])
    keys = keys.assign(region="us-east-1")
    on_demand = keys.assign(on_demand_usd_per_hour=[od for od, _ in RATES.values()])
    reserved = keys.assign(
        offering_class="standard",
        term_years=1,
        payment_option="No Upfront",
        upfront_usd=0.0,
        recurring_usd_per_hour=[ri for _, ri in RATES.values()],
    )
    meta = CatalogMetadata(source="illustrative node-service rates (test)", as_of=date(2024, 3, 1))
    PriceCatalog.from_frames(meta, on_demand=on_demand, reserved=reserved).to_parquet(path)
    return path


def test_recommend_reserves_each_node_service_and_simulate_bills_it(
    empty_sandbox: Sandbox,
) -> None:
    cur = write_cur(empty_sandbox.folder / "cur.parquet")
    require_success(empty_sandbox.run("usage", "import", str(cur), "--format", "json"))
    catalog = str(write_catalog(empty_sandbox.folder / "nodes.parquet"))
    run = require_success(
        empty_sandbox.run(
            "recommend", "--catalog", catalog, "--lookback", "30d", "--format", "json"
        )
    )
    payload = json.loads(run.stdout)
    bought = {
        (p["service"], p["instance_type"], p["platform"], p["tenancy"]): p["count"]
        for p in payload["purchases"]
    }
    assert bought == {
        ("AmazonES", "r6g.large.search", "opensearch", "Node"): 2,
        ("AmazonRedshift", "ra3.xlplus", "redshift", "Node"): 2,
        ("AmazonMemoryDB", "db.r6g.large", "memorydb", "Node"): 3,
        ("AmazonRDS", "db.r5.xlarge", "sqlserver-se(li)", "Multi-AZ"): 1,
    }
    plan = empty_sandbox.folder / "plan.json"
    plan.write_text(run.stdout)
    billed = require_success(
        empty_sandbox.run(
            "simulate", "--catalog", catalog, "--portfolio", str(plan), "--format", "json"
        )
    )
    totals = json.loads(billed.stdout)
    counts = {"opensearch": 2, "redshift": 2, "memorydb": 3, "sqlserver-se(li)": 1}
    on_demand = HOURS * sum(counts[p] * od for (_, p, _), (od, _) in RATES.items())
    with_plan = HOURS * sum(counts[p] * ri for (_, p, _), (_, ri) in RATES.items())
    assert totals["on_demand_cost_usd"] == pytest.approx(on_demand)
    assert totals["actual_cost_usd"] == pytest.approx(with_plan)
