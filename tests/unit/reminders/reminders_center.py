"""An imaging center on in-memory fakes for the messaging tests: one New York site, MR, CT and US scanners.

Composes the foundation, scheduling and reminders areas; a small job runner plays the worker.
Monday 2 March 2026, 09:00 in New York (14:00 UTC); daylight saving starts on Sunday 8 March.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from radflow.catalog.loader import Catalog
from radflow.config import Settings
from radflow.domain.clock import FakeClock
from radflow.domain.ids import new_id
from radflow.domain.jobs import JobEvent, JobState
from radflow.domain.lifecycle import OrderEvent
from radflow.domain.messaging.message import Message
from radflow.domain.order import Order, Track
from radflow.domain.patient import Patient, Sex
from radflow.domain.users import Principal, Role
from radflow.services.bus import ServiceBus
from radflow.services.context import ServiceContext
from radflow.services.job_runner import run_claimed_job
from radflow.services.memory import InMemoryUnitOfWork, MemoryStore
from radflow.services.ports import OutboundMessage, RecordingGateway
from radflow.services.reminders.ports import messaging
from radflow.services.scheduling.booking import BookAppointment
from radflow.services.scheduling.capacity_admin import SaveScanner, SaveSite
from radflow.services.unit_of_work import EventHandler, UnitOfWork
from radflow.wiring import foundation, reminders, scheduling

NY = ZoneInfo("America/New_York")
START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def ny(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """A New York wall-clock time in 2026, as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


def _scanner(scanner_id: str, modality: str) -> dict[str, Any]:
    week = [{"day": d, "from": "07:00", "to": "19:00"} for d in WEEKDAYS]
    return {"id": scanner_id, "site_id": "MAIN", "name": scanner_id, "modality": modality,
            "capabilities": ["1.5T"] if modality == "MR" else [], "opening": week,
            "shifts": [{**p, "technologist": "tech"} for p in week]}


class RemindersCenter:
    """A bus with capacity, patients and ready orders, and a worker that runs due jobs."""

    def __init__(self, catalog: Catalog) -> None:
        self.store = MemoryStore()
        self.clock = FakeClock(START)
        self.gateway = RecordingGateway()
        self.ctx = ServiceContext(clock=self.clock, settings=Settings(), catalog=catalog, checklist_rules=(),
                                  audit_key=b"k" * 32, gateway=self.gateway)
        self.catalog = catalog
        areas = (foundation.AREA, scheduling.AREA, reminders.AREA)
        events: dict[type, list[EventHandler]] = {}
        for area in areas:
            for event_type, handlers in area.event_handlers.items():
                events.setdefault(event_type, []).extend(handlers)
        repositories = {k: v for area in areas for k, v in area.memory_repositories.items()}

        def uow() -> UnitOfWork:
            return InMemoryUnitOfWork(self.store, events, repositories)

        self.uow = uow
        self.bus = ServiceBus(uow, self.ctx, {k: v for area in areas for k, v in area.handlers.items()})
        self.job_handlers = {k: v for area in areas for k, v in area.job_handlers.items()}
        self.scheduler = Principal(user_id="u-sched", username="sam", role=Role.SCHEDULER)
        self.desk = Principal(user_id="u-desk", username="dana", role=Role.FRONT_DESK)
        self.gateway_user = Principal(user_id="u-gw", username="smsgw", role=Role.INTEGRATION)
        manager = Principal(user_id="u-mgr", username="mo", role=Role.MANAGER)
        self.bus.handle(SaveSite(actor=manager, document={
            "id": "MAIN", "name": "Main campus", "timezone": "America/New_York", "phone": "+1 555 010 2000",
            "address": "100 Riverside Drive, Springfield",
            "supervision": [{"day": d, "from": "08:00", "to": "17:00"} for d in WEEKDAYS]}))
        for scanner_id, modality in (("MR1", "MR"), ("CT1", "CT"), ("US1", "US")):
            self.bus.handle(SaveScanner(actor=manager, document=_scanner(scanner_id, modality)))

    def patient(self, *, phone: str = "555-010-1234", email: str = "jo@example.org",
                address: str = "1 Main Street") -> str:
        """A patient with the given contact points."""
        patient = Patient(id=new_id(), family_name="Doe", given_name="Jo", birth_date=date(1970, 5, 1),
                          sex=Sex.FEMALE, created_at=self.clock.now(), phone=phone, email=email,
                          address_line=address, city="Springfield", state="NY", postal_code="10001")
        with self.uow() as uow:
            uow.patients.add(patient)
            uow.commit()
        return patient.id

    def order(self, protocol: str, patient_id: str, *, contrast: str | None = None) -> str:
        """An order ready to schedule."""
        entry = self.catalog.protocol(protocol)
        now = self.clock.now()
        order = Order.receive(by="test", at=now, target=timedelta(days=10), id=new_id(), patient_id=patient_id,
                              accession_number=new_id()[:10], study_instance_uid="2.25.1", protocol_code=protocol,
                              requested_modality=entry.modality.value, priority=Track.ROUTINE,
                              body_part=entry.body_part)
        if contrast:
            from radflow.domain.protocols import ContrastPhase

            order.contrast = ContrastPhase(contrast)
        order.transition(OrderEvent.CLEARED_FOR_SCHEDULING, by="test", at=now)
        with self.uow() as uow:
            uow.orders.add(order)
            uow.commit()
        return order.id

    def book(self, order_id: str, scanner_id: str, start: datetime) -> str:
        """Book through the booking service; returns the appointment id."""
        appointment_id: str = self.bus.handle(BookAppointment(actor=self.scheduler, order_id=order_id,
                                                              scanner_id=scanner_id, start=start))
        return appointment_id

    def run_due_jobs(self) -> int:
        """Claim and run every job due now (as `radflow worker` does), until none is left."""
        ran = 0
        for _ in range(20):
            with self.uow() as uow:
                due = [j for j in self.store.table("jobs").values()
                       if j.state is JobState.PENDING and j.due_at <= self.clock.now()]
                ids = []
                for found in due:
                    job = uow.jobs.get(found.id)
                    job.apply(JobEvent.CLAIM)
                    job.attempts += 1
                    job.lease_owner, job.lease_until = "w1", self.clock.now() + timedelta(minutes=2)
                    ids.append(job.id)
                uow.commit()
            if not ids:
                return ran
            for job_id in ids:
                run_claimed_job(job_id, "w1", self.uow, self.ctx, self.job_handlers)
                ran += 1
        return ran

    def walk(self, until: datetime, step: timedelta = timedelta(minutes=30)) -> None:
        """Move the clock forward in steps, running due jobs at each (a worker that polls)."""
        while self.clock.now() < until:
            self.clock.advance(min(step, until - self.clock.now()))
            self.run_due_jobs()

    def messages(self, patient_id: str) -> list[Message]:
        """The patient's messages, oldest plan first."""
        with self.uow() as uow:
            return sorted(messaging(uow).messages_for_patient(patient_id), key=lambda m: (m.planned_for, m.key))

    def sent(self, channel: str | None = None) -> list[OutboundMessage]:
        """What the gateway was given."""
        return [m for m in self.gateway.sent if channel is None or m.channel == channel]

    def state(self, order_id: str) -> str:
        """The order's state."""
        with self.uow() as uow:
            return uow.orders.get(order_id).state.value
