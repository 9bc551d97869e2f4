"""The finance report: figures equal the simulator's, every format, self-contained HTML, CLI."""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from commitopt.report import (
    ReportData,
    ReportInputError,
    build_report_data,
    render_html,
    render_markdown,
    report_csv,
    report_json,
    write_report,
)
from commitopt.report.cash_flow import (
    break_even_month,
    cash_break_even_month,
    cash_flow_table,
)
from commitopt.report.content import renewal_rows, renewals_sentence
from commitopt.report.tables import LAYERS, renewal_table
from core.units import HOURS_PER_MONTH
from optimizer.policy import Policy
from planning.recommend import RecommendationRun, RecommendOptions, recommend
from pricing.catalog import PriceCatalog
from pricing.embedded import load_embedded_catalog
from pricing.inventory import Commitment
from pricing.offerings import TERM_HOURS, CommitmentKind
from scenarios.backtest import savings_plan_purchase
from tests.commitopt.conftest import CliResult, RunCli
from usage.synthetic import business_hours, steady_daily_cycle

START = "2024-01-20T00:00:00Z"
HOURS = 24 * 21  # three weeks over two calendar months
DATA_END = pd.Timestamp(START) + pd.Timedelta(hours=HOURS)
GENERATED = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"


def _usage() -> pd.DataFrame:
    """m4.large (us-east-1) and c4.2xlarge (eu-west-1) fleets with a daily cycle, Windows
    c4.xlarge in business hours."""
    return pd.concat(
        [
            steady_daily_cycle(start=START, hours=HOURS, base_instances=60.0,
                               daily_amplitude_instances=20.0, seed=1),
            steady_daily_cycle(start=START, hours=HOURS, base_instances=20.0,
                               daily_amplitude_instances=8.0, seed=3, region="eu-west-1",
                               instance_type="c4.2xlarge"),
            business_hours(start=START, hours=HOURS, business_instances=20.0, seed=2),
        ],
        ignore_index=True,
    )  # fmt: skip


def _owned() -> Commitment:
    """Four m4.large RIs bought a year before the data ends: they expire 10 days after it."""
    end = DATA_END.to_pydatetime() + timedelta(days=10)
    return Commitment(
        kind="reserved_instance", id="ri-owned-1", start=end - timedelta(hours=8760), end=end,
        term_years=1, payment_option="No Upfront", upfront_usd=0.0, region="us-east-1",
        instance_type="m4.large", platform="Linux/UNIX", tenancy="Shared", scope="Region",
        offering_class="standard", count=4, normalized_units=16.0, recurring_usd_per_hour=0.062,
        effective_usd_per_hour=0.248,
    )  # fmt: skip


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return load_embedded_catalog()


@pytest.fixture(scope="module")
def run(catalog: PriceCatalog) -> RecommendationRun:
    return recommend(
        _usage(), catalog, Policy(), owned=[_owned()], options=RecommendOptions(lookback_days=21)
    )


@pytest.fixture(scope="module")
def data(run: RecommendationRun, catalog: PriceCatalog) -> ReportData:
    return build_report_data(run, catalog=catalog, owned=[_owned()], generated_at=GENERATED)


@pytest.fixture(scope="module")
def page(data: ReportData) -> str:
    return render_html(data)


class _Summary(HTMLParser):
    """Rows of ``table#summary``: field -> (shown value text, data-value)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, tuple[str, str | None]] = {}
        self._field: str | None = None
        self._raw: str | None = None
        self._in_value = False
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "tr" and "data-field" in attributes:
            self._field, self._raw = attributes["data-field"], attributes.get("data-value")
        if tag == "td" and self._field and attributes.get("class") == "num":
            self._in_value, self._text = True, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._in_value and self._field:
            self.rows[self._field] = (self._text, self._raw)
            self._in_value = False

    def handle_data(self, text: str) -> None:
        if self._in_value:
            self._text += text


def _summary(page: str) -> dict[str, tuple[str, str | None]]:
    parser = _Summary()
    parser.feed(page)
    return parser.rows


def _money(text: str) -> float:
    """``-$1,234.56/month`` → -1234.56."""
    match = re.fullmatch(r"(-?)\$([\d,]+\.\d+)(/\w+)?", text)
    assert match, text
    return float(match.group(1) + match.group(2).replace(",", ""))


def _percent(text: str) -> float:
    match = re.fullmatch(r"(-?[\d,]+\.\d)%", text)
    assert match, text
    return float(match.group(1).replace(",", ""))


# --- figures ------------------------------------------------------------------------------


def test_summary_numbers_equal_the_simulated_totals(run: RecommendationRun, page: str) -> None:
    rows = _summary(page)
    before, after = run.baseline.totals, run.with_plan.totals
    months = after.period_hours / HOURS_PER_MONTH
    money = {
        "upfront_usd": run.summary["upfront_usd"],
        "current_run_rate_usd_per_month": before.run_rate_usd_per_month,
        "run_rate_usd_per_month": after.run_rate_usd_per_month,
        "savings_vs_current_usd": before.actual_cost_usd - after.actual_cost_usd,
        "savings_vs_current_usd_per_month": (before.actual_cost_usd - after.actual_cost_usd)
        / months,
        "term_cost_usd": sum(
            ((p.commitment_usd_per_hour if p.is_savings_plan else p.effective_usd_per_hour) or 0.0)
            * TERM_HOURS[p.term_years]
            for p in run.purchases
        ),
    }
    assert money["savings_vs_current_usd"] > 100.0  # a plan worth reporting
    for field, expected in money.items():
        assert _money(rows[field][0]) == pytest.approx(expected, abs=0.006), field
        assert float(rows[field][1] or "nan") == pytest.approx(expected, abs=1e-6), field
    assert money["savings_vs_current_usd_per_month"] == pytest.approx(
        run.summary["savings_vs_current_usd_per_month"], abs=0.006
    )
    assert money["upfront_usd"] == 0.0
    assert _money(rows["effective_usd_per_hour"][0]) == pytest.approx(
        run.summary["effective_usd_per_hour"], abs=6e-4
    )
    shares = {
        "savings_vs_on_demand_pct": after.savings_vs_on_demand_pct,
        "coverage_pct": after.coverage_pct,
        "utilization_pct": after.utilization_pct,
    }
    for field, expected in shares.items():
        assert _percent(rows[field][0]) == pytest.approx(expected, abs=0.05 + 1e-9), field
    assert after.savings_vs_on_demand_pct == pytest.approx(
        run.summary["savings_vs_on_demand_pct"], abs=1e-3
    )
    # No Upfront: nothing to repay, so no break-even month (not "month 1").
    assert rows["break_even_month"] == ("immediate", None)
    assert rows["p50_savings_vs_current_usd"][0] == "no scenarios were run"


def test_hourly_layers_add_up_to_the_usage_on_demand_value(
    run: RecommendationRun, data: ReportData
) -> None:
    result = run.with_plan
    od = result.keys["on_demand_usd_per_hour"].to_numpy()
    layers = data.hourly[list(LAYERS)].to_numpy()
    np.testing.assert_allclose(layers.sum(axis=1), result.usage @ od, rtol=1e-9, atol=1e-9)
    by_kind = result.instruments.groupby("kind")["covered_on_demand_equivalent_usd"].sum()
    for kind in LAYERS[:-1]:
        assert data.hourly[kind].sum() == pytest.approx(by_kind.get(kind, 0.0), rel=1e-9, abs=1e-6)
    assert data.hourly["on_demand"].sum() == pytest.approx(result.totals.uncovered_cost_usd)
    kinds = set(result.instruments["kind"])
    assert {"reserved_instance", "ec2_instance_savings_plan"} <= kinds  # owned RI, bought SPs
    for index, kind in enumerate(LAYERS[:-1]):
        assert (layers[:, index].sum() > 0) == (kind in kinds)


def test_monthly_table_adds_up_to_the_totals(run: RecommendationRun, data: ReportData) -> None:
    monthly = data.monthly
    assert monthly["month"].tolist() == ["2024-01", "2024-02"]
    assert monthly["current_cost_usd"].sum() == pytest.approx(run.baseline.totals.actual_cost_usd)
    assert monthly["planned_cost_usd"].sum() == pytest.approx(run.with_plan.totals.actual_cost_usd)
    weights = monthly["on_demand_cost_usd"]
    assert (weights * monthly["coverage_pct"]).sum() / weights.sum() == pytest.approx(
        run.with_plan.totals.coverage_pct
    )
    assert 0.0 < monthly["current_coverage_pct"].min() < monthly["coverage_pct"].min()  # owned


def test_purchase_table_carries_each_reason_and_billed_figures(
    run: RecommendationRun, data: ReportData, page: str
) -> None:
    table = data.purchases
    assert table["id"].tolist() == [p.id for p in run.purchases]
    reasons = dict(zip(run.explanations["id"], run.explanations["explanation"], strict=True))
    assert table["explanation"].tolist() == [reasons[i] for i in table["id"]]
    assert all(len(reason) > 40 for reason in table["explanation"])
    billed = run.with_plan.instruments.set_index("id")["utilization"].to_dict()
    np.testing.assert_allclose(table["utilization_pct"], [100 * billed[i] for i in table["id"]])
    assert (table["upfront_usd"] == 0.0).all()
    np.testing.assert_allclose(table["term_cost_usd"], table["effective_usd_per_hour"] * 8760)
    for reason in table["explanation"]:
        assert reason.replace("'", "&#x27;") in page


def test_break_even_month_closed_forms() -> None:
    assert break_even_month(0.0, 100.0, 12) == 1
    assert break_even_month(1_000.0, 100.0, 12) == 10
    assert break_even_month(1_000.0, 99.0, 12) == 11
    assert break_even_month(2_000.0, 100.0, 12) is None  # not within the term
    assert break_even_month(1_000.0, 0.0, 36) is None
    assert break_even_month(1_000.0, -5.0, 36) is None


def test_cash_break_even_waits_for_a_later_upfront() -> None:
    start = pd.Timestamp("2024-01-01", tz="UTC")
    plans = [
        Commitment(kind="compute_savings_plan", id=f"sp-{i}", start=begin,
                        end=begin + timedelta(hours=8760), term_years=1,
                        payment_option="All Upfront", upfront_usd=upfront,
                        commitment_usd_per_hour=upfront / 8760)
        for i, (begin, upfront) in enumerate(
            [(start.to_pydatetime(), 300.0), ((start + pd.Timedelta(hours=3 * 730)).to_pydatetime(),
                                               450.0)]
        )
    ]  # fmt: skip
    flow = cash_flow_table(
        plans, period_start=start, on_demand_monthly_usd=1_000.0, current_monthly_usd=1_000.0,
        plan_monthly_usd=900.0, term_months=12,
    )  # fmt: skip
    assert flow["upfront_usd"].tolist() == [300.0, 0.0, 0.0, 450.0] + [0.0] * 8
    # Cumulative: -200, -100, 0, -350, -250, -150, -50, 50 → break-even in month 8, not 3.
    assert flow["cumulative_savings_vs_current_usd"].tolist()[:8] == [
        -200,
        -100,
        0,
        -350,
        -250,
        -150,
        -50,
        50,
    ]
    assert cash_break_even_month(flow) == 8
    flow_short = flow.iloc[:7]
    assert cash_break_even_month(flow_short) is None


def test_all_upfront_plan_breaks_even_when_cash_savings_repay_the_upfront(
    catalog: PriceCatalog,
) -> None:
    policy = Policy(instruments=("ri",), payment_options=("All Upfront",))
    run = recommend(_usage(), catalog, policy, options=RecommendOptions(lookback_days=21))
    data = build_report_data(run, catalog=catalog, compute_frontier=False)
    s = data.summary
    upfront = sum(p.upfront_usd for p in run.purchases)
    assert upfront > 1_000.0 and s.upfront_usd == pytest.approx(upfront)
    cash_savings = (
        run.baseline.totals.run_rate_usd_per_month - run.with_plan.totals.run_rate_usd_per_month
    )
    assert s.break_even_month == math.ceil(upfront / cash_savings)
    assert 1 < s.break_even_month <= 12
    cumulative = data.cash_flow["cumulative_savings_vs_current_usd"].to_numpy()
    assert cumulative[s.break_even_month - 1] >= 0 > cumulative[s.break_even_month - 2]
    # Over the whole term the cash saved equals the accrued savings (upfront amortized).
    assert cumulative[-1] == pytest.approx(s.savings_vs_current_usd_per_month * 12, rel=1e-6)
    assert data.cash_flow["upfront_usd"].tolist() == [pytest.approx(upfront)] + [0.0] * 11


def test_owned_commitments_expiring_within_the_horizon_are_listed(
    data: ReportData, page: str, run: RecommendationRun, catalog: PriceCatalog
) -> None:
    assert data.expiring["id"].tolist() == ["ri-owned-1"]
    assert data.expiring["cost_usd_per_month"].iloc[0] == pytest.approx(0.248 * 730)
    assert "ri-owned-1" in page and "1 commitment" in page
    later = build_report_data(
        run, catalog=catalog, owned=[_owned()], expiry_horizon_days=5, compute_frontier=False
    )
    assert later.expiring.empty


def test_frontier_scales_the_plan_and_marks_the_recommendation(
    run: RecommendationRun, data: ReportData
) -> None:
    frontier = data.frontier
    assert frontier is not None and frontier.levels_usd_per_hour.size == 11
    assert frontier.levels_usd_per_hour[0] == 0.0
    assert frontier.mean_savings_vs_current_usd[0] == 0.0
    assert frontier.plan_usd_per_hour == pytest.approx(data.summary.effective_usd_per_hour)
    assert frontier.plan_usd_per_hour is not None
    at_plan = np.flatnonzero(np.isclose(frontier.levels_usd_per_hour, frontier.plan_usd_per_hour))
    assert frontier.mean_savings_vs_current_usd[at_plan[0]] == pytest.approx(
        data.summary.savings_vs_current_usd
    )
    # The recommendation is the best point of its own shape (the optimizer chose it).
    assert frontier.mean_savings_vs_current_usd.max() == pytest.approx(
        frontier.mean_savings_vs_current_usd[at_plan[0]], rel=2e-3
    )
    savings = frontier.mean_savings_vs_current_usd
    assert savings[-1] < savings[at_plan[0]]


def test_frontier_needs_the_owned_commitments_it_was_billed_with(
    run: RecommendationRun, catalog: PriceCatalog
) -> None:
    data = build_report_data(run, catalog=catalog)  # owned not given, baseline has an RI
    assert data.frontier is None and "owned commitments" in data.frontier_note
    assert not data.owned_known and data.expiring.empty
    page = render_html(data)
    assert 'id="figure-frontier"' in page and "chart-frontier" not in page
    assert "expiries within 365 days are unknown" in page


def test_scale_purchase_rounds_ris_and_keeps_rates(run: RecommendationRun) -> None:
    # the one scaling rule (Commitment.scaled) rounds down; the report's stand-in rounded
    ri = _owned()
    half = ri.scaled(0.5)
    assert half is not None and half.count == int(ri.count * 0.5)  # type: ignore[operator]
    assert half.effective_usd_per_hour == pytest.approx(
        (ri.effective_usd_per_hour or 0) * half.count / ri.count  # type: ignore[operator]
    )
    assert half.recurring_usd_per_hour == ri.recurring_usd_per_hour  # per RI
    assert ri.scaled(0.0) is None
    sp = next(p for p in run.purchases if p.is_savings_plan)
    assert sp.scaled(2.0).commitment_usd_per_hour == pytest.approx(  # type: ignore[union-attr]
        2 * (sp.commitment_usd_per_hour or 0), abs=1e-3
    )


def test_given_frontier_and_monte_carlo_are_shown(
    run: RecommendationRun, catalog: PriceCatalog
) -> None:
    rng = np.random.default_rng(7)
    savings = rng.normal(5_000.0, 800.0, size=400)
    esr = rng.normal(20.0, 2.0, size=400)
    data = build_report_data(
        run,
        catalog=catalog,
        owned=[_owned()],
        monte_carlo={"savings_vs_current_usd": savings, "savings_vs_on_demand_pct": esr,
                     "horizon": "a year"},
        frontier={"levels_usd_per_hour": [0, 5, 10], "mean_savings_vs_current_usd": [0, 900, 700],
                  "p5_savings_vs_current_usd": [0, 500, -100], "knee_usd_per_hour": 5.0,
                  "plan_usd_per_hour": 5.0},
    )  # fmt: skip
    p5, p50, p95 = np.percentile(savings, [5, 50, 95])
    assert data.summary.p5_savings_vs_current_usd == pytest.approx(p5)
    assert data.summary.p95_savings_vs_current_usd == pytest.approx(p95)
    assert data.summary.p5_savings_vs_on_demand_pct == pytest.approx(np.percentile(esr, 5))
    page = render_html(data)
    rows = _summary(page)
    low, high = rows["p50_savings_vs_current_usd"][0].split(" to ")
    assert _money(low) == pytest.approx(p5, abs=0.006)
    assert _money(high) == pytest.approx(p95, abs=0.006)
    assert "chart-distribution" in page and "no scenarios were run" not in page
    assert "Knee (5.00 USD/h)" in page and "P5 savings" in page
    assert data.frontier is not None and data.frontier.source == "given"
    payload = report_json(data)
    assert payload["monte_carlo"]["path_count"] == 400
    assert payload["monte_carlo"]["p50_savings_vs_current_usd"] == pytest.approx(p50)
    assert payload["frontier"]["mean_savings_vs_current_usd"] == [0.0, 900.0, 700.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"frontier": {"levels": [0, 1], "expected_savings": [0]}}, "same length"),  # former names
        ({"frontier": {"levels": [0, 1], "savings": [0, 1]}}, "unknown savings"),
        ({"monte_carlo": []}, "non-empty"),
        ({"monte_carlo": [1.0, float("nan")]}, "finite"),
        ({"monte_carlo": {"savings_usd": [1, 2], "effective_savings_rate": [0.1]}}, "one finite"),
    ],
)
def test_bad_extras_are_refused_in_one_line(
    run: RecommendationRun, kwargs: dict, message: str
) -> None:
    with pytest.raises(ReportInputError, match=message) as error:
        build_report_data(run, compute_frontier=False, **kwargs)
    assert "\n" not in str(error.value)


# --- formats --------------------------------------------------------------------------------


def test_html_is_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page  # not even namespace URIs
    references = re.findall(r"\b(?:src|href)\s*=\s*\"([^\"]*)\"", page)
    assert references and all(ref.startswith("#") for ref in references)  # in-page only
    assert not re.search(r"\b(?:src|href)\s*=\s*[^\"\s]", page)  # no unquoted ones
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert "url(" not in page.replace("url(#", "")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    charts = re.findall(r'<figure class="chart" id="([^"]+)">(.*?)</figure>', page, re.S)
    names = [name for name, _ in charts]
    assert names == ["figure-hourly", "figure-frontier", "figure-utilization", "figure-cash-flow"]
    for _, body in charts:
        assert body.count("<svg") == 1 and body.count("<path") > 5
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # chart ids are prefixed per chart
    assert 'id="figure-distribution"' in page and "no scenarios were run" in page
    header = page[: page.index('<p class="decision"')]
    for text in ("2024-01-20 00:00 UTC to 2024-02-10 00:00 UTC (504 hours)", "2017-11-12",
                 "ec2instances.info", "2026-11-23 12:00 UTC", "Portfolio SHA-256"):  # fmt: skip
        assert text in header, text


def test_plan_hash_is_the_sha256_of_the_canonical_plan(
    run: RecommendationRun, data: ReportData
) -> None:
    canonical = json.dumps(run.portfolio, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False, default=str)  # fmt: skip
    assert data.header.sha256 == hashlib.sha256(canonical.encode()).hexdigest()
    assert data.header.plan_id == f"draft-{data.header.sha256[:8]}"
    assert data.header.sha256_of == "portfolio"
    stored = build_report_data(
        run, plan_id="plan-20261123-1", plan_hash_hex="ab" * 32, compute_frontier=False
    )
    assert (stored.header.plan_id, stored.header.sha256_of) == ("plan-20261123-1", "plan")
    assert "- **Plan SHA-256:** " + "ab" * 32 in render_markdown(stored)


def test_no_credentials_in_any_format(
    run: RecommendationRun, catalog: PriceCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SECRET + "TOKEN")
    data = build_report_data(run, catalog=catalog, owned=[_owned()], compute_frontier=False)
    texts = [render_html(data), render_markdown(data), json.dumps(report_json(data)),
             report_csv(data)]  # fmt: skip
    for text in texts:
        assert SECRET not in text and ACCESS_KEY not in text
        assert not re.search(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", text)
        assert "aws_secret" not in text.lower() and "session_token" not in text.lower()


def test_markdown_has_the_same_summary_and_purchases(data: ReportData, page: str) -> None:
    text = render_markdown(data)
    assert text.startswith("# Commitment purchase plan\n")
    for field, (shown, _) in _summary(page).items():
        assert f"| {shown} |" in text, field
    for row in data.purchases.itertuples():
        assert f"| {row.id} |" in text
    assert "No scenarios were run" in text and "<svg" not in text
    assert "| 2024-01 |" in text and "ri-owned-1" in text


def test_json_holds_every_figure_unformatted(run: RecommendationRun, data: ReportData) -> None:
    payload = json.loads(json.dumps(report_json(data), allow_nan=False))
    summary = payload["summary"]
    assert summary["savings_vs_current_usd"] == pytest.approx(
        run.baseline.totals.actual_cost_usd - run.with_plan.totals.actual_cost_usd
    )
    assert summary["break_even_month"] == 1
    assert summary["p5_savings_vs_current_usd"] is None and payload["monte_carlo"] is None
    assert [p["id"] for p in payload["purchases"]] == [p.id for p in run.purchases]
    assert payload["header"]["sha256"] == data.header.sha256
    assert payload["header"]["period_start"] == "2024-01-20T00:00:00+00:00"
    assert sum(row["on_demand_cost_usd"] for row in payload["cost_by_kind"]) == pytest.approx(
        run.with_plan.totals.on_demand_cost_usd
    )
    assert len(payload["cash_flow"]) == 12 and payload["expiring"][0]["id"] == "ri-owned-1"


def test_csv_is_the_purchase_table_with_reasons(run: RecommendationRun, data: ReportData) -> None:
    table = pd.read_csv(io.StringIO(report_csv(data)))
    assert table["id"].tolist() == [p.id for p in run.purchases]
    assert table["explanation"].tolist() == data.purchases["explanation"].tolist()
    assert table["upfront_usd"].sum() == pytest.approx(data.summary.upfront_usd)
    assert table["effective_usd_per_hour"].sum() == pytest.approx(
        data.summary.effective_usd_per_hour
    )


def test_write_report_is_atomic(
    data: ReportData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    target.write_text("previous report")

    def fail(self: Path, mode: int) -> None:  # after the text is written, before the rename
        raise OSError("disk full")

    monkeypatch.setattr(Path, "chmod", fail)
    with pytest.raises(OSError, match="disk full"):
        write_report(data, target, "md")
    assert target.read_text() == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]  # no temporary left
    monkeypatch.undo()
    write_report(data, target, "md")
    assert target.read_text().startswith("# Commitment purchase plan")
    assert target.stat().st_mode & 0o044  # readable by others, unlike a bare mkstemp file


# --- CLI ------------------------------------------------------------------------------------


@pytest.fixture
def plan_files(run: RecommendationRun, tmp_path: Path) -> tuple[Path, Path, Path]:
    usage_path = tmp_path / "usage.csv"
    _usage().to_csv(usage_path, index=False)
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(run.portfolio, default=str))
    owned_path = tmp_path / "owned.json"
    owned_path.write_text(json.dumps({"purchases": [_owned().to_json_item()]}))
    return plan_path, usage_path, owned_path


def test_cli_report_of_a_plan_file_equals_the_in_process_report(
    run_cli: RunCli, plan_files: tuple[Path, Path, Path], data: ReportData, tmp_path: Path
) -> None:
    plan, usage, owned = plan_files
    out = tmp_path / "out" / "report.json"
    out.parent.mkdir()
    result = run_cli("report", str(plan), "--usage", str(usage), "--inventory", str(owned),
                     "--out", str(out), "--no-frontier")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)
    payload = json.loads(out.read_text())
    assert payload["header"]["plan_id"] == "plan"
    expected = report_json(data)["summary"]
    for field, value in payload["summary"].items():
        if isinstance(value, float):
            assert value == pytest.approx(expected[field], rel=1e-9, abs=1e-9), field
    assert [p["explanation"] for p in payload["purchases"]] == (
        data.purchases["explanation"].tolist()
    )
    assert payload["expiring"][0]["id"] == "ri-owned-1"

    html_out = tmp_path / "report.html"
    result = run_cli("report", str(plan), "--usage", str(usage), "--inventory", str(owned),
                     "--out", str(html_out), "--no-frontier")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = _summary(html_out.read_text())
    assert _money(rows["savings_vs_current_usd"][0]) == pytest.approx(
        data.summary.savings_vs_current_usd, abs=0.006
    )


def test_cli_scenarios_and_frontier_files(
    run_cli: RunCli, plan_files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    plan, usage, owned = plan_files
    scenarios = tmp_path / "mc.json"
    scenarios.write_text(json.dumps({"savings_usd": list(range(100)), "horizon": "a year"}))
    frontier = tmp_path / "frontier.json"
    frontier.write_text(json.dumps({"levels": [0, 1, 2], "expected_savings": [0, 3, 2]}))
    out = tmp_path / "r.md"
    result = run_cli("report", str(plan), "--usage", str(usage), "--inventory", str(owned),
                     "--scenarios", str(scenarios), "--frontier", str(frontier),
                     "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    text = out.read_text()
    assert "100 paths, savings over a year: P5 $4.95, median $49.50, P95 $94.05" in text
    assert "| 2.000 | $2.00 |" in text


def test_cli_demo_writes_the_html_report(run_cli: RunCli, tmp_path: Path) -> None:
    # The browser test renders the demo with its frontier; here it is left out to save time.
    result = run_cli("report", "--demo", "--out", "demo.html", "--no-frontier")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "demo.html"
    page = (tmp_path / "demo.html").read_text()
    assert page.count('<figure class="chart"') == 3 and "<dd>demo</dd>" in page
    rows = _summary(page)
    assert _money(rows["savings_vs_current_usd"][0]) > 10_000  # the demo saves about 15.6k USD


def _assert_refused(result: CliResult, out: Path) -> None:
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("commitopt: error: ") and "Traceback" not in result.stderr
    assert not out.exists()


def test_cli_bad_input_exits_2_in_one_line_and_writes_nothing(
    run_cli: RunCli, plan_files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    plan, usage, _ = plan_files
    out = tmp_path / "report.html"
    missing = run_cli("report", str(tmp_path / "nope.json"), "--usage", str(usage),
                      "--out", str(out))  # fmt: skip
    _assert_refused(missing, out)
    assert "nope.json: no such plan file" in missing.stderr
    no_prices = tmp_path / "m5.csv"  # m5 is newer than the embedded 2017 price snapshot
    frame = _usage()
    frame["instance_type"] = frame["instance_type"].str.replace("m4.", "m5.")
    frame.to_csv(no_prices, index=False)
    unpriced = run_cli("report", str(plan), "--usage", str(no_prices), "--out", str(out))
    _assert_refused(unpriced, out)
    assert "m5.large" in unpriced.stderr
    _assert_refused(run_cli("report", str(plan), "--demo", "--out", str(out)), out)
    _assert_refused(run_cli("report", "--out", str(out)), out)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    _assert_refused(run_cli("report", str(bad_json), "--usage", str(usage), "--out", str(out)),
                    out)  # fmt: skip
    _assert_refused(
        run_cli(
            "report", str(plan), "--usage", str(usage), "--out", str(tmp_path / "x" / "r.html")
        ),
        tmp_path / "x" / "r.html",
    )
    _assert_refused(run_cli("report", str(plan), "--usage", str(usage), "--scenarios",
                            str(bad_json), "--out", str(out)), out)  # fmt: skip


def test_renewals_are_listed_and_a_database_one_says_it_starts_when_bought(
    data: ReportData,
) -> None:
    """A queued Savings Plan shows its start; an RDS reservation (its API cannot queue) shows
    that it starts when bought, and the sentence says both are paid until the old one ends."""
    starts = datetime(2024, 4, 10, tzinfo=UTC)
    plan = savings_plan_purchase(
        CommitmentKind.COMPUTE_SAVINGS_PLAN, 1.24, pd.Timestamp(starts), purchase_id="renewal-1"
    )
    rds = Commitment(
        kind=CommitmentKind.RESERVED_INSTANCE, id="renewal-2", start=starts - timedelta(days=9),
        end=starts - timedelta(days=9) + timedelta(hours=8760), term_years=1,
        payment_option="No Upfront", upfront_usd=0.0, region="us-east-1",
        instance_type="db.r4.large", platform="aurora-mysql", tenancy="Single-AZ", count=2,
        recurring_usd_per_hour=0.2,
    )  # fmt: skip
    with_renewals = replace(data, renewals=renewal_table([(plan, ("ri-old",)), (rds, ("db-old",))]))
    rows = renewal_rows(with_renewals)
    assert rows[0][:2] == ("2024-04-10 00:00 UTC", "ri-old")
    assert rows[1][:2] == ("when bought (cannot be queued)", "db-old")
    assert rows[0][6] == "$10,862.40"  # 1.24 USD/h × 8,760 h
    assert "cannot be queued" in renewals_sentence(with_renewals)
    assert renewals_sentence(data) == "" and renewal_rows(data) == []
    markdown = render_markdown(with_renewals)
    assert (
        "### Queued to replace them" in markdown
        and "| when bought (cannot be queued) |" in markdown
    )
    payload = report_json(with_renewals)
    assert [r["queued"] for r in payload["renewals"]] == [True, False]
    assert report_json(data)["renewals"] == []
