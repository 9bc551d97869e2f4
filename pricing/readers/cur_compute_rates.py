"""A Cost and Usage Report's own rates of Fargate, Lambda and SageMaker usage.

The twin of :mod:`pricing.readers.cur_rates` (EC2) and :mod:`pricing.readers.cur_database_rates`
for the usage :mod:`pricing.compute_keys` keys. Per usage type billed under ``AmazonECS``,
``AmazonEKS``, ``AWSLambda`` or ``AmazonSageMaker``:

* **on-demand**: ``pricing_public_on_demand_rate`` of ``Usage``, ``DiscountedUsage`` and
  ``SavingsPlanCoveredUsage`` rows, else ``line_item_unblended_rate`` of ``Usage`` rows billed on
  demand (the public rate unless the account has private pricing); the latest row's rate where a
  key shows several;
* **Savings Plans**: ``savings_plan_savings_plan_rate`` of ``SavingsPlanCoveredUsage`` rows
  (the plan's rate for that usage type), with the plan's type, term and payment option from
  its ARN's rows (``savings_plan_offering_type`` ``ComputeSavingsPlans`` or
  ``SageMakerSavingsPlans``, ``savings_plan_purchase_term``, ``savings_plan_payment_option``).

Each rate is per the line item's bill unit (``pricing_unit`` when present: Lambda's per
GB-second) and is converted to USD per key unit-hour (:mod:`pricing.readers.compute_rate_rows`).
Rows of usage no plan covers (requests, Spot, storage, data transfer) are counted by reason in
the notes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Final

import duckdb
import numpy as np
import pandas as pd

from pricing.catalog import KEY_COLUMNS, SAVINGS_PLAN_COLUMNS, CatalogMetadata, PriceCatalog
from pricing.errors import PriceFileError
from pricing.offerings import parse_payment_option, parse_savings_plan_type, parse_term_years
from pricing.readers.compute_rate_rows import COMPUTE_SERVICE_CODES, count_notes, key_rates, tally
from pricing.readers.compute_savings_plans_rates import PLAN_OF_SERVICE
from pricing.readers.cur_columns import (
    CUR_WHAT,
    ON_DEMAND_RATE_COLUMNS,
    SERVICE_RATE_COLUMNS,
    cur_files,
    cur_select_sql,
    cur_source,
    describe_files,
    not_a_cur,
    require_usd,
)
from pricing.readers.cur_rates import parse_each
from pricing.services import service_of

REQUIRED_COLUMNS: Final = SERVICE_RATE_COLUMNS
"""Normalised names a file must have."""

OPTIONAL_COLUMNS: Final = (
    *ON_DEMAND_RATE_COLUMNS,
    "pricing_unit",
    "savings_plan_savings_plan_a_r_n",
    "savings_plan_savings_plan_rate",
    "savings_plan_offering_type",
    "savings_plan_purchase_term",
    "savings_plan_payment_option",
)
"""Columns used when present."""

_RATES_SQL: Final = """
rows AS (
    SELECT
        trim(line_item_line_item_type) AS line_type,
        trim(line_item_product_code) AS service_code,
        trim(line_item_usage_type) AS usage_type,
        trim(coalesce(pricing_unit, '')) AS unit,
        upper(trim(coalesce(line_item_currency_code, ''))) AS currency,
        CAST(line_item_usage_start_date AS TIMESTAMPTZ) AS usage_start,
        nullif(trim(savings_plan_savings_plan_a_r_n), '') AS sp_arn,
        try_cast(savings_plan_savings_plan_rate AS DOUBLE) AS sp_rate,
        nullif(trim(savings_plan_offering_type), '') AS sp_type,
        nullif(trim(savings_plan_purchase_term), '') AS sp_term,
        nullif(trim(savings_plan_payment_option), '') AS sp_payment,
        CASE
            WHEN try_cast(pricing_public_on_demand_rate AS DOUBLE) > 0
                 AND trim(line_item_line_item_type)
                     IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
                THEN try_cast(pricing_public_on_demand_rate AS DOUBLE)
            WHEN trim(line_item_line_item_type) = 'Usage'
                 AND coalesce(nullif(trim(pricing_term), ''), 'OnDemand') = 'OnDemand'
                 AND try_cast(line_item_unblended_rate AS DOUBLE) > 0
                THEN try_cast(line_item_unblended_rate AS DOUBLE)
        END AS od_rate
    FROM source
), plans AS (
    SELECT sp_arn, max(sp_type) AS sp_type, max(sp_term) AS sp_term,
           max(sp_payment) AS sp_payment
    FROM rows WHERE sp_arn IS NOT NULL GROUP BY sp_arn
), usage AS (
    SELECT * FROM rows WHERE service_code IN ({services})
      AND line_type IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
)
"""

_ON_DEMAND_SQL: Final = """
SELECT service_code, usage_type, unit, count(*) AS line_items, count(od_rate) AS rated,
       arg_max(od_rate, usage_start) FILTER (WHERE od_rate IS NOT NULL) AS rate,
       min(od_rate) AS low, max(od_rate) AS high, max(usage_start) AS last_start,
       list_distinct(list(currency) FILTER (WHERE currency <> '')) AS currencies
FROM usage GROUP BY ALL
ORDER BY service_code, usage_type, unit
"""

_SAVINGS_PLANS_SQL: Final = """
SELECT usage.service_code, usage.usage_type, usage.unit, plans.sp_type, plans.sp_term,
       plans.sp_payment,
       arg_max(usage.sp_rate, usage.usage_start) AS rate,
       min(usage.sp_rate) AS low, max(usage.sp_rate) AS high
FROM usage JOIN plans ON usage.sp_arn = plans.sp_arn
WHERE usage.line_type = 'SavingsPlanCoveredUsage' AND usage.sp_rate > 0
GROUP BY ALL
ORDER BY 1, 2, 3, 4, 5, 6
"""


def read_cur_compute_rates(
    paths: Sequence[str | Path], *, require_rows: bool = True
) -> PriceCatalog:
    """Read the on-demand and Savings Plans rates of Fargate, Lambda and SageMaker keys.

    Parameters
    ----------
    paths
        CUR files (Parquet, CSV, CSV.gz), folders or globs; legacy or CUR 2.0 layouts.
    require_rows
        Raise when no rate is found; otherwise return an empty catalog.

    Returns
    -------
    PriceCatalog
        ``on_demand`` and ``savings_plans`` (``compute`` / ``sagemaker``) rows per key unit-hour;
        ``source`` ``"CUR <file>"``; ``as_of`` the latest rated hour's date; the notes count the
        usage types left out and name keys whose rate changed.

    Raises
    ------
    PriceFileError
        A file missing, unreadable or without the needed columns; a currency other than USD; no
        rate at all (with ``require_rows``).
    """
    files = cur_files(paths)
    where = describe_files(files)
    connection = duckdb.connect(":memory:")
    try:
        connection.execute("SET TimeZone = 'UTC'")
        select = cur_select_sql(
            connection, files, required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, what=CUR_WHAT
        )
        services = ", ".join(f"'{code}'" for code in COMPUTE_SERVICE_CODES)
        prefix = f"WITH source AS ({select}), " + _RATES_SQL.replace("{services}", services)
        try:
            on_demand_groups = connection.execute(prefix + _ON_DEMAND_SQL).df()
            plan_groups = connection.execute(prefix + _SAVINGS_PLANS_SQL).df()
        except duckdb.Error as error:
            raise not_a_cur(where, error) from error
    finally:
        connection.close()
    require_usd([c for cs in on_demand_groups["currencies"] for c in cs], where)
    source = cur_source(files)
    on_demand, notes = _on_demand(on_demand_groups)
    savings_plans, plan_notes = _savings_plans(plan_groups)
    notes += plan_notes
    if on_demand.empty and savings_plans.empty and require_rows:
        raise PriceFileError(
            where,
            "no Fargate, Lambda or SageMaker rate (AmazonECS, AmazonEKS, AWSLambda or "
            "AmazonSageMaker usage with a public on-demand, unblended or Savings Plans rate)"
            + (f"; {notes[0]}" if notes else ""),
            "pass a CUR that bills these services, or import AWS's price lists",
        )
    stamps = pd.to_datetime(on_demand_groups["last_start"], utc=True).dropna()
    as_of = stamps.max().date() if len(stamps) else date.today()
    metadata = CatalogMetadata(source=source, as_of=as_of, notes=tuple(notes))
    return PriceCatalog.from_frames(
        metadata,
        on_demand=on_demand.assign(source=source),
        savings_plans=savings_plans.assign(source=source) if len(savings_plans) else None,
    )


def _keyed(groups: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    keys, reasons = key_rates(groups["usage_type"], groups["service_code"], groups["unit"])
    return pd.concat([groups, keys], axis=1), reasons


def _on_demand(groups: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    columns = [*KEY_COLUMNS, "on_demand_usd_per_hour"]
    if groups.empty:
        return pd.DataFrame(columns=columns), []
    keyed, reasons = _keyed(groups)
    unrated = (reasons == "") & (keyed["rated"] == 0)
    reasons = reasons.where(~unrated, "no public on-demand or on-demand unblended rate")
    _, examples = tally(reasons, keyed["usage_type"])
    counts: Counter[str] = Counter()
    for reason, lines in zip(reasons, keyed["line_items"], strict=True):
        if reason:
            counts[str(reason)] += int(lines)  # line items, not usage types
    notes = count_notes(counts, "line items", examples)
    kept = keyed.loc[(reasons == "").to_numpy()].copy()
    kept["on_demand_usd_per_hour"] = kept["rate"].astype("float64") / kept["per_bill_unit"]
    changed = kept.loc[kept["low"] != kept["high"], "usage_type"]
    if len(changed):
        notes.append(f"rate changed within the CUR, the latest used: {', '.join(changed[:3])}")
    table = kept.sort_values("last_start").drop_duplicates(list(KEY_COLUMNS), keep="last")
    return table[columns].sort_values(list(KEY_COLUMNS)).reset_index(drop=True), notes


def _savings_plans(groups: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    columns = [*KEY_COLUMNS, *SAVINGS_PLAN_COLUMNS, "sp_hourly_usd"]
    if groups.empty:
        return pd.DataFrame(columns=columns), []
    keyed, reasons = _keyed(groups)
    keyed["plan_type"] = parse_each(keyed["sp_type"], parse_savings_plan_type)
    keyed["term_years"] = parse_each(keyed["sp_term"], parse_term_years)
    keyed["payment_option"] = parse_each(keyed["sp_payment"], parse_payment_option)
    unknown = (reasons == "") & keyed[["plan_type", "term_years", "payment_option"]].isna().any(
        axis=1
    )
    reasons = reasons.where(
        ~unknown,
        "a plan without a known type, term or payment option (savings_plan_offering_type, "
        "savings_plan_purchase_term, savings_plan_payment_option)",
    )
    expected = pd.Series(
        [PLAN_OF_SERVICE.get(service_of(str(t))) for t in keyed["instance_type"].fillna("")],
        index=keyed.index,
    )
    wrong = (reasons == "") & (keyed["plan_type"].astype("string") != expected)
    reasons = reasons.where(~wrong, "a plan type that does not cover the service")
    counts, examples = tally(reasons, keyed["usage_type"])
    notes = count_notes(counts, "Savings Plans usage type(s)", examples)
    kept = keyed.loc[(reasons == "").to_numpy()].copy()
    kept["term_years"] = kept["term_years"].astype("int64")
    kept["sp_hourly_usd"] = kept["rate"].astype("float64") / kept["per_bill_unit"].to_numpy(
        dtype=np.float64
    )
    changed = kept.loc[kept["low"] != kept["high"], "usage_type"]
    if len(changed):
        notes.append(
            f"Savings Plans rate changed within the CUR, the latest used: {', '.join(changed[:3])}"
        )
    table = kept.drop_duplicates([*KEY_COLUMNS, *SAVINGS_PLAN_COLUMNS], keep="last")
    return table[columns].sort_values(columns[:-1]).reset_index(drop=True), notes


__all__ = ["OPTIONAL_COLUMNS", "REQUIRED_COLUMNS", "read_cur_compute_rates"]
