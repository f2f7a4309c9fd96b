"""When a message may go out: consent, the caps per patient, and the daytime window.

The FCC's conditions for exempted healthcare calls and texts (FCC 15-72 ¶147, 2015) are: only to
the number the patient gave; name the provider and give a way to call back; one minute or
160 characters at most; no more than one message a day and three a week; an easy opt-out,
honoured at once; no marketing or billing. Calls and texts only between 8 a.m. and 9 p.m. at the
recipient's location (47 CFR 64.1200(c)(1)). radflow applies the caps and the window to every
electronic channel, counted per patient and per *notification*: one purpose (the preparation for
a visit, the reminder two days before it) that goes out on each of the patient's channels at most
once. A notification sent by email and text counts once; no channel carries two in a day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from radflow.domain.messaging.contact import Channel, ContactPreference

#: FCC 15-72 ¶147: "no more than one message per day, with a maximum of three messages … per week".
DAILY_CAP = 1
WEEKLY_CAP = 3
WEEK = timedelta(days=7)


class Purpose(StrEnum):
    """Why a message is sent; decides which rules apply."""

    PREPARATION = "preparation"  # sent with the appointment: time, place, preparation
    REMINDER = "reminder"
    CANCELLATION = "cancellation"  # the center cancelled or moved a visit: always worth saying
    REPLY = "reply"  # an answer to the patient's own message (opt-out confirmation, HELP)


#: A reply answers the patient at once (CTIA: STOP and HELP are answered immediately; FCC 24-24
#: allows one confirmation of an opt-out) and is not a notification the caps count.
_CAP_EXEMPT = frozenset({Purpose.REPLY})
#: Telling a patient the center moved or cancelled their visit must not wait for the caps.
_CAP_BYPASS = frozenset({Purpose.REPLY, Purpose.CANCELLATION})


@dataclass(frozen=True)
class SentNotification:
    """A notification that already reached the patient on some channel, and when."""

    notification: str
    sent_at: datetime


@dataclass(frozen=True)
class SendNow:
    """Deliver now."""

    reason: str = ""


@dataclass(frozen=True)
class HoldUntil:
    """Deliver later: at `at` (UTC), for `reason`."""

    at: datetime
    reason: str


@dataclass(frozen=True)
class Suppress:
    """Do not deliver; `reason` is shown on the message's line."""

    reason: str


Decision = SendNow | HoldUntil | Suppress


@dataclass(frozen=True)
class DeliveryRequest:
    """Everything the rules look at for one message on one channel."""

    channel: Channel
    purpose: Purpose
    notification: str
    now: datetime
    preference: ContactPreference
    sent: Sequence[SentNotification] = ()  # this patient's notifications already delivered
    latest_useful: datetime | None = None  # after this the message is pointless (the visit begins)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The calendar day `moment` falls on in `zone`."""
    return moment.astimezone(zone).date()


def window_start(day: date, earliest: time, zone: ZoneInfo) -> datetime:
    """The instant the daytime window opens on `day` in `zone` (correct on daylight-saving days)."""
    return datetime.combine(day, earliest, tzinfo=zone)


def next_daytime(moment: datetime, preference: ContactPreference) -> datetime:
    """`moment` if it is inside the recipient's daytime window, else when the window next opens."""
    zone = preference.zone
    local = moment.astimezone(zone)
    if preference.earliest <= local.time() < preference.latest:
        return moment
    day = local.date() if local.time() < preference.earliest else local.date() + timedelta(days=1)
    return window_start(day, preference.earliest, zone).astimezone(moment.tzinfo)


def next_within_caps(moment: datetime, preference: ContactPreference,
                     sent: Sequence[SentNotification]) -> tuple[datetime, str]:
    """The first instant at or after `moment` at which one more notification stays within the caps."""
    zone = preference.zone
    reason = ""
    for _ in range(16):  # each step moves forward; the caps are satisfied within a week
        today = local_day(moment, zone)
        if sum(1 for s in sent if local_day(s.sent_at, zone) == today) >= DAILY_CAP:
            moment = window_start(today + timedelta(days=1), preference.earliest, zone).astimezone(moment.tzinfo)
            reason = reason or "the patient already had a message today (one a day: FCC 15-72 ¶147)"
            continue
        recent = sorted(s.sent_at for s in sent if moment - WEEK < s.sent_at <= moment)
        if len(recent) >= WEEKLY_CAP:
            # The oldest of the last week's messages leaves the window one week after it went out.
            moment = recent[len(recent) - WEEKLY_CAP] + WEEK + timedelta(seconds=1)
            reason = reason or "the patient already had three messages this week (FCC 15-72 ¶147)"
            continue
        return moment, reason
    return moment, reason


def decide(request: DeliveryRequest) -> Decision:
    """Send now, hold until the patient's morning (or the caps allow), or do not send at all."""
    preference = request.preference
    if request.purpose in _CAP_EXEMPT:
        # An answer to the patient's own text goes back at once, even the one confirming an opt-out
        # (FCC 24-24 ¶¶ 18-22: one confirmation within five minutes of a revocation is allowed).
        return SendNow("reply to the patient's own message")
    if not preference.may_use(request.channel):
        found = preference.consent(request.channel)
        if found is not None and not found.is_active:
            return Suppress(f"the patient withdrew consent for {request.channel.value} "
                            f"({found.revoked_how or 'revoked'})")
        return Suppress(f"no consent on file for {request.channel.value}")
    moment, reasons = request.now, []
    already_counted = any(s.notification == request.notification for s in request.sent)
    for _ in range(16):
        start = moment
        if request.purpose not in _CAP_BYPASS and not already_counted:
            moment, why = next_within_caps(moment, preference, request.sent)
            if why and why not in reasons:
                reasons.append(why)
        if request.channel is not Channel.LETTER:
            daytime = next_daytime(moment, preference)
            if daytime != moment and "outside the patient's daytime window" not in reasons:
                reasons.append("outside the patient's daytime window (47 CFR 64.1200(c)(1))")
            moment = daytime
        if moment == start:
            break
    if request.latest_useful is not None and moment >= request.latest_useful:
        why = "; ".join(reasons) or "too late"
        return Suppress(f"not sent: it could go out only after the visit begins ({why})")
    if moment == request.now:
        return SendNow()
    return HoldUntil(moment, "; ".join(reasons))
