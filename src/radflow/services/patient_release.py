"""Patient release: the portal copy of a signed report, holds on one patient's report, the portal, the PDF.

A report reaches the patient's portal when it is signed (45 CFR 171: no delay for a category of
results). The only thing that holds it back is a hold on that one report — the patient's own request or
a clinician's individual preventing-harm determination — placed by a person, recorded, audited and
ending on its own: the hold's end is a durable job, and ending it delivers the portal copy in the
same transaction (`radflow.domain.release`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from radflow.domain.distribution import DeliveryChannel, Distribution, DistributionState, Purpose, RecipientKind
from radflow.domain.errors import NotFound, ValidationError
from radflow.domain.events import DomainEvent
from radflow.domain.ids import new_id
from radflow.domain.jobs import Job
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.policy import Action
from radflow.domain.release import (
    HoldAuthor,
    HoldReason,
    ReleaseHold,
    ReleaseHoldEnded,
    ReleaseHoldPlaced,
    released_since,
)
from radflow.domain.report import Report
from radflow.domain.users import Principal, Role
from radflow.services.access import guard, guard_order
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.distribution import SYSTEM, ensure_distribution, schedule_job
from radflow.services.jobs import JobHandler
from radflow.services.reading import reports_in
from radflow.services.result_documents import report_document
from radflow.services.results_ports import RELEASE_HOLDS, ReportPrinter, distributions_in, holds_in
from radflow.services.unit_of_work import EventHandler, UnitOfWork

HOLD_EXPIRY = "results.hold_expiry"


def withheld_from_patient(uow: UnitOfWork, order_id: str, now: datetime) -> bool:
    """True while one of the report's own holds is active (the reporting side's report read asks this)."""
    if getattr(uow, RELEASE_HOLDS, None) is None:
        return False
    return any(hold.is_active(now) for hold in holds_in(uow).for_order(order_id))


def exam_name(ctx: ServiceContext, order: Order) -> str:
    """The exam's name from the catalog (its code when the catalog no longer has it)."""
    try:
        return ctx.catalog.protocol(order.protocol_code).name
    except NotFound:
        return order.protocol_code


def printer_of(ctx: ServiceContext) -> ReportPrinter:
    """The PDF printer (radflow.wiring.results gives handlers the WeasyPrint one when none is set)."""
    if ctx.report_printer is None:
        raise RuntimeError("no report printer: radflow.wiring.results gives the handlers one")
    return ctx.report_printer


def deliver_to_portal(uow: UnitOfWork, ctx: ServiceContext, report: Report, order: Order,
                      version: int) -> Distribution:
    """The patient's portal copy of this report version: delivered now unless this report is held."""
    portal, _ = ensure_distribution(uow, report, order, version, Purpose.REPORT, RecipientKind.PATIENT,
                                    order.patient_id, "", DeliveryChannel.PORTAL, ctx.clock.now())
    now = ctx.clock.now()
    if portal.state is DistributionState.PENDING and released_since(
            report.signed_at, holds_in(uow).for_order(order.id), now) is not None:
        portal.deliver(at=now, by=SYSTEM, note="released to the patient's portal on signing")
    return portal


def on_hold_placed(event: DomainEvent, uow: UnitOfWork) -> None:
    """A hold ends on its own: its expiry is a durable job written with it."""
    assert isinstance(event, ReleaseHoldPlaced)
    schedule_job(uow, HOLD_EXPIRY, f"{HOLD_EXPIRY}:{event.hold_id}", {"hold_id": event.hold_id},
                 due_at=event.expires_at, now=event.at)


def on_hold_ended(event: DomainEvent, uow: UnitOfWork) -> None:
    """A hold ended: the portal copies waiting for it are delivered now (if nothing else holds them)."""
    assert isinstance(event, ReleaseHoldEnded)
    report = reports_in(uow).for_order(event.order_id)
    if report is None or released_since(report.signed_at, holds_in(uow).for_order(event.order_id), event.at) is None:
        return
    for d in distributions_in(uow).for_order(event.order_id):
        if d.channel is DeliveryChannel.PORTAL and d.state is DistributionState.PENDING:
            d.deliver(at=event.at, by=event.by, note="released: the hold ended")


EVENT_HANDLERS: dict[type[DomainEvent], list[EventHandler]] = {
    ReleaseHoldPlaced: [on_hold_placed], ReleaseHoldEnded: [on_hold_ended],
}


def hold_expiry_job(job: Job, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, object] | None:
    """Job: a hold's time ran out (its end releases the report, in this transaction)."""
    hold = holds_in(uow).get(job.payload["hold_id"])
    return {"expired": hold.expire(at=ctx.clock.now())}


# -- holds --------------------------------------------------------------------------------------


def _author(actor: Principal) -> HoldAuthor:
    return HoldAuthor(actor.user_id, actor.display_name or actor.username, actor.role.value, actor.patient_id)


@dataclass(frozen=True)
class PlaceReleaseHold:
    """Hold one patient's report back: their own request, or a clinician's preventing-harm determination."""

    actor: Principal
    order_id: str
    reason: str
    explanation: str
    days: int


def place_release_hold(cmd: PlaceReleaseHold, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Record the hold (audited); it ends after `days` at the latest. Returns its id."""
    try:
        reason = HoldReason(cmd.reason)
    except ValueError:
        raise ValidationError("the reason is 'patient_request' or 'preventing_harm'", field="reason") from None
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.RELEASE_HOLD, order)
        now = ctx.clock.now()
        hold = ReleaseHold.place(id=new_id(), order_id=order.id, patient_id=order.patient_id, reason=reason,
                                 explanation=cmd.explanation, author=_author(cmd.actor), at=now,
                                 expires_at=now + timedelta(days=cmd.days), max_days=ctx.results.hold_max_days)
        holds_in(uow).add(hold)
        record_access(uow, ctx, cmd.actor, "release.hold", patient_id=order.patient_id, object_type="order",
                      object_id=order.id, detail=f"{reason.value} until {hold.expires_at.isoformat()}")
        uow.commit()
        return hold.id


@dataclass(frozen=True)
class LiftReleaseHold:
    """End a hold now (the patient their own request; a clinician a determination)."""

    actor: Principal
    hold_id: str
    reason: str = ""


def lift_release_hold(cmd: LiftReleaseHold, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Lift the hold (audited); the report is released in the same transaction. Returns the hold's state."""
    with uow:
        hold = holds_in(uow).get(cmd.hold_id)
        order = uow.orders.get(hold.order_id)
        guard_order(cmd.actor, Action.RELEASE_HOLD, order)
        hold.lift(author=_author(cmd.actor), at=ctx.clock.now(), reason=cmd.reason)
        record_access(uow, ctx, cmd.actor, "release.lift", patient_id=order.patient_id, object_type="order",
                      object_id=order.id, detail=cmd.reason)
        uow.commit()
        return hold.state.value


@dataclass(frozen=True)
class ReleaseStatus:
    """Whether (and since when) the patient may see the report, and its holds."""

    order_id: str
    signed_at: datetime | None
    released_since: datetime | None
    holds: list[ReleaseHold]


@dataclass(frozen=True)
class GetReleaseStatus:
    """An order's release to its patient, with every hold ever placed on it."""

    actor: Principal
    order_id: str


def get_release_status(cmd: GetReleaseStatus, uow: UnitOfWork, ctx: ServiceContext) -> ReleaseStatus:
    """Read the release status (audited)."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.REPORT_READ, order)
        report = reports_in(uow).for_order(order.id)
        holds = holds_in(uow).for_order(order.id)
        signed = report.signed_at if report is not None else None
        status = ReleaseStatus(order.id, signed, released_since(signed, holds, ctx.clock.now()), holds)
        record_access(uow, ctx, cmd.actor, "release.read", patient_id=order.patient_id, object_type="order",
                      object_id=order.id)
        uow.commit()
        return status


# -- the patient portal -------------------------------------------------------------------------


@dataclass(frozen=True)
class PortalLine:
    """One released report in the patient's portal."""

    order: Order
    report: Report
    exam_name: str
    released_since: datetime
    opened: bool


@dataclass(frozen=True)
class ListMyResults:
    """A patient's released reports (their own, and those of records they are a proxy for)."""

    actor: Principal


def list_my_results(cmd: ListMyResults, uow: UnitOfWork, ctx: ServiceContext) -> list[PortalLine]:
    """Newest first (audited, also when empty)."""
    guard(cmd.actor, Action.PORTAL_RESULTS)
    patient_ids = sorted({p for p in (cmd.actor.patient_id, *cmd.actor.proxy_patient_ids) if p})
    now = ctx.clock.now()
    with uow:
        orders = [o for pid in patient_ids for o in uow.orders.for_patient(pid)]
        reports = reports_in(uow).for_orders([o.id for o in orders])
        holds = holds_in(uow).for_orders(list(reports))
        lines = []
        for order in orders:
            report = reports.get(order.id)
            if report is None or not report.is_signed:
                continue
            since = released_since(report.signed_at, [h for h in holds if h.order_id == order.id], now)
            if since is None:
                continue
            opened = any(d.channel is DeliveryChannel.PORTAL and d.first_opened_at is not None
                         for d in distributions_in(uow).for_order(order.id))
            lines.append(PortalLine(order, report, exam_name(ctx, order), since, opened))
        lines.sort(key=lambda line: line.released_since, reverse=True)
        record_access(uow, ctx, cmd.actor, "portal.results", object_type="portal",
                      patient_id=patient_ids[0] if len(patient_ids) == 1 else "", detail=f"{len(lines)} reports")
        uow.commit()
        return lines


@dataclass(frozen=True)
class WaitingLine:
    """An exam of the patient whose report they cannot read yet: not signed, or held at their request."""

    order: Order
    exam_name: str
    active_hold: ReleaseHold | None


@dataclass(frozen=True)
class ListMyWaitingResults:
    """A patient's exams whose reports are not readable yet (where they may ask to hold the report back)."""

    actor: Principal


def list_my_waiting_results(cmd: ListMyWaitingResults, uow: UnitOfWork, ctx: ServiceContext) -> list[WaitingLine]:
    """Exams not cancelled whose report is not released to the patient (audited, also when empty)."""
    guard(cmd.actor, Action.PORTAL_RESULTS)
    patient_ids = sorted({p for p in (cmd.actor.patient_id, *cmd.actor.proxy_patient_ids) if p})
    now = ctx.clock.now()
    with uow:
        orders = [o for pid in patient_ids for o in uow.orders.for_patient(pid) if not o.is_cancelled]
        reports = reports_in(uow).for_orders([o.id for o in orders])
        holds = holds_in(uow).for_orders([o.id for o in orders])
        lines = []
        for order in orders:
            report = reports.get(order.id)
            mine = [h for h in holds if h.order_id == order.id]
            signed = report.signed_at if report is not None and report.is_signed else None
            if released_since(signed, mine, now) is not None:
                continue
            active = next((h for h in mine if h.is_active(now)), None)
            lines.append(WaitingLine(order, exam_name(ctx, order), active))
        record_access(uow, ctx, cmd.actor, "portal.waiting", object_type="portal",
                      patient_id=patient_ids[0] if len(patient_ids) == 1 else "", detail=f"{len(lines)} exams")
        uow.commit()
        return lines


@dataclass(frozen=True)
class PortalReport:
    """A released report as the patient reads it."""

    order: Order
    report: Report
    patient: Patient
    exam_name: str


def _released_report(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, order: Order) -> Report:
    report = reports_in(uow).for_order(order.id)
    if report is None or not report.is_signed:
        raise NotFound(f"order {order.accession_number} has no signed report yet")
    if actor.role is Role.PATIENT and released_since(report.signed_at, holds_in(uow).for_order(order.id),
                                                     ctx.clock.now()) is None:
        raise NotFound(f"the report of {order.accession_number} is not released to you yet")
    return report


@dataclass(frozen=True)
class OpenMyResult:
    """The patient opens one of their released reports (the first opening is recorded)."""

    actor: Principal
    order_id: str


def open_my_result(cmd: OpenMyResult, uow: UnitOfWork, ctx: ServiceContext) -> PortalReport:
    """Read the report (audited); record the portal copy's opening."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.PORTAL_RESULTS, order)
        report = _released_report(uow, ctx, cmd.actor, order)
        now, name = ctx.clock.now(), cmd.actor.display_name or cmd.actor.username
        for d in distributions_in(uow).for_order(order.id):
            if d.channel is DeliveryChannel.PORTAL and d.state in (DistributionState.DELIVERED,
                                                                   DistributionState.OPENED):
                d.open(at=now, by=cmd.actor.user_id, by_name=name)
        record_access(uow, ctx, cmd.actor, "portal.open", patient_id=order.patient_id, object_type="order",
                      object_id=order.id)
        view = PortalReport(order, report, uow.patients.get(order.patient_id), exam_name(ctx, order))
        uow.commit()
        return view


@dataclass(frozen=True)
class PrintReport:
    """The signed report as a PDF (a patient: only once released to them)."""

    actor: Principal
    order_id: str


def print_report(cmd: PrintReport, uow: UnitOfWork, ctx: ServiceContext) -> bytes:
    """The report's PDF (audited)."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.REPORT_READ, order)
        report = _released_report(uow, ctx, cmd.actor, order)
        document = report_document(report, order, uow.patients.get(order.patient_id), ctx.settings,
                                   exam_name(ctx, order))
        record_access(uow, ctx, cmd.actor, "report.pdf", patient_id=order.patient_id, object_type="order",
                      object_id=order.id)
        uow.commit()
    return printer_of(ctx).pdf(document)


HANDLERS: dict[type, Handler] = {
    PlaceReleaseHold: place_release_hold, LiftReleaseHold: lift_release_hold, GetReleaseStatus: get_release_status,
    ListMyResults: list_my_results, OpenMyResult: open_my_result, PrintReport: print_report,
    ListMyWaitingResults: list_my_waiting_results,
}
JOB_HANDLERS: dict[str, JobHandler] = {HOLD_EXPIRY: hold_expiry_job}
