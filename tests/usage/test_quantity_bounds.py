"""The plausible bound of one key's quantity in one hour (usage.plausibility.QUANTITY_BOUNDS)."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pandas as pd
import pytest

from usage.errors import UsageInputError
from usage.plausibility import (
    MAX_GB_PER_KEY_HOUR,
    MAX_INSTANCES_PER_KEY_HOUR,
    MAX_VCPUS_PER_KEY_HOUR,
    check_plausible,
    quantity_bound_sql,
    quantity_bounds,
)

_HOUR = pd.Timestamp("2024-03-01T00:00:00Z")
_TYPES = ("m5.large", "db.r5.large", "ml.m5.xlarge", "fargate.vcpu", "fargate.memory",
          "lambda.duration", "lambda.provisioned-concurrency")  # fmt: skip
_BOUNDS = (MAX_INSTANCES_PER_KEY_HOUR,) * 3 + (MAX_VCPUS_PER_KEY_HOUR,) + (MAX_GB_PER_KEY_HOUR,) * 3


def _check(instance_type: str, quantity: float, source_kind: str = "canonical") -> list[str]:
    frame = pd.DataFrame(
        {"hour": [_HOUR], "account_id": ["111"], "region": ["us-east-1"],
         "instance_type": [instance_type], "platform": ["Linux/UNIX"], "tenancy": ["Shared"],
         "quantity": [quantity]}
    )  # fmt: skip
    return check_plausible(
        frame, source="usage.csv", source_kind=source_kind, now=datetime(2026, 1, 1, tzinfo=UTC),
        period=(_HOUR, _HOUR + pd.Timedelta(hours=1)), allow_unknown_types=True,
    )  # fmt: skip


def test_each_unit_has_its_bound_in_python_and_in_sql() -> None:
    assert quantity_bounds(pd.Series(_TYPES)).tolist() == list(_BOUNDS)
    with duckdb.connect() as connection:
        rows = connection.execute(
            f"SELECT {quantity_bound_sql('t')} FROM (SELECT unnest(?) AS t)", [list(_TYPES)]
        ).fetchall()
    assert [row[0] for row in rows] == list(_BOUNDS)


@pytest.mark.parametrize(
    ("instance_type", "quantity"),
    [
        ("m5.large", 200_000.0),  # a very large fleet of one type in one account and region
        ("fargate.vcpu", 5_000_000.0),  # half a million tasks of 10 vCPUs
        ("lambda.duration", 2_000_000.0),  # 200,000 concurrent executions of 10 GB
    ],
)
def test_real_usage_is_not_refused(instance_type: str, quantity: float) -> None:
    assert _check(instance_type, quantity) == []


@pytest.mark.parametrize("source_kind", ["canonical", "cur"])
def test_an_absurd_quantity_is_refused_naming_the_hour_and_key(source_kind: str) -> None:
    with pytest.raises(UsageInputError) as caught:
        _check("m5.large", 1e308, source_kind)
    message = str(caught.value)
    assert message.startswith(
        "usage.csv: column quantity: 1e+308 instance-hours at 2024-03-01 00:00"
    )
    assert "111 us-east-1 m5.large Linux/UNIX Shared" in message
    assert "plausible bound of 1,000,000 instance-hours for one key in one hour" in message
    with pytest.raises(UsageInputError, match="10,000,000 vCPU-hours"):
        _check("fargate.vcpu", 2e7, source_kind)
