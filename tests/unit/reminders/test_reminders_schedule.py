"""The reminder schedule as data: validated at load, intensity by risk, due at the patient's local time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from radflow.domain.errors import ValidationError
from radflow.domain.reminders import Intensity, parse_reminder_policy
from radflow.wiring.reminders import REMINDER_SCHEDULE, load_reminder_policy

NY = ZoneInfo("America/New_York")


def shipped() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(REMINDER_SCHEDULE.read_text())
    return document


def test_the_shipped_schedule_loads_and_every_entry_cites_a_source() -> None:
    policy = load_reminder_policy()
    assert all(s.source for s in policy.schedules) and policy.default.source
    assert policy.send_time == time(10, 0)


def test_intensity_rises_with_the_predicted_no_show_probability() -> None:
    policy = load_reminder_policy()
    assert [policy.intensity_for(p) for p in (0.01, 0.05, 0.3)] == [Intensity.LOW, Intensity.STANDARD,
                                                                    Intensity.HIGH]
    with pytest.raises(ValueError, match="between 0 and 1"):
        policy.intensity_for(1.5)


def test_a_high_risk_mri_gets_seven_two_and_one_day_reminders_and_a_call_a_low_risk_one_only_two_days() -> None:
    policy = load_reminder_policy()
    high = policy.steps_for(["MR"], Intensity.HIGH)
    assert [(s.days_before, s.voice) for s in high] == [(7, False), (2, False), (1, True)]
    assert [s.days_before for s in policy.steps_for(["MR"], Intensity.LOW)] == [2]


def test_a_visit_with_several_modalities_gets_each_reminder_day_once() -> None:
    policy = load_reminder_policy()
    days = [s.days_before for s in policy.steps_for(["MG", "US", "DX"], Intensity.STANDARD)]
    assert days == sorted(set(days), reverse=True) == [7, 2]


def test_reminders_are_due_at_ten_local_on_both_sides_of_the_daylight_saving_change() -> None:
    policy = load_reminder_policy()
    # A visit on Tuesday 10 March 2026; clocks went forward on Sunday 8 March.
    planned = policy.plan(date(2026, 3, 10), ["MR"], Intensity.HIGH, zone=NY,
                          after=datetime(2026, 3, 1, 12, tzinfo=UTC))
    assert [p.due_at.astimezone(NY).time() for p in planned] == [time(10, 0)] * 3
    assert [p.due_at.hour for p in planned] == [15, 14, 14]  # EST (UTC-5) on 3 March, EDT (UTC-4) after


def test_reminders_already_past_when_booked_are_not_planned() -> None:
    policy = load_reminder_policy()
    planned = policy.plan(date(2026, 3, 10), ["MR"], Intensity.HIGH, zone=NY,
                          after=datetime(2026, 3, 8, 20, tzinfo=UTC))
    assert [p.step.days_before for p in planned] == [1]


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(send_time="07:00"), "between 08:00 and 21:00"),
    (lambda d: d.update(send_time="ten"), "is not a time like 10:00"),
    (lambda d: d["schedules"][0].pop("source"), "cites its source"),
    (lambda d: d["schedules"][0]["reminders"][0].update(days_before=0), "days_before must be"),
    (lambda d: d["schedules"][0]["reminders"][0].update(intensities=["extreme"]), "may only name low"),
    (lambda d: d["schedules"][1].update(modalities=["MR"]), "exactly one schedule"),
    (lambda d: d["schedules"][0].update(modalities=["XR"]), "DICOM modality codes"),
    (lambda d: d["intensity"][1].update(below=0.01), "thresholds must increase"),
    (lambda d: d["schedules"].pop(), "modalities [default]"),
    (lambda d: d["schedules"][0]["reminders"][0].update(hours_before=3), "unknown field"),
])
def test_a_mistake_in_the_schedule_is_refused_with_where_it_is(change: Any, message: str) -> None:
    document = shipped()
    change(document)
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_reminder_policy(document)
