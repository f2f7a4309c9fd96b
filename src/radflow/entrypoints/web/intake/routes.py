"""The intake queue: checklist failures with what is missing, the day's new referrals with where each
landed, and the fax inbox of pages not yet filed to a patient."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from radflow.bootstrap import Radflow
from radflow.domain.errors import RadflowError, ValidationError
from radflow.domain.lifecycle import OrderState
from radflow.domain.policy import Action
from radflow.domain.referral import Document
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import requires
from radflow.entrypoints.api.errors import status_for
from radflow.entrypoints.web.error_pages import ScreenRoute
from radflow.entrypoints.web.forms import FORM_ERRORS, FormError, FormFields, PostedForm
from radflow.entrypoints.web.intake import referral
from radflow.entrypoints.web.queries import ListFaxInbox, ScreenApp
from radflow.entrypoints.web.rendering import render, see_other
from radflow.services.documents import FileDocument
from radflow.services.views import GetOrder, ListOrders, OrderDetail, OrderFilter, OrderList, PatientRow, SearchPatients

router = APIRouter(route_class=ScreenRoute)
router.include_router(referral.router)

#: How far back "new referrals" reaches: the intake coordinator's working day and the night before.
NEW_REFERRALS_WINDOW = timedelta(hours=24)


def _queue(request: Request, radflow: Radflow, actor: Principal, *, error: FormError | None = None,
           failed_document: str = "", values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    now = radflow.ctx.clock.now()
    waiting: OrderList = radflow.bus.handle(ListOrders(actor=actor, action=Action.QUEUE_INTAKE, query=OrderFilter(
        states=(OrderState.AWAITING_DOCUMENTATION.value, OrderState.RECEIVED.value), limit=500)))
    recent: OrderList = radflow.bus.handle(ListOrders(actor=actor, action=Action.QUEUE_INTAKE, query=OrderFilter(
        received_from=now - NEW_REFERRALS_WINDOW, limit=200)))
    recent_rows = sorted(recent.rows, key=lambda row: row.received_at, reverse=True)
    inbox: list[Document] = radflow.bus.handle(ListFaxInbox(actor=actor))
    return render(request, actor, "intake/queue.html", status_code=status_code, waiting=waiting.rows,
                  waiting_total=waiting.total, recent=recent_rows, inbox=inbox, error=error,
                  failed_document=failed_document, values=values or {})


@router.get("/intake")
def intake_queue(request: Request, radflow: ScreenApp,
                 actor: Annotated[Principal, requires(Action.QUEUE_INTAKE)]) -> Response:
    """Checklist failures (what is missing, age, track and target), new referrals and the fax inbox."""
    return _queue(request, radflow, actor)


def _patient_by_mrn(radflow: Radflow, actor: Principal, mrn: str) -> str:
    """The one active patient with this MRN (or other identifier value)."""
    if not mrn:
        raise ValidationError("enter the patient's MRN", field="mrn")
    found: list[PatientRow] = radflow.bus.handle(SearchPatients(actor=actor, text=mrn, limit=5))
    hits = [row for row in found if row.mrn == mrn]
    if len(hits) != 1:
        raise ValidationError(f"no patient has MRN '{mrn}'; search the patient first", field="mrn")
    return hits[0].patient_id


@router.post("/intake/inbox/{document_id}/file")
def file_to_patient(document_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                    actor: Annotated[Principal, requires(Action.DOCUMENT_UPLOAD)]) -> Response:
    """File a faxed document to its patient (by MRN), and to one of their orders when an accession is given."""
    fields = FormFields(form)
    try:
        patient_id = _patient_by_mrn(radflow, actor, fields.text("mrn"))
        order_id: str | None = None
        if accession := fields.text("accession"):
            detail: OrderDetail = radflow.bus.handle(GetOrder(actor=actor, accession_number=accession))
            order_id = detail.order.id
        radflow.bus.handle(FileDocument(actor=actor, document_id=document_id, patient_id=patient_id,
                                        order_id=order_id, kind=fields.text("kind") or "referral"))
    except FORM_ERRORS as refused:
        return _refused(request, radflow, actor, document_id, fields, refused)
    return see_other("/intake#inbox")


def _refused(request: Request, radflow: Radflow, actor: Principal, document_id: str, fields: FormFields,
             refused: RadflowError) -> Response:
    return _queue(request, radflow, actor, error=FormError.of(refused), failed_document=document_id,
                  values=fields.values(), status_code=status_for(refused))
