"""What the scanner performed (MPPS, IHE RAD-6/7) moving the orders it names, and the exception queue.

N-CREATE IN PROGRESS starts the exam (`exam_started`, also from `scheduled`: an exam started without
check-in is recorded as such); the last step of a study to become final completes it (`exam_completed`)
when one of its steps COMPLETED, else discontinues it (`exam_discontinued`, with the reason the scanner
gave). One MPPS naming several accessions updates each order. A step no order can take — unknown
accession, unscheduled, an order on hold or cancelled — is accepted and held in the exception queue;
a person reconciles it on a screen (the statuses received are replayed on the chosen order) or
dismisses it, and either is audited. Each (SOP Instance UID, status) is applied once: a scanner's
resend after a lost response changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from radflow.domain.errors import Conflict, ValidationError
from radflow.domain.ids import new_id
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.order import Order
from radflow.domain.policy import Action
from radflow.domain.study import (
    ContrastAdministration,
    DoseRecord,
    PerformedStepRecord,
    StepStatus,
    Study,
    StudyEvent,
)
from radflow.domain.users import Principal
from radflow.services.access import guard, guard_order
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.exam_day.ports import MppsException, mpps_exceptions, studies
from radflow.services.exam_day.rules import shipped_exam_day_rules
from radflow.services.exam_day.worklist import ensure_study
from radflow.services.unit_of_work import UnitOfWork

APPLIED = "applied"
QUEUED = "queued"
_STARTABLE = frozenset({OrderState.SCHEDULED, OrderState.CHECKED_IN})


@dataclass(frozen=True)
class StepReport:
    """One MPPS as the scanner reported it (the DICOM edge translates N-CREATE/N-SET into this)."""

    sop_instance_uid: str
    status: StepStatus
    calling_ae: str
    station_ae_title: str
    modality: str
    accession_numbers: tuple[str, ...]
    patient_id: str = ""
    patient_name: str = ""
    started: datetime | None = None
    ended: datetime | None = None
    discontinuation_code: str = ""
    discontinuation_meaning: str = ""
    series_count: int = 0
    image_count: int = 0
    description: str = ""
    ctdi_vol_mgy: Decimal | None = None
    contrast_agent: str = ""
    contrast_volume_ml: Decimal | None = None

    def record(self) -> PerformedStepRecord:
        """The step as the study keeps it."""
        return PerformedStepRecord(
            uid=self.sop_instance_uid, status=self.status, source="mpps", station_ae_title=self.station_ae_title,
            modality=self.modality, started=self.started, ended=self.ended, discontinuation_reason=self.reason,
            series_count=self.series_count, image_count=self.image_count, description=self.description)

    @property
    def reason(self) -> str:
        """The discontinuation reason in words (the center's coded list, else what the scanner sent)."""
        if not self.discontinuation_code and not self.discontinuation_meaning:
            return ""
        known = {r.code: r.text for r in shipped_exam_day_rules().discontinuation_reasons}
        return known.get(self.discontinuation_code) or self.discontinuation_meaning or self.discontinuation_code

    def as_json(self) -> dict[str, Any]:
        """The report as kept in the exception queue (enough to replay it)."""
        return {"sop_instance_uid": self.sop_instance_uid, "status": self.status.value, "calling_ae": self.calling_ae,
                "station_ae_title": self.station_ae_title, "modality": self.modality,
                "accession_numbers": list(self.accession_numbers), "patient_id": self.patient_id,
                "patient_name": self.patient_name, "started": self.started.isoformat() if self.started else None,
                "ended": self.ended.isoformat() if self.ended else None,
                "discontinuation_code": self.discontinuation_code,
                "discontinuation_meaning": self.discontinuation_meaning, "series_count": self.series_count,
                "image_count": self.image_count, "description": self.description,
                "ctdi_vol_mgy": str(self.ctdi_vol_mgy) if self.ctdi_vol_mgy is not None else None,
                "contrast_agent": self.contrast_agent,
                "contrast_volume_ml": str(self.contrast_volume_ml) if self.contrast_volume_ml is not None else None}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> StepReport:
        """A report kept in the exception queue."""
        def moment(key: str) -> datetime | None:
            return datetime.fromisoformat(raw[key]) if raw.get(key) else None

        def number(key: str) -> Decimal | None:
            return Decimal(raw[key]) if raw.get(key) is not None else None

        return cls(sop_instance_uid=raw["sop_instance_uid"], status=StepStatus(raw["status"]),
                   calling_ae=raw["calling_ae"], station_ae_title=raw["station_ae_title"], modality=raw["modality"],
                   accession_numbers=tuple(raw["accession_numbers"]), patient_id=raw["patient_id"],
                   patient_name=raw["patient_name"], started=moment("started"), ended=moment("ended"),
                   discontinuation_code=raw["discontinuation_code"],
                   discontinuation_meaning=raw["discontinuation_meaning"], series_count=raw["series_count"],
                   image_count=raw["image_count"], description=raw["description"],
                   ctdi_vol_mgy=number("ctdi_vol_mgy"), contrast_agent=raw["contrast_agent"],
                   contrast_volume_ml=number("contrast_volume_ml"))


@dataclass(frozen=True)
class RecordPerformedStep:
    """The DICOM listener reports an MPPS N-CREATE (`created`) or N-SET."""

    actor: Principal
    report: StepReport
    created: bool


def _queue(uow: UnitOfWork, report: StepReport, reason: str, now: datetime,
           applied_to: tuple[str, ...] = ()) -> None:
    """Hold the step in the exception queue (or add this status to the one already held).

    `applied_to` names the orders the step did move (an MPPS naming several accessions, some unknown):
    later statuses go on being applied to them.
    """
    queue = mpps_exceptions(uow)
    current = queue.by_uid(report.sop_instance_uid)
    entry = {"status": report.status.value, "at": now.isoformat(), "report": report.as_json()}
    if current is not None:
        history = current.history if any(h["status"] == report.status.value for h in current.history) \
            else (*current.history, entry)
        queue.save(replace(current, status=report.status.value, step=report.as_json(), history=history,
                           updated_at=now))
        return
    queue.save(MppsException(
        id=new_id(), sop_instance_uid=report.sop_instance_uid, status=report.status.value, state="open",
        reason=reason, received_at=now, updated_at=now, calling_ae=report.calling_ae,
        accession_numbers="\\".join(report.accession_numbers), patient_id=report.patient_id,
        patient_name=report.patient_name, step=report.as_json(), history=(entry,), order_ids=applied_to))


def _orders_for(uow: UnitOfWork, report: StepReport) -> tuple[list[Order], list[str]]:
    found, unknown = [], []
    for accession in report.accession_numbers:
        order = uow.orders.by_accession(accession)
        if order is None:
            unknown.append(accession)
        else:
            found.append(order)
    return found, unknown


def _start_on(uow: UnitOfWork, actor: Principal, order: Order, report: StepReport, now: datetime) -> str | None:
    """Start the step on one order; the reason it cannot, or None when applied."""
    study = ensure_study(uow, order, now)
    if study.step(report.sop_instance_uid) is not None:
        return None  # a resend: already applied
    if order.state not in _STARTABLE and order.state is not OrderState.IN_PROGRESS:
        return f"order {order.accession_number} is {order.state.value.replace('_', ' ')}"
    study.start_step(report.record(), by=actor.user_id, at=now)
    if order.state in _STARTABLE:
        without_checkin = order.state is OrderState.SCHEDULED
        order.transition(OrderEvent.EXAM_STARTED, by=actor.user_id, at=now, details={
            "mpps": report.sop_instance_uid, "station": report.station_ae_title,
            "without_check_in": without_checkin})
    return None


def _update_on(study: Study, order: Order, actor: Principal, report: StepReport, now: datetime) -> str | None:
    """Apply an update or the end of a step to one study; the reason it cannot, or None."""
    try:
        ended = study.update_step(report.record(), by=actor.user_id, at=now)
    except Conflict as refused:
        return refused.message
    if report.status is StepStatus.COMPLETED and report.ctdi_vol_mgy is not None:
        study.record_dose(DoseRecord(report.ctdi_vol_mgy, None, now, actor.user_id, source="mpps"))
    if report.status is StepStatus.COMPLETED and report.contrast_agent and report.contrast_volume_ml:
        study.give_contrast(ContrastAdministration(agent=report.contrast_agent, volume_ml=report.contrast_volume_ml,
                                                   route="intravenous", given_at=report.ended or now,
                                                   given_by=actor.user_id, source="mpps"))
    if ended is None:
        return None
    if order.state is not OrderState.IN_PROGRESS:
        order.note("performed_step_ended", by=actor.user_id, at=now,
                   details={"mpps": report.sop_instance_uid, "status": report.status.value})
        return f"order {order.accession_number} is {order.state.value.replace('_', ' ')}, not in progress"
    if ended is StudyEvent.ACQUISITION_COMPLETED:
        order.transition(OrderEvent.EXAM_COMPLETED, by=actor.user_id, at=now,
                         details={"mpps": report.sop_instance_uid, "series": report.series_count})
    else:
        order.transition(OrderEvent.EXAM_DISCONTINUED, by=actor.user_id, at=now,
                         reason=study.discontinuation_reason(), details={"mpps": report.sop_instance_uid})
    return None


def apply_step_in(uow: UnitOfWork, actor: Principal, report: StepReport, created: bool, now: datetime) -> str:
    """Apply a step to the orders it names; APPLIED when one took it, QUEUED when it waits for a person."""
    held = mpps_exceptions(uow).by_uid(report.sop_instance_uid)
    unknown: list[str] = []
    if held is not None:
        # Already known to the queue: reconciled steps go to their order, open ones to the orders they
        # moved (if any) while the queue keeps every status for the person who will match the rest.
        if held.state != "reconciled":
            _queue(uow, report, held.reason, now)
        if held.state == "dismissed" or not held.order_ids:
            return QUEUED
        orders = [uow.orders.get(order_id) for order_id in held.order_ids]
    else:
        orders, unknown = _orders_for(uow, report)
    if not orders:
        reason = (f"no order with accession {', '.join(unknown)}" if unknown
                  else "unscheduled: the step names no accession number")
        _queue(uow, report, reason, now)
        return QUEUED
    problems = [f"no order with accession {a}" for a in unknown]
    applied: list[str] = []
    for order in orders:
        guard_order(actor, Action.MPPS_RECORD, order)
        if created:
            problem = _start_on(uow, actor, order, report, now)
        else:
            study = studies(uow).for_order(order.id)
            if study is None or study.step(report.sop_instance_uid) is None:
                problem = f"order {order.accession_number} never started this step"
            else:
                problem = _update_on(study, order, actor, report, now)
        if problem is None:
            applied.append(order.id)
        else:
            problems.append(problem)
    if problems and held is None:
        _queue(uow, report, "; ".join(problems), now, applied_to=tuple(applied))
    return APPLIED if applied else QUEUED


def record_performed_step(cmd: RecordPerformedStep, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Apply one MPPS message; returns APPLIED, or QUEUED when it waits in the exception queue."""
    with uow:
        guard(cmd.actor, Action.MPPS_RECORD)
        now = ctx.clock.now()
        disposition = apply_step_in(uow, cmd.actor, cmd.report, cmd.created, now)
        record_access(uow, ctx, cmd.actor, "mpps.record", object_type="mpps", object_id=cmd.report.sop_instance_uid,
                      detail=f"{cmd.report.status.value} {','.join(cmd.report.accession_numbers)} "
                             f"from {cmd.report.calling_ae}: {disposition}")
        uow.commit()
        return disposition


@dataclass(frozen=True)
class ListMppsExceptions:
    """The MPPS exception queue (open by default)."""

    actor: Principal
    state: str = "open"
    limit: int = 200


def list_mpps_exceptions(cmd: ListMppsExceptions, uow: UnitOfWork, ctx: ServiceContext) -> list[MppsException]:
    """Held steps, newest first."""
    with uow:
        guard(cmd.actor, Action.MPPS_RECONCILE)
        found = mpps_exceptions(uow).in_state(cmd.state, cmd.limit)
        record_access(uow, ctx, cmd.actor, "mpps.exceptions", object_type="mpps", detail=f"{len(found)} {cmd.state}")
        uow.commit()
        return found


@dataclass(frozen=True)
class ReconcileMppsException:
    """Match a held step to the order it performed; its statuses are applied to that order."""

    actor: Principal
    exception_id: str
    order_id: str
    note: str


def reconcile_mpps_exception(cmd: ReconcileMppsException, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Replay the held step on the chosen order (start, then its final status) and close the exception."""
    if not cmd.note.strip():
        raise ValidationError("say how the step was matched (e.g. 'wrong accession typed at the scanner')",
                              field="note")
    with uow:
        held = mpps_exceptions(uow).get(cmd.exception_id)
        if held.state != "open":
            raise Conflict(f"this MPPS exception is already {held.state}")
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.MPPS_RECONCILE, order)
        now = ctx.clock.now()
        reports = [StepReport.from_json(h["report"]) for h in held.history]
        first = replace(reports[0], status=StepStatus.IN_PROGRESS)
        problem = _start_on(uow, cmd.actor, order, first, now)
        if problem is not None:
            raise Conflict(f"cannot start the exam on this order: {problem}")
        study = studies(uow).for_order(order.id)
        assert study is not None
        for report in reports:
            if report.status.is_final:
                problem = _update_on(study, order, cmd.actor, report, now)
                if problem is not None:
                    raise Conflict(f"cannot apply {report.status.value}: {problem}")
        mpps_exceptions(uow).save(replace(held, state="reconciled", resolved_at=now, resolved_by=cmd.actor.user_id,
                                          order_ids=(*held.order_ids, order.id), note=cmd.note.strip(),
                                          updated_at=now))
        order.note("mpps_reconciled", by=cmd.actor.user_id, at=now,
                   details={"mpps": held.sop_instance_uid, "note": cmd.note.strip()})
        record_access(uow, ctx, cmd.actor, "mpps.reconcile", patient_id=order.patient_id, object_type="mpps",
                      object_id=held.sop_instance_uid, detail=f"-> {order.accession_number}: {cmd.note.strip()}")
        uow.commit()
        return order.state.value


@dataclass(frozen=True)
class DismissMppsException:
    """Close a held step that matches no exam (a test, a duplicate), saying why."""

    actor: Principal
    exception_id: str
    note: str


def dismiss_mpps_exception(cmd: DismissMppsException, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Dismiss an exception; audited."""
    if not cmd.note.strip():
        raise ValidationError("say why the step is dismissed", field="note")
    with uow:
        guard(cmd.actor, Action.MPPS_RECONCILE)
        held = mpps_exceptions(uow).get(cmd.exception_id)
        if held.state != "open":
            raise Conflict(f"this MPPS exception is already {held.state}")
        now = ctx.clock.now()
        mpps_exceptions(uow).save(replace(held, state="dismissed", resolved_at=now, resolved_by=cmd.actor.user_id,
                                          note=cmd.note.strip(), updated_at=now))
        record_access(uow, ctx, cmd.actor, "mpps.dismiss", object_type="mpps", object_id=held.sop_instance_uid,
                      detail=cmd.note.strip())
        uow.commit()
        return "dismissed"


HANDLERS: dict[type, Handler] = {
    RecordPerformedStep: record_performed_step,
    ListMppsExceptions: list_mpps_exceptions,
    ReconcileMppsException: reconcile_mpps_exception,
    DismissMppsException: dismiss_mpps_exception,
}
