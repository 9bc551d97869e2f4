"""EC2 instance usage from the AWS Cost Explorer API (``ce:GetCostAndUsage``).

Cost Explorer answers one metric per group of at most two dimensions. Region, instance type,
platform and tenancy are four, but two dimensions carry them all exactly:

- ``USAGE_TYPE`` (``USE2-BoxUsage:m5.large``, ``EUW2-DedicatedUsage:r5.xlarge``) gives the region
  (its prefix), the tenancy (``BoxUsage`` is shared, ``DedicatedUsage`` dedicated) and the instance
  type;
- ``OPERATION`` (``RunInstances:0002``) gives the platform (:mod:`pricing.platforms`).

So every request groups by ``USAGE_TYPE`` and ``OPERATION`` and maps each pair with
:func:`pricing.usage_types.keys_from_usage_types`, as the CUR readers do. The account is a third
dimension: when accounts are asked for, the request series runs once per account with a
``LINKED_ACCOUNT`` filter, so that every number is attributed exactly (no merge of two
two-dimension answers, which could not be joined exactly). With ``by_account=True`` the accounts
are first found with one query grouped by ``LINKED_ACCOUNT``.

The filter is EC2 running hours: ``SERVICE = "Amazon Elastic Compute Cloud - Compute"`` and
``USAGE_TYPE_GROUP = "EC2: Running Hours"``. ``UsageQuantity`` counts all instance hours, billed
on-demand or covered by Reserved Instances or Savings Plans, which is the demand commitments serve.
That group also holds Spot and Dedicated Host hours; they are excluded and reported, by reason.

With ``compute_services=True`` a second request series per account reads the Fargate, Lambda and
SageMaker usage that Savings Plans cover (:mod:`usage.cost_explorer_compute`), keyed as the CUR
readers key it (``fargate.vcpu``, ``lambda.duration`` in GB-hours, ``ml.m5.xlarge``).

HOURLY granularity must be enabled in the Cost Explorer settings and covers the last 14 days only;
DAILY answers are spread evenly over the 24 hours of each day (:func:`usage.table.spread_daily`)
and flagged as daily.

The caller needs the IAM permission ``ce:GetCostAndUsage``. Each request costs money (USD 0.01 at
the time of writing), so the number of requests is reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Literal

import pandas as pd
from botocore.exceptions import ClientError

from pricing.readers.aws_api import AwsAccessError, paginate
from pricing.readers.common import ProgressCallback
from pricing.regions import PREFIX_TO_REGION, check_region
from pricing.usage_types import INSTANCE_USAGE_TENANCY, keys_from_usage_types
from usage.cost_explorer_compute import COMPUTE_GROUP_BY, compute_filter, compute_keys
from usage.errors import UsageInputError
from usage.table import spread_daily, validate_usage_table

OPERATION: Final = "ce:GetCostAndUsage"
"""The IAM action this reader needs, also named as the source in errors."""

SERVICE: Final = "Amazon Elastic Compute Cloud - Compute"
"""Cost Explorer's ``SERVICE`` value for EC2 instances."""

USAGE_TYPE_GROUP: Final = "EC2: Running Hours"
"""Cost Explorer's ``USAGE_TYPE_GROUP`` value for EC2 instance hours."""

METRICS: Final = ("UsageQuantity", "UnblendedCost")
"""Metrics requested: instance hours (the demand) and their cost (for the report)."""

GROUP_BY: Final = (
    {"Type": "DIMENSION", "Key": "USAGE_TYPE"},
    {"Type": "DIMENSION", "Key": "OPERATION"},
)
"""The two dimensions that together give region, instance type, platform and tenancy."""

HOURLY_DAYS: Final = 14
"""Cost Explorer keeps hourly data for this many days [days]."""

HOUR_UNITS: Final = frozenset({"Hrs", "Hours", "hours"})
"""``UsageQuantity`` units that are instance hours."""

_KEY_COLUMNS: Final = ("region", "instance_type", "platform", "tenancy")


@dataclass(frozen=True, slots=True)
class ExcludedUsage:
    """Cost Explorer groups left out of the demand, for one reason.

    Attributes
    ----------
    reason
        Why, e.g. ``"SpotUsage is not instance usage that commitments cover"``.
    rows
        Groups (period × usage type × operation × account) excluded.
    quantity
        Their ``UsageQuantity`` [h].
    cost_usd
        Their ``UnblendedCost`` [USD].
    """

    reason: str
    rows: int
    quantity: float
    cost_usd: float


@dataclass(frozen=True, slots=True)
class CostExplorerReport:
    """What a Cost Explorer import asked for, kept and excluded.

    Attributes
    ----------
    granularity
        ``"HOURLY"`` or ``"DAILY"`` as asked of Cost Explorer.
    start, end
        The period asked for, ``end`` exclusive [UTC dates].
    requests
        ``GetCostAndUsage`` calls made (each is billed by AWS), retries not counted.
    accounts
        Accounts queried one by one; empty when usage was not split by account.
    rows_kept, rows_excluded
        Cost Explorer groups (period × usage type × operation × account) kept and excluded.
    quantity_kept
        Instance hours kept [h] (with ``compute_services``, plus the Fargate, Lambda and
        SageMaker keys' quantities in their own units: vCPU-hours, GB-hours).
    cost_kept_usd
        ``UnblendedCost`` of the kept groups [USD].
    excluded
        The excluded groups by reason.
    estimated_periods
        Time periods Cost Explorer marked as estimated (the month is not closed yet).
    daily_spread
        Whether daily totals were spread evenly over 24 hours.
    """

    granularity: str
    start: date
    end: date
    requests: int
    accounts: tuple[str, ...]
    rows_kept: int
    rows_excluded: int
    quantity_kept: float
    cost_kept_usd: float
    excluded: tuple[ExcludedUsage, ...]
    estimated_periods: int
    daily_spread: bool


def read_cost_explorer(
    client: Any,
    *,
    start: date,
    end: date,
    granularity: Literal["HOURLY", "DAILY"] = "DAILY",
    accounts: Sequence[str] = (),
    regions: Sequence[str] = (),
    by_account: bool = False,
    compute_services: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    progress: ProgressCallback | None = None,
    today: date | None = None,
) -> tuple[pd.DataFrame, CostExplorerReport]:
    """Read EC2 instance hours from Cost Explorer into the canonical hourly usage table.

    Parameters
    ----------
    client
        A boto3 ``ce`` client (the endpoint is global; create it in ``us-east-1``).
    start, end
        The period, ``end`` exclusive [UTC dates].
    granularity
        ``"HOURLY"`` (must be enabled in Cost Explorer; the last 14 days only) or ``"DAILY"``
        (spread evenly over each day's 24 hours).
    accounts
        Linked account ids to read, one request series each, attributing the usage to them;
        empty for all accounts together (``account_id`` empty) unless ``by_account``.
    regions
        Region codes to keep (a ``REGION`` filter); empty for all.
    by_account
        With no ``accounts``: find the accounts with EC2 usage in the period (one query grouped by
        ``LINKED_ACCOUNT``) and read each, so that ``account_id`` is filled.
    compute_services
        Also read Fargate, Lambda and SageMaker usage (one more request series per account,
        each request billed; :mod:`usage.cost_explorer_compute`).
    sleep
        Waits between retries [s]; injected for tests.
    progress
        Called as ``progress(request_series_done, request_series_total)``.
    today
        The current UTC date, for the 14-day check of hourly data; injected for tests.

    Returns
    -------
    tuple[pandas.DataFrame, CostExplorerReport]
        The canonical table (``hour``, ``account_id``, ``region``, ``instance_type``, ``platform``,
        ``tenancy``, ``quantity`` [instance-hours]), sorted, one row per hour and key; and the
        report of what was kept and excluded.

    Raises
    ------
    UsageInputError
        A bad period or region, hourly data asked for outside the last 14 days or not enabled,
        no EC2 instance usage in the answer, an answer in mixed currencies or with negative hours.
    AwsAccessError
        Missing credentials or permission, endpoint unreachable, throttled too long.
    """
    if granularity not in ("HOURLY", "DAILY"):
        raise UsageInputError(
            "Cost Explorer", f"unknown granularity {granularity!r}", "use HOURLY or DAILY"
        )
    _check_period(start, end, granularity, today or datetime.now(UTC).date())
    region_codes = [check_region(region) for region in regions]
    account_ids = [str(account).strip() for account in accounts]
    requests = 0
    if by_account and not account_ids:
        account_ids, requests = _accounts_with_usage(
            client, start=start, end=end, regions=region_codes, sleep=sleep
        )
        if compute_services:
            more, more_requests = _accounts_with_usage(
                client, start=start, end=end, regions=region_codes, sleep=sleep, compute=True
            )
            account_ids, requests = sorted({*account_ids, *more}), requests + more_requests
    scopes: list[str | None] = list(account_ids) if (account_ids or by_account) else [None]
    frames: list[pd.DataFrame] = []
    for done, account in enumerate(scopes, start=1):
        request = _request(start, end, granularity, region_codes, account)
        for page in _pages(client, granularity, sleep, request):
            requests += 1
            frames.append(_groups_table(page, account or ""))
        if compute_services:
            request = _request(start, end, granularity, region_codes, account, compute=True)
            for page in _pages(client, granularity, sleep, request):
                requests += 1
                frames.append(_groups_table(page, account or "", series="compute"))
        if progress is not None:
            progress(done, len(scopes))
    groups = pd.concat(frames, ignore_index=True) if frames else _groups_table({}, "")
    usage, report_parts = _to_canonical(groups, granularity)
    if usage.empty:
        raise UsageInputError(
            "Cost Explorer",
            f"no EC2 instance usage found: {len(groups)} EC2 running-hours groups from "
            f"{start.isoformat()} to {end.isoformat()}, none of them BoxUsage or DedicatedUsage",
            "check the period, accounts and regions, and use the management (payer) account to "
            "see linked accounts",
        )
    report = CostExplorerReport(
        granularity=granularity,
        start=start,
        end=end,
        requests=requests,
        accounts=tuple(account_ids),
        daily_spread=granularity == "DAILY",
        **report_parts,
    )
    return usage, report


def _check_period(start: date, end: date, granularity: str, today: date) -> None:
    """Reject an empty period, and hourly data older than Cost Explorer keeps."""
    if not start < end:
        raise UsageInputError(
            "Cost Explorer",
            f"the period {start.isoformat()} to {end.isoformat()} is empty",
            "give a start date before the end date (the end is exclusive)",
        )
    earliest = today - timedelta(days=HOURLY_DAYS)
    if granularity == "HOURLY" and start < earliest:
        raise UsageInputError(
            "Cost Explorer",
            f"HOURLY data starts on {start.isoformat()}, but Cost Explorer keeps hourly data for "
            f"the last {HOURLY_DAYS} days only (from {earliest.isoformat()})",
            "hourly granularity must also be enabled in the Cost Explorer preferences; start on or "
            f"after {earliest.isoformat()}, or use DAILY granularity",
        )


def _time(day: date, granularity: str) -> str:
    """A ``TimePeriod`` bound: ``2026-11-20`` (DAILY) or ``2026-11-20T00:00:00Z`` (HOURLY)."""
    return f"{day.isoformat()}T00:00:00Z" if granularity == "HOURLY" else day.isoformat()


def _filter(regions: Sequence[str], account: str | None) -> dict[str, Any]:
    """The ``Filter`` expression: EC2 running hours, optionally one account and some regions."""
    expressions: list[dict[str, Any]] = [
        {"Dimensions": {"Key": "SERVICE", "Values": [SERVICE]}},
        {"Dimensions": {"Key": "USAGE_TYPE_GROUP", "Values": [USAGE_TYPE_GROUP]}},
    ]
    if regions:
        expressions.append({"Dimensions": {"Key": "REGION", "Values": list(regions)}})
    if account is not None:
        expressions.append({"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": [account]}})
    return {"And": expressions}


def _request(
    start: date,
    end: date,
    granularity: str,
    regions: Sequence[str],
    account: str | None,
    *,
    compute: bool = False,
) -> dict[str, Any]:
    """The ``GetCostAndUsage`` parameters of one request series (without the page token): EC2
    running hours, or with ``compute`` Fargate, Lambda and SageMaker usage."""
    return {
        "TimePeriod": {"Start": _time(start, granularity), "End": _time(end, granularity)},
        "Granularity": granularity,
        "Filter": compute_filter(regions, account) if compute else _filter(regions, account),
        "Metrics": list(METRICS),
        "GroupBy": [dict(group) for group in (COMPUTE_GROUP_BY if compute else GROUP_BY)],
    }


def _accounts_with_usage(
    client: Any,
    *,
    start: date,
    end: date,
    regions: Sequence[str],
    sleep: Callable[[float], None],
    compute: bool = False,
) -> tuple[list[str], int]:
    """Linked accounts with EC2 running hours (``compute``: Fargate, Lambda or SageMaker usage)
    in the period, and the requests it took."""
    request = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "MONTHLY",
        "Filter": compute_filter(regions, None) if compute else _filter(regions, None),
        "Metrics": ["UsageQuantity"],
        "GroupBy": [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}],
    }
    found: set[str] = set()
    requests = 0
    for page in _pages(client, "MONTHLY", sleep, request):
        requests += 1
        for period in page.get("ResultsByTime", []):
            found.update(str(group["Keys"][0]) for group in period.get("Groups", []))
    return sorted(found), requests


def _pages(
    client: Any, granularity: str, sleep: Callable[[float], None], request: dict[str, Any]
) -> Iterable[dict[str, Any]]:
    """Every page of one request series, with Cost Explorer's errors made readable."""
    try:
        yield from paginate(
            client.get_cost_and_usage,
            permission=OPERATION,
            token_in="NextPageToken",
            token_out="NextPageToken",
            sleep=sleep,
            **request,
        )
    except AwsAccessError as error:
        cause = error.__cause__
        if not isinstance(cause, ClientError):
            raise
        code = str(cause.response.get("Error", {}).get("Code", ""))
        message = str(cause.response.get("Error", {}).get("Message", "")).strip()
        if code in ("ValidationException", "DataUnavailableException"):
            fix = "check the period, regions and accounts"
            if granularity == "HOURLY":
                fix = (
                    "hourly granularity must be enabled in the Cost Explorer preferences and "
                    f"covers the last {HOURLY_DAYS} days only; or use DAILY granularity"
                )
            raise UsageInputError(
                "Cost Explorer", f"{granularity} request refused ({code}: {message})", fix
            ) from error
        raise


def _groups_table(page: dict[str, Any], account: str, series: str = "ec2") -> pd.DataFrame:
    """One page's groups as a table: period, estimated, account, usage type, operation (the
    service for the ``compute`` series), metrics, and the series."""
    period: list[str] = []
    estimated: list[bool] = []
    usage_type: list[str] = []
    operation: list[str] = []
    amounts: dict[str, list[str]] = {name: [] for name in METRICS}
    units: dict[str, list[str]] = {name: [] for name in METRICS}
    for result in page.get("ResultsByTime", []):
        start = str(result.get("TimePeriod", {}).get("Start", ""))
        for group in result.get("Groups", []):
            keys = [*group.get("Keys", []), "", ""]
            period.append(start)
            estimated.append(bool(result.get("Estimated", False)))
            usage_type.append(str(keys[0]))
            operation.append(str(keys[1]))
            metrics = group.get("Metrics", {})
            for name in METRICS:
                metric = metrics.get(name, {})
                amounts[name].append(str(metric.get("Amount", "0")))
                units[name].append(str(metric.get("Unit", "")))
    return pd.DataFrame(
        {
            "period": pd.Series(period, dtype="string"),
            "estimated": pd.Series(estimated, dtype=bool),
            "account_id": pd.Series([account] * len(period), dtype="string"),
            "usage_type": pd.Series(usage_type, dtype="string"),
            "operation": pd.Series(operation, dtype="string"),
            "quantity": pd.Series(amounts["UsageQuantity"], dtype="string"),
            "quantity_unit": pd.Series(units["UsageQuantity"], dtype="string"),
            "cost_usd": pd.Series(amounts["UnblendedCost"], dtype="string"),
            "cost_unit": pd.Series(units["UnblendedCost"], dtype="string"),
            "series": pd.Series([series] * len(period), dtype="string"),
        }
    )


def _numbers(column: pd.Series, name: str) -> pd.Series:
    """Parse a metric's amounts, naming the first bad one."""
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna()
    if bad.any():
        raise UsageInputError(
            "Cost Explorer",
            f"{name} amount {column[bad].iloc[0]!r} is not a number",
            "report this answer to the commitopt maintainers",
        )
    return values.astype("float64")


def _to_canonical(groups: pd.DataFrame, granularity: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Map groups to keys, split kept from excluded, and build the canonical table."""
    quantity = _numbers(groups["quantity"], "UsageQuantity")
    cost = _numbers(groups["cost_usd"], "UnblendedCost")
    currencies = sorted(set(groups.loc[cost.ne(0), "cost_unit"].dropna()))
    if len(currencies) > 1:
        raise UsageInputError(
            "Cost Explorer",
            f"costs in mixed currencies ({', '.join(currencies)})",
            "import one currency at a time (filter by account or payer)",
        )
    if quantity.lt(0).any():
        bad = groups.loc[quantity.lt(0)].iloc[0]
        raise UsageInputError(
            "Cost Explorer",
            f"negative UsageQuantity {quantity[quantity.lt(0)].iloc[0]} for "
            f"{bad['usage_type']} / {bad['operation']} on {bad['period']}",
            "check the account's Cost Explorer data",
        )
    keys = keys_from_usage_types(groups["usage_type"], groups["operation"])
    reason = _exclusion_reasons(groups, keys)
    compute = (groups["series"] == "compute").to_numpy()
    if compute.any():  # Fargate, Lambda and SageMaker groups: their own keys, in key units
        mine = groups[compute]
        compute_key, compute_reason, per_unit = compute_keys(
            mine["usage_type"], mine["operation"], mine["quantity_unit"]
        )
        keys = keys.astype({c: "string" for c in _KEY_COLUMNS})
        keys.loc[compute, list(_KEY_COLUMNS)] = compute_key[list(_KEY_COLUMNS)].to_numpy()
        reason = reason.copy()
        reason.loc[compute] = compute_reason.to_numpy()
        quantity = quantity.copy()
        quantity.loc[compute] = quantity[compute].to_numpy() * per_unit.to_numpy()
    kept = reason.isna()
    excluded = _excluded_summary(reason[~kept], quantity[~kept], cost[~kept])
    hour = pd.to_datetime(groups["period"], utc=True, format="ISO8601")
    usage = pd.DataFrame(
        {
            "hour": hour.astype("datetime64[ns, UTC]"),
            "account_id": groups["account_id"],
            **{column: keys[column] for column in _KEY_COLUMNS},
            "quantity": quantity,
        }
    ).loc[kept.to_numpy()]
    usage = (
        usage.groupby(["hour", "account_id", *_KEY_COLUMNS], sort=True, observed=True)["quantity"]
        .sum()
        .reset_index()
    )
    if granularity == "DAILY":
        usage = spread_daily(usage, source="Cost Explorer (DAILY)")
    else:
        usage = validate_usage_table(usage, source="Cost Explorer (HOURLY)")
    parts = {
        "rows_kept": int(kept.sum()),
        "rows_excluded": int((~kept).sum()),
        "quantity_kept": float(quantity[kept].sum()),
        "cost_kept_usd": float(cost[kept].sum()),
        "excluded": excluded,
        "estimated_periods": int(groups.loc[groups["estimated"], "period"].nunique()),
    }
    return usage, parts


def _exclusion_reasons(groups: pd.DataFrame, keys: pd.DataFrame) -> pd.Series:
    """Why each group is not demand (``<NA>`` when it is), from its usage type and operation."""
    kind = keys["kind"]
    reason = pd.Series(pd.NA, index=groups.index, dtype="string")
    instance_kind = kind.isin(list(INSTANCE_USAGE_TENANCY))
    unparsed = kind.isna()
    reason = reason.mask(unparsed, "not an EC2 instance usage type")
    other_kind = ~unparsed & ~instance_kind
    reason = reason.mask(
        other_kind, kind.astype("string") + " is not instance usage that commitments cover"
    )
    unmapped = instance_kind & keys["region"].isna()
    prefix = groups["usage_type"].str.extract(r"^(?P<prefix>[A-Z]{2,4}\d?)-", expand=False)
    unknown_prefix = unmapped & prefix.notna() & ~prefix.isin(list(PREFIX_TO_REGION))
    reason = reason.mask(unknown_prefix, "unknown region prefix " + prefix)
    reason = reason.mask(
        unmapped & ~unknown_prefix,
        "operation " + groups["operation"] + " is not an on-demand instance platform",
    )
    not_hours = reason.isna() & ~groups["quantity_unit"].isin(list(HOUR_UNITS))
    return reason.mask(not_hours, "UsageQuantity in " + groups["quantity_unit"] + ", not hours")


def _excluded_summary(
    reason: pd.Series, quantity: pd.Series, cost: pd.Series
) -> tuple[ExcludedUsage, ...]:
    """Rows, hours and cost excluded per reason, most rows first."""
    if reason.empty:
        return ()
    table = (
        pd.DataFrame({"reason": reason, "quantity": quantity, "cost_usd": cost})
        .groupby("reason", sort=True)
        .agg(rows=("quantity", "size"), quantity=("quantity", "sum"), cost_usd=("cost_usd", "sum"))
        .reset_index()
        .sort_values(["rows", "reason"], ascending=[False, True], kind="stable")
    )
    return tuple(
        ExcludedUsage(str(r), int(n), float(q), float(c))
        for r, n, q, c in zip(
            table["reason"], table["rows"], table["quantity"], table["cost_usd"], strict=True
        )
    )
