"""HL7 going out: order status on every lifecycle change, reports on signing, merges, application ACKs.

Each message is a durable job written in the transaction of the change that causes it (the
transactional outbox, DESIGN §2): an in-transaction handler on `OrderTransitioned` (every state, now
and later, through this one hook), on the reporting side's `ReportFinalized` / `ReportAmended`, and
the inbound side's enhanced-mode application ACKs. Jobs for one destination share a queue, so the
worker sends them one at a time in the order they were written (per-destination order holds).

The worker's job handler builds the message, ends the read transaction (so that a slow partner never
holds a database lock), sends it over MLLP with timeouts and checks the ACK: MSA-2 must echo the
MSH-10 sent, and AA/CA means done; AE/AR, a timeout or a broken connection raise, and the job runner
retries with backoff until the job is dead (the dead-letter view, with resend). MSH-10 is derived
from the job's key, so every retry carries the same MSH-10 and a deduplicating receiver applies the
message once.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from radflow.adapters.hl7.acks import read_ack
from radflow.adapters.hl7.mapping import Destination, SenderMapping
from radflow.adapters.hl7.mllp import MllpClient, MllpDeliveryError
from radflow.config import Settings
from radflow.domain.errors import NotFound
from radflow.domain.events import OrderTransitioned, PatientsMerged
from radflow.domain.hl7_message import Hl7Message
from radflow.domain.ids import new_id
from radflow.domain.jobs import Job
from radflow.domain.order import Order
from radflow.domain.report import ReportAmended, ReportFinalized
from radflow.services.context import ServiceContext
from radflow.services.interfaces.mappings import current_mapping
from radflow.services.interfaces.status_messages import merge_message, report_message, status_message
from radflow.services.jobs import JobHandler, enqueue
from radflow.services.unit_of_work import EventHandler, UnitOfWork

log = logging.getLogger("radflow.hl7.outbound")

ORDER_STATUS = "hl7.order_status"
REPORT = "hl7.report"
APPLICATION_ACK = "hl7.application_ack"
PATIENT_MERGE = "hl7.patient_merge"
KINDS = (ORDER_STATUS, REPORT, APPLICATION_ACK, PATIENT_MERGE)
_CONTROL_ID_LENGTH = 20  # MSH-10 is an ST of 20 characters in 2.3 to 2.5.1


class DeliveryRefused(MllpDeliveryError):
    """The partner answered AE or AR (or acknowledged another message); the job retries, then dies."""

    code = "hl7-refused"


def control_id_for(job_key: str) -> str:
    """MSH-10 for the message a job sends: derived from the job's key, the same on every retry."""
    return "RF" + hashlib.sha256(job_key.encode()).hexdigest()[: _CONTROL_ID_LENGTH - 2].upper()


def queue_for(destination: Destination) -> str:
    """The job queue of a destination: its messages go out one at a time, in order."""
    return f"hl7:{destination.host}:{destination.port}"[:100]


def interface_name(sender: SenderMapping) -> str:
    """The name the interface acts under when it applies this sender's messages (its user id: system:NAME)."""
    return f"hl7:{sender.name}"[:60]


def _sender_of(uow: UnitOfWork, order: Order) -> SenderMapping | None:
    """The mapping of the system that placed the order (MSH-3^MSH-4 kept as the placer system)."""
    if not order.placer_system:
        return None
    mapping = current_mapping(uow)
    if mapping is None:
        return None
    application, _, facility = order.placer_system.partition("^")
    return mapping.sender_named(application, facility)


def _add_job(uow: UnitOfWork, kind: str, key: str, payload: dict[str, Any], at: datetime, queue: str) -> None:
    uow.jobs.add(Job(id=new_id(), kind=kind, key=key, payload=payload, due_at=at, created_at=at, queue=queue))


def on_order_transitioned(event: Any, uow: UnitOfWork) -> None:
    """Queue an order-status message to the placer for this state change (if the placer wants them)."""
    assert isinstance(event, OrderTransitioned)
    order = uow.orders.find(event.order_id)
    if order is None or not order.placer_system:
        return
    sender = _sender_of(uow, order)
    if sender is None or sender.outbound is None:
        return
    line = next((t for t in reversed(order.transitions)
                 if t.event == event.event and t.to_state == event.to_state and t.at == event.at), None)
    seq = line.seq if line is not None else len(order.transitions)
    queue = queue_for(sender.outbound)
    _add_job(uow, ORDER_STATUS, f"{ORDER_STATUS}:{queue}:{order.id}:{seq}", {
        "order_id": order.id, "seq": seq, "state": event.to_state, "event": event.event,
        "at": event.at.isoformat(), "sender": [sender.sending_application, sender.sending_facility],
    }, event.at, queue)


class SignedReport(Protocol):
    """What the outbound ORU needs of the reporting side's Report (radflow.domain.report.Report)."""

    signed_at: datetime | None
    signed_by_name: str

    def text(self) -> str:
        """The whole report as plain text."""
        ...


def _signed_report(uow: UnitOfWork, report_id: str) -> SignedReport | None:
    """The report from the reporting side's repository, when its unit of work carries one."""
    reports = getattr(uow, "reports", None)
    if reports is None:
        return None
    try:
        found: SignedReport | None = reports.get(report_id)
    except NotFound:
        return None
    return found


def _report_job(uow: UnitOfWork, *, order_id: str, report_id: str, status: str, seq: int, at: datetime,
                fallback_text: str, rads: list[list[str]]) -> None:
    order = uow.orders.find(order_id)
    if order is None:
        return
    sender = _sender_of(uow, order)
    if sender is None or sender.outbound is None:
        return
    report = _signed_report(uow, report_id)
    queue = queue_for(sender.outbound)
    _add_job(uow, REPORT, f"{REPORT}:{queue}:{report_id}:{seq}", {
        "order_id": order_id, "report_id": report_id, "status": status,
        "text": report.text() if report is not None else fallback_text,
        "signed_at": (report.signed_at if report is not None and report.signed_at else at).isoformat(),
        "signer": report.signed_by_name if report is not None else "", "rads": rads,
        "sender": [sender.sending_application, sender.sending_facility],
    }, at, queue)


def on_report_finalized(event: Any, uow: UnitOfWork) -> None:
    """Queue the ORU^R01 (OBR-25 F) of a signed report to the placer's system."""
    assert isinstance(event, ReportFinalized)
    text = "\n\n".join(p for p in (f"IMPRESSION:\n{event.impression}" if event.impression else "",
                                    f"RECOMMENDATIONS:\n{event.recommendations}" if event.recommendations else "")
                       if p)
    rads = [[r.system, r.category, r.descriptor] for r in event.rads]
    _report_job(uow, order_id=event.order_id, report_id=event.report_id, status="final", seq=0, at=event.at,
                fallback_text=text or "Report signed.", rads=rads[:1])


def on_report_amended(event: Any, uow: UnitOfWork) -> None:
    """Queue the ORU^R01 (OBR-25 C) carrying the report with its new addendum."""
    assert isinstance(event, ReportAmended)
    _report_job(uow, order_id=event.order_id, report_id=event.report_id, status="corrected",
                seq=event.addendum_seq, at=event.at, fallback_text=f"ADDENDUM {event.addendum_seq}: {event.reason}",
                rads=[])


def on_patients_merged(event: Any, uow: UnitOfWork) -> None:
    """Queue ADT^A40 to every placer system with orders of the merged person (not to the one that merged)."""
    assert isinstance(event, PatientsMerged)
    senders: dict[str, SenderMapping] = {}
    for order in uow.orders.for_patient(event.survivor_id):  # the merged record's orders have moved here
        sender = _sender_of(uow, order)
        if sender is None or sender.outbound is None or event.by == f"system:{interface_name(sender)}":
            continue
        senders.setdefault(queue_for(sender.outbound), sender)
    for queue, sender in senders.items():
        _add_job(uow, PATIENT_MERGE, f"{PATIENT_MERGE}:{queue}:{event.merged_id}:{event.survivor_id}", {
            "survivor_id": event.survivor_id, "merged_id": event.merged_id, "at": event.at.isoformat(),
            "sender": [sender.sending_application, sender.sending_facility],
        }, event.at, queue)


def enqueue_application_ack(uow: UnitOfWork, ctx: ServiceContext, message: Hl7Message, sender: SenderMapping,
                            ack: bytes) -> None:
    """Queue an enhanced-mode application ACK to the sender's return destination (HL7 2.5.1 2.9.3)."""
    destination = sender.application_ack_destination
    if destination is None:
        log.warning("sender %s asks for application ACKs (MSH-16) but has no application_ack_destination",
                    sender.name)
        return
    queue = queue_for(destination)
    enqueue(uow, ctx, APPLICATION_ACK, f"{APPLICATION_ACK}:{message.id}:{message.processings + 1}", {
        "message_id": message.id, "ack": ack.decode("latin-1"),
        "sender": [sender.sending_application, sender.sending_facility],
    }, queue=queue)


EVENT_HANDLERS: Mapping[type, list[EventHandler]] = {
    OrderTransitioned: [on_order_transitioned],
    ReportFinalized: [on_report_finalized],
    ReportAmended: [on_report_amended],
    PatientsMerged: [on_patients_merged],
}


# -- sending (the worker) -------------------------------------------------------------------------

Transport = Callable[[Destination, bytes, Settings], bytes]


def mllp_transport(destination: Destination, message: bytes, settings: Settings) -> bytes:
    """Send one message over MLLP (TLS when the destination asks) and return the answer's bytes."""
    context: ssl.SSLContext | None = None
    if destination.tls:
        context = ssl.create_default_context(cafile=str(settings.mllp_tls_ca) if settings.mllp_tls_ca else None)
    with MllpClient(destination.host, destination.port, ssl_context=context,
                    connect_timeout_s=settings.hl7_connect_timeout_seconds,
                    ack_timeout_s=settings.hl7_ack_timeout_seconds) as client:
        return client.send(message)


def deliver(destination: Destination, message: bytes, control_id: str, settings: Settings,
            transport: Transport = mllp_transport) -> dict[str, Any]:
    """Send and check the ACK: MSA-2 must be our MSH-10 and MSA-1 AA or CA; else raise (the job retries)."""
    ack = read_ack(transport(destination, message, settings))
    where = f"{destination.host}:{destination.port}"
    if ack.acknowledged_control_id != control_id:
        raise DeliveryRefused(f"{where} acknowledged message {ack.acknowledged_control_id!r}, not {control_id!r}")
    if not ack.is_accepted:
        raise DeliveryRefused(f"{where} answered {ack.code}: {ack.message or 'no reason given'}")
    return {"destination": where, "control_id": control_id, "ack_code": ack.code}


def _destination(job: Job, uow: UnitOfWork, which: str) -> Destination | None:
    mapping = current_mapping(uow)
    application, facility = job.payload["sender"]
    sender = mapping.sender_named(application, facility) if mapping is not None else None
    if sender is None:
        return None
    found: Destination | None = getattr(sender, which)
    return found


def _send(job: Job, uow: UnitOfWork, ctx: ServiceContext, which: str,
          build: Callable[[Destination, str], bytes]) -> dict[str, Any]:
    destination = _destination(job, uow, which)
    if destination is None:
        return {"sent": False, "reason": "the sender's mapping no longer names this destination"}
    control_id = control_id_for(job.key)
    message = build(destination, control_id)
    # End the read transaction before the network: a slow partner must not hold a database lock.
    uow.commit()
    return deliver(destination, message, control_id, ctx.settings)


def order_status_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: send one order-status message (ORM^O01 / OMI^O23, ORC-1 SC) to the placer."""
    return _send(job, uow, ctx, "outbound", lambda destination, control_id: status_message(
        uow, ctx, job, destination, control_id))


def report_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: send one report (ORU^R01, final or corrected) to the ordering provider's system."""
    return _send(job, uow, ctx, "outbound", lambda destination, control_id: report_message(
        uow, ctx, job, destination, control_id))


def patient_merge_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: send one ADT^A40 (patient merge) to a placer system."""
    return _send(job, uow, ctx, "outbound", lambda destination, control_id: merge_message(
        uow, ctx, job, destination, control_id))


def application_ack_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: send an enhanced-mode application ACK to the sender's return destination."""
    ack = str(job.payload["ack"]).encode("latin-1")
    control_id = _msh10(ack)
    destination = _destination(job, uow, "application_ack_destination")
    if destination is None:
        return {"sent": False, "reason": "the sender's mapping no longer names an application_ack_destination"}
    uow.commit()
    return deliver(destination, ack, control_id, ctx.settings)


def _msh10(message: bytes) -> str:
    first = message.split(b"\r", 1)[0].decode("latin-1")
    fields = first.split(first[3]) if len(first) > 3 else []
    return fields[9] if len(fields) > 9 else ""


JOB_HANDLERS: dict[str, JobHandler] = {
    ORDER_STATUS: order_status_job,
    REPORT: report_job,
    APPLICATION_ACK: application_ack_job,
    PATIENT_MERGE: patient_merge_job,
}
