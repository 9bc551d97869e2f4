"""Database reservations in the billing kernel: size flexibility across sizes and deployments.

The rules (pricing/databases.py cites them): a size-flexible RDS reservation covers its engine's
family in normalized units, a Multi-AZ instance counting twice its size's units; EC2 Instance and
Compute Savings Plans never cover database usage. Every figure is worked by hand or by a brute
force over the hours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

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
}


def test_brute_force_exact_size_and_node_rules_over_random_hours() -> None:
    """Random demand of exact-size SQL Server, OpenSearch and Redshift keys and size-flexible
    MemoryDB nodes against owned reservations of each: an exact-size reservation covers only
    its own class, engine and deployment (instance by instance), a MemoryDB one its family in
    normalized units; checked against a loop over the hours written here."""
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
    expected = 0.0
    for h in range(hours):
        memorydb_left = 8.0  # one xlarge reservation
        for k, key in enumerate(keys):
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
