"""The report's charts as inline SVG text (matplotlib, no pyplot, no global backend).

Each ``*_chart`` function draws one chart from :class:`~commitopt.report.data.ReportData` parts
and returns an ``<svg>`` element ready to paste into HTML: no XML prolog, no namespace URLs, width
100 % of its container, every ``id`` prefixed with the chart's name so several charts can share a
page. The matching ``*_figure`` function returns the matplotlib figure itself.

Legends never sit on the data: each is placed outside its axes, below them
(:func:`_legend_below`) or in a column widened onto the figure's right (:func:`_legend_right`).
"""

from __future__ import annotations

import html
import io
import re
from contextlib import AbstractContextManager
from typing import Any, Final

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from commitopt.report.data import KIND_LABELS
from commitopt.report.frontier import plan_position
from commitopt.report.inputs import Frontier, MonteCarloSavings
from commitopt.report.tables import LAYERS
from pricing.offerings import CommitmentKind

COLORS: Final = {
    CommitmentKind.RESERVED_INSTANCE: "#0072B2",
    CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN: "#009E73",
    CommitmentKind.COMPUTE_SAVINGS_PLAN: "#E69F00",
    CommitmentKind.DATABASE_SAVINGS_PLAN: "#CC79A7",
    CommitmentKind.SAGEMAKER_SAVINGS_PLAN: "#56B4E9",
    "on_demand": "#C9CED6",
    "before": "#8C96A3",
    "after": "#0072B2",
    "accent": "#D55E00",
    "text": "#1F2933",
}
"""Okabe–Ito colours (colour-blind safe) per layer and series."""

WIDTH_IN: Final = 9.0
HEIGHT_IN: Final = 3.4
LEGEND_WIDTH_IN: Final = 2.6
"""Room added on the right of a figure whose legend stands beside its axes [in]."""
MAX_HOURLY_POINTS: Final = 2_500
"""Above this many hours the usage chart shows daily means."""

_RC: Final[dict[str, Any]] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "commitopt-report",
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#9AA5B1",
    "axes.labelcolor": COLORS["text"],
    "xtick.color": "#52606D",
    "ytick.color": "#52606D",
    "axes.grid": True,
    "grid.color": "#E4E7EB",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "axes.axisbelow": True,
}


def _style() -> AbstractContextManager[None]:
    """The report's matplotlib style, for the duration of one chart."""
    return mpl.rc_context(_RC)  # type: ignore[arg-type]


def _usd_axis(value: float, _position: float) -> str:
    sign, size = ("-" if value < 0 else ""), abs(value)
    if size >= 1_000_000:
        return f"{sign}${size / 1_000_000:,.1f}M"
    if size >= 10_000:
        return f"{sign}${size / 1_000:,.0f}k"
    return f"{sign}${size:,.0f}" if size >= 10 or size == 0 else f"{sign}${size:,.2f}"


USD_AXIS: Final = FuncFormatter(_usd_axis)


def _figure(
    rows: int = 1, height: float = HEIGHT_IN, *, bottom: float = 0.8, legend_right: bool = False
) -> tuple[Figure, list[Axes]]:
    """A figure with fixed margins (a layout engine would double the drawing time).

    ``bottom`` is the room under the last axes for tick labels and a legend [in];
    ``legend_right`` widens the figure by :data:`LEGEND_WIDTH_IN` for legends beside the axes.
    """
    width = WIDTH_IN + (LEGEND_WIDTH_IN if legend_right else 0.0)
    right = (0.2 + (LEGEND_WIDTH_IN if legend_right else 0.0)) / width
    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(
        left=0.9 / width, right=1 - right, top=1 - 0.4 / height,
        bottom=bottom / height, hspace=0.45,
    )  # fmt: skip
    axes = figure.subplots(rows, 1, squeeze=False)[:, 0]
    return figure, list(axes)


def _legend_below(axes: Axes, ncols: int, offset: float = -0.12) -> None:
    """The legend in a row under the axes (and their tick labels), never over the data."""
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, offset), ncols=ncols, fontsize=8)


def _legend_right(axes: Axes) -> None:
    """The legend in a column to the right of the axes, in the room :func:`_figure` added."""
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8)


def svg_text(figure: Figure, name: str, label: str) -> str:
    """The figure as an inline ``<svg>`` element (see the module docstring)."""
    buffer = io.StringIO()
    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"commitopt-{name}"}):
        figure.savefig(
            buffer,
            format="svg",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    text = buffer.getvalue()
    svg = text[text.index("<svg") :]
    svg = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{name}-\1"', svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{name}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{name}-\1)", svg)
    svg = re.sub(
        r'<svg width="[^"]*" height="[^"]*"',
        f'<svg class="chart-svg" role="img" aria-label="{html.escape(label)}" width="100%"',
        svg,
        count=1,
    )
    return svg.strip()


def hourly_usage_chart(hourly: pd.DataFrame) -> str:
    """Usage per hour, stacked by what covers it (RIs, EC2 Instance SPs, Compute SPs, on-demand).

    Parameters
    ----------
    hourly
        :attr:`ReportData.hourly` [USD/h of on-demand value].
    """
    figure, title = hourly_usage_figure(hourly)
    return svg_text(figure, "chart-hourly", title)


def hourly_usage_figure(hourly: pd.DataFrame) -> tuple[Figure, str]:
    """The figure of :func:`hourly_usage_chart`, and its title."""
    with _style():
        figure, (axes,) = _figure()
        frame = hourly.set_index("hour")[list(LAYERS)]
        title = "Hourly usage by what covers it"
        if len(frame) > MAX_HOURLY_POINTS:
            frame = frame.resample("D").mean()
            title = "Usage by what covers it (daily mean of hourly values)"
        x = pd.DatetimeIndex(frame.index)
        x = x.tz_convert(None) if x.tz is not None else x
        axes.stackplot(
            x,
            *(frame[layer].to_numpy() for layer in LAYERS),
            labels=[KIND_LABELS[layer] for layer in LAYERS],
            colors=[COLORS[layer] for layer in LAYERS],
            linewidth=0.0,
        )
        axes.set_ylabel("On-demand value [USD/h]")
        axes.yaxis.set_major_formatter(USD_AXIS)
        axes.margins(x=0.0)
        axes.set_title(title, loc="left", fontsize=10)
        _legend_below(axes, ncols=4)
        return figure, title


def frontier_chart(frontier: Frontier) -> str:
    """Savings versus commitment level, the recommendation (and the knee, if any) marked, and
    the expected-savings maximum when the plan is not at it."""
    return svg_text(frontier_figure(frontier), "chart-frontier", "Savings versus commitment level")


def frontier_figure(frontier: Frontier) -> Figure:
    """The figure of :func:`frontier_chart`."""
    with _style():
        figure, (axes,) = _figure(bottom=0.55, legend_right=True)
        order = np.argsort(frontier.levels_usd_per_hour, kind="stable")
        levels = frontier.levels_usd_per_hour[order]
        axes.plot(
            levels,
            frontier.mean_savings_vs_current_usd[order],
            marker="o",
            markersize=3.5,
            color=COLORS["after"],
            label="Expected savings",
        )
        if frontier.p5_savings_vs_current_usd is not None:
            axes.plot(
                levels,
                frontier.p5_savings_vs_current_usd[order],
                linestyle="--",
                color=COLORS["before"],
                label="P5 savings",
            )
        position = plan_position(frontier)
        if position is not None and not position.at_maximum:
            axes.plot(
                [position.maximum_level], [position.maximum_savings_usd], marker="D",
                markersize=7, color=COLORS["text"], linestyle="none",
                label=f"Maximum ({position.maximum_level:,.2f} USD/h)",
            )  # fmt: skip
        if frontier.plan_usd_per_hour is not None:
            axes.axvline(frontier.plan_usd_per_hour, color=COLORS["accent"], linewidth=1.2)
            saved = np.interp(
                frontier.plan_usd_per_hour, levels, frontier.mean_savings_vs_current_usd[order]
            )
            axes.plot(
                [frontier.plan_usd_per_hour],
                [saved],
                marker="*",
                markersize=12,
                color=COLORS["accent"],
                linestyle="none",
                label=f"Recommended ({frontier.plan_usd_per_hour:,.2f} USD/h)",
            )
        if frontier.knee_usd_per_hour is not None:
            axes.axvline(
                frontier.knee_usd_per_hour, color=COLORS["text"], linestyle=":", linewidth=1.0,
                label=f"Knee ({frontier.knee_usd_per_hour:,.2f} USD/h)",
            )  # fmt: skip
        axes.axhline(0.0, color="#9AA5B1", linewidth=0.8)
        axes.set_xlabel("New commitment [USD/h, upfront amortized]")
        axes.set_ylabel("Savings")
        axes.yaxis.set_major_formatter(USD_AXIS)
        axes.set_title(f"Savings over {frontier.horizon} versus commitment level", loc="left",
                       fontsize=10)  # fmt: skip
        _legend_right(axes)
        return figure


def utilization_coverage_chart(monthly: pd.DataFrame) -> str:
    """Coverage before and after, and utilization after, per calendar month."""
    return svg_text(
        utilization_coverage_figure(monthly),
        "chart-utilization",
        "Utilization and coverage by month",
    )


def utilization_coverage_figure(monthly: pd.DataFrame) -> Figure:
    """The figure of :func:`utilization_coverage_chart`."""
    with _style():
        figure, (axes,) = _figure()
        x = np.arange(len(monthly))
        width = 0.38
        axes.bar(x - width / 2, monthly["current_coverage_pct"], width, color=COLORS["before"],
                 label="Coverage, owned only")  # fmt: skip
        axes.bar(x + width / 2, monthly["coverage_pct"], width, color=COLORS["after"],
                 label="Coverage, with the plan")  # fmt: skip
        utilization = monthly["utilization_pct"].to_numpy(dtype=np.float64)
        axes.plot(x, utilization, marker="D", markersize=6, color=COLORS["accent"],
                  linestyle="-" if len(x) > 1 else "none",
                  label="Utilization, with the plan")  # fmt: skip
        axes.set_xticks(x, monthly["month"].astype(str).tolist())
        axes.set_ylim(0.0, 105.0)
        axes.yaxis.set_major_formatter(PercentFormatter(xmax=100.0, decimals=0))
        axes.set_title("Utilization and coverage by month", loc="left", fontsize=10)
        _legend_below(axes, ncols=3)
        return figure


def cash_flow_chart(cash_flow: pd.DataFrame, break_even: int | None) -> str:
    """Monthly cash with and without the plan against all on-demand, and cumulative savings.

    ``break_even`` is the month to mark, or ``None`` (none, or nothing paid upfront).
    """
    return svg_text(
        cash_flow_figure(cash_flow, break_even), "chart-cash-flow", "Cash flow by month"
    )


def cash_flow_figure(cash_flow: pd.DataFrame, break_even: int | None) -> Figure:
    """The figure of :func:`cash_flow_chart`."""
    with _style():
        figure, (top, bottom) = _figure(2, HEIGHT_IN * 1.6, bottom=0.55, legend_right=True)
        months = cash_flow["month"].to_numpy()
        width = 0.4
        top.bar(months - width / 2, cash_flow["current_cost_usd"], width, color=COLORS["before"],
                label="Current commitments")  # fmt: skip
        top.bar(months + width / 2, cash_flow["planned_cost_usd"], width, color=COLORS["after"],
                label="With the plan (upfront in its month)")  # fmt: skip
        top.step(months, cash_flow["on_demand_cost_usd"], where="mid", color=COLORS["accent"],
                 linewidth=1.2, label="All on-demand")  # fmt: skip
        top.set_ylabel("Cash per month")
        top.yaxis.set_major_formatter(USD_AXIS)
        top.set_title("Cash flow by month (data period's run-rate repeated)", loc="left",
                      fontsize=10)  # fmt: skip
        peak = float(
            np.nanmax(
                cash_flow[["current_cost_usd", "planned_cost_usd", "on_demand_cost_usd"]].to_numpy()
            )
        )
        top.set_ylim(0.0, max(peak, 1.0) * 1.1)
        _legend_right(top)
        cumulative = cash_flow["cumulative_savings_vs_current_usd"].to_numpy(dtype=np.float64)
        bottom.fill_between(months, cumulative, 0.0, where=cumulative >= 0, color=COLORS["after"],
                            alpha=0.25, step="mid", linewidth=0)  # fmt: skip
        bottom.fill_between(months, cumulative, 0.0, where=cumulative < 0, color=COLORS["accent"],
                            alpha=0.25, step="mid", linewidth=0)  # fmt: skip
        bottom.step(months, cumulative, where="mid", color=COLORS["text"], linewidth=1.2,
                    label="Cumulative savings vs current")  # fmt: skip
        bottom.axhline(0.0, color="#9AA5B1", linewidth=0.8)
        if break_even is not None:
            bottom.axvline(break_even, color=COLORS["accent"], linestyle=":", linewidth=1.2,
                           label=f"Break-even: month {break_even}")  # fmt: skip
        bottom.set_xlabel("Month after purchase")
        bottom.set_ylabel("Cumulative savings")
        bottom.yaxis.set_major_formatter(USD_AXIS)
        _legend_right(bottom)
        for axes in (top, bottom):
            axes.set_xlim(0.4, months.max() + 0.6 if len(months) else 1.6)
        return figure


def savings_distribution_chart(monte_carlo: MonteCarloSavings, point_usd: float | None) -> str:
    """Histogram of savings over the sampled paths, with P5, P50 and P95 marked."""
    return svg_text(
        savings_distribution_figure(monte_carlo, point_usd),
        "chart-distribution",
        "Savings distribution over scenarios",
    )


def savings_distribution_figure(monte_carlo: MonteCarloSavings, point_usd: float | None) -> Figure:
    """The figure of :func:`savings_distribution_chart`."""
    with _style():
        figure, (axes,) = _figure(bottom=0.55, legend_right=True)
        savings = monte_carlo.savings_vs_current_usd
        bins = int(np.clip(np.sqrt(savings.size) * 2, 10, 60))
        axes.hist(savings, bins=bins, color=COLORS["after"], alpha=0.8, label="Paths")
        p5, p50, p95 = monte_carlo.percentiles()
        for value, name, style in ((p5, "P5", "--"), (p50, "P50", "-"), (p95, "P95", "--")):
            axes.axvline(value, color=COLORS["text"], linestyle=style, linewidth=1.0,
                         label=f"{name}: ${value:,.0f}")  # fmt: skip
        if point_usd is not None:
            axes.axvline(point_usd, color=COLORS["accent"], linewidth=1.4,
                         label=f"Data period: ${point_usd:,.0f}")  # fmt: skip
        axes.xaxis.set_major_formatter(USD_AXIS)
        axes.set_xlabel(f"Savings of the plan over {monte_carlo.horizon}")
        axes.set_ylabel("Paths")
        axes.set_title(f"Savings distribution over {savings.size:,} scenarios", loc="left",
                       fontsize=10)  # fmt: skip
        _legend_right(axes)
        return figure


__all__ = [
    "COLORS",
    "LEGEND_WIDTH_IN",
    "cash_flow_chart",
    "cash_flow_figure",
    "frontier_chart",
    "frontier_figure",
    "hourly_usage_chart",
    "hourly_usage_figure",
    "savings_distribution_chart",
    "savings_distribution_figure",
    "svg_text",
    "utilization_coverage_chart",
    "utilization_coverage_figure",
]
