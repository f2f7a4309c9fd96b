"""The modality worklist projection: one item per exam a room's scanner may pick, kept in step with the order.

In-transaction event handlers (DESIGN §2, the outbox pattern) re-project an order whenever it moves,
its patient is merged, or its screening is decided: the item appears when the exam is scheduled (or
at check-in, per room — `Station.worklist_on`) and leaves when it is completed, cancelled, missed or
held (`radflow.domain.study.worklist_step_status`). The item is written in the worklist JSON model
(DICOM keywords, DICOM string values, the step's start in the site's local time), so the DICOM edge
answers a scanner without touching the order tables.

The study of an order is created here too, when it is first booked, with a snapshot of the exam as
scheduled (what check-in compares the order with).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from radflow.domain.appointment import Appointment, AppointmentRescheduled, AppointmentState
from radflow.domain.capacity.model import Scanner
from radflow.domain.errors import NotFound
from radflow.domain.events import DomainEvent, OrderTransitioned, PatientsMerged
from radflow.domain.ids import new_id
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.order import Order
from radflow.domain.patient import RADFLOW_AUTHORITY, Patient
from radflow.domain.protocols import ContrastAgent, Protocol
from radflow.domain.screening.record import ScreeningDecided, ScreeningRecord
from radflow.domain.study import Study, StudyState, WorklistTrigger, worklist_step_status
from radflow.services.context import CatalogView
from radflow.services.exam_day.ports import Station, WorklistRow, screenings, stations, studies, worklist
from radflow.services.exam_day.rules import shipped_exam_day_rules
from radflow.services.scheduling.ports import appointments, capacity
from radflow.services.unit_of_work import UnitOfWork

#: DICOM Requested Procedure Priority (0040,1003) for each routing track.
_PRIORITY = {"stat": "STAT", "urgent": "HIGH", "routine": "ROUTINE"}
#: DICOM Pregnancy Status (0010,21C0) for each answer of the screening item `pregnancy.status`.
_PREGNANCY = {"not_pregnant": 1, "unknown": 2, "pregnant": 3}


@dataclass(frozen=True)
class Placement:
    """Where and when an exam is on a worklist: the room, its site's zone, the start (UTC)."""

    scanner: Scanner
    zone: ZoneInfo
    start: datetime


def default_station(scanner: Scanner) -> Station:
    """A room without station settings: its scanner id is its AE title (upper case, at most 16 characters)."""
    return Station(scanner_id=scanner.id, station_ae_title=scanner.id.upper()[:16], station_name=scanner.name[:16],
                   location=scanner.site_id[:16])


def station_for(uow: UnitOfWork, scanner: Scanner) -> Station:
    """The room's station settings, configured or default."""
    return stations(uow).get(scanner.id) or default_station(scanner)


def ensure_study(uow: UnitOfWork, order: Order, at: datetime) -> Study:
    """The order's study, created on first need with the order's accession and Study Instance UID."""
    found = studies(uow).for_order(order.id)
    if found is not None:
        return found
    study = Study(id=new_id(), order_id=order.id, patient_id=order.patient_id, accession_number=order.accession_number,
                  study_instance_uid=order.study_instance_uid, modality=order.requested_modality,
                  state=StudyState.PENDING, created_at=at)
    studies(uow).add(study)
    return study


def placement_for(uow: UnitOfWork, order: Order, study: Study | None) -> Placement | None:
    """The order's booked (or attended: checked in) appointment, else the walk-in placement on its study."""
    appointment = current_appointment(uow, order.id)
    scanner_id, start = "", None
    if appointment is not None:
        scanner_id, start = appointment.scanner_id, appointment.start
    elif study is not None and study.walk_in:
        scanner_id, start = study.walk_in["scanner_id"], datetime.fromisoformat(study.walk_in["start"])
    if not scanner_id or start is None:
        return None
    try:
        scanner = capacity(uow).scanner(scanner_id)
        zone = capacity(uow).site(scanner.site_id).zone
    except NotFound:
        return None
    return Placement(scanner, zone, start)


def current_appointment(uow: UnitOfWork, order_id: str) -> Appointment | None:
    """The order's appointment that is booked, or attended (the patient checked in and is being examined)."""
    live = appointments(uow).live_for_order(order_id)
    if live is not None:
        return live
    attended = [a for a in appointments(uow).for_order(order_id) if a.state is AppointmentState.ATTENDED]
    return attended[-1] if attended else None


def _person_name(family: str, given: str, middle: str = "") -> str:
    # PS3.5 6.2.1: family^given^middle; '^' and '=' inside a component would split it.
    parts = [p.replace("^", " ").replace("=", " ").strip() for p in (family, given, middle)]
    return "^".join(parts).rstrip("^")


def _safety(record: ScreeningRecord | None) -> dict[str, Any]:
    """Medical Alerts, Allergies, Pregnancy Status and Patient's Weight from the screening answers."""
    if record is None:
        return {}
    answers = {link: entry["value"] for link, entry in record.current_answers().items()}
    allergies = [f"{agent} CONTRAST ({answers[link].replace('_', ' ').upper()})"
                 for link, agent in (("contrast.iodinated_reaction", "IODINATED"), ("contrast.gbca_reaction",
                                                                                  "GADOLINIUM"))
                 if answers.get(link) not in (None, "none")]
    if answers.get("contrast.other_allergies") is True:
        allergies.append("OTHER ALLERGIES (SEE SCREENING)")
    latest = record.latest_decision or {}
    alerts = [f"SCREENING {record.state.value.replace('_', ' ').upper()}"] if latest else []
    alerts += [rule["id"].upper()[:64] for rule in latest.get("fired_rules", []) if rule["outcome"] != "CLEAR"]
    values: dict[str, Any] = {}
    if alerts:
        values["MedicalAlerts"] = "\\".join(a[:64] for a in alerts[:8])
    if allergies:
        values["Allergies"] = "\\".join(a[:64] for a in allergies)
    if answers.get("pregnancy.status") in _PREGNANCY:
        values["PregnancyStatus"] = _PREGNANCY[answers["pregnancy.status"]]
    if isinstance(answers.get("body.weight_kg"), int | float):
        values["PatientWeight"] = f"{float(answers['body.weight_kg']):g}"
    return values


def worklist_item(order: Order, patient: Patient, protocol: Protocol, placement: Placement, station: Station,
                  step_status: str, record: ScreeningRecord | None) -> dict[str, Any]:
    """The worklist item of an order in the keyword JSON model (IHE RAD-5 return keys)."""
    variant = protocol.variant(order.contrast) if order.contrast else protocol.variants[0]
    local = placement.start.astimezone(placement.zone)
    agent = shipped_exam_day_rules().formulary.get(variant.agent.value, "") if variant.agent in (
        ContrastAgent.IODINATED, ContrastAgent.GADOLINIUM) else ""
    phase = variant.phase.value.replace("_", " ")
    description = f"{protocol.name} {phase}" if variant.has_contrast else protocol.name
    mrn_authority = next((i.authority for i in patient.identifiers if i.value == patient.mrn), RADFLOW_AUTHORITY)
    item: dict[str, Any] = {
        "AccessionNumber": order.accession_number,
        "PatientName": _person_name(patient.family_name, patient.given_name, patient.middle_name),
        "PatientID": patient.mrn,
        "IssuerOfPatientID": mrn_authority,
        "PatientBirthDate": patient.birth_date.strftime("%Y%m%d"),
        # DICOM Patient's Sex (0010,0040) is M, F or O; unknown stays empty.
        "PatientSex": patient.sex.value if patient.sex.value in ("M", "F", "O") else "",
        "StudyInstanceUID": order.study_instance_uid,
        "RequestedProcedureID": order.accession_number,
        "RequestedProcedureDescription": description[:64],
        "RequestedProcedureCodeSequence": [{"CodeValue": variant.cpt, "CodingSchemeDesignator": "C4",
                                            "CodeMeaning": protocol.name[:64]}],
        "RequestedProcedurePriority": _PRIORITY.get(order.track.value, "ROUTINE"),
        "ReferringPhysicianName": order.ordering_provider_name.replace("^", " ")[:64],
        "RouteOfAdmissions": order.setting.value,
        "ScheduledProcedureStepSequence": [{
            "Modality": placement.scanner.modality.value,
            "ScheduledStationAETitle": station.station_ae_title,
            "ScheduledProcedureStepStartDate": local.strftime("%Y%m%d"),
            "ScheduledProcedureStepStartTime": local.strftime("%H%M%S"),
            "ScheduledProcedureStepDescription": description[:64],
            "ScheduledProtocolCodeSequence": [{"CodeValue": protocol.code[:16], "CodingSchemeDesignator": "99RADFLOW",
                                               "CodeMeaning": protocol.name[:64]}],
            "ScheduledProcedureStepID": order.accession_number,
            "ScheduledStationName": station.station_name or placement.scanner.name[:16],
            "ScheduledProcedureStepLocation": station.location,
            "RequestedContrastAgent": agent[:64],
            "ScheduledProcedureStepStatus": step_status,
        }],
    }
    item.update(_safety(record))
    return item


def project_order(uow: UnitOfWork, order: Order, at: datetime) -> WorklistRow | None:
    """Put the order on its room's worklist, or take it off, as its state says; returns the item kept."""
    study = studies(uow).for_order(order.id)
    placement = placement_for(uow, order, study)
    if placement is None:
        _remove_all(uow, order)
        return None
    station = station_for(uow, placement.scanner)
    status = worklist_step_status(order.state, WorklistTrigger(station.worklist_on))
    if status is None:
        _remove_all(uow, order)
        return None
    patient = uow.patients.get(order.patient_id)
    protocol = _protocol(order)
    if protocol is None:
        _remove_all(uow, order)
        return None
    item = worklist_item(order, patient, protocol, placement, station, status, screenings(uow).for_order(order.id))
    row = WorklistRow(accession_number=order.accession_number, order_id=order.id,
                      station_ae_title=station.station_ae_title, modality=placement.scanner.modality.value,
                      start=placement.start, dicom_patient_id=patient.mrn, patient_name=item["PatientName"],
                      step_status=status, item=item)
    worklist(uow).put(row, at)
    return row


def _remove_all(uow: UnitOfWork, order: Order) -> None:
    for row in worklist(uow).for_order(order.id):
        worklist(uow).remove(row.accession_number)


@lru_cache(maxsize=1)
def shipped_catalog() -> CatalogView:
    """The shipped catalog (immutable reference data), loaded once per process for the event handlers.

    In-transaction handlers get no service context; the catalog they need is the one bootstrap loads.
    """
    from radflow.catalog.loader import load_catalog

    return load_catalog()


def _protocol(order: Order) -> Protocol | None:
    try:
        return shipped_catalog().protocol(order.protocol_code)
    except NotFound:
        return None


def snapshot_scheduled_exam(uow: UnitOfWork, order: Order, at: datetime) -> None:
    """Keep the exam as booked on the order's study, for check-in to compare the order with."""
    appointment = appointments(uow).live_for_order(order.id)
    if appointment is None:
        return
    study = ensure_study(uow, order, at)
    study.scheduled_exam = {
        "protocol_code": order.protocol_code, "modality": order.requested_modality,
        "contrast": order.contrast.value if order.contrast else "",
        "laterality": order.laterality.value if order.laterality else "", "body_part": order.body_part,
        "scanner_id": appointment.scanner_id, "start": appointment.start.isoformat(),
        "minutes": appointment.minutes,
    }
    if study.state is StudyState.INCOMPLETE:
        study.return_to_scheduling(by=appointment.booked_by, at=at, note="booked again")


_BOOKING_EVENTS = {OrderEvent.BOOKED.value, OrderEvent.RESCHEDULED.value}


def _may_be_listed(state: str | None) -> bool:
    """Whether an order in this state can have a worklist item under any room's trigger."""
    try:
        order_state = OrderState(state) if state else None
    except ValueError:
        return True  # unknown to this table: project to be safe
    return order_state is not None and any(worklist_step_status(order_state, trigger) is not None
                                           for trigger in WorklistTrigger)


def on_order_transitioned(event: DomainEvent, uow: UnitOfWork) -> None:
    """Re-project an order that moved; snapshot the booked exam when it was booked or moved."""
    if not isinstance(event, OrderTransitioned):
        return
    if not (_may_be_listed(event.from_state) or _may_be_listed(event.to_state)):
        return  # neither before nor after on any worklist (intake, reading, reporting): nothing to project
    order = uow.orders.find(event.order_id)
    if order is None:
        return
    if event.event in _BOOKING_EVENTS and order.state is OrderState.SCHEDULED:
        snapshot_scheduled_exam(uow, order, event.at)
    project_order(uow, order, event.at)


def on_patients_merged(event: DomainEvent, uow: UnitOfWork) -> None:
    """A merged patient's exams show the surviving record's identity on the worklist."""
    if not isinstance(event, PatientsMerged):
        return
    for order in uow.orders.for_patient(event.survivor_id):
        project_order(uow, order, event.at)


def on_screening_decided(event: DomainEvent, uow: UnitOfWork) -> None:
    """A screening decision changes the safety fields the worklist carries."""
    if not isinstance(event, ScreeningDecided):
        return
    order = uow.orders.find(event.order_id)
    if order is not None:
        project_order(uow, order, event.at)


def on_appointment_rescheduled(event: DomainEvent, uow: UnitOfWork) -> None:
    """A moved appointment moves its item (the order's own event follows in the same transaction)."""
    if isinstance(event, AppointmentRescheduled):
        order = uow.orders.find(event.order_id)
        if order is not None:
            project_order(uow, order, event.at)


EVENT_HANDLERS = {
    OrderTransitioned: [on_order_transitioned],
    PatientsMerged: [on_patients_merged],
    ScreeningDecided: [on_screening_decided],
    AppointmentRescheduled: [on_appointment_rescheduled],
}
