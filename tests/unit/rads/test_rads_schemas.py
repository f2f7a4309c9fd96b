"""The documented JSON schemas describe what the entries accept and answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from radflow.adapters.nlp import extract_json
from radflow.catalog.rads import assess_json

DOCS = Path(__file__).resolve().parents[3] / "docs"
FINDING = json.loads((DOCS / "rads-finding.schema.json").read_text(encoding="utf-8"))
EXTRACT = json.loads((DOCS / "followup-extract.schema.json").read_text(encoding="utf-8"))
EXAMPLES = [example for definition in FINDING["$defs"].values() for example in definition.get("examples", [])]


def _subschema(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return {"$defs": schema["$defs"], "$ref": f"#/$defs/{name}"}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e["system"])
def test_every_documented_finding_example_is_valid_and_assessed_as_documented(example: dict[str, Any]) -> None:
    jsonschema.validate(example, FINDING)
    jsonschema.validate(assess_json(example), _subschema(FINDING, "assessment"))


def test_schema_refuses_what_the_calculator_refuses() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"system": "fleischner", "nodule_type": "solid", "multiplicity": "single",
                             "diameter_mm": 7, "risk": "high", "size": 3}, FINDING)


def test_extraction_answer_matches_its_schema() -> None:
    [request] = EXTRACT["$defs"]["request"]["examples"]
    jsonschema.validate(request, _subschema(EXTRACT, "request"))
    text = ("Possible small pulmonary embolus. History of pneumothorax. Recommend CT or MRI in 3-6 months; "
            "if symptoms persist, consider ultrasound-guided biopsy.")
    jsonschema.validate(extract_json({"text": text, "reference_date": "2026-03-02"}), _subschema(EXTRACT, "response"))
