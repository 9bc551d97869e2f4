"""Benchmark: renewals queued at expiry, on accounts that own commitments ending mid-window.

For each archetype of ``archetypes.DECISION_ARCHETYPES`` (default: a handful) the account owns,
at the window's start, what ``ours-oneshot`` buys at its first review, bought so long before that
it ends on the 10th of the window's 6th month: between two monthly reviews, as renewals do.
The window 2024-04-01 -> 2025-04-01 is then backtested (90-day lookback, monthly reviews) with

- ``ours-ladder``: the default ladder, which replaces what ends before its next review by
  purchases queued to start the hour it ends (:mod:`planning.renewals`);
- ``ladder-at-review``: the same ladder replacing it at the review (``queue_renewals=False``),
  paying twice until it ends;
- ``ce-7d``, ``ce-30d``: Cost Explorer's way, which knows nothing of the expiry;

with the hindsight ceiling, offered the queued dates too. It prints each case's savings, the
time taken with the machine's load average, and the targets with met / missed:

- the queued ladder saves at least as much as the ladder replacing at the review, on every case;
- no policy saves more than the ceiling (the backtest's status is ``ok``).

Usage::

    python benchmarks/bench_renewals.py
    python benchmarks/bench_renewals.py --archetypes steady_daily_cycle stopped_workload
    python benchmarks/bench_renewals.py --json renewals.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Final

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "benchmarks"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from archetypes import DECISION_ARCHETYPES, LOOKBACK_DAYS, WINDOW  # noqa: E402
from measure import Load, Verdicts, load_average, measured  # noqa: E402

from planning.policies import HindsightOptimum, OursLadder, OursOneShot  # noqa: E402
from planning.policies.lineup import standard_policies  # noqa: E402
from planning.policies.recommended import PURCHASE_POLICY  # noqa: E402
from pricing.catalog import PriceCatalog  # noqa: E402
from pricing.embedded import load_embedded_catalog  # noqa: E402
from pricing.inventory import Commitment  # noqa: E402
from pricing.inventory.values import term_end  # noqa: E402
from scenarios.backtest import BacktestStatus, backtest  # noqa: E402

DEFAULT_ARCHETYPES: Final = (
    "steady_daily_cycle",
    "stopped_workload",
    "seasonal_retailer",
    "step_launches",
    "right_sizing",
    "multi_account",
)
QUEUED: Final = "ours-ladder"
AT_REVIEW: Final = "ladder-at-review"
CE_LIKE: Final = ("ce-7d", "ce-30d")
SAVINGS: Final = "savings_vs_on_demand_usd"
TOLERANCE_USD: Final = 1.0
"""The queued ladder is "at least as good" when it saves at most this less [USD]."""

ONE_TERM: Final = replace(
    PURCHASE_POLICY,
    terms_years=(1,),
    payment_options=(PURCHASE_POLICY.payment_options[0],),
)


def owned_ending_mid_window(
    usage: pd.DataFrame, catalog: PriceCatalog, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[Commitment, ...]:
    """What the one-shot buys at the window's first review, bought 8,760 h before the 10th of
    the window's 6th month (so it ends then)."""
    first = backtest(
        usage, catalog, {"once": OursOneShot(ONE_TERM)}, start=start, end=end,
        lookback_days=LOOKBACK_DAYS,
    )  # fmt: skip
    ends = (start + pd.DateOffset(months=5, days=9)).to_pydatetime()
    bought = ends - pd.Timedelta(hours=8760)
    return tuple(
        replace(p, id=f"owned-{i}", start=bought, end=term_end(bought, p.term_years))
        for i, p in enumerate(first.outcomes["once"].purchases, start=1)
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the cases, print their savings and the targets; 0 when every target is met."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--archetypes", nargs="*", default=list(DEFAULT_ARCHETYPES))
    parser.add_argument("--json", type=Path, default=None, help="write the rows here")
    args = parser.parse_args(argv)
    unknown = [name for name in args.archetypes if name not in DECISION_ARCHETYPES]
    if unknown:
        parser.error(f"unknown archetypes {unknown}; use {list(DECISION_ARCHETYPES)}")
    catalog = load_embedded_catalog()
    start = pd.Timestamp(WINDOW[0], tz="UTC")
    end = pd.Timestamp(WINDOW[1], tz="UTC")
    standard = standard_policies(list(CE_LIKE))
    policies = {
        QUEUED: OursLadder(ONE_TERM),
        AT_REVIEW: OursLadder(ONE_TERM, queue_renewals=False),
        **{name: standard[name] for name in CE_LIKE},
    }
    print(f"renewals benchmark, window {WINDOW[0]} -> {WINDOW[1]}, lookback {LOOKBACK_DAYS} d")
    rows: list[dict[str, object]] = []
    first_load = load_average()
    for name in args.archetypes:
        usage = DECISION_ARCHETYPES[name]()
        with measured() as span:
            owned = owned_ending_mid_window(usage, catalog, start, end)
            result = backtest(
                usage, catalog, policies, start=start, end=end, lookback_days=LOOKBACK_DAYS,
                owned=owned, hindsight=HindsightOptimum(ONE_TERM),
            )  # fmt: skip
        table = result.table().set_index("policy")
        owned_rate = sum(float(c.effective_usd_per_hour) for c in owned)
        ends = owned[0].end.date().isoformat() if owned else "-"
        reviews = {at.to_pydatetime() for at in result.review_dates}
        queued = [p for p in result.outcomes[QUEUED].purchases if p.start not in reviews]
        row: dict[str, object] = {
            "archetype": name,
            "owned_usd_per_hour": round(owned_rate, 3),
            "owned_end": ends,
            "queued_purchases": len(queued),
            "status": str(result.status),
            "seconds": round(span.seconds, 1),
            "load": str(span.load),
            **{policy: round(float(table.loc[policy, SAVINGS]), 2) for policy in table.index},
        }
        rows.append(row)
        print(f"\n{name}: owns {owned_rate:.3f} USD/h ending {ends}; {span.seconds:.0f} s "
              f"({span.load}), status {result.status}")  # fmt: skip
        print(table[[SAVINGS, "captured_pct", "purchase_count"]].round(1).to_string())
        sys.stdout.flush()
    whole = Load(first_load, load_average())
    print(f"\n{sum(float(str(r['seconds'])) for r in rows):.0f} s in all ({whole})")
    if args.json is not None:
        args.json.write_text(json.dumps({"rows": rows}, indent=1, default=str) + "\n")
    behind = [
        f"{r['archetype']} {float(str(r[QUEUED])) - float(str(r[AT_REVIEW])):+,.0f} USD"
        for r in rows
        if float(str(r[QUEUED])) < float(str(r[AT_REVIEW])) - TOLERANCE_USD
    ]
    gains = ", ".join(
        f"{r['archetype']} {float(str(r[QUEUED])) - float(str(r[AT_REVIEW])):+,.0f}" for r in rows
    )
    beaten = [str(r["archetype"]) for r in rows if r["status"] != str(BacktestStatus.OK)]
    verdicts = Verdicts()
    verdicts.add(
        f"{QUEUED} (queued renewals) at or above {AT_REVIEW} on every case",
        ", ".join(behind) if behind else f"queued − at review: {gains} USD",
        not behind,
    )
    verdicts.add(
        "no policy above the ceiling offered the queued dates",
        ", ".join(beaten) if beaten else "status ok on every case",
        not beaten,
    )
    return verdicts.report()


if __name__ == "__main__":
    raise SystemExit(main())
