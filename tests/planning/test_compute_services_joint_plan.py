"""Fargate, Lambda and SageMaker in the one joint plan (issue 18 item 4).

A Compute Savings Plan sized with Fargate and Lambda in the eligible demand, a SageMaker Savings
Plan for SageMaker, figures `simulate` reproduces, and the case the issue names: a plan that
ignores Fargate and Lambda under-commits and saves less on the same bill.
"""

from __future__ import annotations

import pytest

from billing.simulator import simulate
from commitopt.report.data import build_report_data
from optimizer.policy import Policy
from planning.recommend import RecommendOptions, recommend
from pricing.inventory import Commitment
from tests.billing.test_compute_services_billing import COMPUTE_KEYS, SAGEMAKER_KEYS, catalog
from tests.planning.test_database_joint_plan import HOURS, fleet_usage

M5 = ("m5.large", "Linux/UNIX", "Shared")
VCPU = ("fargate.vcpu", "fargate-linux", "x86_64")
MEMORY = ("fargate.memory", "fargate-linux", "arm64")
DURATION = ("lambda.duration", "lambda", "x86_64")
TRAINING = ("ml.m5.xlarge", "sagemaker-training", "x86_64")
FLEET = {M5: 2.0, VCPU: 20.0, MEMORY: 40.0, DURATION: 100.0, TRAINING: 2.0}
"""Every hour: 2 m5.large, 20 Fargate vCPUs, 40 GB of Graviton Fargate memory, 100 GB-hours of
Lambda duration, 2 ml.m5.xlarge training instances."""

LOOKBACK = RecommendOptions(decide_on="lookback")


def _commitments(purchases: list[Commitment]) -> dict[str, float]:
    return {str(p.kind): float(p.commitment_usd_per_hour or 0.0) for p in purchases}


def _sp_spend(fleet: dict[tuple[str, str, str], float], keys: dict) -> float:
    """The Savings Plans rate of ``fleet``'s steady usage of ``keys`` [USD/h]."""
    return sum(count * keys[key][1] for key, count in fleet.items() if key in keys)


def test_the_compute_plan_covers_ec2_fargate_and_lambda_and_sagemaker_its_own() -> None:
    run = recommend(fleet_usage(FLEET), catalog(), Policy(), options=LOOKBACK)
    bought = _commitments(run.purchases)
    # steady usage at a discount: everything covered, in AWS's 0.001 USD/h steps
    assert bought["compute_savings_plan"] == pytest.approx(
        _sp_spend(FLEET, COMPUTE_KEYS) // 0.001 * 0.001, abs=1e-9
    )
    assert bought["sagemaker_savings_plan"] == pytest.approx(
        2 * SAGEMAKER_KEYS[TRAINING][1] // 0.001 * 0.001
    )
    # the plan's own figures are what the bill gives
    billed = simulate(run.usage, run.purchases, catalog())
    saving = billed.totals.on_demand_cost_usd - billed.totals.actual_cost_usd
    assert run.explanations["net_savings_vs_on_demand_usd"].sum() == pytest.approx(saving, abs=0.05)


def test_the_compute_plan_explanation_splits_what_it_covers_by_service() -> None:
    run = recommend(fleet_usage(FLEET), catalog(), Policy(), options=LOOKBACK)
    sentence = run.explanations.set_index("kind").loc["compute_savings_plan", "explanation"]
    # on-demand value per hour: Lambda 100 × 0.06 = 6.0, Fargate 20 × 0.04048 + 40 × 0.00356 =
    # 0.952, EC2 2 × 0.096 = 0.192 (of 7.144): 84 %, 13 %, 3 %
    assert "by service, Lambda 84%, Fargate 13%, EC2 3% of what it covers" in str(sentence)
    sagemaker = run.explanations.set_index("kind").loc["sagemaker_savings_plan", "explanation"]
    assert "by service" not in str(sagemaker)  # one service: nothing to split


def test_ignoring_fargate_and_lambda_under_commits_and_saves_less() -> None:
    ec2_only = {key: count for key, count in FLEET.items() if key in (M5, TRAINING)}
    joint = recommend(fleet_usage(FLEET), catalog(), Policy(), options=LOOKBACK)
    alone = recommend(fleet_usage(ec2_only), catalog(), Policy(), options=LOOKBACK)
    joint_commitment = _commitments(joint.purchases)["compute_savings_plan"]
    alone_commitment = _commitments(alone.purchases)["compute_savings_plan"]
    # the difference is exactly what the Fargate and Lambda demand justifies
    fargate_lambda = _sp_spend({k: v for k, v in FLEET.items() if k not in (M5,)}, COMPUTE_KEYS)
    assert joint_commitment - alone_commitment == pytest.approx(fargate_lambda, abs=0.0011)
    # billed on the whole history: the joint plan saves the full discount of every key but for
    # the 0.001 USD/h step's remainder, left on Lambda (the lowest discount); the EC2-only plan
    # leaves nearly all of Fargate and Lambda on demand (its 0.136 USD/h goes, by AWS's order,
    # to the Graviton Fargate memory first: 30.1 % off against m5.large's 29.2 %)
    usage = fleet_usage(FLEET)
    joint_bill = simulate(usage, joint.purchases, catalog()).totals
    alone_bill = simulate(usage, alone.purchases, catalog()).totals
    full = sum(count * (od - sp) for key, count in FLEET.items() for od, sp in [_rates(key)])
    od, sp = COMPUTE_KEYS[DURATION]
    remainder = (_sp_spend(FLEET, COMPUTE_KEYS) - joint_commitment) / sp * (od - sp)
    sagemaker_remainder = (2 * SAGEMAKER_KEYS[TRAINING][1] - 0.294) / SAGEMAKER_KEYS[TRAINING][1]
    remainder += sagemaker_remainder * (SAGEMAKER_KEYS[TRAINING][0] - SAGEMAKER_KEYS[TRAINING][1])
    assert joint_bill.savings_vs_on_demand_usd == pytest.approx(HOURS * (full - remainder))
    assert joint_bill.savings_vs_on_demand_usd - alone_bill.savings_vs_on_demand_usd > 1000.0


def _rates(key: tuple[str, str, str]) -> tuple[float, float]:
    return {**COMPUTE_KEYS, **SAGEMAKER_KEYS}[key]


def test_the_default_decision_also_commits_more_with_fargate_and_lambda() -> None:
    ec2_only = {key: count for key, count in FLEET.items() if key in (M5, TRAINING)}
    joint = _commitments(recommend(fleet_usage(FLEET), catalog(), Policy()).purchases)
    alone = _commitments(recommend(fleet_usage(ec2_only), catalog(), Policy()).purchases)
    assert joint["compute_savings_plan"] > alone["compute_savings_plan"] + 0.5
    assert joint["sagemaker_savings_plan"] == pytest.approx(alone["sagemaker_savings_plan"])


def test_the_report_breaks_savings_down_by_service() -> None:
    run = recommend(fleet_usage(FLEET), catalog(), Policy(), options=LOOKBACK)
    data = build_report_data(run, catalog=catalog(), compute_frontier=False)
    table = data.by_service.set_index("service")
    assert set(table.index) == {"AmazonEC2", "AWSFargate", "AWSLambda", "AmazonSageMaker"}
    saved = table["current_cost_usd"] - table["planned_cost_usd"]
    od, sp = SAGEMAKER_KEYS[TRAINING]
    assert saved["AmazonSageMaker"] == pytest.approx(HOURS * (0.294 / sp) * (od - sp))
    fargate_full = HOURS * sum(
        FLEET[k] * (COMPUTE_KEYS[k][0] - COMPUTE_KEYS[k][1]) for k in (VCPU, MEMORY)
    )
    assert saved["AWSFargate"] == pytest.approx(fargate_full, rel=1e-9)
