"""The FHIR R4 router mounted at /fhir: metadata, Patient, ServiceRequest, Task, Coverage, AuditEvent."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

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


@router.get("/metadata", tags=["FHIR"],
            dependencies=[public("FHIR R4 http.html#capabilities: clients read the CapabilityStatement before "
                                 "they authenticate")])
def metadata(request: Request, radflow: App) -> Response:
    """The CapabilityStatement: resources, interactions and search parameters radflow answers."""
    return fhir_json(capability_statement(base_url(request), radflow_package.__version__,
                                          radflow.settings.center_name))


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
