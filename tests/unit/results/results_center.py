"""A small center on in-memory fakes for the results services: people, studies to sign, a job runner, fake ports."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from radflow.catalog.checklist import load_checklist
from radflow.catalog.loader import Catalog
from radflow.config import Settings
from radflow.domain.clock import FakeClock
from radflow.domain.distribution import ResultsPolicy
from radflow.domain.ids import new_id
from radflow.domain.lifecycle import OrderEvent
from radflow.domain.order import Order, Track
from radflow.domain.patient import RADFLOW_AUTHORITY, Patient, PatientIdentifier, Sex
from radflow.domain.rads.extraction import Extraction, FollowUpRecommendation
from radflow.domain.users import Principal, Role, User
from radflow.services.bus import ServiceBus
from radflow.services.context import ServiceContext
from radflow.services.memory import InMemoryUnitOfWork, MemoryStore, run_due_jobs
from radflow.services.ports import RecordingGateway
from radflow.services.reading import ClaimStudy
from radflow.services.reports import AddAddendum, SaveReport, SetRadsFindings, SignReport, StartReport
from radflow.services.results_ports import FakeReportPrinter
from radflow.services.unit_of_work import UnitOfWork
from radflow.wiring import Area
from radflow.wiring import foundation as foundation_area
from radflow.wiring import reporting as reporting_area
from radflow.wiring import results as results_area

ORDERING_NPI = "1234567893"
COVERING_NPI = "1245319599"
START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
TO_READING = (OrderEvent.CLEARED_FOR_SCHEDULING, OrderEvent.BOOKED, OrderEvent.CHECKED_IN, OrderEvent.EXAM_STARTED,
              OrderEvent.EXAM_COMPLETED, OrderEvent.QC_PASSED)


def recommendation(sentence: str, *, modality: str | None, exam: str, days: int | None = None,
                   negated: bool = False, hypothetical: bool = False) -> FollowUpRecommendation:
    """A recommendation as the extraction port reports it."""
    return FollowUpRecommendation(modalities=(modality,), exam=exam, procedure="imaging", sentence=sentence, start=0,
                                  end=len(sentence), interval_phrase=f"{days} days" if days else None,
                                  interval_days=days, interval_days_max=days, negated=negated,
                                  hypothetical=hypothetical)


class ScriptedReader:
    """A fake report reader: each sentence it was told about is found wherever it appears in a text."""

    def __init__(self) -> None:
        self.sentences: list[FollowUpRecommendation] = []

    def extract(self, text: str, *, reference_date: date | None = None) -> Extraction:
        """The told sentences that appear in `text`, with their due date from `reference_date`."""
        found = []
        for rec in self.sentences:
            if rec.sentence in text:
                due = reference_date + timedelta(days=rec.interval_days) if reference_date and rec.interval_days \
                    else None
                found.append(replace(rec, due_date=due))
        return Extraction(critical_findings=(), followups=tuple(found))


class ResultsCenter:
    """A bus on an in-memory store with a radiologist, referrers and a patient user."""

    def __init__(self, catalog: Catalog, policy: ResultsPolicy | None = None) -> None:
        self.store = MemoryStore()
        self.clock = FakeClock(START)
        self.gateway = RecordingGateway()
        self.reader = ScriptedReader()
        self.printer = FakeReportPrinter()
        self.catalog = catalog
        self.ctx = ServiceContext(clock=self.clock, settings=Settings(), catalog=self.catalog,
                                  checklist_rules=load_checklist(), audit_key=b"k" * 32, gateway=self.gateway,
                                  extractor=self.reader, results=policy or ResultsPolicy(),
                                  report_printer=self.printer)
        areas: tuple[Area, ...] = (foundation_area.AREA, reporting_area.AREA, results_area.AREA)
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
        self.ordering = self.person("order", Role.REFERRING_PROVIDER, display="Dr Order", npi=ORDERING_NPI)
        self.covering = self.person("cover", Role.REFERRING_PROVIDER, display="Dr Cover", npi=COVERING_NPI,
                                    covers=(ORDERING_NPI,))
        self.stranger = self.person("stranger", Role.REFERRING_PROVIDER, display="Dr Stranger", npi="1003000126")

    def person(self, name: str, role: Role, *, display: str, npi: str = "", covers: tuple[str, ...] = (),
               patient_id: str | None = None) -> Principal:
        """Add a user and return them as a principal."""
        user = User(id=f"u-{name}", username=name, display_name=display, role=role, password_hash="x",
                    created_at=START, npi=npi, covers_npis=list(covers), patient_id=patient_id)
        with self.uow() as uow:
            uow.users.add(user)
            uow.commit()
        return user.principal("test")

    def study(self, protocol_code: str = "CT-LDCT", *, patient_id: str = "", npi: str = ORDERING_NPI) -> Order:
        """A study waiting to be read (driven through the exam-day events in set-up)."""
        protocol = self.catalog.protocol(protocol_code)
        with self.uow() as uow:
            if not patient_id:
                patient_id = new_id()
                patient = Patient(id=patient_id, family_name="Rivera", given_name="Maria", birth_date=date(1960, 4, 1),
                                  sex=Sex.FEMALE, created_at=START, address_line="12 Elm Street", city="Springfield")
                patient.identifiers.append(PatientIdentifier(RADFLOW_AUTHORITY, f"MRN{new_id()[:6]}",
                                                             patient_id=patient_id))
                uow.patients.add(patient)
            number = uow.counters.next_value("accession")
            order = Order.receive(by="seed", at=self.clock.now(), target=timedelta(days=10), id=new_id(),
                                  patient_id=patient_id, accession_number=f"ACC{number:05d}",
                                  study_instance_uid=f"2.25.{number}", protocol_code=protocol.code,
                                  requested_modality=protocol.modality.value, priority=Track.ROUTINE,
                                  track=Track.ROUTINE, body_part=protocol.body_part,
                                  contrast=protocol.variants[0].phase, reason_for_exam="screening",
                                  ordering_provider_npi=npi, ordering_provider_name="Dr Order")
            for event in TO_READING:
                details = {"site": "Main"} if event is OrderEvent.QC_PASSED else {}
                order.transition(event, by="seed", at=self.clock.now(), details=details)
            uow.orders.add(order)
            uow.commit()
        return order

    def sign(self, order: Order, *, findings: tuple[dict[str, Any], ...] = (), impression: str = "Normal.",
             recommendations: str = "") -> None:
        """Claim, write and sign the study's report."""
        rad = self.radiologist
        self.bus.handle(ClaimStudy(actor=rad, order_id=order.id))
        self.bus.handle(StartReport(actor=rad, order_id=order.id))
        if findings:
            self.bus.handle(SetRadsFindings(actor=rad, order_id=order.id, findings=findings))
        sections = {"findings": "As described.", "impression": impression}
        if recommendations:
            sections["recommendations"] = recommendations
        self.bus.handle(SaveReport(actor=rad, order_id=order.id, sections=sections))
        self.bus.handle(SignReport(actor=rad, order_id=order.id))

    def addendum(self, order: Order, text: str) -> None:
        """Sign an addendum."""
        self.bus.handle(AddAddendum(actor=self.radiologist, order_id=order.id, text=text, reason="new information"))

    def run_due_jobs(self) -> list[dict[str, Any]]:
        """Run every job due now, in due order, the way the worker does (effect and done mark together)."""
        return run_due_jobs(self.uow, self.jobs, self.ctx)

    def jobs_of(self, kind: str) -> list[Any]:
        """Jobs of one kind, in creation order."""
        with self.uow() as uow:
            return sorted((j for j in uow.jobs.rows.values() if j.kind == kind),  # type: ignore[attr-defined]
                          key=lambda j: j.created_at)

    def table(self, name: str) -> list[Any]:
        """The committed rows of one of the store's tables."""
        return list(self.store.table(name).values())
