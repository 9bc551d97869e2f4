"""What the purchases save if a family they are bought for moves or is retired as they start.

The decision (:mod:`planning.future`) weighs a family's move to another family, or its
retirement, at a yearly rate (:mod:`planning.structural`): a move in the first weeks of the term
is a few futures among many, and the expected savings do not show what it would cost. An
unannounced move at the review is the case where any purchase of family-specific cover loses
money (docs/benchmarks.md, "Fresh shapes again, and a migration at the review"). The stress
test names that cost, so that whoever approves the plan sees it beside the expected figure.

For the families the purchases hold the most family-specific cover for (Reserved Instances and
EC2 Instance Savings Plans: :data:`FAMILY_SPECIFIC_KINDS`, ranked by what that cover costs over
the lookback), the lookback is billed twice more, each time with the family's usage, in every
account and region:

- **moved** from the lookback's first hour to the family the futures move it to (the newest of
  its series the catalog prices in the same region, platform and tenancy, normalized units
  kept: :func:`planning.structural.fleets`; a key without such a target stops);
- **retired** from the lookback's first hour.

Each figure is the purchases' savings against the owned commitments alone over the lookback,
as ``savings_vs_current_usd`` is measured: a negative figure is what the purchases would lose.
A Compute Savings Plan follows a moved family; RIs and EC2 Instance Savings Plans do not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from billing.simulator import SimulationResult, simulate
from core.errors import param
from planning.future import with_target_keys
from planning.structural import Fleets, fleets
from pricing.catalog import PriceCatalog
from pricing.instance_types import instance_families
from pricing.inventory import Commitment
from pricing.offerings import CommitmentKind
from usage.table import UsageMatrix

STRESSED_FAMILIES: Final = 3
"""Families stressed: those with the most family-specific cover bought, the largest first (each
costs four bills of the lookback)."""

STRESS_BUDGET_KEY_HOURS: Final = 4_000_000
"""Largest lookback (keys × hours) the default stress test is billed on [key-hours]: 1,000
keys × 166 days. Each family costs four bills of the lookback; on 1,000 keys × 8,760 h the
three families took 4.4 s and 250 MiB more (46.1 -> 50.5 s, 1,257 -> 1,508 MiB at load 1.5,
docs/benchmarks.md), where the default 60-day lookback of the same fleet takes about a sixth
of that. A count given (``--stress``) is billed at any size."""


def stressed_count(requested: int | None, keys: int, hours: int) -> int:
    """Families to stress: ``requested``, or by default :data:`STRESSED_FAMILIES` within
    :data:`STRESS_BUDGET_KEY_HOURS` and none above it."""
    if requested is not None:
        return max(int(requested), 0)
    return STRESSED_FAMILIES if keys * hours <= STRESS_BUDGET_KEY_HOURS else 0


def over_budget_note(keys: int, hours: int) -> str:
    """Why the default stress test was left out, and how to have it."""
    return (
        f"the stress test (a family moved or retired as the purchases start) was not billed: "
        f"{keys:,} keys × {hours:,} hours is above its default budget of "
        f"{STRESS_BUDGET_KEY_HOURS:,} key-hours (four bills of the lookback a family); "
        f"{param('stressed_families')} {STRESSED_FAMILIES} bills it"
    )


FAMILY_SPECIFIC_KINDS: Final = (
    CommitmentKind.RESERVED_INSTANCE,
    CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN,
)
"""Instruments that stay with the family they were bought for when its usage moves."""


@dataclass(frozen=True)
class FamilyStress:
    """The purchases' savings over the lookback if one family moved, or was retired, at its start.

    Attributes
    ----------
    family
        The instance family (every account and region of it).
    family_specific_cost_usd
        What the purchases' RIs and EC2 Instance Savings Plans of the family cost over the
        lookback [USD].
    moved_to
        The families its usage moves to ("" when nothing it runs has a target: it only stops).
    savings_if_moved_usd
        The purchases' savings against the owned commitments alone with the family moved [USD].
    savings_if_retired_usd
        The same with the family retired [USD].
    """

    family: str
    family_specific_cost_usd: float
    moved_to: str
    savings_if_moved_usd: float
    savings_if_retired_usd: float

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> FamilyStress:
        """The stress from :meth:`as_record`'s figures (a stored plan's summary)."""
        return cls(
            family=str(record["family"]),
            family_specific_cost_usd=float(record["family_specific_cost_usd"]),
            moved_to=str(record.get("moved_to") or ""),
            savings_if_moved_usd=float(record["savings_if_moved_usd"]),
            savings_if_retired_usd=float(record["savings_if_retired_usd"]),
        )

    def as_record(self) -> dict[str, Any]:
        """The stress as JSON-ready figures, rounded to the cent."""
        return {
            "family": self.family,
            "family_specific_cost_usd": round(self.family_specific_cost_usd, 2),
            "moved_to": self.moved_to,
            "savings_if_moved_usd": round(self.savings_if_moved_usd, 2),
            "savings_if_retired_usd": round(self.savings_if_retired_usd, 2),
        }


def purchase_family(purchase: Commitment) -> str | None:
    """The family a purchase's cover stays with, ``None`` for one that follows any family."""
    if purchase.kind not in FAMILY_SPECIFIC_KINDS:
        return None
    if purchase.instance_family:
        return purchase.instance_family
    if purchase.instance_type:
        return str(instance_families([purchase.instance_type]).iloc[0])
    return None


def family_specific_cost(purchases: Sequence[Commitment], with_plan: SimulationResult) -> pd.Series:
    """Family -> what the purchases' family-specific cover of it costs over the billed period,
    the largest first [USD]."""
    family_of = {p.id: family for p in purchases if (family := purchase_family(p)) is not None}
    if not family_of:
        return pd.Series(dtype=np.float64)
    instruments = with_plan.instruments
    mine = instruments.loc[instruments["id"].isin(list(family_of))]
    cost = mine.groupby(mine["id"].map(family_of))["cost_usd"].sum()
    return cost.loc[cost > 0].sort_values(ascending=False, kind="stable")


def moved_family(usage: UsageMatrix, fleet: Fleets, family: str) -> tuple[UsageMatrix, str]:
    """``usage`` with every key of ``family`` moved from its first hour to its futures' target
    (``fleet``, from :func:`planning.structural.fleets`: normalized units kept; a key without a
    target stops), and the target families, comma-joined ("" when no key has one)."""
    families = instance_families(usage.keys["instance_type"]).astype(str).to_numpy()
    movers = np.flatnonzero(families == family)
    moves = movers[fleet.key_target[movers] >= 0]
    keys, (columns,), order = with_target_keys(
        usage.keys, (fleet.target_keys, fleet.key_target[moves])
    )
    quantity = np.zeros((len(usage.hours), len(keys)))
    quantity[:, : len(usage.keys)] = usage.quantity
    quantity[:, movers] = 0.0
    moved = usage.quantity[:, moves] * fleet.target_per_source[moves]
    np.add.at(quantity.T, columns, moved.T)
    targets = sorted(set(instance_families(keys["instance_type"].iloc[columns]).astype(str)))
    stressed = UsageMatrix(
        hours=usage.hours,
        keys=keys.iloc[order].reset_index(drop=True),
        quantity=np.ascontiguousarray(quantity[:, order]),
        daily_granular=usage.daily_granular,
    )
    return stressed, ", ".join(targets)


def retired_family(usage: UsageMatrix, family: str) -> UsageMatrix:
    """``usage`` with every key of ``family`` idle from its first hour."""
    families = instance_families(usage.keys["instance_type"]).astype(str).to_numpy()
    quantity = usage.quantity.copy()
    quantity[:, families == family] = 0.0
    return UsageMatrix(
        hours=usage.hours,
        keys=usage.keys,
        quantity=quantity,
        daily_granular=usage.daily_granular,
    )


def _savings(
    usage: UsageMatrix,
    owned: Sequence[Commitment],
    purchases: Sequence[Commitment],
    catalog: PriceCatalog,
    discount_rate: float,
) -> float:
    """The purchases' savings against the owned commitments alone over ``usage`` [USD]."""
    before = simulate(usage, tuple(owned), catalog, discount_rate=discount_rate)
    after = simulate(usage, (*owned, *purchases), catalog, discount_rate=discount_rate)
    return before.totals.actual_cost_usd - after.totals.actual_cost_usd


def family_stress(
    usage: UsageMatrix,
    purchases: Sequence[Commitment],
    owned: Sequence[Commitment],
    catalog: PriceCatalog,
    with_plan: SimulationResult,
    *,
    discount_rate: float = 0.0,
    count: int = STRESSED_FAMILIES,
) -> list[FamilyStress]:
    """The stress test of the ``count`` families with the most family-specific cover bought.

    Parameters
    ----------
    usage
        The lookback the plan is billed over (its hours are the billed period).
    purchases, owned
        The recommendation's purchases, and the commitments owned before them.
    catalog
        Prices, and the families the futures move each family to.
    with_plan
        ``usage`` billed with the owned commitments and the purchases (what each costs).
    discount_rate
        As the plan's bills [1/year].
    count
        How many families, the largest cover first.

    Returns
    -------
    list of FamilyStress
        Empty when the purchases hold no family-specific cover.
    """
    cost = family_specific_cost(purchases, with_plan).head(max(count, 0))
    if cost.empty:
        return []
    fleet = fleets(usage, catalog)
    stresses = []
    for family, family_cost in cost.items():
        moved, targets = moved_family(usage, fleet, str(family))
        stresses.append(
            FamilyStress(
                family=str(family),
                family_specific_cost_usd=float(family_cost),
                moved_to=targets,
                savings_if_moved_usd=_savings(moved, owned, purchases, catalog, discount_rate),
                savings_if_retired_usd=_savings(
                    retired_family(usage, str(family)), owned, purchases, catalog, discount_rate
                ),
            )
        )
    return stresses


def _saves(amount_usd: float) -> str:
    """``save X USD`` or ``lose X USD``."""
    verb = "save" if amount_usd >= 0 else "lose"
    return f"{verb} {abs(amount_usd):,.2f} USD"


def stress_sentence(stress: FamilyStress, period_days: float, savings_usd: float) -> str:
    """One family's stress in words, beside the purchases' ``savings_usd`` as the lookback ran."""
    event = (
        f"moved to {stress.moved_to}"
        if stress.moved_to
        else "stopped (no newer family is priced where they run)"
    )
    return (
        f"If the {stress.family} fleets {event} as the purchases start, the purchases would "
        f"{_saves(stress.savings_if_moved_usd)} over the lookback's {period_days:g} days "
        f"({_saves(stress.savings_if_retired_usd)} if they were retired; as the lookback ran "
        f"they {_saves(savings_usd)}): {stress.family_specific_cost_usd:,.2f} USD of them are "
        f"{stress.family} RIs and EC2 Instance Savings Plans, which stay with the family."
    )


def worst_stress_sentence(summary: Mapping[str, Any]) -> str | None:
    """The stressed family whose move would cost the purchases most, in words, from a
    recommendation's ``summary`` (its ``stress``, ``period_hours`` and
    ``savings_vs_current_usd``); ``None`` when it has no stress figures."""
    records = summary.get("stress") or ()
    stresses = [FamilyStress.from_record(record) for record in records]
    if not stresses:
        return None
    worst = min(stresses, key=lambda item: item.savings_if_moved_usd)
    days = float(summary["period_hours"]) / 24
    return stress_sentence(worst, days, float(summary["savings_vs_current_usd"]))


__all__ = [
    "FAMILY_SPECIFIC_KINDS",
    "STRESSED_FAMILIES",
    "STRESS_BUDGET_KEY_HOURS",
    "FamilyStress",
    "family_specific_cost",
    "family_stress",
    "moved_family",
    "over_budget_note",
    "purchase_family",
    "retired_family",
    "stress_sentence",
    "stressed_count",
    "worst_stress_sentence",
]
