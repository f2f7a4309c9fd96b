"""Preparation: the visit a patient comes for, its one combined preparation plan, and receipt of it.

A visit is a patient's booked appointments on one local day at a site. Its preparation merges
every exam's catalog preparation (`domain.protocols.combined_preparation`: the strictest fast,
every medication review, every item to bring) and turns it into timed steps in the site's zone:
"nothing to eat after 6:30 AM" rather than "fast for four hours".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from radflow.domain.errors import NotFound, ValidationError
from radflow.domain.ids import new_id
from radflow.domain.messaging.replies import PatientResponse, ResponseKind
from radflow.domain.policy import AccessTarget, Action
from radflow.domain.protocols import Abstain, MedicationReview, Preparation, combined_preparation
from radflow.domain.users import Principal
from radflow.services.access import guard
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import CatalogView, ServiceContext
from radflow.services.reminders.ports import messaging
from radflow.services.routing import order_variant
from radflow.services.scheduling.ports import appointments, capacity
from radflow.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class VisitExam:
    """One booked exam of a visit."""

    appointment_id: str
    order_id: str
    accession_number: str
    protocol_code: str
    modality: str
    start: datetime
    end: datetime
    patient_from: datetime
    site_id: str
    scanner_id: str
    sequence: int  # grows with every change of the appointment (the calendar's SEQUENCE)


@dataclass(frozen=True)
class Visit:
    """A patient's booked exams on one local day."""

    patient_id: str
    day: date
    timezone: str
    exams: tuple[VisitExam, ...]

    @property
    def zone(self) -> ZoneInfo:
        """The site's zone (the visit's clock times are read there)."""
        return ZoneInfo(self.timezone)

    @property
    def first(self) -> VisitExam:
        """The exam the patient is needed for first."""
        return min(self.exams, key=lambda e: e.patient_from)

    @property
    def modalities(self) -> list[str]:
        """The modalities of the visit's exams."""
        return [e.modality for e in self.exams]

    @property
    def appointment_ids(self) -> list[str]:
        """The appointments of the visit."""
        return [e.appointment_id for e in self.exams]

    @property
    def order_ids(self) -> list[str]:
        """The orders of the visit."""
        return [e.order_id for e in self.exams]

    def digest(self) -> str:
        """A short fingerprint of what the patient was told: changes when an exam is added, moved or dropped."""
        text = "|".join(sorted(f"{e.appointment_id}@{e.scanner_id}@{e.start.isoformat()}" for e in self.exams))
        return hashlib.sha256(text.encode()).hexdigest()[:10]


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants a local day starts and ends (23 or 25 hours on daylight-saving days)."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


def site_zone(uow: UnitOfWork, site_id: str) -> ZoneInfo:
    """The timezone of a site."""
    return capacity(uow).site(site_id).zone


def find_visit(uow: UnitOfWork, patient_id: str, day: date, zone: ZoneInfo) -> Visit | None:
    """The patient's booked exams starting on `day` in `zone`, or None when there are none."""
    start, end = day_bounds(day, zone)
    exams = []
    for booking in appointments(uow).for_patient(patient_id, start, end):
        appointment = booking.appointment
        if not appointment.holds_capacity or not start <= appointment.start < end:
            continue
        order = uow.orders.get(appointment.order_id)
        exams.append(VisitExam(
            appointment_id=appointment.id, order_id=order.id, accession_number=order.accession_number,
            protocol_code=order.protocol_code, modality=order.requested_modality, start=appointment.start,
            end=appointment.end, patient_from=appointment.patient_from, site_id=appointment.site_id,
            scanner_id=appointment.scanner_id, sequence=len(appointment.log)))
    if not exams:
        return None
    return Visit(patient_id, day, zone.key, tuple(sorted(exams, key=lambda e: e.patient_from)))


_MEDICATION_WORDS = {
    MedicationReview.METFORMIN: "metformin (Glucophage)",
    MedicationReview.DIABETIC_MEDICATION: "insulin or other diabetes medicines",
    MedicationReview.THYROID_MEDICATION: "thyroid medicines (levothyroxine, methimazole)",
    MedicationReview.BETA_BLOCKER: "beta blockers (metoprolol, atenolol)",
    MedicationReview.PDE5_INHIBITOR: "sildenafil, tadalafil or similar",
    MedicationReview.OPIOID: "opioid pain medicines",
    MedicationReview.PROKINETIC: "metoclopramide or other stomach-emptying medicines",
    MedicationReview.ANTICOAGULANT: "blood thinners (warfarin, apixaban, clopidogrel)",
    MedicationReview.DIURETIC: "water pills (diuretics)",
}
_ABSTAIN_WORDS = {
    Abstain.CAFFEINE: "caffeine (coffee, tea, cola, chocolate, decaf too)",
    Abstain.STRENUOUS_EXERCISE: "strenuous exercise",
    Abstain.IODINE_RICH_FOOD: "iodine-rich food (seafood, iodized salt, kelp)",
    Abstain.CARBOHYDRATES: "sugar and starchy food",
    Abstain.SMOKING: "smoking",
}


def clock_time(moment: datetime, zone: ZoneInfo) -> str:
    """'7:30 AM' in `zone`."""
    local = moment.astimezone(zone)
    return local.strftime("%I:%M %p").lstrip("0")


def day_text(moment: datetime, zone: ZoneInfo) -> str:
    """'Tuesday, March 10' in `zone`."""
    local = moment.astimezone(zone)
    return f"{local:%A}, {local:%B} {local.day}"


@dataclass(frozen=True)
class PreparationPlan:
    """What the patient does before the visit, with clock times."""

    arrive_at: datetime
    steps: tuple[str, ...]
    explanations: tuple[str, ...]  # each exam's own text from the catalog
    bring: tuple[str, ...]
    exam_names: tuple[str, ...]
    sources: str


def visit_preparation(visit: Visit, catalog: CatalogView, uow: UnitOfWork) -> tuple[Preparation, list[str]]:
    """The combined preparation of the visit and its exams' names."""
    preparations, names = [], []
    for exam in visit.exams:
        order = uow.orders.get(exam.order_id)
        protocol = catalog.protocol(order.protocol_code)
        preparations.append(protocol.preparation_for(order_variant(protocol, order)))
        names.append(protocol.name)
    return combined_preparation(preparations, key=f"visit-{visit.day.isoformat()}"), names


def preparation_plan(visit: Visit, catalog: CatalogView, uow: UnitOfWork) -> PreparationPlan:
    """The visit's timed preparation steps in the site's zone."""
    prep, names = visit_preparation(visit, catalog, uow)
    zone, first = visit.zone, visit.first.patient_from
    arrive = first - timedelta(minutes=prep.arrival_minutes_before)
    steps = [f"Please arrive at {clock_time(arrive, zone)} on {day_text(arrive, zone)}."]
    if prep.fasting_hours:
        stop = first - timedelta(hours=prep.fasting_hours)
        steps.append(f"Do not eat after {clock_time(stop, zone)} ({prep.fasting_hours} hours before your first "
                     "exam)." + (" Clear liquids such as water are fine." if prep.clear_liquids_allowed else
                                 " Do not drink either, except sips of water with your medicines."))
    if prep.hydration_ml:
        finish = first - timedelta(minutes=prep.hydration_finish_minutes_before)
        steps.append(f"Drink {prep.hydration_ml} ml of water, finishing by {clock_time(finish, zone)}.")
    if prep.full_bladder:
        steps.append("Come with a full bladder: do not empty it before the exam.")
    if prep.empty_bladder:
        steps.append("You will be asked to empty your bladder before the exam that needs it.")
    if prep.oral_contrast_minutes_before:
        steps.append(f"You will drink a contrast liquid here, about {prep.oral_contrast_minutes_before} minutes "
                     "before your scan.")
    for item in prep.abstain:
        since = first - timedelta(hours=item.hours)
        steps.append(f"No {_ABSTAIN_WORDS.get(item.what, item.what.value)} after {clock_time(since, zone)} "
                     f"on {day_text(since, zone)}.")
    if prep.no_deodorant_or_powder:
        steps.append("Do not wear deodorant, antiperspirant, powder or lotion under your arms or on your chest.")
    if prep.mammography_timing:
        steps.append(prep.mammography_timing)
    if prep.medication_review:
        listed = ", ".join(_MEDICATION_WORDS.get(m, m.value) for m in prep.medication_review)
        steps.append(f"If you take {listed}, call us before the visit: we will tell you whether to pause them.")
    explanations = tuple(t for t in prep.patient_text.split("\n\n") if t.strip())
    return PreparationPlan(arrive_at=arrive, steps=tuple(steps), explanations=explanations, bring=prep.bring,
                           exam_names=tuple(names), sources=prep.source)


@dataclass(frozen=True)
class RecordPatientResponse:
    """The patient confirmed the visit or the receipt of their preparation (at the desk, by phone, on the portal)."""

    actor: Principal
    patient_id: str
    visit_date: date
    kind: str  # confirmed, preparation_received
    via: str = "desk"
    note: str = ""


def record_patient_response(cmd: RecordPatientResponse, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Record the answer on the visit (its screen shows it beside the messages)."""
    try:
        kind = ResponseKind(cmd.kind)
    except ValueError:
        raise ValidationError(f"'{cmd.kind}' is not an answer radflow records: use confirmed or "
                              "preparation_received", field="kind") from None
    if kind not in (ResponseKind.CONFIRMED, ResponseKind.PREPARATION_RECEIVED):
        raise ValidationError("only a confirmation or a receipt of the preparation is recorded by hand", field="kind")
    if cmd.via not in ("desk", "phone", "portal", "email", "sms"):
        raise ValidationError(f"'{cmd.via}' is not a way a patient answers: desk, phone, portal, email or sms",
                              field="via")
    with uow:
        patient = uow.patients.get(cmd.patient_id)
        guard(cmd.actor, Action.PREPARATION_CONFIRM, AccessTarget(patient_id=patient.id), object_type="patient",
              object_id=patient.id)
        visit = find_visit(uow, patient.id, cmd.visit_date, ctx.settings.zone) or _visit_any_site(uow, patient.id,
                                                                                                   cmd.visit_date)
        if visit is None:
            raise NotFound(f"{patient.display_name} has no booked visit on {cmd.visit_date.isoformat()}")
        response = PatientResponse(id=new_id(), patient_id=patient.id, visit_date=visit.day.isoformat(), kind=kind,
                                   at=ctx.clock.now(), via=cmd.via, recorded_by=cmd.actor.user_id,
                                   appointment_ids=visit.appointment_ids, note=cmd.note.strip()[:500])
        messaging(uow).add_response(response)
        record_access(uow, ctx, cmd.actor, f"preparation.{kind.value}", patient_id=patient.id,
                      object_type="patient", object_id=patient.id, detail=f"{visit.day.isoformat()} via {cmd.via}")
        uow.commit()
        return response.id


def _visit_any_site(uow: UnitOfWork, patient_id: str, day: date) -> Visit | None:
    """The visit on `day` read in its own site's zone (a site in another zone than the center's)."""
    wide_start = datetime.combine(day - timedelta(days=1), time(0), tzinfo=ZoneInfo("UTC"))
    for booking in appointments(uow).for_patient(patient_id, wide_start, wide_start + timedelta(days=3)):
        zone = site_zone(uow, booking.appointment.site_id)
        if booking.appointment.start.astimezone(zone).date() == day:
            return find_visit(uow, patient_id, day, zone)
    return None


def visit_summary(visit: Visit) -> dict[str, Any]:
    """A plain description of a visit (job payloads, API answers)."""
    return {"patient_id": visit.patient_id, "visit_date": visit.day.isoformat(), "timezone": visit.timezone,
            "appointment_ids": visit.appointment_ids, "order_ids": visit.order_ids}


HANDLERS: dict[type, Handler] = {RecordPatientResponse: record_patient_response}
