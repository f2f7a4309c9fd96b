"""The queries FHIR needs beyond services.views (searches with totals, one coverage, a lean order read)
and a one-commit create that hands back the order it made.

They follow the services' rules exactly: the policy is checked (`services.access.guard`), lists are
narrowed by `services.views.visible_filter`, and each answer writes one audit record in its own
transaction (a list names its patient when it holds exactly one). They are service-layer handlers,
registered on the bus like any other by the foundation's wiring (`radflow.wiring.foundation`), which also
puts `SqlFhirReadModel` on the unit of work as `fhir_views`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from radflow.adapters.fhir.criteria import AuditCriteria, CoverageCriteria, OrderCriteria, PatientCriteria
from radflow.adapters.fhir.read_model import FhirReadModel
from radflow.adapters.fhir.search import Page
from radflow.domain.audit import AuditRecord
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.policy import AccessTarget, Action
from radflow.domain.referral import Coverage
from radflow.domain.users import Principal
from radflow.services.access import guard, guard_order
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.orders import ReceiveReferral, receive_referral_in
from radflow.services.unit_of_work import UnitOfWork
from radflow.services.views import OrderFilter, visible_filter


@dataclass(frozen=True)
class Found[T]:
    """One page of matches, the total number of matches, and the display names of the users named."""

    items: tuple[T, ...]
    total: int
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FindPatients:
    """A Patient search (staff see every patient; a referrer those they ordered for; a patient themself)."""

    actor: Principal
    criteria: PatientCriteria
    page: Page


@dataclass(frozen=True)
class FindOrders:
    """A ServiceRequest or Task search among the orders the user may see."""

    actor: Principal
    criteria: OrderCriteria
    page: Page
    with_names: bool = False  # the Task's history names who did each step


@dataclass(frozen=True)
class ReadOrder:
    """One order as a FHIR read needs it: the order and its timeline (GetOrder also loads the patient,
    referral, documents, authorization, coverage and user names, which a ServiceRequest does not show)."""

    actor: Principal
    order_id: str


@dataclass(frozen=True)
class ReceiveServiceRequest:
    """Receive a referral and hand back the order it made, in the same unit of work (one commit)."""

    referral: ReceiveReferral

    @property
    def actor(self) -> Principal:
        """Who sent it (the bus audits a refusal against them)."""
        return self.referral.actor


@dataclass(frozen=True)
class GetCoverage:
    """One coverage by id."""

    actor: Principal
    coverage_id: str


@dataclass(frozen=True)
class FindCoverages:
    """A Coverage search among the patients the user may see."""

    actor: Principal
    criteria: CoverageCriteria
    page: Page


@dataclass(frozen=True)
class FindAuditRecords:
    """An AuditEvent search (auditors only)."""

    actor: Principal
    criteria: AuditCriteria
    page: Page


def fhir_views(uow: UnitOfWork) -> FhirReadModel:
    """The unit of work's FHIR read model (wired by the foundation's area as `fhir_views`)."""
    wired: FhirReadModel | None = getattr(uow, "fhir_views", None)
    if wired is None:
        raise RuntimeError("this unit of work has no FHIR read model")
    return wired


def _audit_list(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, action: str, object_type: str,
                patient_ids: Iterable[str], shown: int, total: int) -> None:
    patients = sorted(set(patient_ids))
    record_access(uow, ctx, actor, action, patient_id=patients[0] if len(patients) == 1 else "",
                  object_type=object_type, detail=f"{shown} of {total}, patients={len(patients)}")


def find_patients(cmd: FindPatients, uow: UnitOfWork, ctx: ServiceContext) -> Found[Patient]:
    """Search patients the user may see; the search is audited."""
    guard(cmd.actor, Action.PATIENT_READ)
    visible = visible_filter(cmd.actor, OrderFilter())
    with uow:
        patients, total = fhir_views(uow).patients(cmd.criteria, visible, cmd.page)
        _audit_list(uow, ctx, cmd.actor, "patient.search", "patient-list", (p.id for p in patients),
                    len(patients), total)
        uow.commit()
        return Found(tuple(patients), total)


def find_orders(cmd: FindOrders, uow: UnitOfWork, ctx: ServiceContext) -> Found[Order]:
    """Search orders the user may see; the search is audited."""
    guard(cmd.actor, Action.ORDER_READ)
    visible = visible_filter(cmd.actor, OrderFilter())
    with uow:
        orders, total = fhir_views(uow).orders(cmd.criteria, visible, cmd.page)
        names: dict[str, str] = {}
        if cmd.with_names and orders:
            people = sorted({line.by for order in orders for line in order.transitions})
            views: Any = getattr(uow, "views", None)
            names = views.user_names(people) if views is not None else {}
        _audit_list(uow, ctx, cmd.actor, "order.read.list", "order-list", (o.patient_id for o in orders),
                    len(orders), total)
        uow.commit()
        return Found(tuple(orders), total, names)


def read_order(cmd: ReadOrder, uow: UnitOfWork, ctx: ServiceContext) -> Order:
    """Load an order for reading: checked against the order (GetOrder's rule) and audited as order.read."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.ORDER_READ, order)
        record_access(uow, ctx, cmd.actor, "order.read", patient_id=order.patient_id, object_type="order",
                      object_id=order.id)
        uow.commit()
        return order


def receive_service_request(cmd: ReceiveServiceRequest, uow: UnitOfWork, ctx: ServiceContext) -> Order:
    """Receive a one-line referral (checked, routed, audited as order.create) and return its order."""
    with uow:
        received = receive_referral_in(uow, ctx, cmd.referral)
        order = uow.orders.get(received.order_ids[0])  # from the unit of work's identity map: no query
        uow.commit()
        return order


def get_coverage(cmd: GetCoverage, uow: UnitOfWork, ctx: ServiceContext) -> Coverage:
    """Read one coverage (checked against its patient, audited)."""
    with uow:
        coverage = uow.coverages.get(cmd.coverage_id)
        guard(cmd.actor, Action.COVERAGE_READ, AccessTarget(patient_id=coverage.patient_id), object_type="coverage",
              object_id=coverage.id)
        record_access(uow, ctx, cmd.actor, "coverage.read", patient_id=coverage.patient_id, object_type="coverage",
                      object_id=coverage.id)
        uow.commit()
        return coverage


def find_coverages(cmd: FindCoverages, uow: UnitOfWork, ctx: ServiceContext) -> Found[Coverage]:
    """Search coverages of patients the user may see; the search is audited."""
    guard(cmd.actor, Action.COVERAGE_READ)
    visible = visible_filter(cmd.actor, OrderFilter())
    with uow:
        coverages, total = fhir_views(uow).coverages(cmd.criteria, visible, cmd.page)
        _audit_list(uow, ctx, cmd.actor, "coverage.search", "coverage-list", (c.patient_id for c in coverages),
                    len(coverages), total)
        uow.commit()
        return Found(tuple(coverages), total)


def find_audit_records(cmd: FindAuditRecords, uow: UnitOfWork, ctx: ServiceContext) -> Found[AuditRecord]:
    """Search the audit trail (reading it is itself audited)."""
    guard(cmd.actor, Action.AUDIT_READ)
    with uow:
        records, total = fhir_views(uow).audit_records(cmd.criteria, cmd.page)
        patients = {p for group in cmd.criteria.patient_ids for p in group}
        record_access(uow, ctx, cmd.actor, "audit.read", patient_id=next(iter(patients)) if len(patients) == 1
                      else "", object_type="audit", detail=f"{len(records)} of {total} records")
        uow.commit()
        return Found(tuple(records), total)


HANDLERS: Mapping[type, Handler] = {
    FindPatients: find_patients, FindOrders: find_orders, ReadOrder: read_order,
    ReceiveServiceRequest: receive_service_request, GetCoverage: get_coverage,
    FindCoverages: find_coverages, FindAuditRecords: find_audit_records,
}
