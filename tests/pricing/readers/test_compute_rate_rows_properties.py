"""Properties of keying Fargate, Lambda and SageMaker rates: never raises, and a row either has a
whole key or a reason, never both or neither."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing.readers.compute_rate_rows import KEYED_COLUMNS, key_rates

PIECES = st.sampled_from(
    ["USE1-", "USW2-", "XYZ9-", "", "Fargate-", "ARM-", "Windows-", "vCPU-Hours:perCPU",
     "GB-Hours", "Lambda-GB-Second", "-ARM", "Request", "Train:", "Host:", "ml.m5.xlarge",
     "ml.m6g.large", "Provisioned-", "Concurrency", "SpotUsage:", "DataTransfer-Out-Bytes"]
)  # fmt: skip
USAGE_TYPES = st.lists(PIECES, max_size=5).map("".join) | st.text(max_size=30)
CODES = st.sampled_from(["AmazonECS", "AmazonEKS", "AWSLambda", "AmazonSageMaker", "", "Other"])
UNITS = st.sampled_from(["", "Hrs", "hours", "Lambda-GB-Second", "Request", "GB-Mo"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(USAGE_TYPES, CODES, UNITS), min_size=1, max_size=8))
def test_each_row_has_a_key_or_a_reason(rows: list[tuple[str, str, str]]) -> None:
    frame = pd.DataFrame(rows, columns=["usage_type", "code", "unit"])
    keys, reasons = key_rates(frame["usage_type"], frame["code"], frame["unit"])
    assert list(keys.columns) == list(KEYED_COLUMNS)
    keyed = keys["instance_type"].notna().to_numpy()
    assert ((reasons == "").to_numpy() == keyed).all()
    assert keys.loc[keyed, ["region", "platform", "tenancy"]].notna().all().all()
    assert (keys.loc[keyed, "per_bill_unit"] > 0).all()
