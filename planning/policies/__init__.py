"""Every purchase policy in one place, and the standard line-up that the backtest compares.

One module per policy family; :mod:`scenarios.backtest` holds the machinery they run in (review
dates, the :class:`~scenarios.backtest.PurchasePolicy` protocol,
:func:`~scenarios.backtest.backtest`, results), and ``scenarios`` never imports ``planning``.

- :mod:`~planning.policies.no_purchases`: :class:`NoPurchases` (``none``).
- :mod:`~planning.policies.cost_explorer`: :class:`CostExplorerLike` (``ce-7d``, ``ce-30d``,
  ``ce-60d``): the best single instrument for the last days, sized with the simulator.
- :mod:`~planning.policies.knee`: :class:`KneeRule` (``knee``): a Compute SP towards the knee at
  an assumed flat discount.
- :mod:`~planning.policies.ours`: :class:`OursOneShot` and :class:`OursLadder` (``ours-oneshot``,
  ``ours-ladder``, ``ours-ladder+plans``): this project's recommendation.
- :mod:`~planning.policies.hindsight`: :class:`HindsightOptimum`: the ceiling.
- :mod:`~planning.policies.lineup`: :func:`standard_policies` and :func:`run_backtest`.
"""

from planning.policies.cost_explorer import SEARCH_MARGIN, CostExplorerLike
from planning.policies.hindsight import HINDSIGHT_TOLERANCE, HindsightOptimum
from planning.policies.knee import KneeRule
from planning.policies.lineup import PLANNED_LADDER, POLICY_NAMES, run_backtest, standard_policies
from planning.policies.no_purchases import NoPurchases
from planning.policies.ours import (
    DEFAULT_LADDER_FRACTION,
    DEFAULT_MIN_TREND_T,
    DEFAULT_PLAN_MONTHS,
    RECENT_WEEKS,
    OursLadder,
    OursOneShot,
)
from planning.policies.recommended import PURCHASE_POLICY, months_starts_count
from planning.trends import WeeklyLine, clear_trend, weekly_line

__all__ = [
    "DEFAULT_LADDER_FRACTION",
    "DEFAULT_MIN_TREND_T",
    "DEFAULT_PLAN_MONTHS",
    "HINDSIGHT_TOLERANCE",
    "PLANNED_LADDER",
    "POLICY_NAMES",
    "PURCHASE_POLICY",
    "RECENT_WEEKS",
    "SEARCH_MARGIN",
    "CostExplorerLike",
    "HindsightOptimum",
    "KneeRule",
    "NoPurchases",
    "OursLadder",
    "OursOneShot",
    "WeeklyLine",
    "clear_trend",
    "months_starts_count",
    "run_backtest",
    "standard_policies",
    "weekly_line",
]
