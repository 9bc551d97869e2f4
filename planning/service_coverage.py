"""What a Savings Plan covers by service, in words (issue 18 item 4: explanations by service).

A Compute Savings Plan covers EC2, Fargate and Lambda usage, a Database Savings Plan RDS and
ElastiCache usage. When a recommended plan covers more than one service over the lookback, its
explanation says how the on-demand value it covers splits between them ("by service, Lambda
47%, Fargate 31%, EC2 22% of what it covers over the lookback"), from the
lookback billed with the plan (:func:`billing.ledger.with_services`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import pandas as pd

from billing.ledger import with_services
from billing.simulator import SimulationResult
from pricing.compute_keys import FARGATE, LAMBDA, SAGEMAKER
from pricing.databases import ELASTICACHE, RDS
from pricing.inventory import Commitment
from pricing.offerings import CommitmentKind
from pricing.services import EC2

SHORT_SERVICE_NAMES: Final[dict[str, str]] = {
    EC2: "EC2",
    FARGATE: "Fargate",
    LAMBDA: "Lambda",
    SAGEMAKER: "SageMaker",
    RDS: "RDS",
    ELASTICACHE: "ElastiCache",
}
"""How a sentence names each service."""


def service_coverage_sentences(
    purchases: Sequence[Commitment], with_plan: SimulationResult
) -> dict[str, str]:
    """Purchase id -> the split of what it covers by service, for Savings Plans covering more
    than one service over the billed period; purchases covering one service are left out."""
    plans = {p.id for p in purchases if p.kind != CommitmentKind.RESERVED_INSTANCE}
    if not plans:
        return {}
    ledger = with_plan.ledger
    covered = ledger.loc[
        ledger["instrument"].astype(str).isin(plans) & (ledger["on_demand_cost_usd"].to_numpy() > 0)
    ]
    if covered.empty:
        return {}
    table = (
        with_services(covered)
        .groupby(["instrument", "service"], observed=True)["on_demand_cost_usd"]
        .sum()
        .reset_index()
    )
    sentences: dict[str, str] = {}
    for instrument, rows in table.groupby("instrument", observed=True):
        if len(rows) < 2:
            continue
        total = float(rows["on_demand_cost_usd"].sum())
        parts = [
            f"{SHORT_SERVICE_NAMES.get(str(service), str(service))} "
            f"{100.0 * float(value) / total:.0f}%"
            for service, value in sorted(
                zip(rows["service"], rows["on_demand_cost_usd"], strict=True),
                key=lambda item: -float(item[1]),
            )
        ]
        sentences[str(instrument)] = (
            f"by service, {', '.join(parts)} of what it covers over the lookback"
        )
    return sentences


def annotate_services(explanations: pd.DataFrame, sentences: dict[str, str]) -> pd.DataFrame:
    """The explanation rows with each service split appended, and a ``services`` column."""
    if not sentences or explanations.empty:
        return explanations
    table = explanations.copy()
    extra = table["id"].astype(str).map(sentences)
    has = extra.notna()
    table.loc[has, "explanation"] = (
        table.loc[has, "explanation"].astype(str).str.rstrip(".") + "; " + extra[has] + "."
    )
    table["services"] = extra.fillna("")
    return table


__all__ = ["SHORT_SERVICE_NAMES", "annotate_services", "service_coverage_sentences"]
