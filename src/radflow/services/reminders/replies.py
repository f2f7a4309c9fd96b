"""Patients' replies (texts, emails, call menus) and the gateway's delivery reports.

An opt-out word revokes at once, for every patient reached at that number, before anything else
is read (47 CFR 64.1200(a)(10)); its one confirmation goes back immediately (FCC 24-24). A
confirmation or "received" is recorded on the visit; X cancels the visit's appointments through
the booking service; anything else is put in front of a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from radflow.domain.errors import NotFound, ValidationError
from radflow.domain.ids import new_id
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.messaging.contact import PHONE_CHANNELS, Channel, ContactPreference, normal_address
from radflow.domain.messaging.message import Message, MessageEvent, MessageState
from radflow.domain.messaging.replies import InboundReply, PatientResponse, ResponseKind
from radflow.domain.messaging.rules import Purpose
from radflow.domain.messaging.texts import Reply, ReplyIntent, read_reply
from radflow.domain.policy import Action
from radflow.domain.users import Principal, Role
from radflow.services.access import guard
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.preparation import Visit, find_visit, site_zone
from radflow.services.reminders.delivery import center_contact
from radflow.services.reminders.planning import REPLY_ACTOR, plan_message
from radflow.services.reminders.ports import MessagingRepository, messaging
from radflow.services.scheduling.booking import release_appointment_in
from radflow.services.scheduling.ports import appointments
from radflow.services.unit_of_work import UnitOfWork

#: Cancels on the patient's behalf when they reply X (its id tells the planner not to send a notice).
REPLY_CANCELLER = Principal.system("messaging-reply", role=Role.SCHEDULER, source="patient reply")


@dataclass(frozen=True)
class HandleReply:
    """A message a patient sent us: a text to the center's number, a reply email, a call-menu choice."""

    actor: Principal
    channel: str  # sms, email or voice
    from_address: str
    text: str
    gateway_reference: str = ""  # the gateway's id for the inbound message (a retried webhook is ignored)
    in_reply_to: str = ""  # the key of our message it answers, when the channel says (email In-Reply-To)


@dataclass(frozen=True)
class ReplyOutcome:
    """What radflow made of a reply."""

    intent: str
    outcome: str
    patient_ids: tuple[str, ...] = ()
    duplicate: bool = False


def _answered(repo: MessagingRepository, channel: Channel, address: str, in_reply_to: str) -> Message | None:
    found = repo.message_by_key(in_reply_to) if in_reply_to else None
    if found is None and channel is Channel.VOICE:
        found = repo.latest_sent_to(Channel.VOICE, [address]) or repo.latest_sent_to(Channel.SMS, [address])
    return found or repo.latest_sent_to(channel, [address])


def _visit_of(uow: UnitOfWork, message: Message | None) -> Visit | None:
    if message is None or not message.visit_date or not message.appointment_ids:
        return None
    try:
        zone = site_zone(uow, appointments(uow).get(message.appointment_ids[0]).site_id)
    except NotFound:
        return None
    return find_visit(uow, message.patient_id, date.fromisoformat(message.visit_date), zone)


def _reply_text(uow: UnitOfWork, ctx: ServiceContext, patient_id: str, to: str, text: str, reply_id: str,
                visit: Visit | None) -> None:
    """Answer the patient's text at once (a REPLY message: no caps, no window)."""
    plan_message(uow, patient_id=patient_id, notification=f"reply.{reply_id}", channel=Channel.SMS,
                 purpose=Purpose.REPLY, due=ctx.clock.now(), now=ctx.clock.now(),
                 visit_date=visit.day.isoformat() if visit else "", timezone=visit.timezone if visit else "",
                 appointment_ids=visit.appointment_ids if visit else [], order_ids=visit.order_ids if visit else [],
                 extra={"to": to, "text": text, "site_id": visit.first.site_id if visit else ""})


def _respond(uow: UnitOfWork, ctx: ServiceContext, visit: Visit, kind: ResponseKind, via: str, note: str) -> None:
    messaging(uow).add_response(PatientResponse(
        id=new_id(), patient_id=visit.patient_id, visit_date=visit.day.isoformat(), kind=kind, at=ctx.clock.now(),
        via=via, recorded_by=REPLY_ACTOR, appointment_ids=visit.appointment_ids, note=note[:500]))


def _opt_out(uow: UnitOfWork, ctx: ServiceContext, preferences: list[ContactPreference], channel: Channel,
             reply: Reply, actor: Principal) -> list[str]:
    withdrawn = frozenset(PHONE_CHANNELS) if channel in PHONE_CHANNELS else frozenset({channel})
    how = f"replied '{reply.text.strip()[:40]}' by {channel.value} (47 CFR 64.1200(a)(10))"
    changed = []
    for preference in preferences:
        if preference.revoke(withdrawn, how=how, by=actor.user_id, at=ctx.clock.now()):
            changed.append(preference.patient_id)
        for message in messaging(uow).messages_for_patient(preference.patient_id):
            if message.is_open and message.channel in withdrawn and message.purpose is not Purpose.REPLY:
                message.apply(MessageEvent.SUPPRESS, at=ctx.clock.now(), detail=f"consent withdrawn: {how}")
    return changed


def handle_reply(cmd: HandleReply, uow: UnitOfWork, ctx: ServiceContext) -> ReplyOutcome:
    """Record a patient's reply and act on it."""
    try:
        channel = Channel(cmd.channel)
    except ValueError:
        raise ValidationError(f"'{cmd.channel}' is not a reply channel: sms, email or voice", field="channel") from None
    address = normal_address(channel, cmd.from_address)
    if not address:
        raise ValidationError("a reply needs the sender's number or address", field="from_address")
    reply = read_reply(cmd.text)
    with uow:
        guard(cmd.actor, Action.MESSAGING_INBOUND)
        repo = messaging(uow)
        answered = _answered(repo, channel, address, cmd.in_reply_to)
        record = InboundReply(id=new_id(), received_at=ctx.clock.now(), channel=channel.value, from_address=address,
                              text=cmd.text[:2000], intent=reply.intent.value,
                              gateway_reference=cmd.gateway_reference.strip(),
                              patient_id=answered.patient_id if answered else None,
                              message_key=answered.key if answered else "",
                              appointment_ids=list(answered.appointment_ids) if answered else [])
        if not repo.add_reply(record):
            return ReplyOutcome(reply.intent.value, "already received (the gateway sent it twice)", duplicate=True)
        if answered is not None and answered.state is MessageState.SENT:
            answered.apply(MessageEvent.DELIVER, at=ctx.clock.now(), detail="the patient answered it")
        visit = _visit_of(uow, answered)
        outcome, patients = _act(uow, ctx, cmd, reply, channel, address, answered, visit, record.id)
        record.outcome = outcome
        for patient_id in patients or [""]:  # a reply from an unknown sender is audited too
            record_access(uow, ctx, cmd.actor, f"messaging.reply.{reply.intent.value}", patient_id=patient_id,
                          object_type="inbound-reply", object_id=record.id, detail=outcome)
        uow.commit()
        return ReplyOutcome(reply.intent.value, outcome, tuple(patients))


def _act(uow: UnitOfWork, ctx: ServiceContext, cmd: HandleReply, reply: Reply, channel: Channel, address: str,
         answered: Message | None, visit: Visit | None, reply_id: str) -> tuple[str, list[str]]:
    repo = messaging(uow)
    patient_id = answered.patient_id if answered else None
    center = center_contact(uow, ctx, visit.first.site_id if visit else "")
    texts_back = channel is Channel.SMS
    if reply.intent is ReplyIntent.OPT_OUT:
        preferences = repo.preferences_with_address(channel if channel is not Channel.VOICE else Channel.SMS,
                                                    address)
        changed = _opt_out(uow, ctx, preferences, channel, reply, cmd.actor)
        if not preferences:
            return "no patient has this number or address: nothing to withdraw", []
        if reply.mentions_cancel and visit is not None:
            _respond(uow, ctx, visit, ResponseKind.CALL_BACK, channel.value,
                     f"replied '{reply.text.strip()[:80]}': messages stopped; call to ask whether to cancel the visit")
        if texts_back:
            _reply_text(uow, ctx, preferences[0].patient_id, address,
                        f"{center.name}: you will get no more texts from us. Reply START to opt in again. "
                        f"Call {center.phone}.", reply_id, visit)
        return f"consent withdrawn for {len(preferences)} patient(s)", [p.patient_id for p in preferences] or changed
    if patient_id is None:
        return "no message of ours was sent to this sender: kept for the desk", []
    if reply.intent is ReplyIntent.OPT_IN:
        preference = repo.preference(patient_id, for_update=True)
        regained = channel if channel is not Channel.VOICE else Channel.SMS
        if preference is not None:
            for again in ((Channel.SMS, Channel.VOICE) if regained is Channel.SMS else (regained,)):
                preference.grant(again, address, how=f"replied '{reply.text.strip()[:20]}' (opt in again)",
                                 at=ctx.clock.now())
        if texts_back:
            _reply_text(uow, ctx, patient_id, address, f"{center.name}: appointment texts are on again. Reply STOP "
                        f"to opt out. Call {center.phone}.", reply_id, visit)
        return "consent given again", [patient_id]
    if reply.intent is ReplyIntent.HELP:
        if texts_back:
            _reply_text(uow, ctx, patient_id, address, f"{center.name} appointment messages. Call {center.phone}. "
                        "Reply STOP to opt out.", reply_id, visit)
        return "help sent", [patient_id]
    if visit is None:
        return "the visit this answers is no longer booked: kept for the desk", [patient_id]
    if reply.intent is ReplyIntent.CONFIRM:
        _respond(uow, ctx, visit, ResponseKind.CONFIRMED, channel.value, reply.text)
        return f"visit of {visit.day.isoformat()} confirmed", [patient_id]
    if reply.intent is ReplyIntent.RECEIVED:
        _respond(uow, ctx, visit, ResponseKind.PREPARATION_RECEIVED, channel.value, reply.text)
        return f"preparation for {visit.day.isoformat()} received", [patient_id]
    if reply.intent is ReplyIntent.CANCEL_APPOINTMENT:
        return _cancel_visit(uow, ctx, visit, channel, address, reply, reply_id, texts_back), [patient_id]
    _respond(uow, ctx, visit, ResponseKind.CALL_BACK, channel.value, reply.text)
    return "not understood: put in front of the desk", [patient_id]


def _cancel_visit(uow: UnitOfWork, ctx: ServiceContext, visit: Visit, channel: Channel, address: str, reply: Reply,
                  reply_id: str, texts_back: bool) -> str:
    """Cancel every booked appointment of the visit on the patient's word; the exams go back to scheduling.

    A patient who cannot come has not withdrawn the referral: each order returns to the scheduling queue
    (`appointment_cancelled`) and the desk calls to book again.
    """
    reason = f"patient replied '{reply.text.strip()[:40]}' by {channel.value}"
    for exam in visit.exams:
        order = uow.orders.get(exam.order_id)
        release_appointment_in(uow, ctx, REPLY_CANCELLER, order, reason)
        if order.state is OrderState.SCHEDULED:
            order.transition(OrderEvent.APPOINTMENT_CANCELLED, by=REPLY_CANCELLER.user_id, at=ctx.clock.now(),
                             reason=reason)
    _respond(uow, ctx, visit, ResponseKind.CANCELLED, channel.value, reply.text)
    if texts_back:
        center = center_contact(uow, ctx, visit.first.site_id)
        local = visit.first.start.astimezone(ZoneInfo(visit.timezone))
        _reply_text(uow, ctx, visit.patient_id, address,
                    f"{center.name}: your appointment on {local:%a %b} {local.day} is cancelled. To book again call "
                    f"{center.phone}.", reply_id, None)
    return f"visit of {visit.day.isoformat()} cancelled ({len(visit.exams)} appointment(s))"


@dataclass(frozen=True)
class RecordDeliveryReport:
    """A gateway's report on a message it took: delivered, or failed (bounced, unreachable)."""

    actor: Principal
    reference: str  # the gateway's reference, or our message key
    delivered: bool
    detail: str = ""


def record_delivery_report(cmd: RecordDeliveryReport, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Move the message to delivered or failed (a report repeated or out of order changes nothing)."""
    with uow:
        guard(cmd.actor, Action.MESSAGING_INBOUND)
        repo = messaging(uow)
        message = repo.by_gateway_reference(cmd.reference) or repo.message_by_key(cmd.reference)
        if message is None:
            raise NotFound(f"no message with reference '{cmd.reference}'")
        event = MessageEvent.DELIVER if cmd.delivered else MessageEvent.FAIL
        if message.state in (MessageState.SENT, MessageState.DELIVERED) and not (
                cmd.delivered and message.state is MessageState.DELIVERED):
            message.apply(event, at=ctx.clock.now(), detail=cmd.detail[:500] or event.value)
            record_access(uow, ctx, cmd.actor, "message.delivery_report", patient_id=message.patient_id,
                          object_type="message", object_id=message.id, detail=f"{event.value}: {cmd.detail[:200]}")
        uow.commit()
        return message.state.value


HANDLERS: dict[type, Handler] = {HandleReply: handle_reply, RecordDeliveryReport: record_delivery_report}
