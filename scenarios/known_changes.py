"""Changes known in advance (planned migrations, exits, new workloads) applied to a forecast.

A forecast extrapolates the past, so it cannot see a migration that has not started yet; the
people who plan it can. A *plan* is an ordinary :class:`scenarios.transforms.Scenario` (the same
file format as ``commitopt simulate --scenario``) whose dated transforms describe what will
change. :func:`apply_known_changes` applies it to a sampled future, e.g. at a purchase review:

- a transform whose selection matches nothing in the forecast (the migrated family has gone,
  the exiting region is already empty) is skipped, and a selection is narrowed to the values
  the forecast still has, because a plan is written once for the whole history while each
  review forecasts only the keys its lookback saw;
- the ramps and dates are absolute, so a review before a migration plans for all of it, one in
  the middle of the ramp for the rest of it, one after it for nothing.

:func:`check_known_changes` validates a plan once against the whole usage (every name it uses
must occur there), so that a typo is one clear error rather than a silently skipped transform.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

import pandas as pd

from pricing.catalog import PriceCatalog
from pricing.instance_types import instance_families
from scenarios.transforms import (
    Applied,
    Exit,
    Growth,
    Migration,
    Scenario,
    ScenarioError,
    Selection,
    Transform,
)
from usage.table import UsageMatrix, to_matrix

_SELECTION_COLUMNS: Final[dict[str, str]] = {
    "accounts": "account_id",
    "regions": "region",
    "families": "instance_family",
    "platforms": "platform",
    "instance_types": "instance_type",
}


def _selection_of(transform: Transform) -> tuple[str, Selection] | None:
    """The attribute holding the usage a transform acts on, and its selection (None: no such)."""
    if isinstance(transform, Migration):
        return "source", transform.source
    if isinstance(transform, Growth | Exit):
        return "where", transform.where
    return None


def _narrowed(selection: Selection, keys: pd.DataFrame) -> Selection | None:
    """``selection`` restricted to the values ``keys`` has; None when it would match nothing."""
    if selection.is_everything:
        return selection
    present: dict[str, tuple[str, ...]] = {}
    for name, column in _SELECTION_COLUMNS.items():
        values: tuple[str, ...] = getattr(selection, name)
        if not values:
            continue
        there = (
            instance_families(keys["instance_type"])
            if column == "instance_family"
            else keys[column].astype("string").fillna("")
        )
        kept = tuple(value for value in values if value in set(there.astype(str)))
        if not kept:
            return None
        present[name] = kept
    narrowed = replace(selection, **present)
    return narrowed if narrowed.mask(keys).any() else None


def apply_known_changes(
    usage: UsageMatrix, plan: Scenario, catalog: PriceCatalog
) -> tuple[Applied, tuple[str, ...]]:
    """Apply a plan's transforms in order to a (future) usage matrix.

    Parameters
    ----------
    usage
        The usage to change, typically one forecast path starting at a review.
    plan
        The known changes.
    catalog
        The prices (a plan's price changes change them).

    Returns
    -------
    tuple
        ``((usage, catalog), skipped)``: the changed usage and prices, and the locations of the
        transforms skipped because the usage they select is not in ``usage``.

    Raises
    ------
    ScenarioError
        As :meth:`Scenario.apply`, located at the plan's transform.
    """
    skipped: list[str] = []
    for index, transform in enumerate(plan.transforms, start=1):
        selected = _selection_of(transform)
        step = transform
        if selected is not None:
            attribute, selection = selected
            narrowed = _narrowed(selection, usage.keys)
            if narrowed is None:
                skipped.append(plan.location(index))
                continue
            if narrowed != selection:
                step = replace(transform, **{attribute: narrowed})  # type: ignore[type-var]
        try:
            usage, catalog = step.apply(usage, catalog)
        except ScenarioError as error:
            raise error.located(plan.location(index), transform.kind) from None
    return (usage, catalog), tuple(skipped)


def check_known_changes(
    plan: Scenario, usage: pd.DataFrame | UsageMatrix, catalog: PriceCatalog
) -> None:
    """Check that a plan applies to the whole usage (every family, region, ... it names occurs).

    Raises
    ------
    ScenarioError
        The first transform that does not apply, located in the plan's file.
    """
    plan.apply(usage if isinstance(usage, UsageMatrix) else to_matrix(usage), catalog)


__all__ = ["apply_known_changes", "check_known_changes"]
