"""On top of commitments owned, an increment within the decision's own noise is not bought."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optimizer.policy import Policy
from planning.increment import MIN_INCREMENT_PCT
from planning.recommend import RecommendOptions, recommend
from pricing.embedded import load_embedded_catalog
from tests.planning.test_future import START, _ri, _usage

HOURS = 30 * 24
RI_ONLY = Policy(instruments=("ri",), terms_years=(1,), payment_options=("No Upfront",))
ON_LOOKBACK = RecommendOptions(lookback_days=30, decide_on="lookback")


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_embedded_catalog()


def _bought(catalog, owned, **options: float):  # type: ignore[no-untyped-def]
    usage = _usage({"m4.large": np.full(HOURS, 100.0)})
    options_ = RecommendOptions(**{**ON_LOOKBACK.__dict__, **options})
    return recommend(usage, catalog, RI_ONLY, owned=owned, options=options_)


def test_an_increment_of_one_percent_is_not_bought_on_top_of_what_is_owned(catalog) -> None:  # type: ignore[no-untyped-def]
    end = START + pd.Timedelta(days=365)
    owned = [_ri("owned", "m4.large", 99, START, end)]
    run = _bought(catalog, owned)
    assert MIN_INCREMENT_PCT == 2.0
    assert run.purchases == ()
    assert run.summary["savings_vs_current_usd"] == 0.0
    (note,) = run.notes
    assert "is 1.0 % of the" in note and "`min_increment_pct` 2 %" in note
    anyway = _bought(catalog, owned, min_increment_pct=0.0)
    assert [(p.instance_type, p.count) for p in anyway.purchases] == [("m4.large", 1)]
    assert anyway.notes == ()


def test_commitments_ended_before_the_decision_do_not_count(catalog) -> None:  # type: ignore[no-untyped-def]
    ended = [_ri("ended", "m4.large", 99, START, START + pd.Timedelta(days=29))]
    run = _bought(catalog, ended)
    # the lookback's decision counts them while active (it buys the one RI they leave), but
    # nothing is owned after the lookback: the increment is bought
    assert [(p.instance_type, p.count) for p in run.purchases] == [("m4.large", 1)]
    assert run.notes == ()
