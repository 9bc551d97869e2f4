"""Savings Plans rates of Fargate, Lambda and SageMaker usage as catalog ``savings_plans`` rows.

Shared by the Savings Plans offer files (:mod:`pricing.readers.compute_savings_plans_offer`) and
the Savings Plans API (:mod:`pricing.readers.compute_savings_plans_api`): both give, per plan
(type × term × payment option), the rate charged against the commitment for one unit of a
usage type. Compute Savings Plans rates of Fargate and Lambda usage become rows with
``plan_type`` ``compute``, SageMaker Savings Plans rates of SageMaker ML instance usage rows with
``plan_type`` ``sagemaker``; ``sp_hourly_usd`` is the rate per key unit-hour (Lambda's rate per
GB-second × 3,600: :mod:`pricing.readers.compute_rate_rows`).

Rates left out are counted by reason in the notes: usage no Savings Plan covers (Lambda
requests, Fargate Spot), usage types the vocabulary does not read, units other than the usage
type's, a plan type that does not cover the service. A malformed rate (missing value, unknown
plan type, term or payment option, a rate that is not a number >= 0, another currency, two rates
for one key and plan) is a :class:`~pricing.errors.PriceFileError` naming the row and column.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from pricing.catalog import KEY_COLUMNS, SAVINGS_PLAN_COLUMNS
from pricing.compute_keys import FARGATE, LAMBDA, SAGEMAKER
from pricing.errors import PriceFileError
from pricing.offerings import parse_payment_option, parse_savings_plan_type, parse_term_years
from pricing.readers.compute_rate_rows import count_notes, key_rates, tally
from pricing.readers.savings_plans_offer import (
    RateSource,
    map_distinct,
    parse_rates,
    require_equal,
    require_values,
)
from pricing.services import service_of

RAW_COLUMNS: Final = (
    "rate_code",
    "plan_family",
    "payment",
    "term",
    "usage_type",
    "operation",
    "service_code",
    "rate",
    "currency",
    "unit",
)
"""Text columns of the raw rates :func:`compute_savings_plans_table` reads (``region_hint``, the
offer CSV's ``DiscountedRegionCode``, is checked against the usage type's region when given)."""

PLAN_OF_SERVICE: Final[dict[str, str]] = {
    FARGATE: "compute",
    LAMBDA: "compute",
    SAGEMAKER: "sagemaker",
}
"""The Savings Plan type that covers each service's keys (AWS Savings Plans User Guide, "Savings
Plans types": Compute Savings Plans cover Fargate and Lambda, SageMaker Savings Plans SageMaker)."""


def compute_savings_plans_table(
    raw: pd.DataFrame, source: RateSource
) -> tuple[pd.DataFrame, list[str]]:
    """Key, check and convert raw Savings Plans rates of Fargate, Lambda and SageMaker usage.

    Parameters
    ----------
    raw
        One row per rate, text columns :data:`RAW_COLUMNS` (``rate`` per the row's ``unit``).
    source
        Names the source in errors.

    Returns
    -------
    table : pandas.DataFrame
        The key, ``plan_type``, ``term_years``, ``payment_option`` and ``sp_hourly_usd``
        [USD per key unit-hour], sorted.
    notes : list of str
        ``left out N Savings Plans rate(s): reason (e.g. ...)``.

    Raises
    ------
    PriceFileError
        For a malformed rate (see the module docstring).
    """
    raw = raw.reset_index(drop=True)
    for column in RAW_COLUMNS:
        if column not in raw:
            raw[column] = pd.NA
    raw = raw.astype(dict.fromkeys(RAW_COLUMNS, "string"))
    keys, reasons = key_rates(raw["usage_type"], raw["service_code"], raw["unit"])
    keyed = (reasons == "").to_numpy()
    plan = pd.Series(pd.NA, index=raw.index, dtype="string")
    if keyed.any():
        require_values(raw.loc[keyed], source)
        plan.loc[keyed] = map_distinct(
            raw.loc[keyed], "plan_family", parse_savings_plan_type, source
        )
    services = pd.Series(
        [service_of(t) if isinstance(t, str) else "" for t in keys["instance_type"].fillna("")],
        index=raw.index,
    )
    expected = services.map(PLAN_OF_SERVICE)
    wrong_plan = keyed & (plan.fillna("") != expected.fillna("")).to_numpy()
    reasons = reasons.where(
        ~wrong_plan,
        "a " + plan.fillna("?") + " Savings Plan rate of " + services + " usage",
    )
    counts, examples = tally(reasons, raw["usage_type"].fillna(""))
    notes = count_notes(counts, "Savings Plans rate(s)", examples)
    keep = (reasons == "").to_numpy()
    raw, keys, plan = raw.loc[keep], keys.loc[keep], plan.loc[keep]
    require_equal(raw, "currency", "USD", source, "commitopt prices in USD only")
    rates = parse_rates(raw, source)
    payment = map_distinct(raw, "payment", parse_payment_option, source)
    term = map_distinct(raw, "term", parse_term_years, source)
    if "region_hint" in raw:
        hint = raw["region_hint"].astype("string").fillna("").str.strip()
        wrong = (hint.ne("") & hint.ne(keys["region"])).to_numpy()
        if wrong.any():
            row = raw.loc[wrong].iloc[0]
            raise source.error(
                row,
                "region_hint",
                f"{row['region_hint']!r} but the usage type {row['usage_type']} is region "
                f"{keys.loc[wrong, 'region'].iloc[0]}",
            )
    table = keys.loc[:, list(KEY_COLUMNS)].copy()
    table["plan_type"] = plan
    table["term_years"] = term.astype("int64")
    table["payment_option"] = payment
    table["sp_hourly_usd"] = rates / keys["per_bill_unit"].to_numpy(dtype=np.float64)
    table = _without_duplicates(table.reset_index(drop=True), raw.reset_index(drop=True), source)
    return table, notes


def _without_duplicates(table: pd.DataFrame, raw: pd.DataFrame, source: RateSource) -> pd.DataFrame:
    """Drop exact repeats; raise naming two rows where one key and plan has two rates."""
    plan_key = [*KEY_COLUMNS, *SAVINGS_PLAN_COLUMNS]
    unique = ~table.duplicated([*plan_key, "sp_hourly_usd"]).to_numpy()
    table, raw = table.loc[unique], raw.loc[unique]
    conflict = table.duplicated(plan_key, keep=False).to_numpy()
    if conflict.any():
        clashing = table.loc[conflict]
        first = clashing.iloc[0]
        same = (clashing[plan_key] == first[plan_key]).all(axis=1).to_numpy()
        rows = raw.loc[conflict].loc[same].head(2)
        raise PriceFileError(
            source.where,
            f"{source.describe(rows.iloc[0])} and {source.describe(rows.iloc[1])} give two rates "
            f"({' and '.join(str(r) for r in rows['rate'])}) for "
            f"{' '.join(str(v) for v in first[plan_key])}",
            "import each offer file once, and do not mix files of different versions",
        )
    return table.sort_values(plan_key).reset_index(drop=True)


__all__ = ["PLAN_OF_SERVICE", "RAW_COLUMNS", "compute_savings_plans_table"]
