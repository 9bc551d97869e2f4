"""Owned commitments from a portfolio JSON file (``docs/portfolio-format.md``).

The file is what ``recommend --format json`` and :meth:`Inventory.to_portfolio_json` write, or a
bare list of purchase items; every error names the file, the item index and the field. Files
written before the field names took their unit suffixes (``effective_hourly_usd`` and the like,
see :data:`FORMER_FIELD_NAMES`) are read as well.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from core.errors import CommitoptInputError
from core.times import utc_datetime
from pricing.databases import MEMORYDB, RDS
from pricing.instance_types import normalization_factor, parse_instance_type
from pricing.inventory.commitments import Commitment, Inventory, InventoryError
from pricing.inventory.databases import database_units, parse_database_platform, parse_deployment
from pricing.inventory.values import (
    iso,
    parse_count,
    parse_instance_family,
    parse_number,
    parse_scope,
    parse_tenancy,
    parse_time,
    region_of_zone,
    ri_effective_hourly_usd,
    term_end,
)
from pricing.offerings import (
    SP_UPFRONT_SHARE,
    TERM_HOURS,
    CommitmentKind,
    parse_offering_class,
    parse_payment_option,
    parse_term_years,
)
from pricing.platforms import parse_platform
from pricing.regions import check_region
from pricing.services import EC2, service_of

_AMOUNT_TOLERANCE: Final = 1e-6

FORMER_FIELD_NAMES: Final[Mapping[str, str]] = {
    "effective_hourly_usd": "effective_usd_per_hour",
    "recurring_hourly_usd": "recurring_usd_per_hour",
    "hourly_commitment_usd": "commitment_usd_per_hour",
    "marginal_saving_usd_per_unit": "marginal_savings_usd_per_unit",
}
"""Purchase-item field names of commitopt 0.1, read as their current names."""

FORMER_SHARE_FIELDS: Final[Mapping[str, str]] = {
    "expected_utilization": "expected_utilization_pct",
    "break_even_utilization": "break_even_utilization_pct",
}
"""Explanation fields of commitopt 0.1 given as shares of 1, read as percentages."""


def current_field_names(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A purchase item with the field names of ``docs/portfolio-format.md``: former names
    (:data:`FORMER_FIELD_NAMES`, :data:`FORMER_SHARE_FIELDS`) renamed, shares of 1 turned
    into percentages; a current name given as well wins."""
    item: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key)
        if name in FORMER_SHARE_FIELDS:
            number = (
                value if isinstance(value, int | float) and not isinstance(value, bool) else None
            )
            item.setdefault(FORMER_SHARE_FIELDS[name], None if number is None else 100.0 * number)
        else:
            item.setdefault(FORMER_FIELD_NAMES.get(name, name), value)
    item.update(
        {
            str(key): value
            for key, value in raw.items()
            if key not in FORMER_FIELD_NAMES and key not in FORMER_SHARE_FIELDS
        }
    )
    return item


class _Item:
    """Reads the fields of one purchase item, naming the item and field in every error."""

    def __init__(self, where: str, index: int, raw: Mapping[str, Any]) -> None:
        self.where = where
        self.index = index
        self.raw = current_field_names(raw)

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


def _commitment_from_item(
    item: _Item, source: str, default_start: datetime | None = None
) -> Commitment:
    kind = item.get("kind", lambda v: str(v).strip().lower())
    if kind not in tuple(CommitmentKind):
        raise item.fail(
            "kind", f"unknown kind {item.raw['kind']!r}; use {', '.join(CommitmentKind)}"
        )
    term_years = item.get("term_years", parse_term_years)
    start = item.get("start", parse_time, utc_datetime(default_start) if default_start else None)
    end = item.get("end", parse_time, term_end(start, term_years))
    if end <= start:
        raise item.fail(
            "end",
            f"{iso(end)} is not after start {iso(start)}; give a later end, or leave it out "
            "for start + term",
        )
    common: dict[str, Any] = {
        "kind": kind,
        "id": item.get("id", lambda v: str(v).strip(), f"item-{item.index}"),
        "start": start,
        "end": end,
        "term_years": term_years,
        "payment_option": item.get("payment_option", parse_payment_option),
        "source": item.get("source", str, source),
        "account_id": _account_id(item),
    }
    if kind == CommitmentKind.RESERVED_INSTANCE:
        return _reserved_instance(item, common)
    commitment = item.get("commitment_usd_per_hour", lambda v: parse_number(v, positive=True))
    share = SP_UPFRONT_SHARE[common["payment_option"]]
    hours = TERM_HOURS[term_years]
    upfront = item.get("upfront_usd", parse_number, share * commitment * hours)
    recurring = item.get("recurring_usd_per_hour", parse_number, (1.0 - share) * commitment)
    effective = item.get("effective_usd_per_hour", parse_number, upfront / hours + recurring)
    sp: dict[str, Any] = {
        "commitment_usd_per_hour": commitment,
        "upfront_usd": upfront,
        "recurring_usd_per_hour": recurring,
        "effective_usd_per_hour": effective,
    }
    if kind == CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN:
        sp["region"] = item.get("region", check_region)
        sp["instance_family"] = item.get("instance_family", parse_instance_family)
    return Commitment(**common, **sp)


def _account_id(item: _Item) -> str | None:
    """The optional owner account: a string of digits (a JSON number is zero-padded to 12)."""
    if not item.has("account_id"):
        return None
    value = item.raw["account_id"]
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value).zfill(12)
    text = str(value).strip()
    if not isinstance(value, str) or not text.isdigit():
        raise item.fail("account_id", f"{value!r} is not an AWS account id; give its 12 digits")
    return text


def _database_key(item: _Item, instance_type: str) -> tuple[str, str, float] | None:
    """Platform, tenancy and normalized units per reservation of a database line (RDS,
    ElastiCache, OpenSearch, Redshift from the type's name; MemoryDB from its platform,
    ``memorydb``); ``None`` for an EC2 line.

    A database line's ``platform`` is the reservation's product description (``aurora-mysql``,
    ``redis``), its ``tenancy`` the deployment (``Single-AZ``, ``Multi-AZ``; ``Node``), its scope
    ``Region`` and its class ``standard``; an optional ``service`` must agree with the class.
    """
    platform_text = str(item.raw["platform"]).strip().lower() if item.has("platform") else None
    declared = str(item.raw["service"]).strip() if item.has("service") else None
    service = service_of(instance_type)  # by name: MemoryDB's db. types read as RDS
    if service == RDS and MEMORYDB in (declared, service_of(instance_type, platform_text)):
        service = MEMORYDB  # told by its service or its platform, memorydb
    if service == EC2 and declared in (None, EC2):
        return None
    if declared is not None and declared != service:
        raise item.fail("service", f"{item.raw['service']!r}, but {instance_type} is {service}")
    platform = item.get("platform", lambda v: parse_database_platform(v, service))
    tenancy = item.get("tenancy", lambda v: parse_deployment(v, service))
    if item.get("scope", parse_scope, "Region") != "Region":
        raise item.fail("scope", f"{service} reservations are regional; use Region")
    if item.get("offering_class", parse_offering_class, "standard") != "standard":
        raise item.fail("offering_class", f"{service} sells no convertible reservations")
    return platform, tenancy, database_units(instance_type, tenancy)


def _reserved_instance(item: _Item, common: dict[str, Any]) -> Commitment:
    region = item.get("region", check_region)
    instance_type = item.get("instance_type", lambda v: parse_instance_type(str(v).strip()).name)
    database = _database_key(item, instance_type)
    factor = (
        database[2]
        if database
        else item.get("instance_type", lambda v: normalization_factor(str(v).strip()))
    )
    count = item.get("count", parse_count)
    scope = item.get("scope", parse_scope, "Region")
    zone = item.get("availability_zone", lambda v: str(v).strip(), "")
    if scope == "Availability Zone" and not zone:
        raise item.fail(
            "availability_zone", "missing; a zonal RI (scope 'Availability Zone') needs it"
        )
    if zone and region_of_zone(zone) != region:
        raise item.fail("availability_zone", f"{zone!r} is not in region {region}")
    normalized_units = item.get("normalized_units", parse_number, count * factor)
    if abs(normalized_units - count * factor) > _AMOUNT_TOLERANCE * max(1.0, count * factor):
        raise item.fail(
            "normalized_units",
            f"{normalized_units:g} is not count × normalization factor = {count} × {factor:g} "
            f"= {count * factor:g}; fix it or leave it out",
        )
    upfront = item.get("upfront_usd", parse_number)
    recurring = item.get("recurring_usd_per_hour", parse_number)
    effective = item.get(
        "effective_usd_per_hour",
        parse_number,
        ri_effective_hourly_usd(upfront, recurring, count, common["term_years"]),
    )
    return Commitment(
        **common,
        region=region,
        instance_type=instance_type,
        platform=database[0] if database else item.get("platform", parse_platform),
        tenancy=database[1] if database else item.get("tenancy", parse_tenancy, "Shared"),
        scope=scope,
        availability_zone=zone or None,
        offering_class=item.get("offering_class", parse_offering_class, "standard"),
        count=count,
        normalized_units=normalized_units,
        upfront_usd=upfront,
        recurring_usd_per_hour=recurring,
        effective_usd_per_hour=effective,
    )


def read_portfolio_json(path: str | Path, *, default_start: datetime | None = None) -> Inventory:
    """Read owned commitments from a portfolio JSON file.

    Parameters
    ----------
    path
        ``{"purchases": [...], "summary": {...}}`` (what ``recommend --format json`` and
        :meth:`Inventory.to_portfolio_json` write) or a bare list of purchase items. Each item
        needs ``kind``, ``start`` (ISO 8601; naive times are UTC), ``term_years`` and
        ``payment_option``; ``end`` defaults to start + term (8,760 or 26,280 h).
        ``default_start``, when given, is the start of items without one (a proposed purchase
        starts with the simulated period). RIs need
        ``region``, ``instance_type``, ``platform``, ``count``, ``upfront_usd`` (whole item) and
        ``recurring_usd_per_hour`` (per RI); ``tenancy`` defaults to Shared, ``scope`` to Region,
        ``offering_class`` to standard, ``normalized_units`` to count × normalization factor.
        Database reservations (a ``db.`` or ``cache.`` class) take the reservation's product
        description as ``platform`` (``aurora-mysql``, ``redis``) and the deployment as
        ``tenancy`` (``Single-AZ``, ``Multi-AZ``; ``Node``), both required; their normalized
        units count a Multi-AZ reservation twice. Savings Plans need
        ``commitment_usd_per_hour``; ``upfront_usd`` and ``recurring_usd_per_hour`` default to
        the payment option's split (0 / 50 / 100 % upfront).
        EC2 Instance Savings Plans also need ``region`` and ``instance_family``. Any item may
        name its owner ``account_id`` (served first by the simulator).

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
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise InventoryError(f"{file}: no such file; check the path") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InventoryError(f"{file}: cannot be read ({error})") from error
    return parse_portfolio_json(
        text, where=str(file), source=f"portfolio {file.name}", default_start=default_start
    )


def parse_portfolio_json(
    text: str, *, where: str, source: str, default_start: datetime | None = None
) -> Inventory:
    """Owned commitments from portfolio JSON text (see :func:`read_portfolio_json`).

    Parameters
    ----------
    text
        The JSON.
    where
        Where the text came from, named in errors.
    source
        Each commitment's ``source`` (``"portfolio owned.json"``, ``"bill: usage import 3"``).
    default_start
        Start of items without one.
    """
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise InventoryError(
            f"{where}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
            'fix the JSON there (a portfolio is {"purchases": [...]} or a list of items)'
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
                as_of = parse_time(payload["as_of"])
            except CommitoptInputError as error:
                raise InventoryError(f"{where}: as_of: {error}") from error
        items = payload["purchases"]
    else:
        items = payload
    if not isinstance(items, list):
        raise InventoryError(
            f"{where}: purchases must be a list of items, not {type(items).__name__}"
        )
    commitments = []
    for index, raw in enumerate(items):
        if not isinstance(raw, dict):
            raise InventoryError(
                f"{where}: purchases[{index}] is {type(raw).__name__}, not an object"
            )
        commitments.append(_commitment_from_item(_Item(where, index, raw), source, default_start))
    return Inventory(tuple(commitments), as_of)


__all__ = ["parse_portfolio_json", "read_portfolio_json"]
