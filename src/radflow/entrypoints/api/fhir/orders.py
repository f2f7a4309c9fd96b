"""FHIR ServiceRequest (create → ReceiveReferral, read, search) and Task (the order's pipeline state)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from radflow.adapters.fhir.criteria import service_request_criteria, task_criteria
from radflow.adapters.fhir.parsing import Refusal, read_resource
from radflow.adapters.fhir.queries import FindOrders, Found, ReadOrder, ReceiveServiceRequest
from radflow.adapters.fhir.service_request import referral_command, service_request_resource
from radflow.adapters.fhir.task import task_resource
from radflow.bootstrap import Radflow
from radflow.domain.errors import NotFound
from radflow.domain.order import Order
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
from radflow.services.views import GetOrder, OrderDetail

router = APIRouter(tags=["FHIR ServiceRequest and Task"])


def _last_change(order: Order) -> Any:
    return order.transitions[-1].at if order.transitions else order.received_at


def _detail(radflow: Radflow, actor: Principal, order_id: str) -> OrderDetail:
    detail: OrderDetail = radflow.bus.handle(GetOrder(actor=actor, order_id=order_id))
    return detail


def _current(resource: dict[str, Any], version_id: str) -> dict[str, Any]:
    current = resource["meta"]["versionId"]
    if current != version_id:
        raise NotFound(f"{resource['resourceType']}/{resource['id']} version {version_id} is not kept; the current "
                       f"version is {current} (the Task's history has every change)")
    return resource


def _order(radflow: Radflow, actor: Principal, order_id: str) -> Order:
    order: Order = fhir_bus(radflow).handle(ReadOrder(actor=actor, order_id=order_id))
    return order


@router.get("/ServiceRequest/{order_id}")
def read_service_request(order_id: str, radflow: App,
                         actor: Annotated[Principal, requires(Action.ORDER_READ)]) -> Response:
    """One order as a ServiceRequest (status by the documented mapping, exact state in an extension)."""
    order = _order(radflow, actor, order_id)
    return read_response(service_request_resource(order, radflow.catalog), _last_change(order))


@router.get("/ServiceRequest/{order_id}/_history/{version_id}")
def read_service_request_version(order_id: str, version_id: str, radflow: App,
                                 actor: Annotated[Principal, requires(Action.ORDER_READ)]) -> Response:
    """The ServiceRequest as of `version_id`, while that is the current version."""
    order = _order(radflow, actor, order_id)
    resource = _current(service_request_resource(order, radflow.catalog), version_id)
    return read_response(resource, _last_change(order))


@router.get("/ServiceRequest")
def search_service_requests(request: Request, radflow: App,
                            actor: Annotated[Principal, requires(Action.ORDER_READ)]) -> Response:
    """Search by identifier, patient/subject, status, authored (ranges) and code, among the caller's orders."""
    search = start_search(request, radflow, "ServiceRequest")
    criteria = service_request_criteria(search, radflow.catalog)
    if search.refusal:
        return refused(search.refusal)
    found: Found[Order] = fhir_bus(radflow).handle(FindOrders(actor=actor, criteria=criteria, page=search.page))
    resources = [service_request_resource(order, radflow.catalog) for order in found.items]
    return bundle_response(request, search, resources, found.total)


@router.post("/ServiceRequest", status_code=201)
async def create_service_request(request: Request, radflow: App,
                                 actor: Annotated[Principal, requires(Action.ORDER_CREATE)]) -> Response:
    """Receive an order: checked for completeness and routed at once; the answer shows where it landed."""
    parsed = body_refusal(request) or read_resource(await request.body(), "ServiceRequest")
    if isinstance(parsed, Refusal):
        return refused(parsed)
    command = referral_command(parsed, actor, radflow.catalog)
    order: Order = await run_in_threadpool(fhir_bus(radflow).handle, ReceiveServiceRequest(referral=command))
    return created_response(request, service_request_resource(order, radflow.catalog), _last_change(order))


@router.get("/Task/{order_id}")
def read_task(order_id: str, radflow: App, actor: Annotated[Principal, requires(Action.ORDER_READ)]) -> Response:
    """An order's pipeline state: status, exact businessStatus, and its timeline as history."""
    detail = _detail(radflow, actor, order_id)
    return read_response(task_resource(detail.order, detail.names), _last_change(detail.order))


@router.get("/Task")
def search_tasks(request: Request, radflow: App, actor: Annotated[Principal, requires(Action.ORDER_READ)]) -> Response:
    """Search by focus (ServiceRequest), patient/subject, status and business-status."""
    search = start_search(request, radflow, "Task")
    criteria = task_criteria(search)
    if search.refusal:
        return refused(search.refusal)
    command = FindOrders(actor=actor, criteria=criteria, page=search.page, with_names=True)
    found: Found[Order] = fhir_bus(radflow).handle(command)
    return bundle_response(request, search, [task_resource(o, found.names) for o in found.items], found.total)
