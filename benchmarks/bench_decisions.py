"""Benchmark: decisions under change, every archetype of issue 16 against its targets.

For each archetype of ``archetypes.DECISION_ARCHETYPES`` (15 months of hourly usage from
2024-01-01, seed 0, priced by the embedded 2017 catalog) the backtest of
:func:`planning.policies.run_backtest` bills the window 2024-04-01 -> 2025-04-01, reviewed
monthly with a 90-day lookback, for ``ours-oneshot``, ``ours-ladder`` and the Cost-Explorer-like
``ce-7d``, ``ce-30d``, ``ce-60d``, with the hindsight ceiling. It prints, per archetype, each
policy's savings and captured share of the ceiling, the time taken with the machine's load
average, then the issue's targets with met / missed:

- ``ours-oneshot``: never negative on any archetype; median captured >= 95 %;
- ``ours-ladder``: median captured >= 95 %, worst >= 75 %, at or above the best Cost-Explorer-like
  policy on every archetype.

Captured is computed here by :func:`captured_pct`, against a ceiling named by ``--ceiling`` (a row
of ``BacktestResult.table()``, ``hindsight`` by default) or ``--ceiling-column`` (a column of that
table holding the bound), so a new ceiling is a flag, not a change. Archetypes whose ceiling saves
nothing (business_hours) have no captured share and are left out of the medians and the worst.

Usage::

    python benchmarks/bench_decisions.py                       # every archetype
    python benchmarks/bench_decisions.py --quick               # four archetypes
    python benchmarks/bench_decisions.py --archetypes stopped_workload seasonal_retailer
    python benchmarks/bench_decisions.py --ceiling hindsight-oneshot  # another ceiling row
    python benchmarks/bench_decisions.py --json decisions.json # also write rows and targets
    python benchmarks/bench_decisions.py --timing              # the reviews at other moments
    python benchmarks/bench_decisions.py --variants            # other seeds and parameters

``--timing`` runs ``archetypes.TIMING_VARIANTS`` instead: the same kinds of change with the first
review at another moment of it (a seasonal peak on its ramp, at its height and after it, a fleet
stopped 3 or 45 days before, a migration under way, other seeds), each window the 12 months from
its own first review. Its targets: ``ours-oneshot`` never negative, and ``ours-ladder`` at or
above the best Cost-Explorer-like policy on each variant (within 1 USD). ``--variants`` runs
``archetypes.VARIANTS`` with the same targets: the cases again with other seeds and parameters,
written after the rules they test.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "benchmarks"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from archetypes import (  # noqa: E402
    DECISION_ARCHETYPES,
    LOOKBACK_DAYS,
    QUICK_DECISION_ARCHETYPES,
    TIMING_VARIANTS,
    VARIANTS,
    WINDOW,
)
from measure import Load, Verdicts, load_average, measured  # noqa: E402

from planning.policies import run_backtest  # noqa: E402
from pricing.embedded import load_embedded_catalog  # noqa: E402

ONESHOT: Final = "ours-oneshot"
LADDER: Final = "ours-ladder"
CE_LIKE: Final = ("ce-7d", "ce-30d", "ce-60d")
POLICIES: Final = (ONESHOT, LADDER, *CE_LIKE)
"""The policies compared (the ceiling comes with every backtest)."""

DEFAULT_CEILING: Final = "hindsight"
"""Row of ``BacktestResult.table()`` whose savings are the ceiling, unless told otherwise."""

SAVINGS_COLUMN: Final = "savings_vs_on_demand_usd"

MEDIAN_TARGET_PCT: Final = 95.0
WORST_LADDER_TARGET_PCT: Final = 75.0
AT_OR_ABOVE_TOLERANCE_USD: Final = 1.0
"""The ladder is "at or above" a Cost-Explorer-like policy when it saves at most this less [USD]
(rounding of whole RIs and SP steps)."""


def captured_pct(
    table: pd.DataFrame,
    *,
    ceiling_row: str = DEFAULT_CEILING,
    ceiling_column: str | None = None,
    savings_column: str = SAVINGS_COLUMN,
    policy_column: str = "policy",
) -> pd.Series:
    """Each row's savings as a share of the ceiling's [%], indexed by policy.

    Parameters
    ----------
    table
        ``BacktestResult.table()``: one row per policy (and the ceiling rows).
    ceiling_row
        The policy whose savings are the ceiling (ignored with ``ceiling_column``).
    ceiling_column
        A column holding the ceiling's savings [USD] instead (its first non-missing value).
    savings_column, policy_column
        Where the savings [USD] and the policy names are.

    Returns
    -------
    pandas.Series
        ``100 × savings ÷ ceiling`` per policy; NaN everywhere when the ceiling saves nothing.

    Raises
    ------
    KeyError
        When the ceiling row or column is not in the table (the message lists what is).
    """
    savings = table.set_index(policy_column)[savings_column].astype(float)
    if ceiling_column is not None:
        if ceiling_column not in table.columns:
            raise KeyError(f"no column {ceiling_column!r}; the table has {list(table.columns)}")
        bound = table[ceiling_column].dropna()
        ceiling = float(bound.iloc[0]) if len(bound) else math.nan
    else:
        if ceiling_row not in savings.index:
            raise KeyError(f"no row {ceiling_row!r}; the table has {list(savings.index)}")
        ceiling = float(savings.loc[ceiling_row])
    if not ceiling > 0:
        return pd.Series(math.nan, index=savings.index, name="captured_pct")
    return (100.0 * savings / ceiling).rename("captured_pct")


def targets(rows: pd.DataFrame) -> list[dict[str, object]]:
    """The issue's targets on a frame of ``archetype, policy, savings, captured`` rows.

    Returns one dict per target: ``target``, ``value`` (the measured figure, as text), ``met``.
    """
    captured = rows.pivot(index="archetype", columns="policy", values="captured_pct")
    savings = rows.pivot(index="archetype", columns="policy", values=SAVINGS_COLUMN)
    out: list[dict[str, object]] = []

    def add(target: str, value: str, met: bool) -> None:
        out.append({"target": target, "value": value, "met": bool(met)})

    if ONESHOT in savings:
        worst_usd = savings[ONESHOT].min()
        negative = sorted(savings.index[savings[ONESHOT] < 0])
        add(
            f"{ONESHOT} never negative",
            f"lowest {worst_usd:,.0f} USD" + (f" ({', '.join(negative)})" if negative else ""),
            not negative,
        )
        median = captured[ONESHOT].median()
        add(f"{ONESHOT} median captured >= 95 %", f"{median:.1f} %", median >= MEDIAN_TARGET_PCT)
    if LADDER in savings:
        median = captured[LADDER].median()
        add(f"{LADDER} median captured >= 95 %", f"{median:.1f} %", median >= MEDIAN_TARGET_PCT)
        worst = captured[LADDER].min()
        worst_at = captured[LADDER].idxmin() if captured[LADDER].notna().any() else "-"
        add(
            f"{LADDER} worst captured >= 75 %",
            f"{worst:.1f} % ({worst_at})",
            worst >= WORST_LADDER_TARGET_PCT,
        )
        ce = [name for name in CE_LIKE if name in savings]
        if ce:
            best_ce = savings[ce].max(axis=1)
            behind = savings.index[savings[LADDER] < best_ce - AT_OR_ABOVE_TOLERANCE_USD]
            gaps = ", ".join(
                f"{name} {savings.at[name, LADDER] - best_ce[name]:,.0f} USD" for name in behind
            )
            add(
                f"{LADDER} at or above the best CE-like policy on every archetype",
                gaps or "everywhere",
                len(behind) == 0,
            )
    return out


def timing_targets(rows: pd.DataFrame) -> list[dict[str, object]]:
    """The ``--timing`` targets: the one-shot never negative; the ladder never behind Cost
    Explorer's way (its monthly policies, as the ladder buys monthly).

    Returns one dict per target: ``target``, ``value`` (the measured figure, as text), ``met``.
    """
    wanted = (f"{ONESHOT} never negative", f"{LADDER} at or above the best CE-like policy")
    return [t for t in targets(rows) if str(t["target"]).startswith(wanted)]


def _dated_cases(args: argparse.Namespace) -> dict[str, tuple[Callable[[], pd.DataFrame], str]]:
    """The timing variants (``--timing``), the seed variants (``--variants``), or none."""
    if args.timing:
        return TIMING_VARIANTS
    if args.variants:
        return VARIANTS
    return {}


def _windows(args: argparse.Namespace) -> list[tuple[str, tuple[str, str]]]:
    """(case, (start, end)) of the chosen archetypes or variants."""
    dated = _dated_cases(args)
    if dated:
        names = args.archetypes or list(dated)
        unknown = [name for name in names if name not in dated]
        if unknown:
            raise SystemExit(f"unknown variants {unknown}; use {list(dated)}")
        out = []
        for name in names:
            first = pd.Timestamp(dated[name][1])
            out.append(
                (
                    name,
                    (first.date().isoformat(), (first + pd.DateOffset(years=1)).date().isoformat()),
                )
            )
        return out
    return [(name, WINDOW) for name in _chosen(args)]


def _usage_of(name: str, args: argparse.Namespace) -> pd.DataFrame:
    """The canonical usage of an archetype or a variant."""
    dated = _dated_cases(args)
    return dated[name][0]() if dated else DECISION_ARCHETYPES[name]()


def _chosen(args: argparse.Namespace) -> list[str]:
    if args.archetypes:
        unknown = [name for name in args.archetypes if name not in DECISION_ARCHETYPES]
        if unknown:
            raise SystemExit(f"unknown archetypes {unknown}; use {list(DECISION_ARCHETYPES)}")
        return list(args.archetypes)
    return list(QUICK_DECISION_ARCHETYPES if args.quick else DECISION_ARCHETYPES)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the backtests, print one table per archetype, the captured pivot and the targets.

    Returns 0 when every target is met, else 1.
    """
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--archetypes", nargs="*", default=None, help="default: all (or --quick)")
    parser.add_argument("--quick", action="store_true", help=f"only {QUICK_DECISION_ARCHETYPES}")
    parser.add_argument("--policies", nargs="*", default=list(POLICIES))
    parser.add_argument(
        "--ceiling",
        default=None,
        help="row holding the ceiling (default: the backtest's certified bounds, the one-shot "
        "bound for ours-oneshot)",
    )
    parser.add_argument("--ceiling-column", default=None, help="column holding the ceiling")
    parser.add_argument("--json", type=Path, default=None, help="write rows and targets here")
    parser.add_argument(
        "--timing",
        action="store_true",
        help="run the timing variants (reviews at other moments of each change) instead",
    )
    parser.add_argument(
        "--variants",
        action="store_true",
        help="run the seed variants (the cases with other seeds and parameters) instead",
    )
    args = parser.parse_args(argv)
    if args.timing and args.variants:
        parser.error("--timing and --variants exclude each other")
    catalog = load_embedded_catalog()
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    frames: list[pd.DataFrame] = []
    timings: dict[str, dict[str, object]] = {}
    cases = _windows(args)
    what = (
        f"{'timing' if args.timing else 'seed'} variants, each window 12 months"
        if _dated_cases(args)
        else f"window {WINDOW[0]} -> {WINDOW[1]}"
    )
    print(f"decisions benchmark, {what}, lookback {LOOKBACK_DAYS} d")
    for name, window in cases:
        usage = _usage_of(name, args)
        keys = usage.groupby(["account_id", "region", "instance_type", "platform"]).ngroups
        with measured() as span:
            result = run_backtest(
                usage,
                catalog,
                args.policies,
                start=window[0],
                end=window[1],
                lookback_days=LOOKBACK_DAYS,
            )
        seconds = span.seconds
        table = result.table()
        if args.ceiling is None and args.ceiling_column is None:
            # the true ceilings (item 6): every policy against the certified bound of buying at
            # every review, the one-shot against the bound of buying once at the first
            oneshot = table["policy"] == ONESHOT
            table.loc[oneshot, "captured_pct"] = table.loc[oneshot, "captured_oneshot_pct"]
            if not float(table[SAVINGS_COLUMN].max()) > 0:  # nothing to capture (no share)
                table["captured_pct"] = math.nan
        else:
            table["captured_pct"] = captured_pct(
                table,
                ceiling_row=args.ceiling or DEFAULT_CEILING,
                ceiling_column=args.ceiling_column,
            ).to_numpy()
        table.insert(0, "archetype", name)
        timings[name] = {"seconds": seconds, "keys": keys, "load_before": span.load.before,
                         "load_after": span.load.after, "status": str(result.status)}  # fmt: skip
        print(f"\n{name} ({window[0]} -> {window[1]}): {keys} keys, {seconds:.0f} s ({span.load}), "
              f"status {result.status}")  # fmt: skip
        shown = table[["policy", SAVINGS_COLUMN, "captured_pct", "on_demand_cost_usd",
                       "purchase_count"]]  # fmt: skip
        print(shown.round(1).to_string(index=False))
        for note in result.notes:
            print(f"  note: {note}")
        frames.append(table)
        sys.stdout.flush()
    rows = pd.concat(frames, ignore_index=True)
    print("\ncaptured % of the ceiling:")
    print(rows.pivot(index="archetype", columns="policy", values="captured_pct").round(1))
    chosen_rows = rows[rows["policy"].isin(args.policies)]
    results = timing_targets(chosen_rows) if _dated_cases(args) else targets(chosen_rows)
    total = sum(float(str(t["seconds"])) for t in timings.values())
    first = next(iter(timings.values()))
    whole = Load(float(str(first["load_before"])), load_average())
    print(f"\n{total:.0f} s in all ({whole} over the whole run)")
    if args.json is not None:
        records = rows.replace({np.nan: None}).to_dict("records")
        payload = {"rows": records, "targets": results, "timings": timings}
        args.json.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    verdicts = Verdicts()
    for item in results:
        verdicts.add(str(item["target"]), str(item["value"]), bool(item["met"]))
    return verdicts.report()


if __name__ == "__main__":
    raise SystemExit(main())
