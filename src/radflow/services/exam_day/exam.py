"""At the scanner: pre-scan verification, steps recorded by hand, interruptions, contrast and dose, QC.

Scanners that send MPPS move the order themselves (`performed_steps`); for those that do not (and
for a step a scanner never closed) the technologist starts and ends the exam here. The pre-scan
verification is the Zone IV gate for MRI: it is refused while the screening is not cleared or still
waits for the technologist's on-site verification. QC passes only once the images are confirmed in
the configured PACS (when one is configured), and sends the study to the reading worklist; a repeat
takes the order back to `in_progress`; an exam that cannot be completed goes `incomplete` with its
reason, and `ReturnIncompleteExam` re-checks coverage, authorization and preparation before the
order is booked again (the new booking sends the preparation instructions again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from radflow.domain.authorization import AuthorizationState
from radflow.domain.errors import Conflict, RadflowError, ValidationError
from radflow.domain.ids import new_id
from radflow.domain.lifecycle import OrderEvent, OrderState
from radflow.domain.order import Order
from radflow.domain.policy import Action
from radflow.domain.study import (
    ContrastAdministration,
    DoseRecord,
    PerformedStepRecord,
    QcOutcome,
    ReactionSeverity,
    RepeatView,
    StepStatus,
    Study,
    StudyEvent,
)
from radflow.domain.users import Principal
from radflow.services.access import guard_order
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.exam_day.ports import screenings
from radflow.services.exam_day.rules import shipped_exam_day_rules
from radflow.services.exam_day.worklist import ensure_study, shipped_catalog
from radflow.services.unit_of_work import UnitOfWork

_AT_SCANNER = frozenset({OrderState.SCHEDULED, OrderState.CHECKED_IN, OrderState.IN_PROGRESS})


def decimal_of(value: str | float | Decimal | None, name: str) -> Decimal | None:
    """A number typed into a form or sent as JSON; ValidationError names the field."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError(f"{name.replace('_', ' ')} must be a number", field=name) from None
    if not number.is_finite():
        raise ValidationError(f"{name.replace('_', ' ')} must be a number", field=name)
    return number


def _load(uow: UnitOfWork, actor: Principal, action: Action, order_id: str) -> tuple[Order, Study]:
    order = uow.orders.get(order_id)
    guard_order(actor, action, order)
    return order, ensure_study(uow, order, order.received_at)


def _audit(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, order: Order, what: str, detail: str = "") -> None:
    record_access(uow, ctx, actor, f"exam.{what}", patient_id=order.patient_id, object_type="order",
                  object_id=order.id, detail=f"{order.accession_number} {detail}".strip())


def screening_gate(uow: UnitOfWork, order: Order) -> str | None:
    """Why the patient may not go into the scanner room yet as far as screening goes, or None."""
    protocol = shipped_catalog().protocol(order.protocol_code)
    record = screenings(uow).for_order(order.id)
    needs_screening = protocol.modality.value == "MR" or bool(protocol.screening) or order.contrast is not None
    if record is None or record.latest_decision is None:
        return "answer and evaluate the safety screening first" if needs_screening else None
    if not record.is_cleared:
        return f"safety screening is {record.state.value.replace('_', ' ')}"
    if record.awaits_verification:
        return ("verify the screening answers with the patient and evaluate again "
                f"({', '.join(record.awaits_verification)})")
    return None


@dataclass(frozen=True)
class VerifyPrescan:
    """The technologist's pre-scan verification (the checklist ids of the exam-day rules, each confirmed)."""

    actor: Principal
    order_id: str
    checks: Mapping[str, bool] = field(hash=False)
    note: str = ""


def verify_prescan(cmd: VerifyPrescan, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Record the verification; refused while screening is not cleared and verified on site."""
    with uow:
        order, study = _load(uow, cmd.actor, Action.EXAM_DOCUMENT, cmd.order_id)
        if order.state not in _AT_SCANNER:
            raise Conflict(f"order {order.accession_number} is {order.state.value}: not at the scanner")
        gate = screening_gate(uow, order)
        if gate is not None:
            raise Conflict(f"not cleared for the scanner: {gate}")
        study.verify_prescan(cmd.checks, shipped_exam_day_rules().prescan_ids, by=cmd.actor.user_id,
                             at=ctx.clock.now(), note=cmd.note)
        _audit(uow, ctx, cmd.actor, order, "prescan")
        uow.commit()
        return study.id


@dataclass(frozen=True)
class StartExam:
    """The technologist starts the exam on a scanner that sends no MPPS."""

    actor: Principal
    order_id: str


def start_exam(cmd: StartExam, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Start a step recorded by hand; the order goes `in_progress` (pre-scan verification first)."""
    with uow:
        order, study = _load(uow, cmd.actor, Action.EXAM_DOCUMENT, cmd.order_id)
        if order.state not in (OrderState.SCHEDULED, OrderState.CHECKED_IN, OrderState.IN_PROGRESS):
            raise Conflict(f"order {order.accession_number} is {order.state.value}: it cannot start")
        if not study.prescan_verified:
            raise Conflict("record the pre-scan verification before starting the exam")
        now = ctx.clock.now()
        step = PerformedStepRecord(uid=f"radflow-{new_id()}", status=StepStatus.IN_PROGRESS, source="technologist",
                                   modality=order.requested_modality, started=now)
        study.start_step(step, by=cmd.actor.user_id, at=now)
        if order.state is not OrderState.IN_PROGRESS:
            order.transition(OrderEvent.EXAM_STARTED, by=cmd.actor.user_id, at=now,
                             details={"step": step.uid, "without_check_in": order.state is OrderState.SCHEDULED})
        _audit(uow, ctx, cmd.actor, order, "start")
        uow.commit()
        return order.state.value


@dataclass(frozen=True)
class EndExam:
    """End the open steps: completed, or discontinued with a coded reason."""

    actor: Principal
    order_id: str
    completed: bool
    reason_code: str = ""
    note: str = ""


def end_exam(cmd: EndExam, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Close every open step; when that ends the acquisition, the order completes or goes incomplete."""
    rules = shipped_exam_day_rules()
    reason = "" if cmd.completed else rules.discontinuation(cmd.reason_code).text
    if cmd.note.strip() and reason:
        reason = f"{reason} — {cmd.note.strip()}"
    with uow:
        order, study = _load(uow, cmd.actor, Action.EXAM_DOCUMENT, cmd.order_id)
        open_steps = [s for s in study.steps() if not s.status.is_final]
        if not open_steps:
            raise Conflict("no step of this exam is in progress")
        now = ctx.clock.now()
        status = StepStatus.COMPLETED if cmd.completed else StepStatus.DISCONTINUED
        ended: StudyEvent | None = None
        for step in open_steps:
            closed = replace(step, status=status, ended=now, discontinuation_reason=reason)
            ended = study.update_step(closed, by=cmd.actor.user_id, at=now) or ended
        if ended is StudyEvent.ACQUISITION_COMPLETED and order.state is OrderState.IN_PROGRESS:
            order.transition(OrderEvent.EXAM_COMPLETED, by=cmd.actor.user_id, at=now)
        elif ended is StudyEvent.ACQUISITION_DISCONTINUED and order.state is OrderState.IN_PROGRESS:
            order.transition(OrderEvent.EXAM_DISCONTINUED, by=cmd.actor.user_id, at=now,
                             reason=study.discontinuation_reason())
        _audit(uow, ctx, cmd.actor, order, "end", status.value)
        uow.commit()
        return order.state.value


@dataclass(frozen=True)
class RecordInterruption:
    """The exam stopped for a while (reason code from the exam-day rules)."""

    actor: Principal
    order_id: str
    reason_code: str
    note: str = ""


def record_interruption(cmd: RecordInterruption, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Document an interruption and its reason."""
    reason = shipped_exam_day_rules().interruption(cmd.reason_code)
    with uow:
        order, study = _load(uow, cmd.actor, Action.EXAM_DOCUMENT, cmd.order_id)
        study.interrupt(reason.code, note=cmd.note, by=cmd.actor.user_id, at=ctx.clock.now())
        _audit(uow, ctx, cmd.actor, order, "interrupt", reason.code)
        uow.commit()
        return study.id


@dataclass(frozen=True)
class ResumeExam:
    """The interrupted exam goes on."""

    actor: Principal
    order_id: str
    note: str = ""


def resume_exam(cmd: ResumeExam, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Document the resumption."""
    with uow:
        order, study = _load(uow, cmd.actor, Action.EXAM_DOCUMENT, cmd.order_id)
        study.resume(by=cmd.actor.user_id, at=ctx.clock.now(), note=cmd.note)
        _audit(uow, ctx, cmd.actor, order, "resume")
        uow.commit()
        return study.id


@dataclass(frozen=True)
class RecordContrast:
    """Contrast given: agent, volume (mL), route, lot; any reaction or extravasation and its treatment."""

    actor: Principal
    order_id: str
    agent: str
    volume_ml: str
    route: str
    lot: str
    injection_site: str = ""
    reaction: str = "none"
    reaction_description: str = ""
    extravasation: bool = False
    extravasation_volume_ml: str = ""
    treatment: str = ""


def record_contrast(cmd: RecordContrast, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Document the contrast administration (a reaction is recorded as an event for the patient's history)."""
    try:
        severity = ReactionSeverity(cmd.reaction or "none")
    except ValueError:
        raise ValidationError("reaction is none, mild, moderate or severe (ACR Manual on Contrast Media)",
                              field="reaction") from None
    volume = decimal_of(cmd.volume_ml, "volume_ml")
    if volume is None:
        raise ValidationError("give the volume of contrast in mL", field="volume_ml")
    with uow:
        order, study = _load(uow, cmd.actor, Action.EXAM_DOCUMENT, cmd.order_id)
        now = ctx.clock.now()
        study.give_contrast(ContrastAdministration(
            agent=cmd.agent.strip(), volume_ml=volume, route=cmd.route.strip(), given_at=now,
            given_by=cmd.actor.user_id, lot=cmd.lot.strip(), injection_site=cmd.injection_site.strip(),
            reaction=severity, reaction_description=cmd.reaction_description.strip(), extravasation=cmd.extravasation,
            extravasation_volume_ml=decimal_of(cmd.extravasation_volume_ml, "extravasation_volume_ml"),
            treatment=cmd.treatment.strip()))
        _audit(uow, ctx, cmd.actor, order, "contrast", f"{cmd.agent} {volume} mL reaction={severity.value}")
        uow.commit()
        return study.id


@dataclass(frozen=True)
class RecordDose:
    """CT dose indices: CTDIvol (mGy) and DLP (mGy·cm)."""

    actor: Principal
    order_id: str
    ctdi_vol_mgy: str
    dlp_mgy_cm: str
    phantom: str = ""


def record_dose(cmd: RecordDose, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Document CT dose (refused for a modality that is not CT)."""
    with uow:
        order, study = _load(uow, cmd.actor, Action.EXAM_DOCUMENT, cmd.order_id)
        if order.requested_modality != "CT":
            raise ValidationError("CTDIvol and DLP are CT dose indices: this is a "
                                  f"{order.requested_modality} exam", field="ctdi_vol_mgy")
        study.record_dose(DoseRecord(decimal_of(cmd.ctdi_vol_mgy, "ctdi_vol_mgy"), decimal_of(cmd.dlp_mgy_cm,
                                                                                             "dlp_mgy_cm"),
                                     ctx.clock.now(), cmd.actor.user_id, phantom=cmd.phantom.strip()))
        _audit(uow, ctx, cmd.actor, order, "dose", f"CTDIvol {cmd.ctdi_vol_mgy} DLP {cmd.dlp_mgy_cm}")
        uow.commit()
        return study.id


@dataclass(frozen=True)
class RepeatInput:
    """A repeat or add-on view asked for at QC."""

    view: str
    reason: str
    triggered_by_role: str = "technologist"
    reporting_delay_minutes: int = 0
    add_on: bool = False


@dataclass(frozen=True)
class ReviewQc:
    """The technologist's QC: passed, repeat (with the views), or not completable (with why)."""

    actor: Principal
    order_id: str
    outcome: str
    required_series_obtained: bool
    repeats: tuple[RepeatInput, ...] = ()
    note: str = ""


def review_qc(cmd: ReviewQc, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Record QC; a pass asks the PACS first (when configured) and sends the study to reading."""
    try:
        outcome = QcOutcome(cmd.outcome)
    except ValueError:
        raise ValidationError("QC outcome is passed, repeat or incomplete", field="outcome") from None
    images: bool | None = None
    if outcome is QcOutcome.PASSED and ctx.image_availability is not None:
        with uow:
            order = uow.orders.get(cmd.order_id)
            guard_order(cmd.actor, Action.EXAM_QC, order)
            accession = order.accession_number
        try:
            images = ctx.image_availability.images_available(accession)
        except RadflowError as unavailable:
            raise Conflict(f"the PACS could not confirm the images: {unavailable.message}") from unavailable
        if not images:
            raise Conflict(f"the PACS holds no images for accession {accession} yet: wait for the transfer, "
                           "or check the scanner's send queue")
    with uow:
        order, study = _load(uow, cmd.actor, Action.EXAM_QC, cmd.order_id)
        if order.state is not OrderState.AWAITING_QC:
            raise Conflict(f"order {order.accession_number} is {order.state.value}, not awaiting QC")
        now = ctx.clock.now()
        repeats = tuple(RepeatView(view=r.view, reason=r.reason, triggered_by=cmd.actor.user_id,
                                   triggered_by_role=r.triggered_by_role,
                                   reporting_delay_minutes=r.reporting_delay_minutes, add_on=r.add_on)
                        for r in cmd.repeats)
        study.review_qc(outcome, by=cmd.actor.user_id, at=now, required_series_obtained=cmd.required_series_obtained,
                        repeats=repeats, images_in_pacs=images, note=cmd.note)
        event = {QcOutcome.PASSED: OrderEvent.QC_PASSED, QcOutcome.REPEAT: OrderEvent.REPEAT_REQUIRED,
                 QcOutcome.INCOMPLETE: OrderEvent.QC_FAILED_INCOMPLETE}[outcome]
        order.transition(event, by=cmd.actor.user_id, at=now, reason=cmd.note.strip(),
                         details={"images_in_pacs": images, "repeats": [r.view for r in repeats],
                                  "reporting_delay_minutes": study.reporting_delay_minutes})
        _audit(uow, ctx, cmd.actor, order, "qc", outcome.value)
        uow.commit()
        return order.state.value


@dataclass(frozen=True)
class ReturnIncompleteExam:
    """An incomplete exam goes back to scheduling once coverage, authorization and preparation are re-checked."""

    actor: Principal
    order_id: str
    note: str = ""


@dataclass(frozen=True)
class RecheckResult:
    """What the re-checks found and where the order went."""

    order_state: str
    findings: tuple[str, ...]


def return_incomplete_exam(cmd: ReturnIncompleteExam, uow: UnitOfWork, ctx: ServiceContext) -> RecheckResult:
    """Re-check coverage (blocks when inactive), authorization (expired → pending) and preparation."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.EXAM_RESCHEDULE, order)
        if order.state is not OrderState.INCOMPLETE:
            raise Conflict(f"order {order.accession_number} is {order.state.value}, not incomplete")
        now = ctx.clock.now()
        findings: list[str] = []
        if not order.self_pay:
            coverage = uow.coverages.get(order.coverage_id) if order.coverage_id else None
            if coverage is None or not coverage.active:
                raise ValidationError("the coverage on file is missing or inactive: update it (or mark the order "
                                      "self-pay) before the exam is booked again", field="coverage")
            findings.append(f"coverage {coverage.payer_id} {coverage.member_id} active")
        auth = uow.authorizations.current_for_order(order.id)
        expired, number = False, ""
        if auth is not None and auth.state is AuthorizationState.APPROVED:
            if auth.is_valid_on(now):
                findings.append(f"authorization {auth.authorization_number} valid until "
                                f"{auth.valid_until.date().isoformat() if auth.valid_until else '?'}")
            else:
                expired, number = True, auth.authorization_number
                auth.expire(by=cmd.actor.user_id, at=now)
                auth.reopen(note="approval no longer valid when the incomplete exam was rebooked",
                            by=cmd.actor.user_id, at=now)
                findings.append(f"authorization {number} no longer valid: a new request goes to the payer")
        protocol = shipped_catalog().protocol(order.protocol_code)
        variant = protocol.variant(order.contrast) if order.contrast else protocol.variants[0]
        findings.append(f"preparation '{protocol.preparation_for(variant).key}' is sent again with the new booking")
        order.transition(OrderEvent.RETURNED_TO_SCHEDULING, by=cmd.actor.user_id, at=now, reason=cmd.note.strip(),
                         details={"rechecks": findings})
        if expired:
            order.transition(OrderEvent.AUTHORIZATION_EXPIRED, by=cmd.actor.user_id, at=now,
                             details={"authorization_number": number})
        _audit(uow, ctx, cmd.actor, order, "return_to_scheduling", "; ".join(findings))
        uow.commit()
        return RecheckResult(order.state.value, tuple(findings))


HANDLERS: dict[type, Handler] = {
    VerifyPrescan: verify_prescan,
    StartExam: start_exam,
    EndExam: end_exam,
    RecordInterruption: record_interruption,
    ResumeExam: resume_exam,
    RecordContrast: record_contrast,
    RecordDose: record_dose,
    ReviewQc: review_qc,
    ReturnIncompleteExam: return_incomplete_exam,
}
