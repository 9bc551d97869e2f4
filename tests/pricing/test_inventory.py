"""Owned commitments: portfolio JSON, validation, expirations, and the EC2 / Savings Plans APIs.

The Reserved Instances used here are the nine real RIs of the October 2018 workshop CUR (read
from its RI fee lines in the trimmed fixture), so prices, counts and expiry dates are real.
moto 5 does not implement ``DescribeReservedInstances`` (it raises NotImplementedError) nor the
``savingsplans`` service, so both APIs are stubbed with botocore's Stubber.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pandas as pd
import pytest
from botocore.stub import Stubber

from pricing.inventory import (
    Commitment,
    Inventory,
    InventoryError,
    fetch_reserved_instances,
    fetch_savings_plans,
    read_portfolio_json,
)
from pricing.readers.aws_api import AwsAccessError

CUR = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "cur"
    / "wal_Oct2018-WorkshopCUR-ec2-trimmed.zstd.parquet"
)
AS_OF = datetime(2018, 11, 1, tzinfo=UTC)


def _cur_ri_items() -> list[dict[str, Any]]:
    """Portfolio items of the CUR's nine RIs from its RIFee lines (class from DiscountedUsage)."""
    with duckdb.connect() as connection:
        fees = connection.execute(
            f"""
            WITH applied AS (
                SELECT reservation_reservation_a_r_n AS arn,
                       max(pricing_offering_class) AS offering_class,
                       max(pricing_purchase_option) AS payment
                FROM '{CUR}' WHERE line_item_line_item_type = 'DiscountedUsage' GROUP BY 1
            )
            SELECT f.reservation_reservation_a_r_n AS arn, f.line_item_usage_type AS usage_type,
                   f.line_item_operation AS operation, f.reservation_upfront_value AS upfront,
                   CAST(f.reservation_number_of_reservations AS INTEGER) AS count,
                   CAST(f.line_item_unblended_rate AS DOUBLE) AS recurring,
                   f.reservation_start_time AS start_time, f.reservation_end_time AS end_time,
                   coalesce(a.offering_class, 'standard') AS offering_class,
                   coalesce(a.payment, 'Partial Upfront') AS payment
            FROM '{CUR}' f LEFT JOIN applied a ON a.arn = f.reservation_reservation_a_r_n
            WHERE f.line_item_line_item_type = 'RIFee' ORDER BY arn
            """
        ).df()
    platforms = {"RunInstances": "Linux/UNIX", "RunInstances:0002": "Windows"}
    return [
        {
            "kind": "reserved_instance",
            "id": row.arn.rsplit("/", 1)[1],
            "start": row.start_time,
            "end": row.end_time,
            "region": "us-east-1",
            "instance_type": row.usage_type.split(":")[1],
            "platform": platforms[row.operation],
            "offering_class": row.offering_class,
            "term_years": 1,
            "payment_option": row.payment,
            "count": int(row.count),
            "upfront_usd": float(row.upfront),
            "recurring_usd_per_hour": float(row.recurring),
        }
        for row in fees.itertuples(index=False)
    ]


SAVINGS_PLAN_ITEMS: list[dict[str, Any]] = [
    {
        "kind": "compute_savings_plan",
        "id": "sp-compute",
        "start": "2018-06-01T00:00:00Z",
        "term_years": 1,
        "payment_option": "Partial Upfront",
        "commitment_usd_per_hour": 2.5,
    },
    {
        "kind": "ec2_instance_savings_plan",
        "id": "sp-m5",
        "start": "2017-01-01T00:00:00Z",
        "region": "us-east-1",
        "instance_family": "m5",
        "term_years": 3,
        "payment_option": "All Upfront",
        "commitment_usd_per_hour": 4.0,
    },
]


@pytest.fixture
def portfolio(tmp_path: Path) -> Path:
    path = tmp_path / "owned.json"
    payload = {
        "as_of": "2018-11-01T00:00:00Z",
        "purchases": [*_cur_ri_items(), *SAVINGS_PLAN_ITEMS],
    }
    path.write_text(json.dumps(payload))
    return path


# ---------------------------------------------------------------------------------- JSON


def test_read_real_ris_and_plans(portfolio: Path) -> None:
    inventory = read_portfolio_json(portfolio)
    assert len(inventory) == 11
    assert inventory.as_of == AS_OF
    by_id = {c.id: c for c in inventory.commitments}
    c5 = by_id["2a64512a-6eea-493f-967b-cd946b6e496d"]
    assert (c5.instance_type, c5.count, c5.normalized_units) == ("c5.large", 2, 8.0)
    assert (c5.payment_option, c5.offering_class, c5.scope, c5.tenancy) == (
        "Partial Upfront",
        "standard",
        "Region",
        "Shared",
    )
    assert c5.start == datetime(2018, 4, 3, 1, 21, 13, tzinfo=UTC)
    assert c5.end == datetime(2019, 4, 3, 1, 21, 12, tzinfo=UTC)
    # Whole item: 446 / 8760 + 2 × 0.026 = 2 × 0.051457, AWS's own amortised rate per RI-hour.
    assert c5.effective_usd_per_hour == pytest.approx(2 * 0.051457, abs=1e-6)
    assert c5.source == "portfolio owned.json"
    convertible = by_id["041bc7b7-802b-43c3-a6b1-3fb5e69135aa"]
    assert (convertible.offering_class, convertible.payment_option) == ("convertible", "No Upfront")
    nano = by_id["766cbd37-5005-4d0e-a7bc-a1f7a79c3865"]
    assert nano.normalized_units == 0.5  # two t2.nano at 0.25
    compute = by_id["sp-compute"]
    # Partial Upfront: half of 2.5 USD/h × 8,760 h paid upfront.
    assert compute.upfront_usd == pytest.approx(10_950.0)
    assert compute.recurring_usd_per_hour == pytest.approx(1.25)
    assert compute.effective_usd_per_hour == pytest.approx(2.5)
    assert compute.end == datetime(2019, 6, 1, tzinfo=UTC)  # start + 8,760 h
    assert compute.region is None
    ec2 = by_id["sp-m5"]
    assert ec2.upfront_usd == pytest.approx(105_120.0)  # 4 USD/h, 3 years, All Upfront
    assert ec2.end == datetime(2017, 1, 1, tzinfo=UTC) + timedelta(hours=26_280)


def test_round_trip(portfolio: Path, tmp_path: Path) -> None:
    inventory = read_portfolio_json(portfolio)
    written = tmp_path / "again.json"
    text = inventory.to_portfolio_json(written)
    assert written.read_text() == text
    again = read_portfolio_json(written)
    assert again.commitments == inventory.commitments
    assert again.as_of == inventory.as_of
    payload = json.loads(text)
    assert payload["summary"]["commitments"] == 11
    assert payload["summary"]["reserved_instances"] == 13
    assert payload["summary"]["upfront_usd"] == pytest.approx(1548.0 + 10_950.0 + 105_120.0)
    assert payload["summary"]["next_expiry"] == "2019-04-03T01:21:12Z"
    first = payload["purchases"][0]
    assert first["start"].endswith("Z") and "commitment_usd_per_hour" not in first


def test_design_md_example_with_start(tmp_path: Path) -> None:
    """A portfolio example (an EC2 Instance SP of 4 USD/h, 3 years, ...) plus the start owned
    commitments need, as a bare list."""
    items = [
        {
            "kind": "reserved_instance",
            "region": "us-east-1",
            "instance_type": "m5.large",
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "scope": "Region",
            "offering_class": "standard",
            "term_years": 1,
            "payment_option": "No Upfront",
            "count": 12,
            "normalized_units": 48,
            "upfront_usd": 0.0,
            "recurring_usd_per_hour": 0.062,
            "effective_usd_per_hour": 0.744,
        },
        {
            "kind": "compute_savings_plan",
            "term_years": 1,
            "payment_option": "No Upfront",
            "commitment_usd_per_hour": 12.5,
            "upfront_usd": 0.0,
        },
    ]
    path = tmp_path / "list.json"
    path.write_text(json.dumps(items))
    with pytest.raises(InventoryError, match=r"purchases\[0\]\.start: missing"):
        read_portfolio_json(path)
    for item in items:
        item["start"] = "2025-01-01T00:00:00"  # naive: UTC
    path.write_text(json.dumps(items))
    inventory = read_portfolio_json(path)
    ri, plan = inventory.commitments
    assert ri.effective_usd_per_hour == pytest.approx(0.744)
    assert ri.id == "item-0" and plan.id == "item-1"
    assert ri.start == datetime(2025, 1, 1, tzinfo=UTC)
    assert ri.end == datetime(2026, 1, 1, tzinfo=UTC)


def _one(tmp_path: Path, **changes: Any) -> Path:
    item = {
        "kind": "reserved_instance",
        "id": "ri-1",
        "start": "2025-01-01T00:00:00Z",
        "region": "us-east-1",
        "instance_type": "c5.large",
        "platform": "Linux/UNIX",
        "term_years": 1,
        "payment_option": "Partial Upfront",
        "count": 2,
        "upfront_usd": 446.0,
        "recurring_usd_per_hour": 0.026,
    }
    for key, value in changes.items():
        if value is None:
            item.pop(key)
        else:
            item[key] = value
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"purchases": [item]}))
    return path


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"kind": "spot_block"}, "kind", "unknown kind 'spot_block'"),
        ({"platform": "BeOS"}, "platform", "unknown platform 'BeOS'"),
        ({"payment_option": "Some Upfront"}, "payment_option", "unknown payment option"),
        ({"term_years": 2}, "term_years", "1-year and 3-year"),
        ({"instance_type": "c5.huge"}, "instance_type", "unknown instance size 'huge'"),
        ({"region": "us-middle-1"}, "region", "unknown AWS region 'us-middle-1'"),
        ({"count": 0}, "count", "greater than 0"),
        ({"count": -3}, "count", "greater than 0"),
        ({"count": 1.5}, "count", "whole number"),
        ({"upfront_usd": -1}, "upfront_usd", "must not be negative"),
        ({"end": "2024-12-31T00:00:00Z"}, "end", "is not after start"),
        ({"start": "next monday"}, "start", "not an ISO 8601 time"),
        ({"region": None}, "region", "missing"),
        ({"count": None}, "count", "missing"),
        ({"recurring_usd_per_hour": None}, "recurring_usd_per_hour", "missing"),
        ({"normalized_units": 4}, "normalized_units", "2 × 4 = 8"),
        ({"scope": "Availability Zone"}, "availability_zone", "missing"),
        ({"availability_zone": "eu-west-2a"}, "availability_zone", "not in region us-east-1"),
        ({"tenancy": "host"}, "tenancy", "unknown tenancy 'host'"),
        ({"offering_class": "flexible"}, "offering_class", "unknown RI offering class"),
        (
            {"kind": "compute_savings_plan", "commitment_usd_per_hour": 0},
            "commitment_usd_per_hour",
            "greater than 0",
        ),
        ({"kind": "compute_savings_plan"}, "commitment_usd_per_hour", "missing"),
        (
            {
                "kind": "ec2_instance_savings_plan",
                "commitment_usd_per_hour": 1,
                "instance_family": "m5.large",
            },
            "instance_family",
            "not an instance family",
        ),
        (
            {"kind": "ec2_instance_savings_plan", "commitment_usd_per_hour": 1},
            "instance_family",
            "missing",
        ),
    ],
)
def test_validation_names_item_and_field(
    tmp_path: Path, changes: dict[str, Any], field: str, words: str
) -> None:
    path = _one(tmp_path, **changes)
    with pytest.raises(InventoryError) as caught:
        read_portfolio_json(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: purchases[0].{field}: "), message
    assert words in message
    assert "\n" not in message


def test_valid_single_item_passes(tmp_path: Path) -> None:
    (ri,) = read_portfolio_json(_one(tmp_path)).commitments
    assert ri.effective_usd_per_hour == pytest.approx(2 * (223 / 8760 + 0.026))
    zonal = read_portfolio_json(
        _one(tmp_path, scope="availability zone", availability_zone="us-east-1b")
    )
    assert (zonal.commitments[0].scope, zonal.commitments[0].availability_zone) == (
        "Availability Zone",
        "us-east-1b",
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "not valid JSON (line 1"),
        ('{"summary": {}}', 'no "purchases" list'),
        ('{"purchases": {"kind": "x"}}', "purchases must be a list"),
        ('{"purchases": [3]}', "purchases[0] is int, not an object"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(InventoryError, match=words.replace("[", r"\[").replace("(", r"\(")):
        read_portfolio_json(path)
    with pytest.raises(InventoryError, match="no such file"):
        read_portfolio_json(tmp_path / "absent.json")


# ---------------------------------------------------------------------------------- expirations


def test_expiring_within(portfolio: Path) -> None:
    inventory = read_portfolio_json(portfolio)
    soon = inventory.expiring_within(180)
    # Six of the nine RIs end in April 2019 (c4.large on the 24th, 174 days after 1 Nov 2018);
    # the compute plan started 2018-06-01 ends 2019-06-01 (212 days): not within 180.
    assert [c.instance_type for c in soon.commitments] == [
        "c5.large",
        "t2.micro",
        "m5.large",
        "t2.small",
        "t2.nano",
        "c4.large",
    ]
    assert soon.commitments[-1].end == datetime(2019, 4, 24, 0, 34, tzinfo=UTC)
    assert [c.id for c in inventory.expiring_within(212).commitments][-1] == "sp-compute"
    assert len(inventory.expiring_within(0)) == 0
    # On 1 May 2019 the August and October t2.micro RIs and both plans are left; all of them
    # end within a year of it (the 3-year plan on 31 December 2019).
    later = datetime(2019, 5, 1, tzinfo=UTC)
    active = inventory.active_at(later)
    assert sorted(c.id for c in active.commitments) == [
        "041bc7b7-802b-43c3-a6b1-3fb5e69135aa",
        "2dbc59ec-6e3c-404a-b6c3-ec308c3d56fd",
        "c1a6599c-87a4-4c87-ad72-67dd9b01f1e3",
        "sp-compute",
        "sp-m5",
    ]
    year = inventory.expiring_within(365, now=later)
    assert [c.id for c in year.commitments] == [
        "sp-compute",
        "c1a6599c-87a4-4c87-ad72-67dd9b01f1e3",
        "041bc7b7-802b-43c3-a6b1-3fb5e69135aa",
        "2dbc59ec-6e3c-404a-b6c3-ec308c3d56fd",
        "sp-m5",
    ]
    assert len(inventory.expiring_within(150, now=later)) == 3
    # Before it starts, a commitment is not active (nor expiring).
    assert len(inventory.active_at(datetime(2017, 1, 1, tzinfo=UTC))) == 1
    with pytest.raises(InventoryError, match="horizon"):
        inventory.expiring_within(-1)


def test_to_frame_is_vectorisable(portfolio: Path) -> None:
    inventory = read_portfolio_json(portfolio)
    frame = inventory.to_frame()
    assert len(frame) == 11
    assert str(frame["start"].dtype) == "datetime64[ns, UTC]"
    assert str(frame["count"].dtype) == "Int64"
    assert frame["platform"].dtype == "string"
    assert frame.loc[frame["kind"] == "compute_savings_plan", "region"].isna().all()
    now = pd.Timestamp(AS_OF)
    soon = frame.loc[
        (frame["start"] <= now)
        & (frame["end"] > now)
        & (frame["end"] <= now + pd.Timedelta(days=180))
    ]
    assert sorted(soon["id"]) == sorted(c.id for c in inventory.expiring_within(180).commitments)
    assert frame["normalized_units"].sum() == pytest.approx(
        4 * 1 + 4 * 2 + 4 * 1 + 0.5 * 6 + 0.25 * 2 + 1
    )
    empty = Inventory((), AS_OF).to_frame()
    assert list(empty.columns) == list(frame.columns) and empty.empty


def test_commitment_needs_utc_times() -> None:
    with pytest.raises(InventoryError, match="no time zone"):
        Commitment(
            kind="compute_savings_plan",
            id="x",
            start=datetime(2025, 1, 1),
            end=datetime(2026, 1, 1, tzinfo=UTC),
            term_years=1,
            payment_option="No Upfront",
            upfront_usd=0.0,
        )


# ---------------------------------------------------------------------------------- EC2 API


def _ec2() -> Any:
    return boto3.client(
        "ec2", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


_RESERVED = {
    "ReservedInstances": [
        {
            "ReservedInstancesId": "2a64512a-6eea-493f-967b-cd946b6e496d",
            "InstanceType": "c5.large",
            "ProductDescription": "Linux/UNIX (Amazon VPC)",
            "InstanceTenancy": "default",
            "Scope": "Region",
            "OfferingClass": "standard",
            "OfferingType": "Partial Upfront",
            "Duration": 31_536_000,
            "FixedPrice": 223.0,
            "UsagePrice": 0.0,
            "RecurringCharges": [{"Amount": 0.026, "Frequency": "Hourly"}],
            "InstanceCount": 2,
            "CurrencyCode": "USD",
            "State": "active",
            "Start": datetime(2018, 4, 3, 1, 21, 13, tzinfo=UTC),
            "End": datetime(2019, 4, 3, 1, 21, 12, tzinfo=UTC),
        },
        {
            "ReservedInstancesId": "zonal-1",
            "InstanceType": "m5.large",
            "ProductDescription": "Windows",
            "InstanceTenancy": "dedicated",
            "Scope": "Availability Zone",
            "AvailabilityZone": "eu-west-2b",
            "OfferingClass": "convertible",
            "OfferingType": "All Upfront",
            "Duration": 94_608_000,
            "FixedPrice": 3000.0,
            "UsagePrice": 0.0,
            "RecurringCharges": [],
            "InstanceCount": 1,
            "CurrencyCode": "USD",
            "State": "active",
            "Start": datetime(2024, 2, 1, tzinfo=UTC),
            "End": datetime(2027, 2, 1, tzinfo=UTC),
        },
    ]
}
_RI_PARAMS = {"Filters": [{"Name": "state", "Values": ["active"]}]}


def test_fetch_reserved_instances_after_throttling() -> None:
    client = _ec2()
    waits: list[float] = []
    with Stubber(client) as stub:
        stub.add_client_error(
            "describe_reserved_instances",
            service_error_code="RequestLimitExceeded",
            http_status_code=503,
        )
        stub.add_response("describe_reserved_instances", _RESERVED, _RI_PARAMS)
        inventory = fetch_reserved_instances(client, sleep=waits.append)
        stub.assert_no_pending_responses()
    assert len(waits) == 1
    regional, zonal = inventory.commitments
    assert (regional.region, regional.platform, regional.tenancy, regional.scope) == (
        "us-east-1",
        "Linux/UNIX",
        "Shared",
        "Region",
    )
    assert (regional.count, regional.normalized_units, regional.upfront_usd) == (2, 8.0, 446.0)
    assert regional.recurring_usd_per_hour == pytest.approx(0.026)
    assert regional.effective_usd_per_hour == pytest.approx(2 * 0.051457, abs=1e-6)
    assert (regional.term_years, regional.payment_option) == (1, "Partial Upfront")
    assert (zonal.region, zonal.availability_zone, zonal.scope, zonal.tenancy) == (
        "eu-west-2",
        "eu-west-2b",
        "Availability Zone",
        "Dedicated",
    )
    assert (zonal.platform, zonal.offering_class, zonal.term_years) == ("Windows", "convertible", 3)
    assert zonal.effective_usd_per_hour == pytest.approx(3000.0 / 26_280)
    assert regional.source.startswith("ec2:DescribeReservedInstances us-east-1")


def test_fetch_reserved_instances_states_and_denied() -> None:
    client = _ec2()
    with Stubber(client) as stub:
        stub.add_response(
            "describe_reserved_instances",
            {"ReservedInstances": []},
            {"Filters": [{"Name": "state", "Values": ["active", "retired"]}]},
        )
        stub.add_client_error(
            "describe_reserved_instances",
            service_error_code="UnauthorizedOperation",
            http_status_code=403,
        )
        assert len(fetch_reserved_instances(client, states=("active", "retired"))) == 0
        with pytest.raises(AwsAccessError, match="ec2:DescribeReservedInstances"):
            fetch_reserved_instances(client)


def test_fetch_reserved_instances_unknown_platform_names_the_ri() -> None:
    client = _ec2()
    odd = {
        "ReservedInstances": [dict(_RESERVED["ReservedInstances"][0], ProductDescription="Plan 9")]
    }
    with Stubber(client) as stub:
        stub.add_response("describe_reserved_instances", odd, _RI_PARAMS)
        with pytest.raises(
            InventoryError, match=r"reserved instance 2a64512a-.*unknown platform 'Plan 9'"
        ):
            fetch_reserved_instances(client)


# ---------------------------------------------------------------------------- Savings Plans API


def _savingsplans() -> Any:
    return boto3.client(
        "savingsplans",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _plan(plan_id: str, plan_type: str, **extra: Any) -> dict[str, Any]:
    plan = {
        "savingsPlanId": plan_id,
        "savingsPlanArn": f"arn:aws:savingsplans::123456789012:savingsplan/{plan_id}",
        "savingsPlanType": plan_type,
        "state": "active",
        "paymentOption": "Partial Upfront",
        "currency": "USD",
        "commitment": "2.5",
        "upfrontPaymentAmount": "10950.0",
        "recurringPaymentAmount": "1.25",
        "termDurationInSeconds": 31_536_000,
        "start": "2024-03-01T00:00:00.000Z",
        "end": "2025-02-28T23:59:59.000Z",
    }
    plan.update(extra)
    return plan


def test_fetch_savings_plans_pages_throttling_and_other_types() -> None:
    client = _savingsplans()
    waits: list[float] = []
    with Stubber(client) as stub:
        stub.add_response(
            "describe_savings_plans",
            {"savingsPlans": [_plan("sp-1", "Compute")], "nextToken": "page-2"},
            {"states": ["active"]},
        )
        stub.add_client_error(
            "describe_savings_plans", service_error_code="ThrottlingException", http_status_code=429
        )
        stub.add_response(
            "describe_savings_plans",
            {
                "savingsPlans": [
                    _plan(
                        "sp-2",
                        "EC2Instance",
                        region="eu-west-2",
                        ec2InstanceFamily="r5",
                        paymentOption="All Upfront",
                        commitment="1.0",
                        upfrontPaymentAmount="26280.0",
                        recurringPaymentAmount="0.0",
                        termDurationInSeconds=94_608_000,
                        end="2027-02-28T23:59:59.000Z",
                    ),
                    _plan("sp-3", "SageMaker"),
                    _plan("sp-4", "Neptune"),  # a type AWS might add: named, not read
                ]
            },
            {"states": ["active"], "nextToken": "page-2"},
        )
        inventory = fetch_savings_plans(client, sleep=waits.append)
        stub.assert_no_pending_responses()
    assert len(waits) == 1
    compute, ec2, sagemaker = inventory.commitments
    assert (compute.kind, compute.region, compute.commitment_usd_per_hour) == (
        "compute_savings_plan",
        None,
        2.5,
    )
    assert (compute.upfront_usd, compute.recurring_usd_per_hour) == (10_950.0, 1.25)
    assert compute.effective_usd_per_hour == pytest.approx(2.5)
    assert compute.start == datetime(2024, 3, 1, tzinfo=UTC)
    assert (ec2.kind, ec2.region, ec2.instance_family, ec2.term_years) == (
        "ec2_instance_savings_plan",
        "eu-west-2",
        "r5",
        3,
    )
    assert ec2.effective_usd_per_hour == pytest.approx(1.0)
    assert (sagemaker.kind, sagemaker.region) == ("sagemaker_savings_plan", None)
    assert {c.account_id for c in inventory.commitments} == {"123456789012"}  # the ARN's
    assert inventory.notes == (
        "left out 1 Neptune Savings Plan(s): "
        "commitopt models Compute, EC2 Instance, Database and SageMaker Savings Plans",
    )


def test_fetch_savings_plans_access_denied() -> None:
    client = _savingsplans()
    with Stubber(client) as stub:
        stub.add_client_error(
            "describe_savings_plans",
            service_error_code="AccessDeniedException",
            http_status_code=403,
        )
        with pytest.raises(AwsAccessError, match="savingsplans:DescribeSavingsPlans"):
            fetch_savings_plans(client)
