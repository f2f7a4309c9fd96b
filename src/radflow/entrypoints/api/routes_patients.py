"""REST routes: patients, coverage, referrals."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import App, requires
from radflow.entrypoints.api.schemas import CoverageIn, MergeIn, PatientIn, PatientPatch, ReferralIn, jsonable
from radflow.entrypoints.api.serialize import patient_detail_json
from radflow.services.orders import OrderLine, ReceiveReferral
from radflow.services.patients import (
    AddCoverage,
    IdentifierInput,
    MergePatients,
    RegisteredPatient,
    RegisterPatient,
    UpdatePatient,
)
from radflow.services.views import GetPatient, SearchPatients

router = APIRouter(tags=["patients and referrals"])


@router.post("/patients", status_code=201)
def register_patient(body: PatientIn, radflow: App,
                     actor: Annotated[Principal, requires(Action.PATIENT_WRITE)]) -> dict[str, Any]:
    """Register a patient; probable duplicates (name, birth date, phone) are flagged in the answer."""
    result: RegisteredPatient = radflow.bus.handle(RegisterPatient(
        actor=actor, **body.model_dump(exclude={"identifiers"}),
        identifiers=tuple(IdentifierInput(**i.model_dump()) for i in body.identifiers)))
    return jsonable(result)  # type: ignore[no-any-return]


@router.get("/patients")
def search_patients(radflow: App, actor: Annotated[Principal, requires(Action.PATIENT_SEARCH)],
                    q: str = "", birth_date: date | None = None,
                    limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[dict[str, Any]]:
    """Find patients by name, MRN, identifier or phone."""
    return jsonable(radflow.bus.handle(SearchPatients(actor=actor, text=q, birth_date=birth_date,  # type: ignore[no-any-return]
                                                      limit=limit)))


@router.get("/patients/{patient_id}")
def read_patient(patient_id: str, radflow: App,
                 actor: Annotated[Principal, requires(Action.PATIENT_READ)]) -> dict[str, Any]:
    """A patient with coverage, orders and probable duplicates."""
    return patient_detail_json(radflow.bus.handle(GetPatient(actor=actor, patient_id=patient_id)))


@router.patch("/patients/{patient_id}")
def update_patient(patient_id: str, body: PatientPatch, radflow: App,
                   actor: Annotated[Principal, requires(Action.PATIENT_WRITE)]) -> dict[str, Any]:
    """Change contact details or demographics."""
    radflow.bus.handle(UpdatePatient(actor=actor, patient_id=patient_id, **body.model_dump()))
    return patient_detail_json(radflow.bus.handle(GetPatient(actor=actor, patient_id=patient_id)))


@router.post("/patients/{patient_id}/merge")
def merge_patient(patient_id: str, body: MergeIn, radflow: App,
                  actor: Annotated[Principal, requires(Action.PATIENT_MERGE)]) -> dict[str, Any]:
    """Fold `merged_id` into this patient (same person)."""
    survivor: str = radflow.bus.handle(MergePatients(actor=actor, survivor_id=patient_id, merged_id=body.merged_id))
    return {"patient_id": survivor, "merged_id": body.merged_id}


@router.post("/patients/{patient_id}/coverages", status_code=201)
def add_coverage(patient_id: str, body: CoverageIn, radflow: App,
                 actor: Annotated[Principal, requires(Action.COVERAGE_WRITE)]) -> dict[str, Any]:
    """Record insurance coverage."""
    coverage_id: str = radflow.bus.handle(AddCoverage(actor=actor, patient_id=patient_id, **body.model_dump()))
    return {"coverage_id": coverage_id}


@router.post("/referrals", status_code=201)
async def receive_referral(body: ReferralIn, radflow: App,
                           actor: Annotated[Principal, requires(Action.ORDER_CREATE)]) -> dict[str, Any]:
    """Receive a referral with its orders; each is checked for completeness and routed at once."""
    lines = tuple(
        OrderLine(**line.model_dump(exclude={"copy_to", "diagnosis_codes"}),
                  diagnosis_codes=tuple(line.diagnosis_codes),
                  copy_to=tuple((c.npi, c.name) for c in line.copy_to))
        for line in body.orders
    )
    command = ReceiveReferral(actor=actor, lines=lines, **body.model_dump(exclude={"orders"}))
    return jsonable(await run_in_threadpool(radflow.bus.handle, command))  # type: ignore[no-any-return]
