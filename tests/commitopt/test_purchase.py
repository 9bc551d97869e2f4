"""Guarded purchase through botocore's Stubber: dry run, execution, refusals, crash and resume."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from commitopt.approvals import ApprovalError, approve, plan_state, reject
from commitopt.plans import PlanError, PlanRecord, PurchaseLine, purchase_events, store_plan
from commitopt.purchase import (
    LOOKED_UP,
    LineInDoubtError,
    PriceMovedError,
    PurchaseError,
    client_token,
    dry_run,
    execute_plan,
    purchase_call,
)
from commitopt.workspace import Workspace
from pricing.readers.aws_api import AwsAccessError
from tests.commitopt.identities import ANN, ANN_SESSION, BOB, PLANNER, aws_caller, isolated_aws
from tests.commitopt.purchase_stubs import (
    PORTFOLIO,
    StubbedClients,
    expect_execution,
    expect_lookup,
    expect_purchase,
)
from tests.commitopt.test_approvals import tamper

__all__ = ["isolated_aws"]
pytestmark = pytest.mark.usefixtures("isolated_aws")

NOW = datetime.now(UTC)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    with Workspace.open(tmp_path / "ws.duckdb") as opened:
        yield opened


@pytest.fixture
def plan(workspace: Workspace) -> PlanRecord:
    stored = store_plan(workspace, PORTFOLIO, source="test", created_by=PLANNER)
    approve(workspace, stored.plan_id, ANN)
    return stored


def _events(workspace: Workspace, plan: PlanRecord) -> list[tuple[int, str]]:
    return [(e.line, e.state) for e in purchase_events(workspace, plan.plan_id)]


def test_client_tokens() -> None:
    digest = "ab" * 32
    token = client_token(digest, 12)
    assert token == f"commitopt-{'ab' * 20}-L12"
    assert len(token) <= 64 and token.isascii()
    assert client_token(digest, 12) == token != client_token(digest, 13)
    assert client_token("cd" * 32, 12) != token


def test_dry_run_needs_no_aws_and_writes_nothing(workspace: Workspace, plan: PlanRecord) -> None:
    result = dry_run(workspace, plan.plan_id)
    assert not result.executed and result.status == "approved"
    renders = [o.purchase.render() for o in result.outcomes]
    token = client_token(plan.stored_sha256, 3)
    assert renders == [
        "ec2[us-east-1].purchase_reserved_instances_offering("
        "ReservedInstancesOfferingId=<looked up at execution>, InstanceCount=2)",
        "ec2[eu-west-1].purchase_reserved_instances_offering("
        "ReservedInstancesOfferingId=<looked up at execution>, InstanceCount=3)",
        "savingsplans[us-east-1].create_savings_plan(savingsPlanOfferingId=<looked up at "
        f"execution>, commitment='1.500', upfrontPaymentAmount='6570.00', clientToken='{token}')",
        "savingsplans[us-east-1].create_savings_plan(savingsPlanOfferingId=<looked up at "
        "execution>, commitment='0.250', clientToken="
        f"'{client_token(plan.stored_sha256, 4)}')",
    ]
    lookup = result.outcomes[1].lookup
    assert lookup.operation == "describe_reserved_instances_offerings"
    assert dict(lookup.parameters) == {
        "InstanceType": "m5.xlarge", "ProductDescription": "Windows",
        "InstanceTenancy": "default", "OfferingClass": "convertible",
        "OfferingType": "Partial Upfront", "MinDuration": 94_608_000,
        "MaxDuration": 94_608_000, "IncludeMarketplace": False,
        "Filters": [{"Name": "scope", "Values": ["Region"]}],
    }  # fmt: skip
    assert dict(result.outcomes[3].lookup.parameters) == {
        "planTypes": ["EC2Instance"], "durations": [31_536_000],
        "paymentOptions": ["No Upfront"], "currencies": ["USD"],
        "filters": [{"name": "region", "values": ["us-east-1"]},
                    {"name": "instanceFamily", "values": ["m5"]}],
    }  # fmt: skip
    assert _events(workspace, plan) == []


def test_dry_run_with_lookup_fills_offerings_and_flags_moved_prices(
    workspace: Workspace, plan: PlanRecord
) -> None:
    clients = StubbedClients()
    lines = plan.lines
    expect_lookup(clients, lines[0])
    expect_lookup(clients, lines[1], price_factor=1.05)
    expect_lookup(clients, lines[2])
    expect_lookup(clients, lines[3])
    result = dry_run(workspace, plan.plan_id, clients=clients)
    clients.assert_done()
    assert [o.state for o in result.outcomes] == ["planned", "price-moved", "planned", "planned"]
    assert result.price_moved
    assert result.outcomes[0].purchase.parameters["ReservedInstancesOfferingId"] == "ri-offering-1"
    assert "5.00 % apart" in result.outcomes[1].price_check
    assert _events(workspace, plan) == []


def test_execute_buys_exactly_the_approved_lines(workspace: Workspace, plan: PlanRecord) -> None:
    clients = StubbedClients()
    expect_execution(clients, plan.lines, plan.stored_sha256)
    seen: list[int] = []
    buyer = aws_caller(ANN_SESSION)
    result = execute_plan(
        workspace, plan.plan_id, clients=clients, on_line=lambda o: seen.append(o.line.number),
        actor=buyer,
    )  # fmt: skip
    clients.assert_done()  # every stubbed call made, with exactly the expected parameters
    assert seen == [1, 2, 3, 4]
    assert [o.aws_id for o in result.outcomes] == [
        "ri-bought-1", "ri-bought-2", "sp-bought-3", "sp-bought-4"
    ]  # fmt: skip
    assert result.status == "executed" and result.reason.startswith("4 of 4 lines bought")
    events = purchase_events(workspace, plan.plan_id)
    assert [(e.line, e.state) for e in events] == [
        (1, "submitted"), (1, "executed"), (2, "submitted"), (2, "executed"),
        (3, "submitted"), (3, "executed"), (4, "submitted"), (4, "executed"),
    ]  # fmt: skip
    assert {e.actor for e in events} == {buyer}  # who bought, on every event
    tokens = {e.line: e.client_token for e in events}
    assert tokens[3] == f"commitopt-{plan.stored_sha256[:40]}-L3"
    assert dict(events[5].request) == {
        "savingsPlanOfferingId": "sp-offering-3", "commitment": "1.500",
        "upfrontPaymentAmount": "6570.00", "clientToken": tokens[3],
    }  # fmt: skip
    # running it again calls nothing (no stubbed responses left) and changes nothing
    again = execute_plan(workspace, plan.plan_id, clients=StubbedClients())
    assert again.status == "executed" and again.bought == ()
    assert [o.state for o in again.outcomes] == ["already-executed"] * 4
    assert len(purchase_events(workspace, plan.plan_id)) == 8


def test_unapproved_rejected_expired_and_tampered_plans_buy_nothing(
    workspace: Workspace,
) -> None:
    proposed = store_plan(workspace, PORTFOLIO, source="t")
    rejected = store_plan(workspace, PORTFOLIO, source="t")
    reject(workspace, rejected.plan_id, BOB)
    expired = store_plan(workspace, PORTFOLIO, source="t")
    approve(workspace, expired.plan_id, ANN, now=NOW - timedelta(days=15))
    tampered = store_plan(workspace, PORTFOLIO, source="t")
    approve(workspace, tampered.plan_id, ANN)
    tamper(workspace, tampered.plan_id)
    cases = [
        (proposed, "is not approved"),
        (rejected, "was rejected by bob@desk-1"),
        (expired, "approval has expired"),
        (tampered, "changed after it was approved"),
    ]
    for target, message in cases:
        clients = StubbedClients()
        with pytest.raises(ApprovalError, match=message) as caught:
            execute_plan(workspace, target.plan_id, clients=clients)
        assert "nothing bought" in str(caught.value) and "\n" not in str(caught.value)
        assert clients.made == []
        assert _events(workspace, target) == []


def test_a_moved_price_refuses_before_buying_anything(
    workspace: Workspace, plan: PlanRecord
) -> None:
    clients = StubbedClients()
    lines = plan.lines
    expect_lookup(clients, lines[0])
    expect_lookup(clients, lines[1], price_factor=0.98)  # 2 % cheaper: beyond 1 %
    with pytest.raises(PriceMovedError, match=r"line 2 .*2\.00 % apart, more than the 1 % tol"):
        execute_plan(workspace, plan.plan_id, clients=clients)
    clients.assert_done()
    assert _events(workspace, plan) == []
    # within a wider tolerance it buys
    clients = StubbedClients()
    for line in lines:
        expect_lookup(clients, line, price_factor=0.98 if line.number == 2 else 1.0)
    for line in lines:
        expect_purchase(clients, line, plan.stored_sha256)
    result = execute_plan(workspace, plan.plan_id, clients=clients, price_tolerance=0.025)
    assert result.status == "executed"


def _crash_at(stage: str, number: int) -> object:
    def checkpoint(at: str, line: PurchaseLine) -> None:
        if at == stage and line.number == number:
            raise KeyboardInterrupt(f"crash at {at} of line {number}")

    return checkpoint


def _run_until_crash(
    workspace: Workspace, plan: PlanRecord, stage: str, number: int, *, bought: int = 0
) -> StubbedClients:
    """Execute ``plan`` with AWS answering every lookup and the first ``bought`` purchases, and
    crash (KeyboardInterrupt) at ``stage`` of line ``number``; return the clients used."""
    clients = StubbedClients()
    for line in plan.lines:
        expect_lookup(clients, line)
    for line in plan.lines[:bought]:
        expect_purchase(clients, line, plan.stored_sha256)
    with pytest.raises(KeyboardInterrupt):
        execute_plan(
            workspace,
            plan.plan_id,
            clients=clients,
            checkpoint=_crash_at(stage, number),  # type: ignore[arg-type]
        )
    return clients


def test_a_crash_between_lines_resumes_without_a_duplicate(
    workspace: Workspace, plan: PlanRecord
) -> None:
    lines = plan.lines
    _run_until_crash(workspace, plan, "after-record", 1, bought=1).assert_done()
    state = plan_state(workspace, plan.plan_id)
    assert state.status == "partially-executed" and state.executed_lines == {1}
    resumed = StubbedClients()
    expect_execution(resumed, lines, plan.stored_sha256, buy=[2, 3, 4])
    result = execute_plan(workspace, plan.plan_id, clients=resumed)
    resumed.assert_done()
    assert [(o.line.number, o.state) for o in result.outcomes] == [
        (1, "already-executed"), (2, "executed"), (3, "executed"), (4, "executed")
    ]  # fmt: skip
    assert result.status == "executed"


def test_aws_refusing_the_second_line_then_resume(workspace: Workspace, plan: PlanRecord) -> None:
    clients = StubbedClients()
    lines = plan.lines
    for line in lines:
        expect_lookup(clients, line)
    expect_purchase(clients, lines[0], plan.stored_sha256)
    expect_purchase(clients, lines[1], plan.stored_sha256, error_code="InternalError")
    with pytest.raises(
        AwsAccessError, match=r"line 2: AWS could not take .*InternalError.*1 of 4 lin"
    ):
        execute_plan(workspace, plan.plan_id, clients=clients)
    clients.assert_done()  # one attempt only: an RI purchase is never retried blindly
    assert _events(workspace, plan) == [
        (1, "submitted"), (1, "executed"), (2, "submitted"), (2, "failed")
    ]  # fmt: skip
    resumed = StubbedClients()
    expect_execution(resumed, lines, plan.stored_sha256, buy=[2, 3, 4])
    assert execute_plan(workspace, plan.plan_id, clients=resumed).status == "executed"
    resumed.assert_done()


def test_an_in_doubt_ri_line_is_settled_not_bought_twice(
    workspace: Workspace, plan: PlanRecord
) -> None:
    lines = plan.lines
    # AWS bought it; the answer was never recorded
    _run_until_crash(workspace, plan, "after-call", 1, bought=1)
    assert _events(workspace, plan) == [(1, "submitted")]
    # the RIs start when the line was submitted, a moment ago (not when the module was
    # imported: a suite of more than _IN_DOUBT_SLACK would find them too old)
    submitted = datetime.now(UTC)
    resumed = StubbedClients()
    resumed.stub("ec2", "us-east-1").add_response(
        "describe_reserved_instances",
        {"ReservedInstances": [
            {"ReservedInstancesId": "ri-older", "InstanceCount": 2, "InstanceType": "c5.large",
             "ProductDescription": "Linux/UNIX", "InstanceTenancy": "default",
             "Start": submitted - timedelta(days=40)},
            {"ReservedInstancesId": "ri-other-count", "InstanceCount": 5,
             "InstanceType": "c5.large", "ProductDescription": "Linux/UNIX",
             "InstanceTenancy": "default", "Start": submitted},
            {"ReservedInstancesId": "ri-bought-1", "InstanceCount": 2, "InstanceType": "c5.large",
             "ProductDescription": "Linux/UNIX (Amazon VPC)", "InstanceTenancy": "default",
             "Start": submitted + timedelta(seconds=5)},
        ]},
        {"Filters": [
            {"Name": "instance-type", "Values": ["c5.large"]},
            {"Name": "duration", "Values": ["31536000"]},
            {"Name": "scope", "Values": ["Region"]},
            {"Name": "state", "Values": ["payment-pending", "active", "queued"]}],
         "OfferingClass": "standard", "OfferingType": "No Upfront"},
    )  # fmt: skip
    expect_execution(resumed, lines, plan.stored_sha256, buy=[2, 3, 4])
    result = execute_plan(workspace, plan.plan_id, clients=resumed)
    resumed.assert_done()  # no second purchase of line 1
    assert [(o.line.number, o.state, o.aws_id) for o in result.outcomes][:2] == [
        (1, "reconciled", "ri-bought-1"), (2, "executed", "ri-bought-2")
    ]  # fmt: skip
    assert result.status == "executed"


def test_an_in_doubt_ri_line_that_bought_nothing_is_bought(
    workspace: Workspace, plan: PlanRecord
) -> None:
    _run_until_crash(workspace, plan, "before-call", 1)
    resumed = StubbedClients()
    resumed.stub("ec2", "us-east-1").add_response(
        "describe_reserved_instances", {"ReservedInstances": []}
    )
    expect_execution(resumed, plan.lines, plan.stored_sha256)
    assert execute_plan(workspace, plan.plan_id, clients=resumed).status == "executed"
    resumed.assert_done()


def test_an_ambiguous_in_doubt_line_stops(workspace: Workspace, plan: PlanRecord) -> None:
    _run_until_crash(workspace, plan, "before-call", 1)
    resumed = StubbedClients()
    submitted = datetime.now(UTC)  # as in the test above: now, not at the module's import
    twins = [
        {"ReservedInstancesId": name, "InstanceCount": 2, "InstanceType": "c5.large",
         "ProductDescription": "Linux/UNIX", "InstanceTenancy": "default", "Start": submitted}
        for name in ("ri-a", "ri-b")
    ]  # fmt: skip
    resumed.stub("ec2", "us-east-1").add_response(
        "describe_reserved_instances", {"ReservedInstances": twins}
    )
    with pytest.raises(LineInDoubtError, match=r"several RIs bought since match it \(ri-a, ri-b"):
        execute_plan(workspace, plan.plan_id, clients=resumed)
    assert _events(workspace, plan) == [(1, "submitted")]


def test_an_in_doubt_savings_plan_is_asked_for_again_with_its_token(
    workspace: Workspace, plan: PlanRecord
) -> None:
    lines = plan.lines
    _run_until_crash(workspace, plan, "after-call", 3, bought=3)
    assert plan_state(workspace, plan.plan_id).executed_lines == {1, 2}
    resumed = StubbedClients()
    # same clientToken: AWS answers with the plan it already created
    expect_execution(resumed, lines, plan.stored_sha256, buy=[3, 4])
    result = execute_plan(workspace, plan.plan_id, clients=resumed)
    resumed.assert_done()
    assert result.status == "executed"
    tokens = {e.client_token for e in purchase_events(workspace, plan.plan_id) if e.line == 3}
    assert tokens == {client_token(plan.stored_sha256, 3)}


@pytest.mark.parametrize("code", ["UnauthorizedOperation", "AccessDenied"])
def test_missing_permission_names_it_and_stops(
    workspace: Workspace, plan: PlanRecord, code: str
) -> None:
    clients = StubbedClients()
    for line in plan.lines:
        expect_lookup(clients, line)
    expect_purchase(clients, plan.lines[0], plan.stored_sha256, error_code=code)
    with pytest.raises(AwsAccessError) as caught:
        execute_plan(workspace, plan.plan_id, clients=clients)
    message = str(caught.value)
    assert "'ec2:PurchaseReservedInstancesOffering' permission" in message
    assert "nothing more bought (0 of 4 lines bought)" in message and "\n" not in message
    clients.assert_done()
    assert _events(workspace, plan) == [(1, "submitted"), (1, "failed")]


def test_missing_lookup_permission(workspace: Workspace, plan: PlanRecord) -> None:
    clients = StubbedClients()
    clients.stub("ec2", "us-east-1").add_client_error(
        "describe_reserved_instances_offerings", service_error_code="UnauthorizedOperation"
    )
    with pytest.raises(AwsAccessError, match="'ec2:DescribeReservedInstancesOfferings' perm"):
        execute_plan(workspace, plan.plan_id, clients=clients)
    assert _events(workspace, plan) == []


def test_no_matching_offering(workspace: Workspace, plan: PlanRecord) -> None:
    clients = StubbedClients()
    clients.stub("ec2", "us-east-1").add_response(
        "describe_reserved_instances_offerings", {"ReservedInstancesOfferings": []}
    )
    with pytest.raises(PurchaseError, match=r"line 1 .*AWS offers no such Reserved Instance"):
        execute_plan(workspace, plan.plan_id, clients=clients)


def test_a_later_start_becomes_a_queued_purchase(workspace: Workspace) -> None:
    start = (NOW + timedelta(days=31)).replace(microsecond=0)
    items = [{**item, "start": start.isoformat()} for item in PORTFOLIO["purchases"][::2]]
    stored = store_plan(workspace, {"purchases": items}, source="ladder")
    approve(workspace, stored.plan_id, ANN)
    lines = stored.lines
    assert lines[0].requested_start == start
    ri = purchase_call(lines[0], "t", "o", now=NOW)
    sp = purchase_call(lines[1], "t", "o", now=NOW)
    assert ri.parameters["PurchaseTime"] == start and sp.parameters["purchaseTime"] == start
    assert "PurchaseTime" not in purchase_call(lines[0], "t", "o", now=start).parameters
    clients = StubbedClients()
    expect_execution(clients, lines, stored.stored_sha256)
    assert execute_plan(workspace, stored.plan_id, clients=clients).status == "executed"
    clients.assert_done()
    assert LOOKED_UP == "<looked up at execution>"


def test_a_report_swapped_after_approval_is_refused(workspace: Workspace) -> None:
    stored = store_plan(workspace, PORTFOLIO, source="t", report=b"<html>costs 1,000</html>")
    approve(workspace, stored.plan_id, ANN)
    workspace.execute(
        "UPDATE plans SET report = ? WHERE plan_id = ?", [b"<html>costs 10</html>", stored.plan_id]
    )
    clients = StubbedClients()
    with pytest.raises(PlanError, match=r"altered after it was stored .*; nothing bought"):
        execute_plan(workspace, stored.plan_id, clients=clients)
    assert clients.made == []
    with pytest.raises(ApprovalError, match="has changed since it was stored"):
        reject(workspace, stored.plan_id, BOB)
