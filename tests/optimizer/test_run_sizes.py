"""RI purchase sizes chosen among the sizes the account runs (tiny hand problems)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from optimizer.problem import CommitmentProblem
from optimizer.purchases import purchases_from_units, run_size_choice
from optimizer.rounding import whole_ri_units
from tests.optimizer.plan_problems import four_instrument_problem


def _running(*sizes: tuple[str, float]) -> CommitmentProblem:
    """The four-instrument problem whose m5 family column (0) runs ``sizes``."""
    keys = pd.DataFrame(
        {
            "region": "us-east-1",
            "instance_type": [name for name, _ in sizes],
            "platform": "Linux/UNIX",
            "tenancy": "Shared",
            "instance_family": "m5",
            "column": 0,
            "size_flexible": True,
            "normalization_factor": [factor for _, factor in sizes],
            "units_per_instance": [factor for _, factor in sizes],
            "on_demand_usd_per_hour": [0.024 * factor for _, factor in sizes],
        }
    )
    return replace(four_instrument_problem(), key_columns=keys)


def test_the_largest_run_size_that_makes_the_units_exactly() -> None:
    problem = _running(("m5.xlarge", 8.0), ("m5.2xlarge", 16.0), ("m5.large", 4.0))
    types, size = run_size_choice(problem, np.array([56.0, 3.0, 0.0, 1.0, 0.0]))
    assert (types[0], size[0]) == ("m5.xlarge", 8.0)  # 56 = 7 × 8, not a multiple of 16
    assert (types[1], size[1]) == ("m5.large", 1.0)  # the Windows RI: its exact key
    (ri, windows) = purchases_from_units(problem, np.array([56.0, 3.0, 0.0, 0.0, 0.0]))
    assert (ri.instance_type, ri.count, ri.normalized_units) == ("m5.xlarge", 7, 56.0)
    assert (windows.instance_type, windows.count) == ("m5.large", 3)


def test_no_run_size_divides_so_rounding_goes_down_to_the_fewest_units_lost() -> None:
    problem = _running(("m5.xlarge", 8.0), ("m5.2xlarge", 16.0))
    # 13 m5.large = 52 NU: 6 × 8 = 48 and 3 × 16 = 48 lose 4 NU each; the larger size wins
    units = whole_ri_units(problem, np.array([51.2, 2.6, 0.0, 1.0, 0.0]))
    assert list(units[:2]) == [48.0, 3.0]
    types, size = run_size_choice(problem, units)
    assert (types[0], size[0]) == ("m5.2xlarge", 16.0)
    # purchases without a run size that divides keep the pool's size (never change the units)
    exact_only = run_size_choice(problem, np.array([52.0, 3.0, 0.0, 0.0, 0.0]))
    assert (exact_only[0][0], exact_only[1][0]) == ("m5.large", 4.0)
    # a chosen size still overrides
    chosen = whole_ri_units(problem, np.array([51.2, 2.6, 0.0, 1.0, 0.0]), ri_instance_type="large")
    assert list(chosen[:2]) == [52.0, 3.0]


def test_nothing_the_account_runs_fits_so_the_smallest_size_stays() -> None:
    problem = _running(("m5.4xlarge", 32.0))
    units = whole_ri_units(problem, np.array([20.0, 0.0, 0.0, 0.0, 0.0]))
    assert units[0] == 20.0  # 5 × m5.large: one m5.4xlarge would be more than the LP bought
