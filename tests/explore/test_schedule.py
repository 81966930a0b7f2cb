"""Schedules: one versioned string form that round-trips and replays exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pagerace.errors import PageraceInputError
from pagerace.explore import Schedule


@given(st.lists(st.integers(min_value=0, max_value=7), max_size=200))
def test_a_schedule_round_trips_through_its_string_form(steps: list[int]) -> None:
    schedule = Schedule(tuple(steps))
    text = str(schedule)
    assert text.startswith("v1:")
    assert Schedule.parse(text) == schedule


def test_runs_are_run_length_encoded() -> None:
    assert str(Schedule((0, 0, 0, 1, 1, 0))) == "v1:0x3.1x2.0"
    assert str(Schedule(())) == "v1:"


def test_a_hand_written_schedule_need_not_be_canonical() -> None:
    # (a count of 1, a thread's run written in two parts: what str() would not write)
    assert Schedule.parse("v1:0x1.0.1x2.1") == Schedule((0, 0, 1, 1, 1))
    assert str(Schedule.parse("v1:0x1.0.1x2.1")) == "v1:0x2.1x3"
    with pytest.raises(PageraceInputError, match=r"count 1\.\.99,999,999"):
        Schedule.parse("v1:0x0")


@pytest.mark.parametrize(
    "text", ["", "0.1", "v2:0", "v1:8", "v1:0x0", "v1:0x", "v1:a", "v1:0..1", "v1:01"]
)
def test_a_malformed_schedule_string_is_an_input_error_naming_schedule(text: str) -> None:
    with pytest.raises(PageraceInputError, match="schedule"):
        Schedule.parse(text)
