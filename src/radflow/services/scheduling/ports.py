"""The repositories scheduling adds to the unit of work, and how services reach them.

The unit of work carries them as extra attributes (`uow.appointments`, `uow.capacity`,
`uow.schedule_plans`), registered by `radflow.wiring.scheduling` for the SQL and the in-memory
unit of work alike. Other areas (preparation and reminders, check-in) read appointments through
`appointments(uow)`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from radflow.domain.appointment import Appointment, AppointmentState
from radflow.domain.capacity.model import Closure, Scanner, Site
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.protocols import Modality
from radflow.scheduling.plans import PlanLine, ProposedPlan
from radflow.services.unit_of_work import UnitOfWork

APPOINTMENTS = "appointments"
CAPACITY = "capacity"
PLANS = "schedule_plans"


@dataclass(frozen=True)
class BookedSpan:
    """A booked appointment as capacity sees it: which scanner lane, when (UTC)."""

    appointment_id: str
    scanner_id: str
    lane: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class PatientFacts:
    """A patient's birth date and preferred language (age and interpreter decide slot minutes)."""

    birth_date: date
    preferred_language: str


@dataclass(frozen=True)
class PatientSpan:
    """One of a patient's booked or attended exams as the slot search reads it (epoch minutes)."""

    order_id: str
    scanner_id: str
    site_id: str
    patient_from: int
    start: int
    end: int
    booked: bool  # False: attended already (sequencing still counts it, overlap does not)
    protocol_code: str
    contrast: str | None


@dataclass(frozen=True)
class SheetLine:
    """One line of a day's schedule: the appointment and what the room needs to know of it."""

    appointment: Appointment
    accession_number: str
    protocol_code: str
    patient_name: str


@dataclass(frozen=True)
class PatientBooking:
    """One of a patient's appointments with what sequencing needs to know of its exam."""

    appointment: Appointment
    protocol_code: str
    contrast: str | None


class AppointmentRepository(Protocol):
    """Appointments: by id, by order, by patient, by scanner and time."""

    def add(self, appointment: Appointment) -> None:
        """Add a new appointment (the database refuses an overlapping booked one)."""
        ...

    def get(self, appointment_id: str) -> Appointment:
        """The appointment (NotFound names the id)."""
        ...

    def live_for_order(self, order_id: str) -> Appointment | None:
        """The order's booked appointment, if it has one."""
        ...

    def for_order(self, order_id: str) -> list[Appointment]:
        """Every appointment the order ever had, oldest first."""
        ...

    def for_patient(self, patient_id: str, start: datetime, end: datetime) -> list[PatientBooking]:
        """The patient's booked and attended appointments touching [start, end), with their exams."""
        ...

    def booked_on(self, scanner_ids: Sequence[str], start: datetime, end: datetime) -> list[BookedSpan]:
        """Booked appointments on these scanners overlapping [start, end) (every lane)."""
        ...

    def patient_spans(self, patient_id: str, start: datetime, end: datetime) -> list[PatientSpan]:
        """The patient's booked and attended exams touching [start, end), as plain values (the search's path)."""
        ...

    def busy_minutes(self, scanner_ids: Sequence[str], start: datetime, end: datetime, *, lane: int | None = 0,
                     ignore: str | None = None,
                     states: Sequence[AppointmentState] = (AppointmentState.BOOKED,)) -> list[tuple[str, int, int]]:
        """(scanner id, start, end) of appointments on `lane` (None: every lane) overlapping [start, end), in
        minutes since the Unix epoch (the slot search's hot path: no objects, no time zones); `ignore` leaves
        one appointment out."""
        ...

    def day_sheet(self, start: datetime, end: datetime) -> list[SheetLine]:
        """Appointments starting in [start, end) with the accession, exam and patient name, by scanner and time."""
        ...

    def between(self, start: datetime, end: datetime,
                states: Sequence[AppointmentState] = ()) -> list[Appointment]:
        """Appointments starting in [start, end), in any or the given states, by start."""
        ...

    def flush(self) -> None:
        """Send pending changes so that the database checks its overlap rules now."""
        ...


class CapacityRepository(Protocol):
    """Sites, scanners and closures."""

    def sites(self) -> list[Site]:
        """Every site, by id."""
        ...

    def scanners(self, modalities: Collection[Modality] = ()) -> list[Scanner]:
        """Every scanner (of these modalities, when given), by id."""
        ...

    def site(self, site_id: str) -> Site:
        """One site (NotFound names it)."""
        ...

    def scanner(self, scanner_id: str) -> Scanner:
        """One scanner (NotFound names it)."""
        ...

    def save_site(self, site: Site) -> None:
        """Add or replace a site."""
        ...

    def save_scanner(self, scanner: Scanner) -> None:
        """Add or replace a scanner."""
        ...

    def closures_between(self, start: datetime, end: datetime) -> list[Closure]:
        """Closures overlapping [start, end)."""
        ...

    def add_closure(self, closure: Closure, *, by: str, at: datetime) -> None:
        """Record a closure."""
        ...

    def remove_closure(self, closure_id: str) -> Closure:
        """Delete a closure and return it (NotFound names it)."""
        ...


class BacklogRepository(Protocol):
    """Orders waiting for a slot, and the plans proposed for them."""

    def ready_orders(self, limit: int) -> list[Order]:
        """Orders in `ready_to_schedule`, oldest target first."""
        ...

    def patients(self, patient_ids: Sequence[str]) -> dict[str, Patient]:
        """Patients by id."""
        ...

    def patient_facts(self, patient_id: str) -> PatientFacts | None:
        """What the slot length needs of a patient: birth date and preferred language."""
        ...

    def order_snapshot(self, order_id: str) -> Order:
        """A read-only copy of the order without its timeline (NotFound names it); changes to it are not saved."""
        ...

    def received_since(self, start: datetime) -> list[tuple[datetime, str, str | None]]:
        """(received at, protocol code, contrast) of every order received since `start` (demand history)."""
        ...

    def add(self, plan: ProposedPlan) -> None:
        """Store a proposed plan with its lines."""
        ...

    def get(self, plan_id: str) -> ProposedPlan:
        """A plan with its lines (NotFound names it)."""
        ...

    def recent(self, limit: int) -> list[ProposedPlan]:
        """The newest plans, without their lines."""
        ...

    def save_line(self, plan_id: str, line: PlanLine) -> None:
        """Store a line's new status."""
        ...


def _extra(uow: UnitOfWork, name: str) -> Any:
    repository = getattr(uow, name, None)
    if repository is None:
        raise RuntimeError(f"this unit of work has no '{name}' repository: is radflow.wiring.scheduling composed?")
    return repository


def appointments(uow: UnitOfWork) -> AppointmentRepository:
    """The unit of work's appointment repository."""
    repository: AppointmentRepository = _extra(uow, APPOINTMENTS)
    return repository


def capacity(uow: UnitOfWork) -> CapacityRepository:
    """The unit of work's capacity repository."""
    repository: CapacityRepository = _extra(uow, CAPACITY)
    return repository


def backlog(uow: UnitOfWork) -> BacklogRepository:
    """The unit of work's backlog and plan repository."""
    repository: BacklogRepository = _extra(uow, PLANS)
    return repository
