"""docs/screening-case.schema.json is the schema the rules imply, and every suite case and decision fits it."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from screening_support import CASE_FILES, REPO_ROOT

from radflow.catalog.screening_loader import evaluate_case_json
from radflow.domain.screening import RuleSet, case_schema

SCHEMA_PATH = REPO_ROOT / "docs" / "screening-case.schema.json"


@pytest.fixture(scope="module")
def documented() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def test_documented_schema_matches_the_shipped_rules(documented: dict[str, Any], rules: RuleSet) -> None:
    assert documented == case_schema(rules), (
        "docs/screening-case.schema.json is stale: regenerate it from radflow.domain.screening.case_schema"
    )


def test_every_suite_case_and_its_decision_fit_the_documented_schema(documented: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(documented)
    cases = jsonschema.Draft202012Validator(documented, format_checker=jsonschema.FormatChecker())
    decisions = jsonschema.Draft202012Validator({**documented["$defs"]["decision"], "$defs": documented["$defs"]})
    for path in CASE_FILES:
        case = json.loads(path.read_text(encoding="utf-8"))
        cases.validate(case)
        decisions.validate(evaluate_case_json(case))


def test_schema_refuses_an_mr_case_without_field_strength(documented: dict[str, Any]) -> None:
    case = json.loads(CASE_FILES[0].read_text(encoding="utf-8"))
    case["exam"] = {"modality": "MR", "exam_datetime": "2026-03-02T14:00:00Z"}
    assert not jsonschema.Draft202012Validator(documented).is_valid(case)
