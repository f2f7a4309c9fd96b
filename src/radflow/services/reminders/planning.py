"""Planning a visit's messages whenever its appointments change, in the same transaction as the change.

The in-transaction handlers of the Appointment events (booked, rescheduled, cancelled) call
`plan_visit`: it writes the message rows and their durable jobs (the transactional outbox) —
the preparation at once on each of the patient's channels, the reminders when the schedule says,
as many as the visit's no-show risk asks for. Keys are stable, so planning twice changes nothing;
messages that no longer fit the visit (moved, cancelled, replaced by an updated plan) are
suppressed with the reason shown on the screen.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from radflow.domain.appointment import AppointmentBooked, AppointmentCancelled, AppointmentRescheduled
from radflow.domain.events import DomainEvent
from radflow.domain.ids import new_id
from radflow.domain.jobs import Job
from radflow.domain.messaging.contact import Channel, ContactPreference
from radflow.domain.messaging.message import REACHED, Message, MessageEvent, MessageState
from radflow.domain.messaging.rules import Purpose, SentNotification
from radflow.domain.noshow import NoShowFeatures, NoShowModel
from radflow.domain.patient import Patient
from radflow.services.preparation import Visit, find_visit, site_zone
from radflow.services.reminders.ports import MessagingRepository, MessagingTools, messaging
from radflow.services.unit_of_work import UnitOfWork

#: The job kind that delivers one message.
SEND_MESSAGE = "patient_message"
#: Who cancels when a patient's reply cancels (the cancellation notice is then not sent: they know).
REPLY_ACTOR = "system:messaging-reply"


def default_preference(patient: Patient, *, zone: ZoneInfo, at: datetime) -> ContactPreference:
    """A new patient's preference: consent for the contact points they gave us, texts first."""
    preference = ContactPreference(patient_id=patient.id, timezone=zone.key, created_at=at)
    if patient.phone:
        # FCC 15-72 ¶141 (2015): giving a provider one's number is prior express consent to healthcare
        # calls and texts to that number.
        how = "phone number given by the patient (FCC 15-72 ¶141)"
        preference.grant(Channel.SMS, patient.phone, how=how, at=at)
        preference.grant(Channel.VOICE, patient.phone, how=how, at=at)
    if patient.email:
        preference.grant(Channel.EMAIL, patient.email, how="email address given by the patient", at=at)
    if patient.address_line:
        address = ", ".join(p for p in (patient.address_line, patient.city, patient.state, patient.postal_code) if p)
        preference.grant(Channel.LETTER, address, how="postal address on the patient record", at=at)
    return preference


def ensure_preference(uow: UnitOfWork, patient: Patient, *, zone: ZoneInfo, at: datetime) -> ContactPreference:
    """The patient's preference, created from their record on first use."""
    repo = messaging(uow)
    found = repo.preference(patient.id)
    if found is None:
        found = default_preference(patient, zone=zone, at=at)
        repo.add_preference(found)
    return found


def preparation_channels(preference: ContactPreference) -> list[Channel]:
    """Where the preparation goes: email (with .ics and the letter as PDF) and a text; a posted letter
    when there is no email, or when the patient put letters before email."""
    usable = preference.usable_channels()
    chosen: list[Channel] = [c for c in (Channel.EMAIL, Channel.SMS) if c in usable]
    if Channel.LETTER in usable and (Channel.EMAIL not in usable
                                     or usable.index(Channel.LETTER) < usable.index(Channel.EMAIL)):
        chosen.append(Channel.LETTER)
    return chosen or [Channel.LETTER]  # no way to reach the patient: the suppressed line says so


def reminder_channel(preference: ContactPreference) -> Channel:
    """The patient's first choice among texts and email (a reminder goes out once, where they prefer)."""
    for channel in preference.usable_channels():
        if channel in (Channel.SMS, Channel.EMAIL):
            return channel
    return Channel.SMS


def current_model(uow: UnitOfWork, tools: MessagingTools) -> NoShowModel:
    """The newest model fitted on this center's history, else the shipped one."""
    document = messaging(uow).current_model()
    return NoShowModel.from_json(document) if document else tools.default_model()


def visit_risk(uow: UnitOfWork, tools: MessagingTools, visit: Visit, *, at: datetime) -> float:
    """The predicted no-show probability of the visit (its riskiest exam), booked at `at`."""
    model = current_model(uow, tools)
    visits, missed = messaging(uow).attendance(visit.patient_id, before=at)
    return max(model.probability(NoShowFeatures.of(booked_at=at, start=exam.start, modality=exam.modality,
                                                   zone=visit.zone, prior_no_shows=missed, prior_visits=visits))
               for exam in visit.exams)


def add_job(uow: UnitOfWork, key: str, payload: dict[str, Any], *, due_at: datetime, now: datetime) -> bool:
    """Write a message job in this transaction (idempotent on its key)."""
    return uow.jobs.add(Job(id=new_id(), kind=SEND_MESSAGE, key=key, payload=payload, due_at=due_at,
                            created_at=now, max_attempts=10))


def plan_message(uow: UnitOfWork, *, patient_id: str, notification: str, channel: Channel, purpose: Purpose,
                 due: datetime, now: datetime, visit_date: str, timezone: str, appointment_ids: list[str],
                 order_ids: list[str], detail: str = "", extra: dict[str, Any] | None = None) -> Message:
    """The message for this notification and channel: the one planned before, or a new one with its job."""
    repo = messaging(uow)
    key = f"{notification}.{channel.value}"
    for attempt in range(1, 20):
        found = repo.message_by_key(key)
        if found is None:
            break
        if found.state is not MessageState.SUPPRESSED:
            return found
        key = f"{notification}.{channel.value}.r{attempt}"  # wanted again after it was suppressed
    message = Message(id=new_id(), key=key, patient_id=patient_id, channel=channel, purpose=purpose,
                      notification=notification, planned_for=due, created_at=now, appointment_ids=appointment_ids,
                      order_ids=order_ids, visit_date=visit_date, detail=detail,
                      history=[{"at": now.isoformat(), "state": "planned", "detail": detail}])
    repo.add_message(message)
    add_job(uow, key, {"message_key": key, "timezone": timezone, **(extra or {})}, due_at=max(due, now), now=now)
    return message


def suppress_open(messages: list[Message], *, at: datetime, reason: str, purposes: frozenset[Purpose]) -> int:
    """Suppress the open messages of these purposes; returns how many."""
    count = 0
    for message in messages:
        if message.is_open and message.purpose in purposes:
            message.apply(MessageEvent.SUPPRESS, at=at, detail=reason)
            count += 1
    return count


_VISIT_PURPOSES = frozenset({Purpose.PREPARATION, Purpose.REMINDER})


def plan_visit(uow: UnitOfWork, tools: MessagingTools, patient_id: str, day: date, zone: ZoneInfo, *,
               now: datetime) -> Visit | None:
    """Bring a visit day's messages in line with its booked appointments."""
    repo = messaging(uow)
    existing = repo.messages_for_visit(patient_id, day.isoformat())
    visit = find_visit(uow, patient_id, day, zone)
    if visit is None:
        suppress_open(existing, at=now, reason="no booked appointment on this day any more",
                      purposes=_VISIT_PURPOSES)
        return None
    patient = uow.patients.get(patient_id)
    preference = ensure_preference(uow, patient, zone=zone, at=now)
    common: dict[str, Any] = {"patient_id": patient_id, "now": now, "visit_date": day.isoformat(),
                              "timezone": zone.key, "appointment_ids": visit.appointment_ids,
                              "order_ids": visit.order_ids}
    notification = f"prep.{patient_id}.{day.isoformat()}.{visit.digest()}"
    suppress_open([m for m in existing if m.notification != notification], at=now,
                  reason="replaced by the updated preparation for this visit",
                  purposes=frozenset({Purpose.PREPARATION}))
    for channel in preparation_channels(preference):
        plan_message(uow, notification=notification, channel=channel, purpose=Purpose.PREPARATION, due=now,
                     **common)
    risk = visit_risk(uow, tools, visit, at=now)
    intensity = tools.policy.intensity_for(risk)
    detail = f"no-show risk {risk:.0%}: {intensity.value} intensity"
    primary = reminder_channel(preference)
    for planned in tools.policy.plan(day, visit.modalities, intensity, zone=preference.zone, after=now):
        channels = [primary]
        if planned.step.voice and preference.may_use(Channel.VOICE):
            channels.append(Channel.VOICE)
        for channel in channels:
            plan_message(uow, notification=f"rem.{patient_id}.{day.isoformat()}.{planned.step.name}",
                         channel=channel, purpose=Purpose.REMINDER, due=planned.due_at, detail=detail, **common)
    return visit


def _plan_cancellation_notice(uow: UnitOfWork, event: AppointmentCancelled, day: date, zone: ZoneInfo) -> None:
    """Tell the patient the center cancelled a visit they had been told about (not when they cancelled)."""
    if event.by == REPLY_ACTOR:
        return
    repo = messaging(uow)
    told = [m for m in repo.messages_for_visit(event.patient_id, day.isoformat())
            if m.state in REACHED and m.purpose in _VISIT_PURPOSES]
    preference = repo.preference(event.patient_id)
    if not told or preference is None:
        return
    plan_message(uow, patient_id=event.patient_id, notification=f"cancel.{event.patient_id}.{event.appointment_id}",
                 channel=reminder_channel(preference), purpose=Purpose.CANCELLATION, due=event.at, now=event.at,
                 visit_date=day.isoformat(), timezone=zone.key, appointment_ids=[event.appointment_id],
                 order_ids=[event.order_id], extra={"start": event.start.isoformat()})


def on_appointment_event(event: DomainEvent, uow: UnitOfWork, tools: MessagingTools) -> None:
    """In-transaction handler of AppointmentBooked / Rescheduled / Cancelled: re-plan the days concerned."""
    if not isinstance(event, (AppointmentBooked, AppointmentRescheduled, AppointmentCancelled)):
        return
    zone = site_zone(uow, event.site_id)
    day = event.start.astimezone(zone).date()
    plan_visit(uow, tools, event.patient_id, day, zone, now=event.at)
    if isinstance(event, AppointmentRescheduled):
        old_zone = site_zone(uow, event.previous_site_id)
        old_day = event.previous_start.astimezone(old_zone).date()
        if (old_day, old_zone) != (day, zone):
            plan_visit(uow, tools, event.patient_id, old_day, old_zone, now=event.at)
    if isinstance(event, AppointmentCancelled) and find_visit(uow, event.patient_id, day, zone) is None:
        _plan_cancellation_notice(uow, event, day, zone)


def sent_since(repo: MessagingRepository, patient_id: str, now: datetime) -> list[SentNotification]:
    """The patient's notifications of the last eight days (enough for the weekly cap)."""
    return list(repo.sent_notifications(patient_id, now - timedelta(days=8)))
