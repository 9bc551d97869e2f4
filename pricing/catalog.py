"""The price catalog: on-demand rates, RI offerings and Savings Plans rates for instance keys.

A key is ``(region, instance_type, platform, tenancy)``. The catalog holds three long tables,
validated on construction:

``on_demand``
    one row per key: ``on_demand_usd_per_hour`` [USD/h].
``reserved``
    one row per key and offering (``offering_class``, ``term_years``, ``payment_option``):
    ``upfront_usd`` [USD per RI], ``recurring_usd_per_hour`` [USD/h] and
    ``effective_usd_per_hour`` = upfront ÷ term hours + recurring [USD/h].
``savings_plans``
    one row per key and plan (``plan_type`` compute / ec2_instance, ``term_years``,
    ``payment_option``): ``sp_hourly_usd``, the rate charged against the commitment for one
    instance-hour [USD/h].

Every row carries its ``source`` and a ``derived`` flag (true where the rate was computed from
another, e.g. Savings Plans rates derived from RI rates). Catalogs merge with a stated precedence
and are saved as one Parquet file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pricing.atomic import atomic_output_path
from pricing.errors import (
    CatalogValidationError,
    MissingPriceError,
    PriceFileError,
    UnknownInstanceTypeError,
)
from pricing.instance_types import instance_families
from pricing.offerings import (
    OFFERING_CLASSES,
    PAYMENT_OPTIONS,
    SAVINGS_PLAN_TYPES,
    TERM_HOURS,
)
from pricing.services import KEY_PLATFORMS, KEY_TENANCIES, SERVICE_MISMATCH_FIX, misfit_keys

KEY_COLUMNS: Final = ("region", "instance_type", "platform", "tenancy")
RESERVED_OFFERING_COLUMNS: Final = ("offering_class", "term_years", "payment_option")
SAVINGS_PLAN_COLUMNS: Final = ("plan_type", "term_years", "payment_option")

ON_DEMAND_SCHEMA: Final[dict[str, str]] = {
    "region": "string",
    "instance_type": "string",
    "platform": "string",
    "tenancy": "string",
    "on_demand_usd_per_hour": "float64",
    "source": "string",
}
RESERVED_SCHEMA: Final[dict[str, str]] = {
    "region": "string",
    "instance_type": "string",
    "platform": "string",
    "tenancy": "string",
    "offering_class": "string",
    "term_years": "int64",
    "payment_option": "string",
    "upfront_usd": "float64",
    "recurring_usd_per_hour": "float64",
    "effective_usd_per_hour": "float64",
    "source": "string",
    "derived": "bool",
}
SAVINGS_PLANS_SCHEMA: Final[dict[str, str]] = {
    "region": "string",
    "instance_type": "string",
    "platform": "string",
    "tenancy": "string",
    "plan_type": "string",
    "term_years": "int64",
    "payment_option": "string",
    "sp_hourly_usd": "float64",
    "source": "string",
    "derived": "bool",
}

EFFECTIVE_RATE_TOLERANCE_USD: Final = 1e-6
"""Allowed gap between ``effective_usd_per_hour`` and upfront ÷ term hours + recurring [USD/h]."""

LOOKUP_CACHE_ENTRIES: Final = 512
"""Look-ups a catalog remembers (:meth:`PriceCatalog.on_demand_rates` and the other two) before
it forgets them all [look-ups]."""

_PARQUET_METADATA_KEY: Final = b"commitopt.catalog"
_FORMAT_VERSION: Final = 2
"""Version of the catalog Parquet layout: 2 names hourly rates ``*_usd_per_hour``."""

_FORMER_COLUMNS: Final = {
    "on_demand_hourly_usd": "on_demand_usd_per_hour",
    "recurring_hourly_usd": "recurring_usd_per_hour",
    "effective_hourly_usd": "effective_usd_per_hour",
}
"""Column names of format 1 (``*_hourly_usd``), read as their format-2 names."""


@dataclass(frozen=True, slots=True)
class CatalogMetadata:
    """Where a catalog's prices come from and how to read them.

    Attributes
    ----------
    source
        Human-readable origin, e.g. ``"AWS Price List bulk CSV AmazonEC2 20250912225308"``.
    as_of
        Date the prices were published or fetched.
    currency
        ISO currency code of every rate; commitopt works in ``USD``.
    derived_rates
        Which rates were derived from others, and how (empty when none).
    partial_upfront_split
        How Partial Upfront effective rates were split into upfront and recurring when the source
        gave only effective rates (empty when the source gave both parts).
    notes
        Further caveats shown by ``pricing info`` (e.g. which families the source predates).
    """

    source: str
    as_of: date
    currency: str = "USD"
    derived_rates: str = ""
    partial_upfront_split: str = ""
    notes: tuple[str, ...] = ()

    def to_json(self) -> str:
        """Serialise to JSON (for Parquet metadata)."""
        payload = asdict(self)
        payload["as_of"] = self.as_of.isoformat()
        payload["notes"] = list(self.notes)
        return json.dumps(payload, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CatalogMetadata:
        """Inverse of :meth:`to_json`."""
        payload = json.loads(text)
        payload["as_of"] = date.fromisoformat(payload["as_of"])
        payload["notes"] = tuple(payload.get("notes", ()))
        return cls(**payload)


def _conform(frame: pd.DataFrame, schema: dict[str, str], table: str) -> pd.DataFrame:
    """Return ``frame`` with ``schema``'s columns and dtypes, or raise naming what is missing."""
    missing = [column for column in schema if column not in frame.columns]
    if missing:
        raise CatalogValidationError(
            f"{table} table lacks column(s) {', '.join(missing)}; expected {', '.join(schema)}"
        )
    conformed = frame.loc[:, list(schema)].reset_index(drop=True)
    for column, dtype in schema.items():
        if dtype == "float64":
            conformed[column] = pd.to_numeric(conformed[column], errors="coerce").astype("float64")
        elif dtype == "bool":
            conformed[column] = conformed[column].fillna(False).astype("bool")
        elif dtype == "int64":
            numbers = pd.to_numeric(conformed[column], errors="coerce")
            if numbers.isna().any():
                raise CatalogValidationError(f"{table} table has missing or non-numeric {column}")
            conformed[column] = numbers.astype("int64")
        else:
            conformed[column] = conformed[column].astype("string")
    return conformed


def _describe_rows(
    frame: pd.DataFrame, mask: pd.Series | npt.NDArray[np.bool_], limit: int = 3
) -> str:
    """Describe the first rows selected by ``mask`` as ``region type platform tenancy``."""
    rows = frame.loc[np.asarray(mask)].head(limit)
    text = "; ".join(" ".join(str(value) for value in row) for row in rows.itertuples(index=False))
    extra = int(np.asarray(mask).sum()) - len(rows)
    return text + (f" and {extra} more" if extra > 0 else "")


def _check_values(frame: pd.DataFrame, table: str, rate_columns: Sequence[str]) -> None:
    """Check key values, categorical values and rates of one table."""
    for column in ("region", "instance_type", "platform", "tenancy", "source"):
        codes, uniques = pd.factorize(frame[column])
        blank = np.array([not str(u).strip() for u in uniques] + [True], dtype=bool)
        empty = blank[codes]  # code -1 (missing) takes the trailing True
        if empty.any():
            raise CatalogValidationError(
                f"{table} table has {int(empty.sum())} row(s) with an empty {column}: "
                f"{_describe_rows(frame, empty)}"
            )
    allowed: dict[str, Sequence[str]] = {"platform": KEY_PLATFORMS, "tenancy": KEY_TENANCIES}
    if "offering_class" in frame:
        allowed["offering_class"] = OFFERING_CLASSES
    if "plan_type" in frame:
        allowed["plan_type"] = SAVINGS_PLAN_TYPES
    if "payment_option" in frame:
        allowed["payment_option"] = PAYMENT_OPTIONS
    for column, values in allowed.items():
        bad = ~frame[column].isin(list(values))
        if bad.any():
            found = sorted(set(frame.loc[bad, column].astype(str)))[:5]
            raise CatalogValidationError(
                f"{table} table has unknown {column} value(s) {found}; allowed: {', '.join(values)}"
            )
    if "term_years" in frame:
        bad_term = ~frame["term_years"].isin(list(TERM_HOURS))
        if bad_term.any():
            raise CatalogValidationError(
                f"{table} table has term_years other than 1 or 3: {_describe_rows(frame, bad_term)}"
            )
    try:
        instance_families(frame["instance_type"])
    except UnknownInstanceTypeError as error:
        raise CatalogValidationError(f"{table} table: {error}") from error
    misfit = misfit_keys(frame["instance_type"], frame["platform"], frame["tenancy"])
    if misfit.any():
        raise CatalogValidationError(
            f"{table} table has a platform or tenancy of another service than the instance "
            f"type's for {_describe_rows(frame[list(KEY_COLUMNS)], misfit)}; "
            f"{SERVICE_MISMATCH_FIX}"
        )
    for column in rate_columns:
        rates = frame[column].to_numpy(dtype=np.float64)
        missing = ~np.isfinite(rates)
        if missing.any():
            raise CatalogValidationError(
                f"{table} table has missing or non-finite {column} for "
                f"{_describe_rows(frame[list(KEY_COLUMNS)], missing)}"
            )
        negative = rates < 0
        if negative.any():
            raise CatalogValidationError(
                f"{table} table has negative {column} for "
                f"{_describe_rows(frame[list(KEY_COLUMNS)], negative)}"
            )


def _check_unique(frame: pd.DataFrame, table: str, columns: Sequence[str]) -> None:
    duplicated = frame.duplicated(list(columns), keep=False)
    if duplicated.any():
        raise CatalogValidationError(
            f"{table} table has {int(duplicated.sum())} rows with a duplicated key "
            f"({', '.join(columns)}): {_describe_rows(frame[list(columns)], duplicated)}"
        )


def effective_usd_per_hour(
    upfront_usd: npt.ArrayLike, recurring_usd_per_hour: npt.ArrayLike, term_years: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Effective hourly cost of an RI: upfront ÷ term hours + recurring [USD/h]."""
    hours = np.where(np.asarray(term_years) == 3, TERM_HOURS[3], TERM_HOURS[1])
    return np.asarray(upfront_usd, dtype=np.float64) / hours + np.asarray(
        recurring_usd_per_hour, dtype=np.float64
    )


@dataclass(frozen=True)
class PriceCatalog:
    """Validated on-demand, RI and Savings Plans rates with their provenance.

    Build one with :meth:`from_frames` (which fills ``effective_usd_per_hour``, ``source`` and
    ``derived`` when absent) or load one with :meth:`read_parquet`. Direct construction validates
    too; tables are conformed to the schemas in this module.

    Raises
    ------
    CatalogValidationError
        On missing columns, empty keys, unknown platforms / tenancies / offerings, missing,
        non-finite or negative rates, duplicated keys, or an effective rate that is not
        upfront ÷ term hours + recurring.
    """

    on_demand: pd.DataFrame
    reserved: pd.DataFrame
    savings_plans: pd.DataFrame
    metadata: CatalogMetadata

    def __post_init__(self) -> None:
        if self.metadata.currency != "USD":
            raise CatalogValidationError(
                f"catalog currency is {self.metadata.currency}; commitopt prices in USD only — "
                "use a USD price list"
            )
        on_demand = _conform(self.on_demand, ON_DEMAND_SCHEMA, "on-demand")
        reserved = _conform(self.reserved, RESERVED_SCHEMA, "reserved")
        savings_plans = _conform(self.savings_plans, SAVINGS_PLANS_SCHEMA, "savings-plans")
        _check_values(on_demand, "on-demand", ["on_demand_usd_per_hour"])
        _check_values(
            reserved,
            "reserved",
            ["upfront_usd", "recurring_usd_per_hour", "effective_usd_per_hour"],
        )
        _check_values(savings_plans, "savings-plans", ["sp_hourly_usd"])
        _check_unique(on_demand, "on-demand", KEY_COLUMNS)
        _check_unique(reserved, "reserved", (*KEY_COLUMNS, *RESERVED_OFFERING_COLUMNS))
        _check_unique(savings_plans, "savings-plans", (*KEY_COLUMNS, *SAVINGS_PLAN_COLUMNS))
        expected = effective_usd_per_hour(
            reserved["upfront_usd"], reserved["recurring_usd_per_hour"], reserved["term_years"]
        )
        gap = np.abs(reserved["effective_usd_per_hour"].to_numpy() - expected)
        wrong = gap > EFFECTIVE_RATE_TOLERANCE_USD * np.maximum(1.0, expected)
        if wrong.any():
            raise CatalogValidationError(
                "reserved table has effective_usd_per_hour different from upfront ÷ term hours + "
                f"recurring for {_describe_rows(reserved[list(KEY_COLUMNS)], wrong)}"
            )
        object.__setattr__(self, "on_demand", on_demand)
        object.__setattr__(self, "reserved", reserved)
        object.__setattr__(self, "savings_plans", savings_plans)
        # the tables are fixed from here on: the same keys always get the same rates
        object.__setattr__(self, "_lookups", {})

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_frames(
        cls,
        metadata: CatalogMetadata,
        on_demand: pd.DataFrame | None = None,
        reserved: pd.DataFrame | None = None,
        savings_plans: pd.DataFrame | None = None,
    ) -> PriceCatalog:
        """Build a catalog, filling the columns a reader need not supply.

        ``effective_usd_per_hour`` is computed from upfront and recurring when absent; ``source``
        defaults to ``metadata.source`` and ``derived`` to false.
        """
        on_demand = _with_defaults(on_demand, ON_DEMAND_SCHEMA, metadata.source)
        reserved = _with_defaults(reserved, RESERVED_SCHEMA, metadata.source)
        effective = reserved.get("effective_usd_per_hour")
        if effective is None or effective.isna().all():
            reserved["effective_usd_per_hour"] = effective_usd_per_hour(
                pd.to_numeric(reserved["upfront_usd"]),
                pd.to_numeric(reserved["recurring_usd_per_hour"]),
                pd.to_numeric(reserved["term_years"]),
            )
        savings_plans = _with_defaults(savings_plans, SAVINGS_PLANS_SCHEMA, metadata.source)
        return cls(on_demand, reserved, savings_plans, metadata)

    @classmethod
    def empty(cls, metadata: CatalogMetadata) -> PriceCatalog:
        """A catalog with no rates."""
        return cls.from_frames(metadata)

    # ------------------------------------------------------------------ persistence

    def to_parquet(self, path: str | Path) -> None:
        """Write the catalog to one Parquet file, atomically (zstd-compressed).

        The three tables are stacked with a ``table`` column; metadata goes in the file's
        key-value metadata.
        """
        stacked = pd.concat(
            [
                self.on_demand.assign(table="on_demand"),
                self.reserved.assign(table="reserved"),
                self.savings_plans.assign(table="savings_plans"),
            ],
            ignore_index=True,
        )
        arrow = pa.Table.from_pandas(stacked, preserve_index=False)
        payload = json.dumps(
            {"format_version": _FORMAT_VERSION, "metadata": json.loads(self.metadata.to_json())}
        )
        arrow = arrow.replace_schema_metadata(
            {**(arrow.schema.metadata or {}), _PARQUET_METADATA_KEY: payload.encode()}
        )
        with atomic_output_path(path) as temporary:
            pq.write_table(arrow, temporary, compression="zstd", compression_level=19)

    @classmethod
    def read_parquet(cls, path: str | Path) -> PriceCatalog:
        """Read a catalog written by :meth:`to_parquet`.

        Raises
        ------
        PriceFileError
            When the file is not a commitopt catalog or is corrupt.
        """
        try:
            arrow = pq.read_table(path)
        except (OSError, pa.ArrowException) as error:
            raise PriceFileError(
                path,
                f"not a readable Parquet file ({error})",
                "pass a catalog written by commitopt",
            ) from error
        raw = (arrow.schema.metadata or {}).get(_PARQUET_METADATA_KEY)
        if raw is None:
            raise PriceFileError(
                path,
                "Parquet file without commitopt catalog metadata",
                "import AWS price files with `commitopt pricing import`",
            )
        payload = json.loads(raw)
        if payload.get("format_version", 0) > _FORMAT_VERSION:
            raise PriceFileError(
                path,
                f"catalog format {payload['format_version']} is newer than this commitopt",
                "upgrade commitopt",
            )
        metadata = CatalogMetadata.from_json(json.dumps(payload["metadata"]))
        if "table" not in arrow.column_names:
            raise PriceFileError(path, "invalid catalog (no 'table' column)")
        tables = {  # split in Arrow: a boolean take of Arrow-backed pandas columns costs 10×
            name: arrow.filter(pc.equal(arrow["table"], name))
            .drop_columns(["table"])
            .to_pandas()
            .rename(columns=_FORMER_COLUMNS)
            for name in ("on_demand", "reserved", "savings_plans")
        }
        try:
            return cls(
                tables["on_demand"][list(ON_DEMAND_SCHEMA)],
                tables["reserved"][list(RESERVED_SCHEMA)],
                tables["savings_plans"][list(SAVINGS_PLANS_SCHEMA)],
                metadata,
            )
        except (KeyError, CatalogValidationError) as error:
            raise PriceFileError(path, f"invalid catalog ({error})") from error

    # ------------------------------------------------------------------ combination

    @staticmethod
    def merge(catalogs: Sequence[PriceCatalog]) -> PriceCatalog:
        """Combine catalogs; for a key present in several, the earlier catalog wins.

        Parameters
        ----------
        catalogs
            In order of precedence, highest first (e.g. a CUR's own rates, then a fetched
            Price List, then the embedded snapshot).

        Returns
        -------
        PriceCatalog
            Each rate keeps its ``source`` column; the metadata lists the sources in order.
        """
        if not catalogs:
            raise CatalogValidationError("nothing to merge: give at least one catalog")
        if len(catalogs) == 1:
            return catalogs[0]

        def first_wins(tables: list[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
            stacked = pd.concat(tables, ignore_index=True)
            return stacked.drop_duplicates(list(columns), keep="first")

        metadata = CatalogMetadata(
            source=" > ".join(c.metadata.source for c in catalogs),
            as_of=min(c.metadata.as_of for c in catalogs),
            derived_rates="; ".join(
                c.metadata.derived_rates for c in catalogs if c.metadata.derived_rates
            ),
            partial_upfront_split="; ".join(
                c.metadata.partial_upfront_split
                for c in catalogs
                if c.metadata.partial_upfront_split
            ),
            notes=tuple(note for c in catalogs for note in c.metadata.notes),
        )
        return PriceCatalog(
            first_wins([c.on_demand for c in catalogs], KEY_COLUMNS),
            first_wins([c.reserved for c in catalogs], (*KEY_COLUMNS, *RESERVED_OFFERING_COLUMNS)),
            first_wins([c.savings_plans for c in catalogs], (*KEY_COLUMNS, *SAVINGS_PLAN_COLUMNS)),
            metadata,
        )

    def filter(
        self,
        regions: Sequence[str] = (),
        instance_types: Sequence[str] = (),
        families: Sequence[str] = (),
        platforms: Sequence[str] = (),
        tenancies: Sequence[str] = (),
    ) -> PriceCatalog:
        """Return the rates of the keys matching every non-empty filter."""

        def keep(frame: pd.DataFrame) -> pd.DataFrame:
            mask = pd.Series(True, index=frame.index)
            for column, values in (
                ("region", regions),
                ("instance_type", instance_types),
                ("platform", platforms),
                ("tenancy", tenancies),
            ):
                if values:
                    mask &= frame[column].isin(list(values))
            if families:
                mask &= instance_families(frame["instance_type"]).isin(list(families))
            return frame.loc[mask]

        return replace(
            self,
            on_demand=keep(self.on_demand),
            reserved=keep(self.reserved),
            savings_plans=keep(self.savings_plans),
        )

    # ------------------------------------------------------------------ look-ups

    def on_demand_rates(self, keys: pd.DataFrame) -> npt.NDArray[np.float64]:
        """On-demand rate of each key row [USD/h], NaN where the catalog has none.

        Parameters
        ----------
        keys
            A table with the columns ``region``, ``instance_type``, ``platform``, ``tenancy``
            (more columns are ignored; duplicates are fine).
        """
        return self._cached("on_demand", keys, {}, "on_demand_usd_per_hour")

    def reserved_rates(
        self,
        keys: pd.DataFrame,
        offering_class: str,
        term_years: int,
        payment_option: str,
        column: str = "effective_usd_per_hour",
    ) -> npt.NDArray[np.float64]:
        """One RI offering's ``column`` for each key row, NaN where absent.

        ``column`` is ``effective_usd_per_hour`` [USD/h], ``upfront_usd`` [USD] or
        ``recurring_usd_per_hour`` [USD/h].
        """
        fixed = {
            "offering_class": offering_class,
            "term_years": term_years,
            "payment_option": payment_option,
        }
        return self._cached("reserved", keys, fixed, column)

    def savings_plan_rates(
        self, keys: pd.DataFrame, plan_type: str, term_years: int, payment_option: str
    ) -> npt.NDArray[np.float64]:
        """Savings Plans rate per instance-hour of each key row [USD/h], NaN where absent."""
        fixed = {"plan_type": plan_type, "term_years": term_years, "payment_option": payment_option}
        return self._cached("savings_plans", keys, fixed, "sp_hourly_usd")

    def _cached(
        self, table: str, keys: pd.DataFrame, fixed: dict[str, object], column: str
    ) -> npt.NDArray[np.float64]:
        """:func:`_lookup` in ``table``, remembered by the keys' values (a copy each time).

        The simulator and the policies look up the same few keys thousands of times in a
        backtest (every billing of every review); the join is the costly part, not the key.
        """
        left = _key_strings(keys)
        memo = (
            table,
            tuple(fixed.items()),
            column,
            *(tuple(left[c].tolist()) for c in KEY_COLUMNS),
        )
        lookups: dict[tuple[object, ...], npt.NDArray[np.float64]]
        lookups = self.__dict__.setdefault("_lookups", {})
        rates = lookups.get(memo)
        if rates is None:
            rates = _lookup(left, getattr(self, table), fixed, column)
            if len(lookups) >= LOOKUP_CACHE_ENTRIES:
                lookups.clear()
            lookups[memo] = rates
        return rates.copy()

    def require_on_demand(self, keys: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Like :meth:`on_demand_rates`, but raise when any key has no rate.

        Raises
        ------
        MissingPriceError
            Naming the keys without a price and the ways to get one.
        """
        rates = self.on_demand_rates(keys)
        missing = np.isnan(rates)
        if missing.any():
            absent = keys.loc[missing, list(KEY_COLUMNS)].drop_duplicates()
            raise MissingPriceError(
                "on-demand", [" ".join(map(str, row)) for row in absent.itertuples(index=False)]
            )
        return rates

    def key_table(self) -> pd.DataFrame:
        """Every key with an on-demand rate, sorted."""
        return (
            self.on_demand[list(KEY_COLUMNS)].sort_values(list(KEY_COLUMNS)).reset_index(drop=True)
        )

    def counts(self) -> dict[str, int]:
        """Row counts and distinct regions, types and platforms (``*_count``; ``pricing info``)."""
        keys = pd.concat(
            [t[list(KEY_COLUMNS)] for t in (self.on_demand, self.reserved, self.savings_plans)]
        )
        return {
            "on_demand_rate_count": len(self.on_demand),
            "reserved_offering_count": len(self.reserved),
            "savings_plans_rate_count": len(self.savings_plans),
            "region_count": keys["region"].nunique(),
            "instance_type_count": keys["instance_type"].nunique(),
            "platform_count": keys["platform"].nunique(),
            "derived_rate_count": int(
                self.reserved["derived"].sum() + self.savings_plans["derived"].sum()
            ),
        }


def _with_defaults(frame: pd.DataFrame | None, schema: dict[str, str], source: str) -> pd.DataFrame:
    """Copy ``frame`` (or an empty table) and add ``source`` / ``derived`` / effective columns."""
    if frame is None:
        return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in schema.items()})
    result = frame.copy()
    if "source" in schema and "source" not in result:
        result["source"] = source
    if "derived" in schema and "derived" not in result:
        result["derived"] = False
    if "effective_usd_per_hour" in schema and "effective_usd_per_hour" not in result:
        result["effective_usd_per_hour"] = np.nan
    return result


def _key_strings(keys: pd.DataFrame) -> pd.DataFrame:
    """The key columns of ``keys`` as strings, indexed from 0."""
    return keys.loc[:, list(KEY_COLUMNS)].astype("string").reset_index(drop=True)


def _lookup(
    left: pd.DataFrame, table: pd.DataFrame, fixed: dict[str, object], column: str
) -> npt.NDArray[np.float64]:
    """Vectorised left join of the keys ``left`` (:func:`_key_strings`) on ``table`` restricted
    to ``fixed`` column values."""
    subset = table
    for name, value in fixed.items():
        subset = subset.loc[subset[name] == value]
    joined = left.merge(subset[[*KEY_COLUMNS, column]], how="left", on=list(KEY_COLUMNS))
    return joined[column].to_numpy(dtype=np.float64, na_value=np.nan)
