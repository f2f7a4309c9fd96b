"""The JSON Schema (draft 2020-12) of a screening case and of a decision, drawn from the rule set.

docs/screening-case.schema.json is this function's output for the shipped rules (a test keeps
the two equal), so the documented item list can never drift from the questionnaires. The lead's
REST route can serve the same schema for a candidate rule set.
"""

from __future__ import annotations

from typing import Any

from radflow.domain.screening.case import (
    AnswerSource,
    ContrastAgentClass,
    ContrastRoute,
    GbcaGroup,
    Modality,
    Radiopharmaceutical,
    Sex,
)
from radflow.domain.screening.questionnaire import ItemType, QuestionnaireItem
from radflow.domain.screening.rules import Outcome, RuleSet

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _values(kind: Any) -> list[str]:
    return [member.value for member in kind]


def _answer_value_schema(item: QuestionnaireItem) -> dict[str, Any]:
    match item.type:
        case ItemType.BOOLEAN:
            return {"type": "boolean"}
        case ItemType.CHOICE:
            return {"enum": [option.code for option in item.options]}
        case ItemType.DATE:
            return {"type": "string", "format": "date"}
        case ItemType.TEXT:
            return {"type": "string"}
        case ItemType.DECIMAL:
            number = {"type": "number", "minimum": item.minimum, "maximum": item.maximum}
            if item.unit:
                number["description"] = f"in {item.unit}"
            return {"type": "array", "minItems": 1, "items": number} if item.repeats else number
    raise AssertionError(item.type)  # pragma: no cover - exhaustive match


def _answer_schema(item: QuestionnaireItem) -> dict[str, Any]:
    description = item.text + (" (a technologist verifies it on site)" if item.verify_on_site else "")
    return {
        "type": "object",
        "description": description,
        "required": ["value", "source"],
        "additionalProperties": False,
        "properties": {"value": _answer_value_schema(item), "source": {"$ref": "#/$defs/answer_source"}},
    }


def _exam_schema() -> dict[str, Any]:
    contrast = {
        "type": "object",
        "required": ["agent_class"],
        "additionalProperties": False,
        "properties": {
            "agent_class": {"enum": _values(ContrastAgentClass)},
            "route": {"enum": _values(ContrastRoute)},
            "gbca_group": {"enum": _values(GbcaGroup), "description": "ACR group of a gadolinium agent"},
            "agent": {"type": "string", "description": "agent name; a known gadolinium agent implies its group"},
        },
        "allOf": [
            {
                "if": {"properties": {"agent_class": {"enum": ["iodinated", "gadolinium"]}}},
                "then": {"required": ["route"]},
            },
            {
                "if": {"properties": {"agent_class": {"const": "gadolinium"}}},
                "then": {"anyOf": [{"required": ["gbca_group"]}, {"required": ["agent"]}]},
            },
        ],
    }
    return {
        "type": "object",
        "required": ["modality", "exam_datetime"],
        "additionalProperties": False,
        "properties": {
            "modality": {"enum": _values(Modality), "description": "DICOM modality code"},
            "exam_datetime": {"type": "string", "format": "date-time", "description": "with UTC offset"},
            "field_strength_t": {"type": "number", "minimum": 0.01, "maximum": 11.7},
            "table_limit_kg": {"type": "number", "minimum": 1, "maximum": 1000},
            "contrast": contrast,
            "radiopharmaceutical": {"enum": _values(Radiopharmaceutical)},
            "procedure": {"type": "string"},
        },
        "if": {"properties": {"modality": {"const": "MR"}}},
        "then": {"required": ["field_strength_t"]},
    }


def _decision_schema(rules: RuleSet) -> dict[str, Any]:
    fired_rule = {
        "type": "object",
        "required": [
            "id",
            "questionnaire",
            "outcome",
            "why",
            "actions",
            "alternative",
            "source",
            "source_id",
            "local_policy",
        ],
        "additionalProperties": False,
        "properties": {
            "id": {"enum": [rule.id for rule in rules.rules]},
            "questionnaire": {"type": "string"},
            "outcome": {"enum": _values(Outcome)},
            "why": {"type": "string"},
            "actions": {"type": "array", "items": {"type": "string"}},
            "alternative": {"type": ["string", "null"]},
            "source": {"type": "string", "description": "citation: title (edition), section"},
            "source_id": {"enum": sorted(rules.sources)},
            "local_policy": {"type": "boolean"},
        },
    }
    return {
        "type": "object",
        "required": [
            "case_id",
            "decision",
            "actions",
            "alternatives",
            "needs_radiologist_review",
            "local_policy",
            "questionnaires",
            "fired_rules",
            "rules",
        ],
        "additionalProperties": False,
        "properties": {
            "case_id": {"type": ["string", "null"]},
            "decision": {"enum": _values(Outcome)},
            "actions": {"type": "array", "items": {"type": "string"}},
            "alternatives": {"type": "array", "items": {"type": "string"}},
            "needs_radiologist_review": {"type": "boolean"},
            "local_policy": {"type": "boolean", "description": "a fired rule leaves the call to local policy"},
            "questionnaires": {"type": "array", "items": {"enum": [q.id for q in rules.questionnaires]}},
            "fired_rules": {"type": "array", "items": fired_rule},
            "rules": {
                "type": "object",
                "required": ["version", "digest"],
                "additionalProperties": False,
                "properties": {"version": {"type": "string"}, "digest": {"type": "string"}},
            },
        },
    }


def case_schema(rules: RuleSet) -> dict[str, Any]:
    """The JSON Schema of a screening case for `rules`; `$defs.decision` describes the answer."""
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": "urn:radflow:schema:screening-case",
        "title": "radflow screening case",
        "description": (
            "Input of `radflow screening evaluate` and POST /api/screening/evaluate. "
            "`id`, `title`, `cites` and `expect` are metadata for case suites; evaluate ignores `expect`. "
            f"Generated from screening rule set {rules.version}."
        ),
        "type": "object",
        "required": ["exam", "patient"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "cites": {"type": "string", "description": "the guidance the case checks"},
            "expect": {
                "type": "object",
                "required": ["decision", "fired"],
                "additionalProperties": False,
                "properties": {
                    "decision": {"enum": _values(Outcome)},
                    "fired": {"type": "array", "items": {"enum": [rule.id for rule in rules.rules]}},
                },
            },
            "exam": _exam_schema(),
            "patient": {
                "type": "object",
                "required": ["age_years", "sex"],
                "additionalProperties": False,
                "properties": {
                    "age_years": {"type": "integer", "minimum": 0, "maximum": 130},
                    "sex": {"enum": _values(Sex)},
                },
            },
            "answers": {
                "type": "object",
                "description": "questionnaire answers keyed by item link id (FHIR Questionnaire item linkId)",
                "additionalProperties": False,
                "properties": {link_id: _answer_schema(item) for link_id, item in sorted(rules.items.items())},
            },
        },
        "$defs": {
            "answer_source": {"enum": _values(AnswerSource)},
            "decision": _decision_schema(rules),
        },
    }
