"""The frontier: savings as the proposed commitments scale from none to 150 %, and its knee.

At each level ``ℓ`` every *proposed* commitment is scaled by ``ℓ`` (a Savings Plan's hourly
commitment and upfront; an RI's capacity, recurring fee and upfront, i.e. its count) while the
*owned* ones stay as they are; every level is billed over every usage path with AWS's rules
(:class:`scenarios.montecarlo.MonteCarloModel`, reduced once for all levels). Level 0 is the
owned commitments alone, level 1 the portfolio as given.

RI counts. ``ℓ × count`` is usually not whole; the frontier bills it as fractional capacity at
the fractional price (3.5 RIs cover 3.5 instances' normalized units and cost 3.5 RIs):
:meth:`billing.portfolio.Instrument.scaled`, the continuous form of the one scaling rule
(:meth:`pricing.inventory.Commitment.scaled` rounds down to what AWS sells). This is an
approximation of buying whole RIs, exact at the levels where every count is whole (level 1
always), and smooth where whole RIs would make steps.

The knee. With ``E[S](ℓ)`` the expected savings and ``C(ℓ)`` the commitment cost over the
period, the step from one level to the next returns ``ΔE[S] / ΔC`` USD of savings per extra USD of
commitment (the marginal return). The knee is the highest level reached while every step up to
it returned at least ``knee_threshold`` (default 0.10 USD per USD); beyond it, more commitment
buys little. With one pool, a flat discount ``d`` and usage uniform on ``[0, D]``, the savings
are the parabola ``d·x − x²/(2D)`` of the covered on-demand value ``x``, the step's return is
``(d − x_mid/D) / (1 − d)`` at the step's midpoint, and the knee is the last level whose step
midpoint is at most ``x = D·(d − θ·(1 − d))`` (the tests check this).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from billing.portfolio import build_portfolio
from core.errors import CommitoptInputError
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment, Inventory
from scenarios.montecarlo import MonteCarloModel
from scenarios.paths import UsagePaths
from usage.table import UsageMatrix, to_matrix

FloatArray = npt.NDArray[np.float64]

DEFAULT_LEVELS: Final = np.linspace(0.0, 1.5, 31)
"""0 % to 150 % of the proposed commitments in steps of 5 %."""
DEFAULT_KNEE_THRESHOLD: Final = 0.10
"""Least expected savings per extra USD of commitment up to the knee [USD/USD]."""
CACHE_BYTES: Final = 1 << 30
"""Keep the usage blocks between levels when they take at most this [bytes]."""
COLUMNS: Final = (
    "level", "commitment_cost_usd", "mean_savings_vs_on_demand_usd",
    "p5_savings_vs_on_demand_usd", "p50_savings_vs_on_demand_usd", "p95_savings_vs_on_demand_usd",
    "mean_savings_vs_on_demand_pct", "mean_coverage_pct", "mean_utilization_pct",
    "worse_than_on_demand_pct", "marginal_savings_usd_per_usd", "is_knee", "is_portfolio",
)  # fmt: skip
"""Columns of :attr:`FrontierResult.table` (``docs/glossary.md``)."""

AT_MAXIMUM_TOLERANCE_PCT: Final = 0.1
"""A plan whose expected savings are within this share of the curve's maximum is *at* the
maximum [%] (the levels are a grid, and RIs are billed as fractional capacity between them)."""

Portfolio = Inventory | Sequence[Commitment]


class FrontierError(CommitoptInputError):
    """Frontier levels or inputs that cannot be used."""


@dataclass(frozen=True, eq=False)
class FrontierResult:
    """Savings of each commitment level.

    Attributes
    ----------
    table
        One row per level, :data:`COLUMNS`: ``commitment_cost_usd`` (owned + scaled proposed,
        over the period) [USD]; mean over paths, P5, P50 and P95 of the savings against
        on-demand [USD]; mean savings against on-demand, coverage and utilization [%]; the share
        of paths that pay more than on-demand [%]; ``marginal_savings_usd_per_usd`` of the step
        from the previous level [USD per USD of commitment] (NaN on the first row and when the
        commitment does not grow); ``is_knee`` and ``is_portfolio`` (level 1) flags.
    knee_level
        Level of the knee.
    knee_threshold
        The marginal return the knee rule used [USD/USD].
    n_paths
        Usage paths billed per level (1 for a usage history: then P5 = expected).
    warnings
        Approximations made, one line each.
    """

    table: pd.DataFrame
    knee_level: float
    knee_threshold: float
    n_paths: int
    warnings: tuple[str, ...]

    @property
    def knee(self) -> pd.Series:
        """The knee's row."""
        return self.table.loc[self.table["is_knee"]].iloc[0]

    def expected_maximum(self, tolerance_pct: float = AT_MAXIMUM_TOLERANCE_PCT) -> FrontierMaximum:
        """The level of the expected-savings maximum and the plan's (level 1) distance from it
        (:func:`expected_savings_maximum`)."""
        return expected_savings_maximum(
            self.table["level"].to_numpy(dtype=np.float64),
            self.table["mean_savings_vs_on_demand_usd"].to_numpy(dtype=np.float64),
            1.0,
            tolerance_pct=tolerance_pct,
        )


@dataclass(frozen=True)
class FrontierMaximum:
    """Where a plan sits on a frontier relative to the curve's expected-savings maximum.

    Attributes
    ----------
    maximum_level
        Level of the largest expected savings (the lowest such level on ties), in the unit of
        the levels given (a share of the plan, or USD/h).
    maximum_savings_usd
        Expected savings there [USD].
    plan_level
        The plan's level, same unit.
    plan_savings_usd
        Expected savings at the plan's level, interpolated between levels when it is not one of
        them [USD].
    shortfall_usd
        ``maximum_savings_usd − plan_savings_usd``, at least 0 [USD].
    shortfall_pct
        That ÷ the maximum's savings [%] (0 when the maximum saves nothing).
    at_maximum
        Whether the shortfall is within ``tolerance_pct`` of the maximum's savings.
    tolerance_pct
        The tolerance used [%].
    """

    maximum_level: float
    maximum_savings_usd: float
    plan_level: float
    plan_savings_usd: float
    shortfall_usd: float
    shortfall_pct: float
    at_maximum: bool
    tolerance_pct: float

    @property
    def maximum_over_plan(self) -> float:
        """The maximum's level ÷ the plan's [1] (``inf`` for a plan at level 0)."""
        return self.maximum_level / self.plan_level if self.plan_level > 0 else math.inf


def expected_savings_maximum(
    levels: Sequence[float] | FloatArray,
    expected_savings_usd: Sequence[float] | FloatArray,
    plan_level: float = 1.0,
    *,
    tolerance_pct: float = AT_MAXIMUM_TOLERANCE_PCT,
) -> FrontierMaximum:
    """The level of a frontier's expected-savings maximum and the plan's distance from it.

    Parameters
    ----------
    levels
        The frontier's levels (any increasing or unordered grid, e.g. shares of the plan).
    expected_savings_usd
        Expected savings at each level [USD].
    plan_level
        The plan's level, in the same unit (1 for a frontier of shares of the plan).
    tolerance_pct
        Shortfall within which the plan counts as at the maximum [% of the maximum's savings].

    Returns
    -------
    FrontierMaximum

    Raises
    ------
    FrontierError
        When the two lists differ in length, are empty or not finite.
    """
    grid = np.asarray(levels, dtype=np.float64).reshape(-1)
    savings = np.asarray(expected_savings_usd, dtype=np.float64).reshape(-1)
    if grid.size == 0 or grid.shape != savings.shape:
        raise FrontierError(
            f"give as many expected savings ({savings.size}) as frontier levels ({grid.size}), "
            "at least one"
        )
    if not (np.isfinite(grid).all() and np.isfinite(savings).all() and math.isfinite(plan_level)):
        raise FrontierError("frontier levels, savings and the plan's level must be finite")
    order = np.argsort(grid, kind="stable")
    grid, savings = grid[order], savings[order]
    best = int(np.argmax(savings))  # the lowest level on ties
    plan_savings = float(np.interp(plan_level, grid, savings))
    maximum = float(savings[best])
    shortfall = max(maximum - plan_savings, 0.0)
    shortfall_pct = 100.0 * shortfall / maximum if maximum > 0 else 0.0
    return FrontierMaximum(
        maximum_level=float(grid[best]),
        maximum_savings_usd=maximum,
        plan_level=float(plan_level),
        plan_savings_usd=plan_savings,
        shortfall_usd=shortfall,
        shortfall_pct=shortfall_pct,
        at_maximum=bool(shortfall <= tolerance_pct / 100.0 * abs(maximum) + 1e-9),
        tolerance_pct=float(tolerance_pct),
    )


def check_levels(levels: Sequence[float] | FloatArray) -> FloatArray:
    """Levels as a float array: at least two, finite, ≥ 0, strictly increasing.

    Raises
    ------
    FrontierError
        Naming the bad value.
    """
    values = np.asarray(levels, dtype=np.float64).reshape(-1)
    if values.size < 2:
        raise FrontierError(f"give at least two frontier levels, not {values.size}")
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise FrontierError(
            f"frontier level {values[bad][0]:g} is not a finite share ≥ 0; use e.g. 0 to 1.5"
        )
    if np.any(np.diff(values) <= 0):
        raise FrontierError("frontier levels must increase strictly (e.g. 0, 0.05, ..., 1.5)")
    return values


def knee_index(
    cost_usd: FloatArray, savings_usd: FloatArray, threshold: float
) -> tuple[int, FloatArray]:
    """Index of the knee and the marginal return of each step (NaN for the first point).

    The knee is the last point reached while every step up to it returned at least
    ``threshold`` of savings per extra unit of cost; steps where the cost does not grow are
    skipped (their return is NaN).
    """
    marginal = np.full(len(cost_usd), np.nan)
    step_cost = np.diff(cost_usd)
    grows = step_cost > 1e-12 * max(float(np.max(np.abs(cost_usd), initial=0.0)), 1.0)
    marginal[1:][grows] = np.diff(savings_usd)[grows] / step_cost[grows]
    knee = 0
    for index in range(1, len(cost_usd)):
        if np.isnan(marginal[index]):
            continue
        if marginal[index] < threshold:
            break
        knee = index
    return knee, marginal


def _as_paths(usage: UsagePaths | UsageMatrix | pd.DataFrame) -> UsagePaths:
    if isinstance(usage, UsagePaths):
        return usage
    matrix = usage if isinstance(usage, UsageMatrix) else to_matrix(usage)
    return UsagePaths.from_matrices([matrix])


def frontier(
    paths_or_usage: UsagePaths | UsageMatrix | pd.DataFrame,
    portfolio: Portfolio,
    catalog: PriceCatalog,
    *,
    owned: Portfolio = (),
    levels: Sequence[float] | FloatArray = DEFAULT_LEVELS,
    knee_threshold: float = DEFAULT_KNEE_THRESHOLD,
    share_across_accounts: bool = True,
    progress: Callable[[int, int | None], None] | None = None,
) -> FrontierResult:
    """Bill the proposed commitments scaled to each level, over every path; mark the knee.

    Parameters
    ----------
    paths_or_usage
        Sampled usage paths, or one usage history (canonical table or matrix).
    portfolio
        The proposed commitments (scaled), e.g. a recommendation's purchases.
    catalog
        Prices (as for :func:`billing.simulator.simulate`).
    owned
        Commitments already owned (kept as they are at every level).
    levels
        Shares of the proposed commitments to bill [1]: finite, ≥ 0, strictly increasing.
    knee_threshold
        Least expected savings per extra USD of commitment up to the knee [USD/USD].
    share_across_accounts
        Whether commitments also cover the organization's other accounts after their own.
    progress
        Called with (levels billed, number of levels).

    Raises
    ------
    FrontierError
        For bad levels or threshold.
    """
    values = check_levels(levels)
    if not np.isfinite(knee_threshold):
        raise FrontierError(f"the knee threshold must be a finite number, not {knee_threshold}")
    paths = _as_paths(paths_or_usage)
    mine = build_portfolio(portfolio, paths.hours, catalog)
    theirs = build_portfolio(owned, paths.hours, catalog)
    combined = theirs.then(mine)
    proposed = {id(inst) for inst in mine.instruments}
    instruments = combined.instruments
    model = MonteCarloModel.build(
        paths, combined, catalog, share_across_accounts=share_across_accounts
    )
    rows = []
    for number, level in enumerate(values, start=1):
        scaled = [i.scaled(float(level)) if id(i) in proposed else i for i in instruments]
        result = model.run(scaled, cache_bytes=CACHE_BYTES)
        savings = result.paths["savings_vs_on_demand_usd"].to_numpy()
        p5, p50, p95 = np.percentile(savings, (5.0, 50.0, 95.0))
        means = result.paths.mean()
        rows.append(
            (
                float(level), result.commitment_cost_usd, float(savings.mean()), float(p5),
                float(p50), float(p95), float(means["savings_vs_on_demand_pct"]),
                float(means["coverage_pct"]), float(means["utilization_pct"]),
                result.worse_than_on_demand_pct,
            )
        )  # fmt: skip
        if progress is not None:
            progress(number, len(values))
    table = pd.DataFrame(rows, columns=list(COLUMNS[:10]))
    knee, marginal = knee_index(
        table["commitment_cost_usd"].to_numpy(),
        table["mean_savings_vs_on_demand_usd"].to_numpy(),
        knee_threshold,
    )
    table["marginal_savings_usd_per_usd"] = marginal
    table["is_knee"] = np.arange(len(table)) == knee
    table["is_portfolio"] = np.isclose(values, 1.0, rtol=0.0, atol=1e-9)
    return FrontierResult(
        table=table,
        knee_level=float(values[knee]),
        knee_threshold=float(knee_threshold),
        n_paths=paths.n_paths,
        warnings=model.warnings,
    )


__all__ = [
    "AT_MAXIMUM_TOLERANCE_PCT",
    "COLUMNS",
    "DEFAULT_KNEE_THRESHOLD",
    "DEFAULT_LEVELS",
    "FrontierError",
    "FrontierMaximum",
    "FrontierResult",
    "check_levels",
    "expected_savings_maximum",
    "frontier",
    "knee_index",
]
