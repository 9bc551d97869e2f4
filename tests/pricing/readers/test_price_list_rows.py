"""The SQL key mapping of the Price List readers agrees with ``keys_from_usage_types``."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from pricing.platforms import OPERATION_TO_PLATFORM
from pricing.readers.price_list_rows import (
    LONG_COLUMNS,
    frames_from_price_rows,
    load_price_rows_sql,
    price_connection,
)
from pricing.regions import PREFIX_TO_REGION
from pricing.usage_types import keys_from_usage_types

KEY = ["region", "instance_type", "platform", "tenancy"]


def on_demand_rows(usage_types: list[str], operations: list[str]) -> pa.Table:
    """One on-demand price row per usage type, price 0.1 USD/h, no Region Code."""
    count = len(usage_types)
    values: dict[str, list[str]] = {column: [""] * count for column in LONG_COLUMNS}
    values.update(
        sku=[f"SKU{i:06d}" for i in range(count)],
        term_code=["JRTCKXETXF"] * count,
        term_type=["OnDemand"] * count,
        unit=["Hrs"] * count,
        price_text=["0.1"] * count,
        currency=["USD"] * count,
        product_family=["Compute Instance"] * count,
        location_type=["AWS Region"] * count,
        tenancy=["Shared"] * count,
        capacity=["Used"] * count,
        usage_type=usage_types,
        operation=operations,
    )
    return pa.table(values)


def test_sql_mapping_matches_keys_from_usage_types() -> None:
    usage_types: list[str] = []
    operations: list[str] = []
    for prefix in ["", *PREFIX_TO_REGION]:
        for kind, instance_type in [
            ("BoxUsage", "m5.large"),
            ("DedicatedUsage", "c7i.metal-24xl"),
            ("BoxUsage", "m7i-flex.xlarge"),
            ("BoxUsage", "u-6tb1.metal"),
            ("HostBoxUsage", "c6g.4xlarge"),
            ("SpotUsage", "m5.large"),
        ]:
            for operation in [*OPERATION_TO_PLATFORM, "RunInstances:9999"]:
                usage_types.append(
                    f"{prefix}-{kind}:{instance_type}" if prefix else f"{kind}:{instance_type}"
                )
                operations.append(operation)
    usage_types += ["XXX9-BoxUsage:m5.large", "BoxUsage", "EBS:VolumeUsage.gp3"]
    operations += ["RunInstances"] * 3

    with price_connection() as connection:
        connection.register("long_rows", on_demand_rows(usage_types, operations))
        connection.execute(load_price_rows_sql("long_rows"))
        frames = frames_from_price_rows(connection, origin="test", require_rows=False)

    expected = keys_from_usage_types(pd.Series(usage_types), pd.Series(operations))
    # "BoxUsage:…" and "USE1-BoxUsage:…" are both us-east-1: one key each, same price.
    expected = expected.loc[expected["tenancy"].notna(), KEY].drop_duplicates()
    expected = expected.sort_values(KEY).reset_index(drop=True).astype("string")
    got = frames.on_demand[KEY].sort_values(KEY).reset_index(drop=True).astype("string")
    assert len(got) == len(PREFIX_TO_REGION) * 4 * len(OPERATION_TO_PLATFORM)
    pd.testing.assert_frame_equal(got, expected)
    assert any("RunInstances:9999" in note for note in frames.notes)


def test_region_code_gives_the_region_of_an_unknown_prefix() -> None:
    rows = on_demand_rows(["ZZZ1-BoxUsage:m5.large", "BoxUsage:m5.large"], ["RunInstances"] * 2)
    rows = rows.set_column(
        LONG_COLUMNS.index("region_code"), "region_code", pa.array(["zz-new-1", "us-east-1"])
    )
    with price_connection() as connection:
        connection.register("long_rows", rows)
        connection.execute(load_price_rows_sql("long_rows"))
        frames = frames_from_price_rows(connection, origin="test")
    assert frames.on_demand["region"].tolist() == ["us-east-1", "zz-new-1"]
    assert frames.notes == ()
