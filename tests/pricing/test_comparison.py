"""Offering comparison: discount and break-even, on the AWS Pricing Calculator's c5.xlarge figures.

AWS Pricing Calculator (2025), c5.xlarge Windows ap-northeast-1, shared tenancy: on-demand
0.398 USD/h; standard RI 1 year No Upfront 0.319 USD/h, Partial Upfront 1,368 USD + 0.156 USD/h,
All Upfront 2,714 USD; Compute SP 1 year Partial Upfront rate 0.352 USD/h (50 % of the
commitment upfront).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.comparison import break_even_months, compare_offerings

KEY = {
    "region": "ap-northeast-1",
    "instance_type": "c5.xlarge",
    "platform": "Windows",
    "tenancy": "Shared",
}


@pytest.fixture
def calculator_catalog() -> PriceCatalog:
    reserved = pd.DataFrame(
        [
            {**KEY, "offering_class": "standard", "term_years": 1, "payment_option": option,
             "upfront_usd": upfront, "recurring_usd_per_hour": recurring}
            for option, upfront, recurring in [
                ("No Upfront", 0.0, 0.319), ("Partial Upfront", 1368.0, 0.156),
                ("All Upfront", 2714.0, 0.0),
            ]
        ]
    )  # fmt: skip
    plans = pd.DataFrame(
        [{**KEY, "plan_type": "compute", "term_years": 1, "payment_option": "Partial Upfront",
          "sp_hourly_usd": 0.352}]
    )  # fmt: skip
    return PriceCatalog.from_frames(
        CatalogMetadata("AWS Pricing Calculator", date(2025, 9, 1)),
        on_demand=pd.DataFrame([{**KEY, "on_demand_usd_per_hour": 0.398}]),
        reserved=reserved,
        savings_plans=plans,
    )


def test_comparison_rows_and_figures(calculator_catalog: PriceCatalog) -> None:
    table = compare_offerings(calculator_catalog)
    assert table["instrument"].tolist() == [
        "On-Demand", "Standard RI", "Standard RI", "Standard RI", "Compute SP",
    ]  # fmt: skip
    partial = table.iloc[2]
    assert partial["effective_usd_per_hour"] == pytest.approx(1368 / 8760 + 0.156)
    assert partial["discount_vs_on_demand_pct"] == pytest.approx(
        100 * (1 - (1368 / 8760 + 0.156) / 0.398)
    )
    assert partial["break_even_months"] == pytest.approx(1368 / ((0.398 - 0.156) * 730))
    assert table.iloc[1]["break_even_months"] == 0.0  # No Upfront saves from the first hour
    assert np.isnan(table.iloc[0]["break_even_months"])
    plan = table.iloc[4]
    # Calculator: "Upfront: Partial Upfront (50% of 3083.52) = 1541.7600 USD", hourly 0.1760.
    assert plan["upfront_usd"] == pytest.approx(1541.76)
    assert plan["recurring_usd_per_hour"] == pytest.approx(0.176)
    # Calculator: normalized monthly 256.96 USD vs on-demand 290.54 USD.
    assert plan["upfront_usd"] / 12 + plan["recurring_usd_per_hour"] * 730 == pytest.approx(256.96)


def test_filters(calculator_catalog: PriceCatalog) -> None:
    only = compare_offerings(
        calculator_catalog, instruments=("ri-standard",), payment_options=("All Upfront",)
    )
    assert only["payment_option"].tolist() == ["All Upfront"]
    assert compare_offerings(calculator_catalog, instruments=("ec2-sp",)).empty


def test_break_even_never_when_recurring_is_not_cheaper() -> None:
    assert np.isinf(break_even_months([100.0], [0.5], [0.4])[0])
