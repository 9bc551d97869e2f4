"""Report figures that must not mislead an approver (issue 14, item 6).

The case the workshop account showed: two linked accounts, owned RIs expiring inside the Monte
Carlo horizon, usage of 2018 priced with the embedded 2017 snapshot, reported years later.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from commitopt.report import (
    ReportData,
    build_report_data,
    render_html,
    render_markdown,
    report_csv,
    report_json,
)
from commitopt.report.basis import horizon_expiring, monte_carlo_note
from commitopt.report.checks import stale_prices_warning, stale_usage_warning
from commitopt.report.inputs import MonteCarloSavings
from commitopt.report.sources import report_data_from_portfolio
from commitopt.report.tables import dated_purchases
from commitopt.review import ReviewOptions, forecast_savings
from optimizer.policy import Policy
from planning.recommend import RecommendationRun, RecommendOptions, recommend
from pricing.catalog import PriceCatalog
from pricing.embedded import load_embedded_catalog
from pricing.inventory import Commitment
from tests.cli.glossary import check_fields
from usage.synthetic import steady_daily_cycle

START = "2018-11-01T00:00:00Z"
HOURS = 24 * 30
DATA_END = pd.Timestamp(START) + pd.Timedelta(hours=HOURS)  # 2018-12-01
GENERATED = datetime(2024, 12, 4, 9, 30, tzinfo=UTC)
ACCOUNT_A, ACCOUNT_B = "111111111111", "222222222222"
EXPIRIES = ("2019-01-15T00:00:00Z", "2019-02-01T00:00:00Z", "2019-03-01T00:00:00Z")


def _usage() -> pd.DataFrame:
    """Account A runs m4.large in us-east-1 (partly on its own RIs), B c4.2xlarge in eu-west-1."""
    return pd.concat(
        [
            steady_daily_cycle(start=START, hours=HOURS, base_instances=40.0,
                               daily_amplitude_instances=12.0, seed=1, account_id=ACCOUNT_A),
            steady_daily_cycle(start=START, hours=HOURS, base_instances=16.0,
                               daily_amplitude_instances=6.0, seed=2, account_id=ACCOUNT_B,
                               region="eu-west-1", instance_type="c4.2xlarge"),
        ],
        ignore_index=True,
    )  # fmt: skip


def _owned() -> list[Commitment]:
    """Three RIs of account A, each 10 × m4.large, ending 1.5, 2 and 3 months after the data."""
    items = []
    for number, stamp in enumerate(EXPIRIES, start=1):
        end = pd.Timestamp(stamp).to_pydatetime()
        items.append(
            Commitment(
                kind="reserved_instance", id=f"ri-owned-{number}",
                start=end - timedelta(hours=8760), end=end, term_years=1,
                payment_option="No Upfront", upfront_usd=0.0,
                region="us-east-1", instance_type="m4.large", platform="Linux/UNIX",
                tenancy="Shared", scope="Region", offering_class="standard", count=10,
                normalized_units=40.0, recurring_usd_per_hour=0.062, effective_usd_per_hour=0.62,
                account_id=ACCOUNT_A,
            )
        )  # fmt: skip
    return items


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return load_embedded_catalog()


@pytest.fixture(scope="module")
def run(catalog: PriceCatalog) -> RecommendationRun:
    return recommend(
        _usage(),
        catalog,
        Policy(),
        owned=_owned(),
        # decided on the lookback, the plan does not replace the RIs that expire in the horizon
        # (decided on the futures, it buys what they leave on-demand, and the range rises)
        options=RecommendOptions(lookback_days=30, decide_on="lookback"),
    )


@pytest.fixture(scope="module")
def monte(run: RecommendationRun, catalog: PriceCatalog) -> MonteCarloSavings:
    """What ``review`` computes, plus the owned-only rate and the length it knows."""
    options = ReviewOptions(n_paths=30, horizon_hours=8760)
    current, _, savings, _ = forecast_savings(run, _owned(), catalog, options, lambda _: None)
    return dataclasses.replace(
        savings,
        current_savings_vs_on_demand_pct=current.paths["savings_vs_on_demand_pct"].to_numpy(),
        horizon_hours=8760,
    )


@pytest.fixture(scope="module")
def data(run: RecommendationRun, catalog: PriceCatalog, monte: MonteCarloSavings) -> ReportData:
    return build_report_data(
        run, monte_carlo=monte, catalog=catalog, owned=_owned(), generated_at=GENERATED,
        compute_frontier=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def markdown(data: ReportData) -> str:
    return render_markdown(data)


@pytest.fixture(scope="module")
def page(data: ReportData) -> str:
    return render_html(data)


# --- 1. the ESR point estimate and its range, each on its stated basis ---------------------


def test_esr_range_is_labelled_as_the_forecast_and_the_expiries_explained(
    data: ReportData, markdown: str, page: str, monte: MonteCarloSavings
) -> None:
    s = data.summary
    esr = monte.savings_vs_on_demand_pct
    assert esr is not None
    assert s.p50_savings_vs_on_demand_pct == pytest.approx(np.percentile(esr, 50))
    current = monte.current_savings_vs_on_demand_pct
    assert current is not None
    assert s.p50_current_savings_vs_on_demand_pct == pytest.approx(np.percentile(current, 50))
    # The expiries pull the range below the data period's rate (the case being explained).
    assert s.p50_savings_vs_on_demand_pct < s.savings_vs_on_demand_pct - 0.5
    assert s.p50_current_savings_vs_on_demand_pct < s.current_savings_vs_on_demand_pct - 0.5
    note = data.monte_carlo_note
    assert (
        "3 owned RIs (ri-owned-1, ri-owned-2, ri-owned-3) expire between 2019-01-15 and "
        "2019-03-01, inside the 12-month horizon: after that, the usage they covered is paid "
        "on-demand in the current case"
    ) in note
    assert "which is why the range sits below the data period's rate" in note
    assert "bills the data period's usage (2018-11-01 to 2018-12-01)" in note
    assert "median $" in note and "/month over the data period" in note  # purchases, both bases
    # Both renderings label the two figures and show the median beside the range.
    assert "| Effective savings rate (vs on-demand), with the plan, data period (30 days) |" in (
        markdown
    )
    label = "| Effective savings rate, with the plan over the next 12 months, P5 to P95 |"
    row = next(line for line in markdown.splitlines() if line.startswith(label))
    assert f"median {s.p50_savings_vs_on_demand_pct:.1f}%" in row
    assert note in markdown and note.replace("'", "&#x27;") in page
    assert 'id="monte-carlo-note"' in page


def test_no_expiry_in_the_horizon_says_so_and_claims_no_cause(monte: MonteCarloSavings) -> None:
    args = dict(point_pct=50.0, current_point_pct=10.0, savings_vs_current_usd_per_month=100.0,
                period_start=pd.Timestamp(START), period_end=DATA_END)  # fmt: skip
    note = monte_carlo_note(monte, owned=(), owned_known=True, **args)  # type: ignore[arg-type]
    assert "No owned commitment expires inside the 12-month horizon" in note
    assert "which is why" not in note
    unknown = monte_carlo_note(monte, owned=(), owned_known=False, **args)  # type: ignore[arg-type]
    assert "were not given to the report" in unknown
    assert monte_carlo_note(None, owned=(), owned_known=True, **args) == ""  # type: ignore[arg-type]
    # The horizon is read from its words when no length is given.
    worded = MonteCarloSavings(monte.savings_vs_current_usd, horizon="the next 6 months")
    assert worded.length_hours() == 6 * 730
    assert MonteCarloSavings(np.ones(3), horizon="a year").length_hours() == 8760
    assert MonteCarloSavings(np.ones(3)).length_hours() is None
    inside = horizon_expiring(_owned(), DATA_END, 24 * 63)  # to 2019-02-02: two of three
    assert [item.id for item in inside] == ["ri-owned-1", "ri-owned-2"]


# --- 2. purchases dated from the purchase, not from the lookback ---------------------------


def test_purchases_start_on_the_purchase_date_and_end_one_term_later(
    data: ReportData, markdown: str, run: RecommendationRun
) -> None:
    table = data.purchases
    assert all(p.start == DATA_END - pd.Timedelta(hours=HOURS) for p in run.purchases)  # billed
    assert (table["start"] == pd.Timestamp(GENERATED)).all()
    assert (table["end"] == pd.Timestamp(GENERATED) + pd.Timedelta(hours=8760)).all()
    assert "| 2024-12-04 | 2025-12-04 |" in markdown and "2019-11-01" not in markdown
    assert "- **Purchases start:** 2024-12-04 (the purchase date)" in markdown
    csv = report_csv(data)
    assert "2024-12-04T09:30:00+00:00" in csv and "2018-11-01" not in csv.split("\n", 1)[1]


def test_a_stored_plans_creation_date_and_a_future_start_are_kept(
    run: RecommendationRun, catalog: PriceCatalog
) -> None:
    created = datetime(2024, 11, 20, 6, 0, tzinfo=UTC)
    data = build_report_data(run, catalog=catalog, owned=_owned(), generated_at=GENERATED,
                             purchase_date=created, compute_frontier=False)  # fmt: skip
    assert (data.purchases["start"] == pd.Timestamp(created)).all()
    first = pd.Timestamp(START)
    purchases = run.purchases
    later = dataclasses.replace(
        purchases[0],
        start=(first + pd.Timedelta(days=31)).to_pydatetime(),
        end=(first + pd.Timedelta(days=31, hours=8760)).to_pydatetime(),
    )
    future = pd.Timestamp("2025-03-01", tz="UTC")
    planned = dataclasses.replace(
        purchases[0],
        start=future.to_pydatetime(),
        end=(future + pd.Timedelta(hours=26280)).to_pydatetime(),
    )
    bought = pd.Timestamp(created)
    dated = dated_purchases([purchases[0], later, planned], period_start=first,
                            purchase_date=bought)  # fmt: skip
    assert [pd.Timestamp(item.start) for item in dated] == [
        bought,
        bought + pd.Timedelta(days=31),
        future,  # a ladder's tranche keeps its offset
    ]
    assert [pd.Timestamp(i.end) - pd.Timestamp(i.start) for i in dated] == [
        pd.Timedelta(hours=8760), pd.Timedelta(hours=8760), pd.Timedelta(hours=26280)
    ]  # fmt: skip


# --- 3. break-even only where something is paid upfront -----------------------------------


def test_no_upfront_has_no_break_even_month(data: ReportData, markdown: str, page: str) -> None:
    assert data.summary.upfront_usd == 0.0
    row = next(line for line in markdown.splitlines() if line.startswith("| Break-even |"))
    assert "| immediate |" in row and "month" not in row.split("|")[2]
    assert "break-even month" not in page.lower().split("how these figures were made")[0]
    assert "Break-even: month" not in page  # no marker on the cash-flow chart
    assert "no upfront, so no break-even to wait for" in page


def test_upfront_keeps_its_break_even_month(catalog: PriceCatalog) -> None:
    policy = Policy(instruments=("ri",), payment_options=("All Upfront",))
    run = recommend(_usage(), catalog, policy, options=RecommendOptions(lookback_days=30))
    data = build_report_data(run, catalog=catalog, owned=(), compute_frontier=False)
    month = data.summary.break_even_month
    assert data.summary.upfront_usd > 0 and month is not None and month > 1
    assert f"| Break-even | month {month} |" in render_markdown(data)
    assert f"Break-even: month {month}" in render_html(data)


# --- 4. a view per account, and who buys each purchase ----------------------------------------


def test_per_account_table_adds_up_and_names_both_accounts(
    data: ReportData, run: RecommendationRun, markdown: str
) -> None:
    table = data.by_account
    with_usage = table.loc[table["on_demand_cost_usd"] > 0, "account_id"].tolist()
    assert sorted(with_usage) == [ACCOUNT_A, ACCOUNT_B]
    before, after = run.baseline.totals, run.with_plan.totals
    assert table["on_demand_cost_usd"].sum() == pytest.approx(after.on_demand_cost_usd)
    assert table["current_cost_usd"].sum() == pytest.approx(before.actual_cost_usd)
    assert table["planned_cost_usd"].sum() == pytest.approx(after.actual_cost_usd)
    a = table.set_index("account_id").loc[ACCOUNT_A]
    b = table.set_index("account_id").loc[ACCOUNT_B]
    assert a["current_coverage_pct"] > 50.0  # its own RIs
    assert b["current_coverage_pct"] == pytest.approx(0.0)  # nothing owned in eu-west-1
    weighted = (table["on_demand_cost_usd"] * table["coverage_pct"].fillna(0)).sum()
    assert weighted / after.on_demand_cost_usd == pytest.approx(after.coverage_pct)
    section = markdown.split("## By account (data period)")[1].split("## By month")[0]
    assert f"| {ACCOUNT_A} |" in section and f"| {ACCOUNT_B} |" in section
    # A purchase that names no account: bought in the payer account, shared; its cover by account.
    assert (data.purchases["account_id"] == "").all()
    assert "| payer (shared) |" in markdown
    assert "Covered by account, data period: 2" in markdown


def test_a_purchase_naming_its_account_shows_it(
    run: RecommendationRun, catalog: PriceCatalog
) -> None:
    purchases = [dataclasses.replace(p, account_id=ACCOUNT_B) for p in run.purchases]
    usage = _usage()
    data = report_data_from_portfolio(
        run.portfolio, purchases, usage, catalog, owned=_owned(), generated_at=GENERATED,
        compute_frontier=False,
    )  # fmt: skip
    assert (data.purchases["account_id"] == ACCOUNT_B).all()
    rows = [line for line in render_markdown(data).splitlines() if line.startswith("| rec-")]
    assert rows and all(f"| {ACCOUNT_B} |" in line for line in rows)
    assert report_json(data)["purchases"][0]["account_id"] == ACCOUNT_B


# --- 5. warnings at the top: old usage, old prices ------------------------------------------


def test_stale_usage_and_prices_are_warned_first(
    data: ReportData, markdown: str, page: str
) -> None:
    usage_line = (
        "the usage ends 2018-12-01, 2,195 days before this report: every figure bills that "
        "period's usage"
    )
    assert data.warnings[0].startswith(usage_line)
    assert data.warnings[1].startswith(
        "prices come from the embedded ec2instances.info snapshot of 2017-11-12, 2,579 days "
        "before this report"
    )
    assert markdown.index("## Warnings") < markdown.index("## Summary")
    assert f"> **Warning:** {usage_line}" in markdown
    assert page.index('id="warnings"') < page.index('id="decision"')
    assert usage_line.replace("'", "&#x27;") in page


def test_recent_usage_and_fresh_prices_raise_no_warning() -> None:
    end = pd.Timestamp("2026-11-01", tz="UTC")
    assert stale_usage_warning(end, datetime(2026, 11, 30, tzinfo=UTC)) is None
    assert "31 days before" in (stale_usage_warning(end, datetime(2026, 12, 2, tzinfo=UTC)) or "")
    fresh = "AWS Price List bulk CSV AmazonEC2 20261101"
    now = datetime(2026, 12, 4, tzinfo=UTC)
    assert stale_prices_warning(fresh, datetime(2026, 11, 1).date(), now) is None
    old = stale_prices_warning(fresh, datetime(2025, 1, 2).date(), now)
    assert old is not None and "a catalog dated 2025-01-02" in old


# --- the header of a stored plan, and the JSON vocabulary ------------------------------------


def test_stored_plan_header_prints_the_hash_approvals_bind_to(data: ReportData) -> None:
    digest = "0123456789abcdef" * 4
    stored = dataclasses.replace(
        data,
        header=dataclasses.replace(
            data.header, plan_id="plan-20241204-1", sha256=digest, sha256_of="plan"
        ),
    )
    text = render_markdown(stored)
    assert "- **Plan:** plan-20241204-1" in text
    assert f"- **Plan SHA-256:** {digest} (the SHA-256 that approvals bind to)" in text
    page = render_html(stored)
    assert f"<dd>{digest} (the SHA-256 that approvals bind to)</dd>" in page
    assert "<dd>plan-20241204-1</dd>" in page


def test_every_new_json_field_is_in_the_glossary(data: ReportData) -> None:
    payload = json.loads(json.dumps(report_json(data), allow_nan=False))
    seen = check_fields(payload, "report --format json")
    for name in ("by_account", "covered_accounts", "purchase_date", "monte_carlo_note",
                 "p50_current_savings_vs_on_demand_pct", "horizon_hours"):  # fmt: skip
        assert name in seen, name
    assert payload["monte_carlo"]["horizon_hours"] == 8760
    assert payload["purchase_date"] == "2024-12-04T09:30:00+00:00"
