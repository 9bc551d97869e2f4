"""RDS and ElastiCache reserved offerings through botocore's Stubber.

The responses follow the documented shapes of ``ReservedDBInstancesOffering`` and
``ReservedCacheNodesOffering`` (Stubber checks every field against botocore's service model);
the prices are illustrative, not AWS's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber

from pricing.catalog import PriceCatalog
from pricing.errors import PriceFileError
from pricing.readers.aws_api import AwsAccessError
from pricing.readers.database_offerings import (
    database_offering_rows,
    product_description_platform,
)
from pricing.readers.database_offerings_api import fetch_database_offerings

ONE_YEAR_S = 31_536_000
THREE_YEARS_S = 94_608_000


def _client(service: str, region: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x")
    return session.client(service, region_name=region)  # type: ignore[call-overload]


def rds_offering(
    offering_id: str,
    instance_class: str,
    description: str,
    offering_type: str,
    *,
    multi_az: bool = False,
    duration_s: int = ONE_YEAR_S,
    fixed_usd: float = 0.0,
    hourly_usd: float = 0.0,
    currency: str = "USD",
) -> dict[str, Any]:
    return {
        "ReservedDBInstancesOfferingId": offering_id,
        "DBInstanceClass": instance_class,
        "Duration": duration_s,
        "FixedPrice": fixed_usd,
        "UsagePrice": 0.0,
        "CurrencyCode": currency,
        "ProductDescription": description,
        "OfferingType": offering_type,
        "MultiAZ": multi_az,
        "RecurringCharges": [
            {"RecurringChargeAmount": hourly_usd, "RecurringChargeFrequency": "Hourly"}
        ]
        if hourly_usd
        else [],
    }


def cache_offering(
    offering_id: str,
    node_type: str,
    description: str,
    offering_type: str,
    *,
    duration_s: int = ONE_YEAR_S,
    fixed_usd: float = 0.0,
    hourly_usd: float = 0.0,
) -> dict[str, Any]:
    return {
        "ReservedCacheNodesOfferingId": offering_id,
        "CacheNodeType": node_type,
        "Duration": duration_s,
        "FixedPrice": fixed_usd,
        "UsagePrice": 0.0,
        "ProductDescription": description,
        "OfferingType": offering_type,
        "RecurringCharges": [
            {"RecurringChargeAmount": hourly_usd, "RecurringChargeFrequency": "Hourly"}
        ]
        if hourly_usd
        else [],
    }


RDS_PAGE_1 = [
    rds_offering("a1", "db.r6g.large", "mysql", "Partial Upfront", fixed_usd=1000.0,
                 hourly_usd=0.114),
    rds_offering("a2", "db.r6g.large", "mysql", "No Upfront", hourly_usd=0.23),
    rds_offering("a3", "db.r6g.large", "mysql", "All Upfront", multi_az=True,
                 fixed_usd=3900.0),
    rds_offering("a4", "db.r6g.large", "oracle-se2(li)", "No Upfront", hourly_usd=0.4),
]  # fmt: skip
RDS_PAGE_2 = [
    rds_offering("b1", "db.r4.large", "aurora-mysql", "All Upfront", duration_s=THREE_YEARS_S,
                 fixed_usd=5400.0),
    rds_offering("b2", "db.m4.large", "mariadb", "Partial Upfront", multi_az=True,
                 fixed_usd=1100.0, hourly_usd=0.064),
    rds_offering("b3", "db.m5.large", "sqlserver-se(li)", "No Upfront", hourly_usd=0.9),
    rds_offering("b4", "db.m5.large", "oracle-se2(li)", "All Upfront", fixed_usd=7000.0),
]  # fmt: skip
CACHE_PAGE = [
    cache_offering("c1", "cache.r6g.large", "redis", "No Upfront", hourly_usd=0.14),
    cache_offering("c2", "cache.r6g.large", "valkey", "Partial Upfront", fixed_usd=500.0,
                   hourly_usd=0.057),
    cache_offering("c3", "cache.m5.large", "memcached", "All Upfront",
                   duration_s=THREE_YEARS_S, fixed_usd=2300.0),
    cache_offering("c4", "cache.m3.large", "redis", "Heavy Utilization", fixed_usd=600.0,
                   hourly_usd=0.05),
]  # fmt: skip


def stubbed_clients(
    pages: dict[tuple[str, str], list[list[dict[str, Any]]]],
) -> tuple[Callable[[str, str], Any], list[Stubber]]:
    """A client factory answering each (service, region) with its pages, in order."""
    stubs: list[Stubber] = []
    clients: dict[tuple[str, str], Any] = {}
    for (service, region), responses in pages.items():
        client = _client(service, region)
        stub = Stubber(client)
        operation, records = {
            "rds": ("describe_reserved_db_instances_offerings", "ReservedDBInstancesOfferings"),
            "elasticache": (
                "describe_reserved_cache_nodes_offerings",
                "ReservedCacheNodesOfferings",
            ),
        }[service]
        for number, page in enumerate(responses):
            response: dict[str, Any] = {records: page}
            if number < len(responses) - 1:
                response["Marker"] = f"page{number + 2}"
            expected: dict[str, Any] = {"MaxRecords": 100}
            if number:
                expected["Marker"] = f"page{number + 1}"
            stub.add_response(operation, response, expected)
        stub.activate()
        stubs.append(stub)
        clients[(service, region)] = client

    def client_for(service: str, region: str) -> Any:
        return clients[(service, region)]

    return client_for, stubs


def fetched() -> PriceCatalog:
    client_for, stubs = stubbed_clients(
        {
            ("rds", "us-east-1"): [RDS_PAGE_1, RDS_PAGE_2],
            ("elasticache", "us-east-1"): [CACHE_PAGE],
        }
    )
    catalog = fetch_database_offerings(client_for, regions=["us-east-1"], sleep=lambda _s: None)
    for stub in stubs:
        stub.assert_no_pending_responses()
    return catalog


def test_offerings_become_validated_reserved_rows() -> None:
    catalog = fetched()
    assert catalog.on_demand.empty and catalog.savings_plans.empty
    reserved = catalog.reserved.set_index(
        ["instance_type", "platform", "tenancy", "term_years", "payment_option"]
    )
    assert len(reserved) == 11  # 12 listed: 1 legacy utilisation left out
    oracle = reserved.loc[("db.m5.large", "oracle-se2(li)", "Single-AZ", 1, "All Upfront")]
    assert (oracle["upfront_usd"], oracle["recurring_usd_per_hour"]) == (7000.0, 0.0)
    assert ("db.m5.large", "sqlserver-se(li)", "Single-AZ", 1, "No Upfront") in reserved.index
    partial = reserved.loc[("db.r6g.large", "mysql", "Single-AZ", 1, "Partial Upfront")]
    assert (partial["upfront_usd"], partial["recurring_usd_per_hour"]) == (1000.0, 0.114)
    assert partial["effective_usd_per_hour"] == pytest.approx(1000.0 / 8760 + 0.114)
    assert partial["offering_class"] == "standard"
    multi = reserved.loc[("db.r6g.large", "mysql", "Multi-AZ", 1, "All Upfront")]
    assert (multi["upfront_usd"], multi["recurring_usd_per_hour"]) == (3900.0, 0.0)
    aurora = reserved.loc[("db.r4.large", "aurora-mysql", "Single-AZ", 3, "All Upfront")]
    assert aurora["effective_usd_per_hour"] == pytest.approx(5400.0 / 26280)
    assert reserved.loc[("db.m4.large", "mariadb", "Multi-AZ", 1, "Partial Upfront")][
        "recurring_usd_per_hour"
    ] == pytest.approx(0.064)
    assert set(reserved.xs("Node", level="tenancy").index.get_level_values("platform")) == {
        "redis", "valkey", "memcached"
    }  # fmt: skip
    assert set(catalog.reserved["source"]) == {
        "AWS reserved offerings API AmazonRDS us-east-1",
        "AWS reserved offerings API AmazonElastiCache us-east-1",
    }
    assert (catalog.reserved["region"] == "us-east-1").all()


def test_unmapped_offerings_are_counted_by_reason() -> None:
    notes = fetched().metadata.notes
    assert not any("AmazonRDS" in n for n in notes)  # Oracle and SQL Server are mapped now
    assert any("AmazonElastiCache: OfferingType 'Heavy Utilization'" in n for n in notes)
    assert any("reserved prices only" in n for n in notes)


def test_the_catalog_round_trips_through_parquet(tmp_path: Any) -> None:
    catalog = fetched()
    catalog.to_parquet(tmp_path / "db.parquet")
    again = PriceCatalog.read_parquet(tmp_path / "db.parquet")
    pd.testing.assert_frame_equal(again.reserved, catalog.reserved)


def test_a_class_filter_is_sent_to_its_service_only() -> None:
    client = _client("rds", "eu-west-1")
    stub = Stubber(client)
    stub.add_response(
        "describe_reserved_db_instances_offerings",
        {"ReservedDBInstancesOfferings": [RDS_PAGE_1[1]]},
        {"MaxRecords": 100, "DBInstanceClass": "db.r6g.large"},
    )
    stub.activate()
    catalog = fetch_database_offerings(
        lambda service, region: client,
        regions=["eu-west-1"],
        instance_types=["db.r6g.large", "m5.large", "cache.r6g.large"],
        services=["AmazonRDS"],
    )
    stub.assert_no_pending_responses()
    assert catalog.reserved[["region", "instance_type"]].values.tolist() == [
        ["eu-west-1", "db.r6g.large"]
    ]


def test_throttling_is_retried_and_denial_is_an_access_error() -> None:
    client = _client("elasticache", "us-east-1")
    stub = Stubber(client)
    stub.add_client_error(
        "describe_reserved_cache_nodes_offerings", service_error_code="Throttling"
    )
    stub.add_response(
        "describe_reserved_cache_nodes_offerings", {"ReservedCacheNodesOfferings": CACHE_PAGE}
    )
    stub.add_client_error(
        "describe_reserved_cache_nodes_offerings", service_error_code="AccessDenied"
    )
    stub.activate()
    waits: list[float] = []
    catalog = fetch_database_offerings(
        lambda service, region: client,
        regions=["us-east-1"],
        services=["AmazonElastiCache"],
        sleep=waits.append,
    )
    assert len(waits) == 1 and len(catalog.reserved) == 3
    with pytest.raises(AwsAccessError, match="elasticache:DescribeReservedCacheNodesOfferings"):
        fetch_database_offerings(
            lambda service, region: client, regions=["us-east-1"], services=["AmazonElastiCache"]
        )


def test_nothing_readable_is_one_error_with_the_reasons() -> None:
    client = _client("rds", "us-east-1")
    stub = Stubber(client)
    stub.add_response(
        "describe_reserved_db_instances_offerings",
        {"ReservedDBInstancesOfferings": [{**RDS_PAGE_1[3], "ProductDescription": "db2-se"}]},
    )
    stub.activate()
    with pytest.raises(PriceFileError, match=r"no reserved offering read .*1 listed: 1 AmazonRDS: "
                       r"product description 'db2-se'"):  # fmt: skip
        fetch_database_offerings(
            lambda service, region: client, regions=["us-east-1"], services=["AmazonRDS"]
        )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Duration": 63_072_000}, "Duration 63072000 s is not 1 or 3 years"),
        ({"CurrencyCode": "CNY"}, "priced in CNY, not USD"),
        ({"DBInstanceClass": "db.r6g.huge"}, "unknown DBInstanceClass"),
        ({"DBInstanceClass": "m5.large"}, "DBInstanceClass 'm5.large' is not named like a class"),
        ({"ProductDescription": "redis"}, "product description 'redis' not mapped"),
        (
            {"RecurringCharges": [{"RecurringChargeAmount": 1.0,
                                   "RecurringChargeFrequency": "Monthly"}]},
            "recurring charge of frequency 'Monthly'",
        ),
    ],
)  # fmt: skip
def test_each_skip_reason(change: dict[str, Any], reason: str) -> None:
    offering = {**RDS_PAGE_1[0], **change}
    rows = database_offering_rows(
        [offering, RDS_PAGE_1[0]], service="AmazonRDS", region="us-east-1", origin="test"
    )
    assert len(rows.reserved) == 1 and rows.read_count == 2
    assert [r for r in rows.skipped if r.startswith(reason)], rows.skipped


def test_a_repeated_offering_is_counted_once() -> None:
    rows = database_offering_rows(
        [RDS_PAGE_1[0], {**RDS_PAGE_1[0], "ReservedDBInstancesOfferingId": "z"}],
        service="AmazonRDS",
        region="us-east-1",
        origin="test",
    )
    assert len(rows.reserved) == 1 and sum(rows.skipped.values()) == 1


@pytest.mark.parametrize("value", ["abc", -5.0, True])
def test_a_bad_price_names_the_offering_and_field(value: object) -> None:
    offering = {**RDS_PAGE_1[0], "FixedPrice": value}
    with pytest.raises(PriceFileError, match=r"test: offering a1: FixedPrice is .*non-negative"):
        database_offering_rows([offering], service="AmazonRDS", region="us-east-1", origin="test")


def test_product_descriptions() -> None:
    assert product_description_platform("AmazonElastiCache", " Redis ") == "redis"
    assert product_description_platform("AmazonElastiCache", "mysql") is None
    for name in ("aurora-mysql", "aurora-postgresql", "mysql", "mariadb", "postgresql"):
        assert product_description_platform("AmazonRDS", name) == name
    assert product_description_platform("AmazonRDS", "aurora") is None
    assert product_description_platform("AmazonRDS", None) is None


def test_one_client_per_service_and_region_for_several_classes() -> None:
    client = _client("rds", "us-east-1")
    stub = Stubber(client)
    for offering in (RDS_PAGE_1[0], RDS_PAGE_2[1]):
        stub.add_response(
            "describe_reserved_db_instances_offerings",
            {"ReservedDBInstancesOfferings": [offering]},
            {"MaxRecords": 100, "DBInstanceClass": offering["DBInstanceClass"]},
        )
    stub.activate()
    made: list[tuple[str, str]] = []

    def client_for(service: str, region: str) -> Any:
        made.append((service, region))
        return client

    catalog = fetch_database_offerings(
        client_for,
        regions=["us-east-1"],
        services=["AmazonRDS"],
        instance_types=["db.r6g.large", "db.m4.large"],
    )
    stub.assert_no_pending_responses()
    assert made == [("rds", "us-east-1")]
    assert sorted(catalog.reserved["instance_type"]) == ["db.m4.large", "db.r6g.large"]


def hourly(amount: float) -> list[dict[str, Any]]:
    return [{"RecurringChargeAmount": amount, "RecurringChargeFrequency": "Hourly"}]


OPENSEARCH_OFFERINGS = [
    {"ReservedInstanceOfferingId": "0a5d1a10-0000-4000-8000-000000000001",
     "InstanceType": "r6g.large.search", "Duration": ONE_YEAR_S, "FixedPrice": 0.0,
     "UsagePrice": 0.0, "CurrencyCode": "USD", "PaymentOption": "NO_UPFRONT",
     "RecurringCharges": hourly(0.115)},
    {"ReservedInstanceOfferingId": "0a5d1a10-0000-4000-8000-000000000002",
     "InstanceType": "r6g.large.search", "Duration": THREE_YEARS_S, "FixedPrice": 2106.0,
     "UsagePrice": 0.0, "CurrencyCode": "USD", "PaymentOption": "ALL_UPFRONT",
     "RecurringCharges": []},
    {"ReservedInstanceOfferingId": "0a5d1a10-0000-4000-8000-000000000003",
     "InstanceType": "m5.large.search", "Duration": ONE_YEAR_S, "FixedPrice": 500.0,
     "UsagePrice": 0.0, "CurrencyCode": "USD", "PaymentOption": "PARTIAL_UPFRONT",
     "RecurringCharges": hourly(0.05)},
]  # fmt: skip
REDSHIFT_OFFERINGS = [
    {"ReservedNodeOfferingId": "r1", "NodeType": "ra3.xlplus", "Duration": THREE_YEARS_S,
     "FixedPrice": 5000.0, "UsagePrice": 0.0, "CurrencyCode": "USD",
     "OfferingType": "Partial Upfront", "RecurringCharges": hourly(0.2),
     "ReservedNodeOfferingType": "Regular"},
    {"ReservedNodeOfferingId": "r2", "NodeType": "dc2.large", "Duration": ONE_YEAR_S,
     "FixedPrice": 1380.0, "UsagePrice": 0.0, "CurrencyCode": "USD",
     "OfferingType": "All Upfront", "RecurringCharges": [], "ReservedNodeOfferingType": "Regular"},
    {"ReservedNodeOfferingId": "r3", "NodeType": "dc2.large", "Duration": ONE_YEAR_S,
     "FixedPrice": 750.0, "UsagePrice": 0.0, "CurrencyCode": "USD",
     "OfferingType": "Heavy Utilization", "RecurringCharges": hourly(0.03)},
    {"ReservedNodeOfferingId": "r4", "NodeType": "dc2.large", "Duration": ONE_YEAR_S,
     "FixedPrice": 1300.0, "UsagePrice": 0.0, "CurrencyCode": "USD",
     "OfferingType": "All Upfront", "RecurringCharges": [],
     "ReservedNodeOfferingType": "Upgradable"},
]  # fmt: skip
MEMORYDB_OFFERINGS = [
    {"ReservedNodesOfferingId": "m1", "NodeType": "db.r6g.large", "Duration": ONE_YEAR_S,
     "FixedPrice": 0.0, "OfferingType": "No Upfront", "RecurringCharges": hourly(0.216)},
    {"ReservedNodesOfferingId": "m2", "NodeType": "db.r6g.large", "Duration": 63_072_000,
     "FixedPrice": 2000.0, "OfferingType": "All Upfront", "RecurringCharges": []},
]  # fmt: skip


def test_node_services_offerings_through_their_apis() -> None:
    opensearch = _client("opensearch", "us-east-1")
    redshift = _client("redshift", "us-east-1")
    memorydb = _client("memorydb", "us-east-1")
    stubs = [Stubber(c) for c in (opensearch, redshift, memorydb)]
    stubs[0].add_response(
        "describe_reserved_instance_offerings",
        {"ReservedInstanceOfferings": OPENSEARCH_OFFERINGS[:2], "NextToken": "n2"},
        {"MaxResults": 100},
    )
    stubs[0].add_response(
        "describe_reserved_instance_offerings",
        {"ReservedInstanceOfferings": OPENSEARCH_OFFERINGS[2:]},
        {"MaxResults": 100, "NextToken": "n2"},
    )
    stubs[1].add_response(
        "describe_reserved_node_offerings",
        {"ReservedNodeOfferings": REDSHIFT_OFFERINGS},
        {"MaxRecords": 100},
    )
    stubs[2].add_response(
        "describe_reserved_nodes_offerings",
        {"ReservedNodesOfferings": MEMORYDB_OFFERINGS},
        {"MaxResults": 100},
    )
    for stub in stubs:
        stub.activate()
    clients = {"opensearch": opensearch, "redshift": redshift, "memorydb": memorydb}
    catalog = fetch_database_offerings(
        lambda name, _region: clients[name],
        regions=["us-east-1"],
        services=["AmazonES", "AmazonRedshift", "AmazonMemoryDB"],
    )
    for stub in stubs:
        stub.assert_no_pending_responses()
    reserved = catalog.reserved.set_index(
        ["instance_type", "platform", "term_years", "payment_option"]
    )[["upfront_usd", "recurring_usd_per_hour"]]
    assert reserved.to_dict("index") == {
        ("m5.large.search", "opensearch", 1, "Partial Upfront"):
            {"upfront_usd": 500.0, "recurring_usd_per_hour": 0.05},
        ("r6g.large.search", "opensearch", 1, "No Upfront"):
            {"upfront_usd": 0.0, "recurring_usd_per_hour": 0.115},
        ("r6g.large.search", "opensearch", 3, "All Upfront"):
            {"upfront_usd": 2106.0, "recurring_usd_per_hour": 0.0},
        ("dc2.large", "redshift", 1, "All Upfront"):
            {"upfront_usd": 1380.0, "recurring_usd_per_hour": 0.0},
        ("ra3.xlplus", "redshift", 3, "Partial Upfront"):
            {"upfront_usd": 5000.0, "recurring_usd_per_hour": 0.2},
        ("db.r6g.large", "memorydb", 1, "No Upfront"):
            {"upfront_usd": 0.0, "recurring_usd_per_hour": 0.216},
    }  # fmt: skip
    assert set(catalog.reserved["tenancy"]) == {"Node"}
    notes = catalog.metadata.notes
    assert "skipped 1 offering(s): AmazonRedshift: OfferingType 'Heavy Utilization' (legacy or " \
        "unknown; not No/Partial/All Upfront)" in notes  # fmt: skip
    assert "skipped 1 offering(s): AmazonRedshift: ReservedNodeOfferingType 'Upgradable' (only " \
        "Regular is read)" in notes  # fmt: skip
    assert "skipped 1 offering(s): AmazonMemoryDB: Duration 63072000 s is not 1 or 3 years" in notes


def test_opensearch_and_redshift_are_filtered_here_memorydb_by_the_api() -> None:
    opensearch = _client("opensearch", "eu-west-1")
    memorydb = _client("memorydb", "eu-west-1")
    os_stub, mdb_stub = Stubber(opensearch), Stubber(memorydb)
    os_stub.add_response(
        "describe_reserved_instance_offerings",
        {"ReservedInstanceOfferings": OPENSEARCH_OFFERINGS},
        {"MaxResults": 100},  # the API takes no instance type
    )
    mdb_stub.add_response(
        "describe_reserved_nodes_offerings",
        {"ReservedNodesOfferings": MEMORYDB_OFFERINGS[:1]},
        {"MaxResults": 100, "NodeType": "db.r6g.large"},
    )
    os_stub.activate()
    mdb_stub.activate()
    clients = {"opensearch": opensearch, "memorydb": memorydb}
    catalog = fetch_database_offerings(
        lambda name, _region: clients[name],
        regions=["eu-west-1"],
        services=["AmazonES", "AmazonRedshift", "AmazonMemoryDB"],  # Redshift: none named
        instance_types=["m5.large.search", "db.r6g.large"],
    )
    os_stub.assert_no_pending_responses()
    mdb_stub.assert_no_pending_responses()
    assert sorted(catalog.reserved["instance_type"]) == ["db.r6g.large", "m5.large.search"]


@pytest.mark.parametrize(
    ("service", "offering", "reason"),
    [
        ("AmazonES", {**OPENSEARCH_OFFERINGS[0], "PaymentOption": "HEAVY"},
         "PaymentOption 'HEAVY' (unknown; not NO/PARTIAL/ALL_UPFRONT)"),
        ("AmazonES", {**OPENSEARCH_OFFERINGS[0], "InstanceType": "r6g.large"},
         "InstanceType 'r6g.large' is not named like a class of OpenSearch"),
        ("AmazonRedshift", {**REDSHIFT_OFFERINGS[0], "NodeType": "m5.large"},
         "NodeType 'm5.large' is not named like a class of Redshift"),
        ("AmazonMemoryDB", {**MEMORYDB_OFFERINGS[0], "NodeType": "db.r6g.huge"},
         "unknown NodeType (no normalized size)"),
    ],
)  # fmt: skip
def test_node_skip_reasons(service: str, offering: dict[str, Any], reason: str) -> None:
    rows = database_offering_rows([offering], service=service, region="us-east-1", origin="t")
    assert rows.reserved.empty and rows.skipped == {reason: 1}
