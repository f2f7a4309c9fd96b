"""When a message may go out: consent, the patient's daytime window, one a day and three a week."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radflow.domain.errors import ValidationError
from radflow.domain.messaging import (
    Channel,
    ContactPreference,
    DeliveryRequest,
    HoldUntil,
    Purpose,
    SendNow,
    SentNotification,
    Suppress,
    decide,
)

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def preference(zone: str = "America/New_York", **extra: object) -> ContactPreference:
    found = ContactPreference(patient_id="p1", timezone=zone, created_at=T0, **extra)  # type: ignore[arg-type]
    found.grant(Channel.SMS, "(555) 010-1234", how="given at registration", at=T0)
    found.grant(Channel.EMAIL, "Jo@Example.org", how="given at registration", at=T0)
    return found


def local(moment: datetime, zone: ZoneInfo = NY) -> datetime:
    return moment.astimezone(zone)


def request(now: datetime, pref: ContactPreference | None = None, *, sent: tuple[SentNotification, ...] = (),
            channel: Channel = Channel.SMS, purpose: Purpose = Purpose.REMINDER, notification: str = "rem.x.d2",
            latest: datetime | None = None) -> DeliveryRequest:
    return DeliveryRequest(channel=channel, purpose=purpose, notification=notification, now=now,
                           preference=pref or preference(), sent=sent, latest_useful=latest)


def test_a_text_due_at_ten_in_the_evening_waits_for_eight_the_next_morning() -> None:
    now = datetime(2026, 3, 3, 22, 0, tzinfo=NY)
    decision = decide(request(now.astimezone(UTC)))
    assert isinstance(decision, HoldUntil)
    assert local(decision.at) == datetime(2026, 3, 4, 8, 0, tzinfo=NY)
    assert "daytime window" in decision.reason


def test_the_window_is_the_recipients_own_zone_not_the_centers() -> None:
    # 07:30 in Los Angeles is 10:30 in New York: the center is open, the patient still asleep.
    now = datetime(2026, 3, 3, 7, 30, tzinfo=LA).astimezone(UTC)
    decision = decide(request(now, preference("America/Los_Angeles")))
    assert isinstance(decision, HoldUntil) and local(decision.at, LA) == datetime(2026, 3, 3, 8, 0, tzinfo=LA)


def test_a_hold_across_the_spring_daylight_saving_change_lands_at_eight_local() -> None:
    # Saturday 7 March 2026 23:00 EST; clocks go forward at 02:00 on Sunday 8 March.
    now = datetime(2026, 3, 7, 23, 0, tzinfo=NY).astimezone(UTC)
    decision = decide(request(now))
    assert isinstance(decision, HoldUntil)
    assert decision.at == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT is UTC-4
    assert local(decision.at).utcoffset() == timedelta(hours=-4)


def test_a_second_notification_on_the_same_day_waits_for_the_next_morning() -> None:
    now = datetime(2026, 3, 3, 15, 0, tzinfo=NY).astimezone(UTC)
    sent = (SentNotification("prep.x", now - timedelta(hours=3)),)
    decision = decide(request(now, sent=sent))
    assert isinstance(decision, HoldUntil) and local(decision.at) == datetime(2026, 3, 4, 8, 0, tzinfo=NY)
    assert "one a day" in decision.reason


def test_the_same_notification_on_a_second_channel_is_not_a_second_message() -> None:
    now = datetime(2026, 3, 3, 15, 0, tzinfo=NY).astimezone(UTC)
    sent = (SentNotification("rem.x.d2", now - timedelta(minutes=1)),)
    assert isinstance(decide(request(now, sent=sent, channel=Channel.EMAIL)), SendNow)


def test_a_fourth_notification_in_seven_days_waits_until_the_oldest_leaves_the_week() -> None:
    now = datetime(2026, 3, 6, 10, 0, tzinfo=NY).astimezone(UTC)
    sent = tuple(SentNotification(f"n{d}", now - timedelta(days=d)) for d in (1, 2, 3))
    decision = decide(request(now, sent=sent))
    assert isinstance(decision, HoldUntil)
    assert decision.at > now - timedelta(days=3) + timedelta(days=7)
    assert "three messages this week" in decision.reason


def test_a_message_that_could_only_go_after_the_visit_begins_is_not_sent() -> None:
    now = datetime(2026, 3, 3, 22, 0, tzinfo=NY).astimezone(UTC)
    visit = datetime(2026, 3, 4, 7, 30, tzinfo=NY).astimezone(UTC)
    decision = decide(request(now, latest=visit))
    assert isinstance(decision, Suppress) and "after the visit begins" in decision.reason


def test_a_revoked_channel_is_never_used_and_says_how_it_was_revoked() -> None:
    pref = preference()
    pref.revoke(frozenset({Channel.SMS}), how="replied STOP", by="gateway", at=T0)
    decision = decide(request(T0 + timedelta(hours=3), pref))
    assert isinstance(decision, Suppress) and "replied STOP" in decision.reason
    assert isinstance(decide(request(T0 + timedelta(hours=3), pref, channel=Channel.EMAIL)), SendNow)


def test_no_consent_no_message() -> None:
    decision = decide(request(T0 + timedelta(hours=3), channel=Channel.VOICE))
    assert isinstance(decision, Suppress) and "no consent" in decision.reason


def test_a_reply_to_the_patients_own_text_goes_at_once_even_at_night_and_after_stop() -> None:
    pref = preference()
    pref.revoke(frozenset({Channel.SMS}), how="replied STOP", by="gateway", at=T0)
    night = datetime(2026, 3, 3, 23, 30, tzinfo=NY).astimezone(UTC)
    assert isinstance(decide(request(night, pref, purpose=Purpose.REPLY)), SendNow)


def test_a_window_outside_the_tcpa_hours_is_refused() -> None:
    with pytest.raises(ValidationError, match="between 08:00 and 21:00"):
        preference(earliest=time(7, 0))
    with pytest.raises(ValidationError, match="unknown timezone"):
        preference("Mars/Olympus")


def test_phone_numbers_are_kept_in_e164_and_email_in_lower_case() -> None:
    pref = preference()
    assert pref.address_for(Channel.SMS) == "+15550101234"
    assert pref.address_for(Channel.EMAIL) == "jo@example.org"


zones = st.sampled_from(["America/New_York", "America/Los_Angeles", "Europe/Berlin", "Australia/Sydney",
                         "America/Phoenix"])
instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31),
                        timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(now=instants, zone=zones, offsets=st.lists(st.integers(min_value=1, max_value=60 * 24 * 9), max_size=6),
       start_hour=st.integers(8, 12), end_hour=st.integers(13, 21))
def test_whatever_the_history_a_message_goes_out_only_in_the_window_and_within_the_caps(
        now: datetime, zone: str, offsets: list[int], start_hour: int, end_hour: int) -> None:
    pref = preference(zone, earliest=time(start_hour), latest=time(end_hour))
    sent = tuple(SentNotification(f"n{i}", now - timedelta(minutes=m)) for i, m in enumerate(offsets))
    decision = decide(request(now, pref, sent=sent))
    assert not isinstance(decision, Suppress)
    at = now if isinstance(decision, SendNow) else decision.at
    assert at >= now
    local_at = at.astimezone(ZoneInfo(zone))
    assert time(start_hour) <= local_at.time() < time(end_hour)
    same_day = [s for s in sent if s.sent_at.astimezone(ZoneInfo(zone)).date() == local_at.date()]
    assert not same_day
    assert sum(1 for s in sent if at - timedelta(days=7) < s.sent_at <= at) < 3
