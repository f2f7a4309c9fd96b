"""Authorization screens: the coordinators' queue and the actions on one request.

The actions are forms on the order detail screen; a refused one brings that screen back with the
payer-facing message beside the form (e.g. an approval whose validity has already ended).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from radflow.domain.errors import RadflowError
from radflow.domain.lifecycle import OrderState
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import requires
from radflow.entrypoints.api.errors import status_for
from radflow.entrypoints.web.error_pages import ScreenRoute
from radflow.entrypoints.web.forms import FORM_ERRORS, FormError, FormFields, PostedForm
from radflow.entrypoints.web.orders.detail import render_order
from radflow.entrypoints.web.queries import ScreenApp, names_for
from radflow.entrypoints.web.rendering import render, see_other
from radflow.services import authorizations as auth
from radflow.services.views import ListOrders, OrderFilter, OrderList

router = APIRouter(route_class=ScreenRoute)

QUEUE_STATES = (OrderState.PENDING_AUTHORIZATION.value, OrderState.AUTHORIZATION_DENIED.value)


@router.get("/authorization")
def authorization_queue(request: Request, radflow: ScreenApp,
                        actor: Annotated[Principal, requires(Action.QUEUE_AUTHORIZATION)],
                        mine: str = "", modality: str = "") -> Response:
    """Orders pending authorization or denied: payer, request state, who handles it, age, target."""
    result: OrderList = radflow.bus.handle(ListOrders(actor=actor, action=Action.QUEUE_AUTHORIZATION, query=OrderFilter(
        states=QUEUE_STATES, modality=modality.upper(), limit=500)))
    rows = [r for r in result.rows if r.authorization_assignee == actor.user_id] if mine else list(result.rows)
    names = names_for(radflow, actor, [r.authorization_assignee for r in rows])
    payers = {r.payer_id: (radflow.catalog.payers[r.payer_id].name if r.payer_id in radflow.catalog.payers
                           else r.payer_id) for r in rows}
    return render(request, actor, "authorization/queue.html", rows=rows, total=result.total, names=names,
                  payers=payers, mine=bool(mine))


def _refused(request: Request, radflow: ScreenApp, actor: Principal, order_id: str, form: str,
             fields: FormFields, refused: RadflowError) -> Response:
    return render_order(request, radflow, actor, order_id, error=FormError.of(refused), form=form,
                        values=fields.values(), status_code=status_for(refused))


def _done(order_id: str) -> Response:
    return see_other(f"/orders/{order_id}#authorization")


@router.post("/orders/{order_id}/authorization/submit")
def submit(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
           actor: Annotated[Principal, requires(Action.AUTHORIZATION_MANAGE)]) -> Response:
    """The request went to the payer: record their reference."""
    fields = FormFields(form)
    try:
        radflow.bus.handle(auth.SubmitAuthorization(actor=actor, order_id=order_id,
                                                    payer_reference=fields.text("payer_reference")))
    except FORM_ERRORS as refused:
        return _refused(request, radflow, actor, order_id, "submit", fields, refused)
    return _done(order_id)


@router.post("/orders/{order_id}/authorization/approve")
def approve(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
            actor: Annotated[Principal, requires(Action.AUTHORIZATION_MANAGE)]) -> Response:
    """The payer approved: number and validity (dates in the center's zone; the end day is included)."""
    fields = FormFields(form)
    zone = radflow.settings.zone
    try:
        radflow.bus.handle(auth.ApproveAuthorization(
            actor=actor, order_id=order_id, authorization_number=fields.text("authorization_number"),
            valid_from=fields.local_instant("valid_from", zone),
            valid_until=fields.local_instant("valid_until", zone, end_of_day=True)))
    except FORM_ERRORS as refused:
        return _refused(request, radflow, actor, order_id, "approve", fields, refused)
    return _done(order_id)


@router.post("/orders/{order_id}/authorization/deny")
def deny(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
         actor: Annotated[Principal, requires(Action.AUTHORIZATION_MANAGE)]) -> Response:
    """The payer denied, with its reason."""
    fields = FormFields(form)
    try:
        radflow.bus.handle(auth.DenyAuthorization(actor=actor, order_id=order_id, reason=fields.text("reason")))
    except FORM_ERRORS as refused:
        return _refused(request, radflow, actor, order_id, "deny", fields, refused)
    return _done(order_id)


@router.post("/orders/{order_id}/authorization/request-documentation")
def request_documentation(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                          actor: Annotated[Principal, requires(Action.AUTHORIZATION_MANAGE)]) -> Response:
    """The payer wants more before deciding: the order waits for documentation from the referrer."""
    fields = FormFields(form)
    try:
        radflow.bus.handle(auth.RequestMoreDocumentation(actor=actor, order_id=order_id, what=fields.text("what")))
    except FORM_ERRORS as refused:
        return _refused(request, radflow, actor, order_id, "request-documentation", fields, refused)
    return _done(order_id)


@router.post("/orders/{order_id}/authorization/resubmit")
def resubmit(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
             actor: Annotated[Principal, requires(Action.AUTHORIZATION_MANAGE)]) -> Response:
    """Appeal a denial with more documentation."""
    fields = FormFields(form)
    try:
        radflow.bus.handle(auth.ResubmitAuthorization(actor=actor, order_id=order_id,
                                                      payer_reference=fields.text("payer_reference"),
                                                      note=fields.text("note")))
    except FORM_ERRORS as refused:
        return _refused(request, radflow, actor, order_id, "resubmit", fields, refused)
    return _done(order_id)


@router.post("/orders/{order_id}/authorization/assign")
def assign(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
           actor: Annotated[Principal, requires(Action.AUTHORIZATION_MANAGE)]) -> Response:
    """Take the request ("assign to me") or release it to the team."""
    fields = FormFields(form)
    assignee = actor.user_id if fields.text("assignee") == "me" else None
    try:
        radflow.bus.handle(auth.AssignAuthorization(actor=actor, order_id=order_id, assignee_id=assignee))
    except FORM_ERRORS as refused:
        return _refused(request, radflow, actor, order_id, "assign", fields, refused)
    return _done(order_id)


@router.post("/orders/{order_id}/substitute")
def substitute(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
               actor: Annotated[Principal, requires(Action.ORDER_UPDATE)]) -> Response:
    """Replace a denied study with an allowed one; the order goes through the checks again."""
    fields = FormFields(form)
    try:
        radflow.bus.handle(auth.SubstituteStudy(actor=actor, order_id=order_id, protocol_code=fields.text(
            "protocol_code"), contrast=fields.optional("contrast"), reason=fields.text("reason")))
    except FORM_ERRORS as refused:
        return _refused(request, radflow, actor, order_id, "substitute", fields, refused)
    return see_other(f"/orders/{order_id}")
