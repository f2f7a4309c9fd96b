"""The technologist's views of a room, the studies, the rooms' station settings, and a worklist bulk load."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from radflow.domain.errors import ValidationError
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.policy import AccessTarget, Action, may_access
from radflow.domain.screening.record import ScreeningRecord
from radflow.domain.study import Study, StudyState, WorklistTrigger
from radflow.domain.users import Principal, Role
from radflow.services.access import guard, guard_order, order_target
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.exam_day.ports import Station, WorklistRow, screenings, stations, studies, worklist
from radflow.services.exam_day.worklist import default_station
from radflow.services.scheduling.ports import capacity
from radflow.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class RoomDay:
    """A room's worklist for a day (the items its scanner sees) and the studies waiting for QC."""

    actor: Principal
    day: date
    station_ae_title: str = ""


@dataclass(frozen=True)
class RoomItem:
    """One item of a room's day, with its order, patient, study and screening."""

    row: WorklistRow
    order: Order | None
    patient: Patient | None
    study: Study | None
    screening: ScreeningRecord | None


@dataclass(frozen=True)
class RoomDayView:
    """The items on the room's worklist and the studies of any room waiting for QC."""

    items: tuple[RoomItem, ...]
    awaiting_qc: tuple[RoomItem, ...]
    stations: tuple[Station, ...]


def _items(uow: UnitOfWork, rows: Sequence[WorklistRow]) -> list[RoomItem]:
    order_ids = [r.order_id for r in rows if r.order_id]
    found_studies, records = studies(uow).for_orders(order_ids), screenings(uow).for_orders(order_ids)
    items = []
    for row in rows:
        order = uow.orders.find(row.order_id) if row.order_id else None
        patient = uow.patients.find(order.patient_id) if order else None
        items.append(RoomItem(row, order, patient, found_studies.get(row.order_id), records.get(row.order_id)))
    return items


def room_day(cmd: RoomDay, uow: UnitOfWork, ctx: ServiceContext) -> RoomDayView:
    """The room's worklist for the day (every room when no station is named) and the QC queue."""
    with uow:
        guard(cmd.actor, Action.MODALITY_WORKLIST)
        zone = ctx.settings.zone
        start = datetime.combine(cmd.day, time(), zone)
        wanted = (cmd.station_ae_title,) if cmd.station_ae_title else ()
        rows = worklist(uow).between(start, start + timedelta(days=1), wanted)
        qc_studies = studies(uow).in_states((StudyState.ACQUIRED,), 500)
        qc_rows = []
        for study in qc_studies:
            stations_used = {s.station_ae_title for s in study.steps()}
            if wanted and not stations_used & set(wanted):
                continue
            qc_rows.append(WorklistRow(study.accession_number, study.order_id, ",".join(sorted(stations_used)),
                                       study.modality, study.created_at, "", "", "ACQUIRED", {}))
        rooms = _all_stations(uow)
        record_access(uow, ctx, cmd.actor, "worklist.room", object_type="worklist",
                      detail=f"{cmd.day.isoformat()} {cmd.station_ae_title or 'all'}: {len(rows)} items")
        view = RoomDayView(tuple(_items(uow, rows)), tuple(_items(uow, qc_rows)), tuple(rooms))
        uow.commit()
        return view


def _all_stations(uow: UnitOfWork) -> list[Station]:
    configured = {s.scanner_id: s for s in stations(uow).all()}
    return [configured.get(scanner.id) or default_station(scanner) for scanner in capacity(uow).scanners()]


@dataclass(frozen=True)
class GetStudy:
    """What was performed for an order (steps, contrast, dose, verification, interruptions, QC)."""

    actor: Principal
    order_id: str


@dataclass(frozen=True)
class StudyView:
    """An order's exam as performed."""

    order: Order
    patient: Patient
    study: Study | None
    screening: ScreeningRecord | None


def get_study(cmd: GetStudy, uow: UnitOfWork, ctx: ServiceContext) -> StudyView:
    """Read an order's study; audited."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.STUDY_READ, order)
        view = StudyView(order, uow.patients.get(order.patient_id), studies(uow).for_order(order.id),
                         screenings(uow).for_order(order.id))
        record_access(uow, ctx, cmd.actor, "study.read", patient_id=order.patient_id, object_type="order",
                      object_id=order.id)
        uow.commit()
        return view


@dataclass(frozen=True)
class PatientStudies:
    """A patient's studies with their orders (their own, for a patient)."""

    actor: Principal
    patient_id: str


def patient_studies(cmd: PatientStudies, uow: UnitOfWork, ctx: ServiceContext) -> list[StudyView]:
    """The patient's studies, each with its order; a referring provider sees only their orders' studies."""
    with uow:
        guard(cmd.actor, Action.STUDY_READ, AccessTarget(patient_id=cmd.patient_id) if cmd.actor.role is Role.PATIENT
              else None, object_type="patient", object_id=cmd.patient_id)
        orders = uow.orders.for_patient(cmd.patient_id)
        visible = [o for o in orders if may_access(cmd.actor, order_target(o))]
        found = studies(uow).for_orders([o.id for o in visible])
        patient = uow.patients.get(cmd.patient_id)
        views = [StudyView(o, patient, found[o.id], screenings(uow).for_order(o.id)) for o in visible if o.id in found]
        record_access(uow, ctx, cmd.actor, "study.list", patient_id=cmd.patient_id, object_type="study",
                      detail=f"{len(views)} studies")
        uow.commit()
        return views


@dataclass(frozen=True)
class ListStations:
    """Every room with its station settings (configured or default)."""

    actor: Principal


def list_stations(cmd: ListStations, uow: UnitOfWork, ctx: ServiceContext) -> list[Station]:
    """The rooms' DICOM identities and worklist rules."""
    with uow:
        guard(cmd.actor, Action.MODALITY_WORKLIST)
        found = _all_stations(uow)
        record_access(uow, ctx, cmd.actor, "station.list", object_type="scanner", detail=f"{len(found)} rooms")
        uow.commit()
        return found


@dataclass(frozen=True)
class SaveStation:
    """Set a room's station AE title, name, location and when its exams appear on its worklist."""

    actor: Principal
    scanner_id: str
    station_ae_title: str
    worklist_on: str = "scheduled"
    station_name: str = ""
    location: str = ""


def save_station(cmd: SaveStation, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Validate (PS3.5 AE: 1–16 characters, no backslash or control characters) and save."""
    title = cmd.station_ae_title.strip()
    if not 0 < len(title) <= 16 or "\\" in title or not title.isprintable():
        raise ValidationError("a station AE title has 1 to 16 printable characters, no backslash (PS3.5 6.2)",
                              field="station_ae_title")
    try:
        trigger = WorklistTrigger(cmd.worklist_on)
    except ValueError:
        raise ValidationError("worklist_on is 'scheduled' or 'check_in'", field="worklist_on") from None
    with uow:
        guard(cmd.actor, Action.STATION_MANAGE)
        capacity(uow).scanner(cmd.scanner_id)
        other = stations(uow).by_ae_title(title)
        if other is not None and other.scanner_id != cmd.scanner_id:
            raise ValidationError(f"{title} is already the station AE title of {other.scanner_id}",
                                  field="station_ae_title")
        stations(uow).save(Station(cmd.scanner_id, title, trigger.value, cmd.station_name.strip()[:16],
                                   cmd.location.strip()[:16]))
        record_access(uow, ctx, cmd.actor, "station.save", object_type="scanner", object_id=cmd.scanner_id,
                      detail=f"{title} {trigger.value}")
        uow.commit()
        return cmd.scanner_id


def row_from_keywords(record: Mapping[str, Any], zone: ZoneInfo, *, order_id: str = "") -> WorklistRow:
    """A projection row from a worklist item in keyword JSON (the MWL benchmark kit's format)."""
    steps = record.get("ScheduledProcedureStepSequence") or []
    if len(steps) != 1 or not record.get("AccessionNumber"):
        raise ValidationError("an item needs an AccessionNumber and exactly one scheduled procedure step",
                              field="ScheduledProcedureStepSequence")
    step = steps[0]
    day, clock = str(step.get("ScheduledProcedureStepStartDate", "")), str(step.get("ScheduledProcedureStepStartTime",
                                                                                      ""))
    try:
        local = datetime.strptime(day + clock[:6].ljust(6, "0"), "%Y%m%d%H%M%S").replace(tzinfo=zone)
    except ValueError:
        raise ValidationError(f"item {record.get('AccessionNumber')}: start {day} {clock} is not a DICOM date and "
                              "time", field="ScheduledProcedureStepStartDate") from None
    return WorklistRow(accession_number=str(record["AccessionNumber"]), order_id=order_id,
                       station_ae_title=str(step.get("ScheduledStationAETitle", "")),
                       modality=str(step.get("Modality", "")), start=local.astimezone(ZoneInfo("UTC")),
                       dicom_patient_id=str(record.get("PatientID", "")),
                       patient_name=str(record.get("PatientName", "")),
                       step_status=str(step.get("ScheduledProcedureStepStatus") or "SCHEDULED"), item=dict(record))


@dataclass(frozen=True)
class ImportWorklist:
    """Replace the whole worklist with items in keyword JSON (a migration from another RIS, or a benchmark)."""

    actor: Principal
    items: Iterable[Mapping[str, Any]]


def import_worklist(cmd: ImportWorklist, uow: UnitOfWork, ctx: ServiceContext) -> int:
    """Hold exactly these items (read one at a time: a million-item load streams); returns how many."""
    with uow:
        guard(cmd.actor, Action.STATION_MANAGE)
        rows = (row_from_keywords(item, ctx.settings.zone) for item in cmd.items)
        count = worklist(uow).replace_all(rows, ctx.clock.now())
        record_access(uow, ctx, cmd.actor, "worklist.import", object_type="worklist", detail=f"{count} items")
        uow.commit()
        return count


HANDLERS: dict[type, Handler] = {
    RoomDay: room_day,
    GetStudy: get_study,
    PatientStudies: patient_studies,
    ListStations: list_stations,
    SaveStation: save_station,
    ImportWorklist: import_worklist,
}
