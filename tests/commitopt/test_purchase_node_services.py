"""OpenSearch, Redshift and MemoryDB reservations and an exact-size RDS engine bought through
botocore's Stubber: dry run, one purchase each, no second purchase on a retry, a moved price
refused, and Redshift's retry rule (its purchase names no reservation)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from commitopt.approvals import approve
from commitopt.plans import PlanRecord, PurchaseLine, purchase_events, store_plan
from commitopt.purchase import (
    REDSHIFT_LISTING_DELAY,
    LineInDoubtError,
    PriceMovedError,
    PurchaseError,
    dry_run,
    execute_plan,
    line_token,
    purchase_call,
)
from commitopt.purchase_calls import LOOKED_UP
from commitopt.purchase_databases import APIS, database_api, reservation_id
from commitopt.workspace import Workspace
from pricing.databases import MEMORYDB, OPENSEARCH, REDSHIFT
from tests.cli.conftest import commitopt_env, commitopt_script, run_commitopt
from tests.commitopt.identities import ANN, PLANNER, isolated_aws, os_user_env
from tests.commitopt.purchase_stubs import StubbedClients
from tests.commitopt.purchase_stubs import expect_lookup as expect_rds_lookup
from tests.commitopt.purchase_stubs import expect_purchase as expect_rds_purchase

__all__ = ["isolated_aws"]
pytestmark = pytest.mark.usefixtures("isolated_aws")

YEAR_S = 31_536_000
SEARCH_OFFERING = "6d1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
SEARCH_BOUGHT = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"

NODE_PORTFOLIO: dict[str, Any] = {
    "purchases": [
        {"kind": "reserved_instance", "id": "search-1", "service": "AmazonES",
         "region": "us-east-1", "instance_type": "r6g.large.search", "platform": "opensearch",
         "tenancy": "Node", "term_years": 1, "payment_option": "No Upfront", "count": 2,
         "upfront_usd": 0.0, "recurring_usd_per_hour": 0.1},
        {"kind": "reserved_instance", "id": "rs-1", "service": "AmazonRedshift",
         "region": "us-east-1", "instance_type": "ra3.xlplus", "platform": "redshift",
         "tenancy": "Node", "term_years": 1, "payment_option": "All Upfront", "count": 2,
         "upfront_usd": 1752.0, "recurring_usd_per_hour": 0.0},
        {"kind": "reserved_instance", "id": "mem-1", "service": "AmazonMemoryDB",
         "region": "eu-west-1", "instance_type": "db.r6g.large", "platform": "memorydb",
         "tenancy": "Node", "term_years": 1, "payment_option": "Partial Upfront", "count": 1,
         "upfront_usd": 500.0, "recurring_usd_per_hour": 0.05},
        {"kind": "reserved_instance", "id": "sql-1", "service": "AmazonRDS",
         "region": "us-east-1", "instance_type": "db.m5.large", "platform": "sqlserver-se(li)",
         "tenancy": "Multi-AZ", "term_years": 1, "payment_option": "No Upfront", "count": 1,
         "upfront_usd": 0.0, "recurring_usd_per_hour": 1.2},
    ],
    "summary": {"savings_usd": 10.0, "savings_pct": 10.0, "upfront_cash_usd": 2252.0},
}  # fmt: skip
"""One line of each service, and a SQL Server Standard (licence included) Multi-AZ line."""


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    with Workspace.open(tmp_path / "ws.duckdb") as opened:
        yield opened


@pytest.fixture
def plan(workspace: Workspace) -> PlanRecord:
    stored = store_plan(workspace, NODE_PORTFOLIO, source="test", created_by=PLANNER)
    approve(workspace, stored.plan_id, ANN)
    return stored


def _events(workspace: Workspace, plan: PlanRecord) -> list[tuple[int, str]]:
    return [(e.line, e.state) for e in purchase_events(workspace, plan.plan_id)]


def _offering_id(line: PurchaseLine) -> str:
    return SEARCH_OFFERING if line.number == 1 else f"offering-{line.number}"


def _charges(hourly: float) -> list[dict[str, Any]]:
    return [{"RecurringChargeAmount": hourly, "RecurringChargeFrequency": "Hourly"}]


def _offering(line: PurchaseLine, price_factor: float = 1.0, **changes: Any) -> dict[str, Any]:
    """The line's offering as its service's look-up lists it."""
    c = line.commitment
    api = database_api(line)
    assert api is not None
    upfront = price_factor * c.upfront_usd / int(c.count or 1)
    hourly = price_factor * float(c.recurring_usd_per_hour or 0.0)
    item: dict[str, Any] = {
        api.offering_id_field: _offering_id(line), api.class_field: c.instance_type,
        "Duration": YEAR_S, "FixedPrice": upfront, api.payment_field: api.payment(c.payment_option),
        "RecurringCharges": _charges(hourly),
    }  # fmt: skip
    if api.service != "memorydb":
        item.update(UsagePrice=0.0, CurrencyCode="USD")
    if api.service == "redshift":
        item["ReservedNodeOfferingType"] = "Regular"
    item.update(changes)
    return item


def _reservation(line: PurchaseLine, aws_id: str, **changes: Any) -> dict[str, Any]:
    """The line's reservation as its service's listing shows it."""
    api = database_api(line)
    assert api is not None
    item = _offering(line)
    item.update({api.answer_id_field: aws_id, api.count_field: line.commitment.count})
    item.update(State="active", StartTime=datetime.now(UTC))
    if api.service == "opensearch":
        item["ReservationName"] = "someone-else"
    item.update(changes)
    return item


def _expect_lookup(clients: StubbedClients, line: PurchaseLine, price_factor: float = 1.0) -> None:
    """Queue the look-up: the line's offering among offerings that do not match it."""
    api = database_api(line)
    assert api is not None
    if api.service == "rds":
        expect_rds_lookup(clients, line, price_factor=price_factor)
        return
    c = line.commitment
    stub = clients.stub(api.service, str(c.region))
    exact = _offering(line, price_factor)
    other = "ALL_UPFRONT" if api.service == "opensearch" else "All Upfront"
    if c.payment_option == "All Upfront":
        other = "No Upfront"
    decoys = [
        {**exact, api.offering_id_field: _decoy(line, 1), api.payment_field: other},
        {**exact, api.offering_id_field: _decoy(line, 2), "Duration": 3 * YEAR_S},
    ]
    if api.service == "redshift":  # an Upgradable offering of the same node type: not bought
        decoys.append({**exact, api.offering_id_field: "upgrade", "FixedPrice": 1.0,
                       "ReservedNodeOfferingType": "Upgradable"})  # fmt: skip
    parameters: dict[str, Any] = {}
    if api.service == "memorydb":
        parameters = {"NodeType": c.instance_type, "Duration": str(YEAR_S),
                      "OfferingType": c.payment_option}  # fmt: skip
    # two pages: the exact offering on the second
    stub.add_response(
        api.lookup, {api.offerings_field: decoys, api.token: "page-2"}, dict(parameters)
    )
    stub.add_response(
        api.lookup, {api.offerings_field: [exact]}, {**parameters, api.token: "page-2"}
    )


def _decoy(line: PurchaseLine, n: int) -> str:
    if line.number == 1:
        return f"{n}d1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
    return f"decoy-{n}"


def _expect_purchase(
    clients: StubbedClients, line: PurchaseLine, digest: str, *, error_code: str | None = None
) -> str:
    """Queue the line's purchase; return the id AWS answers with."""
    api = database_api(line)
    assert api is not None
    if api.service == "rds":
        return expect_rds_purchase(clients, line, digest, error_code=error_code)
    call = purchase_call(line, line_token(digest, line), _offering_id(line))
    stub = clients.stub(call.service, call.region)
    if error_code is not None:
        stub.add_client_error(
            call.operation, service_error_code=error_code, service_message="refused",
            expected_params=dict(call.parameters),
        )  # fmt: skip
        return ""
    if api.service == "opensearch":
        answer = {"ReservedInstanceId": SEARCH_BOUGHT,
                  "ReservationName": reservation_id(digest, line.number)}  # fmt: skip
        stub.add_response(call.operation, answer, dict(call.parameters))
        return SEARCH_BOUGHT
    bought = "rn-bought" if api.service == "redshift" else reservation_id(digest, line.number)
    stub.add_response(
        call.operation, {api.answer_field: _reservation(line, bought)}, dict(call.parameters)
    )
    return bought


def _expect_search_listing(
    clients: StubbedClients, line: PurchaseLine, items: list[dict[str, Any]]
) -> None:
    """Queue OpenSearch's listing of every reserved instance (it cannot filter by name)."""
    clients.stub("opensearch", str(line.commitment.region)).add_response(
        "describe_reserved_instances", {"ReservedInstances": items}, {}
    )


def _expect_execution(
    clients: StubbedClients, plan: PlanRecord, buy: list[int], *, search_listed: bool = True
) -> None:
    """Look-ups of the lines to buy, then their purchases (OpenSearch's name checked first)."""
    chosen = [line for line in plan.lines if line.number in buy]
    for line in chosen:
        _expect_lookup(clients, line)
    for line in chosen:
        if line.number == 1 and search_listed:
            _expect_search_listing(clients, line, [_reservation(line, SEARCH_BOUGHT[::-1])])
        _expect_purchase(clients, line, plan.stored_sha256)


def test_dry_run_prints_each_services_calls_and_buys_nothing(
    workspace: Workspace, plan: PlanRecord
) -> None:
    digest = plan.stored_sha256
    search, redshift, memorydb, sql = dry_run(workspace, plan.plan_id).outcomes
    assert search.line.describe().startswith("2 × r6g.large.search opensearch Node OpenSearch ")
    assert search.lookup.render() == "opensearch[us-east-1].describe_reserved_instance_offerings()"
    assert search.purchase.to_json()["parameters"] == {
        "ReservedInstanceOfferingId": LOOKED_UP,
        "ReservationName": reservation_id(digest, 1), "InstanceCount": 2,
    }  # fmt: skip
    assert search.purchase.permission == "es:PurchaseReservedInstanceOffering"
    assert redshift.lookup.parameters == {}
    assert redshift.purchase.render() == (
        "redshift[us-east-1].purchase_reserved_node_offering(ReservedNodeOfferingId="
        "<looked up at execution>, NodeCount=2)"
    )
    assert redshift.client_token == reservation_id(digest, 2)  # journal key only, not sent
    assert memorydb.lookup.to_json()["parameters"] == {
        "NodeType": "db.r6g.large", "Duration": "31536000", "OfferingType": "Partial Upfront"
    }  # fmt: skip
    assert memorydb.purchase.to_json()["parameters"] == {
        "ReservedNodesOfferingId": LOOKED_UP, "ReservationId": reservation_id(digest, 3),
        "NodeCount": 1,
    }  # fmt: skip
    assert memorydb.purchase.region == "eu-west-1"
    assert sql.lookup.to_json()["parameters"] == {
        "DBInstanceClass": "db.m5.large", "Duration": "31536000",
        "ProductDescription": "sqlserver-se(li)", "OfferingType": "No Upfront", "MultiAZ": True,
    }  # fmt: skip
    assert [o.state for o in (search, redshift, memorydb, sql)] == ["planned"] * 4
    assert _events(workspace, plan) == []


def test_execute_buys_each_line_once_with_the_exact_offering(
    workspace: Workspace, plan: PlanRecord
) -> None:
    clients = StubbedClients()
    _expect_execution(clients, plan, [1, 2, 3, 4])
    result = execute_plan(workspace, plan.plan_id, clients=clients)
    clients.assert_done()  # each purchase made once, with the parameters expected
    digest = plan.stored_sha256
    assert [(o.state, o.aws_id) for o in result.outcomes] == [
        ("executed", SEARCH_BOUGHT), ("executed", "rn-bought"),
        ("executed", reservation_id(digest, 3)), ("executed", reservation_id(digest, 4)),
    ]  # fmt: skip
    assert result.status == "executed"
    redshift = result.outcomes[1].purchase.parameters
    assert redshift["ReservedNodeOfferingId"] == "offering-2"  # not the cheaper Upgradable one
    again = execute_plan(workspace, plan.plan_id, clients=StubbedClients())  # no AWS answers
    assert [o.state for o in again.outcomes] == ["already-executed"] * 4


def _crash_after_buying(workspace: Workspace, plan: PlanRecord, number: int) -> None:
    """AWS bought line ``number`` (the lines before it recorded), and the process died."""
    clients = StubbedClients()
    for line in plan.lines:
        _expect_lookup(clients, line)
    for line in plan.lines[:number]:
        if line.number == 1:
            _expect_search_listing(clients, line, [])
        _expect_purchase(clients, line, plan.stored_sha256)

    def crash(at: str, line: PurchaseLine) -> None:
        if at == "after-call" and line.number == number:
            raise KeyboardInterrupt("the answer was lost")

    with pytest.raises(KeyboardInterrupt):
        execute_plan(workspace, plan.plan_id, clients=clients, checkpoint=crash)
    clients.assert_done()


def test_opensearch_retry_finds_the_reservation_by_its_name(
    workspace: Workspace, plan: PlanRecord
) -> None:
    _crash_after_buying(workspace, plan, 1)
    line, digest = plan.lines[0], plan.stored_sha256
    mine = _reservation(line, SEARCH_BOUGHT, ReservationName=reservation_id(digest, 1))
    resumed = StubbedClients()
    _expect_search_listing(resumed, line, [_reservation(line, SEARCH_BOUGHT[::-1]), mine])
    _expect_execution(resumed, plan, [2, 3, 4])
    result = execute_plan(workspace, plan.plan_id, clients=resumed)
    resumed.assert_done()  # no second purchase of line 1
    assert (result.outcomes[0].state, result.outcomes[0].aws_id) == ("reconciled", SEARCH_BOUGHT)


def test_opensearch_name_checked_before_buying(workspace: Workspace, plan: PlanRecord) -> None:
    """Not listed when the in-doubt line is settled, listed by the time it would be bought: the
    check before the purchase finds it, and nothing is bought twice."""
    _crash_after_buying(workspace, plan, 1)
    line, digest = plan.lines[0], plan.stored_sha256
    mine = _reservation(line, SEARCH_BOUGHT, ReservationName=reservation_id(digest, 1))
    resumed = StubbedClients()
    _expect_search_listing(resumed, line, [])  # settling: not listed yet
    for each in plan.lines:
        _expect_lookup(resumed, each)
    _expect_search_listing(resumed, line, [mine])  # the check before buying finds it
    for each in plan.lines[1:]:
        _expect_purchase(resumed, each, digest)
    result = execute_plan(workspace, plan.plan_id, clients=resumed)
    resumed.assert_done()
    assert result.outcomes[0].state == "reconciled"
    assert "confirmed by es:DescribeReservedInstances" in result.outcomes[0].price_check
    bought = [e.line for e in purchase_events(workspace, plan.plan_id) if e.state == "executed"]
    assert sorted(bought) == [1, 2, 3, 4]


def _expect_redshift_listing(
    clients: StubbedClients, line: PurchaseLine, items: list[dict[str, Any]]
) -> None:
    clients.stub("redshift", str(line.commitment.region)).add_response(
        "describe_reserved_nodes", {"ReservedNodes": items}, {}
    )


def test_redshift_retry_takes_the_node_bought_after_the_attempt(
    workspace: Workspace, plan: PlanRecord
) -> None:
    _crash_after_buying(workspace, plan, 2)
    line = plan.lines[1]
    long_ago = datetime.now(UTC) - timedelta(days=30)
    resumed = StubbedClients()
    _expect_redshift_listing(resumed, line, [
        _reservation(line, "rn-old", StartTime=long_ago),  # bought before the attempt
        _reservation(line, "rn-three", NodeCount=3),  # another count
        _reservation(line, "rn-other", ReservedNodeOfferingId="offering-9"),  # another offering
        _reservation(line, "rn-bought", State="pending-payment"),
    ])  # fmt: skip
    _expect_execution(resumed, plan, [3, 4])
    result = execute_plan(workspace, plan.plan_id, clients=resumed)
    resumed.assert_done()  # no second purchase of line 2
    assert (result.outcomes[1].state, result.outcomes[1].aws_id) == ("reconciled", "rn-bought")
    assert result.status == "executed"


def test_redshift_retry_refuses_while_the_purchase_may_not_be_listed(
    workspace: Workspace, plan: PlanRecord
) -> None:
    _crash_after_buying(workspace, plan, 2)
    line = plan.lines[1]
    resumed = StubbedClients()
    _expect_redshift_listing(resumed, line, [])
    with pytest.raises(LineInDoubtError, match=r"AWS may not list it yet: run again after"):
        execute_plan(workspace, plan.plan_id, clients=resumed)
    resumed.assert_done()
    assert _events(workspace, plan) == [(1, "submitted"), (1, "executed"), (2, "submitted")]
    # later, still none listed: nothing was bought, so the line is bought now
    later = datetime.now(UTC) + REDSHIFT_LISTING_DELAY + timedelta(minutes=1)
    again = StubbedClients()
    _expect_redshift_listing(again, line, [])
    _expect_execution(again, plan, [2, 3, 4])
    result = execute_plan(workspace, plan.plan_id, clients=again, now=later)
    again.assert_done()
    assert [o.state for o in result.outcomes[1:]] == ["executed"] * 3


def test_redshift_retry_names_several_candidates_and_buys_nothing(
    workspace: Workspace, plan: PlanRecord
) -> None:
    _crash_after_buying(workspace, plan, 2)
    line = plan.lines[1]
    resumed = StubbedClients()
    both = [_reservation(line, "rn-a"), _reservation(line, "rn-b")]
    _expect_redshift_listing(resumed, line, both)
    with pytest.raises(LineInDoubtError, match=r"several reserved nodes .*\(rn-a, rn-b\)"):
        execute_plan(workspace, plan.plan_id, clients=resumed)
    resumed.assert_done()
    assert _events(workspace, plan)[-1] == (2, "submitted")


def test_memorydb_already_exists_is_confirmed(workspace: Workspace, plan: PlanRecord) -> None:
    line, digest = plan.lines[2], plan.stored_sha256
    rid = reservation_id(digest, 3)
    clients = StubbedClients()
    _expect_execution(clients, plan, [1, 2])
    _expect_lookup(clients, line)
    _expect_lookup(clients, plan.lines[3])
    _expect_purchase(clients, line, digest, error_code=APIS[MEMORYDB].already_exists)
    clients.stub("memorydb", "eu-west-1").add_response(
        "describe_reserved_nodes",
        {"ReservedNodes": [_reservation(line, rid)]},
        {"ReservationId": rid},
    )
    _expect_purchase(clients, plan.lines[3], digest)
    result = execute_plan(workspace, plan.plan_id, clients=clients)
    clients.assert_done()
    assert [o.state for o in result.outcomes] == ["executed", "executed", "reconciled", "executed"]
    assert "ReservedNodeAlreadyExistsFault" in result.outcomes[2].price_check


def test_memorydb_in_doubt_line_not_found_is_bought_with_the_same_id(
    workspace: Workspace, plan: PlanRecord
) -> None:
    _crash_after_buying(workspace, plan, 3)
    line, digest = plan.lines[2], plan.stored_sha256
    rid = reservation_id(digest, 3)
    resumed = StubbedClients()
    resumed.stub("memorydb", "eu-west-1").add_client_error(
        "describe_reserved_nodes", service_error_code="ReservedNodeNotFoundFault",
        expected_params={"ReservationId": rid},
    )  # fmt: skip
    _expect_lookup(resumed, line)
    _expect_lookup(resumed, plan.lines[3])
    _expect_purchase(resumed, line, digest)
    _expect_purchase(resumed, plan.lines[3], digest)
    result = execute_plan(workspace, plan.plan_id, clients=resumed)
    resumed.assert_done()
    assert result.outcomes[2].purchase.parameters["ReservationId"] == rid


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_a_moved_price_refuses_before_buying(
    workspace: Workspace, plan: PlanRecord, number: int
) -> None:
    clients = StubbedClients()
    for line in plan.lines[:number]:
        _expect_lookup(clients, line, 1.2 if line.number == number else 1.0)
    with pytest.raises(PriceMovedError, match=rf"line {number} .*20\.00 % apart.*nothing bought"):
        execute_plan(workspace, plan.plan_id, clients=clients)
    assert _events(workspace, plan) == []


def test_a_single_az_sql_server_offering_is_not_bought_for_a_multi_az_line(
    workspace: Workspace, plan: PlanRecord
) -> None:
    line = plan.lines[3]
    clients = StubbedClients()
    api = database_api(line)
    assert api is not None
    clients.stub("rds", "us-east-1").add_response(
        api.lookup,
        {api.offerings_field: [{
            "ReservedDBInstancesOfferingId": "single-az", "DBInstanceClass": "db.m5.large",
            "Duration": YEAR_S, "FixedPrice": 0.0, "UsagePrice": 0.0, "CurrencyCode": "USD",
            "OfferingType": "No Upfront", "MultiAZ": False,
            "ProductDescription": "sqlserver-se(li)", "RecurringCharges": _charges(1.2)}]},
        {"DBInstanceClass": "db.m5.large", "Duration": str(YEAR_S),
         "ProductDescription": "sqlserver-se(li)", "OfferingType": "No Upfront", "MultiAZ": True},
    )  # fmt: skip
    for each in plan.lines[:3]:
        _expect_lookup(clients, each)
    with pytest.raises(PurchaseError, match=r"line 4 .*returned no such offering; nothing bought"):
        execute_plan(workspace, plan.plan_id, clients=clients)
    assert _events(workspace, plan) == []


def test_each_service_refusing_a_reservation_id_is_its_own_code() -> None:
    assert APIS[OPENSEARCH].already_exists == "ResourceAlreadyExistsException"
    assert APIS[MEMORYDB].already_exists == "ReservedNodeAlreadyExistsFault"
    assert not APIS[REDSHIFT].has_reservation_id and not APIS[REDSHIFT].already_exists


def test_the_installed_command_prints_the_node_service_calls(tmp_path: Path) -> None:
    """``commitopt purchase PLAN --format json`` in a subprocess: no AWS, the exact calls."""
    (tmp_path / "plan.json").write_text(json.dumps(NODE_PORTFOLIO), encoding="utf-8")

    def run(user: str, *args: str) -> Any:
        env = commitopt_env(tmp_path, **os_user_env(user))
        return run_commitopt(commitopt_script(), args, cwd=tmp_path, env=env)

    added = run("planner", "plans", "add", "plan.json", "--format", "json")
    assert added.exit_code == 0, added
    plan_id = json.loads(added.stdout)["plan_id"]
    assert run("ann", "approve", plan_id).exit_code == 0
    printed = run("planner", "purchase", plan_id, "--format", "json")
    assert printed.exit_code == 0, printed
    payload = json.loads(printed.stdout)
    digest = payload["sha256"]
    calls = [(line["purchase"]["service"], line["purchase"]["operation"],
              line["purchase"]["parameters"]) for line in payload["lines"]]  # fmt: skip
    assert calls == [
        ("opensearch", "purchase_reserved_instance_offering",
         {"ReservedInstanceOfferingId": LOOKED_UP, "ReservationName": reservation_id(digest, 1),
          "InstanceCount": 2}),
        ("redshift", "purchase_reserved_node_offering",
         {"ReservedNodeOfferingId": LOOKED_UP, "NodeCount": 2}),
        ("memorydb", "purchase_reserved_nodes_offering",
         {"ReservedNodesOfferingId": LOOKED_UP, "ReservationId": reservation_id(digest, 3),
          "NodeCount": 1}),
        ("rds", "purchase_reserved_db_instances_offering",
         {"ReservedDBInstancesOfferingId": LOOKED_UP, "ReservedDBInstanceId":
          reservation_id(digest, 4), "DBInstanceCount": 1}),
    ]  # fmt: skip
    assert all(line["state"] == "planned" for line in payload["lines"])
