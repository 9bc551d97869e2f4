"""Brute force on tiny cases: AWS's order, and no cheaper allocation within one SP pool."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from billing.simulator import simulate
from pricing.catalog import CatalogMetadata, PriceCatalog
from pricing.inventory import Commitment

START = datetime(2026, 3, 1, tzinfo=UTC)
TYPES = ("m5.large", "c5.large", "r5.large", "t3.large")
FACTORS = {"large": 4.0, "xlarge": 8.0, "2xlarge": 16.0}


def random_case(
    rng: np.random.Generator, n_keys: int
) -> tuple[pd.DataFrame, PriceCatalog, dict[str, float], dict[str, float]]:
    """One hour of usage of ``n_keys`` Linux types, random on-demand and Compute SP rates."""
    types = list(TYPES[:n_keys])
    od = {t: float(rng.choice([0.05, 0.08, 0.1, 0.2, 0.3])) for t in types}
    sp = {t: round(od[t] * float(rng.choice([0.4, 0.55, 0.7, 0.8, 0.9])), 6) for t in types}
    quantity = {t: float(rng.choice([0.0, 1.0, 2.0, 3.0])) for t in types}
    base = [
        {"region": "us-east-1", "instance_type": t, "platform": "Linux/UNIX", "tenancy": "Shared"}
        for t in types
    ]
    catalog = PriceCatalog.from_frames(
        CatalogMetadata("brute force", date(2026, 1, 1)),
        on_demand=pd.DataFrame(
            [{**row, "on_demand_usd_per_hour": od[row["instance_type"]]} for row in base]
        ),
        savings_plans=pd.DataFrame(
            [
                {
                    **row,
                    "plan_type": "compute",
                    "term_years": 1,
                    "payment_option": "No Upfront",
                    "sp_hourly_usd": sp[row["instance_type"]],
                }
                for row in base
            ]
        ),
    )
    usage = pd.DataFrame(
        {
            "hour": START,
            "account_id": "111",
            "region": "us-east-1",
            "instance_type": types,
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "quantity": [quantity[t] for t in types],
        }
    )
    return usage, catalog, od, sp


def plan(commitment: float) -> Commitment:
    return Commitment(
        kind="compute_savings_plan",
        id="sp",
        start=START,
        end=START + timedelta(hours=8_760),
        term_years=1,
        payment_option="No Upfront",
        upfront_usd=0.0,
        commitment_usd_per_hour=commitment,
        recurring_usd_per_hour=commitment,
        effective_usd_per_hour=commitment,
    )


def cost_of_order(
    order: tuple[str, ...],
    quantity: dict[str, float],
    od: dict[str, float],
    sp: dict[str, float],
    commitment: float,
) -> float:
    """One hour's bill when the plan fills keys in ``order`` (plain Python, key by key)."""
    left = commitment
    total = commitment
    for key in order:
        spend = quantity[key] * sp[key]
        used = min(left, spend)
        left -= used
        total += (quantity[key] - used / sp[key]) * od[key]
    return total


@pytest.mark.parametrize("seed", range(40))
def test_sp_pool_bills_aws_order_and_nothing_is_cheaper(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_keys = int(rng.integers(2, 5))
    usage, catalog, od, sp = random_case(rng, n_keys)
    quantity = dict(zip(usage["instance_type"], usage["quantity"], strict=True))
    commitment = float(rng.choice([0.05, 0.1, 0.25, 0.5, 1.0]))
    result = simulate(usage, [plan(commitment)], catalog)
    simulated = result.totals.actual_cost_usd
    # AWS's order: highest discount first, ties to the lowest SP rate.
    aws = tuple(sorted(od, key=lambda t: (-(1 - sp[t] / od[t]), sp[t])))
    assert simulated == pytest.approx(cost_of_order(aws, quantity, od, sp, commitment))
    # No order of the keys is cheaper ...
    for order in itertools.permutations(od):
        assert simulated <= cost_of_order(order, quantity, od, sp, commitment) + 1e-9
    # ... nor any allocation of a grid of fractions that fits the commitment.
    grid = np.linspace(0.0, 1.0, 5)
    for fractions in itertools.product(grid, repeat=n_keys):
        covered = {t: f * quantity[t] for t, f in zip(od, fractions, strict=True)}
        if sum(covered[t] * sp[t] for t in od) > commitment + 1e-12:
            continue
        cost = commitment + sum((quantity[t] - covered[t]) * od[t] for t in od)
        assert simulated <= cost + 1e-9


@pytest.mark.parametrize("seed", range(20))
def test_size_flexible_ri_pool_matches_smallest_first(seed: int) -> None:
    """Enumerate orders of an m5 pool: the simulator covers exactly the smallest-first one."""
    rng = np.random.default_rng(seed)
    sizes = ["large", "xlarge", "2xlarge"]
    quantity = {s: float(rng.integers(0, 4)) for s in sizes}
    units = float(rng.choice([4.0, 8.0, 16.0, 24.0, 40.0]))
    types = [f"m5.{s}" for s in sizes]
    catalog = PriceCatalog.from_frames(
        CatalogMetadata("brute force", date(2026, 1, 1)),
        on_demand=pd.DataFrame(
            {
                "region": "us-east-1",
                "instance_type": types,
                "platform": "Linux/UNIX",
                "tenancy": "Shared",
                "on_demand_usd_per_hour": [0.024 * FACTORS[s] for s in sizes],
            }
        ),
    )
    usage = pd.DataFrame(
        {
            "hour": START,
            "account_id": "111",
            "region": "us-east-1",
            "instance_type": types,
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "quantity": [quantity[s] for s in sizes],
        }
    )
    count = int(units // 4)
    ri = Commitment(
        kind="reserved_instance",
        id="ri",
        start=START,
        end=START + timedelta(hours=8_760),
        term_years=1,
        payment_option="No Upfront",
        upfront_usd=0.0,
        region="us-east-1",
        instance_type="m5.large",
        platform="Linux/UNIX",
        tenancy="Shared",
        scope="Region",
        offering_class="standard",
        count=count,
        recurring_usd_per_hour=0.06,
        effective_usd_per_hour=0.06 * count,
    )
    result = simulate(usage, [ri], catalog)
    covered = dict(zip(result.keys["instance_type"], result.ri_covered[0], strict=True))

    def fill(order: tuple[str, ...]) -> dict[str, float]:
        left, out = units, {}
        for size in order:
            take = min(left, quantity[size] * FACTORS[size])
            left -= take
            out[f"m5.{size}"] = take / FACTORS[size]
        return out

    orders = {order: fill(order) for order in itertools.permutations(sizes)}
    smallest_first = orders[("large", "xlarge", "2xlarge")]
    for name, value in smallest_first.items():
        assert covered[name] == pytest.approx(value)
    total_units = sum(covered[f"m5.{s}"] * FACTORS[s] for s in sizes)
    for allocation in orders.values():  # every order uses the same units: rates are proportional
        assert total_units == pytest.approx(sum(allocation[f"m5.{s}"] * FACTORS[s] for s in sizes))
