"""In-memory fakes of the scheduling repositories, beside their ports (unit tests, simulation).

The appointment fake refuses overlaps on `flush` exactly as the database's rules do, so that
service tests see the same conflicts as integration tests.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from itertools import combinations

from radflow.domain.appointment import Appointment, AppointmentState
from radflow.domain.capacity.model import Closure, Scanner, Site
from radflow.domain.errors import Conflict, NotFound
from radflow.domain.lifecycle import OrderState
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.protocols import Modality
from radflow.scheduling.plans import PlanLine, ProposedPlan
from radflow.services.memory import MemoryStore
from radflow.services.scheduling.ports import BookedSpan, PatientBooking, PatientFacts, PatientSpan, SheetLine

_LIVE = AppointmentState.BOOKED
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_minute(moment: datetime) -> int:
    return int((moment - _EPOCH).total_seconds() // 60)


class MemoryAppointments:
    """Fake appointment repository over the store's `appointments` table."""

    def __init__(self, store: MemoryStore) -> None:
        self.rows: dict[str, Appointment] = store.table("appointments")
        self.orders: dict[str, Order] = store.table("orders")
        self.patients: dict[str, Patient] = store.table("patients")

    def add(self, appointment: Appointment) -> None:
        """Add a new appointment."""
        self.rows[appointment.id] = appointment

    def get(self, appointment_id: str) -> Appointment:
        """The appointment, or NotFound."""
        found = self.rows.get(appointment_id)
        if found is None:
            raise NotFound(f"appointment '{appointment_id}' not found")
        return found

    def live_for_order(self, order_id: str) -> Appointment | None:
        """The order's booked appointment."""
        return next((a for a in self.rows.values() if a.order_id == order_id and a.state is _LIVE), None)

    def for_order(self, order_id: str) -> list[Appointment]:
        """Every appointment of the order."""
        return sorted((a for a in self.rows.values() if a.order_id == order_id), key=lambda a: a.booked_at)

    def for_patient(self, patient_id: str, start: datetime, end: datetime) -> list[PatientBooking]:
        """The patient's booked and attended appointments touching [start, end)."""
        out = []
        for a in sorted(self.rows.values(), key=lambda a: a.start):
            if a.patient_id == patient_id and a.start < end and a.end > start and a.state in (
                    AppointmentState.BOOKED, AppointmentState.ATTENDED):
                order = self.orders.get(a.order_id)
                out.append(PatientBooking(a, order.protocol_code if order else "",
                                          order.contrast.value if order and order.contrast else None))
        return out

    def booked_on(self, scanner_ids: Sequence[str], start: datetime, end: datetime) -> list[BookedSpan]:
        """Booked spans on these scanners overlapping [start, end)."""
        wanted = set(scanner_ids)
        return [BookedSpan(a.id, a.scanner_id, a.lane, a.start, a.end) for a in self.rows.values()
                if a.scanner_id in wanted and a.state is _LIVE and a.start < end and a.end > start]

    def patient_spans(self, patient_id: str, start: datetime, end: datetime) -> list[PatientSpan]:
        """The patient's booked and attended exams, as epoch minutes."""
        return [PatientSpan(b.appointment.order_id, b.appointment.scanner_id, b.appointment.site_id,
                            _epoch_minute(b.appointment.patient_from), _epoch_minute(b.appointment.start),
                            _epoch_minute(b.appointment.end), b.appointment.state is _LIVE, b.protocol_code, b.contrast)
                for b in self.for_patient(patient_id, start, end)]

    def busy_minutes(self, scanner_ids: Sequence[str], start: datetime, end: datetime, *, lane: int | None = 0,
                     ignore: str | None = None,
                     states: Sequence[AppointmentState] = (AppointmentState.BOOKED,)) -> list[tuple[str, int, int]]:
        """Booked time in epoch minutes."""
        return [(a.scanner_id, _epoch_minute(a.start), _epoch_minute(a.end))
                for a in self.rows.values()
                if a.scanner_id in scanner_ids and a.state in states and (lane is None or a.lane == lane)
                and a.id != ignore and a.start < end and a.end > start]

    def day_sheet(self, start: datetime, end: datetime) -> list[SheetLine]:
        """Appointments starting in [start, end) with accession, protocol and patient name."""
        out = []
        for a in sorted(self.rows.values(), key=lambda a: (a.scanner_id, a.start)):
            if start <= a.start < end:
                order = self.orders.get(a.order_id)
                patient = self.patients.get(a.patient_id)
                out.append(SheetLine(a, order.accession_number if order else "", order.protocol_code if order else "",
                                     patient.display_name if patient else ""))
        return out

    def between(self, start: datetime, end: datetime,
                states: Sequence[AppointmentState] = ()) -> list[Appointment]:
        """Appointments starting in [start, end)."""
        return sorted((a for a in self.rows.values() if start <= a.start < end and (not states or a.state in states)),
                      key=lambda a: (a.start, a.scanner_id))

    def flush(self) -> None:
        """Refuse what the database would refuse: lane overlap, patient overlap, two live per order."""
        live = [a for a in self.rows.values() if a.state is _LIVE]
        for first, second in combinations(live, 2):
            if first.order_id == second.order_id:
                raise Conflict("the order already has a booked appointment")
            if (first.scanner_id, first.lane) == (second.scanner_id, second.lane) and \
                    first.start < second.end and second.start < first.end:
                raise Conflict("that scanner lane is already booked at that time")
            if first.patient_id == second.patient_id and first.patient_from < second.end and \
                    second.patient_from < first.end:
                raise Conflict("the patient already has an exam booked at that time")


class MemoryCapacity:
    """Fake capacity repository."""

    def __init__(self, store: MemoryStore) -> None:
        self.site_rows: dict[str, Site] = store.table("scheduling_sites")
        self.scanner_rows: dict[str, Scanner] = store.table("scheduling_scanners")
        self.closure_rows: dict[str, Closure] = store.table("scheduling_closures")

    def sites(self) -> list[Site]:
        """Every site."""
        return [self.site_rows[k] for k in sorted(self.site_rows)]

    def scanners(self, modalities: Collection[Modality] = ()) -> list[Scanner]:
        """Every scanner (of these modalities, when given)."""
        return [self.scanner_rows[k] for k in sorted(self.scanner_rows)
                if not modalities or self.scanner_rows[k].modality in modalities]

    def site(self, site_id: str) -> Site:
        """One site."""
        if site_id not in self.site_rows:
            raise NotFound(f"site '{site_id}' not found", field="site_id")
        return self.site_rows[site_id]

    def scanner(self, scanner_id: str) -> Scanner:
        """One scanner."""
        if scanner_id not in self.scanner_rows:
            raise NotFound(f"scanner '{scanner_id}' not found", field="scanner_id")
        return self.scanner_rows[scanner_id]

    def save_site(self, site: Site) -> None:
        """Add or replace a site."""
        self.site_rows[site.id] = site

    def save_scanner(self, scanner: Scanner) -> None:
        """Add or replace a scanner."""
        self.scanner_rows[scanner.id] = scanner

    def closures_between(self, start: datetime, end: datetime) -> list[Closure]:
        """Closures overlapping [start, end)."""
        return sorted((c for c in self.closure_rows.values() if c.start < end and c.end > start),
                      key=lambda c: c.start)

    def add_closure(self, closure: Closure, *, by: str, at: datetime) -> None:
        """Record a closure."""
        self.closure_rows[closure.id] = closure

    def remove_closure(self, closure_id: str) -> Closure:
        """Delete a closure."""
        if closure_id not in self.closure_rows:
            raise NotFound(f"closure '{closure_id}' not found")
        return self.closure_rows.pop(closure_id)


class MemoryBacklog:
    """Fake backlog and plan repository."""

    def __init__(self, store: MemoryStore) -> None:
        self.orders: dict[str, Order] = store.table("orders")
        self.patient_rows: dict[str, Patient] = store.table("patients")
        self.plans: dict[str, ProposedPlan] = store.table("scheduling_plans")

    def ready_orders(self, limit: int) -> list[Order]:
        """Orders in `ready_to_schedule`, oldest target first."""
        ready = [o for o in self.orders.values() if o.state is OrderState.READY_TO_SCHEDULE]
        return sorted(ready, key=lambda o: o.target_at)[:limit]

    def patients(self, patient_ids: Sequence[str]) -> dict[str, Patient]:
        """Patients by id."""
        return {pid: self.patient_rows[pid] for pid in patient_ids if pid in self.patient_rows}

    def patient_facts(self, patient_id: str) -> PatientFacts | None:
        """Birth date and preferred language."""
        patient = self.patient_rows.get(patient_id)
        return PatientFacts(patient.birth_date, patient.preferred_language) if patient else None

    def order_snapshot(self, order_id: str) -> Order:
        """A copy of the order (changes to it are not saved)."""
        if order_id not in self.orders:
            raise NotFound(f"order '{order_id}' not found")
        return copy.deepcopy(self.orders[order_id])

    def received_since(self, start: datetime) -> list[tuple[datetime, str, str | None]]:
        """(received at, protocol, contrast) of the orders received since `start`."""
        return [(o.received_at, o.protocol_code, o.contrast.value if o.contrast else None)
                for o in self.orders.values() if o.received_at >= start]

    def add(self, plan: ProposedPlan) -> None:
        """Store a plan."""
        self.plans[plan.id] = plan

    def get(self, plan_id: str) -> ProposedPlan:
        """A plan with its lines."""
        if plan_id not in self.plans:
            raise NotFound(f"plan '{plan_id}' not found")
        return self.plans[plan_id]

    def recent(self, limit: int) -> list[ProposedPlan]:
        """The newest plans."""
        return sorted(self.plans.values(), key=lambda p: p.created_at, reverse=True)[:limit]

    def save_line(self, plan_id: str, line: PlanLine) -> None:
        """Lines are stored by reference in memory: nothing more to do."""
        self.get(plan_id)
