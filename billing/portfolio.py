"""A portfolio of commitments as the arrays the billing simulator needs.

:func:`build_portfolio` turns owned and proposed commitments (:class:`~pricing.inventory.
Commitment`, each with a start and an end) into one :class:`Instrument` per commitment:
its scope (exact key, size-flexible family pool, region + family, or everything), its capacity
per hour (normalized units or instances for RIs, USD/h for Savings Plans), its cost per hour split
into amortized upfront and recurring, its active-hours mask over the simulated hours and the
fraction of each hour it is charged for.

Partial hours. AWS bills by the clock hour. The real October 2018 CUR (``tests/data/cur``) shows
what happens when a term starts inside one: the Windows t2.micro RI bought 2018-10-09T21:40:47
covered its instance for the whole 21:00 hour (a full DiscountedUsage line), while its RIFee was
charged per second from 21:40:47 (530.320278 h in October, not 531 or 530). So an instrument is
active, at full capacity, in every hour that overlaps ``[start, end)``, and is charged the
overlapped fraction of that hour. No RI of that bill ends inside the month, so the end of a term
is not visible there; the same overlap rule is applied to it (an RI ending at 00:34 covers the
whole 00:00 hour and is charged 34/60 of it), and to Savings Plans alike.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.errors import CommitoptInputError
from pricing.catalog import PriceCatalog
from pricing.databases import RESERVATION_PLATFORMS
from pricing.instance_types import instance_family
from pricing.inventory import Commitment, Inventory
from pricing.offerings import TERM_HOURS, CommitmentKind
from pricing.services import is_size_flexible, units_per_instance_hour

_NS_PER_HOUR: Final = 3_600_000_000_000
PLAN_TYPES: Final[dict[str, str]] = {
    k: k.savings_plan_type for k in CommitmentKind if k.is_savings_plan
}
"""Catalog ``plan_type`` of each Savings Plan kind."""


class PortfolioError(CommitoptInputError):
    """A commitment the simulator cannot use as given."""


@dataclass(frozen=True, eq=False)
class Instrument:
    """One commitment as the simulator applies it.

    Attributes
    ----------
    id
        The commitment's id.
    kind
        ``"reserved_instance"``, ``"ec2_instance_savings_plan"`` or ``"compute_savings_plan"``.
    region, instance_family, instance_type, platform, tenancy
        Scope; ``None`` where the kind does not restrict it (a size-flexible RI has no
        ``instance_type``, an EC2 Instance SP no type/platform/tenancy, a Compute SP nothing).
    size_flexible
        RIs: whether the RI covers its family in normalized units.
    capacity
        Per active hour: normalized units (size-flexible RIs), instances (other RIs) or USD of
        Savings Plans rate (Savings Plans) [units/h, instances/h or USD/h].
    amortized_hourly_usd
        Upfront ÷ term hours [USD/h], charged every active hour.
    recurring_usd_per_hour
        Hourly fee of the whole item [USD/h], charged every active hour.
    upfront_usd
        Upfront payment of the whole item [USD].
    term_years, payment_option
        The offering (Savings Plans look their rates up with them).
    start, end
        The term in UTC.
    active
        Boolean mask over the simulated hours, true for every hour overlapping ``[start, end)``
        (full capacity there).
    charged
        Fraction of each simulated hour inside ``[start, end)`` [0–1]: 1 for whole hours, the
        overlap in a first or last partial hour, 0 outside the term. Costs are charged by it.
    account_id
        Account that owns it (served first); ``None`` means no home account.
    """

    id: str
    kind: str
    region: str | None
    instance_family: str | None
    instance_type: str | None
    platform: str | None
    tenancy: str | None
    size_flexible: bool
    capacity: float
    amortized_hourly_usd: float
    recurring_usd_per_hour: float
    upfront_usd: float
    term_years: int
    payment_option: str
    start: pd.Timestamp
    end: pd.Timestamp
    active: npt.NDArray[np.bool_]
    charged: npt.NDArray[np.float64]
    account_id: str | None = None

    @property
    def effective_usd_per_hour(self) -> float:
        """Cost per active hour [USD/h]."""
        return self.amortized_hourly_usd + self.recurring_usd_per_hour

    @property
    def charged_hours(self) -> float:
        """Hours charged over the simulated period, partial hours pro rata [h]."""
        return float(self.charged.sum())

    def scaled(self, factor: float) -> Instrument:
        """This instrument with ``factor`` × its capacity and money, not rounded.

        The continuous form of :meth:`pricing.inventory.Commitment.scaled` (3.5 RIs cover 3.5
        instances' units and cost 3.5 RIs), which :func:`scenarios.frontier.frontier` bills at
        every level so that its curve is smooth where whole RIs would make steps; both agree
        wherever the scaled count is whole.
        """
        return replace(
            self,
            capacity=self.capacity * factor,
            amortized_hourly_usd=self.amortized_hourly_usd * factor,
            recurring_usd_per_hour=self.recurring_usd_per_hour * factor,
            upfront_usd=self.upfront_usd * factor,
        )

    @property
    def plan_type(self) -> str | None:
        """Catalog plan type of a Savings Plan, ``None`` for an RI."""
        return PLAN_TYPES.get(self.kind)


@dataclass(frozen=True)
class SimulationPortfolio:
    """Instruments by kind, in the order AWS applies them, plus warnings.

    Attributes
    ----------
    reserved_instances, ec2_instance_savings_plans, compute_savings_plans
        The instruments of each kind.
    warnings
        One line per approximation made (e.g. zonal RIs applied regionally to their type).
    database_savings_plans
        The Database Savings Plans (they cover only what the others never cover).
    sagemaker_savings_plans
        The SageMaker Savings Plans (only they cover SageMaker usage, and nothing else).
    """

    reserved_instances: tuple[Instrument, ...]
    ec2_instance_savings_plans: tuple[Instrument, ...]
    compute_savings_plans: tuple[Instrument, ...]
    warnings: tuple[str, ...] = field(default=())
    database_savings_plans: tuple[Instrument, ...] = field(default=())
    sagemaker_savings_plans: tuple[Instrument, ...] = field(default=())

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        """All instruments, RIs first, then EC2 Instance, Compute, Database and SageMaker SPs."""
        return (
            *self.reserved_instances,
            *self.ec2_instance_savings_plans,
            *self.compute_savings_plans,
            *self.database_savings_plans,
            *self.sagemaker_savings_plans,
        )

    def then(self, other: SimulationPortfolio) -> SimulationPortfolio:
        """This portfolio's instruments and ``other``'s, each kind's own first."""
        return SimulationPortfolio(
            (*self.reserved_instances, *other.reserved_instances),
            (*self.ec2_instance_savings_plans, *other.ec2_instance_savings_plans),
            (*self.compute_savings_plans, *other.compute_savings_plans),
            (*self.warnings, *other.warnings),
            (*self.database_savings_plans, *other.database_savings_plans),
            (*self.sagemaker_savings_plans, *other.sagemaker_savings_plans),
        )


def _overlap_ns(
    hours: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp
) -> npt.NDArray[np.int64]:
    """Nanoseconds of each hour ``[hour, hour + 1 h)`` inside ``[start, end)``."""
    stamps = hours.as_unit("ns").asi8
    first = int(pd.Timestamp(start).as_unit("ns").value)
    last = int(pd.Timestamp(end).as_unit("ns").value)
    overlap = np.minimum(stamps + _NS_PER_HOUR, last) - np.maximum(stamps, first)
    return np.maximum(overlap, 0).astype(np.int64)


def active_mask(
    hours: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp
) -> npt.NDArray[np.bool_]:
    """Hours that overlap ``[start, end)``: a partial first or last hour counts in full."""
    return np.asarray(_overlap_ns(hours, start, end) > 0, dtype=np.bool_)


def charged_fraction(
    hours: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp
) -> npt.NDArray[np.float64]:
    """Fraction of each hour inside ``[start, end)`` [0–1], what AWS charges for that hour."""
    return _overlap_ns(hours, start, end) / float(_NS_PER_HOUR)


def _catalog_recurring(
    items: Sequence[Commitment], catalog: PriceCatalog | None
) -> dict[int, float]:
    """Catalog recurring rate per RI [USD/h] of the RI items that lack one, by item index.

    One catalog look-up per offering (class, term, payment option), not one per item.
    """
    wanted = [
        index
        for index, c in enumerate(items)
        if c.kind == CommitmentKind.RESERVED_INSTANCE
        and c.recurring_usd_per_hour is None
        and c.region
        and c.instance_type
    ]
    if catalog is None or not wanted:
        return {}
    frame = pd.DataFrame(
        {
            "index": wanted,
            "region": [items[i].region for i in wanted],
            "instance_type": [items[i].instance_type for i in wanted],
            "platform": [items[i].platform or "Linux/UNIX" for i in wanted],
            "tenancy": [items[i].tenancy or "Shared" for i in wanted],
            "offering_class": [items[i].offering_class or "standard" for i in wanted],
            "term_years": [items[i].term_years for i in wanted],
            "payment_option": [items[i].payment_option for i in wanted],
        }
    )
    rates: dict[int, float] = {}
    offering = ["offering_class", "term_years", "payment_option"]
    for _, group in frame.groupby(offering, sort=False):
        first = group.iloc[0]
        found = catalog.reserved_rates(
            group,
            str(first["offering_class"]),
            int(first["term_years"]),
            str(first["payment_option"]),
            column="recurring_usd_per_hour",
        )
        for index, rate in zip(group["index"], found, strict=True):
            if not np.isnan(rate):
                rates[int(index)] = float(rate)
    return rates


@functools.lru_cache(maxsize=4096)
def _units_of(instance_type: str, tenancy: str) -> float:
    """:func:`pricing.services.units_per_instance_hour` of one RI's type, remembered: a
    portfolio has many RIs of few types, and the backtest's ceiling bills dozens of
    portfolios (597 calls took 1.5 s of a 15-s CLI backtest)."""
    return float(units_per_instance_hour([instance_type], [tenancy])[0])


def _ri_instrument(
    commitment: Commitment,
    catalog_recurring: float | None,
    common: dict[str, object],
    warnings: list[str],
) -> Instrument:
    """The RI instrument of one RI item."""
    name = f"RI {commitment.id}"
    if not commitment.region or not commitment.instance_type:
        raise PortfolioError(f"{name}: needs region and instance_type; add them to the item")
    count = commitment.count
    if count is None or count <= 0:
        raise PortfolioError(f"{name}: count must be a positive whole number, not {count}")
    platform = commitment.platform or "Linux/UNIX"
    tenancy = commitment.tenancy or "Shared"
    scope = commitment.scope or "Region"
    if platform in RESERVATION_PLATFORMS:
        raise PortfolioError(
            f"{name}: no reservation is sold for platform {platform}; "
            f"{RESERVATION_PLATFORMS[platform]} reservations cover it, so give that platform"
        )
    try:
        factor = _units_of(commitment.instance_type, tenancy)
        family = instance_family(commitment.instance_type)
    except CommitoptInputError as error:
        raise PortfolioError(f"{name}: {error}") from error
    if scope != "Region":
        warnings.append(
            f"RI {commitment.id} is zonal ({commitment.availability_zone or 'zone unknown'}); "
            f"usage has no availability zone, so it is applied to {commitment.instance_type} "
            f"in all of {commitment.region}"
        )
    flexible = is_size_flexible(platform, tenancy, scope)
    term_hours = TERM_HOURS[commitment.term_years]
    recurring = commitment.recurring_usd_per_hour
    if recurring is None:
        recurring = catalog_recurring
    if recurring is None:
        if commitment.effective_usd_per_hour is None:
            raise PortfolioError(
                f"{name}: no recurring_usd_per_hour and no catalog rate for "
                f"{commitment.region} {commitment.instance_type} {platform} {tenancy}; "
                "give the rates in the item or refresh the catalog"
            )
        amortized = commitment.upfront_usd / term_hours
        recurring = (commitment.effective_usd_per_hour - amortized) / count
    return Instrument(
        kind=CommitmentKind.RESERVED_INSTANCE,
        region=commitment.region,
        instance_family=family,
        instance_type=None if flexible else commitment.instance_type,
        platform=platform,
        tenancy=tenancy,
        size_flexible=flexible,
        capacity=float(count * factor if flexible else count),
        amortized_hourly_usd=commitment.upfront_usd / term_hours,
        recurring_usd_per_hour=float(count * recurring),
        **common,  # type: ignore[arg-type]
    )


def _sp_instrument(commitment: Commitment, common: dict[str, object]) -> Instrument:
    """The Savings Plan instrument of one plan."""
    name = f"Savings Plan {commitment.id}"
    commit = commitment.commitment_usd_per_hour
    if commit is None or not np.isfinite(commit) or commit <= 0:
        raise PortfolioError(f"{name}: commitment_usd_per_hour must be above 0, not {commit}")
    family = None
    region = None
    if commitment.kind == CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN:
        if not commitment.region or not commitment.instance_family:
            raise PortfolioError(
                f"{name}: an EC2 Instance Savings Plan needs region and instance_family"
            )
        region, family = commitment.region, commitment.instance_family
    amortized = commitment.upfront_usd / TERM_HOURS[commitment.term_years]
    return Instrument(
        kind=commitment.kind,
        region=region,
        instance_family=family,
        instance_type=None,
        platform=None,
        tenancy=None,
        size_flexible=False,
        capacity=float(commit),
        amortized_hourly_usd=amortized,
        recurring_usd_per_hour=float(commit) - amortized,
        **common,  # type: ignore[arg-type]
    )


def build_portfolio(
    portfolio: Inventory | Sequence[Commitment],
    hours: pd.DatetimeIndex,
    catalog: PriceCatalog | None = None,
    *,
    owner_accounts: Mapping[str, str] | None = None,
) -> SimulationPortfolio:
    """Turn commitments into simulator instruments over ``hours``.

    Parameters
    ----------
    portfolio
        Owned and proposed commitments (an :class:`Inventory` or a sequence of items).
    hours
        The simulated hours (UTC, hourly).
    catalog
        Fills an RI's recurring rate when the item lacks it.
    owner_accounts
        Commitment id -> account id that owns it (served first). Ids it does not name take the
        commitment's own ``account_id``; with neither, a commitment has no home account.

    Raises
    ------
    PortfolioError
        For an item the simulator cannot apply (missing scope, non-positive quantity, no rate).
    """
    items = portfolio.commitments if isinstance(portfolio, Inventory) else tuple(portfolio)
    owners = dict(owner_accounts or {})
    warnings: list[str] = []
    ris: list[Instrument] = []
    ec2: list[Instrument] = []
    compute: list[Instrument] = []
    database: list[Instrument] = []
    sagemaker: list[Instrument] = []
    from_catalog = _catalog_recurring(items, catalog)
    for index, commitment in enumerate(items):
        start = pd.Timestamp(commitment.start).tz_convert("UTC")
        end = pd.Timestamp(commitment.end).tz_convert("UTC")
        if commitment.upfront_usd < 0:
            raise PortfolioError(f"commitment {commitment.id}: upfront_usd is negative")
        common: dict[str, object] = {
            "id": commitment.id,
            "upfront_usd": float(commitment.upfront_usd),
            "term_years": int(commitment.term_years),
            "payment_option": commitment.payment_option,
            "start": start,
            "end": end,
            "active": active_mask(hours, start, end),
            "charged": charged_fraction(hours, start, end),
            "account_id": owners.get(commitment.id, commitment.account_id),
        }
        if commitment.kind == CommitmentKind.RESERVED_INSTANCE:
            ris.append(_ri_instrument(commitment, from_catalog.get(index), common, warnings))
        elif commitment.kind == CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN:
            ec2.append(_sp_instrument(commitment, common))
        elif commitment.kind == CommitmentKind.DATABASE_SAVINGS_PLAN:
            database.append(_sp_instrument(commitment, common))
        elif commitment.kind == CommitmentKind.SAGEMAKER_SAVINGS_PLAN:
            sagemaker.append(_sp_instrument(commitment, common))
        else:
            compute.append(_sp_instrument(commitment, common))
    return SimulationPortfolio(
        tuple(ris), tuple(ec2), tuple(compute), tuple(warnings), tuple(database), tuple(sagemaker)
    )


__all__ = [
    "PLAN_TYPES",
    "Instrument",
    "PortfolioError",
    "SimulationPortfolio",
    "active_mask",
    "build_portfolio",
    "charged_fraction",
]
