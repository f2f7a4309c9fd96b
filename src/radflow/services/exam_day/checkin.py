"""Check-in at the desk: today's arrivals, and each arrival's identity, coverage, exam, consents and payment.

`RecordCheckIn` keeps whatever the desk confirmed so far and, when asked to complete, checks the
patient in only if nothing blocks it (`radflow.domain.checkin.CheckIn.blockers`, plus the safety
screening: the questionnaires this exam calls for must be answered and decided). A refused check-in
keeps the progress and names every blocker. A difference between the exam ordered and the exam
booked is resolved by a technologist or radiologist with a reason (`ResolveExamMismatch`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from radflow.catalog.screening_loader import shipped_screening_rules
from radflow.domain.appointment import Appointment, AppointmentState
from radflow.domain.checkin import (
    CheckIn,
    CheckInState,
    ConsentKind,
    ConsentMethod,
    CoverageFacts,
    ExamFacts,
    IdentifierKind,
    Mismatch,
    PatientFacts,
    compare_exams,
    required_consents,
)
from radflow.domain.errors import Conflict, ValidationError
from radflow.domain.ids import new_id
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.policy import Action
from radflow.domain.screening import applicable_questionnaires
from radflow.domain.screening.record import ScreeningRecord, ScreeningState
from radflow.domain.study import Study
from radflow.domain.users import Principal
from radflow.services.access import guard, guard_order
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.exam_day.ports import checkins, screenings, studies, worklist
from radflow.services.exam_day.rules import shipped_exam_day_rules
from radflow.services.exam_day.worklist import shipped_catalog
from radflow.services.scheduling.ports import appointments, capacity
from radflow.services.screening import build_case
from radflow.services.unit_of_work import UnitOfWork


def patient_facts(patient: Patient) -> PatientFacts:
    """What the record says, for the identity check."""
    return PatientFacts(family_name=patient.family_name, given_name=patient.given_name, birth_date=patient.birth_date,
                        mrn=patient.mrn, phone=patient.phone, postal_code=patient.postal_code)


def coverage_facts(uow: UnitOfWork, order: Order) -> CoverageFacts | None:
    """The coverage the order bills, as on file now."""
    if not order.coverage_id:
        return None
    coverage = uow.coverages.get(order.coverage_id)
    return CoverageFacts(coverage.id, coverage.payer_id, coverage.member_id, coverage.active)


def ordered_exam(order: Order) -> ExamFacts:
    """The exam as the order stands now."""
    return ExamFacts(order.protocol_code, order.requested_modality, order.contrast.value if order.contrast else "",
                     order.laterality.value if order.laterality else "", order.body_part)


def scheduled_exam(study: Study | None) -> ExamFacts | None:
    """The exam as it was booked (kept on the study at booking)."""
    booked = study.scheduled_exam if study is not None else {}
    if not booked:
        return None
    return ExamFacts(booked["protocol_code"], booked["modality"], booked.get("contrast", ""),
                     booked.get("laterality", ""), booked.get("body_part", ""))


def consents_needed(order: Order, record: ScreeningRecord | None) -> frozenset[ConsentKind]:
    """The consents this exam needs under the center's rules (contrast by class and route; sedation)."""
    protocol = shipped_catalog().protocol(order.protocol_code)
    variant = protocol.variant(order.contrast) if order.contrast else protocol.variants[0]
    route = {"iv": "intravenous", "oral": "oral", "intra_articular": "intra_articular"}.get(variant.route.value, "")
    answers = record.current_answers() if record else {}
    sedation = answers.get("comfort.sedation_arranged", {}).get("value") is True
    return required_consents(shipped_exam_day_rules().consents, contrast_agent=variant.agent.value, route=route,
                             sedation=sedation)


def screening_blocker(uow: UnitOfWork, order: Order, now: datetime) -> str | None:
    """Why screening keeps the patient from checking in, or None (docs/screening.md)."""
    rules = shipped_screening_rules()
    record = screenings(uow).for_order(order.id)
    if not applicable_questionnaires(build_case(uow, order, record, rules, now), rules):
        return None
    latest = record.latest_decision if record else None
    if record is None or latest is None or record.state is ScreeningState.OPEN:
        return "answer the safety screening questions"
    if any(rule["id"] == "screening.incomplete" for rule in latest["fired_rules"]):
        return "complete the safety screening: required questions are unanswered"
    if record.state in (ScreeningState.HELD, ScreeningState.CONTRAINDICATED):
        return f"safety screening is {record.state.value}: the radiologist decides first"
    return None


@dataclass(frozen=True)
class CheckInView:
    """Everything the desk sees for one arrival."""

    order: Order
    patient: Patient
    appointment: Appointment | None
    checkin: CheckIn | None
    coverage: CoverageFacts | None
    ordered: ExamFacts
    scheduled: ExamFacts | None
    mismatches: tuple[Mismatch, ...]
    consents_needed: frozenset[ConsentKind]
    screening: ScreeningRecord | None
    blockers: tuple[str, ...]


def _blockers(uow: UnitOfWork, order: Order, checkin: CheckIn, now: datetime) -> list[str]:
    record = screenings(uow).for_order(order.id)
    found = checkin.blockers(coverage=coverage_facts(uow, order), self_pay=order.self_pay,
                             consents_needed=consents_needed(order, record),
                             payment_note_required=shipped_exam_day_rules().payment_note_required)
    screening = screening_blocker(uow, order, now)
    return [*found, screening] if screening else found


def view_in(uow: UnitOfWork, order: Order, now: datetime) -> CheckInView:
    """The check-in view of an order inside an open unit of work."""
    checkin = checkins(uow).for_order(order.id)
    study = studies(uow).for_order(order.id)
    scheduled = scheduled_exam(study)
    record = screenings(uow).for_order(order.id)
    mismatches = compare_exams(ordered_exam(order), scheduled) if scheduled else ()
    blockers = tuple(_blockers(uow, order, checkin, now)) if checkin else ("check-in not started",)
    return CheckInView(order=order, patient=uow.patients.get(order.patient_id),
                       appointment=appointments(uow).live_for_order(order.id), checkin=checkin,
                       coverage=coverage_facts(uow, order), ordered=ordered_exam(order), scheduled=scheduled,
                       mismatches=mismatches, consents_needed=consents_needed(order, record), screening=record,
                       blockers=blockers)


@dataclass(frozen=True)
class GetCheckIn:
    """One arrival's check-in."""

    actor: Principal
    order_id: str


def get_checkin(cmd: GetCheckIn, uow: UnitOfWork, ctx: ServiceContext) -> CheckInView:
    """Read an arrival's check-in; audited as a read of the patient's record."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.CHECKIN, order)
        view = view_in(uow, order, ctx.clock.now())
        record_access(uow, ctx, cmd.actor, "checkin.read", patient_id=order.patient_id, object_type="order",
                      object_id=order.id)
        uow.commit()
        return view


@dataclass(frozen=True)
class ConsentInput:
    """A consent given at the desk."""

    kind: str
    method: str
    signer_name: str = ""
    witness: str = ""


@dataclass(frozen=True)
class RecordCheckIn:
    """What the desk confirmed (any part), and whether to check the patient in now."""

    actor: Principal
    order_id: str
    identifiers: Mapping[str, str] = field(default_factory=dict, hash=False)
    confirm_coverage: bool = False
    consents: tuple[ConsentInput, ...] = ()
    payment_note: str | None = None
    complete: bool = False


@dataclass(frozen=True)
class CheckInResult:
    """Where the check-in stands."""

    checkin_id: str
    state: str
    order_state: str
    blockers: tuple[str, ...]


def _open(uow: UnitOfWork, actor: Principal, order: Order, now: datetime) -> CheckIn:
    checkin = checkins(uow).for_order(order.id)
    if checkin is None:
        appointment = appointments(uow).live_for_order(order.id)
        checkin = CheckIn(id=new_id(), order_id=order.id, patient_id=order.patient_id,
                          appointment_id=appointment.id if appointment else "", state=CheckInState.OPEN,
                          opened_at=now, opened_by=actor.user_id)
        checkins(uow).add(checkin)
    elif checkin.state is CheckInState.LEFT:
        checkin.reopen(by=actor.user_id, at=now)
    return checkin


def _apply(uow: UnitOfWork, cmd: RecordCheckIn, order: Order, checkin: CheckIn, now: datetime) -> None:
    by = cmd.actor.user_id
    given = {k: v for k, v in cmd.identifiers.items() if v.strip()}
    if given:
        try:
            kinds = {IdentifierKind(k): v for k, v in given.items()}
        except ValueError:
            known = ", ".join(k.value for k in IdentifierKind)
            raise ValidationError(f"identifiers are of these kinds: {known}", field="identity") from None
        checkin.confirm_identity(kinds, patient_facts(uow.patients.get(order.patient_id)), by=by, at=now)
    if cmd.confirm_coverage:
        coverage = coverage_facts(uow, order)
        if coverage is None:
            raise ValidationError("no coverage on file to confirm: add the insurance first", field="coverage")
        checkin.confirm_coverage(coverage, by=by, at=now)
    for consent in cmd.consents:
        try:
            kind, method = ConsentKind(consent.kind), ConsentMethod(consent.method)
        except ValueError:
            raise ValidationError("a consent is contrast or sedation, by patient_signature or staff_attestation",
                                  field="consents") from None
        checkin.record_consent(kind, method, by=by, at=now, signer_name=consent.signer_name, witness=consent.witness)
    if cmd.payment_note is not None:
        checkin.note_payment(cmd.payment_note)
    scheduled = scheduled_exam(studies(uow).for_order(order.id))
    if scheduled is not None:
        checkin.compare(ordered_exam(order), scheduled)


def record_checkin(cmd: RecordCheckIn, uow: UnitOfWork, ctx: ServiceContext) -> CheckInResult:
    """Keep what was confirmed; check in when asked and nothing blocks (else keep progress and refuse)."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.CHECKIN, order)
        if order.state is not OrderState.SCHEDULED:
            raise Conflict(f"order {order.accession_number} is {order.state.value.replace('_', ' ')}: only a "
                           "scheduled exam is checked in")
        now = ctx.clock.now()
        checkin = _open(uow, cmd.actor, order, now)
        _apply(uow, cmd, order, checkin, now)
        blockers = _blockers(uow, order, checkin, now)
        if cmd.complete and not blockers:
            checkin.complete(by=cmd.actor.user_id, at=now, blockers=blockers)
            order.transition(OrderEvent.CHECKED_IN, by=cmd.actor.user_id, at=now,
                             details={"checkin_id": checkin.id, "consents": [c["kind"] for c in checkin.consents]})
        record_access(uow, ctx, cmd.actor, "checkin.record", patient_id=order.patient_id, object_type="order",
                      object_id=order.id, detail=f"{order.accession_number} {checkin.state.value}"
                                                 + (f"; blocked: {'; '.join(blockers)}" if blockers else ""))
        uow.commit()
        if cmd.complete and blockers:
            raise ValidationError("cannot check in yet: " + "; ".join(blockers), field="checkin")
        return CheckInResult(checkin.id, checkin.state.value, order.state.value, tuple(blockers))


@dataclass(frozen=True)
class ResolveExamMismatch:
    """Let a differing booked exam stand, saying how it was checked (with the ordering provider, the radiologist)."""

    actor: Principal
    order_id: str
    note: str


def resolve_exam_mismatch(cmd: ResolveExamMismatch, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Record the resolution on the check-in (the order's timeline keeps it too)."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.CHECKIN_RESOLVE_MISMATCH, order)
        now = ctx.clock.now()
        checkin = _open(uow, cmd.actor, order, now)
        scheduled = scheduled_exam(studies(uow).for_order(order.id))
        if scheduled is not None:
            checkin.compare(ordered_exam(order), scheduled)
        checkin.resolve_mismatch(cmd.note, by=cmd.actor.user_id, at=now)
        order.note("exam_mismatch_resolved", by=cmd.actor.user_id, at=now,
                   details={"mismatches": checkin.mismatches, "note": cmd.note.strip()})
        record_access(uow, ctx, cmd.actor, "checkin.resolve_mismatch", patient_id=order.patient_id,
                      object_type="order", object_id=order.id, detail=cmd.note.strip())
        uow.commit()
        return checkin.id


@dataclass(frozen=True)
class PatientLeft:
    """A checked-in patient left before the exam; the order goes back to scheduling."""

    actor: Principal
    order_id: str
    reason: str


def patient_left(cmd: PatientLeft, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Record the departure (the lifecycle's `patient_left`)."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.CHECKIN, order)
        now = ctx.clock.now()
        order.transition(OrderEvent.PATIENT_LEFT, by=cmd.actor.user_id, at=now, reason=cmd.reason)
        checkin = checkins(uow).for_order(order.id)
        if checkin is not None:
            checkin.leave(by=cmd.actor.user_id, at=now, reason=cmd.reason)
        record_access(uow, ctx, cmd.actor, "checkin.left", patient_id=order.patient_id, object_type="order",
                      object_id=order.id, detail=cmd.reason)
        uow.commit()
        return order.state.value


@dataclass(frozen=True)
class Arrivals:
    """Today's (or a day's) arrivals per site and room."""

    actor: Principal
    day: date
    site_id: str = ""
    scanner_id: str = ""


@dataclass(frozen=True)
class Arrival:
    """One expected patient: the appointment, the order, and where check-in and screening stand."""

    appointment: Appointment
    order: Order
    patient: Patient
    scanner_name: str
    checkin_state: str
    screening_state: str
    on_worklist: bool


def arrivals(cmd: Arrivals, uow: UnitOfWork, ctx: ServiceContext) -> list[Arrival]:
    """Appointments of the day (booked or attended) with their check-in and screening state, by start."""
    with uow:
        guard(cmd.actor, Action.ARRIVALS_READ)
        zone = capacity(uow).site(cmd.site_id).zone if cmd.site_id else ctx.settings.zone
        start = datetime.combine(cmd.day, time(), zone)
        found = appointments(uow).between(start, start + timedelta(days=1),
                                          (AppointmentState.BOOKED, AppointmentState.ATTENDED))
        found = [a for a in found if (not cmd.site_id or a.site_id == cmd.site_id)
                 and (not cmd.scanner_id or a.scanner_id == cmd.scanner_id)]
        order_ids = [a.order_id for a in found]
        ins, records = checkins(uow).for_orders(order_ids), screenings(uow).for_orders(order_ids)
        names = {s.id: s.name for s in capacity(uow).scanners()}
        rows = []
        for appointment in found:
            order = uow.orders.get(appointment.order_id)
            rows.append(Arrival(appointment, order, uow.patients.get(order.patient_id),
                                names.get(appointment.scanner_id, appointment.scanner_id),
                                ins[order.id].state.value if order.id in ins else "",
                                records[order.id].state.value if order.id in records else "",
                                bool(worklist(uow).for_order(order.id))))
        record_access(uow, ctx, cmd.actor, "arrivals.list", object_type="appointment",
                      detail=f"{cmd.day.isoformat()} {cmd.site_id} {cmd.scanner_id}: {len(rows)}")
        uow.commit()
        return rows


HANDLERS: dict[type, Handler] = {
    GetCheckIn: get_checkin,
    RecordCheckIn: record_checkin,
    ResolveExamMismatch: resolve_exam_mismatch,
    PatientLeft: patient_left,
    Arrivals: arrivals,
}
