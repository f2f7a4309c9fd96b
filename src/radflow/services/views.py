"""Read side: the questions screens and APIs ask (queues, boards, search), checked and audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from radflow.domain.audit import AuditRecord
from radflow.domain.authorization import Authorization
from radflow.domain.errors import NotFound
from radflow.domain.order import Order
from radflow.domain.patient import DuplicateCandidate, Patient, probable_duplicates
from radflow.domain.policy import AccessTarget, Action, sees_everything
from radflow.domain.referral import Coverage, Document, Referral
from radflow.domain.users import Principal, Role
from radflow.services.access import guard, guard_order
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class OrderFilter:
    """Which orders a list shows; `visible_*` narrow it to what the asking user may see."""

    states: tuple[str, ...] = ()
    modality: str = ""
    patient_id: str = ""
    accession_number: str = ""
    placer_order_number: str = ""
    received_from: datetime | None = None
    received_to: datetime | None = None
    visible_npis: tuple[str, ...] | None = None
    visible_patient_ids: tuple[str, ...] | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class OrderRow:
    """One line of a queue or list."""

    order_id: str
    accession_number: str
    patient_id: str
    patient_name: str
    mrn: str
    birth_date: date
    protocol_code: str
    modality: str
    contrast: str | None
    state: str
    track: str
    received_at: datetime
    target_at: datetime
    ordering_provider_name: str
    ordering_provider_npi: str
    missing_items: tuple[str, ...]
    authorization_state: str = ""
    authorization_assignee: str = ""
    payer_id: str = ""


@dataclass(frozen=True)
class BoardCell:
    """Orders in one state and modality, and the oldest one's received time."""

    state: str
    modality: str
    count: int
    oldest_received_at: datetime


@dataclass(frozen=True)
class PatientRow:
    """A patient search hit."""

    patient_id: str
    name: str
    mrn: str
    birth_date: date
    sex: str
    phone: str
    probable_duplicate_ids: tuple[str, ...]
    merged_into_id: str | None


class ReadModel(Protocol):
    """The queries behind lists and boards (SQL in production, loops over the fake store in tests)."""

    def order_rows(self, query: OrderFilter) -> list[OrderRow]: ...
    def count_orders(self, query: OrderFilter) -> int: ...
    def board(self) -> list[BoardCell]: ...
    def search_patients(self, text: str, birth_date: date | None, limit: int) -> list[PatientRow]: ...
    def audit_records(self, patient_id: str, since: datetime | None, limit: int) -> list[AuditRecord]: ...
    def user_names(self, user_ids: Sequence[str]) -> dict[str, str]: ...


def visible_filter(actor: Principal, query: OrderFilter) -> OrderFilter:
    """Narrow a list to what this user may see (referrers: their orders; patients: their own)."""
    if sees_everything(actor):
        return query
    if actor.role is Role.PATIENT:
        ids = tuple(sorted({*actor.proxy_patient_ids, *([actor.patient_id] if actor.patient_id else [])}))
        return OrderFilter(**{**query.__dict__, "visible_patient_ids": ids})
    npis = tuple(sorted({n for n in (actor.npi, *actor.covers_npis) if n}))
    return OrderFilter(**{**query.__dict__, "visible_npis": npis})


@dataclass(frozen=True)
class ListOrders:
    """A list of orders (a queue, a patient's orders, a FHIR search)."""

    actor: Principal
    query: OrderFilter
    action: Action = Action.ORDER_READ


@dataclass(frozen=True)
class OrderList:
    """A page of rows and the total."""

    rows: tuple[OrderRow, ...]
    total: int


def list_orders(cmd: ListOrders, uow: UnitOfWork, ctx: ServiceContext) -> OrderList:
    """List orders the user may see; the listing itself is audited (patients appear in it)."""
    guard(cmd.actor, cmd.action)
    query = visible_filter(cmd.actor, cmd.query)
    with uow:
        views = _views(uow)
        rows = views.order_rows(query)
        total = views.count_orders(query) if len(rows) >= query.limit or query.offset else len(rows)
        patients = sorted({r.patient_id for r in rows})
        record_access(uow, ctx, cmd.actor, f"{cmd.action.value}.list", patient_id=patients[0] if len(patients) == 1
                      else "", object_type="order-list", detail=f"{len(rows)} rows, patients={len(patients)}")
        uow.commit()
        return OrderList(tuple(rows), total)


@dataclass(frozen=True)
class GetOrder:
    """One order with everything its detail screen shows."""

    actor: Principal
    order_id: str = ""
    accession_number: str = ""


@dataclass
class OrderDetail:
    """An order, its patient, timeline (with names), documents, authorization and coverage."""

    order: Order
    patient: Patient
    referral: Referral | None
    documents: list[Document]
    authorization: Authorization | None
    coverage: Coverage | None
    names: dict[str, str] = field(default_factory=dict)


def get_order(cmd: GetOrder, uow: UnitOfWork, ctx: ServiceContext) -> OrderDetail:
    """Load an order for reading; access is checked against the order and audited."""
    with uow:
        order = uow.orders.get(cmd.order_id) if cmd.order_id else uow.orders.by_accession(cmd.accession_number)
        if order is None:
            raise NotFound(f"no order with accession number '{cmd.accession_number}'")
        guard_order(cmd.actor, Action.ORDER_READ, order)
        detail = OrderDetail(
            order=order, patient=uow.patients.get(order.patient_id),
            referral=uow.referrals.get(order.referral_id) if order.referral_id else None,
            documents=uow.documents.for_order(order.id),
            authorization=uow.authorizations.current_for_order(order.id),
            coverage=uow.coverages.get(order.coverage_id) if order.coverage_id else None,
        )
        people = {t.by for t in order.transitions} | {order.created_by}
        if detail.authorization and detail.authorization.assigned_to:
            people.add(detail.authorization.assigned_to)
        detail.names = _views(uow).user_names(sorted(people))
        record_access(uow, ctx, cmd.actor, "order.read", patient_id=order.patient_id, object_type="order",
                      object_id=order.id)
        uow.commit()
        return detail


@dataclass(frozen=True)
class GetPatient:
    """One patient with identifiers, coverage and orders visible to the user."""

    actor: Principal
    patient_id: str


@dataclass
class PatientDetail:
    """What the patient screen shows."""

    patient: Patient
    coverages: list[Coverage]
    orders: list[Order]
    duplicates: list[Patient]


def get_patient(cmd: GetPatient, uow: UnitOfWork, ctx: ServiceContext) -> PatientDetail:
    """Load a patient for reading: a referrer must have an order for them; a patient must be them."""
    with uow:
        patient = uow.patients.get(cmd.patient_id)
        orders = uow.orders.for_patient(patient.id)
        if cmd.actor.role is Role.REFERRING_PROVIDER:
            npis: set[str] = set()
            for order in orders:
                npis |= {order.ordering_provider_npi, *(c.get("npi", "") for c in order.copy_to)}
            target = AccessTarget(patient_id=patient.id, ordering_npis=frozenset(n for n in npis if n))
        else:
            target = AccessTarget(patient_id=patient.id)
        guard(cmd.actor, Action.PATIENT_READ, target, object_type="patient", object_id=patient.id)
        if cmd.actor.role is Role.REFERRING_PROVIDER:
            mine = {n for n in (cmd.actor.npi, *cmd.actor.covers_npis) if n}
            orders = [o for o in orders if mine & {o.ordering_provider_npi, *(c.get("npi", "") for c in o.copy_to)}]
        detail = PatientDetail(
            patient=patient,
            coverages=uow.coverages.for_patient(patient.id) if cmd.actor.role is not Role.REFERRING_PROVIDER else [],
            orders=orders,
            duplicates=[d for d in (uow.patients.find(i) for i in patient.probable_duplicate_ids) if d is not None]
            if sees_everything(cmd.actor) else [],
        )
        record_access(uow, ctx, cmd.actor, "patient.read", patient_id=patient.id, object_type="patient",
                      object_id=patient.id)
        uow.commit()
        return detail


@dataclass(frozen=True)
class SearchPatients:
    """Find patients by name, MRN or phone (and birth date)."""

    actor: Principal
    text: str
    birth_date: date | None = None
    limit: int = 50


def search_patients(cmd: SearchPatients, uow: UnitOfWork, ctx: ServiceContext) -> list[PatientRow]:
    """Search patients; audited with the search terms' shape, not the terms themselves."""
    guard(cmd.actor, Action.PATIENT_SEARCH)
    with uow:
        rows = _views(uow).search_patients(cmd.text.strip(), cmd.birth_date, cmd.limit)
        record_access(uow, ctx, cmd.actor, "patient.search", object_type="patient-list",
                      detail=f"{len(rows)} hits")
        uow.commit()
        return rows


@dataclass(frozen=True)
class PipelineBoard:
    """Orders per state and modality, with the oldest's age."""

    actor: Principal


def pipeline_board(cmd: PipelineBoard, uow: UnitOfWork, ctx: ServiceContext) -> list[BoardCell]:
    """Counts for the board (no patient data: not a patient-data access)."""
    guard(cmd.actor, Action.PIPELINE_BOARD)
    with uow:
        return _views(uow).board()


@dataclass(frozen=True)
class GetDocument:
    """A stored document's record and content."""

    actor: Principal
    document_id: str


def get_document(cmd: GetDocument, uow: UnitOfWork, ctx: ServiceContext) -> tuple[Document, bytes]:
    """Read a document (audited); unfiled faxes are visible to intake staff only."""
    with uow:
        document = uow.documents.get(cmd.document_id)
        if document.order_id:
            guard_order(cmd.actor, Action.DOCUMENT_READ, uow.orders.get(document.order_id))
        else:
            guard(cmd.actor, Action.DOCUMENT_READ if document.patient_id else Action.DOCUMENT_UPLOAD,
                  AccessTarget(patient_id=document.patient_id), object_type="document", object_id=document.id)
        content = uow.documents.content(document.sha256)
        record_access(uow, ctx, cmd.actor, "document.read", patient_id=document.patient_id or "",
                      object_type="document", object_id=document.id)
        uow.commit()
        return document, content


@dataclass(frozen=True)
class ListAuditRecords:
    """Audit records (for a patient, or all)."""

    actor: Principal
    patient_id: str = ""
    since: datetime | None = None
    limit: int = 200


def list_audit_records(cmd: ListAuditRecords, uow: UnitOfWork, ctx: ServiceContext) -> list[AuditRecord]:
    """Read the audit trail (reading it is itself audited)."""
    guard(cmd.actor, Action.AUDIT_READ)
    with uow:
        records = _views(uow).audit_records(cmd.patient_id, cmd.since, cmd.limit)
        record_access(uow, ctx, cmd.actor, "audit.read", patient_id=cmd.patient_id, object_type="audit",
                      detail=f"{len(records)} records")
        uow.commit()
        return records


@dataclass(frozen=True)
class ListFaxInbox:
    """Faxed pages picked up from the watched folder and not yet filed to a patient."""

    actor: Principal


def list_fax_inbox(cmd: ListFaxInbox, uow: UnitOfWork, ctx: ServiceContext) -> list[Document]:
    """The unfiled documents, oldest first (intake works the inbox in arrival order)."""
    guard(cmd.actor, Action.QUEUE_INTAKE)
    with uow:
        documents = sorted(uow.documents.unfiled(), key=lambda document: document.received_at)
        record_access(uow, ctx, cmd.actor, "document.inbox", object_type="document-list",
                      detail=f"{len(documents)} unfiled")
        uow.commit()
        return documents


@dataclass(frozen=True)
class FindProbableDuplicates:
    """Existing records that are probably the person about to be registered (before creating one)."""

    actor: Principal
    family_name: str
    given_name: str
    birth_date: date
    phone: str = ""


def find_probable_duplicates(cmd: FindProbableDuplicates, uow: UnitOfWork, ctx: ServiceContext) -> list[Patient]:
    """The same rule registration flags duplicates with (name, birth date, phone), best match first."""
    guard(cmd.actor, Action.PATIENT_SEARCH)
    with uow:
        candidates = uow.patients.duplicate_candidates(cmd.birth_date, cmd.phone, cmd.family_name)
        ids = probable_duplicates(DuplicateCandidate(cmd.family_name, cmd.given_name, cmd.birth_date, cmd.phone),
                                  candidates)
        by_id = {patient.id: patient for patient in candidates}
        found = [by_id[patient_id] for patient_id in ids]
        for patient in found:  # the screen shows their MRNs after the unit of work has ended
            patient.mrn  # noqa: B018
        record_access(uow, ctx, cmd.actor, "patient.search", object_type="patient-list",
                      detail=f"{len(found)} probable duplicates before registration")
        uow.commit()
        return found


@dataclass(frozen=True)
class StaffNames:
    """Display names of staff by user id (who handles an authorization request)."""

    actor: Principal
    user_ids: tuple[str, ...]


def staff_names(cmd: StaffNames, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, str]:
    """Names for the ids given; staff may know who their colleagues are (no patient data)."""
    guard(cmd.actor, Action.PIPELINE_BOARD)
    if not cmd.user_ids:
        return {}
    with uow:
        return _views(uow).user_names(sorted(set(cmd.user_ids)))


def _views(uow: UnitOfWork) -> ReadModel:
    views: Any = getattr(uow, "views", None)
    if views is None:
        raise RuntimeError("this unit of work has no read model")
    result: ReadModel = views
    return result


HANDLERS: dict[type, Handler] = {
    ListOrders: list_orders, GetOrder: get_order, GetPatient: get_patient, SearchPatients: search_patients,
    PipelineBoard: pipeline_board, GetDocument: get_document, ListAuditRecords: list_audit_records,
    ListFaxInbox: list_fax_inbox, FindProbableDuplicates: find_probable_duplicates, StaffNames: staff_names,
}
