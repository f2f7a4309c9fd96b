"""What the screens and the API show: a visit's messages with their status, the reminder board."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from radflow.domain.errors import NotFound
from radflow.domain.messaging.message import Message, MessageState
from radflow.domain.messaging.replies import InboundReply, PatientResponse
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.services.access import guard, guard_order
from radflow.services.audit import record_access
from radflow.services.context import ServiceContext
from radflow.services.preparation import PreparationPlan, Visit, find_visit, preparation_plan, site_zone
from radflow.services.reminders import content
from radflow.services.reminders.delivery import center_contact
from radflow.services.reminders.planning import current_model, visit_risk
from radflow.services.reminders.ports import MessagingTools, messaging
from radflow.services.scheduling.ports import appointments
from radflow.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class MessageLine:
    """One message as a screen lists it."""

    key: str
    channel: str
    purpose: str
    state: str
    planned_for: datetime
    held_until: datetime | None
    sent_at: datetime | None
    to: str
    detail: str
    body: str
    job_state: str  # the job's own state: 'dead' means the gateway kept failing


@dataclass(frozen=True)
class VisitMessages:
    """An order's visit: its exams, preparation, messages, the patient's answers and the no-show risk."""

    order_id: str
    patient_id: str
    appointment_id: str
    appointment_state: str
    visit: Visit | None
    plan: PreparationPlan | None
    messages: tuple[MessageLine, ...]
    responses: tuple[PatientResponse, ...]
    replies: tuple[InboundReply, ...]
    risk: float | None
    intensity: str
    model_fitted_on: str


def message_line(uow: UnitOfWork, message: Message) -> MessageLine:
    """A message with its job's state."""
    job = uow.jobs.by_key(message.key)
    return MessageLine(key=message.key, channel=message.channel.value, purpose=message.purpose.value,
                       state=message.state.value, planned_for=message.planned_for, held_until=message.held_until,
                       sent_at=message.sent_at, to=message.to, detail=message.detail, body=message.body,
                       job_state=job.state.value if job is not None else "")


@dataclass(frozen=True)
class GetVisitMessages:
    """The messages of the visit an order is booked in (its latest appointment)."""

    actor: Principal
    order_id: str


def get_visit_messages(cmd: GetVisitMessages, uow: UnitOfWork, ctx: ServiceContext,
                       tools: MessagingTools) -> VisitMessages:
    """Read an order's visit messages, answers and risk (audited: it shows patient data)."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.MESSAGES_READ, order)
        history = appointments(uow).for_order(order.id)
        if not history:
            raise NotFound(f"order {order.accession_number} has never been booked: it has no messages yet")
        appointment = history[-1]
        zone = site_zone(uow, appointment.site_id)
        day = appointment.start.astimezone(zone).date()
        repo = messaging(uow)
        visit = find_visit(uow, order.patient_id, day, zone)
        plan = preparation_plan(visit, ctx.catalog, uow) if visit is not None else None
        risk = visit_risk(uow, tools, visit, at=ctx.clock.now()) if visit is not None else None
        lines = tuple(message_line(uow, m) for m in repo.messages_for_visit(order.patient_id, day.isoformat()))
        replies = tuple(r for r in repo.replies_for_patient(order.patient_id)
                        if not r.appointment_ids or appointment.id in r.appointment_ids)
        record_access(uow, ctx, cmd.actor, "messages.read", patient_id=order.patient_id, object_type="order",
                      object_id=order.id)
        uow.commit()
        return VisitMessages(
            order_id=order.id, patient_id=order.patient_id, appointment_id=appointment.id,
            appointment_state=appointment.state.value, visit=visit, plan=plan, messages=lines,
            responses=tuple(repo.responses_for_visit(order.patient_id, day.isoformat())), replies=replies,
            risk=risk, intensity=tools.policy.intensity_for(risk).value if risk is not None else "",
            model_fitted_on=current_model(uow, tools).fitted_on)


@dataclass(frozen=True)
class BoardLine:
    """A message on the reminder board, with whose it is."""

    message: MessageLine
    patient_id: str
    patient_name: str
    order_ids: tuple[str, ...]
    visit_date: str


@dataclass(frozen=True)
class ReminderBoard:
    """The messages planned for one local day: what went out, what waits, what failed."""

    day: date
    lines: tuple[BoardLine, ...]
    counts: dict[str, int]


@dataclass(frozen=True)
class GetReminderBoard:
    """Messages planned for `day` (the center's local day; today when not given)."""

    actor: Principal
    day: date | None = None


def get_reminder_board(cmd: GetReminderBoard, uow: UnitOfWork, ctx: ServiceContext) -> ReminderBoard:
    """The reminder board of a day (audited once: it lists patients)."""
    with uow:
        guard(cmd.actor, Action.REMINDER_BOARD)
        zone = ctx.settings.zone
        day = cmd.day or ctx.clock.now().astimezone(zone).date()
        start = datetime.combine(day, time(0), tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        names: dict[str, str] = {}
        lines = []
        for message in messaging(uow).messages_planned_between(start, end):
            if message.patient_id not in names:
                names[message.patient_id] = uow.patients.get(message.patient_id).display_name
            lines.append(BoardLine(message_line(uow, message), message.patient_id, names[message.patient_id],
                                   tuple(message.order_ids), message.visit_date))
        counts = {state.value: sum(1 for line in lines if line.message.state == state.value)
                  for state in MessageState}
        record_access(uow, ctx, cmd.actor, "reminders.board", detail=f"{day.isoformat()}: {len(lines)} messages")
        uow.commit()
        return ReminderBoard(day, tuple(lines), counts)


@dataclass(frozen=True)
class PrintVisitLetter:
    """The printable preparation letter of an order's booked visit (the desk prints or posts it)."""

    actor: Principal
    order_id: str


def print_visit_letter(cmd: PrintVisitLetter, uow: UnitOfWork, ctx: ServiceContext, tools: MessagingTools) -> bytes:
    """The letter as PDF, rendered now from the visit as booked."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.MESSAGES_READ, order)
        appointment = appointments(uow).live_for_order(order.id)
        if appointment is None:
            raise NotFound(f"order {order.accession_number} has no booked appointment to print a letter for")
        zone = site_zone(uow, appointment.site_id)
        visit = find_visit(uow, order.patient_id, appointment.start.astimezone(zone).date(), zone)
        assert visit is not None
        plan = preparation_plan(visit, ctx.catalog, uow)
        now = ctx.clock.now()
        letter = content.letter(center_contact(uow, ctx, appointment.site_id), uow.patients.get(order.patient_id),
                                visit, plan, now)
        record_access(uow, ctx, cmd.actor, "preparation.letter", patient_id=order.patient_id, object_type="order",
                      object_id=order.id)
        uow.commit()
        return tools.letters.pdf(letter)
