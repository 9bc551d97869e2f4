"""The report says how the purchases were decided: the decision's own notes, parameters named."""

from __future__ import annotations

from commitopt.report.data import _decision_notes


def test_the_decisions_notes_reach_the_report_with_plain_parameter_names() -> None:
    decided_on = {
        "basis": "lookback",
        "notes": [
            "decided on the lookback: it has fewer than 2 whole weeks of usage",
            "below `min_increment_pct` 2 %: within the decision's own noise",
        ],
    }
    assert _decision_notes(decided_on) == (
        "decided on the lookback: it has fewer than 2 whole weeks of usage",
        "below min_increment_pct 2 %: within the decision's own noise",
    )
    assert _decision_notes(None) == ()
    assert _decision_notes({"basis": "forecast"}) == ()
