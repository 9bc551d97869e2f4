"""Purchase policy: what the optimizer may buy, and the limits it must respect."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from pricing.errors import CommitoptInputError

INSTRUMENTS: Final = ("ri", "ec2-sp", "compute-sp")
"""Instrument names of the CLI's ``--instruments``."""


class PolicyError(CommitoptInputError):
    """A policy that contradicts itself or names unknown values."""


class Mode(StrEnum):
    """Cost Explorer's recommendation modes."""

    MAXIMIZE_SAVINGS = "maximize-savings"
    """Lowest expected cost (the default)."""
    CUSTOM_COMMITMENT = "custom-commitment"
    """One Savings Plan type's new hourly commitment fixed, the rest optimized around it."""
    TARGET_COVERAGE = "target-coverage"
    """Lowest cost reaching an average coverage of on-demand-equivalent cost."""


@dataclass(frozen=True)
class Policy:
    """What may be bought and the limits.

    Attributes
    ----------
    instruments
        Subset of :data:`INSTRUMENTS`.
    terms_years
        Allowed terms (1, 3).
    payment_options
        Allowed payment options (``"No Upfront"``, ``"Partial Upfront"``, ``"All Upfront"``).
    offering_classes
        Allowed RI classes (``"standard"``, ``"convertible"``).
    include_accounts, exclude_accounts, include_regions, exclude_regions, include_families,
    exclude_families
        Usage filters; empty include means everything.
    max_upfront_usd
        Cap on the upfront cash of new purchases [USD]; ``None`` for no cap.
    max_hourly_commitment_usd
        Cap on the new purchases' effective cost per hour [USD/h]; ``None`` for no cap.
    coverage_ceiling
        Largest average coverage allowed [0–1]; ``None`` for no ceiling.
    target_coverage
        Mode :attr:`Mode.TARGET_COVERAGE`: coverage to reach [0–1].
    min_utilization
        Least expected utilization of each new pool [0–1]; ``None`` for none.
    custom_commitment_usd, custom_commitment_kind
        Mode :attr:`Mode.CUSTOM_COMMITMENT`: the new hourly commitment [USD/h] of
        ``"ec2-sp"`` or ``"compute-sp"``.
    discount_rate
        Annual rate for the time value of money [1/year]; 0 values money flat.
    ladder_tranches
        Purchase dates: 1 buys now only; n > 1 adds monthly tranches (a ladder).
    mode
        :class:`Mode`.
    cvar_alpha, cvar_weight
        Risk term over scenarios: CVaR of cost at level α [0–1) with weight λ ≥ 0.
    """

    instruments: tuple[str, ...] = INSTRUMENTS
    terms_years: tuple[int, ...] = (1,)
    payment_options: tuple[str, ...] = ("No Upfront",)
    offering_classes: tuple[str, ...] = ("standard",)
    include_accounts: tuple[str, ...] = ()
    exclude_accounts: tuple[str, ...] = ()
    include_regions: tuple[str, ...] = ()
    exclude_regions: tuple[str, ...] = ()
    include_families: tuple[str, ...] = ()
    exclude_families: tuple[str, ...] = ()
    max_upfront_usd: float | None = None
    max_hourly_commitment_usd: float | None = None
    coverage_ceiling: float | None = None
    target_coverage: float | None = None
    min_utilization: float | None = None
    custom_commitment_usd: float | None = None
    custom_commitment_kind: str | None = None
    discount_rate: float = 0.0
    ladder_tranches: int = 1
    mode: Mode = Mode.MAXIMIZE_SAVINGS
    cvar_alpha: float = 0.95
    cvar_weight: float = 0.0
    notes: tuple[str, ...] = field(default=())


__all__ = ["INSTRUMENTS", "Mode", "Policy", "PolicyError"]
