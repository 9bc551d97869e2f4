"""The money of a simulation as tables: the ledger (month × key × instrument) and instruments.

Built from a finished :class:`~billing.engine.Engine`, vectorised: one block of rows for the
usage left on-demand, one per pass of a pool (its covered keys × months × instruments, each
instrument's monthly share spread over the keys, see :mod:`billing.engine`), one row per
instrument and month for its unused commitment (keyed by the instrument's scope).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from billing.engine import Engine
from pricing.compute_keys import SAGEMAKER
from pricing.databases import RDS
from pricing.offerings import CommitmentKind
from pricing.services import EC2, key_services
from usage.table import KEY_COLUMNS

ON_DEMAND: Final = "on-demand"
"""Instrument name of usage billed on-demand in the ledger and breakdowns."""
LEDGER_VALUES: Final = (
    "instance_hours", "on_demand_cost_usd", "actual_cost_usd", "unused_commitment_usd"
)  # fmt: skip
"""Money columns of the ledger: usage, its on-demand cost, what it cost, commitment unused."""
LEDGER_LABELS: Final = (*KEY_COLUMNS, "instance_family")
INSTRUMENT_COLUMNS: Final = (
    "id", "kind", "region", "instance_family", "instance_type", "account_id",
    "active_hours", "charged_hours", "capacity_per_hour", "used", "utilization",
    "amortized_upfront_usd", "recurring_usd", "cost_usd", "used_cost_usd", "unused_usd",
    "covered_usage_hours", "covered_on_demand_equivalent_usd",
)  # fmt: skip

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]


def _ratio(part: FloatArray, whole: FloatArray) -> FloatArray:
    """``part / whole`` with 0 where ``whole`` is 0."""
    safe = np.where(whole != 0, whole, 1.0)
    return np.where(whole != 0, part / safe, 0.0)


def used_cost_by_month(engine: Engine) -> FloatArray:
    """Used commitment cost per instrument and month [USD], instruments × months."""
    n_months = len(engine.month_starts)
    cost = np.zeros((len(engine.instruments), n_months))
    for piece in engine.pieces:
        np.add.at(cost, piece.members, piece.member_cost)
    return cost


def instrument_table(engine: Engine) -> tuple[pd.DataFrame, FloatArray, FloatArray]:
    """One row per instrument (:data:`INSTRUMENT_COLUMNS`), and used / unused capacity per
    hour, hours × instruments [units, instances or USD per hour]."""
    n = len(engine.instruments)
    n_hours = engine.n_hours
    capacity = np.zeros((n, n_hours))
    for index, inst in enumerate(engine.instruments):
        capacity[index, inst.active] = inst.capacity
    unused = engine.left
    used = capacity - unused
    hours = np.zeros(n)
    od = np.zeros(n)
    for piece in engine.pieces:
        np.add.at(hours, piece.members, piece.member_hours.sum(axis=1))
        np.add.at(od, piece.members, piece.member_od.sum(axis=1))
    used_cost = used_cost_by_month(engine).sum(axis=1)
    rows = []
    for index, inst in enumerate(engine.instruments):
        charged_hours = inst.charged_hours
        cost = inst.effective_usd_per_hour * charged_hours
        total_capacity = float(capacity[index].sum())
        used_total = float(used[index].sum())
        rows.append(
            (
                inst.id, inst.kind, inst.region, inst.instance_family, inst.instance_type,
                inst.account_id, int(inst.active.sum()), charged_hours, inst.capacity,
                used_total, used_total / total_capacity if total_capacity > 0 else 1.0,
                inst.amortized_hourly_usd * charged_hours,
                inst.recurring_usd_per_hour * charged_hours, cost, float(used_cost[index]),
                cost - float(used_cost[index]), float(hours[index]), float(od[index]),
            )
        )  # fmt: skip
    table = pd.DataFrame(rows, columns=list(INSTRUMENT_COLUMNS))
    return table, used.T, unused.T


def _labels(keys: pd.DataFrame) -> dict[str, tuple[npt.NDArray[np.intp], pd.Index]]:
    """Each label column of ``keys`` factorized: codes per key and the distinct values."""
    factorized = {}
    for column in LEDGER_LABELS:
        codes, uniques = pd.factorize(keys[column].fillna(""), sort=False)
        factorized[column] = (codes.astype(np.intp), pd.Index(uniques, dtype="string"))
    return factorized


def build_ledger(engine: Engine, keys: pd.DataFrame, months: pd.Index) -> pd.DataFrame:
    """The ledger: money by ``month``, key, ``instance_family``, ``instrument`` and ``kind``.

    Values are :data:`LEDGER_VALUES`; unused commitment has rows keyed by the instrument's scope
    (empty strings where the scope does not name a column).
    """
    od = engine.od_rates
    blocks_month: list[IndexArray] = []
    blocks_key: list[IndexArray] = []
    blocks_instrument: list[IndexArray] = []  # -1 = on-demand
    blocks_values: list[FloatArray] = []  # rows × 3: hours, od equivalent, cost
    on_demand_km = engine.monthly(engine.remaining)  # keys × months
    key_index, month_index = np.nonzero(on_demand_km)
    hours = on_demand_km[key_index, month_index]
    blocks_month.append(month_index)
    blocks_key.append(key_index)
    blocks_instrument.append(np.full(len(key_index), -1, dtype=np.intp))
    blocks_values.append(np.column_stack([hours, hours * od[key_index], hours * od[key_index]]))
    for piece in engine.pieces:
        m_index, column = np.nonzero(piece.hours_mk)
        if m_index.size == 0:
            continue
        totals = (
            piece.hours_mk.sum(axis=1), piece.od_mk.sum(axis=1), piece.cost_mk.sum(axis=1)
        )  # fmt: skip
        shares = (
            _ratio(piece.member_hours, totals[0]),
            _ratio(piece.member_od, totals[1]),
            _ratio(piece.member_cost, totals[2]),
        )
        cells = (
            piece.hours_mk[m_index, column],
            piece.od_mk[m_index, column],
            piece.cost_mk[m_index, column],
        )
        n_members = len(piece.members)
        blocks_month.append(np.tile(m_index, n_members))
        blocks_key.append(np.tile(piece.key_index[column], n_members))
        blocks_instrument.append(np.repeat(piece.members, len(m_index)))
        blocks_values.append(
            np.column_stack(
                [
                    (share[:, m_index] * cell).ravel()
                    for share, cell in zip(shares, cells, strict=True)
                ]
            )
        )
    month_codes = np.concatenate(blocks_month)
    key_codes = np.concatenate(blocks_key)
    instrument_codes = np.concatenate(blocks_instrument)
    values = np.concatenate(blocks_values)
    names = pd.Index([ON_DEMAND, *(inst.id for inst in engine.instruments)], dtype="string")
    kinds = pd.Index(["on_demand", *(inst.kind for inst in engine.instruments)], dtype="string")
    labels = _labels(keys)
    month_labels = pd.Index(months, dtype="string")
    covered = pd.DataFrame(
        {
            "month": month_labels.take(month_codes),
            **{
                column: uniques.take(codes[key_codes])
                for column, (codes, uniques) in labels.items()
            },
            "instrument": names.take(instrument_codes + 1),
            "kind": kinds.take(instrument_codes + 1),
            "instance_hours": values[:, 0],
            "on_demand_cost_usd": values[:, 1],
            "actual_cost_usd": values[:, 2],
            "unused_commitment_usd": 0.0,
        }
    )
    unused = _unused_rows(engine, month_labels)
    ledger = pd.concat([covered, unused], ignore_index=True)
    string_columns = ["month", *LEDGER_LABELS, "instrument", "kind"]
    return ledger.astype(dict.fromkeys(string_columns, "string"))


def _unused_rows(engine: Engine, months: pd.Index) -> pd.DataFrame:
    """One row per instrument and month it is active: its commitment cost that covered nothing."""
    used_cost = used_cost_by_month(engine)
    rows = []
    for index, inst in enumerate(engine.instruments):
        active_m = engine.monthly(inst.active.astype(np.float64))
        charged_m = engine.monthly(inst.charged) * inst.effective_usd_per_hour
        unused_m = charged_m - used_cost[index]
        for month in np.flatnonzero(active_m > 0):  # a handful of months per instrument
            rows.append(
                (
                    months[int(month)], inst.account_id or "", inst.region or "",
                    inst.instance_type or "", inst.platform or "", inst.tenancy or "",
                    inst.instance_family or "", inst.id, inst.kind, 0.0, 0.0,
                    float(unused_m[month]), float(unused_m[month]),
                )
            )  # fmt: skip
    columns = ["month", *LEDGER_LABELS, "instrument", "kind", *LEDGER_VALUES]
    return pd.DataFrame(rows, columns=columns)


_UNUSED_SERVICE: Final[dict[str, str]] = {
    CommitmentKind.EC2_INSTANCE_SAVINGS_PLAN: EC2,
    CommitmentKind.COMPUTE_SAVINGS_PLAN: EC2,
    CommitmentKind.DATABASE_SAVINGS_PLAN: RDS,
    CommitmentKind.SAGEMAKER_SAVINGS_PLAN: SAGEMAKER,
}
"""The service a Savings Plan's unused commitment goes to in a month it covered nothing."""


def with_services(ledger: pd.DataFrame) -> pd.DataFrame:
    """``ledger`` with a ``service`` column: the service each row's money belongs to.

    A row of usage (covered or on demand) or of an RI's unused commitment takes its key's
    service (``db.r4`` → ``AmazonRDS``, ``cache.r6g`` → ``AmazonElastiCache``, ``fargate`` →
    ``AWSFargate``, ``ml.m5`` → ``AmazonSageMaker``, else ``AmazonEC2``). A Savings Plan's unused
    commitment is shared among the services it covered that month in proportion to the
    on-demand value it covered (a Compute Savings Plan's among EC2, Fargate and Lambda, a
    Database Savings Plan's among RDS and ElastiCache; in a month it covered nothing, all to
    :data:`_UNUSED_SERVICE`): the bill's total is unchanged, and each service carries its part
    of the plan.
    """
    family = ledger["instance_family"].astype("string").fillna("")
    platform = ledger["platform"].astype("string").fillna("")
    service = key_services(family, platform)  # "db.r4": RDS; "db.r6g" memorydb: MemoryDB
    table = ledger.assign(service=service.to_numpy())
    kinds = table["kind"].astype(str)
    plans = kinds.isin(list(_UNUSED_SERVICE)).to_numpy(dtype=bool)
    unused = plans & (table["unused_commitment_usd"].to_numpy(dtype=np.float64) != 0)
    if not unused.any():
        return table.astype({"service": "string"})
    covered = table.loc[plans & ~unused]
    shares = (
        covered.groupby(["instrument", "month", "service"], observed=True)["on_demand_cost_usd"]
        .sum()
        .reset_index()
    )
    shares["share"] = shares["on_demand_cost_usd"] / shares.groupby(
        ["instrument", "month"], observed=True
    )["on_demand_cost_usd"].transform("sum")
    spread = (
        table.loc[unused]
        .drop(columns="service")
        .merge(
            shares[["instrument", "month", "service", "share"]],
            on=["instrument", "month"],
            how="left",
        )
    )
    spread["service"] = spread["service"].fillna(spread["kind"].astype(str).map(_UNUSED_SERVICE))
    spread["share"] = spread["share"].fillna(1.0)
    for column in ("actual_cost_usd", "unused_commitment_usd"):
        spread[column] = spread[column] * spread["share"]
    spread = spread.drop(columns="share")
    joined = pd.concat([table.loc[~unused], spread[table.columns]], ignore_index=True)
    return joined.astype({"service": "string"})


__all__ = [
    "INSTRUMENT_COLUMNS",
    "LEDGER_LABELS",
    "LEDGER_VALUES",
    "ON_DEMAND",
    "build_ledger",
    "instrument_table",
    "used_cost_by_month",
    "with_services",
]
