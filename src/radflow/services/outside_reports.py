"""A final report from an outside dictation system (HL7 ORU^R01) becomes the order's signed report.

The HL7 side attaches the report to its order as a document and records `ExternalReportReceived`. Here,
in the same transaction: when the order's study waits to be read (`imaging_completed`) and radflow has
no report for it, a final result (HL7 table 0123: F) becomes a signed Report with the outside reader's
name, and the order moves to `reported` — so the report is distributed exactly as radflow's own (provider
inboxes with first-opened tracking, the patient's portal copy, ORU to the placer, patient letters, and
recommendations made follow-up items by the same reader). A corrected result (C) on such a report is
signed as an addendum. Anything else — a preliminary result, an order not yet through QC, a report
radflow's own radiologists are writing — stays an attached document, and only its recommendations are
read for follow-up items.
"""

from __future__ import annotations

import re

from radflow.domain.events import DomainEvent
from radflow.domain.hl7_message import ExternalReportReceived
from radflow.domain.ids import new_id
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.order import Order
from radflow.domain.report import Report, ReportState
from radflow.services import followups
from radflow.services.reading import reports_in
from radflow.services.unit_of_work import EventHandler, UnitOfWork

OUTSIDE_TEMPLATE = "outside"
_IMPRESSION = re.compile(r"^\s*(impression|conclusion)s?\s*:\s*", re.IGNORECASE | re.MULTILINE)


def split_report_text(text: str) -> tuple[str, str]:
    """(findings, impression) of a plain-text report: the impression is what follows its heading."""
    match = _IMPRESSION.search(text)
    if match is None:
        return "", text.strip()
    return text[:match.start()].strip(), text[match.end():].strip()


def _signed_report(event: ExternalReportReceived, order: Order) -> Report:
    findings, impression = split_report_text(event.text)
    reader = event.interpreter_name or "outside reader"
    signed_at = event.signed_at or event.at
    report = Report(
        id=new_id(), order_id=order.id, patient_id=order.patient_id, accession_number=order.accession_number,
        study_instance_uid=order.study_instance_uid, template_key=OUTSIDE_TEMPLATE, state=ReportState.DRAFT,
        created_at=event.at, updated_at=event.at, author_id=event.by, author_name=reader,
        exam_body_part=order.body_part, exam_laterality=order.laterality.value if order.laterality else "",
        findings=findings, impression=impression,
    )
    report.sign(by=event.by, by_name=reader, at=signed_at)
    return report


def on_outside_report(event: DomainEvent, uow: UnitOfWork) -> None:
    """Sign a final outside report onto its order (or add a correction), else read it for follow-ups."""
    assert isinstance(event, ExternalReportReceived)
    order = uow.orders.get(event.order_id)
    existing = reports_in(uow).for_order(order.id)
    details = {"message_id": event.message_id, "document_id": event.document_id, "source": "hl7"}
    if event.result_status == "F" and existing is None and order.state is OrderState.IMAGING_COMPLETED:
        report = _signed_report(event, order)
        reports_in(uow).add(report)
        order.transition(OrderEvent.REPORT_FINALIZED, by=event.by, at=event.at,
                         details={**details, "report_id": report.id, "read_by": report.signed_by_name})
        return
    if (event.result_status == "C" and existing is not None and existing.template_key == OUTSIDE_TEMPLATE
            and existing.is_signed and order.state in (OrderState.REPORTED, OrderState.DELIVERED)):
        addendum = existing.sign_addendum(event.text, reason="corrected report from the outside reader",
                                          by=event.by, by_name=event.interpreter_name or existing.signed_by_name,
                                          at=event.at)
        order.transition(OrderEvent.ADDENDUM_SIGNED, by=event.by, at=event.at,
                         details={**details, "report_id": existing.id, "addendum": addendum.seq})
        return
    followups.on_outside_report(event, uow)


EVENT_HANDLERS: dict[type[DomainEvent], list[EventHandler]] = {ExternalReportReceived: [on_outside_report]}
