"""Savings Plans across services in the billing kernel (issue 18 item 3).

AWS's rules (Savings Plans User Guide, "Savings Plans types" and "How Savings Plans apply to
your AWS usage"): a Compute Savings Plan covers EC2, Fargate and Lambda usage, applied in each
hour to the usage with the highest discount percentage first; an EC2 Instance Savings Plan
covers EC2 only; a SageMaker Savings Plan covers SageMaker ML instance usage only; a plan serves
its owner account's usage before the other accounts'. Every figure is checked by hand or by a
plain-Python brute force over the hours; the rates are illustrative (the rules are under test).
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from billing.simulator import simulate
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.inventory import Commitment

START = datetime(2026, 3, 1, tzinfo=UTC)
REGION = "us-east-1"
Key = tuple[str, str, str]

# (instance_type, platform, tenancy): on-demand [USD per unit-hour], Compute SP rate
COMPUTE_KEYS: dict[Key, tuple[float, float]] = {
    ("m5.large", "Linux/UNIX", "Shared"): (0.096, 0.068),
    ("c5.large", "Linux/UNIX", "Shared"): (0.085, 0.0595),
    ("fargate.vcpu", "fargate-linux", "x86_64"): (0.04048, 0.03238),
    ("fargate.memory", "fargate-linux", "arm64"): (0.00356, 0.00249),
    ("fargate.memory", "fargate-linux", "x86_64"): (0.004445, 0.003556),
    ("lambda.duration", "lambda", "x86_64"): (0.06, 0.0498),
    ("lambda.provisioned-concurrency", "lambda", "arm64"): (0.012, 0.0084),
}
M5: Key = ("m5.large", "Linux/UNIX", "Shared")
VCPU: Key = ("fargate.vcpu", "fargate-linux", "x86_64")
DURATION: Key = ("lambda.duration", "lambda", "x86_64")
SAGEMAKER_KEYS: dict[Key, tuple[float, float]] = {
    ("ml.m5.xlarge", "sagemaker-training", "x86_64"): (0.23, 0.1472),
    ("ml.c5.xlarge", "sagemaker-hosting", "x86_64"): (0.204, 0.1428),
}
RDS_KEY: Key = ("db.r5.large", "mysql", "Single-AZ")
RDS_ON_DEMAND = 0.24


def catalog() -> PriceCatalog:
    """On-demand rates of every key; Compute SP rates of the EC2, Fargate and Lambda keys,
    SageMaker SP rates of the SageMaker keys (1-year No Upfront)."""
    rated = {**COMPUTE_KEYS, **SAGEMAKER_KEYS}
    on_demand = pd.DataFrame(
        [(*key, od) for key, (od, _) in rated.items()] + [(*RDS_KEY, RDS_ON_DEMAND)],
        columns=["instance_type", "platform", "tenancy", "on_demand_usd_per_hour"],
    ).assign(region=REGION)
    plans = pd.DataFrame(
        [(*key, "compute", sp) for key, (_, sp) in COMPUTE_KEYS.items()]
        + [(*key, "sagemaker", sp) for key, (_, sp) in SAGEMAKER_KEYS.items()],
        columns=["instance_type", "platform", "tenancy", "plan_type", "sp_hourly_usd"],
    ).assign(region=REGION, term_years=1, payment_option="No Upfront")
    meta = CatalogMetadata(source="illustrative rates", as_of=date(2026, 1, 1))
    return PriceCatalog.from_frames(meta, on_demand=on_demand, savings_plans=plans)


def plan(kind: str, commitment: float, account: str | None = None, id_: str = "sp") -> Commitment:
    return Commitment(
        kind=kind,
        id=id_,
        start=START,
        end=START + timedelta(hours=8_760),
        term_years=1,
        payment_option="No Upfront",
        upfront_usd=0.0,
        commitment_usd_per_hour=commitment,
        recurring_usd_per_hour=commitment,
        effective_usd_per_hour=commitment,
        account_id=account,
    )


def usage(rows: list[tuple[int, str, Key, float]]) -> pd.DataFrame:
    """(hour offset, account, key, quantity) rows as a usage table."""
    return pd.DataFrame(
        [(START + timedelta(hours=h), account, REGION, *key, q) for h, account, key, q in rows],
        columns=[
            "hour",
            "account_id",
            "region",
            "instance_type",
            "platform",
            "tenancy",
            "quantity",
        ],
    )


def fill_cost(
    order: list[Key], quantity: dict[Key, float], rates: dict[Key, tuple[float, float]], left: float
) -> tuple[float, float]:
    """(on-demand cost of what stays uncovered, commitment left) when a plan fills ``order``."""
    cost = 0.0
    for key in order:
        od, sp = rates[key]
        used = min(left, quantity.get(key, 0.0) * sp)
        left -= used
        cost += (quantity.get(key, 0.0) - used / sp) * od
    return cost, left


def aws_order(rates: dict[Key, tuple[float, float]]) -> list[Key]:
    """Highest discount percentage first, ties to the lowest Savings Plans rate."""
    return sorted(rates, key=lambda k: (-(1 - rates[k][1] / rates[k][0]), rates[k][1]))


def test_hand_worked_hour_compute_plan_covers_ec2_then_fargate_then_lambda() -> None:
    # discounts: m5.large 29.2 %, Fargate vCPU 20.0 %, Lambda duration 17.0 %
    m5, vcpu, duration = M5, VCPU, DURATION
    hour = usage([(0, "111", m5, 2.0), (0, "111", vcpu, 10.0), (0, "111", duration, 100.0)])
    result = simulate(hour, [plan("compute_savings_plan", 0.5)], catalog())
    # 0.5 USD: 2 m5.large-hours take 0.136, 10 vCPU-hours 0.3238, 0.0402 is left for Lambda:
    # 0.0402 / 0.0498 = 0.80723 GB-hours covered, 99.19277 GB-hours on demand at 0.06
    lambda_covered = (0.5 - 0.136 - 0.3238) / 0.0498
    expected = 0.5 + (100.0 - lambda_covered) * 0.06
    assert result.totals.actual_cost_usd == pytest.approx(expected, abs=1e-9)
    covered = result.compute_sp_covered.sum(axis=0)
    keys = list(zip(result.keys["instance_type"], result.keys["tenancy"], strict=True))
    by_key = dict(zip(keys, covered, strict=True))
    assert by_key[("m5.large", "Shared")] == pytest.approx(2.0)
    assert by_key[("fargate.vcpu", "x86_64")] == pytest.approx(10.0)
    assert by_key[("lambda.duration", "x86_64")] == pytest.approx(lambda_covered)


def test_ec2_instance_plan_never_covers_fargate_or_lambda() -> None:
    vcpu, duration = VCPU, DURATION
    hour = usage([(0, "111", vcpu, 10.0), (0, "111", duration, 100.0)])
    instance_plan = Commitment(
        kind="ec2_instance_savings_plan",
        id="isp",
        start=START,
        end=START + timedelta(hours=8_760),
        term_years=1,
        payment_option="No Upfront",
        upfront_usd=0.0,
        commitment_usd_per_hour=0.2,
        recurring_usd_per_hour=0.2,
        effective_usd_per_hour=0.2,
        region=REGION,
        instance_family="m5",
    )
    result = simulate(hour, [instance_plan], catalog())
    assert result.covered.sum() == 0.0
    assert result.totals.actual_cost_usd == pytest.approx(0.2 + 10 * 0.04048 + 100 * 0.06)


def test_sagemaker_plan_covers_sagemaker_only_and_compute_plan_never_sagemaker() -> None:
    training = next(iter(SAGEMAKER_KEYS))
    m5 = M5
    hour = usage([(0, "111", training, 3.0), (0, "111", m5, 1.0), (0, "111", RDS_KEY, 1.0)])
    result = simulate(
        hour,
        [plan("sagemaker_savings_plan", 0.3, id_="ml"), plan("compute_savings_plan", 0.05)],
        catalog(),
    )
    assert result.sagemaker_sp_covered.sum() == pytest.approx(0.3 / 0.1472)
    assert result.compute_sp_covered.sum() == pytest.approx(0.05 / 0.068)
    rds = result.keys["instance_type"].to_numpy() == RDS_KEY[0]
    assert result.covered[:, rds].sum() == 0.0
    by_service = result.breakdown("service").set_index("service")
    assert by_service.loc["AmazonSageMaker", "actual_cost_usd"] == pytest.approx(
        0.3 + (3.0 - 0.3 / 0.1472) * 0.23
    )


def test_owner_account_first_across_services() -> None:
    # the owner account's Lambda (17 % off) is served before another account's m5.large (29 %)
    m5, duration = M5, DURATION
    hour = usage([(0, "owner", duration, 10.0), (0, "other", m5, 5.0)])
    result = simulate(hour, [plan("compute_savings_plan", 0.5, account="owner")], catalog())
    keys = result.keys["instance_type"].to_numpy()
    covered = result.compute_sp_covered.sum(axis=0)
    assert covered[keys == "lambda.duration"].sum() == pytest.approx(10.0)
    assert covered[keys == "m5.large"].sum() == pytest.approx((0.5 - 10 * 0.0498) / 0.068)


@pytest.mark.parametrize("seed", range(30))
def test_brute_force_mixed_hours_match_aws_order_and_nothing_is_cheaper(seed: int) -> None:
    rng = np.random.default_rng(seed)
    hours = 24
    compute_keys = list(COMPUTE_KEYS)
    sagemaker_keys = list(SAGEMAKER_KEYS)
    scale = {"fargate.vcpu": 8.0, "fargate.memory": 30.0, "lambda.duration": 40.0}
    rows: list[tuple[int, str, Key, float]] = []
    for h in range(hours):
        for key in [*compute_keys, *sagemaker_keys, RDS_KEY]:
            if rng.random() < 0.7:
                amount = float(rng.choice([0.0, 0.5, 1.0, 2.0, 3.0])) * scale.get(key[0], 1.0)
                rows.append((h, "111", key, amount))
    compute_commitment = float(rng.choice([0.1, 0.3, 0.6, 1.2]))
    sagemaker_commitment = float(rng.choice([0.0, 0.1, 0.4]))
    portfolio = [plan("compute_savings_plan", compute_commitment)]
    if sagemaker_commitment:
        portfolio.append(plan("sagemaker_savings_plan", sagemaker_commitment, id_="ml"))
    result = simulate(usage(rows), portfolio, catalog())

    expected = 0.0
    for h in range(hours):
        quantity = {key: q for hh, _, key, q in rows if hh == h}
        cost, _ = fill_cost(aws_order(COMPUTE_KEYS), quantity, COMPUTE_KEYS, compute_commitment)
        expected += compute_commitment + cost
        cost, _ = fill_cost(
            aws_order(SAGEMAKER_KEYS), quantity, SAGEMAKER_KEYS, sagemaker_commitment
        )
        expected += sagemaker_commitment + cost
        expected += quantity.get(RDS_KEY, 0.0) * RDS_ON_DEMAND
        # no order of the compute keys bills this hour for less
        if h < 2:
            best = min(
                fill_cost(list(order), quantity, COMPUTE_KEYS, compute_commitment)[0]
                for order in itertools.permutations(compute_keys)
            )
            aws = fill_cost(aws_order(COMPUTE_KEYS), quantity, COMPUTE_KEYS, compute_commitment)
            assert aws[0] <= best + 1e-9
    assert result.totals.actual_cost_usd == pytest.approx(expected, rel=1e-12, abs=1e-9)
