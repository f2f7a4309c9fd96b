"""The foundation: intake, routing, protocoling, authorization, documents, read models."""

from __future__ import annotations

from radflow.adapters.fhir import queries as fhir_queries
from radflow.adapters.fhir.read_model import SqlFhirReadModel
from radflow.services import authorizations, documents, order_changes, orders, patients, routing, views
from radflow.services.bus import Handler
from radflow.wiring import Area

_HANDLERS: dict[type, Handler] = {
    **patients.HANDLERS,
    **authorizations.HANDLERS,
    **documents.HANDLERS,
    **views.HANDLERS,
    **fhir_queries.HANDLERS,
    orders.ReceiveReferral: orders.receive_referral,
    order_changes.SupplyDocumentation: order_changes.supply_documentation,
    order_changes.AssignProtocol: order_changes.assign_protocol,
    order_changes.CancelOrder: order_changes.cancel_order,
}

AREA = Area(
    name="foundation",
    handlers=_HANDLERS,
    job_handlers={**routing.JOB_HANDLERS, **authorizations.JOB_HANDLERS},
    repositories={"fhir_views": SqlFhirReadModel},
)
