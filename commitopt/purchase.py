"""Guarded purchase: the exact AWS calls of an approved plan, printed (dry run) or made.

Dry run (the default) needs no AWS account: it prints, per purchase line, the offering look-up
and the purchase call with every parameter; the offering id shows as ``<looked up at
execution>`` unless a look-up is asked for (``lookup=True`` / ``--lookup``, which needs
credentials and the describe permissions, and also checks the live prices).

Execution (:func:`execute_plan`, ``--execute``):

1. The plan must be approved, the approval unexpired and bound to the plan's current SHA-256
   (:func:`commitopt.approvals.require_approved`); a plan whose lines are all bought returns at
   once (re-running does nothing).
2. A line left *in doubt* by an earlier run (its ``submitted`` event has no outcome: the process
   died between the call and its record) is settled first: a Savings Plan is simply asked for
   again with the same ``clientToken`` (AWS returns the plan it already created); a Reserved
   Instance purchase has no idempotency token in the EC2 API, so the RIs bought since the
   submission are listed (``ec2:DescribeReservedInstances``) and one that matches the line
   (type, platform, tenancy, class, payment, term, count, scope) and no other recorded line is
   taken as the line's purchase; none means nothing was bought and the line is bought now;
   several stop the run with their ids, for a person to settle.
3. Every line still to buy has its offering looked up (``ec2:DescribeReservedInstancesOfferings``
   with type, product description, tenancy, class, offering type, duration and scope, in the
   line's region; ``savingsplans:DescribeSavingsPlansOfferings`` with plan type, duration,
   payment option, currency and, for EC2 Instance Savings Plans, region and family, for
   SageMaker Savings Plans the product type ``SageMaker``) and its live
   price compared with the plan's, before anything is bought: one line whose effective hourly
   price or upfront differs by more than the tolerance (default 1 %) refuses the whole run.
   A Savings Plan's price is its commitment and upfront, which the plan fixes; its rates are not
   re-checked.
4. Lines are bought in order. Each is recorded as ``submitted`` (its own transaction) before the
   call and ``executed`` with AWS's id after it (another transaction), so a crash loses at most
   the outcome of one call, which step 2 recovers. A refusal by AWS is recorded as ``failed``
   and stops the run (nothing more is bought); missing permissions name the IAM action.

RDS and ElastiCache reservations (a line whose ``instance_type`` is a ``db.`` class or a
``cache.`` node type) are bought with their own service's calls, under the same guards
(:mod:`commitopt.purchase_databases`): ``rds:DescribeReservedDBInstancesOfferings`` and
``rds:PurchaseReservedDBInstancesOffering``, ``elasticache:DescribeReservedCacheNodesOfferings``
and ``elasticache:PurchaseReservedCacheNodesOffering``. Their idempotency token is the
reservation id the purchase names (``ReservedDBInstanceId``, ``ReservedCacheNodeId``, derived from
the plan's hash and the line): AWS refuses a second purchase under an id it already has, and that
refusal is taken as the earlier purchase once the reservation listed under the id matches the
line; a line in doubt is settled by listing the reservation under its id. MemoryDB lines work the
same way (``ReservationId``); OpenSearch lines name their reservation (``ReservationName``) and
that name is looked up before every purchase. Redshift's purchase names nothing: a Redshift line
in doubt is settled from its ``submitted`` record (:func:`_settle_redshift`): one reserved node
of the recorded offering and count bought since is the line's purchase, several stop the run,
and none is trusted only :data:`REDSHIFT_LISTING_DELAY` after the submission.

Client tokens (:func:`client_token`) are ``commitopt-`` + the first 40 hex digits of the plan's
SHA-256 + ``-L`` + the line number: at most 64 ASCII characters, the same on every retry of the
same plan line, different for any other plan (a plan's document includes its id). Credentials
come from boto3's standard chain (or ``--profile``); nothing here reads, logs or stores them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    TokenRetrievalError,
)

from commitopt import purchase_databases as databases
from commitopt.approvals import (
    DEFAULT_MAX_APPROVAL_AGE,
    PlanState,
    PlanStatus,
    plan_state,
    require_approved,
)
from commitopt.identity import Identity, current_identity
from commitopt.plans import (
    PlanError,
    PurchaseEvent,
    PurchaseLine,
    latest_line_events,
    record_purchase_event,
)
from commitopt.purchase_calls import (
    LOOKED_UP,
    TERM_SECONDS,
    AwsCall,
    LineInDoubtError,
    Offering,
    PriceMovedError,
    PurchaseError,
)
from commitopt.workspace import Workspace
from core.errors import param
from pricing.offerings import SP_UPFRONT_SHARE, TERM_HOURS, CommitmentKind
from pricing.readers.aws_api import (
    ACCESS_CODES,
    THROTTLING_CODES,
    AwsAccessError,
    call_with_backoff,
    paginate,
)

DEFAULT_PRICE_TOLERANCE: Final = 0.01
"""Largest relative difference between live and planned prices that still buys [1]."""

SAVINGS_PLANS_REGION: Final = "us-east-1"
"""The Savings Plans API is global; its endpoint lives in us-east-1."""

MAX_CLIENT_TOKEN_LENGTH: Final = 64

RI_LOOKUP: Final = "ec2:DescribeReservedInstancesOfferings"
RI_PURCHASE: Final = "ec2:PurchaseReservedInstancesOffering"
RI_LIST: Final = "ec2:DescribeReservedInstances"
SP_LOOKUP: Final = "savingsplans:DescribeSavingsPlansOfferings"
SP_PURCHASE: Final = "savingsplans:CreateSavingsPlan"

_TENANCY: Final = {"Shared": "default", "Dedicated": "dedicated"}
_PRODUCT_TYPES: Final[dict[str, str]] = {CommitmentKind.SAGEMAKER_SAVINGS_PLAN: "SageMaker"}
"""The ``productType`` a Savings Plan's offering look-up names, and its offering must list
(botocore's SavingsPlanProductType); a Compute plan's offering lists several products."""
_IN_DOUBT_SLACK: Final = timedelta(minutes=15)
REDSHIFT_LISTING_DELAY: Final = timedelta(minutes=15)
"""How long after an unrecorded Redshift purchase its absence from the listing is not trusted."""
_QUEUE_AFTER: Final = timedelta(minutes=5)

ClientFactory = Callable[[str, str], Any]
"""``(service, region) -> boto3 client``; the seam tests use to hand in stubbed clients."""

Checkpoint = Callable[[str, PurchaseLine], None]
"""Called at ``"before-call"``, ``"after-call"`` and ``"after-record"`` of every bought line."""


def client_token(plan_sha256: str, line: int) -> str:
    """The idempotency token of one plan line (≤ 64 ASCII characters).

    Parameters
    ----------
    plan_sha256
        The plan's hash (64 hex digits).
    line
        The line number (1-based).
    """
    token = f"commitopt-{plan_sha256[:40]}-L{line}"
    if len(token) > MAX_CLIENT_TOKEN_LENGTH or not token.isascii():
        raise PurchaseError(f"client token for line {line} is longer than 64 ASCII characters")
    return token


def line_token(plan_sha256: str, line: PurchaseLine) -> str:
    """The idempotency token of a plan line: its :func:`client_token`, or for a database
    reservation the reservation id it is bought under
    (:func:`commitopt.purchase_databases.reservation_id`; a Redshift purchase names none, so
    there it only keys the line's purchase records)."""
    if databases.database_api(line) is not None:
        return databases.reservation_id(plan_sha256, line.number)
    return client_token(plan_sha256, line.number)


def boto3_clients(
    profile: str | None = None, *, retries: int = 1
) -> ClientFactory:  # pragma: no cover - needs boto3 sessions
    """A client factory over boto3's standard credential chain (cached per service and region).

    botocore's own retries are off (``total_max_attempts`` = ``retries``): a Reserved Instance
    purchase has no idempotency token, so only :func:`call_with_backoff`'s retries of throttling
    answers (which AWS never executed) are allowed.
    """
    import boto3
    from botocore.config import Config

    session = boto3.Session(profile_name=profile)
    config = Config(retries={"total_max_attempts": retries})
    cache: dict[tuple[str, str], Any] = {}

    def make(service: str, region: str) -> Any:
        key = (service, region)
        if key not in cache:
            cache[key] = session.client(service, region_name=region, config=config)  # type: ignore[call-overload]
        return cache[key]

    return make


@dataclass(frozen=True)
class LineOutcome:
    """What happened (or would happen) to one purchase line.

    Attributes
    ----------
    line
        The plan line.
    client_token
        Its idempotency token (for an RDS or ElastiCache line, the reservation id it is bought
        under).
    lookup, purchase
        The offering look-up and the purchase call (offering id filled in once looked up).
    state
        ``planned`` (dry run), ``already-executed``, ``executed``, ``reconciled`` (an in-doubt
        line found already bought), or ``price-moved`` (dry run with look-up).
    offering
        The live offering, when looked up.
    price_check
        The comparison of live and planned prices, for people.
    aws_id
        ``ReservedInstancesId`` or ``savingsPlanId`` once bought.
    """

    line: PurchaseLine
    client_token: str
    lookup: AwsCall
    purchase: AwsCall
    state: str
    offering: Offering | None = None
    price_check: str = ""
    aws_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The outcome as JSON."""
        return {
            "line": self.line.number,
            "id": self.line.commitment.id,
            "description": self.line.describe(),
            "state": self.state,
            "client_token": self.client_token,
            "lookup": self.lookup.to_json(),
            "purchase": self.purchase.to_json(),
            "offering_id": None if self.offering is None else self.offering.offering_id,
            "price_check": self.price_check,
            "aws_id": self.aws_id,
        }


@dataclass(frozen=True)
class PurchaseResult:
    """The outcome of :func:`dry_run` or :func:`execute_plan`.

    Attributes
    ----------
    plan_id, plan_sha256
        The plan and its hash.
    executed
        Whether this was an execution (else a dry run).
    status, reason
        The plan's status after the run, and why.
    outcomes
        One per line, in line order.
    """

    plan_id: str
    plan_sha256: str
    executed: bool
    status: str
    reason: str
    outcomes: tuple[LineOutcome, ...] = field(default=())

    @property
    def bought(self) -> tuple[LineOutcome, ...]:
        """Lines bought (or settled as bought) by this run."""
        return tuple(o for o in self.outcomes if o.state in ("executed", "reconciled"))

    @property
    def price_moved(self) -> bool:
        """Whether a dry run with look-up found a price beyond the tolerance."""
        return any(o.state == "price-moved" for o in self.outcomes)

    def to_json(self) -> dict[str, Any]:
        """The result as JSON."""
        return {
            "plan_id": self.plan_id,
            "sha256": self.plan_sha256,
            "is_execution": self.executed,
            "status": self.status,
            "reason": self.reason,
            "lines": [outcome.to_json() for outcome in self.outcomes],
        }


def _line_region(line: PurchaseLine, savings_plans_region: str) -> str:
    if line.is_reserved_instance:
        assert line.commitment.region is not None
        return line.commitment.region
    return savings_plans_region


def lookup_call(line: PurchaseLine, *, savings_plans_region: str = SAVINGS_PLANS_REGION) -> AwsCall:
    """The offering look-up of a line (RDS and ElastiCache lines: their service's)."""
    api = databases.database_api(line)
    if api is not None:
        return databases.lookup_call(line, api)
    c = line.commitment
    seconds = TERM_SECONDS[c.term_years]
    if line.is_reserved_instance:
        parameters: dict[str, Any] = {
            "InstanceType": c.instance_type,
            "ProductDescription": c.platform,
            "InstanceTenancy": _TENANCY[str(c.tenancy)],
            "OfferingClass": c.offering_class,
            "OfferingType": c.payment_option,
            "MinDuration": seconds,
            "MaxDuration": seconds,
            "IncludeMarketplace": False,
            "Filters": [{"Name": "scope", "Values": [c.scope]}],
        }
        if c.availability_zone:
            parameters["AvailabilityZone"] = c.availability_zone
        return AwsCall(
            "ec2", str(c.region), "describe_reserved_instances_offerings", parameters, RI_LOOKUP
        )
    parameters = {
        "planTypes": [CommitmentKind(c.kind).aws_savings_plan_type],
        "durations": [seconds],
        "paymentOptions": [c.payment_option],
        "currencies": ["USD"],
    }
    if c.kind in _PRODUCT_TYPES:
        parameters["productType"] = _PRODUCT_TYPES[c.kind]
    if c.region:
        parameters["filters"] = [
            {"name": "region", "values": [c.region]},
            {"name": "instanceFamily", "values": [c.instance_family]},
        ]
    return AwsCall(
        "savingsplans",
        savings_plans_region,
        "describe_savings_plans_offerings",
        parameters,
        SP_LOOKUP,
    )


def _commitment_text(line: PurchaseLine) -> str:
    amount = float(line.commitment.commitment_usd_per_hour or 0.0)
    rounded = round(amount, 3)
    if abs(rounded - amount) > 1e-9:
        raise PurchaseError(
            f"line {line.number}: hourly commitment {amount!r} USD/h is not a multiple of "
            "0.001 USD/h, which AWS sells; round it in the plan and store it again"
        )
    return f"{rounded:.3f}"


def purchase_call(
    line: PurchaseLine,
    token: str,
    offering_id: str = LOOKED_UP,
    *,
    now: datetime | None = None,
    savings_plans_region: str = SAVINGS_PLANS_REGION,
) -> AwsCall:
    """The purchase call of a line (a future ``start`` becomes a queued purchase time).

    For an RDS or ElastiCache line ``token`` is the reservation id (:func:`line_token`), and a
    future ``start`` is refused: those APIs cannot queue a purchase.
    """
    c = line.commitment
    moment = now or datetime.now(UTC)
    queued = line.requested_start if (
        line.requested_start is not None and line.requested_start > moment + _QUEUE_AFTER
    ) else None  # fmt: skip
    api = databases.database_api(line)
    if api is not None:
        return databases.purchase_call(line, api, token, offering_id, queued=queued)
    if line.is_reserved_instance:
        parameters: dict[str, Any] = {
            "ReservedInstancesOfferingId": offering_id,
            "InstanceCount": int(c.count or 0),
        }
        if queued is not None:
            parameters["PurchaseTime"] = queued
        return AwsCall(
            "ec2", str(c.region), "purchase_reserved_instances_offering", parameters, RI_PURCHASE
        )
    parameters = {"savingsPlanOfferingId": offering_id, "commitment": _commitment_text(line)}
    if c.payment_option == "Partial Upfront":
        parameters["upfrontPaymentAmount"] = f"{c.upfront_usd:.2f}"
    if queued is not None:
        parameters["purchaseTime"] = queued
    parameters["clientToken"] = token
    return AwsCall(
        "savingsplans", savings_plans_region, "create_savings_plan", parameters, SP_PURCHASE
    )


def _hourly_recurring(offering: Mapping[str, Any]) -> float:
    charges = offering.get("RecurringCharges") or []
    hourly = sum(
        float(charge.get("Amount", 0.0))
        for charge in charges
        if str(charge.get("Frequency", "Hourly")) == "Hourly"
    )
    return float(offering.get("UsagePrice") or 0.0) + hourly


def find_offering(
    line: PurchaseLine,
    clients: ClientFactory,
    *,
    savings_plans_region: str = SAVINGS_PLANS_REGION,
    sleep: Callable[[float], None] = time.sleep,
) -> Offering:
    """Look up the live offering of a line.

    Raises
    ------
    AwsAccessError
        Missing credentials or permission (the IAM action named), endpoint unreachable.
    PurchaseError
        No offering matches, or Savings Plan offerings are ambiguous.
    """
    call = lookup_call(line, savings_plans_region=savings_plans_region)
    client = clients(call.service, call.region)
    api = databases.database_api(line)
    if api is not None:
        return databases.find_offering(line, api, client, sleep=sleep)
    c = line.commitment
    seconds = TERM_SECONDS[c.term_years]
    if line.is_reserved_instance:
        found: list[Offering] = []
        for page in paginate(
            client.describe_reserved_instances_offerings,
            permission=call.permission,
            sleep=sleep,
            **call.parameters,
        ):
            for item in page.get("ReservedInstancesOfferings", []):
                if (
                    item.get("Marketplace")
                    or str(item.get("CurrencyCode", "USD")) != "USD"
                    or int(item.get("Duration", seconds)) != seconds
                    or str(item.get("OfferingType", c.payment_option)) != c.payment_option
                    or str(item.get("OfferingClass", c.offering_class)) != c.offering_class
                    or str(item.get("Scope", c.scope)) != c.scope
                ):
                    continue
                found.append(
                    Offering(
                        str(item["ReservedInstancesOfferingId"]),
                        float(item.get("FixedPrice") or 0.0),
                        _hourly_recurring(item),
                    )
                )
        if not found:
            raise PurchaseError(
                f"line {line.number} ({line.describe()}): AWS offers no such Reserved Instance "
                f"in {c.region} now; nothing bought (recommend again with a fresh catalog)"
            )
        hours = TERM_HOURS[c.term_years]
        return min(
            found, key=lambda o: (o.upfront_usd / hours + o.recurring_usd_per_hour, o.offering_id)
        )
    ids: dict[str, None] = {}
    product = _PRODUCT_TYPES.get(c.kind)  # a SageMaker plan's offering must list SageMaker
    for page in paginate(
        client.describe_savings_plans_offerings,
        permission=call.permission,
        token_in="nextToken",
        token_out="nextToken",
        sleep=sleep,
        **call.parameters,
    ):
        for item in page.get("searchResults", []):
            properties = {
                str(p.get("name")): str(p.get("value")) for p in item.get("properties", [])
            }
            if (
                str(item.get("planType")) != CommitmentKind(c.kind).aws_savings_plan_type
                or str(item.get("paymentOption")) != c.payment_option
                or int(item.get("durationSeconds", seconds)) != seconds
                or str(item.get("currency", "USD")) != "USD"
                or (c.region and properties.get("region", c.region) != c.region)
                or (
                    c.instance_family
                    and properties.get("instanceFamily", c.instance_family) != c.instance_family
                )
                or (product and product not in item.get("productTypes", [product]))
            ):
                continue
            ids[str(item["offeringId"])] = None
    if len(ids) != 1:
        problem = "no such offering" if not ids else f"several offerings ({', '.join(ids)})"
        raise PurchaseError(
            f"line {line.number} ({line.describe()}): AWS returned {problem}; nothing bought"
        )
    share = SP_UPFRONT_SHARE[c.payment_option]
    commitment = float(c.commitment_usd_per_hour or 0.0)
    hours = TERM_HOURS[c.term_years]
    return Offering(next(iter(ids)), share * commitment * hours, (1.0 - share) * commitment)


def _relative(live: float, planned: float) -> float:
    if planned == 0.0:
        return 0.0 if live == 0.0 else float("inf")
    return abs(live - planned) / abs(planned)


def check_price(line: PurchaseLine, offering: Offering, tolerance: float) -> tuple[bool, str]:
    """Compare a live offering with the plan's price.

    RIs: effective hourly price per instance (upfront ÷ term hours + hourly fee) and upfront per
    instance. Savings Plans: the plan's upfront and recurring split against what its commitment
    and payment option imply.

    Returns
    -------
    (bool, str)
        Whether both are within ``tolerance`` (relative), and a sentence with the figures.
    """
    c = line.commitment
    hours = TERM_HOURS[c.term_years]
    if line.is_reserved_instance:
        count = int(c.count or 1)
        planned_upfront = c.upfront_usd / count
        planned_hourly = float(c.recurring_usd_per_hour or 0.0)
        unit = "per RI"
    else:
        planned_upfront = c.upfront_usd
        planned_hourly = float(c.recurring_usd_per_hour or 0.0)
        unit = "per plan"
    planned = planned_upfront / hours + planned_hourly
    live = offering.upfront_usd / hours + offering.recurring_usd_per_hour
    moved = max(_relative(live, planned), _relative(offering.upfront_usd, planned_upfront))
    text = (
        f"live {live:.6g} USD/h (upfront {offering.upfront_usd:.2f}) vs planned {planned:.6g} "
        f"USD/h (upfront {planned_upfront:.2f}) {unit}: "
        + ("same" if moved == 0 else f"{100 * moved:.2f} % apart")
    )
    return moved <= tolerance, text


def _state_for(
    workspace: Workspace, plan_id: str, now: datetime | None, max_approval_age: timedelta
) -> PlanState:
    return plan_state(workspace, plan_id, now=now, max_approval_age=max_approval_age)


def dry_run(
    workspace: Workspace,
    plan_id: str,
    *,
    clients: ClientFactory | None = None,
    price_tolerance: float = DEFAULT_PRICE_TOLERANCE,
    max_approval_age: timedelta = DEFAULT_MAX_APPROVAL_AGE,
    savings_plans_region: str = SAVINGS_PLANS_REGION,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PurchaseResult:
    """The calls a purchase of the plan would make; nothing is bought or written.

    Parameters
    ----------
    workspace
        An open workspace (read-only is enough).
    plan_id
        The plan.
    clients
        When given, offerings are looked up with these clients and live prices checked (lines
        beyond ``price_tolerance`` show ``price-moved``); else offering ids show as
        :data:`LOOKED_UP` and no AWS call is made.
    price_tolerance
        Relative tolerance [1].
    max_approval_age
        For the status shown.
    savings_plans_region
        Region of the Savings Plans endpoint.
    now
        For queued purchase times and the status (default now).
    sleep
        Backoff sleep, injected for tests.

    Raises
    ------
    PlanNotFoundError
        No such plan.
    AwsAccessError
        With ``clients``: missing credentials or describe permission.
    """
    state = _state_for(workspace, plan_id, now, max_approval_age)
    lines = state.plan.lines
    token_hash = state.current_sha256
    done = latest_line_events(state.events)
    outcomes = []
    for line in lines:
        token = line_token(token_hash, line)
        lookup = lookup_call(line, savings_plans_region=savings_plans_region)
        event = done.get(line.number)
        if event is not None and event.state == "executed":
            outcomes.append(
                LineOutcome(
                    line,
                    event.client_token,
                    lookup,
                    purchase_call(
                        line,
                        event.client_token,
                        _recorded_offering_id(event.request),
                        now=now,
                        savings_plans_region=savings_plans_region,
                    ),
                    "already-executed",
                    aws_id=event.aws_id,
                )
            )  # fmt: skip
            continue
        if clients is None:
            call = purchase_call(line, token, now=now, savings_plans_region=savings_plans_region)
            outcomes.append(LineOutcome(line, token, lookup, call, "planned"))
            continue
        offering = find_offering(
            line, clients, savings_plans_region=savings_plans_region, sleep=sleep
        )
        ok, text = check_price(line, offering, price_tolerance)
        call = purchase_call(
            line, token, offering.offering_id, now=now, savings_plans_region=savings_plans_region
        )
        outcomes.append(
            LineOutcome(
                line, token, lookup, call, "planned" if ok else "price-moved", offering, text
            )
        )
    return PurchaseResult(
        state.plan.plan_id, token_hash, False, state.status, state.reason, tuple(outcomes)
    )


def _recorded_offering_id(request: Mapping[str, Any]) -> str:
    """The offering id a recorded purchase request named."""
    names = ("ReservedInstancesOfferingId", "savingsPlanOfferingId",
             *(api.offering_id_field for api in databases.APIS.values()))  # fmt: skip
    return next((str(request[name]) for name in names if request.get(name)), LOOKED_UP)


def _recorded_call(
    line: PurchaseLine, request: Mapping[str, Any], savings_plans_region: str
) -> AwsCall:
    """The purchase call a recorded event made, with its recorded parameters."""
    api = databases.database_api(line)
    if api is not None:
        return databases.recorded_call(line, api, request)
    if line.is_reserved_instance:
        return AwsCall("ec2", str(line.commitment.region), "purchase_reserved_instances_offering",
                       dict(request), RI_PURCHASE)  # fmt: skip
    return AwsCall("savingsplans", savings_plans_region, "create_savings_plan", dict(request),
                   SP_PURCHASE)  # fmt: skip


def _settle_database(
    workspace: Workspace,
    line: PurchaseLine,
    api: databases.DatabaseApi,
    event: PurchaseEvent,
    clients: ClientFactory,
    sleep: Callable[[float], None],
    now: datetime | None,
) -> str | None:
    """The id of the reservation an in-doubt database line bought, or ``None`` when AWS has no
    reservation under the line's reservation id (nothing bought); Redshift:
    :func:`_settle_redshift`."""
    client = clients(api.service, str(line.commitment.region))
    if not api.has_reservation_id:
        return _settle_redshift(workspace, line, api, event, client, sleep, now)
    reservation = str(event.request.get(api.id_field) or event.client_token)
    item = databases.describe_reservation(line, api, client, reservation, sleep=sleep)
    if item is None:
        return None
    return databases.confirm_reservation(line, api, item, reservation)


def _settle_redshift(
    workspace: Workspace,
    line: PurchaseLine,
    api: databases.DatabaseApi,
    event: PurchaseEvent,
    client: Any,
    sleep: Callable[[float], None],
    now: datetime | None,
) -> str | None:
    """The reserved node an in-doubt Redshift line bought, or ``None`` when it bought nothing.

    The purchase names no reservation, so the line's recorded ``submitted`` event is the only
    trace: the account's reserved nodes of the recorded offering, node type, term, payment and
    count, owned, starting at or after the submission (less :data:`_IN_DOUBT_SLACK`) and not
    recorded as another line's purchase are its candidates. One is the line's purchase; several
    stop the run, named, for a person to settle. None within :data:`REDSHIFT_LISTING_DELAY` of
    the submission stops the run too (AWS may not list the node yet: run again later); later,
    none means nothing was bought.

    Raises
    ------
    LineInDoubtError
        Several candidates, or none yet while AWS may still be listing the purchase.
    """
    taken = {
        str(row[0])
        for row in workspace.fetch_all(
            "SELECT DISTINCT aws_id FROM purchase_events WHERE aws_id IS NOT NULL"
        )
    }
    offering = str(event.request.get(api.offering_id_field) or LOOKED_UP)
    since = event.recorded_at - _IN_DOUBT_SLACK
    found = databases.reservations_bought_since(
        line, api, client, offering, since, taken, sleep=sleep
    )
    submitted = f"{event.recorded_at:%Y-%m-%d %H:%M:%S} UTC"
    if len(found) > 1:
        raise LineInDoubtError(
            f"line {line.number} ({line.describe()}) was submitted at {submitted} and its "
            f"outcome was not recorded; several reserved nodes bought since match it "
            f"({', '.join(found)}): check them in the Redshift console before buying more; "
            "nothing bought"
        )
    if found:
        return found[0]
    moment = now or datetime.now(UTC)
    if moment < event.recorded_at + REDSHIFT_LISTING_DELAY:
        after = event.recorded_at + REDSHIFT_LISTING_DELAY
        raise LineInDoubtError(
            f"line {line.number} ({line.describe()}) was submitted at {submitted} and its "
            f"outcome was not recorded; {api.describe_permission} lists no reserved node of "
            f"offering {offering} bought since, but AWS may not list it yet: run again after "
            f"{after:%H:%M} UTC (nothing bought)"
        )
    return None


def _settle_reserved_instance(
    workspace: Workspace,
    line: PurchaseLine,
    event: PurchaseEvent,
    clients: ClientFactory,
    sleep: Callable[[float], None],
) -> str | None:
    """The id of the RI an in-doubt line bought, or ``None`` when it bought nothing."""
    c = line.commitment
    client = clients("ec2", str(c.region))
    response = call_with_backoff(
        client.describe_reserved_instances,
        permission=RI_LIST,
        sleep=sleep,
        Filters=[
            {"Name": "instance-type", "Values": [str(c.instance_type)]},
            {"Name": "duration", "Values": [str(TERM_SECONDS[c.term_years])]},
            {"Name": "scope", "Values": [str(c.scope)]},
            {"Name": "state", "Values": ["payment-pending", "active", "queued"]},
        ],
        OfferingClass=c.offering_class,
        OfferingType=c.payment_option,
    )
    taken = {
        str(row[0])
        for row in workspace.fetch_all(
            "SELECT DISTINCT aws_id FROM purchase_events WHERE aws_id IS NOT NULL"
        )
    }
    since = event.recorded_at - _IN_DOUBT_SLACK
    candidates = []
    for item in response.get("ReservedInstances", []):
        description = str(item.get("ProductDescription", "")).replace(" (Amazon VPC)", "")
        start = item.get("Start")
        if (
            int(item.get("InstanceCount", 0)) == int(c.count or 0)
            and description == c.platform
            and str(item.get("InstanceTenancy", "default")) == _TENANCY[str(c.tenancy)]
            and str(item.get("ReservedInstancesId")) not in taken
            and (not isinstance(start, datetime) or start >= since)
        ):
            candidates.append(str(item["ReservedInstancesId"]))
    if len(candidates) > 1:
        raise LineInDoubtError(
            f"line {line.number} ({line.describe()}) was submitted at "
            f"{event.recorded_at:%Y-%m-%d %H:%M:%S} UTC and its outcome was not recorded; "
            f"several RIs bought since match it ({', '.join(candidates)}): check them in the "
            "EC2 console before buying more; nothing bought"
        )
    return candidates[0] if candidates else None


def _call_once(call: AwsCall, client: Any) -> dict[str, Any]:
    """Make a purchase call exactly once; map definite refusals to errors.

    Raises
    ------
    AwsAccessError
        Permission denied or no credentials (nothing bought).
    PurchaseError
        Any other refusal by AWS (nothing bought).
    """
    try:
        result: dict[str, Any] = getattr(client, call.operation)(**call.parameters)
        return result
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        message = str(error.response.get("Error", {}).get("Message", "")).splitlines()
        if code in ACCESS_CODES:
            raise AwsAccessError(
                f"AWS denied {call.permission} ({code}); grant the caller's IAM role or user the "
                f"'{call.permission}' permission, or check the credentials boto3 found"
            ) from error
        if code in THROTTLING_CODES:
            raise AwsAccessError(
                f"AWS could not take {call.permission} now ({code}); nothing was bought by this "
                "call: try again later"
            ) from error
        raise PurchaseError(
            f"AWS refused {call.permission} ({code}{': ' + message[0] if message else ''})"
        ) from error
    except (NoCredentialsError, PartialCredentialsError, TokenRetrievalError) as error:
        raise AwsAccessError(
            f"no usable AWS credentials for {call.permission}: configure them the standard way "
            "(aws configure, AWS_PROFILE, SSO login, or an instance role)"
        ) from error
    except NoRegionError as error:
        raise AwsAccessError(f"no AWS region set for {call.permission}") from error
    except EndpointConnectionError as error:
        raise AwsAccessError(
            f"cannot reach the AWS endpoint for {call.permission} ({error}); check the network"
        ) from error


def _buy_database(
    line: PurchaseLine,
    api: databases.DatabaseApi,
    call: AwsCall,
    client: Any,
    sleep: Callable[[float], None],
) -> tuple[dict[str, Any], bool]:
    """Buy a database line once; AWS's *already exists* refusal of the line's reservation id is
    the earlier purchase, once the reservation under that id is found and matches the line. An
    OpenSearch line's reservation name is looked up before buying (its API does not document
    refusing a name already used), and a reservation found under it is the earlier purchase.

    Returns
    -------
    (dict, bool)
        AWS's answer (for an earlier purchase: the reservation found, under the answer's field),
        and whether the line had been bought before.

    Raises
    ------
    AwsAccessError, PurchaseError
        As :func:`_call_once`; ``LineInDoubtError`` when the reservation found does not match.
    """
    reservation = str(call.parameters.get(api.id_field, "")) if api.has_reservation_id else ""
    if api.check_before_buying:
        found = databases.describe_reservation(line, api, client, reservation, sleep=sleep)
        if found is not None:
            databases.confirm_reservation(line, api, found, reservation)
            return _as_answer(api, found), True
    try:
        return _call_once(call, client), False
    except PurchaseError as error:
        if not api.already_exists or databases.error_code(error.__cause__) != api.already_exists:
            raise
    item = databases.describe_reservation(line, api, client, reservation, sleep=sleep)
    if item is None:
        raise LineInDoubtError(
            f"line {line.number} ({line.describe()}): AWS says reservation {reservation} already "
            f"exists but {api.describe_permission} does not find it; check the "
            f"{api.service.upper()} console before buying more; nothing bought"
        )
    databases.confirm_reservation(line, api, item, reservation)
    return _as_answer(api, item), True


def _as_answer(api: databases.DatabaseApi, item: Mapping[str, Any]) -> dict[str, Any]:
    """A listed reservation in the shape of the purchase's answer."""
    return {api.answer_field: dict(item)} if api.answer_field else dict(item)


def execute_plan(
    workspace: Workspace,
    plan_id: str,
    *,
    clients: ClientFactory,
    price_tolerance: float = DEFAULT_PRICE_TOLERANCE,
    max_approval_age: timedelta = DEFAULT_MAX_APPROVAL_AGE,
    savings_plans_region: str = SAVINGS_PLANS_REGION,
    now: datetime | None = None,
    on_line: Callable[[LineOutcome], None] | None = None,
    checkpoint: Checkpoint | None = None,
    sleep: Callable[[float], None] = time.sleep,
    actor: Identity | None = None,
) -> PurchaseResult:
    """Buy the approved plan's lines not bought yet, recording each before the next.

    Parameters
    ----------
    workspace
        An open, writable workspace.
    plan_id
        The plan.
    clients
        ``(service, region) -> boto3 client`` (:func:`boto3_clients`, or stubbed clients).
    price_tolerance
        Largest relative difference of live and planned prices that still buys [1].
    max_approval_age
        Approvals older than this do not allow buying.
    savings_plans_region
        Region of the Savings Plans endpoint.
    now
        Judges approval expiry and queued purchase times (default now).
    on_line
        Called with each line's outcome as soon as it is known (bought, settled, skipped).
    checkpoint
        Test hook called at each stage of each bought line (an exception there stands for a
        crash).
    sleep
        Backoff sleep, injected for tests.
    actor
        Who buys, recorded with every purchase event [default:
        :func:`commitopt.identity.current_identity`].

    Returns
    -------
    PurchaseResult
        Status ``executed`` when every line is bought.

    Raises
    ------
    PlanNotFoundError, ApprovalError
        No such plan; not approved, rejected, expired, or changed after approval.
    PriceMovedError
        A live price beyond the tolerance (checked for every line before buying any).
    AwsAccessError
        Missing credentials or permission (names the IAM action); nothing more bought.
    PurchaseError
        No matching offering, or AWS refused a purchase (recorded ``failed``); nothing more
        bought.
    LineInDoubtError
        An earlier run's purchase cannot be settled automatically.
    """
    workspace.require_writable("record purchases")
    state = _state_for(workspace, plan_id, now, max_approval_age)
    lines = state.plan.lines
    latest = latest_line_events(state.events)
    if state.status == PlanStatus.EXECUTED:
        return _finish(workspace, state, lines, latest, (), now, max_approval_age, True)
    state = require_approved(workspace, plan_id, now=now, max_approval_age=max_approval_age)
    if not state.plan.intact:
        raise PlanError(
            f"plan {plan_id} was altered after it was stored (its JSON or its report no longer "
            "match their recorded hashes); nothing bought"
        )
    digest = state.current_sha256
    who = actor or current_identity()
    outcomes: list[LineOutcome] = []

    def report(outcome: LineOutcome) -> None:
        outcomes.append(outcome)
        if on_line is not None:
            on_line(outcome)

    pending = [line for line in lines if _done(latest.get(line.number)) is None]
    # settle RI lines left in doubt before anything else (their price may have moved since)
    for line in list(pending):
        event = latest.get(line.number)
        if event is None or event.state != "submitted" or not line.is_reserved_instance:
            continue
        api = databases.database_api(line)
        aws_id = (
            _settle_database(workspace, line, api, event, clients, sleep, now)
            if api is not None
            else _settle_reserved_instance(workspace, line, event, clients, sleep)
        )
        if aws_id is None:
            continue
        record_purchase_event(
            workspace,
            plan_id=plan_id,
            line=line.number,
            state="executed",
            client_token=event.client_token,
            plan_sha256=digest,
            operation=event.operation,
            request=event.request,
            aws_id=aws_id,
            detail=f"settled after an interrupted run: "
            f"{api.describe_permission if api else RI_LIST} found {aws_id}",
            actor=who,
        )
        lookup = lookup_call(line, savings_plans_region=savings_plans_region)
        call = _recorded_call(line, event.request, savings_plans_region)
        report(LineOutcome(line, event.client_token, lookup, call, "reconciled", aws_id=aws_id))
        pending.remove(line)
    # look every remaining line up and check its price before buying any
    prepared: list[tuple[PurchaseLine, AwsCall, AwsCall, Offering, str]] = []
    for line in pending:
        offering = find_offering(
            line, clients, savings_plans_region=savings_plans_region, sleep=sleep
        )
        ok, text = check_price(line, offering, price_tolerance)
        if not ok:
            raise PriceMovedError(
                f"line {line.number} ({line.describe()}): {text}, more than the "
                f"{100 * price_tolerance:g} % tolerance; nothing bought (recommend again, or "
                f"raise {param('price_tolerance')})"
            )
        token = line_token(digest, line)
        call = purchase_call(
            line, token, offering.offering_id, now=now, savings_plans_region=savings_plans_region
        )
        prepared.append((line, lookup_call(line, savings_plans_region=savings_plans_region),
                         call, offering, text))  # fmt: skip
    for line, lookup, call, offering, text in prepared:
        token = line_token(digest, line)
        record_purchase_event(
            workspace,
            plan_id=plan_id,
            line=line.number,
            state="submitted",
            client_token=token,
            plan_sha256=digest,
            operation=call.permission,
            request=call.to_json()["parameters"],
            detail=text,
            actor=who,
        )
        if checkpoint is not None:
            checkpoint("before-call", line)
        client = clients(call.service, call.region)
        api = databases.database_api(line)
        state_now, detail = "executed", text
        try:
            if api is not None:
                answer, found = _buy_database(line, api, call, client, sleep)
                if found:
                    state_now = "reconciled"
                    detail = (
                        f"{text}; {api.already_exists or 'found'}: the reservation under this "
                        f"line's id was already bought, confirmed by {api.describe_permission}"
                    )
            elif line.is_reserved_instance:
                answer = _call_once(call, client)
            else:
                answer = call_with_backoff(
                    getattr(client, call.operation),
                    permission=call.permission,
                    sleep=sleep,
                    **call.parameters,
                )
        except (AwsAccessError, PurchaseError) as error:
            record_purchase_event(
                workspace,
                plan_id=plan_id,
                line=line.number,
                state="failed",
                client_token=token,
                plan_sha256=digest,
                operation=call.permission,
                request=call.to_json()["parameters"],
                detail=str(error),
                actor=who,
            )
            bought = len(outcomes) + len(state.executed_lines)
            raise type(error)(
                f"line {line.number}: {error}; nothing more bought ({bought} of {len(lines)} "
                "lines bought)"
            ) from error
        except BotoCoreError as error:
            raise AwsAccessError(
                f"line {line.number}: the answer to {call.permission} was lost ({error}); the "
                f"line is in doubt: run `commitopt purchase {plan_id} --execute` again to settle "
                "it"
            ) from error
        if checkpoint is not None:
            checkpoint("after-call", line)
        aws_id = (
            databases.bought_id(api, answer, token)
            if api is not None
            else str(answer.get("ReservedInstancesId") or answer.get("savingsPlanId") or "")
        )
        record_purchase_event(
            workspace,
            plan_id=plan_id,
            line=line.number,
            state="executed",
            client_token=token,
            plan_sha256=digest,
            operation=call.permission,
            request=call.to_json()["parameters"],
            aws_id=aws_id or None,
            detail=detail,
            actor=who,
        )
        if checkpoint is not None:
            checkpoint("after-record", line)
        report(LineOutcome(line, token, lookup, call, state_now, offering, detail, aws_id or None))
    return _finish(workspace, state, lines, latest, outcomes, now, max_approval_age, True)


def _done(event: PurchaseEvent | None) -> PurchaseEvent | None:
    return event if event is not None and event.state == "executed" else None


def _finish(
    workspace: Workspace,
    state: PlanState,
    lines: Sequence[PurchaseLine],
    latest: Mapping[int, PurchaseEvent],
    outcomes: Sequence[LineOutcome],
    now: datetime | None,
    max_approval_age: timedelta,
    executed: bool,
) -> PurchaseResult:
    """All lines' outcomes in order (earlier runs' purchases as ``already-executed``)."""
    by_line = {o.line.number: o for o in outcomes}
    full = []
    for line in lines:
        if line.number in by_line:
            full.append(by_line[line.number])
            continue
        event = latest.get(line.number)
        token = event.client_token if event else line_token(state.current_sha256, line)
        lookup = lookup_call(line)
        if event is not None and event.state == "executed":
            call = _recorded_call(line, event.request, lookup.region)
            full.append(LineOutcome(line, token, lookup, call, "already-executed",
                                    aws_id=event.aws_id))  # fmt: skip
    after = plan_state(workspace, state.plan.plan_id, now=now, max_approval_age=max_approval_age)
    return PurchaseResult(
        after.plan.plan_id,
        after.current_sha256,
        executed,
        after.status,
        after.reason,
        tuple(sorted(full, key=lambda o: o.line.number)),
    )


__all__ = [
    "DEFAULT_PRICE_TOLERANCE",
    "LOOKED_UP",
    "AwsCall",
    "ClientFactory",
    "LineInDoubtError",
    "LineOutcome",
    "Offering",
    "PriceMovedError",
    "PurchaseError",
    "PurchaseResult",
    "boto3_clients",
    "check_price",
    "client_token",
    "dry_run",
    "execute_plan",
    "find_offering",
    "lookup_call",
    "purchase_call",
]
