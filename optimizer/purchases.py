"""Purchase lines from the LP's units: whole RIs, Savings Plans in AWS's steps, portfolio JSON.

The LP's solution (called "the plan" inside :mod:`optimizer`) is the vector of units bought of
each offer of a
:class:`~optimizer.problem.CommitmentProblem` (normalized units or instances for RIs, USD/h of
commitment for Savings Plans). Each offer with a positive quantity becomes one
:class:`~pricing.inventory.Commitment` item, in a deterministic order (tranche, pool kind
in AWS's order, region, family, …) with ids ``rec-1``, ``rec-2``, …, so that
:func:`optimizer.explain.explain` rows line up with the purchases.

Money conventions are those of :mod:`pricing.inventory.commitments`: ``upfront_usd`` for the whole
item [USD]; ``recurring_usd_per_hour`` per RI (per plan for a Savings Plan) [USD/h];
``effective_usd_per_hour`` for the whole item [USD/h]. :func:`purchases_to_portfolio_json` writes
the portfolio JSON (docs/portfolio-format.md), which
:func:`pricing.inventory.read_portfolio_json` (and so ``commitopt simulate --portfolio``) reads
back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from core.errors import CommitoptInputError
from core.times import as_utc
from optimizer.problem import (
    POOL_KINDS,
    RI_POOL,
    BoolArray,
    CommitmentProblem,
    FloatArray,
    IntArray,
)
from pricing.instance_types import normalization_factor, normalization_factors, parse_instance_type
from pricing.inventory import Commitment
from pricing.inventory.values import ri_effective_hourly_usd
from pricing.offerings import SP_STEP_USD, TERM_HOURS
from pricing.services import units_per_instance_hour

SP_DECIMALS: Final = 5
"""Savings Plan commitments are written with at most this many decimals."""

COUNT_TOLERANCE: Final = 1e-4
"""Largest distance of an RI count from a whole number still read as that number (solver noise)."""

PURCHASE_ID_PREFIX: Final = "rec-"
"""Ids of recommended purchases: ``rec-1``, ``rec-2``, … in :func:`bought_offers` order."""

PURCHASE_SOURCE: Final = "commitopt recommend"
"""The ``source`` of every recommended purchase."""

EXPLANATION_FIELDS: Final = (
    "explanation",
    "expected_utilization_pct",
    "break_even_utilization_pct",
    "break_even_month",
    "marginal_savings_usd_per_unit",
    "tranche",
)
"""Columns of :func:`optimizer.explain.explain` copied into each purchase item of the JSON."""

ObjectArray = npt.NDArray[np.object_]

_MONEY_DECIMALS: Final = 6
_RATE_DECIMALS: Final = 8


class PurchaseLinesError(CommitoptInputError):
    """LP units that cannot be turned into purchase lines as asked (fractional RIs, an unknown
    size); not :class:`commitopt.plans.PlanError`, which is about a stored, approvable plan."""


def _ri_pool_mask(problem: CommitmentProblem) -> BoolArray:
    return (problem.pools["kind"] == RI_POOL).to_numpy(dtype=bool)


def _chosen_type(family: str, ri_instance_type: str) -> str | None:
    """The type of the chosen size in ``family``, or ``None`` if the choice is another family's."""
    text = ri_instance_type.strip()
    if "." in text:
        parsed = parse_instance_type(text)
        return parsed.name if parsed.family == family else None
    return f"{family}.{text}"


def check_ri_instance_type(ri_instance_type: str | None) -> None:
    """Fail early on a chosen RI size that is not a known instance type or size.

    Parameters
    ----------
    ri_instance_type
        A full type (``"m5.xlarge"``: RIs of the m5 family are bought in that size) or a size
        (``"xlarge"``: every size-flexible family is bought in that size); ``None`` for the
        family's smallest size with RI prices.

    Raises
    ------
    PurchaseLinesError
        For a name that is neither.
    """
    if ri_instance_type is None:
        return
    text = ri_instance_type.strip()
    probe = text if "." in text else f"m5.{text}"
    try:
        normalization_factor(probe)
    except CommitoptInputError as error:
        raise PurchaseLinesError(
            f"RI size {ri_instance_type!r}: {error}; give a type such as 'm5.xlarge' or a size "
            "such as 'xlarge'"
        ) from error


def purchase_sizes(
    problem: CommitmentProblem, *, ri_instance_type: str | None = None
) -> tuple[ObjectArray, FloatArray]:
    """What one purchased instance of each pool is, and how many units it holds.

    Parameters
    ----------
    problem
        The reduced problem.
    ri_instance_type
        See :func:`check_ri_instance_type`. Applies to size-flexible RI pools only; RIs of exact
        keys are always bought as that key's type.

    Returns
    -------
    tuple of numpy.ndarray
        Per pool: the instance type an RI purchase names (``""`` for Savings Plans) and the
        units of one instance [normalized units or instances; 1 for Savings Plans].
    """
    check_ri_instance_type(ri_instance_type)
    pools = problem.pools
    types = np.array(pools["purchase_instance_type"].astype(object).fillna(""), dtype=object)
    per_instance = pools["units_per_instance"].to_numpy(dtype=np.float64).copy()
    if ri_instance_type is None:
        return types, per_instance
    flexible = _ri_pool_mask(problem) & pools["size_flexible"].to_numpy(dtype=bool)
    for family in pd.unique(pools.loc[flexible, "instance_family"]):
        chosen = _chosen_type(str(family), ri_instance_type)
        if chosen is None:
            continue
        try:
            factor = normalization_factor(chosen)
        except CommitoptInputError as error:
            raise PurchaseLinesError(
                f"RI size {ri_instance_type!r} does not exist in family {family}: {error}"
            ) from error
        rows = flexible & (pools["instance_family"] == family).to_numpy(dtype=bool)
        types[rows] = chosen
        per_instance[rows] = factor
    return types, per_instance


def _ri_offer_columns(problem: CommitmentProblem) -> pd.DataFrame:
    """Every new size-flexible RI offer with its pool, family column and smallest purchase size.

    Returns one row per such offer: ``offer``, ``pool``, ``column`` and ``base_units`` (units of
    one instance of the pool's ``purchase_instance_type``).
    """
    pools = problem.pools
    pool_of_offer = problem.offers["pool"].to_numpy(dtype=np.intp)
    flexible_pool = _ri_pool_mask(problem) & pools["size_flexible"].to_numpy(dtype=bool)
    coverage = sp.coo_array(problem.coverage)
    column_of_pool = np.full(len(pools), -1, dtype=np.intp)
    column_of_pool[np.asarray(coverage.row, dtype=np.intp)] = np.asarray(coverage.col, np.intp)
    offer = np.flatnonzero(flexible_pool[pool_of_offer] & (column_of_pool[pool_of_offer] >= 0))
    return pd.DataFrame(
        {
            "offer": offer,
            "pool": pool_of_offer[offer],
            "column": column_of_pool[pool_of_offer[offer]],
            "base_units": pools["units_per_instance"].to_numpy(np.float64)[pool_of_offer[offer]],
        }
    )


def _run_sizes(problem: CommitmentProblem) -> pd.DataFrame:
    """The sizes the account runs in each size-flexible column: ``column``, ``instance_type``,
    ``size_units`` (normalization factor) [normalized units]."""
    keys = problem.key_columns
    needed = {"column", "instance_type", "size_flexible", "normalization_factor"}
    if keys.empty or not needed <= set(keys.columns):
        return pd.DataFrame({"column": [], "instance_type": [], "size_units": []})
    flexible = keys.loc[
        keys["size_flexible"].to_numpy(dtype=bool)
        & np.isfinite(keys["normalization_factor"].to_numpy(dtype=np.float64))
        & (keys["normalization_factor"].to_numpy(dtype=np.float64) > 0)
    ]
    return (
        pd.DataFrame(
            {
                "column": flexible["column"].to_numpy(dtype=np.intp),
                "instance_type": flexible["instance_type"].astype(str).to_numpy(),
                # one reservation of the size, in its purchase deployment (Single-AZ for a
                # database: a Multi-AZ key's factor counts its standby too)
                "size_units": normalization_factors(flexible["instance_type"].astype(str)),
            }
        )
        .drop_duplicates(["column", "instance_type"])
        .reset_index(drop=True)
    )


def run_size_choice(
    problem: CommitmentProblem, units: FloatArray, *, exact_only: bool = True
) -> tuple[ObjectArray, FloatArray]:
    """The size each size-flexible RI offer is bought in by default: a size the account runs.

    Per offer: the largest size the account runs in the offer's (region, family) whose whole
    instances make ``units`` exactly; when none does and ``exact_only`` is false, the size whose
    whole instances lose the fewest units (rounded down, never more units than ``units``; the
    larger size on a tie); otherwise the pool's ``purchase_instance_type`` (the family's smallest
    size with RI prices). Offers with bounds (``lower_bound_units`` > 0 or a finite
    ``upper_bound_units``) and offers of other pools keep the pool's purchase type.

    Parameters
    ----------
    problem
        The reduced problem (its ``key_columns`` name the sizes the account runs).
    units
        Units of each offer (``problem.offers`` order), whole instances of the pool's purchase
        type [normalized units].
    exact_only
        Keep the pool's purchase type where no size the account runs makes ``units`` exactly.

    Returns
    -------
    tuple of numpy.ndarray
        Per offer: the instance type an RI purchase names (``""`` for Savings Plans) and the units
        of one instance [normalized units, instances, or 1 for Savings Plans].
    """
    units = np.asarray(units, dtype=np.float64)
    pools = problem.pools
    pool_of_offer = problem.offers["pool"].to_numpy(dtype=np.intp)
    types = np.array(
        pools["purchase_instance_type"].astype(object).fillna("").to_numpy()[pool_of_offer],
        dtype=object,
    )
    per_instance = pools["units_per_instance"].to_numpy(dtype=np.float64)[pool_of_offer].copy()
    offers = _ri_offer_columns(problem)
    lower = problem.offers["lower_bound_units"].to_numpy(dtype=np.float64)
    upper = problem.offers["upper_bound_units"].to_numpy(dtype=np.float64)
    offers = offers.loc[
        (lower[offers["offer"].to_numpy()] <= 0) & ~np.isfinite(upper[offers["offer"].to_numpy()])
    ]
    offers = offers.assign(units=units[offers["offer"].to_numpy()])
    offers = offers.loc[offers["units"] > 0]
    candidates = offers.merge(_run_sizes(problem), on="column", how="inner")
    if candidates.empty:
        return types, per_instance
    quotient = candidates["units"].to_numpy() / candidates["size_units"].to_numpy()
    count = np.floor(quotient + COUNT_TOLERANCE)
    exact = (np.abs(quotient - np.rint(quotient)) <= COUNT_TOLERANCE) & (count >= 1)
    candidates["exact"] = exact
    candidates["kept_units"] = count * candidates["size_units"].to_numpy()
    usable = candidates.loc[exact | ((count >= 1) & (not exact_only))]
    chosen = usable.sort_values(
        ["offer", "exact", "kept_units", "size_units", "instance_type"],
        ascending=[True, False, False, False, True],
        kind="stable",
    ).drop_duplicates("offer", keep="first")
    rows = chosen["offer"].to_numpy(dtype=np.intp)
    types[rows] = chosen["instance_type"].to_numpy(dtype=object)
    per_instance[rows] = chosen["size_units"].to_numpy(dtype=np.float64)
    return types, per_instance


def offer_purchase_sizes(
    problem: CommitmentProblem, units: FloatArray, *, ri_instance_type: str | None = None
) -> tuple[ObjectArray, FloatArray]:
    """What one purchased instance of each offer is, and how many units it holds.

    ``ri_instance_type`` (see :func:`check_ri_instance_type`) overrides the size of every
    size-flexible RI pool as in :func:`purchase_sizes`; without it each offer is bought in a size
    the account runs that makes its units exactly (:func:`run_size_choice`), else the pool's
    purchase type.

    Returns
    -------
    tuple of numpy.ndarray
        Per offer (``problem.offers`` order): the instance type an RI purchase names and the
        units of one instance.
    """
    if ri_instance_type is not None:
        types, per_instance = purchase_sizes(problem, ri_instance_type=ri_instance_type)
        pool_of_offer = problem.offers["pool"].to_numpy(dtype=np.intp)
        return types[pool_of_offer], per_instance[pool_of_offer]
    return run_size_choice(problem, units, exact_only=True)


def sp_commitment(units: FloatArray, step_usd: float = SP_STEP_USD) -> FloatArray:
    """Savings Plan commitments rounded down to AWS's steps, written with ≤ 5 decimals [USD/h].

    A value a hair below a step (``12.4999999999``) counts as that step.
    """
    steps = np.floor(np.asarray(units, dtype=np.float64) / step_usd + 1e-6)
    return np.round(np.maximum(steps, 0.0) * step_usd, SP_DECIMALS)


def bought_offers(
    problem: CommitmentProblem, units: FloatArray, *, sp_step_usd: float = SP_STEP_USD
) -> IntArray:
    """Indices of the offers a plan buys, in purchase order.

    An RI offer is bought when its units round to at least one instance of the pool's purchase
    type; a Savings Plan offer when its commitment is at least one step. Order: tranche, pool
    kind (RIs, EC2 Instance SPs, Compute SPs), region, family, instance type, platform, tenancy,
    class, term, payment option, offer index.
    """
    units = _check_units(problem, units)
    offers = problem.offers
    pool_of_offer = offers["pool"].to_numpy(dtype=np.intp)
    pools = problem.pools
    is_ri = _ri_pool_mask(problem)[pool_of_offer]
    per_instance = pools["units_per_instance"].to_numpy(dtype=np.float64)[pool_of_offer]
    with np.errstate(divide="ignore", invalid="ignore"):
        ri_bought = np.rint(units / np.where(per_instance > 0, per_instance, 1.0)) >= 1
    sp_bought = sp_commitment(units, sp_step_usd) > 0
    bought = np.flatnonzero(np.where(is_ri, ri_bought, sp_bought))
    if bought.size == 0:
        return bought.astype(np.intp)
    kind_rank = {kind: rank for rank, kind in enumerate(POOL_KINDS)}
    scope = pools.iloc[pool_of_offer[bought]]
    keys = pd.DataFrame(
        {
            "tranche": offers["tranche"].to_numpy()[bought],
            "kind": scope["kind"].map(kind_rank).fillna(len(kind_rank)).to_numpy(),
            **{
                name: scope[name].astype(str).fillna("").to_numpy()
                for name in (
                    "region",
                    "instance_family",
                    "instance_type",
                    "platform",
                    "tenancy",
                    "offering_class",
                    "term_years",
                    "payment_option",
                )
            },
            "offer": bought,
        }
    )
    order = keys.sort_values(list(keys.columns), kind="stable").index.to_numpy()
    return bought[order].astype(np.intp)


def _check_units(problem: CommitmentProblem, units: FloatArray) -> FloatArray:
    array = np.asarray(units, dtype=np.float64)
    if array.shape != (problem.n_offers,):
        raise PurchaseLinesError(
            f"the plan has {array.size} quantities but the problem has {problem.n_offers} offers; "
            "pass the units of the same problem"
        )
    if not np.all(np.isfinite(array)):
        raise PurchaseLinesError(
            "the plan has quantities that are not finite numbers; check the solver"
        )
    return array


def _utc(value: Any) -> datetime:
    return as_utc(value).to_pydatetime()


def _describe(pool: Mapping[str, Any]) -> str:
    scope = " ".join(
        str(pool[name])
        for name in ("region", "instance_family", "instance_type", "platform", "tenancy")
        if str(pool.get(name) or "")
    )
    return f"{pool['kind']} {scope}".strip()


def purchases_from_units(
    problem: CommitmentProblem,
    units: FloatArray,
    *,
    ri_instance_type: str | None = None,
    sp_step_usd: float = SP_STEP_USD,
) -> tuple[Commitment, ...]:
    """The purchases of a plan, one item per bought offer (see :func:`bought_offers`).

    Parameters
    ----------
    problem
        The reduced problem the plan solves.
    units
        Units bought of each offer (``problem.offers`` order): whole instances for RIs
        (what :func:`optimizer.rounding.round_plan` or the mixed-integer model return).
    ri_instance_type
        Buy size-flexible RIs in this size (see :func:`check_ri_instance_type`); the units must
        then be whole multiples of its normalization factor. Default: the largest size the
        account runs in the family whose whole instances make the units exactly, else the
        pool's ``purchase_instance_type`` (:func:`run_size_choice`).
    sp_step_usd
        Savings Plan commitments are rounded down to this step [USD/h].

    Returns
    -------
    tuple of Commitment
        RIs: ``count`` instances of the purchase type, ``normalized_units``, ``upfront_usd``
        (whole item), ``recurring_usd_per_hour`` (per RI), ``effective_usd_per_hour`` (whole item),
        scope ``"Region"``. Savings Plans: ``commitment_usd_per_hour``, ``upfront_usd``,
        ``recurring_usd_per_hour`` and ``effective_usd_per_hour`` (= the commitment). Start and end
        are the offer's (its tranche); ids are ``rec-1``, ``rec-2``, …

    Raises
    ------
    PurchaseLinesError
        When an RI quantity is not a whole number of instances of the type bought (round the
        plan first), or the chosen size is unknown.
    """
    units = _check_units(problem, units)
    types, per_instance = offer_purchase_sizes(problem, units, ri_instance_type=ri_instance_type)
    offers = problem.offers
    purchases: list[Commitment] = []
    for number, k in enumerate(bought_offers(problem, units, sp_step_usd=sp_step_usd), start=1):
        offer = offers.iloc[k]
        i = int(offer["pool"])
        pool = problem.pools.iloc[i]
        common: dict[str, Any] = {
            "kind": str(pool["kind"]),
            "id": f"{PURCHASE_ID_PREFIX}{number}",
            "start": _utc(offer["start"]),
            "end": _utc(offer["end"]),
            "term_years": int(pool["term_years"]),
            "payment_option": str(pool["payment_option"]),
            "source": PURCHASE_SOURCE,
        }
        upfront_per_unit = float(offer["upfront_usd_per_unit"])
        recurring_per_unit = float(offer["recurring_usd_per_unit_hour"])
        if pool["kind"] == RI_POOL:
            size = float(per_instance[k])
            count = _whole_count(units[k], size, str(types[k]), pool, k)
            held = count * size
            upfront = round(upfront_per_unit * held, _MONEY_DECIMALS)
            recurring = round(recurring_per_unit * size, _RATE_DECIMALS)
            effective = ri_effective_hourly_usd(upfront, recurring, count, common["term_years"])
            purchases.append(
                Commitment(
                    **common,
                    upfront_usd=upfront,
                    region=str(pool["region"]),
                    instance_type=str(types[k]),
                    platform=str(pool["platform"]),
                    tenancy=str(pool["tenancy"]) or "Shared",
                    scope="Region",
                    offering_class=str(pool["offering_class"]) or "standard",
                    count=count,
                    normalized_units=_normalized_units(
                        str(types[k]), str(pool["tenancy"]) or "Shared", count
                    ),
                    recurring_usd_per_hour=recurring,
                    effective_usd_per_hour=round(effective, _RATE_DECIMALS),
                )
            )
            continue
        commitment = float(sp_commitment(np.array([units[k]]), sp_step_usd)[0])
        upfront = round(upfront_per_unit * commitment, _MONEY_DECIMALS)
        recurring = round(recurring_per_unit * commitment, _RATE_DECIMALS)
        hours = TERM_HOURS[common["term_years"]]
        sp_fields: dict[str, Any] = {
            "commitment_usd_per_hour": commitment,
            "upfront_usd": upfront,
            "recurring_usd_per_hour": recurring,
            "effective_usd_per_hour": round(upfront / hours + recurring, _RATE_DECIMALS),
        }
        if str(pool["region"] or ""):
            sp_fields["region"] = str(pool["region"])
        if str(pool["instance_family"] or ""):
            sp_fields["instance_family"] = str(pool["instance_family"])
        purchases.append(Commitment(**common, **sp_fields))
    return tuple(purchases)


def _whole_count(units: float, size: float, instance_type: str, pool: Any, offer: int) -> int:
    quotient = units / size
    count = round(quotient)
    if abs(quotient - count) > COUNT_TOLERANCE:
        unit = "normalized units" if pool["unit"] == "normalized_units" else str(pool["unit"])
        raise PurchaseLinesError(
            f"offer {offer} ({_describe(pool)}): {units:g} {unit} is not a whole number of "
            f"{instance_type} ({size:g} {unit} each); round the plan with "
            "optimizer.rounding.round_plan using the same RI size, or choose a smaller size"
        )
    return int(count)


def _normalized_units(instance_type: str, tenancy: str, count: int) -> float | None:
    """``count`` reservations' normalized units (a Multi-AZ database one counts twice)."""
    try:
        return count * float(units_per_instance_hour([instance_type], [tenancy])[0])
    except CommitoptInputError:
        return None


def _jsonable(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers, NaN as ``None``, times as ISO text."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, pd.Timestamp | datetime):
        return _utc(value).isoformat().replace("+00:00", "Z")
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _explanation_rows(
    purchases: Sequence[Commitment], explanations: pd.DataFrame
) -> list[dict[str, Any]]:
    present = [name for name in EXPLANATION_FIELDS if name in explanations.columns]
    if "id" in explanations.columns:
        by_id = explanations.drop_duplicates("id").set_index("id")
        missing = [p.id for p in purchases if p.id not in by_id.index]
        if missing:
            raise PurchaseLinesError(
                f"explanations have no row for purchase(s) {', '.join(missing)}; explain the "
                "same plan the purchases come from"
            )
        table = by_id.loc[[p.id for p in purchases], present]
    else:
        if len(explanations) != len(purchases):
            raise PurchaseLinesError(
                f"{len(explanations)} explanation rows for {len(purchases)} purchases; explain "
                "the same plan the purchases come from"
            )
        table = explanations[present]
    return [
        {str(name): _jsonable(value) for name, value in row.items()}
        for row in table.to_dict(orient="records")
    ]


def purchases_to_portfolio_json(
    purchases: Sequence[Commitment],
    *,
    summary: Mapping[str, Any],
    explanations: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The recommendation as a portfolio JSON payload (``docs/portfolio-format.md``).

    Parameters
    ----------
    purchases
        The purchases (:func:`purchases_from_units`).
    summary
        The summary block, placed as given (the application computes it by billing the plan
        with the simulator); numpy numbers become Python numbers, NaN becomes ``null``.
    explanations
        :func:`optimizer.explain.explain` of the same plan: its :data:`EXPLANATION_FIELDS`
        are added to each purchase item (matched by ``id``, else by position).

    Returns
    -------
    dict
        ``{"purchases": [...], "summary": {...}}``. Each item holds the
        :class:`~pricing.inventory.Commitment` fields that are set (ISO 8601 UTC times)
        plus the explanation fields; :func:`pricing.inventory.read_portfolio_json` reads it.
    """
    items = [_jsonable(purchase.to_json_item()) for purchase in purchases]
    if explanations is not None:
        for item, extra in zip(items, _explanation_rows(purchases, explanations), strict=True):
            item.update(extra)
    return {"purchases": items, "summary": _jsonable(dict(summary))}


__all__ = [
    "EXPLANATION_FIELDS",
    "PURCHASE_ID_PREFIX",
    "SP_DECIMALS",
    "SP_STEP_USD",
    "PurchaseLinesError",
    "bought_offers",
    "check_ri_instance_type",
    "offer_purchase_sizes",
    "purchase_sizes",
    "purchases_from_units",
    "purchases_to_portfolio_json",
    "run_size_choice",
    "sp_commitment",
]
