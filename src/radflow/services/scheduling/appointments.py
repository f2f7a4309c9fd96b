"""Reading appointments, and keeping them in step with their order's lifecycle.

Reactions run inside the transaction that moved the order (DESIGN §2, the outbox pattern): an
order cancelled or sent back to `received` frees its slot; checked in (or started without
check-in) marks the appointment attended; a no-show marks it so. Each reaction does nothing when
the appointment already moved, so an area that moves both itself stays correct.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from radflow.domain.appointment import Appointment, AppointmentState
from radflow.domain.errors import ValidationError
from radflow.domain.events import DomainEvent, OrderTransitioned
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.policy import AccessTarget, Action
from radflow.domain.users import Principal
from radflow.services.access import guard, guard_order
from radflow.services.audit import record_access
from radflow.services.context import ServiceContext
from radflow.services.scheduling.ports import appointments
from radflow.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class GetAppointment:
    """One appointment (its order decides who may see it)."""

    actor: Principal
    appointment_id: str


def get_appointment(cmd: GetAppointment, uow: UnitOfWork, ctx: ServiceContext) -> Appointment:
    """Read one appointment; audited as a read of the patient's record."""
    with uow:
        appointment = appointments(uow).get(cmd.appointment_id)
        guard_order(cmd.actor, Action.APPOINTMENT_READ, uow.orders.get(appointment.order_id))
        record_access(uow, ctx, cmd.actor, "appointment.read", patient_id=appointment.patient_id,
                      object_type="appointment", object_id=appointment.id)
        uow.commit()
        return appointment


@dataclass(frozen=True)
class ListAppointments:
    """Appointments of an order, of a patient, or starting in a window (the schedule)."""

    actor: Principal
    order_id: str = ""
    patient_id: str = ""
    start: datetime | None = None
    end: datetime | None = None
    scanner_ids: tuple[str, ...] = ()
    states: tuple[AppointmentState, ...] = ()


def list_appointments(cmd: ListAppointments, uow: UnitOfWork, ctx: ServiceContext) -> list[Appointment]:
    """Appointments the caller may see, by start."""
    with uow:
        repo = appointments(uow)
        if cmd.order_id:
            order = uow.orders.get(cmd.order_id)
            guard_order(cmd.actor, Action.APPOINTMENT_READ, order)
            found = repo.for_order(order.id)
            patient_id = order.patient_id
        elif cmd.patient_id:
            # A patient's own appointments; staff see any patient's (the policy decides).
            guard(cmd.actor, Action.APPOINTMENT_READ, AccessTarget(patient_id=cmd.patient_id),
                  object_type="patient", object_id=cmd.patient_id)
            low = cmd.start or datetime.min.replace(tzinfo=ctx.clock.now().tzinfo)
            high = cmd.end or datetime.max.replace(tzinfo=ctx.clock.now().tzinfo)
            found = [b.appointment for b in repo.for_patient(cmd.patient_id, low, high)]
            patient_id = cmd.patient_id
        else:
            if cmd.start is None or cmd.end is None or cmd.end <= cmd.start:
                raise ValidationError("give an order, a patient, or a start and end for the schedule", field="start")
            guard(cmd.actor, Action.CAPACITY_READ)
            found = repo.between(cmd.start, cmd.end, cmd.states)
            patient_id = ""
        if cmd.scanner_ids:
            found = [a for a in found if a.scanner_id in cmd.scanner_ids]
        if cmd.states:
            found = [a for a in found if a.state in cmd.states]
        record_access(uow, ctx, cmd.actor, "appointment.list", patient_id=patient_id, object_type="appointment",
                      detail=f"{len(found)} appointments")
        uow.commit()
        return found


# Order events after which the slot is free again, or the appointment took place or was missed.
_RELEASE = {OrderEvent.CANCEL, OrderEvent.STUDY_SUBSTITUTED}
_ATTEND = {OrderEvent.CHECKED_IN, OrderEvent.EXAM_STARTED}


def follow_order(event: DomainEvent, uow: UnitOfWork) -> None:
    """Move the order's live appointment with the order (inside the same transaction)."""
    if not isinstance(event, OrderTransitioned):
        return
    try:
        order_event = OrderEvent(event.event)
    except ValueError:
        return
    if order_event not in _RELEASE and order_event not in _ATTEND and order_event is not OrderEvent.NO_SHOW:
        return  # nothing to do to the appointment: spare the query on every other transition
    appointment = appointments(uow).live_for_order(event.order_id)
    if appointment is None or appointment.state is not AppointmentState.BOOKED:
        return
    if order_event in _RELEASE:
        appointment.cancel(reason=event.reason or f"order {order_event.value}", by=event.by, at=event.at)
    elif order_event in _ATTEND and event.from_state == OrderState.SCHEDULED.value:
        appointment.attend(by=event.by, at=event.at)
    elif order_event is OrderEvent.NO_SHOW:
        appointment.mark_no_show(by=event.by, at=event.at)
