"""Booking, rescheduling and cancelling appointments, each in one unit of work with the order.

Before writing, the chosen slot is checked with the same rules the search applies (so a refused
slot names the rule); the database's overlap rules then decide any race between two schedulers,
and the loser gets a Conflict saying what was taken. Overbooking lanes are used only where a
manager set an overbooking policy on the scanner, and each use is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from radflow.domain.appointment import Appointment, Placement
from radflow.domain.capacity.calendar import Timeline
from radflow.domain.capacity.model import Scanner
from radflow.domain.clock import ensure_utc
from radflow.domain.errors import Conflict, ValidationError
from radflow.domain.ids import new_id
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.order import Order
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.scheduling.search import why_not
from radflow.services.access import guard, guard_order, order_target
from radflow.services.audit import record_access
from radflow.services.context import ServiceContext
from radflow.services.order_changes import CancelOrder, cancel_order_in
from radflow.services.scheduling.pictures import (
    PatientNeeds,
    capacity_picture,
    exam_need,
    patient_facts,
    patient_picture,
    slot_rules,
)
from radflow.services.scheduling.ports import appointments, capacity
from radflow.services.unit_of_work import UnitOfWork

#: Refusals that mean "someone else has that time" (409) rather than "that time is not possible" (422).
TAKEN = ("the scanner is already booked then", "the patient has another exam then (an hour apart between sites)")


@dataclass(frozen=True)
class BookAppointment:
    """Book an order's exam on a scanner at a start time (UTC); lane 0 unless overbooking."""

    actor: Principal
    order_id: str
    scanner_id: str
    start: datetime
    lane: int = 0
    needs: PatientNeeds = field(default_factory=PatientNeeds)
    visit_id: str = ""
    note: str = ""


@dataclass(frozen=True)
class RescheduleAppointment:
    """Move a booked appointment to another scanner or time."""

    actor: Principal
    appointment_id: str
    scanner_id: str
    start: datetime
    reason: str
    lane: int = 0
    needs: PatientNeeds = field(default_factory=PatientNeeds)


@dataclass(frozen=True)
class CancelAppointment:
    """Cancel a booked appointment; the order is cancelled with it (see `cancel_appointment`)."""

    actor: Principal
    appointment_id: str
    reason: str
    cancel_order: bool = False


def _local(scanner: Scanner, uow: UnitOfWork, moment: datetime) -> str:
    site = capacity(uow).site(scanner.site_id)
    return moment.astimezone(site.zone).strftime("%a %d %b %Y %H:%M %Z")


def checked_placement(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, order: Order, scanner_id: str,
                      start: datetime, *, lane: int = 0, needs: PatientNeeds | None = None,
                      ignore_appointment: str | None = None) -> tuple[Placement, str]:
    """The placement of `order` at `start` on the scanner, refused with the rule it breaks.

    Returns the placement and the overbooking policy that allowed a lane above 0 ("" on lane 0).
    """
    start = ensure_utc(start)
    scanner = capacity(uow).scanner(scanner_id)
    policy = ""
    if lane:
        guard(actor, Action.APPOINTMENT_OVERBOOK, order_target(order), object_type="scanner", object_id=scanner.id)
        if lane > scanner.overbooking_lanes:
            raise Conflict(f"{scanner.name} has {scanner.overbooking_lanes} overbooking lane(s): lane {lane} is "
                           "not allowed (a manager sets the overbooking policy)")
        policy = f"{scanner.id} lanes 1–{scanner.overbooking_lanes}: {scanner.overbooking_reason}"
    line = Timeline.covering(min(start, ctx.clock.now()) - timedelta(days=1), start + timedelta(days=2),
                             slot_rules().grid_minutes)
    need = exam_need(ctx, order, patient_facts(uow, order.patient_id), needs or PatientNeeds(), line)
    picture = capacity_picture(uow, ctx, line, [need.kind.protocol.modality], ignore_appointment=ignore_appointment,
                               lane=lane)
    calendar = picture.calendars.get(scanner.id)
    minute = line.minute(start)
    if line.instant(minute) != start:
        raise ValidationError("appointments start on whole minutes of the booking grid", field="start")
    if calendar is None:
        raise ValidationError(f"{scanner.name} cannot do {need.kind.protocol.code} "
                              f"({need.kind.protocol.modality} exam)", field="scanner_id")
    people = patient_picture(uow, ctx, line, order.patient_id, ignore_orders=[order.id])
    refused = why_not(need, calendar, picture, people, minute)
    if refused is not None:
        message = f"{scanner.name} at {_local(scanner, uow, start)}: {refused}"
        if refused in TAKEN:
            raise Conflict(message)
        raise ValidationError(message, field="start")
    end = start + timedelta(minutes=need.minutes)
    return Placement(scanner.id, scanner.site_id, start, end, lane, start - timedelta(minutes=need.uptake)), policy


def _ready(order: Order) -> None:
    if order.state is not OrderState.READY_TO_SCHEDULE:
        raise Conflict(f"order {order.accession_number} is {order.state.value.replace('_', ' ')}: only an order "
                       "ready to schedule can be booked")


def book_in(uow: UnitOfWork, ctx: ServiceContext, cmd: BookAppointment) -> Appointment:
    """Book inside an open unit of work (the backlog plan and visit booking use this too)."""
    order = uow.orders.get(cmd.order_id)
    guard_order(cmd.actor, Action.APPOINTMENT_BOOK, order)
    _ready(order)
    placement, policy = checked_placement(uow, ctx, cmd.actor, order, cmd.scanner_id, cmd.start, lane=cmd.lane,
                                          needs=cmd.needs)
    now = ctx.clock.now()
    appointment = Appointment.book(appointment_id=new_id(), order_id=order.id, patient_id=order.patient_id,
                                   placement=placement, by=cmd.actor.user_id, at=now, visit_id=cmd.visit_id,
                                   overbooking_policy=policy)
    appointments(uow).add(appointment)
    order.transition(OrderEvent.BOOKED, by=cmd.actor.user_id, at=now, reason=cmd.note,
                     details={"appointment_id": appointment.id, "scanner_id": placement.scanner_id,
                              "start": placement.start.isoformat(), "end": placement.end.isoformat(),
                              "lane": placement.lane})
    record_access(uow, ctx, cmd.actor, "appointment.book", patient_id=order.patient_id, object_type="appointment",
                  object_id=appointment.id, detail=f"{order.accession_number} {placement.scanner_id} "
                                                   f"{placement.start.isoformat()} lane {placement.lane}")
    if placement.lane:
        record_access(uow, ctx, cmd.actor, "appointment.overbook", patient_id=order.patient_id,
                      object_type="appointment", object_id=appointment.id, detail=policy)
    appointments(uow).flush()  # the database's overlap rules decide a race here, with a clear message
    return appointment


def book_appointment(cmd: BookAppointment, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Book an order's exam; the order goes to `scheduled` in the same transaction."""
    with uow:
        appointment = book_in(uow, ctx, cmd)
        uow.commit()
        return appointment.id


@dataclass(frozen=True)
class BookVisit:
    """Book several orders of one patient together (one visit): all or none."""

    actor: Principal
    bookings: tuple[tuple[str, str, datetime], ...]  # (order id, scanner id, start)
    needs: PatientNeeds = field(default_factory=PatientNeeds)


def book_visit(cmd: BookVisit, uow: UnitOfWork, ctx: ServiceContext) -> list[str]:
    """Book every exam of a visit in one transaction, in start order, sharing one visit id."""
    if not cmd.bookings:
        raise ValidationError("a visit books at least one exam", field="bookings")
    visit_id = new_id()
    with uow:
        patients = {uow.orders.get(order_id).patient_id for order_id, _, _ in cmd.bookings}
        if len(patients) != 1:
            raise ValidationError("the exams of one visit belong to one patient", field="bookings")
        made = [book_in(uow, ctx, BookAppointment(actor=cmd.actor, order_id=order_id, scanner_id=scanner_id,
                                                  start=start, needs=cmd.needs, visit_id=visit_id))
                for order_id, scanner_id, start in sorted(cmd.bookings, key=lambda b: b[2])]
        uow.commit()
        return [a.id for a in made]


def reschedule_appointment(cmd: RescheduleAppointment, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Move an appointment; the order records `rescheduled` in the same transaction."""
    if not cmd.reason.strip():
        raise ValidationError("say why the appointment moves", field="reason")
    with uow:
        appointment = appointments(uow).get(cmd.appointment_id)
        order = uow.orders.get(appointment.order_id)
        guard_order(cmd.actor, Action.APPOINTMENT_BOOK, order)
        placement, policy = checked_placement(uow, ctx, cmd.actor, order, cmd.scanner_id, cmd.start, lane=cmd.lane,
                                              needs=cmd.needs, ignore_appointment=appointment.id)
        now = ctx.clock.now()
        before = appointment.placement
        appointment.reschedule(placement, by=cmd.actor.user_id, at=now, reason=cmd.reason, overbooking_policy=policy)
        order.transition(OrderEvent.RESCHEDULED, by=cmd.actor.user_id, at=now, reason=cmd.reason,
                         details={"appointment_id": appointment.id, "from_scanner_id": before.scanner_id,
                                  "from_start": before.start.isoformat(), "scanner_id": placement.scanner_id,
                                  "start": placement.start.isoformat(), "end": placement.end.isoformat()})
        record_access(uow, ctx, cmd.actor, "appointment.reschedule", patient_id=order.patient_id,
                      object_type="appointment", object_id=appointment.id,
                      detail=f"{before.scanner_id} {before.start.isoformat()} -> {placement.scanner_id} "
                             f"{placement.start.isoformat()}: {cmd.reason}")
        if placement.lane:
            record_access(uow, ctx, cmd.actor, "appointment.overbook", patient_id=order.patient_id,
                          object_type="appointment", object_id=appointment.id, detail=policy)
        appointments(uow).flush()
        uow.commit()
        return appointment.id


def cancel_appointment(cmd: CancelAppointment, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Cancel an appointment; the order goes back to the scheduling queue, or is cancelled with it.

    A patient who cannot come at that time still needs the exam: by default the order returns to
    `ready_to_schedule`; `cancel_order=True` withdraws the order too (the exam is no longer wanted).
    """
    with uow:
        appointment = appointments(uow).get(cmd.appointment_id)
        order = uow.orders.get(appointment.order_id)
        guard_order(cmd.actor, Action.APPOINTMENT_BOOK, order)
        appointment.cancel(reason=cmd.reason, by=cmd.actor.user_id, at=ctx.clock.now())
        if cmd.cancel_order:
            cancel_order_in(uow, ctx, CancelOrder(actor=cmd.actor, order_id=order.id, reason=cmd.reason))
        else:
            order.transition(OrderEvent.APPOINTMENT_CANCELLED, by=cmd.actor.user_id, at=ctx.clock.now(),
                             reason=cmd.reason, details={"appointment_id": appointment.id})
        record_access(uow, ctx, cmd.actor, "appointment.cancel", patient_id=order.patient_id,
                      object_type="appointment", object_id=appointment.id, detail=cmd.reason)
        uow.commit()
        return appointment.id


def release_appointment_in(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, order: Order,
                           reason: str) -> Appointment | None:
    """Cancel the order's live appointment inside an open unit of work (when the order is cancelled)."""
    appointment = appointments(uow).live_for_order(order.id)
    if appointment is not None:
        appointment.cancel(reason=reason, by=actor.user_id, at=ctx.clock.now())
    return appointment
