"""The Reserved Instance side of a real AWS bill, read from a CUR, compared with a simulation.

AWS bills every instance-hour an RI covers as a ``DiscountedUsage`` line (with its normalized
units and the RI's effective cost for that usage) and every RI purchase as a monthly ``RIFee``
line that also states the cost of its unused hours. :func:`billed_from_cur` extracts these per
hour and key with DuckDB; :func:`compare_billed` and :func:`compare_with_simulation` measure how
closely a simulation of the same usage and RIs reproduces them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import duckdb
import numpy as np
import pandas as pd

from pricing.errors import PriceFileError
from pricing.instance_types import instance_families, normalization_factors
from pricing.offerings import CommitmentKind
from pricing.readers.cur_columns import CUR_WHAT, cur_files, cur_select_sql, describe_files
from pricing.usage_types import keys_from_usage_types

FAMILY_COLUMNS: Final = ("region", "platform", "tenancy", "instance_family")
"""Columns naming one instance family group (the scope of RI size flexibility)."""

KEY_COLUMNS: Final = ("account_id", "region", "instance_type", "platform", "tenancy")

_REQUIRED: Final = (
    "line_item_line_item_type",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_usage_start_date",
    "line_item_usage_amount",
    "reservation_reservation_a_r_n",
)
_OPTIONAL: Final = (
    "line_item_product_code",
    "line_item_usage_account_id",
    "line_item_normalized_usage_amount",
    "reservation_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
)
_INSTANCE_USAGE_SQL: Final = r"regexp_matches(usage_type, '^([A-Z]{2,4}[0-9]?-)?BoxUsage:')"

_TYPED: Final = """
CREATE TEMP VIEW typed AS SELECT
    trim(line_item_line_item_type) AS line_type,
    coalesce(trim(line_item_product_code), 'AmazonEC2') AS product_code,
    trim(line_item_usage_type) AS usage_type,
    trim(line_item_operation) AS operation,
    coalesce(trim(line_item_usage_account_id), '') AS account_id,
    date_trunc('hour', try_cast(line_item_usage_start_date AS TIMESTAMPTZ) AT TIME ZONE 'UTC')
        AS hour,
    try_cast(line_item_usage_amount AS DOUBLE) AS quantity,
    try_cast(line_item_normalized_usage_amount AS DOUBLE) AS normalized_units,
    try_cast(reservation_effective_cost AS DOUBLE) AS effective_cost,
    coalesce(try_cast(reservation_unused_amortized_upfront_fee_for_billing_period AS DOUBLE), 0)
        + coalesce(try_cast(reservation_unused_recurring_fee AS DOUBLE), 0) AS unused_cost,
    nullif(trim(reservation_reservation_a_r_n), '') AS ri_arn
FROM raw
"""

_COVERED: Final = f"""
SELECT hour, account_id, usage_type, operation,
       sum(quantity) AS ri_covered_quantity,
       sum(normalized_units) AS cur_normalized_units,
       count(normalized_units) AS with_normalized_units,
       count(*) AS line_items,
       sum(coalesce(effective_cost, 0)) AS ri_effective_cost_usd
FROM typed
WHERE line_type = 'DiscountedUsage' AND product_code = 'AmazonEC2' AND {_INSTANCE_USAGE_SQL}
GROUP BY ALL
"""

_BY_RI: Final = f"""
WITH used AS (
    SELECT ri_arn, sum(coalesce(effective_cost, 0)) AS effective_cost_usd,
           sum(normalized_units) AS covered_normalized_units
    FROM typed
    WHERE line_type = 'DiscountedUsage' AND product_code = 'AmazonEC2' AND {_INSTANCE_USAGE_SQL}
    GROUP BY ri_arn
), fees AS (
    SELECT ri_arn, sum(unused_cost) AS unused_cost_usd
    FROM typed WHERE line_type = 'RIFee' AND product_code = 'AmazonEC2' GROUP BY ri_arn
)
SELECT coalesce(used.ri_arn, fees.ri_arn) AS reservation_arn,
       coalesce(used.covered_normalized_units, 0) AS covered_normalized_units,
       coalesce(used.effective_cost_usd, 0) AS effective_cost_usd,
       coalesce(fees.unused_cost_usd, 0) AS unused_cost_usd
FROM used FULL OUTER JOIN fees ON used.ri_arn = fees.ri_arn
ORDER BY reservation_arn
"""


@dataclass(frozen=True)
class BilledReservations:
    """What AWS billed for Reserved Instances in a CUR.

    Attributes
    ----------
    covered
        One row per hour and key (``hour``, ``account_id``, ``region``, ``instance_type``,
        ``platform``, ``tenancy``, ``instance_family``): ``ri_covered_quantity``
        [instance-hours], ``ri_covered_normalized_units`` [NU·h] (the CUR's
        ``line_item_normalized_usage_amount``, else quantity × normalization factor) and
        ``ri_effective_cost_usd`` [USD] (``reservation_effective_cost``).
    by_ri
        One row per reservation ARN: ``covered_normalized_units`` [NU·h],
        ``effective_cost_usd`` and ``unused_cost_usd`` [USD].
    hours
        Every hour from the first to the last billed usage hour (UTC).
    ri_effective_cost_usd
        Sum of ``reservation_effective_cost`` over EC2 instance DiscountedUsage lines [USD].
    unused_cost_usd
        Sum over RIFee lines of ``reservation_unused_amortized_upfront_fee_for_billing_period``
        + ``reservation_unused_recurring_fee`` [USD].
    """

    covered: pd.DataFrame
    by_ri: pd.DataFrame
    hours: pd.DatetimeIndex
    ri_effective_cost_usd: float
    unused_cost_usd: float

    def by_family(self) -> pd.DataFrame:
        """RI-covered normalized units [NU·h] per ``hour`` and family group (all accounts)."""
        return family_units(self.covered, "ri_covered_normalized_units")


def family_units(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Sum ``column`` per ``hour`` and :data:`FAMILY_COLUMNS` (adding ``instance_family``)."""
    table = frame.copy()
    if "instance_family" not in table.columns:
        table["instance_family"] = instance_families(table["instance_type"]).to_numpy()
    grouped = table.groupby(["hour", *FAMILY_COLUMNS], observed=True)[column].sum()
    return grouped.rename("normalized_units").reset_index()


def billed_from_cur(paths: Sequence[str | Path]) -> BilledReservations:
    """Read the RI-covered usage, RI effective cost and unused RI cost billed in CUR files.

    Parameters
    ----------
    paths
        CUR files (Parquet, CSV, CSV.gz), folders or globs, legacy or CUR 2.0 layout.

    Returns
    -------
    BilledReservations

    Raises
    ------
    PriceFileError
        A file that is missing, empty, not a CUR with reservation columns, or unreadable.
    """
    files = cur_files(paths)
    where = describe_files(files)
    connection = duckdb.connect(":memory:")
    try:
        connection.execute("SET TimeZone = 'UTC'")
        select = cur_select_sql(
            connection, files, required=_REQUIRED, optional=_OPTIONAL, what=CUR_WHAT
        )
        try:
            connection.execute("CREATE TEMP VIEW raw AS " + select)
            connection.execute(_TYPED)
            covered = connection.sql(_COVERED).df()
            by_ri = connection.sql(_BY_RI).df()
            first, last = connection.execute(
                "SELECT min(hour), max(hour) FROM typed "
                f"WHERE line_type IN ('Usage', 'DiscountedUsage') AND {_INSTANCE_USAGE_SQL}"
            ).fetchall()[0]
        except duckdb.Error as error:
            raise PriceFileError(
                where,
                f"cannot be read as a CUR ({str(error).splitlines()[0]})",
                "pass unmodified CUR files",
            ) from error
    finally:
        connection.close()
    keys = keys_from_usage_types(
        covered["usage_type"].astype("string"), covered["operation"].astype("string")
    )
    table = pd.DataFrame(
        {
            "hour": pd.to_datetime(covered["hour"]).dt.tz_localize("UTC"),
            "account_id": covered["account_id"].astype("string"),
            **{column: keys[column].astype("string") for column in KEY_COLUMNS[1:]},
        }
    )
    table["instance_family"] = instance_families(table["instance_type"]).to_numpy()
    quantity = covered["ri_covered_quantity"].astype("float64")
    computed = quantity.to_numpy() * normalization_factors(table["instance_type"])
    complete = covered["with_normalized_units"].to_numpy() == covered["line_items"].to_numpy()
    table["ri_covered_quantity"] = quantity.to_numpy()
    table["ri_covered_normalized_units"] = np.where(
        complete, covered["cur_normalized_units"].fillna(0.0).to_numpy(), computed
    )
    table["ri_effective_cost_usd"] = covered["ri_effective_cost_usd"].astype("float64").to_numpy()
    table = table.sort_values(["hour", *KEY_COLUMNS]).reset_index(drop=True)
    hours = (
        pd.date_range(pd.Timestamp(first, tz="UTC"), pd.Timestamp(last, tz="UTC"), freq="h")
        if first is not None
        else pd.DatetimeIndex([], tz="UTC")
    )
    return BilledReservations(
        covered=table,
        by_ri=by_ri,
        hours=hours,
        ri_effective_cost_usd=float(by_ri["effective_cost_usd"].sum()),
        unused_cost_usd=float(by_ri["unused_cost_usd"].sum()),
    )


@dataclass(frozen=True)
class RealBillComparison:
    """How closely a simulation reproduces AWS's RI billing.

    Attributes
    ----------
    cells
        Hours × family groups compared: every billed hour times every family group with
        RI-covered usage in the billed or the simulated figures.
    matching
        Cells whose simulated RI-covered normalized units equal AWS's within ``tolerance``.
    tolerance
        Absolute tolerance [NU·h].
    mismatches
        The cells that differ: ``hour``, family columns, ``billed`` and ``simulated`` [NU·h].
    billed_ri_effective_cost_usd, simulated_ri_effective_cost_usd
        RI effective cost of covered usage [USD].
    billed_unused_cost_usd, simulated_unused_cost_usd
        Cost of unused RI hours [USD].
    """

    cells: int
    matching: int
    tolerance: float
    mismatches: pd.DataFrame
    billed_ri_effective_cost_usd: float
    simulated_ri_effective_cost_usd: float
    billed_unused_cost_usd: float
    simulated_unused_cost_usd: float

    @property
    def match_share(self) -> float:
        """Share of cells that match, in [0, 1] (1 when there is nothing to compare)."""
        return self.matching / self.cells if self.cells else 1.0

    @property
    def ri_effective_cost_error(self) -> float:
        """Relative error of the simulated RI effective cost [-]."""
        return _relative(self.simulated_ri_effective_cost_usd, self.billed_ri_effective_cost_usd)

    @property
    def unused_cost_error(self) -> float:
        """Relative error of the simulated unused RI cost [-]."""
        return _relative(self.simulated_unused_cost_usd, self.billed_unused_cost_usd)


def _relative(simulated: float, billed: float) -> float:
    if billed == 0.0:
        return 0.0 if simulated == 0.0 else float("inf")
    return abs(simulated - billed) / abs(billed)


def compare_billed(
    simulated_covered: pd.DataFrame,
    billed: BilledReservations,
    *,
    simulated_ri_effective_cost_usd: float,
    simulated_unused_cost_usd: float,
    tolerance: float = 1e-3,
) -> RealBillComparison:
    """Compare simulated RI coverage and cost with what AWS billed.

    Parameters
    ----------
    simulated_covered
        Simulated RI-covered usage: ``hour``, ``region``, ``instance_type``, ``platform``,
        ``tenancy`` and ``ri_covered_normalized_units`` [NU·h] (other columns ignored).
    billed
        From :func:`billed_from_cur`.
    simulated_ri_effective_cost_usd, simulated_unused_cost_usd
        The simulation's RI effective cost of covered usage and cost of unused RIs [USD].
    tolerance
        Absolute tolerance per cell [NU·h].
    """
    simulated = family_units(
        simulated_covered.loc[simulated_covered["hour"].isin(billed.hours)],
        "ri_covered_normalized_units",
    )
    aws = billed.by_family()
    index = ["hour", *FAMILY_COLUMNS]
    families = pd.concat([aws[list(FAMILY_COLUMNS)], simulated[list(FAMILY_COLUMNS)]])
    families = families.drop_duplicates().reset_index(drop=True)
    grid = families.merge(pd.DataFrame({"hour": billed.hours}), how="cross")
    merged = grid.merge(aws.rename(columns={"normalized_units": "billed"}), on=index, how="left")
    merged = merged.merge(
        simulated.rename(columns={"normalized_units": "simulated"}), on=index, how="left"
    )
    merged[["billed", "simulated"]] = merged[["billed", "simulated"]].fillna(0.0)
    differs = (merged["billed"] - merged["simulated"]).abs() > tolerance
    return RealBillComparison(
        cells=len(merged),
        matching=int((~differs).sum()),
        tolerance=tolerance,
        mismatches=merged.loc[differs, [*index, "billed", "simulated"]].reset_index(drop=True),
        billed_ri_effective_cost_usd=billed.ri_effective_cost_usd,
        simulated_ri_effective_cost_usd=float(simulated_ri_effective_cost_usd),
        billed_unused_cost_usd=billed.unused_cost_usd,
        simulated_unused_cost_usd=float(simulated_unused_cost_usd),
    )


def compare_with_simulation(
    result: Any, billed: BilledReservations, *, tolerance: float = 1e-3
) -> RealBillComparison:
    """Compare a :func:`billing.simulator.simulate` result with what AWS billed.

    See :func:`compare_billed`; the simulated RI-covered units and RI costs are taken from
    ``result``.
    """
    covered, effective, unused = _simulated_ri_figures(result)
    return compare_billed(
        covered,
        billed,
        simulated_ri_effective_cost_usd=effective,
        simulated_unused_cost_usd=unused,
        tolerance=tolerance,
    )


def owner_accounts_from_arns(ids: Iterable[str]) -> dict[str, str]:
    """Owner account of each commitment whose id is an ARN (``arn:aws:ec2:REGION:ACCOUNT:...``).

    A CUR names each RI by its ARN, which holds the account that bought it; AWS applies an RI to
    that account's usage first. Ids that are not ARNs are left out.
    """
    owners: dict[str, str] = {}
    for commitment_id in ids:
        parts = commitment_id.split(":")
        if len(parts) >= 6 and parts[0] == "arn" and parts[4].isdigit():
            owners[commitment_id] = parts[4]
    return owners


def _simulated_ri_figures(result: Any) -> tuple[pd.DataFrame, float, float]:
    """RI-covered units per hour and key, RI effective cost and unused cost of a simulation.

    Reads ``result.hours``, ``result.keys`` (with ``normalization_factor``),
    ``result.ri_covered`` (hours × keys [instance-hours]) and ``result.instruments``
    (``kind``, ``used_cost_usd``, ``unused_usd``) of a ``SimulationResult``.
    """
    keys: pd.DataFrame = result.keys
    ri_covered = np.asarray(result.ri_covered, dtype=np.float64)
    hour_index, key_index = np.nonzero(ri_covered)
    chosen = keys.iloc[key_index].reset_index(drop=True)
    quantity = ri_covered[hour_index, key_index]
    covered = pd.DataFrame(
        {
            "hour": pd.DatetimeIndex(result.hours)[hour_index],
            **{column: chosen[column] for column in KEY_COLUMNS},
            "ri_covered_quantity": quantity,
            "ri_covered_normalized_units": quantity
            * chosen["normalization_factor"].to_numpy(dtype=np.float64),
        }
    )
    instruments: pd.DataFrame = result.instruments
    reserved = instruments.loc[instruments["kind"] == CommitmentKind.RESERVED_INSTANCE]
    return (
        covered,
        float(reserved["used_cost_usd"].sum()),
        float(reserved["unused_usd"].sum()),
    )


__all__ = [
    "FAMILY_COLUMNS",
    "BilledReservations",
    "RealBillComparison",
    "billed_from_cur",
    "compare_billed",
    "compare_with_simulation",
    "family_units",
    "owner_accounts_from_arns",
]
