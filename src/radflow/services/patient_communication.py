"""Telling the patient: who is responsible per order, the MQSA lay letter, normal-result notices, tracking.

Signing a report writes a `results.patient_communication` job. It records who tells the patient (a
mammogram: the facility, always — MQSA; otherwise the ordering provider unless the center's setting or
a person said the center does), and plans what the center sends, each a `Distribution` with its due
date: for a mammogram the lay-language letter with the facility's name, address and phone and the
prescribed density statement, due 30 days after the exam, or 7 calendar days after the reading for
"Suspicious" and "Highly Suggestive of Malignancy" (21 CFR 900.12(c)(2)-(3)); for a normal result
the center tells, a notice due after the configured number of days. Sending is a job of its own (the
PDF goes through the gateway with a stable key: by e-mail where the patient consented to it, else on
paper), and a deadline job flags anything that did not go out in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from radflow.catalog.rads import load_mqsa, load_rulebook
from radflow.domain.distribution import DeliveryChannel, Distribution, DistributionState, Purpose, RecipientKind
from radflow.domain.errors import Conflict, ValidationError
from radflow.domain.events import DomainEvent
from radflow.domain.jobs import Job
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.policy import Action
from radflow.domain.rads import assess_finding
from radflow.domain.rads.mqsa import Facility, lay_letter, mqsa_category, mqsa_deadlines
from radflow.domain.release import Responsible, ResultCommunication, default_responsibility
from radflow.domain.report import Report, ReportFinalized
from radflow.domain.users import Principal
from radflow.services.access import guard, guard_order
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.distribution import SYSTEM, ensure_distribution, report_actionable, schedule_job
from radflow.services.jobs import JobHandler
from radflow.services.patient_release import exam_name, printer_of
from radflow.services.ports import Attachment, OutboundMessage
from radflow.services.reading import reports_in
from radflow.services.result_documents import exam_day, lay_letter_document, result_notice_document
from radflow.services.results_ports import communications_in, distributions_in
from radflow.services.unit_of_work import EventHandler, UnitOfWork

PATIENT_COMMUNICATION = "results.patient_communication"
SEND_LETTER = "results.send_letter"
LETTER_DEADLINE = "results.letter_deadline"
TRACKED = (Purpose.LAY_LETTER, Purpose.RESULT_NOTICE)


def on_report_finalized(event: DomainEvent, uow: UnitOfWork) -> None:
    """Plan what the patient is told, in the signing transaction."""
    assert isinstance(event, ReportFinalized)
    schedule_job(uow, PATIENT_COMMUNICATION, f"{PATIENT_COMMUNICATION}:{event.report_id}",
                 {"report_id": event.report_id}, due_at=event.at, now=event.at)


EVENT_HANDLERS: dict[type[DomainEvent], list[EventHandler]] = {ReportFinalized: [on_report_finalized]}


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The last moment of a day in the center's zone (a deadline "within 30 days" runs to its end)."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone)


def patient_contact(uow: UnitOfWork, patient: Patient, *, with_attachment: bool) -> tuple[DeliveryChannel, str]:
    """The patient's channel: e-mail (or a text, without attachment) where they consented; else paper."""
    messaging = getattr(uow, "messaging", None)
    preference = messaging.preference(patient.id) if messaging is not None else None
    if preference is not None:
        from radflow.domain.messaging.contact import Channel

        for name in preference.channels:
            channel = Channel(name)
            consent = preference.consent(channel)
            if consent is None or not consent.is_active:
                continue
            if channel is Channel.EMAIL:
                return DeliveryChannel.EMAIL, consent.address
            if channel is Channel.SMS and not with_attachment:
                return DeliveryChannel.SMS, consent.address
    place = ", ".join(p for p in (patient.city, patient.state, patient.postal_code) if p)
    return DeliveryChannel.LETTER, "\n".join(p for p in (patient.display_name, patient.address_line, place) if p)


def responsibility_for(uow: UnitOfWork, ctx: ServiceContext, order: Order) -> ResultCommunication:
    """Who tells the patient about this order's result (recorded with its default when nobody said)."""
    found = communications_in(uow).find(order.id)
    if found is not None:
        return found
    responsible, basis = default_responsibility(is_mammogram=order.requested_modality == "MG",
                                                center_tells_patients=ctx.results.center_tells_patients)
    record = ResultCommunication(order_id=order.id, patient_id=order.patient_id, responsible=responsible,
                                 basis=basis, set_by=SYSTEM, set_at=ctx.clock.now())
    communications_in(uow).add(record)
    return record


@dataclass(frozen=True)
class MqsaFacts:
    """A mammogram's MQSA category, density, dates and due dates, read from its BI-RADS result."""

    category: str
    density: str | None
    exam_date: date
    reading_date: date
    lay_summary_due: date
    provider_report_due: date
    urgent: bool
    source: str


def mqsa_facts(report: Report, order: Order, zone: ZoneInfo) -> MqsaFacts | str:
    """The facts the lay letter needs, or why they cannot be read (no BI-RADS assessment on the report)."""
    birads = [r for r in report.rads_results if r.system == "BI-RADS"]
    if not birads:
        return "the report has no BI-RADS assessment: the MQSA category and density cannot be read"
    result, table = birads[0], load_mqsa()
    details = assess_finding(dict(result.finding), load_rulebook()).details.get("mqsa") or {}
    category = str(details.get("assessment_category") or mqsa_category(result.category, table))
    density = result.finding.get("density")
    exam_date = exam_day(order, zone)
    reading = report.signed_at.astimezone(zone).date() if report.signed_at else exam_date
    deadlines = mqsa_deadlines(category, exam_date, max(reading, exam_date), table)
    return MqsaFacts(category, str(density) if density else None, exam_date, reading, deadlines.lay_summary_due,
                     deadlines.provider_report_due, deadlines.urgent, deadlines.source)


def _plan(uow: UnitOfWork, ctx: ServiceContext, d: Distribution, new: bool) -> None:
    if new and "problem" not in d.details:
        now = ctx.clock.now()
        schedule_job(uow, SEND_LETTER, f"{SEND_LETTER}:{d.id}:0", {"distribution_id": d.id}, due_at=now, now=now)
    if new and d.due_at is not None:
        schedule_job(uow, LETTER_DEADLINE, f"{LETTER_DEADLINE}:{d.id}", {"distribution_id": d.id},
                     due_at=d.due_at, now=ctx.clock.now())


def patient_communication_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: record who tells the patient, and plan the lay letter or the normal-result notice."""
    report = reports_in(uow).get(job.payload["report_id"])
    order = uow.orders.get(report.order_id)
    patient = uow.patients.get(order.patient_id)
    record, now, zone = responsibility_for(uow, ctx, order), ctx.clock.now(), ctx.settings.zone
    if order.requested_modality == "MG":
        facts = mqsa_facts(report, order, zone)
        channel, address = patient_contact(uow, patient, with_attachment=True)
        details: dict[str, Any]
        if isinstance(facts, str):
            due, details = end_of_day(exam_day(order, zone) + timedelta(days=load_mqsa().lay_summary_days), zone), {
                "problem": facts}
        else:
            due = end_of_day(facts.lay_summary_due, zone)
            details = {"mqsa_category": facts.category, "density": facts.density, "urgent": facts.urgent,
                       "exam_date": facts.exam_date.isoformat(), "reading_date": facts.reading_date.isoformat(),
                       "provider_report_due": facts.provider_report_due.isoformat(), "source": facts.source}
        d, new = ensure_distribution(uow, report, order, 0, Purpose.LAY_LETTER, RecipientKind.PATIENT, patient.id,
                                     patient.display_name, channel, now, address=address, due_at=due, details=details)
        _plan(uow, ctx, d, new)
        return {"responsible": record.responsible.value, "lay_letter": d.id, "due": due.isoformat()}
    if record.responsible is Responsible.CENTER and not report_actionable(uow, ctx, report):
        channel, address = patient_contact(uow, patient, with_attachment=False)
        signed = report.signed_at or now
        due = end_of_day((signed + timedelta(days=ctx.results.normal_result_notice_days)).astimezone(zone).date(),
                         zone)
        d, new = ensure_distribution(uow, report, order, 0, Purpose.RESULT_NOTICE, RecipientKind.PATIENT, patient.id,
                                     patient.display_name, channel, now, address=address, due_at=due)
        _plan(uow, ctx, d, new)
        return {"responsible": record.responsible.value, "notice": d.id, "due": due.isoformat()}
    return {"responsible": record.responsible.value}


def _letter(uow: UnitOfWork, ctx: ServiceContext, d: Distribution) -> tuple[str, str, bytes]:
    """Subject, body and PDF of a planned lay letter or notice."""
    report = reports_in(uow).get(d.report_id)
    order = uow.orders.get(d.order_id)
    patient = uow.patients.get(d.patient_id)
    zone, settings = ctx.settings.zone, ctx.settings
    today = ctx.clock.now().astimezone(zone).date()
    if d.purpose is Purpose.LAY_LETTER:
        facts = mqsa_facts(report, order, zone)
        if isinstance(facts, str):
            raise Conflict(facts)
        letter = lay_letter(facts.category, Facility(settings.center_name, settings.center_address,
                                                      settings.center_phone), load_mqsa(), density=facts.density,
                            has_provider=bool(order.ordering_provider_npi))
        document = lay_letter_document(letter, patient, settings, facts.exam_date, today)
        body = "\n\n".join(letter.paragraphs())
        return "Your mammogram results", body, printer_of(ctx).pdf(document)
    document = result_notice_document(patient, settings, exam_name(ctx, order), exam_day(order, zone), today)
    body = "\n\n".join(p for _, paragraphs in document.sections for p in paragraphs)
    return "Your imaging results", body, printer_of(ctx).pdf(document)


def send_letter_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: print and send a lay letter or a notice (its key is stable: a retry is deduplicated)."""
    d = distributions_in(uow).get(job.payload["distribution_id"])
    if d.state is not DistributionState.PENDING:
        return {"skipped": d.state.value}
    subject, body, pdf = _letter(uow, ctx, d)
    attachments = () if d.channel is DeliveryChannel.SMS else (
        Attachment(f"{d.purpose.value.replace('_', '-')}-{d.accession_number}.pdf", "application/pdf", pdf),)
    if d.channel is DeliveryChannel.SMS:
        body = (f"Your imaging results from {ctx.settings.center_name} are ready in your patient portal. "
                f"Questions: {ctx.settings.center_phone}")
    receipt = ctx.gateway.send(OutboundMessage(key=f"results:{d.purpose.value}:{d.id}", channel=d.channel.value,
                                               to=d.address, subject=subject, body=body, attachments=attachments,
                                               patient_id=d.patient_id, order_id=d.order_id))
    d.send(at=ctx.clock.now(), by=SYSTEM, reference=receipt.gateway_reference)
    return {"sent": d.channel.value, "reference": receipt.gateway_reference}


def letter_deadline_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: at its due time, a letter or notice that has not gone out is flagged on the tracking screen."""
    d = distributions_in(uow).get(job.payload["distribution_id"])
    if d.is_done or d.state is DistributionState.CANCELLED:
        return {"met": True}
    d.flag_missed_deadline(at=ctx.clock.now())
    return {"met": False}


# -- commands and the tracking screen -----------------------------------------------------------


@dataclass(frozen=True)
class SetResultResponsibility:
    """Record who tells the patient about an order's result (a mammogram's stays with the facility)."""

    actor: Principal
    order_id: str
    responsible: str
    basis: str


def set_result_responsibility(cmd: SetResultResponsibility, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Change the responsible party (audited); returns it."""
    try:
        responsible = Responsible(cmd.responsible)
    except ValueError:
        raise ValidationError("responsible is 'center' or 'ordering_provider'", field="responsible") from None
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.RESULT_RESPONSIBILITY, order)
        record = responsibility_for(uow, ctx, order)
        record.change(responsible, basis=cmd.basis, by=cmd.actor.user_id, at=ctx.clock.now(),
                      is_mammogram=order.requested_modality == "MG")
        record_access(uow, ctx, cmd.actor, "results.responsibility", patient_id=order.patient_id,
                      object_type="order", object_id=order.id, detail=f"{responsible.value}: {cmd.basis}")
        uow.commit()
        return record.responsible.value


@dataclass(frozen=True)
class TrackedLetter:
    """A lay letter or notice on the tracking screen."""

    distribution: Distribution
    patient_name: str
    late: bool


@dataclass(frozen=True)
class ListPatientLetters:
    """MQSA lay letters and result notices, soonest due first."""

    actor: Principal
    open_only: bool = False
    limit: int = 300


def list_patient_letters(cmd: ListPatientLetters, uow: UnitOfWork, ctx: ServiceContext) -> list[TrackedLetter]:
    """The tracking list (audited)."""
    guard(cmd.actor, Action.PATIENT_LETTERS)
    now = ctx.clock.now()
    with uow:
        found = distributions_in(uow).tracked(TRACKED, open_only=cmd.open_only, limit=cmd.limit)
        lines = []
        for d in found:
            patient = uow.patients.find(d.patient_id)
            lines.append(TrackedLetter(d, patient.display_name if patient else "", d.is_late(now)))
        record_access(uow, ctx, cmd.actor, "letters.track", object_type="letter-list", detail=f"{len(lines)} letters")
        uow.commit()
        return lines


@dataclass(frozen=True)
class ResendLetter:
    """Send a letter or notice again (after the gateway gave up), as a new attempt with its own key."""

    actor: Principal
    distribution_id: str
    reason: str


def resend_letter(cmd: ResendLetter, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Queue the attempt (audited); returns the distribution's state."""
    guard(cmd.actor, Action.DISTRIBUTION_MANAGE)
    with uow:
        d = distributions_in(uow).get(cmd.distribution_id)
        if d.purpose not in TRACKED:
            raise Conflict("reports go out again by an addendum or from the interface monitor, not from here")
        if d.state is DistributionState.FAILED:
            d.resend(at=ctx.clock.now(), by=cmd.actor.user_id, reason=cmd.reason)
        if d.state is not DistributionState.PENDING:
            raise Conflict(f"this {d.purpose.value.replace('_', ' ')} is {d.state.value}: nothing to resend")
        attempt = len(d.details.get("resends", [])) + 1
        d.details = {**d.details, "resends": [*d.details.get("resends", []), cmd.reason]}
        now = ctx.clock.now()
        schedule_job(uow, SEND_LETTER, f"{SEND_LETTER}:{d.id}:{attempt}", {"distribution_id": d.id}, due_at=now,
                     now=now)
        record_access(uow, ctx, cmd.actor, "letters.resend", patient_id=d.patient_id, object_type="distribution",
                      object_id=d.id, detail=cmd.reason)
        uow.commit()
        return d.state.value


HANDLERS: dict[type, Handler] = {
    SetResultResponsibility: set_result_responsibility, ListPatientLetters: list_patient_letters,
    ResendLetter: resend_letter,
}
JOB_HANDLERS: dict[str, JobHandler] = {
    PATIENT_COMMUNICATION: patient_communication_job, SEND_LETTER: send_letter_job,
    LETTER_DEADLINE: letter_deadline_job,
}
