"""The commitment model: :class:`Commitment` (one RI or Savings Plan, owned or proposed) and
:class:`Inventory` (what is owned).

Money conventions of an item (12 RIs at 0.062 USD/h show an effective 0.744 USD/h; see
docs/portfolio-format.md): ``upfront_usd`` is the whole item's upfront payment [USD];
``recurring_usd_per_hour`` is per RI for Reserved Instances and per plan for Savings Plans [USD/h];
``effective_usd_per_hour`` is the whole item's cost per hour of its term, upfront ÷ term hours +
count × recurring [USD/h] (for a Savings Plan this equals its hourly commitment).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from core.errors import CommitoptInputError
from core.times import utc_datetime
from pricing.atomic import write_text_atomic
from pricing.inventory.values import SCOPES, iso
from pricing.offerings import CommitmentKind, floor_to_sp_step, floor_to_whole_ris
from pricing.services import EC2, service_of


class InventoryError(CommitoptInputError):
    """An owned-commitment file or API answer that cannot be used as given."""


@dataclass(frozen=True, slots=True)
class Commitment:
    """One Reserved Instance purchase or Savings Plan, owned or proposed.

    The same type serves what the user owns (read from files, AWS or a bill) and what a
    recommendation or a policy proposes to buy; :meth:`scaled` is the one rule for buying a
    share of it.

    Attributes
    ----------
    kind
        A :class:`~pricing.offerings.CommitmentKind` (its portfolio-JSON spelling).
    id
        AWS's id (``ReservedInstancesId``, ``savingsPlanId``) or the file's.
    start, end
        The term, timezone-aware UTC; the commitment applies for ``start <= t < end``.
    term_years
        1 or 3.
    payment_option
        ``"No Upfront"``, ``"Partial Upfront"`` or ``"All Upfront"``.
    upfront_usd
        Upfront payment of the whole item [USD].
    region
        RIs and EC2 Instance Savings Plans; ``None`` for Compute Savings Plans.
    instance_type, platform, tenancy, scope, availability_zone, offering_class
        RIs only. ``scope`` is ``"Region"`` or ``"Availability Zone"``.
    count
        RIs only: number of instances reserved.
    normalized_units
        RIs only: count × normalization factor.
    recurring_usd_per_hour
        Hourly fee [USD/h], per RI for RIs, per plan for Savings Plans.
    effective_usd_per_hour
        Cost of the whole item per hour of its term [USD/h].
    instance_family
        EC2 Instance Savings Plans only, e.g. ``"m5"``.
    commitment_usd_per_hour
        Savings Plans only: the commitment [USD/h].
    source
        Where the item was read from.
    account_id
        AWS account that owns the item (AWS applies it to that account's usage first);
        ``None`` when unknown.
    """

    kind: str
    id: str
    start: datetime
    end: datetime
    term_years: int
    payment_option: str
    upfront_usd: float
    region: str | None = None
    instance_type: str | None = None
    platform: str | None = None
    tenancy: str | None = None
    scope: str | None = None
    availability_zone: str | None = None
    offering_class: str | None = None
    count: int | None = None
    normalized_units: float | None = None
    recurring_usd_per_hour: float | None = None
    effective_usd_per_hour: float | None = None
    instance_family: str | None = None
    commitment_usd_per_hour: float | None = None
    source: str = ""
    account_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in tuple(CommitmentKind):
            raise InventoryError(
                f"commitment {self.id}: unknown kind {self.kind!r}; use {', '.join(CommitmentKind)}"
            )
        for name in ("start", "end"):
            value: datetime = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise InventoryError(
                    f"commitment {self.id}: {name} {value.isoformat()} has no time zone; "
                    "give UTC times"
                )
            object.__setattr__(self, name, value.astimezone(UTC))
        if self.end <= self.start:
            raise InventoryError(
                f"commitment {self.id}: end {self.end.isoformat()} is not after start "
                f"{self.start.isoformat()}"
            )

    @property
    def is_savings_plan(self) -> bool:
        """Whether this is a Savings Plan (Compute or EC2 Instance)."""
        return self.kind != CommitmentKind.RESERVED_INSTANCE

    def is_active_at(self, moment: datetime) -> bool:
        """Whether the commitment applies at ``moment`` (``start <= moment < end``)."""
        return self.start <= utc_datetime(moment) < self.end

    def scaled(self, factor: float) -> Commitment | None:
        """This purchase bought ``factor`` times over, rounded down to what AWS sells.

        - a Reserved Instance: ``count × factor`` rounded **down** to whole RIs; its normalized
          units, upfront and effective cost in proportion to the RIs left (the recurring fee is
          per RI and stays);
        - a Savings Plan: ``commitment × factor`` rounded **down** to AWS's step of
          :data:`pricing.offerings.SP_STEP_USD` (0.001 USD/h); its upfront, recurring fee and
          effective cost in proportion to the commitment left.

        Rounding down never buys more than the share asked for. The billing kernel's
        :meth:`billing.portfolio.Instrument.scaled` is the same rule without the rounding.

        Parameters
        ----------
        factor
            Share of the purchase to buy [1], at least 0.

        Returns
        -------
        Commitment or None
            The scaled purchase (this object at factor 1), or ``None`` when the rounding leaves
            nothing to buy.
        """
        if factor == 1.0:
            return self
        if self.is_savings_plan:
            commitment = float(floor_to_sp_step((self.commitment_usd_per_hour or 0.0) * factor))
            if commitment <= 0:
                return None
            share = commitment / (self.commitment_usd_per_hour or commitment)
            return replace(
                self,
                commitment_usd_per_hour=commitment,
                upfront_usd=self.upfront_usd * share,
                recurring_usd_per_hour=_times(self.recurring_usd_per_hour, share),
                effective_usd_per_hour=_times(self.effective_usd_per_hour, share),
            )
        count = int(floor_to_whole_ris((self.count or 0) * factor))
        if count <= 0:
            return None
        share = count / (self.count or count)
        return replace(
            self,
            count=count,
            normalized_units=_times(self.normalized_units, share),
            upfront_usd=self.upfront_usd * share,
            effective_usd_per_hour=_times(self.effective_usd_per_hour, share),
        )

    def to_json_item(self) -> dict[str, Any]:
        """The portfolio JSON purchase item (fields that are ``None`` left out; a database
        reservation also names its ``service``, ``AmazonRDS`` or ``AmazonElastiCache``)."""
        item: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            item[field.name] = iso(value) if isinstance(value, datetime) else value
        service = service_of(self.instance_type, self.platform) if self.instance_type else EC2
        if service != EC2:
            # which API buys it (RDS, ElastiCache, ...); EC2 items stay as they always were
            item["service"] = service
        return item


def _times(value: float | None, share: float) -> float | None:
    return None if value is None else value * share


FIELD_NAMES: Final = tuple(field.name for field in fields(Commitment))
_FRAME_DTYPES: Final[dict[str, str]] = {
    "kind": "string",
    "id": "string",
    "term_years": "Int64",
    "payment_option": "string",
    "upfront_usd": "float64",
    "region": "string",
    "instance_type": "string",
    "platform": "string",
    "tenancy": "string",
    "scope": "string",
    "availability_zone": "string",
    "offering_class": "string",
    "count": "Int64",
    "normalized_units": "float64",
    "recurring_usd_per_hour": "float64",
    "effective_usd_per_hour": "float64",
    "instance_family": "string",
    "commitment_usd_per_hour": "float64",
    "source": "string",
    "account_id": "string",
}


@dataclass(frozen=True)
class Inventory:
    """The commitments a user owns, as of one moment.

    Attributes
    ----------
    commitments
        The owned items, in the order read.
    as_of
        When the inventory was taken (timezone-aware UTC).
    notes
        What was skipped while reading (e.g. SageMaker Savings Plans), empty when nothing was.
    """

    commitments: tuple[Commitment, ...]
    as_of: datetime
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "commitments", tuple(self.commitments))
        object.__setattr__(self, "as_of", utc_datetime(self.as_of))
        object.__setattr__(self, "notes", tuple(self.notes))

    def __len__(self) -> int:
        return len(self.commitments)

    def to_frame(self) -> pd.DataFrame:
        """One row per commitment, one column per :class:`Commitment` field.

        ``start`` and ``end`` are ``datetime64[ns, UTC]``; missing values are ``<NA>`` / NaN.
        """
        records = {
            name: [getattr(commitment, name) for commitment in self.commitments]
            for name in FIELD_NAMES
        }
        frame = pd.DataFrame(records, columns=list(FIELD_NAMES))
        for name in ("start", "end"):
            frame[name] = pd.to_datetime(frame[name], utc=True).astype("datetime64[ns, UTC]")
        return frame.astype(_FRAME_DTYPES)

    def active_at(self, moment: datetime) -> Inventory:
        """The commitments that apply at ``moment`` (``start <= moment < end``)."""
        return replace(
            self, commitments=tuple(c for c in self.commitments if c.is_active_at(moment))
        )

    def expiring_within(self, days: float, now: datetime | None = None) -> Inventory:
        """The commitments active at ``now`` that end within ``days`` of it, soonest first.

        Parameters
        ----------
        days
            Horizon [days], ≥ 0.
        now
            Reference time; defaults to :attr:`as_of`.
        """
        if not np.isfinite(days) or days < 0:
            raise InventoryError(f"expiring_within needs a horizon of 0 days or more, not {days}")
        moment = self.as_of if now is None else utc_datetime(now)
        horizon = moment + timedelta(days=float(days))
        expiring = [c for c in self.commitments if c.is_active_at(moment) and c.end <= horizon]
        return replace(self, commitments=tuple(sorted(expiring, key=lambda c: (c.end, c.id))))

    def to_portfolio_json(self, path: str | Path | None = None) -> str:
        """Serialise as portfolio JSON; write it atomically to ``path`` when given.

        The payload is ``{"as_of": ..., "purchases": [...], "summary": {...}}``; the summary
        holds inventory totals (counts, upfront and effective hourly cost, next expiry).
        """
        ends = [c.end for c in self.commitments]
        summary: dict[str, Any] = {
            "commitments": len(self.commitments),
            "reserved_instances": sum(c.count or 0 for c in self.commitments),
            "savings_plans": sum(1 for c in self.commitments if c.is_savings_plan),
            "upfront_usd": float(sum(c.upfront_usd for c in self.commitments)),
            "effective_usd_per_hour": float(
                sum(c.effective_usd_per_hour or 0.0 for c in self.commitments)
            ),
            "next_expiry": iso(min(ends)) if ends else None,
        }
        payload: dict[str, Any] = {
            "as_of": iso(self.as_of),
            "purchases": [c.to_json_item() for c in self.commitments],
            "summary": summary,
        }
        if self.notes:
            payload["notes"] = list(self.notes)
        text = json.dumps(payload, indent=2) + "\n"
        if path is not None:
            write_text_atomic(path, text)
        return text


__all__ = [
    "FIELD_NAMES",
    "SCOPES",
    "Commitment",
    "Inventory",
    "InventoryError",
]
