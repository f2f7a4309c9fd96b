"""In-memory fakes of the exam day's repositories, on the InMemoryUnitOfWork's store (unit tests, simulation).

They behave as the SQL ones do where a test would notice: one study, check-in and screening record
per order, one worklist item per accession, one exception per MPPS instance, one room per AE title.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from radflow.domain.checkin import CheckIn
from radflow.domain.errors import Conflict, NotFound
from radflow.domain.screening.record import ScreeningRecord, ScreeningState
from radflow.domain.study import Study, StudyState
from radflow.services.exam_day.ports import MppsException, Station, WorklistRow
from radflow.services.memory import MemoryStore


class _PerOrder[T]:
    def __init__(self, rows: dict[Any, Any], label: str) -> None:
        self.rows = rows
        self.label = label

    def add(self, item: T) -> None:
        order_id = item.order_id  # type: ignore[attr-defined]
        if any(r.order_id == order_id for r in self.rows.values()):
            raise Conflict(f"the database refused the change: one {self.label} per order")
        self.rows[item.id] = item  # type: ignore[attr-defined]

    def for_order(self, order_id: str) -> T | None:
        return next((r for r in self.rows.values() if r.order_id == order_id), None)

    def for_orders(self, order_ids: Sequence[str]) -> dict[str, T]:
        wanted = set(order_ids)
        return {r.order_id: r for r in self.rows.values() if r.order_id in wanted}


class MemoryStudies(_PerOrder[Study]):
    """Fake studies."""

    def in_states(self, states: Sequence[StudyState], limit: int) -> list[Study]:
        found = sorted((s for s in self.rows.values() if s.state in states), key=lambda s: s.created_at)
        return found[:limit]


class MemoryCheckIns(_PerOrder[CheckIn]):
    """Fake check-ins."""


class MemoryScreenings(_PerOrder[ScreeningRecord]):
    """Fake screening records."""

    def get(self, record_id: str) -> ScreeningRecord:
        found: ScreeningRecord | None = self.rows.get(record_id)
        if found is None:
            raise NotFound(f"screening record '{record_id}' not found")
        return found

    def for_patient(self, patient_id: str) -> list[ScreeningRecord]:
        return sorted((r for r in self.rows.values() if r.patient_id == patient_id), key=lambda r: r.created_at)

    def in_state(self, state: ScreeningState, limit: int) -> list[ScreeningRecord]:
        found = sorted((r for r in self.rows.values() if r.state is state), key=lambda r: r.created_at)
        return found[:limit]


class MemoryWorklist:
    """Fake worklist projection."""

    def __init__(self, rows: dict[Any, Any]) -> None:
        self.rows = rows

    def put(self, row: WorklistRow, at: datetime) -> None:
        self.rows[row.accession_number] = row

    def remove(self, accession_number: str) -> None:
        self.rows.pop(accession_number, None)

    def get(self, accession_number: str) -> WorklistRow | None:
        found: WorklistRow | None = self.rows.get(accession_number)
        return found

    def for_order(self, order_id: str) -> list[WorklistRow]:
        return [r for r in self.rows.values() if r.order_id == order_id]

    def between(self, start: datetime, end: datetime, stations: Sequence[str] = ()) -> list[WorklistRow]:
        found = [r for r in self.rows.values()
                 if start <= r.start < end and (not stations or r.station_ae_title in stations)]
        return sorted(found, key=lambda r: r.start)

    def replace_all(self, rows: Iterable[WorklistRow], at: datetime) -> int:
        self.rows.clear()
        self.rows.update({r.accession_number: r for r in rows})
        return len(self.rows)


class MemoryMppsExceptions:
    """Fake MPPS exception queue."""

    def __init__(self, rows: dict[Any, Any]) -> None:
        self.rows = rows

    def by_uid(self, sop_instance_uid: str) -> MppsException | None:
        found: MppsException | None = self.rows.get(sop_instance_uid)
        return found

    def get(self, exception_id: str) -> MppsException:
        found = next((e for e in self.rows.values() if e.id == exception_id), None)
        if found is None:
            raise NotFound(f"MPPS exception '{exception_id}' not found")
        return found  # type: ignore[no-any-return]

    def save(self, exception: MppsException) -> None:
        current = self.rows.get(exception.sop_instance_uid)
        # The SQL upsert keeps the first row's id; so does this.
        self.rows[exception.sop_instance_uid] = replace(exception, id=current.id) if current else exception

    def in_state(self, state: str, limit: int) -> list[MppsException]:
        found = sorted((e for e in self.rows.values() if e.state == state), key=lambda e: e.received_at, reverse=True)
        return found[:limit]


class MemoryStations:
    """Fake station settings."""

    def __init__(self, rows: dict[Any, Any]) -> None:
        self.rows = rows

    def get(self, scanner_id: str) -> Station | None:
        found: Station | None = self.rows.get(scanner_id)
        return found

    def by_ae_title(self, station_ae_title: str) -> Station | None:
        return next((s for s in self.rows.values() if s.station_ae_title == station_ae_title), None)

    def all(self) -> list[Station]:
        return sorted(self.rows.values(), key=lambda s: s.scanner_id)

    def save(self, station: Station) -> None:
        other = self.by_ae_title(station.station_ae_title)
        if other is not None and other.scanner_id != station.scanner_id:
            raise Conflict(f"the database refused the change: station AE title {station.station_ae_title} is "
                           f"{other.scanner_id}'s")
        self.rows[station.scanner_id] = station


MEMORY_REPOSITORIES: dict[str, Callable[[MemoryStore], Any]] = {
    "studies": lambda store: MemoryStudies(store.table("studies"), "study"),
    "checkins": lambda store: MemoryCheckIns(store.table("checkins"), "check-in"),
    "screenings": lambda store: MemoryScreenings(store.table("screening_records"), "screening record"),
    "worklist": lambda store: MemoryWorklist(store.table("mwl_items")),
    "mpps_exceptions": lambda store: MemoryMppsExceptions(store.table("mpps_exceptions")),
    "stations": lambda store: MemoryStations(store.table("exam_day_stations")),
}

