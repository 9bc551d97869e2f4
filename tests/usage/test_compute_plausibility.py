"""Plausibility of imported usage with Fargate, Lambda and SageMaker keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from usage.plausibility import check_plausible

_HOUR = pd.Timestamp("2024-03-01T00:00:00Z")


@pytest.mark.parametrize("source_kind", ["cur", "canonical"])
def test_compute_keys_are_not_unknown_families(source_kind: str) -> None:
    types = ("fargate.vcpu", "fargate.memory", "lambda.duration", "ml.m5.xlarge", "m5.large")
    frame = pd.DataFrame({"hour": [_HOUR] * len(types), "instance_type": types})
    warnings = check_plausible(
        frame,
        source="usage.csv",
        source_kind=source_kind,
        now=datetime(2026, 1, 1, tzinfo=UTC),
        period=(_HOUR, _HOUR + pd.Timedelta(hours=1)),
    )
    assert warnings == []
