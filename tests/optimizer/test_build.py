"""build_problem: hand-worked tiny cases on a hand-made catalog, errors, and a demo-size check.

The hand catalog (us-east-1 unless said): m5 Linux/UNIX on demand 0.024 USD per normalized
unit-hour (m5.large 0.096, m5.xlarge 0.192); m5.large Windows 0.188; t2 Linux/UNIX with rates not
proportional to the normalization factor (t2.small 0.023 = 0.023/NU, t2.medium 0.050 = 0.025/NU);
c5.large Linux/UNIX in us-west-2 0.085. RIs per m5.large (m5.xlarge twice that): standard 1-year
No Upfront 0.060 USD/h, Partial Upfront 262.8 USD + 0.030 USD/h (0.060 effective), All Upfront
490.56 USD (0.056), 3-year No Upfront 0.045, All Upfront 1,051.2 USD (0.040); convertible 1-year
No Upfront 0.070. m5.large Windows: standard 1-year No Upfront 0.150. EC2 Instance SP rates
(1-year No Upfront): m5.large 0.060, m5.xlarge 0.130 (not twice m5.large: the ratio is
demand-weighted), Windows 0.160; 3-year All Upfront: 0.040, 0.080, 0.130. Compute SP 1-year No
Upfront: 0.070, 0.140, 0.170. c5.large has an on-demand rate only.
"""

from __future__ import annotations

import re
import time
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core.errors import CommitoptInputError
from optimizer.build import build_problem
from optimizer.build_offers import annuity_hours, hour_discount, level_cost
from optimizer.policy import Mode, Policy, PolicyError
from optimizer.problem import COMPUTE_SP_POOL, EC2_SP_POOL, RI_POOL, CommitmentProblem
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.embedded import load_embedded_catalog
from pricing.errors import MissingPriceError
from pricing.inventory import Commitment, Inventory
from usage.synthetic import demo_usage
from usage.table import KEY_COLUMNS, UsageMatrix, to_matrix

START = pd.Timestamp("2024-01-01", tz="UTC")
EAST = "us-east-1"
LINUX = "Linux/UNIX"
WINDOWS = "Windows"
ALL_PAYMENTS = ("No Upfront", "Partial Upfront", "All Upfront")


def _key(instance_type: str, platform: str = LINUX, region: str = EAST) -> dict[str, Any]:
    return {
        "region": region,
        "instance_type": instance_type,
        "platform": platform,
        "tenancy": "Shared",
    }


def hand_catalog() -> PriceCatalog:
    """The hand-made catalog of the module docstring."""
    on_demand = pd.DataFrame(
        [
            {**_key("m5.large"), "on_demand_usd_per_hour": 0.096},
            {**_key("m5.xlarge"), "on_demand_usd_per_hour": 0.192},
            {**_key("m5.large", WINDOWS), "on_demand_usd_per_hour": 0.188},
            {**_key("t2.small"), "on_demand_usd_per_hour": 0.023},
            {**_key("t2.medium"), "on_demand_usd_per_hour": 0.050},
            {**_key("c5.large", region="us-west-2"), "on_demand_usd_per_hour": 0.085},
        ]
    )
    ri_offerings = [  # class, term, payment, upfront, recurring per m5.large
        ("standard", 1, "No Upfront", 0.0, 0.060),
        ("standard", 1, "Partial Upfront", 262.8, 0.030),
        ("standard", 1, "All Upfront", 490.56, 0.0),
        ("standard", 3, "No Upfront", 0.0, 0.045),
        ("standard", 3, "All Upfront", 1051.2, 0.0),
        ("convertible", 1, "No Upfront", 0.0, 0.070),
    ]
    reserved = [
        {
            **_key(name),
            "offering_class": cls,
            "term_years": term,
            "payment_option": payment,
            "upfront_usd": upfront * scale,
            "recurring_usd_per_hour": recurring * scale,
        }
        for cls, term, payment, upfront, recurring in ri_offerings
        for name, scale in (("m5.large", 1.0), ("m5.xlarge", 2.0))
    ]
    reserved.append(
        {
            **_key("m5.large", WINDOWS),
            "offering_class": "standard",
            "term_years": 1,
            "payment_option": "No Upfront",
            "upfront_usd": 0.0,
            "recurring_usd_per_hour": 0.150,
        }
    )
    sp_rates = [  # plan, term, payment, m5.large, m5.xlarge, m5.large Windows
        ("ec2_instance", 1, "No Upfront", 0.060, 0.130, 0.160),
        ("ec2_instance", 3, "All Upfront", 0.040, 0.080, 0.130),
        ("compute", 1, "No Upfront", 0.070, 0.140, 0.170),
    ]
    savings_plans = [
        {
            **key,
            "plan_type": plan,
            "term_years": term,
            "payment_option": payment,
            "sp_hourly_usd": rate,
        }
        for plan, term, payment, *rates in sp_rates
        for key, rate in zip(
            (_key("m5.large"), _key("m5.xlarge"), _key("m5.large", WINDOWS)), rates, strict=True
        )
    ]
    return PriceCatalog.from_frames(
        CatalogMetadata(source="hand-made test catalog", as_of=date(2024, 1, 1)),
        on_demand=on_demand,
        reserved=pd.DataFrame(reserved),
        savings_plans=pd.DataFrame(savings_plans),
    )


CATALOG = hand_catalog()


def usage_table(
    series: dict[tuple[str, str, str], Any], hours: int = 48, start: pd.Timestamp = START
) -> pd.DataFrame:
    """A canonical usage table: ``{(account, instance_type, platform): quantity per hour}``.

    Region us-east-1 unless the instance type is c5.large (us-west-2).
    """
    index = pd.date_range(start, periods=hours, freq="h")
    frames = []
    for (account, instance_type, platform), quantity in series.items():
        region = "us-west-2" if instance_type.startswith("c5") else EAST
        values = np.broadcast_to(np.asarray(quantity, dtype=np.float64), (hours,))
        frames.append(
            pd.DataFrame(
                {
                    "hour": index,
                    "account_id": account,
                    "region": region,
                    "instance_type": instance_type,
                    "platform": platform,
                    "tenancy": "Shared",
                    "quantity": values,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


M5_FLEET = {
    ("a", "m5.large", LINUX): 2.0,
    ("b", "m5.xlarge", LINUX): 1.0,
    ("a", "m5.large", WINDOWS): 3.0,
}


def pool_index(problem: CommitmentProblem, kind: str, **fields: Any) -> int:
    """The one pool of ``kind`` whose fields match."""
    pools = problem.pools
    mask = pools["kind"] == kind
    for name, value in fields.items():
        mask &= pools[name] == value
    found = np.flatnonzero(mask.to_numpy())
    assert len(found) == 1, pools.loc[mask]
    return int(found[0])


def column_index(problem: CommitmentProblem, **fields: Any) -> int:
    mask = pd.Series(True, index=problem.columns.index)
    for name, value in fields.items():
        mask &= problem.columns[name] == value
    found = np.flatnonzero(mask.to_numpy())
    assert len(found) == 1, problem.columns
    return int(found[0])


# --------------------------------------------------------------------------------- columns


def test_a_family_with_two_sizes_is_one_column_in_usd_and_windows_its_own() -> None:
    problem = build_problem(usage_table(M5_FLEET), CATALOG, Policy())
    assert problem.n_columns == 2
    family = column_index(problem, instance_family="m5", size_flexible=True)
    windows = column_index(problem, platform=WINDOWS)
    columns = problem.columns
    assert columns.at[family, "instance_type"] == ""
    assert columns.at[family, "on_demand_usd_per_unit"] == pytest.approx(0.024)
    assert columns.at[windows, "instance_type"] == "m5.large"
    assert not columns.at[windows, "size_flexible"]
    assert columns.at[windows, "on_demand_usd_per_unit"] == pytest.approx(0.188)
    # accounts summed: 2 m5.large (a) + 1 m5.xlarge (b) = 0.384 USD/h; 3 Windows = 0.564 USD/h
    assert problem.n_periods == 1  # flat usage: the 48 hours merge
    assert problem.period_weight.tolist() == [48.0]
    assert problem.demand_usd[0, family] == pytest.approx(0.384)
    assert problem.demand_usd[0, windows] == pytest.approx(0.564)
    coverage = problem.coverage.toarray()
    ri_family = pool_index(problem, RI_POOL, size_flexible=True)
    ri_windows = pool_index(problem, RI_POOL, platform=WINDOWS)
    assert coverage[ri_family, family] == pytest.approx(1 / 0.024)
    assert coverage[ri_family, windows] == 0
    assert coverage[ri_windows, windows] == pytest.approx(1 / 0.188)
    pools = problem.pools
    assert pools.at[ri_family, "unit"] == "normalized_units"
    assert pools.at[ri_family, "purchase_instance_type"] == "m5.large"
    assert pools.at[ri_family, "units_per_instance"] == 4.0
    assert pools.at[ri_windows, "unit"] == "instances"
    assert pools.at[ri_windows, "purchase_instance_type"] == "m5.large"
    keys = problem.key_columns.set_index(["instance_type", "platform"])
    assert keys.loc[("m5.xlarge", LINUX), "column"] == family
    assert keys.loc[("m5.xlarge", LINUX), "normalization_factor"] == 8.0
    assert keys.loc[("m5.large", WINDOWS), "column"] == windows
    assert keys.loc[("m5.large", WINDOWS), "on_demand_usd_per_hour"] == 0.188
    assert len(problem.key_columns) == 3
    assert problem.warnings == ()


def test_savings_plans_ratios_are_rate_over_on_demand_weighted_by_demand() -> None:
    problem = build_problem(usage_table(M5_FLEET), CATALOG, Policy())
    coverage = problem.coverage.toarray()
    family = column_index(problem, size_flexible=True)
    windows = column_index(problem, platform=WINDOWS)
    ec2 = pool_index(problem, EC2_SP_POOL)
    compute = pool_index(problem, COMPUTE_SP_POOL)
    # family: (2 × 0.060 + 1 × 0.130) / (2 × 0.096 + 1 × 0.192)
    assert coverage[ec2, family] == pytest.approx(0.25 / 0.384)
    assert coverage[ec2, windows] == pytest.approx(0.160 / 0.188)
    assert coverage[compute, family] == pytest.approx((2 * 0.070 + 0.140) / 0.384)
    assert coverage[compute, windows] == pytest.approx(0.170 / 0.188)
    assert problem.pools.at[ec2, "region"] == EAST
    assert problem.pools.at[ec2, "instance_family"] == "m5"
    assert problem.pools.at[compute, "region"] == ""
    assert problem.pools["kind"].tolist() == [RI_POOL, RI_POOL, EC2_SP_POOL, COMPUTE_SP_POOL]
    assert problem.pools["order"].tolist() == [0, 1, 2, 3]
    offers = problem.offers
    sp_offer = offers.loc[offers["pool"] == ec2].iloc[0]
    assert sp_offer["effective_usd_per_unit_hour"] == 1.0
    assert sp_offer["objective_usd_per_unit"] == pytest.approx(48.0)


def test_rates_not_proportional_in_a_family_warn_and_use_the_demand_weighted_rate() -> None:
    usage = usage_table({("a", "t2.small", LINUX): 4.0, ("a", "t2.medium", LINUX): 1.0, **M5_FLEET})
    problem = build_problem(usage, CATALOG, Policy(instruments=("ri",)))
    # no RI prices for t2: the column is dropped, but the warning was raised while building
    (warning,) = problem.warnings
    assert warning.startswith("on-demand rates are not proportional to the normalization factor")
    assert "us-east-1 t2 (5.6 %)" in warning
    assert problem.columns["instance_family"].tolist() == ["m5", "m5"]
    with pytest.raises(CommitoptInputError, match="no usage can be covered by the enabled"):
        build_problem(usage.loc[usage["instance_type"].str.startswith("t2")], CATALOG, Policy())


def test_demand_weighted_rate_per_normalized_unit() -> None:
    usage = usage_table({("a", "t2.small", LINUX): 4.0, ("a", "t2.medium", LINUX): 1.0, **M5_FLEET})
    problem = build_problem(usage, CATALOG, Policy(instruments=("compute-sp",)))
    assert problem.columns["instance_family"].tolist() == ["m5", "m5"]
    dropped = problem.dropped_keys.set_index("instance_type")
    # 4 × 0.023 + 1 × 0.050 = 0.142 USD/h for 48 h, nothing covers t2
    assert dropped["on_demand_cost_usd"].sum() == pytest.approx(0.142 * 48)
    assert problem.uncoverable_cost_usd == pytest.approx(0.142 * 48)
    assert set(dropped.index) == {"t2.small", "t2.medium"}


def test_family_rate_is_the_demand_weighted_mean_when_not_proportional() -> None:
    from optimizer.build_usage import column_rates

    keys = pd.DataFrame(
        {
            "column": [0, 0],
            "expected_instance_hours": [4.0, 1.0],
            "on_demand_usd_per_hour": [0.023, 0.050],
            "units_per_instance": [1.0, 2.0],
        }
    )
    columns = pd.DataFrame({"region": [EAST], "instance_family": ["t2"], "size_flexible": [True]})
    rated, warning = column_rates(keys, columns)
    assert rated.at[0, "on_demand_usd_per_unit"] == pytest.approx(0.142 / 6.0)
    assert rated.at[0, "demand_usd"] == pytest.approx(0.142)
    assert warning.startswith("on-demand rates are not proportional")
    assert "us-east-1 t2 (5.6 %)" in warning


# --------------------------------------------------------------------------------- offerings


def test_dominated_offerings_are_dropped() -> None:
    usage = usage_table(M5_FLEET)
    every = Policy(
        terms_years=(1, 3),
        payment_options=ALL_PAYMENTS,
        offering_classes=("standard", "convertible"),
    )
    problem = build_problem(usage, CATALOG, every)
    pools = problem.pools
    family = pool_index(problem, RI_POOL, size_flexible=True)
    assert (pools.at[family, "offering_class"], pools.at[family, "term_years"]) == ("standard", 3)
    assert pools.at[family, "payment_option"] == "All Upfront"
    offer = problem.offers.loc[problem.offers["pool"] == family].iloc[0]
    assert offer["upfront_usd_per_unit"] == pytest.approx(1051.2 / 4)
    assert offer["recurring_usd_per_unit_hour"] == 0.0
    assert offer["effective_usd_per_unit_hour"] == pytest.approx(0.010)
    assert offer["objective_usd_per_unit"] == pytest.approx(0.010 * 48)
    assert offer["end"] - offer["start"] == pd.Timedelta(hours=26_280)
    # Windows has only 1-year No Upfront
    windows = pool_index(problem, RI_POOL, platform=WINDOWS)
    assert pools.at[windows, "payment_option"] == "No Upfront"
    # EC2 Instance SP: 3-year All Upfront covers the same demand at lower rates
    ec2 = pool_index(problem, EC2_SP_POOL)
    assert (pools.at[ec2, "term_years"], pools.at[ec2, "payment_option"]) == (3, "All Upfront")
    assert problem.coverage.toarray()[ec2, 0] == pytest.approx(0.16 / 0.384)
    sp_offer = problem.offers.loc[problem.offers["pool"] == ec2].iloc[0]
    assert sp_offer["upfront_usd_per_unit"] == 26_280.0
    assert sp_offer["recurring_usd_per_unit_hour"] == 0.0

    only_no_upfront = Policy(terms_years=(1, 3), offering_classes=("standard", "convertible"))
    problem = build_problem(usage, CATALOG, only_no_upfront)
    family = pool_index(problem, RI_POOL, size_flexible=True)
    assert (problem.pools.at[family, "term_years"], problem.pools.at[family, "payment_option"]) == (
        3,
        "No Upfront",
    )
    problem = build_problem(usage, CATALOG, Policy(offering_classes=("convertible",)))
    family = pool_index(problem, RI_POOL, size_flexible=True)
    assert problem.pools.at[family, "offering_class"] == "convertible"
    offer = problem.offers.loc[problem.offers["pool"] == family].iloc[0]
    assert offer["effective_usd_per_unit_hour"] == pytest.approx(0.070 / 4)
    # no convertible Windows RI: that column keeps only its Savings Plans
    assert (problem.pools["platform"] == WINDOWS).sum() == 0


def test_an_upfront_cap_keeps_the_best_offering_of_every_payment_option() -> None:
    # Under a cap on upfront cash the cheapest offering (3-year All Upfront) no longer dominates
    # the others: a dearer one with less upfront may be the better buy within the cap.
    usage = usage_table(M5_FLEET)
    capped = Policy(terms_years=(1, 3), payment_options=ALL_PAYMENTS, max_upfront_usd=100.0)
    problem = build_problem(usage, CATALOG, capped)
    pools = problem.pools
    family = pools.loc[(pools["kind"] == RI_POOL) & pools["size_flexible"].astype(bool)]
    assert {"No Upfront", "All Upfront"} <= set(family["payment_option"])  # all the catalog has
    assert family["payment_option"].is_unique
    ec2 = pools.loc[pools["kind"] == EC2_SP_POOL]
    assert {"No Upfront", "All Upfront"} <= set(ec2["payment_option"])
    assert ec2["payment_option"].is_unique
    coverage = problem.coverage.toarray()
    for pool in ec2.index:  # each pool covers at its own offering's ratio
        offering = (int(pools.at[pool, "term_years"]), str(pools.at[pool, "payment_option"]))
        assert coverage[pool].max() > 0, offering
    assert len(set(coverage[ec2.index, 0].round(12))) == len(ec2)


def test_one_year_no_upfront_is_kept_when_it_is_the_only_choice() -> None:
    problem = build_problem(usage_table(M5_FLEET), CATALOG, Policy())
    family = pool_index(problem, RI_POOL, size_flexible=True)
    pools = problem.pools
    assert (pools.at[family, "term_years"], pools.at[family, "payment_option"]) == (
        1,
        "No Upfront",
    )
    offer = problem.offers.loc[problem.offers["pool"] == family].iloc[0]
    assert offer["recurring_usd_per_unit_hour"] == pytest.approx(0.015)
    assert offer["upfront_usd_per_unit"] == 0.0


def test_time_value_by_hand() -> None:
    """1 %/month: All Upfront carries its annuity premium, hours are discounted by month."""
    rate = 0.12
    v = 1 / 1.01
    hours = 2 * 730
    usage = usage_table({("a", "m5.large", LINUX): 1.0}, hours=hours)
    upfront_policy = Policy(
        instruments=("ri",), payment_options=("All Upfront",), discount_rate=rate
    )
    problem = build_problem(usage, CATALOG, upfront_policy)
    assert problem.n_periods == 2  # one per discount month
    assert problem.period_weight.tolist() == [730.0, 730.0]
    assert problem.period_discount == pytest.approx([1.0, v])
    annuity = 730 * sum(v**k for k in range(12))
    assert annuity_hours(1, rate)[()] == pytest.approx(annuity)
    offer = problem.offers.iloc[0]
    per_unit_upfront = 490.56 / 4
    assert offer["upfront_usd_per_unit"] == pytest.approx(per_unit_upfront)
    expected = per_unit_upfront / annuity * (730 + 730 * v)
    assert offer["objective_usd_per_unit"] == pytest.approx(expected)
    assert expected > per_unit_upfront / 8760 * 1460  # time value makes upfront dearer

    recurring_policy = Policy(instruments=("ri",), discount_rate=rate)
    offer = build_problem(usage, CATALOG, recurring_policy).offers.iloc[0]
    assert offer["objective_usd_per_unit"] == pytest.approx(0.015 * (730 + 730 * v))

    # at 1 %/month 1-year All Upfront still wins (level 490.56 / 8,298.3 = 0.0591 < 0.060);
    # at 2 %/month its level is 490.56 / 7,874.5 = 0.0623 and No Upfront (0.060) wins
    everything = Policy(instruments=("ri",), payment_options=ALL_PAYMENTS, discount_rate=rate)
    assert build_problem(usage, CATALOG, everything).pools.at[0, "payment_option"] == "All Upfront"
    assert level_cost(490.56, 0.0, 1, rate)[()] == pytest.approx(490.56 / annuity)
    assert level_cost(490.56, 0.0, 1, 0.24)[()] == pytest.approx(0.0623, abs=5e-5)
    dearer = Policy(instruments=("ri",), payment_options=ALL_PAYMENTS, discount_rate=0.24)
    assert build_problem(usage, CATALOG, dearer).pools.at[0, "payment_option"] == "No Upfront"
    assert hour_discount(1461, rate)[[0, 729, 730, 1460]] == pytest.approx([1, 1, v, v * v])


def test_time_value_discounts_the_uncoverable_cost() -> None:
    usage = usage_table({("a", "c5.large", LINUX): 2.0, **M5_FLEET}, hours=1460)
    problem = build_problem(usage, CATALOG, Policy(discount_rate=0.12))
    v = 1 / 1.01
    assert problem.uncoverable_cost_usd == pytest.approx(2 * 0.085 * 730 * (1 + v))
    assert problem.dropped_keys["instance_type"].tolist() == ["c5.large"]


# --------------------------------------------------------------------------------- owned


def _owned_ri(**fields: Any) -> Commitment:
    values: dict[str, Any] = {
        "kind": "reserved_instance",
        "id": "ri-1",
        "start": START + pd.Timedelta(hours=10, minutes=30),
        "end": START + pd.Timedelta(hours=30),
        "term_years": 1,
        "payment_option": "No Upfront",
        "upfront_usd": 0.0,
        "region": EAST,
        "instance_type": "m5.large",
        "platform": LINUX,
        "tenancy": "Shared",
        "scope": "Region",
        "offering_class": "standard",
        "count": 3,
        "recurring_usd_per_hour": 0.060,
    }
    values.update(fields)
    return Commitment(**values)


def test_owned_ri_capacity_only_in_its_active_hours() -> None:
    owned = [_owned_ri()]
    problem = build_problem(usage_table(M5_FLEET), CATALOG, Policy(), owned=owned)
    pool = pool_index(problem, RI_POOL, owned=True)
    assert pool == 0  # owned before new
    pools = problem.pools
    assert pools.at[pool, "commitment_ids"] == "ri-1"
    assert pools.at[pool, "unit"] == "normalized_units"
    family = column_index(problem, size_flexible=True)
    assert problem.coverage.toarray()[pool, family] == pytest.approx(1 / 0.024)
    # hours 0-9 and 30-47 are identical: two periods
    assert problem.period_hour.tolist() == [0, 10]
    assert problem.period_weight.tolist() == [28.0, 20.0]
    assert problem.owned_capacity[:, pool].tolist() == [0.0, 12.0]
    hourly = build_problem(
        usage_table(M5_FLEET), CATALOG, Policy(), owned=owned, merge_identical_periods=False
    )
    capacity = hourly.owned_capacity[:, pool]
    assert capacity[:10].tolist() == [0.0] * 10
    assert capacity[10:30].tolist() == [12.0] * 20  # 3 × m5.large = 12 NU, 10:30 counts in full
    assert capacity[30:].tolist() == [0.0] * 18
    # cost: 3 × 0.060 USD/h for 19.5 h (the first hour charged half)
    assert problem.owned_cost_usd == pytest.approx(3 * 0.060 * 19.5)
    new_pool = pool_index(problem, RI_POOL, owned=False, size_flexible=True)
    assert int(problem.pools["order"].iloc[new_pool]) > 0


def test_pool_capacity_is_the_owned_plus_each_active_offers_units_by_hand() -> None:
    usage = usage_table(M5_FLEET, hours=24 * 70)
    problem = build_problem(usage, CATALOG, Policy(ladder_tranches=3), owned=[_owned_ri()])
    rng = np.random.default_rng(7)
    units = rng.uniform(0.5, 4.0, problem.n_offers) * (rng.random(problem.n_offers) < 0.6)
    assert 0 < np.count_nonzero(units) < problem.n_offers
    expected = problem.owned_capacity.copy()
    active = problem.offer_active.toarray()
    for offer, pool in enumerate(problem.offers["pool"].to_numpy()):
        expected[:, pool] += active[:, offer] * units[offer]
    assert len(set(map(tuple, active.T))) > 1  # the tranches start at different periods
    capacity = problem.pool_capacity(units)
    np.testing.assert_allclose(capacity, expected, rtol=0, atol=1e-12)
    some = np.array([problem.n_pools - 1, 0, problem.n_pools // 2])
    np.testing.assert_allclose(problem.pool_capacity(units, some), expected[:, some], atol=1e-12)
    assert problem.owned_capacity[:, 0].max() > 0  # owned capacity is added, not replaced
    assert problem.pool_capacity(np.zeros(problem.n_offers)) == pytest.approx(
        problem.owned_capacity
    )


def test_owned_ris_of_one_column_merge_and_non_flexible_cover_their_key() -> None:
    owned = Inventory(
        commitments=(
            _owned_ri(id="ri-1", start=START, end=START + pd.Timedelta(days=400)),
            _owned_ri(
                id="ri-2",
                instance_type="m5.xlarge",
                count=1,
                start=START,
                end=START + pd.Timedelta(hours=24),
                recurring_usd_per_hour=None,
            ),
            _owned_ri(
                id="ri-w",
                platform=WINDOWS,
                count=2,
                start=START - pd.Timedelta(days=10),
                end=START + pd.Timedelta(days=300),
                recurring_usd_per_hour=None,
                effective_usd_per_hour=0.30,
            ),
            _owned_ri(id="ri-old", start=START - pd.Timedelta(days=30), end=START),
        ),
        as_of=START,
    )
    problem = build_problem(usage_table(M5_FLEET), CATALOG, Policy(), owned=owned)
    owned_pools = problem.pools.loc[problem.pools["owned"]]
    assert owned_pools["commitment_ids"].tolist() == ["ri-1,ri-2", "ri-w"]
    assert owned_pools["purchase_instance_type"].tolist() == ["", "m5.large"]
    family = column_index(problem, size_flexible=True)
    windows = column_index(problem, platform=WINDOWS)
    coverage = problem.coverage.toarray()
    assert coverage[1, windows] == pytest.approx(1 / 0.188)
    assert coverage[1, family] == 0
    first_hour = int(np.flatnonzero(problem.period_hour == 0)[0])
    last_hour = int(np.flatnonzero(problem.period_hour == 24)[0])
    assert problem.owned_capacity[first_hour, :2].tolist() == [12.0 + 8.0, 2.0]
    assert problem.owned_capacity[last_hour, :2].tolist() == [12.0, 2.0]
    # ri-2's recurring comes from the catalog (0.120 per m5.xlarge); ri-w states its cost
    expected = 3 * 0.060 * 48 + 0.120 * 24 + 0.30 * 48
    assert problem.owned_cost_usd == pytest.approx(expected)


def test_owned_savings_plans_use_their_catalog_ratios() -> None:
    owned = [
        Commitment(
            kind="ec2_instance_savings_plan",
            id="sp-ec2",
            start=START,
            end=START + pd.Timedelta(days=1095),
            term_years=3,
            payment_option="All Upfront",
            upfront_usd=26_280.0,
            region=EAST,
            instance_family="m5",
            commitment_usd_per_hour=1.0,
        ),
        Commitment(
            kind="compute_savings_plan",
            id="sp-c",
            start=START + pd.Timedelta(hours=24),
            end=START + pd.Timedelta(days=365),
            term_years=1,
            payment_option="No Upfront",
            upfront_usd=0.0,
            commitment_usd_per_hour=0.25,
        ),
    ]
    problem = build_problem(usage_table(M5_FLEET), CATALOG, Policy(), owned=owned)
    kinds = problem.pools[["kind", "owned"]].apply(tuple, axis=1).tolist()
    assert kinds == [
        (RI_POOL, False),
        (RI_POOL, False),
        (EC2_SP_POOL, True),
        (EC2_SP_POOL, False),
        (COMPUTE_SP_POOL, True),
        (COMPUTE_SP_POOL, False),
    ]
    coverage = problem.coverage.toarray()
    family = column_index(problem, size_flexible=True)
    windows = column_index(problem, platform=WINDOWS)
    assert coverage[2, family] == pytest.approx((2 * 0.040 + 0.080) / 0.384)
    assert coverage[2, windows] == pytest.approx(0.130 / 0.188)
    assert coverage[3, family] == pytest.approx(0.25 / 0.384)  # new: 1-year No Upfront
    assert coverage[4, family] == pytest.approx(0.28 / 0.384)
    assert problem.pools.at[2, "term_years"] == 3
    assert problem.pools.at[2, "payment_option"] == "All Upfront"
    capacity = problem.owned_capacity
    assert set(capacity[:, 2]) == {1.0}
    day_one = problem.period_hour < 24
    assert set(capacity[day_one, 4]) == {0.0}
    assert set(capacity[~day_one, 4]) == {0.25}
    assert problem.owned_cost_usd == pytest.approx(1.0 * 48 + 0.25 * 24)
    assert capacity[:, [0, 1, 3, 5]].sum() == 0


def test_zonal_linux_ri_is_approximated_with_a_warning() -> None:
    owned = [_owned_ri(scope="Availability Zone", availability_zone="us-east-1a")]
    problem = build_problem(usage_table(M5_FLEET), CATALOG, Policy(), owned=owned)
    assert any("zonal RI(s) ri-1" in w for w in problem.warnings)
    assert problem.pools.at[0, "size_flexible"]


def test_bad_owned_items_are_one_line() -> None:
    with pytest.raises(CommitoptInputError, match="ri-1: an RI needs a count above 0"):
        build_problem(usage_table(M5_FLEET), CATALOG, Policy(), owned=[_owned_ri(count=0)])
    no_price = _owned_ri(
        platform=WINDOWS, offering_class="convertible", recurring_usd_per_hour=None
    )
    with pytest.raises(CommitoptInputError, match="no effective_usd_per_hour or recurring"):
        build_problem(usage_table(M5_FLEET), CATALOG, Policy(), owned=[no_price])


# --------------------------------------------------------------------------------- tranches


def test_ladder_tranches_start_on_the_following_month_starts() -> None:
    start = pd.Timestamp("2024-01-15", tz="UTC")
    hours = 24 * 60  # to 2024-03-15
    usage = usage_table({("a", "m5.large", LINUX): 1.0}, hours=hours, start=start)
    problem = build_problem(usage, CATALOG, Policy(instruments=("ri",), ladder_tranches=4))
    offers = problem.offers
    # only two month starts inside the horizon: Feb 1 and Mar 1
    assert offers["tranche"].tolist() == [0, 1, 2]
    assert offers["start"].tolist() == [
        start,
        pd.Timestamp("2024-02-01", tz="UTC"),
        pd.Timestamp("2024-03-01", tz="UTC"),
    ]
    assert (offers["end"] - offers["start"]).unique().tolist() == [pd.Timedelta(hours=8760)]
    active_hours = np.asarray(
        (problem.offer_active.toarray() * problem.period_weight[:, None]).sum(axis=0)
    )
    assert active_hours.tolist() == [1440.0, 1440.0 - 17 * 24, 1440.0 - 46 * 24]
    assert offers["objective_usd_per_unit"].to_numpy() == pytest.approx(0.015 * active_hours)
    assert problem.n_periods == 3  # flat usage: one period per set of active tranches
    assert sorted(problem.period_weight.tolist()) == [14 * 24, 17 * 24, 29 * 24]


def test_a_term_shorter_than_the_horizon_is_clipped() -> None:
    hours = 8760 + 48
    usage = usage_table({("a", "m5.large", LINUX): 1.0}, hours=hours)
    problem = build_problem(usage, CATALOG, Policy(instruments=("ri",)))
    assert problem.period_hour.tolist() == [0, 8760]
    assert problem.period_weight.tolist() == [8760.0, 48.0]
    assert problem.offer_active.toarray()[:, 0].tolist() == [1.0, 0.0]
    assert problem.offers.at[0, "objective_usd_per_unit"] == pytest.approx(0.015 * 8760)


# --------------------------------------------------------------------------------- periods


def test_daily_flat_usage_merges_into_one_period_per_distinct_day() -> None:
    days = np.array([3.0, 5.0, 3.0, 4.0, 5.0, 3.0, 3.0])
    quantity = np.repeat(days, 24)
    usage = usage_table({("a", "m5.large", LINUX): quantity}, hours=len(quantity))
    problem = build_problem(usage, CATALOG, Policy())
    assert problem.n_periods == 3
    assert problem.period_weight.tolist() == [96.0, 48.0, 24.0]  # first appearance order
    assert problem.period_weight.sum() == len(quantity)
    assert problem.period_hour.tolist() == [0, 24, 72]
    assert problem.demand_usd[:, 0] == pytest.approx([0.288, 0.480, 0.384])
    unmerged = build_problem(usage, CATALOG, Policy(), merge_identical_periods=False)
    assert unmerged.n_periods == len(quantity)
    assert unmerged.period_weight.tolist() == [1.0] * len(quantity)
    merged_total = problem.period_weight @ problem.demand_usd
    assert merged_total == pytest.approx(unmerged.period_weight @ unmerged.demand_usd)
    assert unmerged.offer_active.shape == (len(quantity), unmerged.n_offers)


def test_scenarios_are_weighted_and_kept_apart() -> None:
    low = usage_table({("a", "m5.large", LINUX): 1.0})
    high = usage_table({("a", "m5.large", LINUX): 3.0, ("a", "m5.large", WINDOWS): 1.0})
    problem = build_problem(
        None, CATALOG, Policy(), scenarios=[("low", 0.25, low), ("high", 0.75, to_matrix(high))]
    )
    assert problem.scenario_names == ("low", "high")
    assert problem.scenario_probability.tolist() == [0.25, 0.75]
    assert problem.period_scenario.tolist() == [0, 1]
    assert problem.period_weight.tolist() == [48.0, 48.0]
    family = column_index(problem, size_flexible=True)
    windows = column_index(problem, platform=WINDOWS)
    assert problem.demand_usd[:, family] == pytest.approx([0.096, 0.288])
    assert problem.demand_usd[:, windows] == pytest.approx([0.0, 0.188])
    with pytest.raises(CommitoptInputError, match=re.escape("probabilities sum to 0.9, not 1")):
        build_problem(None, CATALOG, Policy(), scenarios=[("a", 0.4, low), ("b", 0.5, high)])
    with pytest.raises(CommitoptInputError, match="scenario name"):
        build_problem(None, CATALOG, Policy(), scenarios=[("a", 0.5, low), ("a", 0.5, high)])
    with pytest.raises(CommitoptInputError, match="probability -1"):
        build_problem(None, CATALOG, Policy(), scenarios=[("a", -1, low), ("b", 2, high)])


# --------------------------------------------------------------------------------- policy rows


def test_policy_rows_and_coverage_bounds() -> None:
    policy = Policy(
        terms_years=(1, 3),
        payment_options=ALL_PAYMENTS,
        max_upfront_usd=1000.0,
        max_hourly_commitment_usd=2.0,
        coverage_ceiling=0.9,
        mode=Mode.TARGET_COVERAGE,
        target_coverage=0.6,
        min_utilization=0.8,
        cvar_alpha=0.9,
        cvar_weight=0.5,
    )
    problem = build_problem(usage_table(M5_FLEET), CATALOG, policy)
    assert problem.offer_row_names == ("max_upfront_usd", "max_hourly_commitment_usd")
    rows = problem.offer_rows.toarray()
    assert rows[0] == pytest.approx(problem.offers["upfront_usd_per_unit"].to_numpy())
    assert rows[1] == pytest.approx(problem.offers["effective_usd_per_unit_hour"].to_numpy())
    assert problem.offer_rows_upper.tolist() == [1000.0, 2.0]
    assert np.isneginf(problem.offer_rows_lower).all()
    assert (problem.coverage_lower, problem.coverage_upper) == (0.6, 0.9)
    assert problem.min_utilization == 0.8
    assert (problem.cvar_alpha, problem.cvar_weight) == (0.9, 0.5)
    assert (problem.offers["lower_bound_units"] == 0).all()
    assert np.isposinf(problem.offers["upper_bound_units"]).all()


def test_custom_commitment_fixes_the_new_commitment_of_its_kind() -> None:
    policy = Policy(
        mode=Mode.CUSTOM_COMMITMENT,
        custom_commitment_usd=0.2,
        custom_commitment_kind="compute-sp",
        ladder_tranches=2,
    )
    usage = usage_table(M5_FLEET, hours=24 * 45)
    problem = build_problem(usage, CATALOG, policy)
    assert problem.offer_row_names == ("custom_commitment_usd (compute-sp)",)
    compute = pool_index(problem, COMPUTE_SP_POOL)
    expected = (problem.offers["pool"] == compute).to_numpy(dtype=float)
    assert expected.sum() == 2  # both tranches
    assert problem.offer_rows.toarray()[0] == pytest.approx(expected)
    assert problem.offer_rows_lower.tolist() == problem.offer_rows_upper.tolist() == [0.2]
    assert (problem.coverage_lower, problem.coverage_upper) == (0.0, 1.0)

    c5_only = usage_table({("a", "c5.large", LINUX): 1.0})
    with pytest.raises(CommitoptInputError, match="no usage can be covered"):
        build_problem(c5_only, CATALOG, policy)
    three_year = Policy(
        instruments=("ri", "compute-sp"),
        terms_years=(3,),
        payment_options=ALL_PAYMENTS,
        mode=Mode.CUSTOM_COMMITMENT,
        custom_commitment_usd=0.2,
        custom_commitment_kind="compute-sp",
    )
    with pytest.raises(PolicyError, match="custom_commitment_kind='compute-sp': no usage"):
        build_problem(usage, CATALOG, three_year)


# --------------------------------------------------------------------------------- filters


def test_filters_keep_only_the_matching_keys() -> None:
    usage = usage_table({**M5_FLEET, ("c", "c5.large", LINUX): 1.0})
    by_account = build_problem(usage, CATALOG, Policy(include_accounts=("b",)))
    assert by_account.key_columns["instance_type"].tolist() == ["m5.xlarge"]
    assert by_account.demand_usd[0].tolist() == pytest.approx([0.192])
    excluded = build_problem(usage, CATALOG, Policy(exclude_accounts=("a",)))
    assert excluded.key_columns["instance_type"].tolist() == ["m5.xlarge"]
    assert excluded.dropped_keys["instance_type"].tolist() == ["c5.large"]
    by_region = build_problem(usage, CATALOG, Policy(exclude_regions=("us-west-2",)))
    assert by_region.dropped_keys.empty
    assert by_region.uncoverable_cost_usd == 0.0
    by_family = build_problem(usage, CATALOG, Policy(include_families=("m5",)))
    assert sorted(by_family.key_columns["instance_type"]) == ["m5.large", "m5.large", "m5.xlarge"]
    with pytest.raises(CommitoptInputError, match="`include_regions` eu-west-1"):
        build_problem(usage, CATALOG, Policy(include_regions=("eu-west-1",)))


def test_disabled_instruments_drop_what_they_alone_cover() -> None:
    problem = build_problem(usage_table(M5_FLEET), CATALOG, Policy(instruments=("ri",)))
    assert problem.pools["kind"].tolist() == [RI_POOL, RI_POOL]
    sp_only = build_problem(usage_table(M5_FLEET), CATALOG, Policy(instruments=("ec2-sp",)))
    assert sp_only.pools["kind"].tolist() == [EC2_SP_POOL]
    assert sp_only.coverage.nnz == 2


# --------------------------------------------------------------------------------- errors


def test_empty_and_all_zero_usage_are_clear_errors() -> None:
    zero = usage_table({("a", "m5.large", LINUX): 0.0})
    with pytest.raises(CommitoptInputError, match="the lookback has no usage"):
        build_problem(zero, CATALOG, Policy())
    empty = zero.iloc[:0]
    with pytest.raises(CommitoptInputError, match="the lookback has no usage"):
        build_problem(empty, CATALOG, Policy())


def test_keys_without_a_price_are_named() -> None:
    usage = usage_table({("a", "m5.large", LINUX): 1.0, ("z", "m5.2xlarge", LINUX): 1.0})
    with pytest.raises(
        MissingPriceError, match=re.escape("us-east-1 m5.2xlarge Linux/UNIX Shared")
    ):
        build_problem(usage, CATALOG, Policy())
    # a filtered-out key needs no price
    assert build_problem(usage, CATALOG, Policy(include_accounts=("a",))).n_columns == 1


def test_bad_policy_raises_before_anything() -> None:
    with pytest.raises(PolicyError, match="`ladder_tranches`=0"):
        build_problem(usage_table(M5_FLEET), CATALOG, Policy(ladder_tranches=0))


# --------------------------------------------------------------------------------- real data


def test_demo_usage_with_the_embedded_catalog() -> None:
    catalog = load_embedded_catalog()
    usage = demo_usage()
    matrix = to_matrix(usage)
    began = time.perf_counter()
    problem = build_problem(
        matrix, catalog, Policy(terms_years=(1, 3), payment_options=ALL_PAYMENTS)
    )
    seconds = time.perf_counter() - began
    assert seconds < 2.0
    rates = catalog.on_demand_rates(matrix.keys)
    on_demand = float((matrix.quantity * rates).sum())
    modelled = float(problem.period_weight @ problem.demand_usd.sum(axis=1))
    assert modelled + problem.uncoverable_cost_usd == pytest.approx(on_demand, rel=1e-12)
    assert problem.period_weight.sum() == len(matrix.hours)
    assert problem.hours.equals(matrix.hours)
    # every kept key points at a column of its region and family
    keys = problem.key_columns
    columns = problem.columns.iloc[keys["column"].to_numpy()]
    assert (columns["region"].to_numpy() == keys["region"].to_numpy()).all()
    assert (columns["instance_family"].to_numpy() == keys["instance_family"].to_numpy()).all()
    assert problem.coverage.shape == (problem.n_pools, problem.n_columns)
    assert problem.offer_active.shape == (problem.n_periods, problem.n_offers)
    assert problem.owned_capacity.shape == (problem.n_periods, problem.n_pools)
    assert list(problem.pools["order"]) == list(range(problem.n_pools))
    assert (np.diff([list(POOL_ORDER).index(k) for k in problem.pools["kind"]]) >= 0).all()
    coverage = problem.coverage.toarray()
    assert ((coverage > 0).sum(axis=0) >= 1).all()
    ri = (problem.pools["kind"] == RI_POOL).to_numpy()
    assert ((coverage[ri] > 0).sum(axis=1) == 1).all()
    sp_ratios = coverage[~ri][coverage[~ri] > 0]
    assert (sp_ratios > 0.2).all() and (sp_ratios < 1.0).all()


POOL_ORDER = (RI_POOL, EC2_SP_POOL, COMPUTE_SP_POOL)


def test_a_usage_matrix_and_its_table_build_the_same_problem() -> None:
    table = usage_table(M5_FLEET)
    matrix = to_matrix(table)
    assert isinstance(matrix, UsageMatrix)
    from_table = build_problem(table, CATALOG, Policy())
    from_matrix = build_problem(matrix, CATALOG, Policy())
    assert np.array_equal(from_table.demand_usd, from_matrix.demand_usd)
    pd.testing.assert_frame_equal(from_table.pools, from_matrix.pools)
    assert list(matrix.keys.columns) == list(KEY_COLUMNS)


# --------------------------------------------------------------------------------- billing


def greedy_cost(problem: CommitmentProblem, units: np.ndarray) -> float:
    """The model's billing truth, written plainly: pools in order, columns by ratio."""
    capacity = problem.pool_capacity(units)
    left = problem.demand_usd.copy()
    coverage = problem.coverage.toarray()
    for pool in np.argsort(problem.pools["order"].to_numpy()):
        remaining = capacity[:, pool].copy()
        columns = np.flatnonzero(coverage[pool])
        for column in columns[np.lexsort((columns, coverage[pool, columns]))]:
            used = np.minimum(left[:, column], remaining / coverage[pool, column])
            left[:, column] -= used
            remaining -= used * coverage[pool, column]
    on_demand = float((problem.period_weight * problem.period_discount) @ left.sum(axis=1))
    bought = float(problem.offers["objective_usd_per_unit"].to_numpy() @ units)
    return on_demand + bought + problem.owned_cost_usd + problem.uncoverable_cost_usd


def proportional_catalog() -> PriceCatalog:
    """The hand catalog with the m5.xlarge EC2 Instance SP rate at twice m5.large's."""
    plans = CATALOG.savings_plans.copy()
    xlarge = (plans["instance_type"] == "m5.xlarge") & (plans["plan_type"] == "ec2_instance")
    plans.loc[xlarge & (plans["term_years"] == 1), "sp_hourly_usd"] = 0.120
    return PriceCatalog(CATALOG.on_demand, CATALOG.reserved, plans, CATALOG.metadata)


def test_the_problem_bills_a_plan_as_the_simulator_does() -> None:
    from billing.simulator import simulate

    catalog = proportional_catalog()
    rng = np.random.default_rng(7)
    hours = 72
    usage = usage_table(
        {
            ("a", "m5.large", LINUX): rng.integers(0, 6, hours),
            ("b", "m5.xlarge", LINUX): rng.integers(0, 3, hours),
            ("a", "m5.large", WINDOWS): rng.integers(0, 4, hours),
            ("a", "c5.large", LINUX): 1.0,
        },
        hours=hours,
    )
    owned = [_owned_ri(id="owned-ri", count=1, start=START + pd.Timedelta(hours=20, minutes=30))]
    problem = build_problem(usage, catalog, Policy(), owned=owned)
    pools = problem.pools
    family = pool_index(problem, RI_POOL, size_flexible=True, owned=False)
    windows = pool_index(problem, RI_POOL, platform=WINDOWS)
    ec2 = pool_index(problem, EC2_SP_POOL)
    compute = pool_index(problem, COMPUTE_SP_POOL)
    units = np.zeros(problem.n_offers)
    pool_of_offer = problem.offers["pool"].to_numpy()
    units[pool_of_offer == family] = 8.0  # two m5.large
    units[pool_of_offer == windows] = 1.0
    units[pool_of_offer == ec2] = 0.1
    units[pool_of_offer == compute] = 0.08
    year = pd.Timedelta(days=365)
    purchases = [
        _owned_ri(id="new-ri", count=2, start=START, end=START + year),
        _owned_ri(
            id="new-w",
            platform=WINDOWS,
            count=1,
            start=START,
            end=START + year,
            recurring_usd_per_hour=0.150,
        ),
        Commitment(
            kind="ec2_instance_savings_plan",
            id="new-ec2",
            start=START,
            end=START + year,
            term_years=1,
            payment_option="No Upfront",
            upfront_usd=0.0,
            region=EAST,
            instance_family="m5",
            commitment_usd_per_hour=0.1,
        ),
        Commitment(
            kind="compute_savings_plan",
            id="new-c",
            start=START,
            end=START + year,
            term_years=1,
            payment_option="No Upfront",
            upfront_usd=0.0,
            commitment_usd_per_hour=0.08,
        ),
    ]
    billed = simulate(usage, [*owned, *purchases], catalog).totals.actual_cost_usd
    assert greedy_cost(problem, units) == pytest.approx(billed, rel=1e-9)
    assert pools.at[ec2, "term_years"] == 1
    nothing = simulate(usage, owned, catalog).totals.actual_cost_usd
    assert greedy_cost(problem, np.zeros(problem.n_offers)) == pytest.approx(nothing, rel=1e-9)
