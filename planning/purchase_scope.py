"""Which usage keys a purchase may cover, and how a key is named in a sentence.

The explanations name the keys a purchase rests on (a key that fell, :mod:`planning.recency`; a
key that rose to a new level, :mod:`planning.decision_notes`). A purchase's scope is the usage it
may cover: an RI's exact key, or its family for a size-flexible RI (region, platform, tenancy);
an EC2 Instance Savings Plan's family in its region; a Compute, Database or SageMaker Savings
Plan's every key of the services it covers.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pricing.instance_types import instance_families
from pricing.offerings import CommitmentKind
from pricing.services import (
    PLAN_SERVICES,
    plan_covers,
    reservation_platforms,
    savings_plan_eligible,
)
from usage.table import KEY_COLUMNS

ScopeColumns = Mapping[str, npt.NDArray[np.object_]]
"""The key columns as text, the family, ``ec2`` (EC2 usage), ``reservation_platform`` and
``plan:<type>`` (what each Savings Plan type may cover), one value per key."""


def scope_columns(keys: pd.DataFrame) -> ScopeColumns:
    """What :func:`keys_in_scope` reads of ``keys`` (:data:`usage.table.KEY_COLUMNS`), once.

    Examples
    --------
    >>> keys = pd.DataFrame({"account_id": ["1"], "region": ["us-east-1"],
    ...                      "instance_type": ["m5.large"], "platform": ["Linux/UNIX"],
    ...                      "tenancy": ["Shared"]})
    >>> str(scope_columns(keys)["instance_family"][0])
    'm5'
    """
    columns: dict[str, npt.NDArray[np.object_]] = {
        name: keys[name].astype(str).to_numpy(dtype=object) for name in KEY_COLUMNS
    }
    columns["instance_family"] = instance_families(keys["instance_type"]).astype(str).to_numpy()
    columns["ec2"] = savings_plan_eligible(keys["instance_type"]).astype(object)
    columns["reservation_platform"] = reservation_platforms(keys["platform"])
    for plan_type in PLAN_SERVICES:  # the keys each Savings Plan type may cover, once
        columns[f"plan:{plan_type}"] = plan_covers(
            [plan_type] * len(keys), keys["instance_type"], keys["platform"]
        ).astype(object)
    return columns


def keys_in_scope(columns: ScopeColumns, row: Mapping[Hashable, Any]) -> npt.NDArray[np.bool_]:
    """The keys a purchase (an explanation row: ``kind``, ``region``, ``instance_family``,
    ``instance_type``, ``platform``, ``tenancy``, ``unit``) may cover; ``columns`` from
    :func:`scope_columns`."""
    n_keys = len(columns["region"])
    kind = str(row["kind"])
    ec2 = np.asarray(columns["ec2"], dtype=bool)
    if kind in (
        CommitmentKind.COMPUTE_SAVINGS_PLAN,
        CommitmentKind.DATABASE_SAVINGS_PLAN,
        CommitmentKind.SAGEMAKER_SAVINGS_PLAN,
    ):
        return np.asarray(columns[f"plan:{CommitmentKind(kind).savings_plan_type}"], dtype=bool)
    if kind == CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN:
        return (columns["region"] == str(row["region"])) & (
            columns["instance_family"] == str(row["instance_family"])
        )
    if kind != CommitmentKind.RESERVED_INSTANCE:
        return np.zeros(n_keys, dtype=bool)
    scope = columns["region"] == str(row["region"])
    same_tenancy = columns["tenancy"] == str(row["tenancy"])
    if row["unit"] == "normalized_units":
        # a size-flexible database reservation covers every deployment of its family, and the
        # platforms it is the reservation of (memorydb: MemoryDB Valkey nodes too)
        return (
            scope
            & (columns["reservation_platform"] == str(row["platform"]))
            & (columns["instance_family"] == str(row["instance_family"]))
            & (same_tenancy | ~ec2)
        )
    return (
        scope
        & (columns["platform"] == str(row["platform"]))
        & same_tenancy
        & (columns["instance_type"] == str(row["instance_type"]))
    )


def key_text(record: Mapping[Hashable, Any], *, full: bool = False) -> str:
    """``m4.large us-east-1 (account 1111)``; with ``full``, ``account 1111 us-east-1 m4.large
    Linux/UNIX Shared``."""
    account = str(record["account_id"]) if pd.notna(record["account_id"]) else ""
    if full:
        key = " ".join(str(record[c]) for c in KEY_COLUMNS[1:])
        return f"account {account} {key}" if account else key
    text = f"{record['instance_type']} {record['region']}"
    return f"{text} (account {account})" if account else text


def listed_keys(parts: list[str], left: int, rest: str) -> str:
    """``parts`` (one per key named) joined as a sentence, with ``left`` keys more counted:
    ``"a"``, ``"a and b"``, ``"a, b and 2 more keys' usage that <rest>"``.

    Examples
    --------
    >>> listed_keys(["m4.large usage that fell"], 0, "fell")
    'm4.large usage that fell'
    >>> listed_keys(["a", "b"], 1, "fell")
    "a, b and 1 more key's usage that fell"
    """
    if left > 0:
        keys = "keys'" if left > 1 else "key's"
        parts = [*parts, f"{left} more {keys} usage that {rest}"]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


__all__ = ["ScopeColumns", "key_text", "keys_in_scope", "listed_keys", "scope_columns"]
