"""Usage the engines can price: database keys without an on-demand rate are left out, by name.

EC2 prices ship with commitopt (the embedded catalog), so an EC2 key without an on-demand rate is an
error the engines raise (:class:`pricing.errors.MissingPriceError`). Database prices do not ship for
every service (RDS's come from AWS files, APIs or the CUR): a usage history with RDS rows and a
catalog without RDS prices still gets its EC2 decision and bill, and one warning names the database
keys left out and how to price them.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from pricing.catalog import KEY_COLUMNS as CATALOG_KEY_COLUMNS
from pricing.catalog import PriceCatalog
from pricing.services import savings_plan_eligible
from usage.table import UsageMatrix

_SHOWN: Final = 5

UNPRICED_REMEDY: Final = (
    "add their prices with `commitopt pricing import` (AWS offer files) or `commitopt pricing "
    "fetch`"
)
"""How to price the keys left out."""


def priced_or_ec2(keys: pd.DataFrame, catalog: PriceCatalog) -> npt.NDArray[np.bool_]:
    """Keys the engines keep: every EC2 key, and other services' keys with an on-demand rate.

    Parameters
    ----------
    keys
        A table with the catalog's key columns (``region``, ``instance_type``, ``platform``,
        ``tenancy``).
    """
    if keys.empty:
        return np.ones(0, dtype=np.bool_)
    rated = np.isfinite(catalog.on_demand_rates(keys[list(CATALOG_KEY_COLUMNS)]))
    return np.asarray(rated | savings_plan_eligible(keys["instance_type"]), dtype=np.bool_)


def unpriced_warning(keys: pd.DataFrame, what: str) -> str:
    """One line naming the keys of ``keys`` (catalog key columns) left out of ``what``."""
    names = sorted(
        {" ".join(map(str, row)) for row in keys[list(CATALOG_KEY_COLUMNS)].itertuples(index=False)}
    )
    shown = ", ".join(names[:_SHOWN]) + (
        f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    )
    return (
        f"{len(names)} key(s) of services other than EC2 have no on-demand rate and are left out "
        f"of {what}: {shown}; {UNPRICED_REMEDY}"
    )


def without_unpriced_services(
    matrix: UsageMatrix, catalog: PriceCatalog, *, what: str = "the bill"
) -> tuple[UsageMatrix, tuple[str, ...]]:
    """``matrix`` without the non-EC2 keys ``catalog`` has no on-demand rate for, and a warning.

    Returns
    -------
    (UsageMatrix, tuple of str)
        The same matrix when nothing is left out (and no warning).
    """
    keep = priced_or_ec2(matrix.keys, catalog)
    if keep.all():
        return matrix, ()
    left_out = matrix.keys.loc[~keep & (matrix.quantity.sum(axis=0) > 0)]
    kept = UsageMatrix(
        hours=matrix.hours,
        keys=matrix.keys.loc[keep].reset_index(drop=True),
        quantity=np.ascontiguousarray(matrix.quantity[:, keep]),
        daily_granular=matrix.daily_granular,
    )
    return kept, ((unpriced_warning(left_out, what),) if len(left_out) else ())
