"""The standard line-up of purchase policies, and the backtest of it against the hindsight.

Every policy buys from the same offerings (:data:`PURCHASE_POLICY`: 1-year, No Upfront,
standard RIs, EC2 Instance and Compute Savings Plans), and the hindsight may buy any of them.
Two ceilings: ``hindsight`` (purchases at every review) and ``hindsight-oneshot`` (at the first
review only), each with a certified bound on the savings of its feasible set
(:mod:`planning.ceiling`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Final

import pandas as pd

from core.errors import CommitoptInputError, param
from optimizer.policy import Policy
from planning.future import FutureOptions
from planning.policies.cost_explorer import CostExplorerLike
from planning.policies.hindsight import HindsightOptimum
from planning.policies.knee import KneeRule
from planning.policies.no_purchases import NoPurchases
from planning.policies.ours import DEFAULT_LADDER_FRACTION, OursLadder, OursOneShot
from planning.policies.recommended import PURCHASE_POLICY
from planning.recommend import RecommendOptions
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment, Inventory
from scenarios.backtest import (
    DEFAULT_LOOKBACK_DAYS,
    DEFAULT_REVIEW_EVERY,
    BacktestError,
    BacktestResult,
    PurchasePolicy,
    backtest,
)
from scenarios.known_changes import check_known_changes
from scenarios.transforms import Scenario
from usage.table import UsageMatrix

POLICY_NAMES: Final = (
    "none",
    "ce-7d",
    "ce-30d",
    "ce-60d",
    "knee",
    "ours-oneshot",
    "ours-ladder",
)
"""Policies of :func:`standard_policies`, in display order."""

PLANNED_LADDER: Final = "ours-ladder+plans"
"""The ladder that also knows changes planned in advance (the backtest's ``--plans`` file: a
scenario of migrations, exits, new workloads); in the line-up when they are given."""


def standard_policies(
    names: Sequence[str] = POLICY_NAMES,
    *,
    policy: Policy = PURCHASE_POLICY,
    ladder_fraction: float = DEFAULT_LADDER_FRACTION,
    known_changes: Scenario | None = None,
    future: FutureOptions | None = None,
) -> dict[str, PurchasePolicy]:
    """The named policies, all buying ``policy``'s first term, payment option and RI class.

    ``future`` sets how ``ours-oneshot`` and the ladders draw and weigh their futures (the risk
    term, the structural-change priors); default :class:`planning.future.FutureOptions`.

    With ``known_changes``, :data:`PLANNED_LADDER` may be named (the ladder applying them to its
    forecasts); without, naming it is an error.

    Raises
    ------
    BacktestError
        For an unknown name (the message lists the known ones), or the planned ladder without
        known changes.
    """
    term = policy.terms_years[0]
    payment = policy.payment_options[0]
    offering_class = policy.offering_classes[0] if policy.offering_classes else "standard"
    one_term = replace(policy, terms_years=(term,), payment_options=(payment,))
    ours = RecommendOptions(future=future or FutureOptions())

    def ce_like(days: float) -> PurchasePolicy:
        return CostExplorerLike(
            days, term_years=term, payment_option=payment, offering_class=offering_class
        )

    builders: dict[str, Callable[[], PurchasePolicy]] = {
        "none": NoPurchases,
        "knee": lambda: KneeRule(term_years=term, payment_option=payment),
        "ours-oneshot": lambda: OursOneShot(one_term, ours),
        "ours-ladder": lambda: OursLadder(one_term, fraction=ladder_fraction, options=ours),
        **{f"ce-{days}d": partial(ce_like, float(days)) for days in (7, 30, 60)},
    }
    if known_changes is not None:
        builders[PLANNED_LADDER] = lambda: OursLadder(
            one_term, fraction=ladder_fraction, known_changes=known_changes, options=ours
        )
    elif PLANNED_LADDER in names:
        raise BacktestError(
            f"policy {PLANNED_LADDER!r} needs the plans it knows in advance: give "
            f"{param('known_changes')} FILE "
            "(a scenario file of planned migrations, exits, new workloads)"
        )
    unknown = [name for name in names if name not in builders]
    if unknown:
        known = ", ".join((*POLICY_NAMES, PLANNED_LADDER))
        raise BacktestError(f"unknown policy {', '.join(map(repr, unknown))}; use {known}")
    return {name: builders[name]() for name in dict.fromkeys(names)}


def run_backtest(
    usage: pd.DataFrame | UsageMatrix,
    catalog: PriceCatalog,
    names: Sequence[str] = POLICY_NAMES,
    *,
    start: object,
    end: object,
    review_every: str = DEFAULT_REVIEW_EVERY,
    lookback_days: float = DEFAULT_LOOKBACK_DAYS,
    owned: Inventory | Sequence[Commitment] = (),
    policy: Policy = PURCHASE_POLICY,
    ladder_fraction: float = DEFAULT_LADDER_FRACTION,
    known_changes: Scenario | None = None,
    progress: Callable[[int, int], None] | None = None,
    future: FutureOptions | None = None,
) -> BacktestResult:
    """Backtest the named standard policies with the hindsight optimum as the ceiling, and the
    one-shot hindsight (purchases at the first review only) as the one-shot ceiling.

    Parameters are those of :func:`scenarios.backtest.backtest` and :func:`standard_policies`;
    with ``known_changes`` (changes planned in advance) and the default names,
    :data:`PLANNED_LADDER` is added after ``ours-ladder``. The changes are checked against the
    whole usage first.

    Raises
    ------
    core.errors.CommitoptInputError
        For a bad window or lookback, an unknown policy name, changes that name usage the history
        does not have, or a policy the optimizer rejects.
    """
    policy.validate()
    if policy.ladder_tranches != 1:
        raise CommitoptInputError(
            "the backtest's purchase policy buys at each review: leave ladder_tranches at 1"
        )
    if known_changes is not None:
        check_known_changes(known_changes, usage, catalog)
        if tuple(names) == POLICY_NAMES:
            names = (*POLICY_NAMES, PLANNED_LADDER)
    policies = standard_policies(
        names,
        policy=policy,
        ladder_fraction=ladder_fraction,
        known_changes=known_changes,
        future=future,
    )
    return backtest(
        usage,
        catalog,
        policies,
        start=start,
        end=end,
        review_every=review_every,
        lookback_days=lookback_days,
        owned=owned,
        hindsight=HindsightOptimum(policy),
        progress=progress,
        oneshot_hindsight=HindsightOptimum(policy, reviews="first"),
    )


__all__ = ["PLANNED_LADDER", "POLICY_NAMES", "run_backtest", "standard_policies"]
