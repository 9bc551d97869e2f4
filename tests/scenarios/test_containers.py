"""Moving usage between EC2 and Fargate in a scenario (issue 18 item 4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from billing.simulator import simulate
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.inventory import Commitment
from scenarios.containers import ToEc2, ToFargate
from scenarios.scenario_file import scenario_from_mapping
from scenarios.transforms import Scenario, ScenarioError, Selection
from tests.billing.test_compute_services_billing import catalog as service_catalog
from usage.table import to_matrix

START = datetime(2026, 3, 1, tzinfo=UTC)
HOURS = 48


def _usage(rows: dict[tuple[str, str, str], float]) -> pd.DataFrame:
    hours = pd.date_range(START, periods=HOURS, freq="h")
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "hour": hours,
                    "account_id": "111",
                    "region": "us-east-1",
                    "instance_type": t,
                    "platform": p,
                    "tenancy": d,
                    "quantity": q,
                }
            )
            for (t, p, d), q in rows.items()
        ],
        ignore_index=True,
    )


def _totals(matrix_frame: pd.DataFrame) -> dict[tuple[str, str, str], float]:
    grouped = matrix_frame.groupby(["instance_type", "platform", "tenancy"])["quantity"].sum()
    return {key: float(value) for key, value in grouped.items()}


def test_half_of_an_m5_fleet_moves_to_fargate_in_vcpus_and_memory() -> None:
    usage = to_matrix(_usage({("m5.xlarge", "Linux/UNIX", "Shared"): 4.0}))
    move = ToFargate(Selection(families=("m5",)), share=0.5, start=START, end=START)
    moved, _ = move.apply(usage, service_catalog())
    totals = _totals(moved.to_frame())
    # 2 m5.xlarge stay; 2 × 4 vCPUs = 8 vCPU-hours and 8 × 4 GB = 32 GB-hours per hour move
    assert totals[("m5.xlarge", "Linux/UNIX", "Shared")] == pytest.approx(2.0 * HOURS)
    assert totals[("fargate.vcpu", "fargate-linux", "x86_64")] == pytest.approx(8.0 * HOURS)
    assert totals[("fargate.memory", "fargate-linux", "x86_64")] == pytest.approx(32.0 * HOURS)


def test_graviton_moves_to_arm64_windows_to_fargate_windows_and_the_ramp_is_linear() -> None:
    usage = to_matrix(
        _usage({("m6g.large", "Linux/UNIX", "Shared"): 2.0, ("c5.large", "Windows", "Shared"): 1.0})
    )
    move = ToFargate(
        Selection(families=("m6g", "c5")),
        share=1.0,
        start=START,
        end=START + timedelta(hours=HOURS),
        utilization=0.5,
    )
    moved, _ = move.apply(usage, service_catalog())
    frame = moved.to_frame()
    arm = frame.loc[frame["tenancy"] == "arm64"]
    assert set(arm["instance_type"]) == {"fargate.vcpu", "fargate.memory"}
    windows = frame.loc[(frame["platform"] == "fargate-windows")]
    assert set(windows["tenancy"]) == {"x86_64"}
    # hour h moves h / HOURS of the usage: vCPU-hours of the m6g keys = 2 × 2 vCPUs × 0.5 × h/H
    vcpu = arm.loc[arm["instance_type"] == "fargate.vcpu"].set_index("hour")["quantity"]
    expected = 2.0 * 2.0 * 0.5 * np.arange(1, HOURS) / HOURS
    assert vcpu.to_numpy() == pytest.approx(expected)


def test_to_ec2_is_the_inverse_of_to_fargate() -> None:
    original = to_matrix(_usage({("m5.xlarge", "Linux/UNIX", "Shared"): 4.0}))
    out, _ = ToFargate(Selection(families=("m5",)), 1.0, START, START).apply(
        original, service_catalog()
    )
    back, _ = ToEc2(Selection(platforms=("fargate-linux",)), "m5.xlarge", 1.0, START, START).apply(
        out, service_catalog()
    )
    totals = _totals(back.to_frame())
    assert totals == {("m5.xlarge", "Linux/UNIX", "Shared"): pytest.approx(4.0 * HOURS)}


def test_a_compute_plan_follows_the_move_an_instance_plan_does_not() -> None:
    usage = _usage({("m5.large", "Linux/UNIX", "Shared"): 4.0})
    instance_rate = pd.DataFrame(
        [("us-east-1", "m5.large", "Linux/UNIX", "Shared", "ec2_instance", 1, "No Upfront", 0.06)],
        columns=[
            "region", "instance_type", "platform", "tenancy", "plan_type", "term_years",
            "payment_option", "sp_hourly_usd",
        ],
    )  # fmt: skip
    meta = CatalogMetadata(source="illustrative EC2 Instance SP rate", as_of=START.date())
    catalog = PriceCatalog.merge(
        [service_catalog(), PriceCatalog.from_frames(meta, savings_plans=instance_rate)]
    )
    term = {
        "start": START,
        "end": START + timedelta(hours=8760),
        "term_years": 1,
        "payment_option": "No Upfront",
        "upfront_usd": 0.0,
    }
    compute = Commitment(
        kind="compute_savings_plan",
        id="c",
        commitment_usd_per_hour=0.2,
        recurring_usd_per_hour=0.2,
        effective_usd_per_hour=0.2,
        **term,
    )
    instance = Commitment(
        kind="ec2_instance_savings_plan",
        id="i",
        region="us-east-1",
        instance_family="m5",
        commitment_usd_per_hour=0.2,
        recurring_usd_per_hour=0.2,
        effective_usd_per_hour=0.2,
        **term,
    )
    scenario = scenario_from_mapping(
        {
            "name": "containers",
            "transforms": [
                {
                    "to_fargate": {
                        "from": {"family": "m5"},
                        "share": 1,
                        "start": "2026-03-01",
                        "end": "2026-03-01",
                    }
                }
            ],
        },
        "containers.yaml",
    )
    assert isinstance(scenario, Scenario)
    moved, moved_catalog = scenario.apply(usage, catalog)
    frame = moved.to_frame()
    # Compute SP: fully used before and after; EC2 Instance SP: idle after the move
    for plan, used_after in ((compute, 100.0), (instance, 0.0)):
        before = simulate(usage, [plan], catalog).totals.utilization_pct
        after = simulate(frame, [plan], moved_catalog).totals.utilization_pct
        assert before == pytest.approx(100.0)
        assert after == pytest.approx(used_after)


def test_the_scenario_file_round_trips_and_bad_fields_are_named() -> None:
    mapping = {
        "name": "back",
        "transforms": [
            {
                "to_ec2": {
                    "from": {"platform": "fargate-linux", "region": "us-east-1"},
                    "instance_type": "m6g.large",
                    "share": 0.5,
                    "start": "2026-03-01",
                    "end": "2026-04-01",
                    "utilization": 0.8,
                }
            }
        ],
    }
    scenario = scenario_from_mapping(mapping, "back.yaml")
    assert scenario.transforms[0].to_mapping()["instance_type"] == "m6g.large"
    step = {"from": {"family": "m5"}, "share": 2, "start": "2026-03-01", "end": "2026-03-01"}
    bad = {"name": "x", "transforms": [{"to_fargate": step}]}
    with pytest.raises(ScenarioError, match="share 2 is outside"):
        scenario_from_mapping(bad, "x.yaml")
    with pytest.raises(ScenarioError, match="not an EC2 instance type"):
        ToEc2(Selection(), "db.r5.large", 1.0, START, START)
