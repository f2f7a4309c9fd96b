"""Delivering one message: the rules decide now, later or never; then it is rendered and handed over.

The job runs inside a unit of work that also marks it done. The patient's preference row is locked
first, so two workers delivering two messages to the same patient count the caps one after the
other. The gateway gets the message's stable key (the email's Message-ID, the gateway's
idempotency key): if the commit after a successful hand-over fails, the retry sends the same key
again and a deduplicating receiver keeps one copy.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from radflow.domain.errors import NotFound
from radflow.domain.jobs import Job
from radflow.domain.messaging.contact import ContactPreference
from radflow.domain.messaging.message import Message, MessageEvent
from radflow.domain.messaging.rules import DeliveryRequest, HoldUntil, Purpose, Suppress, decide
from radflow.domain.users import Principal, Role
from radflow.services.audit import record_access
from radflow.services.context import ServiceContext
from radflow.services.ports import OutboundMessage
from radflow.services.preparation import Visit, find_visit, preparation_plan
from radflow.services.reminders.content import CenterContact, cancellation_text, render_visit_message
from radflow.services.reminders.planning import add_job, ensure_preference, sent_since
from radflow.services.reminders.ports import MessagingTools, messaging
from radflow.services.scheduling.ports import appointments, capacity
from radflow.services.unit_of_work import UnitOfWork

SENDER = Principal.system("messaging", role=Role.SCHEDULER, source="worker")


def center_contact(uow: UnitOfWork, ctx: ServiceContext, site_id: str) -> CenterContact:
    """The center's name, the site's callback number and address (the center's own where the site has none)."""
    settings = ctx.settings
    try:
        site = capacity(uow).site(site_id)
    except NotFound:
        return CenterContact(settings.center_name, settings.center_phone, settings.center_address)
    return CenterContact(settings.center_name, site.phone or settings.center_phone,
                         site.address or settings.center_address, site.name)


def _close(message: Message, event: MessageEvent, now: datetime, why: str) -> dict[str, Any]:
    message.apply(event, at=now, detail=why)
    return {"state": message.state.value, "detail": why}


def send_message_job(job: Job, uow: UnitOfWork, ctx: ServiceContext, tools: MessagingTools) -> dict[str, Any]:
    """Job: decide, render and send one planned (or held) message."""
    repo = messaging(uow)
    message = repo.message_by_key(job.payload["message_key"])
    if message is None:
        return {"skipped": "no such message"}
    if not message.is_open:
        return {"skipped": f"message is {message.state.value}"}
    now = ctx.clock.now()
    zone = ZoneInfo(job.payload.get("timezone") or ctx.settings.timezone)
    patient = uow.patients.get(message.patient_id)
    # Locked first: the caps are counted per patient, one delivery at a time.
    preference = repo.preference(patient.id, for_update=True) or ensure_preference(uow, patient, zone=zone, at=now)
    visit: Visit | None = None
    latest_useful: datetime | None = None
    if message.purpose in (Purpose.PREPARATION, Purpose.REMINDER):
        visit = find_visit(uow, patient.id, date.fromisoformat(message.visit_date), zone)
        if visit is None:
            return _close(message, MessageEvent.SUPPRESS, now, "no booked appointment on this day any more")
        if message.purpose is Purpose.PREPARATION and not message.notification.endswith(visit.digest()):
            return _close(message, MessageEvent.SUPPRESS, now, "replaced by the updated preparation for this visit")
        latest_useful = visit.first.patient_from
    decision = decide(DeliveryRequest(channel=message.channel, purpose=message.purpose,
                                      notification=message.notification, now=now, preference=preference,
                                      sent=sent_since(repo, patient.id, now), latest_useful=latest_useful))
    if isinstance(decision, Suppress):
        return _close(message, MessageEvent.SUPPRESS, now, decision.reason)
    if isinstance(decision, HoldUntil):
        holds = sum(1 for step in message.history if step.get("state") == "held")
        message.hold(decision.at, at=now, reason=decision.reason)
        add_job(uow, f"{message.key}.h{holds + 1}", dict(job.payload), due_at=decision.at, now=now)
        return {"state": "held", "until": decision.at.isoformat(), "reason": decision.reason}
    to = job.payload.get("to") or preference.address_for(message.channel)
    if not to:
        return _close(message, MessageEvent.SUPPRESS, now, f"no {message.channel.value} address on file")
    outbound = _render(message, uow, ctx, tools, to=to, visit=visit, zone=zone, preference=preference,
                       payload=job.payload, now=now)
    receipt = ctx.gateway.send(outbound)
    if not receipt.accepted:
        return _close(message, MessageEvent.FAIL, now, receipt.detail or "the gateway refused the message")
    message.sent(to=to, subject=outbound.subject, body=outbound.body, gateway_reference=receipt.gateway_reference,
                 at=now)
    record_access(uow, ctx, SENDER, "message.send", patient_id=patient.id, object_type="message",
                  object_id=message.id, detail=f"{message.purpose.value} by {message.channel.value}")
    return {"state": "sent", "channel": message.channel.value, "gateway_reference": receipt.gateway_reference}


def _render(message: Message, uow: UnitOfWork, ctx: ServiceContext, tools: MessagingTools, *, to: str,
            visit: Visit | None, zone: ZoneInfo, preference: ContactPreference, payload: dict[str, Any],
            now: datetime) -> OutboundMessage:
    patient = uow.patients.get(message.patient_id)
    if message.purpose is Purpose.REPLY:
        center = center_contact(uow, ctx, payload.get("site_id", ""))
        return OutboundMessage(key=message.key, channel=message.channel.value, to=to,
                               subject=f"{center.name}: your message", body=str(payload["text"]),
                               patient_id=patient.id)
    if message.purpose is Purpose.CANCELLATION:
        start = datetime.fromisoformat(payload["start"])
        site_id = _site_of(uow, message.appointment_ids)
        center = center_contact(uow, ctx, site_id)
        when = f"on {start.astimezone(zone):%a %b} {start.astimezone(zone).day}"
        return OutboundMessage(key=message.key, channel=message.channel.value, to=to,
                               subject=f"Your appointment at {center.name} is cancelled",
                               body=cancellation_text(center, when), patient_id=patient.id)
    assert visit is not None
    center = center_contact(uow, ctx, visit.first.site_id)
    plan = preparation_plan(visit, ctx.catalog, uow)
    return render_visit_message(message, to=to, tools=tools, center=center, patient=patient, visit=visit, plan=plan,
                                preference=preference, now=now, organizer="")


def _site_of(uow: UnitOfWork, appointment_ids: list[str]) -> str:
    for appointment_id in appointment_ids:
        try:
            return appointments(uow).get(appointment_id).site_id
        except NotFound:
            continue
    return ""

