"""The installed command on OpenSearch, Redshift, MemoryDB and SQL Server usage from a CUR.

A CUR of 30 days of steady nodes and instances (written here in the legacy CUR's column names and
AWS's usage-type spellings) is imported, priced with a catalog of illustrative rates, and
``recommend --format json`` proposes each service's reservation with its own rule; ``simulate``
bills the plan to the figure worked by hand. MemoryDB runs Redis OSS and Valkey nodes (engine
``Valkey`` in the CUR's engine column): MemoryDB sells no Valkey reserved nodes, its Redis OSS ones
(``memorydb``) cover a Valkey node at 0.7 of its size's units (MemoryDB Developer Guide, "Size
flexible reserved nodes" and "Upgrading nodes from Redis OSS to Valkey").
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
VALKEY_ON_DEMAND: Final = {  # illustrative: 0.7 of the Redis OSS rate (priced 30 % below)
    ("db.r6g.xlarge", "memorydb-valkey", "Node"): 0.7 * 2 * 0.309,
}
ROWS: Final = [  # (product, usage type, per hour, engine, edition, licence)
    ("AmazonES", "ESInstance:r6g.large", 2.0, "", "", ""),
    ("AmazonRedshift", "Node:ra3.xlplus", 2.0, "", "", ""),
    ("AmazonMemoryDB", "NodeUsage:db.r6g.large", 3.0, "", "", ""),
    ("AmazonMemoryDB", "NodeUsage:db.r6g.xlarge", 5.0, "Valkey", "", ""),
    ("AmazonRDS", "Multi-AZUsage:db.r5.xlarge", 1.0, "SQL Server", "Standard", "License included"),
]
MEMORYDB_UNITS: Final = 3 * 4.0 + 5 * 0.7 * 8.0
"""Redis OSS 3 × large (4 units) and Valkey 5 × xlarge (0.7 × 8 = 5.6 units): 40 units."""


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
    valkey = pd.DataFrame(list(VALKEY_ON_DEMAND), columns=["instance_type", "platform", "tenancy"])
    valkey = valkey.assign(
        region="us-east-1", on_demand_usd_per_hour=list(VALKEY_ON_DEMAND.values())
    )
    on_demand = pd.concat([on_demand, valkey], ignore_index=True)
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
        if p["service"] != "AmazonMemoryDB"
    }
    assert bought == {
        ("AmazonES", "r6g.large.search", "opensearch", "Node"): 2,
        ("AmazonRedshift", "ra3.xlplus", "redshift", "Node"): 2,
        ("AmazonRDS", "db.r5.xlarge", "sqlserver-se(li)", "Multi-AZ"): 1,
    }
    # the Redis OSS and Valkey nodes' 40 units, in memorydb reserved nodes of the family
    memorydb = [p for p in payload["purchases"] if p["service"] == "AmazonMemoryDB"]
    assert {(p["platform"], p["tenancy"]) for p in memorydb} == {("memorydb", "Node")}
    assert sum(p["normalized_units"] for p in memorydb) == pytest.approx(MEMORYDB_UNITS)
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
    on_demand += HOURS * 5 * VALKEY_ON_DEMAND[("db.r6g.xlarge", "memorydb-valkey", "Node")]
    # every node reserved; MemoryDB's 40 units at the large reservation's 0.216 USD per 4 units
    with_plan = HOURS * sum(
        counts[p] * ri for (_, p, _), (_, ri) in RATES.items() if p != "memorydb"
    )
    with_plan += HOURS * MEMORYDB_UNITS / 4.0 * 0.216
    assert totals["on_demand_cost_usd"] == pytest.approx(on_demand)
    assert totals["actual_cost_usd"] == pytest.approx(with_plan)
