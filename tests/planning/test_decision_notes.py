"""The explanation of a decision on the futures: the risen keys a purchase rests on, and why its
last unit loses on the lookback."""

from __future__ import annotations

import pandas as pd

from planning.decision_notes import MAX_RISEN_NAMED, annotate_futures_basis


def _row(kind: str, marginal: float, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "rec-1",
        "kind": kind,
        "region": "us-east-1",
        "instance_family": "m4",
        "instance_type": "m4.large",
        "platform": "Linux/UNIX",
        "tenancy": "Shared",
        "unit": "usd_per_hour",
        "marginal_savings_usd_per_unit": marginal,
        "explanation": "Commits.",
    }
    return {**base, **fields}


def _keys(last: str, *rows: tuple[str, str, float, float]) -> pd.DataFrame:
    """Keys of account 111111111111 (Linux, shared): region, type, recent level and ``last``."""
    return pd.DataFrame(
        [
            {
                "account_id": "111111111111",
                "region": region,
                "instance_type": instance_type,
                "platform": "Linux/UNIX",
                "tenancy": "Shared",
                "recent_level": recent,
                last: value,
            }
            for region, instance_type, recent, value in rows
        ]
    )


def _risen(*rows: tuple[str, str, float, float]) -> pd.DataFrame:
    return _keys("older_level", *rows)


def test_a_purchase_resting_on_a_risen_key_names_it_and_explains_its_lookback_loss() -> None:
    explanations = pd.DataFrame(
        [
            _row("ec2_instance_savings_plan", -617.3145),
            _row(
                "reserved_instance",
                12.5,
                instance_family="c4",
                instance_type="c4.large",
                unit="instances",
                id="rec-2",
            ),
        ]
    )
    risen = _risen(("us-east-1", "m4.xlarge", 10.0, 4.0), ("eu-west-1", "m4.large", 6.0, 0.0))
    sentences = annotate_futures_basis(explanations, risen)["explanation"].tolist()
    assert sentences[0] == (
        "Commits. It rests partly on m4.xlarge us-east-1 (account 111111111111) usage that rose "
        "to 2.5 times its earlier level over the last 14 days; the decision counted it at that "
        "level. On the lookback as it ran, its last unit would have lowered the savings by "
        "617.31 USD per USD/h of commitment: it is sized for the futures, and the lookback still "
        "holds the weeks before the rise."
    )
    assert sentences[1] == "Commits."  # c4.large is not in scope, and its last unit saves


def test_a_key_at_its_new_level_for_weeks_is_said_to_have_risen_then() -> None:
    risen = _risen(("us-east-1", "m4.xlarge", 15.0, 10.0)).assign(days_at_level=42.0)
    explanations = pd.DataFrame([_row("compute_savings_plan", 5.0)])
    (sentence,) = annotate_futures_basis(explanations, risen)["explanation"]
    assert sentence == (
        "Commits. It rests partly on m4.xlarge us-east-1 (account 111111111111) usage that rose "
        "to 1.5 times its earlier level 6 weeks ago and has held there since; the decision "
        "counted it at that level."
    )


def test_a_lookback_loss_without_a_risen_key_points_to_the_futures() -> None:
    explanations = pd.DataFrame(
        [_row("reserved_instance", -40.0, unit="instances"), _row("compute_savings_plan", 0.0)]
    )
    sentences = annotate_futures_basis(explanations, None)["explanation"].tolist()
    assert sentences[0] == (
        "Commits. On the lookback as it ran, its last unit would have lowered the savings by "
        "40.00 USD per RI: it is sized for the futures, and the futures' levels, migrations and "
        "exits are not the lookback's."
    )
    assert sentences[1] == "Commits."


def test_a_compute_savings_plan_names_the_largest_risen_keys_and_counts_the_rest() -> None:
    keys = [
        ("us-east-1", f"c5.{size}", float(level), 1.0)
        for size, level in (
            ("large", 2),
            ("xlarge", 8),
            ("2xlarge", 5),
            ("4xlarge", 3),
            ("9xlarge", 1),
        )
    ]
    explanations = pd.DataFrame([_row("compute_savings_plan", 5.0)])
    (sentence,) = annotate_futures_basis(explanations, _risen(*keys))["explanation"]
    named = [f"c5.{size} us-east-1" for size in ("xlarge", "2xlarge", "4xlarge")]
    assert len(named) == MAX_RISEN_NAMED
    positions = [sentence.index(name) for name in named]
    assert positions == sorted(positions)  # largest first
    assert "c5.large us-east-1" not in sentence
    assert "and 2 more keys' usage that rose the same way;" in sentence
    assert sentence.endswith("the decision counted them at those levels.")


def test_a_purchase_bought_ahead_of_growth_names_the_key_and_how_far() -> None:
    explanations = pd.DataFrame(
        [
            _row("ec2_instance_savings_plan", -2184.0),
            _row("reserved_instance", 5.0, instance_family="c4", instance_type="c4.large",
                 unit="instances", id="rec-2"),
        ]
    )  # fmt: skip
    growing = _keys(
        "growth_pct_per_week",
        ("us-east-1", "m4.large", 105.0, 0.69),
        ("eu-west-1", "m4.xlarge", 8.0, 1.2),
    )
    once, monthly = (
        annotate_futures_basis(explanations, None, growing, ahead)["explanation"].tolist()
        for ahead in (None, 720.0)
    )
    assert once[0] == (
        "Commits. It rests partly on m4.large us-east-1 (account 111111111111) usage growing "
        "0.7 % a week; the decision bought ahead of that growth, for as long as it is likely to "
        "last. On the lookback as it ran, its last unit would have lowered the savings by "
        "2,184.00 USD per USD/h of commitment: it is sized for the futures, and the futures "
        "count the growth to come, the lookback only the weeks before it."
    )
    assert (
        monthly[0].replace(
            "up to the next review, in 30 days", "for as long as it is likely to last"
        )
        == once[0]
    )
    assert once[1] == monthly[1] == "Commits."  # c4 in us-east-1: no growing key in its scope
    assert annotate_futures_basis(explanations, None)["explanation"].tolist()[1] == "Commits."
