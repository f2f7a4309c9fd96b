"""The FHIR R4 router mounted at /fhir: metadata, Patient, ServiceRequest, Task, Coverage, AuditEvent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Final

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import iter_route_contexts

import radflow as radflow_package
from radflow.adapters.fhir.audit_event import audit_event_resource
from radflow.adapters.fhir.capability import capability_statement
from radflow.adapters.fhir.criteria import audit_criteria
from radflow.adapters.fhir.queries import FindAuditRecords, Found
from radflow.domain.audit import AuditRecord
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import App, public, requires
from radflow.entrypoints.api.fhir import coverages, orders, patients
from radflow.entrypoints.api.fhir.exchange import base_url, bundle_response, fhir_bus, fhir_json, refused, start_search

router = APIRouter()

#: (HTTP method, path segments after /fhir) -> R4 interaction code.
INTERACTION_OF_ROUTE: Final[Mapping[tuple[str, int], str]] = {
    ("GET", 1): "search-type", ("POST", 1): "create", ("GET", 2): "read", ("PUT", 2): "update",
    ("PATCH", 2): "patch", ("DELETE", 2): "delete", ("GET", 4): "vread",
}


def served_interactions(app: FastAPI) -> dict[str, set[str]]:
    """Resource type -> interactions, read off the app's /fhir routes (every area's, not only these)."""
    served: dict[str, set[str]] = {}
    for route in iter_route_contexts(app.routes):
        path = str(getattr(route, "path", ""))
        if not path.startswith("/fhir/"):
            continue
        parts = path.removeprefix("/fhir/").split("/")
        if not parts[0][:1].isupper() or (len(parts) == 4 and parts[2] != "_history"):
            continue
        for method in getattr(route, "methods", None) or ():
            interaction = INTERACTION_OF_ROUTE.get((method, len(parts)))
            if interaction:
                served.setdefault(parts[0], set()).add(interaction)
    return served


@router.get("/metadata", tags=["FHIR"],
            dependencies=[public("FHIR R4 http.html#capabilities: clients read the CapabilityStatement before "
                                 "they authenticate")])
def metadata(request: Request, radflow: App) -> Response:
    """The CapabilityStatement: resources, interactions and search parameters radflow answers."""
    return fhir_json(capability_statement(base_url(request), radflow_package.__version__,
                                          radflow.settings.center_name, served_interactions(request.app)))


@router.get("/AuditEvent", tags=["FHIR AuditEvent"])
def search_audit_events(request: Request, radflow: App,
                        actor: Annotated[Principal, requires(Action.AUDIT_READ)]) -> Response:
    """The audit trail as AuditEvents, newest first: by patient, date, agent, altid (user name), outcome."""
    search = start_search(request, radflow, "AuditEvent")
    criteria = audit_criteria(search)
    if search.refusal:
        return refused(search.refusal)
    command = FindAuditRecords(actor=actor, criteria=criteria, page=search.page)
    found: Found[AuditRecord] = fhir_bus(radflow).handle(command)
    site = radflow.settings.center_name
    return bundle_response(request, search, [audit_event_resource(r, site) for r in found.items], found.total)


for area in (patients, orders, coverages):
    router.include_router(area.router)
