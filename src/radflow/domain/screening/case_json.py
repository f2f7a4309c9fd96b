"""The JSON form of a screening case and of a decision (docs/screening-case.schema.json).

`parse_case` turns a decoded JSON object into a ScreeningCase or raises ValidationError whose
`field` names the offending member (`exam.field_strength_t`, `answers.renal.egfr.value`).
The CLI (`radflow screening evaluate`) and `POST /api/screening/evaluate` both go through
`evaluate_case_json`, so the case suite tests exactly what integrators call.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from radflow.domain.errors import ValidationError
from radflow.domain.screening.case import (
    Answer,
    AnswerSource,
    Contrast,
    ContrastAgentClass,
    ContrastRoute,
    Exam,
    GbcaGroup,
    Modality,
    Patient,
    Radiopharmaceutical,
    ScreeningCase,
    Sex,
)
from radflow.domain.screening.engine import ScreeningDecision, evaluate
from radflow.domain.screening.rules import RuleSet

CASE_KEYS = frozenset({"id", "title", "cites", "expect", "exam", "patient", "answers"})
EXAM_KEYS = frozenset(
    {"modality", "exam_datetime", "field_strength_t", "table_limit_kg", "contrast", "radiopharmaceutical", "procedure"}
)
CONTRAST_KEYS = frozenset({"agent_class", "route", "gbca_group", "agent"})
PATIENT_KEYS = frozenset({"age_years", "sex"})


def _object(raw: object, field: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise ValidationError(f"{field} must be a JSON object", field=field)
    return raw


def _no_unknown(raw: Mapping[str, Any], allowed: frozenset[str], field: str) -> None:
    extra = sorted(set(raw) - allowed)
    if extra:
        where = f"{field}." if field else ""
        raise ValidationError(
            f"unknown member '{where}{extra[0]}' (expected: {', '.join(sorted(allowed))})",
            field=f"{where}{extra[0]}",
        )


def _enum[E: StrEnum](kind: type[E], raw: object, field: str) -> E:
    try:
        if not isinstance(raw, str):
            raise ValueError(raw)
        return kind(raw)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ValidationError(f"{raw!r} is not valid for {field} (one of: {allowed})", field=field) from None


def _number(raw: object, field: str, low: float, high: float, *, optional: bool = True) -> float | None:
    if raw is None and optional:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not low <= raw <= high:
        raise ValidationError(f"{field} must be a number from {low:g} to {high:g}", field=field)
    return float(raw)


def _text(raw: object, field: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValidationError(f"{field} must be a string", field=field)
    return raw


def parse_contrast(raw: object, rules: RuleSet) -> Contrast:
    """The `exam.contrast` member; a known agent name fills in (and must agree with) its ACR group."""
    if raw is None:
        return Contrast()
    body = _object(raw, "exam.contrast")
    _no_unknown(body, CONTRAST_KEYS, "exam.contrast")
    agent_class = _enum(ContrastAgentClass, body.get("agent_class"), "exam.contrast.agent_class")
    agent = _text(body.get("agent"), "exam.contrast.agent")
    group_raw = body.get("gbca_group")
    group = None if group_raw is None else _enum(GbcaGroup, group_raw, "exam.contrast.gbca_group")
    known_group = rules.gbca_agents.get(agent.lower()) if agent else None
    if agent_class is ContrastAgentClass.GADOLINIUM and known_group is not None:
        if group is not None and group.value != known_group:
            raise ValidationError(
                f"{agent} is an ACR group {known_group} agent, not group {group.value}",
                field="exam.contrast.gbca_group",
            )
        group = GbcaGroup(known_group)
    route_raw = body.get("route")
    route = None if route_raw is None else _enum(ContrastRoute, route_raw, "exam.contrast.route")
    return Contrast(agent_class=agent_class, route=route, gbca_group=group, agent=agent)


def parse_exam(raw: object, rules: RuleSet) -> Exam:
    """The `exam` member."""
    body = _object(raw, "exam")
    _no_unknown(body, EXAM_KEYS, "exam")
    when = body.get("exam_datetime")
    try:
        exam_datetime = datetime.fromisoformat(when) if isinstance(when, str) else None
    except ValueError:
        exam_datetime = None
    if exam_datetime is None:
        raise ValidationError(
            "exam.exam_datetime must be an ISO 8601 date-time with offset", field="exam.exam_datetime"
        )
    radiopharmaceutical = body.get("radiopharmaceutical", "none")
    return Exam(
        modality=_enum(Modality, body.get("modality"), "exam.modality"),
        exam_datetime=exam_datetime,
        contrast=parse_contrast(body.get("contrast"), rules),
        # 11.7 T is the strongest human whole-body scanner; anything above is a typo (mT? gauss?).
        field_strength_t=_number(body.get("field_strength_t"), "exam.field_strength_t", 0.01, 11.7),
        table_limit_kg=_number(body.get("table_limit_kg"), "exam.table_limit_kg", 1, 1000),
        radiopharmaceutical=_enum(Radiopharmaceutical, radiopharmaceutical, "exam.radiopharmaceutical"),
        procedure=_text(body.get("procedure"), "exam.procedure"),
    )


def parse_patient(raw: object) -> Patient:
    """The `patient` member."""
    body = _object(raw, "patient")
    _no_unknown(body, PATIENT_KEYS, "patient")
    age = body.get("age_years")
    if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 130:
        raise ValidationError("patient.age_years must be a whole number from 0 to 130", field="patient.age_years")
    return Patient(age_years=age, sex=_enum(Sex, body.get("sex"), "patient.sex"))


def parse_answers(raw: object, rules: RuleSet, exam_day: date) -> dict[str, Answer]:
    """The `answers` member: link id → {value, source}; dates may not lie after the exam."""
    body = _object(raw if raw is not None else {}, "answers")
    answers: dict[str, Answer] = {}
    for link_id, entry_raw in body.items():
        field = f"answers.{link_id}"
        item = rules.items.get(link_id)
        if item is None:
            raise ValidationError(f"unknown questionnaire item '{link_id}'", field=field)
        entry = _object(entry_raw, field)
        _no_unknown(entry, frozenset({"value", "source"}), field)
        if "value" not in entry:
            raise ValidationError(f"{field} has no value (leave the item out if it was not answered)", field=field)
        value = item.coerce(entry["value"], f"{field}.value")
        if isinstance(value, date) and value > exam_day:
            raise ValidationError(f"{link_id} ({value}) lies after the exam date ({exam_day})", field=f"{field}.value")
        source = _enum(AnswerSource, entry.get("source"), f"{field}.source")
        answers[link_id] = Answer(link_id=link_id, value=value, source=source)
    return answers


def parse_case(obj: object, rules: RuleSet) -> ScreeningCase:
    """A ScreeningCase from its decoded JSON form; ValidationError names the field at fault."""
    body = _object(obj, "case")
    _no_unknown(body, CASE_KEYS, "")
    exam = parse_exam(body.get("exam"), rules)
    case_id = _text(body.get("id"), "id")
    return ScreeningCase(
        exam=exam,
        patient=parse_patient(body.get("patient")),
        answers=parse_answers(body.get("answers"), rules, exam.exam_datetime.date()),
        case_id=case_id,
    )


def decision_to_json(decision: ScreeningDecision, case_id: str | None = None) -> dict[str, Any]:
    """The JSON answer: decision, actions, alternatives and every fired rule with its source."""
    return {
        "case_id": case_id,
        "decision": decision.outcome.value,
        "actions": list(decision.actions),
        "alternatives": list(decision.alternatives),
        "needs_radiologist_review": decision.needs_radiologist,
        "local_policy": decision.rests_on_local_policy,
        "questionnaires": list(decision.questionnaires),
        "fired_rules": [
            {
                "id": rule.rule_id,
                "questionnaire": rule.questionnaire,
                "outcome": rule.outcome.value,
                "why": rule.why,
                "actions": list(rule.actions),
                "alternative": rule.alternative,
                "source": rule.citation,
                "source_id": rule.source_id,
                "local_policy": rule.local_policy,
            }
            for rule in decision.fired
        ],
        "rules": {"version": decision.rules_version, "digest": decision.rules_digest},
    }


def evaluate_case_json(obj: object, rules: RuleSet) -> dict[str, Any]:
    """Parse a JSON case, evaluate it against `rules`, and return the JSON decision."""
    case = parse_case(obj, rules)
    return decision_to_json(evaluate(case, rules), case.case_id)
