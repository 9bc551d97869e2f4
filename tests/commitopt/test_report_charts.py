"""Chart legends never cover data: each legend's drawn box lies outside every axes' data area."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from commitopt.report import charts
from commitopt.report.inputs import Frontier, MonteCarloSavings
from commitopt.report.tables import LAYERS


def _hourly() -> pd.DataFrame:
    hours = pd.date_range("2024-01-01", periods=24 * 14, freq="h", tz="UTC")
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {"hour": hours, **{layer: rng.uniform(5.0, 20.0, len(hours)) for layer in LAYERS}}
    )


def _monthly() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": ["2024-01", "2024-02", "2024-03"],
            "current_coverage_pct": [40.0, 95.0, 98.0],  # bars up to the top of the axes
            "coverage_pct": [99.0, 100.0, 97.0],
            "utilization_pct": [99.5, 100.0, 98.0],
        }
    )


def _cash_flow(months: int = 12) -> pd.DataFrame:
    current = np.full(months, 1_000.0)
    planned = np.full(months, 800.0)
    planned[0] += 1_500.0
    return pd.DataFrame(
        {
            "month": np.arange(1, months + 1),
            "on_demand_cost_usd": np.full(months, 1_200.0),
            "current_cost_usd": current,
            "planned_cost_usd": planned,
            "upfront_usd": np.r_[1_500.0, np.zeros(months - 1)],
            "cumulative_savings_vs_current_usd": np.cumsum(current - planned),
        }
    )


def _frontier() -> Frontier:
    levels = np.linspace(0.0, 10.0, 11)
    return Frontier(
        levels_usd_per_hour=levels,
        mean_savings_vs_current_usd=1_000.0 * levels - 60.0 * levels**2,
        p5_savings_vs_current_usd=800.0 * levels - 70.0 * levels**2,
        knee_usd_per_hour=6.0,
        plan_usd_per_hour=8.0,
        horizon="the next 12 months",
    )


def _monte_carlo() -> MonteCarloSavings:
    rng = np.random.default_rng(11)
    # Skewed to the right, where an "upper right" legend used to sit on the tallest bars.
    return MonteCarloSavings(rng.gamma(9.0, 400.0, 500), horizon="the next 12 months")


FIGURES: dict[str, Callable[[], Figure]] = {
    "hourly": lambda: charts.hourly_usage_figure(_hourly())[0],
    "frontier": lambda: charts.frontier_figure(_frontier()),
    "utilization": lambda: charts.utilization_coverage_figure(_monthly()),
    "cash-flow": lambda: charts.cash_flow_figure(_cash_flow(), 3),
    "distribution": lambda: charts.savings_distribution_figure(_monte_carlo(), 3_500.0),
}


def _intersects(a: Bbox, b: Bbox) -> bool:
    """Whether two boxes share an area (touching edges do not count)."""
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_legends_never_cover_the_data(name: str) -> None:
    figure = FIGURES[name]()
    FigureCanvasAgg(figure)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    legends = [axes.get_legend() for axes in figure.axes if axes.get_legend() is not None]
    assert legends, f"{name}: no legend drawn"
    page = figure.bbox
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for axes in figure.axes:
            assert not _intersects(box, axes.get_window_extent(renderer)), (
                f"{name}: legend {box} covers the data area {axes.get_window_extent(renderer)}"
            )
        # And it is drawn whole, inside the figure (not cut off by a margin).
        assert page.x0 <= box.x0 and box.x1 <= page.x1 + 0.5, f"{name}: legend cut off"
        assert page.y0 <= box.y0 and box.y1 <= page.y1 + 0.5, f"{name}: legend cut off"


def test_the_svg_charts_are_the_figures_drawn() -> None:
    svg = charts.savings_distribution_chart(_monte_carlo(), None)
    assert svg.startswith('<svg class="chart-svg"') and "P50:" in svg
    assert charts.cash_flow_chart(_cash_flow(), None).count("Break-even") == 0
    assert "Break-even: month 3" in charts.cash_flow_chart(_cash_flow(), 3)
