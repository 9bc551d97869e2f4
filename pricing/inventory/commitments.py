"""Owned commitments: the Reserved Instances and Savings Plans a user already holds.

An owned commitment is a purchase item of the portfolio JSON (DESIGN.md, "Recommendation /
portfolio JSON") with an ``id``, a ``start`` and an ``end``: the same format ``recommend`` prints
and ``simulate --portfolio`` reads, so an inventory and a recommendation combine without conversion.
Expirations are first-class: :meth:`Inventory.expiring_within` lists what runs out, soonest first.

Sources: a portfolio JSON file (:func:`read_portfolio_json`), EC2's ``DescribeReservedInstances``
(:func:`fetch_reserved_instances`) and ``savingsplans:DescribeSavingsPlans``
(:func:`fetch_savings_plans`).

Money conventions of an item (as in DESIGN.md's example, where 12 RIs at 0.062 USD/h show an
effective 0.744 USD/h): ``upfront_usd`` is the whole item's upfront payment [USD];
``recurring_hourly_usd`` is per RI for Reserved Instances and per plan for Savings Plans [USD/h];
``effective_hourly_usd`` is the whole item's cost per hour of its term, upfront ÷ term hours +
count × recurring [USD/h] (for a Savings Plan this equals its hourly commitment).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from pricing.atomic import write_text_atomic
from pricing.errors import CommitoptInputError
from pricing.instance_types import normalization_factor, parse_instance_type
from pricing.offerings import (
    SP_UPFRONT_SHARE,
    TENANCIES,
    TERM_HOURS,
    parse_offering_class,
    parse_payment_option,
    parse_term_years,
)
from pricing.platforms import parse_platform
from pricing.readers.aws_api import call_with_backoff, paginate
from pricing.regions import check_region

RESERVED_INSTANCE: Final = "reserved_instance"
COMPUTE_SAVINGS_PLAN: Final = "compute_savings_plan"
EC2_INSTANCE_SAVINGS_PLAN: Final = "ec2_instance_savings_plan"
COMMITMENT_KINDS: Final = (RESERVED_INSTANCE, COMPUTE_SAVINGS_PLAN, EC2_INSTANCE_SAVINGS_PLAN)
SCOPES: Final = ("Region", "Availability Zone")

_SCOPE_ALIASES: Final = {
    "region": "Region",
    "regional": "Region",
    "availability zone": "Availability Zone",
    "availability_zone": "Availability Zone",
    "zone": "Availability Zone",
    "zonal": "Availability Zone",
}
_TENANCY_ALIASES: Final = {
    "shared": "Shared",
    "default": "Shared",
    "dedicated": "Dedicated",
}
_SP_TYPES: Final = {"Compute": COMPUTE_SAVINGS_PLAN, "EC2Instance": EC2_INSTANCE_SAVINGS_PLAN}
_AMOUNT_TOLERANCE: Final = 1e-6


class InventoryError(CommitoptInputError):
    """An owned-commitment file or API answer that cannot be used as given."""


@dataclass(frozen=True, slots=True)
class OwnedCommitment:
    """One Reserved Instance purchase or Savings Plan the user owns.

    Attributes
    ----------
    kind
        ``"reserved_instance"``, ``"compute_savings_plan"`` or ``"ec2_instance_savings_plan"``.
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
    recurring_hourly_usd
        Hourly fee [USD/h], per RI for RIs, per plan for Savings Plans.
    effective_hourly_usd
        Cost of the whole item per hour of its term [USD/h].
    instance_family
        EC2 Instance Savings Plans only, e.g. ``"m5"``.
    hourly_commitment_usd
        Savings Plans only: the commitment [USD/h].
    source
        Where the item was read from.
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
    recurring_hourly_usd: float | None = None
    effective_hourly_usd: float | None = None
    instance_family: str | None = None
    hourly_commitment_usd: float | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if self.kind not in COMMITMENT_KINDS:
            raise InventoryError(
                f"commitment {self.id}: unknown kind {self.kind!r}; "
                f"use {', '.join(COMMITMENT_KINDS)}"
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
        return self.kind != RESERVED_INSTANCE

    def is_active_at(self, moment: datetime) -> bool:
        """Whether the commitment applies at ``moment`` (``start <= moment < end``)."""
        return self.start <= _utc(moment) < self.end

    def to_json_item(self) -> dict[str, Any]:
        """The portfolio JSON purchase item (fields that are ``None`` left out)."""
        item: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            item[field.name] = _iso(value) if isinstance(value, datetime) else value
        return item


FIELD_NAMES: Final = tuple(field.name for field in fields(OwnedCommitment))
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
    "recurring_hourly_usd": "float64",
    "effective_hourly_usd": "float64",
    "instance_family": "string",
    "hourly_commitment_usd": "float64",
    "source": "string",
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

    commitments: tuple[OwnedCommitment, ...]
    as_of: datetime
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "commitments", tuple(self.commitments))
        object.__setattr__(self, "as_of", _utc(self.as_of))
        object.__setattr__(self, "notes", tuple(self.notes))

    def __len__(self) -> int:
        return len(self.commitments)

    def to_frame(self) -> pd.DataFrame:
        """One row per commitment, one column per :class:`OwnedCommitment` field.

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
        moment = self.as_of if now is None else _utc(now)
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
            "effective_hourly_usd": float(
                sum(c.effective_hourly_usd or 0.0 for c in self.commitments)
            ),
            "next_expiry": _iso(min(ends)) if ends else None,
        }
        payload: dict[str, Any] = {
            "as_of": _iso(self.as_of),
            "purchases": [c.to_json_item() for c in self.commitments],
            "summary": summary,
        }
        if self.notes:
            payload["notes"] = list(self.notes)
        text = json.dumps(payload, indent=2) + "\n"
        if path is not None:
            write_text_atomic(path, text)
        return text


# ---------------------------------------------------------------------------------- helpers


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive time is taken as UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(value: object) -> datetime:
    """Parse an ISO 8601 time (``Z`` or an offset; naive means UTC) or a datetime."""
    if isinstance(value, datetime):
        return _utc(value)
    if not isinstance(value, str) or not value.strip():
        raise CommitoptInputError(
            f"expected an ISO 8601 time such as 2025-01-01T00:00:00Z, got {value!r}"
        )
    try:
        return _utc(datetime.fromisoformat(value.strip()))
    except ValueError as error:
        raise CommitoptInputError(
            f"{value!r} is not an ISO 8601 time such as 2025-01-01T00:00:00Z"
        ) from error


def _term_end(start: datetime, term_years: int) -> datetime:
    return start + timedelta(hours=TERM_HOURS[term_years])


def _ri_effective_hourly_usd(
    upfront_usd: float, recurring_hourly_usd: float, count: int, term_years: int
) -> float:
    return upfront_usd / TERM_HOURS[term_years] + count * recurring_hourly_usd


def _number(value: object, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise CommitoptInputError(f"expected a number, got {value!r}")
    try:
        number = float(value)
    except ValueError as error:
        raise CommitoptInputError(f"expected a number, got {value!r}") from error
    if not np.isfinite(number):
        raise CommitoptInputError(f"expected a finite number, got {value!r}")
    if positive and number <= 0:
        raise CommitoptInputError(f"must be greater than 0, got {value!r}")
    if number < 0:
        raise CommitoptInputError(f"must not be negative, got {value!r}")
    return number


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise CommitoptInputError(f"expected a whole number, got {value!r}")
    try:
        number = float(value)
    except ValueError as error:
        raise CommitoptInputError(f"expected a whole number, got {value!r}") from error
    if not np.isfinite(number) or number <= 0 or number != int(number):
        raise CommitoptInputError(f"must be a whole number greater than 0, got {value!r}")
    return int(number)


def _tenancy(value: object) -> str:
    found = _TENANCY_ALIASES.get(str(value).strip().lower())
    if found is None:
        raise CommitoptInputError(f"unknown tenancy {value!r}; use {' or '.join(TENANCIES)}")
    return found


def _scope(value: object) -> str:
    found = _SCOPE_ALIASES.get(str(value).strip().lower())
    if found is None:
        raise CommitoptInputError(f"unknown scope {value!r}; use {' or '.join(SCOPES)}")
    return found


def _instance_family(value: object) -> str:
    family = str(value).strip()
    if not family or "." in family or parse_instance_type(f"{family}.large").family != family:
        raise CommitoptInputError(f"{value!r} is not an instance family such as 'm5'")
    return family


def _region_of_zone(zone: str) -> str:
    return re.sub(r"[a-z]$", "", zone.strip())


# ---------------------------------------------------------------------------------- JSON


class _Item:
    """Reads the fields of one purchase item, naming the item and field in every error."""

    def __init__(self, where: str, index: int, raw: Mapping[str, Any]) -> None:
        self.where = where
        self.index = index
        self.raw = raw

    def fail(self, field: str, problem: str) -> InventoryError:
        return InventoryError(f"{self.where}: purchases[{self.index}].{field}: {problem}")

    def has(self, field: str) -> bool:
        return self.raw.get(field) not in (None, "")

    def get(self, field: str, parser: Callable[[Any], Any], default: Any = None) -> Any:
        """Parse ``field`` with ``parser``; a missing field is ``default`` or an error if None."""
        if not self.has(field):
            if default is None:
                raise self.fail(field, "missing; this field is required for this kind")
            return default
        try:
            return parser(self.raw[field])
        except CommitoptInputError as error:
            raise self.fail(field, str(error)) from error


def _commitment_from_item(item: _Item, source: str) -> OwnedCommitment:
    kind = item.get("kind", lambda v: str(v).strip().lower())
    if kind not in COMMITMENT_KINDS:
        raise item.fail(
            "kind", f"unknown kind {item.raw['kind']!r}; use {', '.join(COMMITMENT_KINDS)}"
        )
    term_years = item.get("term_years", parse_term_years)
    start = item.get("start", _parse_time)
    end = item.get("end", _parse_time, _term_end(start, term_years))
    if end <= start:
        raise item.fail("end", f"{_iso(end)} is not after start {_iso(start)}")
    common: dict[str, Any] = {
        "kind": kind,
        "id": item.get("id", lambda v: str(v).strip(), f"item-{item.index}"),
        "start": start,
        "end": end,
        "term_years": term_years,
        "payment_option": item.get("payment_option", parse_payment_option),
        "source": item.get("source", str, source),
    }
    if kind == RESERVED_INSTANCE:
        return _reserved_instance(item, common)
    commitment = item.get("hourly_commitment_usd", lambda v: _number(v, positive=True))
    share = SP_UPFRONT_SHARE[common["payment_option"]]
    hours = TERM_HOURS[term_years]
    upfront = item.get("upfront_usd", _number, share * commitment * hours)
    recurring = item.get("recurring_hourly_usd", _number, (1.0 - share) * commitment)
    effective = item.get("effective_hourly_usd", _number, upfront / hours + recurring)
    sp: dict[str, Any] = {
        "hourly_commitment_usd": commitment,
        "upfront_usd": upfront,
        "recurring_hourly_usd": recurring,
        "effective_hourly_usd": effective,
    }
    if kind == EC2_INSTANCE_SAVINGS_PLAN:
        sp["region"] = item.get("region", check_region)
        sp["instance_family"] = item.get("instance_family", _instance_family)
    return OwnedCommitment(**common, **sp)


def _reserved_instance(item: _Item, common: dict[str, Any]) -> OwnedCommitment:
    region = item.get("region", check_region)
    instance_type = item.get("instance_type", lambda v: parse_instance_type(str(v).strip()).name)
    factor = item.get("instance_type", lambda v: normalization_factor(str(v).strip()))
    count = item.get("count", _count)
    scope = item.get("scope", _scope, "Region")
    zone = item.get("availability_zone", lambda v: str(v).strip(), "")
    if scope == "Availability Zone" and not zone:
        raise item.fail(
            "availability_zone", "missing; a zonal RI (scope 'Availability Zone') needs it"
        )
    if zone and _region_of_zone(zone) != region:
        raise item.fail("availability_zone", f"{zone!r} is not in region {region}")
    normalized_units = item.get("normalized_units", _number, count * factor)
    if abs(normalized_units - count * factor) > _AMOUNT_TOLERANCE * max(1.0, count * factor):
        raise item.fail(
            "normalized_units",
            f"{normalized_units:g} is not count × normalization factor = {count} × {factor:g} "
            f"= {count * factor:g}; fix it or leave it out",
        )
    upfront = item.get("upfront_usd", _number)
    recurring = item.get("recurring_hourly_usd", _number)
    effective = item.get(
        "effective_hourly_usd",
        _number,
        _ri_effective_hourly_usd(upfront, recurring, count, common["term_years"]),
    )
    return OwnedCommitment(
        **common,
        region=region,
        instance_type=instance_type,
        platform=item.get("platform", parse_platform),
        tenancy=item.get("tenancy", _tenancy, "Shared"),
        scope=scope,
        availability_zone=zone or None,
        offering_class=item.get("offering_class", parse_offering_class, "standard"),
        count=count,
        normalized_units=normalized_units,
        upfront_usd=upfront,
        recurring_hourly_usd=recurring,
        effective_hourly_usd=effective,
    )


def read_portfolio_json(path: str | Path) -> Inventory:
    """Read owned commitments from a portfolio JSON file.

    Parameters
    ----------
    path
        ``{"purchases": [...], "summary": {...}}`` (what ``recommend --format json`` and
        :meth:`Inventory.to_portfolio_json` write) or a bare list of purchase items. Each item
        needs ``kind``, ``start`` (ISO 8601; naive times are UTC), ``term_years`` and
        ``payment_option``; ``end`` defaults to start + term (8,760 or 26,280 h). RIs need
        ``region``, ``instance_type``, ``platform``, ``count``, ``upfront_usd`` (whole item) and
        ``recurring_hourly_usd`` (per RI); ``tenancy`` defaults to Shared, ``scope`` to Region,
        ``offering_class`` to standard, ``normalized_units`` to count × normalization factor.
        Savings Plans need ``hourly_commitment_usd``; ``upfront_usd`` and
        ``recurring_hourly_usd`` default to the payment option's split (0 / 50 / 100 % upfront).
        EC2 Instance Savings Plans also need ``region`` and ``instance_family``.

    Returns
    -------
    Inventory
        ``as_of`` is the file's top-level ``as_of`` when present, else now.

    Raises
    ------
    InventoryError
        One line naming the file, the item index and the field: missing file or field, bad
        JSON, unknown kind / platform / payment option / term / instance type / region,
        count ≤ 0, commitment ≤ 0, end not after start, inconsistent normalized units.
    """
    file = Path(path)
    where = str(file)
    try:
        payload = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise InventoryError(f"{where}: no such file; check the path") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InventoryError(f"{where}: cannot be read ({error})") from error
    except json.JSONDecodeError as error:
        raise InventoryError(
            f"{where}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from error
    as_of = datetime.now(UTC)
    if isinstance(payload, dict):
        if "purchases" not in payload:
            raise InventoryError(
                f'{where}: no "purchases" list; write {{"purchases": [...]}} '
                "or a bare list of items"
            )
        if payload.get("as_of"):
            try:
                as_of = _parse_time(payload["as_of"])
            except CommitoptInputError as error:
                raise InventoryError(f"{where}: as_of: {error}") from error
        items = payload["purchases"]
    else:
        items = payload
    if not isinstance(items, list):
        raise InventoryError(
            f"{where}: purchases must be a list of items, not {type(items).__name__}"
        )
    source = f"portfolio {file.name}"
    commitments = []
    for index, raw in enumerate(items):
        if not isinstance(raw, dict):
            raise InventoryError(
                f"{where}: purchases[{index}] is {type(raw).__name__}, not an object"
            )
        commitments.append(_commitment_from_item(_Item(where, index, raw), source))
    return Inventory(tuple(commitments), as_of)


# ---------------------------------------------------------------------------------- AWS APIs


def _hourly_recurring(reservation: Mapping[str, Any]) -> float:
    charges = reservation.get("RecurringCharges") or []
    hourly = sum(
        float(charge.get("Amount", 0.0))
        for charge in charges
        if str(charge.get("Frequency", "Hourly")) == "Hourly"
    )
    return hourly + float(reservation.get("UsagePrice") or 0.0)


def _reserved_instance_from_api(
    reservation: Mapping[str, Any], client_region: str | None, now: datetime
) -> OwnedCommitment:
    ri_id = str(reservation.get("ReservedInstancesId", "?"))
    try:
        currency = str(reservation.get("CurrencyCode") or "USD")
        if currency != "USD":
            raise CommitoptInputError(f"priced in {currency}; commitopt works in USD only")
        zone = str(reservation.get("AvailabilityZone") or "")
        region = _region_of_zone(zone) if zone else client_region
        if not region:
            raise CommitoptInputError("no region: the client has none and the RI has no zone")
        check_region(region)
        instance_type = str(reservation["InstanceType"])
        count = _count(reservation["InstanceCount"])
        term_years = parse_term_years(reservation["Duration"])
        start = _utc(reservation["Start"])
        end = _utc(reservation["End"]) if reservation.get("End") else _term_end(start, term_years)
        upfront = float(reservation.get("FixedPrice") or 0.0) * count
        recurring = _hourly_recurring(reservation)
        return OwnedCommitment(
            kind=RESERVED_INSTANCE,
            id=ri_id,
            start=start,
            end=end,
            term_years=term_years,
            payment_option=parse_payment_option(str(reservation["OfferingType"])),
            upfront_usd=upfront,
            region=region,
            instance_type=instance_type,
            platform=parse_platform(str(reservation["ProductDescription"])),
            tenancy=_tenancy(reservation.get("InstanceTenancy", "default")),
            scope=_scope(reservation.get("Scope") or ("Availability Zone" if zone else "Region")),
            availability_zone=zone or None,
            offering_class=parse_offering_class(str(reservation.get("OfferingClass", "standard"))),
            count=count,
            normalized_units=count * normalization_factor(instance_type),
            recurring_hourly_usd=recurring,
            effective_hourly_usd=_ri_effective_hourly_usd(upfront, recurring, count, term_years),
            source=f"ec2:DescribeReservedInstances {region} {_iso(now)}",
        )
    except KeyError as error:
        raise InventoryError(
            f"ec2:DescribeReservedInstances: reserved instance {ri_id} lacks {error.args[0]}"
        ) from error
    except CommitoptInputError as error:
        raise InventoryError(
            f"ec2:DescribeReservedInstances: reserved instance {ri_id}: {error}"
        ) from error


def fetch_reserved_instances(
    ec2_client: Any,
    *,
    states: Sequence[str] = ("active",),
    sleep: Callable[[float], None] = time.sleep,
) -> Inventory:
    """Read the account's Reserved Instances with ``ec2:DescribeReservedInstances``.

    Parameters
    ----------
    ec2_client
        A boto3 EC2 client; its region is the region of regional RIs.
    states
        RI states to list (``active``, ``payment-pending``, ``retired``, ...).
    sleep
        Backoff sleep, injected for tests.

    Returns
    -------
    Inventory
        One item per reservation (``count`` RIs each), ``as_of`` now.

    Raises
    ------
    AwsAccessError
        Credentials missing, permission denied, or still throttled after retries.
    InventoryError
        A reservation that cannot be read (unknown platform, term, currency other than USD).
    """
    now = datetime.now(UTC)
    response = call_with_backoff(
        ec2_client.describe_reserved_instances,
        permission="ec2:DescribeReservedInstances",
        sleep=sleep,
        Filters=[{"Name": "state", "Values": list(states)}],
    )
    client_region = getattr(getattr(ec2_client, "meta", None), "region_name", None)
    commitments = tuple(
        _reserved_instance_from_api(reservation, client_region, now)
        for reservation in response.get("ReservedInstances", [])
    )
    return Inventory(commitments, now)


def _savings_plan_from_api(plan: Mapping[str, Any], now: datetime) -> OwnedCommitment:
    plan_id = str(plan.get("savingsPlanId", "?"))
    try:
        currency = str(plan.get("currency") or "USD")
        if currency != "USD":
            raise CommitoptInputError(f"priced in {currency}; commitopt works in USD only")
        kind = _SP_TYPES[str(plan["savingsPlanType"])]
        term_years = parse_term_years(plan["termDurationInSeconds"])
        start = _parse_time(plan["start"])
        end = _parse_time(plan["end"]) if plan.get("end") else _term_end(start, term_years)
        commitment = _number(plan["commitment"], positive=True)
        upfront = _number(plan.get("upfrontPaymentAmount") or 0.0)
        recurring = _number(plan.get("recurringPaymentAmount") or 0.0)
        ec2 = kind == EC2_INSTANCE_SAVINGS_PLAN
        return OwnedCommitment(
            kind=kind,
            id=plan_id,
            start=start,
            end=end,
            term_years=term_years,
            payment_option=parse_payment_option(str(plan["paymentOption"])),
            upfront_usd=upfront,
            region=check_region(str(plan["region"])) if ec2 else None,
            instance_family=_instance_family(plan["ec2InstanceFamily"]) if ec2 else None,
            recurring_hourly_usd=recurring,
            effective_hourly_usd=upfront / TERM_HOURS[term_years] + recurring,
            hourly_commitment_usd=commitment,
            source=f"savingsplans:DescribeSavingsPlans {_iso(now)}",
        )
    except KeyError as error:
        raise InventoryError(
            f"savingsplans:DescribeSavingsPlans: savings plan {plan_id} lacks {error.args[0]}"
        ) from error
    except CommitoptInputError as error:
        raise InventoryError(
            f"savingsplans:DescribeSavingsPlans: savings plan {plan_id}: {error}"
        ) from error


def fetch_savings_plans(
    savingsplans_client: Any,
    *,
    states: Sequence[str] = ("active",),
    sleep: Callable[[float], None] = time.sleep,
) -> Inventory:
    """Read the account's Savings Plans with ``savingsplans:DescribeSavingsPlans`` (all pages).

    Parameters
    ----------
    savingsplans_client
        A boto3 ``savingsplans`` client.
    states
        Plan states to list (``active``, ``queued``, ``retired``, ...).
    sleep
        Backoff sleep, injected for tests.

    Returns
    -------
    Inventory
        Compute and EC2 Instance Savings Plans; other types (SageMaker, ...) are left out and
        named in ``notes``.

    Raises
    ------
    AwsAccessError
        Credentials missing, permission denied, or still throttled after retries.
    InventoryError
        A plan that cannot be read.
    """
    now = datetime.now(UTC)
    pages = paginate(
        savingsplans_client.describe_savings_plans,
        permission="savingsplans:DescribeSavingsPlans",
        token_in="nextToken",
        token_out="nextToken",
        sleep=sleep,
        states=list(states),
    )
    plans: list[Mapping[str, Any]] = [
        plan for page in pages for plan in page.get("savingsPlans", [])
    ]
    modelled = [plan for plan in plans if str(plan.get("savingsPlanType")) in _SP_TYPES]
    skipped = _skipped_types(plan for plan in plans if plan not in modelled)
    notes = (
        (f"left out {skipped}: commitopt models Compute and EC2 Instance Savings Plans",)
        if skipped
        else ()
    )
    return Inventory(tuple(_savings_plan_from_api(plan, now) for plan in modelled), now, notes)


def _skipped_types(plans: Iterable[Mapping[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for plan in plans:
        name = str(plan.get("savingsPlanType"))
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{count} {name} Savings Plan(s)" for name, count in sorted(counts.items()))


__all__ = [
    "COMMITMENT_KINDS",
    "Inventory",
    "InventoryError",
    "OwnedCommitment",
    "fetch_reserved_instances",
    "fetch_savings_plans",
    "read_portfolio_json",
]
