"""Safety screening in the workflow: answers stored per order, decisions recorded, holds to the radiologist.

Who gives an answer decides its source, never the caller's say-so: a patient signed in answers
`patient_online` (the link sent with the appointment), the desk records `patient_checkin`, a
technologist's answers are `technologist_verified` (docs/screening.md: online answers never clear
an MRI patient on their own). Every submission is evaluated at once by the screening engine
(`radflow.domain.screening`); a HOLD or CONTRAINDICATED decision puts a scheduled or checked-in
order `on_hold` with the decision as its reason, and the case waits in the radiologist review queue.
A radiologist's clearance releases the hold (the order returns where it was); a contraindication
keeps it held until the study is substituted or the order cancelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from radflow.catalog.screening_loader import shipped_screening_rules
from radflow.domain.errors import NotFound, ValidationError
from radflow.domain.events import DomainEvent, OrderTransitioned
from radflow.domain.ids import new_id
from radflow.domain.lifecycle import HOLDABLE_STATES, OrderEvent, OrderState
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.patient import Sex as PatientSex
from radflow.domain.policy import AccessTarget, Action
from radflow.domain.protocols import ContrastAgent
from radflow.domain.protocols import ContrastRoute as CatalogRoute
from radflow.domain.protocols import Questionnaire as CatalogQuestionnaire
from radflow.domain.screening import (
    Answer,
    AnswerSource,
    Contrast,
    ContrastAgentClass,
    ContrastRoute,
    Exam,
    GbcaGroup,
    Modality,
    Questionnaire,
    Radiopharmaceutical,
    RuleSet,
    ScreeningCase,
    Sex,
    applicable_questionnaires,
    decision_to_json,
    evaluate,
)
from radflow.domain.screening import (
    Patient as ScreeningPatient,
)
from radflow.domain.screening.facts import case_facts, is_enabled
from radflow.domain.screening.record import ScreeningRecord, ScreeningState
from radflow.domain.users import Principal, Role
from radflow.services.access import guard, guard_order
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.exam_day.ports import screenings, studies
from radflow.services.exam_day.rules import shipped_exam_day_rules
from radflow.services.exam_day.worklist import placement_for, shipped_catalog
from radflow.services.unit_of_work import UnitOfWork

#: The catalog names a protocol's questionnaires with underscores (`mri_safety`), the screening rule
#: set with hyphens (`mri-safety`): this is the one place they meet.
QUESTIONNAIRE_IDS: Mapping[CatalogQuestionnaire, str] = {q: q.value.replace("_", "-") for q in CatalogQuestionnaire}

_ROUTES = {CatalogRoute.IV: ContrastRoute.INTRAVENOUS, CatalogRoute.ORAL: ContrastRoute.ORAL,
           CatalogRoute.INTRA_ARTICULAR: ContrastRoute.INTRA_ARTICULAR}
_SEX = {PatientSex.FEMALE: Sex.FEMALE, PatientSex.MALE: Sex.MALE, PatientSex.OTHER: Sex.OTHER,
        PatientSex.UNKNOWN: Sex.UNKNOWN}
_FIELD_STRENGTHS = {"3T": 3.0, "1.5T": 1.5}
_ORDER_HOLD_STATES = frozenset({ScreeningState.HELD, ScreeningState.CONTRAINDICATED})


def answer_source(actor: Principal) -> AnswerSource:
    """Who answers decides the source: the patient online, the desk at check-in, the technologist on site."""
    if actor.role is Role.PATIENT:
        return AnswerSource.PATIENT_ONLINE
    if actor.role is Role.TECHNOLOGIST:
        return AnswerSource.TECHNOLOGIST_VERIFIED
    return AnswerSource.PATIENT_CHECKIN


def _radiopharmaceutical(protocol_code: str) -> Radiopharmaceutical:
    code = protocol_code.upper()
    if "FDG" in code:
        return Radiopharmaceutical.FDG
    if code.startswith("NM-THYROID"):
        return Radiopharmaceutical.I123
    if code.startswith("NM-"):
        return Radiopharmaceutical.TECHNETIUM
    return Radiopharmaceutical.OTHER if code.startswith("PT-") else Radiopharmaceutical.NONE


def screening_exam(uow: UnitOfWork, order: Order, rules: RuleSet, now: datetime) -> Exam:
    """The exam as screening sees it: modality, contrast plan, scanner field strength and table limit."""
    protocol = shipped_catalog().protocol(order.protocol_code)
    variant = protocol.variant(order.contrast) if order.contrast else protocol.variants[0]
    placement = placement_for(uow, order, studies(uow).for_order(order.id))
    scanner = placement.scanner if placement is not None else None
    contrast = Contrast()
    if variant.agent in (ContrastAgent.IODINATED, ContrastAgent.GADOLINIUM):
        agent_class = ContrastAgentClass(variant.agent.value)
        agent = shipped_exam_day_rules().formulary.get(variant.agent.value)
        group = rules.gbca_agents.get(agent.lower()) if agent and agent_class is ContrastAgentClass.GADOLINIUM else None
        if agent_class is ContrastAgentClass.GADOLINIUM and group is None:
            group = "II"  # no formulary entry: the widely stocked macrocyclic agents are ACR group II
        contrast = Contrast(agent_class=agent_class, route=_ROUTES.get(variant.route, ContrastRoute.INTRAVENOUS),
                            gbca_group=GbcaGroup(group) if group else None, agent=agent)
    field_strength = None
    if protocol.modality.value == "MR":
        strengths = [_FIELD_STRENGTHS[c] for c in (scanner.capabilities if scanner else ()) if c in _FIELD_STRENGTHS]
        # Not yet placed on a scanner: screen for the stronger field (device labels are stricter there).
        field_strength = max(strengths) if strengths else 3.0
    return Exam(modality=Modality(protocol.modality.value), exam_datetime=placement.start if placement else now,
                contrast=contrast, field_strength_t=field_strength,
                table_limit_kg=float(scanner.table_limit_kg) if scanner and scanner.table_limit_kg else None,
                radiopharmaceutical=_radiopharmaceutical(protocol.code), procedure=protocol.code)


def screening_patient(patient: Patient, on: datetime) -> ScreeningPatient:
    """Age on the exam day and sex, as screening needs them."""
    day = on.date()
    born = patient.birth_date
    age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return ScreeningPatient(age_years=max(age, 0), sex=_SEX[patient.sex])


def build_case(uow: UnitOfWork, order: Order, record: ScreeningRecord | None, rules: RuleSet,
               now: datetime) -> ScreeningCase:
    """The screening case of an order with the answers given so far."""
    exam = screening_exam(uow, order, rules, now)
    patient = screening_patient(uow.patients.get(order.patient_id), exam.exam_datetime)
    answers: dict[str, Answer] = {}
    for link_id, entry in (record.current_answers() if record else {}).items():
        item = rules.items.get(link_id)
        if item is not None:
            answers[link_id] = Answer(link_id, item.coerce(entry["value"], link_id), AnswerSource(entry["source"]))
    return ScreeningCase(exam=exam, patient=patient, answers=answers, case_id=order.accession_number)


def _record(uow: UnitOfWork, order: Order, now: datetime) -> ScreeningRecord:
    found = screenings(uow).for_order(order.id)
    if found is not None:
        return found
    record = ScreeningRecord(id=new_id(), order_id=order.id, patient_id=order.patient_id,
                             state=ScreeningState.OPEN, created_at=now)
    screenings(uow).add(record)
    return record


def _hold_summary(decision: Mapping[str, Any]) -> str:
    held = [r for r in decision["fired_rules"] if r["outcome"] in ("HOLD_FOR_RADIOLOGIST_REVIEW", "CONTRAINDICATED")]
    reasons = "; ".join(f"{r['id']}: {r['why']}" for r in held[:3])
    return f"safety screening {decision['decision']}: {reasons}"[:1000]


def decide_in(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, order: Order, record: ScreeningRecord,
              trigger: str) -> ScreeningState:
    """Evaluate the record's answers, record the decision, and hold the order when it must wait."""
    rules = shipped_screening_rules()
    now = ctx.clock.now()
    case = build_case(uow, order, record, rules, now)
    decision = evaluate(case, rules)
    as_json = decision_to_json(decision, case.case_id)
    state = record.decide(decision, as_json, by=actor.user_id, at=now, trigger=trigger)
    if state in _ORDER_HOLD_STATES and order.state in HOLDABLE_STATES:
        order.transition(OrderEvent.HOLD_PLACED, by=actor.user_id, at=now, reason=_hold_summary(as_json),
                         details={"screening_record": record.id, "decision": decision.outcome.value})
    return state


@dataclass(frozen=True)
class SubmitScreeningAnswers:
    """Answers to screening items (link id → JSON value) for an order, then an evaluation."""

    actor: Principal
    order_id: str
    answers: Mapping[str, Any] = field(hash=False)


@dataclass(frozen=True)
class ScreeningOutcome:
    """What a submission or review led to."""

    record_id: str
    state: str
    decision: dict[str, Any] | None
    order_state: str


def _coerce_answers(raw: Mapping[str, Any], rules: RuleSet, exam_day: datetime) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for link_id, value in raw.items():
        item = rules.items.get(link_id)
        if item is None:
            raise ValidationError(f"unknown questionnaire item '{link_id}'", field=f"answers.{link_id}")
        coerced = item.coerce(value, f"answers.{link_id}")
        if isinstance(coerced, date) and coerced > exam_day.date():
            raise ValidationError(f"{link_id} ({coerced}) lies after the exam date", field=f"answers.{link_id}")
        answers[link_id] = coerced
    return answers


def submit_screening_answers(cmd: SubmitScreeningAnswers, uow: UnitOfWork, ctx: ServiceContext) -> ScreeningOutcome:
    """Store a submission (a QuestionnaireResponse) and evaluate the case."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        action = Action.SCREENING_VERIFY if cmd.actor.role is Role.TECHNOLOGIST else Action.SCREENING_ANSWER
        guard_order(cmd.actor, action, order)
        if order.state in (OrderState.CANCELLED, OrderState.IMAGING_COMPLETED, OrderState.REPORTED,
                           OrderState.DELIVERED):
            raise ValidationError(f"order {order.accession_number} is {order.state.value}: screening is closed")
        rules = shipped_screening_rules()
        now = ctx.clock.now()
        exam = screening_exam(uow, order, rules, now)
        answers = _coerce_answers(cmd.answers, rules, exam.exam_datetime)
        record = _record(uow, order, now)
        source = answer_source(cmd.actor)
        questionnaires = tuple(q.id for q in applicable_questionnaires(
            ScreeningCase(exam=exam, patient=screening_patient(uow.patients.get(order.patient_id),
                                                               exam.exam_datetime)), rules))
        record.submit(answers, source, by=cmd.actor.user_id, at=now, questionnaires=questionnaires)
        state = decide_in(uow, ctx, cmd.actor, order, record, trigger=f"answers ({source.value})")
        record_access(uow, ctx, cmd.actor, "screening.answer", patient_id=order.patient_id,
                      object_type="screening", object_id=record.id,
                      detail=f"{order.accession_number}: {len(answers)} answers ({source.value}) -> {state.value}")
        uow.commit()
        return ScreeningOutcome(record.id, record.state.value, record.latest_decision, order.state.value)


@dataclass(frozen=True)
class EvaluateScreening:
    """Evaluate an order's screening again (e.g. after the exam moved to another scanner)."""

    actor: Principal
    order_id: str


def evaluate_screening(cmd: EvaluateScreening, uow: UnitOfWork, ctx: ServiceContext) -> ScreeningOutcome:
    """Re-run the engine on the stored answers and record the decision."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.SCREENING_READ, order)
        guard_order(cmd.actor, Action.SCREENING_ANSWER if cmd.actor.role is not Role.TECHNOLOGIST
                    else Action.SCREENING_VERIFY, order)
        record = _record(uow, order, ctx.clock.now())
        state = decide_in(uow, ctx, cmd.actor, order, record, trigger="evaluate again")
        record_access(uow, ctx, cmd.actor, "screening.evaluate", patient_id=order.patient_id,
                      object_type="screening", object_id=record.id, detail=f"{order.accession_number} -> {state.value}")
        uow.commit()
        return ScreeningOutcome(record.id, record.state.value, record.latest_decision, order.state.value)


@dataclass(frozen=True)
class ReviewScreening:
    """A radiologist's decision on a held screening: go ahead, or not (with the alternative)."""

    actor: Principal
    order_id: str
    clear: bool
    note: str
    alternative: str = ""


def review_screening(cmd: ReviewScreening, uow: UnitOfWork, ctx: ServiceContext) -> ScreeningOutcome:
    """Record the review; a clearance releases the order's screening hold."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.SCREENING_REVIEW, order)
        record = screenings(uow).for_order(order.id)
        if record is None:
            raise NotFound(f"order {order.accession_number} has no screening to review")
        now = ctx.clock.now()
        record.review(clear=cmd.clear, note=cmd.note, by=cmd.actor.user_id, at=now, alternative=cmd.alternative)
        if cmd.clear and order.state is OrderState.ON_HOLD:
            order.transition(OrderEvent.HOLD_CLEARED, by=cmd.actor.user_id, at=now, reason=cmd.note.strip(),
                             details={"screening_record": record.id})
        elif not cmd.clear:
            order.note("screening_contraindicated", by=cmd.actor.user_id, at=now,
                       details={"note": cmd.note.strip(), "alternative": cmd.alternative.strip()})
        record_access(uow, ctx, cmd.actor, "screening.review", patient_id=order.patient_id, object_type="screening",
                      object_id=record.id, detail=f"{'cleared' if cmd.clear else 'contraindicated'}: {cmd.note}")
        uow.commit()
        return ScreeningOutcome(record.id, record.state.value, record.latest_decision, order.state.value)


@dataclass(frozen=True)
class GetScreening:
    """An order's screening: the questions to ask, the answers so far, the decisions and reviews."""

    actor: Principal
    order_id: str


@dataclass(frozen=True)
class ScreeningView:
    """What a screening screen or API shows."""

    order: Order
    patient: Patient
    record: ScreeningRecord | None
    questionnaires: tuple[Questionnaire, ...]
    enabled_items: frozenset[str]
    exam: Exam


def get_screening(cmd: GetScreening, uow: UnitOfWork, ctx: ServiceContext) -> ScreeningView:
    """Read an order's screening; audited as a read of the patient's record."""
    with uow:
        order = uow.orders.get(cmd.order_id)
        guard_order(cmd.actor, Action.SCREENING_READ, order)
        rules = shipped_screening_rules()
        record = screenings(uow).for_order(order.id)
        case = build_case(uow, order, record, rules, ctx.clock.now())
        questionnaires = applicable_questionnaires(case, rules)
        facts = case_facts(case, questionnaires)
        enabled = frozenset(item.link_id for q in questionnaires for item in q.items if is_enabled(item, facts))
        patient = uow.patients.get(order.patient_id)
        record_access(uow, ctx, cmd.actor, "screening.read", patient_id=order.patient_id, object_type="screening",
                      object_id=record.id if record else order.id)
        uow.commit()
        return ScreeningView(order, patient, record, questionnaires, enabled, case.exam)


@dataclass(frozen=True)
class ScreeningQueue:
    """The radiologist review queue: held screenings, oldest first."""

    actor: Principal
    limit: int = 200


@dataclass(frozen=True)
class QueuedScreening:
    """One held case with what the radiologist needs to decide it."""

    record: ScreeningRecord
    order: Order
    patient: Patient


def screening_queue(cmd: ScreeningQueue, uow: UnitOfWork, ctx: ServiceContext) -> list[QueuedScreening]:
    """Held screenings with their orders and patients."""
    with uow:
        guard(cmd.actor, Action.SCREENING_REVIEW)
        held = screenings(uow).in_state(ScreeningState.HELD, cmd.limit)
        rows = [QueuedScreening(r, uow.orders.get(r.order_id), uow.patients.get(r.patient_id)) for r in held]
        record_access(uow, ctx, cmd.actor, "screening.queue", object_type="screening", detail=f"{len(rows)} held")
        uow.commit()
        return rows


@dataclass(frozen=True)
class PatientScreenings:
    """A patient's screening records (their own, for a patient; any, for staff)."""

    actor: Principal
    patient_id: str


def patient_screenings(cmd: PatientScreenings, uow: UnitOfWork, ctx: ServiceContext) -> list[ScreeningRecord]:
    """The patient's records, oldest first; audited."""
    with uow:
        guard(cmd.actor, Action.SCREENING_READ, AccessTarget(patient_id=cmd.patient_id), object_type="patient",
              object_id=cmd.patient_id)
        found = screenings(uow).for_patient(cmd.patient_id)
        record_access(uow, ctx, cmd.actor, "screening.list", patient_id=cmd.patient_id, object_type="screening",
                      detail=f"{len(found)} records")
        uow.commit()
        return found


_EXAM_CHANGES = {OrderEvent.STUDY_SUBSTITUTED.value, OrderEvent.PROTOCOL_CHANGED_STUDY.value}


def on_exam_changed(event: DomainEvent, uow: UnitOfWork) -> None:
    """A substituted study is screened afresh: earlier decisions and reviews were about another exam."""
    if isinstance(event, OrderTransitioned) and event.event in _EXAM_CHANGES:
        record = screenings(uow).for_order(event.order_id)
        if record is not None:
            record.exam_changed(by=event.by, at=event.at, note=event.reason or event.event)


EVENT_HANDLERS = {OrderTransitioned: [on_exam_changed]}

HANDLERS: dict[type, Handler] = {
    SubmitScreeningAnswers: submit_screening_answers,
    EvaluateScreening: evaluate_screening,
    ReviewScreening: review_screening,
    GetScreening: get_screening,
    ScreeningQueue: screening_queue,
    PatientScreenings: patient_screenings,
}
