"""Structural changes a commitment must survive: a family or a region that migrates, or exits.

A one- or three-year commitment outlives the usage it was bought for when a team moves its fleet
to a newer family (m4 → m5) or to another region, or retires it. The lookback rarely shows any
of it, so the decision's futures (:mod:`planning.future`) carry them as *events*: in each
sampled future, each family of an account migrates or exits at a random time within the term
with a yearly rate, its fleets (an account, region, family, platform and tenancy) in every
region together (:data:`EVENT_COLUMNS`); and each region of an account moves, every family of
it, to another region (:func:`region_destinations`), or is left, with yearly rates of their
own (:data:`REGION_EVENT_COLUMNS`). Family-specific instruments (RIs, EC2 Instance Savings
Plans) lose their usage in a future where the fleet moves family; RIs and EC2 Instance Savings
Plans, bought for one region, lose it where the region moves. A Compute Savings Plan follows
the usage to the new family and to the new region. So the decision weighs the cheaper
family-specific cover against the risk, and hedges when the expected value says so.

**Rates.** The yearly rate of moves is learned from the lookback where it shows them and shrunk
to a stated prior where it does not (a gamma–Poisson estimate, :func:`event_rates`):

    rate = (moves seen + PRIOR_STRENGTH × prior rate) ÷ (fleet-years seen + PRIOR_STRENGTH)

A move seen is a fleet whose last weeks fell below half its earlier level while another family of
the same account and region rose; an exit seen, a fall with no such rise. The priors
(:data:`DEFAULT_MIGRATION_RATE_PER_YEAR`, :data:`DEFAULT_EXIT_RATE_PER_YEAR`,
:data:`DEFAULT_REGION_MIGRATION_RATE_PER_YEAR`, :data:`DEFAULT_REGION_EXIT_RATE_PER_YEAR`) are
this project's stated assumption: about one fleet in ten moves to another family within a
year (generation upgrades and re-platforming), one in twenty is retired. The region rates are
learned the same way from the account's regions (:func:`event_rates`), with priors of 0: a
region moves or is left in the futures only as often as the lookback shows it, or as a user
states (``--region-migration-rate``, ``--region-exit-rate``), and the families' exit rate
already retires a region's fleets one family at a time.

Measured before choosing those priors (docs/benchmarks.md, "Region events"): a region-move
prior of 2 % a year on top of the family ones cost 11,754 USD of one-shot savings and 11,403
of ladder savings over the decisions benchmark's 55 cases. A single steady m4.large fleet then
bought 43 % of its cover as a Compute Savings Plan at a 14.5 % premium, and
steady_small_fleet kept 504 USD instead of 910. On an unannounced m4 move from us-east-1 to
us-west-2, the case it hedges, the one-shot captured 4.3 % of the ceiling instead of 3.1 % and
the ladder 37.3 % instead of 37.1 %. Carved out of the family priors instead (8 % + 2 %, 4 % +
1 %), it made ``migration_seed2_early``'s one-shot lose 5,158 USD; a region-exit prior of 1 %
a year put an eighth future with an event into the forty, and an RI-only decision on a steady
fleet of three t2.large bought nothing.

**A move under way** (:func:`moves_under_way`). A fleet whose last weeks run at least
:data:`UNDER_WAY_FALL_SHARE` below its earlier ones, at a new low (or below half of them), while
the other families of its account and region rose by at least :data:`UNDER_WAY_REPLACED_SHARE`
of what it lost (normalized units), is moving now, whether or not its fall has reached half
yet. Its family is then moving in that account: in :data:`UNDER_WAY_FUTURES_SHARE` of the
futures every fleet of it, in every region (:data:`EVENT_COLUMNS`), migrates within
:data:`UNDER_WAY_WITHIN_HOURS` of the decision, the rest of the half-moved fleet with them.
Priced from the rate alone, the m4 fleet of ``migration_under_way`` whose us-east-1 half had
moved to c5 was bought as if it stayed in us-west-2: 2.42 USD/h of m4 Instance Savings Plan
that idled when it moved a month later.

**Where a fleet migrates.** To the newest family of the same series (m, c, r, t…) that the
catalog prices in its region, platform and tenancy, normalized units kept
(:func:`scenarios.transforms.target_type`); a fleet already on its series' newest family moves to
the newest family of another series (m ↔ c, r → m), and one with no priced target exits.
Fargate and Lambda usage has no families to move between (a task or function re-sized stays
Fargate or Lambda, under the same Compute Savings Plan), so their fleets only exit
(``moves_in_place``: a migration drawn for them changes nothing).

**Where a region moves** (:func:`region_destinations`). Every key of it runs the same instance
type, platform and tenancy in the account's largest other region of the same geography (us, eu,
ap…), else in its largest other region, else (an account in one region) in the catalog's
region nearby that prices the most types; a key whose type the destination does not price
exits. A fleet has the first of its family and region events only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from core.units import HOURS_PER_WEEK, HOURS_PER_YEAR
from pricing.catalog import PriceCatalog
from pricing.compute_keys import COMPUTE_SERVICES
from pricing.instance_types import instance_families, normalization_factors, parse_instance_type
from pricing.services import key_services
from scenarios.transforms import target_type
from usage.table import KEY_COLUMNS, UsageMatrix

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

DEFAULT_MIGRATION_RATE_PER_YEAR: Final = 0.10
"""Prior yearly rate at which a fleet moves to another family [1/year]."""

DEFAULT_EXIT_RATE_PER_YEAR: Final = 0.05
"""Prior yearly rate at which a fleet is retired [1/year]."""

DEFAULT_REGION_MIGRATION_RATE_PER_YEAR: Final = 0.0
"""Prior yearly rate at which an account's usage in a region moves to another region
[1/year]: none unless the lookback shows one (see the module: a 2 % prior cost more than it
hedged)."""

DEFAULT_REGION_EXIT_RATE_PER_YEAR: Final = 0.0
"""Prior yearly rate at which an account leaves a region, every family of it retired
[1/year]: none beyond the families' own exits (:data:`DEFAULT_EXIT_RATE_PER_YEAR`) unless the
lookback shows a region left."""

PRIOR_STRENGTH_FLEET_YEARS: Final = 2.0
"""Weight of the prior, in fleet-years of evidence [fleet-years]."""

FALL_SHARE: Final = 0.5
"""A fleet fell when its recent level is below this share of its earlier level [1]."""

RECENT_WEEKS: Final = 2
"""Weeks at the end of the lookback compared with the earlier ones [weeks]."""

UNDER_WAY_FALL_SHARE: Final = 0.2
"""A fleet is moving when its recent level is at least this share below its earlier one, and
other families rose in its place (:func:`moves_under_way`) [1]."""

UNDER_WAY_REPLACED_SHARE: Final = 0.5
"""... by at least this share of the normalized units it lost [1]: what fell went somewhere."""

UNDER_WAY_FUTURES_SHARE: Final = 0.75
"""Share of the futures in which a family seen moving migrates in every region [1]; the others
leave what is left of it where it runs (a move that stops half done)."""

UNDER_WAY_WITHIN_HOURS: Final = 13 * HOURS_PER_WEEK
"""A family seen moving migrates within this long of the decision, at times spread evenly
over it [h]: a quarter."""

FLEET_COLUMNS: Final = ("account_id", "region", "family", "platform", "tenancy")
"""What one fleet is: the usage that moves to one target family, or is retired."""

EVENT_COLUMNS: Final = ("account_id", "family")
"""What moves or retires as one: a family's fleets in one account, in every region. A move to a
newer family is a team's decision (an image, a launch template, a policy) that reaches all its
regions within days of each other; drawn per fleet, a family in three regions would move in
one region at a time, and the futures would never hold the move that strands all its cover."""

REGION_EVENT_COLUMNS: Final = ("account_id", "region")
"""What moves to another region or leaves it as one: an account's usage in a region, every
family of it."""

SERIES_FALLBACK: Final = (("m", "c"), ("c", "m"), ("r", "m"), ("t", "m"))
"""Where a fleet already on its series' newest family moves: (from series, to series)."""


@dataclass(frozen=True, eq=False)
class Fleets:
    """The fleets of a usage matrix and where each would migrate.

    Attributes
    ----------
    table
        One row per fleet: :data:`FLEET_COLUMNS`, ``target_family`` (``""``: it can only exit),
        ``moves_in_place`` (Fargate and Lambda: a migration leaves its usage where it is),
        ``normalized_units`` (mean normalized units per hour over the lookback).
    key_fleet
        Fleet number of each key of the matrix.
    target_keys
        Keys the migrated usage runs on (the matrix's key columns; may repeat existing keys).
    key_target
        For each key of the matrix, its row in ``target_keys`` (−1: no target, the key exits).
    target_per_source
        Instance-hours of the target type per instance-hour of the source key [1] (units kept).
    region_target_keys
        Keys a region migration's usage runs on: each key's instance type, platform and tenancy
        in its fleet's ``destination_region`` (:func:`region_destinations`).
    key_region_target
        For each key of the matrix, its row in ``region_target_keys`` (−1: the destination
        does not price its type, the key exits).
    """

    table: pd.DataFrame
    key_fleet: IntArray
    target_keys: pd.DataFrame
    key_target: IntArray
    target_per_source: FloatArray
    region_target_keys: pd.DataFrame
    key_region_target: IntArray


@dataclass(frozen=True)
class EventRates:
    """Yearly event rates and the evidence behind them.

    Attributes
    ----------
    migration_per_year, exit_per_year
        Rates used in the futures [1/year].
    moves_seen, exits_seen
        Moves and exits the lookback shows.
    fleet_years
        Evidence: fleets × years of lookback [fleet-years].
    region_migration_per_year, region_exit_per_year
        Rates of the region events (:data:`REGION_EVENT_COLUMNS`) used in the futures
        [1/year].
    region_moves_seen, region_exits_seen
        Region moves and exits the lookback shows.
    region_years
        Their evidence: an account's regions × years of lookback [region-years].
    priors_per_year
        The priors the rates were shrunk to: migration, exit, region migration, region exit
        [1/year].
    under_way
        The moves under way (:func:`moves_under_way`), one phrase per moving fleet: its family,
        account and region, and how far it fell.
    """

    migration_per_year: float
    exit_per_year: float
    moves_seen: int
    exits_seen: int
    fleet_years: float
    region_migration_per_year: float = 0.0
    region_exit_per_year: float = 0.0
    region_moves_seen: int = 0
    region_exits_seen: int = 0
    region_years: float = 0.0
    priors_per_year: tuple[float, float, float, float] = (
        DEFAULT_MIGRATION_RATE_PER_YEAR,
        DEFAULT_EXIT_RATE_PER_YEAR,
        DEFAULT_REGION_MIGRATION_RATE_PER_YEAR,
        DEFAULT_REGION_EXIT_RATE_PER_YEAR,
    )
    under_way: tuple[str, ...] = ()

    def describe(self) -> str:
        """The rates in words, with their source."""
        migration, exit_, region_migration, region_exit = self.priors_per_year
        seen = (
            f"the lookback shows {self.moves_seen} move(s) and {self.exits_seen} exit(s) "
            f"in {self.fleet_years:.2f} fleet-years"
        )
        text = (
            f"each fleet migrates with a yearly rate of {self.migration_per_year:.1%} and exits "
            f"with {self.exit_per_year:.1%} ({seen}, shrunk to the priors of "
            f"{migration:.0%} and {exit_:.0%})"
        )
        if self.region_migration_per_year or self.region_exit_per_year:
            text += (
                f"; each account's usage in a region moves to another region with "
                f"{self.region_migration_per_year:.1%} a year and leaves it with "
                f"{self.region_exit_per_year:.1%} (the lookback shows {self.region_moves_seen} "
                f"region move(s) and {self.region_exits_seen} region exit(s) in "
                f"{self.region_years:.2f} region-years, shrunk to the priors of "
                f"{region_migration:.0%} and {region_exit:.0%})"
            )
        if not self.under_way:
            return text
        return (
            f"{text}; moving now: {', '.join(self.under_way)}; a family seen moving moves in "
            f"every region in {UNDER_WAY_FUTURES_SHARE:.0%} of the futures, within "
            f"{UNDER_WAY_WITHIN_HOURS // HOURS_PER_WEEK} weeks"
        )


def _newest_family(series: str, families: pd.Series) -> str | None:
    """The newest family of ``series`` among ``families`` (highest generation, plainest name)."""
    parsed = [(parse_instance_type(f"{f}.large"), str(f)) for f in families.unique()]
    mine = [
        (p.generation or 0, -len(name), name)
        for p, name in parsed
        if p.series == series and not p.option
    ]
    return max(mine)[2] if mine else None


def _target_family(family: str, priced: pd.Series) -> str:
    """Where a fleet of ``family`` migrates, among the families ``priced`` in its place."""
    series = parse_instance_type(f"{family}.large").series
    newest = _newest_family(series, priced)
    if newest is not None and newest != family:
        return newest
    for source, target in SERIES_FALLBACK:
        if source == series:
            other = _newest_family(target, priced)
            if other is not None:
                return other
    return ""


def _geography(region: str) -> str:
    """A region's geography, the first part of its name: ``us``, ``eu``, ``ap``…"""
    return region.split("-", 1)[0]


def _near(by_region: pd.Series, region: str) -> pd.Series:
    """The entries of ``by_region`` (indexed by region) in ``region``'s geography."""
    return by_region[[_geography(str(r)) == _geography(region) for r in by_region.index]]


def region_destinations(fleet_table: pd.DataFrame, catalog: PriceCatalog) -> pd.Series:
    """Where each fleet's account and region would move in a region migration (``""``: none).

    The account's other region of the same geography (:func:`_geography`) that runs the most
    normalized units; else its other region that runs the most; else, for an account in one
    region, the catalog's region of the same geography that prices the most instance types
    (the move stays near its users); else the catalog's region that prices the most.
    """
    places = fleet_table.groupby(["account_id", "region"], sort=True)["normalized_units"].sum()
    priced_types = catalog.on_demand.groupby("region")["instance_type"].nunique()
    chosen: dict[tuple[str, str], str] = {}
    for account, region in places.index:
        own = str(region)
        in_account = places.loc[account].drop(own)
        elsewhere = priced_types.drop(own, errors="ignore")
        candidates = [
            _near(in_account, own),
            in_account,
            _near(elsewhere, own),
            elsewhere,
        ]
        ranked = next((c for c in candidates if len(c)), None)
        if ranked is None:
            chosen[(str(account), own)] = ""
            continue
        # most first, then by name: one answer whatever the order of the rows
        best = sorted(ranked.items(), key=lambda item: (-float(item[1]), str(item[0])))[0][0]
        chosen[(str(account), own)] = str(best)
    pairs = zip(fleet_table["account_id"], fleet_table["region"], strict=True)
    return pd.Series([chosen[(str(a), str(r))] for a, r in pairs], index=fleet_table.index)


def _region_targets(
    keys: pd.DataFrame, destination: npt.NDArray[np.object_], catalog: PriceCatalog
) -> tuple[pd.DataFrame, IntArray]:
    """Each key in its destination region (``destination``, one per key), the distinct priced
    ones, and each key's row among them (−1: no destination, or its type is not priced there)."""
    moved = keys[list(KEY_COLUMNS)].astype(str).assign(region=destination)
    has = (destination != "") & ~np.isnan(catalog.on_demand_rates(moved))
    text = moved.agg("|".join, axis=1)
    distinct = ~text.duplicated() & has
    region_target_keys = moved.loc[distinct].reset_index(drop=True)
    row = pd.Series(np.arange(len(region_target_keys)), index=text[distinct].to_numpy())
    key_region_target = np.full(len(keys), -1, dtype=np.intp)
    key_region_target[has] = row.loc[text[has].to_numpy()].to_numpy()
    return region_target_keys, key_region_target


def _sizes_by_family(types: pd.Series) -> dict[str, tuple[str, ...]]:
    """Family -> its sizes among the instance ``types`` (sorted, as
    :func:`scenarios.transforms.family_sizes` gives them)."""
    unique = pd.Series(types.dropna().unique(), dtype="string")
    families = instance_families(unique)
    return {
        str(family): tuple(sorted(str(t).partition(".")[2] for t in group))
        for family, group in unique.groupby(families.to_numpy(), sort=False)
    }


def fleets(usage: UsageMatrix, catalog: PriceCatalog) -> Fleets:
    """The fleets of ``usage``, each with the family it would migrate to (see the module)."""
    keys = usage.keys
    families = instance_families(keys["instance_type"]).astype(str)
    fleet_keys = keys.assign(family=families.to_numpy())[list(FLEET_COLUMNS)]
    text = fleet_keys.astype(str)
    codes = text.groupby(list(FLEET_COLUMNS), sort=True).ngroup().to_numpy()
    fleet_table = text.drop_duplicates().sort_values(list(FLEET_COLUMNS)).reset_index(drop=True)
    units = normalization_factors(keys["instance_type"])
    mean_units = usage.quantity.mean(axis=0) * units if len(usage.hours) else units * 0.0
    fleet_table["normalized_units"] = np.bincount(codes, mean_units, minlength=len(fleet_table))
    priced = catalog.on_demand
    priced_families = instance_families(priced["instance_type"]).astype(str)
    place_text = priced["region"] + "|" + priced["platform"] + "|" + priced["tenancy"]
    families_at = {
        str(place): names for place, names in priced_families.groupby(place_text).unique().items()
    }
    targets_of: dict[tuple[str, str], str] = {}  # (family, place) -> target: each found once
    target_family = []
    for row in fleet_table.to_dict("records"):
        place = f"{row['region']}|{row['platform']}|{row['tenancy']}"
        if place not in families_at:
            target_family.append("")
            continue
        memo = (str(row["family"]), place)
        if memo not in targets_of:
            targets_of[memo] = _target_family(memo[0], pd.Series(families_at[place]))
        target_family.append(targets_of[memo])
    fleet_table["target_family"] = target_family
    in_place = key_services(keys["instance_type"], keys["platform"]).isin(COMPUTE_SERVICES)
    fleet_table["moves_in_place"] = (
        np.bincount(codes, in_place.to_numpy(dtype=float), minlength=len(fleet_table)) > 0
    )
    # one target type per distinct (region, instance type, target family), not per key; the
    # sizes of each family priced in a region, each region's types parsed once
    region_types = priced.groupby("region", sort=False)["instance_type"].unique()
    region_sizes = {
        str(region): _sizes_by_family(pd.Series(types, dtype="string"))
        for region, types in region_types.items()
    }
    on_demand_types = set(priced["instance_type"].astype(str))
    kinds: dict[str, str] = {}
    targets: list[dict[str, str]] = []
    key_target = np.full(len(keys), -1, dtype=np.intp)
    per_source = np.zeros(len(keys))
    records: list[dict[str, str]] = keys.astype(str).to_dict("records")  # type: ignore[assignment]
    for index, key in enumerate(records):
        family = target_family[codes[index]]
        if not family or key["region"] not in region_types.index:
            continue
        place = f"{key['region']}|{key['instance_type']}|{family}"
        if place not in kinds:
            sizes = region_sizes[key["region"]].get(family, ())
            kinds[place] = target_type(key["instance_type"], family, sizes) if sizes else ""
        kind = kinds[place]
        if kind not in on_demand_types:
            continue
        key_target[index] = len(targets)
        targets.append({**key, "instance_type": kind})
    if targets:
        target_types = [t["instance_type"] for t in targets]
        sources = np.flatnonzero(key_target >= 0)
        per_source[sources] = units[sources] / normalization_factors(target_types)
    target_keys = pd.DataFrame(targets, columns=list(KEY_COLUMNS))
    if len(target_keys):
        rates = catalog.on_demand_rates(target_keys)
        priced_target = ~np.isnan(rates)
        if not priced_target.all():  # those keys exit instead; the targets keep priced rows
            renumbered = np.cumsum(priced_target) - 1
            moves = key_target >= 0
            key_target[moves] = np.where(
                priced_target[key_target[moves]], renumbered[key_target[moves]], -1
            )
            per_source[key_target < 0] = 0.0
            target_keys = target_keys.loc[priced_target].reset_index(drop=True)
    fleet_table["destination_region"] = region_destinations(fleet_table, catalog)
    region_target_keys, key_region_target = _region_targets(
        keys, fleet_table["destination_region"].to_numpy()[codes], catalog
    )
    return Fleets(
        fleet_table,
        codes.astype(np.intp),
        target_keys,
        key_target,
        per_source,
        region_target_keys,
        key_region_target,
    )


def _recent_and_earlier(
    usage: UsageMatrix, fleet: Fleets
) -> tuple[FloatArray, FloatArray, FloatArray] | None:
    """Each fleet's mean normalized units over the lookback's last :data:`RECENT_WEEKS` whole
    weeks, over the whole weeks before them, and in the lowest of those earlier weeks; ``None``
    when there are too few weeks."""
    weeks = len(usage.hours) // HOURS_PER_WEEK
    n_fleets = len(fleet.table)
    if weeks < RECENT_WEEKS + 1 or not n_fleets:
        return None
    units = normalization_factors(usage.keys["instance_type"])
    # normalized units per fleet and hour, (hours, fleets): a sparse (fleets, keys) sum of the
    # whole weeks' view, no hours × keys copy
    to_fleet = sparse.csr_matrix(
        (units, (fleet.key_fleet, np.arange(len(units)))), shape=(n_fleets, len(units))
    )
    by_fleet = np.asarray(to_fleet @ usage.quantity[-weeks * HOURS_PER_WEEK :].T).T
    recent_hours = RECENT_WEEKS * HOURS_PER_WEEK
    earlier_weeks = by_fleet[:-recent_hours].reshape(weeks - RECENT_WEEKS, HOURS_PER_WEEK, -1)
    return (
        by_fleet[-recent_hours:].mean(axis=0),
        by_fleet[:-recent_hours].mean(axis=0),
        earlier_weeks.mean(axis=1).min(axis=0),
    )


def _places(fleet: Fleets) -> pd.Series:
    """Each fleet's account and region, as one string."""
    return fleet.table["account_id"].astype(str) + "|" + fleet.table["region"].astype(str)


def moves_under_way(usage: UsageMatrix, fleet: Fleets) -> npt.NDArray[np.bool_]:
    """The fleets moving to another family now (see the module), one flag per fleet.

    A fleet is moving when its last :data:`RECENT_WEEKS` whole weeks run at least
    :data:`UNDER_WAY_FALL_SHARE` below its earlier weeks, and below the lowest of them (a new
    low, not a noisy fleet's low fortnight) or below :data:`FALL_SHARE` of their mean (a move
    done in the last weeks), while the fleets of other families in its account and region that
    rose gained at least :data:`UNDER_WAY_REPLACED_SHARE` of the normalized units it lost. A
    fleet with no target family (it can only exit) or one that moves in place (Fargate, Lambda)
    is never moving.
    """
    levels = _recent_and_earlier(usage, fleet)
    if levels is None:
        return np.zeros(len(fleet.table), dtype=bool)
    recent, earlier, lowest_earlier_week = levels
    lost = np.maximum(earlier - recent, 0.0)
    gained = np.maximum(recent - earlier, 0.0)
    place = _places(fleet).to_numpy()
    gained_in_place = pd.Series(gained).groupby(place).transform("sum").to_numpy()
    new_low = (recent < lowest_earlier_week) | (recent < FALL_SHARE * earlier)
    fell = (recent <= (1.0 - UNDER_WAY_FALL_SHARE) * earlier) & new_low
    replaced = gained_in_place >= UNDER_WAY_REPLACED_SHARE * lost
    has_target = (fleet.table["target_family"] != "").to_numpy()
    in_place = fleet.table["moves_in_place"].to_numpy(dtype=bool)
    return np.asarray(fell & (lost > 0) & replaced & has_target & ~in_place)


def _shrunk(seen: int, years_seen: float, prior_per_year: float) -> float:
    """The gamma–Poisson rate of the module: ``seen`` events in ``years_seen`` years of
    evidence, shrunk to ``prior_per_year`` with :data:`PRIOR_STRENGTH_FLEET_YEARS` [1/year]."""
    prior_events = PRIOR_STRENGTH_FLEET_YEARS * prior_per_year
    return (seen + prior_events) / (years_seen + PRIOR_STRENGTH_FLEET_YEARS)


def _region_events_seen(fleet: Fleets, recent: FloatArray, earlier: FloatArray) -> tuple[int, int]:
    """Region moves and region exits the fleets' levels show (:func:`event_rates`)."""
    place = _places(fleet).to_numpy()
    in_region = pd.DataFrame({"recent": recent, "earlier": earlier}).groupby(place).sum()
    # a region's fall is a region event when two families or more fell in it; one family's
    # fall (its Linux and Windows fleets alike) is that family's event
    fleet_fell = recent < FALL_SHARE * earlier
    families_fell = (
        pd.Series(fleet.table["family"].to_numpy()[fleet_fell])
        .groupby(place[fleet_fell])
        .nunique()
        .reindex(in_region.index, fill_value=0)
        .to_numpy()
    )
    account = in_region.index.str.split("|").str[0]
    now = in_region["recent"].to_numpy()
    before = in_region["earlier"].to_numpy()
    fell = (now < FALL_SHARE * before) & (families_fell >= 2)
    lost = np.maximum(before - now, 0.0)
    gained = np.maximum(now - before, 0.0)
    # what the account's other regions gained
    gained_elsewhere = pd.Series(gained).groupby(account).transform("sum").to_numpy() - gained
    moved = fell & (gained_elsewhere >= UNDER_WAY_REPLACED_SHARE * lost)
    return int(moved.sum()), int((fell & ~moved).sum())


def event_rates(
    usage: UsageMatrix,
    fleet: Fleets,
    *,
    migration_prior_per_year: float = DEFAULT_MIGRATION_RATE_PER_YEAR,
    exit_prior_per_year: float = DEFAULT_EXIT_RATE_PER_YEAR,
    region_migration_prior_per_year: float = DEFAULT_REGION_MIGRATION_RATE_PER_YEAR,
    region_exit_prior_per_year: float = DEFAULT_REGION_EXIT_RATE_PER_YEAR,
    moving: npt.NDArray[np.bool_] | None = None,
    as_ran: UsageMatrix | None = None,
) -> EventRates:
    """The yearly migration and exit rates, learned from ``usage`` and shrunk to the priors.

    The region rates likewise, per account and region (:data:`REGION_EVENT_COLUMNS`), learned
    from ``as_ran``, the lookback as it ran (``None``: ``usage``; the recency adjustment counts
    a key that fell by more than half at its recent level all along, which would hide the
    fall): a region seen moving is one whose normalized units fell below :data:`FALL_SHARE` of
    its earlier level, with two of its families or more (one family's fall is that family's
    event), while the account's other regions gained at least
    :data:`UNDER_WAY_REPLACED_SHARE` of what it lost; a region seen leaving, one that fell so
    with no such gain.

    ``moving`` flags the fleets :func:`moves_under_way` found (``None``: none) on ``as_ran``;
    they are named in :attr:`EventRates.under_way`, with their fall measured there.
    """
    fleet_years = len(fleet.table) * len(usage.hours) / HOURS_PER_YEAR
    n_regions = len(fleet.table[list(REGION_EVENT_COLUMNS)].drop_duplicates())
    region_years = n_regions * len(usage.hours) / HOURS_PER_YEAR
    moves = exits = region_moves = region_exits = 0
    under_way: tuple[str, ...] = ()
    levels = _recent_and_earlier(usage, fleet)
    seen = levels  # as it ran: the adjusted lookback's levels serve when it is the same one
    if as_ran is not None and as_ran is not usage:
        seen = _recent_and_earlier(as_ran, fleet)
    if seen is not None:
        recent, earlier, _ = seen
        region_moves, region_exits = _region_events_seen(fleet, recent, earlier)
        if moving is not None and moving.any():
            fall_pct = 100.0 * (1.0 - recent[moving] / earlier[moving])
            rows = fleet.table.loc[moving].to_dict("records")
            under_way = tuple(
                f"{row['family']} of account {row['account_id']} ({row['region']} down "
                f"{fall:.0f} % while other families rose)"
                for row, fall in zip(rows, fall_pct, strict=True)
            )
    if levels is not None:
        recent, earlier, _ = levels
        fell = recent < FALL_SHARE * earlier
        rose = recent > earlier / FALL_SHARE
        place = _places(fleet)
        rising_places = set(place[rose])
        moved = fell & place.isin(rising_places).to_numpy()
        moves = int(moved.sum())
        exits = int((fell & ~moved).sum())
    return EventRates(
        migration_per_year=_shrunk(moves, fleet_years, migration_prior_per_year),
        exit_per_year=_shrunk(exits, fleet_years, exit_prior_per_year),
        moves_seen=moves,
        exits_seen=exits,
        fleet_years=fleet_years,
        region_migration_per_year=_shrunk(
            region_moves, region_years, region_migration_prior_per_year
        ),
        region_exit_per_year=_shrunk(region_exits, region_years, region_exit_prior_per_year),
        region_moves_seen=region_moves,
        region_exits_seen=region_exits,
        region_years=region_years,
        priors_per_year=(
            migration_prior_per_year,
            exit_prior_per_year,
            region_migration_prior_per_year,
            region_exit_prior_per_year,
        ),
        under_way=under_way,
    )


__all__ = [
    "DEFAULT_EXIT_RATE_PER_YEAR",
    "DEFAULT_MIGRATION_RATE_PER_YEAR",
    "DEFAULT_REGION_EXIT_RATE_PER_YEAR",
    "DEFAULT_REGION_MIGRATION_RATE_PER_YEAR",
    "EVENT_COLUMNS",
    "FLEET_COLUMNS",
    "REGION_EVENT_COLUMNS",
    "EventRates",
    "Fleets",
    "event_rates",
    "fleets",
    "moves_under_way",
    "region_destinations",
]
