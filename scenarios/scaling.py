"""The one rule for scaling a commitment: a purchase bought ``factor`` times over.

:func:`scale_purchase` is what AWS would sell of a purchase scaled by ``factor``:

- a Reserved Instance: ``count × factor`` rounded **down** to whole RIs; its normalized units,
  upfront and effective cost in proportion to the RIs left (the recurring fee is per RI and
  stays);
- a Savings Plan: ``commitment × factor`` rounded **down** to AWS's step of
  :data:`SP_STEP_USD` (0.001 USD/h); its upfront, recurring fee and effective cost in proportion
  to the commitment left.

Rounding down never buys more than the share asked for; a tiny tolerance (1e-9 RI, 1e-6 of a
step) keeps counts and commitments that are whole up to floating-point error. Factor 1 returns
the purchase as it is, and ``None`` means nothing is left to buy.

:func:`scale_instrument` is the same scaling on a built billing instrument *without* the rounding
(3.5 RIs cover 3.5 instances' units and cost 3.5 RIs): the continuous form that
:func:`scenarios.frontier.frontier` bills at every level, so that its curve is smooth where whole
RIs would make steps. Both agree wherever the scaled count is whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Final

import numpy as np
import numpy.typing as npt

from billing.portfolio import Instrument
from pricing.inventory import OwnedCommitment

FloatArray = npt.NDArray[np.float64]

SP_STEP_USD: Final = 0.001
"""AWS's Savings Plan purchase granularity [USD/h]."""

_RI_TOLERANCE: Final = 1e-9
"""Below a whole RI by at most this still counts as the whole RI [RIs]."""

_SP_TOLERANCE: Final = 1e-6
"""Below a whole step by at most this share of a step still counts as the step [1]."""


def floor_to_sp_step(values_usd_per_hour: npt.ArrayLike) -> FloatArray:
    """Savings Plan commitments rounded down to AWS's step [USD/h] (see the module docstring)."""
    values = np.asarray(values_usd_per_hour, dtype=np.float64)
    return np.floor(values / SP_STEP_USD + _SP_TOLERANCE) * SP_STEP_USD


def floor_to_whole_ris(counts: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """RI counts rounded down to whole RIs (see the module docstring)."""
    values = np.asarray(counts, dtype=np.float64)
    return np.floor(values + _RI_TOLERANCE).astype(np.int64)


def _times(value: float | None, share: float) -> float | None:
    return None if value is None else value * share


def scale_purchase(purchase: OwnedCommitment, factor: float) -> OwnedCommitment | None:
    """``purchase`` bought ``factor`` times over, rounded down to what AWS sells.

    Parameters
    ----------
    purchase
        A Reserved Instance or Savings Plan purchase.
    factor
        Share of the purchase to buy [1], at least 0.

    Returns
    -------
    OwnedCommitment or None
        The scaled purchase (the same object at factor 1), or ``None`` when the rounding leaves
        nothing to buy.
    """
    if factor == 1.0:
        return purchase
    if purchase.is_savings_plan:
        commitment = float(floor_to_sp_step((purchase.commitment_usd_per_hour or 0.0) * factor))
        if commitment <= 0:
            return None
        share = commitment / (purchase.commitment_usd_per_hour or commitment)
        return replace(
            purchase,
            commitment_usd_per_hour=commitment,
            upfront_usd=purchase.upfront_usd * share,
            recurring_usd_per_hour=_times(purchase.recurring_usd_per_hour, share),
            effective_usd_per_hour=_times(purchase.effective_usd_per_hour, share),
        )
    count = int(floor_to_whole_ris((purchase.count or 0) * factor))
    if count <= 0:
        return None
    share = count / (purchase.count or count)
    return replace(
        purchase,
        count=count,
        normalized_units=_times(purchase.normalized_units, share),
        upfront_usd=purchase.upfront_usd * share,
        effective_usd_per_hour=_times(purchase.effective_usd_per_hour, share),
    )


def scale_purchases(
    purchases: Iterable[OwnedCommitment], factor: float
) -> tuple[OwnedCommitment, ...]:
    """Each purchase scaled by :func:`scale_purchase`; those with nothing left are left out."""
    scaled = (scale_purchase(purchase, factor) for purchase in purchases)
    return tuple(purchase for purchase in scaled if purchase is not None)


def scale_instrument(instrument: Instrument, factor: float) -> Instrument:
    """``instrument`` with ``factor`` × its capacity and money, not rounded (fractional RIs)."""
    return replace(
        instrument,
        capacity=instrument.capacity * factor,
        amortized_hourly_usd=instrument.amortized_hourly_usd * factor,
        recurring_usd_per_hour=instrument.recurring_usd_per_hour * factor,
        upfront_usd=instrument.upfront_usd * factor,
    )


__all__ = [
    "SP_STEP_USD",
    "floor_to_sp_step",
    "floor_to_whole_ris",
    "scale_instrument",
    "scale_purchase",
    "scale_purchases",
]
