"""RDS and ElastiCache reservations bought through botocore's Stubber: dry run, one purchase,
no second purchase after a lost answer, a moved price refused."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from commitopt.approvals import approve
from commitopt.plans import PlanRecord, PurchaseLine, purchase_events, store_plan
from commitopt.purchase import (
    LineInDoubtError,
    PriceMovedError,
    PurchaseError,
    dry_run,
    execute_plan,
    line_token,
    lookup_call,
)
from commitopt.purchase_databases import APIS, database_api, reservation_id
from commitopt.workspace import Workspace
from pricing.databases import ELASTICACHE, RDS
from tests.cli.conftest import commitopt_env, commitopt_script, run_commitopt
from tests.commitopt.identities import ANN, PLANNER, isolated_aws, os_user_env
from tests.commitopt.purchase_stubs import (
    DATABASE_PORTFOLIO,
    StubbedClients,
    database_reservation,
    expect_execution,
    expect_lookup,
    expect_purchase,
    offering_id,
)

__all__ = ["isolated_aws"]
pytestmark = pytest.mark.usefixtures("isolated_aws")


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    with Workspace.open(tmp_path / "ws.duckdb") as opened:
        yield opened


@pytest.fixture
def plan(workspace: Workspace) -> PlanRecord:
    stored = store_plan(workspace, DATABASE_PORTFOLIO, source="test", created_by=PLANNER)
    approve(workspace, stored.plan_id, ANN)
    return stored


def _events(workspace: Workspace, plan: PlanRecord) -> list[tuple[int, str]]:
    return [(e.line, e.state) for e in purchase_events(workspace, plan.plan_id)]


def _expect_describe(
    clients: StubbedClients, line: PurchaseLine, reservation: str, item: dict[str, Any] | None
) -> None:
    """Queue ``describe_reserved_*(Reserved…Id=reservation)``: ``item``, or AWS's NotFound."""
    api = database_api(line)
    assert api is not None
    stub = clients.stub(api.service, str(line.commitment.region))
    if item is None:
        stub.add_client_error(
            api.describe, service_error_code=api.not_found, http_status_code=404,
            expected_params={api.id_field: reservation},
        )  # fmt: skip
        return
    stub.add_response(api.describe, {api.reservations_field: [item]}, {api.id_field: reservation})


def test_reservation_ids_follow_the_strictest_identifier_rules() -> None:
    digest = "AB" * 32
    text = reservation_id(digest, 123)
    assert text == f"commitopt-{'ab' * 20}-l123"
    assert len(text) <= 63 and re.fullmatch(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*", text)
    assert reservation_id(digest, 1) != reservation_id(digest, 2)
    assert reservation_id("cd" * 32, 1) != reservation_id(digest, 1)


def test_dry_run_prints_each_services_calls(workspace: Workspace, plan: PlanRecord) -> None:
    result = dry_run(workspace, plan.plan_id)
    digest = plan.stored_sha256
    aurora, mariadb, redis = result.outcomes
    assert aurora.client_token == reservation_id(digest, 1) == line_token(digest, aurora.line)
    assert aurora.line.describe() == (
        "2 × db.r4.large aurora-mysql Single-AZ RDS reservation, us-east-1, 1y No Upfront"
    )
    assert redis.line.describe().startswith("3 × cache.r6g.large redis Node ElastiCache reserv")
    assert aurora.lookup.to_json() == {
        "service": "rds", "region": "us-east-1",
        "operation": "describe_reserved_db_instances_offerings",
        "permission": "rds:DescribeReservedDBInstancesOfferings",
        "parameters": {"DBInstanceClass": "db.r4.large", "Duration": "31536000",
                       "ProductDescription": "aurora-mysql", "OfferingType": "No Upfront",
                       "MultiAZ": False},
    }  # fmt: skip
    assert aurora.purchase.render() == (
        "rds[us-east-1].purchase_reserved_db_instances_offering(ReservedDBInstancesOfferingId="
        f"<looked up at execution>, ReservedDBInstanceId='{reservation_id(digest, 1)}', "
        "DBInstanceCount=2)"
    )
    assert dict(mariadb.lookup.parameters)["MultiAZ"] is True  # tenancy Multi-AZ
    assert dict(mariadb.lookup.parameters)["Duration"] == "94608000"
    assert mariadb.purchase.region == "eu-west-1"
    assert redis.lookup.to_json()["parameters"] == {
        "CacheNodeType": "cache.r6g.large", "Duration": "31536000",
        "ProductDescription": "redis", "OfferingType": "All Upfront",
    }  # fmt: skip
    assert redis.purchase.to_json()["parameters"] == {
        "ReservedCacheNodesOfferingId": "<looked up at execution>",
        "ReservedCacheNodeId": reservation_id(digest, 3), "CacheNodeCount": 3,
    }  # fmt: skip
    assert redis.purchase.permission == "elasticache:PurchaseReservedCacheNodesOffering"
    assert _events(workspace, plan) == []


def test_execute_buys_each_line_once_with_the_exact_offering(
    workspace: Workspace, plan: PlanRecord
) -> None:
    clients = StubbedClients()
    expect_execution(clients, plan.lines, plan.stored_sha256)
    result = execute_plan(workspace, plan.plan_id, clients=clients)
    clients.assert_done()  # each purchase made once, with the parameters expected
    digest = plan.stored_sha256
    assert [(o.state, o.aws_id) for o in result.outcomes] == [
        ("executed", reservation_id(digest, n)) for n in (1, 2, 3)
    ]
    # the partial ProductDescription match ("aurora-mysql-x", cheaper) was not bought
    assert result.outcomes[0].purchase.parameters["ReservedDBInstancesOfferingId"] == (
        offering_id(plan.lines[0])
    )
    assert result.status == "executed"
    assert sorted(set(clients.made)) == [
        ("elasticache", "us-east-1"), ("rds", "eu-west-1"), ("rds", "us-east-1")
    ]  # fmt: skip
    again = execute_plan(workspace, plan.plan_id, clients=StubbedClients())  # no AWS answers
    assert [o.state for o in again.outcomes] == ["already-executed"] * 3
    shown = dry_run(workspace, plan.plan_id)
    assert shown.outcomes[2].purchase.parameters["ReservedCacheNodesOfferingId"] == (
        offering_id(plan.lines[2])
    )


def _crash_after_buying_line_1(workspace: Workspace, plan: PlanRecord) -> None:
    """AWS bought line 1, and the process died before recording it."""
    clients = StubbedClients()
    for line in plan.lines:
        expect_lookup(clients, line)
    expect_purchase(clients, plan.lines[0], plan.stored_sha256)

    def crash(at: str, line: PurchaseLine) -> None:
        if at == "after-call" and line.number == 1:
            raise KeyboardInterrupt("the answer was lost")

    with pytest.raises(KeyboardInterrupt):
        execute_plan(workspace, plan.plan_id, clients=clients, checkpoint=crash)
    clients.assert_done()
    assert _events(workspace, plan) == [(1, "submitted")]


def test_an_in_doubt_line_is_found_by_its_reservation_id(
    workspace: Workspace, plan: PlanRecord
) -> None:
    _crash_after_buying_line_1(workspace, plan)
    line, digest = plan.lines[0], plan.stored_sha256
    rid = reservation_id(digest, 1)
    resumed = StubbedClients()
    _expect_describe(resumed, line, rid, database_reservation(line, rid, state="payment-pending"))
    expect_execution(resumed, plan.lines, digest, buy=[2, 3])
    result = execute_plan(workspace, plan.plan_id, clients=resumed)
    resumed.assert_done()  # no second purchase of line 1
    first = result.outcomes[0]
    assert (first.state, first.aws_id) == ("reconciled", rid)
    assert result.status == "executed"


def test_a_retry_after_a_lost_answer_does_not_buy_twice(
    workspace: Workspace, plan: PlanRecord
) -> None:
    """The reservation is not listed yet when the line is settled, so it is bought again with the
    same id: AWS refuses (AlreadyExists), and the describe call confirms the earlier purchase."""
    _crash_after_buying_line_1(workspace, plan)
    line, digest = plan.lines[0], plan.stored_sha256
    rid = reservation_id(digest, 1)
    resumed = StubbedClients()
    _expect_describe(resumed, line, rid, None)  # not listed yet
    expect_lookup(resumed, line)
    expect_execution(resumed, plan.lines, digest, buy=[2, 3])
    expect_purchase(resumed, line, digest, error_code=APIS[RDS].already_exists)
    _expect_describe(resumed, line, rid, database_reservation(line, rid))
    result = execute_plan(workspace, plan.plan_id, clients=resumed)
    resumed.assert_done()
    first = result.outcomes[0]
    assert (first.state, first.aws_id) == ("reconciled", rid)
    assert "ReservedDBInstanceAlreadyExists" in first.price_check
    assert result.status == "executed"
    executed = [e for e in purchase_events(workspace, plan.plan_id) if e.state == "executed"]
    assert sorted(e.line for e in executed) == [1, 2, 3]  # each line bought once


def test_an_existing_reservation_that_differs_stops(workspace: Workspace, plan: PlanRecord) -> None:
    _crash_after_buying_line_1(workspace, plan)
    line = plan.lines[0]
    rid = reservation_id(plan.stored_sha256, 1)
    resumed = StubbedClients()
    _expect_describe(resumed, line, rid, database_reservation(line, rid, DBInstanceCount=5))
    with pytest.raises(LineInDoubtError, match=r"it reserves 5, the line 2.*nothing bought"):
        execute_plan(workspace, plan.plan_id, clients=resumed)
    assert _events(workspace, plan) == [(1, "submitted")]


def test_elasticache_already_exists_is_confirmed(workspace: Workspace, plan: PlanRecord) -> None:
    line, digest = plan.lines[2], plan.stored_sha256
    rid = reservation_id(digest, 3)
    clients = StubbedClients()
    expect_execution(clients, plan.lines, digest, buy=[1, 2])
    expect_lookup(clients, line)
    expect_purchase(clients, line, digest, error_code=APIS[ELASTICACHE].already_exists)
    _expect_describe(clients, line, rid, database_reservation(line, rid))
    result = execute_plan(workspace, plan.plan_id, clients=clients)
    clients.assert_done()
    assert [o.state for o in result.outcomes] == ["executed", "executed", "reconciled"]


def test_a_moved_price_refuses_before_buying(workspace: Workspace, plan: PlanRecord) -> None:
    clients = StubbedClients()
    expect_lookup(clients, plan.lines[0], price_factor=1.2)
    with pytest.raises(PriceMovedError, match=r"line 1 .*20\.00 % apart.*nothing bought"):
        execute_plan(workspace, plan.plan_id, clients=clients)
    assert _events(workspace, plan) == []
    looked = StubbedClients()
    for line in plan.lines:
        expect_lookup(looked, line, price_factor=1.005 if line.number == 2 else 1.0)
    shown = dry_run(workspace, plan.plan_id, clients=looked)
    assert [o.state for o in shown.outcomes] == ["planned"] * 3  # 0.5 %: within 1 %


def test_a_future_start_cannot_be_queued(workspace: Workspace) -> None:
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    document = {**DATABASE_PORTFOLIO, "purchases": [
        {**DATABASE_PORTFOLIO["purchases"][0], "start": later}]}  # fmt: skip
    stored = store_plan(workspace, document, source="test", created_by=PLANNER)
    with pytest.raises(PurchaseError, match="cannot queue a purchase"):
        dry_run(workspace, stored.plan_id)


def test_the_installed_command_prints_the_database_calls(tmp_path: Path) -> None:
    """``commitopt purchase PLAN --format json`` in a subprocess: no AWS, the exact calls."""
    (tmp_path / "plan.json").write_text(json.dumps(DATABASE_PORTFOLIO), encoding="utf-8")

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
        ("rds", "purchase_reserved_db_instances_offering",
         {"ReservedDBInstancesOfferingId": "<looked up at execution>",
          "ReservedDBInstanceId": reservation_id(digest, 1), "DBInstanceCount": 2}),
        ("rds", "purchase_reserved_db_instances_offering",
         {"ReservedDBInstancesOfferingId": "<looked up at execution>",
          "ReservedDBInstanceId": reservation_id(digest, 2), "DBInstanceCount": 1}),
        ("elasticache", "purchase_reserved_cache_nodes_offering",
         {"ReservedCacheNodesOfferingId": "<looked up at execution>",
          "ReservedCacheNodeId": reservation_id(digest, 3), "CacheNodeCount": 3}),
    ]  # fmt: skip
    assert payload["lines"][1]["lookup"]["parameters"]["MultiAZ"] is True
    table = run("planner", "purchase", plan_id)
    assert table.exit_code == 0, table
    assert "rds[eu-west-1].purchase_reserved_db_instances_offering(" in table.stdout
    assert "dry run: nothing bought" in table.stdout


def test_a_database_savings_plan_is_looked_up_as_aws_plan_type_database(
    workspace: Workspace,
) -> None:
    portfolio = {
        "purchases": [
            {
                "kind": "database_savings_plan",
                "term_years": 1,
                "payment_option": "No Upfront",
                "commitment_usd_per_hour": 0.21,
            }
        ]
    }
    stored = store_plan(workspace, portfolio, source="test", created_by=PLANNER)
    (line,) = stored.lines
    call = lookup_call(line)
    assert (call.service, call.operation) == ("savingsplans", "describe_savings_plans_offerings")
    assert call.parameters["planTypes"] == ["Database"]
    assert "filters" not in call.parameters  # account-wide: no region or family
