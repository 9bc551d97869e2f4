"""The policy that buys nothing: the on-demand floor of every backtest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pricing.inventory import Commitment
from scenarios.backtest import Review


@dataclass(frozen=True)
class NoPurchases:
    """Buy nothing: everything not covered by the initial commitments is on-demand."""

    def __call__(self, review: Review) -> Sequence[Commitment]:
        """Nothing."""
        return ()


__all__ = ["NoPurchases"]
