"""Fargate, Lambda and SageMaker rates keyed like their usage, whatever file or API they come from.

Every source of these rates (the Price List offers ``AmazonECS`` / ``AmazonEKS``, ``AWSLambda``,
``AmazonSageMaker``; the Savings Plans offer files; ``DescribeSavingsPlansOfferingRates``; a CUR)
names a rate by its **usage type** and the **service code** it is billed under
(``USE1-Fargate-ARM-vCPU-Hours:perCPU`` under ``AmazonECS``). :mod:`pricing.compute_keys` turns
that pair into the catalog key ``(region, instance_type, platform, tenancy)`` and the factor from
the bill's unit to the key's; this module applies it to a table of rates, one decision per
distinct usage type, and converts each rate to USD per key unit-hour::

    key rate = bill rate ÷ per_bill_unit

so Lambda's 0.0000166667 USD per GB-second becomes 0.06 USD per GB-hour (× 3,600), while
Fargate (per vCPU-hour, per GB-hour) and SageMaker (per instance-hour) rates stay as they are.

A rate that cannot be keyed is never dropped silently: :func:`key_rates` returns, per row, the
reason it was left out (``"Lambda requests: no Savings Plan covers them"``, ``"unknown
SageMaker usage type"``, ``"unit Request, not one of Lambda-GB-Second"``...), which the readers
count into their catalog notes (:func:`count_notes`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Final

import numpy as np
import pandas as pd

from pricing.compute_keys import key_of
from pricing.compute_usage_types import (
    PRODUCT_CODE_SERVICE,
    ComputeUsageType,
    parse_compute_usage_type,
)

COMPUTE_SERVICE_CODES: Final = tuple(PRODUCT_CODE_SERVICE)
"""Service codes whose rates these readers key: ``AmazonECS``, ``AmazonEKS`` (Fargate),
``AWSLambda``, ``AmazonSageMaker``."""

RATE_UNITS: Final[dict[str, frozenset[str]]] = {
    "vCPU-hours": frozenset({"hrs", "hours", "vcpu-hours", "vcpu-hour"}),
    "GB-hours": frozenset({"hrs", "hours", "gb-hours", "gb-hour"}),
    "GB-seconds": frozenset({"lambda-gb-second", "gb-second", "gb-seconds", "second", "seconds"}),
    "instance-hours": frozenset({"hrs", "hours"}),
}
"""Per unit of the usage type's bill unit, the spellings of a rate's unit that mean "per that
unit" (lower case). botocore's Savings Plans model lists the rate units ``Hrs``,
``Lambda-GB-Second``, ``GB-Hours``, ``Request``, ...; the Price List offers write ``Hrs`` for
Fargate and SageMaker hours and ``Lambda-GB-Second`` or ``Second`` for Lambda duration. A rate in
another unit is counted, not converted."""

KEYED_COLUMNS: Final = ("region", "instance_type", "platform", "tenancy", "per_bill_unit")
"""Columns :func:`key_rates` adds."""


def _decide(usage_type: str, service_code: str, unit: str) -> tuple[object, ...]:
    """Key, factor and reason ('' when keyed) of one distinct usage type, service and unit."""
    parsed = parse_compute_usage_type(usage_type, service_code or None)
    if not isinstance(parsed, ComputeUsageType):
        return (None, None, None, None, np.nan, parsed.reason)
    key = key_of(parsed)
    if key is None:
        label = f"{parsed.service} {parsed.usage_kind}".replace("-", " ")
        return (None, None, None, None, np.nan, f"{label}: no Savings Plan covers it")
    accepted = RATE_UNITS.get(parsed.unit, frozenset())
    if unit and unit.strip().lower() not in accepted:
        return (
            None, None, None, None, np.nan,
            f"unit {unit} where a rate per {parsed.unit} is expected",
        )  # fmt: skip
    return (key.region, key.instance_type, key.platform, key.tenancy, key.per_bill_unit, "")


def key_rates(
    usage_types: pd.Series, service_codes: pd.Series, units: pd.Series | None = None
) -> tuple[pd.DataFrame, pd.Series]:
    """The key of each rate row, and why a row has none.

    Parameters
    ----------
    usage_types
        The rate's usage type (``USE1-Lambda-GB-Second-ARM``).
    service_codes
        The service code it is billed under (``AWSLambda``; empty: any service's forms).
    units
        The unit the rate is per (``Hrs``, ``Lambda-GB-Second``); empty or absent: not checked.

    Returns
    -------
    keys : pandas.DataFrame
        :data:`KEYED_COLUMNS` on the rows' index (missing where unkeyed).
    reasons : pandas.Series
        ``""`` for keyed rows, else the reason, on the rows' index.
    """
    index = usage_types.index
    text = pd.DataFrame(
        {
            "usage_type": usage_types.astype("string").fillna("").str.strip(),
            "service_code": service_codes.astype("string").fillna("").str.strip(),
            "unit": (
                units.astype("string").fillna("").str.strip()
                if units is not None
                else pd.Series("", index=index, dtype="string")
            ),
        },
        index=index,
    )
    distinct = text.drop_duplicates().reset_index(drop=True)
    decided = pd.DataFrame(
        [_decide(*row) for row in distinct.itertuples(index=False)],
        columns=[*KEYED_COLUMNS, "reason"],
    )
    table = pd.concat([distinct, decided], axis=1)
    joined = text.reset_index(drop=True).merge(
        table, how="left", on=["usage_type", "service_code", "unit"]
    )
    joined.index = index
    keys = joined[list(KEYED_COLUMNS)].astype(
        {"region": "string", "instance_type": "string", "platform": "string", "tenancy": "string"}
    )
    keys["per_bill_unit"] = keys["per_bill_unit"].astype("float64")
    return keys, joined["reason"].astype("string")


def count_notes(counts: Counter[str], what: str, examples: dict[str, list[str]]) -> list[str]:
    """Notes ``left out N <what>: reason (e.g. ...)``, largest count first."""
    notes = []
    for reason, count in counts.most_common():
        shown = ", ".join(examples.get(reason, [])[:3])
        notes.append(f"left out {count} {what}: {reason}" + (f" (e.g. {shown})" if shown else ""))
    return notes


def tally(reasons: pd.Series, labels: Iterable[str]) -> tuple[Counter[str], dict[str, list[str]]]:
    """Count non-empty ``reasons`` and keep up to three distinct ``labels`` of each."""
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    for reason, label in zip(reasons, labels, strict=True):
        if not reason:
            continue
        counts[str(reason)] += 1
        shown = examples.setdefault(str(reason), [])
        if len(shown) < 3 and label not in shown:
            shown.append(str(label))
    return counts, examples


__all__ = [
    "COMPUTE_SERVICE_CODES",
    "KEYED_COLUMNS",
    "RATE_UNITS",
    "count_notes",
    "key_rates",
    "tally",
]
