"""The facts a screening rule can read, and how a case turns into them.

Exam and patient facts come from the case; `answer.*` from the answers; `derived.*` are the
few computations a YAML rule cannot express (the age of a lab value in days); `unverified.*`
and `unanswered.*` list the link ids still waiting for a technologist or for any answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from radflow.domain.screening.case import (
    ContrastAgentClass,
    ContrastRoute,
    GbcaGroup,
    Modality,
    Radiopharmaceutical,
    ScreeningCase,
    Sex,
)
from radflow.domain.screening.conditions import FactKind, FactSpec, FactValue, holds
from radflow.domain.screening.questionnaire import Questionnaire, QuestionnaireItem


def _choice(name: str, codes: Iterable[str]) -> FactSpec:
    return FactSpec(name, FactKind.CHOICE, frozenset(codes))


# Facts of the exam and patient, readable by `applies_when` and by rules.
EXAM_FACTS: tuple[FactSpec, ...] = (
    _choice("exam.modality", (m.value for m in Modality)),
    _choice("exam.contrast_agent_class", (c.value for c in ContrastAgentClass)),
    _choice("exam.contrast_route", (r.value for r in ContrastRoute)),
    _choice("exam.gbca_group", (g.value for g in GbcaGroup)),
    _choice("exam.radiopharmaceutical", (r.value for r in Radiopharmaceutical)),
    FactSpec("exam.field_strength_t", FactKind.NUMBER),
    FactSpec("exam.table_limit_kg", FactKind.NUMBER),
    FactSpec("patient.age_years", FactKind.NUMBER),
    _choice("patient.sex", (s.value for s in Sex)),
)

# Computed facts: (name, the date item it measures from the exam date).
DERIVED_DAY_COUNTS: Mapping[str, str] = {
    "derived.egfr_age_days": "renal.egfr_date",
    "derived.lmp_days_before_exam": "pregnancy.lmp_date",
}


def fact_specs(items: Mapping[str, QuestionnaireItem], questionnaires: Iterable[Questionnaire]) -> dict[str, FactSpec]:
    """Every fact name a rule may read, given the item bank and the questionnaires."""
    specs = {spec.name: spec for spec in EXAM_FACTS}
    for item in items.values():
        name = f"answer.{item.link_id}"
        specs[name] = FactSpec(name, item.fact_kind, item.option_codes)
    for name, link_id in DERIVED_DAY_COUNTS.items():
        if link_id in items:
            specs[name] = FactSpec(name, FactKind.NUMBER)
    for questionnaire in questionnaires:
        for prefix in ("unverified", "unanswered"):
            name = f"{prefix}.{questionnaire.id}"
            specs[name] = FactSpec(name, FactKind.TEXT_LIST)
    specs["unanswered.all"] = FactSpec("unanswered.all", FactKind.TEXT_LIST)
    return specs


def exam_facts(case: ScreeningCase) -> dict[str, FactValue]:
    """The exam and patient facts of `case` (no answers)."""
    exam, contrast = case.exam, case.exam.contrast
    return {
        "exam.modality": exam.modality.value,
        "exam.contrast_agent_class": contrast.agent_class.value,
        "exam.contrast_route": contrast.route.value if contrast.route else None,
        "exam.gbca_group": contrast.gbca_group.value if contrast.gbca_group else None,
        "exam.radiopharmaceutical": exam.radiopharmaceutical.value,
        "exam.field_strength_t": exam.field_strength_t,
        "exam.table_limit_kg": exam.table_limit_kg,
        "patient.age_years": case.patient.age_years,
        "patient.sex": case.patient.sex.value,
    }


def case_facts(case: ScreeningCase, applicable: Iterable[Questionnaire]) -> dict[str, FactValue]:
    """All facts of `case`, with the unverified/unanswered lists of the `applicable` questionnaires."""
    facts = exam_facts(case)
    for link_id, answer in case.answers.items():
        facts[f"answer.{link_id}"] = answer.value
    exam_day = case.exam.exam_datetime.date()
    for name, link_id in DERIVED_DAY_COUNTS.items():
        answered = case.answers.get(link_id)
        if answered is not None and isinstance(answered.value, date):
            facts[name] = (exam_day - answered.value).days
    all_unanswered: list[str] = []
    for questionnaire in applicable:
        enabled = [item for item in questionnaire.items if is_enabled(item, facts)]
        unverified = tuple(
            item.link_id
            for item in enabled
            if item.verify_on_site
            and (item.link_id not in case.answers or not case.answers[item.link_id].is_technologist_verified)
        )
        unanswered = tuple(item.link_id for item in enabled if item.required and item.link_id not in case.answers)
        facts[f"unverified.{questionnaire.id}"] = unverified
        facts[f"unanswered.{questionnaire.id}"] = unanswered
        all_unanswered.extend(link_id for link_id in unanswered if link_id not in all_unanswered)
    facts["unanswered.all"] = tuple(all_unanswered)
    return facts


def is_enabled(item: QuestionnaireItem, facts: Mapping[str, FactValue]) -> bool:
    """Whether `item` is asked given the facts so far (FHIR enableWhen)."""
    return item.enable_when is None or holds(item.enable_when, facts)
