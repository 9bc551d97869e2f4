"""Usage side of :func:`optimizer.build.build_problem`: scenarios, the policy's filters, keys and
columns.

The scenarios are checked and filtered by the policy's accounts, regions and families and placed on
their common hourly horizon; accounts are summed into keys priced on demand; Linux/UNIX shared keys
with a known normalization factor become one column per (region, family) in on-demand USD per
normalized unit, every other key a column of its own; the demand of every column in USD/h.
Conventions in :mod:`optimizer.build`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from core.errors import CommitoptInputError, param
from optimizer.policy import Policy
from optimizer.problem import (
    BoolArray,
    FloatArray,
    IntArray,
)
from pricing.catalog import PriceCatalog
from pricing.databases import DEPLOYMENT_UNITS
from pricing.errors import UnknownInstanceTypeError
from pricing.instance_types import instance_families, normalization_factor
from pricing.services import (
    purchase_deployments,
    reservation_platforms,
    size_flexible_keys,
    unit_multipliers,
)
from usage.priced import priced_or_ec2, unpriced_warning
from usage.table import UsageMatrix, to_matrix

PROPORTIONALITY_TOLERANCE: Final = 0.01
"""Relative gap above which rates are reported as not proportional [1]."""


SCENARIO_PROBABILITY_TOLERANCE: Final = 1e-6
"""Allowed gap between the scenarios' probabilities' sum and 1."""


DEFAULT_SCENARIO: Final = "lookback"
"""Name of the single scenario built from ``usage``."""


KEY_FIELDS: Final = ("region", "instance_type", "platform", "tenancy")
"""A usage key once accounts are summed (the catalog's key)."""


COLUMN_KEY: Final = ("region", "instance_family", "instance_type", "platform", "tenancy")


LINUX: Final = "Linux/UNIX"


SHARED: Final = "Shared"


_SHOWN: Final = 5


Usage = pd.DataFrame | UsageMatrix


ScenarioInput = tuple[str, float, Usage]


def listed(items: Sequence[str]) -> str:
    """``"a, b, c and 4 more"``."""
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def factors_or_nan(types: pd.Series) -> FloatArray:
    """Normalization factor of each instance type, NaN where none is known."""
    codes, uniques = pd.factorize(types.astype(str))
    table = np.full(len(uniques) + 1, np.nan)
    for position, name in enumerate(uniques):
        try:
            table[position] = normalization_factor(str(name))
        except UnknownInstanceTypeError:
            table[position] = np.nan
    return table[codes]


def row_codes(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[IntArray, pd.DataFrame]:
    """Index of each row's distinct value of ``columns`` (sorted), and those distinct values."""
    grouped = frame.groupby(list(columns), sort=True, dropna=False)
    codes = np.asarray(grouped.ngroup().to_numpy(), dtype=np.intp)
    uniques = grouped.size().index.to_frame(index=False).reset_index(drop=True)
    return codes, uniques


def _void_rows(matrix: FloatArray) -> npt.NDArray[np.void]:
    """Each row of a float matrix as one opaque value (for :func:`numpy.unique`)."""
    rows = np.ascontiguousarray(matrix, dtype=np.float64) + 0.0  # -0.0 -> 0.0
    return rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()


def group_rows(matrix: FloatArray) -> tuple[IntArray, IntArray]:
    """Group identical rows: each row's group, numbered by first appearance, and each group's
    first row."""
    if matrix.shape[0] == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    _, first, inverse = np.unique(_void_rows(matrix), return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inverse.ravel()].astype(np.intp), first[order].astype(np.intp)


@dataclass(frozen=True, eq=False)
class FilteredUsage:
    """Filtered usage of every scenario over one horizon."""

    names: tuple[str, ...]
    probability: FloatArray
    hours: pd.DatetimeIndex
    matrices: tuple[UsageMatrix, ...]
    offsets: tuple[int, ...]


def _as_matrix(usage: Usage, source: str) -> UsageMatrix:
    if isinstance(usage, UsageMatrix):
        return usage
    if not isinstance(usage, pd.DataFrame):
        raise CommitoptInputError(
            f"{source}: expected a usage table (DataFrame) or UsageMatrix, "
            f"not {type(usage).__name__}"
        )
    return to_matrix(usage, source=source)


def _scenario_inputs(
    usage: Usage | None, scenarios: Sequence[ScenarioInput] | None
) -> list[tuple[str, float, UsageMatrix]]:
    """The (name, probability, matrix) of every scenario, checked."""
    if scenarios is None:
        if usage is None:
            raise CommitoptInputError("no usage given; pass a usage table or scenarios")
        return [(DEFAULT_SCENARIO, 1.0, _as_matrix(usage, "usage"))]
    items = list(scenarios)
    if not items:
        raise CommitoptInputError(
            "scenarios is empty; give at least one (name, probability, usage)"
        )
    result: list[tuple[str, float, UsageMatrix]] = []
    for item in items:
        if not isinstance(item, tuple | list) or len(item) != 3:
            raise CommitoptInputError(
                f"scenario {item!r:.60}: give (name, probability, usage) tuples"
            )
        name, probability, frame = item
        value = float(probability)
        if not np.isfinite(value) or value < 0:
            raise CommitoptInputError(
                f"scenario {name!r}: probability {probability!r} must be a finite number >= 0"
            )
        result.append((str(name), value, _as_matrix(frame, f"scenario {name}")))
    names = [name for name, _, _ in result]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise CommitoptInputError(f"scenario name(s) {listed(repeated)} repeated; rename them")
    total = sum(p for _, p, _ in result)
    if abs(total - 1.0) > SCENARIO_PROBABILITY_TOLERANCE:
        raise CommitoptInputError(
            f"scenario probabilities sum to {total:g}, not 1; rescale them "
            f"({', '.join(f'{n}={p:g}' for n, p, _ in result[:_SHOWN])})"
        )
    return result


def _key_mask(keys: pd.DataFrame, policy: Policy) -> BoolArray:
    """Keys kept by the policy's include / exclude filters."""
    keep = np.ones(len(keys), dtype=bool)
    families = instance_families(keys["instance_type"]) if len(keys) else keys["instance_type"]
    for what, values in (
        ("accounts", keys["account_id"]),
        ("regions", keys["region"]),
        ("families", families),
    ):
        included = [str(v) for v in getattr(policy, f"include_{what}")]
        excluded = [str(v) for v in getattr(policy, f"exclude_{what}")]
        text = values.astype(str)
        if included:
            keep &= text.isin(included).to_numpy(dtype=bool)
        if excluded:
            keep &= ~text.isin(excluded).to_numpy(dtype=bool)
    return keep


def _filters_text(policy: Policy) -> str:
    parts = [
        f"{param(f'{prefix}_{what}')} {','.join(map(str, values))}"
        for what in ("accounts", "regions", "families")
        for prefix in ("include", "exclude")
        if (values := getattr(policy, f"{prefix}_{what}"))
    ]
    return " after the policy's filters (" + "; ".join(parts) + ")" if parts else ""


def filtered_usage(
    usage: Usage | None, scenarios: Sequence[ScenarioInput] | None, policy: Policy
) -> FilteredUsage:
    """Scenario matrices filtered by the policy, placed on their common hourly horizon."""
    inputs = _scenario_inputs(usage, scenarios)
    matrices: list[UsageMatrix] = []
    for _, _, matrix in inputs:
        keep = _key_mask(matrix.keys, policy)
        matrices.append(
            UsageMatrix(
                hours=matrix.hours,
                keys=matrix.keys.loc[keep].reset_index(drop=True),
                quantity=np.ascontiguousarray(matrix.quantity[:, keep]),
                daily_granular=matrix.daily_granular,
            )
        )
    total = sum(float(m.quantity.sum()) for m in matrices)
    spanned = [m for m in matrices if len(m.hours)]
    if not spanned or total <= 0:
        raise CommitoptInputError(
            f"the lookback has no usage (0 instance-hours){_filters_text(policy)}; import usage "
            f"with `commitopt usage import` or pass {param('usage_files')} FILE, lengthen the "
            "lookback or relax the filters"
        )
    first = min(m.hours[0] for m in spanned)
    stop = max(m.hours[-1] for m in spanned) + pd.Timedelta(hours=1)
    hours = pd.date_range(first, stop, freq="h", inclusive="left", unit="ns")
    offsets = tuple(
        int((m.hours[0] - first) // pd.Timedelta(hours=1)) if len(m.hours) else 0 for m in matrices
    )
    return FilteredUsage(
        names=tuple(name for name, _, _ in inputs),
        probability=np.array([p for _, p, _ in inputs], dtype=np.float64),
        hours=hours,
        matrices=tuple(matrices),
        offsets=offsets,
    )


@dataclass(frozen=True, eq=False)
class UsageKeys:
    """Usage keys (accounts summed) and their columns."""

    keys: pd.DataFrame
    """One row per key with usage: KEY_FIELDS, instance_family, normalization_factor (NaN when
    unknown), size_flexible, units_per_instance, on_demand_usd_per_hour, column,
    expected_instance_hours and discounted_instance_hours (over the horizon, expected over the
    scenarios), usd (expected on-demand cost) and weight (the instance-hours weighting rates
    inside a column)."""
    columns: pd.DataFrame
    """One row per column: COLUMN_FIELDS and ``demand_usd`` (expected, undiscounted) [USD]."""
    account_key: tuple[IntArray, ...]
    """Per scenario: the key of each matrix column (-1 where it has no usage at all)."""
    warnings: tuple[str, ...]


def usage_keys(data: FilteredUsage, catalog: PriceCatalog, discount: FloatArray) -> UsageKeys:
    """Sum accounts, price the keys, assign columns."""
    frames = []
    for scenario, matrix in enumerate(data.matrices):
        offset = data.offsets[scenario]
        factor = discount[offset : offset + len(matrix.hours)]
        frame = matrix.keys.loc[:, list(KEY_FIELDS)].astype(str)
        frame["scenario"] = scenario
        frame["total"] = matrix.quantity.sum(axis=0)
        frame["discounted"] = factor @ matrix.quantity if len(factor) else 0.0
        frames.append(frame)
    stacked = pd.concat(frames, ignore_index=True)
    probability = data.probability[stacked["scenario"].to_numpy()]
    stacked["expected"] = stacked["total"].to_numpy() * probability
    stacked["expected_discounted"] = stacked["discounted"].to_numpy() * probability
    codes, keys = row_codes(stacked, KEY_FIELDS)
    keys_before = keys
    sums = {
        name: np.bincount(codes, weights=stacked[name].to_numpy(), minlength=len(keys))
        for name in ("total", "expected", "expected_discounted")
    }
    priced = priced_or_ec2(keys, catalog)
    used = (sums["total"] > 0) & priced
    new_index = np.where(used, np.cumsum(used) - 1, -1)
    stacked_key = new_index[codes]
    keys = keys.loc[used].reset_index(drop=True)
    keys["expected_instance_hours"] = sums["expected"][used]
    keys["discounted_instance_hours"] = sums["expected_discounted"][used]
    keys["on_demand_usd_per_hour"] = catalog.require_on_demand(keys)
    keys["instance_family"] = instance_families(keys["instance_type"]).astype(str)
    # a Multi-AZ database instance counts twice its size's units, a MemoryDB Valkey node 0.7
    factors = factors_or_nan(keys["instance_type"]) * unit_multipliers(
        keys["tenancy"], keys["platform"]
    )
    keys["normalization_factor"] = factors
    capable = size_flexible_keys(keys["platform"], keys["tenancy"])
    flexible = capable & np.isfinite(factors)
    unpriced = keys_before.loc[(sums["total"] > 0) & ~priced]
    warnings = [unpriced_warning(unpriced, "the decision")] if len(unpriced) else []
    unknown = keys.loc[capable & ~flexible, "instance_type"].tolist()
    if unknown:
        warnings.append(
            f"no normalization factor is known for {listed(sorted(set(unknown)))}: each is a "
            "column of its own, covered by RIs of its exact type"
        )
    keys["size_flexible"] = flexible
    keys["units_per_instance"] = np.where(flexible, factors, 1.0)
    column_frame = keys[list(COLUMN_KEY)].copy()
    column_frame.loc[flexible, "instance_type"] = ""
    # a database family's reservations cover every deployment: one column, bought as the
    # service's single deployment (Single-AZ, Node)
    database = flexible & keys["tenancy"].isin(list(DEPLOYMENT_UNITS)).to_numpy(dtype=bool)
    chosen = keys.loc[database]
    column_frame.loc[database, "tenancy"] = purchase_deployments(
        chosen["instance_type"], chosen["platform"], chosen["tenancy"]
    )
    # ... and is named by the platform of its reservations: MemoryDB Valkey nodes share the
    # Redis OSS (memorydb) column, which memorydb reserved nodes cover in normalized units
    column_frame.loc[database, "platform"] = reservation_platforms(chosen["platform"])
    column_frame["size_flexible"] = flexible
    column_codes, columns = row_codes(column_frame, [*COLUMN_KEY, "size_flexible"])
    keys["column"] = column_codes
    columns, warning = column_rates(keys, columns)
    if warning:
        warnings.append(warning)
    account_key = tuple(
        stacked_key[(stacked["scenario"] == s).to_numpy()] for s in range(len(data.matrices))
    )
    return UsageKeys(keys=keys, columns=columns, account_key=account_key, warnings=tuple(warnings))


def column_rates(keys: pd.DataFrame, columns: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """On-demand USD per unit of each column (demand-weighted), and the proportionality check.

    Adds to ``keys`` (in place) ``weight``, the expected instance-hours used to weight rates
    inside a column (1 for every key of a column without expected usage), and ``usd``, the
    expected on-demand cost [USD].
    """
    column = keys["column"].to_numpy(dtype=np.intp)
    n_columns = len(columns)
    weight = keys["expected_instance_hours"].to_numpy(dtype=np.float64)
    column_weight = np.bincount(column, weights=weight, minlength=n_columns)
    od = keys["on_demand_usd_per_hour"].to_numpy(dtype=np.float64)
    keys["usd"] = weight * od
    weight = np.where(column_weight[column] > 0, weight, 1.0)
    keys["weight"] = weight
    units = keys["units_per_instance"].to_numpy(dtype=np.float64)
    usd = np.bincount(column, weights=weight * od, minlength=n_columns)
    unit_hours = np.bincount(column, weights=weight * units, minlength=n_columns)
    per_unit = usd / unit_hours
    columns = columns.copy()
    columns["on_demand_usd_per_unit"] = per_unit
    columns["demand_usd"] = np.bincount(column, weights=keys["usd"], minlength=n_columns)
    deviation = np.abs(od / units / per_unit[column] - 1.0)
    worst = np.zeros(n_columns)
    np.maximum.at(worst, column, deviation)
    bad = np.flatnonzero(worst > PROPORTIONALITY_TOLERANCE)
    warning = ""
    if len(bad):
        named = [
            f"{region} {family} ({100 * worst[j]:.1f} %)"
            for j, region, family in zip(
                bad,
                columns["region"].to_numpy()[bad],
                columns["instance_family"].to_numpy()[bad],
                strict=True,
            )
        ]
        warning = (
            "on-demand rates are not proportional to the normalization factor in "
            f"{listed(named)}: each family column uses its demand-weighted rate per normalized "
            "unit, so RI coverage there is approximate"
        )
    return columns.reset_index(drop=True), warning


def column_demand(data: FilteredUsage, keyed: UsageKeys, od: FloatArray) -> list[FloatArray]:
    """Hours × columns on-demand USD/h of every scenario, on the whole horizon."""
    n_hours, n_columns = len(data.hours), len(keyed.columns)
    column_of_key = keyed.keys["column"].to_numpy(dtype=np.intp)
    result = []
    for scenario, matrix in enumerate(data.matrices):
        key = keyed.account_key[scenario]
        used = np.flatnonzero(key >= 0)
        mapping = sp.csr_array(
            (od[key[used]], (used, column_of_key[key[used]])),
            shape=(matrix.quantity.shape[1], n_columns),
        )
        demand = np.zeros((n_hours, n_columns))
        if len(matrix.hours):
            offset = data.offsets[scenario]
            block = (mapping.T @ matrix.quantity.T).T
            demand[offset : offset + len(matrix.hours)] = block
        result.append(demand)
    return result


__all__ = [
    "COLUMN_KEY",
    "DEFAULT_SCENARIO",
    "KEY_FIELDS",
    "LINUX",
    "PROPORTIONALITY_TOLERANCE",
    "SCENARIO_PROBABILITY_TOLERANCE",
    "SHARED",
    "FilteredUsage",
    "ScenarioInput",
    "Usage",
    "UsageKeys",
    "column_demand",
    "column_rates",
    "factors_or_nan",
    "filtered_usage",
    "group_rows",
    "listed",
    "row_codes",
    "usage_keys",
]
