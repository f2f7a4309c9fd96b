"""SQL repositories of the exam day (inside a unit of work), and the imperative mapping of its aggregates."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, registry

from radflow.adapters.db.exam_day_tables import (
    checkins,
    exam_day_stations,
    mpps_exceptions,
    mwl_items,
    screening_records,
    studies,
)
from radflow.domain.checkin import CheckIn
from radflow.domain.errors import NotFound
from radflow.domain.screening.record import ScreeningRecord, ScreeningState
from radflow.domain.study import Study, StudyState
from radflow.services.exam_day.ports import MppsException, Station, WorklistRow


def map_exam_day(reg: registry) -> None:
    """Map Study, CheckIn and ScreeningRecord on the shared registry (with optimistic locking)."""
    reg.map_imperatively(Study, studies, version_id_col=studies.c.version)
    reg.map_imperatively(CheckIn, checkins, version_id_col=checkins.c.version)
    reg.map_imperatively(ScreeningRecord, screening_records, version_id_col=screening_records.c.version)


def upsert(session: Session, table: Any, values: Mapping[str, Any], keys: Sequence[str]) -> None:
    """Insert a row or update the one with the same key (one statement, safe under concurrency)."""
    dialect = session.get_bind().dialect.name
    builder = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = builder(table).values(**values)
    changes = {name: statement.excluded[name] for name in values if name not in keys}
    session.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=changes))


class SqlStudies:
    """Studies in SQL."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, study: Study) -> None:
        self.session.add(study)

    def for_order(self, order_id: str) -> Study | None:
        return self.session.scalars(select(Study).where(studies.c.order_id == order_id)).first()

    def for_orders(self, order_ids: Sequence[str]) -> dict[str, Study]:
        if not order_ids:
            return {}
        found = self.session.scalars(select(Study).where(studies.c.order_id.in_(list(order_ids))))
        return {study.order_id: study for study in found}

    def in_states(self, states: Sequence[StudyState], limit: int) -> list[Study]:
        stmt = select(Study).where(studies.c.state.in_([s.value for s in states])).order_by(studies.c.created_at)
        return list(self.session.scalars(stmt.limit(limit)))


class SqlCheckIns:
    """Check-ins in SQL."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, checkin: CheckIn) -> None:
        self.session.add(checkin)

    def for_order(self, order_id: str) -> CheckIn | None:
        return self.session.scalars(select(CheckIn).where(checkins.c.order_id == order_id)).first()

    def for_orders(self, order_ids: Sequence[str]) -> dict[str, CheckIn]:
        if not order_ids:
            return {}
        found = self.session.scalars(select(CheckIn).where(checkins.c.order_id.in_(list(order_ids))))
        return {checkin.order_id: checkin for checkin in found}


class SqlScreenings:
    """Screening records in SQL."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, record: ScreeningRecord) -> None:
        self.session.add(record)

    def get(self, record_id: str) -> ScreeningRecord:
        found = self.session.get(ScreeningRecord, record_id)
        if found is None:
            raise NotFound(f"screening record '{record_id}' not found")
        return found

    def for_order(self, order_id: str) -> ScreeningRecord | None:
        stmt = select(ScreeningRecord).where(screening_records.c.order_id == order_id)
        return self.session.scalars(stmt).first()

    def for_orders(self, order_ids: Sequence[str]) -> dict[str, ScreeningRecord]:
        if not order_ids:
            return {}
        found = self.session.scalars(select(ScreeningRecord).where(
            screening_records.c.order_id.in_(list(order_ids))))
        return {record.order_id: record for record in found}

    def for_patient(self, patient_id: str) -> list[ScreeningRecord]:
        stmt = select(ScreeningRecord).where(screening_records.c.patient_id == patient_id) \
            .order_by(screening_records.c.created_at)
        return list(self.session.scalars(stmt))

    def in_state(self, state: ScreeningState, limit: int) -> list[ScreeningRecord]:
        stmt = select(ScreeningRecord).where(screening_records.c.state == state.value) \
            .order_by(screening_records.c.created_at).limit(limit)
        return list(self.session.scalars(stmt))


def worklist_values(row: WorklistRow, at: datetime) -> dict[str, Any]:
    """The projection row's column values."""
    return {"accession_number": row.accession_number, "order_id": row.order_id,
            "station_ae_title": row.station_ae_title, "modality": row.modality, "start": row.start,
            "dicom_patient_id": row.dicom_patient_id, "patient_name": row.patient_name,
            "step_status": row.step_status, "item": row.item, "updated_at": at}


def worklist_row(row: Any) -> WorklistRow:
    """A projection row as the services see it."""
    return WorklistRow(accession_number=row.accession_number, order_id=row.order_id,
                       station_ae_title=row.station_ae_title, modality=row.modality, start=row.start,
                       dicom_patient_id=row.dicom_patient_id, patient_name=row.patient_name,
                       step_status=row.step_status, item=dict(row.item))


class SqlWorklist:
    """The modality worklist projection in SQL (written by event handlers in the caller's transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def put(self, row: WorklistRow, at: datetime) -> None:
        upsert(self.session, mwl_items, worklist_values(row, at), ["accession_number"])

    def remove(self, accession_number: str) -> None:
        self.session.execute(delete(mwl_items).where(mwl_items.c.accession_number == accession_number))

    def get(self, accession_number: str) -> WorklistRow | None:
        found = self.session.execute(select(mwl_items).where(mwl_items.c.accession_number == accession_number)).first()
        return worklist_row(found) if found is not None else None

    def for_order(self, order_id: str) -> list[WorklistRow]:
        rows = self.session.execute(select(mwl_items).where(mwl_items.c.order_id == order_id))
        return [worklist_row(r) for r in rows]

    def between(self, start: datetime, end: datetime, stations: Sequence[str] = ()) -> list[WorklistRow]:
        stmt = select(mwl_items).where(mwl_items.c.start >= start, mwl_items.c.start < end)
        if stations:
            stmt = stmt.where(mwl_items.c.station_ae_title.in_(list(stations)))
        return [worklist_row(r) for r in self.session.execute(stmt.order_by(mwl_items.c.start))]

    def replace_all(self, rows: Iterable[WorklistRow], at: datetime) -> int:
        self.session.execute(delete(mwl_items))
        if self.session.get_bind().dialect.name == "postgresql":
            return _copy_rows(self.session, rows, at)
        count = 0
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(worklist_values(row, at))
            count += 1
            if len(batch) >= 5000:
                self.session.execute(insert(mwl_items), batch)
                batch = []
        if batch:
            self.session.execute(insert(mwl_items), batch)
        return count


_COPY_COLUMNS = ("accession_number", "order_id", "station_ae_title", "modality", "start", "dicom_patient_id",
                 "patient_name", "step_status", "item", "updated_at")


def _copy_rows(session: Session, rows: Iterable[WorklistRow], at: datetime) -> int:
    """Load rows with PostgreSQL's COPY in the session's transaction (a bulk load: ~10x an INSERT)."""
    driver = session.connection().connection.driver_connection
    assert driver is not None
    count = 0
    with driver.cursor() as cursor, cursor.copy(f"COPY mwl_items ({', '.join(_COPY_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row((row.accession_number, row.order_id, row.station_ae_title, row.modality, row.start,
                            row.dicom_patient_id, row.patient_name, row.step_status, json.dumps(row.item), at))
            count += 1
    return count


def _exception(row: Any) -> MppsException:
    return MppsException(id=row.id, sop_instance_uid=row.sop_instance_uid, status=row.status, state=row.state,
                         reason=row.reason, received_at=row.received_at, updated_at=row.updated_at,
                         calling_ae=row.calling_ae, accession_numbers=row.accession_numbers,
                         patient_id=row.patient_id, patient_name=row.patient_name, step=dict(row.step),
                         history=tuple(row.history), resolved_at=row.resolved_at, resolved_by=row.resolved_by,
                         order_ids=tuple(row.order_ids), note=row.note)


class SqlMppsExceptions:
    """The MPPS exception queue in SQL."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def by_uid(self, sop_instance_uid: str) -> MppsException | None:
        found = self.session.execute(select(mpps_exceptions).where(
            mpps_exceptions.c.sop_instance_uid == sop_instance_uid)).first()
        return _exception(found) if found is not None else None

    def get(self, exception_id: str) -> MppsException:
        found = self.session.execute(select(mpps_exceptions).where(mpps_exceptions.c.id == exception_id)).first()
        if found is None:
            raise NotFound(f"MPPS exception '{exception_id}' not found")
        return _exception(found)

    def save(self, exception: MppsException) -> None:
        values = {"id": exception.id, "sop_instance_uid": exception.sop_instance_uid, "status": exception.status,
                  "state": exception.state, "reason": exception.reason, "received_at": exception.received_at,
                  "updated_at": exception.updated_at, "calling_ae": exception.calling_ae,
                  "accession_numbers": exception.accession_numbers, "patient_id": exception.patient_id,
                  "patient_name": exception.patient_name, "step": exception.step, "history": list(exception.history),
                  "resolved_at": exception.resolved_at, "resolved_by": exception.resolved_by,
                  "order_ids": list(exception.order_ids), "note": exception.note}
        upsert(self.session, mpps_exceptions, values, ["sop_instance_uid"])

    def in_state(self, state: str, limit: int) -> list[MppsException]:
        stmt = select(mpps_exceptions).where(mpps_exceptions.c.state == state) \
            .order_by(mpps_exceptions.c.received_at.desc()).limit(limit)
        return [_exception(r) for r in self.session.execute(stmt)]


def _station(row: Any) -> Station:
    return Station(scanner_id=row.scanner_id, station_ae_title=row.station_ae_title, worklist_on=row.worklist_on,
                   station_name=row.station_name, location=row.location)


class SqlStations:
    """Rooms' station settings in SQL."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, scanner_id: str) -> Station | None:
        found = self.session.execute(select(exam_day_stations).where(
            exam_day_stations.c.scanner_id == scanner_id)).first()
        return _station(found) if found is not None else None

    def by_ae_title(self, station_ae_title: str) -> Station | None:
        found = self.session.execute(select(exam_day_stations).where(
            exam_day_stations.c.station_ae_title == station_ae_title)).first()
        return _station(found) if found is not None else None

    def all(self) -> list[Station]:
        rows = self.session.execute(select(exam_day_stations).order_by(exam_day_stations.c.scanner_id))
        return [_station(r) for r in rows]

    def save(self, station: Station) -> None:
        upsert(self.session, exam_day_stations, {
            "scanner_id": station.scanner_id, "station_ae_title": station.station_ae_title,
            "station_name": station.station_name, "location": station.location,
            "worklist_on": station.worklist_on}, ["scanner_id"])


REPOSITORIES = {"studies": SqlStudies, "checkins": SqlCheckIns, "screenings": SqlScreenings,
                "worklist": SqlWorklist, "mpps_exceptions": SqlMppsExceptions, "stations": SqlStations}
