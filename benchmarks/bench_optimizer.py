"""Benchmarks of the optimizer (issue 5): speed at scale, the naive pulp way, and plan quality.

Three parts, each printing a Markdown table for ``docs/benchmarks.md``:

``scale``
    One year of hourly usage of a synthetic fleet (:mod:`fleet`: N keys in N/10 families over
    4 regions), all three instruments, 1- and 3-year terms × 3 payment options: build the
    reduced problem, solve it by certified cutting planes to 0.1 %, and (when asked, where it
    finishes) the exact full LP for comparison. Each size runs in a fresh subprocess that
    reports wall time and peak resident memory (``VmHWM``).
``naive``
    The same model written the usual way — pulp, element by element, CBC — against ours, at
    200 keys × 90 days: time to build and solve, objectives side by side, and the speed ratio.
``quality``
    The synthetic archetypes of :func:`usage.synthetic.demo_usage` over 15 months: a
    recommendation from the first 90 days billed over the following 12 months, against the
    hindsight optimum of those 12 months and a Cost-Explorer-like baseline (the best single
    instrument over the lookback).

Usage::

    python benchmarks/bench_optimizer.py scale --keys 1000 3000 --hours 8760
    python benchmarks/bench_optimizer.py scale --keys 200 --hours 8760 --exact
    python benchmarks/bench_optimizer.py naive
    python benchmarks/bench_optimizer.py quality
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

ALL_TERMS = (1, 3)
ALL_PAYMENTS = ("No Upfront", "Partial Upfront", "All Upfront")


def markdown(frame: pd.DataFrame) -> str:
    """A pipe table (``DataFrame.to_markdown`` needs tabulate, which is not a dependency)."""
    cells = frame.astype(object).where(frame.notna(), "")
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "---|" * len(frame.columns)]  # fmt: skip
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in cells.itertuples(index=False)]
    return "\n".join(lines)


def _peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def run_scale_child(keys: int, hours: int, exact: bool, tolerance: float) -> dict[str, Any]:
    """One size, in this (fresh) process."""
    from fleet import fleet

    from optimizer.build import build_problem
    from optimizer.cutting_planes import solve_cutting_planes
    from optimizer.full_lp import solve_exact
    from optimizer.policy import Policy

    usage, catalog = fleet(keys, hours)
    policy = Policy(terms_years=ALL_TERMS, payment_options=ALL_PAYMENTS)
    start = time.perf_counter()
    problem = build_problem(usage, catalog, policy)
    built = time.perf_counter()
    result = solve_cutting_planes(problem, tolerance=tolerance)
    solved = time.perf_counter()
    row: dict[str, Any] = {
        "keys": keys,
        "hours": hours,
        "periods": problem.n_periods,
        "columns": problem.n_columns,
        "pools": problem.n_pools,
        "offers": problem.n_offers,
        "build_s": round(built - start, 2),
        "solve_s": round(solved - built, 2),
        "total_s": round(solved - start, 2),
        "iterations": result.iterations,
        "gap_pct": round(100 * result.relative_gap, 4),
        "status": str(result.status),
        "cost_usd": round(result.upper_bound_usd, 2),
        "peak_mib": round(_peak_mib()),
    }
    if exact:
        begin = time.perf_counter()
        exact_result = solve_exact(problem)
        row["exact_s"] = round(time.perf_counter() - begin, 2)
        row["exact_cost_usd"] = round(exact_result.objective_usd, 2)
        row["true_gap_pct"] = round(
            100
            * (result.upper_bound_usd - exact_result.objective_usd)
            / exact_result.objective_usd,
            4,
        )
        row["peak_mib"] = round(_peak_mib())
    return row


def scale(args: argparse.Namespace) -> None:
    rows = []
    for keys in args.keys:
        for hours in args.hours:
            command = [sys.executable, __file__, "scale-child", str(keys), str(hours),
                       str(args.tolerance)] + (["--exact"] if args.exact else [])  # fmt: skip
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            row = json.loads(output.strip().splitlines()[-1])
            print(row, file=sys.stderr)
            rows.append(row)
    print(markdown(pd.DataFrame(rows)))


def naive_pulp(problem: Any) -> tuple[float, float, float]:
    """The model built element by element in pulp and solved with CBC: (build s, solve s, obj)."""
    import pulp

    start = time.perf_counter()
    model = pulp.LpProblem("naive", pulp.LpMinimize)
    x = [pulp.LpVariable(f"x{k}", lowBound=0) for k in range(problem.n_offers)]
    coverage = problem.coverage.tocoo()
    active = problem.offer_active.toarray()
    pool_of_offer = problem.offers["pool"].to_numpy()
    objective = []
    for k in range(problem.n_offers):
        objective.append(problem.offers["objective_usd_per_unit"].iloc[k] * x[k])
    for t in range(problem.n_periods):
        scale_t = problem.period_weight[t] * problem.period_discount[t]
        by_column: dict[int, list[Any]] = {}
        by_pool: dict[int, list[Any]] = {}
        for i, j, ratio in zip(coverage.row, coverage.col, coverage.data, strict=True):
            if problem.demand_usd[t, j] > 0:
                y = pulp.LpVariable(f"y_{t}_{i}_{j}", lowBound=0)
                objective.append(-scale_t * y)
                by_column.setdefault(int(j), []).append(y)
                by_pool.setdefault(int(i), []).append(float(ratio) * y)
        for j, terms in by_column.items():
            model += pulp.lpSum(terms) <= problem.demand_usd[t, j]
        for i, used in by_pool.items():
            bought = [
                x[k] for k in range(problem.n_offers) if pool_of_offer[k] == i and active[t, k]
            ]
            model += pulp.lpSum(used) <= problem.owned_capacity[t, i] + pulp.lpSum(bought)
    constant = float((problem.demand_usd.sum(axis=1) * problem.period_weight
                      * problem.period_discount).sum())  # fmt: skip
    model += pulp.lpSum(objective) + constant
    built = time.perf_counter()
    print(f"naive: built in {built - start:.1f} s", file=sys.stderr, flush=True)
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    solved = time.perf_counter()
    return built - start, solved - built, float(pulp.value(model.objective))


def naive(args: argparse.Namespace) -> None:
    from fleet import fleet

    from optimizer.build import build_problem
    from optimizer.optimize import optimize
    from optimizer.policy import Policy

    usage, catalog = fleet(args.keys, args.days * 24, n_families=max(10, args.keys // 10))
    policy = Policy(terms_years=(1,), payment_options=("No Upfront",))
    problem = build_problem(usage, catalog, policy, merge_identical_periods=False)
    rows = []
    if args.exact:
        start = time.perf_counter()
        ours = optimize(problem, exact=True)
        ours_s = time.perf_counter() - start
        print(f"ours, full LP: {ours_s:.1f} s", file=sys.stderr, flush=True)
        rows.append({"method": "ours: vectorised full LP + HiGHS", "seconds": round(ours_s, 3),
                     "objective_usd": round(ours.objective_usd, 2)})  # fmt: skip
    from optimizer.cutting_planes import solve_cutting_planes

    cuts_start = time.perf_counter()
    cuts = solve_cutting_planes(
        build_problem(usage, catalog, policy, merge_identical_periods=False)
    )
    cuts_s = time.perf_counter() - cuts_start
    print(f"ours, cutting planes: {cuts_s:.1f} s ({problem.n_periods} periods × "
          f"{problem.n_columns} columns)", file=sys.stderr, flush=True)  # fmt: skip
    build_s, solve_s, objective = naive_pulp(problem)
    naive_s = build_s + solve_s
    rows.insert(0, {"method": "pulp element by element + CBC", "seconds": round(naive_s, 2),
                    "objective_usd": round(objective, 2)})  # fmt: skip
    rows.append({"method": "ours: build + cutting planes (0.1 %)", "seconds": round(cuts_s, 3),
                 "objective_usd": round(cuts.upper_bound_usd, 2)})  # fmt: skip
    print(markdown(pd.DataFrame(rows)))
    print(f"\nnaive build {build_s:.1f} s + CBC {solve_s:.1f} s; "
          f"speed ratio naive ÷ ours: {naive_s / cuts_s:.0f}×")  # fmt: skip


def quality(args: argparse.Namespace) -> None:
    from billing.simulator import simulate
    from optimizer.policy import Policy
    from planning.recommend import RecommendOptions, recommend
    from pricing.embedded import load_embedded_catalog
    from usage.synthetic import demo_usage

    catalog = load_embedded_catalog()
    lookback_hours = 90 * 24
    future_hours = 365 * 24
    usage = demo_usage(seed=args.seed, hours=lookback_hours + future_hours)
    first_future = usage["hour"].min() + pd.Timedelta(hours=lookback_hours)
    past = usage.loc[usage["hour"] < first_future].reset_index(drop=True)
    future = usage.loc[usage["hour"] >= first_future].reset_index(drop=True)
    policy = Policy(terms_years=(1,), payment_options=("No Upfront",))

    def billed(purchases: Any) -> float:
        shifted = [
            p.__class__(**{**{f: getattr(p, f) for f in p.__dataclass_fields__},
                           "start": first_future.to_pydatetime(),
                           "end": (first_future + pd.Timedelta(hours=8760)).to_pydatetime()})
            for p in purchases
        ]  # fmt: skip
        return simulate(future, shifted, catalog).totals.actual_cost_usd

    all_on_demand = simulate(future, (), catalog).totals.actual_cost_usd
    rows = []
    ours = recommend(past, catalog, policy, options=RecommendOptions(lookback_days=90))
    rows.append({"plan": "ours, 90-day lookback", "cost_usd": billed(ours.purchases)})
    # hindsight sees the whole year it bills, keys that stop inside it included
    hindsight = recommend(
        future,
        catalog,
        policy,
        options=RecommendOptions(
            lookback_days=365,
            stopped_after_days=0.0,
            recency_half_life_days=0.0,
            decide_on="lookback",
        ),
    )
    rows.append({"plan": "hindsight optimum (12 months known)",
                 "cost_usd": billed(hindsight.purchases)})  # fmt: skip
    best_single = None
    for instrument in ("ri", "ec2-sp", "compute-sp"):
        single = Policy(
            instruments=(instrument,), terms_years=(1,), payment_options=("No Upfront",)
        )
        run = recommend(past, catalog, single, options=RecommendOptions(lookback_days=90))
        cost = run.with_plan.totals.actual_cost_usd
        if best_single is None or cost < best_single[1]:
            best_single = (instrument, cost, run.purchases)
    assert best_single is not None
    rows.append({"plan": f"Cost-Explorer-like: best single instrument ({best_single[0]})",
                 "cost_usd": billed(best_single[2])})  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["savings_usd"] = all_on_demand - frame["cost_usd"]
    frame["savings_pct"] = 100 * frame["savings_usd"] / all_on_demand
    hindsight_savings = float(frame.loc[1, "savings_usd"])
    frame["share_of_hindsight_pct"] = 100 * frame["savings_usd"] / hindsight_savings
    print(f"all on-demand over the 12 months: {all_on_demand:,.2f} USD")
    print(markdown(frame.round(2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="part", required=True)
    p = sub.add_parser("scale")
    p.add_argument("--keys", type=int, nargs="+", default=[1000])
    p.add_argument("--hours", type=int, nargs="+", default=[8760])
    p.add_argument("--exact", action="store_true")
    p.add_argument("--tolerance", type=float, default=1e-3)
    c = sub.add_parser("scale-child")
    c.add_argument("keys", type=int)
    c.add_argument("hours", type=int)
    c.add_argument("tolerance", type=float)
    c.add_argument("--exact", action="store_true")
    n = sub.add_parser("naive")
    n.add_argument("--keys", type=int, default=200)
    n.add_argument("--days", type=int, default=90)
    n.add_argument("--exact", action="store_true", help="also time our full LP")
    q = sub.add_parser("quality")
    q.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.part == "scale-child":
        print(json.dumps(run_scale_child(args.keys, args.hours, args.exact, args.tolerance)))
    elif args.part == "scale":
        scale(args)
    elif args.part == "naive":
        naive(args)
    else:
        quality(args)


if __name__ == "__main__":
    main()
