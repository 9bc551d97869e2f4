"""Stubbed AWS clients and a small plan for the approval and purchase tests (botocore Stubber)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import boto3
from botocore.stub import Stubber

from commitopt.plans import PurchaseLine
from commitopt.purchase import line_token, lookup_call, purchase_call
from commitopt.purchase_databases import database_api

FAKE_ACCESS_KEY = "AKIAFAKEFAKEFAKE1234"
FAKE_SECRET_KEY = "fAkE/SeCrEt+KeY/never-to-be-printed-0123456789"

PORTFOLIO: dict[str, Any] = {
    "purchases": [
        {"kind": "reserved_instance", "id": "rec-1", "region": "us-east-1",
         "instance_type": "c5.large", "platform": "Linux/UNIX", "tenancy": "Shared",
         "scope": "Region", "offering_class": "standard", "term_years": 1,
         "payment_option": "No Upfront", "count": 2, "upfront_usd": 0.0,
         "recurring_usd_per_hour": 0.054},
        {"kind": "reserved_instance", "id": "rec-2", "region": "eu-west-1",
         "instance_type": "m5.xlarge", "platform": "Windows", "tenancy": "Shared",
         "scope": "Region", "offering_class": "convertible", "term_years": 3,
         "payment_option": "Partial Upfront", "count": 3, "upfront_usd": 1500.0,
         "recurring_usd_per_hour": 0.1},
        {"kind": "compute_savings_plan", "id": "rec-3", "term_years": 1,
         "payment_option": "Partial Upfront", "commitment_usd_per_hour": 1.5,
         "upfront_usd": 6570.0, "recurring_usd_per_hour": 0.75},
        {"kind": "ec2_instance_savings_plan", "id": "rec-4", "region": "us-east-1",
         "instance_family": "m5", "term_years": 1, "payment_option": "No Upfront",
         "commitment_usd_per_hour": 0.25, "upfront_usd": 0.0},
    ],
    "summary": {"savings_usd": 1234.5, "savings_pct": 21.0, "upfront_cash_usd": 8070.0},
}  # fmt: skip


DATABASE_PORTFOLIO: dict[str, Any] = {
    "purchases": [
        {"kind": "reserved_instance", "id": "db-1", "service": "AmazonRDS",
         "region": "us-east-1", "instance_type": "db.r4.large", "platform": "aurora-mysql",
         "tenancy": "Single-AZ", "scope": "Region", "offering_class": "standard",
         "term_years": 1, "payment_option": "No Upfront", "count": 2, "upfront_usd": 0.0,
         "recurring_usd_per_hour": 0.17},
        {"kind": "reserved_instance", "id": "db-2", "service": "AmazonRDS",
         "region": "eu-west-1", "instance_type": "db.m4.large", "platform": "mariadb",
         "tenancy": "Multi-AZ", "scope": "Region", "offering_class": "standard",
         "term_years": 3, "payment_option": "Partial Upfront", "count": 1,
         "upfront_usd": 2000.0, "recurring_usd_per_hour": 0.08},
        {"kind": "reserved_instance", "id": "cache-1", "service": "AmazonElastiCache",
         "region": "us-east-1", "instance_type": "cache.r6g.large", "platform": "redis",
         "tenancy": "Node", "scope": "Region", "offering_class": "standard", "term_years": 1,
         "payment_option": "All Upfront", "count": 3, "upfront_usd": 3000.0,
         "recurring_usd_per_hour": 0.0},
    ],
    "summary": {"savings_usd": 100.0, "savings_pct": 20.0, "upfront_cash_usd": 5000.0},
}  # fmt: skip
"""Two RDS lines (Aurora Single-AZ; MariaDB Multi-AZ, 3 years) and one ElastiCache line."""


_SESSIONS: list[boto3.session.Session] = []


def fake_session() -> boto3.session.Session:
    """A boto3 session with fake credentials (the secret must never be printed).

    One session is shared: it caches the service models, so a client costs 20 ms, not 300.
    """
    if not _SESSIONS:
        _SESSIONS.append(
            boto3.session.Session(
                aws_access_key_id=FAKE_ACCESS_KEY, aws_secret_access_key=FAKE_SECRET_KEY
            )
        )
    return _SESSIONS[0]


class StubbedClients:
    """A client factory handing out one stubbed client per (service, region)."""

    def __init__(self) -> None:
        self.session = fake_session()
        self.clients: dict[tuple[str, str], Any] = {}
        self.stubs: dict[tuple[str, str], Stubber] = {}
        self.made: list[tuple[str, str]] = []

    def stub(self, service: str, region: str) -> Stubber:
        key = (service, region)
        if key not in self.clients:
            client = self.session.client(service, region_name=region)  # type: ignore[call-overload]
            stub = Stubber(client)
            stub.activate()
            self.clients[key] = client
            self.stubs[key] = stub
        return self.stubs[key]

    def __call__(self, service: str, region: str) -> Any:
        self.stub(service, region)
        self.made.append((service, region))
        return self.clients[(service, region)]

    def assert_done(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


def offering_id(line: PurchaseLine) -> str:
    return f"{'ri' if line.is_reserved_instance else 'sp'}-offering-{line.number}"


def database_reservation(
    line: PurchaseLine, reservation: str, *, state: str = "active", **changes: Any
) -> dict[str, Any]:
    """The reservation a database line bought, as ``describe_reserved_*`` lists it."""
    api = database_api(line)
    assert api is not None
    c = line.commitment
    item: dict[str, Any] = {
        api.id_field: reservation, api.offering_id_field: offering_id(line),
        api.class_field: c.instance_type, "Duration": 31_536_000 * c.term_years,
        "FixedPrice": c.upfront_usd / int(c.count or 1), "UsagePrice": 0.0,
        api.count_field: c.count, "ProductDescription": c.platform,
        "OfferingType": c.payment_option, "State": state,
        "RecurringCharges": [{"RecurringChargeAmount": c.recurring_usd_per_hour,
                              "RecurringChargeFrequency": "Hourly"}],
    }  # fmt: skip
    if api.service == "rds":
        item.update(CurrencyCode="USD", MultiAZ=c.tenancy == "Multi-AZ")
    item.update(changes)
    return item


def _expect_database_lookup(
    clients: StubbedClients, line: PurchaseLine, price_factor: float
) -> None:
    """A look-up answered with the line's offering among others that only partially match."""
    api = database_api(line)
    assert api is not None
    call = lookup_call(line)
    c = line.commitment
    exact = database_reservation(line, "", **{api.offering_id_field: offering_id(line)})
    for name in (api.id_field, api.count_field, "State"):
        exact.pop(name)
    exact["FixedPrice"] *= price_factor
    exact["RecurringCharges"][0]["RecurringChargeAmount"] *= price_factor
    # the ProductDescription filter matches partially: aurora-mysql also finds "aurora-mysql-x"
    partial = {**exact, api.offering_id_field: "partial", "ProductDescription": f"{c.platform}-x",
               "FixedPrice": 0.0, "RecurringCharges": []}  # fmt: skip
    clients.stub(call.service, call.region).add_response(
        call.operation, {api.offerings_field: [partial, exact]}, dict(call.parameters)
    )


def expect_lookup(
    clients: StubbedClients, line: PurchaseLine, *, price_factor: float = 1.0
) -> None:
    """Queue the offering look-up of a line, answered with an offering at the plan's price."""
    if database_api(line) is not None:
        _expect_database_lookup(clients, line, price_factor)
        return
    call = lookup_call(line)
    c = line.commitment
    stub = clients.stub(call.service, call.region)
    if line.is_reserved_instance:
        count = int(c.count or 1)
        base = {
            "InstanceType": c.instance_type, "ProductDescription": c.platform,
            "InstanceTenancy": "default", "OfferingClass": c.offering_class,
            "OfferingType": c.payment_option, "Duration": call.parameters["MinDuration"],
            "UsagePrice": 0.0, "CurrencyCode": "USD", "Scope": c.scope,
        }  # fmt: skip
        response = {
            "ReservedInstancesOfferings": [
                # a cheaper Marketplace offering must be ignored
                {**base, "ReservedInstancesOfferingId": "marketplace-1", "Marketplace": True,
                 "FixedPrice": 0.0, "RecurringCharges": [{"Amount": 0.001, "Frequency": "Hourly"}]},
                {**base, "ReservedInstancesOfferingId": offering_id(line), "Marketplace": False,
                 "FixedPrice": price_factor * c.upfront_usd / count,
                 "RecurringCharges": [
                     {"Amount": price_factor * float(c.recurring_usd_per_hour or 0.0),
                      "Frequency": "Hourly"}]},
            ]
        }  # fmt: skip
        stub.add_response("describe_reserved_instances_offerings", response, dict(call.parameters))
        return
    properties = (
        [{"name": "region", "value": c.region},
         {"name": "instanceFamily", "value": c.instance_family}]
        if c.region
        else []
    )  # fmt: skip
    response = {
        "searchResults": [
            {"offeringId": offering_id(line), "planType": call.parameters["planTypes"][0],
             "paymentOption": c.payment_option, "durationSeconds": call.parameters["durations"][0],
             "currency": "USD", "properties": properties}
        ]
    }  # fmt: skip
    stub.add_response("describe_savings_plans_offerings", response, dict(call.parameters))


def expect_purchase(
    clients: StubbedClients,
    line: PurchaseLine,
    plan_sha256: str,
    *,
    error_code: str | None = None,
) -> str:
    """Queue the purchase of a line; return the id AWS answers with."""
    token = line_token(plan_sha256, line)
    call = purchase_call(line, token, offering_id(line))
    stub = clients.stub(call.service, call.region)
    new_id = f"{'ri' if line.is_reserved_instance else 'sp'}-bought-{line.number}"
    if error_code is not None:
        stub.add_client_error(
            call.operation,
            service_error_code=error_code,
            service_message="refused",
            expected_params=dict(call.parameters),
        )
        return ""
    api = database_api(line)
    if api is not None:
        stub.add_response(
            call.operation, {api.answer_field: database_reservation(line, token)},
            dict(call.parameters),
        )  # fmt: skip
        return token
    answer = (
        {"ReservedInstancesId": new_id} if line.is_reserved_instance else {"savingsPlanId": new_id}
    )
    stub.add_response(call.operation, answer, dict(call.parameters))
    return new_id


def expect_execution(
    clients: StubbedClients,
    lines: Sequence[PurchaseLine],
    plan_sha256: str,
    *,
    buy: Iterable[int] | None = None,
) -> None:
    """Queue look-ups of every line to buy, then their purchases (the order execution uses)."""
    chosen = [line for line in lines if buy is None or line.number in set(buy)]
    for line in chosen:
        expect_lookup(clients, line)
    for line in chosen:
        expect_purchase(clients, line, plan_sha256)
