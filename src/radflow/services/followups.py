"""Follow-up tracking: items from reports, reminders before the due date, escalation after, closing on the exam.

Three things write jobs in the transaction of their cause: a signed report or addendum (its RADS
results and its text), an outside report received by HL7 (its text), and an order reaching
`imaging_completed` (does it close an item?). The report text is read by the extraction port (medspaCy
in production): negated, historical, hypothetical and conditional recommendations make no item. Each
item gets its reminder jobs (to the provider and to the patient, on their days before the due date) and
an overdue job; each job is durable and keyed, so that a month of fake-clock time misses none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Any

from radflow.domain.errors import NotFound
from radflow.domain.events import DomainEvent, OrderTransitioned
from radflow.domain.followup import (
    FollowUp,
    FollowUpSource,
    PerformedExam,
    Recommendation,
    from_rads,
    from_sentence,
    merge_recommendations,
    reminder_plan,
)
from radflow.domain.hl7_message import ExternalReportReceived
from radflow.domain.ids import new_id
from radflow.domain.jobs import Job
from radflow.domain.lifecycle import OrderState
from radflow.domain.order import Order
from radflow.domain.policy import Action
from radflow.domain.reading import region_of_description
from radflow.domain.report import ReportAmended, ReportFinalized
from radflow.domain.users import Principal, Role
from radflow.services.access import guard, guard_order
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.critical_results import contact_of
from radflow.services.distribution import provider_npis, schedule_job
from radflow.services.jobs import JobHandler
from radflow.services.patient_communication import patient_contact
from radflow.services.ports import OutboundMessage
from radflow.services.reading import reading_in, reports_in
from radflow.services.results_ports import FollowUpFilter, followups_in
from radflow.services.unit_of_work import EventHandler, UnitOfWork

FROM_REPORT = "followups.from_report"
FROM_OUTSIDE = "followups.from_outside_report"
MATCH_EXAM = "followups.match_exam"
REMIND = "followups.remind"
OVERDUE = "followups.overdue"
SYSTEM = "system:followups"
FINAL_STATUSES = ("F", "C")  # HL7 table 0123: final and corrected results make items; preliminary ones do not


# -- what starts it ------------------------------------------------------------------------------


def on_report_signed(event: DomainEvent, uow: UnitOfWork) -> None:
    """Queue reading a signed report (or its addendum) for recommendations."""
    assert isinstance(event, ReportFinalized | ReportAmended)
    if isinstance(event, ReportAmended) and event.kind != "addendum":
        return  # a critical-result communication record recommends nothing new
    version = event.addendum_seq if isinstance(event, ReportAmended) else 0
    schedule_job(uow, FROM_REPORT, f"{FROM_REPORT}:{event.report_id}:{version}",
                 {"report_id": event.report_id, "version": version}, due_at=event.at, now=event.at)


def on_outside_report(event: DomainEvent, uow: UnitOfWork) -> None:
    """Queue reading an outside final or corrected report for recommendations."""
    assert isinstance(event, ExternalReportReceived)
    if event.result_status not in FINAL_STATUSES:
        return
    signed = event.signed_at or event.observed_at or event.at
    schedule_job(uow, FROM_OUTSIDE, f"{FROM_OUTSIDE}:{event.message_id}:{event.order_id}",
                 {"order_id": event.order_id, "text": event.text, "signed_at": signed.isoformat(),
                  "document_id": event.document_id}, due_at=event.at, now=event.at)


def on_order_transitioned(event: DomainEvent, uow: UnitOfWork) -> None:
    """An exam reached `imaging_completed`: queue the check whether it closes a follow-up item."""
    assert isinstance(event, OrderTransitioned)
    if event.to_state != OrderState.IMAGING_COMPLETED.value:
        return
    schedule_job(uow, MATCH_EXAM, f"{MATCH_EXAM}:{event.order_id}:{event.at.isoformat()}",
                 {"order_id": event.order_id, "performed_at": event.at.isoformat()}, due_at=event.at, now=event.at)


EVENT_HANDLERS: dict[type[DomainEvent], list[EventHandler]] = {
    ReportFinalized: [on_report_signed], ReportAmended: [on_report_signed],
    # ExternalReportReceived reaches on_outside_report through outside_reports, which decides first
    # whether the outside text becomes a signed Report (then it is read as any signed report is).
    OrderTransitioned: [on_order_transitioned],
}


# -- making items ---------------------------------------------------------------------------------


def region_of(ctx: ServiceContext, order: Order) -> str:
    """The order's body region (the catalog's, or read from its body part)."""
    try:
        return ctx.catalog.protocol(order.protocol_code).body_region.value
    except NotFound:
        return region_of_description(order.body_part)


def read_recommendations(ctx: ServiceContext, text: str, *, source: FollowUpSource, source_date: date,
                         region: str) -> list[Recommendation]:
    """The recommendations a text asserts (nothing when no reader is configured)."""
    if ctx.extractor is None or not text.strip():
        return []
    found = ctx.extractor.extract(text, reference_date=source_date).actionable_followups
    return [from_sentence(source=source, sentence=f.sentence, exam=f.exam, modality=f.modality, procedure=f.procedure,
                          interval_days=f.interval_days, interval_days_max=f.interval_days_max, due_date=f.due_date,
                          body_region=region_of_description(f"{f.exam} {f.sentence}") or region,
                          source_date=source_date, default_days=ctx.results.followup_default_days)
            for f in found]


def _reminder_moment(ctx: ServiceContext, day: date, now: datetime) -> datetime:
    moment = datetime.combine(day, time(ctx.results.reminder_hour), tzinfo=ctx.settings.zone)
    return max(moment, now)


def schedule_reminders(uow: UnitOfWork, ctx: ServiceContext, item: FollowUp) -> int:
    """Write the item's reminder jobs and its overdue job; returns how many reminders are planned."""
    now = ctx.clock.now()
    plan = reminder_plan(item.due_date, now.astimezone(ctx.settings.zone).date(),
                         provider_days=ctx.results.followup_provider_reminder_days,
                         patient_days=ctx.results.followup_patient_reminder_days)
    round_ = item.round
    for planned in plan:
        schedule_job(uow, REMIND, f"{REMIND}:{item.id}:{round_}:{planned.to}:{planned.days_before}",
                     {"followup_id": item.id, "to": planned.to, "days_before": planned.days_before},
                     due_at=_reminder_moment(ctx, planned.day, now), now=now)
    overdue_day = item.due_date.toordinal() + ctx.results.followup_overdue_grace_days
    schedule_job(uow, OVERDUE, f"{OVERDUE}:{item.id}:{round_}", {"followup_id": item.id},
                 due_at=_reminder_moment(ctx, date.fromordinal(overdue_day), now), now=now)
    return len(plan)


def open_items(uow: UnitOfWork, ctx: ServiceContext, recommendations: list[Recommendation], *, source_key: str,
               order: Order, report_id: str) -> list[FollowUp]:
    """An item for each new recommendation (a second run finds them by key and makes nothing)."""
    made = []
    for rec in recommendations:
        key = f"{source_key}:{rec.modality or rec.procedure}:{rec.due_date.isoformat()}"
        if followups_in(uow).by_key(key[:300]) is not None:
            continue
        item = FollowUp.open_from(rec, id=new_id(), key=key, patient_id=order.patient_id, source_order_id=order.id,
                                  source_accession=order.accession_number, source_report_id=report_id,
                                  responsible_npi=order.ordering_provider_npi,
                                  responsible_name=order.ordering_provider_name, at=ctx.clock.now())
        followups_in(uow).add(item)
        schedule_reminders(uow, ctx, item)
        made.append(item)
    return made


def from_report_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: a signed report's (or addendum's) recommendations become follow-up items."""
    report = reports_in(uow).get(job.payload["report_id"])
    order = uow.orders.get(report.order_id)
    version = int(job.payload.get("version", 0))
    source_date = (report.signed_at or ctx.clock.now()).astimezone(ctx.settings.zone).date()
    region = region_of(ctx, order)
    structured: list[Recommendation] = []
    if version == 0:
        for r in report.rads_results:
            rec = from_rads(system=r.system, category=r.category, management=r.management, modality=r.modality,
                            procedure=r.procedure, interval_days=r.interval_days, interval_days_max=r.interval_days_max,
                            rule_id=r.rule_id, rule_source=r.rule_source, body_region=region, source_date=source_date,
                            default_days=ctx.results.followup_default_days)
            if rec is not None:
                structured.append(rec)
        computed = {r.recommendation_text for r in report.rads_results}
        lines = [line for line in report.recommendations.splitlines() if line.strip() not in computed]
        text = "\n".join([report.impression, *lines])
    else:
        text = next((a.text for a in report.addendum_list if a.seq == version), "")
    existing = [i for i in followups_in(uow).for_source(order.id) if i.is_open]
    sentences = read_recommendations(ctx, text, source=FollowUpSource.REPORT_TEXT, source_date=source_date,
                                     region=region)
    kept = merge_recommendations([*structured], sentences)
    if existing:  # an addendum that repeats an open item's recommendation makes no second item
        kept = [r for r in kept if not any(r.modality == i.modality and abs((r.due_date - i.due_date).days) <= 45
                                           for i in existing)]
    made = open_items(uow, ctx, kept, source_key=f"report:{report.id}:{version}", order=order, report_id=report.id)
    return {"items": [i.id for i in made]}


def from_outside_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: an outside report's recommendations become follow-up items of its order."""
    order = uow.orders.get(job.payload["order_id"])
    signed = datetime.fromisoformat(job.payload["signed_at"])
    source_date = signed.astimezone(ctx.settings.zone).date()
    found = read_recommendations(ctx, str(job.payload.get("text", "")), source=FollowUpSource.OUTSIDE_REPORT,
                                 source_date=source_date, region=region_of(ctx, order))
    kept = merge_recommendations([], found)
    made = open_items(uow, ctx, kept, source_key=f"outside:{job.payload.get('document_id', '')}", order=order,
                      report_id="")
    return {"items": [i.id for i in made]}


def match_exam_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: an exam reached `imaging_completed`; the open items it fulfils close themselves."""
    order = uow.orders.get(job.payload["order_id"])
    exam = PerformedExam(order_id=order.id, patient_id=order.patient_id, accession_number=order.accession_number,
                         modality=order.requested_modality, body_region=region_of(ctx, order),
                         performed_at=datetime.fromisoformat(job.payload["performed_at"]))
    closed = []
    for item in followups_in(uow).open_for_patient(order.patient_id):
        if item.matches(exam):
            item.complete(exam, by=SYSTEM)
            closed.append(item.id)
    return {"completed": closed}


# -- reminders and escalation ---------------------------------------------------------------------


def _tell_providers(uow: UnitOfWork, ctx: ServiceContext, item: FollowUp, key: str, subject: str,
                    body: str, *, covering: bool) -> list[tuple[str, str]]:
    """Tell the responsible provider (and, escalating, whoever covers for them); returns (name, channel)."""
    people = [u for u in uow.users.by_npi(item.responsible_npi) if u.active and u.role is Role.REFERRING_PROVIDER] \
        if item.responsible_npi else []
    if covering and item.responsible_npi:
        people += [u for u in reading_in(uow).covering_providers(item.responsible_npi) if u not in people]
    told = []
    for person in people:
        channel, address = contact_of(person)
        ctx.gateway.send(OutboundMessage(key=f"{key}:{person.id}", channel=channel, to=address, subject=subject,
                                         body=body, patient_id=item.patient_id, order_id=item.source_order_id))
        told.append((person.display_name or person.username, channel))
    return told


def remind_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: remind the provider or the patient that a follow-up is due (unless done or closed meanwhile)."""
    item = followups_in(uow).get(job.payload["followup_id"])
    to, days = str(job.payload["to"]), int(job.payload["days_before"])
    if not item.is_open or item.was_reminded(to, days):
        return {"skipped": item.state.value}
    due, center = item.due_date.strftime("%d %B %Y"), ctx.settings
    now = ctx.clock.now()
    if to == "provider":
        # Minimum necessary over a text or an e-mail: the accession, what and when, no patient name.
        told = _tell_providers(uow, ctx, item, job.key, f"Follow-up due {due} (accession {item.source_accession})",
                               f"A follow-up {item.procedure or 'exam'} recommended after accession "
                               f"{item.source_accession} is due on {due}. Worklist: /followups. — {center.center_name}",
                               covering=False)
        # With no radflow user for the NPI, the item waits on the provider's worklist (their inbox).
        channel = told[0][1] if told else "inbox"
        address = ", ".join(name for name, _ in told) or item.responsible_npi
    else:
        patient = uow.patients.get(item.patient_id)
        contact, address = patient_contact(uow, patient, with_attachment=False)
        channel = contact.value
        ctx.gateway.send(OutboundMessage(
            key=job.key, channel=channel, to=address, subject=f"A follow-up exam is due by {due}",
            body=(f"Reminder from {center.center_name}: your healthcare provider recommended a follow-up imaging "
                  f"exam by {due}. Please call {center.center_phone} to schedule it, or tell us if it was done "
                  "elsewhere."), patient_id=item.patient_id, order_id=item.source_order_id))
    item.remind(to=to, days_before=days, at=now, channel=channel, address=address, by=SYSTEM)
    return {"reminded": to, "channel": channel}


def overdue_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: an item still open past its grace period is overdue: the provider and whoever covers are told."""
    item = followups_in(uow).get(job.payload["followup_id"])
    if not item.is_open:
        return {"skipped": item.state.value}
    due = item.due_date.strftime("%d %B %Y")
    told = _tell_providers(uow, ctx, item, job.key, f"Overdue follow-up (accession {item.source_accession})",
                           f"A follow-up {item.procedure or 'exam'} recommended after accession "
                           f"{item.source_accession} was due on {due} and has not been done. Please see your "
                           f"follow-up worklist in radflow. — {ctx.settings.center_name}", covering=True)
    names = [f"{name} by {channel}" for name, channel in told]
    item.become_overdue(at=ctx.clock.now(), told=names, by=SYSTEM)
    return {"overdue": True, "told": names}


# -- the worklist and changes by people ---------------------------------------------------------


@dataclass(frozen=True)
class WorklistLine:
    """One item on the follow-up worklist."""

    item: FollowUp
    patient_name: str
    mrn: str


@dataclass(frozen=True)
class GetFollowUpWorklist:
    """Open (or chosen) follow-up items, soonest due first; a referrer sees their own patients' only."""

    actor: Principal
    wanted: FollowUpFilter = field(default_factory=FollowUpFilter)


def get_followup_worklist(cmd: GetFollowUpWorklist, uow: UnitOfWork, ctx: ServiceContext) -> list[WorklistLine]:
    """The worklist (audited, also when empty)."""
    guard(cmd.actor, Action.FOLLOWUP_READ)
    wanted = cmd.wanted
    if cmd.actor.role is Role.REFERRING_PROVIDER:
        wanted = replace(wanted, responsible_npis=provider_npis(cmd.actor) or ("-",))
    with uow:
        items = followups_in(uow).worklist(wanted)
        lines = []
        for item in items:
            patient = uow.patients.find(item.patient_id)
            lines.append(WorklistLine(item, patient.display_name if patient else "", patient.mrn if patient else ""))
        patients = {i.patient_id for i in items}
        record_access(uow, ctx, cmd.actor, "followup.worklist", object_type="followup-list",
                      patient_id=next(iter(patients)) if len(patients) == 1 else "", detail=f"{len(lines)} items")
        uow.commit()
        return lines


def _item(uow: UnitOfWork, actor: Principal, item_id: str, action: Action) -> FollowUp:
    item = followups_in(uow).get(item_id)
    guard_order(actor, action, uow.orders.get(item.source_order_id))
    return item


@dataclass(frozen=True)
class GetFollowUp:
    """One follow-up item with its history."""

    actor: Principal
    followup_id: str


def get_followup(cmd: GetFollowUp, uow: UnitOfWork, ctx: ServiceContext) -> FollowUp:
    """Read an item (audited)."""
    with uow:
        item = _item(uow, cmd.actor, cmd.followup_id, Action.FOLLOWUP_READ)
        record_access(uow, ctx, cmd.actor, "followup.read", patient_id=item.patient_id, object_type="followup",
                      object_id=item.id)
        uow.commit()
        return item


@dataclass(frozen=True)
class CloseFollowUp:
    """Close an item without a matching exam here, with the reason."""

    actor: Principal
    followup_id: str
    reason: str


def close_followup(cmd: CloseFollowUp, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Close (audited); returns the state."""
    with uow:
        item = _item(uow, cmd.actor, cmd.followup_id, Action.FOLLOWUP_MANAGE)
        item.close(reason=cmd.reason, at=ctx.clock.now(), by=cmd.actor.user_id)
        record_access(uow, ctx, cmd.actor, "followup.close", patient_id=item.patient_id, object_type="followup",
                      object_id=item.id, detail=cmd.reason)
        uow.commit()
        return item.state.value


@dataclass(frozen=True)
class ReopenFollowUp:
    """Reopen a closed item (closed by mistake); its reminders are planned again."""

    actor: Principal
    followup_id: str
    reason: str


def reopen_followup(cmd: ReopenFollowUp, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Reopen (audited); returns the state."""
    with uow:
        item = _item(uow, cmd.actor, cmd.followup_id, Action.FOLLOWUP_MANAGE)
        item.reopen(reason=cmd.reason, at=ctx.clock.now(), by=cmd.actor.user_id)
        schedule_reminders(uow, ctx, item)
        record_access(uow, ctx, cmd.actor, "followup.reopen", patient_id=item.patient_id, object_type="followup",
                      object_id=item.id, detail=cmd.reason)
        uow.commit()
        return item.state.value


HANDLERS: dict[type, Handler] = {
    GetFollowUpWorklist: get_followup_worklist, GetFollowUp: get_followup, CloseFollowUp: close_followup,
    ReopenFollowUp: reopen_followup,
}
JOB_HANDLERS: dict[str, JobHandler] = {
    FROM_REPORT: from_report_job, FROM_OUTSIDE: from_outside_job, MATCH_EXAM: match_exam_job, REMIND: remind_job,
    OVERDUE: overdue_job,
}
