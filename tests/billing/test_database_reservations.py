"""Database reservations in the billing kernel: size flexibility across sizes and deployments.

The rules (pricing/databases.py cites them): a size-flexible RDS reservation covers its engine's
family in normalized units, a Multi-AZ instance counting twice its size's units; a MemoryDB
(Redis OSS) reserved node covers Valkey nodes of its family too, each counting 0.7 of its size's
units; EC2 Instance and Compute Savings Plans never cover database usage. Every figure is worked
by hand or by a brute force over the hours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from billing.portfolio import PortfolioError
from billing.simulator import simulate
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.inventory import Commitment

START = datetime(2024, 1, 1, tzinfo=UTC)
REGION = "us-east-1"
# illustrative rates (the rules, not AWS's prices, are under test)
ON_DEMAND = {
    ("db.m4.large", "mariadb", "Single-AZ"): 0.178,
    ("db.m4.large", "mariadb", "Multi-AZ"): 0.356,
    ("db.m4.xlarge", "mariadb", "Single-AZ"): 0.356,
    ("db.m4.xlarge", "mariadb", "Multi-AZ"): 0.712,
    ("db.r4.large", "aurora-mysql", "Single-AZ"): 0.29,
    ("db.r4.large", "mysql", "Single-AZ"): 0.24,
    ("cache.r6g.large", "redis", "Node"): 0.206,
    ("m4.large", "Linux/UNIX", "Shared"): 0.10,
}
RECURRING = {
    ("db.m4.large", "mariadb", "Single-AZ"): 0.125,
    ("db.m4.large", "mariadb", "Multi-AZ"): 0.25,
    ("db.r4.large", "aurora-mysql", "Single-AZ"): 0.20,
}


def catalog() -> PriceCatalog:
    """On-demand and 1-year No Upfront rates of the keys above; Compute SP rates for EC2 only."""
    keys = pd.DataFrame(list(ON_DEMAND), columns=["instance_type", "platform", "tenancy"])
    on_demand = keys.assign(region=REGION, on_demand_usd_per_hour=list(ON_DEMAND.values()))
    reserved = pd.DataFrame(list(RECURRING), columns=["instance_type", "platform", "tenancy"])
    reserved = reserved.assign(
        region=REGION,
        offering_class="standard",
        term_years=1,
        payment_option="No Upfront",
        upfront_usd=0.0,
        recurring_usd_per_hour=list(RECURRING.values()),
    )
    plans = pd.DataFrame(
        {
            "region": [REGION],
            "instance_type": ["m4.large"],
            "platform": ["Linux/UNIX"],
            "tenancy": ["Shared"],
            "plan_type": ["compute"],
            "term_years": [1],
            "payment_option": ["No Upfront"],
            "sp_hourly_usd": [0.07],
        }
    )
    meta = CatalogMetadata(source="test rates", as_of=START.date())
    return PriceCatalog.from_frames(
        meta, on_demand=on_demand, reserved=reserved, savings_plans=plans
    )


def usage(hours: int, per_hour: dict[tuple[str, str, str], float]) -> pd.DataFrame:
    """Flat usage of each (class, platform, deployment) for ``hours`` hours from START."""
    rows = [
        (START + timedelta(hours=h), "111", REGION, *key, quantity)
        for h in range(hours)
        for key, quantity in per_hour.items()
    ]
    columns = ["hour", "account_id", "region", "instance_type", "platform", "tenancy", "quantity"]
    return pd.DataFrame(rows, columns=columns)


def reservation(
    instance_type: str, platform: str, tenancy: str, count: int, ident: str = "r-1"
) -> Commitment:
    """A 1-year No Upfront reservation starting at START, at the catalog's rate."""
    rate = RECURRING[(instance_type, platform, tenancy)]
    return Commitment(
        kind="reserved_instance",
        id=ident,
        start=START,
        end=START + timedelta(hours=8_760),
        term_years=1,
        payment_option="No Upfront",
        upfront_usd=0.0,
        region=REGION,
        instance_type=instance_type,
        platform=platform,
        tenancy=tenancy,
        scope="Region",
        offering_class="standard",
        count=count,
        recurring_usd_per_hour=rate,
        effective_usd_per_hour=count * rate,
    )


def compute_plan(commitment: float) -> Commitment:
    return Commitment(
        kind="compute_savings_plan",
        id="sp-1",
        start=START,
        end=START + timedelta(hours=8_760),
        term_years=1,
        payment_option="No Upfront",
        upfront_usd=0.0,
        commitment_usd_per_hour=commitment,
        recurring_usd_per_hour=commitment,
        effective_usd_per_hour=commitment,
    )


def test_hand_worked_multi_az_example() -> None:
    """One Multi-AZ db.m4.large MariaDB instance for 10 hours (8 units an hour).

    * one Single-AZ db.m4.large reservation (4 units) covers half of each hour: the bill is
      10 × (0.125 + 0.5 × 0.356) = 3.03 USD;
    * two cover it all: 10 × 2 × 0.125 = 2.50 USD;
    * one Multi-AZ reservation (8 units) covers it all too: 10 × 0.25 = 2.50 USD.
    """
    demand = usage(10, {("db.m4.large", "mariadb", "Multi-AZ"): 1.0})
    prices = catalog()
    half = simulate(demand, [reservation("db.m4.large", "mariadb", "Single-AZ", 1)], prices)
    assert half.totals.on_demand_cost_usd == pytest.approx(3.56)
    assert half.totals.actual_cost_usd == pytest.approx(3.03)
    np.testing.assert_allclose(half.ri_covered, 0.5)
    np.testing.assert_allclose(half.on_demand, 0.5)
    for bought in (
        [reservation("db.m4.large", "mariadb", "Single-AZ", 2)],
        [reservation("db.m4.large", "mariadb", "Multi-AZ", 1)],
    ):
        whole = simulate(demand, bought, prices)
        assert whole.totals.actual_cost_usd == pytest.approx(2.50)
        assert whole.totals.coverage_pct == pytest.approx(100.0)
        assert whole.totals.utilization_pct == pytest.approx(100.0)


def test_a_multi_az_reservation_covers_two_single_az_instances_across_sizes() -> None:
    # 8 units of reservation against one Single-AZ large (4) and half an xlarge's 8 Single-AZ
    # units: the smallest size first, so the large is covered whole and the xlarge by half.
    demand = usage(
        4,
        {
            ("db.m4.large", "mariadb", "Single-AZ"): 1.0,
            ("db.m4.xlarge", "mariadb", "Single-AZ"): 1.0,
        },
    )
    result = simulate(demand, [reservation("db.m4.large", "mariadb", "Multi-AZ", 1)], catalog())
    expected = 4 * (0.25 + 0.5 * 0.356)
    assert result.totals.actual_cost_usd == pytest.approx(expected)


def test_reservations_stay_within_their_engine() -> None:
    demand = usage(6, {("db.r4.large", "mysql", "Single-AZ"): 1.0})
    result = simulate(
        demand, [reservation("db.r4.large", "aurora-mysql", "Single-AZ", 1)], catalog()
    )
    # the Aurora reservation idles; MySQL stays on demand
    assert result.totals.actual_cost_usd == pytest.approx(6 * (0.20 + 0.24))
    assert result.totals.utilization_pct == pytest.approx(0.0)


def test_savings_plans_never_cover_database_usage() -> None:
    demand = usage(
        5,
        {
            ("db.r4.large", "aurora-mysql", "Single-AZ"): 1.0,
            ("cache.r6g.large", "redis", "Node"): 1.0,
            ("m4.large", "Linux/UNIX", "Shared"): 1.0,
        },
    )
    result = simulate(demand, [compute_plan(1.0)], catalog())
    # 1 USD/h of commitment: 0.07 covers the m4.large, the rest is lost; no warning about the
    # database keys lacking Savings Plans rates (they are not in a Savings Plan's scope)
    assert result.totals.actual_cost_usd == pytest.approx(5 * (1.0 + 0.29 + 0.206))
    assert not [w for w in result.warnings if "db." in w or "cache." in w]


def test_brute_force_size_flexible_fill_over_random_hours() -> None:
    """Random Single- and Multi-AZ MariaDB demand per hour against 3 reservations of 4 units:
    per hour AWS covers the smallest units first (large Single-AZ 4, large Multi-AZ 8, xlarge
    Single-AZ 8, xlarge Multi-AZ 16, in that order of size, ties by key); checked against a loop
    over the hours written here."""
    rng = np.random.default_rng(7)
    keys = [
        ("db.m4.large", "mariadb", "Single-AZ"),
        ("db.m4.large", "mariadb", "Multi-AZ"),
        ("db.m4.xlarge", "mariadb", "Single-AZ"),
        ("db.m4.xlarge", "mariadb", "Multi-AZ"),
    ]
    units = {keys[0]: 4.0, keys[1]: 8.0, keys[2]: 8.0, keys[3]: 16.0}
    hours = 48
    counts = rng.integers(0, 3, size=(hours, len(keys))).astype(float)
    rows = [
        (START + timedelta(hours=h), "111", REGION, *key, counts[h, k])
        for h in range(hours)
        for k, key in enumerate(keys)
    ]
    columns = ["hour", "account_id", "region", "instance_type", "platform", "tenancy", "quantity"]
    demand = pd.DataFrame(rows, columns=columns)
    bought = [reservation("db.m4.large", "mariadb", "Single-AZ", 3)]
    result = simulate(demand, bought, catalog())
    capacity = 3 * 4.0
    expected = 0.0
    for h in range(hours):
        left = capacity
        for k, key in enumerate(keys):  # already in size order
            need = counts[h, k] * units[key]
            covered = min(need, left)
            left -= covered
            expected += (need - covered) / units[key] * ON_DEMAND[key]
        expected += 3 * 0.125
    assert result.totals.actual_cost_usd == pytest.approx(expected)


NODE_ON_DEMAND = {  # illustrative rates; MemoryDB's proportional to the size's units
    ("db.r5.xlarge", "sqlserver-se(li)", "Single-AZ"): 1.496,
    ("db.r5.xlarge", "sqlserver-se(li)", "Multi-AZ"): 2.992,
    ("db.r5.large", "sqlserver-se(li)", "Single-AZ"): 0.748,
    ("r6g.large.search", "opensearch", "Node"): 0.167,
    ("r6g.xlarge.search", "opensearch", "Node"): 0.335,
    ("ra3.xlplus", "redshift", "Node"): 1.086,
    ("db.r6g.large", "memorydb", "Node"): 0.309,
    ("db.r6g.xlarge", "memorydb", "Node"): 0.618,
    # Valkey nodes, priced 30 % below Redis OSS (MemoryDB Developer Guide, "Upgrading nodes
    # from Redis OSS to Valkey"); 0.7 of the size's units each
    ("db.r6g.large", "memorydb-valkey", "Node"): 0.2163,
    ("db.r6g.xlarge", "memorydb-valkey", "Node"): 0.4326,
}


def test_brute_force_exact_size_and_node_rules_over_random_hours() -> None:
    """Random demand of exact-size SQL Server, OpenSearch and Redshift keys and size-flexible
    MemoryDB Redis OSS and Valkey nodes against owned reservations of each: an exact-size
    reservation covers only its own class, engine and deployment (instance by instance), a
    MemoryDB one its family's Redis OSS and Valkey nodes in normalized units (a Valkey node 0.7
    of its size's), smallest units first; checked against a loop over the hours written here."""
    rng = np.random.default_rng(11)
    keys = list(NODE_ON_DEMAND)
    hours = 48
    counts = rng.integers(0, 4, size=(hours, len(keys))).astype(float)
    rows = [
        (START + timedelta(hours=h), "111", REGION, *key, counts[h, k])
        for h in range(hours)
        for k, key in enumerate(keys)
    ]
    columns = ["hour", "account_id", "region", "instance_type", "platform", "tenancy", "quantity"]
    frame = pd.DataFrame(list(NODE_ON_DEMAND), columns=["instance_type", "platform", "tenancy"])
    on_demand = frame.assign(region=REGION, on_demand_usd_per_hour=list(NODE_ON_DEMAND.values()))
    prices = PriceCatalog.from_frames(
        CatalogMetadata(source="test rates", as_of=START.date()), on_demand=on_demand
    )
    owned_counts = {  # exact keys covered one instance per reservation
        ("db.r5.xlarge", "sqlserver-se(li)", "Single-AZ"): 2,
        ("r6g.large.search", "opensearch", "Node"): 1,
        ("ra3.xlplus", "redshift", "Node"): 2,
    }
    fee = 0.5  # per reservation-hour, whatever the key (the rules, not the rates, are tested)
    owned = [
        Commitment(
            kind="reserved_instance", id=f"r-{n}", start=START,
            end=START + timedelta(hours=8_760), term_years=1, payment_option="No Upfront",
            upfront_usd=0.0, region=REGION, instance_type=t, platform=p, tenancy=d,
            scope="Region", offering_class="standard", count=c, recurring_usd_per_hour=fee,
            effective_usd_per_hour=c * fee,
        )
        for n, ((t, p, d), c) in enumerate(
            [*owned_counts.items(), (("db.r6g.xlarge", "memorydb", "Node"), 1)]
        )
    ]  # fmt: skip
    result = simulate(pd.DataFrame(rows, columns=columns), owned, prices)
    memorydb_units = {("db.r6g.large", "memorydb", "Node"): 4.0}
    memorydb_units[("db.r6g.xlarge", "memorydb", "Node")] = 8.0
    memorydb_units[("db.r6g.large", "memorydb-valkey", "Node")] = 0.7 * 4.0
    memorydb_units[("db.r6g.xlarge", "memorydb-valkey", "Node")] = 0.7 * 8.0
    # the MemoryDB keys in the order they are covered: fewest units first (2.8, 4, 5.6, 8)
    order = sorted(range(len(keys)), key=lambda k: memorydb_units.get(keys[k], 0.0))
    expected = 0.0
    for h in range(hours):
        memorydb_left = 8.0  # one xlarge reservation
        for k in order:
            key = keys[k]
            need = counts[h, k]
            if key in owned_counts:
                covered = min(need, owned_counts[key])
            elif key in memorydb_units:  # smallest size first, in units
                units = min(need * memorydb_units[key], memorydb_left)
                memorydb_left -= units
                covered = units / memorydb_units[key]
            else:  # Multi-AZ SQL Server, large SQL Server, xlarge OpenSearch: no reservation
                covered = 0.0
            expected += (need - covered) * NODE_ON_DEMAND[key]
        expected += (2 + 1 + 2 + 1) * fee
    assert result.totals.actual_cost_usd == pytest.approx(expected)


VALKEY_ON_DEMAND = {  # illustrative: Redis OSS 0.1 USD per normalized unit-hour, Valkey 30 % less
    ("db.r7g.4xlarge", "memorydb", "Node"): 3.2,
    ("db.r7g.xlarge", "memorydb", "Node"): 0.8,
    ("db.r7g.4xlarge", "memorydb-valkey", "Node"): 2.24,
    ("db.r7g.xlarge", "memorydb-valkey", "Node"): 0.56,
    ("db.r7g.large", "memorydb-valkey", "Node"): 0.28,
    ("cache.r7g.large", "valkey", "Node"): 0.219,
}
MEMORYDB_4XLARGE_FEE = 2.0
"""Illustrative recurring rate of a 1-year No Upfront db.r7g.4xlarge reserved node [USD/h]."""


def _valkey_catalog() -> PriceCatalog:
    frame = pd.DataFrame(list(VALKEY_ON_DEMAND), columns=["instance_type", "platform", "tenancy"])
    on_demand = frame.assign(region=REGION, on_demand_usd_per_hour=list(VALKEY_ON_DEMAND.values()))
    return PriceCatalog.from_frames(
        CatalogMetadata(source="test rates", as_of=START.date()), on_demand=on_demand
    )


def _memorydb_node(platform: str = "memorydb") -> Commitment:
    """One 1-year No Upfront db.r7g.4xlarge reserved node (32 units for Redis OSS)."""
    return Commitment(
        kind="reserved_instance", id="rn-1", start=START, end=START + timedelta(hours=8_760),
        term_years=1, payment_option="No Upfront", upfront_usd=0.0, region=REGION,
        instance_type="db.r7g.4xlarge", platform=platform, tenancy="Node", scope="Region",
        offering_class="standard", count=1, recurring_usd_per_hour=MEMORYDB_4XLARGE_FEE,
        effective_usd_per_hour=MEMORYDB_4XLARGE_FEE,
    )  # fmt: skip


def test_hand_worked_valkey_upgrade_example() -> None:
    """AWS's worked example (MemoryDB Developer Guide, "Upgrading nodes from Redis OSS to
    Valkey", https://docs.aws.amazon.com/memorydb/latest/devguide/reserved-nodes.html): a Redis
    OSS db.r7g.4xlarge reserved node (32 units) on a node upgraded to Valkey (22.4 units) leaves
    9.6 units for any other Valkey or Redis OSS node of db.r7g in the region. For 10 hours:

    * the Valkey 4xlarge alone: covered whole, 9.6 units idle; the bill is the fee,
      10 × 2.0 = 20 USD against 10 × 2.24 = 22.4 on demand; utilization 22.4 / 32 = 70 %;
    * with a Valkey xlarge (5.6 units) and a Valkey large (2.8): 22.4 + 5.6 + 2.8 = 30.8 units,
      all covered (the 9.6 units cover the xlarge fully, and 4 units are left for the large's
      2.8); the bill is still 20 USD against 10 × 3.08 = 30.8; utilization 30.8 / 32 = 96.25 %;
    * with a Redis OSS xlarge (8 units): 30.4 units, all covered; utilization 95 %;
    * with a second Valkey 4xlarge: 32 units cover 32 / 22.4 = 1.428571 nodes (AWS: "42 % of
      another Valkey db.r7g.4xlarge"); the other 12.8 units stay on demand at 0.1 USD per
      unit-hour (2.24 USD for 22.4 units, as Redis OSS's 3.2 for 32): 10 × (2.0 + 1.28) =
      32.8 USD.
    """
    prices = _valkey_catalog()
    valkey_4xl = ("db.r7g.4xlarge", "memorydb-valkey", "Node")

    alone = simulate(usage(10, {valkey_4xl: 1.0}), [_memorydb_node()], prices)
    assert alone.totals.on_demand_cost_usd == pytest.approx(22.4)
    assert alone.totals.actual_cost_usd == pytest.approx(20.0)
    assert alone.totals.coverage_pct == pytest.approx(100.0)
    assert alone.totals.utilization_pct == pytest.approx(70.0)
    np.testing.assert_allclose(alone.used, 22.4)  # normalized units per hour

    smaller = {
        valkey_4xl: 1.0,
        ("db.r7g.xlarge", "memorydb-valkey", "Node"): 1.0,
        ("db.r7g.large", "memorydb-valkey", "Node"): 1.0,
    }
    three = simulate(usage(10, smaller), [_memorydb_node()], prices)
    assert three.totals.on_demand_cost_usd == pytest.approx(30.8)
    assert three.totals.actual_cost_usd == pytest.approx(20.0)
    assert three.totals.coverage_pct == pytest.approx(100.0)
    assert three.totals.utilization_pct == pytest.approx(96.25)

    redis = {valkey_4xl: 1.0, ("db.r7g.xlarge", "memorydb", "Node"): 1.0}
    mixed = simulate(usage(10, redis), [_memorydb_node()], prices)
    assert mixed.totals.actual_cost_usd == pytest.approx(20.0)
    assert mixed.totals.utilization_pct == pytest.approx(95.0)

    two = simulate(usage(10, {valkey_4xl: 2.0}), [_memorydb_node()], prices)
    np.testing.assert_allclose(two.ri_covered, 32 / 22.4)
    np.testing.assert_allclose(two.on_demand, 2 - 32 / 22.4)
    assert two.totals.actual_cost_usd == pytest.approx(10 * (2.0 + 12.8 * 0.1))
    assert two.totals.utilization_pct == pytest.approx(100.0)


def test_a_memorydb_reserved_node_leaves_elasticache_valkey_alone() -> None:
    """ElastiCache's Valkey nodes (platform ``valkey``) are another service's: a MemoryDB
    reserved node never covers them."""
    demand = usage(4, {("cache.r7g.large", "valkey", "Node"): 1.0})
    result = simulate(demand, [_memorydb_node()], _valkey_catalog())
    assert result.totals.actual_cost_usd == pytest.approx(4 * (0.219 + MEMORYDB_4XLARGE_FEE))
    assert result.totals.utilization_pct == pytest.approx(0.0)


def test_no_reservation_is_sold_for_memorydb_valkey() -> None:
    """ "Valkey-specific reserved nodes are not available" (MemoryDB Developer Guide, "MemoryDB
    reserved nodes"): a reservation named ``memorydb-valkey`` is refused, naming the fix."""
    demand = usage(2, {("db.r7g.4xlarge", "memorydb-valkey", "Node"): 1.0})
    with pytest.raises(PortfolioError, match="memorydb reservations cover it"):
        simulate(demand, [_memorydb_node("memorydb-valkey")], _valkey_catalog())
