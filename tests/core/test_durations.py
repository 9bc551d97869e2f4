"""The one duration grammar: lengths of time, and calendar steps written the same way."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.durations import CALENDAR_UNITS, parse_calendar_step, parse_duration, parse_hours
from core.errors import CommitoptInputError


@pytest.mark.parametrize(
    ("text", "hours"),
    [("720h", 720.0), ("30d", 720.0), ("30", 720.0), ("2w", 336.0), ("3mo", 2190.0),
     ("3m", 2190.0), ("1y", 8760.0), (" 1.5d ", 36.0)],
)  # fmt: skip
def test_durations_in_hours(text: str, hours: float) -> None:
    assert parse_hours(text) == pytest.approx(hours)
    assert parse_duration(text, "horizon_hours").text == text


@pytest.mark.parametrize(
    ("text", "step"),
    [("14d", (14, "d")), ("14", (14, "d")), ("2w", (2, "w")), ("1mo", (1, "mo")),
     ("3m", (3, "mo")), ("1y", (12, "mo")), ("2Y", (24, "mo"))],
)  # fmt: skip
def test_calendar_steps_share_the_spelling(text: str, step: tuple[int, str]) -> None:
    assert parse_calendar_step(text, "review_every") == step


@pytest.mark.parametrize("text", ["0mo", "1.5w", "720h", "monthly", "", "-1d"])
def test_what_is_no_calendar_step_names_the_parameter(text: str) -> None:
    with pytest.raises(CommitoptInputError, match=r"`review_every` .* is not a calendar step"):
        parse_calendar_step(text, "review_every")


@given(count=st.integers(1, 500), unit=st.sampled_from(["d", "w", "mo", "m", "y"]))
def test_every_whole_step_parses_to_a_calendar_unit(count: int, unit: str) -> None:
    parsed_count, parsed_unit = parse_calendar_step(f"{count}{unit}", "review_every")
    assert parsed_unit in CALENDAR_UNITS
    assert parsed_count == (12 * count if unit == "y" else count)
    # the same text is a duration too, of about the same length
    days = {"d": 1, "w": 7, "mo": 730 / 24}[parsed_unit] * parsed_count
    assert parse_hours(f"{count}{unit}") / 24 == pytest.approx(days)
