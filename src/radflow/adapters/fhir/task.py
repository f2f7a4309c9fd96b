"""An order's pipeline state as a FHIR R4 Task whose focus is the ServiceRequest.

Task.status follows vocabulary.TASK_STATUS; Task.businessStatus is the exact lifecycle state. The
timeline (every state change and note: who, when, why) is the Task's relevantHistory, one contained
Provenance per line (R4 Task.relevantHistory: "Links to Provenance records for past versions of this
Task that identify key state transitions or updates").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from radflow.adapters.fhir.datatypes import concept, instant, reference
from radflow.adapters.fhir.vocabulary import (
    ACCESSION_SYSTEM,
    FROM_STATE_EXTENSION,
    ORDER_EVENT_SYSTEM,
    ORDER_STATE_EXTENSION,
    ORDER_STATE_SYSTEM,
    STATE_DISPLAY,
    TASK_CODE_SYSTEM,
    TASK_STATUS,
    USER_SYSTEM,
)
from radflow.domain.lifecycle import OrderState
from radflow.domain.order import Order, OrderTransitionRecord


def _provenance(order: Order, line: OrderTransitionRecord, names: Mapping[str, str]) -> dict[str, Any]:
    extension = [{"url": ORDER_STATE_EXTENSION, "valueCode": line.to_state}]
    if line.from_state:
        extension.insert(0, {"url": FROM_STATE_EXTENSION, "valueCode": line.from_state})
    provenance: dict[str, Any] = {
        "resourceType": "Provenance", "id": f"t{line.seq}", "extension": extension,
        "target": [reference("ServiceRequest", order.id)], "recorded": instant(line.at),
        "activity": concept(ORDER_EVENT_SYSTEM, line.event),
        "agent": [{"who": {"identifier": {"system": USER_SYSTEM, "value": line.by},
                           "display": names.get(line.by, line.by)}}],
    }
    if line.reason:
        provenance["reason"] = [{"text": line.reason}]
    return provenance


def _status_reason(order: Order) -> str:
    if order.missing_items and order.state is OrderState.AWAITING_DOCUMENTATION:
        return "Missing: " + "; ".join(order.missing_items)
    changes = [t for t in order.transitions if t.from_state != t.to_state or t.from_state is None]
    return changes[-1].reason if changes else ""


def task_resource(order: Order, names: Mapping[str, str]) -> dict[str, Any]:
    """The Task tracking an order through the pipeline, with its timeline as history."""
    focus = reference("ServiceRequest", order.id)
    last = order.transitions[-1].at if order.transitions else order.received_at
    resource: dict[str, Any] = {
        "resourceType": "Task", "id": order.id,
        "meta": {"versionId": str(order.version), "lastUpdated": instant(last)},
        "contained": [_provenance(order, line, names) for line in order.transitions],
        "identifier": [{"system": ACCESSION_SYSTEM, "value": order.accession_number}],
        "basedOn": [focus],
        "status": TASK_STATUS[order.state],
        "businessStatus": concept(ORDER_STATE_SYSTEM, order.state.value, STATE_DISPLAY[order.state],
                                  text=STATE_DISPLAY[order.state]),
        "intent": "order",
        "priority": order.priority.value,
        "code": concept(TASK_CODE_SYSTEM, "fulfill", "Fulfill the focal request"),
        "focus": focus,
        "for": reference("Patient", order.patient_id),
        "authoredOn": instant(order.received_at),
        "lastModified": instant(last),
        "relevantHistory": [{"reference": f"#t{line.seq}"} for line in order.transitions],
    }
    reason = _status_reason(order)
    if reason:
        resource["statusReason"] = {"text": reason}
    if not order.transitions:
        del resource["contained"], resource["relevantHistory"]
    return resource
