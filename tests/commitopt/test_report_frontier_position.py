"""The plan on the report's frontier: marked in the tables and the chart, and said in words that
follow the numbers (at the expected-savings maximum, below it, or where the risk option puts it).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from commitopt.report import build_report_data, render_html, render_markdown, report_json
from commitopt.report.content import MAXIMUM_MARK, PLAN_MARK, frontier_rows
from commitopt.report.frontier import plan_position, plan_position_text, risk_option_text
from commitopt.report.inputs import Frontier
from optimizer.policy import Policy
from planning.recommend import RecommendationRun, RecommendOptions, recommend
from pricing.catalog import PriceCatalog
from pricing.embedded import load_embedded_catalog
from scenarios.frontier import AT_MAXIMUM_TOLERANCE_PCT, expected_savings_maximum
from usage.synthetic import steady_daily_cycle

LEVELS = [0.0, 2.5, 5.0, 7.5, 10.0]
PLAN = 5.0
AT_PLAN = [0.0, 500.0, 900.0, 850.0, 700.0]
"""Expected savings whose maximum is the plan's level [USD]."""
ABOVE_PLAN = [0.0, 500.0, 900.0, 1_000.0, 700.0]
"""Expected savings whose maximum is at 1.5× the plan, 100 USD (10 %) more [USD]."""


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return load_embedded_catalog()


@pytest.fixture(scope="module")
def run(catalog: PriceCatalog) -> RecommendationRun:
    usage = pd.concat(
        [
            steady_daily_cycle(start="2024-03-01", hours=14 * 24, base_instances=30.0, seed=1),
            steady_daily_cycle(
                start="2024-03-01", hours=14 * 24, base_instances=12.0, seed=2,
                instance_type="c4.large",
            ),
        ],
        ignore_index=True,
    )  # fmt: skip
    return recommend(usage, catalog, Policy(), options=RecommendOptions(lookback_days=14))


def _given(savings: list[float], **extra: Any) -> dict[str, Any]:
    return {
        "levels_usd_per_hour": LEVELS,
        "mean_savings_vs_current_usd": savings,
        "plan_usd_per_hour": PLAN,
        "knee_usd_per_hour": 2.5,
        "horizon": "the next 12 months",
        **extra,
    }


def _marks(markdown: str) -> dict[str, str]:
    """Level -> marks of the frontier table in the Markdown report."""
    section = markdown.split("## Savings versus commitment level", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if re.match(r"^\| [\d,.]+ \|", line)]
    return {
        cells[0]: cells[2]
        for cells in ([c.strip() for c in row.strip("|").split("|")] for row in rows)
    }


def test_the_maximum_and_the_distance_are_read_off_the_curve() -> None:
    at = expected_savings_maximum(LEVELS, AT_PLAN, PLAN)
    assert (at.maximum_level, at.plan_savings_usd, at.shortfall_usd) == (PLAN, 900.0, 0.0)
    assert at.at_maximum and at.maximum_over_plan == 1.0
    below = expected_savings_maximum(LEVELS, ABOVE_PLAN, PLAN)
    assert below.maximum_level == 7.5 and below.maximum_savings_usd == 1_000.0
    assert below.shortfall_usd == pytest.approx(100.0)
    assert below.shortfall_pct == pytest.approx(10.0)
    assert not below.at_maximum and below.maximum_over_plan == pytest.approx(1.5)
    # A plan between two levels is read on the straight line between them.
    between = expected_savings_maximum(LEVELS, ABOVE_PLAN, 6.25)
    assert between.plan_savings_usd == pytest.approx(950.0)
    assert between.shortfall_pct == pytest.approx(5.0)
    # Within the tolerance, the plan is at the maximum.
    close = [0.0, 500.0, 900.0, 900.0 * (1 + AT_MAXIMUM_TOLERANCE_PCT / 200), 700.0]
    assert expected_savings_maximum(LEVELS, close, PLAN).at_maximum


def test_a_plan_at_the_maximum_is_marked_and_said_so(
    run: RecommendationRun, catalog: PriceCatalog
) -> None:
    data = build_report_data(run, catalog=catalog, frontier=_given(AT_PLAN))
    markdown = render_markdown(data)
    sentence = (
        "The plan (5.000 USD/h) is at the curve's expected-savings maximum: 900.00 USD over the "
        "next 12 months."
    )
    assert sentence in markdown
    marks = _marks(markdown)
    assert marks["5.000"] == f"{PLAN_MARK}, {MAXIMUM_MARK}"
    assert marks["2.500"] == "knee" and marks["0.000"] == marks["7.500"] == ""
    page = render_html(data)
    assert 'id="frontier-position"' in page and sentence.replace("'", "&#x27;") in page
    assert f"<td>{PLAN_MARK}, {MAXIMUM_MARK}</td>" in page
    assert "Recommended (5.00 USD/h)" in page and "Maximum (" not in page  # the chart
    payload = report_json(data)["frontier"]
    assert payload["plan_position"]["at_maximum"] is True
    assert payload["plan_position_text"] == sentence


def test_a_plan_below_the_maximum_says_where_and_by_how_much(
    run: RecommendationRun, catalog: PriceCatalog
) -> None:
    data = build_report_data(run, catalog=catalog, frontier=_given(ABOVE_PLAN))
    markdown = render_markdown(data)
    sentence = (
        "The plan (5.000 USD/h) is below the curve's expected-savings maximum at 1.50× the plan "
        "(7.500 USD/h) by 100.00 USD (10.0 %) over the next 12 months: buying more would have "
        "saved more on these figures."
    )
    assert sentence in markdown
    marks = _marks(markdown)
    assert marks["5.000"] == PLAN_MARK and marks["7.500"] == MAXIMUM_MARK
    page = render_html(data)
    assert f"<td>{PLAN_MARK}</td>" in page and f"<td>{MAXIMUM_MARK}</td>" in page
    assert "Maximum (7.50 USD/h)" in page  # the chart's marker
    position = report_json(data)["frontier"]["plan_position"]
    assert position["maximum_level"] == 7.5 and position["shortfall_usd"] == pytest.approx(100.0)
    # Less is better: the words turn around.
    falling = [0.0, 950.0, 900.0, 850.0, 700.0]
    text = plan_position_text(Frontier.coerce(_given(falling)))
    assert "at 0.50× the plan (2.500 USD/h) by 50.00 USD (5.3 %)" in text
    assert text.endswith("buying less would have saved more on these figures.")


def test_a_risk_option_is_named_as_the_reason(
    run: RecommendationRun, catalog: PriceCatalog
) -> None:
    risk = risk_option_text(Policy(cvar_alpha=0.95, cvar_weight=0.5))
    assert risk == "CVaR of the worst 5 % of scenarios at weight 0.5"
    assert risk_option_text(Policy()) == ""
    data = build_report_data(run, catalog=catalog, frontier=_given(ABOVE_PLAN, risk_option=risk))
    assert render_markdown(data).count(f"it is where the risk option puts it ({risk}).") == 1


def test_the_data_period_frontier_marks_the_plan_and_its_words_follow_its_numbers(
    run: RecommendationRun, catalog: PriceCatalog
) -> None:
    data = build_report_data(run, catalog=catalog, owned=())
    curve = data.frontier
    assert curve is not None and curve.plan_usd_per_hour is not None
    position = plan_position(curve)
    assert position is not None
    savings = curve.mean_savings_vs_current_usd
    best = int(np.argmax(savings))
    at_plan = np.flatnonzero(np.isclose(curve.levels_usd_per_hour, curve.plan_usd_per_hour))
    assert at_plan.size == 1  # level 1 is on the grid
    assert position.maximum_level == curve.levels_usd_per_hour[best]
    assert position.shortfall_usd == pytest.approx(savings[best] - savings[at_plan[0]])
    rows = frontier_rows(data)
    assert PLAN_MARK in rows[at_plan[0]][2] and MAXIMUM_MARK in rows[best][2]
    text = plan_position_text(curve)
    assert text in render_markdown(data)
    if position.at_maximum:
        assert "is at the curve's expected-savings maximum" in text
    else:
        ratio = position.maximum_level / position.plan_level
        assert f"below the curve's expected-savings maximum at {ratio:.2f}×" in text
        assert f"by {position.shortfall_usd:,.2f} USD" in text
