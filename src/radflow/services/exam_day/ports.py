"""The repositories the exam day adds to the unit of work, and how its services reach them.

The unit of work carries them as extra attributes, registered by `radflow.wiring.exam_day` for the
SQL and the in-memory unit of work alike: `uow.studies`, `uow.checkins`, `uow.screenings`,
`uow.worklist` (the modality worklist projection), `uow.mpps_exceptions`, `uow.stations`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from radflow.domain.checkin import CheckIn
from radflow.domain.screening.record import ScreeningRecord, ScreeningState
from radflow.domain.study import Study, StudyState
from radflow.services.unit_of_work import UnitOfWork

STUDIES = "studies"
CHECKINS = "checkins"
SCREENINGS = "screenings"
WORKLIST = "worklist"
MPPS_EXCEPTIONS = "mpps_exceptions"
STATIONS = "stations"


class StudyRepository(Protocol):
    """Studies, one per order."""

    def add(self, study: Study) -> None:
        """Add a new study."""
        ...

    def for_order(self, order_id: str) -> Study | None:
        """The order's study, if it has one."""
        ...

    def for_orders(self, order_ids: Sequence[str]) -> dict[str, Study]:
        """Studies by order id."""
        ...

    def in_states(self, states: Sequence[StudyState], limit: int) -> list[Study]:
        """Studies in these states, oldest first."""
        ...


class CheckInRepository(Protocol):
    """Check-ins, one per order."""

    def add(self, checkin: CheckIn) -> None:
        """Add a new check-in."""
        ...

    def for_order(self, order_id: str) -> CheckIn | None:
        """The order's check-in, if one was started."""
        ...

    def for_orders(self, order_ids: Sequence[str]) -> dict[str, CheckIn]:
        """Check-ins by order id."""
        ...


class ScreeningRepository(Protocol):
    """Screening records, one per order."""

    def add(self, record: ScreeningRecord) -> None:
        """Add a new record."""
        ...

    def get(self, record_id: str) -> ScreeningRecord:
        """The record (NotFound names it)."""
        ...

    def for_order(self, order_id: str) -> ScreeningRecord | None:
        """The order's record, if any."""
        ...

    def for_orders(self, order_ids: Sequence[str]) -> dict[str, ScreeningRecord]:
        """Records by order id."""
        ...

    def for_patient(self, patient_id: str) -> list[ScreeningRecord]:
        """A patient's records, oldest first."""
        ...

    def in_state(self, state: ScreeningState, limit: int) -> list[ScreeningRecord]:
        """Records in a state (the review queue is `held`), oldest first."""
        ...


@dataclass(frozen=True)
class WorklistRow:
    """One modality worklist item as the projection keeps it: index columns and the item itself.

    `item` is the item in the worklist JSON model: DICOM keywords with DICOM string values,
    ScheduledProcedureStepSequence holding one step whose start date and time are the site's local
    time (the MWL benchmark kit's keyword JSON).
    """

    accession_number: str
    order_id: str
    station_ae_title: str
    modality: str
    start: datetime
    dicom_patient_id: str
    patient_name: str
    step_status: str
    item: dict[str, Any] = field(hash=False, compare=False)


class WorklistProjection(Protocol):
    """The modality worklist items, kept by event handlers in the transaction that moves the order."""

    def put(self, row: WorklistRow, at: datetime) -> None:
        """Add the item, or replace the one with the same accession number."""
        ...

    def remove(self, accession_number: str) -> None:
        """Take the item off the worklist (nothing when it is not there)."""
        ...

    def get(self, accession_number: str) -> WorklistRow | None:
        """The item with this accession number."""
        ...

    def for_order(self, order_id: str) -> list[WorklistRow]:
        """The order's items."""
        ...

    def between(self, start: datetime, end: datetime, stations: Sequence[str] = ()) -> list[WorklistRow]:
        """Items starting in [start, end), of these stations (all when empty), by start."""
        ...

    def replace_all(self, rows: Iterable[WorklistRow], at: datetime) -> int:
        """Hold exactly `rows` from now on (a bulk load); returns how many."""
        ...


@dataclass(frozen=True)
class MppsException:
    """A performed step no order took: held for a person to match it to its order, or dismiss."""

    id: str
    sop_instance_uid: str
    status: str
    state: str  # open, reconciled, dismissed
    reason: str
    received_at: datetime
    updated_at: datetime
    calling_ae: str
    accession_numbers: str
    patient_id: str
    patient_name: str
    step: dict[str, Any] = field(hash=False, compare=False)
    history: tuple[dict[str, Any], ...] = ()
    resolved_at: datetime | None = None
    resolved_by: str = ""
    order_ids: tuple[str, ...] = ()
    note: str = ""


class MppsExceptionRepository(Protocol):
    """The MPPS exception queue."""

    def by_uid(self, sop_instance_uid: str) -> MppsException | None:
        """The exception for an MPPS instance, if one was queued."""
        ...

    def get(self, exception_id: str) -> MppsException:
        """One exception (NotFound names it)."""
        ...

    def save(self, exception: MppsException) -> None:
        """Add or replace (keyed by SOP Instance UID)."""
        ...

    def in_state(self, state: str, limit: int) -> list[MppsException]:
        """Exceptions in a state, newest first."""
        ...


@dataclass(frozen=True)
class Station:
    """A room's DICOM identity and worklist rule (PS3.4 K.6.1.2: Scheduled Station AE Title, Name, Location)."""

    scanner_id: str
    station_ae_title: str
    worklist_on: str = "scheduled"  # "scheduled": items appear when booked; "check_in": when checked in
    station_name: str = ""
    location: str = ""


class StationRepository(Protocol):
    """Rooms' station settings."""

    def get(self, scanner_id: str) -> Station | None:
        """The room's settings, if configured."""
        ...

    def by_ae_title(self, station_ae_title: str) -> Station | None:
        """The room with this station AE title."""
        ...

    def all(self) -> list[Station]:
        """Every configured room."""
        ...

    def save(self, station: Station) -> None:
        """Add or replace a room's settings."""
        ...


def _extra(uow: UnitOfWork, name: str) -> Any:
    repository = getattr(uow, name, None)
    if repository is None:
        raise RuntimeError(f"this unit of work has no '{name}' repository: is radflow.wiring.exam_day composed?")
    return repository


def studies(uow: UnitOfWork) -> StudyRepository:
    """The unit of work's studies."""
    repository: StudyRepository = _extra(uow, STUDIES)
    return repository


def checkins(uow: UnitOfWork) -> CheckInRepository:
    """The unit of work's check-ins."""
    repository: CheckInRepository = _extra(uow, CHECKINS)
    return repository


def screenings(uow: UnitOfWork) -> ScreeningRepository:
    """The unit of work's screening records."""
    repository: ScreeningRepository = _extra(uow, SCREENINGS)
    return repository


def worklist(uow: UnitOfWork) -> WorklistProjection:
    """The unit of work's modality worklist projection."""
    repository: WorklistProjection = _extra(uow, WORKLIST)
    return repository


def mpps_exceptions(uow: UnitOfWork) -> MppsExceptionRepository:
    """The unit of work's MPPS exception queue."""
    repository: MppsExceptionRepository = _extra(uow, MPPS_EXCEPTIONS)
    return repository


def stations(uow: UnitOfWork) -> StationRepository:
    """The unit of work's station settings."""
    repository: StationRepository = _extra(uow, STATIONS)
    return repository
