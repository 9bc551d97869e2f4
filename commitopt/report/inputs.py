"""Optional inputs of a report: savings over Monte Carlo paths, and a savings frontier.

Both take plain arrays so that any producer (``scenarios`` Monte Carlo, a frontier scan, a
notebook) can hand them over; mappings with the same field names are accepted too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pricing.errors import CommitoptInputError

FloatArray = npt.NDArray[np.float64]


class ReportInputError(CommitoptInputError):
    """Extras given to the report (Monte Carlo savings, a frontier) that cannot be used."""


@dataclass(frozen=True, eq=False)
class Frontier:
    """Savings versus commitment level (the efficient frontier of the plan).

    Attributes
    ----------
    levels
        Commitment levels [USD/h of new commitment, upfront amortized].
    expected_savings
        Expected savings at each level [USD over ``horizon``].
    p5_savings
        5th percentile of the savings at each level [USD], or ``None``.
    knee_level
        The level past which each extra dollar saves markedly less [USD/h], or ``None``.
    recommended_level
        The recommendation's level [USD/h] (marked on the chart), or ``None``.
    horizon
        What the savings are counted over (e.g. ``"the data period"``).
    source
        How the frontier was made (shown under the chart).
    """

    levels: FloatArray
    expected_savings: FloatArray
    p5_savings: FloatArray | None = None
    knee_level: float | None = None
    recommended_level: float | None = None
    horizon: str = "the data period"
    source: str = "given"

    def __post_init__(self) -> None:
        levels = np.asarray(self.levels, dtype=np.float64)
        expected = np.asarray(self.expected_savings, dtype=np.float64)
        if levels.ndim != 1 or levels.shape != expected.shape or levels.size == 0:
            raise ReportInputError(
                f"frontier: levels ({levels.size}) and expected_savings ({expected.size}) must "
                "be two non-empty 1-D arrays of the same length"
            )
        if not (np.isfinite(levels).all() and np.isfinite(expected).all()):
            raise ReportInputError("frontier: levels and expected_savings must be finite numbers")
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "expected_savings", expected)
        if self.p5_savings is not None:
            p5 = np.asarray(self.p5_savings, dtype=np.float64)
            if p5.shape != levels.shape:
                raise ReportInputError(
                    f"frontier: p5_savings has {p5.size} values for {levels.size} levels"
                )
            object.__setattr__(self, "p5_savings", p5)

    @classmethod
    def coerce(cls, value: Frontier | Mapping[str, Any]) -> Frontier:
        """A :class:`Frontier` from itself or a mapping with the same field names."""
        if isinstance(value, Frontier):
            return value
        unknown = sorted(set(value) - set(cls.__dataclass_fields__))
        if unknown or "levels" not in value or "expected_savings" not in value:
            extra = f"; unknown {', '.join(unknown)}" if unknown else ""
            raise ReportInputError(
                "frontier: give levels and expected_savings (optionally p5_savings, knee_level, "
                f"recommended_level, horizon, source){extra}"
            )
        return cls(**value)


@dataclass(frozen=True, eq=False)
class MonteCarloSavings:
    """Savings of the plan over sampled usage paths.

    Attributes
    ----------
    savings_usd
        Savings of the purchases on each path [USD over ``horizon``].
    effective_savings_rate
        Effective savings rate on each path [0–1], or ``None``.
    horizon
        What the savings are counted over (e.g. ``"12 months"``).
    description
        How the paths were sampled (shown under the chart).
    """

    savings_usd: FloatArray
    effective_savings_rate: FloatArray | None = None
    horizon: str = "each path"
    description: str = ""

    def __post_init__(self) -> None:
        savings = np.asarray(self.savings_usd, dtype=np.float64).ravel()
        if savings.size == 0 or not np.isfinite(savings).all():
            raise ReportInputError(
                "monte_carlo: savings_usd must be a non-empty array of finite numbers, one per path"
            )
        object.__setattr__(self, "savings_usd", savings)
        if self.effective_savings_rate is not None:
            esr = np.asarray(self.effective_savings_rate, dtype=np.float64).ravel()
            if esr.shape != savings.shape or not np.isfinite(esr).all():
                raise ReportInputError(
                    "monte_carlo: effective_savings_rate needs one finite value per path "
                    f"({savings.size})"
                )
            object.__setattr__(self, "effective_savings_rate", esr)

    @classmethod
    def coerce(
        cls, value: MonteCarloSavings | Mapping[str, Any] | npt.ArrayLike
    ) -> MonteCarloSavings:
        """From itself, a mapping with the same field names, or an array of per-path savings."""
        if isinstance(value, MonteCarloSavings):
            return value
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - set(cls.__dataclass_fields__))
            if unknown or "savings_usd" not in value:
                extra = f"; unknown {', '.join(unknown)}" if unknown else ""
                raise ReportInputError(
                    "monte_carlo: give savings_usd (optionally effective_savings_rate, horizon, "
                    f"description){extra}"
                )
            return cls(**value)
        return cls(np.asarray(value, dtype=np.float64))

    def percentiles(self, values: FloatArray | None = None) -> tuple[float, float, float]:
        """P5, P50 and P95 of ``values`` (default: the savings)."""
        data = self.savings_usd if values is None else values
        p5, p50, p95 = np.percentile(data, [5.0, 50.0, 95.0])
        return float(p5), float(p50), float(p95)


__all__ = ["Frontier", "MonteCarloSavings", "ReportInputError"]
