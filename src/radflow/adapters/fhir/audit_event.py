"""radflow's audit records as FHIR R4 AuditEvent (DICOM PS3.15 A.5 and FHIR audit vocabularies).

type: DCM 110110 "Patient Record" for access to patient data, 110114 "User Authentication" for
sign-in and sign-out, 110101 "Audit Log Used" for reading the trail, else audit-event-type `rest`.
subtype: the RESTful interaction (read, create, update, search-type) where one applies, and radflow's
exact action. outcome: 0 success, 4 minor failure (a refused access or failed sign-in: the HTTP 4xx
class, R4 audit-event-outcome), 8 serious failure for anything else that failed.
"""

from __future__ import annotations

from typing import Any, Final

from radflow.adapters.fhir.datatypes import coding, concept, instant, reference
from radflow.adapters.fhir.vocabulary import (
    AUDIT_ENTITY_TYPE_SYSTEM,
    AUDIT_EVENT_TYPE_SYSTEM,
    DICOM_DCM_SYSTEM,
    OBJECT_ROLE_SYSTEM,
    RADFLOW_CANONICAL,
    RESTFUL_INTERACTION_SYSTEM,
    ROLE_SYSTEM,
    SECURITY_SOURCE_TYPE_SYSTEM,
    USER_SYSTEM,
)
from radflow.domain.audit import AuditRecord, Outcome

ACTION_SYSTEM: Final = f"{RADFLOW_CANONICAL}/CodeSystem/audit-action"
OUTCOME_CODE: Final = {Outcome.SUCCESS: "0", Outcome.DENIED: "4", Outcome.FAILED: "4"}
SERIOUS_FAILURE: Final = "8"

#: The object types radflow serves as FHIR resources (others are named by identifier).
FHIR_TYPES: Final = {"order": "ServiceRequest", "patient": "Patient", "coverage": "Coverage"}
PATIENT_DATA: Final = ("patient", "order", "coverage", "document", "queue", "authorization")

#: Last word of radflow's action -> (R4 restful-interaction, R4 audit-event-action C/R/U/D/E).
VERBS: Final[dict[str, tuple[str, str]]] = {
    "create": ("create", "C"), "ingest": ("create", "C"), "inbox": ("create", "C"),
    "read": ("read", "R"),
    "update": ("update", "U"), "merge": ("update", "U"), "protocol": ("update", "U"),
    "substitute": ("update", "U"), "cancel": ("update", "U"), "file": ("update", "U"),
    "list": ("search-type", "E"), "search": ("search-type", "E"),  # R4: a query is action E
}


def _type(action: str) -> dict[str, Any]:
    if action in ("login", "logout"):
        return coding(DICOM_DCM_SYSTEM, "110114", "User Authentication")
    if action.startswith("audit."):
        return coding(DICOM_DCM_SYSTEM, "110101", "Audit Log Used")
    if action.split(".", 1)[0] in PATIENT_DATA:
        return coding(DICOM_DCM_SYSTEM, "110110", "Patient Record")
    return coding(AUDIT_EVENT_TYPE_SYSTEM, "rest", "RESTful Operation")


def _agent(record: AuditRecord) -> dict[str, Any]:
    who: dict[str, Any] = {"display": record.username or record.user_id or "unknown"}
    if record.user_id:
        who["identifier"] = {"system": USER_SYSTEM, "value": record.user_id}
    agent: dict[str, Any] = {"role": [concept(ROLE_SYSTEM, record.role)], "who": who, "requestor": True}
    if record.username:
        agent["altId"] = record.username
    if record.source.startswith("http:"):
        agent["network"] = {"address": record.source.removeprefix("http:"), "type": "2"}  # 2 = IP address
    return agent


def _entities(record: AuditRecord) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if record.patient_id:
        found.append({"what": reference("Patient", record.patient_id),
                      "type": coding(AUDIT_ENTITY_TYPE_SYSTEM, "1", "Person"),
                      "role": coding(OBJECT_ROLE_SYSTEM, "1", "Patient")})
    if record.object_id or record.object_type:
        fhir_type = FHIR_TYPES.get(record.object_type)
        if fhir_type and record.object_id:
            what: dict[str, Any] = reference(fhir_type, record.object_id)
        else:
            what = {"display": record.object_type or "object"}
            if record.object_id:
                what["identifier"] = {"system": f"{RADFLOW_CANONICAL}/sid/{record.object_type or 'object'}",
                                      "value": record.object_id}
        is_list = record.object_type.endswith("-list")
        found.append({"what": what, "type": coding(AUDIT_ENTITY_TYPE_SYSTEM, "2", "System Object"),
                      "role": coding(OBJECT_ROLE_SYSTEM, *(("7", "List") if is_list else ("4", "Domain Resource")))})
    if record.detail and record.outcome is Outcome.SUCCESS:
        if found:
            found[-1]["description"] = record.detail
        else:
            found.append({"what": {"display": record.action}, "description": record.detail})
    return found


def audit_event_resource(record: AuditRecord, site: str) -> dict[str, Any]:
    """The FHIR AuditEvent for one audit record."""
    verb = record.action.rsplit(".", 1)[-1]
    interaction, action_code = VERBS.get(verb, ("", "E"))
    subtype = [coding(RESTFUL_INTERACTION_SYSTEM, interaction)] if interaction else []
    subtype.append(coding(ACTION_SYSTEM, record.action or "unknown"))
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent", "id": str(record.id),
        "meta": {"lastUpdated": instant(record.at)},
        "type": _type(record.action), "subtype": subtype, "action": action_code,
        "recorded": instant(record.at),
        "outcome": OUTCOME_CODE.get(record.outcome, SERIOUS_FAILURE),
        "agent": [_agent(record)],
        "source": {"site": site, "observer": {"display": "radflow"},
                   "type": [coding(SECURITY_SOURCE_TYPE_SYSTEM, "4", "Application Server")]},
    }
    if record.outcome is not Outcome.SUCCESS and record.detail:
        resource["outcomeDesc"] = record.detail
    entity = _entities(record)
    if entity:
        resource["entity"] = entity
    return resource
