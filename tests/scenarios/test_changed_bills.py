"""scenarios.changed_bills: a bill resumed after the changed instrument's kind is the full bill."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest

from billing.engine import KINDS
from pricing.catalog import PriceCatalog
from pricing.embedded import load_embedded_catalog
from pricing.inventory import Commitment
from scenarios import montecarlo
from scenarios.changed_bills import ChangedBills
from scenarios.montecarlo import MonteCarloModel
from scenarios.paths import UsagePaths
from usage.synthetic import steady_daily_cycle
from usage.table import to_matrix

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2025, 1, 1, tzinfo=UTC)
A, B = "111111111111", "222222222222"


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return load_embedded_catalog()


def _usage() -> pd.DataFrame:
    fleets = (
        ("m4.large", "us-east-1", A, 6.0),
        ("m4.xlarge", "us-east-1", B, 3.0),
        ("c4.large", "us-east-1", A, 9.0),
        ("c4.xlarge", "us-east-1", B, 2.0),
        ("r4.large", "us-west-2", B, 4.0),
        ("t2.micro", "eu-west-1", A, 12.0),
    )
    return pd.concat(
        [
            steady_daily_cycle(start="2024-01-01", hours=12 * 24, base_instances=base, seed=n,
                               instance_type=kind, region=region, account_id=account)
            for n, (kind, region, account, base) in enumerate(fleets)
        ],
        ignore_index=True,
    )  # fmt: skip


def _sp(kind: str, name: str, usd: float, **fields: Any) -> Commitment:
    values: dict[str, Any] = {
        "kind": kind, "id": name, "start": START, "end": END, "term_years": 1,
        "payment_option": "No Upfront", "upfront_usd": 0.0, "commitment_usd_per_hour": usd,
        "recurring_usd_per_hour": usd, "effective_usd_per_hour": usd,
    }  # fmt: skip
    values.update(fields)
    return Commitment(**values)


def _portfolio() -> tuple[Commitment, ...]:
    ri = Commitment(
        kind="reserved_instance", id="ri-m4", start=START, end=END, term_years=1,
        payment_option="No Upfront", upfront_usd=0.0, region="us-east-1",
        instance_type="m4.large", platform="Linux/UNIX", tenancy="Shared", scope="Region",
        offering_class="standard", count=4, normalized_units=16.0,
        recurring_usd_per_hour=0.062, effective_usd_per_hour=4 * 0.062, account_id=A,
    )  # fmt: skip
    ec2 = "ec2_instance_savings_plan"
    return (
        ri,
        _sp(ec2, "isp-m4", 0.2, region="us-east-1", instance_family="m4", account_id=B),
        _sp(ec2, "isp-r4", 0.15, region="us-west-2", instance_family="r4"),
        # two pools over the same c4 keys (two payment options): not resumed
        _sp(ec2, "isp-c4", 0.3, region="us-east-1", instance_family="c4"),
        _sp(
            ec2,
            "isp-c4-partial",
            0.1,
            region="us-east-1",
            instance_family="c4",
            payment_option="Partial Upfront",
            upfront_usd=400.0,
            recurring_usd_per_hour=0.05,
            effective_usd_per_hour=0.0957,
        ),
        _sp("compute_savings_plan", "compute", 0.25),
        # a second Compute SP from the sixth day: two commitment states
        _sp("compute_savings_plan", "compute-late", 0.1, start=datetime(2024, 1, 6, tzinfo=UTC)),
    )


def _model(catalog: PriceCatalog) -> MonteCarloModel:
    paths = UsagePaths.from_matrices([to_matrix(_usage())])
    return MonteCarloModel.build(paths, _portfolio(), catalog)


@pytest.mark.parametrize("block_bytes", [montecarlo.BLOCK_BYTES, 40_000])
@pytest.mark.parametrize("factor", [0.5, 0.0, 1.7])
def test_every_change_costs_what_the_full_bill_says(
    catalog: PriceCatalog,
    monkeypatch: pytest.MonkeyPatch,
    block_bytes: int,
    factor: float,
) -> None:
    monkeypatch.setattr(montecarlo, "BLOCK_BYTES", block_bytes)
    model = _model(catalog)
    if block_bytes < montecarlo.BLOCK_BYTES:
        assert len(model.hour_blocks(len(model.instruments))) > 3
    bills = ChangedBills(model, KINDS)
    plan = model.run()
    assert bills.plan_on_demand_usd == pytest.approx(
        float(plan.paths["uncovered_cost_usd"].iloc[0]), rel=1e-12
    )
    names = [inst.id for inst in model.instruments]
    resumed = {name for n, name in enumerate(names) if bills.resumes(n)}
    assert {"ri-m4", "isp-m4", "isp-r4", "compute", "compute-late"} <= resumed
    assert not {"isp-c4", "isp-c4-partial"} & resumed
    for changed, inst in enumerate(model.instruments):
        billed = [i.scaled(factor) if n == changed else i for n, i in enumerate(model.instruments)]
        full = float(model.run(billed).paths["uncovered_cost_usd"].iloc[0])
        assert bills.on_demand_usd(billed, changed) == pytest.approx(full, rel=1e-12), inst.id
        if factor != 1.0 and inst.id != "compute-late":
            assert abs(full - bills.plan_on_demand_usd) > 0.01, inst.id  # the change matters


def test_a_kind_not_resumed_is_billed_in_full(catalog: PriceCatalog) -> None:
    model = _model(catalog)
    bills = ChangedBills(model, ("compute_savings_plan",))
    isp = next(n for n, inst in enumerate(model.instruments) if inst.id == "isp-m4")
    assert not bills.resumes(isp)
    billed = [i.scaled(0.5) if n == isp else i for n, i in enumerate(model.instruments)]
    full = float(model.run(billed).paths["uncovered_cost_usd"].iloc[0])
    assert bills.on_demand_usd(billed, isp) == pytest.approx(full, rel=1e-12)


def test_changed_bills_are_one_paths(catalog: PriceCatalog) -> None:
    matrix = to_matrix(_usage())
    model = MonteCarloModel.build(UsagePaths.from_matrices([matrix, matrix]), (), catalog)
    with pytest.raises(ValueError, match="one path"):
        ChangedBills(model, KINDS)
