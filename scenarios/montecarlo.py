"""Monte Carlo of a portfolio: the billing simulator over many sampled usage paths.

Each path is billed with AWS's rules (:mod:`billing.engine`, the same code as
:func:`billing.simulator.simulate`), and only its totals are kept: on-demand equivalent,
actual cost, savings, ESR, utilization, coverage. Two exact reductions make 500 one-year paths
of 1,000 keys quick; neither changes a figure beyond floating-point rounding.

**Unique hours.** Every hour is billed on its own (commitments are use-it-or-lose-it), so an
hour's money depends only on its usage vector and on the commitments' state in that hour (active,
charged fraction). A path copies source rows (:class:`~scenarios.paths.UsagePaths`), so its usage
in hour ``t`` is ``source[source_row[p, t]] × trend[t]``: path-hours with the same source row and
the same hour class are the same computation. The hour class is the hour itself when there is a
trend, and otherwise the commitments' state (one class when every commitment spans the period).
Each distinct (class, source row) is billed once and the paths sum their hours' results. A block
bootstrap of whole weeks from a 13-week lookback has at most 13 distinct rows per hour, so 500
one-year paths are 114 k distinct hours instead of 4.4 M.

**Merged keys.** Keys that every pool treats alike are billed as one column: the same account
(when some commitment has an owner account; otherwise accounts make no difference to the bill);
for every pool, either none of them is in its order or all are, consecutively, with the same
capacity per on-demand dollar; and the same on-demand rate per unit of the column. The column
holds their usage in a common unit (normalized units when the rates are proportional to the
normalization factor, else on-demand dollars), its on-demand rate and pool weights are per that
unit. Filling consecutive keys with equal rates per unit one after the other equals filling their
sum, and later pools see the same remaining money, so every total is unchanged. Typical merges:
the sizes of a size-flexible family; the keys no commitment covers (one column). Rates are
compared to 40 bits of mantissa (about 1e-12 relative). Keys without usage in any source row are
dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from billing.engine import Engine, Pool, build_pools
from billing.portfolio import Instrument, SimulationPortfolio, build_portfolio
from billing.simulator import SimulationStatus, priced_keys
from pricing.catalog import PriceCatalog
from pricing.inventory import Commitment, Inventory
from scenarios.paths import UsagePaths

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]
ProgressCallback = Callable[[int, int | None], None]

DEFAULT_PERCENTILES: Final = (5.0, 50.0, 95.0)
METRICS: Final = (
    "on_demand_cost_usd", "actual_cost_usd", "uncovered_cost_usd", "commitment_cost_usd",
    "used_commitment_usd", "unused_commitment_usd", "savings_vs_on_demand_usd",
    "savings_vs_on_demand_pct", "utilization_pct", "coverage_pct",
)  # fmt: skip
"""Columns of :attr:`MonteCarloResult.paths`, one value per path (``docs/glossary.md``)."""
BLOCK_BYTES: Final = 192 * 2**20
"""Memory of one block of distinct hours (usage columns + commitment rows) [bytes]."""
_MANTISSA_BITS: Final = 40
_DENSE_CODES: Final = 1 << 26


MonteCarloStatus = SimulationStatus
"""How a Monte Carlo run went: the billing layer's :class:`~billing.simulator.SimulationStatus`
(``ok``; ``warnings``, approximations listed in :attr:`MonteCarloResult.warnings`;
``no_usage``, no path has any usage so everything paid is commitment)."""


@dataclass(frozen=True)
class Reduction:
    """Sizes before and after the exact reductions.

    Attributes
    ----------
    path_hours
        Paths × hours.
    unique_hours
        Distinct (hour class, source row) pairs billed.
    keys
        Usage keys.
    columns
        Columns billed after dropping unused keys and merging interchangeable ones.
    """

    path_hours: int
    unique_hours: int
    keys: int
    columns: int


@dataclass(frozen=True, eq=False)
class MonteCarloResult:
    """Totals of every sampled path.

    Attributes
    ----------
    status
        :class:`MonteCarloStatus`.
    paths
        One row per path, columns :data:`METRICS` (money in USD over the horizon; shares in
        percent; ``savings_vs_on_demand_pct``, the ESR, negative when worse than on-demand).
    commitment_cost_usd
        Cost of the commitments over the horizon, the same on every path [USD].
    hours
        Hours per path.
    reduction
        :class:`Reduction`.
    warnings
        Approximations made, one line each.
    """

    status: MonteCarloStatus
    paths: pd.DataFrame
    commitment_cost_usd: float
    hours: int
    reduction: Reduction
    warnings: tuple[str, ...]

    @property
    def n_paths(self) -> int:
        """Number of paths."""
        return len(self.paths)

    def percentiles(self, q: Sequence[float] = DEFAULT_PERCENTILES) -> pd.DataFrame:
        """Percentiles of every metric over the paths, and their mean.

        Parameters
        ----------
        q
            Percentiles in [0, 100] (linear interpolation between paths).

        Returns
        -------
        pandas.DataFrame
            Index :data:`METRICS`; columns ``P5``, ``P50``, ... and ``mean``.
        """
        levels = np.asarray(q, dtype=np.float64)
        if levels.size == 0 or not np.all((levels >= 0) & (levels <= 100)):
            raise ValueError(f"percentiles must be between 0 and 100, not {list(q)}")
        values = self.paths[list(METRICS)].to_numpy(dtype=np.float64)
        table = np.percentile(values, levels, axis=0).T
        frame = pd.DataFrame(table, index=list(METRICS), columns=[f"P{v:g}" for v in levels])
        frame["mean"] = values.mean(axis=0)
        return frame

    @property
    def worse_than_on_demand(self) -> npt.NDArray[np.bool_]:
        """Paths whose actual cost exceeds their on-demand equivalent (by more than 1e-9 of
        it, rounding)."""
        od = self.paths["on_demand_cost_usd"].to_numpy()
        actual = self.paths["actual_cost_usd"].to_numpy()
        return np.asarray(actual - od > 1e-9 * np.maximum(od, 1.0), dtype=np.bool_)

    @property
    def worse_than_on_demand_pct(self) -> float:
        """Share of paths that pay more than all on-demand would [%]."""
        return 100.0 * float(self.worse_than_on_demand.mean()) if self.n_paths else 0.0

    def summary(self, q: Sequence[float] = DEFAULT_PERCENTILES) -> dict[str, object]:
        """Flat figures: paths, hours, commitment cost, percentiles (``p5_…``) and mean
        (``mean_…``) of savings, ESR, utilization and coverage, and the share of paths paying
        more than on-demand."""
        table = self.percentiles(q)
        out: dict[str, object] = {
            "status": str(self.status),
            "path_count": self.n_paths,
            "period_hours": self.hours,
            "commitment_cost_usd": self.commitment_cost_usd,
        }
        for metric in (
            "savings_vs_on_demand_usd", "savings_vs_on_demand_pct", "utilization_pct",
            "coverage_pct",
        ):  # fmt: skip
            row = table.loc[metric].to_numpy(dtype=np.float64)
            for column, value in zip(table.columns, row, strict=True):
                out[f"{str(column).lower()}_{metric}"] = float(value)
        out["worse_than_on_demand_pct"] = self.worse_than_on_demand_pct
        return out


@dataclass(frozen=True, eq=False)
class KeyMerge:
    """Keys grouped into the columns the engine bills.

    Attributes
    ----------
    column
        Column of each key, ``-1`` for a dropped key.
    scale
        Units of its column per instance-hour of each key (1 for a key alone in its column).
    od_rates
        On-demand rate per unit of each column [USD].
    accounts
        Account of each column.
    pools
        The pools over the columns (same kinds, members and order of application).
    """

    column: IndexArray
    scale: FloatArray
    od_rates: FloatArray
    accounts: npt.NDArray[np.object_]
    pools: list[Pool]

    @property
    def n_columns(self) -> int:
        """Number of columns."""
        return len(self.od_rates)


def _bucket(values: FloatArray) -> npt.NDArray[np.int64]:
    """Positive floats as integers equal when the values agree to about 1e-12 relative."""
    mantissa, exponent = np.frexp(values)
    rounded = np.round(mantissa * float(1 << _MANTISSA_BITS)).astype(np.int64)
    return rounded + exponent.astype(np.int64) * (1 << (_MANTISSA_BITS + 2))


def _pair(left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Labels of the distinct (left, right) pairs, 0.. (both ≥ -1)."""
    width = int(right.max()) + 2 if right.size else 1
    combined = (left.astype(np.int64) + 1) * width + (right.astype(np.int64) + 1)
    codes, _ = pd.factorize(combined)
    return codes.astype(np.int64)


def merge_keys(
    pools: Sequence[Pool],
    od_rates: FloatArray,
    factors: FloatArray,
    accounts: npt.NDArray[np.object_] | None,
    keep: npt.NDArray[np.bool_],
) -> KeyMerge:
    """Group keys that every pool treats alike into one column each (see the module notes).

    Parameters
    ----------
    pools
        The pools over the keys (:func:`billing.engine.build_pools`).
    od_rates
        On-demand rate per key [USD/h].
    factors
        Normalization factor per key.
    accounts
        Account of each key, or ``None`` when no commitment has an owner account (then the
        account makes no difference to the bill and keys of all accounts may share a column).
    keep
        Keys to bill; the others (no usage) are dropped.
    """
    n_keys = len(od_rates)
    priced = od_rates > 0
    if accounts is None:
        accounts = np.full(n_keys, "", dtype=object)
    label = pd.factorize(pd.Series(accounts, dtype=object).fillna(""))[0].astype(np.int64)
    for pool in pools:  # same presence and capacity per on-demand dollar in every pool
        code = np.full(n_keys, -1, dtype=np.int64)
        ratio = pool.weight[pool.order] / np.where(priced, od_rates, 1.0)[pool.order]
        code[pool.order] = pd.factorize(_bucket(ratio))[0]
        label = _pair(label, code)
    lone = ~priced | ~keep  # unpriced keys stay alone; dropped ones are removed below
    label = np.where(lone, label.max(initial=0) + 1 + np.arange(n_keys), label)
    label = pd.factorize(label)[0].astype(np.int64)
    orders = [pool.order[keep[pool.order]] for pool in pools]
    while True:  # split groups until each is consecutive in every pool's order
        before = int(label.max(initial=-1))
        for order in orders:
            sequence = label[order]
            run = np.cumsum(np.r_[True, sequence[1:] != sequence[:-1]]) if order.size else order
            run_of = np.full(n_keys, -1, dtype=np.int64)
            run_of[order] = run
            label = _pair(label, run_of)
        if int(label.max(initial=-1)) == before:
            break
    label = np.where(keep, label, -1)
    kept = np.flatnonzero(keep)
    column_codes, _ = pd.factorize(label[kept])
    column = np.full(n_keys, -1, dtype=np.intp)
    column[kept] = column_codes
    n_columns = int(column_codes.max(initial=-1)) + 1
    sizes = np.bincount(column[kept], minlength=n_columns)
    # the common unit of a group: normalized units when the rate per unit is equal, else USD
    sized = factors > 0
    per_unit = _bucket(od_rates / np.where(sized, factors, 1.0))
    frame = pd.DataFrame({"column": column[kept], "code": per_unit[kept], "sized": sized[kept]})
    groups = frame.groupby("column")
    uniform = (groups["code"].nunique() == 1) & groups["sized"].all()
    by_factor = uniform.reindex(range(n_columns), fill_value=False).to_numpy(dtype=np.bool_)
    scale = np.ones(n_keys)
    grouped = np.zeros(n_keys, dtype=np.bool_)
    grouped[kept] = sizes[column[kept]] > 1
    use_factor = np.zeros(n_keys, dtype=np.bool_)
    use_factor[kept] = grouped[kept] & by_factor[column[kept]]
    scale[use_factor] = factors[use_factor]
    use_od = grouped & ~use_factor
    scale[use_od] = od_rates[use_od]
    first = np.full(n_columns, -1, dtype=np.intp)
    first[column[kept][::-1]] = kept[::-1]  # first key of each column
    merged_od = od_rates[first] / scale[first]
    merged_pools = []
    for pool, order in zip(pools, orders, strict=True):
        sequence = column[order]
        starts = np.r_[True, sequence[1:] != sequence[:-1]] if order.size else order.astype(bool)
        weight = np.ones(n_columns)
        weight[sequence[starts]] = pool.weight[order[starts]] / scale[order[starts]]
        merged_pools.append(Pool(pool.kind, pool.members, sequence[starts].astype(np.intp), weight))
    return KeyMerge(
        column=column,
        scale=scale,
        od_rates=merged_od,
        accounts=np.asarray(accounts, dtype=object)[first],
        pools=merged_pools,
    )


def _commitment_states(
    instruments: Sequence[Instrument], n_hours: int
) -> tuple[IndexArray, IndexArray]:
    """State of the commitments in each hour (hours with the same charged fraction of every
    instrument share one), and a representative hour of each state."""
    if not instruments or n_hours == 0:
        return np.zeros(n_hours, dtype=np.intp), np.zeros(min(n_hours, 1), dtype=np.intp)
    terms: dict[tuple[pd.Timestamp, pd.Timestamp], Instrument] = {}
    for inst in instruments:  # the same term gives the same charged fractions
        terms.setdefault((inst.start, inst.end), inst)
    charged = np.stack([inst.charged for inst in terms.values()], axis=1)  # hours × terms
    _, first, inverse = np.unique(charged, axis=0, return_index=True, return_inverse=True)
    return inverse.reshape(-1).astype(np.intp), first.astype(np.intp)


def _unique_pairs(
    classes: IndexArray, source_row: npt.NDArray[np.int32], n_rows: int
) -> tuple[npt.NDArray[np.int64], IndexArray]:
    """Distinct (class, source row) codes ``class × n_rows + row``, and each path-hour's
    index into them (paths × hours)."""
    codes = classes[np.newaxis, :].astype(np.int64) * n_rows + source_row
    size = (int(classes.max(initial=0)) + 1) * n_rows
    if size <= _DENSE_CODES:
        seen = np.zeros(size, dtype=np.bool_)
        seen[codes.ravel()] = True
        unique = np.flatnonzero(seen).astype(np.int64)
        position = np.zeros(size, dtype=np.int32)  # (a cumsum of seen as int64 was 10x slower)
        position[unique] = np.arange(len(unique), dtype=np.int32)
        return unique, position[codes].astype(np.intp)
    unique, inverse = np.unique(codes, return_inverse=True)
    return unique.astype(np.int64), inverse.reshape(codes.shape).astype(np.intp)


@dataclass(frozen=True, eq=False)
class MonteCarloModel:
    """Paths, portfolio and catalog reduced once, billable with any capacities.

    Build it with :meth:`build`; :meth:`run` bills every path. :func:`frontier
    <scenarios.frontier.frontier>` runs it with scaled commitments.
    """

    paths: UsagePaths
    instruments: tuple[Instrument, ...]
    merge: KeyMerge
    share_across_accounts: bool
    pair_of_path_hour: IndexArray
    unique_rows: IndexArray
    unique_hours: IndexArray
    state_of_hour: IndexArray
    state_hours: IndexArray
    source_t: FloatArray
    trend_t: FloatArray | None
    column_starts: IndexArray | None
    warnings: tuple[str, ...]
    cache: dict[int, tuple[FloatArray, FloatArray]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls,
        paths: UsagePaths,
        portfolio: Inventory | Sequence[Commitment] | SimulationPortfolio,
        catalog: PriceCatalog,
        *,
        share_across_accounts: bool = True,
    ) -> MonteCarloModel:
        """Reduce ``paths`` for ``portfolio`` (see :func:`monte_carlo` for the parameters)."""
        built = (
            portfolio
            if isinstance(portfolio, SimulationPortfolio)
            else build_portfolio(portfolio, paths.hours, catalog)
        )
        instruments = built.instruments
        keys = priced_keys(paths.keys, catalog)
        od = keys["on_demand_usd_per_hour"].to_numpy(dtype=np.float64)
        pools, pool_warnings = build_pools(instruments, keys, catalog)
        accounts = keys["account_id"].fillna("").to_numpy(dtype=object)
        keep = np.asarray((paths.source != 0).any(axis=0), dtype=np.bool_)
        if paths.trend is not None:
            keep &= np.asarray((paths.trend != 0).any(axis=0), dtype=np.bool_)
        factors = keys["normalization_factor"].to_numpy(dtype=np.float64)
        owners = any(inst.account_id is not None for inst in instruments)
        merge = merge_keys(pools, od, factors, accounts if owners else None, keep)
        state_of_hour, state_hours = _commitment_states(instruments, paths.n_hours)
        if paths.trend is None:  # an hour's class is its commitments' state
            classes, representative = state_of_hour, state_hours
        else:  # ... and its trend row
            classes = representative = np.arange(paths.n_hours, dtype=np.intp)
        n_rows = paths.source.shape[0]
        unique, pair = _unique_pairs(classes, paths.source_row, max(n_rows, 1))
        unique_class, unique_row = np.divmod(unique, max(n_rows, 1))
        source_t, trend_t, column_starts = _merged_source(paths, merge)
        return cls(
            paths=paths,
            instruments=tuple(instruments),
            merge=merge,
            share_across_accounts=share_across_accounts,
            pair_of_path_hour=pair,
            unique_rows=unique_row.astype(np.intp),
            unique_hours=representative[unique_class].astype(np.intp),
            state_of_hour=state_of_hour,
            state_hours=state_hours,
            source_t=source_t,
            trend_t=trend_t,
            column_starts=column_starts,
            warnings=(*built.warnings, *pool_warnings),
        )

    @property
    def reduction(self) -> Reduction:
        """Sizes before and after the reductions."""
        return Reduction(
            path_hours=int(self.pair_of_path_hour.size),
            unique_hours=len(self.unique_rows),
            keys=len(self.paths.keys),
            columns=self.merge.n_columns,
        )

    def _block(self, chosen: slice) -> FloatArray:
        """Usage of the distinct hours ``chosen``, columns × hours [column units]."""
        rows = self.unique_rows[chosen]
        hours = self.unique_hours[chosen]
        block = np.take(self.source_t, rows, axis=1)
        if self.trend_t is not None:
            block *= np.take(self.trend_t, hours, axis=1)
        if self.column_starts is not None:  # a trend that differs inside a merged column
            block = np.add.reduceat(block, self.column_starts, axis=0)
        return block

    def replacements(self, instruments: Sequence[Instrument] | None) -> tuple[Instrument, ...]:
        """``instruments`` checked as one replacement per model instrument (default: the
        model's own)."""
        insts = tuple(self.instruments if instruments is None else instruments)
        if len(insts) != len(self.instruments):
            raise ValueError("give one replacement per instrument of the model")
        return insts

    def state_capacity(self, instruments: Sequence[Instrument]) -> tuple[FloatArray, FloatArray]:
        """Instruments × commitment states: capacity [units] and cost of one unit [USD]
        (partial hours pro rata)."""
        states = self.state_hours
        capacity = np.zeros((len(instruments), len(states)))
        price = np.zeros((len(instruments), len(states)))
        for index, inst in enumerate(instruments):
            if inst.capacity > 0:
                capacity[index] = np.where(inst.active[states], inst.capacity, 0.0)
                price[index] = inst.charged[states] * (inst.effective_usd_per_hour / inst.capacity)
        return capacity, price

    def hour_blocks(self, n_instruments: int) -> list[slice]:
        """Slices of the distinct hours billed together (about :data:`BLOCK_BYTES` each)."""
        n_unique = len(self.unique_rows)
        width = self.source_t.shape[0] + 3 * n_instruments + 8
        block_hours = max(1, min(n_unique, BLOCK_BYTES // (8 * width)))
        return [
            slice(first, min(first + block_hours, n_unique))
            for first in range(0, n_unique, block_hours)
        ]

    def block_usage(self, chosen: slice, cache_bytes: int = 0) -> tuple[FloatArray, FloatArray]:
        """Usage of the distinct hours ``chosen`` (columns × hours, a copy the engine may
        consume) and its on-demand equivalent per hour [USD]; kept in :attr:`cache` when all
        blocks fit in ``cache_bytes``."""
        first = chosen.start
        if first in self.cache:
            cached, od_equivalent = self.cache[first]
            return cached.copy(), od_equivalent
        usage = self._block(chosen)
        od_equivalent = self.merge.od_rates @ usage
        if 8 * len(self.unique_rows) * self.merge.n_columns <= cache_bytes:
            self.cache[first] = (usage.copy(), od_equivalent.copy())
        return usage, od_equivalent

    def run(
        self,
        instruments: Sequence[Instrument] | None = None,
        *,
        progress: ProgressCallback | None = None,
        cache_bytes: int = 0,
    ) -> MonteCarloResult:
        """Bill every path.

        Parameters
        ----------
        instruments
            Replacements for the model's instruments, one each in the same order with the same
            scope, term and account (e.g. scaled capacities); default: the model's own.
        progress
            Called with (distinct hours billed, total) after each block.
        cache_bytes
            Keep the materialised usage blocks for the next runs when they take at most this
            much memory [bytes] (the frontier runs the same model many times).
        """
        insts = self.replacements(instruments)
        n_unique = len(self.unique_rows)
        states = self.state_hours
        capacity, price = self.state_capacity(insts)
        per_hour = np.zeros((3, n_unique))  # on-demand equivalent, on-demand cost, used cost
        od = self.merge.od_rates
        for chosen in self.hour_blocks(len(insts)):
            usage, per_hour[0, chosen] = self.block_usage(chosen, cache_bytes)
            state = self.state_of_hour[self.unique_hours[chosen]]
            if len(states) == 1:
                start = np.repeat(capacity, len(state), axis=1)
            else:
                start = np.take(capacity, state, axis=1)
            engine = Engine(
                usage, insts, od, np.zeros(1, dtype=np.intp),
                record=False, keys_by_hours=True, capacity=start,
            )  # fmt: skip
            engine.run(self.merge.pools, self.merge.accounts, self.share_across_accounts)
            per_hour[1, chosen] = od @ engine.remaining
            # used cost = Σ price × (capacity − left): the engine consumed ``start`` as ``left``;
            # the difference is taken per instrument first, so an hour that used nothing costs
            # exactly 0 (a difference of two sums leaves 1e-14 of rounding, order-dependent)
            if len(states) == 1:
                consumed = capacity[:, :1] - engine.left
                per_hour[2, chosen] = price[:, 0] @ consumed
            else:
                consumed = np.take(capacity, state, axis=1) - engine.left
                per_hour[2, chosen] = np.einsum("ih,ih->h", consumed, np.take(price, state, axis=1))
            if progress is not None:
                progress(chosen.stop, n_unique)
        pair = self.pair_of_path_hour
        od_equivalent, on_demand, used = (np.take(per_hour[i], pair).sum(axis=1) for i in range(3))
        commitment = float(sum(inst.effective_usd_per_hour * inst.charged_hours for inst in insts))
        return _result(od_equivalent, on_demand, used, commitment, self)


def _merged_source(
    paths: UsagePaths, merge: KeyMerge
) -> tuple[FloatArray, FloatArray | None, IndexArray | None]:
    """Source rows and trend by column, transposed (columns × source rows, columns × hours).

    When the trend differs between keys of a merged column, both stay per key (kept keys
    sorted by column, usage scaled to column units) and the third value gives where each
    column's keys start (added per block); otherwise it is ``None``.
    """
    kept = np.flatnonzero(merge.column >= 0)
    by_column = kept[np.argsort(merge.column[kept], kind="stable")]
    starts = np.flatnonzero(np.r_[True, np.diff(merge.column[by_column]) != 0]).astype(np.intp)
    first = by_column[starts] if by_column.size else by_column
    scaled_t = (paths.source[:, by_column] * merge.scale[by_column]).T
    if paths.trend is not None and not np.array_equal(
        paths.trend[:, by_column], paths.trend[:, first[merge.column[by_column]]]
    ):
        per_key_trend = np.ascontiguousarray(paths.trend[:, by_column].T)
        return np.ascontiguousarray(scaled_t), per_key_trend, starts
    source_t = (
        np.add.reduceat(scaled_t, starts, axis=0)
        if by_column.size
        else np.zeros((0, paths.source.shape[0]))
    )
    trend_t = None if paths.trend is None else np.ascontiguousarray(paths.trend[:, first].T)
    return np.ascontiguousarray(source_t), trend_t, None


def _result(
    od_equivalent: FloatArray,
    on_demand: FloatArray,
    used: FloatArray,
    commitment: float,
    model: MonteCarloModel,
) -> MonteCarloResult:
    """Per-path totals as :func:`billing.simulator.simulate` defines them."""
    actual = on_demand + commitment
    savings = od_equivalent - actual
    positive = od_equivalent > 0
    safe = np.where(positive, od_equivalent, 1.0)
    ratio = np.where(positive, savings / safe, 0.0)
    coverage = np.clip(np.where(positive, (od_equivalent - on_demand) / safe, 0.0), 0.0, 1.0)
    utilization = np.clip(used / commitment, 0.0, 1.0) if commitment > 0 else np.ones_like(used)
    frame = pd.DataFrame(
        {
            "on_demand_cost_usd": od_equivalent,
            "actual_cost_usd": actual,
            "uncovered_cost_usd": on_demand,
            "commitment_cost_usd": np.full(len(actual), commitment),
            "used_commitment_usd": used,
            "unused_commitment_usd": commitment - used,
            "savings_vs_on_demand_usd": savings,
            "savings_vs_on_demand_pct": 100.0 * ratio,
            "utilization_pct": 100.0 * utilization,
            "coverage_pct": 100.0 * coverage,
        }
    )
    frame.index.name = "path"
    warnings = tuple(model.warnings)
    if not (model.paths.source != 0).any():
        status = MonteCarloStatus.NO_USAGE
    elif warnings:
        status = MonteCarloStatus.WARNINGS
    else:
        status = MonteCarloStatus.OK
    return MonteCarloResult(
        status=status,
        paths=frame,
        commitment_cost_usd=commitment,
        hours=model.paths.n_hours,
        reduction=model.reduction,
        warnings=warnings,
    )


def monte_carlo(
    paths: UsagePaths,
    portfolio: Inventory | Sequence[Commitment] | SimulationPortfolio,
    catalog: PriceCatalog,
    *,
    share_across_accounts: bool = True,
    progress: ProgressCallback | None = None,
) -> MonteCarloResult:
    """Bill every sampled usage path with ``portfolio`` as AWS would; keep each path's totals.

    Parameters
    ----------
    paths
        Sampled usage paths (:class:`~scenarios.paths.UsagePaths`); their hours are the period.
    portfolio
        Owned and proposed commitments with start and end, or a built
        :class:`~billing.portfolio.SimulationPortfolio` over ``paths.hours``.
    catalog
        On-demand rates of every key, SP rates of the keys plans may cover, RI rates for items
        without them.
    share_across_accounts
        Whether commitments also cover the organization's other accounts after their own.
    progress
        Called with (distinct hours billed, total) while the blocks run.

    Returns
    -------
    MonteCarloResult
        One row of totals per path; a single path equals :func:`billing.simulator.simulate`
        on it (to floating-point rounding).

    Raises
    ------
    pricing.errors.MissingPriceError
        When a key has no on-demand rate.
    billing.portfolio.PortfolioError
        For a commitment that cannot be applied.
    """
    model = MonteCarloModel.build(
        paths, portfolio, catalog, share_across_accounts=share_across_accounts
    )
    return model.run(progress=progress)


__all__ = [
    "DEFAULT_PERCENTILES",
    "METRICS",
    "KeyMerge",
    "MonteCarloModel",
    "MonteCarloResult",
    "MonteCarloStatus",
    "Reduction",
    "merge_keys",
    "monte_carlo",
]
