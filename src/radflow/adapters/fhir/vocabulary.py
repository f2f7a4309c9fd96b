"""The FHIR R4 (4.0.1) vocabulary radflow speaks: code systems, identifier systems, status mappings.

Every URI and every mapping table lives here once, so that the resources radflow writes and the
searches it answers use the same words. radflow's own definitions (extensions, code systems,
identifier systems) live under `RADFLOW_CANONICAL`, a canonical base that names them; it is not
required to resolve.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from radflow.domain.lifecycle import OrderState

FHIR_VERSION: Final = "4.0.1"
FHIR_JSON: Final = "application/fhir+json"

# radflow's own canonical base for the definitions below.
RADFLOW_CANONICAL: Final = "https://radflow.example/fhir"

# Identifier systems.
NPI_SYSTEM: Final = "http://hl7.org/fhir/sid/us-npi"  # FHIR R4 identifier registry: US NPI
MRN_SYSTEM: Final = f"{RADFLOW_CANONICAL}/sid/mrn"  # radflow's own MRNs (assigning authority RADFLOW)
ACCESSION_SYSTEM: Final = f"{RADFLOW_CANONICAL}/sid/accession"  # radflow assigns them as the IHE Order Filler
PAYER_SYSTEM: Final = f"{RADFLOW_CANONICAL}/sid/payer"  # payer ids of the catalog
USER_SYSTEM: Final = f"{RADFLOW_CANONICAL}/sid/user"  # radflow user ids (AuditEvent agents)

# Code systems.
ICD10CM_SYSTEM: Final = "http://hl7.org/fhir/sid/icd-10-cm"
CPT_SYSTEM: Final = "http://www.ama-assn.org/go/cpt"
SNOMED_SYSTEM: Final = "http://snomed.info/sct"
V2_0203_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/v2-0203"  # HL7 v2 table 0203 identifier types
PROTOCOL_SYSTEM: Final = f"{RADFLOW_CANONICAL}/CodeSystem/protocol"  # the catalog's exam protocol codes
CONTRAST_SYSTEM: Final = f"{RADFLOW_CANONICAL}/CodeSystem/contrast"  # without / with / without_and_with / tracer
ORDER_STATE_SYSTEM: Final = f"{RADFLOW_CANONICAL}/CodeSystem/order-state"  # the lifecycle's exact states
ORDER_EVENT_SYSTEM: Final = f"{RADFLOW_CANONICAL}/CodeSystem/order-event"  # the lifecycle's events
ROLE_SYSTEM: Final = f"{RADFLOW_CANONICAL}/CodeSystem/role"  # radflow user roles
TASK_CODE_SYSTEM: Final = "http://hl7.org/fhir/CodeSystem/task-code"
SUBSCRIBER_RELATIONSHIP_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
COVERAGE_CLASS_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/coverage-class"
AUDIT_EVENT_TYPE_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/audit-event-type"
DICOM_DCM_SYSTEM: Final = "http://dicom.nema.org/resources/ontology/DCM"
RESTFUL_INTERACTION_SYSTEM: Final = "http://hl7.org/fhir/restful-interaction"
SECURITY_SOURCE_TYPE_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/security-source-type"
AUDIT_ENTITY_TYPE_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/object-role"
SERVICE_CATEGORY_IMAGING: Final = ("363679005", "Imaging")  # SNOMED CT, the R4 ServiceRequest category example

# Extensions.
ORDER_STATE_EXTENSION: Final = f"{RADFLOW_CANONICAL}/StructureDefinition/order-state"
FROM_STATE_EXTENSION: Final = f"{RADFLOW_CANONICAL}/StructureDefinition/from-state"
MISSING_ITEM_EXTENSION: Final = f"{RADFLOW_CANONICAL}/StructureDefinition/missing-item"

#: ServiceRequest.status (R4 value set request-status) for every lifecycle state. The request stays
#: `active` while radflow works on it, whatever step it is at (the Task says which); a safety hold
#: is `on-hold`; a signed report fulfils it (`completed`); a cancellation withdraws it (`revoked`).
SERVICE_REQUEST_STATUS: Final[Mapping[OrderState, str]] = {
    OrderState.RECEIVED: "active",
    OrderState.AWAITING_DOCUMENTATION: "active",
    OrderState.AWAITING_PROTOCOL: "active",
    OrderState.PENDING_AUTHORIZATION: "active",
    OrderState.AUTHORIZATION_DENIED: "active",
    OrderState.READY_TO_SCHEDULE: "active",
    OrderState.SCHEDULED: "active",
    OrderState.CHECKED_IN: "active",
    OrderState.ON_HOLD: "on-hold",
    OrderState.IN_PROGRESS: "active",
    OrderState.AWAITING_QC: "active",
    OrderState.INCOMPLETE: "active",
    OrderState.NO_SHOW: "active",
    OrderState.IMAGING_COMPLETED: "active",
    OrderState.REPORTED: "completed",
    OrderState.DELIVERED: "completed",
    OrderState.CANCELLED: "revoked",
}

#: Task.status (R4 value set task-status) for every lifecycle state: what the filler is doing with
#: the request. Task.businessStatus carries the exact state.
TASK_STATUS: Final[Mapping[OrderState, str]] = {
    OrderState.RECEIVED: "received",
    OrderState.AWAITING_DOCUMENTATION: "on-hold",  # paused until the referrer sends what is missing
    OrderState.AWAITING_PROTOCOL: "accepted",
    OrderState.PENDING_AUTHORIZATION: "accepted",
    OrderState.AUTHORIZATION_DENIED: "on-hold",  # paused until an appeal or a substitute study
    OrderState.READY_TO_SCHEDULE: "ready",
    OrderState.SCHEDULED: "ready",
    OrderState.CHECKED_IN: "in-progress",
    OrderState.ON_HOLD: "on-hold",
    OrderState.IN_PROGRESS: "in-progress",
    OrderState.AWAITING_QC: "in-progress",
    OrderState.INCOMPLETE: "on-hold",  # back to scheduling after the re-checks
    OrderState.NO_SHOW: "on-hold",
    OrderState.IMAGING_COMPLETED: "in-progress",  # on the reading worklist
    OrderState.REPORTED: "completed",
    OrderState.DELIVERED: "completed",
    OrderState.CANCELLED: "cancelled",
}

STATE_DISPLAY: Final[Mapping[OrderState, str]] = {
    state: state.value.replace("_", " ").capitalize().replace(" qc", " QC") for state in OrderState
}


def states_with_status(mapping: Mapping[OrderState, str], status: str) -> tuple[OrderState, ...]:
    """The lifecycle states that a FHIR status code stands for (a search by status)."""
    return tuple(state for state, code in mapping.items() if code == status)


#: Track ↔ R4 request-priority. `asap` has no radflow track: refusing it beats guessing.
PRIORITIES: Final = ("routine", "urgent", "stat")

#: Administrative gender (R4 value set administrative-gender) ↔ radflow's Sex codes.
GENDER_TO_SEX: Final[Mapping[str, str]] = {"female": "F", "male": "M", "other": "O", "unknown": "U"}
SEX_TO_GENDER: Final[Mapping[str, str]] = {sex: gender for gender, sex in GENDER_TO_SEX.items()}

#: Laterality as SNOMED CT qualifier values (the codes R4 examples use for left/right/both sides).
LATERALITY_TO_SNOMED: Final[Mapping[str, tuple[str, str]]] = {
    "L": ("7771000", "Left"),
    "R": ("24028007", "Right"),
    "B": ("51440002", "Right and left"),
}
SNOMED_TO_LATERALITY: Final[Mapping[str, str]] = {code: side for side, (code, _) in LATERALITY_TO_SNOMED.items()}

#: Subscriber relationship codes (R4 value set subscriber-relationship) radflow records.
RELATIONSHIPS: Final = ("self", "spouse", "child", "parent", "common", "injured", "other")
