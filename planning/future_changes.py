"""Changes known in advance applied to the futures a decision is taken on.

The futures of :mod:`planning.future` extrapolate the lookback (with random migrations and
exits at learned or prior rates); they cannot know that the m4 fleet moves to m7i in March
because the team has planned it. ``recommend --plans FILE`` (and the ladder's decisions) apply
such a plan, a scenario file of dated transforms (:mod:`scenarios.known_changes`), to every
future before the purchases are chosen.

A future's rows are on a compressed clock (one representative week per quarter of the term), so
each transform is evaluated at the real time a row stands for (:meth:`Futures.real_times`: the
day it falls on in the term, at the hour of the day of the week hour it copies): a migration
ramping over March moves the rows of the epoch holding March in proportion, an exit on 1 June
zeroes every row from that day on, a new workload's daily profile follows the rows' hours of the
day. Transforms whose selection matches nothing in the futures are skipped and named
(:attr:`Futures.known_changes_skipped`), as :func:`scenarios.known_changes.apply_known_changes`
does at a review.

Price changes are refused: the purchases are priced, and the futures billed, at the catalog's
rates (``commitopt simulate --scenario`` answers what a price change would do).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from planning.future import Futures
from pricing.catalog import PriceCatalog
from scenarios.known_changes import apply_known_changes
from scenarios.transforms import PriceChange, Scenario, ScenarioError
from usage.table import KEY_COLUMNS, UsageMatrix


def check_plan_for_decision(plan: Scenario) -> None:
    """Refuse a plan the decision cannot take: one with a price change.

    Raises
    ------
    ScenarioError
        Located at the price change, with the way to study it instead.
    """
    for index, transform in enumerate(plan.transforms, start=1):
        if isinstance(transform, PriceChange):
            raise ScenarioError(
                "a price change cannot be planned for a purchase decision: the purchases are "
                "priced at the catalog's rates",
                fix="leave it out of --plans; `commitopt simulate --scenario FILE` shows what it "
                "would do to a plan's bill",
                location=plan.location(index),
            )


def with_known_changes(futures: Futures, plan: Scenario, catalog: PriceCatalog) -> Futures:
    """The futures with ``plan`` applied to each, at the real times their rows stand for.

    Parameters
    ----------
    futures
        The sampled futures.
    plan
        Changes known in advance (no price changes: :func:`check_plan_for_decision`).
    catalog
        Prices (a migration's target types).

    Returns
    -------
    Futures
        The same futures, their keys the union of what the changes leave in any of them
        (sorted, as a usage matrix holds them), and the skipped transforms' locations.
    """
    check_plan_for_decision(plan)
    changed: list[UsageMatrix] = []
    skipped: set[str] = set()
    for index in range(futures.count):
        real = UsageMatrix(
            futures.real_times(index), futures.keys, futures.quantity[index], sampled=True
        )
        (after, _), missed = apply_known_changes(real, plan, catalog)
        changed.append(after)
        skipped.update(missed)
    keys, quantity = _aligned(changed)
    return replace(
        futures,
        keys=keys,
        quantity=quantity,
        known_changes_skipped=tuple(sorted(skipped)),
    )


def _aligned(matrices: list[UsageMatrix]) -> tuple[pd.DataFrame, np.ndarray]:
    """One key set for every future (the union, sorted) and the ``(futures, rows, keys)``
    quantities on it."""
    frames = pd.concat([m.keys for m in matrices], ignore_index=True)[list(KEY_COLUMNS)]
    frames = frames.astype({column: "string" for column in KEY_COLUMNS})
    keys = frames.drop_duplicates().sort_values(list(KEY_COLUMNS)).reset_index(drop=True)
    text = keys.astype(str).agg("|".join, axis=1)
    position = dict(zip(text, range(len(keys)), strict=True))
    rows = matrices[0].quantity.shape[0]
    quantity = np.zeros((len(matrices), rows, len(keys)))
    for index, matrix in enumerate(matrices):
        columns = matrix.keys.astype(str).agg("|".join, axis=1).map(position).to_numpy()
        quantity[index][:, columns] = matrix.quantity
    return keys, quantity


def known_changes_sentence(known: Mapping[str, Any]) -> str:
    """``summary.decided_on.known_changes`` in words, for the table and the report."""
    skipped = list(known.get("skipped") or [])
    text = (
        f"Known changes applied to every future: {known.get('plan')} "
        f"({known.get('transforms')} transform(s)"
    )
    return text + (f"; skipped, matching nothing: {', '.join(skipped)})." if skipped else ").")


__all__ = ["check_plan_for_decision", "known_changes_sentence", "with_known_changes"]
