"""RDS and ElastiCache prices through the Price List API (botocore Stubber).

The ``PriceList`` items are the hand-written offers of ``tests/data/pricing`` (illustrative
rates) rearranged into the ``GetProducts`` item layout: one product with its own terms.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber

from pricing.errors import PriceFileError
from pricing.readers.aws_api import AwsAccessError
from pricing.readers.database_price_list import read_database_price_list_json
from pricing.readers.database_price_list_api import (
    database_product_filters,
    fetch_database_price_list,
)

DATA = Path(__file__).parents[2] / "data" / "pricing"
RDS_JSON = DATA / "pricelist_AmazonRDS_illustrative.json"
CACHE_JSON = DATA / "pricelist_AmazonElastiCache_illustrative.json"


def items(offer: Path, region: str) -> list[str]:
    """The offer's products of one region as ``GetProducts`` entries (JSON strings)."""
    document = json.loads(offer.read_text())
    entries = []
    for sku, product in document["products"].items():
        if product["attributes"].get("regionCode") != region:
            continue
        terms = {kind: document["terms"][kind].get(sku, {}) for kind in ("OnDemand", "Reserved")}
        entries.append(
            json.dumps(
                {
                    "product": product,
                    "serviceCode": document["offerCode"],
                    "terms": terms,
                    "version": document["version"],
                    "publicationDate": document["publicationDate"],
                }
            )
        )
    return entries


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def request(service: str, region: str, token: str | None = None) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "ServiceCode": service,
        "FormatVersion": "aws_v1",
        "Filters": database_product_filters(service, region, None),
        "MaxResults": 100,
    }
    if token:
        parameters["NextToken"] = token
    return parameters


def test_fetch_gives_what_the_bulk_offer_gives(client: Any) -> None:
    rds = items(RDS_JSON, "us-east-1")
    stub = Stubber(client)
    stub.add_client_error("get_products", service_error_code="ThrottlingException")
    stub.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": rds[:3], "NextToken": "t2"},
        request("AmazonRDS", "us-east-1"),
    )
    stub.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": rds[3:]},
        request("AmazonRDS", "us-east-1", "t2"),
    )
    stub.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": items(CACHE_JSON, "us-east-1")},
        request("AmazonElastiCache", "us-east-1"),
    )
    stub.activate()
    catalog = fetch_database_price_list(client, regions=["us-east-1"], sleep=lambda _s: None)
    stub.assert_no_pending_responses()
    assert catalog.metadata.as_of == date(2025, 10, 1)
    assert catalog.metadata.source == (
        "AWS Price List API GetProducts AmazonRDS+AmazonElastiCache 20251001000000"
    )
    bulk = pd.concat(
        [
            read_database_price_list_json(path, regions=["us-east-1"]).on_demand
            for path in (RDS_JSON, CACHE_JSON)
        ]
    )
    key = ["region", "instance_type", "platform", "tenancy"]
    pd.testing.assert_frame_equal(
        catalog.on_demand.drop(columns="source").sort_values(key).reset_index(drop=True),
        bulk.drop(columns="source").sort_values(key).reset_index(drop=True),
    )
    assert len(catalog.reserved) == 6 + 3  # RDS in us-east-1: 6 offerings; ElastiCache: 3
    assert any("engine Oracle not mapped yet" in note for note in catalog.metadata.notes)


def test_a_class_filter_and_an_access_error(client: Any) -> None:
    stub = Stubber(client)
    filters = database_product_filters("AmazonElastiCache", "us-east-1", "cache.r6g.large")
    assert filters[-1] == {
        "Type": "TERM_MATCH",
        "Field": "instanceType",
        "Value": "cache.r6g.large",
    }
    stub.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": items(CACHE_JSON, "us-east-1")[:2]},
        {"ServiceCode": "AmazonElastiCache", "FormatVersion": "aws_v1", "Filters": filters,
         "MaxResults": 100},
    )  # fmt: skip
    stub.add_client_error("get_products", service_error_code="AccessDeniedException")
    stub.activate()
    catalog = fetch_database_price_list(
        client,
        regions=["us-east-1"],
        instance_types=["cache.r6g.large", "db.r6g.large"],
        services=["AmazonElastiCache"],
    )
    assert set(catalog.on_demand["platform"]) == {"redis", "valkey"}
    with pytest.raises(AwsAccessError, match="pricing:GetProducts"):
        fetch_database_price_list(client, regions=["us-east-1"], services=["AmazonRDS"])


def test_nothing_returned_and_a_bad_entry_are_errors(client: Any) -> None:
    stub = Stubber(client)
    stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": []})
    stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": ["{not json"]})
    stub.activate()
    with pytest.raises(PriceFileError, match="no AmazonRDS instance prices returned"):
        fetch_database_price_list(client, regions=["eu-west-1"], services=["AmazonRDS"])
    with pytest.raises(PriceFileError, match="page 1 holds a PriceList entry that is not JSON"):
        fetch_database_price_list(client, regions=["eu-west-1"], services=["AmazonRDS"])


NODE_OFFERS = {
    "AmazonES": DATA / "pricelist_AmazonES_illustrative.json",
    "AmazonRedshift": DATA / "pricelist_AmazonRedshift_illustrative.json",
    "AmazonMemoryDB": DATA / "pricelist_AmazonMemoryDB_illustrative.json",
}


def test_node_services_are_fetched_like_their_bulk_offers(client: Any) -> None:
    assert [f["Value"] for f in database_product_filters("AmazonES", "us-east-1", None)] == [
        "us-east-1", "Amazon OpenSearch Service Instance",
    ]  # fmt: skip
    assert [f["Value"] for f in database_product_filters("AmazonRedshift", "us-east-1", None)] == [
        "us-east-1", "Compute Instance",
    ]  # fmt: skip
    # MemoryDB's product family is not documented: only the region (and class) filter
    assert database_product_filters("AmazonMemoryDB", "us-east-1", "db.r6g.large") == [
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"},
        {"Type": "TERM_MATCH", "Field": "instanceType", "Value": "db.r6g.large"},
    ]
    stub = Stubber(client)
    for service, path in NODE_OFFERS.items():
        stub.add_response(
            "get_products",
            {"FormatVersion": "aws_v1", "PriceList": items(path, "us-east-1")},
            request(service, "us-east-1"),
        )
    stub.activate()
    catalog = fetch_database_price_list(
        client, regions=["us-east-1"], services=list(NODE_OFFERS), sleep=lambda _s: None
    )
    stub.assert_no_pending_responses()
    bulk = pd.concat(
        [read_database_price_list_json(p).filter(regions=["us-east-1"]).reserved
         for p in NODE_OFFERS.values()]
    )  # fmt: skip
    key = ["region", "instance_type", "platform", "tenancy", "term_years", "payment_option"]
    pd.testing.assert_frame_equal(
        catalog.reserved.drop(columns="source").sort_values(key).reset_index(drop=True),
        bulk.drop(columns="source").sort_values(key).reset_index(drop=True),
    )
    on_demand = catalog.on_demand.set_index(["instance_type", "platform"])
    assert on_demand["on_demand_usd_per_hour"].to_dict() == {
        ("r6g.large.search", "opensearch"): 0.167, ("dc2.large", "redshift"): 0.25,
        ("db.r6g.large", "memorydb"): 0.309, ("db.r6g.large", "memorydb-valkey"): 0.2163,
    }  # fmt: skip  # a MemoryDB Valkey node keys to its own platform, with its own rate
    assert not any("Valkey" in note for note in catalog.metadata.notes)


def test_a_node_type_filter_queries_only_its_service(client: Any) -> None:
    stub = Stubber(client)
    stub.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": items(NODE_OFFERS["AmazonRedshift"], "us-west-2")},
        {"ServiceCode": "AmazonRedshift", "FormatVersion": "aws_v1", "MaxResults": 100,
         "Filters": database_product_filters("AmazonRedshift", "us-west-2", "ra3.xlplus")},
    )  # fmt: skip
    stub.activate()
    catalog = fetch_database_price_list(
        client,
        regions=["us-west-2"],
        services=["AmazonRedshift", "AmazonES"],
        instance_types=["ra3.xlplus"],
    )
    stub.assert_no_pending_responses()
    assert catalog.reserved["upfront_usd"].tolist() == [5000.0]
