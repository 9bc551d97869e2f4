"""Bills of one portfolio with one instrument changed at a time, each resumed where it differs.

The marginal savings (:mod:`planning.marginal`) bill the same usage once per purchase, with that
purchase one unit smaller and everything else the same. AWS applies the kinds in a fixed order
(RIs, EC2 Instance SPs, Compute SPs, ...; :data:`billing.engine.KINDS`), and the pools of one
kind whose keys do not meet fill independently of each other. So when the changed instrument's
pool shares no key with the other pools of its kind, every pool of the earlier kinds and every
other pool of its kind covers exactly what it covered in the plan's own bill, and the bill can
resume from the plan's state after that kind: the changed pool's keys are put back as they were
before the kind, its members get their new capacity, the pool is filled again, and the later
kinds run as usual.

:class:`ChangedBills` runs the plan's bill once, keeping that state per block of hours for the
kinds it is told to resume (the usage left before and after the kind), then bills each change.
A change it cannot resume (a pool that shares keys with another of its kind, as an exact-size
RI does with its family's size-flexible pool) is billed in full by
:meth:`scenarios.montecarlo.MonteCarloModel.run`. Either way the uncovered on-demand cost is the
full bill's: tests/scenarios/test_changed_bills.py checks every change against it.

Measured on the 1,000-key benchmark's lookback (8,760 h, 384 purchases, one a Compute SP):
docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from billing.engine import KINDS, Engine, Pool
from billing.portfolio import Instrument
from scenarios.montecarlo import MonteCarloModel

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]


@dataclass(frozen=True, eq=False)
class _Checkpoint:
    """One block of hours of the plan's bill, at one kind."""

    before: FloatArray
    """Columns × hours: usage left before the kind's pools [column units]."""
    after: FloatArray
    """Columns × hours: usage left after them [column units]."""


class _Recorder:
    """``Engine.run``'s ``at_kind``: the usage left before and after each of ``kinds``."""

    def __init__(self, engine: Engine, kinds: set[str]) -> None:
        self.engine = engine
        self.kinds = kinds
        self.before: dict[str, FloatArray] = {}
        self.checkpoints: dict[str, _Checkpoint] = {}

    def __call__(self, kind: str, done: bool) -> None:
        if kind not in self.kinds:
            return
        left = self.engine.remaining.copy()
        if done:
            self.checkpoints[kind] = _Checkpoint(self.before.pop(kind), left)
        else:
            self.before[kind] = left


class ChangedBills:
    """The on-demand cost left by a portfolio, and by the same portfolio with one instrument
    changed (module docstring).

    Parameters
    ----------
    model
        The usage (one path) and the plan's instruments.
    resume_kinds
        Kinds whose changes are resumed; the plan's bill keeps two columns × hours arrays per
        block for each (a change of another kind is billed in full).
    cache_bytes
        As for :meth:`scenarios.montecarlo.MonteCarloModel.run`.
    """

    def __init__(
        self, model: MonteCarloModel, resume_kinds: Iterable[str], *, cache_bytes: int = 0
    ) -> None:
        if model.pair_of_path_hour.shape[0] != 1:
            raise ValueError("changed bills are one path's: build the model on one usage matrix")
        self.model = model
        self.cache_bytes = cache_bytes
        pools = model.merge.pools
        self._pool_of = {member: pool for pool in pools for member in pool.members}
        wanted = set(resume_kinds)
        self._resumable = {id(pool) for pool in pools if pool.kind in wanted} & _alone(pools)
        kinds = {pool.kind for pool in pools if id(pool) in self._resumable}
        self._checkpoints: list[dict[str, _Checkpoint]] = []
        self._blocks = model.hour_blocks(len(model.instruments))
        capacity, _ = model.state_capacity(model.instruments)
        self._capacity = capacity
        # members of each kind's later kinds: the only capacity a resumed bill reads besides
        # the changed pool's
        self._later_members = {
            kind: np.asarray(
                [m for pool in pools if pool.kind in KINDS[KINDS.index(kind) + 1 :]
                 for m in pool.members],
                dtype=np.intp,
            )
            for kind in kinds
        }  # fmt: skip
        self._usage: list[FloatArray] = []  # per block: the buffer a resumed bill fills
        self._left: list[FloatArray] = []  # per block: the capacity a resumed bill uses
        on_demand = np.zeros(len(model.unique_rows))
        for chosen in self._blocks:
            usage, _ = model.block_usage(chosen, cache_bytes)
            engine = Engine(
                usage, model.instruments, model.merge.od_rates, np.zeros(1, dtype=np.intp),
                record=False, keys_by_hours=True, capacity=self._start(capacity, chosen),
            )  # fmt: skip
            recorder = _Recorder(engine, kinds)
            engine.run(pools, model.merge.accounts, model.share_across_accounts, at_kind=recorder)
            on_demand[chosen] = model.merge.od_rates @ engine.remaining
            self._checkpoints.append(recorder.checkpoints)
            if kinds:
                self._usage.append(np.empty_like(engine.remaining))
                self._left.append(engine.left)
        self.plan_on_demand_usd = self._total(on_demand)
        """The plan's uncovered on-demand cost over the path [USD]."""

    def resumes(self, changed: int) -> bool:
        """Whether a change of the model's instrument ``changed`` is resumed (not billed in
        full)."""
        pool = self._pool_of.get(changed)
        return pool is not None and id(pool) in self._resumable

    def on_demand_usd(self, instruments: Sequence[Instrument], changed: int) -> float:
        """The uncovered on-demand cost over the path with ``instruments``, which differ from
        the model's in instrument ``changed`` only (its capacity) [USD]."""
        model = self.model
        insts = model.replacements(instruments)
        pool = self._pool_of.get(changed)
        if pool is None or id(pool) not in self._resumable:
            result = model.run(insts, cache_bytes=self.cache_bytes)
            return float(result.paths["uncovered_cost_usd"].iloc[0])
        later = KINDS[KINDS.index(pool.kind) + 1 :]
        members = np.asarray(pool.members, dtype=np.intp)
        read = np.concatenate([members, self._later_members[pool.kind]])
        capacity = self._capacity[read]
        capacity[: members.size], _ = model.state_capacity([insts[m] for m in members])
        on_demand = np.zeros(len(model.unique_rows))
        blocks = zip(self._blocks, self._checkpoints, self._usage, self._left, strict=True)
        for chosen, block, usage, left in blocks:
            point = block[pool.kind]
            np.copyto(usage, point.after)
            usage[pool.order] = point.before[pool.order]
            # the other instruments' rows are stale: the pools run below do not read them
            left[read] = self._start(capacity, chosen)
            engine = Engine(
                usage, insts, model.merge.od_rates, np.zeros(1, dtype=np.intp),
                record=False, keys_by_hours=True, capacity=left,
            )  # fmt: skip
            engine.run_pool(pool, model.merge.accounts, model.share_across_accounts)
            engine.run(
                model.merge.pools, model.merge.accounts, model.share_across_accounts, kinds=later
            )
            on_demand[chosen] = model.merge.od_rates @ engine.remaining
        return self._total(on_demand)

    def _start(self, capacity: FloatArray, chosen: slice) -> FloatArray:
        """Instruments × the block's hours: the capacity each hour starts with [units]."""
        state = self.model.state_of_hour[self.model.unique_hours[chosen]]
        return np.take(capacity, state, axis=1)

    def _total(self, per_hour: FloatArray) -> float:
        """A per-distinct-hour figure summed over the path's hours."""
        return float(np.take(per_hour, self.model.pair_of_path_hour).sum(axis=1)[0])


def _alone(pools: Sequence[Pool]) -> set[int]:
    """``id`` of each pool that no other pool of its kind covers any key of."""
    alone: set[int] = set()
    for kind in {pool.kind for pool in pools}:
        of_kind = [pool for pool in pools if pool.kind == kind]
        keys = [np.unique(pool.order) for pool in of_kind]
        covering = np.bincount(np.concatenate(keys)) if keys else np.zeros(0, dtype=np.intp)
        alone.update(id(pool) for pool, own in zip(of_kind, keys, strict=True)
                     if (covering[own] == 1).all())  # fmt: skip
    return alone


__all__ = ["ChangedBills"]
