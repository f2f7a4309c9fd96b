"""Interval phrases in report text are normalised to days the way radflow computes due dates."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.domain.rads.assessment import months_to_days
from radflow.domain.rads.intervals import find_intervals


@pytest.mark.parametrize(
    ("text", "days", "days_max"),
    [
        ("follow-up CT in 6 months", 183, 183),
        ("repeat in 3-6 months", 91, 183),
        ("in 3 to 6 months", 91, 183),
        ("ultrasound in 6-8 weeks", 42, 56),
        ("in two weeks", 14, 14),
        ("a six-month follow-up", 183, 183),
        ("in one year", 365, 365),
        ("in 2 years", 731, 731),
        ("annual screening", 365, 365),
        ("repeat in 48 hours", 2, 2),
        ("repeat radiograph in 4 hours", 0, 0),
        ("in 10-14 days", 10, 14),
    ],
)
def test_interval_phrase_is_normalised_to_days(text: str, days: int, days_max: int) -> None:
    [interval] = find_intervals(text)
    assert (interval.days, interval.days_max) == (days, days_max)


@pytest.mark.parametrize("text", ["a patient over 35 years old", "CT chest from 6 months ago", "a 7 mm nodule",
                                  "BI-RADS 3", "the CT from 3 months prior"])
def test_ages_lookbacks_and_sizes_are_not_intervals(text: str) -> None:
    assert find_intervals(text) == []


def test_calendar_phrase_needs_a_reference_date() -> None:
    [unresolved] = find_intervals("follow-up MRI in March 2027")
    assert (unresolved.phrase, unresolved.days) == ("in March 2027", None)
    [resolved] = find_intervals("follow-up MRI in March 2027", reference=date(2026, 3, 2))
    assert resolved.days == (date(2027, 3, 1) - date(2026, 3, 2)).days


@given(st.integers(min_value=1, max_value=60))
def test_months_in_text_give_the_same_days_as_the_calculators(months: int) -> None:
    [interval] = find_intervals(f"recommend CT in {months} months")
    assert interval.days == months_to_days(months)


@given(st.integers(min_value=1, max_value=24), st.integers(min_value=0, max_value=24))
def test_a_range_gives_its_earliest_and_latest_due_day(low: int, extra: int) -> None:
    [interval] = find_intervals(f"in {low}-{low + extra} weeks")
    assert (interval.days, interval.days_max) == (7 * low, 7 * (low + extra))
