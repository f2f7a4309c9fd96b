"""Protocoling: the radiologists' queue and the protocol form.

Protocol and contrast variant fix the CPT code to authorize and the slot length (DESIGN §1,
awaiting_protocol); choosing another protocol changes the study and sends the order back through
the completeness check.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from radflow.bootstrap import Radflow
from radflow.domain.errors import ValidationError
from radflow.domain.lifecycle import OrderState
from radflow.domain.order import Order
from radflow.domain.policy import Action
from radflow.domain.protocols import Protocol
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import requires
from radflow.entrypoints.api.errors import status_for
from radflow.entrypoints.web.choices import protocol_groups, variant_label
from radflow.entrypoints.web.error_pages import ScreenRoute
from radflow.entrypoints.web.forms import FORM_ERRORS, FormError, FormFields, PostedForm
from radflow.entrypoints.web.queries import ScreenApp
from radflow.entrypoints.web.rendering import render, see_other
from radflow.services.order_changes import AssignProtocol
from radflow.services.views import GetOrder, ListOrders, OrderDetail, OrderFilter, OrderList

router = APIRouter(route_class=ScreenRoute)


@router.get("/protocoling")
def protocoling_queue(request: Request, radflow: ScreenApp,
                      actor: Annotated[Principal, requires(Action.QUEUE_PROTOCOL)], modality: str = "",
                      done: str = "") -> Response:
    """Exams waiting for a radiologist's protocol, oldest target first."""
    result: OrderList = radflow.bus.handle(ListOrders(actor=actor, action=Action.QUEUE_PROTOCOL, query=OrderFilter(
        states=(OrderState.AWAITING_PROTOCOL.value,), modality=modality.upper(), limit=500)))
    return render(request, actor, "protocoling/queue.html", rows=result.rows, total=result.total, done=done)


def _variants(protocol: Protocol) -> list[tuple[str, str]]:
    return [(v.phase.value, variant_label(v)) for v in protocol.variants]


def _chosen_protocol(radflow: Radflow, code: str, fallback: str) -> Protocol:
    """The protocol picked in the form, or the order's own when the pick is not in the catalog."""
    return radflow.catalog.protocols.get(code) or radflow.catalog.protocol(fallback)


def _form(request: Request, radflow: Radflow, actor: Principal, order_id: str, *, values: dict[str, str],
          error: FormError | None = None, status_code: int = 200) -> Response:
    detail: OrderDetail = radflow.bus.handle(GetOrder(actor=actor, order_id=order_id))
    order = detail.order
    protocol = _chosen_protocol(radflow, values.get("protocol_code", ""), order.protocol_code)
    context: dict[str, Any] = {
        "order": order, "patient": detail.patient, "current": radflow.catalog.protocol(order.protocol_code),
        "protocol": protocol, "variants": _variants(protocol), "groups": protocol_groups(radflow.catalog),
        "values": values, "error": error,
    }
    return render(request, actor, "protocoling/form.html", status_code=status_code, **context)


@router.get("/orders/{order_id}/protocol")
def protocol_form(order_id: str, request: Request, radflow: ScreenApp,
                  actor: Annotated[Principal, requires(Action.ORDER_PROTOCOL)]) -> Response:
    """The protocol form: contrast variant (with its CPT and minutes), special instructions, another protocol."""
    detail: OrderDetail = radflow.bus.handle(GetOrder(actor=actor, order_id=order_id))
    order = detail.order
    values = {"protocol_code": order.protocol_code, "contrast": order.contrast.value if order.contrast else "",
              "special_instructions": order.special_instructions}
    protocol = radflow.catalog.protocol(order.protocol_code)
    if not values["contrast"] and len(protocol.variants) == 1:
        values["contrast"] = protocol.variants[0].phase.value
    return _form(request, radflow, actor, order_id, values=values)


@router.get("/orders/{order_id}/protocol/variants")
def protocol_variants(order_id: str, request: Request, radflow: ScreenApp,
                      actor: Annotated[Principal, requires(Action.ORDER_PROTOCOL)],
                      protocol_code: str = "") -> Response:
    """The contrast variants of the protocol picked in the form (htmx swaps them in)."""
    order: Order = radflow.bus.handle(GetOrder(actor=actor, order_id=order_id)).order
    protocol = _chosen_protocol(radflow, protocol_code, order.protocol_code)
    chosen = protocol.variants[0].phase.value if len(protocol.variants) == 1 else ""
    return render(request, actor, "protocoling/variants.html", protocol=protocol, variants=_variants(protocol),
                  values={"contrast": chosen}, error=None)


@router.post("/orders/{order_id}/protocol")
def assign_protocol(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                    actor: Annotated[Principal, requires(Action.ORDER_PROTOCOL)]) -> Response:
    """Record the protocol; the order goes on to the authorization check (or back to the checklist)."""
    fields = FormFields(form)
    current: Order = radflow.bus.handle(GetOrder(actor=actor, order_id=order_id)).order
    try:
        if not fields.text("contrast"):
            raise ValidationError("choose the contrast variant the exam is done with", field="contrast")
        code = fields.text("protocol_code")
        radflow.bus.handle(AssignProtocol(
            actor=actor, order_id=order_id, contrast=fields.text("contrast"),
            special_instructions=fields.text("special_instructions"),
            protocol_code=code if code and code != current.protocol_code else None))
    except FORM_ERRORS as refused:
        return _form(request, radflow, actor, order_id, values=fields.values(), error=FormError.of(refused),
                     status_code=status_for(refused))
    return see_other(f"/protocoling?done={current.accession_number}")
