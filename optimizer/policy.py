"""Purchase policy: what the optimizer may buy, and the limits it must respect."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from core.errors import CommitoptInputError, param
from pricing.offerings import (
    OFFERING_CLASSES,
    PAYMENT_OPTIONS,
    POLICY_NAMES,
    TERM_YEARS,
    CommitmentKind,
)
from pricing.regions import REGION_CODES

INSTRUMENTS: Final = POLICY_NAMES
"""Instrument names of the CLI's ``--instruments``."""

CUSTOM_COMMITMENT_KINDS: Final = tuple(k.policy_name for k in CommitmentKind if k.is_savings_plan)
"""Instruments whose hourly commitment :attr:`Mode.CUSTOM_COMMITMENT` can fix."""


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

    def validate(self) -> None:
        """Check that the policy names known values and does not contradict itself.

        Raises
        ------
        PolicyError
            One line naming the option, the bad value and the fix: unknown instruments, terms,
            payment options, offering classes, regions or mode; an empty choice (no instrument,
            no term, …); the same account, region or family both included and excluded;
            shares outside [0, 1]; negative or non-finite caps; a coverage ceiling below the
            target; a mode without its value or a value without its mode; a custom commitment
            of an instrument that is not enabled; fewer than one ladder tranche; a CVaR level
            outside [0, 1) or a negative CVaR weight; a negative discount rate.
        """
        _check_choices("instruments", self.instruments, INSTRUMENTS)
        _check_choices("terms_years", self.terms_years, TERM_YEARS)
        _check_choices("payment_options", self.payment_options, PAYMENT_OPTIONS)
        if CommitmentKind.RESERVED_INSTANCE.policy_name in self.instruments:
            _check_choices("offering_classes", self.offering_classes, OFFERING_CLASSES)
        else:
            _check_choices("offering_classes", self.offering_classes, OFFERING_CLASSES, empty=True)
        for name in ("include_regions", "exclude_regions"):
            unknown = [r for r in getattr(self, name) if r not in REGION_CODES]
            if unknown:
                raise PolicyError(
                    f"policy {param(name)}: unknown region(s) {', '.join(map(repr, unknown))}; "
                    "use AWS region codes such as us-east-1"
                )
        for what in ("accounts", "regions", "families"):
            included = set(map(str, getattr(self, f"include_{what}")))
            both = sorted(included & set(map(str, getattr(self, f"exclude_{what}"))))
            if both:
                raise PolicyError(
                    f"policy {param(f'include_{what}')} and {param(f'exclude_{what}')} both name "
                    f"{', '.join(map(repr, both))}; remove it from one of them"
                )
        for name in ("coverage_ceiling", "target_coverage", "min_utilization"):
            _check_share(name, getattr(self, name))
        for name in ("max_upfront_usd", "max_hourly_commitment_usd", "custom_commitment_usd"):
            value = getattr(self, name)
            if value is not None and not (_finite(value) and value >= 0):
                raise PolicyError(
                    f"policy {param(name)}={value!r}: give a finite amount >= 0 or none"
                )
        if not (_finite(self.discount_rate) and self.discount_rate >= 0):
            raise PolicyError(
                f"policy {param('discount_rate')}={self.discount_rate!r}: give an annual rate >= 0 "
                "(0.05 for 5 %)"
            )
        if isinstance(self.ladder_tranches, bool) or not isinstance(self.ladder_tranches, int):
            raise PolicyError(
                f"policy {param('ladder_tranches')}={self.ladder_tranches!r}: "
                "give a whole number >= 1"
            )
        if self.ladder_tranches < 1:
            raise PolicyError(
                f"policy {param('ladder_tranches')}={self.ladder_tranches}: "
                "give 1 (buy now only) or more "
                "(monthly tranches)"
            )
        if not (_finite(self.cvar_alpha) and 0.0 <= self.cvar_alpha < 1.0):
            raise PolicyError(
                f"policy {param('cvar_alpha')}={self.cvar_alpha!r}: "
                "give a level in [0, 1), e.g. 0.95"
            )
        if not (_finite(self.cvar_weight) and self.cvar_weight >= 0):
            raise PolicyError(
                f"policy {param('cvar_weight')}={self.cvar_weight!r}: "
                "give a weight >= 0 (0 for no risk term)"
            )
        self._check_mode()

    def _check_mode(self) -> None:
        """Check the mode against its values (part of :meth:`validate`)."""
        try:
            mode = Mode(self.mode)
        except ValueError:
            raise PolicyError(
                f"policy mode={self.mode!r}: unknown mode; use one of "
                f"{', '.join(m.value for m in Mode)}"
            ) from None
        if mode is Mode.TARGET_COVERAGE and self.target_coverage is None:
            raise PolicyError(
                "policy mode target-coverage needs target_coverage; give a share in [0, 1]"
            )
        if mode is not Mode.TARGET_COVERAGE and self.target_coverage is not None:
            raise PolicyError(
                f"policy {param('target_coverage')}={self.target_coverage} is set but mode is "
                f"{mode.value}; "
                "set mode to target-coverage or drop target_coverage"
            )
        if (
            self.target_coverage is not None
            and self.coverage_ceiling is not None
            and self.coverage_ceiling < self.target_coverage
        ):
            raise PolicyError(
                f"policy {param('coverage_ceiling')}={self.coverage_ceiling} is below "
                f"{param('target_coverage')}={self.target_coverage}; "
                "raise the ceiling or lower the target"
            )
        custom = (self.custom_commitment_usd, self.custom_commitment_kind)
        if mode is Mode.CUSTOM_COMMITMENT:
            if None in custom:
                raise PolicyError(
                    "policy mode custom-commitment needs custom_commitment_usd and "
                    f"custom_commitment_kind ({' or '.join(CUSTOM_COMMITMENT_KINDS)}); give both"
                )
            kind = self.custom_commitment_kind
            if kind not in CUSTOM_COMMITMENT_KINDS:
                raise PolicyError(
                    f"policy {param('custom_commitment_kind')}={kind!r}: use "
                    f"{' or '.join(CUSTOM_COMMITMENT_KINDS)}"
                )
            if kind not in self.instruments:
                raise PolicyError(
                    f"policy {param('custom_commitment_kind')}={kind!r} is not among the "
                    f"instruments ({', '.join(self.instruments)}); add it to "
                    f"{param('instruments')}"
                )
        elif custom != (None, None):
            raise PolicyError(
                f"policy custom_commitment_usd / custom_commitment_kind are set but mode is "
                f"{mode.value}; set mode to custom-commitment or drop them"
            )


def _finite(value: object) -> bool:
    """Whether ``value`` is a real number (not bool) and finite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_choices(
    name: str, values: Sequence[object], allowed: Sequence[object], *, empty: bool = False
) -> None:
    """Raise unless ``values`` is a (non-empty unless ``empty``) subset of ``allowed``."""
    shown = ", ".join(map(repr, allowed))
    if isinstance(values, str):
        raise PolicyError(f"policy {param(name)}={values!r}: give a tuple of values among {shown}")
    if not values and not empty:
        raise PolicyError(f"policy {param(name)} is empty; allow at least one of {shown}")
    unknown = [v for v in values if v not in allowed or isinstance(v, bool)]
    if unknown:
        raise PolicyError(
            f"policy {param(name)}: unknown value(s) {', '.join(map(repr, unknown))}; use {shown}"
        )


def _check_share(name: str, value: float | None) -> None:
    """Raise unless ``value`` is ``None`` or a finite share in [0, 1]."""
    if value is not None and not (_finite(value) and 0.0 <= value <= 1.0):
        raise PolicyError(f"policy {param(name)}={value!r}: give a share in [0, 1] (0.8 for 80 %)")


__all__ = ["CUSTOM_COMMITMENT_KINDS", "INSTRUMENTS", "Mode", "Policy", "PolicyError"]
