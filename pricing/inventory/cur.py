"""Owned Reserved Instances and Savings Plans rebuilt from a Cost and Usage Report's fee lines.

Each RI purchase bills one ``RIFee`` line per month with its ARN, usage type
(``HeavyUsage:c5.large``), operation (platform), number of RIs, upfront value, hourly fee
(unblended rate) and term. The RI's ``DiscountedUsage`` lines add the payment option, offering
class and lease length. The CUR does not name an RI's scope; the RIFee line's availability zone
(empty for regional RIs) is used when present.

Each Savings Plan bills ``SavingsPlanRecurringFee`` lines (hourly in an hourly CUR) with its ARN,
offering type, payment option, purchase term, start and end, region and instance family (EC2
Instance Savings Plans), and ``savingsPlan/TotalCommitmentToDate``: the amortized upfront and
recurring commitment of the line's period ("to date, for that hour"), so the hourly commitment
is that amount over the line's hours. The offering type (``savingsPlan/OfferingType``:
``ComputeSavingsPlans``, ``EC2InstanceSavingsPlans``, ``DatabaseSavingsPlans``,
``SageMakerSavingsPlans``) names the kind; a fee line without one is a SageMaker Savings Plan
when its product code is ``MachineLearningSavingsPlans`` (the Price List's service code of
SageMaker Savings Plans). Other offering types are skipped with a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import duckdb
import pandas as pd

from core.times import as_utc
from pricing.errors import PriceFileError
from pricing.instance_types import normalization_factor
from pricing.inventory.commitments import Commitment, Inventory
from pricing.inventory.cur_databases import (
    DATABASE_FEES_SQL,
    PRODUCT_COLUMNS,
    database_reservation_keys,
)
from pricing.inventory.databases import database_units
from pricing.inventory.values import (
    arn_account,
    region_of_zone,
    ri_effective_hourly_usd,
    term_end,
)
from pricing.offerings import (
    TERM_HOURS,
    CommitmentKind,
    parse_offering_class,
    parse_payment_option,
    parse_term_years,
)
from pricing.readers.cur_columns import CUR_WHAT, cur_files, cur_select_sql, describe_files
from pricing.usage_types import keys_from_usage_types

_REQUIRED: Final = (
    "line_item_line_item_type",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_usage_start_date",
)
_OPTIONAL: Final = (
    "reservation_reservation_a_r_n",
    "savings_plan_savings_plan_a_r_n",
    "savings_plan_offering_type",
    "savings_plan_payment_option",
    "savings_plan_purchase_term",
    "savings_plan_start_time",
    "savings_plan_end_time",
    "savings_plan_region",
    "savings_plan_instance_type_family",
    "savings_plan_total_commitment_to_date",
    "savings_plan_recurring_commitment_for_billing_period",
    "savings_plan_amortized_upfront_commitment_for_billing_period",
    "line_item_product_code",
    "line_item_usage_account_id",
    "line_item_availability_zone",
    "line_item_usage_end_date",
    "line_item_unblended_rate",
    "reservation_upfront_value",
    "reservation_number_of_reservations",
    "reservation_start_time",
    "reservation_end_time",
    "pricing_purchase_option",
    "pricing_offering_class",
    "pricing_lease_contract_length",
    *PRODUCT_COLUMNS,
)
_RI_FEE_SQL: Final = (
    r"regexp_matches(usage_type, '^([A-Z]{2,4}[0-9]?-)?[A-Za-z]*HeavyUsage[A-Za-z]*:')"
)


def _timestamp(column: str) -> str:
    return f"(try_cast({column} AS TIMESTAMPTZ) AT TIME ZONE 'UTC')"


_QUERY: Final = f"""
WITH typed AS (
    SELECT trim(line_item_line_item_type) AS line_type,
           coalesce(trim(line_item_product_code), 'AmazonEC2') AS product_code,
           trim(line_item_usage_type) AS usage_type,
           trim(line_item_operation) AS operation,
           nullif(trim(line_item_usage_account_id), '') AS usage_account,
           nullif(trim(line_item_availability_zone), '') AS zone,
           {_timestamp("line_item_usage_start_date")} AS usage_start,
           {_timestamp("line_item_usage_end_date")} AS usage_end,
           try_cast(line_item_unblended_rate AS DOUBLE) AS recurring,
           try_cast(reservation_upfront_value AS DOUBLE) AS upfront,
           try_cast(reservation_number_of_reservations AS DOUBLE) AS reservations,
           {_timestamp("reservation_start_time")} AS ri_start,
           {_timestamp("reservation_end_time")} AS ri_end,
           nullif(trim(reservation_reservation_a_r_n), '') AS ri_arn,
           nullif(trim(pricing_purchase_option), '') AS purchase_option,
           nullif(trim(pricing_offering_class), '') AS offering_class,
           nullif(trim(pricing_lease_contract_length), '') AS lease_length,
           file
    FROM raw
), fees AS (
    SELECT * FROM typed
    WHERE line_type = 'RIFee' AND product_code = 'AmazonEC2' AND ri_arn IS NOT NULL
      AND {_RI_FEE_SQL}
    QUALIFY row_number() OVER (PARTITION BY ri_arn ORDER BY usage_start DESC NULLS LAST) = 1
), applied AS (
    SELECT ri_arn, max(purchase_option) AS applied_payment,
           max(offering_class) AS applied_class, max(lease_length) AS applied_lease
    FROM typed WHERE line_type = 'DiscountedUsage' AND ri_arn IS NOT NULL
    GROUP BY ri_arn
)
SELECT fees.ri_arn, fees.usage_type, fees.operation, fees.usage_account, fees.zone,
       fees.recurring, fees.upfront,
       fees.reservations, fees.ri_start, fees.ri_end, fees.file,
       coalesce(fees.usage_end, fees.usage_start) AS billed_until,
       coalesce(applied.applied_payment, fees.purchase_option) AS payment,
       coalesce(applied.applied_class, fees.offering_class) AS offering_class,
       coalesce(applied.applied_lease, fees.lease_length) AS lease_length
FROM fees LEFT JOIN applied ON fees.ri_arn = applied.ri_arn
ORDER BY fees.ri_start, fees.ri_arn
"""


_SAVINGS_PLAN_QUERY: Final = f"""
WITH fees AS (
    SELECT nullif(trim(savings_plan_savings_plan_a_r_n), '') AS sp_arn,
           nullif(trim(savings_plan_offering_type), '') AS offering_type,
           nullif(trim(line_item_product_code), '') AS product_code,
           nullif(trim(savings_plan_payment_option), '') AS payment,
           nullif(trim(savings_plan_purchase_term), '') AS term,
           {_timestamp("savings_plan_start_time")} AS sp_start,
           {_timestamp("savings_plan_end_time")} AS sp_end,
           nullif(trim(savings_plan_region), '') AS region,
           nullif(trim(savings_plan_instance_type_family), '') AS family,
           try_cast(savings_plan_total_commitment_to_date AS DOUBLE) AS commitment_to_date,
           try_cast(savings_plan_recurring_commitment_for_billing_period AS DOUBLE) AS recurring,
           try_cast(savings_plan_amortized_upfront_commitment_for_billing_period AS DOUBLE)
               AS amortized_upfront,
           greatest(date_diff('second', {_timestamp("line_item_usage_start_date")},
                              {_timestamp("line_item_usage_end_date")}) / 3600.0, 1.0)
               AS line_hours,
           nullif(trim(line_item_usage_account_id), '') AS usage_account,
           {_timestamp("line_item_usage_end_date")} AS billed_until,
           file
    FROM raw
    WHERE trim(line_item_line_item_type) = 'SavingsPlanRecurringFee'
)
SELECT * FROM fees WHERE sp_arn IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY sp_arn ORDER BY billed_until DESC NULLS LAST) = 1
ORDER BY sp_start, sp_arn
"""


def _read_fees(paths: Sequence[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The latest RIFee line of each EC2 RI and of each database reservation, and the latest
    SavingsPlanRecurringFee line of each Savings Plan."""
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
            return (
                connection.sql(_QUERY).df(),
                connection.sql(DATABASE_FEES_SQL).df(),
                connection.sql(_SAVINGS_PLAN_QUERY).df(),
            )
        except duckdb.Error as error:
            raise PriceFileError(
                where,
                f"cannot be read as a CUR ({str(error).splitlines()[0]})",
                "pass unmodified CUR files",
            ) from error
    finally:
        connection.close()


def _payment(stated: object, upfront: float, recurring: float) -> str:
    if isinstance(stated, str):
        return parse_payment_option(stated)
    if upfront > 0:
        return "Partial Upfront" if recurring > 0 else "All Upfront"
    return "No Upfront"


def _term(stated: object, start: datetime, end: datetime) -> int:
    if isinstance(stated, str):
        return parse_term_years(stated)
    return 3 if (end - start).days > 400 else 1


def _owner_account(arn: str, usage_account: object) -> str | None:
    """The account in the ARN (``arn:aws:ec2:REGION:ACCOUNT:reserved-instances/ID``,
    ``arn:aws:savingsplans::ACCOUNT:savingsplan/ID``), else the fee line's usage account."""
    account = arn_account(arn)
    if account is not None:
        return account
    return usage_account if isinstance(usage_account, str) and usage_account else None


def inventory_from_cur(paths: Sequence[str | Path]) -> Inventory:
    """Rebuild the owned Reserved Instances, database reservations and Savings Plans billed in
    one or more CUR files.

    Parameters
    ----------
    paths
        CUR files (Parquet, CSV, CSV.gz), folders or globs, legacy or CUR 2.0 layout.

    Returns
    -------
    Inventory
        One :class:`Commitment` per reservation ARN (its latest RIFee line): instance
        type from the ``HeavyUsage`` usage type, platform from the operation, count =
        ``reservation_number_of_reservations``, start / end from ``reservation_start_time`` /
        ``reservation_end_time``, upfront = ``reservation_upfront_value`` of the whole item
        [USD], recurring = the fee's unblended rate per RI [USD/h]; payment option, offering
        class and term from the RI's DiscountedUsage lines when present (else derived from the
        prices and dates); scope ``"Region"`` unless the fee line names an availability zone;
        ``account_id`` = the account in the ARN (the buyer, whose usage AWS serves first), else
        the fee line's usage account.
        Database reservations (RDS, ElastiCache, MemoryDB, OpenSearch, Redshift) likewise, keyed
        from the fee line's product columns (:mod:`pricing.inventory.cur_databases`).
        ``as_of`` is the end of the latest fee line (the end of its billing month); ``notes``
        lists fee lines that could not be used.

    Raises
    ------
    PriceFileError
        A file that is missing, empty, not a CUR (no reservation columns), or unreadable.
    """
    fees, database_fees, plan_fees = _read_fees(paths)
    notes: list[str] = []
    plans, plan_notes = _savings_plans(plan_fees)
    databases, database_notes = _database_reservations(database_fees)
    plan_notes = [*database_notes, *plan_notes]
    plans = (*databases, *plans)
    if fees.empty:
        as_of = max(
            _billed_until(plan_fees) or datetime.min.replace(tzinfo=UTC),
            _billed_until(database_fees) or datetime.min.replace(tzinfo=UTC),
        )
        if as_of == datetime.min.replace(tzinfo=UTC):
            as_of = datetime.now(UTC)
        notes = [] if databases else ["no RIFee lines"]
        return Inventory(commitments=plans, as_of=as_of, notes=(*notes, *plan_notes))
    as_box = fees["usage_type"].str.replace(
        r"[A-Za-z]*HeavyUsage[A-Za-z]*:", "BoxUsage:", regex=True
    )
    dedicated = fees["usage_type"].str.contains("Dedicated", case=False)
    as_usage = as_box.where(~dedicated, as_box.str.replace("BoxUsage:", "DedicatedUsage:"))
    keys = keys_from_usage_types(as_usage.astype("string"), fees["operation"].astype("string"))
    commitments: list[Commitment] = []
    rows = fees.to_dict("records")
    key_rows = keys.to_dict("records")
    for row, key in zip(rows, key_rows, strict=True):  # one row per RI purchase: a handful
        arn = str(row["ri_arn"])
        if pd.isna(key["region"]) or pd.isna(key["platform"]) or pd.isna(row["ri_start"]):
            notes.append(f"skipped RI {arn}: unknown key {row['usage_type']} {row['operation']}")
            continue
        count = int(row["reservations"]) if pd.notna(row["reservations"]) else 1
        upfront = float(row["upfront"]) if pd.notna(row["upfront"]) else 0.0
        recurring = float(row["recurring"]) if pd.notna(row["recurring"]) else 0.0
        start = as_utc(row["ri_start"]).to_pydatetime()
        end = as_utc(row["ri_end"]).to_pydatetime()
        term = _term(row["lease_length"], start, end)
        zone = row["zone"] if isinstance(row["zone"], str) else None
        instance_type = str(key["instance_type"])
        commitments.append(
            Commitment(
                kind=CommitmentKind.RESERVED_INSTANCE,
                id=arn,
                start=start,
                end=end,
                term_years=term,
                payment_option=_payment(row["payment"], upfront, recurring),
                upfront_usd=upfront,
                region=str(region_of_zone(zone) if zone else key["region"]),
                instance_type=instance_type,
                platform=str(key["platform"]),
                tenancy=str(key["tenancy"]),
                scope="Availability Zone" if zone else "Region",
                availability_zone=zone,
                offering_class=parse_offering_class(
                    row["offering_class"] if isinstance(row["offering_class"], str) else "standard"
                ),
                count=count,
                normalized_units=count * normalization_factor(instance_type),
                recurring_usd_per_hour=recurring,
                effective_usd_per_hour=ri_effective_hourly_usd(upfront, recurring, count, term),
                source=f"CUR {Path(str(row['file'])).name}",
                account_id=_owner_account(arn, row["usage_account"]),
            )
        )
    as_of = max(
        as_utc(fees["billed_until"].max()).to_pydatetime(),
        _billed_until(plan_fees) or datetime.min.replace(tzinfo=UTC),
        _billed_until(database_fees) or datetime.min.replace(tzinfo=UTC),
    )
    return Inventory(commitments=(*commitments, *plans), as_of=as_of, notes=(*notes, *plan_notes))


_SP_KINDS: Final = {
    "computesavingsplans": CommitmentKind.COMPUTE_SAVINGS_PLAN,
    "ec2instancesavingsplans": CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN,
    "databasesavingsplans": CommitmentKind.DATABASE_SAVINGS_PLAN,
    "sagemakersavingsplans": CommitmentKind.SAGEMAKER_SAVINGS_PLAN,
}
"""``savingsPlan/OfferingType`` (spaces dropped, lower case) → commitment kind."""

_SP_PRODUCT_KINDS: Final = {
    "machinelearningsavingsplans": CommitmentKind.SAGEMAKER_SAVINGS_PLAN,
}
"""``lineItem/ProductCode`` of a fee line without an offering type → commitment kind: only the
one product code that names a single kind (``ComputeSavingsPlans`` bills both Compute and EC2
Instance Savings Plans)."""


def _sp_kind(offering_type: object, product_code: object) -> CommitmentKind | None:
    """The kind a Savings Plan fee line names: its offering type, else its product code."""
    if isinstance(offering_type, str) and offering_type:
        return _SP_KINDS.get(offering_type.replace(" ", "").lower())
    if isinstance(product_code, str):
        return _SP_PRODUCT_KINDS.get(product_code.replace(" ", "").lower())
    return None


def _database_reservations(fees: pd.DataFrame) -> tuple[tuple[Commitment, ...], list[str]]:
    """One commitment per database reservation ARN, from its latest RIFee line
    (:mod:`pricing.inventory.cur_databases` maps its product to the key)."""
    keyed, notes = database_reservation_keys(fees)
    commitments: list[Commitment] = []
    for row in keyed.to_dict("records"):  # one row per reservation: a handful
        arn = str(row["ri_arn"])
        if pd.isna(row["ri_start"]):
            notes.append(f"skipped {row['product_code']} reservation {arn}: no start time")
            continue
        count = int(row["reservations"]) if pd.notna(row["reservations"]) else 1
        upfront = float(row["upfront"]) if pd.notna(row["upfront"]) else 0.0
        recurring = float(row["recurring"]) if pd.notna(row["recurring"]) else 0.0
        start = as_utc(row["ri_start"]).to_pydatetime()
        end = as_utc(row["ri_end"]).to_pydatetime() if pd.notna(row["ri_end"]) else None
        term = _term(row["lease_length"], start, end or start)
        instance_type, tenancy = str(row["instance_type"]), str(row["tenancy"])
        commitments.append(
            Commitment(
                kind=CommitmentKind.RESERVED_INSTANCE,
                id=arn,
                start=start,
                end=end or term_end(start, term),
                term_years=term,
                payment_option=_payment(row["payment"], upfront, recurring),
                upfront_usd=upfront,
                region=str(row["region"]),
                instance_type=instance_type,
                platform=str(row["platform"]),
                tenancy=tenancy,
                scope="Region",
                offering_class="standard",
                count=count,
                normalized_units=count * database_units(instance_type, tenancy),
                recurring_usd_per_hour=recurring,
                effective_usd_per_hour=ri_effective_hourly_usd(upfront, recurring, count, term),
                source=f"CUR {Path(str(row['file'])).name}",
                account_id=_owner_account(arn, row["usage_account"]),
            )
        )
    return tuple(commitments), notes


def _billed_until(plan_fees: pd.DataFrame) -> datetime | None:
    if plan_fees.empty or plan_fees["billed_until"].isna().all():
        return None
    return as_utc(plan_fees["billed_until"].max()).to_pydatetime()


def _savings_plans(plan_fees: pd.DataFrame) -> tuple[tuple[Commitment, ...], list[str]]:
    """One commitment per Savings Plan ARN, from its latest recurring-fee line."""
    plans: list[Commitment] = []
    notes: list[str] = []
    for row in plan_fees.to_dict("records"):  # one row per Savings Plan: a handful
        arn = str(row["sp_arn"])
        kind = _sp_kind(row["offering_type"], row["product_code"])
        if kind is None:
            named = row["offering_type"] if isinstance(row["offering_type"], str) else None
            notes.append(
                f"skipped Savings Plan {arn}: offering type {named or 'missing'} "
                f"(product {row['product_code']}) is not one commitopt models"
            )
            continue
        if pd.isna(row["sp_start"]) or pd.isna(row["commitment_to_date"]):
            notes.append(f"skipped Savings Plan {arn}: no start time or commitment")
            continue
        start = as_utc(row["sp_start"]).to_pydatetime()
        term = parse_term_years(row["term"]) if isinstance(row["term"], str) else 1
        end = (
            as_utc(row["sp_end"]).to_pydatetime()
            if pd.notna(row["sp_end"])
            else term_end(start, term)
        )
        hours = float(row["line_hours"])
        commitment = float(row["commitment_to_date"]) / hours
        upfront_per_hour = float(row["amortized_upfront"] or 0.0) / hours
        ec2 = kind == CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN
        plans.append(
            Commitment(
                kind=kind,
                id=arn,
                start=start,
                end=end,
                term_years=term,
                payment_option=_payment(
                    row["payment"], upfront_per_hour, commitment - upfront_per_hour
                ),
                upfront_usd=upfront_per_hour * TERM_HOURS[term],
                region=str(row["region"]) if ec2 and isinstance(row["region"], str) else None,
                instance_family=str(row["family"]) if ec2 else None,
                recurring_usd_per_hour=max(commitment - upfront_per_hour, 0.0),
                effective_usd_per_hour=commitment,
                commitment_usd_per_hour=commitment,
                source=f"CUR {Path(str(row['file'])).name}",
                account_id=_owner_account(arn, row["usage_account"]),
            )
        )
    return tuple(plans), notes


__all__ = ["inventory_from_cur"]
