"""OpenSearch, Redshift, MemoryDB and exact-size RDS engines in the one joint plan and bill."""

from __future__ import annotations

import pandas as pd
import pytest

from billing.simulator import simulate
from commitopt.report.data import build_report_data
from optimizer.policy import Policy
from planning.recommend import RecommendOptions, recommend
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.embedded import load_embedded_catalog
from pricing.inventory import Commitment, InventoryError
from pricing.services import key_services
from tests.planning.test_database_joint_plan import HOURS, START, database_catalog, fleet_usage

RATES = {  # (type, platform, deployment): (on-demand, 1-year No Upfront reservation) [USD/h]
    ("r6g.large.search", "opensearch", "Node"): (0.167, 0.113),
    ("ra3.xlplus", "redshift", "Node"): (1.086, 0.724),
    ("db.r6g.xlarge", "memorydb", "Node"): (0.617, 0.432),
    ("db.r6g.large", "memorydb", "Node"): (0.309, 0.216),
    ("db.r5.xlarge", "sqlserver-se(li)", "Multi-AZ"): (2.992, 2.10),
    ("db.r5.xlarge", "sqlserver-se(li)", "Single-AZ"): (1.496, 1.05),
}
FLEET = {  # key -> instances or nodes running every hour
    ("m4.large", "Linux/UNIX", "Shared"): 2.0,
    ("r6g.large.search", "opensearch", "Node"): 3.0,
    ("ra3.xlplus", "redshift", "Node"): 2.0,
    ("db.r6g.xlarge", "memorydb", "Node"): 2.0,
    ("db.r5.xlarge", "sqlserver-se(li)", "Multi-AZ"): 1.0,
}


def node_catalog() -> PriceCatalog:
    return database_catalog(RATES)


def _reservations(purchases: list[Commitment]) -> dict[tuple[str, str, str], int]:
    bought: dict[tuple[str, str, str], int] = {}
    for p in purchases:
        if p.kind == "reserved_instance" and p.platform != "Linux/UNIX":
            key = (str(p.instance_type), str(p.platform), str(p.tenancy))
            bought[key] = bought.get(key, 0) + int(p.count or 0)
    return bought


def test_one_plan_reserves_every_node_service_and_the_bill_agrees_by_hand() -> None:
    catalog = PriceCatalog.merge([node_catalog(), load_embedded_catalog()])
    run = recommend(
        fleet_usage(FLEET), catalog, Policy(), options=RecommendOptions(decide_on="lookback")
    )
    # steady usage at a discount: each service reserved with its own rule; the exact-size
    # SQL Server reservation in the instance's own deployment (Multi-AZ), not as two Single-AZ
    assert _reservations(run.purchases) == {
        ("r6g.large.search", "opensearch", "Node"): 3,
        ("ra3.xlplus", "redshift", "Node"): 2,
        ("db.r6g.xlarge", "memorydb", "Node"): 2,
        ("db.r5.xlarge", "sqlserver-se(li)", "Multi-AZ"): 1,
    }
    table = run.explanations
    sentences = dict(zip(table["instance_type"], table["explanation"], strict=True))
    assert "(Multi-AZ deployment)" in sentences["db.r5.xlarge"]
    assert "two Single-AZ reservations" not in sentences["db.r5.xlarge"]  # exact size
    assert "at or above 2 nodes" in sentences["ra3.xlplus"]
    assert "16 normalized units (2 × db.r6g.xlarge)" in sentences["db.r6g.xlarge"]
    saving_per_hour = (
        3 * (0.167 - 0.113) + 2 * (1.086 - 0.724) + 2 * (0.617 - 0.432) + (2.992 - 2.10)
    )
    ec2 = [p for p in run.purchases if p.platform == "Linux/UNIX" or p.kind != "reserved_instance"]
    billed = simulate(run.usage, run.purchases, catalog)
    ec2_only = simulate(fleet_usage(FLEET).query("instance_type == 'm4.large'"), ec2, catalog)
    ec2_saving = ec2_only.totals.on_demand_cost_usd - ec2_only.totals.actual_cost_usd
    total_saving = billed.totals.on_demand_cost_usd - billed.totals.actual_cost_usd
    assert total_saving - ec2_saving == pytest.approx(HOURS * saving_per_hour)


def test_the_report_names_each_node_service() -> None:
    catalog = PriceCatalog.merge([node_catalog(), load_embedded_catalog()])
    run = recommend(
        fleet_usage(FLEET), catalog, Policy(), options=RecommendOptions(decide_on="lookback")
    )
    data = build_report_data(run, catalog=catalog, compute_frontier=False)
    table = data.by_service.set_index("service")
    assert set(table.index) == {
        "AmazonEC2", "AmazonES", "AmazonRedshift", "AmazonMemoryDB", "AmazonRDS",
    }  # fmt: skip
    saved = table["current_cost_usd"] - table["planned_cost_usd"]
    assert saved["AmazonMemoryDB"] == pytest.approx(HOURS * 2 * (0.617 - 0.432))
    assert saved["AmazonRDS"] == pytest.approx(HOURS * (2.992 - 2.10))
    assert saved["AmazonES"] == pytest.approx(HOURS * 3 * (0.167 - 0.113))


def test_exact_size_reservations_cover_their_own_type_and_deployment_only() -> None:
    """A Single-AZ SQL Server reservation leaves a Multi-AZ instance on demand; an OpenSearch
    r6g.large reservation leaves an r6g.xlarge on demand; a MemoryDB xlarge reservation covers
    two large nodes (size-flexible, as MemoryDB documents)."""
    catalog = PriceCatalog.merge([node_catalog(), load_embedded_catalog()])
    fleet = {
        ("db.r5.xlarge", "sqlserver-se(li)", "Multi-AZ"): 1.0,
        ("ra3.xlplus", "redshift", "Node"): 1.0,
        ("db.r6g.large", "memorydb", "Node"): 2.0,
    }
    owned = [
        Commitment(
            kind="reserved_instance", id=f"owned-{t}", region="us-east-1", instance_type=t,
            platform=p, tenancy=d, count=1, term_years=1, payment_option="No Upfront",
            upfront_usd=0.0, start=START, end=START.replace(year=2025), offering_class="standard",
            scope="Region", recurring_usd_per_hour=rate, effective_usd_per_hour=rate,
        )
        for t, p, d, rate in [
            ("db.r5.xlarge", "sqlserver-se(li)", "Single-AZ", 1.05),
            ("dc2.large", "redshift", "Node", 0.2),
            ("db.r6g.xlarge", "memorydb", "Node", 0.432),
        ]
    ]  # fmt: skip
    billed = simulate(fleet_usage(fleet), owned, catalog)
    on_demand_left = (2.992 + 1.086) * HOURS  # SQL Server Multi-AZ and the ra3 node
    fees = (1.05 + 0.2 + 0.432) * HOURS
    assert billed.totals.actual_cost_usd == pytest.approx(on_demand_left + fees)
    assert key_services(["db.r6g.large"], ["memorydb"]).tolist() == ["AmazonMemoryDB"]


VALKEY_FLEET = {  # 5 × 5.6 + 4 = 32 normalized units
    ("db.r6g.xlarge", "memorydb-valkey", "Node"): 5.0,
    ("db.r6g.large", "memorydb", "Node"): 1.0,
}


def valkey_catalog() -> PriceCatalog:
    """:func:`node_catalog` plus on-demand rates of Valkey nodes, 0.7 of Redis OSS's
    (illustrative; MemoryDB sells no Valkey reserved nodes, so none are listed)."""
    valkey = {
        ("db.r6g.xlarge", "memorydb-valkey", "Node"): 0.7 * 0.617,
        ("db.r6g.large", "memorydb-valkey", "Node"): 0.7 * 0.309,
    }
    keys = pd.DataFrame(list(valkey), columns=["instance_type", "platform", "tenancy"])
    valkey_on_demand = PriceCatalog.from_frames(
        CatalogMetadata(source="illustrative Valkey rates (test)", as_of=START.date()),
        on_demand=keys.assign(region="us-east-1", on_demand_usd_per_hour=list(valkey.values())),
    )
    return PriceCatalog.merge([node_catalog(), valkey_on_demand])


def test_valkey_nodes_get_memorydb_reservations_sized_in_units() -> None:
    """MemoryDB sells no Valkey reserved nodes; its Redis OSS ones (``memorydb``) cover Valkey
    nodes of their family at 0.7 of the size's units (MemoryDB Developer Guide, "Size flexible
    reserved nodes" and "Upgrading nodes from Redis OSS to Valkey"). Five Valkey db.r6g.xlarge
    nodes (5 × 5.6 = 28 units) and one Redis OSS db.r6g.large (4) run steadily: the plan buys
    ``memorydb`` reservations for all 32 units (a reservation costs 0.054 USD per unit-hour in
    either size), and the bill covers every node."""
    catalog = valkey_catalog()
    run = recommend(
        fleet_usage(VALKEY_FLEET), catalog, Policy(), options=RecommendOptions(decide_on="lookback")
    )
    bought = _reservations(run.purchases)
    assert {platform for _, platform, _ in bought} == {"memorydb"}  # never memorydb-valkey
    assert {tenancy for _, _, tenancy in bought} == {"Node"}
    size_units = {"db.r6g.large": 4.0, "db.r6g.xlarge": 8.0}
    assert sum(n * size_units[t] for (t, _, _), n in bought.items()) == pytest.approx(32.0)
    lines = [p for p in run.purchases if p.platform == "memorydb"]
    assert sum(p.normalized_units or 0.0 for p in lines) == pytest.approx(32.0)
    billed = simulate(run.usage, run.purchases, catalog)
    assert billed.totals.coverage_pct == pytest.approx(100.0)
    assert billed.totals.utilization_pct == pytest.approx(100.0)
    on_demand_per_hour = 5 * 0.7 * 0.617 + 0.309
    assert billed.totals.on_demand_cost_usd == pytest.approx(HOURS * on_demand_per_hour)
    assert billed.totals.actual_cost_usd == pytest.approx(HOURS * 32 * 0.054)


def test_an_owned_memorydb_reservation_counts_against_valkey_demand() -> None:
    """Two owned db.r6g.xlarge ``memorydb`` reserved nodes (16 units) cover part of the Valkey
    nodes: the plan buys only the other 16 units, and the owned nodes are used in full."""
    owned = Commitment(
        kind="reserved_instance", id="owned-mem", region="us-east-1",
        instance_type="db.r6g.xlarge", platform="memorydb", tenancy="Node", count=2,
        term_years=1, payment_option="No Upfront", upfront_usd=0.0, start=START,
        end=START.replace(year=2025), offering_class="standard", scope="Region",
        recurring_usd_per_hour=0.432, effective_usd_per_hour=2 * 0.432,
    )  # fmt: skip
    run = recommend(
        fleet_usage(VALKEY_FLEET),
        valkey_catalog(),
        Policy(),
        owned=[owned],
        options=RecommendOptions(decide_on="lookback"),
    )
    size_units = {"db.r6g.large": 4.0, "db.r6g.xlarge": 8.0}
    bought = _reservations(run.purchases)
    assert sum(n * size_units[t] for (t, _, _), n in bought.items()) == pytest.approx(16.0)
    covered = run.baseline.breakdown("instrument").set_index("instrument")
    assert covered.loc["owned-mem", "unused_commitment_usd"] == pytest.approx(0.0, abs=1e-6)


def test_an_owned_memorydb_valkey_reservation_is_refused() -> None:
    """AWS sells no Valkey reserved nodes: an owned line named ``memorydb-valkey`` is bad input,
    and the error names the platform to give instead."""
    owned = Commitment(
        kind="reserved_instance", id="owned-valkey", region="us-east-1",
        instance_type="db.r6g.xlarge", platform="memorydb-valkey", tenancy="Node", count=1,
        term_years=1, payment_option="No Upfront", upfront_usd=0.0, start=START,
        end=START.replace(year=2025), offering_class="standard", scope="Region",
        recurring_usd_per_hour=0.432, effective_usd_per_hour=0.432,
    )  # fmt: skip
    with pytest.raises(InventoryError, match=r"owned-valkey.*memorydb-valkey: memorydb"):
        recommend(
            fleet_usage(VALKEY_FLEET),
            valkey_catalog(),
            Policy(),
            owned=[owned],
            options=RecommendOptions(decide_on="lookback"),
        )
