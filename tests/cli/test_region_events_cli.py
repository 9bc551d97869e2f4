"""The installed command's region events: their rates in the JSON payload and the options that
set their priors."""

from __future__ import annotations

import json

from tests.cli.conftest import Sandbox, require_success
from tests.planning.test_future import WEEKS
from tests.planning.test_region_events import _two_families_east_and_m4_west


def test_recommend_states_the_region_rates_and_takes_their_priors(
    empty_sandbox: Sandbox,
) -> None:
    path = empty_sandbox.folder / "usage.csv"
    _two_families_east_and_m4_west().to_csv(path, index=False)
    base = ("recommend", "--usage", str(path), "--lookback", f"{WEEKS * 7}d", "--format", "json")

    def events(*extra: str) -> dict:  # type: ignore[type-arg]
        payload = json.loads(require_success(empty_sandbox.run(*base, *extra)).stdout)
        return payload["summary"]["decided_on"]["structural_events"]  # type: ignore[no-any-return]

    default = events()
    # no region fell in the lookback, and the priors are 0: no region events
    assert default["region_migration_rate_per_year"] == 0.0 == default["region_exit_rate_per_year"]
    assert "another region" not in default["rates"]
    stated = events("--region-migration-rate", "0.3", "--region-exit-rate", "0.1")
    # the priors shrunk with the lookback's evidence of none (two region-years of prior weight)
    region_years = 2 * WEEKS * 7 / 365
    assert stated["region_migration_rate_per_year"] == round(0.6 / (region_years + 2), 4)
    assert stated["region_exit_rate_per_year"] == round(0.2 / (region_years + 2), 4)
    assert "moves to another region with" in stated["rates"]
    # the sentence names the priors given, not the defaults
    assert "shrunk to the priors of 30% and 10%)" in stated["rates"]
    assert "shrunk to the priors of 10% and 5%" in stated["rates"]
    # a region moving every year: the futures hold the moves
    moving = events("--region-migration-rate", "3", "--migration-rate", "0", "--exit-rate", "0")
    assert moving["region_migration_rate_per_year"] > 1.0
    assert moving["futures_with_events"] > default["futures_with_events"]

    bad = empty_sandbox.run(*base, "--region-exit-rate", "-1")
    assert bad.exit_code == 2 and "--region-exit-rate" in bad.stderr
