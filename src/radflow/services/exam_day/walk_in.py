"""Exams without an appointment (walk-ins, ED and inpatient stat exams) and unidentified patients.

An order ready to schedule goes onto a room's worklist for now: it is `booked` without a slot (the
timeline says so) and its study keeps the room and time, which the worklist projection reads. An
unidentified (trauma) patient gets a temporary identity (`is_temporary`, a name the desk can read
aloud: TRAUMA^<phonetic letter>-<number>); once known, the temporary record is merged into the real
one (`merge_patients_in`: orders, coverages and identifiers move) and `TemporaryIdentityResolved`
is recorded, for the HL7 interface to tell every system (ADT^A40 merge, updated ORM/OMI).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from radflow.domain.errors import Conflict, ValidationError
from radflow.domain.events import DomainEvent
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.policy import Action
from radflow.domain.users import Principal, Role
from radflow.services.access import guard, guard_order
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.exam_day.worklist import ensure_study, project_order, shipped_catalog, station_for
from radflow.services.patients import MergePatients, RegisterPatient, merge_patients_in, register_patient_in
from radflow.services.scheduling.ports import appointments, capacity
from radflow.services.unit_of_work import UnitOfWork

#: ICAO spelling alphabet: temporary names the team can call out in a trauma bay without confusion.
_PHONETIC = ("ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL", "INDIA", "JULIETT", "KILO",
             "LIMA", "MIKE", "NOVEMBER", "OSCAR", "PAPA", "QUEBEC", "ROMEO", "SIERRA", "TANGO", "UNIFORM", "VICTOR",
             "WHISKEY", "XRAY", "YANKEE", "ZULU")


@dataclass(frozen=True, kw_only=True)
class TemporaryIdentityResolved(DomainEvent):
    """An unidentified patient's temporary record was merged into the real one (every system must be told)."""

    temporary_patient_id: str
    survivor_patient_id: str
    accession_numbers: tuple[str, ...]


@dataclass(frozen=True)
class AddToTodaysWorklist:
    """Put an order without appointment onto a room's worklist now (walk-in, ED, inpatient stat)."""

    actor: Principal
    order_id: str
    scanner_id: str
    note: str = ""


def add_to_todays_worklist(cmd: AddToTodaysWorklist, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Book the order without a slot onto the room; it appears on the room's worklist at once."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.WALK_IN, order)
        if order.state is not OrderState.READY_TO_SCHEDULE:
            raise Conflict(f"order {order.accession_number} is {order.state.value.replace('_', ' ')}: only an "
                           "order ready to schedule goes onto today's worklist")
        if appointments(uow).live_for_order(order.id) is not None:
            raise Conflict(f"order {order.accession_number} already has an appointment")
        scanner = capacity(uow).scanner(cmd.scanner_id)
        if not shipped_catalog().protocol(order.protocol_code).can_be_performed_on(scanner.modality):
            raise ValidationError(f"{scanner.name} ({scanner.modality.value}) cannot do {order.protocol_code}",
                                  field="scanner_id")
        now = ctx.clock.now()
        station = station_for(uow, scanner)
        study = ensure_study(uow, order, now)
        study.set_walk_in(station.station_ae_title, scanner.id, now)
        # Worklist visibility follows the order's state; a walk-in room that lists at check-in still
        # shows the exam once the desk checks the patient in.
        order.transition(OrderEvent.BOOKED, by=cmd.actor.user_id, at=now, reason=cmd.note.strip(),
                         details={"walk_in": True, "scanner_id": scanner.id, "start": now.isoformat(),
                                  "station": station.station_ae_title})
        project_order(uow, order, now)
        record_access(uow, ctx, cmd.actor, "exam.walk_in", patient_id=order.patient_id, object_type="order",
                      object_id=order.id, detail=f"{order.accession_number} -> {scanner.id}")
        uow.commit()
        return order.state.value


@dataclass(frozen=True)
class RegisterUnidentifiedPatient:
    """A patient who cannot be identified yet (trauma, unconscious): a temporary identity."""

    actor: Principal
    sex: str = "U"
    approximate_age: int | None = None
    note: str = ""


def register_unidentified_patient(cmd: RegisterUnidentifiedPatient, uow: UnitOfWork,
                                  ctx: ServiceContext) -> str:
    """Register a temporary patient (TRAUMA^<letter>-<n>); returns the patient id."""
    with uow:
        guard(cmd.actor, Action.TRAUMA_REGISTER)
        number = uow.counters.next_value("trauma_alias")
        today = ctx.clock.now().astimezone(ctx.settings.zone).date()
        age = cmd.approximate_age if cmd.approximate_age is not None else 40
        if not 0 <= age <= 120:
            raise ValidationError("an approximate age is between 0 and 120 years", field="approximate_age")
        # The birth date of an unknown patient is 1 January of the estimated year (a common convention).
        born = date(today.year - age, 1, 1)
        # Registration is checked against the trauma policy above; the record is created on radflow's own
        # authority (a technologist may not register ordinary patients) and audited with the real actor.
        registrar = Principal.system("exam_day:trauma", role=Role.INTEGRATION, source=cmd.actor.source)
        result = register_patient_in(uow, ctx, RegisterPatient(
            actor=registrar, family_name="TRAUMA",
            given_name=f"{_PHONETIC[(number - 1) % len(_PHONETIC)]}-{number:04d}", birth_date=born,
            sex=cmd.sex or "U", is_temporary=True))
        record_access(uow, ctx, cmd.actor, "patient.trauma_register", patient_id=result.patient_id,
                      object_type="patient", object_id=result.patient_id, detail=cmd.note.strip())
        uow.commit()
        return result.patient_id


@dataclass(frozen=True)
class ResolveTemporaryIdentity:
    """The unidentified patient is known: merge the temporary record into the real one."""

    actor: Principal
    temporary_patient_id: str
    patient_id: str


def resolve_temporary_identity(cmd: ResolveTemporaryIdentity, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Merge (orders, worklist items and identifiers follow) and record the event other systems subscribe to."""
    with uow:
        temporary = uow.patients.get(cmd.temporary_patient_id)
        if not temporary.is_temporary:
            raise ValidationError("only a temporary (unidentified) record is resolved this way; merge two known "
                                  "records on the patient screen", field="temporary_patient_id")
        accessions = tuple(o.accession_number for o in uow.orders.for_patient(temporary.id))
        survivor_id = merge_patients_in(uow, ctx, MergePatients(actor=cmd.actor, survivor_id=cmd.patient_id,
                                                                merged_id=temporary.id))
        survivor = uow.patients.get(survivor_id)
        survivor.record(TemporaryIdentityResolved(at=ctx.clock.now(), by=cmd.actor.user_id,
                                                  temporary_patient_id=temporary.id,
                                                  survivor_patient_id=survivor_id, accession_numbers=accessions))
        uow.commit()
        return survivor_id


HANDLERS: dict[type, Handler] = {
    AddToTodaysWorklist: add_to_todays_worklist,
    RegisterUnidentifiedPatient: register_unidentified_patient,
    ResolveTemporaryIdentity: resolve_temporary_identity,
}
