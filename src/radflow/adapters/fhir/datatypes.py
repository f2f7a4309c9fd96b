"""FHIR R4 data types as plain JSON-ready dicts, and reading them back out of a request body.

Resources are built as dicts (not through the pydantic models) because that is several times
cheaper on every read; the tests validate what is built with the R4B models.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from radflow.domain.errors import ValidationError


def instant(moment: datetime) -> str:
    """An R4 `instant` in UTC ('2026-03-02T13:00:00.000123Z')."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def reference(resource_type: str, resource_id: str, display: str = "") -> dict[str, Any]:
    """A literal reference ('Patient/123')."""
    ref: dict[str, Any] = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        ref["display"] = display
    return ref


def coding(system: str, code: str, display: str = "") -> dict[str, Any]:
    """A Coding."""
    item = {"system": system, "code": code}
    if display:
        item["display"] = display
    return item


def concept(system: str, code: str, display: str = "", text: str = "") -> dict[str, Any]:
    """A CodeableConcept with one coding."""
    value: dict[str, Any] = {"coding": [coding(system, code, display)]}
    if text:
        value["text"] = text
    return value


def version_of(content: Mapping[str, Any]) -> str:
    """A version id for a resource without a stored version counter: a digest of its content."""
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return digest[:16]


def entries(resource: Mapping[str, Any], element: str, expression: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The items of a repeating element with their FHIRPath ('ServiceRequest.note[0]')."""
    for index, item in enumerate(resource.get(element) or ()):
        yield f"{expression}.{element}[{index}]", item


def reference_id(value: Any, resource_type: str, expression: str) -> str:
    """The id in a literal reference to `resource_type` ('Patient/123' or '…/fhir/Patient/123')."""
    text = value.get("reference", "") if isinstance(value, dict) else ""
    parts = text.rstrip("/").split("/")
    if len(parts) < 2 or parts[-2] != resource_type or not parts[-1]:
        raise ValidationError(f"{expression} must be a reference to a {resource_type} "
                              f"('{resource_type}/<id>'), got '{text or 'no reference'}'", field=expression)
    return parts[-1]


def codes_in(value: Mapping[str, Any] | None, system: str) -> list[str]:
    """The codes of `system` in a CodeableConcept."""
    if not value:
        return []
    return [c.get("code", "") for c in value.get("coding") or () if c.get("system") == system and c.get("code")]


def type_code(identifier: Mapping[str, Any], system: str) -> str:
    """The code of `system` in an Identifier's type, or ''."""
    codes = codes_in(identifier.get("type"), system)
    return codes[0] if codes else ""
