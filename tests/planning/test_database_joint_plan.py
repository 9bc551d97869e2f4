"""One joint plan for EC2, RDS and ElastiCache usage: every service's reservations, billed alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from billing.simulator import simulate
from commitopt.report.data import build_report_data
from commitopt.report.formats import report_json
from commitopt.report.markdown import render_markdown
from optimizer.policy import Policy
from planning.recommend import RecommendOptions, recommend
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.embedded import load_embedded_catalog
from pricing.inventory import Commitment

START = datetime(2024, 1, 1, tzinfo=UTC)
HOURS = 24 * 45
DATABASE_RATES = {  # (class, platform, deployment): (on-demand, 1-year No Upfront RI) [USD/h]
    ("db.r4.large", "aurora-mysql", "Single-AZ"): (0.29, 0.20),
    ("db.m4.large", "mariadb", "Single-AZ"): (0.178, 0.125),
    ("db.m4.large", "mariadb", "Multi-AZ"): (0.356, 0.25),
    ("cache.r6g.large", "redis", "Node"): (0.206, 0.14),
}
FLEET = {  # key -> instances running every hour
    ("m4.large", "Linux/UNIX", "Shared"): 3.0,
    ("db.r4.large", "aurora-mysql", "Single-AZ"): 2.0,
    ("db.m4.large", "mariadb", "Multi-AZ"): 1.0,
    ("cache.r6g.large", "redis", "Node"): 4.0,
}


Key = tuple[str, str, str]


def database_catalog(rates: dict[Key, tuple[float, float]] = DATABASE_RATES) -> PriceCatalog:
    """On-demand and 1-year No Upfront rates of ``rates``' keys in us-east-1."""
    columns = ["instance_type", "platform", "tenancy"]
    keys = pd.DataFrame(list(rates), columns=columns).assign(region="us-east-1")
    on_demand = keys.assign(on_demand_usd_per_hour=[od for od, _ in rates.values()])
    reserved = keys.assign(
        offering_class="standard",
        term_years=1,
        payment_option="No Upfront",
        upfront_usd=0.0,
        recurring_usd_per_hour=[ri for _, ri in rates.values()],
    )
    meta = CatalogMetadata(source="illustrative database rates (test)", as_of=START.date())
    return PriceCatalog.from_frames(meta, on_demand=on_demand, reserved=reserved)


def fleet_usage(fleet: dict[Key, float] = FLEET) -> pd.DataFrame:
    """``fleet``'s instances every hour for HOURS hours from START, in one account."""
    hours = pd.date_range(START, periods=HOURS, freq="h")
    frames = [
        pd.DataFrame(
            {
                "hour": hours,
                "account_id": "111111111111",
                "region": "us-east-1",
                "instance_type": instance_type,
                "platform": platform,
                "tenancy": tenancy,
                "quantity": count,
            }
        )
        for (instance_type, platform, tenancy), count in fleet.items()
    ]
    return pd.concat(frames, ignore_index=True)


def test_one_plan_buys_for_every_service_and_the_bill_agrees() -> None:
    catalog = PriceCatalog.merge([database_catalog(), load_embedded_catalog()])
    run = recommend(
        fleet_usage(), catalog, Policy(), options=RecommendOptions(decide_on="lookback")
    )
    bought: dict[tuple[str | None, str | None, str | None], int] = {}
    for purchase in run.purchases:
        if purchase.kind == "reserved_instance" and str(purchase.instance_type).startswith(
            ("db.", "cache.")
        ):
            key = (purchase.instance_type, purchase.platform, purchase.tenancy)
            bought[key] = bought.get(key, 0) + int(purchase.count or 0)
    # steady usage at a discount: every database instance reserved, the Multi-AZ one as two
    # Single-AZ reservations of its size; and something for the EC2 fleet besides
    assert bought == {
        ("db.r4.large", "aurora-mysql", "Single-AZ"): 2,
        ("db.m4.large", "mariadb", "Single-AZ"): 2,
        ("cache.r6g.large", "redis", "Node"): 4,
    }
    ec2 = [p for p in run.purchases if not str(p.instance_type or "").startswith(("db.", "cache."))]
    assert ec2, "the EC2 fleet gets its own commitment in the same plan"
    # the database part of the bill, by hand: every hour at the reservations' rates
    database_saving_per_hour = 2 * (0.29 - 0.20) + (0.356 - 2 * 0.125) + 4 * (0.206 - 0.14)
    billed = simulate(run.usage, run.purchases, catalog)
    ec2_only = simulate(fleet_usage().query("instance_type == 'm4.large'"), ec2, catalog)
    ec2_saving = ec2_only.totals.on_demand_cost_usd - ec2_only.totals.actual_cost_usd
    total_saving = billed.totals.on_demand_cost_usd - billed.totals.actual_cost_usd
    assert total_saving - ec2_saving == pytest.approx(HOURS * database_saving_per_hour)
    assert run.summary["savings_vs_on_demand_usd"] == pytest.approx(total_saving, abs=0.01)


def test_the_report_breaks_the_joint_plan_down_by_service() -> None:
    catalog = PriceCatalog.merge([database_catalog(), load_embedded_catalog()])
    run = recommend(
        fleet_usage(), catalog, Policy(), options=RecommendOptions(decide_on="lookback")
    )
    data = build_report_data(run, catalog=catalog, compute_frontier=False)
    table = data.by_service.set_index("service")
    assert set(table.index) == {"AmazonEC2", "AmazonRDS", "AmazonElastiCache"}
    # the database services' savings, by hand (no reservation owned before the plan)
    saved = table["current_cost_usd"] - table["planned_cost_usd"]
    assert saved["AmazonRDS"] == pytest.approx(HOURS * (2 * (0.29 - 0.20) + (0.356 - 0.25)))
    assert saved["AmazonElastiCache"] == pytest.approx(HOURS * 4 * (0.206 - 0.14))
    assert table["planned_cost_usd"].sum() == pytest.approx(run.with_plan.totals.actual_cost_usd)
    assert table["coverage_pct"].tolist() == pytest.approx([100.0] * 3)
    assert "## By service (data period)" in render_markdown(data)
    services = [row["service"] for row in report_json(data)["by_service"]]
    assert sorted(services) == ["AmazonEC2", "AmazonElastiCache", "AmazonRDS"]


def test_an_owned_multi_az_reservation_covers_its_instance_and_nothing_more_is_bought() -> None:
    catalog = PriceCatalog.merge([database_catalog(), load_embedded_catalog()])
    owned = Commitment(
        kind="reserved_instance",
        id="owned-1",
        start=START,
        end=START + timedelta(days=365),
        term_years=1,
        payment_option="No Upfront",
        upfront_usd=0.0,
        region="us-east-1",
        instance_type="db.m4.large",
        platform="mariadb",
        tenancy="Multi-AZ",
        scope="Region",
        offering_class="standard",
        count=1,
        recurring_usd_per_hour=0.25,
        effective_usd_per_hour=0.25,
    )
    run = recommend(
        fleet_usage(),
        catalog,
        Policy(),
        owned=[owned],
        options=RecommendOptions(decide_on="lookback"),
    )
    assert not [p for p in run.purchases if str(p.instance_type).startswith("db.m4")]
    covered = run.baseline.breakdown("instrument").set_index("instrument")
    assert covered.loc["owned-1", "unused_commitment_usd"] == pytest.approx(0.0, abs=1e-6)
