"""What-if transforms of usage and prices, and the scenario that composes them in order.

A :class:`Scenario` is a name, a description and a tuple of transforms. Each transform is a frozen
dataclass, validated when it is built, whose ``apply(usage, catalog)`` returns the transformed
``(UsageMatrix, PriceCatalog)`` pair; :meth:`Scenario.apply` threads the pair through the
transforms in order, so order matters where it should (growth after a migration grows the
migrated usage too). Usage transforms leave the catalog alone; :class:`PriceChange` transforms
only the catalog. Every transform works on the hours × keys matrix at once: no loop over hours.

Transforms
----------
:class:`Growth`
    ``(1 + p/100) ** months`` from ``start``, months = elapsed hours ÷ 730 (AWS's average month):
    smooth compounding that equals the monthly closed form on every 730-hour mark.
:class:`Migration`
    a share of the selected usage moves to another family and/or platform, ramping linearly from
    ``start`` to ``end``; normalized units are kept (see :class:`Migration` for sizes).
:class:`Exit`
    the selected usage stops from ``at`` on.
:class:`NewWorkload`
    added usage: one key with a count per hour and an optional daily cycle, or a canonical usage
    CSV.
:class:`PriceChange`
    scales on-demand, RI and/or Savings Plans rates of the selected keys in the catalog.
"""

from __future__ import annotations

import difflib
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import ClassVar, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from core.errors import CommitoptInputError, param
from core.times import as_utc
from core.units import HOURS_PER_MONTH
from pricing.catalog import PriceCatalog
from pricing.errors import UnknownInstanceTypeError, UnknownPlatformError
from pricing.instance_types import (
    instance_families,
    normalization_factor,
    normalization_factors,
    parse_instance_type,
)
from pricing.regions import REGION_CODES
from pricing.services import parse_key_platform
from usage.table import KEY_COLUMNS, UsageMatrix, to_matrix

RATE_TABLES: Final = ("on_demand", "reserved", "savings_plans")
"""Catalog tables a :class:`PriceChange` can scale."""
SELECTION_FIELDS: Final = ("account", "region", "family", "platform", "instance_type")
"""Field names of a selection in a scenario file (each a string or a list of strings)."""
_NS_PER_HOUR: Final = 3_600_000_000_000
_SHOWN: Final = 8
_MAX_RUNS: Final = 64

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
Applied = tuple[UsageMatrix, PriceCatalog]


class ScenarioError(CommitoptInputError):
    """A scenario or transform that cannot be used as given.

    Parameters
    ----------
    problem
        What is wrong, naming the bad value.
    field
        The field it is in, as a scenario file spells it (``share``, ``where.region``).
    fix
        What to do about it.
    location
        Where the transform is: ``"scenarios/x.yaml transform 2"``.

    The message is one line: ``problem in location (field); fix``.
    """

    def __init__(self, problem: str, *, field: str = "", fix: str = "", location: str = "") -> None:
        self.problem = problem
        self.field = field
        self.fix = fix
        self.location = location
        text = problem
        if location:
            text += f" in {location}"
        if field:
            text += f" ({field})" if location else f" (field {field})"
        if fix:
            text += f"; {fix}"
        super().__init__(text)

    def located(self, location: str, field_prefix: str = "") -> ScenarioError:
        """The same error placed at ``location``, its field under ``field_prefix``."""
        if self.location:
            return self
        name = ".".join(part for part in (field_prefix, self.field) if part)
        return ScenarioError(self.problem, field=name, fix=self.fix, location=location)


def suggestion(word: str, choices: Iterable[str], *, listing: bool = True) -> str:
    """``"did you mean 'x'?"`` for the closest of ``choices``, else the list of them (or ``""``)."""
    options = sorted(set(choices))
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    if not listing:
        return ""
    shown = ", ".join(options[:_SHOWN]) + (", ..." if len(options) > _SHOWN else "")
    return f"use one of {shown}" if options else "nothing is there to choose from"


def as_utc_time(value: object, field: str) -> pd.Timestamp:
    """A date or time as a UTC timestamp (naive values are UTC).

    Raises
    ------
    ScenarioError
        For anything that is not an ISO 8601 date or time.
    """
    fix = "give an ISO 8601 date or time such as 2024-06-01 or 2024-06-01T12:00:00Z"
    if isinstance(value, bool) or not isinstance(value, str | date | datetime | pd.Timestamp):
        raise ScenarioError(f"malformed date {value!r}", field=field, fix=fix)
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ScenarioError(f"malformed date {value!r}", field=field, fix=fix) from None
    if stamp is pd.NaT or pd.isna(stamp):
        raise ScenarioError(f"malformed date {value!r}", field=field, fix=fix)
    stamp = as_utc(stamp)
    return stamp.as_unit("ns")


def _number(value: object, field: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ScenarioError(f"{field} {value!r} is not a number", field=field, fix=f"give {what}")
    number = float(value)
    if not math.isfinite(number):
        raise ScenarioError(f"{field} {value!r} is not finite", field=field, fix=f"give {what}")
    return number


def _texts(value: object, field: str) -> tuple[str, ...]:
    """A string or a sequence of strings as a tuple of stripped, non-empty strings."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Sequence) or any(not isinstance(v, str) for v in items):
        raise ScenarioError(
            f"{field} {value!r} is not a name or a list of names", field=field, fix="give text"
        )
    texts = tuple(str(v).strip() for v in items)
    if any(not text for text in texts):
        raise ScenarioError(f"{field} has an empty name", field=field, fix="remove it")
    return texts


def check_family(name: str, field: str) -> str:
    """``name`` if it is spelled like an instance family (``m5``, ``m7i-flex``), else raise."""
    try:
        parsed = parse_instance_type(f"{name}.large")
    except UnknownInstanceTypeError:
        parsed = None
    if "." in name or parsed is None or parsed.family != name:
        raise ScenarioError(
            f"{name!r} is not an instance family",
            field=field,
            fix="give a family such as 'm5' (an instance type goes in instance_type)",
        )
    return name


def check_platform(name: str, field: str) -> str:
    """The canonical platform of a key for ``name`` (an EC2 RI product description or alias, a
    database engine, ``fargate-linux``, ``lambda``, ...), else raise."""
    try:
        return parse_key_platform(name)
    except UnknownPlatformError:
        raise ScenarioError(
            f"unknown platform {name!r}",
            field=field,
            fix="use Linux/UNIX, Windows, Red Hat Enterprise Linux, SUSE Linux, ... or an alias "
            "(linux, windows, rhel, suse); a database engine (mysql, redis, ...); "
            "fargate-linux, fargate-windows, lambda or sagemaker-<component>",
        ) from None


def check_region(name: str, field: str) -> str:
    """``name`` if it is an AWS region code, else raise with the closest one."""
    if name not in REGION_CODES:
        raise ScenarioError(
            f"unknown region {name!r}", field=field, fix=suggestion(name, REGION_CODES)
        )
    return name


def check_instance_type(name: str, field: str) -> str:
    """``name`` if it parses as an instance type with a normalization factor, else raise."""
    try:
        normalization_factor(name)
    except UnknownInstanceTypeError as error:
        raise ScenarioError(str(error), field=field) from None
    return name


def _frozen_set(instance: object, name: str, value: object) -> None:
    object.__setattr__(instance, name, value)


@dataclass(frozen=True)
class Selection:
    """Which usage keys (or catalog rates) a transform acts on: every non-empty filter must match.

    Attributes
    ----------
    accounts, regions, families, platforms, instance_types
        Allowed values (a single string is accepted too); an empty tuple does not filter.
        Platforms may be aliases (``linux``) and are stored canonical.
    """

    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    instance_types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _frozen_set(self, "accounts", _texts(self.accounts, "account"))
        regions = _texts(self.regions, "region")
        _frozen_set(self, "regions", tuple(check_region(r, "region") for r in regions))
        families = _texts(self.families, "family")
        _frozen_set(self, "families", tuple(check_family(f, "family") for f in families))
        platforms = _texts(self.platforms, "platform")
        _frozen_set(self, "platforms", tuple(check_platform(p, "platform") for p in platforms))
        types = _texts(self.instance_types, "instance_type")
        _frozen_set(
            self, "instance_types", tuple(check_instance_type(t, "instance_type") for t in types)
        )

    def _filters(self) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
        """(file field, key column, allowed values) of every filter."""
        return (
            ("account", "account_id", self.accounts),
            ("region", "region", self.regions),
            ("family", "instance_family", self.families),
            ("platform", "platform", self.platforms),
            ("instance_type", "instance_type", self.instance_types),
        )

    @property
    def is_everything(self) -> bool:
        """Whether no filter is set (every key matches)."""
        return not any(values for _, _, values in self._filters())

    def describe(self) -> str:
        """``"region eu-west-2, family m4"`` or ``"all usage"``."""
        parts = [f"{name} {', '.join(v)}" for name, _, v in self._filters() if v]
        return "; ".join(parts) if parts else "all usage"

    def to_mapping(self) -> dict[str, str | list[str]]:
        """The selection as a scenario file writes it."""
        return {
            name: values[0] if len(values) == 1 else list(values)
            for name, _, values in self._filters()
            if values
        }

    def mask(self, keys: pd.DataFrame) -> BoolArray:
        """Which rows of a key table (usage keys or catalog rates) match.

        ``keys`` needs ``region``, ``instance_type``, ``platform`` and, when accounts are
        filtered, ``account_id``.
        """
        keep = np.ones(len(keys), dtype=bool)
        for _, column, values in self._filters():
            if not values:
                continue
            if column == "instance_family":
                present = instance_families(keys["instance_type"])
            else:
                present = keys[column].astype("string").fillna("")
            keep &= present.isin(list(values)).to_numpy(dtype=bool)
        return keep

    def check_present(
        self, keys: pd.DataFrame, what: str = "the usage", prefix: str = "where"
    ) -> BoolArray:
        """:meth:`mask`, after checking that every named value occurs in ``keys``.

        ``prefix`` is the selection's field in the transform (``where``, ``from``), for messages.

        Raises
        ------
        ScenarioError
            Naming the first value absent from ``keys`` (and what is there), or saying that
            the filters together match nothing.
        """
        for name, column, values in self._filters():
            if not values:
                continue
            if column == "account_id" and column not in keys:
                raise ScenarioError(
                    "a price change cannot select accounts (prices do not depend on the account)",
                    field=f"{prefix}.{name}",
                    fix="select by region, family, platform or instance_type",
                )
            present = (
                instance_families(keys["instance_type"])
                if column == "instance_family"
                else keys[column].astype("string").fillna("")
            )
            there = set(present.dropna().astype(str))
            for value in values:
                if value not in there:
                    plural = {"family": "families", "account": "accounts"}.get(name, f"{name}s")
                    shown = sorted(there)
                    listing = ", ".join(shown[:_SHOWN]) + (", ..." if len(shown) > _SHOWN else "")
                    raise ScenarioError(
                        f"{name} {value!r} is absent from {what} ({plural} there: "
                        f"{listing or 'none'})",
                        field=f"{prefix}.{name}",
                        fix=(suggestion(value, there, listing=False) if name == "account" else "")
                        or f"name a {name} that {what} has, or drop this transform",
                    )
        mask = self.mask(keys)
        if not mask.any():
            raise ScenarioError(
                f"the selection ({self.describe()}) matches nothing in {what}",
                field=prefix,
                fix="these values never occur together; loosen the selection",
            )
        return mask


def _hour_ns(hours: pd.DatetimeIndex) -> npt.NDArray[np.int64]:
    return hours.asi8.astype(np.int64)


def merge_keys(usage: UsageMatrix, keys: pd.DataFrame, quantity: FloatArray) -> UsageMatrix:
    """Add columns of usage to a matrix; columns of keys it already has are summed into them.

    Parameters
    ----------
    usage
        The matrix to add to.
    keys
        :data:`usage.table.KEY_COLUMNS` of the added columns (duplicates are summed too).
    quantity
        Added usage, hours of ``usage`` × rows of ``keys`` [instance-hours].

    Returns
    -------
    UsageMatrix
        Keys sorted, as :func:`usage.table.to_matrix` makes them. Added columns of new keys
        that are zero in every hour are left out.
    """
    quantity = np.asarray(quantity, dtype=np.float64)
    used = quantity.any(axis=0) if len(quantity) else np.zeros(quantity.shape[1], dtype=bool)
    added = keys.reset_index(drop=True).iloc[np.flatnonzero(used)][list(KEY_COLUMNS)]
    quantity = quantity[:, used]
    both = pd.concat([usage.keys, added], ignore_index=True)
    both = both.astype({column: "string" for column in KEY_COLUMNS})
    grouped = both.groupby(list(KEY_COLUMNS), sort=True, observed=True, dropna=False)
    codes = grouped.ngroup().to_numpy(dtype=np.int64)
    merged_keys = grouped.size().index.to_frame(index=False)[list(KEY_COLUMNS)]
    merged_keys = merged_keys.astype({c: "string" for c in KEY_COLUMNS}).reset_index(drop=True)
    n_old = len(usage.keys)
    merged = np.empty((len(usage.hours), len(merged_keys)), dtype=np.float64)
    old_codes = codes[:n_old]  # existing keys map one to one, mostly in runs of columns
    breaks = np.flatnonzero(np.diff(old_codes) != 1) + 1
    starts, stops = np.r_[0, breaks], np.r_[breaks, n_old]
    if len(starts) <= _MAX_RUNS:
        for first, stop in zip(starts.tolist(), stops.tolist(), strict=True):
            target = int(old_codes[first]) if n_old else 0
            merged[:, target : target + stop - first] = usage.quantity[:, first:stop]
    else:
        merged[:, old_codes] = usage.quantity
    new_codes, slot = np.unique(codes[n_old:], return_inverse=True)
    fresh = np.setdiff1d(new_codes, old_codes, assume_unique=True)
    merged[:, fresh] = 0.0
    if len(new_codes):
        # added columns that share a key are summed: a (added × distinct) 0/1 matrix product
        assign = sparse.csr_array(
            (np.ones(len(slot)), (np.arange(len(slot)), slot)),
            shape=(len(slot), len(new_codes)),
        )
        merged[:, new_codes] += np.asarray(assign.T @ quantity.T).T
    return replace(usage, keys=merged_keys, quantity=merged)


def _with_quantity(usage: UsageMatrix, quantity: FloatArray) -> UsageMatrix:
    return replace(usage, quantity=quantity)


class Transform(ABC):
    """A what-if step: ``apply`` returns the transformed usage and catalog."""

    kind: ClassVar[str]
    """The transform's name in a scenario file (``growth``, ``migration``, ...)."""

    @abstractmethod
    def apply(self, usage: UsageMatrix, catalog: PriceCatalog) -> Applied:
        """Return the transformed ``(usage, catalog)``; the inputs are not modified.

        Raises
        ------
        ScenarioError
            When the transform names things the usage or catalog does not have.
        """

    @abstractmethod
    def to_mapping(self) -> dict[str, object]:
        """The transform's fields as a scenario file writes them (without the kind)."""


def _iso(stamp: pd.Timestamp | None) -> str | None:
    return None if stamp is None else stamp.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Growth(Transform):
    """Usage grows (or, negative, declines) by a percentage per month, compounding.

    Attributes
    ----------
    percent_per_month
        Growth per month [%]; > -100. Negative values are a decline.
    start
        From when; before it nothing changes [UTC]. ``None``: the first hour of the usage.
    where
        Which usage grows (all by default).

    Notes
    -----
    The factor at an hour ``t >= start`` is ``(1 + percent_per_month/100) ** months`` with
    ``months = (t - start) / 730 h``: compounding continuous in time, equal to the monthly closed
    form ``(1 + g) ** k`` at ``t = start + k × 730 h``.
    """

    kind: ClassVar[str] = "growth"
    percent_per_month: float
    start: pd.Timestamp | None = None
    where: Selection = field(default_factory=Selection)

    def __post_init__(self) -> None:
        percent = _number(self.percent_per_month, "percent_per_month", "a percentage per month")
        if percent <= -100.0:
            raise ScenarioError(
                f"percent_per_month {percent:g} would remove more than all usage",
                field="percent_per_month",
                fix="give a value above -100 (an exit stops usage altogether)",
            )
        _frozen_set(self, "percent_per_month", percent)
        if self.start is not None:
            _frozen_set(self, "start", as_utc_time(self.start, "start"))

    @classmethod
    def decline(
        cls, percent_per_month: float, start: object = None, where: Selection | None = None
    ) -> Growth:
        """A decline of ``percent_per_month`` [%] per month: ``Growth(-percent_per_month)``."""
        value = _number(percent_per_month, "percent_per_month", "a percentage per month")
        return cls(-value, start, where or Selection())  # type: ignore[arg-type]

    def factors(self, hours: pd.DatetimeIndex) -> FloatArray:
        """The growth factor of each hour [1]."""
        hour_ns = _hour_ns(hours)
        origin = self.start.value if self.start is not None else (hour_ns[0] if len(hours) else 0)
        months = np.maximum(hour_ns - origin, 0) / (HOURS_PER_MONTH * _NS_PER_HOUR)
        return np.power(1.0 + self.percent_per_month / 100.0, months)

    def apply(self, usage: UsageMatrix, catalog: PriceCatalog) -> Applied:
        """Multiply the selected columns by :meth:`factors`."""
        factors = self.factors(usage.hours)[:, None]
        if self.where.is_everything:
            return _with_quantity(usage, usage.quantity * factors), catalog
        columns = np.flatnonzero(self.where.check_present(usage.keys))
        quantity = usage.quantity.copy()
        quantity[:, columns] *= factors
        return _with_quantity(usage, quantity), catalog

    def to_mapping(self) -> dict[str, object]:
        """Fields as a scenario file writes them."""
        mapping: dict[str, object] = {"percent_per_month": self.percent_per_month}
        if self.start is not None:
            mapping["start"] = _iso(self.start)
        if not self.where.is_everything:
            mapping["where"] = self.where.to_mapping()
        return mapping


@dataclass(frozen=True)
class Exit(Transform):
    """The selected usage (an account, region, family, ...) stops at a date.

    Attributes
    ----------
    where
        Which usage stops; at least one filter.
    at
        From this time on the usage is zero [UTC].
    """

    kind: ClassVar[str] = "exit"
    where: Selection
    at: pd.Timestamp

    def __post_init__(self) -> None:
        if not isinstance(self.where, Selection) or self.where.is_everything:
            raise ScenarioError(
                "an exit needs a selection",
                field="where",
                fix=f"name at least one of {', '.join(SELECTION_FIELDS)}",
            )
        _frozen_set(self, "at", as_utc_time(self.at, "at"))

    def apply(self, usage: UsageMatrix, catalog: PriceCatalog) -> Applied:
        """Zero the selected columns from ``at`` on."""
        columns = self.where.check_present(usage.keys)
        rows = _hour_ns(usage.hours) >= self.at.value
        quantity = usage.quantity.copy()
        quantity[np.ix_(rows, columns)] = 0.0
        return _with_quantity(usage, quantity), catalog

    def to_mapping(self) -> dict[str, object]:
        """Fields as a scenario file writes them."""
        return {"where": self.where.to_mapping(), "at": _iso(self.at)}


def target_type(source_type: str, target_family: str, target_sizes: Sequence[str]) -> str:
    """The instance type of ``target_family`` that migrated ``source_type`` usage runs on.

    The same size when the target family has it; otherwise the smallest target size whose
    normalized units divide the source's (so a whole number of them replaces one source
    instance), and the smallest target size when none divides.

    Parameters
    ----------
    source_type
        E.g. ``m4.10xlarge`` (80 units).
    target_family
        E.g. ``m6g``.
    target_sizes
        The sizes the target family has (``large``, ``xlarge``, ...).
    """
    size = parse_instance_type(source_type).size
    if size in target_sizes:
        return f"{target_family}.{size}"
    units = normalization_factor(source_type)
    ordered = sorted(target_sizes, key=lambda s: normalization_factor(f"{target_family}.{s}"))
    for candidate in ordered:
        ratio = units / normalization_factor(f"{target_family}.{candidate}")
        if ratio >= 1.0 and ratio == round(ratio):
            return f"{target_family}.{candidate}"
    return f"{target_family}.{ordered[0]}"


def family_sizes(family: str, *tables: pd.DataFrame) -> tuple[str, ...]:
    """Sizes of ``family`` found in the ``instance_type`` column of the tables."""
    types = pd.concat([t["instance_type"].astype("string") for t in tables], ignore_index=True)
    types = pd.Series(types.dropna().unique(), dtype="string")
    if types.empty:
        return ()
    mine = types[instance_families(types) == family]
    return tuple(sorted(str(t).partition(".")[2] for t in mine))


def _sizes_by_place(
    family: str, *tables: pd.DataFrame
) -> dict[tuple[str, str, str], tuple[str, ...]]:
    """Sizes of ``family`` per (region, platform, tenancy) in the key columns of the tables."""
    place = ["region", "instance_type", "platform", "tenancy"]
    rows = pd.concat([t[place].astype("string") for t in tables], ignore_index=True)
    rows = rows.drop_duplicates()
    rows = rows.loc[(instance_families(rows["instance_type"]) == family).to_numpy()]
    sizes = rows["instance_type"].str.partition(".")[2]
    grouped = sizes.groupby([rows["region"], rows["platform"], rows["tenancy"]], sort=True)
    return {
        (str(r), str(p), str(t)): tuple(sorted(set(map(str, group))))
        for (r, p, t), group in grouped
    }


@dataclass(frozen=True)
class Migration(Transform):
    """Move a share of some usage to another family and/or platform over a linear ramp.

    Attributes
    ----------
    source
        The usage that moves: names a family, a platform or an instance type (and may narrow
        further by account or region).
    share
        Share of that usage moved once the ramp is over [0–1].
    start, end
        The ramp: nothing moved before ``start``, ``share`` from ``end`` on, linear in between
        [UTC]. ``end`` equal to ``start`` is a step.
    to_family, to_platform
        The destination (at least one). The rest of each key (account, region, tenancy) stays.
    target_sizes
        Sizes of the target family; empty: the sizes the price catalog and the usage have in
        the destination's region, platform and tenancy (in any, where that place has none).

    Notes
    -----
    Normalized units are kept, hour by hour: ``x`` instance-hours of a type with ``n`` units
    become ``x × n / m`` instance-hours of a target type with ``m`` units. The target type is
    the same size when the target family has it, else the smallest target size whose units
    divide ``n`` (see :func:`target_type`): ``m4.10xlarge`` (80) to a family without
    ``10xlarge`` whose smallest size is ``medium`` (2) becomes 40 ``medium``.
    """

    kind: ClassVar[str] = "migration"
    source: Selection
    share: float
    start: pd.Timestamp
    end: pd.Timestamp
    to_family: str | None = None
    to_platform: str | None = None
    target_sizes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.source, Selection) or not (
            self.source.families or self.source.platforms or self.source.instance_types
        ):
            raise ScenarioError(
                "a migration moves the usage of a family, platform or instance type",
                field="from",
                fix="name from.family, from.platform or from.instance_type",
            )
        share = _number(self.share, "share", "a fraction between 0 and 1")
        if not 0.0 <= share <= 1.0:
            raise ScenarioError(
                f"share {share:g} is outside [0, 1]",
                field="share",
                fix="give the fraction of the usage that moves, e.g. 0.5",
            )
        _frozen_set(self, "share", share)
        start, end = as_utc_time(self.start, "start"), as_utc_time(self.end, "end")
        if end < start:
            raise ScenarioError(
                f"the ramp ends ({_iso(end)}) before it starts ({_iso(start)})",
                field="end",
                fix="give an end on or after the start",
            )
        _frozen_set(self, "start", start)
        _frozen_set(self, "end", end)
        if self.to_family is None and self.to_platform is None:
            raise ScenarioError(
                "a migration needs a destination", field="to", fix="give to.family or to.platform"
            )
        if self.to_family is not None:
            _frozen_set(self, "to_family", check_family(str(self.to_family), "to.family"))
        if self.to_platform is not None:
            _frozen_set(self, "to_platform", check_platform(str(self.to_platform), "to.platform"))
        sizes = _texts(self.target_sizes, "to.sizes")
        if sizes and self.to_family is None:
            raise ScenarioError(
                "to.sizes needs to.family", field="to.sizes", fix="give to.family or drop sizes"
            )
        for size in sizes:
            check_instance_type(f"{self.to_family}.{size}", "to.sizes")
        _frozen_set(self, "target_sizes", sizes)
        same_family = self.to_family is None or self.source.families == (self.to_family,)
        same_platform = self.to_platform is None or self.source.platforms == (self.to_platform,)
        if same_family and same_platform:
            raise ScenarioError(
                "the migration moves usage to where it already is",
                field="to",
                fix="give another family or platform",
            )

    def ramp(self, hours: pd.DatetimeIndex) -> FloatArray:
        """Share of the selected usage moved in each hour [0–1]."""
        hour_ns = _hour_ns(hours).astype(np.float64)
        span = float(self.end.value - self.start.value)
        if span <= 0:
            progress = (hour_ns >= self.start.value).astype(np.float64)
        else:
            progress = np.clip((hour_ns - self.start.value) / span, 0.0, 1.0)
        return self.share * progress

    def _targets(
        self, keys: pd.DataFrame, usage_keys: pd.DataFrame, catalog: PriceCatalog
    ) -> tuple[pd.DataFrame, FloatArray]:
        """Destination keys of ``keys`` and the instance-hour ratio of each (source ÷ target NU).

        Target sizes come from :attr:`target_sizes`, else from the catalog and ``usage_keys``:
        those of the destination's region, platform and tenancy where it has some, else those of
        the family anywhere.
        """
        targets = keys.loc[:, list(KEY_COLUMNS)].reset_index(drop=True).copy()
        ratio = np.ones(len(keys), dtype=np.float64)
        if self.to_platform is not None:
            targets["platform"] = self.to_platform
        if self.to_family is not None:
            sizes = self.target_sizes or family_sizes(self.to_family, catalog.on_demand, usage_keys)
            if not sizes:
                known = set(instance_families(catalog.on_demand["instance_type"].drop_duplicates()))
                raise ScenarioError(
                    f"family {self.to_family!r} is unknown: neither the price catalog nor the "
                    "usage has an instance type of it",
                    field="to.family",
                    fix=(
                        suggestion(self.to_family, known, listing=False)
                        or "import its prices (`commitopt pricing import` / `pricing fetch`) "
                        f"and pass {param('catalog_paths')}, or give to.sizes"
                    ),
                )
            local = (
                {}
                if self.target_sizes
                else _sizes_by_place(self.to_family, catalog.on_demand, usage_keys)
            )
            place = ["instance_type", "region", "platform", "tenancy"]
            codes, uniques = pd.factorize(pd.MultiIndex.from_frame(targets[place]))
            mapped = [
                target_type(str(kind), self.to_family, local.get((r, p, t), sizes))
                for kind, r, p, t in uniques
            ]
            new_types = np.asarray(mapped, dtype=object)[codes]
            targets["instance_type"] = pd.array(new_types, dtype="string")
            ratio = normalization_factors(keys["instance_type"]) / normalization_factors(
                targets["instance_type"]
            )
        return targets.astype({c: "string" for c in KEY_COLUMNS}), ratio

    def apply(self, usage: UsageMatrix, catalog: PriceCatalog) -> Applied:
        """Move ``ramp × usage`` of the selected keys to their destination keys."""
        columns = self.source.check_present(usage.keys, prefix="from")
        chosen = np.flatnonzero(columns)
        keys = usage.keys.iloc[chosen].reset_index(drop=True)
        targets, ratio = self._targets(keys, usage.keys, catalog)
        moving = ~(targets[list(KEY_COLUMNS)] == keys[list(KEY_COLUMNS)]).all(axis=1).to_numpy()
        chosen, keys, targets, ratio = (
            chosen[moving],
            keys.loc[moving],
            targets.loc[moving].reset_index(drop=True),
            ratio[moving],
        )
        quantity = usage.quantity.copy()
        moved = quantity[:, chosen] * self.ramp(usage.hours)[:, None]
        quantity[:, chosen] -= moved
        return merge_keys(_with_quantity(usage, quantity), targets, moved * ratio), catalog

    def to_mapping(self) -> dict[str, object]:
        """Fields as a scenario file writes them."""
        destination: dict[str, object] = {}
        if self.to_family is not None:
            destination["family"] = self.to_family
        if self.to_platform is not None:
            destination["platform"] = self.to_platform
        if self.target_sizes:
            destination["sizes"] = list(self.target_sizes)
        return {
            "from": self.source.to_mapping(),
            "to": destination,
            "share": self.share,
            "start": _iso(self.start),
            "end": _iso(self.end),
        }


@dataclass(frozen=True)
class NewWorkload(Transform):
    """Added usage: one key with a count per hour (and a daily cycle), or a usage CSV.

    Attributes
    ----------
    instance_type, region, platform, tenancy, account_id
        The added key (profile mode).
    count_per_hour
        Mean running instances [instances].
    daily_amplitude
        Half the daily swing, ``count + amplitude × cos(2π (hour − peak_hour_utc) / 24)``
        [instances]; at most ``count_per_hour``.
    peak_hour_utc
        Hour of the day of the peak [0–24).
    start, end
        The workload runs in ``[start, end)`` [UTC]; ``None``: from the first / to the last hour.
    csv
        A canonical usage CSV (or Parquet) to add instead of a profile; hours outside the
        simulated period are left out.
    """

    kind: ClassVar[str] = "new_workload"
    instance_type: str | None = None
    region: str | None = None
    platform: str = "Linux/UNIX"
    tenancy: str = "Shared"
    account_id: str = ""
    count_per_hour: float = 0.0
    daily_amplitude: float = 0.0
    peak_hour_utc: float = 14.0
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    csv: Path | None = None

    def __post_init__(self) -> None:
        if self.start is not None:
            _frozen_set(self, "start", as_utc_time(self.start, "start"))
        if self.end is not None:
            _frozen_set(self, "end", as_utc_time(self.end, "end"))
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ScenarioError(
                f"the workload ends ({_iso(self.end)}) before it starts ({_iso(self.start)})",
                field="end",
                fix="give an end after the start",
            )
        if self.csv is not None:
            if self.instance_type is not None or self.count_per_hour:
                raise ScenarioError(
                    "a new workload is either a profile or a csv, not both",
                    field="csv",
                    fix="remove csv or the profile fields",
                )
            _frozen_set(self, "csv", Path(self.csv))
            return
        if self.instance_type is None or self.region is None:
            raise ScenarioError(
                "a new workload needs an instance_type and a region (or a csv)",
                field="instance_type" if self.instance_type is None else "region",
                fix="give instance_type, region and count_per_hour, or csv: FILE",
            )
        _frozen_set(self, "instance_type", check_instance_type(self.instance_type, "instance_type"))
        _frozen_set(self, "region", check_region(self.region, "region"))
        _frozen_set(self, "platform", check_platform(self.platform, "platform"))
        tenancy = str(self.tenancy).strip().capitalize()
        if tenancy not in ("Shared", "Dedicated"):
            raise ScenarioError(
                f"unknown tenancy {self.tenancy!r}", field="tenancy", fix="use Shared or Dedicated"
            )
        _frozen_set(self, "tenancy", tenancy)
        _frozen_set(self, "account_id", str(self.account_id).strip())
        count = _number(self.count_per_hour, "count_per_hour", "instances per hour, >= 0")
        amplitude = _number(self.daily_amplitude, "daily_amplitude", "instances, >= 0")
        peak = _number(self.peak_hour_utc, "peak_hour_utc", "an hour of the day, 0 to 24")
        if count < 0:
            raise ScenarioError(
                f"count_per_hour {count:g} is negative", field="count_per_hour", fix="give >= 0"
            )
        if not 0 <= amplitude <= count:
            raise ScenarioError(
                f"daily_amplitude {amplitude:g} is outside [0, count_per_hour = {count:g}]",
                field="daily_amplitude",
                fix="usage cannot go below zero; give at most count_per_hour",
            )
        if not 0 <= peak < 24:
            raise ScenarioError(
                f"peak_hour_utc {peak:g} is outside [0, 24)", field="peak_hour_utc", fix="give 0-23"
            )
        _frozen_set(self, "count_per_hour", count)
        _frozen_set(self, "daily_amplitude", amplitude)
        _frozen_set(self, "peak_hour_utc", peak)

    def profile(self, hours: pd.DatetimeIndex) -> FloatArray:
        """The added instances of each hour [instance-hours]."""
        hour_ns = _hour_ns(hours)
        hour_of_day = hours.hour.to_numpy().astype(np.float64)
        cycle = np.cos(2 * np.pi * (hour_of_day - self.peak_hour_utc) / 24.0)
        running = self.count_per_hour + self.daily_amplitude * cycle
        inside = np.ones(len(hours), dtype=bool)
        if self.start is not None:
            inside &= hour_ns >= self.start.value
        if self.end is not None:
            inside &= hour_ns < self.end.value
        return np.where(inside, np.maximum(running, 0.0), 0.0)

    def apply(self, usage: UsageMatrix, catalog: PriceCatalog) -> Applied:
        """Add the profile's key, or the CSV's keys, to the usage."""
        if self.csv is not None:
            return self._apply_csv(usage), catalog
        key = pd.DataFrame(
            {
                "account_id": [self.account_id],
                "region": [self.region],
                "instance_type": [self.instance_type],
                "platform": [self.platform],
                "tenancy": [self.tenancy],
            },
            dtype="string",
        )
        return merge_keys(usage, key, self.profile(usage.hours)[:, None]), catalog

    def _apply_csv(self, usage: UsageMatrix) -> UsageMatrix:
        from usage.readers import read_usage  # the DuckDB readers load only when a CSV is used

        assert self.csv is not None
        if not self.csv.is_file():
            raise ScenarioError(
                f"usage file {str(self.csv)!r} not found",
                field="csv",
                fix="give a canonical usage CSV (paths are relative to the scenario file)",
            )
        frame, _ = read_usage([self.csv], "csv")
        if not len(usage.hours):
            return usage
        hour_ns = _hour_ns(usage.hours)
        first = int(hour_ns.min())
        added = to_matrix(
            frame,
            start=pd.Timestamp(first, tz="UTC"),
            end=pd.Timestamp(int(hour_ns.max()), tz="UTC") + pd.Timedelta(hours=1),
            source=str(self.csv),
        )
        # the rows of ``usage``'s hours (all of them, in order, for contiguous usage)
        quantity = added.quantity[(hour_ns - first) // _NS_PER_HOUR].copy()
        if self.start is not None:
            quantity[hour_ns < self.start.value] = 0.0
        if self.end is not None:
            quantity[hour_ns >= self.end.value] = 0.0
        return merge_keys(usage, added.keys, quantity)

    def to_mapping(self) -> dict[str, object]:
        """Fields as a scenario file writes them."""
        mapping: dict[str, object] = {}
        if self.csv is not None:
            mapping["csv"] = str(self.csv)
        else:
            mapping.update(
                instance_type=self.instance_type,
                region=self.region,
                platform=self.platform,
                tenancy=self.tenancy,
                account=self.account_id,
                count_per_hour=self.count_per_hour,
                daily_amplitude=self.daily_amplitude,
                peak_hour_utc=self.peak_hour_utc,
            )
        if self.start is not None:
            mapping["start"] = _iso(self.start)
        if self.end is not None:
            mapping["end"] = _iso(self.end)
        return mapping


@dataclass(frozen=True)
class PriceChange(Transform):
    """Scale rates of the selected keys in the catalog (the usage is untouched).

    Attributes
    ----------
    factor
        New rate ÷ old rate [1], > 0 (0.9 is a 10 % cut).
    rates
        Which tables: ``on_demand``, ``reserved`` (upfront, recurring and effective rates alike),
        ``savings_plans``.
    where
        Which keys (region, family, platform, instance type; not accounts).

    Notes
    -----
    The catalog is rebuilt with :meth:`PriceCatalog.from_frames`: scaled rows keep their source
    with `` × factor (scenario)`` appended, and scaled RI and Savings Plans rows are marked
    ``derived``.
    """

    kind: ClassVar[str] = "price_change"
    factor: float
    rates: tuple[str, ...] = ("on_demand",)
    where: Selection = field(default_factory=Selection)

    def __post_init__(self) -> None:
        factor = _number(self.factor, "factor", "new rate ÷ old rate, e.g. 0.9")
        if factor <= 0:
            raise ScenarioError(
                f"factor {factor:g} is not above zero",
                field="factor",
                fix="give new rate ÷ old rate, e.g. 0.9 for a 10 % cut",
            )
        _frozen_set(self, "factor", factor)
        rates = _texts(self.rates, "rates")
        if not rates:
            raise ScenarioError("no rates to change", field="rates", fix="name on_demand, ...")
        for rate in rates:
            if rate not in RATE_TABLES:
                raise ScenarioError(
                    f"unknown rates {rate!r}", field="rates", fix=suggestion(rate, RATE_TABLES)
                )
        _frozen_set(self, "rates", rates)
        if self.where.accounts:
            raise ScenarioError(
                "a price change cannot select accounts (prices do not depend on the account)",
                field="where.account",
                fix="select by region, family, platform or instance_type",
            )

    def apply(self, usage: UsageMatrix, catalog: PriceCatalog) -> Applied:
        """Return the usage and a catalog copy with the selected rates scaled."""
        columns = {
            "on_demand": ("on_demand_usd_per_hour",),
            "reserved": ("upfront_usd", "recurring_usd_per_hour", "effective_usd_per_hour"),
            "savings_plans": ("sp_hourly_usd",),
        }
        tables = {name: getattr(catalog, name).copy() for name in RATE_TABLES}
        matched = 0
        note = f" × {self.factor:g} (scenario)"
        for name in self.rates:
            table = tables[name]
            rows = (
                np.ones(len(table), dtype=bool)
                if self.where.is_everything
                else self.where.mask(table)
            )
            matched += int(rows.sum())
            for column in columns[name]:
                table.loc[rows, column] = table.loc[rows, column] * self.factor
            table.loc[rows, "source"] = table.loc[rows, "source"] + note
            if "derived" in table:
                table.loc[rows, "derived"] = True
        if not matched:
            self.where.check_present(tables[self.rates[0]], "the price catalog", "where")
            raise ScenarioError(
                f"the price change ({self.where.describe()}) matches no {', '.join(self.rates)} "
                "rate in the price catalog",
                field="where",
                fix="select keys the catalog prices (see `commitopt pricing info`)",
            )
        metadata = replace(
            catalog.metadata,
            notes=(
                *catalog.metadata.notes,
                f"scenario price change: {', '.join(self.rates)} rates of "
                f"{self.where.describe()} × {self.factor:g}",
            ),
        )
        changed = PriceCatalog.from_frames(
            metadata,
            on_demand=tables["on_demand"],
            reserved=tables["reserved"],
            savings_plans=tables["savings_plans"],
        )
        return usage, changed

    def to_mapping(self) -> dict[str, object]:
        """Fields as a scenario file writes them."""
        mapping: dict[str, object] = {"factor": self.factor, "rates": list(self.rates)}
        if not self.where.is_everything:
            mapping["where"] = self.where.to_mapping()
        return mapping


TRANSFORM_KINDS: Final[dict[str, type[Transform]]] = {
    kind.kind: kind for kind in (Growth, Migration, Exit, NewWorkload, PriceChange)
}
"""Transform classes by their name in scenario files (``decline`` is a negative growth)."""


def _unpriced(keys: pd.DataFrame, catalog: PriceCatalog) -> list[str]:
    """Keys with usage but without an on-demand rate, as ``region type platform tenancy``."""
    if keys.empty:
        return []
    rates = catalog.on_demand_rates(keys)
    missing = np.isnan(rates)
    if not missing.any():
        return []
    absent = keys.loc[missing, ["region", "instance_type", "platform", "tenancy"]].drop_duplicates()
    return [" ".join(map(str, row)) for row in absent.itertuples(index=False)]


@dataclass(frozen=True)
class Scenario:
    """A named what-if: transforms applied in order to usage and prices.

    Attributes
    ----------
    name
        Short name, shown as the scenario's row.
    description
        One sentence for people.
    transforms
        Applied in order by :meth:`apply`.
    source
        The file it was read from (for messages), empty for one built in Python.
    """

    name: str
    description: str = ""
    transforms: tuple[Transform, ...] = ()
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ScenarioError(
                "a scenario needs a name", field="name", fix="give name: TEXT", location=self.source
            )
        _frozen_set(self, "name", self.name.strip())
        _frozen_set(self, "transforms", tuple(self.transforms))
        for index, transform in enumerate(self.transforms, start=1):
            if not isinstance(transform, Transform):
                raise ScenarioError(
                    f"transform {index} is a {type(transform).__name__}, not a transform",
                    fix=f"use one of {', '.join(TRANSFORM_KINDS)}",
                    location=self.source,
                )

    def location(self, index: int) -> str:
        """``"x.yaml transform 2"`` (or ``"scenario 'name' transform 2"``)."""
        where = self.source or f"scenario {self.name!r}"
        return f"{where} transform {index}"

    def apply(self, usage: pd.DataFrame | UsageMatrix, catalog: PriceCatalog) -> Applied:
        """Apply the transforms in order.

        Parameters
        ----------
        usage
            The canonical usage table or its matrix; the hours stay the same.
        catalog
            The prices; only price changes change them.

        Returns
        -------
        tuple of UsageMatrix and PriceCatalog
            The scenario's usage and prices, ready for :func:`billing.simulator.simulate`.

        Raises
        ------
        ScenarioError
            Naming the scenario file (or name), the transform and the field: a selection absent
            from the usage, an unknown target family, added usage without an on-demand price.
        """
        matrix = usage if isinstance(usage, UsageMatrix) else to_matrix(usage)
        for index, transform in enumerate(self.transforms, start=1):
            before = matrix.keys
            try:
                matrix, catalog = transform.apply(matrix, catalog)
            except ScenarioError as error:
                raise error.located(self.location(index), transform.kind) from None
            if len(matrix.keys) != len(before):
                added = matrix.keys.merge(before, how="left", indicator=True)
                fresh = matrix.keys.loc[(added["_merge"] == "left_only").to_numpy()]
                unpriced = _unpriced(fresh, catalog)
                if unpriced:
                    shown = ", ".join(unpriced[:3]) + (" and more" if len(unpriced) > 3 else "")
                    raise ScenarioError(
                        f"no on-demand price for the added usage of {shown}",
                        location=self.location(index),
                        fix="import prices for it (`commitopt pricing import` / `pricing fetch`) "
                        f"and pass {param('catalog_paths')}",
                    )
        return matrix, catalog

    def to_mapping(self) -> dict[str, object]:
        """The scenario as a scenario file writes it."""
        return {
            "name": self.name,
            "description": self.description,
            "transforms": [{t.kind: t.to_mapping()} for t in self.transforms],
        }


BASELINE: Final = Scenario("baseline", "the usage and prices as given")
"""The scenario without transforms."""


__all__ = [
    "BASELINE",
    "HOURS_PER_MONTH",
    "RATE_TABLES",
    "SELECTION_FIELDS",
    "TRANSFORM_KINDS",
    "Exit",
    "Growth",
    "Migration",
    "NewWorkload",
    "PriceChange",
    "Scenario",
    "ScenarioError",
    "Selection",
    "Transform",
    "as_utc_time",
    "family_sizes",
    "merge_keys",
    "suggestion",
    "target_type",
]
