"""Distribution of signed reports: provider inboxes with first-opened tracking, the ORU's record, escalation.

Signing (the reporting side's `ReportFinalized`, or an addendum's `ReportAmended`) writes, in the same
transaction, a `results.distribute` job. The worker's job posts the report to the ordering and copied
providers' inboxes, records the ORU^R01 that the HL7 outbound queue carries to the placer's EHR (that
job is the HL7 engineer's; its state is read, never written, here), makes the patient's portal copy
(released at once unless that one report is held), moves the order to `delivered`, and for an
actionable report writes a durable `results.unopened` deadline: if no provider has opened it by then,
the provider and whoever covers for them are told (each message with a stable key), once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from radflow.catalog.results import load_actionable_rules
from radflow.domain.distribution import (
    DeliveryChannel,
    Distribution,
    DistributionState,
    Purpose,
    RadsOutcome,
    RecipientKind,
    actionable_reasons,
    distribution_key,
    job_state_to_event,
)
from radflow.domain.errors import NotFound
from radflow.domain.events import DomainEvent
from radflow.domain.ids import new_id
from radflow.domain.jobs import Job, JobState
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.policy import Action
from radflow.domain.report import Report, ReportAmended, ReportFinalized
from radflow.domain.users import Principal, Role, User
from radflow.services.access import guard, guard_order
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.critical_results import contact_of
from radflow.services.jobs import JobHandler
from radflow.services.ports import OutboundMessage
from radflow.services.reading import critical_results_in, reading_in, reports_in
from radflow.services.results_ports import distributions_in, results_queries_in
from radflow.services.unit_of_work import EventHandler, UnitOfWork

DISTRIBUTE = "results.distribute"
UNOPENED = "results.unopened"
SYSTEM = "system:results"


def schedule_job(uow: UnitOfWork, kind: str, key: str, payload: dict[str, Any], *, due_at: datetime,
                 now: datetime) -> bool:
    """Write a durable job in this transaction (idempotent on its key); True when it was new."""
    return uow.jobs.add(Job(id=new_id(), kind=kind, key=key, payload=payload, due_at=due_at, created_at=now))


def provider_npis(actor: Principal) -> tuple[str, ...]:
    """The NPIs whose inbox a referring provider reads: their own and those they cover for."""
    return tuple(n for n in dict.fromkeys((actor.npi, *sorted(actor.covers_npis))) if n)


# -- what signing starts -----------------------------------------------------------------------


def on_report_signed(event: DomainEvent, uow: UnitOfWork) -> None:
    """Queue the distribution of a signed report (or of its addendum) in the signing transaction."""
    assert isinstance(event, ReportFinalized | ReportAmended)
    version = event.addendum_seq if isinstance(event, ReportAmended) else 0
    schedule_job(uow, DISTRIBUTE, f"{DISTRIBUTE}:{event.report_id}:{version}",
                 {"report_id": event.report_id, "version": version}, due_at=event.at, now=event.at)


EVENT_HANDLERS: dict[type[DomainEvent], list[EventHandler]] = {
    ReportFinalized: [on_report_signed], ReportAmended: [on_report_signed],
}


def report_actionable(uow: UnitOfWork, ctx: ServiceContext, report: Report) -> list[str]:
    """Why this report needs action: RADS categories, critical results, recommendations in its text."""
    rules = load_actionable_rules()
    rads = [RadsOutcome(r.system, r.category, r.interval_days is not None or bool(r.procedure))
            for r in report.rads_results]
    levels = [c.level.value for c in critical_results_in(uow).for_order(report.order_id)]
    recommended: list[str] = []
    if ctx.extractor is not None:
        # The RADS fields' own sentences are counted above; the reader looks at what the radiologist wrote.
        computed = {r.recommendation_text for r in report.rads_results}
        lines = [line for line in report.recommendations.splitlines() if line.strip() not in computed]
        text = "\n".join([report.impression, *lines]).strip()
        recommended = [f.exam for f in ctx.extractor.extract(text).actionable_followups] if text else []
    return actionable_reasons(rules, rads, critical_levels=levels, text_recommendations=recommended)


def ensure_distribution(uow: UnitOfWork, report: Report, order: Order, version: int, purpose: Purpose,
                        kind: RecipientKind, ref: str, name: str, channel: DeliveryChannel, now: datetime,
                        **extra: Any) -> tuple[Distribution, bool]:
    """The delivery with this key, made (pending) when it does not exist yet; True when new."""
    key = distribution_key(report.id, version, purpose, kind, ref, channel)
    found = distributions_in(uow).by_key(key)
    if found is not None:
        return found, False
    made = Distribution(id=new_id(), key=key, report_id=report.id, order_id=order.id, patient_id=order.patient_id,
                        accession_number=order.accession_number, purpose=purpose, recipient_kind=kind,
                        recipient_ref=ref, recipient_name=name, channel=channel, state=DistributionState.PENDING,
                        created_at=now, report_version=version, **extra)
    distributions_in(uow).add(made)
    return made, True


def _providers(order: Order) -> list[tuple[RecipientKind, str, str]]:
    found = [(RecipientKind.ORDERING_PROVIDER, order.ordering_provider_npi, order.ordering_provider_name)]
    found += [(RecipientKind.COPIED_PROVIDER, c.get("npi", ""), c.get("name", "")) for c in order.copy_to]
    seen: set[str] = set()
    unique = []
    for kind, npi, name in found:
        if npi and npi not in seen:
            seen.add(npi)
            unique.append((kind, npi, name))
    return unique


def sync_oru(distribution: Distribution, job: Job) -> bool:
    """Bring an ORU's distribution in line with its outbound job's state; True when it changed."""
    event = job_state_to_event(job.state.value)
    at = job.finished_at or job.created_at
    state = distribution.state
    if event is not None and event.value == "deliver" and state in (DistributionState.PENDING, DistributionState.SENT):
        distribution.deliver(at=at, by=SYSTEM, note=str(job.result.get("ack_code", "accepted")))
        return True
    if event is not None and event.value == "fail" and state in (DistributionState.PENDING, DistributionState.SENT):
        distribution.fail(at=at, by=SYSTEM, reason=job.last_error or "the outbound queue gave up")
        return True
    if job.state in (JobState.PENDING, JobState.RUNNING) and state is DistributionState.FAILED:
        distribution.resend(at=at, by=SYSTEM, reason="resent from the interface monitor")
        return True
    return False


def _record_orus(uow: UnitOfWork, report: Report, order: Order, version: int, now: datetime) -> None:
    for job in results_queries_in(uow).report_jobs(report.id):
        if not job.key.endswith(f":{version}"):
            continue
        sender = "^".join(job.payload.get("sender") or []) or order.placer_system
        made, _ = ensure_distribution(uow, report, order, version, Purpose.REPORT, RecipientKind.PLACER_SYSTEM, sender,
                          sender, DeliveryChannel.HL7, now, job_key=job.key)
        sync_oru(made, job)


def provider_report_due(ctx: ServiceContext, report: Report, order: Order) -> datetime | None:
    """When a mammogram's report must reach the provider (MQSA: 30 days, or 7 for Suspicious and up)."""
    if order.requested_modality != "MG":
        return None
    # Imported here: patient communication builds on this module; the MQSA facts are its.
    from radflow.services.patient_communication import end_of_day, mqsa_facts

    facts = mqsa_facts(report, order, ctx.settings.zone)
    return None if isinstance(facts, str) else end_of_day(facts.provider_report_due, ctx.settings.zone)


def distribute_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: post a signed report to the providers' inboxes and the portal; record the ORU; deliver the order."""
    # Imported here: patient_release builds on this module (its deliveries), this job on its portal copy.
    from radflow.services.patient_release import deliver_to_portal

    report = reports_in(uow).get(job.payload["report_id"])
    order = uow.orders.get(report.order_id)
    version, now = int(job.payload.get("version", 0)), ctx.clock.now()
    reasons = report_actionable(uow, ctx, report)
    due = provider_report_due(ctx, report, order)
    posted = []
    for kind, npi, name in _providers(order):
        made, new = ensure_distribution(uow, report, order, version, Purpose.REPORT, kind, npi, name,
                                        DeliveryChannel.INBOX, now, actionable=bool(reasons),
                                        actionable_reasons=reasons, due_at=due)
        if new:
            made.deliver(at=now, by=SYSTEM, note="posted to the inbox")
            if reasons:
                schedule_job(uow, UNOPENED, f"{UNOPENED}:{made.id}", {"distribution_id": made.id},
                             due_at=now + ctx.results.unopened_escalation, now=now)
        posted.append(made)
    _record_orus(uow, report, order, version, now)
    portal = deliver_to_portal(uow, ctx, report, order, version)
    primary_reached = any(d.recipient_kind is RecipientKind.ORDERING_PROVIDER for d in posted) or (
        not posted and portal.state is DistributionState.DELIVERED)
    if order.state is OrderState.REPORTED and primary_reached:
        order.transition(OrderEvent.REPORT_DELIVERED, by=SYSTEM, at=now,
                         details={"report_id": report.id, "inboxes": len(posted), "version": version})
    return {"inboxes": len(posted), "actionable": reasons, "portal": portal.state.value}


# -- escalation of an actionable report nobody opened -------------------------------------------


def _people_to_tell(uow: UnitOfWork, npi: str) -> list[User]:
    own = [u for u in uow.users.by_npi(npi) if u.active and u.role is Role.REFERRING_PROVIDER]
    covering = [u for u in reading_in(uow).covering_providers(npi) if u not in own]
    return own + covering


def unopened_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, Any] | None:
    """Job: an actionable report is still unopened at its deadline; tell the provider and whoever covers."""
    distribution = distributions_in(uow).get(job.payload["distribution_id"])
    if not distribution.awaits_opening():
        return {"skipped": distribution.state.value}
    people = _people_to_tell(uow, distribution.recipient_ref)
    told = []
    for person in people:
        channel, address = contact_of(person)
        # Minimum necessary over a text or an e-mail: the accession and where to look, no finding, no name.
        ctx.gateway.send(OutboundMessage(
            key=f"{UNOPENED}:{distribution.id}:{person.id}", channel=channel, to=address,
            subject=f"Unopened imaging report {distribution.accession_number}",
            body=(f"An imaging report that needs action (accession {distribution.accession_number}) has not been "
                  f"opened. Please open it in radflow: /results/inbox. — {ctx.settings.center_name}, "
                  f"{ctx.settings.center_phone}"),
            patient_id=distribution.patient_id, order_id=distribution.order_id))
        told.append(f"{person.display_name or person.username} by {channel}")
    hours = ctx.results.unopened_escalation_hours
    distribution.escalate(at=ctx.clock.now(), by=SYSTEM, told=told,
                          reason=f"actionable ({', '.join(distribution.actionable_reasons)}) and not opened "
                                 f"within {hours:g} hours" + ("" if told else "; nobody with a contact on file"))
    return {"escalated": True, "told": told}


# -- the referring provider's inbox ---------------------------------------------------------------


@dataclass(frozen=True)
class InboxLine:
    """One report in a provider's inbox."""

    distribution: Distribution
    patient_name: str
    report_state: str


@dataclass(frozen=True)
class GetInbox:
    """A referring provider's inbox: reports of orders they placed, are copied on or cover for."""

    actor: Principal
    unopened_only: bool = False
    limit: int = 200


def get_inbox(cmd: GetInbox, uow: UnitOfWork, ctx: ServiceContext) -> list[InboxLine]:
    """Newest first (audited; a refused or empty inbox is recorded too)."""
    guard(cmd.actor, Action.RESULTS_INBOX)
    with uow:
        found = distributions_in(uow).inbox(provider_npis(cmd.actor), unopened_only=cmd.unopened_only,
                                            limit=cmd.limit)
        reports = reports_in(uow).for_orders(list({d.order_id for d in found}))
        lines = []
        for d in found:
            patient = uow.patients.find(d.patient_id)
            report = reports.get(d.order_id)
            lines.append(InboxLine(d, patient.display_name if patient else "", report.state.value if report else ""))
        patients = {d.patient_id for d in found}
        record_access(uow, ctx, cmd.actor, "results.inbox", object_type="inbox",
                      patient_id=next(iter(patients)) if len(patients) == 1 else "", detail=f"{len(lines)} reports")
        uow.commit()
        return lines


@dataclass(frozen=True)
class OpenedReport:
    """A report as its provider opened it, with its deliveries."""

    report: Report
    order: Order
    patient: Patient
    first_opening: bool
    distributions: list[Distribution]


@dataclass(frozen=True)
class OpenInboxReport:
    """A provider opens a report from the inbox: the first opening by each provider is recorded."""

    actor: Principal
    order_id: str


def open_inbox_report(cmd: OpenInboxReport, uow: UnitOfWork, ctx: ServiceContext) -> OpenedReport:
    """Read the signed report (audited) and record who opened it first, and when."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.RESULTS_INBOX, order)
        report = reports_in(uow).for_order(order.id)
        if report is None or not report.is_signed:
            raise NotFound(f"order {order.accession_number} has no signed report yet")
        mine = set(provider_npis(cmd.actor))
        now, name = ctx.clock.now(), cmd.actor.display_name or cmd.actor.username
        first = False
        deliveries = distributions_in(uow).for_order(order.id)
        for d in deliveries:
            if d.channel is DeliveryChannel.INBOX and d.recipient_ref in mine and d.state in (
                    DistributionState.DELIVERED, DistributionState.ESCALATED, DistributionState.OPENED):
                first = d.open(at=now, by=cmd.actor.user_id, by_name=name) or first
        record_access(uow, ctx, cmd.actor, "results.open", patient_id=order.patient_id, object_type="order",
                      object_id=order.id, detail="first opening" if first else "opened again")
        view = OpenedReport(report, order, uow.patients.get(order.patient_id), first, deliveries)
        uow.commit()
        return view


# -- where a report went ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GetDistributions:
    """Every delivery of an order's report (ORUs brought up to date from the outbound queue)."""

    actor: Principal
    order_id: str


def get_distributions(cmd: GetDistributions, uow: UnitOfWork, ctx: ServiceContext) -> list[Distribution]:
    """The order's deliveries, oldest first (audited)."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.DISTRIBUTION_READ, order)
        found = distributions_in(uow).for_order(order.id)
        for d in found:
            if d.channel is DeliveryChannel.HL7 and d.job_key:
                job = uow.jobs.by_key(d.job_key)
                if job is not None:
                    sync_oru(d, job)
        if cmd.actor.role is Role.REFERRING_PROVIDER:
            # A provider sees the record of the report's deliveries, not the patient's letters.
            found = [d for d in found if d.recipient_kind is not RecipientKind.PATIENT]
        record_access(uow, ctx, cmd.actor, "distribution.read", patient_id=order.patient_id, object_type="order",
                      object_id=order.id, detail=f"{len(found)} deliveries")
        uow.commit()
        return found


HANDLERS: dict[type, Handler] = {
    GetInbox: get_inbox, OpenInboxReport: open_inbox_report, GetDistributions: get_distributions,
}
JOB_HANDLERS: dict[str, JobHandler] = {DISTRIBUTE: distribute_job, UNOPENED: unopened_job}
