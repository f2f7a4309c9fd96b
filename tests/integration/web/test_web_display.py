"""How screens write ages, targets and times, and which menu entries they show (pure functions)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radflow.domain.policy import Action
from radflow.domain.users import Principal, Role
from radflow.entrypoints.web.areas import FOUNDATION_AREAS, area_names
from radflow.entrypoints.web.display import format_age, format_due, format_local, format_size, state_label
from radflow.entrypoints.web.navigation import NavItem, menu_for, safe_next

NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(("span", "text"), [
    (timedelta(days=3, hours=4, minutes=59), "3 d 4 h"),
    (timedelta(hours=5, minutes=12), "5 h 12 min"),
    (timedelta(minutes=7, seconds=59), "7 min"),
    (timedelta(0), "0 min"),
    (timedelta(days=1), "1 d 0 h"),
])
def test_ages_read_as_days_and_hours(span: timedelta, text: str) -> None:
    assert format_age(span) == text


@settings(deadline=None)  # a loaded CI machine must not turn slowness into a failure
@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650)))
def test_an_age_never_overstates_the_wait_and_is_off_by_less_than_its_last_unit(span: timedelta) -> None:
    text = format_age(span)
    if match := re.fullmatch(r"(\d+) d (\d+) h", text):
        shown, unit = timedelta(days=int(match[1]), hours=int(match[2])), timedelta(hours=1)
    elif match := re.fullmatch(r"(\d+) h (\d+) min", text):
        shown, unit = timedelta(hours=int(match[1]), minutes=int(match[2])), timedelta(minutes=1)
    else:
        match = re.fullmatch(r"(\d+) min", text)
        assert match, text
        shown, unit = timedelta(minutes=int(match[1])), timedelta(minutes=1)
    assert shown <= span < shown + unit


def test_a_negative_span_reads_as_zero() -> None:
    assert format_age(timedelta(minutes=-5)) == "0 min"


def test_target_reads_as_time_left_or_overdue() -> None:
    now = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert format_due(now + timedelta(days=2, hours=3), now) == "due in 2 d 3 h"
    assert format_due(now - timedelta(hours=5), now) == "overdue by 5 h 0 min"


def test_times_follow_daylight_saving_in_the_centers_zone() -> None:
    assert format_local(datetime(2026, 3, 7, 14, 0, tzinfo=UTC), NEW_YORK) == "2026-03-07 09:00 EST"
    assert format_local(datetime(2026, 3, 9, 14, 0, tzinfo=UTC), NEW_YORK) == "2026-03-09 10:00 EDT"
    assert format_local(None, NEW_YORK) == ""


def test_sizes_and_state_names_read_as_words() -> None:
    assert format_size(812) == "812 bytes" and format_size(14_540) == "14.2 KB"
    assert state_label("awaiting_documentation") == "Awaiting documentation"


@settings(deadline=None)
@given(st.text())
def test_only_paths_on_this_site_are_accepted_as_where_to_go_after_sign_in(target: str) -> None:
    accepted = safe_next(target)
    if accepted is not None:
        assert accepted.startswith("/") and not accepted.startswith("//") and "\\" not in accepted


def test_a_later_areas_menu_entries_follow_the_foundations_for_the_roles_that_may_use_them() -> None:
    worklist = NavItem("Reading worklist", "/reading", (Action.QUEUE_PROTOCOL,))
    radiologist = Principal(user_id="u1", username="rad", role=Role.RADIOLOGIST)
    intake = Principal(user_id="u2", username="ida", role=Role.INTAKE)
    assert [item.label for item in menu_for(radiologist, (worklist,))][-1] == "Reading worklist"
    assert "Reading worklist" not in [item.label for item in menu_for(intake, (worklist,))]


def test_the_foundations_areas_come_first_in_the_menu_order() -> None:
    names = area_names()
    assert names[: len(FOUNDATION_AREAS)] == list(FOUNDATION_AREAS)
