"""SageMaker Savings Plans bought through botocore's Stubber under the guards every Savings Plan
has: dry run by default, approval, price check, one ``clientToken`` per plan line.

The look-up is ``describe_savings_plans_offerings`` with AWS's plan type ``SageMaker`` and product
type ``SageMaker`` (botocore's SavingsPlanType and SavingsPlanProductType enums), no region or
family; the purchase is ``create_savings_plan``. The Stubber checks every parameter against the
service model and against what these tests expect.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from commitopt.approvals import ApprovalError, approve
from commitopt.plans import PlanRecord, PurchaseLine, purchase_events, store_plan
from commitopt.purchase import (
    LOOKED_UP,
    PriceMovedError,
    PurchaseError,
    client_token,
    dry_run,
    execute_plan,
    lookup_call,
    purchase_call,
)
from commitopt.workspace import Workspace
from tests.cli.conftest import commitopt_env, commitopt_script, run_commitopt
from tests.commitopt.identities import ANN, PLANNER, isolated_aws, os_user_env
from tests.commitopt.purchase_stubs import StubbedClients

__all__ = ["isolated_aws"]
pytestmark = pytest.mark.usefixtures("isolated_aws")

THREE_YEARS = 94_608_000
ONE_YEAR = 31_536_000

PORTFOLIO: dict[str, Any] = {
    "purchases": [
        {"kind": "sagemaker_savings_plan", "id": "ml-1", "term_years": 3,
         "payment_option": "Partial Upfront", "commitment_usd_per_hour": 4.2,
         "upfront_usd": 55_188.0, "recurring_usd_per_hour": 2.1},
        {"kind": "sagemaker_savings_plan", "id": "ml-2", "term_years": 1,
         "payment_option": "No Upfront", "commitment_usd_per_hour": 0.75},
    ],
    "summary": {"savings_vs_on_demand_usd": 900.0, "savings_vs_on_demand_pct": 18.0},
}  # fmt: skip
"""3 years Partial Upfront (half of 4.2 × 26,280 upfront) and 1 year No Upfront."""


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


def _offering(line: PurchaseLine, **changes: Any) -> dict[str, Any]:
    """The line's offering as ``describe_savings_plans_offerings`` lists it."""
    c = line.commitment
    years = c.term_years
    payment = c.payment_option.replace(" ", "")
    item: dict[str, Any] = {
        "offeringId": f"sm-offering-{years}y-{payment}",
        "productTypes": ["SageMaker"],
        "planType": "SageMaker",
        "description": f"{years} year {c.payment_option} SageMaker Savings Plan",
        "paymentOption": c.payment_option,
        "durationSeconds": THREE_YEARS if years == 3 else ONE_YEAR,
        "currency": "USD",
        "serviceCode": "MachineLearningSavingsPlans",
        "usageType": f"SageMakerSP:{years}yr{payment}",
        "operation": "",
        "properties": [],
    }
    item.update(changes)
    return item


def _expect_lookup(clients: StubbedClients, line: PurchaseLine, *items: dict[str, Any]) -> None:
    call = lookup_call(line)
    clients.stub(call.service, call.region).add_response(
        call.operation, {"searchResults": list(items) or [_offering(line)]}, dict(call.parameters)
    )


def _expect_create(
    clients: StubbedClients, line: PurchaseLine, plan: PlanRecord, plan_id: str
) -> dict[str, Any]:
    token = client_token(plan.stored_sha256, line.number)
    call = purchase_call(line, token, _offering(line)["offeringId"])
    clients.stub(call.service, call.region).add_response(
        call.operation, {"savingsPlanId": plan_id}, dict(call.parameters)
    )
    return dict(call.parameters)


def test_the_lookup_names_plan_and_product_type_sagemaker_and_no_scope(plan: PlanRecord) -> None:
    partial, no_upfront = plan.lines
    assert dict(lookup_call(partial).parameters) == {
        "planTypes": ["SageMaker"], "durations": [THREE_YEARS],
        "paymentOptions": ["Partial Upfront"], "currencies": ["USD"], "productType": "SageMaker",
    }  # fmt: skip
    assert (lookup_call(no_upfront).service, lookup_call(no_upfront).region) == (
        "savingsplans", "us-east-1"
    )  # fmt: skip
    assert "filters" not in lookup_call(no_upfront).parameters  # any region, any family


def test_dry_run_prints_the_calls_and_buys_nothing(workspace: Workspace, plan: PlanRecord) -> None:
    result = dry_run(workspace, plan.plan_id)
    assert not result.executed and result.status == "approved"
    assert [o.purchase.render() for o in result.outcomes] == [
        "savingsplans[us-east-1].create_savings_plan(savingsPlanOfferingId=<looked up at "
        "execution>, commitment='4.200', upfrontPaymentAmount='55188.00', "
        f"clientToken='{client_token(plan.stored_sha256, 1)}')",
        "savingsplans[us-east-1].create_savings_plan(savingsPlanOfferingId=<looked up at "
        f"execution>, commitment='0.750', clientToken='{client_token(plan.stored_sha256, 2)}')",
    ]
    assert _events(workspace, plan) == []
    # with --lookup: the offering found, its price checked, still nothing bought
    clients = StubbedClients()
    for line in plan.lines:
        _expect_lookup(clients, line)
    looked = dry_run(workspace, plan.plan_id, clients=clients)
    clients.assert_done()
    assert [o.state for o in looked.outcomes] == ["planned", "planned"]
    assert looked.outcomes[0].purchase.parameters["savingsPlanOfferingId"] == (
        "sm-offering-3y-PartialUpfront"
    )
    assert LOOKED_UP not in looked.outcomes[1].purchase.render()
    assert _events(workspace, plan) == []


def test_execute_buys_each_line_once_and_a_rerun_buys_nothing(
    workspace: Workspace, plan: PlanRecord
) -> None:
    clients = StubbedClients()
    for line in plan.lines:
        _expect_lookup(clients, line)
    sent = [
        _expect_create(clients, line, plan, f"sp-ml-bought-{line.number}") for line in plan.lines
    ]
    result = execute_plan(workspace, plan.plan_id, clients=clients)
    clients.assert_done()  # every call made once, with exactly these parameters
    assert result.status == "executed"
    assert [o.aws_id for o in result.outcomes] == ["sp-ml-bought-1", "sp-ml-bought-2"]
    assert sent[0] == {
        "savingsPlanOfferingId": "sm-offering-3y-PartialUpfront", "commitment": "4.200",
        "upfrontPaymentAmount": "55188.00", "clientToken": client_token(plan.stored_sha256, 1),
    }  # fmt: skip
    assert _events(workspace, plan) == [
        (1, "submitted"), (1, "executed"), (2, "submitted"), (2, "executed")
    ]  # fmt: skip
    again = execute_plan(workspace, plan.plan_id, clients=StubbedClients())  # nothing stubbed
    assert [o.state for o in again.outcomes] == ["already-executed"] * 2
    assert len(purchase_events(workspace, plan.plan_id)) == 4


def test_a_retry_after_a_lost_answer_sends_the_same_token(
    workspace: Workspace, plan: PlanRecord
) -> None:
    """AWS created the plan but its answer was lost: the retry asks again with the same
    ``clientToken``, and AWS answers with the plan it already created (no second plan)."""
    first, second = plan.lines
    clients = StubbedClients()
    for line in plan.lines:
        _expect_lookup(clients, line)
    sent = _expect_create(clients, first, plan, "sp-ml-bought-1")

    def crash(at: str, line: PurchaseLine) -> None:
        if at == "after-call" and line.number == 1:
            raise KeyboardInterrupt("the answer is lost")

    with pytest.raises(KeyboardInterrupt):
        execute_plan(workspace, plan.plan_id, clients=clients, checkpoint=crash)
    assert _events(workspace, plan) == [(1, "submitted")]
    resumed = StubbedClients()
    for line in plan.lines:
        _expect_lookup(resumed, line)
    again = _expect_create(resumed, first, plan, "sp-ml-bought-1")  # the same plan, not a new one
    _expect_create(resumed, second, plan, "sp-ml-bought-2")
    result = execute_plan(workspace, plan.plan_id, clients=resumed)
    resumed.assert_done()
    assert again["clientToken"] == sent["clientToken"] == client_token(plan.stored_sha256, 1)
    assert [o.aws_id for o in result.outcomes] == ["sp-ml-bought-1", "sp-ml-bought-2"]
    tokens = {e.client_token for e in purchase_events(workspace, plan.plan_id) if e.line == 1}
    assert tokens == {sent["clientToken"]}


def test_a_plan_whose_upfront_is_not_the_payment_options_share_is_refused(
    workspace: Workspace,
) -> None:
    """The price guard: AWS charges half the term's commitment upfront for Partial Upfront; a
    line planned at 40 % is 20 % off, beyond the 1 % tolerance, and nothing is bought."""
    item = {**PORTFOLIO["purchases"][0], "upfront_usd": 0.4 * 4.2 * 26_280}
    item["recurring_usd_per_hour"] = 0.6 * 4.2
    stored = store_plan(workspace, {"purchases": [item, PORTFOLIO["purchases"][1]]}, source="t")
    approve(workspace, stored.plan_id, ANN)
    clients = StubbedClients()
    _expect_lookup(clients, stored.lines[0])
    with pytest.raises(PriceMovedError, match=r"line 1 .*% apart, more than the 1 % tol"):
        execute_plan(workspace, stored.plan_id, clients=clients)
    clients.assert_done()  # looked up, never created
    assert _events(workspace, stored) == []


def test_an_offering_that_does_not_list_sagemaker_is_not_bought(
    workspace: Workspace, plan: PlanRecord
) -> None:
    clients = StubbedClients()
    line = plan.lines[0]
    _expect_lookup(clients, line, _offering(line, productTypes=["EC2", "Fargate", "Lambda"]))
    with pytest.raises(PurchaseError, match=r"line 1 .*AWS returned no such offering"):
        execute_plan(workspace, plan.plan_id, clients=clients)
    assert _events(workspace, plan) == []


def test_an_unapproved_plan_buys_nothing(workspace: Workspace) -> None:
    stored = store_plan(workspace, PORTFOLIO, source="t", created_by=PLANNER)
    clients = StubbedClients()
    with pytest.raises(ApprovalError, match="is not approved"):
        execute_plan(workspace, stored.plan_id, clients=clients)
    assert clients.made == []
    assert _events(workspace, stored) == []


def test_a_sagemaker_line_describes_itself_as_sagemaker(plan: PlanRecord) -> None:
    assert "SageMaker Savings Plan" in plan.lines[0].describe()


def test_the_installed_command_prints_the_sagemaker_calls(tmp_path: Path) -> None:
    """``commitopt purchase PLAN --format json`` in a subprocess: no AWS, nothing bought."""
    (tmp_path / "plan.json").write_text(json.dumps(PORTFOLIO), encoding="utf-8")

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
    lookups = [line["lookup"]["parameters"] for line in payload["lines"]]
    assert [(p["planTypes"], p["productType"]) for p in lookups] == [
        (["SageMaker"], "SageMaker")
    ] * 2
    purchases = [line["purchase"] for line in payload["lines"]]
    assert [p["operation"] for p in purchases] == ["create_savings_plan"] * 2
    assert purchases[0]["parameters"]["commitment"] == "4.200"
    assert purchases[0]["parameters"]["clientToken"] == client_token(payload["sha256"], 1)
    table = run("planner", "purchase", plan_id)
    assert table.exit_code == 0, table
    assert "dry run: nothing bought" in table.stdout
