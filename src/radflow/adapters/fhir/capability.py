"""The CapabilityStatement served at /fhir/metadata (R4 capabilitystatement.html), built from the routes
the app answers and the search parameter table, so that what is advertised is what is answered."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from radflow.adapters.fhir.search import SEARCH_PARAMETERS
from radflow.adapters.fhir.vocabulary import FHIR_JSON, FHIR_VERSION

#: When this statement last changed (CapabilityStatement.date is required in R4).
STATEMENT_DATE: Final = "2026-03-01"

#: R4 TypeRestfulInteraction codes in the order the specification lists them.
INTERACTION_ORDER: Final = ("read", "vread", "update", "patch", "delete", "history-instance", "history-type",
                            "create", "search-type")

DOCUMENTATION: Final[Mapping[str, str]] = {
    "Patient": "Identifiers keep their assigning authority as system; create registers the patient and flags "
               "probable duplicates (a known identifier returns the existing record with 200).",
    "ServiceRequest": "One order line (one exam, one accession number). status follows radflow's documented "
                      "mapping; the exact pipeline state is the order-state extension and the Task.",
    "Task": "The pipeline state of one order: focus is the ServiceRequest, businessStatus the exact state, "
            "relevantHistory the timeline.",
    "Coverage": "payor names a payer of radflow's catalog by identifier.",
    "AuditEvent": "radflow's HMAC-chained audit trail, read-only.",
}


def capability_statement(base: str, software_version: str, center_name: str,
                         served: Mapping[str, Iterable[str]]) -> dict[str, Any]:
    """radflow's CapabilityStatement (kind `instance`, FHIR 4.0.1, JSON) for the interactions `served`
    (resource type -> interaction codes, as the app's routes answer them)."""
    resources = []
    for resource_type in sorted(served, key=lambda name: (name not in DOCUMENTATION, name)):
        interactions = sorted(set(served[resource_type]), key=INTERACTION_ORDER.index)
        entry: dict[str, Any] = {
            "type": resource_type,
            "documentation": DOCUMENTATION.get(resource_type, "Served by another radflow area; see its documentation."),
            "interaction": [{"code": code} for code in interactions],
            "versioning": "versioned",
            "readHistory": False,
            "updateCreate": False,
        }
        if "create" in interactions:
            entry["conditionalCreate"] = False
        if resource_type in SEARCH_PARAMETERS:
            entry["searchParam"] = [{"name": p.name, "type": p.kind, "documentation": p.documentation}
                                    for p in SEARCH_PARAMETERS[resource_type]]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": STATEMENT_DATE,
        "publisher": center_name,
        "kind": "instance",
        "software": {"name": "radflow", "version": software_version},
        "implementation": {"description": f"radflow at {center_name}", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON, "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Searches page with _count (at most 100) and _offset; unknown parameters are "
                             "ignored unless 'Prefer: handling=strict'.",
            "security": {
                "cors": False,
                "description": "Send an API token as 'Authorization: Bearer <token>' (radflow users token NAME). "
                               "Every read and change is audited; users see only what their role allows.",
            },
            "resource": resources,
        }],
    }
