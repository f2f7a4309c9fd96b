"""FHIR Patient: read, vread of the current version, search, create (→ RegisterPatient)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from radflow.adapters.fhir.criteria import patient_criteria
from radflow.adapters.fhir.parsing import Refusal, read_resource
from radflow.adapters.fhir.patient import patient_resource, register_patient_command
from radflow.adapters.fhir.queries import FindPatients, Found
from radflow.bootstrap import Radflow
from radflow.domain.errors import NotFound
from radflow.domain.patient import Patient
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import App, requires
from radflow.entrypoints.api.fhir.exchange import (
    body_refusal,
    bundle_response,
    created_response,
    fhir_bus,
    read_response,
    refused,
    start_search,
)
from radflow.services.patients import RegisteredPatient, RegisterPatient
from radflow.services.views import GetPatient, PatientDetail

router = APIRouter(tags=["FHIR Patient"])


def _patient(radflow: Radflow, actor: Principal, patient_id: str) -> dict[str, Any]:
    detail: PatientDetail = radflow.bus.handle(GetPatient(actor=actor, patient_id=patient_id))
    return patient_resource(detail.patient)


@router.get("/Patient/{patient_id}")
def read_patient(patient_id: str, radflow: App,
                 actor: Annotated[Principal, requires(Action.PATIENT_READ)]) -> Response:
    """A patient with identifiers (system = assigning authority), demographics and contacts."""
    return read_response(_patient(radflow, actor, patient_id))


@router.get("/Patient/{patient_id}/_history/{version_id}")
def read_patient_version(patient_id: str, version_id: str, radflow: App,
                         actor: Annotated[Principal, requires(Action.PATIENT_READ)]) -> Response:
    """The patient as of `version_id`, while that is the current version (radflow keeps no older ones)."""
    resource = _patient(radflow, actor, patient_id)
    if resource["meta"]["versionId"] != version_id:
        raise NotFound(f"Patient/{patient_id} version {version_id} is not kept; the current version is "
                       f"{resource['meta']['versionId']}")
    return read_response(resource)


@router.get("/Patient")
def search_patients(request: Request, radflow: App,
                    actor: Annotated[Principal, requires(Action.PATIENT_READ)]) -> Response:
    """Search by identifier, name, family, given, birthdate, phone (only patients the caller may see)."""
    search = start_search(request, radflow, "Patient")
    criteria = patient_criteria(search)
    if search.refusal:
        return refused(search.refusal)
    found: Found[Patient] = fhir_bus(radflow).handle(FindPatients(actor=actor, criteria=criteria, page=search.page))
    return bundle_response(request, search, [patient_resource(p) for p in found.items], found.total)


def _register(radflow: Radflow, command: RegisterPatient) -> tuple[bool, dict[str, Any]]:
    registered: RegisteredPatient = radflow.bus.handle(command)
    return registered.existing, _patient(radflow, command.actor, registered.patient_id)


@router.post("/Patient", status_code=201)
async def create_patient(request: Request, radflow: App,
                         actor: Annotated[Principal, requires(Action.PATIENT_WRITE)]) -> Response:
    """Register a patient; one whose identifier radflow already holds is that patient (200, not a copy)."""
    parsed = body_refusal(request) or read_resource(await request.body(), "Patient")
    if isinstance(parsed, Refusal):
        return refused(parsed)
    command = register_patient_command(parsed, actor)
    existing, resource = await run_in_threadpool(_register, radflow, command)
    return created_response(request, resource, status=200 if existing else 201)
