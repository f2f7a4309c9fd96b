"""What the FHIR edge asks of the results area: reports (DiagnosticReport) and deliveries (Communication).

The same rules as every other read: a referring provider finds the reports of orders they placed,
are copied on or cover for; a patient their own signed reports once released to them (a preliminary
never); staff the center's. Each search is audited, also when it finds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from radflow.domain import policy
from radflow.domain.distribution import Distribution, RecipientKind
from radflow.domain.errors import NotFound
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.policy import AccessTarget, Action
from radflow.domain.release import released_since
from radflow.domain.report import Report, ReportState
from radflow.domain.users import Principal, Role
from radflow.services.access import guard, guard_order, order_target
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.patient_release import exam_name
from radflow.services.reading import reports_in
from radflow.services.results_ports import distributions_in, holds_in
from radflow.services.unit_of_work import UnitOfWork

_OUTSIDE_READING_ROOM = (ReportState.PRELIMINARY, ReportState.FINAL, ReportState.AMENDED)


def _orders(uow: UnitOfWork, actor: Principal, action: Action, order_id: str, patient_id: str) -> list[Order]:
    """The orders a search may look at: one order, or a patient's orders the actor has access to."""
    if order_id:
        order = uow.orders.get(order_id)
        guard_order(actor, action, order)
        return [order]
    if not patient_id:
        raise NotFound("search by patient or by order (based-on)")
    if actor.role is Role.PATIENT:
        guard(actor, action, AccessTarget(patient_id=patient_id), object_type="patient", object_id=patient_id)
    return [o for o in uow.orders.for_patient(patient_id) if policy.may_access(actor, order_target(o))]


@dataclass(frozen=True)
class FoundReport:
    """A report with its order and patient."""

    report: Report
    order: Order
    patient: Patient
    exam_name: str


@dataclass(frozen=True)
class FindReports:
    """Reports by order or by patient, as the actor may see them."""

    actor: Principal
    order_id: str = ""
    patient_id: str = ""


def find_reports(cmd: FindReports, uow: UnitOfWork, ctx: ServiceContext) -> list[FoundReport]:
    """The reports found (audited)."""
    guard(cmd.actor, Action.REPORT_READ)
    now = ctx.clock.now()
    with uow:
        orders = _orders(uow, cmd.actor, Action.REPORT_READ, cmd.order_id, cmd.patient_id)
        reports = reports_in(uow).for_orders([o.id for o in orders])
        found = []
        for order in orders:
            report = reports.get(order.id)
            if report is None:
                continue
            if cmd.actor.role is Role.PATIENT and (not report.is_signed or released_since(
                    report.signed_at, holds_in(uow).for_order(order.id), now) is None):
                continue
            if cmd.actor.role is Role.REFERRING_PROVIDER and report.state not in _OUTSIDE_READING_ROOM:
                continue
            found.append(FoundReport(report, order, uow.patients.get(order.patient_id), exam_name(ctx, order)))
        patient = cmd.patient_id or (orders[0].patient_id if orders else "")
        record_access(uow, ctx, cmd.actor, "report.search", patient_id=patient, object_type="report-list",
                      detail=f"{len(found)} reports")
        uow.commit()
        return found


@dataclass(frozen=True)
class FindDeliveries:
    """Deliveries of reports and letters by order or by patient (one by id when `distribution_id`)."""

    actor: Principal
    order_id: str = ""
    patient_id: str = ""
    distribution_id: str = ""


def find_deliveries(cmd: FindDeliveries, uow: UnitOfWork, ctx: ServiceContext) -> list[Distribution]:
    """The deliveries found (audited); a referring provider does not see the patient's letters."""
    guard(cmd.actor, Action.DISTRIBUTION_READ)
    with uow:
        if cmd.distribution_id:
            one = distributions_in(uow).get(cmd.distribution_id)
            found = [one] if _orders(uow, cmd.actor, Action.DISTRIBUTION_READ, one.order_id, "") else []
        else:
            orders = _orders(uow, cmd.actor, Action.DISTRIBUTION_READ, cmd.order_id, cmd.patient_id)
            found = [d for o in orders for d in distributions_in(uow).for_order(o.id)]
        if cmd.actor.role is Role.REFERRING_PROVIDER:
            found = [d for d in found if d.recipient_kind is not RecipientKind.PATIENT]
        if cmd.distribution_id and not found:
            raise NotFound(f"Communication '{cmd.distribution_id}' not found")
        patient = cmd.patient_id or (found[0].patient_id if found else "")
        record_access(uow, ctx, cmd.actor, "distribution.search", patient_id=patient, object_type="distribution-list",
                      detail=f"{len(found)} deliveries")
        uow.commit()
        return found


HANDLERS: dict[type, Handler] = {FindReports: find_reports, FindDeliveries: find_deliveries}
