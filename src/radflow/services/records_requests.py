"""Requests for copies of reports and image transfers: the HIPAA right of access, answered within 30 days.

A patient asks on the portal, or the desk records a request made in person, by phone or by letter.
Each request is due 30 days after it was received (one 30-day extension, in writing, with the reason:
45 CFR 164.524(b)(2)); a copy for a third party waits for the patient's signed release form, filed as a
document on the request's patient. Fulfilling a request for report copies by e-mail or mail sends the
reports' PDFs through the message gateway with a stable key.

Nothing waits on someone opening the screen: a week before the deadline the person preparing the copy
(or, while nobody has started, the managers) is told that it is due, and on the deadline the managers
are told it is overdue — durable jobs keyed by the request and its deadline, so an extension plans a new
pair and the old ones find nothing to do. An extension sends the individual the written statement the
rule asks for: the reason for the delay and the date by which they will have an answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from radflow.domain.distribution import DeliveryChannel
from radflow.domain.errors import NotFound, ValidationError
from radflow.domain.ids import new_id
from radflow.domain.jobs import Job
from radflow.domain.policy import AccessTarget, Action
from radflow.domain.records_request import DeliveryMethod, RecordsRequest, RequestedItem
from radflow.domain.users import Principal, Role, User
from radflow.services.access import guard
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.critical_results import contact_of
from radflow.services.distribution import schedule_job
from radflow.services.documents import AttachDocument, attach_document_in
from radflow.services.jobs import JobHandler
from radflow.services.patient_communication import patient_contact
from radflow.services.patient_release import exam_name, printer_of
from radflow.services.ports import Attachment, OutboundMessage
from radflow.services.reading import reports_in
from radflow.services.result_documents import report_document
from radflow.services.results_ports import records_requests_in
from radflow.services.unit_of_work import UnitOfWork


def _audit(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, request: RecordsRequest, what: str,
           detail: str = "") -> None:
    record_access(uow, ctx, actor, f"records.{what}", patient_id=request.patient_id, object_type="records_request",
                  object_id=request.id, detail=detail)


@dataclass(frozen=True)
class RequestRecords:
    """Ask for copies of reports and/or images (a patient for their own record; the desk on their behalf)."""

    actor: Principal
    patient_id: str
    items: tuple[str, ...]
    delivery: str
    order_ids: tuple[str, ...] = ()
    third_party: bool = False
    recipient: str = ""
    requester_name: str = ""


DEADLINE = "records.deadline"
WARN_DAYS = 7  # a week leaves time to find the images or chase a release form


def _plan_deadline_notices(uow: UnitOfWork, request: RecordsRequest, now: datetime) -> None:
    """Write the request's due-soon and overdue jobs for its current deadline."""
    for kind, at in (("due_soon", request.due_at - timedelta(days=WARN_DAYS)), ("overdue", request.due_at)):
        schedule_job(uow, DEADLINE, f"{DEADLINE}:{request.id}:{request.due_at.isoformat()}:{kind}",
                     {"request_id": request.id, "due_at": request.due_at.isoformat(), "notice": kind},
                     due_at=max(at, now), now=now)


def _user(uow: UnitOfWork, user_id: str) -> list[User]:
    try:
        return [uow.users.get(user_id)] if user_id else []
    except NotFound:
        return []


def deadline_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: tell the desk that an open request is due within a week, or overdue (managers)."""
    request = records_requests_in(uow).get(str(job.payload["request_id"]))
    notice = str(job.payload["notice"])
    if not request.is_open or request.due_at.isoformat() != job.payload["due_at"]:
        return {"skipped": request.state.value if not request.is_open else "deadline moved"}
    people = [] if notice == "overdue" else [u for u in _user(uow, request.worked_by) if u.active]
    people = people or uow.users.active_with_role(Role.MANAGER)
    due = request.due_at.astimezone(ctx.settings.zone).strftime("%d %B %Y")
    # Minimum necessary over a text: the request's reference and the date, no patient name.
    subject = (f"Records request {request.id[:8]} overdue since {due}" if notice == "overdue"
               else f"Records request {request.id[:8]} due {due}")
    body = (f"{subject}: {', '.join(request.items).replace('_', ' ')} by {request.delivery}, still "
            f"{request.state.value.replace('_', ' ')}. 45 CFR 164.524 gives 30 days"
            f"{' (extended once already)' if request.extended else ' (one 30-day extension, in writing)'}. "
            f"Desk: /results/records-requests. — {ctx.settings.center_name}")
    told = []
    for person in people:
        channel, address = contact_of(person)
        ctx.gateway.send(OutboundMessage(key=f"{job.key}:{person.id}", channel=channel, to=address, subject=subject,
                                         body=body, patient_id=request.patient_id))
        told.append(f"{person.display_name or person.username} ({channel})")
    request.note_deadline_notice(notice, told, at=ctx.clock.now())
    return {"notice": notice, "told": told}


def _tell_of_extension(uow: UnitOfWork, ctx: ServiceContext, request: RecordsRequest) -> str:
    """Send the individual the written statement of the delay (164.524(b)(2)(ii)); returns how it went."""
    patient = uow.patients.get(request.patient_id)
    channel, address = patient_contact(uow, patient, with_attachment=False)
    zone, center = ctx.settings.zone, ctx.settings
    asked, due = (moment.astimezone(zone).strftime("%d %B %Y") for moment in (request.received_at, request.due_at))
    receipt = ctx.gateway.send(OutboundMessage(
        key=f"records:{request.id}:extension", channel=channel.value, to=address,
        subject="Your request for copies of your imaging records",
        body=(f"We need more time to answer your request of {asked}: {request.extension_reason}. You will have "
              f"our answer by {due}. Questions: {center.center_phone}. — {center.center_name}"),
        patient_id=patient.id))
    return f"statement of the delay sent by {channel.value} ({receipt.gateway_reference})"


def request_records(cmd: RequestRecords, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Record the request, due in 30 days (audited); returns its id."""
    guard(cmd.actor, Action.RECORDS_REQUEST, AccessTarget(patient_id=cmd.patient_id), object_type="patient",
          object_id=cmd.patient_id)
    with uow:
        patient = uow.patients.get(cmd.patient_id)
        for order_id in cmd.order_ids:
            order = uow.orders.find(order_id)
            if order is None or order.patient_id != patient.id:
                raise ValidationError(f"order '{order_id}' is not one of this patient's", field="order_ids")
        request = RecordsRequest.receive(
            id=new_id(), patient_id=patient.id, items=list(cmd.items), order_ids=list(cmd.order_ids),
            delivery=cmd.delivery, at=ctx.clock.now(), requested_by=cmd.actor.user_id,
            requester_name=cmd.requester_name or (patient.display_name if cmd.actor.role is Role.PATIENT else ""),
            third_party=cmd.third_party, recipient=cmd.recipient, release_form_document_id="")
        records_requests_in(uow).add(request)
        _plan_deadline_notices(uow, request, request.received_at)
        _audit(uow, ctx, cmd.actor, request, "request", f"{', '.join(request.items)} by {request.delivery}")
        uow.commit()
        return request.id


def _load(uow: UnitOfWork, actor: Principal, request_id: str) -> RecordsRequest:
    guard(actor, Action.RECORDS_MANAGE)
    return records_requests_in(uow).get(request_id)


@dataclass(frozen=True)
class AttachReleaseForm:
    """File the patient's signed release form on a request (a copy for a third party needs it)."""

    actor: Principal
    request_id: str
    filename: str
    content_type: str
    content: bytes = field(repr=False)


def attach_release_form(cmd: AttachReleaseForm, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Store the form as a consent document and link it (audited); returns the document's id."""
    with uow:
        request = _load(uow, cmd.actor, cmd.request_id)
        document_id = attach_document_in(uow, ctx, AttachDocument(
            actor=cmd.actor, patient_id=request.patient_id, filename=cmd.filename, content_type=cmd.content_type,
            content=cmd.content, kind="consent", description="signed release form (HIPAA authorization)"))
        request.attach_release_form(document_id, at=ctx.clock.now(), by=cmd.actor.user_id)
        _audit(uow, ctx, cmd.actor, request, "release_form", document_id)
        uow.commit()
        return document_id


@dataclass(frozen=True)
class WorkRecordsRequest:
    """Move a request on: start, extend (with the reason), fulfil (what went out), deny (the basis), withdraw."""

    actor: Principal
    request_id: str
    step: str
    text: str = ""
    send_copies: bool = False


def _send_copies(uow: UnitOfWork, ctx: ServiceContext, request: RecordsRequest) -> str:
    """Send the requested reports' PDFs by e-mail or mail; returns what went out."""
    if RequestedItem.REPORT_COPIES.value not in request.items:
        return ""
    if request.delivery not in (DeliveryMethod.EMAIL.value, DeliveryMethod.MAIL.value):
        raise ValidationError("copies are sent from here by e-mail or mail; record other deliveries in the answer",
                              field="send_copies")
    patient = uow.patients.get(request.patient_id)
    attachments = []
    for order_id in request.order_ids:
        order = uow.orders.get(order_id)
        report = reports_in(uow).for_order(order_id)
        if report is None or not report.is_signed:
            raise NotFound(f"order {order.accession_number} has no signed report to copy")
        document = report_document(report, order, patient, ctx.settings, exam_name(ctx, order))
        attachments.append(Attachment(f"report-{order.accession_number}.pdf", "application/pdf",
                                      printer_of(ctx).pdf(document)))
    if not attachments:
        raise ValidationError("name the orders whose reports are copied", field="order_ids")
    by_email = request.delivery == DeliveryMethod.EMAIL.value
    if request.third_party:
        channel, address = ("email" if by_email else "letter"), request.recipient
    else:
        contact, address = patient_contact(uow, patient, with_attachment=True)
        if by_email and contact is not DeliveryChannel.EMAIL:
            raise ValidationError("the patient has no e-mail address with consent on file: send the copies by mail",
                                  field="send_copies")
        if not by_email:
            place = ", ".join(p for p in (patient.city, patient.state, patient.postal_code) if p)
            address = "\n".join(p for p in (patient.display_name, patient.address_line, place) if p)
        channel = contact.value if by_email else "letter"
    receipt = ctx.gateway.send(OutboundMessage(
        key=f"records:{request.id}", channel=channel, to=address, subject="Copies of your imaging reports",
        body=f"Enclosed: {len(attachments)} report(s) from {ctx.settings.center_name}, as requested.",
        attachments=tuple(attachments), patient_id=patient.id))
    return f"{len(attachments)} report PDF(s) sent by {channel} ({receipt.gateway_reference})"


def work_records_request(cmd: WorkRecordsRequest, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Apply the step (audited); returns the request's state."""
    with uow:
        request = _load(uow, cmd.actor, cmd.request_id)
        now, by = ctx.clock.now(), cmd.actor.user_id
        if cmd.step == "start":
            request.start(at=now, by=by)
        elif cmd.step == "extend":
            request.extend(reason=cmd.text, at=now, by=by)
            _plan_deadline_notices(uow, request, now)
            request.note_deadline_notice("extension_sent", [_tell_of_extension(uow, ctx, request)], at=now, by=by)
        elif cmd.step == "fulfil":
            sent = _send_copies(uow, ctx, request) if cmd.send_copies else ""
            request.fulfil(answer="; ".join(p for p in (cmd.text, sent) if p), at=now, by=by)
        elif cmd.step == "deny":
            request.deny(basis=cmd.text, at=now, by=by)
        elif cmd.step == "withdraw":
            request.withdraw(at=now, by=by, note=cmd.text)
        else:
            raise ValidationError("step is start, extend, fulfil, deny or withdraw", field="step")
        _audit(uow, ctx, cmd.actor, request, cmd.step, cmd.text)
        uow.commit()
        return request.state.value


@dataclass(frozen=True)
class ListRecordsRequests:
    """Requests to answer, soonest due first (the desk); a patient's own requests (the portal)."""

    actor: Principal
    patient_id: str = ""
    open_only: bool = True


def list_records_requests(cmd: ListRecordsRequests, uow: UnitOfWork, ctx: ServiceContext) -> list[RecordsRequest]:
    """The list (audited, also when empty)."""
    if cmd.actor.role is Role.PATIENT or cmd.patient_id:
        # One patient's requests: the patient's own, or any patient's for the desk.
        patient_id = cmd.patient_id or cmd.actor.patient_id or ""
        guard(cmd.actor, Action.RECORDS_REQUEST, AccessTarget(patient_id=patient_id), object_type="patient",
              object_id=patient_id)
    else:
        guard(cmd.actor, Action.RECORDS_MANAGE)
        patient_id = ""
    with uow:
        found = records_requests_in(uow).for_patient(patient_id) if patient_id else \
            records_requests_in(uow).open_requests(500)
        if cmd.open_only and patient_id:
            found = [r for r in found if r.is_open]
        record_access(uow, ctx, cmd.actor, "records.list", patient_id=patient_id, object_type="records-request-list",
                      detail=f"{len(found)} requests")
        uow.commit()
        return found


HANDLERS: dict[type, Handler] = {
    RequestRecords: request_records, AttachReleaseForm: attach_release_form,
    WorkRecordsRequest: work_records_request, ListRecordsRequests: list_records_requests,
}
JOB_HANDLERS: dict[str, JobHandler] = {DEADLINE: deadline_job}
