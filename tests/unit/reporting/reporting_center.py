"""A small reading room on in-memory fakes: people, studies waiting to be read, a job runner, fake ports."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from radflow.catalog.checklist import load_checklist
from radflow.catalog.loader import Catalog
from radflow.config import Settings
from radflow.domain.clock import FakeClock
from radflow.domain.ids import new_id
from radflow.domain.lifecycle import OrderEvent
from radflow.domain.order import Laterality, Order, Track
from radflow.domain.patient import RADFLOW_AUTHORITY, Patient, PatientIdentifier, Sex
from radflow.domain.rads.extraction import CriticalFinding, Extraction
from radflow.domain.reading import ReportingPolicy
from radflow.domain.users import Principal, Role, User
from radflow.services.bus import ServiceBus
from radflow.services.context import ServiceContext
from radflow.services.memory import InMemoryUnitOfWork, MemoryStore, run_due_jobs
from radflow.services.ports import RecordingGateway
from radflow.services.unit_of_work import UnitOfWork
from radflow.wiring import Area
from radflow.wiring import foundation as foundation_area
from radflow.wiring import reporting as reporting_area

ORDERING_NPI = "1234567893"
OTHER_NPI = "1245319599"
START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)

#: The exam-day steps a study goes through before it can be read (test set-up only).
TO_READING = (OrderEvent.CLEARED_FOR_SCHEDULING, OrderEvent.BOOKED, OrderEvent.CHECKED_IN, OrderEvent.EXAM_STARTED,
              OrderEvent.EXAM_COMPLETED, OrderEvent.QC_PASSED)


class KeywordReader:
    """A fake report reader: a few critical-finding words, with 'no' before them meaning absent."""

    WORDS: ClassVar[dict[str, tuple[str, str]]] = {"hemorrhage": ("intracranial_hemorrhage", "Intracranial hemorrhage"),
             "hematoma": ("intracranial_hemorrhage", "Intracranial hemorrhage"),
             "pneumothorax": ("pneumothorax", "Pneumothorax")}

    def extract(self, text: str, *, reference_date: date | None = None) -> Extraction:
        """Find the words; 'no <word>' is negated."""
        found = []
        for word, (kind, label) in self.WORDS.items():
            for match in re.finditer(word, text, re.IGNORECASE):
                negated = bool(re.search(r"\bno\s+(?:\w+\s+){0,2}$", text[: match.start()], re.IGNORECASE))
                found.append(CriticalFinding(type=kind, label=label, level="critical", text=match.group(0),
                                             sentence=text, start=match.start(), end=match.end(), negated=negated))
        return Extraction(critical_findings=tuple(found), followups=())


@dataclass
class FakePacsStudy:
    """A study as the PACS describes it."""

    study_instance_uid: str
    accession_number: str
    study_date: date | None
    modalities: tuple[str, ...]
    description: str


@dataclass
class FakePacs:
    """A PACS that answers from a list, or is down."""

    studies: list[FakePacsStudy] = field(default_factory=list)
    down: bool = False
    asked: list[str] = field(default_factory=list)

    def studies_for_patient(self, patient_id: str, *, modality: str = "", date_from: date | None = None,
                            date_to: date | None = None) -> list[FakePacsStudy]:
        """The studies; raises like the real client when down."""
        from radflow.adapters.dicom.pacs import PacsUnavailable

        self.asked.append(patient_id)
        if self.down:
            raise PacsUnavailable("PACS PACS1 at 127.0.0.1:4242 did not accept an association (no answer)")
        return self.studies


class ReadingRoom:
    """A bus on an in-memory store with the people of a reading room."""

    def __init__(self, catalog: Catalog, policy: ReportingPolicy | None = None) -> None:
        self.store = MemoryStore()
        self.clock = FakeClock(START)
        self.gateway = RecordingGateway()
        self.pacs = FakePacs()
        self.catalog = catalog
        self.ctx = ServiceContext(clock=self.clock, settings=Settings(), catalog=catalog,
                                  checklist_rules=load_checklist(), audit_key=b"k" * 32, gateway=self.gateway,
                                  reporting=policy or ReportingPolicy(), pacs=self.pacs, extractor=KeywordReader())
        # Only the foundation and this area: the room does not depend on other areas' work in progress.
        areas: tuple[Area, ...] = (foundation_area.AREA, reporting_area.AREA)
        events: dict[Any, list[Any]] = {}
        for area in areas:
            for kind, handlers in area.event_handlers.items():
                events.setdefault(kind, []).extend(handlers)
        repositories = {name: factory for area in areas for name, factory in area.memory_repositories.items()}

        def uow() -> UnitOfWork:
            return InMemoryUnitOfWork(self.store, events, repositories)

        self.uow = uow
        self.bus = ServiceBus(uow, self.ctx, {k: v for area in areas for k, v in area.handlers.items()})
        self.jobs = {k: v for area in areas for k, v in area.job_handlers.items()}
        self.radiologist = self.person("rad", Role.RADIOLOGIST, display="Dr Rad")
        self.second_radiologist = self.person("rad2", Role.RADIOLOGIST, display="Dr Second")
        self.ordering = self.person("order", Role.REFERRING_PROVIDER, display="Dr Order", npi=ORDERING_NPI,
                                    phone="+1 555 010 1111")
        self.covering = self.person("cover", Role.REFERRING_PROVIDER, display="Dr Cover", npi=OTHER_NPI,
                                    email="cover@example.org", covers=(ORDERING_NPI,))
        self.chief = self.person("chief", Role.RADIOLOGIST, display="Dr Chief", chief=True, phone="+1 555 010 3333")

    def person(self, name: str, role: Role, *, display: str, npi: str = "", phone: str = "", email: str = "",
               covers: tuple[str, ...] = (), chief: bool = False) -> Principal:
        """Add a user and return them as a principal."""
        user = User(id=f"u-{name}", username=name, display_name=display, role=role, password_hash="x",
                    created_at=START, npi=npi, phone=phone, email=email, covers_npis=list(covers),
                    is_section_chief=chief)
        with self.uow() as uow:
            uow.users.add(user)
            uow.commit()
        return user.principal("test")

    def study(self, protocol_code: str = "CT-HEAD", *, track: Track = Track.ROUTINE,
              laterality: Laterality | None = None, reason: str = "headache after fall", site: str = "Main",
              patient_id: str = "", contrast: str | None = None, completed: datetime | None = None) -> Order:
        """A study waiting to be read (driven through the exam-day events in set-up)."""
        protocol = self.catalog.protocol(protocol_code)
        variant = protocol.variant(contrast) if contrast else protocol.variants[0]
        with self.uow() as uow:
            if not patient_id:
                patient_id = new_id()
                patient = Patient(id=patient_id, family_name="Rivera", given_name="Maria", birth_date=date(1960, 4, 1),
                                  sex=Sex.FEMALE, created_at=START)
                mrn = f"MRN{uow.counters.next_value('mrn') - 1:04d}"
                patient.identifiers.append(PatientIdentifier(RADFLOW_AUTHORITY, mrn, patient_id=patient_id))
                uow.patients.add(patient)
            number = uow.counters.next_value("accession")
            order = Order.receive(by="seed", at=self.clock.now(), target=timedelta(days=10), id=new_id(),
                                  patient_id=patient_id, accession_number=f"ACC{number:05d}",
                                  study_instance_uid=f"2.25.{number}", protocol_code=protocol.code,
                                  requested_modality=protocol.modality.value, priority=track, track=track,
                                  body_part=protocol.body_part, laterality=laterality, contrast=variant.phase,
                                  reason_for_exam=reason, ordering_provider_npi=ORDERING_NPI,
                                  ordering_provider_name="Dr Order")
            at = completed or self.clock.now()
            for event in TO_READING:
                details = {"site": site} if event is OrderEvent.QC_PASSED else {}
                order.transition(event, by="seed", at=at, details=details)
            uow.orders.add(order)
            uow.commit()
        return order

    def run_due_jobs(self) -> list[dict[str, Any]]:
        """Run every job due now, in due order, the way the worker does (effect and done mark together)."""
        return run_due_jobs(self.uow, self.jobs, self.ctx)

    def jobs_of(self, kind: str) -> list[Any]:
        """Jobs of one kind, in creation order."""
        with self.uow() as uow:
            return sorted((j for j in uow.jobs.rows.values() if j.kind == kind),  # type: ignore[attr-defined]
                          key=lambda j: j.created_at)

    def without_reader(self) -> None:
        """No report reader configured (as on a center without one)."""
        self.ctx = replace(self.ctx, extractor=None)
        self.bus.ctx = self.ctx
