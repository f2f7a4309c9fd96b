"""FHIR Coverage: read, vread of the current version, search by patient, create (→ AddCoverage)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from radflow.adapters.fhir.coverage import add_coverage_command, coverage_resource
from radflow.adapters.fhir.criteria import coverage_criteria
from radflow.adapters.fhir.parsing import Refusal, read_resource
from radflow.adapters.fhir.queries import FindCoverages, Found, GetCoverage
from radflow.bootstrap import Radflow
from radflow.domain.errors import NotFound
from radflow.domain.policy import Action
from radflow.domain.referral import Coverage
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
from radflow.services.patients import AddCoverage

router = APIRouter(tags=["FHIR Coverage"])


def _coverage(radflow: Radflow, actor: Principal, coverage_id: str) -> dict[str, Any]:
    coverage: Coverage = fhir_bus(radflow).handle(GetCoverage(actor=actor, coverage_id=coverage_id))
    return coverage_resource(coverage, radflow.catalog)


@router.get("/Coverage/{coverage_id}")
def read_coverage(coverage_id: str, radflow: App,
                  actor: Annotated[Principal, requires(Action.COVERAGE_READ)]) -> Response:
    """A patient's coverage with its payer."""
    return read_response(_coverage(radflow, actor, coverage_id))


@router.get("/Coverage/{coverage_id}/_history/{version_id}")
def read_coverage_version(coverage_id: str, version_id: str, radflow: App,
                          actor: Annotated[Principal, requires(Action.COVERAGE_READ)]) -> Response:
    """The coverage as of `version_id`, while that is the current version."""
    resource = _coverage(radflow, actor, coverage_id)
    if resource["meta"]["versionId"] != version_id:
        raise NotFound(f"Coverage/{coverage_id} version {version_id} is not kept; the current version is "
                       f"{resource['meta']['versionId']}")
    return read_response(resource)


@router.get("/Coverage")
def search_coverages(request: Request, radflow: App,
                     actor: Annotated[Principal, requires(Action.COVERAGE_READ)]) -> Response:
    """Search by patient/beneficiary, among the patients the caller may see."""
    search = start_search(request, radflow, "Coverage")
    criteria = coverage_criteria(search)
    if search.refusal:
        return refused(search.refusal)
    found: Found[Coverage] = fhir_bus(radflow).handle(FindCoverages(actor=actor, criteria=criteria, page=search.page))
    resources = [coverage_resource(c, radflow.catalog) for c in found.items]
    return bundle_response(request, search, resources, found.total)


def _add(radflow: Radflow, command: AddCoverage) -> dict[str, Any]:
    coverage_id: str = radflow.bus.handle(command)
    return _coverage(radflow, command.actor, coverage_id)


@router.post("/Coverage", status_code=201)
async def create_coverage(request: Request, radflow: App,
                          actor: Annotated[Principal, requires(Action.COVERAGE_WRITE)]) -> Response:
    """Record a patient's coverage with a payer of the catalog (the same active coverage is not added twice)."""
    parsed = body_refusal(request) or read_resource(await request.body(), "Coverage")
    if isinstance(parsed, Refusal):
        return refused(parsed)
    command = add_coverage_command(parsed, actor, radflow.catalog)
    return created_response(request, await run_in_threadpool(_add, radflow, command))
