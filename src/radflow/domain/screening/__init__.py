"""Safety screening before an exam: questionnaires, answers, rules as data, and the engine.

Pure: no files, no frameworks. The shipped questionnaires and rules are YAML under
`radflow/catalog/screening/`, read by `radflow.catalog.screening_loader`; this package validates
them (`build_ruleset`) and decides (`evaluate`).
"""

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
from radflow.domain.screening.case_json import decision_to_json, evaluate_case_json, parse_case
from radflow.domain.screening.engine import FiredRule, ScreeningDecision, applicable_questionnaires, evaluate
from radflow.domain.screening.questionnaire import AnswerOption, ItemType, Questionnaire, QuestionnaireItem
from radflow.domain.screening.rules import Outcome, Rule, RuleSet, Source, build_ruleset
from radflow.domain.screening.schema import case_schema

__all__ = [
    "Answer",
    "AnswerOption",
    "AnswerSource",
    "Contrast",
    "ContrastAgentClass",
    "ContrastRoute",
    "Exam",
    "FiredRule",
    "GbcaGroup",
    "ItemType",
    "Modality",
    "Outcome",
    "Patient",
    "Questionnaire",
    "QuestionnaireItem",
    "Radiopharmaceutical",
    "Rule",
    "RuleSet",
    "ScreeningCase",
    "ScreeningDecision",
    "Sex",
    "Source",
    "applicable_questionnaires",
    "build_ruleset",
    "case_schema",
    "decision_to_json",
    "evaluate",
    "evaluate_case_json",
    "parse_case",
]
