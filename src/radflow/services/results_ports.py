"""The results area's repository ports, and how a service finds them on its unit of work.

The SQL repositories are in `adapters/db/results_repositories.py`, their in-memory fakes in
`adapters/db/results_memory.py`; `wiring/results.py` puts both on the units of work under the names
below. Also here: what the services ask of the PDF printer and of the report reader.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from radflow.domain.distribution import Distribution, Purpose
from radflow.domain.followup import FollowUp, FollowUpState
from radflow.domain.jobs import Job
from radflow.domain.mammography_outcomes import BiopsyResult
from radflow.domain.order import Order
from radflow.domain.records_request import RecordsRequest
from radflow.domain.release import ReleaseHold, ResultCommunication
from radflow.domain.report import Report
from radflow.services.unit_of_work import UnitOfWork


class DistributionRepository(Protocol):
    """Distributions by id, key, report, order, patient; provider inboxes; letters by due date."""

    def add(self, distribution: Distribution) -> None: ...
    def get(self, distribution_id: str) -> Distribution: ...
    def by_key(self, key: str) -> Distribution | None: ...
    def for_report(self, report_id: str) -> list[Distribution]: ...
    def for_order(self, order_id: str) -> list[Distribution]: ...
    def for_patient(self, patient_id: str) -> list[Distribution]: ...
    def inbox(self, npis: Sequence[str], *, unopened_only: bool, limit: int) -> list[Distribution]: ...
    def tracked(self, purposes: Sequence[Purpose], *, open_only: bool, limit: int) -> list[Distribution]: ...


class ReleaseHoldRepository(Protocol):
    """Holds on patients' reports."""

    def add(self, hold: ReleaseHold) -> None: ...
    def get(self, hold_id: str) -> ReleaseHold: ...
    def for_order(self, order_id: str) -> list[ReleaseHold]: ...
    def for_orders(self, order_ids: Sequence[str]) -> list[ReleaseHold]: ...
    def active(self, limit: int) -> list[ReleaseHold]: ...


class ResultCommunicationRepository(Protocol):
    """Who tells the patient, per order."""

    def add(self, record: ResultCommunication) -> None: ...
    def find(self, order_id: str) -> ResultCommunication | None: ...


@dataclass(frozen=True)
class FollowUpFilter:
    """What the follow-up worklist shows."""

    states: tuple[FollowUpState, ...] = (FollowUpState.OPEN, FollowUpState.OVERDUE)
    modality: str = ""
    body_region: str = ""
    due_before: date | None = None
    due_after: date | None = None
    responsible_npis: tuple[str, ...] = ()  # a referring provider's own (and covered) items only
    patient_id: str = ""
    source: str = ""
    limit: int = 200


class FollowUpRepository(Protocol):
    """Follow-up items."""

    def add(self, item: FollowUp) -> None: ...
    def get(self, item_id: str) -> FollowUp: ...
    def by_key(self, key: str) -> FollowUp | None: ...
    def open_for_patient(self, patient_id: str) -> list[FollowUp]: ...
    def for_source(self, order_id: str) -> list[FollowUp]: ...
    def worklist(self, wanted: FollowUpFilter) -> list[FollowUp]: ...


class BiopsyRepository(Protocol):
    """Captured biopsy pathology."""

    def add(self, result: BiopsyResult) -> None: ...
    def for_patient(self, patient_id: str) -> list[BiopsyResult]: ...
    def between(self, start: date, end: date) -> list[BiopsyResult]: ...


class RecordsRequestRepository(Protocol):
    """Requests for copies and image transfers."""

    def add(self, request: RecordsRequest) -> None: ...
    def get(self, request_id: str) -> RecordsRequest: ...
    def open_requests(self, limit: int) -> list[RecordsRequest]: ...
    def for_patient(self, patient_id: str) -> list[RecordsRequest]: ...


class ResultsQueries(Protocol):
    """Questions across areas: the ORU jobs of a report, the signed mammograms of a period."""

    def report_jobs(self, report_id: str) -> list[Job]: ...
    def signed_mammograms(self, start: datetime, end: datetime) -> list[tuple[Report, Order]]: ...


class ReportPrinter(Protocol):
    """Turns a printable document (report, lay letter, notice) into a PDF."""

    def pdf(self, document: PrintableDocument) -> bytes:
        """The document as a PDF."""
        ...


@dataclass(frozen=True)
class PrintableDocument:
    """What a PDF shows: a facility header, a title, sections (heading, paragraphs), a footer."""

    title: str
    facility_name: str
    facility_address: str
    facility_phone: str
    recipient_lines: tuple[str, ...]
    sections: tuple[tuple[str, tuple[str, ...]], ...]
    footer: str = ""
    reference: str = ""


DISTRIBUTIONS = "distributions"
RELEASE_HOLDS = "release_holds"
RESULT_COMMUNICATIONS = "result_communications"
FOLLOWUPS = "followups"
BIOPSIES = "biopsy_results"
RECORDS_REQUESTS = "records_requests"
RESULTS_QUERIES = "results_queries"


def _port(uow: UnitOfWork, name: str) -> Any:
    port = getattr(uow, name, None)
    if port is None:
        raise RuntimeError(f"this unit of work has no '{name}' repository (radflow.wiring.results adds it)")
    return port


def distributions_in(uow: UnitOfWork) -> DistributionRepository:
    """The distributions of this unit of work."""
    port: DistributionRepository = _port(uow, DISTRIBUTIONS)
    return port


def holds_in(uow: UnitOfWork) -> ReleaseHoldRepository:
    """The release holds of this unit of work."""
    port: ReleaseHoldRepository = _port(uow, RELEASE_HOLDS)
    return port


def communications_in(uow: UnitOfWork) -> ResultCommunicationRepository:
    """Who tells the patient, in this unit of work."""
    port: ResultCommunicationRepository = _port(uow, RESULT_COMMUNICATIONS)
    return port


def followups_in(uow: UnitOfWork) -> FollowUpRepository:
    """The follow-up items of this unit of work."""
    port: FollowUpRepository = _port(uow, FOLLOWUPS)
    return port


def biopsies_in(uow: UnitOfWork) -> BiopsyRepository:
    """The biopsy results of this unit of work."""
    port: BiopsyRepository = _port(uow, BIOPSIES)
    return port


def records_requests_in(uow: UnitOfWork) -> RecordsRequestRepository:
    """The records requests of this unit of work."""
    port: RecordsRequestRepository = _port(uow, RECORDS_REQUESTS)
    return port


def results_queries_in(uow: UnitOfWork) -> ResultsQueries:
    """The cross-area questions of this unit of work."""
    port: ResultsQueries = _port(uow, RESULTS_QUERIES)
    return port


class FakeReportPrinter:
    """A printer for tests and simulations: a tiny PDF-shaped text naming what it printed (no WeasyPrint)."""

    def __init__(self) -> None:
        self.printed: list[PrintableDocument] = []

    def pdf(self, document: PrintableDocument) -> bytes:
        """Keep the document; return bytes that start like a PDF and carry its words."""
        self.printed.append(document)
        words = " | ".join(p for _, paragraphs in document.sections for p in paragraphs)
        return f"%PDF-1.4 fake\n{document.title}\n{words}\n%%EOF".encode()
