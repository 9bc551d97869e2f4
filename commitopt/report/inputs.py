"""Optional inputs of a report: savings over Monte Carlo paths, and a savings frontier.

Both take plain arrays so that any producer (``scenarios`` Monte Carlo, a frontier scan, a
notebook) can hand them over; mappings with the same field names are accepted too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from core.errors import CommitoptInputError

FloatArray = npt.NDArray[np.float64]


HOURS_PER_UNIT: Final[Mapping[str, float]] = {
    "hour": 1.0, "day": 24.0, "week": 168.0, "month": 730.0, "year": 8760.0,
}  # fmt: skip
"""Hours of each unit a Monte Carlo horizon may be written in (a month is 730 h)."""


class ReportInputError(CommitoptInputError):
    """Extras given to the report (Monte Carlo savings, a frontier) that cannot be used."""


FORMER_FRONTIER_FIELDS: Final[Mapping[str, str]] = {
    "levels": "levels_usd_per_hour",
    "expected_savings": "mean_savings_vs_current_usd",
    "p5_savings": "p5_savings_vs_current_usd",
    "knee_level": "knee_usd_per_hour",
    "recommended_level": "plan_usd_per_hour",
}
"""Frontier field names of commitopt 0.1, read as their current names."""


@dataclass(frozen=True, eq=False)
class Frontier:
    """Savings versus commitment level (the efficient frontier of the plan).

    Attributes
    ----------
    levels_usd_per_hour
        Commitment levels [USD/h of new commitment, upfront amortized].
    mean_savings_vs_current_usd
        Mean savings at each level against the owned commitments alone [USD over ``horizon``].
    p5_savings_vs_current_usd
        5th percentile of those savings at each level [USD], or ``None``.
    knee_usd_per_hour
        The level past which each extra dollar saves markedly less [USD/h], or ``None``.
    plan_usd_per_hour
        The plan's level [USD/h] (marked on the chart), or ``None``.
    horizon
        What the savings are counted over (e.g. ``"the data period"``).
    source
        How the frontier was made (shown under the chart).
    risk_option
        The risk option that placed the plan, in words (e.g. ``"CVaR of the worst 5 % of
        paths at weight 0.5"``); empty when the plan maximizes expected savings.
    """

    levels_usd_per_hour: FloatArray
    mean_savings_vs_current_usd: FloatArray
    p5_savings_vs_current_usd: FloatArray | None = None
    knee_usd_per_hour: float | None = None
    plan_usd_per_hour: float | None = None
    horizon: str = "the data period"
    source: str = "given"
    risk_option: str = ""

    def __post_init__(self) -> None:
        levels = np.asarray(self.levels_usd_per_hour, dtype=np.float64)
        expected = np.asarray(self.mean_savings_vs_current_usd, dtype=np.float64)
        if levels.ndim != 1 or levels.shape != expected.shape or levels.size == 0:
            raise ReportInputError(
                f"frontier: levels_usd_per_hour ({levels.size}) and mean_savings_vs_current_usd "
                f"({expected.size}) must be two non-empty lists of the same length"
            )
        if not (np.isfinite(levels).all() and np.isfinite(expected).all()):
            raise ReportInputError(
                "frontier: levels_usd_per_hour and mean_savings_vs_current_usd must be finite "
                "numbers"
            )
        object.__setattr__(self, "levels_usd_per_hour", levels)
        object.__setattr__(self, "mean_savings_vs_current_usd", expected)
        if self.p5_savings_vs_current_usd is not None:
            p5 = np.asarray(self.p5_savings_vs_current_usd, dtype=np.float64)
            if p5.shape != levels.shape:
                raise ReportInputError(
                    f"frontier: p5_savings_vs_current_usd has {p5.size} values for "
                    f"{levels.size} levels"
                )
            object.__setattr__(self, "p5_savings_vs_current_usd", p5)

    @classmethod
    def coerce(cls, value: Frontier | Mapping[str, Any]) -> Frontier:
        """A :class:`Frontier` from itself or a mapping with the same field names (the former
        names of :data:`FORMER_FRONTIER_FIELDS` are read too)."""
        if isinstance(value, Frontier):
            return value
        fields = {FORMER_FRONTIER_FIELDS.get(str(k), str(k)): v for k, v in value.items()}
        unknown = sorted(set(fields) - set(cls.__dataclass_fields__))
        if (
            unknown
            or "levels_usd_per_hour" not in fields
            or ("mean_savings_vs_current_usd" not in fields)
        ):
            extra = f"; unknown {', '.join(unknown)}" if unknown else ""
            raise ReportInputError(
                "frontier: give levels_usd_per_hour and mean_savings_vs_current_usd (optionally "
                f"p5_savings_vs_current_usd, knee_usd_per_hour, plan_usd_per_hour, horizon, "
                f"source, risk_option){extra}"
            )
        return cls(**fields)


@dataclass(frozen=True, eq=False)
class MonteCarloSavings:
    """Savings of the plan over sampled usage paths.

    Attributes
    ----------
    savings_vs_current_usd
        Savings of the purchases on each path, against the owned commitments alone [USD over
        ``horizon``].
    savings_vs_on_demand_pct
        Effective savings rate (with the purchases, against on-demand) on each path [%], or
        ``None``.
    horizon
        What the savings are counted over (e.g. ``"12 months"``).
    description
        How the paths were sampled (shown under the chart).
    current_savings_vs_on_demand_pct
        Effective savings rate of the owned commitments alone on each path [%], or ``None``:
        with it the report shows how much of the range the owned commitments' own expiries
        explain.
    horizon_hours
        Length of each path [h], starting the hour after the data period; ``None``: read from
        ``horizon`` (``"the next 12 months"``, ``"a year"``) when it names a length.
    """

    savings_vs_current_usd: FloatArray
    savings_vs_on_demand_pct: FloatArray | None = None
    horizon: str = "each path"
    description: str = ""
    current_savings_vs_on_demand_pct: FloatArray | None = None
    horizon_hours: float | None = None

    def __post_init__(self) -> None:
        savings = np.asarray(self.savings_vs_current_usd, dtype=np.float64).ravel()
        if savings.size == 0 or not np.isfinite(savings).all():
            raise ReportInputError(
                "monte_carlo: savings_vs_current_usd must be a non-empty list of finite numbers, "
                "one per path"
            )
        object.__setattr__(self, "savings_vs_current_usd", savings)
        if self.savings_vs_on_demand_pct is not None:
            esr = np.asarray(self.savings_vs_on_demand_pct, dtype=np.float64).ravel()
            if esr.shape != savings.shape or not np.isfinite(esr).all():
                raise ReportInputError(
                    "monte_carlo: savings_vs_on_demand_pct needs one finite value per path "
                    f"({savings.size})"
                )
            object.__setattr__(self, "savings_vs_on_demand_pct", esr)
        if self.current_savings_vs_on_demand_pct is not None:
            current = np.asarray(self.current_savings_vs_on_demand_pct, dtype=np.float64).ravel()
            if current.shape != savings.shape or not np.isfinite(current).all():
                raise ReportInputError(
                    "monte_carlo: current_savings_vs_on_demand_pct needs one finite value per "
                    f"path ({savings.size})"
                )
            object.__setattr__(self, "current_savings_vs_on_demand_pct", current)
        if self.horizon_hours is not None and not (
            math.isfinite(float(self.horizon_hours)) and float(self.horizon_hours) > 0
        ):
            raise ReportInputError(
                f"monte_carlo: horizon_hours {self.horizon_hours!r} must be a positive number "
                "of hours"
            )

    def length_hours(self) -> float | None:
        """The paths' length [h]: ``horizon_hours``, else read from ``horizon``, else ``None``."""
        if self.horizon_hours is not None:
            return float(self.horizon_hours)
        text = self.horizon.lower()
        if re.search(r"\ba year\b", text):
            return float(HOURS_PER_UNIT["year"])
        match = re.search(r"(\d+(?:\.\d+)?)[\s-]*(hour|day|week|month|year)s?\b", text)
        if match is None:
            return None
        return float(match.group(1)) * HOURS_PER_UNIT[match.group(2)]

    @classmethod
    def coerce(
        cls, value: MonteCarloSavings | Mapping[str, Any] | npt.ArrayLike
    ) -> MonteCarloSavings:
        """From itself, a mapping with the same field names, or an array of per-path savings.

        The former names ``savings_usd`` and ``effective_savings_rate`` (a fraction) are read
        too.
        """
        if isinstance(value, MonteCarloSavings):
            return value
        if isinstance(value, Mapping):
            fields = dict(value)
            if "savings_usd" in fields and "savings_vs_current_usd" not in fields:
                fields["savings_vs_current_usd"] = fields.pop("savings_usd")
            if "effective_savings_rate" in fields and "savings_vs_on_demand_pct" not in fields:
                former = fields.pop("effective_savings_rate")
                fields["savings_vs_on_demand_pct"] = (
                    None if former is None else 100.0 * np.asarray(former, dtype=np.float64)
                )
            unknown = sorted(set(fields) - set(cls.__dataclass_fields__))
            if unknown or "savings_vs_current_usd" not in fields:
                extra = f"; unknown {', '.join(unknown)}" if unknown else ""
                raise ReportInputError(
                    "monte_carlo: give savings_vs_current_usd (optionally "
                    "savings_vs_on_demand_pct, current_savings_vs_on_demand_pct, horizon, "
                    f"horizon_hours, description){extra}"
                )
            return cls(**fields)
        return cls(np.asarray(value, dtype=np.float64))

    def percentiles(self, values: FloatArray | None = None) -> tuple[float, float, float]:
        """P5, P50 and P95 of ``values`` (default: the savings)."""
        data = self.savings_vs_current_usd if values is None else values
        p5, p50, p95 = np.percentile(data, [5.0, 50.0, 95.0])
        return float(p5), float(p50), float(p95)


__all__ = ["Frontier", "MonteCarloSavings", "ReportInputError"]
