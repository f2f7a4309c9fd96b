"""Reports from an outside dictation system (ORU^R01): attached to their order, handed on by an event.

Each OBR names its order by the filler order number (OBR-3: radflow's accession number) or, failing
that, the placer order number (OBR-2) among the patient's orders. The report is stored on the order
as a `prior_report` document (text, with status, reader and times), and `ExternalReportReceived` is
recorded on the stored message: the reporting side subscribes to it to distribute the report and
move the order on (radflow's own Report is written by its radiologists; this one is an outside
reading). A report whose patient identifiers name another patient than its order's is refused.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from radflow.adapters.hl7.mapping import SenderMapping, to_utc
from radflow.adapters.hl7.messages import InboundReport, Provider, ReportedResult
from radflow.adapters.hl7.results import RESULT_STATUSES
from radflow.domain.errors import Conflict, NotFound
from radflow.domain.hl7_message import ExternalReportReceived, Hl7Message, ReferenceKind
from radflow.domain.order import Order
from radflow.domain.users import Principal
from radflow.services.context import ServiceContext
from radflow.services.documents import AttachDocument, attach_document_in
from radflow.services.interfaces.patients_in import by_identifier
from radflow.services.unit_of_work import UnitOfWork


def apply_report(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, inbound: InboundReport,
                 sender: SenderMapping, message: Hl7Message) -> None:
    """Attach each OBR's report to its order and record ExternalReportReceived for it."""
    for identifier in inbound.patient.identifiers:
        message.refer_to(ReferenceKind.MRN, identifier.value)
    for result in inbound.results:
        order = _order_for(uow, inbound, result)
        _check_patient(uow, inbound, order)
        text = report_document(result, sender.timezone)
        status = RESULT_STATUSES[result.result_status]
        reader = _name(result.interpreter)
        document_id = attach_document_in(uow, ctx, AttachDocument(
            actor=actor, patient_id=order.patient_id, order_id=order.id, kind="prior_report", source="hl7",
            filename=f"{order.accession_number}-report-{status}-{inbound.header.control_id}.txt"[:200],
            content_type="text/plain; charset=utf-8", content=text.encode("utf-8"),
            description=f"{status.capitalize()} report from {sender.name}" + (f", read by {reader}" if reader else ""),
        ))
        message.patient_id = order.patient_id
        for kind, value in ((ReferenceKind.ACCESSION, order.accession_number), (ReferenceKind.ORDER, order.id),
                            (ReferenceKind.PATIENT, order.patient_id)):
            message.refer_to(kind, value)
        message.record(ExternalReportReceived(
            at=ctx.clock.now(), by=actor.user_id, message_id=message.id, order_id=order.id,
            patient_id=order.patient_id, accession_number=order.accession_number, document_id=document_id,
            result_status=result.result_status, text=result.text, interpreter_name=reader,
            interpreter_npi=(result.interpreter.npi or "") if result.interpreter else "",
            observed_at=to_utc(result.observed_at, sender.timezone),
            signed_at=to_utc(result.status_changed_at, sender.timezone),
            coded_findings=tuple((o.identifier.code, c.code, c.text) for o in result.observations
                                 for c in o.coded_values),
        ))


def _order_for(uow: UnitOfWork, inbound: InboundReport, result: ReportedResult) -> Order:
    if result.filler_order_number:
        found = uow.orders.by_accession(result.filler_order_number)
        if found is not None:
            return found
    if result.placer_order_number:
        for identifier in inbound.patient.identifiers:
            patient = by_identifier(uow, identifier)
            if patient is None:
                continue
            for order in uow.orders.for_patient(patient.id):
                if order.placer_order_number == result.placer_order_number:
                    return order
    numbers = " / ".join(n for n in (result.filler_order_number, result.placer_order_number) if n)
    raise NotFound(f"no order with accession or placer number {numbers} for this patient; "
                   "the report was not attached")


def _check_patient(uow: UnitOfWork, inbound: InboundReport, order: Order) -> None:
    """Refuse a report whose PID names another patient than its order's (a wrong-patient report)."""
    for identifier in inbound.patient.identifiers:
        patient = by_identifier(uow, identifier)
        if patient is not None and patient.id != order.patient_id:
            raise Conflict(
                f"the report's patient ({identifier.value} from {identifier.assigning_authority}) is not the "
                f"patient of order {order.accession_number}; the report was not attached — check the accession")


def _name(provider: Provider | None) -> str:
    if provider is None:
        return ""
    return " ".join(p for p in (provider.prefix, provider.given, provider.middle, provider.family, provider.degree)
                    if p)


def report_document(result: ReportedResult, zone: ZoneInfo) -> str:
    """The stored text: a short header (status, reader, times), then the report as dictated."""
    status = RESULT_STATUSES[result.result_status]
    lines = [f"Status: {status} ({result.result_status})"]
    if result.universal_service is not None:
        lines.append(f"Procedure: {result.universal_service.text or result.universal_service.code}")
    reader = _name(result.interpreter)
    if reader:
        lines.append(f"Read by: {reader}")
    for label, moment in (("Observed", result.observed_at), ("Reported", result.status_changed_at)):
        utc = to_utc(moment, zone)
        if utc is not None:
            lines.append(f"{label}: {utc.isoformat(timespec='minutes')}")
    coded = [f"{o.identifier.text or o.identifier.code}: {c.code} {c.text}".strip()
             for o in result.observations for c in o.coded_values]
    lines.extend(coded)
    return "\n".join(lines) + "\n\n" + result.text + "\n"
