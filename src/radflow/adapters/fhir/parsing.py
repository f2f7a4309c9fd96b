"""Reading a FHIR JSON body: syntax, resource type and R4 structure, each failure naming the element.

Structure is checked with the `fhir.resources.R4B` models (the same elements as R4 for the resources
radflow accepts: Patient, ServiceRequest, Coverage). A body that fails is answered 400 Bad Request
with an OperationOutcome whose issues carry the FHIRPath of each offending element (FHIR R4
http.html#2.21.0.3: 400 for a resource that could not be parsed or failed basic FHIR validation).
Business rules (an unknown exam code, a malformed ICD-10 code) are checked later and answered 422.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.servicerequest import ServiceRequest
from pydantic import ValidationError as PydanticValidationError

MODELS: Final[Mapping[str, Any]] = {"Patient": Patient, "ServiceRequest": ServiceRequest, "Coverage": Coverage}
MAX_ISSUES: Final = 10


@dataclass(frozen=True)
class Issue:
    """One problem with a request, as an OperationOutcome issue (R4 value set issue-type for `code`)."""

    code: str
    diagnostics: str
    expression: str = ""
    severity: str = "error"


@dataclass(frozen=True)
class Refusal:
    """A request refused before any service ran: the HTTP status and what was wrong."""

    status: int
    issues: tuple[Issue, ...]


def operation_outcome(issues: Sequence[Issue]) -> dict[str, Any]:
    """An OperationOutcome resource listing `issues`."""
    return {"resourceType": "OperationOutcome", "issue": [
        {"severity": i.severity, "code": i.code, "diagnostics": i.diagnostics,
         **({"expression": [i.expression]} if i.expression else {})} for i in issues]}


def fhir_path(resource_type: str, location: Sequence[str | int]) -> str:
    """FHIRPath of a pydantic error location: ('reasonCode', 0, 'coding') -> 'X.reasonCode[0].coding'."""
    path = resource_type
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "resource_type":
            path += ".resourceType"
        else:
            path += f".{part.removesuffix('__ext')}"
    return path


def _issue(resource_type: str, error: Mapping[str, Any]) -> Issue:
    kind = str(error.get("type", ""))
    expression = fhir_path(resource_type, tuple(error.get("loc", ())))
    if kind == "extra_forbidden":
        element = expression.rsplit(".", 1)[-1]
        return Issue("structure", f"{expression}: '{element}' is not an element of FHIR R4 {resource_type} "
                                  "at this place (check its spelling and nesting)", expression)
    if kind.endswith("missing"):
        return Issue("required", f"{expression} is required", expression)
    shown = repr(error.get("input"))
    if len(shown) > 60:
        shown = shown[:57] + "..."
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return Issue("value", f"{expression}: {message} (got {shown})", expression)


def read_resource(raw: bytes, resource_type: str) -> dict[str, Any] | Refusal:
    """The body as a FHIR resource of `resource_type` (a plain dict), or why it is refused."""
    try:
        body = json.loads(raw)
    except UnicodeDecodeError:
        return Refusal(400, (Issue("structure", "the body is not UTF-8 text (FHIR JSON is UTF-8)"),))
    except json.JSONDecodeError as error:
        return Refusal(400, (Issue("structure", f"the body is not valid JSON: {error.msg} at line {error.lineno}, "
                                                f"column {error.colno}"),))
    if not isinstance(body, dict):
        return Refusal(400, (Issue("structure", f"the body must be a JSON object holding a {resource_type}"),))
    sent = body.get("resourceType")
    if sent != resource_type:
        said = f"'{sent}'" if isinstance(sent, str) else "no resourceType"
        return Refusal(400, (Issue("invalid", f"this endpoint takes a {resource_type}, but the body has {said}",
                                   "resourceType"),))
    try:
        MODELS[resource_type].model_validate(body)
    except PydanticValidationError as error:
        issues = tuple(_issue(resource_type, e) for e in error.errors()[:MAX_ISSUES])
        return Refusal(400, issues)
    return body
