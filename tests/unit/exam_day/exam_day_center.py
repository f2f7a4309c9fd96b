"""A small imaging center on in-memory fakes for the exam-day tests: one site in New York, MR1, MR2, CT1, US1.

Monday 2 March 2026, 09:00 in New York (14:00 UTC). The foundation, scheduling and exam-day areas are
composed (other areas' work stays out), so that booking, check-in, MPPS and QC run as in production.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from radflow.catalog.loader import Catalog
from radflow.config import Settings
from radflow.domain.clock import FakeClock
from radflow.domain.events import DomainEvent
from radflow.domain.ids import new_id
from radflow.domain.lifecycle import OrderEvent
from radflow.domain.order import Order, Track
from radflow.domain.patient import RADFLOW_AUTHORITY, Patient, PatientIdentifier, Sex
from radflow.domain.protocols import ContrastPhase
from radflow.domain.referral import Coverage
from radflow.domain.study import StepStatus, Study
from radflow.domain.users import Principal, Role
from radflow.services.bus import ServiceBus
from radflow.services.context import ServiceContext
from radflow.services.exam_day.performed_steps import RecordPerformedStep, StepReport
from radflow.services.exam_day.ports import screenings, studies, worklist
from radflow.services.exam_day.walk_in import TemporaryIdentityResolved
from radflow.services.memory import InMemoryUnitOfWork, MemoryStore
from radflow.services.ports import RecordingGateway
from radflow.services.scheduling.booking import BookAppointment
from radflow.services.scheduling.capacity_admin import SaveScanner, SaveSite
from radflow.services.unit_of_work import EventHandler, UnitOfWork
from radflow.wiring import exam_day, foundation, scheduling

NY = ZoneInfo("America/New_York")
START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    """A New York wall-clock time in March 2026, as UTC."""
    return datetime(2026, 3, day, hour, minute, tzinfo=NY).astimezone(UTC)


def _week(start: str, end: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"day": d, "from": start, "to": end, **extra} for d in WEEKDAYS]


def _scanner(scanner_id: str, modality: str, capabilities: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    return {"id": scanner_id, "site_id": "MAIN", "name": scanner_id, "modality": modality,
            "capabilities": list(capabilities), "opening": _week("07:00", "19:00"),
            "shifts": _week("07:00", "19:00", technologist="tech"), **extra}


class People:
    """The center's staff, as principals."""

    desk = Principal(user_id="u-desk", username="dana", role=Role.FRONT_DESK)
    tech = Principal(user_id="u-tech", username="theo", role=Role.TECHNOLOGIST)
    radiologist = Principal(user_id="u-rad", username="riley", role=Role.RADIOLOGIST)
    scheduler = Principal(user_id="u-sched", username="sam", role=Role.SCHEDULER)
    manager = Principal(user_id="u-mgr", username="mo", role=Role.MANAGER)
    dicom = Principal.system("dicom", role=Role.INTEGRATION)


class ExamDayCenter:
    """A bus on an in-memory store with capacity configured and helpers to book exams."""

    def __init__(self, catalog: Catalog) -> None:
        self.store = MemoryStore()
        self.clock = FakeClock(START)
        self.catalog = catalog
        self.ctx = ServiceContext(clock=self.clock, settings=Settings(), catalog=catalog, checklist_rules=(),
                                  audit_key=b"k" * 32, gateway=RecordingGateway())
        areas = (foundation.AREA, scheduling.AREA, exam_day.AREA)
        events: dict[type, list[EventHandler]] = {}
        for area in areas:
            for event_type, handlers in area.event_handlers.items():
                events.setdefault(event_type, []).extend(handlers)
        repositories = {k: v for area in areas for k, v in area.memory_repositories.items()}
        # Events other areas subscribe to (HL7's "every system told") are kept for the tests to see.
        self.told: list[DomainEvent] = []
        events.setdefault(TemporaryIdentityResolved, []).append(lambda event, _uow: self.told.append(event))

        def uow() -> UnitOfWork:
            return InMemoryUnitOfWork(self.store, events, repositories)

        self.uow = uow
        self.bus = ServiceBus(uow, self.ctx, {k: v for area in areas for k, v in area.handlers.items()})
        self.people = People()
        self.bus.handle(SaveSite(actor=self.people.manager, document={
            "id": "MAIN", "name": "Main campus", "timezone": "America/New_York",
            "supervision": _week("07:00", "19:00")}))
        for document in (_scanner("MR1", "MR", ("1.5T",), table_limit_kg=160), _scanner("MR2", "MR", ("3T",)),
                         _scanner("CT1", "CT"), _scanner("US1", "US")):
            self.bus.handle(SaveScanner(actor=self.people.manager, document=document))

    def patient(self, *, family: str = "Rivera", given: str = "Ana", birth: date = date(1970, 5, 1),
                sex: Sex = Sex.FEMALE, phone: str = "+1 555 010 7788") -> str:
        """A new patient with an MRN and an active coverage; returns the patient id."""
        patient_id = new_id()
        patient = Patient(id=patient_id, family_name=family, given_name=given, birth_date=birth, sex=sex,
                          created_at=self.clock.now(), phone=phone, postal_code="12345")
        patient.identifiers.append(PatientIdentifier(RADFLOW_AUTHORITY, f"RF{len(self.store.table('patients')):07d}",
                                                     patient_id=patient_id))
        with self.uow() as uow:
            uow.patients.add(patient)
            uow.coverages.add(Coverage(id=f"cov-{patient_id}", patient_id=patient_id, payer_id="aetna_commercial",
                                       member_id="W123456789", created_at=self.clock.now()))
            uow.commit()
        return patient_id

    def order(self, protocol: str, patient_id: str | None = None, *, contrast: str | None = None,
              accession: str = "", self_pay: bool = False) -> str:
        """An order of `protocol`, ready to schedule; returns the order id."""
        entry = self.catalog.protocol(protocol)
        at = self.clock.now()
        patient_id = patient_id or self.patient()
        order = Order.receive(by="test", at=at, target=timedelta(days=10), id=new_id(), patient_id=patient_id,
                              accession_number=accession or new_id()[:10].upper(),
                              study_instance_uid=f"2.25.{int(new_id(), 16)}",
                              protocol_code=protocol, requested_modality=entry.modality.value, priority=Track.ROUTINE,
                              contrast=ContrastPhase(contrast) if contrast else None, body_part=entry.body_part,
                              coverage_id=None if self_pay else f"cov-{patient_id}", self_pay=self_pay,
                              ordering_provider_name="OKAFOR^NGOZI")
        order.transition(OrderEvent.CLEARED_FOR_SCHEDULING, by="test", at=at)
        with self.uow() as uow:
            uow.orders.add(order)
            uow.commit()
        return order.id

    def book(self, order_id: str, scanner_id: str = "MR1", start: datetime | None = None) -> str:
        """Book the order on a scanner (today 10:00 New York by default); returns the appointment id."""
        appointment_id: str = self.bus.handle(BookAppointment(actor=self.people.scheduler, order_id=order_id,
                                                              scanner_id=scanner_id, start=start or ny(2, 10)))
        return appointment_id

    def state(self, order_id: str) -> str:
        """The order's state."""
        with self.uow() as uow:
            return uow.orders.get(order_id).state.value

    def get_order(self, order_id: str) -> Order:
        """The order as stored."""
        with self.uow() as uow:
            return uow.orders.get(order_id)

    def study(self, order_id: str) -> Study | None:
        """The order's study."""
        with self.uow() as uow:
            return studies(uow).for_order(order_id)

    def screening_state(self, order_id: str) -> str:
        """The order's screening state ('' when none)."""
        with self.uow() as uow:
            record = screenings(uow).for_order(order_id)
            return record.state.value if record else ""

    def worklist_item(self, accession: str) -> dict[str, Any] | None:
        """The worklist item of an accession, if it is on a worklist."""
        with self.uow() as uow:
            row = worklist(uow).get(accession)
            return row.item if row else None

    def accession(self, order_id: str) -> str:
        """The order's accession number."""
        return self.get_order(order_id).accession_number

    def mpps(self, uid: str, status: StepStatus, *accessions: str, created: bool | None = None,
             reason: str = "", station: str = "MR1") -> str:
        """Report an MPPS from the scanner; returns the disposition."""
        report = StepReport(sop_instance_uid=uid, status=status, calling_ae=station, station_ae_title=station,
                            modality="MR", accession_numbers=tuple(accessions), started=self.clock.now(),
                            discontinuation_code=reason)
        disposition: str = self.bus.handle(RecordPerformedStep(actor=self.people.dicom, report=report,
                                                               created=status is StepStatus.IN_PROGRESS
                                                               if created is None else created))
        return disposition
